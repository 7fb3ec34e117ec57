//! Blind-index terms: which values can be looked up, and the exact bytes the crypto layer
//! HMACs for them. Stored terms and lookup terms come from the same normalised values, so a
//! lookup typed differently (`Foo@Example.com `) still finds the subject.

use super::FieldValue;
use super::catalogue::Catalogue;
use super::error::{ValueError, ValueErrorCode};

/// Separates the parts of a compound term. ASCII unit separator: no validator lets it into a
/// value (control characters are refused), so `("1234 AB", "1")` and any other split of the
/// same bytes cannot produce the same term.
const PART_SEPARATOR: u8 = 0x1F;

/// A blind index: what a subject can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexName {
    Email,
    Phone,
    Iban,
    CustomerNumber,
    PostcodeHouseNumber,
}

impl IndexName {
    pub const ALL: [IndexName; 5] = [
        IndexName::Email,
        IndexName::Phone,
        IndexName::Iban,
        IndexName::CustomerNumber,
        IndexName::PostcodeHouseNumber,
    ];

    /// Stable name, used in storage (as HKDF/HMAC domain separation) and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexName::Email => "email",
            IndexName::Phone => "phone",
            IndexName::Iban => "iban",
            IndexName::CustomerNumber => "customer_number",
            IndexName::PostcodeHouseNumber => "postcode_house_number",
        }
    }

    /// The inverse of [`IndexName::as_str`], for names that arrive in URLs or stored rows.
    pub fn parse(name: &str) -> Option<IndexName> {
        IndexName::ALL.into_iter().find(|index| index.as_str() == name)
    }

    /// The fields whose values make up a term, in term order.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            IndexName::Email => &["email"],
            IndexName::Phone => &["phone"],
            IndexName::Iban => &["iban"],
            IndexName::CustomerNumber => &["customer_number"],
            IndexName::PostcodeHouseNumber => &["postcode", "house_number"],
        }
    }
}

/// Joins normalised parts into term bytes: the value itself for a single field,
/// `part ‖ 0x1F ‖ part` for a compound.
fn term<'v>(parts: impl IntoIterator<Item = &'v str>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            bytes.push(PART_SEPARATOR);
        }
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

/// Index terms for a subject's full set of current values (field name -> value), in
/// [`IndexName::ALL`] order: one per index all of whose fields are present, so
/// `postcode_house_number` only when both postcode and house number are. When a field name
/// occurs more than once, the first value counts.
pub fn index_terms<'a>(values: impl IntoIterator<Item = (&'a str, &'a FieldValue)>) -> Vec<(IndexName, Vec<u8>)> {
    let values: Vec<(&str, &FieldValue)> = values.into_iter().collect();
    let find = |field: &str| values.iter().find(|(name, _)| *name == field).map(|(_, value)| value.as_str());
    IndexName::ALL
        .into_iter()
        .filter_map(|index| {
            let parts: Option<Vec<&str>> = index.fields().iter().map(|field| find(field)).collect();
            parts.map(|parts| (index, term(parts)))
        })
        .collect()
}

/// The term for a lookup query. Each raw part goes through the same validator as a stored value
/// (so `Foo@Example.com ` finds `foo@example.com`); `raw` has one element, or two (postcode,
/// house number) for the compound index.
pub fn lookup_term(catalogue: &Catalogue, index: IndexName, raw: &[&str]) -> Result<Vec<u8>, ValueError> {
    let fields = index.fields();
    if raw.len() != fields.len() {
        return Err(ValueError::new(index.as_str(), ValueErrorCode::WrongPartCount { expected: fields.len() }));
    }
    let values = fields
        .iter()
        .zip(raw)
        .map(|(field, raw)| catalogue.parse_value(field, raw))
        .collect::<Result<Vec<FieldValue>, ValueError>>()?;
    Ok(term(values.iter().map(FieldValue::as_str)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for index in IndexName::ALL {
            assert_eq!(IndexName::parse(index.as_str()), Some(index));
        }
        assert_eq!(IndexName::parse("bsn"), None);
    }

    #[test]
    fn compound_term_uses_unit_separator() {
        assert_eq!(term(["1234 AB", "12"]), b"1234 AB\x1f12".to_vec());
        assert_eq!(term(["foo@example.com"]), b"foo@example.com".to_vec());
    }
}
