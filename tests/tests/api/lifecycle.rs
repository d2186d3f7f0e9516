//! The organization's whole member lifecycle (docs/api.md, "Accepting with a
//! session", "Linking an IdP identity to a signed-in account", "Member
//! administration"; docs/product.md, "Nobody is locked out, and no IdP takes
//! over an account", "Day-2 administration"), over HTTP with the real IdPs:
//! an account without a master password joins a second organization while
//! signed in; a member whose IdP does not vouch for emails links its identity
//! with a link token or a session, and no IdP links an account only because it
//! asserts its email; revoking and removing end sessions at once; owners rule
//! owners and the last one stays, even against a race; seats and settings;
//! deleting an account, down to the path of a pre-existing account that is
//! provisioned afresh. Every refusal leaves the organization, its members and
//! its log as they were (a refused SSO sign-in and a wrong password are on the
//! record, nothing else).

use crate::events::{Watch, all_events};
use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::refused_with;
use admit_app::Clock;
use admit_tests::keys::keys_json;
use admit_tests::oidc::{Browser, OidcClient, OidcProvider};
use admit_tests::saml::{Page, SamlBrowser, SamlIdp};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::{Value, json};

on_both_backends!(
    an_account_without_a_master_password_accepts_while_signed_in,
    a_member_whose_idp_does_not_vouch_links_its_identity,
    a_saml_member_links_its_identity_with_a_link_token,
    no_idp_takes_over_an_account_by_asserting_its_email,
    revoking_ends_sessions_at_once,
    removing_ends_sessions_at_once,
    owners_rule_owners_and_the_last_confirmed_owner_stays,
    two_owners_demoting_or_revoking_each_other_leave_one,
    seats_and_settings_are_checked_and_recorded,
    deleting_an_account_removes_its_memberships_and_sessions,
    a_pre_existing_account_deletes_itself_and_is_provisioned_afresh,
);

const CALLBACK: &str = "/sso/oidc/callback";

// ------------------------------------------------------------------ helpers

/// A client of the test OpenID provider for `app`; its secret is
/// `{id}-secret`.
fn client(app: &TestApp, id: &str) -> OidcClient {
    OidcClient::new(id, format!("{id}-secret"), app.url(CALLBACK))
}

/// Configure `org` for the OpenID provider at `issuer` (client `client_id`
/// of [`client`]), enabled; returns the SSO identifier.
async fn use_oidc(
    app: &TestApp,
    org: &str,
    session: &str,
    issuer: &str,
    client_id: &str,
    decryption: &str,
) -> String {
    let config = json!({"protocol": "oidc", "issuer": issuer, "client_id": client_id,
        "client_secret": format!("{client_id}-secret"), "member_decryption": decryption, "enabled": true});
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(session),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["sso_identifier"].as_str().unwrap().to_owned()
}

/// Configure `org` for the SAML IdP (master password decryption, enabled).
async fn use_saml(app: &TestApp, org: &str, session: &str, idp: &SamlIdp) -> String {
    let config = json!({"protocol": "saml", "idp_entity_id": idp.entity_id(),
        "idp_sso_url": idp.sso_url(), "idp_certificate_pem": idp.certificate().await,
        "member_decryption": "master_password", "enabled": true});
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(session),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["sso_identifier"].as_str().unwrap().to_owned()
}

async fn require_sso(app: &TestApp, org: &str, session: &str) {
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/policies"),
            Some(session),
            Some(json!({"require_sso": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// `/sso/start?identifier={ident}{extra}`.
fn start(app: &TestApp, ident: &str, extra: &str) -> String {
    app.url(&format!("/sso/start?identifier={ident}{extra}"))
}

async fn json_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An SSO sign-in through the OpenID provider as an API client would make
/// it: `GET start` (with `bearer`, when given), sign in at the IdP as `login`,
/// and read the callback as JSON. Its status and body: a session, a setup
/// token or a refusal (the start's own refusal when it does not go to the IdP).
async fn oidc(
    app: &TestApp,
    browser: &Browser,
    start: &str,
    bearer: Option<&str>,
    login: &str,
) -> (StatusCode, Value) {
    let mut req = browser
        .client()
        .get(start)
        .header(ACCEPT, "application/json");
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("admit answers");
    if res.status() != StatusCode::FOUND {
        return json_of(res).await;
    }
    let to_idp = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let at = browser.sign_in(&to_idp, login, &app.url(CALLBACK)).await;
    let callback = at
        .location
        .clone()
        .unwrap_or_else(|| panic!("the IdP sends the browser back: {at:?}"));
    let res = browser
        .client()
        .get(&callback)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    json_of(res).await
}

/// A plain SSO sign-in (no invitation, nothing to link) in a new browser.
async fn oidc_plain(app: &TestApp, ident: &str, login: &str) -> (StatusCode, Value) {
    oidc(app, &Browser::new(), &start(app, ident, ""), None, login).await
}

/// The session a sign-in ended with.
#[track_caller]
fn signed_in(r: &(StatusCode, Value)) -> String {
    assert_eq!(r.0, StatusCode::OK, "signed in: {}", r.1);
    r.1["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a session, not {}", r.1))
        .to_owned()
}

/// The setup token a sign-in ended with.
#[track_caller]
fn setup(r: &(StatusCode, Value)) -> String {
    assert_eq!(r.0, StatusCode::OK, "setup: {}", r.1);
    r.1["setup_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a setup token, not {}", r.1))
        .to_owned()
}

#[track_caller]
fn refused(r: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(
        (r.0, r.1["error"].as_str()),
        (status, Some(code)),
        "{}",
        r.1
    );
}

/// A SAML sign-in in a new browser, asserting `email`: the ACS's answer.
async fn saml(app: &TestApp, idp: &SamlIdp, start: &str, email: &str) -> Page {
    // The IdP stamps its response with the real time.
    app.catch_up_clock();
    SamlBrowser::new()
        .sign_in(start, idp, &[("email", email)])
        .await
}

#[track_caller]
fn saml_signed_in(app: &TestApp, page: &Page) {
    assert_eq!(
        (page.status, page.location.as_deref()),
        (StatusCode::FOUND, Some(app.url("/done").as_str())),
        "{page:?}"
    );
}

async fn login_attempt(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    app.post(
        "/auth/login",
        None,
        json!({"email": email, "master_password_hash": mp_hash(password)}),
    )
    .await
}

/// The link token of a right master password that `require_sso` refuses.
async fn link_token(app: &TestApp, email: &str, password: &str) -> String {
    let (s, body) = login_attempt(app, email, password).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("sso_required")),
        "{body}"
    );
    body["link_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a link token: {body}"))
        .to_owned()
}

/// A start refused before the IdP: its status and error code (JSON).
async fn start_refused(app: &TestApp, url: &str) -> (StatusCode, Value) {
    let res = app
        .http
        .get(url)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    json_of(res).await
}

/// A member with a master password (its email, as password too): invited
/// with `role`, accepted (the account made now, or proved), and confirmed.
async fn confirmed_member(
    app: &TestApp,
    org: &str,
    owner: &str,
    email: &str,
    role: &str,
    new_account: bool,
) {
    let (s, body) = app.invite(org, owner, &[email], role).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = app.accept_latest(email, email, new_account).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.confirm_member(org, owner, email).await;
}

/// Everything a refusal must leave as it was: the organization (seats and
/// settings), its members and its log.
async fn state(app: &TestApp, org: &str, session: &str) -> (Value, Vec<Value>, Vec<Value>) {
    let (s, view) = app.get(&format!("/orgs/{org}"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    (
        view,
        app.members(org, session).await,
        all_events(app, org, session, &[]).await,
    )
}

/// `state` but the log: for refusals that are on the record.
async fn state_but_log(app: &TestApp, org: &str, session: &str) -> (Value, Vec<Value>) {
    let (view, members, _) = state(app, org, session).await;
    (view, members)
}

/// The events added since the last look are all of `kind` (at least one).
async fn only(log: &mut Watch, app: &TestApp, kind: &str, what: &str) -> Vec<Value> {
    let added = log.added(app).await;
    assert!(!added.is_empty(), "{what}: on the record");
    assert!(
        added.iter().all(|e| e["type"] == kind),
        "{what}: only {kind}: {added:#?}"
    );
    added
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn me(app: &TestApp, session: &str) -> Value {
    let (s, body) = app.get("/me", Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

async fn patch_role(
    app: &TestApp,
    org: &str,
    session: &str,
    member: &str,
    role: &str,
) -> (StatusCode, Value) {
    app.call(
        "PATCH",
        &format!("/orgs/{org}/members/{member}"),
        Some(session),
        Some(json!({"role": role})),
    )
    .await
}

async fn act(
    app: &TestApp,
    org: &str,
    session: &str,
    member: &str,
    action: &str,
) -> (StatusCode, Value) {
    match action {
        "remove" => {
            app.call(
                "DELETE",
                &format!("/orgs/{org}/members/{member}"),
                Some(session),
                None,
            )
            .await
        }
        _ => {
            app.post(
                &format!("/orgs/{org}/members/{member}/{action}"),
                Some(session),
                json!({}),
            )
            .await
        }
    }
}

async fn delete_me(app: &TestApp, session: &str, body: Value) -> (StatusCode, Value) {
    app.call("DELETE", "/me", Some(session), Some(body)).await
}

fn trusted_device(token: &str, device: &str) -> Value {
    json!({"setup_token": token, "remember": true,
           "device": {"identifier": device, "name": "Laptop", "type": "browser"},
           "keys": keys_json()})
}

// ---------------------------------------------------------------- scenarios

/// An account provisioned just in time with trusted devices (no master
/// password) accepts another organization's invitation with only the token
/// and its session from the first organization's SSO; then signs in to the
/// second through its own SSO.
async fn an_account_without_a_master_password_accepts_while_signed_in(backend: Backend) {
    let app = spawn_app(backend).await;
    // One provider, a client per organization: the link is per organization.
    let idp = OidcProvider::start(&[client(&app, "org-a"), client(&app, "org-b")]);
    let (a, a_owner) = app.org_with_owner(json!({})).await;
    let a_ident = use_oidc(&app, &a, &a_owner, &idp.issuer, "org-a", "trusted_devices").await;
    let tess = app.email("tess");
    let token = setup(&oidc_plain(&app, &a_ident, &tess).await);
    let (s, done) = app
        .post(
            "/setup/trusted-device",
            None,
            trusted_device(&token, "tess-laptop"),
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    let tess_a = done["session_token"].as_str().unwrap().to_owned();
    app.confirm_member(&a, &a_owner, &tess).await;
    let tess_user = me(&app, &tess_a).await["user_id"].clone();
    assert_eq!(
        login_attempt(&app, &tess, &tess).await.0,
        StatusCode::UNAUTHORIZED,
        "no master password"
    );

    // Organization B invites her; her account exists.
    let (b, b_owner) = app.org_with_owner(json!({"limit": 3})).await;
    let b_ident = use_oidc(&app, &b, &b_owner, &idp.issuer, "org-b", "trusted_devices").await;
    let (s, body) = app.invite(&b, &b_owner, &[&tess], "user").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let invitation = app.last_mail_to(&tess).await.accept_token();
    let (_, lookup) = app
        .post("/invitations/lookup", None, json!({"token": invitation}))
        .await;
    assert_eq!(lookup["account_exists"], true, "{lookup}");

    // Neither a password nor a session: 400. Another account's session: 403.
    // A master password she does not have: 401. Nothing written in B.
    let before = state(&app, &b, &b_owner).await;
    let accept = json!({"token": invitation});
    refused(
        &app.post("/invitations/accept", None, accept.clone()).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    for other in [&b_owner, &a_owner] {
        refused(
            &app.post("/invitations/accept", Some(other), accept.clone())
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    let guess = json!({"token": invitation, "master_password_hash": mp_hash("a guess")});
    refused(
        &app.post("/invitations/accept", None, guess).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(
        state(&app, &b, &b_owner).await,
        before,
        "refusals write nothing"
    );

    // Her session from A's SSO (a bearer) accepts for her account.
    let mut b_log = Watch::new(&app, &b, &b_owner).await;
    let (s, body) = app
        .post("/invitations/accept", Some(&tess_a), accept.clone())
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    let member = app.member(&b, &b_owner, &tess).await;
    assert_eq!(
        (&member["member_id"], &member["status"], &member["user_id"]),
        (&body["member_id"], &json!("accepted"), &tess_user),
        "{member}"
    );
    let e = b_log.one(&app, "member.accepted", "accepting").await;
    assert_eq!(
        (&e["member_id"], &e["actor"]["user_id"]),
        (&body["member_id"], &tess_user),
        "{e:#}"
    );
    // The token is used up.
    refused(
        &app.post("/invitations/accept", Some(&tess_a), accept).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Confirmed by B's owner, she signs in through B's own SSO: the first
    // sign-in links her identity there (row 5), the next signs in (row 1).
    app.confirm_member(&b, &b_owner, &tess).await;
    b_log.added(&app).await;
    let tess_b = signed_in(&oidc_plain(&app, &b_ident, &tess).await);
    let mine = me(&app, &tess_b).await;
    assert_eq!(mine["user_id"], tess_user);
    assert_eq!(
        mine["memberships"],
        json!([{"org_id": b, "org_name": "Acme", "member_id": body["member_id"], "role": "user",
                "status": "confirmed", "key": "k", "groups": []}]),
        "a session of B's SSO acts in B only"
    );
    signed_in(&oidc_plain(&app, &b_ident, &tess).await);
    assert_eq!(
        types(&b_log.added(&app).await),
        ["sso.signed_in", "sso.linked"]
    );
    // Her session from A still acts in A only.
    assert_eq!(
        app.get(&format!("/orgs/{b}"), Some(&tess_a)).await.0,
        StatusCode::NOT_FOUND
    );
}

/// With `require_sso` on, an OpenID provider that sends no `email_verified`
/// and no verified domain, a confirmed member with a master password is not
/// locked out: its right password's refusal carries a link token that links
/// the identity the IdP proves (once); an administrator's session does the
/// same with `link=1`. An identity linked to another account is 409.
async fn a_member_whose_idp_does_not_vouch_links_its_identity(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = OidcProvider::start_omitting_email_verified(&[client(&app, "admit")]);
    let (org, owner) = app.org_with_owner(json!({})).await;
    let (uma, wes, ada) = (app.email("uma"), app.email("wes"), app.email("ada"));
    confirmed_member(&app, &org, &owner, &uma, "user", true).await;
    confirmed_member(&app, &org, &owner, &wes, "user", true).await;
    confirmed_member(&app, &org, &owner, &ada, "admin", true).await;
    let ident = use_oidc(&app, &org, &owner, &idp.issuer, "admit", "master_password").await;
    require_sso(&app, &org, &owner).await;
    let member = |email: &str| {
        let (app, org, owner) = (&app, &org, &owner);
        let email = email.to_owned();
        async move { app.member(org, owner, &email).await }
    };
    let uma_member = member(&uma).await;
    let mut log = Watch::new(&app, &org, &owner).await;

    // The IdP does not vouch for her email, the domain is not verified: row 13.
    let before = state_but_log(&app, &org, &owner).await;
    refused(
        &oidc_plain(&app, &ident, &uma).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    let e = only(&mut log, &app, "sso.refused", "row 13").await;
    assert_eq!(e[0]["details"]["code"], "email_unverified", "{:#}", e[0]);

    // A wrong password gets no link token; the right one's refusal carries one.
    let (s, body) = login_attempt(&app, &uma, "not her password").await;
    assert_eq!(
        (s, body.get("link_token")),
        (StatusCode::UNAUTHORIZED, None),
        "{body}"
    );
    only(&mut log, &app, "auth.login_failed", "a wrong password").await;
    let token = link_token(&app, &uma, &uma).await;
    assert_eq!(state_but_log(&app, &org, &owner).await, before);
    log.none(&app, "issuing a link token").await;

    // It links the identity the IdP returns to her account, and signs her in.
    let linked = oidc(
        &app,
        &Browser::new(),
        &start(&app, &ident, &format!("&link_token={token}")),
        None,
        &uma,
    )
    .await;
    let session = signed_in(&linked);
    let mine = me(&app, &session).await;
    assert_eq!(
        (&mine["email"], &mine["memberships"][0]["org_id"]),
        (&json!(uma), &json!(org)),
        "{mine}"
    );
    let e = log.one(&app, "sso.linked", "linking").await;
    assert_eq!(
        (
            &e["member_id"],
            &e["actor"]["user_id"],
            &e["details"]["protocol"]
        ),
        (
            &uma_member["member_id"],
            &uma_member["user_id"],
            &json!("oidc")
        ),
        "{e:#}"
    );
    assert_eq!(
        member(&uma).await,
        uma_member,
        "the membership is as it was"
    );
    // Single use.
    refused(
        &start_refused(&app, &start(&app, &ident, &format!("&link_token={token}"))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // From now on a plain SSO sign-in signs her in (row 1), and her password
    // alone still does not, with no link token (her identity is linked).
    let again = signed_in(&oidc_plain(&app, &ident, &uma).await);
    assert_eq!(me(&app, &again).await["user_id"], uma_member["user_id"]);
    assert_eq!(types(&log.added(&app).await), ["sso.signed_in"], "row 1");
    let (s, body) = login_attempt(&app, &uma, &uma).await;
    assert_eq!(
        (s, body["error"].as_str(), body.get("link_token")),
        (StatusCode::FORBIDDEN, Some("sso_required"), None),
        "{body}"
    );

    // Tokens nobody issued, and `link=1` without a session, start nothing.
    refused(
        &start_refused(
            &app,
            &start(&app, &ident, &format!("&link_token={}", "A".repeat(43))),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    refused(
        &start_refused(&app, &start(&app, &ident, "&link=1")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // An administrator (exempt from require_sso) signed in with the master
    // password links from the console: `link=1` with the session.
    refused(
        &oidc_plain(&app, &ident, &ada).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    let ada_session = app.login(&ada, &ada).await;
    log.added(&app).await;
    let linked = oidc(
        &app,
        &Browser::new(),
        &start(&app, &ident, "&link=1"),
        Some(&ada_session),
        &ada,
    )
    .await;
    let ada_sso = signed_in(&linked);
    assert_eq!(me(&app, &ada_sso).await["email"], ada.as_str());
    let e = log.one(&app, "sso.linked", "linking by session").await;
    assert_eq!(e["member_id"], member(&ada).await["member_id"], "{e:#}");
    signed_in(&oidc_plain(&app, &ident, &ada).await);

    // Wes, with his own link token, comes back from the IdP as Uma, whose
    // identity is linked to her account: 409, nothing written.
    let wes_token = link_token(&app, &wes, &wes).await;
    log.added(&app).await;
    let before = state(&app, &org, &owner).await;
    refused(
        &oidc(
            &app,
            &Browser::new(),
            &start(&app, &ident, &format!("&link_token={wes_token}")),
            None,
            &uma,
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(state(&app, &org, &owner).await, before, "nothing written");
    // Uma's identity still signs in Uma; Wes has no identity yet (his
    // password still gets a link token), and a link token lives ten minutes.
    let uma_again = signed_in(&oidc_plain(&app, &ident, &uma).await);
    assert_eq!(me(&app, &uma_again).await["email"], uma.as_str());
    let late = link_token(&app, &wes, &wes).await;
    app.clock.advance(time::Duration::minutes(11));
    refused(
        &start_refused(&app, &start(&app, &ident, &format!("&link_token={late}"))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let wes_token = link_token(&app, &wes, &wes).await;
    let wes_sso = signed_in(
        &oidc(
            &app,
            &Browser::new(),
            &start(&app, &ident, &format!("&link_token={wes_token}")),
            None,
            &wes,
        )
        .await,
    );
    assert_eq!(me(&app, &wes_sso).await["email"], wes.as_str());
}

/// The same with the SAML IdP, which never vouches for an email.
async fn a_saml_member_links_its_identity_with_a_link_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let (org, owner) = app.org_with_owner(json!({})).await;
    let sam = app.email("sam");
    confirmed_member(&app, &org, &owner, &sam, "user", true).await;
    let ident = use_saml(&app, &org, &owner, &idp).await;
    require_sso(&app, &org, &owner).await;
    let sam_member = app.member(&org, &owner, &sam).await;
    let mut log = Watch::new(&app, &org, &owner).await;
    let before = state_but_log(&app, &org, &owner).await;

    let page = saml(&app, &idp, &start(&app, &ident, ""), &sam).await;
    refused_with(&page, StatusCode::FORBIDDEN, "email_unverified");
    only(&mut log, &app, "sso.refused", "row 13").await;

    let token = link_token(&app, &sam, &sam).await;
    assert_eq!(state_but_log(&app, &org, &owner).await, before);
    let page = saml(
        &app,
        &idp,
        &start(&app, &ident, &format!("&link_token={token}")),
        &sam,
    )
    .await;
    saml_signed_in(&app, &page);
    let e = log.one(&app, "sso.linked", "linking").await;
    assert_eq!(
        (
            &e["member_id"],
            &e["actor"]["user_id"],
            &e["details"]["protocol"]
        ),
        (
            &sam_member["member_id"],
            &sam_member["user_id"],
            &json!("saml")
        ),
        "{e:#}"
    );
    refused(
        &start_refused(&app, &start(&app, &ident, &format!("&link_token={token}"))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Row 1 from now on.
    let page = saml(&app, &idp, &start(&app, &ident, ""), &sam).await;
    saml_signed_in(&app, &page);
    assert_eq!(types(&log.added(&app).await), ["sso.signed_in"]);
    assert_eq!(app.member(&org, &owner, &sam).await, sam_member);
}

/// An IdP account asserting another person's email (verified or not), with
/// neither that person's link token nor session, links nothing: the table
/// refuses, and the person's own linking still works afterwards.
async fn no_idp_takes_over_an_account_by_asserting_its_email(backend: Backend) {
    let app = spawn_app(backend).await;
    // Organization N's IdP does not vouch for emails; organization V's does.
    let quiet = OidcProvider::start_omitting_email_verified(&[client(&app, "admit")]);
    let vouching = OidcProvider::start(&[client(&app, "admit")]);
    let (n, n_owner) = app.org_with_owner(json!({})).await;
    let (v, v_owner) = app.org_with_owner(json!({})).await;
    // Vic: a confirmed user of N (which requires SSO), accepted but not yet
    // confirmed in V. Val: an account with no membership in V.
    let vic = app.email("vic");
    confirmed_member(&app, &n, &n_owner, &vic, "user", true).await;
    app.invite(&v, &v_owner, &[&vic], "user").await;
    assert_eq!(app.accept_latest(&vic, &vic, false).await.0, StatusCode::OK);
    let val = app.email("val");
    app.create_org("Val's", &val, json!({})).await;
    assert_eq!(app.accept_latest(&val, &val, true).await.0, StatusCode::OK);
    let n_ident = use_oidc(
        &app,
        &n,
        &n_owner,
        &quiet.issuer,
        "admit",
        "master_password",
    )
    .await;
    let v_ident = use_oidc(
        &app,
        &v,
        &v_owner,
        &vouching.issuer,
        "admit",
        "master_password",
    )
    .await;
    require_sso(&app, &n, &n_owner).await;
    let vic_member = app.member(&n, &n_owner, &vic).await;
    let (n_before, v_before) = (
        state_but_log(&app, &n, &n_owner).await,
        state_but_log(&app, &v, &v_owner).await,
    );
    let (mut n_log, mut v_log) = (
        Watch::new(&app, &n, &n_owner).await,
        Watch::new(&app, &v, &v_owner).await,
    );

    // Another IdP account (its own `sub`: the login typed in capitals)
    // asserting Vic's email: unvouched at N (row 13), vouched at V where she
    // is not confirmed (row 7); Val's email at V, where he is no member (row 8).
    let intruder = vic.to_uppercase();
    for _ in 0..2 {
        refused(
            &oidc_plain(&app, &n_ident, &intruder).await,
            StatusCode::FORBIDDEN,
            "email_unverified",
        );
    }
    refused(
        &oidc_plain(&app, &v_ident, &intruder).await,
        StatusCode::FORBIDDEN,
        "confirmation_required",
    );
    refused(
        &oidc_plain(&app, &v_ident, &val.to_uppercase()).await,
        StatusCode::FORBIDDEN,
        "membership_required",
    );
    only(&mut n_log, &app, "sso.refused", "refused at N").await;
    only(&mut v_log, &app, "sso.refused", "refused at V").await;
    assert_eq!(state_but_log(&app, &n, &n_owner).await, n_before);
    assert_eq!(state_but_log(&app, &v, &v_owner).await, v_before);
    // Nobody was signed in as Vic or Val: their passwords still work as before.
    let vic_token = link_token(&app, &vic, &vic).await;
    let val_session = app.login(&val, &val).await;
    // A link token links at its own organization only; a session links only
    // an accepted or confirmed member.
    refused(
        &start_refused(
            &app,
            &start(&app, &v_ident, &format!("&link_token={vic_token}")),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let mut req = app.http.get(start(&app, &v_ident, "&link=1"));
    req = req
        .header(ACCEPT, "application/json")
        .bearer_auth(&val_session);
    refused(
        &json_of(req.send().await.unwrap()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    n_log.none(&app, "refused link starts").await;
    v_log.none(&app, "refused link starts").await;

    // Vic links her own identity; the intruder's is still not linked (a
    // sign-in with it is refused, not signed in as Vic), and hers is the only
    // link on the record.
    let token = link_token(&app, &vic, &vic).await;
    n_log.added(&app).await;
    let session = signed_in(
        &oidc(
            &app,
            &Browser::new(),
            &start(&app, &n_ident, &format!("&link_token={token}")),
            None,
            &vic,
        )
        .await,
    );
    assert_eq!(me(&app, &session).await["user_id"], vic_member["user_id"]);
    let e = n_log.one(&app, "sso.linked", "Vic's own link").await;
    assert_eq!(e["member_id"], vic_member["member_id"]);
    refused(
        &oidc_plain(&app, &n_ident, &intruder).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    signed_in(&oidc_plain(&app, &n_ident, &vic).await);
    let linked: Vec<Value> = all_events(&app, &n, &n_owner, &[("type", "sso.linked")]).await;
    assert_eq!(linked.len(), 1, "{linked:#?}");
}

/// Mia, an admin of an organization with SSO: provisioned through SSO from
/// her invitation (row 9), she set a master password and was confirmed.
/// She holds a session from the organization's SSO (scoped to it) and one
/// from her master password (not scoped); both act there.
struct SignedInMember {
    org: String,
    owner: String,
    ident: String,
    mia: String,
    mia_id: String,
    scoped: String,
    full: String,
    _idp: OidcProvider,
}

async fn signed_in_member(app: &TestApp) -> SignedInMember {
    let idp = OidcProvider::start(&[client(app, "admit")]);
    let (org, owner) = app.org_with_owner(json!({})).await;
    let ident = use_oidc(app, &org, &owner, &idp.issuer, "admit", "master_password").await;
    let mia = app.email("mia");
    app.invite(&org, &owner, &[&mia], "admin").await;
    let invitation = app.last_mail_to(&mia).await.accept_token();
    let token = setup(
        &oidc(
            app,
            &Browser::new(),
            &start(app, &ident, &format!("&invitation={invitation}")),
            None,
            &mia,
        )
        .await,
    );
    let (s, body) = app
        .post(
            "/setup/master-password",
            None,
            json!({"setup_token": token,
            "master_password_hash": mp_hash(&mia), "kdf": kdf(), "keys": keys_json()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.confirm_member(&org, &owner, &mia).await;
    let mia_id = app.member_id(&org, &owner, &mia).await;
    let scoped = signed_in(&oidc_plain(app, &ident, &mia).await);
    let full = app.login(&mia, &mia).await;
    for s in [&scoped, &full] {
        assert_eq!(
            app.get(&format!("/orgs/{org}"), Some(s)).await.0,
            StatusCode::OK
        );
    }
    SignedInMember {
        org,
        owner,
        ident,
        mia,
        mia_id,
        scoped,
        full,
        _idp: idp,
    }
}

/// The organization is closed to `session` (404 on its administration
/// routes), which still works for the account.
async fn closed_to(app: &TestApp, org: &str, session: &str) {
    for path in [format!("/orgs/{org}"), format!("/orgs/{org}/members")] {
        refused(
            &app.get(&path, Some(session)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    let invite = json!({"emails": [app.email("x")], "role": "user"});
    refused(
        &app.post(&format!("/orgs/{org}/invitations"), Some(session), invite)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    me(app, session).await;
}

#[track_caller]
fn dead(r: &(StatusCode, Value), what: &str) {
    assert_eq!(
        (r.0, r.1["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "{what}: {}",
        r.1
    );
}

/// Revoking ends the member's SSO sessions of that organization at once
/// (401 everywhere) and closes the organization to its other sessions (404);
/// a restore revives none of the SSO sessions begun before the revocation
/// (used meanwhile or not), while a sign-in after it works.
async fn revoking_ends_sessions_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = signed_in_member(&app).await;
    let org_path = format!("/orgs/{}", m.org);
    let unused = signed_in(&oidc_plain(&app, &m.ident, &m.mia).await);

    let (s, body) = act(&app, &m.org, &m.owner, &m.mia_id, "revoke").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    dead(
        &app.get("/me", Some(&m.scoped)).await,
        "her SSO session, once revoked",
    );
    closed_to(&app, &m.org, &m.full).await;
    refused(
        &oidc_plain(&app, &m.ident, &m.mia).await,
        StatusCode::FORBIDDEN,
        "revoked",
    );

    let (s, body) = act(&app, &m.org, &m.owner, &m.mia_id, "restore").await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    dead(
        &app.get("/me", Some(&m.scoped)).await,
        "her SSO session, restored",
    );
    dead(
        &app.get(&org_path, Some(&unused)).await,
        "an SSO session unused while she was revoked",
    );
    assert_eq!(app.get(&org_path, Some(&m.full)).await.0, StatusCode::OK);
    let after = signed_in(&oidc_plain(&app, &m.ident, &m.mia).await);
    assert_eq!(
        app.get(&org_path, Some(&after)).await.0,
        StatusCode::OK,
        "a session begun after the restore acts"
    );
}

/// Removing ends all the member's SSO sessions of that organization and
/// closes it to the others; a member invited again, accepted and confirmed
/// gets none of the old SSO sessions back, only new ones.
async fn removing_ends_sessions_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = signed_in_member(&app).await;
    let org_path = format!("/orgs/{}", m.org);
    let unused = signed_in(&oidc_plain(&app, &m.ident, &m.mia).await);

    let (s, body) = act(&app, &m.org, &m.owner, &m.mia_id, "remove").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    dead(
        &app.get("/me", Some(&m.scoped)).await,
        "her SSO session, once removed",
    );
    closed_to(&app, &m.org, &m.full).await;
    assert_eq!(me(&app, &m.full).await["memberships"], json!([]));
    // Her identity stays linked, to no membership (row 4).
    refused(
        &oidc_plain(&app, &m.ident, &m.mia).await,
        StatusCode::FORBIDDEN,
        "membership_required",
    );

    // Invited again, accepted with her password and confirmed: a member anew.
    app.invite(&m.org, &m.owner, &[&m.mia], "admin").await;
    assert_eq!(
        app.accept_latest(&m.mia, &m.mia, false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&m.org, &m.owner, &m.mia).await;
    assert_eq!(app.get(&org_path, Some(&m.full)).await.0, StatusCode::OK);
    dead(
        &app.get("/me", Some(&m.scoped)).await,
        "an SSO session from before the removal",
    );
    dead(
        &app.get(&org_path, Some(&unused)).await,
        "an SSO session from before the removal, unused until she is a member again",
    );
    let anew = signed_in(&oidc_plain(&app, &m.ident, &m.mia).await);
    assert_eq!(app.get(&org_path, Some(&anew)).await.0, StatusCode::OK);
}

/// Admins move users and admins; only owners make or unmake owners; the last
/// confirmed owner cannot be demoted, revoked or removed. Each change is one
/// `member.role_changed` with the old role and the new; each refusal writes
/// nothing.
async fn owners_rule_owners_and_the_last_confirmed_owner_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    let olga = app.email("olga");
    let org = app.create_org("Acme", &olga, json!({})).await;
    assert_eq!(
        app.accept_latest(&olga, &olga, true).await.0,
        StatusCode::OK
    );
    let olga_s = app.login(&olga, &olga).await;
    let (ann, ola, ugo) = (app.email("ann"), app.email("ola"), app.email("ugo"));
    confirmed_member(&app, &org, &olga_s, &ann, "admin", true).await;
    confirmed_member(&app, &org, &olga_s, &ola, "admin", true).await;
    confirmed_member(&app, &org, &olga_s, &ugo, "user", true).await;
    let (ann_s, ola_s, ugo_s) = (
        app.login(&ann, &ann).await,
        app.login(&ola, &ola).await,
        app.login(&ugo, &ugo).await,
    );
    let id = |email: &str| {
        let (app, org, s) = (&app, &org, &olga_s);
        let email = email.to_owned();
        async move { app.member_id(org, s, &email).await }
    };
    let (olga_id, ann_id, ola_id, ugo_id) = (
        id(&olga).await,
        id(&ann).await,
        id(&ola).await,
        id(&ugo).await,
    );
    let olga_user = app.member(&org, &olga_s, &olga).await["user_id"].clone();
    let ann_user = app.member(&org, &olga_s, &ann).await["user_id"].clone();
    let mut log = Watch::new(&app, &org, &olga_s).await;
    let changed = async |log: &mut Watch, member: &str, actor: &Value, old: &str, new: &str| {
        let e = log.one(&app, "member.role_changed", "a role change").await;
        assert_eq!(
            (
                e["member_id"].as_str(),
                &e["actor"]["user_id"],
                &e["details"]["old_role"],
                &e["details"]["role"]
            ),
            (Some(member), actor, &json!(old), &json!(new)),
            "{e:#}"
        );
    };

    // An admin moves users and admins: the member as now.
    let (s, view) = patch_role(&app, &org, &ann_s, &ugo_id, "admin").await;
    assert_eq!(
        (
            s,
            view["member_id"].as_str(),
            view["role"].as_str(),
            view["status"].as_str()
        ),
        (
            StatusCode::OK,
            Some(ugo_id.as_str()),
            Some("admin"),
            Some("confirmed")
        ),
        "{view}"
    );
    changed(&mut log, &ugo_id, &ann_user, "user", "admin").await;
    let (s, view) = patch_role(&app, &org, &ann_s, &ugo_id, "user").await;
    assert_eq!(
        (s, view["role"].as_str()),
        (StatusCode::OK, Some("user")),
        "{view}"
    );
    changed(&mut log, &ugo_id, &ann_user, "admin", "user").await;

    // Refused, writing nothing: an admin making or unmaking an owner, a user
    // changing anyone, an unknown role or member; the same role again is 200
    // and writes nothing either.
    let before = state(&app, &org, &olga_s).await;
    for (session, member, role, status) in [
        (&ann_s, &ugo_id, "owner", StatusCode::FORBIDDEN),
        (&ann_s, &olga_id, "admin", StatusCode::FORBIDDEN),
        (&ann_s, &olga_id, "user", StatusCode::FORBIDDEN),
        (&ugo_s, &ann_id, "user", StatusCode::FORBIDDEN),
        (&olga_s, &ugo_id, "superuser", StatusCode::BAD_REQUEST),
        (
            &olga_s,
            &"mem_nope".to_owned(),
            "admin",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, body) = patch_role(&app, &org, session, member, role).await;
        assert_eq!(s, status, "{role} for {member}: {body}");
    }
    let (s, view) = patch_role(&app, &org, &olga_s, &ugo_id, "user").await;
    assert_eq!(
        (s, view["role"].as_str()),
        (StatusCode::OK, Some("user")),
        "{view}"
    );
    // Olga is the last confirmed owner: not demoted, revoked nor removed.
    for role in ["admin", "user"] {
        refused(
            &patch_role(&app, &org, &olga_s, &olga_id, role).await,
            StatusCode::CONFLICT,
            "conflict",
        );
    }
    for action in ["revoke", "remove"] {
        assert_eq!(
            act(&app, &org, &olga_s, &olga_id, action).await.0,
            StatusCode::CONFLICT,
            "{action}"
        );
    }
    assert_eq!(
        state(&app, &org, &olga_s).await,
        before,
        "refusals write nothing"
    );

    // An owner who is not confirmed does not count.
    let ned = app.email("ned");
    app.invite(&org, &olga_s, &[&ned], "admin").await;
    assert_eq!(app.accept_latest(&ned, &ned, true).await.0, StatusCode::OK);
    let ned_id = id(&ned).await;
    log.added(&app).await;
    let (s, view) = patch_role(&app, &org, &olga_s, &ned_id, "owner").await;
    assert_eq!(
        (s, view["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{view}"
    );
    changed(&mut log, &ned_id, &olga_user, "admin", "owner").await;
    refused(
        &patch_role(&app, &org, &olga_s, &olga_id, "admin").await,
        StatusCode::CONFLICT,
        "conflict",
    );
    log.none(&app, "a refused demotion").await;

    // Owners make and unmake owners: Ola becomes one, then demotes Olga,
    // after which Ola is the last confirmed owner.
    let (s, view) = patch_role(&app, &org, &olga_s, &ola_id, "owner").await;
    assert_eq!(
        (s, view["role"].as_str()),
        (StatusCode::OK, Some("owner")),
        "{view}"
    );
    let ola_user = app.member(&org, &olga_s, &ola).await["user_id"].clone();
    changed(&mut log, &ola_id, &olga_user, "admin", "owner").await;
    let (s, view) = patch_role(&app, &org, &ola_s, &olga_id, "admin").await;
    assert_eq!(
        (s, view["role"].as_str()),
        (StatusCode::OK, Some("admin")),
        "{view}"
    );
    changed(&mut log, &olga_id, &ola_user, "owner", "admin").await;
    let before = state(&app, &org, &ola_s).await;
    refused(
        &patch_role(&app, &org, &ola_s, &ola_id, "user").await,
        StatusCode::CONFLICT,
        "conflict",
    );
    // Olga, an admin now, may neither revoke nor remove the owner, nor make
    // herself owner again.
    for action in ["revoke", "remove"] {
        assert_eq!(
            act(&app, &org, &olga_s, &ola_id, action).await.0,
            StatusCode::FORBIDDEN,
            "{action}"
        );
    }
    refused(
        &patch_role(&app, &org, &olga_s, &olga_id, "owner").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        state(&app, &org, &ola_s).await,
        before,
        "refusals write nothing"
    );

    // With two confirmed owners, one may revoke or remove the other; the one
    // left is then the last.
    let (s, _) = patch_role(&app, &org, &ola_s, &olga_id, "owner").await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = act(&app, &org, &ola_s, &olga_id, "revoke").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    refused(
        &patch_role(&app, &org, &ola_s, &ola_id, "admin").await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let (s, body) = act(&app, &org, &ola_s, &olga_id, "restore").await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    let (s, body) = act(&app, &org, &olga_s, &ola_id, "remove").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    refused(
        &patch_role(&app, &org, &olga_s, &olga_id, "admin").await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let owners: Vec<Value> = app
        .members(&org, &olga_s)
        .await
        .into_iter()
        .filter(|m| m["role"] == "owner")
        .map(|m| json!([m["email"], m["status"]]))
        .collect();
    assert_eq!(owners.len(), 2, "{owners:?}");
    assert!(owners.contains(&json!([olga, "confirmed"])), "{owners:?}");
    assert!(owners.contains(&json!([ned, "accepted"])), "{owners:?}");
}

/// Two owners each demote (or revoke) the other at the same moment, round
/// after round: exactly one request goes through and exactly one confirmed
/// owner remains.
async fn two_owners_demoting_or_revoking_each_other_leave_one(backend: Backend) {
    const ROUNDS: usize = 8;
    let app = spawn_app(backend).await;
    let olga = app.email("olga");
    let org = app.create_org("Acme", &olga, json!({})).await;
    assert_eq!(
        app.accept_latest(&olga, &olga, true).await.0,
        StatusCode::OK
    );
    let olga_s = app.login(&olga, &olga).await;
    let ola = app.email("ola");
    confirmed_member(&app, &org, &olga_s, &ola, "admin", true).await;
    let ola_s = app.login(&ola, &ola).await;
    // Ivy, an admin, watches: the loser of a revoking race reads nothing.
    let ivy = app.email("ivy");
    confirmed_member(&app, &org, &olga_s, &ivy, "admin", true).await;
    let ivy_s = app.login(&ivy, &ivy).await;
    let people = [
        (
            olga.clone(),
            olga_s.clone(),
            app.member_id(&org, &olga_s, &olga).await,
        ),
        (
            ola.clone(),
            ola_s.clone(),
            app.member_id(&org, &olga_s, &ola).await,
        ),
    ];
    let mut owner = 0;
    for round in 0..ROUNDS {
        let other = 1 - owner;
        let (_, s_owner, _) = &people[owner];
        // Both confirmed owners again.
        let m = app.member(&org, s_owner, &people[other].0).await;
        if m["status"] == "revoked" {
            let (s, body) = act(&app, &org, s_owner, &people[other].2, "restore").await;
            assert_eq!(s, StatusCode::OK, "{body}");
        }
        if m["role"] != "owner" {
            let (s, body) = patch_role(&app, &org, s_owner, &people[other].2, "owner").await;
            assert_eq!(s, StatusCode::OK, "{body}");
        }
        let mut log = Watch::new(&app, &org, &ivy_s).await;
        let revoke = round % 2 == 1;
        let race = |me: usize| {
            let (app, org, people) = (&app, &org, &people);
            async move {
                let (_, session, _) = &people[me];
                let target = &people[1 - me].2;
                if revoke {
                    act(app, org, session, target, "revoke").await
                } else {
                    patch_role(app, org, session, target, "admin").await
                }
            }
        };
        let (a, b) = tokio::join!(race(0), race(1));
        let ok: Vec<usize> = [&a, &b]
            .iter()
            .enumerate()
            .filter(|(_, r)| r.0 == StatusCode::OK)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            ok.len(),
            1,
            "round {round}: exactly one goes through: {a:?} {b:?}"
        );
        owner = ok[0];
        let loser = if owner == 0 { &b } else { &a };
        // Decided by the owners as counted (409), or by the caller no longer
        // being an owner once the other's write is in (403; 404 once revoked).
        assert!(
            [
                StatusCode::CONFLICT,
                StatusCode::FORBIDDEN,
                StatusCode::NOT_FOUND
            ]
            .contains(&loser.0),
            "round {round}: the other is refused: {loser:?}"
        );
        let members = app.members(&org, &ivy_s).await;
        let owners: Vec<&Value> = members
            .iter()
            .filter(|m| m["role"] == "owner" && m["status"] == "confirmed")
            .collect();
        assert_eq!(
            owners.len(),
            1,
            "round {round}: one owner left: {members:#?}"
        );
        assert_eq!(owners[0]["email"], people[owner].0.as_str());
        let kind = if revoke {
            "member.revoked"
        } else {
            "member.role_changed"
        };
        let e = log.one(&app, kind, "the race's one change").await;
        assert_eq!(e["member_id"], people[1 - owner].2.as_str(), "{e:#}");
    }
}

/// Seats: owners only, never below the seats occupied, on the record;
/// settings: the invitation lifetime and reminder days, checked, on the
/// record, and in force for the next invitation.
async fn seats_and_settings_are_checked_and_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, owner) = app.org_with_owner(json!({"limit": 5})).await;
    let adam = app.email("adam");
    confirmed_member(&app, &org, &owner, &adam, "admin", true).await;
    let adam_s = app.login(&adam, &adam).await;
    let (u1, u2) = (app.email("u1"), app.email("u2"));
    app.invite(&org, &owner, &[&u1, &u2], "user").await;
    let user = app.email("ursula");
    confirmed_member(&app, &org, &owner, &user, "user", true).await;
    let user_s = app.login(&user, &user).await;
    let owner_user = app.owner_field(&org, &owner, "user_id").await;
    let org_path = format!("/orgs/{org}");
    let seats = |session: &str, body: Value| {
        let (app, path, session) = (&app, format!("/orgs/{org}/seats"), session.to_owned());
        async move { app.call("PUT", &path, Some(&session), Some(body)).await }
    };
    let settings = |session: &str, body: Value| {
        let (app, path, session) = (&app, format!("/orgs/{org}/settings"), session.to_owned());
        async move { app.call("PUT", &path, Some(&session), Some(body)).await }
    };
    let (_, view) = app.get(&org_path, Some(&owner)).await;
    assert_eq!(view["seats"]["occupied"], 5, "{view}");
    let mut log = Watch::new(&app, &org, &owner).await;

    // Refused, writing nothing: below the seats occupied (409), an admin or a
    // user (403), autoscaling without a limit or below it (400).
    let before = state(&app, &org, &owner).await;
    refused(
        &seats(&owner, json!({"limit": 4, "autoscale_max": null})).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    refused(
        &seats(&owner, json!({"limit": 2, "autoscale_max": 4})).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    for session in [&adam_s, &user_s] {
        refused(
            &seats(session, json!({"limit": 10, "autoscale_max": null})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    for bad in [
        json!({"limit": null, "autoscale_max": 8}),
        json!({"limit": 6, "autoscale_max": 5}),
        json!({"limit": -1, "autoscale_max": null}),
        json!({"limit": 6, "autoscale_max": null, "extra": 1}),
    ] {
        refused(
            &seats(&owner, bad.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    assert_eq!(
        state(&app, &org, &owner).await,
        before,
        "refusals write nothing"
    );

    // Exactly the seats occupied is fine; the organization shows them.
    let (s, view) = seats(&owner, json!({"limit": 5, "autoscale_max": 7})).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(
        (
            &view["seats"]["limit"],
            &view["seats"]["autoscale_max"],
            &view["seats"]["occupied"]
        ),
        (&json!(5), &json!(7), &json!(5)),
        "{view}"
    );
    assert_eq!(
        app.get(&org_path, Some(&owner)).await.1["seats"],
        view["seats"]
    );
    let e = log.one(&app, "org.seats_changed", "seats").await;
    assert_eq!(e["actor"]["user_id"], owner_user.as_str(), "{e:#}");
    assert!(
        !e["details"]["changed"].as_array().unwrap().is_empty(),
        "{e:#}"
    );
    // Unlimited again.
    let (s, view) = seats(&owner, json!({"limit": null, "autoscale_max": null})).await;
    assert_eq!(
        (s, &view["seats"]["limit"], &view["seats"]["occupied"]),
        (StatusCode::OK, &Value::Null, &json!(5)),
        "{view}"
    );
    log.one(&app, "org.seats_changed", "unlimited").await;

    // Settings: out of range, a reminder at or after the expiry (also the
    // current reminders [2, 4] against a shorter lifetime), too many
    // reminders, a user's session — 400/403, nothing written.
    let (_, view) = app.get(&org_path, Some(&owner)).await;
    assert_eq!(
        (&view["invitation_lifetime_days"], &view["reminder_days"]),
        (&json!(5), &json!([2, 4])),
        "the defaults"
    );
    let before = state(&app, &org, &owner).await;
    for bad in [
        json!({"invitation_days": 0}),
        json!({"invitation_days": 31}),
        json!({"reminder_days": [5]}),
        json!({"reminder_days": [0]}),
        json!({"invitation_days": 4}),
        json!({"invitation_days": 3, "reminder_days": [1, 3]}),
        json!({"invitation_days": 30, "reminder_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}),
        json!({"reminder_days": [-1]}),
        json!({"invitation_days": 10, "extra": true}),
    ] {
        refused(
            &settings(&owner, bad.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    refused(
        &settings(&user_s, json!({"invitation_days": 10})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        state(&app, &org, &owner).await,
        before,
        "refusals write nothing"
    );

    // An admin sets them: days merged and sorted; the next invitation lives
    // three days, those sent before keep their expiry.
    let adam_user = app.member(&org, &owner, &adam).await["user_id"].clone();
    let (s, view) = settings(
        &adam_s,
        json!({"invitation_days": 3, "reminder_days": [2, 1, 2]}),
    )
    .await;
    assert_eq!(
        (s, &view["invitation_lifetime_days"], &view["reminder_days"]),
        (StatusCode::OK, &json!(3), &json!([1, 2])),
        "{view}"
    );
    let e = log.one(&app, "org.settings_changed", "settings").await;
    assert_eq!(e["actor"]["user_id"], adam_user, "{e:#}");
    let named = e["details"]["changed"].to_string();
    assert!(
        named.contains("invitation") && named.contains("reminder"),
        "{e:#}"
    );
    let now = app.clock.now();
    let u3 = app.email("u3");
    assert_eq!(
        app.invite(&org, &owner, &[&u3], "user").await.0,
        StatusCode::CREATED
    );
    let expiry = |m: Value| m["invitation_expires_at"].as_str().unwrap().to_owned();
    assert_eq!(
        expiry(app.member(&org, &owner, &u3).await),
        (now + time::Duration::days(3)).rfc3339()
    );
    assert_eq!(
        expiry(app.member(&org, &owner, &u1).await),
        (now + time::Duration::days(5)).rfc3339()
    );
    let token = app.last_mail_to(&u3).await.accept_token();
    let (_, lookup) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(
        lookup["expires_at"],
        (now + time::Duration::days(3)).rfc3339().as_str()
    );
    // What is not given stays.
    let (s, view) = settings(&owner, json!({"reminder_days": [2]})).await;
    assert_eq!(
        (s, &view["invitation_lifetime_days"], &view["reminder_days"]),
        (StatusCode::OK, &json!(3), &json!([2])),
        "{view}"
    );

    // The seat plan takes both fields (`null` for none, openapi.yaml's
    // `required: [limit, autoscale_max]`): one left out is not taken for
    // "unlimited".
    let (_, view) = seats(&owner, json!({"limit": 8, "autoscale_max": null})).await;
    assert_eq!(view["seats"]["limit"], 8, "{view}");
    log.added(&app).await;
    let before = state(&app, &org, &owner).await;
    for bad in [json!({}), json!({"limit": 9}), json!({"autoscale_max": 9})] {
        refused(
            &seats(&owner, bad.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    assert_eq!(
        state(&app, &org, &owner).await,
        before,
        "refusals write nothing"
    );
}

/// `DELETE /me` with a master password: wrong → 401, nothing written; the
/// last confirmed owner of an organization → 409; right → 204, every
/// membership removed (seats freed, `member.removed` via `account_deleted`),
/// every session over.
async fn deleting_an_account_removes_its_memberships_and_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (acme, acme_owner) = app.org_with_owner(json!({"limit": 5})).await;
    let (beta, beta_owner) = app.org_with_owner(json!({})).await;
    // Dora: a confirmed user of Acme, an accepted admin of Beta, and the one
    // owner of her own organization.
    let dora = app.email("dora");
    confirmed_member(&app, &acme, &acme_owner, &dora, "user", true).await;
    app.invite(&beta, &beta_owner, &[&dora], "admin").await;
    assert_eq!(
        app.accept_latest(&dora, &dora, false).await.0,
        StatusCode::OK
    );
    let dorg = app.create_org("Dora's", &dora, json!({})).await;
    assert_eq!(
        app.accept_latest(&dora, &dora, false).await.0,
        StatusCode::OK
    );
    let (s1, s2) = (app.login(&dora, &dora).await, app.login(&dora, &dora).await);
    let dora_user = me(&app, &s1).await["user_id"].clone();
    assert_eq!(
        me(&app, &s1).await["memberships"].as_array().unwrap().len(),
        3
    );
    let orgs = [(&acme, &acme_owner), (&beta, &beta_owner), (&dorg, &s1)];
    let mut logs = Vec::new();
    let mut before = Vec::new();
    for (org, session) in orgs {
        logs.push(Watch::new(&app, org, session).await);
        before.push(state_but_log(&app, org, session).await);
    }

    // A wrong password: 401, nothing written (the failure is on record);
    // none at all for an account that has one: 400; the last owner of Dora's: 409.
    refused(
        &delete_me(&app, &s1, json!({"master_password_hash": mp_hash("wrong")})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    for (log, (org, _)) in logs.iter_mut().zip(orgs) {
        let added = log.added(&app).await;
        assert!(
            added.iter().all(|e| e["type"] == "auth.login_failed"),
            "{org}: {added:#?}"
        );
    }
    refused(
        &delete_me(&app, &s1, json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    refused(
        &delete_me(&app, &s1, json!({"master_password_hash": mp_hash(&dora)})).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    for ((log, (org, session)), before) in logs.iter_mut().zip(orgs).zip(&before) {
        log.none(&app, "refused deletions").await;
        assert_eq!(&state_but_log(&app, org, session).await, before, "{org}");
    }
    assert_eq!(me(&app, &s2).await["user_id"], dora_user);

    // She makes Dan owner of her organization; now she may go.
    let dan = app.email("dan");
    confirmed_member(&app, &dorg, &s1, &dan, "admin", true).await;
    let dan_id = app.member_id(&dorg, &s1, &dan).await;
    let (s, _) = patch_role(&app, &dorg, &s1, &dan_id, "owner").await;
    assert_eq!(s, StatusCode::OK);
    let dan_s = app.login(&dan, &dan).await;
    let orgs = [(&acme, &acme_owner), (&beta, &beta_owner), (&dorg, &dan_s)];
    let mut logs = Vec::new();
    let mut seats = Vec::new();
    for (org, session) in orgs {
        logs.push(Watch::new(&app, org, session).await);
        seats.push(
            app.get(&format!("/orgs/{org}"), Some(session)).await.1["seats"]["occupied"]
                .as_u64()
                .unwrap(),
        );
    }
    let member_ids: Vec<String> = {
        let mut ids = Vec::new();
        for (org, session) in orgs {
            ids.push(app.member_id(org, session, &dora).await);
        }
        ids
    };
    let (s, body) = delete_me(&app, &s1, json!({"master_password_hash": mp_hash(&dora)})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    for (i, (org, session)) in orgs.into_iter().enumerate() {
        let members = app.members(org, session).await;
        assert!(
            members.iter().all(|m| m["email"] != dora.as_str()),
            "{org}: {members:#?}"
        );
        assert_eq!(
            app.get(&format!("/orgs/{org}"), Some(session)).await.1["seats"]["occupied"],
            seats[i] - 1,
            "{org}: her seat is freed"
        );
        let e = logs[i].one(&app, "member.removed", "the deletion").await;
        assert_eq!(
            (
                e["member_id"].as_str(),
                &e["actor"]["user_id"],
                &e["details"]["via"]
            ),
            (
                Some(member_ids[i].as_str()),
                &dora_user,
                &json!("account_deleted")
            ),
            "{e:#}"
        );
    }
    for s in [&s1, &s2] {
        refused(
            &app.get("/me", Some(s)).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        refused(
            &delete_me(&app, s, json!({"master_password_hash": mp_hash(&dora)})).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
    assert_eq!(
        login_attempt(&app, &dora, &dora).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Dan owns Dora's organization alone now.
    assert_eq!(
        patch_role(&app, &dorg, &dan_s, &dan_id, "admin").await.0,
        StatusCode::CONFLICT
    );
}

/// The path of a pre-existing account that must lose its master password:
/// it deletes itself, then its organization's SSO provisions it afresh (a
/// new account, no master password, the trusted-device setup). Without a
/// master password, only a session younger than five minutes deletes.
async fn a_pre_existing_account_deletes_itself_and_is_provisioned_afresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = OidcProvider::start(&[client(&app, "admit")]);
    let (org, owner) = app.org_with_owner(json!({"limit": 3})).await;
    let pia = app.email("pia");
    confirmed_member(&app, &org, &owner, &pia, "user", true).await;
    let ident = use_oidc(&app, &org, &owner, &idp.issuer, "admit", "trusted_devices").await;
    // Her first SSO sign-in links her identity (row 5).
    let sso = signed_in(&oidc_plain(&app, &ident, &pia).await);
    let old_user = me(&app, &sso).await["user_id"].clone();
    let old_member = app.member_id(&org, &owner, &pia).await;
    let mut log = Watch::new(&app, &org, &owner).await;

    let full = app.login(&pia, &pia).await;
    let (s, body) = delete_me(&app, &full, json!({"master_password_hash": mp_hash(&pia)})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let e = log.one(&app, "member.removed", "the deletion").await;
    assert_eq!(
        (e["member_id"].as_str(), &e["details"]["via"]),
        (Some(old_member.as_str()), &json!("account_deleted")),
        "{e:#}"
    );
    refused(
        &app.get("/me", Some(&sso)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // Her identity's link went with the account: the next sign-in provisions
    // her just in time (row 10), with the trusted-device setup.
    let token = setup(&oidc_plain(&app, &ident, &pia).await);
    let (_, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(
        (&view["email"], &view["member_decryption"]),
        (&json!(pia), &json!("trusted_devices")),
        "{view}"
    );
    let (s, done) = app
        .post(
            "/setup/trusted-device",
            None,
            trusted_device(&token, "pia-laptop"),
        )
        .await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    let fresh = done["session_token"].as_str().unwrap().to_owned();
    let new_user = me(&app, &fresh).await["user_id"].clone();
    assert_ne!(new_user, old_user, "a new account");
    assert_eq!(app.member(&org, &owner, &pia).await["user_id"], new_user);
    assert_eq!(
        types(&log.added(&app).await),
        ["member.accepted", "sso.jit_created"]
    );
    // Her old master password is gone with the old account (a wrong
    // password for an existing account: on the record).
    assert_eq!(
        login_attempt(&app, &pia, &pia).await.0,
        StatusCode::UNAUTHORIZED,
        "no master password any more"
    );
    only(
        &mut log,
        &app,
        "auth.login_failed",
        "a password she no longer has",
    )
    .await;

    // Without a master password: a session older than five minutes is 403,
    // nothing written; a fresh sign-in deletes.
    app.clock.advance(time::Duration::minutes(6));
    let before = state(&app, &org, &owner).await;
    refused(
        &delete_me(&app, &fresh, json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(state(&app, &org, &owner).await, before, "nothing written");
    assert_eq!(me(&app, &fresh).await["user_id"], new_user);
    let again = signed_in(&oidc_plain(&app, &ident, &pia).await);
    log.added(&app).await;
    let (s, body) = delete_me(&app, &again, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let e = log.one(&app, "member.removed", "the second deletion").await;
    assert_eq!(
        (&e["actor"]["user_id"], &e["details"]["via"]),
        (&new_user, &json!("account_deleted")),
        "{e:#}"
    );
    assert!(
        app.members(&org, &owner)
            .await
            .iter()
            .all(|m| m["email"] != pia.as_str())
    );
    assert_eq!(
        app.get(&format!("/orgs/{org}"), Some(&owner)).await.1["seats"]["occupied"],
        1
    );
    for s in [&fresh, &again] {
        refused(
            &app.get("/me", Some(s)).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
}
