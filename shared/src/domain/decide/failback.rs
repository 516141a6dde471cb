//! Failback: the way back to the primary region after a switchover or a DR
//! promotion, through the same gate. Approving un-fences the fenced members (the
//! fencing document with `Method=unfence`) and then promotes the chosen failover
//! member back with partner (the DR primary's ISCAgent must answer, unless every
//! approver accepts the loss). When it reports primary the mirror is `normal` again,
//! alerted as `failed_back`, never as a promotion outside mirrorgate.

use super::{approved_by, refused, same_approver, secs, Decider, DecisionVerdict, Refusal, Verdict};
use crate::domain::mirror::MemberKind;
use crate::domain::notice::{FailbackNotice, PlannedEnd};
use crate::domain::signal::Authority;
use crate::domain::state::{DecisionRecord, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

impl Decider<'_, '_> {
    /// An operator asks to fail back to `to`. Refused, changing nothing, unless a DR
    /// member serves as primary and `to` is a failover member.
    pub(super) fn start_failback(&mut self, to: &str, by: &str) -> Verdict {
        let by = by.trim();
        let name = &self.m.name;
        let refuse = |why: String| Verdict::Ignored {
            why: format!("failback of {name} not started: {why}"),
        };
        let asked = self.planned_ask(by, to, MemberKind::Failover, || {
            format!("{to} is not a failover member; --to names the failover member to make primary again")
        });
        if let Err(why) = asked {
            return refuse(why);
        }
        let dr_primary = self
            .s
            .primary
            .clone()
            .filter(|p| self.m.member(p).is_some_and(|m| m.kind == MemberKind::DrAsync));
        let Some(primary) = dr_primary.filter(|_| self.s.phase == Phase::DrActive) else {
            return refuse(format!(
                "the mirror is {} and a failback starts only while a DR member serves as primary",
                self.s.phase
            ));
        };
        if let Some(r) = self.s.active_failback() {
            return refuse(format!("failback {} is still {}", r.id, r.status.as_str()));
        }
        let now = self.now();
        let fenced: Vec<String> = self.s.fenced().map(|(n, _)| n.to_string()).collect();
        let request = PromotionRequest {
            lost_primary: Some(primary.clone()),
            fence_members: fenced.clone(),
            started_by: Some(by.to_string()),
            ..self.new_request(RequestKind::Failback, to)
        };
        let id = self.file_request(request);
        self.s
            .record(now, format!("failback {id} asked by {by}: {primary} to {to}"));
        let expires_at = self.s.request(&id).map_or(now, |r| r.expires_at);
        self.tell(FailbackNotice::Requested {
            request: id,
            primary,
            to: to.to_string(),
            by: by.to_string(),
            fenced,
            expires_at,
        });
        Verdict::Applied
    }

    /// Tells how a failback ended.
    pub(super) fn failback_closed(&mut self, r: &PromotionRequest, end: PlannedEnd) {
        self.tell(FailbackNotice::Closed {
            request: r.id.clone(),
            candidate: r.candidate.clone(),
            primary: self.s.primary.clone(),
            end,
        });
    }

    /// A failback is approved with partner only: the DR primary's host must have been
    /// heard from within the freshness window, unless this approver accepts the loss.
    fn failback_refusal(&self, request: &PromotionRequest, accept_loss: bool) -> Option<Refusal> {
        let now = self.now();
        let fresh_since = now - secs(self.m.policy.evidence_fresh_secs);
        let primary = request.lost_primary.clone().unwrap_or_default();
        let partner_alive = View::new(&self.s, self.m, now)
            .heard_alive(&primary, fresh_since)
            .is_some();
        (!partner_alive && !accept_loss).then(|| Refusal::PartnerSilent {
            partners: vec![primary],
        })
    }

    /// An approval of a failback, whose link, status and name were checked. The last
    /// approval required hands the un-fencing and the promotion back to the actions
    /// (the executor un-fences before it promotes).
    pub(super) fn failback_approval(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let by = record.by.clone();
        let accept_loss = record.accept_loss;
        if let Some(refusal) = same_approver(request, &by).or_else(|| self.failback_refusal(request, accept_loss)) {
            return refused(Some(&request.id), refusal);
        }
        self.record_decision(&request.id, record, authority);
        let approvers = approved_by(request, &by);
        if self.awaits_more_approvals(request) {
            self.tell(FailbackNotice::MoreApprovals {
                request: request.id.clone(),
                candidate: request.candidate.clone(),
                approvals: approvers.len(),
                required: self.m.policy.approvers_required,
                approvers,
            });
            return self.approved(request, false);
        }
        self.mark_promotion_approved(request, &by, "failback");
        self.execute_promotion(request);
        self.failback_closed(request, PlannedEnd::Approved { approvers });
        self.approved(request, true)
    }

    /// An open failback is withdrawn when the primary changes and expires; an approved
    /// one times out if its member does not report primary.
    pub(super) fn settle_failback(&mut self) {
        let Some(r) = self.s.active_failback().cloned() else {
            return;
        };
        let moved_on = r.epoch != self.s.epoch || self.s.phase != Phase::DrActive;
        if let Some(end) = self.settle_planned(&r, moved_on, "the member did not report primary in time") {
            self.failback_closed(&r, end);
        }
    }

    /// How un-fencing and the promotion back went: the members un-fenced are no longer
    /// shown fenced.
    pub(super) fn failback_outcome(
        &mut self,
        req: &PromotionRequest,
        ok: bool,
        detail: &str,
        unfenced: &[String],
    ) -> Verdict {
        let now = self.now();
        for name in unfenced {
            if let Some(m) = self.s.members.get_mut(name) {
                if m.fenced.take().is_some() {
                    self.s.record(now, format!("{name} un-fenced ({})", req.id));
                }
            }
        }
        if self.planned_outcome(req, ok, detail, "failback") {
            self.failback_closed(
                req,
                PlannedEnd::Failed {
                    detail: detail.to_string(),
                },
            );
        }
        Verdict::Applied
    }

    /// `member` became primary: the failover member of an approved failback.
    pub(super) fn failback_took_over(&mut self, member: &str) {
        if let Some(r) = self
            .s
            .active_failback()
            .filter(|r| r.status == RequestStatus::Approved && r.candidate == member)
            .cloned()
        {
            self.close_request(&r.id, RequestStatus::Succeeded, &format!("{member} reported primary"));
        }
    }
}
