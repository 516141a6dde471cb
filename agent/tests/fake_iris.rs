//! The agent against a fake `iris` first on PATH that replays recorded outputs:
//! for each, the exact `--once --dry-run` line, and what mirrorgate's own decoder
//! makes of it (against examples/topology.toml).

use crate::support;

use chrono::{DateTime, Duration, Utc};
use shared::domain::{JournalLatency, MemberStatus, SignalKind};
use support::{topology, Host, Ran};

/// The line as EventBridge delivers it, with `{ID}`, `{T}` for the run's own id and time.
const ENVELOPE: &str = r#"{"version":"0","id":"{ID}","detail-type":"{DT}","source":"mirrorgate.iris","account":"000000000000","time":"{T}","region":"us-west-2","resources":[],"detail":{DETAIL}}"#;

struct Expect {
    detail_type: &'static str,
    /// The detail, with `{T}` for the time of the observation.
    detail: String,
    status: MemberStatus,
    reason: Option<String>,
    latency: Option<(f64, Option<&'static str>)>,
}

fn heartbeat(detail: &str, status: MemberStatus) -> Expect {
    Expect {
        detail_type: "Mirror Member Heartbeat",
        detail: detail.to_string(),
        status,
        reason: None,
        latency: None,
    }
}

fn unknown(member: &str, reason: &str) -> Expect {
    let reason_json = serde_json::to_string(reason).expect("a JSON string");
    let detail = format!(r#"{{"mirror":"HSPROD","member":"{member}","status":"Unknown","reason":{reason_json}}}"#);
    Expect {
        reason: Some(reason.to_string()),
        ..heartbeat(&detail, MemberStatus::Unknown)
    }
}

/// Checks the single line of a dry run against `expect`, and decodes it; returns
/// the time of the observation.
fn check(ran: &Ran, started: DateTime<Utc>, expect: &Expect) -> DateTime<Utc> {
    assert_eq!(ran.code, Some(0), "exit status; stderr: {}", ran.stderr);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", ran.stdout);
    let line = lines[0];
    let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let id = value["id"].as_str().expect("an id");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");
    let time = value["time"].as_str().expect("a time");
    let at: DateTime<Utc> = time.parse().expect("an RFC 3339 time");
    assert!(
        at >= started - Duration::seconds(1) && at <= Utc::now() + Duration::seconds(1),
        "the time of the observation {at} is within the run"
    );
    let expected = ENVELOPE
        .replace("{ID}", id)
        .replace("{DT}", expect.detail_type)
        .replace("{DETAIL}", &expect.detail)
        .replace("{T}", time);
    assert_eq!(line, expected);

    // What mirrorgate makes of it.
    let signals = shared::events::decode(line.as_bytes(), &topology()).expect("mirrorgate decodes the event");
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].at, at);
    assert_eq!(signals[0].id.as_deref(), Some(format!("eb:{id}").as_str()));
    match &signals[0].kind {
        SignalKind::Status {
            status,
            heartbeat,
            journal_latency,
            reason,
            ..
        } => {
            assert_eq!(*status, expect.status);
            assert_eq!(*heartbeat, expect.detail_type == "Mirror Member Heartbeat");
            assert_eq!(reason, &expect.reason);
            let got = journal_latency.as_ref().map(|l: &JournalLatency| {
                (
                    l.seconds,
                    l.received_at.map(|r| r.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                )
            });
            let want = expect.latency.map(|(s, r)| (s, r.map(|r| r.replace("{T}", time))));
            assert_eq!(got, want);
        }
        other => panic!("not a status: {other:?}"),
    }
    at
}

fn dry_run(host: &Host) -> (Ran, DateTime<Utc>) {
    let started = Utc::now();
    (host.run(&["--once", "--dry-run"], false, &[]), started)
}

#[test]
fn primary() {
    let host = Host::new("HSPROD-A");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Primary|detail=|type=Failover|latency=|bytes=|files=|error=");
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &heartbeat(
            r#"{"mirror":"HSPROD","member":"HSPROD-A","status":"Primary"}"#,
            MemberStatus::Primary,
        ),
    );
    assert_eq!(host.calls(), ["session IRIS -U %SYS Report^ZMIRRORGATE"]);
}

#[test]
fn primary_in_trouble() {
    let host = Host::new("HSPROD-A");
    host.fake_line(
        "MIRRORGATE|1|mirror=HSPROD|status=Primary|detail=Trouble|type=Failover|latency=|bytes=|files=|error=",
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &heartbeat(
            r#"{"mirror":"HSPROD","member":"HSPROD-A","status":"In Trouble"}"#,
            MemberStatus::InTrouble,
        ),
    );
}

#[test]
fn backup() {
    let host = Host::new("HSPROD-B");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Backup|detail=|type=Failover|latency=|bytes=|files=|error=");
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &heartbeat(
            r#"{"mirror":"HSPROD","member":"HSPROD-B","status":"Backup"}"#,
            MemberStatus::Backup,
        ),
    );
}

#[test]
fn async_connected_with_a_latency_without_leading_zero_then_waiting() {
    let host = Host::new("HSPROD-DR1");
    host.fake_line(
        "MIRRORGATE|1|mirror=HSPROD|status=Connected|detail=|type=Disaster Recovery|latency=.5|bytes=|files=|error=",
    );
    let (ran, started) = dry_run(&host);
    let connected_at = check(
        &ran,
        started,
        &Expect {
            latency: Some((0.5, Some("{T}"))),
            ..heartbeat(
                r#"{"mirror":"HSPROD","member":"HSPROD-DR1","status":"Connected","journal_latency":{"seconds":0.5,"measured_at":"{T}","received_at":"{T}"}}"#,
                MemberStatus::Connected,
            )
        },
    );
    let remembered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(host.path("state.json")).expect("the state file")).expect("JSON");
    assert_eq!(remembered["last_latency"]["seconds"], 0.5);

    // The link is lost: IRIS says Waiting; the agent says when it last received.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    host.fake_line(
        "MIRRORGATE|1|mirror=HSPROD|status=Waiting|detail=|type=Disaster Recovery|latency=|bytes=|files=|error=",
    );
    let (ran, started) = dry_run(&host);
    let c = connected_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let waiting_at = check(
        &ran,
        started,
        &Expect {
            latency: Some((0.5, Some(Box::leak(c.clone().into_boxed_str())))),
            ..heartbeat(
                &format!(
                    r#"{{"mirror":"HSPROD","member":"HSPROD-DR1","status":"Waiting","journal_latency":{{"seconds":0.5,"measured_at":"{c}","received_at":"{c}"}}}}"#
                ),
                MemberStatus::Waiting,
            )
        },
    );
    assert!(waiting_at > connected_at);
}

#[test]
fn async_waiting_never_seen_connected_says_no_latency() {
    let host = Host::new("HSPROD-DR2");
    host.fake_line(
        "MIRRORGATE|1|mirror=HSPROD|status=Waiting|detail=|type=Disaster Recovery|latency=|bytes=|files=|error=",
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &heartbeat(
            r#"{"mirror":"HSPROD","member":"HSPROD-DR2","status":"Waiting"}"#,
            MemberStatus::Waiting,
        ),
    );
}

#[test]
fn a_login_prompt_is_unknown_at_once_and_the_session_is_killed() {
    let host = Host::new("HSPROD-B");
    host.fake(
        "iris",
        &format!(
            "sleep 30 &\necho \"$!\" >'{}'\nprintf 'Node: host, Instance: IRIS\\r\\n\\r\\nUsername: '\nwait",
            host.path("child").display()
        ),
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown(
            "HSPROD-B",
            "`iris session` asked for a user name (\"Username:\"): OS authentication is not enabled for the agent's OS user, so IRIS could not be asked",
        ),
    );
    assert!(
        ran.took < std::time::Duration::from_secs(5),
        "not waited for the time-out: {:?}",
        ran.took
    );
    for name in ["pid", "child"] {
        let pid = host.read_pid(name).expect("the fake's pid");
        assert!(support::wait_gone(pid), "{name} {pid} was killed");
    }
}

#[test]
fn a_hang_past_the_timeout_is_unknown_and_killed() {
    let mut host = Host::new("HSPROD-A");
    host.timeout_secs = 1;
    host.fake(
        "iris",
        &format!(
            "sleep 30 &\necho \"$!\" >'{}'\nprintf 'Node: host, Instance: IRIS\\r\\n'\nwait",
            host.path("child").display()
        ),
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown("HSPROD-A", "`iris session` gave no answer within 1 s and was killed"),
    );
    assert!(ran.took < std::time::Duration::from_secs(5), "{:?}", ran.took);
    for name in ["pid", "child"] {
        let pid = host.read_pid(name).expect("the fake's pid");
        assert!(support::wait_gone(pid), "{name} {pid} was killed with its group");
    }
}

#[test]
fn garbage_is_unknown() {
    let host = Host::new("HSPROD-DR1");
    host.fake("iris", "printf 'xyzzy ~~~ 42\\r\\n%%SYS>\\r\\n'\nexit 0");
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown(
            "HSPROD-DR1",
            "`iris session` printed no MIRRORGATE line (is ^ZMIRRORGATE loaded in %SYS on this member?); it printed: xyzzy ~~~ 42",
        ),
    );
}

#[test]
fn a_line_it_does_not_understand_is_unknown() {
    let host = Host::new("HSPROD-DR1");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Connected|latency=0,5");
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown(
            "HSPROD-DR1",
            "^ZMIRRORGATE printed a line the agent does not understand (latency=\"0,5\" is not a number, 0 or more): MIRRORGATE|1|mirror=HSPROD|status=Connected|latency=0,5",
        ),
    );
}

#[test]
fn a_non_zero_exit_is_unknown() {
    let host = Host::new("HSPROD-B");
    host.fake(
        "iris",
        "printf 'Node: host, Instance: IRIS\\r\\n<NOROUTINE>\\r\\n'\nexit 3",
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown("HSPROD-B", "`iris session` exited with status 3: <NOROUTINE>"),
    );
}

#[test]
fn a_refused_login_is_unknown() {
    let host = Host::new("HSPROD-B");
    host.fake("iris", "printf '\\r\\nAccess Denied\\r\\n'\nexit 1");
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &unknown("HSPROD-B", "`iris session` refused the login (Access Denied)"),
    );
}

#[test]
fn no_iris_at_all_is_unknown() {
    let host = Host::new("HSPROD-A");
    let started = Utc::now();
    let ran = host.run(&["--once", "--dry-run"], true, &[]);
    check(
        &ran,
        started,
        &unknown(
            "HSPROD-A",
            "`iris` was not found on the agent's PATH, so `iris session` cannot be run",
        ),
    );
}

#[test]
fn cache_runs_csession() {
    let mut host = Host::new("HSPROD-B");
    host.product = "cache";
    host.fake(
        "csession",
        "printf 'MIRRORGATE|1|mirror=HSPROD|status=Backup|detail=|type=Failover|latency=|bytes=|files=|error=\\r\\n'",
    );
    let (ran, started) = dry_run(&host);
    check(
        &ran,
        started,
        &heartbeat(
            r#"{"mirror":"HSPROD","member":"HSPROD-B","status":"Backup"}"#,
            MemberStatus::Backup,
        ),
    );
    assert_eq!(host.calls(), ["IRIS -U %SYS Report^ZMIRRORGATE"]);
}

#[test]
fn a_status_event_and_a_scenario_line_for_mirrorgate_replay() {
    let host = Host::new("HSPROD-B");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Primary|detail=|type=Failover|latency=|bytes=|files=|error=");
    let started = Utc::now();
    let ran = host.run(&["--once", "--dry-run", "--event", "status"], false, &[]);
    check(
        &ran,
        started,
        &Expect {
            detail_type: "Mirror Member Status",
            ..heartbeat(
                r#"{"mirror":"HSPROD","member":"HSPROD-B","status":"Primary"}"#,
                MemberStatus::Primary,
            )
        },
    );
    let ran = host.run(&["--once", "--dry-run", "--scenario"], false, &[]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let line: serde_json::Value = serde_json::from_str(ran.stdout.trim()).expect("one JSON line");
    let keys: Vec<&String> = line.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["at", "event"]);
    assert_eq!(line["at"], line["event"]["time"]);
    let signals = shared::events::decode_value(&line["event"], &topology()).expect("the event decodes");
    assert_eq!(signals.len(), 1);
}

#[test]
fn a_bad_configuration_names_the_key_and_exits_2() {
    let mut host = Host::new("HSPROD-B");
    host.extra_config = "interval = 30\n".into();
    let ran = host.run(&["--once", "--dry-run"], false, &[]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("unknown key `interval`"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
}

#[test]
fn help_explains_every_key_and_option() {
    let host = Host::new("HSPROD-B");
    let ran = host.run(&["--help"], false, &[]);
    assert_eq!(ran.code, Some(0));
    for word in [
        "--config",
        "--once",
        "--dry-run",
        "--scenario",
        "--event",
        "--check",
        "mirror ",
        "member ",
        "instance ",
        "product ",
        "region ",
        "event_bus ",
        "interval_secs ",
        "iris_timeout_secs ",
        "state_file ",
        "Unknown",
        "POST /events",
        "mirrorgate replay",
    ] {
        assert!(ran.stdout.contains(word), "--help mentions {word:?}:\n{}", ran.stdout);
    }
}

#[test]
fn the_fake_sessions_are_shellcheck_clean() {
    let host = Host::new("HSPROD-B");
    let script = host.fake("iris", "sleep 30 &\necho \"$!\" >child\nprintf 'Username: '\nwait");
    support::shellcheck(&script);
}
