//! The group-commit cases of the conformance suite (`suite::group_commit`), on SQLite and on
//! PostgreSQL, like `tests/conformance.rs`.

use kluis_store_conformance::{postgres, sqlite, suite::group_commit};

macro_rules! cases {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            let db = sqlite().await;
            group_commit::$case(db.store.clone()).await;
            drop(db);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            let Some(db) = postgres().await else { return };
            group_commit::$case(db.store.clone()).await;
            drop(db);
        }
    )*};
}

cases! {
    group_commit_concurrent_mix => sqlite_group_commit_concurrent_mix, postgres_group_commit_concurrent_mix;
    group_commit_panicking_jobs_stay_alone => sqlite_group_commit_panicking_jobs_stay_alone, postgres_group_commit_panicking_jobs_stay_alone;
    group_commit_reads_follow_log_order => sqlite_group_commit_reads_follow_log_order, postgres_group_commit_reads_follow_log_order;
    group_commit_tree_across_other_appends => sqlite_group_commit_tree_across_other_appends, postgres_group_commit_tree_across_other_appends;
    group_commit_creates_with_a_taken_id => sqlite_group_commit_creates_with_a_taken_id, postgres_group_commit_creates_with_a_taken_id;
}

/// Two stores on one database (two servers): see `group_commit::two_stores_on_one_database`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_stores_on_one_database() {
    let db = sqlite().await;
    let path = db.sqlite_path().expect("a SQLite database file");
    let second = kluis_store_sqlite::open(&path).await.expect("open the same database again");
    group_commit::two_stores_on_one_database(db.store.clone(), second.clone()).await;
    second.close().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_stores_on_one_database() {
    let Some(db) = postgres().await else { return };
    let url = db.url.clone().expect("the database's URL");
    let second = kluis_store_postgres::connect(&url, 8).await.expect("connect to the same database again");
    group_commit::two_stores_on_one_database(db.store.clone(), second.clone()).await;
    second.close().await;
    drop(db);
}

/// The writer's throughput through the port on SQLite, without HTTP (ignored: a probe, not a
/// test; `cargo test --release -p kluis-store-conformance --test group_commit -- --ignored
/// --nocapture`). Prints reads/s and creates/s with 32 concurrent callers and the mean batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a throughput probe, run by hand in release"]
async fn sqlite_throughput_probe() {
    let db = sqlite().await;
    let (reads, creates) = group_commit::throughput_probe(db.store.clone(), 32, 3.0).await;
    let stats = db.store.group_commit_stats();
    #[allow(clippy::cast_precision_loss)]
    let mean = stats.jobs as f64 / stats.batches.max(1) as f64;
    println!("sqlite: {reads:.0} reads/s, {creates:.0} creates/s; {stats:?}, {mean:.1} jobs per batch");
}
