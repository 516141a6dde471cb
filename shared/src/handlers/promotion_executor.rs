//! `promotion-executor`: runs an approved promotion handed over as a
//! `PromotionApproved` EventBridge event (or an approved fencing, `FencingApproved`). It claims the request first, so a
//! repeated delivery runs nothing twice.

use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

use super::{Function, HandlerError, Ports, DRILL_APPROVED, EVENT_SOURCE, FENCING_APPROVED, PROMOTION_APPROVED};
use crate::engine::Report;
use crate::ports::PromotionOrder;

/// Kept free before the Lambda deadline, so that the function ends (and logs) on its
/// own terms rather than being killed mid-write.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

pub async fn handle<P: Ports>(function: &Function<P>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let budget = time_left(&event.context).saturating_sub(DEADLINE_MARGIN);
    function.refresh_topology().await;
    let event: EventBridgeEvent<PromotionOrder> = serde_json::from_value(event.payload)
        .map_err(|e| HandlerError::Rejected(format!("not a PromotionApproved event: {e}")))?;
    if event.source != EVENT_SOURCE
        || ![PROMOTION_APPROVED, FENCING_APPROVED, DRILL_APPROVED].contains(&event.detail_type.as_str())
    {
        return Err(HandlerError::Rejected(format!(
            "expected source {EVENT_SOURCE:?} and detail-type {PROMOTION_APPROVED:?}, {FENCING_APPROVED:?} or {DRILL_APPROVED:?}, got {:?} / {:?}",
            event.source, event.detail_type
        ))
        .into());
    }
    let order = event.detail;
    // Every call runs within the function's deadline. A run cut short after its claim
    // is resumed by a later tick, which first checks what this one already did.
    let run = function.engine.execute_order(order.clone(), Utc::now());
    let reports = match tokio::time::timeout(budget, run).await {
        Ok(result) => result.map_err(HandlerError::from)?,
        Err(_) => {
            tracing::error!(mirror = %order.mirror, request = %order.request, budget_secs = budget.as_secs(), "promotion not finished within the function's time; a later tick resumes it");
            return Err(HandlerError::Retry(format!(
                "promotion {} of {} not finished within {} s; health-poll resumes it",
                order.request,
                order.mirror,
                budget.as_secs()
            ))
            .into());
        }
    };
    let executed = reports
        .iter()
        .any(|r| matches!(r, Report::PromotionExecuted { .. } | Report::FencingExecuted { .. }));
    tracing::info!(mirror = %order.mirror, request = %order.request, executed, "promotion order handled");
    Ok(json!({ "mirror": order.mirror, "request": order.request, "executed": executed, "effects": reports.len() }))
}

/// The time left before the invocation's deadline (a generous default when the
/// runtime gives none, as in a direct call from a test).
fn time_left(context: &lambda_runtime::Context) -> Duration {
    if context.deadline == 0 {
        return Duration::from_secs(900);
    }
    let deadline = std::time::UNIX_EPOCH + Duration::from_millis(context.deadline);
    deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO)
}
