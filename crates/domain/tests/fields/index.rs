//! Blind-index terms: the bytes stored at write time equal the bytes computed at lookup time.

use kluis_domain::fields::{Catalogue, FieldValue, IndexName, ValueError, ValueErrorCode, index_terms, lookup_term};

fn subject(catalogue: &Catalogue, input: &[(&'static str, &str)]) -> Vec<(&'static str, FieldValue)> {
    input.iter().filter_map(|(field, raw)| catalogue.parse_value(field, raw).ok().map(|v| (*field, v))).collect()
}

#[test]
fn index_names_are_stable() {
    let names: Vec<&str> = IndexName::ALL.iter().map(|i| i.as_str()).collect();
    assert_eq!(names, ["email", "phone", "iban", "customer_number", "postcode_house_number"]);
    assert_eq!(IndexName::PostcodeHouseNumber.fields(), ["postcode", "house_number"]);
    assert_eq!(IndexName::Email.fields(), ["email"]);
    let mut sorted = IndexName::ALL;
    sorted.sort();
    assert_eq!(sorted, IndexName::ALL);
}

#[test]
fn every_index_gets_its_term() {
    let catalogue = Catalogue::dutch_it_provider();
    let values = subject(
        &catalogue,
        &[
            ("company_name", "Acme BV"),
            ("email", "Jan@Example.nl"),
            ("phone", "06-12345678"),
            ("iban", "NL91 ABNA 0417 1643 00"),
            ("customer_number", "k-42"),
            ("postcode", "1234ab"),
            ("house_number", "12"),
            ("house_number_addition", "a"),
        ],
    );
    assert_eq!(values.len(), 8);
    let terms = index_terms(values.iter().map(|(f, v)| (*f, v)));
    assert_eq!(
        terms,
        vec![
            (IndexName::Email, b"jan@example.nl".to_vec()),
            (IndexName::Phone, b"+31612345678".to_vec()),
            (IndexName::Iban, b"NL91ABNA0417164300".to_vec()),
            (IndexName::CustomerNumber, b"K-42".to_vec()),
            (IndexName::PostcodeHouseNumber, b"1234 AB\x1f12".to_vec()),
        ]
    );
}

#[test]
fn compound_term_needs_both_parts() {
    let catalogue = Catalogue::dutch_it_provider();
    let only_postcode = subject(&catalogue, &[("postcode", "1234 AB"), ("email", "a@b.nl")]);
    let terms = index_terms(only_postcode.iter().map(|(f, v)| (*f, v)));
    assert_eq!(terms, vec![(IndexName::Email, b"a@b.nl".to_vec())]);
    let only_number = subject(&catalogue, &[("house_number", "12")]);
    assert!(index_terms(only_number.iter().map(|(f, v)| (*f, v))).is_empty());
}

#[test]
fn lookup_terms_match_stored_terms() -> Result<(), ValueError> {
    let catalogue = Catalogue::dutch_it_provider();
    let stored = subject(
        &catalogue,
        &[
            ("email", "foo@example.com"),
            ("phone", "+31612345678"),
            ("iban", "NL91ABNA0417164300"),
            ("customer_number", "K-42"),
            ("postcode", "1234 AB"),
            ("house_number", "12"),
        ],
    );
    let terms = index_terms(stored.iter().map(|(f, v)| (*f, v)));
    let term_of = |index: IndexName| terms.iter().find(|(i, _)| *i == index).map(|(_, t)| t.clone());
    assert_eq!(Some(lookup_term(&catalogue, IndexName::Email, &["Foo@Example.com "])?), term_of(IndexName::Email));
    assert_eq!(Some(lookup_term(&catalogue, IndexName::Phone, &["06 1234 5678"])?), term_of(IndexName::Phone));
    assert_eq!(Some(lookup_term(&catalogue, IndexName::Iban, &["nl91 abna 0417 1643 00"])?), term_of(IndexName::Iban));
    assert_eq!(
        Some(lookup_term(&catalogue, IndexName::CustomerNumber, &["k-42"])?),
        term_of(IndexName::CustomerNumber)
    );
    assert_eq!(
        Some(lookup_term(&catalogue, IndexName::PostcodeHouseNumber, &["1234ab", "012"])?),
        term_of(IndexName::PostcodeHouseNumber)
    );
    Ok(())
}

#[test]
fn lookup_refuses_bad_queries() {
    let catalogue = Catalogue::dutch_it_provider();
    let code = |index, raw: &[&str]| lookup_term(&catalogue, index, raw).err().map(|e| (e.field, e.code));
    assert_eq!(
        code(IndexName::PostcodeHouseNumber, &["1234 AB"]),
        Some(("postcode_house_number".to_owned(), ValueErrorCode::WrongPartCount { expected: 2 }))
    );
    assert_eq!(
        code(IndexName::Email, &["a@b.nl", "c@d.nl"]),
        Some(("email".to_owned(), ValueErrorCode::WrongPartCount { expected: 1 }))
    );
    assert_eq!(
        code(IndexName::PostcodeHouseNumber, &["1234 AB", "0"]),
        Some(("house_number".to_owned(), ValueErrorCode::InvalidHouseNumber))
    );
    assert_eq!(code(IndexName::Email, &["nope"]), Some(("email".to_owned(), ValueErrorCode::InvalidEmail)));
    assert_eq!(
        code(IndexName::CustomerNumber, &["111222333"]),
        Some(("customer_number".to_owned(), ValueErrorCode::BsnDetected))
    );
}
