//! The `confirm` function: an administrator reads an accepted member's public
//! key and confirms the member, one at a time or in bulk, handing each the
//! organization key its client encrypted with that key.

use admit_app::App;
use admit_app::views::{Confirm, ConfirmMany};
use admit_http::routes::{Route, Routes};
use admit_http::{ApiError, ClientApp, Json, Session};
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};

pub fn routes() -> Router<App> {
    mounted().into_router()
}

/// Everything [`routes`] mounts, as `(method, path)`: held to `openapi.yaml`
/// and `infra/template.yaml` by `tests/tests/routes.rs`.
pub fn route_table() -> Vec<Route> {
    mounted().into_table()
}

fn mounted() -> Routes<App> {
    Routes::new()
        .post("/orgs/{org}/members/{member}/confirm", confirm)
        .post("/orgs/{org}/members/confirm", confirm_many)
        .get("/orgs/{org}/members/{member}/public-key", public_key)
}

async fn public_key(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(app.member_public_key(&who, &org, &member).await?).into_response())
}

async fn confirm(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
    Json(req): Json<Confirm>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(app.confirm(&who, &org, &member, req).await?).into_response())
}

async fn confirm_many(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Json(req): Json<ConfirmMany>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(app.confirm_many(&who, &org, req).await?).into_response())
}
