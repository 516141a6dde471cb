//! Alerts: what people are told. Each alert has a subject (at most 100
//! characters), an SMS text (at most 160 characters, still meaningful) and a full
//! email text. The link, when there is one, is never stored with the alert.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::notice::Notice;

pub const MAX_SUBJECT: usize = 100;
pub const MAX_SMS: usize = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What an alert is about. The README lists what each means and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    PrimaryLost,
    PrimaryBack,
    FailedOver,
    Degraded,
    HaRestored,
    PromotionRequested,
    PromotionReminder,
    ApprovalRecorded,
    PromotionApproved,
    PromotionRejected,
    PromotionRefused,
    RequestExpired,
    RequestWithdrawn,
    PromotionSucceeded,
    PromotionFailed,
    PromotionTimedOut,
    NoCandidate,
    SplitBrain,
    DrPrimary,
    FailedBack,
    MaintenanceStarted,
    MaintenanceEnded,
    /// During a maintenance window: a DR async member is down, stopped or silent.
    DrMemberLost,
    /// After a DR promotion, the former primary region is heard from again: fence it?
    FencingRequested,
    FencingReminder,
    FencingApproved,
    FencingRejected,
    FencingExpired,
    /// The fencing commands were accepted for every member to fence.
    FencingSent,
    FencingFailed,
    /// The former primary region is heard from again and mirrorgate cannot fence it
    /// (no fencing document, or no former failover member with an instance): by hand.
    FormerRegionBack,
    /// The best DR candidate's SSM agent is not Online: a promotion would not run.
    SsmAgentOffline,
    /// A DR drill asks for a (rehearsed) decision: marked DRILL, nothing is promoted.
    DrillRequested,
    /// A drill was approved, rejected, withdrawn, expired or run: marked DRILL.
    DrillClosed,
    /// A planned switchover to a DR member asks for a decision.
    SwitchoverRequested,
    /// A switchover was approved: the promotion with partner runs.
    SwitchoverApproved,
    /// A switchover was rejected, expired, withdrawn, failed or timed out.
    SwitchoverClosed,
    /// The DR member of a switchover reports primary: done, the former region is fenced.
    SwitchoverDone,
    /// A failback (un-fence, promote a failover member back) asks for a decision.
    FailbackRequested,
    /// A failback was approved, rejected, expired, withdrawn, failed or timed out.
    FailbackClosed,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PrimaryLost => "primary_lost",
            AlertKind::PrimaryBack => "primary_back",
            AlertKind::FailedOver => "failed_over",
            AlertKind::Degraded => "degraded",
            AlertKind::HaRestored => "ha_restored",
            AlertKind::PromotionRequested => "promotion_requested",
            AlertKind::PromotionReminder => "promotion_reminder",
            AlertKind::ApprovalRecorded => "approval_recorded",
            AlertKind::PromotionApproved => "promotion_approved",
            AlertKind::PromotionRejected => "promotion_rejected",
            AlertKind::PromotionRefused => "promotion_refused",
            AlertKind::RequestExpired => "request_expired",
            AlertKind::RequestWithdrawn => "request_withdrawn",
            AlertKind::PromotionSucceeded => "promotion_succeeded",
            AlertKind::PromotionFailed => "promotion_failed",
            AlertKind::PromotionTimedOut => "promotion_timed_out",
            AlertKind::NoCandidate => "no_candidate",
            AlertKind::SplitBrain => "split_brain",
            AlertKind::DrPrimary => "dr_primary",
            AlertKind::FailedBack => "failed_back",
            AlertKind::MaintenanceStarted => "maintenance_started",
            AlertKind::MaintenanceEnded => "maintenance_ended",
            AlertKind::DrMemberLost => "dr_member_lost",
            AlertKind::FencingRequested => "fencing_requested",
            AlertKind::FencingReminder => "fencing_reminder",
            AlertKind::FencingApproved => "fencing_approved",
            AlertKind::FencingRejected => "fencing_rejected",
            AlertKind::FencingExpired => "fencing_expired",
            AlertKind::FencingSent => "fencing_sent",
            AlertKind::FencingFailed => "fencing_failed",
            AlertKind::FormerRegionBack => "former_region_back",
            AlertKind::SsmAgentOffline => "ssm_agent_offline",
            AlertKind::DrillRequested => "drill_requested",
            AlertKind::DrillClosed => "drill_closed",
            AlertKind::SwitchoverRequested => "switchover_requested",
            AlertKind::SwitchoverApproved => "switchover_approved",
            AlertKind::SwitchoverClosed => "switchover_closed",
            AlertKind::SwitchoverDone => "switchover_done",
            AlertKind::FailbackRequested => "failback_requested",
            AlertKind::FailbackClosed => "failback_closed",
        }
    }

    /// Whether this kind of alert asks for a decision and so carries a link.
    pub fn wants_link(self) -> bool {
        matches!(
            self,
            AlertKind::PromotionRequested
                | AlertKind::PromotionReminder
                | AlertKind::ApprovalRecorded
                | AlertKind::FencingRequested
                | AlertKind::FencingReminder
                | AlertKind::DrillRequested
                | AlertKind::SwitchoverRequested
                | AlertKind::FailbackRequested
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique per mirror: `<mirror>-<sequence>`; SNS deduplication and the outbox use it.
    pub id: String,
    pub mirror: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub at: DateTime<Utc>,
    /// The promotion request this alert is about, if any.
    #[serde(default)]
    pub request: Option<String>,
    /// One line: what happened (the SMS is built from it).
    pub headline: String,
    /// The email's facts, one per line: since when, which members, current primary,
    /// data-loss estimate.
    #[serde(default)]
    pub facts: Vec<String>,
    /// What the reader should do now.
    pub next_step: String,
    /// The approval link. Never stored: `None` in any persisted copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// What the rules told, as facts (the words above are said from it). Kept in
    /// memory for the effects and their tests; never stored nor sent: `None` in any
    /// persisted copy, and a stored alert loads as it always did.
    #[serde(skip)]
    pub notice: Option<Box<Notice>>,
}

impl Alert {
    /// The email subject, at most 100 characters.
    pub fn subject(&self) -> String {
        let tag = match self.severity {
            Severity::Critical => "[CRITICAL] ",
            Severity::Warning => "[WARNING] ",
            Severity::Info => "[info] ",
        };
        truncate(&format!("{tag}{}", self.headline), MAX_SUBJECT)
    }

    /// The SMS text, at most 160 characters, with the link whole or not at all.
    pub fn sms(&self) -> String {
        let prefix = match self.severity {
            Severity::Critical => "CRITICAL ",
            Severity::Warning => "WARNING ",
            Severity::Info => "",
        };
        let text = format!("{prefix}{}", self.headline);
        match &self.link {
            Some(link) if link.len() + 12 <= MAX_SMS => {
                let room = MAX_SMS - link.len() - 1;
                format!("{} {link}", truncate(&text, room))
            }
            Some(_) => truncate(&format!("{text} (link in email)"), MAX_SMS),
            None => truncate(&text, MAX_SMS),
        }
    }

    /// The full email text.
    pub fn email(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.headline);
        out.push_str("\n\n");
        for fact in &self.facts {
            out.push_str("- ");
            out.push_str(fact);
            out.push('\n');
        }
        if !self.facts.is_empty() {
            out.push('\n');
        }
        out.push_str("What to do now: ");
        out.push_str(&self.next_step);
        out.push('\n');
        if let Some(link) = &self.link {
            out.push_str("\nDecide here (the page asks you to confirm; opening it changes nothing):\n");
            out.push_str(link);
            out.push('\n');
        }
        out.push_str(&format!(
            "\nmirrorgate alert {} ({}, {}) at {}\n",
            self.id,
            self.kind.as_str(),
            self.severity.as_str(),
            self.at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
        out
    }

    /// The copy that may be stored: no link (and no notice: its words are kept).
    pub fn without_link(&self) -> Alert {
        Alert {
            link: None,
            notice: None,
            ..self.clone()
        }
    }
}

/// Cuts text to at most `max` characters, ending with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// "08:12 UTC"
pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M UTC").to_string()
}

/// "14 min", "2 h 5 min", "40 s"
pub fn duration_words(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 7200 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(headline: &str, link: Option<&str>) -> Alert {
        Alert {
            id: "HSPROD-1".into(),
            mirror: "HSPROD".into(),
            kind: AlertKind::PromotionRequested,
            severity: Severity::Critical,
            at: DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            request: None,
            headline: headline.into(),
            facts: vec!["a fact".into()],
            next_step: "decide".into(),
            link: link.map(str::to_string),
            notice: None,
        }
    }

    #[test]
    fn sms_keeps_the_whole_link_within_160_characters() {
        let link = format!(
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-west-2.on.aws/a/{}",
            "x".repeat(43)
        );
        let a = alert(&"HSPROD primary region lost. ".repeat(10), Some(&link));
        let sms = a.sms();
        assert!(sms.chars().count() <= MAX_SMS, "{} chars", sms.chars().count());
        assert!(sms.ends_with(&link));
        assert!(sms.starts_with("CRITICAL HSPROD"));
    }

    #[test]
    fn a_link_too_long_for_sms_is_left_to_the_email() {
        let a = alert("HSPROD: approve?", Some(&"h".repeat(200)));
        assert!(a.sms().contains("link in email"));
        assert!(a.email().contains(&"h".repeat(200)));
    }

    #[test]
    fn subject_is_at_most_100_characters() {
        let a = alert(&"x".repeat(300), None);
        assert_eq!(a.subject().chars().count(), MAX_SUBJECT);
    }

    #[test]
    fn stored_copy_has_no_link() {
        let a = alert("h", Some("http://127.0.0.1:8080/a/secret"));
        let stored = serde_json::to_string(&a.without_link()).expect("an alert serializes");
        assert!(!stored.contains("secret"), "{stored}");
    }
}
