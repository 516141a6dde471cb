//! Event decoding: the payloads AWS delivers to mirrorgate's functions, and the mirror
//! events the IRIS hosts send, turned into [`Signal`]s already resolved against the
//! topology (mirror and member names).
//!
//! The shape is recognised from the payload itself, so one function can take them all:
//!
//! | shape | recognised by | module |
//! | --- | --- | --- |
//! | CloudWatch alarm Lambda action payload | `alarmData` and `source: "aws.cloudwatch"` | `alarm` |
//! | SNS event carrying CloudWatch alarm notifications | `Records[].Sns` | `alarm` |
//! | EventBridge `CloudWatch Alarm State Change` | `detail-type` + `source: "aws.cloudwatch"` | `alarm` |
//! | EventBridge `EC2 Instance State-change Notification` | `detail-type` + `source: "aws.ec2"` | `ec2` |
//! | EventBridge `Scheduled Event` | `detail-type` + `source: "aws.events"` | `schedule` |
//! | EventBridge `EC2 Command Invocation Status-change Notification` | `detail-type` + `source: "aws.ssm"` | `ssm` |
//! | mirrorgate mirror events | `detail-type` + `source: "mirrorgate.iris"` | `mirror` |
//! | mirrorgate probes of `mirror_status.cxw` | `detail-type` + `source: "mirrorgate.probe"` | `mirror` |
//!
//! docs/events.md is the contract, for people; this module must agree with it.
//! Decoding never panics: every problem is a [`DecodeError`] that says what was wrong
//! and what was expected, and carries a short [`DecodeError::kind`] for metrics.

mod alarm;
mod ec2;
mod mirror;
mod schedule;
mod ssm;

use std::fmt;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::Signal;
use crate::topology::Topology;

pub use alarm::AlarmArn;
pub use mirror::{
    JournalLatencyDetail, LatencyDetail, MemberStatusDetail, ProbeDetail, ProbeResult, DETAIL_TYPE_HEARTBEAT,
    DETAIL_TYPE_JOURNAL_LATENCY, DETAIL_TYPE_PROBE, DETAIL_TYPE_STATUS, MIRROR_EVENT_SOURCE, PROBE_EVENT_SOURCE,
};
pub use ssm::InvocationStatusDetail;

/// The shapes [`decode`] accepts, for error messages.
pub const ACCEPTED_SHAPES: &str = "a CloudWatch alarm Lambda action payload (alarmData, with source \
     aws.cloudwatch), an EventBridge event (detail-type, source, detail) or an SNS event carrying \
     CloudWatch alarm notifications (Records[].Sns)";

/// The EventBridge events mirrorgate handles, as `source` / `detail-type`.
pub const HANDLED_EVENTS: &str = "aws.cloudwatch / CloudWatch Alarm State Change, \
     aws.ec2 / EC2 Instance State-change Notification, aws.events / Scheduled Event, \
     aws.ssm / EC2 Command Invocation Status-change Notification, \
     mirrorgate.iris / Mirror Member Status, mirrorgate.iris / Mirror Member Heartbeat, \
     mirrorgate.iris / Mirror Journal Latency, mirrorgate.probe / Mirror Status Probe";

/// A payload that cannot be used. Retrying it will not help: it belongs in the
/// dead-letter destination, with this message in the log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("the payload is not JSON ({0}); mirrorgate expects an AWS event as JSON")]
    NotJson(String),

    #[error("unrecognised payload: {found}; mirrorgate accepts {ACCEPTED_SHAPES}")]
    Unrecognised { found: String },

    #[error(
        "EventBridge event with source {event_source:?} and detail-type {detail_type:?} is not handled by \
         mirrorgate; it handles {HANDLED_EVENTS}. Narrow the EventBridge rule that sends it here"
    )]
    Unsupported { event_source: String, detail_type: String },

    /// A recognised shape with a missing, mistyped or impossible field. `context` says
    /// where (the shape and the field path), `problem` what was wrong and expected.
    #[error("malformed {context}: {problem}")]
    Malformed { context: String, problem: String },

    #[error(
        "SNS record {record} is not a CloudWatch alarm notification: {problem}; mirrorgate expects the \
         alarm JSON that CloudWatch publishes to an SNS topic (AlarmName, NewStateValue, StateChangeTime, \
         Trigger). Subscribe this function only to the topic that receives the alarms"
    )]
    NotAnAlarm { record: usize, problem: String },

    #[error(
        "alarm {alarm:?} matches no member of the topology: {}; add the alarm to the topology \
         (a [[mirror.alarm]] entry with name = {alarm:?}), or the id to its member's instance_id or \
         health_check_id",
        describe_unmatched(.identifiers)
    )]
    UnknownAlarm {
        alarm: String,
        /// The `InstanceId=` / `HealthCheckId=` dimensions the alarm carries, none of them known.
        identifiers: Vec<String>,
    },

    #[error(
        "alarm {alarm:?} watches more than one member ({}); mirrorgate needs to know which member it \
         speaks for: map it by name with a [[mirror.alarm]] entry in the topology, or use one alarm per member",
        .members.join(", ")
    )]
    AmbiguousAlarm { alarm: String, members: Vec<String> },

    #[error(
        "EC2 instance {instance_id} is not the instance_id of any member in the topology; add it to its \
         member in the topology, or leave it out of the EventBridge rule"
    )]
    UnknownInstance { instance_id: String },

    #[error(
        "mirror {mirror:?} is not in the topology; add it to the topology, or correct the mirror name the \
         host sends"
    )]
    UnknownMirror { mirror: String },

    #[error(
        "member {member:?} is not a member of mirror {mirror:?} in the topology; add it to that mirror in \
         the topology, or correct the member name the host sends"
    )]
    UnknownMember { mirror: String, member: String },
}

impl DecodeError {
    /// A short, stable category for metrics and log fields.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::NotJson(_) => "not_json",
            DecodeError::Unrecognised { .. } => "unrecognised",
            DecodeError::Unsupported { .. } => "unsupported",
            DecodeError::Malformed { .. } => "malformed",
            DecodeError::NotAnAlarm { .. } => "not_an_alarm",
            DecodeError::UnknownAlarm { .. } => "unknown_alarm",
            DecodeError::AmbiguousAlarm { .. } => "ambiguous_alarm",
            DecodeError::UnknownInstance { .. } => "unknown_instance",
            DecodeError::UnknownMirror { .. } => "unknown_mirror",
            DecodeError::UnknownMember { .. } => "unknown_member",
        }
    }

    /// Every value [`DecodeError::kind`] can return.
    pub const KINDS: [&'static str; 10] = [
        "not_json",
        "unrecognised",
        "unsupported",
        "malformed",
        "not_an_alarm",
        "unknown_alarm",
        "ambiguous_alarm",
        "unknown_instance",
        "unknown_mirror",
        "unknown_member",
    ];
}

fn describe_unmatched(identifiers: &[String]) -> String {
    if identifiers.is_empty() {
        "it has no InstanceId or HealthCheckId dimension, and no [[mirror.alarm]] entry has its name".to_string()
    } else {
        format!(
            "its dimension{} {} {} not the instance_id or health_check_id of any member, and no [[mirror.alarm]] \
             entry has its name",
            if identifiers.len() == 1 { "" } else { "s" },
            identifiers.join(", "),
            if identifiers.len() == 1 { "is" } else { "are" },
        )
    }
}

fn malformed(context: impl Into<String>, problem: impl fmt::Display) -> DecodeError {
    DecodeError::Malformed {
        context: context.into(),
        problem: problem.to_string(),
    }
}

/// Decodes one payload as delivered to a Lambda function (or posted to the local server).
///
/// Returns one signal per thing learned, which may be none (an alarm entering
/// `INSUFFICIENT_DATA`, an instance `pending`) or several (an SNS event with several
/// records, a schedule tick for every mirror).
pub fn decode(payload: &[u8], topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    decode_value(&value, topology)
}

/// [`decode`] for a payload already parsed as JSON.
pub fn decode_value(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let Some(object) = payload.as_object() else {
        return Err(DecodeError::Unrecognised {
            found: format!("a JSON {}", json_type(payload)),
        });
    };
    // The alarm action payload first: some samples of it also carry detail-type.
    if object.contains_key("alarmData") {
        return alarm::decode_action(payload, object, topology);
    }
    if let Some(records) = object.get("Records") {
        return match records.as_array() {
            Some(list) if list.iter().all(|r| r.get("Sns").is_some()) => alarm::decode_sns(payload, topology),
            Some(_) => Err(DecodeError::Unrecognised {
                found: "a Records list whose entries have no Sns field (an SQS, S3, Kinesis or DynamoDB event?)"
                    .to_string(),
            }),
            None => Err(DecodeError::Unrecognised {
                found: format!("a Records field that is a JSON {}, not a list", json_type(records)),
            }),
        };
    }
    if object.contains_key("detail-type") {
        return decode_eventbridge(payload, object, topology);
    }
    Err(DecodeError::Unrecognised {
        found: describe_object(object),
    })
}

fn decode_eventbridge(
    payload: &Value,
    object: &Map<String, Value>,
    topology: &Topology,
) -> Result<Vec<Signal>, DecodeError> {
    let detail_type = string_field(object, "detail-type", "EventBridge event")?;
    let source = string_field(object, "source", "EventBridge event")?;
    match (source, detail_type) {
        (alarm::EVENT_SOURCE, alarm::DETAIL_TYPE) => alarm::decode_eventbridge(payload, topology),
        (ec2::EVENT_SOURCE, ec2::DETAIL_TYPE) => ec2::decode(payload, topology),
        (schedule::EVENT_SOURCE, schedule::DETAIL_TYPE) => schedule::decode(payload, topology),
        (ssm::SSM_SOURCE, ssm::DETAIL_TYPE) => ssm::decode(payload, topology),
        (MIRROR_EVENT_SOURCE, DETAIL_TYPE_STATUS | DETAIL_TYPE_HEARTBEAT | DETAIL_TYPE_JOURNAL_LATENCY) => {
            mirror::decode(payload, detail_type, topology)
        }
        (PROBE_EVENT_SOURCE, DETAIL_TYPE_PROBE) => mirror::decode_probe(payload, topology),
        _ => Err(DecodeError::Unsupported {
            event_source: source.to_string(),
            detail_type: detail_type.to_string(),
        }),
    }
}

fn string_field<'a>(object: &'a Map<String, Value>, field: &str, context: &str) -> Result<&'a str, DecodeError> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(malformed(
            context,
            format!("{field} is a JSON {}; expected a string", json_type(other)),
        )),
        None => Err(malformed(context, format!("{field} is missing; expected a string"))),
    }
}

/// An EventBridge event with its detail parsed as `T`, its time and its delivery id.
struct Envelope<T> {
    detail: T,
    at: DateTime<Utc>,
    /// `eb:` and the EventBridge event id.
    id: Option<String>,
}

/// Parses the EventBridge envelope (`aws_lambda_events` type), then its detail, so that
/// errors say which of the two was wrong. The event's `time` is required.
fn envelope<T: for<'de> Deserialize<'de>>(payload: &Value, context: &str) -> Result<Envelope<T>, DecodeError> {
    let event = EventBridgeEvent::<Value>::deserialize(payload).map_err(|e| malformed(context, e))?;
    let at = event
        .time
        .ok_or_else(|| malformed(context, "time is missing; expected the event's RFC 3339 timestamp"))?;
    let detail = T::deserialize(&event.detail).map_err(|e| malformed(format!("{context}, field detail"), e))?;
    Ok(Envelope {
        detail,
        at,
        id: event.id.map(|id| format!("eb:{id}")),
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Names an object by its fields, all of them, in order.
fn describe_object(object: &Map<String, Value>) -> String {
    if object.is_empty() {
        return "an empty JSON object".to_string();
    }
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    format!("a JSON object with fields {}", keys.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::topology::example;

    #[test]
    fn every_error_kind_is_listed_and_distinct() {
        let mut kinds = DecodeError::KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), DecodeError::KINDS.len());
        let samples = [
            DecodeError::NotJson("x".into()),
            DecodeError::Unrecognised { found: "x".into() },
            DecodeError::Unsupported {
                event_source: "s".into(),
                detail_type: "d".into(),
            },
            malformed("c", "p"),
            DecodeError::NotAnAlarm {
                record: 0,
                problem: "p".into(),
            },
            DecodeError::UnknownAlarm {
                alarm: "a".into(),
                identifiers: vec![],
            },
            DecodeError::AmbiguousAlarm {
                alarm: "a".into(),
                members: vec![],
            },
            DecodeError::UnknownInstance {
                instance_id: "i".into(),
            },
            DecodeError::UnknownMirror { mirror: "m".into() },
            DecodeError::UnknownMember {
                mirror: "m".into(),
                member: "x".into(),
            },
        ];
        for e in &samples {
            assert!(DecodeError::KINDS.contains(&e.kind()), "{}", e.kind());
        }
        assert_eq!(samples.len(), DecodeError::KINDS.len());
    }

    #[test]
    fn shapes_that_are_not_events_are_named_in_the_error() {
        let t = example();
        let e = decode_value(&serde_json::json!([1, 2]), &t).expect_err("an array");
        assert_eq!(
            e.to_string(),
            format!("unrecognised payload: a JSON array; mirrorgate accepts {ACCEPTED_SHAPES}")
        );
        let e = decode_value(&serde_json::json!({"b": 1, "a": 2}), &t).expect_err("an object");
        assert!(
            e.to_string()
                .starts_with("unrecognised payload: a JSON object with fields a, b;"),
            "{e}"
        );
        let e = decode_value(&serde_json::json!({}), &t).expect_err("empty");
        assert!(e.to_string().contains("an empty JSON object"), "{e}");
        let e = decode_value(&serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]}), &t).expect_err("sqs");
        assert!(e.to_string().contains("no Sns field"), "{e}");
        let e = decode_value(&serde_json::json!({"Records": 3}), &t).expect_err("records");
        assert!(e.to_string().contains("a Records field that is a JSON number"), "{e}");
    }

    #[test]
    fn eventbridge_events_need_string_source_and_detail_type() {
        let t = example();
        let e = decode_value(&serde_json::json!({"detail-type": "Scheduled Event"}), &t).expect_err("no source");
        assert_eq!(
            e.to_string(),
            "malformed EventBridge event: source is missing; expected a string"
        );
        let e = decode_value(&serde_json::json!({"detail-type": 7, "source": "aws.events"}), &t).expect_err("number");
        assert_eq!(
            e.to_string(),
            "malformed EventBridge event: detail-type is a JSON number; expected a string"
        );
    }

    #[test]
    fn unknown_alarm_messages_name_the_identifiers() {
        let none = DecodeError::UnknownAlarm {
            alarm: "X".into(),
            identifiers: vec![],
        };
        assert!(
            none.to_string()
                .contains("it has no InstanceId or HealthCheckId dimension"),
            "{none}"
        );
        let one = DecodeError::UnknownAlarm {
            alarm: "X".into(),
            identifiers: vec!["InstanceId=i-1".into()],
        };
        assert!(
            one.to_string()
                .contains("its dimension InstanceId=i-1 is not the instance_id"),
            "{one}"
        );
        let two = DecodeError::UnknownAlarm {
            alarm: "X".into(),
            identifiers: vec!["InstanceId=i-1".into(), "HealthCheckId=h".into()],
        };
        assert!(
            two.to_string()
                .contains("its dimensions InstanceId=i-1, HealthCheckId=h are not"),
            "{two}"
        );
    }
}
