//! The example scenarios, replayed in-process: what each must show, and that
//! duplicated deliveries and shuffled simultaneous events change nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mirrorgate::local::{LocalActions, LocalEngine, LocalNotifier, LocalStore};
use mirrorgate::replay::{parse_scenario, run_step, Step};
use proptest::prelude::*;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions, SimulatedClock};
use shared::engine::{Engine, Report};
use shared::token::CountingTokens;
use shared::topology::Topology;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn topology() -> Arc<Topology> {
    Arc::new(Topology::load(&root().join("examples/topology.toml")).expect("example topology"))
}

/// An engine as `replay` builds it without `--data`, with the simulated clock its
/// store follows (each step moves it to the step's time).
fn engine() -> (LocalEngine, Arc<SimulatedClock>) {
    let clock = Arc::new(SimulatedClock::new(DateTime::UNIX_EPOCH));
    let engine = Engine::new(
        topology(),
        LocalStore::Memory(MemoryStore::with_clock(clock.clone())),
        LocalNotifier::Memory(MemoryNotifier::default()),
        LocalActions::Recording(RecordingActions::new(None)),
        "http://127.0.0.1:8080",
    )
    .with_tokens(Box::new(CountingTokens::default()));
    (engine, clock)
}

fn scenario_lines(name: &str) -> Vec<String> {
    let path = root().join("examples/scenarios").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn steps(name: &str, lines: &[String]) -> Vec<(DateTime<Utc>, Step)> {
    parse_scenario(Path::new(name), &lines.join("\n"), &topology()).expect("scenario parses")
}

fn replay(name: &str, lines: &[String]) -> Vec<Report> {
    let (engine, clock) = engine();
    replay_on(&engine, &clock, name, lines)
}

fn replay_on(engine: &LocalEngine, clock: &SimulatedClock, name: &str, lines: &[String]) -> Vec<Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut reports = Vec::new();
        for (at, step) in steps(name, lines) {
            reports.extend(run_step(engine, clock, at, step).await.expect("step runs"));
        }
        reports
    })
}

/// What must not change however deliveries are repeated or reordered:
/// transitions, alerts (kind and severity) and promotions.
fn essence(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Transition { from, to, epoch, .. } => Some(format!("transition {from}->{to} epoch {epoch}")),
            Report::Alert { kind, severity, .. } => Some(format!("alert {} {}", kind.as_str(), severity.as_str())),
            Report::PromotionRequested { request, candidate, .. } => Some(format!("requested {request} {candidate}")),
            Report::PromotionExecuted { request, candidate, .. } => Some(format!("executed {request} {candidate}")),
            Report::FencingExecuted { request, member, .. } => Some(format!("fenced {request} {member}")),
            Report::Decision { .. } => None,
        })
        .collect()
}

fn transitions(reports: &[Report]) -> Vec<String> {
    essence(reports)
        .into_iter()
        .filter(|e| e.starts_with("transition"))
        .collect()
}

fn alerts(reports: &[Report]) -> Vec<String> {
    essence(reports)
        .into_iter()
        .filter(|e| e.starts_with("alert"))
        .collect()
}

/// The alert of a kind, whole.
fn alert<'r>(reports: &'r [Report], kind: &str) -> &'r Report {
    reports
        .iter()
        .find(|r| matches!(r, Report::Alert { kind: k, .. } if k.as_str() == kind))
        .unwrap_or_else(|| panic!("no {kind} alert in {reports:#?}"))
}

/// When the alert was decided, from the last line of its email ("... at 2026-11-25 03:05:40 UTC").
fn alert_time(reports: &[Report], kind: &str) -> String {
    let text = email(reports, kind);
    let last = text.lines().last().unwrap_or_default();
    last.rsplit(' ').nth(1).unwrap_or_default().to_string()
}

fn email(reports: &[Report], kind: &str) -> String {
    match alert(reports, kind) {
        Report::Alert { email, .. } => email.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn region_outage_goes_from_loss_to_approval_to_dr_active() {
    // GIVEN the reference mirror, WHEN us-east-1 goes silent (no alarm, no event from
    // there: only the DR side still speaks) and an operator approves
    let reports = replay("region-outage.jsonl", &scenario_lines("region-outage.jsonl"));
    // THEN the mirror is lost, confirmed, requested, approved, promoted and DR1 becomes primary
    assert_eq!(
        transitions(&reports),
        vec![
            "transition normal->primary_lost epoch 1",
            "transition primary_lost->promotion_pending epoch 1",
            "transition promotion_pending->promoting epoch 1",
            "transition promoting->dr_active epoch 2",
        ]
    );
    let e = essence(&reports);
    assert!(e.contains(&"requested HSPROD-R1 HSPROD-DR1".to_string()), "{e:#?}");
    assert_eq!(e.iter().filter(|x| x.starts_with("executed")).count(), 1, "{e:#?}");
    let link = reports.iter().find_map(|r| match r {
        Report::Alert { link: Some(link), .. } => Some(link.clone()),
        _ => None,
    });
    assert!(
        link.is_some_and(|l| l.starts_with("http://127.0.0.1:8080/a/")),
        "the request alert carries a link"
    );
}

#[test]
fn a_silent_primary_region_is_confirmed_from_the_dr_side_alone() {
    // GIVEN the last heartbeat of A and B at 03:02:00, and nothing at all from
    // us-east-1 after 03:02:05
    let reports = replay("region-outage.jsonl", &scenario_lines("region-outage.jsonl"));
    // THEN the DR side agrees within a minute: the probe from us-west-2 and the
    // asyncs, which report Waiting (no longer Connected)
    assert_eq!(alert_time(&reports, "primary_lost"), "03:02:40");
    // AND the request follows the 3-minute confirmation window, with the silent
    // heartbeats as a third observer
    assert_eq!(alert_time(&reports, "promotion_requested"), "03:05:40");
    let text = email(&reports, "promotion_requested");
    assert!(text.contains("Observers agreeing: heartbeat, probe, asyncs"), "{text}");
    // AND it says that a partition between the regions would look the same
    assert!(
        text.contains("a network partition between us-east-1 and us-west-2 looks the same from here"),
        "{text}"
    );
    // AND the loss is the journal latency DR1 measured while still connected
    assert!(
        text.contains("about 1.8 s of transactions not yet received by HSPROD-DR1"),
        "{text}"
    );
}

#[test]
fn in_region_failover_is_informational_and_never_requests_a_promotion() {
    let reports = replay("in-region-failover.jsonl", &scenario_lines("in-region-failover.jsonl"));
    assert_eq!(
        transitions(&reports),
        vec![
            "transition normal->failed_over epoch 2",
            "transition failed_over->normal epoch 2"
        ]
    );
    let e = essence(&reports);
    assert!(!e.iter().any(|x| x.starts_with("requested")), "{e:#?}");
    assert_eq!(
        alerts(&reports),
        vec!["alert failed_over warning", "alert ha_restored info"]
    );
}

#[test]
fn flapping_primary_alerts_once_and_never_promotes() {
    let reports = replay("flapping-primary.jsonl", &scenario_lines("flapping-primary.jsonl"));
    let e = essence(&reports);
    assert!(
        !e.iter()
            .any(|x| x.starts_with("requested") || x.starts_with("executed")),
        "{e:#?}"
    );
    assert_eq!(
        alerts(&reports),
        vec!["alert primary_lost warning", "alert primary_back info"],
        "the cool-down folds the rest"
    );
    assert_eq!(
        transitions(&reports).len(),
        8,
        "four losses and four recoveries are still recorded"
    );
}

#[test]
fn early_recovery_withdraws_the_request_and_refuses_the_late_approval() {
    let reports = replay("early-recovery.jsonl", &scenario_lines("early-recovery.jsonl"));
    let e = essence(&reports);
    // B reports Backup again: it is connected to a primary, so one exists.
    assert!(e.contains(&"alert request_withdrawn warning".to_string()), "{e:#?}");
    assert!(
        email(&reports, "request_withdrawn").contains("HSPROD-B reports Backup"),
        "{}",
        email(&reports, "request_withdrawn")
    );
    assert!(!e.iter().any(|x| x.starts_with("executed")), "{e:#?}");
    let refused = reports.iter().any(|r| matches!(r, Report::Decision { outcome: "refused", reason: Some(reason), .. } if reason == "request_closed"));
    assert!(refused, "the late approval is refused: {reports:#?}");
    assert_eq!(
        transitions(&reports)[2..],
        [
            "transition promotion_pending->primary_lost epoch 1",
            "transition primary_lost->normal epoch 1"
        ]
    );
}

#[test]
fn a_primary_in_trouble_with_its_asyncs_connected_is_never_lost() {
    // GIVEN B stopped, A In Trouble (still primary), both asyncs Connected to it, and
    // Route 53 and the probe losing A's mirror_status.cxw for three minutes
    let reports = replay(
        "in-trouble-asyncs-connected.jsonl",
        &scenario_lines("in-trouble-asyncs-connected.jsonl"),
    );
    // THEN only the lost backup is said; never a lost primary, never a request
    assert_eq!(transitions(&reports), vec!["transition normal->degraded epoch 1"]);
    assert_eq!(alerts(&reports), vec!["alert degraded warning"]);
}

#[test]
fn an_async_that_lost_its_link_before_the_disaster_is_offered_with_that_loss() {
    // GIVEN DR1 (0.3 s behind while connected) lost its link at 02:49:48, DR2 stayed
    // connected (7.1 s behind), and us-east-1 went silent at 03:05:05
    let reports = replay("link-dropped-async.jsonl", &scenario_lines("link-dropped-async.jsonl"));
    // THEN DR2 is proposed: DR1 lacks everything since it lost its link
    assert!(essence(&reports).contains(&"requested HSPROD-R1 HSPROD-DR2".to_string()));
    let text = email(&reports, "promotion_requested");
    assert!(text.contains("Loss ~7.1 s"), "{text}");
    assert!(
        text.contains("Other DR members that could be promoted: HSPROD-DR1 (>=16 min)"),
        "{text}"
    );
}

#[test]
fn the_promoted_primary_is_watched_and_its_loss_asks_for_the_next_dr_member() {
    let reports = replay(
        "promoted-primary-lost.jsonl",
        &scenario_lines("promoted-primary-lost.jsonl"),
    );
    assert_eq!(
        transitions(&reports)[3..],
        [
            "transition promoting->dr_active epoch 2",
            "transition dr_active->primary_lost epoch 2",
            "transition primary_lost->promotion_pending epoch 2",
            "transition promotion_pending->promoting epoch 2",
            "transition promoting->dr_active epoch 3",
        ]
    );
    // The loss of a promoted DR member is critical: no failover partner can take over.
    let lost: Vec<String> = alerts(&reports)
        .into_iter()
        .filter(|a| a.starts_with("alert primary_lost"))
        .collect();
    assert_eq!(lost, vec!["alert primary_lost warning", "alert primary_lost critical"]);
    let e = essence(&reports);
    assert!(e.contains(&"requested HSPROD-R2 HSPROD-DR2".to_string()), "{e:#?}");
    assert!(e.contains(&"executed HSPROD-R2 HSPROD-DR2".to_string()), "{e:#?}");
}

#[test]
fn two_primaries_that_persist_are_a_split_brain() {
    // GIVEN DR1 promoted, WHEN the old region returns and elects A primary again
    // (nothing fenced it) while DR1 goes on as primary
    let reports = replay("two-primaries.jsonl", &scenario_lines("two-primaries.jsonl"));
    // THEN after the grace it is a critical split brain, and never a failback
    assert_eq!(alert_time(&reports, "split_brain"), "03:43:40");
    assert!(!alerts(&reports).iter().any(|a| a.contains("failed_back")));
    let text = email(&reports, "split_brain");
    assert!(text.contains("HSPROD-A (us-east-1), primary since 03:40 UTC: Route 53 health check 11111111-1111-4111-8111-111111111111 healthy"), "{text}");
    assert!(text.contains("stop application traffic to HSPROD-A"), "{text}");
    assert_eq!(
        transitions(&reports).last().map(String::as_str),
        Some("transition promoting->dr_active epoch 2")
    );
}

#[test]
fn patching_both_failover_members_in_a_maintenance_window_is_all_info_and_never_requests() {
    // GIVEN a two-hour window, WHEN A is stopped for its patch (IRIS fails over to B),
    // comes back as backup, then B is stopped for its patch (IRIS fails over to A) and
    // comes back, and the window is ended by hand
    let reports = replay(
        "maintenance-patching.jsonl",
        &scenario_lines("maintenance-patching.jsonl"),
    );
    // THEN both failovers are recorded as new epochs, every alert is info, and nothing is requested
    assert_eq!(
        transitions(&reports),
        vec![
            "transition normal->failed_over epoch 2",
            "transition failed_over->normal epoch 2",
            "transition normal->failed_over epoch 3",
            "transition failed_over->normal epoch 3",
        ]
    );
    assert_eq!(
        alerts(&reports),
        vec![
            "alert maintenance_started info",
            "alert failed_over info",
            "alert ha_restored info",
            "alert failed_over info",
            "alert ha_restored info",
            "alert maintenance_ended info",
        ]
    );
    assert!(
        !essence(&reports).iter().any(|e| e.starts_with("requested")),
        "{:#?}",
        essence(&reports)
    );
    let email = email(&reports, "failed_over");
    assert!(
        email.contains("maintenance: monthly OS patching of HSPROD-A and HSPROD-B, until 05:00 UTC"),
        "{email}"
    );
}

#[test]
fn a_window_that_runs_out_while_the_primary_is_down_asks_for_a_promotion_at_once() {
    // GIVEN a 30-minute window (until 03:30:30) for planned downtime of both failover
    // members, WHEN B then A are stopped at 03:05 and 03:06 and are still down when it runs out
    let reports = replay(
        "maintenance-overrun.jsonl",
        &scenario_lines("maintenance-overrun.jsonl"),
    );
    // THEN during the window the loss is info and nothing is requested; at the first
    // tick after its end the window is over (a warning: the mirror is not healthy) and,
    // the loss having been agreed on far longer than the confirmation window, the
    // request is raised at once
    assert_eq!(
        alerts(&reports),
        vec![
            "alert maintenance_started info",
            "alert degraded info",
            "alert primary_lost info",
            "alert maintenance_ended warning",
            "alert promotion_requested critical",
        ]
    );
    assert_eq!(alert_time(&reports, "maintenance_ended"), "03:31:00");
    assert_eq!(alert_time(&reports, "promotion_requested"), "03:31:00");
    assert!(essence(&reports).contains(&"requested HSPROD-R1 HSPROD-DR1".to_string()));
    let email = email(&reports, "promotion_requested");
    assert!(
        email.contains("no member answers as primary since 03:06 UTC"),
        "{email}"
    );
}

#[test]
fn a_bad_maintenance_line_is_refused_before_anything_runs() {
    for (line, says) in [
        (
            r#"{"at": "2026-11-25T03:00:00Z", "maintenance": {"mirror": "HSPROD", "for": "0m", "reason": "patching", "by": "Ravi"}}"#,
            "at least a second",
        ),
        (
            r#"{"at": "2026-11-25T03:00:00Z", "maintenance": {"mirror": "HSPROD", "for": "8d", "reason": "patching", "by": "Ravi"}}"#,
            "at most 7 days",
        ),
        (
            r#"{"at": "2026-11-25T03:00:00Z", "maintenance": {"mirror": "HSPROD", "for": "2h", "reason": " ", "by": "Ravi"}}"#,
            "reason",
        ),
        (
            r#"{"at": "2026-11-25T03:00:00Z", "maintenance": {"mirror": "NOPE", "for": "2h", "reason": "patching", "by": "Ravi"}}"#,
            "NOPE",
        ),
        (
            r#"{"at": "2026-11-25T03:00:00Z", "maintenance_end": {"mirror": "HSPROD", "by": ""}}"#,
            "--by NAME",
        ),
    ] {
        let err = parse_scenario(Path::new("x.jsonl"), line, &topology()).expect_err(line);
        assert!(format!("{err:#}").contains(says), "{line}: {err:#}");
    }
}

#[test]
fn the_old_region_returning_is_fenced_on_approval_and_the_promoted_primary_never_is() {
    // GIVEN DR1 promoted after us-east-1 was lost, WHEN us-east-1 comes back at 03:40:30
    // (the agents on A and B speak, IRIS there waits; mirror_status.cxw answers 503)
    // and Dana approves the fencing request at 03:43:50
    let name = "old-region-fenced.jsonl";
    let (engine, clock) = engine();
    let reports = replay_on(&engine, &clock, name, &scenario_lines(name));

    // THEN the alerts tell the whole story, the fencing request once
    let kinds = alerts(&reports);
    let tail: Vec<&str> = kinds
        .iter()
        .skip_while(|k| !k.contains("promotion_succeeded"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        vec![
            "alert promotion_succeeded critical",
            "alert fencing_requested critical",
            "alert fencing_approved warning",
            "alert fencing_sent warning",
        ],
        "{kinds:#?}"
    );
    assert_eq!(alert_time(&reports, "fencing_requested"), "03:40:30");
    let request = email(&reports, "fencing_requested");
    assert!(
        request.contains("Would be fenced: HSPROD-A (i-0aaaaaaaaaaaaaaa1), HSPROD-B (i-0bbbbbbbbbbbbbbb2)"),
        "{request}"
    );
    assert!(request.contains("Primary now: HSPROD-DR1"), "{request}");

    // AND the fencing document was recorded for A and B, with its parameters, never for DR1
    // (refutable when the AWS backend is built in)
    #[allow(irrefutable_let_patterns)]
    let LocalActions::Recording(actions) = engine.actions() else {
        panic!("the scenario engine records its actions")
    };
    let fenced: Vec<(String, Option<String>)> = actions
        .fenced()
        .iter()
        .map(|f| (f.member.clone(), f.instance_id.clone()))
        .collect();
    assert_eq!(
        fenced,
        vec![
            ("HSPROD-A".to_string(), Some("i-0aaaaaaaaaaaaaaa1".to_string())),
            ("HSPROD-B".to_string(), Some("i-0bbbbbbbbbbbbbbb2".to_string())),
        ]
    );
    let first = &actions.fenced()[0];
    assert_eq!(first.fence_document.as_deref(), Some("HSPROD-FenceMember"));
    let parameters: Vec<(&str, &str)> = first.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        parameters,
        vec![
            ("InstanceName", "IRIS"),
            ("Method", "demote"),
            ("MirrorName", "HSPROD"),
            ("Request", "HSPROD-R2"),
        ]
    );
    assert_eq!(actions.recorded().len(), 1, "one promotion, of DR1, and nothing else");

    // AND the state shows them fenced, DR1 primary, and nothing waits for a decision
    let state = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(engine.state("HSPROD", Utc::now()))
        .expect("state");
    let fenced: Vec<&str> = state.fenced().map(|(name, _)| name).collect();
    assert_eq!(fenced, vec!["HSPROD-A", "HSPROD-B"]);
    assert_eq!(state.primary.as_deref(), Some("HSPROD-DR1"));
    assert!(state.open_fencing().is_none() && state.open_request().is_none());
}

#[test]
fn a_bad_line_is_named_and_nothing_runs() {
    let mut lines = scenario_lines("region-outage.jsonl");
    lines.insert(
        3,
        r#"{"at": "2026-11-25T03:00:00Z", "event": {"source": "aws.cloudwatch"}}"#.into(),
    );
    let err = parse_scenario(Path::new("x.jsonl"), &lines.join("\n"), &topology()).expect_err("refused");
    assert!(format!("{err:#}").starts_with("x.jsonl:4:"), "{err:#}");
    let err = parse_scenario(
        Path::new("x.jsonl"),
        r#"{"at": "2026-11-25T03:00:00Z", "tick": {}, "approve": {"mirror": "HSPROD", "by": "x"}}"#,
        &topology(),
    )
    .expect_err("two kinds");
    assert!(format!("{err:#}").contains("exactly one"), "{err:#}");
    let err = parse_scenario(
        Path::new("x.jsonl"),
        r#"{"at": "2026-11-25T03:00:00Z", "approve": {"mirror": "NOPE", "by": "x"}}"#,
        &topology(),
    )
    .expect_err("unknown mirror");
    assert!(format!("{err:#}").contains("NOPE"), "{err:#}");
}

const SCENARIOS: [&str; 9] = [
    "region-outage.jsonl",
    "in-region-failover.jsonl",
    "flapping-primary.jsonl",
    "early-recovery.jsonl",
    "in-trouble-asyncs-connected.jsonl",
    "link-dropped-async.jsonl",
    "promoted-primary-lost.jsonl",
    "two-primaries.jsonl",
    "old-region-fenced.jsonl",
];

/// Duplicates every line `copies[i % len]` times and shuffles lines of equal `at`
/// with the given permutation keys.
fn redeliver(lines: &[String], copies: &[usize], keys: &[u32]) -> Vec<String> {
    let at = |l: &String| {
        serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .and_then(|v| v["at"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let mut out: Vec<(String, u32, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for c in 0..copies[i % copies.len()] {
            out.push((at(line), keys[(i * 7 + c) % keys.len()], line.clone()));
        }
    }
    // Stable sort by time, then by the random key: equal times end up shuffled.
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, _, l)| l).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn duplicated_and_shuffled_deliveries_give_the_same_story(
        scenario in 0usize..SCENARIOS.len(),
        copies in proptest::collection::vec(1usize..=3, 1..16),
        keys in proptest::collection::vec(any::<u32>(), 1..32),
    ) {
        let name = SCENARIOS[scenario];
        let lines = scenario_lines(name);
        let baseline = essence(&replay(name, &lines));
        let redelivered = essence(&replay(name, &redeliver(&lines, &copies, &keys)));
        prop_assert_eq!(baseline, redelivered);
    }
}

#[test]
fn a_drill_goes_from_request_to_report_and_promotes_nothing() {
    // GIVEN the reference mirror, healthy, WHEN Ravi starts a drill at 03:01:30 and
    // Dana approves it at 03:04:20 while the mirror stays healthy
    let (engine, clock) = engine();
    let reports = replay_on(
        &engine,
        &clock,
        "drill-rehearsal.jsonl",
        &scenario_lines("drill-rehearsal.jsonl"),
    );
    // THEN no transition, no promotion request, no promotion: the drill alerts only
    assert_eq!(transitions(&reports), Vec::<String>::new());
    assert_eq!(
        alerts(&reports),
        vec![
            "alert drill_requested critical",
            "alert drill_closed info",
            "alert drill_closed info"
        ]
    );
    let e = essence(&reports);
    assert!(
        !e.iter()
            .any(|x| x.starts_with("requested") || x.starts_with("executed")),
        "{e:#?}"
    );
    // AND the request went out marked DRILL, with a link, as a real one would
    let Report::Alert { subject, sms, link, .. } = alert(&reports, "drill_requested") else {
        unreachable!()
    };
    assert!(subject.starts_with("[CRITICAL] DRILL HSPROD"), "{subject}");
    assert!(sms.starts_with("CRITICAL DRILL HSPROD"), "{sms}");
    assert!(link.is_some());
    // AND the drill document, never the promote document, ran on DR1
    #[allow(irrefutable_let_patterns)]
    let LocalActions::Recording(actions) = engine.actions() else {
        panic!("the scenario engine records its actions")
    };
    assert_eq!(actions.recorded().len(), 0, "nothing promoted");
    let drills = actions.drilled();
    assert_eq!(drills.len(), 1);
    assert_eq!(
        (drills[0].candidate.as_str(), drills[0].drill_document.as_deref()),
        ("HSPROD-DR1", Some("HSPROD-DrillDrAsync"))
    );
    // AND the report gives the times and what would have been promoted
    let state = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(engine.state("HSPROD", Utc::now()))
        .expect("state");
    assert_eq!((state.phase.as_str(), state.epoch), ("normal", 1));
    let drill = state.request("HSPROD-R1").expect("the drill");
    let report = shared::domain::report::DrillReport::of("HSPROD", drill).expect("a drill report");
    assert_eq!(report.status, "succeeded");
    assert_eq!(report.alert_sent.to_rfc3339(), "2026-11-25T03:01:30+00:00");
    assert_eq!(report.seconds_to_decision, Some(170));
    assert_eq!(report.would_promote, "HSPROD-DR1");
    assert_eq!(report.estimated_loss.seconds, Some(1.8));
    let md = report.markdown();
    assert!(
        md.contains("| Decision: approved by Dana Whitfield (via operator) | 03:04 UTC (+2 min"),
        "{md}"
    );
}

#[test]
fn a_planned_switchover_promotes_dr1_with_partner_and_fences_a_and_b() {
    // GIVEN the reference mirror, healthy, WHEN Ravi asks to switch over to DR1 at
    // 03:01:30, Dana approves at 03:02:00, IRIS is stopped on B then A (their hosts keep
    // running) and DR1 reports primary at 03:03:40
    let (engine, clock) = engine();
    let reports = replay_on(&engine, &clock, "switchover.jsonl", &scenario_lines("switchover.jsonl"));
    // THEN DR1 is promoted once, the switchover is done, never a dr_primary nor a
    // fencing request, and A and B are fenced as part of it
    let e = essence(&reports);
    assert!(e.contains(&"executed HSPROD-R1 HSPROD-DR1".to_string()), "{e:#?}");
    assert!(e.contains(&"fenced HSPROD-R2 HSPROD-A".to_string()), "{e:#?}");
    assert!(e.contains(&"fenced HSPROD-R2 HSPROD-B".to_string()), "{e:#?}");
    let alerts = alerts(&reports);
    assert!(
        alerts.contains(&"alert switchover_done warning".to_string()),
        "{alerts:#?}"
    );
    assert!(
        !alerts
            .iter()
            .any(|a| a.contains("dr_primary") || a.contains("fencing_requested") || a.contains("promotion_requested")),
        "{alerts:#?}"
    );
    assert_eq!(
        transitions(&reports).last().map(String::as_str),
        Some("transition degraded->dr_active epoch 2"),
        "B stopped first: degraded, then DR1 primary"
    );
    let state = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(engine.state("HSPROD", Utc::now()))
        .expect("state");
    assert_eq!(state.primary.as_deref(), Some("HSPROD-DR1"));
    let fenced: Vec<&str> = state.fenced().map(|(name, _)| name).collect();
    assert_eq!(fenced, vec!["HSPROD-A", "HSPROD-B"]);
    assert!(
        !state.request("HSPROD-R1").expect("R1").accepted_without_partner,
        "with partner"
    );
}

#[test]
fn a_switchover_then_a_failback_unfences_and_returns_to_a() {
    // GIVEN the switchover to DR1 above, WHEN Ravi asks at 03:10:10 to fail back to A,
    // Dana approves, IRIS on DR1 is stopped, A reports primary, B backup, DR1 connected
    let (engine, clock) = engine();
    let name = "switchover-failback.jsonl";
    let reports = replay_on(&engine, &clock, name, &scenario_lines(name));
    // THEN A and B were un-fenced and A promoted back: normal on A, nothing fenced,
    // the failback succeeded; never dr_primary, never a fencing request
    let e = essence(&reports);
    assert!(e.contains(&"executed HSPROD-R3 HSPROD-A".to_string()), "{e:#?}");
    let alerts = alerts(&reports);
    assert!(
        alerts.contains(&"alert failback_requested critical".to_string()),
        "{alerts:#?}"
    );
    assert!(alerts.contains(&"alert failed_back info".to_string()), "{alerts:#?}");
    assert!(
        !alerts
            .iter()
            .any(|a| a.contains("dr_primary") || a.contains("fencing_requested")),
        "{alerts:#?}"
    );
    #[allow(irrefutable_let_patterns)]
    let LocalActions::Recording(actions) = engine.actions() else {
        panic!("the scenario engine records its actions")
    };
    let methods: Vec<(String, String)> = actions
        .fenced()
        .iter()
        .map(|f| (f.member.clone(), f.parameters["Method"].clone()))
        .collect();
    assert_eq!(
        methods,
        vec![
            ("HSPROD-A".to_string(), "demote".to_string()),
            ("HSPROD-B".to_string(), "demote".to_string()),
            ("HSPROD-A".to_string(), "unfence".to_string()),
            ("HSPROD-B".to_string(), "unfence".to_string()),
        ]
    );
    let state = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(engine.state("HSPROD", Utc::now()))
        .expect("state");
    assert_eq!(
        (state.phase.as_str(), state.primary.as_deref()),
        ("normal", Some("HSPROD-A"))
    );
    assert_eq!(state.fenced().count(), 0);
    assert_eq!(state.request("HSPROD-R3").map(|r| r.status.as_str()), Some("succeeded"));
}

/// A scenario line handing over, at `at`, the EventBridge event `id` sent at `sent`:
/// HSPROD-B reports itself Backup.
fn member_status_line(at: DateTime<Utc>, sent: DateTime<Utc>, id: &str) -> String {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let sent = sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        r#"{{"at":"{at}","event":{{"version":"0","id":"{id}","detail-type":"Mirror Member Status","source":"mirrorgate.iris","account":"123456789012","time":"{sent}","region":"us-east-1","resources":[],"detail":{{"mirror":"HSPROD","member":"HSPROD-B","status":"Backup"}}}}}}"#
    )
}

/// Replays a delivery, then more other deliveries than the state's own list of seen
/// ids keeps, then the same delivery again `later` in the scenario's time; says
/// whether that copy was applied (it is in the state's list again).
fn delivered_again_is_applied(later: chrono::Duration) -> bool {
    let first = DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let mut lines = vec![member_status_line(first, first, "evt-repeated")];
    for i in 1..=(shared::domain::state::MAX_SEEN as i64 + 8) {
        let at = first + chrono::Duration::minutes(i);
        lines.push(member_status_line(at, at, &format!("evt-other-{i}")));
    }
    let (engine, clock) = engine();
    replay_on(&engine, &clock, "repeated-delivery", &lines);
    let seen = |engine: &LocalEngine| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(engine.state("HSPROD", Utc::now()))
            .expect("state")
            .has_seen("eb:evt-repeated")
    };
    assert!(
        !seen(&engine),
        "the other deliveries pushed it out of the state's own list: only the store remembers it"
    );
    let copy = member_status_line(first + later, first, "evt-repeated");
    replay_on(&engine, &clock, "repeated-delivery", &[copy]);
    seen(&engine)
}

#[test]
fn a_delivery_repeated_after_the_window_in_simulated_time_is_applied_again() {
    // GIVEN a delivery replayed, and then more others than the state's list keeps,
    // WHEN the same delivery comes again 49 simulated hours later (past the store's
    // 48-hour window, although no wall-clock time has passed) THEN it is applied again.
    // A copy that late is what AWS does deliver when an operator sends the dead-letter
    // queue's events back (the template keeps them 14 days): the same event, same id.
    assert!(delivered_again_is_applied(chrono::Duration::hours(
        shared::ports::DEDUPE_WINDOW_HOURS + 1
    )));
    // and WHEN it comes again 47 simulated hours later THEN it is a duplicate
    assert!(!delivered_again_is_applied(chrono::Duration::hours(
        shared::ports::DEDUPE_WINDOW_HOURS - 1
    )));
}
