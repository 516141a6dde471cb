//! Fencing after a DR promotion: when the former primary region is heard from again
//! while a DR member is primary, its failover members could elect a primary of their
//! own (two primaries, and Route 53 failover routing sending clients back to the stale
//! side). mirrorgate alerts critically and asks, through the same link gate as a
//! promotion, to run the fencing document on each former failover member. Fencing is
//! one way until failback; it never touches the current primary and never changes
//! the phase.

use chrono::{DateTime, Utc};

use super::{approved_by, refused, same_approver, secs, Decider, DecisionVerdict, Effect, Refusal, Verdict};
use crate::domain::mirror::MemberKind;
use crate::domain::notice::{FencingAsk, FencingNotice, Notice};
use crate::domain::signal::Authority;
use crate::domain::state::{DecisionRecord, Fenced, Phase, PromotionRequest, RequestKind, RequestStatus};
use crate::domain::view::View;

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
        self.tell(FencingNotice::FormerRegionBack {
            primary: primary.to_string(),
            epoch: self.s.epoch,
            evidence: evidence.to_string(),
            unfenced: unfenced.to_vec(),
            claiming: self.former_claiming(),
        });
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
        if let Some(notice) = self.s.request(&id).map(|r| self.fencing_requested(r)) {
            self.tell(notice);
        }
    }

    /// What a fencing request tells: who answers again, what would be fenced, and
    /// what mirrorgate cannot fence.
    pub(super) fn fencing_requested(&self, r: &PromotionRequest) -> Notice {
        Notice::Fencing(FencingNotice::Requested(FencingAsk {
            request: r.id.clone(),
            primary: r.candidate.clone(),
            epoch: r.epoch,
            returned: r.returned.clone(),
            claiming: self.former_claiming(),
            targets: r.fence_members.clone(),
            by_hand: self
                .unfenced_former()
                .into_iter()
                .filter(|name| !r.fence_members.contains(name))
                .collect(),
            expires_at: r.expires_at,
        }))
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
            self.tell(FencingNotice::Withdrawn {
                request: open.id.clone(),
                primary,
            });
            return;
        }
        if now >= open.expires_at {
            self.close_expired(&open.id);
            let again = now + secs(self.m.policy.cool_down_secs);
            self.s.next_fencing_after = Some(again);
            self.tell(FencingNotice::Expired {
                request: open.id.clone(),
                members: open.fence_members.clone(),
                primary: open.candidate.clone(),
                again,
            });
            return;
        }
        self.remind(open, Self::fencing_requested);
    }

    /// A fencing request is moot, and approving it refused, once the mirror has another
    /// epoch or its DR primary is no longer the one that asked.
    fn fencing_moot(&self, request: &PromotionRequest) -> Option<Refusal> {
        let moot = request.epoch != self.s.epoch || self.dr_primary().as_deref() != Some(request.candidate.as_str());
        moot.then(|| Refusal::FencingMoot {
            primary: self.s.primary.clone().unwrap_or_else(|| "unknown".into()),
        })
    }

    /// A fencing request rejected by `by`: no new one before the cool-down.
    pub(super) fn fencing_rejected(&mut self, request: &PromotionRequest, by: String) {
        let again = self.now() + secs(self.m.policy.cool_down_secs);
        self.s.next_fencing_after = Some(again);
        self.tell(FencingNotice::Rejected {
            request: request.id.clone(),
            members: request.fence_members.clone(),
            by,
            again,
        });
    }

    /// An approval of a fencing request, whose link, status and name were checked.
    pub(super) fn fencing_approval(
        &mut self,
        request: &PromotionRequest,
        record: DecisionRecord,
        authority: &Authority,
    ) -> DecisionVerdict {
        let now = self.now();
        let by = record.by.clone();
        if let Some(refusal) = self.fencing_moot(request).or_else(|| same_approver(request, &by)) {
            return refused(Some(&request.id), refusal);
        }
        self.record_decision(&request.id, record, authority);
        if self.awaits_more_approvals(request) {
            return self.record_first_approvals(request, &by, Self::fencing_requested);
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
        self.tell(FencingNotice::Approved {
            request: request.id.clone(),
            members,
            approvers: approved_by(request, &by),
            primary: request.candidate.clone(),
        });
        self.approved(request, true)
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
            self.tell(FencingNotice::Sent {
                request: req.id.clone(),
                members: done,
                detail: detail.to_string(),
                primary: req.candidate.clone(),
            });
        } else {
            self.close_request(&req.id, RequestStatus::Failed, detail);
            self.s.next_fencing_after = Some(now + secs(self.m.policy.cool_down_secs));
            let missing: Vec<String> = req
                .fence_members
                .iter()
                .filter(|name| !done.contains(name))
                .cloned()
                .collect();
            self.tell(FencingNotice::Failed {
                request: req.id.clone(),
                missing,
                done,
                detail: detail.to_string(),
            });
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
