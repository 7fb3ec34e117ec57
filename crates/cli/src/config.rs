//! Configuration: built-in defaults, then the TOML file, then `KLUIS_…` environment variables, then
//! command-line flags. Unknown keys are an error. Secrets can come from files (`*_file` keys, e.g.
//! `KLUIS_ROOT_KEY_FILE`), so they need not sit in the environment.

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use kluis_server::TlsFiles;
use serde::{Deserialize, Serialize};

/// The name of the optional config file inside the data directory.
pub const CONFIG_FILE: &str = "kluis.toml";
/// The default name of the root key file inside the data directory.
pub const ROOT_KEY_FILE: &str = "root.key";
/// The default name of the audit signing key file inside the data directory.
pub const AUDIT_KEY_FILE: &str = "audit.key";
/// The public verifier key of the audit log, written next to it for auditors.
pub const AUDIT_PUB_FILE: &str = "audit.pub";

/// Settings. `Debug` redacts the secrets.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory for the SQLite database and the key files.
    pub data_dir: PathBuf,
    /// Address of the HTTP listener.
    pub listen: SocketAddr,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
    /// A file holding the database URL (for URLs with a password).
    pub database_url_file: Option<PathBuf>,
    /// Maximum PostgreSQL connections of this process.
    pub database_max_connections: u32,
    /// The root key as 64 hex characters (prefer `root_key_file`).
    pub root_key: Option<String>,
    /// The root key file; default `<data_dir>/root.key`.
    pub root_key_file: Option<PathBuf>,
    /// The Ed25519 audit signing key file; default `<data_dir>/audit.key`.
    pub audit_key_file: Option<PathBuf>,
    /// Sign a checkpoint once this many audit events are not yet covered by one.
    pub audit_checkpoint_every_events: u64,
    /// Sign a checkpoint after this many seconds when events are not yet covered by one.
    pub audit_checkpoint_every_seconds: u64,
    /// Catalogue fields that are defined but off by default and should be on (e.g. `gender`).
    pub enable_fields: Vec<String>,
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Log filter, e.g. `info` or `kluis_server=debug,info`.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// PEM certificate chain; with `tls_key`, `kluis serve` speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1, unencrypted).
    pub tls_key: Option<PathBuf>,
    /// Reverse proxies (CIDR entries) whose `X-Forwarded-For` header is believed; empty: the
    /// peer address is the client address.
    pub trusted_proxies: Vec<String>,
    /// Mark the session cookie `Secure` although kluis itself serves plain HTTP (a TLS-terminating
    /// proxy in front). With `tls_cert` the cookie is always `Secure`.
    pub secure_cookies: bool,
    /// Outgoing mail for data-subject requests (`[mail]`, `[mail.smtp]`, `[mail.file]`). Default:
    /// the file transport, one `.eml` per message in `<data_dir>/mail`.
    pub mail: kluis_mail::MailConfig,
    /// The data-subject request workflow (`[requests]`).
    pub requests: RequestsConfig,
}

/// `[requests]`: settings of the data-subject request workflow.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RequestsConfig {
    /// The public base URL of kluis as requesters reach it (`https://privacy.example.nl`), for
    /// the links in the mails (download links). Default: `http(s)://<listen>`.
    pub public_url: Option<String>,
    /// Days an access or portability export can be downloaded before it is deleted.
    pub export_days: u32,
    /// The largest ID document the portal accepts, in bytes.
    pub upload_max_bytes: u64,
    /// Allow sending portability exports (Art. 20(2)) to loopback and private addresses. Off: a
    /// target on this network could be an internal service (server-side request forgery).
    pub transmit_private_networks: bool,
    /// Extra CA certificates (PEM) trusted for those transmissions, beside the public roots.
    pub transmit_ca_file: Option<PathBuf>,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        let defaults = kluis_vault::requests::RequestSettings::default();
        RequestsConfig {
            public_url: None,
            export_days: defaults.export_days,
            upload_max_bytes: defaults.upload_max_bytes,
            transmit_private_networks: false,
            transmit_ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database_url", &self.database_url.as_ref().map(|_| "<redacted>"))
            .field("database_url_file", &self.database_url_file)
            .field("database_max_connections", &self.database_max_connections)
            .field("root_key", &self.root_key.as_ref().map(|_| "<redacted>"))
            .field("root_key_file", &self.root_key_file)
            .field("audit_key_file", &self.audit_key_file)
            .field("audit_checkpoint_every_events", &self.audit_checkpoint_every_events)
            .field("audit_checkpoint_every_seconds", &self.audit_checkpoint_every_seconds)
            .field("enable_fields", &self.enable_fields)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("secure_cookies", &self.secure_cookies)
            .field("mail", &self.mail)
            .field("requests", &self.requests)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("kluis-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            database_url_file: None,
            database_max_connections: 16,
            root_key: None,
            root_key_file: None,
            audit_key_file: None,
            audit_checkpoint_every_events: 1000,
            audit_checkpoint_every_seconds: 60,
            enable_fields: Vec::new(),
            max_body_bytes: 64 * 1024,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            tls_cert: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            mail: kluis_mail::MailConfig::default(),
            requests: RequestsConfig::default(),
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

/// Environment variables with the `KLUIS_` prefix that are not settings.
const NOT_SETTINGS: [&str; 1] = ["config"];

/// Loads the configuration. `config_file` is `--config`/`KLUIS_CONFIG`; without it,
/// `<data_dir>/kluis.toml` is read when it exists.
#[allow(clippy::result_large_err)] // built once at start-up; figment's error carries its provenance
pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Config, figment::Error> {
    let env = || {
        Env::prefixed("KLUIS_")
            .ignore(&NOT_SETTINGS)
            // Test harnesses use KLUIS_TEST_*; they are not settings of this process.
            .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
            // Nested tables: `KLUIS_MAIL__SMTP__HOST` is `mail.smtp.host`.
            .split("__")
    };
    let base = Figment::from(Serialized::defaults(Config::default()));
    let file = if let Some(path) = config_file {
        path.to_path_buf()
    } else {
        // Where the data directory is decides where the default config file is.
        let data_dir: PathBuf = base
            .clone()
            .merge(env().only(&["data_dir"]))
            .merge(Serialized::defaults(overrides))
            .extract_inner("data_dir")?;
        data_dir.join(CONFIG_FILE)
    };
    if config_file.is_some() && !file.exists() {
        return Err(figment::Error::from(format!("the config file {} does not exist", file.display())));
    }
    // An explicit file must exist (checked above); the default one is optional.
    let toml = if config_file.is_some() { Toml::file_exact(&file) } else { Toml::file(&file) };
    base.merge(toml).merge(env()).merge(Serialized::defaults(overrides)).extract()
}

impl Config {
    pub fn root_key_path(&self) -> PathBuf {
        self.root_key_file.clone().unwrap_or_else(|| self.data_dir.join(ROOT_KEY_FILE))
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file.clone().unwrap_or_else(|| self.data_dir.join(AUDIT_KEY_FILE))
    }

    /// The certificate and key for HTTPS: both set, or neither (plain HTTP).
    pub fn tls_files(&self) -> anyhow::Result<Option<TlsFiles>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert: cert.clone(), key: key.clone() })),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!(
                "a TLS certificate is set (--tls-cert / tls_cert) but no key: give --tls-key FILE \
                 (or tls_key / KLUIS_TLS_KEY) too, or neither for plain HTTP"
            ),
            (None, Some(_)) => anyhow::bail!(
                "a TLS key is set (--tls-key / tls_key) but no certificate: give --tls-cert FILE \
                 (or tls_cert / KLUIS_TLS_CERT) too, or neither for plain HTTP"
            ),
        }
    }

    /// The mail settings as `serve` uses them: a relative `mail.file.directory` is taken inside
    /// the data directory, and the file transport without `mail.from` sends as
    /// `privacy@localhost`. SMTP needs `mail.from`.
    pub fn mail(&self) -> anyhow::Result<kluis_mail::MailConfig> {
        let mut mail = self.mail.clone();
        if mail.file.directory.is_relative() {
            mail.file.directory = self.data_dir.join(&mail.file.directory);
        }
        if mail.from.trim().is_empty() {
            match mail.transport {
                kluis_mail::Transport::File => "privacy@localhost".clone_into(&mut mail.from),
                kluis_mail::Transport::Smtp => anyhow::bail!(
                    "mail.from is not set: the SMTP transport needs the address notices are sent from \
                     ([mail] from = \"privacy@example.nl\", or KLUIS_MAIL__FROM)"
                ),
            }
        }
        Ok(mail)
    }

    /// The settings of the data-subject request workflow: `[requests]`, with the notices signed
    /// by the `[mail]` sender. `public_url` defaults to the listen address.
    pub fn request_settings(&self, tls: bool) -> anyhow::Result<kluis_vault::requests::RequestSettings> {
        let mut settings = kluis_vault::requests::RequestSettings {
            public_url: match &self.requests.public_url {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None => format!("{}://{}", if tls { "https" } else { "http" }, self.listen),
            },
            export_days: self.requests.export_days.max(1),
            upload_max_bytes: self.requests.upload_max_bytes,
            ..kluis_vault::requests::RequestSettings::default()
        };
        if !self.mail.from.trim().is_empty() {
            settings.sender_email.clone_from(&self.mail.from);
        }
        if let Some(name) = &self.mail.from_name {
            settings.sender_name.clone_from(name);
        }
        settings.transmit.allow_private_networks = self.requests.transmit_private_networks;
        if let Some(path) = &self.requests.transmit_ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("requests.transmit_ca_file: cannot read {}", path.display()))?;
            settings.transmit.extra_root_pem = Some(pem);
        }
        Ok(settings)
    }

    /// The PostgreSQL URL, if one is configured (from `database_url` or `database_url_file`).
    pub fn database_url(&self) -> anyhow::Result<Option<String>> {
        match (&self.database_url, &self.database_url_file) {
            (Some(_), Some(_)) => anyhow::bail!("set database_url or database_url_file, not both"),
            (Some(url), None) => Ok(Some(url.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read database_url_file {}: {e}", path.display()))?;
                Ok(Some(text.trim().to_owned()))
            }
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment's error
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_apply_without_file_or_env() {
        Jail::expect_with(|_jail| {
            let config = load(None, &Overrides::default())?;
            assert_eq!(config, Config::default());
            Ok(())
        });
    }

    #[test]
    fn file_then_env_then_flags() {
        Jail::expect_with(|jail| {
            jail.create_dir("kluis-data")?;
            jail.create_file(
                "kluis-data/kluis.toml",
                "listen = \"127.0.0.1:9000\"\nlog_level = \"debug\"\nmax_body_bytes = 1000\n",
            )?;
            let config = load(None, &Overrides::default())?;
            assert_eq!(config.listen.port(), 9000);
            assert_eq!(config.log_level, "debug");

            jail.set_env("KLUIS_LISTEN", "127.0.0.1:9001");
            jail.set_env("KLUIS_MAX_BODY_BYTES", "2000");
            let config = load(None, &Overrides::default())?;
            assert_eq!(config.listen.port(), 9001);
            assert_eq!(config.max_body_bytes, 2000);
            assert_eq!(config.log_level, "debug", "the file still applies where env is silent");

            let flags = Overrides { listen: Some("127.0.0.1:9002".parse().unwrap()), ..Overrides::default() };
            assert_eq!(load(None, &flags)?.listen.port(), 9002);
            Ok(())
        });
    }

    #[test]
    fn data_dir_from_env_moves_the_config_file() {
        Jail::expect_with(|jail| {
            jail.create_dir("elsewhere")?;
            jail.create_file("elsewhere/kluis.toml", "log_format = \"json\"\n")?;
            jail.set_env("KLUIS_DATA_DIR", "elsewhere");
            let config = load(None, &Overrides::default())?;
            assert_eq!(config.log_format, LogFormat::Json);
            assert_eq!(config.data_dir, PathBuf::from("elsewhere"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_dir("kluis-data")?;
            jail.create_file("kluis-data/kluis.toml", "lissten = \"127.0.0.1:9000\"\n")?;
            let err = load(None, &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("lissten"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("KLUIS_DATABSE_URL", "postgres://x");
            let err = load(None, &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("databse_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn test_variables_and_config_path_are_not_settings() {
        Jail::expect_with(|jail| {
            jail.set_env("KLUIS_TEST_DATABASE_URL", "postgres://x");
            jail.set_env("KLUIS_CONFIG", "whatever.toml");
            assert!(load(None, &Overrides::default()).is_ok());
            Ok(())
        });
    }

    #[test]
    fn explicit_config_file_must_exist() {
        Jail::expect_with(|_jail| {
            let err = load(Some(Path::new("missing.toml")), &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("does not exist"));
            Ok(())
        });
    }

    #[test]
    fn secrets_from_files() {
        Jail::expect_with(|jail| {
            jail.create_file("db-url", "postgres://u:pw@127.0.0.1/db\n")?;
            jail.set_env("KLUIS_DATABASE_URL_FILE", "db-url");
            let config = load(None, &Overrides::default())?;
            assert_eq!(config.database_url().unwrap().as_deref(), Some("postgres://u:pw@127.0.0.1/db"));
            jail.set_env("KLUIS_DATABASE_URL", "postgres://other");
            let config = load(None, &Overrides::default())?;
            assert!(config.database_url().is_err(), "both set is ambiguous");
            Ok(())
        });
    }

    #[test]
    fn tls_files_come_as_a_pair_from_any_layer() {
        Jail::expect_with(|jail| {
            assert_eq!(load(None, &Overrides::default())?.tls_files().unwrap(), None, "plain HTTP by default");

            jail.set_env("KLUIS_TLS_CERT", "cert.pem");
            let err = load(None, &Overrides::default())?.tls_files().unwrap_err().to_string();
            assert!(err.contains("--tls-key"), "{err}");

            // The key from a flag completes the certificate from the environment.
            let flags = Overrides { tls_key: Some("key.pem".into()), ..Overrides::default() };
            let files = load(None, &flags)?.tls_files().unwrap().expect("both set");
            assert_eq!((files.cert, files.key), (PathBuf::from("cert.pem"), PathBuf::from("key.pem")));

            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_dir("kluis-data")?;
            jail.create_file("kluis-data/kluis.toml", "tls_key = \"file-key.pem\"\n")?;
            let flags = Overrides { tls_cert: Some("flag-cert.pem".into()), ..Overrides::default() };
            let files = load(None, &flags)?.tls_files().unwrap().expect("both set");
            assert_eq!((files.cert, files.key), (PathBuf::from("flag-cert.pem"), PathBuf::from("file-key.pem")));
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("KLUIS_TLS_KEY", "key.pem");
            let err = load(None, &Overrides::default())?.tls_files().unwrap_err().to_string();
            assert!(err.contains("--tls-cert"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn mail_and_requests_sections() {
        Jail::expect_with(|jail| {
            let config = load(None, &Overrides::default())?;
            let mail = config.mail().unwrap();
            assert_eq!(mail.transport, kluis_mail::Transport::File, "the file transport by default");
            assert_eq!(mail.file.directory, PathBuf::from("kluis-data/mail"), "inside the data directory");
            let settings = config.request_settings(false).unwrap();
            assert_eq!(settings.public_url, "http://127.0.0.1:8080");
            assert_eq!(settings.export_days, 14);
            assert!(!settings.transmit.allow_private_networks, "no transmissions to this network by default");

            jail.create_dir("kluis-data")?;
            jail.create_file(
                "kluis-data/kluis.toml",
                "[mail]\ntransport = \"smtp\"\nfrom = \"privacy@voorbeeld.nl\"\nfrom_name = \"Voorbeeld B.V.\"\n\n\
                 [mail.smtp]\nhost = \"smtp.voorbeeld.nl\"\ntls = \"tls\"\nusername = \"kluis\"\n\
                 password_file = \"/run/secrets/smtp\"\n\n\
                 [requests]\npublic_url = \"https://privacy.voorbeeld.nl/\"\nexport_days = 7\nupload_max_bytes = 1000000\n\
                 transmit_private_networks = true\ntransmit_ca_file = \"ca.pem\"\n",
            )?;
            jail.create_file("ca.pem", "-----BEGIN CERTIFICATE-----\n")?;
            jail.set_env("KLUIS_MAIL__SMTP__PORT", "2465");
            let config = load(None, &Overrides::default())?;
            let mail = config.mail().unwrap();
            assert_eq!(mail.transport, kluis_mail::Transport::Smtp);
            assert_eq!(mail.smtp.host, "smtp.voorbeeld.nl");
            assert_eq!(mail.smtp.tls, kluis_mail::TlsMode::Tls);
            assert_eq!(mail.smtp.port(), 2465, "nested keys from the environment");
            assert_eq!(mail.smtp.timeout_secs, 30, "defaults fill what the file leaves out");
            let settings = config.request_settings(false).unwrap();
            assert_eq!(settings.public_url, "https://privacy.voorbeeld.nl");
            assert!(settings.transmit.allow_private_networks);
            assert_eq!(settings.transmit.extra_root_pem.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]));
            assert_eq!((settings.export_days, settings.upload_max_bytes), (7, 1_000_000));
            assert_eq!(
                (settings.sender_email.as_str(), settings.sender_name.as_str()),
                ("privacy@voorbeeld.nl", "Voorbeeld B.V.")
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_dir("kluis-data")?;
            jail.create_file("kluis-data/kluis.toml", "[mail]\ntransport = \"smtp\"\n")?;
            let err = load(None, &Overrides::default())?.mail().unwrap_err().to_string();
            assert!(err.contains("mail.from"), "{err}");
            jail.create_file("kluis-data/kluis.toml", "[requests]\nexport_dayz = 3\n")?;
            let err = load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(err.contains("export_dayz"), "unknown keys in the sections are errors: {err}");
            Ok(())
        });
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut config = Config {
            root_key: Some("aa".repeat(32)),
            database_url: Some("postgres://u:hunter2@h/db".into()),
            ..Config::default()
        };
        config.mail.smtp.password = Some("smtp-hunter3".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(&"aa".repeat(32)), "{shown}");
        assert!(!shown.contains("smtp-hunter3"), "{shown}");
    }
}
