//! Groups at SSO sign-in: the organization names its IdP's groups claim
//! (OIDC) or attribute (SAML), and each sign-in's groups replace those the
//! IdP sent the time before. Through the real OpenID provider and the
//! independent SAML IdP, which send the groups as Okta, Entra ID and
//! Keycloak do.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{set_master_password, setup_token, sso_org};
use crate::sso_saml::{sign_in as saml_sign_in, signed_in};
use admit_tests::oidc::{Browser, Page};
use admit_tests::saml::SamlIdp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    oidc_groups_replace_those_the_idp_sent_before,
    saml_groups_replace_those_the_idp_sent_before,
    groups_settings_are_each_protocols_own,
    scim_groups_and_sign_in_groups_undo_neither_the_other,
    the_admin_group_makes_admins_at_sign_in_and_takes_back_its_own,
    the_admin_group_follows_scim_groups_and_the_owners_setting,
);

/// A SCIM client of an organization, with a token its owner issued.
struct ScimClient<'a> {
    app: &'a TestApp,
    base: String,
    token: String,
}

impl<'a> ScimClient<'a> {
    async fn issue(app: &'a TestApp, org: &str, owner: &str) -> ScimClient<'a> {
        let (s, issued) = app
            .post(&format!("/orgs/{org}/scim/token"), Some(owner), json!({}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{issued}");
        ScimClient {
            app,
            base: format!("/scim/v2/{org}"),
            token: issued["token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        self.app.call(method, &url, Some(&self.token), body).await
    }
}

/// Entra ID's SAML groups claim.
const ENTRA_GROUPS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";

/// The member of `email`'s `groups` and `idp_groups` in the listing.
async fn groups_of(app: &TestApp, org: &str, session: &str, email: &str) -> (Value, Value) {
    let m = app.member(org, session, email).await;
    (m["groups"].clone(), m["idp_groups"].clone())
}

/// The events of `kind` in `org`, newest first.
async fn events_of(app: &TestApp, org: &str, session: &str, kind: &str) -> Vec<Value> {
    let (s, body) = app
        .get(&format!("/orgs/{org}/events?type={kind}"), Some(session))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().clone()
}

/// The `member.groups_changed` events of `org`, newest first: (added, removed).
async fn groups_changes(app: &TestApp, org: &str, session: &str) -> Vec<(Value, Value)> {
    events_of(app, org, session, "member.groups_changed")
        .await
        .iter()
        .map(|e| {
            assert_eq!(e["actor"]["kind"], "user", "the member changed them: {e}");
            (
                e["details"]["groups_added"].clone(),
                e["details"]["groups_removed"].clone(),
            )
        })
        .collect()
}

/// Set the organization's OIDC settings again, with `groups_claim`.
async fn use_groups_claim(app: &TestApp, org: &str, session: &str, claim: &str) {
    let (s, config) = app.get(&format!("/orgs/{org}/sso"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{config}");
    let body = json!({"protocol": "oidc", "issuer": config["issuer"], "client_id": config["client_id"],
                      "member_decryption": "master_password", "enabled": true, "groups_claim": claim});
    let (s, view) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(session),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["groups_claim"], claim, "{view}");
    assert_eq!(
        view["client_secret_set"], true,
        "the secret is kept: {view}"
    );
}

/// An OIDC sign-in as `login` whose IdP sends `groups` (comma-separated;
/// `overage`: Entra ID's overage reference; empty: no claim at all).
async fn oidc_sign_in(app: &TestApp, ident: &str, login: &str, groups: &str) -> Page {
    oidc_sign_in_from(app, ident, None, login, groups).await
}

/// [`oidc_sign_in`], from an invitation when there is one.
async fn oidc_sign_in_from(
    app: &TestApp,
    ident: &str,
    invitation: Option<&str>,
    login: &str,
    groups: &str,
) -> Page {
    let browser = Browser::new();
    let mut start = app.url(&format!("/sso/start?identifier={ident}"));
    if let Some(t) = invitation {
        start.push_str(&format!("&invitation={t}"));
    }
    let at = browser
        .sign_in_with_groups(&start, login, groups, &app.url("/sso/oidc/callback"))
        .await;
    browser
        .get(at.location.as_deref().expect("back at Admit's callback"))
        .await
}

async fn oidc_groups_replace_those_the_idp_sent_before(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({"limit": 10})).await;
    let (org, owner) = (&sso.org, &sso.session);
    let alice = app.email("alice");

    // No groups claim named: whatever the IdP sends is not read.
    let first = oidc_sign_in(&app, &sso.ident, &alice, "eng,ops").await;
    let token = setup_token(&first);
    assert_eq!(
        groups_of(&app, org, owner, &alice).await,
        (json!([]), json!([]))
    );
    let (s, done) = set_master_password(&app, &token, &alice).await;
    assert_eq!(s, StatusCode::OK, "{done}");

    // Named: the next sign-in's groups are the member's (Okta's shape: names).
    use_groups_claim(&app, org, owner, "groups").await;
    let page = oidc_sign_in(&app, &sso.ident, &alice, "eng,ops").await;
    assert_eq!(page.status, StatusCode::FOUND, "signed in: {page:?}");
    assert_eq!(
        groups_of(&app, org, owner, &alice).await,
        (json!(["eng", "ops"]), json!(["eng", "ops"]))
    );
    assert_eq!(
        groups_changes(&app, org, owner).await,
        vec![(json!(["eng", "ops"]), Value::Null)]
    );

    // They replace those of the sign-in before; one event says what changed.
    // Keycloak sends paths ("full group path").
    oidc_sign_in(&app, &sso.ident, &alice, "eng,/sales/emea").await;
    assert_eq!(
        groups_of(&app, org, owner, &alice).await.0,
        json!(["/sales/emea", "eng"])
    );
    assert_eq!(
        groups_changes(&app, org, owner).await[0],
        (json!(["/sales/emea"]), json!(["ops"]))
    );
    // The same groups again write nothing.
    oidc_sign_in(&app, &sso.ident, &alice, "/sales/emea,eng").await;
    assert_eq!(groups_changes(&app, org, owner).await.len(), 2);

    // Entra ID's overage reference says nothing: the groups stay.
    oidc_sign_in(&app, &sso.ident, &alice, "overage").await;
    assert_eq!(
        groups_of(&app, org, owner, &alice).await.0,
        json!(["/sales/emea", "eng"])
    );
    assert_eq!(groups_changes(&app, org, owner).await.len(), 2);

    // The member sees them (Entra's object ids, as Entra sends them by default).
    let entra = "5f0b4c2e-3c1e-4a57-9a55-0d3f0e8f6a11,b7d1e1a0-8f0e-4d8b-9c57-2e0f6f3a9c42";
    let page = oidc_sign_in(&app, &sso.ident, &alice, entra).await;
    let session = app.login(&alice, &alice).await;
    assert_eq!(page.status, StatusCode::FOUND, "{page:?}");
    let (s, me) = app.get("/me", Some(&session)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        me["memberships"][0]["groups"],
        json!([
            "5f0b4c2e-3c1e-4a57-9a55-0d3f0e8f6a11",
            "b7d1e1a0-8f0e-4d8b-9c57-2e0f6f3a9c42"
        ])
    );

    // No claim at all: the IdP says "no groups" (Okta, when its filter matches none).
    oidc_sign_in(&app, &sso.ident, &alice, "").await;
    assert_eq!(
        groups_of(&app, org, owner, &alice).await,
        (json!([]), json!([]))
    );
    let changes = groups_changes(&app, org, owner).await;
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[0].0, Value::Null, "nothing added");
}

async fn saml_groups_replace_those_the_idp_sent_before(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let (org, owner) = app.org_with_owner(json!({})).await;
    let config = json!({"protocol": "saml", "idp_entity_id": idp.entity_id(),
        "idp_sso_url": idp.sso_url(), "idp_certificate_pem": idp.certificate().await,
        "member_decryption": "master_password", "enabled": true, "groups_attribute": ENTRA_GROUPS});
    let (s, view) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(&owner),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["groups_attribute"], ENTRA_GROUPS);
    let ident = view["sso_identifier"].as_str().unwrap().to_owned();

    let bob = app.email("bob");
    app.invite(&org, &owner, &[&bob], "user").await;
    let invitation = app.last_mail_to(&bob).await.accept_token();
    let fields = |groups: &'static str| {
        vec![
            ("email", bob.clone()),
            ("groups_attribute", ENTRA_GROUPS.to_owned()),
            ("groups", groups.to_owned()),
        ]
    };
    let go = |invitation: Option<String>, f: Vec<(&'static str, String)>| {
        let (app, idp, ident) = (&app, &idp, ident.clone());
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            saml_sign_in(app, idp, &ident, invitation.as_deref(), &f).await
        }
    };

    // The sign-in that creates the account sets the first groups.
    let back = go(Some(invitation), fields("Engineering,Design")).await;
    let token = setup_token(&back);
    assert_eq!(
        groups_of(&app, &org, &owner, &bob).await.0,
        json!(["Design", "Engineering"])
    );
    let (s, done) = set_master_password(&app, &token, &bob).await;
    assert_eq!(s, StatusCode::OK, "{done}");

    // The next one's replace them.
    signed_in(&app, &go(None, fields("Design,Support")).await);
    assert_eq!(
        groups_of(&app, &org, &owner, &bob).await,
        (json!(["Design", "Support"]), json!(["Design", "Support"]))
    );
    assert_eq!(
        groups_changes(&app, &org, &owner).await,
        vec![(json!(["Support"]), json!(["Engineering"]))]
    );
    // Another attribute's values are not groups; its absence clears them.
    let mut other = fields("Ops");
    other[1].1 = "groups".into();
    signed_in(&app, &go(None, other).await);
    assert_eq!(groups_of(&app, &org, &owner, &bob).await.0, json!([]));
    assert_eq!(groups_changes(&app, &org, &owner).await.len(), 2);
}

async fn groups_settings_are_each_protocols_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let (org, owner) = (&sso.org, &sso.session);
    let (_, before) = app.get(&format!("/orgs/{org}/sso"), Some(owner)).await;
    let oidc = |extra: Value| {
        let mut body = json!({"protocol": "oidc", "issuer": before["issuer"], "client_id": "admit",
                          "member_decryption": "master_password", "enabled": true});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (bad, field) in [
        (
            oidc(json!({"groups_attribute": "groups"})),
            "groups_attribute",
        ),
        (
            oidc(json!({"groups_claim": "g".repeat(257)})),
            "groups_claim",
        ),
        (oidc(json!({"groups_claim": "gr\u{1}oups"})), "groups_claim"),
        // A standard claim is read as what it is, never as groups.
        (oidc(json!({"groups_claim": "email"})), "groups_claim"),
        (oidc(json!({"groups_claim": ["groups"]})), ""),
    ] {
        let (s, body) = app
            .call("PUT", &format!("/orgs/{org}/sso"), Some(owner), Some(bad))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(field),
            "{body}"
        );
    }
    // SAML: the email's or the name's attribute is no groups attribute.
    let idp = SamlIdp::start();
    let certificate = idp.certificate().await;
    for taken in [
        json!({"groups_attribute": "Mail"}),
        json!({"groups_attribute": "dept", "name_attribute": "dept"}),
    ] {
        let mut body = json!({"protocol": "saml", "idp_entity_id": "https://idp.test", "idp_sso_url": "https://idp.test/sso",
            "idp_certificate_pem": certificate, "member_decryption": "master_password", "enabled": true});
        for (k, v) in taken.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, answer) = app
            .call("PUT", &format!("/orgs/{org}/sso"), Some(owner), Some(body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("groups_attribute"),
            "{answer}"
        );
    }
    let (_, after) = app.get(&format!("/orgs/{org}/sso"), Some(owner)).await;
    assert_eq!(before, after, "nothing changed");
    assert!(after.get("groups_claim").is_none(), "unset: {after}");
}

/// SCIM's groups are SCIM's, a sign-in's are the IdP's: a member's groups
/// are both, listed once, and neither source takes the other's away.
async fn scim_groups_and_sign_in_groups_undo_neither_the_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let (org, owner) = (&sso.org, &sso.session);
    use_groups_claim(&app, org, owner, "groups").await;
    let scim = ScimClient::issue(&app, org, owner).await;
    let ada = app.email("ada");
    let (s, user) = scim
        .call(
            "POST",
            "/Users",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ada}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let (s, group) = scim
        .call(
            "POST",
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Design", "members": [{"value": user["id"]}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{group}");
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let membership_patch = |op: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": op, "path": "members", "value": [{"value": user["id"]}]}]})
    };

    // Ada accepts through SSO, her IdP sending a group of its own.
    let invitation = app.last_mail_to(&ada).await.accept_token();
    let page = oidc_sign_in_from(&app, &sso.ident, Some(&invitation), &ada, "eng").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &ada).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(
        groups_of(&app, org, owner, &ada).await,
        (json!(["Design", "eng"]), json!(["eng"]))
    );

    // A group that comes both ways is listed once.
    oidc_sign_in(&app, &sso.ident, &ada, "Design,ops").await;
    assert_eq!(
        groups_of(&app, org, owner, &ada).await,
        (json!(["Design", "ops"]), json!(["Design", "ops"]))
    );
    // SCIM takes her out of its group: the IdP's "Design" stays.
    let (s, body) = scim
        .call("PATCH", &group_path, Some(membership_patch("remove")))
        .await;
    assert!(s.is_success(), "{s} {body}");
    assert_eq!(
        groups_of(&app, org, owner, &ada).await.0,
        json!(["Design", "ops"])
    );
    // SCIM puts her back, then a sign-in without groups: SCIM's stays.
    let (s, body) = scim
        .call("PATCH", &group_path, Some(membership_patch("add")))
        .await;
    assert!(s.is_success(), "{s} {body}");
    oidc_sign_in(&app, &sso.ident, &ada, "").await;
    assert_eq!(
        groups_of(&app, org, owner, &ada).await,
        (json!(["Design"]), json!([]))
    );
    let (s, group) = scim.call("GET", &group_path, None).await;
    assert_eq!(s, StatusCode::OK, "{group}");
    assert_eq!(
        group["members"].as_array().map(Vec::len),
        Some(1),
        "{group}"
    );
}

/// `PUT /orgs/{org}/settings` `{admin_group}` as `session`: the answer.
async fn set_admin_group(
    app: &TestApp,
    org: &str,
    session: &str,
    group: Value,
) -> (StatusCode, Value) {
    app.call(
        "PUT",
        &format!("/orgs/{org}/settings"),
        Some(session),
        Some(json!({"admin_group": group})),
    )
    .await
}

/// The role of the member of `email`, and whether the listing says so.
async fn role_of(app: &TestApp, org: &str, session: &str, email: &str) -> String {
    app.member(org, session, email).await["role"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `member.role_changed` events of `org`, newest first: (old, new, via, group).
async fn role_changes(
    app: &TestApp,
    org: &str,
    session: &str,
) -> Vec<(Value, Value, Value, Value)> {
    events_of(app, org, session, "member.role_changed")
        .await
        .iter()
        .map(|e| {
            let d = &e["details"];
            (
                d["old_role"].clone(),
                d["role"].clone(),
                d["via"].clone(),
                d["group"].clone(),
            )
        })
        .collect()
}

async fn the_admin_group_makes_admins_at_sign_in_and_takes_back_its_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let (org, owner) = (&sso.org, &sso.session);
    use_groups_claim(&app, org, owner, "groups").await;

    // Only an owner names the admin group; an admin may not.
    let adam = app.email("adam");
    app.invite(org, owner, &[&adam], "admin").await;
    let invitation = app.last_mail_to(&adam).await.accept_token();
    let page = oidc_sign_in_from(&app, &sso.ident, Some(&invitation), &adam, "").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &adam).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    app.confirm_member(org, owner, &adam).await;
    let adam_session = app.login(&adam, &adam).await;
    let (s, body) = set_admin_group(&app, org, &adam_session, json!("admins")).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{body}"
    );
    let (s, body) = set_admin_group(&app, org, owner, json!("bad\u{1}name")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, view) = set_admin_group(&app, org, owner, json!("admins")).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["admin_group"], "admins", "{view}");

    // A walk-in whose IdP says "admins" is an admin from its first sign-in.
    let ann = app.email("ann");
    let page = oidc_sign_in(&app, &sso.ident, &ann, "admins,eng").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &ann).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(role_of(&app, org, owner, &ann).await, "admin");
    assert_eq!(
        role_changes(&app, org, owner).await,
        vec![(
            json!("user"),
            json!("admin"),
            json!("group"),
            json!("admins")
        )]
    );
    // Out of the group at the next sign-in: the role the group gave goes.
    oidc_sign_in(&app, &sso.ident, &ann, "eng").await;
    assert_eq!(role_of(&app, org, owner, &ann).await, "user");
    assert_eq!(role_changes(&app, org, owner).await.len(), 2);

    // A role set by hand is the administrator's: the group leaves it.
    let member = app.member_id(org, owner, &ann).await;
    let (s, body) = app
        .call(
            "PATCH",
            &format!("/orgs/{org}/members/{member}"),
            Some(owner),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    oidc_sign_in(&app, &sso.ident, &ann, "eng").await;
    oidc_sign_in(&app, &sso.ident, &ann, "").await;
    assert_eq!(role_of(&app, org, owner, &ann).await, "admin");
    assert_eq!(
        role_changes(&app, org, owner).await.len(),
        3,
        "only the owner's change"
    );
    // So is a demotion: in the group again, she stays a user.
    let set_role = |role: &'static str| {
        let (app, path) = (&app, format!("/orgs/{org}/members/{member}"));
        async move {
            app.call("PATCH", &path, Some(owner), Some(json!({"role": role})))
                .await
        }
    };
    let (s, body) = set_role("user").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    oidc_sign_in(&app, &sso.ident, &ann, "admins").await;
    assert_eq!(role_of(&app, org, owner, &ann).await, "user");

    // Setting the role the group gave pins it: out of the group, Bo stays admin.
    let bo = app.email("bo");
    let page = oidc_sign_in(&app, &sso.ident, &bo, "admins").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &bo).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(role_of(&app, org, owner, &bo).await, "admin");
    let bo_member = app.member_id(org, owner, &bo).await;
    let (s, body) = app
        .call(
            "PATCH",
            &format!("/orgs/{org}/members/{bo_member}"),
            Some(owner),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    oidc_sign_in(&app, &sso.ident, &bo, "eng").await;
    assert_eq!(role_of(&app, org, owner, &bo).await, "admin");

    // Never owner, and an owner is never the group's: the owner's own
    // sign-in through the IdP, in the group or not, leaves the role.
    let owner_email = app.owner_field(org, owner, "email").await;
    oidc_sign_in(&app, &sso.ident, &owner_email, "eng").await;
    assert_eq!(role_of(&app, org, owner, &owner_email).await, "owner");
    assert_eq!(
        groups_of(&app, org, owner, &owner_email).await.1,
        json!(["eng"])
    );

    // Cy is an admin by the IdP's "admins"; then the organization stops
    // reading groups: what the IdP sent before no longer counts.
    let cy = app.email("cy");
    let page = oidc_sign_in(&app, &sso.ident, &cy, "admins").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &cy).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(role_of(&app, org, owner, &cy).await, "admin");
    let (_, config) = app.get(&format!("/orgs/{org}/sso"), Some(owner)).await;
    let (s, view) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(owner),
            Some(json!({"protocol": "oidc", "issuer": config["issuer"], "client_id": config["client_id"],
                        "member_decryption": "master_password", "enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    // Naming the group again follows it at once, without Cy's old groups.
    let (s, body) = set_admin_group(&app, org, owner, json!("admins")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role_of(&app, org, owner, &cy).await, "user");
    // Her next sign-in drops the groups kept from before.
    oidc_sign_in(&app, &sso.ident, &cy, "admins").await;
    assert_eq!(
        groups_of(&app, org, owner, &cy).await,
        (json!([]), json!([]))
    );
    assert_eq!(role_of(&app, org, owner, &cy).await, "user");
}

async fn the_admin_group_follows_scim_groups_and_the_owners_setting(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let (org, owner) = (&sso.org, &sso.session);
    use_groups_claim(&app, org, owner, "groups").await;
    let scim = ScimClient::issue(&app, org, owner).await;
    let (bea, cal) = (app.email("bea"), app.email("cal"));
    let mut ids = Vec::new();
    for email in [&bea, &cal] {
        let (s, user) = scim.call("POST", "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    // Cal signs in once, and his IdP says "Ops".
    let invitation = app.last_mail_to(&cal).await.accept_token();
    let page = oidc_sign_in_from(&app, &sso.ident, Some(&invitation), &cal, "Ops").await;
    let (s, done) = set_master_password(&app, &setup_token(&page), &cal).await;
    assert_eq!(s, StatusCode::OK, "{done}");

    // A SCIM group named as the admin group before it is one moves no one.
    let (s, group) = scim
        .call(
            "POST",
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Admins", "members": [{"value": ids[0]}]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{group}");
    assert_eq!(role_of(&app, org, owner, &bea).await, "user");

    // The owner names it: its members are admins at once.
    let (s, body) = set_admin_group(&app, org, owner, json!("Admins")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role_of(&app, org, owner, &bea).await, "admin");
    assert_eq!(role_of(&app, org, owner, &cal).await, "user");

    // SCIM adds Cal to the group and takes Bea out, in one PATCH.
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let (s, body) = scim
        .call(
            "PATCH",
            &path,
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": ids[1]}]},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]}),
            ),
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    assert_eq!(role_of(&app, org, owner, &bea).await, "user");
    assert_eq!(role_of(&app, org, owner, &cal).await, "admin");
    let changes = role_changes(&app, org, owner).await;
    assert_eq!(changes.len(), 3, "{changes:?}");
    // Cal's IdP group becomes the admin group: he stays (by the IdP), and
    // deleting the SCIM group leaves him an admin by the IdP's "Ops".
    let (s, body) = set_admin_group(&app, org, owner, json!("Ops")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role_of(&app, org, owner, &cal).await, "admin");
    let (s, body) = scim.call("DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(role_of(&app, org, owner, &cal).await, "admin");
    // Cleared: the roles the group gave go back.
    let (s, view) = set_admin_group(&app, org, owner, Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["admin_group"], Value::Null, "{view}");
    assert_eq!(role_of(&app, org, owner, &cal).await, "user");
    assert_eq!(role_of(&app, org, owner, &bea).await, "user");
}
