//! `health-poll`: the schedule. Reads every member's Route 53 health check, drives
//! the time-based rules (confirmation, expiry, reminders, silent heartbeats) and
//! reports the control plane's own heartbeat metric.

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{finish, summary, Function, HandlerError};

/// The most the Route 53 poll may take of a run (the function times out at 55 s).
pub const ROUTE53_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);
use crate::events;

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let now = Utc::now();
    // The schedule event itself decodes to one tick per mirror.
    let ticks = events::decode_value(&event.payload, function.engine.topology()).map_err(|e| {
        tracing::error!(error = %e, "the schedule payload cannot be used");
        HandlerError::Rejected(e.to_string())
    })?;
    let mut outcomes = Vec::new();
    // Time-based rules first: they must run even when Route 53's API (in us-east-1)
    // hangs during a regional outage.
    for tick in ticks {
        outcomes.push(function.engine.handle(tick, now).await.map_err(HandlerError::from)?);
    }
    // Route 53 is one observer among several and never on the critical path: the
    // whole poll gets a short budget, and a failed or slow poll is logged and skipped.
    let poll = function.deps.route53();
    let polled = tokio::time::timeout(ROUTE53_BUDGET, poll.poll_health(function.engine.topology(), now)).await;
    match polled {
        Ok(Ok(signals)) => {
            for signal in signals {
                outcomes.push(function.engine.handle(signal, now).await.map_err(HandlerError::from)?);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "Route 53 health poll failed; skipped this minute"),
        Err(_) => tracing::warn!(
            budget_secs = ROUTE53_BUDGET.as_secs(),
            "Route 53 health poll too slow; skipped this minute"
        ),
    }
    if let Err(e) = function.deps.heartbeat().beat(now).await {
        tracing::warn!(error = %e, "heartbeat metric not sent");
    }
    finish(function, "health-poll", &outcomes).await?;
    Ok(summary(&outcomes))
}
