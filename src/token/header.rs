//! The JOSE header (RFC 7515 §4): read once, borrowed from the decoded bytes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::json::{SeenKeys, Text};
use crate::AuthErrorKind;

/// The header members this crate acts on. `jku`, `x5u`, `jwk` and `x5c` are read past and never
/// used to find a key.
#[derive(Debug)]
pub(crate) struct Header<'h> {
    pub(crate) alg: Cow<'h, str>,
    pub(crate) kid: Option<Cow<'h, str>>,
    pub(crate) typ: Option<Cow<'h, str>>,
    /// `crit` present, or `b64` other than `true` (RFC 7515 §4.1.11, RFC 7797).
    pub(crate) critical: bool,
}

/// The encoded headers most tokens carry, with what parsing them yields; a token whose header
/// segment is one of these skips decoding and JSON parsing (the result is identical, as a test
/// checks for every entry).
const COMMON: &[(&str, crate::Algorithm, bool)] = &[
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        crate::Algorithm::HS256,
        true,
    ), // {"alg":"HS256","typ":"JWT"}
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        crate::Algorithm::HS256,
        true,
    ), // {"typ":"JWT","alg":"HS256"}
    ("eyJhbGciOiJIUzI1NiJ9", crate::Algorithm::HS256, false), // {"alg":"HS256"}
    (
        "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9",
        crate::Algorithm::HS384,
        true,
    ), // {"alg":"HS384","typ":"JWT"}
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzM4NCJ9",
        crate::Algorithm::HS384,
        true,
    ), // {"typ":"JWT","alg":"HS384"}
    ("eyJhbGciOiJIUzM4NCJ9", crate::Algorithm::HS384, false), // {"alg":"HS384"}
    (
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9",
        crate::Algorithm::HS512,
        true,
    ), // {"alg":"HS512","typ":"JWT"}
    (
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9",
        crate::Algorithm::HS512,
        true,
    ), // {"typ":"JWT","alg":"HS512"}
    ("eyJhbGciOiJIUzUxMiJ9", crate::Algorithm::HS512, false), // {"alg":"HS512"}
];

// Every common header names an HMAC algorithm, which every build supports: `common`
// hands its algorithm over without `check_jws`'s `is_supported` test, so an entry for a
// public-key algorithm (unsupported without `aws-lc`) fails the build instead.
const _: () = {
    let mut rest = COMMON;
    while let [(_, alg, _), tail @ ..] = rest {
        assert!(alg.is_hmac(), "a common header must name an HMAC algorithm");
        rest = tail;
    }
};

/// The algorithm and `typ` of a common encoded header, if `encoded` is one: what
/// [`Header::check_jws`] and [`Header::token_type`] find in its parse (a common header is never
/// critical, has no `kid` and names an HMAC algorithm, which every build supports: checked when
/// the crate is built, and a unit test compares each with its parse). Nothing is decoded or
/// built for it.
#[inline]
pub(crate) fn common(encoded: &str) -> Option<(crate::Algorithm, TokenType)> {
    COMMON
        .iter()
        .find(|(e, _, _)| *e == encoded)
        .map(|&(_, alg, typ)| {
            let typ = if typ { TokenType::Jwt } else { TokenType::Absent };
            (alg, typ)
        })
}

impl<'h> Header<'h> {
    /// Parses a header: UTF-8 (including members we skip), a JSON object with a string `alg`, no
    /// duplicate members, nothing after it.
    pub(crate) fn parse(bytes: &'h [u8]) -> Result<Self, AuthErrorKind> {
        let json = std::str::from_utf8(bytes).map_err(|_| AuthErrorKind::Malformed)?;
        let mut de = serde_json::Deserializer::from_str(json);
        let header = HeaderSeed
            .deserialize(&mut de)
            .map_err(|_| AuthErrorKind::Malformed)?;
        de.end().map_err(|_| AuthErrorKind::Malformed)?;
        Ok(header)
    }

    /// Detaches the header from the bytes it was read from.
    pub(crate) fn into_owned(self) -> Header<'static> {
        Header {
            alg: Cow::Owned(self.alg.into_owned()),
            kid: self.kid.map(|k| Cow::Owned(k.into_owned())),
            typ: self.typ.map(|t| Cow::Owned(t.into_owned())),
            critical: self.critical,
        }
    }

    /// Applies the header rules of the JWS layer: no critical extensions, a known algorithm.
    pub(crate) fn check_jws(&self) -> Result<crate::Algorithm, AuthErrorKind> {
        if self.critical {
            return Err(AuthErrorKind::CriticalHeader);
        }
        crate::Algorithm::from_name(&self.alg).ok_or(AuthErrorKind::UnsupportedAlgorithm)
    }
}

/// What a `typ` value says, for the rules that care (RFC 9068 requires `at+jwt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenType {
    /// No `typ`.
    Absent,
    /// `JWT` or `application/jwt`.
    Jwt,
    /// `at+jwt` or `application/at+jwt`.
    AccessToken,
    /// Anything else.
    Other,
}

impl Header<'_> {
    /// The kind of `typ` (case-insensitive, with an optional `application/` prefix: RFC 7515
    /// §4.1.9).
    pub(crate) fn token_type(&self) -> TokenType {
        let Some(typ) = &self.typ else {
            return TokenType::Absent;
        };
        let bare = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(""),
            _ => typ,
        };
        if bare.eq_ignore_ascii_case("JWT") {
            TokenType::Jwt
        } else if bare.eq_ignore_ascii_case("at+jwt") {
            TokenType::AccessToken
        } else {
            TokenType::Other
        }
    }
}

impl TokenType {
    /// The JWT rule for `typ`: absent, `JWT` or `at+jwt` (RFC 9068); anything else is refused.
    pub(crate) fn check_jwt(self) -> Result<(), AuthErrorKind> {
        match self {
            Self::Absent | Self::Jwt | Self::AccessToken => Ok(()),
            Self::Other => Err(AuthErrorKind::InvalidTokenType),
        }
    }
}

struct HeaderSeed;

impl<'de> DeserializeSeed<'de> for HeaderSeed {
    type Value = Header<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = SeenKeys::new();
        let mut alg = None;
        let mut kid = None;
        let mut typ = None;
        let mut critical = false;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match key.as_ref() {
                "alg" => alg = Some(map.next_value::<Text<'de>>()?.0),
                "kid" => kid = Some(map.next_value::<Text<'de>>()?.0),
                "typ" => typ = Some(map.next_value::<Text<'de>>()?.0),
                "crit" => {
                    map.next_value::<IgnoredAny>()?;
                    critical = true;
                }
                "b64" => {
                    if !map.next_value::<B64>()?.0 {
                        critical = true;
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if !seen.insert(key) {
                return Err(de::Error::custom("duplicate header member"));
            }
        }
        let alg = alg.ok_or_else(|| de::Error::missing_field("alg"))?;
        Ok(Header {
            alg,
            kid,
            typ,
            critical,
        })
    }
}

/// `b64`: `true` is the default meaning; anything else asks for RFC 7797 processing.
struct B64(bool);

impl<'de> serde::Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(matches!(
            serde_json::Value::deserialize(d)?,
            serde_json::Value::Bool(true)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Header<'_>, AuthErrorKind> {
        Header::parse(json.as_bytes())
    }

    #[test]
    fn every_common_header_parses_exactly_as_its_shortcut_says() {
        use base64::Engine as _;
        for (encoded, alg, _) in COMMON {
            let bytes = crate::token::B64.decode(encoded).unwrap();
            let parsed = Header::parse(&bytes).unwrap();
            let (shortcut_alg, shortcut_typ) = common(encoded).unwrap();
            assert_eq!(parsed.kid, None, "{encoded}");
            assert!(!parsed.critical);
            assert_eq!(parsed.token_type(), shortcut_typ);
            assert_eq!(parsed.token_type().check_jwt(), shortcut_typ.check_jwt());
            assert_eq!(shortcut_alg, *alg);
            assert_eq!(parsed.check_jws(), Ok(*alg));
        }
        assert!(common("eyJhbGciOiJub25lIn0").is_none());
    }

    #[test]
    fn a_plain_header_is_read() {
        let h = parse(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#).unwrap();
        assert_eq!(h.alg, "HS256");
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert!(!h.critical);
        assert!(h.token_type().check_jwt().is_ok());
    }

    #[test]
    fn the_header_must_be_an_object_with_a_string_alg() {
        for bad in [
            r#"["HS256"]"#,
            r#""HS256""#,
            "{}",
            r#"{"alg":1}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"HS256"} x"#,
            "",
            r#"{"alg":"HS256","kid":5}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err(), AuthErrorKind::Malformed, "{bad}");
        }
    }

    #[test]
    fn duplicate_members_are_refused_even_when_escaped() {
        assert!(parse(r#"{"alg":"HS256","alg":"none"}"#).is_err());
        assert!(parse(r#"{"alg":"HS256","\u0061lg":"none"}"#).is_err());
        assert!(parse(r#"{"alg":"HS256","x":1,"x":2}"#).is_err());
    }

    #[test]
    fn crit_and_b64_false_are_critical() {
        assert!(parse(r#"{"alg":"HS256","crit":["exp"]}"#).unwrap().critical);
        assert!(parse(r#"{"alg":"HS256","b64":false}"#).unwrap().critical);
        assert!(!parse(r#"{"alg":"HS256","b64":true}"#).unwrap().critical);
        assert_eq!(
            parse(r#"{"alg":"HS256","crit":[]}"#).unwrap().check_jws(),
            Err(AuthErrorKind::CriticalHeader)
        );
    }

    #[test]
    fn typ_accepts_jwt_and_at_jwt_only() {
        for ok in [
            "JWT",
            "jwt",
            "application/jwt",
            "APPLICATION/JWT",
            "at+jwt",
            "application/at+jwt",
            "AT+JWT",
        ] {
            let json = format!(r#"{{"alg":"HS256","typ":"{ok}"}}"#);
            assert!(parse(&json).unwrap().token_type().check_jwt().is_ok(), "{ok}");
        }
        for bad in [
            "JOSE",
            "refresh+jwt",
            "",
            "application/",
            "JWT ",
            "dpop+jwt",
            "application/json",
        ] {
            let json = format!(r#"{{"alg":"HS256","typ":"{bad}"}}"#);
            assert_eq!(
                parse(&json).unwrap().token_type().check_jwt(),
                Err(AuthErrorKind::InvalidTokenType),
                "{bad}"
            );
        }
    }

    #[test]
    fn none_is_an_unsupported_algorithm() {
        for alg in ["none", "NONE", "None"] {
            let json = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(
                parse(&json).unwrap().check_jws(),
                Err(AuthErrorKind::UnsupportedAlgorithm)
            );
        }
    }
}
