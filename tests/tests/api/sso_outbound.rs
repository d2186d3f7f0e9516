//! What Admit's IdP client may reach, and whom it trusts.
//!
//! - `PUT /orgs/{org}/sso` refuses an OIDC issuer, a SAML SSO URL (given
//!   or imported from metadata) or a key connector URL that reaches inside:
//!   400 `invalid_request` naming the field; loopback only while Admit
//!   itself runs there.
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
use admit_tests::saml::SamlIdp;
use axum::extract::State;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

on_both_backends!(
    idp_urls_that_reach_inside_are_refused_naming_the_field,
    loopback_idps_only_while_admit_itself_runs_there,
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

/// `PUT /orgs/{org}/sso` with `config`: the status and the body.
async fn put_sso(app: &TestApp, org: &str, session: &str, config: Value) -> (StatusCode, Value) {
    app.call(
        "PUT",
        &format!("/orgs/{org}/sso"),
        Some(session),
        Some(config),
    )
    .await
}

fn refused_naming(answer: &(StatusCode, Value), field: &str, what: &str) {
    let (status, body) = answer;
    assert!(
        *status == StatusCode::BAD_REQUEST
            && body["error"] == "invalid_request"
            && body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("{field}: "))),
        "SECURITY: {what} was not refused naming {field}: {status} {body}"
    );
}

const INSIDE: &[&str] = &[
    "http://localhost:80@169.254.169.254",
    "http://127.0.0.1:1@10.0.0.1",
    "https://169.254.169.254",
    "https://10.0.0.1/realms/acme",
    "https://172.16.0.1",
    "https://192.168.1.1",
    "https://100.64.0.1",
    "https://[fd00::1]",
    "https://[fe80::1]",
    "https://[::ffff:169.254.169.254]",
    "https://224.0.0.1",
    "https://0.0.0.0",
    "https://255.255.255.255",
    "https://192.0.2.1",
    "https://idp.example.com/#fragment",
];

async fn idp_urls_that_reach_inside_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({"limit": 5})).await;
    let saml = SamlIdp::start();
    let certificate = saml.certificate().await;
    let metadata = saml.metadata().await;
    let before = app.get(&format!("/orgs/{org}/sso"), Some(&session)).await;

    for url in INSIDE {
        let oidc = json!({"protocol": "oidc", "issuer": url, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "member_decryption": "master_password", "enabled": true});
        refused_naming(
            &put_sso(&app, &org, &session, oidc).await,
            "issuer",
            &format!("issuer {url}"),
        );

        let sso = json!({"protocol": "saml", "idp_entity_id": saml.entity_id(), "idp_sso_url": url,
            "idp_certificate_pem": certificate, "member_decryption": "master_password", "enabled": true});
        refused_naming(
            &put_sso(&app, &org, &session, sso).await,
            "idp_sso_url",
            &format!("idp_sso_url {url}"),
        );

        // The same URL read from the IdP's metadata.
        let imported = metadata.replace(&saml.sso_url(), &url.replace('&', "&amp;"));
        assert_ne!(imported, metadata);
        let from_metadata = json!({"protocol": "saml", "idp_metadata_xml": imported,
            "member_decryption": "master_password", "enabled": true});
        refused_naming(
            &put_sso(&app, &org, &session, from_metadata).await,
            "idp_sso_url",
            &format!("idp_sso_url {url} from metadata"),
        );

        let connector = json!({"protocol": "oidc", "issuer": "https://idp.example.com",
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "member_decryption": "key_connector", "key_connector_url": url, "enabled": true});
        refused_naming(
            &put_sso(&app, &org, &session, connector).await,
            "key_connector_url",
            &format!("key_connector_url {url}"),
        );
    }
    // Nothing was written.
    assert_eq!(
        app.get(&format!("/orgs/{org}/sso"), Some(&session)).await,
        before
    );
}

/// Admit deployed (its public URL is not on loopback): a loopback IdP is
/// refused, by address or by name, over http or https.
async fn loopback_idps_only_while_admit_itself_runs_there(backend: Backend) {
    let app = spawn_app_with(backend, |o| {
        o.public_url = Some("https://admit.example.com".into())
    })
    .await;
    let (org, session) = app.org_with_owner(json!({"limit": 5})).await;
    for url in [
        "http://127.0.0.1:9000",
        "https://127.0.0.1:9000",
        "https://localhost",
        "https://idp.localhost",
        "https://[::1]",
        "https://[::ffff:127.0.0.1]",
        "https://2130706433",
    ] {
        let oidc = json!({"protocol": "oidc", "issuer": url, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "member_decryption": "master_password", "enabled": true});
        refused_naming(
            &put_sso(&app, &org, &session, oidc).await,
            "issuer",
            &format!("issuer {url} while deployed"),
        );
    }
    let public = json!({"protocol": "oidc", "issuer": "https://idp.example.com", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "member_decryption": "master_password", "enabled": true});
    let (status, body) = put_sso(&app, &org, &session, public).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
