//! The engine: load the mirror's state, decide, make one conditional write, then
//! carry out the effects through the ports. The same engine runs in every Lambda
//! and in the local binary; only the adapters differ.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    decide, Context, DecisionVerdict, Effect, MirrorState, Phase, PromotionRequest, Refusal, RequestKind, Severity,
    Signal, SignalKind, Verdict,
};
use crate::events::{self, DecodeError};
use crate::ports::{FenceOrder, Notifier, PromotionActions, PromotionOrder, SaveError, Store, StoreError};
use crate::token::{OsTokens, TokenSource};
use crate::topology::Topology;

/// How many times a conditional write is retried against concurrent writers.
pub const MAX_WRITE_ATTEMPTS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The payload cannot be used: retrying will not help.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("mirror {0} is not in the topology; add it to the topology file")]
    UnknownMirror(String),
    /// The store failed: retrying later may help.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mirror {0}: gave up after {MAX_WRITE_ATTEMPTS} conflicting writes; the signal will be retried")]
    Contention(String),
}

impl EngineError {
    /// Whether the delivery should be retried (Lambda retry semantics).
    pub fn is_retryable(&self) -> bool {
        matches!(self, EngineError::Store(_) | EngineError::Contention(_))
    }
}

/// What was carried out, one line each; `replay --json` and `serve --json` print these.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Report {
    Transition {
        mirror: String,
        from: Phase,
        to: Phase,
        epoch: u64,
        reason: String,
    },
    Alert {
        mirror: String,
        id: String,
        severity: Severity,
        kind: crate::domain::AlertKind,
        subject: String,
        sms: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        link: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        delivered: bool,
        /// The full email text (printed for people; left out of JSON lines).
        #[serde(skip)]
        email: String,
    },
    PromotionRequested {
        mirror: String,
        request: String,
        candidate: String,
    },
    PromotionExecuted {
        mirror: String,
        request: String,
        candidate: String,
        detail: String,
    },
    /// The fencing document was sent to one former failover member.
    FencingExecuted {
        mirror: String,
        request: String,
        member: String,
        detail: String,
    },
    Decision {
        mirror: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        outcome: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Report {
    pub fn mirror(&self) -> &str {
        match self {
            Report::Transition { mirror, .. }
            | Report::Alert { mirror, .. }
            | Report::PromotionRequested { mirror, .. }
            | Report::PromotionExecuted { mirror, .. }
            | Report::FencingExecuted { mirror, .. }
            | Report::Decision { mirror, .. } => mirror,
        }
    }
}

/// The result of handling one signal.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub mirror: String,
    pub verdict: Verdict,
    pub reports: Vec<Report>,
    /// Approved promotions to hand to the promotion executor (only when the engine
    /// hands off instead of executing them itself).
    pub orders: Vec<PromotionOrder>,
    /// The mirror's state once the signal was applied (written, or read when nothing
    /// changed): who needs it next reads it here, not from the store again. None after
    /// a duplicate, and when a promotion the signal approved ran here since.
    pub state: Option<MirrorState>,
}

/// What an engine does with a promotion (or fencing, or drill) approved while it
/// handles a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approved {
    /// Hands it to the promotion executor: the order is returned in
    /// [`Outcome::orders`] (every Lambda function but the executor: a promotion never
    /// runs inside the function that saw the approval).
    HandOff,
    /// Carries it out here, at once: the promotion executor, and the local binary.
    #[default]
    CarryOut,
}

/// Told every report the engine carries out, as it happens (`serve --json` prints them).
pub type ReportSink = Arc<dyn Fn(DateTime<Utc>, &[Report]) + Send + Sync>;

pub struct Engine<S, N, A> {
    /// Swapped whole when the topology is read again (Parameter Store).
    topology: std::sync::RwLock<Arc<Topology>>,
    reports_to: Option<ReportSink>,
    store: S,
    notifier: N,
    actions: A,
    public_url: std::sync::OnceLock<String>,
    tokens: Mutex<Box<dyn TokenSource + Send>>,
    approved: Approved,
}

impl<S: Store, N: Notifier, A: PromotionActions> Engine<S, N, A> {
    pub fn new(topology: Arc<Topology>, store: S, notifier: N, actions: A, public_url: &str) -> Self {
        Engine {
            topology: std::sync::RwLock::new(topology),
            reports_to: None,
            store,
            notifier,
            actions,
            public_url: {
                let cell = std::sync::OnceLock::new();
                let url = public_url.trim_end_matches('/');
                if !url.is_empty() {
                    let _ = cell.set(url.to_string());
                }
                cell
            },
            tokens: Mutex::new(Box::new(OsTokens)),
            approved: Approved::CarryOut,
        }
    }

    /// What is done with an approved promotion (default: [`Approved::CarryOut`]).
    pub fn on_approval(mut self, approved: Approved) -> Self {
        self.approved = approved;
        self
    }

    /// Tells `sink` every report carried out by any caller of this engine: events,
    /// ticks, decisions on the approval page, promotions.
    pub fn with_report_sink(mut self, sink: ReportSink) -> Self {
        self.reports_to = Some(sink);
        self
    }

    fn tell(&self, now: DateTime<Utc>, reports: &[Report]) {
        if let (Some(sink), false) = (&self.reports_to, reports.is_empty()) {
            sink(now, reports);
        }
    }

    /// Replaces the token source (tests that need predictable links).
    pub fn with_tokens(mut self, tokens: Box<dyn TokenSource + Send>) -> Self {
        self.tokens = Mutex::new(tokens);
        self
    }

    /// The topology in use now (a later read may replace it; this one stays whole).
    pub fn topology(&self) -> Arc<Topology> {
        match self.topology.read() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Uses a topology read again from now on; signals being handled finish with
    /// the one they started with.
    pub fn replace_topology(&self, topology: Arc<Topology>) {
        match self.topology.write() {
            Ok(mut t) => *t = topology,
            Err(poisoned) => *poisoned.into_inner() = topology,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn notifier(&self) -> &N {
        &self.notifier
    }

    pub fn actions(&self) -> &A {
        &self.actions
    }

    pub fn public_url(&self) -> &str {
        self.public_url.get().map(String::as_str).unwrap_or_default()
    }

    /// Learns where the approval pages live when it was not configured (the
    /// approval function learns its own URL from the first request it serves).
    pub fn learn_public_url(&self, url: &str) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_string());
    }

    /// Decodes an AWS payload and handles every signal in it.
    pub async fn ingest(&self, payload: &[u8], now: DateTime<Utc>) -> Result<Vec<Outcome>, EngineError> {
        let signals = events::decode(payload, &self.topology())?;
        let mut outcomes = Vec::with_capacity(signals.len());
        for signal in signals {
            outcomes.push(self.handle(signal, now).await?);
        }
        Ok(outcomes)
    }

    /// The same as [`Engine::ingest`] for a payload already parsed as JSON (Lambda).
    pub async fn ingest_value(
        &self,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, EngineError> {
        let signals = events::decode_value(payload, &self.topology())?;
        let mut outcomes = Vec::with_capacity(signals.len());
        for signal in signals {
            outcomes.push(self.handle(signal, now).await?);
        }
        Ok(outcomes)
    }

    /// A tick for every mirror of the topology.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<Outcome>, EngineError> {
        let mut outcomes = Vec::new();
        for name in self
            .topology()
            .mirrors
            .iter()
            .map(|m| m.name.clone())
            .collect::<Vec<_>>()
        {
            let signal = Signal {
                mirror: name,
                id: None,
                at: now,
                kind: SignalKind::Tick,
            };
            outcomes.push(self.handle(signal, now).await?);
        }
        Ok(outcomes)
    }

    /// Handles one signal, and then any promotion it approved.
    pub async fn handle(&self, signal: Signal, now: DateTime<Utc>) -> Result<Outcome, EngineError> {
        let first = self.apply(&signal, now).await?;
        let mut reports = first.reports;
        if self.approved == Approved::HandOff {
            self.tell(now, &reports);
            return Ok(Outcome {
                mirror: signal.mirror,
                verdict: first.verdict,
                reports,
                orders: first.orders,
                state: first.state,
            });
        }
        let state = first.state.filter(|_| first.orders.is_empty());
        let mut orders: VecDeque<PromotionOrder> = first.orders.into();
        while let Some(order) = orders.pop_front() {
            let (more_reports, more_orders) = self.execute(order, now).await?;
            reports.extend(more_reports);
            orders.extend(more_orders);
        }
        self.tell(now, &reports);
        Ok(Outcome {
            mirror: signal.mirror,
            verdict: first.verdict,
            reports,
            orders: Vec::new(),
            state,
        })
    }

    /// Runs an approved promotion handed over by another process: claims it, runs
    /// the actions once, and records the outcome. A second delivery of the same
    /// order finds it claimed and runs nothing.
    pub async fn execute_order(&self, order: PromotionOrder, now: DateTime<Utc>) -> Result<Vec<Report>, EngineError> {
        let (reports, _follow_ups) = self.execute(order, now).await?;
        self.tell(now, &reports);
        Ok(reports)
    }

    async fn execute(
        &self,
        order: PromotionOrder,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Report>, Vec<PromotionOrder>), EngineError> {
        let claim = Signal {
            mirror: order.mirror.clone(),
            id: None,
            at: now,
            kind: SignalKind::PromotionStarted {
                request: order.request.clone(),
            },
        };
        let claimed = self.apply(&claim, now).await?;
        let mut reports = claimed.reports;
        let mut orders = claimed.orders;
        if claimed.verdict != Verdict::Applied {
            tracing::info!(mirror = %order.mirror, request = %order.request, "promotion already started elsewhere; not run again");
            return Ok((reports, orders));
        }
        // What runs is what was approved: the candidate and epoch of the stored
        // request, whatever the order that handed it over says.
        let stored = claimed.state.as_ref().and_then(|s| s.request(&order.request));
        if let Some(fencing) = stored.filter(|r| r.kind == RequestKind::Fencing) {
            let (more_reports, more_orders) = self.fence(&order.mirror, fencing.clone(), now).await?;
            reports.extend(more_reports);
            orders.extend(more_orders);
            return Ok((reports, orders));
        }
        let drill = stored.is_some_and(|r| r.kind == RequestKind::Drill);
        let failback = stored.filter(|r| r.kind == RequestKind::Failback).cloned();
        let order = match stored {
            Some(r) => PromotionOrder {
                mirror: order.mirror,
                request: order.request,
                candidate: r.candidate.clone(),
                epoch: r.epoch,
                resume: r.claims > 1,
                allow_no_partner: r.accepted_without_partner,
                failback: r.kind == RequestKind::Failback,
            },
            // Nothing stored approves it: never without a partner.
            None => PromotionOrder {
                allow_no_partner: false,
                failback: false,
                ..order
            },
        };
        let topology = self.topology();
        let mirror = topology
            .mirror(&order.mirror)
            .ok_or_else(|| EngineError::UnknownMirror(order.mirror.clone()))?;
        // A failback un-fences first: the member to promote back must be able to rejoin.
        let mut unfenced = Vec::new();
        if let Some(request) = &failback {
            let (names, failures) = self.unfence(mirror, request).await;
            unfenced = names;
            if !failures.is_empty() {
                let detail = format!("un-fencing failed: {}; nothing was promoted", failures.join("; "));
                let reported = self
                    .record_outcome(&order.mirror, &order.request, false, detail, unfenced, now)
                    .await?;
                reports.extend(reported.reports);
                orders.extend(reported.orders);
                return Ok((reports, orders));
            }
        }
        let result = match mirror.member(&order.candidate) {
            Some(candidate) if drill => self
                .actions
                .drill(mirror, candidate, &order)
                .await
                .map_err(|e| e.to_string()),
            Some(candidate) => self
                .actions
                .execute(mirror, candidate, &order)
                .await
                .map_err(|e| e.to_string()),
            None => Err(format!("{} is no longer in the topology", order.candidate)),
        };
        let (ok, detail) = match result {
            Ok(detail) if drill => (true, detail),
            Ok(detail) => {
                reports.push(Report::PromotionExecuted {
                    mirror: order.mirror.clone(),
                    request: order.request.clone(),
                    candidate: order.candidate.clone(),
                    detail: detail.clone(),
                });
                (true, detail)
            }
            Err(detail) => {
                tracing::error!(mirror = %order.mirror, request = %order.request, error = %detail, "promotion action failed");
                (false, detail)
            }
        };
        let reported = self
            .record_outcome(&order.mirror, &order.request, ok, detail, unfenced, now)
            .await?;
        reports.extend(reported.reports);
        orders.extend(reported.orders);
        Ok((reports, orders))
    }

    /// Records how an approved request's actions went (`ok`, `detail`, the members
    /// fenced or un-fenced) as its `PromotionOutcome`, applied like any signal.
    async fn record_outcome(
        &self,
        mirror: &str,
        request: &str,
        ok: bool,
        detail: String,
        fenced: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<Applied, EngineError> {
        let outcome = Signal {
            mirror: mirror.to_string(),
            id: None,
            at: now,
            kind: SignalKind::PromotionOutcome {
                request: request.to_string(),
                ok,
                detail,
                fenced,
            },
        };
        self.apply(&outcome, now).await
    }

    /// Un-fences each member of an approved failback (the fencing document with
    /// `Method=unfence`): the names un-fenced, and what failed, in words.
    async fn unfence(&self, mirror: &crate::domain::Mirror, request: &PromotionRequest) -> (Vec<String>, Vec<String>) {
        let mut unfenced = Vec::new();
        let mut failures = Vec::new();
        for name in &request.fence_members {
            let Some(member) = mirror.member(name) else {
                failures.push(format!("{name} is no longer in the topology"));
                continue;
            };
            let order = FenceOrder {
                unfence: true,
                ..fence_order(mirror, request, name)
            };
            match self.actions.fence(mirror, member, &order).await {
                Ok(_) => unfenced.push(name.clone()),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        (unfenced, failures)
    }

    /// Runs the fencing document on each member of an approved (and now claimed)
    /// fencing request, never on the current primary, and records which were fenced.
    async fn fence(
        &self,
        mirror_name: &str,
        request: PromotionRequest,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Report>, Vec<PromotionOrder>), EngineError> {
        let topology = self.topology();
        let mirror = topology
            .mirror(mirror_name)
            .ok_or_else(|| EngineError::UnknownMirror(mirror_name.to_string()))?;
        let mut reports = Vec::new();
        let mut fenced = Vec::new();
        let mut failures = Vec::new();
        let mut done = Vec::new();
        for name in request.fence_members.iter().filter(|name| **name != request.candidate) {
            let Some(member) = mirror.member(name) else {
                failures.push(format!("{name} is no longer in the topology"));
                continue;
            };
            let order = fence_order(mirror, &request, name);
            match self.actions.fence(mirror, member, &order).await {
                Ok(detail) => {
                    reports.push(Report::FencingExecuted {
                        mirror: mirror.name.clone(),
                        request: request.id.clone(),
                        member: name.clone(),
                        detail: detail.clone(),
                    });
                    fenced.push(name.clone());
                    done.push(format!("{name}: {detail}"));
                }
                Err(e) => {
                    tracing::error!(mirror = %mirror.name, request = %request.id, member = %name, error = %e, "fencing action failed");
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
        let ok = failures.is_empty();
        let detail = [done, failures].concat().join("; ");
        let reported = self
            .record_outcome(&mirror.name, &request.id, ok, detail, fenced, now)
            .await?;
        reports.extend(reported.reports);
        Ok((reports, reported.orders))
    }

    /// One decision and one conditional write; then the alerts.
    async fn apply(&self, signal: &Signal, now: DateTime<Utc>) -> Result<Applied, EngineError> {
        let topology = self.topology();
        let mirror = topology
            .mirror(&signal.mirror)
            .ok_or_else(|| EngineError::UnknownMirror(signal.mirror.clone()))?;
        let mut state = self
            .store
            .load(&mirror.name)
            .await?
            .unwrap_or_else(|| MirrorState::new(&mirror.name, now));
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let decided = {
                let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let mut ctx = Context {
                    now,
                    public_url: self.public_url(),
                    tokens: tokens.as_mut(),
                };
                decide(&state, mirror, signal, &mut ctx)
            };
            if let Verdict::Ignored { why } = &decided.verdict {
                tracing::info!(mirror = %mirror.name, why = %why, "signal changes nothing");
            }
            if decided.state == state {
                let reports = decision_report(&mirror.name, &decided.verdict).into_iter().collect();
                // Nothing to write, but an approved promotion nobody claimed is handed
                // over again (a tick's retry changes no state): its claim makes it run once.
                let orders = decided
                    .effects
                    .iter()
                    .filter_map(|effect| handed_over(&mirror.name, effect))
                    .collect();
                return Ok(Applied {
                    verdict: decided.verdict,
                    reports,
                    orders,
                    state: Some(state),
                });
            }
            let mut next = decided.state;
            next.version = state.version + 1;
            // The delivery this write applies, if the decision remembered its id
            // (periodic signals are idempotent by their times and are not remembered).
            let delivery = signal.id.as_deref().filter(|id| next.has_seen(id));
            match self.store.save(&next, state.version, delivery).await {
                Ok(()) => return Ok(self.carry_out(next, decided.effects, decided.verdict).await),
                Err(SaveError::Duplicate) => {
                    tracing::info!(mirror = %mirror.name, "a delivery applied before, beyond the state's own list of seen ids: nothing to do");
                    return Ok(Applied {
                        verdict: Verdict::Duplicate,
                        reports: Vec::new(),
                        orders: Vec::new(),
                        state: None,
                    });
                }
                Err(SaveError::Conflict { current }) => {
                    tracing::debug!(mirror = %mirror.name, "conditional write lost; deciding again on the current state");
                    state = current
                        .map(|b| *b)
                        .unwrap_or_else(|| MirrorState::new(&mirror.name, now));
                }
                Err(SaveError::Store(e)) => return Err(e.into()),
            }
        }
        Err(EngineError::Contention(mirror.name.clone()))
    }

    async fn carry_out(&self, state: MirrorState, effects: Vec<Effect>, verdict: Verdict) -> Applied {
        let mirror = state.mirror.clone();
        let mut reports = Vec::new();
        let mut orders = Vec::new();
        let mut delivered = Vec::new();
        for effect in effects {
            match effect {
                Effect::Transition {
                    from,
                    to,
                    epoch,
                    reason,
                } => {
                    tracing::info!(mirror = %mirror, from = %from, to = %to, epoch, reason = %reason, "transition");
                    reports.push(Report::Transition {
                        mirror: mirror.clone(),
                        from,
                        to,
                        epoch,
                        reason,
                    });
                }
                Effect::PromotionRequested { request, candidate } => {
                    reports.push(Report::PromotionRequested {
                        mirror: mirror.clone(),
                        request,
                        candidate,
                    });
                }
                // A drill and a fencing request are handed over like a promotion: the
                // executor finds the kind (and a fencing's members) in the stored request.
                effect @ (Effect::ExecutePromotion { .. }
                | Effect::ExecuteDrill { .. }
                | Effect::ExecuteFencing { .. }) => {
                    orders.extend(handed_over(&mirror, &effect));
                }
                Effect::Alert(alert) => {
                    let ok = match self.notifier.publish(&alert).await {
                        Ok(()) => {
                            delivered.push(alert.id.clone());
                            true
                        }
                        Err(e) => {
                            // It stays in the outbox; a later tick sends it again.
                            tracing::warn!(mirror = %mirror, alert = %alert.id, error = %e, "alert not delivered; kept in the outbox");
                            false
                        }
                    };
                    tracing::info!(mirror = %mirror, alert = %alert.id, kind = alert.kind.as_str(), severity = alert.severity.as_str(), delivered = ok, "alert");
                    reports.push(Report::Alert {
                        mirror: mirror.clone(),
                        id: alert.id.clone(),
                        severity: alert.severity,
                        kind: alert.kind,
                        subject: alert.subject(),
                        sms: alert.sms(),
                        link: alert.link.clone(),
                        request: alert.request.clone(),
                        delivered: ok,
                        email: alert.email(),
                    });
                }
            }
        }
        reports.extend(decision_report(&mirror, &verdict));
        if !delivered.is_empty() {
            self.clear_outbox(state.clone(), &delivered).await;
        }
        Applied {
            verdict,
            reports,
            orders,
            state: Some(state),
        }
    }

    /// Removes delivered alerts from the outbox. Losing this write only means an
    /// alert may be sent twice, never that one is lost.
    async fn clear_outbox(&self, mut state: MirrorState, delivered: &[String]) {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let before = state.outbox.len();
            state.outbox.retain(|e| !delivered.contains(&e.alert.id));
            if state.outbox.len() == before {
                return;
            }
            let expected = state.version;
            state.version += 1;
            match self.store.save(&state, expected, None).await {
                Ok(()) => return,
                Err(SaveError::Conflict { current: Some(current) }) => state = *current,
                Err(e) => {
                    tracing::warn!(mirror = %state.mirror, error = %e, "could not clear the outbox; alerts may be sent again");
                    return;
                }
            }
        }
    }

    /// The state of one mirror (a fresh one if nothing is stored yet).
    pub async fn state(&self, mirror: &str, now: DateTime<Utc>) -> Result<MirrorState, EngineError> {
        if self.topology().mirror(mirror).is_none() {
            return Err(EngineError::UnknownMirror(mirror.to_string()));
        }
        Ok(self
            .store
            .load(mirror)
            .await?
            .unwrap_or_else(|| MirrorState::new(mirror, now)))
    }

    /// The history lines of `mirror` the store keeps from `since` on, oldest first.
    pub async fn history(
        &self,
        mirror: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<crate::domain::state::HistoryEntry>, EngineError> {
        if self.topology().mirror(mirror).is_none() {
            return Err(EngineError::UnknownMirror(mirror.to_string()));
        }
        Ok(self.store.history(mirror, since).await?)
    }

    /// Every mirror of the topology with its state.
    pub async fn states(&self, now: DateTime<Utc>) -> Result<Vec<MirrorState>, EngineError> {
        let mut states = Vec::new();
        for mirror in &self.topology().mirrors {
            states.push(self.state(&mirror.name, now).await?);
        }
        Ok(states)
    }

    /// Finds the mirror and request an approval link belongs to.
    pub async fn find_link(&self, token_hash: &str) -> Result<Option<(MirrorState, String)>, EngineError> {
        for mirror in &self.topology().mirrors {
            if let Some(state) = self.store.load(&mirror.name).await? {
                if let Some(id) = state.request_by_token(token_hash).map(|r| r.id.clone()) {
                    return Ok(Some((state, id)));
                }
            }
        }
        Ok(None)
    }
}

struct Applied {
    verdict: Verdict,
    reports: Vec<Report>,
    orders: Vec<PromotionOrder>,
    /// The state as written (or found unchanged).
    state: Option<MirrorState>,
}

/// The order an effect hands to the executor: a promotion, a drill or a fencing, each
/// as a promotion order for its request, candidate (a fencing's DR primary) and epoch,
/// neither resumed nor without partner (the executor takes those from the stored
/// request when it claims it). Any other effect hands nothing over.
fn handed_over(mirror: &str, effect: &Effect) -> Option<PromotionOrder> {
    let (request, candidate, epoch) = match effect {
        Effect::ExecutePromotion {
            request,
            candidate,
            epoch,
        }
        | Effect::ExecuteDrill {
            request,
            candidate,
            epoch,
        } => (request, candidate, *epoch),
        Effect::ExecuteFencing {
            request,
            primary,
            epoch,
            ..
        } => (request, primary, *epoch),
        _ => return None,
    };
    Some(PromotionOrder {
        mirror: mirror.to_string(),
        request: request.clone(),
        candidate: candidate.clone(),
        epoch,
        resume: false,
        allow_no_partner: false,
        failback: false,
    })
}

/// The order to fence `member` for an approved request, with the mirror's method, in
/// the request's epoch; resumed when an executor claimed the request before.
fn fence_order(mirror: &crate::domain::Mirror, request: &PromotionRequest, member: &str) -> FenceOrder {
    FenceOrder {
        mirror: mirror.name.clone(),
        request: request.id.clone(),
        epoch: request.epoch,
        member: member.to_string(),
        method: mirror.promotion.fence_method,
        resume: request.claims > 1,
        unfence: false,
    }
}

fn decision_report(mirror: &str, verdict: &Verdict) -> Option<Report> {
    let Verdict::Decision(d) = verdict else { return None };
    Some(match d {
        DecisionVerdict::Approved {
            request,
            executing,
            approvals,
            required,
            ..
        } => Report::Decision {
            mirror: mirror.to_string(),
            request: Some(request.clone()),
            outcome: if *executing { "approved" } else { "approval_recorded" },
            reason: (!executing).then(|| format!("{approvals} of {required} approvals")),
        },
        DecisionVerdict::Rejected { request } => Report::Decision {
            mirror: mirror.to_string(),
            request: Some(request.clone()),
            outcome: "rejected",
            reason: None,
        },
        DecisionVerdict::Refused { request, refusal } => Report::Decision {
            mirror: mirror.to_string(),
            request: request.clone(),
            outcome: "refused",
            reason: Some(refusal_code(refusal).to_string()),
        },
    })
}

/// A stable short code for a refusal (for JSON output and metrics).
pub fn refusal_code(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::UnknownLink => "unknown_link",
        Refusal::TamperedLink => "tampered_link",
        Refusal::LinkUsed => "link_used",
        Refusal::LinkExpired => "link_expired",
        Refusal::NoOpenRequest => "no_open_request",
        Refusal::RequestClosed { .. } => "request_closed",
        Refusal::PrimaryBack { .. } => "primary_back",
        Refusal::PrimaryExists { .. } => "primary_exists",
        Refusal::CandidateUnhealthy { .. } => "candidate_unhealthy",
        Refusal::LatencyOverPolicy { .. } => "latency_over_policy",
        Refusal::AnotherRequestWon { .. } => "another_request_won",
        Refusal::SameApprover { .. } => "same_approver",
        Refusal::NoName => "no_name",
        Refusal::FencingMoot { .. } => "fencing_moot",
        Refusal::PartnerSilent { .. } => "partner_silent",
    }
}
