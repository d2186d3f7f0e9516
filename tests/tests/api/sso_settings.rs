//! Administering SSO: the IdP configuration (never returning its secret) and
//! the policies, with what they change for members.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    sso_configuration_keeps_its_secret,
    bad_sso_configuration_changes_nothing,
    policies_apply_to_members
);

const SECRET: &str = "client-secret-never-shown";

fn oidc(enabled: bool) -> Value {
    json!({"protocol": "oidc", "issuer": "https://idp.example.com/", "client_id": "admit", "client_secret": SECRET,
           "member_decryption": "master_password", "enabled": enabled})
}

async fn sso_configuration_keeps_its_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let path = format!("/orgs/{org}/sso");
    let (status, before) = app.get(&path, Some(&s)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (before["enabled"].as_bool(), before["protocol"].is_null()),
        (Some(false), true),
        "{before}"
    );

    let (status, view) = app.call("PUT", &path, Some(&s), Some(oidc(true))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["issuer"], "https://idp.example.com");
    assert_eq!(view["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(view["signing_algorithm"], "RS256");
    assert_eq!(view["client_secret_set"], true);
    assert_eq!(view["redirect_uri"], app.url("/sso/oidc/callback"));
    let (_, read) = app.get(&path, Some(&s)).await;
    assert_eq!(read, view);
    for body in [
        view.to_string(),
        app.get(&format!("/orgs/{org}"), Some(&s))
            .await
            .1
            .to_string(),
    ] {
        assert!(
            !body.contains(SECRET),
            "the client secret is never returned: {body}"
        );
    }
    let (_, settings) = app.get(&format!("/orgs/{org}"), Some(&s)).await;
    assert_eq!(settings["sso_enabled"], true);

    // Changing other settings without resending the secret keeps it.
    let mut again = oidc(false);
    again.as_object_mut().unwrap().remove("client_secret");
    again["member_decryption"] = json!("key_connector");
    again["key_connector_url"] = json!("https://kc.example.com");
    let (status, view) = app.call("PUT", &path, Some(&s), Some(again)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        (
            view["enabled"].as_bool(),
            view["client_secret_set"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(view["key_connector_url"], "https://kc.example.com");

    // Another client needs its own secret.
    let mut other = oidc(true);
    other.as_object_mut().unwrap().remove("client_secret");
    other["client_id"] = json!("another");
    let (status, body) = app.call("PUT", &path, Some(&s), Some(other)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

async fn bad_sso_configuration_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let (other_org, other_owner) = app.org_with_owner(json!({})).await;
    let _ = other_org;
    let path = format!("/orgs/{org}/sso");
    assert_eq!(
        app.call("PUT", &path, Some(&s), Some(oidc(false))).await.0,
        StatusCode::OK
    );
    let (_, before) = app.get(&path, Some(&s)).await;
    let with = |k: &str, v: Value| {
        let mut b = oidc(true);
        b[k] = v;
        b
    };
    let mut no_client = oidc(true);
    no_client.as_object_mut().unwrap().remove("client_id");
    let bad = [
        with("issuer", json!("http://idp.example.com")),
        with("issuer", json!("not a url")),
        with("protocol", json!("cas")),
        with("protocol", json!("saml")),
        with("member_decryption", json!("key_connector")),
        with("member_decryption", json!("telepathy")),
        with("signing_algorithm", json!("none")),
        with("signing_algorithm", json!("HS256")),
        with("scopes", json!(["email", "has space"])),
        with("enabled", json!("yes")),
        with("surprise", json!(1)),
        no_client,
    ];
    for body in bad {
        let (status, err) = app.call("PUT", &path, Some(&s), Some(body.clone())).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{body} → {err}"
        );
    }
    assert_eq!(
        app.call("PUT", &path, Some(&other_owner), Some(oidc(true)))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call("PUT", &path, None, Some(oidc(true))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&path, Some(&other_owner)).await.0,
        StatusCode::NOT_FOUND
    );
    let policies = format!("/orgs/{org}/policies");
    assert_eq!(
        app.call(
            "PUT",
            &policies,
            Some(&s),
            Some(json!({"require_sso": "yes"}))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.call(
            "PUT",
            &policies,
            Some(&other_owner),
            Some(json!({"require_sso": true}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&path, Some(&s)).await.1, before);

    // A deployment on a real domain refuses plain-http (loopback) IdPs: no requests into the host.
    let public = spawn_app_with(backend, |o| {
        o.public_url = Some("https://admit.example.com".into())
    })
    .await;
    let (porg, ps) = public.org_with_owner(json!({})).await;
    let mut loopback = oidc(true);
    loopback["issuer"] = json!("http://127.0.0.1:9");
    let (status, err) = public
        .call(
            "PUT",
            &format!("/orgs/{porg}/sso"),
            Some(&ps),
            Some(loopback),
        )
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{err}"
    );
    assert_eq!(
        app.get(&format!("/orgs/{org}"), Some(&s)).await.1["policies"],
        json!({"require_sso": false, "jit_without_invitation": true})
    );
}

async fn policies_apply_to_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let owner = app.members(&org, &s).await[0]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    // A confirmed user and a confirmed admin.
    let (user, admin) = (app.email("user"), app.email("admin"));
    app.invite(&org, &s, &[&user], "user").await;
    app.invite(&org, &s, &[&admin], "admin").await;
    for who in [&user, &admin] {
        app.accept_latest(who, "pw", true).await;
        let id = app.member(&org, &s, who).await["member_id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(
            &format!("/orgs/{org}/members/{id}/confirm"),
            Some(&s),
            json!({"key": "k"}),
        )
        .await;
    }
    // A pending invitee with an account elsewhere, and a brand-new one.
    let (pat, newbie) = (app.email("pat"), app.email("newbie"));
    app.create_org("Elsewhere", &pat, json!({})).await;
    app.accept_latest(&pat, "pat pw", true).await;
    app.invite(&org, &s, &[&pat, &newbie], "user").await;

    let (status, policies) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/policies"),
            Some(&s),
            Some(json!({"require_sso": true})),
        )
        .await;
    assert_eq!(
        (status, policies),
        (
            StatusCode::OK,
            json!({"require_sso": true, "jit_without_invitation": true})
        )
    );
    app.call(
        "PUT",
        &format!("/orgs/{org}/sso"),
        Some(&s),
        Some(oidc(true)),
    )
    .await;

    // require_sso: a confirmed user must use SSO; owners and admins are exempt.
    let login =
        |email: &str, pw: &str| json!({"email": email, "master_password_hash": mp_hash(pw)});
    let (status, body) = app.post("/auth/login", None, login(&user, "pw")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("sso_required"))
    );
    assert_eq!(
        app.post("/auth/login", None, login(&admin, "pw")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/auth/login", None, login(&owner, "owner password"))
            .await
            .0,
        StatusCode::OK
    );

    // With SSO on, a new account cannot be made with a master password; an existing account accepts as before.
    let (_, lookup) = app
        .post(
            "/invitations/lookup",
            None,
            json!({"token": app.last_mail_to(&newbie).await.accept_token()}),
        )
        .await;
    assert_eq!(lookup["sso"]["enabled"], true);
    let (status, body) = app.accept_latest(&newbie, "pw", true).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    assert_eq!(app.member(&org, &s, &newbie).await["status"], "invited");
    let (status, body) = app.accept_latest(&pat, "pat pw", false).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("accepted"))
    );

    let (_, policies) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/policies"),
            Some(&s),
            Some(json!({"jit_without_invitation": false})),
        )
        .await;
    assert_eq!(
        policies,
        json!({"require_sso": true, "jit_without_invitation": false})
    );
    let (_, settings) = app.get(&format!("/orgs/{org}"), Some(&s)).await;
    assert_eq!(settings["policies"], policies);
}
