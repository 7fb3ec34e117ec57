//! The vault service: the one place where personal data is validated, encrypted, blind-indexed,
//! decrypted and audited around the storage port. The HTTP server and the CLI both call it, so the
//! rules hold whichever way data comes in.

pub mod access;
pub mod audit;
mod keyring;
pub mod requests;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use kluis_crypto::password::Password;
use kluis_crypto::{CryptoError, SecretKey, aad, open, seal, token_hash, unwrap_key, wrap_key};
use kluis_domain::access::{CallerScope, Denied, FieldFilter, PurposePolicy, decide};
use kluis_domain::audit::{Action, AuditContext, AuditEvent, Outcome};
use kluis_domain::fields::{Catalogue, FieldValue, IndexName, ValidationErrors, ValueError, index_terms, lookup_term};
use kluis_domain::time::Clock;
use kluis_domain::{AccountId, RequestId, SubjectId, SubjectKind, Timestamp, TokenId};
use kluis_register::{Diagnostic, Register};
use kluis_store::{
    AuditLogRecord, IndexEntry, NewSubject, StoreError, StoredValue, SubjectChange, SubjectRecord, TokenRecord,
    WrappedDataKey,
};
use sha2::Digest as _;
use zeroize::Zeroizing;

pub use access::{
    AccountChange, AccountInfo, AuthError, AuthSettings, Caller, CallerKind, Enrolment, IssuedToken, LoginAttempt,
    LoginSession, NewAccount, TokenInfo, TokenSpec,
};
pub use audit::{AuditFault, ConsistencyProof, InclusionProof, VerifyError, VerifyReport};
pub use keyring::{Keyring, short_fingerprint};
pub use kluis_crypto::note::{AuditSigningKey, AuditVerifyingKey};
pub use kluis_store::{RegisterVersionSummary, Store, StoredAuditEvent, StoredCheckpoint, StoredRegisterVersion};

/// Generation of freshly created data keys.
const FIRST_DATA_KEY_VERSION: u32 = 1;

/// Everything that can go wrong in the vault. Messages carry ids and field names, never values.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("invalid values: {0}")]
    Validation(ValidationErrors),
    /// Rows of a bulk import with invalid values: each row's index (from 0, in the order given)
    /// with all its errors; nothing of the batch was stored.
    #[error("{} invalid row(s); nothing was stored: {}", .0.len(), render_rows(.0))]
    InvalidRows(Vec<(usize, ValidationErrors)>),
    #[error("invalid lookup value: {0}")]
    InvalidLookup(ValueError),
    #[error("the change names no field")]
    EmptyChange,
    #[error("the call names no purpose")]
    MissingPurpose,
    #[error("subject {0} not found")]
    NotFound(SubjectId),
    #[error("subject {0} was changed concurrently; retry")]
    Conflict(SubjectId),
    #[error("missing or unknown credentials")]
    Unauthorized,
    #[error("{0}")]
    Auth(AuthError),
    /// Purpose limitation refused the call (unknown purpose, role or token scope, Art. 18).
    #[error("{0}")]
    Denied(Denied),
    /// The call writes fields its purpose does not cover.
    #[error("the purpose `{purpose}` does not cover the field(s) {}", .fields.join(", "))]
    FieldsNotCovered { purpose: String, fields: Vec<String> },
    #[error(
        "the root key does not match this database (database expects fingerprint {expected}…, the configured key has {given}…); refusing to start"
    )]
    WrongRootKey { expected: String, given: String },
    #[error("the database holds no keyring yet; run `kluis init` first")]
    NotInitialised,
    #[error("the database is already initialised")]
    AlreadyInitialised,
    #[error("integrity check failed for subject {subject}{}", field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Integrity { subject: SubjectId, field: Option<String> },
    #[error("the stored keyring is damaged: {0}")]
    KeyringCorrupt(String),
    #[error("cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    #[error("storage failure: {0}")]
    Store(StoreError),
    #[error("the audit signing key does not belong to this database's audit log; refusing to sign with it")]
    WrongAuditKey,
    #[error("no audit signing key is loaded, so no checkpoint can be signed")]
    NoAuditKey,
    #[error("{0}")]
    AuditRange(String),
    /// A data-subject request operation was refused (see [`requests::RequestError`]).
    #[error("{0}")]
    Request(requests::RequestError),
    /// The register text has problems (each with rule, line and column); nothing was stored.
    #[error("the register has {} problem(s); nothing was stored", .0.len())]
    Register(Vec<Diagnostic>),
}

fn render_rows(rows: &[(usize, ValidationErrors)]) -> String {
    let rows: Vec<String> = rows.iter().map(|(i, errors)| format!("row {i}: {errors}")).collect();
    rows.join("; ")
}

impl From<StoreError> for VaultError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => VaultError::NotFound(id),
            StoreError::Conflict(id) => VaultError::Conflict(id),
            StoreError::AlreadyInitialised => VaultError::AlreadyInitialised,
            other => VaultError::Store(other),
        }
    }
}

/// A decrypted value. `Debug` never shows it; it is wiped from memory when dropped.
pub struct Plaintext(Zeroizing<String>);

impl Plaintext {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plaintext(<redacted>)")
    }
}

/// A decrypted subject, as far as the purpose of the call shows it.
#[derive(Debug)]
pub struct Subject {
    pub id: SubjectId,
    pub kind: SubjectKind,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Field name to value, sorted by field name: only fields the purpose covers.
    pub values: BTreeMap<String, Plaintext>,
    /// Fields the subject has values for that the purpose does not cover (named, not shown).
    pub withheld: Vec<String>,
    /// Under restriction of processing (Art. 18).
    pub restricted: bool,
}

/// The first staff account `kluis init` creates.
#[derive(Debug)]
pub struct FirstAdmin {
    pub username: String,
    pub password: Password,
}

/// What a fresh database hands out once: the break-glass token and the first admin's
/// enrolment (TOTP URI and recovery codes), if one was created.
#[derive(Debug)]
pub struct Initialised {
    pub break_glass: IssuedToken,
    pub admin: Option<Enrolment>,
}

/// The break-glass token works from the machine itself only.
pub const BREAK_GLASS_ALLOWED_IPS: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// The vault over a store `S`.
pub struct Vault<S: Store> {
    store: S,
    keyring: Arc<Keyring>,
    audit: Arc<audit::AuditSigner>,
    catalogue: Arc<Catalogue>,
    clock: Arc<dyn Clock>,
    /// The register version the policy comes from (0: built-in) and the policy.
    policy: Arc<RwLock<InForce>>,
    /// Bounds concurrent Argon2id computations (each takes 19 MiB and a core for a while).
    hash_pool: Arc<tokio::sync::Semaphore>,
    auth: Arc<AuthSettings>,
    /// The request workflow's settings and the mailer of its notices.
    requests: Arc<RequestsConfig>,
}

/// [`requests::RequestSettings`] and the mailer (none: notices are recorded as not sent).
#[derive(Debug, Default)]
struct RequestsConfig {
    settings: requests::RequestSettings,
    mailer: Option<Arc<dyn kluis_mail::Mailer>>,
}

impl<S: Store> Clone for Vault<S> {
    fn clone(&self) -> Self {
        Vault {
            store: self.store.clone(),
            keyring: Arc::clone(&self.keyring),
            audit: Arc::clone(&self.audit),
            catalogue: Arc::clone(&self.catalogue),
            clock: Arc::clone(&self.clock),
            policy: Arc::clone(&self.policy),
            hash_pool: Arc::clone(&self.hash_pool),
            auth: Arc::clone(&self.auth),
            requests: Arc::clone(&self.requests),
        }
    }
}

impl<S: Store> std::fmt::Debug for Vault<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("backend", &self.store.backend())
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

fn hash_pool() -> Arc<tokio::sync::Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    Arc::new(tokio::sync::Semaphore::new(cores.max(2)))
}

/// The register in force and the purpose policy it defines: version 0 and no register for the
/// built-in policy. Access control and the request workflow read the same one.
#[derive(Debug, Clone)]
struct InForce {
    version: u64,
    policy: Arc<PurposePolicy>,
    register: Option<Arc<(StoredRegisterVersion, Register)>>,
}

fn builtin_policy() -> Arc<RwLock<InForce>> {
    Arc::new(RwLock::new(InForce { version: 0, policy: Arc::new(PurposePolicy::builtin()), register: None }))
}

fn categories_of<'a>(catalogue: &'a Catalogue, fields: &[&str]) -> Vec<&'a str> {
    fields.iter().filter_map(|f| catalogue.get(f)).map(|d| d.category.as_str()).collect()
}

impl<S: Store> Vault<S> {
    /// Initialises a fresh database with a new audit signing key: see [`Vault::initialise_with`].
    pub async fn initialise(
        store: S,
        root: &SecretKey,
        catalogue: Catalogue,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, IssuedToken), VaultError> {
        Self::initialise_with(store, root, AuditSigningKey::generate()?, catalogue, clock).await
    }

    /// [`Vault::initialise_with`] without a first account: returns the break-glass token.
    pub async fn initialise_with(
        store: S,
        root: &SecretKey,
        audit_key: AuditSigningKey,
        catalogue: Catalogue,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, IssuedToken), VaultError> {
        let (vault, init) = Self::initialise_full(store, root, audit_key, catalogue, clock, None).await?;
        Ok((vault, init.break_glass))
    }

    /// Initialises a fresh database: key hierarchy, the audit log's identity (a new origin and the
    /// public half of `audit_key`), the break-glass token (loopback only; secret returned once),
    /// and, when given, the first admin account (its TOTP URI and recovery codes returned once),
    /// all in one transaction. Fails with `AlreadyInitialised` (changing nothing) on an
    /// initialised store.
    pub async fn initialise_full(
        store: S,
        root: &SecretKey,
        audit_key: AuditSigningKey,
        catalogue: Catalogue,
        clock: Arc<dyn Clock>,
        first_admin: Option<FirstAdmin>,
    ) -> Result<(Self, Initialised), VaultError> {
        if store.keyring().await?.is_some() {
            return Err(VaultError::AlreadyInitialised);
        }
        let now = clock.now();
        let origin = format!("kluis.local/audit/{}", TokenId::generate().as_uuid().simple());
        let verifying = audit_key.verifying_key();
        let (keyring, mut record) = Keyring::create(root, now)?;
        record.audit = AuditLogRecord { origin: origin.clone(), public_key: verifying.to_bytes() };
        let secret = kluis_crypto::random_token()?;
        let token = TokenRecord {
            id: TokenId::generate(),
            name: "break-glass (created by kluis init)".to_owned(),
            hash: token_hash(&secret),
            role: access::BREAK_GLASS.to_owned(),
            created_at: now,
            revoked_at: None,
            purposes: None,
            allowed_ips: BREAK_GLASS_ALLOWED_IPS.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: None,
        };
        let ctx = AuditContext::system();
        let mut events = vec![
            ctx.event(now, Action::KeyringInit, None, &[], &[], Outcome::Success),
            ctx.event(now, Action::TokenCreate, None, &[], &[], Outcome::Success),
        ];
        let vault = Vault {
            store,
            keyring: Arc::new(keyring),
            audit: Arc::new(audit::AuditSigner { origin, verifying, signing: Some(audit_key) }),
            catalogue: Arc::new(catalogue),
            clock,
            policy: builtin_policy(),
            hash_pool: hash_pool(),
            auth: Arc::new(AuthSettings::default()),
            requests: Arc::new(RequestsConfig::default()),
        };
        let mut admin = None;
        let mut account = None;
        if let Some(first) = first_admin {
            let (record, enrolment, hashes) = vault.first_admin_record(first).await?;
            let target = kluis_domain::audit::Actor::Account(record.id);
            events.push(ctx.event(now, Action::AccountCreate, None, &[], &[], Outcome::Success).with_target(&target));
            account = Some((record, hashes));
            admin = Some(enrolment);
        }
        let first = account.as_ref().map(|(r, h)| (r, h.as_slice()));
        vault.store.initialise(&record, &token, first, &events).await?;
        Ok((vault, Initialised { break_glass: IssuedToken { id: token.id, secret }, admin }))
    }

    /// Replaces the authentication settings (durations, lock thresholds).
    #[must_use]
    pub fn with_auth_settings(mut self, settings: AuthSettings) -> Self {
        self.auth = Arc::new(settings);
        self
    }

    /// Attaches the request workflow's settings and the mailer of its notices.
    #[must_use]
    pub fn with_requests(
        mut self,
        settings: requests::RequestSettings,
        mailer: Option<Arc<dyn kluis_mail::Mailer>>,
    ) -> Self {
        self.requests = Arc::new(RequestsConfig { settings, mailer });
        self
    }

    /// Opens an initialised database, refusing a root key that does not match it. Attach the
    /// audit signing key with [`Vault::with_audit_key`] to sign checkpoints.
    pub async fn open(
        store: S,
        root: &SecretKey,
        catalogue: Catalogue,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, VaultError> {
        let record = store.keyring().await?.ok_or(VaultError::NotInitialised)?;
        let keyring = Keyring::open(root, &record)?;
        let verifying = AuditVerifyingKey::from_bytes(&record.audit.public_key)
            .map_err(|_| VaultError::KeyringCorrupt("audit public key".into()))?;
        let audit = audit::AuditSigner { origin: record.audit.origin.clone(), verifying, signing: None };
        let vault = Vault {
            store,
            keyring: Arc::new(keyring),
            audit: Arc::new(audit),
            catalogue: Arc::new(catalogue),
            clock,
            policy: builtin_policy(),
            hash_pool: hash_pool(),
            auth: Arc::new(AuthSettings::default()),
            requests: Arc::new(RequestsConfig::default()),
        };
        vault.refresh_policy().await?;
        Ok(vault)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn digest(&self, index: IndexName, term: &[u8]) -> Result<IndexEntry, VaultError> {
        let digest = self.keyring.indexer().digest(index.as_str(), term)?;
        Ok(IndexEntry { index: index.as_str().to_owned(), digest: digest.to_vec() })
    }

    fn index_entries<'a>(
        &self,
        values: impl IntoIterator<Item = (&'a str, &'a FieldValue)>,
    ) -> Result<Vec<IndexEntry>, VaultError> {
        index_terms(values).iter().map(|(index, term)| self.digest(*index, term)).collect()
    }

    fn seal_value(
        id: SubjectId,
        dek: &SecretKey,
        key_version: u32,
        field: &str,
        value: &str,
    ) -> Result<StoredValue, VaultError> {
        Ok(StoredValue {
            field: field.to_owned(),
            key_version,
            ciphertext: seal(dek, &aad::value(id.as_bytes(), field, key_version), value.as_bytes())?,
        })
    }

    fn unwrap_data_key(&self, id: SubjectId, key: &WrappedDataKey) -> Result<SecretKey, VaultError> {
        let integrity = || VaultError::Integrity { subject: id, field: None };
        let kek = self.keyring.kek(key.kek_version).ok_or_else(integrity)?;
        unwrap_key(kek, &key.wrapped, &aad::data_key(id.as_bytes(), key.key_version, key.kek_version))
            .map_err(|_| integrity())
    }

    /// Decrypts the fields of a record that `filter` shows (all with `None`); the others are
    /// named in `withheld` and never decrypted. Any failed authentication is an integrity error,
    /// never data.
    fn decrypt(&self, record: &SubjectRecord, filter: Option<&FieldFilter>) -> Result<Subject, VaultError> {
        let dek = self.unwrap_data_key(record.id, &record.data_key)?;
        let mut values = BTreeMap::new();
        let mut withheld = Vec::new();
        for stored in &record.values {
            if filter.is_some_and(|f| !f.is_allowed(&stored.field)) {
                withheld.push(stored.field.clone());
                continue;
            }
            let integrity = || VaultError::Integrity { subject: record.id, field: Some(stored.field.clone()) };
            if stored.key_version != record.data_key.key_version {
                return Err(integrity());
            }
            let bytes =
                open(&dek, &aad::value(record.id.as_bytes(), &stored.field, stored.key_version), &stored.ciphertext)
                    .map_err(|_| integrity())?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| integrity())?;
            values.insert(stored.field.clone(), Plaintext(Zeroizing::new(text)));
        }
        Ok(Subject {
            id: record.id,
            kind: record.kind,
            created_at: record.created_at,
            updated_at: record.updated_at,
            values,
            withheld,
            restricted: record.restricted,
        })
    }

    /// A restricted subject as a caller without an exempt purpose sees it: no values.
    fn restricted_view(record: &SubjectRecord) -> Subject {
        Subject {
            id: record.id,
            kind: record.kind,
            created_at: record.created_at,
            updated_at: record.updated_at,
            values: BTreeMap::new(),
            withheld: record.values.iter().map(|v| v.field.clone()).collect(),
            restricted: true,
        }
    }

    /// Records an integrity failure in the audit log (best effort: the caller already fails).
    async fn report_integrity(&self, ctx: &AuditContext, error: &VaultError) {
        if let VaultError::Integrity { subject, field } = error {
            tracing::error!(subject = %subject, field = field.as_deref().unwrap_or("-"), "integrity check failed");
            let fields: Vec<&str> = field.iter().map(String::as_str).collect();
            let event =
                ctx.event(self.clock.now(), Action::IntegrityFailure, Some(*subject), &fields, &[], Outcome::Success);
            if let Err(e) = self.store.append_audit(&[event]).await {
                tracing::error!(error = %e, "could not audit an integrity failure");
            }
        }
    }

    async fn decrypt_reporting(
        &self,
        ctx: &AuditContext,
        record: &SubjectRecord,
        filter: Option<&FieldFilter>,
    ) -> Result<Subject, VaultError> {
        match self.decrypt(record, filter) {
            Ok(s) => Ok(s),
            Err(e) => {
                self.report_integrity(ctx, &e).await;
                Err(e)
            }
        }
    }

    /// The purpose of a call, decided for the caller before any data is touched (the subject's
    /// restriction is checked once the record is read). A refusal is audited with its reason.
    async fn decide_call(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        action: Action,
        subject: Option<SubjectId>,
    ) -> Result<FieldFilter, VaultError> {
        let purpose = ctx.purpose.as_ref().ok_or(VaultError::MissingPurpose)?;
        match decide(&self.policy(), scope, purpose, &self.catalogue, false) {
            Ok(filter) => Ok(filter),
            Err(denied) => {
                self.audit_denied(ctx, action, subject, denied.code()).await;
                Err(VaultError::Denied(denied))
            }
        }
    }

    async fn audit_denied(&self, ctx: &AuditContext, action: Action, subject: Option<SubjectId>, reason: &'static str) {
        let event = ctx.event(self.clock.now(), action, subject, &[], &[], Outcome::Denied).with_reason(reason);
        if let Err(e) = self.store.append_audit(&[event]).await {
            tracing::error!(error = %e, "could not audit a refused call");
        }
    }

    /// Refuses fields the purpose does not cover (audited).
    async fn require_covered(
        &self,
        ctx: &AuditContext,
        filter: &FieldFilter,
        action: Action,
        subject: Option<SubjectId>,
        fields: &[&str],
    ) -> Result<(), VaultError> {
        let mut outside: Vec<String> =
            fields.iter().filter(|f| !filter.is_allowed(f)).map(|f| (*f).to_owned()).collect();
        if outside.is_empty() {
            return Ok(());
        }
        outside.sort();
        outside.dedup();
        self.audit_denied(ctx, action, subject, "field_not_allowed").await;
        let purpose = ctx.purpose.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default();
        Err(VaultError::FieldsNotCovered { purpose, fields: outside })
    }

    /// The scope of the local operator (the CLI, which holds the root key): every purpose the
    /// policy defines. Field filtering by purpose still applies.
    pub fn operator_scope(&self) -> CallerScope {
        CallerScope::token(self.policy().purposes().cloned().collect::<Vec<_>>())
    }

    /// Creates a subject from raw field values. All validation errors are reported together and
    /// nothing is stored unless every value is valid and the purpose covers every field.
    pub async fn create_subject(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        kind: SubjectKind,
        input: &[(String, String)],
    ) -> Result<SubjectId, VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectCreate, None).await?;
        let parsed = self
            .catalogue
            .parse_values(input.iter().map(|(f, v)| (f.as_str(), v.as_str())))
            .map_err(VaultError::Validation)?;
        let fields: Vec<&str> = parsed.iter().map(|(def, _)| def.name).collect();
        self.require_covered(ctx, &filter, Action::SubjectCreate, None, &fields).await?;
        let (subject, event) = self.new_subject(ctx, kind, self.clock.now(), &parsed)?;
        self.store.create_subject(&subject, &event).await?;
        Ok(subject.id)
    }

    /// A new subject from validated values: a fresh id and data key wrapped under the current
    /// KEK, every value sealed, the blind-index entries, and its `subject.create` event.
    fn new_subject(
        &self,
        ctx: &AuditContext,
        kind: SubjectKind,
        now: Timestamp,
        parsed: &[(&kluis_domain::fields::FieldDef, FieldValue)],
    ) -> Result<(NewSubject, AuditEvent), VaultError> {
        let fields: Vec<&str> = parsed.iter().map(|(def, _)| def.name).collect();
        let id = SubjectId::generate();
        let dek = SecretKey::generate()?;
        let kek_version = self.keyring.current_kek_version();
        let kek =
            self.keyring.kek(kek_version).ok_or_else(|| VaultError::KeyringCorrupt("current KEK missing".into()))?;
        let data_key = WrappedDataKey {
            key_version: FIRST_DATA_KEY_VERSION,
            kek_version,
            wrapped: wrap_key(kek, &dek, &aad::data_key(id.as_bytes(), FIRST_DATA_KEY_VERSION, kek_version))?,
        };
        let mut values = Vec::with_capacity(parsed.len());
        for (def, value) in parsed {
            values.push(Self::seal_value(id, &dek, FIRST_DATA_KEY_VERSION, def.name, value.as_str())?);
        }
        let index = self.index_entries(parsed.iter().map(|(def, value)| (def.name, value)))?;
        let event = ctx.event(
            now,
            Action::SubjectCreate,
            Some(id),
            &fields,
            &categories_of(&self.catalogue, &fields),
            Outcome::Success,
        );
        Ok((NewSubject { id, kind, created_at: now, data_key, values, index }, event))
    }

    /// Creates many subjects of one kind in one transaction (bulk import): the purpose is decided
    /// once, every row is validated first (all errors of all rows are reported together, as
    /// [`VaultError::InvalidRows`] with each row's index), the purpose must cover every field any
    /// row names, and then each row is sealed and indexed as [`Vault::create_subject`] does, with
    /// one `subject.create` event per subject. Nothing is stored unless every row is accepted.
    /// Returns the new ids in row order.
    pub async fn import_subjects(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        kind: SubjectKind,
        rows: &[Vec<(String, String)>],
    ) -> Result<Vec<SubjectId>, VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectCreate, None).await?;
        let mut parsed = Vec::with_capacity(rows.len());
        let mut invalid = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            match self.catalogue.parse_values(row.iter().map(|(f, v)| (f.as_str(), v.as_str()))) {
                Ok(values) => parsed.push(values),
                Err(errors) => invalid.push((i, errors)),
            }
        }
        if !invalid.is_empty() {
            return Err(VaultError::InvalidRows(invalid));
        }
        let mut fields: Vec<&str> = parsed.iter().flatten().map(|(def, _)| def.name).collect();
        fields.sort_unstable();
        fields.dedup();
        self.require_covered(ctx, &filter, Action::SubjectCreate, None, &fields).await?;
        let now = self.clock.now();
        let mut subjects = Vec::with_capacity(parsed.len());
        let mut events = Vec::with_capacity(parsed.len());
        for values in &parsed {
            let (subject, event) = self.new_subject(ctx, kind, now, values)?;
            subjects.push(subject);
            events.push(event);
        }
        self.store.create_subjects(&subjects, &events).await?;
        Ok(subjects.iter().map(|s| s.id).collect())
    }

    /// The event of a read of `record` under `filter`: the fields shown, or a refusal because of
    /// restriction (Art. 18). Returns whether the record may be shown.
    fn read_event(
        &self,
        ctx: &AuditContext,
        action: Action,
        filter: &FieldFilter,
        record: &SubjectRecord,
    ) -> (AuditEvent, bool) {
        let now = self.clock.now();
        if let Some(denied) = blocked(ctx, record) {
            let event = ctx.event(now, action, Some(record.id), &[], &[], Outcome::Denied).with_reason(denied.code());
            return (event, false);
        }
        let fields: Vec<&str> =
            record.values.iter().map(|v| v.field.as_str()).filter(|f| filter.is_allowed(f)).collect();
        let event = ctx.event(
            now,
            action,
            Some(record.id),
            &fields,
            &categories_of(&self.catalogue, &fields),
            Outcome::Success,
        );
        (event, true)
    }

    /// Reads and decrypts one subject, as far as the purpose shows it; the read is audited
    /// before the data is returned. A restricted subject (Art. 18) is refused unless the purpose
    /// is `legal_claims` or `storage`.
    pub async fn get_subject(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        id: SubjectId,
    ) -> Result<Subject, VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectRead, Some(id)).await?;
        let mut shown = false;
        let record = self
            .store
            .read_subject(id, |r| match r {
                Some(r) => {
                    let (event, ok) = self.read_event(ctx, Action::SubjectRead, &filter, r);
                    shown = ok;
                    event
                }
                None => ctx.event(self.clock.now(), Action::SubjectRead, Some(id), &[], &[], Outcome::NotFound),
            })
            .await?
            .ok_or(VaultError::NotFound(id))?;
        if !shown {
            let denied = blocked(ctx, &record).unwrap_or(Denied::Restricted { purpose: unknown_or(ctx) });
            return Err(VaultError::Denied(denied));
        }
        self.decrypt_reporting(ctx, &record, Some(&filter)).await
    }

    /// Finds subjects by an indexed field (`raw` holds one value, or postcode and house number);
    /// the purpose must cover the looked-up fields. Restricted subjects are listed without values
    /// unless the purpose is exempt.
    pub async fn find_subjects(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        index: IndexName,
        raw: &[&str],
    ) -> Result<Vec<Subject>, VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectFind, None).await?;
        // Searching by a value is processing it: the purpose must cover the looked-up fields.
        self.require_covered(ctx, &filter, Action::SubjectFind, None, index.fields()).await?;
        let term = lookup_term(&self.catalogue, index, raw).map_err(VaultError::InvalidLookup)?;
        let entry = self.digest(index, &term)?;
        let mut shown = Vec::new();
        let records = self
            .store
            .find_subjects(&entry, |records| {
                // Called again when the search is made again: only the last call's flags count.
                shown.clear();
                if records.is_empty() {
                    let fields = index.fields();
                    vec![ctx.event(
                        self.clock.now(),
                        Action::SubjectFind,
                        None,
                        fields,
                        &categories_of(&self.catalogue, fields),
                        Outcome::NotFound,
                    )]
                } else {
                    records
                        .iter()
                        .map(|r| {
                            let (event, ok) = self.read_event(ctx, Action::SubjectFind, &filter, r);
                            shown.push(ok);
                            event
                        })
                        .collect()
                }
            })
            .await?;
        let mut subjects = Vec::with_capacity(records.len());
        for (record, ok) in records.iter().zip(shown) {
            if ok {
                subjects.push(self.decrypt_reporting(ctx, record, Some(&filter)).await?);
            } else {
                subjects.push(Self::restricted_view(record));
            }
        }
        Ok(subjects)
    }

    /// Sets (`Some`) or removes (`None`) field values. Validation covers every value before
    /// anything is written; the purpose must cover every field named; a restricted subject is
    /// changed only for an exempt purpose. Index entries are recomputed from the resulting set
    /// of values.
    pub async fn update_subject(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        id: SubjectId,
        changes: &[(String, Option<String>)],
    ) -> Result<(), VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectUpdate, Some(id)).await?;
        self.apply_changes(ctx, Some(&filter), id, changes).await
    }

    /// The body of [`Vault::update_subject`]. With `filter` the purpose must cover every field and
    /// the subject must not be blocked for it; without (the rectification of a verified
    /// data-subject request, Art. 16, which the controller owes whatever the purposes) neither
    /// check applies.
    pub(crate) async fn apply_changes(
        &self,
        ctx: &AuditContext,
        filter: Option<&FieldFilter>,
        id: SubjectId,
        changes: &[(String, Option<String>)],
    ) -> Result<(), VaultError> {
        if changes.is_empty() {
            return Err(VaultError::EmptyChange);
        }
        let sets: Vec<(&str, &str)> =
            changes.iter().filter_map(|(f, v)| v.as_deref().map(|v| (f.as_str(), v))).collect();
        let (parsed, mut errors) = match self.catalogue.parse_values(sets.iter().copied()) {
            Ok(parsed) => (parsed, Vec::new()),
            Err(ValidationErrors(errors)) => (Vec::new(), errors),
        };
        let removals: Vec<&str> = changes.iter().filter(|(_, v)| v.is_none()).map(|(f, _)| f.as_str()).collect();
        for field in &removals {
            // A removal of a field that is not in the catalogue is as wrong as setting it.
            if self.catalogue.get(field).is_none()
                && let Err(e) = self.catalogue.parse_value(field, "x")
            {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(VaultError::Validation(ValidationErrors(errors)));
        }
        let mut fields: Vec<&str> = changes.iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
        if let Some(filter) = filter {
            self.require_covered(ctx, filter, Action::SubjectUpdate, Some(id), &fields).await?;
        }

        let record = self.store.load_subject(id).await?.ok_or(VaultError::NotFound(id))?;
        if filter.is_some()
            && let Some(denied) = blocked(ctx, &record)
        {
            self.audit_denied(ctx, Action::SubjectUpdate, Some(id), denied.code()).await;
            return Err(VaultError::Denied(denied));
        }
        let current = self.decrypt_reporting(ctx, &record, None).await?;
        let dek = self.unwrap_data_key(id, &record.data_key)?;
        let key_version = record.data_key.key_version;

        // The full set of values after the change, for the index entries.
        let mut after: BTreeMap<String, FieldValue> = BTreeMap::new();
        for (field, value) in &current.values {
            if let Ok(v) = self.catalogue.parse_value(field, value.as_str()) {
                after.insert(field.clone(), v);
            }
        }
        let mut set = Vec::with_capacity(parsed.len());
        for (def, value) in &parsed {
            set.push(Self::seal_value(id, &dek, key_version, def.name, value.as_str())?);
        }
        for (def, value) in parsed {
            after.insert(def.name.to_owned(), value);
        }
        for field in &removals {
            after.remove(*field);
        }
        let index = self.index_entries(after.iter().map(|(f, v)| (f.as_str(), v)))?;
        let event = ctx.event(
            self.clock.now(),
            Action::SubjectUpdate,
            Some(id),
            &fields,
            &categories_of(&self.catalogue, &fields),
            Outcome::Success,
        );
        let change = SubjectChange {
            id,
            expected_revision: record.revision,
            updated_at: self.clock.now(),
            set,
            remove: removals.iter().map(|f| (*f).to_owned()).collect(),
            index,
        };
        self.store.update_subject(&change, &event).await?;
        Ok(())
    }

    /// Erases a subject (Art. 17): destroys its wrapped data key, values and index entries and
    /// records the erasure in the ledger. The purpose must cover every field of the catalogue
    /// (erasure destroys them all).
    pub async fn erase_subject(
        &self,
        ctx: &AuditContext,
        scope: &CallerScope,
        id: SubjectId,
    ) -> Result<(), VaultError> {
        let filter = self.decide_call(ctx, scope, Action::SubjectErase, Some(id)).await?;
        let withheld: Vec<&str> = filter.withheld.clone();
        self.require_covered(ctx, &filter, Action::SubjectErase, Some(id), &withheld).await?;
        self.destroy_subject(ctx, id).await
    }

    /// Destroys the subject's key, values and index entries and records the erasure (ledger and
    /// `subject.erase` event), without a purpose decision: the callers decide.
    pub(crate) async fn destroy_subject(&self, ctx: &AuditContext, id: SubjectId) -> Result<(), VaultError> {
        let now = self.clock.now();
        let existed = self
            .store
            .erase_subject(id, now, |existed| {
                let outcome = if existed { Outcome::Success } else { Outcome::NotFound };
                ctx.event(now, Action::SubjectErase, Some(id), &[], &[], outcome)
            })
            .await?;
        if existed { Ok(()) } else { Err(VaultError::NotFound(id)) }
    }

    /// Sets or lifts the Art. 18 restriction of a subject (audited). The caller's permission to
    /// handle requests is checked by the caller of this method.
    ///
    /// A restriction the subject obtained through a request is lifted only through
    /// [`Vault::lift_restriction`], which tells the subject first (Art. 18(3)); lifting it here is
    /// refused with `notice_required`.
    pub async fn set_restricted(&self, ctx: &AuditContext, id: SubjectId, restricted: bool) -> Result<(), VaultError> {
        if !restricted {
            let requested = self.store.requests_of_subject(id).await?.iter().any(|r| {
                r.kind == kluis_domain::request::RequestKind::Restriction
                    && r.state == kluis_domain::request::RequestState::Completed
            });
            if requested {
                return Err(VaultError::Request(requests::RequestError::Invalid {
                    code: "notice_required",
                    en: "the subject obtained this restriction through a request: lift it with that request's \
                         lift-restriction step, which tells the subject first (Art. 18(3) GDPR)"
                        .to_owned(),
                    nl: "de betrokkene heeft deze beperking met een verzoek verkregen: hef haar op met de stap \
                         lift-restriction van dat verzoek, die de betrokkene eerst inlicht (art. 18 lid 3 AVG)"
                        .to_owned(),
                }));
            }
        }
        self.set_restricted_unchecked(ctx, id, restricted).await
    }

    /// [`Vault::set_restricted`] without the Art. 18(3) check (the request workflow, after the notice).
    pub(crate) async fn set_restricted_unchecked(
        &self,
        ctx: &AuditContext,
        id: SubjectId,
        restricted: bool,
    ) -> Result<(), VaultError> {
        let now = self.clock.now();
        let reason = if restricted { "restricted" } else { "lifted" };
        let existed = self
            .store
            .set_restricted(id, restricted, now, |existed| {
                let outcome = if existed { Outcome::Success } else { Outcome::NotFound };
                ctx.event(now, Action::SubjectRestrict, Some(id), &[], &[], outcome).with_reason(reason)
            })
            .await?;
        if existed { Ok(()) } else { Err(VaultError::NotFound(id)) }
    }
}

/// Why this subject may not be shown (or changed) for the call's purpose, if it may not: the
/// Art. 18 restriction (unless the purpose is exempt), the fiscal archive of an erased subject
/// (only its purpose), an objection or withdrawal of consent for the purpose.
fn blocked(ctx: &AuditContext, record: &SubjectRecord) -> Option<Denied> {
    let purpose = ctx.purpose.as_ref().map_or("", kluis_domain::Purpose::as_str);
    if record.archive.as_ref().is_some_and(|archive| archive.purpose != purpose) {
        return Some(Denied::Archived { purpose: unknown_or(ctx) });
    }
    if record.objections.iter().any(|p| p == purpose) {
        return Some(Denied::Objected { purpose: unknown_or(ctx) });
    }
    if record.restricted && !restriction_exempt(ctx) {
        return Some(Denied::Restricted { purpose: unknown_or(ctx) });
    }
    None
}

/// Whether the call's purpose may read a restricted subject (Art. 18(2)).
fn restriction_exempt(ctx: &AuditContext) -> bool {
    ctx.purpose.as_ref().is_some_and(|p| kluis_domain::access::RESTRICTION_EXEMPT_PURPOSES.contains(&p.as_str()))
}

fn unknown_or(ctx: &AuditContext) -> kluis_domain::Purpose {
    ctx.purpose.clone().unwrap_or_else(|| kluis_domain::Purpose::parse("none").expect("a valid purpose key"))
}

/// The register as code: immutable, hashed, audited versions of the TOML source.
impl<S: Store> Vault<S> {
    /// Checks `text` with every register rule and stores it as the next version, auditing
    /// `register.load` with the version and hash. A text identical to the current version
    /// returns that version and records nothing. With problems, returns them all
    /// (`VaultError::Register`) and stores nothing.
    pub async fn load_register(&self, ctx: &AuditContext, text: &str) -> Result<StoredRegisterVersion, VaultError> {
        let register = kluis_register::check(text).map_err(VaultError::Register)?;
        access::policy_from_register(&register)?;
        let sha256: [u8; 32] = sha2::Sha256::digest(text.as_bytes()).into();
        let now = self.clock.now();
        let stored = self
            .store
            .add_register_version(text, &sha256, now, &ctx.actor.encode(), |version| {
                ctx.event(now, Action::RegisterLoad, None, &[], &[], Outcome::Success).with_register(version, &sha256)
            })
            .await?;
        self.refresh_policy().await?;
        Ok(stored)
    }

    /// One stored version.
    pub async fn register_version(&self, version: u64) -> Result<Option<StoredRegisterVersion>, VaultError> {
        Ok(self.store.register_version(version).await?)
    }

    /// Every stored version, oldest first, without sources.
    pub async fn register_versions(&self) -> Result<Vec<RegisterVersionSummary>, VaultError> {
        Ok(self.store.register_versions().await?)
    }

    /// The current (newest) version with its parsed register, if one was loaded. The stored text
    /// passed every rule when it was loaded; it is parsed (not re-checked) so a later, stricter
    /// rule never takes the published statement offline.
    pub async fn current_register(&self) -> Result<Option<(StoredRegisterVersion, Register)>, VaultError> {
        let Some(stored) = self.store.latest_register_version().await? else {
            return Ok(None);
        };
        let register = parse_stored(&stored)?;
        Ok(Some((stored, register)))
    }
}

/// Parses a stored register version; a failure means the stored text no longer parses.
pub fn parse_stored(stored: &StoredRegisterVersion) -> Result<Register, VaultError> {
    kluis_register::parse(&stored.source).map_err(|diagnostics| {
        tracing::error!(
            version = stored.version,
            problems = diagnostics.len(),
            "a stored register version no longer parses"
        );
        VaultError::Register(diagnostics)
    })
}

/// A boxed future, for the object-safe service trait below.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The vault's use cases as an object-safe trait, so the HTTP layer holds an
/// `Arc<dyn VaultService>` and stays free of the store's type parameter. The backend is still
/// chosen once, when the `Vault<S>` behind it is built.
pub trait VaultService: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    fn catalogue(&self) -> &Catalogue;
    fn policy(&self) -> Arc<PurposePolicy>;
    fn ping(&self) -> BoxFuture<'_, Result<(), VaultError>>;

    // Authentication and accounts.
    fn authenticate_token<'a>(
        &'a self,
        token: &'a str,
        client: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Caller, VaultError>>;
    fn authenticate_session<'a>(
        &'a self,
        secret: &'a str,
        client: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Caller, VaultError>>;
    fn login(
        &self,
        client: Option<IpAddr>,
        request_id: Option<String>,
        attempt: LoginAttempt,
    ) -> BoxFuture<'_, Result<LoginSession, VaultError>>;
    fn logout<'a>(&'a self, ctx: &'a AuditContext, secret: &'a str) -> BoxFuture<'a, Result<(), VaultError>>;
    fn enrol<'a>(
        &'a self,
        ctx: &'a AuditContext,
        secret: &'a str,
        password: Password,
    ) -> BoxFuture<'a, Result<Enrolment, VaultError>>;
    fn create_account<'a>(
        &'a self,
        ctx: &'a AuditContext,
        username: &'a str,
        role: &'a str,
        allowed_ips: &'a [String],
    ) -> BoxFuture<'a, Result<NewAccount, VaultError>>;
    fn accounts(&self) -> BoxFuture<'_, Result<Vec<AccountInfo>, VaultError>>;
    fn account(&self, id: AccountId) -> BoxFuture<'_, Result<AccountInfo, VaultError>>;
    fn update_account<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: AccountId,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<AccountInfo, VaultError>>;
    fn unlock_account<'a>(&'a self, ctx: &'a AuditContext, id: AccountId) -> BoxFuture<'a, Result<(), VaultError>>;
    fn revoke_sessions<'a>(&'a self, ctx: &'a AuditContext, id: AccountId) -> BoxFuture<'a, Result<u64, VaultError>>;
    fn reset_enrolment<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: AccountId,
    ) -> BoxFuture<'a, Result<NewAccount, VaultError>>;
    fn create_token<'a>(
        &'a self,
        ctx: &'a AuditContext,
        spec: &'a TokenSpec,
    ) -> BoxFuture<'a, Result<IssuedToken, VaultError>>;
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, VaultError>>;
    fn revoke_token<'a>(&'a self, ctx: &'a AuditContext, id: TokenId) -> BoxFuture<'a, Result<(), VaultError>>;

    // Personal data.
    fn create_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        kind: SubjectKind,
        input: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<SubjectId, VaultError>>;
    fn get_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
    ) -> BoxFuture<'a, Result<Subject, VaultError>>;
    fn find_subjects<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        index: IndexName,
        raw: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Subject>, VaultError>>;
    fn update_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
        changes: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Result<(), VaultError>>;
    fn erase_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
    ) -> BoxFuture<'a, Result<(), VaultError>>;
    fn set_restricted<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: SubjectId,
        restricted: bool,
    ) -> BoxFuture<'a, Result<(), VaultError>>;

    // Audit log.
    /// The verifier key of the audit log in Go note format.
    fn audit_verifier_string(&self) -> String;
    fn audit_size(&self) -> BoxFuture<'_, Result<u64, VaultError>>;
    fn checkpoint_now(&self) -> BoxFuture<'_, Result<StoredCheckpoint, VaultError>>;
    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>, VaultError>>;
    fn inclusion_proof(&self, index: u64, size: Option<u64>) -> BoxFuture<'_, Result<InclusionProof, VaultError>>;
    fn consistency_proof(&self, from: u64, to: Option<u64>) -> BoxFuture<'_, Result<ConsistencyProof, VaultError>>;
    fn audit_events(&self, from: u64, limit: u32) -> BoxFuture<'_, Result<Vec<StoredAuditEvent>, VaultError>>;

    // Register.
    fn load_register<'a>(
        &'a self,
        ctx: &'a AuditContext,
        text: &'a str,
    ) -> BoxFuture<'a, Result<StoredRegisterVersion, VaultError>>;
    fn register_version(&self, version: u64) -> BoxFuture<'_, Result<Option<StoredRegisterVersion>, VaultError>>;
    fn register_versions(&self) -> BoxFuture<'_, Result<Vec<RegisterVersionSummary>, VaultError>>;
    fn current_register(&self) -> BoxFuture<'_, Result<Option<(StoredRegisterVersion, Register)>, VaultError>>;
    fn refresh_policy(&self) -> BoxFuture<'_, Result<u64, VaultError>>;

    // Data-subject requests (see [`requests`]).
    fn submit_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        new: requests::NewRequest,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn portal_status(&self, id: RequestId) -> BoxFuture<'_, Result<requests::PortalStatus, VaultError>>;
    fn verify_code<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        code: String,
    ) -> BoxFuture<'a, Result<requests::PortalStatus, VaultError>>;
    fn send_code<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    /// `content_type` as the client sent it is ignored: the vault sniffs JPEG, PNG or PDF.
    fn upload_id<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        content_type: String,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<requests::PortalStatus, VaultError>>;
    fn request_view<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn list_requests(
        &self,
        filter: requests::RequestFilter,
    ) -> BoxFuture<'_, Result<Vec<requests::RequestView>, VaultError>>;
    fn enable_id_upload<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        justification: String,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn id_document<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::IdDocument, VaultError>>;
    fn check_id<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        verified: bool,
        subject: Option<SubjectId>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn link_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        subject: SubjectId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn extend_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        reasons: String,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn refuse_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        reasons: Vec<String>,
        text: Option<String>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn cannot_identify<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        needed: Option<String>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn withdraw_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn fulfil_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        changes: Vec<(String, Option<String>)>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn transmit_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        target: &'a str,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn lift_restriction<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>>;
    fn download_index(&self, token: String) -> BoxFuture<'_, Result<(Vec<String>, Timestamp), VaultError>>;
    fn download_export<'a>(
        &'a self,
        ctx: &'a AuditContext,
        token: String,
        format: String,
    ) -> BoxFuture<'a, Result<requests::Download, VaultError>>;
    fn sweep_exports(&self) -> BoxFuture<'_, Result<u64, VaultError>>;
}

impl<S: Store> VaultService for Vault<S> {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }
    fn policy(&self) -> Arc<PurposePolicy> {
        Vault::policy(self)
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), VaultError>> {
        Box::pin(async move { Ok(self.store.ping().await?) })
    }
    fn authenticate_token<'a>(
        &'a self,
        token: &'a str,
        client: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Caller, VaultError>> {
        Box::pin(Vault::authenticate_token(self, token, client))
    }
    fn authenticate_session<'a>(
        &'a self,
        secret: &'a str,
        client: Option<IpAddr>,
    ) -> BoxFuture<'a, Result<Caller, VaultError>> {
        Box::pin(Vault::authenticate_session(self, secret, client))
    }
    fn login(
        &self,
        client: Option<IpAddr>,
        request_id: Option<String>,
        attempt: LoginAttempt,
    ) -> BoxFuture<'_, Result<LoginSession, VaultError>> {
        Box::pin(Vault::login(self, client, request_id, attempt))
    }
    fn logout<'a>(&'a self, ctx: &'a AuditContext, secret: &'a str) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::logout(self, ctx, secret))
    }
    fn enrol<'a>(
        &'a self,
        ctx: &'a AuditContext,
        secret: &'a str,
        password: Password,
    ) -> BoxFuture<'a, Result<Enrolment, VaultError>> {
        Box::pin(Vault::enrol(self, ctx, secret, password))
    }
    fn create_account<'a>(
        &'a self,
        ctx: &'a AuditContext,
        username: &'a str,
        role: &'a str,
        allowed_ips: &'a [String],
    ) -> BoxFuture<'a, Result<NewAccount, VaultError>> {
        Box::pin(Vault::create_account(self, ctx, username, role, allowed_ips))
    }
    fn accounts(&self) -> BoxFuture<'_, Result<Vec<AccountInfo>, VaultError>> {
        Box::pin(Vault::accounts(self))
    }
    fn account(&self, id: AccountId) -> BoxFuture<'_, Result<AccountInfo, VaultError>> {
        Box::pin(Vault::account(self, id))
    }
    fn update_account<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: AccountId,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<AccountInfo, VaultError>> {
        Box::pin(Vault::update_account(self, ctx, id, change))
    }
    fn unlock_account<'a>(&'a self, ctx: &'a AuditContext, id: AccountId) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::unlock_account(self, ctx, id))
    }
    fn revoke_sessions<'a>(&'a self, ctx: &'a AuditContext, id: AccountId) -> BoxFuture<'a, Result<u64, VaultError>> {
        Box::pin(Vault::revoke_sessions(self, ctx, id))
    }
    fn reset_enrolment<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: AccountId,
    ) -> BoxFuture<'a, Result<NewAccount, VaultError>> {
        Box::pin(Vault::reset_enrolment(self, ctx, id))
    }
    fn create_token<'a>(
        &'a self,
        ctx: &'a AuditContext,
        spec: &'a TokenSpec,
    ) -> BoxFuture<'a, Result<IssuedToken, VaultError>> {
        Box::pin(Vault::create_token(self, ctx, spec))
    }
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, VaultError>> {
        Box::pin(Vault::tokens(self))
    }
    fn revoke_token<'a>(&'a self, ctx: &'a AuditContext, id: TokenId) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::revoke_token(self, ctx, id))
    }
    fn create_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        kind: SubjectKind,
        input: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<SubjectId, VaultError>> {
        Box::pin(Vault::create_subject(self, ctx, scope, kind, input))
    }
    fn get_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
    ) -> BoxFuture<'a, Result<Subject, VaultError>> {
        Box::pin(Vault::get_subject(self, ctx, scope, id))
    }
    fn find_subjects<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        index: IndexName,
        raw: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Subject>, VaultError>> {
        Box::pin(Vault::find_subjects(self, ctx, scope, index, raw))
    }
    fn update_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
        changes: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::update_subject(self, ctx, scope, id, changes))
    }
    fn erase_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        scope: &'a CallerScope,
        id: SubjectId,
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::erase_subject(self, ctx, scope, id))
    }
    fn set_restricted<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: SubjectId,
        restricted: bool,
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::set_restricted(self, ctx, id, restricted))
    }
    fn audit_verifier_string(&self) -> String {
        Vault::audit_verifier_string(self)
    }
    fn audit_size(&self) -> BoxFuture<'_, Result<u64, VaultError>> {
        Box::pin(Vault::audit_size(self))
    }
    fn checkpoint_now(&self) -> BoxFuture<'_, Result<StoredCheckpoint, VaultError>> {
        Box::pin(Vault::checkpoint_now(self))
    }
    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>, VaultError>> {
        Box::pin(Vault::latest_checkpoint(self))
    }
    fn inclusion_proof(&self, index: u64, size: Option<u64>) -> BoxFuture<'_, Result<InclusionProof, VaultError>> {
        Box::pin(Vault::inclusion_proof(self, index, size))
    }
    fn consistency_proof(&self, from: u64, to: Option<u64>) -> BoxFuture<'_, Result<ConsistencyProof, VaultError>> {
        Box::pin(Vault::consistency_proof(self, from, to))
    }
    fn audit_events(&self, from: u64, limit: u32) -> BoxFuture<'_, Result<Vec<StoredAuditEvent>, VaultError>> {
        Box::pin(async move { Ok(self.store.audit_events(from, limit).await?) })
    }
    fn load_register<'a>(
        &'a self,
        ctx: &'a AuditContext,
        text: &'a str,
    ) -> BoxFuture<'a, Result<StoredRegisterVersion, VaultError>> {
        Box::pin(Vault::load_register(self, ctx, text))
    }
    fn register_version(&self, version: u64) -> BoxFuture<'_, Result<Option<StoredRegisterVersion>, VaultError>> {
        Box::pin(Vault::register_version(self, version))
    }
    fn register_versions(&self) -> BoxFuture<'_, Result<Vec<RegisterVersionSummary>, VaultError>> {
        Box::pin(Vault::register_versions(self))
    }
    fn current_register(&self) -> BoxFuture<'_, Result<Option<(StoredRegisterVersion, Register)>, VaultError>> {
        Box::pin(Vault::current_register(self))
    }
    fn refresh_policy(&self) -> BoxFuture<'_, Result<u64, VaultError>> {
        Box::pin(Vault::refresh_policy(self))
    }

    fn submit_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        new: requests::NewRequest,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::submit_request(self, ctx, new))
    }
    fn portal_status(&self, id: RequestId) -> BoxFuture<'_, Result<requests::PortalStatus, VaultError>> {
        Box::pin(Vault::portal_status(self, id))
    }
    fn verify_code<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        code: String,
    ) -> BoxFuture<'a, Result<requests::PortalStatus, VaultError>> {
        Box::pin(async move { Vault::verify_code(self, ctx, id, &code).await })
    }
    fn send_code<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::send_code(self, ctx, id))
    }
    fn upload_id<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        _content_type: String,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<requests::PortalStatus, VaultError>> {
        Box::pin(Vault::upload_id(self, ctx, id, bytes))
    }
    fn request_view<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::request_view(self, ctx, id))
    }
    fn list_requests(
        &self,
        filter: requests::RequestFilter,
    ) -> BoxFuture<'_, Result<Vec<requests::RequestView>, VaultError>> {
        Box::pin(Vault::list_requests(self, filter))
    }
    fn enable_id_upload<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        justification: String,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(async move { Vault::enable_id_upload(self, ctx, id, &justification).await })
    }
    fn id_document<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::IdDocument, VaultError>> {
        Box::pin(Vault::id_document(self, ctx, id))
    }
    fn check_id<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        verified: bool,
        subject: Option<SubjectId>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::check_id(self, ctx, id, verified, subject))
    }
    fn link_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        subject: SubjectId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::link_subject(self, ctx, id, subject))
    }
    fn extend_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        reasons: String,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(async move { Vault::extend_request(self, ctx, id, &reasons).await })
    }
    fn refuse_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        reasons: Vec<String>,
        text: Option<String>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(async move { Vault::refuse_request(self, ctx, id, &reasons, text).await })
    }
    fn cannot_identify<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        needed: Option<String>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::cannot_identify(self, ctx, id, needed))
    }
    fn withdraw_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::withdraw_request(self, ctx, id))
    }
    fn fulfil_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        changes: Vec<(String, Option<String>)>,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::fulfil_request(self, ctx, id, changes))
    }
    fn transmit_request<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
        target: &'a str,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::transmit_request(self, ctx, id, target))
    }
    fn lift_restriction<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: RequestId,
    ) -> BoxFuture<'a, Result<requests::RequestView, VaultError>> {
        Box::pin(Vault::lift_restriction(self, ctx, id))
    }
    fn download_index(&self, token: String) -> BoxFuture<'_, Result<(Vec<String>, Timestamp), VaultError>> {
        Box::pin(async move { Vault::download_index(self, &token).await })
    }
    fn download_export<'a>(
        &'a self,
        ctx: &'a AuditContext,
        token: String,
        format: String,
    ) -> BoxFuture<'a, Result<requests::Download, VaultError>> {
        Box::pin(async move { Vault::download_export(self, ctx, &token, &format).await })
    }
    fn sweep_exports(&self) -> BoxFuture<'_, Result<u64, VaultError>> {
        Box::pin(Vault::sweep_exports(self))
    }
}
