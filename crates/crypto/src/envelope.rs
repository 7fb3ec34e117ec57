//! Envelope encryption: field values sealed under a per-subject data key (AES-256-GCM), and keys
//! wrapped under a key-encryption key (XChaCha20-Poly1305). Both formats are frozen.
//!
//! Why two ciphers: a key-encryption key wraps an unbounded number of data keys over its life,
//! so wrapping uses 192-bit random nonces that can never collide in practice. A data key seals
//! the few values of one subject, far below AES-GCM's 2^32 random-nonce bound, and AES-GCM is
//! the faster of the two on hardware with AES instructions.
//!
//! Plaintext (values and keys) is encrypted and decrypted in place inside buffers allocated at
//! their final size, so no intermediate copy of it is left behind.

use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use zeroize::Zeroizing;

use crate::primitives::fill_random;
use crate::{CryptoError, KEY_LEN, SecretKey};

/// The first byte of every sealed value and wrapped key. Anything else is rejected.
const FORMAT_V1: u8 = 0x01;
const TAG_LEN: usize = 16;

const GCM_NONCE_LEN: usize = 12;
/// Version byte and nonce in front of a sealed value's ciphertext.
const SEAL_HEADER_LEN: usize = 1 + GCM_NONCE_LEN;
/// The shortest possible sealed value: an empty plaintext.
const SEAL_MIN_LEN: usize = SEAL_HEADER_LEN + TAG_LEN;

const XNONCE_LEN: usize = 24;
const WRAP_HEADER_LEN: usize = 1 + XNONCE_LEN;
/// Length of every wrapped key: version ‖ nonce(24) ‖ ciphertext(32) ‖ tag(16) = 73.
pub(crate) const WRAPPED_LEN: usize = WRAP_HEADER_LEN + KEY_LEN + TAG_LEN;

/// Seals `plaintext` under the data key `dek`, bound to `aad` (build it with [`crate::aad`]).
///
/// Output (frozen): `0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)`, i.e. 29 bytes longer than the
/// plaintext. The nonce is random, which is safe because one data key seals few values.
pub fn seal(dek: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; GCM_NONCE_LEN];
    fill_random(&mut nonce)?;
    seal_with_nonce(dek, &nonce, aad, plaintext)
}

/// Opens a value made by [`seal`]. Every failure (wrong key, wrong associated data, a flipped
/// bit, truncation, an unknown version byte) is [`CryptoError::Integrity`], and nothing of the
/// plaintext is released unless the tag verifies.
pub fn open(dek: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < SEAL_MIN_LEN {
        return Err(CryptoError::Integrity);
    }
    let Some((&[version], rest)) = sealed.split_first_chunk::<1>() else {
        return Err(CryptoError::Integrity);
    };
    if version != FORMAT_V1 {
        return Err(CryptoError::Integrity);
    }
    let Some((nonce, rest)) = rest.split_first_chunk::<GCM_NONCE_LEN>() else {
        return Err(CryptoError::Integrity);
    };
    let Some((ciphertext, tag)) = rest.split_last_chunk::<TAG_LEN>() else {
        return Err(CryptoError::Integrity);
    };
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    plaintext.extend_from_slice(ciphertext);
    gcm_decrypt_in_place(dek.expose(), nonce, aad, &mut plaintext, tag)?;
    Ok(plaintext)
}

/// Wraps `key` under the key-encryption key `kek`, bound to `aad` (see [`crate::aad`]).
///
/// Output (frozen): `0x01 ‖ nonce(24) ‖ ciphertext(32) ‖ tag(16)`, always 73 bytes. The 192-bit
/// random nonce makes any number of wraps under one key-encryption key safe.
pub fn wrap_key(kek: &SecretKey, key: &SecretKey, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; XNONCE_LEN];
    fill_random(&mut nonce)?;
    wrap_key_with_nonce(kek, &nonce, key, aad)
}

/// Unwraps a key made by [`wrap_key`]. Any tampering, wrong associated data or wrong
/// key-encryption key is [`CryptoError::Integrity`].
pub fn unwrap_key(kek: &SecretKey, wrapped: &[u8], aad: &[u8]) -> Result<SecretKey, CryptoError> {
    let Ok(wrapped) = <&[u8; WRAPPED_LEN]>::try_from(wrapped) else {
        return Err(CryptoError::Integrity);
    };
    let (&[version], rest) = wrapped.split_first_chunk::<1>().ok_or(CryptoError::Integrity)?;
    if version != FORMAT_V1 {
        return Err(CryptoError::Integrity);
    }
    let (nonce, rest) = rest.split_first_chunk::<XNONCE_LEN>().ok_or(CryptoError::Integrity)?;
    let (ciphertext, tag) = rest.split_first_chunk::<KEY_LEN>().ok_or(CryptoError::Integrity)?;
    let tag = <&[u8; TAG_LEN]>::try_from(tag).map_err(|_| CryptoError::Integrity)?;

    // Decrypt straight into the new key's heap buffer; on failure it is wiped when dropped.
    let mut key = SecretKey::zeroed();
    key.expose_mut().copy_from_slice(ciphertext);
    xchacha_decrypt_in_place(kek.expose(), nonce, aad, key.expose_mut(), tag)?;
    Ok(key)
}

/// [`seal`] with a caller-chosen nonce: the one implementation of the format, used by `seal`
/// with a random nonce and by the frozen-format tests with a fixed one.
pub(crate) fn seal_with_nonce(
    dek: &SecretKey,
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let total = SEAL_MIN_LEN.checked_add(plaintext.len()).ok_or(CryptoError::Encrypt)?;
    let mut out = Vec::with_capacity(total);
    out.push(FORMAT_V1);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let body = out.get_mut(SEAL_HEADER_LEN..).ok_or(CryptoError::Encrypt)?;
    match gcm_encrypt_in_place(dek.expose(), nonce, aad, body) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(out)
        }
        Err(err) => {
            // The buffer may still hold plaintext.
            zeroize::Zeroize::zeroize(&mut out);
            Err(err)
        }
    }
}

/// [`wrap_key`] with a caller-chosen nonce (see [`seal_with_nonce`]).
pub(crate) fn wrap_key_with_nonce(
    kek: &SecretKey,
    nonce: &[u8; XNONCE_LEN],
    key: &SecretKey,
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(nonce);
    out.extend_from_slice(key.expose());
    let body = out.get_mut(WRAP_HEADER_LEN..).ok_or(CryptoError::Encrypt)?;
    match xchacha_encrypt_in_place(kek.expose(), nonce, aad, body) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(out)
        }
        Err(err) => {
            zeroize::Zeroize::zeroize(&mut out);
            Err(err)
        }
    }
}

/// AES-256-GCM encryption in place; returns the tag. The cipher instance (and its key
/// schedule) lives only for this call and is wiped on drop.
pub(crate) fn gcm_encrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let cipher = Aes256Gcm::new(key.into());
    cipher.encrypt_inout_detached(nonce.into(), aad, buf.into()).map(Into::into).map_err(|_| CryptoError::Encrypt)
}

/// AES-256-GCM decryption in place; `buf` is only trusted when this returns `Ok`.
pub(crate) fn gcm_decrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    let cipher = Aes256Gcm::new(key.into());
    cipher.decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into()).map_err(|_| CryptoError::Integrity)
}

/// XChaCha20-Poly1305 encryption in place; returns the tag.
pub(crate) fn xchacha_encrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher.encrypt_inout_detached(nonce.into(), aad, buf.into()).map(Into::into).map_err(|_| CryptoError::Encrypt)
}

/// XChaCha20-Poly1305 decryption in place; `buf` is only trusted when this returns `Ok`.
pub(crate) fn xchacha_decrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<(), CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher.decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into()).map_err(|_| CryptoError::Integrity)
}
