//! Event decoding, specified by real payloads: the samples shipped by
//! `aws_lambda_events` (read from the crate's own directory), the AWS documentation's
//! examples, and mirrorgate's own examples in tests/fixtures/events (the same events as
//! docs/events.md), decoded against examples/topology.toml.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use shared::adapters::probe::{Answer, Probe};
use shared::domain::Observer;
use shared::domain::{CommandReport, JournalLatency, MemberStatus, RunStatus, Signal, SignalKind};
use shared::events::{decode, decode_value, DecodeError, ProbeResult};
use shared::topology::Topology;

// ---------------------------------------------------------------- fixtures

/// `src/fixtures` of the `aws_lambda_events` crate this workspace builds against.
fn crate_fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--manifest-path", manifest])
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
        let manifest_path = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["name"] == "aws_lambda_events")
            .and_then(|p| p["manifest_path"].as_str())
            .expect("aws_lambda_events is a dependency");
        let dir = Path::new(manifest_path)
            .parent()
            .expect("the crate's directory")
            .join("src/fixtures");
        assert!(dir.is_dir(), "{} is not a directory", dir.display());
        dir
    })
}

fn sample(name: &str) -> Vec<u8> {
    let path = crate_fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ours_path(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/events")).join(name)
}

fn ours(name: &str) -> Vec<u8> {
    let path = ours_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ours_json(name: &str) -> Value {
    serde_json::from_slice(&ours(name)).expect("our fixtures are JSON")
}

fn reference() -> &'static Topology {
    static T: OnceLock<Topology> = OnceLock::new();
    T.get_or_init(|| {
        Topology::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/topology.toml"
        )))
        .expect("the example topology is valid")
    })
}

/// A topology whose identifiers are those the AWS samples carry.
fn samples_topology() -> &'static Topology {
    static T: OnceLock<Topology> = OnceLock::new();
    T.get_or_init(|| {
        Topology::parse(
            "samples.toml",
            r#"
[[mirror]]
name = "SAMPLES"
primary_region = "us-east-1"
dr_region = "us-west-2"

[[mirror.member]]
name = "S-A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"
instance_id = "i-12345678"

[[mirror.member]]
name = "S-B"
kind = "failover"
region = "us-east-1"
zone = "us-east-1b"
instance_id = "i-12345678901234567"

[[mirror.member]]
name = "S-DR"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
instance_id = "i-abcd1111"

[[mirror.member]]
name = "S-DR2"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2b"
instance_id = "i-9bb89e2b"

[[mirror.alarm]]
name = "CompositeDemo.Main"
member = "S-A"
observer = "route53"

[[mirror.alarm]]
name = "ServiceAggregatedAlarm"
member = "S-B"

[[mirror.alarm]]
name = "EXAMPLE"
member = "S-B"

[[mirror]]
name = "OTHER"
primary_region = "eu-west-1"
dr_region = "eu-central-1"

[[mirror.member]]
name = "O-A"
kind = "failover"
region = "eu-west-1"
zone = "eu-west-1a"

[[mirror.member]]
name = "O-DR"
kind = "dr_async"
region = "eu-central-1"
zone = "eu-central-1a"
"#,
        )
        .expect("the samples topology is valid")
    })
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a test timestamp")
}

fn observation(
    mirror: &str,
    member: &str,
    observer: Observer,
    healthy: bool,
    when: &str,
    id: &str,
    source: &str,
) -> Signal {
    Signal {
        mirror: mirror.into(),
        id: Some(id.into()),
        at: at(when),
        kind: SignalKind::Observation {
            unreachable: false,
            alarm_arn: None,
            since: None,
            member: member.into(),
            observer,
            healthy,
            source: source.into(),
        },
    }
}

/// The observation as said by the alarm with this ARN (kept so that `health-poll`
/// can read the alarm again).
fn said_by(mut signal: Signal, arn: &str) -> Signal {
    if let SignalKind::Observation { alarm_arn, .. } = &mut signal.kind {
        *alarm_arn = Some(arn.to_string());
    }
    signal
}

fn decoded(payload: &[u8], topology: &Topology) -> Vec<Signal> {
    decode(payload, topology).unwrap_or_else(|e| panic!("decodes: {e}"))
}

fn refused(payload: &[u8], topology: &Topology) -> DecodeError {
    match decode(payload, topology) {
        Ok(signals) => panic!("must be refused, got {signals:?}"),
        Err(e) => e,
    }
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialises")
}

// ------------------------------------------------- the samples aws_lambda_events ships

#[test]
fn alarm_action_metric_sample_is_resolved_by_its_instance_dimension() {
    let signals = decoded(&sample("example-cloudwatch-alarm-metric.json"), samples_topology());
    assert_eq!(
        signals,
        vec![observation(
            "SAMPLES",
            "S-A",
            Observer::Instance,
            false,
            "2023-08-04T12:36:15.490Z",
            "alarm:lambda-demo-metric-alarm:2023-08-04T12:36:15.490Z",
            "alarm lambda-demo-metric-alarm ALARM",
        )]
    );
}

#[test]
fn alarm_action_composite_sample_is_mapped_by_alarm_name_with_its_observer() {
    let signals = decoded(&sample("example-cloudwatch-alarm-composite.json"), samples_topology());
    assert_eq!(
        signals,
        vec![observation(
            "SAMPLES",
            "S-A",
            Observer::Route53,
            false,
            "2023-08-04T12:56:46.138Z",
            "alarm:CompositeDemo.Main:2023-08-04T12:56:46.138Z",
            "alarm CompositeDemo.Main ALARM",
        )]
    );
}

#[test]
fn composite_sample_with_suppressor_is_read_as_an_alarm_payload() {
    // This sample carries both detail-type and alarmData; alarmData decides.
    let signals = decoded(
        &sample("example-cloudwatch-alarm-composite-with-suppressor-alarm.json"),
        samples_topology(),
    );
    assert_eq!(
        signals,
        vec![observation(
            "SAMPLES",
            "S-B",
            Observer::Instance,
            false,
            "2022-07-22T15:57:45.394Z",
            "alarm:ServiceAggregatedAlarm:2022-07-22T15:57:45.394Z",
            "alarm ServiceAggregatedAlarm ALARM",
        )]
    );
}

#[test]
fn sns_single_metric_sample_falls_back_to_the_alarm_name() {
    // Its InstanceId dimension is "TestInstance", which no topology can hold.
    let signals = decoded(
        &sample("example-cloudwatch-alarm-sns-payload-single-metric.json"),
        samples_topology(),
    );
    assert_eq!(
        signals,
        vec![observation(
            "SAMPLES",
            "S-B",
            Observer::Instance,
            false,
            "2015-06-03T17:43:27.123Z",
            "alarm:EXAMPLE:2015-06-03T17:43:27.123Z",
            "alarm EXAMPLE ALARM",
        )]
    );
}

#[test]
fn sns_multiple_metrics_sample_gives_one_signal_per_record() {
    let signals = decoded(
        &sample("example-cloudwatch-alarm-sns-payload-multiple-metrics.json"),
        samples_topology(),
    );
    let one = observation(
        "SAMPLES",
        "S-B",
        Observer::Instance,
        false,
        "2015-06-03T17:43:27.123Z",
        "alarm:EXAMPLE:2015-06-03T17:43:27.123Z",
        "alarm EXAMPLE ALARM",
    );
    // The two records are the same delivery twice: same id, folded by the core.
    assert_eq!(signals, vec![one.clone(), one]);
}

#[test]
fn sns_multiple_metrics_sample_is_resolved_by_a_metric_math_dimension() {
    let mut event: Value =
        serde_json::from_slice(&sample("example-cloudwatch-alarm-sns-payload-multiple-metrics.json")).expect("JSON");
    let message = event["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("Message")
        .replace("TestInstance", "i-12345678");
    event["Records"][0]["Sns"]["Message"] = Value::String(message);
    let signals = decoded(&to_bytes(&event), samples_topology());
    let member = |s: &Signal| match &s.kind {
        SignalKind::Observation { member, .. } => member.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(signals.iter().map(member).collect::<Vec<_>>(), ["S-A", "S-B"]);
}

#[test]
fn schedule_sample_ticks_every_mirror_at_the_event_time() {
    let signals = decoded(&sample("example-eventbridge-schedule.json"), samples_topology());
    let tick = |mirror: &str| Signal {
        mirror: mirror.into(),
        id: None,
        at: at("2015-10-08T16:53:06Z"),
        kind: SignalKind::Tick,
    };
    assert_eq!(signals, vec![tick("SAMPLES"), tick("OTHER")]);
}

#[test]
fn ec2_pending_sample_teaches_nothing() {
    assert_eq!(
        decoded(&sample("example-eventbridge-event-obj.json"), samples_topology()),
        vec![]
    );
}

#[test]
fn ec2_sample_of_an_instance_outside_the_topology_is_refused() {
    let e = refused(&sample("example-eventbridge-event-obj.json"), reference());
    assert_eq!(
        e,
        DecodeError::UnknownInstance {
            instance_id: "i-abcd1111".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "EC2 instance i-abcd1111 is not the instance_id of any member in the topology; add it to its member in \
         the topology, or leave it out of the EventBridge rule"
    );
}

#[test]
fn sns_samples_that_are_not_alarms_are_refused() {
    for name in ["example-sns-event.json", "example-sns-event-pascal-case.json"] {
        let e = refused(&sample(name), samples_topology());
        assert_eq!(e.kind(), "not_an_alarm", "{name}");
        assert!(
            e.to_string()
                .starts_with("SNS record 0 is not a CloudWatch alarm notification: its Message is not JSON"),
            "{e}"
        );
    }
    let e = refused(&sample("example-sns-event-obj.json"), samples_topology());
    assert_eq!(
        e,
        DecodeError::NotAnAlarm {
            record: 0,
            problem: "its Message has no AlarmName and NewStateValue".into()
        }
    );
}

#[test]
fn every_sample_of_the_crate_decodes_or_is_refused_with_a_typed_error() {
    let mut seen = 0;
    for entry in std::fs::read_dir(crate_fixtures()).expect("the fixtures directory") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("readable");
        seen += 1;
        match decode(&bytes, samples_topology()) {
            Ok(_) => {}
            Err(e) => {
                assert!(DecodeError::KINDS.contains(&e.kind()), "{}: {e}", path.display());
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(seen > 100, "only {seen} samples found");
    // EventBridge events of other services are named, not guessed at.
    let e = refused(&sample("example-codebuild-phase-change.json"), samples_topology());
    assert_eq!(e.kind(), "unsupported");
    assert!(
        e.to_string()
            .starts_with("EventBridge event with source \"aws.codebuild\" and detail-type"),
        "{e}"
    );
    // Other Lambda triggers are named by their fields.
    let e = refused(&sample("example-sqs-event.json"), samples_topology());
    assert_eq!(e.kind(), "unrecognised");
    assert!(e.to_string().contains("no Sns field"), "{e}");
}

// ------------------------------------------- the AWS documentation's EventBridge alarm examples

#[test]
fn aws_documentation_alarm_state_changes_decode() {
    let cases = [
        (
            "aws-doc-alarm-state-change-single-metric.json",
            "ServerCpuTooHigh",
            "2019-10-02T17:04:40.989Z",
        ),
        (
            "aws-doc-alarm-state-change-metric-math.json",
            "TotalNetworkTrafficTooHigh",
            "2019-10-02T17:20:48.554Z",
        ),
        (
            "aws-doc-alarm-state-change-anomaly-detection.json",
            "EC2 CPU Utilization Anomaly",
            "2019-10-03T16:00:04.653Z",
        ),
    ];
    for (file, alarm, when) in cases {
        let signals = decoded(&ours(file), samples_topology());
        assert_eq!(
            signals,
            vec![said_by(
                observation(
                    "SAMPLES",
                    "S-B",
                    Observer::Instance,
                    false,
                    when,
                    &format!("alarm:{alarm}:{when}"),
                    &format!("alarm {alarm} ALARM"),
                ),
                &format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"),
            )],
            "{file}"
        );
    }
}

// ------------------------------------------------------- our examples, reference topology

#[test]
fn route53_alarm_on_hsprod_a_says_it_no_longer_answers_as_primary() {
    let signals = decoded(&ours("alarm-route53-hsprod-a.json"), reference());
    assert_eq!(
        signals,
        vec![said_by(
            observation(
                "HSPROD",
                "HSPROD-A",
                Observer::Route53,
                false,
                "2025-03-14T09:26:40.989Z",
                "alarm:HSPROD-A-mirror-status:2025-03-14T09:26:40.989Z",
                "alarm HSPROD-A-mirror-status ALARM",
            ),
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-A-mirror-status",
        )]
    );
}

#[test]
fn instance_alarm_action_on_hsprod_a_marks_its_instance_unhealthy() {
    let signals = decoded(&ours("alarm-action-instance-hsprod-a.json"), reference());
    assert_eq!(
        signals,
        vec![said_by(
            observation(
                "HSPROD",
                "HSPROD-A",
                Observer::Instance,
                false,
                "2025-03-14T09:27:15.490Z",
                "alarm:HSPROD-A-instance-status:2025-03-14T09:27:15.490Z",
                "alarm HSPROD-A-instance-status ALARM",
            ),
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-A-instance-status",
        )]
    );
}

#[test]
fn sns_alarm_back_to_ok_marks_hsprod_b_healthy() {
    let signals = decoded(&ours("sns-alarm-hsprod-b.json"), reference());
    assert_eq!(
        signals,
        vec![said_by(
            observation(
                "HSPROD",
                "HSPROD-B",
                Observer::Instance,
                true,
                "2025-03-14T09:29:12.123Z",
                "alarm:HSPROD-B-instance-status:2025-03-14T09:29:12.123Z",
                "alarm HSPROD-B-instance-status OK",
            ),
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-B-instance-status",
        )]
    );
}

#[test]
fn ec2_stopped_hsprod_a_marks_its_instance_unhealthy() {
    let signals = decoded(&ours("ec2-stopped-hsprod-a.json"), reference());
    assert_eq!(
        signals,
        vec![observation(
            "HSPROD",
            "HSPROD-A",
            Observer::Instance,
            false,
            "2025-03-14T09:27:31Z",
            "eb:9e4b7c21-3d5f-4a8e-b0c2-6f1d2e3a4b5c",
            "EC2 instance i-0aaaaaaaaaaaaaaa1 stopped",
        )]
    );
}

#[test]
fn ec2_states_map_to_health() {
    let cases = [
        ("running", Some(true)),
        ("stopping", Some(false)),
        ("stopped", Some(false)),
        ("shutting-down", Some(false)),
        ("terminated", Some(false)),
        ("pending", None),
    ];
    for (state, healthy) in cases {
        let mut event = ours_json("ec2-stopped-hsprod-a.json");
        event["detail"]["state"] = json!(state);
        let signals = decoded(&to_bytes(&event), reference());
        let got = signals.first().map(|s| match &s.kind {
            SignalKind::Observation { healthy, .. } => *healthy,
            other => panic!("{other:?}"),
        });
        assert_eq!(got, healthy, "{state}");
        assert!(signals.len() <= 1);
    }
}

#[test]
fn schedule_ticks_hsprod() {
    let signals = decoded(&ours("schedule.json"), reference());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "HSPROD".into(),
            id: None,
            at: at("2025-03-14T09:31:00Z"),
            kind: SignalKind::Tick
        }]
    );
}

#[test]
fn mirror_status_event_reports_a_role_change() {
    let signals = decoded(&ours("mirror-status-primary.json"), reference());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "HSPROD".into(),
            id: Some("eb:0d6a2d0e-1f5e-4a4e-9f3e-6c1c3b2a9d01".into()),
            at: at("2025-03-14T09:28:02Z"),
            kind: SignalKind::Status {
                reason: None,
                member: "HSPROD-B".into(),
                status: MemberStatus::Primary,
                heartbeat: false,
                journal_latency: None,
            },
        }]
    );
}

#[test]
fn a_probe_that_gets_no_answer_is_an_unhealthy_probe_observation() {
    let signals = decoded(&ours("mirror-status-probe.json"), reference());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "HSPROD".into(),
            // No id: probes repeat every minute and only their time matters.
            id: None,
            at: at("2025-03-14T09:27:00Z"),
            kind: SignalKind::Observation {
                unreachable: true,
                member: "HSPROD-A".into(),
                observer: Observer::Probe,
                healthy: false,
                source: "probe unreachable: timed out after 3 s".into(),
                since: None,
                alarm_arn: None,
            },
        }]
    );
}

#[test]
fn a_probe_result_is_the_event_health_poll_writes_and_decodes_to_the_same_signal() {
    let url = "https://10.0.1.10/csp/user/mirror_status.cxw";
    let probed = at("2025-03-14T09:27:00Z");
    // The documented example is exactly what health-poll writes for that probe.
    let timed_out = Probe::new(
        "HSPROD",
        "HSPROD-A",
        url,
        probed,
        &Answer::TimedOut(std::time::Duration::from_secs(3)),
    );
    assert_eq!(
        timed_out.event(Some("us-west-2")).expect("serialises"),
        ours_json("mirror-status-probe.json")
    );
    let answers = [
        (
            Answer::Http {
                status: 200,
                body: b"SUCCESS".to_vec(),
            },
            ProbeResult::Primary,
            true,
        ),
        (
            Answer::Http {
                status: 503,
                body: b"FAILED".to_vec(),
            },
            ProbeResult::NotPrimary,
            false,
        ),
        (
            Answer::Http {
                status: 500,
                body: Vec::new(),
            },
            ProbeResult::Unexpected,
            false,
        ),
        (
            Answer::Http {
                status: 200,
                body: b"<html>".to_vec(),
            },
            ProbeResult::Unexpected,
            false,
        ),
        (Answer::Refused, ProbeResult::Unreachable, false),
    ];
    for (answer, result, healthy) in answers {
        let probe = Probe::new("HSPROD", "HSPROD-DR1", url, probed, &answer);
        assert_eq!(probe.detail.result, result, "{answer:?}");
        let event = probe.event(None).expect("serialises");
        let signals = decoded(&to_bytes(&event), reference());
        assert_eq!(signals, vec![probe.signal()], "{event}");
        assert!(
            matches!(&signals[0].kind, SignalKind::Observation { healthy: h, observer: Observer::Probe, .. } if *h == healthy),
            "{signals:?}"
        );
    }
}

#[test]
fn a_probe_event_of_no_member_or_with_a_misspelt_field_is_refused() {
    let mut event = ours_json("mirror-status-probe.json");
    event["detail"]["member"] = json!("HSPROD-Z");
    assert_eq!(refused(&to_bytes(&event), reference()).kind(), "unknown_member");
    let mut event = ours_json("mirror-status-probe.json");
    event["detail"]["result"] = json!("maybe");
    assert_eq!(refused(&to_bytes(&event), reference()).kind(), "malformed");
    let mut event = ours_json("mirror-status-probe.json");
    event["detail"]["http_stauts"] = json!(200);
    let e = refused(&to_bytes(&event), reference());
    assert!(e.to_string().contains("unknown field `http_stauts`"), "{e}");
}

#[test]
fn mirror_heartbeat_carries_the_status_and_journal_latency() {
    let signals = decoded(&ours("mirror-heartbeat.json"), reference());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "HSPROD".into(),
            id: Some("eb:7f3e2d1c-0b9a-4876-a543-210fedcba987".into()),
            at: at("2025-03-14T09:30:00Z"),
            kind: SignalKind::Status {
                reason: None,
                member: "HSPROD-DR1".into(),
                status: MemberStatus::Connected,
                heartbeat: true,
                journal_latency: Some(JournalLatency {
                    received_at: None,
                    seconds: 1.8,
                    bytes: Some(524_288),
                    files: Some(0),
                    measured_at: at("2025-03-14T09:29:58Z"),
                }),
            },
        }]
    );
}

#[test]
fn journal_latency_event_reports_how_far_behind_a_dr_member_is() {
    let signals = decoded(&ours("mirror-journal-latency.json"), reference());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "HSPROD".into(),
            id: Some("eb:3a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d".into()),
            at: at("2025-03-14T09:30:05Z"),
            kind: SignalKind::JournalLatency {
                member: "HSPROD-DR2".into(),
                latency: JournalLatency {
                    received_at: None,
                    seconds: 12.5,
                    bytes: Some(8_388_608),
                    files: Some(1),
                    measured_at: at("2025-03-14T09:30:03Z"),
                },
            },
        }]
    );
}

#[test]
fn latency_measured_at_defaults_to_the_event_time_and_optional_fields_may_go() {
    let mut event = ours_json("mirror-journal-latency.json");
    event["detail"] = json!({"mirror": "HSPROD", "member": "HSPROD-DR2", "seconds": 3});
    let signals = decoded(&to_bytes(&event), reference());
    assert_eq!(
        signals[0].kind,
        SignalKind::JournalLatency {
            member: "HSPROD-DR2".into(),
            latency: JournalLatency {
                received_at: None,
                seconds: 3.0,
                bytes: None,
                files: None,
                measured_at: at("2025-03-14T09:30:05Z")
            },
        }
    );
    let mut event = ours_json("mirror-heartbeat.json");
    event["detail"]["journal_latency"] = json!({"seconds": 0.5});
    let signals = decoded(&to_bytes(&event), reference());
    let SignalKind::Status {
        journal_latency: Some(l),
        ..
    } = &signals[0].kind
    else {
        panic!("{signals:?}")
    };
    assert_eq!(l.measured_at, at("2025-03-14T09:30:00Z"));
}

#[test]
fn member_status_accepts_every_iris_wording() {
    for status in MemberStatus::ALL {
        for text in [
            status.as_str().to_string(),
            status.as_str().to_uppercase(),
            status.as_str().replace(' ', "_"),
        ] {
            let mut event = ours_json("mirror-status-primary.json");
            event["detail"]["status"] = json!(text);
            if status == MemberStatus::Unknown {
                // Unknown says nothing without why IRIS could not be asked.
                event["detail"]["reason"] = json!("iris session timed out after 20 s");
            }
            let signals = decoded(&to_bytes(&event), reference());
            let SignalKind::Status { status: got, .. } = &signals[0].kind else {
                panic!("{signals:?}")
            };
            assert_eq!(*got, status, "{text}");
        }
    }
}

#[test]
fn a_reporting_async_in_several_mirrors_is_connected_only_when_connected_to_all() {
    for (text, status, reason) in [
        ("2/2 Connected", MemberStatus::Connected, None),
        (
            "1/2 Connected",
            MemberStatus::Unknown,
            Some("1/2 Connected: connected to 1 of its 2 mirrors, not said which"),
        ),
    ] {
        let mut event = ours_json("mirror-status-primary.json");
        event["detail"]["status"] = json!(text);
        let signals = decoded(&to_bytes(&event), reference());
        let SignalKind::Status {
            status: got,
            reason: got_reason,
            ..
        } = &signals[0].kind
        else {
            panic!("{signals:?}")
        };
        assert_eq!((*got, got_reason.as_deref()), (status, reason), "{text}");
    }
    for bad in ["3/2 Connected", "1/0 Connected", "1/2 Waiting", "x/2 Connected"] {
        let mut event = ours_json("mirror-status-primary.json");
        event["detail"]["status"] = json!(bad);
        let e = refused(&to_bytes(&event), reference());
        assert!(
            e.to_string().contains("is not an IRIS mirror member status"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn an_agent_that_could_not_ask_iris_says_why_and_is_never_down() {
    let mut event = ours_json("mirror-status-primary.json");
    event["detail"]["status"] = json!("Unknown");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e.to_string(),
        "malformed mirror event \"Mirror Member Status\": detail.status is Unknown without detail.reason; say why IRIS could not be asked"
    );
    event["detail"]["reason"] = json!("login refused: OS authentication is not enabled for the agent's user");
    let signals = decoded(&to_bytes(&event), reference());
    let SignalKind::Status { status, reason, .. } = &signals[0].kind else {
        panic!("{signals:?}")
    };
    assert_eq!(*status, MemberStatus::Unknown);
    assert!(!status.is_down() && !status.is_primary() && !status.proves_a_primary());
    assert_eq!(
        reason.as_deref(),
        Some("login refused: OS authentication is not enabled for the agent's user")
    );
}

#[test]
fn a_probe_result_is_an_observation_by_the_probe() {
    for (result, healthy, unreachable) in [
        ("primary", true, false),
        ("not_primary", false, false),
        ("unreachable", false, true),
        ("unexpected", false, false),
    ] {
        let event = json!({
            "version": "0", "id": "7c3b1f0e-1d2a-4a8e-9b61-5d1f2c3e4a5b", "detail-type": "Mirror Status Probe",
            "source": "mirrorgate.probe", "account": "123456789012", "time": "2026-11-25T03:02:40Z",
            "region": "us-west-2", "resources": [],
            "detail": {"mirror": "HSPROD", "member": "HSPROD-A", "url": "https://10.10.1.10/csp/user/mirror_status.cxw",
                       "result": result, "detail": "what happened"}
        });
        let signals = decoded(&to_bytes(&event), reference());
        assert_eq!(signals.len(), 1);
        match &signals[0].kind {
            SignalKind::Observation {
                member,
                observer,
                healthy: h,
                unreachable: u,
                source,
                ..
            } => {
                assert_eq!(
                    (member.as_str(), *observer, *h, *u),
                    ("HSPROD-A", Observer::Probe, healthy, unreachable),
                    "{result}"
                );
                assert_eq!(source, &format!("probe {result}: what happened"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn alarm_states_map_to_health_and_insufficient_data_teaches_nothing() {
    for (state, expected) in [("ALARM", Some(false)), ("OK", Some(true)), ("INSUFFICIENT_DATA", None)] {
        let mut eventbridge = ours_json("alarm-route53-hsprod-a.json");
        eventbridge["detail"]["state"]["value"] = json!(state);
        let mut action = ours_json("alarm-action-instance-hsprod-a.json");
        action["alarmData"]["state"]["value"] = json!(state);
        let mut sns = ours_json("sns-alarm-hsprod-b.json");
        let message = sns["Records"][0]["Sns"]["Message"]
            .as_str()
            .expect("Message")
            .replace("\"NewStateValue\": \"OK\"", &format!("\"NewStateValue\": \"{state}\""));
        sns["Records"][0]["Sns"]["Message"] = json!(message);
        for payload in [eventbridge, action, sns] {
            let signals = decoded(&to_bytes(&payload), reference());
            let got = signals.first().map(|s| match &s.kind {
                SignalKind::Observation { healthy, source, .. } => {
                    assert!(source.ends_with(state), "{source}");
                    *healthy
                }
                other => panic!("{other:?}"),
            });
            assert_eq!(got, expected, "{state}");
        }
    }
}

#[test]
fn one_alarm_transition_through_three_paths_has_one_id() {
    // The same transition of HSPROD-A-instance-status as the alarm action payload, as
    // the EventBridge event and as the SNS notification.
    let action = ours_json("alarm-action-instance-hsprod-a.json");
    let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-A-instance-status";
    assert_eq!(action["alarmArn"], arn);
    let mut eventbridge = ours_json("alarm-route53-hsprod-a.json");
    eventbridge["detail"] = action["alarmData"].clone();
    eventbridge["resources"] = json!([arn]);
    let mut sns = ours_json("sns-alarm-hsprod-b.json");
    let mut message: Value =
        serde_json::from_str(sns["Records"][0]["Sns"]["Message"].as_str().expect("Message")).expect("JSON");
    message["AlarmName"] = json!("HSPROD-A-instance-status");
    message["AlarmArn"] = json!(arn);
    message["NewStateValue"] = json!("ALARM");
    message["StateChangeTime"] = json!("2025-03-14T09:27:15.490+0000");
    message["Trigger"]["Dimensions"] = json!([{"value": "i-0aaaaaaaaaaaaaaa1", "name": "InstanceId"}]);
    sns["Records"][0]["Sns"]["Message"] = json!(message.to_string());

    let signals: Vec<Vec<Signal>> = [action, eventbridge, sns]
        .iter()
        .map(|p| decoded(&to_bytes(p), reference()))
        .collect();
    assert_eq!(signals[0].len(), 1);
    assert_eq!(signals[0], signals[1]);
    assert_eq!(signals[0], signals[2]);
    assert_eq!(
        signals[0][0].id.as_deref(),
        Some("alarm:HSPROD-A-instance-status:2025-03-14T09:27:15.490Z")
    );
    // Each path carries the alarm's ARN: alarmArn, resources[0], AlarmArn.
    let SignalKind::Observation { alarm_arn, .. } = &signals[0][0].kind else {
        panic!("{signals:?}")
    };
    assert_eq!(alarm_arn.as_deref(), Some(arn));
}

#[test]
fn an_arn_that_is_not_the_alarms_own_is_left_out() {
    let arn_of = |payload: &Value| -> Option<String> {
        match &decoded(&to_bytes(payload), reference())[0].kind {
            SignalKind::Observation { alarm_arn, .. } => alarm_arn.clone(),
            other => panic!("{other:?}"),
        }
    };
    let mut eventbridge = ours_json("alarm-route53-hsprod-a.json");
    eventbridge["resources"] = json!(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:another-alarm"]);
    assert_eq!(arn_of(&eventbridge), None);
    eventbridge["resources"] = json!([]);
    assert_eq!(arn_of(&eventbridge), None);
    eventbridge.as_object_mut().expect("event").remove("resources");
    assert_eq!(arn_of(&eventbridge), None);
    let mut action = ours_json("alarm-action-instance-hsprod-a.json");
    action["alarmArn"] = json!("not an arn");
    assert_eq!(arn_of(&action), None);
    // The crate's own samples carry placeholder ARNs ("REGION:ACCOUNT_NUMBER"): left out.
    let signals = decoded(
        &sample("example-cloudwatch-alarm-sns-payload-single-metric.json"),
        samples_topology(),
    );
    assert!(
        matches!(&signals[0].kind, SignalKind::Observation { alarm_arn: None, .. }),
        "{signals:?}"
    );
}

#[test]
fn decode_value_agrees_with_decode() {
    for name in [
        "alarm-route53-hsprod-a.json",
        "sns-alarm-hsprod-b.json",
        "mirror-heartbeat.json",
        "schedule.json",
    ] {
        assert_eq!(
            decode_value(&ours_json(name), reference()),
            decode(&ours(name), reference()),
            "{name}"
        );
    }
}

#[test]
fn the_documentation_shows_the_example_events_verbatim() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md");
    let doc = std::fs::read_to_string(doc_path).expect("docs/events.md");
    for name in [
        "mirror-status-primary.json",
        "mirror-heartbeat.json",
        "mirror-journal-latency.json",
        "ec2-stopped-hsprod-a.json",
        "schedule.json",
        "mirror-status-probe.json",
        "ssm-promote-failed-hsprod-dr1.json",
    ] {
        let text = String::from_utf8(ours(name)).expect("UTF-8");
        let block = format!("```json\n{}\n```", text.trim_end());
        assert!(doc.contains(&block), "docs/events.md does not show {name} as it is");
    }
}

// ------------------------------------------------------------------------- errors

#[test]
fn not_json_is_refused() {
    let e = refused(b"ALARM HSPROD-A", reference());
    assert_eq!(e.kind(), "not_json");
    assert!(
        e.to_string()
            .starts_with("the payload is not JSON (expected value at line 1 column 1)"),
        "{e}"
    );
    assert!(
        e.to_string().ends_with("mirrorgate expects an AWS event as JSON"),
        "{e}"
    );
    assert_eq!(refused(&[0xff, 0xfe], reference()).kind(), "not_json");
    assert_eq!(refused(b"", reference()).kind(), "not_json");
}

#[test]
fn an_unrecognised_shape_says_which_shapes_are_accepted() {
    let e = refused(br#"{"hello": "world"}"#, reference());
    assert_eq!(e.kind(), "unrecognised");
    assert_eq!(
        e.to_string(),
        "unrecognised payload: a JSON object with fields hello; mirrorgate accepts a CloudWatch alarm Lambda \
         action payload (alarmData, with source aws.cloudwatch), an EventBridge event (detail-type, source, \
         detail) or an SNS event carrying CloudWatch alarm notifications (Records[].Sns)"
    );
    assert_eq!(
        refused(b"\"text\"", reference()).to_string().split(';').next(),
        Some("unrecognised payload: a JSON string")
    );
}

#[test]
fn an_eventbridge_event_mirrorgate_does_not_handle_is_named() {
    let mut event = ours_json("mirror-status-primary.json");
    event["detail-type"] = json!("Mirror Member Gossip");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e,
        DecodeError::Unsupported {
            event_source: "mirrorgate.iris".into(),
            detail_type: "Mirror Member Gossip".into()
        }
    );
    let text = e.to_string();
    assert!(
        text.starts_with(
            "EventBridge event with source \"mirrorgate.iris\" and detail-type \"Mirror Member Gossip\" is not handled"
        ),
        "{text}"
    );
    assert!(text.contains("mirrorgate.iris / Mirror Member Heartbeat"), "{text}");
}

#[test]
fn malformed_fields_are_named_with_their_path() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "mirror-status-primary.json",
            Box::new(|e| {
                e["detail"].as_object_mut().expect("detail").remove("member");
            }),
            "malformed mirror event \"Mirror Member Status\", field detail: missing field `member`",
        ),
        (
            "mirror-status-primary.json",
            Box::new(|e| e["detail"]["status"] = json!("Primray")),
            "malformed mirror event \"Mirror Member Status\": detail.status \"Primray\" is not an IRIS mirror member \
             status; expected one of Primary, Backup, Connected, In Trouble, Transition, Synchronizing, Waiting, Not \
             Initialized, Stopped, Crashed, Error, Down, Unknown (or m/n Connected)",
        ),
        (
            "mirror-heartbeat.json",
            Box::new(|e| e["detail"]["journal_latancy"] = json!({"seconds": 1})),
            "malformed mirror event \"Mirror Member Heartbeat\", field detail: unknown field `journal_latancy`, \
             expected one of `mirror`, `member`, `status`, `journal_latency`, `reason`",
        ),
        (
            "mirror-heartbeat.json",
            Box::new(|e| e["detail"]["journal_latency"]["seconds"] = json!(-2.0)),
            "malformed mirror event \"Mirror Member Heartbeat\": detail.journal_latency.seconds is -2; expected a \
             finite number of seconds, 0 or more",
        ),
        (
            "mirror-journal-latency.json",
            Box::new(|e| e["detail"]["bytes"] = json!(-1)),
            "malformed mirror event \"Mirror Journal Latency\", field detail: invalid value: integer `-1`, expected u64",
        ),
        (
            "mirror-journal-latency.json",
            Box::new(|e| {
                e.as_object_mut().expect("event").remove("time");
            }),
            "malformed mirror event \"Mirror Journal Latency\": time is missing; expected the event's RFC 3339 timestamp",
        ),
        (
            "ec2-stopped-hsprod-a.json",
            Box::new(|e| e["detail"]["state"] = json!("rebooting")),
            "malformed EventBridge \"EC2 Instance State-change Notification\" event, field detail.state: \"rebooting\" \
             is not an EC2 instance state; expected pending, running, stopping, stopped, shutting-down or terminated",
        ),
        (
            "alarm-route53-hsprod-a.json",
            Box::new(|e| {
                e["detail"]["state"].as_object_mut().expect("state").remove("value");
            }),
            "malformed EventBridge \"CloudWatch Alarm State Change\" event: detail.state.value is missing; expected \
             ALARM, OK or INSUFFICIENT_DATA",
        ),
        (
            "alarm-route53-hsprod-a.json",
            Box::new(|e| e["detail"]["state"]["value"] = json!("BROKEN")),
            "malformed EventBridge \"CloudWatch Alarm State Change\" event, field detail: unknown variant `BROKEN`, \
             expected one of `OK`, `ALARM`, `INSUFFICIENT_DATA`",
        ),
        (
            "alarm-action-instance-hsprod-a.json",
            Box::new(|e| {
                e["alarmData"].as_object_mut().expect("alarmData").remove("state");
            }),
            "malformed CloudWatch alarm Lambda action payload: alarmData.state is missing; expected the alarm's new \
             state (value, reason, timestamp)",
        ),
        (
            "alarm-action-instance-hsprod-a.json",
            Box::new(|e| e["source"] = json!("aws.ec2")),
            "malformed CloudWatch alarm Lambda action payload: source is \"aws.ec2\"; expected \"aws.cloudwatch\"",
        ),
        (
            "alarm-action-instance-hsprod-a.json",
            Box::new(|e| e["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = json!([1])),
            "malformed CloudWatch alarm Lambda action payload, field alarmData.configuration: invalid type: sequence, \
             expected a map",
        ),
        (
            "sns-alarm-hsprod-b.json",
            Box::new(|e| {
                e["Records"][0]["Sns"].as_object_mut().expect("Sns").remove("Message");
            }),
            "malformed SNS event: missing field `Message`",
        ),
    ];
    for (file, edit, expected) in cases {
        let mut event = ours_json(file);
        edit(&mut event);
        let e = refused(&to_bytes(&event), reference());
        assert_eq!(e.kind(), "malformed", "{file}: {e}");
        assert_eq!(e.to_string(), expected, "{file}");
    }
}

#[test]
fn an_sns_message_that_is_not_an_alarm_is_refused() {
    let mut event = ours_json("sns-alarm-hsprod-b.json");
    event["Records"][0]["Sns"]["Message"] = ours_json("mirror-status-primary.json").to_string().into();
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e,
        DecodeError::NotAnAlarm {
            record: 0,
            problem: "its Message has no AlarmName and NewStateValue".into()
        }
    );
    assert!(
        e.to_string()
            .contains("Subscribe this function only to the topic that receives the alarms"),
        "{e}"
    );
}

#[test]
fn an_alarm_outside_the_topology_is_named() {
    let mut event = ours_json("alarm-route53-hsprod-a.json");
    event["detail"]["alarmName"] = json!("HSPROD-C-mirror-status");
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["HealthCheckId"] =
        json!("33333333-3333-4333-8333-333333333333");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(e.kind(), "unknown_alarm");
    assert_eq!(
        e.to_string(),
        "alarm \"HSPROD-C-mirror-status\" matches no member of the topology: its dimension \
         HealthCheckId=33333333-3333-4333-8333-333333333333 is not the instance_id or health_check_id of any member, \
         and no [[mirror.alarm]] entry has its name; add the alarm to the topology (a [[mirror.alarm]] entry with \
         name = \"HSPROD-C-mirror-status\"), or the id to its member's instance_id or health_check_id"
    );
    // Unknown whatever its state: a misrouted alarm is worth knowing about.
    event["detail"]["state"]["value"] = json!("INSUFFICIENT_DATA");
    assert_eq!(refused(&to_bytes(&event), reference()).kind(), "unknown_alarm");
}

#[test]
fn an_alarm_over_two_members_is_ambiguous() {
    let mut event = ours_json("alarm-action-instance-hsprod-a.json");
    let mut second = event["alarmData"]["configuration"]["metrics"][0].clone();
    second["id"] = json!("m2");
    second["metricStat"]["metric"]["dimensions"]["InstanceId"] = json!("i-0bbbbbbbbbbbbbbb2");
    event["alarmData"]["configuration"]["metrics"]
        .as_array_mut()
        .expect("metrics")
        .push(second);
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e,
        DecodeError::AmbiguousAlarm {
            alarm: "HSPROD-A-instance-status".into(),
            members: vec!["HSPROD-A of mirror HSPROD".into(), "HSPROD-B of mirror HSPROD".into()],
        }
    );
    assert!(
        e.to_string().contains("map it by name with a [[mirror.alarm]] entry"),
        "{e}"
    );
}

#[test]
fn an_unknown_mirror_or_member_is_named() {
    let mut event = ours_json("mirror-heartbeat.json");
    event["detail"]["mirror"] = json!("HSTEST");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e,
        DecodeError::UnknownMirror {
            mirror: "HSTEST".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "mirror \"HSTEST\" is not in the topology; add it to the topology, or correct the mirror name the host sends"
    );
    let mut event = ours_json("mirror-heartbeat.json");
    event["detail"]["member"] = json!("HSPROD-DR9");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(e.kind(), "unknown_member");
    assert_eq!(
        e.to_string(),
        "member \"HSPROD-DR9\" is not a member of mirror \"HSPROD\" in the topology; add it to that mirror in the \
         topology, or correct the member name the host sends"
    );
}

#[test]
fn an_unknown_instance_is_named() {
    let mut event = ours_json("ec2-stopped-hsprod-a.json");
    event["detail"]["instance-id"] = json!("i-0fffffffffffffff9");
    let e = refused(&to_bytes(&event), reference());
    assert_eq!(
        e,
        DecodeError::UnknownInstance {
            instance_id: "i-0fffffffffffffff9".into()
        }
    );
    assert!(
        e.to_string()
            .starts_with("EC2 instance i-0fffffffffffffff9 is not the instance_id of any member"),
        "{e}"
    );
}

// ------------------------------------------------------------ properties: never panic

/// Every sample and example payload, as JSON.
fn corpus() -> &'static [Value] {
    static C: OnceLock<Vec<Value>> = OnceLock::new();
    C.get_or_init(|| {
        let mut all: Vec<Value> = [
            "example-cloudwatch-alarm-metric.json",
            "example-cloudwatch-alarm-composite.json",
            "example-cloudwatch-alarm-composite-with-suppressor-alarm.json",
            "example-cloudwatch-alarm-sns-payload-single-metric.json",
            "example-cloudwatch-alarm-sns-payload-multiple-metrics.json",
            "example-eventbridge-schedule.json",
            "example-eventbridge-event-obj.json",
            "example-sns-event.json",
        ]
        .iter()
        .map(|n| serde_json::from_slice(&sample(n)).expect("JSON"))
        .collect();
        let ours_dir = ours_path("");
        for entry in std::fs::read_dir(&ours_dir).expect("our fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                all.push(serde_json::from_slice(&std::fs::read(&path).expect("readable")).expect("JSON"));
            }
        }
        all
    })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "alarmData",
        "source",
        "detail-type",
        "detail",
        "Records",
        "Sns",
        "Message",
        "state",
        "value",
        "timestamp",
        "time",
        "id",
        "mirror",
        "member",
        "status",
        "seconds",
        "aws.cloudwatch",
        "aws.ec2",
        "aws.events",
        "mirrorgate.iris",
        "Mirror Member Status",
        "Mirror Journal Latency",
        "ALARM",
        "OK",
        "HSPROD",
        "HSPROD-A",
        "instance-id",
        "i-0aaaaaaaaaaaaaaa1",
        "2025-03-14T09:27:15.490+0000",
        "Scheduled Event",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
        words.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(prop_oneof![words.clone().prop_map(String::from), ".*"], inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every place in a JSON value, as a path of keys and indexes.
fn places(value: &Value, here: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                here.push(Value::from(k.as_str()));
                places(v, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                here.push(Value::from(i));
                places(v, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'v>(value: &'v mut Value, path: &[Value]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        Value::String(k) => v.get_mut(k.as_str()),
        Value::Number(i) => v.get_mut(i.as_u64()? as usize),
        _ => None,
    })
}

/// Replaces one place of the value (inside an SNS Message too) with `with`, or removes it.
fn mutate(mut value: Value, which: prop::sample::Index, with: Value, remove: bool) -> Value {
    let mut all = Vec::new();
    places(&value, &mut Vec::new(), &mut all);
    let path = which.get(&all).clone();
    if remove && !path.is_empty() {
        let (last, parent) = path.split_last().expect("not empty");
        if let Some(parent) = at_path(&mut value, parent) {
            match (parent, last) {
                (Value::Object(map), Value::String(k)) => {
                    map.remove(k);
                }
                (Value::Array(items), Value::Number(i)) => {
                    if let Some(i) = i.as_u64().map(|i| i as usize).filter(|i| *i < items.len()) {
                        items.remove(i);
                    }
                }
                _ => {}
            }
        }
    } else if let Some(slot) = at_path(&mut value, &path) {
        *slot = with;
    }
    value
}

fn mutate_sns_message(mut value: Value, which: prop::sample::Index, with: Value, remove: bool) -> Value {
    if let Some(slot) = value.pointer_mut("/Records/0/Sns/Message") {
        if let Some(inner) = slot.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()) {
            *slot = Value::String(mutate(inner, which, with, remove).to_string());
        }
    }
    value
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, reference());
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let _ = decode_value(&value, reference());
        let _ = decode_value(&value, samples_topology());
        let _ = decode(&to_bytes(&value), reference());
    }

    #[test]
    fn mutated_samples_never_panic(
        pick in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
        with in arb_json(),
        remove in any::<bool>(),
    ) {
        let original = pick.get(corpus()).clone();
        for mutated in [
            mutate(original.clone(), which, with.clone(), remove),
            mutate_sns_message(original, which, with, remove),
        ] {
            for topology in [reference(), samples_topology()] {
                if let Err(e) = decode_value(&mutated, topology) {
                    prop_assert!(DecodeError::KINDS.contains(&e.kind()));
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }

    #[test]
    fn byte_flipped_samples_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = to_bytes(pick.get(corpus()));
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = decode(&bytes, reference());
        let _ = decode(&bytes, samples_topology());
    }
}

// ------------------------------------------- Run Command status changes (aws.ssm)

/// The AWS documentation's "Run Command Invocation Status-change Notification" example,
/// as it is: its instance is S-DR2 of the samples topology.
#[test]
fn aws_documentation_run_command_invocation_status_decodes() {
    let signals = decoded(&ours("aws-doc-ssm-command-invocation-status.json"), samples_topology());
    assert_eq!(
        signals,
        vec![Signal {
            mirror: "SAMPLES".into(),
            id: Some("eb:4780e1b8-f56b-4de5-95f2-95db273d1602".into()),
            at: "2016-07-10T21:51:32Z".parse().expect("time"),
            kind: SignalKind::CommandStatus(CommandReport {
                member: "S-DR2".into(),
                command_id: "e8d3c0e4-71f7-4491-898f-c9b35bee5f3b".into(),
                document: "AWS-RunPowerShellScript".into(),
                status: RunStatus::Success,
                requested_at: Some("2016-07-10T21:51:30.049Z".parse().expect("time")),
                comment: None,
                output: None,
                unread: None,
            }),
        }]
    );
}

#[test]
fn a_failed_promote_command_on_dr1_decodes_for_its_member() {
    let signals = decoded(&ours("ssm-promote-failed-hsprod-dr1.json"), reference());
    let [Signal {
        mirror,
        kind: SignalKind::CommandStatus(report),
        ..
    }] = signals.as_slice()
    else {
        panic!("one command status: {signals:?}");
    };
    assert_eq!(mirror, "HSPROD");
    assert_eq!(
        (report.member.as_str(), report.document.as_str(), report.status),
        ("HSPROD-DR1", "HSPROD-PromoteDrAsync", RunStatus::Failed)
    );
}

#[test]
fn run_command_statuses_are_read_in_ssm_words_and_others_are_refused() {
    let mut event = ours_json("ssm-promote-failed-hsprod-dr1.json");
    for (word, status) in [
        ("TimedOut", RunStatus::TimedOut),
        ("Cancelled", RunStatus::Cancelled),
        ("DeliveryTimedOut", RunStatus::DeliveryTimedOut),
        ("ExecutionTimedOut", RunStatus::ExecutionTimedOut),
        ("Undeliverable", RunStatus::Undeliverable),
        ("Terminated", RunStatus::Terminated),
        ("InProgress", RunStatus::InProgress),
        ("Success", RunStatus::Success),
    ] {
        event["detail"]["status"] = json!(word);
        let signals = decoded(event.to_string().as_bytes(), reference());
        assert!(
            matches!(&signals[0].kind, SignalKind::CommandStatus(r) if r.status == status),
            "{word}: {signals:?}"
        );
    }
    event["detail"]["status"] = json!("Exploded");
    let e = refused(event.to_string().as_bytes(), reference());
    assert_eq!(e.kind(), "malformed");
    assert!(
        e.to_string().contains("\"Exploded\" is not a Run Command status"),
        "{e}"
    );
    event["detail"]["status"] = json!("Failed");
    event["detail"]["instance-id"] = json!("i-0fffffffffffffff9");
    assert_eq!(
        refused(event.to_string().as_bytes(), reference()).kind(),
        "unknown_instance"
    );
}
