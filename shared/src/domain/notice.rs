//! Notices: what the rules tell people, as typed facts (who, which member, which
//! epoch, which request, when, how much may be lost). A rule pushes a notice; its
//! kind and severity follow from it here, and its words (headline, facts, next step)
//! are written in one place, [`super::wording`]. Tests of a rule assert on a notice's
//! fields; tests of the words are unit tests of the wording.
//!
//! Notices are grouped by area (the mirror, a promotion, fencing, maintenance, a
//! drill, a switchover, a failback): each area is an enum with its own kind and
//! request here and its own words in the wording, and a rule tells an area's notice
//! as is (`self.tell(FencingNotice::Sent { … })`). The severity stays one table,
//! [`Notice::severity`], by the alert kind.

use chrono::{DateTime, Utc};

use super::alert::{AlertKind, Severity};
use super::loss::LossEstimate;
use super::maintenance::MaintenanceWindow;
use super::mirror::Observer;
use super::signal::{CommandReport, MemberStatus};
use super::state::Phase;

/// One thing the rules tell people: a notice of one area, or a request's notice told again.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Mirror(MirrorNotice),
    Promotion(PromotionNotice),
    Fencing(FencingNotice),
    Maintenance(MaintenanceNotice),
    Drill(DrillNotice),
    Switchover(SwitchoverNotice),
    Failback(FailbackNotice),
    /// A request still open, told again (a promotion or a fencing request).
    Reminder(Box<Notice>),
    /// An approval recorded while more are required; `of` is the request's own notice.
    MoreApprovals {
        approvals: usize,
        required: usize,
        approved_by: Vec<String>,
        of: Box<Notice>,
    },
}

/// The primary and high availability: who is primary, who is down, who answers.
#[derive(Debug, Clone, PartialEq)]
pub enum MirrorNotice {
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
}

/// A DR promotion: its request, the decision on it, and how it ran.
#[derive(Debug, Clone, PartialEq)]
pub enum PromotionNotice {
    /// A DR promotion asks for a decision.
    Requested(PromotionAsk),
    WithdrawnPrimaryBack {
        request: String,
        primary: String,
    },
    /// A member reports it is connected to a primary: one exists.
    WithdrawnWitness {
        request: String,
        who: String,
        evidence: String,
    },
    Expired {
        request: String,
        candidate: String,
        again: DateTime<Utc>,
    },
    Rejected {
        request: String,
        candidate: String,
        by: String,
        again: DateTime<Utc>,
    },
    /// The candidate was unhealthy when the approval came.
    Refused {
        request: String,
        candidate: String,
        by: String,
    },
    Approved {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        loss: LossEstimate,
        accept_loss: bool,
    },
    /// The former primary answers while its replacement is being promoted.
    SplitBrain {
        request: String,
        member: String,
        candidate: String,
    },
    Succeeded {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        epoch: u64,
    },
    TimedOut {
        request: String,
        candidate: String,
        approved_at: DateTime<Utc>,
    },
    /// The promotion's actions reported a failure.
    Failed {
        request: String,
        candidate: String,
        detail: String,
    },
    /// The promote script ended in failure (its Run Command status).
    ScriptFailed {
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
}

/// Fencing the former primary region once a DR member is primary: its request and how it ran.
#[derive(Debug, Clone, PartialEq)]
pub enum FencingNotice {
    /// The former primary region is back and mirrorgate cannot fence it.
    FormerRegionBack {
        primary: String,
        epoch: u64,
        evidence: String,
        unfenced: Vec<String>,
        claiming: Vec<String>,
    },
    /// Fencing the former primary region asks for a decision.
    Requested(FencingAsk),
    Withdrawn {
        request: String,
        primary: String,
    },
    Expired {
        request: String,
        members: Vec<String>,
        primary: String,
        again: DateTime<Utc>,
    },
    Rejected {
        request: String,
        members: Vec<String>,
        by: String,
        again: DateTime<Utc>,
    },
    Approved {
        request: String,
        members: Vec<String>,
        approvers: Vec<String>,
        primary: String,
    },
    Sent {
        request: String,
        members: Vec<String>,
        detail: String,
        primary: String,
    },
    Failed {
        request: String,
        missing: Vec<String>,
        done: Vec<String>,
        detail: String,
    },
}

/// A maintenance window, and what is watched while it is open.
#[derive(Debug, Clone, PartialEq)]
pub enum MaintenanceNotice {
    Started {
        /// The window as started: reason, who, from when until when.
        window: MaintenanceWindow,
        duration_secs: u64,
        phase: Phase,
        /// A promotion request raised before the window, still open.
        waiting: Option<String>,
    },
    Ended {
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
}

/// A DR drill: its request and how it closed.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillNotice {
    Requested {
        request: String,
        candidate: String,
        primary: Option<String>,
        started_by: Option<String>,
        loss: LossEstimate,
        expires_at: DateTime<Utc>,
    },
    Closed {
        request: String,
        end: DrillEnd,
    },
}

/// A planned switchover to the DR region: its request, approval and outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchoverNotice {
    Requested {
        request: String,
        primary: Option<String>,
        candidate: String,
        started_by: Option<String>,
        /// The failover members heard alive, in words.
        partners_alive: Vec<String>,
        loss: LossEstimate,
        expires_at: DateTime<Utc>,
    },
    Approved {
        request: String,
        candidate: String,
        approvers: Vec<String>,
        accept_loss: bool,
    },
    Closed {
        request: String,
        candidate: String,
        /// The primary now.
        primary: Option<String>,
        end: PlannedEnd,
    },
    Done {
        request: String,
        member: String,
        old: String,
        epoch: u64,
        /// The fencing request raised with it and the members it fences, if any.
        fencing: Option<(String, Vec<String>)>,
    },
}

/// A planned failback to the primary region: its request and how it closed.
#[derive(Debug, Clone, PartialEq)]
pub enum FailbackNotice {
    Requested {
        request: String,
        primary: String,
        to: String,
        by: String,
        fenced: Vec<String>,
        expires_at: DateTime<Utc>,
    },
    MoreApprovals {
        request: String,
        candidate: String,
        approvals: usize,
        required: usize,
        approvers: Vec<String>,
    },
    Closed {
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

/// A notice of one area is told as a [`Notice`]: a rule writes
/// `self.tell(FencingNotice::Sent { … })`.
macro_rules! told_as {
    ($($area:ident($notice:ident)),* $(,)?) => {
        $(impl From<$notice> for Notice {
            fn from(notice: $notice) -> Self {
                Notice::$area(notice)
            }
        })*
    };
}

told_as!(
    Mirror(MirrorNotice),
    Promotion(PromotionNotice),
    Fencing(FencingNotice),
    Maintenance(MaintenanceNotice),
    Drill(DrillNotice),
    Switchover(SwitchoverNotice),
    Failback(FailbackNotice),
);

impl Notice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            Notice::Mirror(notice) => notice.kind(),
            Notice::Promotion(notice) => notice.kind(),
            Notice::Fencing(notice) => notice.kind(),
            Notice::Maintenance(notice) => notice.kind(),
            Notice::Drill(notice) => notice.kind(),
            Notice::Switchover(notice) => notice.kind(),
            Notice::Failback(notice) => notice.kind(),
            Notice::Reminder(of) => match of.kind() {
                AlertKind::FencingRequested => AlertKind::FencingReminder,
                _ => AlertKind::PromotionReminder,
            },
            // A drill's and a switchover's further approvals keep their request's kind.
            Notice::MoreApprovals { of, .. } => match of.kind() {
                kind @ (AlertKind::DrillRequested | AlertKind::SwitchoverRequested) => kind,
                _ => AlertKind::ApprovalRecorded,
            },
        }
    }

    /// The severity it is told with, before a maintenance window or an approved
    /// switchover lowers it. One mapping from the kind; the few kinds that carry
    /// more than one severity are told apart by the notice's facts.
    pub fn severity(&self) -> Severity {
        use AlertKind as K;
        match (self.kind(), self) {
            // A promoted DR member lost has no failover partner: critical at once.
            (K::PrimaryLost, Notice::Mirror(MirrorNotice::PrimaryLost { dr_primary, .. })) => {
                if *dr_primary {
                    Severity::Critical
                } else {
                    Severity::Warning
                }
            }
            (K::MaintenanceEnded, Notice::Maintenance(MaintenanceNotice::Ended { phase, .. })) => {
                if *phase == Phase::Normal {
                    Severity::Info
                } else {
                    Severity::Warning
                }
            }
            (K::DrillClosed, Notice::Drill(DrillNotice::Closed { end, .. })) => match end {
                DrillEnd::Withdrawn | DrillEnd::Failed { .. } => Severity::Warning,
                DrillEnd::Expired | DrillEnd::Rejected { .. } | DrillEnd::Approved { .. } | DrillEnd::Ran => {
                    Severity::Info
                }
            },
            (K::SwitchoverClosed | K::FailbackClosed, Notice::Switchover(SwitchoverNotice::Closed { end, .. }))
            | (K::SwitchoverClosed | K::FailbackClosed, Notice::Failback(FailbackNotice::Closed { end, .. })) => {
                match end {
                    PlannedEnd::Rejected { .. } | PlannedEnd::Expired => Severity::Info,
                    PlannedEnd::Withdrawn | PlannedEnd::Approved { .. } => Severity::Warning,
                    PlannedEnd::TimedOut | PlannedEnd::Failed { .. } => Severity::Critical,
                }
            }
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
            Notice::Mirror(notice) => notice.request(),
            Notice::Promotion(notice) => notice.request(),
            Notice::Fencing(notice) => notice.request(),
            Notice::Maintenance(_) => None,
            Notice::Drill(notice) => Some(notice.request()),
            Notice::Switchover(notice) => Some(notice.request()),
            Notice::Failback(notice) => Some(notice.request()),
        }
    }
}

impl MirrorNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            MirrorNotice::FailedOver { .. } => AlertKind::FailedOver,
            MirrorNotice::FailedBack { .. } => AlertKind::FailedBack,
            MirrorNotice::DrPrimary { .. } | MirrorNotice::DrPrimaryWithdrawing { .. } => AlertKind::DrPrimary,
            MirrorNotice::PrimaryBack { .. } => AlertKind::PrimaryBack,
            MirrorNotice::Degraded { .. } => AlertKind::Degraded,
            MirrorNotice::HaRestored { .. } => AlertKind::HaRestored,
            MirrorNotice::PrimaryLost { .. } => AlertKind::PrimaryLost,
            MirrorNotice::NoCandidate { .. } => AlertKind::NoCandidate,
            MirrorNotice::SplitBrain { .. } => AlertKind::SplitBrain,
        }
    }

    /// The request the notice is about: only a DR primary made by hand withdraws one.
    pub fn request(&self) -> Option<&str> {
        match self {
            MirrorNotice::DrPrimaryWithdrawing { request, .. } => Some(request),
            MirrorNotice::FailedOver { .. }
            | MirrorNotice::FailedBack { .. }
            | MirrorNotice::DrPrimary { .. }
            | MirrorNotice::PrimaryBack { .. }
            | MirrorNotice::Degraded { .. }
            | MirrorNotice::HaRestored { .. }
            | MirrorNotice::PrimaryLost { .. }
            | MirrorNotice::NoCandidate { .. }
            | MirrorNotice::SplitBrain { .. } => None,
        }
    }
}

impl PromotionNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            PromotionNotice::Requested(_) => AlertKind::PromotionRequested,
            PromotionNotice::WithdrawnPrimaryBack { .. } | PromotionNotice::WithdrawnWitness { .. } => {
                AlertKind::RequestWithdrawn
            }
            PromotionNotice::Expired { .. } => AlertKind::RequestExpired,
            PromotionNotice::Rejected { .. } => AlertKind::PromotionRejected,
            PromotionNotice::Refused { .. } => AlertKind::PromotionRefused,
            PromotionNotice::Approved { .. } => AlertKind::PromotionApproved,
            PromotionNotice::SplitBrain { .. } => AlertKind::SplitBrain,
            PromotionNotice::Succeeded { .. } => AlertKind::PromotionSucceeded,
            PromotionNotice::TimedOut { .. } => AlertKind::PromotionTimedOut,
            PromotionNotice::Failed { .. } | PromotionNotice::ScriptFailed { .. } => AlertKind::PromotionFailed,
            PromotionNotice::SsmAgentOffline { .. } => AlertKind::SsmAgentOffline,
        }
    }

    /// The request the notice is about: every one but the SSM agent's warning has one.
    pub fn request(&self) -> Option<&str> {
        match self {
            PromotionNotice::Requested(ask) => Some(&ask.request),
            PromotionNotice::WithdrawnPrimaryBack { request, .. }
            | PromotionNotice::WithdrawnWitness { request, .. }
            | PromotionNotice::Expired { request, .. }
            | PromotionNotice::Rejected { request, .. }
            | PromotionNotice::Refused { request, .. }
            | PromotionNotice::Approved { request, .. }
            | PromotionNotice::SplitBrain { request, .. }
            | PromotionNotice::Succeeded { request, .. }
            | PromotionNotice::TimedOut { request, .. }
            | PromotionNotice::Failed { request, .. }
            | PromotionNotice::ScriptFailed { request, .. } => Some(request),
            PromotionNotice::SsmAgentOffline { .. } => None,
        }
    }
}

impl FencingNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            FencingNotice::FormerRegionBack { .. } => AlertKind::FormerRegionBack,
            FencingNotice::Requested(_) => AlertKind::FencingRequested,
            FencingNotice::Withdrawn { .. } => AlertKind::RequestWithdrawn,
            FencingNotice::Expired { .. } => AlertKind::FencingExpired,
            FencingNotice::Rejected { .. } => AlertKind::FencingRejected,
            FencingNotice::Approved { .. } => AlertKind::FencingApproved,
            FencingNotice::Sent { .. } => AlertKind::FencingSent,
            FencingNotice::Failed { .. } => AlertKind::FencingFailed,
        }
    }

    /// The request the notice is about: every one but the former region's return has one.
    pub fn request(&self) -> Option<&str> {
        match self {
            FencingNotice::Requested(ask) => Some(&ask.request),
            FencingNotice::Withdrawn { request, .. }
            | FencingNotice::Expired { request, .. }
            | FencingNotice::Rejected { request, .. }
            | FencingNotice::Approved { request, .. }
            | FencingNotice::Sent { request, .. }
            | FencingNotice::Failed { request, .. } => Some(request),
            FencingNotice::FormerRegionBack { .. } => None,
        }
    }
}

impl MaintenanceNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            MaintenanceNotice::Started { .. } => AlertKind::MaintenanceStarted,
            MaintenanceNotice::Ended { .. } => AlertKind::MaintenanceEnded,
            MaintenanceNotice::DrMemberLost { .. } => AlertKind::DrMemberLost,
        }
    }
}

impl DrillNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            DrillNotice::Requested { .. } => AlertKind::DrillRequested,
            DrillNotice::Closed { .. } => AlertKind::DrillClosed,
        }
    }

    /// The drill's request.
    pub fn request(&self) -> &str {
        match self {
            DrillNotice::Requested { request, .. } | DrillNotice::Closed { request, .. } => request,
        }
    }
}

impl SwitchoverNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            SwitchoverNotice::Requested { .. } => AlertKind::SwitchoverRequested,
            SwitchoverNotice::Approved { .. } => AlertKind::SwitchoverApproved,
            SwitchoverNotice::Closed { .. } => AlertKind::SwitchoverClosed,
            SwitchoverNotice::Done { .. } => AlertKind::SwitchoverDone,
        }
    }

    /// The switchover's request.
    pub fn request(&self) -> &str {
        match self {
            SwitchoverNotice::Requested { request, .. }
            | SwitchoverNotice::Approved { request, .. }
            | SwitchoverNotice::Closed { request, .. }
            | SwitchoverNotice::Done { request, .. } => request,
        }
    }
}

impl FailbackNotice {
    /// The kind of alert the notice is told as.
    pub fn kind(&self) -> AlertKind {
        match self {
            FailbackNotice::Requested { .. } | FailbackNotice::MoreApprovals { .. } => AlertKind::FailbackRequested,
            FailbackNotice::Closed { .. } => AlertKind::FailbackClosed,
        }
    }

    /// The failback's request.
    pub fn request(&self) -> &str {
        match self {
            FailbackNotice::Requested { request, .. }
            | FailbackNotice::MoreApprovals { request, .. }
            | FailbackNotice::Closed { request, .. } => request,
        }
    }
}
