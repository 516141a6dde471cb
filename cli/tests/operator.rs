//! The operator's commands on the embedded backend, as a person runs them:
//! `maintenance start|end`, `approve`, `reject`, `history` and `requests`.

use crate::support;

use support::{healthy_scenario, json_lines, mirrorgate, pending_scenario, stderr, stdout};

/// `mirrorgate replay --data DIR SCENARIO`, which must succeed.
fn replay(data: &std::path::Path, scenario: &std::path::Path) {
    let out = mirrorgate(&[
        "replay",
        "--json",
        "--data",
        &data.display().to_string(),
        &scenario.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn data_arg(data: &std::path::Path) -> String {
    data.display().to_string()
}

fn state(data: &std::path::Path) -> serde_json::Value {
    let out = mirrorgate(&["status", "--json", "--data", &data_arg(data)]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("status JSON")["mirrors"][0].clone()
}

#[test]
fn maintenance_is_started_shown_ended_and_recorded_in_the_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    // WHEN Ravi starts a two-hour window
    let out = mirrorgate(&[
        "maintenance",
        "start",
        "HSPROD",
        "--for",
        "2h",
        "--reason",
        "OS patching of HSPROD-A",
        "--by",
        "Ravi Patel",
        "--data",
        &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("HSPROD: in maintenance until"),
        "{}",
        stdout(&out)
    );
    // THEN status shows it, in text and JSON
    let window = &state(dir.path())["maintenance"];
    assert_eq!(window["reason"], "OS patching of HSPROD-A");
    assert_eq!(window["by"], "Ravi Patel");
    let until = support::parse_time(window["until"].as_str().expect("until"));
    let started = support::parse_time(window["started_at"].as_str().expect("started_at"));
    assert_eq!((until - started).num_seconds(), 7200);
    let text = stdout(&mirrorgate(&["status", "--data", &data]));
    assert!(
        text.contains("MAINTENANCE until") && text.contains("OS patching of HSPROD-A (started by Ravi Patel"),
        "{text}"
    );
    // and the info alert went to the outbox
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).expect("outbox");
    assert!(outbox.contains("maintenance_started"), "{outbox}");

    // WHEN Dana ends it early
    let out = mirrorgate(&[
        "maintenance",
        "end",
        "HSPROD",
        "--by",
        "Dana Whitfield",
        "--data",
        &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("HSPROD: not in maintenance"), "{}", stdout(&out));
    assert!(state(dir.path())["maintenance"].is_null());
    // THEN the history has both, with who
    let out = mirrorgate(&["history", "HSPROD", "--json", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    let what: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["what"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        what.iter()
            .any(|w| w.starts_with("maintenance started by Ravi Patel: OS patching of HSPROD-A")),
        "{what:#?}"
    );
    assert!(
        what.iter().any(|w| w.contains("ended early by Dana Whitfield")),
        "{what:#?}"
    );
    // and ending it again is refused, saying why
    let out = mirrorgate(&[
        "maintenance",
        "end",
        "HSPROD",
        "--by",
        "Dana Whitfield",
        "--data",
        &data,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no maintenance window on"), "{}", stderr(&out));
}

#[test]
fn bad_maintenance_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    let cases: [(&[&str], &str); 6] = [
        (
            &["NOPE", "--for", "2h", "--reason", "x", "--by", "Ravi"],
            "mirror \"NOPE\" is not in the topology",
        ),
        (
            &["HSPROD", "--for", "0m", "--reason", "x", "--by", "Ravi"],
            "at least a second",
        ),
        (
            &["HSPROD", "--for", "8d", "--reason", "x", "--by", "Ravi"],
            "at most 7 days",
        ),
        (
            &["HSPROD", "--for", "2 hours", "--reason", "x", "--by", "Ravi"],
            "not a duration",
        ),
        (
            &["HSPROD", "--for", "2h", "--reason", " ", "--by", "Ravi"],
            "give the reason",
        ),
        (&["HSPROD", "--for", "2h", "--reason", "x", "--by", ""], "--by NAME"),
    ];
    for (args, says) in cases {
        let mut all = vec!["maintenance", "start"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--data", &data]);
        let out = mirrorgate(&all);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // Without a store there is nothing to change.
    let out = mirrorgate(&[
        "maintenance",
        "start",
        "HSPROD",
        "--for",
        "2h",
        "--reason",
        "x",
        "--by",
        "Ravi",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--data DIR"), "{}", stderr(&out));
    // Nothing was written: no state, no alert.
    assert!(state(dir.path())["maintenance"].is_null());
    assert!(!dir.path().join("outbox.jsonl").exists());
    let out = mirrorgate(&["history", "HSPROD", "--data", &data]);
    assert!(stdout(&out).contains("HSPROD: no history"), "{}", stdout(&out));
}

#[test]
fn a_request_is_listed_approved_from_the_terminal_and_audited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(dir.path(), &pending_scenario(dir.path(), "HSPROD"));

    // requests --open lists the waiting request
    let out = mirrorgate(&["requests", "--open", "--json", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    let open = json_lines(&out);
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(
        (open[0]["id"].as_str(), open[0]["candidate"].as_str()),
        (Some("HSPROD-R1"), Some("HSPROD-DR1"))
    );
    assert_eq!(open[0]["status"], "open");

    // approve without a name is refused
    let out = mirrorgate(&["approve", "HSPROD-R1", "--data", &data]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--by NAME"), "{}", stderr(&out));
    // an unknown request is refused, saying where to look
    let out = mirrorgate(&["approve", "HSPROD-R9", "--by", "Dana Whitfield", "--data", &data]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no promotion request \"HSPROD-R9\""),
        "{}",
        stderr(&out)
    );

    // WHEN Dana approves from the terminal
    let out = mirrorgate(&[
        "approve",
        "HSPROD-R1",
        "--by",
        "Dana Whitfield",
        "--json",
        "--data",
        &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let effects = json_lines(&out);
    // THEN the same path as the page runs: promoting, the approval alert, the promotion
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "transition" && e["to"] == "promoting"),
        "{effects:#?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "promotion_executed" && e["candidate"] == "HSPROD-DR1"),
        "{effects:#?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "decision" && e["outcome"] == "approved"),
        "{effects:#?}"
    );
    // and the decision is recorded with who and how
    let out = mirrorgate(&["requests", "--json", "--data", &data]);
    let all = json_lines(&out);
    assert_eq!(all[0]["status"], "approved");
    assert_eq!(all[0]["decisions"][0]["by"], "Dana Whitfield");
    assert_eq!(all[0]["decisions"][0]["via"], "operator");
    assert_eq!(
        json_lines(&mirrorgate(&["requests", "--open", "--json", "--data", &data])).len(),
        0
    );
    // and approving again is refused with the page's words
    let out = mirrorgate(&["approve", "HSPROD-R1", "--by", "Sam Okafor", "--data", &data]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already closed") || stderr(&out).contains("approved"),
        "{}",
        stderr(&out)
    );
    // and the history says it
    let out = mirrorgate(&["history", "HSPROD", "--data", &data]);
    assert!(
        stdout(&out).contains("Dana Whitfield approved HSPROD-R1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_request_is_rejected_from_the_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(dir.path(), &pending_scenario(dir.path(), "HSPROD"));
    let out = mirrorgate(&["reject", "HSPROD-R1", "--by", "Dana Whitfield", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("HSPROD-R1: rejected by Dana Whitfield"),
        "{}",
        stdout(&out)
    );
    let all = json_lines(&mirrorgate(&["requests", "--json", "--data", &data]));
    assert_eq!(all[0]["status"], "rejected");
    assert_eq!(all[0]["decisions"][0]["action"], "reject");
    let text = stdout(&mirrorgate(&["requests", "--data", &data]));
    assert!(text.contains("rejected by Dana Whitfield via operator"), "{text}");
}

#[test]
fn an_expired_request_is_refused_from_the_terminal() {
    // GIVEN a request raised at the scenario's simulated 03:05 on 2026-11-25: long
    // past its 30-minute expiry for the wall clock
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(
        dir.path(),
        &support::root().join("examples/scenarios/region-outage-pending.jsonl"),
    );
    // WHEN it is approved from the terminal THEN it is refused as the page would refuse it
    let out = mirrorgate(&["approve", "HSPROD-R1", "--by", "Dana Whitfield", "--data", &data]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("expired"), "{}", stderr(&out));
    let all = json_lines(&mirrorgate(&["requests", "--json", "--data", &data]));
    assert_ne!(all[0]["status"], "approved");
    assert!(all[0]["decisions"].as_array().is_some_and(Vec::is_empty), "{all:#?}");
}

#[test]
fn history_since_keeps_only_the_lines_from_then_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(
        dir.path(),
        &support::root().join("examples/scenarios/region-outage-pending.jsonl"),
    );
    let all = json_lines(&mirrorgate(&["history", "HSPROD", "--json", "--data", &data]));
    let since = json_lines(&mirrorgate(&[
        "history",
        "HSPROD",
        "--json",
        "--since",
        "2026-11-25T03:05:00Z",
        "--data",
        &data,
    ]));
    assert!(
        !since.is_empty() && since.len() < all.len(),
        "{} of {}",
        since.len(),
        all.len()
    );
    assert!(since
        .iter()
        .all(|l| support::parse_time(l["at"].as_str().unwrap_or_default())
            >= support::parse_time("2026-11-25T03:05:00Z")));
    assert!(
        since
            .iter()
            .any(|l| l["what"].as_str().is_some_and(|w| w.contains("HSPROD-R1"))),
        "{since:#?}"
    );
    // a duration back from now: the replay's 2026-11-25 is more than an hour ago
    let recent = json_lines(&mirrorgate(&[
        "history", "HSPROD", "--json", "--since", "1h", "--data", &data,
    ]));
    assert!(recent.is_empty(), "{recent:#?}");
    let out = mirrorgate(&["history", "HSPROD", "--since", "yesterday", "--data", &data]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--since"), "{}", stderr(&out));
}

#[test]
fn a_drill_is_started_approved_and_reported_from_the_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(dir.path(), &healthy_scenario(dir.path(), "HSPROD"));

    // a drill needs a name
    let out = mirrorgate(&["drill", "HSPROD", "--by", " ", "--data", &data]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("drill not started"), "{}", stderr(&out));
    // WHEN Ravi starts a drill
    let out = mirrorgate(&["drill", "HSPROD", "--by", "Ravi Patel", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    // THEN the request went out marked DRILL, and the command says where the report is
    assert!(stdout(&out).contains("DRILL HSPROD"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("HSPROD: DRILL HSPROD-R1 sent to the approvers (would promote HSPROD-DR1)"),
        "{}",
        stdout(&out)
    );
    // and it is listed as a drill, open
    let open = json_lines(&mirrorgate(&["requests", "--open", "--json", "--data", &data]));
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(
        (open[0]["kind"].as_str(), open[0]["status"].as_str()),
        (Some("drill"), Some("open"))
    );
    // and a second drill is refused while it is open, changing nothing
    let out = mirrorgate(&["drill", "HSPROD", "--by", "Sam Okafor", "--data", &data]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("HSPROD-R1 is still open"), "{}", stderr(&out));

    // WHEN Dana approves it from the terminal
    let out = mirrorgate(&["approve", "HSPROD-R1", "--by", "Dana Whitfield", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    // THEN nothing is promoted: the drill document was recorded instead, the phase holds
    assert!(stdout(&out).contains("HSPROD-DR1 NOT promoted"), "{}", stdout(&out));
    assert!(!dir.path().join("promotions.jsonl").exists(), "nothing promoted");
    let drills = std::fs::read_to_string(dir.path().join("drills.jsonl")).expect("the drill was recorded");
    assert!(
        drills.contains("\"drill_document\":\"HSPROD-DrillDrAsync\""),
        "{drills}"
    );
    let s = state(dir.path());
    assert_eq!((s["phase"].as_str(), s["epoch"].as_u64()), (Some("normal"), Some(1)));

    // AND the report gives the times and what would have been promoted, in markdown and JSON
    let out = mirrorgate(&["drill-report", "HSPROD-R1", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with("# DRILL report: HSPROD HSPROD-R1"), "{md}");
    assert!(
        md.contains("| Decision: approved by Dana Whitfield (via operator)"),
        "{md}"
    );
    assert!(md.contains("Would have promoted: HSPROD-DR1"), "{md}");
    let report = json_lines(&mirrorgate(&["drill-report", "HSPROD-R1", "--json", "--data", &data]));
    assert_eq!(report[0]["would_promote"], "HSPROD-DR1");
    assert_eq!(report[0]["status"], "succeeded");
    assert_eq!(report[0]["estimated_loss"]["seconds"], 1.8);
    assert_eq!(report[0]["link_opened"], serde_json::Value::Null);
}

#[test]
fn a_drill_report_of_a_promotion_request_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(dir.path(), &pending_scenario(dir.path(), "HSPROD"));
    // GIVEN a real request waiting, WHEN a drill is asked, THEN it is refused: a real loss comes first
    let out = mirrorgate(&["drill", "HSPROD", "--by", "Ravi Patel", "--data", &data]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("a real loss comes first"), "{}", stderr(&out));
    let out = mirrorgate(&["drill-report", "HSPROD-R1", "--data", &data]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("HSPROD-R1 is a promotion request, not a drill"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_switchover_is_asked_and_approved_from_the_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = data_arg(dir.path());
    replay(dir.path(), &healthy_scenario(dir.path(), "HSPROD"));
    // a switchover to a failover member is refused, changing nothing
    let out = mirrorgate(&[
        "switchover",
        "HSPROD",
        "--to",
        "HSPROD-B",
        "--by",
        "Ravi Patel",
        "--data",
        &data,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("HSPROD-B is not a DR async member"),
        "{}",
        stderr(&out)
    );
    // WHEN Ravi asks to switch over to DR1
    let out = mirrorgate(&[
        "switchover",
        "HSPROD",
        "--to",
        "HSPROD-DR1",
        "--by",
        "Ravi Patel",
        "--data",
        &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("HSPROD: switchover HSPROD-R1 to HSPROD-DR1 sent to the approvers"),
        "{}",
        stdout(&out)
    );
    let open = json_lines(&mirrorgate(&["requests", "--open", "--json", "--data", &data]));
    assert_eq!(
        (open[0]["kind"].as_str(), open[0]["candidate"].as_str()),
        (Some("switchover"), Some("HSPROD-DR1"))
    );
    // WHEN Dana approves (A and B were heard from seconds ago)
    let out = mirrorgate(&["approve", "HSPROD-R1", "--by", "Dana Whitfield", "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    // THEN the promotion of DR1 was recorded, with partner only
    let promotions = std::fs::read_to_string(dir.path().join("promotions.jsonl")).expect("promotion recorded");
    assert!(promotions.contains("\"candidate\":\"HSPROD-DR1\""), "{promotions}");
    let all = json_lines(&mirrorgate(&["requests", "--json", "--data", &data]));
    assert_eq!(all[0]["status"], "approved");
    assert_eq!(
        state(dir.path())["phase"],
        "normal",
        "nothing changes before DR1 reports primary"
    );
}
