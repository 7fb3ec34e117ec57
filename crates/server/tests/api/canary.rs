//! Invariant 1 (DESIGN.md §4): no plaintext personal data at rest or in logs. A unique e-mail
//! address and IBAN go through every endpoint, successful and failing, on a spawned server with
//! every log line captured; afterwards no form of them may appear in the database files (SQLite),
//! the database dump (PostgreSQL), or the logs. Each scan has a positive control, so a scan that
//! silently looks at nothing fails too.

use std::path::Path;

use axum::http::StatusCode;
use kluis_store_conformance::{Backend, files_below, find_canary};
use serde_json::json;

use crate::helpers::{TestApp, encode, iban_spelled_differently, random_iban};

backend_tests!(canary_never_reaches_disk_or_logs);

/// Every spelling of the canaries that the test sends or could be stored.
struct Canaries {
    email: String,
    local_part: String,
    iban: String,
    account: String,
}

impl Canaries {
    fn new() -> Canaries {
        let catalogue = kluis_domain::fields::Catalogue::dutch_it_provider();
        // A UUID could hold a BSN-shaped run of digits, which kluis would refuse; draw again.
        let local_part = loop {
            let local = format!("canary-{}", uuid::Uuid::new_v4().simple());
            if catalogue.parse_value("email", &format!("{local}@example.nl")).is_ok() {
                break local;
            }
        };
        let iban = random_iban();
        let account = iban[4..].to_owned();
        Canaries { email: format!("{local_part}@example.nl"), local_part, iban, account }
    }

    fn forms(&self) -> Vec<String> {
        vec![
            self.email.clone(),
            self.email.to_uppercase(),
            self.local_part.clone(),
            self.iban.clone(),
            self.iban.to_lowercase(),
            iban_spelled_differently(&self.iban),
            self.account.clone(),
        ]
    }

    /// The first canary form found in `haystack`, with some context.
    fn find_in(&self, haystack: &[u8]) -> Option<String> {
        self.forms().iter().find_map(|form| {
            find_canary(haystack, form).map(|at| {
                let from = at.saturating_sub(120);
                let to = (at + 200).min(haystack.len());
                format!("{form:?} at byte {at}: …{}…", String::from_utf8_lossy(&haystack[from..to]))
            })
        })
    }
}

async fn canary_never_reaches_disk_or_logs(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    let canary = Canaries::new();
    let (id, mut request_ids) = succeed_with(&app, &canary).await;
    request_ids.extend(fail_with(&app, &canary, &id).await);

    // At rest, while the server is still running (WAL and shared memory files included).
    scan_at_rest(&app, &canary).await;
    app.shutdown().await;
    scan_at_rest(&app, &canary).await;
    scan_logs(&app, &canary, &request_ids);
    scan_audit_log(&app, &canary, &id).await;
}

/// Write, read, find, change: all succeed, and the canary comes back to the caller. Returns the
/// subject's id and request ids seen.
async fn succeed_with(app: &TestApp, canary: &Canaries) -> (String, Vec<String>) {
    let mut request_ids = Vec::new();
    let id = app.create(&json!({ "email": canary.email.to_uppercase(), "iban": iban_spelled_differently(&canary.iban), "last_name": "Vogel" })).await;
    let res = app.get(format!("/api/v1/subjects/{id}")).send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(find_canary(&res.body, &canary.email).is_some(), "the API returns the e-mail: {}", res.text());
    assert!(find_canary(&res.body, &canary.iban).is_some(), "the API returns the IBAN: {}", res.text());
    request_ids.extend(res.header("x-request-id").map(str::to_owned));

    for query in [
        format!("email={}", encode(&canary.email)),
        format!("email={}", encode(&canary.email.to_uppercase())),
        format!("iban={}", encode(&canary.iban)),
        format!("iban={}", encode(&iban_spelled_differently(&canary.iban))),
    ] {
        let res = app.get(format!("/api/v1/subjects?{query}")).send().await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(find_canary(&res.body, &canary.email).is_some(), "found by {query}: {}", res.text());
    }

    let res = app
        .patch(format!("/api/v1/subjects/{id}"))
        .json(&json!({ "values": { "email": format!(" {} ", canary.email), "iban": canary.iban.to_lowercase(), "city": "Zwolle" } }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(app.read(&id).await["values"]["city"], "Zwolle");
    (id, request_ids)
}

/// Errors carrying the canary, in values, keys, paths, queries and headers; none echoes it.
/// Returns the request ids seen.
async fn fail_with(app: &TestApp, canary: &Canaries, id: &str) -> Vec<String> {
    let mut request_ids = Vec::new();
    let subject = format!("/api/v1/subjects/{id}");
    let failures = [
        app.post("/api/v1/subjects")
            .json(&json!({ "values": { "email": canary.email, "iban": "NL00BADI0000000000" } })),
        app.post("/api/v1/subjects").json(&json!({ "values": { "email": canary.email, "bsn": "111222333" } })),
        app.post("/api/v1/subjects").json(&json!({ "values": { canary.email.clone(): canary.iban } })),
        app.post("/api/v1/subjects").json(&json!({ "values": { canary.iban.clone(): 5 } })),
        app.post("/api/v1/subjects").json(&json!({ "values": { canary.account.clone(): canary.email } })),
        app.post("/api/v1/subjects").body("application/json", format!(r#"{{"values": {{"email": "{}""#, canary.email)),
        app.post("/api/v1/subjects").body("text/plain", canary.email.clone()),
        app.patch(subject.clone()).json(&json!({ "values": { "email": canary.email, "phone": "06 1234" } })),
        app.patch(subject.clone()).json(&json!({ "values": { "email": [canary.email] } })),
        app.get(format!("/api/v1/subjects?email={}&iban={}", encode(&canary.email), encode(&canary.iban))),
        app.get(format!("/api/v1/subjects?email={}", encode(&format!("{}@", canary.email)))),
        app.get(format!("/api/v1/subjects?iban={}X", encode(&canary.iban))),
        app.get(format!("/api/v1/subjects?postcode={}", encode(&canary.email))),
        app.get(format!("/api/v1/subjects/{}", encode(&canary.email))),
        app.get(format!("/api/v1/subjects/{}", canary.iban)),
        app.delete(format!("/api/v1/subjects/{}", canary.iban)),
        app.get(format!("/api/v1/{}", encode(&canary.email))),
        app.get(format!("/{}/{}", canary.iban, encode(&canary.email))),
        app.request(axum::http::Method::PUT, format!("/api/v1/subjects/{id}?email={}", encode(&canary.email))),
        app.get(subject.clone()).header("kluis-purpose", &canary.email),
        app.get(subject.clone()).header("authorization", &format!("Bearer {}", canary.email)),
        app.get(subject.clone()).header("authorization", &canary.iban),
        app.get("/api/v1/fields").header("authorization", &format!("Bearer {}", canary.iban)),
    ];
    for request in failures {
        let res = request.send().await;
        assert!(res.status.is_client_error(), "expected a 4xx: {} {}", res.status, res.text());
        if let Some(hit) = canary.find_in(&res.body) {
            panic!("an error response echoes the canary ({}): {hit}", res.status);
        }
        request_ids.extend(res.header("x-request-id").map(str::to_owned));
    }
    // A client-chosen request id carrying the canary is replaced, never logged.
    let res = app.get(subject.clone()).header("x-request-id", &canary.email).send().await;
    assert_eq!(res.status, StatusCode::OK);
    assert_ne!(res.header("x-request-id"), Some(canary.email.as_str()));
    request_ids
}

/// The logs: the capture saw the server (positive control), and no canary.
fn scan_logs(app: &TestApp, canary: &Canaries, request_ids: &[String]) {
    let logs = app.logs();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("response") && text.contains("status=422"), "the server's lines were captured:\n{text}");
    assert!(text.contains("path=/api/v1/subjects/{id}"), "spans name the route template:\n{text}");
    for request_id in request_ids {
        assert!(text.contains(request_id.as_str()), "log lines of request {request_id} were captured");
    }
    if let Some(hit) = canary.find_in(&logs) {
        panic!("the logs hold the canary: {hit}");
    }
}

async fn scan_at_rest(app: &TestApp, canary: &Canaries) {
    match app.backend() {
        Backend::Sqlite => {
            let dir = app.db.dir.as_ref().expect("SQLite data directory").path();
            scan_files(dir, canary);
        }
        Backend::Postgres => {
            let url = app.db.url.as_deref().expect("PostgreSQL URL");
            let pg_dump = std::env::var("KLUIS_TEST_PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
            let output = tokio::process::Command::new(&pg_dump)
                .args(["--format=plain", "--no-owner", "--dbname", url])
                .output()
                .await
                .unwrap_or_else(|e| panic!("run {pg_dump} (set KLUIS_TEST_PG_DUMP): {e}"));
            assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
            let dump = output.stdout;
            // Positive control: the dump holds the tables and rows.
            let text = String::from_utf8_lossy(&dump);
            assert!(text.contains("CREATE TABLE") && text.contains("COPY "), "pg_dump output looks empty:\n{text}");
            if let Some(hit) = canary.find_in(&dump) {
                panic!("the PostgreSQL dump holds the canary: {hit}");
            }
        }
    }
}

fn scan_files(dir: &Path, canary: &Canaries) {
    let files = files_below(dir);
    let database = dir.join(kluis_store_sqlite::DATABASE_FILE);
    assert!(files.contains(&database), "the database file is scanned: {files:?}");
    let mut scanned = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        scanned += bytes.len();
        if let Some(hit) = canary.find_in(&bytes) {
            panic!("{} holds the canary: {hit}", file.display());
        }
    }
    assert!(scanned > 0, "the scanned files are empty: {files:?}");
}

/// The audit store and an audit export: the events name the subject (positive control) but hold
/// none of its values; nor do the Merkle nodes, the checkpoints, the dump or the export file.
async fn scan_audit_log(app: &TestApp, canary: &Canaries, id: &str) {
    use sqlx::Row;
    let pool = app.db.store.pool();
    app.vault.checkpoint_now().await.expect("sign a checkpoint");
    let mut audit = Vec::new();
    let mut events = 0;
    for row in sqlx::query("SELECT event FROM audit_events ORDER BY seq").fetch_all(pool).await.expect("audit events") {
        audit.extend(row.try_get::<Vec<u8>, _>("event").expect("event"));
        audit.push(b'\n');
        events += 1;
    }
    let events_text = String::from_utf8_lossy(&audit).into_owned();
    assert!(events > 10, "the flow was audited: {events} events");
    assert!(events_text.contains(id), "the audit events name the subject (positive control):\n{events_text}");
    assert!(events_text.contains("\"fields\":[") && events_text.contains("email"), "field names are logged");
    for row in sqlx::query("SELECT hash FROM audit_nodes").fetch_all(pool).await.expect("audit nodes") {
        audit.extend(row.try_get::<Vec<u8>, _>("hash").expect("hash"));
    }
    let mut checkpoints = 0;
    for row in sqlx::query("SELECT root, note FROM audit_checkpoints").fetch_all(pool).await.expect("checkpoints") {
        audit.extend(row.try_get::<Vec<u8>, _>("root").expect("root"));
        audit.extend(row.try_get::<String, _>("note").expect("note").into_bytes());
        checkpoints += 1;
    }
    assert!(checkpoints >= 1, "a checkpoint is scanned");
    if let Some(hit) = canary.find_in(&audit) {
        panic!("the audit store holds the canary: {hit}");
    }

    // The export, written where an operator would keep it: in the data directory (SQLite) or
    // a directory of its own (PostgreSQL).
    let export_dir = tempfile::tempdir().expect("temporary directory");
    let dir = app.db.dir.as_ref().map_or(export_dir.path(), |d| d.path());
    let path = dir.join("audit-export.jsonl");
    let mut file = std::fs::File::create(&path).expect("create the export");
    let written = kluis_vault::audit::export(&app.vault, &mut file, &mut |_, _| {}).await.expect("export");
    drop(file);
    assert_eq!(written, events, "every event exported");
    let exported = std::fs::read(&path).expect("read the export");
    let text = String::from_utf8_lossy(&exported);
    assert!(text.contains("kluis-audit-export") && text.contains(id), "the export holds the events (positive control)");
    if let Some(hit) = canary.find_in(&exported) {
        panic!("the audit export holds the canary: {hit}");
    }
    let (origin, key) = kluis_crypto::note::AuditVerifyingKey::from_verifier_string(&app.vault.audit_verifier_string())
        .expect("verifier key");
    let report = kluis_vault::audit::verify_export(&mut exported.as_slice(), &origin, &key, &mut |_, _| {})
        .expect("the export verifies");
    assert_eq!(report.events, events);

    match app.backend() {
        // The export now lies in the data directory: scan everything again.
        Backend::Sqlite => scan_files(dir, canary),
        Backend::Postgres => {
            let url = app.db.url.as_deref().expect("PostgreSQL URL");
            let pg_dump = std::env::var("KLUIS_TEST_PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
            let output = tokio::process::Command::new(&pg_dump)
                .args(["--format=plain", "--no-owner", "--data-only", "--table=audit_*", "--dbname", url])
                .output()
                .await
                .unwrap_or_else(|e| panic!("run {pg_dump}: {e}"));
            assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
            let dump = String::from_utf8_lossy(&output.stdout);
            assert!(
                dump.contains("COPY public.audit_events") && dump.contains(&hex::encode(id)),
                "the dump holds the audit events, bytea in hex (positive control):\n{dump}"
            );
            assert!(dump.contains("COPY public.audit_checkpoints"), "the dump holds the checkpoints");
            if let Some(hit) = canary.find_in(&output.stdout) {
                panic!("the PostgreSQL dump of the audit tables holds the canary: {hit}");
            }
        }
    }
}
