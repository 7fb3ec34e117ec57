//! `kluis audit …` as an operator and an auditor use it, on SQLite and PostgreSQL: checkpoint,
//! verify (the store, then an export with nothing but the public key), export, public-key; a
//! tampered database or export fails verification and names the place; a foreign key is refused;
//! and `kluis serve` signs checkpoints by itself.

use std::io::{Read, Write};
use std::process::Output;
use std::time::{Duration, Instant};

use kluis_crypto::note::{AuditSigningKey, AuditVerifyingKey, verify_checkpoint};
use kluis_store_sql::SqlStore;
use sqlx::Row;

mod common;

use common::{Setup, fails, kluis, ok, run, start, stderr};

impl Setup {
    fn audit(&self, args: &[&str]) -> Output {
        run(self.kluis().arg("audit").args(args))
    }

    fn public_key_file(&self) -> String {
        self.data.join("audit.pub").to_string_lossy().into_owned()
    }
}

/// 32 random lowercase letters (never a BSN-shaped run of digits).
fn letters() -> String {
    let token = kluis_crypto::random_token().expect("randomness");
    let seed = kluis_crypto::sha256(token.as_bytes());
    seed.iter().take(16).flat_map(|b| [b >> 4, b & 0x0f]).map(|n| char::from(b'a' + n)).collect()
}

async fn event_bytes(store: &SqlStore, seq: i64) -> Vec<u8> {
    sqlx::query("SELECT event FROM audit_events WHERE seq = $1")
        .bind(seq)
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get("event"))
        .expect("read an event")
}

async fn set_event_bytes(store: &SqlStore, seq: i64, bytes: Vec<u8>) {
    let done = sqlx::query("UPDATE audit_events SET event = $1 WHERE seq = $2")
        .bind(bytes)
        .bind(seq)
        .execute(store.pool())
        .await
        .expect("rewrite an event");
    assert_eq!(done.rows_affected(), 1);
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack.windows(from.len()).position(|w| w == from).expect("the pattern occurs");
    [&haystack[..at], to, &haystack[at + from.len()..]].concat()
}

#[tokio::test]
async fn sqlite_audit_commands() {
    audit_commands(false).await;
}

#[tokio::test]
async fn postgres_audit_commands() {
    audit_commands(true).await;
}

async fn audit_commands(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else {
        return;
    };
    ok(&run(s.kluis().args(["init", "--no-admin"])));
    let public = std::fs::read_to_string(s.data.join("audit.pub")).expect("init writes audit.pub");
    let (origin, key) = AuditVerifyingKey::from_verifier_string(public.trim()).expect("audit.pub is a verifier key");
    assert_eq!(ok(&s.audit(&["public-key"])), public, "public-key prints audit.pub");

    for _ in 0..3 {
        let email = format!("{}@example.nl", letters());
        ok(&run(s
            .kluis()
            .args(["subject", "add", "--purpose", "service_delivery", "--set"])
            .arg(format!("email={email}"))));
    }
    let note = ok(&s.audit(&["checkpoint"]));
    let cp = verify_checkpoint(&note, &origin, &key).expect("the printed checkpoint verifies with audit.pub");
    assert_eq!(cp.size, 5, "two events from init, three creates");
    let verified = ok(&s.audit(&["verify"]));
    assert!(verified.contains("audit log OK: 5 events"), "{verified}");
    assert!(verified.contains("1 checkpoints"), "{verified}");
    // With the key given explicitly, inline.
    assert!(ok(&s.audit(&["verify", "--public-key", public.trim()])).contains("audit log OK"));

    // An export, verified with nothing but the public key.
    let export = s.data.join("export.jsonl");
    let export_arg = export.to_string_lossy().into_owned();
    assert!(ok(&s.audit(&["export", &export_arg])).contains("exported 5 audit events"));
    let out = ok(&s.audit(&["verify", "--file", &export_arg, "--public-key", &s.public_key_file()]));
    assert!(out.contains("audit export OK: 5 events, 1 checkpoints"), "{out}");
    // It never overwrites.
    let before = std::fs::read(&export).expect("export");
    fails(&s.audit(&["export", &export_arg]), "must not exist yet");
    assert_eq!(std::fs::read(&export).expect("export"), before, "the existing file is untouched");
    // --file needs a key.
    assert!(!s.audit(&["verify", "--file", &export_arg]).status.success());

    // A tampered export: one event rewritten (the checkpoint gives it away), one line removed.
    let text = std::fs::read_to_string(&export).expect("export");
    let lines: Vec<&str> = text.lines().collect();
    let event3 = lines.iter().position(|l| l.starts_with(r#"{"seq":3,"#)).expect("event 3 line");
    let tampered_dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, lines: &[String]| {
        let path = tampered_dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        path.to_string_lossy().into_owned()
    };
    let mut rewritten: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    rewritten[event3] = rewritten[event3].replace("success", "denied");
    assert_ne!(rewritten[event3], lines[event3]);
    let path = write("rewritten.jsonl", &rewritten);
    fails(&s.audit(&["verify", "--file", &path, "--public-key", &s.public_key_file()]), "checkpoint at size 5");
    let mut removed: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    removed.remove(event3);
    let path = write("removed.jsonl", &removed);
    fails(&s.audit(&["verify", "--file", &path, "--public-key", &s.public_key_file()]), "event 3 is missing");
    let mut moved: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    moved.swap(event3, event3 + 1);
    let path = write("moved.jsonl", &moved);
    fails(&s.audit(&["verify", "--file", &path, "--public-key", &s.public_key_file()]), "event 3 is missing");

    // Foreign keys: another log's key, and a different key under this log's name.
    let other = tempfile::tempdir().expect("temporary directory");
    let other_data = other.path().join("data");
    let other_url = if postgres { kluis_store_conformance::fresh_postgres_url().await } else { None };
    ok(&run(kluis(&other_data, other_url.as_deref()).args(["init", "--no-admin"])));
    let other_pub = other_data.join("audit.pub").to_string_lossy().into_owned();
    fails(&s.audit(&["verify", "--file", &export_arg, "--public-key", &other_pub]), "another log");
    fails(&s.audit(&["verify", "--public-key", &other_pub]), "differs from the trusted public key");
    let impostor = AuditSigningKey::generate().expect("key").verifying_key().to_verifier_string(&origin);
    fails(&s.audit(&["verify", "--file", &export_arg, "--public-key", &impostor]), "checkpoint at size 5");
    fails(&s.audit(&["verify", "--public-key", &impostor]), "differs from the trusted public key");
    fails(&s.audit(&["verify", "--file", &export_arg, "--public-key", "not-a-key"]), "not a verifier key");

    // Tamper with the database: event 3 changed in place.
    let store = s.store().await;
    let original = event_bytes(&store, 3).await;
    set_event_bytes(&store, 3, replace(&original, b"success", b"SUCCESS")).await;
    store.close().await;
    let out = s.audit(&["verify"]);
    fails(&out, "event 3 ");
    assert!(stderr(&out).contains("FAILED"), "{}", stderr(&out));
    // Restored, then an event deleted.
    let store = s.store().await;
    set_event_bytes(&store, 3, original).await;
    // A deleted event.
    let deleted = sqlx::query("DELETE FROM audit_events WHERE seq = 2").execute(store.pool()).await.expect("delete");
    assert_eq!(deleted.rows_affected(), 1);
    store.close().await;
    fails(&s.audit(&["verify"]), "event 2 is missing");
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         kluis-purpose: service_delivery\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn sqlite_serve_signs_checkpoints_by_itself() {
    serve_signs_checkpoints_by_itself(false).await;
}

#[tokio::test]
async fn postgres_serve_signs_checkpoints_by_itself() {
    serve_signs_checkpoints_by_itself(true).await;
}

async fn serve_signs_checkpoints_by_itself(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else {
        return;
    };
    let mut cmd = s.kluis();
    cmd.env("KLUIS_AUDIT_CHECKPOINT_EVERY_EVENTS", "6");
    let server = start(cmd);
    // The break-glass token reads the audit log; personal data needs an application token.
    let break_glass = server
        .stdout
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("kluis_"))
        .expect("the first start prints the break-glass token")
        .to_owned();
    let token = common::app_token(&s.data, s.url.as_deref());
    // Four events: initialisation (keyring, break-glass token), the application token, and this
    // use of the break-glass token. Fewer than six, nothing signed yet.
    let (status, body) = http(&server.addr, "GET", "/api/v1/audit/checkpoint", &break_glass, None);
    assert_eq!(status, 404, "{body}");

    for _ in 0..2 {
        let subject = format!(r#"{{"values":{{"email":"{}@example.nl"}}}}"#, letters());
        let (status, body) = http(&server.addr, "POST", "/api/v1/subjects", &token, Some(&subject));
        assert_eq!(status, 201, "{body}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let checkpoint: serde_json::Value = loop {
        let (status, body) = http(&server.addr, "GET", "/api/v1/audit/checkpoint", &break_glass, None);
        if status == 200 {
            break serde_json::from_str(&body).expect("JSON");
        }
        assert_eq!(status, 404, "{body}");
        assert!(Instant::now() < deadline, "kluis serve signed no checkpoint after six events");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(checkpoint["size"].as_u64().expect("size") >= 6, "{checkpoint}");
    let public = std::fs::read_to_string(s.data.join("audit.pub")).expect("audit.pub");
    let (origin, key) = AuditVerifyingKey::from_verifier_string(public.trim()).expect("verifier");
    let cp = verify_checkpoint(checkpoint["note"].as_str().expect("note"), &origin, &key).expect("verifies");
    assert_eq!(Some(cp.size), checkpoint["size"].as_u64());

    // The whole log verifies while the server runs.
    let out = ok(&s.audit(&["verify"]));
    assert!(out.contains("audit log OK") && !out.contains(" 0 checkpoints"), "{out}");
    drop(server);
}
