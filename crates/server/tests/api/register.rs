//! The register over HTTP: the versions under `/api/v1/register` (any valid token) and the public
//! privacy statement at `/privacy` (HTML) and `/privacy.md`, in the language asked for, generated
//! from the current version.

use axum::http::StatusCode;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_register::{Format, Lang, StatementMeta};
use kluis_store_conformance::Backend;
use kluis_vault::StoredRegisterVersion;

use crate::helpers::TestApp;

backend_tests!(nothing_before_the_first_load, privacy_pages_follow_the_language, api_serves_every_version);

pub const EXAMPLE: &str = include_str!("../../../../examples/hosting-provider.toml");

/// Loads `text` through the vault, as `kluis register load` does.
pub async fn load(app: &TestApp, text: &str) -> StoredRegisterVersion {
    let ctx = AuditContext { actor: Actor::Cli("tester".to_owned()), ..AuditContext::system() };
    app.vault.load_register(&ctx, text).await.expect("load the register")
}

fn expected_statement(stored: &StoredRegisterVersion, lang: Lang, format: Format) -> String {
    let register = kluis_register::check(&stored.source).expect("a valid register");
    let meta =
        StatementMeta { version: stored.version, date: stored.loaded_at.date_utc(), hash: hex::encode(stored.sha256) };
    kluis_register::statement(&register, lang, format, &meta)
}

async fn nothing_before_the_first_load(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else { return };
    app.get("/api/v1/register").send().await.problem(StatusCode::NOT_FOUND, "no_register");
    for page in ["/privacy", "/privacy.md", "/privacy?lang=en"] {
        app.get(page).without_auth().send().await.problem(StatusCode::NOT_FOUND, "no_register");
    }
    let res = app.get("/api/v1/register/versions").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), serde_json::json!({ "versions": [] }));
    app.get("/api/v1/register/versions/1").send().await.problem(StatusCode::NOT_FOUND, "register_version_not_found");
}

async fn privacy_pages_follow_the_language(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let stored = load(&app, EXAMPLE).await;
    let hash = hex::encode(stored.sha256);

    let cases = [
        ("/privacy", Some("en-GB,en;q=0.9,nl;q=0.5"), Lang::En),
        ("/privacy?lang=nl", Some("en"), Lang::Nl),
        ("/privacy?lang=en", None, Lang::En),
        ("/privacy", Some("de-DE"), Lang::Nl),
        ("/privacy", None, Lang::Nl),
    ];
    for (uri, accept, lang) in cases {
        let mut request = app.get(uri).without_auth().without_header("kluis-purpose");
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        let res = request.send().await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"), "{uri}");
        assert_eq!(res.header("content-language"), Some(lang.as_str()), "{uri} {accept:?}");
        assert_eq!(res.header("vary"), Some("Accept-Language"), "{uri}");
        assert_eq!(
            res.header("content-security-policy"),
            Some(kluis_server::security::HTML_CSP.as_str()),
            "{uri}: inline <style> allowed"
        );
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{uri}");
        assert_eq!(res.text(), expected_statement(&stored, lang, Format::Html), "{uri} {accept:?}");
        assert!(res.text().contains(&hash), "{uri}: the statement names the register version's hash");
        let date = stored.loaded_at.date_utc();
        let version_line =
            if lang == Lang::En { format!("Version 1 of {date}") } else { format!("Versie 1 van {date}") };
        assert!(res.text().contains(&version_line), "{uri}: the statement names version and date");
    }
    let english = app.get("/privacy?lang=en").without_auth().send().await.text();
    let dutch = app.get("/privacy?lang=nl").without_auth().send().await.text();
    assert_ne!(english, dutch, "the two languages differ");

    let res = app.get("/privacy.md").without_auth().header("accept-language", "en").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/markdown; charset=utf-8"));
    assert_eq!(res.header("content-language"), Some("en"));
    assert_eq!(res.text(), expected_statement(&stored, Lang::En, Format::Markdown));
    let res = app.get("/privacy.md?lang=nl").without_auth().header("accept-language", "en").send().await;
    assert_eq!(res.header("content-language"), Some("nl"));
    assert_eq!(res.text(), expected_statement(&stored, Lang::Nl, Format::Markdown));
    // The Markdown is not HTML: the app's strict policy stays.
    assert_eq!(res.header("content-security-policy"), Some(kluis_server::security::API_CSP));

    for bad in ["/privacy?lang=de", "/privacy.md?lang=", "/privacy?lang=nl&lang=en"] {
        app.get(bad).without_auth().send().await.problem(StatusCode::BAD_REQUEST, "invalid_query");
    }

    // A new version is served at once.
    let changed = load(&app, &EXAMPLE.replace("Serverstraat 12", "Serverstraat 14")).await;
    assert_eq!(changed.version, 2);
    let res = app.get("/privacy?lang=en").without_auth().send().await;
    assert_eq!(res.text(), expected_statement(&changed, Lang::En, Format::Html));
    assert!(res.text().contains("Serverstraat 14"));
}

async fn api_serves_every_version(backend: Backend) {
    let Some(app) = TestApp::in_process(backend).await else { return };
    let first = load(&app, EXAMPLE).await;
    let changed = EXAMPLE.replace("Serverstraat 12", "Serverstraat 14");
    let second = load(&app, &changed).await;

    let res = app.get("/api/v1/register").without_header("kluis-purpose").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let current = res.json();
    assert_eq!(current["version"], 2);
    assert_eq!(current["sha256"], hex::encode(second.sha256));
    assert_eq!(current["source"], changed);
    assert_eq!(current["loaded_at"], second.loaded_at.rfc3339_utc());
    let loaded_at = current["loaded_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(loaded_at, &time::format_description::well_known::Rfc3339).is_ok(),
        "RFC 3339: {loaded_at}"
    );

    let res = app.get("/api/v1/register/versions").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let list = res.json();
    let versions = list["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["sha256"], hex::encode(first.sha256));
    assert_eq!(versions[1]["version"], 2);
    assert!(versions.iter().all(|v| v.get("source").is_none()), "the list leaves the sources out: {list}");

    let res = app.get("/api/v1/register/versions/1").send().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["source"], EXAMPLE);
    assert_eq!(res.json()["version"], 1);
    app.get("/api/v1/register/versions/3").send().await.problem(StatusCode::NOT_FOUND, "register_version_not_found");
    for bad in ["abc", "-1", "1.5", "99999999999999999999999"] {
        app.get(format!("/api/v1/register/versions/{bad}"))
            .send()
            .await
            .problem(StatusCode::BAD_REQUEST, "invalid_version");
    }

    for uri in ["/api/v1/register", "/api/v1/register/versions", "/api/v1/register/versions/1"] {
        app.get(uri).without_auth().send().await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
        app.get(uri)
            .header("authorization", "Bearer kluis_wrong")
            .send()
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The public pages need no token, and a wrong one does not matter.
    for page in ["/privacy", "/privacy.md"] {
        let res = app.get(page).header("authorization", "Bearer kluis_wrong").send().await;
        assert_eq!(res.status, StatusCode::OK, "{page}: {}", res.text());
    }
}
