//! The one error type of this crate. Messages are fixed strings: they never carry key
//! material, plaintext, or the input that was rejected (only a blind-index *name*, which is
//! schema, not data).

/// What went wrong in a cryptographic operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator is unavailable")]
    Rng,
    /// A key had the wrong length or was not 64 hexadecimal characters.
    #[error("a key must be exactly 32 bytes (64 hexadecimal characters)")]
    KeyFormat,
    /// Authentication failed: wrong key, wrong associated data, a truncated or tampered
    /// ciphertext, or an unknown format version. Deliberately not more specific.
    #[error("ciphertext failed authentication (wrong key, wrong context, or corrupted data)")]
    Integrity,
    /// The blind indexer was not configured with an index of this name.
    #[error("unknown blind index {0:?}")]
    UnknownIndex(String),
    /// Encryption itself failed (input beyond the cipher's limits).
    #[error("encryption failed")]
    Encrypt,
}
