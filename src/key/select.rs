//! How a key set picks the key for a token: the one rule of [`KeySet`](super::KeySet) and of the
//! JWKS resolver's snapshot.

use std::borrow::Borrow;

use super::VerifyingKey;
use crate::Algorithm;

/// The key-set policy, shared by [`KeySet`](super::KeySet) and the JWKS resolver: with a `kid`, the key with
/// that `kid` and the token's algorithm; without one, the only key of the token's algorithm.
pub(crate) fn select<K: Borrow<VerifyingKey>>(
    keys: &[K],
    alg: Algorithm,
    kid: Option<&str>,
) -> Option<usize> {
    match kid {
        Some(kid) => keys
            .iter()
            .map(K::borrow)
            .position(|k| k.kid() == Some(kid) && k.algorithm() == alg),
        None => {
            let mut candidates = keys
                .iter()
                .map(K::borrow)
                .enumerate()
                .filter(|(_, k)| k.algorithm() == alg);
            match (candidates.next(), candidates.next()) {
                (Some((index, _)), None) => Some(index),
                _ => None,
            }
        }
    }
}
