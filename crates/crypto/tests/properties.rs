//! Property tests of the public envelope, associated-data and blind-index API: round trips,
//! and that every kind of tampering or misbinding is caught as `Integrity`.

use kluis_crypto::{BlindIndexer, CryptoError, SecretKey, aad, ct_eq, open, seal, unwrap_key, wrap_key};
use proptest::prelude::*;
use proptest::sample::Index;

fn key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_map(SecretKey::from_bytes)
}

fn field() -> impl Strategy<Value = String> {
    "[a-z_.]{0,24}"
}

fn flip(bytes: &mut [u8], at: Index, bit: u8) {
    let i = at.index(bytes.len());
    bytes[i] ^= 1 << bit;
}

proptest! {
    #[test]
    fn seal_open_round_trip(
        dek in key(), aad in prop::collection::vec(any::<u8>(), 0..64),
        plaintext in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let sealed = seal(&dek, &aad, &plaintext).unwrap();
        prop_assert_eq!(sealed.len(), plaintext.len() + 29);
        prop_assert_eq!(sealed[0], 0x01);
        let opened = open(&dek, &aad, &sealed).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn seal_flipped_bit_is_integrity_error(
        dek in key(), plaintext in prop::collection::vec(any::<u8>(), 0..128),
        at in any::<Index>(), bit in 0u8..8,
    ) {
        let aad = aad::value(&[9; 16], "email", 1);
        let mut sealed = seal(&dek, &aad, &plaintext).unwrap();
        flip(&mut sealed, at, bit);
        prop_assert_eq!(open(&dek, &aad, &sealed).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn seal_truncated_or_extended_is_integrity_error(
        dek in key(), plaintext in prop::collection::vec(any::<u8>(), 0..128),
        cut in any::<Index>(), extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let sealed = seal(&dek, b"ctx", &plaintext).unwrap();
        let short = &sealed[..cut.index(sealed.len())];
        prop_assert_eq!(open(&dek, b"ctx", short).unwrap_err(), CryptoError::Integrity);
        let long = [sealed.as_slice(), &extra].concat();
        prop_assert_eq!(open(&dek, b"ctx", &long).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn seal_open_under_other_subject_fails(
        dek in key(), s1 in any::<[u8; 16]>(), s2 in any::<[u8; 16]>(), f in field(), v in any::<u32>(),
    ) {
        prop_assume!(s1 != s2);
        let sealed = seal(&dek, &aad::value(&s1, &f, v), b"value").unwrap();
        prop_assert_eq!(
            open(&dek, &aad::value(&s2, &f, v), &sealed).unwrap_err(),
            CryptoError::Integrity
        );
    }

    #[test]
    fn seal_open_under_other_field_fails(
        dek in key(), s in any::<[u8; 16]>(), f1 in field(), f2 in field(), v in any::<u32>(),
    ) {
        prop_assume!(f1 != f2);
        let sealed = seal(&dek, &aad::value(&s, &f1, v), b"value").unwrap();
        prop_assert_eq!(
            open(&dek, &aad::value(&s, &f2, v), &sealed).unwrap_err(),
            CryptoError::Integrity
        );
    }

    #[test]
    fn seal_open_under_other_key_version_fails(
        dek in key(), s in any::<[u8; 16]>(), f in field(), v1 in any::<u32>(), v2 in any::<u32>(),
    ) {
        prop_assume!(v1 != v2);
        let sealed = seal(&dek, &aad::value(&s, &f, v1), b"value").unwrap();
        prop_assert_eq!(
            open(&dek, &aad::value(&s, &f, v2), &sealed).unwrap_err(),
            CryptoError::Integrity
        );
    }

    #[test]
    fn seal_open_under_other_key_fails(k1 in key(), k2 in key(), plaintext in any::<Vec<u8>>()) {
        prop_assume!(k1.to_hex() != k2.to_hex());
        let sealed = seal(&k1, b"ctx", &plaintext).unwrap();
        prop_assert_eq!(open(&k2, b"ctx", &sealed).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn open_of_arbitrary_bytes_fails(dek in key(), junk in any::<Vec<u8>>()) {
        prop_assert_eq!(open(&dek, b"ctx", &junk).unwrap_err(), CryptoError::Integrity);
        let mut versioned = junk.clone();
        versioned.insert(0, 0x01);
        prop_assert_eq!(open(&dek, b"ctx", &versioned).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn wrap_unwrap_round_trip(kek in key(), dek in key(), s in any::<[u8; 16]>(), kv in any::<u32>(), ekv in any::<u32>()) {
        let aad = aad::data_key(&s, kv, ekv);
        let wrapped = wrap_key(&kek, &dek, &aad).unwrap();
        prop_assert_eq!(wrapped.len(), 73);
        prop_assert_eq!(wrapped[0], 0x01);
        let unwrapped = unwrap_key(&kek, &wrapped, &aad).unwrap();
        prop_assert_eq!(unwrapped.to_hex(), dek.to_hex());
    }

    #[test]
    fn wrap_flipped_bit_is_integrity_error(kek in key(), dek in key(), at in any::<Index>(), bit in 0u8..8) {
        let aad = aad::kek(4);
        let mut wrapped = wrap_key(&kek, &dek, &aad).unwrap();
        flip(&mut wrapped, at, bit);
        prop_assert_eq!(unwrap_key(&kek, &wrapped, &aad).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn wrap_truncated_or_extended_is_integrity_error(kek in key(), dek in key(), cut in any::<Index>(), extra in any::<u8>()) {
        let aad = aad::index_key();
        let mut wrapped = wrap_key(&kek, &dek, &aad).unwrap();
        let short = &wrapped[..cut.index(wrapped.len())];
        prop_assert_eq!(unwrap_key(&kek, short, &aad).unwrap_err(), CryptoError::Integrity);
        wrapped.push(extra);
        prop_assert_eq!(unwrap_key(&kek, &wrapped, &aad).unwrap_err(), CryptoError::Integrity);
    }

    #[test]
    fn unwrap_under_other_context_or_kek_fails(
        k1 in key(), k2 in key(), dek in key(), s in any::<[u8; 16]>(), kv in any::<u32>(), ekv in any::<u32>(),
    ) {
        let aad = aad::data_key(&s, kv, ekv);
        let wrapped = wrap_key(&k1, &dek, &aad).unwrap();
        let mut other_subject = s;
        other_subject[0] ^= 1;
        for other in [
            aad::data_key(&other_subject, kv, ekv),
            aad::data_key(&s, kv.wrapping_add(1), ekv),
            aad::data_key(&s, kv, ekv.wrapping_add(1)),
            aad::kek(ekv),
        ] {
            prop_assert_eq!(unwrap_key(&k1, &wrapped, &other).unwrap_err(), CryptoError::Integrity);
        }
        if k1.to_hex() != k2.to_hex() {
            prop_assert_eq!(unwrap_key(&k2, &wrapped, &aad).unwrap_err(), CryptoError::Integrity);
        }
    }

    #[test]
    fn blind_index_names_separate_digests(
        master in key(), n1 in "[a-z_]{0,16}", n2 in "[a-z_]{0,16}", term in any::<Vec<u8>>(),
    ) {
        prop_assume!(n1 != n2);
        let indexer = BlindIndexer::new(&master, &[&n1, &n2]);
        prop_assert_ne!(indexer.digest(&n1, &term).unwrap(), indexer.digest(&n2, &term).unwrap());
        prop_assert_eq!(
            indexer.digest(&n1, &term).unwrap(),
            BlindIndexer::new(&master, &[&n1]).digest(&n1, &term).unwrap()
        );
    }

    #[test]
    fn blind_index_terms_separate_digests(master in key(), t1 in any::<Vec<u8>>(), t2 in any::<Vec<u8>>()) {
        prop_assume!(t1 != t2);
        let indexer = BlindIndexer::new(&master, &["email"]);
        prop_assert_ne!(indexer.digest("email", &t1).unwrap(), indexer.digest("email", &t2).unwrap());
    }

    #[test]
    fn aad_value_is_injective(
        a in (any::<[u8; 16]>(), field(), any::<u32>()),
        b in (any::<[u8; 16]>(), field(), any::<u32>()),
    ) {
        let same = aad::value(&a.0, &a.1, a.2) == aad::value(&b.0, &b.1, b.2);
        prop_assert_eq!(same, a == b);
    }

    #[test]
    fn aad_value_differs_for_neighbouring_inputs(
        s in any::<[u8; 16]>(), f in field(), v in any::<u32>(),
        which in 0u8..4, at in any::<Index>(), bit in 0u8..8,
    ) {
        // Random pairs almost never collide anyway; near neighbours are the interesting case.
        let (mut s2, mut f2, mut v2) = (s, f.clone(), v);
        match which {
            0 => s2[at.index(16)] ^= 1 << bit,
            1 => f2.push('x'),
            2 => { if f2.pop().is_none() { f2.push('\0'); } }
            _ => v2 ^= 1 << (bit % 32),
        }
        prop_assert_ne!(aad::value(&s, &f, v), aad::value(&s2, &f2, v2));
    }

    #[test]
    fn aad_data_key_and_kek_are_injective(
        a in (any::<[u8; 16]>(), any::<u32>(), any::<u32>()),
        b in (any::<[u8; 16]>(), any::<u32>(), any::<u32>()),
    ) {
        let same = aad::data_key(&a.0, a.1, a.2) == aad::data_key(&b.0, b.1, b.2);
        prop_assert_eq!(same, a == b);
        prop_assert_eq!(aad::kek(a.1) == aad::kek(b.1), a.1 == b.1);
    }

    #[test]
    fn aad_kinds_never_collide(s in any::<[u8; 16]>(), f in field(), x in any::<u32>(), y in any::<u32>()) {
        let layouts = [
            aad::value(&s, &f, x),
            aad::data_key(&s, x, y),
            aad::kek(x),
            aad::index_key(),
        ];
        for (i, a) in layouts.iter().enumerate() {
            for b in &layouts[i + 1..] {
                prop_assert_ne!(a, b);
                // Not even as prefixes: the label decides the kind.
                prop_assert!(!a.starts_with(b) && !b.starts_with(a));
            }
        }
    }

    #[test]
    fn ct_eq_agrees_with_eq(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
        prop_assert_eq!(ct_eq(&a, &b), a == b);
        prop_assert!(ct_eq(&a, &a));
    }
}

/// Every single-bit flip of one fixed sealing and one fixed wrapping is caught, not a sample.
#[test]
fn every_bit_flip_is_caught() {
    let dek = SecretKey::from_bytes([3; 32]);
    let aad = aad::value(&[1; 16], "postcode", 2);
    let sealed = seal(&dek, &aad, b"1234 AB").unwrap();
    for i in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert_eq!(open(&dek, &aad, &bad).unwrap_err(), CryptoError::Integrity, "bit {i}");
    }
    let kek = SecretKey::from_bytes([4; 32]);
    let aad = aad::data_key(&[1; 16], 1, 1);
    let wrapped = wrap_key(&kek, &dek, &aad).unwrap();
    for i in 0..wrapped.len() * 8 {
        let mut bad = wrapped.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert_eq!(unwrap_key(&kek, &bad, &aad).unwrap_err(), CryptoError::Integrity, "bit {i}");
    }
}

#[test]
fn fresh_nonces_make_sealings_differ() {
    let dek = SecretKey::from_bytes([5; 32]);
    assert_ne!(seal(&dek, b"", b"same").unwrap(), seal(&dek, b"", b"same").unwrap());
    let kek = SecretKey::from_bytes([6; 32]);
    assert_ne!(wrap_key(&kek, &dek, b"").unwrap(), wrap_key(&kek, &dek, b"").unwrap());
}

#[test]
fn debug_output_never_shows_key_hex() {
    let key = SecretKey::generate().unwrap();
    let hex = key.to_hex();
    let indexer = BlindIndexer::new(&key, &["email", "bsn"]);
    for shown in [format!("{key:?}"), format!("{key:#?}"), format!("{indexer:?}"), format!("{indexer:#?}")] {
        assert!(!shown.contains(hex.as_str()), "{shown}");
        assert!(!shown.contains(&hex[..16]), "{shown}");
        assert!(!shown.to_lowercase().contains(&hex[..16]), "{shown}");
    }
    assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
}

#[test]
fn error_messages_carry_no_secrets() {
    let key = SecretKey::generate().unwrap();
    let sealed = seal(&key, b"ctx", b"canary-8f2e1").unwrap();
    let err = open(&key, b"other", &sealed).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("canary"));
    assert!(!shown.contains(&key.to_hex()[..16]));
}
