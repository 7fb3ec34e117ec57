//! kluis export: the answers to access (Art. 15) and portability (Art. 20) requests.
//!
//! The vault gathers a subject's plaintext values and the audit events about it, and hands them
//! here with the register version in force. [`AccessExport::build`] assembles the copy of the data
//! (Art. 15(1), (3)) together with the Art. 15(1)(a)-(h) and 15(2) information that applies to
//! this person, derived from the register (R-15-2): the purposes that cover at least one of the
//! person's data categories, with their legal basis, the recipients by name (R-15-3), the
//! retention rules, the source, automated decision-making, the rights and the complaint route.
//! It renders as JSON (with a JSON Schema, `docs/export.schema.json`), as a zip of CSV files and as
//! an HTML page in Dutch or English.
//!
//! [`PortabilityExport::build`] keeps only the values the person provided that are processed on
//! the basis of consent or a contract (Art. 20(1)(a), R-20-2), as flat JSON or CSV.
//!
//! No I/O happens here, and no clock is read: the caller passes the time of the export. The formats
//! are documented in `docs/EXPORT.md`.

mod access;
pub mod at_rest;
mod csvzip;
mod html;
mod input;
mod portability;
mod words;

pub use access::{
    AccessExport, AutomatedDecisionOut, CategoryOut, ComplaintOut, ControllerOut, DpoOut, EventOut, FORMAT,
    FORMAT_VERSION, LegalBasisOut, PurposeOut, RecipientOut, RegisterOut, RegisterSource, RequestOut, RetentionOut,
    RightOut, SubjectOut, TransferOut, ValueOut,
};
pub use csvzip::{FORMULA_PREFIX, neutralise_formula};
pub use input::{EventInput, RegisterInput, RequestRef, SubjectInput, ValueInput};
pub use portability::{PORTABILITY_FORMAT, PortabilityExport, PortableValue};

use time::OffsetDateTime;

/// Why an export could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A time in the input is outside the years 0000-9999 that RFC 3339 can write.
    #[error("{what} ({ms} ms since the epoch) is outside the years 0000-9999")]
    TimeOutOfRange { what: &'static str, ms: i64 },
    /// Writing a CSV file failed (only on an internal error: the writer is in memory).
    #[error("writing CSV failed: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the zip archive failed (only on an internal error: the archive is in memory).
    #[error("writing the zip archive failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// An I/O error of the in-memory writers.
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Milliseconds since the Unix epoch as RFC 3339 in UTC with milliseconds:
/// `2024-05-01T12:34:56.789Z`.
pub fn rfc3339_ms(ms: i64, what: &'static str) -> Result<String, ExportError> {
    let out_of_range = || ExportError::TimeOutOfRange { what, ms };
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|_| out_of_range())?;
    if !(0..=9999).contains(&t.year()) {
        return Err(out_of_range());
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

/// True when the data category `category` lies within the register category `prefix`: equal to it
/// or below it (`user.contact.address.street` is within `user.contact.address`, `user.contactx`
/// is not within `user.contact`).
pub fn category_within(category: &str, prefix: &str) -> bool {
    category.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_milliseconds() {
        assert_eq!(rfc3339_ms(0, "t").unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_714_566_896_789, "t").unwrap(), "2024-05-01T12:34:56.789Z");
        assert_eq!(rfc3339_ms(-1, "t").unwrap(), "1969-12-31T23:59:59.999Z");
        assert!(matches!(rfc3339_ms(i64::MAX, "t"), Err(ExportError::TimeOutOfRange { what: "t", .. })));
        assert!(rfc3339_ms(-62_167_219_200_001, "t").is_err(), "before 0000-01-01");
        assert_eq!(rfc3339_ms(-62_167_219_200_000, "t").unwrap(), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn categories_nest_on_dots() {
        assert!(category_within("user.contact.email", "user.contact.email"));
        assert!(category_within("user.contact.address.street", "user.contact.address"));
        assert!(category_within("user.name.first", "user.name"));
        assert!(!category_within("user.contactx", "user.contact"));
        assert!(!category_within("user.contact", "user.contact.email"));
        assert!(!category_within("user.name", "user.workplace"));
    }
}
