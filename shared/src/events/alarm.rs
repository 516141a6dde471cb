//! CloudWatch alarm state changes, in the three shapes AWS delivers them:
//! the alarm's Lambda action payload, the EventBridge `CloudWatch Alarm State Change`
//! event, and the notification an alarm publishes to an SNS topic.
//!
//! All three become the same [`AlarmChange`], so the same transition delivered through
//! two paths gets the same signal id and is folded by the decision core.

use std::collections::BTreeMap;

use aws_lambda_events::cloudwatch_alarms::{CloudWatchAlarm, CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::sns::{CloudWatchAlarmPayload, SnsEvent};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{envelope, json_type, malformed, DecodeError};
use crate::domain::{Member, Mirror, Observer};
use crate::domain::{Signal, SignalKind};
use crate::topology::Topology;

pub(super) const EVENT_SOURCE: &str = "aws.cloudwatch";
pub(super) const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

const ACTION_CONTEXT: &str = "CloudWatch alarm Lambda action payload";
const EVENTBRIDGE_CONTEXT: &str = "EventBridge \"CloudWatch Alarm State Change\" event";

/// The dimension names that identify a member.
const HEALTH_CHECK_DIMENSION: &str = "HealthCheckId";
const INSTANCE_DIMENSION: &str = "InstanceId";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl AlarmState {
    fn as_str(self) -> &'static str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    fn parse(text: &str) -> Option<AlarmState> {
        match text {
            "ALARM" => Some(AlarmState::Alarm),
            "OK" => Some(AlarmState::Ok),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
}

/// One alarm transition, whatever shape it arrived in.
#[derive(Debug)]
struct AlarmChange {
    name: String,
    state: AlarmState,
    /// When the alarm entered `state`.
    at: DateTime<Utc>,
    /// Every metric dimension of the alarm, in order.
    dimensions: Vec<(String, String)>,
    /// The alarm's ARN, when the payload carries it and it names this alarm.
    arn: Option<String>,
}

/// The parts of a CloudWatch alarm ARN,
/// `arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:NAME` (the name may itself hold `:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

impl<'a> AlarmArn<'a> {
    /// `None` for anything but a CloudWatch alarm ARN with a region, a 12-digit
    /// account and a name.
    pub fn parse(arn: &'a str) -> Option<AlarmArn<'a>> {
        let mut parts = arn.splitn(7, ':');
        let (Some("arn"), Some(partition), Some("cloudwatch"), Some(region), Some(account), Some("alarm"), Some(name)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        (word(partition)
            && word(region)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty())
        .then_some(AlarmArn {
            partition,
            region,
            account,
            name,
        })
    }
}

/// The ARN a payload carries, kept only if it is the ARN of the alarm it speaks of
/// (anything else is ignored: it only serves to read the alarm's state again).
fn own_arn(arn: Option<&str>, name: &str) -> Option<String> {
    let arn = arn?.trim();
    AlarmArn::parse(arn).filter(|a| a.name == name).map(|_| arn.to_string())
}

/// The alarm Lambda action payload (`alarmData`, `source: "aws.cloudwatch"`).
pub(super) fn decode_action(
    payload: &Value,
    object: &Map<String, Value>,
    topology: &Topology,
) -> Result<Vec<Signal>, DecodeError> {
    match object.get("source") {
        Some(Value::String(s)) if s == EVENT_SOURCE => {}
        Some(Value::String(s)) => {
            return Err(malformed(
                ACTION_CONTEXT,
                format!("source is {s:?}; expected \"{EVENT_SOURCE}\""),
            ));
        }
        Some(other) => {
            return Err(malformed(
                ACTION_CONTEXT,
                format!("source is a JSON {}; expected \"{EVENT_SOURCE}\"", json_type(other)),
            ));
        }
        None => {
            return Err(malformed(
                ACTION_CONTEXT,
                format!("source is missing; expected \"{EVENT_SOURCE}\""),
            ))
        }
    }
    let alarm = CloudWatchAlarm::<Value, Value>::deserialize(payload).map_err(|e| malformed(ACTION_CONTEXT, e))?;
    let mut change = from_alarm_data(alarm.alarm_data, object.get("alarmData"), ACTION_CONTEXT, "alarmData")?;
    change.arn = own_arn(alarm.alarm_arn.as_deref(), &change.name);
    signal(change, topology).map(|s| s.into_iter().collect())
}

/// The EventBridge `CloudWatch Alarm State Change` event: its detail has the same
/// shape as the action payload's `alarmData`; `resources[0]` is the alarm's ARN.
pub(super) fn decode_eventbridge(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let event = envelope::<CloudWatchAlarmData<Value, Value>>(payload, EVENTBRIDGE_CONTEXT)?;
    let mut change = from_alarm_data(event.detail, payload.get("detail"), EVENTBRIDGE_CONTEXT, "detail")?;
    let resource = payload.get("resources").and_then(|r| r.get(0)).and_then(Value::as_str);
    change.arn = own_arn(resource, &change.name);
    signal(change, topology).map(|s| s.into_iter().collect())
}

fn from_alarm_data(
    data: CloudWatchAlarmData<Value, Value>,
    raw: Option<&Value>,
    context: &str,
    path: &str,
) -> Result<AlarmChange, DecodeError> {
    let state = data.state.ok_or_else(|| {
        malformed(
            context,
            format!("{path}.state is missing; expected the alarm's new state (value, reason, timestamp)"),
        )
    })?;
    // The library defaults a missing value to OK; a missing value must not read as healthy.
    let raw_value = raw.and_then(|r| r.get("state")).and_then(|s| s.get("value"));
    if raw_value.is_none_or(Value::is_null) {
        return Err(malformed(
            context,
            format!("{path}.state.value is missing; expected ALARM, OK or INSUFFICIENT_DATA"),
        ));
    }
    let state_value = match state.value {
        CloudWatchAlarmStateValue::Alarm => AlarmState::Alarm,
        CloudWatchAlarmStateValue::Ok => AlarmState::Ok,
        CloudWatchAlarmStateValue::InsufficientData => AlarmState::InsufficientData,
        other => {
            return Err(malformed(
                context,
                format!("{path}.state.value {other:?} is not ALARM, OK or INSUFFICIENT_DATA"),
            ));
        }
    };
    let dimensions = configuration_dimensions(&data.configuration)
        .map_err(|e| malformed(format!("{context}, field {path}.configuration"), e))?;
    Ok(AlarmChange {
        name: data.alarm_name,
        state: state_value,
        at: state.timestamp,
        dimensions,
        arn: None,
    })
}

/// The part of an alarm's configuration that names what it watches. The library's
/// `CloudWatchMetricAlarmConfiguration` requires `metricStat` on every metric, which the
/// expression entries of metric-math and anomaly-detection alarms do not have, so the
/// dimensions are read with this narrower view. Composite alarms have no metrics.
#[derive(Deserialize)]
struct MetricsView {
    #[serde(default)]
    metrics: Option<Vec<MetricView>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricView {
    #[serde(default)]
    metric_stat: Option<MetricStatView>,
}

#[derive(Deserialize)]
struct MetricStatView {
    metric: MetricDimensionsView,
}

#[derive(Deserialize)]
struct MetricDimensionsView {
    #[serde(default)]
    dimensions: Option<BTreeMap<String, String>>,
}

fn configuration_dimensions(configuration: &Value) -> Result<Vec<(String, String)>, serde_json::Error> {
    if !configuration.is_object() {
        return Ok(Vec::new());
    }
    let view = MetricsView::deserialize(configuration)?;
    Ok(view
        .metrics
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.metric_stat)
        .flat_map(|s| s.metric.dimensions.unwrap_or_default())
        .collect())
}

/// The SNS event: each record's Message is the alarm notification, as a JSON string.
pub(super) fn decode_sns(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let event = SnsEvent::deserialize(payload).map_err(|e| malformed("SNS event", e))?;
    let mut signals = Vec::with_capacity(event.records.len());
    for (i, record) in event.records.iter().enumerate() {
        let change = sns_alarm(i, &record.sns.message)?;
        signals.extend(signal(change, topology)?);
    }
    Ok(signals)
}

/// Fields of the SNS alarm notification that mirrorgate does not read, which the
/// library's `CloudWatchAlarmPayload` requires but CloudWatch sends as `null` (e.g.
/// `AlarmDescription` of an alarm without one) or leaves out (e.g. `Threshold` of an
/// anomaly-detection alarm, `Trigger` of a composite alarm). They are filled with empty
/// values before the message is parsed; the fields mirrorgate reads are never filled.
const SNS_UNREAD_FIELDS: [(&str, Empty); 7] = [
    ("AlarmDescription", Empty::Text),
    ("AWSAccountId", Empty::Text),
    ("NewStateReason", Empty::Text),
    ("Region", Empty::Text),
    ("AlarmArn", Empty::Text),
    ("OldStateValue", Empty::Text),
    ("Trigger", Empty::Object),
];
const SNS_UNREAD_TRIGGER_FIELDS: [(&str, Empty); 6] = [
    ("Period", Empty::Number),
    ("EvaluationPeriods", Empty::Number),
    ("ComparisonOperator", Empty::Text),
    ("Threshold", Empty::Number),
    ("TreatMissingData", Empty::Text),
    ("EvaluateLowSampleCountPercentile", Empty::Text),
];

#[derive(Debug, Clone, Copy)]
enum Empty {
    Text,
    Object,
    Number,
}

impl Empty {
    fn value(self) -> Value {
        match self {
            Empty::Text => Value::String(String::new()),
            Empty::Object => Value::Object(Map::new()),
            Empty::Number => Value::from(0),
        }
    }
}

fn fill_unread(object: &mut Map<String, Value>, fields: &[(&str, Empty)]) {
    for (field, empty) in fields {
        let entry = object.entry(*field).or_insert(Value::Null);
        if entry.is_null() {
            *entry = empty.value();
        }
    }
}

fn sns_alarm(record: usize, message: &str) -> Result<AlarmChange, DecodeError> {
    let not_an_alarm = |problem: String| DecodeError::NotAnAlarm { record, problem };
    let mut value: Value =
        serde_json::from_str(message).map_err(|e| not_an_alarm(format!("its Message is not JSON ({e})")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(not_an_alarm(format!(
            "its Message is a JSON {}, not an object",
            json_type(&value)
        )));
    };
    if !object.contains_key("AlarmName") || !object.contains_key("NewStateValue") {
        return Err(not_an_alarm(
            "its Message has no AlarmName and NewStateValue".to_string(),
        ));
    }
    fill_unread(object, &SNS_UNREAD_FIELDS);
    if let Some(Value::Object(trigger)) = object.get_mut("Trigger") {
        fill_unread(trigger, &SNS_UNREAD_TRIGGER_FIELDS);
    }
    let context = format!("SNS record {record}: CloudWatch alarm notification in Message");
    let alarm = CloudWatchAlarmPayload::deserialize(&value).map_err(|e| malformed(&context, e))?;
    let state = AlarmState::parse(&alarm.new_state_value).ok_or_else(|| {
        malformed(
            &context,
            format!(
                "NewStateValue {:?} is not ALARM, OK or INSUFFICIENT_DATA",
                alarm.new_state_value
            ),
        )
    })?;
    let at = alarm.state_change_time.parse::<DateTime<Utc>>().map_err(|e| {
        malformed(
            &context,
            format!(
                "StateChangeTime {:?} is not a timestamp ({e}); expected ISO 8601 like 2015-06-03T17:43:27.123+0000",
                alarm.state_change_time
            ),
        )
    })?;
    let trigger = alarm.trigger;
    let mut dimensions: Vec<(String, String)> = trigger.dimensions.into_iter().map(|d| (d.name, d.value)).collect();
    for metric in trigger.metrics {
        if let Some(stat) = metric.metric_stat {
            dimensions.extend(stat.metric.dimensions.into_iter().map(|d| (d.name, d.value)));
        }
    }
    let arn = own_arn(Some(&alarm.alarm_arn), &alarm.alarm_name);
    Ok(AlarmChange {
        name: alarm.alarm_name,
        state,
        at,
        dimensions,
        arn,
    })
}

/// Resolves the member and makes the observation; `None` for `INSUFFICIENT_DATA`.
fn signal(change: AlarmChange, topology: &Topology) -> Result<Option<Signal>, DecodeError> {
    let (mirror, member, observer) = resolve(topology, &change.name, &change.dimensions)?;
    let healthy = match change.state {
        AlarmState::Alarm => false,
        AlarmState::Ok => true,
        AlarmState::InsufficientData => return Ok(None),
    };
    Ok(Some(Signal {
        mirror: mirror.name.clone(),
        id: Some(format!(
            "alarm:{}:{}",
            change.name,
            change.at.to_rfc3339_opts(SecondsFormat::Millis, true)
        )),
        at: change.at,
        kind: SignalKind::Observation {
            member: member.name.clone(),
            observer,
            healthy,
            source: format!("alarm {} {}", change.name, change.state.as_str()),
            since: None,
            alarm_arn: change.arn,
            unreachable: false,
        },
    }))
}

/// Which member an alarm speaks for: first its `HealthCheckId` (Route 53) and
/// `InstanceId` (instance) dimensions, then its name in the topology's alarm mapping.
/// Dimensions naming two different members are ambiguous unless the alarm is mapped by name.
fn resolve<'t>(
    topology: &'t Topology,
    alarm: &str,
    dimensions: &[(String, String)],
) -> Result<(&'t Mirror, &'t Member, Observer), DecodeError> {
    let mut found: Vec<(&Mirror, &Member, Observer)> = Vec::new();
    for (name, value) in dimensions {
        let hit = match name.as_str() {
            HEALTH_CHECK_DIMENSION => topology.by_health_check(value).map(|(m, x)| (m, x, Observer::Route53)),
            INSTANCE_DIMENSION => topology.by_instance(value).map(|(m, x)| (m, x, Observer::Instance)),
            _ => None,
        };
        if let Some(hit) = hit {
            found.push(hit);
        }
    }
    let mut members: Vec<String> = found
        .iter()
        .map(|(m, x, _)| format!("{} of mirror {}", x.name, m.name))
        .collect();
    members.sort_unstable();
    members.dedup();
    match members.len() {
        0 => {}
        1 => {
            // One member; Route 53's view of it wins over an instance metric in the same alarm.
            let route53 = found.iter().find(|(_, _, o)| *o == Observer::Route53);
            if let Some(hit) = route53.or(found.first()) {
                return Ok(*hit);
            }
        }
        _ => {
            return topology
                .by_alarm_name(alarm)
                .ok_or_else(|| DecodeError::AmbiguousAlarm {
                    alarm: alarm.to_string(),
                    members,
                });
        }
    }
    topology.by_alarm_name(alarm).ok_or_else(|| DecodeError::UnknownAlarm {
        alarm: alarm.to_string(),
        identifiers: dimensions
            .iter()
            .filter(|(name, _)| name == HEALTH_CHECK_DIMENSION || name == INSTANCE_DIMENSION)
            .map(|(name, value)| format!("{name}={value}"))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::topology::example;

    fn dims(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn who(r: Result<(&Mirror, &Member, Observer), DecodeError>) -> Result<(String, Observer), String> {
        r.map(|(_, m, o)| (m.name.clone(), o)).map_err(|e| e.kind().to_string())
    }

    #[test]
    fn alarm_arns_are_read_into_their_parts() {
        assert_eq!(
            AlarmArn::parse("arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-A-mirror-status"),
            Some(AlarmArn {
                partition: "aws",
                region: "us-east-1",
                account: "123456789012",
                name: "HSPROD-A-mirror-status",
            })
        );
        // A name may hold colons; other partitions have other words.
        let arn = AlarmArn::parse("arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:a:b").expect("parses");
        assert_eq!(
            (arn.partition, arn.region, arn.name),
            ("aws-us-gov", "us-gov-west-1", "a:b")
        );
        for bad in [
            "",
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:",
            "arn:aws:cloudwatch::123456789012:alarm:x",
            "arn:aws:cloudwatch:us-east-1:1234:alarm:x",
            "arn:aws:sns:us-east-1:123456789012:alarm:x",
            "arn:aws:cloudwatch:us-east-1:123456789012:dashboard/x",
            "arn:aws:cloudwatch:US-EAST-1:123456789012:alarm:x",
        ] {
            assert_eq!(AlarmArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_the_arn_of_the_alarm_spoken_of_is_kept() {
        let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HSPROD-A-mirror-status";
        assert_eq!(own_arn(Some(arn), "HSPROD-A-mirror-status"), Some(arn.to_string()));
        assert_eq!(own_arn(Some(arn), "HSPROD-B-mirror-status"), None);
        assert_eq!(own_arn(Some(""), "x"), None);
        assert_eq!(own_arn(None, "x"), None);
    }

    #[test]
    fn dimensions_resolve_before_the_alarm_name() {
        let t = example();
        // HSPROD-A-iris-down is mapped to HSPROD-A, but its dimension names HSPROD-B.
        let r = resolve(
            &t,
            "HSPROD-A-iris-down",
            &dims(&[("InstanceId", "i-0bbbbbbbbbbbbbbb2")]),
        );
        assert_eq!(who(r), Ok(("HSPROD-B".into(), Observer::Instance)));
        let r = resolve(
            &t,
            "x",
            &dims(&[("HealthCheckId", "44444444-4444-4444-8444-444444444444")]),
        );
        assert_eq!(who(r), Ok(("HSPROD-DR1".into(), Observer::Route53)));
    }

    #[test]
    fn unknown_dimensions_fall_back_to_the_alarm_name() {
        let t = example();
        let r = resolve(
            &t,
            "HSPROD-B-iris-down",
            &dims(&[("InstanceId", "i-0123456789abcdef0")]),
        );
        assert_eq!(who(r), Ok(("HSPROD-B".into(), Observer::Instance)));
        let r = resolve(&t, "HSPROD-B-iris-down", &[]);
        assert_eq!(who(r), Ok(("HSPROD-B".into(), Observer::Instance)));
    }

    #[test]
    fn route53_wins_over_instance_for_the_same_member() {
        let t = example();
        let d = dims(&[
            ("InstanceId", "i-0aaaaaaaaaaaaaaa1"),
            ("HealthCheckId", "11111111-1111-4111-8111-111111111111"),
        ]);
        assert_eq!(who(resolve(&t, "x", &d)), Ok(("HSPROD-A".into(), Observer::Route53)));
    }

    #[test]
    fn two_members_are_ambiguous_unless_mapped_by_name() {
        let t = example();
        let d = dims(&[
            ("InstanceId", "i-0aaaaaaaaaaaaaaa1"),
            ("InstanceId", "i-0bbbbbbbbbbbbbbb2"),
        ]);
        let e = resolve(&t, "both", &d).expect_err("ambiguous");
        assert_eq!(e.kind(), "ambiguous_alarm");
        assert!(
            e.to_string()
                .contains("HSPROD-A of mirror HSPROD, HSPROD-B of mirror HSPROD"),
            "{e}"
        );
        assert_eq!(
            who(resolve(&t, "HSPROD-B-iris-down", &d)),
            Ok(("HSPROD-B".into(), Observer::Instance))
        );
    }

    #[test]
    fn nothing_known_names_the_identifiers() {
        let t = example();
        let d = dims(&[("InstanceId", "i-0123456789abcdef0"), ("AutoScalingGroupName", "asg")]);
        let e = resolve(&t, "cpu", &d).expect_err("unknown");
        assert_eq!(
            e,
            DecodeError::UnknownAlarm {
                alarm: "cpu".into(),
                identifiers: vec!["InstanceId=i-0123456789abcdef0".into()]
            }
        );
    }

    #[test]
    fn configuration_dimensions_skip_expressions_and_composites() {
        let c = json!({"metrics": [
            {"id": "e1", "expression": "m1*1", "returnData": true},
            {"id": "m1", "metricStat": {"metric": {"name": "x", "dimensions": {"InstanceId": "i-1"}}, "period": 60, "stat": "Average"}},
            {"id": "m2", "metricStat": {"metric": {"name": "y"}, "period": 86400, "stat": "Average"}}
        ]});
        assert_eq!(
            configuration_dimensions(&c).expect("reads"),
            dims(&[("InstanceId", "i-1")])
        );
        let composite = json!({"alarmRule": "ALARM(a) OR ALARM(b)"});
        assert_eq!(configuration_dimensions(&composite).expect("reads"), vec![]);
        assert!(configuration_dimensions(&json!({"metrics": 3})).is_err());
    }

    fn message(fields: Value) -> String {
        let mut m = json!({
            "AlarmName": "HSPROD-B-iris-down",
            "NewStateValue": "ALARM",
            "StateChangeTime": "2022-09-25T18:50:37.811+0000",
        });
        if let (Some(m), Some(f)) = (m.as_object_mut(), fields.as_object()) {
            m.extend(f.clone());
        }
        m.to_string()
    }

    #[test]
    fn sns_messages_with_null_or_absent_unread_fields_are_read() {
        // As CloudWatch sends them: AlarmDescription null, Unit null, no Threshold on
        // an anomaly-detection alarm, no Trigger at all on a composite alarm.
        let m = message(
            json!({"AlarmDescription": null, "Trigger": {"MetricName": "CPUUtilization", "Unit": null,
            "Dimensions": [{"value": "i-0aaaaaaaaaaaaaaa1", "name": "InstanceId"}], "ThresholdMetricId": "ad1"}}),
        );
        let change = sns_alarm(0, &m).expect("decodes");
        assert_eq!(change.dimensions, dims(&[("InstanceId", "i-0aaaaaaaaaaaaaaa1")]));
        assert_eq!(
            change.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "2022-09-25T18:50:37.811Z"
        );
        let change = sns_alarm(0, &message(json!({"AlarmRule": "ALARM(a)"}))).expect("composite");
        assert_eq!(
            (change.name.as_str(), change.state, change.dimensions.len()),
            ("HSPROD-B-iris-down", AlarmState::Alarm, 0)
        );
    }

    #[test]
    fn sns_fields_mirrorgate_reads_are_never_filled() {
        let e = sns_alarm(2, &message(json!({"StateChangeTime": null}))).expect_err("no time");
        assert_eq!(e.kind(), "malformed");
        assert!(
            e.to_string()
                .starts_with("malformed SNS record 2: CloudWatch alarm notification in Message:"),
            "{e}"
        );
        let e = sns_alarm(0, &message(json!({"NewStateValue": "BAD"}))).expect_err("bad state");
        assert!(
            e.to_string()
                .contains("NewStateValue \"BAD\" is not ALARM, OK or INSUFFICIENT_DATA"),
            "{e}"
        );
        let e = sns_alarm(0, &message(json!({"StateChangeTime": "yesterday"}))).expect_err("bad time");
        assert!(
            e.to_string()
                .contains("StateChangeTime \"yesterday\" is not a timestamp"),
            "{e}"
        );
    }
}
