//! Known-answer tests. Published vectors check that the primitives are the ones we think they
//! are, run through the very helpers the crate uses; frozen vectors pin our own formats and
//! derivations, so any accidental change to a stored layout fails here.
//!
//! The frozen vectors were cross-checked against an independent implementation (Python
//! `cryptography` and `hmac`/`hashlib`) when they were committed. Never regenerate them from
//! this crate: a mismatch means stored data would become unreadable.

use crate::envelope::{
    gcm_decrypt_in_place, gcm_encrypt_in_place, seal_with_nonce, wrap_key_with_nonce, xchacha_decrypt_in_place,
    xchacha_encrypt_in_place,
};
use crate::primitives::{hkdf_sha256, hmac_sha256_finish, hmac_sha256_keyed};
use crate::{BlindIndexer, CryptoError, SecretKey, aad, open, sha256, token_hash, unwrap_key};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    h(s).try_into().unwrap()
}

// ---- RFC 4231: HMAC-SHA256 -------------------------------------------------------------

#[test]
fn rfc4231_hmac_sha256_case_1() {
    let keyed = hmac_sha256_keyed(&[0x0b; 20]);
    assert_eq!(
        hmac_sha256_finish(&keyed, b"Hi There"),
        arr("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    );
}

#[test]
fn rfc4231_hmac_sha256_case_2() {
    let keyed = hmac_sha256_keyed(b"Jefe");
    assert_eq!(
        hmac_sha256_finish(&keyed, b"what do ya want for nothing?"),
        arr("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    // The keyed state is reusable: a second message starts from the key, not from the first.
    assert_eq!(
        hmac_sha256_finish(&keyed, b"what do ya want for nothing?"),
        arr("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
}

// ---- RFC 5869: HKDF-SHA256 -------------------------------------------------------------

#[test]
fn rfc5869_hkdf_sha256_case_1() {
    let mut okm = [0u8; 42];
    // Info split in two parts to check that the parts are concatenated.
    hkdf_sha256(&h("000102030405060708090a0b0c"), &[0x0b; 22], &[&h("f0f1f2f3f4"), &h("f5f6f7f8f9")], &mut okm);
    assert_eq!(okm.to_vec(), h("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
}

// ---- FIPS 180-4 / NIST: SHA-256 --------------------------------------------------------

#[test]
fn sha256_abc() {
    assert_eq!(sha256(b"abc"), arr("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

// ---- AES-256-GCM -----------------------------------------------------------------------

struct AeadVector {
    key: &'static str,
    nonce: &'static str,
    aad: &'static str,
    plaintext: &'static str,
    ciphertext: &'static str,
    tag: &'static str,
}

/// GCM specification (McGrew & Viega) test case 16, also in NIST's GCM test set; and a NIST
/// CAVP `gcmEncryptExtIV256.rsp` vector.
const GCM_VECTORS: &[AeadVector] = &[
    AeadVector {
        key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        nonce: "cafebabefacedbaddecaf888",
        aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                    1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                     8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        tag: "76fc6ece0f4e1768cddf8853bb2d551b",
    },
    AeadVector {
        key: "7da3bccaffb3464178ca7c722379836db50ce0bfb47640b9572163865332e486",
        nonce: "c04fd2e701c3dc62b68738b3",
        aad: "fec0311013202e4ffdc4204926ae0ddf",
        plaintext: "fd671cab1ee21f0df6bb610bf94f0e69",
        ciphertext: "6be61b17b7f7d494a7cdf270562f37ba",
        tag: "5e702a38323fe1160b780d17adad3e96",
    },
];

#[test]
fn aes256gcm_known_answers() {
    for v in GCM_VECTORS {
        let key = arr(v.key);
        let nonce = arr(v.nonce);
        let mut buf = h(v.plaintext);
        let tag = gcm_encrypt_in_place(&key, &nonce, &h(v.aad), &mut buf).unwrap();
        assert_eq!(buf, h(v.ciphertext));
        assert_eq!(tag.to_vec(), h(v.tag));

        gcm_decrypt_in_place(&key, &nonce, &h(v.aad), &mut buf, &tag).unwrap();
        assert_eq!(buf, h(v.plaintext));

        // The same vector through the public format: 0x01 ‖ nonce ‖ ct ‖ tag opens.
        let sealed = [&[0x01][..], &nonce, &h(v.ciphertext), &tag].concat();
        let dek = SecretKey::from_bytes(key);
        assert_eq!(*open(&dek, &h(v.aad), &sealed).unwrap(), h(v.plaintext));
        let mut bad_tag = tag;
        bad_tag[0] ^= 1;
        let mut buf = h(v.ciphertext);
        assert_eq!(gcm_decrypt_in_place(&key, &nonce, &h(v.aad), &mut buf, &bad_tag), Err(CryptoError::Integrity));
    }
}

// ---- XChaCha20-Poly1305: draft-irtf-cfrg-xchacha-03 §A.3.1 ----------------------------------

#[test]
fn xchacha20poly1305_draft_a3_vector() {
    let key = arr("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce = arr("404142434445464748494a4b4c4d4e4f5051525354555657");
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip \
                      for the future, sunscreen would be it.";
    let ciphertext = h("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
         731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
         2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
         21f9664c97637da9768812f615c68b13b52e");
    let tag = arr::<16>("c0875924c1c7987947deafd8780acf49");

    let mut buf = plaintext.to_vec();
    assert_eq!(xchacha_encrypt_in_place(&key, &nonce, &aad, &mut buf).unwrap(), tag);
    assert_eq!(buf, ciphertext);
    xchacha_decrypt_in_place(&key, &nonce, &aad, &mut buf, &tag).unwrap();
    assert_eq!(buf, plaintext);

    let mut buf = ciphertext.clone();
    assert_eq!(xchacha_decrypt_in_place(&key, &nonce, &aad[1..], &mut buf, &tag), Err(CryptoError::Integrity));
}

// ---- Frozen vectors of kluis's own formats ---------------------------------------------------

const FROZEN_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const FROZEN_SUBJECT: [u8; 16] =
    [0x01, 0x8f, 0x3a, 0x5c, 0x7b, 0x2d, 0x7e, 0x4f, 0x9a, 0x10, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];

fn frozen_key() -> SecretKey {
    SecretKey::from_hex(FROZEN_KEY).unwrap()
}

#[test]
fn frozen_aad_value() {
    assert_eq!(
        hex::encode(aad::value(&FROZEN_SUBJECT, "email", 3)),
        "6b6c7569732e76616c75652e763100018f3a5c7b2d7e4f9a1022334455667700\
         05656d61696c00000003"
    );
}

#[test]
fn frozen_seal() {
    let nonce = arr("a0a1a2a3a4a5a6a7a8a9aaab");
    let aad = aad::value(&FROZEN_SUBJECT, "email", 3);
    let sealed = seal_with_nonce(&frozen_key(), &nonce, &aad, b"jan@example.nl").unwrap();
    let frozen = h(FROZEN_SEALED);
    assert_eq!(hex::encode(&sealed), FROZEN_SEALED);
    assert_eq!(*open(&frozen_key(), &aad, &frozen).unwrap(), b"jan@example.nl");
}
const FROZEN_SEALED: &str = "01a0a1a2a3a4a5a6a7a8a9aaab8c79126d20b363d21209e2fd69168f979e4330dd1b17f3700edebcf16a3c";

#[test]
fn frozen_wrap() {
    let kek = frozen_key();
    let dek = SecretKey::from_bytes([0x42; 32]);
    let nonce = arr("b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7");
    let aad = aad::data_key(&FROZEN_SUBJECT, 1, 2);
    let wrapped = wrap_key_with_nonce(&kek, &nonce, &dek, &aad).unwrap();
    assert_eq!(wrapped.len(), 73);
    assert_eq!(hex::encode(&wrapped), FROZEN_WRAPPED);
    let unwrapped = unwrap_key(&kek, &h(FROZEN_WRAPPED), &aad).unwrap();
    assert_eq!(unwrapped.expose(), &[0x42; 32]);
}
const FROZEN_WRAPPED: &str = "01b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7\
    2a143b15abb18577a6f4965ae184bce007cf285be4a961b35251f35d813057b5\
    d59f1edb42104ab8782a9a5399192e7c";

#[test]
fn frozen_fingerprint() {
    assert_eq!(
        hex::encode(frozen_key().fingerprint("root")),
        "466c13e99f3e06717aa7c984954a83eebbd8d614dc75e4cb812ed9d04939adc0"
    );
}

#[test]
fn frozen_blind_index_digest() {
    let indexer = BlindIndexer::new(&frozen_key(), &["email"]);
    assert_eq!(
        hex::encode(indexer.digest("email", b"jan@example.nl").unwrap()),
        "a8cf12bc1352444aa2e52073cf89f66de90ebecd7dda23c7cb2610bef2e9ae5f"
    );
}

#[test]
fn frozen_token_hash() {
    assert_eq!(
        hex::encode(token_hash("kluis_test")),
        "e5507e40aeeecb0ddb17271952f2f8f6e003cac23b0a54d9a4dc1566fc3266e4"
    );
}
