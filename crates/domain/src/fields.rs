//! Field catalogue and value validation: which personal data kluis may hold, under which data
//! category, and the parsers that turn raw input into normalised [`FieldValue`]s.
//!
//! Every value enters the vault through [`Catalogue::parse_value`], so the rules that keep
//! forbidden data out (BSN, dates of birth, identity-document numbers: R-9-1, R-NL-BSN-1,
//! R-NL-BSN-2) live here and nowhere else.

mod bsn;
mod catalogue;
mod category;
mod country;
mod error;
mod index;
mod validate;

use std::fmt;

pub use bsn::{contains_bsn, elfproef, is_bsn};
pub use catalogue::{Catalogue, FieldDef, FieldType};
pub use category::{Category, CategoryError};
pub use country::ISO_3166_ALPHA2;
pub use error::{FieldError, ValidationErrors, ValueError, ValueErrorCode};
pub use index::{IndexName, index_terms, lookup_term};

/// A validated, normalised field value.
///
/// It is personal data, so it has no `Display` and no `Serialize`, and its `Debug` is redacted:
/// a value can only leave as plaintext through an explicit [`FieldValue::as_str`] or
/// [`FieldValue::into_string`], never by accident in a log line or error (invariant 1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FieldValue(String);

impl FieldValue {
    /// The normalised value, e.g. `+31612345678` or `1234 AB`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised value, consuming the wrapper (for encryption).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldValue(<redacted>)")
    }
}
