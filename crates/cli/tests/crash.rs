//! Crash test (DESIGN.md §4.6 "Nothing is lost", §7): `kluis serve` under concurrent write load is
//! killed with SIGKILL at random moments, many times, then restarted. Every write that was
//! acknowledged (201 with an id) must be findable by its e-mail address and readable by its id,
//! and the audit log must verify. Readers run beside the writers: every read that was answered
//! (200 with the subject) must have its audit event in the log after the restart, like every
//! acknowledged write (group commit answers a request only after the commit holding its event;
//! docs/ARCHITECTURE.md). On SQLite and on PostgreSQL.
//!
//! The kill moments come from a seeded generator; the seed is printed, and
//! `KLUIS_TEST_CRASH_SEED=<seed>` replays the same delays.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::Row;

/// Kill-and-restart cycles per backend.
const CYCLES: usize = 24;
/// Concurrent writer tasks per cycle.
const WRITERS: usize = 4;
/// Concurrent reader tasks per cycle (reading subjects acknowledged in earlier cycles).
const READERS: usize = 4;
/// The server is killed this many milliseconds (uniformly chosen) after it starts listening.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 50..=400;
/// Audit checkpoints are signed often, so that kills also land in the middle of signing one.
const CHECKPOINT_EVERY_EVENTS: &str = "40";

mod common;

use common::{Setup, ok, run};

/// SplitMix64: a small seeded generator, so a failing run's kill moments can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn in_range(&mut self, range: &std::ops::RangeInclusive<u64>) -> u64 {
        range.start() + self.next() % (range.end() - range.start() + 1)
    }
}

fn seed() -> u64 {
    if let Ok(s) = std::env::var("KLUIS_TEST_CRASH_SEED") {
        return s.trim().parse().expect("KLUIS_TEST_CRASH_SEED is a u64");
    }
    let token = kluis_crypto::random_token().expect("randomness");
    let digest = kluis_crypto::sha256(token.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

/// `n` written in lowercase letters (base 26): e-mail addresses never hold a BSN-shaped digit run.
fn letters(mut n: usize) -> String {
    let mut out = Vec::new();
    loop {
        let digit = u8::try_from(n % 26).expect("below 26");
        out.push(char::from(b'a' + digit));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().collect()
}

impl Setup {
    /// Subjects in the store, counted directly (the server is not running).
    async fn subject_count(&self) -> usize {
        let store = self.store().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM subjects").fetch_one(store.pool()).await.expect("count").get(0);
        store.close().await;
        usize::try_from(n).expect("a count")
    }
}

/// A running `kluis serve`. Killed (SIGKILL) on drop if still running.
struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Server {
    #[allow(clippy::zombie_processes)] // the child is waited for by `Server::drop`, or killed below
    fn start(setup: &Setup, label: &str) -> Server {
        let log = setup.dir.path().join(format!("serve-{label}.log"));
        let mut child = setup
            .kluis()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("KLUIS_AUDIT_CHECKPOINT_EVERY_EVENTS", CHECKPOINT_EVERY_EVENTS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("server log file"))
            .spawn()
            .expect("spawn kluis serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(Ok(line)) = lines.next() {
            if let Some(addr) = line.strip_prefix("kluis listening on http://") {
                let addr = addr.to_owned();
                // Keep reading stdout until the process is gone, so it never writes into a closed pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return Server { child, addr, log };
            }
            seen.push(line);
            assert!(Instant::now() < deadline, "kluis serve ({label}) did not start: {seen:?}");
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("kluis serve ({label}) exited before listening: stdout {seen:?}\nstderr: {}", read_log(&log));
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL, then wait until the process is gone.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("wait for the killed server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("stderr of kluis serve at {}:\n{}", self.addr, read_log(&self.log));
        }
    }
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("HTTP client")
}

/// An acknowledged write: the e-mail address posted, the id the 201 answer gave, and the
/// request id (`x-request-id`) its audit event carries.
#[derive(Debug, Clone)]
struct Ack {
    email: String,
    id: String,
    request: String,
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("an x-request-id header").to_owned()
}

/// What the writers of one cycle did.
#[derive(Default)]
struct CycleResult {
    acked: Vec<Ack>,
    /// Request ids of the reads answered with the subject.
    reads: Vec<String>,
    attempted: usize,
    in_flight_at_kill: usize,
}

/// One writer: posts subjects with fresh e-mail addresses until `stop`, recording each 201.
async fn writer(
    client: reqwest::Client,
    url: String,
    token: String,
    tag: String,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
) -> (Vec<Ack>, usize) {
    let mut acked = Vec::new();
    let mut attempted = 0;
    while !stop.load(Ordering::SeqCst) {
        let email = format!("crash-{tag}-{}@example.nl", letters(attempted));
        attempted += 1;
        in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = client
            .post(&url)
            .bearer_auth(&token)
            .header("Kluis-Purpose", "service_delivery")
            .json(&serde_json::json!({ "values": { "email": email } }))
            .send()
            .await;
        let id = match answer {
            Ok(response) if response.status() == reqwest::StatusCode::CREATED => {
                let request = request_id(&response);
                let body = response.json::<serde_json::Value>().await.ok();
                body.and_then(|v| v["id"].as_str().map(|id| (id.to_owned(), request)))
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                // Anything but a torn connection is a bug, not a crash effect.
                panic!("POST /api/v1/subjects answered {status}: {body}");
            }
            Err(_) => None, // the server died under this request: not acknowledged
        };
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some((id, request)) = id {
            acked.push(Ack { email, id, request });
        } else {
            // The server is gone; stop with the next check of `stop`, or right away.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    (acked, attempted)
}

/// One reader: reads subjects acknowledged in earlier cycles by id until `stop`, recording the
/// request id of every read answered with the subject (its data has left the server).
async fn reader(
    client: reqwest::Client,
    base: String,
    token: String,
    targets: Arc<Vec<Ack>>,
    mut next: usize,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut answered = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Some(target) = targets.get(next % targets.len().max(1)) else { break };
        next = next.wrapping_mul(31).wrapping_add(7);
        let answer = client
            .get(format!("{base}/api/v1/subjects/{}", target.id))
            .bearer_auth(&token)
            .header("Kluis-Purpose", "support")
            .send()
            .await;
        match answer {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                let request = request_id(&response);
                if let Ok(body) = response.json::<serde_json::Value>().await {
                    assert_eq!(body["id"], target.id.as_str(), "read {target:?}: {body}");
                    answered.push(request);
                }
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                panic!("GET /api/v1/subjects/{} answered {status}: {body}", target.id);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    answered
}

/// Starts the server, writes under load, and kills it `kill_after` after the writers start.
/// First, right after the restart, every write the previous cycle acknowledged is checked.
async fn crash_cycle(
    setup: &Setup,
    token: &str,
    cycle: usize,
    previous: &[Ack],
    earlier: Arc<Vec<Ack>>,
    kill_after: Duration,
) -> CycleResult {
    let mut server = Server::start(setup, &format!("cycle-{cycle}"));
    check_acked(&server, token, previous).await;
    let client = client();
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(writer(
                client.clone(),
                server.url("/api/v1/subjects"),
                token.to_owned(),
                format!("{}-{}", letters(cycle), letters(w)),
                Arc::clone(&stop),
                Arc::clone(&in_flight),
            ))
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            tokio::spawn(reader(
                client.clone(),
                server.url(""),
                token.to_owned(),
                Arc::clone(&earlier),
                cycle * READERS + r,
                Arc::clone(&stop),
            ))
        })
        .collect();
    tokio::time::sleep(kill_after).await;
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let mut result = CycleResult { in_flight_at_kill, ..CycleResult::default() };
    for w in writers {
        let (acked, attempted) = w.await.expect("writer task");
        result.acked.extend(acked);
        result.attempted += attempted;
    }
    for r in readers {
        result.reads.extend(r.await.expect("reader task"));
    }
    result
}

/// Every answered read and every acknowledged write has its audit event (found by request id).
async fn check_audited(setup: &Setup, acked: &[Ack], reads: &[String]) {
    let store = setup.store().await;
    let rows = sqlx::query("SELECT event FROM audit_events").fetch_all(store.pool()).await.expect("audit events");
    store.close().await;
    let mut logged = std::collections::HashSet::new();
    for row in rows {
        let bytes: Vec<u8> = row.get(0);
        let event: serde_json::Value = serde_json::from_slice(&bytes).expect("an event is JSON");
        if let Some(request) = event["request_id"].as_str() {
            logged.insert(request.to_owned());
        }
    }
    for ack in acked {
        assert!(logged.contains(&ack.request), "UNAUDITED WRITE: acknowledged {ack:?} has no audit event");
    }
    for read in reads {
        assert!(logged.contains(read), "UNAUDITED READ: the read {read} was answered but its event is not in the log");
    }
}

/// Every acknowledged write is findable by its e-mail address and readable by its id.
async fn check_acked(server: &Server, token: &str, acked: &[Ack]) {
    const CHECKERS: usize = 8;
    let client = client();
    let chunk = acked.len().div_ceil(CHECKERS).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for part in acked.chunks(chunk) {
        let (client, token, part, base) = (client.clone(), token.to_owned(), part.to_vec(), server.url(""));
        tasks.spawn(async move {
            for ack in part {
                check_one(&client, &base, &token, &ack).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("checker task");
    }
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> (reqwest::StatusCode, serde_json::Value) {
    let response =
        client.get(url).bearer_auth(token).header("Kluis-Purpose", "support").send().await.expect("GET (server up)");
    let status = response.status();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

async fn check_one(client: &reqwest::Client, base: &str, token: &str, ack: &Ack) {
    let (status, found) = get_json(client, &format!("{base}/api/v1/subjects?email={}", ack.email), token).await;
    assert_eq!(status, 200, "find {ack:?}: {found}");
    let ids: Vec<&str> = found["subjects"]
        .as_array()
        .expect("a subject list")
        .iter()
        .map(|s| s["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, [ack.id.as_str()], "LOST WRITE: acknowledged {ack:?} is not found by its e-mail address");

    let (status, subject) = get_json(client, &format!("{base}/api/v1/subjects/{}", ack.id), token).await;
    assert_eq!(status, 200, "LOST WRITE: acknowledged {ack:?} is not readable by its id: {subject}");
    assert_eq!(subject["id"], ack.id.as_str(), "{subject}");
    assert_eq!(subject["values"]["email"], ack.email.as_str(), "acknowledged {ack:?} reads back other values");
}

async fn crash_test(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let backend = if postgres { "postgres" } else { "sqlite" };
    let seed = seed();
    println!("crash test ({backend}): seed {seed} (replay with KLUIS_TEST_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    ok(&run(setup.kluis().args(["init", "--no-admin"])));
    // The break-glass token never sees personal data: the writers use an application token.
    let token = common::app_token(&setup.data, setup.url.as_deref());

    let started = Instant::now();
    let mut acked: Vec<Ack> = Vec::new();
    let mut reads: Vec<String> = Vec::new();
    let mut attempted = 0;
    let mut last_cycle_acked = 0;
    for cycle in 0..CYCLES {
        let kill_after = Duration::from_millis(rng.in_range(&KILL_AFTER_MS));
        let previous = acked.len() - last_cycle_acked;
        let earlier = Arc::new(acked.clone());
        let result = crash_cycle(&setup, &token, cycle, &acked[previous..], earlier, kill_after).await;
        println!(
            "cycle {cycle:2}: killed after {kill_after:?} with {} writes in flight; {} of {} writes acknowledged, \
             {} reads answered",
            result.in_flight_at_kill,
            result.acked.len(),
            result.attempted,
            result.reads.len()
        );
        reads.extend(result.reads);
        last_cycle_acked = result.acked.len();
        acked.extend(result.acked);
        attempted += result.attempted;
    }
    println!("{CYCLES} cycles in {:?}: {} of {attempted} writes acknowledged", started.elapsed(), acked.len());
    assert!(!acked.is_empty(), "no write was acknowledged in {CYCLES} cycles: the test tested nothing");

    // A last start: every acknowledged write of every cycle (the last one's for the first time).
    let server = Server::start(&setup, "final");
    check_acked(&server, &token, &acked).await;
    drop(server);
    let count = setup.subject_count().await;
    println!("{count} subjects stored ({} acknowledged, {attempted} attempted)", acked.len());
    assert!(count >= acked.len(), "{count} subjects stored but {} writes acknowledged", acked.len());
    assert!(count <= attempted, "{count} subjects stored but only {attempted} writes attempted");
    check_audited(&setup, &acked, &reads).await;
    println!("{} acknowledged writes and {} answered reads all audited", acked.len(), reads.len());

    // The audit log survived every crash: a checkpoint over all of it, then a full verification.
    ok(&run(setup.kluis().args(["audit", "checkpoint"])));
    let verified = run(setup.kluis().args(["audit", "verify"]));
    let out = ok(&verified);
    println!("{}", out.trim());
    assert!(out.contains("audit log OK"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sqlite() {
    crash_test(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_postgres() {
    crash_test(true).await;
}
