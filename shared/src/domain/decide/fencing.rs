//! Fencing after a DR promotion: when the former primary region is heard from again
//! while a DR member is primary, its failover members could elect a primary of their
//! own (two primaries, and Route 53 failover routing sending clients back to the stale
//! side). mirrorgate alerts critically and asks, through the same link gate as a
//! promotion, to run the fencing document on each former failover member. Fencing is
//! one way until failback; it never touches the current primary and never changes
//! the phase.

use chrono::{DateTime, Utc};

use super::{secs, Decider, DecisionVerdict, Effect, Refusal, Verdict};
use crate::domain::alert::{clock, AlertKind, Severity};
use crate::domain::mirror::{FenceMethod, MemberKind};
use crate::domain::signal::{Authority, DecisionAction};
use crate::domain::state::{DecisionRecord, Fenced, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

/// Where the runbook for fencing by hand and failing back lives.
pub const RUNBOOK: &str = "docs/DEPLOY.md, \"Fencing and failing back\"";

impl Decider<'_, '_> {
    /// The DR member serving as primary of this epoch, if the primary is one.
    fn dr_primary(&self) -> Option<String> {
        let primary = self.s.primary.as_deref()?;
        let member = self.m.member(primary)?;
        (member.kind != MemberKind::Failover).then(|| member.name.clone())
    }

    pub(super) fn is_fenced(&self, member: &str) -> bool {
        self.s.members.get(member).is_some_and(|m| m.fenced.is_some())
    }

    /// The former failover members not fenced yet (never the current primary).
    fn unfenced_former(&self) -> Vec<String> {
        let primary = self.s.primary.as_deref();
        self.m
            .failover_members()
            .filter(|m| Some(m.name.as_str()) != primary && !self.is_fenced(&m.name))
            .map(|m| m.name.clone())
            .collect()
    }

    /// The members of the former primary region answering as primary now.
    fn former_claiming(&self) -> Vec<String> {
        let view = View::new(&self.s, self.m, self.now());
        let primary = self.s.primary.as_deref();
        self.m
            .members
            .iter()
            .filter(|m| m.region == self.m.primary_region && Some(m.name.as_str()) != primary)
            .filter(|m| view.claim(&m.name).is_some())
            .map(|m| m.name.clone())
            .collect()
    }

    /// What fencing does by hand, for the method of the mirror.
    fn fence_by_hand(&self) -> String {
        match self.m.promotion.fence_method {
            FenceMethod::Demote => format!(
                "on each former failover member, set JoinMirror=0 and ValidatedMember=0 in the [MirrorMember] section of its CPF and create /etc/mirrorgate/fenced, then restart IRIS there (see {RUNBOOK})"
            ),
            FenceMethod::Stop => format!(
                "on each former failover member, create /etc/mirrorgate/fenced and stop IRIS (iris stop <instance> quietly) (see {RUNBOOK})"
            ),
        }
    }

    pub(super) fn settle_fencing(&mut self) {
        if let Some(open) = self.s.open_fencing().cloned() {
            self.fencing_pending(&open);
            return;
        }
        let Some(primary) = self.dr_primary() else { return };
        if self.s.phase != Phase::DrActive {
            return;
        }
        let Some(start) = self.s.epoch_started_at else { return };
        let now = self.now();
        let epoch = self.s.epoch;
        let ours = |r: &&PromotionRequest| r.kind == RequestKind::Fencing && r.epoch == epoch;
        if self
            .s
            .requests
            .iter()
            .filter(ours)
            .any(|r| matches!(r.status, RequestStatus::Approved | RequestStatus::Succeeded))
        {
            return;
        }
        if self.s.next_fencing_after.is_some_and(|until| now < until) {
            return;
        }
        // After a request of this epoch closed without fencing, only newer evidence counts.
        let after = self
            .s
            .requests
            .iter()
            .filter(ours)
            .filter_map(|r| r.closed_at)
            .fold(start, DateTime::max);
        let unfenced = self.unfenced_former();
        if unfenced.is_empty() {
            return;
        }
        let view = View::new(&self.s, self.m, now);
        let evidence = self
            .m
            .members
            .iter()
            .filter(|m| m.region == self.m.primary_region && m.name != primary && !self.is_fenced(&m.name))
            .filter_map(|m| view.heard_alive(&m.name, after))
            .max_by_key(|(at, _)| *at);
        let Some((heard_at, words)) = evidence else { return };
        let targets: Vec<String> = unfenced
            .iter()
            .filter(|name| self.m.member(name).is_some_and(|m| m.instance_id.is_some()))
            .cloned()
            .collect();
        if self.m.promotion.fence_document.is_none() || targets.is_empty() {
            self.former_region_back_by_hand(&primary, &unfenced, &words);
            return;
        }
        self.raise_fencing(&primary, targets, heard_at, words);
    }

    /// The former region is back and mirrorgate cannot fence it: said once per epoch.
    fn former_region_back_by_hand(&mut self, primary: &str, unfenced: &[String], evidence: &str) {
        if self.s.return_alerted_epoch == Some(self.s.epoch) {
            return;
        }
        self.s.return_alerted_epoch = Some(self.s.epoch);
        let why = if self.m.promotion.fence_document.is_none() {
            "no fencing document is configured (promotion.fence_document)".to_string()
        } else {
            "none of them has an instance_id in the topology".to_string()
        };
        let mut facts = vec![
            format!("Heard again: {evidence}"),
            format!("Primary now: {primary} (epoch {}); it stays primary", self.s.epoch),
            format!("Not fenced: {}", unfenced.join(", ")),
            format!("mirrorgate cannot fence them: {why}"),
        ];
        let claiming = self.former_claiming();
        if !claiming.is_empty() {
            facts.push(format!(
                "URGENT: {} answers as primary: two primaries take writes that diverge",
                claiming.join(", ")
            ));
        }
        self.alert(
            AlertKind::FormerRegionBack,
            Severity::Critical,
            None,
            format!(
                "{}: former primary region {} is back and NOT fenced; fence it by hand",
                self.m.name, self.m.primary_region
            ),
            facts,
            format!(
                "Fence them now, by hand: {}. Until then they can elect a primary again.",
                self.fence_by_hand()
            ),
        );
    }

    fn raise_fencing(&mut self, primary: &str, targets: Vec<String>, heard_at: DateTime<Utc>, evidence: String) {
        let now = self.now();
        let request = PromotionRequest {
            lost_since: heard_at,
            fence_members: targets.clone(),
            returned: Some(evidence),
            ..self.new_request(RequestKind::Fencing, primary)
        };
        let id = self.file_request(request);
        self.s.record(
            now,
            format!(
                "former primary region heard again; {id} asks to fence {}",
                targets.join(", ")
            ),
        );
        let (headline, facts, next) = self.fencing_text(&id);
        self.alert(
            AlertKind::FencingRequested,
            Severity::Critical,
            Some(&id),
            headline,
            facts,
            next,
        );
    }

    /// The words of an alert that asks for a fencing decision.
    pub(super) fn fencing_text(&self, id: &str) -> (String, Vec<String>, String) {
        let Some(r) = self.s.request(id) else {
            return (
                format!("{}: fencing request {id}", self.m.name),
                Vec::new(),
                "Open the link.".into(),
            );
        };
        let claiming = self.former_claiming();
        let targets = r.fence_members.join(", ");
        let headline = if claiming.is_empty() {
            format!(
                "{}: former primary region {} is back. Fence {targets}?",
                self.m.name, self.m.primary_region
            )
        } else {
            format!(
                "{}: URGENT, {} answers as primary again. Fence {targets}?",
                self.m.name,
                claiming.join(", ")
            )
        };
        let mut facts = vec![format!(
            "Heard again: {}",
            r.returned.as_deref().unwrap_or("a member of the former primary region")
        )];
        if !claiming.is_empty() {
            facts.push(format!(
                "URGENT: {} answers as primary while {} is primary: two primaries take writes that diverge (split brain)",
                claiming.join(", "),
                r.candidate
            ));
        }
        facts.push(format!(
            "Primary now: {} (epoch {}); it stays primary, fencing never touches it",
            r.candidate, r.epoch
        ));
        let described: Vec<String> = r
            .fence_members
            .iter()
            .map(|name| {
                let instance = self
                    .m
                    .member(name)
                    .and_then(|m| m.instance_id.clone())
                    .unwrap_or_default();
                format!("{name} ({instance})")
            })
            .collect();
        facts.push(format!("Would be fenced: {}", described.join(", ")));
        if let Some(document) = &self.m.promotion.fence_document {
            facts.push(format!(
                "After approval: mirrorgate runs the SSM document {document} with Method={} on each",
                self.m.promotion.fence_method.as_str()
            ));
        }
        let by_hand: Vec<String> = self
            .unfenced_former()
            .into_iter()
            .filter(|name| !r.fence_members.contains(name))
            .collect();
        if !by_hand.is_empty() {
            facts.push(format!(
                "Not fenced by mirrorgate (no instance_id): {}: fence by hand",
                by_hand.join(", ")
            ));
        }
        facts.push(
            "Until fenced, the former failover members can elect a primary again, and Route 53 failover routing may send clients back to them".into(),
        );
        facts.push(format!("The link expires at {}", clock(r.expires_at)));
        let next = format!(
            "Open the link and approve to fence them, or reject and fence by hand. Fencing is one way until you fail back on purpose ({RUNBOOK})."
        );
        (headline, facts, next)
    }

    fn fencing_pending(&mut self, open: &PromotionRequest) {
        let now = self.now();
        if open.epoch != self.s.epoch || self.dr_primary().as_deref() != Some(open.candidate.as_str()) {
            let primary = self.s.primary.clone().unwrap_or_else(|| "unknown".into());
            self.close_request(
                &open.id,
                RequestStatus::Superseded,
                &format!("{primary} is primary now (epoch {})", self.s.epoch),
            );
            self.alert(
                AlertKind::RequestWithdrawn,
                Severity::Warning,
                Some(&open.id),
                format!("{}: fencing request withdrawn, {primary} is primary now", self.m.name),
                vec![format!("Request: {}", open.id), format!("Primary: {primary}")],
                "Nothing to approve: the link no longer works. Nothing was fenced.".into(),
            );
            return;
        }
        if now >= open.expires_at {
            self.close_request(
                &open.id,
                RequestStatus::Expired,
                "nobody decided before the link expired",
            );
            let again = now + secs(self.m.policy.cool_down_secs);
            self.s.next_fencing_after = Some(again);
            self.alert(
                AlertKind::FencingExpired,
                Severity::Critical,
                Some(&open.id),
                format!(
                    "{}: fencing request expired, {} NOT fenced",
                    self.m.name,
                    open.fence_members.join(", ")
                ),
                vec![
                    format!("Request: {}", open.id),
                    format!("Primary now: {} (unchanged)", open.candidate),
                ],
                format!(
                    "Fence them by hand: {}. If the former region is still heard from at {}, mirrorgate asks again.",
                    self.fence_by_hand(),
                    clock(again)
                ),
            );
            return;
        }
        self.remind(open, AlertKind::FencingReminder, Self::fencing_text);
    }

    /// A decision on a fencing request, whose link, status and name were checked.
    pub(super) fn fencing_decision(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let now = self.now();
        let by = record.by.clone();
        let refused = |refusal: Refusal| DecisionVerdict::Refused {
            request: Some(request.id.clone()),
            refusal,
        };
        if record.action == DecisionAction::Reject {
            self.record_rejection(&request.id, record, authority);
            let again = now + secs(self.m.policy.cool_down_secs);
            self.s.next_fencing_after = Some(again);
            self.alert(
                AlertKind::FencingRejected,
                Severity::Warning,
                Some(&request.id),
                format!(
                    "{}: fencing of {} rejected by {by}",
                    self.m.name,
                    request.fence_members.join(", ")
                ),
                vec![format!("Request: {}", request.id)],
                format!(
                    "mirrorgate fences nothing. Fence them by hand if they must not rejoin: {}. If the former region is still heard from at {}, mirrorgate asks again.",
                    self.fence_by_hand(),
                    clock(again)
                ),
            );
            return DecisionVerdict::Rejected {
                request: request.id.clone(),
            };
        }
        if request.epoch != self.s.epoch || self.dr_primary().as_deref() != Some(request.candidate.as_str()) {
            return refused(Refusal::FencingMoot {
                primary: self.s.primary.clone().unwrap_or_else(|| "unknown".into()),
            });
        }
        if request.approvers().iter().any(|a| a.eq_ignore_ascii_case(&by)) {
            return refused(Refusal::SameApprover { by });
        }
        self.record_decision(&request.id, record, authority);
        let approvals = request.approvers().len() + 1;
        let required = self.m.policy.approvers_required;
        let approvers = [request.approvers(), vec![by.as_str()]].concat().join(", ");
        if approvals < required {
            return self.record_first_approvals(request, &by, Self::fencing_text);
        }
        // Never the primary of now, never a member fenced already.
        let members: Vec<String> = request
            .fence_members
            .iter()
            .filter(|name| Some(name.as_str()) != self.s.primary.as_deref() && !self.is_fenced(name))
            .cloned()
            .collect();
        if let Some(r) = self.s.request_mut(&request.id) {
            r.status = RequestStatus::Approved;
            r.outcome = Some(format!("approved by {by}"));
            r.fence_members = members.clone();
        }
        self.s
            .record(now, format!("fencing request {} approved by {by}", request.id));
        self.effects.push(Effect::ExecuteFencing {
            request: request.id.clone(),
            members: members.clone(),
            primary: request.candidate.clone(),
            epoch: request.epoch,
        });
        self.alert(
            AlertKind::FencingApproved,
            Severity::Warning,
            Some(&request.id),
            format!(
                "{}: fencing {} (approved by {approvers})",
                self.m.name,
                members.join(", ")
            ),
            vec![
                format!("Request: {}", request.id),
                format!("Primary: {} (unchanged)", request.candidate),
            ],
            "Wait for the confirmation that the fencing commands were sent.".into(),
        );
        DecisionVerdict::Approved {
            request: request.id.clone(),
            candidate: request.candidate.clone(),
            executing: true,
            approvals,
            required,
        }
    }

    /// How running the fencing document went: the members it was sent to are fenced.
    pub(super) fn fencing_outcome(
        &mut self,
        req: &PromotionRequest,
        ok: bool,
        detail: &str,
        fenced: &[String],
    ) -> Verdict {
        let now = self.now();
        let done: Vec<String> = if ok && fenced.is_empty() {
            req.fence_members.clone()
        } else {
            fenced.to_vec()
        };
        for name in &done {
            if self.s.primary.as_deref() == Some(name.as_str()) || self.m.member(name).is_none() {
                continue;
            }
            let member = self.s.members.entry(name.clone()).or_default();
            if member.fenced.is_none() {
                member.fenced = Some(Fenced {
                    at: now,
                    request: req.id.clone(),
                    epoch: req.epoch,
                    detail: detail.to_string(),
                });
                self.s.record(now, format!("{name} fenced ({})", req.id));
            }
        }
        if req.status != RequestStatus::Approved {
            self.s
                .record(now, format!("fencing {} reported after it closed: {detail}", req.id));
            return Verdict::Applied;
        }
        if let Some(r) = self.s.request_mut(&req.id) {
            r.actions_done_at.get_or_insert(now);
        }
        if ok {
            self.close_request(
                &req.id,
                RequestStatus::Succeeded,
                &format!("fencing sent to {}", done.join(", ")),
            );
            self.alert(
                AlertKind::FencingSent,
                Severity::Warning,
                Some(&req.id),
                format!("{}: fencing sent to {}", self.m.name, done.join(", ")),
                vec![
                    format!("Request: {}", req.id),
                    format!("What was done: {detail}"),
                    format!("Primary: {} (unchanged)", req.candidate),
                ],
                format!(
                    "Check each command's status (Run Command) and that the members no longer join the mirror. They stay fenced until you fail back on purpose ({RUNBOOK})."
                ),
            );
        } else {
            self.close_request(&req.id, RequestStatus::Failed, detail);
            self.s.next_fencing_after = Some(now + secs(self.m.policy.cool_down_secs));
            let missing: Vec<String> = req
                .fence_members
                .iter()
                .filter(|name| !done.contains(name))
                .cloned()
                .collect();
            self.alert(
                AlertKind::FencingFailed,
                Severity::Critical,
                Some(&req.id),
                format!("{}: fencing of {} FAILED", self.m.name, missing.join(", ")),
                vec![
                    format!("Request: {}", req.id),
                    format!("What failed: {detail}"),
                    format!(
                        "Fenced: {}",
                        if done.is_empty() {
                            "none".to_string()
                        } else {
                            done.join(", ")
                        }
                    ),
                ],
                format!("Fence them by hand now: {}.", self.fence_by_hand()),
            );
        }
        Verdict::Applied
    }

    /// Failing back ends fencing: the members were un-fenced by hand to rejoin.
    pub(super) fn lift_fencing(&mut self, new_primary: &str) {
        let now = self.now();
        let fenced: Vec<String> = self.s.fenced().map(|(name, _)| name.to_string()).collect();
        for name in fenced {
            if let Some(m) = self.s.members.get_mut(&name) {
                m.fenced = None;
            }
            self.s.record(
                now,
                format!("{name} no longer shown fenced: failed back to {new_primary}"),
            );
        }
    }
}
