//! Where a key set is found ([`Source`]), and OpenID Connect discovery of an issuer's
//! `jwks_uri`, cached for a day ([`Discovered`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::Uri;

use super::client::{check_url, HttpClient};
use super::error::FetchError;
use crate::ConfigError;

/// Where a resolver's key set comes from.
#[derive(Debug)]
pub(super) enum Source {
    /// A JWK Set URL, fetched directly.
    Jwks(Uri),
    /// An OpenID Connect issuer, and the URL of its discovery document.
    Oidc { issuer: String, discovery: Uri },
}

impl Source {
    /// The JWK Set at `url`.
    pub(super) fn jwks(url: &str) -> Result<Self, ConfigError> {
        Ok(Self::Jwks(check_url(url)?))
    }

    /// The key set `issuer` names in its discovery document.
    pub(super) fn oidc(issuer: &str) -> Result<Self, ConfigError> {
        check_url(issuer)?;
        let discovery = check_url(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))?;
        Ok(Self::Oidc {
            issuer: issuer.to_owned(),
            discovery,
        })
    }

    /// The issuer of an OIDC source.
    pub(super) fn issuer(&self) -> Option<&str> {
        match self {
            Self::Oidc { issuer, .. } => Some(issuer),
            Self::Jwks(_) => None,
        }
    }
}

/// OIDC: the `jwks_uri` found by discovery, and when.
#[derive(Default)]
pub(super) struct Discovered(Mutex<Option<(Uri, Instant)>>);

impl Discovered {
    /// The `jwks_uri` of the issuer, from a discovery document at most a day old.
    pub(super) async fn jwks_uri(
        &self,
        client: &HttpClient,
        issuer: &str,
        discovery: &Uri,
    ) -> Result<Uri, FetchError> {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some((uri, at)) = &cached {
            if at.elapsed() < Duration::from_secs(24 * 3600) {
                return Ok(uri.clone());
            }
        }
        let found = match discover(client, issuer, discovery).await {
            Ok(uri) => uri,
            // Keep the last good document on errors; never cache a failure.
            Err(e) => return cached.map(|(uri, _)| uri).ok_or(e),
        };
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((found.clone(), Instant::now()));
        Ok(found)
    }
}

/// Fetches the discovery document (`/.well-known/openid-configuration`, then, if that answered
/// 404, RFC 8414's `/.well-known/oauth-authorization-server`) and checks its `issuer` and
/// `jwks_uri`.
async fn discover(client: &HttpClient, issuer: &str, discovery: &Uri) -> Result<Uri, FetchError> {
    #[derive(serde::Deserialize)]
    struct Document {
        issuer: String,
        jwks_uri: String,
    }
    let body = match client.get(discovery).await {
        Ok((body, _)) => body,
        // RFC 8414's document only where the provider has no OpenID Connect one (404): after a
        // timeout or a failure, a second fetch would double the wait of the request behind it.
        Err(first @ FetchError::Status(404)) => {
            // RFC 8414 §3.1: the well-known path goes between the host and the issuer's path.
            let at: Uri = issuer.parse().map_err(|_| first.clone())?;
            let (Some(scheme), Some(authority)) = (at.scheme_str(), at.authority()) else {
                return Err(first);
            };
            let path = at.path().trim_end_matches('/');
            let fallback = format!("{scheme}://{authority}/.well-known/oauth-authorization-server{path}");
            let fallback: Uri = fallback.parse().map_err(|_| first.clone())?;
            client.get(&fallback).await.map_err(|_| first)?.0
        }
        Err(first) => return Err(first),
    };
    let doc: Document = serde_json::from_slice(&body)
        .map_err(|_| FetchError::Invalid("not a discovery document".to_owned()))?;
    if doc.issuer != issuer {
        return Err(FetchError::Discovery(format!(
            "the document names issuer {:?}, expected {issuer:?}",
            doc.issuer
        )));
    }
    check_url(&doc.jwks_uri).map_err(|_| FetchError::Discovery("jwks_uri is not HTTPS".to_owned()))
}
