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
    material: SignMaterial,
}

#[derive(Clone)]
enum SignMaterial {
    Hmac(HmacKey),
    #[cfg(feature = "aws-lc")]
    Private(std::sync::Arc<super::public::PrivateKey>, VerifyingKey),
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
        let material = SignMaterial::Hmac(HmacKey::new(alg, secret.as_ref())?);
        Ok(Self::build(alg, None, "JWT".into(), material))
    }

    /// A private key from PKCS#8 (PEM `PRIVATE KEY`, or DER): RSA (2048 bits or more), P-256,
    /// P-384, P-521 or Ed25519. The algorithm follows the key (RSA → RS256, EC by curve, Ed25519
    /// → EdDSA; [`with_algorithm`](Self::with_algorithm) picks another), and the `kid` is the
    /// key's RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for an unreadable, unsupported or weak key.
    #[cfg(feature = "aws-lc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
    pub fn from_pkcs8(bytes: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let bytes = bytes.as_ref();
        let pem;
        let der = match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN ") => {
                pem = super::der::parse_pem(text)?;
                if pem.label != "PRIVATE KEY" {
                    return Err(ConfigError::InvalidKey("expected a PKCS#8 PRIVATE KEY PEM block"));
                }
                pem.der.as_slice()
            }
            _ => bytes,
        };
        let (private, parts, alg) = super::public::PrivateKey::from_pkcs8(der)?;
        let verifying = VerifyingKey::public(alg, parts)?;
        let kid = super::jwk::thumbprint_of(&verifying).map(String::into_boxed_str);
        let verifying = VerifyingKey::from_parts(alg, kid.clone(), verifying.material_clone());
        let material = SignMaterial::Private(std::sync::Arc::new(private), verifying);
        Ok(Self::build(alg, kid, "JWT".into(), material))
    }

    /// Signs with another algorithm of the key's kind (PS256 for an RSA key, say).
    ///
    /// # Errors
    /// [`ConfigError::WrongKeyType`] when `alg` does not fit the key.
    pub fn with_algorithm(self, alg: Algorithm) -> Result<Self, ConfigError> {
        if alg == self.alg {
            return Ok(self);
        }
        match self.material {
            SignMaterial::Hmac(_) => Err(ConfigError::WrongKeyType { algorithm: alg }),
            #[cfg(feature = "aws-lc")]
            SignMaterial::Private(private, verifying) => {
                let verifying = verifying.with_algorithm(alg)?;
                Ok(Self::build(
                    alg,
                    self.kid,
                    self.typ,
                    SignMaterial::Private(private, verifying),
                ))
            }
        }
    }

    fn build(alg: Algorithm, kid: Option<Box<str>>, typ: Box<str>, material: SignMaterial) -> Self {
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

    /// The key that verifies what this key signs (for HMAC, the same secret; otherwise the
    /// public half), with the same `kid`.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        match &self.material {
            SignMaterial::Hmac(key) => {
                VerifyingKey::from_parts(self.alg, self.kid.clone(), Material::Hmac(key.clone()))
            }
            #[cfg(feature = "aws-lc")]
            SignMaterial::Private(_, verifying) => {
                VerifyingKey::from_parts(self.alg, self.kid.clone(), verifying.material_clone())
            }
        }
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
        let signature_len = match &self.material {
            SignMaterial::Hmac(key) => key.tag_len(),
            #[cfg(feature = "aws-lc")]
            SignMaterial::Private(..) => 1024,
        };
        let mut out = String::with_capacity(
            self.encoded_header.len() + 2 + encoded_len(payload.len()) + encoded_len(signature_len),
        );
        out.push_str(&self.encoded_header);
        out.push('.');
        B64.encode_string(&payload, &mut out);
        match &self.material {
            SignMaterial::Hmac(key) => key.sign_in_place_after_dot(&mut out),
            #[cfg(feature = "aws-lc")]
            SignMaterial::Private(private, _) => private
                .sign_in_place_after_dot(self.alg, &mut out)
                .map_err(|()| SignError::Backend)?,
        }
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
