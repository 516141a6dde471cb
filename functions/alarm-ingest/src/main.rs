//! The `alarm-ingest` Lambda function: wiring only; the handler lives in `shared::handlers::alarm_ingest`.

use lambda_runtime::{run, service_fn, Error};
use shared::handlers::{alarm_ingest, init_tracing, Approved, Function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let function = Function::from_env(Approved::HandOff).await?;
    run(service_fn(|event| alarm_ingest::handle(&function, event))).await
}
