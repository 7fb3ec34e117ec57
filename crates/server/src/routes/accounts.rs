//! `/api/v1/accounts` and `/api/v1/tokens`: staff accounts and API tokens. Needs the permission
//! `manage_accounts` (the admin role, or the break-glass token). Secrets (enrolment secrets,
//! tokens) are shown once in the response that creates them and never again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kluis_domain::access::Permission;
use kluis_domain::{AccountId, Timestamp, TokenId};
use kluis_vault::{AccountChange, NewAccount, TokenInfo, TokenSpec};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, Authenticated};
use crate::routes::auth::AccountBody;
use crate::routes::no_store;

fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid_id_of("account", "account"))
}

fn token_id(raw: &str) -> Result<TokenId, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid_id_of("token", "token"))
}

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// A handle: 2-32 characters a-z, 0-9, `.`, `_`, `-` (not an e-mail address).
    pub username: String,
    /// `admin`, `dpo`, `staff`, `accountant` or `auditor`.
    pub role: String,
    /// IPv4/IPv6 CIDR entries the account may log in from; empty or absent: any address.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

/// An enrolment secret: hand it to the person, who sets a password with it at
/// `POST /api/v1/auth/enrol`. Shown once.
#[derive(Serialize, ToSchema)]
pub struct EnrolmentBody {
    pub id: String,
    pub enrolment_token: String,
    /// RFC 3339.
    pub enrolment_expires_at: String,
}

impl std::fmt::Debug for EnrolmentBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolmentBody").field("id", &self.id).finish_non_exhaustive()
    }
}

impl From<NewAccount> for EnrolmentBody {
    fn from(a: NewAccount) -> Self {
        EnrolmentBody {
            id: a.id.to_string(),
            enrolment_token: a.enrolment_secret.to_string(),
            enrolment_expires_at: a.enrolment_expires_at.rfc3339_utc(),
        }
    }
}

/// Create a staff account with an open enrolment.
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "created; the enrolment secret is shown once", body = EnrolmentBody),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid username, role or CIDR", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Authenticated,
    AppJson(body): AppJson<CreateAccount>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let created = state.vault.create_account(&caller.audit, &body.username, &body.role, &body.allowed_ips).await?;
    Ok(no_store((StatusCode::CREATED, Json(EnrolmentBody::from(created))).into_response()))
}

/// Every account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountBody>,
}

/// List staff accounts.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    responses(
        (status = 200, description = "every account", body = AccountList),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Authenticated,
) -> Result<Json<AccountList>, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let accounts = state.vault.accounts().await?;
    Ok(Json(AccountList { accounts: accounts.into_iter().map(AccountBody::from).collect() }))
}

/// One account.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    params(("id" = String, Path, description = "account id (UUID)")),
    responses(
        (status = 200, description = "the account", body = AccountBody),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<AccountBody>, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let account = state.vault.account(account_id(&id)?).await?;
    Ok(Json(AccountBody::from(account)))
}

/// Body of `PATCH /api/v1/accounts/{id}`: absent members stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeAccount {
    pub role: Option<String>,
    pub allowed_ips: Option<Vec<String>>,
    /// `true` disables the account and ends its sessions.
    pub disabled: Option<bool>,
}

/// Change an account's role, allowlist or disabled state; every session of the account ends.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{id}",
    tag = "accounts",
    request_body = ChangeAccount,
    params(("id" = String, Path, description = "account id (UUID)")),
    responses(
        (status = 200, description = "the changed account", body = AccountBody),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid role or CIDR", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn change_account(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<ChangeAccount>,
) -> Result<Json<AccountBody>, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let change = AccountChange { role: body.role, allowed_ips: body.allowed_ips, disabled: body.disabled };
    let account = state.vault.update_account(&caller.audit, account_id(&id)?, &change).await?;
    Ok(Json(AccountBody::from(account)))
}

/// Lift the login lock of an account.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/unlock",
    tag = "accounts",
    params(("id" = String, Path, description = "account id (UUID)")),
    responses(
        (status = 204, description = "unlocked"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn unlock_account(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    state.vault.unlock_account(&caller.audit, account_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

/// End every session of an account.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/revoke-sessions",
    tag = "accounts",
    params(("id" = String, Path, description = "account id (UUID)")),
    responses(
        (status = 200, description = "sessions ended", body = Revoked),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let revoked = state.vault.revoke_sessions(&caller.audit, account_id(&id)?).await?;
    Ok(Json(Revoked { revoked }))
}

/// Drop an account's password, TOTP seed and recovery codes and open a new enrolment (lost
/// phone, forgotten password). Every session of the account ends.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/reset-enrolment",
    tag = "accounts",
    params(("id" = String, Path, description = "account id (UUID)")),
    responses(
        (status = 200, description = "a new enrolment secret, shown once", body = EnrolmentBody),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reset_enrolment(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let created = state.vault.reset_enrolment(&caller.audit, account_id(&id)?).await?;
    Ok(no_store(Json(EnrolmentBody::from(created)).into_response()))
}

// ------------------------------------------------------------------------------------------------
// Tokens

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for (an application's name).
    pub name: String,
    /// A staff role the token acts with (`auditor`, …); absent: a service token limited to
    /// `purposes`.
    pub role: Option<String>,
    /// The purposes the token may name (required without a role; with a role, a further limit).
    pub purposes: Option<Vec<String>>,
    /// IPv4/IPv6 CIDR entries the token may be used from; empty or absent: any address.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// RFC 3339; absent: no expiry.
    pub expires_at: Option<String>,
}

/// A new token, shown once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub token: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub id: String,
    pub name: String,
    /// `service`, `break_glass` or a role name.
    pub role: String,
    pub purposes: Option<Vec<String>>,
    pub allowed_ips: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenBody {
    fn from(t: TokenInfo) -> Self {
        TokenBody {
            id: t.id.to_string(),
            name: t.name,
            role: t.role,
            purposes: t.purposes,
            allowed_ips: t.allowed_ips,
            created_at: t.created_at.rfc3339_utc(),
            expires_at: t.expires_at.map(Timestamp::rfc3339_utc),
            revoked_at: t.revoked_at.map(Timestamp::rfc3339_utc),
        }
    }
}

/// Every token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenBody>,
}

/// Parses an RFC 3339 instant.
pub fn parse_instant(raw: &str) -> Result<Timestamp, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_expiry",
            "Invalid expiry",
            "expires_at is not an RFC 3339 date-time such as 2027-01-31T23:59:59Z",
            "expires_at is geen RFC 3339-tijdstip zoals 2027-01-31T23:59:59Z",
        )
    };
    let t = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| invalid())?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| invalid())?;
    Ok(Timestamp::from_millis(ms))
}

/// Create an API token (a service token scoped to purposes, or a role token).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "accounts",
    request_body = CreateToken,
    responses(
        (status = 201, description = "created; the token is shown once", body = CreatedToken),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "unknown role or purpose, no scope, malformed CIDR, expiry in the past", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Authenticated,
    AppJson(body): AppJson<CreateToken>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let expires_at = body.expires_at.as_deref().map(parse_instant).transpose()?;
    if body.role.as_deref() == Some(kluis_vault::access::BREAK_GLASS) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_role",
            "Invalid input",
            "break-glass tokens are made by `kluis init` only",
            "break-glass-tokens worden alleen door `kluis init` gemaakt",
        ));
    }
    let spec = TokenSpec {
        name: body.name,
        role: body.role,
        purposes: body.purposes,
        allowed_ips: body.allowed_ips,
        expires_at,
    };
    let issued = state.vault.create_token(&caller.audit, &spec).await?;
    let body = CreatedToken { id: issued.id.to_string(), token: issued.secret.to_string() };
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}

/// List tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "accounts",
    responses(
        (status = 200, description = "every token", body = TokenList),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tokens(State(state): State<AppState>, caller: Authenticated) -> Result<Json<TokenList>, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    let tokens = state.vault.tokens().await?;
    Ok(Json(TokenList { tokens: tokens.into_iter().map(TokenBody::from).collect() }))
}

/// Revoke a token.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "accounts",
    params(("id" = String, Path, description = "token id (UUID)")),
    responses(
        (status = 204, description = "revoked"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission manage_accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such live token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccounts)?;
    state.vault.revoke_token(&caller.audit, token_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
