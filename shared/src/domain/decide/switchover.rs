//! Planned switchover to a DR member, through the same gate as a promotion. The
//! primary region still runs, so the promotion goes with partner (no loss): approving
//! is refused when no failover member has been heard from within the freshness window
//! (its ISCAgent would not answer), unless every approver accepts the loss. Once the
//! DR member reports primary, the switchover is done (never alerted as "promoted
//! outside mirrorgate") and the former failover members are fenced with the fencing
//! document, as an approved part of it (no second request).

use chrono::Duration;

use super::{secs, Decider, DecisionVerdict, Effect, Refusal, Verdict};
use crate::domain::alert::{clock, AlertKind, Severity};
use crate::domain::mirror::MemberKind;
use crate::domain::signal::{Authority, DecisionAction};
use crate::domain::state::{DecisionRecord, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

impl Decider<'_, '_> {
    /// The failover members heard alive within the freshness window, in words: their
    /// hosts answer, so their ISCAgent may serve a promotion with partner.
    fn partners_alive(&self) -> Vec<String> {
        let now = self.now();
        let fresh_since = now - Duration::seconds(i64::try_from(self.m.policy.evidence_fresh_secs).unwrap_or(180));
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
        if by.is_empty() {
            return refuse("say who asks (--by NAME)".into());
        }
        match self.m.member(to).map(|m| m.kind) {
            Some(MemberKind::DrAsync) => {}
            Some(_) => {
                return refuse(format!(
                    "{to} is not a DR async member; --to names the DR member to make primary"
                ))
            }
            None => return refuse(format!("{to} is not a member of {name}")),
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
        let (headline, facts, next) = self.switchover_text(&id);
        self.alert(
            AlertKind::SwitchoverRequested,
            Severity::Critical,
            Some(&id),
            headline,
            facts,
            next,
        );
        Verdict::Applied
    }

    pub(super) fn switchover_text(&self, id: &str) -> (String, Vec<String>, String) {
        let Some(r) = self.s.request(id) else {
            return (
                format!("{}: switchover {id}", self.m.name),
                Vec::new(),
                "Open the link.".into(),
            );
        };
        let primary = r.lost_primary.as_deref().unwrap_or("the primary");
        let headline = format!(
            "{}: PLANNED switchover from {primary} to {}? Asked by {}",
            self.m.name,
            r.candidate,
            r.started_by.as_deref().unwrap_or("an operator")
        );
        let alive = self.partners_alive();
        let mut facts = vec![
            format!("Planned: nothing failed; {primary} is primary now"),
            format!("Would become primary: {} (DR async)", r.candidate),
            format!(
                "Way: with partner (no loss); refused at approval unless a failover member is heard from ({})",
                if alive.is_empty() {
                    "none is right now".to_string()
                } else {
                    alive.join("; ")
                }
            ),
            format!(
                "If it had to go without partner it may lose: {}",
                r.loss_estimate().words(&r.candidate)
            ),
        ];
        facts.push(match &self.m.promotion.fence_document {
            Some(document) => format!(
                "After {} reports primary: the fencing document {document} runs on the former failover members",
                r.candidate
            ),
            None => format!(
                "After {} reports primary: fence the former failover members by hand (no fencing document configured)",
                r.candidate
            ),
        });
        facts.push(format!("The link expires at {}", clock(r.expires_at)));
        let next = "Open the link and approve or reject. Opening the link changes nothing.".into();
        (headline, facts, next)
    }

    fn switchover_closed(&mut self, r: &PromotionRequest, severity: Severity, headline: String, next: String) {
        let facts = vec![
            format!("Switchover: {}", r.id),
            format!(
                "Primary: {}",
                self.s.primary.clone().unwrap_or_else(|| "unknown".into())
            ),
        ];
        self.alert(
            AlertKind::SwitchoverClosed,
            severity,
            Some(&r.id),
            headline,
            facts,
            next,
        );
    }

    /// A decision on a switchover, whose link, status and name were checked.
    pub(super) fn switchover_decision(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let now = self.now();
        let by = record.by.clone();
        let accept_loss = record.accept_loss;
        let refused = |refusal: Refusal| DecisionVerdict::Refused {
            request: Some(request.id.clone()),
            refusal,
        };
        if record.action == DecisionAction::Reject {
            self.record_rejection(&request.id, record, authority);
            self.switchover_closed(
                request,
                Severity::Info,
                format!("{}: switchover {} rejected by {by}", self.m.name, request.id),
                "Nothing was promoted; the primary stays.".into(),
            );
            return DecisionVerdict::Rejected {
                request: request.id.clone(),
            };
        }
        if request.approvers().iter().any(|a| a.eq_ignore_ascii_case(&by)) {
            return refused(Refusal::SameApprover { by });
        }
        if !View::new(&self.s, self.m, now).is_promotable(&request.candidate) {
            return refused(Refusal::CandidateUnhealthy {
                candidate: request.candidate.clone(),
            });
        }
        let alive = self.partners_alive();
        if alive.is_empty() && !accept_loss {
            return refused(Refusal::PartnerSilent {
                partners: self.m.failover_members().map(|m| m.name.clone()).collect(),
            });
        }
        self.record_decision(&request.id, record, authority);
        let approvals = request.approvers().len() + 1;
        let required = self.m.policy.approvers_required;
        let approvers = [request.approvers(), vec![by.as_str()]].concat().join(", ");
        if approvals < required {
            let (headline, mut facts, _) = self.switchover_text(&request.id);
            facts.insert(0, format!("Approved so far by: {approvers}"));
            self.alert(
                AlertKind::SwitchoverRequested,
                Severity::Critical,
                Some(&request.id),
                format!("{approvals} of {required} approvals: {headline}"),
                facts,
                format!(
                    "Another person must approve ({} more). Use this new link; each link decides once.",
                    required - approvals
                ),
            );
            return DecisionVerdict::Approved {
                request: request.id.clone(),
                candidate: request.candidate.clone(),
                executing: false,
                approvals,
                required,
            };
        }
        if let Some(r) = self.s.request_mut(&request.id) {
            r.status = RequestStatus::Approved;
            r.outcome = Some(format!("approved by {by}"));
            // Without partner only if every approver accepted the loss.
            r.accepted_without_partner = r
                .decisions
                .iter()
                .filter(|d| d.action == DecisionAction::Approve)
                .all(|d| d.accept_loss);
        }
        self.s
            .record(now, format!("switchover {} approved by {by}", request.id));
        self.effects.push(Effect::ExecutePromotion {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            epoch: request.epoch,
        });
        let way = if accept_loss {
            "Way: with partner if a failover member's ISCAgent answers, otherwise without partner (loss accepted)"
        } else {
            "Way: with partner only (no loss); if no failover member's ISCAgent answers, nothing is promoted"
        };
        self.alert(
            AlertKind::SwitchoverApproved,
            Severity::Warning,
            Some(&request.id),
            format!(
                "{}: switching over to {} (approved by {approvers})",
                self.m.name, request.candidate
            ),
            vec![format!("Switchover: {}", request.id), way.to_string()],
            format!("Wait for the confirmation that {} reports primary.", request.candidate),
        );
        DecisionVerdict::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            executing: true,
            approvals,
            required,
        }
    }

    /// Each time the rules run: an open switchover is withdrawn by a real loss and
    /// expires; an approved one times out if its DR member does not report primary.
    pub(super) fn settle_switchover(&mut self) {
        let Some(r) = self.s.active_switchover().cloned() else {
            return;
        };
        let now = self.now();
        if r.status == RequestStatus::Open {
            let lost = matches!(
                self.s.phase,
                Phase::PrimaryLost | Phase::PromotionPending | Phase::Promoting
            );
            if lost || r.epoch != self.s.epoch {
                self.close_request(
                    &r.id,
                    RequestStatus::Superseded,
                    &format!("the mirror is {} now", self.s.phase),
                );
                self.switchover_closed(
                    &r,
                    Severity::Warning,
                    format!("{}: switchover {} withdrawn, the mirror changed", self.m.name, r.id),
                    "Nothing was promoted. Attend to the mirror's other alerts; ask again when it is normal.".into(),
                );
            } else if now >= r.expires_at {
                self.close_request(&r.id, RequestStatus::Expired, "nobody decided before the link expired");
                self.switchover_closed(
                    &r,
                    Severity::Info,
                    format!("{}: switchover {} expired without a decision", self.m.name, r.id),
                    "Nothing was promoted. Ask again with mirrorgate switchover.".into(),
                );
            }
            return;
        }
        let approved_at = r.decisions.last().map_or(r.created_at, |d| d.at);
        if now - approved_at >= secs(self.m.policy.promotion_timeout_secs) {
            self.close_request(
                &r.id,
                RequestStatus::TimedOut,
                "the DR member did not report primary in time",
            );
            self.switchover_closed(
                &r,
                Severity::Critical,
                format!("{}: switchover to {} did not complete in time", self.m.name, r.candidate),
                format!(
                    "Log in to {} and check the Mirror Monitor and the promotion command's output; find out which member is primary.",
                    r.candidate
                ),
            );
        }
    }

    /// How running the promote document for a switchover went.
    pub(super) fn switchover_outcome(&mut self, req: &PromotionRequest, ok: bool, detail: &str) -> Verdict {
        let now = self.now();
        if ok {
            if let Some(r) = self.s.request_mut(&req.id) {
                r.actions_done_at.get_or_insert(now);
            }
            self.s
                .record(now, format!("switchover actions for {} done: {detail}", req.id));
            return Verdict::Applied;
        }
        if req.status != RequestStatus::Approved {
            self.s
                .record(now, format!("switchover {} failed after it closed: {detail}", req.id));
            return Verdict::Applied;
        }
        self.close_request(&req.id, RequestStatus::Failed, detail);
        self.switchover_closed(
            req,
            Severity::Critical,
            format!("{}: switchover to {} FAILED", self.m.name, req.candidate),
            format!("What failed: {detail}. The primary did not change; fix the failure, then ask again."),
        );
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
        let mut facts = vec![
            format!("Switchover: {}", r.id),
            format!("Former primary: {old}"),
            format!("Epoch: {}", self.s.epoch),
        ];
        if fencing {
            let id = self.raise_approved_fencing(&r, member, targets.clone());
            facts.push(format!(
                "Fencing {} ({id}, approved with the switchover)",
                targets.join(", ")
            ));
        } else {
            facts
                .push("Not fenced by mirrorgate: no fencing document or no failover member with an instance_id".into());
        }
        self.s
            .record(now, format!("switchover {} done: {member} is primary", r.id));
        self.alert(
            AlertKind::SwitchoverDone,
            Severity::Warning,
            Some(&r.id),
            format!("{}: switchover done, {member} is primary", self.m.name),
            facts,
            if fencing {
                "Check the applications reconnect and the fencing commands' status. Fail back with mirrorgate failback when the primary region should serve again.".into()
            } else {
                "Check the applications reconnect, and fence the former failover members by hand.".into()
            },
        );
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
