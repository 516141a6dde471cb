//! The mirror as the decision core sees it: its members and what each is, the
//! observers that watch them, the promotion policy and what an approved promotion or
//! fencing runs. The topology file is a list of these (`[[mirror]]`), so the serde
//! attributes here are the file's format; reading, validating and storing that file
//! is the `topology` module's work, which builds on these types (the domain does not
//! depend on it).

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// What a member is in the IRIS mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// One of the two failover members (primary or backup) in the primary region.
    Failover,
    /// A disaster-recovery async member, fed by asynchronous journal replication.
    DrAsync,
    /// A reporting async member: never a promotion candidate.
    ReportingAsync,
    /// The arbiter that helps IRIS decide failover inside the primary region.
    Arbiter,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Failover => "failover",
            MemberKind::DrAsync => "dr_async",
            MemberKind::ReportingAsync => "reporting_async",
            MemberKind::Arbiter => "arbiter",
        }
    }
}

/// An independent way of observing a member. Holistic detection counts how many
/// different observers agree before it believes the primary is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observer {
    /// Route 53 health checks on `mirror_status.cxw` (healthy = reachable and primary).
    Route53,
    /// The EC2 instance: state-change events and instance-level alarms.
    Instance,
    /// The member's own heartbeats and role events.
    Heartbeat,
    /// `mirror_status.cxw` probed by `health-poll` from the control plane's own region
    /// (healthy = 200 SUCCESS: reachable from there and primary). It lives outside the
    /// primary region, so it still speaks when that region is gone.
    Probe,
    /// The async members' own view: Connected proves a primary exists (reachable from
    /// where the async runs); none Connected any more says the primary is gone or cut off.
    Asyncs,
}

impl Observer {
    pub const ALL: [Observer; 5] = [
        Observer::Route53,
        Observer::Instance,
        Observer::Heartbeat,
        Observer::Probe,
        Observer::Asyncs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Observer::Route53 => "route53",
            Observer::Instance => "instance",
            Observer::Heartbeat => "heartbeat",
            Observer::Probe => "probe",
            Observer::Asyncs => "asyncs",
        }
    }

    /// Whether the observer lives in the primary region (or, for Route 53's metrics,
    /// in us-east-1): when that region is gone, it says nothing more.
    pub fn in_primary_region(self) -> bool {
        matches!(self, Observer::Route53 | Observer::Instance)
    }
}

/// One member of a mirror (`[[mirror.member]]`): where it runs and the identifiers
/// that AWS events and the control plane's probes know it by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub name: String,
    pub kind: MemberKind,
    pub region: String,
    pub zone: String,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub health_check_id: Option<String>,
    /// The member's `mirror_status.cxw` as the control plane's region reaches it
    /// (e.g. `https://10.1.2.3/csp/user/mirror_status.cxw`): `health-poll` probes it.
    #[serde(default)]
    pub status_url: Option<String>,
    /// The IRIS (or Caché) instance name on the member's host (`iris list`), which
    /// the SSM documents run `iris session` against. Not the mirror's name.
    #[serde(default)]
    pub iris_instance: Option<String>,
}

/// An alarm matched by its name rather than by a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmMapping {
    pub name: String,
    pub member: String,
    /// What the alarm observes; `instance` when not given.
    #[serde(default = "default_alarm_observer")]
    pub observer: Observer,
}

fn default_alarm_observer() -> Observer {
    Observer::Instance
}

/// The promotion policy of one mirror. All durations are in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub confirmation_window_secs: u64,
    pub min_observers: usize,
    pub approval_expiry_secs: u64,
    pub max_journal_latency_secs: u64,
    pub reminder_interval_secs: u64,
    pub cool_down_secs: u64,
    pub approvers_required: usize,
    pub heartbeat_stale_secs: u64,
    pub promotion_timeout_secs: u64,
    /// How long positive evidence (a check seen healthy, Primary, Backup or Connected
    /// heard) proves a primary without being confirmed again.
    pub evidence_fresh_secs: u64,
    /// How long two members may both answer as primary (evidence lags a failover)
    /// before it is alerted as two primaries.
    pub split_brain_grace_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            confirmation_window_secs: 180,
            min_observers: 2,
            approval_expiry_secs: 1800,
            max_journal_latency_secs: 60,
            reminder_interval_secs: 600,
            cool_down_secs: 900,
            approvers_required: 1,
            heartbeat_stale_secs: 180,
            promotion_timeout_secs: 600,
            evidence_fresh_secs: 180,
            split_brain_grace_secs: 180,
        }
    }
}

/// A number of seconds of the policy (or any bound of the rules) as a duration. The
/// topology accepts at most a year for a policy value; a larger number, which only a
/// mirror built without the topology's checks can hold, is cut to about 146,000 years
/// rather than overflowing the clock arithmetic it is used in.
pub fn secs(n: u64) -> Duration {
    const MAX: i64 = i64::MAX / 2_000_000;
    Duration::seconds(i64::try_from(n).unwrap_or(MAX).min(MAX))
}

/// What is done once a promotion is approved (carried out by the promotion adapter).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromotionConfig {
    /// SSM document run on the candidate's instance (the site's own promote script).
    pub ssm_document: Option<String>,
    pub ssm_parameters: BTreeMap<String, Vec<String>>,
    /// EventBridge bus that receives `PromotionApproved` / `PromotionExecuted`.
    pub event_bus: Option<String>,
    /// SSM document that fences a former failover member when its region comes back
    /// after a DR promotion, so that it cannot become primary again.
    pub fence_document: Option<String>,
    /// How the fencing document fences (the site's policy).
    pub fence_method: FenceMethod,
    /// SSM document run on the drill's candidate when a DR drill is approved (the
    /// site's own rehearsal: checks that change nothing). None: an approved drill runs
    /// nothing.
    pub drill_document: Option<String>,
}

/// How a former failover member is fenced after a DR promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FenceMethod {
    /// Keep IRIS running but out of the mirror: `JoinMirror=0` and
    /// `ValidatedMember=0` in the member's mirror configuration, and the fence file
    /// that `^ZMIRROR`'s `CanNodeStartToBecomePrimary` checks.
    #[default]
    Demote,
    /// Stop IRIS on the member (and leave the fence file).
    Stop,
}

impl FenceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceMethod::Demote => "demote",
            FenceMethod::Stop => "stop",
        }
    }
}

/// One IRIS mirror (`[[mirror]]`): its two regions, members, alarm mappings,
/// promotion policy and what an approved promotion runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    pub name: String,
    pub primary_region: String,
    pub dr_region: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub promotion: PromotionConfig,
    #[serde(default, rename = "member")]
    pub members: Vec<Member>,
    #[serde(default, rename = "alarm")]
    pub alarms: Vec<AlarmMapping>,
}

impl Mirror {
    /// The member of this mirror named `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The one or two failover members, in the topology's order.
    pub fn failover_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.kind == MemberKind::Failover)
    }

    /// Whether `name` is one of this mirror's failover members.
    pub fn is_failover(&self, name: &str) -> bool {
        self.member(name).is_some_and(|m| m.kind == MemberKind::Failover)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_policy_value_is_its_seconds_and_one_past_any_bound_stays_within_the_clock() {
        assert_eq!(secs(180), Duration::seconds(180));
        assert_eq!(secs(0), Duration::zero());
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).single().expect("a time");
        for huge in [u64::MAX, i64::MAX as u64, 1 << 62] {
            assert!(secs(huge) > Duration::days(366 * 100_000), "{huge}");
            assert!(now.checked_sub_signed(secs(huge)).is_some(), "{huge}");
            assert!(now.checked_add_signed(secs(huge)).is_some(), "{huge}");
        }
    }
}
