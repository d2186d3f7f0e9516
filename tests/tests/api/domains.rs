//! Domains an organization verifies itself, against a real DNS server
//! (Debian's dnsmasq on a loopback port, restarted to change its records):
//! adding, the TXT record, verifying now and by the scheduled job, one
//! holder per domain, removal, bad names; and what a verified domain does at
//! SAML sign-in.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{refused_with, set_master_password, setup_token};
use crate::sso_saml::{saml_org, sign_in, signed_in};
use admit_tests::dns::DnsServer;
use admit_tests::saml::SamlIdp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    domains_are_verified_by_their_txt_record,
    one_organization_holds_a_domain,
    the_job_rechecks_for_72_hours,
    bad_domain_names_write_nothing,
    an_unreachable_dns_server_is_not_verified,
    a_verified_domain_vouches_at_saml_sign_in,
);

/// Admit asking `dns` for TXT records.
async fn app_with_dns(backend: Backend, dns: &DnsServer) -> TestApp {
    let addr = dns.addr();
    spawn_app_with(backend, move |s| s.dns_server = Some(addr)).await
}

async fn add(app: &TestApp, org: &str, session: &str, domain: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/orgs/{org}/domains"),
        Some(session),
        json!({"domain": domain}),
    )
    .await
}

async fn verify(app: &TestApp, org: &str, session: &str, domain: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/orgs/{org}/domains/{domain}/verify"),
        Some(session),
        json!({}),
    )
    .await
}

async fn domains(app: &TestApp, org: &str, session: &str) -> Vec<Value> {
    let (s, body) = app
        .get(&format!("/orgs/{org}/domains"), Some(session))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["domains"].as_array().unwrap().clone()
}

/// The types of the organization's events, oldest first.
async fn event_types(app: &TestApp, org: &str, session: &str) -> Vec<String> {
    let (s, body) = app.get(&format!("/orgs/{org}/events"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let mut types: Vec<String> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    types.reverse();
    types
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

async fn discover(app: &TestApp, email: &str) -> (StatusCode, Value) {
    app.post("/sso/discover", None, json!({"email": email}))
        .await
}

async fn run_job(app: &TestApp) -> Value {
    let (s, body) = app
        .post("/operator/owed-mail/run", Some(OPERATOR_TOKEN), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

async fn domains_are_verified_by_their_txt_record(backend: Backend) {
    let mut dns = DnsServer::start(&[]);
    let app = app_with_dns(backend, &dns).await;
    let (org, session) = app.org_with_owner(json!({})).await;

    let (s, added) = add(&app, &org, &session, &app.domain.to_uppercase()).await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(added["domain"], app.domain.as_str());
    assert_eq!(
        added["txt_name"],
        format!("_admit-challenge.{}", app.domain).as_str()
    );
    let value = added["txt_value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("admit-verification="), "{added}");
    assert_eq!(added["verified"], false);
    assert_eq!(added["last_checked_at"], Value::Null);
    // Adding it again changes nothing.
    let (s, again) = add(&app, &org, &session, &app.domain).await;
    assert_eq!((s, &again), (StatusCode::OK, &added));
    let name = format!("_admit-challenge.{}", app.domain);

    // No record yet (NXDOMAIN): not verified, the check recorded.
    let (s, body) = verify(&app, &org, &session, &app.domain).await;
    assert_eq!((s, error(&body)), (StatusCode::CONFLICT, "not_verified"));
    let listed = domains(&app, &org, &session).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["verified"], false);
    assert_ne!(listed[0]["last_checked_at"], Value::Null, "{listed:?}");

    // A record with the wrong value: still not verified.
    dns.set_records(&[(&name, "admit-verification=not-this-one")]);
    let (s, body) = verify(&app, &org, &session, &app.domain).await;
    assert_eq!((s, error(&body)), (StatusCode::CONFLICT, "not_verified"));
    assert_eq!(
        discover(&app, &app.email("someone")).await.0,
        StatusCode::NOT_FOUND
    );

    // The right value among other TXT records at that name: verified.
    dns.set_records(&[
        (&name, "v=spf1 -all"),
        (&name, &value),
        (&name, "google-site-verification=abc"),
    ]);
    let (s, body) = verify(&app, &org, &session, &app.domain).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
    assert_ne!(body["verified_at"], Value::Null);
    let listed = domains(&app, &org, &session).await;
    assert_eq!(listed[0]["verified"], true, "{listed:?}");
    // Verifying again is a no-op.
    assert_eq!(
        verify(&app, &org, &session, &app.domain).await.0,
        StatusCode::OK
    );

    // The record disappears: the domain stays verified.
    dns.set_records(&[]);
    assert_eq!(
        verify(&app, &org, &session, &app.domain).await.0,
        StatusCode::OK
    );
    assert_eq!(domains(&app, &org, &session).await[0]["verified"], true);

    let types = event_types(&app, &org, &session).await;
    let of_domains: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("domain."))
        .collect();
    assert_eq!(of_domains, ["domain.added", "domain.verified"]);

    // Removed: gone from the list, recorded, and 404 the second time.
    let path = format!("/orgs/{org}/domains/{}", app.domain);
    assert_eq!(
        app.call("DELETE", &path, Some(&session), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(domains(&app, &org, &session).await.is_empty());
    assert_eq!(
        app.call("DELETE", &path, Some(&session), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        verify(&app, &org, &session, &app.domain).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        event_types(&app, &org, &session)
            .await
            .last()
            .map(String::as_str),
        Some("domain.removed")
    );

    // Only the organization's administrators.
    let member = app.email("member");
    app.invite(&org, &session, &[&member], "user").await;
    assert_eq!(
        app.accept_latest(&member, "member pw", true).await.0,
        StatusCode::OK
    );
    app.confirm_member(&org, &session, &member).await;
    let member_session = app.login(&member, "member pw").await;
    assert_eq!(
        add(&app, &org, &member_session, &app.domain).await.0,
        StatusCode::FORBIDDEN
    );
    let (other, other_session) = app.org_with_owner(json!({})).await;
    assert_eq!(
        add(&app, &org, &other_session, &app.domain).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/orgs/{org}/domains"), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(domains(&app, &other, &other_session).await.is_empty());
}

async fn one_organization_holds_a_domain(backend: Backend) {
    let mut dns = DnsServer::start(&[]);
    let app = app_with_dns(backend, &dns).await;
    let sso = crate::sso_oidc::sso_org(&app, json!({})).await;
    let (b, b_session) = app.org_with_owner(json!({})).await;
    let (c, c_session) = app.org_with_owner(json!({})).await;
    let name = format!("_admit-challenge.{}", app.domain);

    // Each organization adds the domain with a value of its own.
    let mut values = vec![];
    for (org, session) in [(&sso.org, &sso.session), (&b, &b_session), (&c, &c_session)] {
        let (s, body) = add(&app, org, session, &app.domain).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        values.push(body["txt_value"].as_str().unwrap().to_owned());
    }
    assert_ne!(values[0], values[1]);
    assert_ne!(values[1], values[2]);

    // All three records are published; B and C verify at once: one wins.
    let records: Vec<(&str, &str)> = values.iter().map(|v| (name.as_str(), v.as_str())).collect();
    dns.set_records(&records);
    let (rb, rc) = tokio::join!(
        verify(&app, &b, &b_session, &app.domain),
        verify(&app, &c, &c_session, &app.domain)
    );
    let mut statuses = [rb.0, rc.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{rb:?} {rc:?}"
    );
    let (winner, winner_session, loser, loser_session) = if rb.0 == StatusCode::OK {
        (&b, &b_session, &c, &c_session)
    } else {
        (&c, &c_session, &b, &b_session)
    };
    let lost = if rb.0 == StatusCode::OK { &rc.1 } else { &rb.1 };
    assert_eq!(error(lost), "conflict", "{lost}");
    assert_eq!(
        domains(&app, loser, loser_session).await[0]["verified"],
        false
    );

    // The SSO organization cannot take it either; its domain routes nothing.
    let (s, body) = verify(&app, &sso.org, &sso.session, &app.domain).await;
    assert_eq!((s, error(&body)), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(
        discover(&app, &app.email("someone")).await.0,
        StatusCode::NOT_FOUND,
        "the holder has no SSO"
    );

    // Once the holder deletes it, another organization verifies it, and
    // sign-in by email finds that one.
    let path = format!("/orgs/{winner}/domains/{}", app.domain);
    assert_eq!(
        app.call("DELETE", &path, Some(winner_session), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = verify(&app, &sso.org, &sso.session, &app.domain).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        discover(&app, &app.email("Someone")).await,
        (StatusCode::OK, json!({"sso_identifier": sso.ident}))
    );
    // The operator's claim for another organization is refused now.
    let (s, body) = app
        .call(
            "PUT",
            &format!("/operator/orgs/{loser}/domains/{}", app.domain),
            Some(OPERATOR_TOKEN),
            Some(json!({"verified": true})),
        )
        .await;
    assert_eq!((s, error(&body)), (StatusCode::CONFLICT, "conflict"));
}

async fn the_job_rechecks_for_72_hours(backend: Backend) {
    let mut dns = DnsServer::start(&[]);
    let app = app_with_dns(backend, &dns).await;
    let owner = app.email("owner");
    let org = app.create_org("Acme", &owner, json!({})).await;
    assert_eq!(
        app.accept_latest(&owner, "owner password", true).await.0,
        StatusCode::OK
    );
    let session = app.login(&owner, "owner password").await;
    let early = format!("early.{}", app.domain);
    let late = format!("late.{}", app.domain);
    let (_, e) = add(&app, &org, &session, &early).await;
    let (_, l) = add(&app, &org, &session, &late).await;

    // Checked at once (no record), then not again within the hour.
    let run = run_job(&app).await;
    assert_eq!(
        run["domains"],
        json!({"checked": 2, "verified": 0}),
        "{run}"
    );
    app.clock.advance(time::Duration::minutes(30));
    assert_eq!(run_job(&app).await["domains"]["checked"], 0);

    // The record of `early` appears; an hour after the last check, the job verifies it.
    dns.set_records(&[(
        e["txt_name"].as_str().unwrap(),
        e["txt_value"].as_str().unwrap(),
    )]);
    app.clock.advance(time::Duration::minutes(30));
    let run = run_job(&app).await;
    assert_eq!(
        run["domains"],
        json!({"checked": 2, "verified": 1}),
        "{run}"
    );
    let listed = domains(&app, &org, &session).await;
    let status = |d: &str| {
        listed
            .iter()
            .find(|x| x["domain"] == d)
            .map(|x| x["verified"].clone())
    };
    assert_eq!(status(&early), Some(json!(true)), "{listed:?}");
    assert_eq!(status(&late), Some(json!(false)), "{listed:?}");
    let (s, log) = app
        .get(
            &format!("/orgs/{org}/events?type=domain.verified"),
            Some(&session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert_eq!(log["events"][0]["actor"]["kind"], "system", "{log}");

    // Past 72 hours after it was added, `late` is left alone, even once its record is there.
    app.clock.advance(time::Duration::hours(70));
    assert_eq!(run_job(&app).await["domains"]["checked"], 1);
    dns.set_records(&[(
        l["txt_name"].as_str().unwrap(),
        l["txt_value"].as_str().unwrap(),
    )]);
    app.clock.advance(time::Duration::hours(2));
    assert_eq!(
        run_job(&app).await["domains"],
        json!({"checked": 0, "verified": 0})
    );
    // Sessions have expired meanwhile.
    let session = app.login(&owner, "owner password").await;
    let last = domains(&app, &org, &session).await;
    let late_now = last.iter().find(|x| x["domain"] == late.as_str()).unwrap();
    assert_eq!(late_now["verified"], false, "{late_now}");
    // An administrator can still verify it by hand.
    assert_eq!(verify(&app, &org, &session, &late).await.0, StatusCode::OK);
}

async fn bad_domain_names_write_nothing(backend: Backend) {
    let dns = DnsServer::start(&[]);
    let app = app_with_dns(backend, &dns).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let before = event_types(&app, &org, &session).await;
    let long = format!("{}.test", vec!["a".repeat(63); 4].join("."));
    assert!(long.len() > 253);
    for bad in [
        "com",
        "co.uk",
        "github.io",
        "localhost",
        "1.2.3.4",
        "[::1]",
        "a..b",
        "-a.test",
        "exa_mple.test",
        "user@example.test",
        "",
        &"x".repeat(300),
        &long,
    ] {
        let (s, body) = add(&app, &org, &session, bad).await;
        assert_eq!(
            (s, error(&body)),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{bad:?}: {body}"
        );
    }
    for bad in [
        json!({}),
        json!({"domain": 7}),
        json!({"domain": "a.test", "x": 1}),
    ] {
        let (s, body) = app
            .post(&format!("/orgs/{org}/domains"), Some(&session), bad.clone())
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    assert!(domains(&app, &org, &session).await.is_empty());
    assert_eq!(event_types(&app, &org, &session).await, before);

    // Upper case and IDN forms are normalized; the punycode form is the same domain.
    let u = unique();
    let (s, body) = add(&app, &org, &session, &format!("Bücher-{u}.TEST.")).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let ascii = body["domain"].as_str().unwrap().to_owned();
    assert!(ascii.starts_with("xn--"), "{body}");
    assert!(
        ascii.ends_with(".test") && ascii == ascii.to_lowercase(),
        "{body}"
    );
    assert_eq!(add(&app, &org, &session, &ascii).await.0, StatusCode::OK);
    assert_eq!(domains(&app, &org, &session).await.len(), 1);
    // A path that is no domain name is simply not found.
    assert_eq!(
        verify(&app, &org, &session, "not_a_domain").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn an_unreachable_dns_server_is_not_verified(backend: Backend) {
    // A UDP socket that never answers, and no TCP listener behind it.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let app = spawn_app_with(backend, move |s| s.dns_server = Some(addr)).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    assert_eq!(
        add(&app, &org, &session, &app.domain).await.0,
        StatusCode::CREATED
    );
    let started = std::time::Instant::now();
    let (s, body) = verify(&app, &org, &session, &app.domain).await;
    assert_eq!((s, error(&body)), (StatusCode::CONFLICT, "not_verified"));
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    drop(silent);
}

/// SAML sends no "email verified": a domain the organization verified by DNS
/// vouches for its emails (rows 10 and 5 of the decision table); other
/// domains stay unverified.
async fn a_verified_domain_vouches_at_saml_sign_in(backend: Backend) {
    let mut dns = DnsServer::start(&[]);
    let app = app_with_dns(backend, &dns).await;
    let idp = SamlIdp::start();
    let sso = saml_org(&app, &idp, json!({})).await;
    let as_user = |email: &str| vec![("email", email.to_owned())];
    let go = |f: Vec<(&'static str, String)>| {
        let (app, idp, ident) = (&app, &idp, sso.ident.clone());
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sign_in(app, idp, &ident, None, &f).await
        }
    };

    // A confirmed member whose account existed before SSO.
    let gus = app.email("gus");
    app.create_org("Elsewhere", &gus, json!({})).await;
    assert_eq!(
        app.accept_latest(&gus, "gus pw", true).await.0,
        StatusCode::OK
    );
    app.invite(&sso.org, &sso.session, &[&gus], "user").await;
    assert_eq!(
        app.accept_latest(&gus, "gus pw", false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&sso.org, &sso.session, &gus).await;

    // Before the domain is verified, neither is vouched for.
    let walk_in = app.email("walk-in");
    refused_with(
        &go(as_user(&walk_in)).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );

    let (_, added) = add(&app, &sso.org, &sso.session, &app.domain).await;
    dns.set_records(&[(
        added["txt_name"].as_str().unwrap(),
        added["txt_value"].as_str().unwrap(),
    )]);
    let (s, body) = verify(&app, &sso.org, &sso.session, &app.domain).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Row 10: a walk-in of the domain is provisioned just in time.
    let token = setup_token(&go(as_user(&walk_in)).await);
    assert_eq!(
        set_master_password(&app, &token, &walk_in).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.member(&sso.org, &sso.session, &walk_in).await["status"],
        "accepted"
    );
    // Row 5: the confirmed member's account is linked and signed in.
    signed_in(&app, &go(as_user(&gus)).await);
    let (s, log) = app
        .get(
            &format!("/orgs/{}/events?type=sso.linked", sso.org),
            Some(&sso.session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert_eq!(log["events"][0]["details"]["email"], gus.as_str(), "{log}");

    // An email of another domain is not vouched for, and nothing is written.
    let before = app.snapshot(&sso.org, &sso.session).await;
    refused_with(
        &go(as_user(&format!("stranger@other-{}", app.domain))).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);
}
