use crate::ApiError;
use crate::error::plain;
use admit_app::{App, Error, Principal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

/// A JSON body. Anything malformed (syntax, types, unknown fields, wrong
/// content type) is a 400 `invalid_request`; too large is a 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> Response {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is over 64 KiB",
        );
    }
    let message = match &r {
        JsonRejection::MissingJsonContentType(_) => {
            "expected Content-Type: application/json".to_owned()
        }
        JsonRejection::JsonDataError(e) => format!(
            "invalid request: {}",
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        ),
        JsonRejection::JsonSyntaxError(_) => "malformed JSON".to_owned(),
        _ => "unreadable request body".to_owned(),
    };
    plain(StatusCode::BAD_REQUEST, "invalid_request", &message)
}

/// The session cookie's name: on https, `__Host-` makes browsers refuse one
/// set by a sibling subdomain or for another path (it needs `Secure`, so plain
/// http — local use — keeps the bare name).
fn session_cookie_name(app: &App) -> &'static str {
    if app.config().public_url.starts_with("https://") {
        "__Host-admit_session"
    } else {
        "admit_session"
    }
}

/// `Set-Cookie` for a browser session: HttpOnly, SameSite=Strict, Secure on https.
pub fn session_cookie(app: &App, token: &str, max_age_secs: i64) -> String {
    let secure = if app.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let name = session_cookie_name(app);
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

pub fn clear_session_cookie(app: &App) -> String {
    session_cookie(app, "", 0)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A caller with a live session: `Authorization: Bearer <token>`, or the
/// session cookie for browser pages. Otherwise 401.
pub struct Session(pub Principal);

impl FromRequestParts<App> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .or_else(|| cookie(&parts.headers, session_cookie_name(app)))
            .ok_or(ApiError(Error::Unauthenticated))?;
        Ok(Session(app.authenticate(token).await?))
    }
}

/// An operator call: its bearer token is the operator token (checked before
/// the body is read). 404 when the operator API is off, else 401.
pub struct Operator;

impl FromRequestParts<App> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        app.authorize_operator(bearer(parts))?;
        Ok(Operator)
    }
}
