//! Reading keys: HMAC secrets, PEM/DER public keys and certificates, PKCS#8 private keys, JWKs.

use std::path::Path;

use base64::Engine as _;
use tower_jwt_auth::{Algorithm, ConfigError, Jwk, KeySet, SigningKey, VerifyingKey};

use crate::Fail;

/// Parses an `--alg` value (case-sensitive, as in a JOSE header; `none` is no algorithm).
pub(crate) fn parse_alg(value: &str) -> Result<Algorithm, String> {
    value.parse::<Algorithm>().map_err(|_| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
        format!(
            "unknown algorithm {value:?}; expected one of {}",
            names.join(", ")
        )
    })
}

/// A configuration error, with what it was about.
pub(crate) fn config(what: &str, e: &ConfigError) -> Fail {
    Fail::usage(format!("{what}: {e}"))
}

/// The secret of `--secret`, `--secret-file` (one trailing newline removed) or `--secret-env`.
pub(crate) fn read_secret(
    secret: Option<&str>,
    file: Option<&Path>,
    env: Option<&str>,
) -> Result<Option<Vec<u8>>, Fail> {
    if let Some(secret) = secret {
        return Ok(Some(secret.as_bytes().to_vec()));
    }
    if let Some(path) = file {
        let mut bytes = read_file(path)?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        return Ok(Some(bytes));
    }
    if let Some(var) = env {
        return match std::env::var_os(var) {
            Some(value) if !value.is_empty() => Ok(Some(value.into_encoded_bytes())),
            _ => Err(Fail::usage(format!(
                "--secret-env {var}: the variable is unset or empty"
            ))),
        };
    }
    Ok(None)
}

/// Reads a whole file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| Fail::usage(format!("cannot read {}: {e}", path.display())))
}

/// An HMAC key for verification; `alg` defaults to HS256.
pub(crate) fn hmac_verifying(secret: &[u8], alg: Option<Algorithm>) -> Result<VerifyingKey, Fail> {
    let alg = hmac_alg(alg)?;
    VerifyingKey::hmac(alg, secret).map_err(|e| config("the secret", &e))
}

/// An HMAC key for signing; `alg` defaults to HS256.
pub(crate) fn hmac_signing(secret: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, Fail> {
    let alg = hmac_alg(alg)?;
    SigningKey::hmac(alg, secret).map_err(|e| config("the secret", &e))
}

fn hmac_alg(alg: Option<Algorithm>) -> Result<Algorithm, Fail> {
    match alg {
        None => Ok(Algorithm::HS256),
        Some(alg) if alg.is_hmac() => Ok(alg),
        Some(alg) => Err(Fail::usage(format!(
            "--alg {alg} needs a --key; a secret is for HS256, HS384 or HS512"
        ))),
    }
}

/// What a `--key` file holds, once read.
#[derive(Debug)]
pub(crate) enum KeyFile {
    /// One key (public key, certificate, the public half of a private key, a JWK).
    One(Box<VerifyingKey>),
    /// A JWK Set.
    Set(KeySet),
}

/// Reads a `--key` file for verification: a PEM or DER public key (SubjectPublicKeyInfo or
/// PKCS#1) or certificate, a PKCS#8 private key (its public half is used, with its RFC 7638
/// thumbprint as `kid`, like a server configured with that key), a JWK, or a JWK Set.
pub(crate) fn load_verifying(path: &Path, alg: Option<Algorithm>) -> Result<KeyFile, Fail> {
    let bytes = read_file(path)?;
    let what = format!("--key {}", path.display());
    let text = std::str::from_utf8(&bytes).ok().map(str::trim_start);
    let key = match text {
        Some(text) if text.starts_with('{') => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Fail::usage(format!("{what}: not valid JSON: {e}")))?;
            if value.get("keys").is_some() {
                if alg.is_some() {
                    return Err(Fail::usage(
                        "--alg does not apply to a JWK Set: each key is bound to its own alg",
                    ));
                }
                let set = KeySet::from_json(text.as_bytes()).map_err(|e| config(&what, &e))?;
                return Ok(KeyFile::Set(usable_set(set, &what)?));
            }
            let jwk: Jwk =
                serde_json::from_value(value).map_err(|e| Fail::usage(format!("{what}: not a JWK: {e}")))?;
            VerifyingKey::from_jwk(&jwk).map_err(|e| config(&what, &e))?
        }
        Some(text) if text.contains("-----BEGIN PRIVATE KEY-----") => SigningKey::from_pkcs8(text)
            .map_err(|e| config(&what, &e))?
            .verifying_key(),
        Some(text) if text.contains("-----BEGIN ") && text.contains(" PRIVATE KEY-----") => {
            return Err(Fail::usage(format!(
                "{what}: only PKCS#8 private keys (BEGIN PRIVATE KEY) are read; convert with \
                 `openssl pkcs8 -topk8 -nocrypt`"
            )))
        }
        _ => match VerifyingKey::from_public_key(&bytes) {
            Ok(key) => key,
            // DER: perhaps a PKCS#8 private key.
            Err(public_err) => match SigningKey::from_pkcs8(&bytes) {
                Ok(signing) => signing.verifying_key(),
                Err(_) => return Err(config(&what, &public_err)),
            },
        },
    };
    let key = match alg {
        Some(alg) => key.with_algorithm(alg).map_err(|e| config(&what, &e))?,
        None => key,
    };
    Ok(KeyFile::One(Box::new(key)))
}

/// Refuses a set without a usable key, naming why each was skipped.
pub(crate) fn usable_set(set: KeySet, what: &str) -> Result<KeySet, Fail> {
    if set.is_empty() {
        let reasons: Vec<String> = set
            .skipped()
            .iter()
            .map(|s| format!("{}: {}", s.kid.as_deref().unwrap_or("(no kid)"), s.reason))
            .collect();
        return Err(Fail::usage(format!(
            "{what}: no usable key{}{}",
            if reasons.is_empty() { "" } else { "; skipped " },
            reasons.join("; ")
        )));
    }
    Ok(set)
}

/// Reads a `--key` file for signing: a PKCS#8 private key, PEM or DER.
pub(crate) fn load_signing(path: &Path, alg: Option<Algorithm>) -> Result<SigningKey, Fail> {
    let bytes = read_file(path)?;
    let what = format!("--key {}", path.display());
    let key = SigningKey::from_pkcs8(&bytes).map_err(|e| config(&what, &e))?;
    match alg {
        Some(alg) => key.with_algorithm(alg).map_err(|e| config(&what, &e)),
        None => Ok(key),
    }
}

/// PEM text of DER bytes under `label`, 64 columns.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
