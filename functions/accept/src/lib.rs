//! The `accept` function: the member's side. The pages a browser opens
//! (`/accept`, `/app`), invitation lookup and acceptance, and sessions
//! (`/auth/login`, `/auth/logout`, `/me`).

use admit_app::App;
use admit_app::views::{Accept, Login, TokenOnly};
use admit_http::{ApiError, Json, Session, clear_session_cookie, session_cookie};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route(
            "/accept",
            get(|| page(include_str!("../pages/accept.html"))),
        )
        .route("/app", get(|| page(include_str!("../pages/app.html"))))
        .route("/assets/{name}", get(script))
        .route("/invitations/lookup", post(lookup))
        .route("/invitations/accept", post(accept))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

type Result<T = Response> = std::result::Result<T, ApiError>;

/// Pages carry tokens in their URLs: no caching, no referrer, no framing,
/// and scripts only from this origin.
async fn page(html: &'static str) -> Response {
    let mut r = Html(html).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    r
}

async fn script(axum::extract::Path(name): axum::extract::Path<String>) -> Result {
    let js = match name.as_str() {
        "admit.js" => include_str!("../pages/admit.js"),
        "accept.js" => include_str!("../pages/accept.js"),
        "app.js" => include_str!("../pages/app.js"),
        _ => return Err(ApiError(admit_app::Error::NotFound)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        js,
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
