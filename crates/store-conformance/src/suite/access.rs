//! Conformance cases for access control: scoped tokens, staff accounts and their recovery codes,
//! the TOTP replay guard, console sessions, login throttling and the Art. 18 restriction flag.

use kluis_domain::audit::{Action, AuditEvent, Outcome};
use kluis_domain::{AccountId, SubjectId, Timestamp, TokenId};
use kluis_store::{AccountRecord, SealedSecret, SessionRecord, Store, StoreError, Throttle, TokenRecord};

use super::{
    ALL, T0, T1, TASKS, admin_token, audit_log, counts, ctx, enc, event, find, initialised, join_all, keyring_record,
    load, new_subject,
};

/// How many failures race in [`login_throttle`].
const FAILURES: u32 = 20;

/// Later still, for a second change.
const T2: Timestamp = Timestamp(1_700_000_120_000);

async fn audit_size<S: Store>(store: &S) -> u64 {
    store.audit_size().await.unwrap_or_else(|e| panic!("{}: audit_size: {e}", store.backend()))
}

/// An account with its enrolment open (no password, no TOTP seed yet).
fn enrolling(username: &str, tag: u8) -> AccountRecord {
    AccountRecord {
        id: AccountId::generate(),
        username: username.to_owned(),
        role: "staff".to_owned(),
        password_hash: None,
        totp_seed: None,
        totp_confirmed_at: None,
        allowed_ips: Vec::new(),
        enrolment_hash: Some([tag; 32]),
        enrolment_expires_at: Some(T1),
        created_at: T0,
        updated_at: T0,
        disabled_at: None,
        revision: 1,
    }
}

/// An enrolled account: password, sealed seed, allowlist, everything set.
fn enrolled(username: &str, tag: u8) -> AccountRecord {
    AccountRecord {
        role: "dpo".to_owned(),
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1${tag}$hash")),
        totp_seed: Some(SealedSecret { kek_version: 2, sealed: vec![tag; 48] }),
        totp_confirmed_at: Some(T1),
        allowed_ips: vec!["10.0.0.0/8".to_owned(), "2001:db8::/32".to_owned()],
        enrolment_hash: None,
        enrolment_expires_at: None,
        ..enrolling(username, tag)
    }
}

fn codes(tag: u8) -> Vec<[u8; 32]> {
    (0..4u8).map(|i| [tag.wrapping_add(i); 32]).collect()
}

fn sorted(mut codes: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
    codes.sort_unstable();
    codes
}

async fn create_account<S: Store>(store: &S, account: &AccountRecord, codes: &[[u8; 32]]) {
    store
        .create_account(account, codes, &event(Action::AccountCreate, None, &account.username))
        .await
        .unwrap_or_else(|e| panic!("{}: create_account {}: {e}", store.backend(), account.username));
}

async fn account<S: Store>(store: &S, id: AccountId) -> Option<AccountRecord> {
    store.account(id).await.unwrap_or_else(|e| panic!("{}: account: {e}", store.backend()))
}

async fn recovery<S: Store>(store: &S, id: AccountId) -> Vec<[u8; 32]> {
    store.recovery_codes(id).await.unwrap_or_else(|e| panic!("{}: recovery_codes: {e}", store.backend()))
}

/// Tokens: created with their scope (purposes, allowlist, expiry) and audited, listed oldest
/// first, a duplicate id or hash refused without change; revoking works once, and both the
/// revocation and the refused second revocation append the event the closure builds.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn tokens_lifecycle<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let admin = store.token_by_hash(&super::ADMIN_TOKEN_HASH).await.expect("token_by_hash").expect("admin token");

    let scoped = TokenRecord {
        id: TokenId::generate(),
        name: "billing export".to_owned(),
        hash: [0x51; 32],
        role: "service".to_owned(),
        created_at: T1,
        revoked_at: None,
        purposes: Some(vec!["billing".to_owned(), "legal_claims".to_owned()]),
        allowed_ips: vec!["192.0.2.0/24".to_owned(), "2001:db8::/32".to_owned()],
        expires_at: Some(T2),
    };
    // Same creation time as the admin token: listed after or before it by id.
    let empty_scope = TokenRecord {
        id: TokenId::generate(),
        name: "no purposes".to_owned(),
        hash: [0x52; 32],
        role: "auditor".to_owned(),
        created_at: T0,
        purposes: Some(Vec::new()),
        ..admin_token()
    };
    let size = audit_size(&store).await;
    for token in [&scoped, &empty_scope] {
        let create = event(Action::TokenCreate, None, &token.name);
        store.create_token(token, &create).await.unwrap_or_else(|e| panic!("{b}: create_token: {e}"));
        assert_eq!(
            audit_log(&store).await.last().map(|(_, e)| e.clone()),
            Some(enc(&create)),
            "{b}: token creation is audited"
        );
    }
    assert_eq!(audit_size(&store).await, size + 2, "{b}: one event per token");
    assert_eq!(store.token_by_hash(&scoped.hash).await.expect("token_by_hash"), Some(scoped.clone()), "{b}: scope");
    assert_eq!(
        store.token_by_hash(&empty_scope.hash).await.expect("token_by_hash"),
        Some(empty_scope.clone()),
        "{b}: an empty purpose list is not the same as none"
    );

    let mut want = vec![admin.clone(), empty_scope.clone(), scoped.clone()];
    want.sort_by_key(|t| (t.created_at, t.id));
    assert_eq!(store.tokens().await.expect("tokens"), want, "{b}: every token, oldest first, then by id");

    let before = audit_size(&store).await;
    let same_hash = TokenRecord { id: TokenId::generate(), name: "copy".to_owned(), ..scoped.clone() };
    let result = store.create_token(&same_hash, &event(Action::TokenCreate, None, "dup-hash")).await;
    assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: duplicate hash: {result:?}");
    let same_id = TokenRecord { hash: [0x53; 32], ..scoped.clone() };
    let result = store.create_token(&same_id, &event(Action::TokenCreate, None, "dup-id")).await;
    assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: duplicate id: {result:?}");
    assert_eq!(store.tokens().await.expect("tokens"), want, "{b}: duplicates stored nothing");
    assert_eq!(store.token_by_hash(&[0x53; 32]).await.expect("token_by_hash"), None, "{b}: no row for the dup id");
    assert_eq!(audit_size(&store).await, before, "{b}: duplicates appended no event");

    let mut told = None;
    let revoke = event(Action::TokenRevoke, None, "revoke-1");
    let revoked = store
        .revoke_token(scoped.id, T1, |done| {
            told = Some(done);
            revoke.clone()
        })
        .await
        .expect("revoke_token");
    assert!(revoked, "{b}: revoking a live token returns true");
    assert_eq!(told, Some(true), "{b}: the closure was told it was revoked");
    let revoked_scoped = TokenRecord { revoked_at: Some(T1), ..scoped.clone() };
    assert_eq!(
        store.token_by_hash(&scoped.hash).await.expect("token_by_hash"),
        Some(revoked_scoped.clone()),
        "{b}: revoked_at set, scope kept"
    );
    assert_eq!(audit_log(&store).await.last().map(|(_, e)| e.clone()), Some(enc(&revoke)), "{b}: revoke audited");

    let mut told_again = None;
    let again_event = ctx("revoke-2").event(T2, Action::TokenRevoke, None, &[], &[], Outcome::NotFound);
    let again = store
        .revoke_token(scoped.id, T2, |done| {
            told_again = Some(done);
            again_event.clone()
        })
        .await
        .expect("second revoke_token");
    assert!(!again, "{b}: revoking a revoked token returns false");
    assert_eq!(told_again, Some(false), "{b}: the closure was told nothing was revoked");
    assert_eq!(
        store.token_by_hash(&scoped.hash).await.expect("token_by_hash"),
        Some(revoked_scoped),
        "{b}: the first revocation time is kept"
    );
    assert_eq!(
        audit_log(&store).await.last().map(|(_, e)| e.clone()),
        Some(enc(&again_event)),
        "{b}: the refused revocation is audited too"
    );

    let unknown = store.revoke_token(TokenId::generate(), T2, |_| event(Action::TokenRevoke, None, "r3")).await;
    assert!(!unknown.expect("revoke unknown"), "{b}: revoking an unknown token returns false");
    assert_eq!(audit_size(&store).await, before + 3, "{b}: every revocation attempt appended one event");
    assert_eq!(
        store.token_by_hash(&admin.hash).await.expect("token_by_hash"),
        Some(admin),
        "{b}: other tokens untouched"
    );
}

/// Accounts: round trip of both an enrolling and an enrolled account, lookups by id, username and
/// enrolment hash, listing by username; a taken id, username or enrolment hash is `Duplicate`
/// and changes nothing (no account, no codes, no event).
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn accounts_lookup<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    assert!(store.accounts().await.expect("accounts").is_empty(), "{b}: no accounts yet");

    let zoe = enrolled("zoe", 0x60);
    let anna = enrolling("anna", 0x70);
    let size = audit_size(&store).await;
    create_account(&store, &zoe, &codes(0x10)).await;
    create_account(&store, &anna, &codes(0x20)).await;
    assert_eq!(audit_size(&store).await, size + 2, "{b}: one event per account");
    assert_eq!(
        audit_log(&store).await.last().map(|(_, e)| e.clone()),
        Some(enc(&event(Action::AccountCreate, None, "anna"))),
        "{b}: the creation event is stored"
    );

    assert_eq!(account(&store, zoe.id).await, Some(zoe.clone()), "{b}: enrolled account round trip");
    assert_eq!(account(&store, anna.id).await, Some(anna.clone()), "{b}: enrolling account round trip");
    assert_eq!(account(&store, AccountId::generate()).await, None, "{b}: unknown id");
    assert_eq!(store.account_by_username("zoe").await.expect("by username"), Some(zoe.clone()), "{b}: by username");
    assert_eq!(store.account_by_username("Zoe").await.expect("by username"), None, "{b}: usernames are exact");
    assert_eq!(store.account_by_username("nobody").await.expect("by username"), None, "{b}: unknown username");
    assert_eq!(
        store.account_by_enrolment(&[0x70; 32]).await.expect("by enrolment"),
        Some(anna.clone()),
        "{b}: by enrolment hash"
    );
    assert_eq!(store.account_by_enrolment(&[0x71; 32]).await.expect("by enrolment"), None, "{b}: unknown hash");
    assert_eq!(
        store.accounts().await.expect("accounts"),
        vec![anna.clone(), zoe.clone()],
        "{b}: listed by username, not by creation"
    );
    assert_eq!(recovery(&store, zoe.id).await, sorted(codes(0x10)), "{b}: zoe's codes");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x20)), "{b}: anna's codes");
    assert!(recovery(&store, AccountId::generate()).await.is_empty(), "{b}: no codes for an unknown account");

    let before = counts(&store).await;
    let listing = store.accounts().await.expect("accounts");
    let taken_name = enrolling("zoe", 0x80);
    let taken_id = AccountRecord { username: "bert".to_owned(), ..enrolling("x", 0x81) };
    let taken_id = AccountRecord { id: anna.id, ..taken_id };
    let taken_enrolment = enrolling("carla", 0x70);
    for (what, dup) in [("username", &taken_name), ("id", &taken_id), ("enrolment hash", &taken_enrolment)] {
        let result = store.create_account(dup, &codes(0x90), &event(Action::AccountCreate, None, "dup")).await;
        assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: taken {what}: {result:?}");
    }
    assert_eq!(store.accounts().await.expect("accounts"), listing, "{b}: duplicates stored no account");
    assert_eq!(account(&store, taken_name.id).await, None, "{b}: the duplicate username's id is free");
    assert!(recovery(&store, taken_name.id).await.is_empty(), "{b}: the duplicate's codes were not stored");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x20)), "{b}: the duplicate id added no codes");
    assert_eq!(counts(&store).await, before, "{b}: duplicates appended no audit event");
}

/// `update_account` replaces the stored state at the expected revision (the stored revision
/// becomes one more), replaces the recovery codes when given and keeps them otherwise; a stale
/// revision or an unknown account returns false and changes nothing, appending no event.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn update_account_revisions<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let anna = enrolling("anna", 0x30);
    let bystander = enrolled("bert", 0x31);
    create_account(&store, &anna, &codes(0x10)).await;
    create_account(&store, &bystander, &codes(0x40)).await;

    // Enrolment completes: password and seed set, enrolment closed, codes replaced.
    let enrolled_anna = AccountRecord { id: anna.id, updated_at: T1, ..enrolled("anna", 0x30) };
    let events = [event(Action::AccountEnrol, None, "u1"), event(Action::AuthLogin, None, "u1b")];
    let size = audit_size(&store).await;
    let done = store.update_account(&enrolled_anna, Some(&codes(0x50)), &events).await.expect("update_account");
    assert!(done, "{b}: an update at the current revision succeeds");
    let want = AccountRecord { revision: 2, ..enrolled_anna.clone() };
    assert_eq!(account(&store, anna.id).await, Some(want.clone()), "{b}: stored state replaced, revision 2");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x50)), "{b}: recovery codes replaced");
    assert_eq!(store.account_by_enrolment(&[0x30; 32]).await.expect("by enrolment"), None, "{b}: enrolment closed");
    let log = audit_log(&store).await;
    assert_eq!(u64::try_from(log.len()).expect("small"), size + 2, "{b}: both events appended");
    assert_eq!(
        log[log.len() - 2..].iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        vec![enc(&events[0]), enc(&events[1])]
    );

    // Without codes: codes are kept.
    let disabled = AccountRecord { disabled_at: Some(T2), updated_at: T2, ..want.clone() };
    let done = store
        .update_account(&disabled, None, &[event(Action::AccountUpdate, None, "u2")])
        .await
        .expect("update_account");
    assert!(done, "{b}: second update at revision 2");
    let want = AccountRecord { revision: 3, ..disabled };
    assert_eq!(account(&store, anna.id).await, Some(want.clone()), "{b}: disabled, revision 3");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x50)), "{b}: codes kept when not given");

    // Stale: computed from revision 2, but the stored revision is 3.
    let before = counts(&store).await;
    let log = audit_log(&store).await;
    let stale = AccountRecord { role: "admin".to_owned(), username: "anna2".to_owned(), revision: 2, ..want.clone() };
    let done = store
        .update_account(&stale, Some(&codes(0x70)), &[event(Action::AccountUpdate, None, "stale")])
        .await
        .expect("stale update_account");
    assert!(!done, "{b}: a stale revision returns false");
    assert_eq!(account(&store, anna.id).await, Some(want.clone()), "{b}: stale update changed nothing");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x50)), "{b}: stale update kept the codes");
    assert_eq!(store.account_by_username("anna2").await.expect("by username"), None, "{b}: not renamed");
    assert_eq!(audit_log(&store).await, log, "{b}: stale update appended no event");

    let unknown = AccountRecord { id: AccountId::generate(), ..want.clone() };
    let done = store
        .update_account(&unknown, Some(&codes(0x71)), &[event(Action::AccountUpdate, None, "unknown")])
        .await
        .expect("update_account of an unknown account");
    assert!(!done, "{b}: an unknown account returns false");
    assert!(recovery(&store, unknown.id).await.is_empty(), "{b}: no codes for the unknown account");
    assert_eq!(counts(&store).await, before, "{b}: nothing appended");

    // Renaming onto a taken username is a duplicate and changes nothing.
    let clash = AccountRecord { username: "bert".to_owned(), ..want.clone() };
    let result = store.update_account(&clash, None, &[event(Action::AccountUpdate, None, "clash")]).await;
    assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: taken username: {result:?}");
    assert_eq!(account(&store, anna.id).await, Some(want), "{b}: the clash changed nothing");
    assert_eq!(account(&store, bystander.id).await, Some(bystander.clone()), "{b}: other account untouched");
    assert_eq!(recovery(&store, bystander.id).await, sorted(codes(0x40)), "{b}: other account's codes untouched");
    assert_eq!(audit_log(&store).await, log, "{b}: the clash appended no event");
}

/// The TOTP replay guard: a step is accepted only if later than every step before, atomically.
pub async fn totp_step_replay_guard<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let anna = enrolled("anna", 0x30);
    let other = enrolled("bert", 0x31);
    create_account(&store, &anna, &[]).await;
    create_account(&store, &other, &[]).await;
    let size = audit_size(&store).await;

    let advance = async |id: AccountId, step: u64| {
        store.advance_totp_step(id, step).await.unwrap_or_else(|e| panic!("{b}: advance_totp_step: {e}"))
    };
    assert!(advance(anna.id, 5).await, "{b}: first step accepted");
    assert!(!advance(anna.id, 5).await, "{b}: the same step again is a replay");
    assert!(!advance(anna.id, 4).await, "{b}: an earlier step is refused");
    assert!(advance(anna.id, 6).await, "{b}: a later step is accepted");
    assert!(!advance(anna.id, 5).await, "{b}: the guard moved on");
    assert!(advance(other.id, 5).await, "{b}: steps are per account");
    assert!(!advance(AccountId::generate(), 7).await, "{b}: an unknown account records nothing");
    assert_eq!(account(&store, anna.id).await, Some(anna.clone()), "{b}: the record (and its revision) unchanged");
    assert_eq!(audit_size(&store).await, size, "{b}: the guard is not audited by the store");

    let id = anna.id;
    let racers: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            Box::pin(async move { store.advance_totp_step(id, 100).await })
        })
        .collect();
    let wins = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{b}: concurrent advance_totp_step: {e}")))
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1, "{b}: of {TASKS} concurrent logins with the same step exactly one wins");
    assert!(!advance(anna.id, 100).await, "{b}: the raced step is used");
}

/// Recovery codes are used once only, per account, also under concurrency.
pub async fn recovery_codes_single_use<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let anna = enrolled("anna", 0x30);
    let bert = enrolled("bert", 0x31);
    let anna_codes = codes(0x10);
    create_account(&store, &anna, &anna_codes).await;
    create_account(&store, &bert, &codes(0x20)).await;
    let size = audit_size(&store).await;

    let use_code = async |id: AccountId, code: &[u8; 32]| {
        store.use_recovery_code(id, code, T1).await.unwrap_or_else(|e| panic!("{b}: use_recovery_code: {e}"))
    };
    assert!(use_code(anna.id, &anna_codes[0]).await, "{b}: an unused code is accepted");
    assert!(!use_code(anna.id, &anna_codes[0]).await, "{b}: a used code is refused");
    assert!(!use_code(bert.id, &anna_codes[1]).await, "{b}: another account's code is refused");
    assert!(!use_code(anna.id, &[0xEE; 32]).await, "{b}: an unknown code is refused");
    assert_eq!(recovery(&store, anna.id).await, sorted(anna_codes[1..].to_vec()), "{b}: only unused codes listed");
    assert_eq!(recovery(&store, bert.id).await, sorted(codes(0x20)), "{b}: other account's codes untouched");

    let (id, code) = (anna.id, anna_codes[1]);
    let racers: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = store.clone();
            Box::pin(async move { store.use_recovery_code(id, &code, T2).await })
        })
        .collect();
    let wins = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{b}: concurrent use_recovery_code: {e}")))
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1, "{b}: of {TASKS} concurrent uses of one code exactly one succeeds");
    assert_eq!(recovery(&store, anna.id).await, sorted(anna_codes[2..].to_vec()), "{b}: the raced code is used");
    assert_eq!(audit_size(&store).await, size, "{b}: code use is not audited by the store");
}

fn session(account: AccountId, tag: u8) -> SessionRecord {
    SessionRecord {
        hash: [tag; 32],
        account,
        created_at: T0,
        last_seen_at: T0,
        expires_at: Timestamp(T0.as_millis() + 8 * 3_600_000),
        revoked_at: None,
    }
}

/// Sessions: created with their login events, touched while live, revoked one by one or all of
/// an account at once (counting only live ones), every revocation audited.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn sessions_lifecycle<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let anna = enrolled("anna", 0x30);
    let bert = enrolled("bert", 0x31);
    create_account(&store, &anna, &[]).await;
    create_account(&store, &bert, &[]).await;
    let get = async |hash: &[u8; 32]| store.session(hash).await.unwrap_or_else(|e| panic!("{b}: session: {e}"));

    let (s1, s2, s3) = (session(anna.id, 0xA1), session(anna.id, 0xA2), session(bert.id, 0xB1));
    let size = audit_size(&store).await;
    for s in [&s1, &s2, &s3] {
        let login = [event(Action::AuthLogin, None, "login"), event(Action::AuthLogin, None, "login-2")];
        store.create_session(s, &login).await.unwrap_or_else(|e| panic!("{b}: create_session: {e}"));
    }
    assert_eq!(audit_size(&store).await, size + 6, "{b}: the login events are appended with each session");
    assert_eq!(get(&s1.hash).await, Some(s1.clone()), "{b}: session round trip");
    assert_eq!(get(&[0xCC; 32]).await, None, "{b}: unknown session");

    let before = audit_size(&store).await;
    let dup = SessionRecord { account: bert.id, ..s1.clone() };
    let result = store.create_session(&dup, &[event(Action::AuthLogin, None, "dup")]).await;
    assert!(matches!(result, Err(StoreError::Duplicate)), "{b}: duplicate session hash: {result:?}");
    assert_eq!(get(&s1.hash).await, Some(s1.clone()), "{b}: the duplicate changed nothing");
    assert_eq!(audit_size(&store).await, before, "{b}: the duplicate appended no event");

    store.touch_session(&s1.hash, T1).await.expect("touch_session");
    let s1_touched = SessionRecord { last_seen_at: T1, ..s1.clone() };
    assert_eq!(get(&s1.hash).await, Some(s1_touched.clone()), "{b}: touch sets last_seen_at only");
    assert_eq!(get(&s2.hash).await, Some(s2.clone()), "{b}: touch changed only that session");
    store.touch_session(&[0xCC; 32], T1).await.expect("touching an unknown session is no error");

    let logout = event(Action::AuthLogout, None, "logout");
    assert!(store.revoke_session(&s1.hash, T1, &logout).await.expect("revoke_session"), "{b}: live session revoked");
    let s1_revoked = SessionRecord { revoked_at: Some(T1), ..s1_touched };
    assert_eq!(get(&s1.hash).await, Some(s1_revoked.clone()), "{b}: revoked_at set");
    assert_eq!(audit_log(&store).await.last().map(|(_, e)| e.clone()), Some(enc(&logout)), "{b}: revoke audited");
    let again = store.revoke_session(&s1.hash, T2, &event(Action::AuthLogout, None, "again")).await;
    assert!(!again.expect("second revoke_session"), "{b}: a revoked session is not live");
    assert!(
        !store.revoke_session(&[0xCC; 32], T2, &logout).await.expect("revoke unknown"),
        "{b}: an unknown session is not live"
    );
    store.touch_session(&s1.hash, T2).await.expect("touch_session");
    assert_eq!(get(&s1.hash).await, Some(s1_revoked.clone()), "{b}: a revoked session is not touched");

    let all = event(Action::SessionRevoke, None, "all");
    let n = store.revoke_sessions(anna.id, T2, &all).await.expect("revoke_sessions");
    assert_eq!(n, 1, "{b}: only anna's live session (s2) counted");
    assert_eq!(get(&s2.hash).await, Some(SessionRecord { revoked_at: Some(T2), ..s2 }), "{b}: s2 revoked");
    assert_eq!(get(&s1.hash).await, Some(s1_revoked), "{b}: s1 keeps its first revocation time");
    assert_eq!(get(&s3.hash).await, Some(s3.clone()), "{b}: bert's session untouched");
    assert_eq!(audit_log(&store).await.last().map(|(_, e)| e.clone()), Some(enc(&all)), "{b}: revoke_sessions audited");
    let none_left = store.revoke_sessions(anna.id, T2, &event(Action::SessionRevoke, None, "none")).await;
    assert_eq!(none_left.expect("revoke_sessions"), 0, "{b}: nothing live left");
    assert_eq!(
        store.revoke_sessions(bert.id, T2, &event(Action::SessionRevoke, None, "bert")).await.expect("revoke bert"),
        1,
        "{b}: bert's one session"
    );
    assert_eq!(audit_size(&store).await, before + 6, "{b}: each revocation call appended its event");
}

/// Login throttling: failures count up per key, atomically under concurrency, and reset forgets.
pub async fn login_throttle<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let fail = async |key: &str, at: Timestamp| {
        store.throttle_failure(key, at).await.unwrap_or_else(|e| panic!("{b}: throttle_failure: {e}"))
    };
    let get = async |key: &str| store.throttle(key).await.unwrap_or_else(|e| panic!("{b}: throttle: {e}"));

    assert_eq!(get("user:anna").await, None, "{b}: no failures yet");
    assert_eq!(fail("user:anna", T0).await, Throttle { failures: 1, last_failure_at: T0 }, "{b}: first failure");
    assert_eq!(fail("user:anna", T1).await, Throttle { failures: 2, last_failure_at: T1 }, "{b}: second failure");
    assert_eq!(get("user:anna").await, Some(Throttle { failures: 2, last_failure_at: T1 }), "{b}: stored state");
    assert_eq!(fail("ip:192.0.2.1", T2).await.failures, 1, "{b}: keys count separately");
    assert_eq!(get("user:anna").await.map(|t| t.failures), Some(2), "{b}: other key unaffected");

    store.throttle_reset("user:anna").await.expect("throttle_reset");
    assert_eq!(get("user:anna").await, None, "{b}: reset forgets");
    assert_eq!(get("ip:192.0.2.1").await.map(|t| t.failures), Some(1), "{b}: reset is per key");
    store.throttle_reset("never-seen").await.expect("resetting an unknown key is no error");
    assert_eq!(fail("user:anna", T2).await.failures, 1, "{b}: counting restarts after a reset");
    store.throttle_reset("user:anna").await.expect("throttle_reset");

    let racers: Vec<_> = (0..FAILURES)
        .map(|_| {
            let store = store.clone();
            Box::pin(async move { store.throttle_failure("user:race", T1).await })
        })
        .collect();
    let mut seen: Vec<u32> = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{b}: concurrent throttle_failure: {e}")).failures)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=FAILURES).collect::<Vec<_>>(), "{b}: every concurrent failure saw its own count");
    assert_eq!(
        get("user:race").await,
        Some(Throttle { failures: FAILURES, last_failure_at: T1 }),
        "{b}: {FAILURES} concurrent failures, none lost"
    );
}

/// The Art. 18 flag: set and lifted with its event, visible through load, read and find, bumping
/// the revision; an unknown subject returns false and is audited as such.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn restriction_flag<S: Store>(store: S) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(21);
    let bystander = new_subject(22);
    for s in [&subject, &bystander] {
        store.create_subject(s, &event(Action::SubjectCreate, Some(s.id), "c")).await.expect("create");
    }
    let original = load(&store, subject.id).await.expect("created");
    assert!(!original.restricted, "{b}: a new subject is not restricted");

    let mut told = None;
    let set = event(Action::SubjectRestrict, Some(subject.id), "restrict");
    let existed = store
        .set_restricted(subject.id, true, T1, |e| {
            told = Some(e);
            set.clone()
        })
        .await
        .expect("set_restricted");
    assert!(existed, "{b}: the subject exists");
    assert_eq!(told, Some(true), "{b}: the closure was told it exists");
    let restricted = load(&store, subject.id).await.expect("still there");
    let want = kluis_store::SubjectRecord { restricted: true, revision: 2, updated_at: T1, ..original.clone() };
    assert_eq!(restricted, want, "{b}: restricted, revision bumped, updated_at set, values kept");
    assert_eq!(audit_log(&store).await.last().map(|(_, e)| e.clone()), Some(enc(&set)), "{b}: audited");

    let read = store
        .read_subject(subject.id, |_| event(Action::SubjectRead, Some(subject.id), "read"))
        .await
        .expect("read_subject");
    assert_eq!(read.map(|r| r.restricted), Some(true), "{b}: read_subject sees the flag");
    let found = store.find_subjects(&subject.index[0], |_| Vec::new()).await.expect("find_subjects");
    assert_eq!(found.iter().map(|r| (r.id, r.restricted)).collect::<Vec<_>>(), vec![(subject.id, true)]);
    assert_eq!(load(&store, bystander.id).await.map(|r| r.restricted), Some(false), "{b}: bystander untouched");

    let lifted = store
        .set_restricted(subject.id, false, T2, |_| event(Action::SubjectRestrict, Some(subject.id), "lift"))
        .await
        .expect("lift");
    assert!(lifted, "{b}: lifting on an existing subject");
    let after = load(&store, subject.id).await.expect("still there");
    assert_eq!(after, kluis_store::SubjectRecord { revision: 3, updated_at: T2, ..original }, "{b}: lifted");
    assert_eq!(find(&store, &subject.index[0]).await, vec![subject.id], "{b}: index untouched");

    // A change computed before the restriction is now stale.
    let stale = kluis_store::SubjectChange {
        id: subject.id,
        expected_revision: 1,
        updated_at: T2,
        set: Vec::new(),
        remove: Vec::new(),
        index: subject.index.clone(),
    };
    let result = store.update_subject(&stale, &event(Action::SubjectUpdate, Some(subject.id), "stale")).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{b}: revision moved on: {result:?}");

    let size = audit_size(&store).await;
    let missing = SubjectId::generate();
    let mut told_missing = None;
    let none = store
        .set_restricted(missing, true, T2, |e| {
            told_missing = Some(e);
            ctx("missing").event(T2, Action::SubjectRestrict, Some(missing), &[], &[], Outcome::NotFound)
        })
        .await
        .expect("set_restricted on a missing subject");
    assert!(!none, "{b}: unknown subject returns false");
    assert_eq!(told_missing, Some(false), "{b}: the closure was told it does not exist");
    assert_eq!(load(&store, missing).await, None, "{b}: no subject created");
    assert_eq!(audit_size(&store).await, size + 1, "{b}: the attempt is audited");
}

/// `initialise` with a first account stores it with its recovery codes in the same transaction;
/// when the account cannot be stored, nothing is (no keyring, no token, no event).
pub async fn initialise_with_first_account<S: Store>(store: S) {
    let b = store.backend();
    let record = keyring_record();
    let token = admin_token();

    // KEK 9 does not exist: the account row fails its foreign key, so the whole init rolls back.
    let broken = AccountRecord {
        totp_seed: Some(SealedSecret { kek_version: 9, sealed: vec![1; 48] }),
        ..enrolled("admin", 0x01)
    };
    let result = store
        .initialise(&record, &token, Some((&broken, &codes(0x10))), &[event(Action::KeyringInit, None, "bad")])
        .await;
    assert!(result.is_err(), "{b}: an account sealed under an unknown KEK is refused");
    assert_eq!(store.keyring().await.expect("keyring"), None, "{b}: no keyring after the failed init");
    assert_eq!(store.token_by_hash(&token.hash).await.expect("token"), None, "{b}: no token after the failed init");
    assert_eq!(account(&store, broken.id).await, None, "{b}: no account after the failed init");
    assert_eq!(audit_size(&store).await, 0, "{b}: no event after the failed init");

    let admin = enrolling("admin", 0x02);
    let events = [event(Action::KeyringInit, None, "i1"), event(Action::AccountCreate, None, "i2")];
    store.initialise(&record, &token, Some((&admin, &codes(0x20))), &events).await.expect("initialise");
    assert_eq!(store.keyring().await.expect("keyring"), Some(record.clone()), "{b}: keyring stored");
    assert_eq!(account(&store, admin.id).await, Some(admin.clone()), "{b}: first account stored");
    assert_eq!(recovery(&store, admin.id).await, sorted(codes(0x20)), "{b}: its recovery codes stored");
    assert_eq!(
        store.account_by_enrolment(&[0x02; 32]).await.expect("by enrolment"),
        Some(admin.clone()),
        "{b}: its enrolment is open"
    );
    assert_eq!(audit_log(&store).await, vec![(0, enc(&events[0])), (1, enc(&events[1]))], "{b}: init events");

    let second = enrolling("other", 0x03);
    let other_token = TokenRecord { id: TokenId::generate(), hash: [0x77; 32], ..admin_token() };
    let again = store.initialise(&record, &other_token, Some((&second, &codes(0x30))), &[]).await;
    assert!(matches!(again, Err(StoreError::AlreadyInitialised)), "{b}: second initialise: {again:?}");
    assert_eq!(account(&store, second.id).await, None, "{b}: the second account was not stored");
    assert_eq!(store.accounts().await.expect("accounts"), vec![admin], "{b}: only the first account");
    assert_eq!(store.audit_events(0, ALL).await.expect("events").len(), 2, "{b}: no event appended");
}

/// Fail-closed audit for the audited access-control changes: with the audit append broken by
/// `sabotage` (see [`super::audit_failure_rolls_back`]), each fails and changes nothing.
#[allow(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
pub async fn access_audit_failure_rolls_back<S: Store, F: AsyncFn(bool)>(store: S, sabotage: F) {
    let b = store.backend();
    initialised(&store).await;
    let subject = new_subject(12);
    store.create_subject(&subject, &event(Action::SubjectCreate, Some(subject.id), "x0")).await.expect("create");
    let anna = enrolled("anna", 0x30);
    create_account(&store, &anna, &codes(0x10)).await;
    let live = session(anna.id, 0xA1);
    store.create_session(&live, &[]).await.expect("create_session");
    let token = TokenRecord { id: TokenId::generate(), hash: [0x61; 32], ..admin_token() };
    store.create_token(&token, &event(Action::TokenCreate, None, "t")).await.expect("create_token");
    let before = counts(&store).await;
    let tokens = store.tokens().await.expect("tokens");
    let subject_before = load(&store, subject.id).await;

    sabotage(true).await;
    let fresh_token = TokenRecord { id: TokenId::generate(), hash: [0x62; 32], ..admin_token() };
    let ev = |tag: &str| -> AuditEvent { event(Action::AccountUpdate, None, tag) };
    assert!(store.create_token(&fresh_token, &ev("a")).await.is_err(), "{b}: create_token must fail");
    assert!(store.revoke_token(token.id, T1, |_| ev("b")).await.is_err(), "{b}: revoke_token must fail");
    let bert = enrolled("bert", 0x31);
    assert!(store.create_account(&bert, &codes(0x20), &ev("c")).await.is_err(), "{b}: create_account must fail");
    let changed = AccountRecord { role: "admin".to_owned(), ..anna.clone() };
    assert!(
        store.update_account(&changed, Some(&codes(0x40)), &[ev("d")]).await.is_err(),
        "{b}: update_account must fail"
    );
    let other = session(anna.id, 0xA2);
    assert!(store.create_session(&other, &[ev("e")]).await.is_err(), "{b}: create_session must fail");
    assert!(store.revoke_session(&live.hash, T1, &ev("f")).await.is_err(), "{b}: revoke_session must fail");
    assert!(store.revoke_sessions(anna.id, T1, &ev("g")).await.is_err(), "{b}: revoke_sessions must fail");
    assert!(store.set_restricted(subject.id, true, T1, |_| ev("h")).await.is_err(), "{b}: set_restricted must fail");
    sabotage(false).await;

    assert_eq!(store.tokens().await.expect("tokens"), tokens, "{b}: tokens unchanged");
    assert_eq!(account(&store, anna.id).await, Some(anna.clone()), "{b}: account unchanged");
    assert_eq!(recovery(&store, anna.id).await, sorted(codes(0x10)), "{b}: codes unchanged");
    assert_eq!(account(&store, bert.id).await, None, "{b}: no account created");
    assert!(recovery(&store, bert.id).await.is_empty(), "{b}: no codes created");
    assert_eq!(store.session(&live.hash).await.expect("session"), Some(live), "{b}: session still live");
    assert_eq!(store.session(&other.hash).await.expect("session"), None, "{b}: no session created");
    assert_eq!(load(&store, subject.id).await, subject_before, "{b}: restriction not set");
    assert_eq!(counts(&store).await, before, "{b}: no audit event appended");

    // Repaired: the same change works again.
    assert!(
        store.set_restricted(subject.id, true, T1, |_| ev("i")).await.expect("set_restricted after repair"),
        "{b}: works after repair"
    );
}
