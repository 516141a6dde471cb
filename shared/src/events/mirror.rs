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
use crate::domain::{Member, Mirror, Observer};
use crate::topology::Topology;

/// The EventBridge `source` of every mirror event.
pub const MIRROR_EVENT_SOURCE: &str = "mirrorgate.iris";
/// A member's role or status changed (sent from `^ZMIRROR`, e.g. `NotifyBecomePrimary`).
pub const DETAIL_TYPE_STATUS: &str = "Mirror Member Status";
/// A member's periodic report of its status (every 60 s from the host agent).
pub const DETAIL_TYPE_HEARTBEAT: &str = "Mirror Member Heartbeat";
/// An async member's journal latency behind the primary.
pub const DETAIL_TYPE_JOURNAL_LATENCY: &str = "Mirror Journal Latency";

/// The EventBridge `source` of the probes `health-poll` makes of `mirror_status.cxw`.
pub const PROBE_EVENT_SOURCE: &str = "mirrorgate.probe";
/// One probe of one member's `mirror_status.cxw` from the control plane's region.
pub const DETAIL_TYPE_PROBE: &str = "Mirror Status Probe";

/// How a probe of `mirror_status.cxw` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// 200 with `SUCCESS`: the member is reachable from here and primary.
    Primary,
    /// 503 (`FAILED`): reachable, and not the primary.
    NotPrimary,
    /// No answer in time, refused, or the connection failed.
    Unreachable,
    /// Any other answer (500: the server does not support the request; a 200
    /// without `SUCCESS`): not a primary either, and worth a look.
    Unexpected,
}

impl ProbeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeResult::Primary => "primary",
            ProbeResult::NotPrimary => "not_primary",
            ProbeResult::Unreachable => "unreachable",
            ProbeResult::Unexpected => "unexpected",
        }
    }
}

/// The detail of `Mirror Status Probe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeDetail {
    pub mirror: String,
    pub member: String,
    /// The URL probed.
    pub url: String,
    pub result: ProbeResult,
    /// The HTTP status, when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What happened, for people: "200 SUCCESS", "503 FAILED", "timed out after 3 s".
    pub detail: String,
}

impl ProbeDetail {
    /// Whether the member answered as primary: the probe's observation is healthy.
    pub fn healthy(&self) -> bool {
        self.result == ProbeResult::Primary
    }

    /// Whether there was no answer at all (as opposed to an answer that says "not primary").
    pub fn unreachable(&self) -> bool {
        self.result == ProbeResult::Unreachable
    }

    /// The observation's source, for people: `probe primary: 200 SUCCESS`.
    pub fn source(&self) -> String {
        format!("probe {}: {}", self.result.as_str(), self.detail)
    }
}

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
    /// Why, in words: required with `Unknown` (why the agent could not ask IRIS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    /// When the member last received journal data from the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
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
            received_at: self.received_at,
        })
    }
}

fn context(detail_type: &str) -> String {
    format!("mirror event \"{detail_type}\"")
}

/// A probe result: an observation of the member by the `probe` observer.
pub(super) fn decode_probe(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let context = context(DETAIL_TYPE_PROBE);
    let event: Envelope<ProbeDetail> = envelope(payload, &context)?;
    let d = &event.detail;
    let (mirror, member) = member_of(topology, &d.mirror, &d.member)?;
    Ok(vec![Signal {
        mirror: mirror.name.clone(),
        id: event.id,
        at: event.at,
        kind: SignalKind::Observation {
            member: member.name.clone(),
            observer: Observer::Probe,
            healthy: d.healthy(),
            source: d.source(),
            since: None,
            alarm_arn: None,
            unreachable: d.result == ProbeResult::Unreachable,
        },
    }])
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
            received_at: d.received_at,
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
    let (status, parsed_reason) = MemberStatus::parse(&d.status).ok_or_else(|| {
        malformed(
            &context,
            format!(
                "detail.status {:?} is not an IRIS mirror member status; expected one of {} (or m/n Connected)",
                d.status,
                MemberStatus::ALL.map(MemberStatus::as_str).join(", ")
            ),
        )
    })?;
    let reason = d
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(300).collect::<String>())
        .or(parsed_reason);
    if status == MemberStatus::Unknown && reason.is_none() {
        return Err(malformed(
            &context,
            "detail.status is Unknown without detail.reason; say why IRIS could not be asked",
        ));
    }
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
            reason,
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
            reason: None,
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
                received_at: None,
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
            received_at: None,
        };
        assert_eq!(l.to_latency(at, "c", "").expect("fine").measured_at, at);
    }
}
