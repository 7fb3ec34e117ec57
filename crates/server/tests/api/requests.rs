//! Data-subject requests end to end: intake on the public portal (a form post, as a browser sends
//! it), the code mailed through a real SMTP server (aiosmtpd, `crates/mail/tests/mailsink.py`) and
//! read from it, verification on the portal, fulfilment by staff over the API, the completion
//! notice and the download through the link in it, for every type of request. Then bad input:
//! each refusal is a clear error, and nothing changed.
//!
//! The SMTP tests need a Python with aiosmtpd (`KLUIS_TEST_PYTHON`, else `python3`);
//! `KLUIS_TEST_SKIP_SMTP=1` skips them. The other tests use the file mailer of the harness.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use kluis_domain::audit::AuditContext;
use kluis_server::ServerConfig;
use kluis_store_conformance::Backend;
use kluis_vault::TokenSpec;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, code_in, download_path_in, encode, random_iban, unique_email};

backend_tests!(
    every_type_end_to_end_over_smtp,
    unknown_request_type_is_refused,
    wrong_codes_until_the_limit,
    expired_code,
    id_upload_flow_and_its_refusals,
    download_after_expiry_is_gone,
    closed_requests_do_not_move,
    api_intake_and_lists,
    portal_pages,
    portal_forms_and_csrf,
);

/// The largest ID upload of these tests (small, so a too-large file is cheap to send).
const UPLOAD_MAX: u64 = 20_000;

fn config() -> ServerConfig {
    ServerConfig { upload_max_bytes: UPLOAD_MAX, ..ServerConfig::default() }
}

async fn app(backend: Backend) -> Option<TestApp> {
    TestApp::in_process_with(backend, config()).await
}

/// A role token of the dpo role (permission `handle_requests`).
async fn dpo_token(app: &TestApp) -> String {
    let spec = TokenSpec {
        name: "dpo (tests)".to_owned(),
        role: Some("dpo".to_owned()),
        purposes: None,
        ..TokenSpec::default()
    };
    app.vault.create_token(&AuditContext::system(), &spec).await.expect("a dpo token").secret.as_str().to_owned()
}

/// A subject with a name, an address and an IBAN; returns its id.
async fn subject(app: &TestApp, email: &str) -> String {
    app.create(&json!({
        "first_names": "Jan",
        "last_name": "Jansen",
        "email": email,
        "iban": random_iban(),
        "customer_number": format!("KLANT-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    }))
    .await
}

/// `application/x-www-form-urlencoded` of `fields`.
fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&").into_bytes()
}

/// A portal form post, as a browser sends it: no credentials, same origin.
async fn portal_post(app: &TestApp, uri: &str, fields: &[(&str, &str)]) -> TestResponse {
    app.post(uri)
        .anonymous()
        .header("sec-fetch-site", "same-origin")
        .body("application/x-www-form-urlencoded", form(fields))
        .send()
        .await
}

/// Files a request on the portal; returns its id (from the `303` to its page).
async fn portal_request(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let res = portal_post(app, "/privacy/request", fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let location = res.header("location").expect("a Location").to_owned();
    let id = location.strip_prefix("/privacy/request/").and_then(|r| r.split('?').next()).expect("the request's page");
    id.to_owned()
}

/// The request as staff see it.
async fn staff_view(app: &TestApp, dpo: &str, id: &str) -> Value {
    let res = app.get(format!("/api/v1/requests/{id}")).bearer(dpo).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

fn html_of(res: &TestResponse) -> String {
    assert!(
        res.header("content-type").is_some_and(|ct| ct.starts_with("text/html")),
        "an HTML page: {:?} {}",
        res.headers,
        res.text()
    );
    res.text()
}

/// A multipart form with one file in `document`.
fn multipart(content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "kluis-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"id.png\"\r\nContent-Type: \
         {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A tiny valid PNG signature followed by padding up to `len` bytes.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.resize(len.max(bytes.len()), 0);
    bytes
}

// ------------------------------------------------------------------------------------------------
// The SMTP sink

fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mail/tests/mailsink.py")
}

fn can_import(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python with aiosmtpd, or `None` when `KLUIS_TEST_SKIP_SMTP=1`.
fn python_with_aiosmtpd() -> Option<String> {
    if std::env::var("KLUIS_TEST_SKIP_SMTP").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: KLUIS_TEST_SKIP_SMTP=1, so the tests against a real SMTP server do not run");
        return None;
    }
    if let Ok(python) = std::env::var("KLUIS_TEST_PYTHON") {
        assert!(can_import(&python, "aiosmtpd"), "KLUIS_TEST_PYTHON={python} cannot import aiosmtpd");
        return Some(python);
    }
    for python in ["python3", "/usr/bin/python3"] {
        if can_import(python, "aiosmtpd") {
            return Some(python.to_owned());
        }
    }
    panic!(
        "no Python with aiosmtpd for the SMTP tests: run scripts/test, or `apt-get install python3-aiosmtpd`, or set \
         KLUIS_TEST_PYTHON; KLUIS_TEST_SKIP_SMTP=1 skips these tests"
    );
}

/// A running aiosmtpd; dropping it closes its standard input, which stops it.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start(python: &str) -> Sink {
        let dir = tempfile::tempdir().expect("a directory for the sink");
        let stderr = std::fs::File::create(dir.path().join("sink.log")).expect("the sink's log");
        let mut child = Command::new(python)
            .arg(sink_script())
            .arg("serve")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the port line");
        let Ok(port) = line.trim().parse() else {
            let _ = child.wait();
            panic!("the SMTP sink did not start: {:?}", std::fs::read_to_string(dir.path().join("sink.log")));
        };
        Sink { child, port, dir }
    }

    /// Every message received so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the sink directory")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("JSON")).collect()
    }

    /// Waits for a message to `to` whose body satisfies `want`; returns its body.
    fn wait_for(&self, to: &str, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(body) = self
                .messages()
                .iter()
                .filter(|m| m["rcpt_tos"] == json!([to]))
                .filter_map(|m| m["message"]["body"].as_str().map(|b| b.replace("\r\n", "\n")))
                .find(|b| want(b))
            {
                return body;
            }
            assert!(Instant::now() < deadline, "no {what} mail arrived for the requester");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn count_to(&self, to: &str) -> usize {
        self.messages().iter().filter(|m| m["rcpt_tos"] == json!([to])).count()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_config(port: u16) -> kluis_mail::MailConfig {
    kluis_mail::MailConfig {
        transport: kluis_mail::Transport::Smtp,
        from: "privacy@kluis.test".to_owned(),
        from_name: Some("Kluis Test B.V.".to_owned()),
        smtp: kluis_mail::SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Some(port),
            tls: kluis_mail::TlsMode::None,
            timeout_secs: 10,
            ..kluis_mail::SmtpConfig::default()
        },
        ..kluis_mail::MailConfig::default()
    }
}

// ------------------------------------------------------------------------------------------------
// End to end

/// What each type of request is filed with and what its download holds.
struct Case {
    kind: &'static str,
    lang: &'static str,
    purpose: &'static str,
    details: &'static str,
    fulfil: Value,
    formats: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            kind: "access",
            lang: "nl",
            purpose: "",
            details: "",
            fulfil: json!({}),
            formats: &["json", "csv_zip", "html"],
        },
        Case {
            kind: "rectification",
            lang: "en",
            purpose: "",
            details: "Mijn achternaam is Jansen-Bakker.",
            fulfil: json!({ "changes": { "last_name": "Jansen-Bakker" } }),
            formats: &[],
        },
        Case { kind: "erasure", lang: "both", purpose: "", details: "", fulfil: json!({}), formats: &["report"] },
        Case {
            kind: "restriction",
            lang: "nl",
            purpose: "",
            details: "Ik betwist de juistheid.",
            fulfil: json!({}),
            formats: &[],
        },
        Case {
            kind: "portability",
            lang: "en",
            purpose: "",
            details: "",
            fulfil: json!({}),
            formats: &["json", "csv"],
        },
        Case {
            kind: "objection",
            lang: "nl",
            purpose: "newsletter",
            details: "Geen nieuwsbrief meer.",
            fulfil: json!({}),
            formats: &[],
        },
        Case { kind: "withdrawal", lang: "both", purpose: "newsletter", details: "", fulfil: json!({}), formats: &[] },
    ]
}

#[allow(clippy::too_many_lines, reason = "one walk through the whole workflow")]
async fn every_type_end_to_end_over_smtp(backend: Backend) {
    let Some(python) = python_with_aiosmtpd() else {
        return;
    };
    let sink = Sink::start(&python);
    let Some(app) = TestApp::in_process_with_mail(backend, config(), Some(smtp_config(sink.port))).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    for case in cases() {
        // Random, so each case's mail is told apart; never BSN-shaped (see `unique_email`).
        let email = unique_email(case.kind, "voorbeeld.nl");
        let subject_id = subject(&app, &email).await;

        // Intake on the portal, as the browser posts the form.
        let id = portal_request(
            &app,
            &[
                ("kind", case.kind),
                ("email", &email),
                ("purpose", case.purpose),
                ("details", case.details),
                ("lang", case.lang),
            ],
        )
        .await;
        let page = app.get(format!("/privacy/request/{id}")).anonymous().send().await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = html_of(&page);
        assert!(html.contains(&format!("/privacy/request/{id}/verify")), "{}: the code form", case.kind);
        assert!(!html.contains(&email), "{}: the status page shows no personal data", case.kind);

        // The code, from the mail the SMTP server received.
        let mail = sink.wait_for(&email, "code", |b| code_in(b).is_some());
        let code = code_in(&mail).expect("a code");
        assert!(mail.contains(&id), "{}: the code mail names the reference", case.kind);
        let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", &code)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}: {}", case.kind, res.text());
        let view = staff_view(&app, &dpo, &id).await;
        assert_eq!(view["state"], "in_progress", "{}: {view}", case.kind);
        assert_eq!(view["verification"], "mailed_code");
        assert_eq!(view["subject"], subject_id.as_str(), "{}: linked by the verified address", case.kind);
        assert_eq!(view["email"], email.as_str());
        assert_eq!(view["channel"], "portal");
        assert_eq!(view["lang"], case.lang);

        // Staff carry it out over the API.
        let before = sink.count_to(&email);
        let res = app.post(format!("/api/v1/requests/{id}/fulfil")).bearer(&dpo).json(&case.fulfil).send().await;
        assert_eq!(res.status, StatusCode::OK, "{}: {}", case.kind, res.text());
        let done = res.json();
        assert!(
            done["state"] == "completed" || (case.kind == "erasure" && done["state"] == "partially_completed"),
            "{}: {done}",
            case.kind
        );
        assert!(done["closed_at"].is_string());
        assert_eq!(res.header("cache-control"), Some("no-store"));

        // The completion notice, with the download link where there is a download.
        let completed = sink.wait_for(&email, "completion", |b| {
            b.contains(&id) && (case.formats.is_empty() || download_path_in(b).is_some())
        });
        assert!(sink.count_to(&email) > before, "{}: a completion mail", case.kind);
        if case.formats.is_empty() {
            assert!(download_path_in(&completed).is_none(), "{}: no download link", case.kind);
        } else {
            let link = download_path_in(&completed).expect("a download link");
            let res = app.get(link.clone()).anonymous().send().await;
            assert_eq!(res.status, StatusCode::OK, "{}: {}", case.kind, res.text());
            let index = html_of(&res);
            assert_eq!(res.header("cache-control"), Some("no-store"));
            for format in case.formats {
                let href = format!("{link}/{format}");
                assert!(index.contains(&href), "{}: the page links {format}: {index}", case.kind);
                let res = app.get(href).anonymous().send().await;
                assert_eq!(res.status, StatusCode::OK, "{} {format}: {}", case.kind, res.text());
                assert_eq!(res.header("cache-control"), Some("no-store"), "{} {format}", case.kind);
                assert!(
                    res.header("content-disposition").is_some_and(|d| d.starts_with("attachment")),
                    "{} {format}: {:?}",
                    case.kind,
                    res.headers
                );
                assert!(!res.body.is_empty());
                if *format == "json" {
                    let doc: Value = serde_json::from_slice(&res.body).expect("the JSON export parses");
                    assert!(doc.to_string().contains("Jansen"), "{}: the export holds the data", case.kind);
                }
                if *format == "csv_zip" {
                    assert!(res.body.starts_with(b"PK"), "a zip archive");
                }
            }
            let res = app.get(format!("{link}/exe")).anonymous().send().await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "an unknown format");
        }

        // The right took effect.
        let stored = app.get(format!("/api/v1/subjects/{subject_id}")).send().await;
        match case.kind {
            "rectification" => assert_eq!(stored.json()["values"]["last_name"], "Jansen-Bakker"),
            "erasure" => assert_ne!(stored.status, StatusCode::OK, "erased: {}", stored.text()),
            "restriction" => {
                assert_eq!(stored.json()["restricted"], true);
                let res = app.post(format!("/api/v1/requests/{id}/lift-restriction")).bearer(&dpo).send().await;
                assert_eq!(res.status, StatusCode::OK, "{}", res.text());
                let stored = app.get(format!("/api/v1/subjects/{subject_id}")).send().await;
                assert_eq!(stored.json()["restricted"], false, "lifted");
            }
            "objection" | "withdrawal" => {
                let res = app.get(format!("/api/v1/subjects/{subject_id}")).purpose("newsletter").send().await;
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{}: {}", case.kind, res.text());
                assert_eq!(stored.status, StatusCode::OK, "other purposes go on");
            }
            _ => assert_eq!(stored.status, StatusCode::OK),
        }
        // A closed request's page says so and has no code form.
        let page = app.get(format!("/privacy/request/{id}")).anonymous().send().await;
        assert!(!html_of(&page).contains("/verify"), "{}", case.kind);
    }
}

// ------------------------------------------------------------------------------------------------
// Bad input

async fn request_count(app: &TestApp, dpo: &str) -> usize {
    let res = app.get("/api/v1/requests?filter=all").bearer(dpo).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["requests"].as_array().expect("requests").len()
}

async fn unknown_request_type_is_refused(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let subject_id = subject(&app, "onbekend@voorbeeld.nl").await;
    let before = app.counts().await;
    for body in
        [json!({ "kind": "complaint", "subject": subject_id }), json!({ "kind": "Access", "subject": subject_id })]
    {
        let res = app.post("/api/v1/requests").json(&body).send().await;
        let doc = res.problem(StatusCode::BAD_REQUEST, "unknown_request_type");
        assert!(doc["detail_nl"].as_str().is_some_and(|d| d.contains("access")), "{doc}");
    }
    // On the portal: the form again, with the problem, and nothing filed.
    let res = portal_post(&app, "/privacy/request", &[("kind", "complaint"), ("email", "onbekend@voorbeeld.nl")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = html_of(&res);
    assert!(html.contains("unknown_request_type") && html.contains("<form"), "{html}");
    let res = portal_post(&app, "/privacy/request", &[("email", "onbekend@voorbeeld.nl")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_of(&res).contains("kind_required"));
    let res = portal_post(&app, "/privacy/request", &[("kind", "access"), ("email", "")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html_of(&res).contains("email_required"));
    let res = portal_post(&app, "/privacy/request", &[("kind", "objection"), ("email", "iemand@voorbeeld.nl")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "an objection names its purpose");
    assert!(html_of(&res).contains("purpose_required"), "{}", res.text());
    let res = portal_post(&app, "/privacy/request", &[("kind", "access"), ("email", "geen-adres")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    // A service token names its customer; other fields are checked too.
    let res = app.post("/api/v1/requests").json(&json!({ "kind": "access" })).send().await;
    res.problem(StatusCode::UNPROCESSABLE_ENTITY, "subject_required");
    let res = app
        .post("/api/v1/requests")
        .json(&json!({ "kind": "access", "subject": subject_id, "lang": "de" }))
        .send()
        .await;
    res.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_lang");
    let res = app
        .post("/api/v1/requests")
        .json(&json!({ "kind": "erasure", "subject": subject_id, "changes": { "last_name": "X" } }))
        .send()
        .await;
    res.problem(StatusCode::UNPROCESSABLE_ENTITY, "changes_not_allowed");
    let res = app.post("/api/v1/requests").json(&json!({ "kind": "access", "subject": "nope" })).send().await;
    res.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_subject");
    assert_eq!(app.counts().await, before, "nothing was stored");
    assert_eq!(request_count(&app, &dpo).await, 0);
    assert!(app.mails().is_empty(), "nothing was mailed");
}

async fn wrong_codes_until_the_limit(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let id = portal_request(&app, &[("kind", "access"), ("email", "pogingen@voorbeeld.nl"), ("lang", "nl")]).await;
    let code = code_in(&app.mails()[0]).expect("the mailed code");
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for remaining in (1..=4).rev() {
        let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", wrong)]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let html = html_of(&res);
        assert!(html.contains("code_wrong") && html.contains(&format!("nog {remaining} poging")), "{html}");
        assert!(!html.contains(wrong), "the typed code is not echoed");
    }
    let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", wrong)]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(html_of(&res).contains("code_unavailable"), "the last attempt uses the code up");
    // Now even the right code does nothing.
    let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", &code)]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(html_of(&res).contains("code_unavailable"));
    let view = staff_view(&app, &dpo, &id).await;
    assert_eq!(view["state"], "verifying", "still unverified");
    assert!(view["verified_at"].is_null());
    // A new code (the portal's button) works.
    let res = portal_post(&app, &format!("/privacy/request/{id}/code?lang=en"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = app.get(res.header("location").expect("Location").to_owned()).anonymous().send().await;
    assert!(html_of(&page).contains("A new code was sent."));
    let fresh = code_in(app.mails().last().expect("a second code mail")).expect("a code");
    let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", &fresh)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(staff_view(&app, &dpo, &id).await["state"], "in_progress");
}

async fn expired_code(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let id = portal_request(&app, &[("kind", "erasure"), ("email", "te.laat@voorbeeld.nl")]).await;
    let code = code_in(&app.mails()[0]).expect("the mailed code");
    // The vault's clock moves past the code's validity (30 minutes).
    app.clock.advance(31 * 60 * 1000);
    let res = portal_post(&app, &format!("/privacy/request/{id}/verify"), &[("code", &code)]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(html_of(&res).contains("code_unavailable"));
    assert_eq!(staff_view(&app, &dpo, &id).await["state"], "verifying");
}

async fn id_upload_flow_and_its_refusals(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let subject_id = subject(&app, "paspoort@voorbeeld.nl").await;
    let id = portal_request(&app, &[("kind", "access"), ("email", "paspoort@voorbeeld.nl")]).await;
    let upload = format!("/privacy/request/{id}/upload");

    // Not enabled: the form and the post are refused, nothing stored.
    let res = app.get(upload.clone()).anonymous().send().await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(html_of(&res).contains("upload_not_allowed"));
    let (ct, body) = multipart("image/png", &png(100));
    let res = app.post(upload.clone()).anonymous().body(&ct, body).send().await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(html_of(&res).contains("upload_not_allowed"));
    assert_eq!(staff_view(&app, &dpo, &id).await["id_uploaded"], false);

    // Staff enable it, with a justification.
    let res = app
        .post(format!("/api/v1/requests/{id}/id-upload"))
        .bearer(&dpo)
        .json(&json!({ "justification": "Het adres is niet bij ons bekend." }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["id_upload_allowed"], true);
    let page = html_of(&app.get(format!("/privacy/request/{id}")).anonymous().send().await);
    assert!(page.contains(&upload), "the status page links the upload");
    let res = app.get(upload.clone()).anonymous().send().await;
    assert_eq!(res.status, StatusCode::OK);
    let html = html_of(&res);
    for phrase in
        ["BSN, pasfoto, de strook met tekens onderaan (MRZ) en het documentnummer", "(MRZ) and the document number"]
    {
        assert!(html.contains(phrase), "the shielding instruction in both languages: {html}");
    }
    assert!(html.contains("enctype=\"multipart/form-data\""));

    // Too large (the vault's limit, and past the body limit), the wrong type: refused.
    for len in [usize::try_from(UPLOAD_MAX).expect("small") + 1, 200_000] {
        let (ct, body) = multipart("image/png", &png(len));
        let res = app.post(upload.clone()).anonymous().body(&ct, body).send().await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{len} bytes: {}", res.text());
        assert!(html_of(&res).contains("upload_too_large"));
    }
    let (ct, body) = multipart("image/png", b"MZ\x90\0 not an image at all");
    let res = app.post(upload.clone()).anonymous().body(&ct, body).send().await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", res.text());
    assert!(html_of(&res).contains("upload_type"));
    let res = app.get(format!("/api/v1/requests/{id}/id-document")).bearer(&dpo).send().await;
    assert_eq!(res.status.as_u16() / 100, 4, "no document yet: {}", res.text());
    assert_eq!(staff_view(&app, &dpo, &id).await["id_uploaded"], false, "nothing was stored");

    // A proper upload, the staff check, and the file is gone.
    let document = png(5_000);
    let (ct, body) = multipart("image/png", &document);
    let res = app.post(upload.clone()).anonymous().body(&ct, body).send().await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(staff_view(&app, &dpo, &id).await["id_uploaded"], true);
    let res = app.get(format!("/api/v1/requests/{id}/id-document")).bearer(&dpo).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.body, document);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("content-type"), Some("image/png"));
    assert!(res.header("content-disposition").is_some_and(|d| d.starts_with("attachment")));
    // Not for a caller without handle_requests.
    let res = app.get(format!("/api/v1/requests/{id}/id-document")).send().await;
    res.problem(StatusCode::FORBIDDEN, "permission_denied");
    let res = app
        .post(format!("/api/v1/requests/{id}/identity"))
        .bearer(&dpo)
        .json(&json!({ "verified": true, "subject": subject_id }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let view = res.json();
    assert_eq!(view["state"], "in_progress");
    assert_eq!(view["verification"], "id_document");
    assert_eq!(view["id_uploaded"], false, "deleted right after the check");
    let res = app.get(format!("/api/v1/requests/{id}/id-document")).bearer(&dpo).send().await;
    res.problem(StatusCode::CONFLICT, "no_upload");
}

async fn download_after_expiry_is_gone(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let subject_id = subject(&app, "export@voorbeeld.nl").await;
    let res = app.post("/api/v1/requests").json(&json!({ "kind": "access", "subject": subject_id })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_owned();
    let res = app.post(format!("/api/v1/requests/{id}/fulfil")).bearer(&dpo).json(&json!({})).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mails = app.mails();
    let link = mails.iter().find_map(|m| download_path_in(m)).expect("a download link in the mail");
    assert!(mails.iter().all(|m| !m.contains("Content-Disposition: attachment")), "never an attachment");
    assert_eq!(app.get(link.clone()).anonymous().send().await.status, StatusCode::OK);
    assert_eq!(app.get(format!("{link}/json")).anonymous().send().await.status, StatusCode::OK);
    // A made-up token: not found.
    let res = app.get("/privacy/request/download/kluis_nonsense").anonymous().send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(html_of(&res).contains("download_not_found"));
    // Past the export period (14 days): gone, as page and as file.
    app.clock.advance(15 * 24 * 60 * 60 * 1000);
    let res = app.get(link.clone()).anonymous().send().await;
    assert_eq!(res.status, StatusCode::GONE, "{}", res.text());
    assert!(html_of(&res).contains("download_expired"));
    let res = app.get(format!("{link}/json")).anonymous().send().await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(!res.text().contains("Jansen"));
}

async fn closed_requests_do_not_move(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let subject_id = subject(&app, "dicht@voorbeeld.nl").await;
    let res = app.post("/api/v1/requests").json(&json!({ "kind": "erasure", "subject": subject_id })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_owned();
    let res = app.post(format!("/api/v1/requests/{id}/withdraw")).bearer(&dpo).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["state"], "withdrawn");
    let before = staff_view(&app, &dpo, &id).await;
    let counts = app.counts().await;
    for (path, body) in [
        ("fulfil", Some(json!({}))),
        ("extend", Some(json!({ "reasons": "Veel verzoeken tegelijk." }))),
        ("refuse", Some(json!({ "reasons": ["excessive"] }))),
        ("cannot-identify", Some(json!({}))),
        ("withdraw", None),
    ] {
        let request = app.post(format!("/api/v1/requests/{id}/{path}")).bearer(&dpo);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let res = request.send().await;
        let doc = res.problem(StatusCode::CONFLICT, "invalid_transition");
        assert!(doc["detail"].as_str().is_some_and(|d| d.contains("withdrawn")), "{path}: {doc}");
    }
    let after = staff_view(&app, &dpo, &id).await;
    assert_eq!(after["state"], "withdrawn");
    assert_eq!(after["timeline"], before["timeline"], "nothing was recorded");
    assert_eq!(app.counts().await.subjects, counts.subjects);
    // The subject was not erased.
    assert_eq!(app.get(format!("/api/v1/subjects/{subject_id}")).send().await.status, StatusCode::OK);
    // Unknown and malformed ids.
    let missing = uuid::Uuid::new_v4();
    let res = app.get(format!("/api/v1/requests/{missing}")).bearer(&dpo).send().await;
    res.problem(StatusCode::NOT_FOUND, "request_not_found");
    let res = app.get("/api/v1/requests/not-a-uuid").bearer(&dpo).send().await;
    res.problem(StatusCode::BAD_REQUEST, "invalid_id");
    let res = app.get(format!("/privacy/request/{missing}")).anonymous().send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

async fn api_intake_and_lists(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let dpo = dpo_token(&app).await;
    let subject_id = subject(&app, "api@voorbeeld.nl").await;
    // An application, for its logged-in customer: verified at once, the receipt to the address on file.
    let res = app
        .post("/api/v1/requests")
        .json(&json!({ "kind": "rectification", "subject": subject_id, "lang": "en", "changes": { "last_name": "Visser" } }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    assert_eq!((body["channel"].as_str(), body["state"].as_str()), (Some("api"), Some("in_progress")), "{body}");
    assert_eq!(body["verification"], "application");
    assert!(res.header("location").is_some_and(|l| l.ends_with(body["id"].as_str().expect("id"))));
    let api_id = body["id"].as_str().expect("id").to_owned();
    assert!(app.mails().iter().any(|m| m.contains(&api_id)), "the receipt went out");
    // Staff, on behalf of a letter: received, no code yet.
    let res = app
        .post("/api/v1/requests")
        .bearer(&dpo)
        .json(&json!({ "kind": "access", "email": "brief@voorbeeld.nl" }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    assert_eq!((body["channel"].as_str(), body["state"].as_str()), (Some("staff"), Some("received")), "{body}");
    let staff_id = body["id"].as_str().expect("id").to_owned();
    let res = app.post(format!("/api/v1/requests/{staff_id}/code")).bearer(&dpo).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["state"], "verifying");
    // The lists.
    for (filter, want) in [("open", 2), ("all", 2), ("overdue", 0), ("due_soon", 0)] {
        let res = app.get(format!("/api/v1/requests?filter={filter}")).bearer(&dpo).send().await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let list = res.json()["requests"].as_array().expect("requests").clone();
        assert_eq!(list.len(), want, "{filter}: {list:?}");
        assert!(list.iter().all(|r| r["email"].is_null()), "no addresses in lists");
    }
    let res = app.get("/api/v1/requests?filter=bogus").bearer(&dpo).send().await;
    res.problem(StatusCode::BAD_REQUEST, "invalid_query");
    // Past the due date, both are overdue.
    app.clock.advance(40 * 24 * 60 * 60 * 1000);
    let res = app.get("/api/v1/requests?filter=overdue").bearer(&dpo).send().await;
    assert_eq!(res.json()["requests"].as_array().expect("requests").len(), 2);
    // The rectification is carried out with the changes given at intake.
    let res = app.post(format!("/api/v1/requests/{api_id}/fulfil")).bearer(&dpo).json(&json!({})).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(app.read(&subject_id).await["values"]["last_name"], "Visser");
}

async fn portal_pages(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    // Dutch by default, English on request, by query or by header.
    let res = app.get("/privacy/request").anonymous().send().await;
    assert_eq!(res.status, StatusCode::OK);
    let nl = html_of(&res);
    assert!(nl.contains("lang=\"nl\"") && nl.contains("Verzoek indienen"), "{nl}");
    for uri in ["/privacy/request?lang=en", "/privacy/request"] {
        let res = app.get(uri).anonymous().header("accept-language", "en-GB,en;q=0.9").send().await;
        let en = html_of(&res);
        assert!(en.contains("lang=\"en\"") && en.contains("Submit request"), "{uri}");
    }
    let en = html_of(&app.get("/privacy/request?lang=en").anonymous().send().await);
    // Every type, as a radio button with its explanation; the purposes for objection and withdrawal.
    for kind in ["access", "rectification", "erasure", "restriction", "portability", "objection", "withdrawal"] {
        assert!(nl.contains(&format!("type=\"radio\" name=\"kind\" value=\"{kind}\"")), "{kind}");
    }
    assert!(nl.contains("U krijgt een kopie") && en.contains("You receive a copy"));
    assert!(nl.contains("<option value=\"newsletter\""), "the purposes of the policy in force");
    // The one inline style the CSP allows, and no scripts.
    assert_eq!(nl.matches("<style>").count(), 1);
    assert!(nl.contains(&format!("<style>{}</style>", kluis_register::HTML_STYLE)));
    assert!(!nl.contains("<script") && !nl.contains("style=\""));
    let csp = res.header("content-security-policy").expect("a CSP");
    assert!(csp.contains(&kluis_server::security::style_hash_source(kluis_register::HTML_STYLE)), "{csp}");
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    // With a register loaded, its purposes with their names.
    crate::register::load(&app, crate::register::EXAMPLE).await;
    let html = html_of(&app.get("/privacy/request").anonymous().send().await);
    assert!(html.contains("<option value="), "{html}");

    // Everything a requester types is escaped when the form comes back.
    let evil = "<script>alert(1)</script>";
    let res =
        portal_post(&app, "/privacy/request", &[("kind", "objection"), ("email", "x@voorbeeld.nl"), ("details", evil)])
            .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = html_of(&res);
    assert!(!html.contains(evil) && html.contains("&lt;script&gt;"), "{html}");
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

/// The same answer whether or not the address is known; the portal's forms pass the CSRF check
/// from the same origin and are refused from another site.
async fn portal_forms_and_csrf(backend: Backend) {
    let Some(mut app) = TestApp::spawn_with(backend, config()).await else {
        return;
    };
    subject(&app, "bekend@voorbeeld.nl").await;
    let mut pages = Vec::new();
    for email in ["bekend@voorbeeld.nl", "onbekend@voorbeeld.nl"] {
        let fields = [("kind", "access"), ("email", email), ("lang", "nl")];
        let res = portal_post(&app, "/privacy/request", &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        let location = res.header("location").expect("Location").to_owned();
        let id = location.strip_prefix("/privacy/request/").and_then(|l| l.split('?').next()).expect("id").to_owned();
        let page = app.get(location).anonymous().send().await;
        assert_eq!(page.status, StatusCode::OK);
        pages.push(html_of(&page).replace(&id, "<id>"));
    }
    assert_eq!(pages[0], pages[1], "the same page whether or not the address is known");
    assert_eq!(app.mails().len(), 2, "a code to each address");

    // From another site: refused, nothing filed.
    let before = app.mails().len();
    for (name, value) in [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")] {
        let res = app
            .post("/privacy/request")
            .anonymous()
            .header(name, value)
            .body(
                "application/x-www-form-urlencoded",
                form(&[("kind", "access"), ("email", "slachtoffer@voorbeeld.nl")]),
            )
            .send()
            .await;
        res.problem(StatusCode::FORBIDDEN, "csrf_failed");
    }
    assert_eq!(app.mails().len(), before, "nothing was filed or mailed");
    // Nothing typed into the form reaches the logs.
    let logs = String::from_utf8_lossy(&app.logs()).into_owned();
    for secret in ["bekend@voorbeeld.nl", "onbekend@voorbeeld.nl", "slachtoffer@voorbeeld.nl"] {
        assert!(!logs.contains(secret), "{secret} is in the logs");
    }
    app.shutdown().await;
}
