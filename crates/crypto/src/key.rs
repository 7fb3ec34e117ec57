//! The 256-bit secret key type used at every level of the key hierarchy (root key, key-encryption
//! keys, per-subject data keys, blind-index master key). It cannot be copied, cloned, printed or
//! serialized, and it wipes itself when dropped.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;
use crate::primitives::{fill_random, hkdf_sha256};

/// Length of every secret key in bytes.
pub const KEY_LEN: usize = 32;

/// HKDF salt for key fingerprints; frozen.
const FINGERPRINT_SALT: &[u8] = b"kluis/v1";
/// HKDF info prefix for key fingerprints; the caller's domain follows it. Frozen.
const FINGERPRINT_INFO_PREFIX: &[u8] = b"fingerprint/";

/// A 256-bit secret key.
///
/// The bytes live on the heap so that moving a `SecretKey` moves a pointer and leaves no stray
/// copies of the key on the stack. They are zeroized on drop. There is deliberately no `Clone`,
/// `Copy`, `Display` or `Serialize`, and `Debug` prints `SecretKey(<redacted>)`.
pub struct SecretKey(Box<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<SecretKey, CryptoError> {
        let mut key = SecretKey::zeroed();
        fill_random(&mut key.0[..])?;
        Ok(key)
    }

    /// Takes ownership of raw key bytes. The argument's copy is wiped after it has been moved to
    /// the heap; a copy the caller still holds is the caller's to wipe.
    pub fn from_bytes(mut bytes: [u8; KEY_LEN]) -> SecretKey {
        let mut key = SecretKey::zeroed();
        key.0.copy_from_slice(&bytes);
        bytes.zeroize();
        key
    }

    /// Copies a key out of a slice, which must be exactly [`KEY_LEN`] bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<SecretKey, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::KeyFormat);
        }
        let mut key = SecretKey::zeroed();
        key.0.copy_from_slice(bytes);
        Ok(key)
    }

    /// Parses 64 hexadecimal characters (either case), ignoring surrounding whitespace such as
    /// the newline at the end of a key file. The error never repeats the input.
    pub fn from_hex(s: &str) -> Result<SecretKey, CryptoError> {
        let s = s.trim();
        if s.len() != 2 * KEY_LEN {
            return Err(CryptoError::KeyFormat);
        }
        let mut key = SecretKey::zeroed();
        // Decode straight into the heap buffer; on error it is wiped when `key` drops.
        hex::decode_to_slice(s, &mut key.0[..]).map_err(|_| CryptoError::KeyFormat)?;
        Ok(key)
    }

    /// Lower-case hex of the key, for writing a key file. The string wipes itself on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // Exact capacity up front, so the string is never reallocated and never leaves a copy.
        let mut out = Zeroizing::new(String::with_capacity(2 * KEY_LEN));
        for byte in self.0.iter() {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// A non-secret fingerprint of this key for `domain`:
    /// HKDF-SHA256(ikm = key, salt = `"kluis/v1"`, info = `"fingerprint/"` ‖ domain), 32 bytes.
    ///
    /// Stored next to the data so kluis can refuse to start with the wrong root key. Different
    /// domains give unrelated fingerprints, so one fingerprint reveals nothing about another.
    pub fn fingerprint(&self, domain: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hkdf_sha256(FINGERPRINT_SALT, &self.0[..], &[FINGERPRINT_INFO_PREFIX, domain.as_bytes()], &mut out);
        out
    }

    /// The raw key bytes, for the ciphers and KDFs in this crate only.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The raw key bytes for writing in place (decryption straight into a key).
    pub(crate) fn expose_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }

    /// An all-zero key to be filled in place; never handed out unfilled.
    pub(crate) fn zeroed() -> SecretKey {
        SecretKey(Box::new([0u8; KEY_LEN]))
    }
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hex_round_trip_and_trim() {
        let key = SecretKey::from_hex(&format!("  {}\n", HEX.to_uppercase())).unwrap();
        assert_eq!(key.to_hex().as_str(), HEX);
        let bytes: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        assert_eq!(key.expose(), &bytes);
        assert_eq!(SecretKey::from_bytes(bytes).expose(), &bytes);
        assert_eq!(SecretKey::from_slice(&bytes).unwrap().expose(), &bytes);
    }

    #[test]
    fn bad_key_formats_are_rejected_without_echo() {
        let secretish = "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        for bad in ["", &HEX[..62], &format!("{HEX}00"), secretish, &format!("{} {}", &HEX[..32], &HEX[32..62])] {
            let err = SecretKey::from_hex(bad).unwrap_err();
            assert_eq!(err, CryptoError::KeyFormat);
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("0102030405"), "error echoed input: {shown}");
        }
        assert_eq!(SecretKey::from_slice(&[0u8; 31]).unwrap_err(), CryptoError::KeyFormat);
        assert_eq!(SecretKey::from_slice(&[0u8; 33]).unwrap_err(), CryptoError::KeyFormat);
    }

    #[test]
    fn generate_gives_distinct_keys() {
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.expose(), &[0u8; KEY_LEN]);
    }

    #[test]
    fn debug_is_redacted() {
        let key = SecretKey::from_hex(HEX).unwrap();
        let shown = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(!shown.contains(HEX));
        assert!(!shown.contains("0102"));
    }

    #[test]
    fn zeroize_wipes_the_bytes() {
        let mut key = SecretKey::from_hex(HEX).unwrap();
        key.zeroize();
        assert_eq!(key.expose(), &[0u8; KEY_LEN]);
    }

    #[test]
    fn fingerprints_depend_on_key_and_domain() {
        let a = SecretKey::from_hex(HEX).unwrap();
        let b = SecretKey::from_bytes([7u8; 32]);
        assert_ne!(a.fingerprint("root"), a.fingerprint("kek"));
        assert_ne!(a.fingerprint("root"), b.fingerprint("root"));
        assert_eq!(a.fingerprint("root"), a.fingerprint("root"));
    }
}
