//! Data-subject requests in the vault, with a clock the tests move and real mail files (the file
//! mailer): intake, the mailed code and its limits, every right's fulfilment, downloads and their
//! expiry, erasure with a fiscal archive, extension rules, and the state machine. On SQLite and
//! PostgreSQL. (The HTTP/portal flow through a real SMTP server is in the server's tests.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kluis_crypto::SecretKey;
use kluis_domain::access::Denied;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::{Catalogue, IndexName};
use kluis_domain::request::{Channel, RequestKind, RequestState, TimelineKind, Verification};
use kluis_domain::time::ManualClock;
use kluis_domain::{AccountId, Purpose, SubjectId, SubjectKind, Timestamp};
use kluis_store_conformance::{Backend, TestDb, files_below, find_canary, fresh};
use kluis_store_sql::SqlStore;
use kluis_vault::requests::{
    NewRequest, NoticeLang, RequestError, RequestFilter, RequestSettings, TransmitError, TransmitSettings,
};
use kluis_vault::{Store, Vault, VaultError};

macro_rules! on_both_backends {
    ($($case:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $case(Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            $case(Backend::Postgres).await;
        }
    )*};
}

on_both_backends! {
    access_through_the_mailed_code => sqlite_access_through_the_mailed_code, postgres_access_through_the_mailed_code;
    code_limits => sqlite_code_limits, postgres_code_limits;
    erasure_keeps_fiscal_data_in_the_archive => sqlite_erasure_keeps_fiscal_data_in_the_archive, postgres_erasure_keeps_fiscal_data_in_the_archive;
    full_erasure_destroys_the_key => sqlite_full_erasure_destroys_the_key, postgres_full_erasure_destroys_the_key;
    rectification_restriction_objection_portability => sqlite_rectification_restriction_objection_portability, postgres_rectification_restriction_objection_portability;
    id_document_ladder => sqlite_id_document_ladder, postgres_id_document_ladder;
    deadlines_and_the_state_machine => sqlite_deadlines_and_the_state_machine, postgres_deadlines_and_the_state_machine;
    portability_transmitted_to_another_controller => sqlite_portability_transmitted_to_another_controller, postgres_portability_transmitted_to_another_controller;
    fulfilment_and_a_concurrent_change => sqlite_fulfilment_and_a_concurrent_change, postgres_fulfilment_and_a_concurrent_change;
}

/// 2026-11-02 10:00 UTC, a Monday.
const START: i64 = 1_793_613_600_000;
const DAY: i64 = 86_400_000;
const EMAIL: &str = "jan.canary-7f3a@voorbeeld.nl";
const IBAN: &str = "NL91ABNA0417164300";

struct Fixture {
    db: TestDb,
    vault: Vault<SqlStore>,
    clock: Arc<ManualClock>,
    mail_dir: tempfile::TempDir,
    seen: std::sync::Mutex<std::collections::BTreeSet<PathBuf>>,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    fixture_with(backend, TransmitSettings::default()).await
}

async fn fixture_with(backend: Backend, transmit: TransmitSettings) -> Option<Fixture> {
    let db = fresh(backend).await?;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let (vault, _) = Vault::initialise(
        db.store.clone(),
        &SecretKey::generate().unwrap(),
        Catalogue::dutch_it_provider(),
        clock.clone(),
    )
    .await
    .expect("initialise");
    let mail_dir = tempfile::tempdir().unwrap();
    let config = kluis_mail::MailConfig {
        transport: kluis_mail::Transport::File,
        from: "privacy@voorbeeld.nl".to_owned(),
        file: kluis_mail::FileConfig { directory: mail_dir.path().to_path_buf() },
        ..kluis_mail::MailConfig::default()
    };
    let mailer = kluis_mail::from_config(&config, clock.clone()).unwrap();
    let settings = RequestSettings {
        public_url: "https://privacy.voorbeeld.nl".to_owned(),
        transmit,
        ..RequestSettings::default()
    };
    let vault = vault.with_requests(settings, Some(mailer));
    Some(Fixture { db, vault, clock, mail_dir, seen: std::sync::Mutex::default() })
}

/// Loads examples/hosting-provider.toml (after the customer exists: its purposes replace the
/// built-in ones, `storage` among them).
async fn load_register(f: &Fixture) {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hosting-provider.toml")).unwrap();
    f.vault.load_register(&operator("storage"), &text).await.expect("load the example register");
}

fn operator(purpose: &str) -> AuditContext {
    AuditContext {
        actor: Actor::Cli("tester".to_owned()),
        purpose: Some(Purpose::parse(purpose).unwrap()),
        client: None,
        request_id: None,
    }
}

fn staff() -> AuditContext {
    AuditContext { actor: Actor::Account(AccountId::generate()), purpose: None, client: None, request_id: None }
}

fn requester() -> AuditContext {
    AuditContext { actor: Actor::Anonymous, purpose: None, client: None, request_id: None }
}

/// An application acting for its logged-in customer (a request it files needs no further check).
fn application() -> AuditContext {
    AuditContext {
        actor: Actor::Token(kluis_domain::TokenId::generate()),
        purpose: None,
        client: None,
        request_id: None,
    }
}

/// A rectification of `subject`'s city, filed over the API.
fn rectify_city(subject: SubjectId, city: &str) -> NewRequest {
    NewRequest {
        kind: RequestKind::Rectification,
        channel: Channel::Api,
        lang: NoticeLang::En,
        email: None,
        subject: Some(subject),
        purpose: None,
        details: None,
        changes: vec![("city".to_owned(), Some(city.to_owned()))],
    }
}

fn portal(kind: RequestKind, email: &str) -> NewRequest {
    NewRequest {
        kind,
        channel: Channel::Portal,
        lang: NoticeLang::Nl,
        email: Some(email.to_owned()),
        subject: None,
        purpose: None,
        details: None,
        changes: Vec::new(),
    }
}

async fn customer(f: &Fixture) -> SubjectId {
    let values: Vec<(String, String)> = [
        ("first_names", "Jan"),
        ("last_name", "Canaryvries"),
        ("email", EMAIL),
        ("phone", "+31612345678"),
        ("iban", IBAN),
        ("street", "Dorpsstraat"),
        ("house_number", "12"),
        ("postcode", "1234 AB"),
        ("city", "Zwolle"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    f.vault
        .create_subject(&operator("storage"), &f.vault.operator_scope(), SubjectKind::Customer, &values)
        .await
        .expect("create the customer")
}

/// The mails written so far, decoded, with their file names.
fn mails(dir: &Path) -> Vec<(PathBuf, String)> {
    let files: Vec<PathBuf> =
        files_below(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "eml")).collect();
    files
        .into_iter()
        .map(|p| {
            let text = kluis_mail::decode_quoted_printable(&std::fs::read_to_string(&p).unwrap());
            (p, text)
        })
        .collect()
}

/// The one new mail (not seen by an earlier call) that contains `needle`; every new mail counts
/// as seen afterwards. (File names carry the manual clock's time, which does not order mails sent
/// within one millisecond, so mails are told apart by what they say.)
fn new_mail(f: &Fixture, needle: &str) -> String {
    let mut seen = f.seen.lock().unwrap();
    let fresh: Vec<(PathBuf, String)> =
        mails(f.mail_dir.path()).into_iter().filter(|(p, _)| !seen.contains(p)).collect();
    for (p, _) in &fresh {
        seen.insert(p.clone());
    }
    let mut matching: Vec<String> = fresh.into_iter().map(|(_, t)| t).filter(|t| t.contains(needle)).collect();
    assert_eq!(matching.len(), 1, "expected one new mail containing {needle:?}, got {}", matching.len());
    matching.pop().unwrap()
}

/// The verification code in a code mail: the body's only word of exactly eight digits.
fn code_in(mail: &str) -> String {
    assert!(mail.contains("verificatiecode") || mail.contains("verification code"), "not a code mail:\n{mail}");
    let body = mail.split_once("\r\n\r\n").or_else(|| mail.split_once("\n\n")).map_or(mail, |(_, b)| b);
    let codes: Vec<&str> = body
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(codes.len(), 1, "one code in:\n{body}");
    codes[0].to_owned()
}

fn download_token(mail: &str) -> String {
    let at = mail.find("/privacy/request/download/").unwrap_or_else(|| panic!("no link in:\n{mail}"));
    mail[at + "/privacy/request/download/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

fn request_error(result: Result<impl std::fmt::Debug, VaultError>) -> RequestError {
    match result {
        Err(VaultError::Request(e)) => e,
        other => panic!("expected a request error, got {other:?}"),
    }
}

async fn verified_request(f: &Fixture, kind: RequestKind, email: &str) -> kluis_domain::RequestId {
    let view = f.vault.submit_request(&requester(), portal(kind, email)).await.expect("submit");
    let code = code_in(&new_mail(f, "verificatiecode"));
    f.vault.verify_code(&requester(), view.id, &code).await.expect("verify");
    view.id
}

async fn access_through_the_mailed_code(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    load_register(&f).await;

    let view = f.vault.submit_request(&requester(), portal(RequestKind::Access, EMAIL)).await.unwrap();
    assert_eq!(view.state, RequestState::Verifying);
    assert_eq!(view.due_on, "2026-11-30", "the register promises four weeks, shorter than the month");
    let mail = new_mail(&f, "verificatiecode");
    assert!(mail.contains(&view.id.to_string()), "the mail names the reference");
    let code = code_in(&mail);
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    assert_eq!(
        request_error(f.vault.verify_code(&requester(), view.id, wrong).await),
        RequestError::CodeWrong { remaining: 4 }
    );
    let status = f.vault.verify_code(&requester(), view.id, &code).await.unwrap();
    assert_eq!(status.state, RequestState::InProgress);
    // The code is single use.
    assert_eq!(request_error(f.vault.verify_code(&requester(), view.id, &code).await), RequestError::CodeUnavailable);
    let staff_view = f.vault.request_view(&staff(), view.id).await.unwrap();
    assert_eq!(staff_view.subject, Some(subject), "the verified address links the subject");
    assert_eq!(staff_view.verification, Some(Verification::MailedCode));
    assert_eq!(staff_view.email.as_deref(), Some(EMAIL));
    assert!(new_mail(&f, "ontvangen").contains("30 november 2026"), "the receipt names the due date");

    let done = f.vault.fulfil_request(&staff(), view.id, Vec::new()).await.unwrap();
    assert_eq!(done.state, RequestState::Completed);
    let mail = new_mail(&f, "afgehandeld");
    assert!(!mail.contains(IBAN), "no personal data in the completion mail");
    let token = download_token(&mail);
    let (formats, expires) = f.vault.download_index(&token).await.unwrap();
    assert_eq!(
        formats.iter().map(String::as_str).collect::<std::collections::BTreeSet<_>>(),
        ["csv_zip", "html", "json"].into()
    );
    assert_eq!(expires.as_millis(), START + 14 * DAY);
    let json = f.vault.download_export(&requester(), &token, "json").await.unwrap();
    let export: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
    let values = export["subject"]["values"].as_array().unwrap();
    assert!(values.iter().any(|v| v["field"] == "iban" && v["value"] == IBAN), "{values:?}");
    let purposes: Vec<&str> = export["purposes"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(purposes.contains(&"fiscal_records"), "{purposes:?}");
    assert!(!export["events"].as_array().unwrap().is_empty(), "the events about the subject are listed");
    let html = f.vault.download_export(&requester(), &token, "html").await.unwrap();
    assert!(String::from_utf8_lossy(&html.bytes).contains(EMAIL));
    assert_eq!(
        request_error(f.vault.download_export(&requester(), &token, "pdf").await),
        RequestError::DownloadNotFound
    );
    assert_eq!(request_error(f.vault.download_index("kluis_not-a-token").await), RequestError::DownloadNotFound);

    // Expired: refused, and the sweep deletes the sealed export.
    f.clock.advance(14 * DAY);
    assert_eq!(
        request_error(f.vault.download_export(&requester(), &token, "json").await),
        RequestError::DownloadExpired
    );
    assert_eq!(request_error(f.vault.download_index(&token).await), RequestError::DownloadExpired);
    assert_eq!(f.vault.sweep_exports().await.unwrap(), 3);
    assert_eq!(request_error(f.vault.download_index(&token).await), RequestError::DownloadNotFound);

    let timeline: Vec<TimelineKind> =
        f.vault.request_view(&staff(), view.id).await.unwrap().timeline.iter().map(|t| t.kind).collect();
    for kind in [
        TimelineKind::Received,
        TimelineKind::CodeSent,
        TimelineKind::CodeRejected,
        TimelineKind::Verified,
        TimelineKind::Fulfilled,
        TimelineKind::MailSent,
        TimelineKind::Downloaded,
    ] {
        assert!(timeline.contains(&kind), "{kind:?} in {timeline:?}");
    }

    // An unknown address gets the same answer; once verified, the export says nothing is held.
    let unknown =
        f.vault.submit_request(&requester(), portal(RequestKind::Access, "nobody@example.org")).await.unwrap();
    assert_eq!(unknown.state, RequestState::Verifying);
    let code = code_in(&new_mail(&f, "verificatiecode"));
    f.vault.verify_code(&requester(), unknown.id, &code).await.unwrap();
    assert_eq!(f.vault.request_view(&staff(), unknown.id).await.unwrap().subject, None);
    f.vault.fulfil_request(&staff(), unknown.id, Vec::new()).await.unwrap();
    let token = download_token(&new_mail(&f, "afgehandeld"));
    let json = f.vault.download_export(&requester(), &token, "json").await.unwrap();
    let export: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
    assert!(export["subject"]["values"].as_array().unwrap().is_empty());

    // Nothing of the requester's address in the database files, in any form.
    if let Some(dir) = &f.db.dir {
        for file in files_below(dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(find_canary(&bytes, "nobody@example.org"), None, "{}", file.display());
        }
    }
}

async fn code_limits(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let view = f.vault.submit_request(&requester(), portal(RequestKind::Access, EMAIL)).await.unwrap();
    let code = code_in(&new_mail(&f, "verificatiecode"));
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    for remaining in (1..5).rev() {
        assert_eq!(
            request_error(f.vault.verify_code(&requester(), view.id, wrong).await),
            RequestError::CodeWrong { remaining }
        );
    }
    assert_eq!(request_error(f.vault.verify_code(&requester(), view.id, wrong).await), RequestError::CodeUnavailable);
    // Even the right code is gone now.
    assert_eq!(request_error(f.vault.verify_code(&requester(), view.id, &code).await), RequestError::CodeUnavailable);
    assert_eq!(f.vault.portal_status(view.id).await.unwrap().state, RequestState::Verifying);

    // A new code, expired after 30 minutes.
    f.vault.send_code(&requester(), view.id).await.unwrap();
    let code = code_in(&new_mail(&f, "verificatiecode"));
    f.clock.advance(30 * 60_000);
    assert_eq!(request_error(f.vault.verify_code(&requester(), view.id, &code).await), RequestError::CodeUnavailable);
    // At most five codes per request.
    for _ in 0..3 {
        f.vault.send_code(&requester(), view.id).await.unwrap();
    }
    assert_eq!(request_error(f.vault.send_code(&requester(), view.id).await), RequestError::TooManyCodes);

    // Bad input changes nothing.
    let before = f.vault.list_requests(RequestFilter::All).await.unwrap().len();
    let bad = f.vault.submit_request(&requester(), portal(RequestKind::Access, "not an address")).await;
    assert_eq!(request_error(bad).code(), "invalid_email");
    let mut no_purpose = portal(RequestKind::Objection, EMAIL);
    no_purpose.purpose = None;
    assert_eq!(request_error(f.vault.submit_request(&requester(), no_purpose).await).code(), "purpose_required");
    let mut unknown_purpose = portal(RequestKind::Withdrawal, EMAIL);
    unknown_purpose.purpose = Some("astrology".to_owned());
    assert_eq!(request_error(f.vault.submit_request(&requester(), unknown_purpose).await).code(), "unknown_purpose");
    assert_eq!(f.vault.list_requests(RequestFilter::All).await.unwrap().len(), before);
}

async fn erasure_keeps_fiscal_data_in_the_archive(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    load_register(&f).await;
    let id = verified_request(&f, RequestKind::Erasure, EMAIL).await;
    let done = f.vault.fulfil_request(&staff(), id, Vec::new()).await.unwrap();
    assert_eq!(done.state, RequestState::PartiallyCompleted, "invoicing data had to be kept");
    let notified: Vec<&str> = done
        .timeline
        .iter()
        .filter(|t| t.kind == TimelineKind::RecipientNotified)
        .filter_map(|t| t.detail.as_deref())
        .collect();
    assert!(!notified.is_empty(), "recipients of the erased data are notified (Art. 19): {:?}", done.timeline);
    // Recipients with a `notify` address in the register get the notice; the others are recorded.
    let sent: Vec<&str> = notified.iter().filter_map(|d| d.strip_suffix(":sent")).collect();
    assert!(!sent.is_empty(), "{notified:?}");
    assert!(notified.iter().all(|d| d.ends_with(":sent") || d.ends_with(":no_address")), "{notified:?}");
    let to_recipients: Vec<String> = mails(f.mail_dir.path())
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| text.contains("Kennisgeving van wissing"))
        .collect();
    assert_eq!(to_recipients.len(), sent.len(), "one notice per recipient with an address: {sent:?}");
    for key in &sent {
        assert!(
            to_recipients.iter().any(|m| m.contains(&format!("privacy@{key}.example"))
                || m.contains("privacy@xtress.example") && *key == "accountant"),
            "{key}"
        );
    }
    for mail in &to_recipients {
        assert!(mail.contains(&subject.to_string()), "the notice names the subject by its kluis id:\n{mail}");
        assert!(mail.contains("user.contact.email"), "and the erased categories:\n{mail}");
        assert_eq!(find_canary(mail.as_bytes(), EMAIL), None, "never a value:\n{mail}");
    }

    // Readable only for the tax purpose, and only what the law keeps.
    let tax = f.vault.get_subject(&operator("fiscal_records"), &f.vault.operator_scope(), subject).await.unwrap();
    let fields: Vec<&str> = tax.values.keys().map(String::as_str).collect();
    assert!(fields.contains(&"iban") && fields.contains(&"last_name"), "{fields:?}");
    assert!(!fields.contains(&"email") && !fields.contains(&"phone"), "{fields:?}");
    let other = f.vault.get_subject(&operator("customer_contact"), &f.vault.operator_scope(), subject).await;
    assert!(matches!(other, Err(VaultError::Denied(Denied::Archived { .. }))), "{other:?}");
    // The e-mail index entry is gone with the value.
    let found = f
        .vault
        .find_subjects(&operator("customer_contact"), &f.vault.operator_scope(), IndexName::Email, &[EMAIL])
        .await
        .unwrap();
    assert!(found.is_empty());

    // The report lists what went and what stayed, why and until when.
    let token = download_token(&new_mail(&f, "afgehandeld"));
    let report = f.vault.download_export(&requester(), &token, "report").await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report.bytes).unwrap();
    assert_eq!(report["key_destroyed"], false);
    let kept = report["kept"].as_array().unwrap();
    let iban = kept.iter().find(|k| k["field"] == "iban").expect("iban kept");
    assert_eq!(iban["purpose"], "fiscal_records");
    assert_eq!(iban["until"], "2033-12-31");
    assert!(report["deleted"].as_array().unwrap().iter().any(|d| d["field"] == "email"));

    // The canary (the e-mail address) is nowhere in the SQLite files any more.
    if let Some(dir) = &f.db.dir {
        for file in files_below(dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(find_canary(&bytes, EMAIL), None, "{}", file.display());
        }
    }
}

async fn full_erasure_destroys_the_key(backend: Backend) {
    // Without a register nothing is kept under a legal obligation.
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    let id = verified_request(&f, RequestKind::Erasure, EMAIL).await;
    let done = f.vault.fulfil_request(&staff(), id, Vec::new()).await.unwrap();
    assert_eq!(done.state, RequestState::Completed);
    assert!(f.vault.store().load_subject(subject).await.unwrap().is_none(), "key, values and index gone");
    assert!(f.vault.store().is_erased(subject).await.unwrap(), "in the erasure ledger");
    let token = download_token(&new_mail(&f, "afgehandeld"));
    let report = f.vault.download_export(&requester(), &token, "report").await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report.bytes).unwrap();
    assert_eq!(report["key_destroyed"], true);
}

async fn rectification_restriction_objection_portability(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    load_register(&f).await;

    // Rectification by an application for its logged-in customer: verified at once.
    let new = NewRequest { details: Some("My city is Kampen".to_owned()), ..rectify_city(subject, "Kampen") };
    let view = f.vault.submit_request(&application(), new).await.unwrap();
    assert_eq!(view.state, RequestState::InProgress);
    assert_eq!(view.verification, Some(Verification::Application));
    new_mail(&f, "Your request has been received");
    let done = f.vault.fulfil_request(&staff(), view.id, Vec::new()).await.unwrap();
    assert_eq!(done.state, RequestState::Completed);
    let read = f.vault.get_subject(&operator("service_delivery"), &f.vault.operator_scope(), subject).await.unwrap();
    assert_eq!(read.values["city"].as_str(), "Kampen");

    // Portability: JSON and CSV.
    let id = verified_request(&f, RequestKind::Portability, EMAIL).await;
    f.vault.fulfil_request(&staff(), id, Vec::new()).await.unwrap();
    let token = download_token(&new_mail(&f, "afgehandeld"));
    let (formats, _) = f.vault.download_index(&token).await.unwrap();
    assert_eq!(formats.len(), 2, "{formats:?}");
    let csv = f.vault.download_export(&requester(), &token, "csv").await.unwrap();
    assert!(String::from_utf8_lossy(&csv.bytes).contains("Kampen"));

    // Objection to the newsletter: processing for it stops at once.
    let mut objection = portal(RequestKind::Objection, EMAIL);
    objection.purpose = Some("newsletter".to_owned());
    let view = f.vault.submit_request(&requester(), objection).await.unwrap();
    f.vault.verify_code(&requester(), view.id, &code_in(&new_mail(&f, "verificatiecode"))).await.unwrap();
    f.vault.fulfil_request(&staff(), view.id, Vec::new()).await.unwrap();
    let refused = f.vault.get_subject(&operator("newsletter"), &f.vault.operator_scope(), subject).await;
    assert!(matches!(refused, Err(VaultError::Denied(Denied::Objected { .. }))), "{refused:?}");
    assert!(f.vault.get_subject(&operator("customer_contact"), &f.vault.operator_scope(), subject).await.is_ok());

    // Restriction, then lifting it only after the notice.
    let id = verified_request(&f, RequestKind::Restriction, EMAIL).await;
    assert_eq!(
        request_error(f.vault.fulfil_request(&staff(), id, vec![("city".to_owned(), None)]).await).code(),
        "changes_not_allowed"
    );
    f.vault.fulfil_request(&staff(), id, Vec::new()).await.unwrap();
    let restricted = f.vault.get_subject(&operator("customer_contact"), &f.vault.operator_scope(), subject).await;
    assert!(matches!(restricted, Err(VaultError::Denied(Denied::Restricted { .. }))), "{restricted:?}");
    // Not around the notice: the plain flag cannot lift a restriction the subject obtained.
    assert_eq!(request_error(f.vault.set_restricted(&staff(), subject, false).await).code(), "notice_required");
    let lifted = f.vault.lift_restriction(&staff(), id).await.unwrap();
    new_mail(&f, "opheffen");
    assert!(lifted.timeline.iter().any(|t| t.kind == TimelineKind::RestrictionLifted));
    assert!(f.vault.get_subject(&operator("customer_contact"), &f.vault.operator_scope(), subject).await.is_ok());
}

async fn id_document_ladder(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    let staff_new = NewRequest {
        kind: RequestKind::Access,
        channel: Channel::Staff,
        lang: NoticeLang::Nl,
        email: None,
        subject: None,
        purpose: None,
        details: Some("Brief van 2 november".to_owned()),
        changes: Vec::new(),
    };
    let view = f.vault.submit_request(&staff(), staff_new).await.unwrap();
    assert_eq!(view.state, RequestState::Received);
    assert_eq!(
        request_error(f.vault.upload_id(&requester(), view.id, b"%PDF-1.7".to_vec()).await),
        RequestError::UploadNotAllowed
    );
    assert_eq!(request_error(f.vault.enable_id_upload(&staff(), view.id, "  ").await).code(), "justification_required");
    let enabled = f.vault.enable_id_upload(&staff(), view.id, "Letter without an e-mail address").await.unwrap();
    assert_eq!(enabled.state, RequestState::Verifying);
    let note = enabled.timeline.iter().find(|t| t.kind == TimelineKind::IdUploadEnabled).and_then(|t| t.note.clone());
    assert_eq!(note.as_deref(), Some("Letter without an e-mail address"));

    let too_big = vec![0x25; 5 * 1024 * 1024 + 1];
    assert_eq!(
        request_error(f.vault.upload_id(&requester(), view.id, too_big).await),
        RequestError::UploadTooLarge { max: 5 * 1024 * 1024 }
    );
    assert_eq!(
        request_error(f.vault.upload_id(&requester(), view.id, b"<html>".to_vec()).await),
        RequestError::UploadType
    );
    let png = b"\x89PNG\r\n\x1a\nCANARY-ID-DOCUMENT".to_vec();
    f.vault.upload_id(&requester(), view.id, png.clone()).await.unwrap();
    let doc = f.vault.id_document(&staff(), view.id).await.unwrap();
    assert_eq!(doc.content_type, "image/png");
    assert_eq!(*doc.bytes, png);
    let checked = f.vault.check_id(&staff(), view.id, true, Some(subject)).await.unwrap();
    assert_eq!(checked.state, RequestState::InProgress);
    assert_eq!(checked.verification, Some(Verification::IdDocument));
    assert!(!checked.id_uploaded, "deleted right after the check");
    assert_eq!(request_error(f.vault.id_document(&staff(), view.id).await), RequestError::NoUpload);
    if let Some(dir) = &f.db.dir {
        for file in files_below(dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(find_canary(&bytes, "CANARY-ID-DOCUMENT"), None, "{}", file.display());
        }
    }
}

async fn deadlines_and_the_state_machine(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    customer(&f).await;
    let id = verified_request(&f, RequestKind::Access, EMAIL).await;
    // Extension without reasons, then in time with reasons.
    assert_eq!(request_error(f.vault.extend_request(&staff(), id, " ").await).code(), "extension_without_reasons");
    let extended = f.vault.extend_request(&staff(), id, "Many systems to search").await.unwrap();
    assert_eq!(extended.state, RequestState::Extended);
    assert_eq!(extended.extended_to.as_deref(), Some("2027-02-02"));
    new_mail(&f, "Many systems to search");
    // A second extension is not in the table.
    assert!(matches!(
        request_error(f.vault.extend_request(&staff(), id, "again").await),
        RequestError::Transition { .. }
    ));

    // Late: refused after the due date.
    let late = verified_request(&f, RequestKind::Access, EMAIL).await;
    f.clock.advance(31 * DAY);
    assert_eq!(
        request_error(f.vault.extend_request(&staff(), late, "too late").await).code(),
        "extension_after_due_date"
    );
    let overdue = f.vault.list_requests(RequestFilter::Overdue).await.unwrap();
    assert!(overdue.iter().any(|r| r.id == late), "listed as overdue");
    assert!(!overdue.iter().any(|r| r.id == id), "the extended one is not overdue");

    // Refusal with reasons; a closed request stays closed.
    assert_eq!(request_error(f.vault.refuse_request(&staff(), late, &[], None).await).code(), "reasons_required");
    assert_eq!(
        request_error(f.vault.refuse_request(&staff(), late, &["because".to_owned()], None).await).code(),
        "unknown_reason"
    );
    let refused = f.vault.refuse_request(&staff(), late, &["excessive".to_owned()], None).await.unwrap();
    assert_eq!(refused.state, RequestState::Refused);
    assert!(new_mail(&f, "afgewezen").contains("Autoriteit Persoonsgegevens"));
    assert!(matches!(
        request_error(f.vault.fulfil_request(&staff(), late, Vec::new()).await),
        RequestError::Transition { .. }
    ));
    assert!(matches!(request_error(f.vault.withdraw_request(&staff(), late).await), RequestError::Transition { .. }));
    assert!(matches!(
        request_error(f.vault.extend_request(&staff(), late, "x").await),
        RequestError::Transition { .. }
    ));
    // Unverified requests cannot be fulfilled.
    let unverified = f.vault.submit_request(&requester(), portal(RequestKind::Access, EMAIL)).await.unwrap();
    assert!(matches!(
        request_error(f.vault.fulfil_request(&staff(), unverified.id, Vec::new()).await),
        RequestError::Transition { .. }
    ));
    let withdrawn = f.vault.withdraw_request(&requester(), unverified.id).await.unwrap();
    assert_eq!(withdrawn.state, RequestState::Withdrawn);
    assert_eq!(
        request_error(f.vault.request_view(&staff(), kluis_domain::RequestId::generate()).await).code(),
        "request_not_found"
    );
}

/// The other controller of Art. 20(2): a real HTTPS server on loopback with a certificate for
/// `localhost` that the vault is told to trust; it keeps every body it receives and answers 202,
/// or 500 on `/broken`.
struct OtherController {
    port: u16,
    cert_pem: Vec<u8>,
    bodies: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl OtherController {
    async fn start() -> OtherController {
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_pem = issued.cert.pem().into_bytes();
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
            cert_pem.clone(),
            issued.signing_key.serialize_pem().into_bytes(),
        )
        .await
        .unwrap();
        let bodies: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
        let kept = bodies.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body.to_vec());
                if uri.path().starts_with("/broken") {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::ACCEPTED
                }
            }
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = axum_server::from_tcp_rustls(listener, tls).unwrap();
        tokio::spawn(async move { server.serve(app.into_make_service()).await });
        OtherController { port, cert_pem, bodies }
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn portability_transmitted_to_another_controller(backend: Backend) {
    let other = OtherController::start().await;
    let transmit = TransmitSettings {
        allow_private_networks: true,
        extra_root_pem: Some(other.cert_pem.clone()),
        ..TransmitSettings::default()
    };
    let Some(f) = fixture_with(backend, transmit).await else { return };
    customer(&f).await;
    load_register(&f).await;
    let id = verified_request(&f, RequestKind::Portability, EMAIL).await;
    f.vault.fulfil_request(&staff(), id, Vec::new()).await.unwrap();
    let token = download_token(&new_mail(&f, "afgehandeld"));

    let target = format!("https://localhost:{}/import/kluis", other.port);
    let view = f.vault.transmit_request(&staff(), id, &target).await.unwrap();
    let received = other.received();
    assert_eq!(received.len(), 1, "one POST");
    // The same data the subject can download, as JSON.
    let sent: serde_json::Value = serde_json::from_slice(&received[0]).unwrap();
    let download = f.vault.download_export(&requester(), &token, "json").await.unwrap();
    let downloaded: serde_json::Value = serde_json::from_slice(&download.bytes).unwrap();
    assert_eq!(sent, downloaded);
    assert!(sent.to_string().contains("Canaryvries"), "{sent}");
    let transmitted: Vec<&str> = view
        .timeline
        .iter()
        .filter(|t| t.kind == TimelineKind::Transmitted)
        .filter_map(|t| t.detail.as_deref())
        .collect();
    assert_eq!(transmitted, ["localhost:202"], "host and status, never the path");

    // Bad input changes nothing and sends nothing: not https, or not a portability request.
    let before = f.vault.request_view(&staff(), id).await.unwrap().timeline.len();
    let plain = f.vault.transmit_request(&staff(), id, &format!("http://localhost:{}/import", other.port)).await;
    assert!(matches!(request_error(plain), RequestError::Transmit(TransmitError::TargetInvalid { .. })));
    let access = verified_request(&f, RequestKind::Access, EMAIL).await;
    f.vault.fulfil_request(&staff(), access, Vec::new()).await.unwrap();
    let wrong = f.vault.transmit_request(&staff(), access, &target).await;
    assert_eq!(request_error(wrong).code(), "wrong_fulfilment");
    assert_eq!(f.vault.request_view(&staff(), id).await.unwrap().timeline.len(), before);
    assert_eq!(other.received().len(), 1);

    // A refusal by the other side is returned and recorded.
    let broken = format!("https://localhost:{}/broken", other.port);
    let refused = request_error(f.vault.transmit_request(&staff(), id, &broken).await);
    assert_eq!(refused.code(), "transmit_rejected");
    let last = f.vault.request_view(&staff(), id).await.unwrap().timeline;
    assert!(
        last.iter()
            .any(|t| t.kind == TimelineKind::Transmitted && t.detail.as_deref() == Some("localhost:transmit_rejected")),
        "{last:?}"
    );
}

/// Makes every change of a subject row also run `effect` on the requests table, in the same
/// transaction: the interleaving "a colleague changed the request while the right was being
/// exercised", made deterministic in the real database. `None` removes it.
async fn on_subject_change(f: &Fixture, backend: Backend, effect: Option<&str>) {
    let pool = f.db.store.pool();
    let statements: Vec<String> = match (backend, effect) {
        (Backend::Sqlite, Some(effect)) => {
            vec![format!("CREATE TRIGGER concurrent_change AFTER UPDATE ON subjects BEGIN {effect}; END")]
        }
        (Backend::Sqlite, None) => vec!["DROP TRIGGER concurrent_change".to_owned()],
        (Backend::Postgres, Some(effect)) => vec![
            format!(
                "CREATE FUNCTION concurrent_change() RETURNS trigger LANGUAGE plpgsql AS $f$ \
                 BEGIN {effect}; RETURN NEW; END $f$"
            ),
            "CREATE TRIGGER concurrent_change AFTER UPDATE ON subjects FOR EACH ROW \
             EXECUTE FUNCTION concurrent_change()"
                .to_owned(),
        ],
        (Backend::Postgres, None) => vec![
            "DROP TRIGGER concurrent_change ON subjects".to_owned(),
            "DROP FUNCTION concurrent_change()".to_owned(),
        ],
    };
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(pool).await.expect("install the interleaving");
    }
}

/// A rectification whose request a colleague changes while the right is being exercised: when the
/// change left the request open (a note, an extension: here its revision moves), the fulfilment
/// records the right anyway, once; when the change closed it (withdrawn), the fulfilment reports a
/// conflict and leaves the colleague's state, though the right was exercised.
async fn fulfilment_and_a_concurrent_change(backend: Backend) {
    let Some(f) = fixture(backend).await else { return };
    let subject = customer(&f).await;
    load_register(&f).await;
    let (app, rectify) = (application(), |city: &str| rectify_city(subject, city));
    let city = async || {
        let read = f.vault.get_subject(&operator("service_delivery"), &f.vault.operator_scope(), subject).await;
        read.expect("read the customer").values["city"].as_str().to_owned()
    };

    // The request stays open: recorded anyway, with one fulfilment entry.
    let view = f.vault.submit_request(&app, rectify("Kampen")).await.expect("submit");
    on_subject_change(
        &f,
        backend,
        Some(&format!("UPDATE requests SET revision = revision + 1 WHERE id = '{}'", view.id)),
    )
    .await;
    let done = f.vault.fulfil_request(&staff(), view.id, Vec::new()).await.expect("fulfilled despite the change");
    on_subject_change(&f, backend, None).await;
    assert_eq!(done.state, RequestState::Completed);
    assert_eq!(city().await, "Kampen");
    let stored = f.vault.request_view(&staff(), view.id).await.expect("view");
    assert_eq!(stored.state, RequestState::Completed, "the completion was saved");
    let fulfilled = stored.timeline.iter().filter(|t| t.kind == TimelineKind::Fulfilled).count();
    assert_eq!(fulfilled, 1, "recorded once: {:?}", stored.timeline);

    // The change closes the request: a conflict, and the colleague's state stays.
    let view = f.vault.submit_request(&app, rectify("Zwolle")).await.expect("submit");
    on_subject_change(
        &f,
        backend,
        Some(&format!(
            "UPDATE requests SET state = 'withdrawn', closed_at = {START}, revision = revision + 1 WHERE id = '{}'",
            view.id
        )),
    )
    .await;
    let refused = f.vault.fulfil_request(&staff(), view.id, Vec::new()).await;
    on_subject_change(&f, backend, None).await;
    assert_eq!(request_error(refused), RequestError::Conflict);
    assert_eq!(city().await, "Zwolle", "the right itself was exercised before the conflict");
    let stored = f.vault.request_view(&staff(), view.id).await.expect("view");
    assert_eq!(stored.state, RequestState::Withdrawn, "the colleague's closing stays");
    assert!(!stored.timeline.iter().any(|t| t.kind == TimelineKind::Fulfilled), "{:?}", stored.timeline);
}
