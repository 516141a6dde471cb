//! The `mirror-events` Lambda function: wiring only; the handler lives in `shared::handlers::mirror_events`.

use lambda_runtime::{run, service_fn, Error};
use shared::handlers::{init_tracing, mirror_events, Approved, Function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let function = Function::from_env(Approved::HandOff).await?;
    run(service_fn(|event| mirror_events::handle(&function, event))).await
}
