//! Ports: what the engine needs from the world. Each has an embedded adapter
//! (local mode, tests) and an AWS one.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::state::HistoryEntry;
use crate::domain::{Alert, MirrorState, RequestKind};
use crate::domain::{Member, Mirror};
use crate::topology::Topology;

/// A store failure that is not a conflict: the caller may retry later.
#[derive(Debug, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);

/// Why a conditional write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Someone else wrote first; `current` is what is stored now (None: nothing is).
    #[error("conflict: the mirror's state changed since it was read")]
    Conflict { current: Option<Box<MirrorState>> },
    /// The write's delivery was already applied by an earlier write: nothing to do.
    #[error("duplicate: this delivery was already applied")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a store remembers the deliveries it applied (`save`'s `delivery`): longer
/// than any retry of the event sources (EventBridge retries for up to 24 hours,
/// Lambda's asynchronous retries for up to 6).
pub const DEDUPE_WINDOW_HOURS: i64 = 48;

/// Where a store takes the time that dates the deliveries it remembers (and forgets
/// them by): the wall clock, except in a replay, whose embedded store follows the
/// scenario's simulated time so that its [`DEDUPE_WINDOW_HOURS`] pass as the
/// scenario's hours do.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time: every store's clock but a replay's.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How long a store that keeps history lines of its own (DynamoDB) keeps them.
pub const HISTORY_RETENTION_DAYS: i64 = 400;

/// The mirror state store.
///
/// Contract (the store contract tests check every implementation):
/// - `load` MUST return the latest successfully saved state (strongly consistent).
/// - `save(state, expected, delivery)` MUST write only if the stored version equals
///   `expected` (0: nothing stored yet), and MUST then store `state` whose version
///   is `expected + 1`. Otherwise it MUST NOT write and MUST return
///   `SaveError::Conflict` with the state stored now, so the loser needs no second read.
/// - `delivery` is the id of the delivery the write applies (None for periodic
///   signals and writes of the engine's own). If an earlier write of the same mirror
///   carried the same id within [`DEDUPE_WINDOW_HOURS`], `save` MUST NOT write and
///   MUST return `SaveError::Duplicate` (whatever `expected` is): the state's own list
///   of seen ids is bounded by count, this is bounded by time. The check and the
///   write are one atomic step. "Within the window" is measured on the store's
///   clock: the embedded stores' [`Clock`] (the wall clock, or a replay's simulated
///   time); DynamoDB's is always the wall clock (its items are dated by it, and its
///   TTL removes them by AWS's).
/// - A saved state MUST survive the process (and, for the embedded store, a restart).
pub trait Store: Send + Sync {
    fn load(&self, mirror: &str) -> impl Future<Output = Result<Option<MirrorState>, StoreError>> + Send;
    fn save(
        &self,
        state: &MirrorState,
        expected: u64,
        delivery: Option<&str>,
    ) -> impl Future<Output = Result<(), SaveError>> + Send;
    /// The names of the mirrors that have a stored state.
    fn mirrors(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Every history line of `mirror` the store keeps from `since` on, oldest first. A
    /// store that keeps no lines of its own has the state's newest ones
    /// ([`crate::domain::state::MAX_HISTORY`]); DynamoDB keeps each line for
    /// [`HISTORY_RETENTION_DAYS`].
    fn history(
        &self,
        mirror: &str,
        since: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send {
        async move {
            Ok(self
                .load(mirror)
                .await?
                .map(|state| {
                    state
                        .history
                        .into_iter()
                        .filter(|h| since.is_none_or(|since| h.at >= since))
                        .collect()
                })
                .unwrap_or_default())
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("alert not delivered: {0}")]
pub struct NotifyError(pub String);

/// Where alerts go (SNS in AWS; stdout and an outbox file locally).
pub trait Notifier: Send + Sync {
    /// MUST deliver the alert, link included, or fail; never drop it silently.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("promotion action failed: {0}")]
pub struct ActionError(pub String);

/// What an approved promotion is handed to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromotionOrder {
    pub mirror: String,
    pub request: String,
    pub candidate: String,
    pub epoch: u64,
    /// An executor claimed this promotion before and stopped without recording how
    /// its actions went: check what it already did before doing anything again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
    /// The approver accepted the data loss, and so a promotion without a failover
    /// partner. Taken from the stored approval when the executor claims the request,
    /// never from the event that handed the order over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_no_partner: bool,
    /// A failback: the candidate is a former failover member that was just un-fenced;
    /// the promote document waits until it is a DR async connected to the DR primary
    /// and makes it that primary's failover partner (`Purpose=failback`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failback: bool,
}

impl PromotionOrder {
    /// The promote document's `Purpose`.
    pub fn purpose(&self) -> crate::topology::PromotePurpose {
        if self.failback {
            crate::topology::PromotePurpose::Failback
        } else {
            crate::topology::PromotePurpose::Disaster
        }
    }
}

/// What an approved fencing request hands to the actions, for one member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FenceOrder {
    pub mirror: String,
    /// The fencing request.
    pub request: String,
    /// The epoch of the DR primary the member is fenced for.
    pub epoch: u64,
    /// The former failover member to fence (never the current primary).
    pub member: String,
    /// `demote` or `stop` (the mirror's `promotion.fence_method`).
    pub method: crate::domain::FenceMethod,
    /// An executor claimed this request before and stopped without recording how its
    /// actions went: check what it already sent before sending again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
    /// A failback: un-fence the member (the fencing document with `Method=unfence`)
    /// instead of fencing it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unfence: bool,
}

impl FenceOrder {
    /// The fencing document's `Method`: `unfence` for a failback, else the mirror's method.
    pub fn method_word(&self) -> &'static str {
        if self.unfence {
            "unfence"
        } else {
            self.method.as_str()
        }
    }
}

/// Carries out an approved promotion or fencing (SSM Run Command and an EventBridge
/// event in AWS; recorded to a file locally).
pub trait PromotionActions: Send + Sync {
    /// Runs the configured actions; returns what was done, in words.
    fn execute(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> impl Future<Output = Result<String, ActionError>> + Send;

    /// Runs the mirror's fencing document (`promotion.fence_document`) on one former
    /// failover member; returns what was done, in words. MUST NOT send it twice for
    /// the same request and member (a resumed run finds what was sent).
    fn fence(
        &self,
        mirror: &Mirror,
        member: &Member,
        order: &FenceOrder,
    ) -> impl Future<Output = Result<String, ActionError>> + Send;

    /// Runs the mirror's drill document (`promotion.drill_document`) on the drill's
    /// candidate for an approved DR drill: never the promote document, nothing
    /// promoted. Returns what was done, in words. MUST NOT send it twice for the same
    /// request (a resumed run finds what was sent).
    fn drill(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> impl Future<Output = Result<String, ActionError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandOffError(pub String);

/// Hands approved orders to the promotion executor (an EventBridge event in AWS),
/// from every function but the executor: a promotion never runs inside the function
/// that saw the approval.
pub trait HandOff: Send + Sync {
    /// MUST hand `order` over, or fail (the caller retries: the next scheduled tick
    /// hands an unstarted promotion over again). The kind of request decides the
    /// event: a fencing or a drill is never handed over as a promotion.
    fn hand_off(
        &self,
        topology: &Topology,
        kind: RequestKind,
        order: &PromotionOrder,
    ) -> impl Future<Output = Result<(), HandOffError>> + Send;
}

/// What a Run Command printed on one instance: the command's comment and the first
/// lines of its output, for the alert that says how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub comment: Option<String>,
    /// The first lines of standard output, then of standard error (on AWS at most
    /// `OUTPUT_LINES_READ` lines and `OUTPUT_CHARS_READ` characters).
    pub output: String,
}

/// Reads what a Run Command printed (SSM `GetCommandInvocation` in AWS).
pub trait RunCommandOutput: Send + Sync {
    /// The comment and first lines of output of `command_id` on `instance_id`, or why
    /// they could not be read, in words (the alert says it).
    fn read(&self, command_id: &str, instance_id: &str) -> impl Future<Output = Result<Invocation, String>> + Send;
}
