//! The `accept` function: the member's side. The pages a browser opens
//! (`/accept`, `/app`, `/setup`, `/done`), invitation lookup and acceptance,
//! the setup step after an SSO sign-in, and sessions (`/auth/login`,
//! `/auth/logout`, `/me`).

use admit_app::App;
use admit_app::views::{
    Accept, Login, SetupDone, SetupKeyConnector, SetupMasterPassword, SetupTokenOnly,
    SetupTrustedDevice, TokenOnly,
};
use admit_http::{ApiError, Json, Session, clear_session_cookie, page, session_cookie};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route(
            "/accept",
            get(|| page(include_str!("../pages/accept.html"))),
        )
        .route("/app", get(|| page(include_str!("../pages/app.html"))))
        .route("/setup", get(|| page(include_str!("../pages/setup.html"))))
        .route("/done", get(|| page(include_str!("../pages/done.html"))))
        .route("/assets/{name}", get(asset))
        .route("/setup/lookup", post(setup_lookup))
        .route("/setup/master-password", post(setup_master_password))
        .route("/setup/trusted-device", post(setup_trusted_device))
        .route("/setup/key-connector", post(setup_key_connector))
        .route("/invitations/lookup", post(lookup))
        .route("/invitations/accept", post(accept))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
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

async fn lookup(State(app): State<App>, Json(req): Json<TokenOnly>) -> Result {
    Ok(axum::Json(app.lookup_invitation(&req.token).await?).into_response())
}

async fn accept(State(app): State<App>, Json(req): Json<Accept>) -> Result {
    Ok(axum::Json(app.accept_invitation(req).await?).into_response())
}

async fn login(State(app): State<App>, Json(req): Json<Login>) -> Result {
    let issued = app.login(req).await?;
    let max_age = issued.expires_at.unix() - time::OffsetDateTime::now_utc().unix_timestamp();
    let cookie = session_cookie(&app, &issued.session_token, max_age.max(0));
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(issued)).into_response())
}

async fn logout(State(app): State<App>, Session(who): Session) -> Result {
    app.logout(&who).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_session_cookie(&app))],
    )
        .into_response())
}

async fn me(State(app): State<App>, Session(who): Session) -> Result {
    Ok(axum::Json(app.me(&who).await?).into_response())
}

async fn setup_lookup(State(app): State<App>, Json(req): Json<SetupTokenOnly>) -> Result {
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
    State(app): State<App>,
    Json(req): Json<SetupMasterPassword>,
) -> Result {
    let done = app.setup_master_password(req).await?;
    Ok(signed_in(&app, done))
}

async fn setup_trusted_device(
    State(app): State<App>,
    Json(req): Json<SetupTrustedDevice>,
) -> Result {
    let done = app.setup_trusted_device(req).await?;
    Ok(signed_in(&app, done))
}

async fn setup_key_connector(State(app): State<App>, Json(req): Json<SetupKeyConnector>) -> Result {
    let done = app.setup_key_connector(req).await?;
    Ok(signed_in(&app, done))
}
