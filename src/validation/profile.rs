//! The JWT access-token profile (RFC 9068): its `typ` rule and its required claims, applied by
//! the pipeline when [`Validation::rfc9068`] turned it on.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::Validation;
use crate::token::claims::{Match, Num, Observed};
use crate::token::header::TokenType;
use crate::{AuthErrorKind, Claim};

impl Validation {
    /// The profile's `typ` rule: `at+jwt` (or `JWT` when accepted); nothing without the profile.
    pub(super) fn check_profile_type(&self, typ: TokenType) -> Result<(), AuthErrorKind> {
        let Some(profile) = self.profile else {
            return Ok(());
        };
        match typ {
            TokenType::AccessToken => Ok(()),
            TokenType::Jwt if profile.accept_typ_jwt => Ok(()),
            _ => Err(AuthErrorKind::InvalidTokenType),
        }
    }

    /// The profile's required claims (§2.2), after the registered claims passed: `iss`, `aud`
    /// and `iat` present, `jti` and `client_id` present strings (`exp` and `sub` are required
    /// by the validation itself).
    pub(super) fn check_profile_claims(
        &self,
        payload: &str,
        observed: &Observed,
    ) -> Result<(), AuthErrorKind> {
        if self.profile.is_none() {
            return Ok(());
        }
        if observed.iss == Match::Absent {
            return Err(AuthErrorKind::MissingClaim(Claim::Iss));
        }
        if observed.aud == Match::Absent {
            return Err(AuthErrorKind::MissingClaim(Claim::Aud));
        }
        if observed.iat == Num::Absent {
            return Err(AuthErrorKind::MissingClaim(Claim::Iat));
        }
        // A second, light pass for the two claims the main readers do not watch (only for
        // profile users). Duplicates were refused by the first pass.
        let ids: ProfileIds = serde_json::from_str(payload).map_err(|_| AuthErrorKind::Malformed)?;
        for (claim, kind) in [(Claim::Jti, ids.jti), (Claim::ClientId, ids.client_id)] {
            match kind {
                Kind::Absent => return Err(AuthErrorKind::MissingClaim(claim)),
                Kind::Other => return Err(AuthErrorKind::InvalidClaimType(claim)),
                Kind::Text => {}
            }
        }
        Ok(())
    }
}

/// Whether `jti` and `client_id` are there, and strings.
#[derive(Deserialize)]
struct ProfileIds {
    #[serde(default)]
    jti: Kind,
    #[serde(default)]
    client_id: Kind,
}

/// A member's JSON type, as far as the profile cares: absent, a string, or anything else
/// (`null` included: not read as absent).
#[derive(Default)]
enum Kind {
    #[default]
    Absent,
    Text,
    Other,
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Kind, E> {
        Ok(Kind::Text)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Kind::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Kind::Other)
    }
}
