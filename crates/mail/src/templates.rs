//! The notices of a data-subject request in Dutch and English, as plain text.
//!
//! Each [`Notice`] renders to a subject line and a body made of a few blocks (paragraphs wrapped
//! at 72 columns, key–value facts, lists, indented verbatim lines for codes and links), closed by
//! the controller's signature from the [`Sender`]. [`Lang::Both`] puts the Dutch text first and the
//! English text after a rule, under one subject naming both. Free text the caller supplies (a
//! reason, what information is needed) is a [`Text`] with both languages.
//!
//! The legal content is fixed here, not left to the caller: the one-month term and its extension
//! by at most two months (Art. 12(3)), the reasons for an extension or refusal (Art. 12(3), 12(4)),
//! the right to complain to the Autoriteit Persoonsgegevens (Art. 77) and the court route
//! (Art. 79 GDPR; a petition, verzoekschrift, to the rechtbank within six weeks, Art. 35 UAVG:
//! the route against a controller that is not a public authority, bestuursorgaan), the
//! cannot-identify notice (Art. 11(2), 12(2)), and that personal data is only offered through a
//! download link, never attached (R-12-6).
//!
//! One notice goes to a recipient rather than to the requester: [`Notice::RecipientUpdate`], the
//! Art. 19 communication of a rectification, erasure or restriction to a recipient the data were
//! disclosed to. It names the data subject only by kluis's pseudonymous reference and the data
//! only by category, never by value.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

/// The Dutch supervisory authority's website, named wherever the right to complain is.
pub const AUTORITEIT_PERSOONSGEGEVENS_WEBSITE: &str = "https://autoriteitpersoonsgegevens.nl";
/// The Autoriteit Persoonsgegevens' postal address.
pub const AUTORITEIT_PERSOONSGEGEVENS_ADDRESS: &str = "Postbus 93374, 2509 AJ Den Haag";

const WIDTH: usize = 72;
/// Glues two words so a line never breaks between them (`artikel 12`, `zes weken`, a date);
/// written as a plain space in the message.
const NBSP: char = '\u{a0}';

/// The language of a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Dutch only.
    Nl,
    /// English only.
    En,
    /// Dutch first, then English, in one message: the default when the requester's language is
    /// not known.
    #[default]
    Both,
}

impl Lang {
    /// The language for a requester's stated preference (a BCP 47 tag such as `nl`, `nl-BE`,
    /// `en-GB`): Dutch or English when it names one of them, otherwise both.
    pub fn for_requester(tag: Option<&str>) -> Lang {
        let primary = tag.and_then(|t| t.trim().split(['-', '_']).next()).unwrap_or("");
        if primary.eq_ignore_ascii_case("nl") {
            Lang::Nl
        } else if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Both
        }
    }

    /// The `Content-Language` header value.
    pub fn content_language(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
            Lang::Both => "nl, en",
        }
    }
}

/// One language of a text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum L {
    Nl,
    En,
}

impl L {
    fn pick<'a>(self, nl: &'a str, en: &'a str) -> &'a str {
        match self {
            L::Nl => nl,
            L::En => en,
        }
    }
}

/// The right a request exercises: the domain's kinds (Art. 15-21 and the withdrawal of consent,
/// Art. 7(3)).
pub use kluis_domain::request::RequestKind;

/// The GDPR provision of a right, in a language: `artikel 15 AVG`, `Article 7(3) GDPR`.
fn provision(kind: RequestKind, l: L) -> String {
    let (article, paragraph) = match kind {
        RequestKind::Access => (15, None),
        RequestKind::Rectification => (16, None),
        RequestKind::Erasure => (17, None),
        RequestKind::Restriction => (18, None),
        RequestKind::Portability => (20, None),
        RequestKind::Objection => (21, None),
        RequestKind::Withdrawal => (7, Some(3)),
    };
    match (l, paragraph) {
        (L::Nl, None) => format!("artikel\u{a0}{article}\u{a0}AVG"),
        (L::Nl, Some(p)) => format!("artikel\u{a0}{article}, lid\u{a0}{p}, AVG"),
        (L::En, None) => format!("Article\u{a0}{article}\u{a0}GDPR"),
        (L::En, Some(p)) => format!("Article\u{a0}{article}({p})\u{a0}GDPR"),
    }
}

/// The right in words, with its provision.
fn describe(kind: RequestKind, l: L) -> String {
    let name = match kind {
        RequestKind::Access => l.pick("inzage in uw persoonsgegevens", "access to your personal data"),
        RequestKind::Rectification => {
            l.pick("rectificatie van uw persoonsgegevens", "rectification of your personal data")
        }
        RequestKind::Erasure => l.pick("wissing van uw persoonsgegevens", "erasure of your personal data"),
        RequestKind::Restriction => l.pick("beperking van de verwerking", "restriction of processing"),
        RequestKind::Portability => l.pick("overdraagbaarheid van uw gegevens", "data portability"),
        RequestKind::Objection => l.pick("bezwaar tegen de verwerking", "objection to processing"),
        RequestKind::Withdrawal => l.pick("intrekking van uw toestemming", "withdrawal of your consent"),
    };
    format!("{name} ({})", provision(kind, l))
}

/// The request a notice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRef {
    /// The reference the requester quotes (not personal data: kluis generates it).
    pub reference: String,
    pub kind: RequestKind,
}

/// Free text in both languages (a reason, what information is needed). A text that reads the
/// same in both can be made with [`Text::same`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub nl: String,
    pub en: String,
}

impl Text {
    pub fn new(nl: impl Into<String>, en: impl Into<String>) -> Text {
        Text { nl: nl.into(), en: en.into() }
    }

    pub fn same(text: impl Into<String>) -> Text {
        let text = text.into();
        Text { nl: text.clone(), en: text }
    }

    fn get(&self, l: L) -> &str {
        l.pick(&self.nl, &self.en)
    }
}

/// The controller that sends the notices (filled by the caller, later from the register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The controller's name, e.g. `Voorbeeld B.V.`; signs every message.
    pub controller: String,
    /// Where the requester can reach the controller about the request; also the `Reply-To`.
    pub contact_email: String,
    /// A postal address on one line, printed in the signature.
    pub postal_address: Option<String>,
    /// The controller's website, printed in the signature.
    pub website: Option<String>,
}

/// Where the result of a completed request can be downloaded. Personal data is never attached
/// to a message (R-12-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    /// When the link stops working, printed in its own UTC offset (pass the local time).
    pub expires: OffsetDateTime,
}

/// A verification code. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(pub String);

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

/// Why the term of a request is extended (Art. 12(3)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionReason {
    /// The request is complex.
    Complexity,
    /// The number of requests.
    NumberOfRequests,
    Other(Text),
}

impl ExtensionReason {
    fn text(&self, l: L) -> &str {
        match self {
            ExtensionReason::Complexity => l.pick(
                "Uw verzoek is complex, zodat de behandeling meer tijd kost.",
                "Your request is complex, so handling it takes more time.",
            ),
            ExtensionReason::NumberOfRequests => l.pick(
                "Wij hebben een groot aantal verzoeken te behandelen.",
                "We have a large number of requests to handle.",
            ),
            ExtensionReason::Other(text) => text.get(l),
        }
    }
}

/// Why a request is refused (Art. 12(4)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// Art. 12(5): manifestly unfounded.
    ManifestlyUnfounded,
    /// Art. 12(5): excessive, in particular because repetitive.
    Excessive,
    /// Art. 15(4): it would adversely affect the rights and freedoms of others.
    RightsOfOthers,
    /// Art. 17(3)(b): a legal obligation to keep the data.
    LegalObligation,
    /// Art. 17(3)(e): legal claims.
    LegalClaims,
    /// Art. 21(1): compelling legitimate grounds that override the objection.
    CompellingGrounds,
    Other(Text),
}

impl RefusalReason {
    fn text(&self, l: L) -> &str {
        match self {
            RefusalReason::ManifestlyUnfounded => l.pick(
                "Het verzoek is kennelijk ongegrond (artikel\u{a0}12, lid\u{a0}5, AVG).",
                "The request is manifestly unfounded (Article\u{a0}12(5) GDPR).",
            ),
            RefusalReason::Excessive => l.pick(
                "Het verzoek is buitensporig, met name vanwege het herhaalde karakter ervan (artikel\u{a0}12, lid\u{a0}5, AVG).",
                "The request is excessive, in particular because of its repetitive character (Article\u{a0}12(5) GDPR).",
            ),
            RefusalReason::RightsOfOthers => l.pick(
                "Het verstrekken van de gegevens zou afbreuk doen aan de rechten en vrijheden van anderen (artikel\u{a0}15, lid\u{a0}4, AVG).",
                "Providing the data would adversely affect the rights and freedoms of others (Article\u{a0}15(4) GDPR).",
            ),
            RefusalReason::LegalObligation => l.pick(
                "Wij zijn wettelijk verplicht de gegevens te bewaren (artikel\u{a0}17, lid\u{a0}3, onder\u{a0}b, AVG).",
                "We are legally obliged to keep the data (Article\u{a0}17(3)(b) GDPR).",
            ),
            RefusalReason::LegalClaims => l.pick(
                "Wij hebben de gegevens nodig voor de instelling, uitoefening of onderbouwing van een rechtsvordering (artikel\u{a0}17, lid\u{a0}3, onder\u{a0}e, AVG).",
                "We need the data for the establishment, exercise or defence of legal claims (Article\u{a0}17(3)(e) GDPR).",
            ),
            RefusalReason::CompellingGrounds => l.pick(
                "Wij hebben dwingende gerechtvaardigde gronden voor de verwerking die zwaarder wegen dan uw belangen, rechten en vrijheden (artikel\u{a0}21, lid\u{a0}1, AVG).",
                "We have compelling legitimate grounds for the processing which override your interests, rights and freedoms (Article\u{a0}21(1) GDPR).",
            ),
            RefusalReason::Other(text) => text.get(l),
        }
    }
}

/// What was done to personal data a recipient received, which Art. 19 requires the controller to
/// tell the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientChange {
    /// The data were rectified (Art. 16).
    Rectified,
    /// The data were erased (Art. 17).
    Erased,
    /// The processing was restricted (Art. 18).
    Restricted,
}

impl RecipientChange {
    /// The change carrying out a request of `kind`, for the three rights Art. 19 names:
    /// rectification, erasure and restriction. `None` for the others (an erasure that follows
    /// an objection or a withdrawal is [`RecipientChange::Erased`]; the caller knows that).
    pub fn for_request(kind: RequestKind) -> Option<RecipientChange> {
        match kind {
            RequestKind::Rectification => Some(RecipientChange::Rectified),
            RequestKind::Erasure => Some(RecipientChange::Erased),
            RequestKind::Restriction => Some(RecipientChange::Restricted),
            RequestKind::Access | RequestKind::Portability | RequestKind::Objection | RequestKind::Withdrawal => None,
        }
    }

    /// `rectified`, `erased`, `restricted`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientChange::Rectified => "rectified",
            RecipientChange::Erased => "erased",
            RecipientChange::Restricted => "restricted",
        }
    }

    /// The right behind the change, for its article.
    fn kind(self) -> RequestKind {
        match self {
            RecipientChange::Rectified => RequestKind::Rectification,
            RecipientChange::Erased => RequestKind::Erasure,
            RecipientChange::Restricted => RequestKind::Restriction,
        }
    }

    /// The change as a noun with its article: `wissing (artikel 17 AVG)`.
    fn describe(self, l: L) -> String {
        let name = match self {
            RecipientChange::Rectified => l.pick("rectificatie", "rectification"),
            RecipientChange::Erased => l.pick("wissing", "erasure"),
            RecipientChange::Restricted => l.pick("beperking van de verwerking", "restriction of processing"),
        };
        format!("{name} ({})", provision(self.kind(), l))
    }
}

/// What the message tells the requester (or, for [`Notice::RecipientUpdate`], a recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The request was received: its reference, type, date of receipt and the date by which it
    /// will be answered (one month, Art. 12(3)).
    Received { request: RequestRef, received: Date, due: Date },
    /// A code that confirms the request comes from the holder of the address, valid for
    /// `valid_minutes`.
    Code { request: RequestRef, code: VerificationCode, valid_minutes: u32 },
    /// The term is extended (Art. 12(3)): the new due date and at least one reason.
    Extended { request: RequestRef, new_due: Date, reasons: Vec<ExtensionReason> },
    /// The request was carried out; the result, if any, is behind a download link.
    Completed { request: RequestRef, download: Option<Download> },
    /// The request is refused (Art. 12(4)): at least one reason, the right to complain to the
    /// Autoriteit Persoonsgegevens and the court route.
    Refused { request: RequestRef, reasons: Vec<RefusalReason> },
    /// The requester cannot be identified (Art. 11(2), 12(2)); `needed` says what further
    /// information would help. Names the same remedies as a refusal (Art. 12(4)).
    CannotIdentify { request: RequestRef, needed: Option<Text> },
    /// The restriction of processing the requester obtained (Art. 18) is about to be lifted;
    /// Art. 18(3) requires telling them before it is.
    RestrictionLifted { request: RequestRef },
    /// To a recipient the data were disclosed to, not to the requester (Art. 19): carrying out
    /// `request`, the controller `change`d personal data in `categories` of the data subject
    /// known by the kluis reference `subject`; the recipient is asked to do the same with the
    /// data it received. The notice carries no values: after a rectification the recipient
    /// retrieves the corrected data through its usual channel.
    RecipientUpdate {
        request: RequestRef,
        /// The recipient's name, as in the register.
        recipient: String,
        /// kluis's pseudonymous reference of the data subject, its subject id (letters, digits,
        /// `-` and `_`; never a name or an address).
        subject: String,
        change: RecipientChange,
        /// The data categories concerned, register keys such as `user.contact.email`; at least
        /// one.
        categories: Vec<String>,
    },
}

impl Notice {
    /// The template's name: `received`, `code`, `extended`, `completed`, `refused`,
    /// `cannot_identify`, `restriction_lifted`, `recipient_update`.
    pub fn name(&self) -> &'static str {
        match self {
            Notice::Received { .. } => "received",
            Notice::Code { .. } => "code",
            Notice::Extended { .. } => "extended",
            Notice::Completed { .. } => "completed",
            Notice::Refused { .. } => "refused",
            Notice::CannotIdentify { .. } => "cannot_identify",
            Notice::RestrictionLifted { .. } => "restriction_lifted",
            Notice::RecipientUpdate { .. } => "recipient_update",
        }
    }

    pub fn request(&self) -> &RequestRef {
        match self {
            Notice::Received { request, .. }
            | Notice::Code { request, .. }
            | Notice::Extended { request, .. }
            | Notice::Completed { request, .. }
            | Notice::Refused { request, .. }
            | Notice::CannotIdentify { request, .. }
            | Notice::RestrictionLifted { request }
            | Notice::RecipientUpdate { request, .. } => request,
        }
    }

    /// Refuses notices the law requires more of: an extension or refusal without reasons, an
    /// Art. 19 notice that names no category or no subject reference. An Art. 19 notice's
    /// categories must be category keys (`user.contact.email`) and its subject a reference of
    /// letters, digits, `-` and `_` (a kluis id), which keeps a value, name or address passed by
    /// mistake out of a message to a third party.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        match self {
            Notice::RecipientUpdate { categories, .. } if categories.is_empty() => {
                Err("an Art. 19 notice must name the data categories concerned")
            }
            Notice::RecipientUpdate { categories, .. }
                if categories.iter().any(|c| kluis_domain::fields::Category::parse(c).is_err()) =>
            {
                Err("an Art. 19 notice names data categories by key, such as user.contact.email, never by value")
            }
            Notice::RecipientUpdate { subject, .. }
                if subject.is_empty()
                    || !subject.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Err("an Art. 19 notice names the data subject by kluis reference only, never by name or address")
            }
            Notice::Extended { reasons, .. } if reasons.is_empty() => {
                Err("an extension must give its reasons (Art. 12(3) GDPR)")
            }
            Notice::Refused { reasons, .. } if reasons.is_empty() => {
                Err("a refusal must give its reasons (Art. 12(4) GDPR)")
            }
            _ => Ok(()),
        }
    }

    /// The subject line and body in `lang`.
    pub(crate) fn render(&self, sender: &Sender, lang: Lang) -> (String, String) {
        let reference = &self.request().reference;
        match lang {
            Lang::Nl => (format!("{} ({reference})", self.title(L::Nl)), self.document(sender, L::Nl)),
            Lang::En => (format!("{} ({reference})", self.title(L::En)), self.document(sender, L::En)),
            Lang::Both => {
                let subject = format!("{} / {} ({reference})", self.title(L::Nl), self.title(L::En));
                let mut body = String::from("(English version below)\n\n");
                body.push_str(&self.document(sender, L::Nl));
                body.push('\n');
                body.push_str(&"-".repeat(WIDTH));
                body.push_str("\n\n");
                body.push_str(&self.document(sender, L::En));
                (subject, body)
            }
        }
    }

    fn title(&self, l: L) -> &'static str {
        match self {
            Notice::Received { .. } => l.pick("Uw verzoek is ontvangen", "Your request has been received"),
            Notice::Code { .. } => l.pick("Uw verificatiecode", "Your verification code"),
            Notice::Extended { .. } => l.pick("Meer tijd nodig voor uw verzoek", "More time needed for your request"),
            Notice::Completed { .. } => l.pick("Uw verzoek is afgehandeld", "Your request has been completed"),
            Notice::Refused { .. } => l.pick("Uw verzoek is afgewezen", "Your request has been refused"),
            Notice::CannotIdentify { .. } => l.pick("Wij kunnen u niet identificeren", "We cannot identify you"),
            Notice::RestrictionLifted { .. } => {
                l.pick("De beperking van de verwerking wordt opgeheven", "The restriction of processing will be lifted")
            }
            Notice::RecipientUpdate { change, .. } => match change {
                RecipientChange::Rectified => l.pick(
                    "Kennisgeving van rectificatie van persoonsgegevens",
                    "Notice of rectification of personal data",
                ),
                RecipientChange::Erased => {
                    l.pick("Kennisgeving van wissing van persoonsgegevens", "Notice of erasure of personal data")
                }
                RecipientChange::Restricted => {
                    l.pick("Kennisgeving van beperking van de verwerking", "Notice of restriction of processing")
                }
            },
        }
    }

    /// One language's text: greeting, the notice's blocks, signature.
    fn document(&self, sender: &Sender, l: L) -> String {
        let mut blocks = vec![Block::Line(l.pick("Geachte heer, mevrouw,", "Dear Sir or Madam,").to_owned())];
        self.blocks(sender, l, &mut blocks);
        let mut signature = vec![sender.controller.clone(), sender.contact_email.clone()];
        signature.extend(sender.postal_address.iter().cloned());
        signature.extend(sender.website.iter().cloned());
        blocks.push(Block::Line(l.pick("Met vriendelijke groet,", "Kind regards,").to_owned()));
        blocks.push(Block::Lines(signature));
        let mut out = String::new();
        for (i, block) in blocks.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            block.write(&mut out);
        }
        out.replace(NBSP, " ")
    }

    #[allow(clippy::too_many_lines)] // the notices side by side read best
    fn blocks(&self, sender: &Sender, l: L, out: &mut Vec<Block>) {
        let request = self.request();
        let contact = &sender.contact_email;
        let facts = |extra: &[(&str, String)]| {
            let mut rows = vec![
                (l.pick("Referentie", "Reference"), request.reference.clone()),
                (l.pick("Soort verzoek", "Type of request"), describe(request.kind, l)),
            ];
            rows.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
            Block::Facts(rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        };
        let para = |nl: &str, en: &str| Block::Para(l.pick(nl, en).to_owned());
        match self {
            Notice::Received { received, due, .. } => {
                out.push(para(
                    "Wij hebben uw verzoek ontvangen. Hieronder staan de gegevens ervan; vermeld de referentie als u contact met ons opneemt.",
                    "We have received your request. Its details are below; please quote the reference when you contact us.",
                ));
                out.push(facts(&[
                    (l.pick("Ontvangen op", "Received on"), date(l, *received)),
                    (l.pick("Uiterste datum", "Due date"), date(l, *due)),
                ]));
                out.push(para(
                    "Wij beantwoorden uw verzoek zo snel mogelijk en uiterlijk op de uiterste datum, binnen een maand na ontvangst (artikel\u{a0}12, lid\u{a0}3, AVG). Hebben wij meer tijd nodig, dan laten wij u dat vóór die datum weten, met de redenen.",
                    "We will answer your request without undue delay and by the due date at the latest, within one month of receipt (Article\u{a0}12(3) GDPR). If we need more time, we will tell you before that date, with the reasons.",
                ));
                out.push(para(
                    "Om uw gegevens te beschermen kunnen wij u vragen te bevestigen dat het verzoek van u komt, bijvoorbeeld met een code die wij u per e-mail sturen. Wij vragen nooit om uw wachtwoord.",
                    "To protect your data, we may ask you to confirm that the request comes from you, for example with a code we send you by e-mail. We never ask for your password.",
                ));
                out.push(Block::Para(match l {
                    L::Nl => format!("Hebt u dit verzoek niet gedaan? Laat het ons dan weten via {contact}."),
                    L::En => format!("Did you not make this request? Please let us know at {contact}."),
                }));
            }
            Notice::Code { code, valid_minutes, .. } => {
                let reference = &request.reference;
                let controller = &sender.controller;
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "U hebt bij {controller} een verzoek gedaan (referentie {reference}). Bevestig met deze code dat het verzoek van u komt:"
                    ),
                    L::En => format!(
                        "You made a request to {controller} (reference {reference}). Confirm with this code that the request comes from you:"
                    ),
                }));
                out.push(Block::Verbatim(code.0.clone()));
                let minutes = match (l, *valid_minutes) {
                    (L::Nl, 1) => "1\u{a0}minuut".to_owned(),
                    (L::Nl, n) => format!("{n}\u{a0}minuten"),
                    (L::En, 1) => "1\u{a0}minute".to_owned(),
                    (L::En, n) => format!("{n}\u{a0}minutes"),
                };
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "De code is {minutes} geldig. Geef hem aan niemand anders; wij vragen er nooit telefonisch of per e-mail naar. Wij vragen ook nooit om uw wachtwoord."
                    ),
                    L::En => format!(
                        "The code is valid for {minutes}. Do not share it with anyone; we will never ask you for it by phone or e-mail. We never ask for your password either."
                    ),
                }));
                out.push(para(
                    "Hebt u geen verzoek gedaan? Dan kunt u dit bericht negeren; zonder de code gebeurt er niets.",
                    "Did you not make a request? Then you can ignore this message; nothing happens without the code.",
                ));
            }
            Notice::Extended { new_due, reasons, .. } => {
                out.push(para(
                    "Wij hebben meer tijd nodig om uw verzoek te beantwoorden. De AVG staat toe dat wij de termijn met ten hoogste twee\u{a0}maanden verlengen als dat nodig is, gelet op de complexiteit en het aantal verzoeken (artikel\u{a0}12, lid\u{a0}3, AVG).",
                    "We need more time to answer your request. The GDPR allows us to extend the period by at most two\u{a0}further\u{a0}months where necessary, taking into account the complexity and number of the requests (Article\u{a0}12(3) GDPR).",
                ));
                out.push(facts(&[(l.pick("Nieuwe uiterste datum", "New due date"), date(l, *new_due))]));
                out.push(Block::Line(
                    l.pick("Waarom wij meer tijd nodig hebben:", "Why we need more time:").to_owned(),
                ));
                out.push(Block::List(reasons.iter().map(|r| r.text(l).to_owned()).collect()));
                let due = date(l, *new_due);
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "U ontvangt ons antwoord uiterlijk op {due}. Bent u het niet eens met de verlenging, dan kunt u contact met ons opnemen via {contact} of een klacht indienen bij de Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                    L::En => format!(
                        "You will receive our answer by {due} at the latest. If you disagree with the extension, you can contact us at {contact} or lodge a complaint with the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                }));
            }
            Notice::RestrictionLifted { .. } => {
                out.push(para(
                    "Op uw verzoek hebben wij de verwerking van uw persoonsgegevens beperkt (artikel\u{a0}18 AVG). Wij laten u weten dat wij deze beperking opheffen; daarna verwerken wij uw gegevens weer voor de doelen die in onze privacyverklaring staan.",
                    "At your request we restricted the processing of your personal data (Article\u{a0}18 GDPR). We are letting you know that we are lifting this restriction; after that we process your data again for the purposes in our privacy statement.",
                ));
                out.push(facts(&[]));
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "Bent u het hier niet mee eens? Neem dan contact met ons op via {contact}. U hebt ook het recht een klacht in te dienen bij de Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                    L::En => format!(
                        "If you disagree, please contact us at {contact}. You also have the right to lodge a complaint with the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                }));
            }
            Notice::Completed { download, .. } => {
                out.push(para("Wij hebben uw verzoek afgehandeld.", "We have completed your request."));
                out.push(facts(&[]));
                if let Some(download) = download {
                    out.push(para(
                        "U kunt het resultaat downloaden via deze link:",
                        "You can download the result through this link:",
                    ));
                    out.push(Block::Verbatim(download.url.clone()));
                    let expires = date_time(l, download.expires);
                    out.push(Block::Para(match l {
                        L::Nl => format!(
                            "De link is geldig tot {expires}. Daarna werkt hij niet meer; vraag ons dan om een nieuwe link. Om uw gegevens te beschermen sturen wij persoonsgegevens nooit als bijlage bij een e-mail."
                        ),
                        L::En => format!(
                            "The link is valid until {expires}. After that it no longer works; ask us for a new link if you need one. To protect your data, we never send personal data as an e-mail attachment."
                        ),
                    }));
                }
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "Bent u niet tevreden over de afhandeling? Neem dan contact met ons op via {contact}. U hebt ook het recht een klacht in te dienen bij de Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                    L::En => format!(
                        "If you are not satisfied with how we handled your request, please contact us at {contact}. You also have the right to lodge a complaint with the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens ({AUTORITEIT_PERSOONSGEGEVENS_WEBSITE})."
                    ),
                }));
            }
            Notice::Refused { reasons, .. } => {
                out.push(para(
                    "Wij hebben besloten uw verzoek niet uit te voeren.",
                    "We have decided not to act on your request.",
                ));
                out.push(facts(&[]));
                out.push(Block::Line(
                    l.pick("De redenen van ons besluit:", "The reasons for our decision:").to_owned(),
                ));
                out.push(Block::List(reasons.iter().map(|r| r.text(l).to_owned()).collect()));
                remedies(l, contact, out);
            }
            Notice::CannotIdentify { needed, .. } => {
                out.push(para(
                    "Wij hebben uw verzoek ontvangen, maar met de gegevens die wij hebben kunnen wij u niet identificeren. Daarom kunnen wij uw verzoek nu niet uitvoeren (artikel\u{a0}11, lid\u{a0}2, en artikel\u{a0}12, lid\u{a0}2, AVG).",
                    "We have received your request, but we cannot identify you from the information we hold. We therefore cannot act on your request for now (Articles\u{a0}11(2) and 12(2) GDPR).",
                ));
                out.push(facts(&[]));
                out.push(Block::Para(match l {
                    L::Nl => format!(
                        "U kunt ons aanvullende gegevens sturen waarmee wij u wel kunnen identificeren; dan behandelen wij uw verzoek alsnog. Stuur ze naar {contact} en vermeld de referentie."
                    ),
                    L::En => format!(
                        "You can send us additional information that allows us to identify you; we will then handle your request. Send it to {contact} and quote the reference."
                    ),
                }));
                if let Some(needed) = needed {
                    out.push(Block::Para(format!(
                        "{} {}",
                        l.pick("Wat wij nodig hebben:", "What we need:"),
                        needed.get(l)
                    )));
                }
                remedies(l, contact, out);
            }
            Notice::RecipientUpdate { recipient, subject, change, categories, .. } => {
                recipient_update(l, contact, (&request.reference, recipient, subject), *change, categories, out);
            }
        }
    }
}

/// The Art. 19 notice to a recipient: what was done, to whose data (by kluis reference), in which
/// categories, why the recipient is told, and what it is asked to do; never a value.
fn recipient_update(
    l: L,
    contact: &str,
    (reference, recipient, subject): (&str, &str, &str),
    change: RecipientChange,
    categories: &[String],
    out: &mut Vec<Block>,
) {
    let done = match change {
        RecipientChange::Rectified => {
            l.pick("persoonsgegevens van die betrokkene gerectificeerd", "rectified personal data of that data subject")
        }
        RecipientChange::Erased => {
            l.pick("persoonsgegevens van die betrokkene gewist", "erased personal data of that data subject")
        }
        RecipientChange::Restricted => l.pick(
            "de verwerking van persoonsgegevens van die betrokkene beperkt",
            "restricted the processing of personal data of that data subject",
        ),
    };
    out.push(Block::Para(match l {
        L::Nl => format!(
            "Naar aanleiding van een verzoek van een betrokkene hebben wij {done}. Wij hebben persoonsgegevens van deze betrokkene eerder aan {recipient} verstrekt; daarom laten wij u dit weten."
        ),
        L::En => format!(
            "Following a request from a data subject, we have {done}. We previously disclosed personal data of this data subject to {recipient}, which is why we are informing you."
        ),
    }));
    let rows = [
        (l.pick("Referentie verzoek", "Request reference"), reference.to_owned()),
        (l.pick("Betrokkene (kluis-referentie)", "Data subject (kluis reference)"), subject.to_owned()),
        (l.pick("Wijziging", "Change"), change.describe(l)),
    ];
    out.push(Block::Facts(rows.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    out.push(Block::Line(
        l.pick("Het gaat om deze categorieën persoonsgegevens:", "The categories of personal data concerned:")
            .to_owned(),
    ));
    out.push(Block::List(categories.to_vec()));
    out.push(Block::Para(
        l.pick(
            "Volgens artikel\u{a0}19\u{a0}AVG stellen wij iedere ontvanger aan wie persoonsgegevens zijn verstrekt in kennis van elke rectificatie of wissing van persoonsgegevens en elke beperking van de verwerking.",
            "Under Article\u{a0}19\u{a0}GDPR we communicate any rectification or erasure of personal data or restriction of processing to each recipient to whom the personal data have been disclosed.",
        )
        .to_owned(),
    ));
    out.push(Block::Para(
        match change {
            RecipientChange::Rectified => l.pick(
                "Wij verzoeken u de gegevens in deze categorieën die u van ons hebt ontvangen eveneens te rectificeren. De gecorrigeerde gegevens staan niet in dit bericht: haal ze op via het kanaal waarlangs u gegevens gewoonlijk van ons ontvangt.",
                "Please rectify the data in these categories that you received from us accordingly. This message does not contain the corrected data: please retrieve them through the channel through which you usually receive data from us.",
            ),
            RecipientChange::Erased => l.pick(
                "Wij verzoeken u de gegevens van deze betrokkene in deze categorieën die u van ons hebt ontvangen eveneens te wissen.",
                "Please also erase the data of this data subject in these categories that you received from us.",
            ),
            RecipientChange::Restricted => l.pick(
                "Wij verzoeken u de verwerking van de gegevens in deze categorieën die u van ons hebt ontvangen eveneens te beperken: bewaar ze, maar verwerk ze verder alleen met toestemming van de betrokkene, voor een rechtsvordering, ter bescherming van de rechten van een ander of om gewichtige redenen van algemeen belang (artikel\u{a0}18, lid\u{a0}2, AVG).",
                "Please restrict the processing of the data in these categories that you received from us accordingly: store them, but otherwise process them only with the data subject's consent, for legal claims, for the protection of the rights of another person or for reasons of important public interest (Article\u{a0}18(2) GDPR).",
            ),
        }
        .to_owned(),
    ));
    out.push(Block::Para(match l {
        L::Nl => format!(
            "Dit bericht noemt de betrokkene alleen bij de kluis-referentie en bevat de persoonsgegevens zelf niet. Hebt u vragen, of vindt u de gegevens met deze referentie niet terug, neem dan contact met ons op via {contact} en vermeld de referentie van het verzoek."
        ),
        L::En => format!(
            "This message identifies the data subject only by the kluis reference and does not contain the personal data themselves. If you have questions, or cannot find the data with this reference, please contact us at {contact} and quote the request reference."
        ),
    }));
}

/// The right to complain to the AP and the court route (Art. 12(4), 77, 79 GDPR; Art. 35 UAVG).
fn remedies(l: L, contact: &str, out: &mut Vec<Block>) {
    let website = AUTORITEIT_PERSOONSGEGEVENS_WEBSITE;
    let address = AUTORITEIT_PERSOONSGEGEVENS_ADDRESS.replace(", ", ",\n").replace(' ', "\u{a0}").replace(",\n", ", ");
    out.push(Block::Line(
        l.pick("Bent u het niet eens met dit besluit? Dan kunt u:", "If you disagree with this decision, you can:")
            .to_owned(),
    ));
    out.push(Block::List(match l {
        L::Nl => vec![
            format!(
                "een klacht indienen bij de Autoriteit Persoonsgegevens (artikel\u{a0}77 AVG): {website}, {address};"
            ),
            "een verzoekschrift indienen bij de rechtbank (artikel\u{a0}79 AVG en artikel\u{a0}35 Uitvoeringswet AVG). Dat moet binnen zes\u{a0}weken na ontvangst van dit bericht.".to_owned(),
        ],
        L::En => vec![
            format!(
                "lodge a complaint with the Dutch Data Protection Authority, the Autoriteit Persoonsgegevens (Article\u{a0}77 GDPR): {website}, {address}, the Netherlands;"
            ),
            "file a petition (verzoekschrift) with the district court, the rechtbank (Article\u{a0}79 GDPR and Article\u{a0}35 of the Dutch GDPR Implementation Act, UAVG). You must do so within six\u{a0}weeks of receiving this message.".to_owned(),
        ],
    }));
    out.push(Block::Para(match l {
        L::Nl => format!("U kunt ook eerst contact met ons opnemen via {contact}; vermeld dan de referentie."),
        L::En => format!("You may also contact us first at {contact}; please quote the reference."),
    }));
}

/// A piece of a plain-text body.
enum Block {
    /// A paragraph, wrapped.
    Para(String),
    /// One line as is (a greeting, a heading).
    Line(String),
    /// Lines as is (a signature).
    Lines(Vec<String>),
    /// Labelled values, labels padded to one column, values wrapped under themselves.
    Facts(Vec<(String, String)>),
    /// Items with `- ` and a hanging indent, wrapped.
    List(Vec<String>),
    /// Indented by four spaces and never wrapped (a code, a link).
    Verbatim(String),
}

impl Block {
    fn write(&self, out: &mut String) {
        match self {
            Block::Para(text) => wrap(out, text, "", ""),
            Block::Line(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Block::Lines(lines) => {
                for line in lines {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Block::Facts(rows) => {
                let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 1;
                for (key, value) in rows {
                    let label = format!("{key}:");
                    wrap(out, value, &format!("{label:<width$}  "), &" ".repeat(width + 2));
                }
            }
            Block::List(items) => {
                for item in items {
                    wrap(out, item, "- ", "  ");
                }
            }
            Block::Verbatim(text) => {
                out.push_str("    ");
                out.push_str(text);
                out.push('\n');
            }
        }
    }
}

/// Greedy word wrap at [`WIDTH`] characters, breaking only at ASCII spaces: [`NBSP`] glues
/// words that belong on one line (`artikel 12`, a date) and becomes a space in the output. A word
/// longer than the width (a URL) gets a line of its own and is never broken.
fn wrap(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut len = first.chars().count();
    let mut empty = true;
    for word in text.split([' ', '\n', '\t']).filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if !empty && len + 1 + n > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += n;
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

fn month(l: L, m: Month) -> &'static str {
    let (nl, en) = match m {
        Month::January => ("januari", "January"),
        Month::February => ("februari", "February"),
        Month::March => ("maart", "March"),
        Month::April => ("april", "April"),
        Month::May => ("mei", "May"),
        Month::June => ("juni", "June"),
        Month::July => ("juli", "July"),
        Month::August => ("augustus", "August"),
        Month::September => ("september", "September"),
        Month::October => ("oktober", "October"),
        Month::November => ("november", "November"),
        Month::December => ("december", "December"),
    };
    l.pick(nl, en)
}

/// `14 november 2023` / `14 November 2023`.
fn date(l: L, d: Date) -> String {
    format!("{}\u{a0}{}\u{a0}{}", d.day(), month(l, d.month()), d.year())
}

/// `21 november 2023 om 14:00 (UTC+01:00)` / `21 November 2023 at 14:00 (UTC)`.
fn date_time(l: L, t: OffsetDateTime) -> String {
    let offset = t.offset();
    let zone = if offset.is_utc() {
        "UTC".to_owned()
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    };
    format!("{} {}\u{a0}{:02}:{:02}\u{a0}({zone})", date(l, t.date()), l.pick("om", "at"), t.hour(), t.minute())
}

#[cfg(test)]
mod tests;
