//! The `accept` function: the member's side. The pages a browser opens
//! (`/accept`, `/app`, `/setup`, `/done`), invitation lookup and acceptance,
//! the setup step after an SSO sign-in, and sessions (`/auth/login`,
//! `/auth/logout`, `/me`).

use admit_app::App;
use admit_app::views::{
    Accept, DeleteAccount, Login, SetupDone, SetupKeyConnector, SetupMasterPassword,
    SetupTokenOnly, SetupTrustedDevice, TokenOnly,
};
use admit_http::routes::{Route, Routes};
use admit_http::{ApiError, ClientApp, Json, Session, clear_session_cookie, page, session_cookie};
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

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
        .get("/", || async { Redirect::to("/app") })
        .get("/accept", || page(include_str!("../pages/accept.html")))
        .get("/app", || page(include_str!("../pages/app.html")))
        .get("/setup", || page(include_str!("../pages/setup.html")))
        .get("/done", || page(include_str!("../pages/done.html")))
        .get("/assets/{name}", asset)
        .post("/setup/lookup", setup_lookup)
        .post("/setup/master-password", setup_master_password)
        .post("/setup/trusted-device", setup_trusted_device)
        .post("/setup/key-connector", setup_key_connector)
        .post("/invitations/lookup", lookup)
        .post("/invitations/accept", accept)
        .post("/auth/login", login)
        .post("/auth/logout", logout)
        .get("/me", me)
        .delete("/me", delete_me)
}

type Result<T = Response> = std::result::Result<T, ApiError>;

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Result {
    let (content_type, body) = match name.as_str() {
        "admit.css" => (
            "text/css; charset=utf-8",
            include_str!("../pages/admit.css"),
        ),
        "admit.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../pages/admit.js"),
        ),
        "accept.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../pages/accept.js"),
        ),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../pages/app.js"),
        ),
        "setup.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../pages/setup.js"),
        ),
        "sso.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../pages/sso.js"),
        ),
        _ => return Err(ApiError(admit_app::Error::NotFound)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

async fn lookup(ClientApp(app): ClientApp, Json(req): Json<TokenOnly>) -> Result {
    Ok(axum::Json(app.lookup_invitation(&req.token).await?).into_response())
}

async fn accept(
    ClientApp(app): ClientApp,
    session: Option<Session>,
    Json(req): Json<Accept>,
) -> Result {
    let who = session.map(|Session(who)| who);
    Ok(axum::Json(app.accept_invitation_as(req, who.as_ref()).await?).into_response())
}

async fn login(ClientApp(app): ClientApp, Json(req): Json<Login>) -> Result {
    let issued = app.login(req).await?;
    let max_age = issued.expires_at.unix() - time::OffsetDateTime::now_utc().unix_timestamp();
    let cookie = session_cookie(&app, &issued.session_token, max_age.max(0));
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(issued)).into_response())
}

async fn logout(ClientApp(app): ClientApp, Session(who): Session) -> Result {
    app.logout(&who).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_session_cookie(&app))],
    )
        .into_response())
}

async fn me(ClientApp(app): ClientApp, Session(who): Session) -> Result {
    Ok(axum::Json(app.me(&who).await?).into_response())
}

async fn delete_me(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Json(req): Json<DeleteAccount>,
) -> Result {
    app.delete_account(&who, req).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_session_cookie(&app))],
    )
        .into_response())
}

async fn setup_lookup(ClientApp(app): ClientApp, Json(req): Json<SetupTokenOnly>) -> Result {
    Ok(axum::Json(app.setup_lookup(&req.setup_token).await?).into_response())
}

/// A finished setup signs the browser in too.
fn signed_in(app: &App, done: SetupDone) -> Response {
    let cookie = session_cookie(
        app,
        &done.session_token,
        admit_domain::session::SESSION_LIFETIME.whole_seconds(),
    );
    ([(header::SET_COOKIE, cookie)], axum::Json(done)).into_response()
}

async fn setup_master_password(
    ClientApp(app): ClientApp,
    Json(req): Json<SetupMasterPassword>,
) -> Result {
    let done = app.setup_master_password(req).await?;
    Ok(signed_in(&app, done))
}

async fn setup_trusted_device(
    ClientApp(app): ClientApp,
    Json(req): Json<SetupTrustedDevice>,
) -> Result {
    let done = app.setup_trusted_device(req).await?;
    Ok(signed_in(&app, done))
}

async fn setup_key_connector(
    ClientApp(app): ClientApp,
    Json(req): Json<SetupKeyConnector>,
) -> Result {
    let done = app.setup_key_connector(req).await?;
    Ok(signed_in(&app, done))
}
