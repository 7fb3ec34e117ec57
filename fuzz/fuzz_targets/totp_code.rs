//! Fuzzes TOTP code parsing and verification: any string, time and last-used step must give an
//! answer without panicking, and an accepted code must be the 6-digit code of a step inside the
//! ±1 window that is newer than the last used one.
#![no_main]

use kluis_crypto::totp::{TOTP_STEP_SECONDS, TotpError, TotpSecret, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let secret = TotpSecret::from_slice(b"12345678901234567890").expect("a 160-bit seed");
    let (now, rest) = match data.split_first_chunk::<8>() {
        Some((now, rest)) => (u64::from_le_bytes(*now), rest),
        None => (59, data),
    };
    let (last_used, code) = match rest.split_first() {
        // Half the inputs without a last-used step, the rest with one near `now`.
        Some((&flag, code)) if flag & 1 == 1 => ((now / TOTP_STEP_SECONDS).checked_sub(u64::from(flag >> 6)), code),
        Some((_, code)) => (None, code),
        None => (None, rest),
    };
    let code = String::from_utf8_lossy(code);

    match verify(&secret, &code, now, last_used) {
        Ok(step) => {
            let current = now / TOTP_STEP_SECONDS;
            assert!(step + 1 >= current && step <= current.saturating_add(1), "step outside the window");
            assert!(last_used.is_none_or(|last| step > last), "replayed step accepted");
            let digits: String = code.chars().filter(|&c| c != ' ').collect();
            assert_eq!(digits, *secret.code_at(step * TOTP_STEP_SECONDS), "accepted a code of another step");
        }
        Err(TotpError::Malformed) => {
            let digits = code.chars().filter(|&c| c != ' ').count();
            assert!(digits != 6 || code.chars().any(|c| c != ' ' && !c.is_ascii_digit()) || code.len() > 16);
        }
        Err(TotpError::Invalid | TotpError::Replayed) => {}
    }
});
