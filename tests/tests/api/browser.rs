//! Journeys in a real headless browser (Debian's chromium driven by
//! playwright-core): a member's invitation link → IdP sign-in → master
//! password → accepted, through OpenID Connect (`tests/idp/journey.mjs`) and
//! through SAML after an owner switched the organization to it on the /app
//! page (`tests/idp/saml_journey.mjs`).

use crate::helpers::*;
use crate::sso_oidc::sso_org;
use admit_tests::saml::SamlIdp;
use reqwest::StatusCode;
use serde_json::json;
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
    std::fs::read_dir(shots.path()).unwrap().count()
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
