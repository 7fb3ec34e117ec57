//! The vault service: the one place where personal data is validated, encrypted, blind-indexed,
//! decrypted and audited around the storage port. The HTTP server and the CLI both call it, so the
//! rules hold whichever way data comes in.

pub mod audit;
mod keyring;

use std::collections::BTreeMap;
use std::sync::Arc;

use kluis_crypto::{CryptoError, SecretKey, aad, open, seal, token_hash, unwrap_key, wrap_key};
use kluis_domain::audit::{Action, AuditContext, AuditEvent, Outcome};
use kluis_domain::fields::{Catalogue, FieldValue, IndexName, ValidationErrors, ValueError, index_terms, lookup_term};
use kluis_domain::time::Clock;
use kluis_domain::{SubjectId, SubjectKind, Timestamp, TokenId};
use kluis_register::{Diagnostic, Register};
use kluis_store::{
    AuditLogRecord, IndexEntry, NewSubject, StoreError, StoredValue, SubjectChange, SubjectRecord, TokenRecord,
    WrappedDataKey,
};
use sha2::Digest as _;
use zeroize::Zeroizing;

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
    #[error("invalid lookup value: {0}")]
    InvalidLookup(ValueError),
    #[error("the change names no field")]
    EmptyChange,
    #[error("subject {0} not found")]
    NotFound(SubjectId),
    #[error("subject {0} was changed concurrently; retry")]
    Conflict(SubjectId),
    #[error("missing, unknown or revoked token")]
    Unauthorized,
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
    /// The register text has problems (each with rule, line and column); nothing was stored.
    #[error("the register has {} problem(s); nothing was stored", .0.len())]
    Register(Vec<Diagnostic>),
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

/// A decrypted subject.
#[derive(Debug)]
pub struct Subject {
    pub id: SubjectId,
    pub kind: SubjectKind,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Field name to value, sorted by field name.
    pub values: BTreeMap<String, Plaintext>,
}

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: TokenId,
    pub name: String,
    pub role: String,
}

/// A freshly issued token: the secret is shown once and never stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: TokenId,
    pub secret: Zeroizing<String>,
}

/// The vault over a store `S`.
pub struct Vault<S: Store> {
    store: S,
    keyring: Arc<Keyring>,
    audit: Arc<audit::AuditSigner>,
    catalogue: Arc<Catalogue>,
    clock: Arc<dyn Clock>,
}

impl<S: Store> Clone for Vault<S> {
    fn clone(&self) -> Self {
        Vault {
            store: self.store.clone(),
            keyring: Arc::clone(&self.keyring),
            audit: Arc::clone(&self.audit),
            catalogue: Arc::clone(&self.catalogue),
            clock: Arc::clone(&self.clock),
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

    /// Initialises a fresh database: key hierarchy, the audit log's identity (a new origin and the
    /// public half of `audit_key`), and the first admin token, whose secret is returned once.
    /// Fails with `AlreadyInitialised` (changing nothing) on an initialised store.
    pub async fn initialise_with(
        store: S,
        root: &SecretKey,
        audit_key: AuditSigningKey,
        catalogue: Catalogue,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, IssuedToken), VaultError> {
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
            name: "admin (created by kluis init)".to_owned(),
            hash: token_hash(&secret),
            role: "admin".to_owned(),
            created_at: now,
            revoked_at: None,
        };
        let ctx = AuditContext::system();
        let events = [
            ctx.event(now, Action::KeyringInit, None, &[], &[], Outcome::Success),
            ctx.event(now, Action::TokenCreate, None, &[], &[], Outcome::Success),
        ];
        store.initialise(&record, &token, &events).await?;
        let vault = Vault {
            store,
            keyring: Arc::new(keyring),
            audit: Arc::new(audit::AuditSigner { origin, verifying, signing: Some(audit_key) }),
            catalogue: Arc::new(catalogue),
            clock,
        };
        Ok((vault, IssuedToken { id: token.id, secret }))
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
        Ok(Vault { store, keyring: Arc::new(keyring), audit: Arc::new(audit), catalogue: Arc::new(catalogue), clock })
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Resolves a bearer token to its caller.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, VaultError> {
        let hash = token_hash(token);
        let record = self.store.token_by_hash(&hash).await?.ok_or(VaultError::Unauthorized)?;
        if !kluis_crypto::ct_eq(&record.hash, &hash) || record.revoked_at.is_some() {
            return Err(VaultError::Unauthorized);
        }
        Ok(Caller { token: record.id, name: record.name, role: record.role })
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

    /// Decrypts a record. Any failed authentication is an integrity error, never data.
    fn decrypt(&self, record: &SubjectRecord) -> Result<Subject, VaultError> {
        let dek = self.unwrap_data_key(record.id, &record.data_key)?;
        let mut values = BTreeMap::new();
        for stored in &record.values {
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
        })
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

    async fn decrypt_reporting(&self, ctx: &AuditContext, record: &SubjectRecord) -> Result<Subject, VaultError> {
        match self.decrypt(record) {
            Ok(s) => Ok(s),
            Err(e) => {
                self.report_integrity(ctx, &e).await;
                Err(e)
            }
        }
    }

    /// Creates a subject from raw field values. All validation errors are reported together and
    /// nothing is stored unless every value is valid.
    pub async fn create_subject(
        &self,
        ctx: &AuditContext,
        kind: SubjectKind,
        input: &[(String, String)],
    ) -> Result<SubjectId, VaultError> {
        let parsed = self
            .catalogue
            .parse_values(input.iter().map(|(f, v)| (f.as_str(), v.as_str())))
            .map_err(VaultError::Validation)?;
        let id = SubjectId::generate();
        let now = self.clock.now();
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
        for (def, value) in &parsed {
            values.push(Self::seal_value(id, &dek, FIRST_DATA_KEY_VERSION, def.name, value.as_str())?);
        }
        let index = self.index_entries(parsed.iter().map(|(def, value)| (def.name, value)))?;
        let fields: Vec<&str> = parsed.iter().map(|(def, _)| def.name).collect();
        let event = ctx.event(
            now,
            Action::SubjectCreate,
            Some(id),
            &fields,
            &categories_of(&self.catalogue, &fields),
            Outcome::Success,
        );
        let subject = NewSubject { id, kind, created_at: now, data_key, values, index };
        self.store.create_subject(&subject, &event).await?;
        Ok(id)
    }

    fn read_event(
        &self,
        ctx: &AuditContext,
        action: Action,
        id: SubjectId,
        record: Option<&SubjectRecord>,
    ) -> AuditEvent {
        let now = self.clock.now();
        match record {
            Some(r) => {
                let fields: Vec<&str> = r.values.iter().map(|v| v.field.as_str()).collect();
                ctx.event(now, action, Some(id), &fields, &categories_of(&self.catalogue, &fields), Outcome::Success)
            }
            None => ctx.event(now, action, Some(id), &[], &[], Outcome::NotFound),
        }
    }

    /// Reads and decrypts one subject; the read is audited before the data is returned.
    pub async fn get_subject(&self, ctx: &AuditContext, id: SubjectId) -> Result<Subject, VaultError> {
        let record = self
            .store
            .read_subject(id, |r| self.read_event(ctx, Action::SubjectRead, id, r))
            .await?
            .ok_or(VaultError::NotFound(id))?;
        self.decrypt_reporting(ctx, &record).await
    }

    /// Finds subjects by an indexed field (`raw` holds one value, or postcode and house number).
    pub async fn find_subjects(
        &self,
        ctx: &AuditContext,
        index: IndexName,
        raw: &[&str],
    ) -> Result<Vec<Subject>, VaultError> {
        let term = lookup_term(&self.catalogue, index, raw).map_err(VaultError::InvalidLookup)?;
        let entry = self.digest(index, &term)?;
        let records = self
            .store
            .find_subjects(&entry, |records| {
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
                    records.iter().map(|r| self.read_event(ctx, Action::SubjectFind, r.id, Some(r))).collect()
                }
            })
            .await?;
        let mut subjects = Vec::with_capacity(records.len());
        for record in &records {
            subjects.push(self.decrypt_reporting(ctx, record).await?);
        }
        Ok(subjects)
    }

    /// Sets (`Some`) or removes (`None`) field values. Validation covers every value before
    /// anything is written; index entries are recomputed from the resulting set of values.
    pub async fn update_subject(
        &self,
        ctx: &AuditContext,
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

        let record = self.store.load_subject(id).await?.ok_or(VaultError::NotFound(id))?;
        let current = self.decrypt_reporting(ctx, &record).await?;
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
        let mut fields: Vec<&str> = changes.iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
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
    /// records the erasure in the ledger.
    pub async fn erase_subject(&self, ctx: &AuditContext, id: SubjectId) -> Result<(), VaultError> {
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
}

/// The register as code: immutable, hashed, audited versions of the TOML source.
impl<S: Store> Vault<S> {
    /// Checks `text` with every register rule and stores it as the next version, auditing
    /// `register.load` with the version and hash. A text identical to the current version
    /// returns that version and records nothing. With problems, returns them all
    /// (`VaultError::Register`) and stores nothing.
    pub async fn load_register(&self, ctx: &AuditContext, text: &str) -> Result<StoredRegisterVersion, VaultError> {
        kluis_register::check(text).map_err(VaultError::Register)?;
        let sha256: [u8; 32] = sha2::Sha256::digest(text.as_bytes()).into();
        let now = self.clock.now();
        let stored = self
            .store
            .add_register_version(text, &sha256, now, &ctx.actor.encode(), |version| {
                ctx.event(now, Action::RegisterLoad, None, &[], &[], Outcome::Success).with_register(version, &sha256)
            })
            .await?;
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
    fn ping(&self) -> BoxFuture<'_, Result<(), VaultError>>;
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, VaultError>>;
    fn create_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        kind: SubjectKind,
        input: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<SubjectId, VaultError>>;
    fn get_subject<'a>(&'a self, ctx: &'a AuditContext, id: SubjectId) -> BoxFuture<'a, Result<Subject, VaultError>>;
    fn find_subjects<'a>(
        &'a self,
        ctx: &'a AuditContext,
        index: IndexName,
        raw: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Subject>, VaultError>>;
    fn update_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: SubjectId,
        changes: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Result<(), VaultError>>;
    fn erase_subject<'a>(&'a self, ctx: &'a AuditContext, id: SubjectId) -> BoxFuture<'a, Result<(), VaultError>>;
    /// The verifier key of the audit log in Go note format.
    fn audit_verifier_string(&self) -> String;
    fn audit_size(&self) -> BoxFuture<'_, Result<u64, VaultError>>;
    fn checkpoint_now(&self) -> BoxFuture<'_, Result<StoredCheckpoint, VaultError>>;
    fn latest_checkpoint(&self) -> BoxFuture<'_, Result<Option<StoredCheckpoint>, VaultError>>;
    fn inclusion_proof(&self, index: u64, size: Option<u64>) -> BoxFuture<'_, Result<InclusionProof, VaultError>>;
    fn consistency_proof(&self, from: u64, to: Option<u64>) -> BoxFuture<'_, Result<ConsistencyProof, VaultError>>;
    fn audit_events(&self, from: u64, limit: u32) -> BoxFuture<'_, Result<Vec<StoredAuditEvent>, VaultError>>;
    fn load_register<'a>(
        &'a self,
        ctx: &'a AuditContext,
        text: &'a str,
    ) -> BoxFuture<'a, Result<StoredRegisterVersion, VaultError>>;
    fn register_version(&self, version: u64) -> BoxFuture<'_, Result<Option<StoredRegisterVersion>, VaultError>>;
    fn register_versions(&self) -> BoxFuture<'_, Result<Vec<RegisterVersionSummary>, VaultError>>;
    fn current_register(&self) -> BoxFuture<'_, Result<Option<(StoredRegisterVersion, Register)>, VaultError>>;
}

impl<S: Store> VaultService for Vault<S> {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), VaultError>> {
        Box::pin(async move { Ok(self.store.ping().await?) })
    }
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, VaultError>> {
        Box::pin(Vault::authenticate(self, token))
    }
    fn create_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        kind: SubjectKind,
        input: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<SubjectId, VaultError>> {
        Box::pin(Vault::create_subject(self, ctx, kind, input))
    }
    fn get_subject<'a>(&'a self, ctx: &'a AuditContext, id: SubjectId) -> BoxFuture<'a, Result<Subject, VaultError>> {
        Box::pin(Vault::get_subject(self, ctx, id))
    }
    fn find_subjects<'a>(
        &'a self,
        ctx: &'a AuditContext,
        index: IndexName,
        raw: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Subject>, VaultError>> {
        Box::pin(Vault::find_subjects(self, ctx, index, raw))
    }
    fn update_subject<'a>(
        &'a self,
        ctx: &'a AuditContext,
        id: SubjectId,
        changes: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::update_subject(self, ctx, id, changes))
    }
    fn erase_subject<'a>(&'a self, ctx: &'a AuditContext, id: SubjectId) -> BoxFuture<'a, Result<(), VaultError>> {
        Box::pin(Vault::erase_subject(self, ctx, id))
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
}
