//! The one SQL implementation of the storage port, shared by the SQLite and PostgreSQL adapters.
//!
//! It runs on a sqlx `AnyPool`: the adapters open the pool with their own connection settings and
//! migrations and hand over a [`Dialect`] with the few statements that differ. The SQL below is
//! written once in the dialect both databases accept (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`), so there is no per-query branching and no duplicated query logic. On SQLite the
//! hot reads may also run on [`DirectReads`]: the same statements and row mapping, driven without
//! sqlx-sqlite's worker thread.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use kluis_crypto::merkle::{self, Hash, NodeId, TreeBuilder};
use kluis_domain::audit::AuditEvent;
use kluis_domain::{AccountId, RequestId, SubjectId, Timestamp, TokenId};
use kluis_store::{
    AccountRecord, ArchiveChange, AuditLogRecord, Counts, IndexEntry, KeyringRecord, NewSubject,
    RegisterVersionSummary, RequestCode, RequestRecord, SealedSecret, SessionRecord, Store, StoreError,
    StoredAuditEvent, StoredCheckpoint, StoredExport, StoredKek, StoredNode, StoredRegisterVersion, StoredUpload,
    StoredValue, SubjectChange, SubjectRecord, Throttle, TimelineEntry, TokenRecord, WrappedDataKey,
};
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub use sqlx::any::{AnyPoolOptions, install_default_drivers};

mod direct;
mod direct_write;
mod jobs;
mod writer;

pub use direct::DirectReads;
use direct::{Cols, query, query_all, query_optional};
pub use direct_write::DirectWrites;

pub use writer::GroupCommitStats;
use writer::{BoxFuture, WriteTx, Writer};

mod requests;

/// What differs between the databases, chosen once when the store is opened.
#[derive(Debug)]
pub struct Dialect {
    /// Backend name for logs and health output.
    pub name: &'static str,
    /// Statement that opens a transaction that will write. SQLite needs `BEGIN IMMEDIATE` so a
    /// reader never has to upgrade its lock (which fails instead of waiting).
    pub begin_write: &'static str,
    /// Whether `begin_write` already excludes every other writer until the commit (SQLite's
    /// `BEGIN IMMEDIATE` takes the database's write lock); if not (PostgreSQL), the group-commit
    /// writer takes the audit lock before it checks its reads.
    pub begin_write_is_exclusive: bool,
    /// Statement run after an erasure commits, best effort (SQLite: checkpoint and truncate the WAL
    /// so old page images of the erased rows do not linger in it).
    pub after_erase: Option<&'static str>,
    /// The events about one subject from a sequence number on, in order, packed into one row
    /// (`packed`: lines of `<seq> <event JSON>`, NULL when there are none); binds the subject,
    /// the first sequence number and the most events to return. One row instead of one per
    /// event: an access export reads thousands, and each row is a hop through the driver.
    /// (Direct reads on SQLite read the events row by row: there a row costs no hop.)
    pub subject_events: &'static str,
}

/// The SQL store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: &'static Dialect,
    /// Group commit: the hot write paths and audited reads run as jobs of this writer.
    writer: Arc<Writer>,
    /// SQLite only: read-only connections for the hot reads ([`SqlStore::with_direct_reads`]).
    direct: Option<Arc<DirectReads>>,
}

fn backend(e: &sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn u32_col(row: &impl Cols, col: &str) -> Result<u32, StoreError> {
    u32::try_from(row.int(col)?).map_err(|_| corrupt(col))
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| corrupt("integer out of range"))
}

/// The frontier of the audit log's Merkle tree at a size: the hashes of the complete subtrees
/// ([`merkle::frontier`]) from which the next leaves' nodes are computed.
#[derive(Debug, Clone)]
pub(crate) struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// Grows the audit log by `$1` events under its lock; returns the new size.
const GROW_LOG: &str = "UPDATE audit_head SET size = size + $1 WHERE id = 1 RETURNING size";
/// Multi-row insert of audit events (`values_sql`, 4 columns).
const INSERT_EVENTS: &str = "INSERT INTO audit_events (seq, recorded_at, event, subject) VALUES ";
/// Multi-row insert of Merkle nodes (`values_sql`, 4 columns).
const INSERT_NODES: &str = "INSERT INTO audit_nodes (level, idx, completed_by, hash) VALUES ";

/// The log's size before an append of `n` events, from its size after.
fn grown_from(new_size: i64, n: i64) -> Result<u64, StoreError> {
    u64::try_from(new_size - n).map_err(|_| corrupt("audit size"))
}

/// The rows an append of events writes, computed once for either driver.
pub(crate) struct AppendRows<'e> {
    /// seq, recorded_at, encoded event, subject.
    events: Vec<(i64, i64, Vec<u8>, Option<&'e str>)>,
    /// level, index, completed_by, hash.
    nodes: Vec<(i64, i64, i64, Hash)>,
    /// The frontier after the events.
    after: Frontier,
}

impl<'e> AppendRows<'e> {
    /// Numbers the events from `old_size` on and adds their leaves to `tree` (the tree of the
    /// first `old_size` events).
    fn new(mut tree: TreeBuilder, old_size: u64, events: &'e [AuditEvent]) -> Result<Self, StoreError> {
        let mut rows = Vec::with_capacity(events.len());
        let mut nodes = Vec::with_capacity(events.len() * 2);
        for (seq, event) in (old_size..).zip(events) {
            let bytes = event.encode(seq);
            let seq = to_i64(seq)?;
            for (id, hash) in tree.push(merkle::leaf_hash(&bytes)) {
                nodes.push((i64::from(id.level), to_i64(id.index)?, seq, hash));
            }
            rows.push((seq, event.time, bytes, event.subject.as_deref()));
        }
        let after = Frontier { size: tree.size(), hashes: tree.frontier_hashes().to_vec() };
        Ok(AppendRows { events: rows, nodes, after })
    }
}

/// Rows per multi-row INSERT of a bulk write (see `SqlStore::append_in` on why not more).
const ROWS_PER_INSERT: usize = 100;
/// Parameters per multi-row INSERT of a bulk write with wide rows (`subjects`: 8 columns).
const MAX_PARAMS: usize = 400;
/// Columns of a `subjects` row as a bulk create inserts it.
const SUBJECT_COLUMNS: usize = 8;

/// How a statement built at run time names its parameters. PostgreSQL needs `$1, $2, …`; SQLite
/// also takes anonymous `?`, bound in order, and sqlx-sqlite binds those without asking SQLite for
/// each parameter's name: `sqlite3_bind_parameter_name` scans the statement's list of named
/// parameters, which makes binding a `$n` statement quadratic in its parameters (15 % of a bulk
/// import's time at 400 parameters; docs/BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Params {
    /// `$1, $2, …`
    Numbered,
    /// `?, ?, …` in binding order.
    Anonymous,
}

impl Params {
    /// The cheaper form the connection's database accepts.
    pub fn of(conn: &AnyConnection) -> Params {
        if conn.backend_name() == "SQLite" { Params::Anonymous } else { Params::Numbered }
    }
}

/// `INSERT … VALUES ($1, $2), ($3, $4), …` (or `(?, ?), (?, ?), …`) for `rows` rows of `columns`
/// values.
pub fn values_sql(params: Params, prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::from(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            match params {
                Params::Numbered => {
                    sql.push('$');
                    sql.push_str(&(r * columns + c + 1).to_string());
                }
                Params::Anonymous => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

fn subject_id(text: &str) -> Result<SubjectId, StoreError> {
    text.parse().map_err(|_| corrupt("subject id"))
}

fn unique_or_backend(e: &sqlx::Error) -> StoreError {
    if is_unique_violation(e) { StoreError::Duplicate } else { backend(e) }
}

/// A 32-byte hash column.
fn hash_col(row: &impl Cols, col: &str) -> Result<[u8; 32], StoreError> {
    row.blob(col)?.try_into().map_err(|_| corrupt(col))
}

fn time_col(row: &impl Cols, col: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp(row.int(col)?))
}

fn opt_time_col(row: &impl Cols, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row.opt_int(col)?.map(Timestamp))
}

/// An audit event row (`seq`, `event`).
fn stored_event_from(row: &impl Cols) -> Result<StoredAuditEvent, StoreError> {
    Ok(StoredAuditEvent {
        seq: u64::try_from(row.int("seq")?).map_err(|_| corrupt("audit seq"))?,
        event: row.blob("event")?,
    })
}

/// Nodes asked for per statement.
const NODES_PER_QUERY: usize = 200;

/// `SELECT level, idx, hash FROM audit_nodes WHERE (level = $1 AND idx = $2) OR …` for `n` nodes.
fn nodes_sql(n: usize) -> String {
    let mut sql = String::from("SELECT level, idx, hash FROM audit_nodes WHERE ");
    for i in 0..n {
        if i > 0 {
            sql.push_str(" OR ");
        }
        let _ = write!(sql, "(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2);
    }
    sql
}

/// The `level` and `idx` columns of an `audit_nodes` row.
fn node_id_from(row: &impl Cols) -> Result<NodeId, StoreError> {
    Ok(NodeId {
        level: u32::try_from(row.int("level")?).map_err(|_| corrupt("audit node level"))?,
        index: u64::try_from(row.int("idx")?).map_err(|_| corrupt("audit node index"))?,
    })
}

/// A row of [`nodes_sql`].
fn node_from(row: &impl Cols) -> Result<(NodeId, Hash), StoreError> {
    Ok((node_id_from(row)?, row.blob("hash")?.try_into().map_err(|_| corrupt("audit node hash"))?))
}

/// A row of the nodes completed by a range of leaves.
fn stored_node_from(row: &impl Cols) -> Result<StoredNode, StoreError> {
    Ok(StoredNode {
        id: node_id_from(row)?,
        completed_by: u64::try_from(row.int("completed_by")?).map_err(|_| corrupt("audit node leaf"))?,
        // A stored hash of the wrong length is reported by the verifier as a mismatch.
        hash: row.blob("hash")?.try_into().unwrap_or([0; 32]),
    })
}

/// The hashes of `ids` in their order; a node not found is an error.
fn nodes_in_order(ids: &[NodeId], found: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, StoreError> {
    ids.iter()
        .map(|id| {
            found.get(id).copied().ok_or_else(|| corrupt(&format!("audit node {}/{} missing", id.level, id.index)))
        })
        .collect()
}

/// A list of strings as stored: a JSON array.
fn list_json(list: &[String]) -> String {
    // Serialising a slice of strings cannot fail.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

fn list_col(row: &impl Cols, col: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&row.text(col)?).map_err(|_| corrupt(col))
}

fn opt_list_col(row: &impl Cols, col: &str) -> Result<Option<Vec<String>>, StoreError> {
    row.opt_text(col)?.map(|t| serde_json::from_str(&t).map_err(|_| corrupt(col))).transpose()
}

/// A subject with its values in one statement (`s` the subject, `v` its values; a `LEFT JOIN`, so
/// a subject without values is one row), read by [`SqlStore::records_from`]. Followed by the
/// `WHERE` clause and an `ORDER BY` that keeps each subject's rows together.
macro_rules! subject_select {
    () => {
        "SELECT s.id, s.kind, s.created_at, s.updated_at, s.revision, s.restricted, s.archive_purpose, \
         s.archive_until, s.objections, s.key_version, s.kek_version, s.wrapped_key, v.field, \
         v.key_version AS value_key_version, v.ciphertext \
         FROM subjects s LEFT JOIN subject_values v ON v.subject_id = s.id "
    };
}
pub(crate) use subject_select;

/// One subject with its values.
const LOAD_SUBJECT: &str = concat!(subject_select!(), "WHERE s.id = $1 ORDER BY v.field");

/// The columns of a token, in the order [`SqlStore::token_from`] reads them by name.
macro_rules! token_select {
    () => {
        "SELECT id, name, hash, role, created_at, revoked_at, purposes, allowed_ips, expires_at FROM tokens "
    };
}

/// The columns of an account (everything but `totp_last_step`, which is not part of the record).
macro_rules! account_select {
    () => {
        "SELECT id, username, role, password_hash, totp_kek_version, totp_sealed, totp_confirmed_at, allowed_ips, \
         enrolment_hash, enrolment_expires_at, created_at, updated_at, disabled_at, revision FROM accounts "
    };
}

macro_rules! session_select {
    () => {
        "SELECT hash, account_id, created_at, last_seen_at, expires_at, revoked_at FROM sessions "
    };
}

/// Subject records built from the rows of a [`subject_select!`] query ordered by subject: one row
/// per value (the subject's columns repeated), or one row with NULL value columns for a subject
/// without values.
#[derive(Default)]
struct SubjectRows(Vec<SubjectRecord>);

impl SubjectRows {
    fn push(&mut self, row: &impl Cols) -> Result<(), StoreError> {
        let id = subject_id(&row.text("id")?)?;
        if self.0.last().is_none_or(|r| r.id != id) {
            self.0.push(SubjectRecord {
                id,
                kind: row.text("kind")?.parse().map_err(|_| corrupt("subject kind"))?,
                created_at: time_col(row, "created_at")?,
                updated_at: time_col(row, "updated_at")?,
                revision: row.int("revision")?,
                restricted: row.int("restricted")? != 0,
                archive: requests::archive_from(row)?,
                objections: list_col(row, "objections")?,
                data_key: WrappedDataKey {
                    key_version: u32_col(row, "key_version")?,
                    kek_version: u32_col(row, "kek_version")?,
                    wrapped: row.blob("wrapped_key")?,
                },
                values: Vec::new(),
            });
        }
        if let (Some(field), Some(record)) = (row.opt_text("field")?, self.0.last_mut()) {
            let (Some(key_version), Some(ciphertext)) =
                (row.opt_int("value_key_version")?, row.opt_blob("ciphertext")?)
            else {
                return Err(corrupt("subject value"));
            };
            record.values.push(StoredValue {
                field,
                key_version: u32::try_from(key_version).map_err(|_| corrupt("value_key_version"))?,
                ciphertext,
            });
        }
        Ok(())
    }
}

impl SqlStore {
    pub fn new(pool: AnyPool, dialect: &'static Dialect) -> Self {
        SqlStore { writer: Arc::new(Writer::new(pool.clone(), dialect)), pool, dialect, direct: None }
    }

    /// Serves the hot reads (tokens, sessions, subjects, audit events and nodes) from `reads`,
    /// read-only connections to the same SQLite database as the pool, instead of the pool.
    #[must_use]
    pub fn with_direct_reads(mut self, reads: DirectReads) -> Self {
        self.direct = Some(Arc::new(reads));
        self
    }

    /// SQLite: the group-commit writer runs the batches of the hot write paths (creates, appends,
    /// the events of audited reads) on its own direct connection (`crate::direct_write`). Call it
    /// when opening the store, before the first write.
    #[must_use]
    pub fn with_direct_writes(self, writes: DirectWrites) -> Self {
        self.writer.set_direct(writes);
        self
    }

    /// The pool, for adapter-level maintenance (migrations, tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// What the group-commit writer has done since the store was opened.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        self.writer.stats()
    }

    /// Drains the writer (every queued write still commits), then closes the direct connections
    /// and the pool.
    pub async fn close(&self) {
        self.writer.close().await;
        if let Some(direct) = &self.direct {
            direct.close();
        }
        self.pool.close().await;
    }

    /// A write transaction outside the group-commit writer: it waits for the writer's current
    /// batch (and any other such transaction of this process) and holds the writer off until it
    /// ends. So never call a method that goes through the writer while holding one: it would wait
    /// for a batch that waits for this transaction.
    async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        self.writer.begin().await
    }

    /// Appends events to the audit log inside `tx`, with the Merkle nodes each new leaf
    /// completes. Sequence numbers are dense and follow commit order: the single `audit_head` row
    /// is the lock that serialises appenders.
    async fn append_in(tx: &mut AnyConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        Self::append_after(tx, events, None).await.map(drop)
    }

    /// [`Self::append_in`] for a non-empty batch, given the frontier of a committed log when the
    /// caller knows one (the group-commit writer keeps the frontier its last commit left): it is
    /// used when the log still has that size, else the frontier is read from the nodes. A committed
    /// log of a given size has one frontier (the log only grows), so a frontier kept across
    /// transactions is never wrong for its size. Returns the frontier after these events, valid
    /// once they commit.
    pub(crate) async fn append_after(
        tx: &mut AnyConnection,
        events: &[AuditEvent],
        known: Option<&Frontier>,
    ) -> Result<Frontier, StoreError> {
        let n = i64::try_from(events.len()).map_err(|_| corrupt("audit batch"))?;
        let row = sqlx::query(GROW_LOG).bind(n).fetch_one(&mut *tx).await.map_err(|e| backend(&e))?;
        let old_size = grown_from(row.try_get("size").map_err(|e| backend(&e))?, n)?;
        let tree = match known {
            Some(known) if known.size == old_size => TreeBuilder::from_frontier(old_size, &known.hashes),
            _ => TreeBuilder::from_frontier(old_size, &Self::nodes_in(tx, &merkle::frontier(old_size)).await?),
        }
        .map_err(|_| corrupt("audit frontier"))?;
        let rows = AppendRows::new(tree, old_size, events)?;
        // Multi-row inserts of at most 100 rows. Not more: with `$n` parameters sqlx-sqlite looks
        // up every name with `sqlite3_bind_parameter_name`, a linear scan, so binding was quadratic
        // in the parameters of a statement (300 rows × 3 + 200 rows × 4 made it ~30 % of an
        // append; docs/BENCHMARKS.md). SQLite now gets anonymous `?` ([`Params`]), which avoids
        // the scan; PostgreSQL limits a statement to 65,535 parameters anyway.
        for chunk in rows.events.chunks(100) {
            let sql = values_sql(Params::of(tx), INSERT_EVENTS, 4, chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, time, bytes, subject) in chunk {
                query = query.bind(*seq).bind(*time).bind(bytes.as_slice()).bind(*subject);
            }
            query.execute(&mut *tx).await.map_err(|e| backend(&e))?;
        }
        for chunk in rows.nodes.chunks(100) {
            let sql = values_sql(Params::of(tx), INSERT_NODES, 4, chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (level, index, completed_by, hash) in chunk {
                query = query.bind(*level).bind(*index).bind(*completed_by).bind(hash.as_slice());
            }
            query.execute(&mut *tx).await.map_err(|e| backend(&e))?;
        }
        Ok(rows.after)
    }

    /// Hashes of the given nodes, in the order asked.
    async fn nodes_in(conn: &mut AnyConnection, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(NODES_PER_QUERY) {
            let sql = nodes_sql(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(i64::from(id.level)).bind(to_i64(id.index)?);
            }
            for row in query.fetch_all(&mut *conn).await.map_err(|e| backend(&e))? {
                let (id, hash) = node_from(&row)?;
                found.insert(id, hash);
            }
        }
        nodes_in_order(ids, &found)
    }

    /// [`Self::nodes_in`] on a direct connection.
    fn nodes_direct(conn: &rusqlite::Connection, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(NODES_PER_QUERY) {
            let mut params = Vec::with_capacity(2 * chunk.len());
            for id in chunk {
                params.extend([i64::from(id.level), to_i64(id.index)?]);
            }
            query(conn, &nodes_sql(chunk.len()), rusqlite::params_from_iter(params), |row| {
                let (id, hash) = node_from(row)?;
                found.insert(id, hash);
                Ok(())
            })?;
        }
        nodes_in_order(ids, &found)
    }

    fn checkpoint_from(row: &AnyRow) -> Result<StoredCheckpoint, StoreError> {
        let size: i64 = row.try_get("size").map_err(|e| backend(&e))?;
        let root: Vec<u8> = row.try_get("root").map_err(|e| backend(&e))?;
        Ok(StoredCheckpoint {
            size: u64::try_from(size).map_err(|_| corrupt("checkpoint size"))?,
            root: root.try_into().map_err(|_| corrupt("checkpoint root"))?,
            created_at: Timestamp(row.try_get("created_at").map_err(|e| backend(&e))?),
            note: row.try_get("note").map_err(|e| backend(&e))?,
        })
    }

    fn register_summary_from(row: &AnyRow) -> Result<RegisterVersionSummary, StoreError> {
        let version: i64 = row.try_get("version").map_err(|e| backend(&e))?;
        let sha256: Vec<u8> = row.try_get("sha256").map_err(|e| backend(&e))?;
        Ok(RegisterVersionSummary {
            version: u64::try_from(version).map_err(|_| corrupt("register version"))?,
            loaded_at: Timestamp(row.try_get("loaded_at").map_err(|e| backend(&e))?),
            sha256: sha256.try_into().map_err(|_| corrupt("register sha256"))?,
            loaded_by: row.try_get("loaded_by").map_err(|e| backend(&e))?,
        })
    }

    fn register_version_from(row: &AnyRow) -> Result<StoredRegisterVersion, StoreError> {
        let summary = Self::register_summary_from(row)?;
        Ok(StoredRegisterVersion {
            version: summary.version,
            loaded_at: summary.loaded_at,
            sha256: summary.sha256,
            source: row.try_get("source").map_err(|e| backend(&e))?,
            loaded_by: summary.loaded_by,
        })
    }

    async fn load_in(conn: &mut AnyConnection, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        let rows =
            sqlx::query(LOAD_SUBJECT).bind(id.to_string()).fetch_all(&mut *conn).await.map_err(|e| backend(&e))?;
        Ok(Self::records_from(&rows)?.pop())
    }

    /// Subject records from the rows of a [`subject_select!`] query ordered by subject.
    fn records_from(rows: &[AnyRow]) -> Result<Vec<SubjectRecord>, StoreError> {
        let mut records = SubjectRows::default();
        for row in rows {
            records.push(row)?;
        }
        Ok(records.0)
    }

    /// [`Self::load_in`] on a direct connection.
    fn load_direct(conn: &rusqlite::Connection, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        let mut records = SubjectRows::default();
        query(conn, LOAD_SUBJECT, [id.to_string()], |row| records.push(row))?;
        Ok(records.0.pop())
    }

    /// [`Self::find_in`] on a direct connection.
    fn find_direct(conn: &rusqlite::Connection, entry: &IndexEntry) -> Result<Vec<SubjectRecord>, StoreError> {
        let mut records = SubjectRows::default();
        query(conn, jobs::FIND_SUBJECTS, (&entry.index, &entry.digest), |row| records.push(row))?;
        Ok(records.0)
    }

    /// The subjects an index entry names as last committed, read outside the writer.
    async fn find_outside(&self, entry: &IndexEntry) -> Result<Vec<SubjectRecord>, StoreError> {
        if let Some(direct) = &self.direct {
            return direct.read(|conn| Self::find_direct(conn, entry));
        }
        let mut conn = self.pool.acquire().await.map_err(|e| backend(&e))?;
        Self::find_in(&mut conn, entry).await
    }

    fn token_from(row: &impl Cols) -> Result<TokenRecord, StoreError> {
        Ok(TokenRecord {
            id: row.text("id")?.parse::<TokenId>().map_err(|_| corrupt("token id"))?,
            name: row.text("name")?,
            hash: hash_col(row, "hash")?,
            role: row.text("role")?,
            created_at: time_col(row, "created_at")?,
            revoked_at: opt_time_col(row, "revoked_at")?,
            purposes: opt_list_col(row, "purposes")?,
            allowed_ips: list_col(row, "allowed_ips")?,
            expires_at: opt_time_col(row, "expires_at")?,
        })
    }

    async fn insert_token_in(conn: &mut AnyConnection, token: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (id, name, hash, role, created_at, revoked_at, purposes, allowed_ips, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token.id.to_string())
        .bind(&token.name)
        .bind(token.hash.to_vec())
        .bind(&token.role)
        .bind(token.created_at.as_millis())
        .bind(token.revoked_at.map(Timestamp::as_millis))
        .bind(token.purposes.as_deref().map(list_json))
        .bind(list_json(&token.allowed_ips))
        .bind(token.expires_at.map(Timestamp::as_millis))
        .execute(&mut *conn)
        .await
        .map_err(|e| unique_or_backend(&e))?;
        Ok(())
    }

    fn account_from(row: &AnyRow) -> Result<AccountRecord, StoreError> {
        let id: String = row.try_get("id").map_err(|e| backend(&e))?;
        let kek_version: Option<i64> = row.try_get("totp_kek_version").map_err(|e| backend(&e))?;
        let sealed: Option<Vec<u8>> = row.try_get("totp_sealed").map_err(|e| backend(&e))?;
        let totp_seed = match (kek_version, sealed) {
            (Some(v), Some(sealed)) => {
                Some(SealedSecret { kek_version: u32::try_from(v).map_err(|_| corrupt("totp_kek_version"))?, sealed })
            }
            (None, None) => None,
            _ => return Err(corrupt("account totp seed")),
        };
        let enrolment_hash: Option<Vec<u8>> = row.try_get("enrolment_hash").map_err(|e| backend(&e))?;
        Ok(AccountRecord {
            id: id.parse::<AccountId>().map_err(|_| corrupt("account id"))?,
            username: row.try_get("username").map_err(|e| backend(&e))?,
            role: row.try_get("role").map_err(|e| backend(&e))?,
            password_hash: row.try_get("password_hash").map_err(|e| backend(&e))?,
            totp_seed,
            totp_confirmed_at: opt_time_col(row, "totp_confirmed_at")?,
            allowed_ips: list_col(row, "allowed_ips")?,
            enrolment_hash: enrolment_hash.map(|h| h.try_into().map_err(|_| corrupt("enrolment_hash"))).transpose()?,
            enrolment_expires_at: opt_time_col(row, "enrolment_expires_at")?,
            created_at: time_col(row, "created_at")?,
            updated_at: time_col(row, "updated_at")?,
            disabled_at: opt_time_col(row, "disabled_at")?,
            revision: row.try_get("revision").map_err(|e| backend(&e))?,
        })
    }

    /// Inserts an account and its recovery codes. A taken id or username is `Duplicate`.
    async fn insert_account_in(
        conn: &mut AnyConnection,
        account: &AccountRecord,
        recovery_codes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        let id = account.id.to_string();
        sqlx::query(
            "INSERT INTO accounts (id, username, role, password_hash, totp_kek_version, totp_sealed, \
             totp_confirmed_at, totp_last_step, allowed_ips, enrolment_hash, enrolment_expires_at, created_at, \
             updated_at, disabled_at, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&account.username)
        .bind(&account.role)
        .bind(account.password_hash.as_deref())
        .bind(account.totp_seed.as_ref().map(|s| i64::from(s.kek_version)))
        .bind(account.totp_seed.as_ref().map(|s| s.sealed.clone()))
        .bind(account.totp_confirmed_at.map(Timestamp::as_millis))
        .bind(list_json(&account.allowed_ips))
        .bind(account.enrolment_hash.map(|h| h.to_vec()))
        .bind(account.enrolment_expires_at.map(Timestamp::as_millis))
        .bind(account.created_at.as_millis())
        .bind(account.updated_at.as_millis())
        .bind(account.disabled_at.map(Timestamp::as_millis))
        .bind(account.revision)
        .execute(&mut *conn)
        .await
        .map_err(|e| unique_or_backend(&e))?;
        Self::insert_codes_in(conn, &id, recovery_codes).await
    }

    async fn insert_codes_in(conn: &mut AnyConnection, account: &str, codes: &[[u8; 32]]) -> Result<(), StoreError> {
        for code in codes {
            sqlx::query(
                "INSERT INTO recovery_codes (account_id, hash, used_at) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(code.to_vec())
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        }
        Ok(())
    }

    fn session_from(row: &impl Cols) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            hash: hash_col(row, "hash")?,
            account: row.text("account_id")?.parse::<AccountId>().map_err(|_| corrupt("session account id"))?,
            created_at: time_col(row, "created_at")?,
            last_seen_at: time_col(row, "last_seen_at")?,
            expires_at: time_col(row, "expires_at")?,
            revoked_at: opt_time_col(row, "revoked_at")?,
        })
    }

    fn throttle_from(row: &AnyRow) -> Result<Throttle, StoreError> {
        Ok(Throttle { failures: u32_col(row, "failures")?, last_failure_at: time_col(row, "last_failure_at")? })
    }

    async fn insert_index(conn: &mut AnyConnection, id: &str, entries: &[IndexEntry]) -> Result<(), StoreError> {
        for entry in entries {
            sqlx::query(
                "INSERT INTO blind_index (index_name, digest, subject_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&entry.index)
            .bind(&entry.digest)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(|e| backend(&e))?;
        }
        Ok(())
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.dialect.name
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(|e| backend(&e))?;
        Ok(())
    }

    async fn keyring(&self) -> Result<Option<KeyringRecord>, StoreError> {
        let meta = sqlx::query("SELECT key, value FROM meta WHERE key IN ('root_fingerprint', 'index_key', 'audit_origin', 'audit_public_key')")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?;
        if meta.is_empty() {
            return Ok(None);
        }
        let mut fingerprint = None;
        let mut index_key = None;
        let mut origin = None;
        let mut public_key = None;
        for row in &meta {
            let key: String = row.try_get("key").map_err(|e| backend(&e))?;
            let value: Vec<u8> = row.try_get("value").map_err(|e| backend(&e))?;
            match key.as_str() {
                "root_fingerprint" => fingerprint = Some(value),
                "index_key" => index_key = Some(value),
                "audit_origin" => origin = Some(value),
                _ => public_key = Some(value),
            }
        }
        let audit = AuditLogRecord {
            origin: origin.and_then(|o| String::from_utf8(o).ok()).ok_or_else(|| corrupt("audit origin"))?,
            public_key: public_key.and_then(|k| k.try_into().ok()).ok_or_else(|| corrupt("audit public key"))?,
        };
        let root_fingerprint: [u8; 32] =
            fingerprint.and_then(|f| f.try_into().ok()).ok_or_else(|| corrupt("root fingerprint"))?;
        let index_key_wrapped = index_key.ok_or_else(|| corrupt("index key"))?;
        let keks = sqlx::query("SELECT version, wrapped, created_at FROM keks ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|row| {
                Ok(StoredKek {
                    version: u32_col(row, "version")?,
                    wrapped: row.try_get("wrapped").map_err(|e| backend(&e))?,
                    created_at: Timestamp(row.try_get("created_at").map_err(|e| backend(&e))?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(KeyringRecord { root_fingerprint, index_key_wrapped, keks, audit }))
    }

    async fn initialise(
        &self,
        keyring: &KeyringRecord,
        admin_token: &TokenRecord,
        first_account: Option<(&AccountRecord, &[[u8; 32]])>,
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM meta")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(|e| backend(&e))?;
        if existing > 0 {
            return Err(StoreError::AlreadyInitialised);
        }
        for (key, value) in [
            ("root_fingerprint", keyring.root_fingerprint.as_slice()),
            ("index_key", keyring.index_key_wrapped.as_slice()),
            ("audit_origin", keyring.audit.origin.as_bytes()),
            ("audit_public_key", keyring.audit.public_key.as_slice()),
        ] {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                .bind(key)
                .bind(value.to_vec())
                .execute(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::AlreadyInitialised } else { backend(&e) })?;
        }
        for kek in &keyring.keks {
            sqlx::query("INSERT INTO keks (version, wrapped, created_at) VALUES ($1, $2, $3)")
                .bind(i64::from(kek.version))
                .bind(&kek.wrapped)
                .bind(kek.created_at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
        }
        Self::insert_token_in(&mut tx, admin_token).await?;
        if let Some((account, codes)) = first_account {
            Self::insert_account_in(&mut tx, account, codes).await?;
        }
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        const SQL: &str = concat!(token_select!(), "WHERE hash = $1");
        if let Some(direct) = &self.direct {
            return direct.read(|conn| query_optional(conn, SQL, [&hash[..]], |row| Self::token_from(row)));
        }
        sqlx::query(SQL)
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::token_from)
            .transpose()
    }

    async fn create_subject(&self, subject: &NewSubject, audit: &AuditEvent) -> Result<(), StoreError> {
        self.writer.create(vec![subject.clone()], vec![audit.clone()]).await
    }

    async fn create_subjects(&self, subjects: &[NewSubject], audit: &[AuditEvent]) -> Result<(), StoreError> {
        if subjects.is_empty() && audit.is_empty() {
            return Ok(());
        }
        self.writer.create(subjects.to_vec(), audit.to_vec()).await
    }

    async fn load_subject(&self, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        if let Some(direct) = &self.direct {
            return direct.read(|conn| Self::load_direct(conn, id));
        }
        let mut conn = self.pool.acquire().await.map_err(|e| backend(&e))?;
        Self::load_in(&mut conn, id).await
    }

    async fn read_subject<F>(&self, id: SubjectId, mut audit: F) -> Result<Option<SubjectRecord>, StoreError>
    where
        F: FnMut(Option<&SubjectRecord>) -> AuditEvent + Send,
    {
        // Read on the pool, checked by the writer against the subject's revision in the batch
        // that commits the event, so the read and its event take one place in the log's order;
        // the record leaves only after the event is committed.
        let id_text = id.to_string();
        self.writer
            .checked_read(
                || self.load_subject(id),
                move |conn: &mut AnyConnection| -> BoxFuture<'_, _> { Box::pin(Self::load_in(conn, id)) },
                move |record: &Option<SubjectRecord>| vec![(id_text.clone(), record.as_ref().map(|r| r.revision))],
                |record: &Option<SubjectRecord>| vec![audit(record.as_ref())],
            )
            .await
    }

    async fn find_subjects<F>(&self, entry: &IndexEntry, mut audit: F) -> Result<Vec<SubjectRecord>, StoreError>
    where
        F: FnMut(&[SubjectRecord]) -> Vec<AuditEvent> + Send,
    {
        // As `read_subject`: the subjects found are checked at their revisions.
        let shared = Arc::new(entry.clone());
        self.writer
            .checked_read(
                || self.find_outside(entry),
                move |conn: &mut AnyConnection| -> BoxFuture<'_, _> {
                    let entry = Arc::clone(&shared);
                    Box::pin(async move { Self::find_in(conn, &entry).await })
                },
                |records: &Vec<SubjectRecord>| records.iter().map(|r| (r.id.to_string(), Some(r.revision))).collect(),
                |records: &Vec<SubjectRecord>| audit(records.as_slice()),
            )
            .await
    }

    async fn update_subject(&self, change: &SubjectChange, audit: &AuditEvent) -> Result<(), StoreError> {
        let (change, audit) = (change.clone(), audit.clone());
        self.writer
            .write(move |conn: &mut AnyConnection| -> BoxFuture<'_, _> {
                Box::pin(async move {
                    Self::update_subject_in(conn, &change).await?;
                    Ok(((), vec![audit]))
                })
            })
            .await
    }

    async fn erase_subject<F>(&self, id: SubjectId, erased_at: Timestamp, audit: F) -> Result<bool, StoreError>
    where
        F: FnOnce(bool) -> AuditEvent + Send,
    {
        let existed = self
            .writer
            .write_audited(
                move |conn: &mut AnyConnection| -> BoxFuture<'_, _> { Box::pin(Self::erase_in(conn, id, erased_at)) },
                |existed: &bool| vec![audit(*existed)],
            )
            .await?;
        if existed
            && let Some(statement) = self.dialect.after_erase
            && let Err(e) = sqlx::query(statement).execute(&self.pool).await
        {
            tracing::warn!(error = %e, "post-erasure maintenance failed; it is retried at the next erasure");
        }
        Ok(existed)
    }

    async fn is_erased(&self, id: SubjectId) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 AS one FROM erasures WHERE subject_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .is_some())
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.writer.append(events.to_vec()).await
    }

    async fn audit_events(&self, from: u64, limit: u32) -> Result<Vec<StoredAuditEvent>, StoreError> {
        const SQL: &str = "SELECT seq, event FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2";
        let from = to_i64(from)?;
        if let Some(direct) = &self.direct {
            return direct
                .read_blocking(move |conn| query_all(conn, SQL, (from, i64::from(limit)), |row| stored_event_from(row)))
                .await;
        }
        sqlx::query(SQL)
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(stored_event_from)
            .collect()
    }

    async fn audit_size(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT size FROM audit_head WHERE id = 1";
        let size = match &self.direct {
            Some(direct) => direct
                .read(|conn| query_optional(conn, SQL, [], |row| row.int("size")))?
                .ok_or_else(|| corrupt("audit head"))?,
            None => {
                sqlx::query(SQL).fetch_one(&self.pool).await.and_then(|r| r.try_get("size")).map_err(|e| backend(&e))?
            }
        };
        u64::try_from(size).map_err(|_| corrupt("audit size"))
    }

    async fn audit_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        if let Some(direct) = &self.direct {
            return direct.read(|conn| Self::nodes_direct(conn, ids));
        }
        let mut conn = self.pool.acquire().await.map_err(|e| backend(&e))?;
        Self::nodes_in(&mut conn, ids).await
    }

    async fn audit_nodes_completed_by(&self, first: u64, last: u64) -> Result<Vec<StoredNode>, StoreError> {
        const SQL: &str = "SELECT level, idx, completed_by, hash FROM audit_nodes \
            WHERE completed_by >= $1 AND completed_by <= $2 ORDER BY completed_by, level";
        let (first, last) = (to_i64(first)?, to_i64(last.min(i64::MAX as u64))?);
        if let Some(direct) = &self.direct {
            return direct
                .read_blocking(move |conn| query_all(conn, SQL, (first, last), |row| stored_node_from(row)))
                .await;
        }
        sqlx::query(SQL)
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(stored_node_from)
            .collect()
    }

    async fn checkpoint<F>(&self, now: Timestamp, sign: F) -> Result<StoredCheckpoint, StoreError>
    where
        F: FnOnce(u64, &Hash) -> Result<String, String> + Send,
    {
        let mut tx = self.begin_write().await?;
        // Touching the head row holds appenders off until this transaction ends.
        let size: i64 = sqlx::query("UPDATE audit_head SET size = size WHERE id = 1 RETURNING size")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get("size"))
            .map_err(|e| backend(&e))?;
        let size_u = u64::try_from(size).map_err(|_| corrupt("audit size"))?;
        if let Some(row) = sqlx::query("SELECT size, root, created_at, note FROM audit_checkpoints WHERE size = $1")
            .bind(size)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
        {
            return Self::checkpoint_from(&row);
        }
        let frontier = Self::nodes_in(&mut tx, &merkle::frontier(size_u)).await?;
        let root = if frontier.is_empty() { merkle::empty_root() } else { merkle::fold_range(&frontier) };
        let note = sign(size_u, &root).map_err(StoreError::Backend)?;
        sqlx::query("INSERT INTO audit_checkpoints (size, root, created_at, note) VALUES ($1, $2, $3, $4)")
            .bind(size)
            .bind(root.to_vec())
            .bind(now.as_millis())
            .bind(&note)
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(StoredCheckpoint { size: size_u, root, created_at: now, note })
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        sqlx::query("SELECT size, root, created_at, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::checkpoint_from)
            .transpose()
    }

    async fn checkpoints(&self, from_size: u64, limit: u32) -> Result<Vec<StoredCheckpoint>, StoreError> {
        sqlx::query(
            "SELECT size, root, created_at, note FROM audit_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
        )
        .bind(to_i64(from_size)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| backend(&e))?
        .iter()
        .map(Self::checkpoint_from)
        .collect()
    }

    async fn add_register_version<F>(
        &self,
        source: &str,
        sha256: &[u8; 32],
        loaded_at: Timestamp,
        loaded_by: &str,
        audit: F,
    ) -> Result<StoredRegisterVersion, StoreError>
    where
        F: FnOnce(u64) -> AuditEvent + Send,
    {
        let mut tx = self.begin_write().await?;
        // Take the audit append lock first: it serialises concurrent loads on PostgreSQL too, so
        // two loads never pick the same number (SQLite's BEGIN IMMEDIATE already does).
        sqlx::query("UPDATE audit_head SET size = size WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        let latest = sqlx::query(
            "SELECT version, loaded_at, sha256, source, loaded_by FROM register_versions ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| backend(&e))?
        .as_ref()
        .map(Self::register_version_from)
        .transpose()?;
        let version = match latest {
            // Unchanged: the transaction is rolled back, nothing is written or audited.
            Some(latest) if latest.sha256 == *sha256 => return Ok(latest),
            Some(latest) => latest.version + 1,
            None => 1,
        };
        sqlx::query(
            "INSERT INTO register_versions (version, loaded_at, sha256, source, loaded_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to_i64(version)?)
        .bind(loaded_at.as_millis())
        .bind(sha256.to_vec())
        .bind(source)
        .bind(loaded_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate } else { backend(&e) })?;
        let event = audit(version);
        Self::append_in(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(StoredRegisterVersion {
            version,
            loaded_at,
            sha256: *sha256,
            source: source.to_owned(),
            loaded_by: loaded_by.to_owned(),
        })
    }

    async fn register_version(&self, version: u64) -> Result<Option<StoredRegisterVersion>, StoreError> {
        let Ok(version) = i64::try_from(version) else { return Ok(None) };
        sqlx::query("SELECT version, loaded_at, sha256, source, loaded_by FROM register_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::register_version_from)
            .transpose()
    }

    async fn latest_register_version(&self) -> Result<Option<StoredRegisterVersion>, StoreError> {
        sqlx::query(
            "SELECT version, loaded_at, sha256, source, loaded_by FROM register_versions ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| backend(&e))?
        .as_ref()
        .map(Self::register_version_from)
        .transpose()
    }

    async fn register_versions(&self) -> Result<Vec<RegisterVersionSummary>, StoreError> {
        sqlx::query("SELECT version, loaded_at, sha256, loaded_by FROM register_versions ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(Self::register_summary_from)
            .collect()
    }

    async fn create_token(&self, token: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::insert_token_in(&mut tx, token).await?;
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        sqlx::query(concat!(token_select!(), "ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(Self::token_from)
            .collect()
    }

    async fn revoke_token<F>(&self, id: TokenId, now: Timestamp, audit: F) -> Result<bool, StoreError>
    where
        F: FnOnce(bool) -> AuditEvent + Send,
    {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected()
            > 0;
        let event = audit(revoked);
        Self::append_in(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(revoked)
    }

    async fn create_account(
        &self,
        account: &AccountRecord,
        recovery_codes: &[[u8; 32]],
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        Self::insert_account_in(&mut tx, account, recovery_codes).await?;
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        sqlx::query(concat!(account_select!(), "WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::account_from)
            .transpose()
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<AccountRecord>, StoreError> {
        sqlx::query(concat!(account_select!(), "WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::account_from)
            .transpose()
    }

    async fn account_by_enrolment(&self, hash: &[u8; 32]) -> Result<Option<AccountRecord>, StoreError> {
        sqlx::query(concat!(account_select!(), "WHERE enrolment_hash = $1"))
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::account_from)
            .transpose()
    }

    async fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        sqlx::query(concat!(account_select!(), "ORDER BY username"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(Self::account_from)
            .collect()
    }

    async fn update_account(
        &self,
        account: &AccountRecord,
        recovery_codes: Option<&[[u8; 32]]>,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let id = account.id.to_string();
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE accounts SET username = $1, role = $2, password_hash = $3, totp_kek_version = $4, \
             totp_sealed = $5, totp_confirmed_at = $6, allowed_ips = $7, enrolment_hash = $8, \
             enrolment_expires_at = $9, updated_at = $10, disabled_at = $11, revision = revision + 1 \
             WHERE id = $12 AND revision = $13",
        )
        .bind(&account.username)
        .bind(&account.role)
        .bind(account.password_hash.as_deref())
        .bind(account.totp_seed.as_ref().map(|s| i64::from(s.kek_version)))
        .bind(account.totp_seed.as_ref().map(|s| s.sealed.clone()))
        .bind(account.totp_confirmed_at.map(Timestamp::as_millis))
        .bind(list_json(&account.allowed_ips))
        .bind(account.enrolment_hash.map(|h| h.to_vec()))
        .bind(account.enrolment_expires_at.map(Timestamp::as_millis))
        .bind(account.updated_at.as_millis())
        .bind(account.disabled_at.map(Timestamp::as_millis))
        .bind(&id)
        .bind(account.revision)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_or_backend(&e))?;
        if updated.rows_affected() == 0 {
            // Gone or changed concurrently: the transaction is rolled back, nothing is audited.
            return Ok(false);
        }
        if let Some(codes) = recovery_codes {
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(|e| backend(&e))?;
            Self::insert_codes_in(&mut tx, &id, codes).await?;
        }
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(true)
    }

    async fn advance_totp_step(&self, id: AccountId, step: u64) -> Result<bool, StoreError> {
        let step = to_i64(step)?;
        let mut tx = self.begin_write().await?;
        // One conditional statement: of two concurrent logins with the same step one matches.
        let advanced = sqlx::query(
            "UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(advanced)
    }

    async fn recovery_codes(&self, id: AccountId) -> Result<Vec<[u8; 32]>, StoreError> {
        sqlx::query("SELECT hash FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL ORDER BY hash")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .iter()
            .map(|row| hash_col(row, "hash"))
            .collect()
    }

    async fn use_recovery_code(&self, id: AccountId, hash: &[u8; 32], now: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND hash = $3 AND used_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(id.to_string())
        .bind(hash.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(|e| backend(&e))?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(used)
    }

    async fn create_session(&self, session: &SessionRecord, audit: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (hash, account_id, created_at, last_seen_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.hash.to_vec())
        .bind(session.account.to_string())
        .bind(session.created_at.as_millis())
        .bind(session.last_seen_at.as_millis())
        .bind(session.expires_at.as_millis())
        .bind(session.revoked_at.map(Timestamp::as_millis))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_or_backend(&e))?;
        Self::append_in(&mut tx, audit).await?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = concat!(session_select!(), "WHERE hash = $1");
        if let Some(direct) = &self.direct {
            return direct.read(|conn| query_optional(conn, SQL, [&hash[..]], |row| Self::session_from(row)));
        }
        sqlx::query(SQL)
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::session_from)
            .transpose()
    }

    async fn touch_session(&self, hash: &[u8; 32], now: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(hash.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn revoke_session(&self, hash: &[u8; 32], now: Timestamp, audit: &AuditEvent) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(hash.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected()
            > 0;
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(revoked)
    }

    async fn revoke_sessions(&self, account: AccountId, now: Timestamp, audit: &AuditEvent) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(account.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?
            .rows_affected();
        Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(revoked)
    }

    async fn throttle(&self, key: &str) -> Result<Option<Throttle>, StoreError> {
        sqlx::query("SELECT failures, last_failure_at FROM login_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| backend(&e))?
            .as_ref()
            .map(Self::throttle_from)
            .transpose()
    }

    async fn throttle_failure(&self, key: &str, now: Timestamp) -> Result<Throttle, StoreError> {
        let mut tx = self.begin_write().await?;
        // One upsert: concurrent failures for the same key each count once.
        let row = sqlx::query(
            "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, \
             last_failure_at = excluded.last_failure_at RETURNING failures, last_failure_at",
        )
        .bind(key)
        .bind(now.as_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| backend(&e))?;
        let throttle = Self::throttle_from(&row)?;
        tx.commit().await.map_err(|e| backend(&e))?;
        Ok(throttle)
    }

    async fn throttle_reset(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(|e| backend(&e))?;
        tx.commit().await.map_err(|e| backend(&e))
    }

    async fn set_restricted<F>(
        &self,
        id: SubjectId,
        restricted: bool,
        now: Timestamp,
        audit: F,
    ) -> Result<bool, StoreError>
    where
        F: FnOnce(bool) -> AuditEvent + Send,
    {
        self.writer
            .write_audited(
                move |conn: &mut AnyConnection| -> BoxFuture<'_, _> {
                    Box::pin(Self::restrict_in(conn, id, restricted, now))
                },
                |existed: &bool| vec![audit(*existed)],
            )
            .await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM subjects) AS subjects, (SELECT COUNT(*) FROM subject_values) AS vals, \
             (SELECT COUNT(*) FROM blind_index) AS idx, (SELECT COUNT(*) FROM audit_events) AS audit, \
             (SELECT COUNT(*) FROM erasures) AS erasures",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| backend(&e))?;
        let get = |c: &str| -> Result<i64, StoreError> { row.try_get(c).map_err(|e| backend(&e)) };
        Ok(Counts {
            subjects: get("subjects")?,
            values: get("vals")?,
            index_entries: get("idx")?,
            audit_events: get("audit")?,
            erasures: get("erasures")?,
        })
    }

    async fn create_request(
        &self,
        request: &RequestRecord,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        self.create_request_impl(request, timeline, audit).await
    }

    async fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StoreError> {
        self.request_impl(id).await
    }

    async fn requests_of_subject(&self, subject: SubjectId) -> Result<Vec<RequestRecord>, StoreError> {
        self.requests_of_subject_impl(subject).await
    }

    async fn requests(&self, open_only: bool, limit: u32) -> Result<Vec<RequestRecord>, StoreError> {
        self.requests_impl(open_only, limit).await
    }

    async fn update_request(
        &self,
        request: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        self.update_request_impl(request, expected_revision, timeline, audit).await
    }

    async fn request_timeline(&self, id: RequestId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.request_timeline_impl(id).await
    }

    async fn put_request_code(&self, id: RequestId, code: &RequestCode) -> Result<(), StoreError> {
        self.put_request_code_impl(id, code).await
    }

    async fn request_code(&self, id: RequestId) -> Result<Option<RequestCode>, StoreError> {
        self.request_code_impl(id).await
    }

    async fn fail_request_code(&self, id: RequestId, max_attempts: u32) -> Result<Option<u32>, StoreError> {
        self.fail_request_code_impl(id, max_attempts).await
    }

    async fn take_request_code(&self, id: RequestId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        self.take_request_code_impl(id, hash).await
    }

    async fn put_upload(
        &self,
        id: RequestId,
        upload: &StoredUpload,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        self.put_upload_impl(id, upload, timeline, audit).await
    }

    async fn upload(&self, id: RequestId) -> Result<Option<StoredUpload>, StoreError> {
        self.upload_impl(id).await
    }

    async fn delete_upload(&self, id: RequestId) -> Result<bool, StoreError> {
        self.delete_upload_impl(id).await
    }

    async fn put_exports(
        &self,
        exports: &[StoredExport],
        request: &RequestRecord,
        expected_revision: i64,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        self.put_exports_impl(exports, request, expected_revision, timeline, audit).await
    }

    async fn exports_by_token(&self, token_hash: &[u8; 32]) -> Result<Vec<StoredExport>, StoreError> {
        self.exports_by_token_impl(token_hash).await
    }

    async fn subject_ids_by_index(&self, entry: &IndexEntry) -> Result<Vec<SubjectId>, StoreError> {
        self.subject_ids_by_index_impl(entry).await
    }

    async fn delete_expired_exports(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.delete_expired_exports_impl(now).await
    }

    async fn append_timeline(
        &self,
        id: RequestId,
        timeline: &[TimelineEntry],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        self.append_timeline_impl(id, timeline, audit).await
    }

    async fn archive_subject(&self, change: &ArchiveChange, audit: &[AuditEvent]) -> Result<bool, StoreError> {
        self.archive_subject_impl(change, audit).await
    }

    async fn add_objection(
        &self,
        id: SubjectId,
        purpose: &str,
        at: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        self.add_objection_impl(id, purpose, at, audit).await
    }

    async fn subject_events(
        &self,
        id: SubjectId,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        self.subject_events_impl(id, from_seq, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::{Params, values_sql};

    #[test]
    fn values_sql_numbers_or_leaves_anonymous_in_binding_order() {
        assert_eq!(
            values_sql(Params::Numbered, "INSERT INTO t (a, b) VALUES ", 2, 3),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
        assert_eq!(
            values_sql(Params::Anonymous, "INSERT INTO t (a, b) VALUES ", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(values_sql(Params::Numbered, "X ", 3, 1), "X ($1, $2, $3)");
        assert_eq!(values_sql(Params::Anonymous, "X ", 1, 0), "X ");
    }
}
