//! Data-subject requests (Art. 12-22): the rights a request exercises, the states it moves
//! through, how the requester was identified, and the entries of its timeline. The legal due
//! dates live in [`crate::deadline`].
//!
//! ```text
//! received ──► verifying ──► in_progress ──► extended ──► completed | partially_completed | refused
//!    │  │           │             │                              (closed; no way out)
//!    │  └───────────┴──► cannot_identify | refused | withdrawn ◄──┘
//!    └──► in_progress (an application vouched for its logged-in customer)
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The right a request exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Art. 15: a copy of the data and the information about its processing.
    Access,
    /// Art. 16.
    Rectification,
    /// Art. 17.
    Erasure,
    /// Art. 18.
    Restriction,
    /// Art. 20: the data the subject provided, machine-readable.
    Portability,
    /// Art. 21: processing for a purpose (based on legitimate interest or direct marketing) stops.
    Objection,
    /// Art. 7(3): consent for a purpose is withdrawn.
    Withdrawal,
}

impl RequestKind {
    pub const ALL: [RequestKind; 7] = [
        RequestKind::Access,
        RequestKind::Rectification,
        RequestKind::Erasure,
        RequestKind::Restriction,
        RequestKind::Portability,
        RequestKind::Objection,
        RequestKind::Withdrawal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Rectification => "rectification",
            RequestKind::Erasure => "erasure",
            RequestKind::Restriction => "restriction",
            RequestKind::Portability => "portability",
            RequestKind::Objection => "objection",
            RequestKind::Withdrawal => "withdrawal",
        }
    }

    /// The GDPR provision, such as `Art. 15` or `Art. 7(3)`.
    pub fn article(self) -> &'static str {
        match self {
            RequestKind::Access => "Art. 15",
            RequestKind::Rectification => "Art. 16",
            RequestKind::Erasure => "Art. 17",
            RequestKind::Restriction => "Art. 18",
            RequestKind::Portability => "Art. 20",
            RequestKind::Objection => "Art. 21",
            RequestKind::Withdrawal => "Art. 7(3)",
        }
    }

    /// Whether the request names a purpose (objection and withdrawal are about one purpose).
    pub fn needs_purpose(self) -> bool {
        matches!(self, RequestKind::Objection | RequestKind::Withdrawal)
    }

    /// Whether fulfilling it produces a download (an export).
    pub fn has_download(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::Portability)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName)
    }
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    /// Waiting for the requester to prove who they are (a mailed code, an ID document).
    Verifying,
    InProgress,
    /// The term was extended (Art. 12(3)); still being worked on.
    Extended,
    Completed,
    /// Carried out in part (e.g. an erasure that had to keep fiscal records); the report says what.
    PartiallyCompleted,
    /// Refused with reasons, the right to complain to the Autoriteit Persoonsgegevens and the
    /// court route (Art. 12(4)).
    Refused,
    /// The requester could not be identified (Art. 11(2), 12(2)).
    CannotIdentify,
    /// The requester withdrew it.
    Withdrawn,
}

impl RequestState {
    pub const ALL: [RequestState; 9] = [
        RequestState::Received,
        RequestState::Verifying,
        RequestState::InProgress,
        RequestState::Extended,
        RequestState::Completed,
        RequestState::PartiallyCompleted,
        RequestState::Refused,
        RequestState::CannotIdentify,
        RequestState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Verifying => "verifying",
            RequestState::InProgress => "in_progress",
            RequestState::Extended => "extended",
            RequestState::Completed => "completed",
            RequestState::PartiallyCompleted => "partially_completed",
            RequestState::Refused => "refused",
            RequestState::CannotIdentify => "cannot_identify",
            RequestState::Withdrawn => "withdrawn",
        }
    }

    /// A closed request has its answer; nothing moves it any more.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestState::Completed
                | RequestState::PartiallyCompleted
                | RequestState::Refused
                | RequestState::CannotIdentify
                | RequestState::Withdrawn
        )
    }

    /// Whether the requester's identity is established (work on the request may start).
    pub fn is_verified(self) -> bool {
        matches!(self, RequestState::InProgress | RequestState::Extended) || self.is_closed()
    }

    /// The transition table (see the module docs).
    pub fn may_become(self, next: RequestState) -> bool {
        use RequestState as S;
        match self {
            S::Received => matches!(next, S::Verifying | S::InProgress | S::CannotIdentify | S::Refused | S::Withdrawn),
            S::Verifying => {
                matches!(next, S::Verifying | S::InProgress | S::CannotIdentify | S::Refused | S::Withdrawn)
            }
            S::InProgress => {
                matches!(next, S::Extended | S::Completed | S::PartiallyCompleted | S::Refused | S::Withdrawn)
            }
            S::Extended => matches!(next, S::Completed | S::PartiallyCompleted | S::Refused | S::Withdrawn),
            S::Completed | S::PartiallyCompleted | S::Refused | S::CannotIdentify | S::Withdrawn => false,
        }
    }

    /// `next` if the table allows it.
    pub fn to(self, next: RequestState) -> Result<RequestState, TransitionError> {
        if self.may_become(next) { Ok(next) } else { Err(TransitionError { from: self, to: next }) }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        RequestState::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName)
    }
}

/// A state change the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot become {to}")]
pub struct TransitionError {
    pub from: RequestState,
    pub to: RequestState,
}

/// How a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The public page `/privacy/request`.
    Portal,
    /// An application, through the API, usually for its logged-in customer.
    Api,
    /// A staff member, on behalf of a caller or a letter.
    Staff,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Portal, Channel::Api, Channel::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::Api => "api",
            Channel::Staff => "staff",
        }
    }
}

impl FromStr for Channel {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Channel::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName)
    }
}

/// How the requester's identity was established: the rungs of the ladder (R-12-7), lightest
/// first. Only the outcome is kept, never the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// A single-use code mailed to the address on file was entered.
    MailedCode,
    /// An authenticated application made the request for its logged-in customer.
    Application,
    /// A staff member checked an ID document (enabled for this request with a justification;
    /// the file was deleted right after the check).
    IdDocument,
}

impl Verification {
    pub const ALL: [Verification; 3] = [Verification::MailedCode, Verification::Application, Verification::IdDocument];

    pub fn as_str(self) -> &'static str {
        match self {
            Verification::MailedCode => "mailed_code",
            Verification::Application => "application",
            Verification::IdDocument => "id_document",
        }
    }
}

impl FromStr for Verification {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Verification::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName)
    }
}

/// What happened to a request: one entry of its timeline. The codes are stable; free text
/// (reasons, justifications) is kept sealed beside the entry, never in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Received,
    /// A verification code was mailed.
    CodeSent,
    /// A wrong code was entered (the attempt counts against the limit).
    CodeRejected,
    Verified,
    /// Staff allowed an ID-document upload, with a justification.
    IdUploadEnabled,
    IdUploaded,
    /// The ID document was checked and deleted; the entry keeps only the outcome.
    IdChecked,
    Extended,
    /// A state change not covered by a more specific entry (refused, cannot identify, withdrawn).
    StateChanged,
    /// The right was carried out (what was done is in the entry's note).
    Fulfilled,
    /// A recipient was told of a rectification or erasure (Art. 19).
    RecipientNotified,
    /// A notice was mailed to the requester.
    MailSent,
    /// Mailing a notice failed (kluis retries are manual: the entry shows it).
    MailFailed,
    /// The export was downloaded.
    Downloaded,
    /// The Art. 18 restriction was lifted after the notice to the subject.
    RestrictionLifted,
    /// The portability export was sent to another controller (Art. 20(2)); the entry names the
    /// host and the outcome, never the path.
    Transmitted,
}

impl TimelineKind {
    pub const ALL: [TimelineKind; 16] = [
        TimelineKind::Received,
        TimelineKind::CodeSent,
        TimelineKind::CodeRejected,
        TimelineKind::Verified,
        TimelineKind::IdUploadEnabled,
        TimelineKind::IdUploaded,
        TimelineKind::IdChecked,
        TimelineKind::Extended,
        TimelineKind::StateChanged,
        TimelineKind::Fulfilled,
        TimelineKind::RecipientNotified,
        TimelineKind::MailSent,
        TimelineKind::MailFailed,
        TimelineKind::Downloaded,
        TimelineKind::RestrictionLifted,
        TimelineKind::Transmitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Received => "received",
            TimelineKind::CodeSent => "code_sent",
            TimelineKind::CodeRejected => "code_rejected",
            TimelineKind::Verified => "verified",
            TimelineKind::IdUploadEnabled => "id_upload_enabled",
            TimelineKind::IdUploaded => "id_uploaded",
            TimelineKind::IdChecked => "id_checked",
            TimelineKind::Extended => "extended",
            TimelineKind::StateChanged => "state_changed",
            TimelineKind::Fulfilled => "fulfilled",
            TimelineKind::RecipientNotified => "recipient_notified",
            TimelineKind::MailSent => "mail_sent",
            TimelineKind::MailFailed => "mail_failed",
            TimelineKind::Downloaded => "downloaded",
            TimelineKind::RestrictionLifted => "restriction_lifted",
            TimelineKind::Transmitted => "transmitted",
        }
    }
}

impl FromStr for TimelineKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        TimelineKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName)
    }
}

/// A name that is not one of the enum's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

/// The verification-code policy: how long a mailed code is valid and how many wrong entries it
/// survives. After the last wrong attempt the code is gone; a new one can be asked for.
pub const CODE_VALID_MINUTES: u32 = 30;
pub const CODE_MAX_ATTEMPTS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>(), Ok(k));
        }
        for s in RequestState::ALL {
            assert_eq!(s.as_str().parse::<RequestState>(), Ok(s));
        }
        for t in TimelineKind::ALL {
            assert_eq!(t.as_str().parse::<TimelineKind>(), Ok(t));
        }
        for v in Verification::ALL {
            assert_eq!(v.as_str().parse::<Verification>(), Ok(v));
        }
        assert!("complaint".parse::<RequestKind>().is_err());
        assert!("Access".parse::<RequestKind>().is_err());
    }

    #[test]
    fn closed_states_have_no_way_out() {
        for from in RequestState::ALL.into_iter().filter(|s| s.is_closed()) {
            for to in RequestState::ALL {
                assert!(from.to(to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_table() {
        use RequestState as S;
        let allowed = [
            (S::Received, S::Verifying),
            (S::Received, S::InProgress),
            (S::Received, S::CannotIdentify),
            (S::Received, S::Refused),
            (S::Received, S::Withdrawn),
            (S::Verifying, S::Verifying),
            (S::Verifying, S::InProgress),
            (S::Verifying, S::CannotIdentify),
            (S::Verifying, S::Refused),
            (S::Verifying, S::Withdrawn),
            (S::InProgress, S::Extended),
            (S::InProgress, S::Completed),
            (S::InProgress, S::PartiallyCompleted),
            (S::InProgress, S::Refused),
            (S::InProgress, S::Withdrawn),
            (S::Extended, S::Completed),
            (S::Extended, S::PartiallyCompleted),
            (S::Extended, S::Refused),
            (S::Extended, S::Withdrawn),
        ];
        for from in RequestState::ALL {
            for to in RequestState::ALL {
                assert_eq!(from.may_become(to), allowed.contains(&(from, to)), "{from} -> {to}");
            }
        }
        // Work on an unverified request cannot complete it; an extension needs a verified one.
        assert!(S::Verifying.to(S::Completed).is_err());
        assert!(S::Received.to(S::Extended).is_err());
        assert!(S::Extended.to(S::Extended).is_err());
    }
}
