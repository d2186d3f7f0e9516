//! Just-in-time provisioning through a real OpenID Connect provider
//! (`oidc-provider`), row by row of docs/product.md's decision table.

use crate::helpers::*;
use crate::on_both_backends;
use admit_tests::oidc::{Browser, OidcClient, OidcProvider, Page};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    invited_member_is_provisioned_and_finishes_setup,
    uninvited_member_joins_by_identifier,
    refusals_write_nothing,
    pre_existing_accounts_follow_their_rows,
    sign_in_state_is_single_use_and_bound_to_the_browser,
    setup_follows_the_organizations_decryption_option,
    claimed_domains_route_and_vouch,
    sso_sessions_act_only_in_their_organization,
    a_new_idp_does_not_inherit_the_old_ones_links,
);

pub(crate) struct SsoOrg {
    pub org: String,
    pub session: String,
    pub ident: String,
    /// Kept alive for the test; stopped when dropped.
    _idp: OidcProvider,
}

pub(crate) async fn sso_org(app: &TestApp, seats: Value) -> SsoOrg {
    let (org, session) = app.org_with_owner(seats).await;
    let idp = OidcProvider::start(&[OidcClient::new(
        "admit",
        "idp-client-secret",
        app.url("/sso/oidc/callback"),
    )]);
    let ident = app
        .use_oidc(&org, &session, &idp.issuer, "admit", "idp-client-secret")
        .await;
    SsoOrg {
        org,
        session,
        ident,
        _idp: idp,
    }
}

/// Start at Admit, sign in at the IdP as `login`, and come back to Admit's callback.
pub(crate) async fn sso_sign_in(
    app: &TestApp,
    browser: &Browser,
    ident: &str,
    invitation: Option<&str>,
    login: &str,
) -> Page {
    let mut start = app.url(&format!("/sso/start?identifier={ident}"));
    if let Some(t) = invitation {
        start.push_str(&format!("&invitation={t}"));
    }
    let at_callback = browser
        .sign_in(&start, login, &app.url("/sso/oidc/callback"))
        .await;
    let callback = at_callback
        .location
        .clone()
        .unwrap_or_else(|| panic!("the IdP sends the browser back: {at_callback:?}"));
    browser.get(&callback).await
}

/// An SSO sign-in by an API client (`Accept: application/json`): the callback's JSON.
async fn sso_sign_in_json(app: &TestApp, ident: &str, login: &str) -> Value {
    let browser = Browser::new();
    let start = app.url(&format!("/sso/start?identifier={ident}"));
    let at = browser
        .sign_in(&start, login, &app.url("/sso/oidc/callback"))
        .await;
    let res = browser
        .client()
        .get(at.location.unwrap())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

pub(crate) fn setup_token(page: &Page) -> String {
    let location = page
        .location
        .as_deref()
        .unwrap_or_else(|| panic!("a redirect to the setup step: {page:?}"));
    location
        .split_once("/setup#setup_token=")
        .unwrap_or_else(|| panic!("setup, not {location}"))
        .1
        .to_owned()
}

pub(crate) fn refused_with(page: &Page, status: StatusCode, code: &str) {
    assert_eq!(page.status, status, "{page:?}");
    assert!(
        page.body
            .contains(&format!(r#"<code id="error-code">{code}</code>"#)),
        "{code} in {}",
        page.body
    );
}

fn keys() -> Value {
    admit_tests::keys::keys_json()
}

pub(crate) async fn set_master_password(
    app: &TestApp,
    token: &str,
    email: &str,
) -> (StatusCode, Value) {
    app.post("/setup/master-password", None, json!({"setup_token": token, "master_password_hash": mp_hash(email), "kdf": kdf(), "keys": keys()})).await
}

async fn invited_member_is_provisioned_and_finishes_setup(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let alice = app.email("alice");
    app.invite(&sso.org, &sso.session, &[&alice], "user").await;
    let invitation = app.last_mail_to(&alice).await.accept_token();
    let (_, lookup) = app
        .post("/invitations/lookup", None, json!({"token": invitation}))
        .await;
    assert_eq!(
        (
            lookup["sso"]["enabled"].as_bool(),
            lookup["account_exists"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // Row 9: invited, no account → account created, linked → setup step.
    let browser = Browser::new();
    let back = sso_sign_in(&app, &browser, &sso.ident, Some(&invitation), &alice).await;
    let token = setup_token(&back);
    let (s, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(
        (
            s,
            view["email"].as_str(),
            view["member_decryption"].as_str()
        ),
        (
            StatusCode::OK,
            Some(alice.as_str()),
            Some("master_password")
        )
    );
    let member = app.member(&sso.org, &sso.session, &alice).await;
    assert_eq!(
        (member["status"].as_str(), member["user_id"].is_string()),
        (Some("invited"), true)
    );

    // Row 2: signing in again before the setup step is done continues it.
    let again = sso_sign_in(&app, &browser, &sso.ident, None, &alice).await;
    let token2 = setup_token(&again);

    let (s, done) = set_master_password(&app, &token2, &alice).await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    let member_session = done["session_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/me", Some(&member_session)).await.1["memberships"][0]["status"],
        "accepted"
    );
    // The master password set in setup works for signing in.
    app.login(&alice, &alice).await;
    // Owners and admins are told; the grant is used up.
    let owner = app.owner_field(&sso.org, &sso.session, "email").await;
    assert!(app.last_mail_to(&owner).await.text.contains(&alice));
    assert_eq!(
        set_master_password(&app, &token2, &alice).await.0,
        StatusCode::NOT_FOUND
    );

    // Row 1: accepted and linked → signed in, cookie set, on to /done.
    let signed_in = sso_sign_in(&app, &browser, &sso.ident, None, &alice).await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{signed_in:?}");
    assert_eq!(
        signed_in.location.as_deref(),
        Some(app.url("/done").as_str())
    );
    let me = browser.client().get(app.url("/me")).send().await.unwrap();
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "the browser holds a session cookie"
    );
}

async fn uninvited_member_joins_by_identifier(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({"limit": 5})).await;
    let bob = app.email("bob");
    // Row 10: no invitation, JIT allowed, a seat free, verified email.
    let back = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &bob).await;
    let token = setup_token(&back);
    let (s, done) = set_master_password(&app, &token, &bob).await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    let m = app.member(&sso.org, &sso.session, &bob).await;
    assert_eq!(
        (m["role"].as_str(), m["status"].as_str()),
        (Some("user"), Some("accepted"))
    );
    let (_, settings) = app
        .get(&format!("/orgs/{}", sso.org), Some(&sso.session))
        .await;
    assert_eq!(settings["seats"]["occupied"], 2);

    // API clients ask for JSON and get the session token there.
    let body = sso_sign_in_json(&app, &sso.ident, &bob).await;
    let token = body["session_token"]
        .as_str()
        .expect("a session token in JSON");
    assert_eq!(app.get("/me", Some(token)).await.1["email"], bob.as_str());
}

async fn refusals_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({"limit": 2})).await;
    let path = format!("/orgs/{}", sso.org);
    let before = (
        app.get(&path, Some(&sso.session)).await.1,
        app.members(&sso.org, &sso.session).await,
    );

    // Row 13: an unverified email links or creates nothing.
    let page = sso_sign_in(
        &app,
        &Browser::new(),
        &sso.ident,
        None,
        &app.email("carol+unverified"),
    )
    .await;
    refused_with(&page, StatusCode::FORBIDDEN, "email_unverified");
    // Row 14: no email at all.
    let page = sso_sign_in(
        &app,
        &Browser::new(),
        &sso.ident,
        None,
        &app.email("dan+noemail"),
    )
    .await;
    refused_with(&page, StatusCode::BAD_REQUEST, "email_missing");
    assert_eq!(
        (
            app.get(&path, Some(&sso.session)).await.1,
            app.members(&sso.org, &sso.session).await
        ),
        before
    );

    // Row 11: one seat left, taken; the next person finds none.
    let first = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &app.email("first")).await;
    setup_token(&first);
    let full = sso_sign_in(
        &app,
        &Browser::new(),
        &sso.ident,
        None,
        &app.email("second"),
    )
    .await;
    refused_with(&full, StatusCode::FORBIDDEN, "no_seats");
    assert_eq!(app.members(&sso.org, &sso.session).await.len(), 2);

    // Row 12: JIT without invitation switched off.
    app.call(
        "PUT",
        &format!("/orgs/{}/policies", sso.org),
        Some(&sso.session),
        Some(json!({"jit_without_invitation": false})),
    )
    .await;
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &app.email("third")).await;
    refused_with(&page, StatusCode::FORBIDDEN, "invitation_required");
    assert_eq!(app.members(&sso.org, &sso.session).await.len(), 2);
    // JSON for API clients.
    let start = app.url("/sso/start?identifier=no-such-org");
    let res = app
        .http
        .get(start)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
}

async fn pre_existing_accounts_follow_their_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    // Accounts that existed before (owners of other organizations, master passwords set).
    let (erin, fay, gus, hal) = (
        app.email("erin"),
        app.email("fay"),
        app.email("gus"),
        app.email("hal"),
    );
    for who in [&erin, &fay, &gus, &hal] {
        app.create_org("Elsewhere", who, json!({})).await;
        assert_eq!(
            app.accept_latest(who, "own pw", true).await.0,
            StatusCode::OK
        );
    }
    app.invite(&sso.org, &sso.session, &[&erin, &fay, &gus], "user")
        .await;
    // Row 6: invited → must accept with the master password first.
    let page = sso_sign_in(
        &app,
        &Browser::new(),
        &sso.ident,
        Some(&app.last_mail_to(&erin).await.accept_token()),
        &erin,
    )
    .await;
    refused_with(&page, StatusCode::FORBIDDEN, "invite_acceptance_required");
    // Row 7: accepted → waits for confirmation.
    assert_eq!(
        app.accept_latest(&fay, "own pw", false).await.0,
        StatusCode::OK
    );
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &fay).await;
    refused_with(&page, StatusCode::FORBIDDEN, "confirmation_required");
    // Row 8: no membership → needs an invitation.
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &hal).await;
    refused_with(&page, StatusCode::FORBIDDEN, "membership_required");
    // Row 5: confirmed → the first SSO sign-in links the identity and signs in.
    assert_eq!(
        app.accept_latest(&gus, "own pw", false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&sso.org, &sso.session, &gus).await;
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &gus).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (StatusCode::FOUND, Some(app.url("/done").as_str())),
        "{page:?}"
    );
    // Linked now: signing in again goes straight through (row 1).
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &gus).await;
    assert_eq!(page.location.as_deref(), Some(app.url("/done").as_str()));
    assert_eq!(
        app.member(&sso.org, &sso.session, &erin).await["status"],
        "invited"
    );
}

async fn sign_in_state_is_single_use_and_bound_to_the_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let ivy = app.email("ivy");
    let browser = Browser::new();
    let start = app.url(&format!("/sso/start?identifier={}", sso.ident));
    let at_callback = browser
        .sign_in(&start, &ivy, &app.url("/sso/oidc/callback"))
        .await;
    let callback = at_callback.location.clone().unwrap();

    // Another browser (no sign-in cookie) presenting the callback is refused, and that uses the state up.
    let thief = Browser::new();
    refused_with(
        &thief.get(&callback).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    refused_with(
        &browser.get(&callback).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(
        app.members(&sso.org, &sso.session)
            .await
            .iter()
            .all(|m| m["email"] != ivy.as_str())
    );

    // A fresh sign-in works once; its replay is refused.
    let at_callback = browser
        .sign_in(&start, &ivy, &app.url("/sso/oidc/callback"))
        .await;
    let callback = at_callback.location.clone().unwrap();
    setup_token(&browser.get(&callback).await);
    refused_with(
        &browser.get(&callback).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Unknown state, no state.
    let forged = callback.replace("state=", "state=AAAA");
    refused_with(
        &browser.get(&forged).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    refused_with(
        &browser.get(&app.url("/sso/oidc/callback?code=x")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // The sign-in expires after ten minutes.
    let at_callback = browser
        .sign_in(&start, &app.email("late"), &app.url("/sso/oidc/callback"))
        .await;
    app.clock.advance(time::Duration::minutes(11));
    refused_with(
        &browser.get(at_callback.location.as_deref().unwrap()).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

async fn set_decryption(app: &TestApp, sso: &SsoOrg, option: &str) {
    let mut config = json!({"protocol": "oidc", "issuer": sso._idp.issuer, "client_id": "admit",
                            "member_decryption": option, "enabled": true});
    if option == "key_connector" {
        config["key_connector_url"] = json!("https://kc.example.com");
    }
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{}/sso", sso.org),
            Some(&sso.session),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn setup_follows_the_organizations_decryption_option(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;

    // Trusted devices: no master password; the device is registered and remembered.
    set_decryption(&app, &sso, "trusted_devices").await;
    let tess = app.email("tess");
    let token = setup_token(&sso_sign_in(&app, &Browser::new(), &sso.ident, None, &tess).await);
    let (_, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(view["member_decryption"], "trusted_devices");
    let (s, body) = set_master_password(&app, &token, &tess).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "the other options are refused"
    );
    let bad = json!({"setup_token": token, "remember": true, "device": {"identifier": "", "name": "Laptop", "type": "browser"}, "keys": keys()});
    assert_eq!(
        app.post("/setup/trusted-device", None, bad).await.0,
        StatusCode::BAD_REQUEST
    );
    let device = json!({"setup_token": token, "remember": true, "device": {"identifier": "dev-1", "name": "Laptop", "type": "browser"}, "keys": keys()});
    let (s, done) = app
        .post("/setup/trusted-device", None, device.clone())
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    assert!(done["session_token"].is_string());
    assert_eq!(
        app.post("/setup/trusted-device", None, device).await.0,
        StatusCode::NOT_FOUND,
        "used once"
    );
    let login = json!({"email": tess, "master_password_hash": mp_hash(&tess)});
    assert_eq!(
        app.post("/auth/login", None, login).await.0,
        StatusCode::UNAUTHORIZED,
        "no master password was set"
    );

    // Key connector: nothing but the keys.
    set_decryption(&app, &sso, "key_connector").await;
    let kai = app.email("kai");
    let token = setup_token(&sso_sign_in(&app, &Browser::new(), &sso.ident, None, &kai).await);
    assert_eq!(
        app.post("/setup/key-connector", None, json!({"setup_token": token}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (s, done) = app
        .post(
            "/setup/key-connector",
            None,
            json!({"setup_token": token, "keys": keys()}),
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );

    // Unknown and expired setup tokens.
    assert_eq!(
        app.post(
            "/setup/lookup",
            None,
            json!({"setup_token": "A".repeat(43)})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let late = app.email("late");
    let token = setup_token(&sso_sign_in(&app, &Browser::new(), &sso.ident, None, &late).await);
    app.clock.advance(time::Duration::minutes(16));
    assert_eq!(
        app.post("/setup/lookup", None, json!({"setup_token": token}))
            .await
            .0,
        StatusCode::GONE
    );
    assert_eq!(
        app.post(
            "/setup/key-connector",
            None,
            json!({"setup_token": token, "keys": keys()})
        )
        .await
        .0,
        StatusCode::GONE
    );
    assert_eq!(
        app.member(&sso.org, &sso.session, &late).await["status"],
        "invited"
    );
}

async fn claimed_domains_route_and_vouch(backend: Backend) {
    let app = &spawn_app(backend).await;
    let sso = sso_org(app, json!({})).await;
    let claim = |org: &str, verified: bool| {
        let path = format!("/operator/orgs/{org}/domains/{}", app.domain);
        async move {
            app.call(
                "PUT",
                &path,
                Some(OPERATOR_TOKEN),
                Some(json!({"verified": verified})),
            )
            .await
        }
    };
    let discover = |email: String| async move {
        app.post("/sso/discover", None, json!({"email": email}))
            .await
    };

    // Claimed but not verified: nothing is discovered, nothing vouched for.
    let (s, body) = claim(&sso.org, false).await;
    assert_eq!(
        (s, body["verified"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{body}"
    );
    assert_eq!(
        discover(app.email("someone")).await.0,
        StatusCode::NOT_FOUND
    );
    let page = sso_sign_in(
        app,
        &Browser::new(),
        &sso.ident,
        None,
        &app.email("una+unverified"),
    )
    .await;
    refused_with(&page, StatusCode::FORBIDDEN, "email_unverified");

    // Verified: the email's domain finds the organization, and vouches for the IdP's unverified email.
    assert_eq!(claim(&sso.org, true).await.0, StatusCode::OK);
    let (s, body) = discover(app.email("someone").to_uppercase()).await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"sso_identifier": sso.ident}))
    );
    let page = sso_sign_in(
        app,
        &Browser::new(),
        &sso.ident,
        None,
        &app.email("una+unverified"),
    )
    .await;
    setup_token(&page);

    // Other domains, bad input, other organizations, other callers.
    assert_eq!(
        discover("x@elsewhere.test".into()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        discover("not an email".into()).await.0,
        StatusCode::BAD_REQUEST
    );
    let (other, _) = app.org_with_owner(json!({})).await;
    let (s, body) = claim(&other, true).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let path = format!("/operator/orgs/{}/domains/{}", sso.org, app.domain);
    assert_eq!(
        app.call(
            "PUT",
            &path,
            Some(&sso.session),
            Some(json!({"verified": true}))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let bad = format!("/operator/orgs/{}/domains/not_a_domain", sso.org);
    assert_eq!(
        app.call(
            "PUT",
            &bad,
            Some(OPERATOR_TOKEN),
            Some(json!({"verified": true}))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let ghost = format!(
        "/operator/orgs/org_00000000000000000000000000000000/domains/{}",
        app.domain
    );
    assert_eq!(
        app.call(
            "PUT",
            &ghost,
            Some(OPERATOR_TOKEN),
            Some(json!({"verified": true}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // An organization without SSO is not discovered.
    app.call("PUT", &format!("/orgs/{}/sso", sso.org), Some(&sso.session),
        Some(json!({"protocol": "oidc", "issuer": sso._idp.issuer, "client_id": "admit", "member_decryption": "master_password", "enabled": false}))).await;
    assert_eq!(
        discover(app.email("someone")).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn sso_sessions_act_only_in_their_organization(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    // Gus owns another organization, and is a confirmed member of the SSO one.
    let gus = app.email("gus");
    let elsewhere = app.create_org("Elsewhere", &gus, json!({})).await;
    assert_eq!(
        app.accept_latest(&gus, "gus pw", true).await.0,
        StatusCode::OK
    );
    app.invite(&sso.org, &sso.session, &[&gus], "admin").await;
    assert_eq!(
        app.accept_latest(&gus, "gus pw", false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&sso.org, &sso.session, &gus).await;

    // Signed in by the SSO organization's IdP: a session for that organization only.
    let body = sso_sign_in_json(&app, &sso.ident, &gus).await;
    let scoped = body["session_token"]
        .as_str()
        .expect("a session")
        .to_owned();
    assert_eq!(
        app.get(&format!("/orgs/{}", sso.org), Some(&scoped))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/orgs/{elsewhere}"), Some(&scoped))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let invite = json!({"emails": [app.email("x")], "role": "admin"});
    assert_eq!(
        app.post(
            &format!("/orgs/{elsewhere}/invitations"),
            Some(&scoped),
            invite
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, me) = app.get("/me", Some(&scoped)).await;
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1, "{me}");
    assert_eq!(me["memberships"][0]["org_id"], sso.org.as_str());
    // The master password still opens everything the account may do.
    let full = app.login(&gus, "gus pw").await;
    assert_eq!(
        app.get(&format!("/orgs/{elsewhere}"), Some(&full)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/me", Some(&full)).await.1["memberships"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn a_new_idp_does_not_inherit_the_old_ones_links(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    // The victim is provisioned through the organization's first IdP.
    let victim = app.email("victim");
    let page = sso_sign_in(&app, &Browser::new(), &sso.ident, None, &victim).await;
    assert_eq!(
        set_master_password(&app, &setup_token(&page), &victim)
            .await
            .0,
        StatusCode::OK
    );

    // The organization moves to another IdP, which asserts the victim's old `sub` for someone else.
    let other = admit_tests::evil::EvilProvider::start("admit", "evil-secret");
    app.use_oidc(
        &sso.org,
        &sso.session,
        &other.issuer,
        "admit",
        "evil-secret",
    )
    .await;
    let intruder = app.email("intruder");
    let scenario =
        json!({"name": "ok", "email": intruder, "sub": admit_tests::oidc::sub_for(&victim)});
    let res = reqwest::Client::new()
        .post(format!("{}/scenario", other.issuer))
        .json(&scenario)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    // Not signed in as the victim: a new person, provisioned just in time.
    let browser = Browser::new();
    let start = app.url(&format!("/sso/start?identifier={}", sso.ident));
    let at = browser
        .sign_in(&start, &intruder, &app.url("/sso/oidc/callback"))
        .await;
    let back = browser.get(at.location.as_deref().unwrap()).await;
    let token = setup_token(&back);
    let (_, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(view["email"], intruder.as_str());
}
