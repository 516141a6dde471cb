//! The approval page of a planned switchover to a DR member, or of a failback to a
//! failover member: the same link and form
//! as a promotion request; it says that nothing failed and that the promotion goes
//! with partner unless the approver accepts the loss.

use chrono::{DateTime, Utc};

use super::html::{escape, page};
use crate::domain::alert::{clock, duration_words};
use crate::domain::{PromotionRequest, RequestKind};
use crate::topology::Mirror;

/// What the switchover page shows (also kept as what the decider saw).
pub fn shown(request: &PromotionRequest) -> String {
    format!(
        "PLANNED {} from {} to {}; without partner it may lose: {}",
        request.kind.as_str(),
        request.lost_primary.as_deref().unwrap_or("the primary"),
        request.candidate,
        request.loss_estimate().words(&request.candidate)
    )
}

pub fn switchover_page(
    mirror: &Mirror,
    request: &PromotionRequest,
    now: DateTime<Utc>,
    approver: &str,
    confirm: &str,
    accept_loss: bool,
    error: Option<&str>,
) -> String {
    let what = request.kind.as_str();
    let failback = request.kind == RequestKind::Failback;
    let mut body = String::new();
    body.push_str(&format!(
        "<div class=\"banner warn\" role=\"alert\" id=\"planned\">PLANNED {what}: nothing failed</div>"
    ));
    body.push_str(&format!(
        "<h1>{} {} to {}?</h1>",
        if failback { "Fail back" } else { "Switch over" },
        escape(&mirror.name),
        escape(&request.candidate)
    ));
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\" id=\"error\">{}</p>",
            escape(error)
        ));
    }
    let fencing = if failback {
        if request.fence_members.is_empty() {
            "Nothing is fenced: nothing to un-fence first".to_string()
        } else {
            format!(
                "First un-fence {} (the fencing document with Method=unfence), then promote {} back",
                request.fence_members.join(", "),
                request.candidate
            )
        }
    } else {
        match &mirror.promotion.fence_document {
            Some(document) => format!(
                "After {} reports primary, run the fencing document {document} on the former failover members",
                request.candidate
            ),
            None => "No fencing document is configured: fence the former failover members by hand afterwards".into(),
        }
    };
    let rows = [
        ("Mirror", mirror.name.clone()),
        (
            "Asked by",
            request.started_by.clone().unwrap_or_else(|| "an operator".into()),
        ),
        (
            "Primary now",
            request.lost_primary.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("Would become primary", request.candidate.clone()),
        (
            "Way",
            "With partner (no loss): refused when no failover member has been heard from recently, unless you accept the loss".into(),
        ),
        (
            "If it went without partner",
            request.loss_estimate().words(&request.candidate),
        ),
        ("Then", fencing),
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
    body.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" id=\"accept_loss\" name=\"accept_loss\" value=\"yes\"{}> I accept the data loss: if no partner's ISCAgent answers, switch over without partner</label>",
        if accept_loss { " checked" } else { "" }
    ));
    body.push_str(
        "<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></div></form>",
    );
    body.push_str("<p class=\"muted\">Opening this page decides nothing. Every decision is recorded with your name, the time and your address.</p>");
    page(&format!("{what} to {}?", request.candidate), &body)
}
