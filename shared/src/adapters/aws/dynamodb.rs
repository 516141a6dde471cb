//! The state store on DynamoDB: one item per mirror in a single table
//! (docs/storage.md), one conditional write per state change.
//!
//! - `pk = MIRROR#<name>`, `sk = STATE`; the whole `MirrorState` as JSON in `state`,
//!   its `version` as a number (the write condition), and `phase`, `epoch`,
//!   `primary`, `updated_at` copied out for people reading the table.
//! - A write expects a version: `attribute_not_exists(pk)` for the first one,
//!   `version = :expected` after that. A lost write asks for the stored item back
//!   (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so the loser learns the
//!   current state from the same answer, without a second read.
//! - A write that applies a delivery or adds history lines also writes their items
//!   (`SEEN#<id>`, expiring after 48 hours; `HIST#<version>#<n>`, after 400 days) in
//!   the same `TransactWriteItems`; the dedupe item must not exist yet, so a
//!   duplicate the state's own list has forgotten is caught by the same write.
//! - Reads are strongly consistent.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use super::describe;
use crate::domain::state::HistoryEntry;
use crate::domain::MirrorState;
use crate::ports::{SaveError, Store, StoreError, DEDUPE_WINDOW_HOURS, HISTORY_RETENTION_DAYS};

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

    /// The common case: the state item alone, one conditional `PutItem`.
    async fn put_state(&self, state: &MirrorState, item: Item, expected: u64) -> Result<(), SaveError> {
        let (condition, names, values) = version_condition(expected);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(lost)) => {
                    Err(self.conflict(&state.mirror, lost.item()).await?)
                }
                _ => Err(SaveError::Store(StoreError(describe("DynamoDB PutItem", &err)))),
            },
        }
    }

    /// The state item with its journal: the delivery's dedupe item (which must not
    /// exist yet) and the history lines of this version, all or nothing in one
    /// `TransactWriteItems`.
    async fn put_state_with_journal(
        &self,
        state: &MirrorState,
        item: Item,
        expected: u64,
        delivery: Option<&str>,
        history: Vec<Item>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), SaveError> {
        let (condition, names, values) = version_condition(expected);
        let mut puts = vec![Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)];
        if let Some(id) = delivery {
            puts.push(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(seen_item(state, id, now)))
                    .condition_expression("attribute_not_exists(pk)"),
            );
        }
        for line in history {
            puts.push(Put::builder().table_name(&self.table).set_item(Some(line)));
        }
        let mut items = Vec::with_capacity(puts.len());
        for put in puts {
            let put = put
                .build()
                .map_err(|e| StoreError(format!("cannot build the write of {}: {e}", state.mirror)))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let write = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            // The SDK's own retries of this call repeat the token: a retry of a write
            // that happened succeeds instead of losing to itself.
            .client_request_token(request_token()?);
        let err = match write.send().await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
            return Err(SaveError::Store(StoreError(describe(
                "DynamoDB TransactWriteItems",
                &err,
            ))));
        };
        let reasons = cancelled.cancellation_reasons();
        let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
        if delivery.is_some() && code(1) == "ConditionalCheckFailed" {
            return Err(SaveError::Duplicate);
        }
        match code(0) {
            "ConditionalCheckFailed" => Err(self
                .conflict(&state.mirror, reasons.first().and_then(|r| r.item()))
                .await?),
            // Another write of the same item was in progress: as good as losing the race.
            "TransactionConflict" => Err(self.conflict(&state.mirror, None).await?),
            _ => Err(SaveError::Store(StoreError(format!(
                "DynamoDB TransactWriteItems was cancelled: {}",
                reasons
                    .iter()
                    .map(|r| r.message().unwrap_or(r.code().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join("; ")
            )))),
        }
    }

    /// A lost write: the current state from the item DynamoDB sent back, or (only if
    /// it sent none) from a read.
    async fn conflict(&self, mirror: &str, item: Option<&Item>) -> Result<SaveError, StoreError> {
        let current = match item {
            Some(item) => Some(state_from_item(item)?),
            None => self.load(mirror).await?,
        };
        Ok(SaveError::Conflict {
            current: current.map(Box::new),
        })
    }
}

type Condition = (
    &'static str,
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

/// The write condition: nothing stored yet, or the version the writer read.
fn version_condition(expected: u64) -> Condition {
    if expected == 0 {
        ("attribute_not_exists(pk)", None, None)
    } else {
        (
            "#version = :expected",
            Some(HashMap::from([("#version".to_string(), "version".to_string())])),
            Some(HashMap::from([(
                ":expected".to_string(),
                AttributeValue::N(expected.to_string()),
            )])),
        )
    }
}

/// 128 random bits, hex: a `ClientRequestToken` (at most 36 characters).
fn request_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError(format!("no random source for a request token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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

/// The sort key of a history line: by version, then by its place in the write.
pub fn history_sk(version: u64, index: usize) -> String {
    format!("HIST#{version:012}#{index:03}")
}

/// The sort key of a delivery's dedupe item. Ids longer than a key can reasonably
/// hold are kept by their SHA-256.
pub fn seen_sk(id: &str) -> String {
    if id.len() <= 512 {
        format!("SEEN#{id}")
    } else {
        format!("SEEN#sha256:{}", crate::token::hash_token(id))
    }
}

/// At most this many history items go with one write (a transaction holds 100 items).
const MAX_HISTORY_ITEMS: usize = 90;

fn expires_at(at: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

/// The history lines the write of `state` adds, as items that expire after
/// [`HISTORY_RETENTION_DAYS`].
pub fn history_items(state: &MirrorState, now: chrono::DateTime<chrono::Utc>) -> Vec<Item> {
    let lines: Vec<_> = state.new_history().collect();
    let skip = lines.len().saturating_sub(MAX_HISTORY_ITEMS);
    let expiry = expires_at(now + chrono::Duration::days(HISTORY_RETENTION_DAYS));
    lines
        .into_iter()
        .enumerate()
        .skip(skip)
        .map(|(index, line)| {
            Item::from([
                ("pk".to_string(), AttributeValue::S(mirror_pk(&state.mirror))),
                ("sk".to_string(), AttributeValue::S(history_sk(state.version, index))),
                ("mirror".to_string(), AttributeValue::S(state.mirror.clone())),
                ("version".to_string(), AttributeValue::N(state.version.to_string())),
                ("epoch".to_string(), AttributeValue::N(line.epoch.to_string())),
                (
                    "at".to_string(),
                    AttributeValue::S(line.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ),
                ("what".to_string(), AttributeValue::S(line.what.clone())),
                ("expires_at".to_string(), expiry.clone()),
            ])
        })
        .collect()
}

/// The dedupe item of a delivery the write of `state` applies; expires after
/// [`DEDUPE_WINDOW_HOURS`].
pub fn seen_item(state: &MirrorState, id: &str, now: chrono::DateTime<chrono::Utc>) -> Item {
    Item::from([
        ("pk".to_string(), AttributeValue::S(mirror_pk(&state.mirror))),
        ("sk".to_string(), AttributeValue::S(seen_sk(id))),
        ("mirror".to_string(), AttributeValue::S(state.mirror.clone())),
        ("delivery".to_string(), AttributeValue::S(id.to_string())),
        ("version".to_string(), AttributeValue::N(state.version.to_string())),
        (
            "seen_at".to_string(),
            AttributeValue::S(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        ),
        (
            "expires_at".to_string(),
            expires_at(now + chrono::Duration::hours(DEDUPE_WINDOW_HOURS)),
        ),
    ])
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

    async fn save(&self, state: &MirrorState, expected: u64, delivery: Option<&str>) -> Result<(), SaveError> {
        if state.version != expected + 1 {
            return Err(SaveError::Store(StoreError(format!(
                "a write must carry version {} (expected + 1), not {}",
                expected + 1,
                state.version
            ))));
        }
        let now = chrono::Utc::now();
        let item = state_item(state, now)?;
        let history = history_items(state, now);
        if delivery.is_none() && history.is_empty() {
            return self.put_state(state, item, expected).await;
        }
        self.put_state_with_journal(state, item, expected, delivery, history, now)
            .await
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

    /// The mirror's history items (`HIST#<version>#<index>`, kept for
    /// [`HISTORY_RETENTION_DAYS`]), every page of the Query, oldest first.
    async fn history(
        &self,
        mirror: &str,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut lines = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :hist)")
                .expression_attribute_values(":pk", AttributeValue::S(mirror_pk(mirror)))
                .expression_attribute_values(":hist", AttributeValue::S("HIST#".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError(describe("DynamoDB Query of the history", &e)))?;
            for item in out.items() {
                let line = history_from_item(item)?;
                if since.is_none_or(|since| line.at >= since) {
                    lines.push(line);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(lines)
    }
}

/// Reads a history item back; a damaged one is an error, never skipped.
fn history_from_item(item: &Item) -> Result<HistoryEntry, StoreError> {
    let key = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError(format!("history item {key}: no {name}")))
    };
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| StoreError(format!("history item {key}: no number {name}")))
    };
    let at = chrono::DateTime::parse_from_rfc3339(text("at")?)
        .map_err(|e| StoreError(format!("history item {key}: at: {e}")))?
        .with_timezone(&chrono::Utc);
    Ok(HistoryEntry {
        at,
        epoch: number("epoch")?,
        what: text("what")?.clone(),
        version: number("version")?,
    })
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
