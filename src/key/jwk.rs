//! JSON Web Keys (RFC 7517): reading keys and key sets, writing public keys, RFC 7638
//! thumbprints, and [`KeySet`], a resolver over a JWK Set.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::select::select;
use super::{KeyError, KeyQuery, KeyRef, KeyResolver, NeverPending, Resolution};
use crate::token::B64;
use crate::{Algorithm, ConfigError, VerifyingKey};

/// One JSON Web Key. Only the members this crate reads are kept; unknown ones are ignored.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Public key use: `sig` or `enc`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations (`verify`, `sign`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// The algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Curve (`EC`, `OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (`EC`) or public key (`OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (`EC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Symmetric key (`oct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// Private exponent / private key: its presence marks a private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA first prime factor (private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA second prime factor (private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("use", &self.use_)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("private", &self.has_private_members())
            .finish_non_exhaustive()
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// Whether the key carries private members (`d`, `p`, `q`; `k` of symmetric keys).
    #[must_use]
    pub fn has_private_members(&self) -> bool {
        self.d.is_some() || self.p.is_some() || self.q.is_some() || self.k.is_some()
    }

    /// Checks `use` and `key_ops`: the key must be meant for signatures.
    fn check_purpose(&self) -> Result<(), ConfigError> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(ConfigError::InvalidKey("use is not sig"));
        }
        if let Some(ops) = &self.key_ops {
            if !ops.iter().any(|op| op == "verify") {
                return Err(ConfigError::InvalidKey("key_ops does not allow verify"));
            }
        }
        Ok(())
    }

    /// The algorithm named by `alg`, if any.
    fn named_algorithm(&self) -> Result<Option<Algorithm>, ConfigError> {
        self.alg
            .as_deref()
            .map(|alg| {
                alg.parse::<Algorithm>()
                    .map_err(|_| ConfigError::InvalidKey("alg is not a supported JWS algorithm"))
            })
            .transpose()
    }
}

fn member(value: &Option<String>, what: &'static str) -> Result<Vec<u8>, ConfigError> {
    let text = value.as_deref().ok_or(ConfigError::InvalidKey(what))?;
    B64.decode(text).map_err(|_| ConfigError::InvalidKey(what))
}

impl VerifyingKey {
    /// A verifying key from a JWK, bound to its `alg`, or when it has none, to the algorithm its
    /// kind implies (EC by curve, Ed25519 → EdDSA, RSA → RS256); `oct` keys need an `alg`.
    /// `use` must be `sig` and `key_ops` must include `verify` when present; private members
    /// of asymmetric keys are ignored (only the public half is used). The JWK's `kid` is kept.
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, Jwk, VerifyingKey};
    ///
    /// let jwk: Jwk = serde_json::from_str(
    ///     r#"{"kty":"oct","alg":"HS256","kid":"k1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#,
    /// )?;
    /// let key = VerifyingKey::from_jwk(&jwk)?;
    /// assert_eq!(key.algorithm(), Algorithm::HS256);
    /// assert_eq!(key.kid(), Some("k1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] or [`ConfigError::WrongKeyType`] for an unusable key,
    /// [`ConfigError::KeyTooShort`] for a short `oct` key, [`ConfigError::FeatureDisabled`] for
    /// a public key without the `aws-lc` feature.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, ConfigError> {
        jwk.check_purpose()?;
        let named = jwk.named_algorithm()?;
        let key = match jwk.kty.as_str() {
            "oct" => {
                let alg = named.ok_or(ConfigError::InvalidKey("an oct JWK needs an alg"))?;
                Self::hmac(alg, member(&jwk.k, "bad or missing k")?)?
            }
            "RSA" | "EC" | "OKP" => public_from_jwk(jwk, named)?,
            _ => return Err(ConfigError::InvalidKey("unsupported kty")),
        };
        match &jwk.kid {
            Some(kid) => key.with_kid(kid.as_str()),
            None => Ok(key),
        }
    }

    /// The public key as a JWK (with `kid`, `alg` and `use: sig`); `None` for HMAC keys, whose
    /// secret is never exported this way.
    #[cfg(feature = "aws-lc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
    #[must_use]
    pub fn to_jwk(&self) -> Option<Jwk> {
        let mut jwk = public_jwk(self.public_parts()?);
        jwk.alg = Some(self.algorithm().as_str().to_owned());
        jwk.use_ = Some("sig".to_owned());
        jwk.kid = self.kid().map(str::to_owned);
        Some(jwk)
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key; `None` for HMAC keys.
    #[cfg(feature = "aws-lc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
    #[must_use]
    pub fn thumbprint(&self) -> Option<String> {
        thumbprint_of(self)
    }
}

#[cfg(not(feature = "aws-lc"))]
fn public_from_jwk(_: &Jwk, _: Option<Algorithm>) -> Result<VerifyingKey, ConfigError> {
    Err(ConfigError::FeatureDisabled("aws-lc"))
}

#[cfg(feature = "aws-lc")]
fn public_from_jwk(jwk: &Jwk, named: Option<Algorithm>) -> Result<VerifyingKey, ConfigError> {
    use crate::key::der::{self, Curve, PublicParts};
    use crate::key::public;

    let parts = match jwk.kty.as_str() {
        "RSA" => PublicParts::Rsa {
            n: strip_zeros(member(&jwk.n, "bad or missing n")?),
            e: strip_zeros(member(&jwk.e, "bad or missing e")?),
        },
        "EC" => {
            let curve = jwk
                .crv
                .as_deref()
                .and_then(Curve::from_jwk_name)
                .ok_or(ConfigError::InvalidKey("unsupported or missing crv"))?;
            let x = member(&jwk.x, "bad or missing x")?;
            let y = member(&jwk.y, "bad or missing y")?;
            if x.len() != curve.coordinate_len() || y.len() != curve.coordinate_len() {
                return Err(ConfigError::InvalidKey("EC coordinates do not fit the curve"));
            }
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            der::ec_point(curve, point)?
        }
        _ => {
            if jwk.crv.as_deref() != Some("Ed25519") {
                return Err(ConfigError::InvalidKey("unsupported or missing crv"));
            }
            der::ed25519(member(&jwk.x, "bad or missing x")?)?
        }
    };
    let alg = named.unwrap_or_else(|| public::default_algorithm(&parts));
    VerifyingKey::public(alg, parts)
}

#[cfg(feature = "aws-lc")]
fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(feature = "aws-lc")]
fn public_jwk(parts: &crate::key::der::PublicParts) -> Jwk {
    use crate::key::der::PublicParts;
    let b64 = |bytes: &[u8]| Some(B64.encode(bytes));
    match parts {
        PublicParts::Rsa { n, e } => Jwk {
            kty: "RSA".into(),
            n: b64(n),
            e: b64(e),
            ..Jwk::default()
        },
        PublicParts::Ec { curve, point } => {
            let len = curve.coordinate_len();
            Jwk {
                kty: "EC".into(),
                crv: Some(curve.jwk_name().into()),
                x: point.get(1..1 + len).and_then(b64),
                y: point.get(1 + len..).and_then(b64),
                ..Jwk::default()
            }
        }
        PublicParts::Ed25519 { x } => Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: b64(x),
            ..Jwk::default()
        },
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, without whitespace.
#[cfg(feature = "aws-lc")]
pub(crate) fn thumbprint_of(key: &VerifyingKey) -> Option<String> {
    use sha2::{Digest, Sha256};
    let jwk = public_jwk(key.public_parts()?);
    let canonical = match jwk.kty.as_str() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, jwk.e?, jwk.n?),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.crv?, jwk.x?, jwk.y?
        ),
        _ => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, jwk.crv?, jwk.x?),
    };
    Some(B64.encode(Sha256::digest(canonical.as_bytes())))
}

/// Why a JWK Set document was refused whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocumentError {
    /// Not a JSON object with a `keys` array.
    NotASet,
    /// More keys than allowed.
    TooManyKeys,
}

/// Why a key of a set was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// The public keys of a JWK Set, as a [`KeyResolver`].
///
/// Built for key sets published by an identity provider, so it is strict about what it uses:
///
/// * symmetric (`oct`) keys are **never** used: a published secret is no secret;
/// * keys with private members, `use` other than `sig`, `key_ops` without `verify`, an unknown
///   `kty`/`crv`/`alg` or weak parameters (RSA under 2048 bits...) are skipped, never failing
///   the set (see [`skipped`](Self::skipped));
/// * two keys with the same `kid` and algorithm are both dropped (ambiguous);
/// * a key is bound to its `alg`, or to the one its kind implies (RSA → RS256).
///
/// Key choice: a token with a `kid` uses the key with that `kid` and its `alg`; a token without
/// `kid` uses the only key of its `alg`, and is refused when there are several.
///
/// ```
/// # #[cfg(feature = "aws-lc")] {
/// use tower_jwt_auth::KeySet;
///
/// let set = KeySet::from_json(br#"{"keys":[
///   {"kty":"EC","crv":"P-256","kid":"ec1",
///    "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
///   {"kty":"oct","kid":"secret","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}
/// ]}"#)?;
/// assert_eq!(set.len(), 1);
/// assert_eq!(set.skipped().len(), 1); // the oct key
/// # }
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    skipped: Vec<SkippedKey>,
}

impl KeySet {
    /// Reads a JWK Set document.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] when the document is not a JWK Set; individual unusable keys
    /// are skipped instead.
    pub fn from_json(json: &[u8]) -> Result<Self, ConfigError> {
        Self::from_document(json, usize::MAX).map_err(|e| match e {
            DocumentError::NotASet => ConfigError::InvalidKey("not a JWK Set document"),
            DocumentError::TooManyKeys => ConfigError::InvalidKey("too many keys"),
        })
    }

    /// Reads a JWK Set document of at most `max_keys` keys. An object in `keys` that is not a
    /// well-formed JWK (a number for `kid`, say) is skipped like any unusable key (RFC 7517 §5);
    /// an entry that is not an object at all makes the document invalid.
    pub(crate) fn from_document(json: &[u8], max_keys: usize) -> Result<Self, DocumentError> {
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawSet = serde_json::from_slice(json).map_err(|_| DocumentError::NotASet)?;
        if !raw.keys.iter().all(serde_json::Value::is_object) {
            return Err(DocumentError::NotASet);
        }
        if raw.keys.len() > max_keys {
            return Err(DocumentError::TooManyKeys);
        }
        let mut malformed = Vec::new();
        let mut keys = Vec::with_capacity(raw.keys.len());
        for value in raw.keys {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            match serde_json::from_value::<Jwk>(value) {
                Ok(jwk) => keys.push(jwk),
                Err(_) => malformed.push(SkippedKey {
                    kid,
                    reason: "malformed JWK".to_owned(),
                }),
            }
        }
        let mut set = Self::from_set(&JwkSet { keys });
        set.skipped.extend(malformed);
        Ok(set)
    }

    /// Builds the resolver from parsed keys, skipping those that cannot be used.
    #[must_use]
    pub fn from_set(set: &JwkSet) -> Self {
        let mut keys: Vec<VerifyingKey> = Vec::with_capacity(set.keys.len());
        let mut skipped = Vec::new();
        for jwk in &set.keys {
            let reason = if jwk.kty == "oct" {
                Some("symmetric keys from a key set are never used".to_owned())
            } else if jwk.has_private_members() {
                Some("private key members in a public key set".to_owned())
            } else {
                match VerifyingKey::from_jwk(jwk) {
                    Ok(key) => {
                        keys.push(key);
                        None
                    }
                    Err(e) => Some(e.to_string()),
                }
            };
            if let Some(reason) = reason {
                #[cfg(any(feature = "tracing", feature = "jwks"))]
                tracing::debug!(target: "tower_jwt_auth::jwks", kid = ?jwk.kid, %reason, "key skipped");
                skipped.push(SkippedKey {
                    kid: jwk.kid.clone(),
                    reason,
                });
            }
        }
        // Same kid and algorithm twice: ambiguous, use neither.
        let ambiguous: Vec<bool> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                key.kid().is_some()
                    && keys.iter().enumerate().any(|(j, other)| {
                        i != j && other.kid() == key.kid() && other.algorithm() == key.algorithm()
                    })
            })
            .collect();
        let mut kept = Vec::with_capacity(keys.len());
        for (key, ambiguous) in keys.into_iter().zip(ambiguous) {
            if ambiguous {
                skipped.push(SkippedKey {
                    kid: key.kid().map(str::to_owned),
                    reason: "duplicate kid".to_owned(),
                });
            } else {
                kept.push(key);
            }
        }
        Self { keys: kept, skipped }
    }

    /// The keys left out, and why.
    #[must_use]
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The number of usable keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The usable keys.
    pub fn keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.iter()
    }

    /// A set of keys given in configuration (every key kept, none skipped).
    #[cfg(feature = "jwks")]
    pub(crate) fn from_keys(keys: Vec<VerifyingKey>) -> Self {
        Self {
            keys,
            skipped: Vec::new(),
        }
    }

    /// Finds the key for a token's `kid` and `alg` (see the type's docs for the policy).
    pub(crate) fn find(&self, alg: Algorithm, kid: Option<&str>) -> Result<&VerifyingKey, KeyError> {
        select(&self.keys, alg, kid)
            .and_then(|i| self.keys.get(i))
            .ok_or(KeyError::unknown_key())
    }
}

impl KeyResolver for KeySet {
    type Future = NeverPending;
    fn resolve(&self, query: &KeyQuery<'_>) -> Resolution<'_, NeverPending> {
        Resolution::Ready(self.find(query.alg(), query.kid()).map(KeyRef::borrowed))
    }

    fn resolves_locally(&self) -> bool {
        true
    }
}

#[cfg(all(test, feature = "aws-lc"))]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_thumbprint_of_the_example_rsa_key() {
        let jwk: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let back = key.to_jwk().unwrap();
        assert_eq!(back.n, jwk.n);
        assert_eq!(back.kid.as_deref(), Some("2011-04-29"));
    }

    #[test]
    fn keys_not_meant_for_signatures_are_refused() {
        let mut jwk: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        )
        .unwrap();
        assert_eq!(
            VerifyingKey::from_jwk(&jwk).unwrap().algorithm(),
            Algorithm::ES256
        );
        jwk.use_ = Some("enc".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err());
        jwk.use_ = None;
        jwk.key_ops = Some(vec!["encrypt".into()]);
        assert!(VerifyingKey::from_jwk(&jwk).is_err());
        jwk.key_ops = None;
        jwk.alg = Some("ES384".into());
        assert_eq!(
            VerifyingKey::from_jwk(&jwk).unwrap_err(),
            ConfigError::WrongKeyType {
                algorithm: Algorithm::ES384
            }
        );
    }
}
