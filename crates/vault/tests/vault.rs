//! Vault integration tests on a real store: every case runs on SQLite and on PostgreSQL (test
//! names `sqlite_<case>` and `postgres_<case>`). Tampering, erasure and at-rest checks look at the
//! raw tables through the store's own pool.

#![allow(clippy::too_many_lines, reason = "each case is one scenario, read top to bottom")]

use std::collections::BTreeMap;
use std::sync::Arc;

use kluis_crypto::SecretKey;
use kluis_domain::Purpose;
use kluis_domain::access::{CallerScope, PurposePolicy};
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::{Catalogue, IndexName, ValueErrorCode};
use kluis_domain::time::SystemClock;
use kluis_domain::{SubjectId, SubjectKind};
use kluis_store::Counts;
use kluis_store_conformance::{Backend, TestDb, files_below, find_canary, fresh};
use kluis_store_sql::SqlStore;
use kluis_vault::{IssuedToken, Store, Subject, Vault, VaultError};
use sqlx::{AnyPool, AssertSqlSafe, Row};

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
    round_trip_and_find => sqlite_round_trip_and_find, postgres_round_trip_and_find;
    compound_index_follows_update => sqlite_compound_index_follows_update, postgres_compound_index_follows_update;
    flipped_ciphertext_bytes_are_detected => sqlite_flipped_ciphertext_bytes_are_detected, postgres_flipped_ciphertext_bytes_are_detected;
    swapped_ciphertexts_are_detected => sqlite_swapped_ciphertexts_are_detected, postgres_swapped_ciphertexts_are_detected;
    swapped_keys_and_versions_are_detected => sqlite_swapped_keys_and_versions_are_detected, postgres_swapped_keys_and_versions_are_detected;
    erasure_removes_every_row => sqlite_erasure_removes_every_row, postgres_erasure_removes_every_row;
    root_key_is_checked => sqlite_root_key_is_checked, postgres_root_key_is_checked;
    invalid_input_changes_nothing => sqlite_invalid_input_changes_nothing, postgres_invalid_input_changes_nothing;
    no_plaintext_at_rest => sqlite_no_plaintext_at_rest, postgres_no_plaintext_at_rest;
    authenticate_checks_the_token => sqlite_authenticate_checks_the_token, postgres_authenticate_checks_the_token;
    concurrent_updates_keep_index_consistent => sqlite_concurrent_updates_keep_index_consistent, postgres_concurrent_updates_keep_index_consistent;
    audit_failure_fails_closed => sqlite_audit_failure_fails_closed, postgres_audit_failure_fails_closed;
    import_round_trip => sqlite_import_round_trip, postgres_import_round_trip;
    import_invalid_row_stores_nothing => sqlite_import_invalid_row_stores_nothing, postgres_import_invalid_row_stores_nothing;
    import_field_outside_purpose_stores_nothing => sqlite_import_field_outside_purpose_stores_nothing, postgres_import_field_outside_purpose_stores_nothing;
}

// ---------------------------------------------------------------------------------------------
// Fixture and helpers
// ---------------------------------------------------------------------------------------------

struct Fixture {
    db: TestDb,
    vault: Vault<SqlStore>,
    root: SecretKey,
    token: IssuedToken,
}

impl Fixture {
    fn pool(&self) -> &AnyPool {
        self.db.store.pool()
    }

    fn name(&self) -> &'static str {
        self.db.store.backend()
    }
}

/// A fresh, initialised vault; `None` only when PostgreSQL is skipped on purpose.
async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = fresh(backend).await?;
    let root = SecretKey::generate().expect("root key");
    let (vault, token) =
        Vault::initialise(db.store.clone(), &root, Catalogue::dutch_it_provider(), Arc::new(SystemClock))
            .await
            .expect("initialise the vault");
    Some(Fixture { db, vault, root, token })
}

fn ctx() -> AuditContext {
    AuditContext {
        actor: Actor::Cli("tester".to_owned()),
        purpose: Some(Purpose::parse("storage").expect("purpose")),
        ..AuditContext::system()
    }
}

fn input(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(f, v)| ((*f).to_owned(), (*v).to_owned())).collect()
}

/// Jan, typed sloppily; [`jan_normalised`] is what the vault must store.
fn jan() -> Vec<(String, String)> {
    input(&[
        ("email", " Jan@Example.NL "),
        ("iban", "nl91 abna 0417 1643 00"),
        ("phone", "06-12345678"),
        ("postcode", "1234ab"),
        ("house_number", "012"),
        ("last_name", "Jansen"),
        ("customer_number", "k-1001"),
    ])
}

fn jan_normalised() -> BTreeMap<String, String> {
    [
        ("customer_number", "K-1001"),
        ("email", "jan@example.nl"),
        ("house_number", "12"),
        ("iban", "NL91ABNA0417164300"),
        ("last_name", "Jansen"),
        ("phone", "+31612345678"),
        ("postcode", "1234 AB"),
    ]
    .into_iter()
    .map(|(f, v)| (f.to_owned(), v.to_owned()))
    .collect()
}

/// Piet: a second subject that shares nothing with Jan.
fn piet() -> Vec<(String, String)> {
    input(&[
        ("email", "piet@example.org"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("phone", "020 123 4567"),
        ("postcode", "9999 ZZ"),
        ("house_number", "1"),
        ("last_name", "Pietersen"),
    ])
}

fn plain(subject: &Subject) -> BTreeMap<String, String> {
    subject.values.iter().map(|(f, v)| (f.clone(), v.as_str().to_owned())).collect()
}

async fn create(f: &Fixture, values: &[(String, String)]) -> SubjectId {
    f.vault.create_subject(&ctx(), &scope(), SubjectKind::Customer, values).await.expect("create subject")
}

async fn get(f: &Fixture, id: SubjectId) -> Result<BTreeMap<String, String>, VaultError> {
    f.vault.get_subject(&ctx(), &scope(), id).await.map(|s| plain(&s))
}

async fn find_ids(f: &Fixture, index: IndexName, raw: &[&str]) -> Result<Vec<SubjectId>, VaultError> {
    f.vault.find_subjects(&ctx(), &scope(), index, raw).await.map(|found| found.iter().map(|s| s.id).collect())
}

async fn counts(f: &Fixture) -> Counts {
    f.vault.store().counts().await.expect("counts")
}

/// 32 lowercase letters, unique per call: canaries must contain no digit runs (a BSN-shaped run
/// would be refused) and must not occur anywhere by chance.
fn unique_letters() -> String {
    SubjectId::generate().as_bytes().iter().flat_map(|b| [b >> 4, b & 0x0f]).map(|n| char::from(b'a' + n)).collect()
}

/// A valid Dutch IBAN with a unique 10-digit account number.
fn unique_nl_iban() -> String {
    let account: String = SubjectId::generate().as_bytes()[6..].iter().map(|b| char::from(b'0' + b % 10)).collect();
    let rearranged = format!("KLUI{account}NL00");
    let remainder = rearranged.chars().fold(0_u32, |acc, c| {
        let v = c.to_digit(36).expect("alphanumeric");
        if v >= 10 { (acc * 100 + v) % 97 } else { (acc * 10 + v) % 97 }
    });
    format!("NL{:02}KLUI{account}", 98 - remainder)
}

// Raw SQL on the store's own pool. `$n` placeholders work on both databases.

async fn ciphertext(pool: &AnyPool, id: SubjectId, field: &str) -> Vec<u8> {
    sqlx::query("SELECT ciphertext FROM subject_values WHERE subject_id = $1 AND field = $2")
        .bind(id.to_string())
        .bind(field)
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get("ciphertext"))
        .expect("read a ciphertext")
}

async fn set_ciphertext(pool: &AnyPool, id: SubjectId, field: &str, bytes: &[u8]) {
    let done = sqlx::query("UPDATE subject_values SET ciphertext = $1 WHERE subject_id = $2 AND field = $3")
        .bind(bytes.to_vec())
        .bind(id.to_string())
        .bind(field)
        .execute(pool)
        .await
        .expect("write a ciphertext");
    assert_eq!(done.rows_affected(), 1, "tampered with exactly one value");
}

async fn wrapped_key(pool: &AnyPool, id: SubjectId) -> Vec<u8> {
    sqlx::query("SELECT wrapped_key FROM subjects WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get("wrapped_key"))
        .expect("read a wrapped key")
}

async fn set_wrapped_key(pool: &AnyPool, id: SubjectId, bytes: &[u8]) {
    let done = sqlx::query("UPDATE subjects SET wrapped_key = $1 WHERE id = $2")
        .bind(bytes.to_vec())
        .bind(id.to_string())
        .execute(pool)
        .await
        .expect("write a wrapped key");
    assert_eq!(done.rows_affected(), 1, "tampered with exactly one key");
}

async fn execute(pool: &AnyPool, sql: &'static str, id: SubjectId) {
    let done = sqlx::query(sql).bind(id.to_string()).execute(pool).await.expect("raw SQL");
    assert!(done.rows_affected() >= 1, "raw SQL changed a row: {sql}");
}

async fn rows_for(pool: &AnyPool, table: &str, column: &str, id: SubjectId) -> i64 {
    sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1")))
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get("n"))
        .expect("count rows")
}

/// Number of `integrity.failure` events about `id` in the audit log.
async fn integrity_events(f: &Fixture, id: SubjectId) -> usize {
    let subject = format!("\"subject\":\"{id}\"");
    f.vault
        .store()
        .audit_events(0, 1_000_000)
        .await
        .expect("audit events")
        .iter()
        .map(|e| String::from_utf8_lossy(&e.event).into_owned())
        .filter(|e| e.contains("\"action\":\"integrity.failure\"") && e.contains(&subject))
        .count()
}

/// `get` and `find` (by `index`/`raw`, which must reach `id`) both fail with `Integrity` naming
/// `id`, never with data, and each failure is audited.
async fn assert_integrity(f: &Fixture, id: SubjectId, index: IndexName, raw: &[&str], what: &str) {
    let b = f.name();
    let before = integrity_events(f, id).await;
    match f.vault.get_subject(&ctx(), &scope(), id).await {
        Err(VaultError::Integrity { subject, .. }) if subject == id => {}
        Err(other) => panic!("{b}: {what}: get gave {other:?}, want Integrity"),
        Ok(_) => panic!("{b}: {what}: get returned data from a tampered record"),
    }
    match f.vault.find_subjects(&ctx(), &scope(), index, raw).await {
        Err(e @ VaultError::Integrity { subject, .. }) if subject == id => {
            let text = format!("{e} {e:?}");
            assert!(!text.contains("jan@") && !text.contains("Jansen"), "{b}: {what}: error leaks data: {text}");
        }
        Err(other) => panic!("{b}: {what}: find gave {other:?}, want Integrity"),
        Ok(_) => panic!("{b}: {what}: find returned data from a tampered record"),
    }
    assert_eq!(integrity_events(f, id).await, before + 2, "{b}: {what}: both failures audited as integrity.failure");
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Values come back normalised, and every index finds the subject, also when typed differently.
async fn round_trip_and_find(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let other = create(&f, &piet()).await;
    let subject = f.vault.get_subject(&ctx(), &scope(), id).await.expect("get");
    assert_eq!((subject.id, subject.kind), (id, SubjectKind::Customer), "{b}: id and kind");
    assert_eq!(plain(&subject), jan_normalised(), "{b}: values are stored normalised");

    let lookups: [(IndexName, &[&str]); 10] = [
        (IndexName::Email, &["jan@example.nl"]),
        (IndexName::Email, &["JAN@Example.nl "]),
        (IndexName::Phone, &["+31612345678"]),
        (IndexName::Phone, &["06 12345678"]),
        (IndexName::Phone, &["+31 6 1234 5678"]),
        (IndexName::Iban, &["NL91ABNA0417164300"]),
        (IndexName::Iban, &["nl91 abna 0417 1643 00"]),
        (IndexName::CustomerNumber, &["K-1001"]),
        (IndexName::CustomerNumber, &["k-1001"]),
        (IndexName::PostcodeHouseNumber, &["1234 ab", "12"]),
    ];
    for (index, raw) in lookups {
        let found = find_ids(&f, index, raw).await.expect("find");
        assert_eq!(found, vec![id], "{b}: find by {} {raw:?}", index.as_str());
    }
    assert_eq!(find_ids(&f, IndexName::Email, &["piet@example.org"]).await.expect("find"), vec![other], "{b}: piet");
    for (index, raw) in [
        (IndexName::Email, &["jan@example.com"][..]),
        (IndexName::Phone, &["06 12345679"][..]),
        (IndexName::PostcodeHouseNumber, &["1234 AB", "13"][..]),
        (IndexName::PostcodeHouseNumber, &["1234 AC", "12"][..]),
    ] {
        assert!(find_ids(&f, index, raw).await.expect("find").is_empty(), "{b}: no match for {raw:?}");
    }
    let bad = find_ids(&f, IndexName::PostcodeHouseNumber, &["1234 AB"]).await;
    assert!(matches!(bad, Err(VaultError::InvalidLookup(_))), "{b}: compound lookup needs two parts: {bad:?}");
    let bad = find_ids(&f, IndexName::Email, &["not an address"]).await;
    assert!(matches!(bad, Err(VaultError::InvalidLookup(_))), "{b}: invalid lookup value: {bad:?}");
    let missing = f.vault.get_subject(&ctx(), &scope(), SubjectId::generate()).await;
    assert!(matches!(missing, Err(VaultError::NotFound(_))), "{b}: unknown id: {missing:?}");
}

/// Index entries are recomputed from the values after an update: the compound index follows a new
/// house number, a removed field is no longer findable, a new one is.
async fn compound_index_follows_update(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let changes = vec![
        ("house_number".to_owned(), Some("14".to_owned())),
        ("email".to_owned(), None),
        ("city".to_owned(), Some("Utrecht".to_owned())),
    ];
    f.vault.update_subject(&ctx(), &scope(), id, &changes).await.expect("update");

    let mut want = jan_normalised();
    want.insert("house_number".into(), "14".into());
    want.remove("email");
    want.insert("city".into(), "Utrecht".into());
    assert_eq!(get(&f, id).await.expect("get"), want, "{b}: values after update");
    let pc = IndexName::PostcodeHouseNumber;
    assert!(find_ids(&f, pc, &["1234AB", "12"]).await.expect("find").is_empty(), "{b}: old combination gone");
    assert_eq!(find_ids(&f, pc, &["1234AB", "14"]).await.expect("find"), vec![id], "{b}: new combination");
    assert!(find_ids(&f, IndexName::Email, &["jan@example.nl"]).await.expect("find").is_empty(), "{b}: removed email");
    assert_eq!(find_ids(&f, IndexName::Phone, &["0612345678"]).await.expect("find"), vec![id], "{b}: phone kept");

    // Removing one part of the compound removes the compound entry.
    f.vault.update_subject(&ctx(), &scope(), id, &[("postcode".to_owned(), None)]).await.expect("update");
    assert!(find_ids(&f, pc, &["1234AB", "14"]).await.expect("find").is_empty(), "{b}: compound needs both");
    // phone, iban, customer_number remain.
    assert_eq!(counts(&f).await.index_entries, 3, "{b}: index entries match the remaining values");

    let empty = f.vault.update_subject(&ctx(), &scope(), id, &[]).await;
    assert!(matches!(empty, Err(VaultError::EmptyChange)), "{b}: empty change: {empty:?}");
    let unknown = f.vault.update_subject(&ctx(), &scope(), SubjectId::generate(), &changes).await;
    assert!(matches!(unknown, Err(VaultError::NotFound(_))), "{b}: unknown subject: {unknown:?}");
}

/// Flipping any byte of a stored ciphertext (or truncating, extending or emptying it) makes get
/// and find fail with `Integrity`, never return data.
async fn flipped_ciphertext_bytes_are_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let original = ciphertext(f.pool(), id, "email").await;
    assert!(original.len() > 29, "{b}: a sealed value is longer than its overhead");
    let email = &["jan@example.nl"][..];
    for i in 0..original.len() {
        for mask in [0x01_u8, 0x80] {
            let mut tampered = original.clone();
            tampered[i] ^= mask;
            set_ciphertext(f.pool(), id, "email", &tampered).await;
            let got = f.vault.get_subject(&ctx(), &scope(), id).await;
            assert!(
                matches!(&got, Err(VaultError::Integrity { subject, field: Some(field) }) if *subject == id && field == "email"),
                "{b}: byte {i} ^ {mask:#04x}: get gave {got:?}"
            );
        }
    }
    let mut tampered = original.clone();
    tampered[original.len() / 2] ^= 0xff;
    set_ciphertext(f.pool(), id, "email", &tampered).await;
    assert_integrity(&f, id, IndexName::Email, email, "flipped byte").await;
    set_ciphertext(f.pool(), id, "email", &original[..original.len() - 1]).await;
    assert_integrity(&f, id, IndexName::Email, email, "truncated").await;
    set_ciphertext(f.pool(), id, "email", &[original.as_slice(), &[0]].concat()).await;
    assert_integrity(&f, id, IndexName::Email, email, "extended").await;
    set_ciphertext(f.pool(), id, "email", &[]).await;
    assert_integrity(&f, id, IndexName::Email, email, "emptied").await;

    // Another field's ciphertext tampered: found via the email index, still refused.
    set_ciphertext(f.pool(), id, "email", &original).await;
    let iban = ciphertext(f.pool(), id, "iban").await;
    let mut tampered = iban.clone();
    tampered[0] ^= 0x02;
    set_ciphertext(f.pool(), id, "iban", &tampered).await;
    assert_integrity(&f, id, IndexName::Email, email, "other field tampered").await;

    // Restored: readable again (the test above would pass vacuously if nothing were readable).
    set_ciphertext(f.pool(), id, "iban", &iban).await;
    assert_eq!(get(&f, id).await.expect("get after restore"), jan_normalised(), "{b}: restored record reads");
    assert_eq!(find_ids(&f, IndexName::Email, email).await.expect("find"), vec![id], "{b}: restored record found");
}

/// Ciphertexts moved between subjects (same field) or between fields of one subject fail.
async fn swapped_ciphertexts_are_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let jan_id = create(&f, &jan()).await;
    let piet_id = create(&f, &piet()).await;
    let pool = f.pool();
    let jan_email = ciphertext(pool, jan_id, "email").await;
    let piet_email = ciphertext(pool, piet_id, "email").await;

    set_ciphertext(pool, jan_id, "email", &piet_email).await;
    set_ciphertext(pool, piet_id, "email", &jan_email).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "swapped between subjects (jan)").await;
    assert_integrity(&f, piet_id, IndexName::Email, &["piet@example.org"], "swapped between subjects (piet)").await;
    // Copied rather than swapped: the same.
    set_ciphertext(pool, piet_id, "email", &piet_email).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "copied from another subject").await;
    set_ciphertext(pool, jan_id, "email", &jan_email).await;

    let last_name = ciphertext(pool, jan_id, "last_name").await;
    set_ciphertext(pool, jan_id, "email", &last_name).await;
    set_ciphertext(pool, jan_id, "last_name", &jan_email).await;
    assert_integrity(&f, jan_id, IndexName::Phone, &["06 12345678"], "swapped between fields").await;

    set_ciphertext(pool, jan_id, "email", &jan_email).await;
    set_ciphertext(pool, jan_id, "last_name", &last_name).await;
    assert_eq!(get(&f, jan_id).await.expect("restored"), jan_normalised(), "{}: restored record reads", f.name());
    assert!(get(&f, piet_id).await.is_ok(), "{}: piet restored", f.name());
}

/// Wrapped data keys moved between subjects, a tampered wrapped key, and changed key versions fail.
async fn swapped_keys_and_versions_are_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let jan_id = create(&f, &jan()).await;
    let piet_id = create(&f, &piet()).await;
    let pool = f.pool();
    let jan_key = wrapped_key(pool, jan_id).await;
    let piet_key = wrapped_key(pool, piet_id).await;

    set_wrapped_key(pool, jan_id, &piet_key).await;
    set_wrapped_key(pool, piet_id, &jan_key).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "wrapped keys swapped (jan)").await;
    assert_integrity(&f, piet_id, IndexName::Email, &["piet@example.org"], "wrapped keys swapped (piet)").await;
    set_wrapped_key(pool, piet_id, &piet_key).await;

    let mut flipped = jan_key.clone();
    flipped[40] ^= 0x10;
    set_wrapped_key(pool, jan_id, &flipped).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "wrapped key tampered").await;
    set_wrapped_key(pool, jan_id, &jan_key).await;
    assert!(get(&f, jan_id).await.is_ok(), "{}: restored key works", f.name());

    execute(pool, "UPDATE subject_values SET key_version = 2 WHERE subject_id = $1 AND field = 'email'", jan_id).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "value key_version changed").await;
    execute(pool, "UPDATE subject_values SET key_version = 2 WHERE subject_id = $1", jan_id).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "every value key_version changed").await;
    execute(pool, "UPDATE subject_values SET key_version = 1 WHERE subject_id = $1", jan_id).await;
    assert!(get(&f, jan_id).await.is_ok(), "{}: restored versions work", f.name());

    execute(pool, "UPDATE subjects SET key_version = 2 WHERE id = $1", jan_id).await;
    assert_integrity(&f, jan_id, IndexName::Email, &["jan@example.nl"], "data key_version changed").await;
    execute(pool, "UPDATE subjects SET key_version = 1 WHERE id = $1", jan_id).await;
    assert_eq!(get(&f, jan_id).await.expect("restored"), jan_normalised(), "{}: restored", f.name());
    assert!(get(&f, piet_id).await.is_ok(), "{}: piet untouched", f.name());
}

/// Erasure removes the subject's rows from every table, records it in the ledger, and the
/// subject can no longer be read or found.
async fn erasure_removes_every_row(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let other = create(&f, &piet()).await;
    let pool = f.pool();
    assert_eq!(rows_for(pool, "subject_values", "subject_id", id).await, 7, "{b}: values before");
    assert_eq!(rows_for(pool, "blind_index", "subject_id", id).await, 5, "{b}: index entries before");

    f.vault.erase_subject(&ctx(), &scope(), id).await.expect("erase");
    for (table, column) in [("subjects", "id"), ("subject_values", "subject_id"), ("blind_index", "subject_id")] {
        assert_eq!(rows_for(pool, table, column, id).await, 0, "{b}: {table} still holds the subject");
    }
    assert_eq!(rows_for(pool, "erasures", "subject_id", id).await, 1, "{b}: erasure ledger");
    assert!(f.vault.store().is_erased(id).await.expect("is_erased"), "{b}: is_erased");
    assert!(find_ids(&f, IndexName::Email, &["jan@example.nl"]).await.expect("find").is_empty(), "{b}: not found");
    let pc = find_ids(&f, IndexName::PostcodeHouseNumber, &["1234AB", "12"]).await.expect("find");
    assert!(pc.is_empty(), "{b}: not found by postcode");
    let got = f.vault.get_subject(&ctx(), &scope(), id).await;
    assert!(matches!(got, Err(VaultError::NotFound(i)) if i == id), "{b}: get after erasure: {got:?}");
    let again = f.vault.erase_subject(&ctx(), &scope(), id).await;
    assert!(matches!(again, Err(VaultError::NotFound(_))), "{b}: second erasure: {again:?}");
    let update = f.vault.update_subject(&ctx(), &scope(), id, &[("city".into(), Some("Delft".into()))]).await;
    assert!(matches!(update, Err(VaultError::NotFound(_))), "{b}: update after erasure: {update:?}");
    assert_eq!(rows_for(pool, "subjects", "id", id).await, 0, "{b}: nothing resurrected");

    assert_eq!(rows_for(pool, "subject_values", "subject_id", other).await, 6, "{b}: other subject kept");
    assert!(get(&f, other).await.is_ok(), "{b}: other subject readable");
    let c = counts(&f).await;
    assert_eq!((c.subjects, c.erasures), (1, 1), "{b}: counts after erasure");
}

/// The vault refuses a root key that does not match the database, and an uninitialised one.
async fn root_key_is_checked(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let catalogue = Catalogue::dutch_it_provider;

    let wrong = SecretKey::generate().expect("key");
    let result = Vault::open(f.db.store.clone(), &wrong, catalogue(), Arc::new(SystemClock)).await;
    match result {
        Err(e @ VaultError::WrongRootKey { .. }) => {
            assert!(e.to_string().contains("does not match"), "{b}: message: {e}");
        }
        other => panic!("{b}: wrong root key: {other:?}"),
    }

    let reopened = Vault::open(f.db.store.clone(), &f.root, catalogue(), Arc::new(SystemClock))
        .await
        .unwrap_or_else(|e| panic!("{b}: right root key: {e}"));
    let subject = reopened.get_subject(&ctx(), &scope(), id).await.expect("read with the reopened vault");
    assert_eq!(plain(&subject), jan_normalised(), "{b}: the reopened vault decrypts");
    let found = reopened.find_subjects(&ctx(), &scope(), IndexName::Email, &["jan@example.nl"]).await.expect("find");
    assert_eq!(found.len(), 1, "{b}: the reopened vault derives the same blind-index keys");

    let again = Vault::initialise(f.db.store.clone(), &f.root, catalogue(), Arc::new(SystemClock)).await;
    assert!(matches!(again, Err(VaultError::AlreadyInitialised)), "{b}: second initialise: {again:?}");

    let empty = fresh(backend).await.expect("a second fresh store");
    let result = Vault::open(empty.store.clone(), &f.root, catalogue(), Arc::new(SystemClock)).await;
    assert!(matches!(result, Err(VaultError::NotInitialised)), "{b}: uninitialised store: {result:?}");
}

/// Invalid input is refused with every error at once and changes nothing.
async fn invalid_input_changes_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let before = counts(&f).await;
    let audit_before = f.vault.store().audit_events(0, 1_000_000).await.expect("audit");

    let bad = input(&[
        ("iban", "NL92ABNA0417164300"),
        ("company_name", "Acme 111222333 BV"),
        ("favourite_colour", "blue"),
        ("bsn", "111222333"),
        ("gender", "female"),
        ("email", "fine@example.nl"),
    ]);
    let want = vec![
        ("bsn".to_owned(), ValueErrorCode::ForbiddenCategory),
        ("company_name".to_owned(), ValueErrorCode::BsnDetected),
        ("favourite_colour".to_owned(), ValueErrorCode::UnknownField),
        ("gender".to_owned(), ValueErrorCode::FieldDisabled),
        ("iban".to_owned(), ValueErrorCode::InvalidIban),
    ];
    match f.vault.create_subject(&ctx(), &scope(), SubjectKind::Customer, &bad).await {
        Err(VaultError::Validation(errors)) => {
            let got: Vec<(String, ValueErrorCode)> = errors.0.iter().map(|e| (e.field.clone(), e.code)).collect();
            assert_eq!(got, want, "{b}: every error reported, sorted by field");
            let text = VaultError::Validation(errors).to_string();
            assert!(!text.contains("111222333") && !text.contains("NL92"), "{b}: errors never echo values: {text}");
        }
        other => panic!("{b}: create with invalid values: {other:?}"),
    }

    let changes: Vec<(String, Option<String>)> = bad.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    match f.vault.update_subject(&ctx(), &scope(), id, &changes).await {
        Err(VaultError::Validation(errors)) => {
            assert_eq!(errors.0.len(), 5, "{b}: update reports all: {errors:?}");
        }
        other => panic!("{b}: update with invalid values: {other:?}"),
    }
    let removal = vec![("bsn".to_owned(), None), ("email".to_owned(), None)];
    let result = f.vault.update_subject(&ctx(), &scope(), id, &removal).await;
    assert!(matches!(result, Err(VaultError::Validation(_))), "{b}: removing a forbidden field: {result:?}");

    assert_eq!(counts(&f).await, before, "{b}: invalid input changed the store");
    let audit_after = f.vault.store().audit_events(0, 1_000_000).await.expect("audit");
    assert_eq!(audit_after, audit_before, "{b}: invalid input appended audit events");
    assert_eq!(get(&f, id).await.expect("get"), jan_normalised(), "{b}: values unchanged");
}

/// Row `i` of an import: eight fields, three of them blind-indexed on their own plus the
/// postcode and house number.
fn import_row(i: usize) -> Vec<(String, String)> {
    let row = vec![
        ("first_names", "Anna Maria".to_owned()),
        ("last_name", format!("Import{}", unique_letters())),
        ("email", format!("Import.{i}@Example.NL")),
        ("phone", format!("06-{:08}", 10_000_000 + i)),
        ("iban", unique_nl_iban()),
        ("street", "Dorpsstraat".to_owned()),
        ("postcode", "1234 AB".to_owned()),
        ("house_number", (i + 1).to_string()),
    ];
    row.into_iter().map(|(f, v)| (f.to_owned(), v)).collect()
}

async fn audit_log(f: &Fixture) -> Vec<kluis_vault::StoredAuditEvent> {
    f.vault.store().audit_events(0, 1_000_000).await.expect("audit")
}

async fn import_round_trip(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let rows: Vec<Vec<(String, String)>> = (0..50).map(import_row).collect();
    let before = counts(&f).await;
    let ids = f.vault.import_subjects(&ctx(), &scope(), SubjectKind::Customer, &rows).await.expect("import");
    assert_eq!(ids.len(), 50, "{b}: one id per row");
    let after = counts(&f).await;
    assert_eq!(
        (after.subjects, after.values, after.index_entries, after.audit_events),
        (before.subjects + 50, before.values + 400, before.index_entries + 200, before.audit_events + 50),
        "{b}: 50 subjects, 8 values and 4 index entries each, one event each"
    );
    for (i, id) in ids.iter().enumerate() {
        let email = format!("import.{i}@example.nl");
        assert_eq!(find_ids(&f, IndexName::Email, &[&email]).await.expect("find"), vec![*id], "{b}: row {i} by e-mail");
        let values = get(&f, *id).await.expect("get");
        assert_eq!(values.get("email"), Some(&email), "{b}: row {i} normalised like create_subject");
        assert_eq!(values.len(), 8, "{b}: row {i} has its eight values");
    }
    let phone = format!("06 {:08}", 10_000_007);
    assert_eq!(find_ids(&f, IndexName::Phone, &[&phone]).await.expect("find"), vec![ids[7]], "{b}: by phone");
    assert_eq!(
        find_ids(&f, IndexName::PostcodeHouseNumber, &["1234AB", "8"]).await.expect("find"),
        vec![ids[7]],
        "{b}: by postcode and house number"
    );
    // The events are those create_subject writes: one subject.create per subject, in row order.
    let single = create(&f, &import_row(99)).await;
    let log = audit_log(&f).await;
    let text = |seq: usize| String::from_utf8(log[seq].event.clone()).expect("utf-8");
    let first = usize::try_from(before.audit_events).expect("size");
    for (k, id) in ids.iter().enumerate() {
        assert!(text(first + k).contains(&id.to_string()), "{b}: event {k} names subject {k}");
    }
    let single_event = text(log.len() - 1);
    // The same event but for `seq`, `time` and the subject id.
    let strip = |t: String, id: SubjectId| {
        let t = t.replace(&id.to_string(), "ID");
        t[t.find("\"actor\"").expect("actor member")..].to_owned()
    };
    assert!(single_event.contains("subject.create"), "{b}: {single_event}");
    assert_eq!(strip(text(first), ids[0]), strip(single_event, single), "{b}: same event shape as create_subject");
}

async fn import_invalid_row_stores_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let before = counts(&f).await;
    let log_before = audit_log(&f).await;
    let mut rows: Vec<Vec<(String, String)>> = (0..10).map(import_row).collect();
    rows[3] = input(&[("email", "not-an-address"), ("iban", "NL92ABNA0417164300")]);
    rows[8].push(("bsn".to_owned(), "111222333".to_owned()));
    match f.vault.import_subjects(&ctx(), &scope(), SubjectKind::Customer, &rows).await {
        Err(VaultError::InvalidRows(invalid)) => {
            let got: Vec<(usize, Vec<(String, ValueErrorCode)>)> = invalid
                .iter()
                .map(|(i, errors)| (*i, errors.0.iter().map(|e| (e.field.clone(), e.code)).collect()))
                .collect();
            let want = vec![
                (
                    3,
                    vec![
                        ("email".to_owned(), ValueErrorCode::InvalidEmail),
                        ("iban".to_owned(), ValueErrorCode::InvalidIban),
                    ],
                ),
                (8, vec![("bsn".to_owned(), ValueErrorCode::ForbiddenCategory)]),
            ];
            assert_eq!(got, want, "{b}: every invalid row with all its errors");
            let text = VaultError::InvalidRows(invalid).to_string();
            assert!(text.contains("row 3") && text.contains("row 8"), "{b}: rows named: {text}");
            assert!(
                !text.contains("111222333") && !text.contains("NL92") && !text.contains("not-an"),
                "{b}: no values: {text}"
            );
        }
        other => panic!("{b}: import with invalid rows: {other:?}"),
    }
    assert_eq!(counts(&f).await, before, "{b}: nothing stored");
    assert_eq!(audit_log(&f).await, log_before, "{b}: nothing audited");
    let email = "import.0@example.nl";
    assert!(
        find_ids(&f, IndexName::Email, &[email]).await.expect("find").is_empty(),
        "{b}: valid rows not stored either"
    );
}

async fn import_field_outside_purpose_stores_nothing(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let before = counts(&f).await;
    let newsletter = AuditContext { purpose: Some(Purpose::parse("newsletter").expect("purpose")), ..ctx() };
    // Every row but one holds only the e-mail address, which `newsletter` covers.
    let mut rows: Vec<Vec<(String, String)>> =
        (0..5).map(|i| input(&[("email", &format!("letter.{i}@example.nl"))])).collect();
    rows[2].push(("iban".to_owned(), unique_nl_iban()));
    match f.vault.import_subjects(&newsletter, &scope(), SubjectKind::Customer, &rows).await {
        Err(VaultError::FieldsNotCovered { purpose, fields }) => {
            assert_eq!(
                (purpose.as_str(), fields),
                ("newsletter", vec!["iban".to_owned()]),
                "{b}: refusal names the field"
            );
        }
        other => panic!("{b}: import outside the purpose: {other:?}"),
    }
    let after = counts(&f).await;
    assert_eq!(
        (after.subjects, after.values, after.index_entries),
        (before.subjects, before.values, before.index_entries),
        "{b}: nothing stored"
    );
    assert_eq!(after.audit_events, before.audit_events + 1, "{b}: only the refusal is audited");
    let log = audit_log(&f).await;
    let refusal = String::from_utf8(log[log.len() - 1].event.clone()).expect("utf-8");
    assert!(refusal.contains("field_not_allowed"), "{b}: the refusal's reason: {refusal}");
    let ok = f.vault.import_subjects(&newsletter, &scope(), SubjectKind::Customer, &rows[..2]).await.expect("import");
    assert_eq!(ok.len(), 2, "{b}: rows the purpose covers import");
}

/// Every stored byte of a PostgreSQL database, column by column (bytea raw, anything else as text).
async fn postgres_columns(pool: &AnyPool) -> Vec<(String, Vec<u8>)> {
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .expect("list columns");
    let mut out = Vec::new();
    for column in &columns {
        let (t, c, d): (String, String, String) = (column.get("t"), column.get("c"), column.get("d"));
        // Names come from the catalogue of our own schema, not from input.
        let sql = if d == "bytea" {
            format!("SELECT \"{c}\" AS v FROM \"{t}\"")
        } else {
            format!("SELECT convert_to(\"{c}\"::text, 'UTF8') AS v FROM \"{t}\"")
        };
        for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await.expect("read a column") {
            let v: Option<Vec<u8>> = row.get("v");
            out.push((format!("{t}.{c}"), v.unwrap_or_default()));
        }
    }
    out
}

/// Unique canaries written through the vault appear nowhere at rest, in any encoding.
async fn no_plaintext_at_rest(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let letters = unique_letters();
    let email = format!("canary.{letters}@example.nl");
    let iban = unique_nl_iban();
    let last_name = format!("Canary{letters}");
    let city = format!("Canarystad{}", unique_letters());
    let erased_email = format!("erased.{}@example.nl", unique_letters());
    let canaries =
        [email.clone(), iban.clone(), last_name.to_lowercase(), last_name.clone(), city.clone(), erased_email.clone()];

    let id = create(&f, &input(&[("email", &email), ("iban", &iban), ("last_name", &last_name)])).await;
    let values = get(&f, id).await.expect("get");
    assert_eq!(
        (values["email"].as_str(), values["iban"].as_str()),
        (email.as_str(), iban.as_str()),
        "{b}: canaries stored"
    );
    assert_eq!(find_ids(&f, IndexName::Iban, &[&iban]).await.expect("find"), vec![id], "{b}: found by IBAN");
    assert_eq!(
        find_ids(&f, IndexName::Email, &[&email.to_uppercase()]).await.expect("find"),
        vec![id],
        "{b}: by email"
    );
    f.vault.update_subject(&ctx(), &scope(), id, &[("city".into(), Some(city.clone()))]).await.expect("update");
    let gone = create(&f, &input(&[("email", &erased_email)])).await;
    // Crypto-shredding: after erasure neither the wrapped data key nor the ciphertext of the
    // erased subject may remain anywhere at rest.
    let shredded = [wrapped_key(f.pool(), gone).await, ciphertext(f.pool(), gone, "email").await];
    f.vault.erase_subject(&ctx(), &scope(), gone).await.expect("erase");
    assert!(get(&f, id).await.expect("get")["city"] == city, "{b}: updated value readable");

    // Positive controls: the scan sees stored rows (subject ids are stored as text) and raw
    // bytes (the kept subject's wrapped key).
    let id_text = id.to_string();
    let kept_key = wrapped_key(f.pool(), id).await;
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    match backend {
        Backend::Sqlite => {
            f.vault.store().close().await;
            let dir = f.db.dir.as_ref().expect("SQLite test databases live in a directory");
            let files = files_below(dir.path());
            assert!(!files.is_empty(), "{b}: no database files to scan");
            let mut seen_id = false;
            for path in &files {
                let bytes = std::fs::read(path).expect("read a database file");
                seen_id |= find_canary(&bytes, &id_text).is_some() && holds(&bytes, &kept_key);
                for secret in &shredded {
                    assert!(!holds(&bytes, secret), "{b}: bytes of the erased subject remain in {}", path.display());
                }
                for canary in &canaries {
                    assert_eq!(find_canary(&bytes, canary), None, "{b}: canary {canary} in {}", path.display());
                }
            }
            assert!(seen_id, "{b}: the scan did not see the subject's rows: {files:?}");
        }
        Backend::Postgres => {
            let columns = postgres_columns(f.pool()).await;
            assert!(columns.iter().any(|(c, _)| c == "subject_values.ciphertext"), "{b}: ciphertexts scanned");
            assert!(columns.iter().any(|(_, v)| find_canary(v, &id_text).is_some()), "{b}: subject rows scanned");
            assert!(columns.iter().any(|(_, v)| holds(v, &kept_key)), "{b}: raw bytes scanned");
            for (column, bytes) in &columns {
                for secret in &shredded {
                    assert!(!holds(bytes, secret), "{b}: bytes of the erased subject remain in {column}");
                }
                for canary in &canaries {
                    assert_eq!(find_canary(bytes, canary), None, "{b}: canary {canary} in {column}");
                }
            }
        }
    }
}

/// The issued break-glass token authenticates from loopback; anything else is `Unauthorized`.
async fn authenticate_checks_the_token(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let local = Some(std::net::IpAddr::from([127, 0, 0, 1]));
    let caller = f.vault.authenticate_token(f.token.secret.as_str(), local).await.expect("the issued token works");
    assert_eq!((caller.token, caller.kind), (Some(f.token.id), kluis_vault::CallerKind::BreakGlass), "{b}: caller");

    let mut wrong = f.token.secret.as_str().to_owned();
    let last = wrong.pop().expect("non-empty token");
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    let other = kluis_crypto::random_token().expect("token");
    for token in [wrong.as_str(), other.as_str(), "", "kluis_", &format!("{} ", f.token.secret.as_str())] {
        let result = f.vault.authenticate_token(token, local).await;
        assert!(matches!(result, Err(VaultError::Unauthorized)), "{b}: token {token:?} must be refused: {result:?}");
    }
}

/// Two updates racing from the same revision: each succeeds or reports `Conflict`, at least one
/// wins, and the index always matches the final values.
async fn concurrent_updates_keep_index_consistent(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &input(&[("email", "start@example.nl"), ("phone", "0612345678")])).await;
    let mut previous = "start@example.nl".to_owned();
    let mut conflicts = 0;
    for round in 0..12 {
        let emails = [format!("a{round}@example.nl"), format!("b{round}@example.nl")];
        let tasks: Vec<_> = emails
            .iter()
            .map(|email| {
                let vault = f.vault.clone();
                let change = vec![("email".to_owned(), Some(email.clone()))];
                tokio::spawn(async move { vault.update_subject(&ctx(), &scope(), id, &change).await })
            })
            .collect();
        let mut won = Vec::new();
        for (task, email) in tasks.into_iter().zip(&emails) {
            match task.await.expect("update task") {
                Ok(()) => won.push(email.clone()),
                Err(VaultError::Conflict(c)) if c == id => conflicts += 1,
                Err(other) => panic!("{b}: round {round}: racing update failed with {other:?}"),
            }
        }
        assert!(!won.is_empty(), "{b}: round {round}: neither update succeeded");
        let values = get(&f, id).await.expect("get");
        let final_email = values["email"].clone();
        assert!(won.contains(&final_email), "{b}: round {round}: final value {final_email} is not a winner {won:?}");
        assert_eq!(
            find_ids(&f, IndexName::Email, &[&final_email]).await.expect("find"),
            vec![id],
            "{b}: final indexed"
        );
        for stale in emails.iter().chain([&previous]).filter(|e| **e != final_email) {
            let found = find_ids(&f, IndexName::Email, &[stale]).await.expect("find");
            assert!(found.is_empty(), "{b}: round {round}: stale email {stale} still indexed");
        }
        assert_eq!(find_ids(&f, IndexName::Phone, &["0612345678"]).await.expect("find"), vec![id], "{b}: phone kept");
        assert_eq!(counts(&f).await.index_entries, 2, "{b}: round {round}: exactly one entry per indexed value");
        previous = final_email;
    }
    eprintln!("{b}: {conflicts} conflicts in 12 rounds of racing updates");
}

/// The vault fails closed: when the audit append fails, nothing is created, changed or returned.
async fn audit_failure_fails_closed(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let b = f.name();
    let id = create(&f, &jan()).await;
    let before = counts(&f).await;
    let block = async |on: bool| {
        let sql = if on {
            "INSERT INTO audit_events (seq, recorded_at, event) SELECT size, 0, $1 FROM audit_head WHERE id = 1"
        } else {
            "DELETE FROM audit_events WHERE seq = (SELECT size FROM audit_head WHERE id = 1) AND event = $1"
        };
        let done = sqlx::query(sql).bind(b"planted".to_vec()).execute(f.pool()).await.expect("sabotage");
        assert_eq!(done.rows_affected(), 1, "sabotage applied");
    };

    block(true).await;
    let created = f.vault.create_subject(&ctx(), &scope(), SubjectKind::Customer, &piet()).await;
    assert!(matches!(created, Err(VaultError::Store(_))), "{b}: create without audit: {created:?}");
    let read = f.vault.get_subject(&ctx(), &scope(), id).await;
    assert!(read.is_err(), "{b}: a read that cannot be audited must not return data");
    let found = f.vault.find_subjects(&ctx(), &scope(), IndexName::Email, &["jan@example.nl"]).await;
    assert!(found.is_err(), "{b}: a find that cannot be audited must not return data");
    let updated = f.vault.update_subject(&ctx(), &scope(), id, &[("city".into(), Some("Delft".into()))]).await;
    assert!(matches!(updated, Err(VaultError::Store(_))), "{b}: update without audit: {updated:?}");
    let erased = f.vault.erase_subject(&ctx(), &scope(), id).await;
    assert!(matches!(erased, Err(VaultError::Store(_))), "{b}: erase without audit: {erased:?}");
    block(false).await;

    assert_eq!(counts(&f).await, before, "{b}: nothing changed while the audit log was broken");
    assert_eq!(get(&f, id).await.expect("get"), jan_normalised(), "{b}: values unchanged, subject not erased");
    assert!(find_ids(&f, IndexName::Email, &["piet@example.org"]).await.expect("find").is_empty(), "{b}: no piet");

    // A dropped audit table is the bluntest failure; the write must still roll back.
    sqlx::query("DROP TABLE audit_events").execute(f.pool()).await.expect("drop the audit table");
    let created = f.vault.create_subject(&ctx(), &scope(), SubjectKind::Customer, &piet()).await;
    assert!(created.is_err(), "{b}: create without an audit table: {created:?}");
    let erased = f.vault.erase_subject(&ctx(), &scope(), id).await;
    assert!(erased.is_err(), "{b}: erase without an audit table: {erased:?}");
    for (table, want) in [("subjects", before.subjects), ("subject_values", before.values), ("erasures", 0)] {
        let n: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
            .fetch_one(f.pool())
            .await
            .and_then(|r| r.try_get("n"))
            .expect("count rows");
        assert_eq!(n, want, "{b}: {table} changed without an audit table");
    }
}

/// Every purpose of the built-in policy; with the purpose `storage` every field is shown.
fn scope() -> CallerScope {
    CallerScope::token(PurposePolicy::builtin().purposes().cloned().collect::<Vec<_>>())
}
