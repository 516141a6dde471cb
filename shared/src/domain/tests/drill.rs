//! The rules of DR drills (decide/drill.rs), one test each. The same harness and
//! times as the rest of the domain tests.

use super::*;
use crate::domain::notice::DrillEnd;
use crate::domain::report::DrillReport;
use crate::domain::state::RequestKind;

const DRILL_DOC: &str = "HSPROD-DrillDrAsync";

fn drill(by: &str, at: i64) -> Signal {
    signal(at, SignalKind::Drill { by: by.into() })
}

fn opened(request: &str, at: i64) -> Signal {
    signal(
        at,
        SignalKind::LinkOpened {
            request: request.into(),
        },
    )
}

/// The mark comes first after the severity, in the subject and in the SMS.
fn assert_marked_drill(alert: &Alert) {
    let subject = alert.subject();
    let sms = alert.sms();
    let tags = ["[CRITICAL] ", "[WARNING] ", "[info] ", "CRITICAL ", "WARNING ", ""];
    let marked = |text: &str| tags.iter().any(|tag| text.starts_with(&format!("{tag}DRILL ")));
    assert!(alert.headline.starts_with("DRILL "), "{}", alert.headline);
    assert!(marked(&subject), "{subject}");
    assert!(marked(&sms), "{sms}");
}

/// HSPROD (examples/topology.toml has the drill document).
fn with_drill_document() -> Mirror {
    let m = hsprod();
    assert_eq!(m.promotion.drill_document.as_deref(), Some(DRILL_DOC));
    m
}

/// The normal mirror, with drill R1 started by Ravi at 20 s.
fn drilling(m: &Mirror) -> (MirrorState, Vec<Effect>) {
    run(m, normal(m), [drill("Ravi Patel", 20)])
}

#[test]
fn a_drill_asks_through_the_same_gate_marked_drill_and_changes_no_phase_or_epoch() {
    // GIVEN a normal mirror
    let m = hsprod();
    let before = normal(&m);
    // WHEN Ravi starts a drill
    let (state, effects) = run(&m, before.clone(), [drill("Ravi Patel", 20)]);
    // THEN a drill request asks, with a link, for the best DR member; marked DRILL in
    // subject and SMS; the phase, epoch and primary are untouched; no transition
    let r = state.request(R1).expect("drill R1");
    assert_eq!(
        (r.kind, r.status, r.candidate.as_str()),
        (RequestKind::Drill, RequestStatus::Open, DR1)
    );
    assert_eq!(
        (state.phase, state.epoch, state.primary.as_deref()),
        (before.phase, before.epoch, before.primary.as_deref())
    );
    let alert = only_alert(&effects, AlertKind::DrillRequested);
    assert_eq!(
        alert.severity,
        Severity::Critical,
        "the same channels as a real request"
    );
    assert_marked_drill(alert);
    assert!(alert.subject().starts_with("[CRITICAL] DRILL "), "{}", alert.subject());
    assert!(alert.sms().starts_with("CRITICAL DRILL "), "{}", alert.sms());
    assert!(alert.email().contains("nothing will be promoted"), "{}", alert.email());
    link(alert);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Transition { .. })),
        "{effects:?}"
    );
    assert_eq!(requested(&effects), vec![], "no promotion request");
}

#[test]
fn approving_a_drill_runs_the_drill_document_never_the_promotion() {
    // GIVEN a drill open, with a drill document configured
    let m = with_drill_document();
    let (state, _) = drilling(&m);
    // WHEN Dana approves it
    let (state, effects) = run(&m, state, [approve(R1, "Dana Whitfield", 60)]);
    // THEN the drill document is ordered, not the promotion, and the phase holds
    assert_eq!(executed(&effects), Vec::<&str>::new());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::ExecuteDrill { request, candidate, .. } if request == R1 && candidate == DR1)),
        "{effects:?}"
    );
    assert_eq!((state.phase, state.epoch), (Phase::Normal, 1));
    assert_eq!(request_status(&state, R1), RequestStatus::Approved);
    let told = only_alert(&effects, AlertKind::DrillClosed);
    assert_marked_drill(told);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::DrillClosed),
            Notice::Drill(DrillNotice::Closed { request, end: DrillEnd::Approved { candidate, executing: true, .. } })
                if request == R1 && candidate == DR1
        ),
        "{told:?}"
    );
    // WHEN the drill document ran
    let (state, effects) = run(
        &m,
        state,
        [started(R1, 61), outcome(R1, true, "drill document on i-0dr1", 62)],
    );
    // THEN the drill succeeded; nothing else changed
    assert_eq!(request_status(&state, R1), RequestStatus::Succeeded);
    assert_eq!((state.phase, state.epoch), (Phase::Normal, 1));
    assert_eq!(alert_kinds(&effects), vec![AlertKind::DrillClosed]);
}

#[test]
fn approving_a_drill_without_a_drill_document_runs_nothing() {
    // GIVEN a drill open and no drill document
    let m = hsprod_with(|m| m.promotion.drill_document = None);
    let (state, _) = drilling(&m);
    // WHEN Dana approves it
    let (state, effects) = run(&m, state, [approve(R1, "Dana Whitfield", 60)]);
    // THEN nothing is ordered and the drill is done
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ExecuteDrill { .. } | Effect::ExecutePromotion { .. })),
        "{effects:?}"
    );
    assert_eq!(request_status(&state, R1), RequestStatus::Succeeded);
    assert_eq!(state.phase, Phase::Normal);
}

#[test]
fn a_real_loss_withdraws_the_drill_and_the_real_request_proceeds() {
    // GIVEN a drill open
    let m = hsprod();
    let (state, _) = drilling(&m);
    // WHEN the primary region really goes dark and the loss is confirmed
    let mut signals = region_outage(30);
    signals.push(tick(210));
    let (state, effects) = run(&m, state, signals);
    // THEN the drill is withdrawn as soon as the loss is seen, and the real request R2 is raised
    assert_eq!(request_status(&state, R1), RequestStatus::Superseded);
    let withdrawn = only_alert(&effects, AlertKind::DrillClosed);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::DrillClosed),
            Notice::Drill(DrillNotice::Closed { request, end: DrillEnd::Withdrawn }) if request == R1
        ),
        "{withdrawn:?}"
    );
    assert_eq!(requested(&effects), vec![(R2, DR1)]);
    assert_eq!(state.phase, Phase::PromotionPending);
    // and the drill's link decides nothing any more
    let decided = step(&m, &state, approve(R1, "Dana Whitfield", 220));
    assert_eq!(
        refusal(&decided),
        Refusal::RequestClosed {
            status: RequestStatus::Superseded
        }
    );
}

#[test]
fn no_drill_during_a_real_loss_nor_two_at_once() {
    let m = hsprod();
    // GIVEN the primary lost
    let lost = region_lost(&m);
    // WHEN a drill is asked
    let decided = step(&m, &lost, drill("Ravi Patel", 20));
    // THEN it is refused, nothing changes
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("real loss")),
        "{:?}",
        decided.verdict
    );
    assert_eq!(decided.state, lost);
    // GIVEN a drill open, WHEN another is asked, THEN it is refused
    let (state, _) = drilling(&m);
    let decided = step(&m, &state, drill("Dana Whitfield", 30));
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("still open")),
        "{:?}",
        decided.verdict
    );
    // and a drill needs a name
    let decided = step(&m, &normal(&m), drill("  ", 30));
    assert!(
        matches!(&decided.verdict, Verdict::Ignored { why } if why.contains("--by")),
        "{:?}",
        decided.verdict
    );
}

#[test]
fn the_drill_report_gives_the_times_and_what_would_have_been_promoted() {
    // GIVEN a drill at 20 s, its link opened at 80 s, approved at 140 s
    let m = hsprod();
    let (state, _) = drilling(&m);
    let (state, _) = run(
        &m,
        state,
        [opened(R1, 80), opened(R1, 100), approve(R1, "Dana Whitfield", 140)],
    );
    // WHEN its report is made
    let report = DrillReport::of("HSPROD", state.request(R1).expect("R1")).expect("a drill");
    // THEN it gives the alert, the first opening, the decision, and DR1 with its 5 s estimate
    assert_eq!(report.alert_sent, t(20));
    assert_eq!(report.link_opened, Some(t(80)));
    assert_eq!(report.decisions.len(), 1);
    assert_eq!(
        (report.decisions[0].at, report.decisions[0].by.as_str()),
        (t(140), "Dana Whitfield")
    );
    assert_eq!(report.seconds_to_decision, Some(120));
    assert_eq!(report.would_promote, DR1);
    assert_eq!(report.estimated_loss.seconds, Some(5.0));
    let md = report.markdown();
    assert!(md.starts_with("# DRILL report: HSPROD HSPROD-R1"), "{md}");
    assert!(md.contains("| Link opened | 03:01"), "{md}");
    assert!(md.contains("Would have promoted: HSPROD-DR1"), "{md}");
    // and a promotion request has no drill report
    let (pending, _) = pending(&m);
    assert!(DrillReport::of("HSPROD", pending.request(R1).expect("R1")).is_none());
}

#[test]
fn an_unanswered_drill_expires_without_changing_the_mirror() {
    let m = hsprod();
    let (state, _) = drilling(&m);
    // WHEN nobody decides within the link's 1800 s
    let (state, effects) = run(&m, state, [tick(1900)]);
    // THEN it expires, told as info and marked DRILL, and nothing else changes
    assert_eq!(request_status(&state, R1), RequestStatus::Expired);
    let told = only_alert(&effects, AlertKind::DrillClosed);
    assert_eq!(told.severity, Severity::Info);
    assert_marked_drill(told);
    assert_eq!((state.phase, state.epoch), (Phase::Normal, 1));
}
