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

/// The answer of an ingesting function to a set-up event: one signal, stored. On a
/// loaded machine the store's write can outlast the SDK's attempt time-out and be sent
/// again after it was applied: the engine then answers `duplicate`, and the signal is
/// stored all the same (what the test reads back afterwards shows it).
fn assert_stored(answer: &Value, mirror: &str) {
    let handled = answer["handled"]
        .as_array()
        .unwrap_or_else(|| panic!("no `handled` in {answer}"));
    assert_eq!(handled.len(), 1, "{answer}");
    assert_eq!(handled[0]["mirror"], mirror, "{answer}");
    let verdict = handled[0]["verdict"]["verdict"].as_str().unwrap_or_default();
    assert!(matches!(verdict, "applied" | "duplicate"), "{answer}");
}

fn member<'a>(state: &'a Value, mirror: &str, suffix: &str) -> &'a Value {
    let name = format!("{mirror}-{suffix}");
    let m = &state["members"][&name];
    assert!(m.is_object(), "no member {name} in the state: {state}");
    m
}

/// The observation one observer holds of a member.
fn member_fenced(state: &Value, mirror: &str, suffix: &str) -> bool {
    state["members"][format!("{mirror}-{suffix}")]["fenced"].is_object()
}

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

/// The topology text without its comments (a standard parameter holds 4 KB).
fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// GIVEN the topology in Parameter Store, one parameter per mirror under the stack's
/// path, and no MIRRORGATE_TOPOLOGY WHEN alarm-ingest starts (with the template's
/// allowed document and bus) THEN it reads the path and handles the mirror's alarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_started_with_its_topology_in_parameter_store_handles_its_mirrors() {
    let aws = aws().await;
    let mirror = unique("PS");
    let path = format!("/mirrorgate/{}/mirrors", unique("stack"));
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name(format!("{path}/{mirror}"))
        .value(without_comments(&topology(&mirror)))
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("PutParameter");
    let function = Lambda::start(
        "alarm-ingest",
        "",
        &[
            ("MIRRORGATE_TOPOLOGY", ""),
            ("MIRRORGATE_TOPOLOGY_PATH", &path),
            ("MIRRORGATE_ALLOWED_SSM_DOCUMENTS", REFERENCE_DOCUMENT),
        ],
    )
    .await;
    let answer = function.ok(&event("alarm-route53-hsprod-a.json", &mirror)).await;
    assert_handled(&answer, &mirror, 1);
    let output = function.process.output();
    assert!(output.contains("topology read from Parameter Store"), "{output}");
}

/// Starts `name` with the emulator's settings and `vars`, and returns why it did
/// not start (it must not).
async fn refused(name: &str, vars: &[(&str, String)]) -> (mirrorgate_lambda_tests::Diag, String) {
    let api = RuntimeApi::start().await.expect("the local Runtime API");
    let mut env: Vec<(String, String)> = vec![
        ("AWS_ACCESS_KEY_ID".into(), env("AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY".into(), env("AWS_SECRET_ACCESS_KEY")),
        ("AWS_REGION".into(), env("AWS_REGION")),
        ("AWS_ENDPOINT_URL".into(), endpoint()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("MIRRORGATE_TABLE".into(), env("MIRRORGATE_TABLE")),
        ("MIRRORGATE_TOPIC_ARN".into(), env("MIRRORGATE_TOPIC_ARN")),
        ("MIRRORGATE_EVENT_BUS".into(), "default".into()),
    ];
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let process = api.spawn_function(&binary(name), env).expect("spawn");
    let diag = api
        .wait_until_ready(Duration::from_secs(20))
        .await
        .expect_err("a misconfigured function must not start");
    assert_eq!(diag.error_type, EXIT_ERROR, "{diag}");
    let output = process.output();
    assert!(
        output.contains("mirrorgate cannot start"),
        "the start-refused alarm counts this line: {output}"
    );
    (diag, output)
}

/// GIVEN a topology whose promotion names another SSM document and another bus than
/// the stack's role allows, or whose candidates are in another region than the
/// stack's, or both topology variables WHEN a function starts THEN it exits at init
/// (Lambda reports Runtime.ExitError) with a message that names what to fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_refuses_to_start_when_the_stack_cannot_do_what_the_topology_asks() {
    let mirror = unique("MC");
    let (diag, _) = refused(
        "promotion-executor",
        &[
            ("MIRRORGATE_TOPOLOGY", topology(&mirror)),
            ("MIRRORGATE_ALLOWED_SSM_DOCUMENTS", "Site-Promote".into()),
            ("MIRRORGATE_EVENT_BUS", "mirrorgate-bus".into()),
        ],
    )
    .await;
    let message = &diag.error_message;
    assert!(
        message.contains(&format!(
            "mirror {mirror}: promotion.ssm_document {REFERENCE_DOCUMENT} is not a document this stack may run (Site-Promote)"
        )) && message.contains(&format!("PromoteDocumentName={REFERENCE_DOCUMENT}")),
        "{diag}"
    );
    assert!(
        message.contains("promotion.event_bus default is not the bus") && message.contains("EventBusName=default"),
        "{diag}"
    );

    let (diag, _) = refused(
        "alarm-ingest",
        &[
            ("MIRRORGATE_TOPOLOGY", topology(&mirror)),
            ("AWS_REGION", "eu-west-1".into()),
        ],
    )
    .await;
    assert!(
        diag.error_message.contains(&format!(
            "member {mirror}-DR1 is a promotion candidate in us-west-2, but this stack runs in eu-west-1"
        )) && diag.error_message.contains("deploy mirrorgate in us-west-2"),
        "{diag}"
    );

    let (diag, _) = refused(
        "mirror-events",
        &[
            ("MIRRORGATE_TOPOLOGY", topology(&mirror)),
            ("MIRRORGATE_TOPOLOGY_PATH", "/mirrorgate/x/mirrors".into()),
        ],
    )
    .await;
    assert!(
        diag.error_message
            .contains("both MIRRORGATE_TOPOLOGY and MIRRORGATE_TOPOLOGY_PATH are set"),
        "{diag}"
    );
}

/// GIVEN a member whose health check is a CALCULATED one WHEN health-poll starts
/// THEN it refuses, naming the member and the check; a topology path with nothing
/// under it refuses too, saying how to push the topology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_refuses_a_calculated_health_check_and_an_empty_parameter_path() {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let aws = aws().await;
    let calculated = aws_sdk_route53::Client::new(&aws)
        .create_health_check()
        .caller_reference(unique("calc"))
        .health_check_config(
            HealthCheckConfig::builder()
                .r#type(HealthCheckType::Calculated)
                .health_threshold(1)
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("CreateHealthCheck")
        .health_check()
        .map(|h| h.id().to_string())
        .expect("an id");
    let mirror = unique("HC");
    let text = topology(&mirror).replace("11111111-1111-4111-8111-111111111111", &calculated);
    let (diag, _) = refused("health-poll", &[("MIRRORGATE_TOPOLOGY", text)]).await;
    assert!(
        diag.error_message.contains(&format!(
            "mirror {mirror}: member {mirror}-A health_check_id {calculated} is a CALCULATED health check"
        )),
        "{diag}"
    );

    let (diag, _) = refused(
        "alarm-ingest",
        &[(
            "MIRRORGATE_TOPOLOGY_PATH",
            format!("/mirrorgate/{}/mirrors", unique("empty")),
        )],
    )
    .await;
    assert!(
        diag.error_message.contains("no parameter holds a mirror here")
            && diag
                .error_message
                .contains("mirrorgate --backend aws topology push FILE"),
        "{diag}"
    );
}

/// GIVEN a site of 200 mirrors (800 members, 800 Route 53 health checks) pushed to
/// Parameter Store, one parameter per mirror WHEN health-poll starts from the path and
/// runs on the schedule THEN it starts (20 pages read), ticks every mirror, reads the
/// health checks at Route 53's rate within its 25 s budget and names the rest, and the
/// run ends within the function's 55 s timeout. The figures go to docs/PERFORMANCE.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_of_200_mirrors_from_parameter_store_is_polled_within_the_budget() {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let aws = aws().await;
    let route53 = aws_sdk_route53::Client::new(&aws);
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let path = format!("/mirrorgate/{}/mirrors", unique("site"));
    let site = unique("S");
    let fixed_checks = [
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        "44444444-4444-4444-8444-444444444444",
        "55555555-5555-4555-8555-555555555555",
    ];
    let fixed_instances = [
        "i-0aaaaaaaaaaaaaaa1",
        "i-0bbbbbbbbbbbbbbb2",
        "i-0ccccccccccccccc3",
        "i-0ddddddddddddddd4",
        "i-0eeeeeeeeeeeeeee5",
    ];
    let prepared = std::time::Instant::now();
    let mut names = Vec::new();
    let mut created = Vec::new();
    for k in 0..200u32 {
        let mirror = format!("{site}M{k:03}");
        let mut text = without_comments(&topology(&mirror));
        for (n, fixed) in fixed_instances.iter().enumerate() {
            text = text.replace(fixed, &format!("i-0{:08x}{:07x}{}", k, 0, n + 1));
        }
        for fixed in fixed_checks {
            let id = route53
                .create_health_check()
                .caller_reference(unique("site-hc"))
                .health_check_config(
                    HealthCheckConfig::builder()
                        .r#type(HealthCheckType::Https)
                        .fully_qualified_domain_name("member.example.org")
                        .resource_path("/csp/user/mirror_status.cxw")
                        .port(443)
                        .build()
                        .expect("config"),
                )
                .send()
                .await
                .expect("CreateHealthCheck")
                .health_check()
                .map(|h| h.id().to_string())
                .expect("an id");
            text = text.replace(fixed, &id);
            created.push(id);
        }
        ssm.put_parameter()
            .name(format!("{path}/{mirror}"))
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("PutParameter");
        names.push(mirror);
    }
    eprintln!(
        "site of 200 mirrors prepared in {:.1} s",
        prepared.elapsed().as_secs_f64()
    );

    // Its 200 state items in a table of their own, deleted at the end: moto copies the
    // tables for each transaction, so they must not outlive the test.
    let table = own_table(&aws, "mirrorgate-site-").await;
    let function = Lambda::start(
        "health-poll",
        "",
        &[
            ("MIRRORGATE_TOPOLOGY", ""),
            ("MIRRORGATE_TOPOLOGY_PATH", &path),
            ("MIRRORGATE_TABLE", &table),
        ],
    )
    .await;
    let init = function.api.timings().init().unwrap_or_default();
    let started = std::time::Instant::now();
    let answer = function
        .api
        .invoke_with_timeout(&schedule_event(Utc::now()), Duration::from_secs(55))
        .await
        .unwrap_or_else(|diag| panic!("health-poll failed: {diag}\n{}", function.process.output()));
    let took = started.elapsed();
    let handled = answer["handled"].as_array().expect("handled");
    for name in &names {
        assert!(
            handled.iter().any(|h| h["mirror"] == json!(name)),
            "{name} was not ticked"
        );
    }
    let log = function.process.stdout();
    assert!(
        log.contains("\"mirrors\":200"),
        "the topology of 200 mirrors was read:\n{log}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("Route 53 health checks not read within the budget"))
        .unwrap_or_else(|| panic!("800 checks cannot all be read at 1 a second in 25 s:\n{log}"));
    let warning: Value = serde_json::from_str(line).expect("a JSON log line");
    let read = warning["fields"]["read"].as_u64().expect("read");
    let unread = warning["fields"]["unread"].as_u64().expect("unread");
    assert_eq!(warning["fields"]["checks"], json!(800), "{line}");
    assert!((20..=32).contains(&read), "3 at once then 1 a second for 25 s: {line}");
    assert_eq!(
        read + unread + warning["fields"]["failed"].as_u64().unwrap_or(0),
        800,
        "{line}"
    );
    assert!(took < Duration::from_secs(55), "the run took {took:?}");
    // The 800 health checks go again: every later health-poll start lists them.
    for id in &created {
        route53
            .delete_health_check()
            .health_check_id(id)
            .send()
            .await
            .expect("DeleteHealthCheck");
    }
    // And its table: moto copies every table of the region for each transaction, so
    // 200 state items left behind would slow every later test's writes.
    aws_sdk_dynamodb::Client::new(&aws)
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("DeleteTable");
    eprintln!(
        "200 mirrors / 800 health checks: init {} ms (20 pages of GetParametersByPath), schedule run {:.1} s, \
         {read} health checks read, {unread} left for the next minutes",
        init.as_millis(),
        took.as_secs_f64()
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
        log.contains("no Route 53 health check could be read this minute") && log.contains("NoSuchHealthCheck"),
        "the emulator has none of the topology's health checks, and the poll says so without stopping the ticks:\n{log}"
    );
    assert!(
        log.contains("a member's health check does not exist; starting all the same"),
        "the start check warns about them and starts:\n{log}"
    );
}

/// The probe's timeout and budget in `health-poll` (shared::handlers::health_poll and
/// shared::adapters::probe): what the tests below hold the function to.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
const PROBE_BUDGET: Duration = Duration::from_secs(10);
const ALARMS_BUDGET: Duration = Duration::from_secs(10);

/// The probe observation of a member: its health and its source.
fn probe_of(state: &Value, mirror: &str, suffix: &str) -> (bool, String) {
    let o = &member(state, mirror, suffix)["observations"]["probe"];
    assert!(o.is_object(), "no probe observation of {suffix}: {state}");
    (
        o["healthy"].as_bool().expect("healthy"),
        o["source"].as_str().unwrap_or_default().to_string(),
    )
}

/// GIVEN members whose `mirror_status.cxw` (local servers) answers 200 SUCCESS, answers
/// 503 FAILED, hangs, or refuses the connection WHEN health-poll runs on the schedule
/// THEN each member has the probe's observation in the state item (healthy only for
/// SUCCESS, each with what happened), the hung member cost the probe's timeout and no
/// more, and each result is in the log as its `Mirror Status Probe` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_probes_every_member_and_keeps_what_each_answered() {
    let aws = aws().await;
    let mirror = unique("PR");
    let primary = StatusServer::start(StatusPage::Answers(PRIMARY_PAGE));
    let backup = StatusServer::start(StatusPage::Answers(NOT_PRIMARY_PAGE));
    let hung = StatusServer::start(StatusPage::Hangs);
    let refused = refusing_url();
    let topology = with_status_urls(
        &topology(&mirror),
        &mirror,
        &[
            ("A", &primary.url()),
            ("B", &backup.url()),
            ("DR1", &hung.url()),
            ("DR2", &refused),
        ],
    );
    let function = Lambda::start("health-poll", &topology, &[]).await;

    let started = std::time::Instant::now();
    let answer = function.ok(&schedule_event(Utc::now())).await;
    let took = started.elapsed();
    assert_handled(&answer, &mirror, 5);
    assert!(
        took >= PROBE_TIMEOUT && took < PROBE_BUDGET,
        "the hung member costs the probe's timeout ({PROBE_TIMEOUT:?}), within the budget ({PROBE_BUDGET:?}): \
         took {took:?}"
    );

    let state = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(
        probe_of(&state, &mirror, "A"),
        (true, "probe primary: 200 SUCCESS".into())
    );
    assert_eq!(
        probe_of(&state, &mirror, "B"),
        (false, "probe not_primary: 503 FAILED".into())
    );
    assert_eq!(
        probe_of(&state, &mirror, "DR1"),
        (false, "probe unreachable: timed out after 3 s".into())
    );
    assert_eq!(
        probe_of(&state, &mirror, "DR2"),
        (false, "probe unreachable: connection refused".into())
    );
    let arbiter = &state["members"][format!("{mirror}-ARB")]["observations"]["probe"];
    assert!(arbiter.is_null(), "the arbiter has no status_url: {state}");

    for server in [&primary, &backup, &hung] {
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "one probe each: {requests:?}");
        let head = requests[0].to_ascii_lowercase();
        assert!(
            head.starts_with("get /csp/user/mirror_status.cxw http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("connection: close\r\n"), "{head}");
    }

    let log = function.process.stdout();
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "mirror_status.cxw probed")
        .map(|l| serde_json::from_str(l["fields"]["event"].as_str().expect("the event")).expect("JSON"))
        .collect();
    let results: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(
                (&e["source"], &e["detail-type"], &e["region"]),
                (
                    &json!("mirrorgate.probe"),
                    &json!("Mirror Status Probe"),
                    &json!(env("AWS_REGION"))
                ),
                "{e}"
            );
            (
                e["detail"]["member"].as_str().unwrap_or_default().to_string(),
                e["detail"]["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("A", "primary"),
        ("B", "not_primary"),
        ("DR1", "unreachable"),
        ("DR2", "unreachable"),
    ]
    .iter()
    .map(|(m, r)| (format!("{mirror}-{m}"), r.to_string()))
    .collect();
    assert_eq!(results, expected, "one event per probe in the log:\n{log}");
}

/// A CloudWatch client of one region (the emulator serves them all on one endpoint).
fn cloudwatch_in(aws: &aws_config::SdkConfig, region: &str) -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::config::Builder::from(aws)
        .region(aws_config::Region::new(region.to_string()))
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

/// Creates a metric alarm in `region`, sets its state, and returns when it entered it.
async fn alarm_in(
    aws: &aws_config::SdkConfig,
    region: &str,
    name: &str,
    state: aws_sdk_cloudwatch::types::StateValue,
) -> chrono::DateTime<Utc> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    let cloudwatch = cloudwatch_in(aws, region);
    cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/EC2")
        .metric_name("StatusCheckFailed")
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("set by the test")
        .send()
        .await
        .expect("SetAlarmState");
    let described = cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("DescribeAlarms");
    let since = described.metric_alarms()[0]
        .state_updated_timestamp()
        .expect("StateUpdatedTimestamp");
    chrono::DateTime::from_timestamp(since.secs(), since.subsec_nanos()).expect("a time")
}

/// The alarm events of the fixtures for `mirror`, their ARNs moved to other regions:
/// (the Route 53 alarm of A, the instance alarm of A, the instance alarm of B).
fn alarm_events(mirror: &str, regions: [&str; 3]) -> [Value; 3] {
    let moved = |arn: &str, region: &str| arn.replace(":us-east-1:", &format!(":{region}:"));
    let mut route53 = event("alarm-route53-hsprod-a.json", mirror);
    route53["resources"][0] = json!(moved(route53["resources"][0].as_str().expect("ARN"), regions[0]));
    let mut action = event("alarm-action-instance-hsprod-a.json", mirror);
    action["alarmArn"] = json!(moved(action["alarmArn"].as_str().expect("ARN"), regions[1]));
    let mut sns = event("sns-alarm-hsprod-b.json", mirror);
    let message = sns["Records"][0]["Sns"]["Message"].as_str().expect("Message");
    sns["Records"][0]["Sns"]["Message"] = json!(message.replace(
        "arn:aws:cloudwatch:us-east-1:",
        &format!("arn:aws:cloudwatch:{}:", regions[2])
    ));
    [route53, action, sns]
}

fn observation_of<'a>(state: &'a Value, mirror: &str, suffix: &str, observer: &str) -> &'a Value {
    let o = &member(state, mirror, suffix)["observations"][observer];
    assert!(o.is_object(), "no {observer} observation of {suffix}: {state}");
    o
}

/// GIVEN three alarm observations stored with their alarms' ARNs (in all three shapes),
/// and in CloudWatch the first alarm now OK (its OK event never came), the second still
/// OK, the third INSUFFICIENT_DATA WHEN health-poll runs THEN it reads them again: the
/// first observation becomes healthy as from the alarm's StateUpdatedTimestamp, the second
/// is confirmed (same start, confirmed now), the third is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_reads_the_alarms_again_and_confirms_or_corrects_what_they_said() {
    use aws_sdk_cloudwatch::types::StateValue;
    let aws = aws().await;
    let mirror = unique("AA");
    let topology = topology(&mirror);
    let alarms = Lambda::start("alarm-ingest", &topology, &[]).await;
    let poll = Lambda::start("health-poll", &topology, &[]).await;

    let region = "us-east-1";
    let [route53, action, sns] = alarm_events(&mirror, [region; 3]);
    for payload in [&route53, &action, &sns] {
        assert_handled(&alarms.ok(payload).await, &mirror, 1);
    }
    let before = state(&aws, &mirror).await.expect("the state item");
    for (suffix, observer) in [("A", "route53"), ("A", "instance"), ("B", "instance")] {
        let o = observation_of(&before, &mirror, suffix, observer);
        assert!(
            o["alarm_arn"]
                .as_str()
                .unwrap_or_default()
                .starts_with("arn:aws:cloudwatch:us-east-1:"),
            "the alarm's ARN is kept: {o}"
        );
    }
    let now_ok = alarm_in(&aws, region, &format!("{mirror}-A-mirror-status"), StateValue::Ok).await;
    alarm_in(&aws, region, &format!("{mirror}-B-instance-status"), StateValue::Ok).await;
    alarm_in(
        &aws,
        region,
        &format!("{mirror}-A-instance-status"),
        StateValue::InsufficientData,
    )
    .await;

    let polled_at = Utc::now();
    let answer = poll.ok(&schedule_event(polled_at)).await;
    assert_handled(&answer, &mirror, 3);

    let after = state(&aws, &mirror).await.expect("the state item");
    let a = observation_of(&after, &mirror, "A", "route53");
    assert_eq!(a["healthy"], true, "{a}");
    assert_eq!(
        a["source"],
        format!("alarm {mirror}-A-mirror-status OK (read again)"),
        "{a}"
    );
    assert_eq!(
        parse_time(a["at"].as_str().expect("at")),
        now_ok,
        "as from the alarm's state time: {a}"
    );
    assert!(
        parse_time(a["confirmed_at"].as_str().expect("confirmed_at")) >= polled_at - chrono::Duration::seconds(1),
        "{a}"
    );
    assert_eq!(
        a["alarm_arn"],
        observation_of(&before, &mirror, "A", "route53")["alarm_arn"]
    );

    let b = observation_of(&after, &mirror, "B", "instance");
    assert_eq!(b["healthy"], true, "{b}");
    assert_eq!(b["source"], format!("alarm {mirror}-B-instance-status OK (read again)"));
    assert_eq!(
        parse_time(b["at"].as_str().expect("at")),
        parse_time("2025-03-14T09:29:12.123Z"),
        "the same word: it began when it began"
    );
    assert!(
        parse_time(b["confirmed_at"].as_str().expect("confirmed_at")) >= polled_at - chrono::Duration::seconds(1),
        "{b}"
    );

    assert_eq!(
        observation_of(&after, &mirror, "A", "instance"),
        observation_of(&before, &mirror, "A", "instance"),
        "INSUFFICIENT_DATA teaches nothing"
    );
}

/// GIVEN alarm observations whose alarms are in three regions, one of which does not
/// answer and one of which drops every connection (a fault-injecting layer in front of
/// the emulator, given to health-poll as its CloudWatch endpoint), and all three alarms
/// OK WHEN health-poll runs THEN it answers as usual within the alarms' budget: the
/// alarm of the region that answered confirms its observation, the other two give
/// nothing (their observations are left to age), and the log says which regions failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_gives_nothing_for_a_region_that_fails_and_keeps_the_others() {
    use aws_sdk_cloudwatch::types::StateValue;
    let aws = aws().await;
    let mirror = unique("AF");
    let topology = topology(&mirror);
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let faults = RegionFaults::start(&[
        ("eu-west-1", RegionFault::Hangs),
        ("ap-southeast-2", RegionFault::Drops),
    ]);
    let alarms = Lambda::start("alarm-ingest", &topology, &[]).await;
    let poll = Lambda::start(
        "health-poll",
        &topology,
        &[("AWS_ENDPOINT_URL_CLOUDWATCH", &faults.url())],
    )
    .await;

    for payload in alarm_events(&mirror, regions) {
        assert_stored(&alarms.ok(&payload).await, &mirror);
    }
    // Every alarm is OK, so a region that wrongly answered would show.
    for (region, name) in regions
        .iter()
        .zip(["A-mirror-status", "A-instance-status", "B-instance-status"])
    {
        alarm_in(&aws, region, &format!("{mirror}-{name}"), StateValue::Ok).await;
    }
    let before = state(&aws, &mirror).await.expect("the state item");

    let started = std::time::Instant::now();
    let answer = poll.ok(&schedule_event(Utc::now())).await;
    let took = started.elapsed();
    assert_handled(&answer, &mirror, 2);
    assert!(
        took < ALARMS_BUDGET + Duration::from_secs(5),
        "the region that does not answer costs the budget ({ALARMS_BUDGET:?}) at most: took {took:?}"
    );

    let after = state(&aws, &mirror).await.expect("the state item");
    let a = observation_of(&after, &mirror, "A", "route53");
    assert_eq!(
        (&a["healthy"], &a["source"]),
        (
            &json!(true),
            &json!(format!("alarm {mirror}-A-mirror-status OK (read again)"))
        ),
        "{a}"
    );
    for (suffix, observer) in [("A", "instance"), ("B", "instance")] {
        assert_eq!(
            observation_of(&after, &mirror, suffix, observer),
            observation_of(&before, &mirror, suffix, observer),
            "{suffix} {observer}: its region gave nothing"
        );
    }
    let seen = faults.regions();
    for region in regions {
        assert!(seen.iter().any(|r| r == region), "DescribeAlarms in {region}: {seen:?}");
    }
    let log = poll.process.stdout();
    assert!(
        log.contains("alarms not read again in time"),
        "the region that did not answer is logged:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("ap-southeast-2") && l.contains("alarms not read again in this region")),
        "the region that failed is logged:\n{log}"
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
    let ssm = ssm_with_online_agents().await;
    let executor = Lambda::start("promotion-executor", &topology, &[("AWS_ENDPOINT_URL_SSM", &ssm)]).await;

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
            assert_eq!(s["phase"], "promotion_pending", "the request is raised by now: {s}");
            continue;
        }
        let (function, answer) = replay(shifted(line, by)).await;
        assert!(answer["handled"].is_array(), "{function}: {answer}");
    }
    // The confirmation window is 1 s of real time: on a slow machine it may have passed
    // before the first tick, and the event that found it passed raised the request.
    assert!(
        phase_before_first_tick == "primary_lost" || phase_before_first_tick == "promotion_pending",
        "the loss was being confirmed, or confirmed: {phase_before_first_tick}"
    );

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
    assert_eq!(parameters["MirrorName"], std::slice::from_ref(&mirror));
    assert_eq!(
        parameters["InstanceName"],
        ["IRIS".to_string()],
        "DR1's instance, not the mirror"
    );
    assert_eq!(parameters["Request"], std::slice::from_ref(&request_id));
    assert_eq!(
        parameters["AllowNoPartner"],
        ["false".to_string()],
        "Dana did not accept the loss"
    );
    assert_eq!(command.timeout_seconds(), Some(120));
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

    // 5. us-east-1 comes back: A's agent speaks again. One fencing request, approved
    // through the same function URL, handed over as FencingApproved (never as
    // PromotionApproved), and run by the executor on A and B in us-east-1, never on DR1.
    let now = Utc::now().trunc_subsecs(0);
    let heartbeat = json!({
        "version": "0",
        "id": unique("hb"),
        "detail-type": "Mirror Member Heartbeat",
        "source": "mirrorgate.iris",
        "account": "123456789012",
        "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-east-1",
        "resources": [],
        "detail": { "mirror": mirror, "member": format!("{mirror}-A"), "status": "Waiting" },
    });
    assert_handled(&events.ok(&heartbeat).await, &mirror, 1);
    let s = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(s["phase"], "dr_active", "a fencing request changes no phase: {s}");
    let fencing = s["requests"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["kind"] == "fencing"))
        .expect("a fencing request")
        .clone();
    let fencing_id = fencing["id"].as_str().expect("its id").to_string();
    assert_eq!(
        fencing["fence_members"],
        json!([format!("{mirror}-A"), format!("{mirror}-B")])
    );
    let alerts = published(&mirror).await;
    let requested = alerts
        .iter()
        .find(|a| a.attribute("kind") == "fencing_requested")
        .expect("fencing_requested published");
    assert_eq!(requested.attribute("severity"), "critical");
    let email = requested.message["email"].as_str().expect("an email text");
    let link = email
        .split_whitespace()
        .find(|w| w.starts_with(&format!("https://{URL_HOST}/a/")))
        .unwrap_or_else(|| panic!("the email carries the fencing link: {email}"));
    let path = link.trim_start_matches(&format!("https://{URL_HOST}"));
    let page = approval.ok(&url_request("GET", path, None)).await;
    let html = page["body"].as_str().unwrap_or_default();
    assert!(
        html.contains("Approve fencing") && html.contains("Failing back later"),
        "{html}"
    );
    let decided = approval.ok(&url_request("POST", path, Some(&form))).await;
    let html = decided["body"].as_str().unwrap_or_default();
    assert!(html.contains("Fencing approved"), "{html}");

    let handed: Vec<Value> = archived_events(&mirror)
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "FencingApproved")
        .collect();
    assert_eq!(handed.len(), 1, "one fencing hand-off: {handed:?}");
    assert_eq!(handed[0]["detail"]["request"], fencing_id.as_str());
    let promotions = archived_events(&mirror)
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "PromotionApproved")
        .count();
    assert_eq!(promotions, 1, "the fencing is never announced as a promotion");

    let ran = executor.ok(&delivered(&handed[0])).await;
    assert_eq!(ran["executed"], true, "{ran}");
    let east = aws.to_builder().region(aws_config::Region::new("us-east-1")).build();
    let mut fenced: Vec<(String, String)> = commands(&east, &mirror)
        .await
        .iter()
        .map(|c| (c.comment().unwrap_or_default().to_string(), c.instance_ids().join(",")))
        .collect();
    fenced.sort();
    assert_eq!(
        fenced,
        vec![
            (
                format!("mirrorgate {mirror} request {fencing_id} epoch 2: fence {mirror}-A"),
                "i-0aaaaaaaaaaaaaaa1".to_string()
            ),
            (
                format!("mirrorgate {mirror} request {fencing_id} epoch 2: fence {mirror}-B"),
                "i-0bbbbbbbbbbbbbbb2".to_string()
            ),
        ]
    );
    let again = executor.ok(&delivered(&handed[0])).await;
    assert_eq!(again["executed"], false, "a second delivery sends nothing: {again}");
    assert_eq!(commands(&east, &mirror).await.len(), 2);
    let s = state(&aws, &mirror).await.expect("the state item");
    assert_eq!(s["primary"], format!("{mirror}-DR1"));
    for member in ["A", "B"] {
        assert!(member_fenced(&s, &mirror, member), "{member} fenced: {s}");
    }
    assert!(!member_fenced(&s, &mirror, "DR1"), "{s}");

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

// ------------------------------------------------------------------ the promote command's status

/// A mirror of its own taken through the functions from the region's silence to an
/// approved promotion whose promote command was sent: mirror-events (still running),
/// the request and the command's id.
struct Promoted {
    aws: aws_config::SdkConfig,
    mirror: String,
    events: Lambda,
    request: String,
    command: String,
    sent_at: chrono::DateTime<Utc>,
}

async fn promoted(prefix: &str) -> Promoted {
    let aws = aws().await;
    let mirror = unique(prefix);
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
    let ssm = ssm_with_online_agents().await;
    let executor = Lambda::start("promotion-executor", &topology, &[("AWS_ENDPOINT_URL_SSM", &ssm)]).await;

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
    let by = Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(1) - at(&lines[approve - 1]);
    let mut ticked = false;
    for line in &lines[..approve] {
        let line: Value = serde_json::from_str(&shift_instants(&line.to_string(), by)).expect("a shifted line");
        if line.get("tick").is_some() {
            if !ticked {
                tokio::time::sleep(Duration::from_millis(1200)).await; // the 1 s confirmation window
                ticked = true;
            }
            poll.ok(&schedule_event(at(&line))).await;
            continue;
        }
        let event = &line["event"];
        match event["source"].as_str() {
            Some("aws.cloudwatch") => alarms.ok(event).await,
            _ => events.ok(event).await,
        };
    }
    let alerts = published(&mirror).await;
    let email = alerts
        .iter()
        .find(|a| a.attribute("kind") == "promotion_requested")
        .and_then(|a| a.message["email"].as_str())
        .unwrap_or_else(|| panic!("a promotion request for {mirror}"))
        .to_string();
    let link = email
        .split_whitespace()
        .find(|w| w.starts_with(&format!("https://{URL_HOST}/a/")))
        .expect("the approval link");
    let path = link.trim_start_matches(&format!("https://{URL_HOST}"));
    let form = [
        ("approver", "Dana Whitfield"),
        ("confirm", mirror.as_str()),
        ("decision", "approve"),
    ];
    let decided = approval.ok(&url_request("POST", path, Some(&form))).await;
    assert_eq!(decided["statusCode"], 200, "{decided}");
    let handed = archived_events(&mirror)
        .await
        .into_iter()
        .find(|e| e["detail-type"] == "PromotionApproved")
        .expect("the hand-off");
    let sent_at = Utc::now().trunc_subsecs(0);
    let ran = executor.ok(&delivered(&handed)).await;
    assert_eq!(ran["executed"], true, "{ran}");
    let sent = commands(&aws, &mirror).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = ran["request"].as_str().expect("the request").to_string();
    Promoted {
        command: sent[0].command_id().expect("an id").to_string(),
        aws,
        mirror,
        events,
        request,
        sent_at,
    }
}

fn last_request(state: &Value) -> &Value {
    state["requests"].as_array().and_then(|r| r.last()).expect("a request")
}

/// GIVEN an approved promotion whose promote command was sent WHEN its status event
/// says Failed THEN mirror-events alerts promotion_failed at once (critical, with the
/// status and what the script printed, read back with GetCommandInvocation), the
/// request is closed as failed, and the mirror is back to primary_lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_events_alerts_a_failed_promote_command_at_once() {
    let p = promoted("CF").await;
    let answer = p.events.ok(&command_status(&p.command, "Failed", p.sent_at)).await;
    assert_handled(&answer, &p.mirror, 1);

    let state = state(&p.aws, &p.mirror).await.expect("the state item");
    assert_eq!(state["phase"], "primary_lost", "{state}");
    let request = last_request(&state);
    assert_eq!(request["status"], "failed", "{request}");
    assert_eq!(request["command"]["status"], "Failed");
    assert_eq!(request["command"]["command_id"], p.command.as_str());
    let failed: Vec<Published> = published(&p.mirror)
        .await
        .into_iter()
        .filter(|a| a.attribute("kind") == "promotion_failed")
        .collect();
    assert_eq!(failed.len(), 1, "alerted once");
    assert_eq!(failed[0].attribute("severity"), "critical");
    let email = failed[0].message["email"].as_str().expect("an email");
    assert!(email.contains("Status: Failed"), "{email}");
    assert!(email.contains(&format!("Command: {}", p.command)), "{email}");
    // moto's invocations print nothing: what the script printed is said as such
    assert!(email.contains("Output: none (the script printed nothing)"), "{email}");
    assert!(p.request.starts_with(&p.mirror));
}

/// GIVEN an approved promotion WHEN a TimedOut status arrives whose output cannot be
/// read (GetCommandInvocation does not know the command yet) THEN the alert goes out
/// all the same and says the output could not be read, and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_events_alerts_a_timed_out_promote_command_even_when_its_output_cannot_be_read() {
    let p = promoted("CT").await;
    let unknown = "00000000-1111-4222-8333-444444444444";
    let answer = p.events.ok(&command_status(unknown, "TimedOut", p.sent_at)).await;
    assert_handled(&answer, &p.mirror, 1);

    let state = state(&p.aws, &p.mirror).await.expect("the state item");
    assert_eq!(last_request(&state)["status"], "failed", "{state}");
    let failed: Vec<Published> = published(&p.mirror)
        .await
        .into_iter()
        .filter(|a| a.attribute("kind") == "promotion_failed")
        .collect();
    assert_eq!(failed.len(), 1);
    let email = failed[0].message["email"].as_str().expect("an email");
    assert!(email.contains("Status: TimedOut"), "{email}");
    assert!(
        email.contains("Output: could not be read (SSM GetCommandInvocation 00000000-1111-4222-8333-444444444444"),
        "{email}"
    );
}

/// GIVEN an approved promotion WHEN its command reports Success THEN it is recorded
/// on the request and DR1, nothing is alerted yet; WHEN DR1 then reports Primary THEN
/// the promotion succeeds. A status of an unknown command (no current promotion's)
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_events_records_a_succeeded_promote_command_and_waits_for_primary() {
    let p = promoted("CS").await;
    let before = published(&p.mirror).await.len();

    // An event of a command sent before this promotion was claimed: changes nothing.
    let stale = p
        .events
        .ok(&command_status(
            "00000000-5555-4666-8777-888888888888",
            "Failed",
            p.sent_at - chrono::Duration::hours(1),
        ))
        .await;
    assert_eq!(stale["handled"][0]["verdict"]["verdict"], "ignored", "{stale}");

    let answer = p.events.ok(&command_status(&p.command, "Success", p.sent_at)).await;
    assert_handled(&answer, &p.mirror, 1);
    let s = state(&p.aws, &p.mirror).await.expect("the state item");
    assert_eq!(s["phase"], "promoting", "{s}");
    let request = last_request(&s);
    assert_eq!(request["status"], "approved");
    assert_eq!(request["command"]["status"], "Success");
    assert_eq!(member(&s, &p.mirror, "DR1")["last_command"]["status"], "Success");
    assert_eq!(published(&p.mirror).await.len(), before, "nothing alerted yet");

    let mut primary = event("mirror-status-primary.json", &p.mirror);
    primary["detail"]["member"] = json!(format!("{}-DR1", p.mirror));
    primary["time"] = json!(Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    primary["id"] = json!(unique("dr1-primary"));
    p.events.ok(&primary).await;
    let state = state(&p.aws, &p.mirror).await.expect("the state item");
    assert_eq!(state["phase"], "dr_active", "{state}");
    let kinds: Vec<String> = published(&p.mirror)
        .await
        .iter()
        .map(|a| a.attribute("kind").to_string())
        .collect();
    assert!(kinds.contains(&"promotion_succeeded".to_string()), "{kinds:?}");
}

/// GIVEN DR1 (the best candidate, 1.8 s behind) whose SSM agent SSM reports
/// ConnectionLost WHEN health-poll runs, twice THEN one warning says a promotion would
/// not run, and the state keeps what SSM said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_poll_warns_once_while_the_best_candidates_agent_is_not_online() {
    let aws = aws().await;
    let mirror = unique("AG");
    let topology = topology(&mirror);
    let events = Lambda::start("mirror-events", &topology, &[]).await;
    let ssm = ssm_with_agents("ConnectionLost").await;
    let poll = Lambda::start("health-poll", &topology, &[("AWS_ENDPOINT_URL_SSM", &ssm)]).await;

    let mut heartbeat = event("mirror-heartbeat.json", &mirror);
    let now = Utc::now().trunc_subsecs(0);
    heartbeat = serde_json::from_str(&shift_instants(
        &heartbeat.to_string(),
        now - parse_time(heartbeat["time"].as_str().expect("time")),
    ))
    .expect("shifted");
    events.ok(&heartbeat).await;
    poll.ok(&schedule_event(Utc::now())).await;
    poll.ok(&schedule_event(Utc::now())).await;

    let warnings: Vec<Published> = published(&mirror)
        .await
        .into_iter()
        .filter(|a| a.attribute("kind") == "ssm_agent_offline")
        .collect();
    assert_eq!(warnings.len(), 1, "once, not every run");
    assert_eq!(warnings[0].attribute("severity"), "warning");
    assert!(
        warnings[0].subject.contains(&format!("{mirror}-DR1")),
        "{}",
        warnings[0].subject
    );
    let s = state(&aws, &mirror).await.expect("the state item");
    let agent = &member(&s, &mirror, "DR1")["ssm_agent"];
    assert_eq!(agent["online"], false, "{agent}");
    assert!(
        agent["detail"].as_str().unwrap_or_default().contains("ConnectionLost"),
        "{agent}"
    );
}
