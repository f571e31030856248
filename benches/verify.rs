//! Verify, reject and sign: tower-jwt-auth against jsonwebtoken, jwt-simple and a hand-written
//! floor, in the same criterion groups. Run with `cargo bench --bench verify`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac012::{Hmac, Mac};
use jwt_simple::prelude::{HS256Key, HS512Key, MACLike, VerificationOptions};
use std::collections::HashSet;
use tower_jwt_auth::{SigningKey, Validation, VerifyingKey};

/// One algorithm's contenders, all verifying the same token with the same checks.
struct Contenders {
    ours: (Validation, VerifyingKey),
    jsonwebtoken: (jsonwebtoken::DecodingKey, jsonwebtoken::Validation),
    jwt_simple: Simple,
    floor: Floor,
}

enum Simple {
    Hs256(HS256Key, VerificationOptions),
    Hs512(HS512Key, VerificationOptions),
}

impl Simple {
    fn verify(&self, token: &str) -> bool {
        match self {
            Self::Hs256(k, o) => k.verify_token::<CustomOnly>(token, Some(o.clone())).is_ok(),
            Self::Hs512(k, o) => k.verify_token::<CustomOnly>(token, Some(o.clone())).is_ok(),
        }
    }
}

fn contenders(alg: &str) -> (Contenders, SigningKey) {
    let validation = validation();
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..VerificationOptions::default()
    };
    let (signing, jwt_alg, simple, floor) = match alg {
        "HS256" => (
            SigningKey::hs256(SECRET).unwrap(),
            jsonwebtoken::Algorithm::HS256,
            Simple::Hs256(HS256Key::from_bytes(SECRET), options),
            Floor::Hs256(Hmac::new_from_slice(SECRET).unwrap()),
        ),
        _ => (
            SigningKey::hs512(SECRET).unwrap(),
            jsonwebtoken::Algorithm::HS512,
            Simple::Hs512(HS512Key::from_bytes(SECRET), options),
            Floor::Hs512(Hmac::new_from_slice(SECRET).unwrap()),
        ),
    };
    let mut jv = jsonwebtoken::Validation::new(jwt_alg);
    jv.set_issuer(&[ISSUER]);
    jv.set_audience(&[AUDIENCE]);
    let c = Contenders {
        ours: (validation, signing.verifying_key()),
        jsonwebtoken: (jsonwebtoken::DecodingKey::from_secret(SECRET), jv),
        jwt_simple: simple,
        floor,
    };
    (c, signing)
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(60)
}

fn bench_verify(c: &mut Criterion) {
    for alg in ["HS256", "HS512"] {
        let (k, signing) = contenders(alg);
        let token = signing.sign(&claims(EXP)).unwrap();
        // Everyone must accept the token, or the comparison means nothing.
        assert!(k.ours.0.verify::<BenchClaims>(&token, &k.ours.1).is_ok());
        assert!(jsonwebtoken::decode::<BenchClaims>(&token, &k.jsonwebtoken.0, &k.jsonwebtoken.1).is_ok());
        assert!(k.jwt_simple.verify(&token));
        assert!(k.floor.verify(&token, IAT).is_some());

        let mut g = c.benchmark_group(format!("verify/{alg}"));
        g.bench_function("tower-jwt-auth", |b| {
            b.iter(|| {
                k.ours
                    .0
                    .verify::<BenchClaims>(black_box(&token), &k.ours.1)
                    .unwrap()
            })
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BenchClaims>(black_box(&token), &k.jsonwebtoken.0, &k.jsonwebtoken.1)
                    .unwrap()
            })
        });
        g.bench_function("jwt-simple", |b| {
            b.iter(|| assert!(k.jwt_simple.verify(black_box(&token))))
        });
        g.bench_function("floor", |b| {
            b.iter(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                k.floor.verify(black_box(&token), now).unwrap()
            })
        });
        g.finish();
    }
}

fn bench_reject(c: &mut Criterion) {
    let (k, signing) = contenders("HS256");
    let valid = signing.sign(&claims(EXP)).unwrap();
    let bad_signature = bad_signature(&valid);
    let expired = signing.sign(&claims(IAT + 60)).unwrap();
    let garbage = format!("{}.{}.{}", "x".repeat(5000), "y".repeat(5000), "z".repeat(100));

    let cases = [
        ("bad-signature", &bad_signature),
        ("expired", &expired),
        ("garbage-10KB", &garbage),
    ];
    for (name, token) in cases {
        assert!(k.ours.0.verify::<BenchClaims>(token, &k.ours.1).is_err());
        assert!(jsonwebtoken::decode::<BenchClaims>(token, &k.jsonwebtoken.0, &k.jsonwebtoken.1).is_err());
        assert!(!k.jwt_simple.verify(token));
        let mut g = c.benchmark_group(format!("reject/{name}"));
        g.bench_function("tower-jwt-auth", |b| {
            b.iter(|| {
                k.ours
                    .0
                    .verify::<BenchClaims>(black_box(token), &k.ours.1)
                    .is_err()
            })
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BenchClaims>(black_box(token), &k.jsonwebtoken.0, &k.jsonwebtoken.1)
                    .is_err()
            })
        });
        g.bench_function("jwt-simple", |b| {
            b.iter(|| !k.jwt_simple.verify(black_box(token)))
        });
        if name == "bad-signature" {
            // The floor's HMAC-plus-compare cost: the least a bad signature can cost.
            let (input, sig) = token.rsplit_once('.').unwrap();
            g.bench_function("floor-hmac-compare", |b| {
                b.iter(|| k.floor.mac_ok(black_box(input.as_bytes()), black_box(sig)))
            });
        }
        g.finish();
    }
}

fn bench_sign(c: &mut Criterion) {
    let signing = SigningKey::hs256(SECRET).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_secret(SECRET);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let claims = claims(EXP);
    let mut g = c.benchmark_group("sign/HS256");
    g.bench_function("tower-jwt-auth", |b| {
        b.iter(|| signing.sign(black_box(&claims)).unwrap())
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &encoding).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_verify, bench_reject, bench_sign
}
criterion_main!(benches);
