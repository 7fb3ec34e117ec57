//! Browser-facing defences, applied to every route: security response headers, and CSRF
//! protection for cookie-authenticated (console) requests.
//!
//! **Headers** ([`security_headers`]): a Content-Security-Policy chosen by the response's content
//! type (a locked-down one for JSON and everything else, one that lets an HTML page load its own
//! styles and images), `X-Frame-Options`, `Referrer-Policy`, `X-Content-Type-Options`,
//! `Cross-Origin-Opener-Policy`, `Permissions-Policy`, and `Strict-Transport-Security` when the
//! server itself speaks TLS. A header a handler set on purpose is never overwritten.
//!
//! **CSRF** ([`csrf`]): for every method but GET, HEAD and OPTIONS,
//! 1. *where the request came from*: if `Sec-Fetch-Site` is present it must be `same-origin` or
//!    `none`; otherwise, if `Origin` is present, its `host[:port]` must equal the request's host
//!    (`Host`, or the HTTP/2 `:authority`). The scheme is not compared, so a TLS-terminating proxy
//!    in front of a plain-HTTP kluis works, provided it passes the browser's `Host` on (Caddy does;
//!    nginx needs `proxy_set_header Host $host`). This applies to every unsafe request that carries
//!    either header, with or without a session, so a cross-site page cannot log a browser in to an
//!    attacker's account (login CSRF on `POST /api/v1/auth/login` and `/auth/enrol`);
//! 2. *the session's token*: a request carrying the [`SESSION_COOKIE`] must also send
//!    [`CSRF_HEADER`] equal to [`kluis_crypto::csrf_token`] of the cookie's value (compared in
//!    constant time). Without either header of rule 1 (an old browser), this token alone decides.
//!    Login and enrolment ([`NO_SESSION_YET`]) skip this rule: they authenticate with a password,
//!    never with the cookie, and a browser may still hold a stale cookie of an expired session
//!    whose token the page no longer knows. So do the public request pages ([`PORTAL_PREFIX`]),
//!    plain forms that never read the cookie. Rule 1 still guards them.
//!
//! A request authenticated with `Authorization: Bearer` and no session cookie is exempt: a bearer
//! token is not an ambient credential, a browser never attaches one by itself (HTTP Basic
//! credentials it does attach, so only the Bearer scheme is exempt), and a cross-site page cannot
//! set the header without a CORS preflight kluis does not grant.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::ApiError;

/// The console's session cookie; its value is the session secret.
pub const SESSION_COOKIE: &str = "kluis_session";

/// The request header carrying the session's CSRF token ([`kluis_crypto::csrf_token`]).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Endpoints that start a session: the cookie plays no part in them, so only rule 1 applies.
pub const NO_SESSION_YET: [&str; 2] = ["/api/v1/auth/login", "/api/v1/auth/enrol"];

/// The public data-subject request pages (`/privacy/request…`): plain HTML forms that never read
/// the session cookie (a data subject has none; a staff member browsing them may), so only rule 1
/// applies to them.
pub const PORTAL_PREFIX: &str = "/privacy/request";

fn is_portal(path: &str) -> bool {
    path == PORTAL_PREFIX || path.starts_with("/privacy/request/")
}

/// The policy of every response that is not HTML (JSON, problem+json, Markdown, …): it loads
/// nothing, may not be framed, and cannot be turned into a page that submits forms elsewhere.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `Strict-Transport-Security`, sent only when kluis itself serves TLS. No `includeSubDomains`:
/// kluis cannot know what else runs under the operator's domain.
pub const HSTS: &str = "max-age=31536000";

/// The CSP source expression allowing one inline `<style>` element by hash:
/// `'sha256-<base64 of SHA-256 of its exact text>'` (CSP Level 2).
pub fn style_hash_source(css: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(kluis_crypto::sha256(css.as_bytes())))
}

/// The policy of HTML responses (the public `/privacy` page, later the console). No scripts at all
/// (`default-src 'none'`); styles from kluis itself (`'self'`, for the console's stylesheet) and
/// the privacy statement's single inline `<style>` element, allowed by its hash rather than by
/// `'unsafe-inline'`, so an injected `<style>` or `style=""` attribute would not apply; images from
/// kluis itself; forms submit only to kluis; never framed; no `<base>` redirection.
pub static HTML_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src 'self' {}; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'",
        style_hash_source(kluis_register::HTML_STYLE)
    )
});

/// Settings of [`security_headers`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders {
    /// The server itself terminates TLS: send `Strict-Transport-Security`.
    pub tls: bool,
}

/// Whether the response is an HTML document.
fn is_html(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("text/html") || essence.eq_ignore_ascii_case("application/xhtml+xml")
    })
}

fn set_if_absent(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) {
    headers.entry(name).or_insert(value);
}

/// Middleware adding the security headers to every response (`from_fn_with_state`).
pub async fn security_headers(State(settings): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let csp = if is_html(headers) {
        HeaderValue::from_str(&HTML_CSP).unwrap_or_else(|_| HeaderValue::from_static(API_CSP))
    } else {
        HeaderValue::from_static(API_CSP)
    };
    set_if_absent(headers, header::CONTENT_SECURITY_POLICY, csp);
    set_if_absent(headers, header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set_if_absent(headers, header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    set_if_absent(headers, header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    set_if_absent(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    set_if_absent(
        headers,
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if settings.tls {
        set_if_absent(headers, header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

// ------------------------------------------------------------------------------------------------
// CSRF

/// Why a request was refused; only logged, never sent (the body is one of two fixed texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` naming another host.
    CrossOrigin,
    /// Session cookie without the right `X-CSRF-Token`, or an ambiguous session cookie.
    Token,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::CrossOrigin => "cross-origin",
            Refusal::Token => "missing or wrong token",
        }
    }

    fn into_error(self) -> ApiError {
        match self {
            Refusal::CrossOrigin => ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "Cross-site request refused",
                "this request came from another site; changes are accepted only from kluis's own pages",
                "dit verzoek kwam van een andere site; wijzigingen worden alleen aanvaard vanaf de pagina's van kluis zelf",
            ),
            Refusal::Token => ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "CSRF token missing or wrong",
                "a request with a session cookie must send the session's CSRF token in the `X-CSRF-Token` header",
                "een verzoek met een sessiecookie moet het CSRF-token van de sessie meesturen in de header `X-CSRF-Token`",
            ),
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The values of every `kluis_session` cookie on the request (all `Cookie` header lines: HTTP/2
/// may split them).
pub(crate) fn session_cookies(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        // The value exactly as the session extractor reads it, so the token matches its session.
        .map(|(_, value)| value.trim())
        .collect()
}

/// `Authorization: Bearer …` (scheme case-insensitive).
fn has_bearer(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split_once(' ')
            .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
    })
}

/// `host[:port]` of an `Origin` header value (`scheme://host[:port]`), lower-cased; `None` for
/// `null` and anything else that is not a serialised origin.
fn origin_authority(origin: &str) -> Option<String> {
    let (_scheme, rest) = origin.split_once("://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    Some(rest.to_ascii_lowercase())
}

/// The port a scheme implies, to compare `https://kluis.example` with `Host: kluis.example:443`.
fn default_port(origin: &str) -> Option<&'static str> {
    let scheme = origin.split_once("://")?.0;
    if scheme.eq_ignore_ascii_case("https") {
        Some("443")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("80")
    } else {
        None
    }
}

/// Whether `origin` (a whole `Origin` header value) names the host the request was sent to.
fn same_host(origin: &str, host: &str) -> bool {
    let Some(from) = origin_authority(origin) else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    if from == host {
        return true;
    }
    // One side spelled the scheme's default port out, the other left it off.
    default_port(origin).is_some_and(|port| {
        let strip = |a: &str| a.strip_suffix(&format!(":{port}")).map(str::to_owned);
        strip(&from).unwrap_or_else(|| from.clone()) == strip(&host).unwrap_or(host.clone())
    })
}

/// Rule 1: `Some(true)` when the browser says the request is same-origin, `Some(false)` when it is
/// not, `None` when neither `Sec-Fetch-Site` nor `Origin` is present.
fn same_origin(req: &Request) -> Option<bool> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("").trim();
        return Some(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str() else {
        return Some(false);
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    Some(host.is_some_and(|host| same_host(origin, &host)))
}

/// The CSRF decision for one request.
fn check(req: &Request) -> Result<(), Refusal> {
    if is_safe(req.method()) {
        return Ok(());
    }
    let headers = req.headers();
    let sessions = session_cookies(headers);
    if sessions.is_empty() && has_bearer(headers) {
        return Ok(());
    }
    if same_origin(req) == Some(false) {
        return Err(Refusal::CrossOrigin);
    }
    if NO_SESSION_YET.contains(&req.uri().path()) || is_portal(req.uri().path()) {
        return Ok(());
    }
    match sessions.as_slice() {
        [] => Ok(()),
        [session] => {
            let expected = kluis_crypto::csrf_token(session);
            let given = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
            if kluis_crypto::ct_eq(given, expected.as_bytes()) { Ok(()) } else { Err(Refusal::Token) }
        }
        // Two session cookies: one may have been planted by a sibling subdomain (cookie tossing);
        // which one the browser meant cannot be told, so neither is trusted.
        _ => Err(Refusal::Token),
    }
}

/// Middleware enforcing the CSRF rules of this module (`middleware::from_fn`). Refusals are `403`
/// problem responses with code `csrf_failed`; they never echo a header value.
pub async fn csrf(req: Request, next: Next) -> Response {
    match check(&req) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            tracing::info!(reason = refusal.reason(), "CSRF check refused the request");
            refusal.into_error().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::middleware;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    const SECRET: &str = "kluis_session_secret_for_tests";

    fn router(tls: bool) -> Router {
        Router::new()
            .route("/json", get(|| async { axum::Json(serde_json::json!({ "ok": true })) }).post(|| async { "done" }))
            .route("/html", get(|| async { axum::response::Html("<p>hi</p>") }))
            .route(
                "/own-csp",
                get(|| async {
                    ([(header::CONTENT_SECURITY_POLICY, "default-src 'self'")], axum::response::Html("x"))
                }),
            )
            .route("/api/v1/auth/login", axum::routing::post(|| async { "logged in" }))
            .route("/api/v1/auth/logout", axum::routing::post(|| async { "logged out" }))
            .route("/privacy/request", axum::routing::post(|| async { "filed" }))
            .route("/privacy/requestx", axum::routing::post(|| async { "not the portal" }))
            .layer(middleware::from_fn(csrf))
            .layer(middleware::from_fn_with_state(SecurityHeaders { tls }, security_headers))
    }

    async fn send(tls: bool, req: Request<Body>) -> Response {
        router(tls).oneshot(req).await.unwrap()
    }

    fn get_req(uri: &str) -> Request<Body> {
        Request::get(uri).header(header::HOST, "kluis.example").body(Body::empty()).unwrap()
    }

    /// A POST to `uri` with `headers`, to host `kluis.example`.
    fn post(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut req = Request::post(uri).header(header::HOST, "kluis.example");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(Body::empty()).unwrap()
    }

    fn cookie() -> String {
        format!("theme=dark; {SESSION_COOKIE}={SECRET}")
    }

    fn token() -> String {
        kluis_crypto::csrf_token(SECRET)
    }

    async fn code_of(res: Response) -> String {
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        json["code"].as_str().unwrap().to_owned()
    }

    fn assert_common_headers(res: &Response) {
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(h["permissions-policy"], "camera=(), microphone=(), geolocation=()");
    }

    #[tokio::test]
    async fn json_responses_get_every_header_and_the_api_policy() {
        let res = send(false, get_req("/json")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_common_headers(&res);
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], API_CSP);
        assert!(res.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none(), "no HSTS without TLS");
    }

    #[tokio::test]
    async fn html_responses_get_the_html_policy() {
        let res = send(false, get_req("/html")).await;
        assert_common_headers(&res);
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, HTML_CSP.as_str());
        for directive in [
            "default-src 'none'",
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "style-src 'self' 'sha256-",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"), "{csp}");
    }

    #[tokio::test]
    async fn error_responses_get_the_headers_too() {
        let res = send(true, post("/json", &[("cookie", &cookie())])).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_common_headers(&res);
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], API_CSP);
        assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], HSTS);
    }

    #[tokio::test]
    async fn hsts_only_with_tls() {
        for uri in ["/json", "/html"] {
            let res = send(true, get_req(uri)).await;
            assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000", "{uri}");
            let res = send(false, get_req(uri)).await;
            assert!(res.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{uri}");
        }
    }

    #[tokio::test]
    async fn a_handlers_own_header_is_kept() {
        let res = send(false, get_req("/own-csp")).await;
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }

    #[test]
    fn the_style_hash_is_the_csp_level_2_form() {
        // echo -n 'body{}' | openssl dgst -sha256 -binary | base64
        assert_eq!(style_hash_source("body{}"), "'sha256-fJgEClQWV1hGkK4qHMO0KotTsVnMYMXTq7/suurGyUo='");
    }

    #[test]
    fn the_style_hash_matches_the_inline_style_of_the_rendered_statement() {
        let register =
            kluis_register::check(include_str!("../../../examples/hosting-provider.toml")).expect("example register");
        let meta = kluis_register::StatementMeta { version: 1, date: "2025-01-01".to_owned(), hash: "00".repeat(32) };
        let html = kluis_register::statement(&register, kluis_register::Lang::Nl, kluis_register::Format::Html, &meta);
        let style = html.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("an inline style");
        assert_eq!(html.matches("<style").count(), 1, "exactly one style element");
        assert!(!html.contains("style=\""), "no style attributes (a hash does not allow them)");
        assert!(HTML_CSP.contains(&style_hash_source(style)), "{}", *HTML_CSP);
    }

    /// The CSRF table: (description, request, expected status, expected problem code).
    #[tokio::test]
    #[allow(clippy::too_many_lines)] // one table
    async fn csrf_allows_and_refuses_as_specified() {
        let cookie = cookie();
        let token = token();
        let wrong = kluis_crypto::csrf_token("another session");
        let cases: Vec<(&str, Request<Body>, StatusCode)> = vec![
            (
                "GET with cookie, no token",
                Request::get("/json").header("cookie", &cookie).body(Body::empty()).unwrap(),
                StatusCode::OK,
            ),
            (
                "GET with cookie from another site (GET is safe)",
                Request::get("/json")
                    .header("cookie", &cookie)
                    .header("sec-fetch-site", "cross-site")
                    .body(Body::empty())
                    .unwrap(),
                StatusCode::OK,
            ),
            (
                "POST with cookie, right token, Sec-Fetch-Site same-origin",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("sec-fetch-site", "same-origin")]),
                StatusCode::OK,
            ),
            (
                "POST with cookie, right token, same Origin",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("origin", "https://kluis.example")]),
                StatusCode::OK,
            ),
            (
                "POST with cookie, right token, Origin with the default port spelled out",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("origin", "https://kluis.example:443")]),
                StatusCode::OK,
            ),
            (
                "POST with cookie, right token, no Origin or Sec-Fetch-Site (old browser)",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token)]),
                StatusCode::OK,
            ),
            (
                "POST with cookie, right token, Sec-Fetch-Site none (user-initiated)",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("sec-fetch-site", "none")]),
                StatusCode::OK,
            ),
            (
                "POST with cookie, no token",
                post("/json", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, another session's token",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &wrong), ("sec-fetch-site", "same-origin")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, the session secret itself as token",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, SECRET), ("sec-fetch-site", "same-origin")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, right token, Sec-Fetch-Site cross-site",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("sec-fetch-site", "cross-site")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, right token, Sec-Fetch-Site same-site (a sibling subdomain)",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("sec-fetch-site", "same-site")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, right token, foreign Origin",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("origin", "https://evil.example")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, right token, Origin on another port",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("origin", "https://kluis.example:8443")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with cookie, right token, Origin null",
                post("/json", &[("cookie", &cookie), (CSRF_HEADER, &token), ("origin", "null")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with two session cookies (cookie tossing)",
                post(
                    "/json",
                    &[
                        ("cookie", &format!("{SESSION_COOKIE}={SECRET}; {SESSION_COOKIE}=planted")),
                        (CSRF_HEADER, &token),
                        ("sec-fetch-site", "same-origin"),
                    ],
                ),
                StatusCode::FORBIDDEN,
            ),
            (
                "DELETE with cookie, no token",
                Request::delete("/json").header("cookie", &cookie).body(Body::empty()).unwrap(),
                StatusCode::FORBIDDEN,
            ),
            ("POST with bearer only", post("/json", &[("authorization", "Bearer kluis_abc")]), StatusCode::OK),
            (
                "POST with bearer only, even marked cross-site (no ambient credential)",
                post("/json", &[("authorization", "Bearer kluis_abc"), ("sec-fetch-site", "cross-site")]),
                StatusCode::OK,
            ),
            (
                "POST with bearer and cookie but no token (the cookie is ambient)",
                post("/json", &[("authorization", "Bearer kluis_abc"), ("cookie", &cookie)]),
                StatusCode::FORBIDDEN,
            ),
            (
                "POST with Basic credentials from another site (browsers attach those by themselves)",
                post("/json", &[("authorization", "Basic YTpi"), ("sec-fetch-site", "cross-site")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "login POST without cookie from another site",
                post("/api/v1/auth/login", &[("sec-fetch-site", "cross-site")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "login POST without cookie with a foreign Origin",
                post("/api/v1/auth/login", &[("origin", "https://evil.example")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "login POST without cookie, same-origin",
                post("/api/v1/auth/login", &[("sec-fetch-site", "same-origin"), ("origin", "https://kluis.example")]),
                StatusCode::OK,
            ),
            (
                "login POST without cookie, same Origin, no Sec-Fetch-Site",
                post("/api/v1/auth/login", &[("origin", "http://KLUIS.example")]),
                StatusCode::OK,
            ),
            (
                "login POST from a non-browser client (no Origin, no cookie)",
                post("/api/v1/auth/login", &[]),
                StatusCode::OK,
            ),
            (
                "login POST with a stale session cookie and no token, same-origin",
                post("/api/v1/auth/login", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]),
                StatusCode::OK,
            ),
            (
                "login POST with a session cookie from another site",
                post(
                    "/api/v1/auth/login",
                    &[("cookie", &cookie), (CSRF_HEADER, &token), ("sec-fetch-site", "cross-site")],
                ),
                StatusCode::FORBIDDEN,
            ),
            (
                "logout POST with cookie but no token",
                post("/api/v1/auth/logout", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "portal form POST from a browser holding a staff session, same-origin",
                post("/privacy/request", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]),
                StatusCode::OK,
            ),
            (
                "portal form POST from another site, cookie or not",
                post("/privacy/request", &[("cookie", &cookie), ("sec-fetch-site", "cross-site")]),
                StatusCode::FORBIDDEN,
            ),
            (
                "a path that only starts like the portal gets no exemption",
                post("/privacy/requestx", &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]),
                StatusCode::FORBIDDEN,
            ),
        ];
        for (what, req, status) in cases {
            let res = send(false, req).await;
            assert_eq!(res.status(), status, "{what}");
            if status == StatusCode::FORBIDDEN {
                assert_eq!(code_of(res).await, "csrf_failed", "{what}");
            }
        }
    }

    #[tokio::test]
    async fn the_origin_check_uses_the_http2_authority_without_a_host_header() {
        let token = token();
        let req = |origin: &str| {
            Request::post("https://kluis.example:8443/json")
                .header("cookie", cookie())
                .header(CSRF_HEADER, &token)
                .header("origin", origin)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(send(true, req("https://kluis.example:8443")).await.status(), StatusCode::OK);
        assert_eq!(send(true, req("https://evil.example")).await.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn refusals_never_echo_header_values() {
        let res = send(
            false,
            post(
                "/json",
                &[("cookie", &cookie()), (CSRF_HEADER, "tok-canary-123"), ("origin", "https://canary-host.example")],
            ),
        )
        .await;
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        for secret in ["tok-canary-123", "canary-host", SECRET, &token()] {
            assert!(!text.contains(secret), "{secret} echoed: {text}");
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["status"], 403);
        assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(json["detail_nl"].as_str().is_some_and(|d| !d.is_empty()));
    }

    #[test]
    fn origin_parsing() {
        assert!(same_host("https://kluis.example", "kluis.example"));
        assert!(same_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_host("https://kluis.example", "kluis.example:443"));
        assert!(same_host("http://[::1]:8080", "[::1]:8080"));
        assert!(!same_host("https://kluis.example", "kluis.example:80"));
        assert!(!same_host("https://kluis.example.evil.example", "kluis.example"));
        assert!(!same_host("null", "kluis.example"));
        assert!(!same_host("https://user@kluis.example", "kluis.example"));
        assert!(!same_host("https://kluis.example/path", "kluis.example"));
        assert!(!same_host("kluis.example", "kluis.example"));
    }
}
