//! From what IRIS said to the event mirrorgate reads: the project's own
//! [`MemberStatusDetail`] (serde, never hand-built JSON), and the event as
//! EventBridge delivers it to a rule's target (for `--dry-run`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use shared::domain::MemberStatus;
use shared::events::{
    LatencyDetail, MemberStatusDetail, DETAIL_TYPE_HEARTBEAT, DETAIL_TYPE_STATUS, MIRROR_EVENT_SOURCE,
};

use crate::config::Config;
use crate::iris::{Answer, Reading};
use crate::state::{KnownLatency, State};

/// The account a dry run puts in its events: the agent does not ask AWS who it is.
pub const DRY_RUN_ACCOUNT: &str = "000000000000";

/// Which event a round sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `Mirror Member Heartbeat`: the periodic report (its absence is noticed).
    Heartbeat,
    /// `Mirror Member Status`: a role change, e.g. from `NotifyBecomePrimary^ZMIRROR`.
    Status,
}

impl Kind {
    pub fn detail_type(self) -> &'static str {
        match self {
            Kind::Heartbeat => DETAIL_TYPE_HEARTBEAT,
            Kind::Status => DETAIL_TYPE_STATUS,
        }
    }
}

/// One event: what the agent observed, at `time` (whole seconds, as EventBridge keeps it).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: Kind,
    pub time: DateTime<Utc>,
    pub detail: MemberStatusDetail,
}

/// The event as EventBridge delivers it to a rule's target, field for field.
#[derive(Debug, Serialize)]
pub struct Delivered<'a> {
    pub version: &'static str,
    pub id: &'a str,
    #[serde(rename = "detail-type")]
    pub detail_type: &'static str,
    pub source: &'static str,
    pub account: &'a str,
    pub time: String,
    pub region: &'a str,
    pub resources: [&'static str; 0],
    pub detail: &'a MemberStatusDetail,
}

/// A line of a `mirrorgate replay` scenario: `{"at": ..., "event": ...}`.
#[derive(Debug, Serialize)]
pub struct ScenarioLine<'a> {
    pub at: String,
    pub event: Delivered<'a>,
}

impl Event {
    /// The detail as the `Detail` string of `PutEvents`.
    pub fn detail_json(&self) -> String {
        serde_json::to_string(&self.detail).unwrap_or_else(|_| "{}".into())
    }

    pub fn delivered<'a>(&'a self, account: &'a str, region: &'a str) -> Delivered<'a> {
        Delivered {
            version: "0",
            id: &self.id,
            detail_type: self.kind.detail_type(),
            source: MIRROR_EVENT_SOURCE,
            account,
            time: rfc3339(self.time),
            region,
            resources: [],
            detail: &self.detail,
        }
    }

    /// One JSON line, as EventBridge delivers it (`scenario`: wrapped as a replay line).
    pub fn json_line(&self, region: &str, scenario: bool) -> String {
        let delivered = self.delivered(DRY_RUN_ACCOUNT, region);
        let text = if scenario {
            serde_json::to_string(&ScenarioLine {
                at: rfc3339(self.time),
                event: delivered,
            })
        } else {
            serde_json::to_string(&delivered)
        };
        text.unwrap_or_else(|e| format!("{{\"error\":\"cannot serialise the event: {e}\"}}"))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A random (version 4) UUID, as EventBridge gives its events.
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No randomness: still a unique-enough id from the clock.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128;
        b = nanos.to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// What IRIS's answer means, as a status and, when it is not a plain IRIS word, why.
pub fn status_of(answer: &Answer) -> (MemberStatus, Option<String>) {
    let r = match answer {
        Answer::Failed(reason) => return (MemberStatus::Unknown, Some(reason.clone())),
        Answer::Reading(r) => r,
    };
    if !r.error.is_empty() {
        return (
            MemberStatus::Unknown,
            Some(format!("^ZMIRRORGATE could not read the mirror status: {}", r.error)),
        );
    }
    // GetMemberStatus catches its own errors and answers $LB("Error", text): that is
    // a failure to ask, not IRIS's status Error.
    if r.status.eq_ignore_ascii_case("error") && r.detail.starts_with('<') {
        return (
            MemberStatus::Unknown,
            Some(format!("$SYSTEM.Mirror.GetMemberStatus() failed: {}", r.detail)),
        );
    }
    match MemberStatus::parse(&r.status) {
        Some((MemberStatus::Primary, _)) if r.detail.to_ascii_lowercase().contains("trouble") => {
            (MemberStatus::InTrouble, None)
        }
        Some((status, reason)) => (status, reason),
        None => (
            MemberStatus::Unknown,
            Some(format!(
                "IRIS reported a mirror status the agent does not know: {:?}",
                r.status
            )),
        ),
    }
}

/// Whether the member is an async (DR or reporting): the only members whose
/// journal latency says what a promotion may lose.
pub fn is_async(r: &Reading, status: MemberStatus) -> bool {
    let t = r.member_type.to_ascii_lowercase();
    status == MemberStatus::Connected || t.contains("disaster") || t.contains("reporting") || t.contains("async")
}

/// The event of one round, and what the agent remembers after it.
///
/// Journal latency, for an async member only:
/// - `Connected`: the latency the routine read, measured now; the async is
///   receiving, so `received_at` is now too. Both are remembered.
/// - any other IRIS status after it was seen connected: the last latency measured
///   while connected, with `received_at` = the last time it was seen connected.
/// - IRIS could not be asked: none (nothing is known).
pub fn build(config: &Config, kind: Kind, time: DateTime<Utc>, answer: &Answer, state: &mut State) -> Event {
    let (status, reason) = status_of(answer);
    let mut journal_latency = None;
    if let Answer::Reading(r) = answer {
        if status != MemberStatus::Unknown && is_async(r, status) {
            if status == MemberStatus::Connected {
                state.last_connected_at = Some(time);
                state.last_latency = r.latency_secs.map(|seconds| KnownLatency {
                    seconds,
                    bytes: r.latency_bytes,
                    files: r.latency_files,
                    measured_at: time,
                });
                journal_latency = r.latency_secs.map(|seconds| LatencyDetail {
                    seconds,
                    bytes: r.latency_bytes,
                    files: r.latency_files,
                    measured_at: Some(time),
                    received_at: Some(time),
                });
            } else if let (Some(last), Some(connected)) = (&state.last_latency, state.last_connected_at) {
                journal_latency = Some(LatencyDetail {
                    seconds: last.seconds,
                    bytes: last.bytes,
                    files: last.files,
                    measured_at: Some(last.measured_at),
                    received_at: Some(connected),
                });
            }
        } else if status.is_primary() || status == MemberStatus::Backup {
            // A failover member (or a promoted DR member): no async history applies.
            state.last_connected_at = None;
            state.last_latency = None;
        }
    }
    Event {
        id: new_id(),
        kind,
        time,
        detail: MemberStatusDetail {
            mirror: config.mirror.clone(),
            member: config.member.clone(),
            status: status.as_str().to_string(),
            journal_latency,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn config() -> Config {
        Config::parse(
            "t",
            "mirror = \"HSPROD\"\nmember = \"HSPROD-DR1\"\ninstance = \"IRIS\"\nproduct = \"iris\"\nregion = \"us-west-2\"\nevent_bus = \"default\"\n",
        )
        .expect("config")
    }

    fn reading(status: &str, detail: &str, member_type: &str, latency: Option<f64>) -> Answer {
        Answer::Reading(Reading {
            mirror: "HSPROD".into(),
            status: status.into(),
            detail: detail.into(),
            member_type: member_type.into(),
            latency_secs: latency,
            ..Reading::default()
        })
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).single().expect("time") + chrono::Duration::seconds(s)
    }

    #[test]
    fn statuses() {
        let s = |a: &Answer| status_of(a);
        assert_eq!(
            s(&reading("Primary", "", "Failover", None)),
            (MemberStatus::Primary, None)
        );
        assert_eq!(
            s(&reading("Primary", "Trouble", "Failover", None)),
            (MemberStatus::InTrouble, None)
        );
        assert_eq!(
            s(&reading("Not Initialized", "", "", None)).0,
            MemberStatus::NotInitialized
        );
        assert_eq!(s(&reading("Error", "", "Failover", None)), (MemberStatus::Error, None));
        let (status, reason) = s(&reading(
            "Error",
            "<PROTECT>GetMemberStatus+3^%SYSTEM.Mirror.1",
            "",
            None,
        ));
        assert_eq!(status, MemberStatus::Unknown);
        assert_eq!(
            reason.as_deref(),
            Some("$SYSTEM.Mirror.GetMemberStatus() failed: <PROTECT>GetMemberStatus+3^%SYSTEM.Mirror.1")
        );
        assert_eq!(
            s(&reading("2/3 Connected", "", "Read-Only Reporting", None)).0,
            MemberStatus::Unknown
        );
        assert_eq!(s(&reading("Sleeping", "", "", None)).0, MemberStatus::Unknown);
        assert_eq!(
            s(&Answer::Failed("why".into())),
            (MemberStatus::Unknown, Some("why".into()))
        );
    }

    #[test]
    fn an_async_reports_when_it_last_received_after_it_lost_its_link() {
        let c = config();
        let mut state = State::default();
        let e = build(
            &c,
            Kind::Heartbeat,
            t(0),
            &reading("Connected", "", "Disaster Recovery", Some(0.5)),
            &mut state,
        );
        let l = e.detail.journal_latency.expect("latency");
        assert_eq!((l.seconds, l.measured_at, l.received_at), (0.5, Some(t(0)), Some(t(0))));
        let e = build(
            &c,
            Kind::Heartbeat,
            t(60),
            &reading("Waiting", "", "Disaster Recovery", None),
            &mut state,
        );
        assert_eq!(e.detail.status, "Waiting");
        let l = e.detail.journal_latency.expect("latency");
        assert_eq!((l.seconds, l.measured_at, l.received_at), (0.5, Some(t(0)), Some(t(0))));
        // Could not ask: nothing known, nothing said, the memory kept.
        let e = build(&c, Kind::Heartbeat, t(120), &Answer::Failed("x".into()), &mut state);
        assert_eq!(e.detail.journal_latency, None);
        assert_eq!(state.last_connected_at, Some(t(0)));
        // Promoted: the async history no longer applies.
        let e = build(
            &c,
            Kind::Status,
            t(180),
            &reading("Primary", "", "Failover", None),
            &mut state,
        );
        assert_eq!(e.detail.journal_latency, None);
        assert_eq!(state, State::default());
    }

    #[test]
    fn the_delivered_shape_and_the_scenario_line() {
        let c = config();
        let mut e = build(
            &c,
            Kind::Status,
            t(0),
            &reading("Backup", "", "Failover", None),
            &mut State::default(),
        );
        e.id = "ID".into();
        assert_eq!(
            e.json_line("us-west-2", false),
            r#"{"version":"0","id":"ID","detail-type":"Mirror Member Status","source":"mirrorgate.iris","account":"000000000000","time":"2026-11-25T03:00:00Z","region":"us-west-2","resources":[],"detail":{"mirror":"HSPROD","member":"HSPROD-DR1","status":"Backup"}}"#
        );
        assert!(e
            .json_line("us-west-2", true)
            .starts_with(r#"{"at":"2026-11-25T03:00:00Z","event":{"version":"0","id":"ID","#));
    }

    #[test]
    fn ids_are_version_4_uuids() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_id());
    }
}
