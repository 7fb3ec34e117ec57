//! Runs every case of the storage conformance suite on SQLite and on PostgreSQL. Test names say
//! the backend (`sqlite_<case>`, `postgres_<case>`), so both halves are visible in the output;
//! `sqlite_pool_<case>` runs SQLite with its hot paths (reads, the writer's native batches) on the
//! pool instead of direct connections.
//! PostgreSQL tests need `KLUIS_TEST_DATABASE_URL` and return early only when
//! `KLUIS_TEST_SKIP_POSTGRES=1` says so deliberately.

use kluis_store_conformance::{TestDb, postgres, sqlite, sqlite_pool, suite};
use sqlx::AnyPool;

macro_rules! conformance {
    ($($case:ident => $sqlite:ident, $sqlite_pool:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            let db = sqlite().await;
            suite::$case(db.store.clone()).await;
            drop(db);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite_pool() {
            let db = sqlite_pool().await;
            suite::$case(db.store.clone()).await;
            drop(db);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            let Some(db) = postgres().await else { return };
            suite::$case(db.store.clone()).await;
            drop(db);
        }
    )*};
}

conformance! {
    keyring_lifecycle => sqlite_keyring_lifecycle, sqlite_pool_keyring_lifecycle, postgres_keyring_lifecycle;
    token_by_hash => sqlite_token_by_hash, sqlite_pool_token_by_hash, postgres_token_by_hash;
    create_and_load => sqlite_create_and_load, sqlite_pool_create_and_load, postgres_create_and_load;
    subject_without_values => sqlite_subject_without_values, sqlite_pool_subject_without_values, postgres_subject_without_values;
    create_subjects_batch => sqlite_create_subjects_batch, sqlite_pool_create_subjects_batch, postgres_create_subjects_batch;
    read_subject_audits => sqlite_read_subject_audits, sqlite_pool_read_subject_audits, postgres_read_subject_audits;
    find_subjects_by_index => sqlite_find_subjects_by_index, sqlite_pool_find_subjects_by_index, postgres_find_subjects_by_index;
    update_subject => sqlite_update_subject, sqlite_pool_update_subject, postgres_update_subject;
    erase_subject => sqlite_erase_subject, sqlite_pool_erase_subject, postgres_erase_subject;
    audit_sequence_under_concurrency => sqlite_audit_sequence_under_concurrency, sqlite_pool_audit_sequence_under_concurrency, postgres_audit_sequence_under_concurrency;
    register_versions => sqlite_register_versions, sqlite_pool_register_versions, postgres_register_versions;
    register_versions_under_concurrency => sqlite_register_versions_under_concurrency, sqlite_pool_register_versions_under_concurrency, postgres_register_versions_under_concurrency;
    tokens_lifecycle => sqlite_tokens_lifecycle, sqlite_pool_tokens_lifecycle, postgres_tokens_lifecycle;
    accounts_lookup => sqlite_accounts_lookup, sqlite_pool_accounts_lookup, postgres_accounts_lookup;
    update_account_revisions => sqlite_update_account_revisions, sqlite_pool_update_account_revisions, postgres_update_account_revisions;
    totp_step_replay_guard => sqlite_totp_step_replay_guard, sqlite_pool_totp_step_replay_guard, postgres_totp_step_replay_guard;
    recovery_codes_single_use => sqlite_recovery_codes_single_use, sqlite_pool_recovery_codes_single_use, postgres_recovery_codes_single_use;
    sessions_lifecycle => sqlite_sessions_lifecycle, sqlite_pool_sessions_lifecycle, postgres_sessions_lifecycle;
    login_throttle => sqlite_login_throttle, sqlite_pool_login_throttle, postgres_login_throttle;
    restriction_flag => sqlite_restriction_flag, sqlite_pool_restriction_flag, postgres_restriction_flag;
    initialise_with_first_account => sqlite_initialise_with_first_account, sqlite_pool_initialise_with_first_account, postgres_initialise_with_first_account;
    requests_lifecycle => sqlite_requests_lifecycle, sqlite_pool_requests_lifecycle, postgres_requests_lifecycle;
    request_codes_single_use => sqlite_request_codes_single_use, sqlite_pool_request_codes_single_use, postgres_request_codes_single_use;
    request_exports => sqlite_request_exports, sqlite_pool_request_exports, postgres_request_exports;
    archive_and_objections => sqlite_archive_and_objections, sqlite_pool_archive_and_objections, postgres_archive_and_objections;
}

/// Makes the next audit append fail (`true`) by occupying the next sequence number behind the
/// store's back, or undoes that (`false`). Plain SQL both databases accept.
async fn block_next_audit_seq(pool: &AnyPool, block: bool) {
    let sql = if block {
        "INSERT INTO audit_events (seq, recorded_at, event) SELECT size, 0, $1 FROM audit_head WHERE id = 1"
    } else {
        "DELETE FROM audit_events WHERE seq = (SELECT size FROM audit_head WHERE id = 1) AND event = $1"
    };
    let done = sqlx::query(sql).bind(b"planted by the test".to_vec()).execute(pool).await.expect("sabotage SQL");
    assert_eq!(done.rows_affected(), 1, "the sabotage row was planted or removed");
}

async fn audit_failure_rolls_back(db: &TestDb) {
    let pool = db.store.pool().clone();
    suite::audit_failure_rolls_back(db.store.clone(), async |block| {
        block_next_audit_seq(&pool, block).await;
    })
    .await;
}

async fn access_audit_failure_rolls_back(db: &TestDb) {
    let pool = db.store.pool().clone();
    suite::access_audit_failure_rolls_back(db.store.clone(), async |block| {
        block_next_audit_seq(&pool, block).await;
    })
    .await;
}

#[tokio::test]
async fn sqlite_access_audit_failure_rolls_back() {
    access_audit_failure_rolls_back(&sqlite().await).await;
}

#[tokio::test]
async fn postgres_access_audit_failure_rolls_back() {
    let Some(db) = postgres().await else { return };
    access_audit_failure_rolls_back(&db).await;
}

#[tokio::test]
async fn sqlite_audit_failure_rolls_back() {
    audit_failure_rolls_back(&sqlite().await).await;
}

#[tokio::test]
async fn postgres_audit_failure_rolls_back() {
    let Some(db) = postgres().await else { return };
    audit_failure_rolls_back(&db).await;
}
