//! BSN (burgerservicenummer) detection. A private IT provider has no statutory basis to process
//! BSNs (UAVG art. 46, GDPR Art. 87), so every value is screened before it is stored
//! (R-NL-BSN-1 for identifier fields, R-NL-BSN-2 for free text).

/// Elfproef weights: 9 down to 2 for the first eight digits, -1 for the last.
const WEIGHTS: [i32; 9] = [9, 8, 7, 6, 5, 4, 3, 2, -1];

/// The BSN 11-check: weights 9..2 and -1 on the last digit, sum divisible by 11, not all zeros.
///
/// Anything but exactly nine ASCII digits is not a BSN and gives `false`.
pub fn elfproef(nine_digits: &str) -> bool {
    elfproef_bytes(nine_digits.as_bytes())
}

fn elfproef_bytes(digits: &[u8]) -> bool {
    if digits.len() != WEIGHTS.len() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // 000000000 passes the arithmetic but is never issued; placeholders like it are common.
    if digits.iter().all(|&d| d == b'0') {
        return false;
    }
    let sum: i32 = digits.iter().zip(WEIGHTS).map(|(&d, weight)| weight * i32::from(d - b'0')).sum();
    sum % 11 == 0
}

/// True when `value` holds something that passes the elfproef: either the whole value, once
/// spaces, dots and dashes are removed (`1112.22.333`, `111 222 333`), or any maximal run of
/// exactly nine ASCII digits inside it (`Acme 111222333 BV`, the old VAT number
/// `NL111222333B01`, R-NL-BSN-3).
///
/// Runs longer than nine digits are not split: a 10-digit bank account or an 11-digit phone
/// number contains many 9-digit windows, one in eleven of which would pass by chance.
pub fn contains_bsn(value: &str) -> bool {
    if is_bsn(value) {
        return true;
    }
    // Splitting UTF-8 bytes is sound: no byte of a multi-byte character is an ASCII digit.
    value.as_bytes().split(|b| !b.is_ascii_digit()).any(elfproef_bytes)
}

/// True when the whole value, once spaces, dots and dashes are removed, is a nine-digit number
/// passing the elfproef. Phone numbers get only this check: `+31 612345678` holds the run
/// `612345678`, and one in eleven mobile numbers would otherwise be refused as a BSN.
pub fn is_bsn(value: &str) -> bool {
    let compact = value.bytes().filter(|b| !matches!(b, b' ' | b'.' | b'-' | b'\t' | b'\n' | b'\r'));
    // Only look at the compact form when it can be exactly nine digits, so a long text costs
    // nothing here.
    let mut digits = [0_u8; 9];
    let mut len = 0_usize;
    let mut fits = true;
    for b in compact {
        if len == digits.len() || !b.is_ascii_digit() {
            fits = false;
            break;
        }
        digits[len] = b;
        len += 1;
    }
    fits && elfproef_bytes(&digits[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_value_check_ignores_runs_inside_longer_values() {
        assert!(is_bsn("111222333"));
        assert!(is_bsn("1112.22.333"));
        assert!(!is_bsn("+31 111222333"));
        assert!(contains_bsn("+31 111222333"));
    }

    #[test]
    fn elfproef_known_answers() {
        assert!(elfproef("111222333"));
        assert!(elfproef("123456782"));
        assert!(!elfproef("123456789"));
        assert!(!elfproef("000000000"));
    }

    #[test]
    fn elfproef_needs_exactly_nine_ascii_digits() {
        assert!(!elfproef("11122233"));
        assert!(!elfproef("1112223330"));
        assert!(!elfproef("11122233a"));
        assert!(!elfproef(" 111222333"));
        assert!(!elfproef("１１１２２２３３３"));
        assert!(!elfproef(""));
    }

    #[test]
    fn contains_bsn_whole_value_with_separators() {
        assert!(contains_bsn("111222333"));
        assert!(contains_bsn("1112.22.333"));
        assert!(contains_bsn("111 222 333"));
        assert!(contains_bsn("111-222-333"));
        assert!(contains_bsn(" 1234.56.782 "));
        assert!(!contains_bsn("1234.56.789"));
    }

    #[test]
    fn contains_bsn_finds_embedded_runs_of_exactly_nine() {
        assert!(contains_bsn("Acme 111222333 BV"));
        assert!(contains_bsn("NL111222333B01"));
        assert!(contains_bsn("klant-123456782"));
        assert!(contains_bsn("é111222333é"));
        // Longer runs are something else (an account or phone number), not a BSN.
        assert!(!contains_bsn("1111222333"));
        assert!(!contains_bsn("Acme 0111222333 BV"));
        assert!(!contains_bsn("Acme 123456789 BV"));
        assert!(!contains_bsn("Acme BV"));
        assert!(!contains_bsn(""));
        // Separators only join digits when the whole value is the number.
        assert!(!contains_bsn("call 111 222 333 now"));
    }
}
