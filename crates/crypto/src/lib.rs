//! kluis crypto: the key hierarchy (root key, key-encryption keys, per-subject data keys),
//! envelope encryption with associated data, blind indexes and constant-time comparison.
//!
//! Every byte layout in this crate is frozen: ciphertexts, wrapped keys, associated data,
//! fingerprints and blind-index digests are stored, so a change would make stored data
//! unreadable or unsearchable. The `kat` tests pin each layout to committed hex.
//!
//! | what | algorithm | layout |
//! |---|---|---|
//! | [`wrap_key`] | XChaCha20-Poly1305, random 192-bit nonce | `0x01 ‖ nonce(24) ‖ ct(32) ‖ tag(16)` = 73 bytes |
//! | [`seal`] | AES-256-GCM, random 96-bit nonce | `0x01 ‖ nonce(12) ‖ ct ‖ tag(16)` |
//! | [`aad`] | — | ASCII label ‖ `0x00` ‖ fixed-width or length-prefixed fields |
//! | [`SecretKey::fingerprint`] | HKDF-SHA256, salt `kluis/v1`, info `fingerprint/` ‖ domain | 32 bytes |
//! | [`BlindIndexer`] | HKDF-SHA256 (salt `kluis/v1/blind-index`, info = index name) → HMAC-SHA256 | 32 bytes |
//! | [`token_hash`] | SHA-256(`kluis.token.v1\0` ‖ token) | 32 bytes |
//! | [`password::hash_password`] | Argon2id v19, m=19456 KiB, t=2, p=1, 16-byte salt | PHC string |
//! | [`recovery::generate_recovery_codes`] | SHA-256(`kluis.recovery-code.v1\0` ‖ 16 upper-case base32 chars) | 32 bytes |
//! | [`totp::verify`] | RFC 6238 HMAC-SHA-1, 6 digits, 30 s steps, window ±1 | step number (store it) |

pub mod aad;
mod blind_index;
mod envelope;
mod error;
mod key;
pub mod merkle;
pub mod note;
pub mod password;
mod primitives;
pub mod recovery;
mod token;
pub mod totp;

#[cfg(test)]
mod kat;

pub use blind_index::BlindIndexer;
pub use envelope::{open, seal, unwrap_key, wrap_key};
pub use error::CryptoError;
pub use key::{KEY_LEN, SecretKey};
pub use primitives::{ct_eq, sha256};
pub use token::{csrf_token, random_code, random_token, token_hash};
