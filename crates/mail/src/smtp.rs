//! The SMTP mailer: lettre's pooled async transport on Tokio, TLS by rustls (aws-lc-rs, the
//! platform verifier plus any `ca_file` roots).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use kluis_domain::time::Clock;
use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailConfig, TlsMode};
use crate::error::{MailError, SmtpStage};
use crate::message::{Message, MessageId, from_mailbox};
use crate::{BoxFuture, Mailer};

/// Sends through an SMTP server over pooled connections (at most `smtp.pool_max`). STARTTLS is
/// required when configured, never opportunistic; plain SMTP with credentials is refused unless
/// the server is on loopback.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: bool,
    clock: Arc<dyn Clock>,
}

impl SmtpMailer {
    /// Builds the transport from `config.smtp`, reading `password_file` and `ca_file`. No
    /// connection is made until the first message (or [`Mailer::check`]).
    pub fn new(config: &MailConfig, clock: Arc<dyn Clock>) -> Result<SmtpMailer, MailError> {
        let smtp = &config.smtp;
        let from = from_mailbox(&config.from, config.from_name.as_deref())?;
        let host = smtp.host.trim().to_owned();
        if host.is_empty() {
            return Err(MailError::Config("mail.smtp.host is not set".to_owned()));
        }
        let port = smtp.port();
        let password = match (&smtp.password, &smtp.password_file) {
            (Some(_), Some(_)) => {
                return Err(MailError::Config(
                    "set mail.smtp.password or mail.smtp.password_file, not both".to_owned(),
                ));
            }
            (Some(password), None) => Some(password.clone()),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    MailError::Config(format!("mail.smtp.password_file {}: {}", file.display(), e.kind()))
                })?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            }
            (None, None) => None,
        };
        let credentials = match (&smtp.username, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(MailError::Config("mail.smtp.username is set without a password".to_owned()));
            }
            (None, Some(_)) => {
                return Err(MailError::Config("a mail.smtp password is set without a username".to_owned()));
            }
        };
        if credentials.is_some() && smtp.tls == TlsMode::None && !is_loopback(&host) {
            return Err(MailError::Config(
                "mail.smtp.tls = \"none\" would send the password in clear text; use \"starttls\" or \"tls\""
                    .to_owned(),
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))))
            .pool_config(PoolConfig::new().max_size(smtp.pool_max.max(1)));
        if smtp.tls != TlsMode::None {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(file) = &smtp.ca_file {
                let pem = std::fs::read(file)
                    .map_err(|e| MailError::Config(format!("mail.smtp.ca_file {}: {}", file.display(), e.kind())))?;
                for cert in pem_certificates(&pem) {
                    let cert = Certificate::from_pem(cert.as_bytes()).map_err(|_| {
                        MailError::Config(format!("mail.smtp.ca_file {}: not a PEM certificate", file.display()))
                    })?;
                    params = params.add_root_certificate(cert);
                }
            }
            let params = params
                .build_rustls()
                .map_err(|_| MailError::Config("mail.smtp: the TLS settings could not be built".to_owned()))?;
            builder = builder.tls(match smtp.tls {
                TlsMode::Starttls => Tls::Required(params),
                _ => Tls::Wrapper(params),
            });
        }
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(SmtpMailer { transport: builder.build(), from, host, port, tls: smtp.tls != TlsMode::None, clock })
    }

    fn error(&self, error: &lettre::transport::smtp::Error) -> MailError {
        MailError::Smtp { host: self.host.clone(), port: self.port, stage: SmtpStage::of(error, self.tls) }
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<MessageId, MailError>> {
        Box::pin(async move {
            let id = MessageId::generate(&self.from);
            let email = message.to_email(&self.from, &id, self.clock.now())?;
            self.transport.send(email).await.map_err(|e| self.error(&e))?;
            Ok(id)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async move {
            match self.transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    Err(MailError::Smtp { host: self.host.clone(), port: self.port, stage: SmtpStage::Protocol })
                }
                Err(e) => Err(self.error(&e)),
            }
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `-----BEGIN CERTIFICATE-----` blocks of a PEM file (lettre takes one at a time).
fn pem_certificates(pem: &[u8]) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut rest = &*text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else { break };
        let end = start + len + END.len();
        out.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SmtpConfig;
    use kluis_domain::time::SystemClock;

    fn config(smtp: SmtpConfig) -> MailConfig {
        MailConfig {
            transport: crate::Transport::Smtp,
            from: "privacy@voorbeeld.nl".to_owned(),
            smtp,
            ..MailConfig::default()
        }
    }

    fn build(smtp: SmtpConfig) -> Result<SmtpMailer, MailError> {
        SmtpMailer::new(&config(smtp), Arc::new(SystemClock))
    }

    #[tokio::test]
    async fn credentials_in_clear_text_are_refused_except_on_loopback() {
        let creds = |host: &str| SmtpConfig {
            host: host.to_owned(),
            tls: TlsMode::None,
            username: Some("u".to_owned()),
            password: Some("secret-pw".to_owned()),
            ..SmtpConfig::default()
        };
        let err = build(creds("smtp.example.nl")).unwrap_err();
        assert!(err.to_string().contains("clear text"), "{err}");
        assert!(!err.to_string().contains("secret-pw"));
        build(creds("127.0.0.1")).unwrap();
        build(creds("localhost")).unwrap();
        build(creds("[::1]")).unwrap();
    }

    #[tokio::test]
    async fn contradictory_or_incomplete_settings_are_refused() {
        let both = SmtpConfig {
            username: Some("u".to_owned()),
            password: Some("p".to_owned()),
            password_file: Some("/nonexistent".into()),
            ..SmtpConfig::default()
        };
        assert!(build(both).unwrap_err().to_string().contains("not both"));
        let no_password = SmtpConfig { username: Some("u".to_owned()), ..SmtpConfig::default() };
        assert!(build(no_password).unwrap_err().to_string().contains("without a password"));
        let no_host = SmtpConfig { host: " ".to_owned(), ..SmtpConfig::default() };
        assert!(build(no_host).unwrap_err().to_string().contains("mail.smtp.host"));
        let missing_file = SmtpConfig {
            username: Some("u".to_owned()),
            password_file: Some("/nonexistent/kluis-smtp-password".into()),
            ..SmtpConfig::default()
        };
        assert!(build(missing_file).unwrap_err().to_string().contains("password_file"));
        let mut no_from = config(SmtpConfig::default());
        no_from.from = String::new();
        assert!(SmtpMailer::new(&no_from, Arc::new(SystemClock)).unwrap_err().to_string().contains("mail.from"));
        no_from.from = "not an address".to_owned();
        let err = SmtpMailer::new(&no_from, Arc::new(SystemClock)).unwrap_err();
        assert_eq!(err.to_string(), "the from address is not a valid e-mail address");
    }

    #[tokio::test]
    async fn the_password_file_is_read_without_its_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let smtp = SmtpConfig { username: Some("u".to_owned()), password_file: Some(file), ..SmtpConfig::default() };
        let mailer = build(smtp).unwrap();
        assert!(!format!("{mailer:?}").contains("s3cret"));
    }

    #[test]
    fn pem_blocks_are_split() {
        let pem = b"junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n";
        let certs = pem_certificates(pem);
        assert_eq!(certs.len(), 2);
        assert!(certs[1].contains("BBB"));
    }
}
