//! The key hierarchy in memory: the root key unwraps versioned key-encryption keys (KEKs) and the
//! blind-index master key; KEKs wrap each subject's data key. Loaded once at start-up.

use std::collections::BTreeMap;

use kluis_crypto::{BlindIndexer, SecretKey, aad, unwrap_key, wrap_key};
use kluis_domain::Timestamp;
use kluis_domain::fields::IndexName;
use kluis_store::{AuditLogRecord, KeyringRecord, StoredKek};

use crate::VaultError;

/// Fingerprint domain of the root key (stored in the database, compared at start-up).
const ROOT_FINGERPRINT_DOMAIN: &str = "root-key";

/// Unwrapped keys. No `Clone`; `Debug` shows versions only.
pub struct Keyring {
    keks: BTreeMap<u32, SecretKey>,
    current_kek: u32,
    indexer: BlindIndexer,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("kek_versions", &self.keks.keys().collect::<Vec<_>>())
            .field("current_kek", &self.current_kek)
            .finish_non_exhaustive()
    }
}

fn index_names() -> Vec<&'static str> {
    IndexName::ALL.iter().map(|i| i.as_str()).collect()
}

/// Hex of the first 8 bytes: enough to tell fingerprints apart in a message.
pub fn short_fingerprint(fp: &[u8; 32]) -> String {
    hex::encode(&fp[..8])
}

impl Keyring {
    /// The stored fingerprint of a root key.
    pub fn root_fingerprint(root: &SecretKey) -> [u8; 32] {
        root.fingerprint(ROOT_FINGERPRINT_DOMAIN)
    }

    /// Creates a fresh hierarchy under `root`: KEK version 1 and a blind-index master key.
    pub fn create(root: &SecretKey, now: Timestamp) -> Result<(Keyring, KeyringRecord), VaultError> {
        let kek = SecretKey::generate()?;
        let index_master = SecretKey::generate()?;
        let record = KeyringRecord {
            root_fingerprint: Self::root_fingerprint(root),
            index_key_wrapped: wrap_key(root, &index_master, &aad::index_key())?,
            keks: vec![StoredKek { version: 1, wrapped: wrap_key(root, &kek, &aad::kek(1))?, created_at: now }],
            // Filled in by the caller, which owns the audit log's identity.
            audit: AuditLogRecord { origin: String::new(), public_key: [0; 32] },
        };
        let keyring = Keyring {
            keks: BTreeMap::from([(1, kek)]),
            current_kek: 1,
            indexer: BlindIndexer::new(&index_master, &index_names()),
        };
        Ok((keyring, record))
    }

    /// Unwraps a stored hierarchy. Refuses a root key whose fingerprint differs from the stored one.
    pub fn open(root: &SecretKey, record: &KeyringRecord) -> Result<Keyring, VaultError> {
        let given = Self::root_fingerprint(root);
        if !kluis_crypto::ct_eq(&given, &record.root_fingerprint) {
            return Err(VaultError::WrongRootKey {
                expected: short_fingerprint(&record.root_fingerprint),
                given: short_fingerprint(&given),
            });
        }
        let mut keks = BTreeMap::new();
        for stored in &record.keks {
            let kek = unwrap_key(root, &stored.wrapped, &aad::kek(stored.version))
                .map_err(|_| VaultError::KeyringCorrupt(format!("key-encryption key version {}", stored.version)))?;
            keks.insert(stored.version, kek);
        }
        let current_kek =
            *keks.keys().next_back().ok_or_else(|| VaultError::KeyringCorrupt("no key-encryption key".into()))?;
        let index_master = unwrap_key(root, &record.index_key_wrapped, &aad::index_key())
            .map_err(|_| VaultError::KeyringCorrupt("blind-index key".into()))?;
        Ok(Keyring { keks, current_kek, indexer: BlindIndexer::new(&index_master, &index_names()) })
    }

    pub fn current_kek_version(&self) -> u32 {
        self.current_kek
    }

    pub(crate) fn kek(&self, version: u32) -> Option<&SecretKey> {
        self.keks.get(&version)
    }

    pub(crate) fn indexer(&self) -> &BlindIndexer {
        &self.indexer
    }
}
