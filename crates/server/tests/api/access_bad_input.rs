//! Bad input to access control: each gets a clear RFC 9457 problem with a stable code, and
//! nothing changes (accounts, tokens and stored data are compared before and after; refusals
//! may add audit events, nothing else).

use axum::http::StatusCode;
use kluis_store_conformance::Backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestRequest, strong_password};

backend_tests!(
    malformed_cidrs_are_refused,
    weak_passwords_at_enrolment_change_nothing,
    expired_token_is_refused,
    revoked_token_is_refused,
    unknown_purpose_header_is_refused,
    unknown_purpose_or_role_in_a_token_is_refused,
    unknown_role_of_an_account_is_refused,
    duplicate_username_is_refused,
    invalid_username_is_refused,
    unknown_or_malformed_ids_are_refused,
);

/// Everything a refused request must leave alone: accounts, tokens and row counts (without the
/// audit log, which records refusals).
async fn snapshot(app: &TestApp) -> (Vec<String>, Vec<String>, kluis_store::Counts) {
    let accounts = app.vault.accounts().await.expect("accounts").iter().map(|a| format!("{a:?}")).collect();
    let tokens = app.vault.tokens().await.expect("tokens").iter().map(|t| format!("{t:?}")).collect();
    let counts = kluis_store::Counts { audit_events: 0, ..app.counts().await };
    (accounts, tokens, counts)
}

/// Sends `request`, asserts the problem and that nothing changed; returns the problem.
async fn refused(app: &TestApp, request: TestRequest<'_>, status: StatusCode, code: &str, echo: &[&str]) -> Value {
    let before = snapshot(app).await;
    let res = request.send().await;
    let doc = res.problem(status, code);
    for value in echo {
        res.assert_not_echoed(value);
    }
    assert_eq!(snapshot(app).await, before, "a refused request changed something: {doc}");
    doc
}

fn detail(doc: &Value) -> &str {
    doc["detail"].as_str().expect("detail")
}

async fn malformed_cidrs_are_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    let too_many: Vec<String> = (0..1025).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
    // (entries, code, what the message must say)
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!(["10.0.0.0/33"]),
            "invalid_cidr",
            "entry 1 (`10.0.0.0/33`) has an invalid prefix length: give a number from 0 to 32",
        ),
        (json!(["2001:db8::/129"]), "invalid_cidr", "from 0 to 128"),
        (json!(["192.0.2.0/24", "abc"]), "invalid_cidr", "entry 2 (`abc`) is not an IPv4 or IPv6 address"),
        (json!(["10.0.0.1/8"]), "invalid_cidr", "did you mean 10.0.0.0/8?"),
        (json!(["10.0.0.0/-1"]), "invalid_cidr", "invalid prefix length"),
        (json!(["10.0.0.0/"]), "invalid_cidr", "invalid prefix length"),
        (json!([""]), "invalid_cidr", "is empty"),
        (json!(["10.0.0.0/8 "]), "ok", ""),
        (json!(too_many), "ip_allowlist_too_long", "at most 1024 entries"),
    ];
    for (entries, code, says) in cases {
        if code == "ok" {
            // Surrounding whitespace is fine (positive control for the refusals above).
            let res = app
                .post("/api/v1/tokens")
                .admin()
                .json(&json!({ "name": "spaties", "purposes": ["billing"], "allowed_ips": entries }))
                .send()
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
            continue;
        }
        let requests = [
            app.post("/api/v1/accounts")
                .admin()
                .json(&json!({ "username": "nieuw", "role": "staff", "allowed_ips": entries })),
            app.post("/api/v1/tokens")
                .admin()
                .json(&json!({ "name": "cidr", "purposes": ["billing"], "allowed_ips": entries })),
            app.patch(format!("/api/v1/accounts/{}", jan.id)).admin().json(&json!({ "allowed_ips": entries })),
        ];
        for request in requests {
            let doc = refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, code, &[]).await;
            assert!(detail(&doc).contains(says), "{entries}: {doc}");
            assert!(doc["detail_nl"].as_str().is_some_and(|d| d.contains("allowlist")), "{doc}");
        }
    }
    assert!(app.vault.account_by_username("nieuw").await.is_err(), "no account was made");
    // Canonical entries are stored as such.
    let res = app
        .post("/api/v1/accounts")
        .admin()
        .json(&json!({ "username": "nieuw", "role": "staff", "allowed_ips": ["192.0.2.7", " 2001:DB8::/32"] }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let account = app.vault.account_by_username("nieuw").await.expect("the account");
    assert_eq!(account.allowed_ips, ["192.0.2.7/32", "2001:db8::/32"]);
}

async fn weak_passwords_at_enrolment_change_nothing(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let res = app.post("/api/v1/accounts").admin().json(&json!({ "username": "marie", "role": "dpo" })).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let secret = res.json()["enrolment_token"].as_str().expect("enrolment token").to_owned();
    let enrol = |password: &str| {
        app.post("/api/v1/auth/enrol").anonymous().json(&json!({ "enrolment_token": secret, "password": password }))
    };
    for (weak, says) in [
        ("", "too short: use at least 12 characters"),
        ("Zz9!", "too short"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("welkom012345", "too easy to guess"),
        ("marie-marie-marie", "too easy to guess"),
        ("qwertyuiop123", "too easy to guess"),
    ] {
        let echo: &[&str] = if weak.len() >= 4 { &[weak] } else { &[] };
        let doc = refused(&app, enrol(weak), StatusCode::UNPROCESSABLE_ENTITY, "weak_password", echo).await;
        assert!(detail(&doc).contains(says), "{weak:?}: {doc}");
    }
    // The secret is still good: the weak attempts did not use it up.
    let res = enrol(&strong_password()).send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // A secret that was never handed out, or is malformed.
    for bogus in ["kluis_nope", "", &"x".repeat(5000)] {
        let request = app
            .post("/api/v1/auth/enrol")
            .anonymous()
            .json(&json!({ "enrolment_token": bogus, "password": strong_password() }));
        refused(&app, request, StatusCode::BAD_REQUEST, "enrolment_invalid", &[]).await;
    }
    // A body without a password is malformed, not a weak password.
    let request = app.post("/api/v1/auth/enrol").anonymous().json(&json!({ "enrolment_token": secret }));
    refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &[&secret]).await;
}

/// `POST /api/v1/tokens` as the break-glass token; returns id and secret.
async fn create_token(app: &TestApp, body: &Value) -> (String, String) {
    let res = app.post("/api/v1/tokens").admin().json(body).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let created = res.json();
    (created["id"].as_str().expect("id").to_owned(), created["token"].as_str().expect("token").to_owned())
}

async fn expired_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let soon = kluis_domain::Timestamp::from_millis(app.clock.now_millis() + 60_000).rfc3339_utc();
    let (id, token) = create_token(&app, &json!({ "name": "kort", "purposes": ["support"], "expires_at": soon })).await;
    let use_it = || app.get("/api/v1/auth/session").bearer(&token);
    assert_eq!(use_it().send().await.status, StatusCode::OK, "valid until it expires");
    app.clock.advance(61_000);
    let skip = app.audit_events().await.len();
    refused(&app, use_it(), StatusCode::UNAUTHORIZED, "token_expired", &[&token]).await;
    let create = app
        .post("/api/v1/subjects")
        .bearer(&token)
        .purpose("support")
        .json(&json!({ "values": { "last_name": "Laat" } }));
    refused(&app, create, StatusCode::UNAUTHORIZED, "token_expired", &[&token]).await;
    let events = app.audit_events_since(skip, "auth.refused").await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e["reason"] == "token_expired" && e["actor"] == format!("token:{id}")), "{events:?}");

    // An expiry in the past, or one that is not a date, is refused at creation.
    let past = kluis_domain::Timestamp::from_millis(app.clock.now_millis() - 1000).rfc3339_utc();
    for (expires_at, code) in
        [(past.as_str(), "invalid_expiry"), ("tomorrow", "invalid_expiry"), ("2027-13-01T00:00:00Z", "invalid_expiry")]
    {
        let request = app
            .post("/api/v1/tokens")
            .admin()
            .json(&json!({ "name": "verleden", "purposes": ["support"], "expires_at": expires_at }));
        refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, code, &[]).await;
    }
}

async fn revoked_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let (id, token) = create_token(&app, &json!({ "name": "weg", "purposes": ["newsletter"] })).await;
    let use_it = || app.get("/api/v1/fields").bearer(&token);
    assert_eq!(use_it().send().await.status, StatusCode::OK);
    let res = app.delete(format!("/api/v1/tokens/{id}")).admin().send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let skip = app.audit_events().await.len();
    refused(&app, use_it(), StatusCode::UNAUTHORIZED, "token_revoked", &[&token]).await;
    let events = app.audit_events_since(skip, "auth.refused").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["reason"], "token_revoked");
    // Revoking twice: there is no live token with this id.
    let request = app.delete(format!("/api/v1/tokens/{id}")).admin();
    refused(&app, request, StatusCode::NOT_FOUND, "token_not_found", &[]).await;
    // A revoked token stays listed, with the time of revocation.
    let tokens = app.get("/api/v1/tokens").admin().send().await.json();
    let listed = tokens["tokens"].as_array().expect("tokens").iter().find(|t| t["id"] == id.as_str()).cloned();
    assert!(listed.is_some_and(|t| t["revoked_at"].is_string()), "{tokens}");
    assert!(!tokens.to_string().contains(&token), "the list holds no secrets");
}

async fn unknown_purpose_header_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let id = app.create(&json!({ "email": "doel@example.nl", "last_name": "Doel" })).await;
    for purpose in ["marketing", "profiling", "storage_x"] {
        let requests = [
            app.post("/api/v1/subjects").json(&json!({ "values": { "last_name": "Nieuw" } })),
            app.get(format!("/api/v1/subjects/{id}")),
            app.get("/api/v1/subjects?email=doel%40example.nl"),
            app.patch(format!("/api/v1/subjects/{id}")).json(&json!({ "values": { "last_name": "Anders" } })),
            app.delete(format!("/api/v1/subjects/{id}")),
        ];
        for request in requests {
            let doc = refused(
                &app,
                request.purpose(purpose),
                StatusCode::BAD_REQUEST,
                "unknown_purpose",
                &["doel@example.nl"],
            )
            .await;
            assert!(detail(&doc).contains("not in the register"), "{doc}");
        }
    }
    assert_eq!(app.read(&id).await["values"]["last_name"], "Doel");
}

async fn unknown_purpose_or_role_in_a_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    for (body, code, says) in [
        (json!({ "name": "x", "purposes": ["marketing"] }), "unknown_purpose", "unknown purpose `marketing`"),
        (json!({ "name": "x", "purposes": ["billing", "profiling"] }), "unknown_purpose", "`profiling`"),
        (json!({ "name": "x", "purposes": ["Bad Purpose!"] }), "unknown_purpose", "not in the register"),
        (
            json!({ "name": "x", "role": "superuser" }),
            "unknown_role",
            "expected one of admin, dpo, staff, accountant, auditor",
        ),
        (json!({ "name": "x", "role": "Staff", "purposes": ["support"] }), "unknown_role", "unknown role"),
        (json!({ "name": "x", "role": "break_glass" }), "unknown_role", "kluis init"),
        (json!({ "name": "x" }), "empty_scope", "a role or at least one purpose"),
        (json!({ "name": "x", "purposes": [] }), "empty_scope", "a role or at least one purpose"),
    ] {
        let request = app.post("/api/v1/tokens").admin().json(&body);
        let doc = refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, code, &[]).await;
        assert!(detail(&doc).contains(says), "{body}: {doc}");
    }
    // Only an administrator makes tokens.
    let request = app.post("/api/v1/tokens").json(&json!({ "name": "x", "purposes": ["billing"] }));
    refused(&app, request, StatusCode::FORBIDDEN, "permission_denied", &[]).await;
}

async fn unknown_role_of_an_account_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let jan = app.staff("jan", "staff", &[]).await;
    for role in ["root", "Admin", "", "break_glass", "service"] {
        let request = app.post("/api/v1/accounts").admin().json(&json!({ "username": "nieuw", "role": role }));
        refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "unknown_role", &[]).await;
        let request = app.patch(format!("/api/v1/accounts/{}", jan.id)).admin().json(&json!({ "role": role }));
        refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "unknown_role", &[]).await;
    }
    let request = app.post("/api/v1/accounts").admin().json(&json!({ "username": "nieuw" }));
    refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &[]).await;
}

async fn duplicate_username_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    app.staff("jan", "staff", &[]).await;
    for role in ["staff", "admin"] {
        let request = app.post("/api/v1/accounts").admin().json(&json!({ "username": "jan", "role": role }));
        let doc = refused(&app, request, StatusCode::CONFLICT, "username_taken", &[]).await;
        assert!(detail(&doc).contains("already exists"), "{doc}");
    }
    // Names differ by case are not a loophole: upper case is not a valid name at all.
    let request = app.post("/api/v1/accounts").admin().json(&json!({ "username": "JAN", "role": "staff" }));
    refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username", &[]).await;
}

async fn invalid_username_is_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let long = "a".repeat(33);
    for username in ["jan@example.nl", "Jan", "j", "", "-jan", "jan de vries", "jan\u{e9}", long.as_str()] {
        let request = app.post("/api/v1/accounts").admin().json(&json!({ "username": username, "role": "staff" }));
        let echo: &[&str] = if username.len() > 3 { &[username] } else { &[] };
        let doc = refused(&app, request, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username", echo).await;
        assert!(detail(&doc).contains("not an e-mail address"), "{username:?}: {doc}");
    }
}

async fn unknown_or_malformed_ids_are_refused(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let nobody = uuid::Uuid::new_v4();
    for (request, status, code) in [
        (app.get("/api/v1/accounts/not-a-uuid").admin(), StatusCode::BAD_REQUEST, "invalid_id"),
        (app.get(format!("/api/v1/accounts/{nobody}")).admin(), StatusCode::NOT_FOUND, "account_not_found"),
        (
            app.patch(format!("/api/v1/accounts/{nobody}")).admin().json(&json!({ "disabled": true })),
            StatusCode::NOT_FOUND,
            "account_not_found",
        ),
        (app.post(format!("/api/v1/accounts/{nobody}/unlock")).admin(), StatusCode::NOT_FOUND, "account_not_found"),
        (
            app.post(format!("/api/v1/accounts/{nobody}/revoke-sessions")).admin(),
            StatusCode::NOT_FOUND,
            "account_not_found",
        ),
        (
            app.post(format!("/api/v1/accounts/{nobody}/reset-enrolment")).admin(),
            StatusCode::NOT_FOUND,
            "account_not_found",
        ),
        (app.delete("/api/v1/tokens/12345").admin(), StatusCode::BAD_REQUEST, "invalid_id"),
        (app.delete(format!("/api/v1/tokens/{nobody}")).admin(), StatusCode::NOT_FOUND, "token_not_found"),
        (
            app.put(format!("/api/v1/subjects/{nobody}/restriction")).admin().json(&json!({ "restricted": true })),
            StatusCode::FORBIDDEN,
            "permission_denied",
        ),
    ] {
        refused(&app, request, status, code, &[]).await;
    }
}
