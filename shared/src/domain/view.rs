//! Read-only judgements over a mirror's state: who is primary, which observers
//! agree the primary is lost, which DR member is the best candidate. Pure.

use chrono::{DateTime, Duration, Utc};

use super::signal::MemberStatus;
use super::state::{MemberState, MirrorState};
use crate::topology::{MemberKind, Mirror, Observer};

/// A member's current claim to be primary, from the newest evidence about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    pub member: &'a str,
    pub at: DateTime<Utc>,
}

pub struct View<'a> {
    pub state: &'a MirrorState,
    pub mirror: &'a Mirror,
    pub now: DateTime<Utc>,
}

impl<'a> View<'a> {
    pub fn new(state: &'a MirrorState, mirror: &'a Mirror, now: DateTime<Utc>) -> Self {
        View { state, mirror, now }
    }

    fn member(&self, name: &str) -> Option<&'a MemberState> {
        self.state.members.get(name)
    }

    fn stale_after(&self) -> Duration {
        Duration::seconds(i64::try_from(self.mirror.policy.heartbeat_stale_secs).unwrap_or(i64::MAX / 2_000_000))
    }

    /// `Some(true)` if the member was heard from recently, `Some(false)` if it went
    /// silent, `None` if it never sent a heartbeat (then silence means nothing).
    pub fn heartbeat_fresh(&self, name: &str) -> Option<bool> {
        let heard = self.member(name)?.last_heard?;
        Some(self.now - heard <= self.stale_after())
    }

    pub fn observation(&self, name: &str, observer: Observer) -> Option<&'a super::state::Observation> {
        self.member(name)?.observations.get(&observer)
    }

    pub fn status(&self, name: &str) -> Option<MemberStatus> {
        self.member(name)?.status.map(|(s, _)| s)
    }

    /// Whether the member serves as primary now, and since when the evidence says
    /// so: the newest of its Route 53 health (healthy = answers as primary) and its
    /// own reported status decides; a newer "instance down", or silence after a
    /// status-only claim, ends the claim.
    pub fn claim(&self, name: &'a str) -> Option<Claim<'a>> {
        let ms = self.member(name)?;
        let route53 = ms.observations.get(&Observer::Route53).map(|o| (o.healthy, o.at, true));
        let status = ms.status.map(|(s, at)| (s == MemberStatus::Primary, at, false));
        let newest = match (route53, status) {
            (Some(r), Some(s)) => {
                if s.1 > r.1 {
                    s
                } else {
                    r
                }
            }
            (Some(r), None) => r,
            (None, Some(s)) => s,
            (None, None) => return None,
        };
        let (positive, at, from_route53) = newest;
        if !positive {
            return None;
        }
        if let Some(instance) = ms.observations.get(&Observer::Instance) {
            if !instance.healthy && instance.at >= at {
                return None;
            }
        }
        if !from_route53 && self.heartbeat_fresh(name) == Some(false) {
            return None;
        }
        Some(Claim { member: name, at })
    }

    /// Every member claiming primary, newest claim first.
    pub fn claims(&self) -> Vec<Claim<'a>> {
        let mut claims: Vec<Claim<'a>> = self.mirror.members.iter().filter_map(|m| self.claim(&m.name)).collect();
        claims.sort_by(|a, b| b.at.cmp(&a.at).then(a.member.cmp(b.member)));
        claims
    }

    /// Members claiming primary within the current epoch (evidence no older than its start).
    pub fn claims_this_epoch(&self) -> Vec<Claim<'a>> {
        let start = self.state.epoch_started_at;
        self.claims()
            .into_iter()
            .filter(|c| start.is_none_or(|s| c.at >= s))
            .collect()
    }

    /// Whether the member is down by any observer that can say so.
    pub fn is_down(&self, name: &str) -> bool {
        let instance_down = self.observation(name, Observer::Instance).is_some_and(|o| !o.healthy);
        let silent = self.heartbeat_fresh(name) == Some(false);
        let says_down = matches!(
            self.status(name),
            Some(MemberStatus::Down | MemberStatus::InTrouble | MemberStatus::NotInitialized)
        );
        instance_down || silent || says_down
    }

    /// The observers that agree no failover member serves as primary. Only
    /// meaningful when no failover member claims primary.
    pub fn observers_agreeing_primary_lost(&self) -> Vec<Observer> {
        let failovers: Vec<&str> = self.mirror.failover_members().map(|m| m.name.as_str()).collect();
        let mut agree = Vec::new();

        // Route 53: some failover member's check was seen, and every seen one fails.
        let seen: Vec<bool> = failovers
            .iter()
            .filter_map(|m| self.observation(m, Observer::Route53).map(|o| o.healthy))
            .collect();
        if !seen.is_empty() && seen.iter().all(|healthy| !healthy) {
            agree.push(Observer::Route53);
        }

        // Instance: the last known primary's instance is down (or, with no known
        // primary, every observed failover instance is down).
        let instance_targets: Vec<&str> = match self.state.primary.as_deref() {
            Some(p) if self.mirror.is_failover(p) => vec![p],
            _ => failovers.clone(),
        };
        let instances: Vec<bool> = instance_targets
            .iter()
            .filter_map(|m| self.observation(m, Observer::Instance).map(|o| o.healthy))
            .collect();
        if !instances.is_empty() && instances.iter().all(|healthy| !healthy) {
            agree.push(Observer::Instance);
        }

        // Heartbeat: failover members were heard from, and none is both fresh and primary.
        let heard = failovers.iter().any(|m| self.heartbeat_fresh(m).is_some());
        let fresh_primary = failovers
            .iter()
            .any(|m| self.heartbeat_fresh(m) == Some(true) && self.status(m) == Some(MemberStatus::Primary));
        if heard && !fresh_primary {
            agree.push(Observer::Heartbeat);
        }
        agree
    }

    /// Whether this DR member could be promoted now.
    pub fn is_promotable(&self, name: &str) -> bool {
        self.mirror.member(name).is_some_and(|m| m.kind == MemberKind::DrAsync) && !self.is_down(name)
    }

    /// The best DR candidate: promotable, lowest journal latency (unknown last),
    /// never a reporting async.
    pub fn best_candidate(&self) -> Option<&'a str> {
        let mut candidates: Vec<(&'a str, Option<f64>)> = self
            .mirror
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::DrAsync && self.is_promotable(&m.name))
            .map(|m| {
                (
                    m.name.as_str(),
                    self.member(&m.name).and_then(|s| s.journal_latency).map(|l| l.seconds),
                )
            })
            .collect();
        candidates.sort_by(|a, b| match (a.1, b.1) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.0.cmp(b.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.0.cmp(b.0),
        });
        candidates.first().map(|c| c.0)
    }

    /// Whether every other failover member was seen working again, not as primary,
    /// since the epoch began (it reported Backup or Connected, or its instance ran
    /// with its alarms OK), and nothing says it is down. No evidence, no claim
    /// that high availability is back.
    pub fn partners_rejoined(&self, primary: &str) -> bool {
        let since = self.state.epoch_started_at.unwrap_or(self.state.phase_since);
        self.mirror
            .failover_members()
            .map(|m| m.name.as_str())
            .filter(|m| *m != primary)
            .all(|m| {
                let Some(ms) = self.member(m) else { return false };
                let reported = ms
                    .status
                    .is_some_and(|(s, at)| at >= since && s.is_working() && s != MemberStatus::Primary);
                let running = ms
                    .observations
                    .get(&Observer::Instance)
                    .is_some_and(|o| o.healthy && o.at >= since);
                (reported || running) && !self.is_down(m) && self.claim(m).is_none()
            })
    }

    /// The failover partner of the given primary that is down, if any.
    pub fn partner_down(&self, primary: &str) -> Option<&'a str> {
        self.mirror
            .failover_members()
            .map(|m| m.name.as_str())
            .find(|m| *m != primary && self.is_down(m))
    }
}
