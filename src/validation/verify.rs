//! The verification pipeline: shape, header, key, signature, registered claims, then the
//! [`TokenCheck`](super::TokenCheck)s.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Deserializer as _;

use super::{TokenIds, Validation};
use crate::key::KeyQuery;
use crate::key::{KeyResolver, Resolution, VerifyingKey};
use crate::token::claims::{Ids, Match, Num, Observed, ObservedSeed};
use crate::token::header::{self, Header, TokenType};
use crate::token::{self, reader, tap, Compact, MaybeText, Text};
use crate::{Algorithm, AuthError, AuthErrorKind, Claim};

/// Decoded headers up to this size stay on the stack.
const HEADER_STACK: usize = 512;
/// Decoded payloads up to this size stay on the stack.
const PAYLOAD_STACK: usize = 1024;

/// The outcome of [`Validation::verify_with`]: done, or waiting for the resolver.
#[derive(Debug)]
pub enum Verification<T, F> {
    /// Verified, or refused.
    Done(Result<T, AuthError>),
    /// The resolver must wait for `F`; then call [`Validation::verify_with_key`] with its key.
    Pending(F),
}

impl Validation {
    /// Verifies a JWT with one key and decodes its claims into `T`.
    ///
    /// The key is used as a [`KeyResolver`]: a token `kid` must match the key's, when both have
    /// one.
    ///
    /// # Errors
    /// An [`AuthError`] saying exactly why the token was refused.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, key: &VerifyingKey) -> Result<T, AuthError> {
        match self.verify_with(token, key) {
            Verification::Done(result) => result,
            Verification::Pending(never) => match never {},
        }
    }

    /// Verifies a JWT, asking `resolver` for the key. Returns [`Verification::Pending`] when the
    /// resolver must wait; the caller then awaits the future and calls
    /// [`verify_with_key`](Self::verify_with_key).
    pub fn verify_with<T: DeserializeOwned, K: KeyResolver + ?Sized>(
        &self,
        token: &str,
        resolver: &K,
    ) -> Verification<T, K::Future> {
        let mut verification = self.verify_shaped(token, resolver);
        if let Verification::Done(result) = &mut verification {
            mend_malformed_first(token, result);
        }
        verification
    }

    /// [`verify_with`](Self::verify_with) but for the precedence of a malformed token's
    /// refusal: the token is split without a pass over it, and its alphabet is checked by
    /// decoding (or, before a resolver that is not [local](KeyResolver::resolves_locally),
    /// by one scan).
    fn verify_shaped<T: DeserializeOwned, K: KeyResolver + ?Sized>(
        &self,
        token: &str,
        resolver: &K,
    ) -> Verification<T, K::Future> {
        let (mut header_buf, mut header) = (None, None);
        let Jws {
            compact, alg, kid, ..
        } = match self.parse_jwt(token, &mut header_buf, &mut header) {
            Ok(parsed) => parsed,
            Err(kind) => return Verification::Done(Err(AuthError::new(kind))),
        };
        let mut query = KeyQuery::new(alg, kid);
        // A resolver that chooses by issuer gets the unverified `iss` (a second read of the
        // payload, for those resolvers only).
        // Zeroed only on that path: the common one pays nothing for it.
        let mut payload_buf: [u8; PAYLOAD_STACK];
        let payload;
        let issuer;
        if resolver.wants_issuer() {
            payload_buf = [0u8; PAYLOAD_STACK];
            payload = match token::decode(compact.payload, &mut payload_buf) {
                Ok(payload) => payload,
                Err(kind) => return Verification::Done(Err(AuthError::new(kind))),
            };
            issuer = match unverified_issuer(&payload) {
                Ok(issuer) => issuer,
                Err(kind) => return Verification::Done(Err(AuthError::new(kind))),
            };
            query = query.with_issuer(issuer.as_deref());
        }
        // A resolver that may fetch, or record what it is asked, is asked for well-formed
        // tokens only.
        if !resolver.resolves_locally() && !token::well_formed(token) {
            return Verification::Done(Err(AuthError::new(AuthErrorKind::Malformed)));
        }
        match resolver.resolve(&query) {
            Resolution::Ready(Ok(key)) => Verification::Done(self.finish(&compact, alg, &key)),
            Resolution::Ready(Err(e)) => Verification::Done(Err(e.into())),
            // A local resolver should not wait; one that does gets a well-formed token only, as
            // every resolver that waits does (the caller answers the key's errors itself).
            Resolution::Pending(_) if resolver.resolves_locally() && !token::well_formed(token) => {
                Verification::Done(Err(AuthError::new(AuthErrorKind::Malformed)))
            }
            Resolution::Pending(future) => Verification::Pending(future),
        }
    }

    /// Verifies a JWT with a key that a resolver has already chosen for it (the slow path of
    /// [`verify_with`](Self::verify_with)). The key's algorithm must equal the token's `alg`.
    ///
    /// # Errors
    /// An [`AuthError`] saying exactly why the token was refused.
    pub fn verify_with_key<T: DeserializeOwned>(
        &self,
        token: &str,
        key: &VerifyingKey,
    ) -> Result<T, AuthError> {
        let (mut header_buf, mut header) = (None, None);
        let mut verified = match self.parse_jwt(token, &mut header_buf, &mut header) {
            Ok(jws) => self.finish(&jws.compact, jws.alg, key),
            Err(kind) => Err(kind.into()),
        };
        mend_malformed_first(token, &mut verified);
        verified
    }

    /// Verifies a compact JWS (the signature layer only: no `typ` rule, no claims) and returns
    /// its payload bytes. For payloads that are not JWT claims, such as test vectors.
    ///
    /// # Errors
    /// An [`AuthError`] saying why the JWS was refused.
    pub fn verify_jws(&self, token: &str, key: &VerifyingKey) -> Result<Vec<u8>, AuthError> {
        self.verify_jws_shaped(token, key)
            .map_err(|error| malformed_first(token, error))
    }

    fn verify_jws_shaped(&self, token: &str, key: &VerifyingKey) -> Result<Vec<u8>, AuthError> {
        let (mut header_buf, mut header) = (None, None);
        let Jws {
            compact, alg, kid, ..
        } = self.parse_jws(token, &mut header_buf, &mut header)?;
        let key = match key.resolve(&KeyQuery::new(alg, kid)) {
            Resolution::Ready(key) => key?,
            Resolution::Pending(never) => match never {},
        };
        self.check_signature(&compact, alg, &key)?;
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        Ok(token::decode(compact.payload, &mut payload_buf)?.into_owned())
    }

    /// Splits `token` and reads its header: a common header costs one comparison; any other is
    /// decoded into `header_buf` (or onto the heap when oversized), parsed into `header`, and
    /// checked.
    #[inline]
    fn parse_jws<'t, 'b, 'h>(
        &self,
        token: &'t str,
        header_buf: &'b mut Option<[u8; HEADER_STACK]>,
        header: &'h mut Option<Header<'b>>,
    ) -> Result<Jws<'t, 'h>, AuthErrorKind> {
        let compact = token::shape(token, self.max_token_len)?;
        if let Some((alg, typ)) = header::common(compact.header) {
            return Ok(Jws {
                compact,
                alg,
                kid: None,
                typ,
            });
        }
        let header = &*header.insert(uncommon_header(compact.header, header_buf)?);
        Ok(Jws {
            compact,
            alg: header.check_jws()?,
            kid: header.kid.as_deref(),
            typ: header.token_type(),
        })
    }

    #[inline]
    fn parse_jwt<'t, 'b, 'h>(
        &self,
        token: &'t str,
        header_buf: &'b mut Option<[u8; HEADER_STACK]>,
        header: &'h mut Option<Header<'b>>,
    ) -> Result<Jws<'t, 'h>, AuthErrorKind> {
        let jws = self.parse_jws(token, header_buf, header)?;
        jws.typ.check_jwt()?;
        self.check_profile_type(jws.typ)?;
        Ok(jws)
    }

    fn check_signature(
        &self,
        compact: &Compact<'_>,
        alg: Algorithm,
        key: &VerifyingKey,
    ) -> Result<(), AuthErrorKind> {
        // The allow-list is the key's one algorithm; the token's `alg` never widens it.
        if key.algorithm() != alg {
            return Err(AuthErrorKind::AlgorithmMismatch);
        }
        if !key.verify_signature(compact.signing_input, compact.signature) {
            return Err(AuthErrorKind::InvalidSignature);
        }
        Ok(())
    }

    /// Signature, payload, registered claims, checks. Its answer is already of the type
    /// [`verify`](Self::verify) returns: no conversion moves the claims again.
    fn finish<T: DeserializeOwned>(
        &self,
        compact: &Compact<'_>,
        alg: Algorithm,
        key: &VerifyingKey,
    ) -> Result<T, AuthError> {
        self.check_signature(compact, alg, key)?;
        let mut payload_buf = [0u8; PAYLOAD_STACK];
        let payload = token::decode(compact.payload, &mut payload_buf)?;
        // Checked once here, so that members skipped by both passes are UTF-8 too (RFC 7519
        // §7.2), and so that serde_json does not check the strings it reads again.
        let payload = std::str::from_utf8(&payload).map_err(|_| AuthErrorKind::Malformed)?;
        // A key bound to an issuer narrows the accepted issuers to that one, whatever this
        // validation lists; a validation that lists others accepts nothing from that key.
        let issuers: &[Box<str>] = match key.issuer_list() {
            None => &self.issuers,
            Some(bound)
                if self.issuers.is_empty() || self.issuers.iter().any(|i| Some(&**i) == key.issuer()) =>
            {
                bound
            }
            Some(_) => return Err(AuthErrorKind::InvalidIssuer.into()),
        };
        // A key of one issuer among several carries that issuer's audiences and leeway.
        let rules = Rules {
            issuers,
            audiences: key.bound_audiences().unwrap_or(&self.audiences),
            leeway: key.bound_leeway().unwrap_or(self.leeway),
        };
        let capture_ids = self.checks.iter().any(|c| c.needs_ids());
        // One pass: the claims reader hands `T` its values and observes the registered claims.
        if let Ok((claims, observed, ids)) =
            reader::deserialize::<T>(payload, rules.issuers, rules.audiences, capture_ids)
        {
            self.check_claims(&observed, &rules)?;
            self.check_profile_claims(payload, &observed)?;
            self.run_checks(payload, &rules, &observed, ids)?;
            return Ok(claims);
        }
        // The reader declined (a float, `RawValue`, an error...): serde_json reads the payload,
        // `T` observed on the way, and its answer is the answer.
        match tap::deserialize::<T>(payload, rules.issuers, rules.audiences, capture_ids) {
            Ok((claims, Some((observed, ids)))) => {
                self.check_claims(&observed, &rules)?;
                self.check_profile_claims(payload, &observed)?;
                self.run_checks(payload, &rules, &observed, ids)?;
                Ok(claims)
            }
            // `T` read the payload in a way the observation could not follow: the separate pass
            // observes (the identifiers too, when a check needs them).
            Ok((claims, None)) => {
                let (observed, ids) = self.observe(payload, &rules, capture_ids)?;
                self.check_claims(&observed, &rules)?;
                self.check_profile_claims(payload, &observed)?;
                self.run_checks(payload, &rules, &observed, ids)?;
                Ok(claims)
            }
            // `T` failed: the separate pass tells a claim error from a mismatch with `T`.
            Err(_) => {
                let (observed, _) = self.observe(payload, &rules, false)?;
                self.check_claims(&observed, &rules)?;
                self.check_profile_claims(payload, &observed)?;
                Err(AuthErrorKind::InvalidClaims.into())
            }
        }
    }

    /// The [`TokenCheck`](super::TokenCheck)s, in order, after the signature and the registered claims passed.
    fn run_checks(
        &self,
        payload: &str,
        rules: &Rules<'_>,
        observed: &Observed,
        ids: Option<Ids<'_>>,
    ) -> Result<(), AuthErrorKind> {
        if self.checks.is_empty() {
            return Ok(());
        }
        // A check that wanted no identifiers when the claims were read (an empty revocation
        // list) may want them now (an entry arrived meanwhile): read them rather than answer
        // with none.
        let ids = match ids {
            None if self.checks.iter().any(|c| c.needs_ids()) => self.observe(payload, rules, true)?.1,
            ids => ids,
        };
        let ids = ids.as_ref().map_or_else(TokenIds::default, |ids| {
            TokenIds::new(
                ids.jti.as_deref(),
                ids.sid.as_deref(),
                ids.sub.as_deref(),
                match observed.iat {
                    Num::Value(iat) => Some(iat),
                    _ => None,
                },
            )
        });
        self.checks.iter().try_for_each(|check| check.check(&ids))
    }

    fn observe<'p>(
        &self,
        payload: &'p str,
        rules: &Rules<'_>,
        capture_ids: bool,
    ) -> Result<(Observed, Option<Ids<'p>>), AuthErrorKind> {
        ObservedSeed {
            issuers: rules.issuers,
            audiences: rules.audiences,
            capture_ids,
        }
        .read_ids(payload)
        .map_err(|_| AuthErrorKind::Malformed)
    }

    fn check_claims(&self, o: &Observed, rules: &Rules<'_>) -> Result<(), AuthErrorKind> {
        use AuthErrorKind as K;
        // Seconds as f64: exact for any realistic time, and sums never overflow or panic.
        let now = self.now() as f64;
        let leeway = rules.leeway as f64;
        match o.exp {
            Num::Absent if self.require_exp => return Err(K::MissingClaim(Claim::Exp)),
            Num::WrongType => return Err(K::InvalidClaimType(Claim::Exp)),
            Num::Value(exp) if now >= exp + leeway => return Err(K::Expired),
            _ => {}
        }
        match o.nbf {
            Num::WrongType => return Err(K::InvalidClaimType(Claim::Nbf)),
            Num::Value(nbf) if nbf > now + leeway => return Err(K::NotYetValid),
            _ => {}
        }
        match (o.iat, self.max_age) {
            (Num::WrongType, _) => return Err(K::InvalidClaimType(Claim::Iat)),
            (Num::Value(iat), _) if iat > now + leeway => return Err(K::IssuedInFuture),
            (Num::Value(iat), Some(max_age)) if now - iat > max_age as f64 + leeway => return Err(K::TooOld),
            (Num::Absent, Some(_)) => return Err(K::MissingClaim(Claim::Iat)),
            _ => {}
        }
        match (o.iss, rules.issuers.is_empty()) {
            (Match::WrongType, _) => return Err(K::InvalidClaimType(Claim::Iss)),
            (Match::Absent, false) => return Err(K::MissingClaim(Claim::Iss)),
            (Match::Unmatched, false) => return Err(K::InvalidIssuer),
            _ => {}
        }
        match (o.aud, rules.audiences.is_empty()) {
            (Match::WrongType, _) => return Err(K::InvalidClaimType(Claim::Aud)),
            (Match::Absent, false) => return Err(K::MissingClaim(Claim::Aud)),
            (Match::Unmatched, false) => return Err(K::InvalidAudience),
            (Match::Matched | Match::Unmatched, true) if !self.accept_any_audience => {
                return Err(K::UnexpectedAudience)
            }
            _ => {}
        }
        match o.sub {
            Match::WrongType => Err(K::InvalidClaimType(Claim::Sub)),
            Match::Absent if self.require_sub => Err(K::MissingClaim(Claim::Sub)),
            _ => Ok(()),
        }
    }
}

/// The issuers, audiences and leeway a token is checked against: the validation's, narrowed
/// or replaced by those of the issuer its key is bound to.
struct Rules<'a> {
    issuers: &'a [Box<str>],
    audiences: &'a [Box<str>],
    leeway: u64,
}

/// A split token and what its header says: the algorithm (not yet matched with a key), the
/// `kid`, the `typ`. Small, so that the pipeline keeps it in registers rather than copying a
/// parsed header about.
struct Jws<'t, 'h> {
    compact: Compact<'t>,
    alg: Algorithm,
    kid: Option<&'h str>,
    typ: TokenType,
}

/// Decodes and parses a header that is not one of the common ones (zeroing the stack buffer
/// only then: the usual headers cost nothing here). Oversized headers (rare) are decoded on the
/// heap, and what we need kept by value.
#[cold]
#[inline(never)]
fn uncommon_header<'b>(
    encoded: &str,
    header_buf: &'b mut Option<[u8; HEADER_STACK]>,
) -> Result<Header<'b>, AuthErrorKind> {
    match token::decode(encoded, header_buf.insert([0; HEADER_STACK]))? {
        Cow::Borrowed(bytes) => Header::parse(bytes),
        Cow::Owned(bytes) => Header::parse(&bytes).map(Header::into_owned),
    }
}

/// Applies [`malformed_first`] to a refusal in place: the claims of an answer stay where they
/// were built.
fn mend_malformed_first<T>(token: &str, result: &mut Result<T, AuthError>) {
    if let Err(error) = result {
        *error = malformed_first(token, *error);
    }
}

/// `error`, unless `token` is not a compact JWS at all (outside base64url and dots, or not
/// three segments): that is its refusal, whatever else is wrong with it, as when the whole token
/// was scanned before anything else. Checked only once something has failed: a token that
/// passes has had every segment decoded, which checks the same.
fn malformed_first(token: &str, error: AuthError) -> AuthError {
    match error.kind() {
        AuthErrorKind::TooLarge | AuthErrorKind::Malformed => error,
        _ if token::well_formed(token) => error,
        _ => AuthError::new(AuthErrorKind::Malformed),
    }
}

/// The `iss` of a payload not yet verified, to choose a key source by: `None` when absent or
/// not a string (the resolver then refuses; the claims are never trusted from this read).
fn unverified_issuer(payload: &[u8]) -> Result<Option<Cow<'_, str>>, AuthErrorKind> {
    struct Issuer;
    impl<'de> serde::de::Visitor<'de> for Issuer {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut iss = None;
            let mut seen = false;
            while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                if key == "iss" {
                    // Two `iss` members: refused before any key source is chosen (the claims
                    // readers refuse every duplicate later).
                    if std::mem::replace(&mut seen, true) {
                        return Err(serde::de::Error::custom("duplicate iss"));
                    }
                    if let MaybeText::Text(value) = map.next_value::<MaybeText<'de>>()? {
                        iss = Some(value);
                    }
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(iss)
        }
    }
    let payload = std::str::from_utf8(payload).map_err(|_| AuthErrorKind::Malformed)?;
    let mut de = serde_json::Deserializer::from_str(payload);
    de.deserialize_map(Issuer).map_err(|_| AuthErrorKind::Malformed)
}
