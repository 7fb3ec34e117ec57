//! kluis benchmark harness (DESIGN §6). Every figure is printed beside a baseline measured in the
//! same process and the same run (interleaved with it where that is possible), so a slow or busy
//! machine moves both and the ratio stays meaningful. Benchmarks only: nothing here is a timed test.
//!
//! Progress goes to stderr, the markdown tables for `docs/BENCHMARKS.md` to stdout.

mod audit;
mod db;
mod events;
mod export;
mod http;
mod import;
mod requests;
mod stats;

use clap::{Parser, Subcommand};

/// kluis benchmarks: figures beside same-run baselines (DESIGN §6, docs/BENCHMARKS.md).
#[derive(Debug, Parser)]
#[command(name = "kluis-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The audit log: batched append, full verification, inclusion-proof latency.
    Audit(audit::Options),
    /// The HTTP API of `kluis serve` (a child process): start to a healthy /healthz, read by
    /// e-mail and create at fixed rates and at maximum throughput, server memory; beside an axum
    /// server returning a fixed body of the same size.
    Http(http::Options),
    /// Bulk import: subjects of 8 fields through `Vault::import_subjects` in batches, beside a
    /// raw plaintext insert of the same rows (same batch size, transactions and durability).
    Import(import::Options),
    /// Access export (Art. 15): one subject with 1,000 values and 10,000 events under the
    /// hosting-provider register, built and rendered as JSON, CSV zip and HTML, beside
    /// `serde_json::to_vec` of the same raw input.
    Export(export::Options),
    /// Data-subject requests end to end: access requests from the portal intake through the
    /// mailed code, verification, the export and its download, beside an audited read; and the
    /// access export of a subject with 10,000 audit events.
    Requests(requests::Options),
    /// The baseline server of `http`: axum, one handler returning a fixed JSON body (started by
    /// `kluis-bench http`; not a benchmark by itself).
    BaselineServer(http::BaselineOptions),
}

/// The allocator `kluis` ships with (crates/cli/src/main.rs), so that the scenarios that run the
/// store and the vault in this process, and their baselines, measure what ships.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Audit(options) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(audit::run(options))
        }
        Command::Http(options) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.client_threads.max(1))
            .enable_all()
            .build()?
            .block_on(http::run(options)),
        Command::Import(options) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(import::run(options))
        }
        Command::Export(options) => export::run(&options),
        Command::Requests(options) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(requests::run(options))
        }
        Command::BaselineServer(options) => http::baseline_server(&options),
    }
}
