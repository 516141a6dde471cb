//! DR drills: the whole approval path rehearsed with nothing promoted. A drill
//! request goes to the approvers through the same channels and links as a promotion
//! request, every message marked DRILL; approving it runs the drill document
//! (`promotion.drill_document`) on the candidate, or nothing. A drill never changes
//! the mirror's phase or epoch, and gives way at once to a real loss: the drill is
//! withdrawn and the real request proceeds as if there had been no drill.

use super::{approved_by, refused, same_approver, Decider, DecisionVerdict, Effect, Verdict};
use crate::domain::notice::{DrillEnd, DrillNotice, Notice};
use crate::domain::signal::Authority;
use crate::domain::state::{DecisionRecord, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

/// The mark every drill message starts with.
pub const DRILL: &str = "DRILL";

impl Decider<'_, '_> {
    /// A real loss is being handled: the phase says the primary is lost, or a real
    /// request waits or runs.
    fn real_loss(&self) -> bool {
        matches!(
            self.s.phase,
            Phase::PrimaryLost | Phase::PromotionPending | Phase::Promoting
        ) || self.s.open_request().is_some()
    }

    /// An operator starts a drill. Refused (nothing changes) when a real loss is being
    /// handled, another drill is on, or no DR member could be promoted.
    pub(super) fn start_drill(&mut self, by: &str) -> Verdict {
        let by = by.trim();
        let refuse = |why: String| Verdict::Ignored { why };
        if by.is_empty() {
            return refuse(format!(
                "drill of {} not started: say who starts it (--by NAME)",
                self.m.name
            ));
        }
        if self.real_loss() {
            return refuse(format!(
                "drill of {} not started: the mirror is {} and a real loss comes first; try again when it is normal",
                self.m.name, self.s.phase
            ));
        }
        if let Some(drill) = self.s.active_drill() {
            return refuse(format!(
                "drill of {} not started: drill {} is still {}; reject it or let it expire first",
                self.m.name,
                drill.id,
                drill.status.as_str()
            ));
        }
        let now = self.now();
        let view = View::new(&self.s, self.m, now);
        let Some((candidate, loss)) = view.candidates().into_iter().next().map(|(c, l)| (c.to_string(), l)) else {
            return refuse(format!(
                "drill of {} not started: no healthy DR member could be promoted now, so there is nothing to rehearse; check the DR members",
                self.m.name
            ));
        };
        let latency = self.s.members.get(&candidate).and_then(|m| m.journal_latency);
        let request = PromotionRequest {
            lost_primary: self.s.primary.clone(),
            candidate_latency: latency,
            loss: Some(loss),
            started_by: Some(by.to_string()),
            ..self.new_request(RequestKind::Drill, &candidate)
        };
        let id = self.file_request(request);
        self.s
            .record(now, format!("drill {id} started by {by}: would promote {candidate}"));
        if let Some(notice) = self.s.request(&id).map(drill_requested) {
            self.tell(notice);
        }
        Verdict::Applied
    }

    /// Each time the rules run: a real loss withdraws the drill; an open drill expires.
    pub(super) fn settle_drill(&mut self) {
        let Some(drill) = self.s.active_drill().cloned() else {
            return;
        };
        let now = self.now();
        if self.real_loss() {
            self.close_request(
                &drill.id,
                RequestStatus::Superseded,
                &format!("withdrawn: a real loss ({})", self.s.phase),
            );
            self.close_drill_alert(&drill, DrillEnd::Withdrawn);
            return;
        }
        if drill.status == RequestStatus::Open && now >= drill.expires_at {
            self.close_expired(&drill.id);
            self.close_drill_alert(&drill, DrillEnd::Expired);
        }
    }

    /// Tells how a drill ended.
    pub(super) fn close_drill_alert(&mut self, drill: &PromotionRequest, end: DrillEnd) {
        self.tell(DrillNotice::Closed {
            request: drill.id.clone(),
            end,
        });
    }

    /// An approval of a drill, whose link, status and name were checked: the same rules
    /// as a real request (a different person for each approval), nothing promoted.
    pub(super) fn drill_approval(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let now = self.now();
        let by = record.by.clone();
        if let Some(refusal) = same_approver(request, &by) {
            return refused(Some(&request.id), refusal);
        }
        self.record_decision(&request.id, record, authority);
        if self.awaits_more_approvals(request) {
            return self.record_first_approvals(request, &by, |_, r| drill_requested(r));
        }
        let approvers = approved_by(request, &by);
        let executing = self.m.promotion.drill_document.is_some();
        if executing {
            if let Some(r) = self.s.request_mut(&request.id) {
                r.status = RequestStatus::Approved;
                r.outcome = Some(format!("approved by {by}"));
            }
            self.s.record(now, format!("drill {} approved by {by}", request.id));
            self.effects.push(Effect::ExecuteDrill {
                request: request.id.clone(),
                candidate: request.candidate.clone(),
                epoch: request.epoch,
            });
        } else {
            self.close_request(
                &request.id,
                RequestStatus::Succeeded,
                &format!("approved by {}; no drill document, nothing run", approvers.join(", ")),
            );
        }
        self.close_drill_alert(
            request,
            DrillEnd::Approved {
                approvers,
                candidate: request.candidate.clone(),
                executing,
            },
        );
        self.approved(request, executing)
    }

    /// How running the drill document went.
    pub(super) fn drill_outcome(&mut self, req: &PromotionRequest, ok: bool, detail: &str) -> Verdict {
        let now = self.now();
        if req.status != RequestStatus::Approved {
            self.s
                .record(now, format!("drill {} reported after it closed: {detail}", req.id));
            return Verdict::Applied;
        }
        if let Some(r) = self.s.request_mut(&req.id) {
            r.actions_done_at.get_or_insert(now);
        }
        let status = if ok {
            RequestStatus::Succeeded
        } else {
            RequestStatus::Failed
        };
        self.close_request(&req.id, status, detail);
        let end = if ok {
            DrillEnd::Ran
        } else {
            DrillEnd::Failed {
                detail: detail.to_string(),
            }
        };
        self.close_drill_alert(req, end);
        Verdict::Applied
    }

    /// A link was opened: the first opening of a drill's link is kept for its report.
    pub(super) fn link_opened(&mut self, request: &str) -> Verdict {
        let now = self.now();
        match self.s.request_mut(request) {
            Some(r) if r.kind == RequestKind::Drill && r.opened_at.is_none() => {
                r.opened_at = Some(now);
                self.s.record(now, format!("drill {request}: link opened"));
                Verdict::Applied
            }
            Some(_) => Verdict::Ignored {
                why: format!("{request}: opening its link again changes nothing"),
            },
            None => Verdict::Ignored {
                why: format!("no request {request}"),
            },
        }
    }
}

/// What a drill request tells: the request as a real one would say it, marked DRILL.
fn drill_requested(r: &PromotionRequest) -> Notice {
    Notice::Drill(DrillNotice::Requested {
        request: r.id.clone(),
        candidate: r.candidate.clone(),
        primary: r.lost_primary.clone(),
        started_by: r.started_by.clone(),
        loss: r.loss_estimate(),
        expires_at: r.expires_at,
    })
}
