//! Signals: what the decision core is told. Decoders turn AWS payloads into these,
//! already resolved against the topology (mirror and member names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::mirror::Observer;

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
    /// For `probe`, healthy means `mirror_status.cxw` answered 200 SUCCESS to the
    /// control plane's own region.
    Observation {
        member: String,
        observer: Observer,
        healthy: bool,
        /// Where it came from, for people: alarm name, EC2 state, checker agreement.
        source: String,
        /// When the observed state began, if the observer says (an alarm's state
        /// timestamp, when its state is read again): `at` is when it was observed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<DateTime<Utc>>,
        /// The ARN of the CloudWatch alarm that said it, so that `health-poll` can read
        /// its state again (`DescribeAlarms` in the alarm's region).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alarm_arn: Option<String>,
        /// The observer could not reach the member at all (no answer, refused), as
        /// opposed to an answer that says "not primary".
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unreachable: bool,
    },
    /// A member reports its mirror status (a role change or a heartbeat).
    Status {
        member: String,
        status: MemberStatus,
        /// True for a periodic heartbeat, false for a role change.
        heartbeat: bool,
        journal_latency: Option<JournalLatency>,
        /// Why the status is what it is, when the sender says (always for `Unknown`:
        /// why IRIS could not be asked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
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
    /// The promotion adapter reports how carrying out an approved request went (a
    /// promotion, or a fencing).
    PromotionOutcome {
        request: String,
        ok: bool,
        detail: String,
        /// A fencing request: the members whose fencing command was accepted (all of
        /// them when `ok`; when not, those fenced before one failed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fenced: Vec<String>,
    },
    /// An operator starts a maintenance window on the mirror: it ends by itself
    /// `duration_secs` after the signal's time (see `domain::maintenance`).
    MaintenanceStart {
        duration_secs: u64,
        reason: String,
        /// Who starts it.
        by: String,
    },
    /// An operator starts a DR drill: a drill request through the approval gate that
    /// promotes nothing (see `domain::drill`).
    Drill {
        /// Who starts it.
        by: String,
    },
    /// An operator asks for a planned switchover to a DR member (see decide/switchover.rs).
    Switchover {
        /// The DR async member to make primary.
        to: String,
        /// Who asks.
        by: String,
    },
    /// An operator asks to fail back to a failover member (see decide/failback.rs).
    Failback {
        /// The failover member to make primary again.
        to: String,
        /// Who asks.
        by: String,
    },
    /// An approval link was opened (the page shown, nothing decided): kept for the
    /// drill report.
    LinkOpened { request: String },
    /// An operator ends the mirror's maintenance window early.
    MaintenanceEnd {
        /// Who ends it.
        by: String,
    },
    /// A Run Command of one of mirrorgate's SSM documents changed status on a
    /// member's instance (EventBridge `EC2 Command Invocation Status-change
    /// Notification`, with what `GetCommandInvocation` added).
    CommandStatus(CommandReport),
    /// `health-poll` asked SSM about the DR members' agents (`DescribeInstanceInformation`).
    SsmAgents { agents: Vec<AgentReport> },
}

/// What SSM says of one member's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    pub member: String,
    /// `Online`: a command sent now would run there.
    pub online: bool,
    /// SSM's words when not Online (`ConnectionLost`, not a managed instance, ...).
    pub detail: String,
}

/// A status of one Run Command invocation (one command on one instance), as SSM
/// says it in its status-change events and `GetCommandInvocation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    Pending,
    InProgress,
    Delayed,
    Success,
    Cancelling,
    Cancelled,
    Failed,
    TimedOut,
    DeliveryTimedOut,
    ExecutionTimedOut,
    Undeliverable,
    Terminated,
    InvalidPlatform,
    AccessDenied,
}

impl RunStatus {
    pub const ALL: [RunStatus; 14] = [
        RunStatus::Pending,
        RunStatus::InProgress,
        RunStatus::Delayed,
        RunStatus::Success,
        RunStatus::Cancelling,
        RunStatus::Cancelled,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::DeliveryTimedOut,
        RunStatus::ExecutionTimedOut,
        RunStatus::Undeliverable,
        RunStatus::Terminated,
        RunStatus::InvalidPlatform,
        RunStatus::AccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "Pending",
            RunStatus::InProgress => "InProgress",
            RunStatus::Delayed => "Delayed",
            RunStatus::Success => "Success",
            RunStatus::Cancelling => "Cancelling",
            RunStatus::Cancelled => "Cancelled",
            RunStatus::Failed => "Failed",
            RunStatus::TimedOut => "TimedOut",
            RunStatus::DeliveryTimedOut => "DeliveryTimedOut",
            RunStatus::ExecutionTimedOut => "ExecutionTimedOut",
            RunStatus::Undeliverable => "Undeliverable",
            RunStatus::Terminated => "Terminated",
            RunStatus::InvalidPlatform => "InvalidPlatform",
            RunStatus::AccessDenied => "AccessDenied",
        }
    }

    /// Parses SSM's word (the API's spelling, or the console's with spaces).
    pub fn parse(text: &str) -> Option<RunStatus> {
        let key: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        RunStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(&key))
    }

    /// The command ended without doing its work: it failed, timed out, was
    /// cancelled, or never reached the instance.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            RunStatus::Pending
                | RunStatus::InProgress
                | RunStatus::Delayed
                | RunStatus::Cancelling
                | RunStatus::Success
        )
    }
}

/// What a Run Command status event says, resolved against the topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandReport {
    /// The member whose instance ran it.
    pub member: String,
    pub command_id: String,
    pub document: String,
    pub status: RunStatus,
    /// When the command was sent (`requested-date-time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
    /// The command's comment, read back with `GetCommandInvocation`: mirrorgate's
    /// commands name their request and epoch there ([`CommandReport::request_and_epoch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The first lines of the script's output (standard output, then standard error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why the output (and comment) could not be read, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

impl CommandReport {
    /// The request and epoch a mirrorgate command's comment names
    /// (`mirrorgate <mirror> request <id> epoch <n>: ...`), if it does.
    pub fn request_and_epoch(&self) -> Option<(String, u64)> {
        let comment = self.comment.as_deref()?;
        let rest = comment.strip_prefix("mirrorgate ")?;
        let (_, rest) = rest.split_once(" request ")?;
        let (request, rest) = rest.split_once(" epoch ")?;
        let epoch: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((request.to_string(), epoch.parse().ok()?))
    }
}

/// IRIS mirror member statuses (the words of the Mirror Monitor, InterSystems'
/// "Mirror Member Journal Transfer and Dejournaling Status"), and `Unknown`: the
/// host's agent could not ask IRIS. docs/events.md says what each proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberStatus {
    /// Failover member: the current primary.
    Primary,
    /// Failover member: connected to a primary as backup (so a primary exists).
    Backup,
    /// Async member: connected to a primary (so a primary exists and this member reaches it).
    Connected,
    /// Failover member: still the primary, in trouble because it lost its backup.
    #[serde(rename = "In Trouble")]
    InTrouble,
    /// About to change; with no operating primary, a failover member becoming primary.
    Transition,
    /// Starting up or reconnecting, catching up on journal files.
    Synchronizing,
    /// Cannot complete an action such as becoming Primary, Backup or Connected.
    Waiting,
    #[serde(rename = "Not Initialized")]
    NotInitialized,
    /// Not mirroring: stopped, crashed, in error, or shut down.
    Stopped,
    Crashed,
    Error,
    Down,
    /// The agent could not ask IRIS (no binary, login refused, time-out): nothing is known.
    Unknown,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 13] = [
        MemberStatus::Primary,
        MemberStatus::Backup,
        MemberStatus::Connected,
        MemberStatus::InTrouble,
        MemberStatus::Transition,
        MemberStatus::Synchronizing,
        MemberStatus::Waiting,
        MemberStatus::NotInitialized,
        MemberStatus::Stopped,
        MemberStatus::Crashed,
        MemberStatus::Error,
        MemberStatus::Down,
        MemberStatus::Unknown,
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
            MemberStatus::Stopped => "Stopped",
            MemberStatus::Crashed => "Crashed",
            MemberStatus::Error => "Error",
            MemberStatus::Down => "Down",
            MemberStatus::Unknown => "Unknown",
        }
    }

    /// Parses the IRIS wording, ignoring case, spaces and underscores. A reporting
    /// async in several mirrors shows `m/n Connected` (connected to m of its n
    /// mirrors): `Connected` when m = n, otherwise `Unknown`, since it does not say
    /// to which mirrors (the second value says why).
    pub fn parse(text: &str) -> Option<(MemberStatus, Option<String>)> {
        let text = text.trim();
        if let Some((counts, rest)) = text.split_once(' ') {
            if let Some((m, n)) = counts.split_once('/') {
                let (Ok(m), Ok(n)) = (m.parse::<u32>(), n.parse::<u32>()) else {
                    return None;
                };
                if MemberStatus::parse(rest)?.0 != MemberStatus::Connected || m > n || n == 0 {
                    return None;
                }
                return Some(if m == n {
                    (MemberStatus::Connected, None)
                } else {
                    (
                        MemberStatus::Unknown,
                        Some(format!(
                            "{m}/{n} Connected: connected to {m} of its {n} mirrors, not said which"
                        )),
                    )
                });
            }
        }
        let key: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        MemberStatus::ALL
            .into_iter()
            .find(|s| s.as_str().replace(' ', "").to_lowercase() == key)
            .map(|s| (s, None))
    }

    /// Whether this status says the member is the primary (`In Trouble` is a
    /// primary that lost its backup).
    pub fn is_primary(self) -> bool {
        matches!(self, MemberStatus::Primary | MemberStatus::InTrouble)
    }

    /// Whether this status proves that a primary exists: the member is one, or is
    /// connected to one as backup or async.
    pub fn proves_a_primary(self) -> bool {
        matches!(
            self,
            MemberStatus::Primary | MemberStatus::InTrouble | MemberStatus::Backup | MemberStatus::Connected
        )
    }

    /// Whether the member says it is not mirroring.
    pub fn is_down(self) -> bool {
        matches!(
            self,
            MemberStatus::Stopped
                | MemberStatus::Crashed
                | MemberStatus::Error
                | MemberStatus::Down
                | MemberStatus::NotInitialized
        )
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
    /// When the member last received journal data from the primary, if it says:
    /// after it lost its link, what it may lack grows with the time since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
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
    /// The operator's own tool on the control plane (`mirrorgate replay`, and
    /// `mirrorgate approve|reject` on the local backend), trusted as a confirmed click.
    Operator,
    /// `mirrorgate --backend aws approve|reject`: the caller's AWS identity, as
    /// `sts:GetCallerIdentity` answered it (the ARN), which is also the decider's name.
    AwsIdentity { arn: String },
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
