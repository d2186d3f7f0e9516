//! The Lambda world's composition root (`admit serve`'s is `infra/admit`):
//! each function's `main` calls [`run`] (or, for the `remind` function,
//! [`init_tracing`] and [`app_from_env`]). The settings are read once from
//! the environment ([`admit_settings::Settings::from_env`], the same names
//! `admit serve` reads), the DynamoDB store, the SES mailer and the operator
//! token built from them at init, then `lambda_http` serves the routes.

use admit_app::{App, Config, SystemClock};
use admit_mail::SesMailer;
use admit_settings::{OperatorToken, Settings};
use admit_store_dynamodb::DynamoStore;
use axum::Router;
use std::sync::Arc;

pub mod kms;

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

/// The use cases wired to DynamoDB and SES as the environment configures
/// them ([`Settings::from_env`]: `ADMIT_TABLE`, `ADMIT_PUBLIC_URL`,
/// `ADMIT_MAIL_FROM`, `ADMIT_SES_CONFIGURATION_SET`, the operator token from
/// the secret `ADMIT_OPERATOR_TOKEN_SECRET_ARN` or `ADMIT_OPERATOR_TOKEN`,
/// `ADMIT_WARM_AT_INIT`, the KMS key sealing secrets `ADMIT_KMS_KEY_ID`). AWS endpoints and credentials the SDK's own way.
pub async fn app_from_env() -> Result<App, BoxError> {
    // As text: `main` prints its error with `Debug`, which should read
    // `"ADMIT_TABLE is not set"`, not the variant's name.
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    app_from_settings(&settings, &aws).await
}

/// [`app_from_env`] with given settings and AWS configuration.
pub async fn app_from_settings(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
) -> Result<App, BoxError> {
    let table = settings.table().map_err(|e| e.to_string())?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table);
    if settings.warm_at_init {
        store.warm_up().await;
    }
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(aws),
        &settings.mail_from,
        settings.ses_configuration_set.clone(),
    )?;
    let operator_token = match &settings.operator_token {
        Some(OperatorToken::Secret(arn)) => {
            Some(operator_token_from_secret(&aws_sdk_secretsmanager::Client::new(aws), arn).await?)
        }
        Some(OperatorToken::Inline(token)) => Some(token.clone()),
        None => None,
    };
    let mut config = Config::new(&settings.public_url, operator_token.as_deref());
    config.rate_limits = admit_app::RateLimitConfig::parse(
        &settings.rate_limit_address,
        &settings.rate_limit_account,
    )
    .map_err(|e| format!("rate limits: {e}"))?;
    config.event_retention_days = settings.event_retention_days;
    // Only the invite function (domain verification) and the scheduled job
    // look DNS up; building the resolver costs no call.
    let dns = admit_dns::HickoryTxt::new(settings.dns_server, admit_dns::DEFAULT_TIMEOUT)?;
    let app = App::new(
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(SystemClock),
        config,
    )
    .with_dns(Arc::new(dns));
    // Only the functions that seal or open secrets are given the key (the
    // template sets it for all; IAM lets only those two use it). Without
    // it, sealing and opening fail: nothing is ever stored in clear.
    Ok(match &settings.kms_key_id {
        Some(key_id) => app.with_secret_box(Arc::new(kms::KmsSecretBox::new(
            aws_sdk_kms::Client::new(aws),
            key_id,
        ))),
        None => app,
    })
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
    run_with_settings(routes, |app, _| configure(app)).await
}

/// [`run_with`], `configure` also given the settings read: the SSO client
/// is built with [`Settings::ca_file`] (`ADMIT_CA_FILE`), the CA bundle it
/// trusts besides the platform's roots.
pub async fn run_with_settings(
    routes: fn() -> Router<App>,
    configure: impl FnOnce(App, &Settings) -> Result<App, BoxError>,
) -> Result<(), BoxError> {
    init_tracing();
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let app = configure(app_from_settings(&settings, &aws).await?, &settings)?;
    let router = admit_http::finish(routes(), app)
        .layer(axum::middleware::map_request(client_ip_from_api_gateway));
    lambda_http::run(router).await
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`
/// of the HTTP API's event, which API Gateway sets from the connection, not
/// from a header the client controls), for the rate limits.
async fn client_ip_from_api_gateway(mut req: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let ip = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        req.extensions_mut().insert(admit_http::ClientIp(ip));
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;

    fn request(source_ip: Option<&str>) -> axum::extract::Request {
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.http.source_ip = source_ip.map(str::to_owned);
        let mut req = axum::extract::Request::new(axum::body::Body::empty());
        req.extensions_mut()
            .insert(RequestContext::ApiGatewayV2(ctx));
        req
    }

    #[tokio::test]
    async fn the_client_is_api_gateways_source_ip() {
        let req = client_ip_from_api_gateway(request(Some("203.0.113.9"))).await;
        assert_eq!(
            req.extensions().get::<admit_http::ClientIp>(),
            Some(&admit_http::ClientIp("203.0.113.9".parse().unwrap()))
        );
        // No address, or not one: nothing to count against.
        for ip in [None, Some("not an address")] {
            let req = client_ip_from_api_gateway(request(ip)).await;
            assert_eq!(req.extensions().get::<admit_http::ClientIp>(), None);
        }
        // A header the client controls is never read.
        let mut req = axum::extract::Request::new(axum::body::Body::empty());
        req.headers_mut()
            .insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
        let req = client_ip_from_api_gateway(req).await;
        assert_eq!(req.extensions().get::<admit_http::ClientIp>(), None);
    }
}
