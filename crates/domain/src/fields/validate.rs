//! The validators behind every field type: raw input in, normalised [`FieldValue`] or a
//! [`ValueErrorCode`] out. Normalisation is idempotent (parsing a normalised value gives it back),
//! so stored values can be re-parsed and blind-index terms match lookups.

use iban::IbanLike;

use super::FieldValue;
use super::bsn::{contains_bsn, is_bsn};
use super::catalogue::FieldType;
use super::country;
use super::error::ValueErrorCode;

/// Parses one raw value as `field_type`: trim, refuse empty input, control characters and
/// oversize input, refuse anything that looks like a BSN, then run the type's own validator.
///
/// The BSN screen runs before the type validator on purpose: a BSN typed into, say, the phone
/// box must be refused with the reason that matters (R-NL-BSN-1), not with "invalid phone". It
/// runs again on the normalised value, because normalising can join digits (an IBAN in paper
/// format loses its spaces), and a stored value must pass every check when parsed again.
pub(super) fn parse_typed(field_type: FieldType, raw: &str) -> Result<FieldValue, ValueErrorCode> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ValueErrorCode::Empty);
    }
    if trimmed.chars().any(is_refused_char) {
        return Err(ValueErrorCode::InvalidCharacters);
    }
    let max = field_type.max_len();
    if trimmed.chars().count() > max {
        return Err(ValueErrorCode::TooLong { max });
    }
    // A phone number is screened as a whole only: its digits after the country code form a run
    // that passes the elfproef for one number in eleven.
    let screen: fn(&str) -> bool = if matches!(field_type, FieldType::Phone) { is_bsn } else { contains_bsn };
    if screen(raw) {
        return Err(ValueErrorCode::BsnDetected);
    }
    let normalised = match field_type {
        FieldType::Text => Ok(trimmed.to_owned()),
        FieldType::HouseNumber => house_number(trimmed),
        FieldType::HouseNumberAddition => house_number_addition(trimmed),
        FieldType::Postcode => postcode(trimmed),
        FieldType::PoBox => po_box(trimmed),
        FieldType::Country => country(trimmed),
        FieldType::Email => email(trimmed),
        FieldType::Phone => phone(trimmed),
        FieldType::Iban => iban(trimmed),
        FieldType::CustomerNumber => customer_number(trimmed),
        FieldType::Gender => gender(trimmed),
    }?;
    if screen(&normalised) {
        return Err(ValueErrorCode::BsnDetected);
    }
    Ok(FieldValue(normalised))
}

/// Control characters have no place in a name, address or identifier and break CSV exports and
/// log lines; bidirectional overrides and isolates let a value display as something other than
/// what it is (the "Trojan Source" trick), which matters in a console staff must trust.
fn is_refused_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

fn house_number(s: &str) -> Result<String, ValueErrorCode> {
    positive_digits(s, 5).ok_or(ValueErrorCode::InvalidHouseNumber)
}

fn po_box(s: &str) -> Result<String, ValueErrorCode> {
    positive_digits(s, 6).ok_or(ValueErrorCode::InvalidPoBox)
}

/// ASCII digits with leading zeros stripped (so `007` and `7` index alike), not zero, at most
/// `max_digits` significant digits.
fn positive_digits(s: &str, max_digits: usize) -> Option<String> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = s.trim_start_matches('0');
    if significant.is_empty() || significant.len() > max_digits {
        return None;
    }
    Some(significant.to_owned())
}

fn house_number_addition(s: &str) -> Result<String, ValueErrorCode> {
    code_like(s, 6).ok_or(ValueErrorCode::InvalidHouseNumberAddition)
}

fn customer_number(s: &str) -> Result<String, ValueErrorCode> {
    code_like(s, 32).ok_or(ValueErrorCode::InvalidCustomerNumber)
}

/// 1..=`max` ASCII letters, digits and dashes with at least one letter or digit, uppercased.
fn code_like(s: &str, max: usize) -> Option<String> {
    let well_formed = (1..=max).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| s.to_ascii_uppercase())
}

/// Dutch postcode: four digits (first 1-9), optional spaces, two letters other than SA, SD and
/// SS (never issued because of their connotations). Normalised to `1234 AB`.
fn postcode(s: &str) -> Result<String, ValueErrorCode> {
    let bytes = s.as_bytes();
    let (digits, rest) = bytes.split_at(bytes.len().min(4));
    let letters = rest.trim_ascii_start();
    let valid = digits.len() == 4
        && digits.iter().all(u8::is_ascii_digit)
        && digits[0] != b'0'
        && rest.iter().take_while(|b| **b == b' ').count() + letters.len() == rest.len()
        && letters.len() == 2
        && letters.iter().all(u8::is_ascii_alphabetic);
    if !valid {
        return Err(ValueErrorCode::InvalidPostcode);
    }
    let letters = letters.to_ascii_uppercase();
    if matches!(letters.as_slice(), b"SA" | b"SD" | b"SS") {
        return Err(ValueErrorCode::InvalidPostcode);
    }
    let mut out = String::with_capacity(7);
    out.extend(digits.iter().map(|&b| char::from(b)));
    out.push(' ');
    out.extend(letters.iter().map(|&b| char::from(b)));
    Ok(out)
}

fn country(s: &str) -> Result<String, ValueErrorCode> {
    let upper = s.to_ascii_uppercase();
    if country::is_assigned(&upper) { Ok(upper) } else { Err(ValueErrorCode::InvalidCountry) }
}

/// E-mail addresses compare case-insensitively in practice, and the blind index needs one
/// spelling, so the address is lowercased (the brief accepts the rare case-sensitive local part
/// as a loss). Display names (`Jan <jan@x.nl>`) and IP literals are refused: the field holds an
/// address, and a deliverable one has a domain with a dot.
fn email(s: &str) -> Result<String, ValueErrorCode> {
    let lower = s.to_lowercase();
    let options = email_address::Options::default().without_display_text().without_domain_literal().with_required_tld();
    match email_address::EmailAddress::parse_with_options(&lower, options) {
        Ok(_) => Ok(lower),
        Err(_) => Err(ValueErrorCode::InvalidEmail),
    }
}

/// Phone numbers in any usual notation, Dutch numbers without country code allowed, stored as
/// E.164. Only characters of a written phone number reach the parser: that keeps odd input away
/// from a large third-party grammar, and refuses extensions, which E.164 cannot hold.
fn phone(s: &str) -> Result<String, ValueErrorCode> {
    let plausible =
        s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'+' | b'-' | b'(' | b')' | b'.' | b'/'))
            && s.bytes().any(|b| b.is_ascii_digit());
    if !plausible {
        return Err(ValueErrorCode::InvalidPhone);
    }
    let number = phonenumber::parse(Some(phonenumber::country::Id::NL), s).map_err(|_| ValueErrorCode::InvalidPhone)?;
    if !phonenumber::is_valid(&number) {
        return Err(ValueErrorCode::InvalidPhone);
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// IBAN in electronic or paper format, any case; checked by country format and mod-97, stored
/// in electronic format (`NL91ABNA0417164300`).
fn iban(s: &str) -> Result<String, ValueErrorCode> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ValueErrorCode::InvalidIban);
    }
    compact
        .parse::<iban::Iban>()
        .map(|parsed| parsed.electronic_str().to_owned())
        .map_err(|_| ValueErrorCode::InvalidIban)
}

/// Stored lowercase with `_`, so `Non-binary` and `non binary` mean `non_binary`.
fn gender(s: &str) -> Result<String, ValueErrorCode> {
    let canonical: String = s
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    match canonical.as_str() {
        "female" | "male" | "non_binary" | "unspecified" => Ok(canonical),
        _ => Err(ValueErrorCode::InvalidGender),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(field_type: FieldType, raw: &str) -> Option<String> {
        parse_typed(field_type, raw).ok().map(FieldValue::into_string)
    }

    fn err(field_type: FieldType, raw: &str) -> Option<ValueErrorCode> {
        parse_typed(field_type, raw).err()
    }

    #[test]
    fn every_type_trims_and_refuses_empty() {
        for field_type in FieldType::ALL {
            assert_eq!(err(field_type, ""), Some(ValueErrorCode::Empty));
            assert_eq!(err(field_type, " \t\n "), Some(ValueErrorCode::Empty));
        }
        assert_eq!(ok(FieldType::Text, "  Acme BV \n").as_deref(), Some("Acme BV"));
    }

    #[test]
    fn refuses_control_and_bidi_characters() {
        for raw in ["Acme\0BV", "Acme\u{7}", "Ac\nme", "Acme\u{202E}VB", "a\u{2066}b", "a\u{2028}b"] {
            assert_eq!(err(FieldType::Text, raw), Some(ValueErrorCode::InvalidCharacters), "{raw:?}");
        }
        // Ordinary non-ASCII text is fine.
        assert_eq!(ok(FieldType::Text, "Zoë 't Hart-Ølstad").as_deref(), Some("Zoë 't Hart-Ølstad"));
    }

    #[test]
    fn text_length_is_counted_in_characters() {
        let at_limit = "é".repeat(200);
        assert_eq!(ok(FieldType::Text, &at_limit), Some(at_limit.clone()));
        assert_eq!(err(FieldType::Text, &"é".repeat(201)), Some(ValueErrorCode::TooLong { max: 200 }));
    }

    #[test]
    fn text_does_not_collapse_inner_whitespace() {
        assert_eq!(ok(FieldType::Text, " Acme   BV ").as_deref(), Some("Acme   BV"));
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(ok(FieldType::Email, " Foo@Example.com ").as_deref(), Some("foo@example.com"));
        assert_eq!(ok(FieldType::Email, "a.b+tag@sub.example.nl").as_deref(), Some("a.b+tag@sub.example.nl"));
        for bad in [
            "foo",
            "foo@",
            "@example.com",
            "foo@localhost",
            "Foo <foo@example.com>",
            "foo@[127.0.0.1]",
            "foo bar@example.com",
            "foo@@example.com",
        ] {
            assert_eq!(err(FieldType::Email, bad), Some(ValueErrorCode::InvalidEmail), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(err(FieldType::Email, &long), Some(ValueErrorCode::TooLong { max: 254 }));
    }

    #[test]
    fn phone_is_normalised_to_e164() {
        assert_eq!(ok(FieldType::Phone, "06 12345678").as_deref(), Some("+31612345678"));
        assert_eq!(ok(FieldType::Phone, "06-12345678").as_deref(), Some("+31612345678"));
        assert_eq!(ok(FieldType::Phone, "+31 6 1234 5678").as_deref(), Some("+31612345678"));
        assert_eq!(ok(FieldType::Phone, "0031612345678").as_deref(), Some("+31612345678"));
        assert_eq!(ok(FieldType::Phone, "020 - 123 4567").as_deref(), Some("+31201234567"));
        assert_eq!(ok(FieldType::Phone, "(020) 123 4567").as_deref(), Some("+31201234567"));
        assert_eq!(ok(FieldType::Phone, "+32 2 555 12 12").as_deref(), Some("+3225551212"));
        assert_eq!(ok(FieldType::Phone, "+1 212 555 0123").as_deref(), Some("+12125550123"));
    }

    #[test]
    fn phone_refuses_invalid_numbers() {
        for bad in [
            "12",
            "06 1234",
            "06 123456789012",
            "+31 6",
            "phone",
            "06 12345678 ext 12",
            "tel:+31612345678",
            "+",
            "+999 12345678",
        ] {
            assert_eq!(err(FieldType::Phone, bad), Some(ValueErrorCode::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn iban_is_checked_and_stored_electronic() {
        assert_eq!(ok(FieldType::Iban, "NL91ABNA0417164300").as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(ok(FieldType::Iban, "nl91 abna 0417 1643 00").as_deref(), Some("NL91ABNA0417164300"));
        assert_eq!(ok(FieldType::Iban, "DE89 3704 0044 0532 0130 00").as_deref(), Some("DE89370400440532013000"));
        assert_eq!(ok(FieldType::Iban, "BE68 5390 0754 7034").as_deref(), Some("BE68539007547034"));
        for bad in [
            "NL92ABNA0417164300", // check digits off by one
            "NL91ABNA0417164301", // account digit changed
            "NL91ABNA041716430",  // too short for NL
            "NL91 ABNA 0417 1643 00 0",
            "XX91ABNA0417164300",
            "NL91-ABNA-0417-1643-00",
            "0417164300",
        ] {
            assert_eq!(err(FieldType::Iban, bad), Some(ValueErrorCode::InvalidIban), "{bad}");
        }
    }

    #[test]
    fn postcode_is_dutch_and_normalised() {
        for (raw, want) in [
            ("1234AB", "1234 AB"),
            ("1234 ab", "1234 AB"),
            ("1234  aB", "1234 AB"),
            ("9999 ZZ", "9999 ZZ"),
            ("1000 AA", "1000 AA"),
        ] {
            assert_eq!(ok(FieldType::Postcode, raw).as_deref(), Some(want), "{raw}");
        }
        for bad in [
            "0123 AB",
            "1234 SA",
            "1234sd",
            "1234 ss",
            "123 AB",
            "12345 AB",
            "1234 A",
            "1234 ABC",
            "1234-AB",
            "AB 1234",
            "1234 A1",
            "１２３４ AB",
            "12 34AB",
            "1234 É",
        ] {
            assert_eq!(err(FieldType::Postcode, bad), Some(ValueErrorCode::InvalidPostcode), "{bad}");
        }
        // SA/SD/SS are refused, their neighbours are not.
        assert!(ok(FieldType::Postcode, "1234 SB").is_some());
        assert!(ok(FieldType::Postcode, "1234 AS").is_some());
    }

    #[test]
    fn house_number_and_po_box_are_positive_integers() {
        assert_eq!(ok(FieldType::HouseNumber, "1").as_deref(), Some("1"));
        assert_eq!(ok(FieldType::HouseNumber, "007").as_deref(), Some("7"));
        assert_eq!(ok(FieldType::HouseNumber, "99999").as_deref(), Some("99999"));
        for bad in ["0", "000", "100000", "12a", "-1", "1 2", "+1", "1.5", "٣"] {
            assert_eq!(err(FieldType::HouseNumber, bad), Some(ValueErrorCode::InvalidHouseNumber), "{bad}");
        }
        assert_eq!(ok(FieldType::PoBox, "123456").as_deref(), Some("123456"));
        assert_eq!(ok(FieldType::PoBox, "0042").as_deref(), Some("42"));
        for bad in ["0", "1234567", "Postbus 12", "12b"] {
            assert_eq!(err(FieldType::PoBox, bad), Some(ValueErrorCode::InvalidPoBox), "{bad}");
        }
    }

    #[test]
    fn house_number_addition_is_short_code() {
        assert_eq!(ok(FieldType::HouseNumberAddition, "a").as_deref(), Some("A"));
        assert_eq!(ok(FieldType::HouseNumberAddition, "bis").as_deref(), Some("BIS"));
        assert_eq!(ok(FieldType::HouseNumberAddition, "2-hg").as_deref(), Some("2-HG"));
        assert_eq!(ok(FieldType::HouseNumberAddition, "123456").as_deref(), Some("123456"));
        for bad in ["1234567", "-", "--", "a b", "ä", "1/2", "A."] {
            assert_eq!(
                err(FieldType::HouseNumberAddition, bad),
                Some(ValueErrorCode::InvalidHouseNumberAddition),
                "{bad}"
            );
        }
    }

    #[test]
    fn country_is_assigned_alpha2() {
        assert_eq!(ok(FieldType::Country, "nl").as_deref(), Some("NL"));
        assert_eq!(ok(FieldType::Country, " Be ").as_deref(), Some("BE"));
        for bad in ["NLD", "N", "XK", "ZZ", "Nederland", "N1", "ＮＬ"] {
            assert_eq!(err(FieldType::Country, bad), Some(ValueErrorCode::InvalidCountry), "{bad}");
        }
    }

    #[test]
    fn customer_number_is_uppercased_code() {
        assert_eq!(ok(FieldType::CustomerNumber, "klant-0042").as_deref(), Some("KLANT-0042"));
        assert_eq!(ok(FieldType::CustomerNumber, "C1").as_deref(), Some("C1"));
        assert_eq!(ok(FieldType::CustomerNumber, &"A".repeat(32)), Some("A".repeat(32)));
        assert_eq!(err(FieldType::CustomerNumber, &"A".repeat(33)), Some(ValueErrorCode::TooLong { max: 32 }));
        for bad in ["C 1", "C_1", "C#1", "---", "klänt"] {
            assert_eq!(err(FieldType::CustomerNumber, bad), Some(ValueErrorCode::InvalidCustomerNumber), "{bad}");
        }
    }

    #[test]
    fn gender_is_one_of_four() {
        assert_eq!(ok(FieldType::Gender, "Female").as_deref(), Some("female"));
        assert_eq!(ok(FieldType::Gender, "MALE").as_deref(), Some("male"));
        assert_eq!(ok(FieldType::Gender, "non-binary").as_deref(), Some("non_binary"));
        assert_eq!(ok(FieldType::Gender, "unspecified").as_deref(), Some("unspecified"));
        for bad in ["f", "m", "x", "vrouw", "other", "nonbinary"] {
            assert_eq!(err(FieldType::Gender, bad), Some(ValueErrorCode::InvalidGender), "{bad}");
        }
    }

    #[test]
    fn bsn_is_refused_in_every_type() {
        for field_type in FieldType::ALL {
            assert_eq!(err(field_type, "111222333"), Some(ValueErrorCode::BsnDetected), "{field_type:?}");
            assert_eq!(err(field_type, "1234.56.782"), Some(ValueErrorCode::BsnDetected), "{field_type:?}");
        }
        assert_eq!(err(FieldType::Text, "Acme 111222333 BV"), Some(ValueErrorCode::BsnDetected));
        assert_eq!(err(FieldType::CustomerNumber, "K-111222333"), Some(ValueErrorCode::BsnDetected));
        // A mobile number whose last nine digits happen to pass the elfproef is a phone number.
        assert_eq!(err(FieldType::Phone, "+31 611222334"), None);
        assert_eq!(err(FieldType::Phone, "611222334"), Some(ValueErrorCode::BsnDetected));
        assert_eq!(err(FieldType::Email, "111222333@example.com"), Some(ValueErrorCode::BsnDetected));
        // Nine digits failing the elfproef are just a number.
        assert_eq!(ok(FieldType::CustomerNumber, "123456789").as_deref(), Some("123456789"));
    }
}
