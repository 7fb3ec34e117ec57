//! Audit events: who touched which personal data, when, for which purpose, from where, with what
//! outcome. Events hold ids, field names and categories only, never values (DESIGN §4.4), so an
//! erasure never has to rewrite the audit trail.

use std::net::IpAddr;

use serde::Serialize;

use crate::{Purpose, SubjectId, Timestamp, TokenId};

/// Version of the canonical encoding below. Bump it, never change the meaning of version 1.
pub const AUDIT_EVENT_VERSION: u32 = 1;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An API token.
    Token(TokenId),
    /// An operator on the local CLI (the OS user name, not personal data of a subject).
    Cli(String),
    /// kluis itself (initialisation, sweeps).
    System,
}

impl Actor {
    pub fn encode(&self) -> String {
        match self {
            Actor::Token(id) => format!("token:{id}"),
            Actor::Cli(user) => format!("cli:{user}"),
            Actor::System => "system".to_owned(),
        }
    }
}

/// Stable action codes; the strings are part of the audit format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    KeyringInit,
    TokenCreate,
    SubjectCreate,
    SubjectRead,
    SubjectFind,
    SubjectUpdate,
    SubjectErase,
    IntegrityFailure,
    RegisterLoad,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::KeyringInit => "keyring.init",
            Action::TokenCreate => "token.create",
            Action::SubjectCreate => "subject.create",
            Action::SubjectRead => "subject.read",
            Action::SubjectFind => "subject.find",
            Action::SubjectUpdate => "subject.update",
            Action::SubjectErase => "subject.erase",
            Action::IntegrityFailure => "integrity.failure",
            Action::RegisterLoad => "register.load",
        }
    }
}

/// How the operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    NotFound,
    Conflict,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::NotFound => "not_found",
            Outcome::Conflict => "conflict",
        }
    }
}

/// The request-scoped part of an event: known before the operation runs.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: Actor,
    pub purpose: Option<Purpose>,
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl AuditContext {
    pub fn system() -> Self {
        AuditContext { actor: Actor::System, purpose: None, client: None, request_id: None }
    }

    /// Completes the context into an event.
    pub fn event(
        &self,
        time: Timestamp,
        action: Action,
        subject: Option<SubjectId>,
        fields: &[&str],
        categories: &[&str],
        outcome: Outcome,
    ) -> AuditEvent {
        let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        fields.sort();
        fields.dedup();
        let mut categories: Vec<String> = categories.iter().map(|c| (*c).to_owned()).collect();
        categories.sort();
        categories.dedup();
        AuditEvent {
            v: AUDIT_EVENT_VERSION,
            time: time.as_millis(),
            actor: self.actor.encode(),
            action: action.as_str(),
            subject: subject.map(|s| s.to_string()),
            fields,
            categories,
            purpose: self.purpose.as_ref().map(|p| p.as_str().to_owned()),
            client: self.client.map(|ip| ip.to_string()),
            outcome: outcome.as_str(),
            request_id: self.request_id.clone(),
            register: None,
        }
    }
}

/// One audit event. Its canonical encoding (`encode`) is compact JSON: `seq` first, then the
/// members in exactly this order, with sorted, de-duplicated `fields` and `categories`. Those bytes
/// are what gets stored and hashed into the Merkle log (leaf `seq`). Optional members added after
/// version 1 (`register`) are left out when absent, so every earlier event encodes byte for byte
/// as it always did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub v: u32,
    pub time: i64,
    pub actor: String,
    pub action: &'static str,
    pub subject: Option<String>,
    pub fields: Vec<String>,
    pub categories: Vec<String>,
    pub purpose: Option<String>,
    pub client: Option<String>,
    pub outcome: &'static str,
    pub request_id: Option<String>,
    /// The register version a `register.load` event records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterRef>,
}

/// A version of the register, as named in the audit log: its number and the SHA-256 of its
/// source (hex), so the log commits to the exact text that was loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterRef {
    pub version: u64,
    pub sha256: String,
}

/// The event as encoded: its position in the log first, so reordering events changes their bytes.
#[derive(Serialize)]
struct Encoded<'a> {
    seq: u64,
    #[serde(flatten)]
    event: &'a AuditEvent,
}

impl AuditEvent {
    /// The event naming the register version it records.
    #[must_use]
    pub fn with_register(mut self, version: u64, sha256: &[u8]) -> Self {
        self.register = Some(RegisterRef { version, sha256: hex::encode(sha256) });
        self
    }

    /// The canonical bytes of this event at position `seq` of the log.
    pub fn encode(&self, seq: u64) -> Vec<u8> {
        // Serialising a struct of strings, integers and vectors cannot fail.
        serde_json::to_vec(&Encoded { seq, event: self }).unwrap_or_default()
    }
}

/// The members of an encoded event that a verifier checks without trusting anything else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EncodedHeader {
    pub seq: u64,
    pub v: u32,
}

impl EncodedHeader {
    /// Reads `seq` and `v` back from canonical bytes.
    pub fn parse(bytes: &[u8]) -> Option<EncodedHeader> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_canonical_and_stable() {
        let ctx = AuditContext {
            actor: Actor::Token(TokenId::from_uuid(uuid::Uuid::nil())),
            purpose: Some(Purpose::parse("billing").unwrap()),
            client: Some("127.0.0.1".parse().unwrap()),
            request_id: Some("r1".into()),
        };
        let subject = SubjectId::from_uuid(uuid::Uuid::nil());
        let event = ctx.event(
            Timestamp(1_700_000_000_000),
            Action::SubjectRead,
            Some(subject),
            &["iban", "email", "iban"],
            &["user.financial.bank_account", "user.contact.email"],
            Outcome::Success,
        );
        let text = String::from_utf8(event.encode(7)).unwrap();
        assert_eq!(EncodedHeader::parse(text.as_bytes()), Some(EncodedHeader { seq: 7, v: 1 }));
        assert_eq!(
            text,
            r#"{"seq":7,"v":1,"time":1700000000000,"actor":"token:00000000-0000-0000-0000-000000000000","action":"subject.read","subject":"00000000-0000-0000-0000-000000000000","fields":["email","iban"],"categories":["user.contact.email","user.financial.bank_account"],"purpose":"billing","client":"127.0.0.1","outcome":"success","request_id":"r1"}"#
        );
    }

    #[test]
    fn register_events_add_one_member_at_the_end() {
        let event = AuditContext::system()
            .event(Timestamp(1_700_000_000_000), Action::RegisterLoad, None, &[], &[], Outcome::Success)
            .with_register(3, &[0xab; 32]);
        let text = String::from_utf8(event.encode(0)).unwrap();
        let hash = "ab".repeat(32);
        assert_eq!(
            text,
            format!(
                r#"{{"seq":0,"v":1,"time":1700000000000,"actor":"system","action":"register.load","subject":null,"fields":[],"categories":[],"purpose":null,"client":null,"outcome":"success","request_id":null,"register":{{"version":3,"sha256":"{hash}"}}}}"#
            )
        );
    }
}
