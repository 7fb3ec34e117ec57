//! What the vault hands over: the subject with its plaintext values, the audit events about it,
//! the register in force and the request being answered.

use std::fmt;

use kluis_register::Register;

/// The data subject and its values, already decrypted by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectInput {
    pub id: String,
    /// The subject kind, such as `customer`.
    pub kind: String,
    pub created_at_ms: i64,
    /// Processing is restricted (Art. 18).
    pub restricted: bool,
    /// Set when the subject is archived (retention `archive`): until when.
    pub archived_until_ms: Option<i64>,
    pub values: Vec<ValueInput>,
}

/// One plaintext value with its catalogue entry. `Debug` redacts the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ValueInput {
    /// The field name, such as `iban`.
    pub field: String,
    /// The field's data category, such as `user.financial.bank_account`.
    pub category: String,
    pub label_nl: String,
    pub label_en: String,
    /// The plaintext value.
    pub value: String,
}

impl fmt::Debug for ValueInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueInput")
            .field("field", &self.field)
            .field("category", &self.category)
            .field("label_nl", &self.label_nl)
            .field("label_en", &self.label_en)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// An audit-log event about the subject: who (by kind) did what with the data, for which purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInput {
    pub seq: u64,
    pub time_ms: i64,
    /// The actor's kind only: `staff`, `application`, `system` or `cli`.
    pub actor: String,
    /// Such as `subject.read`.
    pub action: String,
    pub purpose: Option<String>,
    /// The field names the event touched.
    pub fields: Vec<String>,
    /// Such as `ok`, `denied`, `not_found`.
    pub outcome: String,
}

/// The register version in force, if any. Without a register kluis runs on its built-in policy,
/// and the export says so and lists only the data and the events (plus the rights and the
/// complaint route, which come from the law).
#[derive(Clone, Debug, Default)]
pub struct RegisterInput<'a> {
    pub register: Option<&'a Register>,
    pub version: Option<u64>,
    /// Hex SHA-256 of the register source.
    pub sha256_hex: Option<String>,
}

/// The data-subject request this export answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRef {
    pub id: String,
    pub received_at_ms: i64,
}
