//! Minting tokens: [`SigningKey`].

use std::fmt;

use base64::Engine as _;
use serde::Serialize;

use super::{check_kid, HmacKey, Material, VerifyingKey};
use crate::token::{encoded_len, B64};
use crate::{Algorithm, ConfigError, SignError};

/// A key that signs tokens, for login endpoints and tests.
///
/// The encoded header (`alg`, `typ`, optional `kid`) is built once, when the key is configured,
/// so signing serializes only the claims.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::{NumericDate, SigningKey, Validation};
///
/// #[derive(Serialize, Deserialize)]
/// struct Claims { sub: String, exp: i64 }
///
/// let key = SigningKey::hs256(b"a secret of at least thirty-two bytes!")?.with_kid("v1")?;
/// let token = key.sign(&Claims { sub: "alice".into(), exp: NumericDate::now().as_secs() + 900 })?;
///
/// let claims: Claims = Validation::new().verify(&token, &key.verifying_key())?;
/// assert_eq!(claims.sub, "alice");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Box<str>,
    encoded_header: Box<str>,
    material: Material,
}

impl SigningKey {
    /// An HS256 signing key (secret of at least 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An HS384 signing key (secret of at least 48 bytes).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs384(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS384, secret)
    }

    /// An HS512 signing key (secret of at least 64 bytes).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs512(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS512, secret)
    }

    /// An HMAC signing key for `alg`.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] when the secret is shorter than the hash output.
    pub fn hmac(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let material = Material::Hmac(HmacKey::new(alg, secret.as_ref())?);
        Ok(Self::build(alg, None, "JWT".into(), material))
    }

    fn build(alg: Algorithm, kid: Option<Box<str>>, typ: Box<str>, material: Material) -> Self {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'a str,
            typ: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            kid: Option<&'a str>,
        }
        let header = Header {
            alg: alg.as_str(),
            typ: &typ,
            kid: kid.as_deref(),
        };
        // Serializing a struct of strings cannot fail; fall back to the bare header anyway.
        let json = serde_json::to_vec(&header).unwrap_or_else(|_| br#"{"alg":"HS256"}"#.to_vec());
        let encoded_header = B64.encode(json).into_boxed_str();
        Self {
            alg,
            kid,
            typ,
            encoded_header,
            material,
        }
    }

    /// Adds a `kid` to the header of the tokens this key signs.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKeyId`] for an empty `kid` or one over 256 bytes.
    pub fn with_kid(self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        let kid = check_kid(kid.into())?;
        Ok(Self::build(self.alg, Some(kid), self.typ, self.material))
    }

    /// Sets the `typ` header (default `JWT`). The verifier accepts `JWT` and `at+jwt`; any other
    /// type makes tokens that access-token verification refuses, which is what a different kind
    /// of token should get.
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty type.
    pub fn with_typ(self, typ: &str) -> Result<Self, ConfigError> {
        if typ.is_empty() {
            return Err(ConfigError::EmptyValue("typ"));
        }
        Ok(Self::build(self.alg, self.kid, typ.into(), self.material))
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` put in the header, if any.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key that verifies what this key signs (for HMAC, the same secret), with the same `kid`.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_parts(self.alg, self.kid.clone(), self.material.clone())
    }

    /// Signs `claims` (any value that serializes to a JSON object) into a compact JWT.
    ///
    /// # Errors
    /// [`SignError`] if the claims do not serialize to a JSON object.
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims).map_err(SignError::Serialize)?;
        if payload.first() != Some(&b'{') {
            return Err(SignError::NotAnObject);
        }
        let Material::Hmac(key) = &self.material;
        let mut out = String::with_capacity(
            self.encoded_header.len() + 2 + encoded_len(payload.len()) + encoded_len(key.tag_len()),
        );
        out.push_str(&self.encoded_header);
        out.push('.');
        B64.encode_string(&payload, &mut out);
        key.sign_in_place_after_dot(&mut out);
        Ok(out)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("typ", &self.typ)
            .field("material", &"<redacted>")
            .finish()
    }
}
