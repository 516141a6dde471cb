//! The status page served at `/` by `mirrorgate serve`: what the person on call
//! needs first (maintenance, drills, open requests), then the members with the age
//! of each piece of evidence and what no longer counts marked stale. Rendered on
//! the server at `now`, reloaded by the browser every 30 s without JavaScript.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped};
use shared::web::{age, wide_refreshing_page};

use crate::status::{Evidence, MemberView, MirrorView, RequestView};

/// Seconds between reloads of the page.
pub const REFRESH_SECS: u32 = 30;

/// The dot between a time and its age, and between the parts of a banner: fixed
/// markup, written as the entity it always was.
const DOT: PreEscaped<&str> = PreEscaped("&middot;");

/// The whole status page for these mirrors, as seen at `now`.
pub fn render(views: &[MirrorView], now: DateTime<Utc>) -> String {
    let body = html! {
        h1 { "mirrorgate status" }
        p class="muted" id="rendered" {
            "Rendered at " (now.format("%Y-%m-%d %H:%M:%S")) " UTC; this page reloads itself every "
            (REFRESH_SECS) " s. Times are UTC; ages are as of the rendering."
        }
        @if views.is_empty() {
            p { "No mirror in the topology has any state yet." }
        }
        @for v in views {
            (mirror_section(v, now))
        }
    };
    wide_refreshing_page("Status", REFRESH_SECS, body)
}

fn mirror_section(v: &MirrorView, now: DateTime<Utc>) -> Markup {
    let mirror = &v.mirror;
    let class = match v.phase {
        "normal" => "ok",
        "degraded" | "failed_over" | "dr_active" => "warn",
        _ => "crit",
    };
    let drills: Vec<&str> = v
        .requests
        .iter()
        .filter(|r| r.kind == "drill" && r.status == "open")
        .map(|r| r.id.as_str())
        .collect();
    let (open, closed): (Vec<&RequestView>, Vec<&RequestView>) = v.requests.iter().partition(|r| r.status == "open");
    html! {
        h2 { (mirror) }
        div class=(format!("banner {class}")) id=(format!("phase-{mirror}")) {
            (v.phase.replace('_', " ")) " since " (v.phase_since.format("%Y-%m-%d %H:%M:%S UTC"))
            " (" (age(v.phase_since, now)) ") " (DOT) " epoch " (v.epoch) " " (DOT)
            " primary " (v.primary.as_deref().unwrap_or("unknown"))
        }

        // What the person on call must see first.
        @match &v.maintenance {
            Some(w) => {
                div class="banner info" id=(format!("maintenance-{mirror}")) {
                    "Maintenance until " (w.until.format("%Y-%m-%d %H:%M UTC")) ": " (w.reason)
                    " (started by " (w.by) " at " (w.started_at.format("%Y-%m-%d %H:%M UTC"))
                    "). No promotion request is raised until then."
                }
            }
            None => {
                p class="muted" id=(format!("maintenance-{mirror}")) { "No maintenance window on." }
            }
        }
        @if drills.is_empty() {
            p class="muted" id=(format!("drills-{mirror}")) { "No DR drill open." }
        } @else {
            p id=(format!("drills-{mirror}")) {
                strong { "DRILL" } " open: " (drills.join(", ")) " (below; nothing is promoted)."
            }
        }
        section id=(format!("open-requests-{mirror}")) {
            h3 { "Open requests" }
            @if open.is_empty() {
                p { "No open request." }
            } @else {
                table class="requests stack" {
                    tr { th { "request" } th { "asks" } th { "raised" } th { "expires" } th { "approvers" } }
                    @for r in &open {
                        tr {
                            td data-label="request" { (r.id) }
                            td data-label="asks" { strong { (r.asks) } }
                            td data-label="raised" { (when(r.created_at, now)) }
                            td data-label="expires" { (r.expires_at.format("%H:%M:%S")) }
                            td data-label="approvers" {
                                @if r.approvers.is_empty() { "none yet" } @else { (r.approvers.join(", ")) }
                            }
                        }
                    }
                }
                p class="muted" { "Open requests are decided from the link in the alert (email or SMS)." }
            }
        }

        h3 { "Members" }
        table class="members stack" id=(format!("members-{mirror}")) {
            tr {
                th { "member" } th { "status" } th { "Route 53" } th { "probe" } th { "instance" }
                th { "heartbeat" } th { "journal latency" } th { "may lose" }
            }
            @for m in &v.members {
                (member_row(m, now))
            }
        }
        p class="muted" {
            "Stale: said too long ago to count any more (the mirror's evidence_fresh_secs, heartbeat_stale_secs). A failing Route 53 check and an instance's state hold until they change."
        }

        @if !closed.is_empty() {
            h3 { "Earlier requests" }
            table class="requests stack" {
                tr {
                    th { "request" } th { "asks" } th { "status" } th { "raised" } th { "approvers" } th { "outcome" }
                }
                @for r in &closed {
                    tr {
                        td data-label="request" { (r.id) }
                        td data-label="asks" { (r.asks) }
                        td data-label="status" { (r.status.replace('_', " ")) }
                        td data-label="raised" { (when(r.created_at, now)) }
                        td data-label="approvers" { (r.approvers.join(", ")) }
                        td data-label="outcome" { (outcome_and_script(r)) }
                    }
                }
            }
        }
        details {
            summary { "Recent history" }
            ul {
                @for h in &v.history {
                    li { (h) }
                }
            }
        }
    }
}

/// A member's row: its name and what each source last said of it, with ages.
fn member_row(m: &MemberView, now: DateTime<Utc>) -> Markup {
    let status = match (m.status, &m.status_reason) {
        (Some(status), Some(reason)) => format!("{status} ({reason})"),
        (status, _) => status.unwrap_or("-").to_string(),
    };
    let latency = m
        .journal_latency_seconds
        .map_or_else(|| "-".into(), |s| format!("{s:.0} s"));
    let e = &m.evidence;
    html! {
        tr data-member=(m.name) {
            td data-label="member" {
                (m.name)
                @match (m.claims_primary, &m.fenced) {
                    (true, _) => { " " strong { "(primary)" } }
                    (false, Some(fenced)) => { " " strong class="fenced" title=(fenced) { "(fenced)" } }
                    (false, None) => {}
                }
                small { (m.kind.replace('_', " ")) " " (DOT) " " (m.zone) }
            }
            (cell("status", html! { (status) }, e.status, now))
            (cell("Route 53", tri(m.route53, "primary", "not primary"), e.route53, now))
            (cell("probe", tri(m.probe, "primary", "not primary"), e.probe, now))
            (cell("instance", tri(m.instance_up, "up", "DOWN"), e.instance, now))
            (cell("heartbeat", tri(m.heartbeat_fresh, "fresh", "SILENT"), e.heartbeat, now))
            (timed("journal latency", html! { (latency) }, m.journal_latency_measured_at, false, now))
            td data-label="may lose" { (m.may_lose.as_deref().unwrap_or("-")) }
        }
    }
}

/// A yes/no/unknown as the member table says it: the bad answer stands out.
fn tri(value: Option<bool>, yes: &str, no: &str) -> Markup {
    html! {
        @match value {
            Some(true) => { (yes) }
            Some(false) => { strong { (no) } }
            None => { "-" }
        }
    }
}

/// "03:06:30 · 3 min ago"
fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! { (at.format("%H:%M:%S")) " " (DOT) " " (age(at, now)) }
}

/// A cell of the member table: what was said (`value`), when, how long ago, and
/// "stale" when it no longer counts.
fn cell(label: &str, value: Markup, evidence: Option<Evidence>, now: DateTime<Utc>) -> Markup {
    match evidence {
        None => timed(label, value, None, false, now),
        Some(e) => timed(label, value, Some(e.at), !e.fresh, now),
    }
}

/// A cell with the time and age of what it shows, if known, marked stale when
/// `stale` (the journal latency is never: the last measured before a loss is what
/// the estimate uses).
fn timed(label: &str, value: Markup, at: Option<DateTime<Utc>>, stale: bool, now: DateTime<Utc>) -> Markup {
    html! {
        td class=[stale.then_some("stale")] data-label=(label) {
            (value)
            @if let Some(at) = at {
                small {
                    (when(at, now))
                    @if stale { " " (DOT) " stale" }
                }
            }
        }
    }
}

/// A request's outcome and what its promote script last said, for the status page.
fn outcome_and_script(r: &crate::status::RequestView) -> String {
    let mut parts: Vec<String> = r.outcome.iter().cloned().collect();
    if let Some(script) = &r.script {
        parts.push(format!("promote {script}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::mirror_view;
    use shared::domain::signal::MemberStatus;
    use shared::domain::state::{MemberState, MirrorState, Observation};
    use shared::domain::Observer;
    use shared::topology::Topology;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn topology() -> Topology {
        Topology::parse("examples/topology.toml", include_str!("../../examples/topology.toml")).unwrap()
    }

    /// HSPROD-A heard 40 s ago as primary; HSPROD-B last heard 5 min ago (past the
    /// 180 s of heartbeat_stale_secs and evidence_fresh_secs).
    fn state(now: DateTime<Utc>) -> MirrorState {
        let mut state = MirrorState::new("HSPROD", at("2026-11-25T00:00:00Z"));
        let heard = |status, secs_ago: i64| {
            let when = now - chrono::Duration::seconds(secs_ago);
            MemberState {
                status: Some((status, when)),
                last_heard: Some(when),
                ..MemberState::default()
            }
        };
        state
            .members
            .insert("HSPROD-A".into(), heard(MemberStatus::Primary, 40));
        state
            .members
            .insert("HSPROD-B".into(), heard(MemberStatus::Backup, 300));
        state
    }

    fn member_row<'a>(html: &'a str, member: &str) -> &'a str {
        let start = html.find(&format!("<tr data-member=\"{member}\">")).unwrap();
        let end = start + html[start..].find("</tr>").unwrap();
        &html[start..end]
    }

    #[test]
    fn fresh_evidence_shows_its_age_and_stale_evidence_is_marked() {
        let now = at("2026-11-25T03:10:00Z");
        let topology = topology();
        let mirror = topology.mirror("HSPROD").unwrap();
        let html = render(&[mirror_view(&state(now), mirror, now)], now);

        let a = member_row(&html, "HSPROD-A");
        assert!(a.contains("03:09:20 &middot; 40 s ago"), "{a}");
        assert!(!a.contains("stale"), "{a}");

        let b = member_row(&html, "HSPROD-B");
        assert!(b.contains("<td class=\"stale\" data-label=\"status\">Backup<small>03:05:00 &middot; 5 min ago &middot; stale</small>"), "{b}");
        assert!(b.contains("<td class=\"stale\" data-label=\"heartbeat\"><strong>SILENT</strong><small>03:05:00 &middot; 5 min ago &middot; stale</small>"), "{b}");
    }

    #[test]
    fn a_failing_route53_check_holds_and_an_old_probe_is_stale() {
        let now = at("2026-11-25T03:10:00Z");
        let topology = topology();
        let mirror = topology.mirror("HSPROD").unwrap();
        let mut state = state(now);
        let observed = |healthy, at_: DateTime<Utc>| Observation {
            healthy,
            at: at_,
            source: "test".into(),
            confirmed_at: None,
            alarm_arn: None,
            unreachable: false,
        };
        let a = state.members.get_mut("HSPROD-A").unwrap();
        a.observations
            .insert(Observer::Route53, observed(false, at("2026-11-25T03:00:00Z")));
        a.observations
            .insert(Observer::Probe, observed(true, at("2026-11-25T03:05:00Z")));
        let html = render(&[mirror_view(&state, mirror, now)], now);
        let row = member_row(&html, "HSPROD-A");
        assert!(row.contains("<td data-label=\"Route 53\"><strong>not primary</strong><small>03:00:00 &middot; 10 min ago</small></td>"), "{row}");
        assert!(row.contains("<td class=\"stale\" data-label=\"probe\">primary<small>03:05:00 &middot; 5 min ago &middot; stale</small></td>"), "{row}");
    }

    #[test]
    fn the_page_says_when_it_was_rendered_and_reloads_itself() {
        let now = at("2026-11-25T03:10:00Z");
        let html = render(&[], now);
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
        assert!(html.contains("Rendered at 2026-11-25 03:10:00 UTC"));
    }

    #[test]
    fn maintenance_drills_and_open_requests_come_before_the_members() {
        let now = at("2026-11-25T03:10:00Z");
        let topology = topology();
        let mirror = topology.mirror("HSPROD").unwrap();
        let mut v = mirror_view(&state(now), mirror, now);
        v.requests.push(RequestView {
            id: "req-<1>".into(),
            kind: "promotion",
            asks: "promote HSPROD-DR1".into(),
            candidate: "HSPROD-DR1".into(),
            status: "open",
            epoch: 1,
            created_at: at("2026-11-25T03:07:00Z"),
            expires_at: at("2026-11-25T03:37:00Z"),
            approvers: vec!["Dana <ops>".into()],
            outcome: None,
            accepted_without_partner: false,
            script: None,
        });
        let html = render(&[v], now);
        let maintenance = html.find("id=\"maintenance-HSPROD\"").unwrap();
        let drills = html.find("id=\"drills-HSPROD\"").unwrap();
        let open = html.find("promote HSPROD-DR1").unwrap();
        let members = html.find("id=\"members-HSPROD\"").unwrap();
        assert!(maintenance < drills && drills < open && open < members);
        assert!(html.contains("03:07:00 &middot; 3 min ago"));
        assert!(html.contains("req-&lt;1&gt;") && html.contains("Dana &lt;ops&gt;"));
        assert!(!html.contains("<1>") && !html.contains("<ops>"));
    }

    #[test]
    fn hostile_values_come_out_escaped() {
        const HOSTILE: &str = "<script>alert(\"x\")</script>";
        const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
        let now = at("2026-11-25T03:10:00Z");
        let topology = topology();
        let mirror = topology.mirror("HSPROD").unwrap();
        let mut v = mirror_view(&state(now), mirror, now);
        v.mirror = HOSTILE.into();
        v.maintenance = Some(crate::status::MaintenanceView {
            reason: HOSTILE.into(),
            by: HOSTILE.into(),
            started_at: at("2026-11-25T03:00:00Z"),
            until: at("2026-11-25T05:00:00Z"),
        });
        v.members[0].name = HOSTILE.into();
        v.members[1].fenced = Some(HOSTILE.into());
        v.history = vec![HOSTILE.into()];
        let html = render(&[v], now);
        assert!(!html.contains("<script"), "{html}");
        for escaped in [
            format!("<h2>{ESCAPED}</h2>"),
            format!("id=\"phase-{ESCAPED}\""),
            format!("Maintenance until 2026-11-25 05:00 UTC: {ESCAPED} (started by {ESCAPED} at"),
            format!("<tr data-member=\"{ESCAPED}\"><td data-label=\"member\">{ESCAPED}"),
            format!("<strong class=\"fenced\" title=\"{ESCAPED}\">(fenced)</strong>"),
            format!("<li>{ESCAPED}</li>"),
        ] {
            assert!(html.contains(&escaped), "expected {escaped:?} in {html}");
        }
    }
}
