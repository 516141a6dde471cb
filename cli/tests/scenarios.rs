//! The example scenarios, replayed in-process: what each must show, and that
//! duplicated deliveries and shuffled simultaneous events change nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mirrorgate::local::{LocalActions, LocalEngine, LocalNotifier, LocalStore};
use mirrorgate::replay::{parse_scenario, run_step, Step};
use proptest::prelude::*;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions};
use shared::engine::{Engine, Report};
use shared::token::CountingTokens;
use shared::topology::Topology;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn topology() -> Arc<Topology> {
    Arc::new(Topology::load(&root().join("examples/topology.toml")).expect("example topology"))
}

fn engine() -> LocalEngine {
    Engine::new(
        topology(),
        LocalStore::Memory(MemoryStore::default()),
        LocalNotifier::Memory(MemoryNotifier::default()),
        LocalActions::Recording(RecordingActions::new(None)),
        "http://127.0.0.1:8080",
    )
    .with_tokens(Box::new(CountingTokens::default()))
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let engine = engine();
    runtime.block_on(async {
        let mut reports = Vec::new();
        for (at, step) in steps(name, lines) {
            reports.extend(run_step(&engine, at, step).await.expect("step runs"));
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

#[test]
fn region_outage_goes_from_loss_to_approval_to_dr_active() {
    // GIVEN the reference mirror, WHEN both failover members are lost and an operator approves
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
        e.iter().filter(|x| x.starts_with("alert")).cloned().collect::<Vec<_>>(),
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
    let alerts: Vec<_> = e.iter().filter(|x| x.starts_with("alert")).cloned().collect();
    assert_eq!(
        alerts,
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
    assert!(e.contains(&"alert request_withdrawn warning".to_string()), "{e:#?}");
    assert!(!e.iter().any(|x| x.starts_with("executed")), "{e:#?}");
    let refused = reports.iter().any(|r| matches!(r, Report::Decision { outcome: "refused", reason: Some(reason), .. } if reason == "request_closed"));
    assert!(refused, "the late approval is refused: {reports:#?}");
    assert_eq!(
        transitions(&reports).last().map(String::as_str),
        Some("transition promotion_pending->normal epoch 1")
    );
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

const SCENARIOS: [&str; 4] = [
    "region-outage.jsonl",
    "in-region-failover.jsonl",
    "flapping-primary.jsonl",
    "early-recovery.jsonl",
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
