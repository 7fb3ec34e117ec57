//! Reads on SQLite without the driver's worker thread (docs/ARCHITECTURE.md, "Direct reads on
//! SQLite").
//!
//! sqlx-sqlite runs every connection on a thread of its own and hands each statement, and each
//! row of its result, across a channel: a read of one subject costs several context switches, and
//! on a 2-core machine those were the largest share of an audited read's time
//! (docs/BENCHMARKS.md). [`DirectReads`] keeps read-only connections of the same database file,
//! driven by rusqlite in the calling thread: a point read (a token, a session, a subject, the
//! nodes of a proof) runs to completion where it is asked, a bulk read (a page of the audit log,
//! a subject's events) on tokio's blocking pool. The statements are the ones the pool path runs
//! (SQLite numbers `$1, $2, …` by first appearance, which [`query`] checks in debug builds), and
//! rows are read through [`Cols`], so the mapping code is shared with the pool path.
//!
//! Writes never go through here: the connections are opened read-only, and every write still
//! goes through the group-commit writer or a gated transaction on the pool. A read here sees the
//! last committed state, exactly as a read on another pooled connection does (WAL).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kluis_store::StoreError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Params as SqlParams, Row};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::backend;

/// Idle connections kept; more are opened when more threads read at once, and closed after.
const MAX_IDLE: usize = 8;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// How long a read waits for a lock before it fails. A reader of a WAL database normally never
/// waits; it can only while a connection recovers the WAL index, e.g. right after a crash.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The columns of a result row, by name, from either driver.
pub(crate) trait Cols {
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn opt_blob(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;

    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?.ok_or_else(|| null(col))
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?.ok_or_else(|| null(col))
    }
    fn blob(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.opt_blob(col)?.ok_or_else(|| null(col))
    }
}

fn null(col: &str) -> StoreError {
    StoreError::Corrupt(format!("{col} is NULL"))
}

impl Cols for AnyRow {
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get(col).map_err(|e| backend(&e))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(col).map_err(|e| backend(&e))
    }
    fn opt_blob(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.try_get(col).map_err(|e| backend(&e))
    }
}

/// Column types as sqlx-sqlite decodes them: text and blob are both bytes, so a column written
/// as one may be read as the other (the audit events are stored as text on SQLite).
impl Cols for Row<'_> {
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.get_ref(col).map_err(|e| sqlite_error(&e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                String::from_utf8(bytes.to_vec()).map(Some).map_err(|_| corrupt_type(col))
            }
            ValueRef::Integer(_) | ValueRef::Real(_) => Err(corrupt_type(col)),
        }
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.get_ref(col).map_err(|e| sqlite_error(&e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            _ => Err(corrupt_type(col)),
        }
    }
    fn opt_blob(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.get_ref(col).map_err(|e| sqlite_error(&e))? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Ok(Some(bytes.to_vec())),
            ValueRef::Integer(_) | ValueRef::Real(_) => Err(corrupt_type(col)),
        }
    }
}

fn corrupt_type(col: &str) -> StoreError {
    StoreError::Corrupt(format!("{col} has an unexpected type"))
}

/// A rusqlite error as a store error. Its text names statements, columns and SQLite's codes,
/// never a value.
pub(crate) fn sqlite_error(e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Runs `sql` with `params` and hands every row to `each`. `$n` parameters must appear in order
/// (SQLite numbers named parameters by first appearance; checked in debug builds).
pub(crate) fn query<P: SqlParams>(
    conn: &Connection,
    sql: &str,
    params: P,
    mut each: impl FnMut(&Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| sqlite_error(&e))?;
    debug_assert!(
        (1..=stmt.parameter_count()).all(|i| stmt.parameter_name(i).is_none_or(|name| name == format!("${i}"))),
        "parameters out of order in {sql}"
    );
    let mut rows = stmt.query(params).map_err(|e| sqlite_error(&e))?;
    while let Some(row) = rows.next().map_err(|e| sqlite_error(&e))? {
        each(row)?;
    }
    Ok(())
}

/// The first row of [`query`], mapped.
pub(crate) fn query_optional<P: SqlParams, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut found = None;
    query(conn, sql, params, |row| {
        if found.is_none() {
            found = Some(map(row)?);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Every row of [`query`], mapped.
pub(crate) fn query_all<P: SqlParams, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut all = Vec::new();
    query(conn, sql, params, |row| {
        all.push(map(row)?);
        Ok(())
    })?;
    Ok(all)
}

/// Read-only connections to one SQLite database file, driven in the calling thread.
pub struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for DirectReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReads").field("path", &self.path).finish_non_exhaustive()
    }
}

impl DirectReads {
    /// Opens the first connection (so a database that cannot be read fails here, not on the
    /// first request). The file must exist and be in WAL mode.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let first = Self::connect(path)?;
        Ok(DirectReads { path: path.to_owned(), idle: Mutex::new(vec![first]), closed: AtomicBool::new(false) })
    }

    fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
        // NO_MUTEX: a connection is used by one thread at a time (it is taken out of `idle`).
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // A sort or temporary index of a read stays in memory, not in a file in `/var/tmp`.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one) in this thread.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Backend("the store is closed".to_owned()));
        }
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => Self::connect(&self.path).map_err(|e| sqlite_error(&e))?,
        };
        let result = read(&conn);
        if !self.closed.load(Ordering::Acquire) {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        result
    }

    /// [`Self::read`] on tokio's blocking pool, for reads of many rows. A panic in `read`
    /// resumes in the caller, as it would had `read` run there.
    pub(crate) async fn read_blocking<R, F>(self: &Arc<Self>, read: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let this = Arc::clone(self);
        match tokio::task::spawn_blocking(move || this.read(read)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Backend(format!("direct read: {e}"))),
        }
    }

    /// Closes the idle connections; later reads fail. Reads under way finish.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> PathBuf {
        let path = dir.join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER, b TEXT, c BLOB);
             INSERT INTO t VALUES (1, 'één', x'00ff'), (2, NULL, NULL);",
        )
        .unwrap();
        path
    }

    #[test]
    fn reads_columns_by_name_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let reads = DirectReads::open(&database(dir.path())).unwrap();
        let rows = reads
            .read(|conn| {
                let mut out = Vec::new();
                query(conn, "SELECT a, b, c FROM t WHERE a >= $1 AND a <= $2 ORDER BY a", (1, 2), |row| {
                    out.push((row.int("a")?, row.opt_text("b")?, row.opt_blob("c")?));
                    Ok(())
                })?;
                Ok(out)
            })
            .unwrap();
        assert_eq!(rows, vec![(1, Some("één".to_owned()), Some(vec![0, 255])), (2, None, None)]);
        // Text is readable as bytes (as sqlx-sqlite decodes it); an integer is not.
        let bytes = reads.read(|conn| {
            let mut out = Vec::new();
            query(conn, "SELECT b FROM t WHERE a = $1", [1], |row| {
                out.push(row.blob("b")?);
                Ok(())
            })?;
            Ok(out)
        });
        assert_eq!(bytes.unwrap(), vec!["één".as_bytes().to_vec()]);
        let wrong = reads.read(|conn| query(conn, "SELECT a FROM t", [], |row| row.blob("a").map(drop)));
        assert!(matches!(wrong, Err(StoreError::Corrupt(_))), "{wrong:?}");
        let null = reads.read(|conn| query(conn, "SELECT b FROM t WHERE a = 2", [], |row| row.text("b").map(drop)));
        assert!(matches!(null, Err(StoreError::Corrupt(_))), "{null:?}");
        let write = reads.read(|conn| conn.execute("DELETE FROM t", []).map(drop).map_err(|e| sqlite_error(&e)));
        assert!(matches!(write, Err(StoreError::Backend(_))), "read-only: {write:?}");
        let temp = reads.read(|conn| query_optional(conn, "PRAGMA temp_store", [], |row| row.int("temp_store")));
        assert_eq!(temp.unwrap(), Some(2), "sorts stay in memory");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "parameters out of order")]
    fn parameters_out_of_order_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let reads = DirectReads::open(&database(dir.path())).unwrap();
        let _ = reads.read(|conn| query(conn, "SELECT a FROM t WHERE a = $2 OR a = $1", (1, 2), |_| Ok(())));
    }

    #[test]
    fn keeps_connections_and_fails_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let reads = DirectReads::open(&database(dir.path())).unwrap();
        // A read inside a read needs a second connection; both are kept for later.
        let n = reads
            .read(|outer| {
                let inner = reads.read(|conn| {
                    let mut n = 0;
                    query(conn, "SELECT a FROM t", [], |_| {
                        n += 1;
                        Ok(())
                    })?;
                    Ok(n)
                })?;
                query(outer, "SELECT a FROM t", [], |_| Ok(()))?;
                Ok(inner)
            })
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(reads.idle.lock().unwrap().len(), 2);
        reads.close();
        assert!(reads.idle.lock().unwrap().is_empty());
        assert!(matches!(reads.read(|_| Ok(())), Err(StoreError::Backend(_))));
    }
}
