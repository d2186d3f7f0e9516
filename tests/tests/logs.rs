//! No secret reaches a log: a whole flow — operator, invitation, acceptance,
//! login, SSO configuration, an SSO sign-in and its setup step — runs with
//! every log level on, and the captured logs are searched for each secret.

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
        .post("/setup/master-password", None, json!({"setup_token": setup_token, "master_password_hash": mp_hash("member password"),
            "kdf": kdf(), "keys": {"user_key": "u", "public_key": "p", "encrypted_private_key": "e"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");

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
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the {what} appears in the logs");
    }
}
