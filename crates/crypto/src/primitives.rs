//! Hash, MAC, KDF and randomness building blocks shared by the rest of the crate. The
//! known-answer tests run against these exact functions, so what they check is what we use.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::CryptoError;

/// HMAC-SHA256 state, keyed and ready to absorb a message.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Compares two byte strings in time that depends only on their lengths. Inputs of different
/// lengths are unequal. This is the one comparison to use for secrets, tokens and MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // subtle returns "unequal" for different lengths without looking at the contents.
    a.ct_eq(b).into()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 over the concatenation of `parts`, without building the concatenation.
pub(crate) fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Keys an HMAC-SHA256 state (RFC 2104; any key length is valid).
pub(crate) fn hmac_sha256_keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// Finishes a MAC over `message` from a keyed state, leaving the keyed state reusable.
pub(crate) fn hmac_sha256_finish(keyed: &HmacSha256, message: &[u8]) -> [u8; 32] {
    let mut mac = keyed.clone();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869) extract-then-expand into `okm`; `info` is the concatenation of
/// its parts. `N` is checked at compile time against HKDF's 255-block output limit.
pub(crate) fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[&[u8]], okm: &mut [u8; N]) {
    const { assert!(N <= 255 * 32, "HKDF-SHA256 output is at most 8160 bytes") };
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(salt), ikm);
    hkdf.expand_multi_info(info, okm).expect("output length is checked at compile time");
}

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| {
        // Never leave a partial fill behind that a caller could mistake for randomness.
        buf.zeroize();
        CryptoError::Rng
    })
}
