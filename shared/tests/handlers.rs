//! The Lambda handlers on the embedded adapters, without the emulator: each handler
//! is called as Lambda calls it, `LambdaEvent::new(payload, Context::default())`, with
//! the real AWS sample payloads of tests/fixtures/events/ and the reference topology
//! (examples/topology.toml), on a file store in a temporary directory, alerts and
//! promotion actions kept in memory, Run Command output held in memory, the members'
//! `mirror_status.cxw` answered from memory and the recording hand-off. What each handler answered, stored, published and handed off
//! is read back. (The same handlers as built functions on the AWS adapters:
//! tests/lambda.)

#![cfg(feature = "lambda")]

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::adapters::aws::alarms::{Reading, Watched};
use shared::adapters::aws::eventbridge::RecordingHandOff;
use shared::adapters::aws::promotion::{AgentState, EVENT_SOURCE, PROMOTION_APPROVED};
use shared::adapters::aws::route53::{PollLimits, PollRound};
use shared::adapters::aws::AwsError;
use shared::adapters::embedded::{FileStore, MemoryCommandOutput, MemoryNotifier, MemoryProbes, RecordingActions};
use shared::adapters::probe::Answer;
use shared::domain::{AlertKind, Phase, RequestStatus, Severity, Signal, SignalKind};
use shared::handlers::health_poll::{self, HealthReads};
use shared::handlers::{alarm_ingest, approval_api, mirror_events, promotion_executor, Approved, Function, Ports};
use shared::ports::{Invocation, Store};

use crate::reliability::{deliver_once, root, scenario, t, test_engine_on, topology, TestEngine, PUBLIC_URL};
use shared::domain::Observer;
use shared::topology::Topology;

/// The ports of the handlers' tests.
struct Embedded;

impl Ports for Embedded {
    type Store = FileStore;
    type Notifier = MemoryNotifier;
    type Actions = RecordingActions;
    type HandOff = RecordingHandOff;
    type CommandOutput = MemoryCommandOutput;
    type Deps = Observed;
    type Prober = MemoryProbes;
}

/// What health-poll asks, answered from memory: the Route 53 round gives `route53`,
/// no alarm is read again, every SSM agent is Online; each question and heartbeat
/// is kept.
#[derive(Default)]
struct Observed {
    route53: Vec<Signal>,
    rounds: Mutex<Vec<usize>>,
    agents_asked: Mutex<Vec<Vec<String>>>,
    beats: Mutex<Vec<DateTime<Utc>>>,
}

impl HealthReads for Observed {
    fn region(&self) -> Option<String> {
        Some("us-west-2".into())
    }

    async fn poll_route53(&self, _: &Topology, start: usize, _: PollLimits, _: DateTime<Utc>) -> PollRound {
        self.rounds.lock().expect("rounds").push(start);
        PollRound {
            signals: self.route53.clone(),
            checks: 4,
            read: 4,
            next_start: start,
            ..PollRound::default()
        }
    }

    async fn read_alarms_again(&self, _: &[Watched], _: tokio::time::Instant) -> Vec<Reading> {
        Vec::new()
    }

    async fn agent_states(&self, instance_ids: &[String]) -> Result<BTreeMap<String, AgentState>, String> {
        self.agents_asked.lock().expect("asked").push(instance_ids.to_vec());
        Ok(instance_ids.iter().map(|id| (id.clone(), AgentState::Online)).collect())
    }

    async fn beat(&self, at: DateTime<Utc>) -> Result<(), AwsError> {
        self.beats.lock().expect("beats").push(at);
        Ok(())
    }
}

/// An engine on `topology` with a file store in `dir`, alerts and actions recorded in
/// memory and predictable link tokens, handing approved orders off or carrying them out.
fn engine(dir: &tempfile::TempDir, topology: std::sync::Arc<Topology>, approved: Approved) -> TestEngine<FileStore> {
    test_engine_on(topology, FileStore::open(dir.path()).expect("a file store")).on_approval(approved)
}

/// A function on a file store in `dir`, handing approved orders off or carrying
/// them out, reading Run Command output from `output`.
fn function(dir: &tempfile::TempDir, approved: Approved, output: MemoryCommandOutput) -> Function<Embedded> {
    Function::with_ports(
        engine(dir, topology(), approved),
        RecordingHandOff::default(),
        output,
        Observed::default(),
        MemoryProbes::default(),
    )
}

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures/events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn invoked(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("an instant").with_timezone(&Utc)
}

/// An ingesting function's answer: one applied signal of HSPROD, with `effects`.
fn assert_applied(answer: &Value, effects: usize) {
    assert_eq!(
        answer,
        &json!({ "handled": [{ "mirror": "HSPROD", "verdict": { "verdict": "applied" }, "effects": effects }] })
    );
}

// ------------------------------------------------------------------ alarm-ingest

/// GIVEN a CloudWatch alarm in each shape AWS delivers it (EventBridge, the alarm's
/// Lambda action, SNS-wrapped) WHEN alarm-ingest is invoked THEN it answers the
/// mirror's verdict, the store holds the member's observation, nothing is alerted
/// and nothing handed off.
#[tokio::test]
async fn alarm_ingest_records_each_shape_of_alarm_as_an_observation() {
    for (name, member, observer, healthy, when) in [
        (
            "alarm-route53-hsprod-a.json",
            "HSPROD-A",
            "route53",
            false,
            "2025-03-14T09:26:40.989Z",
        ),
        (
            "alarm-action-instance-hsprod-a.json",
            "HSPROD-A",
            "instance",
            false,
            "2025-03-14T09:27:15.490Z",
        ),
        (
            "sns-alarm-hsprod-b.json",
            "HSPROD-B",
            "instance",
            true,
            "2025-03-14T09:29:12.123Z",
        ),
    ] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let function = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
        let answer = alarm_ingest::handle(&function, invoked(fixture(name)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_applied(&answer, 0);

        let state = function.engine.state("HSPROD", Utc::now()).await.expect("state");
        assert_eq!(state.version, 1, "{name}: one write");
        let stored = serde_json::to_value(&state.members[member]).expect("JSON");
        let observation = &stored["observations"][observer];
        assert_eq!(observation["healthy"], healthy, "{name}: {observation}");
        assert_eq!(
            at(observation["at"].as_str().unwrap_or_default()),
            at(when),
            "{name}: {observation}"
        );
        assert!(function.engine.notifier().sent().is_empty(), "{name}: nothing alerted");
        assert!(function.handoff.handed().is_empty(), "{name}: nothing handed off");
    }
}

/// GIVEN a payload that is no alarm WHEN alarm-ingest is invoked THEN it is rejected
/// (no retry) and nothing is stored.
#[tokio::test]
async fn alarm_ingest_rejects_an_unusable_payload_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let function = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
    let refused = alarm_ingest::handle(&function, invoked(json!({ "hello": "world" })))
        .await
        .expect_err("not an alarm");
    assert_eq!(refused.error_type, "Mirrorgate.Rejected", "{refused:?}");
    assert!(function.engine.store().mirrors().await.expect("mirrors").is_empty());
}

// ------------------------------------------------------------------ mirror-events

/// GIVEN a member's role change, an instance stop and a heartbeat WHEN mirror-events
/// is invoked with each THEN each is applied, and the store holds the role, the
/// observation, the journal latency and the event ids (against duplicates).
#[tokio::test]
async fn mirror_events_records_a_role_change_an_instance_stop_and_a_heartbeat() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let function = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
    for (name, effects) in [
        ("mirror-status-primary.json", 0),
        ("ec2-stopped-hsprod-a.json", 2),
        ("mirror-heartbeat.json", 0),
    ] {
        let answer = mirror_events::handle(&function, invoked(fixture(name)))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_applied(&answer, effects);
    }
    let sent = function.engine.notifier().sent();
    let alerts: Vec<_> = sent.iter().map(|a| (a.kind, a.severity, a.headline.as_str())).collect();
    assert_eq!(
        alerts,
        [(
            AlertKind::PrimaryLost,
            Severity::Warning,
            "HSPROD: primary lost, confirming"
        )],
        "the instance stop is alerted (the transition and its alert): {sent:?}"
    );
    let state = function.engine.state("HSPROD", Utc::now()).await.expect("state");
    let stored = serde_json::to_value(&state).expect("JSON");
    let b = &stored["members"]["HSPROD-B"];
    assert_eq!(b["status"][0], "Primary", "{b}");
    assert_eq!(
        at(b["status"][1].as_str().unwrap_or_default()),
        at("2025-03-14T09:28:02Z")
    );
    let a = &stored["members"]["HSPROD-A"]["observations"]["instance"];
    assert_eq!(a["healthy"], false, "{a}");
    assert_eq!(at(a["at"].as_str().unwrap_or_default()), at("2025-03-14T09:27:31Z"));
    assert_eq!(stored["members"]["HSPROD-DR1"]["journal_latency"]["seconds"], 1.8);
    for id in [
        "eb:0d6a2d0e-1f5e-4a4e-9f3e-6c1c3b2a9d01",
        "eb:9e4b7c21-3d5f-4a8e-b0c2-6f1d2e3a4b5c",
    ] {
        assert!(state.seen.iter().any(|s| s == id), "{id} is remembered: {stored}");
    }
    // The same delivery again changes nothing.
    let again = mirror_events::handle(&function, invoked(fixture("mirror-status-primary.json")))
        .await
        .expect("a duplicate is answered");
    assert_eq!(again["handled"][0]["verdict"]["verdict"], "duplicate", "{again}");
    assert!(function.handoff.handed().is_empty(), "nothing handed off");
}

// ------------------------------------- approval-api, promotion-executor, mirror-events

/// The region outage of examples/scenarios up to its open request (HSPROD-R1 for
/// HSPROD-DR1), moved to end a few seconds ago: the approval link is fresh.
async fn pending(function: &Function<Embedded>) -> String {
    let deliveries = scenario("region-outage-pending.jsonl");
    let last = deliveries.last().expect("deliveries").at;
    let shift = Utc::now() - Duration::seconds(5) - last;
    for d in deliveries.iter().map(|d| d.shifted(shift)) {
        deliver_once(&function.engine, "HSPROD", &d.what, d.at)
            .await
            .expect("delivered");
    }
    assert!(last > t(0));
    let state = function.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.phase, Phase::PromotionPending);
    let requested = function
        .engine
        .notifier()
        .sent()
        .into_iter()
        .find(|a| a.kind == AlertKind::PromotionRequested)
        .expect("the promotion was requested");
    let link = requested.link.expect("the request's alert carries the approval link");
    link.strip_prefix(PUBLIC_URL).expect("a link to the pages").to_string()
}

/// The approval form as Dana Whitfield sends it: approve HSPROD, the data loss accepted.
const APPROVE: [(&str, &str); 4] = [
    ("approver", "Dana Whitfield"),
    ("confirm", "HSPROD"),
    ("decision", "approve"),
    ("accept_loss", "yes"),
];

/// A function URL request as AWS sends it (the Lambda function URL event, version 2.0).
fn url_request(method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Value {
    let body = form.map(|f| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(f.iter().copied())
            .finish()
    });
    json!({
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "user-agent": "Mozilla/5.0",
            "host": "abcdefghijklmnop.lambda-url.us-west-2.on.aws"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefghijklmnop",
            "domainName": "abcdefghijklmnop.lambda-url.us-west-2.on.aws",
            "domainPrefix": "abcdefghijklmnop",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0" },
            "requestId": "r", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:03:09:30 +0000", "timeEpoch": 1795575000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The EventBridge event that delivers a handed-off order to the executor.
fn delivered(detail_type: &str, detail: &Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": EVENT_SOURCE,
        "account": "123456789012",
        "time": Utc::now().to_rfc3339(),
        "region": "us-west-2",
        "resources": [],
        "detail": detail
    })
}

/// GIVEN an open promotion request WHEN its page is opened through approval-api THEN
/// it shows the request and decides nothing; WHEN it is approved there THEN the page
/// says so, the request is approved and not started, and the order is handed off
/// as PromotionApproved with the site's detail; WHEN promotion-executor gets that
/// event THEN it runs the promotion once, however often the event arrives; WHEN the
/// promote command's status event then says Failed THEN mirror-events reads what the
/// script printed and alerts promotion_failed with it at once.
#[tokio::test]
async fn a_promotion_is_approved_handed_off_executed_and_its_failure_alerted_through_the_handlers() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let approval = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
    let path = pending(&approval).await;

    // The page: GET shows, and decides nothing.
    let version = approval
        .engine
        .state("HSPROD", Utc::now())
        .await
        .expect("state")
        .version;
    let page = approval_api::handle(&approval, invoked(url_request("GET", &path, None)))
        .await
        .expect("the page");
    assert_eq!(page.status_code, 200);
    let html = page.body.unwrap_or_default();
    assert!(html.contains("HSPROD") && html.contains("Approve promotion"), "{html}");
    assert!(html.contains("HSPROD-DR1"), "the candidate is named: {html}");
    let state = approval.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.version, version, "a GET decides nothing");
    assert!(approval.handoff.handed().is_empty());

    // POST approves, and hands the order off.
    let decided = approval_api::handle(&approval, invoked(url_request("POST", &path, Some(&APPROVE))))
        .await
        .expect("the decision");
    assert_eq!(decided.status_code, 200);
    let html = decided.body.unwrap_or_default();
    assert!(html.contains("Promotion approved"), "{html}");
    let state = approval.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.phase, Phase::Promoting);
    let request = state.requests.last().expect("the request").clone();
    assert_eq!(request.status, RequestStatus::Approved);
    assert_eq!(request.started_at, None, "not run here: handed to the executor");
    assert_eq!(request.decisions[0].by, "Dana Whitfield");
    assert_eq!(request.decisions[0].source_ip.as_deref(), Some("203.0.113.9"));
    assert!(approval.engine.actions().recorded().is_empty(), "nothing promoted here");
    let handed = approval.handoff.handed();
    assert_eq!(handed.len(), 1, "one hand-off: {handed:?}");
    assert_eq!(handed[0].detail_type, PROMOTION_APPROVED);
    let detail = &handed[0].detail;
    assert_eq!(detail["mirror"], "HSPROD");
    assert_eq!(detail["request"], request.id.as_str());
    assert_eq!(detail["candidate"], "HSPROD-DR1");
    assert_eq!(detail["instance_id"], "i-0ddddddddddddddd4");
    assert_eq!(detail["ssm_document"], "HSPROD-PromoteDrAsync");
    assert_eq!(detail["epoch"], request.epoch);

    // The executor, on the same store, runs it once.
    let comment = format!(
        "mirrorgate HSPROD request {} epoch {}: promote HSPROD-DR1",
        request.id, request.epoch
    );
    let printed = Invocation {
        comment: Some(comment),
        output: "ERROR #2087: mirror member is not a DR async member".into(),
    };
    let output =
        MemoryCommandOutput::default().with("0b8f3a52-7c1e-4d9a-a6b2-3f4e5d6c7b8a", "i-0ddddddddddddddd4", printed);
    let executor = function(&dir, Approved::CarryOut, MemoryCommandOutput::default());
    let event = delivered(PROMOTION_APPROVED, detail);
    let ran = promotion_executor::handle(&executor, invoked(event.clone()))
        .await
        .expect("executed");
    assert_eq!(
        ran,
        json!({ "mirror": "HSPROD", "request": request.id, "executed": true, "effects": ran["effects"] })
    );
    let recorded = executor.engine.actions().recorded();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].candidate, "HSPROD-DR1");
    assert_eq!(recorded[0].request, request.id);
    let again = promotion_executor::handle(&executor, invoked(event))
        .await
        .expect("a second delivery");
    assert_eq!(again["executed"], false, "a second delivery runs nothing: {again}");
    assert_eq!(executor.engine.actions().recorded().len(), 1, "still one promotion");
    assert!(executor.handoff.handed().is_empty(), "the executor hands nothing off");
    let state = executor.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert!(state.request(&request.id).and_then(|r| r.started_at).is_some());

    // The promote command failed: mirror-events reads what it printed and alerts it.
    let events = function(&dir, Approved::HandOff, output);
    let answer = mirror_events::handle(&events, invoked(fixture("ssm-promote-failed-hsprod-dr1.json")))
        .await
        .expect("the status event");
    assert_eq!(answer["handled"][0]["verdict"]["verdict"], "applied", "{answer}");
    let state = events.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.phase, Phase::PrimaryLost);
    assert_eq!(
        state.request(&request.id).map(|r| r.status),
        Some(RequestStatus::Failed)
    );
    let failed: Vec<_> = events
        .engine
        .notifier()
        .sent()
        .into_iter()
        .filter(|a| a.kind == AlertKind::PromotionFailed)
        .collect();
    assert_eq!(failed.len(), 1, "alerted once");
    let email = failed[0].email();
    assert!(email.contains("Status: Failed"), "{email}");
    assert!(
        email.contains("Command: 0b8f3a52-7c1e-4d9a-a6b2-3f4e5d6c7b8a"),
        "{email}"
    );
    assert!(email.contains("ERROR #2087"), "what the script printed: {email}");
    assert!(events.handoff.handed().is_empty(), "nothing handed off");
}

/// GIVEN an open request WHEN it is approved through approval-api and the hand-off is
/// refused THEN the page still says approved (the decision is recorded) and the next
/// tick hands it over again.
#[tokio::test]
async fn a_refused_hand_off_still_records_the_approval() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let refusing = Function::<Embedded>::with_ports(
        engine(&dir, topology(), Approved::HandOff),
        RecordingHandOff::refusing("the bus is full"),
        MemoryCommandOutput::default(),
        Observed::default(),
        MemoryProbes::default(),
    );
    let path = pending(&refusing).await;
    let decided = approval_api::handle(&refusing, invoked(url_request("POST", &path, Some(&APPROVE))))
        .await
        .expect("the decision");
    assert_eq!(decided.status_code, 200);
    assert!(decided.body.unwrap_or_default().contains("Promotion approved"));
    let state = refusing.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.requests.last().map(|r| r.status), Some(RequestStatus::Approved));
    assert!(refusing.handoff.handed().is_empty());
}

/// GIVEN a promotion approved through approval-api and run by promotion-executor
/// WHEN the promote command's status says Failed and its output cannot be read (no
/// comment: matched to the request sent after the claim) THEN mirror-events alerts
/// promotion_failed all the same, saying the output could not be read, and why.
#[tokio::test]
async fn mirror_events_alerts_a_failed_promote_command_even_when_its_output_cannot_be_read() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let approval = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
    let path = pending(&approval).await;
    approval_api::handle(&approval, invoked(url_request("POST", &path, Some(&APPROVE))))
        .await
        .expect("the decision");
    let handed = approval.handoff.handed();
    assert_eq!(handed.len(), 1, "{handed:?}");
    let executor = function(&dir, Approved::CarryOut, MemoryCommandOutput::default());
    let ran = promotion_executor::handle(&executor, invoked(delivered(PROMOTION_APPROVED, &handed[0].detail)))
        .await
        .expect("executed");
    assert_eq!(ran["executed"], true, "{ran}");

    // The status event of a command sent after the claim; nothing holds its output.
    let mut status = fixture("ssm-promote-failed-hsprod-dr1.json");
    status["detail"]["requested-date-time"] = json!(Utc::now().to_rfc3339());
    let events = function(&dir, Approved::HandOff, MemoryCommandOutput::default());
    let answer = mirror_events::handle(&events, invoked(status))
        .await
        .expect("the status event");
    assert_eq!(answer["handled"][0]["verdict"]["verdict"], "applied", "{answer}");
    let state = events.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(state.requests.last().map(|r| r.status), Some(RequestStatus::Failed));
    let failed: Vec<_> = events
        .engine
        .notifier()
        .sent()
        .into_iter()
        .filter(|a| a.kind == AlertKind::PromotionFailed)
        .collect();
    assert_eq!(failed.len(), 1, "alerted once");
    let email = failed[0].email();
    assert!(
        email.contains(
            "Output: could not be read (no output of command 0b8f3a52-7c1e-4d9a-a6b2-3f4e5d6c7b8a on i-0ddddddddddddddd4)"
        ),
        "{email}"
    );
}

// ------------------------------------------------------------------ health-poll

/// A health-poll function on the reference mirror as examples/topology.toml has it,
/// its members' status URLs included (the shared `topology()` leaves them out),
/// Route 53 saying HSPROD-A is unhealthy, the members' `mirror_status.cxw`
/// answering as `probes` says.
fn polling(dir: &tempfile::TempDir, probes: MemoryProbes) -> Function<Embedded> {
    let path = root().join("examples/topology.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let topology = Topology::parse("examples/topology.toml", &text).expect("valid topology");
    let engine = engine(dir, std::sync::Arc::new(topology), Approved::HandOff);
    let said = Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: Utc::now(),
        kind: SignalKind::Observation {
            unreachable: false,
            alarm_arn: None,
            since: None,
            member: "HSPROD-A".into(),
            observer: Observer::Route53,
            healthy: false,
            source: "Route 53 health check 11111111-1111-4111-8111-111111111111".into(),
        },
    };
    let observed = Observed {
        route53: vec![said],
        ..Observed::default()
    };
    Function::<Embedded>::with_ports(
        engine,
        RecordingHandOff::default(),
        MemoryCommandOutput::default(),
        observed,
        probes,
    )
}

/// The reference mirror's members with a `status_url`, and those URLs, in the
/// topology's order.
fn status_urls() -> Vec<(String, String)> {
    ["a", "b", "dr1", "dr2"]
        .iter()
        .map(|m| {
            (
                format!("HSPROD-{}", m.to_uppercase()),
                format!("https://hsprod-{m}.hsprod.internal/csp/user/mirror_status.cxw"),
            )
        })
        .collect()
}

/// What `observer` last said of `member`, as stored: healthy, unreachable, in words.
fn observation(state: &shared::domain::MirrorState, member: &str, observer: Observer) -> Option<(bool, bool, String)> {
    state
        .members
        .get(member)
        .and_then(|m| m.observations.get(&observer))
        .map(|o| (o.healthy, o.unreachable, o.source.clone()))
}

/// Route 53's observation, the DR members' SSM agents (both Online), one question
/// to SSM, one Route 53 round and one heartbeat: what every poll stores and does.
fn assert_polled(function: &Function<Embedded>, state: &shared::domain::MirrorState) {
    assert_eq!(
        observation(state, "HSPROD-A", Observer::Route53),
        Some((
            false,
            false,
            "Route 53 health check 11111111-1111-4111-8111-111111111111".to_string()
        )),
        "what Route 53 said is stored"
    );
    for dr in ["HSPROD-DR1", "HSPROD-DR2"] {
        let agent = state.members[dr]
            .ssm_agent
            .as_ref()
            .expect("what SSM said of the agent");
        assert!(agent.online, "{dr}: {agent:?}");
        assert_eq!(agent.detail, "Online");
    }
    let asked = function.deps.agents_asked.lock().expect("asked").clone();
    assert_eq!(
        asked,
        [vec![
            "i-0ddddddddddddddd4".to_string(),
            "i-0eeeeeeeeeeeeeee5".to_string()
        ]],
        "one question for the DR members' agents"
    );
    assert_eq!(
        function.deps.rounds.lock().expect("rounds").len(),
        1,
        "one Route 53 round"
    );
    assert_eq!(function.deps.beats.lock().expect("beats").len(), 1, "one heartbeat");
    assert!(function.handoff.handed().is_empty(), "nothing handed off");
}

/// GIVEN the reference mirror, Route 53 saying HSPROD-A is unhealthy, and the
/// members' `mirror_status.cxw` answering: HSPROD-A 200 SUCCESS (the primary),
/// HSPROD-B and HSPROD-DR2 503 FAILED, HSPROD-DR1 nothing within the probe's timeout
/// WHEN health-poll runs on the schedule event THEN every member with a status URL
/// is probed once within the probe budget, each probe's result is stored as the
/// probe observer's word on its member, and the mirror is ticked, Route 53's
/// observation and the DR members' SSM agents are stored, the heartbeat metric is
/// put once, and nothing is handed off.
#[tokio::test]
async fn health_poll_ticks_reads_route53_probes_the_members_reads_the_agents_and_beats_the_heartbeat() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let probes = MemoryProbes::default()
        .answering(
            "HSPROD",
            "HSPROD-A",
            Answer::Http {
                status: 200,
                body: b"SUCCESS".to_vec(),
            },
        )
        .answering(
            "HSPROD",
            "HSPROD-B",
            Answer::Http {
                status: 503,
                body: b"FAILED".to_vec(),
            },
        )
        .answering(
            "HSPROD",
            "HSPROD-DR1",
            Answer::TimedOut(std::time::Duration::from_secs(3)),
        )
        .answering(
            "HSPROD",
            "HSPROD-DR2",
            Answer::Http {
                status: 503,
                body: b"FAILED\r\n".to_vec(),
            },
        );
    let function = polling(&dir, probes);
    let started = tokio::time::Instant::now();
    let answer = health_poll::handle(&function, invoked(fixture("schedule.json")))
        .await
        .expect("the poll");
    let handled = answer["handled"].as_array().expect("handled");
    assert_eq!(
        handled.len(),
        7,
        "the tick, Route 53, the four probes, the agents: {answer}"
    );
    assert!(handled.iter().all(|h| h["mirror"] == "HSPROD"), "{answer}");

    assert_eq!(
        *function.prober.asked.lock().expect("asked"),
        status_urls(),
        "every member with a status URL is probed once, the arbiter (none) is not"
    );
    let deadlines = function.prober.deadlines.lock().expect("deadlines").clone();
    assert_eq!(deadlines.len(), 1, "one round of probes");
    assert!(
        deadlines[0] >= started + health_poll::PROBE_BUDGET
            && deadlines[0] <= tokio::time::Instant::now() + health_poll::PROBE_BUDGET,
        "the probes are given the probe budget"
    );

    let state = function.engine.state("HSPROD", Utc::now()).await.expect("state");
    let probed: Vec<Option<(bool, bool, String)>> = ["HSPROD-A", "HSPROD-B", "HSPROD-DR1", "HSPROD-DR2", "HSPROD-ARB"]
        .iter()
        .map(|member| observation(&state, member, Observer::Probe))
        .collect();
    assert_eq!(
        probed,
        [
            Some((true, false, "probe primary: 200 SUCCESS".to_string())),
            Some((false, false, "probe not_primary: 503 FAILED".to_string())),
            Some((false, true, "probe unreachable: timed out after 3 s".to_string())),
            Some((false, false, "probe not_primary: 503 FAILED".to_string())),
            None,
        ],
        "what each probe answered is stored"
    );
    assert_polled(&function, &state);
}

/// GIVEN the reference mirror, Route 53 saying HSPROD-A is unhealthy, HSPROD-A's
/// `mirror_status.cxw` failing its TLS handshake and the other members' probes not
/// finished within the probe budget WHEN health-poll runs THEN HSPROD-A's failed
/// probe is stored as unreachable in words, the members without a result have no
/// probe observation, and the rest of the poll happens as ever: the tick, Route 53,
/// the agents, the heartbeat.
#[tokio::test]
async fn health_poll_stores_a_failed_probe_and_still_does_the_rest_of_the_poll() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tls = "TLS: invalid peer certificate: UnknownIssuer";
    let probes = MemoryProbes::default().answering("HSPROD", "HSPROD-A", Answer::Failed(tls.into()));
    let function = polling(&dir, probes);
    let answer = health_poll::handle(&function, invoked(fixture("schedule.json")))
        .await
        .expect("the poll");
    let handled = answer["handled"].as_array().expect("handled");
    assert_eq!(
        handled.len(),
        4,
        "the tick, Route 53, the one probe that finished, the agents: {answer}"
    );
    assert_eq!(*function.prober.asked.lock().expect("asked"), status_urls());

    let state = function.engine.state("HSPROD", Utc::now()).await.expect("state");
    assert_eq!(
        observation(&state, "HSPROD-A", Observer::Probe),
        Some((false, true, format!("probe unreachable: {tls}"))),
        "the failed probe is stored, in words"
    );
    for member in ["HSPROD-B", "HSPROD-DR1", "HSPROD-DR2"] {
        assert_eq!(
            observation(&state, member, Observer::Probe),
            None,
            "{member}: no result, no probe observation"
        );
    }
    assert_polled(&function, &state);
}
