//! Publishing public keys as a JWK Set: [`PublishJwks`] (feature `aws-lc`).

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll};

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use tower_service::Service;

use crate::{ConfigError, JwkSet, VerifyingKey};

/// A service answering every request with the JWK Set of some public keys, for
/// `/.well-known/jwks.json`, with `Content-Type: application/jwk-set+json` and
/// `Cache-Control: public, max-age=...`.
///
/// Rotate by publishing the next key beside the current one, waiting at least `max-age` (so
/// every verifier has fetched it), then signing with it; drop the old key once the tokens it
/// signed have expired.
///
/// ```
/// use axum::{routing::get_service, Router};
/// use tower_jwt_auth::{PublishJwks, SigningKey};
///
/// # let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/p256.pem"));
/// let signing = SigningKey::from_pkcs8(pem)?; // e.g. std::fs::read("key.pem")?
/// let jwks: PublishJwks = PublishJwks::new([signing.verifying_key()], 300)?;
/// assert!(jwks.document().contains(signing.kid().unwrap()));
/// let app: Router = Router::new().route_service("/.well-known/jwks.json", get_service(jwks));
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
///
/// The response body is a `String` by default (an `http_body::Body`, so axum and hyper serve it
/// as is); `ResBody` may be any type built from one, such as `axum::body::Body`.
pub struct PublishJwks<ResBody = String> {
    body: Arc<str>,
    cache_control: HeaderValue,
    _body: PhantomData<fn() -> ResBody>,
}

impl<ResBody> Clone for PublishJwks<ResBody> {
    fn clone(&self) -> Self {
        Self {
            body: Arc::clone(&self.body),
            cache_control: self.cache_control.clone(),
            _body: PhantomData,
        }
    }
}

impl<ResBody> fmt::Debug for PublishJwks<ResBody> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishJwks")
            .field("body", &self.body)
            .field("cache_control", &self.cache_control)
            .finish()
    }
}

impl<ResBody> PublishJwks<ResBody> {
    /// Publishes the public halves of `keys`, cacheable for `max_age_secs`.
    ///
    /// # Errors
    /// [`ConfigError::WrongKeyType`] for an HMAC key: a shared secret is never published.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>, max_age_secs: u32) -> Result<Self, ConfigError> {
        let keys = keys
            .into_iter()
            .map(|k| {
                k.to_jwk().ok_or(ConfigError::WrongKeyType {
                    algorithm: k.algorithm(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = serde_json::to_string(&JwkSet { keys })
            .map_err(|_| ConfigError::InvalidKey("the key set could not be serialized"))?;
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age_secs}"))
            .map_err(|_| ConfigError::OutOfRange("max_age_secs"))?;
        Ok(Self {
            body: Arc::from(body),
            cache_control,
            _body: PhantomData,
        })
    }

    /// The JSON document served.
    #[must_use]
    pub fn document(&self) -> &str {
        &self.body
    }
}

impl<B, ResBody: From<String>> Service<Request<B>> for PublishJwks<ResBody> {
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<ResBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut response = Response::new(ResBody::from(String::from(&*self.body)));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
        headers.insert(CACHE_CONTROL, self.cache_control.clone());
        ready(Ok(response))
    }
}
