#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    admit_lambda::init_tracing();
    let app = admit_lambda::app_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        admit_remind::handle(&app, event)
    }))
    .await
}
