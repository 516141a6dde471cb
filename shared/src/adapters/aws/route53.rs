//! Route 53: the scheduled read of each member's health check, folded into one
//! observation per member; and the optional traffic actions (invert or disable a
//! health check, UPSERT a failover record) used to fence the old primary region.
//!
//! Route 53's control plane lives in us-east-1: nothing here is on the promotion's
//! critical path (docs/DEPLOY.md §1, where mirrorgate runs).

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use aws_sdk_route53::Client;
use chrono::{DateTime, Utc};

use super::{describe, AwsError};
use crate::domain::{Signal, SignalKind};
use crate::topology::{Observer, Topology};

/// The checkers' observations of one health check, folded into one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// More than half of the checkers saw the member answer as primary.
    pub healthy: bool,
    /// Checkers that saw it answer as primary.
    pub seen_primary: usize,
    /// Checkers that reported at all.
    pub checkers: usize,
}

impl Fold {
    /// How many checkers agree with the folded verdict.
    pub fn agreeing(&self) -> usize {
        if self.healthy {
            self.seen_primary
        } else {
            self.checkers - self.seen_primary
        }
    }

    /// For people: "route53 poll: 12 of 16 checkers see it primary".
    pub fn source(&self) -> String {
        format!(
            "route53 poll: {} of {} checkers see it primary",
            self.seen_primary, self.checkers
        )
    }
}

/// Folds the status strings of each checker region's `StatusReport` (a status
/// starting with `Success` is a checker that saw the member answer 200 SUCCESS, that
/// is primary). The member counts as primary when a strict majority saw it so: a
/// member only some regions can reach is not one the world can use. `None` when no
/// checker reported (a new or disabled health check): no observation is made then.
pub fn fold_observations<'a>(statuses: impl IntoIterator<Item = Option<&'a str>>) -> Option<Fold> {
    let mut checkers = 0;
    let mut seen_primary = 0;
    for status in statuses {
        checkers += 1;
        if status.is_some_and(|s| s.trim_start().starts_with("Success")) {
            seen_primary += 1;
        }
    }
    (checkers > 0).then_some(Fold {
        healthy: seen_primary * 2 > checkers,
        seen_primary,
        checkers,
    })
}

/// The signal of one folded poll for one member.
pub fn poll_signal(mirror: &str, member: &str, fold: Fold, now: DateTime<Utc>) -> Signal {
    Signal {
        mirror: mirror.to_string(),
        id: None,
        at: now,
        kind: SignalKind::Observation {
            member: member.to_string(),
            observer: Observer::Route53,
            healthy: fold.healthy,
            source: fold.source(),
            since: None,
            alarm_arn: None,
            unreachable: false,
        },
    }
}

/// Which side of a failover record pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverRole {
    Primary,
    Secondary,
}

/// One record of a Route 53 failover pair, as UPSERTed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRecord {
    pub hosted_zone_id: String,
    /// The DNS name, e.g. `hsprod.example.org.`
    pub name: String,
    /// `A`, `AAAA` or `CNAME`.
    pub record_type: String,
    /// Tells the two records of the pair apart, e.g. `us-east-1`.
    pub set_identifier: String,
    pub role: FailoverRole,
    pub health_check_id: Option<String>,
    pub ttl: i64,
    pub values: Vec<String>,
}

pub struct Route53Health {
    client: Client,
}

impl Route53Health {
    pub fn new(client: Client) -> Route53Health {
        Route53Health { client }
    }

    /// The folded checker observations of one health check.
    pub async fn check(&self, health_check_id: &str) -> Result<Option<Fold>, AwsError> {
        let out = self
            .client
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| {
                AwsError(describe(
                    &format!("Route 53 GetHealthCheckStatus {health_check_id}"),
                    &e,
                ))
            })?;
        Ok(fold_observations(
            out.health_check_observations()
                .iter()
                .map(|o| o.status_report().and_then(|r| r.status())),
        ))
    }

    /// Reads the health check of every member that has one and returns one Route 53
    /// observation per member, for the engine to handle. A member whose read fails is
    /// left out (and logged); the poll fails only if every read failed.
    pub async fn poll_health(&self, topology: &Topology, now: DateTime<Utc>) -> Result<Vec<Signal>, AwsError> {
        let mut signals = Vec::new();
        let mut failures = Vec::new();
        let mut asked = 0;
        for mirror in &topology.mirrors {
            for member in &mirror.members {
                let Some(id) = &member.health_check_id else { continue };
                asked += 1;
                match self.check(id).await {
                    Ok(Some(fold)) => signals.push(poll_signal(&mirror.name, &member.name, fold, now)),
                    Ok(None) => {
                        tracing::info!(mirror = %mirror.name, member = %member.name, health_check = %id, "no checker has reported yet")
                    }
                    Err(e) => {
                        tracing::warn!(mirror = %mirror.name, member = %member.name, error = %e, "health check not read");
                        failures.push(format!("{}: {e}", member.name));
                    }
                }
            }
        }
        if asked > 0 && failures.len() == asked {
            return Err(AwsError(format!(
                "no health check could be read: {}",
                failures.join("; ")
            )));
        }
        Ok(signals)
    }

    /// Inverts a health check (or reverts it): an inverted check of the old primary's
    /// `mirror_status.cxw` reports unhealthy while it answers, so DNS stays away.
    pub async fn invert_health_check(&self, health_check_id: &str, inverted: bool) -> Result<(), AwsError> {
        self.client
            .update_health_check()
            .health_check_id(health_check_id)
            .inverted(inverted)
            .send()
            .await
            .map_err(|e| {
                AwsError(describe(
                    &format!("Route 53 UpdateHealthCheck {health_check_id} (invert)"),
                    &e,
                ))
            })?;
        Ok(())
    }

    /// Disables a health check (or enables it): Route 53 then treats it as healthy.
    pub async fn disable_health_check(&self, health_check_id: &str, disabled: bool) -> Result<(), AwsError> {
        self.client
            .update_health_check()
            .health_check_id(health_check_id)
            .disabled(disabled)
            .send()
            .await
            .map_err(|e| {
                AwsError(describe(
                    &format!("Route 53 UpdateHealthCheck {health_check_id} (disable)"),
                    &e,
                ))
            })?;
        Ok(())
    }

    /// UPSERTs one failover record; returns the change id.
    pub async fn upsert_failover_record(&self, record: &FailoverRecord) -> Result<String, AwsError> {
        let invalid = |e: aws_sdk_route53::error::BuildError| AwsError(format!("failover record {}: {e}", record.name));
        let mut set = ResourceRecordSet::builder()
            .name(&record.name)
            .r#type(RrType::from(record.record_type.as_str()))
            .set_identifier(&record.set_identifier)
            .failover(match record.role {
                FailoverRole::Primary => ResourceRecordSetFailover::Primary,
                FailoverRole::Secondary => ResourceRecordSetFailover::Secondary,
            })
            .ttl(record.ttl)
            .set_health_check_id(record.health_check_id.clone());
        for value in &record.values {
            set = set.resource_records(ResourceRecord::builder().value(value).build().map_err(invalid)?);
        }
        let change = Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(set.build().map_err(invalid)?)
            .build()
            .map_err(invalid)?;
        let batch = ChangeBatch::builder()
            .comment(format!(
                "mirrorgate: {} {} -> {}",
                record.name,
                record.set_identifier,
                record.values.join(",")
            ))
            .changes(change)
            .build()
            .map_err(invalid)?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(&record.hosted_zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| {
                AwsError(describe(
                    &format!("Route 53 ChangeResourceRecordSets {}", record.name),
                    &e,
                ))
            })?;
        Ok(out.change_info().map(|c| c.id().to_string()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "Success: HTTP Status Code: 200, OK";
    const DOWN: &str = "Failure: HTTP Status Code: 503, Service Unavailable";
    const TIMEOUT: &str = "Failure: Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.";

    fn statuses(ok: usize, failing: usize) -> Vec<Option<&'static str>> {
        let mut v = vec![Some(OK); ok];
        v.extend(std::iter::repeat_n(Some(DOWN), failing));
        v
    }

    #[test]
    fn twelve_of_sixteen_checkers_make_the_member_primary() {
        let fold = fold_observations(statuses(12, 4)).expect("fold");
        assert_eq!(
            fold,
            Fold {
                healthy: true,
                seen_primary: 12,
                checkers: 16
            }
        );
        assert_eq!(fold.agreeing(), 12);
        assert_eq!(fold.source(), "route53 poll: 12 of 16 checkers see it primary");
    }

    #[test]
    fn a_member_few_checkers_can_reach_is_not_primary() {
        let fold = fold_observations(statuses(3, 13)).expect("fold");
        assert!(!fold.healthy);
        assert_eq!(fold.agreeing(), 13);
    }

    #[test]
    fn a_tie_is_not_a_majority() {
        assert!(!fold_observations(statuses(8, 8)).expect("fold").healthy);
    }

    #[test]
    fn timeouts_and_missing_reports_count_against() {
        let fold = fold_observations([Some(OK), Some(TIMEOUT), None]).expect("fold");
        assert_eq!(
            fold,
            Fold {
                healthy: false,
                seen_primary: 1,
                checkers: 3
            }
        );
    }

    #[test]
    fn no_checker_no_observation() {
        assert_eq!(fold_observations(std::iter::empty()), None);
    }

    #[test]
    fn the_signal_is_a_route53_observation_of_the_member() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T03:01:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let signal = poll_signal(
            "HSPROD",
            "HSPROD-A",
            fold_observations(statuses(2, 14)).expect("fold"),
            now,
        );
        assert_eq!(signal.mirror, "HSPROD");
        assert_eq!(signal.at, now);
        assert_eq!(
            signal.kind,
            SignalKind::Observation {
                alarm_arn: None,
                unreachable: false,
                since: None,
                member: "HSPROD-A".into(),
                observer: Observer::Route53,
                healthy: false,
                source: "route53 poll: 2 of 16 checkers see it primary".into(),
            }
        );
    }
}
