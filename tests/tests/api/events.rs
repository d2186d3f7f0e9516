//! The audit log over HTTP (`GET /orgs/{org}/events`), on both backends:
//! every change writes exactly one event of its type, actor and member, a
//! write refused by its condition writes none, only an organization's
//! administrators read its log, and the listing pages and filters exactly.
//! SSO sign-ins of both protocols, against the real providers, are on the
//! record too.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{refused_with, set_master_password, setup_token, sso_org, sso_sign_in};
use crate::sso_saml::{claim_domain, saml_org, sign_in as saml_sign_in};
use admit_app::Clock;
use admit_domain::Timestamp;
use admit_tests::oidc::Browser;
use admit_tests::saml::SamlIdp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

on_both_backends!(
    each_change_writes_one_event_of_its_type_actor_and_member,
    failed_logins_are_recorded_where_the_account_is_a_member,
    refused_writes_write_no_event,
    only_administrators_read_the_log_and_bad_filters_are_refused,
    the_log_pages_newest_first_and_filters_exactly,
    organizations_never_see_each_others_events,
    oidc_sign_ins_are_on_the_record,
    saml_sign_ins_are_on_the_record,
);

/// Events per page of the listing (the contract's).
const PAGE: usize = 100;

/// One page of `org`'s log as `session` (if any) reads it, `filters` as the query.
pub(crate) async fn events_page(
    app: &TestApp,
    org: &str,
    session: Option<&str>,
    filters: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .get(app.url(&format!("/orgs/{org}/events")))
        .query(filters);
    if let Some(s) = session {
        req = req.bearer_auth(s);
    }
    let res = req.send().await.expect("admit answers");
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every event of `org` matching `filters`, through the pages (`next_cursor`
/// passed with the same filters): each page full unless it is the last, each
/// event once, newest first.
pub(crate) async fn all_events(
    app: &TestApp,
    org: &str,
    session: &str,
    filters: &[(&str, &str)],
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query: Vec<(&str, &str)> = filters.to_vec();
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let (s, body) = events_page(app, org, Some(session), &query).await;
        assert_eq!(s, StatusCode::OK, "{filters:?}: {body}");
        let page = body["events"].as_array().expect("an events array").clone();
        assert!(page.len() <= PAGE, "at most {PAGE} a page: {}", page.len());
        all.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page.len(), PAGE, "a page is full unless it is the last");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    assert_newest_first(&all);
    all
}

/// Strictly newest first by (time, id), so no event is listed twice.
fn assert_newest_first(events: &[Value]) {
    let position = |e: &Value| {
        let at = Timestamp::parse(e["at"].as_str().expect("an `at`")).expect("RFC 3339");
        (at, e["id"].as_str().expect("an id").to_owned())
    };
    for pair in events.windows(2) {
        assert!(
            position(&pair[0]) > position(&pair[1]),
            "newest first, each once: {:#} before {:#}",
            pair[0],
            pair[1]
        );
    }
}

fn ids(events: &[Value]) -> HashSet<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// What an organization's log gained since the last look.
pub(crate) struct Watch {
    org: String,
    session: String,
    seen: HashSet<String>,
}

impl Watch {
    pub(crate) async fn new(app: &TestApp, org: &str, session: &str) -> Watch {
        let seen = ids(&all_events(app, org, session, &[]).await);
        Watch {
            org: org.to_owned(),
            session: session.to_owned(),
            seen,
        }
    }

    /// The events written since the last look, newest first; none of those
    /// seen before is gone.
    pub(crate) async fn added(&mut self, app: &TestApp) -> Vec<Value> {
        let all = all_events(app, &self.org, &self.session, &[]).await;
        let now = ids(&all);
        assert!(self.seen.is_subset(&now), "an event disappeared");
        let new: Vec<Value> = all
            .into_iter()
            .filter(|e| !self.seen.contains(e["id"].as_str().unwrap()))
            .collect();
        self.seen = now;
        new
    }

    /// The one event `what` wrote: of type `kind`, at the app's time.
    pub(crate) async fn one(&mut self, app: &TestApp, kind: &str, what: &str) -> Value {
        let new = self.added(app).await;
        assert_eq!(new.len(), 1, "{what}: exactly one new event: {new:#?}");
        assert_eq!(new[0]["type"], kind, "{what}: {:#}", new[0]);
        assert_eq!(
            new[0]["at"],
            app.clock.now().rfc3339(),
            "{what}: at the app's time"
        );
        new[0].clone()
    }

    pub(crate) async fn none(&mut self, app: &TestApp, what: &str) {
        let new = self.added(app).await;
        assert!(new.is_empty(), "{what} wrote no event: {new:#?}");
    }
}

fn user(user_id: &str, email: &str) -> Value {
    json!({"kind": "user", "user_id": user_id, "email": email})
}

/// The actor of `sso.jit_created`: the person signing in, named by the
/// asserted email (no account existed before the sign-in), or by the account
/// it created — never anyone else's.
fn jit_actor(e: &Value, new_user_id: &str, email: &str) -> Value {
    match e["actor"].get("user_id") {
        Some(_) => user(new_user_id, email),
        None => json!({"kind": "user", "email": email}),
    }
}

fn operator() -> Value {
    json!({"kind": "operator"})
}

/// `e` was caused by `actor`, concerns `member` (or no member) and says
/// exactly `details`.
#[track_caller]
fn about(e: &Value, actor: &Value, member: Option<&str>, details: Value) {
    assert_eq!(
        (&e["actor"], e["member_id"].as_str(), &e["details"]),
        (actor, member, &details),
        "{e:#}"
    );
}

fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .to_owned()
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call("PUT", path, Some(token), Some(body)).await
}

async fn member_action(
    app: &TestApp,
    org: &str,
    session: &str,
    member: &str,
    action: &str,
) -> (StatusCode, Value) {
    app.post(
        &format!("/orgs/{org}/members/{member}/{action}"),
        Some(session),
        json!({}),
    )
    .await
}

async fn each_change_writes_one_event_of_its_type_actor_and_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.email("owner");
    let org = app.create_org("Acme", &owner, json!({"limit": 5})).await;
    let (s, body) = app.accept_latest(&owner, "owner pw", true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let session = app.login(&owner, "owner pw").await;
    let o = app.member(&org, &session, &owner).await;
    let (owner_member, owner_user) = (field(&o, "member_id"), field(&o, "user_id"));
    let admin = user(&owner_user, &owner);

    // The operator's creation, then the owner's acceptance: newest first.
    let start = all_events(&app, &org, &session, &[]).await;
    assert_eq!(
        kinds(&start),
        ["member.accepted", "org.created"],
        "{start:#?}"
    );
    about(
        &start[1],
        &operator(),
        Some(&owner_member),
        json!({"email": owner, "role": "owner"}),
    );
    about(
        &start[0],
        &admin,
        Some(&owner_member),
        json!({"email": owner, "via": "invitation"}),
    );
    let mut watch = Watch::new(&app, &org, &session).await;

    // The administrator's changes to a member, one by one.
    let ann = app.email("ann");
    let (s, body) = app.invite(&org, &session, &[&ann], "admin").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let ann_id = field(&body["invited"][0], "member_id");
    let e = watch.one(&app, "member.invited", "an invitation").await;
    about(
        &e,
        &admin,
        Some(&ann_id),
        json!({"email": ann, "role": "admin"}),
    );
    // Every handler records where the request came from, admin API included.
    assert_eq!(e["ip"], "127.0.0.1", "the client's address: {e:#}");

    let (s, body) = member_action(&app, &org, &session, &ann_id, "reinvite").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "member.reinvited", "a reinvitation").await,
        &admin,
        Some(&ann_id),
        json!({"email": ann}),
    );

    let (s, body) = app.accept_latest(&ann, "ann pw", true).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{body}"
    );
    let ann_user = field(&app.member(&org, &session, &ann).await, "user_id");
    let e = watch.one(&app, "member.accepted", "an acceptance").await;
    about(
        &e,
        &user(&ann_user, &ann),
        Some(&ann_id),
        json!({"email": ann, "via": "invitation"}),
    );
    assert_eq!(e["ip"], "127.0.0.1", "the client's address: {e:#}");

    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{ann_id}/confirm"),
            Some(&session),
            json!({"key": "the-org-key-for-ann"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let e = watch.one(&app, "member.confirmed", "a confirmation").await;
    about(
        &e,
        &admin,
        Some(&ann_id),
        json!({"email": ann, "key_handed_over": true}),
    );
    assert!(
        !e.to_string().contains("the-org-key-for-ann"),
        "never the key: {e}"
    );

    let (s, body) = member_action(&app, &org, &session, &ann_id, "revoke").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "member.revoked", "a revocation").await,
        &admin,
        Some(&ann_id),
        json!({"email": ann}),
    );
    let (s, body) = member_action(&app, &org, &session, &ann_id, "restore").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "member.restored", "a restoration").await,
        &admin,
        Some(&ann_id),
        json!({"email": ann}),
    );
    let (s, body) = app
        .call(
            "DELETE",
            &format!("/orgs/{org}/members/{ann_id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    about(
        &watch.one(&app, "member.removed", "a removal").await,
        &admin,
        Some(&ann_id),
        json!({"email": ann}),
    );

    // Settings: the names of what changed, never the values.
    let (s, body) = put(
        &app,
        &format!("/orgs/{org}/policies"),
        &session,
        json!({"require_sso": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "policies.changed", "a policies edit").await,
        &admin,
        None,
        json!({"changed": ["policies.require_sso"]}),
    );
    let secret = "events-client-secret-never-recorded";
    let (s, body) = put(
        &app,
        &format!("/orgs/{org}/sso"),
        &session,
        json!({"protocol": "oidc", "issuer": "https://idp.example.com/", "client_id": "admit",
               "client_secret": secret, "member_decryption": "master_password", "enabled": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let e = watch
        .one(&app, "sso.settings_changed", "an SSO settings edit")
        .await;
    assert_eq!(
        (&e["actor"], &e["member_id"]),
        (&admin, &Value::Null),
        "{e:#}"
    );
    let details = e["details"].as_object().unwrap();
    assert_eq!(
        details.keys().collect::<Vec<_>>(),
        ["changed"],
        "only the names: {e:#}"
    );
    let changed: Vec<&str> = details["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(changed.contains(&"sso_enabled"), "{changed:?}");
    assert!(
        changed.iter().any(|c| *c == "sso" || c.starts_with("sso.")),
        "{changed:?}"
    );
    assert!(!e.to_string().contains(secret), "never the secret: {e}");

    // The operator's domain claims: a claim, its verification, and nothing
    // for a claim made again as it is.
    let claim = format!("/operator/orgs/{org}/domains/{}", app.domain);
    let (s, body) = put(&app, &claim, OPERATOR_TOKEN, json!({"verified": false})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "domain.added", "a domain claim").await,
        &operator(),
        None,
        json!({"domain": app.domain}),
    );
    let (s, body) = put(&app, &claim, OPERATOR_TOKEN, json!({"verified": true})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "domain.verified", "a verification").await,
        &operator(),
        None,
        json!({"domain": app.domain}),
    );
    let (s, body) = put(&app, &claim, OPERATOR_TOKEN, json!({"verified": true})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    watch.none(&app, "an unchanged claim").await;

    // Reading, and signing in with the right password, change nothing.
    app.members(&org, &session).await;
    app.get(&format!("/orgs/{org}"), Some(&session)).await;
    app.login(&owner, "owner pw").await;
    watch.none(&app, "reads and a sign-in").await;
}

async fn failed_logins_are_recorded_where_the_account_is_a_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let pat = app.email("pat");
    // Pat owns A, is accepted in B, was accepted then revoked in D, and is
    // only invited in C (the latest invitation Pat holds).
    let a = app.create_org("A", &pat, json!({})).await;
    assert_eq!(
        app.accept_latest(&pat, "pat pw", true).await.0,
        StatusCode::OK
    );
    let a_session = app.login(&pat, "pat pw").await;
    let (b, b_session) = app.org_with_owner(json!({})).await;
    let (c, c_session) = app.org_with_owner(json!({})).await;
    let (d, d_session) = app.org_with_owner(json!({})).await;
    for (org, session) in [(&b, &b_session), (&d, &d_session)] {
        assert_eq!(
            app.invite(org, session, &[&pat], "user").await.0,
            StatusCode::CREATED
        );
        let (s, body) = app.accept_latest(&pat, "pat pw", false).await;
        assert_eq!(
            (s, body["status"].as_str()),
            (StatusCode::OK, Some("accepted")),
            "{body}"
        );
    }
    let pat_in_d = app.member_id(&d, &d_session, &pat).await;
    assert_eq!(
        member_action(&app, &d, &d_session, &pat_in_d, "revoke")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.invite(&c, &c_session, &[&pat], "user").await.0,
        StatusCode::CREATED
    );
    let in_a = app.member(&a, &a_session, &pat).await;
    let pat_user = field(&in_a, "user_id");
    let pat_in = [
        field(&in_a, "member_id"),
        app.member_id(&b, &b_session, &pat).await,
    ];
    let mut logs = [
        Watch::new(&app, &a, &a_session).await,
        Watch::new(&app, &b, &b_session).await,
        Watch::new(&app, &c, &c_session).await,
        Watch::new(&app, &d, &d_session).await,
    ];

    // A wrong password at /auth/login, then at /invitations/accept (C's
    // invitation): each on the record in A and B, where Pat is accepted or
    // confirmed, and nowhere else.
    let wrong = json!({"email": pat, "master_password_hash": mp_hash("not pat's")});
    for what in ["a wrong password at login", "a wrong password at accept"] {
        let (s, body) = if what.ends_with("login") {
            app.post("/auth/login", None, wrong.clone()).await
        } else {
            app.accept_latest(&pat, "not pat's", false).await
        };
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {body}");
        for (i, log) in logs.iter_mut().enumerate() {
            if i < 2 {
                let e = log.one(&app, "auth.login_failed", what).await;
                about(
                    &e,
                    &user(&pat_user, &pat),
                    Some(&pat_in[i]),
                    json!({"email": pat}),
                );
                assert_eq!(e["ip"], "127.0.0.1", "the client's address: {e:#}");
            } else {
                log.none(&app, what).await;
            }
        }
    }
    assert_eq!(app.member(&c, &c_session, &pat).await["status"], "invited");

    // An unknown email records nothing anywhere; nor does the right password.
    let (s, _) = app
        .post(
            "/auth/login",
            None,
            json!({"email": app.email("nobody"), "master_password_hash": mp_hash("x")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.login(&pat, "pat pw").await;
    for log in &mut logs {
        log.none(&app, "an unknown email, then the right password")
            .await;
    }
}

async fn refused_writes_write_no_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({"limit": 3})).await;
    let (a, b, c) = (app.email("a"), app.email("b"), app.email("c"));
    assert_eq!(
        app.invite(&org, &session, &[&a, &b], "user").await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.accept_latest(&b, "b pw", true).await.0, StatusCode::OK);
    let a_id = app.member_id(&org, &session, &a).await;
    let b_id = app.member_id(&org, &session, &b).await;
    let owner_id = app.owner_field(&org, &session, "member_id").await;
    let mut watch = Watch::new(&app, &org, &session).await;
    let refused = |(s, body): (StatusCode, Value), status: StatusCode, code: &str, what: &str| {
        assert_eq!(
            (s, body["error"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
    };

    // Transitions the member's state does not allow.
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{a_id}/confirm"),
            Some(&session),
            json!({"key": "k"}),
        )
        .await;
    refused(
        (s, body),
        StatusCode::CONFLICT,
        "conflict",
        "confirming an invited member",
    );
    refused(
        member_action(&app, &org, &session, &b_id, "reinvite").await,
        StatusCode::CONFLICT,
        "conflict",
        "reinviting an accepted member",
    );
    refused(
        member_action(&app, &org, &session, &b_id, "restore").await,
        StatusCode::CONFLICT,
        "conflict",
        "restoring a member who is not revoked",
    );
    refused(
        member_action(&app, &org, &session, &owner_id, "revoke").await,
        StatusCode::CONFLICT,
        "conflict",
        "revoking oneself",
    );
    // The seats are all taken.
    refused(
        app.invite(&org, &session, &[&c], "user").await,
        StatusCode::CONFLICT,
        "no_seats",
        "inviting beyond the seat limit",
    );
    watch.none(&app, "refused transitions and invitation").await;

    // Revoked once; a second revocation is refused.
    assert_eq!(
        member_action(&app, &org, &session, &a_id, "revoke").await.0,
        StatusCode::OK
    );
    watch.one(&app, "member.revoked", "a revocation").await;
    refused(
        member_action(&app, &org, &session, &a_id, "revoke").await,
        StatusCode::CONFLICT,
        "conflict",
        "revoking a revoked member",
    );
    // Its seat goes to c; restoring a finds none.
    assert_eq!(
        app.invite(&org, &session, &[&c], "user").await.0,
        StatusCode::CREATED
    );
    watch.one(&app, "member.invited", "an invitation").await;
    refused(
        member_action(&app, &org, &session, &a_id, "restore").await,
        StatusCode::CONFLICT,
        "no_seats",
        "restoring without a seat",
    );
    let gone = "mem_00000000000000000000000000000000";
    assert_eq!(
        app.call(
            "DELETE",
            &format!("/orgs/{org}/members/{gone}"),
            Some(&session),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    watch
        .none(&app, "a refused revocation, restoration and removal")
        .await;

    // Refused by the write's own condition: of concurrent confirmations of
    // one member, each computed from the same read, one is written; the rest
    // write nothing, their events included.
    let path = format!("/orgs/{org}/members/{b_id}/confirm");
    let results = futures::future::join_all(
        (0..10).map(|_| app.post(&path, Some(&session), json!({"key": "k"}))),
    )
    .await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{results:?}"
    );
    let e = watch
        .one(&app, "member.confirmed", "concurrent confirmations")
        .await;
    assert_eq!(e["member_id"], b_id.as_str());

    // Concurrent accepts of one invitation: one acceptance on the record.
    let (other, other_session) = app.org_with_owner(json!({})).await;
    let racer = app.email("racer");
    app.invite(&other, &other_session, &[&racer], "user").await;
    let mut other_watch = Watch::new(&app, &other, &other_session).await;
    let token = app.last_mail_to(&racer).await.accept_token();
    let body = json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
    let results = futures::future::join_all(
        (0..10).map(|_| app.post("/invitations/accept", None, body.clone())),
    )
    .await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == StatusCode::OK).count(),
        1,
        "{results:?}"
    );
    other_watch
        .one(&app, "member.accepted", "concurrent accepts")
        .await;

    // Concurrent invitations for the last seats: as many invitations on the
    // record as members written.
    let (tight, tight_session) = app.org_with_owner(json!({"limit": 4})).await;
    let mut tight_watch = Watch::new(&app, &tight, &tight_session).await;
    let emails: Vec<String> = (0..10).map(|i| app.email(&format!("seat{i}"))).collect();
    let path = format!("/orgs/{tight}/invitations");
    let results = futures::future::join_all(emails.iter().map(|e| {
        app.post(
            &path,
            Some(&tight_session),
            json!({"emails": [e], "role": "user"}),
        )
    }))
    .await;
    let created: HashSet<String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| field(&b["invited"][0], "member_id"))
        .collect();
    assert_eq!(created.len(), 3, "{results:?}");
    assert!(
        results.iter().all(|(s, b)| *s == StatusCode::CREATED
            || (*s == StatusCode::CONFLICT && b["error"] == "no_seats")),
        "{results:?}"
    );
    let added = tight_watch.added(&app).await;
    assert_eq!(
        kinds(&added),
        ["member.invited"; 3],
        "one invitation each: {added:#?}"
    );
    let invited: HashSet<String> = added.iter().map(|e| field(e, "member_id")).collect();
    assert_eq!(invited, created);
    assert_eq!(app.members(&tight, &tight_session).await.len(), 4);
}

async fn only_administrators_read_the_log_and_bad_filters_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let (uma, adam) = (app.email("uma"), app.email("adam"));
    app.invite(&org, &session, &[&uma], "user").await;
    app.invite(&org, &session, &[&adam], "admin").await;
    for who in [&uma, &adam] {
        assert_eq!(app.accept_latest(who, "pw", true).await.0, StatusCode::OK);
    }
    let path = format!("/orgs/{org}/events");
    let code = |(s, body): (StatusCode, Value)| (s, body["error"].as_str().map(str::to_owned));

    // An accepted user, then a confirmed one: forbidden either way.
    let uma_session = app.login(&uma, "pw").await;
    assert_eq!(
        code(app.get(&path, Some(&uma_session)).await),
        (StatusCode::FORBIDDEN, Some("forbidden".into()))
    );
    app.confirm_member(&org, &session, &uma).await;
    assert_eq!(
        code(app.get(&path, Some(&uma_session)).await),
        (StatusCode::FORBIDDEN, Some("forbidden".into()))
    );
    // An admin awaiting confirmation is not one yet; once confirmed, reads.
    let adam_session = app.login(&adam, "pw").await;
    assert_eq!(
        app.get(&path, Some(&adam_session)).await.0,
        StatusCode::FORBIDDEN
    );
    app.confirm_member(&org, &session, &adam).await;
    let (s, body) = app.get(&path, Some(&adam_session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(!body["events"].as_array().unwrap().is_empty(), "{body}");

    // Another organization's owner sees nothing; nor does anyone for an unknown one.
    let (_, other_session) = app.org_with_owner(json!({})).await;
    assert_eq!(
        code(app.get(&path, Some(&other_session)).await),
        (StatusCode::NOT_FOUND, Some("not_found".into()))
    );
    assert_eq!(
        app.get(
            "/orgs/org_00000000000000000000000000000000/events",
            Some(&session)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // No session, or not one.
    assert_eq!(app.get(&path, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&path, Some("not-a-session")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Bad filters.
    let now = app.clock.now();
    let (earlier, later) = ((now - time::Duration::hours(1)).rfc3339(), now.rfc3339());
    for filters in [
        vec![("type", "member.exploded")],
        vec![("type", "MEMBER.INVITED")],
        vec![("start", "yesterday")],
        vec![("end", "2026-13-01T00:00:00Z")],
        vec![("start", later.as_str()), ("end", earlier.as_str())],
        vec![("member", "mem_nope")],
        vec![("member", "someone@example.com")],
        vec![("cursor", "garbage")],
        vec![("cursor", "000000000001#evt_nope")],
    ] {
        let (s, body) = events_page(&app, &org, Some(&session), &filters).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{filters:?}: {body}"
        );
    }
    // Empty filters are absent ones.
    let (s, body) = events_page(
        &app,
        &org,
        Some(&session),
        &[("type", ""), ("member", ""), ("start", ""), ("end", "")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn the_log_pages_newest_first_and_filters_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let owner_id = app.owner_field(&org, &session, "member_id").await;
    // 120 invitations (a request takes at most 100): 122 events in all.
    let emails: Vec<String> = (0..120).map(|i| app.email(&format!("m{i:03}"))).collect();
    let mut invited = Vec::new();
    for chunk in emails.chunks(100) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let (s, body) = app.invite(&org, &session, &refs, "user").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        invited.extend(
            body["invited"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| field(m, "member_id")),
        );
    }
    assert_eq!(invited.len(), 120);

    let (s, first) = events_page(&app, &org, Some(&session), &[]).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["events"].as_array().unwrap().len(), PAGE);
    assert!(first["next_cursor"].is_string(), "{}", first["next_cursor"]);
    let all = all_events(&app, &org, &session, &[]).await;
    assert_eq!(all.len(), 122);
    assert_eq!(ids(&all).len(), 122, "each event once");
    assert_eq!(
        all[..PAGE],
        first["events"].as_array().unwrap()[..],
        "the first page is the newest"
    );
    // The second request's 20 first, then the first's 100, then the owner's start.
    let members = |events: &[Value]| -> HashSet<String> {
        events.iter().map(|e| field(e, "member_id")).collect()
    };
    let newer: HashSet<String> = invited[100..].iter().cloned().collect();
    let older: HashSet<String> = invited[..100].iter().cloned().collect();
    assert_eq!(members(&all[..20]), newer);
    assert_eq!(members(&all[20..120]), older);
    assert_eq!(kinds(&all[120..]), ["member.accepted", "org.created"]);

    // Filters return exactly the matching events, through pages too.
    let by_type = all_events(&app, &org, &session, &[("type", "member.invited")]).await;
    assert_eq!(by_type.len(), 120);
    assert!(kinds(&by_type).iter().all(|k| *k == "member.invited"));
    assert_eq!(members(&by_type), newer.union(&older).cloned().collect());
    let created = all_events(&app, &org, &session, &[("type", "org.created")]).await;
    assert_eq!(kinds(&created), ["org.created"]);
    assert!(
        all_events(&app, &org, &session, &[("type", "member.removed")])
            .await
            .is_empty()
    );
    let owner_events = all_events(&app, &org, &session, &[("member", &owner_id)]).await;
    assert_eq!(kinds(&owner_events), ["member.accepted", "org.created"]);

    // A time range (inclusive, whole seconds) on the app's clock: one
    // reinvitation an hour later, two more an hour after that.
    let x = invited[7].clone();
    let t0 = app.clock.now();
    app.clock.advance(time::Duration::hours(1));
    let t1 = app.clock.now();
    let (s, _) = member_action(&app, &org, &session, &x, "reinvite").await;
    assert_eq!(s, StatusCode::OK);
    app.clock.advance(time::Duration::hours(1));
    let t2 = app.clock.now();
    for _ in 0..2 {
        let (s, _) = member_action(&app, &org, &session, &x, "reinvite").await;
        assert_eq!(s, StatusCode::OK);
    }
    let at = |events: &[Value]| -> Vec<String> { events.iter().map(|e| field(e, "at")).collect() };
    let (t0s, t1s, t2s) = (t0.rfc3339(), t1.rfc3339(), t2.rfc3339());
    let range = |start: Option<&str>, end: Option<&str>| {
        let mut f = Vec::new();
        if let Some(s) = start {
            f.push(("start", s.to_owned()));
        }
        if let Some(e) = end {
            f.push(("end", e.to_owned()));
        }
        f
    };
    let listed = |filters: Vec<(&'static str, String)>| {
        let (app, org, session) = (&app, &org, &session);
        async move {
            let f: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
            all_events(app, org, session, &f).await
        }
    };
    let only_t1 = listed(range(Some(&t1s), Some(&t1s))).await;
    assert_eq!(at(&only_t1), [t1s.as_str()]);
    assert_eq!(kinds(&only_t1), ["member.reinvited"]);
    let from_t1 = listed(range(Some(&t1s), None)).await;
    assert_eq!(at(&from_t1), [t2s.as_str(), &t2s, &t1s]);
    let until_t1 = listed(range(None, Some(&t1s))).await;
    assert_eq!(until_t1.len(), 123);
    assert_eq!(at(&until_t1[..1]), [t1s.as_str()]);
    assert!(at(&until_t1[1..]).iter().all(|a| *a == t0s));
    let until_t0 = listed(range(None, Some(&t0s))).await;
    assert_eq!(ids(&until_t0), ids(&all), "the first 122, and only they");
    // Between the hours: nothing.
    let gap = listed(range(
        Some(&(t0 + time::Duration::minutes(1)).rfc3339()),
        Some(&(t1 - time::Duration::minutes(1)).rfc3339()),
    ))
    .await;
    assert!(gap.is_empty(), "{gap:#?}");
    // Filters combine: the member's reinvitations since t1, its invitation before.
    let x_events = all_events(&app, &org, &session, &[("member", &x)]).await;
    assert_eq!(
        kinds(&x_events),
        [
            "member.reinvited",
            "member.reinvited",
            "member.reinvited",
            "member.invited"
        ]
    );
    let combined = all_events(
        &app,
        &org,
        &session,
        &[
            ("member", &x),
            ("type", "member.reinvited"),
            ("start", &t2s),
            ("end", &t2s),
        ],
    )
    .await;
    assert_eq!(at(&combined), [t2s.as_str(), &t2s]);
    assert!(
        all_events(
            &app,
            &org,
            &session,
            &[("member", &x), ("type", "member.invited"), ("start", &t1s)]
        )
        .await
        .is_empty()
    );
    // A cursor resumes its own listing: the type listing's second page.
    let (_, typed) = events_page(&app, &org, Some(&session), &[("type", "member.invited")]).await;
    let cursor = field(&typed, "next_cursor");
    let (s, rest) = events_page(
        &app,
        &org,
        Some(&session),
        &[("type", "member.invited"), ("cursor", &cursor)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rest["events"].as_array().unwrap().len(), 20);
    assert!(rest["next_cursor"].is_null(), "the last page: {rest}");
}

async fn organizations_never_see_each_others_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, a_session) = app.org_with_owner(json!({})).await;
    let (b, b_session) = app.org_with_owner(json!({})).await;
    // Both busy: invitations, a reinvitation, a revocation, settings, in each.
    for (name, org, session) in [("a", &a, &a_session), ("b", &b, &b_session)] {
        let emails: Vec<String> = (0..3).map(|i| app.email(&format!("{name}-{i}"))).collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let (s, body) = app.invite(org, session, &refs, "user").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let first = field(&body["invited"][0], "member_id");
        member_action(&app, org, session, &first, "reinvite").await;
        member_action(&app, org, session, &first, "revoke").await;
        put(
            &app,
            &format!("/orgs/{org}/policies"),
            session,
            json!({"jit_without_invitation": false}),
        )
        .await;
    }
    let a_log = all_events(&app, &a, &a_session, &[]).await;
    let b_log = all_events(&app, &b, &b_session, &[]).await;
    assert_eq!((a_log.len(), b_log.len()), (8, 8), "{a_log:#?} {b_log:#?}");
    assert!(ids(&a_log).is_disjoint(&ids(&b_log)));
    for (log, org, session) in [(&a_log, &a, &a_session), (&b_log, &b, &b_session)] {
        let members: HashSet<String> = app
            .members(org, session)
            .await
            .iter()
            .map(|m| field(m, "member_id"))
            .collect();
        for e in log {
            if let Some(m) = e["member_id"].as_str() {
                assert!(
                    members.contains(m),
                    "{org}'s log names its own members: {e:#}"
                );
            }
        }
    }
    // Filters read only the organization's own events.
    let b_member = b_log
        .iter()
        .find_map(|e| e["member_id"].as_str())
        .expect("an event about a member of B");
    assert!(
        all_events(&app, &a, &a_session, &[("member", b_member)])
            .await
            .is_empty()
    );
    let a_revoked = all_events(&app, &a, &a_session, &[("type", "member.revoked")]).await;
    assert_eq!(a_revoked.len(), 1);
    assert!(ids(&a_revoked).is_subset(&ids(&a_log)));
    // And neither owner reads the other's log.
    assert_eq!(
        events_page(&app, &b, Some(&a_session), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        events_page(&app, &a, Some(&b_session), &[]).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn oidc_sign_ins_are_on_the_record(backend: Backend) {
    let app = spawn_app(backend).await;
    let sso = sso_org(&app, json!({"limit": 3})).await;
    let mut watch = Watch::new(&app, &sso.org, &sso.session).await;
    let sign_in = |login: String| {
        let (app, ident) = (&app, sso.ident.clone());
        async move { sso_sign_in(app, &Browser::new(), &ident, None, &login).await }
    };

    // Just in time: the account and membership, then the setup step.
    let bob = app.email("bob");
    let token = setup_token(&sign_in(bob.clone()).await);
    let m = app.member(&sso.org, &sso.session, &bob).await;
    let (bob_id, bob_user) = (field(&m, "member_id"), field(&m, "user_id"));
    let e = watch.one(&app, "sso.jit_created", "a JIT sign-in").await;
    about(
        &e,
        &jit_actor(&e, &bob_user, &bob),
        Some(&bob_id),
        json!({"email": bob, "protocol": "oidc", "via": "sso_identifier"}),
    );
    let (s, body) = set_master_password(&app, &token, &bob).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    about(
        &watch.one(&app, "member.accepted", "the setup step").await,
        &user(&bob_user, &bob),
        Some(&bob_id),
        json!({"email": bob, "via": "setup"}),
    );
    // Signing in again.
    let page = sign_in(bob.clone()).await;
    assert_eq!(
        page.location.as_deref(),
        Some(app.url("/done").as_str()),
        "{page:?}"
    );
    about(
        &watch.one(&app, "sso.signed_in", "a second sign-in").await,
        &user(&bob_user, &bob),
        Some(&bob_id),
        json!({"email": bob, "protocol": "oidc"}),
    );

    // Refused: JIT without an invitation switched off. One `sso.refused`,
    // naming only the asserted email, and nothing else changes.
    let (s, _) = put(
        &app,
        &format!("/orgs/{}/policies", sso.org),
        &sso.session,
        json!({"jit_without_invitation": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    watch.one(&app, "policies.changed", "a policies edit").await;
    let before = app.snapshot(&sso.org, &sso.session).await;
    let carol = app.email("carol");
    refused_with(
        &sign_in(carol.clone()).await,
        StatusCode::FORBIDDEN,
        "invitation_required",
    );
    about(
        &watch.one(&app, "sso.refused", "a refused sign-in").await,
        &json!({"kind": "user", "email": carol}),
        None,
        json!({"email": carol, "protocol": "oidc", "code": "invitation_required"}),
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);

    // Refused: no seat left (the third taken just in time).
    put(
        &app,
        &format!("/orgs/{}/policies", sso.org),
        &sso.session,
        json!({"jit_without_invitation": true}),
    )
    .await;
    watch.one(&app, "policies.changed", "a policies edit").await;
    setup_token(&sign_in(app.email("dee")).await);
    watch
        .one(&app, "sso.jit_created", "the last seat taken")
        .await;
    let before = app.snapshot(&sso.org, &sso.session).await;
    assert_eq!(before.0["seats"]["occupied"], 3);
    let erin = app.email("erin");
    refused_with(
        &sign_in(erin.clone()).await,
        StatusCode::FORBIDDEN,
        "no_seats",
    );
    about(
        &watch
            .one(&app, "sso.refused", "a sign-in without a seat")
            .await,
        &json!({"kind": "user", "email": erin}),
        None,
        json!({"email": erin, "protocol": "oidc", "code": "no_seats"}),
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);
}

async fn saml_sign_ins_are_on_the_record(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let sso = saml_org(&app, &idp, json!({})).await;
    let mut watch = Watch::new(&app, &sso.org, &sso.session).await;
    let sign_in = |email: String| {
        let (app, idp, ident) = (&app, &idp, sso.ident.clone());
        async move { saml_sign_in(app, idp, &ident, None, &[("email", email.as_str())]).await }
    };

    // Refused: nothing vouches for the email (no invitation, no claimed domain).
    let before = app.snapshot(&sso.org, &sso.session).await;
    let uma = app.email("uma");
    refused_with(
        &sign_in(uma.clone()).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    about(
        &watch
            .one(&app, "sso.refused", "a refused SAML sign-in")
            .await,
        &json!({"kind": "user", "email": uma}),
        None,
        json!({"email": uma, "protocol": "saml", "code": "email_unverified"}),
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);

    // The operator's verified claim vouches: just in time, by the domain.
    // The claim adds the domain, then verifies it: an event each.
    claim_domain(&app, &sso.org).await;
    let new = watch.added(&app).await;
    let mut types: Vec<&str> = new.iter().filter_map(|e| e["type"].as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["domain.added", "domain.verified"], "{new:#?}");
    for e in &new {
        about(e, &operator(), None, json!({"domain": app.domain}));
    }
    let sam = app.email("sam");
    let token = setup_token(&sign_in(sam.clone()).await);
    let m = app.member(&sso.org, &sso.session, &sam).await;
    let (sam_id, sam_user) = (field(&m, "member_id"), field(&m, "user_id"));
    let e = watch
        .one(&app, "sso.jit_created", "a SAML JIT sign-in")
        .await;
    about(
        &e,
        &jit_actor(&e, &sam_user, &sam),
        Some(&sam_id),
        json!({"email": sam, "protocol": "saml", "via": "domain"}),
    );
    let (s, body) = set_master_password(&app, &token, &sam).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    watch.one(&app, "member.accepted", "the setup step").await;
    let page = sign_in(sam.clone()).await;
    assert_eq!(
        page.location.as_deref(),
        Some(app.url("/done").as_str()),
        "{page:?}"
    );
    about(
        &watch.one(&app, "sso.signed_in", "a SAML sign-in").await,
        &user(&sam_user, &sam),
        Some(&sam_id),
        json!({"email": sam, "protocol": "saml"}),
    );
}
