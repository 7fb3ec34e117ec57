//! Helpers shared by the CLI test binaries: run the real `kluis` binary with a clean environment,
//! read its output, and start `kluis serve` on a free port. Each test binary uses a subset.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
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

/// The admin token `kluis init` (or a first `kluis serve`) prints.
pub fn token_of(init_stdout: &str) -> String {
    init_stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("kluis_"))
        .expect("init prints the admin token")
        .to_owned()
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
#[allow(clippy::zombie_processes)] // the child is waited for by `Server::drop`, or killed below
pub fn start(mut cmd: Command) -> Server {
    let mut child =
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("kluis listening on http://") {
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
