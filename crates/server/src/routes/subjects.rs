//! `/api/v1/subjects`: create, read, change, erase and find data subjects.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_domain::access::Permission;
use kluis_domain::fields::IndexName;
use kluis_domain::{SubjectId, SubjectKind, Timestamp};
use kluis_vault::Subject;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Access, AppJson, AppQuery, Authenticated};
use crate::routes::no_store;

/// Body of `POST /api/v1/subjects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubject {
    /// Data-subject category; `customer` when omitted.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "customer")]
    pub kind: Option<SubjectKind>,
    /// Field name to raw value, e.g. `{"email": "jan@example.nl", "iban": "NL91ABNA0417164300"}`.
    pub values: BTreeMap<String, String>,
}

/// Body of `PATCH /api/v1/subjects/{id}`: a value sets the field, `null` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSubject {
    pub values: BTreeMap<String, Option<String>>,
}

/// The id of a created subject.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

/// A subject with the values the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectBody {
    pub id: String,
    pub kind: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Field name to normalised value: only fields the purpose of the call covers.
    pub values: BTreeMap<String, String>,
    /// Fields the subject has values for that the purpose does not cover: named, not shown.
    pub withheld: Vec<String>,
    /// Under restriction of processing (GDPR Art. 18): values are shown only for the purposes
    /// `legal_claims` and `storage`.
    pub restricted: bool,
}

/// Result of a lookup.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectList {
    pub subjects: Vec<SubjectBody>,
}

/// Lookup by one indexed field, or by postcode plus house number.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub iban: Option<String>,
    pub customer_number: Option<String>,
    pub postcode: Option<String>,
    pub house_number: Option<String>,
}

fn rfc3339(ts: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts.as_millis()) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl From<Subject> for SubjectBody {
    fn from(s: Subject) -> Self {
        SubjectBody {
            id: s.id.to_string(),
            kind: s.kind.as_str().to_owned(),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
            values: s.values.iter().map(|(k, v)| (k.clone(), v.as_str().to_owned())).collect(),
            withheld: s.withheld,
            restricted: s.restricted,
        }
    }
}

fn parse_id(raw: &str) -> Result<SubjectId, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid_id())
}

/// Create a subject.
#[utoipa::path(
    post,
    path = "/api/v1/subjects",
    tag = "subjects",
    request_body = CreateSubject,
    params(("Kluis-Purpose" = String, Header, description = "purpose of processing, e.g. service_delivery")),
    responses(
        (status = 201, description = "created", body = Created),
        (status = 400, description = "malformed JSON, missing purpose", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "purpose not allowed for the caller, fields outside the purpose, or the subject is restricted (Art. 18)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid values (each field error has a code)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_subject(
    State(state): State<AppState>,
    access: Access,
    AppJson(body): AppJson<CreateSubject>,
) -> Result<Response, ApiError> {
    let input: Vec<(String, String)> = body.values.into_iter().collect();
    let id = state.vault.create_subject(&access.audit, &access.scope, body.kind.unwrap_or_default(), &input).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/subjects/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(Created { id: id.to_string() })).into_response())
}

/// Read a subject.
#[utoipa::path(
    get,
    path = "/api/v1/subjects/{id}",
    tag = "subjects",
    params(
        ("id" = String, Path, description = "subject id (UUID)"),
        ("Kluis-Purpose" = String, Header, description = "purpose of processing"),
    ),
    responses(
        (status = 200, description = "the subject", body = SubjectBody),
        (status = 400, description = "invalid id or purpose", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "purpose not allowed for the caller, fields outside the purpose, or the subject is restricted (Art. 18)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such subject", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "integrity error: stored data was tampered with", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_subject(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let subject = state.vault.get_subject(&access.audit, &access.scope, id).await?;
    Ok(no_store(Json(SubjectBody::from(subject)).into_response()))
}

/// Change field values of a subject.
#[utoipa::path(
    patch,
    path = "/api/v1/subjects/{id}",
    tag = "subjects",
    request_body = ChangeSubject,
    params(
        ("id" = String, Path, description = "subject id (UUID)"),
        ("Kluis-Purpose" = String, Header, description = "purpose of processing"),
    ),
    responses(
        (status = 204, description = "changed"),
        (status = 400, description = "malformed JSON, invalid id or purpose", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "purpose not allowed for the caller, fields outside the purpose, or the subject is restricted (Art. 18)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such subject", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid values", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn change_subject(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    AppJson(body): AppJson<ChangeSubject>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let changes: Vec<(String, Option<String>)> = body.values.into_iter().collect();
    state.vault.update_subject(&access.audit, &access.scope, id, &changes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Erase a subject (Art. 17): destroys its data key, values and index entries.
#[utoipa::path(
    delete,
    path = "/api/v1/subjects/{id}",
    tag = "subjects",
    params(
        ("id" = String, Path, description = "subject id (UUID)"),
        ("Kluis-Purpose" = String, Header, description = "purpose of processing, e.g. erasure_request"),
    ),
    responses(
        (status = 204, description = "erased"),
        (status = 400, description = "invalid id or purpose", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "purpose not allowed for the caller, fields outside the purpose, or the subject is restricted (Art. 18)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such subject", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn erase_subject(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    state.vault.erase_subject(&access.audit, &access.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn lookup(query: &FindQuery) -> Result<(IndexName, Vec<&str>), ApiError> {
    let mut given: Vec<(IndexName, Vec<&str>)> = Vec::new();
    for (index, value) in [
        (IndexName::Email, &query.email),
        (IndexName::Phone, &query.phone),
        (IndexName::Iban, &query.iban),
        (IndexName::CustomerNumber, &query.customer_number),
    ] {
        if let Some(v) = value {
            given.push((index, vec![v.as_str()]));
        }
    }
    match (&query.postcode, &query.house_number) {
        (Some(p), Some(h)) => given.push((IndexName::PostcodeHouseNumber, vec![p.as_str(), h.as_str()])),
        (None, None) => {}
        _ => {
            return Err(ApiError::invalid_query(
                "postcode and house_number are looked up together: give both",
                "postcode en house_number worden samen gezocht: geef ze allebei",
            ));
        }
    }
    if given.len() != 1 {
        return Err(ApiError::invalid_query(
            "give exactly one of email, phone, iban, customer_number, or postcode with house_number",
            "geef precies één van email, phone, iban, customer_number, of postcode met house_number",
        ));
    }
    Ok(given.remove(0))
}

/// Find subjects by an indexed field (blind index: the database never sees the value).
#[utoipa::path(
    get,
    path = "/api/v1/subjects",
    tag = "subjects",
    params(FindQuery, ("Kluis-Purpose" = String, Header, description = "purpose of processing")),
    responses(
        (status = 200, description = "matching subjects (possibly none)", body = SubjectList),
        (status = 400, description = "no, several or an invalid lookup key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "purpose not allowed for the caller, fields outside the purpose, or the subject is restricted (Art. 18)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn find_subjects(
    State(state): State<AppState>,
    access: Access,
    AppQuery(query): AppQuery<FindQuery>,
) -> Result<Response, ApiError> {
    let (index, raw) = lookup(&query)?;
    let subjects = state.vault.find_subjects(&access.audit, &access.scope, index, &raw).await?;
    let body = SubjectList { subjects: subjects.into_iter().map(SubjectBody::from).collect() };
    Ok(no_store(Json(body).into_response()))
}

/// Body of `PUT /api/v1/subjects/{id}/restriction`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// `true` restricts processing (Art. 18): values are then readable only for the purposes
    /// `legal_claims` and `storage`. `false` lifts it.
    pub restricted: bool,
}

/// Set or lift the restriction of processing of a subject (Art. 18). Needs the permission
/// `handle_requests` (the dpo role).
#[utoipa::path(
    put,
    path = "/api/v1/subjects/{id}/restriction",
    tag = "subjects",
    request_body = Restriction,
    params(("id" = String, Path, description = "subject id (UUID)")),
    responses(
        (status = 204, description = "set"),
        (status = 400, description = "invalid id or body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission handle_requests", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such subject", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn set_restriction(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    AppJson(body): AppJson<Restriction>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::HandleRequests)?;
    let id = parse_id(&id)?;
    state.vault.set_restricted(&caller.audit, id, body.restricted).await?;
    Ok(StatusCode::NO_CONTENT)
}
