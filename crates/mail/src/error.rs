//! Mail errors. None of them carries personal data: no recipient address, no message body, no
//! subject, no server reply text (relays echo the recipient in it). They name the configuration
//! key, the SMTP host and port with the stage and reply code, or the mail directory and the I/O
//! stage. Nor do they keep lettre's error as a `source`, whose `Display` includes the reply text.

use std::error::Error as _;
use std::fmt;
use std::path::PathBuf;

/// Why a message could not be composed or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail configuration is incomplete or contradictory; names the key.
    #[error("mail configuration: {0}")]
    Config(String),
    /// An address could not be parsed. Names which one (`recipient`, `from`, `reply-to`), never
    /// its value.
    #[error("the {field} address is not a valid e-mail address")]
    InvalidAddress { field: &'static str },
    /// The message could not be assembled.
    #[error("the message could not be built: {0}")]
    Build(&'static str),
    /// The SMTP server could not be reached or refused the message.
    #[error("SMTP server {host}:{port}: {stage}")]
    Smtp { host: String, port: u16, stage: SmtpStage },
    /// A message file could not be written.
    #[error("mail directory {}: {stage} failed ({kind})", dir.display())]
    File { dir: PathBuf, stage: &'static str, kind: std::io::ErrorKind },
}

/// Where an SMTP exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpStage {
    /// Connecting or reading/writing the socket; the I/O error kind when there is one
    /// (`connection refused`, …).
    Network(Option<std::io::ErrorKind>),
    /// The server did not answer in time.
    Timeout,
    /// The TLS handshake failed; rustls's reason when there is one (`invalid peer certificate:
    /// UnknownIssuer`): it names certificates and protocols, never message content.
    Tls(Option<String>),
    /// STARTTLS is required but the server does not offer it.
    StartTlsNotOffered,
    /// The server refused the login (reply codes 530, 534, 535, 538), or no mechanism matched.
    Authentication(Option<u16>),
    /// The server answered a command with a 4xx (`transient`) or 5xx reply.
    Rejected { code: u16, transient: bool },
    /// The server's reply could not be understood.
    Protocol,
    /// The client gave up; one of lettre's fixed reasons (never the server's text).
    Client(&'static str),
}

impl fmt::Display for SmtpStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpStage::Network(Some(kind)) => write!(f, "network error ({kind})"),
            SmtpStage::Network(None) => f.write_str("network error"),
            SmtpStage::Timeout => f.write_str("timed out"),
            SmtpStage::Tls(Some(reason)) => write!(f, "TLS handshake failed ({reason})"),
            SmtpStage::Tls(None) => f.write_str("TLS handshake failed"),
            SmtpStage::StartTlsNotOffered => f.write_str("STARTTLS is required but not offered"),
            SmtpStage::Authentication(Some(code)) => write!(f, "authentication refused (reply {code})"),
            SmtpStage::Authentication(None) => f.write_str("authentication failed (no usable mechanism)"),
            SmtpStage::Rejected { code, transient: true } => write!(f, "temporarily refused (reply {code})"),
            SmtpStage::Rejected { code, transient: false } => write!(f, "refused (reply {code})"),
            SmtpStage::Protocol => f.write_str("unreadable server reply"),
            SmtpStage::Client(reason) => write!(f, "client error ({reason})"),
        }
    }
}

impl SmtpStage {
    /// Classifies a lettre error by its kind, reply code and the I/O error beneath it; the error
    /// itself (and its reply text) is dropped.
    ///
    /// `tls`: the connection is meant to be encrypted (implicit TLS or STARTTLS), so malformed
    /// data on it is a handshake failure.
    pub(crate) fn of(error: &lettre::transport::smtp::Error, tls: bool) -> SmtpStage {
        if error.is_timeout() {
            return SmtpStage::Timeout;
        }
        let io = io_error(error);
        let rustls = io.and_then(|e| e.get_ref()).and_then(|e| e.downcast_ref::<rustls::Error>());
        if let Some(reason) = rustls {
            return SmtpStage::Tls(Some(reason.to_string()));
        }
        if error.is_tls() || (tls && io.is_some_and(|e| e.kind() == std::io::ErrorKind::InvalidData)) {
            return SmtpStage::Tls(None);
        }
        if let Some(code) = error.status() {
            let code = u16::from(code);
            return if matches!(code, 530 | 534 | 535 | 538) {
                SmtpStage::Authentication(Some(code))
            } else {
                SmtpStage::Rejected { code, transient: error.is_transient() }
            };
        }
        if error.is_response() {
            return SmtpStage::Protocol;
        }
        if error.is_client() {
            // lettre's client errors are its own fixed strings; they are matched, not copied, so
            // no text of unknown origin reaches the error.
            let text = error.source().map(ToString::to_string).unwrap_or_default();
            return if text.contains("STARTTLS") {
                SmtpStage::StartTlsNotOffered
            } else if text.contains("authentication mechanism") {
                SmtpStage::Authentication(None)
            } else if text.contains("SMTPUTF8") {
                SmtpStage::Client("the server does not accept non-ASCII addresses (SMTPUTF8)")
            } else if text.contains("8BITMIME") {
                SmtpStage::Client("the server does not accept 8-bit content (8BITMIME)")
            } else {
                SmtpStage::Client("unexpected state")
            };
        }
        SmtpStage::Network(io.map(std::io::Error::kind))
    }
}

/// The first I/O error in the source chain.
fn io_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut source = error.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = err.source();
    }
    None
}
