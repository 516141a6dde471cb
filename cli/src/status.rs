//! `mirrorgate status`: each mirror's phase, epoch, members and requests.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use shared::domain::view::View;
use shared::domain::{MemberKind, Mirror, Observer};
use shared::domain::{MirrorState, RequestKind};

use crate::local::{self, LocalArgs};

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub local: LocalArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub name: String,
    pub kind: &'static str,
    pub zone: String,
    /// The status the member last reported (IRIS wording).
    pub status: Option<&'static str>,
    /// Why, when the member said (an agent that could not ask IRIS says why).
    pub status_reason: Option<String>,
    pub claims_primary: bool,
    /// Route 53 health of mirror_status.cxw: true = answers as primary.
    pub route53: Option<bool>,
    pub instance_up: Option<bool>,
    /// The DR region's probe of mirror_status.cxw: true = answers 200 SUCCESS.
    pub probe: Option<bool>,
    pub heartbeat_fresh: Option<bool>,
    pub last_heard: Option<DateTime<Utc>>,
    pub journal_latency_seconds: Option<f64>,
    pub journal_latency_measured_at: Option<DateTime<Utc>>,
    /// A DR async: what promoting it now may lose (`~1.8 s`, `>=16 min`, `unknown`).
    pub may_lose: Option<String>,
    /// A former failover member fenced after a DR promotion: when, and by which request.
    pub fenced: Option<String>,
    /// When each piece of evidence above was last said, and whether it still counts.
    pub evidence: MemberEvidence,
}

/// When a piece of evidence was last said, and whether it still counts by the
/// domain's rules (`evidence_fresh_secs`, `heartbeat_stale_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub at: DateTime<Utc>,
    pub fresh: bool,
}

/// The evidence behind a member's row, piece by piece (absent: never said). The
/// journal latency is not judged here: the last one measured before a loss is what
/// the loss estimate rests on (`journal_latency_measured_at` says when).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberEvidence {
    pub status: Option<Evidence>,
    pub route53: Option<Evidence>,
    pub probe: Option<Evidence>,
    pub instance: Option<Evidence>,
    pub heartbeat: Option<Evidence>,
}

fn member_evidence(view: &View, name: &str) -> MemberEvidence {
    let Some(ms) = view.state.members.get(name) else {
        return MemberEvidence::default();
    };
    let observed = |observer: Observer| {
        view.observation(name, observer).map(|o| Evidence {
            at: o.last(),
            fresh: view.observation_fresh(observer, o),
        })
    };
    MemberEvidence {
        status: ms.status.map(|(_, at)| Evidence {
            at,
            fresh: view.fresh_status(name).is_some(),
        }),
        route53: observed(Observer::Route53),
        probe: observed(Observer::Probe),
        instance: observed(Observer::Instance),
        heartbeat: ms.last_heard.map(|at| Evidence {
            at,
            fresh: view.heartbeat_fresh(name) == Some(true),
        }),
    }
}

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub id: String,
    /// `promotion` or `fencing`.
    pub kind: &'static str,
    /// What it asks, in words: "promote HSPROD-DR1", "fence HSPROD-A, HSPROD-B".
    pub asks: String,
    /// The member to promote; for a fencing request, the primary that stays.
    pub candidate: String,
    pub status: &'static str,
    pub epoch: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub approvers: Vec<String>,
    pub outcome: Option<String>,
    /// A promotion: every approver accepted the loss, so it may run without partner.
    pub accepted_without_partner: bool,
    /// The promote script, as its Run Command status events last told it
    /// ("script HSPROD-PromoteDrAsync succeeded at ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// The maintenance window on now.
#[derive(Debug, Serialize)]
pub struct MaintenanceView {
    pub reason: String,
    pub by: String,
    pub started_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct MirrorView {
    pub mirror: String,
    pub phase: &'static str,
    pub phase_since: DateTime<Utc>,
    pub epoch: u64,
    pub primary: Option<String>,
    /// The maintenance window on now, if any.
    pub maintenance: Option<MaintenanceView>,
    pub members: Vec<MemberView>,
    pub requests: Vec<RequestView>,
    pub history: Vec<String>,
}

/// What a person (or a script) needs to know of one mirror, now.
pub fn mirror_view(state: &MirrorState, mirror: &Mirror, now: DateTime<Utc>) -> MirrorView {
    let view = View::new(state, mirror, now);
    let members = mirror
        .members
        .iter()
        .map(|m| {
            let ms = state.members.get(&m.name);
            MemberView {
                name: m.name.clone(),
                kind: m.kind.as_str(),
                zone: m.zone.clone(),
                status: view.status(&m.name).map(|s| s.as_str()),
                status_reason: ms.and_then(|s| s.status_reason.clone()),
                claims_primary: view.claim(&m.name).is_some(),
                route53: view.observation(&m.name, Observer::Route53).map(|o| o.healthy),
                instance_up: view.observation(&m.name, Observer::Instance).map(|o| o.healthy),
                probe: view.observation(&m.name, Observer::Probe).map(|o| o.healthy),
                heartbeat_fresh: view.heartbeat_fresh(&m.name),
                last_heard: ms.and_then(|s| s.last_heard),
                journal_latency_seconds: ms.and_then(|s| s.journal_latency).map(|l| l.seconds),
                journal_latency_measured_at: ms.and_then(|s| s.journal_latency).map(|l| l.measured_at),
                may_lose: (m.kind == MemberKind::DrAsync).then(|| view.loss_estimate(&m.name).short()),
                fenced: ms.and_then(|s| s.fenced.as_ref()).map(|f| {
                    format!(
                        "fenced at {} by {} (epoch {})",
                        f.at.format("%Y-%m-%d %H:%M:%S UTC"),
                        f.request,
                        f.epoch
                    )
                }),
                evidence: member_evidence(&view, &m.name),
            }
        })
        .collect();
    let requests = state
        .requests
        .iter()
        .rev()
        .map(|r| RequestView {
            id: r.id.clone(),
            kind: r.kind.as_str(),
            asks: match r.kind {
                RequestKind::Promotion => format!("promote {}", r.candidate),
                RequestKind::Fencing => format!("fence {}", r.fence_members.join(", ")),
                RequestKind::Drill => format!("DRILL: would promote {} (nothing is promoted)", r.candidate),
                RequestKind::Switchover => format!("planned switchover to {}", r.candidate),
                RequestKind::Failback => format!("failback to {}", r.candidate),
            },
            candidate: r.candidate.clone(),
            status: r.status.as_str(),
            epoch: r.epoch,
            created_at: r.created_at,
            expires_at: r.expires_at,
            approvers: r.approvers().into_iter().map(str::to_string).collect(),
            outcome: r.outcome.clone(),
            accepted_without_partner: r.accepted_without_partner,
            script: r.command.as_ref().map(|c| c.describe()),
        })
        .collect();
    let history = state
        .history
        .iter()
        .rev()
        .take(30)
        .map(|h| format!("{} {}", h.at.format("%Y-%m-%d %H:%M:%S"), h.what))
        .collect();
    MirrorView {
        mirror: state.mirror.clone(),
        phase: state.phase.as_str(),
        phase_since: state.phase_since,
        epoch: state.epoch,
        primary: state.primary.clone(),
        maintenance: state.active_maintenance(now).map(|w| MaintenanceView {
            reason: w.reason.clone(),
            by: w.by.clone(),
            started_at: w.started_at,
            until: w.until,
        }),
        members,
        requests,
        history,
    }
}

fn yes_no(value: Option<bool>, yes: &str, no: &str) -> String {
    match value {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => "-".into(),
    }
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    if args.local.data.is_none() && args.local.backend == local::Backend::Embedded {
        eprintln!("mirrorgate status: no --data DIR given, so this shows an empty store; pass the DIR that serve or replay used.");
    }
    let engine = local::engine(&args.local, "http://127.0.0.1:8080")?;
    let runtime = local::runtime()?;
    let now = Utc::now();
    let states = runtime.block_on(engine.states(now))?;
    let topology = engine.topology();
    let views: Vec<MirrorView> = states
        .iter()
        .filter_map(|s| topology.mirror(&s.mirror).map(|m| mirror_view(s, m, now)))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "mirrors": views }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for v in &views {
        println!(
            "{}  phase {} since {}  epoch {}  primary {}",
            v.mirror,
            v.phase,
            v.phase_since.format("%Y-%m-%d %H:%M:%S UTC"),
            v.epoch,
            v.primary.as_deref().unwrap_or("unknown")
        );
        if let Some(w) = &v.maintenance {
            println!(
                "  MAINTENANCE until {}: {} (started by {} at {}); no promotion request is raised until then",
                w.until.format("%Y-%m-%d %H:%M:%S UTC"),
                w.reason,
                w.by,
                w.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
        println!(
            "  {:<12} {:<16} {:<11} {:<16} {:<9} {:<9} {:<9} {:<10} may lose",
            "member", "kind", "zone", "status", "route53", "probe", "instance", "heartbeat"
        );
        for m in &v.members {
            println!(
                "  {:<12} {:<16} {:<11} {:<16} {:<9} {:<9} {:<9} {:<10} {}",
                m.name,
                m.kind,
                m.zone,
                m.status.unwrap_or("-"),
                yes_no(m.route53, "primary", "no"),
                yes_no(m.probe, "primary", "no"),
                yes_no(m.instance_up, "up", "DOWN"),
                yes_no(m.heartbeat_fresh, "fresh", "SILENT"),
                m.may_lose.as_deref().unwrap_or("-"),
            );
            if let Some(reason) = &m.status_reason {
                println!("  {:<12} ({reason})", "");
            }
            if let Some(fenced) = &m.fenced {
                println!("  {:<12} FENCED: {fenced}", "");
            }
        }
        if v.requests.is_empty() {
            println!("  no requests");
        }
        for r in &v.requests {
            println!(
                "  request {} {} : {} (epoch {}, raised {}, approvers: {}){}",
                r.id,
                r.asks,
                r.status,
                r.epoch,
                r.created_at.format("%H:%M:%S"),
                if r.approvers.is_empty() {
                    "-".into()
                } else {
                    r.approvers.join(", ")
                },
                r.outcome.as_ref().map_or(String::new(), |o| format!(" - {o}"))
            );
            if let Some(script) = &r.script {
                println!("    promote {script}");
            }
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
