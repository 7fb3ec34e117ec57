//! `/api/v1/audit`: the tamper-evident audit log for auditors: signed checkpoints, inclusion and
//! consistency proofs (RFC 9162), and the events themselves. Needs the permission `read_audit`
//! (roles dpo and auditor, and the break-glass token). Hashes are standard base64, as in the
//! signed notes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kluis_vault::StoredCheckpoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppQuery, Authenticated};
use kluis_domain::access::Permission;

fn b64(hash: &[u8]) -> String {
    STANDARD.encode(hash)
}

/// A signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointBody {
    /// Number of events covered.
    pub size: u64,
    /// RFC 9162 root hash, base64.
    pub root: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// The checkpoint as a C2SP signed note (verifiable with Go's `golang.org/x/mod/sumdb/note`).
    pub note: String,
}

impl From<StoredCheckpoint> for CheckpointBody {
    fn from(c: StoredCheckpoint) -> Self {
        CheckpointBody { size: c.size, root: b64(&c.root), created_at: c.created_at.as_millis(), note: c.note }
    }
}

fn wants_text(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/plain") && !v.contains("application/json"))
}

/// The latest signed checkpoint (`Accept: text/plain` gives the bare signed note).
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoint",
    tag = "audit",
    responses(
        (status = 200, description = "the latest checkpoint", body = CheckpointBody),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no checkpoint signed yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
    caller: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let Some(checkpoint) = state.vault.latest_checkpoint().await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_checkpoint",
            "No checkpoint",
            "no checkpoint has been signed yet; POST /api/v1/audit/checkpoints signs one",
            "er is nog geen checkpoint ondertekend; POST /api/v1/audit/checkpoints ondertekent er een",
        ));
    };
    if wants_text(&headers) {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], checkpoint.note).into_response());
    }
    Ok(Json(CheckpointBody::from(checkpoint)).into_response())
}

/// Sign a checkpoint of the log as it is now.
#[utoipa::path(
    post,
    path = "/api/v1/audit/checkpoints",
    tag = "audit",
    responses(
        (status = 201, description = "signed (or the existing checkpoint of this size)", body = CheckpointBody),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "no audit signing key loaded", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn sign_checkpoint(
    State(state): State<AppState>,
    caller: Authenticated,
) -> Result<(StatusCode, Json<CheckpointBody>), ApiError> {
    caller.require(Permission::ReadAudit)?;
    let checkpoint = state.vault.checkpoint_now().await?;
    Ok((StatusCode::CREATED, Json(CheckpointBody::from(checkpoint))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// Event sequence number (leaf index).
    pub index: u64,
    /// Tree size; default the current size.
    pub size: Option<u64>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionBody {
    pub index: u64,
    pub size: u64,
    pub leaf_hash: String,
    /// Audit path, base64, in RFC 9162 order.
    pub proof: Vec<String>,
    pub root: String,
}

/// Inclusion proof of one event.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proof/inclusion",
    tag = "audit",
    params(InclusionQuery),
    responses(
        (status = 200, description = "the proof", body = InclusionBody),
        (status = 400, description = "index or size out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    caller: Authenticated,
    AppQuery(q): AppQuery<InclusionQuery>,
) -> Result<Json<InclusionBody>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let p = state.vault.inclusion_proof(q.index, q.size).await?;
    Ok(Json(InclusionBody {
        index: p.index,
        size: p.size,
        leaf_hash: b64(&p.leaf_hash),
        proof: p.proof.iter().map(|h| b64(h)).collect(),
        root: b64(&p.root),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size; default the current size.
    pub to: Option<u64>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyBody {
    pub from: u64,
    pub to: u64,
    pub root_from: String,
    pub root_to: String,
    pub proof: Vec<String>,
}

/// Consistency proof between two tree sizes.
#[utoipa::path(
    get,
    path = "/api/v1/audit/proof/consistency",
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "the proof", body = ConsistencyBody),
        (status = 400, description = "sizes out of range or out of order", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn consistency_proof(
    State(state): State<AppState>,
    caller: Authenticated,
    AppQuery(q): AppQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyBody>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let p = state.vault.consistency_proof(q.from, q.to).await?;
    Ok(Json(ConsistencyBody {
        from: p.from,
        to: p.to,
        root_from: b64(&p.root_from),
        root_to: b64(&p.root_to),
        proof: p.proof.iter().map(|h| b64(h)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// First sequence number (default 0).
    pub from: Option<u64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBody {
    pub seq: u64,
    /// The canonical encoding, exactly as hashed into leaf `seq` (SHA-256(0x00 ‖ encoded)).
    pub encoded: String,
    /// The same event, parsed.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub size: u64,
    pub events: Vec<EventBody>,
}

/// Audit events by sequence range.
#[utoipa::path(
    get,
    path = "/api/v1/audit/events",
    tag = "audit",
    params(EventsQuery),
    responses(
        (status = 200, description = "events", body = EventList),
        (status = 400, description = "invalid range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Authenticated,
    AppQuery(q): AppQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::invalid_query("limit is 1 to 1000", "limit is 1 tot en met 1000"));
    }
    let size = state.vault.audit_size().await?;
    let events = state.vault.audit_events(q.from.unwrap_or(0), limit).await?;
    let events = events
        .into_iter()
        .map(|e| {
            let encoded = String::from_utf8_lossy(&e.event).into_owned();
            let event = serde_json::from_slice(&e.event).unwrap_or(serde_json::Value::Null);
            EventBody { seq: e.seq, encoded, event }
        })
        .collect();
    Ok(Json(EventList { size, events }))
}

/// The checkpoint verifier key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyBody {
    /// `<origin>+<key id>+<base64 key>`, the verifier format of Go's note package.
    pub verifier: String,
}

/// The public key that verifies checkpoints.
#[utoipa::path(
    get,
    path = "/api/v1/audit/public-key",
    tag = "audit",
    responses(
        (status = 200, description = "the verifier key", body = PublicKeyBody),
        (status = 401, description = "missing or wrong token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "no permission read_audit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn public_key(State(state): State<AppState>, caller: Authenticated) -> Result<Json<PublicKeyBody>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    Ok(Json(PublicKeyBody { verifier: state.vault.audit_verifier_string() }))
}
