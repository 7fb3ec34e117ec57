//! Blind indexes: keyed hashes of (normalised) values, so the vault can find exact matches
//! without decrypting. Each index has its own key, so digests of the same value in two indexes
//! cannot be linked, and all index keys derive from one master key that is separate from the
//! per-subject data keys (erasing a subject must not break search for everyone else).

use core::fmt;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::primitives::{HmacSha256, hkdf_sha256, hmac_sha256_finish, hmac_sha256_keyed};
use crate::{CryptoError, KEY_LEN, SecretKey};

/// HKDF salt for per-index keys; frozen.
const INDEX_KEY_SALT: &[u8] = b"kluis/v1/blind-index";

/// Computes blind-index digests for a fixed set of named indexes.
///
/// Per-index key = HKDF-SHA256(ikm = master, salt = `"kluis/v1/blind-index"`, info = index
/// name); digest = HMAC-SHA256(index key, term). The keys are derived once in [`Self::new`] and
/// kept only as keyed HMAC states, which are wiped on drop. `Debug` shows index names only.
pub struct BlindIndexer {
    indexes: BTreeMap<String, HmacSha256>,
}

impl BlindIndexer {
    /// Derives a key for each of `index_names` from the blind-index master key. Repeated names
    /// are harmless.
    pub fn new(master: &SecretKey, index_names: &[&str]) -> BlindIndexer {
        let indexes = index_names
            .iter()
            .map(|&name| {
                let mut index_key = Zeroizing::new([0u8; KEY_LEN]);
                hkdf_sha256(INDEX_KEY_SALT, master.expose(), &[name.as_bytes()], &mut index_key);
                (name.to_owned(), hmac_sha256_keyed(&index_key[..]))
            })
            .collect();
        BlindIndexer { indexes }
    }

    /// HMAC-SHA256 of `term` under the key of `index`. Normalise the term first (the caller
    /// knows the field's rules); this function hashes bytes as given.
    pub fn digest(&self, index: &str, term: &[u8]) -> Result<[u8; 32], CryptoError> {
        let keyed = self.indexes.get(index).ok_or_else(|| CryptoError::UnknownIndex(index.to_owned()))?;
        Ok(hmac_sha256_finish(keyed, term))
    }

    /// The configured index names, in sorted order.
    pub fn index_names(&self) -> impl Iterator<Item = &str> {
        self.indexes.keys().map(String::as_str)
    }
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexer")
            .field("indexes", &self.indexes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_index_is_an_error() {
        let indexer = BlindIndexer::new(&SecretKey::from_bytes([1; 32]), &["email"]);
        assert_eq!(indexer.digest("phone", b"x"), Err(CryptoError::UnknownIndex("phone".to_owned())));
        assert!(indexer.digest("email", b"x").is_ok());
    }

    #[test]
    fn digests_depend_on_master_index_and_term() {
        let a = BlindIndexer::new(&SecretKey::from_bytes([1; 32]), &["email", "phone", "email"]);
        let b = BlindIndexer::new(&SecretKey::from_bytes([2; 32]), &["email"]);
        let d = |ix: &BlindIndexer, i: &str, t: &[u8]| ix.digest(i, t).unwrap();
        assert_eq!(d(&a, "email", b"x"), d(&a, "email", b"x"));
        assert_ne!(d(&a, "email", b"x"), d(&a, "email", b"y"));
        assert_ne!(d(&a, "email", b"x"), d(&a, "phone", b"x"));
        assert_ne!(d(&a, "email", b"x"), d(&b, "email", b"x"));
        assert_eq!(a.index_names().collect::<Vec<_>>(), ["email", "phone"]);
    }

    #[test]
    fn debug_shows_names_not_keys() {
        let master = SecretKey::from_bytes([0x5a; 32]);
        let indexer = BlindIndexer::new(&master, &["email"]);
        let shown = format!("{indexer:?} {indexer:#?}");
        assert!(shown.contains("email"));
        assert!(!shown.contains(master.to_hex().as_str()));
        assert!(!shown.contains("5a5a"));
        let mut index_key = [0u8; 32];
        hkdf_sha256(INDEX_KEY_SALT, master.expose(), &[b"email"], &mut index_key);
        assert!(!shown.contains(&hex::encode(index_key)));
    }
}
