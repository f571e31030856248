//! Public-key verification (RS256, PS256, ES256, ES384, EdDSA) with typed claims: tower-jwt-auth
//! against jsonwebtoken (rust_crypto backend) and jwt-simple (pure-rust), and the floor: the
//! backend's raw signature verification of the same input. Also a cached-`kid` JWKS look-up
//! against the same key given statically, from one and from two threads.
//! Run with `cargo bench --bench public_key --features jwks`.

mod common;

use std::collections::HashSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as aws, ParsedPublicKey};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ECDSAP384PublicKeyLike, ES256PublicKey, ES384PublicKey, Ed25519PublicKey,
    EdDSAPublicKeyLike, PS256PublicKey, RS256PublicKey, RSAPublicKeyLike, VerificationOptions,
};
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{Algorithm, JwksOptions, JwksResolver, KeyResolver, PublishJwks, SigningKey};

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

struct Case {
    name: &'static str,
    signing: SigningKey,
    public_pem: &'static str,
    floor_alg: &'static dyn aws::VerificationAlgorithm,
}

fn cases() -> Vec<Case> {
    let rsa = || SigningKey::from_pkcs8(include_str!("../tests/keys/rsa2048.pem")).unwrap();
    vec![
        Case {
            name: "RS256",
            signing: rsa(),
            public_pem: include_str!("../tests/keys/rsa2048.pub.pem"),
            floor_alg: &aws::RSA_PKCS1_2048_8192_SHA256,
        },
        Case {
            name: "PS256",
            signing: rsa().with_algorithm(Algorithm::PS256).unwrap(),
            public_pem: include_str!("../tests/keys/rsa2048.pub.pem"),
            floor_alg: &aws::RSA_PSS_2048_8192_SHA256,
        },
        Case {
            name: "ES256",
            signing: SigningKey::from_pkcs8(include_str!("../tests/keys/p256.pem")).unwrap(),
            public_pem: include_str!("../tests/keys/p256.pub.pem"),
            floor_alg: &aws::ECDSA_P256_SHA256_FIXED,
        },
        Case {
            name: "ES384",
            signing: SigningKey::from_pkcs8(include_str!("../tests/keys/p384.pem")).unwrap(),
            public_pem: include_str!("../tests/keys/p384.pub.pem"),
            floor_alg: &aws::ECDSA_P384_SHA384_FIXED,
        },
        Case {
            name: "EdDSA",
            signing: SigningKey::from_pkcs8(include_str!("../tests/keys/ed25519.pem")).unwrap(),
            public_pem: include_str!("../tests/keys/ed25519.pub.pem"),
            floor_alg: &aws::ED25519,
        },
    ]
}

fn options() -> VerificationOptions {
    VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
        ..VerificationOptions::default()
    }
}

fn jwt_simple_verify(name: &str, pem: &str) -> Box<dyn Fn(&str) -> bool> {
    let o = options();
    match name {
        "RS256" => {
            let k = RS256PublicKey::from_pem(pem).unwrap();
            Box::new(move |t| k.verify_token::<CustomOnly>(t, Some(o.clone())).is_ok())
        }
        "PS256" => {
            let k = PS256PublicKey::from_pem(pem).unwrap();
            Box::new(move |t| k.verify_token::<CustomOnly>(t, Some(o.clone())).is_ok())
        }
        "ES256" => {
            let k = ES256PublicKey::from_pem(pem).unwrap();
            Box::new(move |t| k.verify_token::<CustomOnly>(t, Some(o.clone())).is_ok())
        }
        "ES384" => {
            let k = ES384PublicKey::from_pem(pem).unwrap();
            Box::new(move |t| k.verify_token::<CustomOnly>(t, Some(o.clone())).is_ok())
        }
        _ => {
            let k = Ed25519PublicKey::from_pem(pem).unwrap();
            Box::new(move |t| k.verify_token::<CustomOnly>(t, Some(o.clone())).is_ok())
        }
    }
}

fn jsonwebtoken_key(name: &str, pem: &str) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    use jsonwebtoken::{Algorithm as A, DecodingKey};
    let (key, alg) = match name {
        "RS256" => (DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), A::RS256),
        "PS256" => (DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), A::PS256),
        "ES256" => (DecodingKey::from_ec_pem(pem.as_bytes()).unwrap(), A::ES256),
        "ES384" => (DecodingKey::from_ec_pem(pem.as_bytes()).unwrap(), A::ES384),
        _ => (DecodingKey::from_ed_pem(pem.as_bytes()).unwrap(), A::EdDSA),
    };
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[AUDIENCE]);
    (key, v)
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

fn bench_verify(c: &mut Criterion) {
    let validation = validation();
    for case in cases() {
        let token = case.signing.sign(&claims(EXP)).unwrap();
        let ours = case.signing.verifying_key();
        let (jwt_key, jwt_validation) = jsonwebtoken_key(case.name, case.public_pem);
        let simple = jwt_simple_verify(case.name, case.public_pem);
        let floor = ParsedPublicKey::new(case.floor_alg, pem_der(case.public_pem)).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(sig).unwrap();
        assert!(
            validation.verify::<BenchClaims>(&token, &ours).is_ok(),
            "{}",
            case.name
        );
        assert!(
            jsonwebtoken::decode::<BenchClaims>(&token, &jwt_key, &jwt_validation).is_ok(),
            "{}",
            case.name
        );
        assert!(simple(&token), "{}", case.name);
        assert!(floor.verify_sig(input.as_bytes(), &signature).is_ok());

        let mut g = c.benchmark_group(format!("verify/{}", case.name));
        g.bench_function("tower-jwt-auth", |b| {
            b.iter(|| {
                validation
                    .verify::<BenchClaims>(black_box(&token), &ours)
                    .unwrap()
            })
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BenchClaims>(black_box(&token), &jwt_key, &jwt_validation).unwrap()
            })
        });
        g.bench_function("jwt-simple", |b| b.iter(|| assert!(simple(black_box(&token)))));
        g.bench_function("floor-signature-only", |b| {
            b.iter(|| {
                floor
                    .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                    .unwrap()
            })
        });
        g.finish();
    }
}

/// Serves one JWK Set on loopback for the JWKS benchmark.
fn serve_jwks(rt: &tokio::runtime::Runtime, document: String) -> String {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let body = Arc::new(document);
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let body = (*body).clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

fn bench_jwks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let signing = SigningKey::from_pkcs8(include_str!("../tests/keys/p256.pem")).unwrap();
    let token = signing.sign(&claims(EXP)).unwrap();
    let static_key = signing.verifying_key();
    let jwks: PublishJwks = PublishJwks::new([static_key.clone()], 300).unwrap();
    let url = serve_jwks(&rt, jwks.document().to_owned());
    let resolver = JwksResolver::with_options(&url, JwksOptions::default()).unwrap();
    rt.block_on(resolver.warm_up()).unwrap();
    let validation = validation();
    let via = |resolver: &dyn Fn(&str) -> bool| resolver(&token);
    let jwks_verify = |t: &str| {
        matches!(
            validation.verify_with::<BenchClaims, _>(t, &resolver),
            Verification::Done(Ok(_))
        )
    };
    assert!(via(&jwks_verify), "a cached kid must verify synchronously");

    let mut g = c.benchmark_group("jwks/ES256");
    g.bench_function("static-key", |b| {
        b.iter(|| {
            validation
                .verify::<BenchClaims>(black_box(&token), &static_key)
                .unwrap()
        })
    });
    g.bench_function("jwks-cached-kid", |b| {
        b.iter(|| assert!(jwks_verify(black_box(&token))))
    });
    // Key look-up alone, where the 50 ns budget applies.
    let query = tower_jwt_auth::key::KeyQuery::new(Algorithm::ES256, static_key.kid());
    g.bench_function("lookup/static-key", |b| {
        b.iter(|| {
            matches!(
                black_box(&static_key).resolve(&query),
                tower_jwt_auth::key::Resolution::Ready(Ok(_))
            )
        })
    });
    g.bench_function("lookup/jwks-cached-kid", |b| {
        b.iter(|| {
            matches!(
                black_box(&resolver).resolve(&query),
                tower_jwt_auth::key::Resolution::Ready(Ok(_))
            )
        })
    });
    g.bench_function("lookup/jwks-cached-kid-2-threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            black_box(matches!(
                                resolver.resolve(&query),
                                tower_jwt_auth::key::Resolution::Ready(Ok(_))
                            ));
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_verify, bench_jwks
}
criterion_main!(benches);
