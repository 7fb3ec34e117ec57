//! `kluis-bench audit`: the audit-log budget of DESIGN §6.
//!
//! 1. Batched append through `Store::append_audit`, interleaved batch by batch with its baselines:
//!    SHA-256 of the same encoded bytes, a raw insert of the same bytes into a plain table (same
//!    batch size, statement shape, transaction and durability), a raw insert of the same bytes
//!    plus the same Merkle node rows (precomputed), and the same again with the events' subjects
//!    and the per-subject index the store keeps: the store's rows and indexes, which isolates what
//!    the store's code adds.
//! 2. Full verification (`kluis_vault::audit::verify_store`) beside SHA-256 of the same bytes read
//!    back from the store, and beside the page reads it does.
//! 3. Inclusion-proof latency at the requested log sizes, each proof interleaved with one
//!    single-node lookup (one round trip) as the baseline.

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use kluis_crypto::SecretKey;
use kluis_crypto::merkle::{self, NodeId, TreeBuilder};
use kluis_domain::audit::AuditEvent;
use kluis_domain::fields::Catalogue;
use kluis_domain::time::{Clock as _, SystemClock};
use kluis_store::Store as _;
use kluis_store_sql::SqlStore;
use kluis_vault::Vault;
use kluis_vault::audit::{LogRecomputer, verify_store};
use sha2::{Digest as _, Sha256};

use crate::db::{Backend, BenchDb};
use crate::events::EventGen;
use crate::stats::{Latencies, Rng, count, dur, grouped, per_sec, ratio, times};

/// DESIGN §6 targets.
const TARGET_APPEND: f64 = 200_000.0;
const TARGET_VERIFY: f64 = 1_000_000.0;
const TARGET_PROOF: Duration = Duration::from_millis(1);
const TARGET_PROOF_SIZE: u64 = 10_000_000;
/// Rows per multi-row INSERT in `SqlStore::append_in` (events, nodes).
const STORE_ROWS: (usize, usize) = (100, 100);
/// The page size `verify_store` reads with.
const PAGE: u32 = 10_000;

/// Options of `kluis-bench audit`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Database backend.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// PostgreSQL cluster (admin) URL: a fresh database is created in it and dropped afterwards.
    #[arg(long, env = "KLUIS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Events appended (and then verified) in scenarios 1 and 2. Accepts 200k, 1M, ….
    #[arg(long, default_value = "200k", value_parser = parse_count)]
    events: u64,
    /// Batch size of scenario 1 (events per `append_audit` call and transaction).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Log sizes at which to measure inclusion proofs, comma-separated (e.g. 1M,10M); `none` skips.
    #[arg(long, default_value = "1M,10M")]
    proof_sizes: String,
    /// Proofs (and baseline lookups) measured per size.
    #[arg(long, default_value_t = 1000)]
    proofs: usize,
    /// Batch size used to grow the log to the proof sizes.
    #[arg(long, default_value_t = 10_000)]
    build_batch: usize,
    /// Also run the full verification at every proof size (reads the whole log again).
    #[arg(long)]
    verify_large: bool,
    /// Parent directory of the temporary SQLite database (default: the system temp directory).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Rows per multi-row INSERT in the raw baselines, events,nodes (default: what the store uses).
    #[arg(long, default_value = "100,100", value_parser = parse_pair)]
    raw_rows_per_statement: (usize, usize),
    /// Seed of the event generator and of the proof indices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// `1000`, `200k`, `1M`, `10M`, `1_000_000`.
pub(crate) fn parse_count(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let (digits, factor) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000),
        _ => (t.as_str(), 1),
    };
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(factor)).ok_or_else(|| format!("not a count: {text}"))
}

fn parse_pair(text: &str) -> Result<(usize, usize), String> {
    let (a, b) = text.split_once(',').ok_or_else(|| format!("expected EVENTS,NODES: {text}"))?;
    let a = a.trim().parse::<usize>().map_err(|e| e.to_string())?;
    let b = b.trim().parse::<usize>().map_err(|e| e.to_string())?;
    if a == 0 || b == 0 {
        return Err("rows per statement must be positive".into());
    }
    Ok((a, b))
}

fn parse_sizes(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut sizes = text.split(',').map(parse_count).collect::<Result<Vec<_>, _>>()?;
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

fn now() -> kluis_domain::Timestamp {
    SystemClock.now()
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let proof_sizes = parse_sizes(&options.proof_sizes).map_err(anyhow::Error::msg)?;
    ensure!(options.batch > 0 && options.build_batch > 0, "batch sizes must be positive");
    ensure!(options.events > 0, "--events must be positive");
    let db = match options.backend {
        Backend::Sqlite => BenchDb::sqlite(options.dir.as_deref()).await?,
        Backend::Postgres => {
            let url = options.database_url.as_deref().context("--backend postgres needs --database-url")?;
            BenchDb::postgres(url).await?
        }
    };
    let result = run_on(&db, &options, &proof_sizes).await;
    db.close().await;
    let doc = result?;
    print!("{doc}");
    Ok(())
}

async fn run_on(db: &BenchDb, options: &Options, proof_sizes: &[u64]) -> anyhow::Result<String> {
    let (vault, _admin) = Vault::initialise(
        db.store.clone(),
        &SecretKey::generate()?,
        Catalogue::dutch_it_provider(),
        Arc::new(SystemClock),
    )
    .await?;
    let mut generator = EventGen::new(options.seed);
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "Backend: **{}** ({}). Events: realistic `AuditEvent`s from `AuditContext::event` (16 API tokens with \
         purposes and client addresses, request ids, random subjects; 70 % reads, 10 % finds, 8 % creates, 8 % \
         updates, 4 % not-found/erase).\n",
        db.name(),
        db.durability().await
    );

    eprintln!("[1/3] batched append: {} events in batches of {}", count(options.events), options.batch);
    let append =
        append_scenario(db, &vault, &mut generator, options.events, options.batch, options.raw_rows_per_statement)
            .await?;
    append.write(&mut doc, db);

    eprintln!("[2/3] full verification of {} events", count(vault.audit_size().await?));
    vault.checkpoint_now().await?;
    let verify = verify_scenario(&db.store, &vault).await?;
    verify.write(&mut doc, "2. Full verification", db);

    let mut rng = Rng::new(options.seed ^ 0x5EED);
    let _ = writeln!(doc, "### 3. Inclusion-proof latency ({})\n", db.name());
    if proof_sizes.is_empty() {
        let _ = writeln!(doc, "Skipped (`--proof-sizes none`).\n");
    }
    let mut proof_rows = Vec::new();
    for (i, &size) in proof_sizes.iter().enumerate() {
        eprintln!("[3/3] inclusion proofs at {} events ({} of {})", count(size), i + 1, proof_sizes.len());
        let build = grow(&db.store, &mut generator, size, options.build_batch).await?;
        let proofs = proof_scenario(&db.store, &vault, &mut rng, size, options.proofs).await?;
        let large_verify = if options.verify_large {
            eprintln!("      full verification at {} events", count(size));
            vault.checkpoint_now().await?;
            Some(verify_scenario(&db.store, &vault).await?)
        } else {
            None
        };
        proof_rows.push((size, build, proofs, large_verify, db.size_on_disk().await));
    }
    write_proofs(&mut doc, &proof_rows, db);
    Ok(doc)
}

// --- 1. batched append ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct AppendResult {
    events: u64,
    batch: usize,
    rows_per_statement: (usize, usize),
    bytes: u64,
    batches: u64,
    statements: u64,
    nodes: u64,
    append: Duration,
    raw_events: Duration,
    raw_with_nodes: Duration,
    raw_like_store: Duration,
    encode: Duration,
    sha: Duration,
    merkle_cpu: Duration,
}

async fn append_scenario(
    db: &BenchDb,
    vault: &Vault<SqlStore>,
    generator: &mut EventGen,
    total: u64,
    batch: usize,
    rows_per_statement: (usize, usize),
) -> anyhow::Result<AppendResult> {
    let store = &db.store;
    db.create_raw_tables("bench_raw", false).await?;
    db.create_raw_tables("bench_rawm", false).await?;
    db.create_raw_tables("bench_raws", true).await?;
    let start = vault.audit_size().await?;
    let mut tree = TreeBuilder::from_frontier(start, &store.audit_nodes(&merkle::frontier(start)).await?)
        .map_err(|e| anyhow::anyhow!("frontier: {e}"))?;
    let mut r = AppendResult { events: total, batch, rows_per_statement, ..AppendResult::default() };
    let mut seq = start;
    let mut done = 0_u64;
    let mut next_report = total / 10;
    while done < total {
        let n = usize::try_from((total - done).min(batch as u64))?;
        let events = generator.batch(n, now());

        // CPU baselines over the same events and sequence numbers as the store will assign.
        let t = Instant::now();
        let encoded: Vec<Vec<u8>> = events.iter().zip(seq..).map(|(e, s)| e.encode(s)).collect();
        r.encode += t.elapsed();
        let t = Instant::now();
        for bytes in &encoded {
            black_box(Sha256::digest(black_box(bytes)));
        }
        r.sha += t.elapsed();
        let t = Instant::now();
        let mut nodes = Vec::with_capacity(2 * n);
        for (bytes, s) in encoded.iter().zip(seq..) {
            let s = i64::try_from(s)?;
            nodes.extend(tree.push(merkle::leaf_hash(bytes)).into_iter().map(|(id, h)| (id, s, h)));
        }
        r.merkle_cpu += t.elapsed();
        let rows: Vec<(i64, i64, Vec<u8>, Option<String>)> = encoded
            .into_iter()
            .zip(seq..)
            .zip(&events)
            .map(|((bytes, s), e)| Ok((i64::try_from(s)?, e.time, bytes, e.subject.clone())))
            .collect::<anyhow::Result<_>>()?;

        // The four database variants, interleaved, in rotating order.
        for k in 0..4 {
            let t = Instant::now();
            match (r.batches + k) % 4 {
                0 => {
                    db.raw_insert("bench_raw", false, &rows, &[], rows_per_statement).await?;
                    r.raw_events += t.elapsed();
                }
                1 => {
                    db.raw_insert("bench_rawm", false, &rows, &nodes, rows_per_statement).await?;
                    r.raw_with_nodes += t.elapsed();
                }
                2 => {
                    db.raw_insert("bench_raws", true, &rows, &nodes, rows_per_statement).await?;
                    r.raw_like_store += t.elapsed();
                }
                _ => {
                    store.append_audit(&events).await?;
                    r.append += t.elapsed();
                }
            }
        }
        // BEGIN, head update, frontier read, event inserts, node inserts, COMMIT.
        r.statements += 4 + n.div_ceil(STORE_ROWS.0) as u64 + nodes.len().div_ceil(STORE_ROWS.1) as u64;
        r.nodes += nodes.len() as u64;
        r.bytes += rows.iter().map(|(_, _, b, _)| b.len() as u64).sum::<u64>();
        r.batches += 1;
        seq += n as u64;
        done += n as u64;
        if done >= next_report {
            eprintln!("      {} / {} events", count(done), count(total));
            next_report += (total / 10).max(1);
        }
    }
    let size = vault.audit_size().await?;
    ensure!(size == seq, "the store holds {size} events, expected {seq}");
    let root = vault.audit_root(size).await?;
    ensure!(root == tree.root(), "the store's root differs from the recomputed one");
    Ok(r)
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

impl AppendResult {
    fn write(&self, doc: &mut String, db: &BenchDb) {
        let rate = per_sec(self.events, self.append);
        let raw = per_sec(self.events, self.raw_events);
        let raw_nodes = per_sec(self.events, self.raw_with_nodes);
        let raw_store = per_sec(self.events, self.raw_like_store);
        let sha = per_sec(self.events, self.sha);
        let encode = per_sec(self.events, self.encode);
        let merkle_cpu = per_sec(self.events, self.merkle_cpu);
        #[allow(clippy::cast_precision_loss)]
        let (avg_bytes, per_batch, nodes_per_event) = (
            self.bytes as f64 / self.events as f64,
            self.statements as f64 / self.batches as f64,
            self.nodes as f64 / self.events as f64,
        );
        let shape = if self.rows_per_statement == STORE_ROWS {
            String::new()
        } else {
            format!(" ({}/{} rows per statement)", self.rows_per_statement.0, self.rows_per_statement.1)
        };
        let us = |d: Duration| {
            #[allow(clippy::cast_precision_loss)]
            let per = d.as_secs_f64() * 1e6 / self.events as f64;
            format!("{per:.2} µs")
        };
        let _ = writeln!(
            doc,
            "### 1. Batched append ({})\n\n{} events via `Store::append_audit` in batches of {} (one durable \
             transaction each); mean encoded event {avg_bytes:.0} bytes. Each batch also ran the baselines on the \
             same events, interleaved in rotating order.\n",
            db.name(),
            count(self.events),
            self.batch
        );
        let _ = writeln!(doc, "| figure | events/s | baseline | events/s | ratio | target | |");
        let _ = writeln!(doc, "|---|---:|---|---:|---:|---|---|");
        let _ = writeln!(
            doc,
            "| `append_audit` | {} | SHA-256 of the same encoded bytes | {} | {} | ≥ 200,000 events/s | {} |",
            grouped(rate),
            grouped(sha),
            times(ratio(rate, sha)),
            met(rate >= TARGET_APPEND)
        );
        let _ = writeln!(
            doc,
            "| `append_audit` | {} | raw insert of the same bytes, plain table, same batch & durability{} | {} | {} | | |",
            grouped(rate),
            shape,
            grouped(raw),
            times(ratio(rate, raw))
        );
        let _ = writeln!(
            doc,
            "| `append_audit` | {} | raw insert of the same bytes + the same node rows (precomputed){} | {} | {} | | |",
            grouped(rate),
            shape,
            grouped(raw_nodes),
            times(ratio(rate, raw_nodes))
        );
        let _ = writeln!(
            doc,
            "| `append_audit` | {} | the same + the events' subjects and the per-subject index (the store's rows and indexes){} | {} | {} | | |\n",
            grouped(rate),
            shape,
            grouped(raw_store),
            times(ratio(rate, raw_store))
        );
        let _ = writeln!(doc, "Where an append's time goes (per event, same run):\n");
        let _ = writeln!(doc, "| part | per event | events/s |");
        let _ = writeln!(doc, "|---|---:|---:|");
        for (what, d, r) in [
            ("`append_audit`, total", self.append, rate),
            ("canonical encoding (`AuditEvent::encode`, serde_json)", self.encode, encode),
            ("SHA-256 of the encoded bytes", self.sha, sha),
            ("leaf hash + `TreeBuilder::push` (all Merkle hashing)", self.merkle_cpu, merkle_cpu),
            ("raw insert of the event rows (durable)", self.raw_events, raw),
            ("raw insert of the event rows + node rows (durable)", self.raw_with_nodes, raw_nodes),
            ("the same + subjects and the per-subject index (durable)", self.raw_like_store, raw_store),
        ] {
            let _ = writeln!(doc, "| {what} | {} | {} |", us(d), grouped(r));
        }
        let _ = writeln!(
            doc,
            "\nStatements per batch of {}: {per_batch:.1} (BEGIN, head update, frontier read, {} event inserts, \
             node inserts for {nodes_per_event:.2} node rows per event, COMMIT).\n",
            self.batch,
            self.batch.div_ceil(STORE_ROWS.0)
        );
    }
}

// --- 2. full verification ----------------------------------------------------------------------

#[derive(Debug)]
struct VerifyResult {
    events: u64,
    nodes_checked: u64,
    verify: Duration,
    /// Mean of the run before and the run after verification.
    read_events: Duration,
    read_nodes: Duration,
    sha: Duration,
    recompute: Duration,
}

/// Reads the whole log back with the page queries `verify_store` uses, then hashes the bytes.
async fn read_back(store: &SqlStore) -> anyhow::Result<(Duration, Duration, Duration, Duration, u64)> {
    let mut read_events = Duration::ZERO;
    let mut read_nodes = Duration::ZERO;
    let mut all = Vec::new();
    let mut next = 0;
    loop {
        let t = Instant::now();
        let page = store.audit_events(next, PAGE).await?;
        read_events += t.elapsed();
        let (Some(first), Some(last)) = (page.first(), page.last()) else { break };
        let t = Instant::now();
        black_box(store.audit_nodes_completed_by(first.seq, last.seq).await?);
        read_nodes += t.elapsed();
        next = last.seq + 1;
        all.extend(page.into_iter().map(|e| e.event));
    }
    let t = Instant::now();
    for bytes in &all {
        black_box(Sha256::digest(black_box(bytes)));
    }
    let sha = t.elapsed();
    let t = Instant::now();
    let mut recomputer = LogRecomputer::new([]);
    for (seq, bytes) in (0..).zip(&all) {
        black_box(recomputer.push(seq, bytes).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let recompute = t.elapsed();
    Ok((read_events, read_nodes, sha, recompute, all.len() as u64))
}

async fn verify_scenario(store: &SqlStore, vault: &Vault<SqlStore>) -> anyhow::Result<VerifyResult> {
    let before = read_back(store).await?;
    let t = Instant::now();
    let report = verify_store(store, vault.audit_origin(), vault.audit_verifying_key(), &mut |_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("verification failed: {e}"))?;
    let verify = t.elapsed();
    let after = read_back(store).await?;
    ensure!(report.events == before.4 && report.events == after.4, "event counts differ");
    Ok(VerifyResult {
        events: report.events,
        nodes_checked: report.nodes_checked,
        verify,
        read_events: (before.0 + after.0) / 2,
        read_nodes: (before.1 + after.1) / 2,
        sha: (before.2 + after.2) / 2,
        recompute: (before.3 + after.3) / 2,
    })
}

impl VerifyResult {
    fn write(&self, doc: &mut String, title: &str, db: &BenchDb) {
        let rate = per_sec(self.events, self.verify);
        let sha = per_sec(self.events, self.sha);
        let read_sha = per_sec(self.events, self.read_events + self.sha);
        let reads = per_sec(self.events, self.read_events + self.read_nodes);
        let recompute = per_sec(self.events, self.recompute);
        let _ = writeln!(
            doc,
            "### {title} ({}, {} events)\n\n`kluis_vault::audit::verify_store` over the whole log ({} events, {} \
             stored nodes compared, 1 checkpoint), took {}. Baselines: the mean of a run right before and right \
             after.\n",
            db.name(),
            count(self.events),
            count(self.events),
            count(self.nodes_checked),
            dur(self.verify)
        );
        let _ = writeln!(doc, "| figure | events/s | baseline | events/s | ratio | target | |");
        let _ = writeln!(doc, "|---|---:|---|---:|---:|---|---|");
        let _ = writeln!(
            doc,
            "| `verify_store` | {} | SHA-256 of the same event bytes (read back, in memory) | {} | {} | ≥ 1,000,000 events/s | {} |",
            grouped(rate),
            grouped(sha),
            times(ratio(rate, sha)),
            met(rate >= TARGET_VERIFY)
        );
        let _ = writeln!(
            doc,
            "| `verify_store` | {} | reading the event pages back + SHA-256 | {} | {} | | |",
            grouped(rate),
            grouped(read_sha),
            times(ratio(rate, read_sha))
        );
        let _ = writeln!(
            doc,
            "| `verify_store` | {} | the page reads verify does (events + nodes), nothing else | {} | {} | | |",
            grouped(rate),
            grouped(reads),
            times(ratio(rate, reads))
        );
        let _ = writeln!(
            doc,
            "| `verify_store` | {} | `LogRecomputer` over the bytes in memory (verify's CPU part) | {} | {} | | |\n",
            grouped(rate),
            grouped(recompute),
            times(ratio(rate, recompute))
        );
    }
}

// --- 3. inclusion proofs -----------------------------------------------------------------------

#[derive(Debug)]
struct BuildResult {
    appended: u64,
    append: Duration,
    wall: Duration,
}

/// Appends realistic events in batches of `batch` until the log holds `size` events.
async fn grow(store: &SqlStore, generator: &mut EventGen, size: u64, batch: usize) -> anyhow::Result<BuildResult> {
    let start = store.audit_size().await?;
    if start > size {
        bail!("the log already holds {start} events, more than the proof size {size}");
    }
    let wall = Instant::now();
    let mut append = Duration::ZERO;
    let mut current = start;
    let step = ((size - start) / 20).max(1);
    let mut next_report = start + step;
    while current < size {
        let n = usize::try_from((size - current).min(batch as u64))?;
        let events: Vec<AuditEvent> = generator.batch(n, now());
        let t = Instant::now();
        store.append_audit(&events).await?;
        append += t.elapsed();
        current += n as u64;
        if current >= next_report {
            eprintln!(
                "      {} / {} events ({} events/s appending)",
                count(current),
                count(size),
                grouped(per_sec(current - start, append))
            );
            next_report += step;
        }
    }
    Ok(BuildResult { appended: size - start, append, wall: wall.elapsed() })
}

#[derive(Debug)]
struct ProofResult {
    proofs: usize,
    proof: Latencies,
    verify: Latencies,
    lookup: Latencies,
    mean_nodes: f64,
    mean_queries: f64,
    mean_path: f64,
}

async fn proof_scenario(
    store: &SqlStore,
    vault: &Vault<SqlStore>,
    rng: &mut Rng,
    size: u64,
    proofs: usize,
) -> anyhow::Result<ProofResult> {
    ensure!(vault.audit_size().await? == size, "the log is not at size {size}");
    let root = vault.audit_root(size).await?;
    let mut proof_t = Vec::with_capacity(proofs);
    let mut verify_t = Vec::with_capacity(proofs);
    let mut lookup_t = Vec::with_capacity(proofs);
    let (mut nodes, mut queries, mut path) = (0_usize, 0_usize, 0_usize);
    let warmup = 20;
    for i in 0..warmup + proofs {
        // Baseline: one node, one round trip.
        let index = rng.below(size);
        let t = Instant::now();
        black_box(store.audit_nodes(&[NodeId { level: 0, index }]).await?);
        let lookup = t.elapsed();

        let index = rng.below(size);
        let t = Instant::now();
        let p = vault.inclusion_proof(index, None).await?;
        let proof = t.elapsed();
        let t = Instant::now();
        let ok = merkle::verify_inclusion(&p.leaf_hash, p.index, p.size, &p.proof, &p.root);
        let verify = t.elapsed();
        ensure!(ok.is_ok() && p.root == root && p.size == size, "proof of {index} does not verify");
        if i >= warmup {
            lookup_t.push(lookup);
            proof_t.push(proof);
            verify_t.push(verify);
            let range_nodes: usize = merkle::inclusion_ranges(index, size)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .iter()
                .map(|(a, b)| merkle::range_nodes(*a, *b).len())
                .sum();
            let frontier = merkle::frontier(size).len();
            nodes += range_nodes + 1 + frontier;
            // audit_size, then the ranges, the leaf and the frontier together (200 nodes per statement).
            queries += 1 + (range_nodes + 1 + frontier).div_ceil(200);
            path += p.proof.len();
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let n = proofs.max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    Ok(ProofResult {
        proofs,
        proof: Latencies::new(proof_t),
        verify: Latencies::new(verify_t),
        lookup: Latencies::new(lookup_t),
        mean_nodes: nodes as f64 / n,
        mean_queries: queries as f64 / n,
        mean_path: path as f64 / n,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

type ProofRow = (u64, BuildResult, ProofResult, Option<VerifyResult>, Option<u64>);

fn write_proofs(doc: &mut String, rows: &[ProofRow], db: &BenchDb) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        doc,
        "Random indices, `Vault::inclusion_proof(index, None)` (current size), each interleaved with the \
         baseline: one `Store::audit_nodes` lookup of a single random leaf node (one round trip). Ratio = proof \
         latency / lookup latency, i.e. round-trip equivalents.\n"
    );
    let _ = writeln!(
        doc,
        "| log size | proofs | figure | p50 | p99 | baseline p50 | baseline p99 | ratio p50 | ratio p99 | target | |"
    );
    let _ = writeln!(doc, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|");
    for (size, _, p, _, _) in rows {
        let target = if *size >= TARGET_PROOF_SIZE {
            (
                "≤ 1 ms at 10 M",
                format!("p50 {}, p99 {}", met(p.proof.pct(50) <= TARGET_PROOF), met(p.proof.pct(99) <= TARGET_PROOF)),
            )
        } else {
            ("(≤ 1 ms at 10 M)", String::new())
        };
        let _ = writeln!(
            doc,
            "| {} | {} | `inclusion_proof` | {} | {} | {} | {} | {} | {} | {} | {} |",
            count(*size),
            p.proofs,
            ms(p.proof.pct(50)),
            ms(p.proof.pct(99)),
            ms(p.lookup.pct(50)),
            ms(p.lookup.pct(99)),
            times(ratio(p.proof.pct(50).as_secs_f64(), p.lookup.pct(50).as_secs_f64())),
            times(ratio(p.proof.pct(99).as_secs_f64(), p.lookup.pct(99).as_secs_f64())),
            target.0,
            target.1
        );
        let _ = writeln!(
            doc,
            "| {} | {} | `merkle::verify_inclusion` (CPU) | {} | {} | | | | | | |",
            count(*size),
            p.proofs,
            dur(p.verify.pct(50)),
            dur(p.verify.pct(99))
        );
    }
    let _ = writeln!(
        doc,
        "\n| log size | nodes read per proof | queries per proof | proof hashes | mean proof | mean lookup | log built in | append rate while building | size on disk |"
    );
    let _ = writeln!(doc, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (size, b, p, _, disk) in rows {
        let _ = writeln!(
            doc,
            "| {} | {:.1} | {:.1} | {:.1} | {} | {} | {} ({} events) | {} events/s | {} |",
            count(*size),
            p.mean_nodes,
            p.mean_queries,
            p.mean_path,
            ms(p.proof.mean()),
            ms(p.lookup.mean()),
            dur(b.wall),
            count(b.appended),
            grouped(per_sec(b.appended, b.append)),
            disk.map_or_else(
                || "n/a".into(),
                |d| format!("{:.2} GB", {
                    #[allow(clippy::cast_precision_loss)]
                    let gb = d as f64 / 1e9;
                    gb
                })
            )
        );
    }
    let _ = writeln!(doc);
    for (size, _, _, verify, _) in rows {
        if let Some(v) = verify {
            v.write(doc, &format!("2b. Full verification at {}", count(*size)), db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_parse() {
        assert_eq!(parse_count("200k"), Ok(200_000));
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert_eq!(parse_count("1_000"), Ok(1000));
        assert!(parse_count("x").is_err());
        assert_eq!(parse_sizes("10M,1M"), Ok(vec![1_000_000, 10_000_000]));
        assert_eq!(parse_sizes("none"), Ok(vec![]));
    }
}
