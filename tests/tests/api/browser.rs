//! Journeys in a real headless browser (Debian's chromium driven by
//! playwright-core): a member's invitation link → IdP sign-in → master
//! password → accepted, through OpenID Connect (`tests/idp/journey.mjs`) and
//! through SAML after an owner switched the organization to it on the /app
//! page (`tests/idp/saml_journey.mjs`); and an owner reading, filtering and
//! narrowing the audit log on the /app page (`tests/idp/events_journey.mjs`);
//! and confirmation handing over the organization key with the pages as the
//! client (`tests/idp/keys_journey.mjs`): an owner bootstraps the
//! organization on the accept page, a member sets up through the IdP (master
//! password, or a remembered device), the owner confirms, and both consoles
//! show the same organization key, while no request carries a key in clear.
//! And a member's lifecycle with the pages as the client
//! (`tests/idp/lifecycle_journey.mjs`): an owner changes a role, the seats
//! and the invitation settings in the console; a member accepts with a
//! session (signed in on the accept page, or already) and deletes the
//! account through its confirmation step; a member refused with
//! `sso_required` links its IdP identity, and accepts an invitation after the
//! single sign-on of its organization; an owner links from the console.

use crate::helpers::*;
use crate::sso_oidc::sso_org;
use admit_tests::oidc::{OidcClient, OidcProvider};
use admit_tests::saml::SamlIdp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn require_chromium() {
    let chromium = std::env::var("ADMIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: this test needs Debian's chromium (`cargo xtask test` installs it)"
    );
}

/// Run `tests/idp/<script>` under Node with `args` and `--shots <dir>`;
/// panics with its output when it fails. Returns how many screenshots it took.
async fn journey(script: &str, args: &[&str]) -> usize {
    journey_output(script, args).await.0
}

/// [`journey`], and what the script printed.
async fn journey_output(script: &str, args: &[&str]) -> (usize, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp");
    let shots = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let (script, shots) = (dir.join(script), shots.path().to_owned());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || {
            Command::new(std::env::var("ADMIT_NODE").unwrap_or_else(|_| "node".into()))
                .arg(script)
                .args(&args)
                .arg("--shots")
                .arg(&shots)
                .current_dir(&dir)
                .output()
        }
    })
    .await
    .unwrap()
    .expect("node runs the browser journey");
    assert!(
        out.status.success(),
        "the browser journey {script} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_dir(shots.path()).unwrap().count(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_finishes_setup_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let sso = sso_org(&app, json!({})).await;
    let member = app.email("browser.member");
    let (s, _) = app.invite(&sso.org, &sso.session, &[&member], "user").await;
    assert_eq!(s, StatusCode::CREATED);
    let link = app.url(&format!(
        "/accept?token={}",
        app.last_mail_to(&member).await.accept_token()
    ));

    let shots = journey(
        "journey.mjs",
        &[
            "--link",
            &link,
            "--login",
            &member,
            "--password",
            "a long master password",
        ],
    )
    .await;
    let m = app.member(&sso.org, &sso.session, &member).await;
    assert_eq!(m["status"], "accepted");
    // The master password the browser derived (PBKDF2 in WebCrypto) signs in.
    assert!(shots >= 3, "screenshots of each step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_switches_to_saml_and_a_member_signs_in_through_it() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let idp = SamlIdp::start();
    let (org, session) = app.org_with_owner(json!({})).await;
    let member = app.email("saml.member");
    let (s, _) = app.invite(&org, &session, &[&member], "user").await;
    assert_eq!(s, StatusCode::CREATED);
    let link = app.url(&format!(
        "/accept?token={}",
        app.last_mail_to(&member).await.accept_token()
    ));
    let metadata = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(metadata.path(), idp.metadata().await).unwrap();
    let shots = journey(
        "saml_journey.mjs",
        &[
            "--app",
            &app.url("/app"),
            // One argument: a session token may begin with `-`, which
            // node's parseArgs would take for an option.
            &format!("--session={session}"),
            "--metadata",
            &metadata.path().to_string_lossy(),
            "--link",
            &link,
            "--email",
            &member,
            "--password",
            "a long master password",
        ],
    )
    .await;
    let (_, sso) = app.get(&format!("/orgs/{org}/sso"), Some(&session)).await;
    assert_eq!(
        (sso["protocol"].as_str(), sso["enabled"].as_bool()),
        (Some("saml"), Some(true)),
        "{sso}"
    );
    assert_eq!(
        app.member(&org, &session, &member).await["status"],
        "accepted"
    );
    assert!(shots >= 4, "screenshots of each step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_reads_and_filters_the_events_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let owner = app.owner_field(&org, &session, "email").await;
    let (kept, revoked) = (app.email("kept.member"), app.email("revoked.member"));
    let (s, body) = app.invite(&org, &session, &[&kept, &revoked], "user").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = app.member_id(&org, &session, &revoked).await;
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/members/{id}/revoke"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // What the page will show, through the API first.
    let (s, log) = app
        .get(
            &format!("/orgs/{org}/events?type=member.revoked"),
            Some(&session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert_eq!(log["events"].as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(log["events"][0]["actor"]["email"], owner.as_str(), "{log}");

    let shots = journey(
        "events_journey.mjs",
        &[
            "--app",
            &app.url("/app"),
            // One argument: a session token may begin with `-`.
            &format!("--session={session}"),
            "--owner",
            &owner,
            "--kept",
            &kept,
            "--revoked",
            &revoked,
        ],
    )
    .await;
    assert!(shots >= 6, "screenshots of each step");
}

/// `tests/idp/keys_journey.mjs` for an organization whose members decrypt
/// with `decryption`, confirmed one by one or with "Confirm all accepted"
/// (`bulk`); with `second_org`, the owner, once an account, also bootstraps
/// a second organization as an existing account. Then, through the API with
/// the owner's session from that browser, what the pages did.
async fn organization_key_journey(decryption: &str, bulk: bool, second_org: bool) {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let idp = OidcProvider::start(&[OidcClient::new(
        "admit",
        "idp-client-secret",
        app.url("/sso/oidc/callback"),
    )]);
    let owner = app.email("keys.owner");
    let org = app.create_org("Acme Keys", &owner, json!({})).await;
    let link = app.url(&format!(
        "/accept?token={}",
        app.last_mail_to(&owner).await.accept_token()
    ));
    // Mailed now, opened once the owner's account exists.
    let second = if second_org {
        let org = app.create_org("Acme Keys Two", &owner, json!({})).await;
        let link = app.url(&format!(
            "/accept?token={}",
            app.last_mail_to(&owner).await.accept_token()
        ));
        Some((org, link))
    } else {
        None
    };
    let member = app.email("keys.member");
    let outbox = app.outbox.to_string_lossy().into_owned();
    let app_url = app.url("/app");
    let mut args = vec![
        "--app",
        &app_url,
        "--link",
        &link,
        "--owner",
        &owner,
        "--password",
        "the owner's long master password",
        "--member",
        &member,
        "--member-password",
        "the member's long master password",
        "--decryption",
        decryption,
        "--issuer",
        &idp.issuer,
        "--client-id",
        "admit",
        "--client-secret",
        "idp-client-secret",
        "--outbox",
        &outbox,
    ];
    if bulk {
        args.push("--bulk");
    }
    if let Some((_, link)) = &second {
        args.extend(["--second-link", link]);
    }
    let (shots, out) = journey_output("keys_journey.mjs", &args).await;
    eprintln!("{out}");
    let result: Value = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_else(|| panic!("the journey prints its RESULT: {out}"));
    let session = result["owner_session"]
        .as_str()
        .expect("the owner's session");
    let m = app.member(&org, session, &member).await;
    assert_eq!(m["status"], "confirmed", "{m}");
    let id = m["member_id"].as_str().unwrap();
    // The fingerprint the owner compared is the server's for that member.
    let (s, key) = app
        .get(
            &format!("/orgs/{org}/members/{id}/public-key"),
            Some(session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{key}");
    assert_eq!(key["fingerprint"], result["member_fingerprint"], "{key}");
    let (s, log) = app
        .get(
            &format!("/orgs/{org}/events?type=member.confirmed"),
            Some(session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert_eq!(
        log["events"][0]["details"]["key_handed_over"], true,
        "{log}"
    );
    assert!(
        result["with_body"].as_u64().unwrap_or(0) >= 8,
        "the requests scanned: {result}"
    );
    assert!(shots >= 7, "screenshots of each step");
    if let Some((org, _)) = &second {
        let m = app.member(org, session, &owner).await;
        assert_eq!(m["status"], "confirmed", "{m}");
        assert!(result["second_org_key_fingerprint"].is_string(), "{result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_key_reaches_a_master_password_member_in_a_real_browser() {
    organization_key_journey("master_password", false, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_key_reaches_a_remembered_device_in_a_real_browser() {
    organization_key_journey("trusted_devices", true, false).await;
}

/// The `/accept?token=` link of the newest invitation mailed to `email`.
async fn invitation_link(app: &TestApp, email: &str) -> String {
    app.url(&format!(
        "/accept?token={}",
        app.last_mail_to(email).await.accept_token()
    ))
}

/// `tests/idp/lifecycle_journey.mjs --part <part> --app <base>/app …`: its RESULT.
async fn lifecycle(app: &TestApp, part: &str, args: &[&str]) -> (usize, Value) {
    let app_url = app.url("/app");
    let mut all = vec!["--part", part, "--app", &app_url];
    all.extend_from_slice(args);
    let (shots, out) = journey_output("lifecycle_journey.mjs", &all).await;
    let result = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_else(|| panic!("the journey prints its RESULT: {out}"));
    (shots, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_changes_a_role_and_the_seats_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let (member, pending) = (app.email("promoted.member"), app.email("pending.member"));
    let (s, body) = app
        .invite(&org, &session, &[&member, &pending], "user")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = app.accept_latest(&member, "member password", true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.confirm_member(&org, &session, &member).await;
    let member_session = app.login(&member, "member password").await;
    let (s, before) = app.get(&format!("/orgs/{org}"), Some(&session)).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let occupied = before["seats"]["occupied"]
        .as_u64()
        .expect("seats.occupied");
    assert!(occupied >= 2, "the owner and the member at least: {before}");

    let (shots, result) = lifecycle(
        &app,
        "roles",
        &[
            // One argument each: a session token may begin with `-`.
            &format!("--session={session}"),
            "--member",
            &member,
            &format!("--member-session={member_session}"),
            "--occupied",
            &occupied.to_string(),
        ],
    )
    .await;

    // What the pages showed is what the API says.
    assert_eq!(app.member(&org, &session, &member).await["role"], "admin");
    let owner = result["owner"].as_str().expect("the owner's email");
    assert_eq!(app.member(&org, &session, owner).await["role"], "owner");
    let (s, view) = app.get(&format!("/orgs/{org}"), Some(&session)).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(
        (
            &view["seats"]["limit"],
            &view["seats"]["autoscale_max"],
            &view["seats"]["occupied"]
        ),
        (&json!(5), &json!(8), &json!(occupied)),
        "{view}"
    );
    assert_eq!(view["invitation_lifetime_days"], 7, "{view}");
    assert_eq!(view["reminder_days"], json!([1, 3]), "{view}");
    let (s, log) = app
        .get(
            &format!("/orgs/{org}/events?type=member.role_changed"),
            Some(&session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let events = log["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "one change (the refused demotion wrote nothing): {log}"
    );
    assert_eq!(
        (
            &events[0]["details"]["old_role"],
            &events[0]["details"]["role"]
        ),
        (&json!("user"), &json!("admin")),
        "{log}"
    );
    assert!(shots >= 6, "screenshots of each step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_accepts_with_a_session_and_deletes_the_account_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let member = app.email("leaving.member");
    let mut orgs = Vec::new();
    let mut links = Vec::new();
    for _ in 0..3 {
        let (org, session) = app.org_with_owner(json!({})).await;
        // The seats before the member: as many again after the deletion.
        let (_, view) = app.get(&format!("/orgs/{org}"), Some(&session)).await;
        let occupied = view["seats"]["occupied"].clone();
        let (s, body) = app.invite(&org, &session, &[&member], "user").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        links.push(invitation_link(&app, &member).await);
        orgs.push((org, session, occupied));
    }

    let (shots, _) = lifecycle(
        &app,
        "delete",
        &[
            "--link-a",
            &links[0],
            "--link-b",
            &links[1],
            "--link-c",
            &links[2],
            "--email",
            &member,
            "--password",
            "the member's long master password",
        ],
    )
    .await;

    for (org, session, occupied) in &orgs {
        let members = app.members(org, session).await;
        assert!(
            members.iter().all(|m| m["email"] != member.as_str()),
            "the member is gone: {members:?}"
        );
        let (_, view) = app.get(&format!("/orgs/{org}"), Some(session)).await;
        assert_eq!(
            &view["seats"]["occupied"], occupied,
            "its seat is free: {view}"
        );
        let (s, log) = app
            .get(
                &format!("/orgs/{org}/events?type=member.removed"),
                Some(session),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{log}");
        assert_eq!(
            log["events"][0]["details"]["via"], "account_deleted",
            "{log}"
        );
        // Each invitation was accepted (the master password's, or a session's).
        let owner = app.owner_field(org, session, "member_id").await;
        let (_, log) = app
            .get(
                &format!("/orgs/{org}/events?type=member.accepted"),
                Some(session),
            )
            .await;
        assert!(
            log["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["member_id"] != owner.as_str()),
            "{log}"
        );
    }
    assert!(shots >= 6, "screenshots of each step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_required_links_the_identity_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let sso = sso_org(&app, json!({})).await;
    let (plain, plain_session) = app.org_with_owner(json!({})).await;
    let (later, later_session) = app.org_with_owner(json!({})).await;
    let member = app.email("linking.member");
    let password = "the member's long master password";
    let mut links = Vec::new();
    for (org, session) in [
        (&plain, &plain_session),
        (&sso.org, &sso.session),
        (&later, &later_session),
    ] {
        let (s, body) = app.invite(org, session, &[&member], "user").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        links.push(invitation_link(&app, &member).await);
    }

    // The member's account, with a master password the browser derives.
    lifecycle(
        &app,
        "sso-setup",
        &[
            "--link-a",
            &links[0],
            "--link-b",
            &links[1],
            "--email",
            &member,
            "--password",
            password,
        ],
    )
    .await;
    assert_eq!(
        app.member(&sso.org, &sso.session, &member).await["status"],
        "accepted"
    );
    // Confirmed, and the organization now requires single sign-on.
    app.confirm_member(&sso.org, &sso.session, &member).await;
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{}/policies", sso.org),
            Some(&sso.session),
            Some(json!({"require_sso": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.catch_up_clock();

    let (idp_login, owner_idp_login) = (app.email("someone.else"), app.email("owner.at.idp"));
    let (shots, _) = lifecycle(
        &app,
        "sso-link",
        &[
            "--email",
            &member,
            "--password",
            password,
            "--identifier",
            &sso.ident,
            "--idp-login",
            &idp_login,
            "--link-c",
            &links[2],
            &format!("--owner-session={}", sso.session),
            "--owner-idp-login",
            &owner_idp_login,
        ],
    )
    .await;

    // Linked: the member (by its link token), the owner (from the console).
    let (s, log) = app
        .get(
            &format!("/orgs/{}/events?type=sso.linked", sso.org),
            Some(&sso.session),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let member_id = app.member_id(&sso.org, &sso.session, &member).await;
    let owner_id = app.owner_field(&sso.org, &sso.session, "member_id").await;
    let linked: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["via"] == "link")
        .filter_map(|e| e["member_id"].as_str())
        .collect();
    assert!(
        linked.contains(&member_id.as_str()) && linked.contains(&owner_id.as_str()),
        "{log}"
    );
    // The invitation accepted after the round trip through the IdP.
    assert_eq!(
        app.member(&later, &later_session, &member).await["status"],
        "accepted"
    );
    assert!(shots >= 6, "screenshots of each step");
}

/// `tests/idp/domains_journey.mjs`: an owner adds, verifies and removes
/// domains in the console against a real DNS server, and the `/sso` page
/// routes an email of the verified domain to the organization's IdP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_verifies_a_domain_and_an_email_finds_the_idp_in_a_real_browser() {
    require_chromium();
    let mut dns = admit_tests::dns::DnsServer::start(&[]);
    let addr = dns.addr();
    let app = spawn_app_with(Backend::Embedded, move |s| s.dns_server = Some(addr)).await;
    let sso = sso_org(&app, json!({})).await;
    let (s, added) = app
        .post(
            &format!("/orgs/{}/domains", sso.org),
            Some(&sso.session),
            json!({"domain": app.domain}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    dns.set_records(&[(
        added["txt_name"].as_str().unwrap(),
        added["txt_value"].as_str().unwrap(),
    )]);
    let stranger = format!("someone@elsewhere-{}", app.domain);
    let shots = journey(
        "domains_journey.mjs",
        &[
            "--app",
            &app.url("/app"),
            &format!("--session={}", sso.session),
            "--domain",
            &app.domain,
            "--member",
            &app.email("new.member"),
            "--stranger",
            &stranger,
        ],
    )
    .await;
    assert!(shots >= 6, "screenshots of each step");
    // What the pages did, through the API.
    let (s, listed) = app
        .get(&format!("/orgs/{}/domains", sso.org), Some(&sso.session))
        .await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    assert_eq!(
        listed["domains"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["domains"][0]["verified"], true, "{listed}");
}

/// `tests/idp/scim_journey.mjs`: an owner issues a SCIM token in the console,
/// the journey provisions a member and a group with it as an identity
/// provider would, the console lists the member's group, and turning SCIM off
/// there makes the token refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_turns_scim_on_and_the_idp_provisions_in_a_real_browser() {
    require_chromium();
    let app = spawn_app(Backend::Embedded).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let member = app.email("scim.member");
    let shots = journey(
        "scim_journey.mjs",
        &[
            "--app",
            &app.url("/app"),
            &format!("--session={session}"),
            "--member",
            &member,
        ],
    )
    .await;
    assert!(shots >= 4, "screenshots of each step");
    // What the identity provider and the pages did, through the API.
    let m = app.member(&org, &session, &member).await;
    assert_eq!(m["status"], "invited", "{m}");
    assert_eq!(m["groups"], json!(["Engineering"]), "{m}");
    let (s, log) = app
        .get(&format!("/orgs/{org}/events"), Some(&session))
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let types: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for t in [
        "scim.token_issued",
        "scim.user_created",
        "scim.group_created",
        "scim.token_deleted",
    ] {
        assert!(types.contains(&t), "no {t} in {log}");
    }
}
