//! Administering SSO: the IdP configuration (never returning its secret) and
//! the policies, with what they change for members.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    sso_configuration_keeps_its_secret,
    bad_sso_configuration_changes_nothing,
    policies_apply_to_members,
    concurrent_settings_edits_are_never_lost,
    the_client_secret_is_sealed_at_rest
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

/// What the store holds has no client secret in clear: the redb file's
/// bytes, or every item of the DynamoDB table as moto returns it. On
/// DynamoDB, an organization stored before secrets were sealed (a bare
/// string) still reads, and its next settings write seals the secret.
async fn the_client_secret_is_sealed_at_rest(backend: Backend) {
    let mut placed = None;
    let app = spawn_app_with(backend, |opts| {
        placed = Some((opts.data_dir.clone(), opts.table.clone()));
    })
    .await;
    let (data_dir, table) = placed.expect("adjusted");
    let dynamodb = aws_sdk_dynamodb::Client::new(&admit_tests::moto::Moto::shared().sdk_config());
    let stored = async || match &table {
        None => {
            let bytes = std::fs::read(data_dir.join("admit.redb")).expect("the redb file");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Some(table) => {
            let items = dynamodb
                .scan()
                .table_name(table)
                .send()
                .await
                .expect("moto scans the table");
            format!("{:?}", items.items())
        }
    };
    let (org, s) = app.org_with_owner(json!({})).await;
    let path = format!("/orgs/{org}/sso");
    let policies = format!("/orgs/{org}/policies");
    let (status, view) = app.call("PUT", &path, Some(&s), Some(oidc(true))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    // A later write that keeps the secret keeps it sealed too.
    let (status, body) = app
        .call(
            "PUT",
            &policies,
            Some(&s),
            Some(json!({"require_sso": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The organization's SSO settings are there (so the check looks at
    // them), sealed under the key file of `admit serve`.
    let text = stored().await;
    assert!(
        text.contains("https://idp.example.com"),
        "the settings are stored"
    );
    assert!(text.contains("wrapped_data_key") && text.contains("local:"));
    assert!(!text.contains(SECRET), "stored in clear ({backend:?})");

    // The key file sits in the data directory, for its owner only.
    let key = std::fs::metadata(data_dir.join("secret.key")).expect("the key file");
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    let Some(table) = &table else { return };
    // The same organization as stored before secrets were sealed.
    use aws_sdk_dynamodb::types::AttributeValue;
    let items = dynamodb.scan().table_name(table).send().await.unwrap();
    let mut item = items
        .items()
        .iter()
        .find(|i| i.get("sso").and_then(|v| v.as_m().ok()).is_some())
        .cloned()
        .expect("the organization's item");
    let mut sso = item["sso"].as_m().unwrap().clone();
    sso.insert("client_secret".into(), AttributeValue::S(SECRET.into()));
    item.insert("sso".into(), AttributeValue::M(sso));
    dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    assert!(stored().await.contains(SECRET), "the old form is in place");
    let (status, view) = app.get(&path, Some(&s)).await;
    assert_eq!(
        (status, view["client_secret_set"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{view}"
    );
    let (status, body) = app
        .call(
            "PUT",
            &policies,
            Some(&s),
            Some(json!({"require_sso": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = stored().await;
    assert!(!text.contains(SECRET), "sealed by the next settings write");
    assert!(text.contains("wrapped_data_key"));
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

/// `PUT` with `If-Match` (a raw request: the helpers send no headers).
async fn put_if_match(
    app: &TestApp,
    path: &str,
    session: &str,
    etag: Option<&str>,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app.http.put(app.url(path)).bearer_auth(session).json(&body);
    if let Some(e) = etag {
        req = req.header("If-Match", e);
    }
    let res = req.send().await.expect("admit answers");
    let status = res.status();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, res.json().await.unwrap_or(Value::Null))
}

async fn etag_of(app: &TestApp, path: &str, session: &str) -> String {
    let res = app
        .http
        .get(app.url(path))
        .bearer_auth(session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.headers()["etag"].to_str().unwrap().to_owned()
}

async fn concurrent_settings_edits_are_never_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let (sso, policies) = (format!("/orgs/{org}/sso"), format!("/orgs/{org}/policies"));
    let first = etag_of(&app, &sso, &s).await;
    assert_eq!(first, etag_of(&app, &format!("/orgs/{org}"), &s).await);

    // A write names the version it was computed from; a stale one is refused, whole.
    let (status, next, _) = put_if_match(
        &app,
        &policies,
        &s,
        Some(&first),
        json!({"jit_without_invitation": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let next = next.expect("a PUT answers its new ETag");
    assert_ne!(next, first);
    let (status, _, body) = put_if_match(&app, &sso, &s, Some(&first), oidc(true)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (_, view) = app.get(&sso, Some(&s)).await;
    assert!(
        view["protocol"].is_null(),
        "the stale edit changed nothing: {view}"
    );
    let (status, _, body) = put_if_match(&app, &sso, &s, Some("not-an-etag"), oidc(true)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // Two edits from the same version at once: exactly one lands.
    let (a, b) = tokio::join!(
        put_if_match(&app, &sso, &s, Some(&next), oidc(false)),
        put_if_match(
            &app,
            &policies,
            &s,
            Some(&next),
            json!({"require_sso": true})
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);

    // Without If-Match, concurrent edits of different settings all land.
    for round in 0..5 {
        let flag = round % 2 == 0;
        let (a, b) = tokio::join!(
            put_if_match(&app, &sso, &s, None, oidc(flag)),
            put_if_match(
                &app,
                &policies,
                &s,
                None,
                json!({"jit_without_invitation": flag})
            ),
        );
        assert_eq!(
            (a.0, b.0),
            (StatusCode::OK, StatusCode::OK),
            "{} {}",
            a.2,
            b.2
        );
        let (_, o) = app.get(&format!("/orgs/{org}"), Some(&s)).await;
        assert_eq!(
            (
                o["sso_enabled"].as_bool(),
                o["policies"]["jit_without_invitation"].as_bool()
            ),
            (Some(flag), Some(flag)),
            "neither edit was lost: {o}"
        );
    }
}
