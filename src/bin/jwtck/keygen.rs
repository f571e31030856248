//! `jwtck keygen`: HMAC secrets and key pairs (PKCS#8 PEM), and the public JWK Set.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use serde_json::json;
use tower_jwt_auth::{Algorithm, JwkSet, SigningKey};

use crate::keys;
use crate::output::{pretty, Output};
use crate::Fail;

/// Arguments of `jwtck keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// HS256, HS384, HS512 (a random secret), ES256, ES384, ES512, EdDSA, or RS256..RS512 /
    /// PS256..PS512 (an RSA key, 2048 bits unless --bits).
    #[arg(value_name = "ALG", value_parser = keys::parse_alg)]
    alg: Algorithm,
    /// RSA key size.
    #[arg(long, value_name = "BITS", value_parser = ["2048", "3072", "4096"])]
    bits: Option<String>,
    /// Write the private key (or secret) to this new file, mode 0600, instead of standard
    /// output; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the public key as a JWK Set (kid: its RFC 7638 thumbprint) to this new file.
    #[arg(long, value_name = "FILE")]
    public_jwk: Option<PathBuf>,
}

/// Runs `jwtck keygen`.
pub(crate) fn run(args: &Args, out: &Output) -> Result<(), Fail> {
    let alg = args.alg;
    if args.bits.is_some() && !is_rsa(alg) {
        return Err(Fail::usage(format!(
            "--bits applies to RSA algorithms, not {alg}"
        )));
    }
    if alg.is_hmac() && args.public_jwk.is_some() {
        return Err(Fail::usage(
            "--public-jwk: an HMAC secret has no public half; share the secret itself, privately",
        ));
    }
    for path in [&args.out, &args.public_jwk].into_iter().flatten() {
        if path.exists() {
            return Err(Fail::usage(format!(
                "{} already exists; not overwriting it",
                path.display()
            )));
        }
    }
    let (secret_text, kid, jwks) = if alg.is_hmac() {
        (hmac_secret(alg)?, None, None)
    } else {
        let der = pkcs8(alg, args.bits.as_deref())?;
        let pem = keys::pem("PRIVATE KEY", &der);
        let refused = |e| Fail::usage(format!("the generated key was refused: {e}"));
        let signing = SigningKey::from_pkcs8(&pem).map_err(refused)?;
        let implied = signing.algorithm();
        let signing = signing.with_algorithm(alg).map_err(refused)?;
        if implied != alg {
            eprintln!("note: the key file alone implies {implied}: pass --alg {alg} to `jwtck sign` and `--key` verification");
        }
        let jwk = signing
            .verifying_key()
            .to_jwk()
            .ok_or_else(|| Fail::usage("the generated key has no public JWK"))?;
        let kid = signing.kid().map(str::to_owned);
        (pem, kid, Some(JwkSet { keys: vec![jwk] }))
    };
    // The public set first: if it cannot be written, no private key is left behind.
    if let (Some(path), Some(jwks)) = (&args.public_jwk, &jwks) {
        let text = serde_json::to_string_pretty(jwks).map_err(|e| Fail::usage(e.to_string()))?;
        write_new(path, format!("{text}\n").as_bytes(), false)?;
    }
    let secret_line = if alg.is_hmac() {
        format!("{secret_text}\n")
    } else {
        secret_text.clone()
    };
    if let Some(path) = &args.out {
        write_new(path, secret_line.as_bytes(), true)?;
    }
    if out.json {
        let mut doc = json!({ "alg": alg.as_str(), "kid": kid });
        match &args.out {
            Some(path) => doc["out"] = json!(path.display().to_string()),
            None if alg.is_hmac() => doc["secret"] = json!(secret_text),
            None => doc["private_key_pem"] = json!(secret_text),
        }
        if let Some(jwks) = &jwks {
            doc["public_jwks"] = serde_json::to_value(jwks).unwrap_or_default();
        }
        out.print_json(&doc);
        return Ok(());
    }
    match &args.out {
        None => print!("{secret_line}"),
        Some(path) => {
            let what = if alg.is_hmac() { "secret" } else { "private key" };
            eprintln!("wrote the {alg} {what} to {} (mode 0600)", path.display());
        }
    }
    if let Some(kid) = &kid {
        eprintln!("kid (RFC 7638 thumbprint): {kid}");
    }
    match (&args.public_jwk, &jwks) {
        (Some(path), Some(_)) => eprintln!("wrote the public JWK Set to {}", path.display()),
        // Standard output is free: the public half goes there.
        (None, Some(jwks)) if args.out.is_some() => {
            println!("{}", pretty(&serde_json::to_value(jwks).unwrap_or_default()));
        }
        _ => {}
    }
    Ok(())
}

fn is_rsa(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    )
}

/// A random secret of the hash's length, base64url: the text itself is the secret (as the
/// example server's `JWT_SECRET`), so it is longer than the minimum.
fn hmac_secret(alg: Algorithm) -> Result<String, Fail> {
    let len = match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    };
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Fail::usage("the random source failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new private key for `alg`, PKCS#8 v1 DER.
fn pkcs8(alg: Algorithm, bits: Option<&str>) -> Result<Vec<u8>, Fail> {
    let failed = |_| Fail::usage(format!("generating an {alg} key failed"));
    let rng = SystemRandom::new();
    let ec = |curve: &'static signature::EcdsaSigningAlgorithm| {
        EcdsaKeyPair::generate_pkcs8(curve, &rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(failed)
    };
    match alg {
        Algorithm::ES256 => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::ES512 => ec(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(failed),
        _ => {
            let size = match bits {
                Some("3072") => KeySize::Rsa3072,
                Some("4096") => KeySize::Rsa4096,
                _ => KeySize::Rsa2048,
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(size).map_err(failed)?;
            let der = pair.as_der().map_err(failed)?;
            Ok(der.as_ref().to_vec())
        }
    }
}

/// Creates `path` (never overwriting), mode 0600 for secrets on Unix.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), Fail> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Fail::usage(format!("{} already exists; not overwriting it", path.display()))
        } else {
            Fail::usage(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Fail::usage(format!("cannot write {}: {e}", path.display())))
}
