//! [`VerifyingKey`]: a key that verifies signatures of exactly one algorithm.

use std::fmt;
use std::sync::Arc;

use super::binding::Binding;
use super::hmac::HmacKey;
#[cfg(feature = "aws-lc")]
use super::{der, public};
use crate::{Algorithm, ConfigError};

/// The longest `kid` accepted in configuration.
const MAX_KID_LEN: usize = 256;

/// A key that verifies signatures of exactly one algorithm.
///
/// ```
/// use tower_jwt_auth::{Algorithm, VerifyingKey};
///
/// let key = VerifyingKey::hs256(b"a secret of at least thirty-two bytes!")?.with_kid("2024-06")?;
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("2024-06"));
/// // Secrets shorter than the hash output are refused (RFC 7518 section 3.2).
/// assert!(VerifyingKey::hs256(b"too short").is_err());
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<Box<str>>,
    /// The one issuer whose tokens this key may verify (a key discovered for an issuer), and
    /// that issuer's own rules.
    binding: Option<Arc<Binding>>,
    material: Material,
}

// The pre-keyed HMAC state is kept inline: it is read on every HS verification.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Material {
    Hmac(HmacKey),
    #[cfg(feature = "aws-lc")]
    Public(public::PublicKey),
}

impl VerifyingKey {
    /// An HS256 key. The secret must be at least 32 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An HS384 key. The secret must be at least 48 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs384(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS384, secret)
    }

    /// An HS512 key. The secret must be at least 64 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] for a shorter secret.
    pub fn hs512(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS512, secret)
    }

    /// An HMAC key for `alg` (which must be one of the HS algorithms).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] when the secret is shorter than the hash output.
    pub fn hmac(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Ok(Self {
            alg,
            kid: None,
            binding: None,
            material: Material::Hmac(HmacKey::new(alg, secret.as_ref())?),
        })
    }

    pub(crate) fn from_parts(alg: Algorithm, kid: Option<Box<str>>, material: Material) -> Self {
        Self {
            alg,
            kid,
            binding: None,
            material,
        }
    }

    /// A public key from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`) or DER
    /// (SubjectPublicKeyInfo, PKCS#1 `RSAPublicKey` or certificate), bound to the algorithm its
    /// kind implies: EC keys by curve (P-256 → ES256, P-384 → ES384, P-521 → ES512), Ed25519 →
    /// EdDSA, RSA → RS256 (see [`with_algorithm`](Self::with_algorithm) for the others).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for an unreadable, unsupported or weak key (RSA under 2048
    /// bits, an even modulus, exponent 1, a point off its curve).
    #[cfg(feature = "aws-lc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-lc")))]
    pub fn from_public_key(bytes: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let parts = der::parse_public(bytes.as_ref())?;
        let alg = public::default_algorithm(&parts);
        Self::public(alg, parts)
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn public(alg: Algorithm, parts: der::PublicParts) -> Result<Self, ConfigError> {
        Ok(Self {
            alg,
            kid: None,
            binding: None,
            material: Material::Public(public::PublicKey::new(alg, parts)?),
        })
    }

    /// Rebinds a public key to another algorithm of its kind (an RSA key to PS256, say).
    ///
    /// # Errors
    /// [`ConfigError::WrongKeyType`] when `alg` does not fit the key (ES384 for a P-256 key, any
    /// change of an HMAC key's algorithm).
    pub fn with_algorithm(self, alg: Algorithm) -> Result<Self, ConfigError> {
        if alg == self.alg {
            return Ok(self);
        }
        match self.material {
            Material::Hmac(_) => Err(ConfigError::WrongKeyType { algorithm: alg }),
            #[cfg(feature = "aws-lc")]
            Material::Public(key) => {
                let mut rebound = Self::public(alg, key.parts().clone())?;
                rebound.kid = self.kid;
                rebound.binding = self.binding;
                Ok(rebound)
            }
        }
    }

    /// The public key's parts, for JWK export and thumbprints (`None` for HMAC keys).
    #[cfg(feature = "aws-lc")]
    pub(crate) fn public_parts(&self) -> Option<&der::PublicParts> {
        match &self.material {
            Material::Hmac(_) => None,
            Material::Public(key) => Some(key.parts()),
        }
    }

    /// Names the key, for key rings and for the `kid` check of a static key.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKeyId`] for an empty `kid` or one over 256 bytes.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        self.kid = Some(check_kid(kid.into())?);
        Ok(self)
    }

    /// Binds the key to one issuer: a token it verifies must carry `iss` equal to `issuer`,
    /// whatever [`Validation`](crate::Validation) it is checked under (a validation that
    /// lists other issuers only accepts nothing from this key). [`Validation::verify_jws`](crate::Validation::verify_jws),
    /// which reads no claims, does not apply it. Keys a
    /// [`JwksResolver::oidc`](crate::JwksResolver::oidc) discovers are bound to their issuer, so
    /// that a key set serving several tenants never lets one tenant's token pass as another's.
    ///
    /// ```
    /// use tower_jwt_auth::{AuthErrorKind, SigningKey, Validation};
    ///
    /// let signing = SigningKey::hs256([3u8; 32])?;
    /// let key = signing.verifying_key().with_issuer("https://tenant-a.example.com")?;
    /// let exp = tower_jwt_auth::NumericDate::now().as_secs() + 60;
    /// let other = signing.sign(&serde_json::json!({"iss": "https://tenant-b.example.com", "exp": exp}))?;
    /// let err = Validation::new().verify::<serde_json::Value>(&other, &key).unwrap_err();
    /// assert_eq!(err.kind(), AuthErrorKind::InvalidIssuer);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::EmptyValue`] for an empty issuer.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::EmptyValue("issuer"));
        }
        self.binding = Some(Arc::new(Binding::issuer(&issuer)));
        Ok(self)
    }

    /// Binds the key to an issuer and that issuer's rules (shared by its keys).
    #[cfg(feature = "jwks")]
    pub(crate) fn with_binding(mut self, binding: Arc<Binding>) -> Self {
        self.binding = Some(binding);
        self
    }

    /// The issuer this key is bound to, if any (see [`with_issuer`](Self::with_issuer)).
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.binding.as_deref().map(Binding::issuer_str)
    }

    /// The bound issuer as a one-element list, the shape the claims reader matches against.
    pub(crate) fn issuer_list(&self) -> Option<&[Box<str>]> {
        self.binding.as_deref().map(Binding::issuer_list)
    }

    /// The bound issuer's own audiences, which replace the validation's.
    pub(crate) fn bound_audiences(&self) -> Option<&[Box<str>]> {
        self.binding.as_deref().and_then(Binding::audiences)
    }

    /// The bound issuer's own leeway, which replaces the validation's.
    pub(crate) fn bound_leeway(&self) -> Option<u64> {
        self.binding.as_deref().and_then(Binding::leeway)
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn material_clone(&self) -> Material {
        self.material.clone()
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's `kid`, if it has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Checks the signature of a compact JWS's signing input; the caller has already checked
    /// that the token's `alg` is this key's.
    pub(crate) fn verify_signature(&self, signing_input: &[u8], signature_b64: &str) -> bool {
        match &self.material {
            Material::Hmac(k) => k.verify(signing_input, signature_b64),
            #[cfg(feature = "aws-lc")]
            Material::Public(k) => k.verify(signing_input, signature_b64),
        }
    }
}

pub(crate) fn check_kid(kid: String) -> Result<Box<str>, ConfigError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err(ConfigError::InvalidKeyId);
    }
    Ok(kid.into_boxed_str())
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer())
            .field("material", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = VerifyingKey::hs256(b"super-secret-value-that-is-32-bytes!!").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("super"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
