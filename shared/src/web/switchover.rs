//! The approval page of a planned switchover to a DR member, or of a failback to a
//! failover member: the same link and form
//! as a promotion request; it says that nothing failed, that the promotion goes
//! with partner unless the approver accepts the loss, who the partner is and whether
//! it is heard from right now, and what happens to the members left behind.

use chrono::{DateTime, Utc};

use maud::html;

use super::html::{decision_buttons, error_line, facts_list, name_and_confirm, page};
use crate::domain::alert::{clock, duration_words};
use crate::domain::mirror::secs;
use crate::domain::view::View;
use crate::domain::{FenceMethod, Mirror};
use crate::domain::{MirrorState, PromotionRequest, RequestKind};

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

/// A member as the page names it: "HSPROD-DR1 (dr async, us-west-2, us-west-2a)".
pub(super) fn described(mirror: &Mirror, name: &str) -> String {
    match mirror.member(name) {
        Some(m) => format!(
            "{} ({}, {}, {})",
            m.name,
            m.kind.as_str().replace('_', " "),
            m.region,
            m.zone
        ),
        None => name.to_string(),
    }
}

/// The members whose ISCAgent serves the promotion with partner: the failover
/// members for a switchover, the DR primary for a failback.
fn partners(mirror: &Mirror, request: &PromotionRequest) -> Vec<String> {
    if request.kind == RequestKind::Failback {
        request.lost_primary.iter().cloned().collect()
    } else {
        mirror.failover_members().map(|m| m.name.clone()).collect()
    }
}

/// Whether a partner is heard from now, in words, and whether approving without
/// ticking the loss is refused because none is.
fn partner_now(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> (String, bool) {
    let partners = partners(mirror, request);
    let fresh_secs = secs(mirror.policy.evidence_fresh_secs).num_seconds();
    let view = View::new(state, mirror, now);
    let alive: Vec<String> = partners
        .iter()
        .filter_map(|p| {
            view.heard_alive(p, now - chrono::Duration::seconds(fresh_secs))
                .map(|(_, words)| words)
        })
        .collect();
    if !alive.is_empty() {
        return (
            format!(
                "Right now heard from {}: a partner's ISCAgent should answer, so the promotion goes with partner.",
                alive.join("; ")
            ),
            false,
        );
    }
    let last = partners
        .iter()
        .filter_map(|p| view.heard_alive(p, DateTime::<Utc>::MIN_UTC))
        .max_by_key(|(at, _)| *at);
    let silent = match last {
        Some((at, _)) => format!(
            "Right now nothing has been heard from {} since {} ({} ago)",
            partners.join(" or "),
            clock(at),
            duration_words((now - at).num_seconds())
        ),
        None => format!("Right now nothing is heard from {}", partners.join(" or ")),
    };
    (
        format!(
            "{silent}: approving is refused unless you tick \"I accept the data loss\", and then it may go without partner."
        ),
        true,
    )
}

/// What the site's procedure leaves to people once the request is approved
/// (docs/DEPLOY.md, 7.9).
pub fn by_hand(mirror: &Mirror, request: &PromotionRequest) -> String {
    let primary = request.lost_primary.as_deref().unwrap_or("the primary");
    if request.kind == RequestKind::Failback {
        let others: Vec<&str> = mirror
            .failover_members()
            .map(|m| m.name.as_str())
            .filter(|m| *m != request.candidate)
            .collect();
        return format!(
            "Once {0} is the backup of {primary} (the promote document's first line says PROMOTED TO FAILOVER), stop IRIS on {primary} so that {0} takes over; then make {1} its backup again and demote {primary} to DR async (docs/DEPLOY.md, 7.9)",
            request.candidate,
            if others.is_empty() { "a failover member".to_string() } else { others.join(", ") }
        );
    }
    let stop: Vec<&str> = mirror
        .failover_members()
        .map(|m| m.name.as_str())
        .filter(|m| *m != primary)
        .chain(
            mirror
                .failover_members()
                .map(|m| m.name.as_str())
                .filter(|m| *m == primary),
        )
        .collect();
    format!(
        "Stop IRIS on {}, leaving their hosts and ISCAgents running, so that {}, promoted with no primary, gets the latest journal data from their ISCAgent (docs/DEPLOY.md, 7.9)",
        stop.join(", then on "),
        request.candidate
    )
}

/// The former failover members a switchover fences once its DR member reports
/// primary: those with an instance_id, not fenced already.
pub fn fence_targets<'m>(mirror: &'m Mirror, state: &MirrorState) -> Vec<&'m str> {
    mirror
        .failover_members()
        .filter(|m| m.instance_id.is_some())
        .filter(|m| state.members.get(&m.name).is_none_or(|s| s.fenced.is_none()))
        .map(|m| m.name.as_str())
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub fn switchover_page(
    mirror: &Mirror,
    state: &MirrorState,
    request: &PromotionRequest,
    now: DateTime<Utc>,
    approver: &str,
    confirm: &str,
    accept_loss: bool,
    error: Option<&str>,
) -> String {
    let what = request.kind.as_str();
    let failback = request.kind == RequestKind::Failback;
    let primary = request.lost_primary.clone().unwrap_or_else(|| "unknown".into());
    let partner_names = partners(mirror, request).join(" or ");
    let fresh = duration_words(secs(mirror.policy.evidence_fresh_secs).num_seconds());
    let way = if failback {
        format!(
            "With partner (no data loss): {candidate}, un-fenced, rejoins as a DR async of {partner_names} and catches up; once connected it becomes the failover partner (backup) of {partner_names}, and takes over with all its data when IRIS on {partner_names} stops. Approving is refused when {partner_names} has not been heard from in the last {fresh}, unless you accept the loss",
            candidate = request.candidate
        )
    } else {
        format!(
            "With partner (no data loss): {} first obtains from the ISCAgent of {partner_names} the journal data it lacks, then becomes primary. Approving is refused when {partner_names} has not been heard from in the last {fresh}, unless you accept the loss",
            request.candidate
        )
    };
    let then = if failback {
        if request.fence_members.is_empty() {
            format!(
                "Nothing is fenced, so nothing is un-fenced; {} is promoted back",
                request.candidate
            )
        } else {
            format!(
                "First un-fence {} (the fencing document with Method=unfence: JoinMirror=1, ValidatedMember=0, IRIS started, so that each rejoins and asks {primary} for its role); then the promote document (Purpose=failback) waits until {} is connected to {primary} and makes it its failover partner",
                request.fence_members.join(", "),
                request.candidate
            )
        }
    } else {
        let targets = fence_targets(mirror, state);
        match (&mirror.promotion.fence_document, targets.is_empty()) {
            (Some(document), false) => format!(
                "The former primary region {} is fenced: once {} reports primary, the fencing document {document} runs on {} with Method={} ({}). This approval covers it: no second request",
                mirror.primary_region,
                request.candidate,
                targets.join(", "),
                mirror.promotion.fence_method.as_str(),
                match mirror.promotion.fence_method {
                    FenceMethod::Demote => "IRIS keeps running, out of the mirror, and cannot become primary",
                    FenceMethod::Stop => "IRIS is stopped and cannot become primary",
                }
            ),
            _ => format!(
                "The former primary region {} is NOT fenced by mirrorgate (no fencing document, or no failover member with an instance_id): fence {} by hand once {} reports primary",
                mirror.primary_region,
                mirror.failover_members().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
                request.candidate
            ),
        }
    };
    let rows = [
        ("Mirror", mirror.name.clone()),
        (
            "Asked by",
            request.started_by.clone().unwrap_or_else(|| "an operator".into()),
        ),
        ("Primary now", described(mirror, &primary)),
        ("Would become primary", described(mirror, &request.candidate)),
        ("Way", way),
        (
            "If it went without partner",
            request.loss_estimate().words(&request.candidate),
        ),
        ("Then", then),
        ("After approving, by hand", by_hand(mirror, request)),
        ("Request", format!("{} (epoch {})", request.id, request.epoch)),
    ];
    let (partner_line, silent) = partner_now(mirror, state, request, now);
    let body = html! {
        div class="banner warn" role="alert" id="planned" { "PLANNED " (what) ": nothing failed" }
        h1 {
            @if failback { "Fail back" } @else { "Switch over" }
            " " (mirror.name) " to " (request.candidate) "?"
        }
        (error_line(error))
        (facts_list(&rows))
        p id="partner-now" class=[silent.then_some("error")] { (partner_line) }
        p {
            "This link works once and expires at " (clock(request.expires_at))
            " (in " (duration_words((request.expires_at - now).num_seconds())) ")."
        }
        form method="post" action="" autocomplete="off" {
            (name_and_confirm(&mirror.name, approver, confirm))
            label class="check" {
                input type="checkbox" id="accept_loss" name="accept_loss" value="yes" checked[accept_loss];
                " I accept the data loss: if no partner's ISCAgent answers, "
                @if failback { "fail back" } @else { "switch over" }
                " without partner"
            }
            p class="muted" id="accept-loss-help" {
                "Left unticked, it runs only with partner: if no partner's ISCAgent answers, nothing is promoted and everyone is alerted."
            }
            (decision_buttons(&format!("Approve {what}"), "Reject"))
        }
        p class="muted" {
            "Opening this page decides nothing. Every decision is recorded with your name, the time and your address."
        }
    };
    page(&format!("{what} to {}?", request.candidate), body)
}
