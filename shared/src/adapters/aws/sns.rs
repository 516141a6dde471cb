//! Alerts through SNS: one `Publish` per alert with `MessageStructure=json`, so
//! that each protocol gets its own text (`email`: the full text; `sms`: at most 160
//! characters; `default`: every other protocol), a subject for email, and message
//! attributes (`severity`, `mirror`, `kind`) that subscription filter policies can
//! use, e.g. SMS only for `critical`.

use std::collections::BTreeMap;

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::describe;
use crate::domain::alert::{MAX_SMS, MAX_SUBJECT};
use crate::domain::Alert;
use crate::ports::{Notifier, NotifyError};

/// What is published for one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    /// `Subject`: printable ASCII, one line, at most 100 characters (SNS refuses others).
    pub subject: String,
    /// `Message`: the JSON object with `default`, `email` and `sms`.
    pub message: String,
    /// `MessageAttributes`, all of type String.
    pub attributes: BTreeMap<&'static str, String>,
}

/// Builds the publication of one alert (pure: the tests check it without AWS).
pub fn sns_message(alert: &Alert) -> SnsMessage {
    let email = alert.email();
    let message = serde_json::json!({
        // SNS requires `default` whenever MessageStructure is json.
        "default": email,
        "email": email,
        // SMS is sent as plain GSM text: ASCII keeps it to one 160-character message.
        "sms": sms_line(alert),
    });
    let mut attributes = BTreeMap::new();
    attributes.insert("severity", alert.severity.as_str().to_string());
    attributes.insert("mirror", alert.mirror.clone());
    attributes.insert("kind", alert.kind.as_str().to_string());
    SnsMessage {
        subject: ascii_line(&alert.subject(), MAX_SUBJECT),
        message: message.to_string(),
        attributes,
    }
}

/// The SMS text in ASCII, at most `MAX_SMS` characters. Spelling characters out can
/// lengthen it (`…` becomes `...`): then the text before the link is cut, never the link.
fn sms_line(alert: &Alert) -> String {
    let sms = alert.sms();
    match alert.link.as_deref() {
        Some(link) if link.is_ascii() && sms.ends_with(link) => {
            let text = &sms[..sms.len() - link.len()];
            format!("{} {link}", ascii_line(text, MAX_SMS.saturating_sub(link.len() + 1)))
        }
        _ => ascii_line(&sms, MAX_SMS),
    }
}

/// One line of printable ASCII, at most `max` characters: typographic characters
/// are spelled out, others become `?`, line breaks and controls become spaces.
pub fn ascii_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c),
            '…' => out.push_str("..."),
            '–' | '—' | '−' => out.push('-'),
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            '→' => out.push_str("->"),
            '≤' => out.push_str("<="),
            '≥' => out.push_str(">="),
            '·' | '•' => out.push('-'),
            c if c.is_control() || c.is_whitespace() => out.push(' '),
            _ => out.push('?'),
        }
    }
    let out = out.trim().to_string();
    if out.len() <= max {
        return out;
    }
    let mut cut: String = out.chars().take(max.saturating_sub(3)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: &str) -> SnsNotifier {
        SnsNotifier {
            client,
            topic_arn: topic_arn.to_string(),
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        let message = sns_message(alert);
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(message.message)
            .subject(message.subject);
        for (name, value) in message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| NotifyError(format!("alert {}: attribute {name}: {e}", alert.id)))?;
            publish = publish.message_attributes(name, value);
        }
        publish
            .send()
            .await
            .map_err(|e| NotifyError(format!("alert {}: {}", alert.id, describe("SNS Publish", &e))))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertKind, Severity};

    fn alert(headline: &str, link: Option<&str>) -> Alert {
        Alert {
            id: "HSPROD-7".into(),
            mirror: "HSPROD".into(),
            kind: AlertKind::PromotionRequested,
            severity: Severity::Critical,
            at: chrono::DateTime::parse_from_rfc3339("2026-11-25T03:04:00Z")
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_default(),
            request: Some("HSPROD-r1".into()),
            headline: headline.into(),
            facts: vec!["Primary lost since 03:00 UTC".into()],
            next_step: "Approve or reject".into(),
            link: link.map(str::to_string),
        }
    }

    #[test]
    fn one_publication_carries_default_email_and_sms_texts() {
        let a = alert(
            "HSPROD: promote HSPROD-DR1 to primary?",
            Some("http://127.0.0.1:8080/a/abc"),
        );
        let m = sns_message(&a);
        let body: serde_json::Value = serde_json::from_str(&m.message).expect("json");
        assert_eq!(body["default"], a.email());
        assert_eq!(body["email"], a.email());
        assert_eq!(body["sms"], a.sms());
        assert_eq!(m.subject, a.subject());
        assert_eq!(m.attributes["severity"], "critical");
        assert_eq!(m.attributes["mirror"], "HSPROD");
        assert_eq!(m.attributes["kind"], "promotion_requested");
    }

    #[test]
    fn subject_and_sms_stay_within_their_limits_as_plain_ascii() {
        let a = alert(
            &format!("HSPROD – primary lost → {}", "é…".repeat(200)),
            Some(&"h".repeat(200)),
        );
        let m = sns_message(&a);
        assert!(
            m.subject.len() <= 100 && m.subject.is_ascii() && !m.subject.contains('\n'),
            "{}",
            m.subject
        );
        assert!(
            m.subject.starts_with("[CRITICAL] HSPROD - primary lost -> ?..."),
            "{}",
            m.subject
        );
        let body: serde_json::Value = serde_json::from_str(&m.message).expect("json");
        let sms = body["sms"].as_str().unwrap_or_default();
        assert!(sms.len() <= 160 && sms.is_ascii(), "{} chars: {sms}", sms.len());
        assert!(
            body["email"].as_str().unwrap_or_default().contains(&"h".repeat(200)),
            "the email keeps the whole link"
        );
    }

    #[test]
    fn an_sms_cut_to_fit_keeps_its_whole_link() {
        let link = format!(
            "https://q7x2mzl4bw3kfh6tpa5nc8rvdy0jeus1.lambda-url.us-west-2.on.aws/a/{}",
            "x".repeat(22)
        );
        let a = alert(
            "HSPROD primary lost 03:05 UTC. Promote HSPROD-DR1? Loss ~1.8 s",
            Some(&link),
        );
        assert!(a.sms().contains('…'), "the headline is cut to make room: {}", a.sms());
        let body: serde_json::Value = serde_json::from_str(&sns_message(&a).message).expect("json");
        let sms = body["sms"].as_str().unwrap_or_default();
        assert!(sms.len() <= MAX_SMS && sms.is_ascii(), "{} chars: {sms}", sms.len());
        assert!(sms.ends_with(&format!(" {link}")), "{sms}");
        assert!(sms.starts_with("CRITICAL HSPROD primary lost"), "{sms}");
    }

    #[test]
    fn ascii_line_folds_breaks_and_cuts_with_an_ellipsis() {
        assert_eq!(ascii_line("a\nb\tc", 100), "a b c");
        assert_eq!(ascii_line("abcdefghij", 8), "abcde...");
        assert_eq!(ascii_line("12:00 … ok", 100), "12:00 ... ok");
    }
}
