//! kluis-mail against a real SMTP server: aiosmtpd, started per test by `tests/mailsink.py` on a
//! free loopback port, which stores every message it accepts with its envelope and the way
//! Python's `email` package parses it. And the file mailer's output, parsed the same way.
//!
//! Python is `KLUIS_TEST_PYTHON`, else the first of `python3`, `/usr/bin/python3` that can import
//! `aiosmtpd` (scripts/test installs it). A missing aiosmtpd fails the SMTP tests, unless
//! `KLUIS_TEST_SKIP_SMTP=1`, which skips them with a message.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kluis_domain::time::{ManualClock, Timestamp};
use kluis_mail::{
    Download, ExtensionReason, FileConfig, FileMailer, Lang, MailConfig, MailError, Mailer, Message, Notice,
    RecipientChange, RefusalReason, RequestKind, RequestRef, Sender, SmtpConfig, SmtpMailer, SmtpStage, Text, TlsMode,
    Transport, VerificationCode,
};
use serde_json::Value;
use time::macros::{date, datetime};

const RECIPIENT: &str = "zoë.tester@example.nl";
const RECIPIENT_ASCII: &str = "jan.de.vries@example.nl";
const FROM: &str = "privacy@brulee.example";
const FROM_NAME: &str = "Bakkerij Zoë & Brûlée B.V.";
const CODE: &str = "481516";

fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailsink.py")
}

fn can_import(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python with aiosmtpd, or `None` when `KLUIS_TEST_SKIP_SMTP=1` (the test then skips).
fn python_with_aiosmtpd() -> Option<String> {
    if std::env::var("KLUIS_TEST_SKIP_SMTP").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: KLUIS_TEST_SKIP_SMTP=1, so the tests against a real SMTP server do not run");
        return None;
    }
    if let Ok(python) = std::env::var("KLUIS_TEST_PYTHON") {
        assert!(can_import(&python, "aiosmtpd"), "KLUIS_TEST_PYTHON={python} cannot import aiosmtpd");
        return Some(python);
    }
    for python in ["python3", "/usr/bin/python3"] {
        if can_import(python, "aiosmtpd") {
            return Some(python.to_owned());
        }
    }
    panic!(
        "no Python with aiosmtpd for the SMTP tests: run scripts/test (it installs python3-aiosmtpd), \
         or `apt-get install python3-aiosmtpd` / `pip install aiosmtpd`, or set KLUIS_TEST_PYTHON; \
         KLUIS_TEST_SKIP_SMTP=1 skips these tests"
    );
}

/// A Python for parsing only (the standard library's `email`).
fn python_for_parsing() -> String {
    std::env::var("KLUIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// A running aiosmtpd. Dropping it closes its standard input, which stops it, and reaps it.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start(python: &str, args: &[&str]) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let stderr = std::fs::File::create(dir.path().join("sink.log")).unwrap();
        let mut child = Command::new(python)
            .arg(sink_script())
            .arg("serve")
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Ok(port) = line.trim().parse() else {
            let _ = child.wait();
            panic!("the SMTP sink did not start: {}", std::fs::read_to_string(dir.path().join("sink.log")).unwrap());
        };
        Sink { child, port, dir }
    }

    /// Waits until `n` messages have arrived and returns them in order; fails on more.
    fn messages(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            if names.len() >= n {
                assert_eq!(names.len(), n, "more messages than sent");
                names.sort();
                return names.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect();
            }
            assert!(Instant::now() < deadline, "only {} of {n} messages arrived", names.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sender() -> Sender {
    Sender {
        controller: FROM_NAME.to_owned(),
        contact_email: "vragen@brulee.example".to_owned(),
        postal_address: Some("Kerkstraat 1, 1017 GA Amsterdam".to_owned()),
        website: Some("https://brulee.example".to_owned()),
    }
}

fn request(kind: RequestKind) -> RequestRef {
    RequestRef { reference: "KL-2023-0042".to_owned(), kind }
}

const DOWNLOAD: &str = "https://kluis.brulee.example/download/7f3a9c2e-8d41-4b6f-a0c5-31e9d2f8b7a4?token=Zm9vYmFy";

/// Every notice, with a phrase its Dutch and its English text must contain.
fn notices() -> Vec<(Notice, &'static [&'static str])> {
    vec![
        (
            Notice::Received {
                request: request(RequestKind::Access),
                received: date!(2023 - 11 - 14),
                due: date!(2023 - 12 - 14),
            },
            &["Uiterste datum:  14 december 2023", "Due date:         14 December 2023", "vóór die datum"],
        ),
        (
            Notice::Code {
                request: request(RequestKind::Erasure),
                code: VerificationCode(CODE.to_owned()),
                valid_minutes: 15,
            },
            &["    481516\n", "nooit om uw wachtwoord", "never ask for your password"],
        ),
        (
            Notice::Extended {
                request: request(RequestKind::Portability),
                new_due: date!(2024 - 02 - 14),
                reasons: vec![ExtensionReason::Complexity],
            },
            &["14 februari 2024", "14 February 2024", "Uw verzoek is complex", "Your request is complex"],
        ),
        (
            Notice::Completed {
                request: request(RequestKind::Access),
                download: Some(Download { url: DOWNLOAD.to_owned(), expires: datetime!(2023-11-21 14:00 +01:00) }),
            },
            &[DOWNLOAD, "nooit als bijlage", "never send personal data as an e-mail attachment"],
        ),
        (
            Notice::Refused {
                request: request(RequestKind::Erasure),
                reasons: vec![
                    RefusalReason::LegalObligation,
                    RefusalReason::Other(Text::new(
                        "De factuur van € 12,50 moet zeven jaar bewaard blijven.",
                        "The invoice of €12.50 must be kept for seven years.",
                    )),
                ],
            },
            &[
                "Autoriteit Persoonsgegevens",
                "https://autoriteitpersoonsgegevens.nl",
                "zes weken",
                "six weeks",
                "€ 12,50",
                "€12.50",
            ],
        ),
        (
            Notice::CannotIdentify {
                request: request(RequestKind::Objection),
                needed: Some(Text::new("uw klantnummer.", "your customer number.")),
            },
            &["artikel 11, lid 2", "Articles 11(2) and 12(2) GDPR", "zes weken", "six weeks"],
        ),
        (
            Notice::RestrictionLifted { request: request(RequestKind::Restriction) },
            &["artikel 18 AVG", "Article 18 GDPR", "opheffen", "lifting this restriction"],
        ),
        (
            recipient_update(RecipientChange::Rectified),
            &[SUBJECT_ID, "- user.contact.email\n", "artikel 19 AVG", "Article 19 GDPR", "kanaal waarlangs"],
        ),
    ]
}

/// The Art. 19 recipient (a processor) and the subject's pseudonymous kluis reference.
const PROCESSOR: &str = "privacy@ovh.example";
const SUBJECT_ID: &str = "0190f3a2-7c4e-7b21-9d5a-3e8f6c1b2a90";
/// The subject's old and corrected data: they must never reach a recipient's mailbox.
const VALUES: [&str; 4] = ["jan.de.vries@example.nl", "jan.nieuw@example.nl", "Molenweg 3", "Dorpsweg 7"];

fn recipient_update(change: RecipientChange) -> Notice {
    // The request kind that change carries out, by the crate's own mapping.
    let kind = [RequestKind::Rectification, RequestKind::Erasure, RequestKind::Restriction]
        .into_iter()
        .find(|kind| RecipientChange::for_request(*kind) == Some(change))
        .expect("each change carries out one kind of request");
    Notice::RecipientUpdate {
        request: request(kind),
        recipient: "OVH / So you Start".to_owned(),
        subject: SUBJECT_ID.to_owned(),
        change,
        categories: vec!["user.contact.email".to_owned(), "user.contact.address".to_owned()],
    }
}

fn smtp_config(port: u16) -> MailConfig {
    MailConfig {
        transport: Transport::Smtp,
        from: FROM.to_owned(),
        from_name: Some(FROM_NAME.to_owned()),
        smtp: SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Some(port),
            tls: TlsMode::None,
            timeout_secs: 10,
            ..SmtpConfig::default()
        },
        ..MailConfig::default()
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)))
}

/// Checks one delivered (or written) message against what was composed; `parsed` is the
/// `email` package's view of it.
fn assert_intact(parsed: &Value, message: &Message, id: &str, to: &str, phrases: &[&str]) {
    let s = |key: &str| parsed[key].as_str().unwrap_or_else(|| panic!("{key} in {parsed}")).to_owned();
    assert_eq!(s("from"), format!("\"{FROM_NAME}\" <{FROM}>"), "UTF-8 display name decoded intact");
    assert_eq!(s("to"), to);
    assert_eq!(s("reply_to"), "vragen@brulee.example");
    assert_eq!(s("subject"), message.subject());
    assert_eq!(s("message_id"), id);
    assert_eq!(s("date"), "Tue, 14 Nov 2023 22:13:20 +0000");
    assert_eq!(s("content_type"), "text/plain");
    assert_eq!(s("charset"), "utf-8");
    assert_eq!(s("transfer_encoding"), "quoted-printable");
    assert_eq!(s("auto_submitted"), "auto-generated");
    assert_eq!(parsed["is_multipart"], false);
    assert_eq!(parsed["parts"], 1);
    assert_eq!(parsed["attachments"], 0, "never an attachment");
    assert_eq!(parsed["defects"], serde_json::json!([]), "parsed without defects");
    // 7-bit on the wire, but for an internationalised address (sent with SMTPUTF8).
    assert_eq!(parsed["raw_is_ascii"], to.is_ascii(), "7-bit on the wire");
    assert_eq!(parsed["too_long_lines"], serde_json::json!([]), "lines of at most 998 characters");
    assert_eq!(parsed["long_body_lines"], serde_json::json!([]), "body lines of at most 78 characters");
    // Line ends arrive as CRLF, and the transports add a final line break.
    let body = s("body").replace("\r\n", "\n");
    assert_eq!(body.trim_end(), message.body().trim_end(), "the body arrives intact (as UTF-8 text)");
    assert!(body.contains("Geachte heer, mevrouw,") && body.contains("Dear Sir or Madam,"), "both languages");
    assert!(body.find("Met vriendelijke groet").unwrap() < body.find("Kind regards").unwrap(), "Dutch first");
    assert!(body.contains("Zoë & Brûlée"), "ë and û intact");
    for phrase in phrases {
        let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(body.contains(phrase) || flat.contains(phrase), "{phrase:?} missing in\n{body}");
    }
}

#[tokio::test]
async fn every_notice_is_delivered_intact_in_both_languages() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &[]);
    let mailer = SmtpMailer::new(&smtp_config(sink.port), clock()).unwrap();
    mailer.check().await.unwrap();
    let mut sent = Vec::new();
    for (i, (notice, phrases)) in notices().into_iter().enumerate() {
        // One recipient with a non-ASCII local part (SMTPUTF8), the others plain.
        let to = if i == 0 { RECIPIENT } else { RECIPIENT_ASCII };
        let message = Message::compose(to, Lang::Both, &sender(), &notice).unwrap();
        let id = mailer.send(&message).await.unwrap();
        sent.push((message, id, to, phrases));
    }
    let delivered = sink.messages(sent.len());
    for ((message, id, to, phrases), got) in sent.iter().zip(&delivered) {
        assert_eq!(got["mail_from"], FROM);
        assert_eq!(got["rcpt_tos"], serde_json::json!([to]));
        assert_eq!(got["tls"], false);
        assert_intact(&got["message"], message, id.as_str(), to, phrases);
    }
}

#[tokio::test]
async fn one_language_only_when_the_requester_chose_it() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &[]);
    let mailer = SmtpMailer::new(&smtp_config(sink.port), clock()).unwrap();
    let notice = &notices()[4].0;
    for lang in [Lang::Nl, Lang::En] {
        let message = Message::compose(RECIPIENT_ASCII, lang, &sender(), notice).unwrap();
        mailer.send(&message).await.unwrap();
    }
    let got = sink.messages(2);
    let nl = got[0]["message"]["body"].as_str().unwrap();
    let en = got[1]["message"]["body"].as_str().unwrap();
    assert_eq!(got[0]["message"]["content_language"], "nl");
    assert_eq!(got[1]["message"]["content_language"], "en");
    assert!(nl.contains("Autoriteit Persoonsgegevens") && !nl.contains("Dear Sir or Madam"));
    assert!(en.contains("Autoriteit Persoonsgegevens") && !en.contains("Geachte heer"));
    assert_eq!(got[0]["message"]["subject"], "Uw verzoek is afgewezen (KL-2023-0042)");
    assert_eq!(got[1]["message"]["subject"], "Your request has been refused (KL-2023-0042)");
}

#[tokio::test]
async fn the_pool_delivers_concurrent_messages_once_each() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &[]);
    let mailer = Arc::new(SmtpMailer::new(&smtp_config(sink.port), clock()).unwrap());
    let notice = notices().remove(1).0;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let mailer = Arc::clone(&mailer);
            let message = Message::compose(&format!("user{i}@example.nl"), Lang::Both, &sender(), &notice).unwrap();
            tokio::spawn(async move { mailer.send(&message).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().to_string());
    }
    let got = sink.messages(12);
    let mut delivered: Vec<String> =
        got.iter().map(|m| m["message"]["message_id"].as_str().unwrap().to_owned()).collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids);
    let mut rcpts: Vec<String> = got.iter().map(|m| m["rcpt_tos"][0].as_str().unwrap().to_owned()).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), 12);
}

/// The Art. 19 notice reaches the recipient's address with its subject line, the request reference,
/// the subject's kluis reference and the categories, and none of the values that changed.
#[tokio::test]
async fn art_19_notices_reach_the_recipient_with_categories_and_no_value() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &[]);
    let mailer = SmtpMailer::new(&smtp_config(sink.port), clock()).unwrap();
    let sent = [
        (RecipientChange::Rectified, Lang::Both),
        (RecipientChange::Erased, Lang::Nl),
        (RecipientChange::Restricted, Lang::En),
    ];
    let mut ids = Vec::new();
    for (change, lang) in sent {
        let message = Message::compose(PROCESSOR, lang, &sender(), &recipient_update(change)).unwrap();
        assert_eq!(message.template(), "recipient_update");
        ids.push(mailer.send(&message).await.unwrap());
    }
    let got = sink.messages(sent.len());
    let subjects: Vec<&str> = got.iter().map(|m| m["message"]["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            "Kennisgeving van rectificatie van persoonsgegevens / Notice of rectification of personal data \
             (KL-2023-0042)",
            "Kennisgeving van wissing van persoonsgegevens (KL-2023-0042)",
            "Notice of restriction of processing (KL-2023-0042)",
        ]
    );
    let asked = ["haal ze op via het kanaal", "eveneens te wissen", "Please restrict the processing"];
    for ((got, id), asked) in got.iter().zip(&ids).zip(asked) {
        assert_eq!(got["mail_from"], FROM);
        assert_eq!(got["rcpt_tos"], serde_json::json!([PROCESSOR]));
        let message = &got["message"];
        assert_eq!(message["to"], PROCESSOR);
        assert_eq!(message["message_id"], id.as_str());
        assert_eq!(message["attachments"], 0);
        assert_eq!(message["defects"], serde_json::json!([]));
        let body = message["body"].as_str().unwrap().replace("\r\n", "\n");
        let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(body.contains("\n- user.contact.email\n- user.contact.address\n"), "{body}");
        for phrase in ["KL-2023-0042", SUBJECT_ID, "OVH / So you Start", asked] {
            assert!(flat.contains(phrase), "{phrase:?} missing in\n{body}");
        }
        assert!(flat.contains("artikel 19 AVG") || flat.contains("Article 19 GDPR"), "{body}");
        for value in VALUES {
            assert!(!body.contains(value), "{value:?} in\n{body}");
        }
        // The only address in the body is the controller's own.
        let addresses: Vec<&str> = body.split_whitespace().filter(|w| w.contains('@')).collect();
        assert!(addresses.iter().all(|a| a.trim_end_matches(['.', ',']) == "vragen@brulee.example"), "{addresses:?}");
    }
    assert_eq!(got[1]["message"]["content_language"], "nl");
    assert_eq!(got[2]["message"]["content_language"], "en");
}

/// The error's `Display`, `Debug` and source chain carry none of the message's personal data.
fn assert_no_personal_data(err: &MailError, message: &Message) {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        texts.push(s.to_string());
        source = s.source();
    }
    for text in texts {
        for secret in [RECIPIENT_ASCII, "jan.de.vries", CODE, message.subject(), "Geachte", "KL-2023-0042"] {
            assert!(!text.contains(secret), "{secret:?} leaked into {text:?}");
        }
    }
}

fn code_message() -> Message {
    Message::compose(RECIPIENT_ASCII, Lang::Both, &sender(), &notices()[1].0).unwrap()
}

#[tokio::test]
async fn a_wrong_port_is_an_error_naming_host_and_port_not_the_recipient() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mailer = SmtpMailer::new(&smtp_config(port), clock()).unwrap();
    let message = code_message();
    let err = mailer.send(&message).await.unwrap_err();
    let MailError::Smtp { host, port: got_port, stage } = &err else { panic!("{err:?}") };
    assert_eq!((host.as_str(), *got_port), ("127.0.0.1", port));
    assert_eq!(*stage, SmtpStage::Network(Some(std::io::ErrorKind::ConnectionRefused)));
    assert_eq!(err.to_string(), format!("SMTP server 127.0.0.1:{port}: network error (connection refused)"));
    assert_no_personal_data(&err, &message);
    let check = mailer.check().await.unwrap_err();
    assert!(check.to_string().contains(&format!("127.0.0.1:{port}")), "{check}");
}

#[tokio::test]
async fn a_rejected_recipient_is_reported_by_reply_code_not_by_address() {
    let Some(python) = python_with_aiosmtpd() else { return };
    // The sink echoes the address in its 550 reply, as real relays do.
    let sink = Sink::start(&python, &["--reject-rcpt"]);
    let mailer = SmtpMailer::new(&smtp_config(sink.port), clock()).unwrap();
    let message = code_message();
    let err = mailer.send(&message).await.unwrap_err();
    assert!(
        matches!(&err, MailError::Smtp { stage: SmtpStage::Rejected { code: 550, transient: false }, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("SMTP server 127.0.0.1:{}: refused (reply 550)", sink.port));
    assert_no_personal_data(&err, &message);
}

#[tokio::test]
async fn login_is_used_and_a_wrong_password_is_an_authentication_error() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &["--auth", "kluis:geheim-wachtwoord"]);
    let mut config = smtp_config(sink.port);
    config.smtp.username = Some("kluis".to_owned());
    config.smtp.password = Some("geheim-wachtwoord".to_owned());
    let mailer = SmtpMailer::new(&config, clock()).unwrap();
    mailer.send(&code_message()).await.unwrap();
    assert_eq!(sink.messages(1)[0]["login"], "kluis");

    config.smtp.password = Some("fout-wachtwoord".to_owned());
    let mailer = SmtpMailer::new(&config, clock()).unwrap();
    let message = code_message();
    let err = mailer.send(&message).await.unwrap_err();
    assert!(matches!(&err, MailError::Smtp { stage: SmtpStage::Authentication(Some(535)), .. }), "{err:?}");
    assert!(!err.to_string().contains("wachtwoord") && !format!("{err:?}").contains("wachtwoord"));
    assert_no_personal_data(&err, &message);
    assert!(mailer.check().await.is_err(), "check logs in too");
}

/// A private CA and a certificate for 127.0.0.1 signed by it, as PEM files in `dir`:
/// (`ca.pem`, `cert.pem`, `key.pem`).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name.push(DnType::CommonName, "kluis test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

async fn tls_round_trip(mode: TlsMode, flag: &str) {
    let Some(python) = python_with_aiosmtpd() else { return };
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(certs.path());
    let sink = Sink::start(&python, &[flag, cert.to_str().unwrap(), key.to_str().unwrap()]);
    let mut config = smtp_config(sink.port);
    config.smtp.tls = mode;

    // Without the private CA the server's certificate is not trusted.
    let untrusted = SmtpMailer::new(&config, clock()).unwrap();
    let message = code_message();
    let err = untrusted.send(&message).await.unwrap_err();
    assert!(matches!(&err, MailError::Smtp { stage: SmtpStage::Tls(Some(_)), .. }), "{err:?}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert_no_personal_data(&err, &message);

    config.smtp.ca_file = Some(ca);
    let mailer = SmtpMailer::new(&config, clock()).unwrap();
    let id = mailer.send(&message).await.unwrap();
    let got = sink.messages(1);
    assert_eq!(got[0]["tls"], true);
    assert_intact(&got[0]["message"], &message, id.as_str(), RECIPIENT_ASCII, &[CODE]);
}

#[tokio::test]
async fn starttls_with_a_private_ca() {
    tls_round_trip(TlsMode::Starttls, "--starttls").await;
}

#[tokio::test]
async fn implicit_tls_with_a_private_ca() {
    tls_round_trip(TlsMode::Tls, "--implicit-tls").await;
}

#[tokio::test]
async fn starttls_is_required_never_skipped() {
    let Some(python) = python_with_aiosmtpd() else { return };
    let sink = Sink::start(&python, &[]);
    let mut config = smtp_config(sink.port);
    config.smtp.tls = TlsMode::Starttls;
    let mailer = SmtpMailer::new(&config, clock()).unwrap();
    let message = code_message();
    let err = mailer.send(&message).await.unwrap_err();
    assert!(matches!(&err, MailError::Smtp { stage: SmtpStage::StartTlsNotOffered, .. }), "{err:?}");
    assert_no_personal_data(&err, &message);
    assert!(
        std::fs::read_dir(sink.dir.path()).unwrap().all(|e| e.unwrap().path().extension().is_none_or(|x| x != "eml"))
    );
}

#[tokio::test]
async fn file_mailer_writes_exactly_one_parseable_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = MailConfig {
        transport: Transport::File,
        from: FROM.to_owned(),
        from_name: Some(FROM_NAME.to_owned()),
        file: FileConfig { directory: dir.path().join("outbox") },
        ..MailConfig::default()
    };
    let mailer = kluis_mail::from_config(&config, clock()).unwrap();
    mailer.check().await.unwrap();
    let mut sent = Vec::new();
    for (notice, phrases) in notices() {
        let message = Message::compose(RECIPIENT_ASCII, Lang::Both, &sender(), &notice).unwrap();
        let id = mailer.send(&message).await.unwrap();
        sent.push((message, id, phrases));
    }
    let outbox = dir.path().join("outbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), sent.len(), "one file per message and nothing else: {files:?}");
    assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "eml")), "{files:?}");
    let output = Command::new(python_for_parsing())
        .arg(sink_script())
        .arg("parse")
        .args(&files)
        .output()
        .expect("run python3 for parsing");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let parsed: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    for (message, id, phrases) in &sent {
        let bare = id.as_str().trim_matches(['<', '>']);
        let index = files.iter().position(|f| f.to_str().unwrap().contains(bare)).expect("the file names the id");
        assert_intact(&parsed[index], message, id.as_str(), RECIPIENT_ASCII, phrases);
    }
    assert!(FileMailer::new(&config, clock()).is_ok(), "an existing directory is fine");
}
