use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), admit_lambda::BoxError> {
    let oidc = Arc::new(admit_sso_oidc::OpenIdConnect::new()?);
    let saml = Arc::new(admit_sso_saml::SamaelProvider::new());
    admit_lambda::run_with(admit_sso_callback::routes, |app| {
        Ok(app.with_oidc(oidc).with_saml(saml))
    })
    .await
}
