//! Identifiers as newtypes, so a subject id can never be passed where a token id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id: ordered ids keep B-tree inserts local.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.as_hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::try_parse(s).map(Self).map_err(|_| IdError)
            }
        }
    };
}

uuid_id!(
    /// A data subject: the person the personal data is about.
    SubjectId
);
uuid_id!(
    /// An API token (service or break-glass admin token).
    TokenId
);
uuid_id!(
    /// A personal staff account.
    AccountId
);
uuid_id!(
    /// A data-subject request (Art. 15-22): the reference the requester quotes.
    RequestId
);

/// A string that is not a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id (expected a UUID such as 0190c1f4-8f5b-7cc2-9d2e-2f1a3b4c5d6e)")]
pub struct IdError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = SubjectId::generate();
        let parsed: SubjectId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!("not-a-uuid".parse::<SubjectId>(), Err(IdError));
        assert_eq!("".parse::<TokenId>(), Err(IdError));
    }

    #[test]
    fn generated_ids_are_time_ordered() {
        let a = SubjectId::generate();
        let b = SubjectId::generate();
        assert!(a < b);
    }
}
