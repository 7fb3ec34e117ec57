//! Property tests: every validator normalises idempotently, no input panics, values never show
//! in `Debug` or error text, and any valid BSN is caught wherever it hides.

use kluis_domain::fields::{
    Catalogue, FieldType, FieldValue, ISO_3166_ALPHA2, IndexName, ValueErrorCode, contains_bsn, elfproef, is_bsn,
    lookup_term,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config() -> ProptestConfig {
    ProptestConfig {
        // Regressions live with the crate, not next to this file (the repository convention).
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/fields_props.txt"))),
        ..ProptestConfig::default()
    }
}

/// The built-in catalogue with every field switched on, so gender is exercised too.
fn catalogue() -> Catalogue {
    let mut catalogue = Catalogue::dutch_it_provider();
    let names: Vec<&'static str> = catalogue.fields().map(|d| d.name).collect();
    for name in names {
        let _ = catalogue.enable(name);
    }
    catalogue
}

fn field_of(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text => "company_name",
        FieldType::HouseNumber => "house_number",
        FieldType::HouseNumberAddition => "house_number_addition",
        FieldType::Postcode => "postcode",
        FieldType::PoBox => "po_box",
        FieldType::Country => "country",
        FieldType::Email => "email",
        FieldType::Phone => "phone",
        FieldType::Iban => "iban",
        FieldType::CustomerNumber => "customer_number",
        FieldType::Gender => "gender",
    }
}

/// Parsing must be idempotent: the normalised value parses to itself. Returns whether the raw
/// input was accepted.
fn assert_idempotent(catalogue: &Catalogue, field: &str, raw: &str) -> Result<bool, TestCaseError> {
    match catalogue.parse_value(field, raw) {
        Ok(value) => {
            let again = catalogue.parse_value(field, value.as_str());
            prop_assert_eq!(again.as_ref().map(FieldValue::as_str), Ok(value.as_str()), "field {}", field);
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// A random case for each ASCII letter, to check case normalisation.
fn random_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
        .collect()
}

/// A valid BSN: eight random digits and the one last digit that satisfies the elfproef.
fn valid_bsn() -> impl Strategy<Value = String> {
    proptest::collection::vec(0_u8..10, 8).prop_filter_map("no check digit fits", |digits| {
        let sum: u32 = digits.iter().zip((2..=9).rev()).map(|(&d, w)| u32::from(d) * w).sum();
        let check = sum % 11;
        let mut s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        if check == 10 || (sum == 0) {
            return None;
        }
        s.push(char::from(b'0' + u8::try_from(check).ok()?));
        Some(s)
    })
}

/// A Dutch IBAN with correct mod-97 check digits (bank code letters and account digits random).
fn valid_nl_iban() -> impl Strategy<Value = String> {
    ("[A-Z]{4}", "[0-9]{10}").prop_map(|(bank, account)| {
        let rearranged = format!("{bank}{account}NL00");
        let remainder = rearranged.chars().fold(0_u32, |acc, c| {
            let n = c.to_digit(36).unwrap_or(0);
            if n >= 10 { (acc * 100 + n) % 97 } else { (acc * 10 + n) % 97 }
        });
        format!("NL{:02}{bank}{account}", 98 - remainder)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_arbitrary_input(
        field in prop_oneof![
            Just("company_name"), Just("house_number"), Just("house_number_addition"),
            Just("postcode"), Just("po_box"), Just("country"), Just("email"), Just("phone"),
            Just("iban"), Just("customer_number"), Just("gender"), Just("bsn"),
        ].prop_map(str::to_owned).boxed().prop_union(any::<String>().boxed()),
        raw in prop_oneof![
            any::<String>(),
            "[0-9 +()./-]{0,40}",
            "[A-Za-z0-9 ]{0,40}",
            "[a-z0-9.@+-]{0,30}",
        ],
    ) {
        let catalogue = catalogue();
        assert_idempotent(&catalogue, &field, &raw)?;
        let _ = catalogue.parse_values([(field.as_str(), raw.as_str()), ("email", raw.as_str())]);
        for index in IndexName::ALL {
            let _ = lookup_term(&catalogue, index, &[raw.as_str()]);
            let _ = lookup_term(&catalogue, index, &[raw.as_str(), raw.as_str()]);
        }
        let _ = contains_bsn(&raw);
        let _ = elfproef(&raw);
    }

    #[test]
    fn every_type_is_idempotent_on_arbitrary_input(raw in any::<String>(), pick in 0_usize..11) {
        let field_type = FieldType::ALL[pick];
        assert_idempotent(&catalogue(), field_of(field_type), &raw)?;
    }

    #[test]
    fn text_normalisation_is_idempotent(raw in "\\PC{1,200}") {
        assert_idempotent(&catalogue(), "company_name", &raw)?;
    }

    #[test]
    fn house_numbers_are_accepted_and_idempotent(raw in "0{0,3}[1-9][0-9]{0,4}", pad in " {0,2}") {
        let input = format!("{pad}{raw}{pad}");
        prop_assert!(assert_idempotent(&catalogue(), "house_number", &input)?);
    }

    #[test]
    fn po_boxes_are_accepted_and_idempotent(raw in "[1-9][0-9]{0,5}") {
        prop_assert!(assert_idempotent(&catalogue(), "po_box", &raw)?);
    }

    #[test]
    fn additions_are_idempotent(raw in "[A-Za-z0-9-]{1,6}") {
        let accepted = assert_idempotent(&catalogue(), "house_number_addition", &raw)?;
        prop_assert_eq!(accepted, raw.bytes().any(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn postcodes_are_accepted_and_idempotent(digits in "[1-9][0-9]{3}", space in " {0,2}", letters in "[A-Za-z]{2}") {
        let input = format!("{digits}{space}{letters}");
        let refused = matches!(letters.to_ascii_uppercase().as_str(), "SA" | "SD" | "SS");
        prop_assert_eq!(assert_idempotent(&catalogue(), "postcode", &input)?, !refused);
    }

    #[test]
    fn countries_are_accepted_and_idempotent(pick in 0_usize..ISO_3166_ALPHA2.len(), mask in any::<u64>()) {
        let input = random_case(ISO_3166_ALPHA2[pick], mask);
        prop_assert!(assert_idempotent(&catalogue(), "country", &input)?);
    }

    #[test]
    fn emails_are_idempotent(
        local in prop_oneof!["[A-Za-z0-9._%+-]{1,20}", "\\PC{1,12}"],
        domain in "[A-Za-z0-9-]{1,10}(\\.[A-Za-z0-9-]{1,10}){0,2}",
        tld in prop_oneof!["[A-Za-z]{2,6}", "\\PC{2,6}"],
    ) {
        assert_idempotent(&catalogue(), "email", &format!("{local}@{domain}.{tld}"))?;
    }

    #[test]
    fn plain_emails_are_accepted(local in "[a-z0-9]{1,20}", domain in "[a-z0-9]{1,10}", tld in "[a-z]{2,6}", mask in any::<u64>()) {
        let input = random_case(&format!("{local}@{domain}.{tld}"), mask);
        let accepted = assert_idempotent(&catalogue(), "email", &input)?;
        // Only the BSN screen may refuse a well-formed address.
        prop_assert!(accepted || contains_bsn(&input));
    }

    #[test]
    fn phones_are_idempotent(
        raw in prop_oneof![
            "(06|\\+31 ?6|0031 ?6)[ -]?[1-5][0-9]{7}",
            "0[1-9][0-9]{1,2}[ -]?[0-9]{6,7}",
            "\\+[1-9][0-9 ]{6,16}",
            "[0-9 +()./-]{1,32}",
        ]
    ) {
        assert_idempotent(&catalogue(), "phone", &raw)?;
    }

    #[test]
    fn dutch_mobiles_are_accepted(rest in "[1-5][0-9]{7}") {
        let input = format!("06 {rest}");
        let value = catalogue().parse_value("phone", &input);
        prop_assert_eq!(value.map(FieldValue::into_string), Ok(format!("+316{rest}")));
    }

    #[test]
    fn ibans_are_accepted_and_idempotent(iban in valid_nl_iban(), mask in any::<u64>(), paper in any::<bool>()) {
        let mut input = random_case(&iban, mask);
        if paper {
            input = input.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
        }
        let value = catalogue().parse_value("iban", &input);
        prop_assert_eq!(value.as_ref().map(FieldValue::as_str), Ok(iban.as_str()));
        prop_assert!(assert_idempotent(&catalogue(), "iban", &input)?);
    }

    #[test]
    fn ibans_with_a_wrong_check_digit_are_refused(iban in valid_nl_iban(), delta in 1_u32..97) {
        let check: u32 = iban[2..4].parse().unwrap_or(0);
        let wrong = format!("NL{:02}{}", (check + delta) % 97 + 1, &iban[4..]);
        prop_assume!(wrong != iban);
        let code = catalogue().parse_value("iban", &wrong).err().map(|e| e.code);
        prop_assert_eq!(code, Some(ValueErrorCode::InvalidIban));
    }

    #[test]
    fn customer_numbers_are_idempotent(raw in "[A-Za-z0-9-]{1,32}") {
        let accepted = assert_idempotent(&catalogue(), "customer_number", &raw)?;
        prop_assert_eq!(accepted, raw.bytes().any(|b| b.is_ascii_alphanumeric()) && !contains_bsn(&raw));
    }

    #[test]
    fn genders_are_accepted_and_idempotent(
        pick in prop_oneof![Just("female"), Just("male"), Just("non_binary"), Just("non-binary"), Just("non binary"), Just("unspecified")],
        mask in any::<u64>(),
    ) {
        prop_assert!(assert_idempotent(&catalogue(), "gender", &random_case(pick, mask))?);
    }

    // Invariant 1: a value never reaches a log line through `Debug`, nor through an error.
    #[test]
    fn values_never_leak_through_debug_or_errors(raw in "[A-Za-z0-9@. +-]{1,40}", pick in 0_usize..11) {
        let field = field_of(FieldType::ALL[pick]);
        match catalogue().parse_value(field, &raw) {
            Ok(value) => {
                prop_assert_eq!(format!("{value:?}"), "FieldValue(<redacted>)");
                prop_assert_eq!(format!("{:?}", Some(&value)), "Some(FieldValue(<redacted>))");
            }
            Err(err) => {
                // Too short a value could occur in a message by coincidence.
                let canary = raw.trim();
                if canary.len() >= 8 {
                    for text in [err.to_string(), format!("{err:?}"), err.code.message_nl()] {
                        prop_assert!(!text.contains(canary), "{}", text);
                    }
                }
            }
        }
    }

    #[test]
    fn valid_bsns_are_found_embedded_in_text(
        bsn in valid_bsn(),
        prefix in "([A-Za-z ,.()'éü]{0,20}[A-Za-z ,.()'éü])?",
        suffix in "([A-Za-z ,.()'éü][A-Za-z ,.()'éü]{0,20})?",
    ) {
        prop_assert!(elfproef(&bsn));
        let text = format!("{prefix}{bsn}{suffix}");
        prop_assert!(contains_bsn(&text));
        let code = catalogue().parse_value("company_name", &text).err().map(|e| e.code);
        let code_is_bsn = code == Some(ValueErrorCode::BsnDetected);
        prop_assert!(code_is_bsn, "{:?}", code);
    }

    #[test]
    fn valid_bsns_are_found_in_their_usual_notations(bsn in valid_bsn(), sep in "[ .-]") {
        for written in [
            format!("{}{sep}{}{sep}{}", &bsn[..4], &bsn[4..6], &bsn[6..]),
            format!("{}{sep}{}{sep}{}", &bsn[..3], &bsn[3..6], &bsn[6..]),
            format!("NL{bsn}B01"),
        ] {
            prop_assert!(contains_bsn(&written), "{}", written);
            for field in ["company_name", "customer_number", "phone", "email", "iban"] {
                // Phone numbers are screened as a whole value only (a BSN inside a longer
                // phone-like string is a digit run, see `is_bsn`).
                if field == "phone" && !is_bsn(&written) {
                    continue;
                }
                let code = catalogue().parse_value(field, &written).err().map(|e| e.code);
                let code_is_bsn = code == Some(ValueErrorCode::BsnDetected);
                prop_assert!(code_is_bsn, "{} {:?}", field, code);
            }
        }
    }

    #[test]
    fn exactly_one_check_digit_completes_eight_digits(first in "[0-9]{8}") {
        let passing = (0..10).filter(|d| elfproef(&format!("{first}{d}"))).count();
        prop_assert!(passing <= 1);
    }

    #[test]
    fn longer_digit_runs_are_not_bsns(bsn in valid_bsn(), extra in "[0-9]") {
        let before = format!("x {extra}{bsn} x");
        let after = format!("x {bsn}{extra} x");
        prop_assert!(!contains_bsn(&before));
        prop_assert!(!contains_bsn(&after));
    }
}
