//! API tokens: shown to the user once, stored only as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::primitives::{fill_random, sha256_parts};

/// Prefix of every token, so leaked tokens are recognisable (secret scanners, logs).
const TOKEN_PREFIX: &str = "kluis_";
/// Random bytes per token: 256 bits of entropy.
const TOKEN_BYTES: usize = 32;
/// base64url without padding of 32 bytes.
const TOKEN_BODY_LEN: usize = 43;
/// Domain separation for [`token_hash`]; frozen.
const TOKEN_HASH_LABEL: &[u8] = b"kluis.token.v1\0";
/// Domain separation for [`csrf_token`]; frozen.
const CSRF_LABEL: &[u8] = b"kluis.csrf.v1\0";

/// A new API token: `"kluis_"` ‖ base64url-nopad(32 random bytes), 49 characters. Show it once;
/// store only [`token_hash`] of it.
pub fn random_token() -> Result<Zeroizing<String>, CryptoError> {
    let mut raw = Zeroizing::new([0u8; TOKEN_BYTES]);
    fill_random(&mut raw[..])?;
    let mut body = Zeroizing::new([0u8; TOKEN_BODY_LEN]);
    let written = URL_SAFE_NO_PAD.encode_slice(&raw[..], &mut body[..]).map_err(|_| CryptoError::Encrypt)?;
    let mut token = Zeroizing::new(String::with_capacity(TOKEN_PREFIX.len() + TOKEN_BODY_LEN));
    token.push_str(TOKEN_PREFIX);
    for &byte in body.iter().take(written) {
        // base64url output is ASCII, so each byte is one char.
        token.push(char::from(byte));
    }
    Ok(token)
}

/// A verification code of eight decimal digits, uniformly drawn (rejection sampling, so no digit
/// string is likelier than another). Short enough to type from a mail; guessing is bounded by an
/// attempt limit and a short lifetime, not by the code's length.
pub fn random_code() -> Result<Zeroizing<String>, CryptoError> {
    const RANGE: u64 = 100_000_000;
    // The largest multiple of RANGE that fits; draws at or above it are discarded.
    let limit = u64::MAX - (u64::MAX % RANGE);
    loop {
        let mut raw = Zeroizing::new([0u8; 8]);
        fill_random(&mut raw[..])?;
        let n = u64::from_be_bytes(*raw);
        if n < limit {
            return Ok(Zeroizing::new(format!("{:08}", n % RANGE)));
        }
    }
}

/// SHA-256(`"kluis.token.v1\0"` ‖ token). A fast hash is right here: tokens carry 256 bits of
/// entropy, so there is nothing to brute-force. Compare hashes with [`crate::ct_eq`].
pub fn token_hash(token: &str) -> [u8; 32] {
    sha256_parts(&[TOKEN_HASH_LABEL, token.as_bytes()])
}

/// The CSRF token of a console session: base64url-nopad(SHA-256(`"kluis.csrf.v1\0"` ‖ session
/// secret)). Derived, not stored: whoever holds the session cookie's value can compute it, and a
/// cross-site page that can only make the browser *send* the cookie cannot. Distinct from
/// [`token_hash`] (another label), so the stored session hash never reveals it.
pub fn csrf_token(session_secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256_parts(&[CSRF_LABEL, session_secret.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;

    #[test]
    fn codes_are_eight_digits_and_spread() {
        let codes: Vec<_> = (0..200).map(|_| random_code().unwrap()).collect();
        for code in &codes {
            assert_eq!(code.len(), 8);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
        // Every leading digit 0-9 shows up in 200 draws (fails with probability < 1e-8).
        let leading: std::collections::BTreeSet<char> = codes.iter().filter_map(|c| c.chars().next()).collect();
        assert_eq!(leading.len(), 10, "{leading:?}");
    }

    #[test]
    fn tokens_have_the_documented_shape() {
        let token = random_token().unwrap();
        assert_eq!(token.len(), 49);
        let body = token.strip_prefix("kluis_").unwrap();
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(*token, *random_token().unwrap());
    }

    #[test]
    fn csrf_token_is_domain_separated_and_differs_from_the_stored_hash() {
        let secret = "kluis_session_example";
        let mut joined = b"kluis.csrf.v1\0".to_vec();
        joined.extend_from_slice(secret.as_bytes());
        assert_eq!(csrf_token(secret), URL_SAFE_NO_PAD.encode(sha256(&joined)));
        assert_ne!(URL_SAFE_NO_PAD.decode(csrf_token(secret)).unwrap(), token_hash(secret).to_vec());
        assert_ne!(csrf_token(secret), csrf_token("kluis_session_other"));
    }

    #[test]
    fn token_hash_is_domain_separated_sha256() {
        let token = "kluis_abc";
        let mut joined = b"kluis.token.v1\0".to_vec();
        joined.extend_from_slice(token.as_bytes());
        assert_eq!(token_hash(token), sha256(&joined));
        assert_ne!(token_hash(token), sha256(token.as_bytes()));
        assert_ne!(token_hash(token), token_hash("kluis_abd"));
    }
}
