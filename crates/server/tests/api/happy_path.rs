//! The normal life of a subject: create, read, change, find, erase; the catalogue and health.

use axum::http::StatusCode;
use kluis_store_conformance::Backend;
use serde_json::json;

use crate::helpers::{TestApp, encode};

backend_tests!(
    subject_lifecycle_in_process,
    subject_lifecycle_over_http,
    fields_lists_the_catalogue,
    healthz_names_the_backend
);

async fn subject_lifecycle_in_process(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    subject_lifecycle(&app).await;
}

async fn subject_lifecycle_over_http(backend: Backend) {
    let Some(mut app) = TestApp::spawn(backend).await else {
        return;
    };
    subject_lifecycle(&app).await;
    app.shutdown().await;
}

async fn subject_lifecycle(app: &TestApp) {
    // A bystander, so that a lookup returning everyone would be noticed.
    let other = app
        .create(&json!({
            "email": "piet@example.nl",
            "phone": "06 87654321",
            "iban": "DE89 3704 0044 0532 0130 00",
            "customer_number": "klant-0099",
            "postcode": "1234 AB",
            "house_number": "14",
        }))
        .await;
    let id = create_and_read(app, &other).await;
    find_by_every_index(app, &id).await;
    change(app, &id).await;
    erase(app, &id).await;
    // The bystander is untouched.
    assert_eq!(app.read(&other).await["values"]["email"], "piet@example.nl");
    assert_eq!(app.find(&format!("postcode={}&house_number=14", encode("1234AB"))).await, vec![other]);
}

/// Create: 201, the id in the body and in Location; read: values come back normalised.
async fn create_and_read(app: &TestApp, other: &str) -> String {
    let res = app
        .post("/api/v1/subjects")
        .json(&json!({
            "kind": "customer",
            "values": {
                "email": " Jan.Jansen@Example.NL ",
                "phone": "06-12345678",
                "iban": "nl91 abna 0417 1643 00",
                "customer_number": "klant-0042",
                "postcode": "1234ab",
                "house_number": "12",
                "last_name": "Jansen",
                "city": "Utrecht",
            }
        }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "id is a UUID: {id}");
    assert_eq!(res.header("location"), Some(format!("/api/v1/subjects/{id}").as_str()));
    assert_ne!(id, other);
    assert_eq!(res.header("cache-control"), None, "the created body holds no personal data");

    // Read: values come back normalised.
    let subject = app.read(&id).await;
    assert_eq!(subject["id"], id.as_str());
    assert_eq!(subject["kind"], "customer");
    assert!(subject["created_at"].as_str().is_some_and(|t| t.contains('T')), "{subject}");
    assert_eq!(
        subject["values"],
        json!({
            "email": "jan.jansen@example.nl",
            "phone": "+31612345678",
            "iban": "NL91ABNA0417164300",
            "customer_number": "KLANT-0042",
            "postcode": "1234 AB",
            "house_number": "12",
            "last_name": "Jansen",
            "city": "Utrecht",
        })
    );
    id
}

/// Find by every index, spelled differently than stored, URL-encoded.
async fn find_by_every_index(app: &TestApp, id: &str) {
    // Find by every index, spelled differently than stored, URL-encoded.
    for query in [
        format!("email={}", encode("JAN.JANSEN@example.nl")),
        format!("phone={}", encode("+31 6 1234 5678")),
        format!("iban={}", encode("NL91 ABNA 0417 1643 00")),
        format!("customer_number={}", encode("Klant-0042")),
        format!("postcode={}&house_number={}", encode("1234 ab"), encode(" 12 ")),
    ] {
        assert_eq!(app.find(&query).await, vec![id.to_owned()], "find by {query}");
    }
    assert_eq!(app.find(&format!("email={}", encode("nobody@example.nl"))).await, Vec::<String>::new());
}

/// Change: set a field, change an indexed one, remove one with null; the index follows.
async fn change(app: &TestApp, id: &str) {
    let res = app
        .patch(format!("/api/v1/subjects/{id}"))
        .json(&json!({ "values": { "first_names": "Jan", "phone": "020 - 123 4567", "city": null } }))
        .send()
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    let values = &app.read(id).await["values"];
    assert_eq!(values["first_names"], "Jan");
    assert_eq!(values["phone"], "+31201234567");
    assert!(values.get("city").is_none(), "city was removed: {values}");
    assert_eq!(values["email"], "jan.jansen@example.nl", "untouched fields stay");
    // The index follows the change.
    assert_eq!(app.find(&format!("phone={}", encode("(020) 123 4567"))).await, vec![id.to_owned()]);
    assert_eq!(app.find(&format!("phone={}", encode("06 12345678"))).await, Vec::<String>::new());
}

/// Erase: 204, then the subject is gone everywhere.
async fn erase(app: &TestApp, id: &str) {
    let res = app.delete(format!("/api/v1/subjects/{id}")).header("kluis-purpose", "erasure_request").send().await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    app.get(format!("/api/v1/subjects/{id}")).send().await.problem(StatusCode::NOT_FOUND, "subject_not_found");
    assert_eq!(app.find(&format!("email={}", encode("jan.jansen@example.nl"))).await, Vec::<String>::new());
    assert_eq!(app.find(&format!("iban={}", encode("NL91ABNA0417164300"))).await, Vec::<String>::new());
    app.delete(format!("/api/v1/subjects/{id}")).send().await.problem(StatusCode::NOT_FOUND, "subject_not_found");
    app.patch(format!("/api/v1/subjects/{id}"))
        .json(&json!({ "values": { "city": "Delft" } }))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "subject_not_found");
}

async fn fields_lists_the_catalogue(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let res = app.get("/api/v1/fields").without_header("kluis-purpose").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let doc = res.json();
    let fields = doc["fields"].as_array().expect("fields");
    let field =
        |name: &str| fields.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name} missing: {doc}"));

    let email = field("email");
    assert_eq!(email["indexed"], true);
    assert_eq!(email["enabled"], true);
    assert_eq!(email["type"], "email");
    assert_eq!(email["category"], "user.contact.email");
    assert_eq!(email["label_nl"], "E-mailadres");
    let gender = field("gender");
    assert_eq!(gender["enabled"], false);
    assert_eq!(gender["indexed"], false);
    assert_eq!(field("iban")["indexed"], true);
    assert_eq!(field("postcode")["type"], "postcode_nl");
    assert_eq!(field("last_name")["indexed"], false);
    for forbidden in ["bsn", "date_of_birth"] {
        assert!(fields.iter().all(|f| f["name"] != forbidden), "{forbidden} is listed");
    }
    assert_eq!(fields.len(), 15, "{doc}");
}

async fn healthz_names_the_backend(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else {
        return;
    };
    let res = app.get("/healthz").without_auth().without_header("kluis-purpose").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let want = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(res.json(), json!({ "status": "ok", "backend": want }));
}
