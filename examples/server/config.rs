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
    /// `JWT_PROFILE=rfc9068`: tokens must follow the JWT access-token profile.
    pub rfc9068: bool,
    /// `OAUTH_RESOURCE`: the resource identifier; its RFC 9728 metadata is served.
    pub resource: Option<String>,
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
        /// The unknown-`kid` cooldown.
        cooldown: Duration,
    },
    /// Several OpenID Connect issuers (`JWT_TRUSTED_ISSUERS`), each discovered, each with its
    /// own key set and cooldown.
    Issuers {
        /// The issuer URLs; a token's `iss` must be one of them.
        issuers: Vec<String>,
        /// The unknown-`kid` cooldown of each issuer's key set.
        cooldown: Duration,
    },
}

impl Remote {
    /// The issuers tokens come from, when known (for the protected-resource metadata).
    pub fn issuers(&self) -> Vec<String> {
        match self {
            Self::Jwks { .. } => Vec::new(),
            Self::Oidc { issuer, .. } => vec![issuer.clone()],
            Self::Issuers { issuers, .. } => issuers.clone(),
        }
    }
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
        let trusted: Vec<String> = non_empty("JWT_TRUSTED_ISSUERS")
            .map(|list| list.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let remote = match (non_empty("JWT_JWKS_URL"), non_empty("JWT_OIDC_ISSUER")) {
            (Some(_), _) if !trusted.is_empty() => {
                return Err("JWT_JWKS_URL and JWT_TRUSTED_ISSUERS exclude each other".into())
            }
            (Some(url), _) => Some(Remote::Jwks { url, cooldown }),
            // The one-issuer case of several, if both are given.
            (None, oidc) if !trusted.is_empty() => {
                let mut issuers = trusted;
                if let Some(issuer) = oidc {
                    if !issuers.contains(&issuer) {
                        issuers.push(issuer);
                    }
                }
                Some(Remote::Issuers { issuers, cooldown })
            }
            (None, Some(issuer)) => Some(Remote::Oidc { issuer, cooldown }),
            (None, None) => None,
        };
        let rfc9068 = match non_empty("JWT_PROFILE").as_deref() {
            None => false,
            Some(profile) if profile.eq_ignore_ascii_case("rfc9068") => true,
            Some(other) => return Err(format!("JWT_PROFILE={other:?}: the only profile is rfc9068")),
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
            rfc9068,
            resource: non_empty("OAUTH_RESOURCE"),
        };
        Ok((config, generated))
    }
}
