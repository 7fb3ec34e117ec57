//! Mail settings, as the CLI's figment configuration reads them (`[mail]`, `[mail.smtp]`,
//! `[mail.file]`). Unknown keys are an error; every key has a default, so a layered configuration
//! can set only what differs.
//!
//! ```toml
//! [mail]
//! transport = "smtp"                 # or "file"
//! from = "privacy@example.nl"
//! from_name = "Voorbeeld B.V."
//!
//! [mail.smtp]
//! host = "smtp.example.nl"
//! tls = "starttls"                   # "tls" (implicit, port 465), "starttls" (587), "none" (25)
//! port = 587                         # default from `tls`
//! username = "kluis"
//! password_file = "/run/secrets/smtp-password"
//! timeout_secs = 30
//!
//! [mail.file]
//! directory = "/var/lib/kluis/mail"
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Outgoing mail. `Debug` redacts the SMTP password.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Which mailer sends: `smtp` or `file`.
    pub transport: Transport,
    /// The `From` address. Required.
    pub from: String,
    /// The display name in `From`, usually the controller's name.
    pub from_name: Option<String>,
    /// Settings of the `smtp` transport.
    pub smtp: SmtpConfig,
    /// Settings of the `file` transport.
    pub file: FileConfig,
}

/// The mailer to use.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Deliver to an SMTP server ([`crate::SmtpMailer`]).
    Smtp,
    /// Write one `.eml` file per message ([`crate::FileMailer`]): local use and development.
    #[default]
    File,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP. Only for a relay on the same machine: credentials are refused with it unless
    /// the host is a loopback address or `localhost`.
    None,
    /// STARTTLS, required: a server that does not offer it is an error (never a silent fallback).
    #[default]
    Starttls,
    /// Implicit TLS from the first byte (SMTPS, RFC 8314).
    Tls,
}

impl TlsMode {
    /// The customary port: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// An SMTP server. `Debug` redacts the password.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name (also the name its certificate must carry) or IP address.
    pub host: String,
    /// Port; default from `tls` (25, 587, 465).
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: TlsMode,
    /// Login name; with a password (SMTP AUTH PLAIN or LOGIN).
    pub username: Option<String>,
    /// Password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// A PEM file with extra root certificates to trust besides the system's (a relay with a
    /// private CA).
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the server at each step.
    pub timeout_secs: u64,
    /// Most pooled connections kept open to the server.
    pub pool_max: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "localhost".to_owned(),
            port: None,
            tls: TlsMode::default(),
            username: None,
            password: None,
            password_file: None,
            ca_file: None,
            timeout_secs: 30,
            pool_max: 4,
        }
    }
}

impl SmtpConfig {
    /// The port in use: `port`, else the customary one for `tls`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("ca_file", &self.ca_file)
            .field("timeout_secs", &self.timeout_secs)
            .field("pool_max", &self.pool_max)
            .finish()
    }
}

/// The file transport.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Where the `.eml` files go; created (0700) when missing. A relative path is taken as is
    /// (the CLI resolves it against the data directory).
    pub directory: PathBuf,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig { directory: PathBuf::from("mail") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_password() {
        let config = MailConfig {
            transport: Transport::Smtp,
            from: "privacy@example.nl".to_owned(),
            smtp: SmtpConfig { password: Some("hunter2-very-secret".to_owned()), ..SmtpConfig::default() },
            ..MailConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn ports_default_from_the_tls_mode() {
        let mut smtp = SmtpConfig::default();
        assert_eq!(smtp.port(), 587);
        smtp.tls = TlsMode::Tls;
        assert_eq!(smtp.port(), 465);
        smtp.tls = TlsMode::None;
        assert_eq!(smtp.port(), 25);
        smtp.port = Some(2525);
        assert_eq!(smtp.port(), 2525);
    }

    #[test]
    fn serde_names_are_lowercase_and_unknown_keys_are_refused() {
        let config: MailConfig = serde_json::from_value(serde_json::json!({
            "transport": "smtp",
            "from": "privacy@example.nl",
            "smtp": { "host": "mail.example.nl", "tls": "tls", "username": "u", "password_file": "/run/pw" },
        }))
        .unwrap();
        assert_eq!(config.transport, Transport::Smtp);
        assert_eq!(config.smtp.tls, TlsMode::Tls);
        assert_eq!(config.smtp.port(), 465);
        assert_eq!(config.smtp.timeout_secs, 30);
        let unknown = serde_json::from_value::<MailConfig>(serde_json::json!({ "smtp": { "hots": "x" } }));
        assert!(unknown.is_err());
        let bad_mode = serde_json::from_value::<MailConfig>(serde_json::json!({ "smtp": { "tls": "ssl" } }));
        assert!(bad_mode.is_err());
    }
}
