//! The OpenAPI document lists every route with its methods, and every documented operation
//! exists on the real router.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use kluis_store_conformance::Backend;
use serde_json::json;

use crate::helpers::TestApp;

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
    ]
    .into_iter()
    .map(|(p, m)| (p.to_owned(), m.to_owned()))
    .collect();
    assert_eq!(ops, want);
}

async fn documented_operations_exist(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let ops = operations(&app).await;
    assert!(!ops.is_empty());
    let id = app.create(&json!({ "email": "openapi@example.nl" })).await;
    // The register routes answer 404 until a register is loaded.
    crate::register::load(&app, crate::register::EXAMPLE).await;
    // Posts first (a checkpoint must exist to be read), delete last (the subject must exist).
    let mut ordered: Vec<_> = ops.into_iter().collect();
    ordered.sort_by_key(|(_, m)| match m.as_str() {
        "post" => 0,
        "delete" => 2,
        _ => 1,
    });
    for (path, method) in ordered {
        let mut uri = path.replace("{id}", &id).replace("{version}", "1");
        if uri == "/api/v1/subjects" && method == "get" {
            // A lookup needs exactly one key.
            uri.push_str("?email=openapi%40example.nl");
        }
        if uri == "/api/v1/audit/proof/inclusion" {
            uri.push_str("?index=0");
        }
        if uri == "/api/v1/audit/proof/consistency" {
            uri.push_str("?from=1");
        }
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let mut request = app.request(method.clone(), uri.clone());
        if method == Method::POST || method == Method::PATCH {
            request = request.json(&json!({ "values": { "city": "Delft" } }));
        }
        let res = request.send().await;
        assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {}", res.text());
        let unrouted = res.status == StatusCode::NOT_FOUND && res.json()["code"] == "not_found";
        assert!(!unrouted, "{method} {uri} is documented but not routed: {}", res.text());
        assert!(res.status.is_success(), "{method} {uri}: {} {}", res.status, res.text());
    }
}
