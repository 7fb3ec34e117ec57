//! Response headers: personal data is never cached, every response has a fresh request id.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use kluis_store_conformance::Backend;
use serde_json::json;

use crate::helpers::{TestApp, TestResponse, encode};

backend_tests!(personal_data_is_not_cached, every_response_has_a_fresh_request_id);

async fn personal_data_is_not_cached(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let id = app.create(&json!({ "email": "cache@example.nl" })).await;
    for uri in [format!("/api/v1/subjects/{id}"), format!("/api/v1/subjects?email={}", encode("cache@example.nl"))] {
        let res = app.get(uri.clone()).send().await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert!(res.text().contains("cache@example.nl"), "{uri} holds personal data");
        assert_eq!(res.header("cache-control"), Some("no-store"), "{uri}");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{uri}");
    }
}

fn request_id(res: &TestResponse) -> String {
    let id = res.header("x-request-id").unwrap_or_else(|| panic!("no x-request-id: {} {:?}", res.status, res.headers));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "request id is a UUID: {id}");
    id.to_owned()
}

async fn every_response_has_a_fresh_request_id(backend: Backend) {
    for spawned in [false, true] {
        let app = if spawned { TestApp::spawn(backend).await } else { TestApp::in_process(backend).await };
        let Some(app) = app else { return };
        let id = app.create(&json!({ "email": "rid@example.nl" })).await;
        let responses = [
            app.get("/healthz").send().await,
            app.get("/api/v1/openapi.json").send().await,
            app.get("/api/v1/fields").send().await,
            app.post("/api/v1/subjects").json(&json!({ "values": { "email": "rid2@example.nl" } })).send().await,
            app.get(format!("/api/v1/subjects/{id}")).send().await,
            app.patch(format!("/api/v1/subjects/{id}")).json(&json!({ "values": { "city": "Ede" } })).send().await,
            app.get("/api/v1/subjects?email=rid%40example.nl").send().await,
            app.get("/api/v1/nope").send().await,
            app.request(Method::PUT, "/api/v1/fields").send().await,
            app.get("/api/v1/fields").without_auth().send().await,
            app.post("/api/v1/subjects").json(&json!({ "values": { "iban": "NL00" } })).send().await,
            app.get(format!("/api/v1/subjects/{id}")).header("x-request-id", "client-chosen-id").send().await,
            app.get("/healthz").header("x-request-id", "00000000-0000-4000-8000-000000000000").send().await,
            app.delete(format!("/api/v1/subjects/{id}")).send().await,
        ];
        let mut seen = BTreeSet::new();
        for res in &responses {
            let rid = request_id(res);
            assert_ne!(rid, "00000000-0000-4000-8000-000000000000", "a client-chosen id was kept");
            assert!(seen.insert(rid.clone()), "request id {rid} repeated");
        }
        assert!(responses.iter().all(|r| r.header("x-request-id") != Some("client-chosen-id")));
    }
}
