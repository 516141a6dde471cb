//! `alarm-ingest`: CloudWatch alarm state changes, in all three shapes AWS
//! delivers them (alarm Lambda action, EventBridge, SNS-wrapped).

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{ingest, Function};

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    Ok(ingest(function, "alarm-ingest", &event.payload).await?)
}
