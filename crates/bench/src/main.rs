//! kluis benchmark harness (DESIGN §6). Every figure is printed beside a baseline measured in the
//! same process and the same run (interleaved with it where that is possible), so a slow or busy
//! machine moves both and the ratio stays meaningful. Benchmarks only: nothing here is a timed test.
//!
//! Progress goes to stderr, the markdown tables for `docs/BENCHMARKS.md` to stdout.

mod audit;
mod db;
mod events;
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Audit(options) => runtime.block_on(audit::run(options)),
    }
}
