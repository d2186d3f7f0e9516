#[tokio::main]
async fn main() -> Result<(), admit_lambda::BoxError> {
    admit_lambda::run(admit_scim::routes).await
}
