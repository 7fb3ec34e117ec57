//! The `kluis` binary as an operator uses it: init, serve, subject commands, configuration errors.
//! Runs the real binary; PostgreSQL cases use a fresh database in the test cluster.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::{http_get, run, start, stderr, stdout, token_of};

fn kluis(data_dir: &Path) -> Command {
    common::kluis(data_dir, None)
}

#[test]
fn init_creates_key_database_and_token_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(kluis(&data).args(["init", "--no-admin"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let token = token_of(&stdout(&out));
    assert!(token.len() > 40);

    let key_path = data.join("root.key");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "root key file mode");
    assert!(data.join("kluis.db").exists());
    let key_before = std::fs::read(&key_path).unwrap();
    // Only the token's hash is stored: the token text is not in the database.
    let db = std::fs::read(data.join("kluis.db")).unwrap();
    assert!(kluis_store_conformance::find_canary(&db, &token).is_none());

    let again = run(kluis(&data).args(["init", "--no-admin"]));
    assert!(!again.status.success());
    assert!(stderr(&again).contains("never touches an existing key"), "{}", stderr(&again));
    assert_eq!(std::fs::read(&key_path).unwrap(), key_before, "the key is untouched");
}

#[test]
fn init_refuses_an_initialised_database_even_without_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    std::fs::remove_file(data.join("root.key")).unwrap();
    std::fs::remove_file(data.join("audit.key")).unwrap();
    let again = run(kluis(&data).args(["init", "--no-admin"]));
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already initialised"), "{}", stderr(&again));
    assert!(!data.join("root.key").exists(), "no orphan key is left behind");
    assert!(!data.join("audit.key").exists(), "no orphan audit key is left behind");
}

#[test]
fn a_wrong_root_key_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    let out = run(kluis(&data)
        .args(["subject", "get", "0190c1f4-8f5b-7cc2-9d2e-2f1a3b4c5d6e", "--purpose", "support"])
        .env("KLUIS_ROOT_KEY", "11".repeat(32)));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("root key does not match"), "{}", stderr(&out));

    // serve refuses too, before it listens.
    let out = run(kluis(&data).args(["serve", "--listen", "127.0.0.1:0"]).env("KLUIS_ROOT_KEY", "22".repeat(32)));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("refusing to start"), "{}", stderr(&out));
}

#[test]
fn a_root_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    std::fs::set_permissions(data.join("root.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(kluis(&data).args(["subject", "find", "--email", "a@example.nl", "--purpose", "support"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn subject_commands_work_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    let add = |purpose: &str| {
        run(kluis(&data).args([
            "subject",
            "add",
            "--purpose",
            purpose,
            "--set",
            "email=Jan@Example.nl",
            "--set",
            "iban=NL91 ABNA 0417 1643 00",
        ]))
    };
    // The IBAN is billing data: service delivery may not write it, even for the operator.
    let out = add("service_delivery");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not cover the field(s) iban"), "{}", stderr(&out));
    let out = add("storage");
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let out = run(kluis(&data).args(["subject", "find", "--email", "JAN@example.nl", "--purpose", "support"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let found: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(found["subjects"].as_array().unwrap().len(), 1, "only the storage add stored a subject: {found}");
    assert_eq!(found["subjects"][0]["id"], id.as_str());
    assert_eq!(found["subjects"][0]["values"]["email"], "jan@example.nl");
    // Support does not see the IBAN; billing does, normalised.
    assert!(found["subjects"][0]["values"].get("iban").is_none(), "{found}");
    assert!(found["subjects"][0]["withheld"].as_array().unwrap().iter().any(|f| f == "iban"), "{found}");
    let out = run(kluis(&data).args(["subject", "find", "--iban", "NL91ABNA0417164300", "--purpose", "billing"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let found: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(found["subjects"][0]["id"], id.as_str());
    assert_eq!(found["subjects"][0]["values"]["iban"], "NL91ABNA0417164300");

    let out = run(kluis(&data).args(["subject", "get", &id, "--purpose", "support"]));
    assert!(out.status.success());
    assert!(stdout(&out).contains("jan@example.nl"));

    let out = run(kluis(&data).args(["subject", "erase", &id, "--purpose", "erasure_request"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(kluis(&data).args(["subject", "get", &id, "--purpose", "support"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[test]
fn subject_add_reads_json_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    let mut child = kluis(&data)
        .args(["subject", "add", "--purpose", "service_delivery", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"email": "stdin@example.nl", "postcode": "1234ab", "house_number": "7"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(kluis(&data).args([
        "subject",
        "find",
        "--postcode",
        "1234 AB",
        "--house-number",
        "7",
        "--purpose",
        "service_delivery",
    ]));
    assert!(stdout(&out).contains("stdin@example.nl"), "{}", stdout(&out));
}

#[test]
fn invalid_values_exit_non_zero_without_echoing_them_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    let out = run(kluis(&data).args([
        "subject",
        "add",
        "--purpose",
        "storage",
        "--set",
        "iban=NL00BADIBAN12345",
        "--set",
        "company_name=111222333",
    ]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("invalid_iban") && err.contains("bsn_detected"), "{err}");
    assert!(!err.contains("NL00BADIBAN12345") && !err.contains("111222333"), "{err}");
    let out = run(kluis(&data).args(["subject", "find", "--iban", "NL91ABNA0417164300", "--purpose", "billing"]));
    assert!(stdout(&out).contains("\"subjects\": []"), "{}", stdout(&out));
}

#[test]
fn bad_arguments_and_config_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("kluis.toml"), "lissten = \"127.0.0.1:1\"\n").unwrap();
    let out = run(kluis(&data).arg("init"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lissten"), "{}", stderr(&out));

    let other = tempfile::tempdir().unwrap();
    let out = run(kluis(other.path()).args(["subject", "get", "not-an-id", "--purpose", "support"]));
    assert!(!out.status.success());
    let out = run(kluis(other.path()).args(["subject", "find", "--purpose", "Bad Purpose", "--email", "a@b.nl"]));
    assert!(!out.status.success());
}

#[test]
fn serve_initialises_a_fresh_directory_and_answers_health() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let server = start(kluis(&data));
    assert!(server.stdout.iter().any(|l| l.trim().starts_with("kluis_")), "first run prints the admin token");
    assert!(data.join("root.key").exists());
    let health = http_get(&server.addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"backend\":\"sqlite\""), "{health}");
    drop(server);

    // The second start opens the existing store and prints no new token.
    let server = start(kluis(&data));
    assert!(!server.stdout.iter().any(|l| l.trim().starts_with("kluis_")));
}

#[tokio::test]
async fn postgres_init_and_serve() {
    let Some(url) = kluis_store_conformance::fresh_postgres_url().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pg");
    let out = run(kluis(&data).args(["init", "--no-admin"]).env("KLUIS_DATABASE_URL", &url));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!data.join("kluis.db").exists(), "PostgreSQL is used instead of SQLite");
    let mut cmd = kluis(&data);
    cmd.env("KLUIS_DATABASE_URL", &url);
    let server = start(cmd);
    let health = http_get(&server.addr, "/healthz");
    assert!(health.contains("\"backend\":\"postgres\""), "{health}");
    drop(server);

    let out = run(kluis(&data)
        .args(["subject", "find", "--email", "a@example.nl", "--purpose", "support"])
        .env("KLUIS_DATABASE_URL", &url)
        .env("KLUIS_ROOT_KEY", "33".repeat(32)));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("root key does not match"), "{}", stderr(&out));
}

#[test]
fn gender_is_off_until_the_configuration_enables_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(kluis(&data).args(["init", "--no-admin"])).status.success());
    let add = |data: &Path| run(kluis(data).args(["subject", "add", "--purpose", "storage", "--set", "gender=female"]));
    let out = add(&data);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("field_disabled"), "{}", stderr(&out));

    std::fs::write(data.join("kluis.toml"), "enable_fields = [\"gender\"]\n").unwrap();
    let out = add(&data);
    assert!(out.status.success(), "{}", stderr(&out));

    std::fs::write(data.join("kluis.toml"), "enable_fields = [\"shoe_size\"]\n").unwrap();
    let out = add(&data);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("enable_fields"), "{}", stderr(&out));
}

#[test]
fn serve_tls_options_come_in_pairs_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cert = dir.path().join("cert.pem");

    let out = run(kluis(&data).args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"]).arg(&cert));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--tls-key"), "names the missing option: {}", stderr(&out));
    let out = run(kluis(&data).args(["serve", "--listen", "127.0.0.1:0"]).env("KLUIS_TLS_KEY", &cert));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--tls-cert"), "names the missing option: {}", stderr(&out));

    let out = run(kluis(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.path().join("key.pem")));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cannot read the TLS certificate file") && err.contains("cert.pem"), "{err}");

    std::fs::write(&cert, "not a certificate\n").unwrap();
    let out = run(kluis(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("holds no PEM certificate"), "{}", stderr(&out));
    assert!(!data.exists(), "refused before the data directory was initialised");
}

#[tokio::test]
async fn serve_speaks_https_with_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, issued.cert.pem()).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();

    let server = common::start_https(kluis(&data), &cert, &key);
    let addr: std::net::SocketAddr = server.addr.parse().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(issued.cert.der().clone()).unwrap();
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .resolve("localhost", addr)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let res = client.get(format!("https://localhost:{}/healthz", addr.port())).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");

    // Plain HTTP on the same port gets no HTTP answer.
    let plain = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        // The server may hang up before the request is even written.
        let _ = write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        response
    })
    .join()
    .unwrap();
    assert!(!plain.starts_with(b"HTTP/"), "{}", String::from_utf8_lossy(&plain));
}
