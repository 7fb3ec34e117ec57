//! The file mailer: one RFC 5322 `.eml` file per message, for local use and development.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kluis_domain::time::{Clock, Timestamp};
use lettre::message::Mailbox;

use crate::config::MailConfig;
use crate::error::MailError;
use crate::message::{Message, MessageId, from_mailbox};
use crate::{BoxFuture, Mailer};

/// Writes each message to `<directory>/<UTC time>_<Message-ID>.eml` (e.g.
/// `20231114T221320.000Z_0f3c…@example.nl.eml`), mode 0600, atomically: written to a hidden
/// temporary file, synced, then renamed, so a reader never sees half a message. The names sort in
/// sending order.
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
    clock: Arc<dyn Clock>,
}

/// Reads back what the file mailer wrote: undoes the quoted-printable transfer encoding of a
/// whole `.eml` text (soft line breaks and `=XX`; invalid UTF-8 replaced), so the notice can be
/// read or searched as it was composed. For tools and tests that look at `<data_dir>/mail`.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FileMailer {
    /// Uses `config.file.directory` (created with mode 0700 when missing) and `config.from`.
    pub fn new(config: &MailConfig, clock: Arc<dyn Clock>) -> Result<FileMailer, MailError> {
        let from = from_mailbox(&config.from, config.from_name.as_deref())?;
        let dir = config.file.directory.clone();
        if dir.as_os_str().is_empty() {
            return Err(MailError::Config("mail.file.directory is not set".to_owned()));
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| io_error(&dir, "creating the directory", &e))?;
        Ok(FileMailer { dir, from, clock })
    }

    pub fn directory(&self) -> &Path {
        &self.dir
    }
}

impl std::fmt::Debug for FileMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileMailer")
            .field("dir", &self.dir)
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer for FileMailer {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<MessageId, MailError>> {
        Box::pin(async move {
            let id = MessageId::generate(&self.from);
            let now = self.clock.now();
            let bytes = message.to_email(&self.from, &id, now)?.formatted();
            let name = file_name(now, &id);
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes)).await.map_err(|_| {
                MailError::File { dir: self.dir.clone(), stage: "the writer task", kind: std::io::ErrorKind::Other }
            })??;
            Ok(id)
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let probe = format!(".check-{}", uuid::Uuid::new_v4().simple());
            tokio::task::spawn_blocking(move || {
                write_atomically(&dir, &probe, b"")?;
                std::fs::remove_file(dir.join(&probe)).map_err(|e| io_error(&dir, "removing the probe file", &e))
            })
            .await
            .map_err(|_| MailError::File {
                dir: self.dir.clone(),
                stage: "the writer task",
                kind: std::io::ErrorKind::Other,
            })?
        })
    }
}

/// `20231114T221320.000Z_<id without brackets>.eml`, keeping only characters safe in a file name.
fn file_name(now: Timestamp, id: &MessageId) -> String {
    let stamp: String = now.rfc3339_utc().chars().filter(|c| *c != '-' && *c != ':').collect();
    let id: String = id
        .as_str()
        .chars()
        .filter(|c| *c != '<' && *c != '>')
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-') { c } else { '_' })
        .collect();
    format!("{stamp}_{id}.eml")
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MailError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| io_error(dir, "creating the file", &e))?;
        file.write_all(bytes).map_err(|e| io_error(dir, "writing the file", &e))?;
        file.sync_all().map_err(|e| io_error(dir, "syncing the file", &e))?;
        std::fs::rename(&tmp, dir.join(name)).map_err(|e| io_error(dir, "renaming the file", &e))?;
        // The rename is durable once the directory is synced.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, "syncing the directory", &e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn io_error(dir: &Path, stage: &'static str, error: &std::io::Error) -> MailError {
    MailError::File { dir: dir.to_owned(), stage, kind: error.kind() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::templates::{Lang, Notice, RequestKind, RequestRef, Sender, VerificationCode};
    use kluis_domain::time::ManualClock;

    fn mailer(dir: &Path) -> FileMailer {
        let config = MailConfig {
            from: "privacy@voorbeeld.nl".to_owned(),
            from_name: Some("Voorbeeld B.V.".to_owned()),
            file: FileConfig { directory: dir.join("mail") },
            ..MailConfig::default()
        };
        FileMailer::new(&config, Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_123)))).unwrap()
    }

    fn message() -> Message {
        let sender = Sender {
            controller: "Voorbeeld B.V.".to_owned(),
            contact_email: "privacy@voorbeeld.nl".to_owned(),
            postal_address: None,
            website: None,
        };
        let notice = Notice::Code {
            request: RequestRef { reference: "KL-1".to_owned(), kind: RequestKind::Access },
            code: VerificationCode("481516".to_owned()),
            valid_minutes: 15,
        };
        Message::compose("jan@example.nl", Lang::Both, &sender, &notice).unwrap()
    }

    #[tokio::test]
    async fn writes_one_private_file_per_message_named_by_time_and_id() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = mailer(tmp.path());
        mailer.check().await.unwrap();
        let first = mailer.send(&message()).await.unwrap();
        let second = mailer.send(&message()).await.unwrap();
        assert_ne!(first, second);
        let mut names: Vec<String> = std::fs::read_dir(mailer.directory())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        for name in &names {
            assert!(name.starts_with("20231114T221320.123Z_"), "{name}");
            assert!(name.ends_with("@voorbeeld.nl.eml"), "{name}");
        }
        for id in [&first, &second] {
            let bare = id.as_str().trim_matches(['<', '>']);
            let name = names.iter().find(|n| n.contains(bare)).expect("a file per id");
            let path = mailer.directory().join(name);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            }
            let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
            assert!(text.contains(&format!("Message-ID: {id}\r\n")), "{text}");
            assert!(text.contains("To: jan@example.nl\r\n"), "{text}");
            assert!(text.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), "{text}");
            assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{text}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(mailer.directory()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[test]
    fn quoted_printable_known_answers() {
        assert_eq!(decode_quoted_printable("caf=C3=A9 en =\r\nbrood=3D"), "café en brood=");
        assert_eq!(decode_quoted_printable("a=\nb =ZZ ="), "ab =ZZ =", "soft breaks; no valid escape, kept");
    }

    #[tokio::test]
    async fn a_written_notice_reads_back_as_composed() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = mailer(tmp.path());
        mailer.send(&message()).await.unwrap();
        let path = std::fs::read_dir(mailer.directory()).unwrap().next().unwrap().unwrap().path();
        let raw = std::fs::read_to_string(path).unwrap();
        let text = decode_quoted_printable(&raw);
        assert!(text.contains("481516") && text.contains("Uw verificatiecode"), "{text}");
    }

    #[tokio::test]
    async fn an_unwritable_directory_is_an_error_naming_the_directory_only() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = mailer(tmp.path());
        std::fs::remove_dir(mailer.directory()).unwrap();
        std::fs::write(mailer.directory(), b"not a directory").unwrap();
        let err = mailer.send(&message()).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, MailError::File { .. }), "{err:?}");
        assert!(text.contains("mail"), "{text}");
        assert!(!text.contains("jan@example.nl") && !text.contains("481516"), "{text}");
    }
}
