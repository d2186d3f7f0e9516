//! Bad input gets a clear 4xx JSON error and changes nothing.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    malformed_bodies_are_refused,
    invitation_lists_are_checked_per_email,
    no_seats_writes_nothing,
    bad_tokens_open_nothing,
    expired_invitations_say_so,
    wrong_master_passwords_are_refused,
    confirming_a_member_who_has_not_accepted,
    sessions_and_roles_guard_every_admin_route,
    operator_api_is_guarded,
    every_json_body_must_be_an_object,
    arrays_in_place_of_objects_change_nothing,
    keys_are_printable_ascii,
);

/// Calls `f`, then checks the organization looks exactly as before.
async fn unchanged<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    org: &str,
    session: &str,
    f: F,
) {
    let before = app.snapshot(org, session).await;
    f.await;
    assert_eq!(app.snapshot(org, session).await, before, "state changed");
}

fn assert_error(got: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

async fn raw_post(
    app: &TestApp,
    path: &str,
    session: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url(path))
        .bearer_auth(session)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn malformed_bodies_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({"limit": 5})).await;
    let path = format!("/orgs/{org}/invitations");
    let someone = app.email("someone");
    unchanged(&app, &org, &s, async {
        assert_error(
            raw_post(
                &app,
                &path,
                &s,
                "application/json",
                b"{\"emails\": [".to_vec(),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            raw_post(
                &app,
                &path,
                &s,
                "text/plain",
                json!({"emails": [someone], "role": "user"})
                    .to_string()
                    .into_bytes(),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(&path, Some(&s), json!({"emails": someone, "role": "user"}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(&path, Some(&s), json!({"emails": [someone], "role": 3}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &path,
                Some(&s),
                json!({"emails": [someone], "role": "boss"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &path,
                Some(&s),
                json!({"emails": [someone], "role": "owner"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &path,
                Some(&s),
                json!({"emails": [someone], "role": "user", "admin": true}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(&path, Some(&s), json!({"emails": [], "role": "user"}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        let many: Vec<String> = (0..101).map(|i| app.email(&format!("x{i}"))).collect();
        assert_error(
            app.post(&path, Some(&s), json!({"emails": many, "role": "user"}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        let huge = json!({"emails": [someone], "role": "user", "pad": "x".repeat(70 * 1024)})
            .to_string()
            .into_bytes();
        assert_error(
            raw_post(&app, &path, &s, "application/json", huge).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );
        assert_error(
            app.post("/invitations/accept", None, json!({"token": 5}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                "/auth/login",
                None,
                json!({"email": "not-an-email", "master_password_hash": mp_hash("x")}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                "/auth/login",
                None,
                json!({"email": someone, "master_password_hash": "c2hvcnQ="}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.get("/no/such/path", None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            app.get(&format!("/orgs/{org}/members?status=dancing"), Some(&s))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.get(&format!("/orgs/{org}/members?cursor=bogus"), Some(&s))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    })
    .await;
}

async fn invitation_lists_are_checked_per_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let (a, b) = (app.email("a"), app.email("b"));
    app.invite(&org, &s, &[&a], "user").await;
    let owner = app.owner_field(&org, &s, "email").await;
    let (status, body) = app
        .invite(
            &org,
            &s,
            &["not an email", &b, &a, &b.to_uppercase(), &owner, "x@y"],
            "admin",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["invited"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["email"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![b.as_str()]
    );
    let reasons: Vec<(String, String)> = body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["email"].as_str().unwrap().to_owned(),
                x["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("not an email".to_owned(), "invalid_email"),
        ("x@y".to_owned(), "invalid_email"),
        (b.clone(), "duplicate"),
        (a.clone(), "already_member"),
        (owner.clone(), "already_member"),
    ] {
        assert!(
            reasons.contains(&(expected.0.clone(), expected.1.to_owned())),
            "{expected:?} in {reasons:?}"
        );
    }
    assert_eq!(reasons.len(), 5);
    assert_eq!(app.member(&org, &s, &b).await["role"], "admin");
    // Nothing but skips: 201 with nothing invited and no change.
    unchanged(&app, &org, &s, async {
        let (status, body) = app.invite(&org, &s, &[&a, "bad"], "user").await;
        assert_eq!(
            (status, body["invited"].clone()),
            (StatusCode::CREATED, json!([]))
        );
    })
    .await;
}

async fn no_seats_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({"limit": 3})).await;
    let (a, b, c) = (app.email("a"), app.email("b"), app.email("c"));
    unchanged(&app, &org, &s, async {
        assert_error(
            app.invite(&org, &s, &[&a, &b, &c], "user").await,
            StatusCode::CONFLICT,
            "no_seats",
        );
    })
    .await;
    assert_eq!(
        app.invite(&org, &s, &[&a, &b], "user").await.0,
        StatusCode::CREATED
    );
    unchanged(&app, &org, &s, async {
        assert_error(
            app.invite(&org, &s, &[&c], "user").await,
            StatusCode::CONFLICT,
            "no_seats",
        );
    })
    .await;
}

async fn bad_tokens_open_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let who = app.email("member");
    app.invite(&org, &s, &[&who], "user").await;
    let token = app.last_mail_to(&who).await.accept_token();
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let other_org = token.replacen("org_", "org_0", 1);
    unchanged(&app, &org, &s, async {
        for bad in [
            tampered.as_str(),
            "garbage",
            "",
            other_org.as_str(),
            &token[..token.len() - 1],
        ] {
            assert_error(
                app.post("/invitations/lookup", None, json!({"token": bad}))
                    .await,
                StatusCode::NOT_FOUND,
                "not_found",
            );
            let accept = json!({"token": bad, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
            assert_error(
                app.post("/invitations/accept", None, accept).await,
                StatusCode::NOT_FOUND,
                "not_found",
            );
        }
    })
    .await;
    let (status, _) = app.accept_latest(&who, "pw", true).await;
    assert_eq!(status, StatusCode::OK);
    unchanged(&app, &org, &s, async {
        assert_error(
            app.post("/invitations/lookup", None, json!({"token": token}))
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let again = json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
        assert_error(
            app.post("/invitations/accept", None, again).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    })
    .await;
}

async fn expired_invitations_say_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let who = app.email("late");
    app.invite(&org, &s, &[&who], "user").await;
    let token = app.last_mail_to(&who).await.accept_token();
    let owner = app.owner_field(&org, &s, "email").await;
    app.clock
        .advance(time::Duration::days(5) + time::Duration::seconds(1));
    let s = app.login(&owner, "owner password").await;
    unchanged(&app, &org, &s, async {
        assert_error(
            app.post("/invitations/lookup", None, json!({"token": token}))
                .await,
            StatusCode::GONE,
            "expired",
        );
        let accept = json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
        assert_error(
            app.post("/invitations/accept", None, accept).await,
            StatusCode::GONE,
            "expired",
        );
    })
    .await;
    let m = app.member(&org, &s, &who).await;
    assert_eq!(m["invitation_expired"], true);
}

async fn wrong_master_passwords_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let owner = app.members(&org, &s).await[0]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    // An account that exists elsewhere is invited here.
    let pat = app.email("pat");
    app.create_org("Other", &pat, json!({})).await;
    app.accept_latest(&pat, "right", true).await;
    app.invite(&org, &s, &[&pat], "user").await;
    unchanged(&app, &org, &s, async {
        assert_error(
            app.accept_latest(&pat, "wrong", false).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        for (email, pw) in [
            (owner.clone(), "wrong"),
            (app.email("nobody"), "owner password"),
        ] {
            let login = json!({"email": email, "master_password_hash": mp_hash(pw)});
            assert_error(
                app.post("/auth/login", None, login).await,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            );
        }
    })
    .await;
    assert_eq!(app.member(&org, &s, &pat).await["status"], "invited");
}

async fn confirming_a_member_who_has_not_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let who = app.email("pending");
    app.invite(&org, &s, &[&who], "user").await;
    let id = app.member(&org, &s, &who).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_id = app.owner_field(&org, &s, "member_id").await;
    unchanged(&app, &org, &s, async {
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/{id}/confirm"),
                Some(&s),
                json!({"key": "k"}),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/{owner_id}/confirm"),
                Some(&s),
                json!({"key": "k"}),
            )
            .await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/{id}/confirm"),
                Some(&s),
                json!({"key": ""}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/{id}/confirm"),
                Some(&s),
                json!({}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/mem_nope/confirm"),
                Some(&s),
                json!({"key": "k"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/members/confirm"),
                Some(&s),
                json!({"keys": []}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        let (status, body) = app
            .post(
                &format!("/orgs/{org}/members/confirm"),
                Some(&s),
                json!({"keys": [{"member_id": id, "key": "k"}]}),
            )
            .await;
        assert_eq!(
            (status, body["results"][0]["error"].as_str()),
            (StatusCode::OK, Some("conflict"))
        );
    })
    .await;
}

async fn sessions_and_roles_guard_every_admin_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let (other_org, other_owner) = app.org_with_owner(json!({})).await;
    // A confirmed `user` of the organization.
    let user = app.email("user");
    app.invite(&org, &s, &[&user], "user").await;
    app.accept_latest(&user, "pw", true).await;
    let uid = app.member(&org, &s, &user).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/orgs/{org}/members/{uid}/confirm"),
        Some(&s),
        json!({"key": "k"}),
    )
    .await;
    let user_session = app.login(&user, "pw").await;
    let target = app.email("target");
    app.invite(&org, &s, &[&target], "user").await;
    let tid = app.member(&org, &s, &target).await["member_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/orgs/{org}"), None),
        (
            "POST",
            format!("/orgs/{org}/invitations"),
            Some(json!({"emails": [app.email("new")], "role": "user"})),
        ),
        ("GET", format!("/orgs/{org}/members"), None),
        (
            "POST",
            format!("/orgs/{org}/members/{tid}/reinvite"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/orgs/{org}/members/{tid}/confirm"),
            Some(json!({"key": "k"})),
        ),
        (
            "POST",
            format!("/orgs/{org}/members/confirm"),
            Some(json!({"keys": [{"member_id": tid, "key": "k"}]})),
        ),
    ];
    let fake = "A".repeat(43);
    unchanged(&app, &org, &s, async {
        for (method, path, body) in &routes {
            assert_error(
                app.call(method, path, None, body.clone()).await,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            );
            assert_error(
                app.call(method, path, Some(&fake), body.clone()).await,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
            );
            assert_error(
                app.call(method, path, Some(&user_session), body.clone())
                    .await,
                StatusCode::FORBIDDEN,
                "forbidden",
            );
            assert_error(
                app.call(method, path, Some(&other_owner), body.clone())
                    .await,
                StatusCode::NOT_FOUND,
                "not_found",
            );
            let missing = path.replace(&org, "org_00000000000000000000000000000000");
            assert_error(
                app.call(method, &missing, Some(&s), body.clone()).await,
                StatusCode::NOT_FOUND,
                "not_found",
            );
        }
        assert_error(
            app.get("/me", None).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
        assert_error(
            app.post("/auth/logout", Some(&fake), json!({})).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    })
    .await;
    // The other organization's owner still administers its own.
    assert_eq!(
        app.get(&format!("/orgs/{other_org}"), Some(&other_owner))
            .await
            .0,
        StatusCode::OK
    );
}

async fn operator_api_is_guarded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let (_, settings) = app.get(&format!("/orgs/{org}"), Some(&s)).await;
    let taken = settings["sso_identifier"].as_str().unwrap().to_owned();
    let body = |ident: &str, email: String| json!({"name": "N", "sso_identifier": ident, "owner_email": email});
    unchanged(&app, &org, &s, async {
        assert_error(app.post("/operator/orgs", None, body("fresh-one", app.email("o"))).await, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_error(app.post("/operator/orgs", Some("wrong"), body("fresh-one", app.email("o"))).await, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_error(app.post("/operator/orgs", Some(&s), body("fresh-one", app.email("o"))).await, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_error(app.post("/operator/orgs", Some(OPERATOR_TOKEN), body(&taken, app.email("o"))).await, StatusCode::CONFLICT, "conflict");
        assert_error(app.post("/operator/orgs", Some(OPERATOR_TOKEN), body("Bad Ident!", app.email("o"))).await, StatusCode::BAD_REQUEST, "invalid_request");
        assert_error(app.post("/operator/orgs", Some(OPERATOR_TOKEN), body("fresh-one", "nope".into())).await, StatusCode::BAD_REQUEST, "invalid_request");
        let zero = json!({"name": "N", "sso_identifier": "fresh-two", "owner_email": app.email("o"), "seats": {"limit": 0}});
        assert_error(app.post("/operator/orgs", Some(OPERATOR_TOKEN), zero).await, StatusCode::BAD_REQUEST, "invalid_request");
    })
    .await;
    // Nothing was created under the refused identifiers.
    let (status, _) = app
        .post(
            "/operator/orgs",
            Some(OPERATOR_TOKEN),
            body("fresh-one", app.email("o")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Without an operator token configured, the operator API does not exist.
    let closed = spawn_app_with(Backend::Embedded, |o| o.operator_token = None).await;
    assert_error(
        closed
            .post(
                "/operator/orgs",
                Some(OPERATOR_TOKEN),
                body("fresh-three", closed.email("o")),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

/// Every operation of `openapi.yaml` whose request body is JSON, as
/// `(METHOD, path template)`: a route added to the contract is walked here too.
fn json_body_routes() -> Vec<(String, String)> {
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    let spec = serde_json::to_value(yaml).expect("openapi.yaml maps to JSON");
    let mut routes = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("openapi.yaml has paths") {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// Where the contract shows an object, an array, a string, a number, a
/// boolean or `null` is 400 `invalid_request`, on every route with a JSON
/// body. Each is called as one that gets past its other checks would be: the
/// owner's session (the operator token under `/operator`), ids of a real
/// organization and member, so what refuses is the body.
async fn every_json_body_must_be_an_object(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({"limit": 5})).await;
    let who = app.email("accepted");
    app.invite(&org, &s, &[&who], "user").await;
    app.accept_latest(&who, "pw", true).await;
    let member = app.member_id(&org, &s, &who).await;
    let routes = json_body_routes();
    assert!(routes.len() >= 15, "{routes:?}");
    unchanged(&app, &org, &s, async {
        for (method, template) in &routes {
            let path = template
                .replace("{org}", &org)
                .replace("{member}", &member)
                .replace("{domain}", &app.domain);
            assert!(
                !path.contains('{'),
                "{method} {template}: give this test a value for its parameter"
            );
            let token = if path.starts_with("/operator/") {
                OPERATOR_TOKEN
            } else {
                s.as_str()
            };
            for body in [
                json!([]),
                json!(["x", "y"]),
                json!([{}]),
                json!("x"),
                json!(5),
                json!(true),
                Value::Null,
            ] {
                let got = app
                    .call(method, &path, Some(token), Some(body.clone()))
                    .await;
                assert!(
                    got.0 == StatusCode::BAD_REQUEST && got.1["error"] == "invalid_request",
                    "{method} {template} with {body}: {} {}",
                    got.0,
                    got.1
                );
            }
        }
    })
    .await;
}

/// The attacker's reproductions: the same fields in an array sign nobody in,
/// set no policy and invite nobody; an array where a nested object belongs
/// (`seats`, `kdf`, `keys`) is refused too.
async fn arrays_in_place_of_objects_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({"limit": 5})).await;
    let owner = app.owner_field(&org, &s, "email").await;
    let someone = app.email("someone");
    unchanged(&app, &org, &s, async {
        // The right credentials, as an array: no session, no cookie.
        let res = app
            .http
            .post(app.url("/auth/login"))
            .json(&json!([owner, mp_hash("owner password")]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get("set-cookie").is_none());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert!(body.get("session_token").is_none(), "{body}");
        assert_error(
            app.call(
                "PUT",
                &format!("/orgs/{org}/policies"),
                Some(&s),
                Some(json!([true, false])),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
        assert_error(
            app.post(
                &format!("/orgs/{org}/invitations"),
                Some(&s),
                json!([[someone], "user"]),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    })
    .await;
    // The policies and the member list are as they were (checked above), and
    // the same pair as an object does sign in.
    app.login(&owner, "owner password").await;
    assert!(app.mails_to(&someone).await.is_empty());

    // `seats` as an array: no organization is created under that identifier.
    let ident = format!("o-{}", unique());
    let new_owner = app.email("new-owner");
    let create = |seats: Value| json!({"name": "N", "sso_identifier": ident, "owner_email": new_owner, "seats": seats});
    for seats in [json!([5, 10]), json!([{"limit": 5}])] {
        assert_error(
            app.post("/operator/orgs", Some(OPERATOR_TOKEN), create(seats))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    assert!(app.mails_to(&new_owner).await.is_empty());
    let (status, body) = app
        .post(
            "/operator/orgs",
            Some(OPERATOR_TOKEN),
            create(json!({"limit": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // `kdf` and `keys` as arrays: the invitation stays open.
    let who = app.email("invited");
    app.invite(&org, &s, &[&who], "user").await;
    let token = app.last_mail_to(&who).await.accept_token();
    let accept = |kdf: Value, keys: Value| json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf, "keys": keys});
    let keys = admit_tests::keys::keys_json();
    unchanged(&app, &org, &s, async {
        for body in [
            accept(json!(["pbkdf2_sha256", 600000]), keys.clone()),
            accept(kdf(), json!(["u", "p", "e"])),
        ] {
            assert_error(
                app.post("/invitations/accept", None, body).await,
                StatusCode::BAD_REQUEST,
                "invalid_request",
            );
        }
    })
    .await;
    assert_eq!(app.member(&org, &s, &who).await["status"], "invited");
    let (status, body) = app
        .post("/invitations/accept", None, accept(kdf(), keys))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Opaque keys are printable ASCII without spaces (`!` to `~`): a NUL, a
/// space, a newline or a non-ASCII character is refused and nothing stored.
async fn keys_are_printable_ascii(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, s) = app.org_with_owner(json!({})).await;
    let who = app.email("accepted");
    app.invite(&org, &s, &[&who], "user").await;
    app.accept_latest(&who, "pw", true).await;
    let id = app.member_id(&org, &s, &who).await;
    let one = format!("/orgs/{org}/members/{id}/confirm");
    let many = format!("/orgs/{org}/members/confirm");
    unchanged(&app, &org, &s, async {
        for bad in ["k\0ey", "cl\u{e9}", "\u{1F511}", "a key", "key\n", "\u{7f}"] {
            assert_error(
                app.post(&one, Some(&s), json!({"key": bad})).await,
                StatusCode::BAD_REQUEST,
                "invalid_request",
            );
            let keys = json!({"keys": [{"member_id": id, "key": bad}]});
            assert_error(
                app.post(&many, Some(&s), keys).await,
                StatusCode::BAD_REQUEST,
                "invalid_request",
            );
        }
    })
    .await;
    assert_eq!(app.member(&org, &s, &who).await["status"], "accepted");
    let (status, body) = app
        .post(&one, Some(&s), json!({"key": "2.aXY=|ZGF0YQ==|bWFj"}))
        .await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("confirmed")),
        "{body}"
    );

    // The keys an account is created with, likewise.
    let other = app.email("other");
    app.invite(&org, &s, &[&other], "user").await;
    let token = app.last_mail_to(&other).await.accept_token();
    let with_keys = |user_key: &str| {
        json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf(),
        "keys": {"user_key": user_key, "public_key": admit_tests::keys::PUBLIC_KEY, "encrypted_private_key": "e"}})
    };
    unchanged(&app, &org, &s, async {
        for bad in ["u\0", "\u{fc}", "u k"] {
            assert_error(
                app.post("/invitations/accept", None, with_keys(bad)).await,
                StatusCode::BAD_REQUEST,
                "invalid_request",
            );
        }
    })
    .await;
    assert_eq!(app.member(&org, &s, &other).await["status"], "invited");
}
