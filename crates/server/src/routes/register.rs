//! The register as code over HTTP. `/api/v1/register…`: the current and every past version of the
//! register source (any valid token; the source holds no personal data of subjects, but it is the
//! operator's working document). `/privacy` and `/privacy.md`: the public privacy statement
//! (Art. 13), generated from the current version, in Dutch or English.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_register::{Format, Lang, StatementMeta};
use kluis_vault::{RegisterVersionSummary, StoredRegisterVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppQuery, Authenticated};

/// One version of the register, with its source.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterVersionBody {
    /// 1, 2, 3, …: each load of a changed register is the next version.
    pub version: u64,
    /// When it was loaded, RFC 3339 (UTC).
    pub loaded_at: String,
    /// SHA-256 of `source`, hex.
    pub sha256: String,
    /// The register, as loaded (TOML).
    pub source: String,
}

impl From<StoredRegisterVersion> for RegisterVersionBody {
    fn from(v: StoredRegisterVersion) -> Self {
        RegisterVersionBody {
            version: v.version,
            loaded_at: v.loaded_at.rfc3339_utc(),
            sha256: hex::encode(v.sha256),
            source: v.source,
        }
    }
}

/// One version of the register, without its source.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterVersionSummaryBody {
    pub version: u64,
    /// RFC 3339 (UTC).
    pub loaded_at: String,
    /// SHA-256 of the source, hex.
    pub sha256: String,
}

impl From<RegisterVersionSummary> for RegisterVersionSummaryBody {
    fn from(v: RegisterVersionSummary) -> Self {
        RegisterVersionSummaryBody {
            version: v.version,
            loaded_at: v.loaded_at.rfc3339_utc(),
            sha256: hex::encode(v.sha256),
        }
    }
}

/// Every version of the register, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterVersionList {
    pub versions: Vec<RegisterVersionSummaryBody>,
}

/// No register has been loaded yet.
pub fn no_register() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_register",
        "No register",
        "no register has been loaded yet; run `kluis register load FILE`",
        "er is nog geen register geladen; gebruik `kluis register load BESTAND`",
    )
}

/// The current version of the register.
#[utoipa::path(
    get,
    path = "/api/v1/register",
    tag = "register",
    responses(
        (status = 200, description = "the current version", body = RegisterVersionBody),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no register loaded yet (`no_register`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn current_register(
    State(state): State<AppState>,
    _caller: Authenticated,
) -> Result<Json<RegisterVersionBody>, ApiError> {
    let (stored, _) = state.vault.current_register().await?.ok_or_else(no_register)?;
    Ok(Json(stored.into()))
}

/// Every version of the register, oldest first, without sources.
#[utoipa::path(
    get,
    path = "/api/v1/register/versions",
    tag = "register",
    responses(
        (status = 200, description = "the versions (empty before the first load)", body = RegisterVersionList),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_register_versions(
    State(state): State<AppState>,
    _caller: Authenticated,
) -> Result<Json<RegisterVersionList>, ApiError> {
    let versions = state.vault.register_versions().await?;
    Ok(Json(RegisterVersionList { versions: versions.into_iter().map(Into::into).collect() }))
}

/// One version of the register.
#[utoipa::path(
    get,
    path = "/api/v1/register/versions/{version}",
    tag = "register",
    params(("version" = u64, Path, description = "version number (1, 2, …)")),
    responses(
        (status = 200, description = "the version", body = RegisterVersionBody),
        (status = 400, description = "not a version number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such version (`register_version_not_found`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_register_version(
    State(state): State<AppState>,
    _caller: Authenticated,
    Path(version): Path<String>,
) -> Result<Json<RegisterVersionBody>, ApiError> {
    let version: u64 = version.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            "Invalid version",
            "the register version in the path is not a positive whole number",
            "de registerversie in het pad is geen positief geheel getal",
        )
    })?;
    let stored = state.vault.register_version(version).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "register_version_not_found",
            "Register version not found",
            "there is no register version with this number",
            "er is geen registerversie met dit nummer",
        )
    })?;
    Ok(Json(stored.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `nl` or `en`; without it, the `Accept-Language` header decides (default `nl`).
    pub lang: Option<String>,
}

/// The language asked for: `?lang=` first, then `Accept-Language`, else Dutch.
fn language(query: LangQuery, headers: &HeaderMap) -> Result<Lang, ApiError> {
    if let Some(raw) = query.lang {
        return raw
            .parse()
            .map_err(|_| ApiError::invalid_query("`lang` must be `nl` or `en`", "`lang` moet `nl` of `en` zijn"));
    }
    Ok(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::Nl, Lang::from_accept_language))
}

/// The statement of the current register version in `lang` and `format`.
async fn statement(state: &AppState, lang: Lang, format: Format) -> Result<String, ApiError> {
    let (stored, register) = state.vault.current_register().await?.ok_or_else(no_register)?;
    let meta =
        StatementMeta { version: stored.version, date: stored.loaded_at.date_utc(), hash: hex::encode(stored.sha256) };
    Ok(kluis_register::statement(&register, lang, format, &meta))
}

fn page(content_type: &'static str, lang: Lang, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.as_str()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    // Public, but it changes with every load: caches must revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The privacy statement as an HTML page (public).
#[utoipa::path(
    get,
    path = "/privacy",
    tag = "register",
    params(LangQuery),
    responses(
        (status = 200, description = "the statement of the current register version", body = String, content_type = "text/html"),
        (status = 400, description = "`lang` is not `nl` or `en`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no register loaded yet (`no_register`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn privacy_html(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = language(query, &headers)?;
    let body = statement(&state, lang, Format::Html).await?;
    // The security middleware sets the HTML policy, which allows exactly this page's inline style.
    Ok(page("text/html; charset=utf-8", lang, body))
}

/// The privacy statement as Markdown (public).
#[utoipa::path(
    get,
    path = "/privacy.md",
    tag = "register",
    params(LangQuery),
    responses(
        (status = 200, description = "the statement of the current register version", body = String, content_type = "text/markdown"),
        (status = 400, description = "`lang` is not `nl` or `en`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no register loaded yet (`no_register`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn privacy_markdown(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = language(query, &headers)?;
    let body = statement(&state, lang, Format::Markdown).await?;
    Ok(page("text/markdown; charset=utf-8", lang, body))
}
