//! `health-poll`: the schedule. Reads every member's Route 53 health check, drives
//! the time-based rules (confirmation, expiry, reminders, silent heartbeats) and
//! reports the control plane's own heartbeat metric.

use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{finish, summary, Function, HandlerError};
use crate::events;

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let now = Utc::now();
    // The schedule event itself decodes to one tick per mirror.
    let ticks = events::decode_value(&event.payload, function.engine.topology()).map_err(|e| {
        tracing::error!(error = %e, "the schedule payload cannot be used");
        HandlerError::Rejected(e.to_string())
    })?;
    let mut outcomes = Vec::new();
    // Route 53 is optional and never on the critical path: a failed poll is logged
    // and the ticks still run.
    match function
        .deps
        .route53()
        .poll_health(function.engine.topology(), now)
        .await
    {
        Ok(signals) => {
            for signal in signals {
                outcomes.push(function.engine.handle(signal, now).await.map_err(HandlerError::from)?);
            }
        }
        Err(e) => tracing::warn!(error = %e, "Route 53 health poll failed; ticking without it"),
    }
    for tick in ticks {
        outcomes.push(function.engine.handle(tick, now).await.map_err(HandlerError::from)?);
    }
    if let Err(e) = function.deps.heartbeat().beat(now).await {
        tracing::warn!(error = %e, "heartbeat metric not sent");
    }
    finish(function, "health-poll", &outcomes).await?;
    Ok(summary(&outcomes))
}
