//! HTTPS: `serve_tls` with a self-signed certificate made for the test, reached over real TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use kluis_server::{ServerConfig, TlsFiles};
use kluis_store_conformance::Backend;
use kluis_vault::Store;
use serde_json::json;
use tokio::sync::oneshot;

use crate::helpers::{PURPOSE, initialised, state};

/// A certificate for `localhost` and its key, as PEM files in `dir`; returns the files and the
/// certificate's DER for the client's root store.
fn certificate(dir: &std::path::Path) -> (TlsFiles, Vec<u8>) {
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("self-signed certificate");
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, issued.cert.pem()).unwrap();
    std::fs::write(&files.key, issued.signing_key.serialize_pem()).unwrap();
    (files, issued.cert.der().to_vec())
}

/// A client that trusts only `root` and sends `localhost` to `addr`.
fn https_client(root: Vec<u8>, addr: SocketAddr) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(root)).expect("add the test root");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTPS client")
}

#[tokio::test]
async fn https_serves_with_hsts_and_client_addresses_and_refuses_plain_http() {
    let Some((_db, vault, token)) = initialised(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (files, root) = certificate(dir.path());
    let tls = files.load().expect("load the TLS files");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    // `tls: false` on purpose: `serve_tls` turns HSTS on by itself.
    let server = tokio::spawn(kluis_server::serve_tls(
        listener,
        state(&vault, ServerConfig::default()),
        async {
            stopped.await.ok();
        },
        tls,
    ));

    let client = https_client(root, addr);
    let base = format!("https://localhost:{}", addr.port());
    let res = client.get(format!("{base}/healthz")).send().await.expect("HTTPS request");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));

    // Handlers still get the peer address: the audit event of a write names it.
    let res = client
        .post(format!("{base}/api/v1/subjects"))
        .bearer_auth(&token)
        .header("kluis-purpose", PURPOSE)
        .json(&json!({ "values": { "email": "tls@example.nl" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let events = vault.store().audit_events(0, 10_000).await.expect("read the audit log");
    let clients: Vec<String> = events
        .iter()
        .filter_map(|e| serde_json::from_slice::<serde_json::Value>(&e.event).ok())
        .filter_map(|e| e["client"].as_str().map(str::to_owned))
        .collect();
    assert!(clients.iter().any(|c| c == "127.0.0.1"), "ConnectInfo reached the audit log: {clients:?}");

    // The TLS port does not speak plain HTTP.
    let plain = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let res = plain.get(format!("http://{addr}/healthz")).send().await;
    assert!(res.is_err(), "plain HTTP to the TLS port must fail: {res:?}");

    // Graceful shutdown still ends the server.
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), server).await.expect("the server stops");
    ended.expect("server task").expect("served without error");
}
