//! The state mirrorgate keeps for each mirror: one record, written with one
//! conditional write per change.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alert::Alert;
use super::loss::LossEstimate;
use super::mirror::Observer;
use super::signal::{JournalLatency, MemberStatus, RunStatus};

/// The phase of a mirror, as mirrorgate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A primary serves and its failover partner is healthy.
    Normal,
    /// The primary serves but its failover partner is down: no high availability.
    Degraded,
    /// IRIS moved the primary to the other failover member inside the region.
    FailedOver,
    /// No failover member serves as primary; waiting for the confirmation window.
    PrimaryLost,
    /// A promotion request waits for a human decision.
    PromotionPending,
    /// An approved promotion is being carried out.
    Promoting,
    /// A DR async member is the primary.
    DrActive,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Normal => "normal",
            Phase::Degraded => "degraded",
            Phase::FailedOver => "failed_over",
            Phase::PrimaryLost => "primary_lost",
            Phase::PromotionPending => "promotion_pending",
            Phase::Promoting => "promoting",
            Phase::DrActive => "dr_active",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The latest word of one observer about one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub healthy: bool,
    /// Since when the observer has said so (the change).
    pub at: DateTime<Utc>,
    pub source: String,
    /// When the observer last said so again (a poll, an alarm's state read again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The CloudWatch alarm that said it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_arn: Option<String>,
    /// The observer could not reach the member at all (since `at`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
}

impl Observation {
    /// The last time the observer said this: its age is measured from here.
    pub fn last(&self) -> DateTime<Utc> {
        self.confirmed_at.map_or(self.at, |c| c.max(self.at))
    }
}

/// What mirrorgate knows of one member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemberState {
    /// Latest observation per observer (route53, instance); newer replaces older.
    #[serde(default)]
    pub observations: BTreeMap<Observer, Observation>,
    /// The status the member last reported, and when.
    #[serde(default)]
    pub status: Option<(MemberStatus, DateTime<Utc>)>,
    /// Why, when the member said (always for `Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// An async member: when it last reported Connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected: Option<DateTime<Utc>>,
    /// An async member: when it first reported anything but Connected after that,
    /// i.e. when it was first seen without its link to the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_lost_at: Option<DateTime<Utc>>,
    /// The last time a word said this member was not primary (its status, a failing
    /// check or probe): a partner seen so in an epoch may take over as IRIS fails over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_primary_at: Option<DateTime<Utc>>,
    /// Since when the member has been answering as primary without a break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claiming_since: Option<DateTime<Utc>>,
    /// When the member was last heard from (heartbeat or role event).
    #[serde(default)]
    pub last_heard: Option<DateTime<Utc>>,
    #[serde(default)]
    pub journal_latency: Option<JournalLatency>,
    /// A former failover member fenced after a DR promotion (one way until failback):
    /// its evidence no longer raises fencing requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fenced: Option<Fenced>,
    /// The last Run Command of one of mirrorgate's documents on this member's instance
    /// (the promote script on a DR member, the fence script on a failover member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_command: Option<CommandRecord>,
    /// What SSM last said of this member's agent (DR members; `health-poll` asks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_agent: Option<AgentWord>,
}

/// How and when a member was fenced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fenced {
    /// When the fencing command was accepted for it.
    pub at: DateTime<Utc>,
    /// The fencing request that fenced it.
    pub request: String,
    /// The epoch of the DR primary it was fenced for.
    pub epoch: u64,
    /// What was done, in words (the document, the method, the command id).
    pub detail: String,
}

/// What a request asks people to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Promote a DR async member to primary.
    #[default]
    Promotion,
    /// Fence the former failover members after a DR promotion, when their region
    /// is heard from again.
    Fencing,
    /// A DR drill: the whole approval path rehearsed, nothing promoted. Approving it
    /// runs the drill document (`promotion.drill_document`), or nothing; it never
    /// changes the mirror's phase or epoch and gives way to any real request.
    Drill,
    /// A planned switchover to a DR member: promoted with partner (no loss) while the
    /// primary region still runs; the former failover members are fenced once the DR
    /// member reports primary. Never alerted as a promotion outside mirrorgate.
    Switchover,
    /// The way back after a switchover or a DR promotion: un-fence the fenced members
    /// and promote the chosen failover member back with partner.
    Failback,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Promotion => "promotion",
            RequestKind::Fencing => "fencing",
            RequestKind::Drill => "drill",
            RequestKind::Switchover => "switchover",
            RequestKind::Failback => "failback",
        }
    }
}

/// A member's SSM agent as SSM said it, and since when it has said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentWord {
    pub online: bool,
    pub detail: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for a decision.
    Open,
    /// Approved and being carried out.
    Approved,
    /// The promoted member reported primary.
    Succeeded,
    /// A promotion action failed.
    Failed,
    /// The promoted member did not report primary in time.
    TimedOut,
    Rejected,
    Expired,
    /// Withdrawn because the primary came back (or the state moved on).
    Superseded,
    /// An approval was refused at decision time and the request closed.
    Refused,
}

impl RequestStatus {
    /// Whether this request's promotion was approved to run (whatever came of it).
    pub fn was_executed(self) -> bool {
        matches!(
            self,
            RequestStatus::Approved | RequestStatus::Succeeded | RequestStatus::Failed | RequestStatus::TimedOut
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Approved => "approved",
            RequestStatus::Succeeded => "succeeded",
            RequestStatus::Failed => "failed",
            RequestStatus::TimedOut => "timed_out",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Expired => "expired",
            RequestStatus::Superseded => "superseded",
            RequestStatus::Refused => "refused",
        }
    }
}

/// An approval link's token, kept only as its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkToken {
    pub hash: String,
    pub issued_at: DateTime<Utc>,
    #[serde(default)]
    pub used_at: Option<DateTime<Utc>>,
}

/// One approval (or rejection), with what the audit needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub action: super::signal::DecisionAction,
    pub by: String,
    pub at: DateTime<Utc>,
    pub accept_loss: bool,
    pub via: String,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub shown: Option<String>,
}

/// A request awaiting people: to promote a DR async member, or (kind `fencing`) to
/// fence the former failover members when their region returns after a DR promotion.
/// Both go through the same gate: links, approvers, expiry, reminders and audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionRequest {
    pub id: String,
    /// What is asked: a promotion (also when absent, as in requests recorded before
    /// fencing requests existed) or a fencing.
    #[serde(default)]
    pub kind: RequestKind,
    /// The epoch this request belongs to: it can only execute in that epoch.
    pub epoch: u64,
    /// The member to promote; for a fencing request, the DR primary that stays primary
    /// (never fenced).
    pub candidate: String,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// What failed and since when, as shown to people.
    pub lost_primary: Option<String>,
    pub lost_since: DateTime<Utc>,
    /// The observers that agreed the primary was lost.
    pub observers: Vec<Observer>,
    /// The candidate's journal latency when the request was raised.
    pub candidate_latency: Option<JournalLatency>,
    /// What a promotion of the candidate may lose, as estimated when the request was raised.
    #[serde(default)]
    pub loss: Option<LossEstimate>,
    /// Every observer that agreed lives outside the primary region: a network
    /// partition between the regions looks the same from here.
    #[serde(default)]
    pub dr_side_only: bool,
    #[serde(default)]
    pub tokens: Vec<LinkToken>,
    #[serde(default)]
    pub decisions: Vec<DecisionRecord>,
    #[serde(default)]
    pub last_reminder_at: Option<DateTime<Utc>>,
    /// When the promotion executor claimed the execution: it runs once, by whoever claims first.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// How many times the execution was claimed: more than once only when an executor
    /// stopped (its time ran out) before it recorded how the actions went, and the
    /// next one resumed, checking first what the first had already done.
    #[serde(default)]
    pub claims: u32,
    /// When the promotion actions were recorded done.
    #[serde(default)]
    pub actions_done_at: Option<DateTime<Utc>>,
    /// The promote command, as its status events last told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRecord>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was closed, in words for people.
    #[serde(default)]
    pub outcome: Option<String>,
    /// A promotion: every approval ticked "I accept the data loss", so the promotion may
    /// run without partner (IRIS `PromoteWithNoPartner`) when no failover member's
    /// ISCAgent answers; otherwise it must promote with partner or not at all. The value
    /// for the promote document's `AllowNoPartner` parameter.
    #[serde(default)]
    pub accepted_without_partner: bool,
    /// A fencing request: the former failover members to fence (those with an instance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fence_members: Vec<String>,
    /// A fencing request: the evidence that the former primary region lives, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<String>,
    /// When a link of this request was first opened (drills keep it for their report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    /// A drill: who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

impl PromotionRequest {
    /// What the promotion may lose, as estimated when the request was raised
    /// (a request recorded before estimates were kept: from the candidate's latency).
    pub fn loss_estimate(&self) -> LossEstimate {
        self.loss
            .clone()
            .unwrap_or_else(|| LossEstimate::of(self.candidate_latency.as_ref(), None, None, self.lost_since))
    }

    pub fn approvers(&self) -> Vec<&str> {
        self.decisions
            .iter()
            .filter(|d| d.action == super::signal::DecisionAction::Approve)
            .map(|d| d.by.as_str())
            .collect()
    }
}

/// A Run Command of one of mirrorgate's documents, as its last status event told it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command_id: String,
    pub document: String,
    pub status: RunStatus,
    /// When that status was reported.
    pub at: DateTime<Utc>,
    /// The command's comment (names its request and epoch), when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl CommandRecord {
    /// In words, for the status page: "promote script succeeded at 03:10:05 UTC".
    pub fn describe(&self) -> String {
        let at = self.at.format("%Y-%m-%d %H:%M:%S UTC");
        match self.status {
            RunStatus::Success => format!(
                "script {} succeeded at {at} (command {})",
                self.document, self.command_id
            ),
            s if s.is_failure() => format!(
                "script {} ended {} at {at} (command {})",
                self.document,
                s.as_str(),
                self.command_id
            ),
            s => format!(
                "script {} {} since {at} (command {})",
                self.document,
                s.as_str(),
                self.command_id
            ),
        }
    }
}

/// One line of the mirror's recent history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub epoch: u64,
    pub what: String,
    /// The version of the state whose write added this line: a store that keeps
    /// history items of its own (DynamoDB) writes the lines of the version it saves.
    #[serde(default)]
    pub version: u64,
}

/// An alert decided but not yet confirmed delivered. Links are never kept here:
/// if an alert with a link must be sent again, a fresh link is issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub alert: Alert,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
}

/// Everything mirrorgate keeps about one mirror.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorState {
    pub mirror: String,
    /// Incremented on every write; the store's conditional writes compare it.
    pub version: u64,
    /// Incremented every time a new member becomes primary.
    pub epoch: u64,
    #[serde(default)]
    pub epoch_started_at: Option<DateTime<Utc>>,
    pub phase: Phase,
    pub phase_since: DateTime<Utc>,
    /// The member mirrorgate believes is (or last was) primary.
    #[serde(default)]
    pub primary: Option<String>,
    /// The last time the primary was seen answering as primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_seen_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub members: BTreeMap<String, MemberState>,
    /// Since when enough observers agree that no failover member serves as primary.
    #[serde(default)]
    pub lost_since: Option<DateTime<Utc>>,
    /// Until when repeated alerts about the primary and new requests are held back.
    #[serde(default)]
    pub cool_down_until: Option<DateTime<Utc>>,
    /// No new promotion request before this time (after a rejection, expiry or failure).
    #[serde(default)]
    pub next_request_after: Option<DateTime<Utc>>,
    /// Transitions whose alerts the cool-down held back.
    #[serde(default)]
    pub folded_alerts: u32,
    /// When "no DR candidate" was last said, so it is said once per loss.
    #[serde(default)]
    pub no_candidate_alerted: bool,
    #[serde(default)]
    pub split_brain_alerted_epoch: Option<u64>,
    /// The epoch in which the former primary region's return was alerted without a
    /// fencing request (no fencing document, or no member with an instance): said once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_alerted_epoch: Option<u64>,
    /// No new fencing request before this time (after a rejection, expiry or failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_fencing_after: Option<DateTime<Utc>>,
    /// When it was last said that the best DR candidate's SSM agent is not Online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_warned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub request_seq: u64,
    #[serde(default)]
    pub requests: Vec<PromotionRequest>,
    #[serde(default)]
    pub alert_seq: u64,
    #[serde(default)]
    pub outbox: Vec<OutboxEntry>,
    #[serde(default)]
    pub history: VecDeque<HistoryEntry>,
    /// Recently seen delivery ids: duplicates are folded in the same read.
    #[serde(default)]
    pub seen: VecDeque<String>,
    /// The mirror's maintenance windows, oldest first (at most
    /// `maintenance::MAX_WINDOWS`): the one on now, and the audit of the past ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<super::maintenance::MaintenanceWindow>,
}

pub const MAX_HISTORY: usize = 100;
pub const MAX_SEEN: usize = 128;
pub const MAX_REQUESTS: usize = 20;

impl MirrorState {
    pub fn new(mirror: &str, now: DateTime<Utc>) -> MirrorState {
        MirrorState {
            mirror: mirror.to_string(),
            version: 0,
            epoch: 0,
            epoch_started_at: None,
            phase: Phase::Normal,
            phase_since: now,
            primary: None,
            primary_seen_at: None,
            members: BTreeMap::new(),
            lost_since: None,
            cool_down_until: None,
            next_request_after: None,
            folded_alerts: 0,
            no_candidate_alerted: false,
            split_brain_alerted_epoch: None,
            return_alerted_epoch: None,
            next_fencing_after: None,
            agent_warned_at: None,
            request_seq: 0,
            requests: Vec::new(),
            alert_seq: 0,
            outbox: Vec::new(),
            history: VecDeque::new(),
            seen: VecDeque::new(),
            maintenance: Vec::new(),
        }
    }

    /// The promotion request still waiting for a decision, if any.
    pub fn open_request(&self) -> Option<&PromotionRequest> {
        self.requests
            .iter()
            .rev()
            .find(|r| r.status == RequestStatus::Open && r.kind == RequestKind::Promotion)
    }

    /// The fencing request still waiting for a decision, if any.
    pub fn open_fencing(&self) -> Option<&PromotionRequest> {
        self.requests
            .iter()
            .rev()
            .find(|r| r.status == RequestStatus::Open && r.kind == RequestKind::Fencing)
    }

    /// The drill still waiting for a decision or being run, if any.
    pub fn active_drill(&self) -> Option<&PromotionRequest> {
        self.requests
            .iter()
            .rev()
            .find(|r| r.kind == RequestKind::Drill && matches!(r.status, RequestStatus::Open | RequestStatus::Approved))
    }

    /// The switchover waiting for a decision or being carried out, if any.
    pub fn active_switchover(&self) -> Option<&PromotionRequest> {
        self.active(RequestKind::Switchover)
    }

    /// The failback waiting for a decision or being carried out, if any.
    pub fn active_failback(&self) -> Option<&PromotionRequest> {
        self.active(RequestKind::Failback)
    }

    fn active(&self, kind: RequestKind) -> Option<&PromotionRequest> {
        self.requests
            .iter()
            .rev()
            .find(|r| r.kind == kind && matches!(r.status, RequestStatus::Open | RequestStatus::Approved))
    }

    /// The members fenced after a DR promotion, by name.
    pub fn fenced(&self) -> impl Iterator<Item = (&str, &Fenced)> {
        self.members
            .iter()
            .filter_map(|(name, m)| m.fenced.as_ref().map(|f| (name.as_str(), f)))
    }

    pub fn request(&self, id: &str) -> Option<&PromotionRequest> {
        self.requests.iter().find(|r| r.id == id)
    }

    pub fn request_mut(&mut self, id: &str) -> Option<&mut PromotionRequest> {
        self.requests.iter_mut().find(|r| r.id == id)
    }

    /// The newest request, whatever its status.
    pub fn latest_request(&self) -> Option<&PromotionRequest> {
        self.requests.last()
    }

    /// Finds the request a link token belongs to.
    pub fn request_by_token(&self, token_hash: &str) -> Option<&PromotionRequest> {
        self.requests
            .iter()
            .find(|r| r.tokens.iter().any(|t| crate::token::hashes_equal(&t.hash, token_hash)))
    }

    /// Adds a line to the history; it belongs to the next write (version + 1).
    pub fn record(&mut self, at: DateTime<Utc>, what: impl Into<String>) {
        self.history.push_back(HistoryEntry {
            at,
            epoch: self.epoch,
            what: what.into(),
            version: self.version + 1,
        });
        while self.history.len() > MAX_HISTORY {
            self.history.pop_front();
        }
    }

    /// The history lines the write of this state's version added.
    pub fn new_history(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.history.iter().filter(|entry| entry.version == self.version)
    }

    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|s| s == id)
    }

    pub fn remember(&mut self, id: &str) {
        self.seen.push_back(id.to_string());
        while self.seen.len() > MAX_SEEN {
            self.seen.pop_front();
        }
    }
}
