//! `mirrorgate replay`: a scenario of AWS payloads, ticks and decisions, with
//! simulated time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Deserialize;
use serde_json::Value;
use shared::adapters::embedded::SimulatedClock;
use shared::domain::maintenance::{invalid_by, invalid_start, parse_duration};
use shared::domain::{Authority, Decision, DecisionAction, Signal, SignalKind};
use shared::engine::Report;
use shared::events;
use shared::topology::Topology;

use crate::local::{self, LocalArgs, LocalEngine};
use crate::output;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The scenario: one JSON object per line (see `mirrorgate replay --help`).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub local: LocalArgs,
    /// Print one JSON object per effect per line.
    #[arg(long)]
    pub json: bool,
    /// Where approval links point: the address of `mirrorgate serve`.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionLine {
    mirror: String,
    by: String,
    #[serde(default)]
    accept_loss: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceLine {
    mirror: String,
    #[serde(rename = "for")]
    duration: String,
    reason: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceEndLine {
    mirror: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillLine {
    mirror: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchoverLine {
    mirror: String,
    to: String,
    by: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    at: DateTime<Utc>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    tick: Option<Value>,
    #[serde(default)]
    approve: Option<DecisionLine>,
    #[serde(default)]
    reject: Option<DecisionLine>,
    #[serde(default)]
    maintenance: Option<MaintenanceLine>,
    #[serde(default)]
    maintenance_end: Option<MaintenanceEndLine>,
    #[serde(default)]
    drill: Option<DrillLine>,
    #[serde(default)]
    switchover: Option<SwitchoverLine>,
    #[serde(default)]
    failback: Option<SwitchoverLine>,
}

const LINE_KINDS: &str = concat!(
    "\"event\", \"tick\", \"approve\", \"reject\", \"maintenance\", \"maintenance_end\", ",
    "\"drill\", \"switchover\", \"failback\""
);

/// One validated step of a scenario.
#[derive(Debug)]
pub enum Step {
    Signals(Vec<Signal>),
    Tick,
    Decide {
        mirror: String,
        action: DecisionAction,
        by: String,
        accept_loss: bool,
    },
}

/// Reads and checks a whole scenario before anything runs: a bad line changes nothing.
pub fn parse_scenario(path: &Path, text: &str, topology: &Topology) -> anyhow::Result<Vec<(DateTime<Utc>, Step)>> {
    let mut steps = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let n = index + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let where_ = || format!("{}:{n}", path.display());
        let line: Line = serde_json::from_str(raw).with_context(|| {
            format!(
                "{}: not a scenario line; expected {{\"at\": RFC3339, and one of {LINE_KINDS}}}",
                where_()
            )
        })?;
        let kinds = [
            line.event.is_some(),
            line.tick.is_some(),
            line.approve.is_some(),
            line.reject.is_some(),
            line.maintenance.is_some(),
            line.maintenance_end.is_some(),
            line.drill.is_some(),
            line.switchover.is_some(),
            line.failback.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            bail!("{}: a line holds exactly one of {LINE_KINDS}", where_());
        }
        let known = |mirror: &str| -> anyhow::Result<()> {
            if topology.mirror(mirror).is_none() {
                bail!(
                    "{}: mirror {mirror:?} is not in the topology {}",
                    where_(),
                    topology.source()
                );
            }
            Ok(())
        };
        let step = if let Some(m) = line.maintenance {
            known(&m.mirror)?;
            let duration_secs =
                parse_duration(&m.duration).map_err(|e| anyhow::anyhow!("{}: \"for\": {e}", where_()))?;
            if let Some(why) = invalid_start(duration_secs, &m.reason, &m.by) {
                bail!("{}: maintenance: {why}", where_());
            }
            Step::Signals(vec![Signal {
                mirror: m.mirror,
                id: None,
                at: line.at,
                kind: SignalKind::MaintenanceStart {
                    duration_secs,
                    reason: m.reason,
                    by: m.by,
                },
            }])
        } else if let Some(m) = line.maintenance_end {
            known(&m.mirror)?;
            if let Some(why) = invalid_by(&m.by) {
                bail!("{}: maintenance_end: {why}", where_());
            }
            Step::Signals(vec![Signal {
                mirror: m.mirror,
                id: None,
                at: line.at,
                kind: SignalKind::MaintenanceEnd { by: m.by },
            }])
        } else if let Some(d) = line.drill {
            known(&d.mirror)?;
            if let Some(why) = invalid_by(&d.by) {
                bail!("{}: drill: {why}", where_());
            }
            Step::Signals(vec![Signal {
                mirror: d.mirror,
                id: None,
                at: line.at,
                kind: SignalKind::Drill { by: d.by },
            }])
        } else if let Some((what, sw)) = line
            .switchover
            .map(|sw| ("switchover", sw))
            .or(line.failback.map(|sw| ("failback", sw)))
        {
            known(&sw.mirror)?;
            if let Some(why) = invalid_by(&sw.by) {
                bail!("{}: {what}: {why}", where_());
            }
            if topology.mirror(&sw.mirror).and_then(|m| m.member(&sw.to)).is_none() {
                bail!("{}: {what}: {:?} is not a member of {}", where_(), sw.to, sw.mirror);
            }
            let kind = if what == "failback" {
                SignalKind::Failback { to: sw.to, by: sw.by }
            } else {
                SignalKind::Switchover { to: sw.to, by: sw.by }
            };
            Step::Signals(vec![Signal {
                mirror: sw.mirror,
                id: None,
                at: line.at,
                kind,
            }])
        } else if let Some(event) = line.event {
            let signals = events::decode_value(&event, topology)
                .with_context(|| format!("{}: the event cannot be used", where_()))?;
            Step::Signals(signals)
        } else if line.tick.is_some() {
            Step::Tick
        } else {
            let (action, d) = match (line.approve, line.reject) {
                (Some(d), _) => (DecisionAction::Approve, d),
                (None, Some(d)) => (DecisionAction::Reject, d),
                (None, None) => bail!("{}: internal: no decision", where_()),
            };
            if topology.mirror(&d.mirror).is_none() {
                bail!(
                    "{}: mirror {:?} is not in the topology {}",
                    where_(),
                    d.mirror,
                    topology.source()
                );
            }
            if d.by.trim().is_empty() {
                bail!("{}: \"by\" must name the person deciding", where_());
            }
            Step::Decide {
                mirror: d.mirror,
                action,
                by: d.by,
                accept_loss: d.accept_loss,
            }
        };
        steps.push((line.at, step));
    }
    Ok(steps)
}

/// Runs one step at its line's time `at` and returns what it carried out. The
/// store's `clock` is moved to `at` first: the deliveries the step applies are
/// remembered, and judged duplicates, in the scenario's time like everything else.
pub async fn run_step(
    engine: &LocalEngine,
    clock: &SimulatedClock,
    at: DateTime<Utc>,
    step: Step,
) -> anyhow::Result<Vec<Report>> {
    clock.set(at);
    let mut reports = Vec::new();
    match step {
        Step::Signals(signals) => {
            for signal in signals {
                reports.extend(engine.handle(signal, at).await?.reports);
            }
        }
        Step::Tick => {
            for outcome in engine.tick(at).await? {
                reports.extend(outcome.reports);
            }
        }
        Step::Decide {
            mirror,
            action,
            by,
            accept_loss,
        } => {
            let state = engine.state(&mirror, at).await?;
            let request = state
                .open_request()
                .or_else(|| state.open_fencing())
                .or_else(|| state.active_drill())
                .or_else(|| state.active_switchover())
                .or_else(|| state.active_failback())
                .or_else(|| state.latest_request())
                .map(|r| r.id.clone())
                .unwrap_or_default();
            let decision = Decision {
                request,
                action,
                by,
                accept_loss,
                authority: Authority::Operator,
                source_ip: None,
                user_agent: Some("mirrorgate replay".into()),
                shown: None,
            };
            let signal = Signal {
                mirror,
                id: None,
                at,
                kind: SignalKind::Decision(decision),
            };
            reports.extend(engine.handle(signal, at).await?.reports);
        }
    }
    Ok(reports)
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let topology = local::load_topology(&args.local.topology)?;
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read the scenario {}", args.scenario.display()))?;
    let steps = parse_scenario(&args.scenario, &text, &topology)?;
    // The embedded store runs on the scenario's simulated time, from its first line
    // on (each step moves the clock to its line's time), not on the wall clock:
    // otherwise a delivery repeated three simulated days later would still be a
    // duplicate, and one repeated at once in last year's scenario judged against
    // today. (DynamoDB, `--backend aws`, keeps AWS's wall clock.) The expiries the
    // store keeps are absolute times, so in a `--data DIR` that `serve` (on the wall
    // clock) also uses, each delivery expires by its own date whoever reads it: a past
    // scenario's deliveries are already past their window for `serve` (and forgotten
    // when a wall-clock command compacts the log), while those `serve` applied are
    // still within theirs for a replay of a past scenario.
    let clock = Arc::new(SimulatedClock::new(steps.first().map_or_else(Utc::now, |(at, _)| *at)));
    let engine = local::engine_on(&args.local, topology, &args.public_url, clock.clone())?;
    let runtime = local::runtime()?;
    let count = steps.len();
    if !args.json {
        println!(
            "mirrorgate replay {} ({count} steps, topology {}, store {})\n",
            args.scenario.display(),
            engine.topology().source(),
            args.local.store_name()
        );
    }
    let mut alerts = 0usize;
    let mut promotions = 0usize;
    let mut fencings = 0usize;
    runtime.block_on(async {
        for (at, step) in steps {
            for report in run_step(&engine, &clock, at, step).await? {
                match &report {
                    Report::Alert { .. } => alerts += 1,
                    Report::PromotionExecuted { .. } => promotions += 1,
                    Report::FencingExecuted { .. } => fencings += 1,
                    _ => {}
                }
                if args.json {
                    println!("{}", output::json_line(at, &report));
                } else {
                    println!("{}", output::human_lines(at, &report));
                }
            }
        }
        if !args.json {
            println!(
                "\nAfter the scenario: {alerts} alerts, {promotions} promotions executed, {fencings} members fenced."
            );
            for state in engine.states(Utc::now()).await? {
                println!(
                    "  {}: phase {}, epoch {}, primary {}",
                    state.mirror,
                    state.phase,
                    state.epoch,
                    state.primary.as_deref().unwrap_or("unknown")
                );
            }
            if args.local.backend == local::Backend::Aws {
                println!(
                    "  Alerts as sent: the SNS topic {}",
                    std::env::var("MIRRORGATE_TOPIC_ARN").unwrap_or_default()
                );
                println!("  See it all: mirrorgate --backend aws status");
            } else if let Some(dir) = &args.local.data {
                println!("  Alerts as sent: {}", dir.join("outbox.jsonl").display());
                println!("  See it all: mirrorgate status --data {}", dir.display());
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
