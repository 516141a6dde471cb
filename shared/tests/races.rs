//! Races: several function instances (threads, each with its own engine, its own
//! store client and its own runtime) handle signals for one mirror at once: the
//! same EventBridge events delivered to two instances, heartbeats, ticks, 60
//! racing approvals (or approvals racing rejections), handed-off promotions run by
//! every instance, and the new primary's report, on the file store and on
//! DynamoDB (the emulator). A watcher reads the state all along. No update is lost,
//! nothing is promoted twice, and the state never goes back.

use crate::reliability;

#[cfg(feature = "emulator")]
use crate::aws_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use chrono::{DateTime, Duration, Utc};
use reliability::*;
use shared::adapters::embedded::{FileStore, MemoryNotifier, RecordingActions};
use shared::domain::{
    Authority, Decision, DecisionAction, JournalLatency, MemberStatus, MirrorState, Phase, RequestStatus, Signal,
    SignalKind,
};
use shared::engine::{Approved, Engine, Report};
use shared::ports::{PromotionOrder, Store};
use tokio::runtime::Runtime;

/// Function instances racing.
const INSTANCES: usize = 6;
/// Heartbeats each DR member sends during the race (each delivered to every instance).
const HEARTBEATS: i64 = 20;

type Instance<S> = Engine<S, MemoryNotifier, RecordingActions>;

fn instance<S: Store>(mirror: &str, store: S, approved: Approved) -> Instance<S> {
    Engine::new(
        topology_named(mirror),
        store,
        MemoryNotifier::default(),
        RecordingActions::new(None),
        "https://approve.example",
    )
    .on_approval(approved)
}

fn signal(mirror: &str, id: Option<String>, at: DateTime<Utc>, kind: SignalKind) -> Signal {
    Signal {
        mirror: mirror.into(),
        id,
        at,
        kind,
    }
}

fn decision(mirror: &str, request: &str, action: DecisionAction, by: String, at: DateTime<Utc>) -> Signal {
    signal(
        mirror,
        None,
        at,
        SignalKind::Decision(Decision {
            request: request.into(),
            action,
            by,
            accept_loss: false,
            authority: Authority::Operator,
            source_ip: None,
            user_agent: None,
            shown: None,
        }),
    )
}

/// The DR members' heartbeats of the race: distinct times and ids, newest last. The
/// primary region is gone, so they wait for a primary (Connected would prove one).
fn heartbeats(mirror: &str) -> Vec<Signal> {
    (0..HEARTBEATS)
        .flat_map(|k| {
            ["HSPROD-DR1", "HSPROD-DR2"].map(|member| {
                let at = t(341) + Duration::seconds(k);
                signal(
                    mirror,
                    Some(format!("hb-{member}-{k}")),
                    at,
                    SignalKind::Status {
                        reason: None,
                        member: member.into(),
                        status: MemberStatus::Waiting,
                        heartbeat: true,
                        journal_latency: Some(JournalLatency {
                            received_at: None,
                            seconds: 1.0 + k as f64 / 10.0,
                            bytes: None,
                            files: None,
                            measured_at: at,
                        }),
                    },
                )
            })
        })
        .collect()
}

/// Observations only instance `i` is given (and, as a duplicate, instance `i + 1`):
/// distinct ids and times, each one a write of its own.
const OBSERVATIONS: i64 = 20;

fn observations(mirror: &str, i: usize) -> Vec<Signal> {
    (0..OBSERVATIONS)
        .map(|k| {
            let member = if k % 2 == 0 { "HSPROD-DR1" } else { "HSPROD-DR2" };
            signal(
                mirror,
                Some(format!("obs-{i}-{k}")),
                t(300) + Duration::seconds(k * INSTANCES as i64 + i as i64),
                SignalKind::Observation {
                    unreachable: false,
                    alarm_arn: None,
                    since: None,
                    member: member.into(),
                    observer: shared::domain::Observer::Route53,
                    healthy: false,
                    source: format!("instance {i}"),
                },
            )
        })
        .collect()
}

/// Where the mirror is in its promotion: it may only move forward (waiting, then
/// promoting or, rejected, lost again; then the DR member is primary).
fn rank(phase: Phase) -> u8 {
    match phase {
        Phase::PromotionPending => 0,
        Phase::Promoting | Phase::PrimaryLost => 1,
        Phase::DrActive => 2,
        _ => 3,
    }
}

/// Reads the state until told to stop; fails if the version, the epoch or the
/// phase ever went back. Returns how many reads it made.
fn watch<S: Store>(store: &S, mirror: &str, stop: &AtomicBool, rt: &Runtime) -> usize {
    let mut last: Option<MirrorState> = None;
    let mut reads = 0;
    while !stop.load(Ordering::SeqCst) {
        let Some(now) = rt.block_on(store.load(mirror)).expect("watcher reads") else {
            continue;
        };
        reads += 1;
        if let Some(before) = &last {
            assert!(now.version >= before.version, "version went back");
            assert!(now.epoch >= before.epoch, "epoch went back");
            assert!(
                rank(now.phase) >= rank(before.phase),
                "phase went back: {} -> {}",
                before.phase,
                now.phase
            );
        }
        last = Some(now);
    }
    reads
}

/// What all instances did, together.
#[derive(Default)]
struct Seen {
    alerts: BTreeMap<String, usize>,
    executed: usize,
    orders: Vec<PromotionOrder>,
    reads: usize,
    conflicts: usize,
    decisions: usize,
    /// The verdicts on the observations, all instances together.
    verdicts: BTreeMap<String, usize>,
}

/// A store that counts the conditional writes it lost to another instance.
struct Counted<S> {
    inner: S,
    conflicts: Arc<std::sync::atomic::AtomicUsize>,
}

impl<S> Counted<S> {
    fn new(inner: S, conflicts: Arc<std::sync::atomic::AtomicUsize>) -> Self {
        Counted { inner, conflicts }
    }
}

impl<S: Store> Store for Counted<S> {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, shared::ports::StoreError> {
        self.inner.load(mirror).await
    }

    async fn save(
        &self,
        state: &MirrorState,
        expected: u64,
        delivery: Option<&str>,
    ) -> Result<(), shared::ports::SaveError> {
        let result = self.inner.save(state, expected, delivery).await;
        if matches!(result, Err(shared::ports::SaveError::Conflict { .. })) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    async fn mirrors(&self) -> Result<Vec<String>, shared::ports::StoreError> {
        self.inner.mirrors().await
    }
}

/// The region outage up to its open request, on one instance.
fn set_up<S: Store>(mirror: &str, store: S, rt: &Runtime) -> String {
    let engine = instance(mirror, store, Approved::CarryOut);
    rt.block_on(async {
        for d in scenario("region-outage-pending.jsonl") {
            deliver_once(&engine, mirror, &d.what, d.at).await.expect("set up");
        }
        let state = engine.state(mirror, t(340)).await.expect("state");
        assert_eq!(state.phase, Phase::PromotionPending);
        state.open_request().expect("open request").id.clone()
    })
}

/// The race. `store` opens a store client on the backend under test, in the
/// calling thread's runtime.
fn race<S, F>(mirror: &str, store: F, reject_too: bool) -> (MirrorState, Seen)
where
    S: Store + 'static,
    F: Fn(&Runtime) -> S + Send + Sync + 'static,
{
    let store = Arc::new(store);
    let request = {
        let rt = runtime();
        set_up(mirror, store(&rt), &rt)
    };
    let barrier = Arc::new(Barrier::new(INSTANCES + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let orders: Arc<Mutex<Vec<PromotionOrder>>> = Arc::default();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let conflicts: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let mut threads = Vec::new();
    for i in 0..INSTANCES {
        let conflicts = conflicts.clone();
        let (store, barrier, orders, seen, mirror, request) = (
            store.clone(),
            barrier.clone(),
            orders.clone(),
            seen.clone(),
            mirror.to_string(),
            request.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let rt = runtime();
            // Instance 0 runs approved promotions itself, like `mirrorgate serve`; the
            // others hand them off to the executor, like the Lambda functions.
            let approved = if i == 0 { Approved::CarryOut } else { Approved::HandOff };
            let engine = instance(&mirror, Counted::new(store(&rt), conflicts.clone()), approved);
            let now = t(430);
            // Every instance gets every heartbeat (at-least-once, to several
            // instances at once), in its own order, and its own observations with
            // its neighbour's.
            let mut beats = heartbeats(&mirror);
            let turn = i * 7 % beats.len();
            beats.rotate_left(turn);
            if i % 2 == 0 {
                beats.reverse();
            }
            let neighbour = (i + INSTANCES - 1) % INSTANCES;
            let mut mine = observations(&mirror, i).into_iter();
            let mut theirs = observations(&mirror, neighbour).into_iter();
            let beats: Vec<Signal> = beats
                .into_iter()
                .flat_map(|beat| [Some(beat), mine.next(), theirs.next()])
                .flatten()
                .collect();
            barrier.wait();
            rt.block_on(async {
                let mut reports: Vec<Report> = Vec::new();
                let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
                let mut decisions = 0;
                for (k, beat) in beats.into_iter().enumerate() {
                    let observation = matches!(beat.kind, SignalKind::Observation { .. });
                    let outcome = engine.handle(beat, now).await.expect("signal");
                    if observation {
                        *verdicts.entry(format!("{:?}", outcome.verdict)).or_insert(0) += 1;
                    }
                    reports.extend(outcome.reports);
                    if k % 4 == i % 4 {
                        let action = if reject_too && (k + i) % 2 == 0 {
                            DecisionAction::Reject
                        } else {
                            DecisionAction::Approve
                        };
                        let by = format!("Operator {i}-{k}");
                        let outcome = engine
                            .handle(decision(&mirror, &request, action, by, now), now)
                            .await
                            .expect("decision");
                        orders.lock().expect("orders").extend(outcome.orders.clone());
                        reports.extend(outcome.reports);
                        decisions += 1;
                    }
                    if k % 10 == i {
                        for outcome in engine.tick(now).await.expect("tick") {
                            orders.lock().expect("orders").extend(outcome.orders.clone());
                            reports.extend(outcome.reports);
                        }
                    }
                    // The executor: every instance runs every order it sees (and again).
                    let pending: Vec<PromotionOrder> = orders.lock().expect("orders").clone();
                    for order in pending {
                        reports.extend(engine.execute_order(order, now).await.expect("order"));
                    }
                }
                // The promoted member reports primary, to every instance.
                let primary = signal(
                    &mirror,
                    Some("dr1-primary".into()),
                    t(460),
                    SignalKind::Status {
                        reason: None,
                        member: "HSPROD-DR1".into(),
                        status: MemberStatus::Primary,
                        heartbeat: false,
                        journal_latency: None,
                    },
                );
                reports.extend(engine.handle(primary, t(460)).await.expect("primary").reports);
                let mut seen = seen.lock().expect("seen");
                seen.decisions += decisions;
                for (verdict, n) in verdicts {
                    *seen.verdicts.entry(verdict).or_insert(0) += n;
                }
                for r in &reports {
                    if let Report::Alert { kind, delivered, .. } = r {
                        assert!(delivered);
                        *seen.alerts.entry(kind.as_str().to_string()).or_insert(0) += 1;
                    }
                }
                seen.executed += engine.actions().recorded().len();
            });
        }));
    }
    let watcher = {
        let (store, barrier, stop, mirror) = (store.clone(), barrier.clone(), stop.clone(), mirror.to_string());
        std::thread::spawn(move || {
            let rt = runtime();
            let store = store(&rt);
            barrier.wait();
            watch(&store, &mirror, &stop, &rt)
        })
    };
    for thread in threads {
        thread.join().expect("an instance failed");
    }
    stop.store(true, Ordering::SeqCst);
    let reads = watcher.join().expect("the watcher saw the state go back");
    let rt = runtime();
    let state = rt.block_on(store(&rt).load(mirror)).expect("load").expect("stored");
    let mut seen = Arc::try_unwrap(seen)
        .ok()
        .expect("threads done")
        .into_inner()
        .expect("seen");
    seen.reads = reads;
    seen.conflicts = conflicts.load(Ordering::SeqCst);
    seen.orders = orders.lock().expect("orders").clone();
    (state, seen)
}

/// No update lost: every heartbeat's news is in the state (the newest time and
/// latency of each member), whatever the interleaving.
fn nothing_lost(state: &MirrorState, seen: &Seen) {
    let newest = t(341) + Duration::seconds(HEARTBEATS - 1);
    // DR1 was heard last when it reported primary, after its heartbeats.
    for (member, heard) in [("HSPROD-DR1", t(460)), ("HSPROD-DR2", newest)] {
        let m = &state.members[member];
        assert_eq!(m.last_heard, Some(heard), "{member}: a heartbeat was lost");
        assert_eq!(m.journal_latency.map(|l| l.measured_at), Some(newest), "{member}");
    }
    // Each observation applied once, its copy folded; the newest one kept.
    let total = INSTANCES * OBSERVATIONS as usize;
    assert_eq!(seen.verdicts.get("Applied"), Some(&total), "{:?}", seen.verdicts);
    assert_eq!(seen.verdicts.get("Duplicate"), Some(&total), "{:?}", seen.verdicts);
    let last = (OBSERVATIONS - 1) * INSTANCES as i64;
    for (member, newest) in [("HSPROD-DR1", last - 1), ("HSPROD-DR2", last + INSTANCES as i64 - 1)] {
        // The same word again only confirms it: its last confirmation is the newest.
        let at = state.members[member].observations[&shared::domain::Observer::Route53].last();
        assert_eq!(
            at,
            t(300) + Duration::seconds(newest),
            "{member}: the newest observation was lost"
        );
    }
}

fn approvals_race<S, F>(mirror: &str, store: F)
where
    S: Store + 'static,
    F: Fn(&Runtime) -> S + Send + Sync + 'static,
{
    let (state, seen) = race(mirror, store, false);
    nothing_lost(&state, &seen);
    assert_eq!(seen.executed, 1, "exactly one promotion ran: {:?}", seen.alerts);
    assert_eq!(state.phase, Phase::DrActive);
    assert_eq!(state.epoch, 2);
    assert_eq!(state.primary.as_deref(), Some("HSPROD-DR1"));
    assert_eq!(state.requests.len(), 1);
    assert_eq!(state.requests[0].status, RequestStatus::Succeeded);
    assert_eq!(state.requests[0].approvers().len(), 1, "one approval won");
    for kind in ["promotion_approved", "promotion_succeeded"] {
        assert_eq!(seen.alerts.get(kind), Some(&1), "{kind} once: {:?}", seen.alerts);
    }
    assert!(state.outbox.is_empty(), "every alert delivered");
    eprintln!(
        "race on {mirror}: {INSTANCES} instances, {} heartbeats and {} observations each, {} approvals, {} orders handed off, {} conflicting writes decided again, watcher read {} states",
        HEARTBEATS * 2,
        OBSERVATIONS * 2,
        seen.decisions,
        seen.orders.len(),
        seen.conflicts,
        seen.reads
    );
}

fn decisions_race<S, F>(mirror: &str, store: F)
where
    S: Store + 'static,
    F: Fn(&Runtime) -> S + Send + Sync + 'static,
{
    let (state, seen) = race(mirror, store, true);
    nothing_lost(&state, &seen);
    let request = &state.requests[0];
    assert_eq!(request.decisions.len(), 1, "one decision won: {:?}", request.decisions);
    let approved = request.decisions[0].action == DecisionAction::Approve;
    assert_eq!(seen.executed, usize::from(approved), "{:?}", seen.alerts);
    let (won, lost) = if approved {
        ("promotion_approved", "promotion_rejected")
    } else {
        ("promotion_rejected", "promotion_approved")
    };
    assert_eq!(seen.alerts.get(won), Some(&1), "{:?}", seen.alerts);
    assert_eq!(seen.alerts.get(lost), None, "{:?}", seen.alerts);
}

fn file_store(dir: &std::path::Path) -> impl Fn(&Runtime) -> FileStore + Send + Sync + 'static {
    let dir = dir.to_path_buf();
    move |_| FileStore::open(&dir).expect("file store")
}

#[test]
fn racing_instances_on_the_file_store_lose_nothing_and_promote_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    approvals_race("HSPROD", file_store(dir.path()));
}

#[test]
fn approvals_racing_rejections_on_the_file_store_decide_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    decisions_race("HSPROD", file_store(dir.path()));
}

#[cfg(feature = "emulator")]
fn dynamodb() -> impl Fn(&Runtime) -> shared::adapters::aws::DynamoStore + Send + Sync + 'static {
    |rt| rt.block_on(aws_support::deps()).store()
}

#[cfg(feature = "emulator")]
#[test]
fn racing_instances_on_dynamodb_lose_nothing_and_promote_once() {
    approvals_race(&aws_support::unique("RACE"), dynamodb());
}

#[cfg(feature = "emulator")]
#[test]
fn approvals_racing_rejections_on_dynamodb_decide_once() {
    decisions_race(&aws_support::unique("RACE"), dynamodb());
}
