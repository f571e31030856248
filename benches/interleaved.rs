//! Ratios to the hand-written floor, interleaved: tower-jwt-auth, the floor and jsonwebtoken
//! verify the same HS256 token in short batches, one after the other, round after round, so
//! that every ratio compares times taken within milliseconds of each other. On a shared
//! machine whose speed drifts between criterion's groups, these are the figures to read.
//!
//! Run with `cargo bench --bench interleaved` (about 20 s; `INTERLEAVED_ROUNDS`, default 300,
//! bounds it). Prints the medians of the per-round ratios and of the per-call times.

mod common;

use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::*;
use hmac012::{Hmac, Mac};
use tower_jwt_auth::SigningKey;

/// Calls in one batch: long enough to time, short enough to interleave finely.
const BATCH: u32 = 1000;

/// Nanoseconds per call of `f`, over one batch.
fn time(mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    for _ in 0..BATCH {
        assert!(black_box(f()));
    }
    start.elapsed().as_nanos() as f64 / f64::from(BATCH)
}

fn main() {
    let rounds: usize = env_or("INTERLEAVED_ROUNDS", 300);
    let signing = SigningKey::hs256(SECRET).unwrap();
    let token = signing.sign(&claims(EXP)).unwrap();
    let bad = bad_signature(&token);
    let garbage = format!("{}.{}.{}", "x".repeat(5000), "y".repeat(5000), "z".repeat(100));

    let validation = validation();
    let key = signing.verifying_key();
    let floor = Floor::Hs256(Hmac::new_from_slice(SECRET).unwrap());
    let mut jv = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    jv.set_issuer(&[ISSUER]);
    jv.set_audience(&[AUDIENCE]);
    let jk = jsonwebtoken::DecodingKey::from_secret(SECRET);
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (input, signature) = bad.rsplit_once('.').unwrap();

    type Case<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);
    let cases: Vec<Case<'_>> = vec![
        (
            "floor",
            Box::new(|| floor.verify(black_box(&token), now()).is_some()),
        ),
        (
            "tower-jwt-auth",
            Box::new(|| validation.verify::<BenchClaims>(black_box(&token), &key).is_ok()),
        ),
        (
            "jsonwebtoken",
            Box::new(|| jsonwebtoken::decode::<BenchClaims>(black_box(&token), &jk, &jv).is_ok()),
        ),
        (
            "floor (bad signature)",
            Box::new(|| floor.verify(black_box(&bad), now()).is_none()),
        ),
        (
            "floor-hmac-compare (bad signature)",
            Box::new(|| !floor.mac_ok(black_box(input.as_bytes()), black_box(signature))),
        ),
        (
            "tower-jwt-auth (bad signature)",
            Box::new(|| validation.verify::<BenchClaims>(black_box(&bad), &key).is_err()),
        ),
        (
            "tower-jwt-auth (10 KB garbage)",
            Box::new(|| {
                validation
                    .verify::<BenchClaims>(black_box(&garbage), &key)
                    .is_err()
            }),
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            times[i].push(time(&cases[i].1));
        }
    }
    // Each ratio is taken within a round, then the median over the rounds.
    let ratio = |i: usize, base: usize| {
        let mut r: Vec<f64> = times[i].iter().zip(&times[base]).map(|(t, b)| t / b).collect();
        median(&mut r)
    };
    println!("interleaved/HS256: {rounds} rounds of {BATCH} calls each, medians");
    let (floor_i, ours_i, jwt_i, floor_bad_i, hmac_bad_i, bad_i, garbage_i) = (0, 1, 2, 3, 4, 5, 6);
    for (i, (name, _)) in cases.iter().enumerate() {
        println!("  {name:<36} {:>8.1} ns", median(&mut times[i].clone()));
    }
    println!(
        "  tower-jwt-auth / floor               {:.3}",
        ratio(ours_i, floor_i)
    );
    println!(
        "  jsonwebtoken / floor                 {:.3}",
        ratio(jwt_i, floor_i)
    );
    println!(
        "  jsonwebtoken / tower-jwt-auth        {:.3}",
        ratio(jwt_i, ours_i)
    );
    println!(
        "  bad signature / floor                {:.3}",
        ratio(bad_i, floor_bad_i)
    );
    println!(
        "  bad signature / floor-hmac-compare   {:.3}",
        ratio(bad_i, hmac_bad_i)
    );
    println!(
        "  10 KB garbage                        {:.1} ns",
        median(&mut times[garbage_i].clone())
    );
}
