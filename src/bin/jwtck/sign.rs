//! `jwtck sign`: claims in, a token out (alone on standard output, for `$(...)`).

use std::path::PathBuf;

use serde_json::{json, Map, Value};
use tower_jwt_auth::{Algorithm, SigningKey};

use crate::keys;
use crate::output::Output;
use crate::{civil, read_stdin, Fail};

/// The lifetime of a token when neither --exp nor the claims say.
const DEFAULT_EXP: &str = "15m";

/// Arguments of `jwtck sign`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The claims: a JSON object, `@FILE`, or `-` for standard input. Default `{}`.
    #[arg(value_name = "CLAIMS")]
    claims: Option<String>,
    #[command(flatten)]
    source: Source,
    /// The algorithm: HS256 (default), HS384 or HS512 for a secret; for a --key, another
    /// algorithm of its kind (PS256 for an RSA key, say).
    #[arg(long, value_name = "ALG", value_parser = keys::parse_alg)]
    alg: Option<Algorithm>,
    /// The `sub` claim.
    #[arg(long, value_name = "SUBJECT")]
    sub: Option<String>,
    /// The `exp` claim: a duration from now (30s, 15m, 2h, 1d; -5m for an already expired test
    /// token) or an absolute NumericDate. Default 15m unless the claims have an exp.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    exp: Option<String>,
    /// The `nbf` claim, like --exp.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true)]
    nbf: Option<String>,
    /// The `iss` claim.
    #[arg(long, value_name = "ISSUER")]
    iss: Option<String>,
    /// The `aud` claim; repeat for several (then an array).
    #[arg(long, value_name = "AUDIENCE")]
    aud: Vec<String>,
    /// The `kid` header (a --key's default is its RFC 7638 thumbprint).
    #[arg(long, value_name = "KID")]
    kid: Option<String>,
    /// The `typ` header (default JWT; `at+jwt` for RFC 9068 access tokens).
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
    /// Leave out `iat` (by default it is set to now unless the claims have one).
    #[arg(long)]
    no_iat: bool,
}

/// The signing key: exactly one source.
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
    /// A PKCS#8 private key file (PEM or DER): RSA, P-256/384/521 or Ed25519.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

/// Runs `jwtck sign`.
pub(crate) fn run(args: &Args, out: &Output) -> Result<(), Fail> {
    let src = &args.source;
    let secret = keys::read_secret(
        src.secret.as_deref(),
        src.secret_file.as_deref(),
        src.secret_env.as_deref(),
    )?;
    let mut key = match (secret, &src.key) {
        (Some(secret), _) => keys::hmac_signing(&secret, args.alg)?,
        (None, Some(path)) => keys::load_signing(path, args.alg)?,
        (None, None) => {
            return Err(Fail::usage(
                "no key: pass --secret, --secret-file, --secret-env or --key",
            ))
        }
    };
    if let Some(kid) = &args.kid {
        key = key
            .with_kid(kid.as_str())
            .map_err(|e| keys::config("--kid", &e))?;
    }
    if let Some(typ) = &args.typ {
        key = key.with_typ(typ).map_err(|e| keys::config("--typ", &e))?;
    }
    let claims = claims(args, civil::now())?;
    let token = sign(&key, &claims)?;
    if out.json {
        out.print_json(&json!({ "token": token, "alg": key.algorithm().as_str(), "kid": key.kid() }));
    } else {
        println!("{token}");
    }
    Ok(())
}

fn sign(key: &SigningKey, claims: &Map<String, Value>) -> Result<String, Fail> {
    key.sign(claims)
        .map_err(|e| Fail::usage(format!("cannot sign: {e}")))
}

/// The claims: the document, then the flags over it, then `iat` and a default `exp`.
fn claims(args: &Args, now: i64) -> Result<Map<String, Value>, Fail> {
    let text = match args.claims.as_deref() {
        None => "{}".to_owned(),
        Some("-") => read_stdin("the claims")?,
        Some(arg) => match arg.strip_prefix('@') {
            Some(path) => String::from_utf8(keys::read_file(path.as_ref())?)
                .map_err(|_| Fail::usage(format!("{path}: not UTF-8")))?,
            None => arg.to_owned(),
        },
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Fail::usage(format!("the claims are not valid JSON: {e}")))?;
    let Value::Object(mut claims) = value else {
        return Err(Fail::usage("the claims must be a JSON object"));
    };
    if let Some(sub) = &args.sub {
        claims.insert("sub".into(), json!(sub));
    }
    if let Some(iss) = &args.iss {
        claims.insert("iss".into(), json!(iss));
    }
    match args.aud.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".into(), json!(one));
        }
        many => {
            claims.insert("aud".into(), json!(many));
        }
    }
    if let Some(nbf) = &args.nbf {
        let nbf = civil::parse_exp(nbf, now).map_err(|e| Fail::usage(e.replace("--exp", "--nbf")))?;
        claims.insert("nbf".into(), json!(nbf));
    }
    match &args.exp {
        Some(exp) => {
            claims.insert(
                "exp".into(),
                json!(civil::parse_exp(exp, now).map_err(Fail::usage)?),
            );
        }
        None if !claims.contains_key("exp") => {
            let exp = civil::parse_exp(DEFAULT_EXP, now).map_err(Fail::usage)?;
            claims.insert("exp".into(), json!(exp));
        }
        None => {}
    }
    if !args.no_iat && !claims.contains_key("iat") {
        claims.insert("iat".into(), json!(now));
    }
    Ok(claims)
}
