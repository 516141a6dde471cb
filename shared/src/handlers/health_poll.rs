//! `health-poll`: the schedule. Drives the time-based rules (confirmation, expiry,
//! reminders, silent heartbeats), then gathers what can be asked rather than waited
//! for: every member's Route 53 health check, every member's `mirror_status.cxw`
//! probed from this region, and the CloudWatch alarms behind the stored observations
//! read again in their own regions. Last, the control plane's own heartbeat metric.

use std::time::Duration;

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tokio::time::Instant;

use super::{finish, summary, Function, HandlerError};
use crate::adapters::aws::alarms;
use crate::adapters::aws::promotion::AgentState;
use crate::domain::{AgentReport, Signal, SignalKind};
use crate::events;
use crate::ports::Store;
use crate::topology::MemberKind;

/// The most the Route 53 poll may take of a run (the function times out at 55 s).
pub const ROUTE53_BUDGET: Duration = Duration::from_secs(15);
/// The most the probes of `mirror_status.cxw` may take together (each has its own
/// shorter timeout, `MIRRORGATE_PROBE_TIMEOUT_SECS`).
pub const PROBE_BUDGET: Duration = Duration::from_secs(10);
/// The most reading the alarms again may take, every region at once.
pub const ALARMS_BUDGET: Duration = Duration::from_secs(10);
/// The most asking SSM about the DR members' agents may take.
pub const AGENTS_BUDGET: Duration = Duration::from_secs(5);

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let now = Utc::now();
    // The schedule event itself decodes to one tick per mirror.
    let ticks = events::decode_value(&event.payload, function.engine.topology()).map_err(|e| {
        tracing::error!(error = %e, "the schedule payload cannot be used");
        HandlerError::Rejected(e.to_string())
    })?;
    let mut outcomes = Vec::new();
    // Time-based rules first: they must run even when Route 53's API (in us-east-1)
    // hangs during a regional outage.
    for tick in ticks {
        outcomes.push(function.engine.handle(tick, now).await.map_err(HandlerError::from)?);
    }
    // Then the observers that are asked, all at once, each within its own budget.
    // None is on the critical path: one that fails or is slow is logged and gives
    // nothing this minute (and what it said before keeps ageing); what did answer
    // is kept.
    let (route53, probes, alarms, agents) = tokio::join!(
        route53_poll(function, now),
        probe_members(function),
        read_alarms_again(function),
        ssm_agents(function, now)
    );
    for signal in route53.into_iter().chain(probes).chain(alarms).chain(agents) {
        outcomes.push(
            function
                .engine
                .handle(signal, Utc::now())
                .await
                .map_err(HandlerError::from)?,
        );
    }
    if let Err(e) = function.deps.heartbeat().beat(now).await {
        tracing::warn!(error = %e, "heartbeat metric not sent");
    }
    finish(function, "health-poll", &outcomes).await?;
    Ok(summary(&outcomes))
}

/// Every member's Route 53 health check, within [`ROUTE53_BUDGET`].
async fn route53_poll(function: &Function, now: chrono::DateTime<Utc>) -> Vec<Signal> {
    let poll = function.deps.route53();
    let polled = tokio::time::timeout(ROUTE53_BUDGET, poll.poll_health(function.engine.topology(), now)).await;
    match polled {
        Ok(Ok(signals)) => signals,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "Route 53 health poll failed; skipped this minute");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!(
                budget_secs = ROUTE53_BUDGET.as_secs(),
                "Route 53 health poll too slow; skipped this minute"
            );
            Vec::new()
        }
    }
}

/// Every member with a `status_url` probed from this region, within [`PROBE_BUDGET`].
/// Each result is logged as the `Mirror Status Probe` event it is, so that it can
/// be read back, replayed or posted to `mirrorgate serve`.
async fn probe_members(function: &Function) -> Vec<Signal> {
    let probes = function
        .prober
        .probe_all(function.engine.topology(), Instant::now() + PROBE_BUDGET)
        .await;
    let region = function.deps.config.region().map(|r| r.as_ref().to_string());
    probes
        .iter()
        .map(|probe| {
            let d = &probe.detail;
            match probe.event(region.as_deref()) {
                Ok(event) => tracing::info!(
                    mirror = %d.mirror, member = %d.member, result = d.result.as_str(), detail = %d.detail,
                    event = %event, "mirror_status.cxw probed"
                ),
                Err(e) => tracing::warn!(mirror = %d.mirror, member = %d.member, error = %e, "probe event not written"),
            }
            probe.signal()
        })
        .collect()
}

/// The alarms behind the stored observations read again in their own regions, all
/// within [`ALARMS_BUDGET`] (reading the states included).
async fn read_alarms_again(function: &Function) -> Vec<Signal> {
    let deadline = Instant::now() + ALARMS_BUDGET;
    let mut states = Vec::new();
    for mirror in &function.engine.topology().mirrors {
        match tokio::time::timeout_at(deadline, function.engine.store().load(&mirror.name)).await {
            Ok(Ok(Some(state))) => states.push(state),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::warn!(mirror = %mirror.name, error = %e, "state not read; its alarms are not read again this minute")
            }
            Err(_) => {
                tracing::warn!("states not read in time; alarms not read again this minute");
                return Vec::new();
            }
        }
    }
    let watched = alarms::watched(&states);
    if watched.is_empty() {
        return Vec::new();
    }
    let readings = function.deps.alarms.read_again(&watched, deadline).await;
    alarms::reconfirmations(&watched, &readings)
}

/// Whether the DR members' SSM agents are Online (a promotion runs only on one that
/// is): one `DescribeInstanceInformation` for every DR member of every mirror with a
/// promote document, within [`AGENTS_BUDGET`]; one signal per such mirror.
async fn ssm_agents(function: &Function, now: chrono::DateTime<Utc>) -> Vec<Signal> {
    let topology = function.engine.topology();
    let dr_members: Vec<(&str, &str, &str)> = topology
        .mirrors
        .iter()
        .filter(|m| m.promotion.ssm_document.is_some())
        .flat_map(|m| {
            m.members
                .iter()
                .filter(|x| x.kind == MemberKind::DrAsync)
                .filter_map(move |x| {
                    x.instance_id
                        .as_deref()
                        .map(|id| (m.name.as_str(), x.name.as_str(), id))
                })
        })
        .collect();
    if dr_members.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = dr_members.iter().map(|(_, _, id)| id.to_string()).collect();
    let actions = function.deps.actions();
    let states = match tokio::time::timeout(AGENTS_BUDGET, actions.agent_states(&ids)).await {
        Ok(Ok(states)) => states,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the DR members' SSM agents not read; skipped this minute");
            return Vec::new();
        }
        Err(_) => {
            tracing::warn!(
                budget_secs = AGENTS_BUDGET.as_secs(),
                "SSM too slow; the agents are not read this minute"
            );
            return Vec::new();
        }
    };
    let mut by_mirror: std::collections::BTreeMap<&str, Vec<AgentReport>> = std::collections::BTreeMap::new();
    for (mirror, member, id) in dr_members {
        let state = states.get(id).cloned().unwrap_or(AgentState::Unknown);
        let detail = state.why_not(member, id).unwrap_or_else(|| "Online".to_string());
        by_mirror.entry(mirror).or_default().push(AgentReport {
            member: member.to_string(),
            online: state == AgentState::Online,
            detail,
        });
    }
    by_mirror
        .into_iter()
        .map(|(mirror, agents)| Signal {
            mirror: mirror.to_string(),
            id: None,
            at: now,
            kind: SignalKind::SsmAgents { agents },
        })
        .collect()
}
