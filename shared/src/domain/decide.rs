//! The decision core: `(state, topology, signal, now) -> (state, effects)`.
//! No I/O: effects are carried out by adapters. Every rule (the README and
//! docs/DETECTION.md say them in words) lives here and is tested without AWS.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::alert::{Alert, Severity};
use super::mirror::{secs, MemberKind, Mirror, Observer};
use super::notice::{DrillEnd, MirrorNotice, Notice, PlannedEnd, PrimaryClaim, PromotionAsk, PromotionNotice};
use super::signal::{
    AgentReport, Authority, CommandReport, Decision, DecisionAction, JournalLatency, MemberStatus, RunStatus, Signal,
    SignalKind,
};
use super::state::{
    AgentWord, CommandRecord, DecisionRecord, LinkToken, MirrorState, Observation, OutboxEntry, Phase,
    PromotionRequest, RequestKind, RequestStatus, MAX_REQUESTS,
};
use super::view::{Claim, View};
use super::wording;
use crate::token::TokenSource;

mod drill;
mod failback;
mod fencing;
mod planned;
mod switchover;

pub use drill::DRILL;

/// What the core needs besides state and signal: the time, where links point,
/// and where fresh link tokens come from.
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    /// Base URL of the approval pages, without a trailing slash.
    pub public_url: &'a str,
    pub tokens: &'a mut dyn TokenSource,
}

/// Something the adapters must carry out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    Transition {
        from: Phase,
        to: Phase,
        epoch: u64,
        reason: String,
    },
    Alert(Alert),
    PromotionRequested {
        request: String,
        candidate: String,
    },
    /// Carry out the approved promotion: emitted exactly once per request and epoch,
    /// by the one write that moves the mirror to `promoting`.
    ExecutePromotion {
        request: String,
        candidate: String,
        epoch: u64,
    },
    /// Carry out an approved fencing request: the fencing document on each member
    /// named, never on `primary` (the DR primary of the epoch, which stays primary).
    ExecuteFencing {
        request: String,
        members: Vec<String>,
        primary: String,
        epoch: u64,
    },
    /// Carry out an approved drill: the drill document on the candidate, nothing promoted.
    ExecuteDrill {
        request: String,
        candidate: String,
        epoch: u64,
    },
}

/// Why a decision on a promotion request was not taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    UnknownLink,
    /// The link belongs to another request than the one named: it was altered.
    TamperedLink,
    LinkUsed,
    LinkExpired,
    NoOpenRequest,
    RequestClosed {
        status: RequestStatus,
    },
    PrimaryBack {
        member: String,
    },
    /// A member reports it is connected to a primary (Backup, Connected): one exists.
    PrimaryExists {
        evidence: String,
    },
    CandidateUnhealthy {
        candidate: String,
    },
    LatencyOverPolicy {
        seconds: Option<f64>,
        max_seconds: u64,
    },
    AnotherRequestWon {
        request: String,
    },
    SameApprover {
        by: String,
    },
    NoName,
    /// A fencing request of an epoch that is over: the DR member it was raised for
    /// is no longer the primary.
    FencingMoot {
        primary: String,
    },
    /// A switchover goes with partner: no failover member was heard from within the
    /// freshness window, so its ISCAgent would not answer.
    PartnerSilent {
        partners: Vec<String>,
    },
}

impl Refusal {
    /// The reason in words for the operator, with what to do next.
    pub fn message(&self) -> String {
        match self {
            Refusal::UnknownLink => "This link is not known to mirrorgate. Use the link from the latest alert.".into(),
            Refusal::TamperedLink => "This link does not match the request it names; it may have been altered. Use the link from the latest alert.".into(),
            Refusal::LinkUsed => "This link was already used. Each link decides once; the latest alert carries a fresh one if a decision is still needed.".into(),
            Refusal::LinkExpired => "This link has expired. If the primary is still lost, mirrorgate sends a new request.".into(),
            Refusal::NoOpenRequest => "There is no open promotion request for this mirror.".into(),
            Refusal::RequestClosed { status } => match status {
                RequestStatus::Superseded => "This request was withdrawn: the primary came back before a decision. Nothing will be promoted.".into(),
                RequestStatus::Expired => "This request expired before a decision. If the primary is still lost, mirrorgate sends a new request.".into(),
                other => format!("This request is already closed ({}). Nothing more can be decided on it.", other.as_str()),
            },
            Refusal::PrimaryBack { member } => format!("Refused: {member} answers as primary. Promoting now would create a second primary."),
            Refusal::PrimaryExists { evidence } => format!("Refused: {evidence}, so a primary exists. Promoting now would create a second primary."),
            Refusal::CandidateUnhealthy { candidate } => format!("Refused: the candidate {candidate} is no longer healthy. mirrorgate will propose another candidate if one is healthy."),
            Refusal::LatencyOverPolicy { seconds, max_seconds } => match seconds {
                Some(s) => format!("Refused: promoting the candidate may lose {}, over the policy's {max_seconds} s. Tick \"I accept the data loss\" to promote anyway.", super::loss::amount(*s)),
                None => format!("Refused: the candidate's journal latency is unknown, so the policy's {max_seconds} s limit cannot be checked. Tick \"I accept the data loss\" to promote anyway."),
            },
            Refusal::AnotherRequestWon { request } => format!("Refused: promotion request {request} was already approved for this epoch."),
            Refusal::SameApprover { by } => format!("{by} has already approved this request; the policy needs a different person."),
            Refusal::NoName => "Type your name: every decision is recorded with who made it.".into(),
            Refusal::FencingMoot { primary } => format!("Refused: the primary changed since this fencing request was raised ({primary} now). Nothing was fenced."),
            Refusal::PartnerSilent { partners } => format!("Refused: nothing was heard from {} recently, so no partner's ISCAgent would answer and the switchover could lose data. Bring a failover member's host back, or tick \"I accept the data loss\" to switch over anyway.", partners.join(" or ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecisionVerdict {
    Approved {
        request: String,
        candidate: String,
        executing: bool,
        approvals: usize,
        required: usize,
    },
    Rejected {
        request: String,
    },
    Refused {
        request: Option<String>,
        refusal: Refusal,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Applied,
    /// The delivery was seen before; nothing changed.
    Duplicate,
    /// The signal names a member this mirror does not have.
    Ignored {
        why: String,
    },
    Decision(DecisionVerdict),
}

#[derive(Debug, Clone)]
pub struct Decided {
    pub state: MirrorState,
    pub effects: Vec<Effect>,
    pub verdict: Verdict,
}

/// How long an undelivered alert waits in the outbox before a tick sends it again.
pub const OUTBOX_RETRY_AFTER_SECS: i64 = 60;

/// How long after an executor claimed a promotion, without recording how its actions
/// went, the next tick hands it over again: longer than the promotion executor's
/// Lambda timeout (180 s in template.yaml), so a running executor is never doubled.
pub const EXECUTION_STALE_SECS: i64 = 300;

/// The whole decision: apply the signal, then the rules.
pub fn decide(state: &MirrorState, mirror: &Mirror, signal: &Signal, ctx: &mut Context<'_>) -> Decided {
    let signal = &arrived_by(signal, ctx.now);
    if let Some(id) = &signal.id {
        if state.has_seen(id) {
            return Decided {
                state: state.clone(),
                effects: Vec::new(),
                verdict: Verdict::Duplicate,
            };
        }
    }
    let mut d = Decider {
        s: state.clone(),
        m: mirror,
        ctx,
        effects: Vec::new(),
    };
    // Heartbeats and latency reports are idempotent by their timestamps; keeping
    // their ids would only push the ids of rarer signals out of the window.
    let periodic = matches!(
        signal.kind,
        SignalKind::Status { heartbeat: true, .. } | SignalKind::JournalLatency { .. }
    );
    if let (Some(id), false) = (&signal.id, periodic) {
        d.s.remember(id);
    }
    let verdict = d.apply(signal);
    if let Verdict::Ignored { .. } = verdict {
        // A signal about nothing this mirror has changes no state, not even the duplicate window.
        return Decided {
            state: state.clone(),
            effects: Vec::new(),
            verdict,
        };
    }
    // A maintenance window whose time ran out ends before the rules run, so that
    // they apply at once to the evidence as it stands.
    d.expire_maintenance();
    // Settle until the phase holds: when a rule changes the phase (an expiry, a
    // time-out), the rules of the new phase apply to the same facts now, not at the
    // next signal, so a repeated delivery finds nothing left to do.
    for _ in 0..4 {
        let phase = d.s.phase;
        d.settle();
        if d.s.phase == phase {
            break;
        }
    }
    // What the rules changed (a new primary) is reflected in the claims now, so
    // that a repeated delivery finds nothing left to record.
    d.refresh_claims();
    Decided {
        state: d.s,
        effects: d.effects,
        verdict,
    }
}

impl Decider<'_, '_> {
    /// Applies the signal to the state by its kind: what it says of a member, a
    /// decision, an outcome, a window, a planned move. The rules run after.
    fn apply(&mut self, signal: &Signal) -> Verdict {
        match &signal.kind {
            SignalKind::Observation {
                member,
                observer,
                healthy,
                source,
                since,
                alarm_arn,
                unreachable,
            } => self.observe(
                member,
                ObservedWord {
                    observer: *observer,
                    healthy: *healthy,
                    source,
                    since: *since,
                    alarm_arn: alarm_arn.as_deref(),
                    unreachable: *unreachable,
                },
                signal.at,
            ),
            SignalKind::Status {
                member,
                status,
                journal_latency,
                reason,
                ..
            } => self.status(
                member,
                StatusReport {
                    status: *status,
                    latency: *journal_latency,
                    reason: reason.as_deref(),
                },
                signal.at,
            ),
            SignalKind::JournalLatency { member, latency } => self.latency(member, *latency),
            SignalKind::Tick => {
                self.retry_outbox();
                self.retry_unstarted_promotion();
                Verdict::Applied
            }
            SignalKind::Decision(decision) => Verdict::Decision(self.decision(decision)),
            SignalKind::PromotionStarted { request } => self.promotion_started(request),
            SignalKind::PromotionOutcome {
                request,
                ok,
                detail,
                fenced,
            } => self.promotion_outcome(request, *ok, detail, fenced),
            SignalKind::MaintenanceStart {
                duration_secs,
                reason,
                by,
            } => self.start_maintenance(*duration_secs, reason, by),
            SignalKind::MaintenanceEnd { by } => self.end_maintenance(by),
            SignalKind::CommandStatus(report) => self.command_status(report, signal.at),
            SignalKind::SsmAgents { agents } => self.ssm_agents(agents, signal.at),
            SignalKind::Drill { by } => self.start_drill(by),
            SignalKind::Switchover { to, by } => self.start_switchover(to, by),
            SignalKind::Failback { to, by } => self.start_failback(to, by),
            SignalKind::LinkOpened { request } => self.link_opened(request),
        }
    }
}

/// The signal with no time later than its arrival: a time in the future is a
/// sender's skewed clock, and kept as is it would outrank every later report
/// ("newer replaces older") until that time came.
fn arrived_by(signal: &Signal, now: DateTime<Utc>) -> Signal {
    let mut signal = signal.clone();
    signal.at = signal.at.min(now);
    match &mut signal.kind {
        SignalKind::Status {
            journal_latency: Some(latency),
            ..
        }
        | SignalKind::JournalLatency { latency, .. } => latency.measured_at = latency.measured_at.min(now),
        _ => {}
    }
    signal
}

/// An observer's word on a member, as a signal carries it.
struct ObservedWord<'a> {
    observer: Observer,
    healthy: bool,
    source: &'a str,
    since: Option<DateTime<Utc>>,
    alarm_arn: Option<&'a str>,
    unreachable: bool,
}

/// A member's report of its own status.
struct StatusReport<'a> {
    status: MemberStatus,
    latency: Option<JournalLatency>,
    reason: Option<&'a str>,
}

pub(super) struct Decider<'a, 'c> {
    pub(super) s: MirrorState,
    pub(super) m: &'a Mirror,
    ctx: &'a mut Context<'c>,
    effects: Vec<Effect>,
}

impl Decider<'_, '_> {
    /// A new open request of `kind` for `candidate` under the mirror's next id, asked
    /// now and expiring after the policy's approval expiry, with nothing decided or
    /// done yet. Callers set what their kind adds with `..self.new_request(..)`.
    pub(super) fn new_request(&mut self, kind: RequestKind, candidate: &str) -> PromotionRequest {
        let now = self.now();
        self.s.request_seq += 1;
        PromotionRequest {
            id: format!("{}-R{}", self.m.name, self.s.request_seq),
            kind,
            epoch: self.s.epoch,
            candidate: candidate.to_string(),
            status: RequestStatus::Open,
            created_at: now,
            expires_at: now + secs(self.m.policy.approval_expiry_secs),
            lost_primary: None,
            lost_since: now,
            observers: Vec::new(),
            candidate_latency: None,
            loss: None,
            dr_side_only: false,
            tokens: Vec::new(),
            decisions: Vec::new(),
            last_reminder_at: None,
            started_at: None,
            claims: 0,
            actions_done_at: None,
            command: None,
            closed_at: None,
            outcome: None,
            accepted_without_partner: false,
            fence_members: Vec::new(),
            returned: None,
            opened_at: None,
            started_by: None,
        }
    }

    /// Keeps a new request (the oldest goes beyond [`MAX_REQUESTS`]); returns its id.
    pub(super) fn file_request(&mut self, request: PromotionRequest) -> String {
        let id = request.id.clone();
        self.s.requests.push(request);
        if self.s.requests.len() > MAX_REQUESTS {
            self.s.requests.remove(0);
        }
        id
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    fn known(&self, member: &str) -> bool {
        self.m.member(member).is_some()
    }

    // ---- applying signals -------------------------------------------------

    /// One observer's word on a member. Newer replaces older, and a late or repeated
    /// delivery changes nothing; the same word again only confirms it (its age
    /// restarts, the time it began stays).
    fn observe(&mut self, member: &str, word: ObservedWord<'_>, at: DateTime<Utc>) -> Verdict {
        if !self.known(member) {
            return Verdict::Ignored {
                why: format!("{member} is not a member of {}", self.m.name),
            };
        }
        let ms = self.s.members.entry(member.to_string()).or_default();
        if !word.healthy && matches!(word.observer, Observer::Route53 | Observer::Probe) {
            ms.not_primary_at = ms.not_primary_at.max(Some(at));
        }
        let previous = ms.observations.get_mut(&word.observer);
        match previous {
            Some(o) if at <= o.last() => {}
            Some(o) if o.healthy == word.healthy && o.unreachable == word.unreachable => {
                o.confirmed_at = Some(at);
                o.source = word.source.to_string();
                if let Some(arn) = word.alarm_arn {
                    o.alarm_arn = Some(arn.to_string());
                }
            }
            previous => {
                let floor = previous.map(|o| o.last());
                let began = word
                    .since
                    .filter(|s| floor.is_none_or(|f| *s > f))
                    .unwrap_or(at)
                    .min(at);
                ms.observations.insert(
                    word.observer,
                    Observation {
                        healthy: word.healthy,
                        at: began,
                        source: word.source.to_string(),
                        confirmed_at: (began < at).then_some(at),
                        alarm_arn: word.alarm_arn.map(str::to_string),
                        unreachable: word.unreachable,
                    },
                );
            }
        }
        Verdict::Applied
    }

    fn status(&mut self, member: &str, report: StatusReport<'_>, at: DateTime<Utc>) -> Verdict {
        let Some(kind) = self.m.member(member).map(|m| m.kind) else {
            return Verdict::Ignored {
                why: format!("{member} is not a member of {}", self.m.name),
            };
        };
        let ms = self.s.members.entry(member.to_string()).or_default();
        if ms.last_heard.is_none_or(|h| at > h) {
            ms.last_heard = Some(at);
        }
        if ms.status.is_none_or(|(_, when)| at > when) {
            ms.status = Some((report.status, at));
            ms.status_reason = report.reason.map(str::to_string);
        }
        if !report.status.is_primary() && report.status != MemberStatus::Unknown {
            ms.not_primary_at = ms.not_primary_at.max(Some(at));
        }
        // An async's link to the primary: when it was last connected, and when it
        // was first seen without its link after that (whatever order reports arrive in).
        if matches!(kind, MemberKind::DrAsync | MemberKind::ReportingAsync) {
            match report.status {
                MemberStatus::Connected => {
                    if ms.last_connected.is_none_or(|c| at > c) {
                        ms.last_connected = Some(at);
                    }
                    if ms.link_lost_at.is_some_and(|lost| lost <= at) {
                        ms.link_lost_at = None;
                    }
                }
                MemberStatus::Unknown => {}
                _ => {
                    let after_connected = ms.last_connected.is_none_or(|c| at > c);
                    if after_connected && ms.link_lost_at.is_none_or(|lost| at < lost) {
                        ms.link_lost_at = Some(at);
                    }
                }
            }
        }
        if let Some(l) = report.latency {
            if ms.journal_latency.is_none_or(|old| l.measured_at > old.measured_at) {
                ms.journal_latency = Some(l);
            }
        }
        Verdict::Applied
    }

    fn latency(&mut self, member: &str, latency: JournalLatency) -> Verdict {
        if !self.known(member) {
            return Verdict::Ignored {
                why: format!("{member} is not a member of {}", self.m.name),
            };
        }
        let ms = self.s.members.entry(member.to_string()).or_default();
        if ms
            .journal_latency
            .is_none_or(|old| latency.measured_at > old.measured_at)
        {
            ms.journal_latency = Some(latency);
        }
        Verdict::Applied
    }

    // ---- effects ------------------------------------------------------------

    fn go(&mut self, to: Phase, reason: &str) {
        let from = self.s.phase;
        if from == to {
            return;
        }
        self.s.phase = to;
        self.s.phase_since = self.now();
        let now = self.now();
        self.s
            .record(now, format!("{} -> {}: {reason}", from.as_str(), to.as_str()));
        self.effects.push(Effect::Transition {
            from,
            to,
            epoch: self.s.epoch,
            reason: reason.to_string(),
        });
    }

    /// Issues a fresh single-use link for a request and returns its URL.
    fn issue_link(&mut self, request: &str) -> Option<String> {
        let issued = self.ctx.tokens.issue();
        let now = self.now();
        let req = self.s.request_mut(request)?;
        req.tokens.push(LinkToken {
            hash: issued.hash,
            issued_at: now,
            used_at: None,
        });
        Some(format!("{}/a/{}", self.ctx.public_url, issued.token))
    }

    /// Tells people `notice`: said in its words, told as information where a
    /// maintenance window or an approved switchover explains it, with a fresh link
    /// when it asks for a decision, kept in the outbox until delivered.
    pub(super) fn tell(&mut self, notice: impl Into<Notice>) {
        let notice = notice.into();
        let kind = notice.kind();
        let words = wording::words(&notice, self.m);
        let (severity, words) = self.as_told_during_maintenance(kind, notice.severity(), words);
        // The primary region stepping down during an approved switchover is planned.
        let switching = self
            .s
            .active_switchover()
            .filter(|r| r.status == RequestStatus::Approved)
            .map(|r| r.id.clone());
        let (severity, headline) = match switching {
            Some(id) if super::maintenance::expected_during_maintenance(kind) => {
                (Severity::Info, wording::during_switchover(&words.headline, &id))
            }
            _ => (severity, words.headline),
        };
        let request = notice.request().map(str::to_string);
        self.s.alert_seq += 1;
        let link = match request.as_deref() {
            Some(r) if kind.wants_link() => self.issue_link(r),
            _ => None,
        };
        let alert = Alert {
            id: format!("{}-A{}", self.m.name, self.s.alert_seq),
            mirror: self.m.name.clone(),
            kind,
            severity,
            at: self.now(),
            request,
            headline,
            facts: words.facts,
            next_step: words.next_step,
            link,
            notice: Some(Box::new(notice)),
        };
        let now = self.now();
        self.s.record(
            now,
            format!(
                "alert {} ({}): {}",
                alert.kind.as_str(),
                alert.severity.as_str(),
                alert.headline
            ),
        );
        self.s.outbox.push(OutboxEntry {
            alert: alert.without_link(),
            created_at: now,
            attempts: 0,
        });
        self.effects.push(Effect::Alert(alert));
    }

    /// Alerts about the primary coming and going are folded during the cool-down
    /// that follows a flap, so a flapping primary does not page people again and again.
    fn flap_alert(&mut self, notice: impl Into<Notice>) {
        let notice = notice.into();
        if self.s.cool_down_until.is_some_and(|until| self.now() < until) {
            self.s.folded_alerts += 1;
            let now = self.now();
            let headline = wording::words(&notice, self.m).headline;
            self.s.record(
                now,
                format!("alert {} folded (cool-down): {headline}", notice.kind().as_str()),
            );
            return;
        }
        self.tell(notice);
    }

    /// Alerts whose delivery was not confirmed are sent again, with a fresh link
    /// where they asked for a decision (links are never stored).
    fn retry_outbox(&mut self) {
        let now = self.now();
        let due: Vec<usize> = (0..self.s.outbox.len())
            .filter(|&i| now - self.s.outbox[i].created_at >= Duration::seconds(OUTBOX_RETRY_AFTER_SECS))
            .collect();
        for i in due {
            let mut alert = self.s.outbox[i].alert.clone();
            if alert.kind.wants_link() {
                let open = alert
                    .request
                    .as_deref()
                    .and_then(|r| self.s.request(r))
                    .is_some_and(|r| r.status == RequestStatus::Open);
                if !open {
                    // The decision it asked for is gone; sending it now would mislead.
                    self.s.outbox[i].attempts = u32::MAX;
                    continue;
                }
                alert.link = alert.request.clone().and_then(|r| self.issue_link(&r));
            }
            self.s.outbox[i].attempts = self.s.outbox[i].attempts.saturating_add(1);
            self.s.outbox[i].created_at = now;
            self.effects.push(Effect::Alert(alert));
        }
        self.s.outbox.retain(|e| e.attempts != u32::MAX);
    }

    // ---- the rules ------------------------------------------------------------

    fn settle(&mut self) {
        self.refresh_claims();
        match self.s.phase {
            Phase::Normal | Phase::Degraded | Phase::FailedOver | Phase::PrimaryLost | Phase::DrActive => {
                self.settle_primary()
            }
            Phase::PromotionPending => self.settle_pending(),
            Phase::Promoting => self.settle_promoting(),
        }
        self.check_split_brain();
        self.watch_dr_members();
        self.settle_fencing();
        self.settle_drill();
        self.settle_switchover();
        self.settle_failback();
    }

    /// Keeps, for each member, since when it has answered as primary without a
    /// break, and the last time the current primary was seen serving.
    fn refresh_claims(&mut self) {
        let view = View::new(&self.s, self.m, self.now());
        let claims: Vec<(String, Option<DateTime<Utc>>)> = self
            .m
            .members
            .iter()
            .map(|m| (m.name.clone(), view.claim(&m.name).map(|c| c.at)))
            .collect();
        for (name, claim) in claims {
            if let Some(ms) = self.s.members.get_mut(&name) {
                match claim {
                    Some(at) if ms.claiming_since.is_none() => ms.claiming_since = Some(at),
                    Some(_) => {}
                    None => ms.claiming_since = None,
                }
            }
            if let (Some(at), true) = (claim, self.s.primary.as_deref() == Some(name.as_str())) {
                if self.s.primary_seen_at.is_none_or(|seen| at > seen) {
                    self.s.primary_seen_at = Some(at);
                }
            }
        }
    }

    fn new_epoch(&mut self, primary: &str, at: DateTime<Utc>) {
        self.s.epoch += 1;
        self.s.epoch_started_at = Some(at);
        self.s.primary = Some(primary.to_string());
        self.s.primary_seen_at = Some(at);
        let now = self.now();
        self.s
            .record(now, format!("epoch {}: {primary} is primary", self.s.epoch));
    }

    /// A member other than the current primary that took over. While the current
    /// primary still answers, only as IRIS fails over: its failover partner, seen as
    /// not primary during this epoch, answering since after the primary's last word
    /// (the evidence of a failed primary lags). Any other member answering as primary
    /// beside it is a second primary, which `check_split_brain` judges.
    fn new_primary(&self) -> Option<(String, DateTime<Utc>)> {
        let view = View::new(&self.s, self.m, self.now());
        let current = self.s.primary.as_deref();
        let current_claim = view.claims().into_iter().find(|c| Some(c.member) == current);
        let epoch_start = self.s.epoch_started_at;
        let partner_took_over = |p: &Claim<'_>, c: &Claim<'_>| {
            self.m.is_failover(p.member)
                && self.m.is_failover(c.member)
                && p.at < c.since
                && self
                    .s
                    .members
                    .get(c.member)
                    .and_then(|ms| ms.not_primary_at)
                    .is_some_and(|seen| epoch_start.is_none_or(|start| seen >= start))
        };
        view.claims()
            .into_iter()
            .filter(|c| Some(c.member) != current)
            .filter(|c| {
                self.m
                    .member(c.member)
                    .is_some_and(|m| matches!(m.kind, MemberKind::Failover | MemberKind::DrAsync))
            })
            .find(|c| current_claim.is_none_or(|p| partner_took_over(&p, c)))
            .map(|c| (c.member.to_string(), c.since))
    }

    fn settle_primary(&mut self) {
        if let Some((member, since)) = self.new_primary() {
            self.take_over(&member, since);
        }
        let view = View::new(&self.s, self.m, self.now());
        let serving = self
            .s
            .primary
            .as_deref()
            .and_then(|p| self.m.member(p))
            .and_then(|p| view.claim(&p.name))
            .map(|c| c.member.to_string());
        match serving {
            Some(primary) => self.primary_serves(&primary),
            None => self.settle_no_primary(),
        }
    }

    /// Records that `member` became primary, and says so when it matters.
    fn take_over(&mut self, member: &str, since: DateTime<Utc>) {
        let old = self.s.primary.clone();
        let old_kind = old.as_deref().and_then(|p| self.m.member(p)).map(|m| m.kind);
        let new_kind = self.m.member(member).map(|m| m.kind);
        self.new_epoch(member, since);
        self.s.lost_since = None;
        self.s.no_candidate_alerted = false;
        let old = old.unwrap_or_else(|| "unknown".into());
        // The DR member of an approved switchover: planned, never "outside mirrorgate".
        if self.switchover_took_over(member, &old) {
            return;
        }
        match (old_kind, new_kind) {
            // First sight of the primary: nothing moved, nothing to tell.
            (None, Some(MemberKind::Failover)) => {}
            (Some(MemberKind::Failover), Some(MemberKind::Failover)) => {
                // IRIS failed over inside the region (its arbiter guarantees one primary).
                self.go(Phase::FailedOver, &format!("{member} became primary in place of {old}"));
                self.tell(MirrorNotice::FailedOver {
                    old,
                    new: member.to_string(),
                    since,
                    epoch: self.s.epoch,
                });
            }
            (Some(_), Some(MemberKind::Failover)) => {
                self.failback_took_over(member);
                self.lift_fencing(member);
                self.go(Phase::Normal, &format!("failed back to {member}"));
                self.tell(MirrorNotice::FailedBack {
                    old,
                    new: member.to_string(),
                    epoch: self.s.epoch,
                });
            }
            _ => {
                self.go(Phase::DrActive, &format!("{member} became primary outside mirrorgate"));
                self.tell(MirrorNotice::DrPrimary {
                    member: member.to_string(),
                    previous: old,
                    epoch: self.s.epoch,
                });
            }
        }
    }

    /// The primary answers: a loss being confirmed ends, and high availability is judged.
    fn primary_serves(&mut self, primary: &str) {
        let now = self.now();
        let failover = self.m.is_failover(primary);
        if self.s.phase == Phase::PrimaryLost {
            self.s.lost_since = None;
            self.s.no_candidate_alerted = false;
            let to = if failover { Phase::Normal } else { Phase::DrActive };
            self.go(to, &format!("{primary} answers as primary again"));
            self.flap_alert(MirrorNotice::PrimaryBack {
                primary: primary.to_string(),
            });
            self.s.cool_down_until = Some(now + secs(self.m.policy.cool_down_secs));
        }
        if failover {
            self.settle_high_availability(primary);
        }
    }

    fn settle_high_availability(&mut self, primary: &str) {
        if self.m.failover_members().count() < 2 {
            if self.s.phase != Phase::Normal && self.s.phase != Phase::FailedOver {
                self.go(Phase::Normal, "primary serves");
            }
            return;
        }
        let view = View::new(&self.s, self.m, self.now());
        let partner_down = view.partner_down(primary).map(str::to_string);
        let rejoined = view.partners_rejoined(primary);
        match (self.s.phase, partner_down) {
            // After a failover, high availability is back only once the former primary is seen back.
            (Phase::FailedOver, None) if !rejoined => {}
            (Phase::Normal, Some(partner)) => {
                self.go(Phase::Degraded, &format!("backup {partner} is down"));
                self.tell(MirrorNotice::Degraded {
                    primary: primary.to_string(),
                    down: partner,
                });
            }
            (Phase::Degraded, None) if !rejoined => {}
            (Phase::Degraded | Phase::FailedOver, None) => {
                self.go(Phase::Normal, "primary and backup are healthy");
                self.tell(MirrorNotice::HaRestored {
                    primary: primary.to_string(),
                });
            }
            _ => {}
        }
    }

    /// Whether every observer that agreed lives outside the primary region, and so
    /// does the control plane: from here a network partition between the regions
    /// looks the same as the region's loss (people are told so).
    fn all_on_dr_side(&self, observers: &[Observer]) -> bool {
        let lost = self.s.primary.as_deref().and_then(|p| self.m.member(p));
        let lost_far = lost.is_none_or(|p| p.region != self.m.dr_region);
        lost_far && observers.iter().all(|o| !o.in_primary_region())
    }

    fn settle_no_primary(&mut self) {
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        let witnessed = view.witness().is_some();
        let agreeing = view.observers_agreeing_primary_lost();
        let agreed = !witnessed && agreeing.len() >= self.m.policy.min_observers;
        if self.s.phase != Phase::PrimaryLost {
            if !agreed {
                return;
            }
            self.s.lost_since = Some(now);
            // A promoted DR member has no failover partner that IRIS could fail over to.
            let dr_primary = self
                .s
                .primary
                .as_deref()
                .is_some_and(|p| self.m.member(p).is_some_and(|m| m.kind == MemberKind::DrAsync));
            let names: Vec<&str> = agreeing.iter().map(|o| o.as_str()).collect();
            self.go(
                Phase::PrimaryLost,
                &format!("no member answers as primary ({} agree)", names.join(", ")),
            );
            // During a maintenance window no request is raised before its end.
            let confirm_at = match self.s.active_maintenance(now) {
                Some(window) => (now + secs(self.m.policy.confirmation_window_secs)).max(window.until),
                None => now + secs(self.m.policy.confirmation_window_secs),
            };
            self.flap_alert(MirrorNotice::PrimaryLost {
                lost: self.s.primary.clone(),
                at: now,
                dr_side_only: self.all_on_dr_side(&agreeing),
                observers: agreeing,
                dr_primary,
                confirm_at,
            });
            return;
        }
        // In primary_lost: the loss must be agreed continuously for the window.
        match (agreed, self.s.lost_since) {
            (false, _) => self.s.lost_since = None,
            (true, None) => self.s.lost_since = Some(now),
            (true, Some(since)) => {
                let confirmed = now - since >= secs(self.m.policy.confirmation_window_secs);
                // One promotion per epoch: after one ran (even if it failed), people
                // take over; mirrorgate does not propose another in the same epoch.
                let executed =
                    self.s.requests.iter().any(|r| {
                        r.kind == RequestKind::Promotion && r.epoch == self.s.epoch && r.status.was_executed()
                    });
                // An approved switchover is under way: the primary stepping down is planned.
                let switching = self
                    .s
                    .active_switchover()
                    .is_some_and(|r| r.status == RequestStatus::Approved);
                let allowed =
                    !executed && !switching && self.s.requests_blocked_until().is_none_or(|until| now >= until);
                // During a maintenance window no request is raised; the evidence keeps
                // counting, so one follows at the window's end if the loss lasts.
                if confirmed && allowed && self.s.open_request().is_none() && !self.in_maintenance() {
                    self.raise_request(since, agreeing);
                }
            }
        }
    }

    fn raise_request(&mut self, lost_since: DateTime<Utc>, observers: Vec<Observer>) {
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        let Some((candidate, loss)) = view.candidates().into_iter().next().map(|(c, l)| (c.to_string(), l)) else {
            if !self.s.no_candidate_alerted {
                self.s.no_candidate_alerted = true;
                self.tell(MirrorNotice::NoCandidate { lost_since });
            }
            return;
        };
        self.s.no_candidate_alerted = false;
        let latency = self.s.members.get(&candidate).and_then(|m| m.journal_latency);
        let dr_side_only = self.all_on_dr_side(&observers);
        let request = PromotionRequest {
            lost_primary: self.s.primary.clone(),
            observers: observers.clone(),
            candidate_latency: latency,
            loss: Some(loss),
            lost_since,
            dr_side_only,
            ..self.new_request(RequestKind::Promotion, &candidate)
        };
        let id = self.file_request(request);
        self.go(
            Phase::PromotionPending,
            &format!("loss confirmed; {id} asks to promote {candidate}"),
        );
        self.effects.push(Effect::PromotionRequested {
            request: id.clone(),
            candidate: candidate.clone(),
        });
        if let Some(notice) = self.s.request(&id).map(|r| self.promotion_requested(r)) {
            self.tell(notice);
        }
    }

    /// What a promotion request tells: the loss, the candidate and the others that
    /// could be promoted, as they stand now.
    fn promotion_requested(&self, r: &PromotionRequest) -> Notice {
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        let others = view
            .candidates()
            .into_iter()
            .filter(|(c, _)| *c != r.candidate)
            .map(|(c, l)| (c.to_string(), l))
            .collect();
        Notice::Promotion(PromotionNotice::Requested(PromotionAsk {
            request: r.id.clone(),
            lost: r.lost_primary.clone(),
            lost_since: r.lost_since,
            at: now,
            observers: r.observers.clone(),
            dr_side_only: r.dr_side_only && self.all_on_dr_side(&r.observers),
            candidate: r.candidate.clone(),
            loss: r.loss_estimate(),
            others,
            expires_at: r.expires_at,
        }))
    }

    /// The open promotion request while nothing decided it: withdrawn when a primary
    /// answers or is proven, expired at its time, else reminded.
    fn settle_pending(&mut self) {
        let now = self.now();
        let Some(open) = self.s.open_request().cloned() else {
            // No open request left (decided elsewhere in this signal).
            return;
        };
        let view = View::new(&self.s, self.m, now);
        if let Some(claim) = view.claims().into_iter().next() {
            let (member, since) = (claim.member.to_string(), claim.since);
            let lost = self.s.primary.clone();
            if self.m.is_failover(&member) || lost.as_deref() == Some(member.as_str()) {
                return self.withdraw_for_primary_back(&open, &member, since, lost.as_deref());
            }
            return self.withdraw_for_dr_primary(&open, &member, since, lost);
        }
        if let Some(witness) = view.witness() {
            let (evidence, who) = (witness.words(), witness.member.to_string());
            return self.withdraw_for_witness(&open, &evidence, &who);
        }
        // The loss stays confirmed only while the observers keep agreeing: if they
        // stop, a later request (after a refusal) waits for a whole new window.
        let agreed = view.observers_agreeing_primary_lost().len() >= self.m.policy.min_observers;
        match (agreed, self.s.lost_since) {
            (false, _) => self.s.lost_since = None,
            (true, None) => self.s.lost_since = Some(now),
            (true, Some(_)) => {}
        }
        if now >= open.expires_at {
            return self.expire_request(&open);
        }
        self.remind(&open, Self::promotion_requested);
    }

    /// The lost primary (or its failover partner) answers again: the request is withdrawn.
    fn withdraw_for_primary_back(
        &mut self,
        open: &PromotionRequest,
        member: &str,
        since: DateTime<Utc>,
        lost: Option<&str>,
    ) {
        let now = self.now();
        let failover = self.m.is_failover(member);
        self.close_request(
            &open.id,
            RequestStatus::Superseded,
            &format!("{member} answers as primary again"),
        );
        if lost != Some(member) {
            self.new_epoch(member, since);
        }
        self.s.lost_since = None;
        let to = if failover { Phase::Normal } else { Phase::DrActive };
        self.go(to, &format!("{member} is primary again; {} withdrawn", open.id));
        self.tell(PromotionNotice::WithdrawnPrimaryBack {
            request: open.id.clone(),
            primary: member.to_string(),
        });
        self.s.cool_down_until = Some(now + secs(self.m.policy.cool_down_secs));
        if failover {
            self.settle_high_availability(member);
        }
    }

    /// A DR member was promoted by hand while the request waited: the request is moot,
    /// and approving it would make a second primary.
    fn withdraw_for_dr_primary(
        &mut self,
        open: &PromotionRequest,
        member: &str,
        since: DateTime<Utc>,
        lost: Option<String>,
    ) {
        let previous = lost.unwrap_or_else(|| "unknown".into());
        self.close_request(
            &open.id,
            RequestStatus::Superseded,
            &format!("{member} became primary outside mirrorgate"),
        );
        self.new_epoch(member, since);
        self.s.lost_since = None;
        self.go(
            Phase::DrActive,
            &format!("{member} became primary outside mirrorgate; {} withdrawn", open.id),
        );
        self.tell(MirrorNotice::DrPrimaryWithdrawing {
            member: member.to_string(),
            previous,
            request: open.id.clone(),
        });
    }

    /// A member reports it is connected to a primary: one exists, and promoting now
    /// would make a second.
    fn withdraw_for_witness(&mut self, open: &PromotionRequest, evidence: &str, who: &str) {
        let now = self.now();
        self.close_request(
            &open.id,
            RequestStatus::Superseded,
            &format!("{evidence}: a primary exists"),
        );
        self.s.lost_since = None;
        self.go(Phase::PrimaryLost, &format!("{} withdrawn: {evidence}", open.id));
        self.tell(PromotionNotice::WithdrawnWitness {
            request: open.id.clone(),
            who: who.to_string(),
            evidence: evidence.to_string(),
        });
        self.s.cool_down_until = Some(now + secs(self.m.policy.cool_down_secs));
    }

    fn expire_request(&mut self, open: &PromotionRequest) {
        let now = self.now();
        self.close_expired(&open.id);
        let again = now + secs(self.m.policy.cool_down_secs);
        self.s.next_request_after = Some(again);
        self.go(Phase::PrimaryLost, &format!("{} expired without a decision", open.id));
        self.tell(PromotionNotice::Expired {
            request: open.id.clone(),
            candidate: open.candidate.clone(),
            again,
        });
    }

    /// Reminds the approvers every `reminder_interval_secs` while the request is open:
    /// the request's own notice (`notice`), told again.
    pub(super) fn remind(&mut self, open: &PromotionRequest, notice: impl Fn(&Self, &PromotionRequest) -> Notice) {
        let now = self.now();
        let last = open.last_reminder_at.unwrap_or(open.created_at);
        if now - last < secs(self.m.policy.reminder_interval_secs) {
            return;
        }
        if let Some(r) = self.s.request_mut(&open.id) {
            r.last_reminder_at = Some(now);
        }
        let told = notice(self, self.s.request(&open.id).unwrap_or(open));
        self.tell(Notice::Reminder(Box::new(told)));
    }

    /// An open request whose link expired closes as expired: nobody decided in time.
    pub(super) fn close_expired(&mut self, id: &str) {
        self.close_request(id, RequestStatus::Expired, "nobody decided before the link expired");
    }

    /// An approved request whose member has not reported primary within
    /// `promotion_timeout_secs` of the last decision on it (of its filing, when none).
    pub(super) fn promotion_overdue(&self, request: &PromotionRequest) -> bool {
        let approved_at = request.decisions.last().map_or(request.created_at, |d| d.at);
        self.now() - approved_at >= secs(self.m.policy.promotion_timeout_secs)
    }

    fn close_request(&mut self, id: &str, status: RequestStatus, outcome: &str) {
        let now = self.now();
        if let Some(r) = self.s.request_mut(id) {
            r.status = status;
            r.closed_at = Some(now);
            r.outcome = Some(outcome.to_string());
        }
        self.s
            .record(now, format!("request {id} {}: {outcome}", status.as_str()));
    }

    fn settle_promoting(&mut self) {
        let now = self.now();
        let Some(req) = self
            .s
            .requests
            .iter()
            .rev()
            .find(|r| r.status == RequestStatus::Approved && r.kind == RequestKind::Promotion)
            .cloned()
        else {
            return;
        };
        let view = View::new(&self.s, self.m, now);
        let approved_at = req.decisions.last().map(|d| d.at).unwrap_or(req.created_at);
        let old_primary_back = view
            .claims()
            .into_iter()
            .find(|c| c.member != req.candidate && c.at >= approved_at)
            .map(|c| c.member.to_string());
        if let Some(member) = old_primary_back {
            if self.s.split_brain_alerted_epoch != Some(self.s.epoch) {
                self.s.split_brain_alerted_epoch = Some(self.s.epoch);
                self.tell(PromotionNotice::SplitBrain {
                    request: req.id.clone(),
                    member,
                    candidate: req.candidate.clone(),
                });
            }
        }
        let view = View::new(&self.s, self.m, now);
        let candidate = self.m.member(&req.candidate).map_or("", |m| m.name.as_str());
        if let Some(claim) = view.claim(candidate).filter(|c| c.at >= approved_at) {
            let since = claim.since.max(approved_at);
            self.close_request(
                &req.id,
                RequestStatus::Succeeded,
                &format!("{} reported primary", req.candidate),
            );
            self.new_epoch(&req.candidate, since);
            self.go(Phase::DrActive, &format!("{} is primary", req.candidate));
            self.tell(PromotionNotice::Succeeded {
                request: req.id.clone(),
                candidate: req.candidate.clone(),
                approvers: req.approvers().into_iter().map(str::to_string).collect(),
                epoch: self.s.epoch,
            });
            return;
        }
        if self.promotion_overdue(&req) {
            self.close_request(
                &req.id,
                RequestStatus::TimedOut,
                "the candidate did not report primary in time",
            );
            self.s.next_request_after = Some(now + secs(self.m.policy.cool_down_secs));
            self.go(
                Phase::PrimaryLost,
                &format!("{} not confirmed primary in time", req.candidate),
            );
            self.tell(PromotionNotice::TimedOut {
                request: req.id.clone(),
                candidate: req.candidate.clone(),
                approved_at,
            });
        }
    }

    /// Two members both answering as primary for longer than the grace (evidence lags
    /// a failover by a minute or two; longer than that, both take writes).
    fn check_split_brain(&mut self) {
        if self.s.split_brain_alerted_epoch == Some(self.s.epoch) {
            return;
        }
        let view = View::new(&self.s, self.m, self.now());
        let claims = view.claims();
        let grace = secs(self.m.policy.split_brain_grace_secs);
        let both = claims
            .iter()
            .enumerate()
            .flat_map(|(i, a)| claims[i + 1..].iter().map(move |b| (a, b)))
            .find(|(a, b)| a.at.min(b.at) - a.since.max(b.since) >= grace);
        let Some((a, b)) = both else { return };
        let primary = self.s.primary.clone();
        let stale: Vec<String> = [a.member, b.member]
            .into_iter()
            .filter(|n| Some(*n) != primary.as_deref())
            .map(str::to_string)
            .collect();
        let claims = vec![self.primary_claim(&view, a), self.primary_claim(&view, b)];
        self.s.split_brain_alerted_epoch = Some(self.s.epoch);
        self.tell(MirrorNotice::SplitBrain {
            epoch: self.s.epoch,
            primary,
            claims,
            stale,
        });
    }

    /// A member answering as primary, with what still sends traffic to it.
    fn primary_claim(&self, view: &View<'_>, claim: &Claim<'_>) -> PrimaryClaim {
        let member = claim.member;
        let healthy = |observer| {
            view.observation(member, observer)
                .filter(|o| o.healthy)
                .map(|o| o.last())
        };
        PrimaryClaim {
            member: member.to_string(),
            since: claim.since,
            route53_healthy_at: healthy(Observer::Route53),
            probe_healthy_at: healthy(Observer::Probe),
            iris: self
                .s
                .members
                .get(member)
                .and_then(|m| m.status)
                .filter(|(status, _)| status.is_primary()),
        }
    }

    // ---- decisions ------------------------------------------------------------

    /// A person's decision on a request: which request and whether the link is good
    /// for it; then a rejection, recorded and told as the kind tells it, or an
    /// approval under the kind's own rules; for a promotion, rules checked again now,
    /// in this order.
    fn decision(&mut self, d: &Decision) -> DecisionVerdict {
        let request = match self.decided_request(d) {
            Ok(request) => request,
            Err((request, refusal)) => return refused(request.as_deref(), refusal),
        };
        let record = decision_record(d, self.now());
        if d.action == DecisionAction::Reject {
            let by = record.by.clone();
            self.record_rejection(&request.id, record, &d.authority);
            match request.kind {
                RequestKind::Promotion => self.promotion_rejected(&request, by),
                RequestKind::Fencing => self.fencing_rejected(&request, by),
                RequestKind::Drill => self.close_drill_alert(&request, DrillEnd::Rejected { by }),
                RequestKind::Switchover => self.switchover_closed(&request, PlannedEnd::Rejected { by }),
                RequestKind::Failback => self.failback_closed(&request, PlannedEnd::Rejected { by }),
            }
            return DecisionVerdict::Rejected { request: request.id };
        }
        match request.kind {
            RequestKind::Fencing => return self.fencing_approval(&request, record, &d.authority),
            RequestKind::Drill => return self.drill_approval(&request, record, &d.authority),
            RequestKind::Switchover => return self.switchover_approval(&request, record, &d.authority),
            RequestKind::Failback => return self.failback_approval(&request, record, &d.authority),
            RequestKind::Promotion => {}
        }
        if let Some(refusal) = self.primary_refusal(&request) {
            return refused(Some(&request.id), refusal);
        }
        if !View::new(&self.s, self.m, self.now()).is_promotable(&request.candidate) {
            return self.refuse_unhealthy_candidate(&request, record, &d.authority);
        }
        if let Some(refusal) = self.approver_refusal(&request, d) {
            return refused(Some(&request.id), refusal);
        }
        self.record_decision(&request.id, record, &d.authority);
        if self.awaits_more_approvals(&request) {
            return self.record_first_approvals(&request, d.by.trim(), Self::promotion_requested);
        }
        self.approve_promotion(&request, d)
    }

    /// The open request a decision is for, and that its link (if it came by a link) is
    /// good for it; or the refusal, with the request it names when it names one.
    fn decided_request(&self, d: &Decision) -> Result<PromotionRequest, (Option<String>, Refusal)> {
        let now = self.now();
        let request = match &d.authority {
            Authority::Link { token_hash } => {
                let Some(r) = self.s.request_by_token(token_hash) else {
                    return Err((None, Refusal::UnknownLink));
                };
                if r.id != d.request {
                    return Err((None, Refusal::TamperedLink));
                }
                let token_used = r
                    .tokens
                    .iter()
                    .any(|t| crate::token::hashes_equal(&t.hash, token_hash) && t.used_at.is_some());
                if token_used {
                    return Err((Some(r.id.clone()), Refusal::LinkUsed));
                }
                if r.status == RequestStatus::Open && now >= r.expires_at {
                    return Err((Some(r.id.clone()), Refusal::LinkExpired));
                }
                r.clone()
            }
            Authority::Operator | Authority::AwsIdentity { .. } => match self.s.request(&d.request) {
                Some(r) => r.clone(),
                None => return Err((None, Refusal::NoOpenRequest)),
            },
        };
        if request.status != RequestStatus::Open {
            return Err((Some(request.id), Refusal::RequestClosed { status: request.status }));
        }
        // A request past its expiry is not decided, whoever decides (a link says so above).
        if now >= request.expires_at {
            return Err((
                Some(request.id),
                Refusal::RequestClosed {
                    status: RequestStatus::Expired,
                },
            ));
        }
        if d.by.trim().is_empty() {
            return Err((Some(request.id), Refusal::NoName));
        }
        Ok(request)
    }

    /// A promotion request rejected by `by`: no new request before the cool-down, the
    /// primary is lost again.
    fn promotion_rejected(&mut self, request: &PromotionRequest, by: String) {
        let now = self.now();
        self.s.next_request_after = Some(now + secs(self.m.policy.cool_down_secs));
        self.go(Phase::PrimaryLost, &format!("{by} rejected {}", request.id));
        self.tell(PromotionNotice::Rejected {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            by,
            again: now + secs(self.m.policy.cool_down_secs),
        });
    }

    /// An approval is refused, changing nothing, while a primary exists or another
    /// request of the same loss was carried out.
    fn primary_refusal(&self, request: &PromotionRequest) -> Option<Refusal> {
        let view = View::new(&self.s, self.m, self.now());
        // Any member serving as primary, a DR member promoted by hand included:
        // promoting now would make a second primary. settle() withdraws the request
        // in this same write.
        if let Some(claim) = view.claims().into_iter().next() {
            return Some(Refusal::PrimaryBack {
                member: claim.member.to_string(),
            });
        }
        if let Some(witness) = view.witness() {
            return Some(Refusal::PrimaryExists {
                evidence: witness.words(),
            });
        }
        self.s
            .requests
            .iter()
            .find(|r| {
                r.kind == RequestKind::Promotion
                    && r.epoch == request.epoch
                    && r.id != request.id
                    && r.status.was_executed()
            })
            .map(|winner| Refusal::AnotherRequestWon {
                request: winner.id.clone(),
            })
    }

    /// The candidate is no longer healthy: the approval closes the request as refused
    /// (mirrorgate then proposes another candidate if one is healthy).
    fn refuse_unhealthy_candidate(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let candidate = request.candidate.clone();
        let by = record.by.clone();
        self.record_decision(&request.id, record, authority);
        self.close_request(
            &request.id,
            RequestStatus::Refused,
            &format!("{candidate} was unhealthy at decision time"),
        );
        self.go(
            Phase::PrimaryLost,
            &format!("{} refused: {candidate} unhealthy", request.id),
        );
        self.tell(PromotionNotice::Refused {
            request: request.id.clone(),
            candidate: candidate.clone(),
            by,
        });
        refused(Some(&request.id), Refusal::CandidateUnhealthy { candidate })
    }

    /// An approval is refused, changing nothing, when the loss is over the policy and
    /// not accepted, or when the same person approved it before.
    fn approver_refusal(&self, request: &PromotionRequest, d: &Decision) -> Option<Refusal> {
        let loss = View::new(&self.s, self.m, self.now()).loss_estimate(&request.candidate);
        let max = self.m.policy.max_journal_latency_secs;
        if loss.over(max) && !d.accept_loss {
            return Some(Refusal::LatencyOverPolicy {
                seconds: loss.seconds,
                max_seconds: max,
            });
        }
        same_approver(request, d.by.trim())
    }

    /// An approval recorded while more are required: the others get a new link, with
    /// the request's own notice (`notice`).
    pub(super) fn record_first_approvals(
        &mut self,
        request: &PromotionRequest,
        by: &str,
        notice: impl Fn(&Self, &PromotionRequest) -> Notice,
    ) -> DecisionVerdict {
        let of = notice(self, self.s.request(&request.id).unwrap_or(request));
        self.tell(Notice::MoreApprovals {
            approvals: request.approvers().len() + 1,
            required: self.m.policy.approvers_required,
            approved_by: approved_by(request, by),
            of: Box::new(of),
        });
        self.approved(request, false)
    }

    /// Whether the approval being decided (already recorded or not, `request` is the
    /// request as it was before it) leaves the request short of the approvals the
    /// policy requires.
    pub(super) fn awaits_more_approvals(&self, request: &PromotionRequest) -> bool {
        request.approvers().len() + 1 < self.m.policy.approvers_required
    }

    /// What an approval of `request` (as it was before this approval) answers: its
    /// approvals with this one, of how many required, and whether its actions run now.
    pub(super) fn approved(&self, request: &PromotionRequest, executing: bool) -> DecisionVerdict {
        DecisionVerdict::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            executing,
            approvals: request.approvers().len() + 1,
            required: self.m.policy.approvers_required,
        }
    }

    /// The last approval required of a request that promotes a member (a promotion,
    /// a switchover, a failback): the request is approved by `by`, to be run without
    /// partner only if every approver accepted the loss, and the history says
    /// "`what` ID approved by BY".
    pub(super) fn mark_promotion_approved(&mut self, request: &PromotionRequest, by: &str, what: &str) {
        let now = self.now();
        if let Some(r) = self.s.request_mut(&request.id) {
            r.status = RequestStatus::Approved;
            r.outcome = Some(format!("approved by {by}"));
            r.accepted_without_partner = r
                .decisions
                .iter()
                .filter(|d| d.action == DecisionAction::Approve)
                .all(|d| d.accept_loss);
        }
        self.s.record(now, format!("{what} {} approved by {by}", request.id));
    }

    /// The promotion of an approved request's candidate, handed to the actions.
    pub(super) fn execute_promotion(&mut self, request: &PromotionRequest) {
        self.effects.push(Effect::ExecutePromotion {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            epoch: request.epoch,
        });
    }

    /// The last approval required: the request is approved and the promotion handed to
    /// the actions.
    fn approve_promotion(&mut self, request: &PromotionRequest, d: &Decision) -> DecisionVerdict {
        let by = d.by.trim();
        let loss = View::new(&self.s, self.m, self.now()).loss_estimate(&request.candidate);
        self.mark_promotion_approved(request, by, "request");
        self.go(Phase::Promoting, &format!("{} approved by {by}", request.id));
        self.execute_promotion(request);
        self.tell(PromotionNotice::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            approvers: approved_by(request, by),
            loss,
            accept_loss: d.accept_loss,
        });
        self.approved(request, true)
    }

    /// A decision taken: its link (if it came by one) is used up, and the request and
    /// the history keep who decided what.
    pub(super) fn record_decision(&mut self, request: &str, record: DecisionRecord, authority: &Authority) {
        self.use_token(request, authority);
        self.push_decision(request, record);
    }

    /// A rejection: recorded, and the request closed as rejected by its decider.
    pub(super) fn record_rejection(&mut self, request: &str, record: DecisionRecord, authority: &Authority) {
        let outcome = format!("rejected by {}", record.by);
        self.record_decision(request, record, authority);
        self.close_request(request, RequestStatus::Rejected, &outcome);
    }

    fn use_token(&mut self, request: &str, authority: &Authority) {
        let now = self.now();
        if let (Authority::Link { token_hash }, Some(r)) = (authority, self.s.request_mut(request)) {
            for t in r
                .tokens
                .iter_mut()
                .filter(|t| crate::token::hashes_equal(&t.hash, token_hash))
            {
                t.used_at = Some(now);
            }
        }
    }

    fn push_decision(&mut self, request: &str, record: DecisionRecord) {
        let now = self.now();
        let line = format!(
            "{} {} {request} (from {}, {})",
            record.by,
            match record.action {
                DecisionAction::Approve => "approved",
                DecisionAction::Reject => "rejected",
            },
            record.source_ip.as_deref().unwrap_or("-"),
            record.via
        );
        if let Some(r) = self.s.request_mut(request) {
            r.decisions.push(record);
        }
        self.s.record(now, line);
    }

    fn promotion_started(&mut self, request: &str) -> Verdict {
        let now = self.now();
        let stale = Duration::seconds(EXECUTION_STALE_SECS);
        match self.s.request_mut(request) {
            Some(r) if r.status == RequestStatus::Approved && r.started_at.is_none() => {
                r.started_at = Some(now);
                r.claims = 1;
                let what = r.kind.as_str();
                self.s.record(now, format!("{what} of {request} started"));
                Verdict::Applied
            }
            // The executor that claimed it stopped before recording how the actions went:
            // the next one resumes it (and checks first what was already done).
            Some(r)
                if r.status == RequestStatus::Approved
                    && r.actions_done_at.is_none()
                    && r.started_at.is_some_and(|at| now - at >= stale) =>
            {
                r.started_at = Some(now);
                r.claims = r.claims.max(1) + 1;
                let what = r.kind.as_str();
                self.s.record(
                    now,
                    format!("{what} of {request} resumed: the executor that started it stopped before it finished"),
                );
                Verdict::Applied
            }
            Some(r) => Verdict::Ignored {
                why: format!(
                    "{request} is {} and {}: not started again",
                    r.status.as_str(),
                    if r.started_at.is_some() {
                        "already started"
                    } else {
                        "not approved"
                    }
                ),
            },
            None => Verdict::Ignored {
                why: format!("no request {request}"),
            },
        }
    }

    /// An approved promotion whose execution nobody claimed (the process that
    /// approved it stopped before handing it over), or whose executor stopped before
    /// it recorded how the actions went, is handed over again.
    fn retry_unstarted_promotion(&mut self) {
        let now = self.now();
        let stale = Duration::seconds(EXECUTION_STALE_SECS);
        let stuck = self.s.requests.iter().find(|r| {
            let unclaimed = r.started_at.is_none()
                && r.decisions
                    .last()
                    .is_some_and(|d| now - d.at >= Duration::seconds(OUTBOX_RETRY_AFTER_SECS));
            let abandoned = r.actions_done_at.is_none() && r.started_at.is_some_and(|at| now - at >= stale);
            r.status == RequestStatus::Approved && (unclaimed || abandoned)
        });
        if let Some(r) = stuck {
            let effect = match r.kind {
                RequestKind::Promotion | RequestKind::Switchover | RequestKind::Failback => Effect::ExecutePromotion {
                    request: r.id.clone(),
                    candidate: r.candidate.clone(),
                    epoch: r.epoch,
                },
                RequestKind::Fencing => Effect::ExecuteFencing {
                    request: r.id.clone(),
                    members: r.fence_members.clone(),
                    primary: r.candidate.clone(),
                    epoch: r.epoch,
                },
                RequestKind::Drill => Effect::ExecuteDrill {
                    request: r.id.clone(),
                    candidate: r.candidate.clone(),
                    epoch: r.epoch,
                },
            };
            self.effects.push(effect);
        }
    }

    fn promotion_outcome(&mut self, request: &str, ok: bool, detail: &str, fenced: &[String]) -> Verdict {
        let now = self.now();
        let Some(req) = self.s.request(request).cloned() else {
            return Verdict::Ignored {
                why: format!("no request {request}"),
            };
        };
        match req.kind {
            RequestKind::Fencing => return self.fencing_outcome(&req, ok, detail, fenced),
            RequestKind::Drill => return self.drill_outcome(&req, ok, detail),
            RequestKind::Switchover => return self.switchover_outcome(&req, ok, detail),
            RequestKind::Failback => return self.failback_outcome(&req, ok, detail, fenced),
            RequestKind::Promotion => {}
        }
        if ok {
            if let Some(r) = self.s.request_mut(request) {
                r.actions_done_at.get_or_insert(now);
            }
            self.s
                .record(now, format!("promotion actions for {request} done: {detail}"));
            return Verdict::Applied;
        }
        if req.status != RequestStatus::Approved {
            self.s.record(
                now,
                format!("promotion action for {request} failed after it closed: {detail}"),
            );
            return Verdict::Applied;
        }
        self.close_request(request, RequestStatus::Failed, detail);
        self.s.next_request_after = Some(now + secs(self.m.policy.cool_down_secs));
        self.go(Phase::PrimaryLost, &format!("promotion of {} failed", req.candidate));
        self.tell(PromotionNotice::Failed {
            request: request.to_string(),
            candidate: req.candidate.clone(),
            detail: detail.to_string(),
        });
        Verdict::Applied
    }
}

pub use super::wording::OUTPUT_LINES;

impl Decider<'_, '_> {
    /// A Run Command of one of mirrorgate's documents changed status. It is recorded
    /// on the member whatever it is; a promote command is matched to its request (by
    /// the request and epoch its comment names, else by the command id stored, else as
    /// the command sent to the candidate of the approved request after its claim).
    /// A failure of the current promotion's command is alerted at once; a success is
    /// recorded and the success alert still waits for the member to report primary.
    /// A command of no current promotion (an older epoch, unknown) changes nothing.
    fn command_status(&mut self, report: &CommandReport, at: DateTime<Utc>) -> Verdict {
        if !self.known(&report.member) {
            return Verdict::Ignored {
                why: format!("{} is not a member of {}", report.member, self.m.name),
            };
        }
        let record = CommandRecord {
            command_id: report.command_id.clone(),
            document: report.document.clone(),
            status: report.status,
            at,
            comment: report.comment.clone(),
        };
        let is_promote = self.m.promotion.ssm_document.as_deref() == Some(report.document.as_str());
        if !is_promote {
            return self.record_command(report, record, at);
        }
        let Some(request) = self.promotion_of(report) else {
            return Verdict::Ignored {
                why: format!(
                    "promote command {} on {} ({}) belongs to no current promotion{}: nothing changed",
                    report.command_id,
                    report.member,
                    report.status.as_str(),
                    report
                        .request_and_epoch()
                        .map(|(r, e)| format!(" (it names request {r}, epoch {e})"))
                        .unwrap_or_default()
                ),
            };
        };
        let Some(req) = self.s.request(&request).cloned() else {
            return Verdict::Ignored {
                why: format!("no request {request}"),
            };
        };
        if req
            .command
            .as_ref()
            .is_some_and(|c| c.command_id == record.command_id && c.at > at)
        {
            return Verdict::Ignored {
                why: format!("an older status of command {}", record.command_id),
            };
        }
        self.s.members.entry(report.member.clone()).or_default().last_command = Some(record.clone());
        if let Some(r) = self.s.request_mut(&request) {
            r.command = Some(record.clone());
        }
        let now = self.ctx.now;
        if report.status == RunStatus::Success {
            self.s.record(
                now,
                format!("request {request}: {} on {}", record.describe(), report.member),
            );
            return Verdict::Applied;
        }
        if !report.status.is_failure() {
            self.s.record(
                now,
                format!(
                    "request {request}: promote command {} {}",
                    report.command_id,
                    report.status.as_str()
                ),
            );
            return Verdict::Applied;
        }
        self.promote_command_failed(&req, report)
    }

    /// A Run Command status of another document than the promote one (the fencing or
    /// the drill document): kept on the member, newest first.
    fn record_command(&mut self, report: &CommandReport, record: CommandRecord, at: DateTime<Utc>) -> Verdict {
        let member = self.s.members.entry(report.member.clone()).or_default();
        if member
            .last_command
            .as_ref()
            .is_some_and(|c| c.command_id == record.command_id && c.at > at)
        {
            return Verdict::Ignored {
                why: format!("an older status of command {}", record.command_id),
            };
        }
        member.last_command = Some(record);
        self.s.record(
            self.ctx.now,
            format!(
                "command {} ({}) on {}: {}",
                report.command_id,
                report.document,
                report.member,
                report.status.as_str()
            ),
        );
        Verdict::Applied
    }

    /// The promote script of an approved request ended in failure: the request closes
    /// failed, said with the script's first lines.
    fn promote_command_failed(&mut self, req: &PromotionRequest, report: &CommandReport) -> Verdict {
        let now = self.ctx.now;
        let request = req.id.clone();
        // A planned move that failed changes no phase: the primary it started from is
        // still primary (a switchover's failover member, a failback's DR member).
        if matches!(req.kind, RequestKind::Switchover | RequestKind::Failback) {
            let detail = wording::script_failure(report, true);
            return match req.kind {
                RequestKind::Switchover => self.switchover_outcome(req, false, &detail),
                _ => self.failback_outcome(req, false, &detail, &[]),
            };
        }
        self.close_request(&request, RequestStatus::Failed, &wording::script_failure(report, false));
        self.s.next_request_after = Some(now + secs(self.m.policy.cool_down_secs));
        self.go(Phase::PrimaryLost, &format!("promotion of {} failed", req.candidate));
        self.tell(PromotionNotice::ScriptFailed {
            request,
            candidate: req.candidate.clone(),
            report: report.clone(),
        });
        Verdict::Applied
    }

    /// What SSM says of the DR members' agents. While the best DR candidate's is not
    /// Online, a promotion would not run: a warning, at most once per cool-down.
    fn ssm_agents(&mut self, agents: &[AgentReport], at: DateTime<Utc>) -> Verdict {
        let known: Vec<&AgentReport> = agents.iter().filter(|a| self.known(&a.member)).collect();
        for report in known {
            let member = self.s.members.entry(report.member.clone()).or_default();
            let same = member
                .ssm_agent
                .as_ref()
                .is_some_and(|w| w.online == report.online && w.detail == report.detail);
            if !same {
                member.ssm_agent = Some(AgentWord {
                    online: report.online,
                    detail: report.detail.clone(),
                    since: at,
                });
            }
        }
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        let Some(best) = view.best_candidate().map(str::to_string) else {
            return Verdict::Applied;
        };
        let Some(word) = self.s.members.get(&best).and_then(|m| m.ssm_agent.clone()) else {
            return Verdict::Applied;
        };
        let cooled = self
            .s
            .agent_warned_at
            .is_none_or(|w| now - w >= secs(self.m.policy.cool_down_secs));
        if word.online || !cooled {
            return Verdict::Applied;
        }
        self.s.agent_warned_at = Some(now);
        self.tell(PromotionNotice::SsmAgentOffline {
            member: best,
            detail: word.detail,
            since: word.since,
        });
        Verdict::Applied
    }

    /// The approved request of the current epoch that a promote command belongs to.
    fn promotion_of(&self, report: &CommandReport) -> Option<String> {
        let approved = |r: &&PromotionRequest| r.status == RequestStatus::Approved && r.epoch == self.s.epoch;
        if let Some((id, epoch)) = report.request_and_epoch() {
            return self
                .s
                .requests
                .iter()
                .filter(approved)
                .find(|r| r.id == id && r.epoch == epoch && r.candidate == report.member)
                .map(|r| r.id.clone());
        }
        if let Some(r) = self
            .s
            .requests
            .iter()
            .filter(approved)
            .find(|r| r.command.as_ref().is_some_and(|c| c.command_id == report.command_id))
        {
            return Some(r.id.clone());
        }
        // No comment could be read: the command sent to the candidate after the claim.
        self.s
            .requests
            .iter()
            .filter(approved)
            .find(|r| {
                r.candidate == report.member
                    && r.command.is_none()
                    && matches!((r.started_at, report.requested_at), (Some(claim), Some(sent)) if sent >= claim - Duration::seconds(5))
            })
            .map(|r| r.id.clone())
    }
}

impl MirrorState {
    /// No new request is raised before this time (after a rejection, expiry, failure).
    pub fn requests_blocked_until(&self) -> Option<DateTime<Utc>> {
        self.next_request_after
    }
}

/// Who approved a request, the approver of now last.
pub(super) fn approved_by(request: &PromotionRequest, by: &str) -> Vec<String> {
    request
        .approvers()
        .into_iter()
        .chain([by])
        .map(str::to_string)
        .collect()
}

/// An approval is refused, changing nothing, when `by` approved the request before
/// (names compared without regard to case): each approval is a different person's.
pub(super) fn same_approver(request: &PromotionRequest, by: &str) -> Option<Refusal> {
    request
        .approvers()
        .iter()
        .any(|a| a.eq_ignore_ascii_case(by))
        .then(|| Refusal::SameApprover { by: by.to_string() })
}

/// A decision refused, changing nothing: the refusal, and the request it names.
pub(super) fn refused(request: Option<&str>, refusal: Refusal) -> DecisionVerdict {
    DecisionVerdict::Refused {
        request: request.map(str::to_string),
        refusal,
    }
}

/// What the audit keeps of a decision.
fn decision_record(d: &Decision, now: DateTime<Utc>) -> DecisionRecord {
    DecisionRecord {
        action: d.action,
        by: d.by.trim().to_string(),
        at: now,
        accept_loss: d.accept_loss,
        via: match d.authority {
            Authority::Link { .. } => "link".into(),
            Authority::Operator => "operator".into(),
            Authority::AwsIdentity { .. } => "aws_identity".into(),
        },
        source_ip: d.source_ip.clone(),
        user_agent: d.user_agent.clone(),
        shown: d.shown.clone(),
    }
}
