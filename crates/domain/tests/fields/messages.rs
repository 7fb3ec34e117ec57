//! Error codes and messages: stable, distinct, bilingual, and free of the offending value.

use std::collections::HashSet;

use kluis_domain::fields::{FieldError, ValueError, ValueErrorCode};

const ALL_CODES: [ValueErrorCode; 19] = [
    ValueErrorCode::UnknownField,
    ValueErrorCode::FieldDisabled,
    ValueErrorCode::ForbiddenCategory,
    ValueErrorCode::Empty,
    ValueErrorCode::TooLong { max: 200 },
    ValueErrorCode::InvalidCharacters,
    ValueErrorCode::InvalidEmail,
    ValueErrorCode::InvalidPhone,
    ValueErrorCode::InvalidIban,
    ValueErrorCode::InvalidPostcode,
    ValueErrorCode::InvalidHouseNumber,
    ValueErrorCode::InvalidHouseNumberAddition,
    ValueErrorCode::InvalidPoBox,
    ValueErrorCode::InvalidCountry,
    ValueErrorCode::InvalidCustomerNumber,
    ValueErrorCode::InvalidGender,
    ValueErrorCode::BsnDetected,
    ValueErrorCode::DuplicateField,
    ValueErrorCode::WrongPartCount { expected: 2 },
];

#[test]
fn codes_are_distinct_snake_case() {
    let mut seen = HashSet::new();
    for code in ALL_CODES {
        let s = code.as_str();
        assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
        assert!(seen.insert(s), "duplicate {s}");
    }
    assert_eq!(ValueErrorCode::UnknownField.as_str(), "unknown_field");
    assert_eq!(ValueErrorCode::BsnDetected.as_str(), "bsn_detected");
    assert_eq!(ValueErrorCode::TooLong { max: 1 }.as_str(), "too_long");
}

#[test]
fn messages_are_bilingual_and_distinct() {
    let mut en = HashSet::new();
    let mut nl = HashSet::new();
    for code in ALL_CODES {
        let (m_en, m_nl) = (code.message_en(), code.message_nl());
        assert!(!m_en.is_empty() && !m_nl.is_empty(), "{code:?}");
        assert_ne!(m_en, m_nl, "{code:?}");
        assert!(en.insert(m_en), "{code:?}");
        assert!(nl.insert(m_nl), "{code:?}");
    }
}

#[test]
fn messages_match_the_brief() {
    assert_eq!(
        ValueErrorCode::InvalidIban.message_en(),
        "not a valid IBAN: the mod-97 check digits do not match or the format is wrong"
    );
    assert_eq!(
        ValueErrorCode::InvalidIban.message_nl(),
        "geen geldig IBAN: de mod-97-controle klopt niet of het formaat is onjuist"
    );
    assert_eq!(
        ValueErrorCode::BsnDetected.message_en(),
        "looks like a BSN (citizen service number); kluis does not store BSNs (UAVG art. 46)"
    );
    assert!(ValueErrorCode::TooLong { max: 32 }.message_en().contains("32"));
    assert!(ValueErrorCode::TooLong { max: 32 }.message_nl().contains("32"));
}

#[test]
fn value_error_display_names_field_and_reason() {
    let err = ValueError { field: "iban".to_owned(), code: ValueErrorCode::InvalidIban };
    assert_eq!(err.to_string(), format!("iban: {}", ValueErrorCode::InvalidIban.message_en()));
    let forbidden = FieldError::ForbiddenCategory { name: "bsn".to_owned(), category: "user.government_id".to_owned() };
    assert!(forbidden.to_string().contains("UAVG art. 46"));
}
