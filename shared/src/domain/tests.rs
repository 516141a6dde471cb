//! The rules of the decision core (README, docs/DETECTION.md), one test each, driven through `decide` alone:
//! no I/O, no clock, no randomness. Each test reads GIVEN / WHEN / THEN.
//!
//! Times are seconds after 03:00:00 UTC. The mirror is HSPROD from
//! examples/topology.toml: failover members A and B, DR asyncs DR1 and DR2;
//! confirmation 180 s, two observers, links valid 1800 s, at most 60 s of
//! journal latency, reminders every 600 s, cool-down 900 s, one approver,
//! heartbeats stale after 180 s, promotion timeout 600 s.

use std::cell::RefCell;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::alert::{Alert, AlertKind, Severity, MAX_SMS, MAX_SUBJECT};
use super::decide::{decide, Context, Decided, DecisionVerdict, Effect, Refusal, Verdict};
use super::mirror::{Member, MemberKind, Mirror, Observer};
use super::notice::{
    DrillNotice, FencingNotice, MaintenanceNotice, MirrorNotice, Notice, PromotionNotice, SwitchoverNotice,
};
use super::signal::{
    AgentReport, Authority, CommandReport, Decision, DecisionAction, JournalLatency, MemberStatus, RunStatus, Signal,
    SignalKind,
};
use super::state::{MirrorState, Observation, Phase, RequestStatus};
use super::view::View;
use crate::token::{hash_token, CountingTokens};
use crate::topology::Topology;

mod drill;
mod maintenance;
mod switchover;

// ---- the mirror, the clock, the harness --------------------------------------

const A: &str = "HSPROD-A";
const B: &str = "HSPROD-B";
const DR1: &str = "HSPROD-DR1";
const DR2: &str = "HSPROD-DR2";
const R1: &str = "HSPROD-R1";
const R2: &str = "HSPROD-R2";
/// As long as a real Lambda function URL: links must still fit in an SMS.
const PUBLIC_URL: &str = "https://7ehzyqdqmjwsbdgkbuq7ya3hkm0fblft.lambda-url.us-west-2.on.aws";

fn hsprod() -> Mirror {
    crate::topology::example()
        .mirror("HSPROD")
        .cloned()
        .expect("HSPROD is defined")
}

/// HSPROD edited, and validated like a loaded file.
fn hsprod_with(edit: impl FnOnce(&mut Mirror)) -> Mirror {
    let mut m = hsprod();
    edit(&mut m);
    Topology::new("edited.toml", vec![m.clone()]).expect("the edited topology is valid");
    m
}

/// Seconds after 03:00:00 UTC on the night of the outage.
fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::seconds(secs)
}

thread_local! {
    /// Each test runs on its own thread, so its links are numbered from one and never repeat.
    static TOKENS: RefCell<CountingTokens> = RefCell::new(CountingTokens::default());
}

/// One signal, decided at `now`.
fn decide_at(m: &Mirror, state: &MirrorState, signal: &Signal, now: DateTime<Utc>) -> Decided {
    TOKENS.with(|tokens| {
        let tokens = &mut *tokens.borrow_mut();
        decide(
            state,
            m,
            signal,
            &mut Context {
                now,
                public_url: PUBLIC_URL,
                tokens,
            },
        )
    })
}

/// One signal, decided when it happened.
fn step(m: &Mirror, state: &MirrorState, signal: Signal) -> Decided {
    decide_at(m, state, &signal, signal.at)
}

/// Signals in order, as the engine feeds them: the clock never runs backwards
/// (a signal stamped before the previous one arrives late), and every alert is
/// delivered, so it leaves the outbox.
fn run(m: &Mirror, state: MirrorState, signals: impl IntoIterator<Item = Signal>) -> (MirrorState, Vec<Effect>) {
    fold(m, state, signals, true)
}

/// The same while SNS cannot be reached: every alert stays in the outbox.
fn run_undelivered(
    m: &Mirror,
    state: MirrorState,
    signals: impl IntoIterator<Item = Signal>,
) -> (MirrorState, Vec<Effect>) {
    fold(m, state, signals, false)
}

fn fold(
    m: &Mirror,
    mut state: MirrorState,
    signals: impl IntoIterator<Item = Signal>,
    delivered: bool,
) -> (MirrorState, Vec<Effect>) {
    let mut effects = Vec::new();
    let mut clock: Option<DateTime<Utc>> = None;
    for signal in signals {
        let now = clock.map_or(signal.at, |c| c.max(signal.at));
        clock = Some(now);
        let decided = decide_at(m, &state, &signal, now);
        state = decided.state;
        if delivered {
            let sent: Vec<&str> = alerts(&decided.effects).iter().map(|a| a.id.as_str()).collect();
            state.outbox.retain(|e| !sent.contains(&e.alert.id.as_str()));
        }
        effects.extend(decided.effects);
    }
    (state, effects)
}

// ---- signals ------------------------------------------------------------------

fn signal(at: i64, kind: SignalKind) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: t(at),
        kind,
    }
}

fn observed(member: &str, observer: Observer, healthy: bool, source: &str, at: i64) -> Signal {
    let (member, source) = (member.into(), source.into());
    signal(
        at,
        SignalKind::Observation {
            unreachable: false,
            alarm_arn: None,
            since: None,
            member,
            observer,
            healthy,
            source,
        },
    )
}

/// Route 53: healthy means `mirror_status.cxw` answered 200 SUCCESS (primary).
fn route53(member: &str, healthy: bool, at: i64) -> Signal {
    let source = if healthy {
        "200 SUCCESS"
    } else {
        "503 FAILED or no answer"
    };
    observed(member, Observer::Route53, healthy, source, at)
}

/// EC2 and the instance alarms: healthy means running with its alarms OK.
fn instance(member: &str, healthy: bool, at: i64) -> Signal {
    let source = if healthy { "running, alarms OK" } else { "stopped" };
    observed(member, Observer::Instance, healthy, source, at)
}

/// A role change reported by the member (the ^ZMIRROR hooks).
fn status(member: &str, status: MemberStatus, at: i64) -> Signal {
    reported(member, status, false, at)
}

/// The host agent's periodic word.
fn heartbeat(member: &str, status: MemberStatus, at: i64) -> Signal {
    reported(member, status, true, at)
}

fn reported(member: &str, status: MemberStatus, heartbeat: bool, at: i64) -> Signal {
    let (member, journal_latency) = (member.into(), None);
    signal(
        at,
        SignalKind::Status {
            reason: None,
            member,
            status,
            heartbeat,
            journal_latency,
        },
    )
}

fn latency(member: &str, seconds: f64, at: i64) -> Signal {
    let latency = JournalLatency {
        received_at: None,
        seconds,
        bytes: None,
        files: None,
        measured_at: t(at),
    };
    signal(
        at,
        SignalKind::JournalLatency {
            member: member.into(),
            latency,
        },
    )
}

/// The DR region's probe of `mirror_status.cxw`: 200 SUCCESS, 503, or no answer.
fn probe(member: &str, answer: Probe, at: i64) -> Signal {
    let (healthy, unreachable, source) = match answer {
        Probe::Primary => (true, false, "probe primary: 200 SUCCESS"),
        Probe::NotPrimary => (false, false, "probe not_primary: 503 FAILED"),
        Probe::NoAnswer => (false, true, "probe unreachable: no answer within 3 s"),
    };
    let mut s = observed(member, Observer::Probe, healthy, source, at);
    if let SignalKind::Observation { unreachable: u, .. } = &mut s.kind {
        *u = unreachable;
    }
    s
}

#[derive(Clone, Copy)]
enum Probe {
    Primary,
    NotPrimary,
    NoAnswer,
}

/// An async's report with what it measured, and when it last received journal data.
fn async_report(member: &str, status: MemberStatus, seconds: f64, received: Option<i64>, at: i64) -> Signal {
    let mut s = heartbeat(member, status, at);
    if let SignalKind::Status { journal_latency, .. } = &mut s.kind {
        *journal_latency = Some(JournalLatency {
            received_at: received.map(t),
            seconds,
            bytes: None,
            files: None,
            measured_at: t(at),
        });
    }
    s
}

fn tick(at: i64) -> Signal {
    signal(at, SignalKind::Tick)
}

/// The schedule: a tick every minute from `from` to `to`, both included.
fn ticks(from: i64, to: i64) -> Vec<Signal> {
    (from..=to).step_by(60).map(tick).collect()
}

fn decision(request: &str, action: DecisionAction, by: &str, at: i64) -> Signal {
    signal(
        at,
        SignalKind::Decision(Decision {
            request: request.into(),
            action,
            by: by.into(),
            accept_loss: false,
            authority: Authority::Operator,
            source_ip: Some("198.51.100.7".into()),
            user_agent: Some("Mozilla/5.0 (iPhone) Mobile Safari".into()),
            shown: Some("data that may be lost: about 5 s".into()),
        }),
    )
}

fn approve(request: &str, by: &str, at: i64) -> Signal {
    decision(request, DecisionAction::Approve, by, at)
}

fn reject(request: &str, by: &str, at: i64) -> Signal {
    decision(request, DecisionAction::Reject, by, at)
}

/// The same decision with "I accept the data loss" ticked.
fn accepting_loss(mut s: Signal) -> Signal {
    if let SignalKind::Decision(d) = &mut s.kind {
        d.accept_loss = true;
    }
    s
}

/// The same decision posted from the page an approval link opened.
fn via(link: &str, mut s: Signal) -> Signal {
    if let SignalKind::Decision(d) = &mut s.kind {
        d.authority = Authority::Link {
            token_hash: hash_token(token_of(link)),
        };
    }
    s
}

fn delivery(id: &str, mut s: Signal) -> Signal {
    s.id = Some(id.into());
    s
}

fn started(request: &str, at: i64) -> Signal {
    signal(
        at,
        SignalKind::PromotionStarted {
            request: request.into(),
        },
    )
}

fn outcome(request: &str, ok: bool, detail: &str, at: i64) -> Signal {
    let (request, detail) = (request.into(), detail.into());
    signal(
        at,
        SignalKind::PromotionOutcome {
            request,
            ok,
            detail,
            fenced: Vec::new(),
        },
    )
}

// ---- what came out ------------------------------------------------------------

fn alerts(effects: &[Effect]) -> Vec<&Alert> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Alert(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn alert_kinds(effects: &[Effect]) -> Vec<AlertKind> {
    alerts(effects).iter().map(|a| a.kind).collect()
}

/// The one alert of this kind; fails if there are none or several.
fn only_alert(effects: &[Effect], kind: AlertKind) -> &Alert {
    let found: Vec<&Alert> = alerts(effects).into_iter().filter(|a| a.kind == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} alert expected in {:?}",
        alert_kinds(effects)
    );
    found[0]
}

/// What the one alert of this kind told, as facts.
fn notice_of(effects: &[Effect], kind: AlertKind) -> &Notice {
    only_alert(effects, kind)
        .notice
        .as_deref()
        .unwrap_or_else(|| panic!("the {kind:?} alert carries its notice"))
}

/// (request, candidate) of every promotion request raised.
fn requested(effects: &[Effect]) -> Vec<(&str, &str)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::PromotionRequested { request, candidate } => Some((request.as_str(), candidate.as_str())),
            _ => None,
        })
        .collect()
}

/// The requests whose promotion was ordered to execute.
fn executed(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ExecutePromotion { request, .. } => Some(request.as_str()),
            _ => None,
        })
        .collect()
}

fn link(alert: &Alert) -> &str {
    alert
        .link
        .as_deref()
        .unwrap_or_else(|| panic!("{:?} carries no link", alert.kind))
}

fn token_of(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or_default()
}

fn refusal(decided: &Decided) -> Refusal {
    match &decided.verdict {
        Verdict::Decision(DecisionVerdict::Refused { refusal, .. }) => refusal.clone(),
        other => panic!("a refusal expected, got {other:?}"),
    }
}

fn request_status(state: &MirrorState, id: &str) -> RequestStatus {
    state
        .request(id)
        .map(|r| r.status)
        .unwrap_or_else(|| panic!("no request {id}"))
}

// ---- the stories the rules start from -------------------------------------------

/// A answers as primary (Route 53 sees 200 SUCCESS on it), B is its backup, both
/// instances run, and the DR members are 5 s and 20 s behind.
fn normal(m: &Mirror) -> MirrorState {
    let signals = [
        route53(A, true, 0),
        route53(B, false, 0),
        instance(A, true, 0),
        instance(B, true, 0),
        latency(DR1, 5.0, 0),
        latency(DR2, 20.0, 0),
    ];
    run(m, MirrorState::new("HSPROD", t(0)), signals).0
}

/// The primary region goes dark: no Route 53 check passes, both instances stop.
fn region_outage(at: i64) -> Vec<Signal> {
    vec![
        route53(A, false, at),
        route53(B, false, at),
        instance(A, false, at),
        instance(B, false, at),
    ]
}

/// The region went dark at 10 s: the loss is being confirmed.
fn region_lost(m: &Mirror) -> MirrorState {
    run(m, normal(m), region_outage(10)).0
}

/// The loss was confirmed at 190 s: request R1 asks to promote DR1.
fn pending(m: &Mirror) -> (MirrorState, Vec<Effect>) {
    run(m, region_lost(m), [tick(190)])
}

/// Dana approved R1 at 300 s and the executor claimed it.
fn promoting(m: &Mirror) -> MirrorState {
    run(m, pending(m).0, [approve(R1, "Dana Whitfield", 300), started(R1, 300)]).0
}

// ---- detection ------------------------------------------------------------------

#[test]
fn first_primary_claim_sets_epoch_without_alert() {
    // GIVEN a mirror mirrorgate has never seen
    let m = hsprod();
    let state = MirrorState::new("HSPROD", t(0));

    // WHEN A reports that it is primary
    let (state, effects) = run(&m, state, [status(A, MemberStatus::Primary, 0)]);

    // THEN A is the primary of epoch 1, and nobody is paged: nothing moved
    assert_eq!((state.epoch, state.primary.as_deref()), (1, Some(A)));
    assert_eq!(state.phase, Phase::Normal);
    assert_eq!(alert_kinds(&effects), vec![]);
}

#[test]
fn one_flaky_signal_never_proposes_a_promotion() {
    // GIVEN a healthy mirror
    let m = hsprod();

    // WHEN only Route 53 says A stopped answering, for half an hour
    let signals = [vec![route53(A, false, 60)], ticks(120, 1920)].concat();
    let (state, effects) = run(&m, normal(&m), signals);

    // THEN one observer is not enough: no loss, no alert, no request
    assert_eq!(state.phase, Phase::Normal);
    assert_eq!(alert_kinds(&effects), vec![]);
    assert_eq!(requested(&effects), vec![]);
}

#[test]
fn primary_lost_needs_min_observers_agreeing() {
    // GIVEN Route 53 alone says A stopped answering
    let m = hsprod();
    let (state, effects) = run(&m, normal(&m), [route53(A, false, 10)]);
    assert_eq!((state.phase, alert_kinds(&effects)), (Phase::Normal, vec![]));

    // WHEN EC2 agrees that A's instance stopped
    let (state, effects) = run(&m, state, [instance(A, false, 20)]);

    // THEN the primary is lost, with a warning that it is still being confirmed
    assert_eq!(state.phase, Phase::PrimaryLost);
    let lost = only_alert(&effects, AlertKind::PrimaryLost);
    assert_eq!(lost.severity, Severity::Warning);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PrimaryLost),
            Notice::Mirror(MirrorNotice::PrimaryLost { observers, .. }) if observers == &[Observer::Route53, Observer::Instance]
        ),
        "{lost:?}"
    );
    assert_eq!(lost.link, None);
    assert_eq!(requested(&effects), vec![]);
}

#[test]
fn primary_lost_is_confirmed_only_after_the_window() {
    // GIVEN the primary region went dark at 10 s
    let m = hsprod();
    let lost = region_lost(&m);

    // WHEN the schedule ticks one second before the 180 s window ends
    let (state, effects) = run(&m, lost, [tick(189)]);

    // THEN nothing happens yet
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(effects, vec![]);

    // WHEN it ticks at the end of the window
    let (state, effects) = run(&m, state, [tick(190)]);

    // THEN a promotion of DR1 is requested, and people are paged with a link
    assert_eq!(state.phase, Phase::PromotionPending);
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
    let request = only_alert(&effects, AlertKind::PromotionRequested);
    assert_eq!(request.severity, Severity::Critical);
    assert_eq!(request.request.as_deref(), Some(R1));
    assert!(
        link(request).starts_with(&format!("{PUBLIC_URL}/a/")),
        "{}",
        link(request)
    );
}

#[test]
fn confirmation_resets_when_agreement_breaks() {
    // GIVEN the region went dark at 10 s
    let m = hsprod();
    let lost = region_lost(&m);

    // WHEN A's instance alarm clears at 100 s and fires again at 150 s
    let (state, effects) = run(
        &m,
        lost,
        [instance(A, true, 100), instance(A, false, 150), tick(190), tick(329)],
    );

    // THEN the window starts again at 150 s: nothing is requested at 190 s or 329 s
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(state.lost_since, Some(t(150)));
    assert_eq!(requested(&effects), vec![]);

    // WHEN the new window ends
    let (_, effects) = run(&m, state, [tick(330)]);

    // THEN the promotion is requested
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
}

#[test]
fn heartbeat_silence_counts_as_an_observer() {
    // GIVEN A and B send heartbeats, and Route 53 says A stopped answering at 60 s
    let m = hsprod();
    let signals = [
        heartbeat(A, MemberStatus::Primary, 0),
        heartbeat(B, MemberStatus::Backup, 0),
        route53(A, false, 60),
    ];
    let (state, _) = run(&m, normal(&m), signals);

    // WHEN B, unable to tell whether A is down, waits instead of taking over (so it
    // no longer proves a primary), and A stays silent up to the stale limit (180 s)
    let signals = [
        heartbeat(B, MemberStatus::Waiting, 60),
        heartbeat(B, MemberStatus::Waiting, 120),
        heartbeat(B, MemberStatus::Waiting, 180),
        tick(180),
    ];
    let (state, effects) = run(&m, state, signals);

    // THEN a silence within the limit is not yet a second observer
    assert_eq!((state.phase, alert_kinds(&effects)), (Phase::Normal, vec![]));

    // WHEN A's silence passes the limit
    let (state, effects) = run(&m, state, [tick(181)]);

    // THEN Route 53 and the silence agree: the primary is lost
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PrimaryLost),
            Notice::Mirror(MirrorNotice::PrimaryLost { observers, .. }) if observers == &[Observer::Route53, Observer::Heartbeat]
        ),
        "{effects:?}"
    );
}

// ---- the candidate -------------------------------------------------------------------

#[test]
fn candidate_is_the_healthy_dr_member_with_lowest_journal_latency() {
    // GIVEN DR1 is 40 s behind and DR2 12 s
    let m = hsprod();
    let (state, _) = run(&m, normal(&m), [latency(DR1, 40.0, 5), latency(DR2, 12.0, 5)]);

    // WHEN the primary region is lost and the loss confirmed
    let (state, effects) = run(&m, state, [region_outage(10), vec![tick(190)]].concat());

    // THEN DR2 is proposed, and the page states what it may lose
    assert_eq!(requested(&effects), vec![(R1, DR2)]);
    let request = state.request(R1).expect("R1");
    assert_eq!(request.candidate_latency.map(|l| l.seconds), Some(12.0));
    let Notice::Promotion(PromotionNotice::Requested(ask)) = notice_of(&effects, AlertKind::PromotionRequested) else {
        panic!("a promotion request tells its ask")
    };
    assert_eq!((ask.candidate.as_str(), ask.loss.seconds), (DR2, Some(12.0)));
}

#[test]
fn reporting_async_is_never_a_candidate() {
    // GIVEN a reporting async member only half a second behind
    let m = hsprod_with(|m| {
        m.members.push(Member {
            status_url: None,
            iris_instance: None,
            name: "HSPROD-REP".into(),
            kind: MemberKind::ReportingAsync,
            region: "us-west-2".into(),
            zone: "us-west-2c".into(),
            instance_id: None,
            health_check_id: None,
        })
    });
    let (state, _) = run(&m, normal(&m), [latency("HSPROD-REP", 0.5, 5)]);

    // WHEN the primary region is lost and the loss confirmed
    let (_, effects) = run(&m, state, [region_outage(10), vec![tick(190)]].concat());

    // THEN the best DR async is proposed, never the reporting member
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
}

#[test]
fn unhealthy_dr_member_is_not_a_candidate() {
    // GIVEN DR1, the one least behind, has a stopped instance
    let m = hsprod();
    let (state, _) = run(&m, normal(&m), [instance(DR1, false, 5)]);

    // WHEN the primary region is lost and the loss confirmed
    let (_, effects) = run(&m, state, [region_outage(10), vec![tick(190)]].concat());

    // THEN DR2 is proposed
    assert_eq!(requested(&effects), vec![(R1, DR2)]);
}

#[test]
fn no_candidate_alerts_once() {
    // GIVEN both DR instances are stopped
    let m = hsprod();
    let (state, _) = run(&m, normal(&m), [instance(DR1, false, 5), instance(DR2, false, 5)]);

    // WHEN the primary region is lost and the schedule ticks for a quarter of an hour
    let signals = [region_outage(10), ticks(190, 1090)].concat();
    let (state, effects) = run(&m, state, signals);

    // THEN people hear once that there is nothing to promote, and nothing is requested
    let none = only_alert(&effects, AlertKind::NoCandidate);
    assert_eq!(none.severity, Severity::Critical);
    assert_eq!(requested(&effects), vec![]);
    assert_eq!(state.phase, Phase::PrimaryLost);

    // WHEN DR2 comes back
    let (_, effects) = run(&m, state, [instance(DR2, true, 1100)]);

    // THEN its promotion is requested at once
    assert_eq!(requested(&effects), vec![(R1, DR2)]);
}

// ---- failover inside the region -----------------------------------------------------

#[test]
fn in_region_failover_is_informational_and_starts_a_new_epoch() {
    // GIVEN A is the primary of epoch 1
    let m = hsprod();
    let state = normal(&m);
    assert_eq!(state.epoch, 1);

    // WHEN A stops answering and IRIS makes B primary
    let (state, effects) = run(&m, state, [route53(A, false, 55), route53(B, true, 60)]);

    // THEN one warning says so, epoch 2 belongs to B, and nothing asks for a promotion
    assert_eq!(state.phase, Phase::FailedOver);
    assert_eq!((state.epoch, state.primary.as_deref()), (2, Some(B)));
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FailedOver]);
    assert_eq!(only_alert(&effects, AlertKind::FailedOver).severity, Severity::Warning);
    assert_eq!(requested(&effects), vec![]);

    // WHEN half an hour passes without a word from A
    let (state, effects) = run(&m, state, ticks(120, 1920));

    // THEN it stays failed over: high availability is not claimed back without evidence
    assert_eq!(state.phase, Phase::FailedOver);
    assert_eq!(alert_kinds(&effects), vec![]);
    assert_eq!(requested(&effects), vec![]);
}

#[test]
fn backup_down_means_degraded() {
    // GIVEN a healthy mirror
    let m = hsprod();

    // WHEN B's instance stops
    let (state, effects) = run(&m, normal(&m), [instance(B, false, 60)]);

    // THEN the mirror runs without high availability, and people are warned once
    assert_eq!(state.phase, Phase::Degraded);
    assert_eq!(alert_kinds(&effects), vec![AlertKind::Degraded]);
    assert_eq!(only_alert(&effects, AlertKind::Degraded).severity, Severity::Warning);
}

#[test]
fn ha_restored_when_partner_returns() {
    // GIVEN B's instance stopped
    let m = hsprod();
    let (degraded, _) = run(&m, normal(&m), [instance(B, false, 60)]);

    // WHEN it runs again
    let (state, effects) = run(&m, degraded, [instance(B, true, 120)]);

    // THEN high availability is restored, for information
    assert_eq!(state.phase, Phase::Normal);
    assert_eq!(alert_kinds(&effects), vec![AlertKind::HaRestored]);
    assert_eq!(only_alert(&effects, AlertKind::HaRestored).severity, Severity::Info);

    // GIVEN IRIS failed over from A to B
    let (failed_over, _) = run(&m, normal(&m), [route53(A, false, 55), route53(B, true, 60)]);

    // WHEN Route 53 goes on seeing B primary, and A rejoins and reports Backup
    let signals = [route53(B, true, 290), status(A, MemberStatus::Backup, 300)];
    let (state, effects) = run(&m, failed_over, signals);

    // THEN high availability is restored
    assert_eq!(state.phase, Phase::Normal);
    assert_eq!(alert_kinds(&effects), vec![AlertKind::HaRestored]);
}

// ---- anti-flapping -----------------------------------------------------------------------

#[test]
fn primary_back_before_approval_supersedes_the_request() {
    // GIVEN a pending request to promote DR1
    let m = hsprod();
    let (state, _) = pending(&m);

    // WHEN A answers as primary again before anyone decides
    let (state, effects) = run(&m, state, [route53(A, true, 250)]);

    // THEN the request is withdrawn and people are told (B is still down: no HA yet)
    assert_eq!(request_status(&state, R1), RequestStatus::Superseded);
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::Degraded, Some(A)));
    assert_eq!(
        alert_kinds(&effects),
        vec![AlertKind::RequestWithdrawn, AlertKind::Degraded]
    );
    assert_eq!(
        only_alert(&effects, AlertKind::RequestWithdrawn).severity,
        Severity::Warning
    );

    // WHEN a late approval arrives
    let late = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN it is refused as withdrawn, and nothing is promoted
    let closed = Refusal::RequestClosed {
        status: RequestStatus::Superseded,
    };
    assert_eq!(refusal(&late), closed);
    assert!(closed.message().contains("withdrawn"), "{}", closed.message());
    assert_eq!(executed(&late.effects), Vec::<&str>::new());
}

#[test]
fn flapping_primary_alerts_once_per_cool_down_and_never_promotes() {
    // GIVEN a healthy mirror
    let m = hsprod();

    // WHEN A goes down and back every minute for 20 minutes, Route 53 and EC2 agreeing each time
    let flaps: Vec<Signal> = (0..20)
        .flat_map(|k| {
            let at = 10 + 60 * k;
            [
                route53(A, false, at),
                instance(A, false, at),
                tick(at + 15),
                route53(A, true, at + 30),
                instance(A, true, at + 30),
            ]
        })
        .collect();
    let (state, effects) = run(&m, normal(&m), flaps);

    // THEN people hear of the first loss and the first return only, and nothing is requested
    assert_eq!(
        alert_kinds(&effects),
        vec![AlertKind::PrimaryLost, AlertKind::PrimaryBack]
    );
    assert_eq!(requested(&effects), vec![]);
    assert_eq!(executed(&effects), Vec::<&str>::new());
    assert!(
        state.folded_alerts >= 38,
        "the folded changes are counted: {}",
        state.folded_alerts
    );

    // WHEN A stays up for a whole cool-down and is then lost again
    let last_back = 10 + 60 * 19 + 30;
    let again = last_back + 900 + 10;
    let (_, effects) = run(&m, state, [route53(A, false, again), instance(A, false, again)]);

    // THEN that loss is announced
    assert_eq!(alert_kinds(&effects), vec![AlertKind::PrimaryLost]);
}

#[test]
fn reminders_go_out_at_the_interval_with_a_fresh_link() {
    // GIVEN R1 was requested at 190 s with a link
    let m = hsprod();
    let (state, effects) = pending(&m);
    let first = link(only_alert(&effects, AlertKind::PromotionRequested)).to_string();

    // WHEN nobody decides and the schedule ticks every minute until 1390 s
    let (state, effects) = run(&m, state, ticks(250, 1390));

    // THEN a reminder goes out every 600 s (at 790 s and 1390 s), each with its own link
    let reminders: Vec<&Alert> = alerts(&effects);
    assert_eq!(alert_kinds(&effects), vec![AlertKind::PromotionReminder; 2]);
    assert_eq!(
        reminders.iter().map(|a| a.at).collect::<Vec<_>>(),
        vec![t(790), t(1390)]
    );
    let links = [first.as_str(), link(reminders[0]), link(reminders[1])];
    assert!(
        links[0] != links[1] && links[1] != links[2] && links[0] != links[2],
        "{links:?}"
    );
    assert!(reminders.iter().all(|r| r.severity == Severity::Critical));
    assert_eq!(state.request(R1).map(|r| r.tokens.len()), Some(3));
}

#[test]
fn request_expires_and_is_not_raised_again_before_the_cool_down() {
    // GIVEN R1 was requested at 190 s; its link expires at 1990 s
    let m = hsprod();
    let (state, _) = pending(&m);

    // WHEN nobody decides until it expires
    let (state, effects) = run(&m, state, ticks(250, 1990));

    // THEN it expires, nothing is promoted, and people are told
    assert_eq!(request_status(&state, R1), RequestStatus::Expired);
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(
        only_alert(&effects, AlertKind::RequestExpired).severity,
        Severity::Critical
    );
    assert_eq!(executed(&effects), Vec::<&str>::new());

    // WHEN the primary stays lost during the cool-down
    let (state, effects) = run(&m, state, ticks(2050, 2830));

    // THEN no new request is raised
    assert_eq!(requested(&effects), vec![]);

    // WHEN the cool-down ends
    let (_, effects) = run(&m, state, [tick(2890)]);

    // THEN a new request asks again
    assert_eq!(requested(&effects), vec![(R2, DR1)]);
}

// ---- the approval gate -----------------------------------------------------------------

#[test]
fn approval_executes_exactly_once() {
    // GIVEN a pending request
    let m = hsprod();
    let (state, _) = pending(&m);

    // WHEN Dana approves
    let approved = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN the promotion is ordered, once
    assert!(
        matches!(
            &approved.verdict,
            Verdict::Decision(DecisionVerdict::Approved { executing: true, .. })
        ),
        "{:?}",
        approved.verdict
    );
    assert_eq!(approved.state.phase, Phase::Promoting);
    assert_eq!(executed(&approved.effects), vec![R1]);

    // WHEN a second click arrives, and the executor claims the order and carries it
    // out, and time passes
    let second = step(&m, &approved.state, approve(R1, "Lee Okafor", 301));
    let (_, later) = run(
        &m,
        second.state.clone(),
        [
            vec![started(R1, 302), outcome(R1, true, "SSM command c-1", 303)],
            ticks(360, 840),
        ]
        .concat(),
    );

    // THEN the second click is refused, and no promotion is ordered again
    assert_eq!(
        refusal(&second),
        Refusal::RequestClosed {
            status: RequestStatus::Approved
        }
    );
    assert_eq!(executed(&second.effects), Vec::<&str>::new());
    assert_eq!(executed(&later), Vec::<&str>::new());
}

#[test]
fn approval_refused_when_candidate_latency_exceeds_policy_unless_loss_accepted() {
    // GIVEN R1 proposes DR1, and both DR members fell far behind since
    let m = hsprod();
    let (state, _) = pending(&m);
    let (state, _) = run(&m, state, [latency(DR1, 95.0, 250), latency(DR2, 120.0, 250)]);

    // WHEN Dana approves without accepting the loss
    let refused = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN it is refused with the numbers, and the request stays open for another try
    assert_eq!(
        refusal(&refused),
        Refusal::LatencyOverPolicy {
            seconds: Some(95.0),
            max_seconds: 60
        }
    );
    assert_eq!(request_status(&refused.state, R1), RequestStatus::Open);
    assert_eq!(refused.state.phase, Phase::PromotionPending);
    assert_eq!(executed(&refused.effects), Vec::<&str>::new());

    // WHEN Dana approves again, ticking "I accept the data loss"
    let approved = step(&m, &refused.state, accepting_loss(approve(R1, "Dana Whitfield", 310)));

    // THEN the promotion is ordered
    assert_eq!(executed(&approved.effects), vec![R1]);
}

#[test]
fn approval_refused_when_candidate_became_unhealthy() {
    // GIVEN R1 proposes DR1, whose instance then stopped
    let m = hsprod();
    let (state, _) = pending(&m);
    let (state, _) = run(&m, state, [instance(DR1, false, 250)]);

    // WHEN Dana approves
    let refused = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN it is refused and R1 closed; DR2 is proposed instead in the same write
    assert_eq!(refusal(&refused), Refusal::CandidateUnhealthy { candidate: DR1.into() });
    assert_eq!(request_status(&refused.state, R1), RequestStatus::Refused);
    assert_eq!(
        only_alert(&refused.effects, AlertKind::PromotionRefused).severity,
        Severity::Critical
    );
    assert_eq!(executed(&refused.effects), Vec::<&str>::new());
    assert_eq!(requested(&refused.effects), vec![(R2, DR2)]);
}

#[test]
fn approval_refused_when_primary_came_back() {
    // GIVEN a pending request, and the record the click is decided on already
    // holding A's Route 53 check answering as primary again
    let m = hsprod();
    let (mut state, _) = pending(&m);
    let back = Observation {
        unreachable: false,
        alarm_arn: None,
        confirmed_at: None,
        healthy: true,
        at: t(280),
        source: "200 SUCCESS".into(),
    };
    state
        .members
        .entry(A.into())
        .or_default()
        .observations
        .insert(Observer::Route53, back);

    // WHEN Dana approves
    let refused = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN the approval is refused because a second primary would be made,
    // and the request is withdrawn in the same write
    assert_eq!(refusal(&refused), Refusal::PrimaryBack { member: A.into() });
    assert_eq!(executed(&refused.effects), Vec::<&str>::new());
    assert_eq!(request_status(&refused.state, R1), RequestStatus::Superseded);
    assert!(alert_kinds(&refused.effects).contains(&AlertKind::RequestWithdrawn));
}

#[test]
fn rejection_closes_the_request_and_blocks_new_ones_for_the_cool_down() {
    // GIVEN a pending request
    let m = hsprod();
    let (state, _) = pending(&m);

    // WHEN Dana rejects it
    let rejected = step(&m, &state, reject(R1, "Dana Whitfield", 300));

    // THEN it is closed, people are told, and nothing is promoted
    assert_eq!(
        rejected.verdict,
        Verdict::Decision(DecisionVerdict::Rejected { request: R1.into() })
    );
    assert_eq!(request_status(&rejected.state, R1), RequestStatus::Rejected);
    assert_eq!(rejected.state.phase, Phase::PrimaryLost);
    assert_eq!(only_alert(&rejected.effects, AlertKind::PromotionRejected).link, None);
    assert_eq!(executed(&rejected.effects), Vec::<&str>::new());

    // WHEN the primary stays lost during the cool-down
    let (state, effects) = run(&m, rejected.state, ticks(360, 1140));

    // THEN nobody is asked again
    assert_eq!(requested(&effects), vec![]);

    // WHEN the cool-down ends
    let (_, effects) = run(&m, state, [tick(1200)]);

    // THEN a new request asks again
    assert_eq!(requested(&effects), vec![(R2, DR1)]);
}

#[test]
fn m_of_n_needs_distinct_approvers() {
    // GIVEN a policy of two approvers, and a pending request
    let m = hsprod_with(|m| m.policy.approvers_required = 2);
    let (state, _) = pending(&m);

    // WHEN Dana approves
    let first = step(&m, &state, approve(R1, "Dana Whitfield", 300));

    // THEN it is recorded, and another person is asked, with a new link
    assert_eq!(
        first.verdict,
        Verdict::Decision(DecisionVerdict::Approved {
            request: R1.into(),
            candidate: DR1.into(),
            executing: false,
            approvals: 1,
            required: 2
        })
    );
    assert!(only_alert(&first.effects, AlertKind::ApprovalRecorded).link.is_some());
    assert_eq!(executed(&first.effects), Vec::<&str>::new());

    // WHEN Dana approves again, whatever the spelling
    let again = step(&m, &first.state, approve(R1, " dana whitfield ", 310));

    // THEN it does not count twice
    assert_eq!(
        refusal(&again),
        Refusal::SameApprover {
            by: "dana whitfield".into()
        }
    );
    assert_eq!(executed(&again.effects), Vec::<&str>::new());

    // WHEN Lee approves
    let second = step(&m, &first.state, approve(R1, "Lee Okafor", 320));

    // THEN the promotion is ordered
    assert_eq!(executed(&second.effects), vec![R1]);
    let approvers = second.state.request(R1).map(|r| r.approvers().join(", "));
    assert_eq!(approvers.as_deref(), Some("Dana Whitfield, Lee Okafor"));
}

#[test]
fn link_token_is_single_use_and_bound_to_its_request() {
    // GIVEN R1 was requested with a link
    let m = hsprod();
    let (state, effects) = pending(&m);
    let r1_link = link(only_alert(&effects, AlertKind::PromotionRequested)).to_string();

    // WHEN the link approves R1
    let approved = step(&m, &state, via(&r1_link, approve(R1, "Dana Whitfield", 300)));
    // THEN it works once, and is recorded as a link decision
    assert_eq!(executed(&approved.effects), vec![R1]);
    let record = approved.state.request(R1).and_then(|r| r.decisions.last().cloned());
    assert_eq!(
        record.map(|d| (d.via, d.source_ip)),
        Some(("link".into(), Some("198.51.100.7".into())))
    );

    // WHEN the same link is posted again
    let reused = step(&m, &approved.state, via(&r1_link, approve(R1, "Lee Okafor", 310)));
    // THEN it is refused as used
    assert_eq!(refusal(&reused), Refusal::LinkUsed);

    // WHEN R1's link is posted for another request
    let tampered = step(&m, &state, via(&r1_link, approve(R2, "Dana Whitfield", 300)));
    // THEN it is refused as altered
    assert_eq!(refusal(&tampered), Refusal::TamperedLink);

    // WHEN a link mirrorgate never issued is posted
    let forged = format!("{PUBLIC_URL}/a/AAAAAAAAAAAAAAAAAAAAAA");
    let unknown = step(&m, &state, via(&forged, approve(R1, "Dana Whitfield", 300)));
    // THEN it is refused as unknown
    assert_eq!(refusal(&unknown), Refusal::UnknownLink);

    // WHEN R1's link is posted when it expires (190 s + 1800 s)
    let late = step(&m, &state, via(&r1_link, approve(R1, "Dana Whitfield", 1990)));
    // THEN it is refused as expired, and nothing is promoted by any of them
    assert_eq!(refusal(&late), Refusal::LinkExpired);
    for refused in [&reused, &tampered, &unknown, &late] {
        assert_eq!(executed(&refused.effects), Vec::<&str>::new());
    }
}

#[test]
fn only_the_token_hash_is_stored() {
    // GIVEN a request and a reminder, each sent with its own link
    let m = hsprod();
    let (state, requested_effects) = pending(&m);
    let (state, reminder_effects) = run(&m, state, ticks(250, 790));
    let effects = [requested_effects, reminder_effects].concat();
    let tokens: Vec<&str> = alerts(&effects)
        .into_iter()
        .filter_map(|a| a.link.as_deref())
        .map(token_of)
        .collect();
    assert_eq!(tokens.len(), 2);

    // WHEN the state is written out
    let stored = serde_json::to_string(&state).expect("the state serializes");

    // THEN it holds each token's hash, never the token
    for token in tokens {
        assert!(!stored.contains(token), "token {token} stored in plain text");
        assert!(stored.contains(&hash_token(token)), "the hash of {token} is not stored");
    }
}

// ---- the promotion ---------------------------------------------------------------------------

#[test]
fn promotion_succeeds_when_the_candidate_reports_primary() {
    // GIVEN DR1's promotion was approved and started
    let m = hsprod();
    let state = promoting(&m);
    assert_eq!((state.phase, state.epoch), (Phase::Promoting, 1));

    // WHEN DR1 reports that it is primary
    let (state, effects) = run(&m, state, [status(DR1, MemberStatus::Primary, 400)]);

    // THEN the DR member is primary of a new epoch, and people are told
    assert_eq!(state.phase, Phase::DrActive);
    assert_eq!((state.epoch, state.primary.as_deref()), (2, Some(DR1)));
    assert_eq!(request_status(&state, R1), RequestStatus::Succeeded);
    assert_eq!(
        only_alert(&effects, AlertKind::PromotionSucceeded).severity,
        Severity::Critical
    );
}

#[test]
fn promotion_times_out_and_alerts() {
    // GIVEN DR1's promotion was approved and started at 300 s
    let m = hsprod();

    // WHEN DR1 does not report primary before the 600 s timeout
    let (state, effects) = run(&m, promoting(&m), ticks(360, 840));
    assert_eq!((state.phase, alert_kinds(&effects)), (Phase::Promoting, vec![]));
    let (state, effects) = run(&m, state, [tick(900)]);

    // THEN people are told it did not happen
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(request_status(&state, R1), RequestStatus::TimedOut);
    assert_eq!(
        only_alert(&effects, AlertKind::PromotionTimedOut).severity,
        Severity::Critical
    );
}

#[test]
fn failed_promotion_action_is_alerted_and_not_retried() {
    // GIVEN DR1's promotion was approved and started
    let m = hsprod();

    // WHEN its SSM command fails
    let failed = "SSM command 5a2c on i-0ddddddddddddddd4: Failed (exit 1)";
    let (state, effects) = run(&m, promoting(&m), [outcome(R1, false, failed, 330)]);

    // THEN people are told what failed
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(request_status(&state, R1), RequestStatus::Failed);
    let alert = only_alert(&effects, AlertKind::PromotionFailed);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PromotionFailed),
            Notice::Promotion(PromotionNotice::Failed { detail, .. }) if detail == failed
        ),
        "{alert:?}"
    );

    // WHEN the schedule ticks through the cool-down
    let (_, effects) = run(&m, state, ticks(390, 1170));

    // THEN nothing is executed or requested again by itself
    assert_eq!(executed(&effects), Vec::<&str>::new());
    assert_eq!(requested(&effects), vec![]);
}

#[test]
fn no_second_promotion_is_proposed_in_the_same_epoch() {
    // GIVEN DR1's promotion ran and failed, the primary still lost
    let m = hsprod();
    let (state, _) = run(&m, promoting(&m), [outcome(R1, false, "SSM command failed", 330)]);

    // WHEN the schedule ticks long past the cool-down
    let (state, effects) = run(&m, state, ticks(1300, 2600));

    // THEN mirrorgate proposes nothing more in this epoch: people have taken over
    assert_eq!(requested(&effects), vec![]);
    assert_eq!(executed(&effects), Vec::<&str>::new());
    assert_eq!(state.phase, Phase::PrimaryLost);
}

#[test]
fn promotion_started_claims_once() {
    // GIVEN an approved promotion
    let m = hsprod();
    let (state, _) = run(&m, pending(&m).0, [approve(R1, "Dana Whitfield", 300)]);

    // WHEN two executors claim it
    let first = step(&m, &state, started(R1, 301));
    let second = step(&m, &first.state, started(R1, 302));

    // THEN only the first may run the actions
    assert_eq!(first.verdict, Verdict::Applied);
    assert!(
        matches!(second.verdict, Verdict::Ignored { .. }),
        "{:?}",
        second.verdict
    );
    assert_eq!(second.state.request(R1).and_then(|r| r.started_at), Some(t(301)));
}

// ---- split brain -----------------------------------------------------------------------------

#[test]
fn split_brain_is_a_critical_alert_once_per_epoch() {
    // GIVEN A's instance stopped and IRIS failed over to B (epoch 2)
    let m = hsprod();
    let signals = [route53(A, false, 55), instance(A, false, 55), route53(B, true, 60)];
    let (state, _) = run(&m, normal(&m), signals);
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::FailedOver, 2, Some(B))
    );

    // WHEN A comes back answering as primary while B still does, for less than the
    // grace (180 s: evidence of a failover lags by a minute or two)
    let signals = [
        route53(A, true, 200),
        route53(B, true, 200),
        route53(A, true, 300),
        route53(B, true, 300),
    ];
    let (state, effects) = run(&m, state, signals);

    // THEN nothing is said yet, and no failover back to A is assumed
    assert_eq!(alert_kinds(&effects), vec![]);
    assert_eq!((state.epoch, state.primary.as_deref()), (2, Some(B)));

    // WHEN both still answer past the grace
    let (state, effects) = run(&m, state, [route53(A, true, 380), route53(B, true, 380)]);

    // THEN it is a split brain, said once and loudly, with what still sends traffic
    // to each; B stays the primary of epoch 2
    let alert = only_alert(&effects, AlertKind::SplitBrain);
    assert_eq!(alert.severity, Severity::Critical);
    let Notice::Mirror(MirrorNotice::SplitBrain {
        epoch,
        primary,
        claims,
        stale,
    }) = notice_of(&effects, AlertKind::SplitBrain)
    else {
        panic!("a split brain tells who claims")
    };
    assert_eq!((*epoch, primary.as_deref()), (2, Some(B)));
    let mut claimants: Vec<&str> = claims.iter().map(|c| c.member.as_str()).collect();
    claimants.sort_unstable();
    assert_eq!(claimants, vec![A, B]);
    let a = claims.iter().find(|c| c.member == A).expect("A claims");
    assert!(a.since >= t(180) && a.since < t(240), "A primary since 03:03: {a:?}");
    assert!(a.route53_healthy_at.is_some(), "Route 53 sends clients to A: {a:?}");
    assert_eq!(stale, &vec![A.to_string()], "A is the one to stop and fence");
    assert_eq!(alert_kinds(&effects), vec![AlertKind::SplitBrain]);
    assert_eq!((state.epoch, state.primary.as_deref()), (2, Some(B)));

    // WHEN both go on claiming
    let signals = [status(A, MemberStatus::Primary, 430), route53(B, true, 440), tick(460)];
    let (state, effects) = run(&m, state, signals);

    // THEN nobody is paged again in this epoch, and no failover ping-pong is reported
    assert_eq!(alert_kinds(&effects), vec![]);
    assert_eq!(state.epoch, 2);
}

#[test]
fn old_primary_returning_during_dr_active_is_split_brain() {
    // GIVEN DR1 was promoted and answers as primary (epoch 2)
    let m = hsprod();
    let signals = [status(DR1, MemberStatus::Primary, 400), route53(DR1, true, 400)];
    let (state, _) = run(&m, promoting(&m), signals);
    assert_eq!((state.phase, state.epoch), (Phase::DrActive, 2));

    // WHEN the primary region comes back, its members elect A again, and both A
    // and DR1 go on answering as primary past the grace
    let signals = [
        route53(DR1, true, 650),
        route53(A, true, 700),
        heartbeat(DR1, MemberStatus::Primary, 760),
        heartbeat(A, MemberStatus::Primary, 760),
        heartbeat(DR1, MemberStatus::Primary, 880),
        heartbeat(A, MemberStatus::Primary, 880),
    ];
    let (state, effects) = run(&m, state, signals);

    // THEN it is a split brain; DR1 stays the primary, and A is the one to fence
    let alert = only_alert(&effects, AlertKind::SplitBrain);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::SplitBrain),
            Notice::Mirror(MirrorNotice::SplitBrain { primary, stale, .. }) if primary.as_deref() == Some(DR1) && stale == &[A]
        ),
        "{alert:?}"
    );
    // (the return of the region was offered for fencing as soon as A was heard, urgent
    // since A answered as primary)
    assert_eq!(
        alert_kinds(&effects),
        vec![AlertKind::FencingRequested, AlertKind::SplitBrain],
        "never a failback"
    );
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FencingRequested),
            Notice::Fencing(FencingNotice::Requested(ask)) if ask.claiming == [A]
        ),
        "urgent: A answers as primary"
    );
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::DrActive, Some(DR1)));

    // WHEN A says so again
    let (_, effects) = run(&m, state, [status(A, MemberStatus::Primary, 940)]);

    // THEN it is not said twice
    assert_eq!(alert_kinds(&effects), vec![]);
}

// ---- deliveries --------------------------------------------------------------------------------

#[test]
fn duplicate_delivery_is_folded() {
    // GIVEN B's instance-stopped event was delivered once
    let m = hsprod();
    let event = delivery("ec2-7d1f", instance(B, false, 60));
    let first = step(&m, &normal(&m), event.clone());
    assert_eq!(alert_kinds(&first.effects), vec![AlertKind::Degraded]);

    // WHEN Lambda delivers it again
    let again = step(&m, &first.state, event);

    // THEN it is recognised, and changes nothing
    assert_eq!(again.verdict, Verdict::Duplicate);
    assert_eq!(again.effects, vec![]);
    assert_eq!(again.state, first.state);
}

#[test]
fn late_out_of_order_observation_does_not_regress_state() {
    // GIVEN the region went dark at 10 s
    let m = hsprod();
    let lost = region_lost(&m);

    // WHEN observations made at 5 s, before the outage, arrive at 20 s
    let late_route53 = decide_at(&m, &lost, &route53(A, true, 5), t(20));
    let late_instance = decide_at(&m, &late_route53.state, &instance(A, true, 5), t(20));

    // THEN nothing changes and nobody is told anything
    assert_eq!(late_route53.state, lost);
    assert_eq!(late_instance.state, lost);
    assert_eq!([late_route53.effects, late_instance.effects].concat(), vec![]);
}

#[test]
fn unsent_alert_is_retried_from_the_outbox_with_a_fresh_link() {
    // GIVEN the promotion request alert could not be delivered at 190 s
    let m = hsprod();
    let (state, effects) = run_undelivered(&m, region_lost(&m), [tick(190)]);
    let sent = only_alert(&effects, AlertKind::PromotionRequested).clone();
    assert_eq!(state.outbox.len(), 1);
    assert_eq!(state.outbox[0].alert.link, None, "the outbox never keeps a link");

    // WHEN the schedule ticks before and after a minute has passed
    let (state, early) = run_undelivered(&m, state, [tick(249)]);
    let (state, effects) = run_undelivered(&m, state, [tick(250)]);

    // THEN it is sent again after the minute, the same alert with a new link
    assert_eq!(early, vec![]);
    let again = only_alert(&effects, AlertKind::PromotionRequested);
    assert_eq!(again.id, sent.id);
    assert_ne!(link(again), link(&sent));
    assert_eq!(state.request(R1).map(|r| r.tokens.len()), Some(2));
    assert_eq!(
        (state.outbox[0].attempts, state.outbox[0].alert.link.as_ref()),
        (1, None)
    );
}

#[test]
fn sms_and_subject_fit_their_limits() {
    // GIVEN a whole region outage: loss, request, reminder, approval, promotion,
    // and the old primary coming back
    let m = hsprod();
    let signals = [
        region_outage(10),
        ticks(70, 790),
        vec![
            approve(R1, "Dana Whitfield", 800),
            started(R1, 800),
            status(DR1, MemberStatus::Primary, 900),
            route53(DR1, true, 900),
            route53(A, true, 1500),
        ],
    ]
    .concat();

    // WHEN it runs
    let (_, effects) = run(&m, normal(&m), signals);

    // THEN every alert's SMS and subject fit, and a link is never cut
    let sent = alerts(&effects);
    assert!(sent.len() >= 6, "{:?}", alert_kinds(&effects));
    for alert in sent {
        let (sms, subject) = (alert.sms(), alert.subject());
        assert!(sms.chars().count() <= MAX_SMS, "{} chars: {sms}", sms.chars().count());
        assert!(
            subject.chars().count() <= MAX_SUBJECT,
            "{} chars: {subject}",
            subject.chars().count()
        );
        if let Some(link) = &alert.link {
            assert!(sms.ends_with(link.as_str()), "the SMS must carry the whole link: {sms}");
        }
    }
}

#[test]
fn signal_for_unknown_member_is_ignored() {
    // GIVEN a healthy mirror
    let m = hsprod();
    let before = normal(&m);

    // WHEN a signal names a member HSPROD does not have
    let decided = step(&m, &before, route53("HSPROD-X", false, 60));

    // THEN it is ignored with the reason, and changes nothing
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("HSPROD-X")),
        "{:?}",
        decided.verdict
    );
    assert_eq!(decided.effects, vec![]);
    assert_eq!(decided.state, before);
}

// ---- how IRIS and AWS really fail ---------------------------------------------------

/// A, B and both asyncs as their agents report them each minute, with the DR
/// region's probes: the mirror as it runs, up to `until`.
fn reporting(until: i64) -> Vec<Signal> {
    let mut signals = Vec::new();
    for at in (0..=until).step_by(60) {
        signals.extend([
            heartbeat(A, MemberStatus::Primary, at),
            heartbeat(B, MemberStatus::Backup, at),
            async_report(DR1, MemberStatus::Connected, 1.8, None, at),
            async_report(DR2, MemberStatus::Connected, 6.9, None, at),
            probe(A, Probe::Primary, at + 40),
            probe(B, Probe::NotPrimary, at + 40),
        ]);
    }
    signals
}

/// The primary region went silent after the reports of 120 s: the DR side only.
fn silent_region(from: i64, to: i64) -> Vec<Signal> {
    let mut signals = vec![
        status(DR1, MemberStatus::Waiting, from + 25),
        status(DR2, MemberStatus::Waiting, from + 25),
    ];
    for at in (from + 35..=to).step_by(60) {
        signals.extend([probe(A, Probe::NoAnswer, at), probe(B, Probe::NoAnswer, at)]);
        signals.extend([
            heartbeat(DR1, MemberStatus::Waiting, at + 20),
            heartbeat(DR2, MemberStatus::Waiting, at + 20),
        ]);
        signals.push(tick(at + 30));
    }
    signals
}

#[test]
fn in_trouble_is_a_primary_that_lost_its_backup() {
    // GIVEN the mirror as it runs
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(60));

    // WHEN B stops and A reports In Trouble, with both asyncs still Connected to it
    let signals = [
        instance(B, false, 70),
        status(A, MemberStatus::InTrouble, 75),
        heartbeat(A, MemberStatus::InTrouble, 120),
        async_report(DR1, MemberStatus::Connected, 1.9, None, 120),
    ];
    let (state, effects) = run(&m, state, signals);

    // THEN A is still the primary; only the lost backup is said
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::Degraded, Some(A)));
    assert_eq!(alert_kinds(&effects), vec![AlertKind::Degraded]);
}

#[test]
fn an_async_connected_proves_a_primary_and_vetoes_a_loss() {
    // GIVEN the mirror as it runs, A In Trouble after B stopped
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(60));
    let (state, _) = run(
        &m,
        state,
        [instance(B, false, 70), status(A, MemberStatus::InTrouble, 75)],
    );

    // WHEN Route 53 and the probe lose A for five minutes, while both asyncs keep
    // reporting Connected to it (A's own agent hangs: nothing from it)
    let mut signals = vec![route53(A, false, 80)];
    for at in (100..=400).step_by(60) {
        signals.extend([
            probe(A, Probe::NoAnswer, at),
            probe(B, Probe::NoAnswer, at),
            async_report(DR1, MemberStatus::Connected, 1.9, None, at + 5),
            async_report(DR2, MemberStatus::Connected, 7.0, None, at + 5),
            tick(at + 10),
        ]);
    }
    let (state, effects) = run(&m, state, signals);

    // THEN a primary exists: never lost, never a request
    assert_ne!(state.phase, Phase::PrimaryLost);
    assert_eq!(requested(&effects), vec![]);
    assert!(!alert_kinds(&effects).contains(&AlertKind::PrimaryLost));
}

#[test]
fn a_silent_primary_region_is_confirmed_from_the_dr_side() {
    // GIVEN the mirror as it runs until 120 s, then nothing at all from us-east-1
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(120));

    // WHEN the asyncs wait for a primary and the DR region's probes get no answer
    let (state, effects) = run(&m, state, silent_region(130, 500));

    // THEN the DR side alone confirms the loss, and says a partition looks the same
    let lost = only_alert(&effects, AlertKind::PrimaryLost);
    assert_eq!(lost.at, t(165));
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PrimaryLost),
            Notice::Mirror(MirrorNotice::PrimaryLost { observers, dr_side_only: true, .. }) if observers == &[Observer::Probe, Observer::Asyncs]
        ),
        "{lost:?}"
    );
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
    let request = state.request(R1).expect("R1");
    assert_eq!(request.created_at, t(345));
    assert!(request.dr_side_only);
    assert_eq!(
        request.observers,
        vec![Observer::Heartbeat, Observer::Probe, Observer::Asyncs]
    );
}

#[test]
fn positive_evidence_ages_into_unknown() {
    // GIVEN Route 53 saw A primary at 0 s, and nothing confirmed it since
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), [route53(A, true, 0)]);
    assert_eq!(state.primary.as_deref(), Some(A));

    // WHEN the evidence is older than evidence_fresh_secs (180 s)
    let view_at = |at: i64| {
        let v = View::new(&state, &m, t(at));
        (v.claim(A).is_some(), v.observers_agreeing_primary_lost())
    };

    // THEN A no longer answers as primary, and Route 53 says nothing either way
    assert_eq!(view_at(180), (true, vec![]));
    assert_eq!(view_at(181), (false, vec![]));
}

#[test]
fn the_same_word_again_confirms_it_and_keeps_when_it_began() {
    let m = hsprod();
    let (state, _) = run(
        &m,
        MirrorState::new("HSPROD", t(0)),
        [route53(A, true, 0), route53(A, true, 60), route53(A, true, 120)],
    );
    let o = &state.members[A].observations[&Observer::Route53];
    assert_eq!((o.at, o.last()), (t(0), t(120)));

    // A word read again with the time its state began (an alarm's state timestamp)
    let mut again = route53(A, false, 200);
    if let SignalKind::Observation { since, .. } = &mut again.kind {
        *since = Some(t(190));
    }
    let (state, _) = run(&m, state, [again]);
    let o = &state.members[A].observations[&Observer::Route53];
    assert_eq!((o.healthy, o.at, o.last()), (false, t(190), t(200)));
}

#[test]
fn an_agent_that_cannot_ask_iris_knows_nothing_and_is_never_down() {
    // GIVEN the mirror as it runs
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(60));

    // WHEN A's agent cannot log in to IRIS, and DR1's cannot either
    let mut unknown = heartbeat(A, MemberStatus::Unknown, 70);
    if let SignalKind::Status { reason, .. } = &mut unknown.kind {
        *reason = Some("login refused".into());
    }
    let dr1 = heartbeat(DR1, MemberStatus::Unknown, 70);
    let (state, effects) = run(&m, state, [unknown, dr1, probe(A, Probe::Primary, 100)]);

    // THEN A still answers as primary (the probe), its agent is not a vote for the
    // loss, and DR1 is not down: it stays a candidate
    assert_eq!((state.phase, alert_kinds(&effects)), (Phase::Normal, vec![]));
    let view = View::new(&state, &m, t(100));
    assert!(view.claim(A).is_some());
    assert!(!view.is_down(DR1));
    assert_eq!(state.members[A].status_reason.as_deref(), Some("login refused"));
}

#[test]
fn a_waiting_request_is_withdrawn_when_an_async_reports_connected() {
    // GIVEN a request raised from the DR side alone
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(120));
    let (state, _) = run(&m, state, silent_region(130, 400));
    assert_eq!(state.phase, Phase::PromotionPending);

    // WHEN DR2 reports Connected again (the partition healed; A never stopped)
    let (state, effects) = run(&m, state, [async_report(DR2, MemberStatus::Connected, 4.0, None, 420)]);

    // THEN the request is withdrawn with the reason, and its link no longer decides
    assert!(
        matches!(
            notice_of(&effects, AlertKind::RequestWithdrawn),
            Notice::Promotion(PromotionNotice::WithdrawnWitness { request, who, evidence })
                if request == R1 && who == DR2 && evidence.starts_with("HSPROD-DR2 reports Connected")
        ),
        "{effects:?}"
    );
    assert_eq!(request_status(&state, R1), RequestStatus::Superseded);
    assert_eq!(state.phase, Phase::PrimaryLost);
}

#[test]
fn approval_is_refused_while_a_member_proves_a_primary() {
    // GIVEN a request raised from the DR side alone
    let m = hsprod();
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), reporting(120));
    let (state, _) = run(&m, state, silent_region(130, 400));

    // WHEN B reports Backup and, in the same instant, an approval arrives first
    let approval = approve(R1, "Dana Whitfield", 420);
    let mut with_backup = state.clone();
    with_backup.members.get_mut(B).expect("B").status = Some((MemberStatus::Backup, t(420)));
    with_backup.members.get_mut(B).expect("B").last_heard = Some(t(420));
    let decided = decide_at(&m, &with_backup, &approval, t(420));

    // THEN it is refused: a backup is connected to a primary, so one exists
    assert!(
        matches!(refusal(&decided), Refusal::PrimaryExists { evidence } if evidence.starts_with("HSPROD-B reports Backup")),
        "{:?}",
        refusal(&decided)
    );
    assert_eq!(executed(&decided.effects), Vec::<&str>::new());
}

/// A and B report every minute until 1200 s; DR1, 0.3 s behind while connected, is
/// last Connected at 240 s and waits for a primary from 300 s on.
fn dr1_loses_its_link_at_300() -> Vec<Signal> {
    let mut signals = Vec::new();
    for at in (0..=1200).step_by(60) {
        signals.extend([
            heartbeat(A, MemberStatus::Primary, at),
            heartbeat(B, MemberStatus::Backup, at),
            if at < 300 {
                async_report(DR1, MemberStatus::Connected, 0.3, None, at)
            } else {
                heartbeat(DR1, MemberStatus::Waiting, at)
            },
        ]);
    }
    signals
}

#[test]
fn the_loss_counts_what_the_candidate_has_not_received() {
    // GIVEN DR1 (0.3 s behind while connected) lost its link at 300 s and says it last
    // received journal data at 298 s; DR2 stays connected 7 s behind
    let m = hsprod();
    let mut signals = dr1_loses_its_link_at_300();
    signals.extend(
        (0..=1200)
            .step_by(60)
            .map(|at| async_report(DR2, MemberStatus::Connected, 7.0, None, at)),
    );
    signals.push(async_report(DR1, MemberStatus::Waiting, 0.3, Some(298), 299));
    signals.sort_by_key(|s| s.at);
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), signals);

    // WHEN the primary region goes silent after 1200 s
    let (state, effects) = run(&m, state, silent_region(1210, 1600));

    // THEN DR2 is proposed; DR1 would lose the 15 minutes since its link dropped
    assert_eq!(requested(&effects), vec![(R1, DR2)]);
    let loss = state.request(R1).expect("R1").loss_estimate();
    assert_eq!(loss.seconds, Some(7.0));
    let Notice::Promotion(PromotionNotice::Requested(ask)) = notice_of(&effects, AlertKind::PromotionRequested) else {
        panic!("a promotion request tells its ask")
    };
    let others: Vec<(&str, String)> = ask.others.iter().map(|(c, l)| (c.as_str(), l.short())).collect();
    assert_eq!(others, vec![(DR1, ">=15 min".to_string())]);
    let view = View::new(&state, &m, t(1600));
    let dr1 = view.loss_estimate(DR1);
    assert_eq!(dr1.seconds, Some(1200.0 - 298.0 + 0.3));
    assert!(dr1
        .words(DR1)
        .contains("lost its link to the primary at 03:04 UTC, 15 min before the primary"));
}

#[test]
fn the_policy_limit_applies_to_the_estimated_loss() {
    // GIVEN only DR1 can be promoted, and it lost its link after 240 s (its last
    // Connected), 16 minutes before the primary was last seen
    let m = hsprod();
    let mut signals = dr1_loses_its_link_at_300();
    signals.push(instance(DR2, false, 10));
    signals.sort_by_key(|s| s.at);
    let (state, _) = run(&m, MirrorState::new("HSPROD", t(0)), signals);
    let (state, effects) = run(&m, state, silent_region(1210, 1600));
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
    let Notice::Promotion(PromotionNotice::Requested(ask)) = notice_of(&effects, AlertKind::PromotionRequested) else {
        panic!("a promotion request tells its ask")
    };
    assert_eq!(
        (
            ask.candidate.as_str(),
            ask.loss.short(),
            ask.lost_since >= t(1200) && ask.lost_since < t(1260)
        ),
        (DR1, ">=16 min".to_string(), true),
        "promote DR1, lost at 03:20 UTC, losing at least 16 min: {ask:?}"
    );

    // WHEN someone approves without accepting the loss, then with it
    let refused = decide_at(&m, &state, &approve(R1, "Dana Whitfield", 1620), t(1620));
    let accepted = decide_at(
        &m,
        &state,
        &accepting_loss(approve(R1, "Dana Whitfield", 1620)),
        t(1620),
    );

    // THEN the estimate, not the stale 0.3 s, is held against the 60 s limit
    assert!(
        matches!(refusal(&refused), Refusal::LatencyOverPolicy { seconds: Some(s), max_seconds: 60 } if s > 900.0),
        "{:?}",
        refusal(&refused)
    );
    assert_eq!(executed(&accepted.effects), vec![R1]);
}

#[test]
fn the_promoted_primary_is_watched_like_any_primary() {
    // GIVEN DR1 promoted and answering as primary (epoch 2), DR2 connected to it
    let m = hsprod();
    let mut signals = vec![status(DR1, MemberStatus::Primary, 400)];
    for at in (420..=600).step_by(60) {
        signals.extend([
            heartbeat(DR1, MemberStatus::Primary, at),
            async_report(DR2, MemberStatus::Connected, 0.4, None, at),
        ]);
    }
    let (state, _) = run(&m, promoting(&m), signals);
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::DrActive, 2, Some(DR1))
    );

    // WHEN DR1's instance stops and DR2 waits for a primary
    let mut signals = vec![instance(DR1, false, 610), status(DR2, MemberStatus::Waiting, 620)];
    for at in (660..=900).step_by(60) {
        signals.extend([heartbeat(DR2, MemberStatus::Waiting, at), tick(at)]);
    }
    let (state, effects) = run(&m, state, signals);

    // THEN its loss is critical, and promoting DR2 is asked for in the new epoch
    let lost = only_alert(&effects, AlertKind::PrimaryLost);
    assert_eq!(lost.severity, Severity::Critical);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PrimaryLost),
            Notice::Mirror(MirrorNotice::PrimaryLost { lost: Some(lost), dr_primary: true, .. }) if lost == DR1
        ),
        "{lost:?}"
    );
    assert_eq!(requested(&effects), vec![("HSPROD-R2", DR2)]);
    assert_eq!(state.request("HSPROD-R2").map(|r| r.epoch), Some(2));
}

#[test]
fn a_failover_seen_late_is_not_two_primaries() {
    // GIVEN A answering as primary, its last word at 60 s
    let m = hsprod();
    let (state, _) = run(
        &m,
        normal(&m),
        [
            heartbeat(A, MemberStatus::Primary, 60),
            heartbeat(B, MemberStatus::Backup, 60),
        ],
    );

    // WHEN B reports Primary at 90 s, while A's last word is still fresh
    let (state, effects) = run(&m, state, [status(B, MemberStatus::Primary, 90), tick(300)]);

    // THEN IRIS failed over: a new epoch, no split brain
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::FailedOver, 2, Some(B))
    );
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FailedOver]);
}

#[test]
fn high_availability_is_restored_only_on_evidence() {
    // GIVEN B's instance stopped: degraded
    let m = hsprod();
    let signals = [
        route53(A, true, 50),
        heartbeat(B, MemberStatus::Backup, 50),
        instance(B, false, 60),
    ];
    let (state, _) = run(&m, normal(&m), signals);
    assert_eq!(state.phase, Phase::Degraded);

    // WHEN B's instance is seen running again, but B says it is still synchronizing
    let (state, effects) = run(
        &m,
        state,
        [
            instance(B, true, 100),
            heartbeat(B, MemberStatus::Synchronizing, 110),
            route53(A, true, 110),
        ],
    );

    // THEN high availability is not back yet: B is not a backup
    assert_eq!((state.phase, alert_kinds(&effects)), (Phase::Degraded, vec![]));

    // WHEN B reports Backup
    let (state, effects) = run(
        &m,
        state,
        [heartbeat(B, MemberStatus::Backup, 170), route53(A, true, 170)],
    );

    // THEN it is
    assert_eq!(
        (state.phase, alert_kinds(&effects)),
        (Phase::Normal, vec![AlertKind::HaRestored])
    );
}

#[test]
fn an_executor_that_stopped_after_its_claim_is_resumed_once_after_the_stale_time() {
    // GIVEN R1 approved and claimed at 300 s, and the executor stopped before it recorded anything
    let m = hsprod();
    let state = promoting(&m);
    assert_eq!(state.request(R1).map(|r| r.claims), Some(1));

    // WHEN ticks come before the stale time (300 s after the claim)
    let (state, effects) = run(&m, state, [tick(400), tick(599)]);

    // THEN nothing is handed over: the executor may still be running
    assert_eq!(executed(&effects), Vec::<&str>::new());

    // WHEN a tick comes after it
    let (state, effects) = run(&m, state, [tick(600)]);

    // THEN it is handed over again, and the next claim is a resumption
    assert_eq!(executed(&effects), vec![R1]);
    let resumed = step(&m, &state, started(R1, 610));
    assert_eq!(resumed.verdict, Verdict::Applied);
    assert_eq!(resumed.state.request(R1).map(|r| r.claims), Some(2));
    // AND a second executor racing for the same resumption is turned away
    let again = step(&m, &resumed.state, started(R1, 611));
    assert!(matches!(again.verdict, Verdict::Ignored { .. }), "{:?}", again.verdict);

    // WHEN the actions are recorded done, THEN no tick hands it over any more
    let (state, _) = run(&m, resumed.state, [outcome(R1, true, "SSM command c-1", 620)]);
    let (_, effects) = run(&m, state, [tick(1000)]);
    assert_eq!(executed(&effects), Vec::<&str>::new());
}

// ---- fencing the former primary region after a DR promotion ---------------------------

/// DR1 answers as primary every minute from `from` to `to`.
fn dr1_serving(from: i64, to: i64) -> Vec<Signal> {
    (from..=to)
        .step_by(60)
        .flat_map(|at| [heartbeat(DR1, MemberStatus::Primary, at), tick(at + 5)])
        .collect()
}

/// DR1 was promoted and reports primary (epoch 2) since 400 s; us-east-1 is still dark.
fn dr_active(m: &Mirror) -> MirrorState {
    let mut signals = vec![status(DR1, MemberStatus::Primary, 400)];
    signals.extend(dr1_serving(420, 900));
    let (state, _) = run(m, promoting(m), signals);
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::DrActive, 2, Some(DR1))
    );
    state
}

/// us-east-1 comes back at `at`: the instances run again, and the agents on A and B
/// speak; IRIS there waits (it takes no role on its own while DR1 is primary).
fn region_returns(at: i64) -> Vec<Signal> {
    vec![
        instance(A, true, at),
        instance(B, true, at),
        heartbeat(A, MemberStatus::Waiting, at + 20),
        heartbeat(B, MemberStatus::Waiting, at + 20),
    ]
}

/// The fencing request the effects raised, by its alert.
fn fencing_request(effects: &[Effect]) -> String {
    only_alert(effects, AlertKind::FencingRequested)
        .request
        .clone()
        .expect("a fencing request alert names its request")
}

/// (members, primary) of every fencing ordered to execute.
fn fencings(effects: &[Effect]) -> Vec<(Vec<String>, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ExecuteFencing { members, primary, .. } => Some((members.clone(), primary.clone())),
            _ => None,
        })
        .collect()
}

fn fenced_outcome(request: &str, members: &[&str], at: i64) -> Signal {
    signal(
        at,
        SignalKind::PromotionOutcome {
            request: request.into(),
            ok: true,
            detail: "SSM document HSPROD-FenceMember sent".into(),
            fenced: members.iter().map(|m| m.to_string()).collect(),
        },
    )
}

#[test]
fn the_former_region_heard_after_a_dr_promotion_is_offered_for_fencing_once() {
    // GIVEN DR1 promoted and serving (epoch 2)
    let m = hsprod();
    let state = dr_active(&m);

    // WHEN us-east-1 comes back at 1000 s and its agents go on speaking
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1500));
    for at in (1080..=1500).step_by(60) {
        signals.extend([
            heartbeat(A, MemberStatus::Waiting, at),
            heartbeat(B, MemberStatus::Waiting, at),
        ]);
    }
    let (state, effects) = run(&m, state, signals);

    // THEN one critical fencing request with a link, for A and B, never DR1, and DR1
    // stays the primary of a phase that does not change
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FencingRequested]);
    let alert = only_alert(&effects, AlertKind::FencingRequested);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(link(alert).starts_with(PUBLIC_URL));
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FencingRequested),
            Notice::Fencing(FencingNotice::Requested(ask)) if ask.claiming.is_empty() && ask.primary == DR1 && ask.targets == [A, B]
        ),
        "the region is back, nobody there answers as primary: not urgent"
    );
    assert_eq!(alert.at, t(1000), "raised at the first word of the region");
    let id = fencing_request(&effects);
    let request = state.request(&id).expect("the request is stored");
    assert_eq!(request.kind, super::state::RequestKind::Fencing);
    assert_eq!(request.fence_members, vec![A.to_string(), B.to_string()]);
    assert_eq!((request.candidate.as_str(), request.epoch), (DR1, 2));
    assert!(
        request.returned.as_deref().is_some_and(|r| r.contains("instance runs")),
        "{:?}",
        request.returned
    );
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::DrActive, Some(DR1)));
    assert!(state.open_request().is_none(), "it is not a promotion request");
}

#[test]
fn an_approved_fencing_runs_on_each_former_failover_member_never_on_the_primary() {
    // GIVEN the fencing request raised when us-east-1 came back
    let m = hsprod();
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, dr_active(&m), signals);
    let id = fencing_request(&effects);
    let sent = only_alert(&effects, AlertKind::FencingRequested).clone();

    // WHEN Dana approves from the link
    let decided = step(&m, &state, via(link(&sent), approve(&id, "Dana Whitfield", 1100)));
    assert!(matches!(
        decided.verdict,
        Verdict::Decision(DecisionVerdict::Approved { executing: true, .. })
    ));
    let (state, effects) = run(&m, state, [via(link(&sent), approve(&id, "Dana Whitfield", 1100))]);

    // THEN fencing is ordered once, for A and B, and the primary stays DR1
    assert_eq!(
        fencings(&effects),
        vec![(vec![A.to_string(), B.to_string()], DR1.to_string())]
    );
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FencingApproved]);
    assert_eq!(executed(&effects), Vec::<&str>::new(), "nothing is promoted");
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::DrActive, Some(DR1)));
    assert_eq!(request_status(&state, &id), RequestStatus::Approved);

    // WHEN the executor claims it and both commands are accepted
    let (state, effects) = run(&m, state, [started(&id, 1110), fenced_outcome(&id, &[A, B], 1120)]);

    // THEN A and B are shown fenced, the request succeeded, and people are told
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FencingSent]);
    assert_eq!(request_status(&state, &id), RequestStatus::Succeeded);
    let fenced: Vec<&str> = state.fenced().map(|(name, _)| name).collect();
    assert_eq!(fenced, vec![A, B]);
    assert!(state.members.get(DR1).is_some_and(|m| m.fenced.is_none()));

    // WHEN their agents go on speaking long after the cool-down
    let mut signals = dr1_serving(1140, 3600);
    for at in (1140..=3600).step_by(60) {
        signals.extend([heartbeat(A, MemberStatus::Waiting, at), instance(B, true, at)]);
    }
    let (state, effects) = run(&m, state, signals);

    // THEN fenced members raise nothing more
    assert_eq!(alert_kinds(&effects), vec![]);
    assert_eq!(state.open_fencing(), None);
}

#[test]
fn a_fencing_order_handed_over_again_after_its_executor_stopped_is_the_same() {
    // GIVEN an approved fencing request whose executor never claimed it
    let m = hsprod();
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, dr_active(&m), signals);
    let id = fencing_request(&effects);
    let (state, _) = run(&m, state, [approve(&id, "Dana Whitfield", 1100)]);

    // WHEN the next ticks come
    let (_, effects) = run(&m, state, [heartbeat(DR1, MemberStatus::Primary, 1160), tick(1170)]);

    // THEN the same fencing is handed over again (its claim makes it run once)
    assert_eq!(
        fencings(&effects),
        vec![(vec![A.to_string(), B.to_string()], DR1.to_string())]
    );
}

#[test]
fn a_rejected_fencing_request_fences_nothing_and_asks_again_after_the_cool_down() {
    // GIVEN the fencing request raised when us-east-1 came back
    let m = hsprod();
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, dr_active(&m), signals);
    let id = fencing_request(&effects);

    // WHEN Dana rejects it
    let (state, effects) = run(&m, state, [reject(&id, "Dana Whitfield", 1100)]);

    // THEN nothing is fenced, the primary is unchanged, and people are told how to fence by hand
    assert_eq!(fencings(&effects), vec![]);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FencingRejected),
            Notice::Fencing(FencingNotice::Rejected { members, by, .. }) if members == &[A, B] && by == "Dana Whitfield"
        ),
        "{effects:?}"
    );
    // (the steps by hand are the wording's: wording::tests)
    assert_eq!(request_status(&state, &id), RequestStatus::Rejected);
    assert_eq!(state.phase, Phase::DrActive);

    // WHEN the region goes on speaking through the cool-down (900 s) and after it
    let mut signals = dr1_serving(1140, 2100);
    for at in (1140..=2100).step_by(60) {
        signals.push(heartbeat(A, MemberStatus::Waiting, at));
    }
    let (state, effects) = run(&m, state, signals);

    // THEN it is asked again once, after the cool-down, with a new request
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FencingRequested]);
    assert!(only_alert(&effects, AlertKind::FencingRequested).at >= t(2000));
    let again = fencing_request(&effects);
    assert_ne!(again, id);
    assert_eq!(state.open_fencing().map(|r| r.id.clone()), Some(again));
}

#[test]
fn an_unanswered_fencing_request_is_reminded_then_expires() {
    // GIVEN the fencing request raised at 1000 s
    let m = hsprod();
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, dr_active(&m), signals);
    let id = fencing_request(&effects);

    // WHEN nobody decides for 1800 s (the link's life)
    let (state, effects) = run(&m, state, dr1_serving(1140, 2820));

    // THEN it is reminded every 600 s with a fresh link, then expires, critically
    assert_eq!(
        alert_kinds(&effects),
        vec![
            AlertKind::FencingReminder,
            AlertKind::FencingReminder,
            AlertKind::FencingExpired
        ]
    );
    for reminder in alerts(&effects).iter().filter(|a| a.kind == AlertKind::FencingReminder) {
        assert!(link(reminder).starts_with(PUBLIC_URL));
    }
    assert_eq!(
        only_alert(&effects, AlertKind::FencingExpired).severity,
        Severity::Critical
    );
    assert_eq!(request_status(&state, &id), RequestStatus::Expired);
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::DrActive, Some(DR1)));
}

#[test]
fn when_the_old_primary_answers_as_primary_the_fencing_offer_is_urgent() {
    // GIVEN DR1 promoted and serving
    let m = hsprod();
    let state = dr_active(&m);

    // WHEN us-east-1 returns and A answers as primary (nothing stopped it)
    let mut signals = vec![heartbeat(A, MemberStatus::Primary, 1000), route53(A, true, 1000)];
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, state, signals);

    // THEN the fencing request says it is urgent, and DR1 is still the primary
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FencingRequested),
            Notice::Fencing(FencingNotice::Requested(ask)) if ask.claiming == [A] && ask.primary == DR1
        ),
        "{effects:?}"
    );
    assert_eq!(state.primary.as_deref(), Some(DR1));
}

#[test]
fn without_a_fencing_document_the_return_is_alerted_once_with_the_steps_by_hand() {
    // GIVEN a mirror with no fencing document, DR1 promoted and serving
    let m = hsprod_with(|m| m.promotion.fence_document = None);
    let state = dr_active(&m);

    // WHEN us-east-1 comes back and goes on speaking
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 2500));
    for at in (1080..=2500).step_by(60) {
        signals.push(heartbeat(A, MemberStatus::Waiting, at));
    }
    let (state, effects) = run(&m, state, signals);

    // THEN one critical alert, without link or request, says how to fence by hand
    assert_eq!(alert_kinds(&effects), vec![AlertKind::FormerRegionBack]);
    let alert = only_alert(&effects, AlertKind::FormerRegionBack);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!((alert.link.as_deref(), alert.request.as_deref()), (None, None));
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FormerRegionBack),
            Notice::Fencing(FencingNotice::FormerRegionBack { primary, unfenced, .. }) if primary == DR1 && unfenced == &[A, B]
        ),
        "{alert:?}"
    );
    assert_eq!(state.open_fencing(), None);
}

#[test]
fn a_former_failover_member_without_an_instance_is_left_to_the_operator() {
    // GIVEN B has no instance_id in the topology, DR1 promoted and serving
    let m = hsprod_with(|m| {
        if let Some(b) = m.members.iter_mut().find(|b| b.name == B) {
            b.instance_id = None;
        }
    });
    let state = dr_active(&m);

    // WHEN us-east-1 comes back
    let mut signals = region_returns(1000);
    signals.extend(dr1_serving(960, 1080));
    let (state, effects) = run(&m, state, signals);

    // THEN only A is offered for fencing, and B is named to fence by hand
    let id = fencing_request(&effects);
    assert_eq!(
        state.request(&id).map(|r| r.fence_members.clone()),
        Some(vec![A.to_string()])
    );
    assert!(
        matches!(
            notice_of(&effects, AlertKind::FencingRequested),
            Notice::Fencing(FencingNotice::Requested(ask)) if ask.targets == [A] && ask.by_hand == [B]
        ),
        "{effects:?}"
    );
}

#[test]
fn the_approval_records_whether_the_promotion_may_run_without_partner() {
    // GIVEN R1 asks to promote DR1
    let m = hsprod();
    let (state, _) = pending(&m);

    // WHEN Dana approves without ticking "I accept the data loss"
    let (plain, _) = run(&m, state.clone(), [approve(R1, "Dana Whitfield", 300)]);
    // THEN the promotion must run with partner
    assert_eq!(plain.request(R1).map(|r| r.accepted_without_partner), Some(false));

    // WHEN she ticks it
    let (accepted, effects) = run(&m, state, [accepting_loss(approve(R1, "Dana Whitfield", 300))]);
    // THEN it may run without partner, and the alert says which way it goes
    assert_eq!(accepted.request(R1).map(|r| r.accepted_without_partner), Some(true));
    assert!(
        matches!(
            notice_of(&effects, AlertKind::PromotionApproved),
            Notice::Promotion(PromotionNotice::Approved { accept_loss: true, candidate, .. }) if candidate == DR1
        ),
        "{effects:?}"
    );
}

// ---- the promote command followed to its end -----------------------------------

const PROMOTE_DOCUMENT: &str = "HSPROD-PromoteDrAsync";

/// The comment mirrorgate's executor gives the promote command of `request` in `epoch`.
fn comment(request: &str, epoch: u64) -> Option<String> {
    Some(format!(
        "mirrorgate HSPROD request {request} epoch {epoch}: promote {DR1}"
    ))
}

/// A Run Command status event of `document` on `member`, as mirror-events hands it
/// over (with the comment and output it read back, or why it could not).
fn command(
    document: &str,
    member: &str,
    status: RunStatus,
    comment: Option<String>,
    output: Option<&str>,
    at: i64,
) -> Signal {
    let unread = output
        .is_none()
        .then(|| "SSM GetCommandInvocation: InvocationDoesNotExist".to_string());
    signal(
        at,
        SignalKind::CommandStatus(CommandReport {
            member: member.into(),
            command_id: "0b8f3a52-7c1e-4d9a-a6b2-3f4e5d6c7b8a".into(),
            document: document.into(),
            status,
            requested_at: Some(t(301)),
            comment,
            output: output.map(str::to_string),
            unread,
        }),
    )
}

const FAILED_OUTPUT: &str = "PROMOTE FAILED (HSPROD-R1): no failover member's ISCAgent answers (hsprod-a.hsprod.internal:2188 hsprod-b.hsprod.internal:2188) and the approval did not accept a promotion without a partner\nnothing was changed: approve again accepting the data loss, or promote by hand\npreflight: IRIS is a Disaster Recovery async of HSPROD, mirror status Waiting";

#[test]
fn a_failed_promote_command_is_alerted_at_once_with_its_status_and_first_lines() {
    for status in [
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
        RunStatus::DeliveryTimedOut,
        RunStatus::ExecutionTimedOut,
        RunStatus::Undeliverable,
        RunStatus::Terminated,
    ] {
        // GIVEN R1 approved and its promote command sent at 301
        let m = hsprod();
        let state = promoting(&m);
        let epoch = state.request(R1).expect("R1").epoch;

        // WHEN its status event says it ended without doing its work, 20 s later
        let failed = step(
            &m,
            &state,
            command(
                PROMOTE_DOCUMENT,
                DR1,
                status,
                comment(R1, epoch),
                Some(FAILED_OUTPUT),
                320,
            ),
        );

        // THEN a critical promotion_failed goes out at once, quoting the status and output
        let alert = only_alert(&failed.effects, AlertKind::PromotionFailed);
        assert_eq!(alert.severity, Severity::Critical);
        assert!(
            matches!(
                notice_of(&failed.effects, AlertKind::PromotionFailed),
                Notice::Promotion(PromotionNotice::ScriptFailed { request, candidate, report })
                    if request == R1 && candidate == DR1 && report.status == status
                        && report.output.as_deref() == Some(FAILED_OUTPUT)
            ),
            "{alert:?}"
        );
        // and the request is closed as failed; people take over
        assert_eq!(request_status(&failed.state, R1), RequestStatus::Failed);
        assert_eq!(failed.state.phase, Phase::PrimaryLost);
        let last = failed.state.members[DR1]
            .last_command
            .as_ref()
            .expect("recorded on DR1");
        assert_eq!(last.status, status);
        // and the next tick proposes nothing in this epoch
        let (_, later) = run(&m, failed.state.clone(), ticks(330, 1200));
        assert_eq!(requested(&later), Vec::<(&str, &str)>::new(), "{status:?}");
    }
}

#[test]
fn a_failed_promote_command_whose_output_cannot_be_read_is_alerted_all_the_same() {
    // GIVEN R1 being promoted; WHEN its command fails and GetCommandInvocation failed
    let m = hsprod();
    let state = promoting(&m);
    let epoch = state.request(R1).expect("R1").epoch;
    let failed = step(
        &m,
        &state,
        command(PROMOTE_DOCUMENT, DR1, RunStatus::Failed, comment(R1, epoch), None, 320),
    );

    // THEN the alert goes out and says the output could not be read, and why
    assert!(
        matches!(
            notice_of(&failed.effects, AlertKind::PromotionFailed),
            Notice::Promotion(PromotionNotice::ScriptFailed { report, .. })
                if report.output.is_none()
                    && report.unread.as_deref() == Some("SSM GetCommandInvocation: InvocationDoesNotExist")
        ),
        "{:?}",
        failed.effects
    );
}

#[test]
fn a_succeeded_promote_command_is_recorded_and_the_success_waits_for_the_member() {
    // GIVEN R1 being promoted
    let m = hsprod();
    let state = promoting(&m);
    let epoch = state.request(R1).expect("R1").epoch;

    // WHEN the command runs, then succeeds
    let (after, effects) = run(
        &m,
        state,
        [
            command(
                PROMOTE_DOCUMENT,
                DR1,
                RunStatus::InProgress,
                comment(R1, epoch),
                Some(""),
                305,
            ),
            command(
                PROMOTE_DOCUMENT,
                DR1,
                RunStatus::Success,
                comment(R1, epoch),
                Some("PROMOTED (HSPROD-R1): IRIS is primary of HSPROD after 15 s"),
                330,
            ),
        ],
    );

    // THEN nothing is alerted yet and the request is still being carried out, with
    // the script's success recorded on it and in the history
    assert_eq!(alert_kinds(&effects), Vec::<AlertKind>::new());
    assert_eq!(request_status(&after, R1), RequestStatus::Approved);
    let record = after
        .request(R1)
        .and_then(|r| r.command.clone())
        .expect("the command is recorded");
    assert_eq!(record.status, RunStatus::Success);
    assert!(
        record
            .describe()
            .starts_with("script HSPROD-PromoteDrAsync succeeded at 2026-11-25 03:05:30 UTC"),
        "{}",
        record.describe()
    );
    assert!(
        after
            .history
            .iter()
            .any(|h| h.what.contains("succeeded at 2026-11-25 03:05:30 UTC")),
        "{:?}",
        after.history
    );

    // WHEN DR1 reports primary THEN the promotion succeeds, as before
    let done = step(&m, &after, status(DR1, MemberStatus::Primary, 340));
    only_alert(&done.effects, AlertKind::PromotionSucceeded);
    assert_eq!(done.state.phase, Phase::DrActive);
}

#[test]
fn a_command_of_no_current_promotion_changes_nothing() {
    // GIVEN R1 being promoted in its epoch
    let m = hsprod();
    let state = promoting(&m);
    let epoch = state.request(R1).expect("R1").epoch;

    // WHEN a failed status arrives for a command naming an older epoch, or another
    // request, or a command of the promote document sent before the claim with no
    // comment to read
    let cases = [comment(R1, epoch.saturating_sub(1)), comment("HSPROD-R0", epoch)];
    for named in cases {
        let stale = step(
            &m,
            &state,
            command(PROMOTE_DOCUMENT, DR1, RunStatus::Failed, named.clone(), Some("x"), 320),
        );
        // THEN nothing changes and nothing is alerted
        assert!(
            matches!(stale.verdict, Verdict::Ignored { .. }),
            "{named:?}: {:?}",
            stale.verdict
        );
        assert_eq!(stale.state, state);
        assert!(stale.effects.is_empty());
    }
    let mut early = command(PROMOTE_DOCUMENT, DR1, RunStatus::Failed, None, None, 320);
    if let SignalKind::CommandStatus(report) = &mut early.kind {
        report.requested_at = Some(t(100));
    }
    let ignored = step(&m, &state, early);
    assert!(
        matches!(ignored.verdict, Verdict::Ignored { .. }),
        "{:?}",
        ignored.verdict
    );

    // and once R1 has succeeded, a late failure of its command changes nothing either
    let done = step(&m, &state, status(DR1, MemberStatus::Primary, 340)).state;
    let late = step(
        &m,
        &done,
        command(
            PROMOTE_DOCUMENT,
            DR1,
            RunStatus::Failed,
            comment(R1, epoch),
            Some("x"),
            400,
        ),
    );
    assert!(matches!(late.verdict, Verdict::Ignored { .. }), "{:?}", late.verdict);
    assert!(late.effects.is_empty());
}

#[test]
fn a_promote_command_without_a_readable_comment_is_matched_by_when_it_was_sent() {
    // GIVEN R1 claimed at 300; WHEN a failure of a command sent at 301 to DR1 arrives
    // and its comment could not be read
    let m = hsprod();
    let state = promoting(&m);
    let failed = step(
        &m,
        &state,
        command(PROMOTE_DOCUMENT, DR1, RunStatus::Failed, None, None, 320),
    );
    // THEN it is R1's command: alerted at once
    only_alert(&failed.effects, AlertKind::PromotionFailed);
    assert_eq!(request_status(&failed.state, R1), RequestStatus::Failed);
}

#[test]
fn a_fence_command_is_recorded_on_its_member_with_its_document_and_comment() {
    // GIVEN a mirror; WHEN the fence document's command on A reports Success
    let m = hsprod();
    let state = promoting(&m);
    let fenced = step(
        &m,
        &state,
        command(
            "HSPROD-FenceMember",
            A,
            RunStatus::Success,
            Some("mirrorgate HSPROD request HSPROD-F1 epoch 2: fence HSPROD-A".into()),
            Some("FENCED (HSPROD-F1): IRIS of HSPROD demoted"),
            320,
        ),
    );
    // THEN it is recorded on A, and nothing else happens
    assert_eq!(fenced.verdict, Verdict::Applied);
    assert!(fenced.effects.is_empty());
    let last = fenced.state.members[A].last_command.as_ref().expect("recorded");
    assert_eq!(
        (last.document.as_str(), last.status, last.comment.as_deref()),
        (
            "HSPROD-FenceMember",
            RunStatus::Success,
            Some("mirrorgate HSPROD request HSPROD-F1 epoch 2: fence HSPROD-A")
        )
    );
    assert_eq!(fenced.state.phase, state.phase);
}

// ---- the DR members' SSM agents --------------------------------------------------

fn agents(at: i64, offline: &[&str]) -> Signal {
    let agents = [DR1, DR2]
        .iter()
        .map(|member| AgentReport {
            member: member.to_string(),
            online: !offline.contains(member),
            detail: if offline.contains(member) {
                format!("the SSM agent of {member} (i-0ddddddddddddddd4) is ConnectionLost, not Online")
            } else {
                "Online".into()
            },
        })
        .collect();
    signal(at, SignalKind::SsmAgents { agents })
}

#[test]
fn an_offline_agent_on_the_best_candidate_is_warned_once_per_cool_down() {
    // GIVEN a normal mirror where DR1 is the best candidate
    let m = hsprod();
    let state = normal(&m);

    // WHEN health-poll finds DR1's agent ConnectionLost, minute after minute
    let (after, effects) = run(&m, state.clone(), (1..=14).map(|i| agents(60 * i, &[DR1])));

    // THEN one warning says a promotion would not run, and what to do
    let alert = only_alert(&effects, AlertKind::SsmAgentOffline);
    assert_eq!(alert.severity, Severity::Warning);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::SsmAgentOffline),
            Notice::Promotion(PromotionNotice::SsmAgentOffline { member, since, .. }) if member == DR1 && *since == t(60)
        ),
        "{alert:?}"
    );
    assert_eq!(
        after.members[DR1].ssm_agent.as_ref().map(|a| (a.online, a.since)),
        Some((false, t(60)))
    );

    // and after the cool-down (900 s) it is said again while it lasts
    let (_, later) = run(&m, after, [agents(60 + 900, &[DR1])]);
    only_alert(&later, AlertKind::SsmAgentOffline);

    // WHEN only DR2's agent is offline THEN nothing is said: DR1 would be promoted
    let (_, quiet) = run(&m, state, [agents(60, &[DR2])]);
    assert_eq!(alert_kinds(&quiet), Vec::<AlertKind>::new());
}
