//! `jwtck verify`: the middleware's verdict, with the exact reason for a refusal.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tower_jwt_auth::validation::Verification;
use tower_jwt_auth::{
    dangerous, Algorithm, AuthError, AuthErrorKind, Claim, JwksOptions, JwksResolver, KeyResolver, KeySet,
    Validation, VerifyingKey,
};

use crate::keys::{self, KeyFile};
use crate::output::{pretty, Output};
use crate::{civil, read_token, Fail};

/// Arguments of `jwtck verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The token, or `-` to read it from standard input (keeps it out of shell history).
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    source: Source,
    /// The algorithm: HS256 (default), HS384 or HS512 for a secret; for a --key, another
    /// algorithm of its kind (PS256 for an RSA key, say).
    #[arg(long, value_name = "ALG", value_parser = keys::parse_alg)]
    alg: Option<Algorithm>,
    /// Require this issuer (`iss`); repeat to accept several.
    #[arg(long, value_name = "ISSUER")]
    iss: Vec<String>,
    /// Require this audience (`aud`); repeat to accept several. Without it, tokens that carry
    /// an `aud` are refused, as the middleware does.
    #[arg(long, value_name = "AUDIENCE")]
    aud: Vec<String>,
    /// Clock skew tolerated on exp, nbf and iat, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    leeway: u64,
}

/// Where the verifying key comes from: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Source {
    /// HMAC secret (UTF-8). Visible in shell history and `ps`: prefer --secret-file or
    /// --secret-env.
    #[arg(long, value_name = "SECRET")]
    secret: Option<String>,
    /// Read the HMAC secret from a file (one trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Read the HMAC secret from an environment variable.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// A key file: PEM or DER public key or certificate, PKCS#8 private key (its public half),
    /// JWK or JWK Set.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// A JWK Set: an https:// URL (http:// on loopback only) or a file.
    #[arg(long, value_name = "URL|FILE")]
    jwks: Option<String>,
    /// An OpenID Connect issuer: keys by discovery; `iss` must equal it unless --iss is given.
    #[arg(long, value_name = "ISSUER")]
    oidc: Option<String>,
}

/// What the verifier was given, for explaining refusals.
#[derive(Debug)]
enum Keys {
    One(Box<VerifyingKey>),
    Set(KeySet),
    Remote(JwksResolver, String),
}

/// The verdict.
#[derive(Debug)]
struct Verdict {
    result: Result<Value, AuthError>,
    /// Details on a refusal, after the library's fixed phrase.
    detail: Option<String>,
}

/// Runs `jwtck verify`.
pub(crate) fn run(args: Args, out: &Output) -> Result<(), Fail> {
    let token = read_token(args.token)?;
    let mut validation = Validation::new().leeway(Duration::from_secs(args.leeway));
    for iss in &args.iss {
        validation = validation
            .issuer(iss.as_str())
            .map_err(|e| keys::config("--iss", &e))?;
    }
    for aud in &args.aud {
        validation = validation
            .audience(aud.as_str())
            .map_err(|e| keys::config("--aud", &e))?;
    }
    let src = args.source;
    let secret = keys::read_secret(
        src.secret.as_deref(),
        src.secret_file.as_deref(),
        src.secret_env.as_deref(),
    )?;
    let keys = if let Some(secret) = secret {
        Keys::One(Box::new(keys::hmac_verifying(&secret, args.alg)?))
    } else if let Some(path) = &src.key {
        match keys::load_verifying(path, args.alg)? {
            KeyFile::One(key) => Keys::One(key),
            KeyFile::Set(set) => Keys::Set(set),
        }
    } else {
        if args.alg.is_some() {
            return Err(Fail::usage(
                "--alg applies to --secret and --key; the keys of a key set carry their own",
            ));
        }
        if let Some(jwks) = &src.jwks {
            if jwks.starts_with("https://") || jwks.starts_with("http://") {
                let resolver = JwksResolver::new(jwks).map_err(|e| keys::config("--jwks", &e))?;
                Keys::Remote(resolver, jwks.clone())
            } else {
                let path = PathBuf::from(jwks);
                let bytes = keys::read_file(&path)?;
                let what = format!("--jwks {jwks}");
                let set = KeySet::from_json(&bytes).map_err(|e| keys::config(&what, &e))?;
                Keys::Set(keys::usable_set(set, &what)?)
            }
        } else if let Some(issuer) = &src.oidc {
            let resolver =
                JwksResolver::oidc(issuer, JwksOptions::default()).map_err(|e| keys::config("--oidc", &e))?;
            if args.iss.is_empty() {
                validation = validation
                    .issuer(issuer.as_str())
                    .map_err(|e| keys::config("--oidc", &e))?;
            }
            Keys::Remote(resolver, issuer.clone())
        } else {
            return Err(Fail::usage("no key: pass --secret, --key, --jwks or --oidc"));
        }
    };
    let result = match &keys {
        Keys::One(key) => check(&validation, &token, &**key)?,
        Keys::Set(set) => check(&validation, &token, set)?,
        Keys::Remote(resolver, _) => check(&validation, &token, resolver)?,
    };
    let detail = result
        .as_ref()
        .err()
        .and_then(|e| explain(e.kind(), &token, &validation, &keys));
    report(&Verdict { result, detail }, out)
}

/// Verifies exactly as the middleware does: `verify_with` on the resolver, and on its slow path,
/// the awaited key and `verify_with_key`.
fn check<K: KeyResolver>(
    validation: &Validation,
    token: &str,
    resolver: &K,
) -> Result<Result<Value, AuthError>, Fail> {
    Ok(match validation.verify_with::<Value, K>(token, resolver) {
        Verification::Done(result) => result,
        Verification::Pending(future) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Fail::usage(format!("cannot start the async runtime: {e}")))?;
            match runtime.block_on(future) {
                Ok(key) => validation.verify_with_key(token, &key),
                Err(e) => Err(e.into()),
            }
        }
    })
}

fn report(verdict: &Verdict, out: &Output) -> Result<(), Fail> {
    match &verdict.result {
        Ok(claims) => {
            if out.json {
                out.print_json(&json!({ "valid": true, "reason": null, "kind": null, "claims": claims }));
            } else {
                println!("{}", out.green("valid"));
                println!("{}", pretty(claims));
            }
            Ok(())
        }
        Err(e) => {
            let kind = e.kind();
            let reason = match &verdict.detail {
                Some(detail) => format!("{}: {detail}", e.description()),
                None => e.description().to_owned(),
            };
            let reason = match kind {
                AuthErrorKind::Expired => {
                    // "token expired at 2026-11-25T14:00:00Z (3 min ago)" reads better without
                    // the colon.
                    reason.replacen(": ", " ", 1)
                }
                _ => reason,
            };
            if out.json {
                let mut doc = json!({
                    "valid": false,
                    "reason": reason,
                    "kind": kind_name(kind),
                    "claims": null,
                });
                if let AuthErrorKind::MissingClaim(c) | AuthErrorKind::InvalidClaimType(c) = kind {
                    doc["claim"] = json!(c.as_str());
                }
                out.print_json(&doc);
            } else {
                println!("{} {reason}", out.red("refused:"));
            }
            if kind == AuthErrorKind::KeyUnavailable {
                Err(Fail::Unavailable)
            } else {
                Err(Fail::Refused)
            }
        }
    }
}

/// `Expired`, `MissingClaim`...: the variant's name.
fn kind_name(kind: AuthErrorKind) -> String {
    let debug = format!("{kind:?}");
    match debug.split_once('(') {
        Some((name, _)) => name.to_owned(),
        None => debug,
    }
}

/// The facts behind a refusal, from the token (decoded unverified: claims are only ever checked
/// after the signature, so a claim refusal names signed values) and from the keys.
fn explain(kind: AuthErrorKind, token: &str, validation: &Validation, keys: &Keys) -> Option<String> {
    use AuthErrorKind as K;
    let header = dangerous::decode_header_unverified(token).unwrap_or_default();
    let claims: Map<String, Value> = dangerous::decode_claims_unverified(token).unwrap_or_default();
    let now = civil::now();
    let date = |name: &str| {
        let secs = claims.get(name)?.as_f64()?.floor() as i64;
        Some(format!(
            "{} ({})",
            civil::utc_or_raw(secs),
            civil::relative(name, secs, now)
        ))
    };
    let list = |items: Vec<&str>| {
        items
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let header_str = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_owned);
    match kind {
        K::Expired => date("exp").map(|d| format!("at {}", d.replacen(" (expired ", " (", 1))),
        K::NotYetValid => date("nbf").map(|d| format!("nbf {d}")),
        K::IssuedInFuture => date("iat").map(|d| format!("iat {d}")),
        K::InvalidIssuer => Some(format!(
            "token iss {}, expected {}",
            claims.get("iss").map_or("none".into(), Value::to_string),
            list(validation.issuers().collect())
        )),
        K::InvalidAudience => Some(format!(
            "token aud {}, expected {}",
            claims.get("aud").map_or("none".into(), Value::to_string),
            list(validation.audiences().collect())
        )),
        K::UnexpectedAudience => Some(format!(
            "the token carries aud {} but no --aud was given (a service without a configured \
             audience refuses it, RFC 7519 section 4.1.3)",
            claims.get("aud").map_or("none".into(), Value::to_string)
        )),
        K::MissingClaim(Claim::Iss) => Some("--iss requires it".into()),
        K::MissingClaim(Claim::Aud) => Some("--aud requires it".into()),
        K::AlgorithmMismatch => Some(format!(
            "token alg {}, key {}",
            header_str("alg").unwrap_or_else(|| "none".into()),
            key_algs(keys)
        )),
        K::UnsupportedAlgorithm => header_str("alg").map(|alg| format!("alg {alg:?}")),
        K::InvalidSignature => Some("the key does not match, or the token was altered after signing".into()),
        K::UnknownKey => Some(format!(
            "token kid {}, alg {}; {}",
            header_str("kid").map_or("none".into(), |k| format!("{k:?}")),
            header_str("alg").unwrap_or_else(|| "none".into()),
            key_kids(keys)
        )),
        K::KeyUnavailable => match keys {
            Keys::Remote(resolver, source) => Some(match resolver.status().last_error {
                Some((e, _)) => format!("{source}: {e}"),
                None => source.clone(),
            }),
            _ => None,
        },
        K::Malformed | K::TooLarge => Some("`jwtck decode` shows what is wrong".into()),
        _ => None,
    }
}

fn key_algs(keys: &Keys) -> String {
    match keys {
        Keys::One(key) => key.algorithm().to_string(),
        Keys::Set(set) => set
            .keys()
            .map(|k| k.algorithm().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Keys::Remote(..) => "from the key set".into(),
    }
}

fn key_kids(keys: &Keys) -> String {
    let describe = |k: &VerifyingKey| match k.kid() {
        Some(kid) => format!("{kid:?} ({})", k.algorithm()),
        None => format!("no kid ({})", k.algorithm()),
    };
    match keys {
        Keys::One(key) => format!("the key has kid {}", describe(key)),
        Keys::Set(set) => format!(
            "the key set has {}",
            set.keys().map(describe).collect::<Vec<_>>().join(", ")
        ),
        Keys::Remote(resolver, source) => match resolver.status().keys {
            1 => format!("{source} has 1 usable key"),
            n => format!("{source} has {n} usable keys"),
        },
    }
}
