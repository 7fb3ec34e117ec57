//! The one error type of the HTTP layer: every failure becomes an RFC 9457
//! `application/problem+json` body with a stable `code`. Bodies name fields and codes, never the
//! submitted values; 5xx bodies are generic and their details are logged once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_domain::fields::ValueError;
use kluis_vault::VaultError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:kluis:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in English.
    pub detail: String,
    /// The same in Dutch.
    pub detail_nl: String,
    /// Stable machine-readable code.
    pub code: String,
    /// Per-field problems, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One invalid field value.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
    pub message_nl: String,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    detail_nl: String,
    errors: Vec<FieldProblem>,
}

/// A client-supplied field name is echoed only if it looks like a field name: a key could carry
/// personal data too.
fn safe_field_name(name: &str) -> String {
    let plausible = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if plausible { name.to_owned() } else { "<invalid field name>".to_owned() }
}

impl FieldProblem {
    pub fn from_value_error(e: &ValueError) -> Self {
        FieldProblem {
            field: safe_field_name(&e.field),
            code: e.code.as_str().to_owned(),
            message: e.code.message_en(),
            message_nl: e.code.message_nl(),
        }
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
        detail_nl: impl Into<String>,
    ) -> Self {
        ApiError { status, code, title, detail: detail.into(), detail_nl: detail_nl.into(), errors: Vec::new() }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "a valid token is required: send `Authorization: Bearer <token>`",
            "een geldig token is vereist: stuur `Authorization: Bearer <token>`",
        )
    }

    pub fn missing_purpose() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_purpose",
            "Missing purpose",
            "every personal-data call names its purpose in the `Kluis-Purpose` header",
            "elke aanroep met persoonsgegevens noemt het doel in de header `Kluis-Purpose`",
        )
    }

    pub fn invalid_purpose(reason: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_purpose",
            "Invalid purpose",
            format!("the `Kluis-Purpose` header is not a purpose key: {reason}"),
            "de header `Kluis-Purpose` is geen geldige doelcode (kleine letters, cijfers en '_', beginnend met een letter)",
        )
    }

    pub fn invalid_id() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "Invalid id",
            "the subject id in the path is not a UUID",
            "het id in het pad is geen UUID",
        )
    }

    pub fn invalid_query(detail: &str, detail_nl: &str) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "Invalid query", detail, detail_nl)
    }

    pub fn not_found_route() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found", "no such endpoint", "dit adres bestaat niet")
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "an internal error occurred; it has been logged with the request id",
            "er ging intern iets mis; dit is gelogd met het request-id",
        )
    }

    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Self {
        self.errors = errors;
        self
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match &e {
            VaultError::Validation(errors) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_values",
                "Invalid values",
                "one or more values are invalid; see `errors`; nothing was stored",
                "een of meer waarden zijn ongeldig; zie `errors`; er is niets opgeslagen",
            )
            .with_errors(errors.0.iter().map(FieldProblem::from_value_error).collect()),
            VaultError::InvalidLookup(error) => ApiError::invalid_query(
                "the lookup value is invalid; see `errors`",
                "de zoekwaarde is ongeldig; zie `errors`",
            )
            .with_errors(vec![FieldProblem::from_value_error(error)]),
            VaultError::EmptyChange => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "empty_change",
                "Empty change",
                "the change names no field",
                "de wijziging noemt geen enkel veld",
            ),
            VaultError::NotFound(_) => ApiError::new(
                StatusCode::NOT_FOUND,
                "subject_not_found",
                "Subject not found",
                "there is no subject with this id",
                "er is geen betrokkene met dit id",
            ),
            VaultError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                "the subject was changed at the same time; retry the request",
                "de betrokkene werd tegelijk gewijzigd; probeer het opnieuw",
            ),
            VaultError::Unauthorized => ApiError::unauthorized(),
            VaultError::Integrity { .. } => {
                tracing::error!(error = %e, "integrity failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "integrity_error",
                    "Integrity error",
                    "stored data failed its integrity check; nothing was returned",
                    "opgeslagen gegevens zijn niet integer; er is niets teruggegeven",
                )
            }
            VaultError::AuditRange(reason) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_range",
                "Invalid range",
                reason.clone(),
                "de gevraagde positie of grootte valt buiten het auditlog",
            ),
            VaultError::NoAuditKey => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_key_missing",
                "Audit key missing",
                "this server has no audit signing key loaded, so it cannot sign checkpoints",
                "deze server heeft geen auditsleutel geladen en kan geen checkpoints ondertekenen",
            ),
            VaultError::Store(_) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "Storage unavailable",
                    "the database could not complete the operation; nothing was changed",
                    "de database kon de bewerking niet voltooien; er is niets gewijzigd",
                )
            }
            _ => {
                tracing::error!(error = %e, "internal failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            type_uri: format!("urn:kluis:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            detail_nl: self.detail_nl,
            code: self.code.to_owned(),
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kluis\""));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_field_names_are_not_echoed() {
        assert_eq!(safe_field_name("email"), "email");
        assert_eq!(safe_field_name("jan@example.nl"), "<invalid field name>");
        assert_eq!(safe_field_name(""), "<invalid field name>");
        assert_eq!(safe_field_name(&"a".repeat(65)), "<invalid field name>");
    }
}
