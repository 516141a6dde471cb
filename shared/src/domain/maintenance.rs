//! Maintenance windows: planned work on a mirror (patching the failover members,
//! one after the other), during which the expected noise is told as information and
//! no promotion request is raised. docs/DETECTION.md says the rules in words.
//!
//! - A window is started with a duration, a reason and who, and ends by itself at
//!   its end, or early by hand. Every start and end is a line of the mirror's
//!   history and a record in [`MirrorState::maintenance`].
//! - During a window no promotion request is raised; a request already waiting stays
//!   (it was raised on evidence from before the window) and its reminders, expiry
//!   and decisions follow the normal rules.
//! - During a window the alerts that patching the failover members causes
//!   ([`expected_during_maintenance`]) drop to info; every alert says
//!   "maintenance: <reason>, until <time>". What patching the failover members does
//!   not explain keeps its severity: two primaries (split brain), a DR member
//!   becoming primary, anything about a promotion request, and a DR async member
//!   lost (down, stopped or silent), which is alerted only during a window
//!   (`dr_member_lost`, warning): it is the safety net while high availability is
//!   reduced on purpose.
//! - When a window ends, the normal rules apply at once to the evidence as it
//!   stands: a loss that the observers have agreed on continuously for the whole
//!   confirmation window (counted from the evidence, so partly during the window)
//!   raises its request at the window's end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alert::{duration_words, AlertKind, Severity};
use super::decide::{Decider, Verdict};
use super::mirror::{secs, MemberKind, Observer};
use super::notice::{DownEvidence, MaintenanceNotice};
use super::state::MirrorState;
use super::view::View;
use super::wording::{self, Words};

/// The longest window that may be started: longer planned work is planned again.
pub const MAX_MAINTENANCE_SECS: u64 = 7 * 24 * 3600;
/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 200;
/// The longest name of who started or ended a window.
pub const MAX_BY_CHARS: usize = 200;
/// How many windows a mirror's state keeps (the newest).
pub const MAX_WINDOWS: usize = 20;

/// One maintenance window of a mirror, as started and (once over) as ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub started_at: DateTime<Utc>,
    /// When it ends by itself.
    pub until: DateTime<Utc>,
    pub reason: String,
    /// Who started it.
    pub by: String,
    /// When it ended: `until` when its time ran out, earlier when ended by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Who ended it early (`None` when its time ran out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// The DR members already alerted as lost during this window (once each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dr_lost_alerted: Vec<String>,
}

impl MaintenanceWindow {
    /// Whether the window is on at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none() && self.started_at <= now && now < self.until
    }
}

impl MirrorState {
    /// The maintenance window on at `now`, if any.
    pub fn active_maintenance(&self, now: DateTime<Utc>) -> Option<&MaintenanceWindow> {
        self.maintenance.iter().rev().find(|w| w.is_active(now))
    }
}

/// Why a maintenance window cannot be started with these values, in words for the
/// operator; `None` when they are good.
pub fn invalid_start(duration_secs: u64, reason: &str, by: &str) -> Option<String> {
    if duration_secs == 0 {
        return Some("the window must last at least a second (--for 2h, 90m, 45s)".into());
    }
    if duration_secs > MAX_MAINTENANCE_SECS {
        return Some(format!(
            "a window lasts at most 7 days ({}); plan longer work as several windows",
            duration_words(secs(MAX_MAINTENANCE_SECS).num_seconds())
        ));
    }
    if reason.trim().is_empty() {
        return Some("give the reason (--reason TEXT): every alert during the window says it".into());
    }
    if reason.trim().chars().count() > MAX_REASON_CHARS {
        return Some(format!("the reason is longer than {MAX_REASON_CHARS} characters"));
    }
    invalid_by(by)
}

/// Why `by` cannot name who started or ended a window; `None` when it can.
pub fn invalid_by(by: &str) -> Option<String> {
    if by.trim().is_empty() {
        return Some("name who does it (--by NAME): every start and end is recorded with who".into());
    }
    if by.trim().chars().count() > MAX_BY_CHARS {
        return Some(format!("the name is longer than {MAX_BY_CHARS} characters"));
    }
    None
}

/// Parses a duration such as `2h`, `90m`, `1h30m`, `45s` or `1d` into seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a duration: write it as 2h, 90m, 1h30m, 45s or 1d");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// The alerts that patching the failover members causes: the primary going and
/// coming back, IRIS failing over between them, the backup down, high availability
/// back. During a window they drop to info.
pub fn expected_during_maintenance(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::PrimaryLost
            | AlertKind::PrimaryBack
            | AlertKind::FailedOver
            | AlertKind::Degraded
            | AlertKind::HaRestored
            | AlertKind::FailedBack
    )
}

impl Decider<'_, '_> {
    /// Whether a maintenance window is on now.
    pub(super) fn in_maintenance(&self) -> bool {
        self.s.active_maintenance(self.now()).is_some()
    }

    /// An alert's severity and words as told during a window: what patching the
    /// failover members explains drops to info, and every alert names the window.
    pub(super) fn as_told_during_maintenance(
        &self,
        kind: AlertKind,
        severity: Severity,
        words: Words,
    ) -> (Severity, Words) {
        let Some(window) = self.s.active_maintenance(self.now()) else {
            return (severity, words);
        };
        if matches!(kind, AlertKind::MaintenanceStarted | AlertKind::MaintenanceEnded) {
            return (severity, words);
        }
        let severity = if expected_during_maintenance(kind) {
            Severity::Info
        } else {
            severity
        };
        (severity, wording::during_maintenance(window, words))
    }

    /// Starts a window (a window already on is replaced: its end is recorded).
    pub(super) fn start_maintenance(&mut self, duration_secs: u64, reason: &str, by: &str) -> Verdict {
        if let Some(why) = invalid_start(duration_secs, reason, by) {
            return Verdict::Ignored {
                why: format!("maintenance of {} not started: {why}", self.m.name),
            };
        }
        let now = self.now();
        let (reason, by) = (reason.trim().to_string(), by.trim().to_string());
        if let Some(old) = self.s.maintenance.iter_mut().rev().find(|w| w.is_active(now)) {
            old.ended_at = Some(now);
            old.ended_by = Some(by.clone());
            let line = format!("maintenance ({}) replaced by {by} with a new window", old.reason);
            self.s.record(now, line);
        }
        let window = MaintenanceWindow {
            started_at: now,
            until: now + secs(duration_secs),
            reason: reason.clone(),
            by: by.clone(),
            ended_at: None,
            ended_by: None,
            dr_lost_alerted: Vec::new(),
        };
        let until = window.until;
        self.s.maintenance.push(window.clone());
        while self.s.maintenance.len() > MAX_WINDOWS {
            self.s.maintenance.remove(0);
        }
        let length = duration_words(secs(duration_secs).num_seconds());
        self.s.record(
            now,
            format!(
                "maintenance started by {by}: {reason}, until {} ({length})",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
        );
        let waiting = self.s.open_request().map(|open| open.id.clone());
        self.tell(MaintenanceNotice::Started {
            window,
            duration_secs,
            phase: self.s.phase,
            waiting,
        });
        Verdict::Applied
    }

    /// Ends the window on now, by hand.
    pub(super) fn end_maintenance(&mut self, by: &str) -> Verdict {
        if let Some(why) = invalid_by(by) {
            return Verdict::Ignored {
                why: format!("maintenance of {} not ended: {why}", self.m.name),
            };
        }
        let now = self.now();
        let Some(window) = self.s.maintenance.iter_mut().rev().find(|w| w.is_active(now)) else {
            return Verdict::Ignored {
                why: format!("{} has no maintenance window on: nothing to end", self.m.name),
            };
        };
        window.ended_at = Some(now);
        window.ended_by = Some(by.trim().to_string());
        let window = window.clone();
        self.maintenance_over(&window);
        Verdict::Applied
    }

    /// A window whose time ran out ends by itself (whatever signal comes first after it).
    pub(super) fn expire_maintenance(&mut self) {
        let now = self.now();
        let Some(window) = self
            .s
            .maintenance
            .iter_mut()
            .rev()
            .find(|w| w.ended_at.is_none() && now >= w.until)
        else {
            return;
        };
        window.ended_at = Some(window.until);
        let window = window.clone();
        self.maintenance_over(&window);
    }

    /// A window is over (ended early by hand, or its time ran out): recorded, and told
    /// with the phase it leaves the mirror in.
    fn maintenance_over(&mut self, window: &MaintenanceWindow) {
        let now = self.now();
        let how = wording::maintenance_end(window.ended_by.as_deref());
        self.s.record(
            now,
            format!("maintenance ({}) {how}; the normal rules apply again", window.reason),
        );
        self.tell(MaintenanceNotice::Ended {
            window: window.clone(),
            phase: self.s.phase,
            at: now,
            lost_since: self.s.lost_since,
        });
    }

    /// During a window, a DR async member lost (down, stopped or silent) is told once:
    /// patching the failover members does not explain it, and it is what a promotion
    /// would need.
    pub(super) fn watch_dr_members(&mut self) {
        let now = self.now();
        let Some(window) = self.s.active_maintenance(now).cloned() else {
            return;
        };
        let view = View::new(&self.s, self.m, now);
        let lost: Vec<String> = self
            .m
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::DrAsync)
            .filter(|m| self.s.primary.as_deref() != Some(m.name.as_str()))
            .filter(|m| !window.dr_lost_alerted.contains(&m.name))
            .filter(|m| view.is_down(&m.name))
            .map(|m| m.name.clone())
            .collect();
        for member in lost {
            if let Some(w) = self.s.maintenance.iter_mut().rev().find(|w| w.is_active(now)) {
                w.dr_lost_alerted.push(member.clone());
            }
            let down = self.down_evidence(&member);
            self.tell(MaintenanceNotice::DrMemberLost { member, down });
        }
    }

    /// Why a member counts as down: its instance, its own report, its heartbeat.
    fn down_evidence(&self, member: &str) -> DownEvidence {
        let view = View::new(&self.s, self.m, self.now());
        DownEvidence {
            instance: view
                .observation(member, Observer::Instance)
                .filter(|o| !o.healthy)
                .map(|o| (o.source.clone(), o.at)),
            reports: view.status(member).filter(|s| s.is_down()),
            heartbeat_silent: view.heartbeat_fresh(member) == Some(false),
        }
    }
}
