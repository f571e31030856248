//! JSON Web Token authentication for [tower] services: axum, hyper, tonic.
//!
//! # Overview
//!
//! `tower-jwt-auth` turns the `header.payload.signature` string a client sends into typed,
//! trusted claims, or into a precise reason for refusal. It is strict by default:
//!
//! * algorithms are bound to keys: a token's `alg` is compared against its key's single
//!   algorithm, never used to choose one; `none` has no representation at all;
//! * signatures are compared in constant time, HMAC keys are keyed once and never re-keyed;
//! * `exp` is required, `nbf` and `iat` are checked, a NumericDate of the wrong type is a
//!   refusal (never "absent"), `iss` and `aud` are required once configured;
//! * tokens are capped in length (8 KiB) and refused on their alphabet and shape before any
//!   decoding; base64url must be canonical; JSON must be UTF-8 and top-level member names unique;
//! * `crit` and `b64: false` are refused, `typ` must be `JWT` or `at+jwt`;
//! * `jku`, `x5u`, `jwk` and `x5c` are never used to find a key.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tower_jwt_auth::{AuthErrorKind, NumericDate, SigningKey, Validation};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Claims { sub: String, role: String, exp: i64 }
//!
//! let signing = SigningKey::hs256(b"an HS256 secret of 32 bytes or more")?;
//! let validation = Validation::new();
//!
//! let exp = NumericDate::now().as_secs() + 900;
//! let token = signing.sign(&Claims { sub: "alice".into(), role: "user".into(), exp })?;
//! let claims: Claims = validation.verify(&token, &signing.verifying_key())?;
//! assert_eq!(claims.role, "user");
//!
//! // An expired token says so.
//! let old = signing.sign(&Claims { sub: "alice".into(), role: "user".into(), exp: 1 })?;
//! let err = validation.verify::<Claims>(&old, &signing.verifying_key()).unwrap_err();
//! assert_eq!(err.kind(), AuthErrorKind::Expired);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How the crate is built
//!
//! Modules only import from below (CI checks it with `.ci/module-order.py`):
//!
//! | level | modules | holds |
//! | --- | --- | --- |
//! | leaves | `error`, `algorithm`, `time`, `either`, `claims`, `macros` | [`AuthError`], [`Algorithm`], [`Clock`], [`Either`], [`Claims`] |
//! | token | `token/` | the compact form, the header, the one-pass claims reader, claims types ([`NumericDate`], [`Audience`], [`Scopes`]) |
//! | keys | `key/` | [`VerifyingKey`], [`SigningKey`], JWK and JWK Sets, [`KeyRing`], [`KeySet`], the [`KeyResolver`] trait |
//! | validation | `validation/`, `dangerous` | [`Validation`], the pipeline, the [`TokenCheck`] hook; decoding without verifying |
//! | middleware | `config`, `layer`, `service`, `future`, `source`, `rejection`, `authorize`, `extract`, `publish`, `metadata` | [`JwtAuthLayer`], [`RequireClaimsLayer`], the `Claims<T>` extractor, `PublishJwks`, [`ProtectedResourceMetadata`] |
//! | integrations | `jwks/`, `issuers`, `session/`, `revocation`, `grpc` | remote key sets, several issuers, refresh sessions, the revocation list, tonic handlers |
//!
//! New capabilities arrive as plug-ins of the level below them: a key source is a
//! [`KeyResolver`], a rule on verified tokens is a [`TokenCheck`] (the revocation list is one), a
//! session store is a `session::SessionStore`; a choice between two made at run time is an
//! [`Either`].
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `axum` | yes | the `Claims<T>` extractor (depends on `axum-core` only) |
//! | `aws-lc` | no | RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA (aws-lc-rs backend; builds C code) |
//! | `jwks` | no | `JwksResolver`: remote JWK Sets with caching, rotation and OIDC discovery (implies `aws-lc`) |
//! | `jwks-native-roots` | no | also trust the operating system's TLS roots for key set fetches |
//! | `cli` | no | the `jwtck` command-line tool (not part of the library) |
//! | `sessions` | no | refresh-token sessions: rotation, reuse detection, grace window, in-memory store; the revocation list the layer checks |
//! | `redis` | no | `session::RedisStore`: sessions and revocations shared by a fleet through Redis, mirrored in memory on every instance (implies `sessions`) |
//! | `tracing` | no | one DEBUG event per refusal, target `tower_jwt_auth::rejection`; never the token |
//! | `tonic` | no | `grpc::RequestClaims` (claims in a tonic handler in one line), `AuthError` into `tonic::Status` |
//! | `full` | no | all of the above but `cli` and `jwks-native-roots` |
//!
//! [tower]: https://docs.rs/tower

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[macro_use]
mod macros;

mod algorithm;
mod authorize;
mod claims;
mod config;
pub mod dangerous;
mod either;
mod error;
#[cfg(feature = "axum")]
mod extract;
pub mod future;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod grpc;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub mod issuers;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub mod jwks;
pub mod key;
mod layer;
mod metadata;
#[cfg(feature = "aws-lc")]
mod publish;
mod rejection;
#[cfg(feature = "sessions")]
mod revocation;
mod service;
#[cfg(feature = "sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "sessions")))]
pub mod session;
mod source;
mod time;
mod token;
pub mod validation;
mod word;

pub use self::algorithm::{Algorithm, UnknownAlgorithm};
pub use self::authorize::{RequireClaims, RequireClaimsLayer};
pub use self::claims::Claims;
pub use self::either::Either;
pub use self::error::{AuthError, AuthErrorKind, Claim, ConfigError, SignError};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::extract::MissingClaims;
#[cfg(feature = "jwks")]
pub use self::jwks::{JwksOptions, JwksResolver};
pub use self::key::{resolver_fn, Jwk, JwkSet, KeyResolver, KeyRing, KeySet, SigningKey, VerifyingKey};
pub use self::layer::JwtAuthLayer;
pub use self::metadata::{BearerMethod, ProtectedResourceMetadata};
#[cfg(feature = "aws-lc")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
pub use self::publish::PublishJwks;
pub use self::rejection::{DefaultRejection, RejectionResponse};
#[cfg(feature = "sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "sessions")))]
#[allow(deprecated)]
pub use self::revocation::{RevocationError, Revocations};
pub use self::service::JwtAuth;
pub use self::source::TokenSource;
pub use self::time::{Clock, SystemClock};
pub use self::token::claims::{Audience, NumericDate, RegisteredClaims, Scopes};
pub use self::validation::{TokenCheck, TokenIds, Validation};
