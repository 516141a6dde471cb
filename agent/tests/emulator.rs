//! The agent sending to EventBridge, on the local AWS emulator (`eval "$(scripts/emulator up)"`;
//! scripts/test starts it). The event is read back from an archive this test
//! creates on the default bus, through the emulator's own record of what it holds
//! (moto's `/moto-api/data.json`), and decoded by mirrorgate's decoder.
//!
//! Like the other AWS tests of the project, these never skip: without the emulator
//! they fail and say how to start it, and they run only against a loopback endpoint.

#![cfg(feature = "emulator")]

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;

use shared::domain::{MemberStatus, SignalKind};
use support::{topology, Host};

const HOW: &str = "start the emulator first: eval \"$(scripts/emulator up)\" (scripts/test does it)";

fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!("{name} is not set: {HOW}"),
    }
}

/// The emulator's endpoint; only a loopback address is accepted.
fn endpoint() -> String {
    let endpoint = env("AWS_ENDPOINT_URL");
    let host = endpoint.trim_start_matches("http://");
    assert!(
        endpoint.starts_with("http://") && (host.starts_with("127.") || host.starts_with("localhost")),
        "AWS_ENDPOINT_URL={endpoint} is not a local emulator; these tests only run against one: {HOW}"
    );
    endpoint.trim_end_matches('/').to_string()
}

/// The environment the agent gets: the emulator's, nothing else.
fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ACCESS_KEY_ID", env("AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", env("AWS_SECRET_ACCESS_KEY")),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("random bytes");
    format!(
        "{prefix}-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Everything moto holds (`GET /moto-api/data.json`).
fn moto_data() -> serde_json::Value {
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut stream =
        TcpStream::connect(host).unwrap_or_else(|e| panic!("cannot reach the emulator at {endpoint}: {e}: {HOW}"));
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.contains(" 200 "), "GET /moto-api/data.json: {head}");
    serde_json::from_str(body).expect("moto's data.json is JSON")
}

/// Creates an archive of every `mirrorgate.iris` event on the default bus.
fn archive_agent_events() -> String {
    endpoint();
    let name = unique("mirrorgate-agent-test");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-west-2"))
            .load()
            .await;
        let client = aws_sdk_eventbridge::Client::new(&config);
        let bus = client
            .describe_event_bus()
            .name("default")
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeEventBus: {e:?}: {HOW}"));
        client
            .create_archive()
            .archive_name(&name)
            .event_source_arn(bus.arn().expect("the bus's ARN"))
            .event_pattern(r#"{"source":["mirrorgate.iris"]}"#)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateArchive: {e:?}"));
    });
    name
}

fn archived(archive: &str) -> Vec<serde_json::Value> {
    let data = moto_data();
    let archives = data["events"]["Archive"].as_array().cloned().unwrap_or_default();
    let archive = archives
        .iter()
        .find(|a| a["name"] == archive)
        .unwrap_or_else(|| panic!("archive {archive} is in the emulator"));
    archive["events"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_agent_sends_the_heartbeat_to_eventbridge() {
    let archive = archive_agent_events();
    let host = Host::new("HSPROD-DR1");
    host.fake_line(
        "MIRRORGATE|1|mirror=HSPROD|status=Connected|detail=|type=Disaster Recovery|latency=.5|bytes=|files=|error=",
    );
    let started = chrono::Utc::now();
    let ran = host.run(&["--once"], false, &aws_env());
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert!(
        ran.stdout.is_empty(),
        "nothing printed on stdout when sending: {}",
        ran.stdout
    );
    let id = ran
        .stderr
        .rsplit_once("event id ")
        .map(|(_, id)| id.trim().to_string())
        .unwrap_or_else(|| panic!("the agent says the event id: {}", ran.stderr));
    assert!(
        ran.stderr
            .contains("sent Mirror Member Heartbeat HSPROD/HSPROD-DR1: Connected; event id"),
        "{}",
        ran.stderr
    );

    let events = archived(&archive);
    let event = events
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("event {id} is archived: {events:?}"));
    assert_eq!(event["source"], "mirrorgate.iris");
    assert_eq!(event["detail-type"], "Mirror Member Heartbeat");
    assert_eq!(event["region"], "us-west-2");
    // moto keeps the event's time as epoch seconds; EventBridge delivers it as RFC 3339.
    let time = match &event["time"] {
        serde_json::Value::Number(n) => n.as_i64().and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .unwrap_or_else(|| panic!("the event has a time: {event}"));
    assert!(
        time >= started - chrono::Duration::seconds(1),
        "the event's time is when the agent observed: {time}"
    );
    let t = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        event["detail"],
        serde_json::json!({
            "mirror": "HSPROD",
            "member": "HSPROD-DR1",
            "status": "Connected",
            "journal_latency": {"seconds": 0.5, "measured_at": t, "received_at": t}
        })
    );
    // As mirrorgate's rule target would get it.
    let mut delivered = event.clone();
    delivered["time"] = serde_json::Value::String(t.clone());
    let signals = shared::events::decode_value(&delivered, &topology()).expect("mirrorgate decodes the archived event");
    match &signals[0].kind {
        SignalKind::Status {
            status,
            journal_latency,
            ..
        } => {
            assert_eq!(*status, MemberStatus::Connected);
            assert_eq!(journal_latency.as_ref().map(|l| l.seconds), Some(0.5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_is_sent_too_with_its_reason() {
    let archive = archive_agent_events();
    let host = Host::new("HSPROD-A");
    host.fake("iris", "printf 'Username: '\nsleep 30");
    let ran = host.run(&["--once", "--event", "status"], false, &aws_env());
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    let id = ran
        .stderr
        .rsplit_once("event id ")
        .map(|(_, id)| id.trim().to_string())
        .expect("an event id");
    let events = archived(&archive);
    let event = events.iter().find(|e| e["id"] == id.as_str()).expect("archived");
    assert_eq!(event["detail-type"], "Mirror Member Status");
    assert_eq!(event["detail"]["status"], "Unknown");
    assert!(event["detail"]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("asked for a user name"));
}

#[test]
fn a_bus_that_does_not_exist_is_an_error_with_the_service_message() {
    let mut host = Host::new("HSPROD-B");
    host.event_bus = "no-such-bus".into();
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Backup|detail=|type=Failover|latency=|bytes=|files=|error=");
    let ran = host.run(&["--once"], false, &aws_env());
    assert_eq!(ran.code, Some(1), "stdout: {}\nstderr: {}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr
            .contains("could not send Mirror Member Heartbeat HSPROD/HSPROD-B (Backup): PutEvents"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("no-such-bus"),
        "the message names the bus: {}",
        ran.stderr
    );
}

#[test]
fn check_passes_when_everything_is_in_place_and_says_what_to_fix_otherwise() {
    let mut host = Host::new("HSPROD-B");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Backup|detail=|type=Failover|latency=|bytes=|files=|error=");
    let ran = host.run(&["--check"], false, &aws_env());
    assert_eq!(ran.code, Some(0), "stdout: {}\nstderr: {}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("ok   IRIS: `iris session` logged in without a prompt"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("ok   EventBridge: bus arn:aws:events:us-west-2:"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.ends_with("all checks passed\n"), "{}", ran.stdout);

    // A login prompt, a bus that does not exist.
    host.fake("iris", "printf 'Username: '\nsleep 30");
    host.event_bus = "no-such-bus".into();
    let ran = host.run(&["--check"], false, &aws_env());
    assert_eq!(ran.code, Some(1), "stdout: {}\nstderr: {}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("FAIL IRIS: `iris session` asked for a user name"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("fix: enable OS authentication"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("FAIL EventBridge: DescribeEventBus: ResourceNotFoundException"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.ends_with("2 problem(s)\n"), "{}", ran.stdout);
}
