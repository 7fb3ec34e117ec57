//! Endpoints about kluis itself: health and the field catalogue.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kluis_domain::fields::FieldType;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::Authenticated;

/// Health of this process and its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub backend: String,
}

/// Liveness and database reachability. No authentication.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses(
        (status = 200, description = "healthy", body = Health),
        (status = 503, description = "database unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.vault.ping().await?;
    Ok(Json(Health { status: "ok".into(), backend: state.vault.backend().into() }))
}

/// One entry of the field catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldBody {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    /// Data category (fideslang-style dotted key).
    pub category: String,
    /// Whether the field can be looked up (blind index).
    pub indexed: bool,
    /// Disabled fields are defined but refuse values.
    pub enabled: bool,
    pub label_en: String,
    pub label_nl: String,
}

/// The field catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldList {
    pub fields: Vec<FieldBody>,
}

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "text",
        FieldType::HouseNumber => "house_number",
        FieldType::HouseNumberAddition => "house_number_addition",
        FieldType::Postcode => "postcode_nl",
        FieldType::PoBox => "po_box",
        FieldType::Country => "country_iso3166",
        FieldType::Email => "email",
        FieldType::Phone => "phone_e164",
        FieldType::Iban => "iban",
        FieldType::CustomerNumber => "customer_number",
        FieldType::Gender => "gender",
    }
}

/// The fields kluis stores, with type, category and whether they are indexed.
#[utoipa::path(
    get,
    path = "/api/v1/fields",
    tag = "meta",
    responses(
        (status = 200, description = "the catalogue", body = FieldList),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_fields(State(state): State<AppState>, _caller: Authenticated) -> (StatusCode, Json<FieldList>) {
    let fields = state
        .vault
        .catalogue()
        .fields()
        .map(|f| FieldBody {
            name: f.name.to_owned(),
            field_type: type_name(f.field_type).to_owned(),
            category: f.category.as_str().to_owned(),
            indexed: f.indexed,
            enabled: f.enabled,
            label_en: f.label_en.to_owned(),
            label_nl: f.label_nl.to_owned(),
        })
        .collect();
    (StatusCode::OK, Json(FieldList { fields }))
}
