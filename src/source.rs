//! Where the middleware looks for the token: [`TokenSource`].

use http::header::{HeaderName, AUTHORIZATION, COOKIE};
use http::HeaderMap;

use crate::word::{bytes_equal, HIGH};
use crate::{AuthErrorKind, ConfigError};

/// Where to find the token in a request.
///
/// The default is `Authorization: Bearer <token>` (RFC 6750 §2.1): the scheme is matched
/// case-insensitively (RFC 9110 §11.1), followed by one or more spaces and the token, and nothing
/// else. A value with another scheme (`Basic ...`) counts as no token. Two `Authorization`
/// headers, or a token found in two configured sources at once, make the request malformed (400).
///
/// # Cookies
///
/// An `HttpOnly` cookie keeps the token out of reach of page scripts, but the browser sends it
/// with every request to the site, including forged cross-site ones: **cookie authentication
/// needs CSRF protection**. Set the cookie `SameSite=Strict` (or `Lax`) and `Secure`, and put a
/// CSRF layer (for example tower-http's `CsrfLayer`) in front of state-changing routes.
///
/// ```
/// use tower_jwt_auth::TokenSource;
///
/// // Bearer header or an `access_token` cookie.
/// let source = TokenSource::bearer().or_cookie("access_token")?;
/// // Only a custom header.
/// let custom = TokenSource::header("x-api-token")?;
/// # let _ = (source, custom);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenSource {
    bearer: bool,
    cookie: Option<Box<str>>,
    header: Option<HeaderName>,
}

impl Default for TokenSource {
    fn default() -> Self {
        Self::bearer()
    }
}

impl TokenSource {
    /// `Authorization: Bearer <token>` (the default).
    #[must_use]
    pub fn bearer() -> Self {
        Self {
            bearer: true,
            cookie: None,
            header: None,
        }
    }

    /// Only the cookie `name`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for an empty name or one with separators.
    pub fn cookie(name: &str) -> Result<Self, ConfigError> {
        Self {
            bearer: false,
            cookie: None,
            header: None,
        }
        .or_cookie(name)
    }

    /// Only the header `name`, whose whole value is the token.
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for an invalid header name.
    pub fn header(name: &str) -> Result<Self, ConfigError> {
        Self {
            bearer: false,
            cookie: None,
            header: None,
        }
        .or_header(name)
    }

    /// Also looks in `Authorization: Bearer`.
    #[must_use]
    pub fn or_bearer(mut self) -> Self {
        self.bearer = true;
        self
    }

    /// Also looks in the cookie `name`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for an empty name or one with separators.
    pub fn or_cookie(mut self, name: &str) -> Result<Self, ConfigError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !valid {
            return Err(ConfigError::InvalidHeaderValue("cookie name"));
        }
        self.cookie = Some(name.into());
        Ok(self)
    }

    /// Also looks in the header `name`, whose whole value is the token.
    ///
    /// # Errors
    /// [`ConfigError::InvalidHeaderValue`] for an invalid header name.
    pub fn or_header(mut self, name: &str) -> Result<Self, ConfigError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::InvalidHeaderValue("header name"))?;
        self.header = Some(name);
        Ok(self)
    }

    /// Finds the token: `Ok(None)` when there is none, `Err(InvalidRequest)` when the request is
    /// malformed, `Err(Malformed)` for a `Bearer` scheme with no token after it.
    pub(crate) fn find<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, AuthErrorKind> {
        let mut found = None;
        if self.bearer {
            found = bearer(headers)?;
        }
        if let Some(name) = &self.cookie {
            if let Some(token) = cookie(headers, name)? {
                if found.replace(token).is_some() {
                    return Err(AuthErrorKind::InvalidRequest);
                }
            }
        }
        if let Some(name) = &self.header {
            if let Some(token) = single_header(headers, name)? {
                if found.replace(token).is_some() {
                    return Err(AuthErrorKind::InvalidRequest);
                }
            }
        }
        Ok(found)
    }
}

fn one_value<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, AuthErrorKind> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthErrorKind::InvalidRequest);
    }
    // Blanks and non-ASCII inside the token are diagnosed only if the token is refused (see
    // `refusal`): a valid token cannot contain them, so the success path does not look for them.
    std::str::from_utf8(value.as_bytes())
        .map(Some)
        .map_err(|_| AuthErrorKind::InvalidRequest)
}

/// The kind of a refusal of `token`: a token holding blanks or non-ASCII characters is a broken
/// request (400 `invalid_request`, "nothing else in the value"), whatever else is wrong with it.
pub(crate) fn refusal(token: &str, kind: AuthErrorKind) -> AuthErrorKind {
    if has_blank_or_non_ascii(token.as_bytes()) {
        AuthErrorKind::InvalidRequest
    } else {
        kind
    }
}

/// Whether `bytes` hold a space, a tab or a byte that is not ASCII. Eight bytes at a time: every
/// refused token is scanned whole, so that a flood of forged tokens costs little more than
/// their HMACs.
fn has_blank_or_non_ascii(bytes: &[u8]) -> bool {
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    for word in words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            return true;
        };
        let x = u64::from_le_bytes(word);
        // A byte above 0x7F has its own high bit set.
        if bytes_equal(x, b' ') | bytes_equal(x, b'\t') | (x & HIGH) != 0 {
            return true;
        }
    }
    rest.iter().any(|&b| b == b' ' || b == b'\t' || !b.is_ascii())
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthErrorKind> {
    let Some(value) = one_value(headers, &AUTHORIZATION)? else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, Digest...): no bearer token in this request.
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    // `Bearer` with nothing (or only blanks) after it: a token that is there but empty is an
    // invalid token (401, as Spring Security, ASP.NET Core and express-oauth2-jwt-bearer
    // answer), so that clients refresh or sign in again rather than treat it as their bug.
    if token.bytes().all(|b| b == b' ' || b == b'\t') {
        return Err(AuthErrorKind::Malformed);
    }
    Ok(Some(token))
}

fn single_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, AuthErrorKind> {
    match one_value(headers, name)? {
        Some("") => Err(AuthErrorKind::InvalidRequest),
        other => Ok(other),
    }
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthErrorKind> {
    let mut found = None;
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for pair in value.split(';') {
            let Some((k, v)) = pair.trim_matches(' ').split_once('=') else {
                continue;
            };
            if k == name {
                if found.is_some() {
                    return Err(AuthErrorKind::InvalidRequest);
                }
                found = Some(v);
            }
        }
    }
    match found {
        Some("") => Ok(None),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_allows_several_spaces() {
        let s = TokenSource::bearer();
        for v in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer    abc"] {
            let h = headers(&[("authorization", v)]);
            assert_eq!(s.find(&h), Ok(Some("abc")), "{v}");
        }
    }

    #[test]
    fn an_empty_bearer_token_is_malformed_and_blanks_an_invalid_request() {
        let s = TokenSource::bearer();
        for v in ["Bearer", "Bearer ", "Bearer  \t"] {
            let h = headers(&[("authorization", v)]);
            assert_eq!(s.find(&h), Err(AuthErrorKind::Malformed), "{v}");
        }
        // Blanks after the token are found when the token is refused.
        for v in ["Bearer a b", "Bearer a ", "Bearer a\tb"] {
            let h = headers(&[("authorization", v)]);
            let token = s.find(&h).unwrap().unwrap();
            assert_eq!(
                refusal(token, AuthErrorKind::Malformed),
                AuthErrorKind::InvalidRequest,
                "{v}"
            );
        }
        assert_eq!(
            refusal("a.b.c", AuthErrorKind::Malformed),
            AuthErrorKind::Malformed
        );
        assert_eq!(
            refusal("a.b.é", AuthErrorKind::TooLarge),
            AuthErrorKind::InvalidRequest
        );
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert_eq!(s.find(&two), Err(AuthErrorKind::InvalidRequest));
    }

    #[test]
    fn the_blank_scan_agrees_with_a_byte_by_byte_one() {
        let simple = |bytes: &[u8]| bytes.iter().any(|&b| b == b' ' || b == b'\t' || !b.is_ascii());
        for len in 0..40 {
            let base: Vec<u8> = (0..len).map(|i| b"eyJhbGciOiJIUzI1NiJ9.-_"[i % 23]).collect();
            assert!(!has_blank_or_non_ascii(&base), "{len}");
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut token = base.clone();
                    if let Some(b) = token.get_mut(at) {
                        *b = byte;
                    }
                    assert_eq!(
                        has_blank_or_non_ascii(&token),
                        simple(&token),
                        "length {len}, byte {byte:#04x} at {at}"
                    );
                }
            }
        }
        // Several special bytes in one word; a space or a tab below bytes one away from it
        // (0x21, 0x08: their XOR is 0x01, which the borrow from the match runs through); and
        // near misses with no match, where no borrow may flag anything.
        for (token, expected) in [
            (&b"  \t\t\x80abc"[..], true),
            (b" !!!!!!!", true),
            (b"\t\x08\x08\x08\x08\x08\x08\x08", true),
            (b"!!!!!!!!", false),
            (b"\x08\x08\x08\x08\x08\x08\x08\x08", false),
            (b"\x1f\x21\x08\x0a\x7f\x00\x1e\x01", false),
            (b"\x1f\x21\x08\x0a\x7f\x00\x1e\x01\xff", true),
        ] {
            assert_eq!(has_blank_or_non_ascii(token), expected, "{token:?}");
            assert_eq!(simple(token), expected, "{token:?}");
        }
    }

    #[test]
    fn other_schemes_and_no_header_mean_no_token() {
        let s = TokenSource::bearer();
        assert_eq!(s.find(&headers(&[])), Ok(None));
        assert_eq!(
            s.find(&headers(&[("authorization", "Basic YWxhZGRpbjpvcGVu")])),
            Ok(None)
        );
    }

    #[test]
    fn a_token_in_two_sources_is_an_invalid_request() {
        let s = TokenSource::bearer().or_cookie("at").unwrap();
        let h = headers(&[("authorization", "Bearer a"), ("cookie", "x=1; at=b")]);
        assert_eq!(s.find(&h), Err(AuthErrorKind::InvalidRequest));
        let only_cookie = headers(&[("cookie", "x=1; at=b")]);
        assert_eq!(s.find(&only_cookie), Ok(Some("b")));
        let twice = headers(&[("cookie", "at=a"), ("cookie", "at=b")]);
        assert_eq!(s.find(&twice), Err(AuthErrorKind::InvalidRequest));
    }

    #[test]
    fn a_custom_header_carries_the_bare_token() {
        let s = TokenSource::header("x-token").unwrap();
        assert_eq!(s.find(&headers(&[("x-token", "abc")])), Ok(Some("abc")));
        assert_eq!(s.find(&headers(&[("authorization", "Bearer abc")])), Ok(None));
        assert!(TokenSource::header("bad header").is_err());
        assert!(TokenSource::cookie("a;b").is_err());
    }
}
