//! CloudWatch alarms read again.
//!
//! An alarm speaks when its state changes. While it stays OK it says nothing more,
//! and when its region is gone it cannot say anything at all: its last word ages in
//! the state until it proves nothing (`evidence_fresh_secs`). So `health-poll` asks
//! again: every stored observation that an alarm said carries the alarm's ARN, and
//! [`AlarmReader::read_again`] calls `DescribeAlarms` in each alarm's own region.
//! An alarm still OK confirms its observation; one that changed without its event
//! reaching mirrorgate corrects it; a region that does not answer in time gives
//! nothing, so what its alarms said keeps ageing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_config::{Region, SdkConfig};
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{describe, AwsError};
use crate::domain::Observer;
use crate::domain::{MirrorState, Signal, SignalKind};
use crate::events::AlarmArn;

/// `DescribeAlarms` takes at most 100 alarm names per call.
pub const NAMES_PER_CALL: usize = 100;

/// A stored observation that a CloudWatch alarm said: what reading the alarm again
/// speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub mirror: String,
    pub member: String,
    pub observer: Observer,
    pub arn: String,
}

/// Every observation in these states that carries an alarm ARN (of a form that can
/// be read again), in the states' order.
pub fn watched(states: &[MirrorState]) -> Vec<Watched> {
    let mut out = Vec::new();
    for state in states {
        for (member, known) in &state.members {
            for (observer, observation) in &known.observations {
                let Some(arn) = observation.alarm_arn.as_deref() else {
                    continue;
                };
                if AlarmArn::parse(arn).is_some() {
                    out.push(Watched {
                        mirror: state.mirror.clone(),
                        member: member.clone(),
                        observer: *observer,
                        arn: arn.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// The `DescribeAlarms` calls that read them: per region, the alarm names, at most
/// [`NAMES_PER_CALL`] per call, each name once.
pub fn calls(watched: &[Watched]) -> Vec<(String, Vec<String>)> {
    let mut by_region: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for w in watched {
        if let Some(arn) = AlarmArn::parse(&w.arn) {
            by_region.entry(arn.region).or_default().insert(arn.name);
        }
    }
    let mut out = Vec::new();
    for (region, names) in by_region {
        let names: Vec<&str> = names.into_iter().collect();
        for chunk in names.chunks(NAMES_PER_CALL) {
            out.push((region.to_string(), chunk.iter().map(|n| n.to_string()).collect()));
        }
    }
    out
}

/// An alarm's state as CloudWatch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One alarm as `DescribeAlarms` described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub arn: String,
    pub name: String,
    pub state: AlarmState,
    /// When the alarm entered this state (`StateUpdatedTimestamp`).
    pub since: Option<DateTime<Utc>>,
    /// When CloudWatch said so.
    pub at: DateTime<Utc>,
}

/// One observation per watched alarm that was read: same member and observer as the
/// stored one, healthy when the alarm is OK, `since` when it entered that state. An
/// alarm in INSUFFICIENT_DATA teaches nothing, as when its event arrives.
pub fn reconfirmations(watched: &[Watched], readings: &[Reading]) -> Vec<Signal> {
    let mut out = Vec::new();
    for w in watched {
        let Some(reading) = readings.iter().find(|r| r.arn == w.arn) else {
            continue;
        };
        let healthy = match reading.state {
            AlarmState::Ok => true,
            AlarmState::Alarm => false,
            AlarmState::InsufficientData => continue,
        };
        out.push(Signal {
            mirror: w.mirror.clone(),
            id: None,
            at: reading.at,
            kind: SignalKind::Observation {
                member: w.member.clone(),
                observer: w.observer,
                healthy,
                source: format!("alarm {} {} (read again)", reading.name, reading.state.as_str()),
                since: reading.since,
                alarm_arn: Some(w.arn.clone()),
                unreachable: false,
            },
        });
    }
    out
}

/// Reads alarms in their own regions: one CloudWatch client per region, built from
/// the shared configuration with the region set, and kept. Clones share the clients.
#[derive(Clone)]
pub struct AlarmReader {
    config: SdkConfig,
    clients: Arc<Mutex<BTreeMap<String, Client>>>,
}

impl std::fmt::Debug for AlarmReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regions: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("AlarmReader").field("regions", &regions).finish()
    }
}

impl AlarmReader {
    pub fn new(config: &SdkConfig) -> AlarmReader {
        AlarmReader {
            config: config.clone(),
            clients: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Client>> {
        self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The client of one region (endpoint, credentials, retries and timeouts as
    /// every other client).
    pub fn client(&self, region: &str) -> Client {
        self.lock()
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_cloudwatch::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }

    /// `DescribeAlarms` of these names (at most [`NAMES_PER_CALL`]) in one region,
    /// metric and composite alarms.
    pub async fn describe(&self, region: &str, names: &[String]) -> Result<Vec<Reading>, AwsError> {
        let client = self.client(region);
        let mut readings = Vec::new();
        let mut next_token: Option<String> = None;
        // 100 names fit one page of 100; a token is followed all the same.
        for _ in 0..10 {
            let out = client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError(describe(&format!("CloudWatch DescribeAlarms in {region}"), &e)))?;
            let at = Utc::now();
            let metric = out.metric_alarms().iter().map(|a| {
                (
                    a.alarm_arn(),
                    a.alarm_name(),
                    a.state_value(),
                    a.state_updated_timestamp(),
                )
            });
            let composite = out.composite_alarms().iter().map(|a| {
                (
                    a.alarm_arn(),
                    a.alarm_name(),
                    a.state_value(),
                    a.state_updated_timestamp(),
                )
            });
            for (arn, name, state, since) in metric.chain(composite) {
                let state = match state {
                    Some(StateValue::Ok) => AlarmState::Ok,
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
                    _ => continue,
                };
                let (Some(arn), Some(name)) = (arn, name) else { continue };
                readings.push(Reading {
                    arn: arn.to_string(),
                    name: name.to_string(),
                    state,
                    since: since.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                    at,
                });
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        Ok(readings)
    }

    /// Every watched alarm read again, all regions at once; what answered by
    /// `deadline`. A region that fails or does not answer in time gives nothing (and
    /// is logged); an alarm no longer found gives nothing.
    pub async fn read_again(&self, watched: &[Watched], deadline: Instant) -> Vec<Reading> {
        let mut set = JoinSet::new();
        for (region, names) in calls(watched) {
            let reader = self.clone();
            set.spawn(async move {
                let read = reader.describe(&region, &names).await;
                (region, names, read)
            });
        }
        let mut readings = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, set.join_next()).await {
                Ok(Some(Ok((region, names, Ok(read))))) => {
                    for name in names.iter().filter(|n| !read.iter().any(|r| &r.name == *n)) {
                        tracing::warn!(region = %region, alarm = %name, "alarm not found when read again");
                    }
                    readings.extend(read);
                }
                Ok(Some(Ok((region, _, Err(e))))) => {
                    tracing::warn!(region = %region, error = %e, "alarms not read again in this region; what they said keeps ageing");
                }
                Ok(Some(Err(e))) => tracing::warn!(error = %e, "an alarm read task failed"),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        unanswered_calls = set.len(),
                        "alarms not read again in time; what they said keeps ageing"
                    );
                    set.abort_all();
                    break;
                }
            }
        }
        readings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemberState, Observation};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn arn(region: &str, name: &str) -> String {
        format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{name}")
    }

    fn observed(healthy: bool, alarm_arn: Option<String>) -> Observation {
        Observation {
            unreachable: false,
            healthy,
            at: at("2026-11-25T03:00:00Z"),
            source: "alarm".into(),
            confirmed_at: None,
            alarm_arn,
        }
    }

    fn state() -> MirrorState {
        let mut state = MirrorState::new("HSPROD", at("2026-11-25T03:00:00Z"));
        let mut a = MemberState::default();
        a.observations.insert(
            Observer::Route53,
            observed(true, Some(arn("us-east-1", "HSPROD-A-mirror-status"))),
        );
        a.observations.insert(
            Observer::Instance,
            observed(true, Some(arn("us-east-1", "HSPROD-A-instance"))),
        );
        a.observations.insert(Observer::Probe, observed(true, None));
        let mut dr1 = MemberState::default();
        dr1.observations.insert(
            Observer::Instance,
            observed(false, Some(arn("us-west-2", "HSPROD-DR1-instance"))),
        );
        // Not an alarm ARN: nothing to read.
        dr1.observations.insert(
            Observer::Route53,
            observed(false, Some("arn:aws:sns:us-east-1:1:x".into())),
        );
        state.members.insert("HSPROD-A".into(), a);
        state.members.insert("HSPROD-DR1".into(), dr1);
        state
    }

    #[test]
    fn the_observations_an_alarm_said_are_watched() {
        let w = watched(&[state()]);
        let seen: Vec<(&str, Observer, &str)> = w
            .iter()
            .map(|w| (w.member.as_str(), w.observer, w.arn.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "HSPROD-A",
                    Observer::Route53,
                    arn("us-east-1", "HSPROD-A-mirror-status").as_str()
                ),
                (
                    "HSPROD-A",
                    Observer::Instance,
                    arn("us-east-1", "HSPROD-A-instance").as_str()
                ),
                (
                    "HSPROD-DR1",
                    Observer::Instance,
                    arn("us-west-2", "HSPROD-DR1-instance").as_str()
                ),
            ]
        );
    }

    #[test]
    fn alarms_are_read_per_region_at_most_a_hundred_names_a_call() {
        let mut w = watched(&[state()]);
        // The same alarm twice is asked once.
        w.push(w[0].clone());
        for i in 0..150 {
            w.push(Watched {
                mirror: "M".into(),
                member: "X".into(),
                observer: Observer::Instance,
                arn: arn("eu-west-1", &format!("alarm-{i:03}")),
            });
        }
        let c = calls(&w);
        let shape: Vec<(&str, usize)> = c.iter().map(|(r, n)| (r.as_str(), n.len())).collect();
        assert_eq!(
            shape,
            [
                ("eu-west-1", 100),
                ("eu-west-1", 50),
                ("us-east-1", 2),
                ("us-west-2", 1)
            ]
        );
        assert_eq!(c[2].1, ["HSPROD-A-instance", "HSPROD-A-mirror-status"]);
    }

    #[test]
    fn each_alarm_read_again_confirms_or_corrects_its_observation() {
        let w = watched(&[state()]);
        let now = at("2026-11-25T03:10:00Z");
        let readings = [
            Reading {
                arn: arn("us-east-1", "HSPROD-A-mirror-status"),
                name: "HSPROD-A-mirror-status".into(),
                state: AlarmState::Ok,
                since: Some(at("2026-11-25T02:00:00Z")),
                at: now,
            },
            Reading {
                arn: arn("us-east-1", "HSPROD-A-instance"),
                name: "HSPROD-A-instance".into(),
                state: AlarmState::Alarm,
                since: Some(at("2026-11-25T03:08:00Z")),
                at: now,
            },
            Reading {
                arn: arn("us-west-2", "HSPROD-DR1-instance"),
                name: "HSPROD-DR1-instance".into(),
                state: AlarmState::InsufficientData,
                since: None,
                at: now,
            },
            // Another account's alarm of the same name is not this one.
            Reading {
                arn: "arn:aws:cloudwatch:us-east-1:999999999999:alarm:HSPROD-A-instance".into(),
                name: "HSPROD-A-instance".into(),
                state: AlarmState::Ok,
                since: None,
                at: now,
            },
        ];
        let signals = reconfirmations(&w, &readings);
        assert_eq!(
            signals,
            [
                Signal {
                    mirror: "HSPROD".into(),
                    id: None,
                    at: now,
                    kind: SignalKind::Observation {
                        unreachable: false,
                        member: "HSPROD-A".into(),
                        observer: Observer::Route53,
                        healthy: true,
                        source: "alarm HSPROD-A-mirror-status OK (read again)".into(),
                        since: Some(at("2026-11-25T02:00:00Z")),
                        alarm_arn: Some(arn("us-east-1", "HSPROD-A-mirror-status")),
                    },
                },
                Signal {
                    mirror: "HSPROD".into(),
                    id: None,
                    at: now,
                    kind: SignalKind::Observation {
                        unreachable: false,
                        member: "HSPROD-A".into(),
                        observer: Observer::Instance,
                        healthy: false,
                        source: "alarm HSPROD-A-instance ALARM (read again)".into(),
                        since: Some(at("2026-11-25T03:08:00Z")),
                        alarm_arn: Some(arn("us-east-1", "HSPROD-A-instance")),
                    },
                },
            ]
        );
        assert_eq!(reconfirmations(&w, &[]), []);
    }

    #[tokio::test]
    async fn a_client_per_region_keeps_the_shared_configuration() {
        let config = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_cloudwatch::config::SharedCredentialsProvider::new(
                aws_sdk_cloudwatch::config::Credentials::new("AKIDTEST", "secret", None, None, "test"),
            ))
            .build();
        let reader = AlarmReader::new(&config);
        let east = reader.client("us-east-1");
        assert_eq!(east.config().region().map(|r| r.as_ref()), Some("us-east-1"));
        let _ = reader.client("eu-west-1");
        let _ = reader.client("us-east-1");
        assert_eq!(
            format!("{reader:?}"),
            r#"AlarmReader { regions: ["eu-west-1", "us-east-1"] }"#
        );
        // Nothing listens on port 9: the region gives nothing, within the deadline.
        let w = [Watched {
            mirror: "M".into(),
            member: "X".into(),
            observer: Observer::Instance,
            arn: arn("us-east-1", "a"),
        }];
        let started = std::time::Instant::now();
        let read = reader
            .read_again(&w, Instant::now() + std::time::Duration::from_secs(2))
            .await;
        assert_eq!(read, []);
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }
}
