//! Helpers shared by the CLI test binaries: run the real `kluis` binary with a clean environment,
//! read its output, and start `kluis serve` on a free port. Each test binary uses a subset.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `kluis` binary with `--data-dir`, no inherited `KLUIS_*` settings (test variables stay),
/// quiet logs, and PostgreSQL when `database_url` is given.
pub fn kluis(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kluis"));
    for (key, _) in std::env::vars() {
        if key.starts_with("KLUIS_") && !key.starts_with("KLUIS_TEST_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("--data-dir").arg(data_dir).env("KLUIS_LOG_LEVEL", "warn");
    if let Some(url) = database_url {
        cmd.env("KLUIS_DATABASE_URL", url);
    }
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run kluis")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "kluis failed:\nstdout: {}\nstderr: {}", stdout(o), stderr(o));
    stdout(o)
}

/// Asserts failure with `needle` in stderr.
#[track_caller]
pub fn fails(o: &Output, needle: &str) {
    assert!(!o.status.success(), "kluis should have failed:\nstdout: {}", stdout(o));
    assert!(stderr(o).contains(needle), "stderr should name {needle:?}:\n{}", stderr(o));
}

/// The first `kluis_…` token a command printed: the break-glass token of `kluis init` (or a first
/// `kluis serve`), or the token of `kluis token create`.
pub fn token_of(init_stdout: &str) -> String {
    init_stdout.lines().map(str::trim).find(|l| l.starts_with("kluis_")).expect("a kluis_… token is printed").to_owned()
}

/// A running `kluis serve`, killed and reaped on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// What it printed before "listening".
    pub stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd serve` on a free loopback port and waits until it listens.
pub fn start(cmd: Command) -> Server {
    start_serving(cmd, &[], "kluis listening on http://")
}

/// Starts `cmd serve --tls-cert CERT --tls-key KEY` on a free loopback port and waits until it
/// listens on HTTPS.
pub fn start_https(cmd: Command, cert: &Path, key: &Path) -> Server {
    let args =
        [std::ffi::OsStr::new("--tls-cert"), cert.as_os_str(), std::ffi::OsStr::new("--tls-key"), key.as_os_str()];
    start_serving(cmd, &args, "kluis listening on https://")
}

#[allow(clippy::zombie_processes)] // the child is waited for by `Server::drop`, or killed below
fn start_serving(mut cmd: Command, extra: &[&std::ffi::OsStr], listening: &str) -> Server {
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix(listening) {
            return Server { child, addr: addr.to_owned(), stdout: lines };
        }
        lines.push(line);
        assert!(Instant::now() < deadline, "server did not start");
    }
    let _ = child.kill();
    panic!("server exited before listening: {lines:?}");
}

/// One plain HTTP/1.1 GET; the whole response as text.
pub fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Purposes of the application token the tests use for personal-data calls over HTTP.
pub const TEST_TOKEN_PURPOSES: &str = "service_delivery,support,storage,erasure_request";

/// Creates an application token with `kluis token create --name tests --purposes …` on the data
/// directory `data_dir` (and PostgreSQL `database_url`) and returns the printed `kluis_…` token.
/// The break-glass token `init` prints never sees personal data; this one may.
#[track_caller]
pub fn app_token(data_dir: &Path, database_url: Option<&str>) -> String {
    let out = run(kluis(data_dir, database_url).args([
        "token",
        "create",
        "--name",
        "tests",
        "--purposes",
        TEST_TOKEN_PURPOSES,
    ]));
    token_of(&ok(&out))
}

/// A test's temporary directory (holding the data directory and any other files of the test) and,
/// for PostgreSQL, a fresh database.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub url: Option<String>,
}

impl Setup {
    /// `None` when PostgreSQL is skipped on purpose.
    pub async fn new(postgres: bool) -> Option<Setup> {
        let url = if postgres { Some(kluis_store_conformance::fresh_postgres_url().await?) } else { None };
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        Some(Setup { dir, data, url })
    }

    /// `kluis` on this data directory (and database).
    pub fn kluis(&self) -> Command {
        kluis(&self.data, self.url.as_deref())
    }

    /// The store, opened directly (for counting and tampering; the SQLite file must exist).
    pub async fn store(&self) -> kluis_store_sql::SqlStore {
        match &self.url {
            Some(url) => kluis_store_postgres::connect(url, 2).await.expect("connect"),
            None => kluis_store_sqlite::open(&self.data.join(kluis_store_sqlite::DATABASE_FILE)).await.expect("open"),
        }
    }
}
