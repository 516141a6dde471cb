//! What the planned requests, a switchover and a failback, share: both promote a
//! member while the mirror still serves, so both are asked for, settle and report
//! their actions the same way. Each kind keeps what is its own (which member it makes
//! primary, when it may start and when it is withdrawn, what it tells, a failback's
//! un-fencing, a switchover's fencing of the former region).

use super::Decider;
use crate::domain::mirror::MemberKind;
use crate::domain::notice::PlannedEnd;
use crate::domain::state::{PromotionRequest, RequestStatus};

impl Decider<'_, '_> {
    /// Who asks for a switchover or a failback, and for which member: refused (why, in
    /// words) when nobody is named (`by`, trimmed), or when `to` is not a member of the
    /// mirror or not of the `kind` the request makes primary (`wrong_kind` says so).
    pub(super) fn planned_ask(
        &self,
        by: &str,
        to: &str,
        kind: MemberKind,
        wrong_kind: impl FnOnce() -> String,
    ) -> Result<(), String> {
        if by.is_empty() {
            return Err("say who asks (--by NAME)".into());
        }
        match self.m.member(to).map(|m| m.kind) {
            Some(k) if k == kind => Ok(()),
            Some(_) => Err(wrong_kind()),
            None => Err(format!("{to} is not a member of {}", self.m.name)),
        }
    }

    /// Where an active switchover or failback stands each time the rules run: an open
    /// one is withdrawn when `moved_on` (the mirror is no longer where it was asked
    /// from; each kind says when) and expires with its link; an approved one times out
    /// when its member has not reported primary in time (`late`, the history's words).
    /// Returns how it ended when it closed, for the kind to tell.
    pub(super) fn settle_planned(&mut self, r: &PromotionRequest, moved_on: bool, late: &str) -> Option<PlannedEnd> {
        if r.status == RequestStatus::Open {
            if moved_on {
                self.close_request(
                    &r.id,
                    RequestStatus::Superseded,
                    &format!("the mirror is {} now", self.s.phase),
                );
                return Some(PlannedEnd::Withdrawn);
            }
            if self.now() >= r.expires_at {
                self.close_expired(&r.id);
                return Some(PlannedEnd::Expired);
            }
            return None;
        }
        if self.promotion_overdue(r) {
            self.close_request(&r.id, RequestStatus::TimedOut, late);
            return Some(PlannedEnd::TimedOut);
        }
        None
    }

    /// How running an approved switchover's or failback's documents went, where the two
    /// agree: done, the time is kept and the history says so; failed after the request
    /// closed, only the history says so; failed while approved, the request closes as
    /// failed. Returns whether it closed so (the kind then tells how it ended); `what`
    /// names the kind in the history.
    pub(super) fn planned_outcome(&mut self, req: &PromotionRequest, ok: bool, detail: &str, what: &str) -> bool {
        let now = self.now();
        if ok {
            if let Some(r) = self.s.request_mut(&req.id) {
                r.actions_done_at.get_or_insert(now);
            }
            self.s
                .record(now, format!("{what} actions for {} done: {detail}", req.id));
            return false;
        }
        if req.status != RequestStatus::Approved {
            self.s
                .record(now, format!("{what} {} failed after it closed: {detail}", req.id));
            return false;
        }
        self.close_request(&req.id, RequestStatus::Failed, detail);
        true
    }
}
