//! Staff passwords: Argon2id hashing to PHC strings, verification, a dummy verification for
//! unknown users, and the strength policy (at least 12 characters and a zxcvbn score of 3 or more).
//!
//! Hashing and verifying are deliberately slow, synchronous and CPU-bound (about 19 MiB and tens
//! of milliseconds each in a release build). Never call them on an async executor thread: the
//! server runs them on a bounded blocking pool so a burst of logins cannot starve other requests.

use core::fmt;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::primitives::fill_random;

/// Minimum password length in characters (Unicode scalar values, not bytes).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Minimum zxcvbn score (0–4); 3 means "more than 10^8 guesses", safely unguessable online.
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// Argon2id parameters, the OWASP Password Storage Cheat Sheet's first choice: m = 19 MiB
/// (19 456 KiB), t = 2 passes, p = 1 lane, 32-byte output. Stored hashes carry their own
/// parameters, so raising these later only affects new hashes; see [`PasswordHash::needs_rehash`].
const PARAMS: Params = match Params::new(19 * 1024, 2, 1, Some(32)) {
    Ok(params) => params,
    Err(_) => panic!("valid Argon2 parameters"),
};
/// The PHC prefix every hash made with [`PARAMS`] starts with.
const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
/// Salt length in bytes (the PHC string format recommends 16).
const SALT_LEN: usize = 16;

/// A hash of a random, forgotten password with [`PARAMS`]. Verifying against it costs exactly what
/// verifying a real hash costs, and nothing verifies against it.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$uuOJCYweq23zj+jGv7pf3g$8RetFNrU1ozm+acZKIvjLAcORGssQAXxu7m0fsbNc6A";

/// A password as typed by a user. It wipes itself on drop, cannot be cloned, and its `Debug`
/// prints `Password(<redacted>)`.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password; the string is wiped when the `Password` drops.
    pub fn new(password: String) -> Password {
        Password(Zeroizing::new(password))
    }

    /// The password text, for hashing and strength checks.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(password: String) -> Password {
        Password::new(password)
    }
}

impl From<Zeroizing<String>> for Password {
    fn from(password: Zeroizing<String>) -> Password {
        Password(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An Argon2id password hash as a PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
/// This is what gets stored. `Debug` shows the algorithm and parameters, never salt or hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// A stored string that is not an Argon2id PHC hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an Argon2id password hash in PHC string format")]
pub struct MalformedPasswordHash;

impl PasswordHash {
    /// Parses a stored PHC string; only Argon2id with a salt and a hash is accepted.
    pub fn parse(phc: &str) -> Result<PasswordHash, MalformedPasswordHash> {
        let parsed = argon2::PasswordHash::new(phc).map_err(|_| MalformedPasswordHash)?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT || parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(MalformedPasswordHash);
        }
        Params::try_from(&parsed).map_err(|_| MalformedPasswordHash)?;
        Ok(PasswordHash(phc.to_owned()))
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this hash was made with other parameters than today's. After a successful login
    /// the caller may re-hash the password it just verified and store the new hash.
    pub fn needs_rehash(&self) -> bool {
        !self.0.starts_with(CURRENT_PREFIX)
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `$argon2id$v=19$m=…,t=…,p=…$salt$hash`: keep the first four `$`-fields, drop the rest.
        let public_end = self.0.match_indices('$').nth(3).map_or(0, |(at, _)| at);
        write!(f, "PasswordHash({}$<redacted>)", &self.0[..public_end])
    }
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS)
}

/// Hashes a password with Argon2id ([`PARAMS`]) and a fresh random 128-bit salt.
///
/// CPU- and memory-heavy and synchronous: run it on a blocking pool, not on an async executor.
/// The only failures are the random number generator and passwords over 4 GiB
/// ([`CryptoError::Encrypt`]); callers should cap input size long before that.
pub fn hash_password(password: &Password) -> Result<PasswordHash, CryptoError> {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt)?;
    let phc =
        argon2id().hash_password_with_salt(password.expose().as_bytes(), &salt).map_err(|_| CryptoError::Encrypt)?;
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` matches `hash`. The hash's own parameters are used, and the argon2 crate
/// compares the outputs in constant time.
///
/// As slow as [`hash_password`]; run it on a blocking pool. For an unknown user call
/// [`dummy_verify`] instead, so both cases take the same time and give the same answer.
pub fn verify_password(password: &Password, hash: &PasswordHash) -> bool {
    verify_phc(password, &hash.0)
}

/// Costs what [`verify_password`] costs and always returns `false`. Call it when the user does not
/// exist, so "unknown user" and "wrong password" cannot be told apart by timing or by answer.
pub fn dummy_verify(password: &Password) -> bool {
    // black_box keeps the optimiser from discarding work whose result we ignore.
    core::hint::black_box(verify_phc(password, DUMMY_HASH));
    false
}

fn verify_phc(password: &Password, phc: &str) -> bool {
    let Ok(parsed) = argon2::PasswordHash::new(phc) else {
        return false;
    };
    argon2id().verify_password(password.expose().as_bytes(), &parsed).is_ok()
}

/// Why a new password was refused. Messages describe the problem, never the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than `min` characters.
    #[error("the password is too short: use at least {min} characters")]
    TooShort {
        /// The minimum number of characters.
        min: usize,
    },
    /// Long enough but guessable: zxcvbn `score` (0–4) is below [`MIN_PASSWORD_SCORE`].
    #[error("the password is too easy to guess (strength {score} of 4, at least 3 needed)")]
    TooWeak {
        /// zxcvbn's score, 0 (trivial) to 4 (very strong).
        score: u8,
        /// What is wrong and what to do instead, most important first; never empty.
        advice: Vec<Advice>,
    },
}

/// One piece of advice about a weak password, in English and Dutch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// English text.
    pub en: &'static str,
    /// Dutch text.
    pub nl: &'static str,
}

impl WeakPassword {
    /// The full English message: the reason followed by the advice.
    pub fn message_en(&self) -> String {
        self.message(|a| a.en, self.to_string())
    }

    /// The full Dutch message: the reason followed by the advice.
    pub fn message_nl(&self) -> String {
        let reason = match self {
            WeakPassword::TooShort { min } => format!("het wachtwoord is te kort: gebruik minstens {min} tekens"),
            WeakPassword::TooWeak { score, .. } => {
                format!("het wachtwoord is te makkelijk te raden (sterkte {score} van 4, minstens 3 nodig)")
            }
        };
        self.message(|a| a.nl, reason)
    }

    fn message(&self, text: fn(&Advice) -> &'static str, reason: String) -> String {
        let mut out = reason;
        if let WeakPassword::TooWeak { advice, .. } = self {
            out.push('.');
            for item in advice {
                out.push(' ');
                out.push_str(text(item));
            }
        }
        out
    }
}

/// Words Dutch users build passwords from that zxcvbn's English lists miss. They are added to the
/// caller's user inputs, so "Welkom01!Welkom" is judged like "Welcome01!Welcome".
const DUTCH_PASSWORD_WORDS: &[&str] = &[
    "welkom",
    "wachtwoord",
    "geheim",
    "hallo",
    "doei",
    "liefde",
    "schatje",
    "lieverd",
    "zomer",
    "winter",
    "lente",
    "herfst",
    "voorjaar",
    "najaar",
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
    "januari",
    "februari",
    "maart",
    "mei",
    "juni",
    "juli",
    "augustus",
    "oktober",
    "voetbal",
    "ajax",
    "feyenoord",
    "psv",
    "oranje",
    "nederland",
    "holland",
    "amsterdam",
    "rotterdam",
    "utrecht",
    "kluis",
    "toegang",
    "inloggen",
    "gebruiker",
    "beheerder",
    "medewerker",
    "kantoor",
    "gemeente",
    "wachtwoord01",
    "konijn",
    "poesje",
    "hond",
    "kat",
    "appel",
    "fiets",
    "koffie",
    "bier",
    "gezellig",
    "lekker",
    "mooi",
    "vakantie",
];

/// Checks a new password against the policy: at least [`MIN_PASSWORD_CHARS`] characters and a
/// zxcvbn score of at least [`MIN_PASSWORD_SCORE`]. `user_inputs` are words the password must not
/// lean on (the user's name, email address, the organisation's name); a list of common Dutch
/// password words is always added.
///
/// zxcvbn looks at the first 100 characters only and copies them into a string it does not wipe;
/// that copy is freed when this function returns.
pub fn check_strength(password: &Password, user_inputs: &[&str]) -> Result<(), WeakPassword> {
    let text = password.expose();
    if text.chars().count() < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort { min: MIN_PASSWORD_CHARS });
    }
    let mut inputs: Vec<&str> = Vec::with_capacity(user_inputs.len() * 2 + DUTCH_PASSWORD_WORDS.len());
    for input in user_inputs {
        inputs.push(input);
        // "jan.jansen@example.nl" should also count "jan", "jansen" and "example".
        inputs.extend(input.split(|c: char| !c.is_alphanumeric()).filter(|part| part.chars().count() >= 3));
    }
    inputs.extend_from_slice(DUTCH_PASSWORD_WORDS);

    let entropy = zxcvbn::zxcvbn(text, &inputs);
    let (repeat_discount, has_repeats) = repeated_token_discount(entropy.sequence());
    let score = u8::from(entropy.score()).min(score_from_log10(entropy.guesses_log10() - repeat_discount));
    if score >= MIN_PASSWORD_SCORE {
        return Ok(());
    }
    let mut advice = Vec::new();
    if has_repeats {
        advice.push(warning_advice(zxcvbn::feedback::Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess));
        advice.push(suggestion_advice(zxcvbn::feedback::Suggestion::AvoidRepeatedWordsAndCharacters));
    }
    if let Some(feedback) = entropy.feedback() {
        advice.extend(feedback.warning().map(warning_advice));
        advice.extend(feedback.suggestions().iter().map(|s| suggestion_advice(*s)));
    }
    if advice.is_empty() {
        advice.push(suggestion_advice(zxcvbn::feedback::Suggestion::AddAnotherWordOrTwo));
    }
    Err(WeakPassword::TooWeak { score, advice })
}

/// zxcvbn only sees repeats that touch ("abcabc"); "Welkom01!Welkom" is scored as two independent
/// words. A chunk of three or more characters that occurs again (ignoring case) adds no real
/// strength, so the guesses zxcvbn credited to each later occurrence are taken off again.
/// Returns that discount in log10(guesses) and whether there was any repeat.
fn repeated_token_discount(sequence: &[zxcvbn::matching::Match]) -> (f64, bool) {
    let mut seen: Vec<String> = Vec::new();
    let mut discount = 0.0;
    for chunk in sequence {
        if chunk.token.chars().count() < 3 {
            continue;
        }
        let token = chunk.token.to_lowercase();
        if seen.contains(&token) {
            #[allow(clippy::cast_precision_loss)] // log10 of a guess count; precision is irrelevant
            let guesses = chunk.guesses.unwrap_or(1).max(1) as f64;
            discount += guesses.log10();
        } else {
            seen.push(token);
        }
    }
    (discount, discount > 0.0)
}

/// zxcvbn's score bands: fewer than 10^3, 10^6, 10^8, 10^10 guesses give 0, 1, 2, 3; more gives 4.
fn score_from_log10(guesses_log10: f64) -> u8 {
    match guesses_log10 {
        g if g < 3.0 => 0,
        g if g < 6.0 => 1,
        g if g < 8.0 => 2,
        g if g < 10.0 => 3,
        _ => 4,
    }
}

fn warning_advice(warning: zxcvbn::feedback::Warning) -> Advice {
    use zxcvbn::feedback::Warning as W;
    let (en, nl) = match warning {
        W::StraightRowsOfKeysAreEasyToGuess => {
            ("Straight rows of keys are easy to guess.", "Rechte rijen toetsen zijn makkelijk te raden.")
        }
        W::ShortKeyboardPatternsAreEasyToGuess => {
            ("Short keyboard patterns are easy to guess.", "Korte toetsenbordpatronen zijn makkelijk te raden.")
        }
        W::RepeatsLikeAaaAreEasyToGuess => {
            ("Repeats like \"aaa\" are easy to guess.", "Herhalingen zoals \"aaa\" zijn makkelijk te raden.")
        }
        W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => (
            "Repeats like \"abcabcabc\" are only slightly harder to guess than \"abc\".",
            "Herhalingen zoals \"abcabcabc\" zijn nauwelijks moeilijker te raden dan \"abc\".",
        ),
        W::ThisIsATop10Password => {
            ("This is a top-10 common password.", "Dit is een van de 10 meest gebruikte wachtwoorden.")
        }
        W::ThisIsATop100Password => {
            ("This is a top-100 common password.", "Dit is een van de 100 meest gebruikte wachtwoorden.")
        }
        W::ThisIsACommonPassword => ("This is a very common password.", "Dit is een veelgebruikt wachtwoord."),
        W::ThisIsSimilarToACommonlyUsedPassword => {
            ("This is similar to a commonly used password.", "Dit lijkt op een veelgebruikt wachtwoord.")
        }
        W::SequencesLikeAbcAreEasyToGuess => {
            ("Sequences like abc or 6543 are easy to guess.", "Reeksen zoals abc of 6543 zijn makkelijk te raden.")
        }
        W::RecentYearsAreEasyToGuess => {
            ("Recent years are easy to guess.", "Recente jaartallen zijn makkelijk te raden.")
        }
        W::AWordByItselfIsEasyToGuess => ("A word by itself is easy to guess.", "Een los woord is makkelijk te raden."),
        W::DatesAreOftenEasyToGuess => ("Dates are often easy to guess.", "Datums zijn vaak makkelijk te raden."),
        W::NamesAndSurnamesByThemselvesAreEasyToGuess => (
            "Names and surnames by themselves are easy to guess.",
            "Losse voor- en achternamen zijn makkelijk te raden.",
        ),
        W::CommonNamesAndSurnamesAreEasyToGuess => (
            "Common names and surnames are easy to guess.",
            "Veelvoorkomende voor- en achternamen zijn makkelijk te raden.",
        ),
    };
    Advice { en, nl }
}

fn suggestion_advice(suggestion: zxcvbn::feedback::Suggestion) -> Advice {
    use zxcvbn::feedback::Suggestion as S;
    let (en, nl) = match suggestion {
        S::UseAFewWordsAvoidCommonPhrases => {
            ("Use a few words, avoid common phrases.", "Gebruik een paar woorden en vermijd bekende zinnetjes.")
        }
        S::NoNeedForSymbolsDigitsOrUppercaseLetters => {
            ("No need for symbols, digits, or uppercase letters.", "Symbolen, cijfers of hoofdletters zijn niet nodig.")
        }
        S::AddAnotherWordOrTwo => (
            "Add another word or two. Uncommon words are better.",
            "Voeg nog een of twee woorden toe. Ongebruikelijke woorden zijn beter.",
        ),
        S::CapitalizationDoesntHelpVeryMuch => {
            ("Capitalization doesn't help very much.", "Hoofdletters helpen niet veel.")
        }
        S::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => (
            "All-uppercase is almost as easy to guess as all-lowercase.",
            "Alleen hoofdletters is bijna even makkelijk te raden als alleen kleine letters.",
        ),
        S::ReversedWordsArentMuchHarderToGuess => {
            ("Reversed words aren't much harder to guess.", "Omgekeerde woorden zijn niet veel moeilijker te raden.")
        }
        S::PredictableSubstitutionsDontHelpVeryMuch => (
            "Predictable substitutions like '@' instead of 'a' don't help very much.",
            "Voorspelbare vervangingen zoals '@' in plaats van 'a' helpen niet veel.",
        ),
        S::UseALongerKeyboardPatternWithMoreTurns => (
            "Use a longer keyboard pattern with more turns.",
            "Gebruik een langer toetsenbordpatroon met meer bochten.",
        ),
        S::AvoidRepeatedWordsAndCharacters => {
            ("Avoid repeated words and characters.", "Vermijd herhaalde woorden en tekens.")
        }
        S::AvoidSequences => ("Avoid sequences.", "Vermijd reeksen."),
        S::AvoidRecentYears => ("Avoid recent years.", "Vermijd recente jaartallen."),
        S::AvoidYearsThatAreAssociatedWithYou => {
            ("Avoid years that are associated with you.", "Vermijd jaartallen die met u te maken hebben.")
        }
        S::AvoidDatesAndYearsThatAreAssociatedWithYou => (
            "Avoid dates and years that are associated with you.",
            "Vermijd datums en jaartallen die met u te maken hebben.",
        ),
    };
    Advice { en, nl }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned())
    }

    #[test]
    fn hash_is_argon2id_phc_with_documented_params_and_verifies() {
        let password = pw("Korenbloem-Dijkgraaf-Fietsbel");
        let hash = hash_password(&password).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_str());
        assert!(!hash.needs_rehash());
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&pw("Korenbloem-Dijkgraaf-Fietsbe1"), &hash));
        assert!(!verify_password(&pw(""), &hash));
        // A fresh salt every time.
        assert_ne!(hash, hash_password(&password).unwrap());
        // Round trip through storage.
        let stored = PasswordHash::parse(hash.as_str()).unwrap();
        assert!(verify_password(&password, &stored));
    }

    #[test]
    fn dummy_verify_is_false_and_uses_current_params() {
        assert!(!dummy_verify(&pw("Korenbloem-Dijkgraaf-Fietsbel")));
        assert!(!dummy_verify(&pw("")));
        // If PARAMS change, the dummy must be regenerated or unknown users become faster.
        let dummy = PasswordHash::parse(DUMMY_HASH).unwrap();
        assert!(!dummy.needs_rehash());
    }

    #[test]
    fn parse_rejects_what_is_not_argon2id() {
        for bad in [
            "",
            "plaintext",
            "$argon2i$v=19$m=19456,t=2,p=1$uuOJCYweq23zj+jGv7pf3g$8RetFNrU1ozm+acZKIvjLAcORGssQAXxu7m0fsbNc6A",
            "$argon2id$v=19$m=19456,t=2,p=1$uuOJCYweq23zj+jGv7pf3g",
            "$argon2id$v=19$m=1,t=2,p=1$uuOJCYweq23zj+jGv7pf3g$8RetFNrU1ozm+acZKIvjLAcORGssQAXxu7m0fsbNc6A",
        ] {
            assert_eq!(PasswordHash::parse(bad), Err(MalformedPasswordHash), "{bad}");
        }
        let older = PasswordHash::parse(
            "$argon2id$v=19$m=4096,t=3,p=1$uuOJCYweq23zj+jGv7pf3g$8RetFNrU1ozm+acZKIvjLAcORGssQAXxu7m0fsbNc6A",
        )
        .unwrap();
        assert!(older.needs_rehash());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let password = pw("Korenbloem-Dijkgraaf-Fietsbel");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        assert!(!format!("{password:#?}").contains("Korenbloem"));
        let hash = PasswordHash::parse(DUMMY_HASH).unwrap();
        let shown = format!("{hash:?}");
        assert_eq!(shown, "PasswordHash($argon2id$v=19$m=19456,t=2,p=1$<redacted>)");
        assert!(!shown.contains("uuOJ") && !shown.contains("8Ret"));
    }

    #[test]
    fn short_passwords_are_refused_by_characters_not_bytes() {
        let err = check_strength(&pw("Kort!wachtw"), &[]).unwrap_err();
        assert_eq!(err, WeakPassword::TooShort { min: 12 });
        assert_eq!(err.to_string(), "the password is too short: use at least 12 characters");
        assert_eq!(err.message_nl(), "het wachtwoord is te kort: gebruik minstens 12 tekens");
        // 11 characters but 22 bytes: still too short.
        assert!(matches!(check_strength(&pw("ééééééééééé"), &[]), Err(WeakPassword::TooShort { .. })));
    }

    #[test]
    fn common_and_repeated_passwords_are_too_weak() {
        for weak in ["Welkom01!Welkom", "Welcome01!Welcome", "wachtwoord123", "password1234", "qwertyuiopasdf"] {
            let err = check_strength(&pw(weak), &[]).unwrap_err();
            let WeakPassword::TooWeak { score, advice } = &err else { panic!("{weak}: {err:?}") };
            assert!(*score < 3, "{weak}: {score}");
            assert!(!advice.is_empty());
            for message in [err.to_string(), err.message_en(), err.message_nl(), format!("{err:?}")] {
                assert!(!message.contains(weak), "message echoes the password: {message}");
            }
        }
        let err = check_strength(&pw("Welkom01!Welkom"), &[]).unwrap_err();
        assert!(err.message_en().contains("Avoid repeated words"), "{}", err.message_en());
        assert!(err.message_nl().contains("Vermijd herhaalde woorden"), "{}", err.message_nl());
    }

    #[test]
    fn passwords_built_from_user_inputs_are_too_weak() {
        // zxcvbn alone finds nothing wrong with it; the user inputs are what give it away.
        let password = pw("Jan.Jansen@Example.nl");
        assert_eq!(check_strength(&password, &[]), Ok(()));
        let inputs = ["jan.jansen@example.nl"];
        assert!(matches!(check_strength(&password, &inputs), Err(WeakPassword::TooWeak { .. })));
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in ["Korenbloem-Dijkgraaf-Fietsbel", "correct horse battery staple", "v8#Kq2!mZ7@pL4x"] {
            assert_eq!(check_strength(&pw(strong), &["jan.jansen@example.nl"]), Ok(()), "{strong}");
        }
    }
}
