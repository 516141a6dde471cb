//! Notices: what the rules tell people, as typed facts (who, which member, which
//! epoch, which request, when, how much may be lost). A rule pushes a notice; its
//! kind and severity follow from it here, and its words (headline, facts, next step)
//! are written in one place, [`super::wording`]. Tests of a rule assert on a notice's
//! fields; tests of the words are unit tests of the wording.

use chrono::{DateTime, Utc};

use super::alert::{AlertKind, Severity};
use super::loss::LossEstimate;
use super::maintenance::MaintenanceWindow;
use super::mirror::Observer;
use super::signal::{CommandReport, MemberStatus};
use super::state::Phase;

/// One thing the rules tell people.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    // ---- the primary and high availability ----------------------------------
    /// IRIS failed over inside the primary region.
    FailedOver {
        old: String,
        new: String,
        since: DateTime<Utc>,
        epoch: u64,
    },
    /// A failover member is primary again after a DR member was.
    FailedBack {
        old: String,
        new: String,
        epoch: u64,
    },
    /// A DR member became primary without mirrorgate promoting it.
    DrPrimary {
        member: String,
        previous: String,
        epoch: u64,
    },
    /// A DR member became primary by hand while a promotion request waited: the
    /// request is withdrawn.
    DrPrimaryWithdrawing {
        member: String,
        previous: String,
        request: String,
    },
    PrimaryBack {
        primary: String,
    },
    Degraded {
        primary: String,
        down: String,
    },
    HaRestored {
        primary: String,
    },
    /// No member answers as primary; the loss is being confirmed.
    PrimaryLost {
        /// The last known primary, if any.
        lost: Option<String>,
        at: DateTime<Utc>,
        observers: Vec<Observer>,
        /// Every agreeing observer is on the DR side (a partition looks the same).
        dr_side_only: bool,
        /// The lost primary is a promoted DR member: no failover partner can take over.
        dr_primary: bool,
        /// When the loss is confirmed, if it lasts.
        confirm_at: DateTime<Utc>,
    },
    NoCandidate {
        lost_since: DateTime<Utc>,
    },
    /// Two members answer as primary beyond the grace.
    SplitBrain {
        epoch: u64,
        primary: Option<String>,
        claims: Vec<PrimaryClaim>,
        /// The members to fence: the claimants that are not mirrorgate's primary.
        stale: Vec<String>,
    },

    // ---- promotion requests -------------------------------------------------
    /// A DR promotion asks for a decision.
    PromotionRequested(PromotionAsk),
    /// A request still open, told again (a promotion or a fencing request).
    Reminder(Box<Notice>),
    /// An approval recorded while more are required; `of` is the request's own notice.
    MoreApprovals {
        approvals: usize,
        required: usize,
        approved_by: Vec<String>,
        of: Box<Notice>,
    },
    RequestWithdrawnPrimaryBack {
        request: String,
        primary: String,
    },
    /// A member reports it is connected to a primary: one exists.
    RequestWithdrawnWitness {
        request: String,
        who: String,
        evidence: String,
    },
    RequestExpired {
        request: String,
        candidate: String,
        again: DateTime<Utc>,
    },
    PromotionRejected {
        request: String,
        candidate: String,
        by: String,
        again: DateTime<Utc>,
    },
    /// The candidate was unhealthy when the approval came.
    PromotionRefused {
        request: String,
        candidate: String,
        by: String,
    },
    PromotionApproved {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        loss: LossEstimate,
        accept_loss: bool,
    },
    /// The former primary answers while its replacement is being promoted.
    SplitBrainDuringPromotion {
        request: String,
        member: String,
        candidate: String,
    },
    PromotionSucceeded {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        epoch: u64,
    },
    PromotionTimedOut {
        request: String,
        candidate: String,
        approved_at: DateTime<Utc>,
    },
    /// The promotion's actions reported a failure.
    PromotionFailed {
        request: String,
        candidate: String,
        detail: String,
    },
    /// The promote script ended in failure (its Run Command status).
    PromoteScriptFailed {
        request: String,
        candidate: String,
        /// The Run Command's report: document, member, status, output.
        report: CommandReport,
    },
    SsmAgentOffline {
        member: String,
        detail: String,
        since: DateTime<Utc>,
    },

    // ---- maintenance ----------------------------------------------------------
    MaintenanceStarted {
        /// The window as started: reason, who, from when until when.
        window: MaintenanceWindow,
        duration_secs: u64,
        phase: Phase,
        /// A promotion request raised before the window, still open.
        waiting: Option<String>,
    },
    MaintenanceEnded {
        /// The window as ended: who ended it early (`ended_by`), or its time ran out.
        window: MaintenanceWindow,
        phase: Phase,
        at: DateTime<Utc>,
        /// Since when no member answers as primary, if none does.
        lost_since: Option<DateTime<Utc>>,
    },
    DrMemberLost {
        member: String,
        down: DownEvidence,
    },

    // ---- fencing ----------------------------------------------------------------
    /// The former primary region is back and mirrorgate cannot fence it.
    FormerRegionBack {
        primary: String,
        epoch: u64,
        evidence: String,
        unfenced: Vec<String>,
        claiming: Vec<String>,
    },
    /// Fencing the former primary region asks for a decision.
    FencingRequested(FencingAsk),
    FencingWithdrawn {
        request: String,
        primary: String,
    },
    FencingExpired {
        request: String,
        members: Vec<String>,
        primary: String,
        again: DateTime<Utc>,
    },
    FencingRejected {
        request: String,
        members: Vec<String>,
        by: String,
        again: DateTime<Utc>,
    },
    FencingApproved {
        request: String,
        members: Vec<String>,
        approvers: Vec<String>,
        primary: String,
    },
    FencingSent {
        request: String,
        members: Vec<String>,
        detail: String,
        primary: String,
    },
    FencingFailed {
        request: String,
        missing: Vec<String>,
        done: Vec<String>,
        detail: String,
    },

    // ---- drills -------------------------------------------------------------------
    DrillRequested {
        request: String,
        candidate: String,
        primary: Option<String>,
        started_by: Option<String>,
        loss: LossEstimate,
        expires_at: DateTime<Utc>,
    },
    DrillClosed {
        request: String,
        end: DrillEnd,
    },

    // ---- switchover and failback ----------------------------------------------------
    SwitchoverRequested {
        request: String,
        primary: Option<String>,
        candidate: String,
        started_by: Option<String>,
        /// The failover members heard alive, in words.
        partners_alive: Vec<String>,
        loss: LossEstimate,
        expires_at: DateTime<Utc>,
    },
    SwitchoverApproved {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        accept_loss: bool,
    },
    SwitchoverClosed {
        request: String,
        candidate: String,
        /// The primary now.
        primary: Option<String>,
        end: PlannedEnd,
    },
    SwitchoverDone {
        request: String,
        member: String,
        old: String,
        epoch: u64,
        /// The fencing request raised with it and the members it fences, if any.
        fencing: Option<(String, Vec<String>)>,
    },
    FailbackRequested {
        request: String,
        primary: String,
        to: String,
        by: String,
        fenced: Vec<String>,
        expires_at: DateTime<Utc>,
    },
    FailbackMoreApprovals {
        request: String,
        candidate: String,
        approvals: usize,
        required: usize,
        approvers: Vec<String>,
    },
    FailbackClosed {
        request: String,
        candidate: String,
        /// The primary now.
        primary: Option<String>,
        end: PlannedEnd,
    },
}

/// What a promotion request tells.
#[derive(Debug, Clone, PartialEq)]
pub struct PromotionAsk {
    pub request: String,
    /// The lost primary, if one was known.
    pub lost: Option<String>,
    pub lost_since: DateTime<Utc>,
    /// When this was told (the "… ago" counts to it).
    pub at: DateTime<Utc>,
    pub observers: Vec<Observer>,
    /// Every agreeing observer is on the DR side (a partition looks the same).
    pub dr_side_only: bool,
    pub candidate: String,
    pub loss: LossEstimate,
    /// The other DR members that could be promoted, with what each may lose.
    pub others: Vec<(String, LossEstimate)>,
    pub expires_at: DateTime<Utc>,
}

/// What a fencing request tells.
#[derive(Debug, Clone, PartialEq)]
pub struct FencingAsk {
    pub request: String,
    /// The DR primary, which stays primary.
    pub primary: String,
    pub epoch: u64,
    /// What was heard from the former primary region.
    pub returned: Option<String>,
    /// Members of the former region answering as primary now.
    pub claiming: Vec<String>,
    pub targets: Vec<String>,
    /// Former failover members not fenced and not among the targets.
    pub by_hand: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// A member answering as primary, and what still sends traffic to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryClaim {
    pub member: String,
    pub since: DateTime<Utc>,
    /// Its Route 53 health check is healthy, last seen then.
    pub route53_healthy_at: Option<DateTime<Utc>>,
    /// mirror_status.cxw answers 200 SUCCESS, last seen then.
    pub probe_healthy_at: Option<DateTime<Utc>>,
    /// IRIS reports a primary status, then.
    pub iris: Option<(MemberStatus, DateTime<Utc>)>,
}

/// Why a member counts as down.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DownEvidence {
    /// Its instance is unhealthy: the observation's source, since when.
    pub instance: Option<(String, DateTime<Utc>)>,
    /// It reports a down status.
    pub reports: Option<MemberStatus>,
    pub heartbeat_silent: bool,
}

/// How a drill ended (or went on without a promotion).
#[derive(Debug, Clone, PartialEq)]
pub enum DrillEnd {
    /// A real loss comes first.
    Withdrawn,
    Expired,
    Rejected {
        by: String,
    },
    Approved {
        approvers: Vec<String>,
        candidate: String,
        /// The drill document runs; otherwise nothing is run.
        executing: bool,
    },
    Ran,
    Failed {
        detail: String,
    },
}

/// How a planned move (a switchover or a failback) closed.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedEnd {
    Rejected {
        by: String,
    },
    /// The mirror changed before a decision.
    Withdrawn,
    Expired,
    /// Approved: the move runs (said for a failback only; a switchover has its own).
    Approved {
        approvers: Vec<String>,
    },
    TimedOut,
    Failed {
        detail: String,
    },
}

impl Notice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            Notice::FailedOver { .. } => AlertKind::FailedOver,
            Notice::FailedBack { .. } => AlertKind::FailedBack,
            Notice::DrPrimary { .. } | Notice::DrPrimaryWithdrawing { .. } => AlertKind::DrPrimary,
            Notice::PrimaryBack { .. } => AlertKind::PrimaryBack,
            Notice::Degraded { .. } => AlertKind::Degraded,
            Notice::HaRestored { .. } => AlertKind::HaRestored,
            Notice::PrimaryLost { .. } => AlertKind::PrimaryLost,
            Notice::NoCandidate { .. } => AlertKind::NoCandidate,
            Notice::SplitBrain { .. } | Notice::SplitBrainDuringPromotion { .. } => AlertKind::SplitBrain,
            Notice::PromotionRequested(_) => AlertKind::PromotionRequested,
            Notice::Reminder(of) => match of.kind() {
                AlertKind::FencingRequested => AlertKind::FencingReminder,
                _ => AlertKind::PromotionReminder,
            },
            // A drill's and a switchover's further approvals keep their request's kind.
            Notice::MoreApprovals { of, .. } => match of.kind() {
                kind @ (AlertKind::DrillRequested | AlertKind::SwitchoverRequested) => kind,
                _ => AlertKind::ApprovalRecorded,
            },
            Notice::RequestWithdrawnPrimaryBack { .. }
            | Notice::RequestWithdrawnWitness { .. }
            | Notice::FencingWithdrawn { .. } => AlertKind::RequestWithdrawn,
            Notice::RequestExpired { .. } => AlertKind::RequestExpired,
            Notice::PromotionRejected { .. } => AlertKind::PromotionRejected,
            Notice::PromotionRefused { .. } => AlertKind::PromotionRefused,
            Notice::PromotionApproved { .. } => AlertKind::PromotionApproved,
            Notice::PromotionSucceeded { .. } => AlertKind::PromotionSucceeded,
            Notice::PromotionTimedOut { .. } => AlertKind::PromotionTimedOut,
            Notice::PromotionFailed { .. } | Notice::PromoteScriptFailed { .. } => AlertKind::PromotionFailed,
            Notice::SsmAgentOffline { .. } => AlertKind::SsmAgentOffline,
            Notice::MaintenanceStarted { .. } => AlertKind::MaintenanceStarted,
            Notice::MaintenanceEnded { .. } => AlertKind::MaintenanceEnded,
            Notice::DrMemberLost { .. } => AlertKind::DrMemberLost,
            Notice::FormerRegionBack { .. } => AlertKind::FormerRegionBack,
            Notice::FencingRequested(_) => AlertKind::FencingRequested,
            Notice::FencingExpired { .. } => AlertKind::FencingExpired,
            Notice::FencingRejected { .. } => AlertKind::FencingRejected,
            Notice::FencingApproved { .. } => AlertKind::FencingApproved,
            Notice::FencingSent { .. } => AlertKind::FencingSent,
            Notice::FencingFailed { .. } => AlertKind::FencingFailed,
            Notice::DrillRequested { .. } => AlertKind::DrillRequested,
            Notice::DrillClosed { .. } => AlertKind::DrillClosed,
            Notice::SwitchoverRequested { .. } => AlertKind::SwitchoverRequested,
            Notice::SwitchoverApproved { .. } => AlertKind::SwitchoverApproved,
            Notice::SwitchoverClosed { .. } => AlertKind::SwitchoverClosed,
            Notice::SwitchoverDone { .. } => AlertKind::SwitchoverDone,
            Notice::FailbackRequested { .. } | Notice::FailbackMoreApprovals { .. } => AlertKind::FailbackRequested,
            Notice::FailbackClosed { .. } => AlertKind::FailbackClosed,
        }
    }

    /// The severity it is told with, before a maintenance window or an approved
    /// switchover lowers it. One mapping from the kind; the few kinds that carry
    /// more than one severity are told apart by the notice's facts.
    pub fn severity(&self) -> Severity {
        use AlertKind as K;
        match (self.kind(), self) {
            // A promoted DR member lost has no failover partner: critical at once.
            (K::PrimaryLost, Notice::PrimaryLost { dr_primary, .. }) => {
                if *dr_primary {
                    Severity::Critical
                } else {
                    Severity::Warning
                }
            }
            (K::MaintenanceEnded, Notice::MaintenanceEnded { phase, .. }) => {
                if *phase == Phase::Normal {
                    Severity::Info
                } else {
                    Severity::Warning
                }
            }
            (K::DrillClosed, Notice::DrillClosed { end, .. }) => match end {
                DrillEnd::Withdrawn | DrillEnd::Failed { .. } => Severity::Warning,
                DrillEnd::Expired | DrillEnd::Rejected { .. } | DrillEnd::Approved { .. } | DrillEnd::Ran => {
                    Severity::Info
                }
            },
            (K::SwitchoverClosed | K::FailbackClosed, Notice::SwitchoverClosed { end, .. })
            | (K::SwitchoverClosed | K::FailbackClosed, Notice::FailbackClosed { end, .. }) => match end {
                PlannedEnd::Rejected { .. } | PlannedEnd::Expired => Severity::Info,
                PlannedEnd::Withdrawn | PlannedEnd::Approved { .. } => Severity::Warning,
                PlannedEnd::TimedOut | PlannedEnd::Failed { .. } => Severity::Critical,
            },
            (
                K::PrimaryBack
                | K::HaRestored
                | K::FailedBack
                | K::MaintenanceStarted
                | K::MaintenanceEnded
                | K::DrillClosed
                | K::SwitchoverClosed
                | K::FailbackClosed,
                _,
            ) => Severity::Info,
            (
                K::FailedOver
                | K::Degraded
                | K::DrPrimary
                | K::RequestWithdrawn
                | K::PromotionRejected
                | K::SsmAgentOffline
                | K::DrMemberLost
                | K::FencingRejected
                | K::FencingApproved
                | K::FencingSent
                | K::SwitchoverApproved
                | K::SwitchoverDone
                | K::PrimaryLost,
                _,
            ) => Severity::Warning,
            (
                K::PromotionRequested
                | K::PromotionReminder
                | K::ApprovalRecorded
                | K::PromotionApproved
                | K::PromotionRefused
                | K::RequestExpired
                | K::PromotionSucceeded
                | K::PromotionFailed
                | K::PromotionTimedOut
                | K::NoCandidate
                | K::SplitBrain
                | K::FencingRequested
                | K::FencingReminder
                | K::FencingExpired
                | K::FencingFailed
                | K::FormerRegionBack
                | K::DrillRequested
                | K::SwitchoverRequested
                | K::FailbackRequested,
                _,
            ) => Severity::Critical,
        }
    }

    /// The request the notice is about, if any.
    pub fn request(&self) -> Option<&str> {
        match self {
            Notice::Reminder(of) | Notice::MoreApprovals { of, .. } => of.request(),
            Notice::PromotionRequested(ask) => Some(&ask.request),
            Notice::FencingRequested(ask) => Some(&ask.request),
            Notice::DrPrimaryWithdrawing { request, .. }
            | Notice::RequestWithdrawnPrimaryBack { request, .. }
            | Notice::RequestWithdrawnWitness { request, .. }
            | Notice::RequestExpired { request, .. }
            | Notice::PromotionRejected { request, .. }
            | Notice::PromotionRefused { request, .. }
            | Notice::PromotionApproved { request, .. }
            | Notice::SplitBrainDuringPromotion { request, .. }
            | Notice::PromotionSucceeded { request, .. }
            | Notice::PromotionTimedOut { request, .. }
            | Notice::PromotionFailed { request, .. }
            | Notice::PromoteScriptFailed { request, .. }
            | Notice::FencingWithdrawn { request, .. }
            | Notice::FencingExpired { request, .. }
            | Notice::FencingRejected { request, .. }
            | Notice::FencingApproved { request, .. }
            | Notice::FencingSent { request, .. }
            | Notice::FencingFailed { request, .. }
            | Notice::DrillRequested { request, .. }
            | Notice::DrillClosed { request, .. }
            | Notice::SwitchoverRequested { request, .. }
            | Notice::SwitchoverApproved { request, .. }
            | Notice::SwitchoverClosed { request, .. }
            | Notice::SwitchoverDone { request, .. }
            | Notice::FailbackRequested { request, .. }
            | Notice::FailbackMoreApprovals { request, .. }
            | Notice::FailbackClosed { request, .. } => Some(request),
            Notice::FailedOver { .. }
            | Notice::FailedBack { .. }
            | Notice::DrPrimary { .. }
            | Notice::PrimaryBack { .. }
            | Notice::Degraded { .. }
            | Notice::HaRestored { .. }
            | Notice::PrimaryLost { .. }
            | Notice::NoCandidate { .. }
            | Notice::SplitBrain { .. }
            | Notice::SsmAgentOffline { .. }
            | Notice::MaintenanceStarted { .. }
            | Notice::MaintenanceEnded { .. }
            | Notice::DrMemberLost { .. }
            | Notice::FormerRegionBack { .. } => None,
        }
    }
}
