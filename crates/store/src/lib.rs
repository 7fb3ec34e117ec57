//! The storage port: one trait with one method per use case. Adapters (SQLite, PostgreSQL) implement
//! it; nothing above this crate knows which database holds the data. Everything crossing this port
//! is already encrypted or hashed: values are ciphertexts, index entries are HMAC digests, keys are
//! wrapped, tokens are hashes, audit events hold no personal data.

use std::future::Future;

pub use kluis_crypto::merkle::{Hash, NodeId};
use kluis_domain::audit::AuditEvent;
use kluis_domain::request::{Channel, RequestKind, RequestState, TimelineKind, Verification};
use kluis_domain::{AccountId, RequestId, SubjectId, SubjectKind, Timestamp, TokenId};

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
    /// Under restriction of processing (Art. 18): readable only for `legal_claims` and `storage`.
    pub restricted: bool,
    /// After an erasure that had to keep values under a legal obligation: the only purpose that
    /// may read them, and until when they are kept.
    pub archive: Option<Archive>,
    /// Purposes the subject objected to (Art. 21) or withdrew consent for (Art. 7(3)), sorted.
    pub objections: Vec<String>,
    pub data_key: WrappedDataKey,
    /// Sorted by field name.
    pub values: Vec<StoredValue>,
}

/// The restricted archive of an erased subject's kept values (e.g. invoicing data, AWR art. 52).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub purpose: String,
    pub until: Timestamp,
}

/// A data-subject request. Personal data in it (the requester's address, the details of the
/// request) is sealed under the request's own data key, which is wrapped under a KEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub channel: Channel,
    /// `nl`, `en` or `both`: the language of the notices.
    pub lang: String,
    pub subject: Option<SubjectId>,
    /// The purpose an objection or withdrawal is about.
    pub purpose: Option<String>,
    pub received_at: Timestamp,
    /// `YYYY-MM-DD` (Europe/Amsterdam).
    pub due_on: String,
    pub extended_to: Option<String>,
    pub verification: Option<Verification>,
    pub verified_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub id_upload_allowed: bool,
    /// The request's data key, wrapped under a KEK; `None` once destroyed.
    pub data_key: Option<SealedSecret>,
    pub contact: Option<Vec<u8>>,
    pub details: Option<Vec<u8>>,
    /// Increments on every update; [`Store::update_request`] names the revision it read.
    pub revision: i64,
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub kind: TimelineKind,
    /// Who (an encoded audit actor, or `requester`).
    pub actor: String,
    /// The state after the entry.
    pub state: RequestState,
    /// A stable code with more detail (a notice name, an outcome, a recipient key); never input.
    pub detail: Option<String>,
    /// Free text (reasons, a justification), sealed under the request's key.
    pub note: Option<Vec<u8>>,
}

/// A mailed verification code, stored as its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCode {
    pub hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: u32,
}

/// An uploaded ID document in quarantine, sealed under the request's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    pub content_type: String,
    pub size: u64,
    pub uploaded_at: Timestamp,
    pub sealed: Vec<u8>,
}

/// A sealed export of a request (access or portability), reachable by the hash of its download
/// token until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredExport {
    pub id: String,
    pub request: RequestId,
    /// `json`, `csv_zip`, `html`, `csv`.
    pub format: String,
    pub token_hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub sealed: Vec<u8>,
}

/// What [`Store::archive_subject`] keeps.
#[derive(Debug, Clone)]
pub struct ArchiveChange {
    pub id: SubjectId,
    pub expected_revision: i64,
    pub at: Timestamp,
    /// The fields whose values are kept; every other value and every index entry of a removed
    /// value is deleted.
    pub keep: Vec<String>,
    /// The index entries of the kept values (replaces the subject's set).
    pub index: Vec<IndexEntry>,
    pub archive: Archive,
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
    /// `break_glass` (the token `kluis init` prints), `service` (purposes only), or a staff role
    /// name (`auditor`, …) whose permissions and purposes the token carries.
    pub role: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The purposes the token is scoped to; `None` means the role's purposes.
    pub purposes: Option<Vec<String>>,
    /// Canonical CIDR entries; empty means any address.
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// A secret sealed (AES-256-GCM) under a key-encryption key of the keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub kek_version: u32,
    pub sealed: Vec<u8>,
}

/// A personal staff account. Passwords are Argon2id PHC strings, TOTP seeds are sealed, the
/// enrolment secret is a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    /// The login name: a handle (`[a-z0-9._-]`), unique.
    pub username: String,
    /// A role name (`admin`, `dpo`, `staff`, `accountant`, `auditor`).
    pub role: String,
    /// `None` until the person sets a password at enrolment.
    pub password_hash: Option<String>,
    /// `None` until enrolment.
    pub totp_seed: Option<SealedSecret>,
    /// When the first valid TOTP code was accepted: enrolment is complete.
    pub totp_confirmed_at: Option<Timestamp>,
    /// Canonical CIDR entries; empty means any address.
    pub allowed_ips: Vec<String>,
    /// Hash of the one-time enrolment secret, while enrolment is open.
    pub enrolment_hash: Option<[u8; 32]>,
    pub enrolment_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    /// Increments on every update; [`Store::update_account`] names the revision it read.
    pub revision: i64,
}

/// A console session, stored only as the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub hash: [u8; 32],
    pub account: AccountId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Absolute end, whatever the activity.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Failed-login bookkeeping for one throttle key (an account name or a client address, hashed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Consecutive failures since the last success or reset.
    pub failures: u32,
    pub last_failure_at: Timestamp,
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

    /// Stores the keyring of a fresh database together with its first token and, when given, its
    /// first account with its recovery-code hashes, in one transaction. Fails with
    /// `AlreadyInitialised` if a keyring exists; then nothing changes.
    fn initialise(
        &self,
        keyring: &KeyringRecord,
        admin_token: &TokenRecord,
        first_account: Option<(&AccountRecord, &[[u8; 32]])>,
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

    /// Creates several subjects (wrapped data keys, values, index entries) and appends `audit`, all
    /// in one transaction: the batch lands completely or not at all. `Duplicate` if an id exists
    /// already or occurs twice in the batch; then nothing of the batch is stored and no event is
    /// appended. Each subject is stored exactly as [`Store::create_subject`] would store it.
    fn create_subjects(
        &self,
        subjects: &[NewSubject],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Loads a subject without auditing: for recomputing derived data inside an audited change.
    fn load_subject(&self, id: SubjectId) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send;

    /// Reads a subject for a caller. `audit` is called with the record (or `None`) and returns the
    /// event to commit before the record is handed out. It may be called more than once (a read
    /// made again because the subject changed meanwhile): the event of its last call, made with
    /// the record returned, is the one committed.
    fn read_subject<F>(
        &self,
        id: SubjectId,
        audit: F,
    ) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send
    where
        F: FnMut(Option<&SubjectRecord>) -> AuditEvent + Send;

    /// Finds subjects by a blind-index digest, appending the events `audit` builds from the matches
    /// (called again, like [`Store::read_subject`]'s, when the search is made again; its last
    /// call's events are committed).
    fn find_subjects<F>(
        &self,
        entry: &IndexEntry,
        audit: F,
    ) -> impl Future<Output = Result<Vec<SubjectRecord>, StoreError>> + Send
    where
        F: FnMut(&[SubjectRecord]) -> Vec<AuditEvent> + Send;

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

    // -- Access control: tokens, accounts, sessions, login throttling, restriction -------------

    /// Stores a new token. `Duplicate` if its id or hash exists.
    fn create_token(
        &self,
        token: &TokenRecord,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every token (revoked ones too), oldest first.
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Revokes a token that exists and is not revoked yet, with the event `audit` builds from
    /// whether it did. Returns whether it did.
    fn revoke_token<F>(
        &self,
        id: TokenId,
        now: Timestamp,
        audit: F,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send
    where
        F: FnOnce(bool) -> AuditEvent + Send;

    /// Creates an account with its recovery-code hashes. `Duplicate` if the id or the username
    /// is taken; then nothing changes.
    fn create_account(
        &self,
        account: &AccountRecord,
        recovery_codes: &[[u8; 32]],
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn account(&self, id: AccountId) -> impl Future<Output = Result<Option<AccountRecord>, StoreError>> + Send;

    fn account_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<AccountRecord>, StoreError>> + Send;

    /// The account whose open enrolment has this secret hash.
    fn account_by_enrolment(
        &self,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<AccountRecord>, StoreError>> + Send;

    /// Every account, by username.
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountRecord>, StoreError>> + Send;

    /// Replaces an account's stored state if it is still at `account.revision` (the stored
    /// revision becomes one more), and, when `recovery_codes` is given, replaces all its
    /// recovery codes; appends `audit` in the same transaction. Returns false, changing nothing,
    /// when the account is gone or was changed concurrently.
    fn update_account(
        &self,
        account: &AccountRecord,
        recovery_codes: Option<&[[u8; 32]]>,
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that TOTP time step `step` was used, only if it is later than every step used
    /// before (atomic: of two concurrent logins with the same code one wins). Returns whether
    /// it was recorded.
    fn advance_totp_step(&self, id: AccountId, step: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Hashes of the account's unused recovery codes.
    fn recovery_codes(&self, id: AccountId) -> impl Future<Output = Result<Vec<[u8; 32]>, StoreError>> + Send;

    /// Marks an unused recovery code used. Returns false if it was not unused (atomic).
    fn use_recovery_code(
        &self,
        id: AccountId,
        hash: &[u8; 32],
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a new session with the events (the successful login) in one transaction.
    fn create_session(
        &self,
        session: &SessionRecord,
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn session(&self, hash: &[u8; 32]) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Sets a live session's `last_seen_at`.
    fn touch_session(&self, hash: &[u8; 32], now: Timestamp) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes one live session with `audit`. Returns whether it was live.
    fn revoke_session(
        &self,
        hash: &[u8; 32],
        now: Timestamp,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every live session of an account with `audit`. Returns how many.
    fn revoke_sessions(
        &self,
        account: AccountId,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The failure count of a throttle key.
    fn throttle(&self, key: &str) -> impl Future<Output = Result<Option<Throttle>, StoreError>> + Send;

    /// Counts one more failure for `key` (atomically) and returns the new state.
    fn throttle_failure(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Throttle, StoreError>> + Send;

    /// Forgets the failures of `key` (after a successful login or an unlock).
    fn throttle_reset(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets or lifts the Art. 18 restriction of a subject with the event `audit` builds from
    /// whether the subject exists. Returns whether it exists.
    fn set_restricted<F>(
        &self,
        id: SubjectId,
        restricted: bool,
        now: Timestamp,
        audit: F,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send
    where
        F: FnOnce(bool) -> AuditEvent + Send;

    /// Number of subjects, index entries and values held, for health output and tests.
    fn counts(&self) -> impl Future<Output = Result<Counts, StoreError>> + Send;

    // ---- data-subject requests ----

    /// Stores a new request with its first timeline entries and audit events.
    fn create_request(
        &self,
        request: &RequestRecord,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn request(&self, id: RequestId) -> impl Future<Output = Result<Option<RequestRecord>, StoreError>> + Send;

    /// The requests about a subject, newest first.
    fn requests_of_subject(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<RequestRecord>, StoreError>> + Send;

    /// Requests, newest first: the open ones (`open_only`) or all, at most `limit`.
    fn requests(
        &self,
        open_only: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RequestRecord>, StoreError>> + Send;

    /// Replaces the request's fields if its revision is still `expected_revision` (the record's
    /// `revision` is ignored and incremented), appends the timeline entries and audit events.
    /// Returns false (and changes nothing) on a revision mismatch or an unknown request.
    fn update_request(
        &self,
        request: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The timeline, oldest first.
    fn request_timeline(&self, id: RequestId) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send;

    /// Replaces the request's verification code (one at a time).
    fn put_request_code(
        &self,
        id: RequestId,
        code: &RequestCode,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn request_code(&self, id: RequestId) -> impl Future<Output = Result<Option<RequestCode>, StoreError>> + Send;

    /// Counts a wrong attempt; at `max_attempts` the code is deleted. Returns the attempts made,
    /// or `None` when there is no code.
    fn fail_request_code(
        &self,
        id: RequestId,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Deletes the code if its hash is `hash`: true for exactly one of concurrent callers.
    fn take_request_code(
        &self,
        id: RequestId,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Puts an ID document into quarantine (replacing an earlier one) with its timeline entry.
    fn put_upload(
        &self,
        id: RequestId,
        upload: &StoredUpload,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn upload(&self, id: RequestId) -> impl Future<Output = Result<Option<StoredUpload>, StoreError>> + Send;

    /// Deletes the request's ID document (after the check, or when the request closes).
    fn delete_upload(&self, id: RequestId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores exports of a request with the request's update (see [`Store::update_request`]).
    fn put_exports(
        &self,
        exports: &[StoredExport],
        request: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The exports behind this download-token hash (expired or not: the caller decides).
    fn exports_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> impl Future<Output = Result<Vec<StoredExport>, StoreError>> + Send;

    /// The ids of the subjects with this index entry, without audit (the caller records the step,
    /// e.g. a request verification that links its subject).
    fn subject_ids_by_index(
        &self,
        entry: &IndexEntry,
    ) -> impl Future<Output = Result<Vec<SubjectId>, StoreError>> + Send;

    /// Deletes exports that expired at or before `now`. Returns how many.
    fn delete_expired_exports(&self, now: Timestamp) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends timeline entries and audit events (a download, a mail sent) without other changes.
    fn append_timeline(
        &self,
        id: RequestId,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Erasure that keeps some values under a legal obligation: deletes the other values, sets
    /// the subject's index entries to `change.index` and its archive, if the revision matches.
    /// Returns false on a revision mismatch or an unknown subject.
    fn archive_subject(
        &self,
        change: &ArchiveChange,
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records an objection or withdrawal for `purpose` (idempotent). Returns whether the
    /// subject exists.
    fn add_objection(
        &self,
        id: SubjectId,
        purpose: &str,
        at: Timestamp,
        audit: &[AuditEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The audit events about a subject, in log order, from `from_seq`, at most `limit`.
    fn subject_events(
        &self,
        id: SubjectId,
        from_seq: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredAuditEvent>, StoreError>> + Send;
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
