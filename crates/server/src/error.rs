//! The one error type of the HTTP layer: every failure becomes an RFC 9457
//! `application/problem+json` body with a stable `code`. Bodies name fields and codes, never the
//! submitted values; 5xx bodies are generic and their details are logged once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kluis_domain::access::{Denied, Permission};
use kluis_domain::fields::ValueError;
use kluis_vault::requests::{RequestError, TransmitError};
use kluis_vault::{AuthError, VaultError};
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
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<u32>,
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
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            detail_nl: detail_nl.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What went wrong, in English.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// What went wrong, in Dutch.
    pub fn detail_nl(&self) -> &str {
        &self.detail_nl
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "valid credentials are required: send `Authorization: Bearer <token>` or log in",
            "geldige inloggegevens zijn vereist: stuur `Authorization: Bearer <token>` of log in",
        )
    }

    /// The caller lacks a permission that is not about personal data.
    pub fn permission_denied(permission: Permission) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Permission denied",
            format!("this endpoint needs the permission `{permission}`, which your role or token does not have"),
            format!("dit adres vereist de bevoegdheid `{permission}`, die uw rol of token niet heeft"),
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
        ApiError::invalid_id_of("subject", "betrokkene")
    }

    /// The id of a `what` (`subject`, `account`, `token`; Dutch `what_nl`) in the path is not a UUID.
    pub fn invalid_id_of(what: &str, what_nl: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "Invalid id",
            format!("the {what} id in the path is not a UUID"),
            format!("het {what_nl}-id in het pad is geen UUID"),
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

    fn from_auth(auth: &AuthError) -> ApiError {
        let (status, title) = match auth {
            AuthError::InvalidCredentials | AuthError::SessionExpired => (StatusCode::UNAUTHORIZED, "Login failed"),
            AuthError::TokenExpired | AuthError::TokenRevoked => (StatusCode::UNAUTHORIZED, "Token not valid"),
            AuthError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "Too many failed logins"),
            AuthError::IpNotAllowed => (StatusCode::FORBIDDEN, "Address not allowed"),
            AuthError::EnrolmentInvalid => (StatusCode::BAD_REQUEST, "Enrolment not valid"),
            AuthError::AccountNotFound | AuthError::TokenNotFound => (StatusCode::NOT_FOUND, "Not found"),
            AuthError::UsernameTaken | AuthError::AccountConflict => (StatusCode::CONFLICT, "Conflict"),
            AuthError::NotEnrolled => (StatusCode::CONFLICT, "Not enrolled"),
            AuthError::WeakPassword(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Weak password"),
            AuthError::InvalidUsername
            | AuthError::InvalidAllowlist(_)
            | AuthError::UnknownRole
            | AuthError::UnknownPurpose(_)
            | AuthError::EmptyScope
            | AuthError::ExpiryInPast => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid input"),
        };
        let mut error = ApiError::new(status, auth.code(), title, auth.message_en(), auth.message_nl());
        if let AuthError::Locked { retry_after_s } = auth {
            error.retry_after = Some(u32::try_from(*retry_after_s).unwrap_or(u32::MAX));
        }
        error
    }

    /// A refused data-subject request operation: the stable code of the vault, its English
    /// (`Display`) and Dutch messages, which name members and states, never values.
    pub fn from_request(e: &RequestError) -> ApiError {
        let (status, title) = match e {
            RequestError::NotFound(_) => (StatusCode::NOT_FOUND, "Request not found"),
            RequestError::DownloadNotFound => (StatusCode::NOT_FOUND, "Download not found"),
            RequestError::Invalid { code: "unknown_request_type", .. } => {
                (StatusCode::BAD_REQUEST, "Unknown request type")
            }
            RequestError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid request"),
            RequestError::WrongFulfilment(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Wrong fulfilment"),
            RequestError::Transition { .. } => (StatusCode::CONFLICT, "Not possible in this state"),
            RequestError::CodeWrong { .. } => (StatusCode::BAD_REQUEST, "Wrong code"),
            RequestError::CodeUnavailable => (StatusCode::BAD_REQUEST, "No valid code"),
            RequestError::TooManyCodes => (StatusCode::TOO_MANY_REQUESTS, "Too many codes"),
            RequestError::UploadNotAllowed => (StatusCode::FORBIDDEN, "Upload not allowed"),
            RequestError::UploadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "File too large"),
            RequestError::UploadType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported file type"),
            RequestError::DownloadExpired => (StatusCode::GONE, "Download expired"),
            RequestError::Mail(_) => (StatusCode::BAD_GATEWAY, "Mail not sent"),
            RequestError::Conflict => (StatusCode::CONFLICT, "Conflict"),
            RequestError::Extension { .. } => (StatusCode::CONFLICT, "Extension not possible"),
            RequestError::NoContact => (StatusCode::CONFLICT, "No e-mail address"),
            RequestError::NoUpload => (StatusCode::CONFLICT, "No ID document"),
            RequestError::NoSubject => (StatusCode::CONFLICT, "No subject linked"),
            RequestError::Transmit(t) => match t {
                TransmitError::TargetInvalid { .. } | TransmitError::TargetForbidden { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "Target refused")
                }
                TransmitError::Unreachable { .. } | TransmitError::Rejected { .. } => {
                    (StatusCode::BAD_GATEWAY, "Not transmitted")
                }
                TransmitError::Config { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "Transmission not configured"),
            },
            #[allow(unreachable_patterns, reason = "the vault may add refusals before the server names them")]
            _ => (StatusCode::CONFLICT, "Request refused"),
        };
        if let RequestError::Mail(_) = e {
            // The stage and reply code only (kluis-mail never names an address or a body).
            tracing::warn!(error = %e, "a data-subject request notice could not be mailed");
        }
        ApiError::new(status, e.code(), title, e.to_string(), e.message_nl())
    }

    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Self {
        self.errors = errors;
        self
    }
}

impl From<VaultError> for ApiError {
    #[allow(clippy::too_many_lines, reason = "one flat arm per error variant reads best")]
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
            VaultError::Request(request) => ApiError::from_request(request),
            VaultError::Unauthorized => ApiError::unauthorized(),
            VaultError::MissingPurpose => ApiError::missing_purpose(),
            VaultError::Auth(auth) => ApiError::from_auth(auth),
            VaultError::Denied(denied) => {
                let status = match denied {
                    Denied::UnknownPurpose(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::FORBIDDEN,
                };
                ApiError::new(
                    status,
                    denied.code(),
                    "Not allowed for this purpose",
                    denied.message_en(),
                    denied.message_nl(),
                )
            }
            VaultError::FieldsNotCovered { purpose, fields } => ApiError::new(
                StatusCode::FORBIDDEN,
                "field_not_allowed",
                "Field not covered by the purpose",
                format!(
                    "the purpose `{purpose}` does not cover the field(s) {}; nothing was changed",
                    fields.join(", ")
                ),
                format!(
                    "het doel `{purpose}` dekt het veld/de velden {} niet; er is niets gewijzigd",
                    fields.join(", ")
                ),
            ),
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
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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
