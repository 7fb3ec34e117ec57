//! The storage port: one trait with one method per use case. Adapters (SQLite, PostgreSQL) implement
//! it; nothing above this crate knows which database holds the data. Everything crossing this port
//! is already encrypted or hashed: values are ciphertexts, index entries are HMAC digests, keys are
//! wrapped, tokens are hashes, audit events hold no personal data.

use std::future::Future;

pub use kluis_crypto::merkle::{Hash, NodeId};
use kluis_domain::audit::AuditEvent;
use kluis_domain::{SubjectId, SubjectKind, Timestamp, TokenId};

/// A key-encryption key, wrapped under the root key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKek {
    pub version: u32,
    pub wrapped: Vec<u8>,
    pub created_at: Timestamp,
}

/// What is stored once per database about the key hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringRecord {
    /// Fingerprint of the root key this database was initialised with.
    pub root_fingerprint: [u8; 32],
    /// The blind-index master key, wrapped under the root key.
    pub index_key_wrapped: Vec<u8>,
    /// Every key-encryption key, oldest first.
    pub keks: Vec<StoredKek>,
    /// The audit log's identity (the checkpoint origin line) and the public half of the audit
    /// signing key, so a server refuses to sign with a key auditors do not know.
    pub audit: AuditLogRecord,
}

/// Identity of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLogRecord {
    pub origin: String,
    pub public_key: [u8; 32],
}

/// One stored Merkle node of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNode {
    pub id: NodeId,
    /// The leaf whose append completed this node.
    pub completed_by: u64,
    pub hash: Hash,
}

/// A signed checkpoint of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub created_at: Timestamp,
    /// The signed note, as published.
    pub note: String,
}

/// A subject's data key, wrapped under a key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    /// Generation of the data key itself (bound into every value's associated data).
    pub key_version: u32,
    /// Version of the key-encryption key that wraps it.
    pub kek_version: u32,
    pub wrapped: Vec<u8>,
}

/// One encrypted field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredValue {
    pub field: String,
    pub key_version: u32,
    pub ciphertext: Vec<u8>,
}

/// One blind-index entry: the index name and the HMAC digest of the normalised term.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexEntry {
    pub index: String,
    pub digest: Vec<u8>,
}

/// A subject to create, fully encrypted.
#[derive(Debug, Clone)]
pub struct NewSubject {
    pub id: SubjectId,
    pub kind: SubjectKind,
    pub created_at: Timestamp,
    pub data_key: WrappedDataKey,
    pub values: Vec<StoredValue>,
    pub index: Vec<IndexEntry>,
}

/// A stored subject as the adapter returns it: still encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRecord {
    pub id: SubjectId,
    pub kind: SubjectKind,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Increments on every change; updates name the revision they were computed from.
    pub revision: i64,
    pub data_key: WrappedDataKey,
    /// Sorted by field name.
    pub values: Vec<StoredValue>,
}

/// A change to a subject, computed from `expected_revision`.
#[derive(Debug, Clone)]
pub struct SubjectChange {
    pub id: SubjectId,
    pub expected_revision: i64,
    pub updated_at: Timestamp,
    /// Values to insert or replace.
    pub set: Vec<StoredValue>,
    /// Fields whose values are removed.
    pub remove: Vec<String>,
    /// The complete new set of index entries of the subject (replaces the old set).
    pub index: Vec<IndexEntry>,
}

/// An API token, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub name: String,
    pub hash: [u8; 32],
    pub role: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One stored audit event: its canonical bytes, which are the Merkle leaf `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    pub seq: u64,
    pub event: Vec<u8>,
}

/// One stored version of the register (the TOML source, as loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRegisterVersion {
    /// 1, 2, 3, …: one more than the version before.
    pub version: u64,
    pub loaded_at: Timestamp,
    /// SHA-256 of `source`.
    pub sha256: [u8; 32],
    pub source: String,
    /// The actor that loaded it, as encoded in the audit log (`cli:alice`, `token:…`).
    pub loaded_by: String,
}

/// A register version without its source, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterVersionSummary {
    pub version: u64,
    pub loaded_at: Timestamp,
    pub sha256: [u8; 32],
    pub loaded_by: String,
}

impl From<&StoredRegisterVersion> for RegisterVersionSummary {
    fn from(v: &StoredRegisterVersion) -> Self {
        RegisterVersionSummary {
            version: v.version,
            loaded_at: v.loaded_at,
            sha256: v.sha256,
            loaded_by: v.loaded_by.clone(),
        }
    }
}

/// Storage failures. Messages name tables and ids, never values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database already holds a keyring")]
    AlreadyInitialised,
    #[error("subject {0} not found")]
    NotFound(SubjectId),
    #[error("subject {0} changed concurrently (revision mismatch)")]
    Conflict(SubjectId),
    #[error("a record with this id already exists")]
    Duplicate,
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
}

/// The storage port. Methods that touch personal data take the audit event(s) to append and
/// append them in the same transaction as the change (DESIGN §4.4: fail-closed). For reads the
/// event is committed before the data is returned.
pub trait Store: Clone + Send + Sync + 'static {
    /// Which backend this is, for logs and health output ("sqlite", "postgres").
    fn backend(&self) -> &'static str;

    /// Liveness of the database.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The keyring, if the database has been initialised.
    fn keyring(&self) -> impl Future<Output = Result<Option<KeyringRecord>, StoreError>> + Send;

    /// Stores the keyring of a fresh database together with its first token. Fails with
    /// `AlreadyInitialised` if a keyring exists; then nothing changes.
    fn initialise(
        &self,
        keyring: &KeyringRecord,
        admin_token: &TokenRecord,
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Looks up a token by its hash (revoked tokens are returned too; the caller decides).
    fn token_by_hash(&self, hash: &[u8; 32]) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Creates a subject with its values and index entries.
    fn create_subject(
        &self,
        subject: &NewSubject,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Loads a subject without auditing: for recomputing derived data inside an audited change.
    fn load_subject(&self, id: SubjectId) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send;

    /// Reads a subject for a caller. `audit` is called with the record (or `None`) and returns the
    /// event to commit before the record is handed out.
    fn read_subject<F>(
        &self,
        id: SubjectId,
        audit: F,
    ) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send
    where
        F: FnOnce(Option<&SubjectRecord>) -> AuditEvent + Send;

    /// Finds subjects by a blind-index digest, appending the events `audit` builds from the matches.
    fn find_subjects<F>(
        &self,
        entry: &IndexEntry,
        audit: F,
    ) -> impl Future<Output = Result<Vec<SubjectRecord>, StoreError>> + Send
    where
        F: FnOnce(&[SubjectRecord]) -> Vec<AuditEvent> + Send;

    /// Applies a change if the subject is still at `expected_revision`.
    fn update_subject(
        &self,
        change: &SubjectChange,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Erases a subject: its wrapped data key, values and index entries are deleted and the erasure
    /// is written to the erasure ledger, all with the event `audit` builds from whether the subject
    /// existed. Returns whether it existed.
    fn erase_subject<F>(
        &self,
        id: SubjectId,
        erased_at: Timestamp,
        audit: F,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send
    where
        F: FnOnce(bool) -> AuditEvent + Send;

    /// Whether `id` is in the erasure ledger.
    fn is_erased(&self, id: SubjectId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Appends audit events on their own (e.g. an integrity failure seen after a read).
    fn append_audit(&self, events: &[AuditEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Audit events with `seq >= from`, at most `limit`, in order.
    fn audit_events(
        &self,
        from: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredAuditEvent>, StoreError>> + Send;

    /// The number of events in the audit log (the tree size).
    fn audit_size(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The hashes of the given perfect subtrees, in the order asked. A node that is not stored is
    /// `Corrupt` (every perfect subtree of the log is stored when it completes).
    fn audit_nodes(&self, ids: &[NodeId]) -> impl Future<Output = Result<Vec<Hash>, StoreError>> + Send;

    /// The stored nodes completed by leaves `first..=last`, in append order (by `completed_by`,
    /// then level): for full verification, page by page alongside the events.
    fn audit_nodes_completed_by(
        &self,
        first: u64,
        last: u64,
    ) -> impl Future<Output = Result<Vec<StoredNode>, StoreError>> + Send;

    /// Signs a checkpoint of the log as it is now: with appends held off, computes the root of the
    /// current size, asks `sign` for the note, and stores it. If a checkpoint of this size exists,
    /// that one is returned and `sign` is not called.
    fn checkpoint<F>(
        &self,
        now: Timestamp,
        sign: F,
    ) -> impl Future<Output = Result<StoredCheckpoint, StoreError>> + Send
    where
        F: FnOnce(u64, &Hash) -> Result<String, String> + Send;

    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> impl Future<Output = Result<Option<StoredCheckpoint>, StoreError>> + Send;

    /// Checkpoints with `size >= from_size`, oldest first, at most `limit`.
    fn checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredCheckpoint>, StoreError>> + Send;

    /// Stores a new register version, numbered one more than the latest, with the event `audit`
    /// builds from that number, in one transaction. Versions are immutable and never deleted.
    /// If `sha256` equals the latest version's, nothing is written and no event is appended: that
    /// version is returned unchanged (loading the same file twice is a no-op).
    fn add_register_version<F>(
        &self,
        source: &str,
        sha256: &[u8; 32],
        loaded_at: Timestamp,
        loaded_by: &str,
        audit: F,
    ) -> impl Future<Output = Result<StoredRegisterVersion, StoreError>> + Send
    where
        F: FnOnce(u64) -> AuditEvent + Send;

    /// One register version.
    fn register_version(
        &self,
        version: u64,
    ) -> impl Future<Output = Result<Option<StoredRegisterVersion>, StoreError>> + Send;

    /// The newest register version, if any was loaded.
    fn latest_register_version(&self)
    -> impl Future<Output = Result<Option<StoredRegisterVersion>, StoreError>> + Send;

    /// Every register version, oldest first, without their sources.
    fn register_versions(&self) -> impl Future<Output = Result<Vec<RegisterVersionSummary>, StoreError>> + Send;

    /// Number of subjects, index entries and values held, for health output and tests.
    fn counts(&self) -> impl Future<Output = Result<Counts, StoreError>> + Send;
}

/// Row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub subjects: i64,
    pub values: i64,
    pub index_entries: i64,
    pub audit_events: i64,
    pub erasures: i64,
}
