//! The `health-poll` Lambda function: wiring only; the handler lives in `shared::handlers::health_poll`.

use lambda_runtime::{run, service_fn, Error};
use shared::handlers::{health_poll, init_tracing, Approved, Function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let function = Function::from_env(Approved::HandOff).await?;
    function.check_health_checks().await?;
    run(service_fn(|event| health_poll::handle(&function, event))).await
}
