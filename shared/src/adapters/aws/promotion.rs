//! Promotion actions on AWS: the site's promote script by SSM Run Command on the
//! candidate's instance, and EventBridge events for the site's own automation.
//!
//! Order: `PromotionApproved` (nothing run yet), then `SendCommand`, then
//! `PromotionExecuted` with the command id. Every call is retried by the SDK's
//! standard mode (backoff with full jitter on throttling, 5xx and transport errors);
//! entries that PutEvents refuses for throttling or an internal failure (a 200
//! answer, which the SDK does not retry) are retried here the same way. Whatever
//! still fails is returned as `ActionError` naming what was and was not done: the
//! core records it and alerts `promotion_failed`. Nothing is dropped silently.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;

use super::{describe, LazyClient, DEFAULT_MAX_ATTEMPTS};
use crate::adapters::embedded::fence_parameters;
use crate::ports::{ActionError, FenceOrder, PromotionActions, PromotionOrder};
use crate::topology::{Member, Mirror};

/// The `source` of mirrorgate's EventBridge events.
pub const EVENT_SOURCE: &str = "mirrorgate";
/// `detail-type` before anything is run.
pub const PROMOTION_APPROVED: &str = "PromotionApproved";
/// `detail-type` of the hand-off of an approved fencing request to the executor: its
/// `detail` is the order (`mirror`, `request`, `candidate`: the primary that stays,
/// `epoch`). Never `PromotionApproved`, which the site's automation reads as a promotion.
pub const FENCING_APPROVED: &str = "FencingApproved";
/// `detail-type` of the hand-off of an approved DR drill to the executor (the detail is
/// the order, as for a fencing): never `PromotionApproved`, since nothing is promoted.
pub const DRILL_APPROVED: &str = "DrillApproved";
/// `detail-type` once the SSM command was accepted.
pub const PROMOTION_EXECUTED: &str = "PromotionExecuted";

/// The `detail` of `PromotionApproved` and `PromotionExecuted` (docs/storage.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromotionEvent {
    pub mirror: String,
    pub request: String,
    pub candidate: String,
    pub instance_id: Option<String>,
    pub epoch: u64,
    pub ssm_document: Option<String>,
    /// The SSM command id (`PromotionExecuted` only).
    pub command_id: Option<String>,
}

impl PromotionEvent {
    pub fn new(mirror: &Mirror, candidate: &Member, order: &PromotionOrder) -> PromotionEvent {
        PromotionEvent {
            mirror: order.mirror.clone(),
            request: order.request.clone(),
            candidate: candidate.name.clone(),
            instance_id: candidate.instance_id.clone(),
            epoch: order.epoch,
            ssm_document: mirror.promotion.ssm_document.clone(),
            command_id: None,
        }
    }
}

/// The SSM command's comment (SSM allows 100 characters).
pub fn command_comment(order: &PromotionOrder) -> String {
    let text = format!(
        "mirrorgate {} request {} epoch {}: promote {}",
        order.mirror, order.request, order.epoch, order.candidate
    );
    text.chars().take(100).collect()
}

/// The fencing command's comment (SSM allows 100 characters): the request and the
/// epoch, so that a run sent again finds it.
pub fn fence_comment(order: &FenceOrder) -> String {
    let text = format!(
        "mirrorgate {} request {} epoch {}: {} {}",
        order.mirror,
        order.request,
        order.epoch,
        if order.unfence { "unfence" } else { "fence" },
        order.member
    );
    text.chars().take(100).collect()
}

type FenceParameters = std::collections::BTreeMap<String, String>;

/// A wait before retry `attempt` (1, 2, ...): full jitter, uniform in
/// `[0, min(cap, base × 2^(attempt-1))]`; `unit` is a random number in `[0, 1)`.
pub fn backoff(attempt: u32, unit: f64, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

fn retryable_entry_error(code: &str) -> bool {
    code.contains("Throttl") || code.contains("Internal") || code.contains("ServiceUnavailable")
}

pub struct AwsPromotionActions {
    ssm: LazyClient<aws_sdk_ssm::Client>,
    events: LazyClient<aws_sdk_eventbridge::Client>,
    attempts: u32,
    announce_approval: bool,
}

impl AwsPromotionActions {
    /// From the clients, built or [`LazyClient`]s built when a promotion first needs them.
    pub fn new(
        ssm: impl Into<LazyClient<aws_sdk_ssm::Client>>,
        events: impl Into<LazyClient<aws_sdk_eventbridge::Client>>,
    ) -> AwsPromotionActions {
        AwsPromotionActions {
            ssm: ssm.into(),
            events: events.into(),
            attempts: DEFAULT_MAX_ATTEMPTS,
            announce_approval: true,
        }
    }

    /// Whether `execute` first publishes `PromotionApproved` (default: yes). Off where
    /// the approval was already announced by the event that handed the promotion to
    /// the executor, so the site's automation sees it once.
    pub fn announcing_approval(mut self, announce: bool) -> AwsPromotionActions {
        self.announce_approval = announce;
        self
    }

    /// Sends `SendCommand` for the promotion; returns the command id.
    async fn send_command(
        &self,
        mirror: &Mirror,
        document: &str,
        instance_id: &str,
        order: &PromotionOrder,
    ) -> Result<String, String> {
        let out = self
            .ssm
            .send_command()
            .document_name(document)
            .instance_ids(instance_id)
            .set_parameters(Some(mirror.promotion.ssm_parameters.clone().into_iter().collect()))
            .comment(command_comment(order))
            .send()
            .await
            .map_err(|e| describe(&format!("SSM SendCommand {document} on {instance_id}"), &e))?;
        out.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| format!("SSM SendCommand {document} on {instance_id}: the answer has no command id"))
    }

    /// The command an earlier executor already sent for this promotion, if any: found
    /// by its comment, which names the request and the epoch, among the instance's
    /// commands of that document.
    async fn command_sent_before(
        &self,
        document: &str,
        instance_id: &str,
        order: &PromotionOrder,
    ) -> Result<Option<String>, String> {
        self.command_with_comment(self.ssm.get(), document, instance_id, &command_comment(order))
            .await
    }

    /// SSM in `region`: the instances of the former primary region are managed there,
    /// and the fencing document must exist there too. Same endpoint, credentials and
    /// retries as mirrorgate's own client.
    fn ssm_in(&self, region: &str) -> aws_sdk_ssm::Client {
        let own = self.ssm.get();
        if own.config().region().is_some_and(|r| r.as_ref() == region) {
            return own.clone();
        }
        let config = own
            .config()
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    /// The id of the instance's command of `document` whose comment is `comment`, if any.
    async fn command_with_comment(
        &self,
        ssm: &aws_sdk_ssm::Client,
        document: &str,
        instance_id: &str,
        comment: &str,
    ) -> Result<Option<String>, String> {
        let what = format!("SSM ListCommands {document} on {instance_id}");
        let mut pages = ssm
            .list_commands()
            .instance_id(instance_id)
            .filters(
                aws_sdk_ssm::types::CommandFilter::builder()
                    .key(aws_sdk_ssm::types::CommandFilterKey::DocumentName)
                    .value(document)
                    .build()
                    .map_err(|e| format!("{what}: {e}"))?,
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| describe(&what, &e))?;
            if let Some(id) = page
                .commands()
                .iter()
                .find(|c| c.comment() == Some(comment))
                .and_then(|c| c.command_id())
            {
                return Ok(Some(id.to_string()));
            }
        }
        Ok(None)
    }

    /// Sends the fencing document to one former failover member, unless a command of
    /// the same request and epoch was sent to it before (its comment says so): a
    /// resumed or repeated run never sends it twice. Returns the command id.
    async fn send_fence(
        &self,
        region: &str,
        document: &str,
        instance_id: &str,
        parameters: FenceParameters,
        comment: &str,
    ) -> Result<(String, bool), String> {
        let ssm = self.ssm_in(region);
        if let Some(id) = self.command_with_comment(&ssm, document, instance_id, comment).await? {
            return Ok((id, false));
        }
        let out = ssm
            .send_command()
            .document_name(document)
            .instance_ids(instance_id)
            .set_parameters(Some(parameters.into_iter().map(|(k, v)| (k, vec![v])).collect()))
            .comment(comment)
            .send()
            .await
            .map_err(|e| describe(&format!("SSM SendCommand {document} on {instance_id} in {region}"), &e))?;
        out.command()
            .and_then(|c| c.command_id())
            .map(|id| (id.to_string(), true))
            .ok_or_else(|| format!("SSM SendCommand {document} on {instance_id}: the answer has no command id"))
    }

    /// Publishes one event on `bus`, retrying refused entries that may succeed later.
    async fn put_event(&self, bus: &str, detail_type: &str, detail: &PromotionEvent) -> Result<(), String> {
        let detail_json =
            serde_json::to_string(detail).map_err(|e| format!("cannot encode the {detail_type} event: {e}"))?;
        let what = format!("EventBridge PutEvents {detail_type} on bus {bus}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let entry = PutEventsRequestEntry::builder()
                .source(EVENT_SOURCE)
                .detail_type(detail_type)
                .detail(&detail_json)
                .event_bus_name(bus)
                .build();
            let out = self
                .events
                .put_events()
                .entries(entry)
                .send()
                .await
                .map_err(|e| describe(&what, &e))?;
            if out.failed_entry_count() == 0 {
                return Ok(());
            }
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            let code = failed.and_then(|e| e.error_code()).unwrap_or("unknown").to_string();
            let message = failed.and_then(|e| e.error_message()).unwrap_or("").to_string();
            if attempt >= self.attempts || !retryable_entry_error(&code) {
                return Err(format!("{what}: refused after {attempt} attempt(s): {code} {message}"));
            }
            let wait = backoff(
                attempt,
                random_unit(),
                Duration::from_millis(100),
                Duration::from_secs(5),
            );
            tracing::warn!(bus, detail_type, code = %code, attempt, wait_ms = wait.as_millis() as u64, "event refused; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

impl PromotionActions for AwsPromotionActions {
    async fn execute(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> Result<String, ActionError> {
        let bus = mirror.promotion.event_bus.as_deref();
        let document = mirror.promotion.ssm_document.as_deref();
        if bus.is_none() && document.is_none() {
            return Err(ActionError(format!(
                "no promotion action is configured for {} (promotion.ssm_document, promotion.event_bus): promote {} by hand",
                mirror.name, candidate.name
            )));
        }
        let instance_id = match (document, candidate.instance_id.as_deref()) {
            (Some(_), None) => {
                return Err(ActionError(format!(
                    "{} has no instance_id in the topology, so the SSM document cannot run on it; nothing was run: promote it by hand",
                    candidate.name
                )))
            }
            (_, id) => id,
        };
        let mut event = PromotionEvent::new(mirror, candidate, order);
        let mut done = Vec::new();
        if let Some(bus) = bus.filter(|_| self.announce_approval) {
            self.put_event(bus, PROMOTION_APPROVED, &event)
                .await
                .map_err(|e| ActionError(format!("{e}; nothing was run")))?;
            done.push(format!("event {PROMOTION_APPROVED} on bus {bus}"));
        }
        if let (Some(document), Some(instance_id)) = (document, instance_id) {
            // An executor that stopped after sending may have sent it: never twice.
            let before = match order.resume {
                true => self
                    .command_sent_before(document, instance_id, order)
                    .await
                    .map_err(|e| ActionError(format!("{e}; cannot tell whether the promote script was already started, so it was not started again: check the instance's Run Command history")))?,
                false => None,
            };
            let sent = match before {
                Some(id) => {
                    done.push(format!("(an earlier executor had sent command {id}; not sent again)"));
                    Ok(id)
                }
                None => self.send_command(mirror, document, instance_id, order).await,
            };
            let command_id = sent.map_err(|e| {
                let before = if done.is_empty() {
                    String::new()
                } else {
                    format!(" (done: {})", done.join(", "))
                };
                ActionError(format!("{e}; the promote script was not started{before}"))
            })?;
            done.insert(
                0,
                format!(
                    "SSM document {document} on {instance_id} ({}): command {command_id}",
                    candidate.name
                ),
            );
            event.command_id = Some(command_id);
        }
        if let Some(bus) = bus {
            self.put_event(bus, PROMOTION_EXECUTED, &event)
                .await
                .map_err(|e| ActionError(format!("{e}; but already done: {}", done.join(", "))))?;
            done.push(format!("event {PROMOTION_EXECUTED}"));
        }
        Ok(done.join("; "))
    }

    async fn fence(&self, mirror: &Mirror, member: &Member, order: &FenceOrder) -> Result<String, ActionError> {
        let (Some(document), Some(instance_id)) = (&mirror.promotion.fence_document, &member.instance_id) else {
            return Err(ActionError(format!(
                "{}: no fencing document (promotion.fence_document) or no instance_id in the topology; nothing was sent: fence it by hand",
                member.name
            )));
        };
        let parameters = fence_parameters(mirror, member, order)?;
        let (command_id, new) = self
            .send_fence(&member.region, document, instance_id, parameters, &fence_comment(order))
            .await
            .map_err(|e| ActionError(format!("{e}; {} was not fenced", member.name)))?;
        Ok(if new {
            format!(
                "SSM document {document} on {instance_id} ({}), Method={}: command {command_id}",
                member.name,
                order.method_word()
            )
        } else {
            format!(
                "(command {command_id} of {document} had been sent to {instance_id} ({}) before; not sent again)",
                member.name
            )
        })
    }

    /// The drill document on the candidate's instance (in its region), with the
    /// parameters `MirrorName` and `Request`; found by its comment when resumed.
    async fn drill(&self, mirror: &Mirror, candidate: &Member, order: &PromotionOrder) -> Result<String, ActionError> {
        let (Some(document), Some(instance_id)) = (&mirror.promotion.drill_document, &candidate.instance_id) else {
            return Err(ActionError(format!(
                "{}: no drill document (promotion.drill_document) or no instance_id in the topology; nothing was run",
                candidate.name
            )));
        };
        let parameters = FenceParameters::from([
            ("MirrorName".to_string(), mirror.name.clone()),
            ("Request".to_string(), order.request.clone()),
        ]);
        let comment: String = format!(
            "mirrorgate {} request {} epoch {}: DRILL on {}",
            order.mirror, order.request, order.epoch, order.candidate
        )
        .chars()
        .take(100)
        .collect();
        let (command_id, new) = self
            .send_fence(&candidate.region, document, instance_id, parameters, &comment)
            .await
            .map_err(ActionError)?;
        Ok(if new {
            format!(
                "drill document {document} on {instance_id} ({}): command {command_id}; nothing promoted",
                candidate.name
            )
        } else {
            format!("(command {command_id} of {document} had been sent to {instance_id} before; not sent again)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_full_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        assert_eq!(backoff(1, 0.999_999, base, cap).as_millis(), 99);
        assert_eq!(backoff(3, 1.0, base, cap), Duration::from_millis(400));
        assert_eq!(backoff(3, 0.0, base, cap), Duration::ZERO);
        assert_eq!(backoff(30, 1.0, base, cap), cap);
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit));
        }
    }

    #[test]
    fn the_comment_names_the_request_within_100_characters() {
        let order = PromotionOrder {
            resume: false,
            mirror: "HSPROD".into(),
            request: "HSPROD-r1".into(),
            candidate: "HSPROD-DR1".into(),
            epoch: 3,
        };
        assert_eq!(
            command_comment(&order),
            "mirrorgate HSPROD request HSPROD-r1 epoch 3: promote HSPROD-DR1"
        );
        let long = PromotionOrder {
            mirror: "M".repeat(120),
            ..order
        };
        assert_eq!(command_comment(&long).chars().count(), 100);
    }

    #[test]
    fn throttling_and_internal_failures_are_retried_others_are_not() {
        assert!(retryable_entry_error("ThrottlingException"));
        assert!(retryable_entry_error("InternalFailure"));
        assert!(!retryable_entry_error("AccessDeniedException"));
        assert!(!retryable_entry_error("MalformedDetail"));
    }
}
