//! The approval page of a DR drill: the same link and form as a promotion request,
//! marked DRILL everywhere; approving runs the drill document (or nothing) and never
//! promotes.

use chrono::{DateTime, Utc};

use maud::html;

use super::html::{decision_buttons, error_line, facts_list, name_and_confirm, page};
use crate::domain::alert::{clock, duration_words};
use crate::domain::Mirror;
use crate::domain::PromotionRequest;

/// What the drill page shows (also kept as what the decider saw).
pub fn shown(request: &PromotionRequest) -> String {
    format!(
        "DRILL: would promote {}; loss: {}",
        request.candidate,
        request.loss_estimate().words(&request.candidate)
    )
}

pub fn drill_page(
    mirror: &Mirror,
    request: &PromotionRequest,
    now: DateTime<Utc>,
    approver: &str,
    confirm: &str,
    error: Option<&str>,
) -> String {
    let loss = request.loss_estimate();
    let action = match &mirror.promotion.drill_document {
        Some(document) => format!(
            "Run the drill document {document} on {} (never the promote document)",
            request.candidate
        ),
        None => "Nothing is run (no drill document is configured); the drill is recorded".into(),
    };
    let candidate = format!(
        "{}: not promoted in this drill",
        super::switchover::described(mirror, &request.candidate)
    );
    let rows = [
        ("Mirror", mirror.name.clone()),
        (
            "Started by",
            request.started_by.clone().unwrap_or_else(|| "an operator".into()),
        ),
        (
            "Primary now",
            format!("{} (unchanged)", request.lost_primary.as_deref().unwrap_or("unknown")),
        ),
        ("Would have been promoted", candidate),
        ("Estimated loss, were it real", loss.words(&request.candidate)),
        ("What approval does", action),
        ("Request", format!("{} (epoch {})", request.id, request.epoch)),
    ];
    let body = html! {
        div class="banner warn" role="alert" id="drill" { "DRILL: no real loss. Nothing will be promoted." }
        h1 { "DRILL: would you promote " (request.candidate) " to primary of " (mirror.name) "?" }
        (error_line(error))
        (facts_list(&rows))
        p {
            "This link works once and expires at " (clock(request.expires_at))
            " (in " (duration_words((request.expires_at - now).num_seconds())) ")."
        }
        form method="post" action="" autocomplete="off" {
            (name_and_confirm(&mirror.name, approver, confirm))
            (decision_buttons("Approve DRILL", "Reject DRILL"))
        }
        p class="muted" {
            "Opening this page decides nothing; the drill report notes when it was first opened. A drill rehearses the path of a real promotion request. Every decision is recorded with your name, the time and your address."
        }
    };
    page(&format!("DRILL: promote {}?", request.candidate), body)
}
