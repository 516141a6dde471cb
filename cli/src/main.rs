//! `mirrorgate`: the operator's tool and the local control plane.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mirrorgate::{replay, serve, status};

/// mirrorgate watches InterSystems IRIS / Caché mirrors and puts every
/// disaster-recovery promotion behind a human approval.
///
/// Locally it runs the whole control plane on this machine: an embedded store,
/// alerts printed and written to an outbox file, approval and status pages on
/// 127.0.0.1, and AWS-shaped events accepted over HTTP or replayed from scenario files.
#[derive(Parser)]
#[command(name = "mirrorgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: POST AWS payloads to /events, read the status page at /,
    /// decide promotion requests at the links the alerts carry.
    Serve(serve::ServeArgs),
    /// Replay a scenario (JSON lines) with simulated time and print what mirrorgate does.
    ///
    /// Each line is one of:
    ///   {"at": "<RFC 3339>", "event": <an AWS payload, exactly as delivered>}
    ///   {"at": "...", "tick": {}}
    ///   {"at": "...", "approve": {"mirror": "HSPROD", "by": "<name>", "accept_loss": false}}
    ///   {"at": "...", "reject": {"mirror": "HSPROD", "by": "<name>"}}
    /// approve and reject act on the mirror's open promotion request as a confirmed click would.
    #[command(verbatim_doc_comment)]
    Replay(replay::ReplayArgs),
    /// Show each mirror's phase, epoch, members and promotion requests.
    Status(status::StatusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Status(args) => status::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mirrorgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
