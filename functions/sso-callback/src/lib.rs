//! The `sso-callback` function: the SSO page, discovery, sign-in start, the
//! OIDC callback and the SAML assertion consumer.
//!
//! Not built yet: every route answers 501 `not_implemented` (issues 3 and 4).

use admit_app::App;
use admit_http::not_implemented;
use axum::Router;
use axum::routing::{get, post};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/sso", get(not_implemented))
        .route("/sso/discover", post(not_implemented))
        .route("/sso/start", get(not_implemented))
        .route(
            "/sso/oidc/callback",
            get(not_implemented).post(not_implemented),
        )
        .route("/sso/saml/acs", post(not_implemented))
        .route("/sso/saml/metadata/{sso_identifier}", get(not_implemented))
}
