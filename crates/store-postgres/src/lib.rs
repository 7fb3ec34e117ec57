//! The PostgreSQL storage adapter: for several stateless kluis servers sharing one database.
//! Durability is PostgreSQL's default (`synchronous_commit = on`, `fsync = on`).

use std::time::Duration;

use kluis_store_sql::{AnyPoolOptions, Dialect, SqlStore, install_default_drivers};

static POSTGRES: Dialect = Dialect {
    name: "postgres",
    begin_write: "BEGIN",
    begin_write_is_exclusive: false,
    after_erase: None,
    subject_events: "SELECT string_agg(seq::text || ' ' || convert_from(event, 'UTF8'), E'\\n' ORDER BY seq) AS packed \
        FROM (SELECT seq, event FROM audit_events WHERE subject = $1 AND seq >= $2 ORDER BY seq LIMIT $3) AS e",
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be opened. The URL is never printed: it may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a PostgreSQL URL (expected postgres://user@host:port/database)")]
    NotPostgres,
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the PostgreSQL database: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects to `url` and applies pending migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<SqlStore, OpenError> {
    if !is_postgres_url(url) {
        return Err(OpenError::NotPostgres);
    }
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        // At least two: the store's group-commit writer keeps one connection for itself.
        .max_connections(max_connections.max(2))
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .map_err(OpenError::Connect)?;
    MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
    Ok(SqlStore::new(pool, &POSTGRES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_urls() {
        assert!(is_postgres_url("postgres://u@127.0.0.1:5432/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("sqlite://x"));
    }

    #[tokio::test]
    async fn refuses_other_urls_without_connecting() {
        assert!(matches!(connect("mysql://x", 1).await, Err(OpenError::NotPostgres)));
    }
}
