//! Running a function on AWS Lambda: clients built once at init from the
//! environment (the same names `admit serve` reads), then `lambda_http`.

use admit_app::{App, Config, SystemClock};
use admit_mail::SesMailer;
use admit_store_dynamodb::DynamoStore;
use axum::Router;
use std::sync::Arc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// JSON logs for CloudWatch; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .init();
}

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// The operator token kept in Secrets Manager under `secret_id` (its
/// `SecretString`, trimmed). Read once, at init; never logged.
pub async fn operator_token_from_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<String, BoxError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read the operator token secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let token = out.secret_string().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return Err("the operator token secret holds no string".into());
    }
    Ok(token.to_owned())
}

/// The use cases wired to DynamoDB and SES as configured by the environment:
/// `ADMIT_TABLE`, `ADMIT_PUBLIC_URL`, `ADMIT_MAIL_FROM`, optional
/// `ADMIT_SES_CONFIGURATION_SET`, and the operator token from the Secrets
/// Manager secret `ADMIT_OPERATOR_TOKEN_SECRET_ARN` (on AWS) or, failing that,
/// `ADMIT_OPERATOR_TOKEN` (local runs); neither: the operator API is off.
/// AWS endpoints and credentials the SDK's own way.
///
/// `ADMIT_WARM_AT_INIT=true` opens the DynamoDB connection at init (one
/// extra `GetItem`). Off by default: on an on-demand cold start the request
/// waits for init anyway, and BENCHMARKS.md measured init plus first request
/// longer with it than without. It pays where init runs ahead of requests
/// (provisioned concurrency).
pub async fn app_from_env() -> Result<App, BoxError> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), env("ADMIT_TABLE")?);
    if std::env::var("ADMIT_WARM_AT_INIT").is_ok_and(|v| v == "true") {
        store.warm_up().await;
    }
    let from = std::env::var("ADMIT_MAIL_FROM").unwrap_or_else(|_| "admit@localhost".into());
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&aws),
        &from,
        std::env::var("ADMIT_SES_CONFIGURATION_SET").ok(),
    )?;
    let operator_token = match std::env::var("ADMIT_OPERATOR_TOKEN_SECRET_ARN") {
        Ok(arn) => Some(
            operator_token_from_secret(&aws_sdk_secretsmanager::Client::new(&aws), &arn).await?,
        ),
        Err(_) => std::env::var("ADMIT_OPERATOR_TOKEN").ok(),
    };
    let config = Config::new(&env("ADMIT_PUBLIC_URL")?, operator_token.as_deref());
    Ok(App::new(
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(SystemClock),
        config,
    ))
}

/// The whole of an HTTP function's `main`.
pub async fn run(routes: fn() -> Router<App>) -> Result<(), BoxError> {
    run_with(routes, Ok).await
}

/// [`run`], giving the `App` what only this function needs (an SSO client).
pub async fn run_with(
    routes: fn() -> Router<App>,
    configure: impl FnOnce(App) -> Result<App, BoxError>,
) -> Result<(), BoxError> {
    init_tracing();
    let app = configure(app_from_env().await?)?;
    lambda_http::run(crate::finish(routes(), app)).await
}
