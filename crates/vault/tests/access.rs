//! Access control in the vault, with a clock the tests move: the register drives the purpose
//! policy, lockouts expire, sessions end when idle or at their absolute end, tokens expire, and
//! each refusal is in the audit log. On SQLite and PostgreSQL.

use std::sync::Arc;

use kluis_crypto::SecretKey;
use kluis_crypto::password::Password;
use kluis_crypto::totp::TotpSecret;
use kluis_domain::access::{CallerScope, Role};
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::Catalogue;
use kluis_domain::time::{Clock, ManualClock};
use kluis_domain::{Purpose, SubjectKind, Timestamp};
use kluis_store_conformance::{Backend, TestDb, fresh};
use kluis_store_sql::SqlStore;
use kluis_vault::{AuthError, AuthSettings, LoginAttempt, Store, TokenSpec, Vault, VaultError};

macro_rules! on_both_backends {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $case(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            $case(Backend::Postgres).await;
        }
    )*};
}

on_both_backends! {
    the_register_drives_the_policy => sqlite_the_register_drives_the_policy, postgres_the_register_drives_the_policy;
    locks_expire_and_success_resets_them => sqlite_locks_expire_and_success_resets_them, postgres_locks_expire_and_success_resets_them;
    sessions_end_when_idle_or_at_their_absolute_end => sqlite_sessions_end_when_idle_or_at_their_absolute_end, postgres_sessions_end_when_idle_or_at_their_absolute_end;
    tokens_expire => sqlite_tokens_expire, postgres_tokens_expire;
}

const PASSWORD: &str = "paarse-olifant-fietst-naar-Zwolle";

struct Fixture {
    _db: TestDb,
    vault: Vault<SqlStore>,
    clock: Arc<ManualClock>,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = fresh(backend).await?;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_800_000_000_000)));
    let (vault, _) = Vault::initialise(
        db.store.clone(),
        &SecretKey::generate().unwrap(),
        Catalogue::dutch_it_provider(),
        clock.clone(),
    )
    .await
    .expect("initialise");
    Some(Fixture { _db: db, vault: vault.with_auth_settings(AuthSettings::default()), clock })
}

fn operator(purpose: &str) -> AuditContext {
    AuditContext {
        actor: Actor::Cli("tester".to_owned()),
        purpose: Some(Purpose::parse(purpose).unwrap()),
        client: None,
        request_id: None,
    }
}

/// Creates an account and returns its TOTP seed (from the enrolment URI, as an app would).
async fn account(f: &Fixture, username: &str, role: Role) -> TotpSecret {
    let enrolment = f
        .vault
        .create_account_with_password(
            &operator("storage"),
            username,
            role.as_str(),
            &[],
            Password::new(PASSWORD.into()),
        )
        .await
        .expect("create account");
    let uri = enrolment.otpauth_uri.as_str();
    let secret = uri.split("secret=").nth(1).and_then(|rest| rest.split('&').next()).expect("secret in the URI");
    TotpSecret::from_base32(secret).expect("base32 seed")
}

fn code(f: &Fixture, seed: &TotpSecret) -> String {
    let unix = u64::try_from(f.clock.now().as_millis() / 1000).unwrap();
    seed.code_at(unix).to_string()
}

fn attempt(username: &str, password: &str, totp: Option<String>) -> LoginAttempt {
    LoginAttempt {
        username: username.to_owned(),
        password: Password::new(password.to_owned()),
        totp,
        recovery_code: None,
    }
}

async fn reasons(f: &Fixture, action: &str) -> Vec<String> {
    let events = f.vault.store().audit_events(0, 100_000).await.expect("events");
    events
        .iter()
        .map(|e| serde_json::from_slice::<serde_json::Value>(&e.event).unwrap())
        .filter(|e| e["action"] == action)
        .map(|e| format!("{}:{}", e["outcome"].as_str().unwrap(), e["reason"].as_str().unwrap_or("-")))
        .collect()
}

async fn the_register_drives_the_policy(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let scope = f.vault.operator_scope();
    let values: Vec<(String, String)> =
        [("last_name", "Jansen"), ("email", "jan@example.nl"), ("iban", "NL91ABNA0417164300")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    let id =
        f.vault.create_subject(&operator("storage"), &scope, SubjectKind::Customer, &values).await.expect("create");

    // Built-in: billing shows name, address and IBAN, not the e-mail address; staff may not bill.
    let accountant = CallerScope::role(Role::Accountant);
    let seen = f.vault.get_subject(&operator("billing"), &accountant, id).await.expect("accountant reads for billing");
    assert_eq!(seen.values.keys().collect::<Vec<_>>(), ["iban", "last_name"]);
    assert_eq!(seen.withheld, ["email"]);
    let staff = CallerScope::role(Role::Staff);
    let refused = f.vault.get_subject(&operator("billing"), &staff, id).await;
    assert!(matches!(refused, Err(VaultError::Denied(ref d)) if d.code() == "purpose_not_allowed"), "{refused:?}");

    // The hosting-provider register bills with the e-mail address and lets staff bill.
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hosting-provider.toml")).unwrap();
    f.vault.load_register(&operator("storage"), &text).await.expect("load the register");
    let seen = f.vault.get_subject(&operator("billing"), &accountant, id).await.expect("accountant reads for billing");
    assert_eq!(seen.values.keys().collect::<Vec<_>>(), ["email", "iban", "last_name"]);
    assert!(seen.withheld.is_empty(), "{:?}", seen.withheld);
    f.vault.get_subject(&operator("billing"), &staff, id).await.expect("the register lets staff bill");
    // A purpose the register does not define is unknown now.
    let unknown = f.vault.get_subject(&operator("support"), &staff, id).await;
    assert!(matches!(unknown, Err(VaultError::Denied(ref d)) if d.code() == "unknown_purpose"), "{unknown:?}");
    // Another vault on the same database picks the register up when it refreshes.
    assert!(f.vault.refresh_policy().await.expect("refresh") >= 1);
}

async fn locks_expire_and_success_resets_them(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let seed = account(&f, "jan", Role::Staff).await;
    for _ in 0..5 {
        let wrong = f.vault.login(None, None, attempt("jan", "wrong-password-123!", Some(code(&f, &seed)))).await;
        assert!(matches!(wrong, Err(VaultError::Auth(AuthError::InvalidCredentials))), "{wrong:?}");
    }
    // Locked: even the right credentials are refused, with the time to wait.
    let locked = f.vault.login(None, None, attempt("jan", PASSWORD, Some(code(&f, &seed)))).await;
    assert!(matches!(locked, Err(VaultError::Auth(AuthError::Locked { retry_after_s: 60 }))), "{locked:?}");
    // A minute later the lock is over, and a success forgets the failures.
    f.clock.advance(61_000);
    f.vault.login(None, None, attempt("jan", PASSWORD, Some(code(&f, &seed)))).await.expect("login after the lock");
    f.clock.advance(31_000);
    let wrong = f.vault.login(None, None, attempt("jan", "wrong-password-123!", Some(code(&f, &seed)))).await;
    assert!(
        matches!(wrong, Err(VaultError::Auth(AuthError::InvalidCredentials))),
        "a single failure does not lock: {wrong:?}"
    );
    f.clock.advance(31_000);
    f.vault.login(None, None, attempt("jan", PASSWORD, Some(code(&f, &seed)))).await.expect("login");

    let log = reasons(&f, "auth.login").await;
    assert_eq!(log.iter().filter(|r| *r == "denied:bad_password").count(), 6, "{log:?}");
    assert_eq!(log.iter().filter(|r| *r == "denied:locked").count(), 1, "{log:?}");
    assert_eq!(log.iter().filter(|r| *r == "success:-").count(), 2, "{log:?}");
}

async fn sessions_end_when_idle_or_at_their_absolute_end(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let seed = account(&f, "piet", Role::Dpo).await;
    let minute = 60_000;

    // Idle: 29 minutes pass, the session lives (and is touched); 31 more without a request end it.
    let session = f.vault.login(None, None, attempt("piet", PASSWORD, Some(code(&f, &seed)))).await.expect("login");
    f.clock.advance(29 * minute);
    f.vault.authenticate_session(&session.secret, None).await.expect("alive after 29 idle minutes");
    f.clock.advance(31 * minute);
    let idle = f.vault.authenticate_session(&session.secret, None).await;
    assert!(matches!(idle, Err(VaultError::Auth(AuthError::SessionExpired))), "{idle:?}");

    // Absolute: a request every 20 minutes keeps it alive until 12 hours after login.
    f.clock.advance(minute);
    let session = f.vault.login(None, None, attempt("piet", PASSWORD, Some(code(&f, &seed)))).await.expect("login");
    for _ in 0..35 {
        f.clock.advance(20 * minute);
        f.vault.authenticate_session(&session.secret, None).await.expect("alive while active");
    }
    f.clock.advance(20 * minute);
    let absolute = f.vault.authenticate_session(&session.secret, None).await;
    assert!(matches!(absolute, Err(VaultError::Auth(AuthError::SessionExpired))), "{absolute:?}");
}

async fn tokens_expire(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let now = f.clock.now().as_millis();
    let spec = TokenSpec {
        name: "mailer".into(),
        purposes: Some(vec!["newsletter".into()]),
        expires_at: Some(Timestamp::from_millis(now + 3_600_000)),
        ..TokenSpec::default()
    };
    let issued = f.vault.create_token(&operator("storage"), &spec).await.expect("create token");
    let events = f.vault.store().audit_events(0, 1000).await.expect("events");
    let created: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::from_slice::<serde_json::Value>(&e.event).unwrap())
        .filter(|e| e["action"] == "token.create")
        .collect();
    // The break-glass token of `initialise` and this one; the event names which token it made.
    assert_eq!(created.last().unwrap()["target"], format!("token:{}", issued.id), "{created:?}");
    let caller = f.vault.authenticate_token(&issued.secret, None).await.expect("valid before expiry");
    assert_eq!(caller.token_purposes, Some(vec![Purpose::parse("newsletter").unwrap()]));
    f.clock.advance(3_600_000);
    let expired = f.vault.authenticate_token(&issued.secret, None).await;
    assert!(matches!(expired, Err(VaultError::Auth(AuthError::TokenExpired))), "{expired:?}");
    assert_eq!(reasons(&f, "auth.refused").await, ["denied:token_expired"]);

    let past = TokenSpec { expires_at: Some(Timestamp::from_millis(now)), ..spec };
    let refused = f.vault.create_token(&operator("storage"), &past).await;
    assert!(matches!(refused, Err(VaultError::Auth(AuthError::ExpiryInPast))), "{refused:?}");
}
