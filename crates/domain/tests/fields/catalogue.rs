//! The built-in catalogue, `define`/`enable`, and `parse_value`/`parse_values` through it.

use kluis_domain::fields::{
    Catalogue, Category, FieldDef, FieldError, FieldType, FieldValue, ValueError, ValueErrorCode,
};

fn code(catalogue: &Catalogue, field: &str, raw: &str) -> Option<ValueErrorCode> {
    catalogue.parse_value(field, raw).err().map(|e| e.code)
}

fn custom_field(name: &'static str, category: &str) -> Result<FieldDef, FieldError> {
    Ok(FieldDef {
        name,
        field_type: FieldType::Text,
        category: Category::parse(category)?,
        indexed: false,
        enabled: true,
        label_en: "Custom",
        label_nl: "Eigen veld",
    })
}

#[test]
fn builtin_catalogue_matches_the_brief() {
    use FieldType as T;
    let want: [(&str, FieldType, &str, bool, bool); 15] = [
        ("company_name", T::Text, "user.workplace", false, true),
        ("first_names", T::Text, "user.name.first", false, true),
        ("last_name", T::Text, "user.name.last", false, true),
        ("street", T::Text, "user.contact.address.street", false, true),
        ("house_number", T::HouseNumber, "user.contact.address.street", false, true),
        ("house_number_addition", T::HouseNumberAddition, "user.contact.address.street", false, true),
        ("postcode", T::Postcode, "user.contact.address.postal_code", false, true),
        ("po_box", T::PoBox, "user.contact.address.po_box", false, true),
        ("city", T::Text, "user.contact.address.city", false, true),
        ("country", T::Country, "user.contact.address.country", false, true),
        ("email", T::Email, "user.contact.email", true, true),
        ("phone", T::Phone, "user.contact.phone_number", true, true),
        ("iban", T::Iban, "user.financial.bank_account", true, true),
        ("customer_number", T::CustomerNumber, "user.unique_id", true, true),
        ("gender", T::Gender, "user.demographic.gender", false, false),
    ];
    let catalogue = Catalogue::dutch_it_provider();
    let got: Vec<(&str, FieldType, &str, bool, bool)> =
        catalogue.fields().map(|d| (d.name, d.field_type, d.category.as_str(), d.indexed, d.enabled)).collect();
    assert_eq!(got, want);
}

// R-9-1, R-NL-BSN-1: nothing forbidden in the data model; labels for the NL and EN console.
#[test]
fn every_builtin_field_is_allowed_and_labelled() {
    let catalogue = Catalogue::dutch_it_provider();
    for def in catalogue.fields() {
        assert!(!def.category.is_forbidden(), "{}", def.name);
        assert!(!def.label_en.trim().is_empty(), "{}", def.name);
        assert!(!def.label_nl.trim().is_empty(), "{}", def.name);
        assert_eq!(catalogue.get(def.name), Some(def));
    }
    assert_eq!(catalogue.get("bsn"), None);
}

#[test]
fn define_refuses_forbidden_categories() -> Result<(), FieldError> {
    let mut catalogue = Catalogue::dutch_it_provider();
    for category in [
        "user.government_id",
        "user.government_id.national_identification_number",
        "user.government_id.passport_number",
        "user.government_id.drivers_license_number",
        "user.demographic.date_of_birth",
    ] {
        assert_eq!(
            catalogue.define(custom_field("tax_ref", category)?),
            Err(FieldError::ForbiddenCategory { name: "tax_ref".to_owned(), category: category.to_owned() })
        );
    }
    assert_eq!(catalogue.get("tax_ref"), None);
    Ok(())
}

#[test]
fn define_refuses_forbidden_names_even_with_an_innocent_category() -> Result<(), FieldError> {
    let mut catalogue = Catalogue::dutch_it_provider();
    for name in ["bsn", "date_of_birth", "passport_number", "partner_bsn"] {
        let refused = catalogue.define(custom_field(name, "user.unique_id")?);
        assert!(matches!(refused, Err(FieldError::ForbiddenCategory { .. })), "{name}: {refused:?}");
    }
    Ok(())
}

#[test]
fn define_refuses_duplicates_and_adds_new_fields() -> Result<(), FieldError> {
    let mut catalogue = Catalogue::dutch_it_provider();
    assert_eq!(
        catalogue.define(custom_field("email", "user.contact.email")?),
        Err(FieldError::Duplicate("email".to_owned()))
    );
    catalogue.define(custom_field("kvk_name", "user.workplace")?)?;
    assert_eq!(catalogue.fields().last().map(|d| d.name), Some("kvk_name"));
    let value = catalogue.parse_value("kvk_name", " Acme ").map_err(|_| FieldError::Unknown("kvk_name".to_owned()))?;
    assert_eq!(value.as_str(), "Acme");
    Ok(())
}

#[test]
fn category_errors_convert_into_field_errors() {
    let err: Result<FieldDef, FieldError> = custom_field("x", "Not A Category");
    assert!(matches!(err, Err(FieldError::Category(_))));
}

// R-5-3, R-9-3, R-25-1: gender is off until an installation turns it on.
#[test]
fn gender_is_disabled_until_enabled() {
    let mut catalogue = Catalogue::dutch_it_provider();
    assert_eq!(code(&catalogue, "gender", "female"), Some(ValueErrorCode::FieldDisabled));
    assert_eq!(catalogue.enable("gender"), Ok(()));
    assert_eq!(catalogue.parse_value("gender", "Female").map(FieldValue::into_string), Ok("female".to_owned()));
    assert_eq!(catalogue.enable("gender"), Ok(()));
    assert_eq!(catalogue.enable("shoe_size"), Err(FieldError::Unknown("shoe_size".to_owned())));
}

#[test]
fn forbidden_field_names_say_why_instead_of_unknown() {
    let catalogue = Catalogue::dutch_it_provider();
    for name in [
        "bsn",
        "burgerservicenummer",
        "citizen_service_number",
        "national_id",
        "date_of_birth",
        "birth_date",
        "geboortedatum",
        "passport_number",
        "id_card_number",
        "identity_document_number",
        "document_number",
        "drivers_license_number",
        "BSN",
    ] {
        assert_eq!(code(&catalogue, name, "x"), Some(ValueErrorCode::ForbiddenCategory), "{name}");
    }
    assert_eq!(code(&catalogue, "shoe_size", "42"), Some(ValueErrorCode::UnknownField));
}

// R-NL-BSN-1 / R-NL-BSN-2: a BSN is refused in every field, with the reason.
#[test]
fn bsn_is_refused_wherever_it_is_typed() {
    let catalogue = Catalogue::dutch_it_provider();
    for (field, raw) in [
        ("company_name", "Acme 111222333 BV"),
        ("customer_number", "111222333"),
        ("customer_number", "K-123456782"),
        ("phone", "111222333"),
        ("phone", "1112.22.333"),
        ("email", "111222333@example.nl"),
        ("street", "Dorpsstraat 123456782"),
        ("iban", "111222333"),
    ] {
        let err = catalogue.parse_value(field, raw).err();
        assert_eq!(err.as_ref().map(|e| e.code), Some(ValueErrorCode::BsnDetected), "{field}");
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("UAVG art. 46"), "{message}");
    }
    // A nine-digit number failing the elfproef is a fine customer number.
    assert!(catalogue.parse_value("customer_number", "123456789").is_ok());
}

#[test]
fn parse_values_collects_every_error_sorted_by_field() {
    let catalogue = Catalogue::dutch_it_provider();
    let input = [
        ("postcode", "0000 AA"),
        ("email", "not an address"),
        ("company_name", "Acme BV"),
        ("bsn", "111222333"),
        ("iban", "NL92ABNA0417164300"),
        ("shoe_size", "42"),
        ("email", "second@example.nl"),
    ];
    let errors = match catalogue.parse_values(input) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    };
    let got: Vec<(&str, ValueErrorCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        [
            ("bsn", ValueErrorCode::ForbiddenCategory),
            ("email", ValueErrorCode::InvalidEmail),
            ("email", ValueErrorCode::DuplicateField),
            ("iban", ValueErrorCode::InvalidIban),
            ("postcode", ValueErrorCode::InvalidPostcode),
            ("shoe_size", ValueErrorCode::UnknownField),
        ]
    );
}

#[test]
fn parse_values_returns_normalised_values_in_input_order() {
    let catalogue = Catalogue::dutch_it_provider();
    let parsed = catalogue
        .parse_values([
            ("email", " Jan@Example.NL"),
            ("phone", "06 12345678"),
            ("postcode", "1234ab"),
            ("house_number", "007"),
            ("iban", "nl91 abna 0417 1643 00"),
        ])
        .map(|values| values.into_iter().map(|(def, value)| (def.name, value.into_string())).collect::<Vec<_>>());
    assert_eq!(
        parsed,
        Ok(vec![
            ("email", "jan@example.nl".to_owned()),
            ("phone", "+31612345678".to_owned()),
            ("postcode", "1234 AB".to_owned()),
            ("house_number", "7".to_owned()),
            ("iban", "NL91ABNA0417164300".to_owned()),
        ])
    );
    assert_eq!(catalogue.parse_values([]).map(|v| v.len()), Ok(0));
}

#[test]
fn validation_errors_display_lists_fields_without_values() {
    let catalogue = Catalogue::dutch_it_provider();
    let text = catalogue
        .parse_values([("iban", "NL00CANARY0000000001"), ("postcode", "CANARY")])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.starts_with("2 invalid value(s): iban: not a valid IBAN"), "{text}");
    assert!(text.contains("postcode: not a valid Dutch postcode"), "{text}");
    assert!(!text.to_lowercase().contains("canary"), "{text}");
}

// Invariant 1: field names come from outside too; one that is not shaped like a field name
// (here an e-mail address) is not echoed into errors.
#[test]
fn implausible_field_names_are_not_echoed() {
    let catalogue = Catalogue::dutch_it_provider();
    let err = catalogue.parse_value("jan@example.nl", "x").err();
    assert_eq!(err, Some(ValueError { field: "<invalid field name>".to_owned(), code: ValueErrorCode::UnknownField }));
    let err = catalogue.parse_value("shoe_size", "x").err().map(|e| e.field);
    assert_eq!(err.as_deref(), Some("shoe_size"));
}
