//! What the reliability tests share: the reference topology, the example
//! scenarios as timed deliveries, a runner that treats each delivery as Lambda
//! would (a retryable failure is delivered again), and the facts that must not
//! change however deliveries are repeated, reordered or failed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions};
use shared::domain::{Authority, Decision, DecisionAction, MirrorState, Signal, SignalKind};
use shared::engine::{Engine, EngineError, Report};
use shared::events;
use shared::ports::{Notifier, PromotionActions, Store};
use shared::token::CountingTokens;
use shared::topology::Topology;

/// The engine the tests drive: alerts kept in memory, promotions recorded, on `S`.
pub type TestEngine<S = MemoryStore> = Engine<S, MemoryNotifier, RecordingActions>;

/// Where the tests' approval links point.
pub const PUBLIC_URL: &str = "https://approve.example";

/// A test engine on `topology` and `store`, with predictable link tokens.
pub fn test_engine_on<S: Store>(topology: Arc<Topology>, store: S) -> TestEngine<S> {
    Engine::new(
        topology,
        store,
        MemoryNotifier::default(),
        RecordingActions::new(None),
        PUBLIC_URL,
    )
    .with_tokens(Box::new(CountingTokens::default()))
}

/// A test engine on the reference topology, in memory.
pub fn test_engine() -> TestEngine {
    test_engine_on(topology(), MemoryStore::default())
}

/// The example scenarios, every one of them.
pub const SCENARIOS: [&str; 5] = [
    "region-outage.jsonl",
    "region-outage-pending.jsonl",
    "in-region-failover.jsonl",
    "flapping-primary.jsonl",
    "early-recovery.jsonl",
];

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example topology without its `status_url`s: they are documentation addresses,
/// and `health-poll` run by a test must not probe them.
fn topology_text() -> String {
    let text = std::fs::read_to_string(root().join("examples/topology.toml")).expect("example topology");
    text.lines()
        .filter(|line| !line.trim_start().starts_with("status_url"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The reference topology (examples/topology.toml).
pub fn topology() -> Arc<Topology> {
    Arc::new(Topology::parse("examples/topology.toml", &topology_text()).expect("valid topology"))
}

/// The reference topology with the mirror renamed (tests sharing one DynamoDB table).
pub fn topology_named(mirror: &str) -> Arc<Topology> {
    let text = topology_text().replace("name = \"HSPROD\"\n", &format!("name = \"{mirror}\"\n"));
    Arc::new(Topology::parse("examples/topology.toml", &text).expect("valid topology"))
}

/// 03:00:00 UTC on the night of the example scenarios, plus `secs`.
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).single().expect("time") + Duration::seconds(secs)
}

/// What one scenario line delivers.
#[derive(Debug, Clone)]
pub enum What {
    /// An AWS payload, decoded against the reference topology.
    Event(Vec<Signal>),
    Tick,
    Decide {
        action: DecisionAction,
        by: String,
        accept_loss: bool,
    },
}

/// One scenario line: what, and when it happened.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub line: usize,
    pub at: DateTime<Utc>,
    pub what: What,
}

impl Delivery {
    pub fn is_event(&self) -> bool {
        matches!(self.what, What::Event(_))
    }

    /// The same line moved in time by `by`: when it is delivered, and when its signals happened.
    pub fn shifted(&self, by: Duration) -> Delivery {
        let what = match &self.what {
            What::Event(signals) => What::Event(
                signals
                    .iter()
                    .cloned()
                    .map(|mut s| {
                        s.at += by;
                        s
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        Delivery {
            line: self.line,
            at: self.at + by,
            what,
        }
    }
}

/// An example scenario as deliveries.
pub fn scenario(name: &str) -> Vec<Delivery> {
    let path = root().join("examples/scenarios").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reference = topology();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            let at = v["at"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| panic!("{name}:{}: no at", i + 1));
            let decision = |key: &str, action| {
                v.get(key).map(|d| What::Decide {
                    action,
                    by: d["by"].as_str().unwrap_or("someone").to_string(),
                    accept_loss: d["accept_loss"].as_bool().unwrap_or(false),
                })
            };
            let what = if let Some(event) = v.get("event") {
                What::Event(events::decode_value(event, &reference).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1)))
            } else if v.get("tick").is_some() {
                What::Tick
            } else {
                decision("approve", DecisionAction::Approve)
                    .or_else(|| decision("reject", DecisionAction::Reject))
                    .unwrap_or_else(|| panic!("{name}:{}: unknown line", i + 1))
            };
            Delivery { line: i + 1, at, what }
        })
        .collect()
}

/// Delivers one line once, at `now`, to the mirror `mirror` (signals are renamed
/// to it). A decision names the open request, as `mirrorgate replay` does.
pub async fn deliver_once<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    mirror: &str,
    what: &What,
    now: DateTime<Utc>,
) -> Result<Vec<Report>, EngineError> {
    let mut reports = Vec::new();
    match what {
        What::Event(signals) => {
            for signal in signals {
                let mut signal = signal.clone();
                signal.mirror = mirror.to_string();
                reports.extend(engine.handle(signal, now).await?.reports);
            }
        }
        What::Tick => {
            let tick = Signal {
                mirror: mirror.to_string(),
                id: None,
                at: now,
                kind: SignalKind::Tick,
            };
            reports.extend(engine.handle(tick, now).await?.reports);
        }
        What::Decide {
            action,
            by,
            accept_loss,
        } => {
            let state = engine.state(mirror, now).await?;
            let request = state
                .open_request()
                .or_else(|| state.open_fencing())
                .or_else(|| state.latest_request())
                .map(|r| r.id.clone())
                .unwrap_or_default();
            let decision = Decision {
                request,
                action: *action,
                by: by.clone(),
                accept_loss: *accept_loss,
                authority: Authority::Operator,
                source_ip: None,
                user_agent: Some("reliability test".into()),
                shown: None,
            };
            let signal = Signal {
                mirror: mirror.to_string(),
                id: None,
                at: now,
                kind: SignalKind::Decision(decision),
            };
            reports.extend(engine.handle(signal, now).await?.reports);
        }
    }
    Ok(reports)
}

/// How a delivery went, as Lambda sees it.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    pub reports: Vec<Report>,
    /// Failed attempts that were retryable (and retried).
    pub retried: usize,
}

/// Delivers one line as Lambda would: a retryable failure is delivered again
/// (up to `attempts` in all); a non-retryable one is returned.
pub async fn deliver<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    mirror: &str,
    what: &What,
    now: DateTime<Utc>,
    attempts: usize,
) -> Result<Delivered, EngineError> {
    let mut out = Delivered::default();
    for attempt in 1..=attempts {
        match deliver_once(engine, mirror, what, now).await {
            Ok(reports) => {
                out.reports.extend(reports);
                return Ok(out);
            }
            Err(e) if e.is_retryable() && attempt < attempts => out.retried += 1,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// What must not change however deliveries are repeated or reordered:
/// transitions, alerts (kind and severity) and promotions.
pub fn essence(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Transition { from, to, epoch, .. } => Some(format!("transition {from}->{to} epoch {epoch}")),
            Report::Alert { kind, severity, .. } => Some(format!("alert {} {}", kind.as_str(), severity.as_str())),
            Report::PromotionRequested { request, candidate, .. } => Some(format!("requested {request} {candidate}")),
            Report::PromotionExecuted { request, candidate, .. } => Some(format!("executed {request} {candidate}")),
            Report::FencingExecuted { request, member, .. } => Some(format!("fenced {request} {member}")),
            Report::Decision { .. } => None,
        })
        .collect()
}

/// The alerts of some reports, by kind, counted.
pub fn alert_counts(reports: &[Report]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in reports {
        if let Report::Alert { kind, .. } = r {
            *counts.entry(kind.as_str().to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// The promotions carried out, as `request candidate`.
pub fn executed(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::PromotionExecuted { request, candidate, .. } => Some(format!("{request} {candidate}")),
            _ => None,
        })
        .collect()
}

/// The facts of a mirror's state that people act on: phase, epoch, primary, and
/// each request's candidate and status.
pub fn outcome(state: &MirrorState) -> String {
    let requests: Vec<String> = state
        .requests
        .iter()
        .map(|r| format!("{} {} {} epoch {}", r.id, r.candidate, r.status.as_str(), r.epoch))
        .collect();
    format!(
        "phase {} epoch {} primary {} requests [{}]",
        state.phase,
        state.epoch,
        state.primary.as_deref().unwrap_or("-"),
        requests.join("; ")
    )
}

/// A current-thread runtime for proptest bodies.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Cases per property: `default`, or `RELIABILITY_CASES` for a longer run
/// (`RELIABILITY_CASES=5000 cargo test -p mirrorgate-shared --test it delivery::`).
pub fn cases(default: u32) -> u32 {
    std::env::var("RELIABILITY_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The reference topology with the mirror renamed and the text edited.
pub fn topology_edited(mirror: &str, edit: impl FnOnce(String) -> String) -> Arc<Topology> {
    let text = edit(topology_text().replace("name = \"HSPROD\"\n", &format!("name = \"{mirror}\"\n")));
    Arc::new(Topology::parse("examples/topology.toml", &text).expect("valid topology"))
}
