//! The test harness: a freshly initialised vault on a fresh database per test (SQLite or
//! PostgreSQL), reached either in process (`oneshot` against `app(state)`) or over real HTTP (a
//! server spawned on `127.0.0.1:0` with `kluis_server::serve`). Requests carry a valid token and
//! purpose unless a test takes them away. Every log line of the process is captured (TRACE, span
//! openings and closings included) so the canary test can scan them.
//!
//! Two credentials come with every app: `admin_token`, the break-glass token `Vault::initialise`
//! returns (accounts, register and audit log; never personal data; loopback only), and `token`, a
//! service token scoped to every built-in purpose. Requests use `token` and the purpose
//! [`PURPOSE`] unless a test says otherwise. In-process requests come from [`CLIENT`] (they carry
//! `ConnectInfo` like real connections do), or from another address with [`TestRequest::peer`].
//! The vault runs on a [`TestClock`]: the wall clock plus an offset a test can advance.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use kluis_crypto::password::Password;
use kluis_crypto::totp::TotpSecret;
use kluis_domain::audit::AuditContext;
use kluis_domain::fields::Catalogue;
use kluis_domain::time::{Clock, SystemClock};
use kluis_domain::{AccountId, Timestamp};
use kluis_server::{AppState, ServerConfig};
use kluis_store::Counts;
use kluis_store_conformance::{Backend, TestDb};
use kluis_store_sql::SqlStore;
use kluis_vault::{Store, TokenSpec, Vault};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// The purpose of the default requests: `storage` (Art. 18(2)) covers every field of the
/// built-in catalogue, so tests about validation, crypto and canaries see whole subjects.
pub const PURPOSE: &str = "storage";

/// The client address of in-process requests (loopback, like the spawned server's clients).
pub const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Generates one test per backend, named `<name>::sqlite` and `<name>::postgres`, each calling
/// `<name>(backend)`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(kluis_store_conformance::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(kluis_store_conformance::Backend::Postgres).await;
            }
        }
    )*};
}

// ------------------------------------------------------------------------------------------------
// Log capture

/// Everything the process logged since capture was switched on.
///
/// nextest runs every test in its own process, so the buffer holds exactly one test's lines.
/// Under `cargo test` tests share the process and the buffer; that only makes a scan stricter.
#[derive(Clone, Default, Debug)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes logged so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A writer appending to the shared buffer.
#[derive(Debug)]
pub struct LogWriter(LogBuffer);

impl io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self.clone())
    }
}

/// Installs (once per process) a global TRACE subscriber writing into a buffer and returns the
/// buffer. Global rather than scoped: axum spawns a task per connection and sqlx logs on its own
/// threads, and a thread-local default subscriber would miss those lines. `log` records are
/// forwarded too.
pub fn capture_logs() -> LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(buffer.clone())
            .try_init()
            .expect("install the log-capturing subscriber (is another global subscriber set?)");
        buffer
    })
    .clone()
}

// ------------------------------------------------------------------------------------------------
// The application under test

enum Transport {
    InProcess(axum::Router),
    Spawned {
        base: String,
        client: reqwest::Client,
        shutdown: Option<oneshot::Sender<()>>,
        server: Option<JoinHandle<io::Result<()>>>,
    },
}

/// The wall clock plus an offset that tests advance (idle and absolute session timeouts, token
/// expiry). Shared by the vault and the test.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Milliseconds since the epoch, as the vault sees them.
    pub fn now_millis(&self) -> i64 {
        self.now().as_millis()
    }

    /// Seconds since the epoch, as the vault's TOTP check sees them.
    pub fn unix_seconds(&self) -> u64 {
        u64::try_from(self.now().as_millis() / 1000).expect("after 1970")
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis() + self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A freshly initialised vault and its two credentials.
pub struct Initialised {
    pub db: TestDb,
    pub vault: Vault<SqlStore>,
    /// The break-glass token's secret.
    pub admin_token: String,
    /// A service token scoped to every purpose of the built-in policy.
    pub token: String,
    pub clock: Arc<TestClock>,
    /// Where the file mailer writes the request notices (unused with an SMTP mailer).
    pub mail_dir: tempfile::TempDir,
}

/// The public base URL of the test vault (links in the request notices).
pub const PUBLIC_URL: &str = "http://kluis.test";

/// A fresh database, initialised, with the break-glass token and a service token for every
/// built-in purpose. `None` when PostgreSQL is skipped on purpose.
pub async fn initialise(backend: Backend) -> Option<Initialised> {
    initialise_with(backend, ServerConfig::default().upload_max_bytes, None).await
}

/// [`initialise`], with the request workflow attached: settings for [`PUBLIC_URL`], the largest
/// ID upload, and the mailer of `mail` (default: the file mailer in `mail_dir`).
pub async fn initialise_with(
    backend: Backend,
    upload_max_bytes: u64,
    mail: Option<kluis_mail::MailConfig>,
) -> Option<Initialised> {
    let db = kluis_store_conformance::fresh(backend).await?;
    let root = kluis_crypto::SecretKey::generate().expect("generate a root key");
    let clock = Arc::new(TestClock::default());
    let (vault, break_glass) = Vault::initialise(
        db.store.clone(),
        &root,
        Catalogue::dutch_it_provider(),
        Arc::clone(&clock) as Arc<dyn Clock>,
    )
    .await
    .expect("initialise the vault");
    let purposes: Vec<String> = vault.policy().purposes().map(|p| p.as_str().to_owned()).collect();
    assert_eq!(purposes.len(), 7, "the built-in policy's purposes: {purposes:?}");
    let spec = TokenSpec { name: "tests (every purpose)".to_owned(), purposes: Some(purposes), ..TokenSpec::default() };
    let service = vault.create_token(&AuditContext::system(), &spec).await.expect("create the service token");
    let mail_dir = tempfile::tempdir().expect("a mail directory");
    let mail = mail.unwrap_or_else(|| kluis_mail::MailConfig {
        from: "privacy@kluis.test".to_owned(),
        file: kluis_mail::FileConfig { directory: mail_dir.path().to_path_buf() },
        ..kluis_mail::MailConfig::default()
    });
    let mailer =
        kluis_mail::from_config(&mail, Arc::clone(&clock) as Arc<dyn Clock>).expect("the mailer of the test vault");
    let settings = kluis_vault::requests::RequestSettings {
        public_url: PUBLIC_URL.to_owned(),
        upload_max_bytes,
        ..kluis_vault::requests::RequestSettings::default()
    };
    let vault = vault.with_requests(settings, Some(mailer));
    Some(Initialised {
        db,
        vault,
        admin_token: break_glass.secret.as_str().to_owned(),
        token: service.secret.as_str().to_owned(),
        clock,
        mail_dir,
    })
}

/// [`initialise`] as a tuple: the database, the vault and the service token (every purpose).
pub async fn initialised(backend: Backend) -> Option<(TestDb, Vault<SqlStore>, String)> {
    let init = initialise(backend).await?;
    Some((init.db, init.vault, init.token))
}

pub fn state(vault: &Vault<SqlStore>, config: ServerConfig) -> AppState {
    AppState { vault: Arc::new(vault.clone()), config: Arc::new(config) }
}

/// One application on one fresh, initialised database.
pub struct TestApp {
    pub db: TestDb,
    pub vault: Vault<SqlStore>,
    /// The break-glass token's secret (`kluis init`'s token: no personal data, loopback only).
    pub admin_token: String,
    /// A service token's secret, scoped to every built-in purpose.
    pub token: String,
    /// The vault's clock.
    pub clock: Arc<TestClock>,
    /// The file mailer's directory (see [`TestApp::mails`]).
    pub mail_dir: tempfile::TempDir,
    transport: Transport,
    logs: Option<(LogBuffer, usize)>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("backend", &self.db.backend).finish_non_exhaustive()
    }
}

/// A staff account made for a test, with everything needed to log in.
pub struct Staff {
    pub id: AccountId,
    pub username: String,
    pub password: String,
    pub seed: TotpSecret,
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for Staff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff").field("username", &self.username).finish_non_exhaustive()
    }
}

/// A console session: the cookie's value and the CSRF token the login returned.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// A password the strength check accepts, unique per call.
pub fn strong_password() -> String {
    format!("Vlinder-{}-Kade", uuid::Uuid::new_v4().simple())
}

/// The TOTP seed of an `otpauth://` URI (`secret=` in RFC 4648 base32).
pub fn seed_of(otpauth_uri: &str) -> TotpSecret {
    let (_, query) = otpauth_uri.split_once('?').expect("a query in the otpauth URI");
    let secret = query.split('&').find_map(|pair| pair.strip_prefix("secret=")).expect("secret= in the otpauth URI");
    TotpSecret::from_slice(&base32_decode(secret)).expect("a TOTP seed")
}

/// RFC 4648 base32 without padding.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase()).expect("a base32 character");
        buffer = (buffer << 5) | u32::try_from(value).expect("< 32");
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).expect("a byte"));
        }
    }
    out
}

impl TestApp {
    /// The router, called in process with `oneshot`. `None` when PostgreSQL is skipped on purpose.
    pub async fn in_process(backend: Backend) -> Option<TestApp> {
        TestApp::in_process_with(backend, ServerConfig::default()).await
    }

    pub async fn in_process_with(backend: Backend, config: ServerConfig) -> Option<TestApp> {
        TestApp::in_process_with_mail(backend, config, None).await
    }

    /// In process, with the request notices sent by the mailer of `mail` (default: the file
    /// mailer in `mail_dir`).
    pub async fn in_process_with_mail(
        backend: Backend,
        config: ServerConfig,
        mail: Option<kluis_mail::MailConfig>,
    ) -> Option<TestApp> {
        let Initialised { db, vault, admin_token, token, clock, mail_dir } =
            initialise_with(backend, config.upload_max_bytes, mail).await?;
        let router = kluis_server::app(state(&vault, config));
        Some(TestApp {
            db,
            vault,
            admin_token,
            token,
            clock,
            mail_dir,
            transport: Transport::InProcess(router),
            logs: None,
        })
    }

    /// A real server on `127.0.0.1:0`, with every log line captured from here on.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, ServerConfig::default()).await
    }

    pub async fn spawn_with(backend: Backend, config: ServerConfig) -> Option<TestApp> {
        let logs = capture_logs();
        let start = logs.len();
        let Initialised { db, vault, admin_token, token, clock, mail_dir } =
            initialise_with(backend, config.upload_max_bytes, None).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(kluis_server::serve(listener, state(&vault, config), async {
            rx.await.ok();
        }));
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("HTTP client");
        Some(TestApp {
            db,
            vault,
            admin_token,
            token,
            clock,
            mail_dir,
            transport: Transport::Spawned {
                base: format!("http://{addr}"),
                client,
                shutdown: Some(tx),
                server: Some(server),
            },
            logs: Some((logs, start)),
        })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// Row counts of the store, to show that a rejected request changed nothing.
    pub async fn counts(&self) -> Counts {
        self.vault.store().counts().await.expect("count rows")
    }

    /// Everything logged since the server was spawned (spawned apps only).
    pub fn logs(&self) -> Vec<u8> {
        let (buffer, start) = self.logs.as_ref().expect("logs are captured for spawned apps only");
        buffer.contents().get(*start..).unwrap_or_default().to_vec()
    }

    /// Every audit event so far, parsed.
    pub async fn audit_events(&self) -> Vec<Value> {
        self.vault
            .store()
            .audit_events(0, 10_000)
            .await
            .expect("read the audit log")
            .iter()
            .map(|e| serde_json::from_slice(&e.event).expect("an audit event is JSON"))
            .collect()
    }

    /// Audit events after the first `skip`, with this action.
    pub async fn audit_events_since(&self, skip: usize, action: &str) -> Vec<Value> {
        self.audit_events().await.into_iter().skip(skip).filter(|e| e["action"] == action).collect()
    }

    /// The bodies of the notices the file mailer wrote so far, oldest first (quoted-printable
    /// decoded).
    pub fn mails(&self) -> Vec<String> {
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(self.mail_dir.path())
            .expect("read the mail directory")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| decode_mail(&std::fs::read(p).expect("read a mail"))).collect()
    }

    /// Stops a spawned server and waits until it has finished.
    pub async fn shutdown(&mut self) {
        if let Transport::Spawned { shutdown, server, .. } = &mut self.transport {
            if let Some(tx) = shutdown.take() {
                tx.send(()).ok();
            }
            if let Some(server) = server.take() {
                server.await.expect("server task").expect("server stopped cleanly");
            }
        }
    }

    /// A staff account with a password (as `kluis account add` makes one): TOTP seed and recovery
    /// codes in hand, not logged in yet.
    pub async fn staff(&self, username: &str, role: &str, allowed_ips: &[&str]) -> Staff {
        let password = strong_password();
        let ips: Vec<String> = allowed_ips.iter().map(|s| (*s).to_owned()).collect();
        let enrolment = self
            .vault
            .create_account_with_password(
                &AuditContext::system(),
                username,
                role,
                &ips,
                Password::new(password.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("create account {username}: {e}"));
        Staff {
            id: enrolment.account,
            username: username.to_owned(),
            password,
            seed: seed_of(&enrolment.otpauth_uri),
            recovery_codes: enrolment.recovery_codes.iter().map(|c| c.as_str().to_owned()).collect(),
        }
    }

    /// The current TOTP code of `seed` by the vault's clock.
    pub fn totp(&self, seed: &TotpSecret) -> String {
        seed.code_at(self.clock.unix_seconds()).as_str().to_owned()
    }

    /// `POST /api/v1/auth/login` with password and the current TOTP code, as an anonymous
    /// client (no token).
    pub fn login_request(&self, staff: &Staff, totp: &str) -> TestRequest<'_> {
        self.post("/api/v1/auth/login").anonymous().json(&serde_json::json!({
            "username": staff.username,
            "password": staff.password,
            "totp": totp,
        }))
    }

    /// Logs in with password and TOTP; asserts success and returns the session.
    pub async fn login(&self, staff: &Staff) -> Session {
        let res = self.login_request(staff, &self.totp(&staff.seed)).send().await;
        assert_eq!(res.status, StatusCode::OK, "login {}: {}", staff.username, res.text());
        res.session()
    }

    pub fn request(&self, method: Method, uri: impl Into<String>) -> TestRequest<'_> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", self.token)).expect("token header"));
        headers.insert(HeaderName::from_static("kluis-purpose"), HeaderValue::from_static(PURPOSE));
        TestRequest { app: self, method, uri: uri.into(), headers, body: Vec::new(), client: CLIENT }
    }

    pub fn get(&self, uri: impl Into<String>) -> TestRequest<'_> {
        self.request(Method::GET, uri)
    }

    pub fn post(&self, uri: impl Into<String>) -> TestRequest<'_> {
        self.request(Method::POST, uri)
    }

    pub fn patch(&self, uri: impl Into<String>) -> TestRequest<'_> {
        self.request(Method::PATCH, uri)
    }

    pub fn delete(&self, uri: impl Into<String>) -> TestRequest<'_> {
        self.request(Method::DELETE, uri)
    }

    pub fn put(&self, uri: impl Into<String>) -> TestRequest<'_> {
        self.request(Method::PUT, uri)
    }

    // Shortcuts for the common calls; each asserts success.

    /// `POST /api/v1/subjects` with these values; returns the new id.
    pub async fn create(&self, values: &Value) -> String {
        let res = self.post("/api/v1/subjects").json(&serde_json::json!({ "values": values })).send().await;
        assert_eq!(res.status, StatusCode::CREATED, "create: {}", res.text());
        res.json()["id"].as_str().expect("id in the created body").to_owned()
    }

    /// `GET /api/v1/subjects/{id}` as JSON.
    pub async fn read(&self, id: &str) -> Value {
        let res = self.get(format!("/api/v1/subjects/{id}")).send().await;
        assert_eq!(res.status, StatusCode::OK, "read: {}", res.text());
        res.json()
    }

    /// The ids found by `GET /api/v1/subjects?<query>` (`query` already encoded).
    pub async fn find(&self, query: &str) -> Vec<String> {
        let res = self.get(format!("/api/v1/subjects?{query}")).send().await;
        assert_eq!(res.status, StatusCode::OK, "find {query}: {}", res.text());
        res.json()["subjects"]
            .as_array()
            .expect("subjects array")
            .iter()
            .map(|s| s["id"].as_str().expect("subject id").to_owned())
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Transport::Spawned { shutdown, .. } = &mut self.transport
            && let Some(tx) = shutdown.take()
        {
            tx.send(()).ok();
        }
    }
}

/// A request on its way; by default with a valid token and purpose.
pub struct TestRequest<'a> {
    app: &'a TestApp,
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The peer address of an in-process request.
    client: IpAddr,
}

impl TestRequest<'_> {
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        self.headers.insert(name, HeaderValue::from_str(value).expect("header value"));
        self
    }

    /// A header with raw bytes (which need not be ASCII).
    #[must_use]
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        self.headers.insert(name, HeaderValue::from_bytes(value).expect("header value"));
        self
    }

    #[must_use]
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.remove(name);
        self
    }

    #[must_use]
    pub fn without_auth(self) -> Self {
        self.without_header("authorization")
    }

    /// No credentials and no purpose.
    #[must_use]
    pub fn anonymous(self) -> Self {
        self.without_auth().without_header("kluis-purpose")
    }

    /// `Authorization: Bearer <token>` instead of the default token.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// With the break-glass token.
    #[must_use]
    pub fn admin(self) -> Self {
        let token = self.app.admin_token.clone();
        self.bearer(&token)
    }

    /// With a console session (cookie and CSRF token) instead of a token.
    #[must_use]
    pub fn session(self, session: &Session) -> Self {
        self.without_auth()
            .header("cookie", &format!("kluis_session={}", session.cookie))
            .header("x-csrf-token", &session.csrf)
    }

    #[must_use]
    pub fn purpose(self, purpose: &str) -> Self {
        self.header("kluis-purpose", purpose)
    }

    /// From another client address (in-process requests only: a spawned server sees the real
    /// peer, 127.0.0.1).
    #[must_use]
    pub fn peer(mut self, ip: &str) -> Self {
        assert!(
            matches!(self.app.transport, Transport::InProcess(_)),
            "only in-process requests can come from another address"
        );
        self.client = ip.parse().expect("an IP address");
        self
    }

    #[must_use]
    pub fn json(self, body: &Value) -> Self {
        self.body("application/json", serde_json::to_vec(body).expect("serialise"))
    }

    #[must_use]
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).expect("content type"));
        self.body = body.into();
        self
    }

    pub async fn send(self) -> TestResponse {
        match &self.app.transport {
            Transport::InProcess(router) => {
                let mut request =
                    Request::builder().method(self.method).uri(&self.uri).body(Body::from(self.body)).expect("request");
                *request.headers_mut() = self.headers;
                // What `into_make_service_with_connect_info` gives a real connection.
                request.extensions_mut().insert(ConnectInfo(SocketAddr::new(self.client, 50_000)));
                let response = router.clone().oneshot(request).await.expect("the router is infallible");
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.into_body().collect().await.expect("read the body").to_bytes().to_vec();
                TestResponse { status, headers, body }
            }
            Transport::Spawned { base, client, .. } => {
                let response = client
                    .request(self.method, format!("{base}{}", self.uri))
                    .headers(self.headers)
                    .body(self.body)
                    .send()
                    .await
                    .expect("send the request");
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await.expect("read the body").to_vec();
                TestResponse { status, headers, body }
            }
        }
    }
}

/// A response, read completely.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value `Set-Cookie` gives the session cookie.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next()?.trim().strip_prefix("kluis_session=").map(str::to_owned))
    }

    /// The session a successful login response starts.
    #[track_caller]
    pub fn session(&self) -> Session {
        let cookie = self.session_cookie().unwrap_or_else(|| panic!("no session cookie: {:?}", self.headers));
        assert!(!cookie.is_empty(), "an empty session cookie");
        let csrf = self.json()["csrf_token"].as_str().expect("csrf_token in the login response").to_owned();
        Session { cookie, csrf }
    }

    /// Asserts an RFC 9457 problem with this status and stable code; returns the document.
    #[track_caller]
    pub fn problem(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "status; body: {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type; body: {}",
            self.text()
        );
        let doc = self.json();
        assert_eq!(doc["code"], code, "code: {doc}");
        assert_eq!(doc["status"], status.as_u16(), "status field: {doc}");
        assert_eq!(doc["type"], format!("urn:kluis:problem:{code}"), "type: {doc}");
        for key in ["title", "detail", "detail_nl"] {
            assert!(doc[key].as_str().is_some_and(|s| !s.is_empty()), "{key} missing: {doc}");
        }
        doc
    }

    /// Asserts that neither the body nor any header holds `secret`, in any encoding and case.
    #[track_caller]
    pub fn assert_not_echoed(&self, secret: &str) {
        let mut everything = self.body.to_ascii_lowercase();
        // The request id is random hex: it could hold a short value by chance.
        for (name, value) in self.headers.iter().filter(|(name, _)| name.as_str() != "x-request-id") {
            everything.extend_from_slice(name.as_str().as_bytes());
            everything.extend_from_slice(value.as_bytes());
        }
        for form in [secret.to_owned(), secret.to_ascii_lowercase()] {
            assert!(
                kluis_store_conformance::find_canary(&everything, &form).is_none()
                    && kluis_store_conformance::find_canary(&self.body, &form).is_none(),
                "the response echoes the submitted value {secret:?}: {}",
                self.text()
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Small tools

/// The body of a single-part `.eml` (headers dropped, quoted-printable decoded).
pub fn decode_mail(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (headers, body) = text.split_once("\n\n").unwrap_or(("", &text));
    if !headers.to_ascii_lowercase().contains("content-transfer-encoding: quoted-printable") {
        return body.to_owned();
    }
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                } else {
                    out.push(b'=');
                    i += 1;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The verification code in a code notice: the line that is eight digits.
pub fn code_in(body: &str) -> Option<String> {
    body.lines().map(str::trim).find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit())).map(str::to_owned)
}

/// The portal path of the download link in a completion notice
/// (`/privacy/request/download/<token>`).
pub fn download_path_in(body: &str) -> Option<String> {
    let start = body.find(&format!("{PUBLIC_URL}/privacy/request/download/"))?;
    let link: String = body[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    Some(link[PUBLIC_URL.len()..].to_owned())
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
pub fn encode(value: &str) -> String {
    use std::fmt::Write;
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// A fresh random number below `bound` (from a v4 UUID: no extra dependency).
pub fn random_below(bound: u128) -> u128 {
    uuid::Uuid::new_v4().as_u128() % bound
}

/// The mod-97 check digits of an IBAN with this country code and BBAN.
pub fn iban_check_digits(country: &str, bban: &str) -> u32 {
    let rearranged = format!("{bban}{country}00");
    let remainder = rearranged.chars().fold(0_u32, |acc, c| {
        let n = c.to_digit(36).expect("IBAN characters are alphanumeric");
        if n >= 10 { (acc * 100 + n) % 97 } else { (acc * 10 + n) % 97 }
    });
    98 - remainder
}

/// A unique e-mail address `<prefix>-<random>@<domain>` that kluis accepts (a random part of hex
/// digits can hold a BSN-shaped run of nine, which kluis refuses in every field; drawn again then).
pub fn unique_email(prefix: &str, domain: &str) -> String {
    let catalogue = Catalogue::dutch_it_provider();
    loop {
        let email = format!("{prefix}-{}@{domain}", uuid::Uuid::new_v4().simple());
        if catalogue.parse_value("email", &email).is_ok() {
            return email;
        }
    }
}

/// A random Dutch IBAN (electronic form) with correct check digits that kluis accepts (a random
/// account number can contain a BSN-shaped run of digits, which kluis refuses).
pub fn random_iban() -> String {
    let catalogue = Catalogue::dutch_it_provider();
    loop {
        let bban = format!("ABNA{:010}", random_below(10_000_000_000));
        let iban = format!("NL{:02}{bban}", iban_check_digits("NL", &bban));
        if catalogue.parse_value("iban", &iban).is_ok() {
            return iban;
        }
    }
}

/// Groups an IBAN in fours and lowercases it: a different spelling of the same account.
pub fn iban_spelled_differently(iban: &str) -> String {
    iban.to_ascii_lowercase()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn check_digits_match_known_ibans() {
    assert_eq!(iban_check_digits("NL", "ABNA0417164300"), 91);
    assert_eq!(iban_check_digits("DE", "370400440532013000"), 89);
    assert_eq!(iban_spelled_differently("NL91ABNA0417164300"), "nl91 abna 0417 1643 00");
    assert_eq!(encode("a+b@c.nl 1"), "a%2Bb%40c.nl%201");
}
