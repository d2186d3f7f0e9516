//! Rate limits (docs/api.md "Rate limits"): past the budget of a client address
//! or of an account, 429 `rate_limited` with `Retry-After` — and even the
//! right password is refused until the window ends.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    one_address_past_its_budget_is_refused,
    an_account_past_its_failed_passwords_is_refused_even_with_the_right_one,
    only_a_trusted_proxy_names_the_client,
    wrong_operator_tokens_spend_the_address_budget
);

/// POST `body` to `path`, with `X-Forwarded-For` when given; the status,
/// the error code and `Retry-After`.
async fn post_from(
    app: &TestApp,
    path: &str,
    forwarded_for: Option<&str>,
    body: serde_json::Value,
) -> (StatusCode, Option<String>, Option<u64>) {
    let mut req = app.http.post(app.url(path)).json(&body);
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    let res = req.send().await.expect("admit answers");
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().expect("Retry-After is seconds"));
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"].as_str().map(str::to_owned),
        retry_after,
    )
}

fn lookup_body() -> serde_json::Value {
    json!({"token": "org_x.mem_y.not-a-token"})
}

async fn one_address_past_its_budget_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, |o| o.rate_limit_address = "5/1m".into()).await;
    for _ in 0..5 {
        let (status, code, _) = post_from(&app, "/invitations/lookup", None, lookup_body()).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{code:?}");
    }
    // The budget covers every sign-in endpoint of the address.
    for (path, body) in [
        ("/invitations/lookup", lookup_body()),
        (
            "/auth/login",
            json!({"email": "a@b.test", "master_password_hash": mp_hash("x")}),
        ),
        ("/sso/discover", json!({"email": "a@b.test"})),
    ] {
        let (status, code, retry_after) = post_from(&app, path, None, body).await;
        assert_eq!(
            (status, code.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "{path}"
        );
        let retry_after = retry_after.expect("a 429 says when to retry");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    // The HTML refusal page says so too.
    let res = app
        .http
        .get(app.url("/sso/start?identifier=acme"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

async fn an_account_past_its_failed_passwords_is_refused_even_with_the_right_one(backend: Backend) {
    let app = spawn_app_with(backend, |o| o.rate_limit_account = "3/15m".into()).await;
    let (org, owner_session) = app.org_with_owner(json!({})).await;
    let owner = app.owner_field(&org, &owner_session, "email").await;
    let login = |password: &'static str| json!({"email": owner.clone(), "master_password_hash": mp_hash(password)});
    for _ in 0..3 {
        let (status, code, _) = post_from(&app, "/auth/login", None, login("wrong")).await;
        assert_eq!(
            (status, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
    }
    let (status, code, retry_after) =
        post_from(&app, "/auth/login", None, login("owner password")).await;
    assert_eq!(
        (status, code.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "the right password is refused while the account is limited"
    );
    assert!(retry_after.is_some_and(|s| s > 0 && s <= 15 * 60));

    // Another account is not limited by this one's failures.
    let other = app.email(&format!("other-{}", unique()));
    let (status, _, _) = post_from(
        &app,
        "/auth/login",
        None,
        json!({"email": other, "master_password_hash": mp_hash("x")}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn only_a_trusted_proxy_names_the_client(backend: Backend) {
    // Not behind a trusted proxy: X-Forwarded-For is the client's own word, ignored.
    let app = spawn_app_with(backend, |o| o.rate_limit_address = "2/1m".into()).await;
    for (i, forwarded) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let (status, _, _) =
            post_from(&app, "/invitations/lookup", Some(forwarded), lookup_body()).await;
        assert_eq!(
            status == StatusCode::TOO_MANY_REQUESTS,
            i == 2,
            "request {i} counts against the socket's address"
        );
    }

    // Behind a trusted proxy (loopback here): each forwarded client has its own budget.
    let app = spawn_app_with(backend, |o| {
        o.rate_limit_address = "2/1m".into();
        o.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        let (status, _, _) = post_from(
            &app,
            "/invitations/lookup",
            Some("198.51.100.1"),
            lookup_body(),
        )
        .await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    let (status, _, _) = post_from(
        &app,
        "/invitations/lookup",
        Some("198.51.100.1, 127.0.0.1"),
        lookup_body(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the same client");
    let (status, _, _) = post_from(
        &app,
        "/invitations/lookup",
        Some("198.51.100.2"),
        lookup_body(),
    )
    .await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "another client");
}

async fn wrong_operator_tokens_spend_the_address_budget(backend: Backend) {
    let app = spawn_app_with(backend, |o| o.rate_limit_address = "3/1m".into()).await;
    let body = json!({"name": "Acme", "sso_identifier": format!("acme-{}", unique()), "owner_email": app.email("owner")});
    // The operator's own calls are never counted.
    for _ in 0..4 {
        let (status, reply) = app
            .post("/operator/owed-mail/run", Some(OPERATOR_TOKEN), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    for _ in 0..3 {
        let (status, _) = app
            .call(
                "POST",
                "/operator/orgs",
                Some("not-the-operator-token"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, reply) = app
        .call("POST", "/operator/orgs", Some(OPERATOR_TOKEN), Some(body))
        .await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "the right token is refused once wrong ones spent the budget"
    );
}
