//! The status page served at `/` by `mirrorgate serve`: what the person on call
//! needs first (maintenance, drills, open requests), then the members with the age
//! of each piece of evidence and what no longer counts marked stale. Rendered on
//! the server at `now`, reloaded by the browser every 30 s without JavaScript.

use chrono::{DateTime, Utc};
use shared::web::{age, escape, wide_refreshing_page};

use crate::status::{Evidence, MirrorView, RequestView};

/// Seconds between reloads of the page.
pub const REFRESH_SECS: u32 = 30;

/// The whole status page for these mirrors, as seen at `now`.
pub fn render(views: &[MirrorView], now: DateTime<Utc>) -> String {
    let mut body = format!(
        "<h1>mirrorgate status</h1><p class=\"muted\" id=\"rendered\">Rendered at {} UTC; this page reloads itself every {REFRESH_SECS} s. Times are UTC; ages are as of the rendering.</p>",
        now.format("%Y-%m-%d %H:%M:%S")
    );
    if views.is_empty() {
        body.push_str("<p>No mirror in the topology has any state yet.</p>");
    }
    for v in views {
        mirror_section(&mut body, v, now);
    }
    wide_refreshing_page("Status", REFRESH_SECS, maud::PreEscaped(body))
}

fn mirror_section(body: &mut String, v: &MirrorView, now: DateTime<Utc>) {
    let mirror = escape(&v.mirror);
    let class = match v.phase {
        "normal" => "ok",
        "degraded" | "failed_over" | "dr_active" => "warn",
        _ => "crit",
    };
    body.push_str(&format!(
        "<h2>{mirror}</h2><div class=\"banner {class}\" id=\"phase-{mirror}\">{} since {} ({}) &middot; epoch {} &middot; primary {}</div>",
        escape(&v.phase.replace('_', " ")),
        v.phase_since.format("%Y-%m-%d %H:%M:%S UTC"),
        age(v.phase_since, now),
        v.epoch,
        escape(v.primary.as_deref().unwrap_or("unknown"))
    ));

    // What the person on call must see first.
    match &v.maintenance {
        Some(w) => body.push_str(&format!(
            "<div class=\"banner info\" id=\"maintenance-{mirror}\">Maintenance until {}: {} (started by {} at {}). No promotion request is raised until then.</div>",
            w.until.format("%Y-%m-%d %H:%M UTC"),
            escape(&w.reason),
            escape(&w.by),
            w.started_at.format("%Y-%m-%d %H:%M UTC")
        )),
        None => body.push_str(&format!(
            "<p class=\"muted\" id=\"maintenance-{mirror}\">No maintenance window on.</p>"
        )),
    }
    let drills: Vec<&str> = v
        .requests
        .iter()
        .filter(|r| r.kind == "drill" && r.status == "open")
        .map(|r| r.id.as_str())
        .collect();
    body.push_str(&match drills.as_slice() {
        [] => format!("<p class=\"muted\" id=\"drills-{mirror}\">No DR drill open.</p>"),
        ids => format!(
            "<p id=\"drills-{mirror}\"><strong>DRILL</strong> open: {} (below; nothing is promoted).</p>",
            escape(&ids.join(", "))
        ),
    });
    let (open, closed): (Vec<&RequestView>, Vec<&RequestView>) = v.requests.iter().partition(|r| r.status == "open");
    body.push_str(&format!("<section id=\"open-requests-{mirror}\">"));
    if open.is_empty() {
        body.push_str("<h3>Open requests</h3><p>No open request.</p>");
    } else {
        body.push_str("<h3>Open requests</h3><table class=\"requests stack\"><tr><th>request</th><th>asks</th><th>raised</th><th>expires</th><th>approvers</th></tr>");
        for r in &open {
            body.push_str(&format!(
                "<tr><td data-label=\"request\">{}</td><td data-label=\"asks\"><strong>{}</strong></td><td data-label=\"raised\">{}</td><td data-label=\"expires\">{}</td><td data-label=\"approvers\">{}</td></tr>",
                escape(&r.id),
                escape(&r.asks),
                when(r.created_at, now),
                r.expires_at.format("%H:%M:%S"),
                if r.approvers.is_empty() {
                    "none yet".to_string()
                } else {
                    escape(&r.approvers.join(", "))
                }
            ));
        }
        body.push_str(
            "</table><p class=\"muted\">Open requests are decided from the link in the alert (email or SMS).</p>",
        );
    }
    body.push_str("</section>");

    body.push_str(&format!("<h3>Members</h3><table class=\"members stack\" id=\"members-{mirror}\"><tr><th>member</th><th>status</th><th>Route 53</th><th>probe</th><th>instance</th><th>heartbeat</th><th>journal latency</th><th>may lose</th></tr>"));
    for m in &v.members {
        let tag = match (m.claims_primary, &m.fenced) {
            (true, _) => " <strong>(primary)</strong>".to_string(),
            (false, Some(fenced)) => format!(
                " <strong class=\"fenced\" title=\"{}\">(fenced)</strong>",
                escape(fenced)
            ),
            (false, None) => String::new(),
        };
        let status = match (m.status, &m.status_reason) {
            (Some(status), Some(reason)) => format!("{status} ({reason})"),
            (status, _) => status.unwrap_or("-").to_string(),
        };
        let e = &m.evidence;
        let name = escape(&m.name);
        body.push_str(&format!(
            "<tr data-member=\"{name}\"><td data-label=\"member\">{name}{tag}<small>{} &middot; {}</small></td>{}{}{}{}{}{}<td data-label=\"may lose\">{}</td></tr>",
            escape(&m.kind.replace('_', " ")),
            escape(&m.zone),
            cell("status", &escape(&status), e.status, now),
            cell("Route 53", &tri(m.route53, "primary", "not primary"), e.route53, now),
            cell("probe", &tri(m.probe, "primary", "not primary"), e.probe, now),
            cell("instance", &tri(m.instance_up, "up", "DOWN"), e.instance, now),
            cell("heartbeat", &tri(m.heartbeat_fresh, "fresh", "SILENT"), e.heartbeat, now),
            aged(
                "journal latency",
                &m.journal_latency_seconds
                    .map_or_else(|| "-".into(), |s| format!("{s:.0} s")),
                m.journal_latency_measured_at,
                now
            ),
            escape(m.may_lose.as_deref().unwrap_or("-")),
        ));
    }
    body.push_str("</table><p class=\"muted\">Stale: said too long ago to count any more (the mirror's evidence_fresh_secs, heartbeat_stale_secs). A failing Route 53 check and an instance's state hold until they change.</p>");

    if !closed.is_empty() {
        body.push_str("<h3>Earlier requests</h3><table class=\"requests stack\"><tr><th>request</th><th>asks</th><th>status</th><th>raised</th><th>approvers</th><th>outcome</th></tr>");
        for r in &closed {
            body.push_str(&format!(
                "<tr><td data-label=\"request\">{}</td><td data-label=\"asks\">{}</td><td data-label=\"status\">{}</td><td data-label=\"raised\">{}</td><td data-label=\"approvers\">{}</td><td data-label=\"outcome\">{}</td></tr>",
                escape(&r.id),
                escape(&r.asks),
                escape(&r.status.replace('_', " ")),
                when(r.created_at, now),
                escape(&r.approvers.join(", ")),
                escape(&outcome_and_script(r))
            ));
        }
        body.push_str("</table>");
    }
    body.push_str("<details><summary>Recent history</summary><ul>");
    for h in &v.history {
        body.push_str(&format!("<li>{}</li>", escape(h)));
    }
    body.push_str("</ul></details>");
}

fn tri(value: Option<bool>, yes: &str, no: &str) -> String {
    match value {
        Some(true) => yes.into(),
        Some(false) => format!("<strong>{no}</strong>"),
        None => "-".into(),
    }
}

/// "03:06:30 · 3 min ago"
fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} &middot; {}", at.format("%H:%M:%S"), escape(&age(at, now)))
}

/// A cell of the member table: what was said (`value`, already HTML), when, how
/// long ago, and "stale" when it no longer counts.
fn cell(label: &str, value: &str, evidence: Option<Evidence>, now: DateTime<Utc>) -> String {
    match evidence {
        None => format!("<td data-label=\"{}\">{value}</td>", escape(label)),
        Some(e) if e.fresh => format!(
            "<td data-label=\"{}\">{value}<small>{}</small></td>",
            escape(label),
            when(e.at, now)
        ),
        Some(e) => format!(
            "<td class=\"stale\" data-label=\"{}\">{value}<small>{} &middot; stale</small></td>",
            escape(label),
            when(e.at, now)
        ),
    }
}

/// A cell with the time and age of what it shows, with no judgement of staleness
/// (the journal latency: the last measured before a loss is what the estimate uses).
fn aged(label: &str, value: &str, at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => format!("<td data-label=\"{}\">{value}</td>", escape(label)),
        Some(at) => format!(
            "<td data-label=\"{}\">{value}<small>{}</small></td>",
            escape(label),
            when(at, now)
        ),
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
}
