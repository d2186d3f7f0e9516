//! What Admit's IdP client may reach, and whom it trusts.
//!
//! - A discovery document (served on loopback) that points an endpoint
//!   inside (a private, link-local or IPv4-mapped address, or a URL whose
//!   user name hides the host) is refused at `/sso/start`: 400
//!   `invalid_request`, after the document and its key set were read and
//!   before any request to that endpoint. None of those endpoints is one
//!   `/sso/start` requests, so even a broken check could only answer 302
//!   here: nothing leaves loopback.
//! - An https provider whose certificate a test CA signed: the sign-in works
//!   with `--ca-file` naming that CA, and without it fails cleanly (502
//!   `idp_unavailable`, nothing written).

use crate::helpers::*;
use crate::on_both_backends;
use admit_tests::oidc::{Browser, OidcClient, OidcProvider, Page, TestCa};
use axum::extract::State;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

on_both_backends!(
    discovered_endpoints_inside_are_refused_before_any_request,
    an_idp_whose_ca_is_the_ca_file_signs_in,
    without_the_ca_file_a_private_ca_idp_fails_cleanly,
);

const CLIENT_ID: &str = "admit";
const CLIENT_SECRET: &str = "idp-client-secret";

/// A discovery document and an empty key set on a loopback port, with one
/// endpoint replaced; every other path is a 404. Records what it served.
struct Discovery {
    issuer: String,
    served: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Served {
    document: Value,
    log: Arc<Mutex<Vec<String>>>,
}

impl Discovery {
    async fn start(replace: Option<(&str, &str)>) -> Discovery {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let mut document = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        });
        if let Some((field, url)) = replace {
            document[field] = json!(url);
        }
        let served = Served {
            document,
            log: Arc::default(),
        };
        let log = served.log.clone();
        let router = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(s): State<Served>| async move {
                    s.log.lock().unwrap().push("discovery".into());
                    axum::Json(s.document)
                }),
            )
            .route(
                "/jwks",
                get(|State(s): State<Served>| async move {
                    s.log.lock().unwrap().push("jwks".into());
                    axum::Json(json!({"keys": []}))
                }),
            )
            .fallback(|State(s): State<Served>, uri: axum::http::Uri| async move {
                s.log.lock().unwrap().push(uri.path().to_owned());
                StatusCode::NOT_FOUND
            })
            .with_state(served);
        tokio::spawn(async move { axum::serve(listener, router).await });
        Discovery {
            issuer,
            served: log,
        }
    }

    fn served(&self) -> Vec<String> {
        self.served.lock().unwrap().clone()
    }
}

async fn start_page(app: &TestApp, browser: &Browser, ident: &str) -> Page {
    browser
        .get(&app.url(&format!("/sso/start?identifier={ident}")))
        .await
}

fn error_code(page: &Page, status: StatusCode, code: &str, what: &str) {
    assert!(
        page.status == status && page.body.contains(code),
        "{what}: expected {status} {code}, got {} (Location: {:?}):\n{}",
        page.status,
        page.location,
        page.body
    );
}

async fn discovered_endpoints_inside_are_refused_before_any_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({"limit": 5})).await;

    // Control: the same document with every endpoint on loopback starts a
    // sign-in (Admit runs on loopback here, so loopback is allowed).
    let fine = Discovery::start(None).await;
    let ident = app
        .use_oidc(&org, &session, &fine.issuer, CLIENT_ID, CLIENT_SECRET)
        .await;
    let page = start_page(&app, &Browser::new(), &ident).await;
    assert!(
        page.is_redirect()
            && page
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with(&format!("{}/authorize?", fine.issuer))),
        "{page:?}"
    );

    for (field, url) in [
        ("token_endpoint", "http://10.0.0.1/token"),
        ("token_endpoint", "https://169.254.169.254/token"),
        ("token_endpoint", "https://[::ffff:10.0.0.1]/token"),
        ("token_endpoint", "https://100.64.0.1/token"),
        ("userinfo_endpoint", "https://[fd00::1]/userinfo"),
        ("userinfo_endpoint", "https://192.168.0.10/userinfo"),
        (
            "authorization_endpoint",
            "http://localhost:80@169.254.169.254/authorize",
        ),
    ] {
        let idp = Discovery::start(Some((field, url))).await;
        let ident = app
            .use_oidc(&org, &session, &idp.issuer, CLIENT_ID, CLIENT_SECRET)
            .await;
        let page = start_page(&app, &Browser::new(), &ident).await;
        error_code(
            &page,
            StatusCode::BAD_REQUEST,
            r#"<code id="error-code">invalid_request</code>"#,
            &format!("SECURITY: a discovery document naming {field} {url}"),
        );
        // The refusal came after reading the document and its keys, and
        // Admit asked for nothing else.
        assert_eq!(idp.served(), ["discovery", "jwks"], "{field} {url}");
    }
}

fn client(app: &TestApp) -> OidcClient {
    OidcClient::new(CLIENT_ID, CLIENT_SECRET, app.url("/sso/oidc/callback"))
}

async fn an_idp_whose_ca_is_the_ca_file_signs_in(backend: Backend) {
    let ca = TestCa::new();
    let app = spawn_app_with(backend, |o| o.ca_file = Some(ca.ca_pem.clone())).await;
    let (org, session) = app.org_with_owner(json!({"limit": 5})).await;
    let idp = OidcProvider::start_tls(&[client(&app)], &ca);
    assert!(idp.issuer.starts_with("https://"), "{}", idp.issuer);
    let ident = app
        .use_oidc(&org, &session, &idp.issuer, CLIENT_ID, CLIENT_SECRET)
        .await;

    let email = app.email("tls");
    let browser = Browser::trusting(&ca.ca_pem);
    let start = app.url(&format!("/sso/start?identifier={ident}"));
    let at_callback = browser
        .sign_in(&start, &email, &app.url("/sso/oidc/callback"))
        .await;
    let callback = at_callback
        .location
        .clone()
        .unwrap_or_else(|| panic!("the IdP sends the browser back: {at_callback:?}"));
    // Discovery, JWKS, token and UserInfo over https, trusted through the CA file.
    let back = browser.get(&callback).await;
    assert!(
        back.location
            .as_deref()
            .is_some_and(|l| l.contains("/setup#setup_token=")),
        "{back:?}"
    );
    let member = app.member(&org, &session, &email).await;
    assert!(member["user_id"].is_string(), "{member}");
}

async fn without_the_ca_file_a_private_ca_idp_fails_cleanly(backend: Backend) {
    let ca = TestCa::new();
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({"limit": 5})).await;
    let idp = OidcProvider::start_tls(&[client(&app)], &ca);
    let ident = app
        .use_oidc(&org, &session, &idp.issuer, CLIENT_ID, CLIENT_SECRET)
        .await;
    let members = app.members(&org, &session).await;

    // The browser trusts the CA; Admit does not.
    let page = start_page(&app, &Browser::trusting(&ca.ca_pem), &ident).await;
    error_code(
        &page,
        StatusCode::BAD_GATEWAY,
        r#"<code id="error-code">idp_unavailable</code>"#,
        "an IdP whose certificate no trusted CA signed",
    );
    assert_eq!(app.members(&org, &session).await, members);
}
