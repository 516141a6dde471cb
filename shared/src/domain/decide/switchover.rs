//! Planned switchover to a DR member, through the same gate as a promotion. The
//! primary region still runs, so the promotion goes with partner (no loss): approving
//! is refused when no failover member has been heard from within the freshness window
//! (its ISCAgent would not answer), unless every approver accepts the loss. Once the
//! DR member reports primary, the switchover is done (never alerted as "promoted
//! outside mirrorgate") and the former failover members are fenced with the fencing
//! document, as an approved part of it (no second request).

use super::{approved_by, refused, same_approver, secs, Decider, DecisionVerdict, Effect, Refusal, Verdict};
use crate::domain::mirror::MemberKind;
use crate::domain::notice::{Notice, PlannedEnd, SwitchoverNotice};
use crate::domain::signal::Authority;
use crate::domain::state::{DecisionRecord, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

impl Decider<'_, '_> {
    /// The failover members heard alive within the freshness window, in words: their
    /// hosts answer, so their ISCAgent may serve a promotion with partner.
    fn partners_alive(&self) -> Vec<String> {
        let now = self.now();
        let fresh_since = now - secs(self.m.policy.evidence_fresh_secs);
        let view = View::new(&self.s, self.m, now);
        self.m
            .failover_members()
            .filter_map(|m| view.heard_alive(&m.name, fresh_since).map(|(_, words)| words))
            .collect()
    }

    /// An operator asks for a switchover to `to`. Refused, changing nothing, unless a
    /// failover member serves as primary, `to` is a healthy DR async member, and no
    /// other switchover or real request is on.
    pub(super) fn start_switchover(&mut self, to: &str, by: &str) -> Verdict {
        let by = by.trim();
        let name = &self.m.name;
        let refuse = |why: String| Verdict::Ignored {
            why: format!("switchover of {name} not started: {why}"),
        };
        let asked = self.planned_ask(by, to, MemberKind::DrAsync, || {
            format!("{to} is not a DR async member; --to names the DR member to make primary")
        });
        if let Err(why) = asked {
            return refuse(why);
        }
        let primary = self.s.primary.clone().filter(|p| self.m.is_failover(p));
        let serving = matches!(self.s.phase, Phase::Normal | Phase::Degraded | Phase::FailedOver);
        let Some(primary) = primary.filter(|_| serving && self.s.open_request().is_none()) else {
            return refuse(format!(
                "the mirror is {} and a switchover starts only while a failover member serves as primary",
                self.s.phase
            ));
        };
        if let Some(r) = self.s.active_switchover() {
            return refuse(format!("switchover {} is still {}", r.id, r.status.as_str()));
        }
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        if !view.is_promotable(to) {
            return refuse(format!(
                "{to} is not healthy enough to be promoted now (down, silent or unreachable)"
            ));
        }
        let loss = view.loss_estimate(to);
        let latency = self.s.members.get(to).and_then(|m| m.journal_latency);
        let request = PromotionRequest {
            lost_primary: Some(primary.clone()),
            candidate_latency: latency,
            loss: Some(loss),
            started_by: Some(by.to_string()),
            ..self.new_request(RequestKind::Switchover, to)
        };
        let id = self.file_request(request);
        self.s
            .record(now, format!("switchover {id} asked by {by}: {primary} to {to}"));
        if let Some(notice) = self.s.request(&id).map(|r| self.switchover_requested(r)) {
            self.tell(notice);
        }
        Verdict::Applied
    }

    /// What a switchover request tells: from which primary to which DR member, and
    /// which failover members are heard (a promotion with partner needs one).
    fn switchover_requested(&self, r: &PromotionRequest) -> Notice {
        Notice::Switchover(SwitchoverNotice::Requested {
            request: r.id.clone(),
            primary: r.lost_primary.clone(),
            candidate: r.candidate.clone(),
            started_by: r.started_by.clone(),
            partners_alive: self.partners_alive(),
            loss: r.loss_estimate(),
            expires_at: r.expires_at,
        })
    }

    /// Tells how a switchover ended.
    pub(super) fn switchover_closed(&mut self, r: &PromotionRequest, end: PlannedEnd) {
        self.tell(SwitchoverNotice::Closed {
            request: r.id.clone(),
            candidate: r.candidate.clone(),
            primary: self.s.primary.clone(),
            end,
        });
    }

    /// A switchover is approved only while its DR member could be promoted now, and
    /// while a failover member heard within the freshness window could be its partner
    /// (unless this approver accepts the loss).
    fn switchover_refusal(&self, request: &PromotionRequest, accept_loss: bool) -> Option<Refusal> {
        if !View::new(&self.s, self.m, self.now()).is_promotable(&request.candidate) {
            return Some(Refusal::CandidateUnhealthy {
                candidate: request.candidate.clone(),
            });
        }
        (self.partners_alive().is_empty() && !accept_loss).then(|| Refusal::PartnerSilent {
            partners: self.m.failover_members().map(|m| m.name.clone()).collect(),
        })
    }

    /// An approval of a switchover, whose link, status and name were checked. The last
    /// approval required hands the promotion of the DR member to the actions.
    pub(super) fn switchover_approval(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let by = record.by.clone();
        let accept_loss = record.accept_loss;
        if let Some(refusal) = same_approver(request, &by).or_else(|| self.switchover_refusal(request, accept_loss)) {
            return refused(Some(&request.id), refusal);
        }
        self.record_decision(&request.id, record, authority);
        if self.awaits_more_approvals(request) {
            return self.record_first_approvals(request, &by, Self::switchover_requested);
        }
        self.mark_promotion_approved(request, &by, "switchover");
        self.execute_promotion(request);
        self.tell(SwitchoverNotice::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            approvers: approved_by(request, &by),
            accept_loss,
        });
        self.approved(request, true)
    }

    /// Each time the rules run: an open switchover is withdrawn by a real loss and
    /// expires; an approved one times out if its DR member does not report primary.
    pub(super) fn settle_switchover(&mut self) {
        let Some(r) = self.s.active_switchover().cloned() else {
            return;
        };
        // A real loss, or a new epoch, withdraws an open switchover.
        let lost = matches!(
            self.s.phase,
            Phase::PrimaryLost | Phase::PromotionPending | Phase::Promoting
        );
        let moved_on = lost || r.epoch != self.s.epoch;
        if let Some(end) = self.settle_planned(&r, moved_on, "the DR member did not report primary in time") {
            self.switchover_closed(&r, end);
        }
    }

    /// How running the promote document for a switchover went.
    pub(super) fn switchover_outcome(&mut self, req: &PromotionRequest, ok: bool, detail: &str) -> Verdict {
        if self.planned_outcome(req, ok, detail, "switchover") {
            self.switchover_closed(
                req,
                PlannedEnd::Failed {
                    detail: detail.to_string(),
                },
            );
        }
        Verdict::Applied
    }

    /// `member` became primary: if it is the DR member of an approved switchover, the
    /// switchover is done (not a promotion outside mirrorgate) and the former failover
    /// members are fenced. Returns whether it was.
    pub(super) fn switchover_took_over(&mut self, member: &str, old: &str) -> bool {
        let Some(r) = self
            .s
            .active_switchover()
            .filter(|r| r.status == RequestStatus::Approved && r.candidate == member)
            .cloned()
        else {
            return false;
        };
        let now = self.now();
        self.close_request(&r.id, RequestStatus::Succeeded, &format!("{member} reported primary"));
        self.go(Phase::DrActive, &format!("switchover {}: {member} is primary", r.id));
        let targets: Vec<String> = self
            .m
            .failover_members()
            .filter(|m| m.instance_id.is_some() && !self.is_fenced(&m.name))
            .map(|m| m.name.clone())
            .collect();
        let fencing = self.m.promotion.fence_document.is_some() && !targets.is_empty();
        let fencing = fencing.then(|| (self.raise_approved_fencing(&r, member, targets.clone()), targets));
        self.s
            .record(now, format!("switchover {} done: {member} is primary", r.id));
        self.tell(SwitchoverNotice::Done {
            request: r.id.clone(),
            member: member.to_string(),
            old: old.to_string(),
            epoch: self.s.epoch,
            fencing,
        });
        true
    }

    /// The fencing that a switchover's approval already covers: a fencing request,
    /// approved by the switchover's approvers, handed to the executor at once.
    fn raise_approved_fencing(&mut self, switchover: &PromotionRequest, primary: &str, targets: Vec<String>) -> String {
        let now = self.now();
        let request = PromotionRequest {
            status: RequestStatus::Approved,
            expires_at: now,
            lost_primary: switchover.lost_primary.clone(),
            decisions: switchover.decisions.clone(),
            outcome: Some(format!("approved with switchover {}", switchover.id)),
            fence_members: targets.clone(),
            returned: Some(format!("switchover {} to {primary}", switchover.id)),
            started_by: switchover.started_by.clone(),
            ..self.new_request(RequestKind::Fencing, primary)
        };
        let id = self.file_request(request);
        self.s.record(
            now,
            format!(
                "{id}: fencing {} as part of switchover {}",
                targets.join(", "),
                switchover.id
            ),
        );
        self.effects.push(Effect::ExecuteFencing {
            request: id.clone(),
            members: targets,
            primary: primary.to_string(),
            epoch: self.s.epoch,
        });
        id
    }
}
