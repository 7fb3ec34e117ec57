//! One-time recovery codes for staff who lost their TOTP device: shown once, stored only as
//! hashes, each usable once (the caller deletes the hash that matched).
//!
//! A code is 16 characters of the RFC 4648 base32 alphabet in groups of four,
//! `ABCD-EFGH-JKLM-NP23`: 80 bits from the operating system's random number generator.
//!
//! Why a fast hash (SHA-256 with a domain label) and not Argon2: a slow hash exists to protect
//! low-entropy secrets when the hash table leaks. At 80 bits even a leaked table is safe: 2^80
//! SHA-256 guesses are out of reach, and with every code of every user as targets (say 2^17) an
//! attacker still needs 2^63 guesses for a single hit. Online guessing is bounded by the caller's
//! rate limit, and a code only replaces the second factor: the password is still required.
//! Argon2 would cost one slow hash per stored code at every check (ten codes: ten hashes) with no
//! gain in safety.

use zeroize::Zeroizing;

use crate::primitives::{fill_random, sha256_parts};
use crate::{CryptoError, ct_eq};

/// Characters per code (excluding dashes); 5 bits each.
pub const RECOVERY_CODE_CHARS: usize = 16;
/// Characters per dash-separated group in the displayed code.
const GROUP: usize = 4;
/// How many codes an enrolment normally hands out.
pub const DEFAULT_RECOVERY_CODES: usize = 10;
/// RFC 4648 base32 alphabet: no 0, 1, 8 or 9, so O/0, I/1 and B/8 cannot be confused.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Domain separation for the stored hash; frozen.
const RECOVERY_HASH_LABEL: &[u8] = b"kluis.recovery-code.v1\0";
/// Longest input [`check_recovery_code`] will normalise.
const MAX_INPUT: usize = 64;

/// Recovery codes to show once, and their hashes to store, in the same order.
pub type RecoveryCodes = (Vec<Zeroizing<String>>, Vec<[u8; 32]>);

/// `n` fresh recovery codes to show the user once (`ABCD-EFGH-JKLM-NP23`, wiped on drop) and their
/// hashes to store, in the same order.
pub fn generate_recovery_codes(n: usize) -> Result<RecoveryCodes, CryptoError> {
    let mut codes = Vec::with_capacity(n);
    let mut hashes = Vec::with_capacity(n);
    for _ in 0..n {
        let mut random = Zeroizing::new([0u8; RECOVERY_CODE_CHARS]);
        fill_random(&mut random[..])?;
        // Each byte gives 5 uniform bits: 32 divides 256, so `& 31` has no bias.
        let mut plain = Zeroizing::new([0u8; RECOVERY_CODE_CHARS]);
        for (out, byte) in plain.iter_mut().zip(random.iter()) {
            *out = ALPHABET[usize::from(byte & 31)];
        }
        let mut shown = Zeroizing::new(String::with_capacity(RECOVERY_CODE_CHARS + RECOVERY_CODE_CHARS / GROUP));
        for (i, &c) in plain.iter().enumerate() {
            if i > 0 && i % GROUP == 0 {
                shown.push('-');
            }
            shown.push(char::from(c));
        }
        hashes.push(hash_normalised(&plain));
        codes.push(shown);
    }
    Ok((codes, hashes))
}

/// The index in `hashes` of the code the user typed, or `None`. Case, dashes and whitespace are
/// ignored, and the digits 0, 1 and 8 are read as the letters O, I and B. Every hash is compared
/// with [`ct_eq`], without stopping at a match. The caller removes the matched hash (single use)
/// and rate-limits attempts.
pub fn check_recovery_code(input: &str, hashes: &[[u8; 32]]) -> Option<usize> {
    let normalised = normalise(input)?;
    let candidate = hash_normalised(&normalised);
    let mut found = None;
    for (i, stored) in hashes.iter().enumerate() {
        if ct_eq(&candidate, stored) && found.is_none() {
            found = Some(i);
        }
    }
    found
}

fn hash_normalised(code: &[u8; RECOVERY_CODE_CHARS]) -> [u8; 32] {
    sha256_parts(&[RECOVERY_HASH_LABEL, code])
}

/// Upper case, without separators, look-alike digits mapped; `None` unless exactly
/// [`RECOVERY_CODE_CHARS`] alphabet characters remain.
fn normalise(input: &str) -> Option<Zeroizing<[u8; RECOVERY_CODE_CHARS]>> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let mut out = Zeroizing::new([0u8; RECOVERY_CODE_CHARS]);
    let mut count = 0;
    for byte in input.bytes() {
        let c = match byte.to_ascii_uppercase() {
            b'-' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            b'0' => b'O',
            b'1' => b'I',
            b'8' => b'B',
            c if ALPHABET.contains(&c) => c,
            _ => return None,
        };
        *out.get_mut(count)? = c;
        count += 1;
    }
    (count == RECOVERY_CODE_CHARS).then_some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sha256;

    #[test]
    fn codes_have_the_documented_shape_and_are_distinct() {
        let (codes, hashes) = generate_recovery_codes(DEFAULT_RECOVERY_CODES).unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(hashes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{}", code.as_str());
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| ALPHABET.contains(&b))));
        }
        let mut unique: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(generate_recovery_codes(0).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn each_code_matches_its_own_index_and_is_single_use_once_removed() {
        let (codes, mut hashes) = generate_recovery_codes(10).unwrap();
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(check_recovery_code(code, &hashes), Some(i));
        }
        let used = check_recovery_code(&codes[3], &hashes).unwrap();
        hashes.remove(used);
        assert_eq!(check_recovery_code(&codes[3], &hashes), None);
        assert_eq!(check_recovery_code(&codes[4], &hashes), Some(3));
    }

    #[test]
    fn input_is_normalised() {
        let code = "ABCD-EFGH-IJKL-MNOB";
        let hashes = [hash_normalised(b"ABCDEFGHIJKLMNOB")];
        for typed in [code, "abcd-efgh-ijkl-mnob", "ABCDEFGHIJKLMNOB", " abcd efgh\tijkl mnob\n", "abcd-efgh-1jkl-mn08"]
        {
            assert_eq!(check_recovery_code(typed, &hashes), Some(0), "{typed:?}");
        }
        for wrong in [
            "",
            "ABCD-EFGH-IJKL-MNOC",
            "ABCD-EFGH-IJKL-MNO",
            "ABCD-EFGH-IJKL-MNOBA",
            "ABCD_EFGH_IJKL_MNOB",
            "ABCD-EFGH-IJKL-MNO9",
        ] {
            assert_eq!(check_recovery_code(wrong, &hashes), None, "{wrong:?}");
        }
        assert_eq!(check_recovery_code(&"A".repeat(10_000), &hashes), None);
        assert_eq!(check_recovery_code(code, &[]), None);
    }

    #[test]
    fn hash_is_domain_separated_sha256() {
        let mut joined = b"kluis.recovery-code.v1\0".to_vec();
        joined.extend_from_slice(b"ABCDEFGHIJKLMNOP");
        assert_eq!(hash_normalised(b"ABCDEFGHIJKLMNOP"), sha256(&joined));
        assert_ne!(hash_normalised(b"ABCDEFGHIJKLMNOP"), sha256(b"ABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn duplicate_hashes_report_the_first_index() {
        let h = hash_normalised(b"ABCDEFGHIJKLMNOP");
        assert_eq!(check_recovery_code("ABCDEFGHIJKLMNOP", &[[0; 32], h, h]), Some(1));
    }

    proptest! {
        #[test]
        fn check_never_panics(input in ".{0,80}") {
            let _ = check_recovery_code(&input, &[[0u8; 32]]);
        }
    }
}
