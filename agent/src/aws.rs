//! Sending to EventBridge: `PutEvents` on the configured bus, in the configured
//! region (the standard AWS chain for credentials and `AWS_ENDPOINT_URL`).
//!
//! Retries: the SDK's standard mode retries a call that failed on throttling, a 5xx
//! or the network (4 attempts, exponential backoff with jitter). `PutEvents` can
//! also succeed as a call and fail for the entry (`FailedEntryCount` 1): an entry
//! that failed on throttling or an internal failure is sent again, with backoff,
//! up to 4 times; any other failed entry is an error with the service's code and
//! message.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::RequestId;
use aws_sdk_eventbridge::primitives::DateTime as AwsDateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use shared::events::MIRROR_EVENT_SOURCE;

use crate::config::Config;
use crate::event::Event;

/// Attempts for a failed entry (and, within each, for the call itself).
pub const ATTEMPTS: u32 = 4;

/// The entry error codes worth sending again (EventBridge's own words for
/// throttling and its internal failures).
const RETRYABLE: [&str; 4] = [
    "ThrottlingException",
    "InternalFailure",
    "InternalException",
    "ServiceUnavailable",
];

/// The EventBridge client for the configured region.
pub async fn client(config: &Config) -> Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await;
    Client::new(&sdk)
}

/// Sends one event; returns the id EventBridge gave it.
pub async fn put(client: &Client, config: &Config, event: &Event) -> Result<String, String> {
    let entry = PutEventsRequestEntry::builder()
        .source(MIRROR_EVENT_SOURCE)
        .detail_type(event.kind.detail_type())
        .detail(event.detail_json())
        .event_bus_name(&config.event_bus)
        .time(AwsDateTime::from_secs(event.time.timestamp()))
        .build();
    let mut attempt = 1;
    loop {
        let output = client
            .put_events()
            .entries(entry.clone())
            .send()
            .await
            .map_err(|e| describe("PutEvents", &e))?;
        let result = output.entries().first();
        let code = result.and_then(|r| r.error_code()).filter(|c| !c.is_empty());
        if output.failed_entry_count() == 0 && code.is_none() {
            return result
                .and_then(|r| r.event_id())
                .map(str::to_string)
                .ok_or_else(|| "PutEvents: EventBridge accepted the event but gave no event id".to_string());
        }
        let code = code.unwrap_or("an error without a code");
        let message = result.and_then(|r| r.error_message()).unwrap_or("");
        if RETRYABLE.contains(&code) && attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            attempt += 1;
            continue;
        }
        return Err(format!(
            "PutEvents: EventBridge refused the event on bus {:?} in {}: {code}{}{}",
            config.event_bus,
            config.region,
            if message.is_empty() { "" } else { ": " },
            message
        ));
    }
}

/// `--check`: the bus exists and the agent's credentials may see it.
pub async fn check_bus(client: &Client, config: &Config) -> Result<String, String> {
    let bus = client
        .describe_event_bus()
        .name(&config.event_bus)
        .send()
        .await
        .map_err(|e| describe("DescribeEventBus", &e))?;
    Ok(bus.arn().unwrap_or(&config.event_bus).to_string())
}

/// An SDK error in words: the service's code and message (and request id), or what
/// went wrong on the way there, with its causes.
fn describe<E, R>(call: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(_) = error {
        let meta = error.meta();
        let mut text = format!("{call}: {}", meta.code().unwrap_or("an error response without a code"));
        if let Some(m) = meta.message().filter(|m| !m.trim().is_empty()) {
            text.push_str(": ");
            text.push_str(m);
        }
        if let Some(id) = meta.request_id() {
            text.push_str(&format!(" (AWS request id {id})"));
        }
        return text;
    }
    let mut text = format!("{call}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}
