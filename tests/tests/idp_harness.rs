//! The test OpenID provider and the headless browser really work: the
//! relying party's part of the authorization code flow (with PKCE) done by
//! hand against `admit_tests::oidc`. And the groups both test IdPs send
//! (`admit_tests::oidc`, `admit_tests::saml`) are there.

use admit_tests::oidc::{Browser, OidcClient, OidcProvider, ProviderOptions, sub_for};
use admit_tests::saml::SamlIdp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "admit-test-rp";
const CLIENT_SECRET: &str = "rp-secret-for-tests";
/// Nothing listens here: the browser stops before requesting it.
const CALLBACK: &str = "http://127.0.0.1:1/callback";

fn client() -> OidcClient {
    OidcClient::new(CLIENT_ID, CLIENT_SECRET, CALLBACK)
}

fn random_b64(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// One authorization request's secrets, as a relying party keeps them.
struct Request {
    url: String,
    state: String,
    nonce: String,
    code_verifier: String,
}

fn authorization_request(discovery: &Value, scope: &str) -> Request {
    let state = random_b64(16);
    let nonce = random_b64(16);
    let code_verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));
    let mut url = reqwest::Url::parse(discovery["authorization_endpoint"].as_str().unwrap())
        .expect("authorization_endpoint is a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Request {
        url: url.into(),
        state,
        nonce,
        code_verifier,
    }
}

async fn token_request(discovery: &Value, code: &str, code_verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", code_verifier),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
}

/// The payload of a JWT, not verified.
fn jwt_payload(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("JSON payload")
}

/// What one sign-in gave the relying party.
struct SignedIn {
    id_token: Value,
    access_token: String,
}

/// Signs in as `login` with a fresh browser and redeems the code.
async fn sign_in(discovery: &Value, login: &str, scope: &str) -> SignedIn {
    sign_in_posting(discovery, login, None, scope).await
}

/// [`sign_in`], posting `groups` at the login when given.
async fn sign_in_posting(
    discovery: &Value,
    login: &str,
    groups: Option<&str>,
    scope: &str,
) -> SignedIn {
    let request = authorization_request(discovery, scope);
    let browser = Browser::new();
    let page = match groups {
        Some(groups) => {
            browser
                .sign_in_with_groups(&request.url, login, groups, CALLBACK)
                .await
        }
        None => browser.sign_in(&request.url, login, CALLBACK).await,
    };
    assert!(
        page.is_redirect(),
        "sign-in ended without reaching the callback: {page:?}"
    );
    assert_eq!(
        page.location_param("state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(
        page.location_param("iss").as_deref(),
        discovery["issuer"].as_str(),
        "RFC 9207 iss in the authorization response"
    );
    let code = page.location_param("code").expect("a code at the callback");

    let response = token_request(discovery, &code, &request.code_verifier).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let id_token = jwt_payload(tokens["id_token"].as_str().expect("an id_token"));
    assert_eq!(id_token["nonce"], request.nonce.as_str());
    SignedIn {
        id_token,
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn sign_in_with_code_flow_and_pkce() {
    let idp = OidcProvider::start(&[client()]);
    let discovery = idp.discovery().await;
    assert_eq!(discovery["issuer"], idp.issuer.as_str());

    let alice = sign_in(&discovery, "alice@example.test", "openid email").await;
    let t = &alice.id_token;
    assert_eq!(t["iss"], idp.issuer.as_str());
    assert_eq!(t["aud"], CLIENT_ID);
    assert_eq!(t["email"], "alice@example.test");
    assert_eq!(t["email_verified"], true);
    assert_eq!(t["sub"], sub_for("alice@example.test").as_str());

    // UserInfo: the same account.
    let userinfo = userinfo(&discovery, &alice.access_token).await;
    assert_eq!(userinfo["sub"], t["sub"]);
    assert_eq!(userinfo["email"], "alice@example.test");
    assert_eq!(userinfo["email_verified"], true);

    // The same login is the same account; another login is another.
    let again = sign_in(&discovery, "alice@example.test", "openid email").await;
    assert_eq!(again.id_token["sub"], t["sub"]);
    let bob = sign_in(&discovery, "Bob@Example.test", "openid email profile").await;
    assert_ne!(bob.id_token["sub"], t["sub"]);
    assert_eq!(bob.id_token["email"], "bob@example.test");
    assert_eq!(bob.id_token["name"], "Bob");

    // Markers in the login name.
    let unverified = sign_in(&discovery, "carol+unverified@example.test", "openid email").await;
    assert_eq!(unverified.id_token["email_verified"], false);
    assert_eq!(
        unverified.id_token["email"],
        "carol+unverified@example.test"
    );
    let no_email = sign_in(&discovery, "dave+noemail@example.test", "openid email").await;
    assert!(no_email.id_token.get("email").is_none());
    assert!(no_email.id_token.get("email_verified").is_none());
}

/// The UserInfo answer for an access token.
async fn userinfo(discovery: &Value, access_token: &str) -> Value {
    reqwest::Client::new()
        .get(discovery["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("UserInfo answers")
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn groups_posted_at_login_are_sent_until_the_next_login() {
    let idp = OidcProvider::start(&[client()]);
    let discovery = idp.discovery().await;
    let login = "hana@example.test";

    // Only `openid` asked: the groups come anyway.
    let with = sign_in_posting(&discovery, login, Some(" Engineering, Ops ,,"), "openid").await;
    let expected = serde_json::json!(["Engineering", "Ops"]);
    assert_eq!(with.id_token["groups"], expected, "{}", with.id_token);
    let info = userinfo(&discovery, &with.access_token).await;
    assert_eq!(info["groups"], expected, "{info}");

    // Keycloak-like paths go through as they are.
    let paths = sign_in_posting(
        &discovery,
        login,
        Some("/engineering/backend"),
        "openid email",
    )
    .await;
    assert_eq!(
        paths.id_token["groups"],
        serde_json::json!(["/engineering/backend"])
    );

    // A login without groups leaves the claim out, in both places.
    let without = sign_in(&discovery, login, "openid email").await;
    assert!(
        without.id_token.get("groups").is_none(),
        "{}",
        without.id_token
    );
    let info = userinfo(&discovery, &without.access_token).await;
    assert!(info.get("groups").is_none(), "{info}");
    let empty = sign_in_posting(&discovery, login, Some(" "), "openid").await;
    assert!(empty.id_token.get("groups").is_none(), "{}", empty.id_token);

    // Entra ID's overage: a reference instead of the claim.
    let overage = sign_in_posting(&discovery, login, Some("overage"), "openid").await;
    let t = &overage.id_token;
    assert!(t.get("groups").is_none(), "{t}");
    assert_eq!(
        t["_claim_names"],
        serde_json::json!({"groups": "src1"}),
        "{t}"
    );
    assert!(
        t["_claim_sources"]["src1"]["endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://graph.microsoft.com/")),
        "{t}"
    );
    let info = userinfo(&discovery, &overage.access_token).await;
    assert_eq!(info["_claim_names"], t["_claim_names"], "{info}");

    // Groups are the account's: another login has none.
    let other = sign_in(&discovery, "ivan@example.test", "openid").await;
    assert!(other.id_token.get("groups").is_none());
}

#[tokio::test]
async fn the_groups_claim_can_have_another_name() {
    let idp = OidcProvider::start_with(
        &[client()],
        ProviderOptions {
            groups_claim: Some("roles".into()),
            ..ProviderOptions::default()
        },
    );
    let discovery = idp.discovery().await;
    let signed_in = sign_in_posting(&discovery, "jo@example.test", Some("a,b"), "openid").await;
    assert_eq!(signed_in.id_token["roles"], serde_json::json!(["a", "b"]));
    assert!(signed_in.id_token.get("groups").is_none());
    let overage = sign_in_posting(&discovery, "jo@example.test", Some("overage"), "openid").await;
    assert_eq!(
        overage.id_token["_claim_names"],
        serde_json::json!({"roles": "src1"})
    );
}

/// Serves a service provider's metadata (HTTP-POST ACS on a port nobody
/// listens on) at `http://127.0.0.1:PORT/metadata`, its entity id, as the
/// SAML IdP fetches it to know the SP.
async fn sp_metadata_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let entity_id = format!("http://{}/metadata", listener.local_addr().unwrap());
    let metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://127.0.0.1:1/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    );
    let app = axum::Router::new().route(
        "/metadata",
        axum::routing::get(move || async move { metadata }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    entity_id
}

/// The values of the attributes `name` in a response's XML, in order (a
/// plain text scan: enough for what the test IdP writes).
fn attribute_values(xml: &str, name: &str) -> Vec<String> {
    let mut values = Vec::new();
    let marker = format!(r#"Name="{name}""#);
    let mut rest = xml;
    while let Some(at) = rest.find(&marker) {
        rest = &rest[at + marker.len()..];
        let end = rest.find("Attribute>").unwrap_or(rest.len());
        let mut inside = &rest[..end];
        while let Some(open) = inside.find("AttributeValue") {
            let after = &inside[open..];
            let (Some(start), Some(stop)) = (after.find('>'), after.find("</")) else {
                break;
            };
            if start < stop {
                values.push(after[start + 1..stop].to_owned());
            }
            inside = &after[stop + 2..];
            inside = inside
                .get(inside.find('>').map_or(inside.len(), |i| i + 1)..)
                .unwrap_or("");
        }
        rest = &rest[end..];
    }
    values
}

#[tokio::test]
async fn the_saml_idp_sends_the_groups_asked_for() {
    let sp = sp_metadata_server().await;
    let idp = SamlIdp::start();
    let email = ("email", "kim@corp.test");

    let okta = idp
        .idp_initiated(&sp, &[email, ("groups", " Everyone, Engineering ,")])
        .await;
    assert_eq!(
        attribute_values(&okta.xml, "groups"),
        ["Everyone", "Engineering"],
        "one AttributeValue per group: {}",
        okta.xml
    );

    const ENTRA: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
    let entra = idp
        .idp_initiated(
            &sp,
            &[
                email,
                ("groups_attribute", ENTRA),
                (
                    "groups",
                    "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d,0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                ),
            ],
        )
        .await;
    assert_eq!(
        attribute_values(&entra.xml, ENTRA),
        [
            "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
            "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
        ],
        "{}",
        entra.xml
    );
    assert!(attribute_values(&entra.xml, "groups").is_empty());

    // No groups (or empty): no groups attribute at all.
    for fields in [&[email][..], &[email, ("groups", " , ")]] {
        let none = idp.idp_initiated(&sp, fields).await;
        assert!(!none.xml.contains(r#"Name="groups""#), "{}", none.xml);
        // The other attributes are still there.
        assert_eq!(attribute_values(&none.xml, "email"), ["kim@corp.test"]);
    }
}

#[tokio::test]
async fn the_token_endpoint_enforces_pkce() {
    let idp = OidcProvider::start(&[client()]);
    let discovery = idp.discovery().await;
    let request = authorization_request(&discovery, "openid email");
    let page = Browser::new()
        .sign_in(&request.url, "erin@example.test", CALLBACK)
        .await;
    let code = page.location_param("code").expect("a code at the callback");

    let wrong = token_request(&discovery, &code, &random_b64(32)).await;
    assert_eq!(wrong.status(), 400);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // It was the verifier that was refused: the right one still redeems the
    // code (oidc-provider does not consume a code on a failed attempt).
    let right = token_request(&discovery, &code, &request.code_verifier).await;
    assert_eq!(right.status(), 200);
    // And a code is single-use.
    let replay = token_request(&discovery, &code, &request.code_verifier).await;
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn a_browser_already_signed_in_skips_the_login_page() {
    let idp = OidcProvider::start(&[client()]);
    let discovery = idp.discovery().await;
    let browser = Browser::new();
    let first = authorization_request(&discovery, "openid email");
    let page = browser
        .sign_in(&first.url, "frank@example.test", CALLBACK)
        .await;
    assert!(page.location_param("code").is_some());

    // Same browser: the provider's session cookie signs in again without
    // any form (the login given here is not even asked).
    let second = authorization_request(&discovery, "openid email");
    let page = browser.get(&second.url).await;
    let location = page.location.clone().expect("a redirect");
    assert!(
        location.starts_with(CALLBACK),
        "expected straight back to the callback, got {location}"
    );
    let code = page.location_param("code").expect("a code");
    let response = token_request(&discovery, &code, &second.code_verifier).await;
    let tokens: Value = response.json().await.unwrap();
    let id_token = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], sub_for("frank@example.test").as_str());
}

#[tokio::test]
async fn pkce_can_be_required() {
    let idp = OidcProvider::start_with(
        &[client()],
        ProviderOptions {
            pkce_required: true,
            ..ProviderOptions::default()
        },
    );
    let discovery = idp.discovery().await;
    let mut url =
        reqwest::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).expect("a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid")
        .append_pair("state", "s");
    let page = Browser::new()
        .sign_in(url.as_str(), "gina@example.test", CALLBACK)
        .await;
    assert_eq!(
        page.location_param("error").as_deref(),
        Some("invalid_request")
    );
    assert!(page.location_param("code").is_none());
}
