//! `kluis-bench http`: the HTTP part of DESIGN §6, against the real binary.
//!
//! The server under test is `kluis serve`, a child process (the release binary next to this one,
//! or `--kluis`) on a data directory made with `kluis init --no-admin`, called with an API token
//! from `kluis token create`, durable as in production. The baseline is `kluis-bench
//! baseline-server`, another child process: axum served the way `kluis serve` serves it, on the same
//! tokio runtime configuration, with one handler that returns a fixed JSON body of the size kluis's
//! responses have in that scenario. Both are driven by the same load generator in this process with
//! the same requests, interleaved step by step (the order alternating):
//!
//! 1. start to a healthy `/healthz`: process spawn → first `200`, the first start and restarts;
//! 2. read of one subject by e-mail (`GET /api/v1/subjects?email=…`, purpose `support`) at fixed
//!    open-loop rates, then closed-loop maximum throughput;
//! 3. create (`POST /api/v1/subjects`, purpose `service_delivery`), the same way;
//! 4. the servers' resident memory: VmRSS after start, sampled every second, at the end, and the
//!    peak (VmHWM).
//!
//! Open loop: request `i` is due at `t0 + i / rate` whatever happened before it, and its latency
//! counts from that time, not from when a connection was free to send it, so queueing behind slow
//! responses shows (no coordinated omission). `--connections` workers each own one keep-alive
//! HTTP/1.1 connection and take the next due request whenever they are free.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::audit::parse_count;
use crate::db::{Backend, BenchDb, create_postgres_database, drop_postgres_database, postgres_durability};
use crate::stats::{Latencies, Rng, count, grouped, per_sec, ratio, times};

/// DESIGN §6 targets.
const TARGET_READ_RATE: f64 = 10_000.0;
const TARGET_READ_P99: Duration = Duration::from_millis(5);
const TARGET_READ_P99_AT: u64 = 1000;
const TARGET_CREATE_RATE: f64 = 3_000.0;
const TARGET_RSS_KIB: u64 = 64 * 1024;
const TARGET_START: Duration = Duration::from_millis(200);

/// What the servers print once they listen.
const KLUIS_LISTENING: &str = "kluis listening on http://";
const BASELINE_LISTENING: &str = "baseline listening on http://";
/// Responses whose size sets the read baseline's body.
const SIZE_PROBES: u64 = 20;

/// Options of `kluis-bench http`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// The `kluis` binary (default: `kluis` next to this executable, i.e. target/release/kluis;
    /// `scripts/bench http` builds it).
    #[arg(long)]
    kluis: Option<PathBuf>,
    /// Database backend of the server under test.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL cluster (admin) URL: a fresh database is created in it and dropped afterwards.
    #[arg(long, env = "KLUIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Subjects created over HTTP before the reads; each read looks up one of their addresses.
    #[arg(long, default_value = "10k", value_parser = parse_count)]
    subjects: u64,
    /// Offered rates of the open-loop steps, requests per second, comma-separated.
    #[arg(long, default_value = "100,250,500,1000")]
    rates: String,
    /// Length of each open-loop step and of each closed-loop run (e.g. 5s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Keep-alive connections (one per worker) in every step, for kluis and the baseline alike.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Restarts of `kluis serve` (and of the baseline) on the seeded data directory, each timed
    /// from spawn to a healthy /healthz.
    #[arg(long, default_value_t = 5)]
    restarts: usize,
    /// Worker threads of the load generator's runtime (the servers share the rest of the machine).
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Parent directory of the temporary data directory (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the read addresses.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Options of `kluis-bench baseline-server`.
#[derive(Debug, clap::Args)]
pub struct BaselineOptions {
    /// Listen address; port 0 picks one (printed as `baseline listening on http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Size of the fixed JSON body of every response.
    #[arg(long, default_value_t = 334)]
    body_bytes: usize,
    /// Status of every response.
    #[arg(long, default_value_t = 200)]
    status: u16,
}

/// `5`, `5s`, `2.5s`, `500ms`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("not a duration: {text}"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("not a positive duration: {text}"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// `100,250,1k`: positive, ascending, without repeats.
fn parse_rates(text: &str) -> Result<Vec<u64>, String> {
    let mut rates = text.split(',').map(parse_count).collect::<Result<Vec<_>, _>>()?;
    if rates.contains(&0) {
        return Err("rates must be positive".into());
    }
    rates.sort_unstable();
    rates.dedup();
    Ok(rates)
}

// --- schedule, statistics, /proc -----------------------------------------------------------------

/// Requests in an open-loop step of `duration` at `rate` per second.
fn requests_for(rate: u64, duration: Duration) -> u64 {
    u64::try_from(u128::from(rate) * duration.as_nanos() / 1_000_000_000).unwrap_or(u64::MAX)
}

/// When request `i` of a step at `rate` per second is due, after the step's start.
fn due_offset(i: u64, rate: u64) -> Duration {
    let nanos = u128::from(i) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A `kB` figure of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`), in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| line.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
}

fn proc_kib(pid: u32, key: &str) -> Option<u64> {
    status_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?, key)
}

/// A JSON object of exactly `bytes` bytes (at least 10): `{"pad":"xxx…"}`.
fn filler_json(bytes: usize) -> String {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(bytes.saturating_sub(10)))
}

/// The API token `kluis token create` printed (the indented line starting with `kluis_`).
fn token_from_output(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| line.starts_with("kluis_") && !line.contains(' '))
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // KiB counts of a process
    let m = kib as f64 / 1024.0;
    format!("{m:.1} MiB")
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

// --- child processes -----------------------------------------------------------------------------

/// A server child process that answered `/healthz`.
#[derive(Debug)]
struct Server {
    child: tokio::process::Child,
    pid: u32,
    addr: SocketAddr,
    /// Spawn → first `200` from `/healthz`.
    start_time: Duration,
}

impl Server {
    /// Spawns `command`, reads the listen address from the line starting with `prefix`, and polls
    /// `GET /healthz` (a new connection per attempt, 1 ms apart) until it answers `200`.
    async fn spawn(mut command: tokio::process::Command, prefix: &str) -> anyhow::Result<Server> {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = command.spawn().context("cannot start the server")?;
        let pid = child.id().context("the server has no pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let addr = loop {
            let line = tokio::time::timeout(Duration::from_mins(1), lines.next_line())
                .await
                .context("the server did not say where it listens within 60 s")??
                .context("the server exited before listening")?;
            if let Some(rest) = line.strip_prefix(prefix) {
                break rest.trim().parse::<SocketAddr>().with_context(|| format!("listen address in {line:?}"))?;
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        loop {
            if let Ok((200, _)) = fetch(addr, get(addr, "/healthz")).await {
                break;
            }
            if spawned.elapsed() > Duration::from_mins(1) {
                bail!("no healthy /healthz on {addr} within 60 s");
            }
            if let Some(status) = child.try_wait()? {
                bail!("the server exited ({status})");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Server { child, pid, addr, start_time: spawned.elapsed() })
    }

    fn rss_kib(&self) -> u64 {
        proc_kib(self.pid, "VmRSS:").unwrap_or(0)
    }

    fn hwm_kib(&self) -> u64 {
        proc_kib(self.pid, "VmHWM:").unwrap_or(0)
    }

    /// SIGTERM (graceful shutdown, as an operator stops it), then SIGKILL after 10 s.
    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server had already exited ({status})");
        }
        let _ = tokio::process::Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// How to run the `kluis` binary on the bench's data directory.
#[derive(Debug)]
struct Kluis {
    bin: PathBuf,
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl Kluis {
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.bin);
        // Only the settings below: a stray KLUIS_* variable (even KLUIS_BENCH_DATABASE_URL) would be
        // an unknown or different setting.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("KLUIS_") {
                command.env_remove(key);
            }
        }
        command.env("KLUIS_LOG_LEVEL", "warn").arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            command.env("KLUIS_DATABASE_URL", url);
        }
        command
    }

    async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.command().args(args).stdin(Stdio::null()).output().await?;
        ensure!(
            output.status.success(),
            "kluis {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?)
    }

    async fn serve(&self) -> anyhow::Result<Server> {
        let mut command = self.command();
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        Server::spawn(command, KLUIS_LISTENING).await
    }
}

async fn spawn_baseline(body_bytes: usize, status: u16) -> anyhow::Result<Server> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command.args(["baseline-server", "--listen", "127.0.0.1:0"]);
    command.arg("--body-bytes").arg(body_bytes.to_string()).arg("--status").arg(status.to_string());
    Server::spawn(command, BASELINE_LISTENING).await
}

/// `kluis-bench baseline-server`: axum served as `kluis_server::serve` serves it
/// (`into_make_service_with_connect_info`), on the runtime `kluis` builds
/// (`tokio::runtime::Runtime::new()`), one handler for every path that reads the request body and
/// returns a fixed JSON body.
pub fn baseline_server(options: &BaselineOptions) -> anyhow::Result<()> {
    let status = axum::http::StatusCode::from_u16(options.status)?;
    let body = Bytes::from(filler_json(options.body_bytes));
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        // `/healthz` answers 200 whatever `--status` says, so the start can be timed as kluis's is.
        let app = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "{\"status\":\"ok\"}" }))
            .fallback(move |_request: Bytes| {
                let body = body.clone();
                async move { (status, [(header::CONTENT_TYPE, "application/json")], body) }
            });
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        println!("{BASELINE_LISTENING}{}", listener.local_addr()?);
        let shutdown = async {
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
            }
        };
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await?;
        anyhow::Ok(())
    })
}

// --- the load generator --------------------------------------------------------------------------

type Conn = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn get(addr: SocketAddr, path: &str) -> Request<Full<Bytes>> {
    Request::get(path).header(header::HOST, addr.to_string()).body(Full::new(Bytes::new())).expect("a valid request")
}

/// One request on a new connection: status and body.
async fn fetch(addr: SocketAddr, request: Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)> {
    let mut conn = connect(addr).await?;
    send(&mut conn, request).await
}

async fn send(conn: &mut Conn, request: Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)> {
    conn.ready().await?;
    let response = conn.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// What a request does.
#[derive(Debug, Clone)]
enum Work {
    /// `GET /api/v1/subjects?email=…` (purpose `support`) of a seeded address, picked by
    /// request index and step.
    Read { emails: Arc<Vec<String>>, seed: u64 },
    /// `POST /api/v1/subjects` (purpose `service_delivery`) of a new subject whose e-mail address
    /// is `{prefix}{step}x{i}@bench.example.nl`, or, for the prefix `seed`, [`seed_email`]`(i)` (the
    /// addresses the reads look up).
    Create { prefix: &'static str },
}

const FIRST_NAMES: [&str; 10] =
    ["Jan", "Anna", "Pieter Jan", "Sanne", "Daan", "Emma", "Lucas", "Julia Maria", "Sem", "Tess"];
const LAST_NAMES: [&str; 10] =
    ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot"];
const CITIES: [&str; 8] =
    ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg", "Almere"];
/// Postcode letters (never SA, SD or SS).
const POSTCODE_LETTERS: [&str; 8] = ["AB", "CD", "EF", "GH", "JK", "LM", "NP", "RT"];

fn seed_email(i: u64) -> String {
    format!("seed{i}@bench.example.nl")
}

/// The create body of subject `i`: seven values, all that `service_delivery` covers of a
/// customer's NAW and contact data (no IBAN: that purpose does not cover it).
fn subject_body(email: &str, i: u64) -> String {
    let pick = |n: usize| usize::try_from(i % n as u64).unwrap_or(0);
    serde_json::json!({
        "kind": "customer",
        "values": {
            "first_names": FIRST_NAMES[pick(FIRST_NAMES.len())],
            "last_name": LAST_NAMES[pick(LAST_NAMES.len())],
            "email": email,
            "phone": format!("+3161{:07}", i % 10_000_000),
            "postcode": format!("{} {}", 1000 + i % 9000, POSTCODE_LETTERS[pick(POSTCODE_LETTERS.len())]),
            "house_number": (1 + i % 300).to_string(),
            "city": CITIES[pick(CITIES.len())],
        }
    })
    .to_string()
}

impl Work {
    fn request(&self, addr: SocketAddr, token: &str, step: u64, i: u64) -> Request<Full<Bytes>> {
        let builder = Request::builder()
            .header(header::HOST, addr.to_string())
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        match self {
            Work::Read { emails, seed } => {
                let mut rng =
                    Rng::new(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
                let email = rng.pick(emails);
                builder
                    .method(Method::GET)
                    .uri(format!("/api/v1/subjects?email={}", query_escape(email)))
                    .header("kluis-purpose", "support")
                    .body(Full::new(Bytes::new()))
            }
            Work::Create { prefix } => {
                let email =
                    if *prefix == "seed" { seed_email(i) } else { format!("{prefix}{step}x{i}@bench.example.nl") };
                builder
                    .method(Method::POST)
                    .uri("/api/v1/subjects")
                    .header("kluis-purpose", "service_delivery")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(subject_body(&email, i))))
            }
        }
        .expect("a valid request")
    }

    /// What a correct answer looks like: status, and for kluis's reads the subject in the body.
    fn expect(&self, baseline: bool) -> (u16, Option<&'static [u8]>) {
        match (self, baseline) {
            (Work::Read { .. }, false) => (200, Some(b"\"values\":{\"email\"")),
            (Work::Read { .. }, true) => (200, None),
            (Work::Create { .. }, _) => (201, None),
        }
    }
}

/// The server a step drives.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    token: Arc<str>,
    baseline: bool,
}

/// How requests are paced.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// `rate` per second for `duration`, each due on a fixed timetable; what has not been sent by
    /// `2 × duration` is given up (counted as unsent).
    Open { rate: u64, duration: Duration },
    /// Every worker sends its next request as soon as the previous one is answered, for `duration`.
    Closed { duration: Duration },
    /// Closed loop, exactly `total` requests (indices `0..total`).
    Count { total: u64 },
}

/// The outcome of one step.
#[derive(Debug, Default)]
struct Run {
    ok: u64,
    errors: u64,
    /// Open loop: due requests not sent by the cut-off (the server could not keep up).
    unsent: u64,
    /// From the due time (open loop; unsent requests count with a lower bound: the cut-off), or from
    /// sending (closed loop).
    latency: Vec<Duration>,
    /// From sending to the whole response, answered requests only.
    service: Vec<Duration>,
    /// Start → last answer (at least the step's length).
    elapsed: Duration,
    body_bytes: u64,
    first_error: Option<String>,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.unsent += other.unsent;
        self.latency.extend(other.latency);
        self.service.extend(other.service);
        self.elapsed = self.elapsed.max(other.elapsed);
        self.body_bytes += other.body_bytes;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn rate(&self) -> f64 {
        per_sec(self.ok, self.elapsed)
    }
}

/// A step's figures.
#[derive(Debug)]
struct Summary {
    rate: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    service_p99: Duration,
    errors: u64,
    unsent: u64,
}

impl From<Run> for Summary {
    fn from(run: Run) -> Self {
        let rate = run.rate();
        let latency = Latencies::new(run.latency);
        let service = Latencies::new(run.service);
        Summary {
            rate,
            p50: latency.pct(50),
            p99: latency.pct(99),
            max: latency.pct(100),
            service_p99: service.pct(99),
            errors: run.errors,
            unsent: run.unsent,
        }
    }
}

impl Summary {
    /// A latency cell; `≥` when requests were given up (their latency is only a lower bound).
    fn lat(&self, d: Duration) -> String {
        if self.unsent > 0 { format!("≥ {}", ms(d)) } else { ms(d) }
    }

    fn failures(&self) -> String {
        match (self.errors, self.unsent) {
            (0, 0) => "0".into(),
            (e, 0) => count(e),
            (e, u) => format!("{} + {} unsent", count(e), count(u)),
        }
    }
}

/// Runs one step: `connections` workers, each with its own keep-alive connection (opened before
/// the clock starts), take request indices in order.
async fn drive(target: &Target, work: &Work, pace: Pace, connections: usize, step: u64) -> anyhow::Result<Run> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        conns.push(connect(target.addr).await.with_context(|| format!("connect to {}", target.addr))?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now() + Duration::from_millis(20);
    let handles: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(worker(conn, target.clone(), work.clone(), pace, step, t0, Arc::clone(&next))))
        .collect();
    let mut run = Run::default();
    for handle in handles {
        run.merge(handle.await?);
    }
    if let Pace::Open { duration, .. } = pace {
        run.elapsed = run.elapsed.max(duration);
    }
    Ok(run)
}

async fn worker(
    conn: Conn,
    target: Target,
    work: Work,
    pace: Pace,
    step: u64,
    t0: Instant,
    next: Arc<AtomicU64>,
) -> Run {
    let mut conn = Some(conn);
    let mut run = Run::default();
    let (status, needle) = work.expect(target.baseline);
    tokio::time::sleep_until(t0.into()).await;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let due = match pace {
            Pace::Open { rate, duration } => {
                if i >= requests_for(rate, duration) {
                    break;
                }
                let due = t0 + due_offset(i, rate);
                let cutoff = t0 + 2 * duration;
                if Instant::now() >= cutoff {
                    run.unsent += 1;
                    run.latency.push(cutoff.saturating_duration_since(due));
                    continue;
                }
                tokio::time::sleep_until(due.into()).await;
                due
            }
            Pace::Closed { duration } => {
                let now = Instant::now();
                if now >= t0 + duration {
                    break;
                }
                now
            }
            Pace::Count { total } => {
                if i >= total {
                    break;
                }
                Instant::now()
            }
        };
        let sent = Instant::now();
        let outcome = match conn.as_mut().filter(|c| !c.is_closed()) {
            Some(c) => send(c, work.request(target.addr, &target.token, step, i)).await,
            None => match connect(target.addr).await {
                Ok(mut c) => {
                    let outcome = send(&mut c, work.request(target.addr, &target.token, step, i)).await;
                    conn = Some(c);
                    outcome
                }
                Err(e) => Err(e),
            },
        };
        let done = Instant::now();
        run.elapsed = run.elapsed.max(done - t0);
        match outcome {
            Ok((got, body)) if got == status && needle.is_none_or(|n| body.windows(n.len()).any(|w| w == n)) => {
                run.ok += 1;
                run.latency.push(done - due);
                run.service.push(done - sent);
                run.body_bytes += body.len() as u64;
            }
            Ok((got, body)) => {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| {
                    format!("status {got}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]))
                });
            }
            Err(e) => {
                run.errors += 1;
                conn = None;
                run.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    run
}

// --- the durable-commit floor ---------------------------------------------------------------------

/// Durable one-row transactions, one after another, for `duration`, in a fresh database opened as
/// kluis opens it (`BenchDb`: SQLite with WAL and `synchronous=FULL` next to the data directory,
/// or a fresh PostgreSQL database): the floor under anything that commits once per request.
/// Commits per second and the p50 of one commit.
async fn commit_floor(options: &Options, duration: Duration) -> anyhow::Result<(f64, Duration)> {
    let db = match options.backend {
        Backend::Sqlite => BenchDb::sqlite(options.dir.as_deref()).await?,
        Backend::Postgres => BenchDb::postgres(options.database_url.as_deref().context("--database-url")?).await?,
    };
    let result = async {
        db.create_raw_tables("bench_commit", false).await?;
        let bytes = vec![b'x'; 430];
        let mut times = Vec::new();
        let t = Instant::now();
        let mut seq = 0_i64;
        while t.elapsed() < duration {
            let one = Instant::now();
            db.raw_insert("bench_commit", false, &[(seq, seq, bytes.clone(), None)], &[], (100, 100)).await?;
            times.push(one.elapsed());
            seq += 1;
        }
        let elapsed = t.elapsed();
        anyhow::Ok((per_sec(times.len() as u64, elapsed), Latencies::new(times).pct(50)))
    }
    .await;
    db.close().await;
    result
}

// --- memory --------------------------------------------------------------------------------------

/// Samples a process's VmRSS once a second until finished.
#[derive(Debug)]
struct RssSampler {
    stop: Arc<tokio::sync::Notify>,
    handle: tokio::task::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(tokio::sync::Notify::new());
        let notified = Arc::clone(&stop);
        let handle = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => samples.extend(proc_kib(pid, "VmRSS:")),
                    () = notified.notified() => break,
                }
            }
            samples
        });
        RssSampler { stop, handle }
    }

    async fn finish(self) -> Vec<u64> {
        self.stop.notify_one();
        self.handle.await.unwrap_or_default()
    }
}

/// Memory of one server process, in KiB.
#[derive(Debug, Default)]
struct Memory {
    after_start: u64,
    after_seeding: Option<u64>,
    samples: Vec<u64>,
    peak: u64,
    end: u64,
}

impl Memory {
    fn median_sample(&self) -> u64 {
        let mut s = self.samples.clone();
        s.sort_unstable();
        s.get(s.len() / 2).copied().unwrap_or(0)
    }
}

// --- the scenarios -------------------------------------------------------------------------------

/// One row: kluis and the baseline at the same pace.
#[derive(Debug)]
struct Row {
    offered: Option<u64>,
    kluis: Summary,
    baseline: Summary,
}

#[derive(Debug)]
struct Scenario {
    title: &'static str,
    rows: Vec<Row>,
    max: Row,
    /// Requests kluis answered correctly, warm-up included.
    kluis_ok: u64,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    duration: Duration,
    connections: usize,
}

/// Warm-up (1 s at the lowest rate, not recorded), then every rate and the closed loop, kluis and
/// baseline interleaved step by step in alternating order.
async fn scenario(
    title: &'static str,
    kluis: &Target,
    baseline: &Target,
    work: &Work,
    rates: &[u64],
    settings: Settings,
    step: &mut u64,
) -> anyhow::Result<Scenario> {
    let warm = Pace::Open { rate: rates[0], duration: Duration::from_secs(1) };
    let mut kluis_ok = 0;
    for target in [kluis, baseline] {
        *step += 1;
        let run = drive(target, work, warm, settings.connections, *step).await?;
        if !target.baseline {
            kluis_ok += run.ok;
        }
    }
    let mut rows = Vec::new();
    let mut paces: Vec<(Option<u64>, Pace)> =
        rates.iter().map(|&rate| (Some(rate), Pace::Open { rate, duration: settings.duration })).collect();
    paces.push((None, Pace::Closed { duration: settings.duration }));
    for (k, (offered, pace)) in paces.into_iter().enumerate() {
        *step += 1;
        let what = offered.map_or_else(|| "max (closed loop)".to_owned(), |r| format!("{r} req/s"));
        let order = if k % 2 == 0 { [kluis, baseline] } else { [baseline, kluis] };
        let mut results = Vec::new();
        for target in order {
            let run = drive(target, work, pace, settings.connections, *step).await?;
            if !target.baseline {
                kluis_ok += run.ok;
            }
            if let Some(e) = &run.first_error {
                eprintln!("      {title}, {what}, {}: {} error(s), first: {e}", name(target), run.errors);
            }
            results.push((target.baseline, Summary::from(run)));
        }
        let (b, k): (Vec<_>, Vec<_>) = results.into_iter().partition(|(is_baseline, _)| *is_baseline);
        let (kluis_summary, baseline_summary) =
            (k.into_iter().next().context("kluis")?.1, b.into_iter().next().context("baseline")?.1);
        eprintln!(
            "      {what}: kluis {} req/s p50 {} p99 {} ms; baseline {} req/s p50 {} p99 {} ms",
            grouped(kluis_summary.rate),
            ms(kluis_summary.p50),
            ms(kluis_summary.p99),
            grouped(baseline_summary.rate),
            ms(baseline_summary.p50),
            ms(baseline_summary.p99)
        );
        rows.push(Row { offered, kluis: kluis_summary, baseline: baseline_summary });
    }
    let max = rows.pop().context("the closed-loop row")?;
    Ok(Scenario { title, rows, max, kluis_ok })
}

fn name(target: &Target) -> &'static str {
    if target.baseline { "baseline" } else { "kluis" }
}

/// Everything measured, for the report.
#[derive(Debug)]
struct Report {
    backend: String,
    kluis_start: Duration,
    baseline_start: Duration,
    restarts: Vec<(Duration, Duration)>,
    subjects: u64,
    seeding: Duration,
    total_subjects: u64,
    read_bytes: usize,
    create_bytes: usize,
    read: Scenario,
    create: Scenario,
    kluis_memory: Memory,
    baseline_memory: Vec<(&'static str, Memory)>,
    /// Durable one-row commits: (per second, p50) before the reads and after the creates.
    commits: [(f64, Duration); 2],
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let rates = parse_rates(&options.rates).map_err(anyhow::Error::msg)?;
    ensure!(!rates.is_empty(), "--rates: give at least one rate");
    ensure!(options.connections > 0 && options.subjects > 0, "--connections and --subjects must be positive");
    let bin = match &options.kluis {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("kluis"),
    };
    ensure!(
        bin.is_file(),
        "{} not found: build it with `cargo build --release -p kluis-cli` (scripts/bench http does) or give --kluis",
        bin.display()
    );
    let dir = match &options.dir {
        Some(p) => tempfile::Builder::new().prefix("kluis-bench-http.").tempdir_in(p)?,
        None => tempfile::Builder::new().prefix("kluis-bench-http.").tempdir()?,
    };
    let postgres = match options.backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let admin = options.database_url.clone().context("--backend postgres needs --database-url")?;
            let (url, name) = create_postgres_database(&admin).await?;
            Some((admin, url, name))
        }
    };
    let kluis = Kluis {
        bin,
        data_dir: dir.path().join("data"),
        database_url: postgres.as_ref().map(|(_, url, _)| url.clone()),
    };
    let backend = match &postgres {
        None => "**SQLite** (as `kluis serve` opens it: WAL, `synchronous=FULL`; data directory in a temporary \
                 directory)"
            .to_owned(),
        Some((_, url, _)) => {
            format!("**PostgreSQL** (a fresh database; cluster settings {})", postgres_durability(url).await)
        }
    };
    let result = measure(&options, &rates, &kluis, backend).await;
    if let Some((admin, _, name)) = &postgres {
        drop_postgres_database(admin, name).await;
    }
    let report = result?;
    print!("{}", write_report(&report, &options));
    Ok(())
}

async fn measure(options: &Options, rates: &[u64], kluis: &Kluis, backend: String) -> anyhow::Result<Report> {
    let settings = Settings { duration: options.duration, connections: options.connections };
    eprintln!("[http 1/5] kluis init --no-admin, kluis token create");
    kluis.run(&["init", "--no-admin"]).await?;
    let out = kluis.run(&["token", "create", "--name", "bench", "--purposes", "service_delivery,support"]).await?;
    let token: Arc<str> = token_from_output(&out).context("no token in the output of `kluis token create`")?.into();

    eprintln!("[http 2/5] kluis serve, {} subjects over HTTP", count(options.subjects));
    let server = kluis.serve().await?;
    let kluis_start = server.start_time;
    let mut kluis_memory = Memory { after_start: server.rss_kib(), ..Memory::default() };
    let sampler = RssSampler::start(server.pid);
    let kluis_target = Target { addr: server.addr, token: Arc::clone(&token), baseline: false };
    let seed_work = Work::Create { prefix: "seed" };
    let t = Instant::now();
    let seeding =
        drive(&kluis_target, &seed_work, Pace::Count { total: options.subjects }, options.connections, 0).await?;
    let seeding_time = t.elapsed();
    if let Some(e) = seeding.first_error {
        bail!("seeding failed ({} errors), first: {e}", seeding.errors);
    }
    kluis_memory.after_seeding = Some(server.rss_kib());
    eprintln!(
        "      {} subjects in {:.1} s ({} /s)",
        count(options.subjects),
        seeding_time.as_secs_f64(),
        grouped(per_sec(options.subjects, seeding_time))
    );

    // The size of kluis's answers, for the baseline's body.
    let emails = Arc::new((0..options.subjects).map(seed_email).collect::<Vec<_>>());
    let read_work = Work::Read { emails, seed: options.seed };
    let mut read_total = 0;
    for i in 0..SIZE_PROBES {
        let (status, body) = fetch(server.addr, read_work.request(server.addr, &token, 0, i)).await?;
        ensure!(status == 200, "read probe: status {status}: {}", String::from_utf8_lossy(&body));
        read_total += body.len();
    }
    let read_bytes = read_total.div_ceil(usize::try_from(SIZE_PROBES)?);
    let create_work = Work::Create { prefix: "new" };
    let (status, body) = fetch(server.addr, create_work.request(server.addr, &token, 0, 0)).await?;
    ensure!(status == 201, "create probe: status {status}: {}", String::from_utf8_lossy(&body));
    let create_bytes = body.len();

    let commits_before = commit_floor(options, Duration::from_secs(2)).await?;
    let mut step = 0;
    eprintln!("[http 3/5] reads by e-mail: rates {rates:?} req/s, then closed loop; {read_bytes}-byte bodies");
    let base = spawn_baseline(read_bytes, 200).await?;
    let baseline_start = base.start_time;
    let mut base_memory = Memory { after_start: base.rss_kib(), ..Memory::default() };
    let base_sampler = RssSampler::start(base.pid);
    let base_target = Target { addr: base.addr, token: Arc::clone(&token), baseline: true };
    let read = scenario("read", &kluis_target, &base_target, &read_work, rates, settings, &mut step).await?;
    base_memory.samples = base_sampler.finish().await;
    (base_memory.peak, base_memory.end) = (base.hwm_kib(), base.rss_kib());
    base.stop().await?;
    let mut baseline_memory = vec![("baseline server, read scenario", base_memory)];

    eprintln!("[http 4/5] creates: rates {rates:?} req/s, then closed loop; {create_bytes}-byte bodies");
    let base = spawn_baseline(create_bytes, 201).await?;
    let mut base_memory = Memory { after_start: base.rss_kib(), ..Memory::default() };
    let base_sampler = RssSampler::start(base.pid);
    let base_target = Target { addr: base.addr, token: Arc::clone(&token), baseline: true };
    let create = scenario("create", &kluis_target, &base_target, &create_work, rates, settings, &mut step).await?;
    base_memory.samples = base_sampler.finish().await;
    (base_memory.peak, base_memory.end) = (base.hwm_kib(), base.rss_kib());
    baseline_memory.push(("baseline server, create scenario", base_memory));
    kluis_memory.samples = sampler.finish().await;
    (kluis_memory.peak, kluis_memory.end) = (server.hwm_kib(), server.rss_kib());

    let commits_after = commit_floor(options, Duration::from_secs(2)).await?;
    // Seeded, the probe, and every create kluis answered (warm-up included).
    let total_subjects = options.subjects + 1 + create.kluis_ok;
    eprintln!("[http 5/5] {} restarts of kluis serve and of the baseline", options.restarts);
    let (mut server, mut base) = (server, base);
    let mut restarts = Vec::new();
    for _ in 0..options.restarts {
        server.stop().await?;
        server = kluis.serve().await?;
        base.stop().await?;
        base = spawn_baseline(create_bytes, 201).await?;
        restarts.push((server.start_time, base.start_time));
    }
    server.stop().await?;
    base.stop().await?;

    Ok(Report {
        backend,
        kluis_start,
        baseline_start,
        restarts,
        subjects: options.subjects,
        seeding: seeding_time,
        total_subjects,
        read_bytes,
        create_bytes,
        read,
        create,
        kluis_memory,
        baseline_memory,
        commits: [commits_before, commits_after],
    })
}

// --- the report ----------------------------------------------------------------------------------

fn write_report(r: &Report, options: &Options) -> String {
    let mut doc = String::new();
    let secs = options.duration.as_secs_f64();
    let _ = writeln!(
        doc,
        "Backend: {}. Server under test: `kluis serve --listen 127.0.0.1:0` (release build, a child process, \
         `KLUIS_LOG_LEVEL=warn`, plain HTTP on loopback), called with an API token for `service_delivery,support` \
         from `kluis token create`. Baseline: `kluis-bench baseline-server`, a child process serving axum as \
         `kluis serve` does (same runtime, `into_make_service_with_connect_info`) with one handler that returns a \
         fixed JSON body of the size of kluis's answer. Load: this process, {} tokio worker thread(s), {} keep-alive \
         HTTP/1.1 connections (hyper), identical requests for both servers; kluis and baseline alternate step by \
         step. Client and servers share the machine's cores.\n",
        r.backend, options.client_threads, options.connections
    );

    write_start(&mut doc, r);

    // 2. and 3.
    let _ = writeln!(
        doc,
        "Seeding: {} subjects created over HTTP before the reads ({} concurrent connections, closed loop, {:.1} s, \
         {} subjects/s), each with seven values (`first_names`, `last_name`, `email`, `phone`, `postcode`, \
         `house_number`, `city`).\n",
        count(r.subjects),
        options.connections,
        r.seeding.as_secs_f64(),
        grouped(per_sec(r.subjects, r.seeding))
    );
    write_scenario(
        &mut doc,
        "2.",
        &r.read,
        &format!(
            "`GET /api/v1/subjects?email=…` with `Kluis-Purpose: support` for a random seeded address: token check, \
             purpose decision, blind-index lookup, the audit event committed durably, four values decrypted, three \
             named as withheld. kluis answers `200` with the subject (mean body {} bytes over {SIZE_PROBES} \
             answers; a read whose body lacks the subject counts as an error); the baseline answers `200` with {} \
             bytes.",
            r.read_bytes, r.read_bytes
        ),
        secs,
        options.connections,
        (Some(TARGET_READ_RATE), true),
    );
    write_scenario(
        &mut doc,
        "3.",
        &r.create,
        &format!(
            "`POST /api/v1/subjects` with `Kluis-Purpose: service_delivery` and a new subject of seven values \
             (validated, encrypted under a new data key, three blind indexes, the audit event, one durable \
             transaction). kluis answers `201` with the id ({} bytes); the baseline reads the request body and \
             answers `201` with {} bytes.",
            r.create_bytes, r.create_bytes
        ),
        secs,
        options.connections,
        (Some(TARGET_CREATE_RATE), false),
    );

    write_memory(&mut doc, r);
    let [(before, before_p50), (after, after_p50)] = r.commits;
    let _ = writeln!(
        doc,
        "### 5. The durable-commit floor\n\nOne-row durable transactions (a 430-byte row, one after another) in a \
         fresh database opened as kluis opens it, on the same disk, 2 s each, right before the reads and right \
         after the creates: {} and {} commits/s (p50 {} and {} ms). Every read and every create needs a durable \
         commit (the audit event is durable before data leaves); kluis's group commit shares one commit among \
         the requests that arrive while the previous one runs, so only a server that commits once per request \
         is bounded by this.\n",
        grouped(before),
        grouped(after),
        ms(before_p50),
        ms(after_p50)
    );
    doc
}

fn write_start(doc: &mut String, r: &Report) {
    let _ = writeln!(doc, "### 1. Start to a healthy `/healthz`\n");
    let _ = writeln!(
        doc,
        "Process spawn → first `200` from `GET /healthz` (polled on a new connection every 1 ms once the server \
         printed its address). Restarts: SIGTERM, wait for the exit, spawn again on the same data directory (page \
         cache warm).\n"
    );
    let _ = writeln!(doc, "| start | kluis | baseline | ratio | target | |");
    let _ = writeln!(doc, "|---|---:|---:|---:|---|---|");
    let _ = writeln!(
        doc,
        "| first start (after `kluis init`, empty database) | {} ms | {} ms | {} | ≤ 200 ms | {} |",
        ms(r.kluis_start),
        ms(r.baseline_start),
        times(ratio(r.kluis_start.as_secs_f64(), r.baseline_start.as_secs_f64())),
        met(r.kluis_start <= TARGET_START)
    );
    if !r.restarts.is_empty() {
        let k = Latencies::new(r.restarts.iter().map(|(k, _)| *k).collect());
        let b = Latencies::new(r.restarts.iter().map(|(_, b)| *b).collect());
        let _ = writeln!(
            doc,
            "| restart after the load ({} subjects), median of {} (min – max) | {} ms ({} – {}) | {} ms ({} – {}) | {} \
             | ≤ 200 ms | {} |",
            count(r.total_subjects),
            r.restarts.len(),
            ms(k.pct(50)),
            ms(k.pct(0)),
            ms(k.pct(100)),
            ms(b.pct(50)),
            ms(b.pct(0)),
            ms(b.pct(100)),
            times(ratio(k.pct(50).as_secs_f64(), b.pct(50).as_secs_f64())),
            met(k.pct(100) <= TARGET_START)
        );
    }
    let _ = writeln!(doc);
}

fn write_memory(doc: &mut String, r: &Report) {
    let _ = writeln!(doc, "### 4. Server memory (RSS)\n");
    let _ = writeln!(
        doc,
        "VmRSS from `/proc/<pid>/status` after the start (healthy), after seeding, sampled every second while the \
         bench ran (median of the samples), at the end of the load; peak = VmHWM (the kernel's high-water mark \
         of the resident set). 1 MiB = 1,048,576 bytes.\n"
    );
    let _ = writeln!(doc, "| process | after start | after seeding | under load (median, n) | peak | end | target | |");
    let _ = writeln!(doc, "|---|---:|---:|---:|---:|---:|---|---|");
    let m = &r.kluis_memory;
    let _ = writeln!(
        doc,
        "| `kluis serve` | {} | {} | {} ({}) | {} | {} | ≤ 64 MB under load | {} |",
        mib(m.after_start),
        m.after_seeding.map_or_else(|| "–".into(), mib),
        mib(m.median_sample()),
        m.samples.len(),
        mib(m.peak),
        mib(m.end),
        met(m.peak <= TARGET_RSS_KIB)
    );
    for (what, m) in &r.baseline_memory {
        let _ = writeln!(
            doc,
            "| {what} | {} | – | {} ({}) | {} | {} | | |",
            mib(m.after_start),
            mib(m.median_sample()),
            m.samples.len(),
            mib(m.peak),
            mib(m.end)
        );
    }
    let _ = writeln!(doc);
}

fn write_scenario(
    doc: &mut String,
    number: &str,
    s: &Scenario,
    what: &str,
    secs: f64,
    connections: usize,
    (target_rate, p99_target): (Option<f64>, bool),
) {
    let _ = writeln!(doc, "### {number} HTTP {}\n", s.title);
    let _ = writeln!(
        doc,
        "{what}\n\nOpen loop: each offered rate for {secs:.1} s, every request due on a fixed timetable and its \
         latency counted from that due time (queueing shows; nothing is omitted); requests still unsent at twice \
         the step's length are given up and their latency counts as a lower bound (`≥`). \"p99 send\" is kluis's \
         p99 from the moment the request was written. Latencies in ms.\n"
    );
    let _ = writeln!(
        doc,
        "| offered req/s | kluis req/s | p50 | p99 | max | p99 send | errors | baseline req/s | p50 | p99 | max | \
         ratio p50 | ratio p99 | target | |"
    );
    let _ = writeln!(doc, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for row in &s.rows {
        let (k, b) = (&row.kluis, &row.baseline);
        let offered = row.offered.unwrap_or(0);
        let (target, verdict) = if p99_target && offered == TARGET_READ_P99_AT {
            ("p99 ≤ 5 ms", met(k.unsent == 0 && k.errors == 0 && k.p99 <= TARGET_READ_P99))
        } else {
            ("", "")
        };
        let _ = writeln!(
            doc,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {target} | {verdict} |",
            count(offered),
            grouped(k.rate),
            k.lat(k.p50),
            k.lat(k.p99),
            k.lat(k.max),
            ms(k.service_p99),
            k.failures(),
            grouped(b.rate),
            b.lat(b.p50),
            b.lat(b.p99),
            b.lat(b.max),
            times(ratio(k.p50.as_secs_f64(), b.p50.as_secs_f64())),
            times(ratio(k.p99.as_secs_f64(), b.p99.as_secs_f64())),
        );
    }
    let _ = writeln!(doc);
    let (k, b) = (&s.max.kluis, &s.max.baseline);
    let _ = writeln!(
        doc,
        "Maximum throughput: closed loop, {connections} connections each sending its next request as soon as the \
         previous one is answered, {secs:.1} s. Latency from sending.\n"
    );
    let _ = writeln!(
        doc,
        "| closed loop | kluis req/s | p50 | p99 | errors | baseline req/s | p50 | p99 | ratio req/s | target | |"
    );
    let _ = writeln!(doc, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let (target, verdict) = match target_rate {
        Some(t) => (format!("≥ {} req/s", grouped(t)), met(k.errors == 0 && k.rate >= t)),
        None => (String::new(), ""),
    };
    let _ = writeln!(
        doc,
        "| {connections} connections, {secs:.1} s | {} | {} | {} | {} | {} | {} | {} | {} | {target} | {verdict} |",
        grouped(k.rate),
        ms(k.p50),
        ms(k.p99),
        k.failures(),
        grouped(b.rate),
        ms(b.p50),
        ms(b.p99),
        times(ratio(k.rate, b.rate)),
    );
    let _ = writeln!(doc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timetable_spreads_a_step_evenly() {
        let step = Duration::from_secs(5);
        assert_eq!(requests_for(1000, step), 5000);
        assert_eq!(requests_for(250, Duration::from_millis(500)), 125);
        assert_eq!(due_offset(0, 1000), Duration::ZERO);
        assert_eq!(due_offset(1, 1000), Duration::from_millis(1));
        assert_eq!(due_offset(3, 250), Duration::from_millis(12));
        assert_eq!(due_offset(1000, 1000), Duration::from_secs(1));
        // The last request of a step is due before the step ends, and the timetable never goes back.
        let n = requests_for(333, step);
        assert!(due_offset(n - 1, 333) < step);
        assert!((1..n).all(|i| due_offset(i, 333) > due_offset(i - 1, 333)));
    }

    #[test]
    fn status_lines_parse() {
        let status = "Name:\tkluis\nVmPeak:\t  812345 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\nThreads:\t3\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(30_720));
        assert_eq!(status_kib(status, "VmHWM:"), Some(40_960));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        assert_eq!(mib(30_720), "30.0 MiB");
        // This process has a resident set.
        assert!(proc_kib(std::process::id(), "VmRSS:").is_some_and(|kib| kib > 0));
    }

    #[test]
    fn run_summaries_take_percentiles_and_mark_lower_bounds() {
        let mut a = Run {
            ok: 99,
            latency: (1..=99).map(Duration::from_millis).collect(),
            service: vec![Duration::from_millis(1); 99],
            elapsed: Duration::from_secs(1),
            ..Run::default()
        };
        let b = Run {
            unsent: 1,
            latency: vec![Duration::from_millis(500)],
            elapsed: Duration::from_secs(2),
            ..Run::default()
        };
        a.merge(b);
        let s = Summary::from(a);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(500));
        assert!((s.rate - 49.5).abs() < 1e-9, "{}", s.rate);
        assert_eq!(s.lat(s.p99), "≥ 99.00");
        assert_eq!(s.failures(), "0 + 1 unsent");
    }

    #[test]
    fn inputs_parse() {
        assert_eq!(parse_rates("1k,100,250,100"), Ok(vec![100, 250, 1000]));
        assert!(parse_rates("0,100").is_err());
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn request_parts() {
        assert_eq!(filler_json(334).len(), 334);
        assert!(serde_json::from_str::<serde_json::Value>(&filler_json(45)).is_ok());
        assert_eq!(query_escape("seed12@bench.example.nl"), "seed12%40bench.example.nl");
        assert_eq!(query_escape("a+b c"), "a%2Bb%20c");
        let out = "Token 01a2 (shown once; only its hash is stored):\n\n    kluis_abc-_9\n\nUse it as `Authorization: \
                   Bearer <token>` with a `Kluis-Purpose` header.\n";
        assert_eq!(token_from_output(out), Some("kluis_abc-_9"));
        assert_eq!(token_from_output("nothing here"), None);
        let body: serde_json::Value = serde_json::from_str(&subject_body("a@b.nl", 7)).unwrap();
        assert_eq!(body["values"]["email"], "a@b.nl");
        assert_eq!(body["values"].as_object().map(serde_json::Map::len), Some(7));
        assert_eq!(body["values"]["phone"], "+31610000007");
    }

    #[test]
    fn reads_are_the_same_for_both_servers_and_spread_over_the_seeded_addresses() {
        let emails: Arc<Vec<String>> = Arc::new((0..100).map(seed_email).collect());
        let work = Work::Read { emails, seed: 1 };
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let uri = |step, i| work.request(addr, "kluis_x", step, i).uri().to_string();
        assert_eq!(uri(3, 5), uri(3, 5));
        let distinct: std::collections::HashSet<_> = (0..200).map(|i| uri(3, i)).collect();
        assert!(distinct.len() > 50, "{}", distinct.len());
        assert!(uri(3, 0).starts_with("/api/v1/subjects?email=seed"));
    }
}
