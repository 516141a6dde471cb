//! Bugs the reliability tests found, one test each, through the engine.

use crate::reliability;

use chrono::Duration;
use reliability::*;
use shared::domain::{
    Authority, Decision, DecisionAction, MemberStatus, Phase, RequestStatus, Signal, SignalKind, Verdict,
};
use shared::engine::Approved;

/// GIVEN the region-outage scenario up to its open request (HSPROD-R1, HSPROD-DR1).
async fn pending(engine: &TestEngine) -> chrono::DateTime<chrono::Utc> {
    let deliveries = scenario("region-outage-pending.jsonl");
    let mut now = t(0);
    for d in &deliveries {
        now = d.at;
        deliver_once(engine, "HSPROD", &d.what, now).await.expect("delivered");
    }
    let state = engine.state("HSPROD", now).await.expect("state");
    assert_eq!(state.phase, Phase::PromotionPending);
    now
}

fn approve(request: &str, at: chrono::DateTime<chrono::Utc>) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: None,
        at,
        kind: SignalKind::Decision(Decision {
            request: request.into(),
            action: DecisionAction::Approve,
            by: "Dana Whitfield".into(),
            accept_loss: true,
            authority: Authority::Operator,
            source_ip: None,
            user_agent: None,
            shown: None,
        }),
    }
}

fn status(member: &str, status: MemberStatus, at: chrono::DateTime<chrono::Utc>) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: Some(format!("{member}-{status:?}-{at}")),
        at,
        kind: SignalKind::Status {
            reason: None,
            member: member.into(),
            status,
            heartbeat: false,
            journal_latency: None,
        },
    }
}

/// GIVEN a request to promote DR1 waiting, WHEN someone promotes DR2 by hand and
/// it reports primary, and then the link is approved, THEN nothing is promoted:
/// a second DR primary would be a split brain.
#[tokio::test]
async fn approval_is_refused_when_another_dr_member_already_serves_as_primary() {
    let engine = test_engine();
    let now = pending(&engine).await;
    let later = now + Duration::seconds(30);
    engine
        .handle(status("HSPROD-DR2", MemberStatus::Primary, later), later)
        .await
        .expect("handled");
    let outcome = engine
        .handle(approve("HSPROD-R1", later), later)
        .await
        .expect("handled");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Decision(shared::domain::DecisionVerdict::Refused { .. })
        ),
        "{:?}",
        outcome.verdict
    );
    assert!(engine.actions().recorded().is_empty(), "nothing may be promoted");
    let state = engine.state("HSPROD", later).await.expect("state");
    assert_eq!(state.phase, Phase::DrActive, "DR2 is the primary now");
    assert_eq!(state.primary.as_deref(), Some("HSPROD-DR2"));
    assert_ne!(state.request("HSPROD-R1").map(|r| r.status), Some(RequestStatus::Open));
}

/// GIVEN an approved promotion handed off for the executor, WHEN the hand-off is
/// lost (the approving function stopped first), THEN a tick a minute later hands
/// it over again, and it runs once.
#[tokio::test]
async fn a_lost_hand_off_is_handed_over_again_by_the_tick() {
    let engine = test_engine().on_approval(Approved::HandOff);
    let now = pending(&engine).await;
    let approved = engine.handle(approve("HSPROD-R1", now), now).await.expect("approved");
    assert_eq!(approved.orders.len(), 1, "the approval hands one order off");
    // The order is lost here. The next ticks:
    let soon = engine.tick(now + Duration::seconds(30)).await.expect("tick");
    assert!(
        soon.iter().all(|o| o.orders.is_empty()),
        "not yet: the executor may still be starting"
    );
    let later = engine.tick(now + Duration::seconds(61)).await.expect("tick");
    let orders: Vec<_> = later.iter().flat_map(|o| o.orders.clone()).collect();
    assert_eq!(orders, approved.orders, "handed over again");
    let reports = engine
        .execute_order(orders[0].clone(), now + Duration::seconds(62))
        .await
        .expect("run");
    assert_eq!(executed(&reports).len(), 1);
    let again = engine.tick(now + Duration::seconds(180)).await.expect("tick");
    assert!(
        again.iter().all(|o| o.orders.is_empty()),
        "claimed: never handed over again"
    );
    for order in approved.orders {
        engine
            .execute_order(order, now + Duration::seconds(181))
            .await
            .expect("late copy");
    }
    assert_eq!(engine.actions().recorded().len(), 1, "ran once");
}

fn observed(
    member: &str,
    observer: shared::domain::Observer,
    healthy: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Signal {
    Signal {
        mirror: "HSPROD".into(),
        id: None,
        at,
        kind: SignalKind::Observation {
            unreachable: false,
            alarm_arn: None,
            since: None,
            member: member.into(),
            observer,
            healthy,
            source: "test".into(),
        },
    }
}

/// GIVEN a request waiting while the observers stopped agreeing for a while (the
/// primary's instance ran again, then stopped again), WHEN the approval is refused
/// because the candidate became unhealthy, THEN the next candidate is proposed only
/// after the loss was agreed again for a whole confirmation window.
#[tokio::test]
async fn after_a_refusal_the_next_request_waits_for_a_whole_new_window() {
    use shared::domain::Observer::{Instance, Route53};
    let engine = test_engine();
    for (at, member, observer, healthy) in [
        (0, "HSPROD-A", Route53, true),
        (0, "HSPROD-A", Instance, true),
        (60, "HSPROD-A", Route53, false),
        (60, "HSPROD-A", Instance, false),
    ] {
        engine
            .handle(observed(member, observer, healthy, t(at)), t(at))
            .await
            .expect("handled");
    }
    engine.tick(t(240)).await.expect("tick");
    assert_eq!(
        engine.state("HSPROD", t(240)).await.expect("state").phase,
        Phase::PromotionPending
    );
    // Only Route 53 agrees for 100 s, then the instance stops again.
    engine
        .handle(observed("HSPROD-A", Instance, true, t(300)), t(300))
        .await
        .expect("handled");
    engine
        .handle(observed("HSPROD-A", Instance, false, t(400)), t(400))
        .await
        .expect("handled");
    engine
        .handle(observed("HSPROD-DR1", Instance, false, t(410)), t(410))
        .await
        .expect("handled");
    let refused = engine
        .handle(approve("HSPROD-R1", t(410)), t(410))
        .await
        .expect("handled");
    assert!(executed(&refused.reports).is_empty());
    let state = engine.state("HSPROD", t(410)).await.expect("state");
    assert_eq!(state.phase, Phase::PrimaryLost, "no new request on 10 s of agreement");
    engine.tick(t(560)).await.expect("tick");
    assert_eq!(
        engine.state("HSPROD", t(560)).await.expect("state").phase,
        Phase::PrimaryLost
    );
    engine.tick(t(580)).await.expect("tick");
    let state = engine.state("HSPROD", t(580)).await.expect("state");
    assert_eq!(state.phase, Phase::PromotionPending, "a whole window after 400 s");
    assert_eq!(state.open_request().map(|r| r.candidate.as_str()), Some("HSPROD-DR2"));
}

/// GIVEN an approved promotion whose candidate never reported primary, WHEN the
/// old primary reports primary just as the promotion times out, THEN the rules of
/// the new phase apply in the same signal (HSPROD-A serves again), so a second delivery
/// of that signal finds nothing left to do.
#[tokio::test]
async fn a_phase_change_settles_in_the_same_signal() {
    let engine = test_engine();
    let now = pending(&engine).await;
    engine.handle(approve("HSPROD-R1", now), now).await.expect("approved");
    let timeout = now + Duration::seconds(600);
    let back = status("HSPROD-A", MemberStatus::Primary, timeout);
    let first = engine.handle(back.clone(), timeout).await.expect("handled");
    assert!(!first.reports.is_empty());
    let state = engine.state("HSPROD", timeout).await.expect("state");
    // Timed out, and HSPROD-A serves again (without its backup, which went silent).
    assert_eq!(state.phase, Phase::Degraded, "{:?}", first.reports);
    let mut again = back;
    again.id = None;
    let second = engine.handle(again, timeout).await.expect("handled");
    assert!(second.reports.is_empty(), "{:?}", second.reports);
}

/// GIVEN a host whose clock runs a day ahead, WHEN the primary's heartbeat says
/// Primary with that future time and the primary is then lost, THEN the loss is
/// still detected and a promotion proposed: an event counts as happening no
/// later than it arrived, so a skewed time cannot outrank every later report.
#[tokio::test]
async fn a_heartbeat_stamped_in_the_future_does_not_hide_the_loss_of_the_primary() {
    use shared::domain::Observer::{Instance, Route53};
    let engine = test_engine();
    let skewed = Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: t(0) + Duration::days(1),
        kind: SignalKind::Status {
            reason: None,
            member: "HSPROD-A".into(),
            status: MemberStatus::Primary,
            heartbeat: true,
            journal_latency: None,
        },
    };
    engine.handle(skewed, t(0)).await.expect("handled");
    engine
        .handle(observed("HSPROD-A", Route53, true, t(0)), t(0))
        .await
        .expect("handled");
    let dr1 = Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: t(0),
        kind: SignalKind::Status {
            reason: None,
            member: "HSPROD-DR1".into(),
            status: MemberStatus::Connected,
            heartbeat: true,
            journal_latency: Some(shared::domain::JournalLatency {
                received_at: None,
                seconds: 2.0,
                bytes: None,
                files: None,
                measured_at: t(0) + Duration::days(1),
            }),
        },
    };
    engine.handle(dr1, t(0)).await.expect("handled");
    // The primary is lost: Route 53 and the instance agree, its heartbeats stop, and
    // DR1 no longer reaches it.
    let waiting = Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: t(60),
        kind: SignalKind::Status {
            reason: None,
            member: "HSPROD-DR1".into(),
            status: MemberStatus::Waiting,
            heartbeat: false,
            journal_latency: None,
        },
    };
    engine.handle(waiting, t(60)).await.expect("handled");
    engine
        .handle(observed("HSPROD-A", Route53, false, t(60)), t(60))
        .await
        .expect("handled");
    engine
        .handle(observed("HSPROD-A", Instance, false, t(60)), t(60))
        .await
        .expect("handled");
    let state = engine.state("HSPROD", t(60)).await.expect("state");
    assert_eq!(state.phase, Phase::PrimaryLost, "the future heartbeat hid the loss");
    assert!(
        state.members["HSPROD-A"].last_heard <= Some(t(60)),
        "no time after arrival is kept"
    );
    assert!(
        state.members["HSPROD-DR1"]
            .journal_latency
            .is_some_and(|l| l.measured_at <= t(60)),
        "nor a latency measured in the future"
    );
    for minute in 1..=4 {
        engine.tick(t(60) + Duration::minutes(minute)).await.expect("tick");
    }
    let state = engine.state("HSPROD", t(300)).await.expect("state");
    assert_eq!(state.phase, Phase::PromotionPending);
}

/// GIVEN a topology whose cool-down (or any policy duration) is absurdly long,
/// THEN it is refused on load with the field named, instead of the engine
/// panicking on the first signal when it adds that duration to the clock.
#[tokio::test]
async fn a_policy_duration_beyond_a_year_is_refused_by_field() {
    let text = std::fs::read_to_string(root().join("examples/topology.toml")).expect("example");
    for key in [
        "confirmation_window_secs",
        "reminder_interval_secs",
        "cool_down_secs",
        "heartbeat_stale_secs",
        "promotion_timeout_secs",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .expect("set in the example");
        let edited = text.replace(line, &format!("{key} = 9223372036854775807"));
        let err = shared::topology::Topology::parse("t.toml", &edited).expect_err("refused");
        assert_eq!(err.field, format!("policy.{key}"), "{err}");
        assert!(err.to_string().contains("at most 31622400 (a year)"), "{err}");
    }
}

/// GIVEN a delivery applied, then more other deliveries than the state's own list
/// of seen ids holds, WHEN the first is delivered again (a retry hours later) THEN
/// the store's dedupe record catches it in the write: a duplicate, nothing written.
#[tokio::test]
async fn a_delivery_the_state_has_forgotten_is_still_a_duplicate() {
    let engine = test_engine();
    let start = t(0);
    let first = status("HSPROD-DR2", MemberStatus::Connected, start);
    engine.handle(first.clone(), start).await.expect("first delivery");
    for i in 1..=200 {
        let at = start + Duration::seconds(i);
        let status_now = if i % 2 == 0 {
            MemberStatus::Connected
        } else {
            MemberStatus::Synchronizing
        };
        engine
            .handle(status("HSPROD-DR1", status_now, at), at)
            .await
            .expect("another delivery");
    }
    let now = start + Duration::hours(3);
    let before = engine.state("HSPROD", now).await.expect("state");
    let id = first.id.clone().expect("the delivery has an id");
    assert!(!before.has_seen(&id), "the state's own list has forgotten it");
    let again = engine.handle(first, now).await.expect("delivered again");
    assert_eq!(again.verdict, Verdict::Duplicate);
    assert!(again.reports.is_empty(), "{:?}", again.reports);
    let after = engine.state("HSPROD", now).await.expect("state");
    assert_eq!(after.version, before.version, "nothing written");
}
