//! How effects are printed: one JSON object per line (`--json`), or lines for people.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::engine::Report;

/// The JSON line of one report: `{"at": ..., "mirror": ..., "effect": ..., ...}`.
pub fn json_line(at: DateTime<Utc>, report: &Report) -> String {
    let mut object = Map::new();
    object.insert(
        "at".into(),
        Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    if let Ok(Value::Object(fields)) = serde_json::to_value(report) {
        object.extend(fields);
    }
    Value::Object(object).to_string()
}

/// The lines a person reads for one report.
pub fn human_lines(at: DateTime<Utc>, report: &Report) -> String {
    let time = at.format("%H:%M:%S");
    match report {
        Report::Transition {
            mirror,
            from,
            to,
            epoch,
            reason,
        } => {
            format!("{time}  {mirror:<8} {from} -> {to}  (epoch {epoch}: {reason})")
        }
        Report::Alert {
            severity,
            kind,
            subject,
            sms,
            link,
            delivered,
            email,
            ..
        } => {
            let mut out = format!(
                "{:<10}{:<9}ALERT {} {}: {subject}\n{:<19}SMS: {sms}",
                "",
                "",
                severity.as_str().to_uppercase(),
                kind.as_str(),
                ""
            );
            if let Some(link) = link {
                out.push_str(&format!("\n{:<19}link: {link}", ""));
            }
            if matches!(
                kind,
                shared::domain::AlertKind::PromotionRequested | shared::domain::AlertKind::FencingRequested
            ) {
                out.push_str(&format!("\n{:<19}EMAIL:", ""));
                for line in email.lines() {
                    out.push_str(&format!("\n{:<19}| {line}", ""));
                }
            }
            if !delivered {
                out.push_str(&format!(
                    "\n{:<19}(not delivered yet: kept in the outbox, sent again on a later tick)",
                    ""
                ));
            }
            out
        }
        Report::PromotionRequested {
            mirror,
            request,
            candidate,
        } => {
            format!("{time}  {mirror:<8} PROMOTION REQUESTED {request}: promote {candidate}")
        }
        Report::PromotionExecuted {
            mirror,
            request,
            candidate,
            detail,
        } => {
            format!("{time}  {mirror:<8} PROMOTION EXECUTED {request}: {candidate} ({detail})")
        }
        Report::FencingExecuted {
            mirror,
            request,
            member,
            detail,
        } => {
            format!("{time}  {mirror:<8} FENCING SENT {request}: {member} ({detail})")
        }
        Report::Decision {
            mirror,
            request,
            outcome,
            reason,
        } => {
            let request = request.as_deref().unwrap_or("-");
            match reason {
                Some(reason) => format!("{time}  {mirror:<8} decision on {request}: {outcome} ({reason})"),
                None => format!("{time}  {mirror:<8} decision on {request}: {outcome}"),
            }
        }
    }
}
