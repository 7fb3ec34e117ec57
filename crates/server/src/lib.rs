//! kluis HTTP server: the JSON API under `/api/v1`, `/healthz`, the public privacy statement
//! (`/privacy`, `/privacy.md`), and the OpenAPI document generated from the handlers themselves (each route is registered once, together with its documentation,
//! so the two cannot drift).

pub mod error;
pub mod extract;
pub mod routes;
pub mod security;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use kluis_vault::VaultService;
use tokio::net::TcpListener;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::REQUEST_ID;
pub use crate::tls::{TlsConfig, TlsError, TlsFiles};

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The server itself terminates TLS: responses carry `Strict-Transport-Security`.
    /// [`serve_tls`] sets it; [`serve`] leaves it as given.
    pub tls: bool,
    /// Proxies whose `X-Forwarded-For` is believed (empty: the peer address is the client).
    pub trusted_proxies: kluis_domain::access::IpAllowlist,
    /// The session cookie gets `Secure`: kluis serves TLS itself, or a trusted proxy does.
    pub secure_cookies: bool,
    /// The largest ID document the portal accepts (the vault's `RequestSettings::upload_max_bytes`);
    /// the upload route's body limit is this plus [`UPLOAD_MARGIN_BYTES`] for the form around it.
    pub upload_max_bytes: u64,
}

/// Room for the multipart framing around an uploaded file.
pub const UPLOAD_MARGIN_BYTES: u64 = 64 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 64 * 1024,
            tls: false,
            trusted_proxies: kluis_domain::access::IpAllowlist::default(),
            secure_cookies: false,
            upload_max_bytes: 5 * 1024 * 1024,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub vault: Arc<dyn VaultService>,
    pub config: Arc<ServerConfig>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("backend", &self.vault.backend()).field("config", &self.config).finish()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kluis",
        description = "Personal-data vault and GDPR/AVG compliance engine. Every personal-data call names its purpose in the `Kluis-Purpose` header. Errors are RFC 9457 problem details with a stable `code`.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    tags((name = "subjects", description = "data subjects and their encrypted values"), (name = "meta", description = "health and catalogue"),
        (name = "auth", description = "console login with password and TOTP, enrolment, logout, and who the caller is"),
        (name = "accounts", description = "staff accounts and API tokens (permission manage_accounts)"),
        (name = "audit", description = "tamper-evident audit log: checkpoints and RFC 9162 proofs"),
        (name = "register", description = "the register as code: its versions, and the public privacy statement generated from it"),
        (name = "requests", description = "data-subject requests (GDPR Art. 12-22): intake by applications and staff, and their handling (permission handle_requests)"),
        (name = "portal", description = "the public portal for data-subject requests: HTML forms without JavaScript, in Dutch or English"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI document. `upload_limit` is the body limit of the portal's
/// ID-document upload (every other route has the server's `max_body_bytes`).
fn api(upload_limit: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let upload = OpenApiRouter::new()
        .routes(routes!(routes::portal::upload_form, routes::portal::upload))
        .layer(DefaultBodyLimit::max(upload_limit));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::subjects::create_subject, routes::subjects::find_subjects))
        .routes(routes!(
            routes::subjects::get_subject,
            routes::subjects::change_subject,
            routes::subjects::erase_subject
        ))
        .routes(routes!(routes::meta::list_fields))
        .routes(routes!(routes::meta::healthz))
        .routes(routes!(routes::audit::latest_checkpoint))
        .routes(routes!(routes::audit::sign_checkpoint))
        .routes(routes!(routes::audit::inclusion_proof))
        .routes(routes!(routes::audit::consistency_proof))
        .routes(routes!(routes::audit::list_events))
        .routes(routes!(routes::audit::public_key))
        .routes(routes!(routes::register::current_register))
        .routes(routes!(routes::register::list_register_versions))
        .routes(routes!(routes::register::get_register_version))
        .routes(routes!(routes::register::privacy_html))
        .routes(routes!(routes::register::privacy_markdown))
        .routes(routes!(routes::subjects::set_restriction))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::whoami))
        .routes(routes!(routes::auth::enrol))
        .routes(routes!(routes::accounts::create_account, routes::accounts::list_accounts))
        .routes(routes!(routes::accounts::get_account, routes::accounts::change_account))
        .routes(routes!(routes::accounts::unlock_account))
        .routes(routes!(routes::accounts::revoke_sessions))
        .routes(routes!(routes::accounts::reset_enrolment))
        .routes(routes!(routes::accounts::create_token, routes::accounts::list_tokens))
        .routes(routes!(routes::accounts::revoke_token))
        .routes(routes!(routes::requests::create_request, routes::requests::list_requests))
        .routes(routes!(routes::requests::get_request))
        .routes(routes!(routes::requests::send_code))
        .routes(routes!(routes::requests::enable_id_upload))
        .routes(routes!(routes::requests::id_document))
        .routes(routes!(routes::requests::check_identity))
        .routes(routes!(routes::requests::link_subject))
        .routes(routes!(routes::requests::extend_request))
        .routes(routes!(routes::requests::refuse_request))
        .routes(routes!(routes::requests::cannot_identify))
        .routes(routes!(routes::requests::withdraw_request))
        .routes(routes!(routes::requests::fulfil_request))
        .routes(routes!(routes::requests::transmit_request))
        .routes(routes!(routes::requests::lift_restriction))
        .routes(routes!(routes::portal::request_form, routes::portal::submit_request))
        .routes(routes!(routes::portal::request_page))
        .routes(routes!(routes::portal::verify))
        .routes(routes!(routes::portal::new_code))
        .routes(routes!(routes::portal::download_page))
        .routes(routes!(routes::portal::download_file))
        .merge(upload)
        .split_for_parts()
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api(0).1
}

/// Every request gets a fresh id (a client-chosen id would land in the audit log unchecked).
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        "this endpoint does not accept this method",
        "dit adres accepteert deze methode niet",
    )
}

/// The application: routes, OpenAPI document, and middleware.
pub fn app(state: AppState) -> Router {
    let upload_limit =
        usize::try_from(state.config.upload_max_bytes.saturating_add(UPLOAD_MARGIN_BYTES)).unwrap_or(usize::MAX);
    let (router, doc) = api(upload_limit);
    let doc = Arc::new(doc);
    let max_body = state.config.max_body_bytes;
    let headers = security::SecurityHeaders { tls: state.config.tls };
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&doc);
                async move { axum::Json(doc.as_ref().clone()).into_response() }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        // Inside the trace and request-id layers, so a refusal is logged with its request id.
        .layer(middleware::from_fn(security::csrf))
        .layer(
            // Only the method, the matched route template (never the raw path or query string,
            // which may hold an e-mail address) and the request id are logged.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let route = req.extensions().get::<MatchedPath>().map_or("<unmatched>", MatchedPath::as_str);
                    tracing::info_span!("request", method = %req.method(), path = %route, request_id = %id)
                })
                .on_request(())
                .on_response(|res: &Response, latency: std::time::Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis(), "response");
                }),
        )
        .layer(middleware::from_fn(request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        // Outermost, so every response gets them: 404s, 405s, CSRF refusals, body-limit errors.
        .layer(middleware::from_fn_with_state(headers, security::security_headers))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `app` over HTTPS on `listener` until `shutdown` resolves, then waits for open
/// connections to finish (as [`serve`] does). Handlers still get `ConnectInfo<SocketAddr>`.
/// Sets `state.config.tls`, so responses carry `Strict-Transport-Security`.
pub async fn serve_tls(
    listener: TcpListener,
    mut state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    tls: TlsConfig,
) -> std::io::Result<()> {
    if !state.config.tls {
        state.config = Arc::new(ServerConfig { tls: true, ..state.config.as_ref().clone() });
    }
    let handle = axum_server::Handle::<SocketAddr>::new();
    let on_shutdown = handle.clone();
    let watcher = tokio::spawn(async move {
        shutdown.await;
        on_shutdown.graceful_shutdown(None);
    });
    let acceptor =
        axum_server::tls_rustls::RustlsAcceptor::new(axum_server::tls_rustls::RustlsConfig::from_config(tls.0));
    let served = axum_server::Server::<SocketAddr>::from_listener(listener)
        .acceptor(acceptor)
        .handle(handle)
        .serve(app(state).into_make_service_with_connect_info::<SocketAddr>())
        .await;
    watcher.abort();
    served
}
