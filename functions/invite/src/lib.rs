//! The `invite` function: the operator's and administrators' API — creating
//! organizations, reading and changing settings (SSO, policies), inviting and
//! reinviting, listing, revoking, restoring and removing members, the
//! domains an organization verifies, its SCIM token, and reading the audit
//! log.

use admit_app::views::{
    AddDomain, ChangeRole, ClaimDomain, CreateOrganization, Invite, PoliciesInput, PutOrgSettings,
    PutSeats, PutSso,
};
use admit_app::{App, EventFilter};
use admit_http::routes::{Route, Routes};
use admit_http::{ApiError, ClientApp, IfMatch, Json, Operator, Session, with_etag};
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

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
        .post("/operator/orgs", create_organization)
        .put("/operator/orgs/{org}/domains/{domain}", claim_domain)
        .post("/operator/owed-mail/run", run_owed_mail)
        .get("/orgs/{org}", organization)
        .get("/orgs/{org}/sso", sso_settings)
        .put("/orgs/{org}/sso", configure_sso)
        .put("/orgs/{org}/policies", set_policies)
        .post("/orgs/{org}/invitations", invite)
        .get("/orgs/{org}/members", list_members)
        .get("/orgs/{org}/events", list_events)
        .post("/orgs/{org}/members/{member}/reinvite", reinvite)
        .delete("/orgs/{org}/members/{member}", remove)
        .post("/orgs/{org}/members/{member}/revoke", revoke)
        .post("/orgs/{org}/members/{member}/restore", restore)
        .patch("/orgs/{org}/members/{member}", change_role)
        .put("/orgs/{org}/seats", put_seats)
        .put("/orgs/{org}/settings", put_settings)
        .post("/orgs/{org}/domains", add_domain)
        .get("/orgs/{org}/domains", list_domains)
        .post("/orgs/{org}/domains/{domain}/verify", verify_domain)
        .delete("/orgs/{org}/domains/{domain}", remove_domain)
        .get("/orgs/{org}/scim", scim_status)
        .post("/orgs/{org}/scim/token", issue_scim_token)
        .delete("/orgs/{org}/scim/token", delete_scim_token)
}

type Result<T = Response> = std::result::Result<T, ApiError>;

async fn create_organization(
    ClientApp(app): ClientApp,
    _: Operator,
    Json(req): Json<CreateOrganization>,
) -> Result {
    Ok((
        StatusCode::CREATED,
        axum::Json(app.create_organization(req).await?),
    )
        .into_response())
}

async fn organization(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    let view = app.organization(&who, &org).await?;
    Ok(with_etag(view.version, axum::Json(view)))
}

async fn invite(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Json(req): Json<Invite>,
) -> Result {
    Ok((
        StatusCode::CREATED,
        axum::Json(app.invite(&who, &org, req).await?),
    )
        .into_response())
}

async fn list_events(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Query(mut q): Query<HashMap<String, String>>,
) -> Result {
    let filter = EventFilter {
        start: q.remove("start"),
        end: q.remove("end"),
        member: q.remove("member"),
        kind: q.remove("type"),
        cursor: q.remove("cursor"),
    };
    Ok(axum::Json(app.list_events(&who, &org, filter).await?).into_response())
}

async fn list_members(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result {
    let page = app
        .list_members(
            &who,
            &org,
            q.get("status").map(String::as_str),
            q.get("cursor").map(String::as_str),
        )
        .await?;
    Ok(axum::Json(page).into_response())
}

async fn reinvite(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
) -> Result {
    Ok(axum::Json(app.reinvite(&who, &org, &member).await?).into_response())
}

async fn sso_settings(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    let view = app.sso_settings(&who, &org).await?;
    Ok(with_etag(view.version, axum::Json(view)))
}

async fn configure_sso(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    IfMatch(if_match): IfMatch,
    Json(req): Json<PutSso>,
) -> Result {
    let view = app
        .configure_sso_if_match(&who, &org, req, if_match)
        .await?;
    Ok(with_etag(view.version, axum::Json(view)))
}

async fn set_policies(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    IfMatch(if_match): IfMatch,
    Json(req): Json<PoliciesInput>,
) -> Result {
    let (policies, version) = app.set_policies_if_match(&who, &org, req, if_match).await?;
    Ok(with_etag(version, axum::Json(policies)))
}

async fn revoke(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
) -> Result {
    Ok(axum::Json(app.revoke(&who, &org, &member).await?).into_response())
}

async fn restore(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
) -> Result {
    Ok(axum::Json(app.restore(&who, &org, &member).await?).into_response())
}

async fn change_role(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
    Json(req): Json<ChangeRole>,
) -> Result {
    Ok(axum::Json(app.change_role(&who, &org, &member, req).await?).into_response())
}

async fn put_seats(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Json(req): Json<PutSeats>,
) -> Result {
    let view = app.set_seats(&who, &org, req).await?;
    Ok(with_etag(view.version, axum::Json(view).into_response()))
}

async fn put_settings(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Json(req): Json<PutOrgSettings>,
) -> Result {
    let view = app.set_org_settings(&who, &org, req).await?;
    Ok(with_etag(view.version, axum::Json(view).into_response()))
}

async fn remove(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, member)): Path<(String, String)>,
) -> Result {
    app.remove_member(&who, &org, &member).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The operator runs the owed-mail job now (what EventBridge and `admit
/// serve`'s timer do on their schedule) and gets its summary.
async fn run_owed_mail(ClientApp(app): ClientApp, _: Operator) -> Result {
    Ok(axum::Json(app.run_owed_mail(None).await?).into_response())
}

/// The operator claims a domain for an organization, verified on the
/// operator's word when `verified` (no DNS record needed).
async fn claim_domain(
    ClientApp(app): ClientApp,
    _: Operator,
    Path((org, domain)): Path<(String, String)>,
    Json(req): Json<ClaimDomain>,
) -> Result {
    let claim = app.claim_domain(&org, &domain, req.verified).await?;
    // `{domain, org_id, verified}`, and the record that would verify it.
    let mut body =
        serde_json::to_value(&claim).map_err(|e| admit_app::Error::Internal(e.to_string()))?;
    body["org_id"] = serde_json::Value::String(org);
    Ok(axum::Json(body).into_response())
}

async fn add_domain(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
    Json(req): Json<AddDomain>,
) -> Result {
    let (view, created) = app.add_domain(&who, &org, req).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(view)).into_response())
}

async fn list_domains(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    Ok(axum::Json(app.domains(&who, &org).await?).into_response())
}

async fn verify_domain(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, domain)): Path<(String, String)>,
) -> Result {
    Ok(axum::Json(app.verify_domain(&who, &org, &domain).await?).into_response())
}

async fn remove_domain(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path((org, domain)): Path<(String, String)>,
) -> Result {
    app.remove_domain(&who, &org, &domain).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /orgs/{org}/scim`: whether SCIM is on, its base URL, and its newest change.
async fn scim_status(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    Ok(axum::Json(app.scim_status(&who, &org).await?).into_response())
}

/// `POST /orgs/{org}/scim/token`: 201 `{token, base_url}`, the token shown once.
async fn issue_scim_token(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    Ok((
        StatusCode::CREATED,
        axum::Json(app.issue_scim_token(&who, &org).await?),
    )
        .into_response())
}

async fn delete_scim_token(
    ClientApp(app): ClientApp,
    Session(who): Session,
    Path(org): Path<String>,
) -> Result {
    app.delete_scim_token(&who, &org).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
