//! The approval page of a DR drill: the same link and form as a promotion request,
//! marked DRILL everywhere; approving runs the drill document (or nothing) and never
//! promotes.

use chrono::{DateTime, Utc};

use super::html::{escape, page};
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
    let mut body = String::new();
    body.push_str(
        "<div class=\"banner warn\" role=\"alert\" id=\"drill\">DRILL: no real loss. Nothing will be promoted.</div>",
    );
    body.push_str(&format!(
        "<h1>DRILL: would you promote {} to primary of {}?</h1>",
        escape(&request.candidate),
        escape(&mirror.name)
    ));
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\" id=\"error\">{}</p>",
            escape(error)
        ));
    }
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
    body.push_str("<dl>");
    for (k, v) in rows {
        body.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v)));
    }
    body.push_str("</dl>");
    body.push_str(&format!(
        "<p>This link works once and expires at {} (in {}).</p>",
        escape(&clock(request.expires_at)),
        escape(&duration_words((request.expires_at - now).num_seconds()))
    ));
    body.push_str("<form method=\"post\" action=\"\" autocomplete=\"off\">");
    body.push_str(&format!(
        "<label for=\"approver\">Your name</label><input type=\"text\" id=\"approver\" name=\"approver\" autocomplete=\"name\" required maxlength=\"100\" value=\"{}\">",
        escape(approver)
    ));
    body.push_str(&format!(
        "<label for=\"confirm\">Type <strong>{}</strong> to confirm</label><input type=\"text\" id=\"confirm\" name=\"confirm\" required maxlength=\"100\" autocapitalize=\"characters\" spellcheck=\"false\" value=\"{}\">",
        escape(&mirror.name),
        escape(confirm)
    ));
    body.push_str(
        "<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve DRILL</button>\
<button type=\"submit\" name=\"decision\" value=\"reject\">Reject DRILL</button></div></form>",
    );
    body.push_str("<p class=\"muted\">Opening this page decides nothing; the drill report notes when it was first opened. A drill rehearses the path of a real promotion request. Every decision is recorded with your name, the time and your address.</p>");
    page(
        &format!("DRILL: promote {}?", request.candidate),
        maud::PreEscaped(body),
    )
}
