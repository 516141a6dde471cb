//! `mirrorgate-bench`: the benchmark driver behind `scripts/bench`.
//!
//! Each measuring command writes one JSON file of raw numbers; `report` turns the
//! files of one run into the markdown table of docs/PERFORMANCE.md.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod calls;
mod coldstart;
mod env;
mod proxy;
mod report;
mod results;
mod sizes;
mod stats;
mod throughput;

#[derive(Parser)]
#[command(name = "mirrorgate-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Repeated cold starts of every function, hello-lambda and the boto3 function,
    /// interleaved, against a local Lambda Runtime API and the emulator.
    Coldstart(coldstart::Args),
    /// AWS calls per signal: the functions' binaries run a scenario through a
    /// counting proxy in front of the emulator.
    Calls(calls::Args),
    /// `mirrorgate replay` of a generated scenario (many mirrors, many signals).
    Throughput(throughput::Args),
    /// Sizes of the `cargo lambda build --release --arm64` artifacts.
    Sizes(sizes::Args),
    /// The markdown report of one run's results.
    Report(report::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Coldstart(args) => coldstart::run(args),
        Command::Calls(args) => calls::run(args),
        Command::Throughput(args) => throughput::run(args),
        Command::Sizes(args) => sizes::run(args),
        Command::Report(args) => report::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mirrorgate-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a result file (pretty JSON).
pub fn write_json<T: serde::Serialize>(path: &PathBuf, value: &T) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}
