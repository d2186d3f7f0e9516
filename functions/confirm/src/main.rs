#[tokio::main]
async fn main() -> Result<(), admit_http::lambda::BoxError> {
    admit_http::lambda::run(admit_confirm::routes).await
}
