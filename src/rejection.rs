//! The responses the middleware answers with: RFC 6750 challenges and the pluggable body.

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};

use crate::metadata::{check_url, Query};
use crate::{AuthError, AuthErrorKind, ConfigError};

/// Builds the response for a refused request.
///
/// Whatever it returns, the middleware then sets the status from the error
/// ([`AuthError::status`]; for a gRPC call, 200 and the gRPC status: see
/// [`grpc_rejection_response`](Self::grpc_rejection_response)), sets the RFC 6750
/// `WWW-Authenticate` challenge on 400, 401 and 403 (removing any on 503), and inserts the
/// [`AuthError`] into the response extensions, so a hook changes the body and format, never
/// the meaning.
///
/// Closures `Fn(&AuthError) -> Response<B>` are hooks:
///
/// ```
/// use axum::{body::Body, response::{IntoResponse, Response}, Json};
/// use tower_jwt_auth::{AuthError, JwtAuthLayer};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Claims { sub: String }
///
/// let layer = JwtAuthLayer::<Claims>::hs256(b"a secret of at least thirty-two bytes!")?
///     .with_rejection(|err: &AuthError| -> Response<Body> {
///         Json(serde_json::json!({ "error": err.description() })).into_response()
///     });
/// # let _ = layer;
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
pub trait RejectionResponse<B> {
    /// The response for `error`.
    fn rejection_response(&self, error: &AuthError) -> Response<B>;

    /// The response for `error` to a gRPC call (a `POST` over HTTP/2 whose `content-type` is
    /// `application/grpc` or `application/grpc+...`); by default
    /// [`rejection_response`](Self::rejection_response). Closures answer with their headers and
    /// an empty body.
    ///
    /// The middleware then makes it a gRPC "trailers-only" answer: HTTP 200,
    /// `content-type: application/grpc`, `grpc-status` from [`AuthErrorKind::grpc_status`] and
    /// `grpc-message` with the [`description`](AuthError::description), keeping the
    /// `WWW-Authenticate` challenge and the error extension, and dropping any
    /// `content-length`. The body must be empty (gRPC C-core clients fail on one: "Data frame
    /// with END_STREAM"): a hook type of your own that writes a body returns an empty one here.
    fn grpc_rejection_response(&self, error: &AuthError) -> Response<B> {
        self.rejection_response(error)
    }
}

/// A closure's response; for a gRPC request, its status line and headers with an empty body
/// (`B::default()`).
impl<B: Default, F> RejectionResponse<B> for F
where
    F: Fn(&AuthError) -> Response<B>,
{
    fn rejection_response(&self, error: &AuthError) -> Response<B> {
        self(error)
    }

    fn grpc_rejection_response(&self, error: &AuthError) -> Response<B> {
        let (mut parts, _) = self(error).into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        Response::from_parts(parts, B::default())
    }
}

/// The default rejection: an empty body (`B::default()`), so the middleware's response type is
/// the inner service's.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultRejection;

impl<B: Default> RejectionResponse<B> for DefaultRejection {
    fn rejection_response(&self, _: &AuthError) -> Response<B> {
        Response::new(B::default())
    }
}

/// The gRPC status of a gRPC answer.
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// The gRPC status message, percent-encoded.
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// Precomputed `WWW-Authenticate` values, one per error kind, so a rejection formats nothing.
#[derive(Clone)]
pub(crate) struct Challenges {
    realm: Option<Arc<str>>,
    resource_metadata: Option<Arc<str>>,
    table: Arc<[(AuthErrorKind, HeaderValue)]>,
}

impl fmt::Debug for Challenges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenges")
            .field("realm", &self.realm)
            .field("resource_metadata", &self.resource_metadata)
            .finish()
    }
}

impl Challenges {
    /// The challenges with `realm` and the RFC 9728 `resource_metadata` URL (each checked:
    /// [`check_quoted`], [`check_resource_metadata`]).
    pub(crate) fn new(realm: Option<&str>, resource_metadata: Option<&str>) -> Result<Self, ConfigError> {
        if let Some(realm) = realm {
            check_quoted("realm", realm)?;
        }
        if let Some(url) = resource_metadata {
            check_resource_metadata(url)?;
        }
        let table = AuthErrorKind::ALL
            .iter()
            .filter_map(|kind| Some((*kind, challenge(realm, *kind, None, resource_metadata)?)))
            .collect();
        Ok(Self {
            realm: realm.map(Arc::from),
            resource_metadata: resource_metadata.map(Arc::from),
            table,
        })
    }

    /// Challenges without a realm or resource metadata.
    pub(crate) fn none() -> Self {
        // Nothing to check: always valid.
        Self::new(None, None).unwrap_or_else(|_| Self {
            realm: None,
            resource_metadata: None,
            table: Arc::from([]),
        })
    }

    pub(crate) fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    pub(crate) fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    pub(crate) fn get(&self, kind: AuthErrorKind) -> Option<&HeaderValue> {
        self.table.iter().find(|(k, _)| *k == kind).map(|(_, v)| v)
    }
}

/// Checks a value that goes inside a quoted-string of a challenge.
pub(crate) fn check_quoted(what: &'static str, value: &str) -> Result<(), ConfigError> {
    if value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        Ok(())
    } else {
        Err(ConfigError::InvalidHeaderValue(what))
    }
}

/// Checks the URL of an RFC 9728 `resource_metadata` challenge parameter: an absolute
/// `https://` URL (`http://` on loopback) without fragment, that can go in a quoted-string.
pub(crate) fn check_resource_metadata(url: &str) -> Result<(), ConfigError> {
    check_url(url, Query::Allowed)?;
    check_quoted("resource_metadata", url)
}

/// The RFC 6750 §3 challenge for `kind`, or `None` where none is sent (503), with the RFC 9728
/// §5.1 `resource_metadata` parameter last.
pub(crate) fn challenge(
    realm: Option<&str>,
    kind: AuthErrorKind,
    scope: Option<&str>,
    resource_metadata: Option<&str>,
) -> Option<HeaderValue> {
    if kind.status() == StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let mut params: Vec<String> = Vec::new();
    if let Some(realm) = realm {
        params.push(format!("realm=\"{realm}\""));
    }
    if let Some(code) = kind.error_code() {
        params.push(format!("error=\"{code}\""));
        if kind != AuthErrorKind::InsufficientScope {
            params.push(format!("error_description=\"{}\"", kind.description()));
        }
    }
    if let Some(scope) = scope {
        params.push(format!("scope=\"{scope}\""));
    }
    if let Some(url) = resource_metadata {
        params.push(format!("resource_metadata=\"{url}\""));
    }
    let value = if params.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", params.join(", "))
    };
    HeaderValue::from_str(&value).ok()
}

/// Whether a request is a gRPC call: a `POST` over HTTP/2 (or HTTP/3), as gRPC always is, whose
/// `content-type` is `application/grpc`, `application/grpc+<format>` or
/// `application/grpc;<parameters>` (ASCII case ignored). gRPC-Web (`application/grpc-web...`)
/// is not: its clients read HTTP statuses. A gRPC content type on an HTTP/1.1 request, or on a
/// `GET`, is answered in HTTP (a client cannot turn its own 401 into a 200).
pub(crate) fn is_grpc<B>(request: &Request<B>) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    if request.method() != Method::POST || request.version() < Version::HTTP_2 {
        return false;
    }
    request.headers().get(CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        let rest = value
            .get(..GRPC.len())
            .filter(|p| p.eq_ignore_ascii_case(GRPC))
            .and_then(|_| value.get(GRPC.len()..));
        match rest {
            None => false,
            Some(rest) => match rest.iter().position(|b| !matches!(b, b' ' | b'\t')) {
                // Only blanks (or nothing) after the type.
                None => true,
                Some(at) => match rest.get(at) {
                    Some(b';') => true,
                    Some(b'+') => at == 0,
                    _ => false,
                },
            },
        }
    })
}

/// The `grpc-status` value of a gRPC code.
fn grpc_status_value(code: i32) -> HeaderValue {
    match code {
        3 => HeaderValue::from_static("3"),
        7 => HeaderValue::from_static("7"),
        14 => HeaderValue::from_static("14"),
        16 => HeaderValue::from_static("16"),
        other => HeaderValue::from(other),
    }
}

/// Makes the rejection response for `error` with `hook`, then enforces status, challenge (none
/// for a 503, which says `Retry-After: 1` instead, unless the hook said otherwise) and the error
/// extension. A gRPC `request` gets a gRPC answer: HTTP 200 with `grpc-status` and
/// `grpc-message` (see [`RejectionResponse::grpc_rejection_response`]).
pub(crate) fn respond<B, R: RejectionResponse<B> + ?Sized>(
    hook: &R,
    error: AuthError,
    challenge: Option<&HeaderValue>,
    grpc: bool,
) -> Response<B> {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "tower_jwt_auth::rejection",
        kind = ?error.kind(),
        status = error.status().as_u16(),
        "request refused: {}",
        error.description()
    );
    let mut response = if grpc {
        let mut response = hook.grpc_rejection_response(&error);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.remove(http::header::CONTENT_LENGTH);
        headers.insert(GRPC_STATUS, grpc_status_value(error.kind().grpc_status()));
        // Every description is printable ASCII without `%` (a unit test checks each): its own
        // percent-encoding, as gRPC requires of `grpc-message`.
        headers.insert(GRPC_MESSAGE, HeaderValue::from_static(error.description()));
        response
    } else {
        let mut response = hook.rejection_response(&error);
        *response.status_mut() = error.status();
        response
    };
    match challenge {
        Some(value) => {
            response.headers_mut().insert(WWW_AUTHENTICATE, value.clone());
        }
        None => {
            response.headers_mut().remove(WWW_AUTHENTICATE);
        }
    }
    // A source that cannot answer now (503) may well answer in a second.
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(http::header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static("1"));
    }
    response.extensions_mut().insert(error);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750() {
        let c = Challenges::new(Some("api"), None).unwrap();
        assert_eq!(
            c.get(AuthErrorKind::MissingToken).unwrap(),
            "Bearer realm=\"api\""
        );
        assert_eq!(
            c.get(AuthErrorKind::Expired).unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\""
        );
        assert_eq!(
            c.get(AuthErrorKind::InvalidRequest).unwrap(),
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"malformed authorization request\""
        );
        assert!(c.get(AuthErrorKind::KeyUnavailable).is_none());
        let bare = Challenges::new(None, None).unwrap();
        assert_eq!(bare.get(AuthErrorKind::MissingToken).unwrap(), "Bearer");
        assert_eq!(
            challenge(None, AuthErrorKind::InsufficientScope, Some("a b"), None).unwrap(),
            "Bearer error=\"insufficient_scope\", scope=\"a b\""
        );
    }

    #[test]
    fn every_description_is_its_own_grpc_percent_encoding() {
        // gRPC percent-encodes `grpc-message` outside 0x20..=0x7E and `%`.
        for kind in AuthErrorKind::ALL {
            assert!(
                kind.description()
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'%'),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn grpc_requests_are_told_by_their_method_version_and_content_type() {
        let request = |method: Method, version: Version, value: &'static str| {
            let mut request = Request::new(());
            *request.method_mut() = method;
            *request.version_mut() = version;
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(value));
            request
        };
        let h2 = |value| request(Method::POST, Version::HTTP_2, value);
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "Application/GRPC",
            "application/grpc;charset=utf-8",
            "application/grpc ; x=y",
            "application/grpc\t;x=y",
            "application/grpc ",
        ] {
            assert!(is_grpc(&h2(yes)), "{yes}");
            assert!(is_grpc(&request(Method::POST, Version::HTTP_3, yes)), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpc-web-text+proto",
            "application/grpcx",
            "application/grpc +proto",
            "application/grpc x",
            "application/json",
            "text/plain",
            "application/grp",
            "",
        ] {
            assert!(!is_grpc(&h2(no)), "{no}");
        }
        assert!(!is_grpc(&Request::new(())));
        // A gRPC content type does not make HTTP/1.1, or a GET, a gRPC call.
        assert!(!is_grpc(&request(
            Method::POST,
            Version::HTTP_11,
            "application/grpc"
        )));
        assert!(!is_grpc(&request(
            Method::GET,
            Version::HTTP_2,
            "application/grpc"
        )));
    }

    #[test]
    fn a_grpc_refusal_is_trailers_only() {
        let c = Challenges::none();
        let expired = AuthError::new(AuthErrorKind::Expired);
        let response: Response<()> = respond(&DefaultRejection, expired, c.get(expired.kind()), true);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc");
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(response.headers()["grpc-message"], "token expired");
        assert!(response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        assert_eq!(response.extensions().get::<AuthError>(), Some(&expired));
        let down = AuthError::new(AuthErrorKind::KeyUnavailable);
        let response: Response<()> = respond(&DefaultRejection, down, None, true);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        // Plain HTTP is answered as before.
        let response: Response<()> = respond(&DefaultRejection, expired, c.get(expired.kind()), false);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("grpc-status").is_none());
    }

    #[test]
    fn a_closure_hook_answers_grpc_with_its_headers_and_no_body() {
        let hook = |error: &AuthError| {
            let mut response = Response::new(format!("{{\"error\":\"{}\"}}", error.description()));
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("20"));
            response
                .headers_mut()
                .insert("x-hook", HeaderValue::from_static("yes"));
            response
        };
        let expired = AuthError::new(AuthErrorKind::Expired);
        let grpc: Response<String> = respond(&hook, expired, None, true);
        assert!(grpc.body().is_empty());
        assert!(grpc.headers().get(http::header::CONTENT_LENGTH).is_none());
        assert_eq!(grpc.headers()["x-hook"], "yes");
        assert_eq!(grpc.headers()["grpc-status"], "16");
        let http: Response<String> = respond(&hook, expired, None, false);
        assert_eq!(http.body(), "{\"error\":\"token expired\"}");
    }

    #[test]
    fn realms_that_cannot_be_quoted_are_refused() {
        assert!(Challenges::new(Some("a\"b"), None).is_err());
        assert!(Challenges::new(Some("a\\b"), None).is_err());
        assert!(Challenges::new(Some("a\nb"), None).is_err());
    }

    #[test]
    fn resource_metadata_comes_last_in_every_challenge() {
        const URL: &str = "https://api.example/.well-known/oauth-protected-resource/v1";
        let c = Challenges::new(Some("api"), Some(URL)).unwrap();
        assert_eq!(c.resource_metadata(), Some(URL));
        assert_eq!(
            c.get(AuthErrorKind::MissingToken).unwrap(),
            "Bearer realm=\"api\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
        );
        assert_eq!(
            c.get(AuthErrorKind::Expired).unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\", \
             resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
        );
        assert!(c
            .get(AuthErrorKind::InvalidRequest)
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(
                ", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
            ));
        assert!(c.get(AuthErrorKind::KeyUnavailable).is_none());
        let bare = Challenges::new(None, Some(URL)).unwrap();
        assert_eq!(
            bare.get(AuthErrorKind::MissingToken).unwrap(),
            "Bearer resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
        );
        assert_eq!(
            challenge(None, AuthErrorKind::InsufficientScope, Some("a b"), Some(URL)).unwrap(),
            "Bearer error=\"insufficient_scope\", scope=\"a b\", \
             resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/v1\""
        );
    }

    #[test]
    fn resource_metadata_must_be_an_absolute_https_url() {
        for bad in [
            "/.well-known/oauth-protected-resource",
            "http://api.example/.well-known/oauth-protected-resource",
            "https://api.example/x#y",
            "https://api.example/\"",
            "",
        ] {
            assert!(Challenges::new(None, Some(bad)).is_err(), "{bad}");
        }
        assert!(Challenges::new(
            None,
            Some("http://localhost:3000/.well-known/oauth-protected-resource")
        )
        .is_ok());
    }
}
