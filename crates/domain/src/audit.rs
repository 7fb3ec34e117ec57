//! Audit events: who touched which personal data, when, for which purpose, from where, with what
//! outcome. Events hold ids, field names and categories only, never values (DESIGN §4.4), so an
//! erasure never has to rewrite the audit trail.

use std::net::IpAddr;

use serde::Serialize;

use crate::{AccountId, Purpose, SubjectId, Timestamp, TokenId};

/// Version of the canonical encoding below. Bump it, never change the meaning of version 1.
pub const AUDIT_EVENT_VERSION: u32 = 1;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An API token.
    Token(TokenId),
    /// A staff account, through its console session.
    Account(AccountId),
    /// Nobody known yet: a failed login for an unknown account name (the name typed is not
    /// recorded, it may be a password typed into the wrong box).
    Anonymous,
    /// An operator on the local CLI (the OS user name, not personal data of a subject).
    Cli(String),
    /// kluis itself (initialisation, sweeps).
    System,
}

impl Actor {
    pub fn encode(&self) -> String {
        match self {
            Actor::Token(id) => format!("token:{id}"),
            Actor::Account(id) => format!("account:{id}"),
            Actor::Anonymous => "anonymous".to_owned(),
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
    /// A login attempt (success or failure; the reason member says why it failed).
    AuthLogin,
    AuthLogout,
    /// A use of the break-glass token.
    AuthBreakGlass,
    /// A token or session refused because of the caller's address, expiry or revocation.
    AuthRefused,
    AccountCreate,
    AccountUpdate,
    /// A staff member set a password and received the TOTP seed (enrolment).
    AccountEnrol,
    AccountUnlock,
    SessionRevoke,
    TokenRevoke,
    /// The Art. 18 restriction flag set or lifted.
    SubjectRestrict,
    /// Values kept under a legal obligation moved into the restricted archive (erasure request).
    SubjectArchive,
    /// An objection (Art. 21) or a withdrawal of consent (Art. 7(3)) recorded for a purpose.
    SubjectObject,
    /// A data-subject request registered (portal, API or staff).
    RequestCreate,
    /// A staff member opened a request (its requester's address and details are decrypted).
    RequestRead,
    /// A data-subject request moved on: code sent or rejected, verified, extended, refused,
    /// withdrawn, …; the reason member names the step.
    RequestUpdate,
    /// A data-subject request carried out.
    RequestFulfil,
    /// The export of a request downloaded.
    RequestDownload,
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
            Action::AuthLogin => "auth.login",
            Action::AuthLogout => "auth.logout",
            Action::AuthBreakGlass => "auth.break_glass",
            Action::AuthRefused => "auth.refused",
            Action::AccountCreate => "account.create",
            Action::AccountUpdate => "account.update",
            Action::AccountEnrol => "account.enrol",
            Action::AccountUnlock => "account.unlock",
            Action::SessionRevoke => "session.revoke",
            Action::TokenRevoke => "token.revoke",
            Action::SubjectRestrict => "subject.restrict",
            Action::SubjectArchive => "subject.archive",
            Action::SubjectObject => "subject.object",
            Action::RequestCreate => "request.create",
            Action::RequestRead => "request.read",
            Action::RequestUpdate => "request.update",
            Action::RequestFulfil => "request.fulfil",
            Action::RequestDownload => "request.download",
        }
    }
}

/// How the operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    NotFound,
    Conflict,
    /// Refused by access control; the event's `reason` names the rule.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::NotFound => "not_found",
            Outcome::Conflict => "conflict",
            Outcome::Denied => "denied",
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
            reason: None,
            target: None,
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
    /// Why an operation was refused or failed: a stable snake_case code (`bad_password`,
    /// `purpose_not_allowed`, …), never input. Left out when absent (version-1 events encode as
    /// before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The account, token or request an event is about (`account:<id>`, `token:<id>`,
    /// `request:<id>`).
    /// Left out when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
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

    /// The event with a reason code.
    #[must_use]
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The event naming the account or token it changes (an [`Actor`]-style reference).
    #[must_use]
    pub fn with_target(mut self, target: &Actor) -> Self {
        self.target = Some(target.encode());
        self
    }

    /// The event naming the data-subject request it belongs to (`request:<id>`).
    #[must_use]
    pub fn with_request(mut self, request: crate::RequestId) -> Self {
        self.target = Some(format!("request:{request}"));
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
