//! The words of every alert: what people read in the SMS, the subject and the email.
//! Each [`Notice`] is said here, from its facts and the mirror's configuration
//! (names, regions, documents, policy) only, so that the rules in `decide` carry no
//! prose and a change of wording is made, and reviewed, in one place.

use chrono::{DateTime, Utc};

use super::alert::{clock, duration_words};
use super::decide::DRILL;
use super::loss::LossEstimate;
use super::maintenance::MaintenanceWindow;
use super::mirror::{secs, FenceMethod, Mirror, Observer};
use super::notice::{
    DownEvidence, DrillEnd, DrillNotice, FailbackNotice, FencingAsk, FencingNotice, MaintenanceNotice, MirrorNotice,
    Notice, PlannedEnd, PrimaryClaim, PromotionAsk, PromotionNotice, SwitchoverNotice,
};
use super::signal::CommandReport;
use super::state::Phase;

/// Where the runbook for fencing by hand and failing back lives.
pub const RUNBOOK: &str = "docs/DEPLOY.md, \"Fencing and failing back\"";

/// How many lines of a script's output an alert quotes.
pub const OUTPUT_LINES: usize = 10;

/// An alert's words: one line, the email's facts, what to do now.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    pub headline: String,
    pub facts: Vec<String>,
    pub next_step: String,
}

fn said(headline: String, facts: Vec<String>, next_step: impl Into<String>) -> Words {
    Words {
        headline,
        facts,
        next_step: next_step.into(),
    }
}

fn names(observers: &[Observer]) -> String {
    observers.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")
}

/// A fact for people when every observer that agreed lives outside the primary
/// region and so does the control plane: from here a network partition between the
/// regions looks the same as the region's loss.
pub fn partition_note(m: &Mirror) -> String {
    format!(
        "Every observer that agrees is on the DR side ({}): a network partition between {} and {} looks the same from here. Check from elsewhere that the primary is really down.",
        m.dr_region, m.primary_region, m.dr_region
    )
}

/// What fencing does by hand, for the method of the mirror.
pub fn fence_by_hand(m: &Mirror) -> String {
    match m.promotion.fence_method {
        FenceMethod::Demote => format!(
            "on each former failover member, set JoinMirror=0 and ValidatedMember=0 in the [MirrorMember] section of its CPF and create /etc/mirrorgate/fenced, then restart IRIS there (see {RUNBOOK})"
        ),
        FenceMethod::Stop => format!(
            "on each former failover member, create /etc/mirrorgate/fenced and stop IRIS (iris stop <instance> quietly) (see {RUNBOOK})"
        ),
    }
}

/// The first lines of a script's output as an alert quotes them (or why there are none).
pub fn script_output(output: Option<&str>, unread: Option<&str>) -> Vec<String> {
    output.map_or_else(
        || {
            vec![format!(
                "Output: could not be read ({}); see the run-command log group",
                unread.unwrap_or("not asked")
            )]
        },
        |text| {
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(OUTPUT_LINES)
                .map(|l| format!("  {l}"))
                .collect();
            if lines.is_empty() {
                return vec!["Output: none (the script printed nothing)".to_string()];
            }
            lines.insert(0, "Output (first lines):".to_string());
            lines
        },
    )
}

/// How a promote script failed, in one line: kept as the request's outcome, and,
/// for a planned move (`quoting`), said in its alert with the script's first line.
pub fn script_failure(report: &CommandReport, quoting: bool) -> String {
    let detail = format!(
        "the promote script ended {} on {} (command {})",
        report.status.as_str(),
        report.member,
        report.command_id
    );
    if !quoting {
        return detail;
    }
    let first = report
        .output
        .as_deref()
        .and_then(|text| text.lines().find(|l| !l.trim().is_empty()))
        .map_or_else(
            || {
                let output = script_output(report.output.as_deref(), report.unread.as_deref());
                format!("output: {}", output[0])
            },
            |l| format!("it said: {}", l.trim()),
        );
    format!("{detail}; {first}")
}

/// "maintenance: OS patching, until 05:00 UTC": what every alert during a window says.
pub fn maintenance_note(window: &MaintenanceWindow) -> String {
    let until = if window.until - window.started_at < chrono::Duration::hours(20) {
        clock(window.until)
    } else {
        window.until.format("%Y-%m-%d %H:%M UTC").to_string()
    };
    format!("maintenance: {}, until {until}", window.reason)
}

/// An alert as told during a maintenance window: the window's note ends the
/// headline and opens the facts.
pub fn during_maintenance(window: &MaintenanceWindow, words: Words) -> Words {
    let note = maintenance_note(window);
    let mut facts = words.facts;
    facts.insert(0, format!("{note} (started by {})", window.by));
    Words {
        headline: format!("{} ({note})", words.headline),
        facts,
        next_step: words.next_step,
    }
}

/// A headline as told while an approved switchover is under way.
pub fn during_switchover(headline: &str, switchover: &str) -> String {
    format!("{headline} (switchover {switchover} under way)")
}

/// What still sends traffic to a member answering as primary, in words.
fn traffic_paths(m: &Mirror, claim: &PrimaryClaim) -> String {
    let mut paths = Vec::new();
    if let Some(at) = claim.route53_healthy_at {
        let id = m
            .member(&claim.member)
            .and_then(|m| m.health_check_id.as_deref())
            .unwrap_or("its health check");
        paths.push(format!(
            "Route 53 health check {id} healthy ({}): failover routing sends clients there",
            clock(at)
        ));
    }
    if let Some(at) = claim.probe_healthy_at {
        paths.push(format!(
            "mirror_status.cxw answers 200 SUCCESS ({}): load balancers polling it send traffic there",
            clock(at)
        ));
    }
    if let Some((status, at)) = claim.iris {
        paths.push(format!("IRIS reports {} ({})", status.as_str(), clock(at)));
    }
    paths.join("; ")
}

/// Why a member counts as down, in words.
fn down_words(down: &DownEvidence) -> String {
    let mut why = Vec::new();
    if let Some((source, at)) = &down.instance {
        why.push(format!("instance {source} since {}", clock(*at)));
    }
    if let Some(status) = down.reports {
        why.push(format!("reports {}", status.as_str()));
    }
    if down.heartbeat_silent {
        why.push("its heartbeat is silent".into());
    }
    why.join("; ")
}

fn or_none(members: &[String]) -> String {
    if members.is_empty() {
        "none".to_string()
    } else {
        members.join(", ")
    }
}

/// The words of a notice about mirror `m`: said by its area, or a request's
/// notice said again.
pub fn words(notice: &Notice, m: &Mirror) -> Words {
    match notice {
        Notice::Mirror(notice) => notice.words(m),
        Notice::Promotion(notice) => notice.words(m),
        Notice::Fencing(notice) => notice.words(m),
        Notice::Maintenance(notice) => notice.words(m),
        Notice::Drill(notice) => notice.words(m),
        Notice::Switchover(notice) => notice.words(m),
        Notice::Failback(notice) => notice.words(m),
        Notice::Reminder(of) => {
            let words = words(of, m);
            Words {
                headline: format!("Reminder: {}", words.headline),
                ..words
            }
        }
        Notice::MoreApprovals {
            approvals,
            required,
            approved_by,
            of,
        } => more_approvals(m, *approvals, *required, approved_by, of),
    }
}

impl MirrorNotice {
    /// The words of a notice about the primary and high availability, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            MirrorNotice::FailedOver { old, new, since, epoch } => failed_over(m, old, new, *since, *epoch),
            MirrorNotice::FailedBack { old, new, epoch } => failed_back(m, old, new, *epoch),
            MirrorNotice::DrPrimary {
                member,
                previous,
                epoch,
            } => dr_primary(m, member, previous, *epoch),
            MirrorNotice::DrPrimaryWithdrawing {
                member,
                previous,
                request,
            } => dr_primary_withdrawing(m, member, previous, request),
            MirrorNotice::PrimaryBack { primary } => primary_back(m, primary),
            MirrorNotice::Degraded { primary, down } => degraded(m, primary, down),
            MirrorNotice::HaRestored { primary } => ha_restored(m, primary),
            MirrorNotice::PrimaryLost {
                lost,
                at,
                observers,
                dr_side_only,
                dr_primary,
                confirm_at,
            } => primary_lost(
                m,
                lost.as_deref(),
                *at,
                observers,
                *dr_side_only,
                *dr_primary,
                *confirm_at,
            ),
            MirrorNotice::NoCandidate { lost_since } => no_candidate(m, *lost_since),
            MirrorNotice::SplitBrain {
                epoch,
                primary,
                claims,
                stale,
            } => split_brain(m, *epoch, primary.as_deref(), claims, stale),
        }
    }
}

impl PromotionNotice {
    /// The words of a notice about a DR promotion, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            PromotionNotice::Requested(ask) => promotion_requested(m, ask),
            PromotionNotice::WithdrawnPrimaryBack { request, primary } => {
                request_withdrawn_primary_back(m, request, primary)
            }
            PromotionNotice::WithdrawnWitness { request, who, evidence } => {
                request_withdrawn_witness(m, request, who, evidence)
            }
            PromotionNotice::Expired {
                request,
                candidate,
                again,
            } => request_expired(m, request, candidate, *again),
            PromotionNotice::Rejected {
                request,
                candidate,
                by,
                again,
            } => promotion_rejected(m, request, candidate, by, *again),
            PromotionNotice::Refused { request, candidate, by } => promotion_refused(m, request, candidate, by),
            PromotionNotice::Approved {
                request,
                candidate,
                approvers,
                loss,
                accept_loss,
            } => promotion_approved(m, request, candidate, approvers, loss, *accept_loss),
            PromotionNotice::SplitBrain {
                request,
                member,
                candidate,
            } => split_brain_during_promotion(m, request, member, candidate),
            PromotionNotice::Succeeded {
                request,
                candidate,
                approvers,
                epoch,
            } => promotion_succeeded(m, request, candidate, approvers, *epoch),
            PromotionNotice::TimedOut {
                request,
                candidate,
                approved_at,
            } => promotion_timed_out(m, request, candidate, *approved_at),
            PromotionNotice::Failed {
                request,
                candidate,
                detail,
            } => promotion_failed(m, request, candidate, detail),
            PromotionNotice::ScriptFailed {
                request,
                candidate,
                report,
            } => promote_script_failed(m, request, candidate, report),
            PromotionNotice::SsmAgentOffline { member, detail, since } => ssm_agent_offline(m, member, detail, *since),
        }
    }
}

impl FencingNotice {
    /// The words of a notice about fencing the former primary region, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            FencingNotice::FormerRegionBack {
                primary,
                epoch,
                evidence,
                unfenced,
                claiming,
            } => former_region_back(m, primary, *epoch, evidence, unfenced, claiming),
            FencingNotice::Requested(ask) => fencing_requested(m, ask),
            FencingNotice::Withdrawn { request, primary } => fencing_withdrawn(m, request, primary),
            FencingNotice::Expired {
                request,
                members,
                primary,
                again,
            } => fencing_expired(m, request, members, primary, *again),
            FencingNotice::Rejected {
                request,
                members,
                by,
                again,
            } => fencing_rejected(m, request, members, by, *again),
            FencingNotice::Approved {
                request,
                members,
                approvers,
                primary,
            } => fencing_approved(m, request, members, approvers, primary),
            FencingNotice::Sent {
                request,
                members,
                detail,
                primary,
            } => fencing_sent(m, request, members, detail, primary),
            FencingNotice::Failed {
                request,
                missing,
                done,
                detail,
            } => fencing_failed(m, request, missing, done, detail),
        }
    }
}

impl MaintenanceNotice {
    /// The words of a notice about a maintenance window, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            MaintenanceNotice::Started {
                window,
                duration_secs,
                phase,
                waiting,
            } => maintenance_started(m, window, *duration_secs, *phase, waiting.as_deref()),
            MaintenanceNotice::Ended {
                window,
                phase,
                at,
                lost_since,
            } => maintenance_ended(m, window, *phase, *at, *lost_since),
            MaintenanceNotice::DrMemberLost { member, down } => dr_member_lost(m, member, down),
        }
    }
}

impl DrillNotice {
    /// The words of a notice about a DR drill, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            DrillNotice::Requested {
                candidate,
                primary,
                started_by,
                loss,
                expires_at,
                ..
            } => drill_requested(
                m,
                candidate,
                primary.as_deref(),
                started_by.as_deref(),
                loss,
                *expires_at,
            ),
            DrillNotice::Closed { request, end } => drill_closed(m, request, end),
        }
    }
}

impl SwitchoverNotice {
    /// The words of a notice about a switchover, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            SwitchoverNotice::Requested {
                primary,
                candidate,
                started_by,
                partners_alive,
                loss,
                expires_at,
                ..
            } => switchover_requested(
                m,
                primary.as_deref(),
                candidate,
                started_by.as_deref(),
                partners_alive,
                loss,
                *expires_at,
            ),
            SwitchoverNotice::Approved {
                request,
                candidate,
                approvers,
                accept_loss,
            } => switchover_approved(m, request, candidate, approvers, *accept_loss),
            SwitchoverNotice::Closed {
                request,
                candidate,
                primary,
                end,
            } => switchover_closed(m, request, candidate, primary.as_deref(), end),
            SwitchoverNotice::Done {
                request,
                member,
                old,
                epoch,
                fencing,
            } => switchover_done(m, request, member, old, *epoch, fencing.as_ref()),
        }
    }
}

impl FailbackNotice {
    /// The words of a notice about a failback, about mirror `m`.
    pub fn words(&self, m: &Mirror) -> Words {
        match self {
            FailbackNotice::Requested {
                primary,
                to,
                by,
                fenced,
                expires_at,
                ..
            } => failback_requested(m, primary, to, by, fenced, *expires_at),
            FailbackNotice::MoreApprovals {
                candidate,
                approvals,
                required,
                approvers,
                ..
            } => failback_more_approvals(m, candidate, *approvals, *required, approvers),
            FailbackNotice::Closed {
                request,
                candidate,
                primary,
                end,
            } => failback_closed(m, request, candidate, primary.as_deref(), end),
        }
    }
}

/// The words of [`MirrorNotice::FailedOver`].
fn failed_over(m: &Mirror, old: &str, new: &str, since: DateTime<Utc>, epoch: u64) -> Words {
    let name = &m.name;
    said(
        format!("{name}: IRIS failed over from {old} to {new}"),
        vec![
            format!("New primary: {new} (since {})", clock(since)),
            format!("Former primary: {old}"),
            format!("Epoch: {epoch}"),
        ],
        format!(
            "Nothing to approve. Find out why {old} failed and bring it back as backup to restore high availability."
        ),
    )
}

/// The words of [`MirrorNotice::FailedBack`].
fn failed_back(m: &Mirror, old: &str, new: &str, epoch: u64) -> Words {
    let name = &m.name;
    said(
        format!("{name}: failed back, {new} is primary"),
        vec![format!("Former primary: {old}"), format!("Epoch: {epoch}")],
        "Check that the DR members rejoin as async members.",
    )
}

/// The words of [`MirrorNotice::DrPrimary`].
fn dr_primary(m: &Mirror, member: &str, previous: &str, epoch: u64) -> Words {
    let name = &m.name;
    said(
        format!("{name}: DR member {member} is now primary (promoted outside mirrorgate)"),
        vec![format!("Previous primary: {previous}"), format!("Epoch: {epoch}")],
        "Confirm the promotion was intended and fence the primary region so it cannot take traffic back.",
    )
}

/// The words of [`MirrorNotice::DrPrimaryWithdrawing`].
fn dr_primary_withdrawing(m: &Mirror, member: &str, previous: &str, request: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: DR member {member} is now primary (promoted outside mirrorgate)"),
        vec![
            format!("Previous primary: {previous}"),
            format!("Request {request} withdrawn: its link no longer works"),
        ],
        "Confirm the promotion was intended and fence the primary region so it cannot take traffic back.",
    )
}

/// The words of [`MirrorNotice::PrimaryBack`].
fn primary_back(m: &Mirror, primary: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: primary {primary} is back"),
        vec![format!("Primary: {primary}")],
        "Nothing to do. A later loss within the cool-down is recorded without a new alert.",
    )
}

/// The words of [`MirrorNotice::Degraded`].
fn degraded(m: &Mirror, primary: &str, down: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: backup {down} is down, no high availability"),
        vec![format!("Primary: {primary}"), format!("Down: {down}")],
        format!("Bring {down} back as backup; until then a failure of {primary} needs a DR promotion."),
    )
}

/// The words of [`MirrorNotice::HaRestored`].
fn ha_restored(m: &Mirror, primary: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: high availability restored"),
        vec![format!("Primary: {primary}")],
        "Nothing to do.",
    )
}

/// The words of [`MirrorNotice::NoCandidate`].
fn no_candidate(m: &Mirror, lost_since: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
        format!("{name}: primary lost and no healthy DR member to promote"),
        vec![format!("Lost since: {}", clock(lost_since))],
        "Check the DR members; mirrorgate proposes a promotion as soon as one is healthy.",
    )
}

/// The words of [`Notice::MoreApprovals`].
fn more_approvals(m: &Mirror, approvals: usize, required: usize, approved_by: &[String], of: &Notice) -> Words {
    let Words {
        headline, mut facts, ..
    } = words(of, m);
    facts.insert(0, format!("Approved so far by: {}", approved_by.join(", ")));
    said(
        format!("{approvals} of {required} approvals: {headline}"),
        facts,
        format!(
            "Another person must approve ({} more). Use this new link; each link decides once.",
            required - approvals
        ),
    )
}

/// The words of [`PromotionNotice::WithdrawnPrimaryBack`].
fn request_withdrawn_primary_back(m: &Mirror, request: &str, primary: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: primary {primary} is back; promotion request withdrawn"),
        vec![format!("Request: {request}"), format!("Primary: {primary}")],
        "Nothing to approve: the link no longer works. Find out why the primary was unreachable.",
    )
}

/// The words of [`PromotionNotice::WithdrawnWitness`].
fn request_withdrawn_witness(m: &Mirror, request: &str, who: &str, evidence: &str) -> Words {
    let name = &m.name;
    said(
    format!("{name}: promotion request withdrawn, {who} is connected to a primary"),
    vec![
        format!("Request: {request}"),
        format!("Evidence: {evidence}: it is connected to a primary, so one exists"),
    ],
    format!("Nothing to approve: the link no longer works. Find out which member is primary (the Mirror Monitor on {who}) and why mirrorgate does not hear from it."),
)
}

/// The words of [`PromotionNotice::Expired`].
fn request_expired(m: &Mirror, request: &str, candidate: &str, again: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
        format!("{name}: promotion request expired, nothing promoted"),
        vec![format!("Request: {request}"), format!("Candidate was: {candidate}")],
        format!(
            "If the primary is still lost at {}, mirrorgate sends a new request.",
            clock(again)
        ),
    )
}

/// The words of [`PromotionNotice::Rejected`].
fn promotion_rejected(m: &Mirror, request: &str, candidate: &str, by: &str, again: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
        format!("{name}: promotion of {candidate} rejected by {by}"),
        vec![format!("Request: {request}")],
        format!(
            "Nothing will be promoted. If the primary is still lost at {}, mirrorgate asks again.",
            clock(again)
        ),
    )
}

/// The words of [`PromotionNotice::Refused`].
fn promotion_refused(m: &Mirror, request: &str, candidate: &str, by: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: approval refused, {candidate} is unhealthy"),
        vec![format!("Request: {request}"), format!("Approved by: {by}")],
        "mirrorgate proposes another candidate if one is healthy.",
    )
}

/// The words of [`PromotionNotice::SplitBrain`].
fn split_brain_during_promotion(m: &Mirror, request: &str, member: &str, candidate: &str) -> Words {
    let name = &m.name;
    said(
    format!("{name}: SPLIT BRAIN risk, {member} is primary again while {candidate} is being promoted"),
    vec![format!("Request: {request}"), format!("Back as primary: {member}")],
    format!("Decide now which one stays primary: stop traffic to the other and shut down IRIS on it. Fence the primary region if {candidate} stays primary."),
)
}

/// The words of [`PromotionNotice::Succeeded`].
fn promotion_succeeded(m: &Mirror, request: &str, candidate: &str, approvers: &[String], epoch: u64) -> Words {
    let name = &m.name;
    said(
        format!("{name}: {candidate} is now primary (DR promotion done)"),
        vec![
            format!("Request: {request}"),
            format!("Approved by: {}", approvers.join(", ")),
            format!("Epoch: {epoch}"),
        ],
        "Check the applications reconnect. Keep the primary region fenced until you fail back on purpose.",
    )
}

/// The words of [`PromotionNotice::TimedOut`].
fn promotion_timed_out(m: &Mirror, request: &str, candidate: &str, approved_at: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
        format!("{name}: {candidate} did not become primary in time"),
        vec![
            format!("Request: {request}"),
            format!("Approved at: {}", clock(approved_at)),
        ],
        format!("Log in to {candidate} and check the mirror monitor and the promotion command's output."),
    )
}

/// The words of [`PromotionNotice::Failed`].
fn promotion_failed(m: &Mirror, request: &str, candidate: &str, detail: &str) -> Words {
    let name = &m.name;
    said(
    format!("{name}: promotion of {candidate} FAILED"),
    vec![format!("Request: {request}"), format!("What failed: {detail}")],
    format!("Promote {candidate} by hand (^MIRROR on the member: iris/README.md section 7) or fix the failure; mirrorgate will not retry it, nor propose another promotion before a primary is seen again."),
)
}

/// The words of [`PromotionNotice::SsmAgentOffline`].
fn ssm_agent_offline(m: &Mirror, member: &str, detail: &str, since: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
    format!("{name}: SSM agent of {member} not Online, a promotion would not run"),
    vec![
        format!("Best DR candidate: {member}"),
        format!("SSM says: {detail} (since {})", clock(since)),
    ],
    format!(
        "Start the SSM agent on {member} (systemctl start amazon-ssm-agent) or restore its path to SSM; until then a promotion of {member} must be done by hand."
    ),
)
}

/// The words of [`MaintenanceNotice::DrMemberLost`].
fn dr_member_lost(m: &Mirror, member: &str, down: &DownEvidence) -> Words {
    let name = &m.name;
    said(
    format!("{name}: DR member {member} is down during maintenance"),
    vec![format!("{member}: {}", down_words(down))],
    format!("Patching the failover members does not explain this. Bring {member} back: while the failover members are being patched, it is what a promotion would need."),
)
}

/// The words of [`FencingNotice::Withdrawn`].
fn fencing_withdrawn(m: &Mirror, request: &str, primary: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: fencing request withdrawn, {primary} is primary now"),
        vec![format!("Request: {request}"), format!("Primary: {primary}")],
        "Nothing to approve: the link no longer works. Nothing was fenced.",
    )
}

/// The words of [`FencingNotice::Expired`].
fn fencing_expired(m: &Mirror, request: &str, members: &[String], primary: &str, again: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
        format!("{name}: fencing request expired, {} NOT fenced", members.join(", ")),
        vec![
            format!("Request: {request}"),
            format!("Primary now: {primary} (unchanged)"),
        ],
        format!(
            "Fence them by hand: {}. If the former region is still heard from at {}, mirrorgate asks again.",
            fence_by_hand(m),
            clock(again)
        ),
    )
}

/// The words of [`FencingNotice::Rejected`].
fn fencing_rejected(m: &Mirror, request: &str, members: &[String], by: &str, again: DateTime<Utc>) -> Words {
    let name = &m.name;
    said(
    format!("{name}: fencing of {} rejected by {by}", members.join(", ")),
    vec![format!("Request: {request}")],
    format!(
        "mirrorgate fences nothing. Fence them by hand if they must not rejoin: {}. If the former region is still heard from at {}, mirrorgate asks again.",
        fence_by_hand(m),
        clock(again)
    ),
)
}

/// The words of [`FencingNotice::Approved`].
fn fencing_approved(m: &Mirror, request: &str, members: &[String], approvers: &[String], primary: &str) -> Words {
    let name = &m.name;
    said(
        format!(
            "{name}: fencing {} (approved by {})",
            members.join(", "),
            approvers.join(", ")
        ),
        vec![format!("Request: {request}"), format!("Primary: {primary} (unchanged)")],
        "Wait for the confirmation that the fencing commands were sent.",
    )
}

/// The words of [`FencingNotice::Sent`].
fn fencing_sent(m: &Mirror, request: &str, members: &[String], detail: &str, primary: &str) -> Words {
    let name = &m.name;
    said(
    format!("{name}: fencing sent to {}", members.join(", ")),
    vec![
        format!("Request: {request}"),
        format!("What was done: {detail}"),
        format!("Primary: {primary} (unchanged)"),
    ],
    format!(
        "Check each command's status (Run Command) and that the members no longer join the mirror. They stay fenced until you fail back on purpose ({RUNBOOK})."
    ),
)
}

/// The words of [`FencingNotice::Failed`].
fn fencing_failed(m: &Mirror, request: &str, missing: &[String], done: &[String], detail: &str) -> Words {
    let name = &m.name;
    said(
        format!("{name}: fencing of {} FAILED", missing.join(", ")),
        vec![
            format!("Request: {request}"),
            format!("What failed: {detail}"),
            format!("Fenced: {}", or_none(done)),
        ],
        format!("Fence them by hand now: {}.", fence_by_hand(m)),
    )
}

/// The words of [`FailbackNotice::MoreApprovals`].
fn failback_more_approvals(
    m: &Mirror,
    candidate: &str,
    approvals: usize,
    required: usize,
    approvers: &[String],
) -> Words {
    let name = &m.name;
    said(
        format!("{approvals} of {required} approvals: {name}: failback to {candidate}"),
        vec![format!("Approved so far by: {}", approvers.join(", "))],
        format!(
            "Another person must approve ({} more). Use this new link; each link decides once.",
            required - approvals
        ),
    )
}

/// The words of [`MirrorNotice::PrimaryLost`].
fn primary_lost(
    m: &Mirror,
    lost: Option<&str>,
    at: DateTime<Utc>,
    observers: &[Observer],
    dr_side_only: bool,
    dr_primary: bool,
    confirm_at: DateTime<Utc>,
) -> Words {
    let name = &m.name;
    let last = lost.unwrap_or("the primary");
    let mut facts = vec![
        format!("Lost since: {}", clock(at)),
        format!("Observers agreeing: {}", names(observers)),
        format!("Last known primary: {last}"),
    ];
    if dr_side_only {
        facts.push(partition_note(m));
    }
    let next = if dr_primary {
        format!(
            "{last} is a promoted DR member: no failover partner can take over. If it does not answer by {}, mirrorgate asks whether to promote another DR member.",
            clock(confirm_at)
        )
    } else {
        format!(
            "Nothing yet. IRIS may still fail over inside the region. If no member serves by {}, mirrorgate asks for a DR promotion decision.",
            clock(confirm_at)
        )
    };
    let headline = match lost {
        Some(primary) => format!("{name}: primary {primary} lost, confirming"),
        None => format!("{name}: primary lost, confirming"),
    };
    said(headline, facts, next)
}

/// The words of [`MirrorNotice::SplitBrain`].
fn split_brain(m: &Mirror, epoch: u64, primary: Option<&str>, claims: &[PrimaryClaim], stale: &[String]) -> Words {
    let name = &m.name;
    let mut facts = vec![format!(
        "mirrorgate's primary of epoch {epoch}: {}",
        primary.unwrap_or("unknown")
    )];
    for claim in claims {
        facts.push(format!(
            "{} ({}), primary since {}: {}",
            claim.member,
            m.member(&claim.member).map_or("", |m| m.region.as_str()),
            clock(claim.since),
            traffic_paths(m, claim)
        ));
    }
    let fence = if stale.len() == 1 {
        stale[0].clone()
    } else {
        "all but one of them".to_string()
    };
    let both: Vec<&str> = claims.iter().map(|c| c.member.as_str()).collect();
    said(
        format!("{name}: SPLIT BRAIN, {} both answer as primary", both.join(" and ")),
        facts,
        format!("Both take writes that diverge. Now: stop application traffic to {fence} (invert or disable its Route 53 health check, take it out of the load balancer), then fence it: shut down IRIS there, or set JoinMirror=0 in the [MirrorMember] section of its CPF. Approve nothing until one primary remains."),
    )
}

/// The words of [`PromotionNotice::Requested`].
fn promotion_requested(m: &Mirror, ask: &PromotionAsk) -> Words {
    let name = &m.name;
    let PromotionAsk {
        lost,
        lost_since,
        at,
        observers,
        dr_side_only,
        candidate,
        loss,
        others,
        expires_at,
        ..
    } = ask;
    let policy = m.policy.max_journal_latency_secs;
    let lost = lost.as_deref().unwrap_or("the primary");
    let mut facts = vec![
        format!(
            "Failed: {lost}; no member answers as primary since {} ({} ago)",
            clock(*lost_since),
            duration_words((*at - *lost_since).num_seconds())
        ),
        format!("Observers agreeing: {}", names(observers)),
    ];
    if *dr_side_only {
        facts.push(partition_note(m));
    }
    facts.push(format!("Would become primary: {candidate}"));
    facts.push(format!("Data that may be lost: {}", loss.words(candidate)));
    if !others.is_empty() {
        let others: Vec<String> = others.iter().map(|(c, l)| format!("{c} ({})", l.short())).collect();
        facts.push(format!(
            "Other DR members that could be promoted: {}",
            others.join(", ")
        ));
    }
    facts.push(format!(
        "After approval: mirrorgate runs the promotion on {candidate} and waits for it to report primary"
    ));
    facts.push(format!("The link expires at {}", clock(*expires_at)));
    if loss.over(policy) {
        facts.push(format!(
            "Over the policy's {policy} s limit: approving requires ticking \"I accept the data loss\""
        ));
    }
    said(
        format!(
            "{name} primary lost {}. Promote {candidate}? Loss {}",
            clock(*lost_since),
            loss.short()
        ),
        facts,
        "Open the link, check what will be lost, then approve or reject. Opening the link changes nothing.",
    )
}

/// The words of [`PromotionNotice::Approved`].
fn promotion_approved(
    m: &Mirror,
    request: &str,
    candidate: &str,
    approvers: &[String],
    loss: &LossEstimate,
    accept_loss: bool,
) -> Words {
    let name = &m.name;
    said(
        format!("{name}: promoting {candidate} (approved by {})", approvers.join(", ")),
        vec![
            format!("Request: {request}"),
            format!("Data that may be lost: {}", loss.words(candidate)),
            format!(
                "Accepted data loss explicitly: {}",
                if accept_loss { "yes" } else { "no" }
            ),
            if accept_loss {
                "Way: with partner if a former failover member's ISCAgent answers, otherwise without partner (accepted)"
                    .to_string()
            } else {
                "Way: with partner only; if no former failover member's ISCAgent answers, nothing is promoted (loss not accepted)".to_string()
            },
        ],
        format!("Wait for the confirmation that {candidate} reports primary."),
    )
}

/// The words of [`FencingNotice::FormerRegionBack`].
fn former_region_back(
    m: &Mirror,
    primary: &str,
    epoch: u64,
    evidence: &str,
    unfenced: &[String],
    claiming: &[String],
) -> Words {
    let name = &m.name;
    let why = if m.promotion.fence_document.is_none() {
        "no fencing document is configured (promotion.fence_document)"
    } else {
        "none of them has an instance_id in the topology"
    };
    let mut facts = vec![
        format!("Heard again: {evidence}"),
        format!("Primary now: {primary} (epoch {epoch}); it stays primary"),
        format!("Not fenced: {}", unfenced.join(", ")),
        format!("mirrorgate cannot fence them: {why}"),
    ];
    if !claiming.is_empty() {
        facts.push(format!(
            "URGENT: {} answers as primary: two primaries take writes that diverge",
            claiming.join(", ")
        ));
    }
    said(
        format!(
            "{name}: former primary region {} is back and NOT fenced; fence it by hand",
            m.primary_region
        ),
        facts,
        format!(
            "Fence them now, by hand: {}. Until then they can elect a primary again.",
            fence_by_hand(m)
        ),
    )
}

/// The words of [`FencingNotice::Requested`].
fn fencing_requested(m: &Mirror, ask: &FencingAsk) -> Words {
    let name = &m.name;
    let FencingAsk {
        primary,
        epoch,
        returned,
        claiming,
        targets,
        by_hand,
        expires_at,
        ..
    } = ask;
    let fence = targets.join(", ");
    let headline = if claiming.is_empty() {
        format!(
            "{name}: former primary region {} is back. Fence {fence}?",
            m.primary_region
        )
    } else {
        format!(
            "{name}: URGENT, {} answers as primary again. Fence {fence}?",
            claiming.join(", ")
        )
    };
    let mut facts = vec![format!(
        "Heard again: {}",
        returned.as_deref().unwrap_or("a member of the former primary region")
    )];
    if !claiming.is_empty() {
        facts.push(format!(
            "URGENT: {} answers as primary while {primary} is primary: two primaries take writes that diverge (split brain)",
            claiming.join(", ")
        ));
    }
    facts.push(format!(
        "Primary now: {primary} (epoch {epoch}); it stays primary, fencing never touches it"
    ));
    let described: Vec<String> = targets
        .iter()
        .map(|name| {
            let instance = m.member(name).and_then(|m| m.instance_id.clone()).unwrap_or_default();
            format!("{name} ({instance})")
        })
        .collect();
    facts.push(format!("Would be fenced: {}", described.join(", ")));
    if let Some(document) = &m.promotion.fence_document {
        facts.push(format!(
            "After approval: mirrorgate runs the SSM document {document} with Method={} on each",
            m.promotion.fence_method.as_str()
        ));
    }
    if !by_hand.is_empty() {
        facts.push(format!(
            "Not fenced by mirrorgate (no instance_id): {}: fence by hand",
            by_hand.join(", ")
        ));
    }
    facts.push(
        "Until fenced, the former failover members can elect a primary again, and Route 53 failover routing may send clients back to them".into(),
    );
    facts.push(format!("The link expires at {}", clock(*expires_at)));
    said(
        headline,
        facts,
        format!(
            "Open the link and approve to fence them, or reject and fence by hand. Fencing is one way until you fail back on purpose ({RUNBOOK})."
        ),
    )
}

/// The words of [`DrillNotice::Requested`].
fn drill_requested(
    m: &Mirror,
    candidate: &str,
    primary: Option<&str>,
    started_by: Option<&str>,
    loss: &LossEstimate,
    expires_at: DateTime<Utc>,
) -> Words {
    let name = &m.name;
    let mut facts = vec![
        format!(
            "{DRILL}: nothing failed and nothing will be promoted; started by {}",
            started_by.unwrap_or("an operator")
        ),
        format!("Primary now: {} (unchanged)", primary.unwrap_or("unknown")),
        format!("Would become primary: {candidate}"),
        format!("Data that may be lost: {}", loss.words(candidate)),
    ];
    facts.push(match &m.promotion.drill_document {
        Some(document) => format!(
            "After approval: mirrorgate runs the drill document {document} on {candidate} (not the promote document)"
        ),
        None => "After approval: nothing is run (no drill document configured)".into(),
    });
    facts.push(format!("The link expires at {}", clock(expires_at)));
    said(
        format!(
            "{DRILL} {name}: no real loss. Would promote {candidate}? Loss {}",
            loss.short()
        ),
        facts,
        "Rehearse it: open the link, check what would be lost, then approve or reject as you would for a real loss. Nothing is promoted.",
    )
}

/// The words of [`DrillNotice::Closed`].
fn drill_closed(m: &Mirror, request: &str, end: &DrillEnd) -> Words {
    let name = &m.name;
    let report = format!("Drill over. See the report: mirrorgate drill-report {request}");
    let (headline, next) = match end {
        DrillEnd::Withdrawn => (
            format!("{DRILL} {name}: drill {request} withdrawn, a REAL loss comes first"),
            "The drill's link no longer works. Attend to the real alert about the primary.".to_string(),
        ),
        DrillEnd::Expired => (
            format!("{DRILL} {name}: drill {request} expired without a decision"),
            format!(
                "Nothing was promoted. Find out why nobody decided: in a real loss the request would have expired too. See the report: mirrorgate drill-report {request}"
            ),
        ),
        DrillEnd::Rejected { by } => (format!("{DRILL} {name}: drill {request} rejected by {by}"), report),
        DrillEnd::Approved {
            approvers,
            candidate,
            executing,
        } => (
            format!(
                "{DRILL} {name}: drill {request} approved by {}; {candidate} NOT promoted",
                approvers.join(", ")
            ),
            if *executing {
                "Wait for the drill document's outcome; nothing is promoted.".to_string()
            } else {
                report
            },
        ),
        DrillEnd::Ran => (format!("{DRILL} {name}: drill document ran for {request}"), report),
        DrillEnd::Failed { detail } => (
            format!("{DRILL} {name}: drill document FAILED for {request}"),
            format!(
                "Fix what failed ({detail}) before a real loss needs the same path; see the report: mirrorgate drill-report {request}"
            ),
        ),
    };
    said(
        headline,
        vec![
            format!("Drill: {request}"),
            format!("{DRILL}: nothing was promoted; phase and epoch unchanged"),
        ],
        next,
    )
}

/// The words of [`SwitchoverNotice::Requested`].
fn switchover_requested(
    m: &Mirror,
    primary: Option<&str>,
    candidate: &str,
    started_by: Option<&str>,
    partners_alive: &[String],
    loss: &LossEstimate,
    expires_at: DateTime<Utc>,
) -> Words {
    let name = &m.name;
    let primary = primary.unwrap_or("the primary");
    let mut facts = vec![
        format!("Planned: nothing failed; {primary} is primary now"),
        format!("Would become primary: {candidate} (DR async)"),
        format!(
            "Way: with partner (no loss); refused at approval unless a failover member is heard from ({})",
            if partners_alive.is_empty() {
                "none is right now".to_string()
            } else {
                partners_alive.join("; ")
            }
        ),
        format!("If it had to go without partner it may lose: {}", loss.words(candidate)),
    ];
    facts.push(match &m.promotion.fence_document {
        Some(document) => format!(
            "After {candidate} reports primary: the fencing document {document} runs on the former failover members"
        ),
        None => format!(
            "After {candidate} reports primary: fence the former failover members by hand (no fencing document configured)"
        ),
    });
    facts.push(format!("The link expires at {}", clock(expires_at)));
    said(
        format!(
            "{name}: PLANNED switchover from {primary} to {candidate}? Asked by {}",
            started_by.unwrap_or("an operator")
        ),
        facts,
        "Open the link and approve or reject. Opening the link changes nothing.",
    )
}

/// The words of [`SwitchoverNotice::Approved`].
fn switchover_approved(m: &Mirror, request: &str, candidate: &str, approvers: &[String], accept_loss: bool) -> Words {
    let name = &m.name;
    let way = if accept_loss {
        "Way: with partner if a failover member's ISCAgent answers, otherwise without partner (loss accepted)"
    } else {
        "Way: with partner only (no loss); if no failover member's ISCAgent answers, nothing is promoted"
    };
    said(
        format!(
            "{name}: switching over to {candidate} (approved by {})",
            approvers.join(", ")
        ),
        vec![format!("Switchover: {request}"), way.to_string()],
        format!("Wait for the confirmation that {candidate} reports primary."),
    )
}

/// The words of [`SwitchoverNotice::Closed`].
fn switchover_closed(m: &Mirror, request: &str, candidate: &str, primary: Option<&str>, end: &PlannedEnd) -> Words {
    let name = &m.name;
    let (headline, next) = match end {
        PlannedEnd::Rejected { by } => (
            format!("{name}: switchover {request} rejected by {by}"),
            "Nothing was promoted; the primary stays.".to_string(),
        ),
        PlannedEnd::Withdrawn => (
            format!("{name}: switchover {request} withdrawn, the mirror changed"),
            "Nothing was promoted. Attend to the mirror's other alerts; ask again when it is normal.".to_string(),
        ),
        PlannedEnd::Expired => (
            format!("{name}: switchover {request} expired without a decision"),
            "Nothing was promoted. Ask again with mirrorgate switchover.".to_string(),
        ),
        PlannedEnd::Approved { approvers } => (
            format!("{name}: switching over to {candidate} (approved by {})", approvers.join(", ")),
            format!("Wait for the confirmation that {candidate} reports primary."),
        ),
        PlannedEnd::TimedOut => (
            format!("{name}: switchover to {candidate} did not complete in time"),
            format!(
                "Log in to {candidate} and check the Mirror Monitor and the promotion command's output; find out which member is primary."
            ),
        ),
        PlannedEnd::Failed { detail } => (
            format!("{name}: switchover to {candidate} FAILED"),
            format!("What failed: {detail}. The primary did not change; fix the failure, then ask again."),
        ),
    };
    said(
        headline,
        vec![
            format!("Switchover: {request}"),
            format!("Primary: {}", primary.unwrap_or("unknown")),
        ],
        next,
    )
}

/// The words of [`SwitchoverNotice::Done`].
fn switchover_done(
    m: &Mirror,
    request: &str,
    member: &str,
    old: &str,
    epoch: u64,
    fencing: Option<&(String, Vec<String>)>,
) -> Words {
    let name = &m.name;
    let mut facts = vec![
        format!("Switchover: {request}"),
        format!("Former primary: {old}"),
        format!("Epoch: {epoch}"),
    ];
    let next = match fencing {
        Some((id, targets)) => {
            facts.push(format!(
                "Fencing {} ({id}, approved with the switchover)",
                targets.join(", ")
            ));
            "Check the applications reconnect and the fencing commands' status. Fail back with mirrorgate failback when the primary region should serve again."
        }
        None => {
            facts
                .push("Not fenced by mirrorgate: no fencing document or no failover member with an instance_id".into());
            "Check the applications reconnect, and fence the former failover members by hand."
        }
    };
    said(format!("{name}: switchover done, {member} is primary"), facts, next)
}

/// The words of [`FailbackNotice::Requested`].
fn failback_requested(
    m: &Mirror,
    primary: &str,
    to: &str,
    by: &str,
    fenced: &[String],
    expires_at: DateTime<Utc>,
) -> Words {
    let name = &m.name;
    let unfence = if fenced.is_empty() {
        "Nothing is fenced: nothing to un-fence".to_string()
    } else {
        format!(
            "Un-fenced first: {} (fencing document, Method=unfence)",
            fenced.join(", ")
        )
    };
    said(
        format!("{name}: PLANNED failback from {primary} to {to}? Asked by {by}"),
        vec![
            format!("Planned: {primary} is primary now"),
            unfence,
            format!("Then: {to}, once connected to {primary}, becomes its failover partner; it takes over when IRIS on {primary} is stopped"),
            format!("The link expires at {}", clock(expires_at)),
        ],
        "Open the link and approve or reject. Opening the link changes nothing.",
    )
}

/// The words of [`FailbackNotice::Closed`].
fn failback_closed(m: &Mirror, request: &str, candidate: &str, primary: Option<&str>, end: &PlannedEnd) -> Words {
    let name = &m.name;
    let (headline, next) = match end {
        PlannedEnd::Rejected { by } => (
            format!("{name}: failback {request} rejected by {by}"),
            "Nothing was un-fenced or promoted; the DR primary stays.".to_string(),
        ),
        PlannedEnd::Withdrawn => (
            format!("{name}: failback {request} withdrawn, the mirror changed"),
            "Nothing was un-fenced or promoted. Attend to the mirror's other alerts.".to_string(),
        ),
        PlannedEnd::Expired => (
            format!("{name}: failback {request} expired without a decision"),
            "Nothing was un-fenced or promoted. Ask again with mirrorgate failback.".to_string(),
        ),
        PlannedEnd::Approved { approvers } => (
            format!("{name}: failing back to {candidate} (approved by {})", approvers.join(", ")),
            format!("Wait for the confirmation that {candidate} reports primary."),
        ),
        PlannedEnd::TimedOut => (
            format!("{name}: failback to {candidate} did not complete in time"),
            format!("Log in to {candidate} and check the Mirror Monitor and the commands' output; find out which member is primary."),
        ),
        PlannedEnd::Failed { detail } => (
            format!("{name}: failback to {candidate} FAILED"),
            format!("What failed: {detail}. The DR primary stays; fix the failure, then ask again."),
        ),
    };
    said(
        headline,
        vec![
            format!("Failback: {request}"),
            format!("Primary: {}", primary.unwrap_or("unknown")),
        ],
        next,
    )
}

/// The words of [`PromotionNotice::ScriptFailed`].
fn promote_script_failed(m: &Mirror, request: &str, candidate: &str, report: &CommandReport) -> Words {
    let name = &m.name;
    let status = report.status.as_str();
    let mut facts = vec![
        format!("Request: {request}"),
        format!("Promote script: {} on {}", report.document, report.member),
        format!("Status: {status}"),
        format!("Command: {}", report.command_id),
    ];
    facts.extend(script_output(report.output.as_deref(), report.unread.as_deref()));
    said(
        format!("{name}: promote script on {candidate} {status}"),
        facts,
        format!(
            "Read the output above (and the run-command log group), then promote {candidate} by hand or fix the cause; mirrorgate will not retry it, nor propose another promotion before a primary is seen again."
        ),
    )
}

/// The words of [`MaintenanceNotice::Started`].
fn maintenance_started(
    m: &Mirror,
    window: &MaintenanceWindow,
    duration_secs: u64,
    phase: Phase,
    waiting: Option<&str>,
) -> Words {
    let name = &m.name;
    let MaintenanceWindow {
        reason,
        by,
        started_at,
        until,
        ..
    } = window;
    let length = duration_words(secs(duration_secs).num_seconds());
    let mut facts = vec![
        format!("Reason: {reason}"),
        format!("Started by: {by} at {}", clock(*started_at)),
        format!("Ends by itself at: {} ({length})", until.format("%Y-%m-%d %H:%M UTC")),
        format!("Phase now: {phase}"),
    ];
    if let Some(open) = waiting {
        facts.push(format!(
            "Promotion request {open} was raised before the window and still waits for a decision: the window does not withdraw it"
        ));
    }
    said(
        format!("{name}: maintenance until {}: {reason}", clock(*until)),
        facts,
        format!(
            "Nothing to do. Until {}: no promotion request is raised; a lost primary, a failover and a backup down are told as info; two primaries or a DR member lost are alerted as usual. End it early with: mirrorgate maintenance end {name} --by NAME",
            clock(*until)
        ),
    )
}

/// The words of [`MaintenanceNotice::Ended`].
fn maintenance_ended(
    m: &Mirror,
    window: &MaintenanceWindow,
    phase: Phase,
    at: DateTime<Utc>,
    lost_since: Option<DateTime<Utc>>,
) -> Words {
    let name = &m.name;
    let how = maintenance_end(window.ended_by.as_deref());
    let mut facts = vec![
        format!("Reason was: {}", window.reason),
        format!("Started by {} at {}", window.by, clock(window.started_at)),
        format!("Ended: {how} at {}", clock(window.ended_at.unwrap_or(at))),
        format!("Phase now: {phase}"),
    ];
    if let Some(since) = lost_since {
        facts.push(format!(
            "No member answers as primary since {} ({} ago): the confirmation window counts from then",
            clock(since),
            duration_words((at - since).num_seconds())
        ));
    }
    let next = if phase == Phase::Normal {
        "Nothing to do.".to_string()
    } else {
        format!(
            "{name} is {phase}, not normal: the normal rules apply now, and a promotion request follows if the primary stays lost for the confirmation window. If the work is not finished, start a new window."
        )
    };
    said(format!("{name}: maintenance over ({how}), phase {phase}"), facts, next)
}

/// How a maintenance window ended, in words: "ended early by NAME" or "its time ran out".
pub fn maintenance_end(ended_by: Option<&str>) -> String {
    match ended_by {
        Some(by) => format!("ended early by {by}"),
        None => "its time ran out".to_string(),
    }
}

#[cfg(test)]
mod tests;
