//! `/api/v1/auth`: logging in to the console (password and TOTP, or a recovery code), logging
//! out, enrolment (set a password, receive the TOTP seed), and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_crypto::password::Password;
use kluis_domain::Timestamp;
use kluis_domain::access::Permission;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_vault::{AccountInfo, CallerKind, LoginAttempt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, Authenticated, Client, SESSION_COOKIE, session_cookie};
use crate::routes::no_store;

/// Body of `POST /api/v1/auth/login`: the password and one second factor.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
    /// The 6-digit code of the authenticator app.
    pub totp: Option<String>,
    /// A one-time recovery code, instead of `totp`.
    pub recovery_code: Option<String>,
}

// Never print the password or codes.
impl std::fmt::Debug for LoginBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginBody").finish_non_exhaustive()
    }
}

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountBody {
    pub id: String,
    pub username: String,
    pub role: String,
    /// CIDR entries; empty means any address.
    pub allowed_ips: Vec<String>,
    /// Enrolment completed (a TOTP code was accepted once).
    pub enrolled: bool,
    /// An enrolment secret is outstanding.
    pub enrolment_open: bool,
    pub created_at: String,
    pub updated_at: String,
    pub disabled_at: Option<String>,
}

impl From<AccountInfo> for AccountBody {
    fn from(a: AccountInfo) -> Self {
        AccountBody {
            id: a.id.to_string(),
            username: a.username,
            role: a.role,
            allowed_ips: a.allowed_ips,
            enrolled: a.enrolled,
            enrolment_open: a.enrolment_open,
            created_at: a.created_at.rfc3339_utc(),
            updated_at: a.updated_at.rfc3339_utc(),
            disabled_at: a.disabled_at.map(Timestamp::rfc3339_utc),
        }
    }
}

/// A started session. The session itself is in the `kluis_session` cookie (HttpOnly); send
/// `csrf_token` as `X-CSRF-Token` with every unsafe request.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub account: AccountBody,
    pub csrf_token: String,
    /// RFC 3339: the absolute end of the session.
    pub expires_at: String,
}

fn cookie(state: &AppState, value: &str, max_age_s: i64) -> Result<HeaderValue, ApiError> {
    let secure = if state.config.tls || state.config.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .map_err(|_| ApiError::internal())
}

/// Log in: password and a TOTP code (or a recovery code). Unknown accounts get the same answer,
/// after the same work, as wrong passwords. Repeated failures lock the account name and the
/// client address for a while (429 with `Retry-After`). Every attempt is audited.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "logged in; the session is in the `kluis_session` cookie", body = LoginResponse),
        (status = 401, description = "wrong account name, password or second factor (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "address not in the account's allowlist", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "locked after repeated failures", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    AppJson(body): AppJson<LoginBody>,
) -> Result<Response, ApiError> {
    let attempt = LoginAttempt {
        username: body.username,
        password: Password::new(body.password),
        totp: body.totp,
        recovery_code: body.recovery_code,
    };
    let session = state.vault.login(client.addr, client.request_id, attempt).await?;
    let set_cookie = cookie(&state, &session.secret, session.lifetime_s)?;
    let body = LoginResponse {
        account: AccountBody::from(session.account),
        csrf_token: session.csrf_token,
        expires_at: session.expires_at.rfc3339_utc(),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie);
    Ok(no_store(response))
}

/// Log out: ends the session of the cookie (if any) and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses((status = 204, description = "logged out (also when there was no live session)"))
)]
pub async fn logout(State(state): State<AppState>, client: Client, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = session_cookie(&headers) {
        // The actor is whoever the session belongs to, if it is still live.
        let actor = match state.vault.authenticate_session(secret, client.addr).await {
            Ok(caller) => caller.actor,
            Err(_) => Actor::Anonymous,
        };
        let ctx = AuditContext { actor, purpose: None, client: client.addr, request_id: client.request_id };
        state.vault.logout(&ctx, secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}

/// Who is calling, and what it may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// `session`, `token` or `break_glass`.
    pub kind: String,
    pub name: String,
    pub role: Option<String>,
    /// Permissions besides personal data (`manage_accounts`, `manage_register`,
    /// `handle_requests`, `read_audit`).
    pub permissions: Vec<String>,
    /// The purposes this caller may name in `Kluis-Purpose`.
    pub purposes: Vec<String>,
}

/// The caller: kind, role, permissions and usable purposes.
#[utoipa::path(
    get,
    path = "/api/v1/auth/session",
    tag = "auth",
    responses(
        (status = 200, description = "the caller", body = WhoAmI),
        (status = 401, description = "not logged in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn whoami(State(state): State<AppState>, caller: Authenticated) -> Json<WhoAmI> {
    let c = &caller.caller;
    let policy = state.vault.policy();
    let scope = c.scope();
    let catalogue = state.vault.catalogue();
    let purposes = policy
        .purposes()
        .filter(|p| kluis_domain::access::decide(&policy, &scope, p, catalogue, false).is_ok())
        .map(|p| p.as_str().to_owned())
        .collect();
    let kind = match c.kind {
        CallerKind::Session => "session",
        CallerKind::Token => "token",
        CallerKind::BreakGlass => "break_glass",
    };
    Json(WhoAmI {
        kind: kind.to_owned(),
        name: c.name.clone(),
        role: c.role.map(|r| r.as_str().to_owned()),
        permissions: Permission::ALL.iter().filter(|p| c.may(**p)).map(|p| p.as_str().to_owned()).collect(),
        purposes,
    })
}

/// Body of `POST /api/v1/auth/enrol`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// The enrolment secret an administrator handed out.
    pub enrolment_token: String,
    /// The new password: at least 12 characters and hard to guess (zxcvbn score 3 or more).
    pub password: String,
}

impl std::fmt::Debug for EnrolBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolBody").finish_non_exhaustive()
    }
}

/// What enrolment returns, once: add the URI to an authenticator app, keep the recovery codes
/// offline. The first login with a valid code completes enrolment.
#[derive(Serialize, ToSchema)]
pub struct EnrolResponse {
    pub account_id: String,
    pub otpauth_uri: String,
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for EnrolResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolResponse").field("account_id", &self.account_id).finish_non_exhaustive()
    }
}

/// Enrol: set a password with the enrolment secret and receive the TOTP seed and recovery codes.
#[utoipa::path(
    post,
    path = "/api/v1/auth/enrol",
    tag = "auth",
    request_body = EnrolBody,
    responses(
        (status = 200, description = "enrolled; shown once", body = EnrolResponse),
        (status = 400, description = "unknown, used or expired enrolment secret", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "weak password (the message says what is wrong)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enrol(
    State(state): State<AppState>,
    client: Client,
    AppJson(body): AppJson<EnrolBody>,
) -> Result<Response, ApiError> {
    let ctx =
        AuditContext { actor: Actor::Anonymous, purpose: None, client: client.addr, request_id: client.request_id };
    let enrolment = state.vault.enrol(&ctx, &body.enrolment_token, Password::new(body.password)).await?;
    let body = EnrolResponse {
        account_id: enrolment.account.to_string(),
        otpauth_uri: enrolment.otpauth_uri.to_string(),
        recovery_codes: enrolment.recovery_codes.iter().map(|c| c.to_string()).collect(),
    };
    Ok(no_store(Json(body).into_response()))
}
