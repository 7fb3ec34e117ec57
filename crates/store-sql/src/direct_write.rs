//! The group-commit writer's batches on SQLite without the driver's worker thread
//! (docs/ARCHITECTURE.md, "Direct writes on SQLite").
//!
//! sqlx-sqlite hands every statement to a thread of its own and back. A batch of the writer is
//! half a dozen statements or more (begin, the revision check, the log's head, events, nodes,
//! commit), and the hops made the writer's cycle long enough that, under load, both cores idled
//! while every request waited for it (docs/BENCHMARKS.md). So on SQLite the jobs of the hot paths
//! ([`Native`]: creates, appends of events, the events of checked reads) run on one read-write
//! rusqlite connection of the writer's own: the writer hands each batch of them to tokio's
//! blocking pool once, and the whole transaction runs there, from `BEGIN IMMEDIATE` to the
//! durable `COMMIT`. Every other job still runs on the writer's sqlx connection, in a transaction
//! of its own; both hold the same gate, so they never wait on each other's lock.
//!
//! The batch keeps the writer's rules: consecutive creates are inserted together in a savepoint
//! and, when that fails (a taken id), rolled back and inserted one by one, so only the failing one
//! gets the error; the revisions of checked reads are compared in the transaction that appends
//! their events; the events of all successful jobs are appended in job order; every job is
//! answered only after the commit, or with the error when the transaction fails. The statements
//! are the ones the sqlx path runs, one row per statement (prepared once, cached): without a hop
//! per statement there is nothing to save by packing rows into one, and a prepared statement is
//! not parsed again.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kluis_crypto::merkle::{self, TreeBuilder};
use kluis_domain::audit::AuditEvent;
use kluis_store::{NewSubject, StoreError};
use rusqlite::{Connection, OpenFlags, params};
use tokio::runtime::Handle;

use crate::direct::{Cols, query, sqlite_error};
use crate::jobs::{INDEX_CONFLICT, INSERT_INDEX, INSERT_SUBJECTS, INSERT_VALUES};
use crate::writer::{
    CHECK_CHUNK, Coming, Create, Events, Finish, Follow, Native, Stats, checked_ids, revisions_sql, settle, verdicts,
};
use crate::{
    AppendRows, Frontier, GROW_LOG, INSERT_EVENTS, INSERT_NODES, Params, SUBJECT_COLUMNS, SqlStore, corrupt,
    grown_from, values_sql,
};

/// Prepared statements cached on the writer's connection.
const STATEMENT_CACHE: usize = 32;
/// How long the writer waits for the database's write lock (held by another process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how the store's SQLite writer opens its direct connection.
pub struct DirectWrites {
    path: PathBuf,
    pragmas: &'static str,
}

impl std::fmt::Debug for DirectWrites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWrites").field("path", &self.path).finish_non_exhaustive()
    }
}

impl DirectWrites {
    /// Opens a connection once, so a database that cannot be written fails here, not in the first
    /// batch. `pragmas` are run on every connection the writer opens: the same settings as the
    /// store's pool (durability, foreign keys, secure delete). The file must exist and be in WAL
    /// mode.
    pub fn open(path: &Path, pragmas: &'static str) -> Result<Self, rusqlite::Error> {
        let writes = DirectWrites { path: path.to_owned(), pragmas };
        writes.connect()?;
        Ok(writes)
    }

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        // NO_MUTEX: the connection is used by one thread at a time (the writer's batch).
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch(self.pragmas)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

/// The writer task's direct connection (opened again after a failed transaction).
pub(crate) struct DirectWriter {
    config: Arc<DirectWrites>,
    conn: Option<Connection>,
}

impl DirectWriter {
    pub(crate) fn new(config: Arc<DirectWrites>) -> Self {
        DirectWriter { config, conn: None }
    }

    /// Runs the jobs as one transaction on the blocking pool and answers each after the commit.
    /// With `follow` (the writer's queue), it then goes on there with the native jobs queued
    /// since, batch after batch, while the queue holds them, for at most [`FOLLOW_RUNS`] batches
    /// and [`FOLLOW_HOLD`]: so under load the writer does not go back to the async runtime (busy
    /// with the requests) between batches. The queue comes back with the first message it did not
    /// run (another job or the close).
    ///
    /// A panic in a batch abandons it: its jobs are answered by their dropped replies, the
    /// connection is dropped with the transaction (rolled back), and the queue comes back.
    pub(crate) async fn run(
        &mut self,
        jobs: Vec<Native>,
        frontier: &mut Option<Frontier>,
        stats: &Arc<Stats>,
        follow: Option<Follow>,
    ) -> Option<Follow> {
        let mut conn = self.conn.take();
        let config = Arc::clone(&self.config);
        let mut known = frontier.take();
        let stats = Arc::clone(stats);
        let handle = Handle::current();
        let ran = tokio::task::spawn_blocking(move || {
            let mut follow = follow;
            let run = |jobs: Vec<Native>| {
                let batch = AssertUnwindSafe(|| one_batch(conn.take(), &config, &handle, known.take(), jobs, &stats));
                if let Ok((kept, after, committed)) = std::panic::catch_unwind(batch) {
                    conn = kept;
                    known = after;
                    committed
                } else {
                    tracing::error!("a direct write batch panicked; its jobs are abandoned");
                    false
                }
            };
            let next = || follow.as_mut().map_or_else(Vec::new, Follow::next_native);
            follow_on(jobs, FOLLOW_RUNS, FOLLOW_HOLD, run, next);
            (conn, known, follow)
        })
        .await;
        match ran {
            Ok((conn, after, follow)) => {
                self.conn = conn;
                *frontier = after;
                follow
            }
            // Not a panic (the closure catches its batches'): the runtime is shutting down.
            Err(e) => {
                tracing::error!(error = %e, "the direct writer's thread failed; the queue is closed");
                None
            }
        }
    }
}

/// Most batches the direct writer runs in one go from the writer's queue.
const FOLLOW_RUNS: usize = 32;
/// How long the direct writer goes on from the writer's queue: other writes wait for the gate
/// that long at most.
const FOLLOW_HOLD: Duration = Duration::from_millis(10);

/// Runs `first`, then batch after batch of what `next` takes, while `run` reports a commit, for at
/// most `runs` batches and `hold`: every batch `next` gives is run.
fn follow_on<T>(
    first: Vec<T>,
    runs: usize,
    hold: Duration,
    mut run: impl FnMut(Vec<T>) -> bool,
    mut next: impl FnMut() -> Vec<T>,
) {
    let start = Instant::now();
    let mut jobs = first;
    let mut ran = 0;
    loop {
        ran += 1;
        if !run(jobs) || ran >= runs || start.elapsed() >= hold {
            return;
        }
        jobs = next();
        if jobs.is_empty() {
            return;
        }
    }
}

/// One batch on the connection (opened when missing): the connection to keep, the frontier, and
/// whether the batch committed.
fn one_batch(
    conn: Option<Connection>,
    config: &DirectWrites,
    handle: &Handle,
    known: Option<Frontier>,
    jobs: Vec<Native>,
    stats: &Stats,
) -> (Option<Connection>, Option<Frontier>, bool) {
    let conn = match conn.map_or_else(|| config.connect(), Ok) {
        Ok(conn) => conn,
        Err(e) => {
            let error = sqlite_error(&e);
            for job in jobs {
                job.fail(&error);
            }
            return (None, known, false);
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    match run_batch(&conn, handle, known.as_ref(), jobs, &mut done) {
        Ok(after) => {
            tracing::trace!(jobs = done.len(), "group commit (direct)");
            stats.committed(done.len());
            for finish in done {
                finish(Ok(()));
            }
            (Some(conn), after.or(known), true)
        }
        Err(error) => {
            tracing::warn!(error = %error, jobs = done.len(), "group commit failed; the batch is rolled back");
            let kept = if conn.is_autocommit() || conn.execute_batch("ROLLBACK").is_ok() { Some(conn) } else { None };
            for finish in done {
                finish(Err(&error));
            }
            (kept, known, false)
        }
    }
}

/// Begins the transaction, runs the jobs, appends their events and commits; the frontier after
/// the append (`None`: nothing appended). On an error of the transaction itself the jobs not yet
/// run are answered with it and the caller rolls back and answers `done` with it.
fn run_batch(
    conn: &Connection,
    handle: &Handle,
    known: Option<&Frontier>,
    jobs: Vec<Native>,
    done: &mut Vec<Finish>,
) -> Result<Option<Frontier>, StoreError> {
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE") {
        for job in jobs {
            job.fail(&error);
        }
        return Err(error);
    }
    // In job order; a run of consecutive creates is inserted together.
    let mut pending = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter().peekable();
    while let Some(job) = jobs.next() {
        match job {
            Native::Create(first) => {
                let mut run = vec![first];
                while let Some(Native::Create(next)) = jobs.next_if(|job| matches!(job, Native::Create(_))) {
                    run.push(next);
                }
                if let Err(e) = run_creates(conn, run, done, &mut pending) {
                    for job in jobs {
                        job.fail(&e);
                    }
                    return Err(e);
                }
            }
            Native::Bring(bring) => {
                let (finish, events) = bring.done();
                done.push(finish);
                pending.push(events);
            }
        }
    }

    let wanted = checked_ids(&pending);
    let mut current = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(CHECK_CHUNK) {
        query(conn, &revisions_sql(chunk.len()), rusqlite::params_from_iter(chunk), |row| {
            current.insert(row.text("id")?, row.int("revision")?);
            Ok(())
        })?;
    }
    let valid = verdicts(&pending, &current);
    let mut events = Vec::new();
    for coming in settle(pending, valid) {
        match coming {
            Coming::Known(mut known) => events.append(&mut known),
            // A submitter that went away sends nothing and returns nothing.
            Coming::Later(rx) => events.append(&mut handle.block_on(rx).unwrap_or_default()),
        }
    }
    let after = if events.is_empty() { None } else { Some(append(conn, &events, known)?) };
    exec(conn, if after.is_none() && done.is_empty() { "ROLLBACK" } else { "COMMIT" })?;
    Ok(after)
}

fn exec(conn: &Connection, statement: &str) -> Result<(), StoreError> {
    conn.prepare_cached(statement).and_then(|mut s| s.execute([])).map(drop).map_err(|e| sqlite_error(&e))
}

/// A taken key as `Duplicate`, any other error as a backend error.
fn unique_or_sqlite(e: &rusqlite::Error) -> StoreError {
    match e.sqlite_error() {
        Some(f)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StoreError::Duplicate
        }
        _ => sqlite_error(e),
    }
}

/// Runs consecutive creates: their rows inserted together in one savepoint; when that fails,
/// rolled back and each inserted alone in its own (so a taken id fails only its own create). An
/// `Err` is an error of the transaction itself: the creates not yet answered are failed with it.
fn run_creates(
    conn: &Connection,
    creates: Vec<Create>,
    done: &mut Vec<Finish>,
    pending: &mut Vec<Events>,
) -> Result<(), StoreError> {
    let fail_all = |creates: Vec<Create>, e: &StoreError| {
        for create in creates {
            Native::Create(create).fail(e);
        }
    };
    let mut accept = |create: Create| {
        let (finish, events) = create.done();
        done.push(finish);
        pending.push(events);
    };
    if creates.len() > 1 {
        let subjects: Vec<&NewSubject> = creates.iter().flat_map(|c| &c.subjects).collect();
        match insert_in_savepoint(conn, &subjects) {
            Err(e) => {
                fail_all(creates, &e);
                return Err(e);
            }
            Ok(Ok(())) => {
                creates.into_iter().for_each(&mut accept);
                return Ok(());
            }
            Ok(Err(_)) => {}
        }
    }
    let mut creates = creates.into_iter();
    while let Some(create) = creates.next() {
        let subjects: Vec<&NewSubject> = create.subjects.iter().collect();
        match insert_in_savepoint(conn, &subjects) {
            Err(e) => {
                fail_all(std::iter::once(create).chain(creates).collect(), &e);
                return Err(e);
            }
            Ok(Ok(())) => accept(create),
            // It failed alone and changed nothing: its error is answered now.
            Ok(Err(e)) => Native::Create(create).fail(&e),
        }
    }
    Ok(())
}

/// Inserts subjects in a savepoint, rolled back to when the insert fails: the insert's outcome,
/// or (`Err`) an error of the transaction itself.
fn insert_in_savepoint(conn: &Connection, subjects: &[&NewSubject]) -> Result<Result<(), StoreError>, StoreError> {
    exec(conn, "SAVEPOINT kluis_job")?;
    let outcome = insert_subjects(conn, subjects);
    if outcome.is_err() {
        exec(conn, "ROLLBACK TO SAVEPOINT kluis_job")?;
    }
    exec(conn, "RELEASE SAVEPOINT kluis_job")?;
    Ok(outcome)
}

/// [`SqlStore::insert_subjects_in`] on the direct connection: each subject's row, values and
/// index entries (an entry already present is kept). A taken id is `Duplicate`.
fn insert_subjects(conn: &Connection, subjects: &[&NewSubject]) -> Result<(), StoreError> {
    let prepare = |sql: &str| conn.prepare_cached(sql).map_err(|e| sqlite_error(&e));
    let mut subject_rows = prepare(&values_sql(Params::Anonymous, INSERT_SUBJECTS, SUBJECT_COLUMNS, 1))?;
    let mut value_rows = prepare(&values_sql(Params::Anonymous, INSERT_VALUES, 4, 1))?;
    let mut index_rows = prepare(&(values_sql(Params::Anonymous, INSERT_INDEX, 3, 1) + INDEX_CONFLICT))?;
    for subject in subjects {
        let id = subject.id.to_string();
        let created = subject.created_at.as_millis();
        subject_rows
            .execute(params![
                id,
                subject.kind.as_str(),
                created,
                created,
                1_i64,
                i64::from(subject.data_key.key_version),
                i64::from(subject.data_key.kek_version),
                subject.data_key.wrapped.as_slice(),
            ])
            .map_err(|e| unique_or_sqlite(&e))?;
        for value in &subject.values {
            value_rows
                .execute(params![id, value.field.as_str(), i64::from(value.key_version), value.ciphertext.as_slice()])
                .map_err(|e| unique_or_sqlite(&e))?;
        }
        for entry in &subject.index {
            index_rows
                .execute(params![entry.index.as_str(), entry.digest.as_slice(), id])
                .map_err(|e| sqlite_error(&e))?;
        }
    }
    Ok(())
}

/// [`SqlStore::append_after`] on the direct connection.
fn append(conn: &Connection, events: &[AuditEvent], known: Option<&Frontier>) -> Result<Frontier, StoreError> {
    let n = i64::try_from(events.len()).map_err(|_| corrupt("audit batch"))?;
    let new_size: i64 = conn
        .prepare_cached(GROW_LOG)
        .and_then(|mut s| s.query_row([n], |row| row.get("size")))
        .map_err(|e| sqlite_error(&e))?;
    let old_size = grown_from(new_size, n)?;
    let tree = match known {
        Some(known) if known.size == old_size => TreeBuilder::from_frontier(old_size, &known.hashes),
        _ => TreeBuilder::from_frontier(old_size, &SqlStore::nodes_direct(conn, &merkle::frontier(old_size))?),
    }
    .map_err(|_| corrupt("audit frontier"))?;
    let rows = AppendRows::new(tree, old_size, events)?;
    let prepare = |sql: &str| conn.prepare_cached(sql).map_err(|e| sqlite_error(&e));
    let mut event_rows = prepare(&values_sql(Params::Anonymous, INSERT_EVENTS, 4, 1))?;
    for (seq, time, bytes, subject) in &rows.events {
        event_rows.execute(params![seq, time, bytes, subject]).map_err(|e| sqlite_error(&e))?;
    }
    let mut node_rows = prepare(&values_sql(Params::Anonymous, INSERT_NODES, 4, 1))?;
    for (level, index, completed_by, hash) in &rows.nodes {
        node_rows.execute(params![level, index, completed_by, hash.as_slice()]).map_err(|e| sqlite_error(&e))?;
    }
    Ok(rows.after)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every batch taken from the queue is run, in queue order; the run stops at the first
        /// batch that did not commit, at `runs` batches, or when the queue is empty, and leaves
        /// the rest queued.
        #[test]
        fn follow_on_runs_every_batch_it_takes(
            queued in 0_usize..200,
            chunk in 1_usize..40,
            runs in 1_usize..12,
            fail_at in proptest::option::of(0_usize..12),
        ) {
            let mut queue: VecDeque<usize> = (1..=queued).collect();
            let mut taken = vec![0];
            let mut ran = Vec::new();
            let mut batches = 0;
            follow_on(
                vec![0],
                runs,
                Duration::from_hours(1),
                |jobs: Vec<usize>| {
                    ran.extend(jobs);
                    batches += 1;
                    fail_at != Some(batches - 1)
                },
                || {
                    let n = chunk.min(queue.len());
                    let batch: Vec<usize> = queue.drain(..n).collect();
                    taken.extend(&batch);
                    batch
                },
            );
            prop_assert_eq!(&ran, &taken, "a batch taken from the queue was not run");
            prop_assert!(batches <= runs);
            let stopped_by_failure = fail_at.is_some_and(|f| f + 1 == batches);
            if !stopped_by_failure && batches < runs {
                prop_assert!(queue.is_empty(), "stopped early with jobs queued");
            }
            let expected: Vec<usize> = (0..ran.len()).collect();
            prop_assert_eq!(ran, expected, "in queue order");
        }
    }

    #[test]
    fn follow_on_stops_after_hold() {
        let mut batches = 0;
        follow_on(
            vec![()],
            usize::MAX,
            Duration::ZERO,
            |_| {
                batches += 1;
                true
            },
            || vec![()],
        );
        assert_eq!(batches, 1, "a zero hold runs the first batch only");
    }
}
