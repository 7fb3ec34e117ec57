//! The kind of a data subject: the data-subject category of Art. 30(1)(c).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Data-subject categories of a Dutch IT provider.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    #[default]
    Customer,
    ContactPerson,
    NewsletterSubscriber,
    WebsiteVisitor,
    Prospect,
    SupplierContact,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 6] = [
        SubjectKind::Customer,
        SubjectKind::ContactPerson,
        SubjectKind::NewsletterSubscriber,
        SubjectKind::WebsiteVisitor,
        SubjectKind::Prospect,
        SubjectKind::SupplierContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Customer => "customer",
            SubjectKind::ContactPerson => "contact_person",
            SubjectKind::NewsletterSubscriber => "newsletter_subscriber",
            SubjectKind::WebsiteVisitor => "website_visitor",
            SubjectKind::Prospect => "prospect",
            SubjectKind::SupplierContact => "supplier_contact",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectKind {
    type Err = UnknownSubjectKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubjectKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownSubjectKind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown subject kind (expected one of customer, contact_person, newsletter_subscriber, website_visitor, prospect, supplier_contact)"
)]
pub struct UnknownSubjectKind;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for kind in SubjectKind::ALL {
            assert_eq!(kind.as_str().parse::<SubjectKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!("employee".parse::<SubjectKind>(), Err(UnknownSubjectKind));
    }
}
