//! The `promotion-executor` Lambda function (runs promotions itself, no hand-off): wiring only; the handler lives in `shared::handlers::promotion_executor`.

use lambda_runtime::{run, service_fn, Error};
use shared::handlers::{init_tracing, promotion_executor, Approved, Function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let function = Function::from_env(Approved::CarryOut).await?;
    run(service_fn(|event| promotion_executor::handle(&function, event))).await
}
