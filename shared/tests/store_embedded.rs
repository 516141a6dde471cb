//! The store contract on the embedded stores: in memory, and file-backed.

use crate::contract::{self, contract_suite};

use std::sync::Arc;

use shared::adapters::embedded::{FileStore, MemoryStore, SimulatedClock};
use shared::domain::Phase;
use shared::ports::{Store, DEDUPE_WINDOW_HOURS};

contract_suite!(memory, (Arc::new(MemoryStore::default()), ()), |m: &str| m.to_string());
contract_suite!(
    file,
    {
        let dir = tempfile::tempdir().expect("temp dir");
        (Arc::new(FileStore::open(dir.path()).expect("open")), dir)
    },
    |m: &str| m.to_string()
);

#[tokio::test]
async fn file_store_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = FileStore::open(dir.path()).expect("open");
        store
            .save(&contract::state("M1", 1, Phase::Normal), 0, None)
            .await
            .expect("v1");
        store
            .save(&contract::state("M1", 2, Phase::PrimaryLost), 1, None)
            .await
            .expect("v2");
    }
    let reopened = FileStore::open(dir.path()).expect("reopen");
    assert_eq!(
        reopened.load("M1").await.expect("load").map(|s| s.phase),
        Some(Phase::PrimaryLost)
    );
}

#[tokio::test]
async fn two_file_stores_on_one_directory_see_each_other_and_conflict() {
    // As `mirrorgate serve` and `mirrorgate replay` sharing one --data DIR.
    let dir = tempfile::tempdir().expect("temp dir");
    let a = FileStore::open(dir.path()).expect("a");
    let b = FileStore::open(dir.path()).expect("b");
    a.save(&contract::state("M1", 1, Phase::Normal), 0, None)
        .await
        .expect("a writes v1");
    assert_eq!(b.load("M1").await.expect("b reads").map(|s| s.version), Some(1));
    b.save(&contract::state("M1", 2, Phase::Degraded), 1, None)
        .await
        .expect("b writes v2");
    let lost = a.save(&contract::state("M1", 2, Phase::PrimaryLost), 1, None).await;
    assert!(
        matches!(lost, Err(shared::ports::SaveError::Conflict { current: Some(ref c) }) if c.phase == Phase::Degraded),
        "{lost:?}"
    );
}

#[tokio::test]
async fn file_store_compacts_its_log_when_reopened() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = FileStore::open(dir.path()).expect("open");
        for v in 1..=300 {
            store
                .save(&contract::state("M1", v, Phase::Normal), v - 1, None)
                .await
                .expect("write");
        }
    }
    let before = std::fs::metadata(dir.path().join("state.jsonl")).expect("log").len();
    let store = FileStore::open(dir.path()).expect("reopen");
    let after = std::fs::metadata(dir.path().join("state.jsonl")).expect("log").len();
    assert!(after * 10 < before, "compacted from {before} to {after} bytes");
    assert_eq!(store.load("M1").await.expect("load").map(|s| s.version), Some(300));
}

#[tokio::test]
async fn a_damaged_log_is_reported_not_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("state.jsonl"), "{not json}\n").expect("write");
    let err = FileStore::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[tokio::test]
async fn file_store_remembers_deliveries_across_a_restart_and_a_compaction() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = FileStore::open(dir.path()).expect("open");
        for v in 1..=300 {
            let delivery = format!("evt-{v}");
            store
                .save(&contract::state("M1", v, Phase::Normal), v - 1, Some(&delivery))
                .await
                .expect("write");
        }
    }
    let store = FileStore::open(dir.path()).expect("reopen (compacts)");
    let lines = std::fs::read_to_string(dir.path().join("state.jsonl")).expect("log");
    assert_eq!(lines.lines().count(), 1, "compacted to one line per mirror");
    for v in [1, 150, 300] {
        let again = store
            .save(
                &contract::state("M1", 301, Phase::Normal),
                300,
                Some(&format!("evt-{v}")),
            )
            .await;
        assert!(
            matches!(again, Err(shared::ports::SaveError::Duplicate)),
            "evt-{v}: {again:?}"
        );
    }
}

#[tokio::test]
async fn file_store_forgets_a_delivery_whose_time_is_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = serde_json::to_string(&contract::state("M1", 1, Phase::Normal)).expect("json");
    std::fs::write(
        dir.path().join("state.jsonl"),
        format!(
            "{{\"mirror\":\"M1\",\"state\":{state},\"deliveries\":[{{\"id\":\"evt-old\",\"expires_at\":\"2020-01-01T00:00:00Z\"}},{{\"id\":\"evt-new\",\"expires_at\":\"2999-01-01T00:00:00Z\"}}]}}\n"
        ),
    )
    .expect("log");
    let store = FileStore::open(dir.path()).expect("open");
    let recent = store
        .save(&contract::state("M1", 2, Phase::Degraded), 1, Some("evt-new"))
        .await;
    assert!(matches!(recent, Err(shared::ports::SaveError::Duplicate)), "{recent:?}");
    store
        .save(&contract::state("M1", 2, Phase::Degraded), 1, Some("evt-old"))
        .await
        .expect("a delivery past its window is applied again");
}

/// The embedded stores measure the duplicate window on the clock they are given: a
/// delivery repeated within [`DEDUPE_WINDOW_HOURS`] of that clock is a duplicate, one
/// repeated after it is applied again (as a replay's simulated days pass).
async fn the_duplicate_window_runs_on_the_stores_clock(store: &impl Store, clock: &SimulatedClock) {
    let applied = contract::at("2025-03-01T10:00:00Z");
    clock.set(applied);
    store
        .save(&contract::state("M1", 1, Phase::Normal), 0, Some("evt-1"))
        .await
        .expect("v1 applies evt-1");

    clock.set(applied + chrono::Duration::hours(DEDUPE_WINDOW_HOURS) - chrono::Duration::seconds(1));
    let within = store
        .save(&contract::state("M1", 2, Phase::Degraded), 1, Some("evt-1"))
        .await;
    assert!(
        matches!(within, Err(shared::ports::SaveError::Duplicate)),
        "a second before the window ends on the store's clock: {within:?}"
    );

    clock.set(applied + chrono::Duration::hours(DEDUPE_WINDOW_HOURS + 1));
    store
        .save(&contract::state("M1", 2, Phase::Degraded), 1, Some("evt-1"))
        .await
        .expect("an hour after the window on the store's clock, the delivery is applied again");
    let again = store
        .save(&contract::state("M1", 3, Phase::Normal), 2, Some("evt-1"))
        .await;
    assert!(
        matches!(again, Err(shared::ports::SaveError::Duplicate)),
        "applied again, it is remembered again from the store's now: {again:?}"
    );
}

#[tokio::test]
async fn memory_store_measures_the_duplicate_window_on_its_clock() {
    let clock = Arc::new(SimulatedClock::new(contract::at("2025-03-01T00:00:00Z")));
    let store = MemoryStore::with_clock(clock.clone());
    the_duplicate_window_runs_on_the_stores_clock(&store, &clock).await;
}

#[tokio::test]
async fn file_store_measures_the_duplicate_window_on_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(SimulatedClock::new(contract::at("2025-03-01T00:00:00Z")));
    let store = FileStore::open_with_clock(dir.path(), clock.clone()).expect("open");
    the_duplicate_window_runs_on_the_stores_clock(&store, &clock).await;
}

#[tokio::test]
async fn deliveries_dated_on_a_simulated_clock_expire_by_their_own_dates() {
    // As a replay of a past scenario then `serve` in one --data DIR: deliveries applied
    // a year ago on a simulated clock are still remembered by a store reopened (and
    // compacted) at that time, and are past their window for one on the wall clock.
    let dir = tempfile::tempdir().expect("temp dir");
    let then = contract::at("2025-03-01T10:00:00Z");
    let clock = Arc::new(SimulatedClock::new(then));
    {
        let store = FileStore::open_with_clock(dir.path(), clock.clone()).expect("open");
        for v in 1..=300 {
            store
                .save(
                    &contract::state("M1", v, Phase::Normal),
                    v - 1,
                    Some(&format!("evt-{v}")),
                )
                .await
                .expect("write");
        }
    }
    let at_the_time = FileStore::open_with_clock(dir.path(), clock.clone()).expect("reopen (compacts)");
    let remembered = at_the_time
        .save(&contract::state("M1", 301, Phase::Normal), 300, Some("evt-1"))
        .await;
    assert!(
        matches!(remembered, Err(shared::ports::SaveError::Duplicate)),
        "{remembered:?}"
    );
    drop(at_the_time);
    let today = FileStore::open(dir.path()).expect("reopen on the wall clock");
    today
        .save(&contract::state("M1", 301, Phase::Normal), 300, Some("evt-1"))
        .await
        .expect("a year later on the wall clock, the delivery is applied again");
}
