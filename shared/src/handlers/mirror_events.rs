//! `mirror-events`: mirrorgate's own mirror events from the IRIS hosts (role
//! changes, heartbeats, journal latency) and EC2 instance state changes.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{ingest, Function, Ports};

pub async fn handle<P: Ports>(function: &Function<P>, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    Ok(ingest(function, "mirror-events", &event.payload).await?)
}
