//! The routes of `peers.rs`, interleaved: round after round, each route of a group answers a
//! short batch of calls, in a rotating order, and what each middleware adds over the bare route
//! of its own router release is taken within the round, from times measured milliseconds
//! apart. On a shared machine whose speed drifts between criterion's measurements, these are
//! the figures to compare.
//!
//! Run with `cargo bench --manifest-path benches/peers/Cargo.toml --bench interleaved` (about
//! 10 s; `PEERS_ROUNDS`, default 300, bounds it). Prints, per route, the median time per call;
//! per middleware, the median of what it adds with the middle half of the rounds' values, and
//! the median of its per-round ratio to what tower-jwt-auth adds.

#[path = "../../common.rs"]
mod common;
mod routes;

use std::time::Instant;

use axum::http::StatusCode;
use common::{env_or, median};
use routes::Kind;

/// Calls in one batch: long enough to time, short enough to interleave finely.
const BATCH: u32 = 100;

/// The median and the middle half (lower and upper quartiles) of `values`.
fn spread(values: &mut [f64]) -> (f64, f64, f64) {
    let mid = median(values);
    (mid, values[values.len() / 4], values[values.len() * 3 / 4])
}

fn main() {
    let rounds: usize = env_or("PEERS_ROUNDS", 300);
    assert!(rounds > 0, "PEERS_ROUNDS must be at least 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for group in routes::groups(&rt) {
        let n = group.routes.len();
        // Nanoseconds per call, per round and route.
        let mut times = vec![vec![0.0; n]; rounds];
        for (round, row) in times.iter_mut().enumerate() {
            for k in 0..n {
                // Rotated, and reversed every other round, so that no route always follows
                // the same one; one untimed call first, so that none inherits a cold start.
                let k = if round % 2 == 0 { k } else { n - 1 - k };
                let i = (round + k) % n;
                let route = &group.routes[i].1;
                assert_eq!(rt.block_on(route.status(&group.good)), StatusCode::OK);
                let start = Instant::now();
                rt.block_on(async {
                    for _ in 0..BATCH {
                        assert_eq!(route.status(&group.good).await, StatusCode::OK);
                    }
                });
                row[i] = start.elapsed().as_nanos() as f64 / f64::from(BATCH);
            }
        }
        let of = |i: usize| -> Vec<f64> { times.iter().map(|row| row[i]).collect() };
        let added = |i: usize| -> Vec<f64> {
            let base = group.baseline_of(&group.routes[i].1);
            times.iter().map(|row| row[i] - row[base]).collect()
        };
        let ours_added = added(group.ours());
        println!("{}: {rounds} rounds of {BATCH} calls per route", group.name);
        for (i, (name, route, kind)) in group.routes.iter().enumerate() {
            let time = median(&mut of(i));
            let mut line = format!("  {name:44} {:8.2} us per call ({})", time / 1e3, route.release());
            if *kind != Kind::Bare {
                let adds = added(i);
                let (mid, low, high) = spread(&mut adds.clone());
                line += &format!(
                    ", adds {:.2} us (middle half {:.2} to {:.2})",
                    mid / 1e3,
                    low / 1e3,
                    high / 1e3
                );
                if *kind == Kind::Guarded {
                    let mut ratios: Vec<f64> = adds.iter().zip(&ours_added).map(|(a, o)| a / o).collect();
                    line += &format!(", {:.2}x tower-jwt-auth's", median(&mut ratios));
                }
            }
            println!("{line}");
        }
    }
}
