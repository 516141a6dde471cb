//! The rules of planned switchovers to a DR member (decide/switchover.rs), one test
//! each. The same harness and times as the rest of the domain tests.

use super::*;
use crate::domain::state::RequestKind;

fn switchover(to: &str, by: &str, at: i64) -> Signal {
    signal(
        at,
        SignalKind::Switchover {
            to: to.into(),
            by: by.into(),
        },
    )
}

/// The normal mirror, with switchover R1 to DR1 asked by Ravi at 20 s.
fn asked(m: &Mirror) -> MirrorState {
    run(m, normal(m), [switchover(DR1, "Ravi Patel", 20)]).0
}

/// The site's switchover procedure after the approval at 60 s: IRIS stopped on B
/// then on A (their hosts and agents keep running), then DR1 promoted with partner.
fn primary_region_stepped_down_and_dr1_promoted() -> Vec<Signal> {
    vec![
        started(R1, 61),
        outcome(
            R1,
            true,
            "SSM document HSPROD-PromoteDrAsync on i-0ddddddddddddddd4",
            62,
        ),
        status(B, MemberStatus::Down, 80),
        status(A, MemberStatus::Down, 90),
        route53(A, false, 90),
        status(DR1, MemberStatus::Primary, 120),
        route53(DR1, true, 120),
    ]
}

#[test]
fn a_switchover_asks_through_the_same_gate_and_changes_nothing_until_approved() {
    let m = hsprod();
    // WHEN Ravi asks to switch over to DR1
    let (state, effects) = run(&m, normal(&m), [switchover(DR1, "Ravi Patel", 20)]);
    // THEN a switchover request with a link asks for it; the mirror is unchanged
    let r = state.request(R1).expect("R1");
    assert_eq!(
        (r.kind, r.status, r.candidate.as_str()),
        (RequestKind::Switchover, RequestStatus::Open, DR1)
    );
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::Normal, 1, Some(A))
    );
    let alert = only_alert(&effects, AlertKind::SwitchoverRequested);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::SwitchoverRequested),
            Notice::Switchover(SwitchoverNotice::Requested { primary: Some(from), candidate, started_by: Some(by), .. })
                if from == A && candidate == DR1 && by == "Ravi Patel"
        ),
        "{alert:?}"
    );
    link(alert);
    assert_eq!(requested(&effects), vec![], "no promotion request");
    // and a switchover to a failover member, or during a loss, is refused and changes nothing
    let decided = step(&m, &normal(&m), switchover(B, "Ravi Patel", 20));
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("not a DR async member")),
        "{:?}",
        decided.verdict
    );
    let lost = region_lost(&m);
    let decided = step(&m, &lost, switchover(DR1, "Ravi Patel", 20));
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { .. }),
        "{:?}",
        decided.verdict
    );
    assert_eq!(decided.state, lost);
}

#[test]
fn a_switchover_is_refused_when_no_partner_is_heard_unless_the_loss_is_accepted() {
    // GIVEN a switchover asked, and nothing heard from A or B since 0 s
    let m = hsprod();
    let state = asked(&m);
    // WHEN Dana approves at 400 s, past the 180 s of fresh evidence
    let decided = step(&m, &state, approve(R1, "Dana Whitfield", 400));
    // THEN it is refused: no partner's ISCAgent would answer; the request stays open
    assert!(
        matches!(refusal(&decided), Refusal::PartnerSilent { .. }),
        "{:?}",
        decided.verdict
    );
    assert_eq!(request_status(&decided.state, R1), RequestStatus::Open);
    assert_eq!(executed(&decided.effects), Vec::<&str>::new());
    // WHEN she approves accepting the loss
    let decided = step(&m, &decided.state, accepting_loss(approve(R1, "Dana Whitfield", 410)));
    // THEN it runs, allowed to go without partner
    assert_eq!(executed(&decided.effects), vec![R1]);
    let r = decided.state.request(R1).expect("R1");
    assert_eq!((r.status, r.accepted_without_partner), (RequestStatus::Approved, true));
}

#[test]
fn an_approved_switchover_goes_with_partner_and_fences_after_the_dr_member_reports_primary() {
    // GIVEN a switchover asked, A and B heard from moments ago
    let m = hsprod();
    let state = asked(&m);
    // WHEN Dana approves at 60 s
    let (state, effects) = run(&m, state, [approve(R1, "Dana Whitfield", 60)]);
    // THEN the promotion runs with partner only, and the phase holds
    assert_eq!(executed(&effects), vec![R1]);
    assert!(!state.request(R1).expect("R1").accepted_without_partner);
    assert_eq!(state.phase, Phase::Normal);
    only_alert(&effects, AlertKind::SwitchoverApproved);
    // WHEN the primary region steps down and DR1 reports primary
    let (state, effects) = run(&m, state, primary_region_stepped_down_and_dr1_promoted());
    // THEN the switchover is done, never alerted as a promotion outside mirrorgate, no
    // promotion request is raised, and A and B are fenced as part of it
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (Phase::DrActive, 2, Some(DR1))
    );
    assert_eq!(request_status(&state, R1), RequestStatus::Succeeded);
    let kinds = alert_kinds(&effects);
    // (B and A stopping are told as info: the switchover explains them)
    assert_eq!(
        kinds,
        vec![AlertKind::Degraded, AlertKind::PrimaryLost, AlertKind::SwitchoverDone]
    );
    for alert in alerts(&effects).iter().filter(|a| a.kind != AlertKind::SwitchoverDone) {
        assert_eq!(alert.severity, Severity::Info, "{alert:?}");
        assert!(
            alert.headline.ends_with("(switchover HSPROD-R1 under way)"),
            "{}",
            alert.headline
        );
    }
    assert!(!kinds.contains(&AlertKind::DrPrimary), "{kinds:?}");
    assert!(!kinds.contains(&AlertKind::FencingRequested), "{kinds:?}");
    assert_eq!(requested(&effects), vec![]);
    only_alert(&effects, AlertKind::SwitchoverDone);
    let fencing: Vec<(&str, &[String])> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ExecuteFencing { request, members, .. } => Some((request.as_str(), members.as_slice())),
            _ => None,
        })
        .collect();
    assert_eq!(fencing, vec![(R2, &[A.to_string(), B.to_string()][..])]);
    let r2 = state.request(R2).expect("the fencing");
    assert_eq!((r2.kind, r2.status), (RequestKind::Fencing, RequestStatus::Approved));
    // WHEN the fencing document was sent
    let fenced = signal(
        130,
        SignalKind::PromotionOutcome {
            request: R2.into(),
            ok: true,
            detail: "sent".into(),
            fenced: vec![A.into(), B.into()],
        },
    );
    let (state, effects) = run(
        &m,
        state,
        [started(R2, 125), fenced, status(A, MemberStatus::Down, 200), tick(400)],
    );
    // THEN A and B are fenced, and their signs of life ask for nothing
    let names: Vec<&str> = state.fenced().map(|(name, _)| name).collect();
    assert_eq!(names, vec![A, B]);
    assert!(
        !alert_kinds(&effects).contains(&AlertKind::FencingRequested),
        "{:?}",
        alert_kinds(&effects)
    );
}

#[test]
fn a_dr_member_promoted_without_an_approved_switchover_is_still_alerted() {
    // GIVEN a switchover asked but not approved
    let m = hsprod();
    let state = asked(&m);
    // WHEN DR1 becomes primary anyway
    let (state, effects) = run(
        &m,
        state,
        [
            status(B, MemberStatus::Down, 80),
            status(A, MemberStatus::Down, 90),
            route53(A, false, 90),
            status(DR1, MemberStatus::Primary, 120),
            route53(DR1, true, 120),
        ],
    );
    // THEN it is a promotion outside mirrorgate, and the switchover request is withdrawn
    only_alert(&effects, AlertKind::DrPrimary);
    assert_eq!(request_status(&state, R1), RequestStatus::Superseded);
}

const R3: &str = "HSPROD-R3";

fn failback(to: &str, by: &str, at: i64) -> Signal {
    signal(
        at,
        SignalKind::Failback {
            to: to.into(),
            by: by.into(),
        },
    )
}

/// After the switchover of R1 (DR1 primary since 120 s) and the fencing of A and B by R2.
fn switched_over(m: &Mirror) -> MirrorState {
    let state = run(m, asked(m), [approve(R1, "Dana Whitfield", 60)]).0;
    let state = run(m, state, primary_region_stepped_down_and_dr1_promoted()).0;
    let fenced = signal(
        130,
        SignalKind::PromotionOutcome {
            request: R2.into(),
            ok: true,
            detail: "sent".into(),
            fenced: vec![A.into(), B.into()],
        },
    );
    run(m, state, [started(R2, 125), fenced]).0
}

/// The executor's report of failback R3: A and B un-fenced, the promotion of A sent.
fn unfenced_a_and_b(at: i64) -> Signal {
    signal(
        at,
        SignalKind::PromotionOutcome {
            request: R3.into(),
            ok: true,
            detail: "un-fenced A, B; promote A".into(),
            fenced: vec![A.into(), B.into()],
        },
    )
}

#[test]
fn a_failback_unfences_and_promotes_the_failover_member_back() {
    let m = hsprod();
    let state = switched_over(&m);
    assert_eq!(state.fenced().count(), 2);
    // a failback to a DR member is refused, changing nothing
    let decided = step(&m, &state, failback(DR2, "Ravi Patel", 200));
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("not a failover member")),
        "{:?}",
        decided.verdict
    );
    // WHEN Ravi asks to fail back to A, and Dana approves while DR1 is heard from
    let (state, effects) = run(
        &m,
        state,
        [
            failback(A, "Ravi Patel", 200),
            heartbeat(DR1, MemberStatus::Primary, 230),
            approve(R3, "Dana Whitfield", 240),
        ],
    );
    // THEN A and B are to be un-fenced and A promoted back, with partner
    only_alert(&effects, AlertKind::FailbackRequested);
    assert_eq!(executed(&effects), vec![R3]);
    let r3 = state.request(R3).expect("R3");
    assert_eq!((r3.kind, r3.status), (RequestKind::Failback, RequestStatus::Approved));
    assert_eq!(r3.fence_members, vec![A.to_string(), B.to_string()]);
    assert!(!r3.accepted_without_partner);
    // WHEN the executor un-fenced them and ran the promotion, IRIS on DR1 is stopped,
    // A reports primary, and DR1 rejoins as an async connected to it
    let unfenced = unfenced_a_and_b(250);
    let (state, effects) = run(
        &m,
        state,
        [
            started(R3, 245),
            unfenced,
            status(DR1, MemberStatus::Down, 260),
            status(A, MemberStatus::Primary, 280),
            route53(A, true, 280),
            status(B, MemberStatus::Backup, 290),
            status(DR1, MemberStatus::Connected, 300),
        ],
    );
    // THEN the mirror is back to normal on A, nothing is fenced, failback R3 succeeded,
    // and nothing says a promotion happened outside mirrorgate
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::Normal, Some(A)));
    assert_eq!(state.fenced().count(), 0);
    assert_eq!(request_status(&state, R3), RequestStatus::Succeeded);
    let kinds = alert_kinds(&effects);
    assert!(kinds.contains(&AlertKind::FailedBack), "{kinds:?}");
    assert!(
        !kinds.contains(&AlertKind::DrPrimary) && !kinds.contains(&AlertKind::FencingRequested),
        "{kinds:?}"
    );
}

/// GIVEN an approved failback whose members were un-fenced WHEN the promote document
/// (Purpose=failback) fails on A (A did not rejoin in time) THEN the failback closes
/// failed, said with the script's first line, and the DR primary stays: the phase is
/// still dr_active on DR1, never primary_lost, and no promotion is alerted as failed.
#[test]
fn a_failback_whose_promote_command_fails_leaves_the_dr_primary_in_place() {
    let m = hsprod();
    let state = switched_over(&m);
    let (state, _) = run(
        &m,
        state,
        [
            failback(A, "Ravi Patel", 200),
            heartbeat(DR1, MemberStatus::Primary, 230),
            approve(R3, "Dana Whitfield", 240),
            started(R3, 245),
            unfenced_a_and_b(250),
        ],
    );
    let epoch = state.epoch;
    let comment = format!("mirrorgate HSPROD request {R3} epoch {epoch}: promote {A}");
    let failed = command(
        "HSPROD-PromoteDrAsync",
        A,
        RunStatus::Failed,
        Some(comment),
        Some("PROMOTE FAILED (HSPROD-R3): IRIS has not rejoined HSPROD as a Connected DR async after 300 s: a 'Disaster Recovery' member, mirror status 'Waiting'"),
        400,
    );
    let (state, effects) = run(&m, state, [failed]);
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::DrActive, Some(DR1)));
    assert_eq!(request_status(&state, R3), RequestStatus::Failed);
    let kinds = alert_kinds(&effects);
    assert!(kinds.contains(&AlertKind::FailbackClosed), "{kinds:?}");
    assert!(!kinds.contains(&AlertKind::PromotionFailed), "{kinds:?}");
    let outcome = state.request(R3).and_then(|r| r.outcome.clone()).unwrap_or_default();
    assert!(
        outcome.contains("has not rejoined HSPROD as a Connected DR async"),
        "{outcome}"
    );
}
