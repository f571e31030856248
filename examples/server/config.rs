//! The server's settings, read from the environment (the table in `main.rs`).

use std::time::Duration;

use super::tokens::random_b64;

/// The server's settings, read from the environment by [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The HS256 secret.
    pub secret: String,
    /// Required and issued `iss`.
    pub issuer: Option<String>,
    /// Required and issued `aud`.
    pub audience: Option<String>,
    /// A PKCS#8 PEM private key to sign with instead of the secret.
    pub signing_key_pem: Option<Vec<u8>>,
    /// Verify against a remote key set instead (JWKS mode).
    pub remote: Option<Remote>,
}

/// Where JWKS mode finds its keys.
#[derive(Clone, Debug)]
pub enum Remote {
    /// A JWK Set URL.
    Jwks {
        /// The key set's URL.
        url: String,
        /// The unknown-`kid` cooldown.
        cooldown: Duration,
    },
    /// An OpenID Connect issuer.
    Oidc {
        /// The issuer URL (also the required `iss`).
        issuer: String,
    },
}

impl Config {
    /// Reads `JWT_SECRET`, `JWT_ISSUER` and `JWT_AUDIENCE`; the bool says whether the secret was
    /// generated.
    pub(crate) fn from_env() -> Result<(Self, bool), String> {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let cooldown = match non_empty("JWT_JWKS_COOLDOWN_SECS") {
            Some(secs) => Duration::from_secs(
                secs.parse()
                    .map_err(|_| format!("JWT_JWKS_COOLDOWN_SECS={secs:?} is not a number of seconds"))?,
            ),
            None => Duration::from_secs(30),
        };
        let remote = match (non_empty("JWT_JWKS_URL"), non_empty("JWT_OIDC_ISSUER")) {
            (Some(url), _) => Some(Remote::Jwks { url, cooldown }),
            (None, Some(issuer)) => Some(Remote::Oidc { issuer }),
            (None, None) => None,
        };
        let signing_key_pem = match non_empty("JWT_SIGNING_KEY_FILE") {
            Some(path) => Some(
                std::fs::read(&path).map_err(|e| format!("cannot read JWT_SIGNING_KEY_FILE={path}: {e}"))?,
            ),
            None => None,
        };
        let (secret, generated) = match non_empty("JWT_SECRET") {
            Some(secret) => (secret, false),
            None => (random_b64(32), true),
        };
        let config = Self {
            secret,
            issuer: non_empty("JWT_ISSUER"),
            audience: non_empty("JWT_AUDIENCE"),
            signing_key_pem,
            remote,
        };
        Ok((config, generated))
    }
}
