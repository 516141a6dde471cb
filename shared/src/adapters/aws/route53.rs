//! Route 53: the scheduled read of each member's health check, folded into one
//! observation per member; and the optional traffic actions (invert or disable a
//! health check, UPSERT a failover record) used to fence the old primary region.
//!
//! Route 53's control plane lives in us-east-1: nothing here is on the promotion's
//! critical path (docs/DEPLOY.md §1, where mirrorgate runs).
//!
//! The health checks are read concurrently but paced ([`Pacer`]): Route 53 limits
//! `GetHealthCheckStatus` to a bucket of 4 requests refilled at 1 a second per
//! account (docs/DEPLOY.md, "Route 53 request rate"). What is read by the deadline
//! is used; the rest is read first the next minute ([`poll_paced`]).

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use aws_sdk_route53::Client;
use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

use super::{describe, AwsError};
use crate::domain::Observer;
use crate::domain::{Signal, SignalKind};
use crate::topology::Topology;

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

/// What one checker region last reported about a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerReport {
    /// `StatusReport.Status`, e.g. `Success: HTTP Status Code 200, OK`.
    pub status: Option<String>,
    /// `StatusReport.CheckedTime`: when that checker last checked.
    pub checked_at: Option<DateTime<Utc>>,
}

/// How old a checker's report may be and still count: Route 53's checkers check
/// every 30 s (10 s for fast checks), so a report older than this is from a checker
/// that has stopped reporting.
pub const REPORT_FRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// Folds the checkers' reports of one health check, keeping only those checked
/// within `fresh` of `now` (a report without a CheckedTime is not counted). The
/// observation's time is the newest CheckedTime counted (never after `now`). `None`
/// when no report counts.
pub fn fold_reports(
    reports: &[CheckerReport],
    now: DateTime<Utc>,
    fresh: chrono::TimeDelta,
) -> Option<(Fold, DateTime<Utc>)> {
    let counted: Vec<&CheckerReport> = reports
        .iter()
        .filter(|r| r.checked_at.is_some_and(|t| now - t <= fresh))
        .collect();
    let newest = counted.iter().filter_map(|r| r.checked_at).max()?;
    let fold = fold_observations(counted.iter().map(|r| r.status.as_deref()))?;
    Some((fold, newest.min(now)))
}

/// The signal of one folded poll for one member, observed at `at`.
pub fn poll_signal(mirror: &str, member: &str, fold: Fold, at: DateTime<Utc>) -> Signal {
    Signal {
        mirror: mirror.to_string(),
        id: None,
        at,
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

/// Paces requests to a rate with a burst (a token bucket, as Route 53 meters them):
/// `burst` at once, then one every `1 / rate` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    interval: Duration,
    burst: u32,
    /// When the bucket would be empty had every slot so far been used.
    theoretical: Instant,
}

impl Pacer {
    pub fn new(rate_per_sec: f64, burst: u32, start: Instant) -> Pacer {
        let rate = if rate_per_sec.is_finite() && rate_per_sec > 0.0 {
            rate_per_sec
        } else {
            DEFAULT_RATE
        };
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            burst: burst.max(1),
            theoretical: start,
        }
    }

    /// The earliest time, at or after `now`, the next request may be sent; the slot
    /// is taken.
    pub fn next_slot(&mut self, now: Instant) -> Instant {
        let tolerance = self.interval * (self.burst - 1);
        let earliest = self.theoretical.checked_sub(tolerance).unwrap_or(now);
        let slot = now.max(earliest);
        self.theoretical = self.theoretical.max(slot) + self.interval;
        slot
    }

    /// How many requests fit in `window` from a full bucket.
    pub fn capacity(&self, window: Duration) -> usize {
        self.burst as usize + (window.as_secs_f64() / self.interval.as_secs_f64()) as usize
    }
}

/// GetHealthCheckStatus's own bucket refills at 1 request a second (4 at most).
pub const DEFAULT_RATE: f64 = 1.0;
/// One below the bucket's 4, for the operator's console or CLI at the same time.
pub const DEFAULT_BURST: u32 = 3;
/// Reads in flight at once (each takes well under a second).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Where the first round after a cold start begins: turned by the minute, so that
/// functions started again and again still get round every check.
pub fn rotation_start(minute: i64, per_round: usize, checks: usize) -> usize {
    if checks == 0 {
        return 0;
    }
    ((minute.rem_euclid(checks as i64) as usize) * per_round.max(1)) % checks
}

/// Every member's health check, in topology order: (mirror, member, id).
pub fn health_checks(topology: &Topology) -> Vec<(String, String, String)> {
    topology
        .mirrors
        .iter()
        .flat_map(|mirror| {
            mirror.members.iter().filter_map(|member| {
                member
                    .health_check_id
                    .as_ref()
                    .map(|id| (mirror.name.clone(), member.name.clone(), id.clone()))
            })
        })
        .collect()
}

/// Reads one health check's checker reports: Route 53, or a test's layer around it.
pub trait HealthStatusSource {
    fn reports(&self, health_check_id: &str) -> impl Future<Output = Result<Vec<CheckerReport>, AwsError>>;
}

/// The limits of one round.
#[derive(Debug, Clone, Copy)]
pub struct PollLimits {
    pub pacer: Pacer,
    pub concurrency: usize,
    pub deadline: Instant,
    pub fresh: chrono::TimeDelta,
}

/// What one round read.
#[derive(Debug, Clone, Default)]
pub struct PollRound {
    /// One Route 53 observation per member read with fresh reports.
    pub signals: Vec<Signal>,
    /// Health checks in the topology.
    pub checks: usize,
    /// Health checks read (answered), fresh or not.
    pub read: usize,
    /// Read, but no checker report was fresh enough (or none at all).
    pub without_fresh_reports: Vec<String>,
    /// `member: error` of each read that failed.
    pub failed: Vec<String>,
    /// `mirror/member` of each check not read by the deadline.
    pub unread: Vec<String>,
    /// Where the next round starts: the first check not read, else where this began.
    pub next_start: usize,
}

/// One round over every member's health check, starting at `start` (an index into
/// [`health_checks`]) and going round: each read paced by `limits.pacer`, at most
/// `limits.concurrency` in flight, none sent after `limits.deadline`, and what was
/// read by then kept.
pub async fn poll_paced<R: HealthStatusSource>(
    source: &R,
    topology: &Topology,
    start: usize,
    mut limits: PollLimits,
    now: DateTime<Utc>,
) -> PollRound {
    let checks = health_checks(topology);
    let n = checks.len();
    let mut round = PollRound {
        checks: n,
        ..PollRound::default()
    };
    if n == 0 {
        return round;
    }
    let start = start % n;
    let order: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
    let mut done = vec![false; n];
    let mut next = 0;
    let mut slot: Option<Instant> = None;
    let mut in_flight = FuturesUnordered::new();
    loop {
        if next == n && in_flight.is_empty() {
            break;
        }
        let can_send = next < n && in_flight.len() < limits.concurrency.max(1);
        if can_send && slot.is_none() {
            slot = Some(limits.pacer.next_slot(Instant::now()));
        }
        let wait = if can_send { slot } else { None };
        if wait.is_some_and(|s| s >= limits.deadline) && in_flight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(limits.deadline) => break,
            Some((i, result)) = in_flight.next(), if !in_flight.is_empty() => {
                done[i] = true;
                let (mirror, member, id): &(String, String, String) = &checks[i];
                let result: Result<Vec<CheckerReport>, AwsError> = result;
                match result {
                    Ok(reports) => {
                        round.read += 1;
                        match fold_reports(&reports, now, limits.fresh) {
                            Some((fold, at)) => round.signals.push(poll_signal(mirror, member, fold, at)),
                            None => {
                                tracing::info!(
                                    mirror = %mirror, member = %member, health_check = %id,
                                    reports = reports.len(),
                                    "no checker report fresh enough; no Route 53 observation this minute"
                                );
                                round.without_fresh_reports.push(format!("{mirror}/{member}"));
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(mirror = %mirror, member = %member, error = %e, "health check not read");
                        round.failed.push(format!("{member}: {e}"));
                    }
                }
            }
            _ = tokio::time::sleep_until(wait.unwrap_or(limits.deadline)), if wait.is_some() => {
                let i = order[next];
                next += 1;
                slot = None;
                let id = checks[i].2.clone();
                in_flight.push(async move { (i, source.reports(&id).await) });
            }
        }
    }
    let first_unread = order.iter().position(|&i| !done[i]);
    round.unread = order
        .iter()
        .filter(|&&i| !done[i])
        .map(|&i| format!("{}/{}", checks[i].0, checks[i].1))
        .collect();
    round.next_start = first_unread.map_or(start, |p| order[p]);
    round
}

pub struct Route53Health {
    client: Client,
}

impl HealthStatusSource for Route53Health {
    async fn reports(&self, health_check_id: &str) -> Result<Vec<CheckerReport>, AwsError> {
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
        Ok(out
            .health_check_observations()
            .iter()
            .map(|o| {
                let report = o.status_report();
                CheckerReport {
                    status: report.and_then(|r| r.status()).map(str::to_string),
                    checked_at: report
                        .and_then(|r| r.checked_time())
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
                }
            })
            .collect())
    }
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

    /// Reads the health check of every member that has one (paced, no deadline) and
    /// returns one Route 53 observation per member with fresh reports. A member whose
    /// read fails is left out (and logged); the poll fails only if every read failed.
    pub async fn poll_health(&self, topology: &Topology, now: DateTime<Utc>) -> Result<Vec<Signal>, AwsError> {
        let limits = PollLimits {
            pacer: Pacer::new(DEFAULT_RATE, DEFAULT_BURST, Instant::now()),
            concurrency: DEFAULT_CONCURRENCY,
            deadline: Instant::now() + Duration::from_secs(3600),
            fresh: REPORT_FRESH,
        };
        let round = poll_paced(self, topology, 0, limits, now).await;
        if round.checks > 0 && round.failed.len() == round.checks {
            return Err(AwsError(format!(
                "no health check could be read: {}",
                round.failed.join("; ")
            )));
        }
        Ok(round.signals)
    }

    /// This round, from `start`, within `limits` (health-poll).
    pub async fn poll_round(
        &self,
        topology: &Topology,
        start: usize,
        limits: PollLimits,
        now: DateTime<Utc>,
    ) -> PollRound {
        poll_paced(self, topology, start, limits, now).await
    }

    /// Every health check of the account: id to `Type` (HTTPS, CALCULATED, ...), one
    /// ListHealthChecks page of 100 at a time.
    pub async fn health_check_types(&self) -> Result<std::collections::HashMap<String, String>, AwsError> {
        let mut types = std::collections::HashMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_health_checks()
                .max_items(100)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError(describe("Route 53 ListHealthChecks", &e)))?;
            for check in page.health_checks() {
                let kind = check
                    .health_check_config()
                    .map(|c| c.r#type().as_str().to_string())
                    .unwrap_or_default();
                types.insert(check.id().to_string(), kind);
            }
            match page.next_marker() {
                Some(next) if page.is_truncated() && !next.is_empty() => marker = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(types)
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

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    fn report(status: &str, checked: &str) -> CheckerReport {
        CheckerReport {
            status: Some(status.to_string()),
            checked_at: Some(at(checked)),
        }
    }

    #[test]
    fn the_observation_is_as_new_as_the_newest_fresh_checker_report() {
        let now = at("2026-11-25T03:01:00Z");
        let reports = [
            report(OK, "2026-11-25T03:00:40Z"),
            report(OK, "2026-11-25T03:00:52Z"),
            report(DOWN, "2026-11-25T02:59:30Z"),
            // Stale: this checker stopped reporting; it does not count either way.
            report(DOWN, "2026-11-25T02:50:00Z"),
            CheckerReport {
                status: Some(DOWN.into()),
                checked_at: None,
            },
        ];
        let (fold, observed) = fold_reports(&reports, now, REPORT_FRESH).expect("fresh reports");
        assert_eq!(observed, at("2026-11-25T03:00:52Z"));
        assert_eq!(
            fold,
            Fold {
                healthy: true,
                seen_primary: 2,
                checkers: 3
            }
        );
        let old = [report(OK, "2026-11-25T02:58:59Z")];
        assert_eq!(fold_reports(&old, now, REPORT_FRESH), None);
        // A checker's clock ahead of ours does not date the observation in the future.
        let ahead = [report(OK, "2026-11-25T03:01:05Z")];
        assert_eq!(fold_reports(&ahead, now, REPORT_FRESH).map(|(_, t)| t), Some(now));
    }

    #[test]
    fn the_pacer_allows_its_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(1.0, 3, t0);
        let slots: Vec<Duration> = (0..6).map(|_| pacer.next_slot(t0) - t0).collect();
        assert_eq!(
            slots,
            [0, 0, 0, 1, 2, 3].map(Duration::from_secs).to_vec(),
            "3 at once, then 1 a second"
        );
        // Idle time refills the bucket, never beyond the burst.
        let later = t0 + Duration::from_secs(60);
        let slots: Vec<Duration> = (0..4).map(|_| pacer.next_slot(later) - later).collect();
        assert_eq!(slots, [0, 0, 0, 1].map(Duration::from_secs).to_vec());
        assert_eq!(Pacer::new(1.0, 3, t0).capacity(Duration::from_secs(25)), 28);
    }

    #[test]
    fn rounds_after_cold_starts_turn_with_the_minute() {
        assert_eq!(rotation_start(0, 28, 800), 0);
        assert_eq!(rotation_start(1, 28, 800), 28);
        assert_eq!(rotation_start(29, 28, 800), 12);
        assert_eq!(rotation_start(5, 28, 0), 0);
        assert_eq!(rotation_start(-1, 28, 10), (9 * 28) % 10);
    }

    /// A source that answers after `delay`, failing the ids it is told to.
    struct Slow {
        delay: Duration,
        fail: Vec<String>,
        asked: std::sync::Mutex<Vec<(String, Instant)>>,
    }

    impl HealthStatusSource for Slow {
        async fn reports(&self, id: &str) -> Result<Vec<CheckerReport>, AwsError> {
            self.asked.lock().expect("lock").push((id.to_string(), Instant::now()));
            tokio::time::sleep(self.delay).await;
            if self.fail.iter().any(|f| f == id) {
                return Err(AwsError(format!("Route 53 GetHealthCheckStatus {id}: Throttling")));
            }
            Ok(vec![CheckerReport {
                status: Some(OK.into()),
                checked_at: Some(Utc::now()),
            }])
        }
    }

    fn many(n: usize) -> Topology {
        let base = crate::topology::example();
        let mut mirrors = Vec::new();
        for k in 0..n {
            let mut m = base.mirrors[0].clone();
            m.name = format!("M{k}");
            m.alarms.clear();
            for (i, member) in m.members.iter_mut().enumerate() {
                member.instance_id = None;
                member.health_check_id = member
                    .health_check_id
                    .as_ref()
                    .map(|_| format!("{k:08x}-0000-4000-8000-{i:012x}"));
            }
            mirrors.push(m);
        }
        Topology::new("many", mirrors).expect("valid")
    }

    #[tokio::test]
    async fn a_round_keeps_what_it_read_by_the_deadline_and_starts_next_with_the_rest() {
        // 5 mirrors of 4 checks: 20 checks, 50 a second, 200 ms: about 10 get read.
        let topology = many(5);
        let source = Slow {
            delay: Duration::from_millis(5),
            fail: vec!["00000000-0000-4000-8000-000000000001".into()],
            asked: Default::default(),
        };
        let limits = |ms| PollLimits {
            pacer: Pacer::new(50.0, 1, Instant::now()),
            concurrency: 4,
            deadline: Instant::now() + Duration::from_millis(ms),
            fresh: REPORT_FRESH,
        };
        let started = Instant::now();
        let round = poll_paced(&source, &topology, 0, limits(200), Utc::now()).await;
        assert_eq!(round.checks, 20);
        assert!((5..20).contains(&(round.read + round.failed.len())), "{round:?}");
        assert_eq!(round.failed.len(), 1, "{round:?}");
        assert_eq!(round.signals.len(), round.read);
        assert_eq!(round.read + round.failed.len() + round.unread.len(), 20);
        let checks = health_checks(&topology);
        let first_unread = &checks[round.next_start];
        assert_eq!(round.unread[0], format!("{}/{}", first_unread.0, first_unread.1));
        // The pace held: the k-th send no sooner than k intervals of 20 ms after the
        // round began (a late send does not push the later slots back: a token bucket).
        let asked = source.asked.lock().expect("lock").clone();
        for (k, (_, sent)) in asked.iter().enumerate() {
            assert!(
                *sent >= started + Duration::from_millis(20) * k as u32,
                "{k}: {asked:?}"
            );
        }

        // Next minute starts with what was not read, and goes round to the rest.
        let before = asked.len();
        let next = poll_paced(&source, &topology, round.next_start, limits(2000), Utc::now()).await;
        assert!(next.unread.is_empty(), "{next:?}");
        let asked = source.asked.lock().expect("lock").clone();
        assert_eq!(asked[before].0, checks[round.next_start].2);
        assert_eq!(next.next_start, round.next_start, "all read: the same start");
    }

    #[tokio::test]
    async fn a_round_without_health_checks_asks_nothing() {
        let mut topology = many(1);
        for m in &mut topology.mirrors {
            for member in &mut m.members {
                member.health_check_id = None;
            }
        }
        let source = Slow {
            delay: Duration::ZERO,
            fail: vec![],
            asked: Default::default(),
        };
        let limits = PollLimits {
            pacer: Pacer::new(1.0, 1, Instant::now()),
            concurrency: 1,
            deadline: Instant::now(),
            fresh: REPORT_FRESH,
        };
        let round = poll_paced(&source, &topology, 3, limits, Utc::now()).await;
        assert_eq!((round.checks, round.read, round.next_start), (0, 0, 0));
    }
}
