//! `promotion-executor`: runs an approved promotion handed over as a
//! `PromotionApproved` EventBridge event. It claims the request first, so a
//! repeated delivery runs nothing twice.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

use super::{Function, HandlerError, EVENT_SOURCE, PROMOTION_APPROVED};
use crate::engine::Report;
use crate::ports::PromotionOrder;

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let event: EventBridgeEvent<PromotionOrder> = serde_json::from_value(event.payload)
        .map_err(|e| HandlerError::Rejected(format!("not a PromotionApproved event: {e}")))?;
    if event.source != EVENT_SOURCE || event.detail_type != PROMOTION_APPROVED {
        return Err(HandlerError::Rejected(format!(
            "expected source {EVENT_SOURCE:?} and detail-type {PROMOTION_APPROVED:?}, got {:?} / {:?}",
            event.source, event.detail_type
        ))
        .into());
    }
    let order = event.detail;
    let reports = function
        .engine
        .execute_order(order.clone(), Utc::now())
        .await
        .map_err(HandlerError::from)?;
    let executed = reports.iter().any(|r| matches!(r, Report::PromotionExecuted { .. }));
    tracing::info!(mirror = %order.mirror, request = %order.request, executed, "promotion order handled");
    Ok(json!({ "mirror": order.mirror, "request": order.request, "executed": executed, "effects": reports.len() }))
}
