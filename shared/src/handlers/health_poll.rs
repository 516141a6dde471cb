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

use super::{finish, summary, Function, HandlerError, Ports};
use crate::adapters::aws::promotion::AgentState;
use crate::adapters::aws::{alarms, route53, AwsError, Deps};
use crate::adapters::probe::{Probe, Prober};
use crate::domain::MemberKind;
use crate::domain::{AgentReport, MirrorState, Signal, SignalKind};
use crate::events;
use crate::ports::Store;
use crate::topology::Topology;

/// The most the Route 53 poll may take of a run (the function times out at 55 s; the
/// probes and the alarms run at the same time). At Route 53's rate for
/// GetHealthCheckStatus (1 a second, a burst of 4; docs/DEPLOY.md) about 28 checks
/// are read a minute; the rest are read first in the next minutes.
pub const ROUTE53_BUDGET: Duration = Duration::from_secs(25);
/// Optional: GetHealthCheckStatus requests a second (default 1, at most 10), for an
/// account whose Route 53 quota allows more.
pub const ENV_ROUTE53_RATE: &str = "MIRRORGATE_ROUTE53_RATE";
/// The most the probes of `mirror_status.cxw` may take together (each has its own
/// shorter timeout, `MIRRORGATE_PROBE_TIMEOUT_SECS`).
pub const PROBE_BUDGET: Duration = Duration::from_secs(10);
/// The most reading the alarms again may take, every region at once.
pub const ALARMS_BUDGET: Duration = Duration::from_secs(10);
/// The most asking SSM about the DR members' agents may take.
pub const AGENTS_BUDGET: Duration = Duration::from_secs(5);

/// What health-poll asks of the world besides the engine's ports and the probes
/// ([`StatusProbe`]): Route 53's health checks, the alarms again in their own
/// regions, the DR members' SSM agents, and the control plane's heartbeat metric.
/// [`Deps`] on AWS.
pub trait HealthReads {
    /// The region the function runs in (named in the probe events it logs).
    fn region(&self) -> Option<String>;
    /// One paced round of the members' Route 53 health checks from `start`, within
    /// `limits`.
    fn poll_route53(
        &self,
        topology: &Topology,
        start: usize,
        limits: route53::PollLimits,
        now: chrono::DateTime<Utc>,
    ) -> impl std::future::Future<Output = route53::PollRound>;
    /// The alarms of `watched` read again in their own regions, by `deadline`.
    fn read_alarms_again(
        &self,
        watched: &[alarms::Watched],
        deadline: Instant,
    ) -> impl std::future::Future<Output = Vec<alarms::Reading>>;
    /// The state of the SSM agents of `instance_ids`.
    fn agent_states(
        &self,
        instance_ids: &[String],
    ) -> impl std::future::Future<Output = Result<std::collections::BTreeMap<String, AgentState>, String>>;
    /// Puts one datum of the control plane's heartbeat metric.
    fn beat(&self, at: chrono::DateTime<Utc>) -> impl std::future::Future<Output = Result<(), AwsError>>;
}

impl HealthReads for Deps {
    fn region(&self) -> Option<String> {
        self.config.region().map(|r| r.as_ref().to_string())
    }

    async fn poll_route53(
        &self,
        topology: &Topology,
        start: usize,
        limits: route53::PollLimits,
        now: chrono::DateTime<Utc>,
    ) -> route53::PollRound {
        self.route53().poll_round(topology, start, limits, now).await
    }

    async fn read_alarms_again(&self, watched: &[alarms::Watched], deadline: Instant) -> Vec<alarms::Reading> {
        self.alarms.read_again(watched, deadline).await
    }

    async fn agent_states(
        &self,
        instance_ids: &[String],
    ) -> Result<std::collections::BTreeMap<String, AgentState>, String> {
        self.actions().agent_states(instance_ids).await
    }

    async fn beat(&self, at: chrono::DateTime<Utc>) -> Result<(), AwsError> {
        self.heartbeat().beat(at).await
    }
}

/// What health-poll asks of the members' `mirror_status.cxw`: every member with a
/// `status_url`, of every mirror, probed at once, and the results that came by
/// `deadline`, in the topology's order (a member whose probe did not finish in time
/// has none). [`Prober`] on AWS, an HTTP client within each probe's own timeout.
pub trait StatusProbe {
    /// Probes every member of `topology` with a `status_url`; the results by `deadline`.
    fn probe_all(&self, topology: &Topology, deadline: Instant) -> impl std::future::Future<Output = Vec<Probe>>;
}

impl StatusProbe for Prober {
    async fn probe_all(&self, topology: &Topology, deadline: Instant) -> Vec<Probe> {
        Prober::probe_all(self, topology, deadline).await
    }
}

pub async fn handle<P: Ports>(function: &Function<P>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    function.refresh_topology().await;
    let now = Utc::now();
    // The schedule event itself decodes to one tick per mirror.
    let ticks = events::decode_value(&event.payload, &function.engine.topology()).map_err(|e| {
        tracing::error!(error = %e, "the schedule payload cannot be used");
        HandlerError::Rejected(e.to_string())
    })?;
    let mut outcomes = Vec::new();
    // Time-based rules first: they must run even when Route 53's API (in us-east-1)
    // hangs during a regional outage.
    for tick in ticks {
        outcomes.push(function.engine.handle(tick, now).await.map_err(HandlerError::from)?);
    }
    // The states as the ticks left them: reading the alarms again needs no read of its own.
    let ticked: Vec<MirrorState> = outcomes.iter().filter_map(|o| o.state.clone()).collect();
    // Then the observers that are asked, all at once, each within its own budget.
    // None is on the critical path: one that fails or is slow is logged and gives
    // nothing this minute (and what it said before keeps ageing); what did answer
    // is kept.
    let (route53, probes, alarms, agents) = tokio::join!(
        route53_poll(function, now),
        probe_members(function),
        read_alarms_again(function, ticked),
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
    if let Err(e) = function.deps.beat(now).await {
        tracing::warn!(error = %e, "heartbeat metric not sent");
    }
    finish(function, "health-poll", &outcomes).await?;
    Ok(summary(&outcomes))
}

/// The members' Route 53 health checks, paced to Route 53's rate, within
/// [`ROUTE53_BUDGET`]: what was read by then is used; the checks not read are named
/// in a warning and read first next minute.
async fn route53_poll<P: Ports>(function: &Function<P>, now: chrono::DateTime<Utc>) -> Vec<Signal> {
    let topology = function.engine.topology();
    let checks = route53::health_checks(&topology).len();
    if checks == 0 {
        return Vec::new();
    }
    let rate = std::env::var(ENV_ROUTE53_RATE)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| (0.1..=10.0).contains(r))
        .unwrap_or(route53::DEFAULT_RATE);
    let pacer = route53::Pacer::new(rate, route53::DEFAULT_BURST, Instant::now());
    let remembered = function.route53_next.lock().ok().and_then(|n| *n);
    let start = remembered
        .unwrap_or_else(|| route53::rotation_start(now.timestamp() / 60, pacer.capacity(ROUTE53_BUDGET), checks));
    let limits = route53::PollLimits {
        pacer,
        concurrency: route53::DEFAULT_CONCURRENCY,
        deadline: Instant::now() + ROUTE53_BUDGET,
        fresh: route53::REPORT_FRESH,
    };
    let round = function.deps.poll_route53(&topology, start, limits, now).await;
    if let Ok(mut next) = function.route53_next.lock() {
        *next = Some(round.next_start);
    }
    if !round.unread.is_empty() {
        let shown: Vec<&str> = round.unread.iter().take(10).map(String::as_str).collect();
        tracing::warn!(
            checks,
            read = round.read,
            failed = round.failed.len(),
            unread = round.unread.len(),
            first_unread = %shown.join(", "),
            budget_secs = ROUTE53_BUDGET.as_secs(),
            rate,
            "Route 53 health checks not read within the budget; what was read is used, the rest is read first next minute"
        );
    }
    if round.read == 0 && !round.failed.is_empty() {
        tracing::warn!(
            failed = round.failed.len(),
            first = %round.failed[0],
            "no Route 53 health check could be read this minute"
        );
    }
    round.signals
}

/// Every member with a `status_url` probed from this region, within [`PROBE_BUDGET`].
/// Each result is logged as the `Mirror Status Probe` event it is, so that it can
/// be read back, replayed or posted to `mirrorgate serve`.
async fn probe_members<P: Ports>(function: &Function<P>) -> Vec<Signal> {
    let probes = function
        .prober
        .probe_all(&function.engine.topology(), Instant::now() + PROBE_BUDGET)
        .await;
    let region = function.deps.region();
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
/// within [`ALARMS_BUDGET`] (reading the states the ticks did not give included).
async fn read_alarms_again<P: Ports>(function: &Function<P>, ticked: Vec<MirrorState>) -> Vec<Signal> {
    let deadline = Instant::now() + ALARMS_BUDGET;
    let mut states = Vec::new();
    for mirror in &function.engine.topology().mirrors {
        if let Some(state) = ticked.iter().find(|s| s.mirror == mirror.name) {
            states.push(state.clone());
            continue;
        }
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
    let readings = function.deps.read_alarms_again(&watched, deadline).await;
    alarms::reconfirmations(&watched, &readings)
}

/// Whether the DR members' SSM agents are Online (a promotion runs only on one that
/// is): one `DescribeInstanceInformation` for every DR member of every mirror with a
/// promote document, within [`AGENTS_BUDGET`]; one signal per such mirror.
async fn ssm_agents<P: Ports>(function: &Function<P>, now: chrono::DateTime<Utc>) -> Vec<Signal> {
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
    let states = match tokio::time::timeout(AGENTS_BUDGET, function.deps.agent_states(&ids)).await {
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
