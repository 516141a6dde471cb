//! `alarm-ingest`: CloudWatch alarm state changes, in all three shapes AWS
//! delivers them (alarm Lambda action, EventBridge, SNS-wrapped).

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{ingest, Function, Ports};

pub async fn handle<P: Ports>(function: &Function<P>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    Ok(ingest(function, "alarm-ingest", &event.payload).await?)
}
