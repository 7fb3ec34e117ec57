//! Group commit: one writer task that runs the write jobs of concurrent requests in one
//! transaction and makes them durable with one commit (docs/ARCHITECTURE.md, "Group commit").
//!
//! A job is a closure over the writer's connection. The task takes the first queued job, drains
//! whatever else is queued (at most [`MAX_BATCH`]), begins one write transaction, runs each job in
//! its own savepoint (a failing or panicking job is rolled back to it and gets its error; the
//! others go on), appends the audit events of all successful jobs in job order with one
//! `append_after` (so sequence numbers stay dense and in commit order), commits once, and only then
//! answers every job. When the append or the commit fails, every job of the batch gets the error
//! and nothing of the batch is kept.
//!
//! On SQLite the jobs of the hot paths ([`Native`]: creates and jobs that only bring events) run
//! by the same rules on a direct rusqlite connection of the writer's, a batch at a time on the
//! blocking pool ([`crate::direct_write`]); the other jobs of a batch then form a transaction of
//! their own on the sqlx connection, run first.
//!
//! The writes that do not go through the writer take the same in-process gate
//! ([`Writer::begin`]) for their whole transaction, so on SQLite no writer of this process ever
//! waits on the database lock in SQLite's sleeping busy handler, and none is starved by batches.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::task::{Context, Poll};

use kluis_domain::audit::AuditEvent;
use kluis_store::{NewSubject, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

use crate::direct_write::{DirectWriter, DirectWrites};
use crate::{Dialect, Frontier, SqlStore, backend};

/// A boxed future borrowing the writer's connection.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most jobs in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Stale attempts of a checked read before it runs inside the writer.
const STALE_READS: usize = 3;
/// Subjects per revision check statement.
pub(crate) const CHECK_CHUNK: usize = 400;
/// Jobs waiting for the writer before submitters wait for room.
const QUEUE: usize = 4096;

/// The audit events a successful job adds to the batch.
pub(crate) enum Events {
    /// Known when the job ends.
    Ready(Vec<AuditEvent>),
    /// Computed by the submitter from what the job sent it (the audit closures of reads are not
    /// `'static`, so they run in the caller's task). Only for read-only jobs: a submitter that
    /// goes away sends nothing, and a read without its event returns nothing either.
    Pending(oneshot::Receiver<Vec<AuditEvent>>),
    /// A read made outside the writer, before the batch, with the events built from it: valid
    /// when every subject still has the revision it was read at (`None`: still absent), checked
    /// in the batch's transaction with the audit lock held. The writer says `true` on `go` and
    /// appends the events, or `false` and drops them (the read is stale and is made again).
    Checked { expect: Vec<(String, Option<i64>)>, go: oneshot::Sender<bool>, events: Vec<AuditEvent> },
}

/// How a job uses the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Writes: runs in its own savepoint.
    Write,
    /// Reads only: shares one savepoint with the other reads.
    Read,
    /// Runs no statement (it only brings events): no savepoint.
    Events,
}

/// A copy of a store error, for answering every job of a failed batch.
pub(crate) fn duplicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::AlreadyInitialised => StoreError::AlreadyInitialised,
        StoreError::NotFound(id) => StoreError::NotFound(*id),
        StoreError::Conflict(id) => StoreError::Conflict(*id),
        StoreError::Duplicate => StoreError::Duplicate,
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
        #[allow(unreachable_patterns)]
        other => StoreError::Backend(other.to_string()),
    }
}

fn abandoned() -> StoreError {
    StoreError::Backend("the write was abandoned: the writer stopped or the job panicked".to_owned())
}

/// Answers a job once the batch's outcome is known.
pub(crate) type Finish = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

trait Job: Send {
    fn mode(&self) -> Mode;
    /// Runs the job; `None` when it failed (its error is already sent).
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> BoxFuture<'_, Option<(Finish, Events)>>;
    /// Answers the job with an error without running it.
    fn fail(self: Box<Self>, error: &StoreError);
    /// A create job as such (its rows can be inserted together with those of the creates queued
    /// next to it); any other job back.
    fn into_create(self: Box<Self>) -> Result<Create, Box<dyn Job>>;
    /// A job the store's SQLite writer runs on its direct connection ([`crate::direct_write`]);
    /// any other job back.
    fn into_native(self: Box<Self>) -> Result<Native, Box<dyn Job>>;
}

/// The jobs of the hot paths, which need no connection of sqlx: they run on the direct
/// connection when the store has one.
pub(crate) enum Native {
    Create(Create),
    Bring(Bring),
}

impl Native {
    /// Answers the job with an error without running it.
    pub(crate) fn fail(self, error: &StoreError) {
        match self {
            Native::Create(job) => Box::new(job).fail(error),
            Native::Bring(job) => Box::new(job).fail(error),
        }
    }
}

/// A job that runs no statement and only brings events: an append of events
/// ([`Writer::append`]), or the event of a read made outside the writer ([`Writer::checked_read`]).
pub(crate) struct Bring {
    events: Events,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

impl Bring {
    /// Its answer once the batch's outcome is known, and its events.
    pub(crate) fn done(self) -> (Finish, Events) {
        let Bring { events, reply } = self;
        let finish: Finish = Box::new(move |outcome: Result<(), &StoreError>| {
            let _ = reply.send(outcome.map_err(duplicate));
        });
        (finish, events)
    }
}

impl Job for Bring {
    fn mode(&self) -> Mode {
        Mode::Events
    }

    fn run(self: Box<Self>, _conn: &mut AnyConnection) -> BoxFuture<'_, Option<(Finish, Events)>> {
        Box::pin(async move { Some(self.done()) })
    }

    fn fail(self: Box<Self>, error: &StoreError) {
        let _ = self.reply.send(Err(duplicate(error)));
    }

    fn into_create(self: Box<Self>) -> Result<Create, Box<dyn Job>> {
        Err(self)
    }

    fn into_native(self: Box<Self>) -> Result<Native, Box<dyn Job>> {
        Ok(Native::Bring(*self))
    }
}

/// New subjects and their events ([`Writer::create`]). A run of consecutive creates in a batch is
/// inserted with one set of multi-row inserts instead of one per job; when that fails (a taken id),
/// it is rolled back and each create runs alone, so only the failing one gets the error.
pub(crate) struct Create {
    pub(crate) subjects: Vec<NewSubject>,
    events: Vec<AuditEvent>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

impl Create {
    /// Its answer once the batch's outcome is known, and its events.
    pub(crate) fn done(self) -> (Finish, Events) {
        let Create { events, reply, .. } = self;
        let finish: Finish = Box::new(move |outcome: Result<(), &StoreError>| {
            let _ = reply.send(outcome.map_err(duplicate));
        });
        (finish, Events::Ready(events))
    }
}

impl Job for Create {
    fn mode(&self) -> Mode {
        Mode::Write
    }

    fn run(self: Box<Self>, conn: &mut AnyConnection) -> BoxFuture<'_, Option<(Finish, Events)>> {
        Box::pin(async move {
            let subjects: Vec<&NewSubject> = self.subjects.iter().collect();
            match SqlStore::insert_subjects_in(conn, &subjects).await {
                Ok(()) => Some(self.done()),
                Err(e) => {
                    let _ = self.reply.send(Err(e));
                    None
                }
            }
        })
    }

    fn fail(self: Box<Self>, error: &StoreError) {
        let _ = self.reply.send(Err(duplicate(error)));
    }

    fn into_create(self: Box<Self>) -> Result<Create, Box<dyn Job>> {
        Ok(*self)
    }

    fn into_native(self: Box<Self>) -> Result<Native, Box<dyn Job>> {
        Ok(Native::Create(*self))
    }
}

struct Typed<T, F> {
    mode: Mode,
    f: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(T, Events), StoreError>> + Send + 'static,
{
    fn mode(&self) -> Mode {
        self.mode
    }

    fn run(self: Box<Self>, conn: &mut AnyConnection) -> BoxFuture<'_, Option<(Finish, Events)>> {
        let Typed { f, reply, .. } = *self;
        Box::pin(async move {
            match f(conn).await {
                Ok((value, events)) => {
                    let finish: Finish = Box::new(move |outcome: Result<(), &StoreError>| {
                        let _ = reply.send(outcome.map(|()| value).map_err(duplicate));
                    });
                    Some((finish, events))
                }
                Err(e) => {
                    // A failed job changed nothing (it is rolled back to its savepoint), so its
                    // error may be answered before the batch commits.
                    let _ = reply.send(Err(e));
                    None
                }
            }
        })
    }

    fn fail(self: Box<Self>, error: &StoreError) {
        let _ = self.reply.send(Err(duplicate(error)));
    }

    fn into_create(self: Box<Self>) -> Result<Create, Box<dyn Job>> {
        Err(self)
    }

    fn into_native(self: Box<Self>) -> Result<Native, Box<dyn Job>> {
        Err(self)
    }
}

enum Msg {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// The writer's queue, lent to the direct writer so that it can go on with the native jobs
/// queued behind its batch ([`DirectWriter::run`]).
pub(crate) struct Follow {
    rx: mpsc::Receiver<Msg>,
    /// The first message taken that is not a native job: the writer's next batch starts with it.
    carried: Option<Msg>,
}

impl Follow {
    /// The native jobs queued now, in queue order, at most [`MAX_BATCH`]; none once a message
    /// that is not one was taken (it is kept, and everything behind it waits for the writer).
    pub(crate) fn next_native(&mut self) -> Vec<Native> {
        let mut jobs = Vec::new();
        if self.carried.is_none() {
            self.carried = drain(&mut self.rx, &mut jobs, Job::into_native);
        }
        jobs
    }
}

struct State {
    queue: Option<mpsc::Sender<Msg>>,
    closed: bool,
    /// SQLite: the direct connection's settings for the native jobs ([`crate::direct_write`]).
    direct: Option<Arc<DirectWrites>>,
}

/// The group-commit writer of one store (shared by its clones).
pub(crate) struct Writer {
    pool: AnyPool,
    dialect: &'static Dialect,
    /// Held by the writer for each batch and by every other write transaction of this process.
    gate: Arc<Mutex<()>>,
    state: StdMutex<State>,
    stats: Arc<Stats>,
}

/// Counters of the writer since the store was opened.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    batches: AtomicU64,
    jobs: AtomicU64,
}

impl Stats {
    /// Counts a committed batch of `jobs` successful jobs.
    pub(crate) fn committed(&self, jobs: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }
}

/// What the group-commit writer has done since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitStats {
    /// Transactions committed by the writer.
    pub batches: u64,
    /// Successful jobs in them.
    pub jobs: u64,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").field("dialect", &self.dialect.name).finish_non_exhaustive()
    }
}

/// A write transaction outside the writer, holding the gate until it ends. It dereferences to
/// the connection, like sqlx's `Transaction`.
pub(crate) struct WriteTx {
    // Declared first so it is dropped (rolled back) before the gate opens.
    tx: Transaction<'static, Any>,
    _gate: OwnedMutexGuard<()>,
}

impl fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteTx").finish_non_exhaustive()
    }
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Writer {
    pub(crate) fn new(pool: AnyPool, dialect: &'static Dialect) -> Self {
        Writer {
            pool,
            dialect,
            gate: Arc::new(Mutex::new(())),
            state: StdMutex::new(State { queue: None, closed: false, direct: None }),
            stats: Arc::default(),
        }
    }

    /// Runs the native jobs on direct connections opened with `writes` (from the next start of
    /// the writer task on: call it before the first job).
    pub(crate) fn set_direct(&self, writes: DirectWrites) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).direct = Some(Arc::new(writes));
    }

    pub(crate) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            batches: self.stats.batches.load(Ordering::Relaxed),
            jobs: self.stats.jobs.load(Ordering::Relaxed),
        }
    }

    /// Begins a write transaction outside the writer (after the current batch, if any).
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let gate = Arc::clone(&self.gate).lock_owned().await;
        let tx = self.pool.begin_with(self.dialect.begin_write).await.map_err(|e| backend(&e))?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// The queue of the writer task, started on the current runtime when there is none (or the
    /// runtime it ran on is gone).
    fn queue(&self) -> Result<mpsc::Sender<Msg>, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(StoreError::Backend("the store is closed".to_owned()));
        }
        if let Some(queue) = &state.queue
            && !queue.is_closed()
        {
            return Ok(queue.clone());
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Backend("the store's writer needs a tokio runtime".to_owned()))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(writer_task(
            self.pool.clone(),
            self.dialect,
            Arc::clone(&self.gate),
            Arc::clone(&self.stats),
            state.direct.clone().map(DirectWriter::new),
            rx,
        ));
        state.queue = Some(tx.clone());
        Ok(tx)
    }

    /// Queues a job; the receiver answers after the batch holding it has committed (or at once
    /// with the job's own error).
    pub(crate) async fn submit<T, F>(
        &self,
        mode: Mode,
        f: F,
    ) -> Result<oneshot::Receiver<Result<T, StoreError>>, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(T, Events), StoreError>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue()?;
        queue.send(Msg::Job(Box::new(Typed { mode, f, reply }))).await.map_err(|_| abandoned())?;
        Ok(answer)
    }

    /// Waits for a submitted job's answer.
    pub(crate) async fn answer<T>(answer: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
        answer.await.unwrap_or_else(|_| Err(abandoned()))
    }

    /// Runs a write job whose events are known when it ends; answers after the commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(T, Vec<AuditEvent>), StoreError>>
            + Send
            + 'static,
    {
        let answer = self
            .submit(Mode::Write, move |conn: &mut AnyConnection| -> BoxFuture<'_, Result<(T, Events), StoreError>> {
                Box::pin(async move {
                    let (value, events) = f(conn).await?;
                    Ok((value, Events::Ready(events)))
                })
            })
            .await?;
        Self::answer(answer).await
    }

    /// Queues a job that only brings events; the receiver answers after the batch holding them
    /// has committed.
    async fn bring(&self, events: Events) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue()?;
        queue.send(Msg::Job(Box::new(Bring { events, reply }))).await.map_err(|_| abandoned())?;
        Ok(answer)
    }

    /// Appends audit events; answers after the commit.
    pub(crate) async fn append(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        Self::answer(self.bring(Events::Ready(events)).await?).await
    }

    /// Inserts new subjects (values, index entries) and appends their events; answers after the
    /// commit. A taken id is `Duplicate` and leaves nothing.
    pub(crate) async fn create(&self, subjects: Vec<NewSubject>, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue()?;
        queue.send(Msg::Job(Box::new(Create { subjects, events, reply }))).await.map_err(|_| abandoned())?;
        Self::answer(answer).await
    }

    /// An audited read: `read` runs inside the writer's transaction and hands its result to this
    /// task, which builds the audit events from it (`audit` need not be `'static`); the result is
    /// returned only after the batch holding those events has committed.
    pub(crate) async fn audited_read<R, F, A>(&self, read: F, audit: A) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<R, StoreError>> + Send + 'static,
        A: FnOnce(&R) -> Vec<AuditEvent> + Send,
    {
        let (result_tx, result_rx) = oneshot::channel();
        let (events_tx, events_rx) = oneshot::channel();
        let answer = self
            .submit(Mode::Read, move |conn: &mut AnyConnection| -> BoxFuture<'_, Result<((), Events), StoreError>> {
                Box::pin(async move {
                    let result = read(conn).await?;
                    let _ = result_tx.send(result);
                    Ok(((), Events::Pending(events_rx)))
                })
            })
            .await?;
        let Ok(result) = result_rx.await else {
            // The job failed: its answer holds the error.
            return Err(Self::answer(answer).await.err().unwrap_or_else(abandoned));
        };
        let _ = events_tx.send(audit(&result));
        Self::answer(answer).await?;
        Ok(result)
    }

    /// An audited read made outside the writer, concurrently with its batches: `outside` reads
    /// the last committed state (on the pool, or on SQLite's direct connections), `revisions`
    /// names the subjects it saw with their revisions and `audit` builds its events; the writer
    /// checks the revisions in its transaction (one query per batch) and appends the events only
    /// when they still hold; the result is returned after the commit. A stale read (a subject
    /// changed, appeared or went in between) is made again, and `audit` called again for it (the
    /// events of its last call are the ones committed); after a few stale attempts the read runs
    /// inside the writer instead (`read` on its connection, [`Writer::audited_read`]), where it
    /// cannot be stale. The events are built before the batch, so the writer never waits for
    /// them.
    pub(crate) async fn checked_read<R, O, OF, F, P, A>(
        &self,
        outside: O,
        read: F,
        revisions: P,
        audit: A,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        O: Fn() -> OF + Send + Sync,
        OF: Future<Output = Result<R, StoreError>> + Send,
        F: for<'c> Fn(&'c mut AnyConnection) -> BoxFuture<'c, Result<R, StoreError>> + Send + Sync + 'static,
        P: Fn(&R) -> Vec<(String, Option<i64>)> + Send + Sync,
        A: FnMut(&R) -> Vec<AuditEvent> + Send,
    {
        let mut audit = audit;
        for _ in 0..STALE_READS {
            let result = outside().await?;
            let expect = revisions(&result);
            let events = audit(&result);
            let (go_tx, go) = oneshot::channel();
            let answer = self.bring(Events::Checked { expect, go: go_tx, events }).await?;
            match go.await {
                Ok(true) => {
                    Self::answer(answer).await?;
                    return Ok(result);
                }
                Ok(false) => {}
                Err(_) => return Err(Self::answer(answer).await.err().unwrap_or_else(abandoned)),
            }
        }
        self.audited_read(move |conn: &mut AnyConnection| -> BoxFuture<'_, Result<R, StoreError>> { read(conn) }, audit)
            .await
    }

    /// A write whose audit events depend on its outcome: `change` runs inside the writer's
    /// transaction, `audit` (which need not be `'static`) builds the events from its outcome in
    /// this task while the job waits, and the outcome is returned after the commit. When this task
    /// goes away before sending the events, the change is rolled back.
    pub(crate) async fn write_audited<V, F, A>(&self, change: F, audit: A) -> Result<V, StoreError>
    where
        V: Clone + Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<V, StoreError>> + Send + 'static,
        A: FnOnce(&V) -> Vec<AuditEvent> + Send,
    {
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let (events_tx, events_rx) = oneshot::channel::<Vec<AuditEvent>>();
        let answer = self
            .submit(Mode::Write, move |conn: &mut AnyConnection| -> BoxFuture<'_, Result<(V, Events), StoreError>> {
                Box::pin(async move {
                    let outcome = change(conn).await?;
                    let _ = outcome_tx.send(outcome.clone());
                    let events = events_rx.await.map_err(|_| abandoned())?;
                    Ok((outcome, Events::Ready(events)))
                })
            })
            .await?;
        let Ok(outcome) = outcome_rx.await else {
            return Err(Self::answer(answer).await.err().unwrap_or_else(abandoned));
        };
        let _ = events_tx.send(audit(&outcome));
        Self::answer(answer).await
    }

    /// Stops taking jobs, runs and commits every job already queued, and ends the writer task.
    pub(crate) async fn close(&self) {
        let queue = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.closed = true;
            state.queue.take()
        };
        if let Some(queue) = queue {
            let (done, finished) = oneshot::channel();
            if queue.send(Msg::Close(done)).await.is_ok() {
                let _ = finished.await;
            }
        }
    }
}

async fn writer_task(
    pool: AnyPool,
    dialect: &'static Dialect,
    gate: Arc<Mutex<()>>,
    stats: Arc<Stats>,
    mut direct: Option<DirectWriter>,
    rx: mpsc::Receiver<Msg>,
) {
    let mut conn: Option<PoolConnection<Any>> = None;
    // The frontier the last committed batch left: saves reading it back from the nodes while no
    // other write transaction appended in between.
    let mut frontier: Option<Frontier> = None;
    let mut closing = None;
    // The queue; lent to the direct writer during its batches (and lost only if its thread fails).
    let mut queue = Some(Follow { rx, carried: None });
    while let Some(q) = queue.as_mut() {
        let first = match q.carried.take() {
            Some(msg) => msg,
            None => match q.rx.recv().await {
                Some(msg) => msg,
                None => break,
            },
        };
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        match first {
            Msg::Job(job) => batch.push(job),
            Msg::Close(done) => closing = Some(done),
        }
        if closing.is_none() {
            closing = drain_all(&mut q.rx, &mut batch);
        }
        if !batch.is_empty() {
            let _gate = gate.lock().await;
            // Whatever arrived while another write transaction held the gate joins this batch.
            if closing.is_none() {
                closing = drain_all(&mut q.rx, &mut batch);
            }
            let follow = if closing.is_none() { queue.take() } else { None };
            let back =
                run_split(&pool, dialect, &stats, &mut conn, &mut frontier, direct.as_mut(), batch, follow).await;
            if closing.is_none() {
                queue = back;
            }
        }
        if closing.is_some() {
            // Drain: no new jobs are accepted, every queued one still runs.
            let mut rest: Vec<Box<dyn Job>> = Vec::new();
            if let Some(Follow { mut rx, .. }) = queue.take() {
                rx.close();
                while let Some(msg) = rx.recv().await {
                    match msg {
                        Msg::Job(job) => rest.push(job),
                        Msg::Close(_) => {}
                    }
                }
            }
            for chunk in chunk_jobs(rest) {
                let _gate = gate.lock().await;
                run_split(&pool, dialect, &stats, &mut conn, &mut frontier, direct.as_mut(), chunk, None).await;
            }
            break;
        }
    }
    if let Some(conn) = conn {
        let _ = conn.close().await;
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Takes the queued jobs `accept` takes into `out`, in queue order, until `out` holds
/// [`MAX_BATCH`] or the queue is empty; the message it stopped at instead (a job `accept` gave
/// back, or the close) is returned, not lost.
fn drain<T>(
    rx: &mut mpsc::Receiver<Msg>,
    out: &mut Vec<T>,
    accept: impl Fn(Box<dyn Job>) -> Result<T, Box<dyn Job>>,
) -> Option<Msg> {
    while out.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(Msg::Job(job)) => match accept(job) {
                Ok(taken) => out.push(taken),
                Err(job) => return Some(Msg::Job(job)),
            },
            Ok(close @ Msg::Close(_)) => return Some(close),
            Err(_) => break,
        }
    }
    None
}

/// Takes every queued job into the batch, up to [`MAX_BATCH`]; the close, when it came.
fn drain_all(rx: &mut mpsc::Receiver<Msg>, batch: &mut Vec<Box<dyn Job>>) -> Option<oneshot::Sender<()>> {
    match drain(rx, batch, Ok) {
        Some(Msg::Close(done)) => Some(done),
        // `Ok` takes every job: only the close stops it.
        Some(Msg::Job(job)) => {
            batch.push(job);
            None
        }
        None => None,
    }
}

fn chunk_jobs(mut jobs: Vec<Box<dyn Job>>) -> Vec<Vec<Box<dyn Job>>> {
    let mut chunks = Vec::new();
    while !jobs.is_empty() {
        let rest = jobs.split_off(jobs.len().min(MAX_BATCH));
        chunks.push(std::mem::replace(&mut jobs, rest));
    }
    chunks
}

/// Runs a batch: on SQLite with a direct connection, the native jobs there and the others on the
/// sqlx connection, as two transactions (the others first); else all on the sqlx connection. The
/// queue (`follow`) is lent to the direct writer, which may go on with the native jobs queued
/// behind the batch; it comes back.
#[allow(clippy::too_many_arguments)]
async fn run_split(
    pool: &AnyPool,
    dialect: &'static Dialect,
    stats: &Arc<Stats>,
    slot: &mut Option<PoolConnection<Any>>,
    frontier: &mut Option<Frontier>,
    direct: Option<&mut DirectWriter>,
    batch: Vec<Box<dyn Job>>,
    follow: Option<Follow>,
) -> Option<Follow> {
    let Some(direct) = direct else {
        run_batch(pool, dialect, stats, slot, frontier, batch).await;
        return follow;
    };
    let mut native = Vec::with_capacity(batch.len());
    let mut other = Vec::new();
    for job in batch {
        match job.into_native() {
            Ok(job) => native.push(job),
            Err(job) => other.push(job),
        }
    }
    if !other.is_empty() {
        run_batch(pool, dialect, stats, slot, frontier, other).await;
    }
    if native.is_empty() {
        return follow;
    }
    direct.run(native, frontier, stats, follow).await
}

async fn exec(conn: &mut AnyConnection, statement: &'static str) -> Result<(), StoreError> {
    sqlx::raw_sql(statement).execute(conn).await.map(|_| ()).map_err(|e| backend(&e))
}

/// Runs one batch in one transaction on the writer's connection (opened when missing; closed
/// after any failure of the transaction itself, so a broken connection is never reused).
async fn run_batch(
    pool: &AnyPool,
    dialect: &'static Dialect,
    stats: &Stats,
    slot: &mut Option<PoolConnection<Any>>,
    frontier: &mut Option<Frontier>,
    batch: Vec<Box<dyn Job>>,
) {
    if slot.is_none() {
        match pool.acquire().await {
            Ok(conn) => *slot = Some(conn),
            Err(e) => {
                let error = backend(&e);
                for job in batch {
                    job.fail(&error);
                }
                return;
            }
        }
    }
    let Some(conn) = slot.as_mut() else { return };
    let conn: &mut AnyConnection = conn;
    let mut done: Vec<Finish> = Vec::with_capacity(batch.len());
    let outcome = run_jobs(conn, dialect, batch, &mut done).await;
    let outcome = match outcome {
        Ok(events) if events.is_empty() && done.is_empty() => exec(conn, "ROLLBACK").await.map(|()| None),
        Ok(events) if events.is_empty() => exec(conn, "COMMIT").await.map(|()| None),
        Ok(events) => match SqlStore::append_after(conn, &events, frontier.as_ref()).await {
            Ok(after) => exec(conn, "COMMIT").await.map(|()| Some(after)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(after) => {
            if after.is_some() {
                *frontier = after;
            }
            tracing::trace!(jobs = done.len(), "group commit");
            stats.committed(done.len());
            for finish in done {
                finish(Ok(()));
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, jobs = done.len(), "group commit failed; the batch is rolled back");
            if exec(conn, "ROLLBACK").await.is_err()
                && let Some(conn) = slot.take()
            {
                let _ = conn.close().await;
            }
            for finish in done {
                finish(Err(&error));
            }
        }
    }
}

/// Begins the transaction and runs every job in it; the events of the successful jobs, in job
/// order. On an error of the transaction itself the jobs not yet run are answered with it.
async fn run_jobs(
    conn: &mut AnyConnection,
    dialect: &'static Dialect,
    batch: Vec<Box<dyn Job>>,
    done: &mut Vec<Finish>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut jobs: VecDeque<Box<dyn Job>> = batch.into();
    if let Err(e) = exec(conn, dialect.begin_write).await {
        for job in jobs {
            job.fail(&e);
        }
        return Err(e);
    }
    let mut pending: Vec<Events> = Vec::new();
    // Read-only jobs share one savepoint (they change nothing; it only lets PostgreSQL go on
    // after a failed statement); a writing job has its own.
    let mut read_savepoint = false;
    while let Some(job) = jobs.pop_front() {
        let outcome = match job.into_create() {
            Ok(first) => {
                // The creates queued right after it run with it.
                let mut run = vec![first];
                while let Some(next) = jobs.pop_front() {
                    match next.into_create() {
                        Ok(create) => run.push(create),
                        Err(other) => {
                            jobs.push_front(other);
                            break;
                        }
                    }
                }
                run_creates(conn, run, &mut read_savepoint, done, &mut pending).await
            }
            Err(job) => run_job(conn, job, &mut read_savepoint, done, &mut pending).await,
        };
        if let Err(e) = outcome {
            for job in jobs {
                job.fail(&e);
            }
            return Err(e);
        }
    }
    let checked = check_revisions(conn, dialect, &pending).await?;
    let mut events = Vec::new();
    for coming in settle(pending, checked) {
        match coming {
            Coming::Known(mut known) => events.append(&mut known),
            // A submitter that went away sends nothing and returns nothing.
            Coming::Later(rx) => events.append(&mut rx.await.unwrap_or_default()),
        }
    }
    Ok(events)
}

/// The events of a job in a batch: known, or still to come from its submitter.
pub(crate) enum Coming {
    Known(Vec<AuditEvent>),
    Later(oneshot::Receiver<Vec<AuditEvent>>),
}

/// Sends each checked read its verdict (`valid`, in the order of `pending`) and returns the
/// events to append, in job order: a stale read's events are dropped.
pub(crate) fn settle(pending: Vec<Events>, valid: Vec<bool>) -> Vec<Coming> {
    let mut coming = Vec::with_capacity(pending.len());
    for (p, valid) in pending.into_iter().zip(valid) {
        match p {
            Events::Checked { go, events, .. } => {
                let _ = go.send(valid);
                if valid {
                    coming.push(Coming::Known(events));
                }
            }
            Events::Ready(events) => coming.push(Coming::Known(events)),
            Events::Pending(rx) => coming.push(Coming::Later(rx)),
        }
    }
    coming
}

/// Opens the savepoint a job of `mode` runs in (see [`run_jobs`]).
async fn savepoint_for(conn: &mut AnyConnection, mode: Mode, read_savepoint: &mut bool) -> Result<(), StoreError> {
    if mode == Mode::Events {
        Ok(())
    } else if mode != Mode::Write {
        if *read_savepoint {
            Ok(())
        } else {
            *read_savepoint = true;
            exec(conn, "SAVEPOINT kluis_reads").await
        }
    } else if *read_savepoint {
        *read_savepoint = false;
        exec(conn, "RELEASE SAVEPOINT kluis_reads").await?;
        exec(conn, "SAVEPOINT kluis_job").await
    } else {
        exec(conn, "SAVEPOINT kluis_job").await
    }
}

/// Runs one job in its savepoint; an `Err` is an error of the transaction itself (the job is
/// answered with it).
async fn run_job(
    conn: &mut AnyConnection,
    job: Box<dyn Job>,
    read_savepoint: &mut bool,
    done: &mut Vec<Finish>,
    pending: &mut Vec<Events>,
) -> Result<(), StoreError> {
    let mode = job.mode();
    if let Err(e) = savepoint_for(conn, mode, read_savepoint).await {
        job.fail(&e);
        return Err(e);
    }
    let read_only = mode != Mode::Write;
    match (CatchUnwind(job.run(conn)).await, read_only) {
        (Ok(Some((finish, events))), _) => {
            done.push(finish);
            pending.push(events);
            if read_only { Ok(()) } else { exec(conn, "RELEASE SAVEPOINT kluis_job").await }
        }
        (Ok(None) | Err(()), true) if mode == Mode::Events => Ok(()),
        (Ok(None) | Err(()), true) => exec(conn, "ROLLBACK TO SAVEPOINT kluis_reads").await,
        (Ok(None) | Err(()), false) => {
            exec(conn, "ROLLBACK TO SAVEPOINT kluis_job").await?;
            exec(conn, "RELEASE SAVEPOINT kluis_job").await
        }
    }
}

/// Runs consecutive create jobs: their rows inserted together in one savepoint; when that fails,
/// rolled back and each run alone (so a taken id fails only its own create). A lone create simply
/// runs alone.
async fn run_creates(
    conn: &mut AnyConnection,
    mut creates: Vec<Create>,
    read_savepoint: &mut bool,
    done: &mut Vec<Finish>,
    pending: &mut Vec<Events>,
) -> Result<(), StoreError> {
    if creates.len() == 1
        && let Some(create) = creates.pop()
    {
        return run_job(conn, Box::new(create), read_savepoint, done, pending).await;
    }
    if let Err(e) = savepoint_for(conn, Mode::Write, read_savepoint).await {
        for create in creates {
            Box::new(create).fail(&e);
        }
        return Err(e);
    }
    let subjects: Vec<&NewSubject> = creates.iter().flat_map(|c| &c.subjects).collect();
    let together = SqlStore::insert_subjects_in(conn, &subjects).await;
    let settled = match together {
        Ok(()) => exec(conn, "RELEASE SAVEPOINT kluis_job").await,
        Err(_) => match exec(conn, "ROLLBACK TO SAVEPOINT kluis_job").await {
            Ok(()) => exec(conn, "RELEASE SAVEPOINT kluis_job").await,
            Err(e) => Err(e),
        },
    };
    if let Err(e) = settled {
        for create in creates {
            Box::new(create).fail(&e);
        }
        return Err(e);
    }
    if together.is_ok() {
        for create in creates {
            let (finish, events) = create.done();
            done.push(finish);
            pending.push(events);
        }
        return Ok(());
    }
    let mut creates = creates.into_iter();
    while let Some(create) = creates.next() {
        if let Err(e) = run_job(conn, Box::new(create), read_savepoint, done, pending).await {
            for create in creates {
                Box::new(create).fail(&e);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Whether each checked read is still valid (`true` for the other jobs). Takes the audit lock
/// first, so on PostgreSQL no other appender can commit a change between the check and this
/// batch's events (on SQLite the write lock `begin_write` took already ensures that, so the
/// statement is saved there).
async fn check_revisions(
    conn: &mut AnyConnection,
    dialect: &Dialect,
    pending: &[Events],
) -> Result<Vec<bool>, StoreError> {
    let wanted = checked_ids(pending);
    if wanted.is_empty() {
        return Ok(vec![true; pending.len()]);
    }
    if !dialect.begin_write_is_exclusive {
        exec(conn, "UPDATE audit_head SET size = size WHERE id = 1").await?;
    }
    let mut current: HashMap<String, i64> = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(CHECK_CHUNK) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(revisions_sql(chunk.len())));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await.map_err(|e| backend(&e))? {
            let id: String = row.try_get("id").map_err(|e| backend(&e))?;
            let revision: i64 = row.try_get("revision").map_err(|e| backend(&e))?;
            current.insert(id, revision);
        }
    }
    Ok(verdicts(pending, &current))
}

/// The subjects the checked reads among `pending` saw.
pub(crate) fn checked_ids(pending: &[Events]) -> Vec<&str> {
    pending
        .iter()
        .filter_map(|p| match p {
            Events::Checked { expect, .. } => Some(expect.iter().map(|(id, _)| id.as_str())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The current revisions of `n` subjects (`id`, `revision`), bound by id.
pub(crate) fn revisions_sql(n: usize) -> String {
    let mut sql = String::from("SELECT id, revision FROM subjects WHERE id IN (");
    for i in 1..=n {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push(')');
    sql
}

/// Whether each pending job's read is still valid, given the current revisions (absent: gone).
pub(crate) fn verdicts(pending: &[Events], current: &HashMap<String, i64>) -> Vec<bool> {
    pending
        .iter()
        .map(|p| match p {
            Events::Checked { expect, .. } => expect.iter().all(|(id, revision)| current.get(id) == revision.as_ref()),
            _ => true,
        })
        .collect()
}

/// Catches a panic of a job's future, so a panicking job fails alone and the writer goes on.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => {
                tracing::error!("a write job panicked; it is rolled back, the writer goes on");
                Poll::Ready(Err(()))
            }
        }
    }
}
