//! Public-key algorithms (RS*, PS*, ES*, EdDSA) with the aws-lc-rs backend (feature `aws-lc`).
//!
//! The backend is used through explicit algorithm objects only: there is no process-wide
//! provider to install, and nothing here can panic at run time.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair};
use base64::Engine as _;

use super::der::{self, Curve, PrivateKind, PublicParts};
use crate::token::{encoded_len, B64};
use crate::{Algorithm, ConfigError};

/// Smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus the backend verifies, in bits.
const MAX_RSA_BITS: usize = 8192;
/// Largest signature of any supported algorithm (RSA-8192), in bytes.
const MAX_SIGNATURE: usize = MAX_RSA_BITS / 8;

/// A parsed public key bound to one algorithm.
#[derive(Clone)]
pub(crate) struct PublicKey {
    parsed: ParsedPublicKey,
    signature_len: usize,
    parts: PublicParts,
}

/// Whether `alg` can be used with a key of this kind.
pub(crate) fn fits(alg: Algorithm, parts: &PublicParts) -> bool {
    matches!(
        (alg, parts),
        (
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
            PublicParts::Rsa { .. }
        ) | (
            Algorithm::ES256,
            PublicParts::Ec {
                curve: Curve::P256,
                ..
            }
        ) | (
            Algorithm::ES384,
            PublicParts::Ec {
                curve: Curve::P384,
                ..
            }
        ) | (
            Algorithm::ES512,
            PublicParts::Ec {
                curve: Curve::P521,
                ..
            }
        ) | (Algorithm::EdDSA, PublicParts::Ed25519 { .. })
    )
}

/// The algorithm a key of this kind verifies when nothing says otherwise: EC by its curve,
/// Ed25519 → EdDSA, RSA → RS256.
pub(crate) fn default_algorithm(parts: &PublicParts) -> Algorithm {
    match parts {
        PublicParts::Rsa { .. } => Algorithm::RS256,
        PublicParts::Ec {
            curve: Curve::P256, ..
        } => Algorithm::ES256,
        PublicParts::Ec {
            curve: Curve::P384, ..
        } => Algorithm::ES384,
        PublicParts::Ec {
            curve: Curve::P521, ..
        } => Algorithm::ES512,
        PublicParts::Ed25519 { .. } => Algorithm::EdDSA,
    }
}

fn verification(alg: Algorithm) -> Option<&'static dyn signature::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
    })
}

/// Bits of a big-endian unsigned integer without leading zero bytes.
fn bit_len(n: &[u8]) -> usize {
    n.first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
}

impl PublicKey {
    /// Validates the components and parses the key for `alg`.
    pub(crate) fn new(alg: Algorithm, parts: PublicParts) -> Result<Self, ConfigError> {
        if !fits(alg, &parts) {
            return Err(ConfigError::WrongKeyType { algorithm: alg });
        }
        let algorithm = verification(alg).ok_or(ConfigError::WrongKeyType { algorithm: alg })?;
        let (bytes, signature_len) = match &parts {
            PublicParts::Rsa { n, e } => {
                let bits = bit_len(n);
                if bits < MIN_RSA_BITS {
                    return Err(ConfigError::InvalidKey("RSA modulus under 2048 bits"));
                }
                if bits > MAX_RSA_BITS {
                    return Err(ConfigError::InvalidKey("RSA modulus over 8192 bits"));
                }
                if n.last().is_some_and(|b| b & 1 == 0) {
                    return Err(ConfigError::InvalidKey("RSA modulus is even"));
                }
                if bit_len(e) < 2 || e.last().is_some_and(|b| b & 1 == 0) || e.len() > 8 {
                    return Err(ConfigError::InvalidKey(
                        "RSA exponent must be odd and greater than 1",
                    ));
                }
                if has_roca_fingerprint(n) {
                    return Err(ConfigError::InvalidKey(
                        "RSA modulus has the ROCA weakness (CVE-2017-15361)",
                    ));
                }
                (der::encode_rsa_public(n, e), n.len())
            }
            PublicParts::Ec { curve, point } => (point.clone(), 2 * curve.coordinate_len()),
            PublicParts::Ed25519 { x } => (x.clone(), 64),
        };
        let parsed = ParsedPublicKey::new(algorithm, bytes)
            .map_err(|_| ConfigError::InvalidKey("the backend rejected the public key"))?;
        Ok(Self {
            parsed,
            signature_len,
            parts,
        })
    }

    /// Verifies a base64url signature; its length is checked before decoding (fixed-size `r||s`
    /// for ECDSA: DER signatures have another length and are refused).
    pub(crate) fn verify(&self, input: &[u8], signature_b64: &str) -> bool {
        if signature_b64.len() != encoded_len(self.signature_len) {
            return false;
        }
        let mut buf = [0u8; MAX_SIGNATURE + 3];
        let Ok(n) = B64.decode_slice(signature_b64, &mut buf) else {
            return false;
        };
        let Some(signature) = buf.get(..n) else {
            return false;
        };
        self.parsed.verify_sig(input, signature).is_ok()
    }

    pub(crate) fn parts(&self) -> &PublicParts {
        &self.parts
    }
}

/// The ROCA test (Nemec et al., CCS 2017, CVE-2017-15361): moduli made by the vulnerable
/// Infineon library have `n mod p` in the subgroup generated by 65537 modulo each small prime
/// `p`. For the 38 odd primes up to 167 a random modulus passes them all with negligible
/// probability.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101,
        103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
        // Is `residue` a power of 65537 modulo p?
        let g = 65537 % p;
        let mut x = 1 % p;
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * g % p;
        }
        false
    })
}

/// A private key for signing.
pub(crate) enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl PrivateKey {
    /// Parses a PKCS#8 key; returns it with its public half and the default algorithm.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<(Self, PublicParts, Algorithm), ConfigError> {
        let rejected = |_| ConfigError::InvalidKey("the backend rejected the private key");
        let (key, parts) = match der::pkcs8_kind(der)? {
            PrivateKind::Rsa => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let parts = der::parse_rsa_public(pair.public_key().as_ref())?;
                (Self::Rsa(pair), parts)
            }
            PrivateKind::Ec(curve) => {
                let alg = match curve {
                    Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                    Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
                };
                let pair = EcdsaKeyPair::from_pkcs8(alg, der).map_err(rejected)?;
                let parts = der::ec_point(curve, pair.public_key().as_ref().to_vec())?;
                (Self::Ec(pair), parts)
            }
            PrivateKind::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
                let parts = der::ed25519(pair.public_key().as_ref().to_vec())?;
                (Self::Ed25519(pair), parts)
            }
        };
        if let PublicParts::Rsa { n, .. } = &parts {
            if bit_len(n) < MIN_RSA_BITS {
                return Err(ConfigError::InvalidKey("RSA modulus under 2048 bits"));
            }
        }
        let alg = default_algorithm(&parts);
        Ok((key, parts, alg))
    }

    /// Signs `out` (the signing input) with `alg`, then appends `.` and the signature.
    pub(crate) fn sign_in_place_after_dot(&self, alg: Algorithm, out: &mut String) -> Result<(), ()> {
        let signature = match self {
            Self::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => return Err(()),
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &SystemRandom::new(), out.as_bytes(), &mut sig)
                    .map_err(|_| ())?;
                sig
            }
            Self::Ec(pair) => pair
                .sign(&SystemRandom::new(), out.as_bytes())
                .map_err(|_| ())?
                .as_ref()
                .to_vec(),
            Self::Ed25519(pair) => pair.sign(out.as_bytes()).as_ref().to_vec(),
        };
        out.push('.');
        B64.encode_string(signature, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_looking_moduli_have_no_roca_fingerprint() {
        let mut n = vec![0u8; 256];
        for (i, b) in n.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        assert!(!has_roca_fingerprint(&n));
        // 65537^k moduli pass every residue test by construction.
        assert!(has_roca_fingerprint(&[0x01, 0x00, 0x01]));
    }
}
