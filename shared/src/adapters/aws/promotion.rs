//! Promotion actions on AWS: the site's promote script by SSM Run Command on the
//! candidate's instance, and EventBridge events for the site's own automation.
//!
//! Order: `PromotionApproved` (nothing run yet), then the check that the candidate's
//! SSM agent is Online, then `SendCommand`, then `PromotionExecuted` with the command
//! id. The Run Command part ([`RunCommand`], [`AwsPromotionActions::run_once`]) serves
//! any of mirrorgate's documents: the promote document here, the fence document too. Every call is retried by the SDK's
//! standard mode (backoff with full jitter on throttling, 5xx and transport errors);
//! entries that PutEvents refuses for throttling or an internal failure (a 200
//! answer, which the SDK does not retry) are retried here the same way. Whatever
//! still fails is returned as `ActionError` naming what was and was not done: the
//! core records it and alerts `promotion_failed`. Nothing is dropped silently.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_ssm::types::{CloudWatchOutputConfig, InstanceInformationStringFilter, PingStatus};
use serde::Serialize;

use super::{describe, LazyClient, DEFAULT_MAX_ATTEMPTS};
use crate::adapters::embedded::fence_parameters;
use crate::domain::{Member, Mirror};
use crate::ports::{ActionError, FenceOrder, PromotionActions, PromotionOrder, RunCommandOutput};
use crate::topology::{drill_parameters, promote_parameters, CommandTimeouts};

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

/// One Run Command of one of mirrorgate's documents on one member's instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommand {
    pub document: String,
    /// The member's region: SSM manages an instance in its own region only (a
    /// failback's candidate is in the former primary region).
    pub region: String,
    /// The member's name, for messages.
    pub member: String,
    pub instance_id: String,
    pub parameters: BTreeMap<String, Vec<String>>,
    /// Names the request and epoch ([`command_comment`]): how a resumed run finds a
    /// command sent before, and how a status event is matched to its request.
    pub comment: String,
    /// `SendCommand`'s `TimeoutSeconds`: how long SSM tries to deliver it.
    pub delivery_timeout_secs: u64,
}

/// How a Run Command went at the instance, as far as sending it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub command_id: String,
    /// An earlier executor had sent it (found by its comment): not sent again.
    pub earlier: bool,
}

/// What `DescribeInstanceInformation` says of an instance's SSM agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    Online,
    /// `ConnectionLost` or `Inactive`, with when the agent was last heard from.
    NotOnline {
        ping: String,
        last_ping: Option<String>,
    },
    /// Not a managed instance: no SSM agent ever registered it (or it was deregistered).
    Unknown,
}

impl AgentState {
    /// Why a command would not run there, or `None` when it would.
    pub fn why_not(&self, member: &str, instance_id: &str) -> Option<String> {
        match self {
            AgentState::Online => None,
            AgentState::NotOnline { ping, last_ping } => Some(format!(
                "the SSM agent of {member} ({instance_id}) is {ping}{}, not Online: a command sent now would not run (start the agent, or act on the member by hand)",
                last_ping.as_deref().map(|t| format!(" (last heard {t})")).unwrap_or_default()
            )),
            AgentState::Unknown => Some(format!(
                "{member} ({instance_id}) is not a managed instance of SSM in this region (no SSM agent registered it): a command sent now would not run (install and start the agent, or act on the member by hand)"
            )),
        }
    }
}

/// What `GetCommandInvocation` says of one command on one instance.
pub use crate::ports::Invocation;

/// How much of a script's output is kept for the alert.
pub const OUTPUT_LINES_READ: usize = 20;
pub const OUTPUT_CHARS_READ: usize = 2000;

/// The first lines of a script's output: standard output, then standard error.
pub fn first_lines(stdout: &str, stderr: &str) -> String {
    let mut text: String = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.trim().is_empty())
        .take(OUTPUT_LINES_READ)
        .collect::<Vec<_>>()
        .join("\n");
    if let Some((cut, _)) = text.char_indices().nth(OUTPUT_CHARS_READ) {
        text.truncate(cut);
    }
    text
}

/// Reads one command's comment and first lines of output.
pub async fn read_invocation(
    ssm: &aws_sdk_ssm::Client,
    command_id: &str,
    instance_id: &str,
) -> Result<Invocation, String> {
    let out = ssm
        .get_command_invocation()
        .command_id(command_id)
        .instance_id(instance_id)
        .send()
        .await
        .map_err(|e| describe(&format!("SSM GetCommandInvocation {command_id} on {instance_id}"), &e))?;
    Ok(Invocation {
        comment: out.comment().map(str::to_string),
        output: first_lines(
            out.standard_output_content().unwrap_or(""),
            out.standard_error_content().unwrap_or(""),
        ),
    })
}

/// Reads Run Command output through SSM ([`read_invocation`]); the client is built
/// by the first read.
pub struct SsmCommandOutput {
    ssm: LazyClient<aws_sdk_ssm::Client>,
}

impl SsmCommandOutput {
    pub fn new(ssm: impl Into<LazyClient<aws_sdk_ssm::Client>>) -> SsmCommandOutput {
        SsmCommandOutput { ssm: ssm.into() }
    }
}

impl RunCommandOutput for SsmCommandOutput {
    async fn read(&self, command_id: &str, instance_id: &str) -> Result<Invocation, String> {
        read_invocation(self.ssm.get(), command_id, instance_id).await
    }
}

/// The promote command for an approved order, with its parameters and timeouts.
pub fn promote_command(
    document: &str,
    mirror: &Mirror,
    candidate: &Member,
    instance_id: &str,
    order: &PromotionOrder,
) -> RunCommand {
    RunCommand {
        document: document.to_string(),
        region: candidate.region.clone(),
        member: candidate.name.clone(),
        instance_id: instance_id.to_string(),
        parameters: promote_parameters(
            mirror,
            candidate,
            &order.request,
            order.allow_no_partner,
            order.purpose(),
        ),
        comment: command_comment(order),
        delivery_timeout_secs: CommandTimeouts::of(&mirror.policy).delivery_secs,
    }
}

/// Whether the promotion actions announce an approved promotion (`PromotionApproved`
/// on the mirror's bus) before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalAnnouncement {
    /// Announce the approval, then run the promotion (the default).
    Announce,
    /// Do not: the event that handed the promotion to the executor already announced
    /// it, and the site's automation must see it once.
    AlreadyAnnounced,
}

pub struct AwsPromotionActions {
    ssm: LazyClient<aws_sdk_ssm::Client>,
    events: LazyClient<aws_sdk_eventbridge::Client>,
    attempts: u32,
    announcement: ApprovalAnnouncement,
    output_log_group: Option<String>,
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
            announcement: ApprovalAnnouncement::Announce,
            output_log_group: None,
        }
    }

    /// Where SSM writes the scripts' output (`CloudWatchOutputConfig`); `None`: the
    /// output stays in SSM only (GetCommandInvocation still reads its first 24,000
    /// characters).
    pub fn with_output_log_group(mut self, log_group: Option<&str>) -> AwsPromotionActions {
        self.output_log_group = log_group.map(str::to_string);
        self
    }

    /// Whether `execute` first publishes `PromotionApproved` (default:
    /// [`ApprovalAnnouncement::Announce`]). [`ApprovalAnnouncement::AlreadyAnnounced`]
    /// where the event that handed the promotion to the executor announced it, so the
    /// site's automation sees it once.
    pub fn announcing_approval(mut self, announcement: ApprovalAnnouncement) -> AwsPromotionActions {
        self.announcement = announcement;
        self
    }

    /// The state of the SSM agents of `instance_ids`, in one `DescribeInstanceInformation`
    /// call (an `InstanceIds` filter; at most 50 ids, more than any mirror has).
    pub async fn agent_states(&self, instance_ids: &[String]) -> Result<BTreeMap<String, AgentState>, String> {
        self.agent_states_with(self.ssm.get(), instance_ids).await
    }

    async fn agent_states_with(
        &self,
        ssm: &aws_sdk_ssm::Client,
        instance_ids: &[String],
    ) -> Result<BTreeMap<String, AgentState>, String> {
        let what = format!("SSM DescribeInstanceInformation of {}", instance_ids.join(", "));
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .set_values(Some(instance_ids.to_vec()))
            .build()
            .map_err(|e| format!("{what}: {e}"))?;
        let mut states: BTreeMap<String, AgentState> = instance_ids
            .iter()
            .map(|id| (id.clone(), AgentState::Unknown))
            .collect();
        let mut pages = ssm
            .describe_instance_information()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| describe(&what, &e))?;
            for info in page.instance_information_list() {
                let Some(id) = info.instance_id() else { continue };
                let state = match info.ping_status() {
                    Some(PingStatus::Online) => AgentState::Online,
                    other => AgentState::NotOnline {
                        ping: other.map_or("of unknown status".to_string(), |p| p.as_str().to_string()),
                        last_ping: info.last_ping_date_time().map(|t| t.to_string()),
                    },
                };
                states.insert(id.to_string(), state);
            }
        }
        Ok(states)
    }

    /// Sends the command; returns its id.
    pub async fn send(&self, command: &RunCommand) -> Result<String, String> {
        let ssm = self.ssm_in(&command.region);
        let what = format!("SSM SendCommand {} on {}", command.document, command.instance_id);
        let output = self.output_log_group.as_ref().map(|group| {
            CloudWatchOutputConfig::builder()
                .cloud_watch_log_group_name(group)
                .cloud_watch_output_enabled(true)
                .build()
        });
        let out = ssm
            .send_command()
            .document_name(&command.document)
            .instance_ids(&command.instance_id)
            .set_parameters(Some(command.parameters.clone().into_iter().collect()))
            .comment(&command.comment)
            .timeout_seconds(i32::try_from(command.delivery_timeout_secs).unwrap_or(i32::MAX))
            .set_cloud_watch_output_config(output)
            .send()
            .await
            .map_err(|e| describe(&what, &e))?;
        out.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| format!("{what}: the answer has no command id"))
    }

    /// The command an earlier executor already sent, if any: found by its comment,
    /// which names the request and the epoch, among the instance's commands of that
    /// document.
    pub async fn sent_before(&self, command: &RunCommand) -> Result<Option<String>, String> {
        self.command_with_comment(
            &self.ssm_in(&command.region),
            &command.document,
            &command.instance_id,
            &command.comment,
        )
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

    /// Runs the command once: a resumed run first looks for the command an earlier one
    /// sent (and never sends it twice); otherwise it checks that the instance's SSM
    /// agent is Online and sends it. Every failure says what was not done.
    pub async fn run_once(&self, command: &RunCommand, resume: bool) -> Result<Sent, String> {
        if resume {
            let before = self.sent_before(command).await.map_err(|e| {
                format!(
                    "{e}; cannot tell whether {} was already sent to {}, so it was not sent again: check the instance's Run Command history",
                    command.document, command.member
                )
            })?;
            if let Some(command_id) = before {
                return Ok(Sent {
                    command_id,
                    earlier: true,
                });
            }
        }
        let states = self
            .agent_states_with(
                &self.ssm_in(&command.region),
                std::slice::from_ref(&command.instance_id),
            )
            .await
            .map_err(|e| {
                format!(
                    "{e}; cannot tell whether the SSM agent of {} is Online, so {} was not sent",
                    command.member, command.document
                )
            })?;
        let state = states.get(&command.instance_id).cloned().unwrap_or(AgentState::Unknown);
        if let Some(why) = state.why_not(&command.member, &command.instance_id) {
            return Err(format!("{why}; {} was not sent", command.document));
        }
        let command_id = self.send(command).await?;
        Ok(Sent {
            command_id,
            earlier: false,
        })
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
        if let Some(bus) = bus.filter(|_| self.announcement == ApprovalAnnouncement::Announce) {
            self.put_event(bus, PROMOTION_APPROVED, &event)
                .await
                .map_err(|e| ActionError(format!("{e}; nothing was run")))?;
            done.push(format!("event {PROMOTION_APPROVED} on bus {bus}"));
        }
        if let (Some(document), Some(instance_id)) = (document, instance_id) {
            let command = promote_command(document, mirror, candidate, instance_id, order);
            let sent = self.run_once(&command, order.resume).await.map_err(|e| {
                let before = if done.is_empty() {
                    String::new()
                } else {
                    format!(" (done: {})", done.join(", "))
                };
                ActionError(format!(
                    "{e}; the promote script was not started{before}: promote {} by hand",
                    candidate.name
                ))
            })?;
            if sent.earlier {
                done.push(format!(
                    "(an earlier executor had sent command {}; not sent again)",
                    sent.command_id
                ));
            }
            done.insert(
                0,
                format!(
                    "SSM document {document} on {instance_id} ({}): command {}",
                    candidate.name, sent.command_id
                ),
            );
            event.command_id = Some(sent.command_id);
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
        if candidate.iris_instance.is_none() {
            return Err(ActionError(format!(
                "{} has no iris_instance in the topology: the drill document needs the IRIS instance name; nothing was run",
                candidate.name
            )));
        }
        let parameters: FenceParameters = drill_parameters(mirror, candidate, &order.request)
            .into_iter()
            .map(|(k, v)| (k, v.join(",")))
            .collect();
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
            allow_no_partner: false,
            failback: false,
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
    fn the_comment_names_what_a_status_event_is_matched_by() {
        let order = PromotionOrder {
            resume: false,
            allow_no_partner: false,
            failback: false,
            mirror: "HSPROD".into(),
            request: "HSPROD-R7".into(),
            candidate: "HSPROD-DR1".into(),
            epoch: 12,
        };
        let report = crate::domain::CommandReport {
            member: "HSPROD-DR1".into(),
            command_id: "c".into(),
            document: "d".into(),
            status: crate::domain::RunStatus::Failed,
            requested_at: None,
            comment: Some(command_comment(&order)),
            output: None,
            unread: None,
        };
        assert_eq!(report.request_and_epoch(), Some(("HSPROD-R7".to_string(), 12)));
    }

    #[test]
    fn an_agent_that_is_not_online_says_why_a_command_would_not_run() {
        assert_eq!(AgentState::Online.why_not("HSPROD-DR1", "i-0ddddddddddddddd4"), None);
        let lost = AgentState::NotOnline {
            ping: "ConnectionLost".into(),
            last_ping: Some("2025-03-14T03:01:00Z".into()),
        };
        assert_eq!(
            lost.why_not("HSPROD-DR1", "i-0ddddddddddddddd4").as_deref(),
            Some("the SSM agent of HSPROD-DR1 (i-0ddddddddddddddd4) is ConnectionLost (last heard 2025-03-14T03:01:00Z), not Online: a command sent now would not run (start the agent, or act on the member by hand)")
        );
        assert!(AgentState::Unknown
            .why_not("HSPROD-DR1", "i-0ddddddddddddddd4")
            .is_some_and(|w| w.contains("not a managed instance")));
    }

    #[test]
    fn the_first_lines_of_output_are_bounded() {
        assert_eq!(
            first_lines("PROMOTE FAILED (R1): x\n\nnothing was changed\n", "warn\n"),
            "PROMOTE FAILED (R1): x\nnothing was changed\nwarn"
        );
        let many = "line\n".repeat(100);
        assert_eq!(first_lines(&many, "").lines().count(), OUTPUT_LINES_READ);
        let long = "é".repeat(5000);
        assert_eq!(first_lines(&long, "").chars().count(), OUTPUT_CHARS_READ);
    }

    #[test]
    fn throttling_and_internal_failures_are_retried_others_are_not() {
        assert!(retryable_entry_error("ThrottlingException"));
        assert!(retryable_entry_error("InternalFailure"));
        assert!(!retryable_entry_error("AccessDeniedException"));
        assert!(!retryable_entry_error("MalformedDetail"));
    }
}
