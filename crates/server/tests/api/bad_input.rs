//! Bad input gets an RFC 9457 problem with a stable code, never echoes what was sent, and changes
//! nothing (DESIGN.md §4.1 and §4.6).

use axum::http::{Method, StatusCode};
use kluis_server::ServerConfig;
use kluis_store_conformance::Backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestRequest, encode};

backend_tests!(
    invalid_iban,
    invalid_postcode,
    invalid_phone,
    invalid_email,
    bsn_in_any_field,
    unknown_field,
    forbidden_field_bsn,
    disabled_field,
    empty_change,
    malformed_json,
    wrong_json_shape,
    wrong_content_type,
    oversized_body,
    unauthorized,
    missing_purpose,
    invalid_purpose,
    invalid_id,
    invalid_query,
    unknown_route,
    wrong_method,
);

/// A valid subject that every test keeps, so "unchanged" is checked against a non-empty store.
const SEED: &str = "seed@example.nl";

/// An app with one subject; returns the app and the subject's id.
async fn seeded(backend: Backend) -> Option<(TestApp, String)> {
    let app = TestApp::in_process(backend).await?;
    let id = app.create(&json!({ "email": SEED, "iban": "NL91ABNA0417164300", "last_name": "Zaad" })).await;
    Some((app, id))
}

/// Sends `request` and asserts it was refused with `status` and `code`, that the response does not
/// contain any of `bad`, and that the store (row counts and the seeded subject) did not change.
/// Returns the problem document.
async fn refused(
    app: &TestApp,
    seed: &str,
    request: TestRequest<'_>,
    status: StatusCode,
    code: &str,
    bad: &[&str],
) -> Value {
    // Read first: a read is audited, so it changes the counts itself.
    let before = app.read(seed).await;
    let counts = app.counts().await;
    let res = request.send().await;
    let doc = res.problem(status, code);
    for value in bad {
        res.assert_not_echoed(value);
    }
    assert_eq!(app.counts().await, counts, "a refused request changed the store: {doc}");
    assert_eq!(app.read(seed).await, before, "a refused request changed the seeded subject: {doc}");
    doc
}

/// `(field, code)` pairs of a problem's `errors`, sorted.
fn field_errors(doc: &Value) -> Vec<(String, String)> {
    let mut errors: Vec<(String, String)> = doc["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {doc}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty())
                    && e["message_nl"].as_str().is_some_and(|m| !m.is_empty()),
                "{e}"
            );
            (e["field"].as_str().unwrap_or("?").to_owned(), e["code"].as_str().unwrap_or("?").to_owned())
        })
        .collect();
    errors.sort();
    errors
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
    v.sort();
    v
}

/// Creating with `values` and changing the seed to `values` are both refused with per-field
/// `expected` errors, without echoing `bad`.
async fn invalid_values(app: &TestApp, seed: &str, values: &Value, expected: &[(&str, &str)], bad: &[&str]) {
    let create = app.post("/api/v1/subjects").json(&json!({ "values": values }));
    let doc = refused(app, seed, create, StatusCode::UNPROCESSABLE_ENTITY, "invalid_values", bad).await;
    assert_eq!(field_errors(&doc), pairs(expected), "create");
    let change = app.patch(format!("/api/v1/subjects/{seed}")).json(&json!({ "values": values }));
    let doc = refused(app, seed, change, StatusCode::UNPROCESSABLE_ENTITY, "invalid_values", bad).await;
    assert_eq!(field_errors(&doc), pairs(expected), "change");
}

async fn invalid_iban(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for bad in ["NL92ABNA0417164300", "NL91ABNA0417164301", "NL91-ABNA-0417-1643-00"] {
        invalid_values(
            &app,
            &seed,
            &json!({ "email": "nieuw@example.nl", "iban": bad }),
            &[("iban", "invalid_iban")],
            &[bad],
        )
        .await;
    }
}

async fn invalid_postcode(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for bad in ["0123 AB", "1234 SA", "12345 AB"] {
        invalid_values(
            &app,
            &seed,
            &json!({ "postcode": bad, "house_number": "12" }),
            &[("postcode", "invalid_postcode")],
            &[bad],
        )
        .await;
    }
}

async fn invalid_phone(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for bad in ["06 9876", "+999 12345678", "tel:+31612345678"] {
        invalid_values(
            &app,
            &seed,
            &json!({ "phone": bad, "last_name": "Jansen" }),
            &[("phone", "invalid_phone")],
            &[bad],
        )
        .await;
    }
}

async fn invalid_email(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for bad in ["jan@@example.nl", "Jan <jan@example.nl>", "jan@localhost"] {
        invalid_values(&app, &seed, &json!({ "email": bad }), &[("email", "invalid_email")], &[bad]).await;
    }
}

async fn bsn_in_any_field(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let bsn = "111222333";
    let values = json!({
        "customer_number": bsn,
        "last_name": format!("Jansen {bsn}"),
        "company_name": "1112.22.333",
        "email": format!("{bsn}@example.com"),
        "phone": bsn,
        "iban": bsn,
        "house_number": bsn,
        "city": bsn,
    });
    let expected = [
        ("customer_number", "bsn_detected"),
        ("last_name", "bsn_detected"),
        ("company_name", "bsn_detected"),
        ("email", "bsn_detected"),
        ("phone", "bsn_detected"),
        ("iban", "bsn_detected"),
        ("house_number", "bsn_detected"),
        ("city", "bsn_detected"),
    ];
    invalid_values(&app, &seed, &values, &expected, &[bsn, "1112.22.333"]).await;

    // A BSN as a lookup value is refused too, and not echoed.
    let find = app.get(format!("/api/v1/subjects?customer_number={bsn}"));
    let doc = refused(&app, &seed, find, StatusCode::BAD_REQUEST, "invalid_query", &[bsn]).await;
    assert_eq!(field_errors(&doc), pairs(&[("customer_number", "bsn_detected")]));
}

async fn unknown_field(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let value = "maat-vierenveertig";
    invalid_values(
        &app,
        &seed,
        &json!({ "email": "nieuw@example.nl", "shoe_size": value }),
        &[("shoe_size", "unknown_field")],
        &[value],
    )
    .await;
    // A key that is itself personal data is not echoed either.
    invalid_values(
        &app,
        &seed,
        &json!({ "jan@example.nl": value }),
        &[("<invalid field name>", "unknown_field")],
        &["jan@example.nl", value],
    )
    .await;
    // Removing an unknown field is as wrong as setting it.
    let change = app.patch(format!("/api/v1/subjects/{seed}")).json(&json!({ "values": { "shoe_size": null } }));
    let doc = refused(&app, &seed, change, StatusCode::UNPROCESSABLE_ENTITY, "invalid_values", &[]).await;
    assert_eq!(field_errors(&doc), pairs(&[("shoe_size", "unknown_field")]));
}

async fn forbidden_field_bsn(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let bsn = "123456782";
    invalid_values(
        &app,
        &seed,
        &json!({ "email": "nieuw@example.nl", "bsn": bsn }),
        &[("bsn", "forbidden_category")],
        &[bsn],
    )
    .await;
    invalid_values(
        &app,
        &seed,
        &json!({ "date_of_birth": "1970-01-01" }),
        &[("date_of_birth", "forbidden_category")],
        &["1970-01-01"],
    )
    .await;
}

async fn disabled_field(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    invalid_values(&app, &seed, &json!({ "gender": "female" }), &[("gender", "field_disabled")], &["female"]).await;
}

async fn empty_change(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let change = app.patch(format!("/api/v1/subjects/{seed}")).json(&json!({ "values": {} }));
    refused(&app, &seed, change, StatusCode::UNPROCESSABLE_ENTITY, "empty_change", &[]).await;
}

async fn malformed_json(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let secret = "jan.malformed@example.nl";
    for body in [
        format!(r#"{{"values": {{"email": "{secret}""#),
        format!(r#"{{"values": {{"email": "{secret}"}}}} trailing"#),
        format!(r#"{{"values": {{"email": '{secret}'}}}}"#),
        String::new(),
    ] {
        let create = app.post("/api/v1/subjects").body("application/json", body.clone());
        refused(&app, &seed, create, StatusCode::BAD_REQUEST, "malformed_json", &[secret]).await;
        let change = app.patch(format!("/api/v1/subjects/{seed}")).body("application/json", body);
        refused(&app, &seed, change, StatusCode::BAD_REQUEST, "malformed_json", &[secret]).await;
    }
}

async fn wrong_json_shape(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let secret = "jan.shape@example.nl";
    for body in [
        json!({ "values": [secret] }),
        json!({ "values": { "email": [secret] } }),
        json!({ "values": { "email": 42 } }),
        json!({ "email": secret }),
        json!({ "values": { "email": secret }, "extra": secret }),
        json!([secret]),
        json!({ "kind": "martian", "values": { "email": secret } }),
    ] {
        let create = app.post("/api/v1/subjects").json(&body);
        refused(&app, &seed, create, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &[secret]).await;
    }
    // A change may not carry anything but strings and nulls.
    let change = app.patch(format!("/api/v1/subjects/{seed}")).json(&json!({ "values": { "email": { "x": secret } } }));
    refused(&app, &seed, change, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &[secret]).await;
}

async fn wrong_content_type(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let body = r#"{"values": {"email": "jan.type@example.nl"}}"#;
    for content_type in
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"]
    {
        let create = app.post("/api/v1/subjects").body(content_type, body);
        refused(
            &app,
            &seed,
            create,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            &["jan.type@example.nl"],
        )
        .await;
    }
    // No content type at all.
    let mut create = app.post("/api/v1/subjects").body("text/plain", body);
    create = create.without_header("content-type");
    refused(&app, &seed, create, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &[]).await;
    // The parameters of a JSON type are fine.
    let res = app.post("/api/v1/subjects").body("application/json; charset=utf-8", body).send().await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

async fn oversized_body(backend: Backend) {
    let config = ServerConfig { max_body_bytes: 512, ..ServerConfig::default() };
    let secret = "jan.groot@example.nl";
    let body = json!({ "values": { "email": secret, "last_name": "x".repeat(2000) } });
    let small = json!({ "values": { "email": "klein@example.nl" } });
    for spawned in [false, true] {
        let app = if spawned {
            TestApp::spawn_with(backend, config.clone()).await
        } else {
            TestApp::in_process_with(backend, config.clone()).await
        };
        let Some(app) = app else { return };
        let seed = app.create(&json!({ "email": SEED })).await;
        let create = app.post("/api/v1/subjects").json(&body);
        refused(&app, &seed, create, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", &[secret]).await;
        let change = app.patch(format!("/api/v1/subjects/{seed}")).json(&body);
        refused(&app, &seed, change, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", &[secret]).await;
        // Just under the limit is fine.
        app.create(&small["values"]).await;
    }
}

async fn unauthorized(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let token = app.token.clone();
    let body = json!({ "values": { "email": "jan.auth@example.nl" } });
    let mut authorizations: Vec<Option<String>> = vec![
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some(token.clone()),
        Some("Bearer".to_owned()),
        Some("Bearer    ".to_owned()),
        Some(format!("Bearer {}", "a".repeat(300))),
    ];
    authorizations.push(Some(format!("Token {token}")));
    for authorization in authorizations {
        let requests = [
            app.post("/api/v1/subjects").json(&body),
            app.get(format!("/api/v1/subjects/{seed}")),
            app.get(format!("/api/v1/subjects?email={}", encode(SEED))),
            app.patch(format!("/api/v1/subjects/{seed}"))
                .json(&json!({ "values": { "email": "jan.auth@example.nl" } })),
            app.delete(format!("/api/v1/subjects/{seed}")),
            app.get("/api/v1/fields"),
        ];
        for request in requests {
            let request = match &authorization {
                None => request.without_auth(),
                Some(value) => request.header("authorization", value),
            };
            let counts = app.counts().await;
            let res = request.send().await;
            res.problem(StatusCode::UNAUTHORIZED, "unauthorized");
            assert!(
                res.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
                "WWW-Authenticate: {:?}",
                res.headers
            );
            res.assert_not_echoed("jan.auth@example.nl");
            if authorization.as_deref().is_some_and(|a| a.starts_with("Bearer w")) {
                res.assert_not_echoed("wrong-token");
            }
            assert!(!res.text().contains(&token), "the token is echoed");
            assert_eq!(app.counts().await, counts);
        }
    }
    // The seeded subject survived every attempt.
    assert_eq!(app.read(&seed).await["values"]["email"], SEED);
}

async fn missing_purpose(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let requests = [
        app.post("/api/v1/subjects").json(&json!({ "values": { "email": "jan.doel@example.nl" } })),
        app.get(format!("/api/v1/subjects/{seed}")),
        app.get(format!("/api/v1/subjects?email={}", encode(SEED))),
        app.patch(format!("/api/v1/subjects/{seed}")).json(&json!({ "values": { "email": "jan.doel@example.nl" } })),
        app.delete(format!("/api/v1/subjects/{seed}")),
    ];
    for request in requests {
        let doc = refused(
            &app,
            &seed,
            request.without_header("kluis-purpose"),
            StatusCode::BAD_REQUEST,
            "missing_purpose",
            &[SEED],
        )
        .await;
        assert!(doc.get("errors").is_none(), "{doc}");
    }
}

async fn invalid_purpose(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let long = "a".repeat(65);
    for purpose in
        ["Marketing!", "", "1st_purpose", "service delivery", "jan@example.nl", long.as_str(), "dienstverlening-é"]
    {
        let requests = [
            app.post("/api/v1/subjects").json(&json!({ "values": { "email": "jan.doel@example.nl" } })),
            app.get(format!("/api/v1/subjects/{seed}")),
            app.delete(format!("/api/v1/subjects/{seed}")),
        ];
        for request in requests {
            let bad: &[&str] = if purpose.len() > 3 { &[purpose] } else { &[] };
            let request = request.header_bytes("kluis-purpose", purpose.as_bytes());
            refused(&app, &seed, request, StatusCode::BAD_REQUEST, "invalid_purpose", bad).await;
        }
    }
}

async fn invalid_id(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for id in ["not-a-uuid", "12345", "jan%40example.nl", "00000000-0000-0000-0000-00000000000g"] {
        let uri = format!("/api/v1/subjects/{id}");
        let requests = [
            app.get(uri.clone()),
            app.patch(uri.clone()).json(&json!({ "values": { "city": "Delft" } })),
            app.delete(uri.clone()),
        ];
        for request in requests {
            refused(&app, &seed, request, StatusCode::BAD_REQUEST, "invalid_id", &["jan@example.nl", id]).await;
        }
    }
    // A well-formed id of nobody is a 404, not a 400 (and the attempt is audited).
    let nobody = uuid::Uuid::new_v4();
    app.get(format!("/api/v1/subjects/{nobody}")).send().await.problem(StatusCode::NOT_FOUND, "subject_not_found");
}

async fn invalid_query(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for query in [
        String::new(),
        "unknown=1".to_owned(),
        "bsn=111222333".to_owned(),
        format!("email={}&phone={}", encode(SEED), encode("06 12345678")),
        format!("email={}&postcode=1234AB&house_number=12", encode(SEED)),
        "postcode=1234AB".to_owned(),
        "house_number=12".to_owned(),
        format!("email={}&email={}", encode(SEED), encode("other@example.nl")),
    ] {
        let find = app.get(format!("/api/v1/subjects?{query}"));
        let doc = refused(&app, &seed, find, StatusCode::BAD_REQUEST, "invalid_query", &["111222333"]).await;
        assert!(doc.get("errors").is_none(), "{query}: {doc}");
    }
    // An invalid lookup value names the field and its code.
    for (query, field, code, bad) in [
        ("email=jan%40%40example.nl", "email", "invalid_email", "jan@@example.nl"),
        ("iban=NL92ABNA0417164300", "iban", "invalid_iban", "NL92ABNA0417164300"),
        ("postcode=0123AB&house_number=12", "postcode", "invalid_postcode", "0123AB"),
    ] {
        let find = app.get(format!("/api/v1/subjects?{query}"));
        let doc = refused(&app, &seed, find, StatusCode::BAD_REQUEST, "invalid_query", &[bad]).await;
        assert_eq!(field_errors(&doc), pairs(&[(field, code)]), "{query}");
    }
}

async fn unknown_route(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    for (method, uri) in [
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/api/v2/subjects"),
        (Method::GET, "/"),
        (Method::GET, "/api/v1/subjects/x/y"),
        (Method::POST, "/api/v1/subject"),
        (Method::GET, "/api/v1/jan@example.nl"),
    ] {
        refused(&app, &seed, app.request(method.clone(), uri), StatusCode::NOT_FOUND, "not_found", &["jan@example.nl"])
            .await;
        refused(&app, &seed, app.request(method, uri).without_auth(), StatusCode::NOT_FOUND, "not_found", &[]).await;
    }
}

async fn wrong_method(backend: Backend) {
    let Some((app, seed)) = seeded(backend).await else {
        return;
    };
    let subject = format!("/api/v1/subjects/{seed}");
    for (method, uri) in [
        (Method::PUT, "/api/v1/subjects"),
        (Method::DELETE, "/api/v1/subjects"),
        (Method::PATCH, "/api/v1/subjects"),
        (Method::PUT, subject.as_str()),
        (Method::POST, subject.as_str()),
        (Method::POST, "/api/v1/fields"),
        (Method::DELETE, "/api/v1/fields"),
        (Method::POST, "/healthz"),
        (Method::POST, "/api/v1/openapi.json"),
    ] {
        let request =
            app.request(method.clone(), uri).json(&json!({ "values": { "email": "jan.methode@example.nl" } }));
        refused(
            &app,
            &seed,
            request,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &["jan.methode@example.nl"],
        )
        .await;
    }
}
