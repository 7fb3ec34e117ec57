//! `kluis-bench import`: the bulk-import budget of DESIGN §6.
//!
//! Subjects of eight fields go through `Vault::import_subjects` in batches (validation, a data key
//! per subject wrapped under the KEK, eight values sealed, the blind indexes, one audit event per
//! subject, one durable transaction per batch), interleaved batch by batch with the baseline: a
//! raw sqlx insert of the same rows in plaintext into one table of an id and eight text columns,
//! same batch size, one transaction per batch, same database and durability settings.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use kluis_crypto::SecretKey;
use kluis_domain::audit::{Actor, AuditContext};
use kluis_domain::fields::{Catalogue, IndexName};
use kluis_domain::time::SystemClock;
use kluis_domain::{Purpose, SubjectId, SubjectKind};
use kluis_store::Store as _;
use kluis_store_sql::{Params, SqlStore, values_sql};
use kluis_vault::Vault;
use sqlx::AssertSqlSafe;

use crate::audit::parse_count;
use crate::db::{Backend, BenchDb};
use crate::stats::{Latencies, Rng, count, dur, grouped, per_sec, ratio, times};

/// DESIGN §6: bulk import ≥ 50,000 subjects/s and ≥ 0.5× a raw plaintext insert.
const TARGET_RATE: f64 = 50_000.0;
const TARGET_RATIO: f64 = 0.5;
/// The fields of every imported subject, in the order of the raw table's columns.
const FIELDS: [&str; 8] = ["first_names", "last_name", "email", "phone", "iban", "street", "postcode", "house_number"];
/// Parameters per multi-row INSERT, the rule `SqlStore::create_subjects` follows (≤ 100 rows,
/// ≤ 400 parameters): the raw table's rows have 9 columns, so 44 rows per statement.
const MAX_PARAMS: usize = 400;
const RAW_COLUMNS: usize = 1 + FIELDS.len();

/// Options of `kluis-bench import`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Database backend.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL cluster (admin) URL: a fresh database is created in it and dropped afterwards.
    #[arg(long, env = "KLUIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Subjects imported (and as many raw rows inserted). Accepts 50k, 1M, ….
    #[arg(long, default_value = "50k", value_parser = parse_count)]
    subjects: u64,
    /// Subjects per `import_subjects` call and transaction (and raw rows per transaction).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Parent directory of the temporary SQLite database (default: the system temp directory).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Seed of the generated rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    ensure!(options.batch > 0 && options.subjects > 0, "--batch and --subjects must be positive");
    let db = match options.backend {
        Backend::Sqlite => BenchDb::sqlite(options.dir.as_deref()).await?,
        Backend::Postgres => {
            let url = options.database_url.as_deref().context("--backend postgres needs --database-url")?;
            BenchDb::postgres(url).await?
        }
    };
    let result = run_on(&db, &options).await;
    db.close().await;
    print!("{}", result?);
    Ok(())
}

/// A valid Dutch IBAN for a 10-digit account number.
fn nl_iban(account: u64) -> String {
    let account = format!("{:010}", account % 10_000_000_000);
    let rearranged = format!("KLUI{account}NL00");
    let remainder = rearranged.chars().fold(0_u32, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        if v >= 10 { (acc * 100 + v) % 97 } else { (acc * 10 + v) % 97 }
    });
    format!("NL{:02}KLUI{account}", 98 - remainder)
}

/// Row `i`: realistic, unique e-mail, phone and IBAN, typed as people type them (the vault
/// normalises them). Rows the catalogue would refuse (a value holding a BSN-shaped run) are
/// regenerated, so every row imports; the raw baseline inserts exactly these strings.
fn generate(catalogue: &Catalogue, rng: &mut Rng, i: u64, seed: u64) -> Vec<(String, String)> {
    const FIRST: [&str; 8] =
        ["Jan", "Anna Maria", "Pieter", "Fatima", "Sanne", "Mohammed", "Emma", "Johannes Cornelis"];
    const LAST: [&str; 8] = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "El Amrani"];
    const STREET: [&str; 6] =
        ["Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenlaan", "Schoolstraat", "Julianastraat"];
    loop {
        let postcode = format!("{} {}{}", 1000 + rng.below(9000), char::from(b'A' + 3), char::from(b'A' + 1));
        let row: Vec<(String, String)> = vec![
            ("first_names".into(), (*rng.pick(&FIRST)).to_owned()),
            ("last_name".into(), (*rng.pick(&LAST)).to_owned()),
            ("email".into(), format!("Klant.{i}.{seed}@Example.NL")),
            ("phone".into(), format!("06-{:08}", rng.below(100_000_000))),
            ("iban".into(), nl_iban(rng.next_u64())),
            ("street".into(), (*rng.pick(&STREET)).to_owned()),
            ("postcode".into(), postcode),
            ("house_number".into(), (1 + rng.below(300)).to_string()),
        ];
        if catalogue.parse_values(row.iter().map(|(f, v)| (f.as_str(), v.as_str()))).is_ok() {
            return row;
        }
    }
}

#[derive(Debug, Default)]
struct ImportResult {
    subjects: u64,
    batch: usize,
    kluis: Duration,
    raw: Duration,
    kluis_batches: Vec<Duration>,
    raw_batches: Vec<Duration>,
    validate: Duration,
    values: i64,
    index_entries: i64,
    events: i64,
    bytes_before: Option<u64>,
    bytes_after: Option<u64>,
}

async fn create_raw_table(db: &BenchDb) -> anyhow::Result<()> {
    let columns: Vec<String> = FIELDS.iter().map(|f| format!("{f} TEXT NOT NULL")).collect();
    let strict = if db.backend == Backend::Sqlite { " STRICT" } else { "" };
    let sql = format!("CREATE TABLE bench_import_raw (id TEXT PRIMARY KEY, {}){strict}", columns.join(", "));
    sqlx::query(AssertSqlSafe(sql)).execute(db.store.pool()).await?;
    Ok(())
}

/// The baseline: one transaction inserting the rows in plaintext, with a fresh id each.
async fn raw_insert(db: &BenchDb, rows: &[Vec<(String, String)>]) -> anyhow::Result<()> {
    let begin = if db.backend == Backend::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
    let mut tx = db.store.pool().begin_with(begin).await?;
    let ids: Vec<String> = rows.iter().map(|_| SubjectId::generate().to_string()).collect();
    let prefix = format!("INSERT INTO bench_import_raw (id, {}) VALUES ", FIELDS.join(", "));
    for (chunk, ids) in rows.chunks(MAX_PARAMS / RAW_COLUMNS).zip(ids.chunks(MAX_PARAMS / RAW_COLUMNS)) {
        let mut query = sqlx::query(AssertSqlSafe(values_sql(Params::of(&tx), &prefix, RAW_COLUMNS, chunk.len())));
        for (row, id) in chunk.iter().zip(ids) {
            query = query.bind(id.as_str());
            for (_, value) in row {
                query = query.bind(value.as_str());
            }
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn count_rows(store: &SqlStore, sql: &'static str) -> anyhow::Result<i64> {
    let row = sqlx::query(sql).fetch_one(store.pool()).await?;
    Ok(sqlx::Row::try_get(&row, "n")?)
}

async fn run_on(db: &BenchDb, options: &Options) -> anyhow::Result<String> {
    let catalogue = Catalogue::dutch_it_provider();
    let (vault, _admin) =
        Vault::initialise(db.store.clone(), &SecretKey::generate()?, catalogue.clone(), Arc::new(SystemClock)).await?;
    let scope = vault.operator_scope();
    let ctx = AuditContext {
        actor: Actor::Cli("bench".to_owned()),
        purpose: Some(Purpose::parse("storage").map_err(|e| anyhow::anyhow!("{e}"))?),
        client: None,
        request_id: None,
    };
    create_raw_table(db).await?;
    let before = db.store.counts().await?;
    let mut r = ImportResult {
        subjects: options.subjects,
        batch: options.batch,
        bytes_before: db.size_on_disk().await,
        ..ImportResult::default()
    };
    let mut rng = Rng::new(options.seed);
    let mut done = 0_u64;
    let mut next_report = options.subjects / 10;
    let mut batches = 0_u64;
    let mut sample: Vec<(String, SubjectId)> = Vec::new();
    eprintln!("[1/1] import: {} subjects in batches of {}", count(options.subjects), options.batch);
    while done < options.subjects {
        let n = (options.subjects - done).min(options.batch as u64);
        let rows: Vec<Vec<(String, String)>> =
            (done..done + n).map(|i| generate(&catalogue, &mut rng, i, options.seed)).collect();
        // What validation alone costs (the vault does it again inside the timed call).
        let t = Instant::now();
        for row in &rows {
            std::hint::black_box(catalogue.parse_values(row.iter().map(|(f, v)| (f.as_str(), v.as_str()))).is_ok());
        }
        r.validate += t.elapsed();
        // kluis and the baseline, interleaved, alternating which goes first.
        for k in 0..2 {
            let t = Instant::now();
            if (batches + k).is_multiple_of(2) {
                let ids = vault.import_subjects(&ctx, &scope, SubjectKind::Customer, &rows).await?;
                let d = t.elapsed();
                r.kluis += d;
                r.kluis_batches.push(d);
                ensure!(ids.len() == rows.len(), "import_subjects returned {} ids for {} rows", ids.len(), rows.len());
                if batches.is_multiple_of(5) {
                    sample.push((rows[0][2].1.clone(), ids[0]));
                }
            } else {
                raw_insert(db, &rows).await?;
                let d = t.elapsed();
                r.raw += d;
                r.raw_batches.push(d);
            }
        }
        batches += 1;
        done += n;
        if done >= next_report {
            eprintln!("      {} / {} subjects", count(done), count(options.subjects));
            next_report += (options.subjects / 10).max(1);
        }
    }
    r.bytes_after = db.size_on_disk().await;
    // Check what was stored: every subject, value, index entry and event; a sample found again.
    let after = db.store.counts().await?;
    let subjects = after.subjects - before.subjects;
    ensure!(u64::try_from(subjects)? == options.subjects, "the store holds {subjects} new subjects");
    r.values = after.values - before.values;
    r.index_entries = after.index_entries - before.index_entries;
    r.events = after.audit_events - before.audit_events;
    ensure!(u64::try_from(r.events)? == options.subjects, "{} create events for {} subjects", r.events, subjects);
    let raw_rows = count_rows(&db.store, "SELECT COUNT(*) AS n FROM bench_import_raw").await?;
    ensure!(u64::try_from(raw_rows)? == options.subjects, "the raw table holds {raw_rows} rows");
    let find_ctx =
        AuditContext { purpose: Some(Purpose::parse("support").map_err(|e| anyhow::anyhow!("{e}"))?), ..ctx };
    for (email, id) in &sample {
        let found = vault.find_subjects(&find_ctx, &scope, IndexName::Email, &[email.as_str()]).await?;
        ensure!(found.len() == 1 && found[0].id == *id, "an imported subject is not found by its e-mail address");
    }
    eprintln!("      checked: counts, and {} subjects found again by e-mail", sample.len());
    Ok(r.write(db, sample.len()).await)
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

impl ImportResult {
    async fn write(&self, db: &BenchDb, found: usize) -> String {
        let mut doc = String::new();
        let rate = per_sec(self.subjects, self.kluis);
        let raw = per_sec(self.subjects, self.raw);
        let r = ratio(rate, raw);
        #[allow(clippy::cast_precision_loss)]
        let per = |n: i64| n as f64 / self.subjects as f64;
        let _ = writeln!(
            doc,
            "Backend: **{}** ({}). {} subjects of 8 fields ({}) through `Vault::import_subjects` under purpose \
             `storage`, {} per call (one durable transaction each, {:.1} index entries and {:.1} audit event per \
             subject); the baseline inserts the same rows in plaintext (an id and 8 text columns, {} rows per \
             statement), {} per transaction. Batches interleaved, alternating which goes first.\n",
            db.name(),
            db.durability().await,
            count(self.subjects),
            FIELDS.map(|f| format!("`{f}`")).join(", "),
            self.batch,
            per(self.index_entries),
            per(self.events),
            MAX_PARAMS / RAW_COLUMNS,
            self.batch,
        );
        let _ = writeln!(doc, "| figure | subjects/s | baseline | subjects/s | ratio | target | |");
        let _ = writeln!(doc, "|---|---:|---|---:|---:|---|---|");
        let _ = writeln!(
            doc,
            "| `import_subjects` | {} | raw plaintext insert, same rows, batch and durability | {} | {} | ≥ 50,000/s, ≥ 0.5× raw | {} / {} |\n",
            grouped(rate),
            grouped(raw),
            times(r),
            met(rate >= TARGET_RATE),
            met(r >= TARGET_RATIO)
        );
        let k = Latencies::new(self.kluis_batches.clone());
        let b = Latencies::new(self.raw_batches.clone());
        let _ = writeln!(doc, "| per batch of {} | p50 | p99 | max | total |", self.batch);
        let _ = writeln!(doc, "|---|---:|---:|---:|---:|");
        for (what, l, total) in [("`import_subjects`", &k, self.kluis), ("raw insert", &b, self.raw)] {
            let _ = writeln!(
                doc,
                "| {what} | {} | {} | {} | {} |",
                dur(l.pct(50)),
                dur(l.pct(99)),
                dur(l.pct(100)),
                dur(total)
            );
        }
        let _ = writeln!(
            doc,
            "\nValidation alone (`Catalogue::parse_values` of the same rows, outside the timed calls): {}/s. \
             Stored per subject: {:.1} values, {:.1} index entries, {:.1} audit event. Database growth: {}. \
             Checked after the run: every count, and {found} sampled subjects found again by e-mail.\n",
            grouped(per_sec(self.subjects, self.validate)),
            per(self.values),
            per(self.index_entries),
            per(self.events),
            match (self.bytes_before, self.bytes_after) {
                #[allow(clippy::cast_precision_loss)]
                (Some(a), Some(b)) => format!("{:.1} MiB (both tables)", (b.saturating_sub(a)) as f64 / 1_048_576.0),
                _ => "n/a".to_owned(),
            }
        );
        doc
    }
}
