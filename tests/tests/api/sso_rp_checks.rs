//! Admit as an OpenID Connect relying party against a hostile provider
//! (`tests/idp/evil.mjs`): every ID token or UserInfo answer that must not
//! be trusted is refused at the callback (400 `invalid_request`) and writes
//! nothing; a key rotation is followed; a callback is good once.
//!
//! Each refusal is checked against the provider's own record of what it
//! served, so that a test cannot pass because the harness broke: the code
//! was exchanged (PKCE and client authentication passed) and the hostile ID
//! token was really issued.

use crate::helpers::*;
use crate::on_both_backends;
use admit_tests::evil::{EvilProvider, HOSTILE_SCENARIOS};
use admit_tests::oidc::{Browser, Page};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "admit";
const CLIENT_SECRET: &str = "evil-secret";

on_both_backends!(
    ok_sign_in_provisions_the_account,
    rotated_signing_key_is_fetched_once_and_accepted,
    callback_replay_is_refused_and_writes_nothing,
);

/// One test per hostile scenario (named after it), on both backends.
macro_rules! hostile_scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod refuses {
            use super::*;

            $(
                async fn $scenario(backend: Backend) {
                    refused_and_nothing_written(backend, stringify!($scenario)).await
                }
            )*

            on_both_backends!($($scenario),*);

            #[test]
            fn every_hostile_scenario_has_a_test() {
                let mut tested = vec![$(stringify!($scenario)),*];
                let mut known = HOSTILE_SCENARIOS.to_vec();
                tested.sort_unstable();
                known.sort_unstable();
                assert_eq!(tested, known);
            }
        }
    };
}

hostile_scenarios!(
    wrong_iss,
    aud_missing,
    aud_other,
    bad_signature,
    alg_none,
    hs256_client_secret,
    missing_sub,
    missing_iat,
    expired,
    nonce_missing,
    nonce_other,
    userinfo_sub_other,
    token_redirect,
);

struct EvilOrg {
    org: String,
    session: String,
    ident: String,
    idp: EvilProvider,
}

/// An organization with an owner, single sign-on through the hostile
/// provider (scenario `ok`), decryption by master password.
async fn evil_org(app: &TestApp) -> EvilOrg {
    let (org, session) = app.org_with_owner(json!({})).await;
    let idp = EvilProvider::start(CLIENT_ID, CLIENT_SECRET);
    let ident = app
        .use_oidc(&org, &session, &idp.issuer, CLIENT_ID, CLIENT_SECRET)
        .await;
    EvilOrg {
        org,
        session,
        ident,
        idp,
    }
}

/// What a sign-in could have written: the organization (seats) and its
/// members.
async fn snapshot(app: &TestApp, sso: &EvilOrg) -> (Value, Vec<Value>) {
    let (s, org) = app
        .get(&format!("/orgs/{}", sso.org), Some(&sso.session))
        .await;
    assert_eq!(s, StatusCode::OK, "{org}");
    (org, app.members(&sso.org, &sso.session).await)
}

/// Starts at Admit in `browser`, through the provider's `/authorize` (which
/// answers at once), to the URL of Admit's callback, not yet requested.
async fn to_callback(app: &TestApp, browser: &Browser, sso: &EvilOrg) -> String {
    let start = app.url(&format!("/sso/start?identifier={}", sso.ident));
    let at_callback = browser
        .sign_in(&start, "unused", &app.url("/sso/oidc/callback"))
        .await;
    at_callback
        .location
        .clone()
        .unwrap_or_else(|| panic!("the provider sends the browser back: {at_callback:?}"))
}

/// A whole sign-in in a fresh browser; Admit's answer at the callback.
async fn sign_in(app: &TestApp, sso: &EvilOrg) -> Page {
    let browser = Browser::new();
    let callback = to_callback(app, &browser, sso).await;
    browser.get(&callback).await
}

fn setup_token(page: &Page) -> String {
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

fn refused_as_invalid_request(page: &Page, what: &str) {
    assert!(
        page.status == StatusCode::BAD_REQUEST
            && page
                .body
                .contains(r#"<code id="error-code">invalid_request</code>"#),
        "SECURITY: Admit did not refuse {what} with 400 invalid_request; it answered {} (Location: {:?}):\n{}",
        page.status,
        page.location,
        page.body
    );
}

/// The events since `before` (see [`EvilProvider::events`]).
async fn events_since(idp: &EvilProvider, before: usize) -> Vec<String> {
    idp.events().await.split_off(before)
}

/// A sign-in with `ok` provisions `email`: a setup grant for that address,
/// and a new member with an account.
async fn provisions(app: &TestApp, sso: &EvilOrg, email: &str) {
    let members_before = app.members(&sso.org, &sso.session).await.len();
    sso.idp.scenario("ok", email).await;
    let page = sign_in(app, sso).await;
    let token = setup_token(&page);
    let (s, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(
        (s, view["email"].as_str()),
        (StatusCode::OK, Some(email)),
        "{view}"
    );
    let members = app.members(&sso.org, &sso.session).await;
    assert_eq!(members.len(), members_before + 1, "{members:?}");
    let member = app.member(&sso.org, &sso.session, email).await;
    assert!(member["user_id"].is_string(), "{member}");
}

async fn ok_sign_in_provisions_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = evil_org(&app).await;
    let email = app.email("olivia");
    let before = sso.idp.events().await.len();
    provisions(&app, &sso, &email).await;
    let events = events_since(&sso.idp, before).await;
    assert!(
        events.iter().any(|e| e == "authorize")
            && events.iter().any(|e| e == "token:ok")
            && events.iter().any(|e| e == "userinfo"),
        "{events:?}"
    );
    assert_eq!(sso.idp.stderr(), "");
}

/// `scenario` is refused at the callback, leaves the organization and its
/// members as they were, and creates no account or link: the same person
/// signing in properly afterwards is provisioned from scratch.
async fn refused_and_nothing_written(backend: Backend, scenario: &str) {
    let app = spawn_app(backend).await;
    let sso = evil_org(&app).await;
    let before = snapshot(&app, &sso).await;
    let email = app.email(&format!("victim-{}", scenario.replace('_', "-")));

    sso.idp.scenario(scenario, &email).await;
    let served_before = sso.idp.events().await.len();
    let page = sign_in(&app, &sso).await;
    refused_as_invalid_request(&page, &format!("scenario {scenario}"));
    assert_eq!(
        snapshot(&app, &sso).await,
        before,
        "the refused {scenario} sign-in wrote something"
    );

    // The refusal is the relying party's: the provider got as far as it
    // should have.
    let served = events_since(&sso.idp, served_before).await;
    let expected: &[&str] = match scenario {
        // The ID token verified; the subject at UserInfo did not match.
        "userinfo_sub_other" => &["authorize", "token:userinfo_sub_other", "userinfo"],
        // The redirect was not followed.
        "token_redirect" => &["authorize", "token-redirect"],
        _ => &["authorize"],
    };
    for e in expected {
        assert!(
            served.iter().any(|s| s == e),
            "{e} in {served:?} for {scenario}"
        );
    }
    match scenario {
        "token_redirect" => assert!(
            !served.iter().any(|s| s == "token-elsewhere"),
            "SECURITY: Admit followed the token endpoint's redirect: {served:?}"
        ),
        "userinfo_sub_other" => {}
        _ => {
            assert!(
                served.iter().any(|s| *s == format!("token:{scenario}")),
                "the hostile ID token was issued for {scenario}: {served:?}"
            );
            // Nothing from the hostile ID token reached UserInfo.
            assert!(
                !served.iter().any(|s| s == "userinfo"),
                "UserInfo asked after a {scenario} ID token: {served:?}"
            );
        }
    }
    assert!(
        !served.iter().any(|s| s.starts_with("token-error:")),
        "the token request itself failed for {scenario}: {served:?}"
    );
    assert_eq!(sso.idp.stderr(), "", "the provider failed in {scenario}");

    provisions(&app, &sso, &email).await;
}

async fn rotated_signing_key_is_fetched_once_and_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = evil_org(&app).await;
    // Key A is published and cached by Admit with the provider's metadata.
    provisions(&app, &sso, &app.email("before-rotation")).await;

    // Tokens are now signed with key B, published alongside A.
    let email = app.email("after-rotation");
    sso.idp.scenario("rotate", &email).await;
    let served_before = sso.idp.events().await.len();
    let page = sign_in(&app, &sso).await;
    let token = setup_token(&page);
    let (s, view) = app
        .post("/setup/lookup", None, json!({"setup_token": token}))
        .await;
    assert_eq!(
        (s, view["email"].as_str()),
        (StatusCode::OK, Some(email.as_str())),
        "{view}"
    );
    let served = events_since(&sso.idp, served_before).await;
    assert_eq!(
        served.iter().filter(|e| *e == "jwks").count(),
        1,
        "the key set is fetched again exactly once: {served:?}"
    );
    assert!(served.iter().any(|e| e == "token:rotate"), "{served:?}");

    // Key B is cached now: no further fetch.
    let third = app.email("after-rotation-again");
    sso.idp.scenario("rotate", &third).await;
    let served_before = sso.idp.events().await.len();
    setup_token(&sign_in(&app, &sso).await);
    let served = events_since(&sso.idp, served_before).await;
    assert!(!served.iter().any(|e| e == "jwks"), "{served:?}");
}

async fn callback_replay_is_refused_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = evil_org(&app).await;
    let email = app.email("replayed");
    sso.idp.scenario("ok", &email).await;
    let browser = Browser::new();
    let callback = to_callback(&app, &browser, &sso).await;
    setup_token(&browser.get(&callback).await);
    let after_first = snapshot(&app, &sso).await;
    let served_before = sso.idp.events().await.len();

    // The same callback (same code, same state), in the same browser and in
    // another one.
    refused_as_invalid_request(&browser.get(&callback).await, "a replayed callback");
    refused_as_invalid_request(
        &Browser::new().get(&callback).await,
        "a replayed callback in another browser",
    );
    assert_eq!(snapshot(&app, &sso).await, after_first);
    // The code was not even presented to the provider again.
    let served = events_since(&sso.idp, served_before).await;
    assert!(!served.iter().any(|e| e.starts_with("token")), "{served:?}");
}
