//! The OpenAPI document lists every route with its methods, and every documented operation
//! exists on the real router.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use kluis_store_conformance::Backend;
use serde_json::json;

use kluis_domain::audit::AuditContext;
use kluis_vault::TokenSpec;

use crate::helpers::{TestApp, strong_password};

backend_tests!(openapi_lists_every_route, documented_operations_exist);

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// `(path, method)` of every operation in the served document.
async fn operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let res = app.get("/api/v1/openapi.json").without_auth().without_header("kluis-purpose").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", res.headers);
    let doc = res.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "an OpenAPI 3 document: {doc}");
    assert_eq!(doc["info"]["title"], "kluis");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object(), "bearer scheme: {doc}");
    // The served document is the one the crate exposes.
    assert_eq!(doc, serde_json::to_value(kluis_server::openapi()).expect("serialise the document"));
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for (key, _) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                ops.insert((path.clone(), key.clone()));
            }
        }
    }
    ops
}

async fn openapi_lists_every_route(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let ops = operations(&app).await;
    let want: BTreeSet<(String, String)> = [
        ("/api/v1/subjects", "get"),
        ("/api/v1/subjects", "post"),
        ("/api/v1/subjects/{id}", "get"),
        ("/api/v1/subjects/{id}", "patch"),
        ("/api/v1/subjects/{id}", "delete"),
        ("/api/v1/subjects/{id}/restriction", "put"),
        ("/api/v1/fields", "get"),
        ("/healthz", "get"),
        ("/api/v1/audit/checkpoint", "get"),
        ("/api/v1/audit/checkpoints", "post"),
        ("/api/v1/audit/proof/inclusion", "get"),
        ("/api/v1/audit/proof/consistency", "get"),
        ("/api/v1/audit/events", "get"),
        ("/api/v1/audit/public-key", "get"),
        ("/api/v1/register", "get"),
        ("/api/v1/register/versions", "get"),
        ("/api/v1/register/versions/{version}", "get"),
        ("/privacy", "get"),
        ("/privacy.md", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/session", "get"),
        ("/api/v1/auth/enrol", "post"),
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{id}", "get"),
        ("/api/v1/accounts/{id}", "patch"),
        ("/api/v1/accounts/{id}/unlock", "post"),
        ("/api/v1/accounts/{id}/revoke-sessions", "post"),
        ("/api/v1/accounts/{id}/reset-enrolment", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
        ("/api/v1/requests", "get"),
        ("/api/v1/requests", "post"),
        ("/api/v1/requests/{id}", "get"),
        ("/api/v1/requests/{id}/code", "post"),
        ("/api/v1/requests/{id}/id-upload", "post"),
        ("/api/v1/requests/{id}/id-document", "get"),
        ("/api/v1/requests/{id}/identity", "post"),
        ("/api/v1/requests/{id}/subject", "post"),
        ("/api/v1/requests/{id}/extend", "post"),
        ("/api/v1/requests/{id}/refuse", "post"),
        ("/api/v1/requests/{id}/cannot-identify", "post"),
        ("/api/v1/requests/{id}/withdraw", "post"),
        ("/api/v1/requests/{id}/fulfil", "post"),
        ("/api/v1/requests/{id}/lift-restriction", "post"),
        ("/api/v1/requests/{id}/transmit", "post"),
        ("/privacy/request", "get"),
        ("/privacy/request", "post"),
        ("/privacy/request/{id}", "get"),
        ("/privacy/request/{id}/verify", "post"),
        ("/privacy/request/{id}/code", "post"),
        ("/privacy/request/{id}/upload", "get"),
        ("/privacy/request/{id}/upload", "post"),
        ("/privacy/request/download/{token}", "get"),
        ("/privacy/request/download/{token}/{format}", "get"),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_owned(), m.to_owned()))
    .collect();
    assert_eq!(ops, want);
}

/// Routes that answer 404 until a register is loaded. Loading the example register replaces the
/// built-in purpose policy (it has no `storage` purpose), so these are called last.
fn needs_register(path: &str) -> bool {
    path.starts_with("/api/v1/register") || path.starts_with("/privacy")
}

/// Every documented operation answers with success, called the way it is meant to be called (the
/// right caller and body): so each is routed and documented under the path and method it has.
async fn documented_operations_exist(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let ops = operations(&app).await;
    assert!(!ops.is_empty());
    let ctx = AuditContext::system();
    let id = app.create(&json!({ "email": "openapi@example.nl" })).await;
    let victim = app.staff("victim", "staff", &[]).await;
    let opener = app.staff("opener", "staff", &[]).await;
    let dpo = app.staff("dpo", "dpo", &[]).await;
    let dpo = app.login(&dpo).await;
    let newcomer = app.vault.create_account(&ctx, "newcomer", "staff", &[]).await.expect("an open enrolment");
    let spec =
        TokenSpec { name: "to revoke".to_owned(), purposes: Some(vec!["billing".to_owned()]), ..TokenSpec::default() };
    let revocable = app.vault.create_token(&ctx, &spec).await.expect("a token");
    // Posts first (a checkpoint must exist to be read), deletes after (the subject must exist),
    // the register's routes last.
    let mut ordered: Vec<_> = ops.into_iter().collect();
    ordered.sort_by_key(|(path, m)| match (needs_register(path), m.as_str()) {
        (true, _) => 3,
        (false, "post") => 0,
        (false, "delete") => 2,
        _ => 1,
    });
    let mut loaded = false;
    for (path, method) in ordered {
        if needs_register(&path) && !loaded {
            crate::register::load(&app, crate::register::EXAMPLE).await;
            loaded = true;
        }
        let account = victim.id.to_string();
        let mut uri = path.replace("{version}", "1");
        uri = if path.starts_with("/api/v1/accounts/") {
            uri.replace("{id}", &account)
        } else if path.starts_with("/api/v1/tokens/") {
            uri.replace("{id}", &revocable.id.to_string())
        } else {
            uri.replace("{id}", &id)
        };
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let generic = app.request(method.clone(), uri.clone());
        let request = match (method.as_str(), path.as_str()) {
            // A lookup needs exactly one key.
            ("GET", "/api/v1/subjects") => app.get(format!("{uri}?email=openapi%40example.nl")),
            ("GET", "/api/v1/audit/proof/inclusion") => app.get(format!("{uri}?index=0")).admin(),
            ("GET", "/api/v1/audit/proof/consistency") => app.get(format!("{uri}?from=1")).admin(),
            (_, p) if p.starts_with("/api/v1/audit/") => generic.admin(),
            ("POST" | "PATCH", "/api/v1/subjects" | "/api/v1/subjects/{id}") => {
                generic.json(&json!({ "values": { "city": "Delft" } }))
            }
            ("PUT", "/api/v1/subjects/{id}/restriction") => generic.session(&dpo).json(&json!({ "restricted": false })),
            ("POST", "/api/v1/auth/login") => generic.anonymous().json(&json!({
                "username": opener.username, "password": opener.password, "recovery_code": opener.recovery_codes[0],
            })),
            ("POST", "/api/v1/auth/logout") => generic.anonymous(),
            ("POST", "/api/v1/auth/enrol") => generic.anonymous().json(&json!({
                "enrolment_token": newcomer.enrolment_secret.as_str(), "password": strong_password(),
            })),
            ("POST", "/api/v1/accounts") => generic.admin().json(&json!({ "username": "created", "role": "staff" })),
            ("PATCH", "/api/v1/accounts/{id}") => generic.admin().json(&json!({ "allowed_ips": [] })),
            ("POST", "/api/v1/tokens") => {
                generic.admin().json(&json!({ "name": "documented", "purposes": ["billing"] }))
            }
            (_, p) if p.starts_with("/api/v1/accounts") || p.starts_with("/api/v1/tokens") => generic.admin(),
            _ => generic,
        };
        let res = request.send().await;
        assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {}", res.text());
        let problem = res.header("content-type") == Some("application/problem+json");
        let unrouted = res.status == StatusCode::NOT_FOUND && problem && res.json()["code"] == "not_found";
        assert!(!unrouted, "{method} {uri} is documented but not routed: {}", res.text());
        // Data-subject requests need a request in the right state (or a download token) per
        // route: the authorization matrix calls each of them successfully; here they only have to
        // be routed.
        if !path.starts_with("/api/v1/requests") && !path.starts_with("/privacy/request") {
            assert!(res.status.is_success(), "{method} {uri}: {} {}", res.status, res.text());
        }
    }
    assert!(loaded, "the register routes were called");
}
