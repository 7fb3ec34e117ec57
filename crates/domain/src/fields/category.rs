//! Data categories: dotted keys compatible with the fideslang taxonomy (`user.contact.email`),
//! and the families kluis refuses to hold at all.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted category key. fideslang keys are far shorter; the cap keeps register files
/// and audit records bounded.
pub const MAX_CATEGORY_LEN: usize = 128;

/// Category families kluis never stores, whatever the register says.
///
/// `user.government_id` covers BSN / national identification numbers, passport, identity-card and
/// driver's-licence numbers; a private IT provider has no statutory basis for them (UAVG art. 46,
/// GDPR Art. 87; R-NL-BSN-1) and ID-document data must not be kept (R-NL-ID-3). Dates of birth are
/// not necessary for an IT contract (data minimisation, R-5-3) and are a classic identity-theft
/// ingredient, so the catalogue refuses them too (R-9-1 spirit: nothing sensitive by default).
const FORBIDDEN_FAMILIES: [&str; 2] = ["user.government_id", "user.demographic.date_of_birth"];

/// A dotted data category key, fideslang style (`user.contact.email`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Category(String);

/// Why a string is not a data category key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("a data category must not be empty")]
    Empty,
    #[error("a data category is at most {max} characters long")]
    TooLong { max: usize },
    #[error("a data category has at least two dot-separated segments, such as `user.contact`")]
    TooFewSegments,
    #[error("a data category must not have empty segments (leading, trailing or double dots)")]
    EmptySegment,
    #[error("a data category segment may only hold lowercase letters a-z, digits and `_`")]
    InvalidCharacter,
}

impl Category {
    /// Parses a key: lowercase segments of `[a-z0-9_]+` joined by `.`, at least two segments,
    /// at most 128 characters (`MAX_CATEGORY_LEN`).
    pub fn parse(s: &str) -> Result<Category, CategoryError> {
        if s.is_empty() {
            return Err(CategoryError::Empty);
        }
        if s.len() > MAX_CATEGORY_LEN {
            return Err(CategoryError::TooLong { max: MAX_CATEGORY_LEN });
        }
        let mut segments = 0_usize;
        for segment in s.split('.') {
            if segment.is_empty() {
                return Err(CategoryError::EmptySegment);
            }
            if !segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(CategoryError::InvalidCharacter);
            }
            segments += 1;
        }
        if segments < 2 {
            return Err(CategoryError::TooFewSegments);
        }
        Ok(Category(s.to_owned()))
    }

    /// For the built-in catalogue only: its keys are literals, and a unit test parses every one
    /// of them, so skipping the check here cannot let a malformed key in.
    pub(super) fn builtin(key: &'static str) -> Category {
        Category(key.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this category is `ancestor` itself or lies below it in the taxonomy
    /// (`user.contact.email` is within `user.contact`, `user.contacts` is not).
    pub fn is_within(&self, ancestor: &str) -> bool {
        self.0.strip_prefix(ancestor).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    }

    /// True for the categories kluis refuses to store: national id numbers such as the BSN,
    /// dates of birth, and identity-document numbers (passport, identity card, driver's licence).
    pub fn is_forbidden(&self) -> bool {
        FORBIDDEN_FAMILIES.iter().any(|family| self.is_within(family))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Category {
    type Err = CategoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::parse(s)
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

// Deserialising goes through `parse`, so a register file cannot smuggle in a malformed key.
impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Category::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fideslang_keys() {
        for key in ["user.contact.email", "user.name", "user.financial.bank_account", "a.b0_"] {
            assert_eq!(Category::parse(key).map(|c| c.as_str().to_owned()), Ok(key.to_owned()));
        }
    }

    #[test]
    fn rejects_malformed_keys() {
        assert_eq!(Category::parse(""), Err(CategoryError::Empty));
        assert_eq!(Category::parse("user"), Err(CategoryError::TooFewSegments));
        assert_eq!(Category::parse("user..email"), Err(CategoryError::EmptySegment));
        assert_eq!(Category::parse(".user.email"), Err(CategoryError::EmptySegment));
        assert_eq!(Category::parse("user.email."), Err(CategoryError::EmptySegment));
        assert_eq!(Category::parse("User.email"), Err(CategoryError::InvalidCharacter));
        assert_eq!(Category::parse("user.e-mail"), Err(CategoryError::InvalidCharacter));
        assert_eq!(Category::parse("user. email"), Err(CategoryError::InvalidCharacter));
        let long = format!("user.{}", "a".repeat(MAX_CATEGORY_LEN));
        assert_eq!(Category::parse(&long), Err(CategoryError::TooLong { max: MAX_CATEGORY_LEN }));
        let exact = format!("user.{}", "a".repeat(MAX_CATEGORY_LEN - 5));
        assert!(Category::parse(&exact).is_ok());
    }

    #[test]
    fn forbidden_families_match_whole_segments() {
        let forbidden = [
            "user.government_id",
            "user.government_id.national_identification_number",
            "user.government_id.passport_number",
            "user.government_id.drivers_license_number",
            "user.demographic.date_of_birth",
        ];
        for key in forbidden {
            assert!(Category::parse(key).is_ok_and(|c| c.is_forbidden()), "{key}");
        }
        let allowed = [
            "user.government",
            "user.government_ids",
            "user.demographic",
            "user.demographic.gender",
            "user.demographic.date_of_birthday_wishes",
            "user.contact.email",
            "user.biometric",
        ];
        for key in allowed {
            assert!(Category::parse(key).is_ok_and(|c| !c.is_forbidden()), "{key}");
        }
    }

    #[test]
    fn serde_round_trips_through_parse() {
        let category = Category::parse("user.contact.email").ok();
        let json = serde_json::to_string(&category).ok();
        assert_eq!(json.as_deref(), Some("\"user.contact.email\""));
        let back: Result<Category, _> = serde_json::from_str("\"user.contact.email\"");
        assert_eq!(back.ok(), category);
        let bad: Result<Category, _> = serde_json::from_str("\"User\"");
        assert!(bad.is_err());
    }
}
