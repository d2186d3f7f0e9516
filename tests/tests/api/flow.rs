//! The walking skeleton's flow, end to end: the operator creates an
//! organization, the owner accepts, invites two people — one who already has
//! an account, one who doesn't — both accept, and the owner confirms them.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    invite_accept_confirm,
    a_failed_send_leaves_the_invitation_owed,
    reinvite_replaces_the_token,
    logout_ends_the_session,
    browser_sessions_use_a_host_only_cookie,
    concurrent_accepts_of_one_invitation,
    concurrent_invitations_never_oversubscribe,
    listing_pages_through_members,
);

async fn invite_accept_confirm(backend: Backend) {
    let app = spawn_app(backend).await;

    // The operator creates the organization; its owner is emailed.
    let owner = app.email("owner");
    let org = app
        .create_org("Acme & Co", &owner, json!({"limit": 10}))
        .await;
    let mail = app.last_mail_to(&owner).await;
    assert!(mail.subject.contains("Acme & Co"), "{}", mail.subject);
    assert!(mail.text.contains("Finish account setup"), "{}", mail.text);
    assert!(
        mail.html.contains("Acme &amp; Co"),
        "the HTML part escapes the name"
    );

    // The owner opens the link and sets a master password: confirmed at once.
    let token = mail.accept_token();
    let (s, inv) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(s, StatusCode::OK, "{inv}");
    assert_eq!(
        (
            inv["org_id"].as_str(),
            inv["email"].as_str(),
            inv["account_exists"].as_bool()
        ),
        (Some(org.as_str()), Some(owner.as_str()), Some(false))
    );
    assert_eq!(inv["sso"]["enabled"], false);
    let (s, body) = app
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "master_password_hash": mp_hash("owner pw"), "kdf": kdf()}),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    let session = app.login(&owner, "owner pw").await;
    let (s, me) = app.get("/me", Some(&session)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["memberships"][0]["role"], "owner");
    assert_eq!(me["memberships"][0]["status"], "confirmed");
    assert_eq!(me["memberships"][0]["org_name"], "Acme & Co");

    // Pat has an account already (owner of another organization).
    let pat = app.email("pat");
    app.create_org("Globex", &pat, json!({})).await;
    let (s, _) = app.accept_latest(&pat, "pat pw", true).await;
    assert_eq!(s, StatusCode::OK);

    // The owner invites Pat and a newcomer.
    let newcomer = app.email("newcomer");
    let (s, body) = app
        .invite(&org, &session, &[&pat, &newcomer.to_uppercase()], "user")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["invited"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["skipped"], json!([]));
    let to_pat = app.last_mail_to(&pat).await;
    assert!(
        to_pat.text.contains("Accept invitation") && !to_pat.text.contains("Finish account setup"),
        "{}",
        to_pat.text
    );
    assert!(to_pat.text.contains("Acme & Co"));
    assert!(
        to_pat.text.contains(" UTC"),
        "the expiry date is stated in UTC"
    );
    let to_new = app.last_mail_to(&newcomer).await;
    assert!(
        to_new.text.contains("Finish account setup"),
        "{}",
        to_new.text
    );
    let listed = app.member(&org, &session, &pat).await;
    assert_eq!(
        (
            listed["status"].as_str(),
            listed["invitation_sent"].as_bool()
        ),
        (Some("invited"), Some(true))
    );

    // Pat accepts with its existing master password; a wrong one is refused.
    let (s, body) = app.accept_latest(&pat, "not pat's", false).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (s, body) = app.accept_latest(&pat, "pat pw", false).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    let notice = app.last_mail_to(&owner).await;
    assert!(
        notice.text.contains(&pat) && notice.text.contains("confirmation"),
        "{}",
        notice.text
    );

    // The newcomer registers through the invitation (no SSO in this organization).
    let (s, body) = app.accept_latest(&newcomer, "newcomer pw", true).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );

    // The owner confirms Pat alone, then the newcomer in bulk.
    let pat_id = app.member(&org, &session, &pat).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_id = app.member(&org, &session, &newcomer).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{pat_id}/confirm"),
            Some(&session),
            json!({"key": "org-key-for-pat"}),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({"status": "confirmed"})));
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/confirm"),
            Some(&session),
            json!({"keys": [{"member_id": new_id, "key": "k"}, {"member_id": pat_id, "key": "k"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!([{"member_id": new_id, "status": "confirmed"}, {"member_id": pat_id, "error": "conflict"}])
    );
    assert!(app.last_mail_to(&pat).await.text.contains("confirmed"));
    assert!(app.last_mail_to(&newcomer).await.text.contains("confirmed"));

    let members = app.members(&org, &session).await;
    assert_eq!(members.len(), 3);
    assert!(
        members.iter().all(|m| m["status"] == "confirmed"),
        "{members:?}"
    );
    let (_, settings) = app.get(&format!("/orgs/{org}"), Some(&session)).await;
    assert_eq!(settings["seats"]["occupied"], 3);

    // Pat sees both organizations.
    let pat_session = app.login(&pat, "pat pw").await;
    let (_, me) = app.get("/me", Some(&pat_session)).await;
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2);
}

async fn a_failed_send_leaves_the_invitation_owed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    app.break_mail_delivery().await;
    let who = app.email("unlucky");
    let (s, body) = app.invite(&org, &session, &[&who], "user").await;
    assert_eq!(s, StatusCode::CREATED, "the request succeeds: {body}");
    assert_eq!(body["invited"][0]["email"], who.as_str());
    let m = app.member(&org, &session, &who).await;
    assert_eq!(
        (m["status"].as_str(), m["invitation_sent"].as_bool()),
        (Some("invited"), Some(false))
    );
    assert!(app.mails_to(&who).await.is_empty());
}

async fn reinvite_replaces_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let who = app.email("slow");
    app.invite(&org, &session, &[&who], "user").await;
    let old = app.last_mail_to(&who).await.accept_token();
    let id = app.member(&org, &session, &who).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{id}/reinvite"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let new = app.last_mail_to(&who).await.accept_token();
    assert_ne!(old, new);
    assert_eq!(
        app.post("/invitations/lookup", None, json!({"token": old}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post("/invitations/lookup", None, json!({"token": new}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.mails_to(&who).await.len(), 2);
    // An accepted member cannot be reinvited.
    app.accept_latest(&who, "pw", true).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{id}/reinvite"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, session) = app.org_with_owner(json!({})).await;
    assert_eq!(app.get("/me", Some(&session)).await.0, StatusCode::OK);
    let (s, _) = app.post("/auth/logout", Some(&session), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/me", Some(&session)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Sessions expire.
    let (_, session) = app.org_with_owner(json!({})).await;
    app.clock.advance(time::Duration::hours(13));
    assert_eq!(
        app.get("/me", Some(&session)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn concurrent_accepts_of_one_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let who = app.email("racer");
    app.invite(&org, &session, &[&who], "user").await;
    let token = app.last_mail_to(&who).await.accept_token();
    let body = json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
    let results = futures::future::join_all(
        (0..20).map(|_| app.post("/invitations/accept", None, body.clone())),
    )
    .await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK
            || *s == StatusCode::NOT_FOUND
            || *s == StatusCode::CONFLICT),
        "{results:?}"
    );
    assert_eq!(app.member(&org, &session, &who).await["status"], "accepted");
}

async fn concurrent_invitations_never_oversubscribe(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({"limit": 11})).await;
    let emails: Vec<String> = (0..30).map(|i| app.email(&format!("seat{i}"))).collect();
    let path = format!("/orgs/{org}/invitations");
    let results = futures::future::join_all(emails.iter().map(|e| {
        app.post(
            &path,
            Some(&session),
            json!({"emails": [e], "role": "user"}),
        )
    }))
    .await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["error"] == "no_seats")
        .count();
    assert_eq!((created, refused), (10, 20), "{results:?}");
    assert_eq!(app.members(&org, &session).await.len(), 11);
    let (_, settings) = app.get(&format!("/orgs/{org}"), Some(&session)).await;
    assert_eq!(settings["seats"]["occupied"], 11);
}

async fn listing_pages_through_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let emails: Vec<String> = (0..120).map(|i| app.email(&format!("m{i:03}"))).collect();
    let (first, second) = emails.split_at(100);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    assert_eq!(
        app.invite(&org, &session, &first, "user").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.invite(&org, &session, &second, "admin").await.0,
        StatusCode::CREATED
    );
    let (s, page) = app
        .get(&format!("/orgs/{org}/members"), Some(&session))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["members"].as_array().unwrap().len(), 50);
    assert!(page["next_cursor"].is_string());
    let all = app.members(&org, &session).await;
    assert_eq!(all.len(), 121);
    let mut ids: Vec<_> = all
        .iter()
        .map(|m| m["member_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 121);
    let (s, invited) = app
        .get(
            &format!("/orgs/{org}/members?status=invited"),
            Some(&session),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        invited["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "invited")
    );
    assert_eq!(
        app.mails()
            .await
            .iter()
            .filter(|m| m.text.contains("/accept?token="))
            .count(),
        121
    );
}

async fn browser_sessions_use_a_host_only_cookie(backend: Backend) {
    // Behind https, the session cookie is `__Host-` prefixed, Secure, HttpOnly, SameSite=Strict.
    let app = spawn_app_with(backend, |o| {
        o.public_url = Some("https://admit.example.com".into())
    })
    .await;
    let owner = app.email("owner");
    app.create_org("Acme", &owner, json!({})).await;
    app.accept_latest(&owner, "pw", true).await;
    let res = app
        .http
        .post(app.url("/auth/login"))
        .json(&json!({"email": owner, "master_password_hash": mp_hash("pw")}))
        .send()
        .await
        .unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-admit_session="), "{set}");
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let pair = set.split(';').next().unwrap().to_owned();
    let me = app
        .http
        .get(app.url("/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let bare = pair.replacen("__Host-", "", 1);
    let me = app
        .http
        .get(app.url("/me"))
        .header("cookie", bare)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the unprefixed name is not accepted on https"
    );
}
