//! The report of a DR drill: the times that matter on the night it is real (the
//! alert, the link opened, each decision) and what would have been promoted with
//! which estimated loss.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alert::{clock, duration_words};
use super::loss::LossEstimate;
use super::signal::DecisionAction;
use super::state::{PromotionRequest, RequestKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    pub mirror: String,
    pub request: String,
    pub started_by: Option<String>,
    pub status: String,
    /// When the drill request was raised and its alert (with the link) sent.
    pub alert_sent: DateTime<Utc>,
    /// When its link was first opened (None: never opened, or decided from the terminal).
    pub link_opened: Option<DateTime<Utc>>,
    pub decisions: Vec<DrillDecision>,
    /// When the drill closed (None: still open or running).
    pub closed: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    /// The DR member a real request would have asked to promote.
    pub would_promote: String,
    /// What promoting it would have lost, as estimated when the drill started.
    pub estimated_loss: LossEstimate,
    /// Seconds from the alert to the last decision.
    pub seconds_to_decision: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillDecision {
    pub at: DateTime<Utc>,
    pub by: String,
    pub action: DecisionAction,
    pub via: String,
}

impl DrillReport {
    /// The report of a drill request (None: the request is not a drill).
    pub fn of(mirror: &str, r: &PromotionRequest) -> Option<DrillReport> {
        if r.kind != RequestKind::Drill {
            return None;
        }
        let decisions: Vec<DrillDecision> = r
            .decisions
            .iter()
            .map(|d| DrillDecision {
                at: d.at,
                by: d.by.clone(),
                action: d.action,
                via: d.via.clone(),
            })
            .collect();
        Some(DrillReport {
            mirror: mirror.to_string(),
            request: r.id.clone(),
            started_by: r.started_by.clone(),
            status: r.status.as_str().to_string(),
            alert_sent: r.created_at,
            link_opened: r.opened_at,
            seconds_to_decision: decisions.last().map(|d| (d.at - r.created_at).num_seconds()),
            decisions,
            closed: r.closed_at,
            outcome: r.outcome.clone(),
            would_promote: r.candidate.clone(),
            estimated_loss: r.loss_estimate(),
        })
    }

    /// The report in markdown, for people.
    pub fn markdown(&self) -> String {
        let since = |at: DateTime<Utc>| {
            format!(
                "{} (+{})",
                clock(at),
                duration_words((at - self.alert_sent).num_seconds())
            )
        };
        let mut out = format!("# DRILL report: {} {}\n\n", self.mirror, self.request);
        out.push_str(&format!(
            "Started by: {}  \nStatus: {}{}\n\n",
            self.started_by.as_deref().unwrap_or("unknown"),
            self.status,
            self.outcome.as_deref().map(|o| format!(" ({o})")).unwrap_or_default()
        ));
        out.push_str("| What | When |\n|---|---|\n");
        out.push_str(&format!("| Alert sent | {} |\n", clock(self.alert_sent)));
        out.push_str(&format!(
            "| Link opened | {} |\n",
            self.link_opened.map_or("never".to_string(), since)
        ));
        if self.decisions.is_empty() {
            out.push_str("| Decision | none |\n");
        }
        for d in &self.decisions {
            let action = match d.action {
                DecisionAction::Approve => "approved",
                DecisionAction::Reject => "rejected",
            };
            out.push_str(&format!(
                "| Decision: {action} by {} (via {}) | {} |\n",
                d.by,
                d.via,
                since(d.at)
            ));
        }
        if let Some(closed) = self.closed {
            out.push_str(&format!("| Closed | {} |\n", since(closed)));
        }
        out.push_str(&format!(
            "\nWould have promoted: {}  \nEstimated loss: {}\n\nNothing was promoted: a drill never changes the mirror's phase or epoch.\n",
            self.would_promote,
            self.estimated_loss.words(&self.would_promote)
        ));
        out
    }
}
