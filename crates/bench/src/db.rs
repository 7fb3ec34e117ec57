//! The database under test (a fresh SQLite file with the production settings, or a fresh database
//! in a PostgreSQL cluster) and the raw-SQL baselines that run beside the store on the same pool.

use std::path::PathBuf;

use anyhow::Context as _;
use kluis_crypto::merkle::{Hash, NodeId};
use kluis_store_sql::{Params, SqlStore, values_sql};
use sqlx::{AssertSqlSafe, Connection as _};

/// Which database the store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store and what it needs to stay alive (and be cleaned up).
#[derive(Debug)]
pub struct BenchDb {
    pub store: SqlStore,
    pub backend: Backend,
    /// SQLite: the temporary directory (removed on drop) and the database file.
    _dir: Option<tempfile::TempDir>,
    pub path: Option<PathBuf>,
    /// PostgreSQL: the admin URL and the name of the fresh database, dropped at the end.
    postgres: Option<(String, String)>,
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// Creates a new database `kluis_bench_<uuid>` in the cluster of `admin_url` (as the conformance
/// suite's `fresh_postgres_url` does); returns its URL and its name.
pub async fn create_postgres_database(admin_url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("kluis_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.context("connect to the PostgreSQL cluster")?;
    // The name is ours (a UUID), not input.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await.ok();
    Ok((with_database(admin_url, &name), name))
}

/// Drops a database made by [`create_postgres_database`] (best effort: nothing may be connected).
pub async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut conn).await;
        conn.close().await.ok();
    }
}

/// The cluster's durability settings, as the reports name them: `fsync=…`, `synchronous_commit=…`.
pub async fn postgres_durability(url: &str) -> String {
    let show = |setting: &'static str| async move {
        let mut conn = sqlx::PgConnection::connect(url).await.ok()?;
        let row = sqlx::query(AssertSqlSafe(format!("SHOW {setting}"))).fetch_one(&mut conn).await.ok()?;
        conn.close().await.ok();
        sqlx::Row::try_get::<String, _>(&row, 0).ok()
    };
    format!(
        "`fsync={}`, `synchronous_commit={}`",
        show("fsync").await.unwrap_or_else(|| "?".into()),
        show("synchronous_commit").await.unwrap_or_else(|| "?".into())
    )
}

impl BenchDb {
    /// SQLite through `kluis_store_sqlite::open` (WAL, `synchronous=FULL`, as in production), in
    /// a new temporary directory below `parent` (default: the system temporary directory).
    pub async fn sqlite(parent: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new().prefix("kluis-bench.").tempdir_in(p)?,
            None => tempfile::Builder::new().prefix("kluis-bench.").tempdir()?,
        };
        let path = dir.path().join(kluis_store_sqlite::DATABASE_FILE);
        let store = kluis_store_sqlite::open(&path).await?;
        Ok(BenchDb { store, backend: Backend::Sqlite, _dir: Some(dir), path: Some(path), postgres: None })
    }

    /// A new database `kluis_bench_<uuid>` in the cluster of `admin_url` (as the conformance
    /// suite's `fresh_postgres_url` does), opened with `kluis_store_postgres::connect`.
    pub async fn postgres(admin_url: &str) -> anyhow::Result<Self> {
        let (url, name) = create_postgres_database(admin_url).await?;
        let store = kluis_store_postgres::connect(&url, 8).await?;
        Ok(BenchDb {
            store,
            backend: Backend::Postgres,
            _dir: None,
            path: None,
            postgres: Some((admin_url.to_owned(), name)),
        })
    }

    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// How durable the database is, as configured (named in the report).
    pub async fn durability(&self) -> String {
        let pool = self.store.pool();
        let show = |setting: &'static str| async move {
            let row = sqlx::query(AssertSqlSafe(format!("SHOW {setting}"))).fetch_one(pool).await.ok()?;
            sqlx::Row::try_get::<String, _>(&row, 0).ok()
        };
        match self.backend {
            Backend::Sqlite => "`kluis_store_sqlite::open`: WAL, `synchronous=FULL`, a temporary directory".to_owned(),
            Backend::Postgres => format!(
                "`kluis_store_postgres::connect`, a fresh database; cluster settings `fsync={}`, \
                 `synchronous_commit={}`",
                show("fsync").await.unwrap_or_else(|| "?".into()),
                show("synchronous_commit").await.unwrap_or_else(|| "?".into())
            ),
        }
    }

    /// Bytes on disk (SQLite: database + WAL; PostgreSQL: `pg_database_size`).
    pub async fn size_on_disk(&self) -> Option<u64> {
        if let (Some(path), Backend::Sqlite) = (&self.path, self.backend) {
            let wal = path.with_extension("db-wal");
            let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
            return Some(size(path) + size(&wal));
        }
        let row =
            sqlx::query("SELECT pg_database_size(current_database()) AS n").fetch_one(self.store.pool()).await.ok()?;
        let n: i64 = sqlx::Row::try_get(&row, "n").ok()?;
        u64::try_from(n).ok()
    }

    /// Closes the pool and drops the PostgreSQL database (the SQLite directory goes with `self`).
    pub async fn close(self) {
        self.store.close().await;
        if let Some((admin, name)) = &self.postgres {
            drop_postgres_database(admin, name).await;
        }
    }

    fn begin_write(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Creates the plain tables of the raw baselines: `{prefix}_events` shaped like
    /// `audit_events`, `{prefix}_nodes` shaped like `audit_nodes` (same key and index). With
    /// `subjects`, the events table also has the `subject` column and its index
    /// (`audit_events_by_subject`), as the store's has since the data-subject requests.
    pub async fn create_raw_tables(&self, prefix: &str, subjects: bool) -> anyhow::Result<()> {
        let (int, blob, strict, without_rowid) = match self.backend {
            Backend::Sqlite => ("INTEGER", "BLOB", " STRICT", ", WITHOUT ROWID"),
            Backend::Postgres => ("BIGINT", "BYTEA", "", ""),
        };
        let subject = if subjects { ", subject TEXT" } else { "" };
        let mut statements = vec![
            format!(
                "CREATE TABLE {prefix}_events (seq {int} PRIMARY KEY, recorded_at {int} NOT NULL, event {blob} NOT NULL\
                 {subject}){strict}"
            ),
            format!(
                "CREATE TABLE {prefix}_nodes (level {int} NOT NULL, idx {int} NOT NULL, completed_by {int} NOT NULL, \
                 hash {blob} NOT NULL, PRIMARY KEY (level, idx)){strict}{without_rowid}"
            ),
            format!("CREATE INDEX {prefix}_nodes_by_completion ON {prefix}_nodes (completed_by, level)"),
        ];
        if subjects {
            statements.push(format!(
                "CREATE INDEX {prefix}_events_by_subject ON {prefix}_events (subject, seq) WHERE subject IS NOT NULL"
            ));
        }
        for sql in statements {
            sqlx::query(AssertSqlSafe(sql)).execute(self.store.pool()).await?;
        }
        Ok(())
    }

    /// One durable transaction inserting the rows into the raw tables with the statement shape of
    /// `SqlStore::append_in` (multi-row inserts, by default of as many rows per statement as it uses): the store's append
    /// minus encoding, hashing, the head update and the frontier read. The events' subjects are
    /// inserted when the table has the column ([`Self::create_raw_tables`] with `subjects`).
    pub async fn raw_insert(
        &self,
        prefix: &str,
        subjects: bool,
        events: &[(i64, i64, Vec<u8>, Option<String>)],
        nodes: &[(NodeId, i64, Hash)],
        rows_per_statement: (usize, usize),
    ) -> anyhow::Result<()> {
        let mut tx = self.store.pool().begin_with(self.begin_write()).await?;
        let (columns, width) =
            if subjects { ("seq, recorded_at, event, subject", 4) } else { ("seq, recorded_at, event", 3) };
        for chunk in events.chunks(rows_per_statement.0) {
            let sql = values_sql(
                Params::of(&tx),
                &format!("INSERT INTO {prefix}_events ({columns}) VALUES "),
                width,
                chunk.len(),
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (seq, time, bytes, subject) in chunk {
                query = query.bind(*seq).bind(*time).bind(bytes.clone());
                if subjects {
                    query = query.bind(subject.clone());
                }
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in nodes.chunks(rows_per_statement.1) {
            let sql = values_sql(
                Params::of(&tx),
                &format!("INSERT INTO {prefix}_nodes (level, idx, completed_by, hash) VALUES "),
                4,
                chunk.len(),
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (id, completed_by, hash) in chunk {
                query = query
                    .bind(i64::from(id.level))
                    .bind(i64::try_from(id.index)?)
                    .bind(*completed_by)
                    .bind(hash.to_vec());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
    }
}
