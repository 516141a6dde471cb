//! DR drills: the whole approval path rehearsed with nothing promoted. A drill
//! request goes to the approvers through the same channels and links as a promotion
//! request, every message marked DRILL; approving it runs the drill document
//! (`promotion.drill_document`) on the candidate, or nothing. A drill never changes
//! the mirror's phase or epoch, and gives way at once to a real loss: the drill is
//! withdrawn and the real request proceeds as if there had been no drill.

use super::{Decider, DecisionVerdict, Effect, Verdict};
use crate::domain::alert::{clock, AlertKind, Severity};
use crate::domain::signal::{Authority, DecisionAction};
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
        let (headline, facts, next) = self.drill_text(&id);
        self.alert(
            AlertKind::DrillRequested,
            Severity::Critical,
            Some(&id),
            headline,
            facts,
            next,
        );
        Verdict::Applied
    }

    /// The words of a drill request: the request as a real one would say it, marked
    /// DRILL first, so that it cannot be taken for a real loss.
    pub(super) fn drill_text(&self, id: &str) -> (String, Vec<String>, String) {
        let Some(r) = self.s.request(id) else {
            return (
                format!("{DRILL} {}: drill {id}", self.m.name),
                Vec::new(),
                "Open the link.".into(),
            );
        };
        let loss = r.loss_estimate();
        let headline = format!(
            "{DRILL} {}: no real loss. Would promote {}? Loss {}",
            self.m.name,
            r.candidate,
            loss.short()
        );
        let mut facts = vec![
            format!(
                "{DRILL}: nothing failed and nothing will be promoted; started by {}",
                r.started_by.as_deref().unwrap_or("an operator")
            ),
            format!(
                "Primary now: {} (unchanged)",
                r.lost_primary.as_deref().unwrap_or("unknown")
            ),
            format!("Would become primary: {}", r.candidate),
            format!("Data that may be lost: {}", loss.words(&r.candidate)),
        ];
        facts.push(match &self.m.promotion.drill_document {
            Some(document) => format!(
                "After approval: mirrorgate runs the drill document {document} on {} (not the promote document)",
                r.candidate
            ),
            None => "After approval: nothing is run (no drill document configured)".into(),
        });
        facts.push(format!("The link expires at {}", clock(r.expires_at)));
        let next = "Rehearse it: open the link, check what would be lost, then approve or reject as you would for a real loss. Nothing is promoted.".into();
        (headline, facts, next)
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
            self.close_drill_alert(
                &drill,
                Severity::Warning,
                format!(
                    "{DRILL} {}: drill {} withdrawn, a REAL loss comes first",
                    self.m.name, drill.id
                ),
                "The drill's link no longer works. Attend to the real alert about the primary.".into(),
            );
            return;
        }
        if drill.status == RequestStatus::Open && now >= drill.expires_at {
            self.close_request(
                &drill.id,
                RequestStatus::Expired,
                "nobody decided before the link expired",
            );
            self.close_drill_alert(
                &drill,
                Severity::Info,
                format!("{DRILL} {}: drill {} expired without a decision", self.m.name, drill.id),
                format!(
                    "Nothing was promoted. Find out why nobody decided: in a real loss the request would have expired too. See the report: mirrorgate drill-report {}",
                    drill.id
                ),
            );
        }
    }

    fn close_drill_alert(&mut self, drill: &PromotionRequest, severity: Severity, headline: String, next: String) {
        let facts = vec![
            format!("Drill: {}", drill.id),
            format!("{DRILL}: nothing was promoted; phase and epoch unchanged"),
        ];
        self.alert(AlertKind::DrillClosed, severity, Some(&drill.id), headline, facts, next);
    }

    /// A decision on a drill, whose link, status and name were checked: the same rules
    /// as a real request (a different person for each approval), nothing promoted.
    pub(super) fn drill_decision(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let now = self.now();
        let by = record.by.clone();
        if record.action == DecisionAction::Reject {
            self.record_rejection(&request.id, record, authority);
            self.close_drill_alert(
                request,
                Severity::Info,
                format!("{DRILL} {}: drill {} rejected by {by}", self.m.name, request.id),
                format!("Drill over. See the report: mirrorgate drill-report {}", request.id),
            );
            return DecisionVerdict::Rejected {
                request: request.id.clone(),
            };
        }
        if request.approvers().iter().any(|a| a.eq_ignore_ascii_case(&by)) {
            return DecisionVerdict::Refused {
                request: Some(request.id.clone()),
                refusal: super::Refusal::SameApprover { by },
            };
        }
        self.record_decision(&request.id, record, authority);
        let approvals = request.approvers().len() + 1;
        let required = self.m.policy.approvers_required;
        let approvers = [request.approvers(), vec![by.as_str()]].concat().join(", ");
        if approvals < required {
            let (headline, mut facts, _) = self.drill_text(&request.id);
            facts.insert(0, format!("Approved so far by: {approvers}"));
            self.alert(
                AlertKind::DrillRequested,
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
                &format!("approved by {approvers}; no drill document, nothing run"),
            );
        }
        let next = if executing {
            "Wait for the drill document's outcome; nothing is promoted.".to_string()
        } else {
            format!("Drill over. See the report: mirrorgate drill-report {}", request.id)
        };
        self.close_drill_alert(
            request,
            Severity::Info,
            format!(
                "{DRILL} {}: drill {} approved by {approvers}; {} NOT promoted",
                self.m.name, request.id, request.candidate
            ),
            next,
        );
        DecisionVerdict::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            executing,
            approvals,
            required,
        }
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
        let (status, severity, headline) = if ok {
            (
                RequestStatus::Succeeded,
                Severity::Info,
                format!("{DRILL} {}: drill document ran for {}", self.m.name, req.id),
            )
        } else {
            (
                RequestStatus::Failed,
                Severity::Warning,
                format!("{DRILL} {}: drill document FAILED for {}", self.m.name, req.id),
            )
        };
        self.close_request(&req.id, status, detail);
        let next = if ok {
            format!("Drill over. See the report: mirrorgate drill-report {}", req.id)
        } else {
            format!(
                "Fix what failed ({detail}) before a real loss needs the same path; see the report: mirrorgate drill-report {}",
                req.id
            )
        };
        self.close_drill_alert(req, severity, headline, next);
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
