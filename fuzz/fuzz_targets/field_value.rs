//! Fuzzes the field validators: any bytes, as (field name, raw value), through `parse_value`
//! and `lookup_term`. Nothing may panic, and an accepted value must parse to itself
//! (normalisation is idempotent, so stored values re-parse and blind-index terms match lookups).

#![no_main]

use kluis_domain::fields::{Catalogue, IndexName, lookup_term};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // First line is the field name, the rest the value; a value may itself hold newlines, which
    // the validators must refuse.
    let (field, raw) = input.split_once('\n').unwrap_or(("company_name", input));

    let mut catalogue = Catalogue::dutch_it_provider();
    // Exercise the disabled-by-default field too.
    let _ = catalogue.enable("gender");

    if let Ok(value) = catalogue.parse_value(field, raw) {
        let again = catalogue.parse_value(field, value.as_str());
        assert_eq!(
            again.as_ref().map(|v| v.as_str()),
            Ok(value.as_str()),
            "normalisation of field {field} is not idempotent"
        );
        assert_eq!(format!("{value:?}"), "FieldValue(<redacted>)");
    }

    for index in IndexName::ALL {
        if let Ok(term) = lookup_term(&catalogue, index, &[raw]) {
            // A lookup term is the normalised value, which parses to itself.
            let again = lookup_term(
                &catalogue,
                index,
                &[std::str::from_utf8(&term).unwrap_or("")],
            );
            assert_eq!(
                again.as_ref(),
                Ok(&term),
                "lookup term of {index:?} is not stable"
            );
        }
        let parts: Vec<&str> = raw.splitn(2, '\u{1f}').collect();
        let _ = lookup_term(&catalogue, index, &parts);
    }
});
