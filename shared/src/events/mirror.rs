//! mirrorgate's own mirror events: EventBridge custom events that the IRIS hosts send
//! (from `^ZMIRROR` and a host agent) with source [`MIRROR_EVENT_SOURCE`]. The contract,
//! with examples, is in docs/events.md.
//!
//! The detail structs refuse unknown fields, so that a misspelt optional field
//! (`journal_latancy`) is an error rather than silently missing data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{envelope, malformed, DecodeError, Envelope};
use crate::domain::{JournalLatency, MemberStatus, Signal, SignalKind};
use crate::topology::{Member, Mirror, Topology};

/// The EventBridge `source` of every mirror event.
pub const MIRROR_EVENT_SOURCE: &str = "mirrorgate.iris";
/// A member's role or status changed (sent from `^ZMIRROR`, e.g. `NotifyBecomePrimary`).
pub const DETAIL_TYPE_STATUS: &str = "Mirror Member Status";
/// A member's periodic report of its status (every 60 s from the host agent).
pub const DETAIL_TYPE_HEARTBEAT: &str = "Mirror Member Heartbeat";
/// An async member's journal latency behind the primary.
pub const DETAIL_TYPE_JOURNAL_LATENCY: &str = "Mirror Journal Latency";

/// The detail of `Mirror Member Status` and `Mirror Member Heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberStatusDetail {
    /// The mirror's name, as in the topology.
    pub mirror: String,
    /// The member's name, as in the topology.
    pub member: String,
    /// The IRIS wording: Primary, Backup, Connected, In Trouble, Transition,
    /// Synchronizing, Waiting, Not Initialized, Down (case, spaces and underscores ignored).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_latency: Option<LatencyDetail>,
}

/// How far a member is behind the primary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyDetail {
    /// Seconds behind the primary; finite and not negative.
    pub seconds: f64,
    /// Journal bytes not yet received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Journal files not yet received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u32>,
    /// When the member measured it; the event's time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<DateTime<Utc>>,
}

/// The detail of `Mirror Journal Latency`: the latency fields sit directly in the detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalLatencyDetail {
    pub mirror: String,
    pub member: String,
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<DateTime<Utc>>,
}

impl LatencyDetail {
    fn to_latency(&self, event_time: DateTime<Utc>, context: &str, path: &str) -> Result<JournalLatency, DecodeError> {
        if !self.seconds.is_finite() || self.seconds < 0.0 {
            return Err(malformed(
                context,
                format!(
                    "{path}seconds is {}; expected a finite number of seconds, 0 or more",
                    self.seconds
                ),
            ));
        }
        Ok(JournalLatency {
            seconds: self.seconds,
            bytes: self.bytes,
            files: self.files,
            measured_at: self.measured_at.unwrap_or(event_time),
        })
    }
}

fn context(detail_type: &str) -> String {
    format!("mirror event \"{detail_type}\"")
}

pub(super) fn decode(payload: &Value, detail_type: &str, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let context = context(detail_type);
    if detail_type == DETAIL_TYPE_JOURNAL_LATENCY {
        let event: Envelope<JournalLatencyDetail> = envelope(payload, &context)?;
        let d = &event.detail;
        let (mirror, member) = member_of(topology, &d.mirror, &d.member)?;
        let latency = LatencyDetail {
            seconds: d.seconds,
            bytes: d.bytes,
            files: d.files,
            measured_at: d.measured_at,
        }
        .to_latency(event.at, &context, "detail.")?;
        return Ok(vec![Signal {
            mirror: mirror.name.clone(),
            id: event.id,
            at: event.at,
            kind: SignalKind::JournalLatency {
                member: member.name.clone(),
                latency,
            },
        }]);
    }
    let event: Envelope<MemberStatusDetail> = envelope(payload, &context)?;
    let d = &event.detail;
    let (mirror, member) = member_of(topology, &d.mirror, &d.member)?;
    let status = MemberStatus::parse(&d.status).ok_or_else(|| {
        malformed(
            &context,
            format!(
                "detail.status {:?} is not an IRIS mirror member status; expected one of {}",
                d.status,
                MemberStatus::ALL.map(MemberStatus::as_str).join(", ")
            ),
        )
    })?;
    let journal_latency = d
        .journal_latency
        .as_ref()
        .map(|l| l.to_latency(event.at, &context, "detail.journal_latency."))
        .transpose()?;
    Ok(vec![Signal {
        mirror: mirror.name.clone(),
        id: event.id,
        at: event.at,
        kind: SignalKind::Status {
            member: member.name.clone(),
            status,
            heartbeat: detail_type == DETAIL_TYPE_HEARTBEAT,
            journal_latency,
        },
    }])
}

fn member_of<'t>(topology: &'t Topology, mirror: &str, member: &str) -> Result<(&'t Mirror, &'t Member), DecodeError> {
    let m = topology.mirror(mirror).ok_or_else(|| DecodeError::UnknownMirror {
        mirror: mirror.to_string(),
    })?;
    let x = m.member(member).ok_or_else(|| DecodeError::UnknownMember {
        mirror: mirror.to_string(),
        member: member.to_string(),
    })?;
    Ok((m, x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_round_trips_without_empty_optional_fields() {
        let d = MemberStatusDetail {
            mirror: "HSPROD".into(),
            member: "HSPROD-B".into(),
            status: "Primary".into(),
            journal_latency: None,
        };
        let text = serde_json::to_string(&d).expect("serialises");
        assert_eq!(text, r#"{"mirror":"HSPROD","member":"HSPROD-B","status":"Primary"}"#);
        assert_eq!(serde_json::from_str::<MemberStatusDetail>(&text).expect("parses"), d);
    }

    #[test]
    fn latency_must_be_a_finite_non_negative_number() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        for bad in [-0.5, f64::NAN, f64::INFINITY] {
            let l = LatencyDetail {
                seconds: bad,
                bytes: None,
                files: None,
                measured_at: None,
            };
            let e = l.to_latency(at, "c", "detail.").expect_err("refused");
            assert!(
                e.to_string().contains("expected a finite number of seconds, 0 or more"),
                "{e}"
            );
        }
        let l = LatencyDetail {
            seconds: 0.0,
            bytes: Some(1),
            files: Some(2),
            measured_at: None,
        };
        assert_eq!(l.to_latency(at, "c", "").expect("fine").measured_at, at);
    }
}
