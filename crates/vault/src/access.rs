//! Who may do what: staff accounts (Argon2id passwords, mandatory TOTP, recovery codes, IP
//! allowlists), console sessions, API tokens (break-glass, service, role), login throttling, and
//! the purpose policy every personal-data call is decided by.
//!
//! Secrets are shown once and stored only as hashes (tokens, sessions, enrolment secrets,
//! recovery codes) or sealed under a key-encryption key (TOTP seeds). Every login attempt, every
//! refused token or session, every use of the break-glass token and every account change is an
//! audit event; a failed login's event says why (`reason`) but never what was typed.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use kluis_crypto::password::{self, Password, PasswordHash, WeakPassword};
use kluis_crypto::recovery::{DEFAULT_RECOVERY_CODES, check_recovery_code, generate_recovery_codes};
use kluis_crypto::totp::{self, TotpSecret};
use kluis_crypto::{aad, csrf_token, open, random_token, seal, sha256, token_hash};
use kluis_domain::access::{AllowlistError, CallerScope, IpAllowlist, Permission, PurposePolicy, Role};
use kluis_domain::audit::{Action, Actor, AuditContext, AuditEvent, Outcome};
use kluis_domain::{AccountId, Purpose, Timestamp, TokenId};
use kluis_register::Register;
use kluis_store::{AccountRecord, SealedSecret, SessionRecord, Store, StoredRegisterVersion, Throttle, TokenRecord};
use zeroize::Zeroizing;

use crate::{Vault, VaultError};

/// Token kinds as stored in the `role` column besides role names.
pub const BREAK_GLASS: &str = "break_glass";
pub const SERVICE: &str = "service";

/// Limits and durations of authentication. The defaults are what the README documents.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// A session ends after this long without a request.
    pub session_idle_ms: i64,
    /// A session ends this long after login, whatever the activity.
    pub session_absolute_ms: i64,
    /// How long an enrolment secret stays valid.
    pub enrolment_ttl_ms: i64,
    /// Consecutive failures after which an account name is locked.
    pub account_lock_after: u32,
    /// Consecutive failures after which a client address is locked (higher: offices share one).
    pub address_lock_after: u32,
    /// The first lock lasts this long; each further failure doubles it, up to `lock_max_ms`.
    pub lock_base_ms: i64,
    pub lock_max_ms: i64,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_idle_ms: 30 * 60 * 1000,
            session_absolute_ms: 12 * 60 * 60 * 1000,
            enrolment_ttl_ms: 7 * 24 * 60 * 60 * 1000,
            account_lock_after: 5,
            address_lock_after: 20,
            lock_base_ms: 60 * 1000,
            lock_max_ms: 60 * 60 * 1000,
            issuer: "kluis".to_owned(),
        }
    }
}

/// Sessions are touched at most this often, so a burst of requests is not a burst of writes.
/// The idle timeout is therefore accurate to this much.
const TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// Why authentication or an account operation failed. Codes are stable; messages never repeat
/// input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the account name, password or second factor is wrong")]
    InvalidCredentials,
    #[error("too many failed logins; try again in {retry_after_s} seconds")]
    Locked { retry_after_s: u64 },
    #[error("access from this address is not allowed for this account or token")]
    IpNotAllowed,
    #[error("this token has expired")]
    TokenExpired,
    #[error("this token has been revoked")]
    TokenRevoked,
    #[error("the session has ended; log in again")]
    SessionExpired,
    #[error("the enrolment link is unknown, used or expired; ask an administrator for a new one")]
    EnrolmentInvalid,
    #[error("{}", .0.message_en())]
    WeakPassword(WeakPassword),
    #[error(
        "invalid account name: use 2 to 32 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit (not an e-mail address)"
    )]
    InvalidUsername,
    #[error("an account with this name already exists")]
    UsernameTaken,
    #[error("{}", .0.message_en())]
    InvalidAllowlist(AllowlistError),
    #[error("unknown role: expected one of admin, dpo, staff, accountant, auditor")]
    UnknownRole,
    #[error("unknown purpose `{0}`: it is not in the register")]
    UnknownPurpose(Purpose),
    #[error("a token needs a role or at least one purpose")]
    EmptyScope,
    #[error("the expiry lies in the past")]
    ExpiryInPast,
    #[error("no such account")]
    AccountNotFound,
    #[error("no such token")]
    TokenNotFound,
    #[error("the account was changed concurrently; retry")]
    AccountConflict,
    #[error("the account has not completed enrolment")]
    NotEnrolled,
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::Locked { .. } => "login_locked",
            AuthError::IpNotAllowed => "ip_not_allowed",
            AuthError::TokenExpired => "token_expired",
            AuthError::TokenRevoked => "token_revoked",
            AuthError::SessionExpired => "session_expired",
            AuthError::EnrolmentInvalid => "enrolment_invalid",
            AuthError::WeakPassword(_) => "weak_password",
            AuthError::InvalidUsername => "invalid_username",
            AuthError::UsernameTaken => "username_taken",
            AuthError::InvalidAllowlist(e) => e.code(),
            AuthError::UnknownRole => "unknown_role",
            AuthError::UnknownPurpose(_) => "unknown_purpose",
            AuthError::EmptyScope => "empty_scope",
            AuthError::ExpiryInPast => "invalid_expiry",
            AuthError::AccountNotFound => "account_not_found",
            AuthError::TokenNotFound => "token_not_found",
            AuthError::AccountConflict => "conflict",
            AuthError::NotEnrolled => "not_enrolled",
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }

    pub fn message_nl(&self) -> String {
        match self {
            AuthError::InvalidCredentials => "de accountnaam, het wachtwoord of de tweede factor klopt niet".to_owned(),
            AuthError::Locked { retry_after_s } => {
                format!("te veel mislukte inlogpogingen; probeer het over {retry_after_s} seconden opnieuw")
            }
            AuthError::IpNotAllowed => {
                "toegang vanaf dit adres is niet toegestaan voor dit account of token".to_owned()
            }
            AuthError::TokenExpired => "dit token is verlopen".to_owned(),
            AuthError::TokenRevoked => "dit token is ingetrokken".to_owned(),
            AuthError::SessionExpired => "de sessie is beëindigd; log opnieuw in".to_owned(),
            AuthError::EnrolmentInvalid => {
                "de inschrijflink is onbekend, al gebruikt of verlopen; vraag een beheerder om een nieuwe".to_owned()
            }
            AuthError::WeakPassword(w) => w.message_nl(),
            AuthError::InvalidUsername => "ongeldige accountnaam: gebruik 2 tot 32 tekens a-z, 0-9, '.', '_' of '-', \
                beginnend met een letter of cijfer (geen e-mailadres)"
                .to_owned(),
            AuthError::UsernameTaken => "er bestaat al een account met deze naam".to_owned(),
            AuthError::InvalidAllowlist(e) => e.message_nl(),
            AuthError::UnknownRole => {
                "onbekende rol: verwacht een van admin, dpo, staff, accountant, auditor".to_owned()
            }
            AuthError::UnknownPurpose(p) => format!("onbekend doel `{p}`: het staat niet in het register"),
            AuthError::EmptyScope => "een token heeft een rol of minstens één doel nodig".to_owned(),
            AuthError::ExpiryInPast => "de vervaldatum ligt in het verleden".to_owned(),
            AuthError::AccountNotFound => "dit account bestaat niet".to_owned(),
            AuthError::TokenNotFound => "dit token bestaat niet".to_owned(),
            AuthError::AccountConflict => "het account is tegelijk gewijzigd; probeer het opnieuw".to_owned(),
            AuthError::NotEnrolled => "het account heeft de inschrijving nog niet afgerond".to_owned(),
        }
    }
}

impl From<AuthError> for VaultError {
    fn from(e: AuthError) -> Self {
        VaultError::Auth(e)
    }
}

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// The token `kluis init` printed: account and register administration and the audit log,
    /// never personal data; every use is audited.
    BreakGlass,
    /// An API token (service or role token).
    Token,
    /// A staff member's console session.
    Session,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kind: CallerKind,
    pub actor: Actor,
    /// The token's name or the account's username.
    pub name: String,
    pub role: Option<Role>,
    /// The purposes a token is limited to (`None`: the role's purposes).
    pub token_purposes: Option<Vec<Purpose>>,
    pub account: Option<AccountId>,
    pub token: Option<TokenId>,
}

impl Caller {
    /// Whether the caller holds a permission that is not about personal data.
    pub fn may(&self, permission: Permission) -> bool {
        match self.kind {
            CallerKind::BreakGlass => {
                matches!(permission, Permission::ManageAccounts | Permission::ManageRegister | Permission::ReadAudit)
            }
            CallerKind::Token | CallerKind::Session => self.role.is_some_and(|role| role.may(permission)),
        }
    }

    /// The scope [`kluis_domain::access::decide`] checks a purpose against.
    pub fn scope(&self) -> CallerScope {
        match (self.kind, self.role, &self.token_purposes) {
            (CallerKind::BreakGlass, _, _) | (_, None, None) => CallerScope::token([]),
            (_, Some(role), None) => CallerScope::role(role),
            (_, Some(role), Some(purposes)) => CallerScope::role_token(role, purposes.iter().cloned()),
            (_, None, Some(purposes)) => CallerScope::token(purposes.iter().cloned()),
        }
    }
}

/// A freshly issued token: the secret is shown once and never stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: TokenId,
    pub secret: Zeroizing<String>,
}

/// What a new token may do.
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    pub name: String,
    /// A staff role whose permissions and purposes the token carries.
    pub role: Option<String>,
    /// Purposes the token is limited to (with a role: further limited).
    pub purposes: Option<Vec<String>>,
    /// CIDR entries; empty means any address.
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// A token as listed (never its secret or hash).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    pub role: String,
    pub purposes: Option<Vec<String>>,
    pub allowed_ips: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<TokenRecord> for TokenInfo {
    fn from(t: TokenRecord) -> Self {
        TokenInfo {
            id: t.id,
            name: t.name,
            role: t.role,
            purposes: t.purposes,
            allowed_ips: t.allowed_ips,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// An account as listed (no password hash, seed or enrolment hash).
#[derive(Debug, Clone)]
pub struct AccountInfo {
    pub id: AccountId,
    pub username: String,
    pub role: String,
    pub allowed_ips: Vec<String>,
    pub enrolled: bool,
    pub enrolment_open: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl From<&AccountRecord> for AccountInfo {
    fn from(a: &AccountRecord) -> Self {
        AccountInfo {
            id: a.id,
            username: a.username.clone(),
            role: a.role.clone(),
            allowed_ips: a.allowed_ips.clone(),
            enrolled: a.totp_confirmed_at.is_some(),
            enrolment_open: a.enrolment_hash.is_some(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            disabled_at: a.disabled_at,
        }
    }
}

/// A new account: the enrolment secret the person uses to set a password and get the TOTP seed.
#[derive(Debug)]
pub struct NewAccount {
    pub id: AccountId,
    pub enrolment_secret: Zeroizing<String>,
    pub enrolment_expires_at: Timestamp,
}

/// What enrolment hands the person, once: the authenticator URI and the recovery codes.
#[derive(Debug)]
pub struct Enrolment {
    pub account: AccountId,
    pub otpauth_uri: Zeroizing<String>,
    pub recovery_codes: Vec<Zeroizing<String>>,
}

/// A login: the password and one second factor.
#[derive(Debug)]
pub struct LoginAttempt {
    pub username: String,
    pub password: Password,
    pub totp: Option<String>,
    pub recovery_code: Option<String>,
}

/// A started session: the cookie value (shown once), its CSRF token and its end.
#[derive(Debug)]
pub struct LoginSession {
    pub secret: Zeroizing<String>,
    pub csrf_token: String,
    pub account: AccountInfo,
    pub expires_at: Timestamp,
    /// Seconds from now to `expires_at` (the cookie's `Max-Age`).
    pub lifetime_s: i64,
}

/// An account change by an administrator; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub role: Option<String>,
    pub allowed_ips: Option<Vec<String>>,
    /// `Some(true)` disables the account (and ends its sessions), `Some(false)` enables it.
    pub disabled: Option<bool>,
}

/// A valid account name: a handle, never an e-mail address.
pub fn validate_username(username: &str) -> Result<(), AuthError> {
    let bytes = username.as_bytes();
    let ok = (2..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase() | bytes[0].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(AuthError::InvalidUsername) }
}

fn parse_role(role: &str) -> Result<Role, AuthError> {
    Role::from_str(role).map_err(|_| AuthError::UnknownRole)
}

/// Canonical allowlist entries, or the first problem.
fn canonical_allowlist(entries: &[String]) -> Result<Vec<String>, AuthError> {
    let list = IpAllowlist::parse(entries).map_err(AuthError::InvalidAllowlist)?;
    Ok(list.entries().iter().map(ToString::to_string).collect())
}

/// A stored allowlist; a stored entry that no longer parses allows nothing (fail closed).
fn stored_allowlist_allows(entries: &[String], client: Option<IpAddr>) -> bool {
    if entries.is_empty() {
        return true;
    }
    let Some(client) = client else { return false };
    IpAllowlist::parse(entries).is_ok_and(|list| list.allows(client))
}

/// Throttle key of an account name: typed names are hashed, so the table never holds what was
/// typed (it may be a password typed into the wrong box), and unknown names are throttled
/// exactly like known ones.
fn account_key(username: &str) -> String {
    format!("account:{}", hex::encode(&sha256(username.trim().to_lowercase().as_bytes())[..16]))
}

fn address_key(client: Option<IpAddr>) -> Option<String> {
    client.map(|ip| format!("address:{}", hex::encode(&sha256(ip.to_string().as_bytes())[..16])))
}

/// The end of a lock, if `throttle` has reached `threshold` failures.
fn locked_until(settings: &AuthSettings, throttle: Option<Throttle>, threshold: u32) -> Option<Timestamp> {
    let t = throttle?;
    if t.failures < threshold {
        return None;
    }
    let doublings = (t.failures - threshold).min(20);
    let ms = settings.lock_base_ms.saturating_mul(1_i64 << doublings).min(settings.lock_max_ms);
    Some(Timestamp::from_millis(t.last_failure_at.as_millis().saturating_add(ms)))
}

fn seal_seed(keyring: &crate::Keyring, account: AccountId, seed: &TotpSecret) -> Result<SealedSecret, VaultError> {
    let kek_version = keyring.current_kek_version();
    let kek = keyring.kek(kek_version).ok_or_else(|| VaultError::KeyringCorrupt("current KEK missing".into()))?;
    let sealed = seal(kek, &aad::totp_seed(account.as_bytes(), kek_version), seed.expose())?;
    Ok(SealedSecret { kek_version, sealed })
}

fn open_seed(keyring: &crate::Keyring, account: AccountId, sealed: &SealedSecret) -> Result<TotpSecret, VaultError> {
    let integrity = || VaultError::KeyringCorrupt(format!("the TOTP seed of account {account} does not open"));
    let kek = keyring.kek(sealed.kek_version).ok_or_else(integrity)?;
    let bytes =
        open(kek, &aad::totp_seed(account.as_bytes(), sealed.kek_version), &sealed.sealed).map_err(|_| integrity())?;
    Ok(TotpSecret::from_slice(&bytes)?)
}

/// The purpose policy a register defines: its purposes with their categories, and for each of
/// the five staff roles the purposes `[roles.<role>]` lists (a role the register does not name
/// may use no purpose). Register roles with other names are not staff roles of kluis and are
/// ignored here (they still appear in the statement).
pub fn policy_from_register(register: &Register) -> Result<PurposePolicy, VaultError> {
    let bad = |what: String| VaultError::KeyringCorrupt(format!("the register cannot drive access control: {what}"));
    let mut purposes = Vec::new();
    for (key, def) in &register.purposes {
        let purpose = Purpose::parse(key).map_err(|_| bad(format!("purpose key `{key}`")))?;
        purposes.push((purpose, def.categories.clone()));
    }
    let mut roles = Vec::new();
    for role in Role::ALL {
        if let Some(def) = register.roles.get(role.as_str()) {
            let mut list = Vec::new();
            for key in &def.purposes {
                list.push(Purpose::parse(key).map_err(|_| bad(format!("purpose key `{key}`")))?);
            }
            roles.push((role, list));
        }
    }
    PurposePolicy::new(purposes, roles).map_err(|e| bad(e.to_string()))
}

impl<S: Store> Vault<S> {
    /// The purpose policy in force: the current register's, or the built-in default register
    /// when none is loaded.
    pub fn policy(&self) -> Arc<PurposePolicy> {
        Arc::clone(&self.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner).policy)
    }

    /// The register in force (the one the policy comes from), parsed once per version; `None`
    /// on the built-in policy.
    pub(crate) fn register_in_force(&self) -> Option<Arc<(StoredRegisterVersion, Register)>> {
        self.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner).register.clone()
    }

    /// Re-reads the current register version and rebuilds the policy when it changed (another
    /// process may have loaded one). Returns the register version in force (0: built-in).
    pub async fn refresh_policy(&self) -> Result<u64, VaultError> {
        let latest = self.store.latest_register_version().await?;
        let version = latest.as_ref().map_or(0, |v| v.version);
        let current = self.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner).version;
        if version == current {
            return Ok(version);
        }
        let in_force = match latest {
            Some(stored) => {
                let register = crate::parse_stored(&stored)?;
                let policy = policy_from_register(&register)?;
                crate::InForce { version, policy: Arc::new(policy), register: Some(Arc::new((stored, register))) }
            }
            None => crate::InForce { version, policy: Arc::new(PurposePolicy::builtin()), register: None },
        };
        *self.policy.write().unwrap_or_else(std::sync::PoisonError::into_inner) = in_force;
        Ok(version)
    }

    async fn hash_blocking(&self, password: Password) -> Result<PasswordHash, VaultError> {
        let _permit = self.hash_pool.acquire().await.map_err(|_| VaultError::Store(closed_pool()))?;
        tokio::task::spawn_blocking(move || password::hash_password(&password))
            .await
            .map_err(|_| VaultError::Store(closed_pool()))?
            .map_err(VaultError::Crypto)
    }

    /// Verifies on the bounded blocking pool; `None` runs the dummy verification of the same
    /// cost (unknown account).
    async fn verify_blocking(&self, password: Password, hash: Option<String>) -> Result<bool, VaultError> {
        let _permit = self.hash_pool.acquire().await.map_err(|_| VaultError::Store(closed_pool()))?;
        tokio::task::spawn_blocking(move || match hash.as_deref().map(PasswordHash::parse) {
            Some(Ok(hash)) => password::verify_password(&password, &hash),
            _ => password::dummy_verify(&password),
        })
        .await
        .map_err(|_| VaultError::Store(closed_pool()))
    }

    fn event(&self, ctx: &AuditContext, action: Action, outcome: Outcome) -> AuditEvent {
        ctx.event(self.clock.now(), action, None, &[], &[], outcome)
    }

    async fn audit_refusal(&self, ctx: &AuditContext, action: Action, reason: &'static str) {
        let event = self.event(ctx, action, Outcome::Denied).with_reason(reason);
        if let Err(e) = self.store.append_audit(&[event]).await {
            tracing::error!(error = %e, "could not audit a refused authentication");
        }
    }

    // -- Tokens ------------------------------------------------------------------------------

    /// Resolves a bearer token. Unknown tokens are refused without an event (there is nobody to
    /// name); revoked, expired and out-of-allowlist uses are refused and audited; every use of
    /// the break-glass token is audited.
    pub async fn authenticate_token(&self, secret: &str, client: Option<IpAddr>) -> Result<Caller, VaultError> {
        let hash = token_hash(secret);
        let record = self.store.token_by_hash(&hash).await?.ok_or(VaultError::Unauthorized)?;
        if !kluis_crypto::ct_eq(&record.hash, &hash) {
            return Err(VaultError::Unauthorized);
        }
        let ctx = AuditContext { actor: Actor::Token(record.id), purpose: None, client, request_id: None };
        let now = self.clock.now();
        if record.revoked_at.is_some() {
            self.audit_refusal(&ctx, Action::AuthRefused, "token_revoked").await;
            return Err(AuthError::TokenRevoked.into());
        }
        if record.expires_at.is_some_and(|at| now >= at) {
            self.audit_refusal(&ctx, Action::AuthRefused, "token_expired").await;
            return Err(AuthError::TokenExpired.into());
        }
        if !stored_allowlist_allows(&record.allowed_ips, client) {
            self.audit_refusal(&ctx, Action::AuthRefused, "ip_not_allowed").await;
            return Err(AuthError::IpNotAllowed.into());
        }
        let (kind, role) = match record.role.as_str() {
            BREAK_GLASS => (CallerKind::BreakGlass, None),
            SERVICE => (CallerKind::Token, None),
            other => (CallerKind::Token, Some(parse_role(other).map_err(|_| VaultError::Unauthorized)?)),
        };
        if kind == CallerKind::BreakGlass {
            let event = self.event(&ctx, Action::AuthBreakGlass, Outcome::Success);
            self.store.append_audit(&[event]).await?;
        }
        let token_purposes =
            record.purposes.as_ref().map(|list| list.iter().filter_map(|p| Purpose::parse(p).ok()).collect());
        Ok(Caller {
            kind,
            actor: Actor::Token(record.id),
            name: record.name,
            role,
            token_purposes,
            account: None,
            token: Some(record.id),
        })
    }

    /// Issues a token. Purposes must exist in the policy in force; allowlist entries must parse.
    pub async fn create_token(&self, ctx: &AuditContext, spec: &TokenSpec) -> Result<IssuedToken, VaultError> {
        let role = match spec.role.as_deref() {
            None => SERVICE.to_owned(),
            Some(BREAK_GLASS) => BREAK_GLASS.to_owned(),
            Some(r) => parse_role(r)?.as_str().to_owned(),
        };
        let purposes = match &spec.purposes {
            None => None,
            Some(list) => {
                let policy = self.policy();
                let mut out = Vec::new();
                for raw in list {
                    let purpose = Purpose::parse(raw).map_err(|_| AuthError::UnknownPurpose(unknown_purpose()))?;
                    if policy.categories(&purpose).is_none() {
                        return Err(AuthError::UnknownPurpose(purpose).into());
                    }
                    out.push(purpose.as_str().to_owned());
                }
                out.sort();
                out.dedup();
                Some(out)
            }
        };
        if role == SERVICE && purposes.as_ref().is_none_or(Vec::is_empty) {
            return Err(AuthError::EmptyScope.into());
        }
        let now = self.clock.now();
        if spec.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::ExpiryInPast.into());
        }
        let allowed_ips = canonical_allowlist(&spec.allowed_ips)?;
        let secret = random_token()?;
        let record = TokenRecord {
            id: TokenId::generate(),
            name: spec.name.clone(),
            hash: token_hash(&secret),
            role,
            created_at: now,
            revoked_at: None,
            purposes,
            allowed_ips,
            expires_at: spec.expires_at,
        };
        let event = self.event(ctx, Action::TokenCreate, Outcome::Success).with_target(&Actor::Token(record.id));
        self.store.create_token(&record, &event).await?;
        Ok(IssuedToken { id: record.id, secret })
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, VaultError> {
        Ok(self.store.tokens().await?.into_iter().map(TokenInfo::from).collect())
    }

    /// Revokes a token (audited). Revoking an unknown or already revoked token is `TokenNotFound`.
    pub async fn revoke_token(&self, ctx: &AuditContext, id: TokenId) -> Result<(), VaultError> {
        let now = self.clock.now();
        let revoked = self
            .store
            .revoke_token(id, now, |done| {
                self.event(ctx, Action::TokenRevoke, if done { Outcome::Success } else { Outcome::NotFound })
                    .with_target(&Actor::Token(id))
            })
            .await?;
        if revoked { Ok(()) } else { Err(AuthError::TokenNotFound.into()) }
    }

    // -- Accounts ----------------------------------------------------------------------------

    fn new_account_record(
        &self,
        username: &str,
        role: &str,
        allowed_ips: &[String],
    ) -> Result<AccountRecord, VaultError> {
        validate_username(username)?;
        let role = parse_role(role)?;
        let allowed_ips = canonical_allowlist(allowed_ips)?;
        let now = self.clock.now();
        Ok(AccountRecord {
            id: AccountId::generate(),
            username: username.to_owned(),
            role: role.as_str().to_owned(),
            password_hash: None,
            totp_seed: None,
            totp_confirmed_at: None,
            allowed_ips,
            enrolment_hash: None,
            enrolment_expires_at: None,
            created_at: now,
            updated_at: now,
            disabled_at: None,
            revision: 0,
        })
    }

    /// Creates an account with an open enrolment: the returned secret lets the person set a
    /// password and receive the TOTP seed (nobody else learns either).
    pub async fn create_account(
        &self,
        ctx: &AuditContext,
        username: &str,
        role: &str,
        allowed_ips: &[String],
    ) -> Result<NewAccount, VaultError> {
        let mut record = self.new_account_record(username, role, allowed_ips)?;
        let secret = random_token()?;
        let expires = Timestamp::from_millis(record.created_at.as_millis() + self.auth.enrolment_ttl_ms);
        record.enrolment_hash = Some(token_hash(&secret));
        record.enrolment_expires_at = Some(expires);
        let event = self.event(ctx, Action::AccountCreate, Outcome::Success).with_target(&Actor::Account(record.id));
        self.store.create_account(&record, &[], &event).await.map_err(duplicate_username)?;
        Ok(NewAccount { id: record.id, enrolment_secret: secret, enrolment_expires_at: expires })
    }

    /// The enrolment material for an account: password hash, sealed seed, recovery codes.
    async fn enrolment_material(
        &self,
        record: &mut AccountRecord,
        password: Password,
    ) -> Result<(Enrolment, Vec<[u8; 32]>), VaultError> {
        password::check_strength(&password, &[record.username.as_str()]).map_err(AuthError::WeakPassword)?;
        let hash = self.hash_blocking(password).await?;
        let seed = TotpSecret::generate()?;
        record.password_hash = Some(hash.as_str().to_owned());
        record.totp_seed = Some(seal_seed(&self.keyring, record.id, &seed)?);
        record.totp_confirmed_at = None;
        let (codes, hashes) = generate_recovery_codes(DEFAULT_RECOVERY_CODES)?;
        let enrolment = Enrolment {
            account: record.id,
            otpauth_uri: totp::otpauth_uri(&seed, &self.auth.issuer, &record.username),
            recovery_codes: codes,
        };
        Ok((enrolment, hashes))
    }

    /// The first admin's record, for [`Vault::initialise_full`].
    pub(crate) async fn first_admin_record(
        &self,
        first: crate::FirstAdmin,
    ) -> Result<(AccountRecord, Enrolment, Vec<[u8; 32]>), VaultError> {
        let mut record = self.new_account_record(&first.username, Role::Admin.as_str(), &[])?;
        let (enrolment, hashes) = self.enrolment_material(&mut record, first.password).await?;
        Ok((record, enrolment, hashes))
    }

    /// Creates an account with a password set by the person at the terminal (`kluis init`,
    /// `kluis account add`): returns the TOTP URI and recovery codes to show once. The first
    /// login with a valid code completes enrolment.
    pub async fn create_account_with_password(
        &self,
        ctx: &AuditContext,
        username: &str,
        role: &str,
        allowed_ips: &[String],
        password: Password,
    ) -> Result<Enrolment, VaultError> {
        let mut record = self.new_account_record(username, role, allowed_ips)?;
        let (enrolment, hashes) = self.enrolment_material(&mut record, password).await?;
        let event = self.event(ctx, Action::AccountCreate, Outcome::Success).with_target(&Actor::Account(record.id));
        self.store.create_account(&record, &hashes, &event).await.map_err(duplicate_username)?;
        Ok(enrolment)
    }

    /// Completes the first half of enrolment with the secret an administrator handed out:
    /// checks the password's strength, stores its hash, and returns the TOTP URI and recovery
    /// codes once. The secret is single use.
    pub async fn enrol(
        &self,
        ctx: &AuditContext,
        enrolment_secret: &str,
        password: Password,
    ) -> Result<Enrolment, VaultError> {
        let now = self.clock.now();
        let hash = token_hash(enrolment_secret);
        let mut record = self.store.account_by_enrolment(&hash).await?.ok_or(AuthError::EnrolmentInvalid)?;
        let open = record.enrolment_hash.is_some_and(|h| kluis_crypto::ct_eq(&h, &hash))
            && record.enrolment_expires_at.is_some_and(|at| now < at)
            && record.disabled_at.is_none();
        if !open {
            return Err(AuthError::EnrolmentInvalid.into());
        }
        let (enrolment, hashes) = self.enrolment_material(&mut record, password).await?;
        record.enrolment_hash = None;
        record.enrolment_expires_at = None;
        record.updated_at = now;
        let ctx = AuditContext { actor: Actor::Account(record.id), ..ctx.clone() };
        let event = self.event(&ctx, Action::AccountEnrol, Outcome::Success).with_target(&Actor::Account(record.id));
        if !self.store.update_account(&record, Some(&hashes), &[event]).await? {
            return Err(AuthError::EnrolmentInvalid.into());
        }
        Ok(enrolment)
    }

    /// Ends an account's credentials and opens a new enrolment (lost phone, forgotten
    /// password): password, seed and recovery codes are dropped and every session ends.
    pub async fn reset_enrolment(&self, ctx: &AuditContext, id: AccountId) -> Result<NewAccount, VaultError> {
        let mut record = self.store.account(id).await?.ok_or(AuthError::AccountNotFound)?;
        let now = self.clock.now();
        let secret = random_token()?;
        let expires = Timestamp::from_millis(now.as_millis() + self.auth.enrolment_ttl_ms);
        record.password_hash = None;
        record.totp_seed = None;
        record.totp_confirmed_at = None;
        record.enrolment_hash = Some(token_hash(&secret));
        record.enrolment_expires_at = Some(expires);
        record.updated_at = now;
        let event = self
            .event(ctx, Action::AccountUpdate, Outcome::Success)
            .with_reason("enrolment_reset")
            .with_target(&Actor::Account(id));
        if !self.store.update_account(&record, Some(&[]), &[event]).await? {
            return Err(AuthError::AccountConflict.into());
        }
        let revoke = self.event(ctx, Action::SessionRevoke, Outcome::Success).with_target(&Actor::Account(id));
        self.store.revoke_sessions(id, now, &revoke).await?;
        Ok(NewAccount { id, enrolment_secret: secret, enrolment_expires_at: expires })
    }

    pub async fn accounts(&self) -> Result<Vec<AccountInfo>, VaultError> {
        Ok(self.store.accounts().await?.iter().map(AccountInfo::from).collect())
    }

    pub async fn account(&self, id: AccountId) -> Result<AccountInfo, VaultError> {
        let record = self.store.account(id).await?.ok_or(AuthError::AccountNotFound)?;
        Ok(AccountInfo::from(&record))
    }

    pub async fn account_by_username(&self, username: &str) -> Result<AccountInfo, VaultError> {
        let record = self.store.account_by_username(username).await?.ok_or(AuthError::AccountNotFound)?;
        Ok(AccountInfo::from(&record))
    }

    /// Changes role, allowlist or disabled state (audited); disabling ends every session.
    pub async fn update_account(
        &self,
        ctx: &AuditContext,
        id: AccountId,
        change: &AccountChange,
    ) -> Result<AccountInfo, VaultError> {
        let mut record = self.store.account(id).await?.ok_or(AuthError::AccountNotFound)?;
        let now = self.clock.now();
        if let Some(role) = &change.role {
            parse_role(role)?.as_str().clone_into(&mut record.role);
        }
        if let Some(list) = &change.allowed_ips {
            record.allowed_ips = canonical_allowlist(list)?;
        }
        let disabling = change.disabled == Some(true) && record.disabled_at.is_none();
        match change.disabled {
            Some(true) if record.disabled_at.is_none() => record.disabled_at = Some(now),
            Some(false) => record.disabled_at = None,
            _ => {}
        }
        record.updated_at = now;
        let event = self.event(ctx, Action::AccountUpdate, Outcome::Success).with_target(&Actor::Account(id));
        if !self.store.update_account(&record, None, &[event]).await? {
            return Err(AuthError::AccountConflict.into());
        }
        if disabling || change.role.is_some() || change.allowed_ips.is_some() {
            // Sessions carry the role and were admitted under the old allowlist: start over.
            let revoke = self.event(ctx, Action::SessionRevoke, Outcome::Success).with_target(&Actor::Account(id));
            self.store.revoke_sessions(id, now, &revoke).await?;
        }
        record.revision += 1;
        Ok(AccountInfo::from(&record))
    }

    /// Lifts the login lock of an account (audited).
    pub async fn unlock_account(&self, ctx: &AuditContext, id: AccountId) -> Result<(), VaultError> {
        let record = self.store.account(id).await?.ok_or(AuthError::AccountNotFound)?;
        self.store.throttle_reset(&account_key(&record.username)).await?;
        let event = self.event(ctx, Action::AccountUnlock, Outcome::Success).with_target(&Actor::Account(id));
        self.store.append_audit(&[event]).await?;
        Ok(())
    }

    /// Ends every session of an account (audited). Returns how many were live.
    pub async fn revoke_sessions(&self, ctx: &AuditContext, id: AccountId) -> Result<u64, VaultError> {
        self.store.account(id).await?.ok_or(AuthError::AccountNotFound)?;
        let event = self.event(ctx, Action::SessionRevoke, Outcome::Success).with_target(&Actor::Account(id));
        Ok(self.store.revoke_sessions(id, self.clock.now(), &event).await?)
    }

    // -- Login and sessions ------------------------------------------------------------------

    /// A login: password and one second factor (a TOTP code, or a one-time recovery code).
    ///
    /// Unknown accounts cost the same Argon2id verification and get the same answer
    /// (`invalid_credentials`) as wrong passwords; the throttle counts them by the hash of the
    /// typed name, so they lock the same way. Order: locks, password, second factor, then the
    /// account's address allowlist (checked last, so the allowlist reveals nothing to someone
    /// without the credentials). Every attempt is an `auth.login` event with a reason.
    pub async fn login(
        &self,
        client: Option<IpAddr>,
        request_id: Option<String>,
        attempt: LoginAttempt,
    ) -> Result<LoginSession, VaultError> {
        let LoginAttempt { username, password, totp, recovery_code } = attempt;
        let anonymous = AuditContext { actor: Actor::Anonymous, purpose: None, client, request_id };
        let now = self.clock.now();
        let account_key = account_key(&username);
        let address_key = address_key(client);

        // 1. Locks: per account name and per address.
        let mut until =
            locked_until(&self.auth, self.store.throttle(&account_key).await?, self.auth.account_lock_after);
        if let Some(key) = &address_key {
            let by_address = locked_until(&self.auth, self.store.throttle(key).await?, self.auth.address_lock_after);
            until = until.max(by_address);
        }
        let record =
            if validate_username(&username).is_ok() { self.store.account_by_username(&username).await? } else { None };
        let ctx = match &record {
            Some(r) => AuditContext { actor: Actor::Account(r.id), ..anonymous.clone() },
            None => anonymous.clone(),
        };
        if let Some(until) = until.filter(|u| now < *u) {
            self.audit_refusal(&ctx, Action::AuthLogin, "locked").await;
            let retry_after_s = u64::try_from((until.as_millis() - now.as_millis() + 999) / 1000).unwrap_or(1);
            return Err(AuthError::Locked { retry_after_s }.into());
        }

        // 2. Password (the dummy verification for unknown, disabled or unenrolled accounts).
        let usable = record.as_ref().filter(|r| r.disabled_at.is_none() && r.totp_seed.is_some());
        let hash = usable.and_then(|r| r.password_hash.clone());
        let password_ok = self.verify_blocking(password, hash).await?;
        let failure = match (&record, usable, password_ok) {
            (None, _, _) => Some("unknown_account"),
            (Some(r), _, _) if r.disabled_at.is_some() => Some("account_disabled"),
            (Some(_), None, _) => Some("not_enrolled"),
            (Some(_), Some(_), false) => Some("bad_password"),
            (Some(_), Some(_), true) => None,
        };
        if let Some(reason) = failure {
            return Err(self.login_failed(&ctx, &account_key, address_key.as_deref(), reason).await);
        }
        let Some(account) = usable else { return Err(AuthError::InvalidCredentials.into()) };

        // 3. Second factor.
        if let Some(reason) = self.second_factor(account, totp.as_deref(), recovery_code.as_deref()).await? {
            return Err(self.login_failed(&ctx, &account_key, address_key.as_deref(), reason).await);
        }

        // 4. The account's allowlist.
        if !stored_allowlist_allows(&account.allowed_ips, client) {
            self.store.throttle_failure(&account_key, now).await?;
            self.audit_refusal(&ctx, Action::AuthLogin, "ip_not_allowed").await;
            return Err(AuthError::IpNotAllowed.into());
        }

        // Success: forget failures, complete enrolment, start the session.
        self.store.throttle_reset(&account_key).await?;
        let mut account = account.clone();
        if account.totp_confirmed_at.is_none() {
            account.totp_confirmed_at = Some(now);
            account.updated_at = now;
            let event = self.event(&ctx, Action::AccountEnrol, Outcome::Success).with_reason("totp_confirmed");
            if self.store.update_account(&account, None, &[event]).await? {
                account.revision += 1;
            }
        }
        let secret = random_token()?;
        let session = SessionRecord {
            hash: token_hash(&secret),
            account: account.id,
            created_at: now,
            last_seen_at: now,
            expires_at: Timestamp::from_millis(now.as_millis() + self.auth.session_absolute_ms),
            revoked_at: None,
        };
        let event = self.event(&ctx, Action::AuthLogin, Outcome::Success);
        self.store.create_session(&session, &[event]).await?;
        let csrf = csrf_token(&secret);
        Ok(LoginSession {
            secret,
            csrf_token: csrf,
            account: AccountInfo::from(&account),
            expires_at: session.expires_at,
            lifetime_s: self.auth.session_absolute_ms / 1000,
        })
    }

    /// `None` when the second factor holds, else the audit reason.
    async fn second_factor(
        &self,
        account: &AccountRecord,
        totp_code: Option<&str>,
        recovery_code: Option<&str>,
    ) -> Result<Option<&'static str>, VaultError> {
        if let Some(code) = recovery_code {
            let hashes = self.store.recovery_codes(account.id).await?;
            let Some(index) = check_recovery_code(code, &hashes) else { return Ok(Some("bad_recovery_code")) };
            let used = self.store.use_recovery_code(account.id, &hashes[index], self.clock.now()).await?;
            return Ok(if used { None } else { Some("recovery_code_reused") });
        }
        let Some(code) = totp_code else { return Ok(Some("missing_second_factor")) };
        let Some(sealed) = &account.totp_seed else { return Ok(Some("not_enrolled")) };
        let seed = open_seed(&self.keyring, account.id, sealed)?;
        let unix = u64::try_from(self.clock.now().as_millis() / 1000).unwrap_or(0);
        match totp::verify(&seed, code, unix, None) {
            Err(_) => Ok(Some("bad_totp")),
            Ok(step) => {
                if self.store.advance_totp_step(account.id, step).await? {
                    Ok(None)
                } else {
                    Ok(Some("totp_replay"))
                }
            }
        }
    }

    async fn login_failed(
        &self,
        ctx: &AuditContext,
        account_key: &str,
        address_key: Option<&str>,
        reason: &'static str,
    ) -> VaultError {
        let now = self.clock.now();
        let mut result = self.store.throttle_failure(account_key, now).await.map(|_| ());
        if let Some(key) = address_key
            && result.is_ok()
        {
            result = self.store.throttle_failure(key, now).await.map(|_| ());
        }
        self.audit_refusal(ctx, Action::AuthLogin, reason).await;
        match result {
            Ok(()) => AuthError::InvalidCredentials.into(),
            Err(e) => e.into(),
        }
    }

    /// Resolves a session cookie. Unknown sessions are `Unauthorized`; ended ones (logout,
    /// revoked, idle, absolute) `SessionExpired`; a request from outside the account's allowlist
    /// is refused and audited.
    pub async fn authenticate_session(&self, secret: &str, client: Option<IpAddr>) -> Result<Caller, VaultError> {
        let hash = token_hash(secret);
        let session = self.store.session(&hash).await?.ok_or(VaultError::Unauthorized)?;
        let now = self.clock.now();
        let idle_end = session.last_seen_at.as_millis().saturating_add(self.auth.session_idle_ms);
        if session.revoked_at.is_some() || now >= session.expires_at || now.as_millis() >= idle_end {
            return Err(AuthError::SessionExpired.into());
        }
        let account = self.store.account(session.account).await?.ok_or(VaultError::Unauthorized)?;
        if account.disabled_at.is_some() {
            return Err(AuthError::SessionExpired.into());
        }
        let ctx = AuditContext { actor: Actor::Account(account.id), purpose: None, client, request_id: None };
        if !stored_allowlist_allows(&account.allowed_ips, client) {
            self.audit_refusal(&ctx, Action::AuthRefused, "ip_not_allowed").await;
            return Err(AuthError::IpNotAllowed.into());
        }
        if now.as_millis() - session.last_seen_at.as_millis() >= TOUCH_INTERVAL_MS {
            self.store.touch_session(&hash, now).await?;
        }
        let role = parse_role(&account.role).map_err(|_| VaultError::Unauthorized)?;
        Ok(Caller {
            kind: CallerKind::Session,
            actor: Actor::Account(account.id),
            name: account.username,
            role: Some(role),
            token_purposes: None,
            account: Some(account.id),
            token: None,
        })
    }

    /// Ends the session with this cookie value (audited).
    pub async fn logout(&self, ctx: &AuditContext, secret: &str) -> Result<(), VaultError> {
        let event = self.event(ctx, Action::AuthLogout, Outcome::Success);
        self.store.revoke_session(&token_hash(secret), self.clock.now(), &event).await?;
        Ok(())
    }
}

fn closed_pool() -> kluis_store::StoreError {
    kluis_store::StoreError::Backend("the password hashing pool is unavailable".to_owned())
}

fn duplicate_username(e: kluis_store::StoreError) -> VaultError {
    match e {
        kluis_store::StoreError::Duplicate => AuthError::UsernameTaken.into(),
        other => other.into(),
    }
}

/// Placeholder purpose for a purpose string that does not even parse (its text is not echoed).
fn unknown_purpose() -> Purpose {
    Purpose::parse("invalid").expect("a valid purpose key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_handles() {
        for ok in ["jan", "j.de-vries", "a1", "ops_2"] {
            assert_eq!(validate_username(ok), Ok(()), "{ok}");
        }
        for bad in ["", "j", "Jan", "jan@example.nl", "-jan", "jan vries", &"a".repeat(33)] {
            assert_eq!(validate_username(bad), Err(AuthError::InvalidUsername), "{bad}");
        }
    }

    #[test]
    fn locks_start_at_the_threshold_and_double_up_to_the_maximum() {
        let settings = AuthSettings::default();
        let at = |failures| Throttle { failures, last_failure_at: Timestamp::from_millis(1_000) };
        assert_eq!(locked_until(&settings, None, 5), None);
        assert_eq!(locked_until(&settings, Some(at(4)), 5), None);
        assert_eq!(locked_until(&settings, Some(at(5)), 5), Some(Timestamp::from_millis(61_000)));
        assert_eq!(locked_until(&settings, Some(at(6)), 5), Some(Timestamp::from_millis(121_000)));
        assert_eq!(locked_until(&settings, Some(at(60)), 5), Some(Timestamp::from_millis(3_601_000)));
    }

    #[test]
    fn throttle_keys_hide_what_was_typed() {
        let key = account_key("Correct Horse Battery");
        assert!(!key.contains("orse"));
        assert_eq!(key, account_key("correct horse battery "));
        assert_ne!(key, account_key("correct horse battery2"));
        assert!(!address_key(Some("192.0.2.7".parse().unwrap())).unwrap().contains("192"));
    }

    #[test]
    fn stored_allowlists_fail_closed() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(stored_allowlist_allows(&[], Some(ip)));
        assert!(stored_allowlist_allows(&["192.0.2.0/24".to_owned()], Some(ip)));
        assert!(!stored_allowlist_allows(&["198.51.100.0/24".to_owned()], Some(ip)));
        assert!(!stored_allowlist_allows(&["192.0.2.0/24".to_owned()], None));
        assert!(!stored_allowlist_allows(&["garbage".to_owned()], Some(ip)));
    }
}
