//! OAuth 2.0 Protected Resource Metadata (RFC 9728): [`ProtectedResourceMetadata`], the
//! document that tells a client which authorization servers issue tokens for this API.

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde::Serialize;
use tower_service::Service;

use crate::{Algorithm, ConfigError};

/// The well-known URI suffix of RFC 9728 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The `Cache-Control` of a document whose `max_age` is not set: one hour.
const DEFAULT_MAX_AGE: u32 = 3600;

/// How a client may send an access token (RFC 6750 §2), for the `bearer_methods_supported`
/// member of a [`ProtectedResourceMetadata`] document.
///
/// [`JwtAuthLayer`](crate::JwtAuthLayer) reads the `Authorization` header
/// ([`TokenSource::bearer`](crate::TokenSource::bearer)); advertise [`Body`](Self::Body) or
/// [`Query`](Self::Query) only if the resource reads tokens there itself.
///
/// ```
/// use tower_jwt_auth::BearerMethod;
///
/// assert_eq!(BearerMethod::Header.as_str(), "header");
/// assert_eq!(BearerMethod::Body.as_str(), "body");
/// assert_eq!(BearerMethod::Query.as_str(), "query");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerMethod {
    /// The `Authorization: Bearer ...` request header (RFC 6750 §2.1).
    Header,
    /// A form-encoded body parameter `access_token` (RFC 6750 §2.2).
    Body,
    /// A URI query parameter `access_token` (RFC 6750 §2.3).
    Query,
}

impl BearerMethod {
    /// The value RFC 9728 §2 uses for it: `header`, `body` or `query`.
    ///
    /// ```
    /// assert_eq!(tower_jwt_auth::BearerMethod::Header.as_str(), "header");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Body => "body",
            Self::Query => "query",
        }
    }
}

/// The members of the document (RFC 9728 §2), in the order they are written.
#[derive(Clone, Debug, Serialize)]
struct Document {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    // Never omitted: an empty array says "no bearer methods" (RFC 9728 §2), which is not what
    // an absent member means.
    bearer_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
}

/// What the service answers with, rebuilt by every builder method.
#[derive(Clone, Debug)]
struct Inner {
    document: Document,
    body: Arc<str>,
    content_length: HeaderValue,
    cache_control: HeaderValue,
    path: Box<str>,
    url: Box<str>,
}

/// The OAuth 2.0 Protected Resource Metadata of an API (RFC 9728), and a service answering
/// with it: `GET` and `HEAD` get `200` with `Content-Type: application/json` and
/// `Cache-Control: public, max-age=...`, other methods `405` with `Allow: GET, HEAD`.
///
/// A client refused with 401 reads the `resource_metadata` URL of the challenge (set it with
/// [`JwtAuthLayer::resource_metadata`](crate::JwtAuthLayer::resource_metadata) and
/// [`url`](Self::url)), fetches this document and learns there which authorization servers
/// issue tokens for the resource, and with which scopes.
///
/// The document lives at the resource identifier with `/.well-known/oauth-protected-resource`
/// inserted between the host and the path (RFC 9728 §3.1; a trailing `/` of the path is
/// dropped first): route the service at [`path`](Self::path).
///
/// ```
/// use axum::{routing::get, Router};
/// use tower_jwt_auth::{JwtAuthLayer, ProtectedResourceMetadata};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String }
///
/// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com/v1")?
///     .authorization_servers(["https://login.example.com"])?
///     .scopes_supported(["orders:read", "orders:write"])?;
/// assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource/v1");
///
/// let auth = JwtAuthLayer::<MyClaims>::hs256(b"a secret of at least thirty-two bytes!")?
///     .resource_metadata(metadata.url())?;
/// let app: Router = Router::new()
///     .route("/v1/orders", get(|| async { "orders" }))
///     .route_layer(auth)
///     // Outside the authentication: the document is public.
///     .route_service(metadata.path(), metadata.clone());
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
///
/// Browser clients on other origins also need CORS on that route (tower-http's `CorsLayer`).
///
/// The response body is a `String` by default; `ResBody` may be any type built from one, such
/// as `axum::body::Body`.
#[must_use]
pub struct ProtectedResourceMetadata<ResBody = String> {
    inner: Arc<Inner>,
    _body: PhantomData<fn() -> ResBody>,
}

impl<ResBody> Clone for ProtectedResourceMetadata<ResBody> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _body: PhantomData,
        }
    }
}

impl<ResBody> fmt::Debug for ProtectedResourceMetadata<ResBody> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResourceMetadata")
            .field("url", &self.inner.url)
            .field("document", &self.inner.body)
            .field("cache_control", &self.inner.cache_control)
            .finish()
    }
}

impl<ResBody> ProtectedResourceMetadata<ResBody> {
    /// The metadata of the protected resource `resource`: its resource identifier, written
    /// byte for byte as the document's `resource` member (RFC 9728 §3.3 has clients compare
    /// it with the URL they called, so give the URL they call). `bearer_methods_supported` is
    /// `["header"]` until [`bearer_methods_supported`](Self::bearer_methods_supported) says
    /// otherwise.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?;
    /// assert_eq!(metadata.url(), "https://api.example.com/.well-known/oauth-protected-resource");
    /// assert_eq!(
    ///     metadata.document(),
    ///     r#"{"resource":"https://api.example.com","bearer_methods_supported":["header"]}"#
    /// );
    /// // Plain HTTP on loopback only; no query, no fragment.
    /// assert!(ProtectedResourceMetadata::<String>::new("http://api.example.com").is_err());
    /// assert!(ProtectedResourceMetadata::<String>::new("http://127.0.0.1:8080/api").is_ok());
    /// assert!(ProtectedResourceMetadata::<String>::new("https://api.example.com/?v=1").is_err());
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] unless `resource` is an absolute `https://` URL (`http://`
    /// on loopback: `localhost`, `127.0.0.0/8`, `[::1]`) without user information, query or
    /// fragment, made of the characters of RFC 3986 only (non-ASCII percent-encoded).
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        let url = check_url(resource, Query::Refused)?;
        let path = url.path.strip_suffix('/').unwrap_or(url.path);
        let path = format!("{WELL_KNOWN}{path}");
        let full = format!("{}{path}", url.origin);
        let document = Document {
            resource: resource.to_owned(),
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec![BearerMethod::Header.as_str()],
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
        };
        let mut inner = Inner {
            body: Arc::from(""),
            content_length: HeaderValue::from(0u32),
            cache_control: cache_control(DEFAULT_MAX_AGE),
            document,
            path: path.into(),
            url: full.into(),
        };
        inner.render();
        Ok(Self {
            inner: Arc::new(inner),
            _body: PhantomData,
        })
    }

    /// Changes the document and serializes it again.
    fn edit(mut self, edit: impl FnOnce(&mut Document)) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        edit(&mut inner.document);
        inner.render();
        self
    }

    /// Adds the issuer identifiers of the authorization servers whose tokens the resource
    /// accepts (`authorization_servers`, RFC 8414 issuers), after those added before.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .authorization_servers(["https://login.example.com", "https://login.example.com/tenant-2"])?;
    /// assert!(metadata.document().contains(
    ///     r#""authorization_servers":["https://login.example.com","https://login.example.com/tenant-2"]"#
    /// ));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for an issuer that is not an `https://` URL (`http://` on
    /// loopback) without query or fragment, as RFC 8414 §2 requires of issuers.
    pub fn authorization_servers<I>(self, issuers: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut checked = Vec::new();
        for issuer in issuers {
            let issuer = issuer.as_ref();
            check_url(issuer, Query::Refused)?;
            checked.push(issuer.to_owned());
        }
        Ok(self.edit(|d| push_new(&mut d.authorization_servers, checked)))
    }

    /// The URL of the resource's own JWK Set (`jwks_uri`), the keys it signs responses with.
    /// Not the authorization server's keys: clients find those through its issuer.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .jwks_uri("https://api.example.com/.well-known/jwks.json")?;
    /// assert!(metadata.document().contains(r#""jwks_uri":"https://api.example.com/.well-known/jwks.json""#));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a URL that is not `https://` (`http://` on loopback) or
    /// has a fragment.
    pub fn jwks_uri(self, url: &str) -> Result<Self, ConfigError> {
        check_url(url, Query::Allowed)?;
        Ok(self.edit(|d| d.jwks_uri = Some(url.to_owned())))
    }

    /// Adds scopes clients may ask for to call the resource (`scopes_supported`), after those
    /// added before.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .scopes_supported(["orders:read", "orders:write"])?;
    /// assert!(metadata.document().contains(r#""scopes_supported":["orders:read","orders:write"]"#));
    /// assert!(ProtectedResourceMetadata::<String>::new("https://api.example.com")?
    ///     .scopes_supported(["two words"])
    ///     .is_err());
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for an empty scope or one outside RFC 6749 §3.3
    /// (printable ASCII except space, `"` and `\`).
    pub fn scopes_supported<I>(self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        for scope in &scopes {
            let token = |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
            if scope.is_empty() || !scope.bytes().all(token) {
                return Err(ConfigError::InvalidHeaderValue("scope"));
            }
        }
        Ok(self.edit(|d| push_new(&mut d.scopes_supported, scopes)))
    }

    /// How clients may send tokens (`bearer_methods_supported`), replacing the default
    /// `["header"]`. An empty list is written `[]`: no bearer token is accepted (RFC 9728 §2).
    ///
    /// ```
    /// use tower_jwt_auth::{BearerMethod, ProtectedResourceMetadata};
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .bearer_methods_supported([BearerMethod::Header, BearerMethod::Query]);
    /// assert!(metadata.document().contains(r#""bearer_methods_supported":["header","query"]"#));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn bearer_methods_supported(self, methods: impl IntoIterator<Item = BearerMethod>) -> Self {
        let mut names = Vec::new();
        push_new(&mut names, methods.into_iter().map(BearerMethod::as_str));
        self.edit(|d| d.bearer_methods_supported = names)
    }

    /// The algorithms the resource signs its responses with
    /// (`resource_signing_alg_values_supported`), replacing those set before. `none` has no
    /// [`Algorithm`], so it can never be listed (RFC 9728 §2 forbids it).
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, ProtectedResourceMetadata};
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .resource_signing_alg_values_supported([Algorithm::ES256, Algorithm::EdDSA]);
    /// assert!(metadata.document().contains(r#""resource_signing_alg_values_supported":["ES256","EdDSA"]"#));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn resource_signing_alg_values_supported(
        self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        let mut names = Vec::new();
        push_new(&mut names, algorithms.into_iter().map(Algorithm::as_str));
        self.edit(|d| d.resource_signing_alg_values_supported = names)
    }

    /// A human-readable name of the resource, for end users (`resource_name`).
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .resource_name("Orders API");
    /// assert!(metadata.document().contains(r#""resource_name":"Orders API""#));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn resource_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|d| d.resource_name = Some(name))
    }

    /// The URL of the resource's documentation for developers (`resource_documentation`).
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .resource_documentation("https://docs.example.com/orders")?;
    /// assert!(metadata.document().contains(r#""resource_documentation":"https://docs.example.com/orders""#));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] for a URL that is not `https://` (`http://` on loopback) or
    /// has a fragment.
    pub fn resource_documentation(self, url: &str) -> Result<Self, ConfigError> {
        check_url(url, Query::Allowed)?;
        Ok(self.edit(|d| d.resource_documentation = Some(url.to_owned())))
    }

    /// How long clients and caches may keep the document: `Cache-Control: public,
    /// max-age=<secs>`. Default: 3600.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?
    ///     .max_age(300);
    /// assert!(format!("{metadata:?}").contains("max-age=300"));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn max_age(mut self, secs: u32) -> Self {
        Arc::make_mut(&mut self.inner).cache_control = cache_control(secs);
        self
    }

    /// The JSON document served.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com")?;
    /// let json: serde_json::Value = serde_json::from_str(metadata.document()).unwrap();
    /// assert_eq!(json["resource"], "https://api.example.com");
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn document(&self) -> &str {
        &self.inner.body
    }

    /// The resource identifier given to [`new`](Self::new), byte for byte.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://API.example.com/v1/")?;
    /// assert_eq!(metadata.resource(), "https://API.example.com/v1/");
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.inner.document.resource
    }

    /// The path to route the service at: `/.well-known/oauth-protected-resource` followed by
    /// the path of the resource identifier, without its trailing `/`.
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let path = |resource| ProtectedResourceMetadata::<String>::new(resource).map(|m| m.path().to_owned());
    /// assert_eq!(path("https://api.example.com")?, "/.well-known/oauth-protected-resource");
    /// assert_eq!(path("https://api.example.com/")?, "/.well-known/oauth-protected-resource");
    /// assert_eq!(path("https://api.example.com/v1/")?, "/.well-known/oauth-protected-resource/v1");
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The full URL of the document (RFC 9728 §3.1), for the `resource_metadata` parameter of
    /// the challenges ([`JwtAuthLayer::resource_metadata`](crate::JwtAuthLayer::resource_metadata),
    /// [`RequireClaimsLayer::resource_metadata`](crate::RequireClaimsLayer::resource_metadata)).
    ///
    /// ```
    /// use tower_jwt_auth::ProtectedResourceMetadata;
    ///
    /// let metadata: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://api.example.com:8443/v1")?;
    /// assert_eq!(metadata.url(), "https://api.example.com:8443/.well-known/oauth-protected-resource/v1");
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn url(&self) -> &str {
        &self.inner.url
    }
}

impl Inner {
    /// Serializes the document again, with its `Content-Length`.
    fn render(&mut self) {
        // Strings and lists of strings only: serde_json cannot fail on them.
        let body = serde_json::to_string(&self.document).unwrap_or_default();
        self.content_length = HeaderValue::from(body.len());
        self.body = Arc::from(body);
    }
}

/// `public, max-age=<secs>`.
fn cache_control(secs: u32) -> HeaderValue {
    // Digits and ASCII: always a valid header value.
    HeaderValue::try_from(format!("public, max-age={secs}"))
        .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=3600"))
}

/// Appends the items of `new` that `list` does not hold yet, in order.
fn push_new<T: PartialEq>(list: &mut Vec<T>, new: impl IntoIterator<Item = T>) {
    for item in new {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

impl<B, ResBody: From<String>> Service<Request<B>> for ProtectedResourceMetadata<ResBody> {
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<ResBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        let response = if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::HEAD {
                String::new()
            } else {
                String::from(&*self.inner.body)
            };
            let mut response = Response::new(ResBody::from(body));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, self.inner.cache_control.clone());
            // On HEAD too: the length the GET body would have (RFC 9110 §9.3.2).
            headers.insert(CONTENT_LENGTH, self.inner.content_length.clone());
            response
        } else {
            let mut response = Response::new(ResBody::from(String::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        ready(Ok(response))
    }
}

/// Whether a URL may have a query.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Query {
    /// A resource identifier or issuer: no query.
    Refused,
    /// Any other URL.
    Allowed,
}

/// An absolute URL split by [`check_url`].
#[derive(Debug)]
pub(crate) struct Url<'a> {
    /// `scheme://authority`, as written.
    pub(crate) origin: &'a str,
    /// The path, as written (empty or starting with `/`).
    pub(crate) path: &'a str,
}

/// An absolute `https://` URL, or `http://` on loopback (`localhost`, `127.0.0.0/8`, `[::1]`),
/// without user information or fragment (nor query, if `query` is [`Query::Refused`]), made of
/// RFC 3986 characters with well-formed percent-encodings.
///
/// [`ConfigError::InvalidUrl`] otherwise.
pub(crate) fn check_url(url: &str, query: Query) -> Result<Url<'_>, ConfigError> {
    let bytes = url.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(b);
        if !allowed {
            return Err(ConfigError::InvalidUrl(
                "has characters a URL cannot hold (percent-encode them)",
            ));
        }
        if *b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        {
            return Err(ConfigError::InvalidUrl("has a malformed percent-encoding"));
        }
    }
    if url.contains('#') {
        return Err(ConfigError::InvalidUrl("must not have a fragment"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(ConfigError::InvalidUrl("must be an absolute URL"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    let (path, has_query) = match path_and_query.split_once('?') {
        Some((path, _)) => (path, true),
        None => (path_and_query, false),
    };
    if has_query && query == Query::Refused {
        return Err(ConfigError::InvalidUrl("must not have a query"));
    }
    if authority.contains('@') {
        return Err(ConfigError::InvalidUrl("must not have user information"));
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or(ConfigError::InvalidUrl("cannot be parsed"))?;
        let (host, port) = authority.split_at(close + 1);
        (host, port)
    } else {
        match authority.find(':') {
            Some(colon) => authority.split_at(colon),
            None => (authority, ""),
        }
    };
    if host.is_empty() {
        return Err(ConfigError::InvalidUrl("must have a host"));
    }
    if !port.is_empty()
        && !port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ConfigError::InvalidUrl("has an invalid port"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let secure = scheme.eq_ignore_ascii_case("https") || (scheme.eq_ignore_ascii_case("http") && loopback);
    if !secure {
        return Err(ConfigError::InvalidUrl(
            "must be HTTPS (plain HTTP only on loopback)",
        ));
    }
    // What the checks above let through, http's parser must accept too.
    url.parse::<http::Uri>()
        .map_err(|_| ConfigError::InvalidUrl("cannot be parsed"))?;
    let origin = url
        .get(..scheme.len() + 3 + authority.len())
        .ok_or(ConfigError::InvalidUrl("cannot be parsed"))?;
    Ok(Url { origin, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, query: Query) -> &'static str {
        match check_url(url, query) {
            Err(ConfigError::InvalidUrl(why)) => why,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn urls_are_split_as_written() {
        let url = check_url("https://API.example.com:8443/a/b%2F/", Query::Refused).unwrap();
        assert_eq!(url.origin, "https://API.example.com:8443");
        assert_eq!(url.path, "/a/b%2F/");
        let url = check_url("http://[::1]:3000", Query::Refused).unwrap();
        assert_eq!((url.origin, url.path), ("http://[::1]:3000", ""));
        let url = check_url("https://example.com/keys?v=2", Query::Allowed).unwrap();
        assert_eq!((url.origin, url.path), ("https://example.com", "/keys"));
        for ok in [
            "http://localhost/x",
            "http://LOCALHOST:1",
            "http://127.0.0.1",
            "http://127.1.2.3:80/",
        ] {
            assert!(check_url(ok, Query::Refused).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let https = "must be HTTPS (plain HTTP only on loopback)";
        assert_eq!(refused("http://api.example.com", Query::Refused), https);
        assert_eq!(refused("http://localhost.example.com", Query::Refused), https);
        assert_eq!(refused("http://[::2]", Query::Refused), https);
        assert_eq!(refused("ftp://example.com", Query::Refused), https);
        assert_eq!(refused("/v1", Query::Refused), "must be an absolute URL");
        assert_eq!(
            refused("api.example.com/v1", Query::Refused),
            "must be an absolute URL"
        );
        assert_eq!(
            refused("https://a.example/#x", Query::Allowed),
            "must not have a fragment"
        );
        assert_eq!(
            refused("https://a.example/?x", Query::Refused),
            "must not have a query"
        );
        assert_eq!(
            refused("https://u@a.example/", Query::Refused),
            "must not have user information"
        );
        assert_eq!(refused("https:///v1", Query::Refused), "must have a host");
        assert_eq!(
            refused("https://a.example:x/", Query::Refused),
            "has an invalid port"
        );
        assert_eq!(
            refused("https://a.example:/", Query::Refused),
            "has an invalid port"
        );
        assert_eq!(
            refused("https://a.example/%zz", Query::Refused),
            "has a malformed percent-encoding"
        );
        assert_eq!(
            refused("https://a.example/%2", Query::Refused),
            "has a malformed percent-encoding"
        );
        for bad in [
            "https://a.example/\"",
            "https://a.example/\\",
            "https://a.example/ x",
            "https://a.example/é",
        ] {
            assert_eq!(
                refused(bad, Query::Refused),
                "has characters a URL cannot hold (percent-encode them)",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_document_is_rebuilt_by_every_setter() {
        let m: ProtectedResourceMetadata = ProtectedResourceMetadata::new("https://a.example").unwrap();
        let before = m.clone();
        let m = m.resource_name("A").max_age(5);
        assert!(!before.document().contains("resource_name"));
        assert!(format!("{before:?}").contains("max-age=3600"));
        assert!(m.document().contains("\"resource_name\":\"A\""));
        assert_eq!(m.inner.content_length, m.document().len().to_string().as_str());
        let m = m
            .authorization_servers(["https://as.example"])
            .unwrap()
            .authorization_servers(["https://as.example", "https://as2.example"])
            .unwrap();
        assert!(m
            .document()
            .contains(r#""authorization_servers":["https://as.example","https://as2.example"]"#));
        let m = m.bearer_methods_supported([]);
        assert!(m.document().contains(r#""bearer_methods_supported":[]"#));
    }
}
