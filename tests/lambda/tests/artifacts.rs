//! Each Lambda function tested as a deployed artifact: its built binary
//! (`target/debug/<name>`) runs against a local Lambda Runtime API
//! (`mirrorgate_lambda_tests::RuntimeApi`) with real-shaped AWS payloads
//! (tests/fixtures/events, examples/scenarios) and the AWS emulator (`scripts/emulator
//! up`). Every test checks the function's answer and then what it did in the emulator:
//! the state item in DynamoDB, the alerts SNS received, the SSM commands, the events on
//! the bus, the heartbeat metric.
//!
//! Each test works on a mirror of its own (the reference topology with HSPROD renamed),
//! so the tests share the emulator's table safely and run in parallel.

mod support;

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use mirrorgate_lambda_tests::{RuntimeApi, EXIT_ERROR};
use serde_json::{json, Value};
use support::*;

const REJECTED: &str = "Mirrorgate.Rejected";
const RETRYABLE: &str = "Mirrorgate.Retryable";

/// The answer of an ingesting function: one entry per signal, for `mirror`.
fn assert_handled(answer: &Value, mirror: &str, signals: usize) {
    let handled = answer["handled"]
        .as_array()
        .unwrap_or_else(|| panic!("no `handled` in {answer}"));
    assert_eq!(handled.len(), signals, "{answer}");
    for h in handled {
        assert_eq!(h["mirror"], mirror, "{answer}");
        assert_eq!(h["verdict"]["verdict"], "applied", "{answer}");
    }
}

fn member<'a>(state: &'a Value, mirror: &str, suffix: &str) -> &'a Value {
    let name = format!("{mirror}-{suffix}");
    let m = &state["members"][&name];
    assert!(m.is_object(), "no member {name} in the state: {state}");
    m
}

/// The observation one observer holds of a member.
fn assert_observation(state: &Value, mirror: &str, suffix: &str, observer: &str, healthy: bool, at: &str) {
    let o = &member(state, mirror, suffix)["observations"][observer];
    assert_eq!(o["healthy"], healthy, "{observer} of {suffix}: {o}");
    assert_eq!(
        parse_time(o["at"].as_str().unwrap_or_default()),
        parse_time(at),
        "{observer} of {suffix}: {o}"
    );
    assert!(!o["source"].as_str().unwrap_or_default().is_empty(), "{o}");
}

/// The scenario's instants move to the wall clock in the formats AWS wrote them in;
/// CloudWatch's own day/month/year words are left alone.
#[test]
fn instants_move_in_their_own_formats() {
    let text = r#"{"at":"2026-11-25T03:00:00Z","t":"2026-11-25T03:02:10.000+0000","u":"2025-03-14T09:26:40.985+00:00","r":"[0.0 (14/03/25 09:26:00)]","n":"2026-11-25T03:00:00"}"#;
    let moved = shift_instants(text, chrono::Duration::seconds(3661));
    assert_eq!(
        moved,
        r#"{"at":"2026-11-25T04:01:01Z","t":"2026-11-25T04:03:11.000+0000","u":"2025-03-14T10:27:41.985+00:00","r":"[0.0 (14/03/25 09:26:00)]","n":"2026-11-25T03:00:00"}"#
    );
}

// ------------------------------------------------------------------ alarm-ingest

/// GIVEN a CloudWatch alarm in one of the shapes AWS delivers it WHEN alarm-ingest
/// is invoked THEN it answers the mirror's verdict and the state item holds the
/// member's observation.
async fn an_alarm_is_recorded(fixture: &str, suffix: &str, observer: &str, healthy: bool, at: &str) {
    let aws = aws().await;
    let mirror = unique("AI");
    let function = Lambda::start("alarm-ingest", &topology(&mirror), &[]).await;
    assert_eq!(state(&aws, &mirror).await, None, "a fresh mirror");

    let answer = function.ok(&event(fixture, &mirror)).await;
    assert_handled(&answer, &mirror, 1);

    let state = state(&aws, &mirror).await.expect("the state item was written");
    assert_eq!(state["mirror"], mirror.as_str());
    assert_observation(&state, &mirror, suffix, observer, healthy, at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_ingest_records_an_eventbridge_alarm_as_a_route53_observation() {
    an_alarm_is_recorded(
        "alarm-route53-hsprod-a.json",
        "A",
        "route53",
        false,
        "2025-03-14T09:26:40.989Z",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_ingest_records_an_alarm_lambda_action_as_an_instance_observation() {
    an_alarm_is_recorded(
        "alarm-action-instance-hsprod-a.json",
        "A",
        "instance",
        false,
        "2025-03-14T09:27:15.490Z",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_ingest_records_an_sns_wrapped_alarm_as_an_instance_observation() {
    an_alarm_is_recorded(
        "sns-alarm-hsprod-b.json",
        "B",
        "instance",
        true,
        "2025-03-14T09:29:12.123Z",
    )
    .await;
}

/// GIVEN a mirror with a state WHEN alarm-ingest gets payloads it cannot use (a broken
/// alarm, an alarm of no member, an SQS event) THEN each is reported through
/// `/invocation/{id}/error` as `Mirrorgate.Rejected` (so Lambda sends it to the
/// dead-letter queue), counted in the metrics line, the state is unchanged, and the
/// next good event is handled by the same process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_ingest_rejects_unusable_payloads_and_changes_nothing() {
    let aws = aws().await;
    let mirror = unique("RJ");
    let function = Lambda::start("alarm-ingest", &topology(&mirror), &[]).await;
    function.ok(&event("alarm-route53-hsprod-a.json", &mirror)).await;
    let before = state(&aws, &mirror).await.expect("the state item");

    let mut broken = event("alarm-route53-hsprod-a.json", &mirror);
    broken["detail"].as_object_mut().expect("detail").remove("state");
    let no_member = event("aws-doc-alarm-state-change-single-metric.json", &mirror);
    let sqs = crate_sample("example-sqs-event.json");
    for (what, payload, says) in [
        ("an alarm without its state", &broken, "state"),
        ("an alarm of no member", &no_member, "ServerCpuTooHigh"),
        ("an SQS event", &sqs, "no Sns field"),
    ] {
        let diag = function.error(payload).await;
        assert_eq!(diag.error_type, REJECTED, "{what}: {diag}");
        assert_eq!(diag.phase, "invocation", "{what}: posted to /invocation/{{id}}/error");
        assert!(
            diag.header_error_type.is_some(),
            "{what}: the runtime names an error type: {diag}"
        );
        assert!(diag.error_message.contains(says), "{what}: {diag}");
    }
    assert_eq!(state(&aws, &mirror).await, Some(before.clone()), "no state change");

    let rejected = function
        .process
        .stdout()
        .lines()
        .filter(|l| l.contains("\"SignalsRejected\":1"))
        .count();
    assert_eq!(
        rejected,
        3,
        "one metrics line per rejected payload:\n{}",
        function.process.stdout()
    );

    function.ok(&event("sns-alarm-hsprod-b.json", &mirror)).await;
    let after = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(after["version"], before["version"].as_u64().expect("version") + 1);
    let timings = function.api.timings();
    assert_eq!(timings.invocations.len(), 5, "every invocation was answered");
}

/// GIVEN the table cannot be reached WHEN alarm-ingest gets a good alarm THEN it
/// reports `Mirrorgate.Retryable`, so Lambda retries the event instead of dropping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_ingest_reports_a_store_failure_as_retryable() {
    let mirror = unique("RT");
    let missing = unique("no-such-table-");
    let function = Lambda::start(
        "alarm-ingest",
        &topology(&mirror),
        &[("MIRRORGATE_TABLE", &missing), ("MIRRORGATE_MAX_ATTEMPTS", "1")],
    )
    .await;
    let diag = function.error(&event("alarm-route53-hsprod-a.json", &mirror)).await;
    assert_eq!(diag.error_type, RETRYABLE, "{diag}");
    assert!(diag.error_message.contains("DynamoDB"), "{diag}");
}

/// GIVEN no topology in the environment WHEN a function starts THEN it exits before
/// asking for an event (Lambda reports Runtime.ExitError) and its output names the
/// missing variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_its_topology_stops_at_init_and_names_the_variable() {
    let api = RuntimeApi::start().await.expect("the local Runtime API");
    let process = api
        .spawn_function(
            &binary("alarm-ingest"),
            [
                ("AWS_REGION", env("AWS_REGION")),
                ("AWS_ENDPOINT_URL", endpoint()),
                ("MIRRORGATE_TABLE", env("MIRRORGATE_TABLE")),
                ("MIRRORGATE_TOPIC_ARN", env("MIRRORGATE_TOPIC_ARN")),
            ],
        )
        .expect("spawn");
    let diag = api
        .wait_until_ready(Duration::from_secs(20))
        .await
        .expect_err("no topology, no start");
    assert_eq!(diag.error_type, EXIT_ERROR, "{diag}");
    assert!(
        diag.error_message.contains("MIRRORGATE_TOPOLOGY"),
        "the output should name MIRRORGATE_TOPOLOGY: {diag}\n{}",
        process.output()
    );
}

// ------------------------------------------------------------------ mirror-events

/// GIVEN a member's role change and a heartbeat with journal latency (mirrorgate's own
/// EventBridge events) and an EC2 state change WHEN mirror-events is invoked with each
/// THEN each is recorded, and the EventBridge ids are kept against duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_events_records_a_role_change_and_an_instance_stop() {
    let aws = aws().await;
    let mirror = unique("ME");
    let function = Lambda::start("mirror-events", &topology(&mirror), &[]).await;

    let answer = function.ok(&event("mirror-status-primary.json", &mirror)).await;
    assert_handled(&answer, &mirror, 1);
    let answer = function.ok(&event("ec2-stopped-hsprod-a.json", &mirror)).await;
    assert_handled(&answer, &mirror, 1);
    let answer = function.ok(&event("mirror-heartbeat.json", &mirror)).await;
    assert_handled(&answer, &mirror, 1);

    let state = state(&aws, &mirror).await.expect("the state item");
    let b = member(&state, &mirror, "B");
    assert_eq!(b["status"][0], "Primary", "{b}");
    assert_eq!(
        parse_time(b["status"][1].as_str().unwrap_or_default()),
        parse_time("2025-03-14T09:28:02Z")
    );
    assert_observation(&state, &mirror, "A", "instance", false, "2025-03-14T09:27:31Z");
    let dr1 = member(&state, &mirror, "DR1");
    assert_eq!(dr1["journal_latency"]["seconds"], 1.8, "{dr1}");
    let seen = state["seen"].as_array().expect("seen ids");
    for id in [
        "eb:0d6a2d0e-1f5e-4a4e-9f3e-6c1c3b2a9d01",
        "eb:9e4b7c21-3d5f-4a8e-b0c2-6f1d2e3a4b5c",
    ] {
        assert!(
            seen.contains(&json!(id)),
            "{id} is remembered against duplicates: {state}"
        );
    }
}

// ------------------------------------------------------------------ health-poll

/// GIVEN a deployment (a table of its own) WHEN health-poll runs on the schedule event
/// THEN the topology's mirror gets a tick, and each run puts one datum of the
/// control plane's heartbeat metric, read back from CloudWatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_ticks_the_mirror_and_beats_the_heartbeat_metric() {
    use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Statistic};
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let aws = aws().await;
    let table = unique("mirrorgate-hb-");
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    aws_sdk_dynamodb::Client::new(&aws)
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");

    let mirror = unique("HP");
    let function = Lambda::start("health-poll", &topology(&mirror), &[("MIRRORGATE_TABLE", &table)]).await;
    let started = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(1);

    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws);
    let to_aws = |t: chrono::DateTime<Utc>| aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp());
    for run in 1..=2 {
        let answer = function.ok(&schedule_event(Utc::now())).await;
        assert_handled(&answer, &mirror, 1);

        let listed = cloudwatch
            .list_metrics()
            .namespace("mirrorgate")
            .metric_name("ControlPlaneHeartbeat")
            .dimensions(DimensionFilter::builder().name("Deployment").value(&table).build())
            .send()
            .await
            .expect("ListMetrics");
        assert_eq!(listed.metrics().len(), 1, "{:?}", listed.metrics());
        let stats = cloudwatch
            .get_metric_statistics()
            .namespace("mirrorgate")
            .metric_name("ControlPlaneHeartbeat")
            .dimensions(Dimension::builder().name("Deployment").value(&table).build())
            .start_time(to_aws(started - chrono::Duration::minutes(5)))
            .end_time(to_aws(Utc::now() + chrono::Duration::minutes(5)))
            .period(600)
            .statistics(Statistic::SampleCount)
            .statistics(Statistic::Sum)
            .send()
            .await
            .expect("GetMetricStatistics");
        let count: f64 = stats.datapoints().iter().filter_map(|d| d.sample_count()).sum();
        let sum: f64 = stats.datapoints().iter().filter_map(|d| d.sum()).sum();
        assert_eq!(
            (count, sum),
            (f64::from(run), f64::from(run)),
            "{:?}",
            stats.datapoints()
        );
    }
    let log = function.process.stdout();
    assert!(
        log.contains("Route 53 health poll failed"),
        "the emulator has none of the topology's health checks, and the poll says so without stopping the ticks:\n{log}"
    );
}

// ------------------------------------------------------------------ across the functions

/// The region-outage scenario (examples/scenarios/region-outage.jsonl: the primary
/// region goes silent) through the deployed functions: alarm-ingest and mirror-events
/// take its events (mirror-events also its probe results, which health-poll makes in
/// AWS), health-poll its ticks and raises the promotion request (a critical SNS alert
/// with the link),
/// approval-api serves the link (a function URL request: GET shows, POST approves) and
/// hands the promotion to the bus, promotion-executor runs it once (SSM) however often
/// the event is delivered, and mirror-events sees the candidate become primary.
///
/// The functions decide on the wall clock, so the scenario is moved to now: its lines
/// up to the approval are shifted to end a second ago and replayed in a few seconds.
/// Because of that compression the test topology confirms a loss after 1 s instead of
/// 180 s, and counts a member silent, and evidence old, after 15 minutes instead of 3
/// (the scenario's nine minutes pass in seconds here, so its heartbeats and probes would
/// all look stale at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_outage_runs_across_the_functions_from_the_silence_to_one_promotion() {
    let aws = aws().await;
    let mirror = unique("RO");
    let topology = with_policy(
        &with_policy(
            &with_policy(&topology(&mirror), "confirmation_window_secs", 1),
            "heartbeat_stale_secs",
            900,
        ),
        "evidence_fresh_secs",
        900,
    );
    let alarms = Lambda::start("alarm-ingest", &topology, &[]).await;
    let events = Lambda::start("mirror-events", &topology, &[]).await;
    let poll = Lambda::start("health-poll", &topology, &[]).await;
    let approval = Lambda::start("approval-api", &topology, &[]).await;
    let executor = Lambda::start("promotion-executor", &topology, &[]).await;

    let lines: Vec<Value> = read("examples/scenarios/region-outage.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(&rename(l, &mirror)).expect("a scenario line"))
        .collect();
    let approve = lines
        .iter()
        .position(|l| l.get("approve").is_some())
        .expect("the scenario approves");
    let at = |line: &Value| parse_time(line["at"].as_str().expect("at"));
    let shifted = |line: &Value, by: chrono::Duration| -> Value {
        serde_json::from_str(&shift_instants(&line.to_string(), by)).expect("a shifted line")
    };
    let replay = |line: Value| {
        let (alarms, events, poll) = (&alarms, &events, &poll);
        async move {
            if line.get("tick").is_some() {
                return ("health-poll", poll.ok(&schedule_event(at(&line))).await);
            }
            let event = &line["event"];
            match event["source"].as_str() {
                Some("aws.cloudwatch") => ("alarm-ingest", alarms.ok(event).await),
                Some("mirrorgate.iris" | "mirrorgate.probe") => ("mirror-events", events.ok(event).await),
                other => panic!("no function takes {other:?}: {line}"),
            }
        }
    };

    // 1. The outage, up to the request.
    let by = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(1) - at(&lines[approve - 1]);
    let mut phase_before_first_tick = Value::Null;
    for line in &lines[..approve] {
        if line.get("tick").is_some() && phase_before_first_tick.is_null() {
            let s = state(&aws, &mirror).await.expect("the state item");
            phase_before_first_tick = s["phase"].clone();
            tokio::time::sleep(Duration::from_millis(1200)).await; // the 1 s confirmation window
            let (_, answer) = replay(shifted(line, by)).await;
            assert_handled(&answer, &mirror, 1);
            let s = state(&aws, &mirror).await.expect("the state item");
            assert_eq!(s["phase"], "promotion_pending", "health-poll raised the request: {s}");
            continue;
        }
        let (function, answer) = replay(shifted(line, by)).await;
        assert!(answer["handled"].is_array(), "{function}: {answer}");
    }
    assert_eq!(phase_before_first_tick, "primary_lost", "the loss was being confirmed");

    let s = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(s["phase"], "promotion_pending", "{s}");
    let request = s["requests"]
        .as_array()
        .and_then(|r| r.last())
        .expect("a request")
        .clone();
    let request_id = request["id"].as_str().expect("request id").to_string();
    assert_eq!(request["status"], "open");
    assert_eq!(
        request["candidate"],
        format!("{mirror}-DR1"),
        "the DR member with the lowest latency"
    );

    let alerts = published(&mirror).await;
    let kinds: Vec<&str> = alerts.iter().map(|a| a.attribute("kind")).collect();
    assert_eq!(
        kinds,
        ["primary_lost", "promotion_requested"],
        "one alert per transition"
    );
    let requested = &alerts[1];
    assert_eq!(requested.attribute("severity"), "critical");
    assert_eq!(requested.attribute("mirror"), mirror);
    let email = requested.message["email"].as_str().expect("an email text");
    let link = email
        .split_whitespace()
        .find(|w| w.starts_with(&format!("https://{URL_HOST}/a/")))
        .unwrap_or_else(|| panic!("the email carries the approval link: {email}"));
    let sms = requested.message["sms"].as_str().expect("an SMS text");
    assert!(
        sms.len() <= 160 && sms.is_ascii() && sms.starts_with("CRITICAL "),
        "one plain SMS: {sms}"
    );
    assert!(
        sms.ends_with(&format!(" {link}")),
        "the SMS carries the whole link {link}: {sms}"
    );
    let path = link.trim_start_matches(&format!("https://{URL_HOST}"));

    // 2. The approval page through the function URL: GET shows, POST decides.
    let version = s["version"].clone();
    let page = approval.ok(&url_request("GET", path, None)).await;
    assert_eq!(page["statusCode"], 200, "{page}");
    let html = page["body"].as_str().unwrap_or_default();
    assert!(html.contains(&mirror) && html.contains("Approve promotion"), "{html}");
    assert_eq!(
        state(&aws, &mirror).await.expect("state")["version"],
        version,
        "a GET decides nothing"
    );

    let form = [
        ("approver", "Dana Whitfield"),
        ("confirm", mirror.as_str()),
        ("decision", "approve"),
    ];
    let decided = approval.ok(&url_request("POST", path, Some(&form))).await;
    assert_eq!(decided["statusCode"], 200, "{decided}");
    let html = decided["body"].as_str().unwrap_or_default();
    assert!(html.contains("Promotion approved"), "{html}");

    let s = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(s["phase"], "promoting", "{s}");
    let request = s["requests"].as_array().and_then(|r| r.last()).expect("the request");
    assert_eq!(request["status"], "approved");
    assert_eq!(
        request["started_at"],
        Value::Null,
        "not run yet: handed to the executor"
    );
    let decision = &request["decisions"][0];
    assert_eq!(decision["by"], "Dana Whitfield");
    assert_eq!(decision["source_ip"], SOURCE_IP);

    let handed: Vec<Value> = archived_events(&mirror)
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "PromotionApproved")
        .collect();
    assert_eq!(handed.len(), 1, "one hand-off: {handed:?}");
    assert_eq!(handed[0]["source"], "mirrorgate");
    assert_eq!(handed[0]["detail"]["request"], request_id.as_str());
    assert_eq!(handed[0]["detail"]["candidate"], format!("{mirror}-DR1"));

    // 3. The executor runs it once, however often the event arrives.
    let order = delivered(&handed[0]);
    let ran = executor.ok(&order).await;
    assert_eq!(ran["executed"], true, "{ran}");
    assert_eq!(ran["request"], request_id.as_str());

    let sent = commands(&aws, &mirror).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let command = &sent[0];
    assert_eq!(command.document_name(), Some(REFERENCE_DOCUMENT));
    assert_eq!(command.instance_ids(), ["i-0ddddddddddddddd4".to_string()]);
    let parameters = command.parameters().expect("parameters");
    assert_eq!(parameters["Instance"], std::slice::from_ref(&mirror));
    assert_eq!(parameters["Method"], ["PromoteWithNoPartner".to_string()]);
    assert!(command.comment().unwrap_or_default().contains(&request_id));

    let s = state(&aws, &mirror).await.expect("the state item");
    let request = s["requests"]
        .as_array()
        .and_then(|r| r.last())
        .expect("the request")
        .clone();
    assert!(request["started_at"].is_string(), "the request was started: {request}");

    let again = executor.ok(&order).await;
    assert_eq!(again["executed"], false, "a second delivery runs nothing: {again}");
    assert_eq!(commands(&aws, &mirror).await.len(), 1, "still one SSM command");
    let s = state(&aws, &mirror).await.expect("the state item");
    let last = s["requests"].as_array().and_then(|r| r.last()).expect("the request");
    assert_eq!(last["started_at"], request["started_at"]);

    let bus: Vec<String> = archived_events(&mirror)
        .await
        .iter()
        .filter_map(|e| e["detail-type"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        bus,
        ["PromotionApproved", "PromotionExecuted"],
        "the site's automation hears each once"
    );

    // 4. The rest of the scenario: the candidate reports primary.
    let after = &lines[approve + 1..];
    let by = Utc::now().trunc_subsecs(0) - at(&after[0]);
    for line in after {
        replay(shifted(line, by)).await;
    }
    let s = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(s["phase"], "dr_active", "{s}");
    assert_eq!(s["primary"], format!("{mirror}-DR1"));
    let kinds: Vec<String> = published(&mirror)
        .await
        .iter()
        .map(|a| a.attribute("kind").to_string())
        .collect();
    assert!(kinds.contains(&"promotion_succeeded".to_string()), "{kinds:?}");

    for function in [&alarms, &events, &poll, &approval, &executor] {
        let t = function.api.timings();
        let latencies: Vec<u128> = t.latencies().iter().map(Duration::as_millis).collect();
        eprintln!(
            "{}: init {} ms, {} invocations, latency ms {latencies:?}, peak RSS {} KiB",
            function.name,
            t.init().unwrap_or_default().as_millis(),
            latencies.len(),
            function.process.peak_rss_kib().unwrap_or_default()
        );
    }
}
