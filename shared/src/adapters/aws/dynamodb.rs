//! The state store on DynamoDB: one item per mirror in a single table
//! (docs/storage.md), one conditional `PutItem` per state change.
//!
//! - `pk = MIRROR#<name>`, `sk = STATE`; the whole `MirrorState` as JSON in `state`,
//!   its `version` as a number (the write condition), and `phase`, `epoch`,
//!   `primary`, `updated_at` copied out for people reading the table.
//! - A write expects a version: `attribute_not_exists(pk)` for the first one,
//!   `version = :expected` after that. A lost write asks for the stored item back
//!   (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so the loser learns the
//!   current state from the same answer, without a second read.
//! - Reads are strongly consistent.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use super::describe;
use crate::domain::MirrorState;
use crate::ports::{SaveError, Store, StoreError};

/// The sort key of a mirror's state item.
pub const STATE_SK: &str = "STATE";
/// DynamoDB refuses items over 400 KB; refuse a little earlier with a clear message.
pub const MAX_STATE_BYTES: usize = 380 * 1024;

/// The partition key of a mirror's items.
pub fn mirror_pk(mirror: &str) -> String {
    format!("MIRROR#{mirror}")
}

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> DynamoStore {
        DynamoStore {
            client,
            table: table.to_string(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

type Item = HashMap<String, AttributeValue>;

/// The item that holds one mirror's state.
pub fn state_item(state: &MirrorState, updated_at: chrono::DateTime<chrono::Utc>) -> Result<Item, StoreError> {
    let json = serde_json::to_string(state)
        .map_err(|e| StoreError(format!("cannot encode the state of {}: {e}", state.mirror)))?;
    if json.len() > MAX_STATE_BYTES {
        return Err(StoreError(format!(
            "the state of {} is {} bytes, over the {MAX_STATE_BYTES} bytes a DynamoDB item can safely hold",
            state.mirror,
            json.len()
        )));
    }
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S(mirror_pk(&state.mirror)));
    item.insert("sk".into(), AttributeValue::S(STATE_SK.into()));
    item.insert("mirror".into(), AttributeValue::S(state.mirror.clone()));
    item.insert("version".into(), AttributeValue::N(state.version.to_string()));
    item.insert("epoch".into(), AttributeValue::N(state.epoch.to_string()));
    item.insert("phase".into(), AttributeValue::S(state.phase.as_str().into()));
    if let Some(primary) = &state.primary {
        item.insert("primary".into(), AttributeValue::S(primary.clone()));
    }
    item.insert(
        "updated_at".into(),
        AttributeValue::S(updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    item.insert("state".into(), AttributeValue::S(json));
    Ok(item)
}

/// Reads a state item back; a damaged item is an error, never a silent default.
pub fn state_from_item(item: &Item) -> Result<MirrorState, StoreError> {
    let key = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("?");
    let json = item
        .get("state")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError(format!("the item {key}/STATE has no state attribute")))?;
    let state: MirrorState = serde_json::from_str(json)
        .map_err(|e| StoreError(format!("the item {key}/STATE holds a damaged state: {e}")))?;
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok());
    if version != Some(state.version) {
        return Err(StoreError(format!(
            "the item {key}/STATE has version {version:?} but its state says {}",
            state.version
        )));
    }
    Ok(state)
}

impl Store for DynamoStore {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(mirror_pk(mirror)))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError(describe("DynamoDB GetItem", &e)))?;
        out.item.as_ref().map(state_from_item).transpose()
    }

    async fn save(&self, state: &MirrorState, expected: u64) -> Result<(), SaveError> {
        if state.version != expected + 1 {
            return Err(SaveError::Store(StoreError(format!(
                "a write must carry version {} (expected + 1), not {}",
                expected + 1,
                state.version
            ))));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(state_item(state, chrono::Utc::now())?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = if expected == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(lost)) => {
                    let current = match lost.item() {
                        Some(item) => Some(state_from_item(item)?),
                        // Only if the service did not send the item back: read it.
                        None => self.load(&state.mirror).await?,
                    };
                    Err(SaveError::Conflict {
                        current: current.map(Box::new),
                    })
                }
                _ => Err(SaveError::Store(StoreError(describe("DynamoDB PutItem", &err)))),
            },
        }
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :state")
                .expression_attribute_values(":state", AttributeValue::S(STATE_SK.into()))
                .projection_expression("#mirror")
                .expression_attribute_names("#mirror", "mirror")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError(describe("DynamoDB Scan", &e)))?;
            for item in out.items() {
                if let Some(Ok(name)) = item.get("mirror").map(|v| v.as_s()) {
                    names.push(name.clone());
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Phase;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .expect("time")
    }

    #[test]
    fn the_item_carries_the_keys_the_version_and_readable_copies() {
        let mut state = MirrorState::new("HSPROD", at("2026-11-25T03:00:00Z"));
        state.version = 7;
        state.epoch = 2;
        state.phase = Phase::DrActive;
        state.primary = Some("HSPROD-DR1".into());
        let item = state_item(&state, at("2026-11-25T03:10:00Z")).expect("item");
        assert_eq!(item["pk"], AttributeValue::S("MIRROR#HSPROD".into()));
        assert_eq!(item["sk"], AttributeValue::S("STATE".into()));
        assert_eq!(item["version"], AttributeValue::N("7".into()));
        assert_eq!(item["epoch"], AttributeValue::N("2".into()));
        assert_eq!(item["phase"], AttributeValue::S("dr_active".into()));
        assert_eq!(item["primary"], AttributeValue::S("HSPROD-DR1".into()));
        assert_eq!(item["updated_at"], AttributeValue::S("2026-11-25T03:10:00Z".into()));
        assert!(!item.contains_key("expires_at"), "the state item never expires");
        assert_eq!(state_from_item(&item).expect("read back"), state);
    }

    #[test]
    fn a_damaged_item_is_an_error_that_names_it() {
        let mut item = state_item(
            &MirrorState::new("M", at("2026-11-25T03:00:00Z")),
            at("2026-11-25T03:00:00Z"),
        )
        .expect("item");
        item.insert("version".into(), AttributeValue::N("9".into()));
        let err = state_from_item(&item).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("MIRROR#M/STATE") && err.contains("version"), "{err}");
        item.insert("state".into(), AttributeValue::S("{".into()));
        assert!(state_from_item(&item).is_err());
    }
}
