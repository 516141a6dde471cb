//! The approval page of a fencing request: after a DR promotion, the former primary
//! region is heard from again; approving runs the fencing document on each former
//! failover member. The page also gives the failback runbook (docs/DEPLOY.md has the
//! same steps, with their sources).

use chrono::{DateTime, Utc};

use maud::html;

use super::html::{decision_buttons, error_line, facts_list, name_and_confirm, page};
use crate::domain::alert::{clock, duration_words};
use crate::domain::view::View;
use crate::domain::{FenceMethod, Mirror};
use crate::domain::{MirrorState, PromotionRequest};

/// The failback runbook: how to bring the fenced members back on purpose, in order.
/// `{primary}` is the DR member serving now, `{first}` a fenced former failover member.
pub fn failback_steps(mirror: &Mirror, primary: &str, fenced: &[String]) -> Vec<String> {
    let first = fenced.first().map_or("a fenced member", String::as_str);
    let others = if fenced.len() > 1 {
        fenced[1..].join(", ")
    } else {
        "the other former failover member".to_string()
    };
    vec![
        format!("Keep {primary} primary and every client on it; leave the fenced members fenced until the step that rejoins them."),
        "On each fenced member, copy its journal files away first: what the former primary committed and never sent is only there, and can be recovered by hand later if needed.".into(),
        format!(
            "Rejoin each fenced member as a DR async of {}: in the [MirrorMember] section of its CPF set ValidatedMember=0 (it asks the primary, {primary}, for its role) and JoinMirror=1, remove /etc/mirrorgate/fenced, and start IRIS. If it cannot rejoin because its journal went past what {primary} has, rebuild it from a backup of {primary}'s mirrored databases instead.",
            mirror.name
        ),
        "Wait until each reports Connected with a small journal latency (the Mirror Monitor, or mirrorgate status).".into(),
        format!("In a quiet window, promote {first} to failover member (^MIRROR or the Management Portal) so that it becomes {primary}'s backup, then stop IRIS on {primary} gracefully (iris stop): {first} takes over as primary, a planned failover."),
        format!("Demote {primary} back to DR async and make {others} {first}'s backup again. mirrorgate then reports failed_back and no longer shows the members fenced."),
    ]
}

/// What the method does on each member, in words.
pub fn method_words(method: FenceMethod) -> &'static str {
    match method {
        FenceMethod::Demote => "demote: IRIS keeps running, out of the mirror: JoinMirror=0 and ValidatedMember=0 in the [MirrorMember] section of its CPF, and the fence file /etc/mirrorgate/fenced that ^ZMIRROR checks before becoming primary",
        FenceMethod::Stop => "stop: the fence file /etc/mirrorgate/fenced, then IRIS is stopped",
    }
}

/// The facts shown on the fencing page (also kept as what the decider saw).
pub struct FencingFacts {
    pub heard: String,
    pub now_line: String,
    pub urgent: bool,
    pub targets: Vec<String>,
    pub by_hand: Vec<String>,
    pub expiry: String,
}

pub fn facts(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> FencingFacts {
    let view = View::new(state, mirror, now);
    let claiming: Vec<&str> = mirror
        .members
        .iter()
        .filter(|m| m.region == mirror.primary_region && m.name != request.candidate)
        .filter(|m| view.claim(&m.name).is_some())
        .map(|m| m.name.as_str())
        .collect();
    let now_line = if claiming.is_empty() {
        format!(
            "{} is primary (epoch {}) and stays primary: fencing never touches it",
            request.candidate, request.epoch
        )
    } else {
        format!(
            "URGENT: {} answers as primary while {} is primary: two primaries take writes that diverge",
            claiming.join(", "),
            request.candidate
        )
    };
    let targets = request
        .fence_members
        .iter()
        .map(|name| match mirror.member(name) {
            Some(m) => format!(
                "{} ({}, {}{})",
                m.name,
                m.region,
                m.zone,
                m.instance_id.as_ref().map(|i| format!(", {i}")).unwrap_or_default()
            ),
            None => name.clone(),
        })
        .collect();
    let by_hand = mirror
        .failover_members()
        .filter(|m| m.name != request.candidate && !request.fence_members.contains(&m.name))
        .filter(|m| state.members.get(&m.name).is_none_or(|s| s.fenced.is_none()))
        .map(|m| m.name.clone())
        .collect();
    FencingFacts {
        heard: format!(
            "{}, {} ago",
            request
                .returned
                .as_deref()
                .unwrap_or("a member of the former primary region"),
            duration_words((now - request.lost_since).num_seconds())
        ),
        now_line,
        urgent: !claiming.is_empty(),
        targets,
        by_hand,
        expiry: format!(
            "This link works once and expires at {} (in {}).",
            clock(request.expires_at),
            duration_words((request.expires_at - now).num_seconds())
        ),
    }
}

/// One line of what the page showed, for the audit record.
pub fn shown(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> String {
    let f = facts(mirror, state, request, now);
    format!(
        "fencing: {}; heard: {}; now: {}",
        f.targets.join(", "),
        f.heard,
        f.now_line
    )
}

pub fn fencing_page(
    mirror: &Mirror,
    state: &MirrorState,
    request: &PromotionRequest,
    now: DateTime<Utc>,
    approver: &str,
    confirm: &str,
    error: Option<&str>,
) -> String {
    let f = facts(mirror, state, request, now);
    let mut rows = vec![
        ("Mirror", mirror.name.clone()),
        ("Heard again", f.heard.clone()),
        ("Now", f.now_line.clone()),
        ("Would be fenced", f.targets.join("; ")),
        ("How", method_words(mirror.promotion.fence_method).to_string()),
    ];
    if !f.by_hand.is_empty() {
        rows.push((
            "Not fenced by mirrorgate",
            format!(
                "{} (no instance_id in the topology): fence by hand",
                f.by_hand.join(", ")
            ),
        ));
    }
    rows.push(("Request", format!("{} (epoch {})", request.id, request.epoch)));
    let mut actions = Vec::new();
    if let Some(document) = &mirror.promotion.fence_document {
        actions.push(format!(
            "Run the SSM document {document} on each of {} with MirrorName={}, InstanceName (the member's IRIS instance), Method={} and Request={}",
            request.fence_members.join(", "),
            mirror.name,
            mirror.promotion.fence_method.as_str(),
            request.id
        ));
    }
    actions.push(format!(
        "Never on {}: the primary stays as it is, and nothing else changes",
        request.candidate
    ));
    actions.push("Show the members as fenced (status, status page); their signs of life no longer raise fencing requests. Fencing is one way until you fail back on purpose".into());
    let body = html! {
        div class="banner crit" role="alert" {
            @if f.urgent {
                "URGENT: the former primary answers as primary again. Fence it: your decision is needed"
            } @else {
                "The former primary region is back: fence it? Your decision is needed"
            }
        }
        h1 { "Fence " (request.fence_members.join(" and ")) " of " (mirror.name) "?" }
        (error_line(error))
        (facts_list(&rows))
        h2 { "What approval does" }
        ol {
            @for action in &actions {
                li { (action) }
            }
        }
        p { (f.expiry) }
        form method="post" action="" autocomplete="off" {
            (name_and_confirm(&mirror.name, approver, confirm))
            (decision_buttons("Approve fencing", "Reject"))
        }
        p class="muted" {
            "Opening this page decides nothing. Only the buttons above do, and every decision is recorded with your name, the time, your address and what this page showed."
        }
        div class="box" id="failback" {
            h2 { "Failing back later, on purpose" }
            ol {
                @for step in failback_steps(mirror, &request.candidate, &request.fence_members) {
                    li { (step) }
                }
            }
            p { "The same steps, with their sources, are in docs/DEPLOY.md, \"Fencing and failing back\"." }
        }
    };
    page(&format!("Fence {}?", request.fence_members.join(", ")), body)
}
