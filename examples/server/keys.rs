//! The keys of each mode: tokens are signed with the HS256 secret or the `JWT_SIGNING_KEY_FILE`
//! key, and verified with that key's verifying half or, in JWKS mode, a remote key set
//! (`JWT_JWKS_URL`), or the key sets of the issuers of `JWT_OIDC_ISSUER` and
//! `JWT_TRUSTED_ISSUERS`, chosen by each token's `iss`.

use tower_jwt_auth::{Either, SigningKey, VerifyingKey};

use super::config::Config;
#[cfg(feature = "jwks")]
use super::config::Remote;

/// The keys tokens are verified with: the signing key's (HS256 secret or public half), or a
/// remote key set in JWKS mode, or several issuers' key sets. The crate's `Either` is a key
/// resolver when both sides are.
#[cfg(feature = "jwks")]
pub(crate) type ServerKeys =
    Either<VerifyingKey, Either<tower_jwt_auth::JwksResolver, tower_jwt_auth::issuers::Issuers>>;
/// The keys tokens are verified with: the signing key's (HS256 secret or public half); without
/// the `jwks` feature the right side is never made.
#[cfg(not(feature = "jwks"))]
pub(crate) type ServerKeys = Either<VerifyingKey, VerifyingKey>;

pub(crate) fn server_keys(
    config: &Config,
    signing: &SigningKey,
) -> Result<ServerKeys, Box<dyn std::error::Error + Send + Sync>> {
    match &config.remote {
        None => Ok(Either::Left(signing.verifying_key())),
        #[cfg(feature = "jwks")]
        Some(Remote::Jwks { url, cooldown }) => Ok(Either::Right(Either::Left(
            tower_jwt_auth::JwksResolver::with_options(url, options(*cooldown))?,
        ))),
        // One issuer, or several: each discovered, with its own key set and cooldown; a
        // token's `iss` chooses (an untrusted one costs no request, even with an unknown `kid`).
        #[cfg(feature = "jwks")]
        Some(Remote::Oidc { issuer, cooldown }) => server_keys_of(std::slice::from_ref(issuer), *cooldown),
        #[cfg(feature = "jwks")]
        Some(Remote::Issuers { issuers, cooldown }) => server_keys_of(issuers, *cooldown),
        #[cfg(not(feature = "jwks"))]
        Some(_) => Err("JWT_JWKS_URL / JWT_OIDC_ISSUER / JWT_TRUSTED_ISSUERS need the `jwks` feature (cargo run --example server --features jwks)".into()),
    }
}

/// The key sets of `issuers`, each found by OpenID Connect discovery.
#[cfg(feature = "jwks")]
fn server_keys_of(
    issuers: &[String],
    cooldown: std::time::Duration,
) -> Result<ServerKeys, Box<dyn std::error::Error + Send + Sync>> {
    use tower_jwt_auth::issuers::{Issuers, TrustedIssuer};
    let mut trusted = Issuers::new();
    for issuer in issuers {
        trusted = trusted.trust(TrustedIssuer::discover(issuer)?.jwks_options(options(cooldown)))?;
    }
    Ok(Either::Right(Either::Right(trusted)))
}

/// A remote key set's options: the default limits (2 s to connect, 5 s in all), the
/// configured cooldown.
#[cfg(feature = "jwks")]
fn options(cooldown: std::time::Duration) -> tower_jwt_auth::JwksOptions {
    tower_jwt_auth::JwksOptions::default().cooldown(cooldown)
}

/// The key tokens are signed with: the PKCS#8 key when one is configured, else the HS256 secret.
pub(crate) fn signing_key(config: &Config) -> Result<SigningKey, Box<dyn std::error::Error + Send + Sync>> {
    match &config.signing_key_pem {
        #[cfg(feature = "aws-lc")]
        Some(pem) => Ok(SigningKey::from_pkcs8(pem)?),
        #[cfg(not(feature = "aws-lc"))]
        Some(_) => Err(
            "JWT_SIGNING_KEY_FILE needs the `aws-lc` feature (cargo run --example server --features aws-lc)"
                .into(),
        ),
        None => Ok(SigningKey::hs256(config.secret.as_bytes())?),
    }
}
