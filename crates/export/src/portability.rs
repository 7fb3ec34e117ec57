//! The portability export (Art. 20): the values the person provided that are processed on the
//! basis of consent or a contract, in a structured, commonly used, machine-readable format.

use std::fmt;

use kluis_register::{LegalBasis, Register};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::purpose_covers;
use crate::csvzip::Sheet;
use crate::input::SubjectInput;
use crate::{ExportError, rfc3339_ms};

/// The value of `format` in every portability export.
pub const PORTABILITY_FORMAT: &str = "kluis-portability-export";

/// The answer to a portability request (Art. 20(1)): flat and machine-readable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "kluis portability export")]
pub struct PortabilityExport {
    /// Always `kluis-portability-export`.
    pub format: String,
    /// The format version, 1.
    pub format_version: u32,
    pub subject_id: String,
    /// RFC 3339 in UTC.
    pub exported_at: String,
    pub values: Vec<PortableValue>,
}

/// One portable value. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortableValue {
    pub field: String,
    pub category: String,
    pub value: String,
}

impl fmt::Debug for PortableValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortableValue")
            .field("field", &self.field)
            .field("category", &self.category)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// True when a purpose with legal basis consent or contract, whose data the person provides (no
/// `source` in the register), covers `category` (Art. 20(1)(a), R-20-2).
pub(crate) fn portable(register: &Register, category: &str) -> bool {
    register.purposes.values().any(|p| {
        matches!(p.legal_basis, Some(LegalBasis::Consent | LegalBasis::Contract))
            && p.source.is_none()
            && purpose_covers(p, category)
    })
}

impl PortabilityExport {
    /// Keeps the values whose category a purpose with legal basis consent or contract covers, where
    /// the register does not name another source than the person. Without a register (kluis on
    /// its built-in policy) every value is exported: the vault only holds data the operator
    /// collected from or about the person for its service, and leaving one out would be worse
    /// than giving one too many. `exported_at_ms` is the caller's clock.
    pub fn build(
        subject: &SubjectInput,
        register: Option<&Register>,
        exported_at_ms: i64,
    ) -> Result<PortabilityExport, ExportError> {
        let values = subject
            .values
            .iter()
            .filter(|v| register.is_none_or(|r| portable(r, &v.category)))
            .map(|v| PortableValue { field: v.field.clone(), category: v.category.clone(), value: v.value.clone() })
            .collect();
        Ok(PortabilityExport {
            format: PORTABILITY_FORMAT.to_owned(),
            format_version: 1,
            subject_id: subject.id.clone(),
            exported_at: rfc3339_ms(exported_at_ms, "the export time")?,
            values,
        })
    }

    /// Pretty-printed JSON (UTF-8); the values are exactly those held.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a portability export always serialises");
        out.push(b'\n');
        out
    }

    /// The JSON Schema of [`PortabilityExport::to_json`].
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(PortabilityExport);
        let mut json = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
        json.push('\n');
        json
    }

    /// RFC 4180 CSV with the header `field,category,value`, CRLF line ends; a cell that starts with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (see
    /// [`crate::neutralise_formula`]).
    pub fn to_csv(&self) -> Vec<u8> {
        let write = || -> Result<Vec<u8>, ExportError> {
            let mut sheet = Sheet::new(&["field", "category", "value"])?;
            for v in &self.values {
                sheet.row([v.field.as_str(), &v.category, &v.value])?;
            }
            sheet.finish()
        };
        write().expect("an in-memory CSV file cannot fail")
    }
}
