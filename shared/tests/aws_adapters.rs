//! The AWS adapters against moto server (`scripts/emulator up`): each test carries
//! out the effect through the adapter and then reads it back from the emulator.

#![cfg(feature = "emulator")]

use crate::aws_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_support::{deps, moto_models, unique};
use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::adapters::aws::promotion::{PROMOTION_APPROVED, PROMOTION_EXECUTED};
use shared::adapters::aws::{
    metrics, retry_config, AwsPromotionActions, FailoverRecord, FailoverRole, Heartbeat, SnsNotifier,
};
use shared::domain::{Alert, AlertKind, Severity, SignalKind};
use shared::domain::{FenceMethod, Observer};
use shared::ports::{FenceOrder, Notifier, PromotionActions, PromotionOrder};
use shared::topology::Topology;

fn topology(mirror: &str, health_check: &str, document: &str, instance: &str, bus: Option<&str>) -> Topology {
    let bus = bus.map(|b| format!("event_bus = \"{b}\"")).unwrap_or_default();
    let text = format!(
        r#"
[[mirror]]
name = "{mirror}"
primary_region = "us-east-1"
dr_region = "us-west-2"

[mirror.promotion]
ssm_document = "{document}"
ssm_parameters = {{ FailoverAgents = ["{mirror_lower}-a.internal:2188"] }}
{bus}

[[mirror.member]]
name = "{mirror}-A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"
health_check_id = "{health_check}"

[[mirror.member]]
name = "{mirror}-B"
kind = "failover"
region = "us-east-1"
zone = "us-east-1b"

[[mirror.member]]
name = "{mirror}-DR1"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
instance_id = "{instance}"
iris_instance = "IRIS"
"#,
        mirror_lower = mirror.to_lowercase()
    );
    Topology::parse("test topology", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn instance_id() -> String {
    format!("i-0{}", &unique("x")[2..].repeat(2)[..16])
}

fn order(mirror: &str) -> PromotionOrder {
    PromotionOrder {
        resume: false,
        allow_no_partner: false,
        failback: false,
        mirror: mirror.to_string(),
        request: format!("{mirror}-r1"),
        candidate: format!("{mirror}-DR1"),
        epoch: 4,
    }
}

// ---------------------------------------------------------------- SNS

/// GIVEN an alert WHEN it is published THEN the emulator holds one message with
/// the default, email and SMS texts, the subject and the three attributes.
#[tokio::test]
async fn an_alert_is_one_sns_message_with_texts_subject_and_filter_attributes() {
    let deps = deps().await;
    let mirror = unique("SNS");
    let alert = Alert {
        id: format!("{mirror}-1"),
        mirror: mirror.clone(),
        kind: AlertKind::PromotionRequested,
        severity: Severity::Critical,
        at: Utc::now(),
        request: Some(format!("{mirror}-r1")),
        headline: format!("{mirror}: primary region lost; promote {mirror}-DR1?"),
        facts: vec![
            "Primary lost since 03:00 UTC".into(),
            "Data at risk: 4 s of journal".into(),
        ],
        next_step: "Open the link, check the data-loss estimate, approve or reject".into(),
        link: Some("http://127.0.0.1:8080/a/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into()),
        notice: None,
    };
    SnsNotifier::new(deps.sns.get().clone(), &deps.names.topic_arn)
        .publish(&alert)
        .await
        .expect("published");

    let topics = moto_models("sns", "Topic");
    let topic = topics
        .iter()
        .find(|t| t["arn"] == deps.names.topic_arn.as_str())
        .expect("the topic is in the emulator");
    let sent: Vec<&Value> = topic["sent_notifications"]
        .as_array()
        .expect("sent notifications")
        .iter()
        .filter(|n| n[3]["mirror"]["Value"] == mirror.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "exactly one publication: {sent:?}");
    let (message, subject, attributes) = (&sent[0][1], &sent[0][2], &sent[0][3]);
    let body: Value = serde_json::from_str(message.as_str().expect("message text")).expect("a JSON message");
    assert_eq!(body["default"], alert.email());
    assert_eq!(body["email"], alert.email());
    assert_eq!(body["sms"], alert.sms());
    assert!(alert.sms().chars().count() <= 160);
    assert_eq!(subject, &Value::String(alert.subject()));
    // moto keeps each attribute as {Type, Value}.
    for (name, value) in [
        ("severity", "critical"),
        ("mirror", mirror.as_str()),
        ("kind", "promotion_requested"),
    ] {
        assert_eq!(attributes[name]["Type"], "String", "{name}");
        assert_eq!(attributes[name]["Value"], value, "{name}");
    }
}

/// A topic that does not exist is a delivery failure, not a silent drop.
#[tokio::test]
async fn publishing_to_a_missing_topic_fails_loudly() {
    let deps = deps().await;
    let arn = format!("arn:aws:sns:us-west-2:123456789012:{}", unique("missing"));
    let alert = Alert {
        id: "M-1".into(),
        mirror: "M".into(),
        kind: AlertKind::Degraded,
        severity: Severity::Warning,
        at: Utc::now(),
        request: None,
        headline: "M: no HA".into(),
        facts: vec![],
        next_step: "look".into(),
        link: None,
        notice: None,
    };
    let err = SnsNotifier::new(deps.sns.get().clone(), &arn)
        .publish(&alert)
        .await
        .expect_err("no topic");
    let text = err.to_string();
    assert!(text.contains("SNS Publish") && text.contains("M-1"), "{text}");
    // The service's error code and message, not the SDK's dump of the HTTP response.
    assert!(text.contains("NotFound"), "{text}");
    assert!(!text.contains("SdkBody") && !text.contains("headers"), "{text}");
}

// ---------------------------------------------------------------- Route 53

async fn create_health_check(deps: &shared::adapters::aws::Deps) -> String {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::Https)
        .fully_qualified_domain_name("hsprod-a.example.org")
        .resource_path("/csp/bin/mirror_status.cxw")
        .port(443)
        .build()
        .expect("config");
    let out = deps
        .route53
        .create_health_check()
        .caller_reference(unique("hc"))
        .health_check_config(config)
        .send()
        .await
        .expect("CreateHealthCheck");
    out.health_check().map(|h| h.id().to_string()).expect("an id")
}

/// GIVEN a member's health check that the checkers see answering WHEN polled
/// THEN one Route 53 observation of that member, healthy, with the agreement in words.
#[tokio::test]
async fn the_health_poll_reads_each_members_check_and_folds_it_into_one_observation() {
    let deps = deps().await;
    let id = create_health_check(&deps).await;
    let mirror = unique("R53");
    let topology = topology(&mirror, &id, "doc", &instance_id(), None);
    let now: DateTime<Utc> = Utc::now();
    let signals = deps.route53().poll_health(&topology, now).await.expect("poll");
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].mirror, mirror);
    assert_eq!(signals[0].at, now);
    // moto answers one checker, always healthy (folding is tested on constructed lists).
    assert_eq!(
        signals[0].kind,
        SignalKind::Observation {
            unreachable: false,
            alarm_arn: None,
            since: None,
            member: format!("{mirror}-A"),
            observer: Observer::Route53,
            healthy: true,
            source: "route53 poll: 1 of 1 checkers see it primary".into(),
        }
    );
}

#[tokio::test]
async fn a_poll_where_every_check_fails_is_an_error() {
    let deps = deps().await;
    let topology = topology(
        &unique("R53"),
        "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f",
        "doc",
        &instance_id(),
        None,
    );
    let err = deps
        .route53()
        .poll_health(&topology, Utc::now())
        .await
        .expect_err("no such check");
    assert!(err.to_string().contains("GetHealthCheckStatus"), "{err}");
}

/// Fencing: the old primary's check is inverted, then disabled; each read back.
#[tokio::test]
async fn a_health_check_is_inverted_and_disabled_as_read_back() {
    let deps = deps().await;
    let id = create_health_check(&deps).await;
    let route53 = deps.route53();
    let config = |deps: &shared::adapters::aws::Deps, id: String| {
        let client = deps.route53.clone();
        async move {
            let out = client
                .get_health_check()
                .health_check_id(id)
                .send()
                .await
                .expect("GetHealthCheck");
            let config = out
                .health_check()
                .and_then(|h| h.health_check_config())
                .cloned()
                .expect("config");
            (config.inverted(), config.disabled())
        }
    };
    route53.invert_health_check(&id, true).await.expect("invert");
    assert_eq!(config(&deps, id.clone()).await.0, Some(true));
    route53.disable_health_check(&id, true).await.expect("disable");
    assert_eq!(config(&deps, id.clone()).await, (Some(true), Some(true)));
    route53.invert_health_check(&id, false).await.expect("revert");
    assert_eq!(config(&deps, id.clone()).await.0, Some(false));
}

/// Fencing the old primary region: the failover record is UPSERTed (twice: the
/// second replaces the first) and listed back with its role, check and value.
#[tokio::test]
async fn a_failover_record_is_upserted_as_read_back() {
    let deps = deps().await;
    let zone_name = format!("{}.example.org.", unique("zone"));
    let zone = deps
        .route53
        .create_hosted_zone()
        .name(&zone_name)
        .caller_reference(unique("zone"))
        .send()
        .await
        .expect("CreateHostedZone");
    let zone_id = zone.hosted_zone().map(|z| z.id().to_string()).expect("zone id");
    let check = create_health_check(&deps).await;
    let mut record = FailoverRecord {
        hosted_zone_id: zone_id.clone(),
        name: format!("hsprod.{zone_name}"),
        record_type: "A".into(),
        set_identifier: "us-east-1".into(),
        role: FailoverRole::Primary,
        health_check_id: Some(check.clone()),
        ttl: 60,
        values: vec!["10.0.1.10".into()],
    };
    let route53 = deps.route53();
    route53.upsert_failover_record(&record).await.expect("first upsert");
    record.values = vec!["10.0.1.11".into()];
    route53.upsert_failover_record(&record).await.expect("second upsert");

    let listed = deps
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .expect("list");
    let ours: Vec<_> = listed
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == record.name)
        .collect();
    assert_eq!(ours.len(), 1, "one record after two upserts: {ours:?}");
    let r = ours[0];
    assert_eq!(r.r#type().as_str(), "A");
    assert_eq!(r.set_identifier(), Some("us-east-1"));
    assert_eq!(r.failover().map(|f| f.as_str()), Some("PRIMARY"));
    assert_eq!(r.health_check_id(), Some(check.as_str()));
    assert_eq!(r.ttl(), Some(60));
    let values: Vec<&str> = r.resource_records().iter().map(|v| v.value()).collect();
    assert_eq!(values, ["10.0.1.11"]);
}

// ---------------------------------------------------------------- CloudWatch

/// The heartbeat is a datum of `mirrorgate/ControlPlaneHeartbeat` for the deployment.
#[tokio::test]
async fn the_heartbeat_is_a_metric_datum_read_back_from_cloudwatch() {
    use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Statistic};
    let deps = deps().await;
    let deployment = unique("deployment");
    let now = Utc::now();
    let heartbeat = Heartbeat::new(deps.cloudwatch.get().clone(), &deployment);
    heartbeat.beat(now).await.expect("first beat");
    heartbeat.beat(now).await.expect("second beat");

    let listed = deps
        .cloudwatch
        .list_metrics()
        .namespace(metrics::NAMESPACE)
        .metric_name(metrics::HEARTBEAT_METRIC)
        .dimensions(
            DimensionFilter::builder()
                .name(metrics::DEPLOYMENT_DIMENSION)
                .value(&deployment)
                .build(),
        )
        .send()
        .await
        .expect("ListMetrics");
    assert_eq!(listed.metrics().len(), 1, "{:?}", listed.metrics());

    let to_aws = |t: DateTime<Utc>| aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp());
    let stats = deps
        .cloudwatch
        .get_metric_statistics()
        .namespace(metrics::NAMESPACE)
        .metric_name(metrics::HEARTBEAT_METRIC)
        .dimensions(
            Dimension::builder()
                .name(metrics::DEPLOYMENT_DIMENSION)
                .value(&deployment)
                .build(),
        )
        .start_time(to_aws(now - chrono::Duration::minutes(5)))
        .end_time(to_aws(now + chrono::Duration::minutes(5)))
        .period(600)
        .statistics(Statistic::Sum)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .expect("GetMetricStatistics");
    let sum: f64 = stats.datapoints().iter().filter_map(|d| d.sum()).sum();
    let count: f64 = stats.datapoints().iter().filter_map(|d| d.sample_count()).sum();
    assert_eq!((sum, count), (2.0, 2.0), "{:?}", stats.datapoints());
}

// ---------------------------------------------------------------- Promotion actions

// ------------------------------------------------- The SSM agent's state (moto does not know it)

/// moto 5.2.5 cannot register managed instances and has no DescribeInstanceInformation:
/// this stand-in answers that call with the scripted ping status (an empty list for
/// "none": not a managed instance) and passes every other call on to moto as it is,
/// keeping the bodies of the SendCommand calls it passed on.
struct AgentProxy {
    endpoint: String,
    send_commands: Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn agent_proxy(ping: &'static str) -> AgentProxy {
    use tokio::io::AsyncWriteExt;
    let moto = aws_support::endpoint().trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let send_commands = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let kept = send_commands.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let moto = moto.clone();
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let Some((request, body, target)) = read_message(&mut socket, &mut buffer).await else {
                        return;
                    };
                    let answer = if target.ends_with("describeinstanceinformation") {
                        let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let ids: Vec<Value> = asked["Filters"][0]["Values"].as_array().cloned().unwrap_or_default();
                        let list: Vec<Value> = match ping {
                            "none" => Vec::new(),
                            _ => ids
                                .iter()
                                .map(|id| serde_json::json!({"InstanceId": id, "PingStatus": ping, "LastPingDateTime": 1.7e9}))
                                .collect(),
                        };
                        let body = serde_json::json!({ "InstanceInformationList": list }).to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .into_bytes()
                    } else {
                        if target.ends_with("sendcommand") {
                            kept.lock()
                                .expect("kept")
                                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        }
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(&moto).await else {
                            return;
                        };
                        if upstream.write_all(&request).await.is_err() {
                            return;
                        }
                        let mut answer_buffer = Vec::new();
                        let Some((answer, _, _)) = read_message(&mut upstream, &mut answer_buffer).await else {
                            return;
                        };
                        answer
                    };
                    if socket.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    AgentProxy {
        endpoint,
        send_commands,
    }
}

/// Reads one HTTP message with a content-length (moto's answers and the SDK's
/// requests have one): the whole message, its body, and its x-amz-target in lower case.
async fn read_message(socket: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, Vec<u8>, String)> {
    use tokio::io::AsyncReadExt;
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string()))
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let message: Vec<u8> = buffer.drain(..head_end + length).collect();
    let body = message[head_end..].to_vec();
    Some((message, body, header("x-amz-target").unwrap_or_default()))
}

/// The promotion actions as deployed (the emulator's log group for the output), with
/// SSM behind the agent proxy.
async fn actions_with_agent(ping: &'static str) -> (AwsPromotionActions, AgentProxy) {
    let proxy = agent_proxy(ping).await;
    let actions = actions_on(&proxy.endpoint, 3)
        .await
        .with_output_log_group(Some(&aws_support::env("MIRRORGATE_RUN_COMMAND_LOG_GROUP")));
    (actions, proxy)
}

/// The promote document of ssm/, under a name of its own.
async fn create_document(deps: &shared::adapters::aws::Deps) -> String {
    use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
    let name = unique("Promote");
    let content = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ssm/promote-dr-async.yaml"))
        .expect("the promote document");
    deps.ssm
        .create_document()
        .name(&name)
        .content(content)
        .document_type(DocumentType::Command)
        .document_format(DocumentFormat::Yaml)
        .send()
        .await
        .expect("CreateDocument");
    name
}

/// The events moto's archive on the default bus kept for one request.
fn archived_events(request: &str) -> Vec<Value> {
    let archive = aws_support::env("MIRRORGATE_EVENT_ARCHIVE");
    moto_models("events", "Archive")
        .into_iter()
        .filter(|a| a["name"] == archive.as_str())
        .flat_map(|a| a["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["detail"]["request"] == request)
        .collect()
}

/// GIVEN an approved order WHEN executed THEN the SSM command runs the topology's
/// document with its parameters on the candidate's instance, and the bus carries
/// PromotionApproved then PromotionExecuted with the command id.
#[tokio::test]
async fn an_approved_promotion_runs_the_ssm_document_and_announces_it_on_the_bus() {
    let deps = deps().await;
    let document = create_document(&deps).await;
    let mirror = unique("PRO");
    let instance = instance_id();
    let topology = topology(
        &mirror,
        "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f",
        &document,
        &instance,
        Some("default"),
    );
    let m = topology.mirror(&mirror).expect("mirror");
    let candidate = m.member(&format!("{mirror}-DR1")).expect("candidate");
    let order = order(&mirror);
    let (actions, proxy) = actions_with_agent("Online").await;

    let detail = actions.execute(m, candidate, &order).await.expect("executed");
    let command_id = detail
        .split("command ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the detail names the command")
        .to_string();
    assert!(detail.contains(&document) && detail.contains(&instance), "{detail}");

    let listed = deps
        .ssm
        .list_commands()
        .command_id(&command_id)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 1);
    let command = &listed.commands()[0];
    assert_eq!(command.document_name(), Some(document.as_str()));
    assert_eq!(command.instance_ids(), std::slice::from_ref(&instance));
    // The document's parameters: mirrorgate's own and the site's, never the mirror's
    // name as the instance.
    let parameters = command.parameters().expect("parameters");
    let one = |k: &str| parameters[k].clone();
    assert_eq!(one("MirrorName"), std::slice::from_ref(&mirror));
    assert_eq!(one("InstanceName"), ["IRIS".to_string()]);
    assert_eq!(one("Request"), [format!("{mirror}-r1")]);
    assert_eq!(one("AllowNoPartner"), ["false".to_string()]);
    assert_eq!(one("WaitSeconds"), ["420".to_string()]);
    assert_eq!(one("executionTimeout"), ["480".to_string()]);
    assert_eq!(
        one("FailoverAgents"),
        [format!("{}-a.internal:2188", mirror.to_lowercase())]
    );
    assert_eq!(one("Purpose"), ["disaster".to_string()]);
    assert_eq!(parameters.len(), 8, "{parameters:?}");
    // Delivered within a fifth of the 600 s promotion timeout.
    assert_eq!(command.timeout_seconds(), Some(120));
    // moto keeps no CloudWatchOutputConfig: what the SDK sent says it.
    let sent = proxy.send_commands.lock().expect("sent").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["CloudWatchOutputConfig"],
        serde_json::json!({
            "CloudWatchLogGroupName": aws_support::env("MIRRORGATE_RUN_COMMAND_LOG_GROUP"),
            "CloudWatchOutputEnabled": true
        })
    );
    assert_eq!(sent[0]["TimeoutSeconds"], 120);
    assert_eq!(
        command.comment(),
        Some(format!("mirrorgate {mirror} request {mirror}-r1 epoch 4: promote {mirror}-DR1").as_str())
    );
    // moto 5.2.5 has no ListCommandInvocations; GetCommandInvocation reads the same record.
    let invocation = deps
        .ssm
        .get_command_invocation()
        .command_id(&command_id)
        .instance_id(&instance)
        .send()
        .await
        .expect("GetCommandInvocation");
    assert_eq!(invocation.instance_id(), Some(instance.as_str()));
    assert_eq!(invocation.document_name(), Some(document.as_str()));

    let events = archived_events(&order.request);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["detail-type"].as_str()).collect();
    assert_eq!(kinds, [PROMOTION_APPROVED, PROMOTION_EXECUTED], "{events:?}");
    for e in &events {
        assert_eq!(e["source"], "mirrorgate");
        assert_eq!(e["detail"]["mirror"], mirror.as_str());
        assert_eq!(e["detail"]["candidate"], format!("{mirror}-DR1"));
        assert_eq!(e["detail"]["instance_id"], instance.as_str());
        assert_eq!(e["detail"]["epoch"], 4);
    }
    assert_eq!(
        events[0]["detail"]["command_id"],
        Value::Null,
        "nothing was run when approval was announced"
    );
    assert_eq!(events[1]["detail"]["command_id"], command_id.as_str());
}

/// GIVEN approved orders WHEN handed off through EventBridge THEN the bus carries a
/// promotion as PromotionApproved with the site's detail, and a fencing or a drill as
/// FencingApproved or DrillApproved with the order itself; a call that fails is an
/// error naming the hand-off (the caller retries it).
#[tokio::test]
async fn an_approved_order_is_handed_off_on_the_bus_as_its_kind_of_request() {
    use shared::adapters::aws::promotion::{DRILL_APPROVED, FENCING_APPROVED};
    use shared::domain::RequestKind;
    use shared::ports::HandOff;
    let deps = deps().await;
    let hand_off = deps.hand_off("default");
    for (kind, expected) in [
        (RequestKind::Promotion, PROMOTION_APPROVED),
        (RequestKind::Fencing, FENCING_APPROVED),
        (RequestKind::Drill, DRILL_APPROVED),
    ] {
        let mirror = unique("HOF");
        let instance = instance_id();
        let topology = topology(
            &mirror,
            "0d0d0d0d-0d0d-4d0d-8d0d-0d0d0d0d0d0d",
            "Promote",
            &instance,
            None,
        );
        let order = order(&mirror);
        hand_off.hand_off(&topology, kind, &order).await.expect("handed off");
        let events = archived_events(&order.request);
        assert_eq!(events.len(), 1, "{kind:?}: {events:?}");
        let event = &events[0];
        assert_eq!(event["source"], "mirrorgate");
        assert_eq!(event["detail-type"], expected, "{kind:?}");
        assert_eq!(event["detail"]["mirror"], mirror.as_str());
        assert_eq!(event["detail"]["candidate"], format!("{mirror}-DR1"));
        assert_eq!(event["detail"]["epoch"], 4);
        if kind == RequestKind::Promotion {
            assert_eq!(event["detail"]["instance_id"], instance.as_str());
            assert_eq!(event["detail"]["ssm_document"], "Promote");
        } else {
            let back: PromotionOrder = serde_json::from_value(event["detail"].clone()).expect("the order");
            assert_eq!(back, order);
            assert_eq!(event["detail"].get("instance_id"), None, "no promotion detail");
        }
    }

    // Nothing listens there: the call fails, and says which hand-off.
    let dead = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(retry_config(1))
        .load()
        .await;
    let unreachable =
        shared::adapters::aws::EventBridgeHandOff::new(aws_sdk_eventbridge::Client::new(&dead), "default");
    let mirror = unique("HOF");
    let topology = topology(
        &mirror,
        "0d0d0d0d-0d0d-4d0d-8d0d-0d0d0d0d0d0d",
        "Promote",
        &instance_id(),
        None,
    );
    let failed = unreachable
        .hand_off(&topology, RequestKind::Promotion, &order(&mirror))
        .await
        .expect_err("nothing listens there");
    assert!(
        failed
            .0
            .contains(&format!("hand-off of {mirror}-r1 (EventBridge PutEvents)")),
        "{failed}"
    );
    assert!(archived_events(&format!("{mirror}-r1")).is_empty());
}

/// GIVEN an executor that sent the promote command and stopped before recording it
/// WHEN the promotion is resumed THEN the command it sent is found and not sent again;
/// and a resumption that finds none sends it.
#[tokio::test]
async fn a_resumed_promotion_never_sends_the_promote_command_twice() {
    let deps = deps().await;
    let document = create_document(&deps).await;
    let mirror = unique("RES");
    let instance = instance_id();
    let topology = topology(
        &mirror,
        "0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e",
        &document,
        &instance,
        None,
    );
    let m = topology.mirror(&mirror).expect("mirror");
    let candidate = m.member(&format!("{mirror}-DR1")).expect("candidate");
    let sent_for = |deps: &shared::adapters::aws::Deps| {
        let ssm = deps.ssm.get().clone();
        let instance = instance.clone();
        async move {
            ssm.list_commands()
                .instance_id(&instance)
                .send()
                .await
                .expect("ListCommands")
                .commands()
                .len()
        }
    };

    let mut resumed = order(&mirror);
    resumed.resume = true;
    let (actions, _proxy) = actions_with_agent("Online").await;
    // A resumption with nothing sent before sends it.
    let first = actions.execute(m, candidate, &resumed).await.expect("executed");
    assert!(!first.contains("not sent again"), "{first}");
    assert_eq!(sent_for(&deps).await, 1);

    // A second resumption finds it and sends nothing.
    let second = actions.execute(m, candidate, &resumed).await.expect("executed");
    assert!(second.contains("not sent again"), "{second}");
    let id = first
        .split("command ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("id");
    assert!(second.contains(id), "{second} names {id}");
    assert_eq!(sent_for(&deps).await, 1, "the promote script was sent once");
}

/// GIVEN the candidate's SSM agent is not Online (ConnectionLost), or the instance is
/// no managed instance at all WHEN the promotion runs THEN nothing is sent, and the
/// error says why and that the candidate must be promoted by hand.
#[tokio::test]
async fn no_promote_command_is_sent_to_an_agent_that_is_not_online() {
    let deps = deps().await;
    let document = create_document(&deps).await;
    for (ping, says) in [
        ("ConnectionLost", "is ConnectionLost"),
        ("none", "is not a managed instance of SSM"),
    ] {
        let mirror = unique("OFF");
        let instance = instance_id();
        let topology = topology(
            &mirror,
            "0d0d0d0d-0d0d-4d0d-8d0d-0d0d0d0d0d0d",
            &document,
            &instance,
            None,
        );
        let m = topology.mirror(&mirror).expect("mirror");
        let candidate = m.member(&format!("{mirror}-DR1")).expect("candidate");
        let (actions, proxy) = actions_with_agent(ping).await;
        let err = actions
            .execute(m, candidate, &order(&mirror))
            .await
            .expect_err("not sent");
        let text = err.to_string();
        assert!(text.contains(says), "{text}");
        assert!(
            text.contains("the promote script was not started") && text.contains("promote") && text.contains("by hand"),
            "{text}"
        );
        assert!(proxy.send_commands.lock().expect("sent").is_empty());
        let listed = deps
            .ssm
            .list_commands()
            .instance_id(&instance)
            .send()
            .await
            .expect("ListCommands");
        assert!(listed.commands().is_empty(), "nothing was sent to {instance}");
    }
}

/// moto itself has no DescribeInstanceInformation: an executor that cannot learn
/// whether the agent is Online sends nothing and says so.
#[tokio::test]
async fn a_promotion_that_cannot_see_the_agent_sends_nothing() {
    let deps = deps().await;
    let document = create_document(&deps).await;
    let mirror = unique("UNK");
    let instance = instance_id();
    let topology = topology(
        &mirror,
        "0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c",
        &document,
        &instance,
        None,
    );
    let m = topology.mirror(&mirror).expect("mirror");
    let candidate = m.member(&format!("{mirror}-DR1")).expect("candidate");
    let err = deps
        .actions()
        .execute(m, candidate, &order(&mirror))
        .await
        .expect_err("not sent");
    let text = err.to_string();
    assert!(
        text.contains("SSM DescribeInstanceInformation of") && text.contains("cannot tell whether the SSM agent"),
        "{text}"
    );
    let listed = deps
        .ssm
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert!(listed.commands().is_empty());
}

/// A bus that does not exist: the action fails with a message that says nothing ran.
#[tokio::test]
async fn a_failed_event_stops_the_promotion_and_says_what_was_not_done() {
    let deps = deps().await;
    let mirror = unique("PRO");
    let bus = unique("no-such-bus");
    let topology = topology(
        &mirror,
        "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f",
        "doc",
        &instance_id(),
        Some(&bus),
    );
    let m = topology.mirror(&mirror).expect("mirror");
    let candidate = m.member(&format!("{mirror}-DR1")).expect("candidate");
    let err = deps
        .actions()
        .execute(m, candidate, &order(&mirror))
        .await
        .expect_err("no bus");
    let text = err.to_string();
    assert!(
        text.contains("PromotionApproved") && text.contains("nothing was run"),
        "{text}"
    );
    let listed = deps.ssm.list_commands().send().await.expect("ListCommands");
    assert!(
        !listed
            .commands()
            .iter()
            .any(|c| c.comment().is_some_and(|t| t.contains(&mirror))),
        "no command was sent for {mirror}"
    );
}

// ------------------------------------------------- Retries (a local stand-in that fails on purpose)

/// A tiny AWS JSON endpoint on 127.0.0.1 that answers each call from a script:
/// `fail` answers per target before it succeeds.
struct Flaky {
    endpoint: String,
    calls: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn flaky(failures: &'static [(&'static str, usize, u16)]) -> Flaky {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let calls = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = calls.clone();
    let counters: Arc<Vec<AtomicUsize>> = Arc::new(failures.iter().map(|_| AtomicUsize::new(0)).collect());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let counters = counters.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let head_end = loop {
                        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string()))
                    };
                    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    while buffer.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..head_end + length);
                    let target = header("x-amz-target").unwrap_or_default();
                    seen.lock().expect("calls").push(target.clone());
                    let scripted = failures
                        .iter()
                        .enumerate()
                        .find(|(_, (t, _, _))| target.ends_with(&t.to_lowercase()));
                    let (status, body) = match scripted {
                        Some((i, (_, times, status))) if counters[i].fetch_add(1, Ordering::SeqCst) < *times => {
                            let kind = if *status == 400 {
                                "ThrottlingException"
                            } else {
                                "InternalFailure"
                            };
                            (
                                *status,
                                format!(r#"{{"__type":"{kind}","message":"scripted failure"}}"#),
                            )
                        }
                        _ if target.ends_with("sendcommand") => {
                            (200, r#"{"Command":{"CommandId":"cmd-flaky"}}"#.into())
                        }
                        _ if target.ends_with("describeinstanceinformation") => (
                            200,
                            r#"{"InstanceInformationList":[{"InstanceId":"i-0123456789abcdef0","PingStatus":"Online"}]}"#
                                .into(),
                        ),
                        _ => (200, r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#.into()),
                    };
                    let reason = if status == 200 { "OK" } else { "Error" };
                    let answer = format!(
                        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Flaky { endpoint, calls }
}

async fn actions_on(endpoint: &str, attempts: u32) -> AwsPromotionActions {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-west-2"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(retry_config(attempts))
        .load()
        .await;
    AwsPromotionActions::new(
        aws_sdk_ssm::Client::new(&config),
        aws_sdk_eventbridge::Client::new(&config),
    )
}

/// Throttling (400 ThrottlingException) and 5xx answers are retried with backoff
/// until the call succeeds.
#[tokio::test]
async fn throttled_and_failing_calls_are_retried_until_they_succeed() {
    let server = flaky(&[("AmazonSSM.SendCommand", 2, 400), ("AWSEvents.PutEvents", 1, 500)]).await;
    let actions = actions_on(&server.endpoint, 5).await;
    let topology = topology(
        "RETRY",
        "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f",
        "doc",
        "i-0123456789abcdef0",
        Some("default"),
    );
    let m = topology.mirror("RETRY").expect("mirror");
    let candidate = m.member("RETRY-DR1").expect("candidate");
    let detail = actions
        .execute(m, candidate, &order("RETRY"))
        .await
        .expect("succeeds after retries");
    assert!(detail.contains("command cmd-flaky"), "{detail}");
    let calls = server.calls.lock().expect("calls").clone();
    let count = |t: &str| calls.iter().filter(|c| c.ends_with(&t.to_lowercase())).count();
    assert_eq!(count("AmazonSSM.SendCommand"), 3, "{calls:?}");
    assert_eq!(
        count("AWSEvents.PutEvents"),
        3,
        "1 failed + PromotionApproved + PromotionExecuted: {calls:?}"
    );
}

/// A call that keeps failing gives up after the configured attempts, and the
/// error says what was and was not done.
#[tokio::test]
async fn a_call_that_keeps_failing_gives_up_with_a_clear_error() {
    let server = flaky(&[("AmazonSSM.SendCommand", 100, 500)]).await;
    let actions = actions_on(&server.endpoint, 3).await;
    let topology = topology(
        "GIVEUP",
        "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f",
        "doc",
        "i-0123456789abcdef0",
        Some("default"),
    );
    let m = topology.mirror("GIVEUP").expect("mirror");
    let candidate = m.member("GIVEUP-DR1").expect("candidate");
    let err = actions
        .execute(m, candidate, &order("GIVEUP"))
        .await
        .expect_err("gives up");
    let text = err.to_string();
    assert!(text.contains("SSM SendCommand doc on i-0123456789abcdef0"), "{text}");
    assert!(
        text.contains("the promote script was not started") && text.contains("PromotionApproved"),
        "{text}"
    );
    let calls = server.calls.lock().expect("calls").clone();
    assert_eq!(
        calls.iter().filter(|c| c.ends_with("sendcommand")).count(),
        3,
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .skip_while(|c| !c.ends_with("sendcommand"))
            .any(|c| c.ends_with("putevents")),
        "no PromotionExecuted"
    );
}

// ---------------------------------------------------------------- Fencing

/// SSM in the former primary region, where its instances are managed.
fn ssm_in(deps: &shared::adapters::aws::Deps, region: &str) -> aws_sdk_ssm::Client {
    let config = deps
        .ssm
        .get()
        .config()
        .to_builder()
        .region(aws_sdk_ssm::config::Region::new(region.to_string()))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

/// A fencing document with the parameters the fencing request passes, in the former
/// primary region (SSM documents are regional: it must be where the instances are).
async fn create_fence_document(deps: &shared::adapters::aws::Deps) -> String {
    use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
    let name = unique("Fence");
    let content = serde_json::json!({
        "schemaVersion": "2.2",
        "description": "test fencing script",
        "parameters": {
            "MirrorName": { "type": "String" },
            "InstanceName": { "type": "String" },
            "Method": { "type": "String", "allowedValues": ["demote", "stop"] },
            "Request": { "type": "String" },
        },
        "mainSteps": [{ "action": "aws:runShellScript", "name": "fence", "inputs": { "runCommand": ["echo fence"] } }],
    });
    ssm_in(deps, "us-east-1")
        .create_document()
        .name(&name)
        .content(content.to_string())
        .document_type(DocumentType::Command)
        .document_format(DocumentFormat::Json)
        .send()
        .await
        .expect("CreateDocument");
    name
}

/// GIVEN an approved fencing request WHEN a former failover member is fenced, twice
/// (a resumed or repeated run) THEN one SSM command, in the member's own region (not
/// mirrorgate's), runs the fencing document on its instance with MirrorName, InstanceName (its IRIS instance), Method and Request, its
/// comment names the request and the epoch, and the second run finds it and sends nothing.
#[tokio::test]
async fn fencing_sends_the_fencing_document_once_per_request_and_member() {
    let deps = deps().await;
    let document = create_fence_document(&deps).await;
    let mirror = unique("FEN");
    let instance = instance_id();
    let text = format!(
        r#"
[[mirror]]
name = "{mirror}"
primary_region = "us-east-1"
dr_region = "us-west-2"

[mirror.promotion]
fence_document = "{document}"
fence_method = "stop"

[[mirror.member]]
name = "{mirror}-A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"
instance_id = "{instance}"
iris_instance = "HSPRODIRIS"

[[mirror.member]]
name = "{mirror}-DR1"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
"#
    );
    let topology = Topology::parse("test topology", &text).unwrap_or_else(|e| panic!("{e}"));
    let m = topology.mirror(&mirror).expect("mirror");
    let member = m.member(&format!("{mirror}-A")).expect("member");
    let order = FenceOrder {
        mirror: mirror.clone(),
        request: format!("{mirror}-R2"),
        epoch: 2,
        member: member.name.clone(),
        method: FenceMethod::Stop,
        resume: false,
        unfence: false,
    };

    let first = deps.actions().fence(m, member, &order).await.expect("fenced");
    let command_id = first
        .split("command ")
        .nth(1)
        .expect("the detail names the command")
        .to_string();
    assert!(
        first.contains(&document) && first.contains(&instance) && first.contains("Method=stop"),
        "{first}"
    );

    let listed = ssm_in(&deps, "us-east-1")
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 1);
    let own_region = deps
        .ssm
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(
        own_region.commands().len(),
        0,
        "sent in us-east-1, not in mirrorgate's region"
    );
    let command = &listed.commands()[0];
    assert_eq!(command.command_id(), Some(command_id.as_str()));
    assert_eq!(command.document_name(), Some(document.as_str()));
    let parameters = command.parameters().expect("parameters");
    assert_eq!(parameters["MirrorName"], std::slice::from_ref(&mirror));
    assert_eq!(parameters["InstanceName"], ["HSPRODIRIS".to_string()]);
    assert_eq!(parameters["Method"], ["stop".to_string()]);
    assert_eq!(parameters["Request"], [format!("{mirror}-R2")]);
    assert_eq!(
        command.comment(),
        Some(format!("mirrorgate {mirror} request {mirror}-R2 epoch 2: fence {mirror}-A").as_str())
    );

    // The same fencing again (a resumed executor): found, not sent again.
    let again = deps
        .actions()
        .fence(m, member, &FenceOrder { resume: true, ..order })
        .await
        .expect("fenced");
    assert!(
        again.contains("not sent again") && again.contains(&command_id),
        "{again}"
    );
    let listed = ssm_in(&deps, "us-east-1")
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 1, "the fencing document was sent once");
}

/// A member without its IRIS instance name (a valid topology refuses it; the adapter
/// checks again, since it is handed plain data): nothing is sent, and the error says
/// what to add.
#[tokio::test]
async fn fencing_a_member_without_its_iris_instance_sends_nothing() {
    let deps = deps().await;
    let document = create_fence_document(&deps).await;
    let mirror = unique("FNI");
    let instance = instance_id();
    let text = format!(
        r#"
[[mirror]]
name = "{mirror}"
primary_region = "us-east-1"
dr_region = "us-west-2"

[mirror.promotion]
fence_document = "{document}"

[[mirror.member]]
name = "{mirror}-A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"
instance_id = "{instance}"
iris_instance = "IRIS"

[[mirror.member]]
name = "{mirror}-DR1"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
iris_instance = "IRIS"
"#
    );
    let topology = Topology::parse("test topology", &text).unwrap_or_else(|e| panic!("{e}"));
    let m = topology.mirror(&mirror).expect("mirror");
    let mut member = m.member(&format!("{mirror}-A")).expect("member").clone();
    member.iris_instance = None;
    let member = &member;
    let order = FenceOrder {
        mirror: mirror.clone(),
        request: format!("{mirror}-R2"),
        epoch: 2,
        member: member.name.clone(),
        method: FenceMethod::Demote,
        resume: false,
        unfence: false,
    };
    let error = deps.actions().fence(m, member, &order).await.expect_err("refused");
    assert!(error.to_string().contains("has no iris_instance"), "{error}");
    let listed = ssm_in(&deps, "us-east-1")
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 0, "nothing was sent");
}

/// GIVEN an approved drill WHEN its drill document is run, twice (a resumed run) THEN
/// one SSM command runs the drill document (never the promote document) on the
/// candidate's instance with MirrorName and Request, its comment says DRILL, and the
/// second run finds it and sends nothing.
#[tokio::test]
async fn a_drill_sends_the_drill_document_once_and_never_the_promote_document() {
    use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
    let deps = deps().await;
    let document = unique("Drill");
    let content = serde_json::json!({
        "schemaVersion": "2.2",
        "description": "test drill checks",
        "parameters": {
            "MirrorName": { "type": "String" },
            "Request": { "type": "String" },
        },
        "mainSteps": [{ "action": "aws:runShellScript", "name": "check", "inputs": { "runCommand": ["echo check"] } }],
    });
    deps.ssm
        .create_document()
        .name(&document)
        .content(content.to_string())
        .document_type(DocumentType::Command)
        .document_format(DocumentFormat::Json)
        .send()
        .await
        .expect("CreateDocument");
    let mirror = unique("DRL");
    let instance = instance_id();
    let text = format!(
        r#"
[[mirror]]
name = "{mirror}"
primary_region = "us-east-1"
dr_region = "us-west-2"

[mirror.promotion]
ssm_document = "HSPROD-PromoteDrAsync"
drill_document = "{document}"

[[mirror.member]]
name = "{mirror}-A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"

[[mirror.member]]
name = "{mirror}-DR1"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
instance_id = "{instance}"
iris_instance = "IRIS"
"#
    );
    let topology = Topology::parse("test topology", &text).unwrap_or_else(|e| panic!("{e}"));
    let m = topology.mirror(&mirror).expect("mirror");
    let candidate = m.member(&format!("{mirror}-DR1")).expect("member");
    let order = PromotionOrder {
        mirror: mirror.clone(),
        request: format!("{mirror}-R1"),
        candidate: candidate.name.clone(),
        epoch: 1,
        resume: false,
        allow_no_partner: false,
        failback: false,
    };
    let first = deps.actions().drill(m, candidate, &order).await.expect("drill run");
    assert!(
        first.contains(&document) && first.contains("nothing promoted"),
        "{first}"
    );
    let listed = deps
        .ssm
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 1, "{:?}", listed.commands());
    let command = &listed.commands()[0];
    assert_eq!(command.document_name(), Some(document.as_str()));
    let parameters = command.parameters().expect("parameters");
    assert_eq!(parameters["MirrorName"], std::slice::from_ref(&mirror));
    assert_eq!(parameters["Request"], [format!("{mirror}-R1")]);
    assert_eq!(
        command.comment(),
        Some(format!("mirrorgate {mirror} request {mirror}-R1 epoch 1: DRILL on {mirror}-DR1").as_str())
    );
    let again = deps
        .actions()
        .drill(m, candidate, &PromotionOrder { resume: true, ..order })
        .await
        .expect("drill run");
    assert!(again.contains("not sent again"), "{again}");
    let listed = deps
        .ssm
        .list_commands()
        .instance_id(&instance)
        .send()
        .await
        .expect("ListCommands");
    assert_eq!(listed.commands().len(), 1, "sent once");
}
