//! The responses the middleware answers with: RFC 6750 challenges and the pluggable body.

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::{AuthError, AuthErrorKind, ConfigError};

/// Builds the response for a refused request.
///
/// Whatever it returns, the middleware then sets the status from the error
/// ([`AuthError::status`]), sets the RFC 6750 `WWW-Authenticate` challenge on 400, 401 and 403
/// (removing any on 503), and inserts the [`AuthError`] into the response extensions, so a hook
/// changes the body and format, never the meaning.
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

    /// The response for `error` to a gRPC request (`content-type: application/grpc` or
    /// `application/grpc+...`); by default [`rejection_response`](Self::rejection_response).
    ///
    /// The middleware then makes it a gRPC "trailers-only" answer: HTTP 200,
    /// `content-type: application/grpc`, `grpc-status` from [`AuthErrorKind::grpc_status`] and
    /// `grpc-message` with the [`description`](AuthError::description), keeping the
    /// `WWW-Authenticate` challenge and the error extension. A gRPC client reads the status
    /// from those headers alone, so the body should be empty: a hook that writes a body (JSON,
    /// say) returns an empty one here.
    fn grpc_rejection_response(&self, error: &AuthError) -> Response<B> {
        self.rejection_response(error)
    }
}

impl<B, F> RejectionResponse<B> for F
where
    F: Fn(&AuthError) -> Response<B>,
{
    fn rejection_response(&self, error: &AuthError) -> Response<B> {
        self(error)
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
    table: Arc<[(AuthErrorKind, HeaderValue)]>,
}

impl fmt::Debug for Challenges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenges").field("realm", &self.realm).finish()
    }
}

impl Challenges {
    pub(crate) fn new(realm: Option<&str>) -> Result<Self, ConfigError> {
        if let Some(realm) = realm {
            check_quoted("realm", realm)?;
        }
        let table = AuthErrorKind::ALL
            .iter()
            .filter_map(|kind| Some((*kind, challenge(realm, *kind, None)?)))
            .collect();
        Ok(Self {
            realm: realm.map(Arc::from),
            table,
        })
    }

    /// Challenges without a realm.
    pub(crate) fn none() -> Self {
        // A missing realm is always valid.
        Self::new(None).unwrap_or_else(|_| Self {
            realm: None,
            table: Arc::from([]),
        })
    }

    pub(crate) fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
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

/// The RFC 6750 §3 challenge for `kind`, or `None` where none is sent (503).
pub(crate) fn challenge(
    realm: Option<&str>,
    kind: AuthErrorKind,
    scope: Option<&str>,
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
    let value = if params.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", params.join(", "))
    };
    HeaderValue::from_str(&value).ok()
}

/// Whether a request is a gRPC call: `content-type` is `application/grpc`, or
/// `application/grpc+<format>` or `application/grpc;<parameters>` (ASCII case ignored). gRPC-Web
/// (`application/grpc-web...`) is not: its clients read HTTP statuses.
pub(crate) fn is_grpc(request: &HeaderMap) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    request.get(CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        value
            .get(..GRPC.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(GRPC))
            && matches!(value.get(GRPC.len()), None | Some(b'+' | b';'))
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
    request: &HeaderMap,
) -> Response<B> {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "tower_jwt_auth::rejection",
        kind = ?error.kind(),
        status = error.status().as_u16(),
        "request refused: {}",
        error.description()
    );
    let grpc = is_grpc(request);
    let mut response = if grpc {
        let mut response = hook.grpc_rejection_response(&error);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
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
        let c = Challenges::new(Some("api")).unwrap();
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
        let bare = Challenges::new(None).unwrap();
        assert_eq!(bare.get(AuthErrorKind::MissingToken).unwrap(), "Bearer");
        assert_eq!(
            challenge(None, AuthErrorKind::InsufficientScope, Some("a b")).unwrap(),
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
    fn grpc_requests_are_told_by_their_content_type() {
        let headers = |value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            h
        };
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "Application/GRPC",
            "application/grpc;charset=utf-8",
        ] {
            assert!(is_grpc(&headers(yes)), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpc-web-text+proto",
            "application/grpcx",
            "application/json",
            "text/plain",
            "application/grp",
        ] {
            assert!(!is_grpc(&headers(no)), "{no}");
        }
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn a_grpc_refusal_is_trailers_only() {
        let mut request = HeaderMap::new();
        request.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc+proto"));
        let c = Challenges::none();
        let expired = AuthError::new(AuthErrorKind::Expired);
        let response: Response<()> = respond(&DefaultRejection, expired, c.get(expired.kind()), &request);
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
        let response: Response<()> = respond(&DefaultRejection, down, None, &request);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        // Plain HTTP is answered as before.
        let response: Response<()> = respond(
            &DefaultRejection,
            expired,
            c.get(expired.kind()),
            &HeaderMap::new(),
        );
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("grpc-status").is_none());
    }

    #[test]
    fn realms_that_cannot_be_quoted_are_refused() {
        assert!(Challenges::new(Some("a\"b")).is_err());
        assert!(Challenges::new(Some("a\\b")).is_err());
        assert!(Challenges::new(Some("a\nb")).is_err());
    }
}
