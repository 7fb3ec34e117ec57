//! kluis register: the privacy register as code.
//!
//! The register is a TOML file (documented in `docs/REGISTER.md`, JSON Schema in
//! `schema/register.schema.json`) that says who the controller is, which data it processes for
//! which purposes on which legal basis, who receives them, how long they are kept and how they
//! are protected. It drives the privacy statement (Art. 13, R-13-1), the Art. 30 record (R-30-1)
//! and the retention sweeper (R-5-5).
//!
//! [`parse`] turns the text into a typed [`Register`]; [`check`] also applies every semantic rule
//! and reports all problems at once, each with a stable rule code, a line and a column.
//! No I/O happens here: the caller reads the file.

mod model;
mod period;
pub mod render;
mod rules;
mod spans;

use std::fmt;

use serde::Deserialize;
use toml::de::DeTable;

pub use model::{
    Address, AutomatedDecision, Contact, Controller, Cookie, CookieBasis, Country, Dpo, IdCopy, IdShield,
    IdentityVerification, LegalBasis, LocalDate, ProcessorController, ProcessorRecord, ProcessorTransfer, Provision,
    PurposeDef, Recipient, RecipientRole, Register, Requirement, RetentionAction, RetentionEvent, RetentionRule,
    Rights, Role, SupervisoryAuthority, Text, Transfer, TransferMechanism, VerificationMethod,
};
pub use period::{Lifetime, Period, PeriodError, PeriodUnit};
pub use render::{
    Format, HTML_STYLE, Lang, ParseChoiceError, RopaFormat, StatementMeta, escape_html, escape_markdown, ropa,
    statement,
};
pub use rules::RULES;

use spans::{SpanIndex, line_column};

/// One problem in a register file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, such as `unknown-category`; see [`RULES`].
    pub rule: &'static str,
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Where in the register, such as `purposes.newsletter.legal_basis`.
    pub path: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.line, self.column, self.rule, self.message)
    }
}

impl Diagnostic {
    pub(crate) fn at(text: &str, offset: usize, rule: &'static str, path: String, message: String) -> Diagnostic {
        let (line, column) = line_column(text, offset);
        Diagnostic { rule, message, line, column, path }
    }
}

/// Rule code of TOML syntax errors.
pub const SYNTAX: &str = "syntax";
/// Rule code of errors against the schema: unknown keys, missing keys, wrong types, bad values.
pub const SCHEMA: &str = "schema";

/// Parses a register: TOML syntax and the schema (types, required keys, no unknown keys).
/// Semantic rules are not applied; use [`check`] for those.
pub fn parse(text: &str) -> Result<Register, Vec<Diagnostic>> {
    parse_with_spans(text).map(|(register, _)| register)
}

/// Parses a register and applies every rule of [`RULES`]. Returns all problems, sorted by
/// position, or the register when there are none.
pub fn check(text: &str) -> Result<Register, Vec<Diagnostic>> {
    let (register, spans) = parse_with_spans(text)?;
    let mut diagnostics = rules::run(&register, &spans, text);
    if diagnostics.is_empty() {
        return Ok(register);
    }
    diagnostics.sort_by(|a, b| {
        (a.line, a.column, a.rule, &a.path, &a.message).cmp(&(b.line, b.column, b.rule, &b.path, &b.message))
    });
    Err(diagnostics)
}

/// The JSON Schema of the register, as committed in `schema/register.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Register);
    let mut json = serde_json::to_string_pretty(&schema).unwrap_or_default();
    json.push('\n');
    json
}

fn parse_with_spans(text: &str) -> Result<(Register, SpanIndex), Vec<Diagnostic>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut diagnostics: Vec<Diagnostic> = errors
            .iter()
            .map(|e| {
                let offset = e.span().map_or(0, |s| s.start);
                Diagnostic::at(text, offset, SYNTAX, String::new(), tidy(e.message()))
            })
            .collect();
        diagnostics.sort_by_key(|d| (d.line, d.column));
        diagnostics.dedup();
        return Err(diagnostics);
    }
    let spans = SpanIndex::build(&root);
    match Register::deserialize(toml::de::Deserializer::from(root)) {
        Ok(register) => Ok((register, spans)),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let path = spans.path_at(&span);
            Err(vec![Diagnostic::at(text, span.start, SCHEMA, path, tidy(e.message()))])
        }
    }
}

/// One-line messages: serde and the TOML parser sometimes end theirs with a newline.
fn tidy(message: &str) -> String {
    message.trim().replace('\n', " ")
}
