//! A purpose of processing (Art. 5(1)(b), Art. 6). Every personal-data call names one; enforcement
//! against roles and categories comes with access control, but the name is parsed and recorded now.

use std::fmt;

use serde::Serialize;

/// A purpose key such as `billing` or `service_delivery`: lowercase ASCII, digits and `_`,
/// starting with a letter, at most 64 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Purpose(String);

impl Purpose {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Purpose, PurposeError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(PurposeError::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return Err(PurposeError::TooLong);
        }
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok || !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(PurposeError::Syntax);
        }
        Ok(Purpose(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Purpose({})", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    #[error("the purpose is empty")]
    Empty,
    #[error("the purpose is longer than 64 characters")]
    TooLong,
    #[error("a purpose is lowercase letters, digits and '_', starting with a letter (e.g. service_delivery)")]
    Syntax,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_keys() {
        assert_eq!(Purpose::parse("billing").unwrap().as_str(), "billing");
        assert_eq!(Purpose::parse(" service_delivery ").unwrap().as_str(), "service_delivery");
    }

    #[test]
    fn refuses_bad_keys() {
        assert_eq!(Purpose::parse(""), Err(PurposeError::Empty));
        assert_eq!(Purpose::parse("Billing"), Err(PurposeError::Syntax));
        assert_eq!(Purpose::parse("1billing"), Err(PurposeError::Syntax));
        assert_eq!(Purpose::parse("bill ing"), Err(PurposeError::Syntax));
        assert_eq!(Purpose::parse(&"a".repeat(65)), Err(PurposeError::TooLong));
    }
}
