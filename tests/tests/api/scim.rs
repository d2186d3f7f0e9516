//! SCIM 2.0 (docs/api.md "SCIM 2.0"): an organization's identity provider
//! provisions its members. Requests are sent as identity providers send
//! them — `Content-Type: application/scim+json`, the bearer token, and the
//! bodies Microsoft Entra ID and Okta document — and every effect is read
//! back through Admit's own API (member listing, seats, mail, sessions).
//! The last scenario runs an independent compliance suite, scim2-tester
//! (`tests/support/scim_compliance.py`).

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{set_master_password, setup_token, sso_org, sso_sign_in};
use admit_tests::oidc::Browser;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

on_both_backends!(
    a_provisioned_member_is_invited_revoked_restored_and_removed,
    entra_id_requests_as_entra_sends_them,
    okta_requests_as_okta_sends_them,
    a_token_opens_its_own_organization_only,
    no_seat_no_user,
    user_names_are_unique_without_regard_to_case,
    bad_input_is_refused_and_writes_nothing,
    groups_show_in_the_member_listing,
    the_console_reads_whether_scim_is_on_and_what_it_did_last,
    wrong_tokens_are_rate_limited_per_address,
    the_independent_compliance_suite_passes,
);

const MEDIA_TYPE: &str = "application/scim+json";
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// One SCIM answer: its status, JSON body (`Null` when empty) and headers.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// A success with `status` and a SCIM JSON body; the body.
    #[track_caller]
    fn ok(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.scim_json();
        &self.body
    }

    /// The body is SCIM's media type.
    #[track_caller]
    fn scim_json(&self) {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with(MEDIA_TYPE),
            "Content-Type {ct:?}, not {MEDIA_TYPE}: {}",
            self.body
        );
    }

    /// A SCIM error body (RFC 7644 §3.12) of `status` and `scim_type`.
    #[track_caller]
    fn error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self.scim_json();
        assert_eq!(self.body["schemas"], json!([ERROR_URN]), "{}", self.body);
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "{}",
            self.body
        );
        assert_eq!(
            self.body["scimType"].as_str(),
            scim_type,
            "scimType of {}",
            self.body
        );
        assert!(self.body["detail"].is_string(), "{}", self.body);
    }

    /// The list response's resources (none when `Resources` is absent, as
    /// RFC 7644 §3.4.2 allows for an empty result).
    #[track_caller]
    fn resources(&self) -> Vec<Value> {
        let body = self.ok(StatusCode::OK);
        assert_eq!(body["schemas"], json!([LIST_URN]), "{body}");
        body.get("Resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// A PATCH's success: 200 with the resource, or 204 (RFC 7644 §3.5.2).
    #[track_caller]
    fn patched(&self) {
        assert!(
            self.status == StatusCode::OK || self.status == StatusCode::NO_CONTENT,
            "PATCH answered {}: {}",
            self.status,
            self.body
        );
    }
}

/// A SCIM client of one organization's endpoint, as an identity provider.
#[derive(Clone)]
struct Scim<'a> {
    app: &'a TestApp,
    base: String,
    token: Option<String>,
    forwarded_for: Option<String>,
}

impl<'a> Scim<'a> {
    fn new(app: &'a TestApp, base: &str, token: &str) -> Scim<'a> {
        Scim {
            app,
            base: base.to_owned(),
            token: Some(token.to_owned()),
            forwarded_for: None,
        }
    }

    /// The same endpoint with another token (or none).
    fn with_token(&self, token: Option<&str>) -> Scim<'a> {
        Scim {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Another organization's endpoint with this client's token.
    fn at(&self, base: &str) -> Scim<'a> {
        Scim {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let mut req = self
            .app
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("accept", MEDIA_TYPE);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(f) = &self.forwarded_for {
            req = req.header("x-forwarded-for", f);
        }
        if let Some(b) = body {
            req = req.header("content-type", MEDIA_TYPE).body(b);
        }
        let res = req.send().await.expect("admit answers");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None).await
    }

    async fn query(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.send("GET", path, query, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, &[], Some(body.to_string())).await
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.send("PUT", path, &[], Some(body.to_string())).await
    }

    async fn patch(&self, path: &str, operations: Value) -> Reply {
        let body = json!({"schemas": [PATCH_OP_URN], "Operations": operations});
        self.send("PATCH", path, &[], Some(body.to_string())).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], None).await
    }

    /// `GET /Users?filter=userName eq "{name}"`: the matching users.
    async fn users_named(&self, name: &str) -> Vec<Value> {
        let filter = format!("userName eq \"{name}\"");
        self.query("/Users", &[("filter", &filter)])
            .await
            .resources()
    }

    /// `POST /Users` of `body`, asserted 201: the user.
    async fn create_user(&self, body: Value) -> Value {
        let r = self.post("/Users", body).await;
        r.ok(StatusCode::CREATED).clone()
    }

    /// A minimal user whose userName is its email; its id.
    async fn user(&self, email: &str) -> String {
        let u = self
            .create_user(json!({"schemas": [USER_URN], "userName": email,
                                "emails": [{"value": email, "type": "work", "primary": true}]}))
            .await;
        u["id"].as_str().unwrap().to_owned()
    }
}

/// `POST /orgs/{org}/scim/token`: (token, base URL).
async fn issue_token(app: &TestApp, org: &str, session: &str) -> (String, String) {
    let (s, body) = app
        .post(&format!("/orgs/{org}/scim/token"), Some(session), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let base = body["base_url"].as_str().unwrap().to_owned();
    assert_eq!(base, app.url(&format!("/scim/v2/{org}")));
    (body["token"].as_str().unwrap().to_owned(), base)
}

/// An organization whose owner has accepted, and a SCIM client of it.
async fn scim_org<'a>(app: &'a TestApp, seats: Value) -> (String, String, Scim<'a>) {
    let (org, session) = app.org_with_owner(seats).await;
    let (token, base) = issue_token(app, &org, &session).await;
    (org, session, Scim::new(app, &base, &token))
}

async fn occupied(app: &TestApp, org: &str, session: &str) -> u64 {
    let (s, body) = app.get(&format!("/orgs/{org}"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["seats"]["occupied"]
        .as_u64()
        .unwrap_or_else(|| panic!("seats.occupied in {body}"))
}

/// The member of `email`, if listed.
async fn listed(app: &TestApp, org: &str, session: &str, email: &str) -> Option<Value> {
    app.members(org, session)
        .await
        .into_iter()
        .find(|m| m["email"] == email)
}

/// The status of the member of `email` (it must be listed).
async fn status_of(app: &TestApp, org: &str, session: &str, email: &str) -> String {
    app.member(org, session, email).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An SSO sign-in through the organization's OpenID provider by an API
/// client: the session it ends with (scoped to that organization).
async fn sso_session(app: &TestApp, ident: &str, login: &str) -> String {
    let browser = Browser::new();
    let start = app.url(&format!("/sso/start?identifier={ident}"));
    let at = browser
        .sign_in(&start, login, &app.url("/sso/oidc/callback"))
        .await;
    let res = browser
        .client()
        .get(at.location.expect("back at Admit's callback"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a session, not {body}"))
        .to_owned()
}

/// Okta's create body (Okta "SCIM 2.0 protocol reference"), password and all.
fn okta_user(login: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": login,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": login, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", unique()),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// Entra ID's create body (Microsoft Learn, "Develop and plan provisioning
/// for a SCIM endpoint"): the UPN as userName, the work email, the
/// enterprise extension.
fn entra_user(upn: &str, email: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": external_id,
        "userName": upn,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        ENTERPRISE_URN: {
            "employeeNumber": "701984",
            "department": "Engineering",
            "manager": {"value": "26118915-6090-4610-87a4-49d0767d2d1e"}
        }
    })
}

/// Owner issues a token; a SCIM user is invited exactly as by an admin
/// (membership `invited`, a seat, the invitation email), accepts through the
/// organization's SSO, and is then revoked (`active: false`: the seat freed,
/// the SSO session refused), restored and removed.
async fn a_provisioned_member_is_invited_revoked_restored_and_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let (token, base) = issue_token(&app, &sso.org, &sso.session).await;
    let scim = Scim::new(&app, &base, &token);
    let ada = app.email("ada");
    assert_eq!(occupied(&app, &sso.org, &sso.session).await, 1);

    let created = scim
        .post("/Users", okta_user(&ada, "Ada", "Lovelace"))
        .await;
    let user = created.ok(StatusCode::CREATED).clone();
    let id = user["id"].as_str().expect("an id").to_owned();
    let location = format!("{base}/Users/{id}");
    assert_eq!(user["meta"]["location"], location.as_str(), "{user}");
    assert_eq!(user["meta"]["resourceType"], "User", "{user}");
    assert_eq!(
        created.header("location"),
        Some(location.as_str()),
        "RFC 7644 §3.3: the Location header of a created resource"
    );
    assert_eq!(
        (user["active"].as_bool(), user["userName"].as_str()),
        (Some(true), Some(ada.as_str())),
        "{user}"
    );
    assert!(user.get("password").is_none(), "never returned: {user}");

    // Invited exactly as an administrator's invitation: status, seat, email.
    let mails = app.mails_to(&ada).await;
    assert_eq!(mails.len(), 1, "one invitation: {mails:?}");
    let invitation = mails[0].accept_token();
    assert_eq!(
        status_of(&app, &sso.org, &sso.session, &ada).await,
        "invited"
    );
    assert_eq!(occupied(&app, &sso.org, &sso.session).await, 2);
    assert_eq!(
        scim.get(&format!("/Users/{id}")).await.ok(StatusCode::OK)["id"],
        id.as_str()
    );

    // Ada accepts through the organization's SSO and sets a master password.
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, Some(&invitation), &ada).await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &ada).await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    assert_eq!(
        status_of(&app, &sso.org, &sso.session, &ada).await,
        "accepted"
    );
    let session = sso_session(&app, &sso.ident, &ada).await;
    assert_eq!(app.get("/me", Some(&session)).await.0, StatusCode::OK);

    // active: false revokes: her SSO session ends, her seat is freed.
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    r.patched();
    let user = scim
        .get(&format!("/Users/{id}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(user["active"], false, "{user}");
    let (s, body) = app.get("/me", Some(&session)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "her SSO session, once SCIM deactivated her: {body}"
    );
    assert_eq!(
        status_of(&app, &sso.org, &sso.session, &ada).await,
        "revoked"
    );
    assert_eq!(occupied(&app, &sso.org, &sso.session).await, 1);

    // active: true restores; a new sign-in works.
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await
    .patched();
    let user = scim
        .get(&format!("/Users/{id}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(user["active"], true, "{user}");
    assert_eq!(
        status_of(&app, &sso.org, &sso.session, &ada).await,
        "accepted"
    );
    assert_eq!(occupied(&app, &sso.org, &sso.session).await, 2);
    let again = sso_session(&app, &sso.ident, &ada).await;
    assert_eq!(app.get("/me", Some(&again)).await.0, StatusCode::OK);

    // DELETE removes: gone from the listing and from SCIM, seat freed.
    let r = scim.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(listed(&app, &sso.org, &sso.session, &ada).await.is_none());
    assert_eq!(occupied(&app, &sso.org, &sso.session).await, 1);
    scim.get(&format!("/Users/{id}")).await.error(404, None);
    assert!(scim.users_named(&ada).await.is_empty());
    let (s, _) = app.get("/me", Some(&again)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "removal ends her SSO sessions");
}

/// The requests Microsoft Entra ID makes, as its provisioning tutorial
/// shows them: the probe before a create, the enterprise extension,
/// capitalised ops, `"active": "False"` without a path, the work email by
/// value filter, groups with members added and removed in both forms.
async fn entra_id_requests_as_entra_sends_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let upn = format!("Test_User_{}@contoso.onmicrosoft.test", unique());
    let ada = app.email("entra-ada");
    let external = format!("0a21f0f2-8d2a-4f8e-bf98-{}", &unique()[..12]);

    // The probe before a create: nobody of that name.
    let filter = format!("userName eq \"{upn}\"");
    let probe = scim.query("/Users", &[("filter", &filter)]).await;
    assert!(probe.resources().is_empty());
    assert_eq!(probe.body["totalResults"], 0, "{}", probe.body);

    // Create with the enterprise extension (not kept, not refused).
    let user = scim.create_user(entra_user(&upn, &ada, &external)).await;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["userName"], upn.as_str(), "{user}");
    assert_eq!(user["emails"][0]["value"], ada.as_str(), "{user}");
    assert_eq!(user["externalId"], external.as_str(), "{user}");
    assert_eq!(user["active"], true, "{user}");
    // The invitation goes to the work email, not to the UPN.
    assert_eq!(app.mails_to(&ada).await.len(), 1);
    assert_eq!(status_of(&app, &org, &owner, &ada).await, "invited");

    // Found again by userName (any case) and by externalId.
    let found = scim.users_named(&upn.to_uppercase()).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], id.as_str());
    let filter = format!("externalId eq \"{external}\"");
    let found = scim
        .query("/Users", &[("filter", &filter)])
        .await
        .resources();
    assert_eq!(found.len(), 1, "{found:?}");

    // Entra's multi-valued update: the work email by value filter, and a name part.
    let ada2 = app.email("entra-ada2");
    scim.patch(
        &format!("/Users/{id}"),
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": ada2},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]),
    )
    .await
    .patched();
    let user = scim
        .get(&format!("/Users/{id}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(user["emails"][0]["value"], ada2.as_str(), "{user}");
    assert_eq!(user["name"]["familyName"], "updatedFamilyName", "{user}");
    // Still invited: the new address is invited instead of the old one.
    assert_eq!(status_of(&app, &org, &owner, &ada2).await, "invited");
    assert!(listed(&app, &org, &owner, &ada).await.is_none());
    assert_eq!(app.mails_to(&ada2).await.len(), 1);
    assert_eq!(occupied(&app, &org, &owner).await, 2);

    // Disable: capital Replace, no path, the boolean as a string.
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "value": {"active": "False"}}]),
    )
    .await
    .patched();
    assert_eq!(
        scim.get(&format!("/Users/{id}")).await.ok(StatusCode::OK)["active"],
        false
    );
    assert_eq!(status_of(&app, &org, &owner, &ada2).await, "revoked");
    assert_eq!(occupied(&app, &org, &owner).await, 1);
    // Enable with a path, then the documented boolean form.
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
    )
    .await
    .patched();
    assert_eq!(status_of(&app, &org, &owner, &ada2).await, "invited");
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "active", "value": false}]),
    )
    .await
    .patched();
    assert_eq!(status_of(&app, &org, &owner, &ada2).await, "revoked");
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "active", "value": true}]),
    )
    .await
    .patched();
    assert_eq!(status_of(&app, &org, &owner, &ada2).await, "invited");

    // A second user, for the group.
    let bob = app.email("entra-bob");
    let bob_upn = format!("bob_{}@contoso.onmicrosoft.test", unique());
    let bob_user = scim
        .create_user(entra_user(&bob_upn, &bob, &format!("ext-{}", unique())))
        .await;
    let bob_id = bob_user["id"].as_str().unwrap().to_owned();

    // Groups: probe by displayName, create (Entra's schemas) with a member.
    let name = format!("Engineering {}", unique());
    let filter = format!("displayName eq \"{name}\"");
    let probe = scim
        .query(
            "/Groups",
            &[("excludedAttributes", "members"), ("filter", &filter)],
        )
        .await;
    assert!(probe.resources().is_empty());
    let group = scim
        .post(
            "/Groups",
            json!({
                "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": format!("8aa1a0c0-c4c3-4bc0-b4a5-{}", &unique()[..12]),
                "displayName": name,
                "meta": {"resourceType": "Group"},
                "members": [{"value": id}]
            }),
        )
        .await;
    let group = group.ok(StatusCode::CREATED).clone();
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(member_ids(&group), vec![id.clone()], "{group}");
    assert_eq!(
        group["meta"]["location"],
        format!("{}/Groups/{gid}", scim.base).as_str()
    );

    // Add a member (path `members`, a value array, `$ref` null as Entra sends).
    scim.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": bob_id}]}]),
    )
    .await
    .patched();
    let group = scim
        .get(&format!("/Groups/{gid}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    let mut ids = member_ids(&group);
    ids.sort();
    let mut both = vec![id.clone(), bob_id.clone()];
    both.sort();
    assert_eq!(ids, both, "{group}");
    assert_eq!(
        app.member(&org, &owner, &bob).await["groups"],
        json!([name])
    );
    // Entra reads groups without their members.
    let lean = scim
        .query(
            &format!("/Groups/{gid}"),
            &[("excludedAttributes", "members")],
        )
        .await;
    let lean = lean.ok(StatusCode::OK);
    assert!(lean.get("members").is_none(), "{lean}");
    assert_eq!(lean["displayName"], name.as_str(), "{lean}");

    // Remove by a value array, then by a value filter in the path.
    scim.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": bob_id}]}]),
    )
    .await
    .patched();
    let group = scim
        .get(&format!("/Groups/{gid}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(member_ids(&group), vec![id.clone()], "{group}");
    assert_eq!(app.member(&org, &owner, &bob).await["groups"], json!([]));
    scim.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}]),
    )
    .await
    .patched();
    let group = scim
        .get(&format!("/Groups/{gid}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert!(member_ids(&group).is_empty(), "{group}");

    // Rename.
    let renamed = format!("{name} updatedDisplayName");
    scim.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "Replace", "path": "displayName", "value": renamed}]),
    )
    .await
    .patched();
    let filter = format!("displayName eq \"{renamed}\"");
    let found = scim
        .query("/Groups", &[("filter", &filter)])
        .await
        .resources();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], gid.as_str());

    // Hard delete, after the soft one.
    assert_eq!(
        scim.delete(&format!("/Groups/{gid}")).await.status,
        StatusCode::NO_CONTENT
    );
    scim.get(&format!("/Groups/{gid}")).await.error(404, None);
    assert_eq!(
        scim.delete(&format!("/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(listed(&app, &org, &owner, &ada2).await.is_none());
}

/// The ids of a group's members.
fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The requests Okta makes (its "SCIM 2.0 protocol reference"): the paged
/// probe, a create with a password, a full PUT, deactivation by a path-less
/// replace, and group push (create, members added in batches, rename by PUT).
async fn okta_requests_as_okta_sends_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let login = app.email("test.user");
    let probe = |name: String| {
        let scim = scim.clone();
        async move {
            let filter = format!("userName eq \"{name}\"");
            scim.query(
                "/Users",
                &[("filter", &filter), ("startIndex", "1"), ("count", "100")],
            )
            .await
        }
    };
    let none = probe(login.clone()).await;
    assert!(none.resources().is_empty());
    assert_eq!(
        (
            none.body["totalResults"].as_u64(),
            none.body["startIndex"].as_u64()
        ),
        (Some(0), Some(1)),
        "{}",
        none.body
    );

    let user = scim.create_user(okta_user(&login, "Test", "User")).await;
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(user.get("password").is_none(), "{user}");
    let one = probe(login.clone()).await;
    let found = one.resources();
    assert_eq!(found.len(), 1, "{}", one.body);
    assert_eq!(found[0]["id"], id.as_str());
    assert_eq!(
        (
            one.body["totalResults"].as_u64(),
            one.body["itemsPerPage"].as_u64()
        ),
        (Some(1), Some(1)),
        "{}",
        one.body
    );
    assert_eq!(status_of(&app, &org, &owner, &login).await, "invited");

    // A profile update is a full PUT of what Okta knows, id and meta included.
    let mut full = okta_user(&login, "Another", "User");
    full["id"] = json!(id);
    full["name"]["middleName"] = json!("");
    full["meta"] = user["meta"].clone();
    full.as_object_mut().unwrap().remove("password");
    let put = scim.put(&format!("/Users/{id}"), full).await;
    let put = put.ok(StatusCode::OK);
    assert_eq!(
        (
            put["displayName"].as_str(),
            put["name"]["givenName"].as_str()
        ),
        (Some("Another User"), Some("Another")),
        "{put}"
    );
    assert_eq!(put["id"], id.as_str());

    // Deactivate and reactivate, as Okta does: replace without a path.
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await
    .patched();
    assert_eq!(status_of(&app, &org, &owner, &login).await, "revoked");
    assert_eq!(occupied(&app, &org, &owner).await, 1);
    scim.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await
    .patched();
    assert_eq!(status_of(&app, &org, &owner, &login).await, "invited");
    assert_eq!(occupied(&app, &org, &owner).await, 2);

    // Three more users, then paging through the four.
    let mut users = vec![(id.clone(), login.clone())];
    for n in ["okta-b", "okta-c", "okta-d"] {
        let email = app.email(n);
        let u = scim.create_user(okta_user(&email, n, "User")).await;
        users.push((u["id"].as_str().unwrap().to_owned(), email));
    }
    let mut seen = Vec::new();
    for start in ["1", "3", "5"] {
        let page = scim
            .query("/Users", &[("startIndex", start), ("count", "2")])
            .await;
        let items = page.resources();
        assert_eq!(page.body["totalResults"], 4, "{}", page.body);
        assert_eq!(page.body["startIndex"], start.parse::<u64>().unwrap());
        assert_eq!(
            items.len(),
            if start == "5" { 0 } else { 2 },
            "{}",
            page.body
        );
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
    }
    seen.sort();
    let mut all: Vec<String> = users.iter().map(|(i, _)| i.clone()).collect();
    all.sort();
    assert_eq!(seen, all, "each user once across the pages");

    // Group push: create, members added in two batches, renamed by PUT.
    let name = format!("Okta Group {}", unique());
    let group = scim
        .post(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": name, "members": []}),
        )
        .await;
    let gid = group.ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = format!("displayName eq \"{name}\"");
    let found = scim
        .query(
            "/Groups",
            &[("filter", &filter), ("startIndex", "1"), ("count", "100")],
        )
        .await
        .resources();
    assert_eq!(found.len(), 1, "{found:?}");
    for batch in users.chunks(2) {
        let value: Vec<Value> = batch
            .iter()
            .map(|(i, e)| json!({"value": i, "display": e}))
            .collect();
        scim.patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": value}]),
        )
        .await
        .patched();
    }
    let group = scim
        .get(&format!("/Groups/{gid}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(member_ids(&group).len(), 4, "{group}");
    for (_, email) in &users {
        assert_eq!(
            app.member(&org, &owner, email).await["groups"],
            json!([name])
        );
    }
    let renamed = format!("{name} renamed");
    let members: Vec<Value> = users
        .iter()
        .map(|(i, e)| json!({"value": i, "display": e}))
        .collect();
    let put = scim
        .put(
            &format!("/Groups/{gid}"),
            json!({"schemas": [GROUP_URN], "id": gid, "displayName": renamed, "members": members}),
        )
        .await;
    let put = put.ok(StatusCode::OK);
    assert_eq!(put["displayName"], renamed.as_str(), "{put}");
    assert_eq!(member_ids(put).len(), 4, "{put}");
    assert_eq!(
        app.member(&org, &owner, &login).await["groups"],
        json!([renamed])
    );
    // Okta removes a member by a value filter.
    scim.patch(
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
    )
    .await
    .patched();
    let group = scim
        .get(&format!("/Groups/{gid}"))
        .await
        .ok(StatusCode::OK)
        .clone();
    assert_eq!(member_ids(&group).len(), 3, "{group}");
    assert_eq!(app.member(&org, &owner, &login).await["groups"], json!([]));
}

/// A token works under its own organization's base URL only; a made-up or
/// missing token is refused; a deleted or replaced token stops working.
async fn a_token_opens_its_own_organization_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, a_owner, scim_a) = scim_org(&app, json!({})).await;
    let (b, b_owner, scim_b) = scim_org(&app, json!({})).await;
    let b_user = scim_b.user(&app.email("bea")).await;
    let b_group = scim_b
        .post("/Groups", json!({"schemas": [GROUP_URN], "displayName": "B team", "members": [{"value": b_user}]}))
        .await
        .ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_before = app.snapshot(&b, &b_owner).await;

    // A's token on B's endpoint: 401 for everything, nothing of B shown or changed.
    let a_on_b = scim_a.at(&scim_b.base);
    for r in [
        a_on_b.get("/Users").await,
        a_on_b.get(&format!("/Users/{b_user}")).await,
        a_on_b.get("/Groups").await,
        a_on_b.get(&format!("/Groups/{b_group}")).await,
        a_on_b
            .post(
                "/Users",
                json!({"schemas": [USER_URN], "userName": app.email("intruder")}),
            )
            .await,
        a_on_b
            .patch(
                &format!("/Users/{b_user}"),
                json!([{"op": "replace", "value": {"active": false}}]),
            )
            .await,
        a_on_b.delete(&format!("/Users/{b_user}")).await,
        a_on_b.delete(&format!("/Groups/{b_group}")).await,
    ] {
        r.error(401, None);
        assert!(!r.body.to_string().contains(&b_user), "{}", r.body);
    }
    assert_eq!(app.snapshot(&b, &b_owner).await, b_before);
    scim_b
        .get(&format!("/Users/{b_user}"))
        .await
        .ok(StatusCode::OK);

    // Made-up, malformed and missing tokens.
    for token in [
        Some("not-a-token"),
        Some("c2NpbS10b2tlbi10aGF0LWFkbWl0LW5ldmVyLWlzc3VlZA"),
        Some(""),
        None,
    ] {
        scim_a
            .with_token(token)
            .get("/Users")
            .await
            .error(401, None);
    }
    // A valid token under an organization that does not exist.
    scim_a
        .at(&app.url("/scim/v2/org_00000000000000000000000000000000"))
        .get("/Users")
        .await
        .error(401, None);
    // B's owner cannot issue A's token.
    let (s, _) = app
        .post(&format!("/orgs/{a}/scim/token"), Some(&b_owner), json!({}))
        .await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "another organization's owner: {s}"
    );

    // Deleting A's token turns SCIM off for A.
    scim_a.get("/Users").await.ok(StatusCode::OK);
    let (s, body) = app
        .call(
            "DELETE",
            &format!("/orgs/{a}/scim/token"),
            Some(&a_owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    scim_a.get("/Users").await.error(401, None);

    // A new token for B replaces the old one at once.
    let (new_token, base) = issue_token(&app, &b, &b_owner).await;
    scim_b.get("/Users").await.error(401, None);
    let fresh = Scim::new(&app, &base, &new_token);
    assert_eq!(
        fresh
            .get(&format!("/Users/{b_user}"))
            .await
            .ok(StatusCode::OK)["id"],
        b_user.as_str()
    );
}

/// No free seat: 409 in SCIM's format, and nothing written.
async fn no_seat_no_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({"limit": 1})).await;
    let before = app.snapshot(&org, &owner).await;
    let cleo = app.email("cleo");
    let r = scim
        .post("/Users", okta_user(&cleo, "Cleo", "Seatless"))
        .await;
    r.error(409, None);
    assert_eq!(app.snapshot(&org, &owner).await, before);
    assert!(app.mails_to(&cleo).await.is_empty());
    let all = scim.get("/Users").await;
    assert!(all.resources().is_empty());
    assert_eq!(all.body["totalResults"], 0);
    assert!(scim.users_named(&cleo).await.is_empty());
}

/// `userName` is unique per organization regardless of case: 409
/// `uniqueness` on create, PUT and PATCH, nothing written.
async fn user_names_are_unique_without_regard_to_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let casey = app.email("Casey");
    let casey_id = scim.user(&casey).await;
    let dana = app.email("dana");
    let dana_id = scim.user(&dana).await;
    let before = app.snapshot(&org, &owner).await;

    let other = app.email("other");
    let r = scim
        .post(
            "/Users",
            json!({"schemas": [USER_URN], "userName": casey.to_uppercase(),
                   "emails": [{"value": other, "primary": true}]}),
        )
        .await;
    r.error(409, Some("uniqueness"));
    let r = scim
        .put(
            &format!("/Users/{dana_id}"),
            json!({"schemas": [USER_URN], "userName": casey.to_lowercase(),
                   "emails": [{"value": dana, "primary": true}]}),
        )
        .await;
    r.error(409, Some("uniqueness"));
    let r = scim
        .patch(
            &format!("/Users/{dana_id}"),
            json!([{"op": "replace", "path": "userName", "value": casey.to_uppercase()}]),
        )
        .await;
    r.error(409, Some("uniqueness"));
    assert_eq!(app.snapshot(&org, &owner).await, before);
    assert!(app.mails_to(&other).await.is_empty());
    let found = scim.users_named(&casey.to_lowercase()).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], casey_id.as_str());
    let dana_now = scim.get(&format!("/Users/{dana_id}")).await;
    assert_eq!(dana_now.ok(StatusCode::OK)["userName"], dana.as_str());
}

/// Bad input: 400 with the right `scimType`, unknown ids 404, nothing written.
async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let kept = scim.user(&app.email("kept")).await;
    let before = app.snapshot(&org, &owner).await;

    // No email at all: neither in `emails` nor as the userName.
    scim.post(
        "/Users",
        json!({"schemas": [USER_URN], "userName": "no-email-here"}),
    )
    .await
    .error(400, Some("invalidValue"));
    scim.post(
        "/Users",
        json!({"schemas": [USER_URN], "userName": "still-none", "emails": [{"value": "not an address", "primary": true}]}),
    )
    .await
    .error(400, Some("invalidValue"));
    // No userName.
    scim.post(
        "/Users",
        json!({"schemas": [USER_URN], "emails": [{"value": app.email("nameless")}]}),
    )
    .await
    .error(400, Some("invalidValue"));
    // Not JSON, not an object.
    for raw in ["{\"schemas\": [", "not json", "[]"] {
        scim.send("POST", "/Users", &[], Some(raw.into()))
            .await
            .error(400, Some("invalidSyntax"));
    }
    scim.send(
        "PATCH",
        &format!("/Users/{kept}"),
        &[],
        Some("{\"Operations\": [".into()),
    )
    .await
    .error(400, Some("invalidSyntax"));
    // Bad filters.
    for filter in [
        "userName zz \"x\"",
        "userName eq",
        "(userName eq \"x\"",
        "userName eq x y",
    ] {
        scim.query("/Users", &[("filter", filter)])
            .await
            .error(400, Some("invalidFilter"));
    }
    scim.query("/Groups", &[("filter", "displayName eq")])
        .await
        .error(400, Some("invalidFilter"));
    // Unknown ids, of users and groups, by every method.
    for unknown in ["nope", "2819c223-7f76-453a-919d-413861904646"] {
        for kind in ["Users", "Groups"] {
            let path = format!("/{kind}/{unknown}");
            scim.get(&path).await.error(404, None);
            scim.delete(&path).await.error(404, None);
            scim.patch(
                &path,
                json!([{"op": "replace", "path": "displayName", "value": "x"}]),
            )
            .await
            .error(404, None);
        }
        scim.put(
            &format!("/Users/{unknown}"),
            json!({"schemas": [USER_URN], "userName": app.email("ghost")}),
        )
        .await
        .error(404, None);
        scim.put(
            &format!("/Groups/{unknown}"),
            json!({"schemas": [GROUP_URN], "displayName": "ghosts"}),
        )
        .await
        .error(404, None);
    }
    // A group whose member is no user of this organization.
    scim.post(
        "/Groups",
        json!({"schemas": [GROUP_URN], "displayName": "strangers", "members": [{"value": "2819c223-7f76-453a-919d-413861904646"}]}),
    )
    .await
    .error(400, Some("invalidValue"));

    assert_eq!(app.snapshot(&org, &owner).await, before);
    assert_eq!(scim.get("/Users").await.body["totalResults"], 1);
    assert_eq!(scim.get("/Groups").await.body["totalResults"], 0);
}

/// A group's members show its name in `GET /orgs/{org}/members`.
async fn groups_show_in_the_member_listing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let eve = app.email("eve");
    let eve_id = scim.user(&eve).await;
    // `application/json` is accepted as well as SCIM's own media type.
    let fin = app.email("fin");
    let (s, body) = app
        .post(
            &format!("/scim/v2/{org}/Users"),
            scim.token.as_deref(),
            json!({"schemas": [USER_URN], "userName": fin}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for name in ["Design", "Admins"] {
        scim.post(
            "/Groups",
            json!({"schemas": [GROUP_URN], "displayName": name, "members": [{"value": eve_id}]}),
        )
        .await
        .ok(StatusCode::CREATED);
    }
    let members = app.members(&org, &owner).await;
    let of = |email: &str| {
        members
            .iter()
            .find(|m| m["email"] == email)
            .unwrap_or_else(|| panic!("{email} listed"))["groups"]
            .clone()
    };
    assert_eq!(of(&eve), json!(["Admins", "Design"]));
    assert_eq!(of(&fin), json!([]));
    let owner_email = app.owner_field(&org, &owner, "email").await;
    assert_eq!(of(&owner_email), json!([]));
    // The user's own resource lists its groups too (read-only, Admit's).
    let user = scim.get(&format!("/Users/{eve_id}")).await;
    let mut names: Vec<String> = user.ok(StatusCode::OK)["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("groups in {}", user.body))
        .iter()
        .map(|g| g["display"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Admins", "Design"]);
}

/// `GET /orgs/{org}/scim`: the console's SCIM section. Issuing or deleting
/// the token is not SCIM's activity; its changes are.
async fn the_console_reads_whether_scim_is_on_and_what_it_did_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner) = app.org_with_owner(json!({})).await;
    let status = || async {
        let (s, body) = app.get(&format!("/orgs/{org}/scim"), Some(&owner)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    };
    let off = status().await;
    assert_eq!(off["enabled"], false, "{off}");
    assert_eq!(off["token_issued_at"], Value::Null, "{off}");
    assert_eq!(off["last_activity"], Value::Null, "{off}");
    assert_eq!(off["base_url"], app.url(&format!("/scim/v2/{org}")));
    let (s, _) = app.get(&format!("/orgs/{org}/scim"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (token, base) = issue_token(&app, &org, &owner).await;
    let on = status().await;
    assert_eq!(on["enabled"], true, "{on}");
    assert!(on["token_issued_at"].is_string(), "{on}");
    assert_eq!(
        on["last_activity"],
        Value::Null,
        "a token is not SCIM's doing: {on}"
    );

    let scim = Scim::new(&app, &base, &token);
    let eve = app.email("eve");
    let eve_id = scim.user(&eve).await;
    let after_user = status().await;
    assert_eq!(
        after_user["last_activity"]["type"], "scim.user_created",
        "{after_user}"
    );
    assert_eq!(
        after_user["last_activity"]["email"],
        eve.as_str(),
        "{after_user}"
    );
    scim.post(
        "/Groups",
        json!({"schemas": [GROUP_URN], "displayName": "Design", "members": [{"value": eve_id}]}),
    )
    .await
    .ok(StatusCode::CREATED);
    let after_group = status().await;
    assert_eq!(
        after_group["last_activity"]["type"], "scim.group_created",
        "{after_group}"
    );
    assert_eq!(
        after_group["last_activity"]["group"], "Design",
        "{after_group}"
    );

    // Off again: the record of what it did stays.
    let (s, body) = app
        .call(
            "DELETE",
            &format!("/orgs/{org}/scim/token"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let off = status().await;
    assert_eq!(off["enabled"], false, "{off}");
    assert_eq!(off["token_issued_at"], Value::Null, "{off}");
    assert_eq!(off["last_activity"]["type"], "scim.group_created", "{off}");
}

/// Wrong tokens spend the client address's budget: past it, 429 with
/// `Retry-After`, even with the right token; other addresses are not affected.
async fn wrong_tokens_are_rate_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |o| {
        o.rate_limit_address = "5/1m".into();
        o.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let (_, _, scim) = scim_org(&app, json!({})).await;
    let from = |addr: &str, token: Option<&str>| Scim {
        forwarded_for: Some(addr.to_owned()),
        ..scim.with_token(token)
    };
    // The right token is never counted.
    for _ in 0..8 {
        from("198.51.100.7", scim.token.as_deref())
            .get("/Users")
            .await
            .ok(StatusCode::OK);
    }
    for _ in 0..5 {
        from("198.51.100.7", Some("wrong-token"))
            .get("/Users")
            .await
            .error(401, None);
    }
    for token in [Some("wrong-token"), scim.token.as_deref()] {
        let r = from("198.51.100.7", token).get("/Users").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        let retry: u64 = r
            .header("retry-after")
            .expect("a 429 says when to retry")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    from("198.51.100.8", scim.token.as_deref())
        .get("/Users")
        .await
        .ok(StatusCode::OK);
}

/// scim2-tester, an independent SCIM compliance suite, finds nothing wrong
/// (`tests/support/scim_compliance.py`; `cargo xtask test` installs it).
async fn the_independent_compliance_suite_passes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner, scim) = scim_org(&app, json!({})).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/scim_compliance.py");
    let python = std::env::var("ADMIT_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut run = std::process::Command::new(&python);
    run.arg(script)
        .args(["--url", &scim.base])
        .args(["--token", scim.token.as_deref().unwrap()])
        .args(["--email-domain", &app.domain]);
    let check = std::process::Command::new(&python)
        .args(["-c", "import scim2_tester, scim2_client.engines.httpx2"])
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the SCIM compliance suite needs scim2-tester with httpx2 from PyPI \
             (`cargo xtask test` installs it): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("cannot run `{python}` for scim2-tester: {e}"),
    }
    // Blocking, off the runtime's workers: Admit answers on them meanwhile.
    let out = tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap()
        .expect("scim2-tester runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scim2-tester found faults ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // It cleaned up after itself: no member is left but the owner.
    let members = app.members(&org, &owner).await;
    assert_eq!(members.len(), 1, "{members:#?}");
}
