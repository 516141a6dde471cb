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

/// The SMS type SNS is asked for: transactional messages are delivered for reliability
/// (critical information), not optimised for cost.
pub const SMS_TYPE: &str = "Transactional";

/// Builds the publication of one alert (pure: the tests check it without AWS).
/// `sms_sender` is the topic's display name: SNS puts it, upper-cased, and `> `
/// before every SMS, and that counts in the 160 characters.
pub fn sns_message(alert: &Alert, sms_sender: Option<&str>) -> SnsMessage {
    let email = alert.email();
    let message = serde_json::json!({
        // SNS requires `default` whenever MessageStructure is json.
        "default": email,
        "email": email,
        // SMS is sent as plain GSM-7 text: one 160-character message, prefix included.
        "sms": sms_line(alert, sms_budget(sms_sender)),
    });
    let mut attributes = BTreeMap::new();
    attributes.insert("severity", alert.severity.as_str().to_string());
    attributes.insert("mirror", alert.mirror.clone());
    attributes.insert("kind", alert.kind.as_str().to_string());
    attributes.insert("AWS.SNS.SMS.SMSType", SMS_TYPE.to_string());
    SnsMessage {
        subject: ascii_line(&alert.subject(), MAX_SUBJECT),
        message: message.to_string(),
        attributes,
    }
}

/// What is left of the 160 characters once SNS has put the display name and `> `
/// before the message.
pub fn sms_budget(sms_sender: Option<&str>) -> usize {
    let prefix = sms_sender
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(0, |s| s.chars().count() + 2);
    MAX_SMS.saturating_sub(prefix)
}

/// The SMS text in GSM-7 characters, at most `budget` characters. Spelling characters
/// out can lengthen it (`…` becomes `...`): then the text before the link is cut,
/// never the link; a link that does not fit is left to the email.
fn sms_line(alert: &Alert, budget: usize) -> String {
    let sms = alert.sms();
    match alert.link.as_deref() {
        Some(link) if is_gsm_basic(link) && sms.ends_with(link) && link.len() + 12 <= budget => {
            let text = &sms[..sms.len() - link.len()];
            format!("{} {link}", gsm_line(text, budget.saturating_sub(link.len() + 1)))
        }
        Some(link) if sms.ends_with(link) => {
            let text = &sms[..sms.len() - link.len()];
            gsm_line(&format!("{}(link in email)", text), budget)
        }
        _ => gsm_line(&sms, budget),
    }
}

/// Whether every character is in the GSM 03.38 basic set as SNS sends it in one
/// 7-bit part (the ASCII letters, digits, space and `!"#$%&'()*+,-./:;<=>?@_`; the
/// extension characters `[]{}\^|~` cost two and backtick has no GSM form).
pub fn is_gsm_basic(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || " !\"#$%&'()*+,-./:;<=>?@_".contains(c))
}

/// One line of GSM-7 basic characters (a subset of ASCII), at most `max` characters:
/// typographic characters are spelled out, the characters GSM has only in its
/// extension table are replaced by their nearest basic ones, others become `?`.
pub fn gsm_line(text: &str, max: usize) -> String {
    let ascii = ascii_line(text, usize::MAX);
    let gsm: String = ascii
        .chars()
        .map(|c| match c {
            '[' | '{' => '(',
            ']' | '}' => ')',
            '\\' | '|' => '/',
            '^' | '`' => '\'',
            '~' => '-',
            c => c,
        })
        .collect();
    ascii_line(&gsm, max)
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
    /// The topic's display name, which SNS puts before every SMS.
    sms_sender: Option<String>,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: &str) -> SnsNotifier {
        SnsNotifier {
            client,
            sms_sender: None,
            topic_arn: topic_arn.to_string(),
        }
    }

    /// The topic's display name (the stack sets it, and `MIRRORGATE_SMS_SENDER` with
    /// it): every SMS is kept to 160 characters with it and `> ` in front.
    pub fn with_sms_sender(mut self, display_name: Option<&str>) -> SnsNotifier {
        self.sms_sender = display_name.map(str::to_string);
        self
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        let message = sns_message(alert, self.sms_sender.as_deref());
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
            notice: None,
        }
    }

    #[test]
    fn one_publication_carries_default_email_and_sms_texts() {
        let a = alert(
            "HSPROD: promote HSPROD-DR1 to primary?",
            Some("http://127.0.0.1:8080/a/abc"),
        );
        let m = sns_message(&a, None);
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
        let m = sns_message(&a, None);
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
        let body: serde_json::Value = serde_json::from_str(&sns_message(&a, None).message).expect("json");
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

    #[test]
    fn every_sms_with_the_display_name_fits_one_gsm_message() {
        let sender = "MIRRORGATE-PROD";
        let url = "https://7ehzyqdqmjwsbdgkbuq7ya3hkm0fblft.lambda-url.us-west-2.on.aws/a/Zm9vYmFyYmF6cXV4cXV1eA";
        let headlines = [
            "HSPROD primary lost 03:02 UTC. Promote HSPROD-DR1? Loss >=16 min",
            "HSPROD: promotion of HSPROD-DR1 rejected by José Müller-Łukasiewicz [on call] {team} ~ 100% | \\ ^ `x`",
            "Reminder: HSPROD primary lost 03:02 UTC. Promote HSPROD-DR1? Loss ~1.8 s … — “quoted” ≥ 3 → done, and then a very long tail that goes on and on",
        ];
        for headline in headlines {
            for link in [Some(url), None] {
                let a = alert(headline, link);
                let body: serde_json::Value =
                    serde_json::from_str(&sns_message(&a, Some(sender)).message).expect("json");
                let sms = body["sms"].as_str().expect("sms");
                let delivered = format!("{}> {sms}", sender.to_uppercase());
                assert!(
                    delivered.chars().count() <= MAX_SMS,
                    "{} chars: {delivered}",
                    delivered.chars().count()
                );
                assert!(is_gsm_basic(&delivered), "not GSM-7 basic: {delivered}");
                if let Some(link) = link {
                    assert!(sms.ends_with(link), "the link is whole: {sms}");
                }
            }
        }
        assert_eq!(sms_budget(Some(sender)), 160 - 17);
        assert_eq!(sms_budget(None), 160);
        assert_eq!(
            sns_message(&alert("x", None), None).attributes["AWS.SNS.SMS.SMSType"],
            "Transactional"
        );
    }
}
