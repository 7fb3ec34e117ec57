//! Tests of `kluis_crypto::note`: Go `sumdb/note` vectors, a checkpoint known-answer note
//! computed by an independent implementation, tampering, wrong keys, malformed input.
// Test trees are tiny: u64 <-> usize conversions cannot truncate here.
#![allow(clippy::cast_possible_truncation, clippy::type_complexity)]

use kluis_crypto::merkle::Hash;
use kluis_crypto::note::{
    AuditSigningKey, AuditVerifyingKey, Checkpoint, NoteError, key_id, sign_checkpoint, sign_note, verify_checkpoint,
    verify_note,
};
use proptest::prelude::*;

// ---- golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign, TestOpen) ----

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// base64 of `0x01 ‖ seed`, from `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`.
const PETER_SKEY_DATA: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signing_key() -> AuditSigningKey {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.decode(PETER_SKEY_DATA).unwrap();
    assert_eq!(data[0], 0x01);
    AuditSigningKey::from_bytes(data[1..].try_into().unwrap())
}

fn peter() -> AuditVerifyingKey {
    AuditVerifyingKey::from_verifier_string(PETER_VKEY).unwrap().1
}

fn enoch() -> AuditVerifyingKey {
    AuditVerifyingKey::from_verifier_string(ENOCH_VKEY).unwrap().1
}

#[test]
fn go_verifier_keys_round_trip() {
    let (name, key) = AuditVerifyingKey::from_verifier_string(PETER_VKEY).unwrap();
    assert_eq!(name, "PeterNeumann");
    assert_eq!(key.to_verifier_string("PeterNeumann"), PETER_VKEY);
    assert_eq!(key_id("PeterNeumann", &key), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(peter_signing_key().verifying_key(), key);
    let (name, key) = AuditVerifyingKey::from_verifier_string(ENOCH_VKEY).unwrap();
    assert_eq!(name, "EnochRoot");
    assert_eq!(key_id("EnochRoot", &key), [0xaf, 0x0c, 0xfe, 0x78]);
    assert_eq!(AuditVerifyingKey::from_bytes(&key.to_bytes()).unwrap(), key);
}

#[test]
fn go_verifier_key_manglings_are_rejected() {
    // TestNewVerifier: every proper substring and every single-byte increment fails.
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i != 0 || j != b.len() {
                let s = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(AuditVerifyingKey::from_verifier_string(s).is_err(), "{s:?}");
            }
        }
    }
    let mut b = b.to_vec();
    for i in 0..b.len() {
        b[i] += 1;
        let s = std::str::from_utf8(&b).unwrap();
        assert!(AuditVerifyingKey::from_verifier_string(s).is_err(), "{s:?}");
        b[i] -= 1;
    }
    // Wrong-length key and unknown algorithm, each with an adjusted key hash.
    for s in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(AuditVerifyingKey::from_verifier_string(s).is_err(), "{s}");
    }
}

#[test]
fn go_sign_vector_is_reproduced_byte_for_byte() {
    let want = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(sign_note(GO_TEXT, "PeterNeumann", &peter_signing_key()).unwrap(), want);
    // TestSign's bad inputs.
    assert!(matches!(sign_note("abc", "PeterNeumann", &peter_signing_key()), Err(NoteError::Malformed(_))));
    assert!(matches!(sign_note(GO_TEXT, "a+b", &peter_signing_key()), Err(NoteError::Malformed(_))));
    assert!(matches!(sign_note(GO_TEXT, "bad name", &peter_signing_key()), Err(NoteError::Malformed(_))));
}

#[test]
fn go_open_vectors() {
    let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    // One verified, one ignored; and the other way round.
    assert_eq!(verify_note(&both, "PeterNeumann", &peter()), Ok(GO_TEXT));
    assert_eq!(verify_note(&both, "EnochRoot", &enoch()), Ok(GO_TEXT));
    // Our name with another key, or our key under another name: not ours.
    assert_eq!(verify_note(&both, "PeterNeumann", &enoch()), Err(NoteError::UnknownKey));
    assert_eq!(verify_note(&both, "EnochRoot", &peter()), Err(NoteError::UnknownKey));
    // Too many signatures (101) is malformed even if they all verify.
    let many = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(matches!(verify_note(&many, "PeterNeumann", &peter()), Err(NoteError::Malformed(_))));
    let hundred = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(100));
    assert_eq!(verify_note(&hundred, "PeterNeumann", &peter()), Ok(GO_TEXT));
    // Invalid signature by the known key: the whole note is rejected.
    let bad = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(verify_note(&bad, "PeterNeumann", &peter()), Err(NoteError::BadSignature));
    // Duplicated verified and unverified signatures are fine.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    assert_eq!(verify_note(&dup, "PeterNeumann", &peter()), Ok(GO_TEXT));
    // Invalid encoded message syntax.
    let bad_msgs = [
        GO_TEXT.to_owned(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{GO_TEXT}\n{PETER_SIG}"),
        format!(
            "{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ];
    for msg in &bad_msgs {
        assert!(matches!(verify_note(msg, "PeterNeumann", &peter()), Err(NoteError::Malformed(_))), "{msg:?}");
    }
}

// ---- checkpoint known-answer note -------------------------------------------------------
//
// Computed by an independent implementation (Python 3.11, `cryptography` 48.0.0), which also
// reproduces the Go PeterNeumann vector above, so it is checked against Go too:
//
//   import base64, hashlib
//   from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
//   from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
//   def line(name, seed, body):
//       sk = Ed25519PrivateKey.from_private_bytes(seed)
//       pk = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
//       kid = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pk).digest()[:4]
//       sig = sk.sign(body.encode())
//       vkey = name + "+" + kid.hex() + "+" + base64.b64encode(bytes([1]) + pk).decode()
//       return "\u2014 " + name + " " + base64.b64encode(kid + sig).decode() + "\n", vkey
//   root = bytes.fromhex("5dc9da79...4328")   # RFC 6962 vector root of 8 leaves
//   body = "example.com/kluis/audit\n8\n" + base64.b64encode(root).decode() + "\n"
//   line("example.com/kluis/audit", bytes(range(32)), body)
//   line("witness.example/w1", bytes([0x77] * 32), body)

const ORIGIN: &str = "example.com/kluis/audit";
const KAT_ROOT: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const KAT_NOTE: &str = "example.com/kluis/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\
— example.com/kluis/audit ygN528i4PiF/t7V5adVT4eciMEwx49+Ryw/ARPi+CXZcJruhHvURA7Ds+fXvpQm/zA61koKV0EwC7O9QS4tpRZnEWwU=\n";
const KAT_VKEY: &str = "example.com/kluis/audit+ca0379db+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const WITNESS: &str = "witness.example/w1";
const WITNESS_SIG: &str = "— witness.example/w1 pvNxPUHX/BgMBv9ACe759My1EG1hwbmzl3tncbsv/9/MNB673GpuWs4+vrxKJlmSl28mZsVkn6XkIAWV8Kb9QDyKEAY=\n";
const WITNESS_VKEY: &str = "witness.example/w1+a6f3713d+AchTrQ8M0rYZrqks7sT9VqJNZJnVhM55JX5Fz9gTm2Cn";

fn kat_key() -> AuditSigningKey {
    let seed: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
    AuditSigningKey::from_bytes(&seed)
}

fn kat_checkpoint() -> Checkpoint {
    let mut root: Hash = [0; 32];
    hex::decode_to_slice(KAT_ROOT, &mut root).unwrap();
    Checkpoint { origin: ORIGIN.to_owned(), size: 8, root, extensions: vec![] }
}

#[test]
fn checkpoint_known_answer() {
    let key = kat_key();
    assert_eq!(sign_checkpoint(&kat_checkpoint(), ORIGIN, &key).unwrap(), KAT_NOTE);
    assert_eq!(key.verifying_key().to_verifier_string(ORIGIN), KAT_VKEY);
    assert_eq!(verify_checkpoint(KAT_NOTE, ORIGIN, &key.verifying_key()), Ok(kat_checkpoint()));
    let witness = AuditSigningKey::from_bytes(&[0x77; 32]);
    assert_eq!(witness.verifying_key().to_verifier_string(WITNESS), WITNESS_VKEY);
    let cosigned = sign_note(&kat_checkpoint().body(), WITNESS, &witness).unwrap();
    assert_eq!(cosigned, format!("{}\n{WITNESS_SIG}", kat_checkpoint().body()));
}

#[test]
fn c2sp_example_checkpoint_body_parses() {
    // The example of c2sp.org/tlog-checkpoint.
    let body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse_body(body).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.body(), body);
}

/// Every single-bit flip of a note with our signature and a foreign cosignature: in the body,
/// the blank line or our signature line the note is rejected; in the foreign line it either
/// still verifies (the line is still well formed and still not ours) or is `Malformed`.
#[test]
fn every_bit_flip_is_caught_precisely() {
    let note = format!("{KAT_NOTE}{WITNESS_SIG}");
    let key = kat_key().verifying_key();
    assert_eq!(verify_checkpoint(&note, ORIGIN, &key), Ok(kat_checkpoint()));
    let foreign_start = KAT_NOTE.len();
    let (mut still_valid, mut rejected) = (0, 0);
    for i in 0..note.len() {
        for bit in 0..8 {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 1 << bit;
            // A flip that breaks UTF-8 cannot even be passed in as a note.
            let Ok(flipped) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let got = verify_checkpoint(flipped, ORIGIN, &key);
            if i < foreign_start {
                assert!(got.is_err(), "flip at {i} bit {bit} accepted");
                rejected += 1;
            } else {
                match got {
                    Ok(cp) => {
                        assert_eq!(cp, kat_checkpoint());
                        still_valid += 1;
                    }
                    Err(NoteError::Malformed(_)) => rejected += 1,
                    Err(e) => panic!("flip at {i} bit {bit}: unexpected {e:?}"),
                }
            }
        }
    }
    assert!(still_valid > 0 && rejected > 0);
}

#[test]
fn wrong_key_or_name_is_unknown_key() {
    let other = AuditSigningKey::from_bytes(&[9; 32]).verifying_key();
    assert_eq!(verify_checkpoint(KAT_NOTE, ORIGIN, &other), Err(NoteError::UnknownKey));
    assert_eq!(
        verify_checkpoint(KAT_NOTE, "example.com/other", &kat_key().verifying_key()),
        Err(NoteError::UnknownKey)
    );
    // Only a foreign signature.
    let note = format!("{}\n{WITNESS_SIG}", kat_checkpoint().body());
    assert_eq!(verify_checkpoint(&note, ORIGIN, &kat_key().verifying_key()), Err(NoteError::UnknownKey));
}

#[test]
fn signature_by_our_key_over_other_text_is_bad_signature() {
    let key = kat_key();
    let mut cp = kat_checkpoint();
    cp.size = 9;
    let other = sign_checkpoint(&cp, ORIGIN, &key).unwrap();
    let sig_line = &other[other.rfind("\n\n").unwrap() + 2..];
    let spliced = format!("{}\n{sig_line}", kat_checkpoint().body());
    assert_eq!(verify_checkpoint(&spliced, ORIGIN, &key.verifying_key()), Err(NoteError::BadSignature));
}

#[test]
fn garbage_is_malformed() {
    let key = kat_key().verifying_key();
    for garbage in [
        "",
        "\n",
        "\n\n",
        "hello",
        "a\n\n— x\n",
        "a\n\n— x y\n",
        "a\n\n- example.com/kluis/audit AAAAAAA=\n",
        "a\n\n— example.com/kluis/audit AAAA\n",
        "a\n\n— example.com/kluis/audit !!!!\n",
        "a\n\n— example.com/kluis/audit \n",
        "a\r\n\n— example.com/kluis/audit AAAAAAA=\n",
    ] {
        assert!(matches!(verify_checkpoint(garbage, ORIGIN, &key), Err(NoteError::Malformed(_))), "{garbage:?}");
    }
    // A verified note whose text is not a checkpoint.
    let note = sign_note("not\na checkpoint\n", ORIGIN, &kat_key()).unwrap();
    assert!(matches!(verify_checkpoint(&note, ORIGIN, &key), Err(NoteError::Malformed(_))));
}

#[test]
fn checkpoint_body_rules() {
    let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
    let ok = |s: &str| Checkpoint::parse_body(s).is_ok();
    assert!(ok(&format!("o\n0\n{root}\n")));
    assert!(ok(&format!("o\n18446744073709551615\n{root}\n")));
    assert!(ok(&format!("o p+q\n7\n{root}\next one\next two\n")));
    for bad in [
        format!("o\n0\n{root}"),                                           // no final newline
        format!("\n0\n{root}\n"),                                          // empty origin
        format!("o\n00\n{root}\n"),                                        // leading zero
        format!("o\n08\n{root}\n"),                                        // leading zero
        format!("o\n+8\n{root}\n"),                                        // sign
        format!("o\n-1\n{root}\n"),                                        // sign
        format!("o\n 8\n{root}\n"),                                        // space
        format!("o\n\n{root}\n"),                                          // empty size
        format!("o\n18446744073709551616\n{root}\n"),                      // overflow
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n".to_owned(), // non-canonical
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n".to_owned(), // 31 bytes
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n".to_owned(),  // unpadded
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n".to_owned(), // URL alphabet
        format!("o\n8\n{root}\n\n"),                                       // empty extension
        format!("o\n8\n{root}\n\next\n"),                                  // empty extension
        format!("o\t\n8\n{root}\n"),                                       // control character
        "o\n8\n".to_owned(),                                               // no root
        "o\n".to_owned(),                                                  // no size
    ] {
        assert!(matches!(Checkpoint::parse_body(&bad), Err(NoteError::Malformed(_))), "{bad:?}");
    }
}

#[test]
fn sign_checkpoint_refuses_ambiguous_fields() {
    let key = kat_key();
    let mut cp = kat_checkpoint();
    cp.origin = "evil\n999".to_owned();
    assert!(matches!(sign_checkpoint(&cp, ORIGIN, &key), Err(NoteError::Malformed(_))));
    let mut cp = kat_checkpoint();
    cp.extensions = vec![String::new()];
    assert!(matches!(sign_checkpoint(&cp, ORIGIN, &key), Err(NoteError::Malformed(_))));
    let mut cp = kat_checkpoint();
    cp.extensions = vec!["a\nb".to_owned()];
    assert!(sign_checkpoint(&cp, ORIGIN, &key).is_err());
    assert!(matches!(sign_checkpoint(&kat_checkpoint(), "", &key), Err(NoteError::Malformed(_))));
    assert!(matches!(sign_checkpoint(&kat_checkpoint(), "has space", &key), Err(NoteError::Malformed(_))));
}

#[test]
fn signing_key_handling() {
    let key = kat_key();
    let hex = key.to_hex();
    assert_eq!(hex.as_str(), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    let back = AuditSigningKey::from_hex(&format!("{}\n", hex.to_uppercase())).unwrap();
    assert_eq!(back.verifying_key(), key.verifying_key());
    assert!(AuditSigningKey::from_hex("00").is_err());
    assert!(AuditSigningKey::from_hex(&"zz".repeat(32)).is_err());
    let debug = format!("{key:?}");
    assert!(!debug.contains(hex.as_str()), "{debug}");
    let fresh = AuditSigningKey::generate().unwrap();
    assert_ne!(fresh.verifying_key(), key.verifying_key());
}

#[test]
fn unusable_public_keys_are_rejected() {
    // The identity point (small order) and a non-canonical encoding of it (y = p + 1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(AuditVerifyingKey::from_bytes(&identity), Err(NoteError::BadKey));
    let mut non_canonical = [0xff; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    assert_eq!(AuditVerifyingKey::from_bytes(&non_canonical), Err(NoteError::BadKey));
}

proptest! {
    #[test]
    fn sign_verify_round_trip(
        origin in "[^\\x00-\\x1f]{1,40}", size in any::<u64>(), root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[^\\x00-\\x1f]{1,20}", 0..3),
        name in "[a-z0-9./_-]{1,30}", seed in any::<[u8; 32]>(),
    ) {
        let key = AuditSigningKey::from_bytes(&seed);
        let cp = Checkpoint { origin, size, root, extensions };
        let note = sign_checkpoint(&cp, &name, &key).unwrap();
        prop_assert_eq!(verify_checkpoint(&note, &name, &key.verifying_key()), Ok(cp.clone()));
        prop_assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp));
        let vkey = key.verifying_key().to_verifier_string(&name);
        prop_assert_eq!(AuditVerifyingKey::from_verifier_string(&vkey), Ok((name, key.verifying_key())));
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*|[\\x00-\\x7f\\n—+=/ ]*", tail in "[A-Za-z0-9+/=]{0,100}") {
        let key = kat_key().verifying_key();
        for input in [s.clone(), format!("{s}\n\n— {ORIGIN} {tail}\n"), format!("{ORIGIN}\n{s}\n")] {
            prop_assert!(verify_checkpoint(&input, ORIGIN, &key).is_err());
            if let Ok(cp) = Checkpoint::parse_body(&input) {
                prop_assert_eq!(cp.body(), input.clone());
            }
            if let Ok((name, k)) = AuditVerifyingKey::from_verifier_string(&input) {
                prop_assert_eq!(k.to_verifier_string(&name), input.clone());
            }
        }
    }
}
