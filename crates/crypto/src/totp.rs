//! TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), the parameters every
//! authenticator app supports: seeds, `otpauth://` enrolment URIs, and verification with a
//! replay guard. Time is passed in; nothing here reads the clock.
//!
//! The seed must be stored encrypted (seal [`TotpSecret::expose`] with the envelope functions) and
//! the step returned by [`verify`] stored next to it, so a code cannot be used twice.

use core::fmt;

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

use crate::primitives::fill_random;
use crate::{CryptoError, ct_eq};

/// Seed length of a new secret: 160 bits, the HMAC-SHA-1 output size RFC 4226 recommends.
pub const TOTP_SEED_LEN: usize = 20;
/// Shortest seed accepted from storage: RFC 4226's 128-bit minimum.
const MIN_SEED_LEN: usize = 16;
/// Digits per code.
pub const TOTP_DIGITS: u32 = 6;
/// Seconds per time step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Longest input [`verify`] looks at; anything longer is malformed without further work.
const MAX_CODE_INPUT: usize = 16;

/// A TOTP seed. Wiped on drop, no `Clone`, and `Debug` prints `TotpSecret(<redacted>)`.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A fresh 160-bit seed from the operating system's random number generator.
    pub fn generate() -> Result<TotpSecret, CryptoError> {
        let mut seed = Zeroizing::new(vec![0u8; TOTP_SEED_LEN]);
        fill_random(&mut seed)?;
        Ok(TotpSecret(seed))
    }

    /// A seed loaded from storage (after decryption); at least 128 bits.
    pub fn from_slice(seed: &[u8]) -> Result<TotpSecret, CryptoError> {
        if seed.len() < MIN_SEED_LEN {
            return Err(CryptoError::KeyFormat);
        }
        Ok(TotpSecret(Zeroizing::new(seed.to_vec())))
    }

    /// The raw seed, to be sealed for storage.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The seed in RFC 4648 base32 without padding (upper case), as authenticator apps expect it
    /// for manual entry. 32 characters for a 160-bit seed.
    pub fn to_base32(&self) -> Zeroizing<String> {
        let mut buffer = Zeroizing::new(vec![0u8; BASE32_NOPAD.encode_len(self.0.len())]);
        BASE32_NOPAD.encode_mut(&self.0, &mut buffer);
        // Base32 output is ASCII.
        Zeroizing::new(buffer.iter().map(|&b| char::from(b)).collect())
    }

    /// A seed from base32 as in an `otpauth://` URI (upper or lower case, no padding): what an
    /// authenticator app holds. `KeyFormat` when it is not base32 or shorter than 128 bits.
    pub fn from_base32(text: &str) -> Result<TotpSecret, CryptoError> {
        let upper = Zeroizing::new(text.trim().to_ascii_uppercase());
        let decoded = Zeroizing::new(BASE32_NOPAD.decode(upper.as_bytes()).map_err(|_| CryptoError::KeyFormat)?);
        TotpSecret::from_slice(&decoded)
    }

    /// The 6-digit code for the time step containing `now_unix`, zero-padded. For tests and for
    /// showing the first code during enrolment checks; users' apps compute their own.
    pub fn code_at(&self, now_unix: u64) -> Zeroizing<String> {
        code_for_step(&self.0, now_unix / TOTP_STEP_SECONDS, TOTP_DIGITS)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Why a TOTP code was refused. The server answers both `Invalid` and `Replayed` the same way to
/// the user; the distinction is for the audit log and rate limiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not 6 digits (spaces are ignored).
    #[error("a verification code is 6 digits")]
    Malformed,
    /// Well-formed but matches no time step in the window.
    #[error("the verification code is wrong or has expired")]
    Invalid,
    /// Matches a time step that was already used (or is older than the last one used).
    #[error("the verification code has already been used")]
    Replayed,
}

/// The `otpauth://` enrolment URI (Google Authenticator Key Uri Format), to show as a QR code:
/// `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
///
/// Issuer and account are percent-encoded (everything except RFC 3986 unreserved characters, so
/// `:` inside either cannot be mistaken for the separator). The URI contains the seed, so it is
/// returned as a string that wipes itself.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> Zeroizing<String> {
    let secret = secret.to_base32();
    let mut uri = Zeroizing::new(String::with_capacity(128 + 3 * (2 * issuer.len() + account.len())));
    uri.push_str("otpauth://totp/");
    percent_encode(&mut uri, issuer);
    uri.push(':');
    percent_encode(&mut uri, account);
    uri.push_str("?secret=");
    uri.push_str(&secret);
    uri.push_str("&issuer=");
    percent_encode(&mut uri, issuer);
    uri.push_str("&algorithm=SHA1&digits=6&period=30");
    uri
}

fn percent_encode(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// Checks a code typed by the user against the steps around `now_unix` (the current step and one
/// on either side, for clock skew) and returns the matched step. Store that step and pass it back
/// as `last_used_step` next time: any step at or before it is refused, so each code works once
/// and an older code cannot be used after a newer one.
///
/// Spaces are ignored ("123 456"); anything else that is not exactly 6 digits is
/// [`TotpError::Malformed`]. All candidate steps are computed and compared with [`ct_eq`]; the
/// outcome does not depend on which step matched until all comparisons are done.
pub fn verify(secret: &TotpSecret, code: &str, now_unix: u64, last_used_step: Option<u64>) -> Result<u64, TotpError> {
    let typed = parse_code(code)?;
    let current = now_unix / TOTP_STEP_SECONDS;
    let mut matched = None;
    for step in [current.checked_sub(1), Some(current), current.checked_add(1)].into_iter().flatten() {
        let expected = code_for_step(secret.expose(), step, TOTP_DIGITS);
        if ct_eq(expected.as_bytes(), &typed[..]) {
            // Ascending order: the latest matching step wins.
            matched = Some(step);
        }
    }
    let step = matched.ok_or(TotpError::Invalid)?;
    match last_used_step {
        Some(last) if step <= last => Err(TotpError::Replayed),
        _ => Ok(step),
    }
}

/// Exactly six ASCII digits after removing spaces.
fn parse_code(code: &str) -> Result<Zeroizing<[u8; TOTP_DIGITS as usize]>, TotpError> {
    if code.len() > MAX_CODE_INPUT {
        return Err(TotpError::Malformed);
    }
    let mut digits = Zeroizing::new([0u8; TOTP_DIGITS as usize]);
    let mut count = 0;
    for byte in code.bytes().filter(|&b| b != b' ') {
        if !byte.is_ascii_digit() || count == digits.len() {
            return Err(TotpError::Malformed);
        }
        digits[count] = byte;
        count += 1;
    }
    if count == digits.len() { Ok(digits) } else { Err(TotpError::Malformed) }
}

/// RFC 4226 HOTP with HMAC-SHA-1: dynamic truncation of HMAC(seed, counter as 8 big-endian bytes),
/// reduced to `digits` decimal digits, zero-padded.
fn code_for_step(seed: &[u8], counter: u64, digits: u32) -> Zeroizing<String> {
    let value = hotp(seed, counter, digits);
    let width = usize::try_from(digits).expect("a handful of digits");
    Zeroizing::new(format!("{value:0width$}"))
}

fn hotp(seed: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(seed).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = Zeroizing::new(<[u8; 20]>::from(mac.finalize().into_bytes()));
    let offset = usize::from(digest[19] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]]) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const RFC_SEED: &[u8; 20] = b"12345678901234567890";

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_slice(RFC_SEED).unwrap()
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        let expected = [755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489];
        for (counter, want) in (0u64..).zip(expected) {
            assert_eq!(hotp(RFC_SEED, counter, 6), want, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let vectors: [(u64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight) in vectors {
            let step = time / TOTP_STEP_SECONDS;
            assert_eq!(code_for_step(RFC_SEED, step, 8).as_str(), eight, "t={time}");
            // 6 digits are the value mod 10^6, i.e. the last six of the eight.
            let six = &eight[2..];
            assert_eq!(secret.code_at(time).as_str(), six, "t={time}");
            assert_eq!(verify(&secret, six, time, None), Ok(step), "t={time}");
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_never_after_a_newer_one() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let code = secret.code_at(now);
        let step = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(step)), Err(TotpError::Replayed));
        assert_eq!(verify(&secret, &code, now + 5, Some(step)), Err(TotpError::Replayed));
        // The next step's code works, after which the older one is refused even inside the window.
        let next = secret.code_at(now + TOTP_STEP_SECONDS);
        let newer = verify(&secret, &next, now + TOTP_STEP_SECONDS, Some(step)).unwrap();
        assert_eq!(newer, step + 1);
        let older = secret.code_at(now);
        assert_eq!(verify(&secret, &older, now + TOTP_STEP_SECONDS, Some(newer)), Err(TotpError::Replayed));
        assert_eq!(verify(&secret, &older, now + TOTP_STEP_SECONDS, Some(step)), Err(TotpError::Replayed));
    }

    #[test]
    fn one_step_of_skew_is_accepted_two_are_not() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let step = now / TOTP_STEP_SECONDS;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code_time = now.checked_add_signed(offset * 30).unwrap();
            let code = secret.code_at(code_time);
            let got = verify(&secret, &code, now, None);
            if accepted {
                assert_eq!(got, Ok(step.checked_add_signed(offset).unwrap()), "offset {offset}");
            } else {
                assert_eq!(got, Err(TotpError::Invalid), "offset {offset}");
            }
        }
        // At the very start of time there is no previous step, and no panic.
        assert_eq!(verify(&secret, &secret.code_at(0), 0, None), Ok(0));
        assert!(verify(&secret, &secret.code_at(u64::MAX), u64::MAX, None).is_ok());
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = rfc_secret();
        let now = 59;
        assert_eq!(verify(&secret, "287 082", now, None), Ok(1), "spaces are ignored");
        for bad in ["", "28708", "2870820", "28708a", "２８７０８２", "287-082", "-28708", "+287082", "94287082", " "]
        {
            assert_eq!(verify(&secret, bad, now, None), Err(TotpError::Malformed), "{bad:?}");
        }
        assert_eq!(verify(&secret, &"1".repeat(10_000), now, None), Err(TotpError::Malformed));
        assert_eq!(verify(&secret, "000000", now, None), Err(TotpError::Invalid));
    }

    #[test]
    fn otpauth_uri_is_exact_and_percent_encoded() {
        let secret = rfc_secret();
        assert_eq!(secret.to_base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(&secret, "Gemeente Voorbeeld", "jan.jansen@example.nl");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Gemeente%20Voorbeeld:jan.jansen%40example.nl\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gemeente%20Voorbeeld&algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_uri(&secret, "A:B&C", "é?");
        assert!(odd.starts_with("otpauth://totp/A%3AB%26C:%C3%A9%3F?secret="), "{}", odd.as_str());
    }

    #[test]
    fn base32_handles_partial_groups() {
        // RFC 4648 §10 test vectors (without padding).
        for (input, want) in [(&b"fooba"[..], "MZXW6YTB"), (b"foobar", "MZXW6YTBOI"), (b"foob", "MZXW6YQ")] {
            let secret = TotpSecret(Zeroizing::new(input.to_vec()));
            assert_eq!(secret.to_base32().as_str(), want);
        }
    }

    #[test]
    fn base32_round_trips_and_refuses_garbage() {
        let secret = rfc_secret();
        let text = secret.to_base32();
        assert_eq!(TotpSecret::from_base32(&text).unwrap().expose(), secret.expose());
        assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap().expose(), secret.expose());
        for bad in ["", "GEZDGNBV", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", "not base32 at all!"] {
            assert_eq!(TotpSecret::from_base32(bad).unwrap_err(), CryptoError::KeyFormat, "{bad}");
        }
    }

    #[test]
    fn seeds_are_random_long_enough_and_redacted() {
        let a = TotpSecret::generate().unwrap();
        let b = TotpSecret::generate().unwrap();
        assert_eq!(a.expose().len(), 20);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.to_base32().len(), 32);
        assert_eq!(TotpSecret::from_slice(&[1u8; 15]).unwrap_err(), CryptoError::KeyFormat);
        let secret = rfc_secret();
        let shown = format!("{secret:?} {secret:#?}");
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        assert!(!shown.contains("GEZDG") && !shown.contains("49, 50") && !shown.contains("1234"));
    }

    proptest! {
        #[test]
        fn verify_never_panics(code in ".{0,40}", now in any::<u64>(), last in any::<Option<u64>>()) {
            let _ = verify(&rfc_secret(), &code, now, last);
        }

        #[test]
        fn six_digits_verify_exactly_when_one_window_code_matches(code in "[0-9]{6}", now in any::<u64>()) {
            let secret = rfc_secret();
            let current = now / TOTP_STEP_SECONDS;
            let window: Vec<u64> = [current.checked_sub(1), Some(current), current.checked_add(1)]
                .into_iter().flatten().filter(|s| code_for_step(RFC_SEED, *s, 6).as_str() == code).collect();
            let got = verify(&secret, &code, now, None);
            prop_assert_eq!(got.ok(), window.last().copied());
        }
    }
}
