//! The store contract on DynamoDB (moto server, started by `scripts/emulator up`):
//! the same checks as the embedded stores, in the same words. Each test works on
//! mirrors of its own, so the tests share one table safely.

#![cfg(feature = "emulator")]

use crate::aws_support;
use crate::contract::{self, contract_suite};

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use shared::adapters::aws::DynamoStore;
use shared::domain::Phase;
use shared::ports::{SaveError, Store};

async fn store() -> Arc<DynamoStore> {
    Arc::new(aws_support::deps().await.store())
}

contract_suite!(contract_on_dynamodb, (store().await, ()), aws_support::unique);

/// The items under a mirror's key, by sort key.
async fn items_of(
    deps: &shared::adapters::aws::Deps,
    mirror: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    deps.dynamodb
        .query()
        .table_name(&deps.names.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("MIRROR#{mirror}")))
        .consistent_read(true)
        .send()
        .await
        .expect("Query")
        .items
        .unwrap_or_default()
}

fn epoch_seconds(item: &std::collections::HashMap<String, AttributeValue>) -> i64 {
    item["expires_at"]
        .as_n()
        .expect("expires_at is a number")
        .parse()
        .expect("epoch seconds")
}

/// GIVEN writes that apply a delivery and add history lines WHEN reading the table
/// THEN each history line is an item `HIST#<version>#<n>` that expires after 400
/// days and each delivery an item `SEEN#<id>` that expires after 48 hours, while a
/// write with neither (a heartbeat's) leaves only the state item.
#[tokio::test]
async fn history_and_dedupe_items_expire_by_ttl() {
    let deps = aws_support::deps().await;
    let store = deps.store();
    let mirror = aws_support::unique("M");
    let before = chrono::Utc::now().timestamp();
    store
        .save(&contract::state(&mirror, 1, Phase::Normal), 0, Some("evt-1"))
        .await
        .expect("v1");
    let mut v2 = contract::state(&mirror, 2, Phase::PrimaryLost);
    v2.history = store.load(&mirror).await.expect("load").expect("v1").history;
    v2.version = 1;
    v2.record(contract::at("2026-11-25T03:01:00Z"), "primary lost");
    v2.record(contract::at("2026-11-25T03:01:00Z"), "promotion requested");
    v2.version = 2;
    store.save(&v2, 1, None).await.expect("v2: history, no delivery");
    let mut v3 = v2.clone();
    v3.version = 3;
    store
        .save(&v3, 2, None)
        .await
        .expect("v3: a heartbeat's write, nothing new");
    let after = chrono::Utc::now().timestamp();

    let items = items_of(&deps, &mirror).await;
    let keys: Vec<&str> = items.iter().map(|i| i["sk"].as_s().expect("sk").as_str()).collect();
    assert_eq!(
        keys,
        [
            "HIST#000000000001#000",
            "HIST#000000000002#000",
            "HIST#000000000002#001",
            "SEEN#evt-1",
            "STATE"
        ]
    );
    let day = 24 * 3600;
    for item in &items[..3] {
        let expires = epoch_seconds(item);
        assert!(
            (before + 400 * day..=after + 400 * day).contains(&expires),
            "history expires in 400 days: {item:?}"
        );
    }
    assert_eq!(items[2]["what"], AttributeValue::S("promotion requested".into()));
    assert_eq!(items[2]["version"], AttributeValue::N("2".into()));
    assert_eq!(items[2]["at"], AttributeValue::S("2026-11-25T03:01:00Z".into()));
    let seen = &items[3];
    assert!(
        (before + 2 * day..=after + 2 * day).contains(&epoch_seconds(seen)),
        "{seen:?}"
    );
    assert_eq!(seen["delivery"], AttributeValue::S("evt-1".into()));
    assert_eq!(seen["version"], AttributeValue::N("1".into()));
    assert!(!items[4].contains_key("expires_at"), "the state item never expires");
}

/// A lost transactional write still hands the loser the current state from the
/// same answer (the cancellation reason carries the item), and writes no journal item.
#[tokio::test]
async fn a_lost_write_with_a_journal_learns_the_state_and_leaves_no_items() {
    let deps = aws_support::deps().await;
    let store = deps.store();
    let mirror = aws_support::unique("M");
    store
        .save(&contract::state(&mirror, 1, Phase::Normal), 0, None)
        .await
        .expect("v1");
    let v2 = contract::state(&mirror, 2, Phase::Degraded);
    store.save(&v2, 1, None).await.expect("v2");
    let lost = store
        .save(&contract::state(&mirror, 2, Phase::PrimaryLost), 1, Some("evt-late"))
        .await;
    match lost {
        Err(SaveError::Conflict { current: Some(current) }) => assert_eq!(*current, v2),
        other => panic!("expected a conflict with the current state, got {other:?}"),
    }
    let keys: Vec<String> = items_of(&deps, &mirror)
        .await
        .iter()
        .map(|i| i["sk"].as_s().expect("sk").clone())
        .collect();
    assert_eq!(keys, ["HIST#000000000001#000", "HIST#000000000002#000", "STATE"]);
}

/// GIVEN a saved state WHEN reading the table directly THEN the item has the
/// documented keys, the version, the readable copies and no expiry.
#[tokio::test]
async fn the_state_item_is_laid_out_as_documented() {
    let deps = aws_support::deps().await;
    let store = deps.store();
    let mirror = aws_support::unique("M");
    store
        .save(&contract::state(&mirror, 1, Phase::PrimaryLost), 0, None)
        .await
        .expect("v1");
    let item = deps
        .dynamodb
        .get_item()
        .table_name(&deps.names.table)
        .key("pk", AttributeValue::S(format!("MIRROR#{mirror}")))
        .key("sk", AttributeValue::S("STATE".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the item exists");
    assert_eq!(item["mirror"], AttributeValue::S(mirror.clone()));
    assert_eq!(item["version"], AttributeValue::N("1".into()));
    assert_eq!(item["epoch"], AttributeValue::N("1".into()));
    assert_eq!(item["phase"], AttributeValue::S("primary_lost".into()));
    assert!(item["updated_at"].as_s().is_ok());
    assert!(!item.contains_key("expires_at"), "the state item never expires");
    let json = item["state"].as_s().expect("state is a string");
    let state: shared::domain::MirrorState = serde_json::from_str(json).expect("the state is the MirrorState JSON");
    assert_eq!(state, contract::state(&mirror, 1, Phase::PrimaryLost));
}

/// The table is created as the template creates it: pk/sk strings, on demand, TTL on `expires_at`.
#[tokio::test]
async fn the_table_has_the_documented_schema_and_ttl() {
    let deps = aws_support::deps().await;
    let table = deps
        .dynamodb
        .describe_table()
        .table_name(&deps.names.table)
        .send()
        .await
        .expect("DescribeTable");
    let table = table.table.expect("table");
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
        .collect();
    assert_eq!(
        keys,
        [
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let ttl = deps
        .dynamodb
        .describe_time_to_live()
        .table_name(&deps.names.table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description.expect("ttl");
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
}

/// A store error (here: a table that does not exist) is a `StoreError`, never a
/// conflict, and names the call.
#[tokio::test]
async fn a_missing_table_is_a_store_error_not_a_conflict() {
    let deps = aws_support::deps().await;
    let store = DynamoStore::new(deps.dynamodb.get().clone(), &aws_support::unique("no-such-table"));
    let err = store.load("M").await.expect_err("no table");
    assert!(err.to_string().contains("DynamoDB GetItem"), "{err}");
    match store.save(&contract::state("M", 1, Phase::Normal), 0, None).await {
        // The state with its history line: the write is a transaction.
        Err(SaveError::Store(e)) => assert!(e.to_string().contains("DynamoDB TransactWriteItems"), "{e}"),
        other => panic!("expected a store error, got {other:?}"),
    }
}

/// Alerts kept by a test, shared between the engines of one test.
#[derive(Clone, Default)]
struct Sent(Arc<std::sync::Mutex<Vec<shared::domain::Alert>>>);

impl shared::ports::Notifier for Sent {
    async fn publish(&self, alert: &shared::domain::Alert) -> Result<(), shared::ports::NotifyError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(alert.clone());
        Ok(())
    }
}

/// GIVEN a mirror whose primary serves WHEN eight control planes (as concurrent
/// Lambda invocations) handle the same delivery of "backup down" at once on the
/// DynamoDB store THEN exactly one writes, one alert goes out, and the others learn
/// from their lost condition that the delivery was already handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_duplicate_deliveries_alert_once_on_dynamodb() {
    use shared::adapters::embedded::RecordingActions;
    use shared::domain::{AlertKind, MemberStatus, Signal, SignalKind};
    use shared::engine::Engine;

    let deps = aws_support::deps().await;
    let mirror = aws_support::unique("DUP");
    let topology = Arc::new(
        shared::topology::Topology::parse(
            "test topology",
            &format!(
                r#"
[[mirror]]
name = "{mirror}"
primary_region = "us-east-1"
dr_region = "us-west-2"

[[mirror.member]]
name = "A"
kind = "failover"
region = "us-east-1"
zone = "us-east-1a"

[[mirror.member]]
name = "B"
kind = "failover"
region = "us-east-1"
zone = "us-east-1b"

[[mirror.member]]
name = "DR1"
kind = "dr_async"
region = "us-west-2"
zone = "us-west-2a"
"#
            ),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let sent = Sent::default();
    let engine = |sent: &Sent| {
        Arc::new(Engine::new(
            topology.clone(),
            deps.store(),
            sent.clone(),
            RecordingActions::new(None),
            "http://127.0.0.1:8080",
        ))
    };
    let now = contract::at("2026-11-25T03:00:00Z");
    let status = |member: &str, status: MemberStatus, id: &str| Signal {
        mirror: mirror.clone(),
        id: Some(id.to_string()),
        at: now,
        kind: SignalKind::Status {
            reason: None,
            member: member.into(),
            status,
            heartbeat: false,
            journal_latency: None,
        },
    };
    engine(&sent)
        .handle(status("A", MemberStatus::Primary, "a-primary"), now)
        .await
        .expect("A primary");
    let before = deps.store().load(&mirror).await.expect("load").expect("stored");

    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (engine, barrier, signal) = (
            engine(&sent),
            barrier.clone(),
            status("B", MemberStatus::Down, "b-down-1"),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            engine.handle(signal, now).await.map(|o| o.reports.len())
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("handled");
    }
    let degraded: Vec<_> = sent
        .0
        .lock()
        .expect("sent")
        .iter()
        .filter(|a| a.kind == AlertKind::Degraded)
        .cloned()
        .collect();
    assert_eq!(degraded.len(), 1, "one alert for eight deliveries: {degraded:?}");
    let after = deps.store().load(&mirror).await.expect("load").expect("stored");
    assert_eq!(after.phase, Phase::Degraded);
    assert!(after.has_seen("b-down-1"));
    // At most the transition and the outbox clean-up, whoever made them: no loser wrote.
    assert!(
        after.version <= before.version + 2,
        "{} writes for one delivery",
        after.version - before.version
    );
}

/// GIVEN more history lines than the state item keeps (its newest 100) WHEN the
/// store's history is read THEN every line comes back from the table's history items,
/// oldest first, and `since` keeps the later ones: the terminal's `history` reaches
/// back as far as the table keeps them.
#[tokio::test]
async fn the_history_reaches_back_past_what_the_state_keeps() {
    let store = store().await;
    let mirror = aws_support::unique("M");
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let mut state = shared::domain::MirrorState::new(&mirror, start);
    for write in 0..2u64 {
        for n in 0..60i64 {
            let i = write as i64 * 60 + n;
            state.record(start + chrono::Duration::seconds(i), format!("line {i}"));
        }
        state.version = write + 1;
        store.save(&state, write, None).await.expect("saved");
    }
    let kept = store.load(&mirror).await.expect("load").expect("state").history;
    assert_eq!(kept.len(), shared::domain::state::MAX_HISTORY);
    let all = store.history(&mirror, None).await.expect("history");
    let words: Vec<String> = all.iter().map(|h| h.what.clone()).collect();
    assert_eq!(words, (0..120).map(|i| format!("line {i}")).collect::<Vec<_>>());
    assert_eq!((all[0].version, all[119].version), (1, 2));
    let later = store
        .history(&mirror, Some(start + chrono::Duration::seconds(110)))
        .await
        .expect("history since");
    assert_eq!(later.len(), 10);
    assert_eq!(later[0].what, "line 110");
}
