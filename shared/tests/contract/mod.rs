//! The store contract: every store implementation runs these same checks
//! (`shared/tests/store_*.rs`), so the embedded store and DynamoDB behave alike.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use shared::domain::{MirrorState, Phase};
use shared::ports::{SaveError, Store};

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("test time")
}

/// A state as the engine would write it: version `expected + 1`, with one history
/// line that this version's write adds.
pub fn state(mirror: &str, version: u64, phase: Phase) -> MirrorState {
    let mut s = MirrorState::new(mirror, at("2026-11-25T03:00:00Z"));
    s.version = version - 1;
    s.phase = phase;
    s.epoch = version;
    s.record(at("2026-11-25T03:00:00Z"), format!("written as version {version}"));
    s.version = version;
    s
}

fn conflict_current(result: Result<(), SaveError>) -> Option<MirrorState> {
    match result {
        Err(SaveError::Conflict { current }) => current.map(|b| *b),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// GIVEN nothing stored WHEN loading THEN nothing; WHEN writing version 1 with expected 0 THEN it is stored.
pub async fn first_write_creates_the_state(store: &impl Store, mirror: &str) {
    assert_eq!(store.load(mirror).await.expect("load"), None);
    let s = state(mirror, 1, Phase::Normal);
    store.save(&s, 0, None).await.expect("first write");
    assert_eq!(store.load(mirror).await.expect("load"), Some(s));
}

/// A second "first write" loses and learns the current state in the same answer.
pub async fn creating_twice_conflicts_with_the_current_state(store: &impl Store, mirror: &str) {
    let first = state(mirror, 1, Phase::Normal);
    store.save(&first, 0, None).await.expect("first write");
    let current = conflict_current(store.save(&state(mirror, 1, Phase::Degraded), 0, None).await);
    assert_eq!(current, Some(first.clone()));
    assert_eq!(
        store.load(mirror).await.expect("load"),
        Some(first),
        "the loser changed nothing"
    );
}

/// A write with a stale expected version loses; the winner's state is returned.
pub async fn stale_write_conflicts_and_changes_nothing(store: &impl Store, mirror: &str) {
    store.save(&state(mirror, 1, Phase::Normal), 0, None).await.expect("v1");
    let v2 = state(mirror, 2, Phase::PrimaryLost);
    store.save(&v2, 1, None).await.expect("v2");
    let current = conflict_current(store.save(&state(mirror, 2, Phase::Degraded), 1, None).await);
    assert_eq!(current, Some(v2.clone()));
    assert_eq!(store.load(mirror).await.expect("load"), Some(v2));
}

/// Expecting a version that does not exist yet (from the future) also conflicts.
pub async fn write_expecting_a_missing_state_conflicts_with_none(store: &impl Store, mirror: &str) {
    let current = conflict_current(store.save(&state(mirror, 4, Phase::Normal), 3, None).await);
    assert_eq!(current, None);
    assert_eq!(store.load(mirror).await.expect("load"), None);
}

/// Successive writes each advance the version by one and the latest is read back.
pub async fn successive_writes_are_read_back(store: &impl Store, mirror: &str) {
    for v in 1..=5 {
        let phase = if v % 2 == 0 { Phase::Degraded } else { Phase::Normal };
        store.save(&state(mirror, v, phase), v - 1, None).await.expect("write");
        assert_eq!(store.load(mirror).await.expect("load").map(|s| s.version), Some(v));
    }
}

/// Mirrors are independent, and listed.
pub async fn mirrors_are_independent_and_listed(store: &impl Store, a: &str, b: &str) {
    store.save(&state(a, 1, Phase::Normal), 0, None).await.expect("a");
    store.save(&state(b, 1, Phase::DrActive), 0, None).await.expect("b");
    store.save(&state(a, 2, Phase::Degraded), 1, None).await.expect("a2");
    assert_eq!(
        store.load(b).await.expect("load").map(|s| s.phase),
        Some(Phase::DrActive)
    );
    let names = store.mirrors().await.expect("list");
    assert!(
        names.contains(&a.to_string()) && names.contains(&b.to_string()),
        "{names:?}"
    );
}

/// Stores version 1, then `writers` tasks (of a multi-thread runtime) each try to
/// write version 2 (epoch 100 + their number) at the same moment, with `delivery`.
async fn race_from_version_1<S: Store + 'static>(
    store: &std::sync::Arc<S>,
    mirror: &str,
    writers: u64,
    delivery: Option<&'static str>,
) -> Vec<(u64, Result<(), SaveError>)> {
    store.save(&state(mirror, 1, Phase::Normal), 0, None).await.expect("v1");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(writers as usize));
    let mut tasks = Vec::new();
    for i in 0..writers {
        let store = store.clone();
        let barrier = barrier.clone();
        let mut s = state(mirror, 2, Phase::PrimaryLost);
        s.epoch = 100 + i;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            (i, store.save(&s, 1, delivery).await)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("writer task"));
    }
    results
}

/// Of many writers racing from the same version (on separate tasks of a
/// multi-thread runtime), exactly one wins; every loser learns the winner's state.
pub async fn racing_writers_have_exactly_one_winner<S: Store + 'static>(
    store: std::sync::Arc<S>,
    mirror: &str,
    writers: u64,
) {
    let results = race_from_version_1(&store, mirror, writers, None).await;
    let winners: Vec<u64> = results.iter().filter(|(_, r)| r.is_ok()).map(|(i, _)| *i).collect();
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let stored = store.load(mirror).await.expect("load").expect("stored");
    assert_eq!(stored.epoch, 100 + winners[0]);
    for (_, r) in results {
        match r {
            Ok(()) => {}
            Err(SaveError::Conflict { current }) => {
                assert_eq!(
                    current.map(|b| b.epoch),
                    Some(stored.epoch),
                    "every loser learns the winner's state"
                )
            }
            Err(e) => panic!("a loser must see a conflict, not {e}"),
        }
    }
}

/// A write that applies a delivery an earlier write applied is a duplicate: nothing
/// is written, whatever version it expects, although the state's own list of seen
/// ids (bounded by count) no longer has it. Other deliveries and other mirrors are
/// not affected.
pub async fn a_delivery_applied_before_is_a_duplicate(store: &impl Store, mirror: &str, other: &str) {
    let v1 = state(mirror, 1, Phase::Normal);
    store.save(&v1, 0, Some("evt-1")).await.expect("v1 applies evt-1");
    let again = store
        .save(&state(mirror, 2, Phase::PrimaryLost), 1, Some("evt-1"))
        .await;
    assert!(matches!(again, Err(SaveError::Duplicate)), "{again:?}");
    assert_eq!(
        store.load(mirror).await.expect("load"),
        Some(v1),
        "a duplicate writes nothing"
    );

    let v2 = state(mirror, 2, Phase::Degraded);
    store
        .save(&v2, 1, Some("evt-2"))
        .await
        .expect("another delivery is applied");
    let stale = store
        .save(&state(mirror, 2, Phase::PrimaryLost), 1, Some("evt-1"))
        .await;
    assert!(
        matches!(stale, Err(SaveError::Duplicate)),
        "a duplicate is a duplicate even with a stale version: {stale:?}"
    );
    store
        .save(&state(mirror, 3, Phase::Normal), 2, None)
        .await
        .expect("a write without a delivery is never a duplicate");
    store
        .save(&state(other, 1, Phase::Normal), 0, Some("evt-1"))
        .await
        .expect("the same id on another mirror is another delivery");
    assert_eq!(store.load(mirror).await.expect("load").map(|s| s.version), Some(3));
}

/// Copies of one delivery racing from the same version: exactly one is applied;
/// every other copy loses the version or is a duplicate, and changes nothing.
pub async fn racing_copies_of_a_delivery_apply_once<S: Store + 'static>(
    store: std::sync::Arc<S>,
    mirror: &str,
    copies: u64,
) {
    let results = race_from_version_1(&store, mirror, copies, Some("evt-raced")).await;
    let mut applied = 0;
    for (_, result) in results {
        match result {
            Ok(()) => applied += 1,
            Err(SaveError::Conflict { current }) => {
                assert_eq!(
                    current.map(|s| s.version),
                    Some(2),
                    "a loser learns the winner's version"
                )
            }
            Err(SaveError::Duplicate) => {}
            Err(e) => panic!("a copy must win, lose or be a duplicate, not {e}"),
        }
    }
    assert_eq!(applied, 1, "exactly one copy is applied");
    let retry = store
        .save(&state(mirror, 3, Phase::PrimaryLost), 2, Some("evt-raced"))
        .await;
    assert!(
        matches!(retry, Err(SaveError::Duplicate)),
        "a loser deciding again is a duplicate: {retry:?}"
    );
}

/// The whole contract as one test module `$name` for a store: `$make` gives the store
/// (an `Arc`) and what must live as long as it (a temporary directory); `$mirror` turns
/// a mirror name of the suite into the one the store is given (unique names where the
/// tests share one table).
macro_rules! contract_suite {
    ($name:ident, $make:expr, $mirror:expr) => {
        mod $name {
            use super::*;

            fn mirror(name: &str) -> String {
                let of: fn(&str) -> String = $mirror;
                of(name)
            }

            #[tokio::test]
            async fn first_write_creates_the_state() {
                let (store, _keep) = $make;
                contract::first_write_creates_the_state(&*store, &mirror("M1")).await;
            }

            #[tokio::test]
            async fn creating_twice_conflicts_with_the_current_state() {
                let (store, _keep) = $make;
                contract::creating_twice_conflicts_with_the_current_state(&*store, &mirror("M1")).await;
            }

            #[tokio::test]
            async fn stale_write_conflicts_and_changes_nothing() {
                let (store, _keep) = $make;
                contract::stale_write_conflicts_and_changes_nothing(&*store, &mirror("M1")).await;
            }

            #[tokio::test]
            async fn write_expecting_a_missing_state_conflicts_with_none() {
                let (store, _keep) = $make;
                contract::write_expecting_a_missing_state_conflicts_with_none(&*store, &mirror("M1")).await;
            }

            #[tokio::test]
            async fn successive_writes_are_read_back() {
                let (store, _keep) = $make;
                contract::successive_writes_are_read_back(&*store, &mirror("M1")).await;
            }

            #[tokio::test]
            async fn mirrors_are_independent_and_listed() {
                let (store, _keep) = $make;
                contract::mirrors_are_independent_and_listed(&*store, &mirror("M1"), &mirror("M2")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_writers_have_exactly_one_winner() {
                let (store, _keep) = $make;
                contract::racing_writers_have_exactly_one_winner(store, &mirror("M1"), 50).await;
            }

            #[tokio::test]
            async fn a_delivery_applied_before_is_a_duplicate() {
                let (store, _keep) = $make;
                contract::a_delivery_applied_before_is_a_duplicate(&*store, &mirror("M1"), &mirror("M2")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_copies_of_a_delivery_apply_once() {
                let (store, _keep) = $make;
                contract::racing_copies_of_a_delivery_apply_once(store, &mirror("M1"), 20).await;
            }
        }
    };
}

pub(crate) use contract_suite;
