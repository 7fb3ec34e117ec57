//! `/api/v1/requests`: data-subject requests (GDPR Art. 12-22) over the API. An application files
//! a request for its logged-in customer with its service token (channel `api`: the application
//! vouches for the customer, so the request is verified at once); a staff member with the
//! permission `handle_requests` files one on behalf of a caller or a letter (channel `staff`) and
//! works every request through its states. The public intake is the portal (`/privacy/request`,
//! [`crate::routes::portal`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_domain::access::Permission;
use kluis_domain::request::{Channel, RequestKind};
use kluis_domain::{RequestId, SubjectId, Timestamp};
use kluis_vault::CallerKind;
use kluis_vault::requests::{NewRequest, NoticeLang, RequestFilter, RequestView, TimelineView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppQuery, Authenticated};
use crate::routes::no_store;

/// Body of `POST /api/v1/requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// `access`, `rectification`, `erasure`, `restriction`, `portability`, `objection` or
    /// `withdrawal` (of consent).
    #[schema(example = "access")]
    pub kind: String,
    /// The language of the notices: `nl` (default), `en` or `both`.
    #[schema(example = "nl")]
    pub lang: Option<String>,
    /// Where the notices go. A service token leaves it out: the subject's address on file is used.
    pub email: Option<String>,
    /// The subject (UUID). Required with a service token (the application's logged-in customer).
    pub subject: Option<String>,
    /// Objection and withdrawal: the purpose (a register purpose key).
    pub purpose: Option<String>,
    /// What the requester wrote, at most 4,000 characters.
    pub details: Option<String>,
    /// Rectification: field name to the corrected value, `null` to remove it.
    #[serde(default)]
    pub changes: BTreeMap<String, Option<String>>,
}

/// One entry of a request's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineBody {
    /// RFC 3339 (UTC).
    pub at: String,
    /// `received`, `code_sent`, `code_rejected`, `verified`, `id_upload_enabled`, `id_uploaded`,
    /// `id_checked`, `extended`, `state_changed`, `fulfilled`, `recipient_notified`, `transmitted`, `mail_sent`,
    /// `mail_failed`, `downloaded`, `restriction_lifted`.
    pub kind: String,
    /// Who did it (`token:<id>`, `account:<id>`, `anonymous`, `system`).
    pub actor: String,
    /// The state after the entry.
    pub state: String,
    pub detail: Option<String>,
    /// Free text (reasons, justification).
    pub note: Option<String>,
}

/// A data-subject request as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestBody {
    pub id: String,
    pub kind: String,
    /// `received`, `verifying`, `in_progress`, `extended`, `completed`, `partially_completed`,
    /// `refused`, `cannot_identify`, `withdrawn`.
    pub state: String,
    /// `portal`, `api` or `staff`.
    pub channel: String,
    /// `nl`, `en` or `both`.
    pub lang: String,
    pub subject: Option<String>,
    pub purpose: Option<String>,
    /// RFC 3339 (UTC).
    pub received_at: String,
    /// `YYYY-MM-DD`: the legal due date (or the extended one).
    pub due_on: String,
    pub extended_to: Option<String>,
    /// `ok`, `due_soon`, `urgent`, `overdue` (open requests), `closed`.
    pub urgency: String,
    /// `mailed_code`, `application` or `id_document`.
    pub verification: Option<String>,
    pub verified_at: Option<String>,
    pub closed_at: Option<String>,
    pub id_upload_allowed: bool,
    pub id_uploaded: bool,
    /// The requester's address (single views only).
    pub email: Option<String>,
    /// What the requester wrote (single views only).
    pub details: Option<String>,
    /// Single views only.
    pub timeline: Vec<TimelineBody>,
}

fn time(ts: Timestamp) -> String {
    ts.rfc3339_utc()
}

impl From<TimelineView> for TimelineBody {
    fn from(t: TimelineView) -> Self {
        TimelineBody {
            at: time(t.at),
            kind: t.kind.as_str().to_owned(),
            actor: t.actor,
            state: t.state.as_str().to_owned(),
            detail: t.detail,
            note: t.note,
        }
    }
}

impl From<RequestView> for RequestBody {
    fn from(r: RequestView) -> Self {
        RequestBody {
            id: r.id.to_string(),
            kind: r.kind.as_str().to_owned(),
            state: r.state.as_str().to_owned(),
            channel: r.channel.as_str().to_owned(),
            lang: r.lang.as_str().to_owned(),
            subject: r.subject.map(|s| s.to_string()),
            purpose: r.purpose,
            received_at: time(r.received_at),
            due_on: r.due_on,
            extended_to: r.extended_to,
            urgency: r.urgency.to_owned(),
            verification: r.verification.map(|v| v.as_str().to_owned()),
            verified_at: r.verified_at.map(time),
            closed_at: r.closed_at.map(time),
            id_upload_allowed: r.id_upload_allowed,
            id_uploaded: r.id_uploaded,
            email: r.email,
            details: r.details,
            timeline: r.timeline.into_iter().map(TimelineBody::from).collect(),
        }
    }
}

/// A list of requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestBody>,
}

fn view(request: RequestView) -> Response {
    no_store(Json(RequestBody::from(request)).into_response())
}

/// The request id in the path.
pub(crate) fn parse_request_id(raw: &str) -> Result<RequestId, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid_id_of("request", "verzoek"))
}

fn parse_subject(raw: &str) -> Result<SubjectId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_subject",
            "Invalid subject",
            "`subject` is not a subject id (UUID)",
            "`subject` is geen id van een betrokkene (UUID)",
        )
    })
}

/// The kind of request named in a body or form.
pub(crate) fn parse_kind(raw: &str) -> Result<RequestKind, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_request_type",
            "Unknown request type",
            "`kind` must be one of access, rectification, erasure, restriction, portability, objection, withdrawal",
            "`kind` moet een van access, rectification, erasure, restriction, portability, objection, withdrawal zijn",
        )
    })
}

/// The language of the notices (`nl` when not given).
pub(crate) fn parse_lang(raw: Option<&str>) -> Result<NoticeLang, ApiError> {
    match raw {
        None => Ok(NoticeLang::Nl),
        Some(raw) => NoticeLang::parse(raw).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_lang",
                "Invalid language",
                "`lang` must be `nl`, `en` or `both`",
                "`lang` moet `nl`, `en` of `both` zijn",
            )
        }),
    }
}

/// File a data-subject request. With a service token (an application, for its logged-in customer)
/// the request is `api` and needs `subject`: it is verified at once and the notices go to the
/// subject's address on file. With the permission `handle_requests` it is a `staff` request (on
/// behalf of a caller or a letter): `email` and `subject` are optional.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "filed", body = RequestBody),
        (status = 400, description = "malformed JSON or an unknown request type (`unknown_request_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "neither a service token nor the permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid members (e-mail address, subject, purpose, details, changes)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_request(
    State(state): State<AppState>,
    caller: Authenticated,
    AppJson(body): AppJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let channel = if caller.caller.may(Permission::HandleRequests) {
        Channel::Staff
    } else if caller.caller.kind == CallerKind::Token && caller.caller.role.is_none() {
        Channel::Api
    } else {
        return Err(ApiError::permission_denied(Permission::HandleRequests));
    };
    let kind = parse_kind(&body.kind)?;
    let lang = parse_lang(body.lang.as_deref())?;
    let subject = body.subject.as_deref().map(parse_subject).transpose()?;
    // The vault refuses an API request without `subject` and `changes` outside a rectification.
    let new = NewRequest {
        kind,
        channel,
        lang,
        email: body.email,
        subject,
        purpose: body.purpose,
        details: body.details,
        changes: body.changes.into_iter().collect(),
    };
    let request = state.vault.submit_request(&caller.audit, new).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/requests/{}", request.id)) {
        headers.insert(header::LOCATION, location);
    }
    let mut response = (StatusCode::CREATED, headers, Json(RequestBody::from(request))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Which requests to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default: every open request, most urgent first), `due_soon` (due within seven
    /// days), `overdue`, `all` (newest first, at most 1,000).
    pub filter: Option<String>,
}

/// List requests: open ones, those due soon, the overdue ones, or all. Without e-mail addresses,
/// details and timelines. Needs the permission `handle_requests`.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    params(ListQuery),
    responses(
        (status = 200, description = "the requests", body = RequestList),
        (status = 400, description = "unknown filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_requests(
    State(state): State<AppState>,
    caller: Authenticated,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let filter = match query.filter.as_deref() {
        None | Some("open") => RequestFilter::Open,
        Some("due_soon") => RequestFilter::DueSoon,
        Some("overdue") => RequestFilter::Overdue,
        Some("all") => RequestFilter::All,
        Some(_) => {
            return Err(ApiError::invalid_query(
                "`filter` must be `open`, `due_soon`, `overdue` or `all`",
                "`filter` moet `open`, `due_soon`, `overdue` of `all` zijn",
            ));
        }
    };
    let requests = state.vault.list_requests(filter).await?;
    let body = RequestList { requests: requests.into_iter().map(RequestBody::from).collect() };
    Ok(no_store(Json(body).into_response()))
}

/// Read a request with its timeline, the requester's address and details (audited).
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    tag = "requests",
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "the request", body = RequestBody),
        (status = 400, description = "invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.request_view(&caller.audit, id).await?))
}

/// Mail a new verification code to the requester (the previous one stops working).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/code",
    tag = "requests",
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "sent; the request", body = RequestBody),
        (status = 400, description = "invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not in a state that takes a code, or no address (`no_contact`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many codes for this request (`too_many_codes`)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the code could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn send_code(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.send_code(&caller.audit, id).await?))
}

/// Body of `POST /api/v1/requests/{id}/id-upload`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableUpload {
    /// Why a mailed code is not enough for this request (kept in the timeline).
    pub justification: String,
}

/// Allow the requester to upload an ID document for this request, with a written justification.
/// The portal then asks for it, with the instruction to shield the BSN, the photo, the MRZ and the
/// document number; the file is kept encrypted until the check and deleted right after it.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/id-upload",
    tag = "requests",
    request_body = EnableUpload,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "allowed; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is past verification", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no justification", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn enable_id_upload(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<EnableUpload>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.enable_id_upload(&caller.audit, id, body.justification).await?))
}

/// The uploaded ID document, for the check (audited). Never cached; always a download.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}/id-document",
    tag = "requests",
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "the file (JPEG, PNG or PDF)", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no document uploaded (`no_upload`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn id_document(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    let document = state.vault.id_document(&caller.audit, id).await?;
    let extension = match document.content_type.as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    let name = format!("id-document-{id}.{extension}");
    Ok(attachment(&document.content_type, &name, document.bytes.to_vec()))
}

/// A file download: `Content-Disposition: attachment`, never cached.
pub(crate) fn attachment(content_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Names are ours (ids, formats), but keep them to a safe alphabet all the same.
    let safe: String =
        file_name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    no_store(response)
}

/// Body of `POST /api/v1/requests/{id}/identity`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityCheck {
    /// Whether the document proves the requester's identity.
    pub verified: bool,
    /// The subject the requester turned out to be (UUID).
    pub subject: Option<String>,
}

/// Record the outcome of the ID-document check. The document is deleted; only the outcome stays.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/identity",
    tag = "requests",
    request_body = IdentityCheck,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "recorded; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request or subject", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no document uploaded, or not in a state to be verified", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid subject", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn check_identity(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<IdentityCheck>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    let subject = body.subject.as_deref().map(parse_subject).transpose()?;
    Ok(view(state.vault.check_id(&caller.audit, id, body.verified, subject).await?))
}

/// Body of `POST /api/v1/requests/{id}/subject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSubject {
    /// The subject the request is about (UUID).
    pub subject: String,
}

/// Link the request to the subject it is about.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/subject",
    tag = "requests",
    request_body = LinkSubject,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "linked; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request or subject", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid subject", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn link_subject(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<LinkSubject>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    let subject = parse_subject(&body.subject)?;
    Ok(view(state.vault.link_subject(&caller.audit, id, subject).await?))
}

/// Body of `POST /api/v1/requests/{id}/extend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    /// Why the request needs more time (Art. 12(3): complexity or number of requests).
    pub reasons: String,
}

/// Extend the term by two months (Art. 12(3)); the requester is told why.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/extend",
    tag = "requests",
    request_body = Extend,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "extended; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not in progress, already extended, or past the due date", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn extend_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<Extend>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.extend_request(&caller.audit, id, body.reasons).await?))
}

/// Body of `POST /api/v1/requests/{id}/refuse`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// One or more of `manifestly_unfounded`, `excessive`, `rights_of_others`,
    /// `legal_obligation`, `legal_claims`, `compelling_grounds`.
    pub reasons: Vec<String>,
    /// An explanation for the requester.
    pub text: Option<String>,
}

/// Refuse the request with reasons; the notice names the right to complain to the Autoriteit
/// Persoonsgegevens and the court route (Art. 12(4)).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/refuse",
    tag = "requests",
    request_body = Refuse,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "refused; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no or unknown reasons", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn refuse_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<Refuse>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.refuse_request(&caller.audit, id, body.reasons, body.text).await?))
}

/// Body of `POST /api/v1/requests/{id}/cannot-identify`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannotIdentify {
    /// What the requester could still provide to be identified.
    pub needed: Option<String>,
}

/// Close the request: the requester could not be identified (Art. 11(2), 12(2)).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/cannot-identify",
    tag = "requests",
    request_body = CannotIdentify,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "closed; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the requester is already identified, or the request is closed", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cannot_identify(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<CannotIdentify>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.cannot_identify(&caller.audit, id, body.needed).await?))
}

/// Close the request: the requester withdrew it.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/withdraw",
    tag = "requests",
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "withdrawn; the request", body = RequestBody),
        (status = 400, description = "invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the request is closed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.withdraw_request(&caller.audit, id).await?))
}

/// Body of `POST /api/v1/requests/{id}/fulfil`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfil {
    /// Rectification: field name to the corrected value, `null` to remove it (empty: the changes
    /// given when the request was filed).
    #[serde(default)]
    pub changes: BTreeMap<String, Option<String>>,
}

/// Carry out a verified request, as its kind says: access and portability build the exports and
/// mail the download link (never an attachment); rectification applies `changes`; erasure,
/// restriction, objection and withdrawal apply the right. The requester gets the completion notice.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/fulfil",
    tag = "requests",
    request_body = Fulfil,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "carried out; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not verified, closed, or not linked to a subject (`no_subject`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`changes` for a request that is not a rectification, or invalid values", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn fulfil_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<Fulfil>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    let changes = body.changes.into_iter().collect();
    Ok(view(state.vault.fulfil_request(&caller.audit, id, changes).await?))
}

/// Body of `POST /api/v1/requests/{id}/transmit`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transmit {
    /// The other controller's HTTPS endpoint the subject named (`https://…`, a public address).
    pub target: String,
}

/// Send the data of a completed portability request straight to another controller (Art. 20(2)):
/// the JSON export, built afresh, POSTed to `target` with `Idempotency-Key: <request id>`. Only
/// `https://` on a public address; redirects are not followed. The outcome is a `transmitted`
/// timeline entry naming the host and the status or error code.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/transmit",
    tag = "requests",
    request_body = Transmit,
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "transmitted; the request", body = RequestBody),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a completed portability request (`wrong_fulfilment`), a target that is not https (`transmit_target_invalid`) or not on a public address (`transmit_target_forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the other controller could not be reached (`transmit_unreachable`) or refused (`transmit_rejected`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn transmit_request(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<Transmit>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.transmit_request(&caller.audit, id, &body.target).await?))
}

/// Lift the restriction of processing a completed restriction request set (Art. 18(3)): the
/// requester is told first, then the restriction is lifted.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{id}/lift-restriction",
    tag = "requests",
    params(("id" = String, Path, description = "request id (UUID)")),
    responses(
        (status = 200, description = "lifted; the request", body = RequestBody),
        (status = 400, description = "invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not a completed restriction request", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "the notice could not be mailed (the restriction stays)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn lift_restriction(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_request_id(&id)?;
    Ok(view(state.vault.lift_restriction(&caller.audit, id).await?))
}
