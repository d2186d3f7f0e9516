use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), admit_lambda::BoxError> {
    let saml = Arc::new(admit_sso_saml::SamaelProvider::new());
    admit_lambda::run_with_settings(admit_sso_callback::routes, |app, settings| {
        // The IdP client trusts the platform's roots plus `ADMIT_CA_FILE`,
        // and reaches loopback only when Admit itself runs there.
        let oidc = admit_sso_oidc::OpenIdConnect::with_options(&admit_sso_oidc::ClientOptions {
            reach: admit_sso_oidc::Reach::when_local(app.config().is_local()),
            ca_file: settings.ca_file.clone(),
        })?;
        Ok(app.with_oidc(Arc::new(oidc)).with_saml(saml))
    })
    .await
}
