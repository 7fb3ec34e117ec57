//! Signed checkpoints of the audit log in the C2SP signed-note format
//! (<https://c2sp.org/signed-note>, <https://c2sp.org/tlog-checkpoint>), byte-compatible with
//! Go's `golang.org/x/mod/sumdb/note`, so external witnesses and tools can check them.
//!
//! ```text
//! example.com/kluis/audit            ┐
//! 4711                               │ the checkpoint body = the note text (signed)
//! 2hbP/1o3Vj1UVMVgXn/I+UM9OFkRpjnL…= │
//! [extension line]*                  ┘
//!                                    ← blank line
//! — example.com/kluis/audit base64(key id ‖ Ed25519 signature over the body)
//! ```
//!
//! * key id = `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4]` ([`key_id`]);
//! * verifier key text = `name+<8 lower-case hex of the key id>+base64(0x01 ‖ public key)`.
//!
//! Verification follows Go's `note.Open`: the whole note must be UTF-8 without ASCII control
//! characters other than newline; the text is separated from the signatures by the *last*
//! blank line; every signature line must be well formed; signatures by other keys (other name
//! or other key id) are ignored; a signature by our key that fails makes the whole note fail;
//! at least one signature by our key must verify; more than 100 signatures is malformed.
//!
//! Deliberately stricter than Go (never looser): the signature is checked with
//! `verify_strict` (rejects small-order `R` and keys), verifier keys that are small-order or
//! non-canonically encoded are rejected (as newer Go releases do), the key-id hex must be
//! lower case (Go emits only lower case), the base64 of *our* signature line and a
//! checkpoint's root must be canonical (Go accepts non-zero unused low bits). Foreign
//! signature lines are decoded exactly as Go does.

use core::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::merkle::Hash;
use crate::primitives::fill_random;

/// Signature type byte of Ed25519 in the signed-note format.
const ALG_ED25519: u8 = 0x01;
/// Start of every signature line: U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Go's `note.Open` rejects notes with more signatures than this.
const MAX_SIGNATURES: usize = 100;

/// Base64 as Go's `base64.StdEncoding` decodes it: padding required, non-zero trailing bits
/// accepted. Used for signature lines and verifier keys, to accept exactly what Go accepts.
const GO_STD_BASE64: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// Why a note, checkpoint or verifier key was rejected. Messages never repeat the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The text does not follow the signed-note / checkpoint / verifier-key syntax.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The note carries no signature line with this key's name and key id.
    #[error("the note has no signature by this key")]
    UnknownKey,
    /// A signature line with this key's name and key id did not verify.
    #[error("the signature by this key does not verify")]
    BadSignature,
    /// The public key is not a usable Ed25519 key (not a point, small order, non-canonical, or
    /// not an Ed25519 key at all).
    #[error("unusable public key")]
    BadKey,
}

/// The Ed25519 key that signs audit-log checkpoints.
///
/// Wiped on drop (the dalek key zeroizes itself; it lives on the heap so moves leave no copy).
/// No `Clone`; `Debug` prints only the public key.
pub struct AuditSigningKey(Box<SigningKey>);

impl AuditSigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        fill_random(&mut seed[..])?;
        Ok(Self::from_bytes(&seed))
    }

    /// The key with this 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        Self(Box::new(SigningKey::from_bytes(seed)))
    }

    /// Lower-case hex of the seed, for a key file. The string wipes itself on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let seed = Zeroizing::new(self.0.to_bytes());
        let mut out = Zeroizing::new(String::with_capacity(64));
        for byte in seed.iter() {
            out.push(char::from(DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Parses 64 hex characters (either case), ignoring surrounding whitespace such as a key
    /// file's final newline. The error never repeats the input.
    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(CryptoError::KeyFormat);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s, &mut seed[..]).map_err(|_| CryptoError::KeyFormat)?;
        Ok(Self::from_bytes(&seed))
    }

    /// The public half.
    pub fn verifying_key(&self) -> AuditVerifyingKey {
        AuditVerifyingKey(self.0.verifying_key())
    }

    fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

impl fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigningKey")
            .field("public", &hex::encode(self.0.verifying_key().as_bytes()))
            .finish_non_exhaustive()
    }
}

/// The Ed25519 public key that verifies audit-log checkpoints.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditVerifyingKey(VerifyingKey);

impl AuditVerifyingKey {
    /// The 32-byte RFC 8032 encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a 32-byte RFC 8032 public key. Rejects encodings that are not a curve point, not
    /// canonical, or of small order ([`NoteError::BadKey`]).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, NoteError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| NoteError::BadKey)?;
        if key.is_weak() || key.to_edwards().compress().to_bytes() != *bytes {
            return Err(NoteError::BadKey);
        }
        Ok(Self(key))
    }

    /// The Go note verifier key text `name+<8 hex key id>+base64(0x01 ‖ public key)`, as
    /// `note.NewEd25519VerifierKey` writes it. `name` should be a valid key name (non-empty,
    /// no Unicode spaces, no `+`); otherwise the text will not parse back.
    pub fn to_verifier_string(&self, name: &str) -> String {
        format!("{name}+{}+{}", hex::encode(key_id(name, self)), STANDARD.encode(self.alg_and_key()))
    }

    /// Parses a Go note verifier key (see [`Self::to_verifier_string`]) into its name and key.
    /// The key id must match the name and key; the algorithm must be Ed25519.
    pub fn from_verifier_string(s: &str) -> Result<(String, Self), NoteError> {
        let (name, rest) = s.split_once('+').ok_or(NoteError::Malformed("verifier key has no '+'"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(NoteError::Malformed("verifier key has no key id"))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed("invalid key name"));
        }
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(NoteError::Malformed("key id is not 8 lower-case hex digits"));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id)
            .map_err(|_| NoteError::Malformed("key id is not 8 lower-case hex digits"))?;
        let raw = GO_STD_BASE64.decode(key_b64).map_err(|_| NoteError::Malformed("verifier key is not base64"))?;
        let Some((&alg, key_bytes)) = raw.split_first() else {
            return Err(NoteError::Malformed("verifier key is empty"));
        };
        if alg != ALG_ED25519 {
            return Err(NoteError::BadKey);
        }
        let key_bytes: &[u8; 32] = key_bytes.try_into().map_err(|_| NoteError::BadKey)?;
        let key = Self::from_bytes(key_bytes)?;
        if key_id(name, &key) != id {
            return Err(NoteError::Malformed("key id does not match name and key"));
        }
        Ok((name.to_owned(), key))
    }

    fn alg_and_key(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = ALG_ED25519;
        out[1..].copy_from_slice(self.0.as_bytes());
        out
    }
}

/// The signed-note key id of an Ed25519 key: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]`.
pub fn key_id(name: &str, key: &AuditVerifyingKey) -> [u8; 4] {
    let digest =
        Sha256::new().chain_update(name.as_bytes()).chain_update([b'\n']).chain_update(key.alg_and_key()).finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A key name as signed-note (and Go's `isValidName`) requires: non-empty, no Unicode white
/// space, no `+`.
fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// A character a signed note may not contain: an ASCII control character other than newline.
fn is_forbidden_char(c: char) -> bool {
    c < ' ' && c != '\n'
}

/// The body of a C2SP tlog checkpoint: the tree head of the log at one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `example.com/kluis/audit`. Non-empty, one line.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 9162 root of the tree of `size` leaves.
    pub root: Hash,
    /// Optional opaque extension lines (non-empty, one line each); normally none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` followed by `ext\n` per extension line.
    ///
    /// This is only a well-formed checkpoint if the fields are (see [`Self::parse_body`]);
    /// [`sign_checkpoint`] checks that before signing.
    pub fn body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        body
    }

    /// Parses a checkpoint body strictly: at least three lines, each ending in a newline, none
    /// empty, no control characters; a non-empty origin; the size in decimal without sign or
    /// leading zeros (`0` for the empty tree); the root as canonical padded standard base64 of
    /// 32 bytes. Anything [`Self::body`] of a parsed checkpoint gives back the input exactly.
    ///
    /// The origin is not otherwise restricted: tlog-checkpoint only *recommends* a schema-less
    /// URL without spaces or `+`, and tells clients not to assume it.
    pub fn parse_body(body: &str) -> Result<Self, NoteError> {
        if body.contains(is_forbidden_char) {
            return Err(NoteError::Malformed("control character in checkpoint"));
        }
        let text = body.strip_suffix('\n').ok_or(NoteError::Malformed("checkpoint does not end with a newline"))?;
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines.next().ok_or(NoteError::Malformed("checkpoint has no size line"))?;
        let root = lines.next().ok_or(NoteError::Malformed("checkpoint has no root line"))?;
        if origin.is_empty() {
            return Err(NoteError::Malformed("checkpoint origin is empty"));
        }
        let size = parse_decimal(size)?;
        let root = parse_root(root)?;
        let extensions = lines
            .map(|line| {
                if line.is_empty() {
                    Err(NoteError::Malformed("empty checkpoint extension line"))
                } else {
                    Ok(line.to_owned())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { origin: origin.to_owned(), size, root, extensions })
    }
}

fn parse_decimal(s: &str) -> Result<u64, NoteError> {
    const BAD: NoteError = NoteError::Malformed("checkpoint size is not canonical decimal");
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(BAD);
    }
    s.parse().map_err(|_| BAD)
}

fn parse_root(s: &str) -> Result<Hash, NoteError> {
    const BAD: NoteError = NoteError::Malformed("checkpoint root is not base64 of 32 bytes");
    // 32 bytes are exactly 44 padded characters; check the length before decoding.
    if s.len() != 44 {
        return Err(BAD);
    }
    let mut root = [0u8; 32];
    match STANDARD.decode_slice(s, &mut root) {
        Ok(32) => Ok(root),
        _ => Err(BAD),
    }
}

/// Signs `cp` as a signed note: its body, a blank line, and the signature line
/// `— <name> base64(key id ‖ Ed25519 signature over the body)`.
///
/// Fails with [`NoteError::Malformed`] if `name` is not a valid key name or `cp` does not
/// render to a well-formed checkpoint (e.g. a newline inside the origin or an extension, an
/// empty extension), rather than sign text that would parse as a different checkpoint.
pub fn sign_checkpoint(cp: &Checkpoint, name: &str, key: &AuditSigningKey) -> Result<String, NoteError> {
    let body = cp.body();
    if Checkpoint::parse_body(&body).as_ref() != Ok(cp) {
        return Err(NoteError::Malformed("checkpoint fields do not form a checkpoint"));
    }
    sign_note(&body, name, key)
}

/// Parses and verifies a signed checkpoint against one key, as Go's `note.Open` with a single
/// known verifier followed by a strict [`Checkpoint::parse_body`].
///
/// Signatures by other keys are ignored; a note without a verifying signature by this key is
/// [`NoteError::UnknownKey`]; a signature by this key that does not verify is
/// [`NoteError::BadSignature`]; anything malformed is [`NoteError::Malformed`]. Never panics.
///
/// The caller must still compare `origin` with the log it expects: by tlog-checkpoint the
/// signing key's name *should* equal the origin, but it is not required.
pub fn verify_checkpoint(note: &str, name: &str, key: &AuditVerifyingKey) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse_body(verify_note(note, name, key)?)
}

/// Signs arbitrary note text (the signed-note layer under [`sign_checkpoint`]). The text must
/// be non-empty, end with a newline and contain no control characters other than newline.
pub fn sign_note(text: &str, name: &str, key: &AuditSigningKey) -> Result<String, NoteError> {
    if !is_valid_key_name(name) {
        return Err(NoteError::Malformed("invalid key name"));
    }
    if !text.ends_with('\n') || text.contains(is_forbidden_char) {
        return Err(NoteError::Malformed("note text must end with a newline, no controls"));
    }
    let mut blob = [0u8; 68];
    blob[..4].copy_from_slice(&key_id(name, &key.verifying_key()));
    blob[4..].copy_from_slice(&key.sign(text.as_bytes()).to_bytes());
    Ok(format!("{text}\n{SIG_PREFIX}{name} {}\n", STANDARD.encode(blob)))
}

/// Verifies a signed note against one key and returns its text (the signed-note layer under
/// [`verify_checkpoint`]), with the rules of Go's `note.Open` (see the module docs).
pub fn verify_note<'a>(note: &'a str, name: &str, key: &AuditVerifyingKey) -> Result<&'a str, NoteError> {
    if note.contains(is_forbidden_char) {
        return Err(NoteError::Malformed("control character in note"));
    }
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed("signature block does not end with a newline"))?;

    let our_id = key_id(name, key);
    let mut verified = false;
    // Like Go, only the first signature by our key is checked; repeats are ignored.
    let mut seen_ours = false;
    for (count, line) in sigs.split('\n').enumerate() {
        let line =
            line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed("signature line does not start with '— '"))?;
        let (sig_name, b64) = line.split_once(' ').ok_or(NoteError::Malformed("signature line has no signature"))?;
        if !is_valid_key_name(sig_name) || b64.is_empty() {
            return Err(NoteError::Malformed("bad signature line"));
        }
        let blob = GO_STD_BASE64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        if count >= MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        if sig_name != name || blob[..4] != our_id || seen_ours {
            continue;
        }
        seen_ours = true;
        // Stricter than Go for our own line: the encoding must be canonical, so that no
        // second spelling of our signature verifies (Go ignores the unused low bits).
        if STANDARD.encode(&blob) != b64 {
            return Err(NoteError::Malformed("non-canonical base64 in signature"));
        }
        let signature = Signature::from_slice(&blob[4..]).map_err(|_| NoteError::BadSignature)?;
        key.0.verify_strict(text.as_bytes(), &signature).map_err(|_| NoteError::BadSignature)?;
        verified = true;
    }
    if verified { Ok(text) } else { Err(NoteError::UnknownKey) }
}
