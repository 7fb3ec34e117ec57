//! `/api/v1/audit`: signed checkpoints that verify with the published key, inclusion and
//! consistency proofs that verify against them, events whose encoding hashes to the proven leaf,
//! clear errors for bad ranges and callers; and fail-closed auditing over HTTP: with the audit
//! append failing inside the database (a real trigger), a write answers 503 without personal data
//! and stores nothing, and a read answers 503 without values.
//!
//! The audit routes need the permission `read_audit`. These tests read with an auditor's role
//! token: every use of the break-glass token is itself an audit event, which would change the log
//! they are checking (`audit_needs_the_read_audit_permission` covers the break-glass token too).

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kluis_crypto::merkle::{self, Hash};
use kluis_crypto::note::{AuditVerifyingKey, Checkpoint, verify_checkpoint};
use kluis_store_conformance::Backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestRequest, encode};

backend_tests!(
    checkpoints_and_proofs_verify,
    bad_ranges_and_queries_are_refused,
    audit_needs_the_read_audit_permission,
    failing_audit_append_answers_503_and_stores_nothing,
);

/// A role token; returns its secret.
async fn role_token(app: &TestApp, role: &str) -> String {
    let spec =
        kluis_vault::TokenSpec { name: format!("{role} token"), role: Some(role.to_owned()), ..Default::default() };
    let ctx = kluis_domain::audit::AuditContext::system();
    app.vault.create_token(&ctx, &spec).await.expect("create a role token").secret.as_str().to_owned()
}

/// Requests to the audit log with an auditor's role token (no purpose).
struct Auditor<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Auditor<'a> {
    async fn new(app: &'a TestApp) -> Auditor<'a> {
        Auditor { app, token: role_token(app, "auditor").await }
    }

    fn get(&self, uri: impl Into<String>) -> TestRequest<'a> {
        self.app.get(uri).bearer(&self.token).without_header("kluis-purpose")
    }

    fn post(&self, uri: impl Into<String>) -> TestRequest<'a> {
        self.app.post(uri).bearer(&self.token).without_header("kluis-purpose")
    }
}

/// 32 random lowercase letters: unique, and never a BSN-shaped run of digits (which kluis refuses).
fn letters() -> String {
    uuid::Uuid::new_v4().as_bytes().iter().flat_map(|b| [b >> 4, b & 0x0f]).map(|n| char::from(b'a' + n)).collect()
}

fn hash(b64: &Value) -> Hash {
    let bytes = STANDARD.decode(b64.as_str().expect("a base64 string")).expect("base64");
    bytes.try_into().expect("32 bytes")
}

fn hashes(list: &Value) -> Vec<Hash> {
    list.as_array().expect("an array of hashes").iter().map(hash).collect()
}

async fn verifier(auditor: &Auditor<'_>) -> (String, AuditVerifyingKey) {
    let app = auditor.app;
    let res = auditor.get("/api/v1/audit/public-key").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let text = res.json()["verifier"].as_str().expect("verifier").to_owned();
    assert_eq!(text, app.vault.audit_verifier_string());
    AuditVerifyingKey::from_verifier_string(&text).expect("a verifier key")
}

/// `POST /api/v1/audit/checkpoints`, verified with the published key.
async fn sign(auditor: &Auditor<'_>, origin: &str, key: &AuditVerifyingKey) -> (Value, Checkpoint) {
    let res = auditor.post("/api/v1/audit/checkpoints").send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    let cp = verify_checkpoint(body["note"].as_str().expect("note"), origin, key).expect("the note verifies");
    assert_eq!(body["size"], cp.size, "size field = signed size");
    assert_eq!(hash(&body["root"]), cp.root, "root field = signed root");
    assert_eq!(cp.origin, origin);
    (body, cp)
}

async fn create_some(app: &TestApp, n: usize) {
    for i in 0..n {
        app.create(&json!({ "email": format!("audit-{i}-{}@example.nl", letters()) })).await;
    }
}

async fn checkpoints_and_proofs_verify(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let auditor = Auditor::new(&app).await;
    let (origin, key) = verifier(&auditor).await;
    let res = auditor.get("/api/v1/audit/checkpoint").send().await;
    res.problem(StatusCode::NOT_FOUND, "no_checkpoint");

    create_some(&app, 3).await;
    let (_, first) = sign(&auditor, &origin, &key).await;
    create_some(&app, 4).await;
    let id = app.create(&json!({ "last_name": "Proef" })).await;
    app.read(&id).await;
    let (second_body, second) = sign(&auditor, &origin, &key).await;
    assert!(second.size > first.size, "the log grew: {} -> {}", first.size, second.size);
    // Signing again without new events returns the checkpoint of this size.
    let (again, _) = sign(&auditor, &origin, &key).await;
    assert_eq!(again, second_body);

    // The latest checkpoint, as JSON and as the bare signed note.
    let res = auditor.get("/api/v1/audit/checkpoint").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), second_body);
    let res = auditor.get("/api/v1/audit/checkpoint").header("accept", "text/plain").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.header("content-type").is_some_and(|c| c.starts_with("text/plain")), "{:?}", res.headers);
    assert_eq!(res.text(), second_body["note"].as_str().expect("note"));
    assert_eq!(verify_checkpoint(&res.text(), &origin, &key).expect("verifies"), second);

    // The events, whose canonical encoding hashes to the leaf of each inclusion proof.
    let res = auditor.get("/api/v1/audit/events?from=0&limit=1000").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let events = res.json();
    assert_eq!(events["size"], second.size);
    let list = events["events"].as_array().expect("events").clone();
    assert_eq!(list.len() as u64, second.size);
    let leaves: Vec<Hash> =
        list.iter().map(|e| merkle::leaf_hash(e["encoded"].as_str().expect("encoded").as_bytes())).collect();
    assert_eq!(merkle::root_of(&leaves), second.root, "the events are exactly the signed log");
    for (i, event) in list.iter().enumerate() {
        assert_eq!(event["seq"], i, "{event}");
        assert_eq!(event["event"]["seq"], i, "the parsed event: {event}");
    }
    assert_eq!(list.last().expect("events")["event"]["action"], "subject.read");

    for (size, root) in [(first.size, first.root), (second.size, second.root)] {
        for index in 0..size {
            let res = auditor.get(format!("/api/v1/audit/proof/inclusion?index={index}&size={size}")).send().await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text());
            let p = res.json();
            let leaf = hash(&p["leaf_hash"]);
            let i = usize::try_from(index).expect("index");
            assert_eq!(leaf, leaves[i], "leaf_hash of event {index} = hash of its encoding");
            assert_eq!(hash(&p["root"]), root, "proof root = checkpoint root");
            assert_eq!((p["index"].as_u64(), p["size"].as_u64()), (Some(index), Some(size)));
            merkle::verify_inclusion(&leaf, index, size, &hashes(&p["proof"]), &root)
                .unwrap_or_else(|e| panic!("inclusion of {index} in the checkpoint of {size}: {e:?}"));
        }
    }
    // Without a size: the current size.
    let res = auditor.get("/api/v1/audit/proof/inclusion?index=0").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.json()["size"].as_u64().expect("size") >= second.size);

    let res =
        auditor.get(format!("/api/v1/audit/proof/consistency?from={}&to={}", first.size, second.size)).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let p = res.json();
    assert_eq!(hash(&p["root_from"]), first.root);
    assert_eq!(hash(&p["root_to"]), second.root);
    let proof = hashes(&p["proof"]);
    assert!(!proof.is_empty());
    merkle::verify_consistency(first.size, second.size, &first.root, &second.root, &proof)
        .expect("the checkpoints are consistent");
    let mut wrong = first.root;
    wrong[0] ^= 1;
    assert!(merkle::verify_consistency(first.size, second.size, &wrong, &second.root, &proof).is_err());

    // Paging of events.
    let res = auditor.get("/api/v1/audit/events?from=2&limit=3").send().await;
    let page = res.json();
    let seqs: Vec<u64> =
        page["events"].as_array().expect("events").iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, [2, 3, 4]);
}

async fn bad_ranges_and_queries_are_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    create_some(&app, 2).await;
    let auditor = Auditor::new(&app).await;
    let size = app.vault.audit_size().await.expect("size");
    let before = app.counts().await;
    for uri in [
        format!("/api/v1/audit/proof/inclusion?index={size}&size={size}"),
        format!("/api/v1/audit/proof/inclusion?index={size}"),
        format!("/api/v1/audit/proof/inclusion?index=0&size={}", size + 10),
        "/api/v1/audit/proof/inclusion?index=0&size=0".to_owned(),
        "/api/v1/audit/proof/consistency?from=3&to=2".to_owned(),
        format!("/api/v1/audit/proof/consistency?from=1&to={}", size + 1),
        format!("/api/v1/audit/proof/consistency?from={}", size + 1),
    ] {
        let res = auditor.get(&uri).send().await;
        res.problem(StatusCode::BAD_REQUEST, "invalid_range");
    }
    for uri in [
        "/api/v1/audit/proof/inclusion",
        "/api/v1/audit/proof/inclusion?index=abc",
        "/api/v1/audit/proof/inclusion?index=-1",
        "/api/v1/audit/proof/inclusion?index=0&size=1e3",
        "/api/v1/audit/proof/inclusion?index=99999999999999999999999",
        "/api/v1/audit/proof/consistency",
        "/api/v1/audit/proof/consistency?from=x&to=2",
        "/api/v1/audit/events?limit=0",
        "/api/v1/audit/events?limit=1001",
        "/api/v1/audit/events?from=-5",
        "/api/v1/audit/events?limit=ten",
    ] {
        let res = auditor.get(uri).send().await;
        res.problem(StatusCode::BAD_REQUEST, "invalid_query");
    }
    // Beyond the end is an empty page, not an error.
    let res = auditor.get(format!("/api/v1/audit/events?from={}", size + 100)).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["events"], json!([]));
    assert_eq!(app.counts().await.audit_events, before.audit_events, "audit reads log nothing and change nothing");
}

async fn audit_needs_the_read_audit_permission(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let staff = role_token(&app, "staff").await;
    let auditor = role_token(&app, "auditor").await;
    let endpoints = [
        ("GET", "/api/v1/audit/checkpoint"),
        ("POST", "/api/v1/audit/checkpoints"),
        ("GET", "/api/v1/audit/proof/inclusion?index=0"),
        ("GET", "/api/v1/audit/proof/consistency?from=1"),
        ("GET", "/api/v1/audit/events"),
        ("GET", "/api/v1/audit/public-key"),
    ];
    for (method, uri) in endpoints {
        let request = || app.request(method.parse().expect("method"), uri).without_header("kluis-purpose");
        request().without_auth().send().await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
        request()
            .header("authorization", "Bearer kluis_not-a-real-token")
            .send()
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthorized");
        // A staff role token and the service token (every purpose, no permission) are refused.
        let res = request().bearer(&staff).send().await;
        let doc = res.problem(StatusCode::FORBIDDEN, "permission_denied");
        assert!(doc["detail"].as_str().is_some_and(|d| d.contains("read_audit")), "names the permission: {doc}");
        request().send().await.problem(StatusCode::FORBIDDEN, "permission_denied");
        // The auditor and the break-glass token pass (positive controls; the checkpoint GET needs
        // one signed first).
        for (who, res) in
            [("auditor", request().bearer(&auditor).send().await), ("break-glass", request().admin().send().await)]
        {
            assert!(
                res.status.is_success() || (uri.ends_with("/checkpoint") && res.status == StatusCode::NOT_FOUND),
                "{method} {uri} as {who}: {} {}",
                res.status,
                res.text()
            );
        }
    }
    assert!(app.vault.latest_checkpoint().await.expect("latest").is_some(), "the auditor's POST signed one");
    // The staff token does authenticate (so the 403 is about the permission, not the token).
    let res = app.get("/api/v1/fields").bearer(&staff).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

/// Installs a trigger that makes every insert into `audit_events` fail.
async fn break_audit(app: &TestApp) {
    let statements: &[&str] = match app.backend() {
        Backend::Sqlite => &[
            "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'injected audit failure'; END $$",
            "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION injected_failure()",
        ],
    };
    for sql in statements {
        sqlx::raw_sql(*sql).execute(app.db.store.pool()).await.expect("install the failing trigger");
    }
}

async fn repair_audit(app: &TestApp) {
    let statements: &[&str] = match app.backend() {
        Backend::Sqlite => &["DROP TRIGGER injected_failure"],
        Backend::Postgres => &["DROP TRIGGER injected_failure ON audit_events", "DROP FUNCTION injected_failure()"],
    };
    for sql in statements {
        sqlx::raw_sql(*sql).execute(app.db.store.pool()).await.expect("drop the failing trigger");
    }
}

async fn failing_audit_append_answers_503_and_stores_nothing(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    let existing_email = format!("bestaand-{}@example.nl", letters());
    let id = app.create(&json!({ "email": existing_email, "last_name": "Bestaand", "city": "Gouda" })).await;
    let canary = format!("canary-{}@example.nl", letters());
    let before = app.counts().await;
    let size = app.vault.audit_size().await.expect("size");

    break_audit(&app).await;
    let res = app
        .post("/api/v1/subjects")
        .json(&json!({ "values": { "email": canary, "last_name": "Kanarie" } }))
        .send()
        .await;
    res.problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
    res.assert_not_echoed(&canary);
    res.assert_not_echoed("Kanarie");
    assert!(!res.text().contains("injected"), "no database detail in the body: {}", res.text());

    let res = app.get(format!("/api/v1/subjects/{id}")).send().await;
    res.problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
    for value in [existing_email.as_str(), "Bestaand", "Gouda"] {
        res.assert_not_echoed(value);
    }
    let res = app.get(format!("/api/v1/subjects?email={}", encode(&existing_email))).send().await;
    res.problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
    res.assert_not_echoed(&existing_email);
    res.assert_not_echoed("Bestaand");
    let res = app.patch(format!("/api/v1/subjects/{id}")).json(&json!({ "values": { "city": canary } })).send().await;
    res.problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
    res.assert_not_echoed(&canary);
    let res = app.delete(format!("/api/v1/subjects/{id}")).send().await;
    res.problem(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");

    assert_eq!(app.counts().await, before, "nothing stored, changed or erased");
    assert_eq!(app.vault.audit_size().await.expect("size"), size, "the audit head was rolled back");
    repair_audit(&app).await;

    assert!(app.find(&format!("email={}", encode(&canary))).await.is_empty(), "the canary subject was never stored");
    let subject = app.read(&id).await;
    assert_eq!(subject["values"]["city"], "Gouda", "the subject is unchanged: {subject}");
    assert_eq!(subject["values"]["email"], existing_email.as_str());
    let logs = String::from_utf8_lossy(&app.logs()).into_owned();
    assert!(logs.contains("storage failure"), "the failure is logged for the operator");
    assert!(!logs.contains(&canary), "the log holds no canary");
    app.shutdown().await;
    let report = kluis_vault::audit::verify_store(
        app.vault.store(),
        app.vault.audit_origin(),
        app.vault.audit_verifying_key(),
        &mut |_, _| {},
    )
    .await
    .expect("the log verifies after the failures");
    assert_eq!(report.events, app.vault.audit_size().await.expect("size"));
}
