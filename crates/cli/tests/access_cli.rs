//! Access control as an operator uses it, on SQLite and PostgreSQL: `kluis init` with the first
//! admin (secrets shown once, none of them at rest; all or nothing), `kluis account …` and
//! `kluis token …` (errors that create nothing, every change audited), a revoked token refused by
//! a running `kluis serve`, the admin's login, session and logout over HTTP, and a malformed
//! `trusted_proxies` refused before anything is initialised.

use std::process::Output;

use kluis_crypto::totp::TotpSecret;
use kluis_store_conformance::{files_below, find_canary};

mod common;

use common::{Setup, fails, ok, run, start, stderr, stdout, token_of};

/// A strong password (zxcvbn 4); kept in a file outside the data directory.
const PASSWORD: &str = "Vlinder-Kachel-Oesterzwam-1987";

impl Setup {
    fn run(&self, args: &[&str]) -> Output {
        run(self.kluis().args(args))
    }

    /// A file outside the data directory holding `text` and a newline.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{text}\n")).expect("write a file");
        path.to_string_lossy().into_owned()
    }

    /// Every audit event, through `kluis audit export`.
    fn audit_events(&self) -> Vec<Event> {
        static EXPORTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = EXPORTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.path().join(format!("export-{n}.jsonl"));
        ok(&run(self.kluis().args(["audit", "export"]).arg(&path)));
        let text = std::fs::read_to_string(&path).expect("read the export");
        text.lines()
            .filter_map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).expect("JSON line");
                let event: serde_json::Value = serde_json::from_str(line["event"].as_str()?).expect("event JSON");
                let text = |key: &str| event[key].as_str().map(str::to_owned);
                Some(Event {
                    actor: text("actor")?,
                    action: text("action")?,
                    outcome: text("outcome")?,
                    reason: text("reason"),
                })
            })
            .collect()
    }

    /// Whether the database holds an initialised keyring (`kluis init` refuses a second time).
    async fn initialised(&self) -> bool {
        let store = if let Some(url) = &self.url {
            kluis_store_postgres::connect(url, 2).await.expect("connect")
        } else {
            let path = self.data.join(kluis_store_sqlite::DATABASE_FILE);
            if !path.exists() {
                return false;
            }
            kluis_store_sqlite::open(&path).await.expect("open")
        };
        let keyring = kluis_store::Store::keyring(&store).await.expect("read the keyring");
        store.close().await;
        keyring.is_some()
    }

    /// Every byte at rest: the files of the data directory and, for PostgreSQL, a `pg_dump`.
    async fn at_rest(&self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = files_below(&self.data)
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read a file")))
            .collect();
        if let Some(url) = &self.url {
            let pg_dump = std::env::var("KLUIS_TEST_PG_DUMP").unwrap_or_else(|_| "pg_dump".to_owned());
            let dump = tokio::process::Command::new(&pg_dump)
                .args(["--format=plain", "--no-owner", "--dbname", url])
                .output()
                .await
                .unwrap_or_else(|e| panic!("run {pg_dump} (set KLUIS_TEST_PG_DUMP): {e}"));
            assert!(dump.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&dump.stderr));
            let text = String::from_utf8_lossy(&dump.stdout);
            assert!(text.contains("CREATE TABLE") && text.contains("COPY "), "pg_dump output looks empty");
            out.push(("pg_dump".to_owned(), dump.stdout));
        } else {
            let db = self.data.join(kluis_store_sqlite::DATABASE_FILE).display().to_string();
            assert!(out.iter().any(|(name, _)| *name == db), "the database file is scanned: {out:?}");
        }
        out
    }
}

/// One audit event, as `kluis audit export` writes it.
#[derive(Debug)]
struct Event {
    actor: String,
    action: String,
    outcome: String,
    reason: Option<String>,
}

/// What `kluis init` / `kluis account add` print for an account, parsed.
struct Enrolment {
    uri: String,
    seed_base32: String,
    recovery_codes: Vec<String>,
}

fn enrolment_of(out: &str) -> Enrolment {
    let uri = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("an otpauth URI is printed: {out}"))
        .to_owned();
    let seed_base32 = uri
        .split_once('?')
        .expect("the URI has a query")
        .1
        .split('&')
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_else(|| panic!("the URI has secret=: {uri}"))
        .to_owned();
    let recovery_codes: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("Recovery codes"))
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Enrolment { uri, seed_base32, recovery_codes }
}

/// Raw bytes in the forms they could leak in: as they are, hex (both cases), base64 (standard and
/// URL-safe, with and without padding).
fn byte_forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
    const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let hex_lower = hex::encode(bytes);
    let mut forms = vec![bytes.to_vec(), hex_lower.to_uppercase().into_bytes(), hex_lower.into_bytes()];
    for alphabet in [STANDARD, URL_SAFE] {
        let encoded = base64(bytes, alphabet);
        forms.push(encoded.trim_end_matches('=').as_bytes().to_vec());
        forms.push(encoded.into_bytes());
    }
    forms
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn now_unix() -> u64 {
    let now = kluis_domain::time::Clock::now(&kluis_domain::time::SystemClock);
    u64::try_from(now.as_millis() / 1000).expect("after 1970")
}

// ------------------------------------------------------------------------------------------------
// kluis init with the first admin

#[tokio::test]
async fn sqlite_init_with_an_admin_shows_its_secrets_once_and_stores_none() {
    init_with_an_admin(false).await;
}

#[tokio::test]
async fn postgres_init_with_an_admin_shows_its_secrets_once_and_stores_none() {
    init_with_an_admin(true).await;
}

async fn init_with_an_admin(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    let password_file = s.file("password", PASSWORD);
    let out = ok(&s.run(&["init", "--admin", "alice", "--admin-password-file", &password_file]));
    let token = token_of(&out);
    assert!(token.len() > 40, "{out}");
    let enrolment = enrolment_of(&out);
    assert!(enrolment.uri.starts_with("otpauth://totp/kluis:alice?"), "{}", enrolment.uri);
    let seed = TotpSecret::from_base32(&enrolment.seed_base32).expect("the URI's secret is a base32 seed");
    assert_eq!(seed.expose().len(), 20, "a 160-bit seed");
    assert_eq!(enrolment.recovery_codes.len(), 10, "{out}");
    let mut distinct = enrolment.recovery_codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "recovery codes differ: {:?}", enrolment.recovery_codes);
    assert!(!out.contains(PASSWORD), "the password is never printed");

    let list = ok(&s.run(&["account", "list"]));
    let accounts: serde_json::Value = serde_json::from_str(&list).expect("account list is JSON");
    let alice = &accounts["accounts"][0];
    assert_eq!((alice["username"].as_str(), alice["role"].as_str()), (Some("alice"), Some("admin")), "{list}");
    assert_eq!(alice["enrolled"], false, "{list}");
    let events: Vec<String> = s.audit_events().into_iter().map(|e| e.action).collect();
    assert_eq!(events, ["keyring.init", "token.create", "account.create"], "init's audit events");

    // Nothing printed is at rest, in any encoding.
    let mut canaries = vec![PASSWORD.to_owned(), token.clone(), enrolment.seed_base32.clone()];
    canaries.push(enrolment.seed_base32.to_lowercase());
    for code in &enrolment.recovery_codes {
        canaries.push(code.clone());
        canaries.push(code.replace('-', ""));
    }
    let seed_forms = byte_forms(seed.expose());
    let at_rest = s.at_rest().await;
    // Positive control: the scan sees the account's row.
    assert!(at_rest.iter().any(|(_, bytes)| find_canary(bytes, "alice").is_some()), "the scan sees the accounts");
    for (name, bytes) in &at_rest {
        for canary in &canaries {
            assert_eq!(find_canary(bytes, canary), None, "a printed secret ({canary}) is in {name}");
        }
        for form in &seed_forms {
            assert!(!holds(bytes, form), "the TOTP seed's bytes are in {name}");
        }
    }
}

#[tokio::test]
async fn sqlite_init_is_all_or_nothing() {
    init_is_all_or_nothing(false).await;
}

#[tokio::test]
async fn postgres_init_is_all_or_nothing() {
    init_is_all_or_nothing(true).await;
}

async fn init_is_all_or_nothing(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    let cases = [
        (s.file("short", "welkom123"), "admin", "too short"),
        (s.file("guessable", "welkomwelkom1"), "admin", "too easy to guess"),
        (s.file("good", PASSWORD), "Not A Name", "invalid account name"),
    ];
    for (file, admin, why) in &cases {
        let out = s.run(&["init", "--admin", admin, "--admin-password-file", file]);
        fails(&out, why);
        assert!(!stderr(&out).contains("welkom"), "the password is not echoed: {}", stderr(&out));
        assert!(!stdout(&out).contains("kluis_"), "no token is shown for an init that failed");
        for left in ["root.key", "audit.key", "audit.pub", kluis_store_sqlite::DATABASE_FILE] {
            assert!(!s.data.join(left).exists(), "{why}: {left} is left behind");
        }
        assert!(!s.data.exists(), "{why}: the data directory is left behind: {:?}", files_below(&s.data));
        assert!(!s.initialised().await, "{why}: the database is initialised");
    }
    // The directory is still fresh: init works now.
    let out = ok(&s.run(&["init", "--admin-password-file", &cases[2].0]));
    assert!(out.contains("otpauth://totp/kluis:admin?"), "{out}");
    assert!(s.initialised().await);
}

#[test]
fn init_without_a_terminal_or_a_password_file_names_the_option() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let out = run(common::kluis(&data, None).arg("init"));
    fails(&out, "--admin-password-file");
    assert!(!data.exists(), "nothing was created");
    // --no-admin and a password file exclude each other.
    let out = run(common::kluis(&data, None).args(["init", "--no-admin", "--admin-password-file", "/dev/null"]));
    assert!(!out.status.success());
    assert!(!data.exists(), "nothing was created");
}

// ------------------------------------------------------------------------------------------------
// kluis account …

#[tokio::test]
async fn sqlite_account_commands() {
    account_commands(false).await;
}

#[tokio::test]
async fn postgres_account_commands() {
    account_commands(true).await;
}

async fn account_commands(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    ok(&s.run(&["init", "--no-admin"]));
    let password_file = s.file("password", PASSWORD);

    let out = ok(&s.run(&["account", "add", "bob", "--role", "staff", "--password-file", &password_file]));
    let bob = enrolment_of(&out);
    assert!(bob.uri.starts_with("otpauth://totp/kluis:bob?"), "{out}");
    assert_eq!(bob.recovery_codes.len(), 10, "{out}");
    let list = ok(&s.run(&["account", "list"]));
    let accounts: serde_json::Value = serde_json::from_str(&list).expect("account list is JSON");
    let entries = accounts["accounts"].as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!((entries[0]["username"].as_str(), entries[0]["role"].as_str()), (Some("bob"), Some("staff")));
    assert_eq!((&entries[0]["enrolled"], &entries[0]["disabled"]), (&false.into(), &false.into()), "{list}");
    let mut secrets = vec![PASSWORD.to_owned(), bob.seed_base32.clone(), "otpauth".to_owned(), "kluis_".to_owned()];
    secrets.extend(bob.recovery_codes.iter().cloned());
    for secret in &secrets {
        assert!(!list.contains(secret.as_str()), "account list shows a secret ({secret}): {list}");
    }

    // Refusals create nothing and record nothing.
    let before = s.audit_events().len();
    fails(&s.run(&["account", "add", "bob", "--role", "staff", "--password-file", &password_file]), "already exists");
    let out = s.run(&["account", "add", "carol", "--role", "wizard", "--password-file", &password_file]);
    fails(&out, "admin, dpo, staff, accountant, auditor");
    let out = s.run(&[
        "account",
        "add",
        "carol",
        "--role",
        "staff",
        "--allow-ip",
        "10.0.0.0/33",
        "--password-file",
        &password_file,
    ]);
    fails(&out, "10.0.0.0/33");
    fails(&s.run(&["account", "disable", "nobody"]), "no such account");
    fails(&s.run(&["account", "allow-ip", "bob", "192.0.2.0/24", "abc"]), "`abc`");
    let list = ok(&s.run(&["account", "list"]));
    assert!(!list.contains("carol"), "nothing was created: {list}");
    assert!(!list.contains("192.0.2.0/24"), "a half-valid allowlist changes nothing: {list}");
    assert_eq!(s.audit_events().len(), before, "refusals are not recorded as changes");

    // Every change succeeds and is audited with the operator as actor.
    let steps: [(&[&str], &str, &str); 6] = [
        (&["account", "disable", "bob"], "disabled", "account.update"),
        (&["account", "enable", "bob"], "enabled", "account.update"),
        (&["account", "allow-ip", "bob", "192.0.2.0/24"], "192.0.2.0/24", "account.update"),
        (&["account", "unlock", "bob"], "unlocked", "account.unlock"),
        (&["account", "revoke-sessions", "bob"], "session(s) of `bob` ended", "session.revoke"),
        (&["account", "reset", "bob"], "Enrolment secret", "account.update"),
    ];
    let mut seen = s.audit_events().len();
    for (args, said, action) in steps {
        let out = ok(&s.run(args));
        assert!(out.contains(said), "{args:?}: {out}");
        let events = s.audit_events();
        let new = &events[seen..];
        assert!(new.iter().any(|e| e.action == action), "{args:?} is audited as {action}: {new:?}");
        assert!(new.iter().all(|e| e.actor.starts_with("cli:") && e.outcome == "success"), "{args:?}: {new:?}");
        seen = events.len();
        if args[1] == "reset" {
            assert!(new.iter().any(|e| e.reason.as_deref() == Some("enrolment_reset")), "{new:?}");
            let secret = token_of(&out);
            assert!(secret.len() > 40, "reset prints an enrolment secret: {out}");
        }
    }
    let list = ok(&s.run(&["account", "list"]));
    let accounts: serde_json::Value = serde_json::from_str(&list).expect("account list is JSON");
    assert_eq!(accounts["accounts"][0]["allowed_ips"], serde_json::json!(["192.0.2.0/24"]), "{list}");
    assert_eq!(accounts["accounts"][0]["disabled"], false, "{list}");
    assert!(ok(&s.run(&["audit", "verify"])).contains("audit log OK"));
}

// ------------------------------------------------------------------------------------------------
// kluis token …

#[tokio::test]
async fn sqlite_token_commands() {
    token_commands(false).await;
}

#[tokio::test]
async fn postgres_token_commands() {
    token_commands(true).await;
}

/// The id `kluis token create` prints (`Token <id> (shown once…`).
fn token_id_of(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Token "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("token create prints the id: {out}"))
        .to_owned()
}

fn token_list(s: &Setup) -> (String, Vec<serde_json::Value>) {
    let list = ok(&s.run(&["token", "list"]));
    let parsed: serde_json::Value = serde_json::from_str(&list).expect("token list is JSON");
    let tokens = parsed["tokens"].as_array().expect("a list").clone();
    (list, tokens)
}

async fn token_commands(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    let break_glass = token_of(&ok(&s.run(&["init", "--no-admin"])));
    let started = now_unix();
    let out = ok(&s.run(&["token", "create", "--name", "m", "--purposes", "newsletter", "--expires", "1h"]));
    let secret = token_of(&out);
    let id = token_id_of(&out);
    let (list, tokens) = token_list(&s);
    assert_eq!(tokens.len(), 2, "the break-glass token and m: {list}");
    let m = tokens.iter().find(|t| t["id"] == id.as_str()).unwrap_or_else(|| panic!("m is listed: {list}"));
    assert_eq!(m["name"], "m", "{list}");
    assert_eq!(m["purposes"], serde_json::json!(["newsletter"]), "{list}");
    assert_eq!(m["revoked_at"], serde_json::Value::Null, "{list}");
    let expires = m["expires_at"].as_str().unwrap_or_else(|| panic!("an expiry: {list}"));
    let expires = time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
        .unix_timestamp();
    let expires = u64::try_from(expires).expect("after 1970");
    assert!((started + 3590..=now_unix() + 3610).contains(&expires), "expires in an hour: {list}");
    for shown in [secret.as_str(), break_glass.as_str(), "kluis_"] {
        assert!(!list.contains(shown), "token list shows a secret: {list}");
    }

    // Bad input: a clear message, nothing created, nothing recorded.
    let events = s.audit_events().len();
    let refusals: [(&[&str], &str); 6] = [
        (&["--purposes", "nosuch"], "unknown purpose `nosuch`"),
        (&[], "needs a role or at least one purpose"),
        (&["--purposes", "newsletter", "--expires", "yesterday"], "--expires"),
        (&["--purposes", "newsletter", "--expires", "2020-01-01T00:00:00Z"], "in the past"),
        (&["--purposes", "newsletter", "--allow-ip", "abc"], "`abc`"),
        (&["--role", "wizard"], "admin, dpo, staff, accountant, auditor"),
    ];
    for (args, why) in refusals {
        let out = run(s.kluis().args(["token", "create", "--name", "bad"]).args(args));
        fails(&out, why);
        assert!(!stdout(&out).contains("kluis_"), "{args:?}: no token is shown");
    }
    let (list, tokens) = token_list(&s);
    assert_eq!(tokens.len(), 2, "nothing was created: {list}");
    assert_eq!(s.audit_events().len(), events, "refusals are not recorded");

    assert!(ok(&s.run(&["token", "revoke", &id])).contains("revoked"));
    let (list, tokens) = token_list(&s);
    let m = tokens.iter().find(|t| t["id"] == id.as_str()).unwrap_or_else(|| panic!("m is listed: {list}"));
    assert!(m["revoked_at"].is_string(), "{list}");
    fails(&s.run(&["token", "revoke", "not-an-id"]), "token id");
    let actions: Vec<String> = s.audit_events().into_iter().map(|e| e.action).collect();
    assert_eq!(actions.iter().filter(|a| *a == "token.create").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "token.revoke").count(), 1, "{actions:?}");
}

// ------------------------------------------------------------------------------------------------
// Over HTTP, against a running `kluis serve`

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Status and problem `code` (or the whole body) of a response.
async fn answer(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test]
async fn sqlite_a_revoked_token_is_refused_over_http() {
    revoked_token_is_refused(false).await;
}

#[tokio::test]
async fn postgres_a_revoked_token_is_refused_over_http() {
    revoked_token_is_refused(true).await;
}

async fn revoked_token_is_refused(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    ok(&s.run(&["init", "--no-admin"]));
    let out = ok(&s.run(&["token", "create", "--name", "m", "--purposes", "newsletter", "--expires", "1h"]));
    let (secret, id) = (token_of(&out), token_id_of(&out));
    let server = start(s.kluis());
    let url = format!("http://{}/api/v1/subjects?email=nobody@example.nl", server.addr);
    let find = || client().get(&url).bearer_auth(&secret).header("Kluis-Purpose", "newsletter").send();

    let (status, body) = answer(find().await.expect("GET")).await;
    assert_eq!(status, 200, "the token works before it is revoked: {body}");
    assert_eq!(body["subjects"], serde_json::json!([]), "{body}");
    ok(&s.run(&["token", "revoke", &id]));
    let (status, body) = answer(find().await.expect("GET")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("token_revoked")), "{body}");
    drop(server);
    let events = s.audit_events();
    let refused = events.iter().find(|e| e.action == "auth.refused" && e.reason.as_deref() == Some("token_revoked"));
    assert!(refused.is_some_and(|e| e.outcome != "success"), "the refused use is audited: {events:?}");
}

#[tokio::test]
async fn sqlite_the_first_admin_logs_in_and_out_over_http() {
    admin_logs_in_and_out(false).await;
}

#[tokio::test]
async fn postgres_the_first_admin_logs_in_and_out_over_http() {
    admin_logs_in_and_out(true).await;
}

async fn admin_logs_in_and_out(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    let password_file = s.file("password", PASSWORD);
    let out = ok(&s.run(&["init", "--admin", "alice", "--admin-password-file", &password_file]));
    let break_glass = token_of(&out);
    let seed = TotpSecret::from_base32(&enrolment_of(&out).seed_base32).expect("base32 seed");
    let server = start(s.kluis());
    let base = format!("http://{}", server.addr);
    let http = client();
    let login = |totp: String| {
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": "alice", "password": PASSWORD, "totp": totp }))
            .send()
    };

    // A wrong code is refused like a wrong password.
    let code = seed.code_at(now_unix());
    let wrong = format!("{:06}", (code.parse::<u32>().expect("digits") + 500_000) % 1_000_000);
    let (status, body) = answer(login(wrong).await.expect("POST login")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")), "{body}");

    let response = login(seed.code_at(now_unix()).to_string()).await.expect("POST login");
    assert_eq!(response.status(), 200);
    let set_cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .find(|v| v.starts_with("kluis_session="))
        .expect("the login sets kluis_session");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set_cookie}");
    assert!(!attributes.contains(&"Secure"), "plain HTTP on loopback: {set_cookie}");
    let cookie = attributes[0].to_owned();
    let body: serde_json::Value = response.json().await.expect("JSON");
    let csrf = body["csrf_token"].as_str().unwrap_or_else(|| panic!("a CSRF token: {body}")).to_owned();
    assert_eq!(body["account"]["username"], "alice", "{body}");
    assert_eq!(body["account"]["role"], "admin", "{body}");
    assert!(!body.to_string().contains(cookie.trim_start_matches("kluis_session=")), "the session is only a cookie");

    let session = || http.get(format!("{base}/api/v1/auth/session")).header("Cookie", &cookie).send();
    let (status, who) = answer(session().await.expect("GET session")).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!((who["kind"].as_str(), who["role"].as_str()), (Some("session"), Some("admin")), "{who}");
    let permissions = who["permissions"].as_array().expect("permissions");
    assert!(permissions.iter().any(|p| p == "manage_accounts"), "{who}");
    assert_eq!(who["purposes"], serde_json::json!([]), "an admin uses no personal-data purpose: {who}");
    // The login completed enrolment.
    let list = ok(&s.run(&["account", "list"]));
    assert!(list.contains("\"enrolled\": true"), "{list}");

    // Personal data: refused for the admin's session, and for the break-glass token.
    let find = format!("{base}/api/v1/subjects?email=nobody@example.nl");
    let response = http.get(&find).header("Cookie", &cookie).header("Kluis-Purpose", "support").send().await;
    let (status, body) = answer(response.expect("GET subjects")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("purpose_not_allowed")), "{body}");
    let response = http.get(&find).bearer_auth(&break_glass).header("Kluis-Purpose", "support").send().await;
    let (status, body) = answer(response.expect("GET subjects")).await;
    assert_eq!(status, 403, "the break-glass token never sees personal data: {body}");

    // Logout needs the CSRF token with the cookie.
    let logout = |csrf: Option<&str>| {
        let mut request = http.post(format!("{base}/api/v1/auth/logout")).header("Cookie", &cookie);
        if let Some(token) = csrf {
            request = request.header("X-CSRF-Token", token);
        }
        request.send()
    };
    let (status, body) = answer(logout(None).await.expect("POST logout")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("csrf_failed")), "{body}");
    let (status, who) = answer(session().await.expect("GET session")).await;
    assert_eq!(status, 200, "a refused logout ends nothing: {who}");
    let response = logout(Some(&csrf)).await.expect("POST logout");
    assert_eq!(response.status(), 204);
    let cleared = response.headers().get(reqwest::header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(cleared.starts_with("kluis_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let (status, body) = answer(session().await.expect("GET session")).await;
    assert_eq!(status, 401, "the cookie no longer works: {body}");
    drop(server);

    // Both logins, the completed enrolment and the logout are audited as alice.
    let accounts: serde_json::Value = serde_json::from_str(&list).expect("account list is JSON");
    let alice = format!("account:{}", accounts["accounts"][0]["id"].as_str().expect("an id"));
    let events = s.audit_events();
    let by_alice = |action: &str, reason: Option<&str>| {
        events.iter().filter(|e| e.actor == alice && e.action == action && e.reason.as_deref() == reason).count()
    };
    assert_eq!(by_alice("auth.login", Some("bad_totp")), 1, "{events:?}");
    assert_eq!(by_alice("auth.login", None), 1, "{events:?}");
    assert_eq!(by_alice("account.enrol", Some("totp_confirmed")), 1, "{events:?}");
    assert_eq!(by_alice("auth.logout", None), 1, "{events:?}");
    assert!(events.iter().any(|e| e.action == "auth.login" && e.outcome == "success" && e.actor == alice));
    assert!(ok(&s.run(&["audit", "verify"])).contains("audit log OK"));
}

// ------------------------------------------------------------------------------------------------
// Configuration

#[tokio::test]
async fn sqlite_serve_refuses_malformed_trusted_proxies_before_initialising() {
    malformed_trusted_proxies(false).await;
}

#[tokio::test]
async fn postgres_serve_refuses_malformed_trusted_proxies_before_initialising() {
    malformed_trusted_proxies(true).await;
}

async fn malformed_trusted_proxies(postgres: bool) {
    let Some(s) = Setup::new(postgres).await else { return };
    for (value, named) in [(r#"["10.0.0.0/33"]"#, "10.0.0.0/33"), (r#"["192.0.2.1", "proxy"]"#, "`proxy`")] {
        let out = run(s.kluis().args(["serve", "--listen", "127.0.0.1:0"]).env("KLUIS_TRUSTED_PROXIES", value));
        fails(&out, "trusted_proxies");
        assert!(stderr(&out).contains(named), "names the bad entry {named}: {}", stderr(&out));
        assert!(!stdout(&out).contains("kluis_"), "no token: nothing was initialised");
        assert!(!s.data.exists(), "the data directory is left untouched: {:?}", files_below(&s.data));
        assert!(!s.initialised().await, "the database is not initialised");
    }
    let out = run(s.kluis().args(["serve", "--listen", "127.0.0.1:0"]).env("KLUIS_TRUSTED_PROXIES", "not a list"));
    assert!(!out.status.success());
    assert!(stderr(&out).to_lowercase().contains("trusted_proxies"), "{}", stderr(&out));
    assert!(!s.data.exists());
    // A well-formed list starts.
    let mut cmd = s.kluis();
    cmd.env("KLUIS_TRUSTED_PROXIES", r#"["10.0.0.0/8", "::1"]"#);
    let server = start(cmd);
    assert!(server.stdout.iter().any(|l| l.trim().starts_with("kluis_")), "the first start initialises");
}
