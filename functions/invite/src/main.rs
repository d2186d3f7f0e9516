#[tokio::main]
async fn main() -> Result<(), admit_http::lambda::BoxError> {
    admit_http::lambda::run(admit_invite::routes).await
}
