//! [`JwtAuthLayer`]: configuration of the authentication middleware.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use crate::config::{Config, Shared};
use crate::rejection::Challenges;
use crate::{
    ConfigError, DefaultRejection, JwtAuth, KeyResolver, TokenCheck, TokenSource, Validation, VerifyingKey,
};

/// Applies [`JwtAuth`] to a service: every request must carry a valid token, whose claims (`T`)
/// are inserted into the request extensions as [`Claims<T>`](crate::Claims).
///
/// | situation | status | `WWW-Authenticate` |
/// | --- | --- | --- |
/// | no token | 401 | `Bearer` (with `realm` if set), no `error` |
/// | malformed request (two headers, two sources, two tokens or blanks in one) | 400 | `Bearer error="invalid_request", ...` |
/// | token refused (forged, expired, wrong `iss`/`aud`, unknown `kid`, wrong `alg`, too large, `Bearer` with nothing after it...) | 401 | `Bearer error="invalid_token", error_description="..."` |
/// | the key source cannot answer | 503 | none |
///
/// With [`realm`](Self::realm) set, every challenge starts with `realm="..."`; with
/// [`resource_metadata`](Self::resource_metadata) set (RFC 9728), every challenge ends with
/// `resource_metadata="..."`.
///
/// The [`AuthError`](crate::AuthError) is inserted into the extensions of every rejection.
///
/// A gRPC request (`content-type: application/grpc` or `application/grpc+...`) is refused the
/// gRPC way, whatever the router around it: HTTP 200 with `content-type: application/grpc`,
/// `grpc-status` ([`AuthErrorKind::grpc_status`](crate::AuthErrorKind::grpc_status): 16
/// `UNAUTHENTICATED` for 401, 7 `PERMISSION_DENIED` for 403, 3 `INVALID_ARGUMENT` for 400, 14
/// `UNAVAILABLE` for 503) and `grpc-message` (the fixed phrase), in one header block
/// ("trailers-only"); the challenge and the error extension stay. Other requests are answered
/// in HTTP, so one layer covers a mixed axum and tonic router.
///
/// ```
/// use axum::{routing::get, Router};
/// use tower_jwt_auth::{Claims, JwtAuthLayer};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String }
///
/// async fn me(Claims(claims): Claims<MyClaims>) -> String {
///     claims.sub
/// }
///
/// let auth = JwtAuthLayer::<MyClaims>::hs256(b"a secret of at least thirty-two bytes!")?;
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     // `route_layer`: unknown paths stay 404 instead of becoming 401.
///     .route_layer(auth);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[must_use]
pub struct JwtAuthLayer<T, K = VerifyingKey, R = DefaultRejection> {
    shared: Arc<Shared<K, R>>,
    _claims: PhantomData<fn() -> T>,
}

impl<T, K, R> Clone for JwtAuthLayer<T, K, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            _claims: PhantomData,
        }
    }
}

impl<T, K, R> fmt::Debug for JwtAuthLayer<T, K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("validation", &self.shared.config.validation)
            .field("source", &self.shared.config.source)
            .field("optional", &self.shared.config.optional)
            .field("realm", &self.shared.config.challenges.realm())
            .field(
                "resource_metadata",
                &self.shared.config.challenges.resource_metadata(),
            )
            .field("claims", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T> JwtAuthLayer<T> {
    /// HS256 with one static secret (at least 32 bytes) and the default [`Validation`].
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Ok(Self::new(VerifyingKey::hs256(secret)?))
    }

    /// Tokens verified with keys from `resolver` (a [`VerifyingKey`], a
    /// [`KeyRing`](crate::KeyRing), a [`JwksResolver`](crate::JwksResolver), an
    /// [`Either`](crate::Either) of two, a [`resolver_fn`](crate::resolver_fn) or your own),
    /// under the default [`Validation`] and the bearer [`TokenSource`].
    ///
    /// The resolver's type is inferred from the argument: name only the claims type.
    ///
    /// ```
    /// use tower_jwt_auth::{JwtAuthLayer, KeyRing, VerifyingKey};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct MyClaims { sub: String }
    ///
    /// let ring = KeyRing::new([VerifyingKey::hs256([7u8; 32])?.with_kid("2026-12")?])?;
    /// let auth = JwtAuthLayer::<MyClaims>::new(ring);
    /// # let _ = auth;
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn new<K: KeyResolver>(resolver: K) -> JwtAuthLayer<T, K> {
        JwtAuthLayer {
            shared: Arc::new(Shared {
                config: Config {
                    validation: Validation::new(),
                    pinned: Vec::new(),
                    resolver,
                    source: TokenSource::bearer(),
                    optional: false,
                    challenges: Challenges::none(),
                },
                rejection: Arc::new(DefaultRejection),
            }),
            _claims: PhantomData,
        }
    }
}

impl<T, K: Clone, R> JwtAuthLayer<T, K, R> {
    fn config_mut(&mut self) -> &mut Config<K> {
        &mut Arc::make_mut(&mut self.shared).config
    }

    /// The rules tokens must satisfy (issuer, audience, leeway, sizes...). Default:
    /// [`Validation::new`].
    ///
    /// Replaces the rules set before, except what the layer pins: the checks added with
    /// [`check`](Self::check) (and so [`sessions`](Self::sessions)' revocations) stay, and an
    /// issuer the key source is bound to ([`VerifyingKey::with_issuer`], every key of
    /// `JwksResolver::oidc`) holds whatever `validation` says: a `validation` that lists other
    /// issuers makes the layer refuse every token of those keys (`InvalidIssuer`).
    pub fn validation(mut self, validation: Validation) -> Self {
        let config = self.config_mut();
        config.validation = validation.with_checks(&config.pinned);
        self
    }

    /// Adds `check` ([`TokenCheck`]) to every token this layer verifies, after the signature
    /// and the claims; no later [`validation`](Self::validation) drops it.
    ///
    /// ```
    /// use tower_jwt_auth::{AuthErrorKind, JwtAuthLayer, TokenIds, Validation};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct MyClaims { sub: String }
    ///
    /// let no_mallory = |ids: &TokenIds<'_>| match ids.sub() {
    ///     Some("mallory") => Err(AuthErrorKind::Revoked),
    ///     _ => Ok(()),
    /// };
    /// let auth = JwtAuthLayer::<MyClaims>::hs256([8u8; 32])?
    ///     .check(no_mallory)
    ///     // Still checked: `validation` keeps the layer's checks.
    ///     .validation(Validation::new().audience("orders-api")?);
    /// # let _ = auth;
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn check(mut self, check: impl TokenCheck) -> Self {
        let check: Arc<dyn TokenCheck> = Arc::new(check);
        let config = self.config_mut();
        config.validation = config
            .validation
            .clone()
            .with_checks(std::slice::from_ref(&check));
        config.pinned.push(check);
        self
    }

    /// Where to look for the token. Default: [`TokenSource::bearer`].
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.config_mut().source = source;
        self
    }

    /// Lets requests **without** a token through, without claims (use `Option<Claims<T>>` in
    /// handlers). A token that is present but refused is still answered with 401.
    pub fn optional(mut self) -> Self {
        self.config_mut().optional = true;
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenges. Default: none.
    ///
    /// Keeps the [`resource_metadata`](Self::resource_metadata) set before (and is kept by
    /// one set after).
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for characters that cannot be sent in a quoted
    /// string (quotes, backslashes, control or non-ASCII characters).
    pub fn realm(mut self, realm: &str) -> Result<Self, ConfigError> {
        let challenges = Challenges::new(Some(realm), self.shared.config.challenges.resource_metadata())?;
        self.config_mut().challenges = challenges;
        Ok(self)
    }

    /// The URL of the resource's OAuth 2.0 Protected Resource Metadata (RFC 9728 §5.1), sent as
    /// `resource_metadata="<url>"` at the end of every challenge of this layer (400 and 401;
    /// a 503 has none): a client refused for want of a token learns there where to get one.
    /// Default: none.
    ///
    /// Pass the [`url`](crate::ProtectedResourceMetadata::url) of the
    /// [`ProtectedResourceMetadata`](crate::ProtectedResourceMetadata) you serve, and give a
    /// [`RequireClaimsLayer`](crate::RequireClaimsLayer) inside the same URL. Keeps the
    /// [`realm`](Self::realm) set before (and is kept by one set after).
    ///
    /// ```
    /// use tower_jwt_auth::{JwtAuthLayer, ProtectedResourceMetadata};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct MyClaims { sub: String }
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .authorization_servers(["https://login.example.com"])?;
    /// let auth = JwtAuthLayer::<MyClaims>::hs256(b"a secret of at least thirty-two bytes!")?
    ///     .resource_metadata(metadata.url())?
    ///     .realm("api")?;
    /// // A request without a token is answered:
    /// // 401, WWW-Authenticate: Bearer realm="api",
    /// //      resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"
    /// # let _ = auth;
    /// // A relative URL is refused.
    /// assert!(JwtAuthLayer::<MyClaims>::hs256(b"a secret of at least thirty-two bytes!")?
    ///     .resource_metadata(metadata.path())
    ///     .is_err());
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] unless `url` is an absolute `https://` URL (`http://` on
    /// loopback) without fragment, made of RFC 3986 characters (so it can be sent in a quoted
    /// string).
    pub fn resource_metadata(mut self, url: &str) -> Result<Self, ConfigError> {
        let challenges = Challenges::new(self.shared.config.challenges.realm(), Some(url))?;
        self.config_mut().challenges = challenges;
        Ok(self)
    }

    /// Replaces the key resolver.
    pub fn with_resolver<K2: KeyResolver>(self, resolver: K2) -> JwtAuthLayer<T, K2, R> {
        let Shared { config, rejection } = Arc::unwrap_or_clone(self.shared);
        JwtAuthLayer {
            shared: Arc::new(Shared {
                config: Config {
                    validation: config.validation,
                    pinned: config.pinned,
                    resolver,
                    source: config.source,
                    optional: config.optional,
                    challenges: config.challenges,
                },
                rejection,
            }),
            _claims: PhantomData,
        }
    }

    /// Builds rejection responses with `rejection` (see
    /// [`RejectionResponse`](crate::RejectionResponse)); status, challenge and error extension
    /// stay the middleware's.
    pub fn with_rejection<R2>(self, rejection: R2) -> JwtAuthLayer<T, K, R2> {
        let Shared { config, .. } = Arc::unwrap_or_clone(self.shared);
        JwtAuthLayer {
            shared: Arc::new(Shared {
                config,
                rejection: Arc::new(rejection),
            }),
            _claims: PhantomData,
        }
    }
}

impl<S, T, K, R> Layer<S> for JwtAuthLayer<T, K, R> {
    type Service = JwtAuth<S, T, K, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::from_parts(inner, Arc::clone(&self.shared))
    }
}
