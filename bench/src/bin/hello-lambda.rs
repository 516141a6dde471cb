//! The yardstick of the cold-start benchmark: the smallest function `lambda_runtime`
//! can run. It answers every event with a greeting and touches nothing else.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(json!({ "hello": "world", "request": event.context.request_id }))
    }))
    .await
}
