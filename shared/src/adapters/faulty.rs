//! A fault-injecting layer around the ports, for the reliability tests: it makes
//! the store, the notifier or the promotion actions fail on the calls a plan picks,
//! the way AWS calls fail: an error, throttling, a timeout before anything
//! happened, or a lost answer (the call took effect, the caller saw a timeout).
//!
//! The engine has no timeouts of its own, so a timeout is modelled by its outcome
//! (an error with or without the effect), not by waiting.

use std::sync::{Arc, Mutex};

use crate::domain::{Alert, MirrorState};
use crate::domain::{Member, Mirror};
use crate::ports::{
    ActionError, FenceOrder, Notifier, NotifyError, PromotionActions, PromotionOrder, SaveError, Store, StoreError,
};

/// Which port call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    Load,
    Save,
    Mirrors,
    Publish,
    Execute,
    /// The fencing document sent to one member.
    Fence,
    /// The drill document sent to a drill's candidate.
    Drill,
}

impl Call {
    pub const ALL: [Call; 7] = [
        Call::Load,
        Call::Save,
        Call::Mirrors,
        Call::Publish,
        Call::Execute,
        Call::Fence,
        Call::Drill,
    ];
}

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// A service error (5xx): nothing happened.
    Error,
    /// Throttling after the SDK's own retries: nothing happened.
    Throttled,
    /// No answer in time, and nothing happened.
    Timeout,
    /// The call took effect, but its answer was lost: the caller sees a timeout.
    LostAnswer,
}

impl Fault {
    pub const ALL: [Fault; 4] = [Fault::Error, Fault::Throttled, Fault::Timeout, Fault::LostAnswer];

    fn message(self, call: Call) -> String {
        match self {
            Fault::Error => format!("{call:?}: InternalServerError (injected)"),
            Fault::Throttled => format!("{call:?}: ThrottlingException: Rate exceeded (injected)"),
            Fault::Timeout | Fault::LostAnswer => format!("{call:?}: timed out waiting for the answer (injected)"),
        }
    }
}

type Plan = Box<dyn FnMut(Call, u64) -> Option<Fault> + Send>;

struct PlanState {
    plan: Plan,
    enabled: bool,
    counts: std::collections::BTreeMap<Call, u64>,
    injected: Vec<(Call, Fault)>,
    took_effect: Vec<(Call, String)>,
}

/// Decides which calls fail. Shared by every wrapper of one test.
pub struct FaultPlan {
    state: Mutex<PlanState>,
}

impl FaultPlan {
    /// `plan(call, n)`: the fault for the `n`-th call (from 0) of that kind, if any.
    pub fn new(plan: impl FnMut(Call, u64) -> Option<Fault> + Send + 'static) -> Arc<FaultPlan> {
        Arc::new(FaultPlan {
            state: Mutex::new(PlanState {
                plan: Box::new(plan),
                enabled: true,
                counts: Default::default(),
                injected: Vec::new(),
                took_effect: Vec::new(),
            }),
        })
    }

    /// Nothing fails.
    pub fn none() -> Arc<FaultPlan> {
        FaultPlan::new(|_, _| None)
    }

    /// The `n`-th call (from 0) of one kind fails.
    pub fn nth(call: Call, n: u64, fault: Fault) -> Arc<FaultPlan> {
        FaultPlan::new(move |c, i| (c == call && i == n).then_some(fault))
    }

    /// Each call of the given kinds fails with probability `per_mille`/1000, with a
    /// fault drawn from `faults`; the same seed gives the same faults.
    pub fn random(seed: u64, per_mille: u64, calls: &[Call], faults: &[Fault]) -> Arc<FaultPlan> {
        let calls = calls.to_vec();
        let faults = faults.to_vec();
        let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
        FaultPlan::new(move |call, _| {
            // splitmix64: small, seeded, good enough to spread faults.
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            if !calls.contains(&call) || faults.is_empty() || z % 1000 >= per_mille {
                return None;
            }
            let pick = usize::try_from((z >> 20) % faults.len() as u64).unwrap_or(0);
            faults.get(pick).copied()
        })
    }

    /// Turns injection on or off (off: every call goes through, and is not counted).
    pub fn set_enabled(&self, enabled: bool) {
        self.lock().enabled = enabled;
    }

    /// The faults injected so far, in order.
    pub fn injected(&self) -> Vec<(Call, Fault)> {
        self.lock().injected.clone()
    }

    /// How many calls of each kind were seen while enabled.
    pub fn calls(&self, call: Call) -> u64 {
        self.lock().counts.get(&call).copied().unwrap_or(0)
    }

    /// What reached the inner adapter and took effect, whatever the caller saw:
    /// alerts delivered (`id kind request`, `-` for none) and promotions run
    /// (`request candidate`).
    pub fn took_effect(&self, call: Call) -> Vec<String> {
        self.lock()
            .took_effect
            .iter()
            .filter(|(c, _)| *c == call)
            .map(|(_, what)| what.clone())
            .collect()
    }

    fn record(&self, call: Call, what: String) {
        self.lock().took_effect.push((call, what));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next(&self, call: Call) -> Option<Fault> {
        let mut s = self.lock();
        if !s.enabled {
            return None;
        }
        let n = s.counts.get(&call).copied().unwrap_or(0);
        s.counts.insert(call, n + 1);
        let fault = (s.plan)(call, n);
        if let Some(f) = fault {
            s.injected.push((call, f));
        }
        fault
    }
}

/// A port wrapped so that the plan's faults happen. The inner adapter is shared
/// (`Arc`), so several engines (function instances) can wrap one store.
pub struct Faulty<T> {
    inner: Arc<T>,
    plan: Arc<FaultPlan>,
}

impl<T> Faulty<T> {
    pub fn new(inner: T, plan: Arc<FaultPlan>) -> Faulty<T> {
        Faulty::shared(Arc::new(inner), plan)
    }

    pub fn shared(inner: Arc<T>, plan: Arc<FaultPlan>) -> Faulty<T> {
        Faulty { inner, plan }
    }

    pub fn inner(&self) -> &T {
        &self.inner
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }
}

impl<S: Store> Store for Faulty<S> {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        match self.plan.next(Call::Load) {
            Some(f) => Err(StoreError(f.message(Call::Load))),
            None => self.inner.load(mirror).await,
        }
    }

    async fn save(&self, state: &MirrorState, expected: u64, delivery: Option<&str>) -> Result<(), SaveError> {
        match self.plan.next(Call::Save) {
            Some(Fault::LostAnswer) => {
                let _ = self.inner.save(state, expected, delivery).await;
                Err(SaveError::Store(StoreError(Fault::LostAnswer.message(Call::Save))))
            }
            Some(f) => Err(SaveError::Store(StoreError(f.message(Call::Save)))),
            None => self.inner.save(state, expected, delivery).await,
        }
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        match self.plan.next(Call::Mirrors) {
            Some(f) => Err(StoreError(f.message(Call::Mirrors))),
            None => self.inner.mirrors().await,
        }
    }

    async fn history(
        &self,
        mirror: &str,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<crate::domain::state::HistoryEntry>, StoreError> {
        match self.plan.next(Call::Load) {
            Some(f) => Err(StoreError(f.message(Call::Load))),
            None => self.inner.history(mirror, since).await,
        }
    }
}

impl<N: Notifier> Notifier for Faulty<N> {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        let fault = self.plan.next(Call::Publish);
        if let Some(f @ (Fault::Error | Fault::Throttled | Fault::Timeout)) = fault {
            return Err(NotifyError(f.message(Call::Publish)));
        }
        let result = self.inner.publish(alert).await;
        if result.is_ok() {
            self.plan.record(
                Call::Publish,
                format!(
                    "{} {} {}",
                    alert.id,
                    alert.kind.as_str(),
                    alert.request.as_deref().unwrap_or("-")
                ),
            );
        }
        match fault {
            Some(f) => Err(NotifyError(f.message(Call::Publish))),
            None => result,
        }
    }
}

impl<A: PromotionActions> PromotionActions for Faulty<A> {
    async fn execute(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> Result<String, ActionError> {
        let fault = self.plan.next(Call::Execute);
        if let Some(f @ (Fault::Error | Fault::Throttled | Fault::Timeout)) = fault {
            return Err(ActionError(f.message(Call::Execute)));
        }
        let result = self.inner.execute(mirror, candidate, order).await;
        let line = format!("{} {}", order.request, order.candidate);
        // A resumed order finds what the earlier run did and does not do it again
        // (the adapters' contract): it took no new effect.
        let again = order.resume && self.plan.took_effect(Call::Execute).contains(&line);
        if result.is_ok() && !again {
            self.plan.record(Call::Execute, line);
        }
        match fault {
            Some(f) => Err(ActionError(f.message(Call::Execute))),
            None => result,
        }
    }

    async fn fence(&self, mirror: &Mirror, member: &Member, order: &FenceOrder) -> Result<String, ActionError> {
        let fault = self.plan.next(Call::Fence);
        if let Some(f @ (Fault::Error | Fault::Throttled | Fault::Timeout)) = fault {
            return Err(ActionError(f.message(Call::Fence)));
        }
        let result = self.inner.fence(mirror, member, order).await;
        let line = format!("{} {}", order.request, order.member);
        // Sent once per request and member: a run sent again took no new effect.
        let again = self.plan.took_effect(Call::Fence).contains(&line);
        if result.is_ok() && !again {
            self.plan.record(Call::Fence, line);
        }
        match fault {
            Some(f) => Err(ActionError(f.message(Call::Fence))),
            None => result,
        }
    }

    async fn drill(&self, mirror: &Mirror, candidate: &Member, order: &PromotionOrder) -> Result<String, ActionError> {
        let fault = self.plan.next(Call::Drill);
        if let Some(f @ (Fault::Error | Fault::Throttled | Fault::Timeout)) = fault {
            return Err(ActionError(f.message(Call::Drill)));
        }
        let result = self.inner.drill(mirror, candidate, order).await;
        let line = format!("{} {}", order.request, order.candidate);
        // Sent once per request: a run sent again took no new effect.
        let again = self.plan.took_effect(Call::Drill).contains(&line);
        if result.is_ok() && !again {
            self.plan.record(Call::Drill, line);
        }
        match fault {
            Some(f) => Err(ActionError(f.message(Call::Drill))),
            None => result,
        }
    }
}
