#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    admit_http::lambda::init_tracing();
    let app = admit_http::lambda::app_from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        admit_remind::handle(&app, event)
    }))
    .await
}
