//! The rules of maintenance windows (domain::maintenance), one test each.
//! The same harness and times as the rest of the domain tests.

use super::*;
use crate::domain::maintenance::{parse_duration, MAX_MAINTENANCE_SECS};

const REASON: &str = "OS patching of HSPROD-A and HSPROD-B";
const NOTE: &str = "maintenance: OS patching of HSPROD-A and HSPROD-B, until";

fn start(duration_secs: u64, at: i64) -> Signal {
    signal(
        at,
        SignalKind::MaintenanceStart {
            duration_secs,
            reason: REASON.into(),
            by: "Ravi Patel".into(),
        },
    )
}

fn end(by: &str, at: i64) -> Signal {
    signal(at, SignalKind::MaintenanceEnd { by: by.into() })
}

/// The normal mirror, with a two-hour window started at 5 s (until 05:00:05).
fn in_maintenance(m: &Mirror) -> MirrorState {
    run(m, normal(m), [start(7200, 5)]).0
}

#[test]
fn starting_a_window_is_audited_and_told_as_info() {
    let m = hsprod();
    // WHEN Ravi starts a two-hour window
    let (state, effects) = run(&m, normal(&m), [start(7200, 5)]);
    // THEN it is kept with who, why and until when, written in the history, and told as info
    let window = state.active_maintenance(t(10)).expect("a window is on");
    assert_eq!((window.by.as_str(), window.reason.as_str()), ("Ravi Patel", REASON));
    assert_eq!(window.until, t(7205));
    assert!(
        state
            .history
            .iter()
            .any(|h| h.what.starts_with("maintenance started by Ravi Patel: OS patching")),
        "{:?}",
        state.history
    );
    let alert = only_alert(&effects, AlertKind::MaintenanceStarted);
    assert_eq!(alert.severity, Severity::Info);
    assert!(alert.headline.contains("until 05:00 UTC"), "{}", alert.headline);
}

#[test]
fn no_request_is_raised_during_a_window_and_the_loss_is_info_with_the_reason() {
    // GIVEN a window on
    let m = hsprod();
    // WHEN the whole primary region goes dark and stays dark well past the confirmation window
    let mut signals = region_outage(10);
    signals.extend(ticks(60, 1800));
    let (state, effects) = run(&m, in_maintenance(&m), signals);
    // THEN the loss is told as info, says the maintenance and its end, and no request is raised
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(requested(&effects), vec![]);
    let lost = only_alert(&effects, AlertKind::PrimaryLost);
    assert_eq!(lost.severity, Severity::Info);
    assert!(
        lost.headline.contains(&format!("{NOTE} 05:00 UTC")),
        "{}",
        lost.headline
    );
    assert!(lost.facts[0].contains("started by Ravi Patel"), "{:?}", lost.facts);
    // and it does not promise a request before the window's end
    assert!(lost.next_step.contains("05:00 UTC"), "{}", lost.next_step);
}

#[test]
fn a_failover_and_a_backup_down_during_a_window_are_info() {
    // GIVEN a window on
    let m = hsprod();
    // WHEN A is stopped for patching and IRIS fails over to B, then A comes back as backup
    let signals = [
        route53(A, false, 55),
        instance(A, false, 55),
        route53(B, true, 60),
        instance(A, true, 600),
        route53(B, true, 610),
        status(A, MemberStatus::Backup, 620),
    ];
    let (state, effects) = run(&m, in_maintenance(&m), signals);
    // THEN the primary's loss (two observers agree for the 5 s before B answers), the
    // failover and the return of high availability are info, with the reason
    assert_eq!((state.phase, state.primary.as_deref()), (Phase::Normal, Some(B)));
    assert_eq!(
        alert_kinds(&effects),
        vec![AlertKind::PrimaryLost, AlertKind::FailedOver, AlertKind::HaRestored]
    );
    for alert in alerts(&effects) {
        assert_eq!(alert.severity, Severity::Info, "{alert:?}");
        assert!(alert.headline.contains(NOTE), "{}", alert.headline);
    }
    assert_eq!(requested(&effects), vec![]);
}

#[test]
fn a_window_ends_by_itself_and_a_lasting_loss_asks_at_once() {
    // GIVEN a five-minute window from 5 s (until 305 s), and the region dark from 10 s
    let m = hsprod();
    let (state, _) = run(&m, normal(&m), [start(300, 5)]);
    let mut signals = region_outage(10);
    signals.extend([tick(60), tick(120), tick(180), tick(240), tick(300)]);
    let (state, effects) = run(&m, state, signals);
    assert_eq!(requested(&effects), vec![], "nothing asked during the window");
    // WHEN the first tick after the window's end comes
    let (state, effects) = run(&m, state, [tick(310)]);
    // THEN the window is over (its time ran out, recorded) and, the loss having been
    // agreed on continuously since 10 s, longer than the confirmation window, the
    // request is raised in the same decision, counting from the evidence
    assert!(state.active_maintenance(t(310)).is_none());
    let window = state.maintenance.last().expect("the window is kept");
    assert_eq!((window.ended_at, window.ended_by.as_deref()), (Some(t(305)), None));
    let ended = only_alert(&effects, AlertKind::MaintenanceEnded);
    assert_eq!(ended.severity, Severity::Warning, "the mirror is not healthy");
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
    let request = only_alert(&effects, AlertKind::PromotionRequested);
    assert_eq!(request.severity, Severity::Critical);
    assert!(!request.headline.contains("maintenance"), "{}", request.headline);
    assert_eq!(state.request(R1).map(|r| r.lost_since), Some(t(10)));
}

#[test]
fn a_loss_that_began_late_in_a_window_still_waits_the_whole_confirmation_window() {
    // GIVEN a window that ends at 105 s, and the region dark from 60 s
    let m = hsprod();
    let (state, _) = run(&m, normal(&m), [start(100, 5)]);
    let mut signals = region_outage(60);
    signals.extend([tick(105), tick(180)]);
    let (state, effects) = run(&m, state, signals);
    // THEN the end of the window does not shorten the confirmation: nothing yet at 180 s
    assert_eq!(requested(&effects), vec![]);
    // WHEN the loss has lasted the confirmation window (180 s from 60 s)
    let (_, effects) = run(&m, state, [tick(240)]);
    // THEN the request is raised
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
}

#[test]
fn ending_a_window_early_is_audited_and_the_rules_apply_at_once() {
    // GIVEN a window on and the region dark since 10 s, longer than the confirmation window
    let m = hsprod();
    let mut signals = region_outage(10);
    signals.extend(ticks(60, 240));
    let (state, effects) = run(&m, in_maintenance(&m), signals);
    assert_eq!(requested(&effects), vec![]);
    // WHEN Dana ends the window by hand
    let (state, effects) = run(&m, state, [end("Dana Whitfield", 250)]);
    // THEN the end is recorded with who, and the request is raised in the same decision
    let window = state.maintenance.last().expect("the window is kept");
    assert_eq!(
        (window.ended_at, window.ended_by.as_deref()),
        (Some(t(250)), Some("Dana Whitfield"))
    );
    assert!(
        state
            .history
            .iter()
            .any(|h| h.what.contains("ended early by Dana Whitfield")),
        "{:?}",
        state.history
    );
    assert_eq!(
        alert_kinds(&effects),
        vec![AlertKind::MaintenanceEnded, AlertKind::PromotionRequested]
    );
    assert_eq!(requested(&effects), vec![(R1, DR1)]);
}

#[test]
fn two_primaries_during_a_window_stay_critical() {
    // GIVEN a window on, and IRIS failed over to B (A stopped)
    let m = hsprod();
    let signals = [route53(A, false, 55), instance(A, false, 55), route53(B, true, 60)];
    let (state, _) = run(&m, in_maintenance(&m), signals);
    // WHEN A comes back answering as primary while B still does, past the grace
    let signals = [
        route53(A, true, 200),
        route53(B, true, 200),
        route53(A, true, 380),
        route53(B, true, 380),
    ];
    let (_, effects) = run(&m, state, signals);
    // THEN the split brain is critical, maintenance or not (it still says the window)
    let alert = only_alert(&effects, AlertKind::SplitBrain);
    assert_eq!(alert.severity, Severity::Critical);
    assert!(alert.headline.contains(NOTE), "{}", alert.headline);
}

#[test]
fn a_dr_member_lost_during_a_window_is_a_warning_once() {
    // GIVEN a window on
    let m = hsprod();
    // WHEN DR1 reports itself Down, and says so again
    let (state, effects) = run(
        &m,
        in_maintenance(&m),
        [
            status(DR1, MemberStatus::Down, 100),
            heartbeat(DR1, MemberStatus::Down, 160),
        ],
    );
    // THEN it is alerted once, as a warning: patching the failover members does not explain it
    let alert = only_alert(&effects, AlertKind::DrMemberLost);
    assert_eq!(alert.severity, Severity::Warning);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::DrMemberLost),
            Notice::Maintenance(MaintenanceNotice::DrMemberLost { member, down }) if member == DR1 && down.reports == Some(MemberStatus::Down)
        ),
        "{alert:?}"
    );
    assert_eq!(state.phase, Phase::Normal);
}

#[test]
fn a_dr_member_down_outside_a_window_is_not_a_maintenance_alert() {
    let m = hsprod();
    let (_, effects) = run(&m, normal(&m), [status(DR1, MemberStatus::Down, 100)]);
    assert_eq!(alert_kinds(&effects), vec![]);
}

#[test]
fn a_request_waiting_when_a_window_starts_stays_and_is_still_critical() {
    // GIVEN request R1 waiting for a decision
    let m = hsprod();
    let (state, _) = pending(&m);
    // WHEN a window is started
    let (state, effects) = run(&m, state, [start(7200, 200)]);
    // THEN R1 stays open, and the start says so
    assert_eq!(request_status(&state, R1), RequestStatus::Open);
    assert!(
        matches!(
            notice_of(&effects, AlertKind::MaintenanceStarted),
            Notice::Maintenance(MaintenanceNotice::Started { waiting: Some(open), .. }) if open == R1
        ),
        "{effects:?}"
    );
    // and its reminder is still critical
    let (state, effects) = run(&m, state, [tick(800)]);
    assert_eq!(
        only_alert(&effects, AlertKind::PromotionReminder).severity,
        Severity::Critical
    );
    // and it can still be approved
    let (state, _) = run(&m, state, [approve(R1, "Dana Whitfield", 820)]);
    assert_eq!(state.phase, Phase::Promoting);
}

#[test]
fn bad_maintenance_input_changes_nothing() {
    let m = hsprod();
    let before = normal(&m);
    let bad = [
        start(0, 5),
        start(MAX_MAINTENANCE_SECS + 1, 5),
        signal(
            5,
            SignalKind::MaintenanceStart {
                duration_secs: 3600,
                reason: "  ".into(),
                by: "Ravi Patel".into(),
            },
        ),
        signal(
            5,
            SignalKind::MaintenanceStart {
                duration_secs: 3600,
                reason: REASON.into(),
                by: "".into(),
            },
        ),
        end("Dana Whitfield", 5),
    ];
    for s in bad {
        let decided = step(&m, &before, s.clone());
        assert!(
            matches!(&decided.verdict, Verdict::Ignored { .. }),
            "{s:?}: {:?}",
            decided.verdict
        );
        assert_eq!(decided.state, before, "{s:?} changed the state");
        assert_eq!(decided.effects, vec![]);
    }
}

#[test]
fn a_new_window_replaces_the_one_on_and_both_are_audited() {
    let m = hsprod();
    let (state, _) = run(&m, in_maintenance(&m), [start(3600, 3000)]);
    assert_eq!(state.maintenance.len(), 2);
    assert_eq!(state.maintenance[0].ended_at, Some(t(3000)));
    assert_eq!(state.active_maintenance(t(3001)).map(|w| w.until), Some(t(6600)));
}

#[test]
fn durations_are_read_as_people_write_them() {
    assert_eq!(parse_duration("2h"), Ok(7200));
    assert_eq!(parse_duration("90m"), Ok(5400));
    assert_eq!(parse_duration("1h30m"), Ok(5400));
    assert_eq!(parse_duration("45s"), Ok(45));
    assert_eq!(parse_duration("1d"), Ok(86_400));
    for bad in ["", "2", "h", "2x", "-1h", "1.5h", "99999999999999999999h"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}
