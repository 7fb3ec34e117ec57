//! `kluis-bench requests`: data-subject requests end to end through the vault (DESIGN §6 and
//! issue 6), on a database opened as production opens it.
//!
//! 1. **50 requests from intake to the completed export**: for each of `--requests` customers an
//!    access request on the portal channel (a sealed request, a code mailed by the file mailer),
//!    the code read back from the `.eml` file (not timed), verification (the subject linked by the
//!    e-mail blind index, the receipt mailed), fulfilment (values decrypted, the subject's audit
//!    events read, JSON + CSV zip + HTML built under the example register, sealed, the completion
//!    mail) and the download of the JSON. Baseline, interleaved request by request: one audited,
//!    durable `get_subject` of the same customer (the cheapest personal-data call).
//! 2. **The access export of a subject with `--events` audit events** (10,000 by default, appended
//!    beforehand), timed as the fulfilment step alone, `--export-runs` times (each a request of its
//!    own), each beside a `get_subject` of that subject; the median is reported with min and max.
//!
//! A subject holds at most the catalogue's 15 fields, so "1,000 values" of DESIGN §6 cannot be
//! stored in one subject; `kluis-bench export` measures the export builder at 1,000 values.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kluis_crypto::SecretKey;
use kluis_domain::audit::{Action, Actor, AuditContext, Outcome};
use kluis_domain::fields::Catalogue;
use kluis_domain::request::{Channel, RequestKind};
use kluis_domain::time::{Clock as _, SystemClock};
use kluis_domain::{AccountId, Purpose, SubjectId, SubjectKind};
use kluis_store::Store as _;
use kluis_store_sql::SqlStore;
use kluis_vault::Vault;
use kluis_vault::requests::{NewRequest, NoticeLang, RequestSettings};

use crate::db::BenchDb;
use crate::stats::{Latencies, dur, ratio, times};

/// DESIGN §6: an access export of a subject with 10,000 events in ≤ 50 ms.
const TARGET_EXPORT: Duration = Duration::from_millis(50);

/// Options of `kluis-bench requests`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Requests taken from intake to the completed export.
    #[arg(long, default_value_t = 50)]
    requests: usize,
    /// Audit events about the subject of the export measurement.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Access exports of that subject, each a request of its own, each beside a `get_subject`.
    #[arg(long, default_value_t = 7)]
    export_runs: usize,
    /// Parent directory of the temporary SQLite database (default: the system temp directory).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

fn operator(purpose: &str) -> AuditContext {
    AuditContext {
        actor: Actor::Cli("bench".to_owned()),
        purpose: Purpose::parse(purpose).ok(),
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

/// The body of the newest mail that names `reference` and contains `needle`, quoted-printable
/// decoded.
fn mail_with(dir: &Path, reference: &str, needle: &str) -> anyhow::Result<String> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read_to_string(&path)?;
        let text = kluis_mail::decode_quoted_printable(&raw);
        if text.contains(reference) && text.contains(needle) {
            return Ok(text);
        }
    }
    anyhow::bail!("no mail for {reference} containing {needle:?}")
}

fn code_in(mail: &str) -> anyhow::Result<String> {
    let body = mail.split_once("\r\n\r\n").map_or(mail, |(_, b)| b);
    body.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .find(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .context("no code in the mail")
}

fn token_in(mail: &str) -> anyhow::Result<String> {
    let marker = "/privacy/request/download/";
    let at = mail.find(marker).context("no download link in the mail")?;
    Ok(mail[at + marker.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect())
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    anyhow::ensure!(options.requests > 0, "--requests must be positive");
    let db = BenchDb::sqlite(options.dir.as_deref()).await?;
    let result = run_on(&db, &options).await;
    db.close().await;
    print!("{}", result?);
    Ok(())
}

#[allow(clippy::too_many_lines, reason = "setup, the two scenarios and the report read best in order")]
async fn run_on(db: &BenchDb, options: &Options) -> anyhow::Result<String> {
    let store: SqlStore = db.store.clone();
    let clock = Arc::new(SystemClock);
    let (vault, _) =
        Vault::initialise(store.clone(), &SecretKey::generate()?, Catalogue::dutch_it_provider(), clock.clone())
            .await?;
    let mail_dir = tempfile::tempdir()?;
    let config = kluis_mail::MailConfig {
        transport: kluis_mail::Transport::File,
        from: "privacy@voorbeeld.nl".to_owned(),
        file: kluis_mail::FileConfig { directory: mail_dir.path().to_path_buf() },
        ..kluis_mail::MailConfig::default()
    };
    let mailer = kluis_mail::from_config(&config, clock.clone())?;
    let vault = vault.with_requests(RequestSettings::default(), Some(mailer));

    // Customers, then the register (its purposes replace the built-in `storage`).
    let scope = vault.operator_scope();
    let mut customers = Vec::with_capacity(options.requests);
    for i in 0..=options.requests {
        let values: Vec<(String, String)> = [
            ("first_names", "Jan".to_owned()),
            ("last_name", format!("Jansen{i}")),
            ("email", format!("klant{i}@voorbeeld.nl")),
            ("phone", "+31612345678".to_owned()),
            ("iban", "NL91ABNA0417164300".to_owned()),
            ("street", "Dorpsstraat".to_owned()),
            ("house_number", format!("{}", i + 1)),
            ("postcode", "1234 AB".to_owned()),
            ("city", "Zwolle".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        customers.push(vault.create_subject(&operator("storage"), &scope, SubjectKind::Customer, &values).await?);
    }
    let register = include_str!("../../../examples/hosting-provider.toml");
    vault.load_register(&operator("storage"), register).await?;
    let scope = vault.operator_scope();

    let mut e2e = Vec::with_capacity(options.requests);
    let mut baseline = Vec::with_capacity(options.requests);
    for (i, subject) in customers.iter().take(options.requests).enumerate() {
        let email = format!("klant{i}@voorbeeld.nl");
        let t = Instant::now();
        let new = NewRequest {
            kind: RequestKind::Access,
            channel: Channel::Portal,
            lang: NoticeLang::Nl,
            email: Some(email),
            subject: None,
            purpose: None,
            details: None,
            changes: Vec::new(),
        };
        let view = vault.submit_request(&requester(), new).await?;
        let mut spent = t.elapsed();
        let code = code_in(&mail_with(mail_dir.path(), &view.id.to_string(), "verificatiecode")?)?;
        let t = Instant::now();
        vault.verify_code(&requester(), view.id, &code).await?;
        vault.fulfil_request(&staff(), view.id, Vec::new()).await?;
        spent += t.elapsed();
        let token = token_in(&mail_with(mail_dir.path(), &view.id.to_string(), "afgehandeld")?)?;
        let t = Instant::now();
        let download = vault.download_export(&requester(), &token, "json").await?;
        spent += t.elapsed();
        anyhow::ensure!(!download.bytes.is_empty(), "an empty export");
        e2e.push(spent);

        let t = Instant::now();
        vault.get_subject(&operator("service_delivery"), &scope, *subject).await?;
        baseline.push(t.elapsed());
    }

    // The export of one subject with many events about it.
    let heavy = *customers.last().context("a customer")?;
    append_events(&store, heavy, options.events).await?;
    let mut exports = Vec::with_capacity(options.export_runs);
    let mut export_baselines = Vec::with_capacity(options.export_runs);
    for _ in 0..options.export_runs.max(1) {
        let view = vault
            .submit_request(
                &AuditContext { actor: Actor::Token(kluis_domain::TokenId::generate()), ..requester() },
                NewRequest {
                    kind: RequestKind::Access,
                    channel: Channel::Api,
                    lang: NoticeLang::Nl,
                    email: None,
                    subject: Some(heavy),
                    purpose: None,
                    details: None,
                    changes: Vec::new(),
                },
            )
            .await?;
        let t = Instant::now();
        vault.fulfil_request(&staff(), view.id, Vec::new()).await?;
        exports.push(t.elapsed());
        let t = Instant::now();
        vault.get_subject(&operator("service_delivery"), &scope, heavy).await?;
        export_baselines.push(t.elapsed());
    }
    let runs = exports.len();
    let exports = Latencies::new(exports);
    let export_baselines = Latencies::new(export_baselines);
    let export = exports.pct(50);
    let export_baseline = export_baselines.pct(50);

    let e2e_total: Duration = e2e.iter().sum();
    let e2e = Latencies::new(e2e);
    let baseline = Latencies::new(baseline);
    let mut out = String::new();
    writeln!(out, "kluis-bench requests ({}, {})", db.name(), db.durability().await)?;
    writeln!(out, "  {} access requests, intake → code → verified → exported → downloaded:", options.requests)?;
    writeln!(
        out,
        "    per request  mean {}  p50 {}  max {}   baseline get_subject mean {}   ratio {}",
        dur(e2e.mean()),
        dur(e2e.pct(50)),
        dur(e2e.pct(100)),
        dur(baseline.mean()),
        times(ratio(e2e.mean().as_secs_f64(), baseline.mean().as_secs_f64())),
    )?;
    let total: Duration = e2e_total;
    writeln!(out, "    all {} requests  {}", options.requests, dur(total))?;
    writeln!(
        out,
        "  access export, subject with {} events, median of {runs}: {} (min {}, max {}; target ≤ {}: {})   \
         baseline get_subject median {}   ratio {}",
        options.events,
        dur(export),
        dur(exports.pct(0)),
        dur(exports.pct(100)),
        dur(TARGET_EXPORT),
        if export <= TARGET_EXPORT { "met" } else { "NOT met" },
        dur(export_baseline),
        times(ratio(export.as_secs_f64(), export_baseline.as_secs_f64())),
    )?;
    Ok(out)
}

/// Appends `n` audit events about `subject` in batches (reads by staff, as a busy year would
/// leave them).
async fn append_events(store: &SqlStore, subject: SubjectId, n: usize) -> anyhow::Result<()> {
    let ctx = operator("service_delivery");
    let now = SystemClock.now();
    let mut left = n;
    while left > 0 {
        let batch = left.min(1_000);
        let events: Vec<_> = (0..batch)
            .map(|_| {
                ctx.event(
                    now,
                    Action::SubjectRead,
                    Some(subject),
                    &["email", "phone"],
                    &["user.contact.email"],
                    Outcome::Success,
                )
            })
            .collect();
        store.append_audit(&events).await?;
        left -= batch;
    }
    Ok(())
}
