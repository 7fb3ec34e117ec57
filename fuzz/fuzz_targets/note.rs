//! Fuzzes the signed-note / checkpoint parsers: arbitrary text given to `verify_checkpoint`,
//! `verify_note`, `Checkpoint::parse_body` and `AuditVerifyingKey::from_verifier_string` must
//! never panic and never verify (forging Ed25519 is not a thing a fuzzer finds); whatever
//! parses must render back to exactly the input.
#![no_main]

use kluis_crypto::note::{
    AuditSigningKey, AuditVerifyingKey, Checkpoint, sign_checkpoint, verify_checkpoint, verify_note,
};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "example.com/kluis/audit";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let signer = AuditSigningKey::from_bytes(&[0x42; 32]);
    let key = signer.verifying_key();

    // As given, and with a signature block by our name appended so the fuzzer reaches the
    // signature check quickly.
    let with_sig = format!("{text}\n\n\u{2014} {NAME} {}\n", text.trim());
    for input in [text, with_sig.as_str()] {
        assert!(verify_checkpoint(input, NAME, &key).is_err());
        assert!(verify_note(input, NAME, &key).is_err());
    }

    if let Ok(cp) = Checkpoint::parse_body(text) {
        assert_eq!(cp.body(), text);
        // Anything that parses can be signed and verifies back unchanged.
        let note = sign_checkpoint(&cp, NAME, &signer).expect("a parsed checkpoint signs");
        assert_eq!(verify_checkpoint(&note, NAME, &key), Ok(cp));
    }

    if let Ok((name, k)) = AuditVerifyingKey::from_verifier_string(text) {
        assert_eq!(k.to_verifier_string(&name), text);
    }
});
