//! Test support shared by every crate's tests: a fresh, migrated store per test on SQLite (a
//! temporary directory) or PostgreSQL (a new database in the cluster named by
//! `KLUIS_TEST_DATABASE_URL`, which `scripts/test` starts). Also home of the storage conformance
//! suite (`suite`), which runs unchanged against both backends.

pub mod suite;

use std::path::{Path, PathBuf};

use kluis_store_sql::SqlStore;
use sqlx::Connection;

/// Environment variable naming the PostgreSQL cluster for tests.
pub const DATABASE_URL_VAR: &str = "KLUIS_TEST_DATABASE_URL";
/// Set to `1` to skip PostgreSQL tests deliberately (they fail without a cluster otherwise, so a
/// missing database can never pass silently).
pub const SKIP_POSTGRES_VAR: &str = "KLUIS_TEST_SKIP_POSTGRES";

/// Which database a test store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store and what it needs to stay alive.
#[derive(Debug)]
pub struct TestDb {
    pub store: SqlStore,
    pub backend: Backend,
    /// SQLite: the data directory holding the database file.
    pub dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the URL of the fresh database.
    pub url: Option<String>,
}

impl TestDb {
    /// The SQLite database file (SQLite only).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join(kluis_store_sqlite::DATABASE_FILE))
    }
}

/// A fresh SQLite store in a new temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store =
        kluis_store_sqlite::open(&dir.path().join(kluis_store_sqlite::DATABASE_FILE)).await.expect("open SQLite store");
    TestDb { store, backend: Backend::Sqlite, dir: Some(dir), url: None }
}

/// [`sqlite`] with the hot paths (reads, and the group-commit writer's creates, appends and
/// audited reads' events) on the sqlx pool instead of direct connections
/// (`kluis_store_sqlite::HotPaths::Pool`), so the suite holds both paths to the same behaviour.
pub async fn sqlite_pool() -> TestDb {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join(kluis_store_sqlite::DATABASE_FILE);
    let store =
        kluis_store_sqlite::open_with(&path, kluis_store_sqlite::HotPaths::Pool).await.expect("open SQLite store");
    TestDb { store, backend: Backend::Sqlite, dir: Some(dir), url: None }
}

/// The admin URL of the test cluster, or `None` when PostgreSQL tests are skipped on purpose.
///
/// # Panics
/// When neither the URL nor the skip variable is set: run the tests with `scripts/test`.
pub fn postgres_admin_url() -> Option<String> {
    if let Ok(url) = std::env::var(DATABASE_URL_VAR) {
        return Some(url);
    }
    if std::env::var(SKIP_POSTGRES_VAR).as_deref() == Ok("1") {
        eprintln!("PostgreSQL test skipped: {SKIP_POSTGRES_VAR}=1");
        return None;
    }
    panic!(
        "{DATABASE_URL_VAR} is not set. Run the tests with `scripts/test` (it starts a throw-away \
         PostgreSQL), or set {SKIP_POSTGRES_VAR}=1 to skip the PostgreSQL half deliberately."
    );
}

fn with_database(url: &str, database: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{database}"),
        None => format!("{url}/{database}"),
    }
}

/// A new, empty PostgreSQL database in the test cluster; returns its URL.
pub async fn fresh_postgres_url() -> Option<String> {
    let admin = postgres_admin_url()?;
    let now =
        u64::try_from(kluis_domain::time::Clock::now(&kluis_domain::time::SystemClock).as_millis() / 1000).unwrap_or(0);
    // The creation time is in the name, so later runs can drop what earlier runs left behind.
    let name = format!("kluis_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the PostgreSQL test cluster");
    drop_stale_databases(&mut conn, now).await;
    // The name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    conn.close().await.ok();
    Some(with_database(&admin, &name))
}

/// Test databases older than this are left over from earlier runs (a long dev cluster fills its
/// disk otherwise; CI throws its cluster away).
const STALE_AFTER_SECS: u64 = 3 * 60 * 60;

/// Drops the test databases an earlier run left: those named with a creation time older than
/// [`STALE_AFTER_SECS`], once per process. Databases still in use are skipped (no `FORCE`).
async fn drop_stale_databases(conn: &mut sqlx::PgConnection, now: u64) {
    static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Ok(names) =
        sqlx::query_scalar::<_, String>("SELECT datname FROM pg_database WHERE datname LIKE 'kluis_test_%'")
            .fetch_all(&mut *conn)
            .await
    else {
        return;
    };
    for name in names {
        let created = name
            .strip_prefix("kluis_test_")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(t, _)| t.parse::<u64>().ok());
        let stale = created.is_none_or(|t| now.saturating_sub(t) > STALE_AFTER_SECS);
        let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if stale && plain {
            // The name was checked to be a plain identifier from pg_database.
            let _ =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut *conn).await;
        }
    }
}

/// A fresh PostgreSQL store in a new database, or `None` when skipped on purpose.
pub async fn postgres() -> Option<TestDb> {
    let url = fresh_postgres_url().await?;
    let store = kluis_store_postgres::connect(&url, 8).await.expect("open PostgreSQL store");
    Some(TestDb { store, backend: Backend::Postgres, dir: None, url: Some(url) })
}

/// A fresh store of the given backend.
pub async fn fresh(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => Some(sqlite().await),
        Backend::Postgres => postgres().await,
    }
}

/// Every regular file below `dir`, recursively (for canary scans).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The forms in which a canary could leak: plain, hex (lower and upper), base64 (standard and
/// URL-safe, with and without padding).
pub fn canary_forms(canary: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let bytes = canary.as_bytes();
    let hex_lower = hex::encode(bytes);
    let mut forms = vec![bytes.to_vec(), hex_lower.to_uppercase().into_bytes(), hex_lower.into_bytes()];
    for encoded in [STANDARD.encode(bytes), URL_SAFE.encode(bytes)] {
        let trimmed = encoded.trim_end_matches('=').to_owned();
        forms.push(encoded.into_bytes());
        forms.push(trimmed.into_bytes());
    }
    forms
}

/// Positions where any form of `canary` occurs in `haystack` (for error messages: which form).
pub fn find_canary(haystack: &[u8], canary: &str) -> Option<usize> {
    canary_forms(canary)
        .iter()
        .filter(|f| !f.is_empty())
        .find_map(|form| haystack.windows(form.len()).position(|w| w == form.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_is_found_in_every_form() {
        let canary = "canary-42@example.nl";
        for form in canary_forms(canary) {
            let mut hay = b"xx".to_vec();
            hay.extend_from_slice(&form);
            hay.extend_from_slice(b"yy");
            assert_eq!(find_canary(&hay, canary), Some(2));
        }
        assert_eq!(find_canary(b"nothing here", canary), None);
    }

    #[test]
    fn database_name_replaces_the_path() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
    }
}
