//! The data-subject request API of the vault: what comes in, what goes out, what can go wrong.

use kluis_domain::request::{Channel, RequestKind, RequestState, TimelineKind, Verification};
use kluis_domain::{RequestId, SubjectId, Timestamp};
use serde::Serialize;

/// The language of the notices to the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLang {
    Nl,
    En,
    /// Dutch first, then English.
    Both,
}

impl NoticeLang {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeLang::Nl => "nl",
            NoticeLang::En => "en",
            NoticeLang::Both => "both",
        }
    }

    pub fn parse(raw: &str) -> Option<NoticeLang> {
        match raw {
            "nl" => Some(NoticeLang::Nl),
            "en" => Some(NoticeLang::En),
            "both" => Some(NoticeLang::Both),
            _ => None,
        }
    }
}

/// A request as it comes in (portal form, API body, staff entry).
#[derive(Clone)]
pub struct NewRequest {
    pub kind: RequestKind,
    pub channel: Channel,
    pub lang: NoticeLang,
    /// The requester's e-mail address: where the code and the notices go. Required on the portal.
    pub email: Option<String>,
    /// The subject, when the caller knows it (an application for its logged-in customer, staff).
    pub subject: Option<SubjectId>,
    /// Objection and withdrawal: the purpose (a register purpose key).
    pub purpose: Option<String>,
    /// What the requester wrote (what to rectify, why they object), at most 4,000 characters.
    pub details: Option<String>,
    /// Rectification through the API: the corrected values (field, new value or `None` to remove).
    pub changes: Vec<(String, Option<String>)>,
}

impl std::fmt::Debug for NewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRequest")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("subject", &self.subject)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// One timeline entry as shown to staff.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineView {
    pub at: Timestamp,
    pub kind: TimelineKind,
    pub actor: String,
    pub state: RequestState,
    pub detail: Option<String>,
    /// The free text (reasons, justification), decrypted: staff views only.
    pub note: Option<String>,
}

/// A request as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub channel: Channel,
    pub lang: NoticeLang,
    pub subject: Option<SubjectId>,
    pub purpose: Option<String>,
    pub received_at: Timestamp,
    /// `YYYY-MM-DD`: the legal due date (or the extended one).
    pub due_on: String,
    pub extended_to: Option<String>,
    /// `ok`, `due_soon`, `urgent`, `overdue` (open requests), `closed`.
    pub urgency: &'static str,
    pub verification: Option<Verification>,
    pub verified_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub id_upload_allowed: bool,
    pub id_uploaded: bool,
    /// Decrypted requester address and details (staff only; `None` in list views).
    pub email: Option<String>,
    pub details: Option<String>,
    pub timeline: Vec<TimelineView>,
}

/// What the public portal may show about a request: no personal data.
#[derive(Debug, Clone, Serialize)]
pub struct PortalStatus {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub lang: NoticeLang,
    pub due_on: String,
    pub id_upload_allowed: bool,
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFilter {
    /// Every open request, most urgent first.
    Open,
    /// Open requests due within seven days (not yet overdue).
    DueSoon,
    /// Open requests past their due date.
    Overdue,
    /// All requests, newest first (at most 1,000).
    All,
}

/// A downloaded export.
pub struct Download {
    pub content_type: &'static str,
    pub file_name: String,
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("content_type", &self.content_type)
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// An ID document for the staff check.
pub struct IdDocument {
    pub content_type: String,
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for IdDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdDocument").field("content_type", &self.content_type).finish_non_exhaustive()
    }
}

/// Why a request operation was refused. Codes are stable (problem+json `code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request {0} not found")]
    NotFound(RequestId),
    /// Bad input: the message names the member, never its value.
    #[error("{en}")]
    Invalid { code: &'static str, en: String, nl: String },
    #[error("a request that is {from} cannot become {to}")]
    Transition { from: RequestState, to: RequestState },
    #[error("the code is wrong ({remaining} attempt(s) left)")]
    CodeWrong { remaining: u32 },
    /// No valid code: none was sent, it expired, or the attempts are used up.
    #[error("there is no valid code for this request; ask for a new one")]
    CodeUnavailable,
    #[error("too many codes were sent for this request; contact us")]
    TooManyCodes,
    #[error("this request has no e-mail address to send to")]
    NoContact,
    #[error("an ID document cannot be uploaded for this request")]
    UploadNotAllowed,
    #[error("the file is larger than {max} bytes")]
    UploadTooLarge { max: u64 },
    #[error("only JPEG, PNG and PDF files can be uploaded")]
    UploadType,
    #[error("no ID document was uploaded")]
    NoUpload,
    #[error("the request is not about a known subject yet; link a subject first")]
    NoSubject,
    #[error("this step does not fit a request of kind {0} in its state")]
    WrongFulfilment(RequestKind),
    #[error("the download link has expired")]
    DownloadExpired,
    #[error("no download for this link")]
    DownloadNotFound,
    /// The extension was refused (after the due date, no reasons, already extended).
    #[error("{en}")]
    Extension { code: &'static str, en: String, nl: String },
    #[error("the notice could not be mailed: {0}")]
    Mail(String),
    #[error("the request was changed at the same time; retry")]
    Conflict,
    /// Sending the portability export to another controller failed or was refused (Art. 20(2)).
    #[error("the export was not transmitted: {0}")]
    Transmit(#[from] super::TransmitError),
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::NotFound(_) => "request_not_found",
            RequestError::Invalid { code, .. } | RequestError::Extension { code, .. } => code,
            RequestError::Transition { .. } => "invalid_transition",
            RequestError::CodeWrong { .. } => "code_wrong",
            RequestError::CodeUnavailable => "code_unavailable",
            RequestError::TooManyCodes => "too_many_codes",
            RequestError::NoContact => "no_contact",
            RequestError::UploadNotAllowed => "upload_not_allowed",
            RequestError::UploadTooLarge { .. } => "upload_too_large",
            RequestError::UploadType => "upload_type",
            RequestError::NoUpload => "no_upload",
            RequestError::NoSubject => "no_subject",
            RequestError::WrongFulfilment(_) => "wrong_fulfilment",
            RequestError::DownloadExpired => "download_expired",
            RequestError::DownloadNotFound => "download_not_found",
            RequestError::Mail(_) => "mail_failed",
            RequestError::Conflict => "conflict",
            RequestError::Transmit(e) => e.code(),
        }
    }

    /// The Dutch message.
    pub fn message_nl(&self) -> String {
        match self {
            RequestError::NotFound(id) => format!("verzoek {id} bestaat niet"),
            RequestError::Invalid { nl, .. } | RequestError::Extension { nl, .. } => nl.clone(),
            RequestError::Transition { from, to } => {
                format!("een verzoek met status {from} kan niet de status {to} krijgen")
            }
            RequestError::CodeWrong { remaining } => {
                format!("de code is onjuist (nog {remaining} poging(en))")
            }
            RequestError::CodeUnavailable => {
                "er is geen geldige code voor dit verzoek; vraag een nieuwe aan".to_owned()
            }
            RequestError::TooManyCodes => {
                "er zijn te veel codes verstuurd voor dit verzoek; neem contact met ons op".to_owned()
            }
            RequestError::NoContact => "dit verzoek heeft geen e-mailadres om naar te sturen".to_owned(),
            RequestError::UploadNotAllowed => "voor dit verzoek kan geen identiteitsbewijs worden geüpload".to_owned(),
            RequestError::UploadTooLarge { max } => format!("het bestand is groter dan {max} bytes"),
            RequestError::UploadType => "alleen JPEG-, PNG- en PDF-bestanden kunnen worden geüpload".to_owned(),
            RequestError::NoUpload => "er is geen identiteitsbewijs geüpload".to_owned(),
            RequestError::NoSubject => {
                "het verzoek is nog niet gekoppeld aan een betrokkene; koppel eerst een betrokkene".to_owned()
            }
            RequestError::WrongFulfilment(kind) => {
                format!("deze afhandeling past niet bij een verzoek van het soort {kind}")
            }
            RequestError::DownloadExpired => "de downloadlink is verlopen".to_owned(),
            RequestError::DownloadNotFound => "bij deze link hoort geen download".to_owned(),
            RequestError::Mail(stage) => format!("het bericht kon niet worden verstuurd: {stage}"),
            RequestError::Conflict => "het verzoek werd tegelijk gewijzigd; probeer het opnieuw".to_owned(),
            RequestError::Transmit(e) => format!("de export is niet verstuurd ({}): {e}", e.code()),
        }
    }
}

/// Settings of the request workflow.
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// The public base URL of kluis (`https://privacy.example.nl`), for links in mails.
    pub public_url: String,
    /// How long an export can be downloaded before it is deleted.
    pub export_days: u32,
    /// The largest ID document accepted.
    pub upload_max_bytes: u64,
    /// At most this many codes are mailed for one request.
    pub max_codes: u32,
    /// Who signs the notices when the register names no controller contact.
    pub sender_name: String,
    pub sender_email: String,
    /// How a portability export is sent to another controller (Art. 20(2)).
    pub transmit: super::TransmitSettings,
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            public_url: "http://127.0.0.1:8080".to_owned(),
            export_days: 14,
            upload_max_bytes: 5 * 1024 * 1024,
            max_codes: 5,
            sender_name: "kluis".to_owned(),
            sender_email: "privacy@localhost".to_owned(),
            transmit: super::TransmitSettings::default(),
        }
    }
}
