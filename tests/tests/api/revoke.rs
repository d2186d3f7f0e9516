//! Revoking and restoring members: seats move in the same write, and a
//! revoked member is refused everywhere.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{sso_org, sso_sign_in};
use admit_tests::oidc::Browser;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    revoke_and_restore_move_seats,
    a_revoked_member_cannot_sign_in_with_sso,
    a_removed_member_needs_a_new_invitation,
);

async fn revoke_and_restore_move_seats(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({"limit": 3})).await;
    let (a, b, c) = (app.email("a"), app.email("b"), app.email("c"));
    app.invite(&org, &s, &[&a, &b], "user").await;
    let a_id = app.member(&org, &s, &a).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let occupied = |v: serde_json::Value| v["seats"]["occupied"].as_u64().unwrap();
    let path = |what: &str| format!("/orgs/{org}/members/{a_id}/{what}");

    let (st, body) = app.post(&path("revoke"), Some(&s), json!({})).await;
    assert_eq!(
        (st, body["status"].as_str()),
        (StatusCode::OK, Some("revoked")),
        "{body}"
    );
    assert_eq!(
        occupied(app.get(&format!("/orgs/{org}"), Some(&s)).await.1),
        2
    );
    // The revoked invitation opens nothing.
    let token = app.last_mail_to(&a).await.accept_token();
    assert_eq!(
        app.post("/invitations/lookup", None, json!({"token": token}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&path("revoke"), Some(&s), json!({})).await.0,
        StatusCode::CONFLICT
    );

    // The seat goes to someone else; restoring finds none, and nothing changes.
    assert_eq!(
        app.invite(&org, &s, &[&c], "user").await.0,
        StatusCode::CREATED
    );
    let (st, body) = app.post(&path("restore"), Some(&s), json!({})).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_seats"))
    );
    assert_eq!(app.member(&org, &s, &a).await["status"], "revoked");
    // Revoking c makes room; restoring a brings it back as invited, and a reinvite sends a new link.
    let c_id = app.member(&org, &s, &c).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/orgs/{org}/members/{c_id}/revoke"),
        Some(&s),
        json!({}),
    )
    .await;
    let (st, body) = app.post(&path("restore"), Some(&s), json!({})).await;
    assert_eq!(
        (st, body["status"].as_str()),
        (StatusCode::OK, Some("invited")),
        "{body}"
    );
    assert_eq!(
        occupied(app.get(&format!("/orgs/{org}"), Some(&s)).await.1),
        3
    );
    assert_eq!(
        app.post(&path("reinvite"), Some(&s), json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(app.accept_latest(&a, "pw", true).await.0, StatusCode::OK);

    // Nobody revokes themselves; a user may not revoke; another organization's owner sees nothing.
    let owner_id = app.owner_field(&org, &s, "member_id").await;
    assert_eq!(
        app.post(
            &format!("/orgs/{org}/members/{owner_id}/revoke"),
            Some(&s),
            json!({})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (_, other) = app.org_with_owner(json!({})).await;
    assert_eq!(
        app.post(&path("revoke"), Some(&other), json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            &format!("/orgs/{org}/members/mem_nope/revoke"),
            Some(&s),
            json!({})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let _ = b;
}

async fn a_revoked_member_cannot_sign_in_with_sso(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let rex = app.email("rex");
    let sign_in = || async { sso_sign_in(&app, &Browser::new(), &sso.ident, None, &rex).await };
    // Provisioned just in time and set up: linked and accepted.
    let first = sign_in().await;
    let token = first
        .location
        .as_deref()
        .unwrap()
        .split_once("setup_token=")
        .unwrap()
        .1
        .to_owned();
    let done = json!({"setup_token": token, "master_password_hash": mp_hash("rex pw"), "kdf": kdf(),
                      "keys": admit_tests::keys::keys_json()});
    assert_eq!(
        app.post("/setup/master-password", None, done).await.0,
        StatusCode::OK
    );
    assert_eq!(
        sign_in().await.location.as_deref(),
        Some(app.url("/done").as_str())
    );
    // Row 3: linked and revoked → refused, and nothing changes.
    let id = app.member(&sso.org, &sso.session, &rex).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/orgs/{}/members/{id}/revoke", sso.org),
        Some(&sso.session),
        json!({}),
    )
    .await;
    let before = app.members(&sso.org, &sso.session).await;
    let page = sign_in().await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{page:?}");
    assert!(
        page.body
            .contains(r#"<code id="error-code">revoked</code>"#),
        "{}",
        page.body
    );
    assert_eq!(app.members(&sso.org, &sso.session).await, before);
}

async fn a_removed_member_needs_a_new_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({})).await;
    let rae = app.email("rae");
    let sign_in = || async { sso_sign_in(&app, &Browser::new(), &sso.ident, None, &rae).await };
    let first = sign_in().await;
    assert!(
        first
            .location
            .as_deref()
            .unwrap()
            .contains("/setup#setup_token=")
    );
    let id = app.member(&sso.org, &sso.session, &rae).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, settings) = app
        .get(&format!("/orgs/{}", sso.org), Some(&sso.session))
        .await;
    assert_eq!(settings["seats"]["occupied"], 2);
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/orgs/{}/members/{id}", sso.org),
            Some(&sso.session),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, settings) = app
        .get(&format!("/orgs/{}", sso.org), Some(&sso.session))
        .await;
    assert_eq!(settings["seats"]["occupied"], 1, "the seat is free again");
    // Row 4: the identity is still linked, but there is no membership any more.
    let page = sign_in().await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{page:?}");
    assert!(
        page.body
            .contains(r#"<code id="error-code">membership_required</code>"#),
        "{}",
        page.body
    );
    assert!(
        app.members(&sso.org, &sso.session)
            .await
            .iter()
            .all(|m| m["email"] != rae.as_str())
    );
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/orgs/{}/members/{id}", sso.org),
            Some(&sso.session),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}
