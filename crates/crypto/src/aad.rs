//! Associated-data layouts that bind each ciphertext to where it belongs, so a value or a
//! wrapped key copied to another row, field or key version fails to open. All layouts are
//! frozen; integers are big-endian.
//!
//! Every layout starts with an ASCII label that contains no `0x00`, followed by one `0x00`.
//! The first `0x00` therefore marks the end of the label, so no layout of one kind can equal a
//! layout of another kind. After the label, every field has a fixed width except the field name,
//! which carries a length prefix, so within a kind different inputs give different bytes.
//!
//! | function | bytes |
//! |---|---|
//! | [`value`] | `"kluis.value.v1" 0x00 ‖ subject(16) ‖ u16(len field) ‖ field (UTF-8) ‖ u32(key_version)` |
//! | [`data_key`] | `"kluis.data_key.v1" 0x00 ‖ subject(16) ‖ u32(key_version) ‖ u32(kek_version)` |
//! | [`kek`] | `"kluis.kek.v1" 0x00 ‖ u32(kek_version)` |
//! | [`index_key`] | `"kluis.index_key.v1" 0x00` |
//! | [`totp_seed`] | `"kluis.totp_seed.v1" 0x00 ‖ account(16) ‖ u32(kek_version)` |
//! | [`request_key`] | `"kluis.request_key.v1" 0x00 ‖ request(16) ‖ u32(kek_version)` |
//! | [`request_item`] | `"kluis.request_item.v1" 0x00 ‖ request(16) ‖ u16(len item) ‖ item (UTF-8)` |

/// Label of [`value`], including its terminating `0x00`.
const VALUE: &[u8] = b"kluis.value.v1\0";
/// Label of [`data_key`], including its terminating `0x00`.
const DATA_KEY: &[u8] = b"kluis.data_key.v1\0";
/// Label of [`kek`], including its terminating `0x00`.
const KEK: &[u8] = b"kluis.kek.v1\0";
/// Label of [`index_key`], including its terminating `0x00`.
const INDEX_KEY: &[u8] = b"kluis.index_key.v1\0";

/// Label of [`totp_seed`], including its terminating `0x00`.
const TOTP_SEED: &[u8] = b"kluis.totp_seed.v1\0";

/// Label of [`request_key`], including its terminating `0x00`.
const REQUEST_KEY: &[u8] = b"kluis.request_key.v1\0";
/// Label of [`request_item`], including its terminating `0x00`.
const REQUEST_ITEM: &[u8] = b"kluis.request_item.v1\0";

/// Associated data for a data-subject request's own data key wrapped under key-encryption key
/// version `kek_version`: `"kluis.request_key.v1\0" ‖ request ‖ u32be(kek_version)`.
pub fn request_key(request: &[u8; 16], kek_version: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(REQUEST_KEY.len() + 16 + 4);
    out.extend_from_slice(REQUEST_KEY);
    out.extend_from_slice(request);
    out.extend_from_slice(&kek_version.to_be_bytes());
    out
}

/// Associated data for one item of a request sealed under the request's data key (`contact`,
/// `details`, `upload`, `note.<n>`, `export.<id>`):
/// `"kluis.request_item.v1\0" ‖ request ‖ u16be(len(item)) ‖ item`.
///
/// # Panics
/// If `item` is longer than 65535 bytes (item names are built by kluis, never input).
pub fn request_item(request: &[u8; 16], item: &str) -> Vec<u8> {
    let Ok(len) = u16::try_from(item.len()) else {
        panic!("an item name longer than 65535 bytes cannot be bound into associated data");
    };
    let mut out = Vec::with_capacity(REQUEST_ITEM.len() + 16 + 2 + item.len());
    out.extend_from_slice(REQUEST_ITEM);
    out.extend_from_slice(request);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(item.as_bytes());
    out
}

/// Associated data for a staff account's TOTP seed sealed under key-encryption key version
/// `kek_version`: `"kluis.totp_seed.v1\0" ‖ account ‖ u32be(kek_version)`.
pub fn totp_seed(account: &[u8; 16], kek_version: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(TOTP_SEED.len() + 16 + 4);
    out.extend_from_slice(TOTP_SEED);
    out.extend_from_slice(account);
    out.extend_from_slice(&kek_version.to_be_bytes());
    out
}

/// Associated data for a field value sealed under a subject's data key (version `key_version`):
/// `"kluis.value.v1\0" ‖ subject ‖ u16be(len(field)) ‖ field ‖ u32be(key_version)`.
///
/// # Panics
/// If `field` is longer than 65535 bytes. Field names are schema identifiers, validated long
/// before they get here; a name that long is a programming error, not input.
pub fn value(subject: &[u8; 16], field: &str, key_version: u32) -> Vec<u8> {
    let Ok(field_len) = u16::try_from(field.len()) else {
        panic!("a field name longer than 65535 bytes cannot be bound into associated data");
    };
    let mut out = Vec::with_capacity(VALUE.len() + 16 + 2 + field.len() + 4);
    out.extend_from_slice(VALUE);
    out.extend_from_slice(subject);
    out.extend_from_slice(&field_len.to_be_bytes());
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(&key_version.to_be_bytes());
    out
}

/// Associated data for a subject's data key (version `key_version`) wrapped under the
/// key-encryption key version `kek_version`:
/// `"kluis.data_key.v1\0" ‖ subject ‖ u32be(key_version) ‖ u32be(kek_version)`.
#[allow(clippy::similar_names, reason = "the two versions are named as in the key hierarchy")]
pub fn data_key(subject: &[u8; 16], key_version: u32, kek_version: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(DATA_KEY.len() + 16 + 4 + 4);
    out.extend_from_slice(DATA_KEY);
    out.extend_from_slice(subject);
    out.extend_from_slice(&key_version.to_be_bytes());
    out.extend_from_slice(&kek_version.to_be_bytes());
    out
}

/// Associated data for key-encryption key version `kek_version` wrapped under the root key:
/// `"kluis.kek.v1\0" ‖ u32be(kek_version)`.
pub fn kek(kek_version: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(KEK.len() + 4);
    out.extend_from_slice(KEK);
    out.extend_from_slice(&kek_version.to_be_bytes());
    out
}

/// Associated data for the blind-index master key wrapped under the root key:
/// `"kluis.index_key.v1\0"`.
pub fn index_key() -> Vec<u8> {
    INDEX_KEY.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_prefix_free() {
        let labels = [VALUE, DATA_KEY, KEK, INDEX_KEY, TOTP_SEED, REQUEST_KEY, REQUEST_ITEM];
        for label in labels {
            let (last, body) = label.split_last().unwrap();
            assert_eq!(*last, 0, "label must end in 0x00");
            assert!(!body.contains(&0), "label body must not contain 0x00");
            assert!(body.is_ascii());
        }
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!a.starts_with(b) && !b.starts_with(a));
            }
        }
    }

    #[test]
    fn value_layout_byte_by_byte() {
        let subject: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let got = value(&subject, "email", 0x0102_0304);
        let mut want = b"kluis.value.v1\0".to_vec();
        want.extend_from_slice(&subject);
        want.extend_from_slice(&[0x00, 0x05]);
        want.extend_from_slice(b"email");
        want.extend_from_slice(&[0x01, 0x02, 0x03, 0x04]);
        assert_eq!(got, want);
    }

    #[test]
    fn other_layouts_byte_by_byte() {
        let subject = [0xaa; 16];
        let mut want = b"kluis.data_key.v1\0".to_vec();
        want.extend_from_slice(&subject);
        want.extend_from_slice(&[0, 0, 0, 7, 0, 0, 1, 0]);
        assert_eq!(data_key(&subject, 7, 256), want);
        assert_eq!(kek(0x0a0b_0c0d), b"kluis.kek.v1\0\x0a\x0b\x0c\x0d".to_vec());
        assert_eq!(index_key(), b"kluis.index_key.v1\0".to_vec());
        let mut want = b"kluis.totp_seed.v1\0".to_vec();
        want.extend_from_slice(&subject);
        want.extend_from_slice(&[0, 0, 0, 3]);
        assert_eq!(totp_seed(&subject, 3), want);
        let mut want = b"kluis.request_key.v1\0".to_vec();
        want.extend_from_slice(&subject);
        want.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(request_key(&subject, 2), want);
        let mut want = b"kluis.request_item.v1\0".to_vec();
        want.extend_from_slice(&subject);
        want.extend_from_slice(&[0x00, 0x07]);
        want.extend_from_slice(b"contact");
        assert_eq!(request_item(&subject, "contact"), want);
    }

    #[test]
    #[should_panic(expected = "longer than 65535")]
    fn oversized_field_name_panics() {
        let _ = value(&[0; 16], &"x".repeat(65_536), 1);
    }

    #[test]
    fn longest_field_name_fits() {
        let got = value(&[0; 16], &"x".repeat(65_535), 1);
        assert_eq!(got.len(), VALUE.len() + 16 + 2 + 65_535 + 4);
    }
}
