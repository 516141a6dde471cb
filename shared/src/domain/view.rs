//! Read-only judgements over a mirror's state: who answers as primary, what proves
//! that a primary exists, which observers agree the primary is lost, which DR member
//! is the best candidate and what it may lose. Pure.
//!
//! Evidence ages. Negative evidence from a CloudWatch alarm holds until the alarm
//! changes (its state is level-triggered); positive evidence proves a primary only
//! while it is fresh (`policy.evidence_fresh_secs`), because the region that would
//! say otherwise may be gone. Periodic observers (heartbeats, probes, the asyncs'
//! reports) count only while fresh, whatever they say.

use chrono::{DateTime, Utc};

use super::loss::LossEstimate;
use super::mirror::{secs, MemberKind, Mirror, Observer};
use super::signal::MemberStatus;
use super::state::{MemberState, MirrorState, Observation};

/// A member's current claim to be primary, from the newest evidence about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    pub member: &'a str,
    /// The last time the member was said to be primary.
    pub at: DateTime<Utc>,
    /// Since when it has been answering as primary without a break.
    pub since: DateTime<Utc>,
}

/// Fresh evidence that some primary exists, without it being one we can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness<'a> {
    pub member: &'a str,
    pub status: MemberStatus,
    pub at: DateTime<Utc>,
}

impl Witness<'_> {
    /// "HSPROD-DR2 reports Connected (03:06 UTC)"
    pub fn words(&self) -> String {
        format!(
            "{} reports {} ({})",
            self.member,
            self.status.as_str(),
            super::alert::clock(self.at)
        )
    }
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

    /// Whether evidence last said at `at` is still fresh.
    pub fn is_fresh(&self, at: DateTime<Utc>) -> bool {
        self.now - at <= secs(self.mirror.policy.evidence_fresh_secs)
    }

    /// `Some(true)` if the member was heard from recently, `Some(false)` if it went
    /// silent, `None` if it never sent a heartbeat (then silence means nothing).
    pub fn heartbeat_fresh(&self, name: &str) -> Option<bool> {
        let heard = self.member(name)?.last_heard?;
        Some(self.now - heard <= secs(self.mirror.policy.heartbeat_stale_secs))
    }

    /// Whether an observer's word still counts, by the rules above: a failing Route 53
    /// check and an instance's state hold until they change (level-triggered alarms
    /// and EC2 state); a healthy Route 53 check and the probe count only while fresh.
    pub fn observation_fresh(&self, observer: Observer, observation: &Observation) -> bool {
        match observer {
            Observer::Instance => true,
            Observer::Route53 if !observation.healthy => true,
            _ => self.is_fresh(observation.last()),
        }
    }

    pub fn observation(&self, name: &str, observer: Observer) -> Option<&'a Observation> {
        self.member(name)?.observations.get(&observer)
    }

    pub fn status(&self, name: &str) -> Option<MemberStatus> {
        self.member(name)?.status.map(|(s, _)| s)
    }

    /// The member's reported status while its heartbeat is fresh.
    pub fn fresh_status(&self, name: &str) -> Option<(MemberStatus, DateTime<Utc>)> {
        let (status, at) = self.member(name)?.status?;
        (self.heartbeat_fresh(name) == Some(true) && self.is_fresh(at)).then_some((status, at))
    }

    /// The members that may serve as primary in this epoch: the current primary when
    /// it is a DR member (promoted), otherwise the failover members.
    pub fn primary_capable(&self) -> Vec<&'a str> {
        match self.state.primary.as_deref().and_then(|p| self.mirror.member(p)) {
            Some(p) if p.kind != MemberKind::Failover => vec![p.name.as_str()],
            _ => self.mirror.failover_members().map(|m| m.name.as_str()).collect(),
        }
    }

    /// The newest word on whether the member is primary: (says primary, when last said).
    /// Its own status first on a tie (IRIS's word), then the probe, then Route 53.
    fn primary_word(&self, name: &str) -> Option<(bool, DateTime<Utc>)> {
        let ms = self.member(name)?;
        let status = ms
            .status
            .filter(|(s, _)| *s != MemberStatus::Unknown)
            .map(|(s, at)| (s.is_primary(), at));
        let probe = ms.observations.get(&Observer::Probe).map(|o| (o.healthy, o.last()));
        let route53 = ms.observations.get(&Observer::Route53).map(|o| (o.healthy, o.last()));
        [status, probe, route53]
            .into_iter()
            .flatten()
            .fold(None, |best: Option<(bool, DateTime<Utc>)>, w| match best {
                Some(b) if b.1 >= w.1 => Some(b),
                _ => Some(w),
            })
    }

    /// Whether the member answers as primary now: the newest word about it says so,
    /// is fresh, and no newer word says its instance is down.
    pub fn claim(&self, name: &'a str) -> Option<Claim<'a>> {
        let ms = self.member(name)?;
        let (positive, at) = self.primary_word(name)?;
        if !positive || !self.is_fresh(at) {
            return None;
        }
        if let Some(instance) = ms.observations.get(&Observer::Instance) {
            if !instance.healthy && instance.at >= at {
                return None;
            }
        }
        let since = ms.claiming_since.filter(|s| *s <= at).unwrap_or(at);
        Some(Claim {
            member: name,
            at,
            since,
        })
    }

    /// Every member claiming primary, newest claim first.
    pub fn claims(&self) -> Vec<Claim<'a>> {
        let mut claims: Vec<Claim<'a>> = self.mirror.members.iter().filter_map(|m| self.claim(&m.name)).collect();
        claims.sort_by(|a, b| b.at.cmp(&a.at).then(a.member.cmp(b.member)));
        claims
    }

    /// Fresh evidence that a primary exists: a member answering as primary, a failover
    /// member reporting Backup, or an async reporting Connected. The newest first.
    pub fn witness(&self) -> Option<Witness<'a>> {
        if let Some(c) = self.claims().first() {
            let status = self
                .status(c.member)
                .filter(|s| s.is_primary())
                .unwrap_or(MemberStatus::Primary);
            return Some(Witness {
                member: c.member,
                status,
                at: c.at,
            });
        }
        let primary = self.state.primary.as_deref();
        self.mirror
            .members
            .iter()
            .filter(|m| Some(m.name.as_str()) != primary)
            .filter_map(|m| {
                let (status, at) = self.fresh_status(&m.name)?;
                let proves = match m.kind {
                    MemberKind::Failover => status == MemberStatus::Backup,
                    MemberKind::DrAsync | MemberKind::ReportingAsync => status == MemberStatus::Connected,
                    MemberKind::Arbiter => false,
                };
                // Outweighed by a newer word that the member is gone: its instance
                // down, or no answer at all from it.
                let gone = self
                    .observation(&m.name, Observer::Instance)
                    .is_some_and(|o| !o.healthy && o.at >= at)
                    || [Observer::Probe, Observer::Route53]
                        .into_iter()
                        .filter_map(|o| self.observation(&m.name, o))
                        .any(|o| o.unreachable && o.at > at);
                (proves && !gone).then_some(Witness {
                    member: m.name.as_str(),
                    status,
                    at,
                })
            })
            .max_by_key(|w| w.at)
    }

    /// Whether the member is down by any observer that can say so. `Unknown` (its
    /// agent could not ask IRIS) and `In Trouble` (a primary) are not down.
    pub fn is_down(&self, name: &str) -> bool {
        let instance_down = self.observation(name, Observer::Instance).is_some_and(|o| !o.healthy);
        let silent = self.heartbeat_fresh(name) == Some(false);
        let says_down = self.status(name).is_some_and(MemberStatus::is_down);
        instance_down || silent || says_down
    }

    /// The observers that agree the primary is lost. Only meaningful when no member
    /// claims primary and nothing witnesses one.
    pub fn observers_agreeing_primary_lost(&self) -> Vec<Observer> {
        let capable = self.primary_capable();
        let mut agree = Vec::new();

        // Route 53: some capable member's check was seen, and every one seen fails now.
        // A failing check holds (its alarm is level-triggered); a healthy one that was
        // not confirmed lately says nothing either way.
        let route53: Vec<Option<bool>> = capable
            .iter()
            .filter_map(|m| self.observation(m, Observer::Route53))
            .map(|o| {
                if o.healthy {
                    self.is_fresh(o.last()).then_some(true)
                } else {
                    Some(false)
                }
            })
            .collect();
        if !route53.is_empty() && route53.iter().all(|h| *h == Some(false)) {
            agree.push(Observer::Route53);
        }

        // Instance: the last known primary's instance is down (or, with no known
        // primary, every observed capable instance is down).
        let targets: Vec<&str> = match self.state.primary.as_deref() {
            Some(p) if capable.contains(&p) => vec![p],
            _ => capable.clone(),
        };
        let instances: Vec<bool> = targets
            .iter()
            .filter_map(|m| self.observation(m, Observer::Instance).map(|o| o.healthy))
            .collect();
        if !instances.is_empty() && instances.iter().all(|healthy| !healthy) {
            agree.push(Observer::Instance);
        }

        // Heartbeat: capable members were heard from, and each one heard is silent now or
        // says it is not primary (an agent that could not ask IRIS says nothing).
        let heard: Vec<&str> = capable
            .iter()
            .copied()
            .filter(|m| self.heartbeat_fresh(m).is_some())
            .collect();
        let heartbeat_agrees = heard.iter().all(|m| match self.fresh_status(m) {
            None => true,
            Some((status, _)) => !status.is_primary() && status != MemberStatus::Unknown,
        });
        if !heard.is_empty() && heartbeat_agrees {
            agree.push(Observer::Heartbeat);
        }

        // Probe: every capable member probed lately fails the probe from here.
        let probes: Vec<bool> = capable
            .iter()
            .filter_map(|m| self.observation(m, Observer::Probe))
            .filter(|o| self.is_fresh(o.last()))
            .map(|o| o.healthy)
            .collect();
        if !probes.is_empty() && probes.iter().all(|healthy| !healthy) {
            agree.push(Observer::Probe);
        }

        // The asyncs' own view: some async reports lately that it cannot reach a
        // primary (Waiting), and none is connected or reconnecting.
        let asyncs: Vec<MemberStatus> = self
            .mirror
            .members
            .iter()
            .filter(|m| matches!(m.kind, MemberKind::DrAsync | MemberKind::ReportingAsync))
            .filter(|m| !capable.contains(&m.name.as_str()))
            .filter_map(|m| self.fresh_status(&m.name).map(|(s, _)| s))
            .collect();
        let waiting = asyncs.contains(&MemberStatus::Waiting);
        let reaching = asyncs
            .iter()
            .any(|s| matches!(s, MemberStatus::Connected | MemberStatus::Synchronizing));
        if waiting && !reaching {
            agree.push(Observer::Asyncs);
        }
        agree
    }

    /// Whether this DR member could be promoted now.
    pub fn is_promotable(&self, name: &str) -> bool {
        self.mirror.member(name).is_some_and(|m| m.kind == MemberKind::DrAsync)
            && self.state.primary.as_deref() != Some(name)
            && !self.is_down(name)
            && self.claim_of(name).is_none()
    }

    fn claim_of(&self, name: &str) -> Option<Claim<'a>> {
        let member = self.mirror.member(name)?;
        self.claim(&member.name)
    }

    /// The last time the current primary was seen serving (for the loss estimate).
    pub fn primary_until(&self) -> DateTime<Utc> {
        self.state.primary_seen_at.or(self.state.lost_since).unwrap_or(self.now)
    }

    /// What promoting this member may lose now.
    pub fn loss_estimate(&self, name: &str) -> LossEstimate {
        let ms = self.member(name);
        LossEstimate::of(
            ms.and_then(|m| m.journal_latency.as_ref()),
            ms.and_then(|m| m.last_connected),
            ms.and_then(|m| m.link_lost_at),
            self.primary_until(),
        )
    }

    /// The promotable DR members, least loss first (unknown last), by name on a tie.
    pub fn candidates(&self) -> Vec<(&'a str, LossEstimate)> {
        let mut candidates: Vec<(&'a str, LossEstimate)> = self
            .mirror
            .members
            .iter()
            .filter(|m| self.is_promotable(&m.name))
            .map(|m| (m.name.as_str(), self.loss_estimate(&m.name)))
            .collect();
        candidates.sort_by(|a, b| match (a.1.seconds, b.1.seconds) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.0.cmp(b.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.0.cmp(b.0),
        });
        candidates
    }

    /// The best DR candidate: promotable, least estimated loss, never a reporting async.
    pub fn best_candidate(&self) -> Option<&'a str> {
        self.candidates().first().map(|c| c.0)
    }

    /// Whether every other failover member was seen working again, not as primary,
    /// since the epoch or the phase began (it reported Backup lately, or, where no agent reports,
    /// its instance ran with its alarms OK), and nothing says it is down. No
    /// evidence, no claim that high availability is back.
    pub fn partners_rejoined(&self, primary: &str) -> bool {
        // Since the failover or the loss of the backup began, not what it said before.
        let since = self
            .state
            .epoch_started_at
            .map_or(self.state.phase_since, |e| e.max(self.state.phase_since));
        self.mirror
            .failover_members()
            .map(|m| m.name.as_str())
            .filter(|m| *m != primary)
            .all(|m| {
                let Some(ms) = self.member(m) else { return false };
                // Its own word decides when it has one (Synchronizing is not a backup
                // yet); a running instance counts only where no agent reports.
                let back = match self.fresh_status(m) {
                    Some((s, at)) => at >= since && s.is_working() && !s.is_primary(),
                    None => ms
                        .observations
                        .get(&Observer::Instance)
                        .is_some_and(|o| o.healthy && o.last() >= since),
                };
                back && !self.is_down(m) && self.claim(m).is_none()
            })
    }

    /// The failover partner of the given primary that is lost, if any: down by any
    /// observer, or the primary itself reports In Trouble (it lost its backup).
    pub fn partner_down(&self, primary: &str) -> Option<&'a str> {
        let in_trouble = self
            .fresh_status(primary)
            .is_some_and(|(s, _)| s == MemberStatus::InTrouble);
        self.mirror
            .failover_members()
            .map(|m| m.name.as_str())
            .find(|m| *m != primary && (in_trouble || self.is_down(m)))
    }

    /// The newest evidence, said at or after `after`, that the member lives: its agent
    /// spoke (whatever it reported, `Unknown` included: the host runs), its instance
    /// runs, or its `mirror_status.cxw` answered at all (Route 53 healthy, or the
    /// probe got an answer, 200 or 503). A failing check or a stopped instance is not.
    pub fn heard_alive(&self, name: &str, after: DateTime<Utc>) -> Option<(DateTime<Utc>, String)> {
        let ms = self.member(name)?;
        let mut words: Vec<(DateTime<Utc>, String)> = Vec::new();
        if let Some((status, at)) = ms.status {
            words.push((at, format!("its agent reports {}", status.as_str())));
        }
        for (observer, o) in &ms.observations {
            let alive = match observer {
                Observer::Instance | Observer::Route53 => o.healthy,
                Observer::Probe => !o.unreachable,
                Observer::Heartbeat | Observer::Asyncs => false,
            };
            if alive {
                let what = match observer {
                    Observer::Instance => format!("its instance runs ({})", o.source),
                    Observer::Route53 => "its Route 53 health check is healthy (it answers as primary)".to_string(),
                    _ => format!("mirror_status.cxw answers ({})", o.source),
                };
                words.push((o.last(), what));
            }
        }
        words
            .into_iter()
            .filter(|(at, _)| *at >= after)
            .max_by_key(|(at, _)| *at)
            .map(|(at, what)| (at, format!("{name}: {what} ({})", super::alert::clock(at))))
    }
}
