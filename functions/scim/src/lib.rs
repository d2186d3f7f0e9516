//! The `scim` function: SCIM 2.0 provisioning (RFC 7643/7644) under
//! `/scim/v2/{org}` — the discovery documents, `/Users` and `/Groups` — for
//! an organization's identity provider. Every request shows the
//! organization's SCIM bearer token (`POST /orgs/{org}/scim/token`) and is
//! authenticated before anything else is read; failures count against the
//! client's address ([`ClientApp`]).
//!
//! Everything under `/scim/v2/{org}/` answers in SCIM's format: JSON as
//! `application/scim+json`, errors as RFC 7644 §3.12 bodies. A path that is
//! served with another method is 405; the features
//! `/ServiceProviderConfig` declares unsupported (`/Bulk`) or RFC 7644 lets
//! a provider leave out (`/Me`, `POST .search`) are 501; any other path is
//! 404. Those come from [`CATCH_ALL`] and the routes' method-not-allowed
//! fallback, so the shared `finish` layer's JSON 404 never answers here.

use admit_app::{App, ScimCaller, ScimFailure};
use admit_http::ClientApp;
use admit_http::routes::{Route, Routes};
use admit_scim_protocol::{ListQuery, MEDIA_TYPE, ScimError, schema};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, RawPathParams, RawQuery, Request,
};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::Value;

/// Everything else under an organization's SCIM base URL, in axum's syntax.
/// API Gateway routes the same paths to this function as
/// `ANY /scim/v2/{org}/{proxy+}` (see [`GATEWAY_CATCH_ALL`]): not a route
/// of [`route_table`], since OpenAPI has no way to write it.
pub const CATCH_ALL: &str = "/scim/v2/{org}/{*rest}";

/// [`CATCH_ALL`] as `infra/template.yaml` routes it (`METHOD path`).
pub const GATEWAY_CATCH_ALL: &str = "ANY /scim/v2/{org}/{proxy+}";

/// Request bodies over this are refused (413, in SCIM's body). Larger than
/// the rest of the API's [`admit_http::MAX_BODY_BYTES`]: a group's POST or
/// PUT carries all its members, up to 2,000 of them.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn routes() -> Router<App> {
    mounted()
        .into_router()
        // A served path with another method: 405 (or 501) in SCIM's body.
        .method_not_allowed_fallback(wrong_method)
        .route(CATCH_ALL, any(no_such_endpoint))
}

/// Everything [`routes`] mounts, as `(method, path)`: held to `openapi.yaml`
/// and `infra/template.yaml` by `tests/tests/routes.rs`. [`CATCH_ALL`] is
/// not listed (it is no single method's).
pub fn route_table() -> Vec<Route> {
    mounted().into_table()
}

fn mounted() -> Routes<App> {
    Routes::new()
        .get(
            "/scim/v2/{org}/ServiceProviderConfig",
            service_provider_config,
        )
        .get("/scim/v2/{org}/ResourceTypes", resource_types)
        .get("/scim/v2/{org}/ResourceTypes/{id}", resource_type)
        .get("/scim/v2/{org}/Schemas", schemas)
        .get("/scim/v2/{org}/Schemas/{id}", schema_by_id)
        .get("/scim/v2/{org}/Users", list_users)
        .post("/scim/v2/{org}/Users", create_user.layer(body_limit()))
        .get("/scim/v2/{org}/Users/{id}", get_user)
        .put(
            "/scim/v2/{org}/Users/{id}",
            replace_user.layer(body_limit()),
        )
        .patch("/scim/v2/{org}/Users/{id}", patch_user.layer(body_limit()))
        .delete("/scim/v2/{org}/Users/{id}", delete_user)
        .get("/scim/v2/{org}/Groups", list_groups)
        .post("/scim/v2/{org}/Groups", create_group.layer(body_limit()))
        .get("/scim/v2/{org}/Groups/{id}", get_group)
        .put(
            "/scim/v2/{org}/Groups/{id}",
            replace_group.layer(body_limit()),
        )
        .patch(
            "/scim/v2/{org}/Groups/{id}",
            patch_group.layer(body_limit()),
        )
        .delete("/scim/v2/{org}/Groups/{id}", delete_group)
}

/// [`MAX_BODY_BYTES`] for a handler that reads a body (it outranks the
/// router-wide limit of `finish`).
fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

type Reply = std::result::Result<Response, Failure>;

// ------------------------------------------------------------ requests --

/// An authenticated SCIM request: the `App` acting for the client's
/// address, the organization's caller, and the path's `{id}` if it has one.
struct Scim {
    app: App,
    caller: ScimCaller,
    id: Option<String>,
}

impl Scim {
    /// The organization's SCIM base URL, which the documents' locations use.
    fn base_url(&self) -> String {
        self.app.scim_base_url(self.caller.org_id())
    }

    /// The path's `{id}` (a path whose id is not UTF-8 names nothing).
    fn id(&self) -> Result<&str, ScimError> {
        self.id
            .as_deref()
            .ok_or_else(|| ScimError::not_found("no such resource"))
    }
}

impl FromRequestParts<App> for Scim {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Failure> {
        let Ok(ClientApp(app)) = ClientApp::from_request_parts(parts, state).await;
        let (org, id) = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => {
                let find = |name: &str| {
                    params
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.to_owned())
                };
                (find("org").unwrap_or_default(), find("id"))
            }
            // A parameter that does not decode to UTF-8: the organization
            // as written (an unknown one is refused as a wrong token).
            Err(_) => (raw_org(parts.uri.path()).to_owned(), None),
        };
        let caller = app.authorize_scim(&org, bearer(&parts.headers)).await?;
        Ok(Scim { app, caller, id })
    }
}

/// `/scim/v2/{org}/…`'s `{org}`, undecoded.
fn raw_org(path: &str) -> &str {
    path.split('/').nth(3).unwrap_or_default()
}

/// `Authorization: Bearer <token>`, the scheme in any case.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A request body read as JSON: `application/scim+json`, `application/json`
/// or no content type at all. Not JSON: 400 `invalidSyntax`; another media
/// type: 415; over the body limit: 413 — all in SCIM's body.
struct ScimBody(Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        if !json_content_type(req.headers()) {
            return Err(ScimError::new(
                415,
                None,
                format!("expected Content-Type: {MEDIA_TYPE} (or application/json)"),
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ScimError::new(
                    413,
                    None,
                    format!("the request body is over {} KiB", MAX_BODY_BYTES / 1024),
                )
            } else {
                ScimError::invalid_syntax("the request body could not be read")
            }
        })?;
        serde_json::from_slice(&bytes).map(ScimBody).map_err(|e| {
            ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")).into()
        })
    }
}

fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.is_empty()
        || essence.eq_ignore_ascii_case(MEDIA_TYPE)
        || essence.eq_ignore_ascii_case("application/json")
}

/// The decoded query pairs (`+` and percent escapes) as a [`ListQuery`].
fn list_query(raw: Option<&str>) -> Result<ListQuery, ScimError> {
    ListQuery::parse(url::form_urlencoded::parse(
        raw.unwrap_or_default().as_bytes(),
    ))
}

// ----------------------------------------------------------- responses --

/// Why a request failed, on its way out as a SCIM error.
struct Failure(ScimFailure);

impl From<ScimFailure> for Failure {
    fn from(f: ScimFailure) -> Self {
        Failure(f)
    }
}

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure(ScimFailure::Scim(e))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self.0 {
            ScimFailure::Scim(e) => error_response(&e),
            ScimFailure::RateLimited { retry_after } => {
                let e = ScimError::new(
                    429,
                    None,
                    format!(
                        "too many failed requests from this address; retry in {retry_after} seconds"
                    ),
                );
                let mut response = error_response(&e);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
        }
    }
}

fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = scim_json(status, &e.body());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: &Value) -> Reply {
    Ok(scim_json(StatusCode::OK, body))
}

/// 201 with `Location`: the new resource's `meta.location`.
fn created(body: &Value) -> Reply {
    let mut response = scim_json(StatusCode::CREATED, body);
    if let Some(location) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----------------------------------------------------------- discovery --

async fn service_provider_config(s: Scim) -> Reply {
    ok(&schema::service_provider_config(&s.base_url()))
}

async fn resource_types(s: Scim) -> Reply {
    ok(&schema::resource_types(&s.base_url()))
}

async fn resource_type(s: Scim) -> Reply {
    let found = schema::resource_type(&s.base_url(), s.id()?)
        .ok_or_else(|| ScimError::not_found("no such resource type (User, Group)"))?;
    ok(&found)
}

async fn schemas(s: Scim) -> Reply {
    ok(&schema::schemas(&s.base_url()))
}

async fn schema_by_id(s: Scim) -> Reply {
    let found = schema::schema(&s.base_url(), s.id()?)
        .ok_or_else(|| ScimError::not_found("no such schema"))?;
    ok(&found)
}

// --------------------------------------------------------------- users --

async fn list_users(s: Scim, RawQuery(q): RawQuery) -> Reply {
    let q = list_query(q.as_deref())?;
    ok(&s.app.scim_list_users(&s.caller, &q).await?)
}

async fn get_user(s: Scim, RawQuery(q): RawQuery) -> Reply {
    let q = list_query(q.as_deref())?;
    ok(&s.app.scim_get_user(&s.caller, s.id()?, &q).await?)
}

async fn create_user(s: Scim, ScimBody(body): ScimBody) -> Reply {
    created(&s.app.scim_create_user(&s.caller, &body).await?)
}

async fn replace_user(s: Scim, ScimBody(body): ScimBody) -> Reply {
    ok(&s.app.scim_replace_user(&s.caller, s.id()?, &body).await?)
}

async fn patch_user(s: Scim, ScimBody(body): ScimBody) -> Reply {
    ok(&s.app.scim_patch_user(&s.caller, s.id()?, &body).await?)
}

async fn delete_user(s: Scim) -> Reply {
    s.app.scim_delete_user(&s.caller, s.id()?).await?;
    no_content()
}

// -------------------------------------------------------------- groups --

async fn list_groups(s: Scim, RawQuery(q): RawQuery) -> Reply {
    let q = list_query(q.as_deref())?;
    ok(&s.app.scim_list_groups(&s.caller, &q).await?)
}

async fn get_group(s: Scim, RawQuery(q): RawQuery) -> Reply {
    let q = list_query(q.as_deref())?;
    ok(&s.app.scim_get_group(&s.caller, s.id()?, &q).await?)
}

async fn create_group(s: Scim, ScimBody(body): ScimBody) -> Reply {
    created(&s.app.scim_create_group(&s.caller, &body).await?)
}

async fn replace_group(s: Scim, ScimBody(body): ScimBody) -> Reply {
    ok(&s.app.scim_replace_group(&s.caller, s.id()?, &body).await?)
}

async fn patch_group(s: Scim, ScimBody(body): ScimBody) -> Reply {
    ok(&s.app.scim_patch_group(&s.caller, s.id()?, &body).await?)
}

async fn delete_group(s: Scim) -> Reply {
    s.app.scim_delete_group(&s.caller, s.id()?).await?;
    no_content()
}

// ----------------------------------------------------- everything else --

/// A path this function serves, with a method it does not: 405 (`Allow`
/// lists the methods), or 501 for `POST …/.search`.
async fn wrong_method(method: Method, uri: Uri, _: Scim) -> Failure {
    unsupported(uri.path())
        .unwrap_or_else(|| ScimError::new(405, None, format!("{method} is not allowed here")))
        .into()
}

/// Any other path under `/scim/v2/{org}/`: 501 for what is declared
/// unsupported, else 404.
async fn no_such_endpoint(uri: Uri, _: Scim) -> Failure {
    unsupported(uri.path())
        .unwrap_or_else(|| ScimError::not_found("no such SCIM endpoint"))
        .into()
}

/// The SCIM features Admit leaves out, by path: 501 (RFC 7644 §3.7 for
/// bulk, §3.11 for `/Me`, §3.4.3 for `.search`).
fn unsupported(path: &str) -> Option<ScimError> {
    let rest: Vec<&str> = path.split('/').skip(4).filter(|s| !s.is_empty()).collect();
    let first = rest.first()?;
    let detail = if first.eq_ignore_ascii_case("Bulk") {
        "bulk operations are not supported (ServiceProviderConfig: bulk.supported is false)"
    } else if first.eq_ignore_ascii_case("Me") {
        "/Me is not supported"
    } else if rest
        .last()
        .is_some_and(|s| s.eq_ignore_ascii_case(".search"))
    {
        "searching with POST .search is not supported; use GET with a filter"
    } else {
        return None;
    };
    Some(ScimError::new(501, None, detail))
}

#[cfg(test)]
mod tests;
