//! Injected faults (`shared::adapters::faulty`): the store, SNS and the promotion
//! actions (SSM, EventBridge) fail with errors, throttling, timeouts and lost
//! answers, at every step. Each delivery is retried as Lambda retries it (a
//! retryable error fails the invocation and the same event comes again). What
//! must hold: no transition loses its alert (the outbox, sent again by the
//! tick), no promotion runs twice, and a failed promotion action is reported.

use crate::reliability;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reliability::*;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions};
use shared::adapters::faulty::{Call, Fault, FaultPlan, Faulty};
use shared::domain::{AlertKind, Phase, RequestStatus, Signal, SignalKind};
use shared::engine::{Approved, Engine, EngineError, Report};
use shared::ports::{Notifier, PromotionActions, Store};
use shared::token::CountingTokens;
use shared::web::{approval, HttpRequest};

type FaultyEngine<S, N, A> = Engine<Faulty<S>, Faulty<N>, Faulty<A>>;
type MemoryEngine = FaultyEngine<MemoryStore, MemoryNotifier, RecordingActions>;

fn wrap<S: Store, N: Notifier, A: PromotionActions>(
    topology: Arc<shared::topology::Topology>,
    store: S,
    notifier: N,
    actions: A,
    plan: &Arc<FaultPlan>,
) -> FaultyEngine<S, N, A> {
    Engine::new(
        topology,
        Faulty::new(store, plan.clone()),
        Faulty::new(notifier, plan.clone()),
        Faulty::new(actions, plan.clone()),
        "https://approve.example",
    )
    .with_tokens(Box::new(CountingTokens::default()))
}

fn engine(plan: &Arc<FaultPlan>) -> MemoryEngine {
    wrap(
        topology(),
        MemoryStore::default(),
        MemoryNotifier::default(),
        RecordingActions::new(None),
        plan,
    )
}

/// Plays a scenario's lines up to (not including) the first that matches `stop`, faults off.
async fn play_until<S: Store, N: Notifier, A: PromotionActions>(
    engine: &FaultyEngine<S, N, A>,
    mirror: &str,
    name: &str,
    stop: impl Fn(&Delivery) -> bool,
) -> DateTime<Utc> {
    engine.store().plan().set_enabled(false);
    let mut now = t(0);
    for d in scenario(name).iter().take_while(|d| !stop(d)) {
        now = d.at;
        deliver_once(engine, mirror, &d.what, now).await.expect("delivered");
    }
    engine.store().plan().set_enabled(true);
    now
}

/// The region outage up to its last tick before the request is raised.
async fn about_to_request(engine: &MemoryEngine) -> DateTime<Utc> {
    play_until(engine, "HSPROD", "region-outage-pending.jsonl", |d| d.at >= t(340)).await
}

/// The region outage with its request open.
async fn requested(engine: &MemoryEngine) -> DateTime<Utc> {
    play_until(engine, "HSPROD", "region-outage-pending.jsonl", |_| false).await
}

fn tick(now: DateTime<Utc>) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: now,
        kind: SignalKind::Tick,
    }
}

fn approve(request: &str, at: DateTime<Utc>) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: None,
        at,
        kind: SignalKind::Decision(shared::domain::Decision {
            request: request.into(),
            action: shared::domain::DecisionAction::Approve,
            by: "Dana Whitfield".into(),
            accept_loss: false,
            authority: shared::domain::Authority::Operator,
            source_ip: None,
            user_agent: None,
            shown: None,
        }),
    }
}

fn alerts_of(reports: &[Report]) -> Vec<(AlertKind, bool, Option<String>)> {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Alert {
                kind, delivered, link, ..
            } => Some((*kind, *delivered, link.clone())),
            _ => None,
        })
        .collect()
}

/// GIVEN the loss about to be confirmed, WHEN SNS fails (error, throttled,
/// timeout) as the request's alert goes out, THEN the alert stays in the outbox,
/// the tick sends it again a minute later with a fresh link that works, and once
/// delivered it is not sent again.
#[tokio::test]
async fn an_undelivered_alert_stays_in_the_outbox_and_the_tick_sends_it_with_a_fresh_link() {
    for fault in [Fault::Error, Fault::Throttled, Fault::Timeout] {
        let plan = FaultPlan::new(move |call, _| (call == Call::Publish).then_some(fault));
        let engine = engine(&plan);
        let now = about_to_request(&engine).await;
        let already = engine.notifier().inner().sent().len();
        let raised = engine.handle(tick(t(340)), t(340)).await.expect("handled").reports;
        let sent = alerts_of(&raised);
        assert_eq!(sent.len(), 1, "{fault:?}: {sent:?}");
        assert_eq!(sent[0].0, AlertKind::PromotionRequested, "{fault:?}");
        assert!(!sent[0].1, "{fault:?}: reported as not delivered");
        let state = engine.state("HSPROD", now).await.expect("state");
        assert_eq!(state.outbox.len(), 1, "{fault:?}: kept in the outbox");
        assert!(state.outbox[0].alert.link.is_none(), "no link is ever stored");
        plan.set_enabled(false);

        // Not before a minute has passed,
        let early = engine.handle(tick(t(370)), t(370)).await.expect("handled").reports;
        assert!(alerts_of(&early).is_empty(), "{fault:?}: {early:?}");
        // then again, delivered, with a fresh link.
        let again = engine.handle(tick(t(401)), t(401)).await.expect("handled").reports;
        let resent = alerts_of(&again);
        assert_eq!(resent.len(), 1, "{fault:?}: {again:?}");
        assert_eq!(resent[0].0, AlertKind::PromotionRequested);
        assert!(resent[0].1, "{fault:?}: delivered this time");
        let fresh = resent[0].2.clone().expect("a fresh link");
        assert_ne!(Some(fresh.clone()), sent[0].2, "a new token, not the undelivered one");
        let page = approval::handle(
            &engine,
            &HttpRequest {
                method: "GET".into(),
                path: fresh.trim_start_matches("https://approve.example").into(),
                ..HttpRequest::default()
            },
            t(402),
        )
        .await;
        assert_eq!(page.status, 200, "{fault:?}: the fresh link opens the request");
        assert!(engine.state("HSPROD", t(402)).await.expect("state").outbox.is_empty());
        let later = engine.handle(tick(t(520)), t(520)).await.expect("handled").reports;
        assert!(alerts_of(&later).is_empty(), "{fault:?}: sent once it was delivered");
        let delivered = engine.notifier().inner().sent();
        assert_eq!(delivered.len(), already + 1, "{fault:?}: delivered once");
    }
}

/// GIVEN any step, WHEN the store fails to read or write (error, throttled,
/// timeout), THEN the engine returns a retryable error, nothing changed, nothing
/// was said or run; the same signal delivered again does what it would have done.
#[tokio::test]
async fn a_store_failure_is_retryable_and_changes_nothing() {
    for call in [Call::Load, Call::Save] {
        for fault in [Fault::Error, Fault::Throttled, Fault::Timeout] {
            let plan = FaultPlan::nth(call, 0, fault);
            let engine = engine(&plan);
            let now = about_to_request(&engine).await;
            plan.set_enabled(false);
            let before = engine.state("HSPROD", now).await.expect("state");
            let already = engine.notifier().inner().sent().len();
            plan.set_enabled(true);
            let err = engine.handle(tick(t(340)), t(340)).await.expect_err("the store failed");
            assert!(err.is_retryable(), "{call:?} {fault:?}: {err}");
            assert!(matches!(err, EngineError::Store(_)), "{err}");
            plan.set_enabled(false);
            assert_eq!(
                engine.state("HSPROD", now).await.expect("state"),
                before,
                "{call:?} {fault:?}"
            );
            assert_eq!(engine.notifier().inner().sent().len(), already, "nothing said");
            plan.set_enabled(true);
            let retried = engine.handle(tick(t(340)), t(340)).await.expect("the retry works");
            assert!(
                retried
                    .reports
                    .iter()
                    .any(|r| matches!(r, Report::PromotionRequested { .. })),
                "{call:?} {fault:?}"
            );
        }
    }
}

/// A payload that can never be used (not JSON, not an AWS shape, or naming nothing
/// in the topology) is not retryable: Lambda's retries would only repeat it, and
/// it belongs in the dead-letter queue. Nothing is read or written for it.
#[tokio::test]
async fn a_payload_that_cannot_be_used_is_not_retryable_and_touches_nothing() {
    let plan = FaultPlan::none();
    let engine = engine(&plan);
    let unknown_member = br#"{"version":"0","id":"x","detail-type":"Mirror Member Status","source":"mirrorgate.iris","account":"123456789012","time":"2026-11-25T03:00:00Z","region":"us-east-1","resources":[],"detail":{"mirror":"HSPROD","member":"NOPE","status":"Primary"}}"#;
    for payload in [&b"{not json"[..], &b"{\"hello\":\"world\"}"[..], &unknown_member[..]] {
        let err = engine.ingest(payload, t(0)).await.expect_err("refused");
        assert!(!err.is_retryable(), "{err}");
    }
    assert_eq!(
        plan.calls(Call::Load) + plan.calls(Call::Save),
        0,
        "the store was not touched"
    );
}

/// GIVEN the loss about to be confirmed, WHEN the write succeeds but its answer is
/// lost, THEN the delivery fails (retryable) though the state moved on; the retry
/// finds nothing left to do, and the alert of that transition, never sent, goes
/// out from the outbox on the next tick a minute later.
#[tokio::test]
async fn a_lost_write_answer_loses_no_alert() {
    let plan = FaultPlan::nth(Call::Save, 0, Fault::LostAnswer);
    let engine = engine(&plan);
    about_to_request(&engine).await;
    let already = engine.notifier().inner().sent().len();
    let err = engine.handle(tick(t(340)), t(340)).await.expect_err("answer lost");
    assert!(err.is_retryable());
    let state = engine.state("HSPROD", t(340)).await.expect("state");
    assert_eq!(state.phase, Phase::PromotionPending, "the write happened");
    assert_eq!(
        engine.notifier().inner().sent().len(),
        already,
        "the alert did not go out yet"
    );
    let retried = engine.handle(tick(t(340)), t(340)).await.expect("retry");
    assert!(alerts_of(&retried.reports).is_empty(), "nothing left to do");
    let later = engine.handle(tick(t(401)), t(401)).await.expect("tick").reports;
    let alerts = alerts_of(&later);
    assert_eq!(alerts.len(), 1, "{later:?}");
    assert_eq!(alerts[0].0, AlertKind::PromotionRequested);
    assert!(alerts[0].1 && alerts[0].2.is_some(), "delivered, with a link");
}

/// GIVEN an approved promotion, WHEN the promotion action fails (SSM or EventBridge
/// error, throttling past the SDK's retries, a timeout, or a lost answer after it
/// ran), THEN `promotion_failed` is alerted, the request is closed as failed, and
/// nothing runs it again: not the ticks of the next hour, not a redelivered order.
#[tokio::test]
async fn a_failed_promotion_action_is_reported_and_never_run_again() {
    for fault in Fault::ALL {
        let plan = FaultPlan::nth(Call::Execute, 0, fault);
        let engine = engine(&plan);
        let now = requested(&engine).await;
        let at = now + Duration::seconds(30);
        let outcome = engine.handle(approve("HSPROD-R1", at), at).await.expect("handled");
        let kinds: Vec<AlertKind> = alerts_of(&outcome.reports).iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            vec![AlertKind::PromotionApproved, AlertKind::PromotionFailed],
            "{fault:?}"
        );
        let state = engine.state("HSPROD", at).await.expect("state");
        assert_eq!(
            state.request("HSPROD-R1").map(|r| r.status),
            Some(RequestStatus::Failed)
        );
        assert_eq!(state.phase, Phase::PrimaryLost);
        let ran = usize::from(fault == Fault::LostAnswer);
        assert_eq!(engine.actions().inner().recorded().len(), ran, "{fault:?}");
        plan.set_enabled(false);
        for minute in 1..=60 {
            let t = at + Duration::minutes(minute);
            let o = engine.handle(tick(t), t).await.expect("tick");
            assert!(
                !o.reports
                    .iter()
                    .any(|r| matches!(r, Report::PromotionExecuted { .. } | Report::PromotionRequested { .. })),
                "{fault:?}: {:?}",
                o.reports
            );
        }
        let order = shared::ports::PromotionOrder {
            resume: false,
            allow_no_partner: false,
            failback: false,
            mirror: "HSPROD".into(),
            request: "HSPROD-R1".into(),
            candidate: "HSPROD-DR1".into(),
            epoch: 1,
        };
        engine
            .execute_order(order, at + Duration::hours(2))
            .await
            .expect("late order");
        assert_eq!(
            engine.actions().inner().recorded().len(),
            ran,
            "{fault:?}: never run again"
        );
        let failed = engine
            .notifier()
            .inner()
            .sent()
            .iter()
            .filter(|a| a.kind == AlertKind::PromotionFailed)
            .count();
        assert_eq!(failed, 1, "{fault:?}: reported once");
    }
}

/// GIVEN an approved promotion handed to the executor, WHEN the executor's claim
/// fails, THEN it is retried and runs once; WHEN the claim was written but its
/// answer lost, THEN the retry finds it claimed and runs nothing (never twice),
/// and the missing result is reported by `promotion_timed_out`.
#[tokio::test]
async fn the_executor_claim_under_faults_runs_at_most_once_and_is_reported() {
    for fault in Fault::ALL {
        // The next write fails, once, when armed.
        let armed: Arc<std::sync::Mutex<Option<Fault>>> = Arc::default();
        let next = armed.clone();
        let plan = FaultPlan::new(move |call, _| {
            (call == Call::Save)
                .then(|| next.lock().expect("armed").take())
                .flatten()
        });
        let engine = engine(&plan).on_approval(Approved::HandOff);
        let now = requested(&engine).await;
        let at = now + Duration::seconds(30);
        let approved = engine.handle(approve("HSPROD-R1", at), at).await.expect("approved");
        let order = approved.orders[0].clone();
        *armed.lock().expect("armed") = Some(fault);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match engine.execute_order(order.clone(), at + Duration::seconds(1)).await {
                Ok(_) => break,
                Err(e) if e.is_retryable() && attempts < 5 => continue,
                Err(e) => panic!("{fault:?}: {e}"),
            }
        }
        assert_eq!(attempts, 2, "{fault:?}: the failed claim was retried");
        let ran = engine.actions().inner().recorded().len();
        assert_eq!(ran, usize::from(fault != Fault::LostAnswer), "{fault:?}");
        // The next hour of ticks: nothing runs twice. A claim whose run never happened
        // (its answer was lost, so the executor stood down) is resumed once it is stale,
        // and runs once.
        for minute in 1..=60 {
            let t = at + Duration::minutes(minute);
            let o = engine.handle(tick(t), t).await.expect("tick");
            for order in o.orders {
                engine.execute_order(order, t).await.expect("handed over again");
            }
        }
        assert_eq!(
            engine.actions().inner().recorded().len(),
            1,
            "{fault:?}: once, never twice"
        );
        if ran == 0 {
            let state = engine.state("HSPROD", at).await.expect("state");
            let request = state.request("HSPROD-R1").expect("R1");
            assert_eq!(request.claims, 2, "{fault:?}: resumed once");
        }
    }
}

// ---- random faults at every step ----------------------------------------------

/// What a faulty run must show against the same run without faults.
struct Story {
    outcome: String,
    /// Alerts that reached SNS: id -> (kind, request), and how many deliveries in all.
    delivered: BTreeMap<String, (String, String)>,
    deliveries: usize,
    /// Promotions run, as `request candidate`.
    ran: Vec<String>,
    outbox_left: usize,
    retried: usize,
    faults: usize,
}

/// Plays deliveries with Lambda's retries, then lets the schedule tick every
/// minute for `drain` minutes without faults, so the outbox drains.
async fn play<S: Store, N: Notifier, A: PromotionActions>(
    engine: &FaultyEngine<S, N, A>,
    mirror: &str,
    deliveries: &[Delivery],
    drain: i64,
) -> Story {
    let plan = engine.store().plan();
    let mut retried = 0;
    let mut now = t(0);
    for d in deliveries {
        now = d.at;
        let done = deliver(engine, mirror, &d.what, now, 40)
            .await
            .unwrap_or_else(|e| panic!("line {}: not delivered after 40 attempts: {e}", d.line));
        retried += done.retried;
    }
    let faults = plan.injected().len();
    plan.set_enabled(false);
    for _ in 0..drain {
        now += Duration::seconds(61);
        deliver_once(engine, mirror, &What::Tick, now)
            .await
            .expect("drain tick");
    }
    let state = engine.state(mirror, now).await.expect("state");
    // Named as in the reference topology, to compare runs on mirrors of other names.
    let named = |text: &str| text.replace(mirror, "HSPROD");
    let sent: Vec<String> = plan.took_effect(Call::Publish).iter().map(|l| named(l)).collect();
    let mut delivered = BTreeMap::new();
    for line in &sent {
        let mut parts = line.splitn(3, ' ');
        let (id, kind, request) = (parts.next(), parts.next(), parts.next());
        delivered.insert(
            id.unwrap_or_default().to_string(),
            (
                kind.unwrap_or_default().to_string(),
                request.unwrap_or_default().to_string(),
            ),
        );
    }
    Story {
        outcome: named(&outcome(&state)),
        delivered,
        deliveries: sent.len(),
        ran: plan.took_effect(Call::Execute).iter().map(|l| named(l)).collect(),
        outbox_left: state.outbox.len(),
        retried,
        faults,
    }
}

/// Faults on the store and SNS at every step, all four kinds.
const STORE_AND_SNS: [Call; 3] = [Call::Load, Call::Save, Call::Publish];

/// Alerts that ask for a decision: one still undelivered when its request closed
/// is not sent any more (its question is gone); the alert that closed it is.
const ASKING: [&str; 3] = ["promotion_requested", "promotion_reminder", "approval_recorded"];

fn check(name: &str, baseline: &Story, got: &Story) -> Result<(), TestCaseError> {
    prop_assert_eq!(&got.outcome, &baseline.outcome, "{}: another end state", name);
    prop_assert_eq!(got.outbox_left, 0, "{}: alerts left undelivered", name);
    for (id, (kind, request)) in &baseline.delivered {
        match got.delivered.get(id) {
            Some(same) => prop_assert_eq!(same, &(kind.clone(), request.clone()), "{}: alert {}", name, id),
            None => {
                let superseded = ASKING.contains(&kind.as_str())
                    && got
                        .delivered
                        .iter()
                        .any(|(later, (k, r))| r == request && !ASKING.contains(&k.as_str()) && later > id);
                prop_assert!(
                    superseded,
                    "{}: alert {} ({}) lost: {:?}",
                    name,
                    id,
                    kind,
                    got.delivered
                );
            }
        }
    }
    for id in got.delivered.keys() {
        prop_assert!(
            baseline.delivered.contains_key(id),
            "{}: alert {} was made: {:?}",
            name,
            id,
            got.delivered
        );
    }
    let distinct: BTreeSet<&String> = got.ran.iter().collect();
    prop_assert_eq!(
        distinct.len(),
        got.ran.len(),
        "{}: a promotion ran twice: {:?}",
        name,
        got.ran
    );
    prop_assert!(got.ran.len() <= baseline.ran.len(), "{}: {:?}", name, got.ran);
    Ok(())
}

/// Totals over all cases, for the figures in docs/RELIABILITY.md.
#[derive(Default)]
struct Totals {
    runs: usize,
    faults: usize,
    retried: usize,
    repeats: usize,
    unrun: usize,
}

#[test]
fn random_store_and_sns_faults_at_every_step_change_no_outcome_and_lose_no_alert() {
    let totals = std::cell::RefCell::new(Totals::default());
    let rt = runtime();
    for (i, name) in SCENARIOS.iter().enumerate() {
        let deliveries = scenario(name);
        let baseline = rt.block_on(async { play(&engine(&FaultPlan::none()), "HSPROD", &deliveries, 3).await });
        let config = Config {
            cases: cases(48),
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[i as u8 + 31; 32]));
        runner
            .run(&(any::<u64>(), 50u64..300), |(seed, per_mille)| {
                let plan = FaultPlan::random(seed, per_mille, &STORE_AND_SNS, &Fault::ALL);
                let got = rt.block_on(async { play(&engine(&plan), "HSPROD", &deliveries, 3).await });
                check(name, &baseline, &got)?;
                let mut totals = totals.borrow_mut();
                totals.runs += 1;
                totals.faults += got.faults;
                totals.retried += got.retried;
                totals.repeats += got.deliveries - got.delivered.len();
                totals.unrun += baseline.ran.len() - got.ran.len();
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let totals = totals.into_inner();
    eprintln!(
        "store and SNS faults: {} runs, {} faults injected, {} deliveries retried, {} alerts sent more than once, {} promotions not run after a lost claim answer",
        totals.runs, totals.faults, totals.retried, totals.repeats, totals.unrun
    );
}

/// Faults everywhere, the promotion actions included, on the region outage up to
/// its approval; the promoted member never reports primary, and the schedule ticks
/// on past the promotion timeout. Nothing runs twice, and the operator always
/// learns that the promotion did not complete: `promotion_failed` when the failure
/// was recorded, or `promotion_timed_out` when even that record was lost.
#[test]
fn random_faults_everywhere_never_run_a_promotion_twice_and_report_a_failed_one() {
    let rt = runtime();
    let deliveries: Vec<Delivery> = scenario("region-outage.jsonl")
        .into_iter()
        .take_while(|d| d.at <= t(9 * 60 + 30))
        .collect();
    assert!(matches!(deliveries.last().map(|d| &d.what), Some(What::Decide { .. })));
    let config = Config {
        cases: cases(96),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[41; 32]));
    let failed_actions = std::cell::Cell::new(0usize);
    runner
        .run(&(any::<u64>(), 50u64..400), |(seed, per_mille)| {
            let plan = FaultPlan::random(seed, per_mille, &Call::ALL, &Fault::ALL);
            let engine = engine(&plan);
            let got = rt.block_on(async { play(&engine, "HSPROD", &deliveries, 12).await });
            let distinct: BTreeSet<&String> = got.ran.iter().collect();
            prop_assert_eq!(distinct.len(), got.ran.len(), "ran twice: {:?}", got.ran);
            prop_assert!(got.ran.len() <= 1, "{:?}", got.ran);
            prop_assert_eq!(got.outbox_left, 0);
            let kinds: BTreeSet<&str> = got.delivered.values().map(|(k, _)| k.as_str()).collect();
            prop_assert!(kinds.contains("promotion_approved"), "{:?}", kinds);
            prop_assert!(!kinds.contains("promotion_succeeded"), "{:?}", kinds);
            prop_assert!(
                kinds.contains("promotion_failed") || kinds.contains("promotion_timed_out"),
                "the operator learns it did not complete: {:?}",
                kinds
            );
            let action_failed = plan
                .injected()
                .iter()
                .any(|(c, f)| *c == Call::Execute && *f != Fault::LostAnswer);
            if action_failed {
                failed_actions.set(failed_actions.get() + 1);
                prop_assert!(got.ran.is_empty(), "{:?}", got.ran);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "faults everywhere: {} runs had a failed promotion action",
        failed_actions.get()
    );
}

// ---- the same on the AWS adapters (DynamoDB and SNS on the emulator) ------------

#[cfg(feature = "emulator")]
use crate::aws_support;

/// Random faults around the real DynamoDB and SNS clients (the emulator): the
/// same outcome and the same alerts as the run without faults.
#[cfg(feature = "emulator")]
#[test]
fn random_faults_around_dynamodb_and_sns_change_no_outcome_and_lose_no_alert() {
    let rt = runtime();
    let deps = rt.block_on(aws_support::deps());
    let mut runs = 0;
    let mut faults = 0;
    for (i, name) in SCENARIOS.iter().enumerate() {
        let deliveries = scenario(name);
        let baseline = rt.block_on(async { play(&engine(&FaultPlan::none()), "HSPROD", &deliveries, 3).await });
        for case in 0..cases(3) {
            let mirror = aws_support::unique("FAULT");
            let plan = FaultPlan::random((i as u64) << 32 | u64::from(case), 150, &STORE_AND_SNS, &Fault::ALL);
            let engine = wrap(
                topology_named(&mirror),
                deps.store(),
                deps.notifier(),
                RecordingActions::new(None),
                &plan,
            );
            let got = rt.block_on(async { play(&engine, &mirror, &deliveries, 3).await });
            check(name, &baseline, &got).unwrap_or_else(|e| panic!("{name} on {mirror}: {e}"));
            runs += 1;
            faults += got.faults;
        }
    }
    eprintln!("DynamoDB and SNS faults: {runs} runs, {faults} faults injected");
}

/// A promotion action that really fails on the emulator (the EventBridge bus of
/// the topology does not exist, so nothing is run): `promotion_failed` reaches the
/// SNS topic, the request is closed as failed in DynamoDB, and an hour of ticks
/// and a redelivered order run nothing.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn a_real_failed_promotion_action_is_reported_through_sns_and_never_run_again() {
    let deps = aws_support::deps().await;
    let mirror = aws_support::unique("FAILPRO");
    let bus = aws_support::unique("no-such-bus");
    let topology = topology_edited(&mirror, |t| {
        t.replace("event_bus = \"default\"", &format!("event_bus = \"{bus}\""))
    });
    let plan = FaultPlan::none();
    let engine = wrap(topology, deps.store(), deps.notifier(), deps.actions(), &plan);
    let deliveries: Vec<Delivery> = scenario("region-outage.jsonl")
        .into_iter()
        .take_while(|d| d.at <= t(9 * 60 + 30))
        .collect();
    let story = play(&engine, &mirror, &deliveries, 0).await;
    let kinds: Vec<&str> = story.delivered.values().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"promotion_failed"), "{kinds:?}");
    assert!(story.ran.is_empty(), "{:?}", story.ran);
    let state = engine.state(&mirror, t(600)).await.expect("state");
    let request = state.latest_request().expect("request");
    assert_eq!(request.status, RequestStatus::Failed);
    assert!(
        request
            .outcome
            .as_deref()
            .is_some_and(|o| o.contains("nothing was run")),
        "{:?}",
        request.outcome
    );
    // What the operator reads in the alert: EventBridge's own words, no HTTP dump.
    let outcome = request.outcome.as_deref().unwrap_or_default();
    assert!(outcome.contains("ResourceNotFoundException"), "{outcome}");
    assert!(
        !outcome.contains("SdkBody") && !outcome.contains("headers"),
        "{outcome}"
    );
    for minute in 1..=60 {
        let now = t(600) + Duration::minutes(minute);
        deliver_once(&engine, &mirror, &What::Tick, now).await.expect("tick");
    }
    let order = shared::ports::PromotionOrder {
        resume: false,
        allow_no_partner: false,
        failback: false,
        mirror: mirror.clone(),
        request: request.id.clone(),
        candidate: request.candidate.clone(),
        epoch: request.epoch,
    };
    engine
        .execute_order(order, t(600) + Duration::hours(2))
        .await
        .expect("late order");
    assert_eq!(plan.took_effect(Call::Execute).len(), 0, "never run");
    let failed = plan
        .took_effect(Call::Publish)
        .iter()
        .filter(|l| l.contains(" promotion_failed "))
        .count();
    assert_eq!(failed, 1, "reported once");
    let topic = aws_support::moto_models("sns", "Topic");
    let on_topic = topic
        .iter()
        .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
        .filter(|n| n.to_string().contains(&mirror) && n.to_string().contains("promotion_failed"))
        .count();
    assert_eq!(on_topic, 1, "promotion_failed is on the SNS topic once");
}

// ---- Route 53 failing during the scheduled poll (the health-poll function) -------

/// A stand-in for Route 53 on 127.0.0.1 that fails every call: `"throttle"`
/// (400 Throttling), `"error"` (503), or `"hang"` (never answers).
#[cfg(feature = "emulator")]
async fn failing_route53(mode: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = [0u8; 8192];
                loop {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let (status, code) = match mode {
                        "throttle" => ("400 Bad Request", "Throttling"),
                        "error" => ("503 Service Unavailable", "ServiceUnavailable"),
                        _ => {
                            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                            return;
                        }
                    };
                    let body = format!(
                        "<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>r</RequestId></ErrorResponse>"
                    );
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    endpoint
}

/// GIVEN the loss about to be confirmed, WHEN the scheduled health poll runs while
/// Route 53 throttles, fails or does not answer, THEN the poll is logged and
/// skipped, the ticks still run (the request is raised and alerted through SNS),
/// and the function succeeds: Route 53 is never on the critical path.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn the_health_poll_ticks_on_when_route53_fails() {
    use aws_config::timeout::TimeoutConfig;
    use shared::handlers::{health_poll, Approved, Function};
    for mode in ["throttle", "error", "hang"] {
        let mut deps = aws_support::deps().await;
        let endpoint = failing_route53(mode).await;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_route53::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .retry_config(shared::adapters::aws::retry_config(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_millis(300))
                    .build(),
            )
            .load()
            .await;
        deps.route53 = aws_sdk_route53::Client::new(&config).into();
        let mirror = aws_support::unique("R53");
        let function = Function::new(
            topology_named(&mirror),
            deps,
            "https://approve.example",
            "default",
            Approved::HandOff,
        );
        // The region outage up to 03:05:10, shifted so that the poll runs at 03:05:45.
        let shift = Utc::now() - t(345);
        for d in scenario("region-outage-pending.jsonl")
            .iter()
            .filter(|d| d.at <= t(310))
            .map(|d| d.shifted(shift))
        {
            deliver_once(&function.engine, &mirror, &d.what, d.at)
                .await
                .expect("set up");
        }
        let schedule = serde_json::from_str(
            &std::fs::read_to_string(root().join("tests/fixtures/events/schedule.json")).expect("fixture"),
        )
        .expect("json");
        let logs = crate::logs::capture();
        let answer = {
            health_poll::handle(
                &function,
                lambda_runtime::LambdaEvent::new(schedule, Default::default()),
            )
            .await
            .unwrap_or_else(|e| panic!("{mode}: the poll function failed: {e:?}"))
        };
        let logged = logs.text();
        assert!(
            logged.contains("no Route 53 health check could be read this minute"),
            "{mode}: {logged}"
        );
        assert!(answer.to_string().contains(&mirror), "{mode}: {answer}");
        let state = function.engine.state(&mirror, Utc::now()).await.expect("state");
        assert_eq!(state.phase, Phase::PromotionPending, "{mode}: the tick ran");
        assert!(
            state.outbox.is_empty(),
            "{mode}: the request's alert went out through SNS"
        );
    }
}

// ---- SSM failing behind the real SDK client ------------------------------------------

/// A stand-in for SSM and EventBridge on 127.0.0.1: PutEvents succeeds, SendCommand
/// always answers 500 InternalFailure. Returns the endpoint and how many SendCommand
/// calls it received.
#[cfg(feature = "emulator")]
async fn failing_ssm() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sends.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let head_end = loop {
                        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..head_end + length);
                    let (status, body) = if head.contains("amazonssm.sendcommand") {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        (
                            "500 Internal Server Error",
                            r#"{"__type":"InternalFailure","message":"injected"}"#,
                        )
                    } else if head.contains("amazonssm.describeinstanceinformation") {
                        // The candidate's agent is Online: the failure is SendCommand's.
                        (
                            "200 OK",
                            r#"{"InstanceInformationList":[{"InstanceId":"i-0ddddddddddddddd4","PingStatus":"Online"}]}"#,
                        )
                    } else {
                        ("200 OK", r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#)
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, sends)
}

/// GIVEN an approved promotion, WHEN SSM keeps failing behind the real SDK client
/// (its retries exhausted), THEN `promotion_failed` goes out through SNS (the
/// emulator), saying the promote script was not started, and nothing sends the
/// command again: not an hour of ticks, not a redelivered order.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn an_ssm_failure_behind_the_real_client_is_reported_and_never_retried_by_mirrorgate() {
    let deps = aws_support::deps().await;
    let (endpoint, sends) = failing_ssm().await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-west-2"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(shared::adapters::aws::retry_config(3))
        .load()
        .await;
    let actions = shared::adapters::aws::AwsPromotionActions::new(
        aws_sdk_ssm::Client::new(&config),
        aws_sdk_eventbridge::Client::new(&config),
    );
    let mirror = aws_support::unique("SSMFAIL");
    let plan = FaultPlan::none();
    let engine = wrap(topology_named(&mirror), deps.store(), deps.notifier(), actions, &plan);
    let deliveries: Vec<Delivery> = scenario("region-outage.jsonl")
        .into_iter()
        .take_while(|d| d.at <= t(9 * 60 + 30))
        .collect();
    let story = play(&engine, &mirror, &deliveries, 60).await;
    assert_eq!(
        sends.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the SDK's three attempts, once"
    );
    let kinds: Vec<&str> = story.delivered.values().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "promotion_failed").count(),
        1,
        "{kinds:?}"
    );
    assert!(!kinds.contains(&"promotion_timed_out"), "{kinds:?}");
    let state = engine.state(&mirror, t(9000)).await.expect("state");
    let request = state.latest_request().expect("request");
    assert_eq!(request.status, RequestStatus::Failed);
    assert!(
        request
            .outcome
            .as_deref()
            .is_some_and(|o| o.contains("the promote script was not started")),
        "{:?}",
        request.outcome
    );
    let order = shared::ports::PromotionOrder {
        resume: false,
        allow_no_partner: false,
        failback: false,
        mirror: mirror.clone(),
        request: request.id.clone(),
        candidate: request.candidate.clone(),
        epoch: request.epoch,
    };
    engine.execute_order(order, t(9000)).await.expect("late order");
    assert_eq!(sends.load(std::sync::atomic::Ordering::SeqCst), 3, "never sent again");
}

/// GIVEN DR1 promoted and the former region back, its fencing request open, WHEN the
/// fencing document is refused for the second member (an error, throttling past the
/// SDK's retries, a timeout) THEN `fencing_failed` is alerted naming what was fenced,
/// the first member is shown fenced and the second not, DR1 stays primary, and nothing
/// sends the fencing again: not the ticks that follow.
#[tokio::test]
async fn a_fencing_that_fails_for_one_member_is_reported_and_fences_the_others() {
    for fault in [Fault::Error, Fault::Throttled, Fault::Timeout] {
        let plan = FaultPlan::nth(Call::Fence, 1, fault);
        let engine = engine(&plan);
        let now = play_until(&engine, "HSPROD", "old-region-back-pending.jsonl", |_| false).await;
        let state = engine.state("HSPROD", now).await.expect("state");
        let request = state
            .open_fencing()
            .map(|r| r.id.clone())
            .expect("a fencing request waits");

        let at = now + Duration::seconds(30);
        let outcome = engine.handle(approve(&request, at), at).await.expect("handled");

        let kinds: Vec<AlertKind> = alerts_of(&outcome.reports).iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            vec![AlertKind::FencingApproved, AlertKind::FencingFailed],
            "{fault:?}"
        );
        let state = engine.state("HSPROD", at).await.expect("state");
        let fenced: Vec<&str> = state.fenced().map(|(name, _)| name).collect();
        assert_eq!(fenced, vec!["HSPROD-A"], "{fault:?}");
        assert_eq!(state.request(&request).map(|r| r.status), Some(RequestStatus::Failed));
        assert_eq!(state.primary.as_deref(), Some("HSPROD-DR1"));
        let sent: Vec<String> = engine
            .actions()
            .inner()
            .fenced()
            .into_iter()
            .map(|f| f.member)
            .collect();
        assert_eq!(sent, vec!["HSPROD-A".to_string()], "{fault:?}");

        plan.set_enabled(false);
        for minute in 1..=10 {
            let t = at + Duration::minutes(minute);
            let o = engine.handle(tick(t), t).await.expect("tick");
            assert!(
                !o.reports.iter().any(|r| matches!(r, Report::FencingExecuted { .. })),
                "{fault:?}: {:?}",
                o.reports
            );
        }
        assert_eq!(plan.took_effect(Call::Fence), vec![format!("{request} HSPROD-A")]);
    }
}
