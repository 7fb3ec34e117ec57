//! Fuzzes the envelope decoders: arbitrary bytes given to `open` and `unwrap_key` must never
//! panic and must never authenticate. Forging a 128-bit tag by chance is not a thing a fuzzer
//! finds, so any success here is a bug in the format checks.
#![no_main]

use kluis_crypto::{CryptoError, SecretKey, aad, open, seal, unwrap_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_bytes([0x6b; 32]);
    let value_aad = aad::value(&[0x11; 16], "email", 1);
    let key_aad = aad::data_key(&[0x11; 16], 1, 1);

    // As given, and with the version byte forced so the fuzzer reaches the cipher quickly.
    let mut versioned = Vec::with_capacity(data.len() + 1);
    versioned.push(0x01);
    versioned.extend_from_slice(data);
    for input in [data, versioned.as_slice()] {
        assert_eq!(
            open(&key, &value_aad, input).err(),
            Some(CryptoError::Integrity)
        );
        assert_eq!(
            unwrap_key(&key, input, &key_aad).err(),
            Some(CryptoError::Integrity)
        );
        // Fuzz-chosen associated data must not help either.
        assert_eq!(open(&key, input, input).err(), Some(CryptoError::Integrity));
    }

    // And the other direction: whatever the fuzzer sends seals and opens back unchanged.
    let sealed = seal(&key, &value_aad, data).expect("sealing never fails for in-memory input");
    let opened = open(&key, &value_aad, &sealed).expect("a fresh sealing opens");
    assert_eq!(opened.as_slice(), data);
});
