//! Outgoing mail for data-subject requests: the notices a controller sends while it handles a
//! request under Articles 12 and 15–22 GDPR, and the two ways of sending them.
//!
//! - [`Notice`] is what happened (request received, verification code, extension, completed,
//!   refused, cannot identify, restriction lifted; and, to a recipient rather than the requester,
//!   the Art. 19 notice of a rectification, erasure or restriction, [`Notice::RecipientUpdate`]
//!   with its [`RecipientChange`]); [`Message::compose`] renders it with a [`Sender`] (the controller's
//!   name and contact, filled by the caller, later from the register) in a [`Lang`] chosen per
//!   message: Dutch, English, or both (Dutch first, then English) when the requester's language is
//!   not known. Bodies are plain UTF-8 text (`text/plain; charset=utf-8`, quoted-printable), never
//!   with attachments: personal data leaves only through a download link (R-12-6).
//! - [`Mailer`] sends a [`Message`]: [`SmtpMailer`] (lettre over rustls, pooled; implicit TLS,
//!   STARTTLS or, for a relay on loopback, none) or [`FileMailer`] (one RFC 5322 `.eml` file per
//!   message, for local use). [`from_config`] builds the one chosen in [`MailConfig`].
//!
//! **Errors carry no personal data.** A [`MailError`] names the SMTP host and port, the stage
//! that failed and the reply code, or the mail directory and the I/O stage; never a recipient
//! address, a subject line's reference, a message body or a server's reply text (relays echo the
//! recipient in their replies, so the text is dropped and only the code is kept). `Debug` of a
//! [`Message`] hides the recipient and the body (which may hold a verification code), and `Debug`
//! of the configuration hides the SMTP password.

mod config;
mod error;
mod file;
mod message;
mod smtp;
mod templates;

use std::pin::Pin;
use std::sync::Arc;

use kluis_domain::time::Clock;

pub use config::{FileConfig, MailConfig, SmtpConfig, TlsMode, Transport};
pub use error::{MailError, SmtpStage};
pub use file::{FileMailer, decode_quoted_printable};
pub use message::{Message, MessageId};
pub use smtp::SmtpMailer;
pub use templates::{
    AUTORITEIT_PERSOONSGEGEVENS_ADDRESS, AUTORITEIT_PERSOONSGEGEVENS_WEBSITE, Download, ExtensionReason, Lang, Notice,
    RecipientChange, RefusalReason, RequestKind, RequestRef, Sender, Text, VerificationCode,
};

/// A boxed, sendable future (the object-safe form of an `async fn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends messages. Object-safe, so the caller can hold an `Arc<dyn Mailer>` chosen once from the
/// configuration.
pub trait Mailer: Send + Sync + std::fmt::Debug + 'static {
    /// Sends one message and returns its `Message-ID`.
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<MessageId, MailError>>;

    /// Checks that messages can be sent (the SMTP server answers and accepts the login; the mail
    /// directory exists and is writable), without sending one. For start-up checks.
    fn check(&self) -> BoxFuture<'_, Result<(), MailError>>;
}

/// Builds the mailer the configuration chooses. Reads `smtp.password_file` and `smtp.ca_file`;
/// creates the mail directory (0700) for the file transport. Must run inside a Tokio runtime for
/// SMTP (the connection pool starts a task).
pub fn from_config(config: &MailConfig, clock: Arc<dyn Clock>) -> Result<Arc<dyn Mailer>, MailError> {
    Ok(match config.transport {
        Transport::Smtp => Arc::new(SmtpMailer::new(config, clock)?),
        Transport::File => Arc::new(FileMailer::new(config, clock)?),
    })
}
