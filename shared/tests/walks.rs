//! Generated scenarios: random walks of signals over the reference mirror
//! (observations, role changes, heartbeats, journal latency, ticks, approvals and
//! rejections, redeliveries of earlier signals now or much later; event times up
//! to 4 s late or, from a skewed clock, up to 20 s ahead), checked after every step
//! against the invariants people rely on:
//!
//! - at most one promotion executes per request and per epoch, and only a DR async member;
//! - epochs and versions never decrease;
//! - a promotion request is raised only after at least `min_observers` observers
//!   agreed the primary was lost, at every signal, for the whole confirmation window;
//! - never a request while a failover member claims primary;
//! - a critical alert about a request (requested, approved, succeeded) is sent once;
//! - a signal delivered again at once changes nothing and says nothing.

use crate::reliability;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reliability::*;
use shared::adapters::embedded::MemoryStore;
use shared::domain::view::View;
use shared::domain::{
    Authority, Decision, DecisionAction, JournalLatency, MemberStatus, MirrorState, Signal, SignalKind,
};
use shared::domain::{MemberKind, Observer};
use shared::engine::Report;
use shared::topology::Topology;

const MEMBERS: [&str; 4] = ["HSPROD-A", "HSPROD-B", "HSPROD-DR1", "HSPROD-DR2"];
const PEOPLE: [&str; 3] = ["Dana Whitfield", "Sam Okafor", "Lee Park"];

/// One step of a walk: time passes, then something is delivered.
#[derive(Debug, Clone)]
struct Step {
    advance_secs: u16,
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    Observe {
        member: usize,
        route53: bool,
        healthy: bool,
        late_secs: i8,
    },
    Status {
        member: usize,
        status: MemberStatus,
        heartbeat: bool,
        latency_secs: Option<u16>,
        late_secs: i8,
    },
    Latency {
        member: usize,
        secs: u16,
    },
    Tick,
    Decide {
        approve: bool,
        by: usize,
        accept_loss: bool,
    },
    /// An earlier signal delivered again (its id and time unchanged).
    Redeliver {
        which: prop::sample::Index,
    },
}

fn status() -> impl Strategy<Value = MemberStatus> {
    prop_oneof![
        4 => Just(MemberStatus::Primary),
        3 => Just(MemberStatus::Backup),
        3 => Just(MemberStatus::Connected),
        2 => Just(MemberStatus::Down),
        1 => Just(MemberStatus::InTrouble),
        1 => Just(MemberStatus::Transition),
        1 => Just(MemberStatus::Synchronizing),
        1 => Just(MemberStatus::Waiting),
        1 => Just(MemberStatus::NotInitialized),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0..MEMBERS.len(), any::<bool>(), prop::bool::weighted(0.4), -20i8..5).prop_map(
            |(member, route53, healthy, late_secs)| Action::Observe { member, route53, healthy, late_secs }
        ),
        6 => (0..MEMBERS.len(), status(), any::<bool>(), prop::option::of(0u16..120), -20i8..5).prop_map(
            |(member, status, heartbeat, latency_secs, late_secs)| Action::Status {
                member,
                status,
                heartbeat,
                latency_secs,
                late_secs
            }
        ),
        1 => (2..MEMBERS.len(), 0u16..120).prop_map(|(member, secs)| Action::Latency { member, secs }),
        4 => Just(Action::Tick),
        2 => (prop::bool::weighted(0.8), 0..PEOPLE.len(), any::<bool>())
            .prop_map(|(approve, by, accept_loss)| Action::Decide { approve, by, accept_loss }),
        3 => any::<prop::sample::Index>().prop_map(|which| Action::Redeliver { which }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (prop_oneof![3 => 0u16..20, 2 => 20u16..120, 1 => 120u16..900], action())
        .prop_map(|(advance_secs, action)| Step { advance_secs, action })
}

/// What one walk did, for the figures.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    steps: usize,
    redelivered: usize,
    requests: usize,
    executions: usize,
}

/// Whether enough observers agree that the primary is lost, and no failover member claims primary.
fn loss_agreed(state: &MirrorState, topology: &Topology, now: DateTime<Utc>) -> bool {
    let Some(mirror) = topology.mirror("HSPROD") else {
        return false;
    };
    let view = View::new(state, mirror, now);
    view.claims().iter().all(|c| !mirror.is_failover(c.member))
        && view.observers_agreeing_primary_lost().len() >= mirror.policy.min_observers
}

fn failover_claims(state: &MirrorState, topology: &Topology, now: DateTime<Utc>) -> Vec<String> {
    let Some(mirror) = topology.mirror("HSPROD") else {
        return Vec::new();
    };
    View::new(state, mirror, now)
        .claims()
        .iter()
        .filter(|c| mirror.is_failover(c.member))
        .map(|c| c.member.to_string())
        .collect()
}

/// Runs one walk and checks every invariant after every step.
fn walk(steps: &[Step]) -> Result<Tally, TestCaseError> {
    let topology = topology();
    let mirror = topology.mirror("HSPROD").cloned().expect("HSPROD");
    let window = Duration::seconds(mirror.policy.confirmation_window_secs as i64);
    let engine = test_engine_on(topology.clone(), MemoryStore::default());
    let mut tally = Tally::default();
    runtime().block_on(async {
        let mut now = t(0);
        let mut sent: Vec<Signal> = Vec::new();
        let mut before = engine.state("HSPROD", now).await.expect("state");
        // Since when the loss has been agreed at every signal, as seen after each one.
        let mut agreed_since: Option<DateTime<Utc>> = None;
        let mut once: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut executed_requests: BTreeSet<String> = BTreeSet::new();
        let mut executed_epochs: BTreeSet<u64> = BTreeSet::new();
        for (n, s) in steps.iter().enumerate() {
            now += Duration::seconds(i64::from(s.advance_secs));
            let signal = match &s.action {
                Action::Observe {
                    member,
                    route53,
                    healthy,
                    late_secs,
                } => Some(Signal {
                    mirror: "HSPROD".into(),
                    id: Some(format!("obs-{n}")),
                    at: now - Duration::seconds(i64::from(*late_secs)),
                    kind: SignalKind::Observation {
                        unreachable: false,
                        alarm_arn: None,
                        since: None,
                        member: MEMBERS[*member].into(),
                        observer: if *route53 {
                            Observer::Route53
                        } else {
                            Observer::Instance
                        },
                        healthy: *healthy,
                        source: "walk".into(),
                    },
                }),
                Action::Status {
                    member,
                    status,
                    heartbeat,
                    latency_secs,
                    late_secs,
                } => {
                    let at = now - Duration::seconds(i64::from(*late_secs));
                    Some(Signal {
                        mirror: "HSPROD".into(),
                        id: Some(format!("status-{n}")),
                        at,
                        kind: SignalKind::Status {
                            reason: None,
                            member: MEMBERS[*member].into(),
                            status: *status,
                            heartbeat: *heartbeat,
                            journal_latency: latency_secs.map(|secs| JournalLatency {
                                received_at: None,
                                seconds: f64::from(secs) / 2.0,
                                bytes: None,
                                files: None,
                                measured_at: at,
                            }),
                        },
                    })
                }
                Action::Latency { member, secs } => Some(Signal {
                    mirror: "HSPROD".into(),
                    id: Some(format!("latency-{n}")),
                    at: now,
                    kind: SignalKind::JournalLatency {
                        member: MEMBERS[*member].into(),
                        latency: JournalLatency {
                            received_at: None,
                            seconds: f64::from(*secs) / 2.0,
                            bytes: None,
                            files: None,
                            measured_at: now,
                        },
                    },
                }),
                Action::Tick => Some(Signal {
                    mirror: "HSPROD".into(),
                    id: None,
                    at: now,
                    kind: SignalKind::Tick,
                }),
                Action::Decide {
                    approve,
                    by,
                    accept_loss,
                } => {
                    let request = before
                        .open_request()
                        .or_else(|| before.latest_request())
                        .map(|r| r.id.clone())
                        .unwrap_or_default();
                    Some(Signal {
                        mirror: "HSPROD".into(),
                        id: None,
                        at: now,
                        kind: SignalKind::Decision(Decision {
                            request,
                            action: if *approve {
                                DecisionAction::Approve
                            } else {
                                DecisionAction::Reject
                            },
                            by: PEOPLE[*by].into(),
                            accept_loss: *accept_loss,
                            authority: Authority::Operator,
                            source_ip: None,
                            user_agent: None,
                            shown: None,
                        }),
                    })
                }
                Action::Redeliver { which } => {
                    let copy = (!sent.is_empty()).then(|| sent[which.index(sent.len())].clone());
                    if copy.is_some() {
                        tally.redelivered += 1;
                    }
                    copy
                }
            };
            let Some(signal) = signal else { continue };
            if signal.id.is_some() && !matches!(s.action, Action::Redeliver { .. }) {
                sent.push(signal.clone());
            }
            let outcome = engine.handle(signal.clone(), now).await.expect("handled");
            let after = engine.state("HSPROD", now).await.expect("state");
            tally.steps += 1;

            // Epochs and versions never go back.
            prop_assert!(
                after.epoch >= before.epoch,
                "step {n}: epoch {} -> {}",
                before.epoch,
                after.epoch
            );
            prop_assert!(after.version >= before.version, "step {n}: version went back");

            // The loss as the observers see it, continuously.
            agreed_since = match (loss_agreed(&after, &topology, now), agreed_since) {
                (false, _) => None,
                (true, None) => Some(now),
                (true, since) => since,
            };

            for report in &outcome.reports {
                match report {
                    Report::PromotionRequested { request, .. } => {
                        tally.requests += 1;
                        let claims = failover_claims(&after, &topology, now);
                        prop_assert!(
                            claims.is_empty(),
                            "step {n}: {request} raised while {claims:?} claim primary"
                        );
                        prop_assert!(
                            agreed_since.is_some_and(|since| now - since >= window),
                            "step {n}: {request} raised at {now} but the loss was agreed only since {agreed_since:?}"
                        );
                        let raised = after.request(request).expect("the request is stored");
                        prop_assert!(
                            raised.observers.len() >= mirror.policy.min_observers,
                            "step {n}: {request} names {:?}",
                            raised.observers
                        );
                    }
                    Report::PromotionExecuted { request, candidate, .. } => {
                        tally.executions += 1;
                        prop_assert!(
                            mirror.member(candidate).is_some_and(|m| m.kind == MemberKind::DrAsync),
                            "step {n}: {candidate} is not a DR async member"
                        );
                        prop_assert!(
                            executed_requests.insert(request.clone()),
                            "step {n}: {request} ran twice"
                        );
                    }
                    Report::Alert {
                        kind,
                        request: Some(request),
                        ..
                    } if matches!(
                        kind.as_str(),
                        "promotion_requested" | "promotion_approved" | "promotion_succeeded" | "promotion_failed"
                    ) =>
                    {
                        let n_sent = once.entry((kind.as_str().to_string(), request.clone())).or_insert(0);
                        *n_sent += 1;
                        prop_assert_eq!(*n_sent, 1, "step {}: {} for {} sent twice", n, kind.as_str(), request);
                    }
                    _ => {}
                }
            }
            for p in engine.actions().recorded() {
                executed_epochs.insert(p.epoch);
            }
            prop_assert_eq!(
                executed_epochs.len(),
                engine.actions().recorded().len(),
                "step {}: two promotions in one epoch: {:?}",
                n,
                engine.actions().recorded()
            );

            // The same delivery again, at once: nothing changes, nothing is said.
            if signal.id.is_some() {
                let again = engine.handle(signal, now).await.expect("handled");
                let unchanged = engine.state("HSPROD", now).await.expect("state");
                prop_assert!(again.reports.is_empty(), "step {n}: a repeat said {:?}", again.reports);
                prop_assert_eq!(unchanged.version, after.version, "step {}: a repeat wrote", n);
            }
            before = after;
        }
        Ok(tally)
    })
}

fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases: reliability::cases(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        max_shrink_iters: 2048,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]))
}

#[test]
fn random_walks_keep_every_invariant() {
    let totals = std::sync::Mutex::new((0usize, Tally::default()));
    runner(64, 7)
        .run(&prop::collection::vec(step(), 20..160), |steps| {
            let tally = walk(&steps)?;
            let mut t = totals.lock().expect("totals");
            t.0 += 1;
            t.1.steps += tally.steps;
            t.1.redelivered += tally.redelivered;
            t.1.requests += tally.requests;
            t.1.executions += tally.executions;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (walks, t) = *totals.lock().expect("totals");
    eprintln!(
        "random walks: {walks} walks, {} signals, {} redelivered, {} requests raised, {} promotions executed",
        t.steps, t.redelivered, t.requests, t.executions
    );
}
