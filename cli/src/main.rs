//! `mirrorgate`: the operator's tool and the local control plane.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mirrorgate::local::Backend;
use mirrorgate::operator::{
    self, ApproveArgs, DecideArgs, DrillArgs, DrillReportArgs, FailbackArgs, HistoryArgs, MaintenanceArgs,
    RequestsArgs, SwitchoverArgs,
};
use mirrorgate::{replay, serve, status, topology};
use shared::domain::DecisionAction;

/// mirrorgate watches InterSystems IRIS / Caché mirrors and puts every
/// disaster-recovery promotion behind a human approval.
///
/// Locally it runs the whole control plane on this machine: an embedded store,
/// alerts printed and written to an outbox file, approval and status pages on
/// 127.0.0.1, and AWS-shaped events accepted over HTTP or replayed from scenario files.
#[derive(Parser)]
#[command(name = "mirrorgate", version, propagate_version = true)]
struct Cli {
    /// Where state, alerts and promotions go: this machine, or AWS (the DynamoDB
    /// table, SNS topic, SSM and EventBridge named by MIRRORGATE_TABLE,
    /// MIRRORGATE_TOPIC_ARN and the topology; AWS_REGION, AWS_ENDPOINT_URL and
    /// credentials from the standard AWS chain).
    #[arg(long, value_enum, global = true, default_value_t = Backend::Embedded)]
    backend: Backend,
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
    ///   {"at": "...", "maintenance": {"mirror": "HSPROD", "for": "2h", "reason": "<why>", "by": "<name>"}}
    ///   {"at": "...", "maintenance_end": {"mirror": "HSPROD", "by": "<name>"}}
    ///   {"at": "...", "drill": {"mirror": "HSPROD", "by": "<name>"}}
    ///   {"at": "...", "switchover": {"mirror": "HSPROD", "to": "<DR member>", "by": "<name>"}}
    ///   {"at": "...", "failback": {"mirror": "HSPROD", "to": "<failover member>", "by": "<name>"}}
    /// approve and reject act on the mirror's open promotion request as a confirmed click would.
    /// maintenance starts a window on the mirror ("for": 2h, 90m, 1h30m, 45s or 1d, at most
    /// 7 days); maintenance_end ends it early (see `mirrorgate maintenance --help`).
    /// drill starts a DR drill (see `mirrorgate drill --help`); approve and reject then act
    /// on it when no promotion request is open.
    #[command(verbatim_doc_comment)]
    Replay(replay::ReplayArgs),
    /// Show each mirror's phase, epoch, maintenance, members and promotion requests.
    Status(status::StatusArgs),
    /// Start or end a maintenance window on a mirror (planned work: no promotion
    /// request, expected alerts told as info).
    Maintenance(MaintenanceArgs),
    /// Rehearse a DR promotion: a drill request goes to the approvers through the same
    /// channels and link, marked DRILL; approving runs the drill document
    /// (promotion.drill_document) or nothing, never the promotion. A real loss
    /// withdraws it.
    Drill(DrillArgs),
    /// The report of a drill: alert sent, link opened, decisions, what would have been
    /// promoted with which estimated loss (markdown, or --json).
    DrillReport(DrillReportArgs),
    /// Ask for a planned switchover to a DR member, through the same approval gate: it
    /// promotes with partner (no loss; refused when no failover member is heard from,
    /// unless the approver accepts the loss), then fences the former failover members.
    Switchover(SwitchoverArgs),
    /// Ask to fail back to a failover member, through the same approval gate: it
    /// un-fences what was fenced (the fencing document with Method=unfence) and promotes
    /// the member back with partner.
    Failback(FailbackArgs),
    /// Approve a promotion request, with the same rules as the approval page.
    ///
    /// On the local backend give your name with --by (it is trusted as typed); with
    /// --backend aws the decision is recorded with your AWS identity
    /// (sts:GetCallerIdentity), not a typed name.
    Approve(ApproveArgs),
    /// Reject a promotion request (nothing is promoted), as the approval page would.
    ///
    /// On the local backend give your name with --by (it is trusted as typed); with
    /// --backend aws the decision is recorded with your AWS identity.
    Reject(DecideArgs),
    /// A mirror's history: transitions, alerts, decisions, maintenance windows, as
    /// recorded in its state (the newest 100 lines).
    History(HistoryArgs),
    /// The promotion requests of every mirror, newest first, with their decisions.
    Requests(RequestsArgs),
    /// Check a topology file here; push it to the stack's Parameter Store path (one
    /// parameter per mirror), or show what the stack reads there (--backend aws).
    Topology(topology::TopologyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let backend = cli.backend;
    let result = match cli.command {
        Command::Serve(mut args) => {
            args.local.backend = backend;
            serve::run(args)
        }
        Command::Replay(mut args) => {
            args.local.backend = backend;
            replay::run(args)
        }
        Command::Status(mut args) => {
            args.local.backend = backend;
            status::run(args)
        }
        Command::Maintenance(mut args) => {
            args.set_backend(backend);
            operator::maintenance(args)
        }
        Command::Drill(mut args) => {
            args.local.backend = backend;
            operator::drill(args)
        }
        Command::Switchover(mut args) => {
            args.local.backend = backend;
            operator::switchover(args)
        }
        Command::Failback(mut args) => {
            args.local.backend = backend;
            operator::failback(args)
        }
        Command::DrillReport(mut args) => {
            args.local.backend = backend;
            operator::drill_report(args)
        }
        Command::Approve(mut args) => {
            args.decide.local.backend = backend;
            operator::decide(args.decide, DecisionAction::Approve, args.accept_loss)
        }
        Command::Reject(mut args) => {
            args.local.backend = backend;
            operator::decide(args, DecisionAction::Reject, false)
        }
        Command::History(mut args) => {
            args.local.backend = backend;
            operator::history(args)
        }
        Command::Requests(mut args) => {
            args.local.backend = backend;
            operator::requests(args)
        }
        Command::Topology(mut args) => {
            args.backend = backend;
            topology::run(args)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mirrorgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}
