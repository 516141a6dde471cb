//! The approval page: `GET /a/{token}` shows a promotion request and never
//! decides; `POST /a/{token}` from the page's form decides, after the rules are
//! checked again. Every bad link gets its own clear page.

use chrono::{DateTime, Utc};

use maud::{html, Markup};

use super::html::{decision_buttons, error_line, facts_list, message_page, name_and_confirm, page};
use super::{drill, fencing, switchover};
use super::{HttpRequest, HttpResponse, MAX_FORM_BYTES};
use crate::domain::alert::{clock, duration_words};
use crate::domain::loss::{amount, LossBasis, LossEstimate};
use crate::domain::mirror::{secs, Member, Mirror};
use crate::domain::view::View;
use crate::domain::{
    Authority, Decision, DecisionAction, DecisionVerdict, MirrorState, PromotionRequest, Refusal, RequestKind,
    RequestStatus, Signal, SignalKind, Verdict,
};
use crate::engine::{Engine, Report};
use crate::ports::{Notifier, PromotionActions, PromotionOrder, Store};
use crate::token::{hash_token, hashes_equal, parse_token};

/// The path prefix of approval links.
pub const PREFIX: &str = "/a/";

/// The form a person fills in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    pub approver: String,
    pub confirm: String,
    pub decision: String,
    pub accept_loss: bool,
}

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        let mut form = Form::default();
        for (key, value) in form_urlencoded::parse(body) {
            match key.as_ref() {
                "approver" => form.approver = value.trim().to_string(),
                "confirm" => form.confirm = value.trim().to_string(),
                "decision" => form.decision = value.trim().to_string(),
                "accept_loss" => form.accept_loss = matches!(value.as_ref(), "yes" | "on" | "true" | "1"),
                _ => {}
            }
        }
        form
    }
}

/// Answers a request under `/a/`.
pub async fn handle<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    req: &HttpRequest,
    now: DateTime<Utc>,
) -> HttpResponse {
    handle_with_orders(engine, req, now).await.0
}

/// As [`handle`], also returning the approved promotions an engine that hands off
/// left for the promotion executor.
pub async fn handle_with_orders<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    req: &HttpRequest,
    now: DateTime<Utc>,
) -> (HttpResponse, Vec<PromotionOrder>) {
    let mut orders = Vec::new();
    let response = answer(engine, req, now, &mut orders).await;
    (response, orders)
}

async fn answer<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    req: &HttpRequest,
    now: DateTime<Utc>,
    orders: &mut Vec<PromotionOrder>,
) -> HttpResponse {
    let token = req.path.strip_prefix(PREFIX).unwrap_or_default();
    let method = req.method.to_ascii_uppercase();
    if method != "GET" && method != "POST" && method != "HEAD" {
        return message(
            405,
            "Method not allowed",
            "info",
            "This page only shows a request (GET) and takes the form on it (POST).",
            &[],
        )
        .with_header("allow", "GET, HEAD, POST");
    }
    let Ok(token) = parse_token(token) else {
        return message(
            400,
            "This link was altered",
            "warn",
            "The link is incomplete or was changed on its way to you.",
            &["Nothing was decided. Open the link from the latest mirrorgate alert, whole; if your mail or SMS app cut it, copy it from the email.".into()],
        );
    };
    let hash = hash_token(token);
    let found = match engine.find_link(&hash).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "approval page: store unavailable");
            return unavailable();
        }
    };
    let Some((state, request_id)) = found else {
        return message(
            404,
            "Unknown link",
            "warn",
            "mirrorgate does not know this link.",
            &["Nothing was decided. It may have been mistyped, or it belongs to a different mirrorgate deployment. Use the link from the latest alert.".into()],
        );
    };
    let topology = engine.topology();
    let Some(mirror) = topology.mirror(&state.mirror) else {
        return unavailable();
    };
    let Some(request) = state.request(&request_id) else {
        return unavailable();
    };
    if let Some(closed) = closed_link_page(&state, request, &hash, now) {
        return closed;
    }
    if method == "POST" {
        let opened = Opened {
            mirror,
            state: &state,
            request,
            hash: &hash,
            now,
        };
        decide(engine, req, &opened, orders).await
    } else {
        if request.kind == RequestKind::Drill && request.opened_at.is_none() {
            // The drill report gives when the link was first opened; the page is shown
            // even if that cannot be recorded.
            let opened = Signal {
                mirror: mirror.name.clone(),
                id: None,
                at: now,
                kind: SignalKind::LinkOpened {
                    request: request.id.clone(),
                },
            };
            if let Err(e) = engine.handle(opened, now).await {
                tracing::warn!(mirror = %mirror.name, request = %request.id, error = %e, "drill: link opening not recorded");
            }
        }
        HttpResponse::page(200, decision_page(mirror, &state, request, now, &Form::default(), None))
    }
}

fn message(status: u16, title: &str, class: &str, banner: &str, paragraphs: &[String]) -> HttpResponse {
    HttpResponse::page(status, message_page(title, class, banner, paragraphs))
}

/// What the promotion actions said they did, when they ran in this process.
fn executed_detail(reports: &[Report]) -> Option<String> {
    reports.iter().find_map(|r| match r {
        Report::PromotionExecuted { detail, .. } => Some(detail.clone()),
        _ => None,
    })
}

/// One approval of several: the next approver gets a new link.
fn approval_recorded(approvals: usize, required: usize) -> HttpResponse {
    message(
        200,
        "Approval recorded",
        "ok",
        &format!("Your approval is recorded: {approvals} of {required}."),
        &[
            "Another person must approve with the link in the new alert mirrorgate just sent. This link has been used."
                .into(),
        ],
    )
}

fn unavailable() -> HttpResponse {
    message(
        503,
        "Try again in a minute",
        "warn",
        "mirrorgate could not read or record the request just now.",
        &["Nothing was decided. Reload this page in a minute; the link still works until it expires.".into()],
    )
    .with_header("retry-after", "30")
}

/// The page for a link that can no longer decide, if it cannot.
fn closed_link_page(
    state: &MirrorState,
    request: &PromotionRequest,
    hash: &str,
    now: DateTime<Utc>,
) -> Option<HttpResponse> {
    let used = request
        .tokens
        .iter()
        .find(|t| hashes_equal(&t.hash, hash))
        .and_then(|t| t.used_at);
    let last = request
        .decisions
        .last()
        .map(|d| format!("{} by {} at {}", action_word(d.action), d.by, clock(d.at)));
    if let Some(used_at) = used {
        return Some(message(
            410,
            "This link was already used",
            "info",
            &format!("This link decided at {}. Each link decides once.", clock(used_at)),
            &[
                format!(
                    "Request {} for {}: {}.",
                    request.id,
                    state.mirror,
                    status_words(request)
                ),
                last.map(|l| format!("Last decision: {l}.")).unwrap_or_default(),
                "If another decision is needed, the latest mirrorgate alert carries a fresh link.".into(),
            ],
        ));
    }
    match request.status {
        RequestStatus::Open if now >= request.expires_at => Some(message(
            410,
            "This link has expired",
            "warn",
            &format!(
                "The request expired at {}. {}",
                clock(request.expires_at),
                nothing_done(request)
            ),
            &[ask_again(request).into()],
        )),
        RequestStatus::Open => None,
        RequestStatus::Superseded if request.kind == RequestKind::Drill => Some(message(
            410,
            "DRILL withdrawn",
            "warn",
            "DRILL withdrawn: a real loss of the primary came first. Attend to the real alert.",
            &[format!(
                "Request {} for {}: {}",
                request.id,
                state.mirror,
                request.outcome.clone().unwrap_or_default()
            )],
        )),
        RequestStatus::Superseded if request.kind == RequestKind::Fencing => Some(message(
            410,
            "Request withdrawn",
            "info",
            "The primary changed before a decision. Nothing will be fenced.",
            &[format!(
                "Request {} for {}: {}",
                request.id,
                state.mirror,
                request.outcome.clone().unwrap_or_default()
            )],
        )),
        RequestStatus::Superseded => Some(message(
            410,
            "Request withdrawn",
            "ok",
            "The primary came back before a decision. Nothing will be promoted.",
            &[format!(
                "Request {} for {}: {}",
                request.id,
                state.mirror,
                request.outcome.clone().unwrap_or_default()
            )],
        )),
        RequestStatus::Expired => Some(message(
            410,
            "This link has expired",
            "warn",
            &format!(
                "Request {} expired at {} without a decision. {}",
                request.id,
                clock(request.expires_at),
                nothing_done(request)
            ),
            &[ask_again(request).into()],
        )),
        _ => Some(message(
            410,
            "Already decided",
            "info",
            &format!(
                "Request {} for {} is {}.",
                request.id,
                state.mirror,
                status_words(request)
            ),
            &[last.map(|l| format!("Last decision: {l}.")).unwrap_or_default()],
        )),
    }
}

fn action_word(action: DecisionAction) -> &'static str {
    match action {
        DecisionAction::Approve => "approved",
        DecisionAction::Reject => "rejected",
    }
}

/// What a request that did not run left undone, in words.
fn nothing_done(request: &PromotionRequest) -> &'static str {
    match request.kind {
        RequestKind::Promotion => "Nothing was promoted.",
        RequestKind::Fencing => "Nothing was fenced.",
        RequestKind::Drill => "DRILL: nothing was run and nothing promoted.",
        RequestKind::Switchover => "Nothing was promoted; the primary stays.",
        RequestKind::Failback => "Nothing was un-fenced or promoted; the DR primary stays.",
    }
}

/// When mirrorgate asks again after a request closed without running.
fn ask_again(request: &PromotionRequest) -> &'static str {
    match request.kind {
        RequestKind::Promotion => "If the primary is still lost, mirrorgate sends a new request with a new link.",
        RequestKind::Fencing => "If the former primary region is still heard from after the cool-down, mirrorgate sends a new request with a new link; until then, fence it by hand if it must not rejoin.",
        RequestKind::Drill => "A drill is not asked again: start a new one with mirrorgate drill.",
        RequestKind::Switchover => "A switchover is not asked again: ask anew with mirrorgate switchover.",
        RequestKind::Failback => "A failback is not asked again: ask anew with mirrorgate failback.",
    }
}

fn status_words(request: &PromotionRequest) -> String {
    if request.kind == RequestKind::Drill {
        return match request.status {
            RequestStatus::Open => "DRILL: waiting for a decision",
            RequestStatus::Approved => "DRILL approved; the drill document is running",
            RequestStatus::Succeeded => "DRILL approved and done: nothing was promoted",
            RequestStatus::Failed | RequestStatus::TimedOut => "DRILL approved, but the drill document failed",
            RequestStatus::Rejected => "DRILL rejected: nothing was run",
            RequestStatus::Expired => "DRILL expired: nothing was run",
            RequestStatus::Superseded => "DRILL withdrawn: a real loss came first",
            RequestStatus::Refused => "DRILL closed: the approval was refused",
        }
        .to_string();
    }
    if request.kind == RequestKind::Fencing {
        return match request.status {
            RequestStatus::Open => "waiting for a decision",
            RequestStatus::Approved => "approved; the fencing commands are being sent",
            RequestStatus::Succeeded => "approved and done: the fencing commands were sent",
            RequestStatus::Failed | RequestStatus::TimedOut => "approved, but sending the fencing failed",
            RequestStatus::Rejected => "rejected: nothing was fenced",
            RequestStatus::Expired => "expired: nothing was fenced",
            RequestStatus::Superseded => "withdrawn: the primary changed",
            RequestStatus::Refused => "closed: the approval was refused",
        }
        .to_string();
    }
    if matches!(request.kind, RequestKind::Switchover | RequestKind::Failback) {
        let what = request.kind.as_str();
        return match request.status {
            RequestStatus::Open => format!("{what}: waiting for a decision"),
            RequestStatus::Approved => format!("{what} approved; it is being carried out"),
            RequestStatus::Succeeded => format!("{what} done: {} is primary", request.candidate),
            RequestStatus::Failed => format!("{what} approved, but it failed"),
            RequestStatus::TimedOut => format!(
                "{what} approved, but {} did not report primary in time",
                request.candidate
            ),
            RequestStatus::Rejected => format!("{what} rejected: nothing was promoted"),
            RequestStatus::Expired => format!("{what} expired: nothing was promoted"),
            RequestStatus::Superseded => format!("{what} withdrawn: the mirror changed"),
            RequestStatus::Refused => format!("{what} closed: the approval was refused"),
        };
    }
    let status = match request.status {
        RequestStatus::Open => "waiting for a decision",
        RequestStatus::Approved => "approved; the promotion is running",
        RequestStatus::Succeeded => "approved and done: the candidate is primary",
        RequestStatus::Failed => "approved, but the promotion failed",
        RequestStatus::TimedOut => "approved, but the candidate did not report primary in time",
        RequestStatus::Rejected => "rejected: nothing was promoted",
        RequestStatus::Expired => "expired: nothing was promoted",
        RequestStatus::Superseded => "withdrawn: the primary came back",
        RequestStatus::Refused => "closed: the approval was refused",
    };
    status.to_string()
}

/// The facts the page shows, also kept in the audit record as "what they saw".
struct Facts {
    lost: String,
    observers: String,
    now_line: String,
    candidate: String,
    loss_headline: String,
    loss_detail: String,
    over_policy: bool,
    actions: Vec<String>,
    expiry: String,
    approvals: Option<String>,
}

fn facts(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> Facts {
    let view = View::new(state, mirror, now);
    let lost_member = request.lost_primary.clone().unwrap_or_else(|| "the primary".into());
    let member = mirror.member(&request.candidate);
    let loss = view.loss_estimate(&request.candidate);
    let (loss_headline, loss_detail) = loss_words(&loss, state, request, now);
    Facts {
        lost: format!(
            "{lost_member}: no member answers as primary since {} ({} ago)",
            clock(request.lost_since),
            duration_words((now - request.lost_since).num_seconds())
        ),
        observers: observers_words(request),
        now_line: now_line(&view, mirror, request),
        candidate: candidate_words(member, request),
        loss_headline,
        loss_detail,
        over_policy: loss.over(mirror.policy.max_journal_latency_secs),
        actions: actions(mirror, member, request),
        expiry: format!(
            "This link works once and expires at {} (in {}).",
            clock(request.expires_at),
            duration_words((request.expires_at - now).num_seconds())
        ),
        approvals: approvals_line(mirror, request),
    }
}

/// Which observers agree that the primary is lost, as people call them.
fn observers_words(request: &PromotionRequest) -> String {
    request
        .observers
        .iter()
        .map(|o| match o {
            crate::domain::Observer::Route53 => "Route 53 health checks",
            crate::domain::Observer::Instance => "instance state and alarms",
            crate::domain::Observer::Heartbeat => "silent heartbeats",
            crate::domain::Observer::Probe => "mirror_status.cxw probed from the DR region",
            crate::domain::Observer::Asyncs => "DR asyncs no longer connected to a primary",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is seen now: a primary again (approving will be refused), or still none.
fn now_line(view: &View, mirror: &Mirror, request: &PromotionRequest) -> String {
    match (view.claims().first(), view.witness()) {
        (Some(c), _) => format!("{} answers as primary again: approving will be refused", c.member),
        (None, Some(w)) => format!("{}, so a primary exists: approving will be refused", w.words()),
        (None, None) if request.dr_side_only => format!(
            "still no primary seen, and every observer that agrees is on the DR side ({}): a network partition between {} and {} looks the same from here. Check from elsewhere that the primary is really down",
            mirror.dr_region, mirror.primary_region, mirror.dr_region
        ),
        (None, None) => "still no primary seen".to_string(),
    }
}

/// The candidate with its kind, zone and instance.
fn candidate_words(member: Option<&Member>, request: &PromotionRequest) -> String {
    match member {
        Some(m) => format!(
            "{} ({}, {}{})",
            m.name,
            m.kind.as_str().replace('_', " "),
            m.zone,
            m.instance_id.as_ref().map(|i| format!(", {i}")).unwrap_or_default()
        ),
        None => request.candidate.clone(),
    }
}

/// The data that may be lost: a headline, and what it rests on, measured when.
fn loss_words(
    loss: &LossEstimate,
    state: &MirrorState,
    request: &PromotionRequest,
    now: DateTime<Utc>,
) -> (String, String) {
    let loss_headline = match (loss.seconds, &loss.basis) {
        (Some(s), LossBasis::LinkLost { .. }) => {
            format!("At least {} of the most recent transactions may be lost", amount(s))
        }
        (Some(s), _) => format!("About {} of the most recent transactions may be lost", amount(s)),
        (None, _) => "Unknown: the data that may be lost cannot be estimated".into(),
    };
    let bytes = state
        .members
        .get(&request.candidate)
        .and_then(|m| m.journal_latency)
        .and_then(|l| l.bytes)
        .map(|b| format!(" ({b} bytes of journal)"))
        .unwrap_or_default();
    let seconds_clock = |at: DateTime<Utc>| at.format("%H:%M:%S UTC").to_string();
    let loss_detail = match (loss.seconds, &loss.basis) {
        (Some(s), LossBasis::Latency { measured_at }) => format!(
            "{}'s journal latency was {}{bytes}, measured at {} ({} ago) while it was connected to the primary. Transactions committed on the lost primary in that time never reached it.",
            request.candidate,
            amount(s),
            seconds_clock(*measured_at),
            duration_words((now - *measured_at).num_seconds())
        ),
        (Some(s), LossBasis::LinkLost { since, primary_until }) => format!(
            "{} lost its link to the primary at {}, {} before the primary was last seen serving ({}). Everything committed on the primary in between never reached it: at least {}, more if the primary served longer than mirrorgate saw.",
            request.candidate,
            seconds_clock(*since),
            duration_words((*primary_until - *since).num_seconds()),
            seconds_clock(*primary_until),
            amount(s)
        ),
        _ => format!(
            "{} has not reported its journal latency, so mirrorgate cannot say how many recent transactions it is missing. Approve only if losing an unknown amount of recent work is acceptable.",
            request.candidate
        ),
    };
    (loss_headline, loss_detail)
}

/// What approving does, step by step.
fn actions(mirror: &Mirror, member: Option<&Member>, request: &PromotionRequest) -> Vec<String> {
    let mut actions = Vec::new();
    if let (Some(doc), Some(m)) = (&mirror.promotion.ssm_document, member) {
        let params = mirror
            .promotion
            .ssm_parameters
            .iter()
            .map(|(k, v)| format!("{k}={}", v.join(",")))
            .collect::<Vec<_>>()
            .join(" ");
        actions.push(format!(
            "Run the SSM document {doc} on {} ({}){}",
            m.instance_id.as_deref().unwrap_or("its instance"),
            m.name,
            if params.is_empty() {
                String::new()
            } else {
                format!(" with {params}")
            }
        ));
    }
    if let Some(bus) = &mirror.promotion.event_bus {
        actions.push(format!(
            "Publish PromotionApproved and PromotionExecuted on the EventBridge bus {bus} for your own automation"
        ));
    }
    actions.push(format!(
        "Wait up to {} for {} to report primary, and alert you on success or failure",
        duration_words(secs(mirror.policy.promotion_timeout_secs).num_seconds()),
        request.candidate
    ));
    actions
        .push("Traffic follows through Route 53 failover once the new primary's mirror_status.cxw answers 200".into());
    actions
}

/// "1 of 2 approvals so far: Dana Whitfield", when more than one is required.
fn approvals_line(mirror: &Mirror, request: &PromotionRequest) -> Option<String> {
    let required = mirror.policy.approvers_required;
    (required > 1).then(|| {
        let so_far = request.approvers();
        format!(
            "{} of {required} approvals so far{}",
            so_far.len(),
            if so_far.is_empty() {
                String::new()
            } else {
                format!(": {}", so_far.join(", "))
            }
        )
    })
}

fn decision_page(
    mirror: &Mirror,
    state: &MirrorState,
    request: &PromotionRequest,
    now: DateTime<Utc>,
    form: &Form,
    error: Option<&str>,
) -> String {
    match request.kind {
        RequestKind::Fencing => {
            return fencing::fencing_page(mirror, state, request, now, &form.approver, &form.confirm, error)
        }
        RequestKind::Drill => return drill::drill_page(mirror, request, now, &form.approver, &form.confirm, error),
        RequestKind::Switchover | RequestKind::Failback => {
            return switchover::switchover_page(
                mirror,
                state,
                request,
                now,
                &form.approver,
                &form.confirm,
                form.accept_loss,
                error,
            )
        }
        RequestKind::Promotion => {}
    }
    let f = facts(mirror, state, request, now);
    let rows = [
        (
            "Mirror",
            format!(
                "{}{}",
                mirror.name,
                mirror
                    .description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        ),
        ("What failed", f.lost.clone()),
        ("Agreed by", f.observers.clone()),
        ("Now", f.now_line.clone()),
        ("Would become primary", f.candidate.clone()),
        ("Request", format!("{} (epoch {})", request.id, request.epoch)),
    ];
    let body = html! {
        div class="banner crit" role="alert" { "Disaster-recovery promotion: your decision is needed" }
        h1 { "Promote " (request.candidate) " to primary of " (mirror.name) "?" }
        (error_line(error))
        div class="box" id="data-loss" {
            h2 { "Data that may be lost" }
            p class="loss" { (f.loss_headline) }
            p { (f.loss_detail) }
            @if f.over_policy {
                p class="error" {
                    "This is over the policy's limit of " (mirror.policy.max_journal_latency_secs)
                    " s (or unknown): approving requires ticking \"I accept the data loss\"."
                }
            }
        }
        (partner_box(mirror, state, request, now))
        (facts_list(&rows))
        h2 { "What approval does" }
        ol {
            @for action in &f.actions {
                li { (action) }
            }
        }
        @if let Some(approvals) = &f.approvals {
            p { strong { (approvals) } }
        }
        p { (f.expiry) }
        // The form posts back to this same address: the page never writes the link out.
        form method="post" action="" autocomplete="off" {
            (name_and_confirm(&mirror.name, &form.approver, &form.confirm))
            // Always offered: ticked, the promotion may run without partner (and, over the
            // policy's limit, it is required).
            label class="check" {
                input type="checkbox" id="accept_loss" name="accept_loss" value="yes" checked[form.accept_loss];
                " I accept the data loss described above: if no partner's ISCAgent answers, promote without partner"
            }
            @if !f.over_policy {
                p class="muted" id="accept-loss-help" {
                    "Left unticked, the promotion runs only with partner: if no former failover member's ISCAgent answers, nothing is promoted and everyone is alerted."
                }
            }
            (decision_buttons("Approve promotion", "Reject"))
        }
        p class="muted" {
            "Opening this page decides nothing. Only the buttons above do, and every decision is recorded with your name, the time, your address and what this page showed."
        }
    };
    page(&format!("Promote {}?", request.candidate), body)
}

/// Which way the promotion will go: with partner when a former failover member's
/// ISCAgent answers at promotion time (the candidate first obtains the journal data it
/// lacks from it), otherwise without partner; and what the evidence says now.
fn partner_box(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> Markup {
    let view = View::new(state, mirror, now);
    let partners: Vec<&str> = mirror.failover_members().map(|m| m.name.as_str()).collect();
    let fresh_since = now - secs(mirror.policy.evidence_fresh_secs);
    let alive: Vec<String> = partners
        .iter()
        .filter_map(|p| view.heard_alive(p, fresh_since).map(|(_, words)| words))
        .collect();
    let last: Option<(DateTime<Utc>, String)> = partners
        .iter()
        .filter_map(|p| view.heard_alive(p, DateTime::<Utc>::MIN_UTC))
        .max_by_key(|(at, _)| *at);
    let likely = if !alive.is_empty() {
        format!(
            "Right now a former failover member's host is heard from ({}): its ISCAgent may answer, so the promotion may go with partner.",
            alive.join("; ")
        )
    } else {
        match last {
            Some((at, _)) => format!(
                "Right now nothing has been heard from {} since {} ({} ago): expect the promotion to go without partner.",
                partners.join(" or "),
                clock(at),
                duration_words((now - at).num_seconds())
            ),
            None => format!(
                "Right now nothing is heard from {}: expect the promotion to go without partner.",
                partners.join(" or ")
            ),
        }
    };
    let candidate = &request.candidate;
    html! {
        div class="box" id="partner" {
            h2 { "Which way the promotion goes" }
            p {
                strong { "With partner" }
                " if, when the promotion runs, the ISCAgent of " (partners.join(" or ")) " answers: "
                (candidate) " first obtains from it the journal data it lacks, then becomes primary. Possibly nothing is lost."
            }
            p {
                strong { "Otherwise without partner" }
                ": " (candidate) " becomes primary with only the journal data it received. What it never received (estimated above) is gone for good, unless the former primary is later rebuilt and its journals are recovered by hand. This needs the box \"I accept the data loss\" ticked below."
            }
            p id="partner-now" { (likely) }
        }
    }
}

/// One line of what the page showed, for the audit record.
fn shown(mirror: &Mirror, state: &MirrorState, request: &PromotionRequest, now: DateTime<Utc>) -> String {
    match request.kind {
        RequestKind::Fencing => return fencing::shown(mirror, state, request, now),
        RequestKind::Drill => return drill::shown(request),
        RequestKind::Switchover | RequestKind::Failback => return switchover::shown(request),
        RequestKind::Promotion => {}
    }
    let f = facts(mirror, state, request, now);
    format!(
        "failed: {}; now: {}; candidate: {}; loss: {}",
        f.lost, f.now_line, f.candidate, f.loss_headline
    )
}

#[allow(clippy::too_many_arguments)]
/// The request a link opened, as the page showed it.
struct Opened<'a> {
    mirror: &'a Mirror,
    state: &'a MirrorState,
    request: &'a PromotionRequest,
    /// The link's token hash: the decision's authority.
    hash: &'a str,
    now: DateTime<Utc>,
}

/// A POST of the form: checked (content type, size, the button, the name, the
/// confirmation), decided by the engine, and answered with the page for the verdict.
async fn decide<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    req: &HttpRequest,
    opened: &Opened<'_>,
    orders: &mut Vec<PromotionOrder>,
) -> HttpResponse {
    let Opened {
        mirror,
        state,
        request,
        hash,
        now,
    } = *opened;
    let (form, action) = match read_form(req, opened) {
        Ok(read) => read,
        Err(page) => return page,
    };
    let decision = Decision {
        request: request.id.clone(),
        action,
        by: form.approver.clone(),
        accept_loss: form.accept_loss,
        authority: Authority::Link {
            token_hash: hash.to_string(),
        },
        source_ip: req.source_ip.clone(),
        user_agent: req.user_agent.as_ref().map(|u| u.chars().take(300).collect()),
        shown: Some(shown(mirror, state, request, now)),
    };
    let signal = Signal {
        mirror: mirror.name.clone(),
        id: None,
        at: now,
        kind: SignalKind::Decision(decision),
    };
    let outcome = match engine.handle(signal, now).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(mirror = %mirror.name, request = %request.id, error = %e, "approval: decision not recorded");
            return unavailable();
        }
    };
    orders.extend(outcome.orders.iter().cloned());
    tracing::info!(mirror = %mirror.name, request = %request.id, by = %form.approver, source_ip = req.source_ip.as_deref().unwrap_or("-"), verdict = ?outcome.verdict, "approval page decision");
    let Verdict::Decision(verdict) = outcome.verdict else {
        return unavailable();
    };
    match request.kind {
        RequestKind::Fencing => fencing_verdict_page(engine, opened, &form, verdict, &outcome.reports).await,
        RequestKind::Drill => drill_verdict_page(mirror, request, &form, verdict, now),
        RequestKind::Switchover | RequestKind::Failback => {
            planned_verdict_page(engine, opened, &form, verdict, &outcome.reports).await
        }
        RequestKind::Promotion => promotion_verdict_page(engine, opened, &form, verdict, &outcome.reports).await,
    }
}

/// The form of a POST and the button pressed; or the page that says what to fix,
/// nothing decided.
fn read_form(req: &HttpRequest, opened: &Opened<'_>) -> Result<(Form, DecisionAction), HttpResponse> {
    let Opened {
        mirror,
        state,
        request,
        now,
        ..
    } = *opened;
    let content_type = req.content_type.as_deref().unwrap_or_default().to_ascii_lowercase();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(message(
            415,
            "Use the form",
            "warn",
            "Decisions are taken only from the form on this page.",
            &["Nothing was decided.".into()],
        ));
    }
    if req.body.len() > MAX_FORM_BYTES {
        return Err(message(
            413,
            "Too much data",
            "warn",
            "The form sent far more than its four fields.",
            &["Nothing was decided.".into()],
        ));
    }
    let form = Form::parse(&req.body);
    let again = |status: u16, error: &str| {
        HttpResponse::page(status, decision_page(mirror, state, request, now, &form, Some(error)))
    };
    let action = match form.decision.as_str() {
        "approve" => DecisionAction::Approve,
        "reject" => DecisionAction::Reject,
        _ => return Err(again(400, "Press Approve or Reject. Nothing was decided.")),
    };
    if form.approver.is_empty() || form.approver.chars().count() > 100 {
        return Err(again(
            422,
            "Type your name (at most 100 characters): every decision is recorded with who made it. Nothing was decided.",
        ));
    }
    if !form.confirm.eq_ignore_ascii_case(&mirror.name) {
        let msg = format!(
            "The confirmation does not match: type {} exactly. Nothing was decided.",
            mirror.name
        );
        return Err(again(422, &msg));
    }
    Ok((form, action))
}

/// The answer to a decision on a promotion request.
async fn promotion_verdict_page<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    opened: &Opened<'_>,
    form: &Form,
    verdict: DecisionVerdict,
    reports: &[Report],
) -> HttpResponse {
    let Opened {
        mirror, request, now, ..
    } = *opened;
    match verdict {
        DecisionVerdict::Approved { candidate, executing: true, .. } => {
            let executed = executed_detail(reports);
            let mut lines = vec![
                format!("Approved by {} at {}.", form.approver, clock(now)),
                match executed {
                    Some(detail) => format!("Promotion started ({detail})."),
                    None => "The promotion actions have been handed to the promotion executor.".into(),
                },
                format!(
                    "mirrorgate now waits for {candidate} to report primary and alerts everyone on success or failure. You can close this page."
                ),
            ];
            if let Some(failed) = reports.iter().find_map(|r| match r {
                Report::Alert { kind: crate::domain::AlertKind::PromotionFailed, subject, .. } => Some(subject.clone()),
                _ => None,
            }) {
                lines.push(format!("But: {failed}. Check the alert for what to do."));
            }
            message(200, "Promotion approved", "ok", &format!("Promoting {candidate} to primary of {}", mirror.name), &lines)
        }
        DecisionVerdict::Approved { approvals, required, .. } => approval_recorded(approvals, required),
        DecisionVerdict::Rejected { .. } => message(
            200,
            "Promotion rejected",
            "info",
            &format!("Rejected by {}. Nothing will be promoted.", form.approver),
            &["Everyone on the alert list is told. If the primary is still lost after the cool-down, mirrorgate asks again.".into()],
        ),
        DecisionVerdict::Refused { refusal, .. } => refused_page(engine, mirror, request, form, refusal, now).await,
    }
}

/// The answer to a decision on a drill.
fn drill_verdict_page(
    mirror: &Mirror,
    request: &PromotionRequest,
    form: &Form,
    verdict: DecisionVerdict,
    now: DateTime<Utc>,
) -> HttpResponse {
    let report = format!("The drill report: mirrorgate drill-report {}", request.id);
    match verdict {
        DecisionVerdict::Approved { executing, approvals, required, .. } if approvals >= required => {
            let done = if executing {
                "The drill document has been handed to the promotion executor."
            } else {
                "No drill document is configured: nothing was run."
            };
            message(
                200,
                "DRILL approved",
                "ok",
                &format!("DRILL approved by {} at {}. {} NOT promoted.", form.approver, clock(now), request.candidate),
                &[done.into(), report],
            )
        }
        DecisionVerdict::Approved { approvals, required, .. } => message(
            200,
            "DRILL approval recorded",
            "ok",
            &format!("DRILL: your approval is recorded: {approvals} of {required}."),
            &["Another person must approve with the link in the new alert mirrorgate just sent. This link has been used.".into()],
        ),
        DecisionVerdict::Rejected { .. } => message(
            200,
            "DRILL rejected",
            "info",
            &format!("DRILL rejected by {}. Nothing was run.", form.approver),
            &[report],
        ),
        DecisionVerdict::Refused { refusal, .. } => {
            let msg = format!("DRILL: {} Nothing was decided.", refusal.message());
            HttpResponse::page(409, drill::drill_page(mirror, request, now, &form.approver, &form.confirm, Some(&msg)))
        }
    }
}

/// The answer to a decision on a planned switchover or failback.
async fn planned_verdict_page<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    opened: &Opened<'_>,
    form: &Form,
    verdict: DecisionVerdict,
    reports: &[Report],
) -> HttpResponse {
    let Opened {
        mirror, request, now, ..
    } = *opened;
    let failback = request.kind == RequestKind::Failback;
    let what = if failback { "Failback" } else { "Switchover" };
    let primary = request.lost_primary.as_deref().unwrap_or("the primary");
    let candidate = &request.candidate;
    match verdict {
        DecisionVerdict::Approved { executing: true, .. } => {
            let executed = executed_detail(reports);
            let current = engine.state(&mirror.name, now).await.ok();
            let without_partner = current
                .as_ref()
                .and_then(|s| s.request(&request.id).map(|r| r.accepted_without_partner))
                .unwrap_or(form.accept_loss);
            let targets = current
                .as_ref()
                .map(|s| switchover::fence_targets(mirror, s))
                .unwrap_or_default();
            let mut lines = vec![format!("Approved by {} at {}.", form.approver, clock(now))];
            if failback && !request.fence_members.is_empty() {
                lines.push(format!(
                    "First {} are un-fenced (the fencing document with Method=unfence), then {candidate}, once connected to {}, becomes its failover partner.",
                    request.fence_members.join(", "),
                    request.lost_primary.as_deref().unwrap_or("the DR primary")
                ));
            }
            lines.push(match executed {
                Some(detail) => format!("Promotion of {candidate} started ({detail})."),
                None => "The promotion actions have been handed to the promotion executor.".into(),
            });
            lines.push(if without_partner {
                "With partner if a partner's ISCAgent answers, otherwise without partner: the data loss was accepted.".into()
            } else {
                "With partner only (no data loss): if no partner's ISCAgent answers, nothing is promoted and everyone is alerted.".into()
            });
            if !failback {
                lines.push(match (&mirror.promotion.fence_document, targets.is_empty()) {
                    (Some(document), false) => format!(
                        "Once {candidate} reports primary, the former primary region {} is fenced: {document} runs on {}, as part of this approval.",
                        mirror.primary_region,
                        targets.join(", ")
                    ),
                    _ => format!(
                        "Once {candidate} reports primary, fence the former primary region {} by hand: mirrorgate does not (no fencing document, or no failover member with an instance_id).",
                        mirror.primary_region
                    ),
                });
            }
            lines.push(format!("Now, by hand: {}.", switchover::by_hand(mirror, request)));
            lines.push(format!(
                "mirrorgate waits up to {} for {candidate} to report primary and alerts everyone on success or failure.",
                duration_words(secs(mirror.policy.promotion_timeout_secs).num_seconds())
            ));
            if let Some(failed) = reports.iter().find_map(|r| match r {
                Report::Alert {
                    kind: crate::domain::AlertKind::SwitchoverClosed | crate::domain::AlertKind::FailbackClosed,
                    severity: crate::domain::Severity::Critical,
                    subject,
                    ..
                } => Some(subject.clone()),
                _ => None,
            }) {
                lines.push(format!("But: {failed}. Check the alert for what to do."));
            }
            message(
                200,
                &format!("{what} approved"),
                "ok",
                &format!(
                    "{} {} from {primary} to {candidate}",
                    if failback { "Failing back" } else { "Switching over" },
                    mirror.name
                ),
                &lines,
            )
        }
        DecisionVerdict::Approved {
            approvals, required, ..
        } => approval_recorded(approvals, required),
        DecisionVerdict::Rejected { .. } => message(
            200,
            &format!("{what} rejected"),
            "info",
            &format!(
                "Rejected by {}. Nothing will be {}: {primary} stays primary.",
                form.approver,
                if failback { "un-fenced or promoted" } else { "promoted" }
            ),
            &[format!("Everyone on the alert list is told. {}", ask_again(request))],
        ),
        DecisionVerdict::Refused { refusal, .. } => refused_page(engine, mirror, request, form, refusal, now).await,
    }
}

async fn refused_page<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    mirror: &Mirror,
    request: &PromotionRequest,
    form: &Form,
    refusal: Refusal,
    now: DateTime<Utc>,
) -> HttpResponse {
    // Refusals that leave the request open show the form again, with the reason.
    if matches!(
        refusal,
        Refusal::LatencyOverPolicy { .. }
            | Refusal::SameApprover { .. }
            | Refusal::NoName
            | Refusal::PartnerSilent { .. }
    ) {
        if let Ok(state) = engine.state(&mirror.name, now).await {
            if let Some(current) = state.request(&request.id) {
                let msg = format!("{} Nothing was decided.", refusal.message());
                return HttpResponse::page(409, decision_page(mirror, &state, current, now, form, Some(&msg)));
            }
        }
    }
    message(
        409,
        "Approval refused",
        "warn",
        &refusal.message(),
        &[nothing_done(request).into()],
    )
}

/// The answer to a decision on a fencing request.
async fn fencing_verdict_page<S: Store, N: Notifier, A: PromotionActions>(
    engine: &Engine<S, N, A>,
    opened: &Opened<'_>,
    form: &Form,
    verdict: DecisionVerdict,
    reports: &[Report],
) -> HttpResponse {
    let Opened {
        mirror,
        state,
        request,
        now,
        ..
    } = *opened;
    match verdict {
        DecisionVerdict::Approved { executing: true, .. } => {
            let mut lines = vec![format!("Approved by {} at {}.", form.approver, clock(now))];
            let sent: Vec<String> = reports
                .iter()
                .filter_map(|r| match r {
                    Report::FencingExecuted { member, detail, .. } => Some(format!("{member}: {detail}")),
                    _ => None,
                })
                .collect();
            if sent.is_empty() {
                lines.push("The fencing has been handed to the promotion executor.".into());
            } else {
                lines.push(format!("Fencing sent: {}.", sent.join("; ")));
            }
            if let Some(failed) = reports.iter().find_map(|r| match r {
                Report::Alert {
                    kind: crate::domain::AlertKind::FencingFailed,
                    subject,
                    ..
                } => Some(subject.clone()),
                _ => None,
            }) {
                lines.push(format!("But: {failed}. Fence them by hand now; the alert says how."));
            }
            lines.push(format!(
                "{} stays primary. Everyone on the alert list is told. You can close this page.",
                request.candidate
            ));
            message(
                200,
                "Fencing approved",
                "ok",
                &format!("Fencing {} of {}", request.fence_members.join(", "), mirror.name),
                &lines,
            )
        }
        DecisionVerdict::Approved { approvals, required, .. } => approval_recorded(approvals, required),
        DecisionVerdict::Rejected { .. } => message(
            200,
            "Fencing rejected",
            "info",
            &format!("Rejected by {}. Nothing will be fenced.", form.approver),
            &["Everyone on the alert list is told. Fence the former failover members by hand if they must not rejoin (docs/DEPLOY.md, \"Fencing and failing back\").".into()],
        ),
        DecisionVerdict::Refused { refusal, .. } => {
            if matches!(refusal, Refusal::SameApprover { .. } | Refusal::NoName) {
                let msg = format!("{} Nothing was decided.", refusal.message());
                let current = engine.state(&mirror.name, now).await.ok();
                let (state, request) = match current.as_ref().and_then(|s| s.request(&request.id).map(|r| (s, r))) {
                    Some(found) => found,
                    None => (state, request),
                };
                return HttpResponse::page(409, decision_page(mirror, state, request, now, form, Some(&msg)));
            }
            message(409, "Approval refused", "warn", &refusal.message(), &["Nothing was fenced.".into()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markup and quotes, as a person could type them into the form or a topology
    /// could carry them.
    const HOSTILE: &str = "<script>alert(\"x\")</script>";
    const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// A request of `kind` whose every free-text field is hostile.
    fn hostile_request(kind: RequestKind) -> PromotionRequest {
        serde_json::from_value(serde_json::json!({
            "id": HOSTILE,
            "kind": kind,
            "epoch": 2,
            "candidate": HOSTILE,
            "status": "open",
            "created_at": "2026-11-25T03:00:00Z",
            "expires_at": "2026-11-25T03:30:00Z",
            "lost_primary": HOSTILE,
            "lost_since": "2026-11-25T02:58:00Z",
            "observers": [],
            "candidate_latency": null,
            "fence_members": [HOSTILE],
            "returned": HOSTILE,
            "started_by": HOSTILE,
        }))
        .unwrap()
    }

    #[test]
    fn hostile_values_come_out_escaped_on_every_decision_page() {
        let topology = crate::topology::example();
        let mut mirror = topology.mirror("HSPROD").unwrap().clone();
        mirror.description = Some(HOSTILE.into());
        let now = at("2026-11-25T03:05:00Z");
        let state = MirrorState::new("HSPROD", at("2026-11-25T00:00:00Z"));
        let form = Form {
            approver: HOSTILE.into(),
            confirm: HOSTILE.into(),
            decision: String::new(),
            accept_loss: true,
        };
        for kind in [
            RequestKind::Promotion,
            RequestKind::Fencing,
            RequestKind::Drill,
            RequestKind::Switchover,
            RequestKind::Failback,
        ] {
            let html = decision_page(&mirror, &state, &hostile_request(kind), now, &form, Some(HOSTILE));
            assert!(!html.contains("<script"), "{kind:?}: {html}");
            assert!(
                html.contains(&format!("id=\"error\">{ESCAPED}</p>")),
                "{kind:?}: the error: {html}"
            );
            assert!(
                html.contains(&format!(
                    "name=\"approver\" autocomplete=\"name\" required maxlength=\"100\" value=\"{ESCAPED}\""
                )),
                "{kind:?}: the name typed: {html}"
            );
            assert!(
                html.contains(&format!("spellcheck=\"false\" value=\"{ESCAPED}\"")),
                "{kind:?}: the confirmation typed: {html}"
            );
            assert!(
                html.contains(&format!("<dd>{ESCAPED} (epoch 2)</dd>")),
                "{kind:?}: the request: {html}"
            );
            let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
            assert!(title.contains(ESCAPED), "{kind:?}: the title: {title}");
        }
    }
}
