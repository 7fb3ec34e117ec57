//! Invariant 1 (DESIGN.md §4): no plaintext personal data at rest or in logs. A unique e-mail
//! address and IBAN go through every endpoint, successful and failing, on a spawned server with
//! every log line captured; afterwards no form of them may appear in the database files (SQLite),
//! the database dump (PostgreSQL), or the logs. Each scan has a positive control, so a scan that
//! silently looks at nothing fails too.
//!
//! The same holds for the secrets of access control: a password (and a wrong one typed at the
//! login), the TOTP seed (base32 and raw bytes), session cookies, API tokens (the break-glass
//! token included), an enrolment secret and recovery codes (used and unused) go through a full
//! flow (enrolment, logins, requests with the cookie, token use, logout) and then appear in no
//! database file and no log line, in any plain, hex or base64 form.

use std::path::Path;

use axum::http::StatusCode;
use kluis_store_conformance::{Backend, files_below, find_canary};
use serde_json::json;

use crate::helpers::{
    Staff, TestApp, encode, iban_spelled_differently, random_iban, seed_of, strong_password, unique_email,
};

backend_tests!(canary_never_reaches_disk_or_logs, access_secrets_never_reach_disk_or_logs);

/// Something to look for in stored bytes and logs.
trait Finder {
    /// The first form found in `haystack`, described with some context.
    fn find_in(&self, haystack: &[u8]) -> Option<String>;
}

fn context(haystack: &[u8], form: &str, at: usize) -> String {
    let from = at.saturating_sub(120);
    let to = (at + 200).min(haystack.len());
    format!("{form} at byte {at}: …{}…", String::from_utf8_lossy(&haystack[from..to]))
}

/// Every spelling of the canaries that the test sends or could be stored.
struct Canaries {
    email: String,
    local_part: String,
    iban: String,
    account: String,
}

impl Canaries {
    fn new() -> Canaries {
        let email = unique_email("canary", "example.nl");
        let local_part = email.split_once('@').map(|(local, _)| local.to_owned()).expect("an address");
        let iban = random_iban();
        let account = iban[4..].to_owned();
        Canaries { email, local_part, iban, account }
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
}

impl Finder for Canaries {
    /// The first canary form found in `haystack`, with some context.
    fn find_in(&self, haystack: &[u8]) -> Option<String> {
        self.forms()
            .iter()
            .find_map(|form| find_canary(haystack, form).map(|at| context(haystack, &format!("{form:?}"), at)))
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

async fn scan_at_rest(app: &TestApp, canary: &dyn Finder) {
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

fn scan_files(dir: &Path, canary: &dyn Finder) {
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

// ------------------------------------------------------------------------------------------------
// The secrets of access control

/// Named secrets; text secrets are searched in every form [`find_canary`] knows, raw bytes as
/// bytes, hex and base64.
struct Secrets {
    text: Vec<(&'static str, String)>,
    raw: Vec<(&'static str, Vec<u8>)>,
}

impl Secrets {
    fn text(&mut self, name: &'static str, value: &str) {
        assert!(value.len() >= 12, "{name} is long enough to be unmistakable");
        self.text.push((name, value.to_owned()));
    }

    fn raw(&mut self, name: &'static str, bytes: Vec<u8>) {
        assert!(bytes.len() >= 16, "{name} is long enough to be unmistakable");
        self.raw.push((name, bytes));
    }

    /// A `kluis_…` secret, and the random bytes its body encodes.
    fn token(&mut self, name: &'static str, value: &str) {
        use base64::Engine as _;
        self.text(name, value);
        let body = value.strip_prefix("kluis_").unwrap_or_else(|| panic!("{name} has the kluis_ prefix"));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).expect("a base64url body");
        self.raw(name, raw);
    }
}

/// Raw bytes in the forms they could leak in.
fn raw_forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let hex = hex::encode(bytes);
    let mut forms = vec![bytes.to_vec(), hex.to_uppercase().into_bytes(), hex.into_bytes()];
    for encoded in [STANDARD.encode(bytes), URL_SAFE.encode(bytes)] {
        forms.push(encoded.trim_end_matches('=').as_bytes().to_vec());
        forms.push(encoded.into_bytes());
    }
    forms
}

impl Finder for Secrets {
    fn find_in(&self, haystack: &[u8]) -> Option<String> {
        for (name, value) in &self.text {
            if let Some(at) = find_canary(haystack, value) {
                return Some(context(haystack, name, at));
            }
        }
        for (name, bytes) in &self.raw {
            for form in raw_forms(bytes) {
                if let Some(at) = haystack.windows(form.len()).position(|w| w == form.as_slice()) {
                    return Some(context(haystack, name, at));
                }
            }
        }
        None
    }
}

async fn access_secrets_never_reach_disk_or_logs(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut secrets = Secrets { text: Vec::new(), raw: Vec::new() };
    secrets.token("break-glass token", &app.admin_token.clone());
    secrets.token("service token", &app.token.clone());

    let staff = enrol(&app, &mut secrets).await;
    let password = staff.password.clone();
    let codes = staff.recovery_codes.clone();

    // A password typed wrong (say, another site's) is no more stored or logged than the right one.
    let wrong = strong_password();
    secrets.text("wrong password", &wrong);
    let res = app
        .post("/api/v1/auth/login")
        .anonymous()
        .json(&json!({ "username": "kanarie", "password": wrong, "totp": app.totp(&staff.seed) }))
        .send()
        .await;
    res.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Login with TOTP, requests with the cookie, logout.
    let session = app.login(&staff).await;
    secrets.token("session cookie", &session.cookie);
    let res = app.get("/api/v1/auth/session").session(&session).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["name"], "kanarie");
    let res = app
        .post("/api/v1/subjects")
        .session(&session)
        .purpose("service_delivery")
        .json(&json!({ "values": { "last_name": "Sessie" } }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_owned();
    let res = app.get(format!("/api/v1/subjects/{id}")).session(&session).purpose("support").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.post("/api/v1/auth/logout").session(&session).send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let res = app.get("/api/v1/auth/session").session(&session).send().await;
    res.problem(StatusCode::UNAUTHORIZED, "session_expired");

    // Login with a recovery code (now used; the other nine are not).
    let res = app
        .post("/api/v1/auth/login")
        .anonymous()
        .json(&json!({ "username": "kanarie", "password": password, "recovery_code": codes[0] }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let second = res.session();
    secrets.token("second session cookie", &second.cookie);
    let res = app.post("/api/v1/auth/logout").session(&second).send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);

    // An API token: made, used, revoked, refused.
    let res =
        app.post("/api/v1/tokens").admin().json(&json!({ "name": "kanarie", "purposes": ["support"] })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let token = res.json();
    let secret = token["token"].as_str().expect("token").to_owned();
    secrets.token("API token", &secret);
    let res = app.get(format!("/api/v1/subjects/{id}")).bearer(&secret).purpose("support").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.delete(format!("/api/v1/tokens/{}", token["id"].as_str().expect("id"))).admin().send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/fields").bearer(&secret).send().await.problem(StatusCode::UNAUTHORIZED, "token_revoked");

    // Positive control: the flow was audited (the scan of the database below covers the log).
    let actions: Vec<String> =
        app.audit_events().await.iter().map(|e| e["action"].as_str().unwrap_or_default().to_owned()).collect();
    for action in [
        "account.create",
        "account.enrol",
        "auth.login",
        "auth.logout",
        "auth.break_glass",
        "token.create",
        "token.revoke",
        "auth.refused",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} was audited: {actions:?}");
    }

    scan_at_rest(&app, &secrets).await;
    app.shutdown().await;
    scan_at_rest(&app, &secrets).await;
    let logs = app.logs();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("path=/api/v1/auth/login") && text.contains("status=401"), "the logs were captured:\n{text}");
    if let Some(hit) = secrets.find_in(&logs) {
        panic!("the logs hold a secret: {hit}");
    }
    // The scanner does find each secret (negative control for the scans above).
    for (name, value) in &secrets.text {
        assert!(secrets.find_in(format!("x{value}y").as_bytes()).is_some(), "{name} is found when present");
    }
    for (name, bytes) in &secrets.raw {
        let mut haystack = b"x".to_vec();
        haystack.extend_from_slice(bytes);
        assert!(secrets.find_in(&haystack).is_some(), "{name} is found when present");
        assert!(secrets.find_in(hex::encode(bytes).as_bytes()).is_some(), "{name} is found in hex");
    }
}

/// Enrolment: the administrator makes an account, the person sets a password and receives the
/// TOTP seed and recovery codes. Every secret involved is added to `secrets`.
async fn enrol(app: &TestApp, secrets: &mut Secrets) -> Staff {
    let res =
        app.post("/api/v1/accounts").admin().json(&json!({ "username": "kanarie", "role": "staff" })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let created = res.json();
    let enrolment_secret = created["enrolment_token"].as_str().expect("enrolment token").to_owned();
    secrets.token("enrolment secret", &enrolment_secret);
    let password = strong_password();
    secrets.text("password", &password);
    let res = app
        .post("/api/v1/auth/enrol")
        .anonymous()
        .json(&json!({ "enrolment_token": enrolment_secret, "password": password }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let enrolment = res.json();
    let uri = enrolment["otpauth_uri"].as_str().expect("otpauth URI").to_owned();
    let seed = seed_of(&uri);
    secrets.text("TOTP seed (base32)", seed.to_base32().as_str());
    secrets.text("TOTP seed (base32, lower case)", &seed.to_base32().to_lowercase());
    secrets.raw("TOTP seed", seed.expose().to_vec());
    let codes: Vec<String> = enrolment["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    for code in &codes {
        secrets.text("recovery code", code);
        secrets.text("recovery code (without dashes)", &code.replace('-', ""));
    }
    Staff {
        id: created["id"].as_str().expect("id").parse().expect("an account id"),
        username: "kanarie".to_owned(),
        password,
        seed,
        recovery_codes: codes,
    }
}
