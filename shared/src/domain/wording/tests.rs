//! The words of the notices: what each says, the severity each kind is told with,
//! and that every alert fits its SMS and subject.

use chrono::{Duration, TimeZone};

use super::*;
use crate::domain::alert::{Alert, AlertKind, Severity, MAX_SMS, MAX_SUBJECT};
use crate::domain::loss::LossBasis;
use crate::domain::signal::{MemberStatus, RunStatus};

const A: &str = "HSPROD-A";
const B: &str = "HSPROD-B";
const DR1: &str = "HSPROD-DR1";
const DR2: &str = "HSPROD-DR2";

fn hsprod() -> Mirror {
    crate::topology::example()
        .mirror("HSPROD")
        .cloned()
        .expect("HSPROD is defined")
}

/// Seconds after 03:00:00 UTC.
fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::seconds(secs)
}

fn latency(seconds: f64) -> LossEstimate {
    LossEstimate {
        seconds: Some(seconds),
        basis: LossBasis::Latency { measured_at: t(5) },
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn window() -> MaintenanceWindow {
    MaintenanceWindow {
        started_at: t(0),
        until: t(7200),
        reason: "OS patching".into(),
        by: "Ravi Patel".into(),
        ended_at: None,
        ended_by: None,
        dr_lost_alerted: Vec::new(),
    }
}

fn promotion_ask(candidate: &str) -> PromotionAsk {
    PromotionAsk {
        request: "HSPROD-R1".into(),
        lost: Some(A.into()),
        lost_since: t(10),
        at: t(190),
        observers: vec![Observer::Route53, Observer::Instance],
        dr_side_only: false,
        candidate: candidate.into(),
        loss: latency(12.0),
        others: vec![(DR1.into(), latency(40.0))],
        expires_at: t(1990),
    }
}

fn fencing_ask(claiming: &[&str], targets: &[&str], by_hand: &[&str]) -> FencingAsk {
    FencingAsk {
        request: "HSPROD-R2".into(),
        primary: DR1.into(),
        epoch: 2,
        returned: Some("HSPROD-A's agent heartbeat at 03:16 UTC".into()),
        claiming: strings(claiming),
        targets: strings(targets),
        by_hand: strings(by_hand),
        expires_at: t(2800),
    }
}

/// One notice of every variant (and of every severity a kind carries), about
/// the members named.
fn every_notice(a: &str, b: &str, dr: &str) -> Vec<Notice> {
    [
        primary_notices(a, b, dr),
        request_notices(a, dr),
        maintenance_and_fencing_notices(a, b, dr),
        planned_notices(a, b, dr),
    ]
    .concat()
}

/// The primary and high availability.
fn primary_notices(a: &str, b: &str, dr: &str) -> Vec<Notice> {
    let (a_, b_, dr_) = (a.to_string(), b.to_string(), dr.to_string());
    let request = "HSPROD-R1".to_string();
    vec![
        Notice::Mirror(MirrorNotice::FailedOver {
            old: a_.clone(),
            new: b_.clone(),
            since: t(60),
            epoch: 2,
        }),
        Notice::Mirror(MirrorNotice::FailedBack {
            old: dr_.clone(),
            new: a_.clone(),
            epoch: 3,
        }),
        Notice::Mirror(MirrorNotice::DrPrimary {
            member: dr_.clone(),
            previous: a_.clone(),
            epoch: 2,
        }),
        Notice::Mirror(MirrorNotice::DrPrimaryWithdrawing {
            member: dr_.clone(),
            previous: a_.clone(),
            request: request.clone(),
        }),
        Notice::Mirror(MirrorNotice::PrimaryBack { primary: a_.clone() }),
        Notice::Mirror(MirrorNotice::Degraded {
            primary: a_.clone(),
            down: b_.clone(),
        }),
        Notice::Mirror(MirrorNotice::HaRestored { primary: a_.clone() }),
        Notice::Mirror(MirrorNotice::PrimaryLost {
            lost: Some(a_.clone()),
            at: t(10),
            observers: vec![Observer::Probe, Observer::Asyncs],
            dr_side_only: true,
            dr_primary: false,
            confirm_at: t(190),
        }),
        Notice::Mirror(MirrorNotice::PrimaryLost {
            lost: Some(dr_.clone()),
            at: t(10),
            observers: vec![Observer::Route53, Observer::Instance],
            dr_side_only: false,
            dr_primary: true,
            confirm_at: t(190),
        }),
        Notice::Mirror(MirrorNotice::NoCandidate { lost_since: t(10) }),
        Notice::Mirror(MirrorNotice::SplitBrain {
            epoch: 2,
            primary: Some(b_.clone()),
            claims: vec![claim(a), claim(b)],
            stale: vec![a_.clone()],
        }),
    ]
}

/// Promotion requests and what becomes of them.
fn request_notices(a: &str, dr: &str) -> Vec<Notice> {
    let (a_, dr_) = (a.to_string(), dr.to_string());
    let request = "HSPROD-R1".to_string();
    let mut ask = promotion_ask(dr);
    ask.lost = Some(a_.clone());
    vec![
        Notice::Promotion(PromotionNotice::Requested(ask.clone())),
        Notice::Reminder(Box::new(Notice::Promotion(PromotionNotice::Requested(ask.clone())))),
        Notice::MoreApprovals {
            approvals: 1,
            required: 2,
            approved_by: strings(&["Dana Whitfield"]),
            of: Box::new(Notice::Promotion(PromotionNotice::Requested(ask))),
        },
        Notice::Promotion(PromotionNotice::WithdrawnPrimaryBack {
            request: request.clone(),
            primary: a_.clone(),
        }),
        Notice::Promotion(PromotionNotice::WithdrawnWitness {
            request: request.clone(),
            who: dr_.clone(),
            evidence: format!("{dr} reports Connected"),
        }),
        Notice::Promotion(PromotionNotice::Expired {
            request: request.clone(),
            candidate: dr_.clone(),
            again: t(2800),
        }),
        Notice::Promotion(PromotionNotice::Rejected {
            request: request.clone(),
            candidate: dr_.clone(),
            by: "Dana Whitfield".into(),
            again: t(1200),
        }),
        Notice::Promotion(PromotionNotice::Refused {
            request: request.clone(),
            candidate: dr_.clone(),
            by: "Dana Whitfield".into(),
        }),
        Notice::Promotion(PromotionNotice::Approved {
            request: request.clone(),
            candidate: dr_.clone(),
            approvers: strings(&["Dana Whitfield"]),
            loss: latency(12.0),
            accept_loss: true,
        }),
        Notice::Promotion(PromotionNotice::SplitBrain {
            request: request.clone(),
            member: a_.clone(),
            candidate: dr_.clone(),
        }),
        Notice::Promotion(PromotionNotice::Succeeded {
            request: request.clone(),
            candidate: dr_.clone(),
            approvers: strings(&["Dana Whitfield"]),
            epoch: 2,
        }),
        Notice::Promotion(PromotionNotice::TimedOut {
            request: request.clone(),
            candidate: dr_.clone(),
            approved_at: t(300),
        }),
        Notice::Promotion(PromotionNotice::Failed {
            request: request.clone(),
            candidate: dr_.clone(),
            detail: "SSM command 5a2c: Failed (exit 1)".into(),
        }),
        Notice::Promotion(PromotionNotice::ScriptFailed {
            request: request.clone(),
            candidate: dr_.clone(),
            report: CommandReport {
                member: dr_.clone(),
                command_id: "5a2c".into(),
                document: "mirrorgate-promote".into(),
                status: RunStatus::Failed,
                requested_at: None,
                comment: None,
                output: Some("ERROR #2138: cannot become primary\n".into()),
                unread: None,
            },
        }),
        Notice::Promotion(PromotionNotice::SsmAgentOffline {
            member: dr_.clone(),
            detail: "ConnectionLost".into(),
            since: t(60),
        }),
    ]
}

/// Maintenance windows and fencing.
fn maintenance_and_fencing_notices(a: &str, b: &str, dr: &str) -> Vec<Notice> {
    let (a_, b_, dr_) = (a.to_string(), b.to_string(), dr.to_string());
    let request = "HSPROD-R1".to_string();
    let fencing = FencingAsk {
        primary: dr_.clone(),
        ..fencing_ask(&[a], &[a, b], &[])
    };
    vec![
        Notice::Maintenance(MaintenanceNotice::Started {
            window: window(),
            duration_secs: 7200,
            phase: Phase::Normal,
            waiting: None,
        }),
        Notice::Maintenance(MaintenanceNotice::Ended {
            window: MaintenanceWindow {
                ended_at: Some(t(3600)),
                ended_by: Some("Ravi Patel".into()),
                ..window()
            },
            phase: Phase::Normal,
            at: t(3600),
            lost_since: None,
        }),
        Notice::Maintenance(MaintenanceNotice::Ended {
            window: window(),
            phase: Phase::PrimaryLost,
            at: t(7200),
            lost_since: Some(t(6000)),
        }),
        Notice::Maintenance(MaintenanceNotice::DrMemberLost {
            member: dr_.clone(),
            down: DownEvidence {
                reports: Some(MemberStatus::Down),
                ..DownEvidence::default()
            },
        }),
        Notice::Fencing(FencingNotice::FormerRegionBack {
            primary: dr_.clone(),
            epoch: 2,
            evidence: format!("{a}'s agent heartbeat"),
            unfenced: vec![a_.clone(), b_.clone()],
            claiming: vec![a_.clone()],
        }),
        Notice::Fencing(FencingNotice::Requested(fencing.clone())),
        Notice::Reminder(Box::new(Notice::Fencing(FencingNotice::Requested(fencing.clone())))),
        Notice::MoreApprovals {
            approvals: 1,
            required: 2,
            approved_by: strings(&["Dana Whitfield"]),
            of: Box::new(Notice::Fencing(FencingNotice::Requested(fencing))),
        },
        Notice::Fencing(FencingNotice::Withdrawn {
            request: request.clone(),
            primary: a_.clone(),
        }),
        Notice::Fencing(FencingNotice::Expired {
            request: request.clone(),
            members: vec![a_.clone(), b_.clone()],
            primary: dr_.clone(),
            again: t(3000),
        }),
        Notice::Fencing(FencingNotice::Rejected {
            request: request.clone(),
            members: vec![a_.clone(), b_.clone()],
            by: "Dana Whitfield".into(),
            again: t(3000),
        }),
        Notice::Fencing(FencingNotice::Approved {
            request: request.clone(),
            members: vec![a_.clone(), b_.clone()],
            approvers: strings(&["Dana Whitfield"]),
            primary: dr_.clone(),
        }),
        Notice::Fencing(FencingNotice::Sent {
            request: request.clone(),
            members: vec![a_.clone(), b_.clone()],
            detail: "sent".into(),
            primary: dr_.clone(),
        }),
        Notice::Fencing(FencingNotice::Failed {
            request: request.clone(),
            missing: vec![b_.clone()],
            done: vec![a_.clone()],
            detail: "SendCommand failed".into(),
        }),
    ]
}

/// Drills, switchovers and failbacks.
fn planned_notices(a: &str, b: &str, dr: &str) -> Vec<Notice> {
    let (a_, b_, dr_) = (a.to_string(), b.to_string(), dr.to_string());
    let request = "HSPROD-R1".to_string();
    let closed = |end: PlannedEnd| {
        [
            Notice::Switchover(SwitchoverNotice::Closed {
                request: request.clone(),
                candidate: dr_.clone(),
                primary: Some(a_.clone()),
                end: end.clone(),
            }),
            Notice::Failback(FailbackNotice::Closed {
                request: request.clone(),
                candidate: a_.clone(),
                primary: Some(dr_.clone()),
                end,
            }),
        ]
    };
    let mut notices = Vec::new();
    let drill = Notice::Drill(DrillNotice::Requested {
        request: request.clone(),
        candidate: dr_.clone(),
        primary: Some(a_.clone()),
        started_by: Some("Ravi Patel".into()),
        loss: latency(1.8),
        expires_at: t(1800),
    });
    let switchover = Notice::Switchover(SwitchoverNotice::Requested {
        request: request.clone(),
        primary: Some(a_.clone()),
        candidate: dr_.clone(),
        started_by: Some("Ravi Patel".into()),
        partners_alive: vec![format!("{b}'s agent heartbeat")],
        loss: latency(1.8),
        expires_at: t(1800),
    });
    notices.extend([
        drill.clone(),
        Notice::MoreApprovals {
            approvals: 1,
            required: 2,
            approved_by: strings(&["Ravi Patel"]),
            of: Box::new(drill),
        },
        switchover.clone(),
        Notice::MoreApprovals {
            approvals: 1,
            required: 2,
            approved_by: strings(&["Ravi Patel"]),
            of: Box::new(switchover),
        },
        Notice::Switchover(SwitchoverNotice::Approved {
            request: request.clone(),
            candidate: dr_.clone(),
            approvers: strings(&["Dana Whitfield"]),
            accept_loss: false,
        }),
        Notice::Switchover(SwitchoverNotice::Done {
            request: request.clone(),
            member: dr_.clone(),
            old: a_.clone(),
            epoch: 2,
            fencing: Some(("HSPROD-R2".into(), vec![a_.clone(), b_.clone()])),
        }),
        Notice::Failback(FailbackNotice::Requested {
            request: request.clone(),
            primary: dr_.clone(),
            to: a_.clone(),
            by: "Ravi Patel".into(),
            fenced: vec![a_.clone(), b_.clone()],
            expires_at: t(1800),
        }),
        Notice::Failback(FailbackNotice::MoreApprovals {
            request: request.clone(),
            candidate: a_.clone(),
            approvals: 1,
            required: 2,
            approvers: strings(&["Ravi Patel"]),
        }),
    ]);
    for end in [
        DrillEnd::Withdrawn,
        DrillEnd::Expired,
        DrillEnd::Rejected {
            by: "Dana Whitfield".into(),
        },
        DrillEnd::Approved {
            approvers: strings(&["Dana Whitfield"]),
            candidate: dr_.clone(),
            executing: true,
        },
        DrillEnd::Ran,
        DrillEnd::Failed {
            detail: "exit 1".into(),
        },
    ] {
        notices.push(Notice::Drill(DrillNotice::Closed {
            request: request.clone(),
            end,
        }));
    }
    for end in [
        PlannedEnd::Rejected {
            by: "Dana Whitfield".into(),
        },
        PlannedEnd::Withdrawn,
        PlannedEnd::Expired,
        PlannedEnd::Approved {
            approvers: strings(&["Dana Whitfield"]),
        },
        PlannedEnd::TimedOut,
        PlannedEnd::Failed {
            detail: "exit 1".into(),
        },
    ] {
        notices.extend(closed(end));
    }
    notices
}

fn claim(member: &str) -> PrimaryClaim {
    PrimaryClaim {
        member: member.into(),
        since: t(185),
        route53_healthy_at: Some(t(380)),
        probe_healthy_at: Some(t(380)),
        iris: Some((MemberStatus::Primary, t(380))),
    }
}

fn alert(m: &Mirror, notice: &Notice, link: Option<String>) -> Alert {
    let words = words(notice, m);
    Alert {
        id: format!("{}-A1", m.name),
        mirror: m.name.clone(),
        kind: notice.kind(),
        severity: notice.severity(),
        at: t(0),
        request: notice.request().map(str::to_string),
        headline: words.headline,
        facts: words.facts,
        next_step: words.next_step,
        link,
        notice: None,
    }
}

// ---- severity: one mapping, today's severities ------------------------------

/// Every alert kind, each once.
const EVERY_KIND: [AlertKind; 40] = [
    AlertKind::PrimaryLost,
    AlertKind::PrimaryBack,
    AlertKind::FailedOver,
    AlertKind::Degraded,
    AlertKind::HaRestored,
    AlertKind::PromotionRequested,
    AlertKind::PromotionReminder,
    AlertKind::ApprovalRecorded,
    AlertKind::PromotionApproved,
    AlertKind::PromotionRejected,
    AlertKind::PromotionRefused,
    AlertKind::RequestExpired,
    AlertKind::RequestWithdrawn,
    AlertKind::PromotionSucceeded,
    AlertKind::PromotionFailed,
    AlertKind::PromotionTimedOut,
    AlertKind::NoCandidate,
    AlertKind::SplitBrain,
    AlertKind::DrPrimary,
    AlertKind::FailedBack,
    AlertKind::MaintenanceStarted,
    AlertKind::MaintenanceEnded,
    AlertKind::DrMemberLost,
    AlertKind::FencingRequested,
    AlertKind::FencingReminder,
    AlertKind::FencingApproved,
    AlertKind::FencingRejected,
    AlertKind::FencingExpired,
    AlertKind::FencingSent,
    AlertKind::FencingFailed,
    AlertKind::FormerRegionBack,
    AlertKind::SsmAgentOffline,
    AlertKind::DrillRequested,
    AlertKind::DrillClosed,
    AlertKind::SwitchoverRequested,
    AlertKind::SwitchoverApproved,
    AlertKind::SwitchoverClosed,
    AlertKind::SwitchoverDone,
    AlertKind::FailbackRequested,
    AlertKind::FailbackClosed,
];

/// The severity of each kind as the README's alert table gives it, with the
/// kinds that carry more than one told apart by `notice`.
fn readme_severity(notice: &Notice) -> Severity {
    use Severity::{Critical, Info, Warning};
    match notice {
        Notice::Mirror(MirrorNotice::PrimaryLost { dr_primary, .. }) => [Warning, Critical][usize::from(*dr_primary)],
        Notice::Maintenance(MaintenanceNotice::Ended { phase, .. }) => {
            [Warning, Info][usize::from(*phase == Phase::Normal)]
        }
        Notice::Drill(DrillNotice::Closed { end, .. }) => match end {
            DrillEnd::Withdrawn | DrillEnd::Failed { .. } => Warning,
            _ => Info,
        },
        Notice::Switchover(SwitchoverNotice::Closed { end, .. })
        | Notice::Failback(FailbackNotice::Closed { end, .. }) => match end {
            PlannedEnd::Rejected { .. } | PlannedEnd::Expired => Info,
            PlannedEnd::Withdrawn | PlannedEnd::Approved { .. } => Warning,
            PlannedEnd::TimedOut | PlannedEnd::Failed { .. } => Critical,
        },
        _ => match notice.kind() {
            AlertKind::PrimaryBack | AlertKind::HaRestored | AlertKind::FailedBack | AlertKind::MaintenanceStarted => {
                Info
            }
            AlertKind::FailedOver
            | AlertKind::Degraded
            | AlertKind::DrPrimary
            | AlertKind::RequestWithdrawn
            | AlertKind::PromotionRejected
            | AlertKind::SsmAgentOffline
            | AlertKind::DrMemberLost
            | AlertKind::FencingRejected
            | AlertKind::FencingApproved
            | AlertKind::FencingSent
            | AlertKind::SwitchoverApproved
            | AlertKind::SwitchoverDone => Warning,
            _ => Critical,
        },
    }
}

#[test]
fn every_kind_is_told_by_some_notice_with_the_severity_of_the_readme() {
    let notices = every_notice(A, B, DR1);
    for kind in EVERY_KIND {
        assert!(
            notices.iter().any(|n| n.kind() == kind),
            "no notice is told as {kind:?}"
        );
    }
    for notice in &notices {
        assert_eq!(notice.severity(), readme_severity(notice), "{notice:?}");
    }
}

#[test]
fn kinds_that_carry_several_severities_take_them_from_the_notice() {
    let lost = |dr_primary| {
        Notice::Mirror(MirrorNotice::PrimaryLost {
            lost: Some(A.into()),
            at: t(10),
            observers: vec![Observer::Route53, Observer::Instance],
            dr_side_only: false,
            dr_primary,
            confirm_at: t(190),
        })
    };
    assert_eq!(lost(false).severity(), Severity::Warning);
    assert_eq!(lost(true).severity(), Severity::Critical);
    let drill = |end| {
        Notice::Drill(DrillNotice::Closed {
            request: "HSPROD-R1".into(),
            end,
        })
    };
    assert_eq!(drill(DrillEnd::Withdrawn).severity(), Severity::Warning);
    assert_eq!(drill(DrillEnd::Ran).severity(), Severity::Info);
    let failback = |end| {
        Notice::Failback(FailbackNotice::Closed {
            request: "HSPROD-R1".into(),
            candidate: A.into(),
            primary: Some(DR1.into()),
            end,
        })
    };
    assert_eq!(
        failback(PlannedEnd::Approved {
            approvers: strings(&["Dana"])
        })
        .severity(),
        Severity::Warning
    );
    assert_eq!(failback(PlannedEnd::TimedOut).severity(), Severity::Critical);
    assert_eq!(failback(PlannedEnd::Expired).severity(), Severity::Info);
}

#[test]
fn reminders_and_further_approvals_keep_the_kind_of_their_request() {
    let promotion = Notice::Promotion(PromotionNotice::Requested(promotion_ask(DR2)));
    let fencing = Notice::Fencing(FencingNotice::Requested(fencing_ask(&[], &[A, B], &[])));
    assert_eq!(
        Notice::Reminder(Box::new(promotion.clone())).kind(),
        AlertKind::PromotionReminder
    );
    assert_eq!(
        Notice::Reminder(Box::new(fencing.clone())).kind(),
        AlertKind::FencingReminder
    );
    let more = |of: &Notice| Notice::MoreApprovals {
        approvals: 1,
        required: 2,
        approved_by: strings(&["Dana"]),
        of: Box::new(of.clone()),
    };
    assert_eq!(more(&promotion).kind(), AlertKind::ApprovalRecorded);
    assert_eq!(more(&fencing).kind(), AlertKind::ApprovalRecorded);
    assert_eq!(more(&promotion).request(), Some("HSPROD-R1"));
}

// ---- the words ------------------------------------------------------------------

#[test]
fn sms_and_subject_stay_within_their_limits_for_long_member_names() {
    let mut m = hsprod();
    m.name = "HEALTHSHARE-PRODUCTION-MIRROR-WITH-A-LONG-NAME".into();
    let long = |n: &str| format!("{n}-{}", "x".repeat(60));
    let link = format!(
        "https://7ehzyqdqmjwsbdgkbuq7ya3hkm0fblft.lambda-url.us-west-2.on.aws/a/{}",
        "t".repeat(43)
    );
    for notice in every_notice(&long(A), &long(B), &long(DR1)) {
        let with_link = notice.kind().wants_link().then(|| link.clone());
        let told = alert(&m, &notice, with_link.clone());
        let (sms, subject) = (told.sms(), told.subject());
        assert!(sms.chars().count() <= MAX_SMS, "{} chars: {sms}", sms.chars().count());
        assert!(
            subject.chars().count() <= MAX_SUBJECT,
            "{} chars: {subject}",
            subject.chars().count()
        );
        if let Some(link) = with_link {
            assert!(sms.ends_with(&link), "the link whole: {sms}");
        }
        assert!(!told.headline.is_empty() && !told.next_step.is_empty(), "{notice:?}");
    }
}

#[test]
fn a_lost_primary_names_the_observers_that_agree() {
    let m = hsprod();
    let lost = |observers| {
        Notice::Mirror(MirrorNotice::PrimaryLost {
            lost: Some(A.into()),
            at: t(10),
            observers,
            dr_side_only: false,
            dr_primary: false,
            confirm_at: t(190),
        })
    };
    let said = words(&lost(vec![Observer::Route53, Observer::Instance]), &m);
    assert!(
        said.facts
            .contains(&"Observers agreeing: route53, instance".to_string()),
        "{said:?}"
    );
    let said = words(&lost(vec![Observer::Route53, Observer::Heartbeat]), &m);
    assert!(
        said.facts
            .contains(&"Observers agreeing: route53, heartbeat".to_string()),
        "{said:?}"
    );
    assert_eq!(said.headline, "HSPROD: primary HSPROD-A lost, confirming");
}

#[test]
fn a_loss_seen_from_the_dr_side_alone_says_a_partition_looks_the_same() {
    let notice = Notice::Mirror(MirrorNotice::PrimaryLost {
        lost: Some(A.into()),
        at: t(165),
        observers: vec![Observer::Probe, Observer::Asyncs],
        dr_side_only: true,
        dr_primary: false,
        confirm_at: t(345),
    });
    let said = words(&notice, &hsprod());
    assert!(
        said.facts.contains(&"Observers agreeing: probe, asyncs".to_string()),
        "{said:?}"
    );
    assert!(
        said.facts
            .iter()
            .any(|f| f.contains("a network partition between us-east-1 and us-west-2 looks the same from here")),
        "{said:?}"
    );
}

#[test]
fn a_promoted_dr_member_lost_says_no_failover_partner_can_take_over() {
    let notice = Notice::Mirror(MirrorNotice::PrimaryLost {
        lost: Some(DR1.into()),
        at: t(700),
        observers: vec![Observer::Heartbeat, Observer::Probe],
        dr_side_only: false,
        dr_primary: true,
        confirm_at: t(880),
    });
    let said = words(&notice, &hsprod());
    assert!(
        said.next_step.contains("no failover partner can take over"),
        "{}",
        said.next_step
    );
}

#[test]
fn a_request_withdrawn_for_a_witness_quotes_the_evidence() {
    let notice = Notice::Promotion(PromotionNotice::WithdrawnWitness {
        request: "HSPROD-R1".into(),
        who: DR2.into(),
        evidence: "HSPROD-DR2 reports Connected".into(),
    });
    let said = words(&notice, &hsprod());
    assert!(
        said.facts
            .iter()
            .any(|f| f.starts_with("Evidence: HSPROD-DR2 reports Connected")),
        "{said:?}"
    );
}

#[test]
fn a_failed_promote_script_is_quoted_with_its_status_and_first_lines() {
    let m = hsprod();
    let report = |output: Option<&str>, unread: Option<&str>| CommandReport {
        member: DR1.into(),
        command_id: "5a2c".into(),
        document: "mirrorgate-promote".into(),
        status: RunStatus::TimedOut,
        requested_at: None,
        comment: None,
        output: output.map(str::to_string),
        unread: unread.map(str::to_string),
    };
    let failed = |report| {
        Notice::Promotion(PromotionNotice::ScriptFailed {
            request: "HSPROD-R1".into(),
            candidate: DR1.into(),
            report,
        })
    };
    let output = "PROMOTE FAILED (HSPROD-R1): no failover member's ISCAgent answers\n";
    let said = words(&failed(report(Some(output), None)), &m);
    assert!(
        said.headline.contains(RunStatus::TimedOut.as_str()),
        "{}",
        said.headline
    );
    assert!(
        said.facts
            .contains(&format!("Status: {}", RunStatus::TimedOut.as_str())),
        "{said:?}"
    );
    assert!(
        said.facts
            .iter()
            .any(|f| f.contains("PROMOTE FAILED (HSPROD-R1): no failover member's ISCAgent answers")),
        "{said:?}"
    );
    let unread = "SSM GetCommandInvocation: InvocationDoesNotExist";
    let said = words(&failed(report(None, Some(unread))), &m);
    assert!(
        said.facts
            .iter()
            .any(|f| f.starts_with("Output: could not be read (SSM GetCommandInvocation: InvocationDoesNotExist)")),
        "{said:?}"
    );
}

#[test]
fn a_failed_promote_script_is_one_line_quoting_its_first_line_for_a_planned_move() {
    let report = |output: Option<&str>| CommandReport {
        member: DR1.into(),
        command_id: "5a2c".into(),
        document: "mirrorgate-promote".into(),
        status: RunStatus::Failed,
        requested_at: None,
        comment: None,
        output: output.map(str::to_string),
        unread: None,
    };
    let said = report(Some("\n  PROMOTE FAILED: no partner  \nsecond line\n"));
    assert_eq!(
        script_failure(&said, false),
        "the promote script ended Failed on HSPROD-DR1 (command 5a2c)"
    );
    assert_eq!(
        script_failure(&said, true),
        "the promote script ended Failed on HSPROD-DR1 (command 5a2c); it said: PROMOTE FAILED: no partner"
    );
    assert_eq!(
        script_failure(&report(None), true),
        "the promote script ended Failed on HSPROD-DR1 (command 5a2c); output: Output: could not be read (not asked); see the run-command log group"
    );
}

#[test]
fn an_offline_ssm_agent_says_a_promotion_would_not_run_and_how_to_start_it() {
    let notice = Notice::Promotion(PromotionNotice::SsmAgentOffline {
        member: DR1.into(),
        detail: "ConnectionLost".into(),
        since: t(60),
    });
    let said = words(&notice, &hsprod());
    assert!(
        said.headline.contains(DR1) && said.headline.contains("a promotion would not run"),
        "{}",
        said.headline
    );
    assert!(said.next_step.contains("amazon-ssm-agent"), "{}", said.next_step);
}

#[test]
fn a_promotion_request_says_what_the_other_candidates_may_lose() {
    let mut ask = promotion_ask(DR2);
    ask.others = vec![(
        DR1.into(),
        LossEstimate {
            seconds: Some(902.3),
            basis: LossBasis::LinkLost {
                since: t(240),
                primary_until: t(1200),
            },
        },
    )];
    let said = words(&Notice::Promotion(PromotionNotice::Requested(ask)), &hsprod());
    assert!(
        said.facts
            .contains(&"Other DR members that could be promoted: HSPROD-DR1 (>=15 min)".to_string()),
        "{said:?}"
    );
}

#[test]
fn a_drill_says_it_is_one_and_what_it_did_not_do() {
    let m = hsprod();
    let closed = |end| {
        words(
            &Notice::Drill(DrillNotice::Closed {
                request: "HSPROD-R1".into(),
                end,
            }),
            &m,
        )
    };
    let approved = closed(DrillEnd::Approved {
        approvers: strings(&["Dana Whitfield"]),
        candidate: DR1.into(),
        executing: true,
    });
    assert!(approved.headline.starts_with("DRILL "), "{}", approved.headline);
    assert!(approved.headline.contains("NOT promoted"), "{}", approved.headline);
    let withdrawn = closed(DrillEnd::Withdrawn);
    assert!(withdrawn.headline.contains("REAL loss"), "{}", withdrawn.headline);
}

#[test]
fn a_dr_member_lost_during_maintenance_says_why_it_counts_as_down() {
    let down = DownEvidence {
        reports: Some(MemberStatus::Down),
        ..DownEvidence::default()
    };
    let said = words(
        &Notice::Maintenance(MaintenanceNotice::DrMemberLost {
            member: DR1.into(),
            down,
        }),
        &hsprod(),
    );
    assert!(said.facts.iter().any(|f| f.contains("reports Down")), "{said:?}");
}

#[test]
fn a_window_started_over_a_waiting_request_says_it_does_not_withdraw_it() {
    let notice = Notice::Maintenance(MaintenanceNotice::Started {
        window: window(),
        duration_secs: 7200,
        phase: Phase::PromotionPending,
        waiting: Some("HSPROD-R1".into()),
    });
    let said = words(&notice, &hsprod());
    assert!(said.headline.contains("until 05:00 UTC"), "{}", said.headline);
    assert!(
        said.facts.iter().any(|f| f.contains("does not withdraw it")),
        "{said:?}"
    );
}

#[test]
fn a_switchover_request_says_it_is_planned_from_where_to_where() {
    let notice = Notice::Switchover(SwitchoverNotice::Requested {
        request: "HSPROD-R1".into(),
        primary: Some(A.into()),
        candidate: DR1.into(),
        started_by: Some("Ravi Patel".into()),
        partners_alive: Vec::new(),
        loss: latency(1.8),
        expires_at: t(1820),
    });
    let said = words(&notice, &hsprod());
    assert!(
        said.headline.contains("PLANNED switchover from HSPROD-A to HSPROD-DR1"),
        "{}",
        said.headline
    );
}

#[test]
fn a_promotion_request_names_its_candidate_and_the_loss_in_the_headline() {
    let said = words(
        &Notice::Promotion(PromotionNotice::Requested(promotion_ask(DR2))),
        &hsprod(),
    );
    assert_eq!(
        said.headline,
        "HSPROD primary lost 03:00 UTC. Promote HSPROD-DR2? Loss ~12 s"
    );
    assert!(
        said.facts
            .contains(&"Other DR members that could be promoted: HSPROD-DR1 (~40 s)".to_string()),
        "{said:?}"
    );
}

#[test]
fn a_failed_promotion_says_what_failed() {
    let failed = "SSM command 5a2c on i-0ddddddddddddddd4: Failed (exit 1)";
    let notice = Notice::Promotion(PromotionNotice::Failed {
        request: "HSPROD-R1".into(),
        candidate: DR1.into(),
        detail: failed.into(),
    });
    let said = words(&notice, &hsprod());
    assert!(said.facts.contains(&format!("What failed: {failed}")), "{said:?}");
}

#[test]
fn a_split_brain_says_what_sends_traffic_to_each_and_whom_to_stop() {
    let m = hsprod();
    let notice = Notice::Mirror(MirrorNotice::SplitBrain {
        epoch: 2,
        primary: Some(B.into()),
        claims: vec![
            PrimaryClaim {
                member: A.into(),
                since: t(185),
                route53_healthy_at: Some(t(380)),
                probe_healthy_at: None,
                iris: None,
            },
            claim(B),
        ],
        stale: vec![A.into()],
    });
    let said = words(&notice, &m);
    assert!(
        said.headline.contains(A) && said.headline.contains(B),
        "{}",
        said.headline
    );
    assert!(
        said.facts.iter().any(|f| f.starts_with("HSPROD-A (us-east-1), primary since 03:03 UTC: Route 53 health check 11111111-1111-4111-8111-111111111111 healthy")),
        "{:#?}",
        said.facts
    );
    assert!(
        said.next_step.contains("stop application traffic to HSPROD-A"),
        "{}",
        said.next_step
    );
}

#[test]
fn a_fencing_request_is_urgent_only_when_the_former_region_answers_as_primary() {
    let m = hsprod();
    let calm = words(
        &Notice::Fencing(FencingNotice::Requested(fencing_ask(&[], &[A, B], &[]))),
        &m,
    );
    assert!(calm.headline.contains("us-east-1 is back"), "{}", calm.headline);
    assert!(!calm.headline.contains("URGENT"), "{}", calm.headline);
    let urgent = words(
        &Notice::Fencing(FencingNotice::Requested(fencing_ask(&[A], &[A, B], &[]))),
        &m,
    );
    assert!(
        urgent.headline.contains("URGENT, HSPROD-A answers as primary"),
        "{}",
        urgent.headline
    );
    assert!(
        urgent.facts.iter().any(|f| f.contains("split brain")),
        "{:?}",
        urgent.facts
    );
}

#[test]
fn a_fencing_request_names_the_members_left_to_fence_by_hand() {
    let said = words(
        &Notice::Fencing(FencingNotice::Requested(fencing_ask(&[], &[A], &[B]))),
        &hsprod(),
    );
    assert!(
        said.facts.iter().any(|f| f.contains("no instance_id): HSPROD-B")),
        "{:?}",
        said.facts
    );
}

#[test]
fn fencing_by_hand_names_join_mirror_and_the_runbook() {
    let m = hsprod();
    let rejected = Notice::Fencing(FencingNotice::Rejected {
        request: "HSPROD-R2".into(),
        members: strings(&[A, B]),
        by: "Dana Whitfield".into(),
        again: t(2000),
    });
    let said = words(&rejected, &m);
    assert!(said.next_step.contains("JoinMirror=0"), "{}", said.next_step);
    let back = Notice::Fencing(FencingNotice::FormerRegionBack {
        primary: DR1.into(),
        epoch: 2,
        evidence: "HSPROD-A's agent heartbeat".into(),
        unfenced: strings(&[A, B]),
        claiming: Vec::new(),
    });
    let said = words(&back, &m);
    assert!(said.next_step.contains("JoinMirror=0"), "{}", said.next_step);
    assert!(said.next_step.contains("docs/DEPLOY.md"), "{}", said.next_step);
}

#[test]
fn an_approval_that_accepts_the_loss_says_the_promotion_may_go_without_partner() {
    let approved = |accept_loss| {
        Notice::Promotion(PromotionNotice::Approved {
            request: "HSPROD-R1".into(),
            candidate: DR1.into(),
            approvers: strings(&["Dana Whitfield"]),
            loss: latency(12.0),
            accept_loss,
        })
    };
    let m = hsprod();
    let said = words(&approved(true), &m);
    assert!(
        said.facts.iter().any(|f| f.contains("otherwise without partner")),
        "{:?}",
        said.facts
    );
    let said = words(&approved(false), &m);
    assert!(
        said.facts.iter().any(|f| f.contains("with partner only")),
        "{:?}",
        said.facts
    );
}

#[test]
fn during_maintenance_the_window_ends_the_headline_and_opens_the_facts() {
    let said = during_maintenance(
        &window(),
        words(
            &Notice::Mirror(MirrorNotice::HaRestored { primary: A.into() }),
            &hsprod(),
        ),
    );
    assert_eq!(
        said.headline,
        "HSPROD: high availability restored (maintenance: OS patching, until 05:00 UTC)"
    );
    assert_eq!(
        said.facts[0],
        "maintenance: OS patching, until 05:00 UTC (started by Ravi Patel)"
    );
}
