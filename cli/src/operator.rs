//! The operator's commands: `maintenance start|end`, `drill`, `drill-report`,
//! `approve`, `reject`, `history` and `requests`, on either backend. Each change goes through the engine
//! (one decision, one conditional write), exactly as a signal from AWS would.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use shared::domain::maintenance::{invalid_by, invalid_start, parse_duration};
use shared::domain::report::DrillReport;
use shared::domain::{
    Authority, Decision, DecisionAction, DecisionVerdict, MirrorState, PromotionRequest, RequestKind, RequestStatus,
    Signal, SignalKind, Verdict,
};
use shared::engine::Report;

use crate::local::{self, Backend, LocalArgs, LocalEngine};
use crate::output;

#[derive(Args, Debug)]
pub struct MaintenanceArgs {
    #[command(subcommand)]
    pub action: MaintenanceAction,
}

#[derive(Subcommand, Debug)]
pub enum MaintenanceAction {
    /// Start a maintenance window on a mirror: until it ends, no promotion request is
    /// raised, a lost primary, a failover and a backup down are told as info (saying
    /// "maintenance: <reason>, until <time>"), and two primaries or a DR member lost
    /// are alerted as usual. A request already waiting stays. A window already on is
    /// replaced by this one.
    Start {
        /// The mirror, as named in the topology.
        mirror: String,
        /// How long: 2h, 90m, 1h30m, 45s or 1d (at most 7 days). It ends by itself then.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why: every alert during the window says it.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Who starts it (recorded in the mirror's history).
        #[arg(long, value_name = "NAME")]
        by: String,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// End a mirror's maintenance window now: the normal rules apply at once (a
    /// primary lost for longer than the confirmation window asks for a promotion).
    End {
        mirror: String,
        /// Who ends it (recorded in the mirror's history).
        #[arg(long, value_name = "NAME")]
        by: String,
        #[command(flatten)]
        local: LocalArgs,
    },
}

impl MaintenanceArgs {
    pub fn set_backend(&mut self, backend: Backend) {
        match &mut self.action {
            MaintenanceAction::Start { local, .. } | MaintenanceAction::End { local, .. } => local.backend = backend,
        }
    }
}

/// Options of `drill`.
#[derive(Args, Debug)]
pub struct DrillArgs {
    /// The mirror, as named in the topology.
    pub mirror: String,
    /// Who starts it (recorded in the mirror's history and said in the alert).
    #[arg(long, value_name = "NAME")]
    pub by: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Options of `switchover`.
#[derive(Args, Debug)]
pub struct SwitchoverArgs {
    /// The mirror, as named in the topology.
    pub mirror: String,
    /// The DR async member to make primary.
    #[arg(long, value_name = "MEMBER")]
    pub to: String,
    /// Who asks (recorded in the mirror's history and said in the alert).
    #[arg(long, value_name = "NAME")]
    pub by: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Options of `failback`.
#[derive(Args, Debug)]
pub struct FailbackArgs {
    /// The mirror, as named in the topology.
    pub mirror: String,
    /// The failover member to make primary again.
    #[arg(long, value_name = "MEMBER")]
    pub to: String,
    /// Who asks (recorded in the mirror's history and said in the alert).
    #[arg(long, value_name = "NAME")]
    pub by: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Options of `drill-report`.
#[derive(Args, Debug)]
pub struct DrillReportArgs {
    /// The drill's request, e.g. HSPROD-R3 (`mirrorgate requests` lists them).
    pub request: String,
    /// The report as one JSON object instead of markdown.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Options of `approve` and `reject`.
#[derive(Args, Debug)]
pub struct DecideArgs {
    /// The promotion request, e.g. HSPROD-R1 (`mirrorgate requests --open` lists them).
    pub request: String,
    /// Who decides. Only on the local backend, which trusts the name as typed; with
    /// --backend aws the decision is recorded with the caller's AWS identity
    /// (sts:GetCallerIdentity) and this option is refused.
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    #[command(flatten)]
    pub local: LocalArgs,
    /// Print the effects as JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub decide: DecideArgs,
    /// I accept the data loss: needed when the candidate may lose more than the
    /// policy allows (or its loss is unknown), as on the approval page.
    #[arg(long)]
    pub accept_loss: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The mirror, as named in the topology.
    pub mirror: String,
    /// Only lines from this time on: a duration back from now (2h, 30m, 1d) or a
    /// time (RFC 3339, e.g. 2026-11-25T03:00:00Z).
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub local: LocalArgs,
}

#[derive(Args, Debug)]
pub struct RequestsArgs {
    /// Only the requests still waiting for a decision.
    #[arg(long)]
    pub open: bool,
    /// One JSON object per request per line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// Starts or ends a maintenance window. Bad input is refused before anything is written.
pub fn maintenance(args: MaintenanceArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let (local_args, mirror, kind) = match args.action {
        MaintenanceAction::Start {
            mirror,
            duration,
            reason,
            by,
            local,
        } => {
            let duration_secs = parse_duration(&duration).map_err(|e| anyhow::anyhow!("--for: {e}"))?;
            if let Some(why) = invalid_start(duration_secs, &reason, &by) {
                bail!("maintenance not started: {why}");
            }
            (
                local,
                mirror,
                SignalKind::MaintenanceStart {
                    duration_secs,
                    reason,
                    by,
                },
            )
        }
        MaintenanceAction::End { mirror, by, local } => {
            if let Some(why) = invalid_by(&by) {
                bail!("maintenance not ended: {why}");
            }
            (local, mirror, SignalKind::MaintenanceEnd { by })
        }
    };
    let engine = stored_engine(&local_args)?;
    known_mirror(&engine, &mirror)?;
    let runtime = local::runtime()?;
    runtime.block_on(async {
        let signal = Signal {
            mirror: mirror.clone(),
            id: None,
            at: now,
            kind,
        };
        let outcome = engine.handle(signal, now).await?;
        if let Verdict::Ignored { why } = &outcome.verdict {
            bail!("{why}");
        }
        print_reports(now, &outcome.reports, false);
        let state = engine.state(&mirror, now).await?;
        match state.active_maintenance(now) {
            Some(w) => println!(
                "{mirror}: in maintenance until {} ({}, started by {})",
                w.until.format("%Y-%m-%d %H:%M:%S UTC"),
                w.reason,
                w.by
            ),
            None => println!("{mirror}: not in maintenance; phase {}", state.phase),
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts a DR drill: a drill request to the approvers, marked DRILL. Refused, with
/// nothing written, when a real loss is being handled or a drill is already on.
pub fn drill(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    if let Some(why) = invalid_by(&args.by) {
        bail!("drill not started: {why}");
    }
    let engine = stored_engine(&args.local)?;
    known_mirror(&engine, &args.mirror)?;
    let runtime = local::runtime()?;
    runtime.block_on(async {
        let signal = Signal {
            mirror: args.mirror.clone(),
            id: None,
            at: now,
            kind: SignalKind::Drill { by: args.by.clone() },
        };
        let outcome = engine.handle(signal, now).await?;
        if let Verdict::Ignored { why } = &outcome.verdict {
            bail!("{why}");
        }
        print_reports(now, &outcome.reports, false);
        let state = engine.state(&args.mirror, now).await?;
        if let Some(drill) = state.active_drill() {
            println!(
                "{}: DRILL {} sent to the approvers (would promote {}); the report: mirrorgate drill-report {}",
                args.mirror, drill.id, drill.candidate, drill.id
            );
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Asks for a planned switchover to a DR member: a request to the approvers. Refused,
/// with nothing written, unless a failover member serves and the member is a healthy
/// DR async member.
pub fn switchover(args: SwitchoverArgs) -> anyhow::Result<ExitCode> {
    let kind = SignalKind::Switchover {
        to: args.to.clone(),
        by: args.by.clone(),
    };
    planned(&args.local, &args.mirror, &args.by, kind)
}

/// Asks to fail back to a failover member: a request to the approvers that un-fences
/// what was fenced and promotes it back with partner. Refused, with nothing written,
/// unless a DR member serves and the member is a failover member.
pub fn failback(args: FailbackArgs) -> anyhow::Result<ExitCode> {
    let kind = SignalKind::Failback {
        to: args.to.clone(),
        by: args.by.clone(),
    };
    planned(&args.local, &args.mirror, &args.by, kind)
}

fn planned(local_args: &LocalArgs, mirror: &str, by: &str, kind: SignalKind) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let what = match kind {
        SignalKind::Failback { .. } => "failback",
        _ => "switchover",
    };
    if let Some(why) = invalid_by(by) {
        bail!("{what} not started: {why}");
    }
    let engine = stored_engine(local_args)?;
    known_mirror(&engine, mirror)?;
    let runtime = local::runtime()?;
    runtime.block_on(async {
        let signal = Signal {
            mirror: mirror.to_string(),
            id: None,
            at: now,
            kind,
        };
        let outcome = engine.handle(signal, now).await?;
        if let Verdict::Ignored { why } = &outcome.verdict {
            bail!("{why}");
        }
        print_reports(now, &outcome.reports, false);
        let state = engine.state(mirror, now).await?;
        let asked = match what {
            "failback" => state.active_failback(),
            _ => state.active_switchover(),
        };
        if let Some(r) = asked {
            println!(
                "{mirror}: {what} {} to {} sent to the approvers; it promotes with partner once approved",
                r.id, r.candidate
            );
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the report of a drill, in markdown or JSON.
pub fn drill_report(args: DrillReportArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let engine = stored_engine(&args.local)?;
    let runtime = local::runtime()?;
    let state = runtime.block_on(find_request(&engine, &args.request, now))?;
    let request = state
        .request(&args.request)
        .context("the request vanished while it was read")?;
    let Some(report) = DrillReport::of(&state.mirror, request) else {
        bail!(
            "{} is a {} request, not a drill: mirrorgate requests shows it",
            args.request,
            request.kind.as_str()
        );
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        write!(out, "{}", report.markdown())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine of a command that reads or changes a stored mirror: on the embedded
/// backend it needs the store's directory (an in-memory store would be empty, and
/// forgotten when the command ends).
fn stored_engine(args: &LocalArgs) -> anyhow::Result<LocalEngine> {
    if args.backend == Backend::Embedded && args.data.is_none() {
        bail!(
            "give the store with --data DIR (the directory that mirrorgate serve and replay use), or use --backend aws"
        );
    }
    local::engine(args, "http://127.0.0.1:8080")
}

fn known_mirror(engine: &LocalEngine, mirror: &str) -> anyhow::Result<()> {
    if engine.topology().mirror(mirror).is_none() {
        let topology = engine.topology();
        let names: Vec<&str> = topology.mirrors.iter().map(|m| m.name.as_str()).collect();
        bail!(
            "mirror {mirror:?} is not in the topology {} (its mirrors: {})",
            engine.topology().source(),
            names.join(", ")
        );
    }
    Ok(())
}

fn print_reports(at: DateTime<Utc>, reports: &[Report], json: bool) {
    let mut out = std::io::stdout().lock();
    for report in reports {
        let line = if json {
            output::json_line(at, report)
        } else {
            output::human_lines(at, report)
        };
        let _ = writeln!(out, "{line}");
    }
}

/// Who decides, and how that is known.
struct Decider {
    by: String,
    authority: Authority,
    user_agent: String,
}

fn decider(args: &DecideArgs) -> anyhow::Result<Decider> {
    match args.local.backend {
        Backend::Embedded => {
            let Some(by) = args.by.as_deref().map(str::trim).filter(|b| !b.is_empty()) else {
                bail!("name who decides with --by NAME (the local backend records the name as typed)");
            };
            if by.chars().count() > 100 {
                bail!("--by: at most 100 characters");
            }
            Ok(Decider {
                by: by.to_string(),
                authority: Authority::Operator,
                user_agent: "mirrorgate CLI (local backend: name as typed)".into(),
            })
        }
        Backend::Aws => {
            if args.by.is_some() {
                bail!("--by is for the local backend: on AWS the decision is recorded with your AWS identity (sts:GetCallerIdentity); leave --by out");
            }
            let arn = crate::identity::caller_arn()?;
            Ok(Decider {
                by: arn.clone(),
                authority: Authority::AwsIdentity { arn },
                user_agent: "mirrorgate CLI (AWS identity)".into(),
            })
        }
    }
}

/// Finds the mirror whose state holds the request.
async fn find_request(engine: &LocalEngine, request: &str, now: DateTime<Utc>) -> anyhow::Result<MirrorState> {
    for state in engine.states(now).await? {
        if state.request(request).is_some() {
            return Ok(state);
        }
    }
    bail!("no promotion request {request:?} is known (mirrorgate requests lists them)")
}

/// `approve` and `reject`: the same decision as the approval page's form, through
/// the same rules (confirmations, approvers required, expiry, refusals).
pub fn decide(args: DecideArgs, action: DecisionAction, accept_loss: bool) -> anyhow::Result<ExitCode> {
    let engine = stored_engine(&args.local)?;
    let who = decider(&args)?;
    let runtime = local::runtime()?;
    let now = Utc::now();
    runtime.block_on(async {
        let state = find_request(&engine, &args.request, now).await?;
        let shown = state.request(&args.request).map(shown);
        let drill = state
            .request(&args.request)
            .is_some_and(|r| r.kind == RequestKind::Drill);
        let decision = Decision {
            request: args.request.clone(),
            action,
            by: who.by.clone(),
            accept_loss,
            authority: who.authority,
            source_ip: None,
            user_agent: Some(who.user_agent),
            shown,
        };
        let signal = Signal {
            mirror: state.mirror.clone(),
            id: None,
            at: now,
            kind: SignalKind::Decision(decision),
        };
        let outcome = engine.handle(signal, now).await?;
        print_reports(now, &outcome.reports, args.json);
        // The actions ran in this process: an approval whose actions failed at once is
        // not a success (the alert above says so too).
        if matches!(
            outcome.verdict,
            Verdict::Decision(DecisionVerdict::Approved { executing: true, .. })
        ) {
            let after = engine.state(&state.mirror, Utc::now()).await?;
            if let Some(r) = after
                .request(&args.request)
                .filter(|r| r.status == RequestStatus::Failed)
            {
                bail!(
                    "{}: approved, but it FAILED: {}",
                    args.request,
                    r.outcome.as_deref().unwrap_or("see mirrorgate history")
                );
            }
        }
        let decided: anyhow::Result<()> = match outcome.verdict {
            Verdict::Decision(DecisionVerdict::Refused { refusal, .. }) => {
                bail!("{}: {}", args.request, refusal.message())
            }
            Verdict::Decision(DecisionVerdict::Approved {
                executing: false,
                approvals,
                required,
                ..
            }) => {
                if !args.json {
                    println!(
                        "{}: approval by {} recorded ({approvals} of {required}); another person must approve.",
                        args.request, who.by
                    );
                }
                Ok(())
            }
            Verdict::Decision(DecisionVerdict::Approved { candidate, .. }) if drill => {
                if !args.json {
                    println!(
                        "{}: DRILL approved by {}; {candidate} NOT promoted. The report: mirrorgate drill-report {}",
                        args.request, who.by, args.request
                    );
                }
                Ok(())
            }
            Verdict::Decision(DecisionVerdict::Approved { candidate, .. }) => {
                if !args.json {
                    println!("{}: approved by {}; promoting {candidate}.", args.request, who.by);
                }
                Ok(())
            }
            Verdict::Decision(DecisionVerdict::Rejected { .. }) => {
                if !args.json {
                    println!("{}: rejected by {}; nothing will be promoted.", args.request, who.by);
                }
                Ok(())
            }
            other => bail!("{}: not decided ({other:?})", args.request),
        };
        decided
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What the terminal showed the decider, for the audit (as the page's `shown`).
fn shown(r: &PromotionRequest) -> String {
    if r.kind == RequestKind::Drill {
        return format!(
            "DRILL {}: would promote {}; data that may be lost: {}",
            r.id,
            r.candidate,
            r.loss_estimate().words(&r.candidate)
        );
    }
    format!(
        "request {}: promote {}; data that may be lost: {}",
        r.id,
        r.candidate,
        r.loss_estimate().words(&r.candidate)
    )
}

/// One line of a mirror's history.
#[derive(Debug, Serialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub mirror: String,
    pub epoch: u64,
    pub what: String,
}

/// Reads `--since`: a duration back from `now`, or a time.
pub fn since(text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let secs = parse_duration(text).map_err(|_| {
        anyhow::anyhow!("--since {text:?}: give a duration back from now (2h, 30m, 1d) or a time (RFC 3339, e.g. 2026-11-25T03:00:00Z)")
    })?;
    let secs = i64::try_from(secs).context("--since: too long")?;
    Ok(now - chrono::Duration::seconds(secs))
}

pub fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let from = args.since.as_deref().map(|s| since(s, now)).transpose()?;
    let engine = stored_engine(&args.local)?;
    known_mirror(&engine, &args.mirror)?;
    let runtime = local::runtime()?;
    // DynamoDB keeps every line for a year and more; the embedded store the state's newest.
    let history = runtime.block_on(engine.history(&args.mirror, from))?;
    let lines: Vec<HistoryLine> = history
        .into_iter()
        .map(|h| HistoryLine {
            at: h.at,
            mirror: args.mirror.clone(),
            epoch: h.epoch,
            what: h.what,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        for line in &lines {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if lines.is_empty() {
        writeln!(
            out,
            "{}: no history{} in {}",
            args.mirror,
            from.map(|f| format!(" since {}", f.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default(),
            args.local.store_name()
        )?;
    }
    for line in &lines {
        writeln!(
            out,
            "{}  epoch {}  {}",
            line.at.format("%Y-%m-%d %H:%M:%S UTC"),
            line.epoch,
            line.what
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One promotion request, for `requests`.
#[derive(Debug, Serialize)]
pub struct RequestLine {
    pub mirror: String,
    pub id: String,
    /// promotion, fencing or drill.
    pub kind: &'static str,
    pub candidate: String,
    pub status: &'static str,
    pub epoch: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub lost_primary: Option<String>,
    pub lost_since: DateTime<Utc>,
    pub may_lose: String,
    pub decisions: Vec<DecisionLine>,
    pub outcome: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DecisionLine {
    pub action: DecisionAction,
    pub by: String,
    pub at: DateTime<Utc>,
    pub via: String,
    pub accept_loss: bool,
}

fn request_line(mirror: &str, r: &PromotionRequest) -> RequestLine {
    RequestLine {
        mirror: mirror.to_string(),
        id: r.id.clone(),
        kind: r.kind.as_str(),
        candidate: r.candidate.clone(),
        status: r.status.as_str(),
        epoch: r.epoch,
        created_at: r.created_at,
        expires_at: r.expires_at,
        lost_primary: r.lost_primary.clone(),
        lost_since: r.lost_since,
        may_lose: r.loss_estimate().short(),
        decisions: r
            .decisions
            .iter()
            .map(|d| DecisionLine {
                action: d.action,
                by: d.by.clone(),
                at: d.at,
                via: d.via.clone(),
                accept_loss: d.accept_loss,
            })
            .collect(),
        outcome: r.outcome.clone(),
    }
}

pub fn requests(args: RequestsArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let engine = stored_engine(&args.local)?;
    let runtime = local::runtime()?;
    let states = runtime.block_on(engine.states(now))?;
    let lines: Vec<RequestLine> = states
        .iter()
        .flat_map(|s| {
            s.requests
                .iter()
                .rev()
                .filter(|r| !args.open || r.status == shared::domain::RequestStatus::Open)
                .map(|r| request_line(&s.mirror, r))
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        for line in &lines {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if lines.is_empty() {
        writeln!(
            out,
            "no {}promotion requests in {}",
            if args.open { "open " } else { "" },
            args.local.store_name()
        )?;
    }
    for r in &lines {
        writeln!(
            out,
            "{}  {}  {} {}  {}  raised {}  expires {}  may lose {}",
            r.id,
            r.mirror,
            match r.kind {
                "drill" => "DRILL: would promote",
                "fencing" => "fencing, primary stays",
                "switchover" => "planned switchover to",
                "failback" => "failback to",
                _ => "promote",
            },
            r.candidate,
            r.status,
            r.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            r.expires_at.format("%H:%M:%S UTC"),
            r.may_lose
        )?;
        for d in &r.decisions {
            writeln!(
                out,
                "    {} {} by {} via {}{}",
                d.at.format("%H:%M:%S UTC"),
                match d.action {
                    DecisionAction::Approve => "approved",
                    DecisionAction::Reject => "rejected",
                },
                d.by,
                d.via,
                if d.accept_loss { " (accepted the data loss)" } else { "" }
            )?;
        }
        if let Some(outcome) = &r.outcome {
            writeln!(out, "    outcome: {outcome}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
