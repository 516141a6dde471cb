//! The `approval-api` Lambda function: wiring only; the handler lives in `shared::handlers::approval_api`.

use lambda_runtime::{run, service_fn, Error};
use shared::handlers::{approval_api, init_tracing, Approved, Function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let function = Function::from_env(Approved::HandOff).await?;
    run(service_fn(|event| approval_api::handle(&function, event))).await
}
