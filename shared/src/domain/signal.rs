//! Signals: what the decision core is told. Decoders turn AWS payloads into these,
//! already resolved against the topology (mirror and member names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::topology::Observer;

/// One thing that happened to one mirror.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub mirror: String,
    /// A delivery identity (EventBridge event id, SNS message id, alarm ARN and
    /// state timestamp) used to fold duplicate deliveries. `None` when the payload has none.
    pub id: Option<String>,
    /// When it happened, by the payload's own clock.
    pub at: DateTime<Utc>,
    pub kind: SignalKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignalKind {
    /// One observer's view of one member. For `route53`, healthy means the member's
    /// `mirror_status.cxw` answered 200 SUCCESS: reachable and primary. For `instance`,
    /// healthy means the instance runs and its alarms are OK.
    Observation {
        member: String,
        observer: Observer,
        healthy: bool,
        /// Where it came from, for people: alarm name, EC2 state, checker agreement.
        source: String,
    },
    /// A member reports its mirror status (a role change or a heartbeat).
    Status {
        member: String,
        status: MemberStatus,
        /// True for a periodic heartbeat, false for a role change.
        heartbeat: bool,
        journal_latency: Option<JournalLatency>,
    },
    /// An async member's journal latency behind the primary.
    JournalLatency { member: String, latency: JournalLatency },
    /// Time passed: confirmation windows, expiry, reminders, stale heartbeats.
    Tick,
    /// A person decided on a promotion request.
    Decision(Decision),
    /// The promotion executor claims an approved request before running its actions,
    /// so that the actions run once however often the execution is triggered.
    PromotionStarted { request: String },
    /// The promotion adapter reports how carrying out an approved promotion went.
    PromotionOutcome { request: String, ok: bool, detail: String },
}

/// IRIS mirror member statuses (the words of the Mirror Monitor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberStatus {
    Primary,
    Backup,
    Connected,
    #[serde(rename = "In Trouble")]
    InTrouble,
    Transition,
    Synchronizing,
    Waiting,
    #[serde(rename = "Not Initialized")]
    NotInitialized,
    /// The member says it is shutting down or has stopped mirroring.
    Down,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 9] = [
        MemberStatus::Primary,
        MemberStatus::Backup,
        MemberStatus::Connected,
        MemberStatus::InTrouble,
        MemberStatus::Transition,
        MemberStatus::Synchronizing,
        MemberStatus::Waiting,
        MemberStatus::NotInitialized,
        MemberStatus::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Primary => "Primary",
            MemberStatus::Backup => "Backup",
            MemberStatus::Connected => "Connected",
            MemberStatus::InTrouble => "In Trouble",
            MemberStatus::Transition => "Transition",
            MemberStatus::Synchronizing => "Synchronizing",
            MemberStatus::Waiting => "Waiting",
            MemberStatus::NotInitialized => "Not Initialized",
            MemberStatus::Down => "Down",
        }
    }

    /// Parses the IRIS wording, ignoring case, spaces and underscores.
    pub fn parse(text: &str) -> Option<MemberStatus> {
        let key: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        MemberStatus::ALL
            .into_iter()
            .find(|s| s.as_str().replace(' ', "").to_lowercase() == key)
    }

    /// Whether the member can serve (or keep up with) the mirror in this status.
    pub fn is_working(self) -> bool {
        matches!(
            self,
            MemberStatus::Primary | MemberStatus::Backup | MemberStatus::Connected
        )
    }
}

/// How far an async member is behind the primary: what a promotion may lose.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JournalLatency {
    pub seconds: f64,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub files: Option<u32>,
    /// When the member measured it.
    pub measured_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    Approve,
    Reject,
}

/// How the decider proved their authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Authority {
    /// The approval link: the SHA-256 of its token, hex. The token itself never enters state.
    Link { token_hash: String },
    /// The operator's own tool on the control plane (`mirrorgate replay`), trusted as a confirmed click.
    Operator,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The request decided on.
    pub request: String,
    pub action: DecisionAction,
    /// The operator's own name, as typed.
    pub by: String,
    /// The explicit acceptance of possible data loss.
    #[serde(default)]
    pub accept_loss: bool,
    pub authority: Authority,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// What the page showed the decider (the data-loss estimate etc.), for the audit record.
    #[serde(default)]
    pub shown: Option<String>,
}
