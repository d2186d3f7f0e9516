//! No secret reaches a log: a whole flow — operator, invitation, acceptance,
//! login, SSO configuration, an SSO sign-in and its setup step, a wrong
//! password, a confirmation — runs with every log level on, and the captured
//! logs are searched for each secret. So is the organization's audit log.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use admit_tests::oidc::{Browser, OidcClient, OidcProvider};
use helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = spawn_app(Backend::Embedded).await;
    let owner = app.email("owner");
    let org = app.create_org("Logs", &owner, json!({})).await;
    let owner_token = app.last_mail_to(&owner).await.accept_token();
    let (s, _) = app.accept_latest(&owner, "owner password", true).await;
    assert_eq!(s, StatusCode::OK);
    let session = app.login(&owner, "owner password").await;

    let idp = OidcProvider::start(&[OidcClient::new(
        "admit",
        "the-oidc-client-secret",
        app.url("/sso/oidc/callback"),
    )]);
    let ident = app
        .use_oidc(
            &org,
            &session,
            &idp.issuer,
            "admit",
            "the-oidc-client-secret",
        )
        .await;
    let member = app.email("member");
    app.invite(&org, &session, &[&member], "user").await;
    let invitation = app.last_mail_to(&member).await.accept_token();
    let browser = Browser::new();
    let start = app.url(&format!(
        "/sso/start?identifier={ident}&invitation={invitation}"
    ));
    let at_callback = browser
        .sign_in(&start, &member, &app.url("/sso/oidc/callback"))
        .await;
    let code = at_callback
        .location_param("code")
        .expect("an authorization code");
    let state = at_callback.location_param("state").expect("a state");
    let back = browser.get(at_callback.location.as_deref().unwrap()).await;
    let setup_token = back
        .location
        .as_deref()
        .unwrap()
        .split_once("setup_token=")
        .unwrap()
        .1
        .to_owned();
    let (s, done) = app
        .post(
            "/setup/master-password",
            None,
            json!({"setup_token": setup_token, "master_password_hash": mp_hash("member password"),
            "kdf": kdf(), "keys": {"user_key": "the-member-user-key", "public_key": admit_tests::keys::PUBLIC_KEY,
            "encrypted_private_key": "the-member-encrypted-private-key"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    // A wrong password (on the record as `auth.login_failed`), and the
    // member's confirmation with the organization's key.
    let (s, _) = app
        .post(
            "/auth/login",
            None,
            json!({"email": member, "master_password_hash": mp_hash("a wrong password")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let member_id = app.member_id(&org, &session, &member).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{member_id}/confirm"),
            Some(&session),
            json!({"key": "the-organization-key-for-the-member"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("sso decision"), "the logs were captured");
    let secret_of = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let secrets = [
        ("operator token", OPERATOR_TOKEN.to_owned()),
        ("owner's invitation", secret_of(&owner_token)),
        ("member's invitation", secret_of(&invitation)),
        ("session token", session.clone()),
        ("master password hash", mp_hash("owner password")),
        ("OIDC client secret", "the-oidc-client-secret".to_owned()),
        ("authorization code", code),
        ("state", state),
        ("setup token", setup_token),
        (
            "setup's session token",
            done["session_token"].as_str().unwrap().to_owned(),
        ),
        ("member's master password hash", mp_hash("member password")),
        ("wrong password's hash", mp_hash("a wrong password")),
        ("member's user key", "the-member-user-key".to_owned()),
        (
            "member's encrypted private key",
            "the-member-encrypted-private-key".to_owned(),
        ),
        (
            "organization key handed over",
            "the-organization-key-for-the-member".to_owned(),
        ),
    ];
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }

    // The organization's whole audit log, as the API gives it, holds none of
    // them either; it holds the flow's events, so the search can fail.
    let log = event_log(&app, &org, &session).await;
    for kind in [
        "org.created",
        "sso.settings_changed",
        "member.invited",
        "sso.jit_created",
        "member.accepted",
        "auth.login_failed",
        "member.confirmed",
    ] {
        assert!(
            log.contains(&format!(r#""type":"{kind}""#)),
            "{kind} in the audit log: {log}"
        );
    }
    for (what, secret) in &secrets {
        assert!(!log.contains(secret), "the {what} appears in the audit log");
    }
}

/// Every page of `org`'s audit log, as the JSON text the API sent.
async fn event_log(app: &TestApp, org: &str, session: &str) -> String {
    let mut text = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = app
            .http
            .get(app.url(&format!("/orgs/{org}/events")))
            .bearer_auth(session);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let res = req.send().await.expect("admit answers");
        assert_eq!(res.status(), StatusCode::OK);
        let page = res.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&page).expect("JSON");
        assert!(!body["events"].as_array().expect("events").is_empty());
        text.push_str(&page);
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return text,
        }
    }
}
