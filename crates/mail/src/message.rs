//! A composed message and its RFC 5322 form.

use std::time::{Duration, SystemTime};

use kluis_domain::time::Timestamp;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};

use crate::error::MailError;
use crate::templates::{Lang, Notice, Sender};

/// A message ready to send: one recipient, a subject and a plain-text body. `Debug` hides the
/// recipient and the body.
#[derive(Clone)]
pub struct Message {
    to: Mailbox,
    reply_to: Mailbox,
    lang: Lang,
    template: &'static str,
    subject: String,
    body: String,
}

impl Message {
    /// Renders `notice` for the address `to` in `lang`, signed by `sender` (whose contact address
    /// becomes the `Reply-To`). Fails on an invalid address (named by role, not by value) and on
    /// an extension or refusal without reasons, or an Art. 19 notice without categories.
    pub fn compose(to: &str, lang: Lang, sender: &Sender, notice: &Notice) -> Result<Message, MailError> {
        let to = Mailbox::new(None, to.trim().parse().map_err(|_| MailError::InvalidAddress { field: "recipient" })?);
        let reply_to = Mailbox::new(
            None,
            sender.contact_email.trim().parse().map_err(|_| MailError::InvalidAddress { field: "reply-to" })?,
        );
        notice.check().map_err(MailError::Build)?;
        let (subject, body) = notice.render(sender, lang);
        Ok(Message { to, reply_to, lang, template: notice.name(), subject, body })
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn body(&self) -> &str {
        &self.body
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The notice it was rendered from ([`Notice::name`]).
    pub fn template(&self) -> &'static str {
        self.template
    }

    /// The RFC 5322 message: `From` the configured sender, `Reply-To` the controller's contact,
    /// a single `text/plain; charset=utf-8` part in quoted-printable (readable, 7-bit clean),
    /// `Content-Language`, and `Auto-Submitted: auto-generated` (RFC 3834) so autoresponders
    /// stay quiet.
    pub(crate) fn to_email(
        &self,
        from: &Mailbox,
        id: &MessageId,
        date: Timestamp,
    ) -> Result<lettre::Message, MailError> {
        let millis = u64::try_from(date.as_millis()).unwrap_or(0);
        let part = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(self.body.clone());
        lettre::Message::builder()
            .from(from.clone())
            .reply_to(self.reply_to.clone())
            .to(self.to.clone())
            .subject(self.subject.clone())
            .date(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
            .message_id(Some(id.0.clone()))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                self.lang.content_language().to_owned(),
            ))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".to_owned()))
            .singlepart(part)
            .map_err(|_| MailError::Build("lettre refused the headers"))
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", &"<redacted>")
            .field("lang", &self.lang)
            .field("template", &self.template)
            .field("subject", &self.subject)
            .field("body", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A `Message-ID`, with its angle brackets: `<uuid@domain of the From address>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    pub(crate) fn generate(from: &Mailbox) -> MessageId {
        MessageId(format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `From` mailbox of a configuration.
pub(crate) fn from_mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, MailError> {
    if address.trim().is_empty() {
        return Err(MailError::Config("mail.from is not set".to_owned()));
    }
    let email = address.trim().parse().map_err(|_| MailError::InvalidAddress { field: "from" })?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::{Download, RequestKind, RequestRef};

    fn sender() -> Sender {
        Sender {
            controller: "Voorbeeld B.V.".to_owned(),
            contact_email: "privacy@voorbeeld.nl".to_owned(),
            postal_address: None,
            website: None,
        }
    }

    fn completed() -> Notice {
        Notice::Completed {
            request: RequestRef { reference: "KL-7".to_owned(), kind: RequestKind::Access },
            download: Some(Download {
                url: "https://kluis.example/d/abc".to_owned(),
                expires: time::macros::datetime!(2023-11-21 14:00 UTC),
            }),
        }
    }

    #[test]
    fn an_invalid_address_is_named_by_role_not_value() {
        let err = Message::compose("jan.de.vries@@example", Lang::Nl, &sender(), &completed()).unwrap_err();
        assert_eq!(err.to_string(), "the recipient address is not a valid e-mail address");
        assert!(!format!("{err:?}").contains("jan.de.vries"));
        let mut bad = sender();
        bad.contact_email = "nope".to_owned();
        let err = Message::compose("jan@example.nl", Lang::Nl, &bad, &completed()).unwrap_err();
        assert!(err.to_string().contains("reply-to"));
    }

    #[test]
    fn debug_hides_the_recipient_and_the_body() {
        let message = Message::compose("jan@example.nl", Lang::Nl, &sender(), &completed()).unwrap();
        let debug = format!("{message:?}");
        assert!(!debug.contains("jan@example.nl") && !debug.contains("kluis.example"), "{debug}");
        assert!(debug.contains("completed"));
    }

    #[test]
    fn the_email_is_one_plain_text_part_without_attachments() {
        let message = Message::compose("jan@example.nl", Lang::Both, &sender(), &completed()).unwrap();
        let from = from_mailbox("privacy@voorbeeld.nl", Some("Voorbeeld B.V.")).unwrap();
        let id = MessageId::generate(&from);
        assert!(id.as_str().starts_with('<') && id.as_str().ends_with("@voorbeeld.nl>"), "{id}");
        let raw = message.to_email(&from, &id, Timestamp::from_millis(1_700_000_000_000)).unwrap().formatted();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        for header in [
            "From: \"Voorbeeld B.V.\" <privacy@voorbeeld.nl>",
            "Reply-To: privacy@voorbeeld.nl",
            "To: jan@example.nl",
            "Date: Tue, 14 Nov 2023 22:13:20 +0000",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Content-Language: nl, en",
            "Auto-Submitted: auto-generated",
        ] {
            assert!(head.lines().any(|l| l == header), "{header} missing in\n{head}");
        }
        assert!(head.contains(&format!("Message-ID: {id}")));
        assert!(!text.contains("multipart") && !text.contains("Content-Disposition"), "{text}");
        assert!(text.is_ascii(), "quoted-printable keeps the message 7-bit");
        assert!(body.contains("https://kluis.example/d/abc"));
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
    }
}
