//! Extractors that turn a request into domain inputs, rejecting with our problem format: JSON
//! bodies, the bearer token, the `Kluis-Purpose` header, and the audit context of a request.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use kluis_domain::Purpose;
use kluis_domain::access::{CallerScope, Permission, client_address};
use kluis_domain::audit::AuditContext;
use kluis_vault::Caller;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The request id header, set by kluis on every request (incoming values are replaced: a
/// client-chosen id would end up in the audit log).
pub const REQUEST_ID: &str = "x-request-id";
/// The header that names the purpose of a personal-data call.
pub const PURPOSE_HEADER: &str = "kluis-purpose";

/// A JSON body. Rejections become problem responses whose messages never echo the body.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

fn body_shape_error(path: &str, line: usize, column: usize) -> ApiError {
    let path = if path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') { path } else { "?" };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        "Invalid body",
        format!("the JSON body does not have the expected shape at `{path}` (line {line}, column {column})"),
        format!("de JSON-body heeft niet de verwachte vorm bij `{path}` (regel {line}, kolom {column})"),
    )
}

/// The path to a shape error, naming only segments that look like field names: map keys are
/// client-chosen and may be personal data (an IBAN used as a key, say).
fn shape_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let plain = |s: &str| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let segments: Vec<String> = path
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } if plain(key) => key.clone(),
            _ => "?".to_owned(),
        })
        .collect();
    if segments.is_empty() { ".".to_owned() } else { segments.join(".") }
}

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                "send the body as `Content-Type: application/json`",
                "stuur de body als `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "Body too large",
                    "the request body exceeds the configured limit",
                    "de body van het verzoek is groter dan de ingestelde limiet",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "Unreadable body",
                    "the request body could not be read",
                    "de body van het verzoek kon niet worden gelezen",
                )
            }
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(value) => {
                // Trailing garbage after a valid document is malformed too.
                if let Err(e) = deserializer.end() {
                    return Err(malformed(&e));
                }
                Ok(AppJson(value))
            }
            Err(e) => {
                let inner = e.inner();
                match inner.classify() {
                    serde_json::error::Category::Data => {
                        Err(body_shape_error(&shape_path(e.path()), inner.line(), inner.column()))
                    }
                    _ => Err(malformed(inner)),
                }
            }
        }
    }
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        "Malformed JSON",
        format!("the body is not valid JSON (line {}, column {})", e.line(), e.column()),
        format!("de body is geen geldige JSON (regel {}, kolom {})", e.line(), e.column()),
    )
}

/// A query string. Rejections become the `invalid_query` problem; like [`AppJson`], the message
/// never echoes the query (it may hold an e-mail address).
#[derive(Debug)]
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await.map_err(|_| {
            ApiError::invalid_query(
                "the query string could not be parsed: a parameter is missing or has the wrong type",
                "de query-string kon niet worden gelezen: een parameter ontbreekt of heeft het verkeerde type",
            )
        })?;
        Ok(AppQuery(value))
    }
}

pub use crate::security::SESSION_COOKIE;

/// The client's address: the peer, or the `X-Forwarded-For` entry a trusted proxy vouches for.
pub fn client_addr(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip())?;
    let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    Some(client_address(peer, forwarded, &state.config.trusted_proxies))
}

/// The client address and request id of a request that need not be authenticated (login,
/// enrolment, logout).
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Client { addr: client_addr(parts, state), request_id: request_id(parts) })
    }
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    crate::security::session_cookies(headers).into_iter().next().filter(|v| !v.is_empty() && v.len() <= 256)
}

/// The bearer token of the `Authorization` header: `None` without the header, an error when it is
/// not a well-formed bearer credential.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<Result<&str, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(ApiError::unauthorized),
    )
}

/// The authenticated caller (a bearer token, else the session cookie) and the audit context of
/// the request (actor, client address, request id; no purpose).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub audit: AuditContext,
}

impl Authenticated {
    /// Refuses callers without `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.caller.may(permission) { Ok(()) } else { Err(ApiError::permission_denied(permission)) }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = client_addr(parts, state);
        let caller = if let Some(token) = bearer(&parts.headers) {
            state.vault.authenticate_token(token?, client).await?
        } else {
            let secret = session_cookie(&parts.headers).ok_or_else(ApiError::unauthorized)?;
            state.vault.authenticate_session(secret, client).await?
        };
        let audit = AuditContext { actor: caller.actor.clone(), purpose: None, client, request_id: request_id(parts) };
        Ok(Authenticated { caller, audit })
    }
}

pub fn request_id(parts: &Parts) -> Option<String> {
    parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Everything a personal-data call needs: an authenticated caller, its scope, a purpose, and the
/// request's audit context (actor, purpose, client address, request id).
#[derive(Debug, Clone)]
pub struct Access {
    pub caller: Caller,
    pub scope: CallerScope,
    pub audit: AuditContext,
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Authenticated { caller, mut audit } = Authenticated::from_request_parts(parts, state).await?;
        let raw = parts.headers.get(PURPOSE_HEADER).ok_or_else(ApiError::missing_purpose)?;
        let raw = raw.to_str().map_err(|_| ApiError::invalid_purpose("not ASCII"))?;
        let purpose = Purpose::parse(raw).map_err(|e| ApiError::invalid_purpose(&e.to_string()))?;
        audit.purpose = Some(purpose);
        let scope = caller.scope();
        Ok(Access { caller, scope, audit })
    }
}
