//! The `sso-callback` function: the SSO page, discovery, sign-in start, the
//! OpenID Connect callback, and SAML's metadata and assertion consumer. It
//! is the one function that links libxml2/libxmlsec1 (through samael).

use admit_app::{App, Error, LinkBy, SignInOutcome};
use admit_http::routes::{Route, Routes};
use admit_http::{ApiError, ClientApp, Json, Session, cookie, session_cookie};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

/// The cookie binding a sign-in to the browser that started it.
const SIGN_IN_COOKIE: &str = "admit_sso";

/// The ACS form: the largest `SAMLResponse` read, and room for `RelayState`.
const MAX_ACS_BODY: usize = admit_sso_saml::MAX_SAML_RESPONSE_BASE64 + 4 * 1024;

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
        .get("/sso", || {
            admit_http::page(include_str!("../pages/sso.html"))
        })
        .post("/sso/discover", discover)
        .get("/sso/start", start)
        .get("/sso/oidc/callback", callback)
        .post("/sso/oidc/callback", callback_form)
        .post(
            "/sso/saml/acs",
            acs.layer(DefaultBodyLimit::max(MAX_ACS_BODY)),
        )
        .get("/sso/saml/metadata/{sso_identifier}", saml_metadata)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoverRequest {
    email: String,
}

/// The SSO identifier for an email in a verified claimed domain.
async fn discover(
    ClientApp(app): ClientApp,
    Json(req): Json<DiscoverRequest>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(app.discover(&req.email).await?).into_response())
}

#[derive(Deserialize)]
struct StartQuery {
    identifier: Option<String>,
    invitation: Option<String>,
    /// A `sso_required` refusal's single-use token: link the identity that
    /// comes back to that account.
    link_token: Option<String>,
    /// `1`: link the identity that comes back to the signed-in account.
    link: Option<String>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn sign_in_cookie(app: &App, value: &str, max_age: i64) -> String {
    let secure = if app.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // It must come back on the IdP's top-level redirect (OIDC) and on its
    // cross-site form POST (SAML): SameSite=None, which browsers allow only
    // with Secure. Plain http is loopback only, where Admit and a local IdP
    // are the same site, so Lax is enough there.
    let same_site = if secure.is_empty() { "Lax" } else { "None" };
    format!(
        "{SIGN_IN_COOKIE}={value}; Path=/sso; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
    )
}

/// A refusal as the browser sees it (an HTML page), or as JSON when asked.
fn refusal(headers: &HeaderMap, e: Error) -> Response {
    if wants_json(headers) {
        return ApiError(e).into_response();
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let html = admit_http::render_error_page(e.code(), &e.public_message());
    admit_http::with_retry_after(&e, (status, Html(html)).into_response())
}

async fn start(
    ClientApp(app): ClientApp,
    session: Option<Session>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Response {
    let identifier = q.identifier.unwrap_or_default();
    let who = session.map(|Session(who)| who);
    let link = match (
        q.link_token.as_deref().filter(|t| !t.is_empty()),
        q.link.as_deref(),
    ) {
        (Some(token), _) => Some(LinkBy::Token(token)),
        (None, Some("1")) => match &who {
            Some(who) => Some(LinkBy::Session(who)),
            None => return refusal(&headers, Error::Unauthenticated),
        },
        _ => None,
    };
    match app
        .start_sign_in_with(&identifier, q.invitation.as_deref(), link)
        .await
    {
        Ok(started) => {
            let mut r = StatusCode::FOUND.into_response();
            let h = r.headers_mut();
            if let Ok(location) = HeaderValue::from_str(&started.redirect) {
                h.insert(header::LOCATION, location);
            }
            if let Ok(c) =
                HeaderValue::from_str(&sign_in_cookie(&app, &started.browser_secret, 600))
            {
                h.insert(header::SET_COOKIE, c);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => refusal(&headers, e),
    }
}

#[derive(Deserialize)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn callback(
    ClientApp(app): ClientApp,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    finish(app, headers, p).await
}

async fn callback_form(
    ClientApp(app): ClientApp,
    headers: HeaderMap,
    axum::Form(p): axum::Form<CallbackParams>,
) -> Response {
    finish(app, headers, p).await
}

async fn finish(app: App, headers: HeaderMap, p: CallbackParams) -> Response {
    let browser = cookie(&headers, SIGN_IN_COOKIE);
    let outcome = app
        .finish_oidc_sign_in(
            p.state.as_deref(),
            p.code.as_deref(),
            p.error.as_deref(),
            browser,
        )
        .await;
    signed_in(&app, &headers, outcome)
}

/// `GET /sso/saml/metadata/{sso_identifier}`: the SP metadata XML.
async fn saml_metadata(
    ClientApp(app): ClientApp,
    Path(identifier): Path<String>,
) -> Result<Response, ApiError> {
    let xml = app.saml_metadata(&identifier).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        )],
        xml,
    )
        .into_response())
}

#[derive(Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `POST /sso/saml/acs`: the IdP's response by HTTP-POST. Read with a cap
/// (over it: 413, unread) and answered like the OIDC callback.
async fn acs(ClientApp(app): ClientApp, headers: HeaderMap, body: axum::body::Body) -> Response {
    let outcome = match axum::body::to_bytes(body, MAX_ACS_BODY).await {
        Err(_) => Err(Error::PayloadTooLarge),
        Ok(bytes) => match serde_urlencoded::from_bytes::<AcsForm>(&bytes) {
            Err(_) => Err(Error::InvalidRequest(
                "expected a form with SAMLResponse and RelayState".into(),
            )),
            Ok(form) => {
                app.finish_saml_sign_in(
                    form.saml_response.as_deref(),
                    form.relay_state.as_deref(),
                    cookie(&headers, SIGN_IN_COOKIE),
                )
                .await
            }
        },
    };
    signed_in(&app, &headers, outcome)
}

/// The end of a sign-in, whatever the protocol: session or setup, or the refusal.
fn signed_in(app: &App, headers: &HeaderMap, outcome: Result<SignInOutcome, Error>) -> Response {
    let clear = sign_in_cookie(app, "", 0);
    let json = wants_json(headers);
    let mut r = match outcome {
        // API clients get the session token (or the setup token) in JSON.
        Ok(SignInOutcome::SignedIn(session)) if json => axum::Json(session).into_response(),
        Ok(SignInOutcome::Setup { setup_token }) if json => {
            axum::Json(serde_json::json!({ "setup_token": setup_token })).into_response()
        }
        Ok(SignInOutcome::SignedIn(session)) => {
            let mut r = redirect(&app.config().link("/done"));
            let max_age =
                session.expires_at.unix() - time::OffsetDateTime::now_utc().unix_timestamp();
            if let Ok(c) =
                HeaderValue::from_str(&session_cookie(app, &session.session_token, max_age.max(0)))
            {
                r.headers_mut().append(header::SET_COOKIE, c);
            }
            r
        }
        // A fragment never reaches a server log or a Referer.
        Ok(SignInOutcome::Setup { setup_token }) => redirect(
            &app.config()
                .link(&format!("/setup#setup_token={setup_token}")),
        ),
        Err(e) => refusal(headers, e),
    };
    if let Ok(c) = HeaderValue::from_str(&clear) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
