//! The member's journey in a real headless browser: invitation link → IdP
//! sign-in → master password → accepted (`tests/idp/journey.mjs`, Debian's
//! chromium driven by playwright-core).

use crate::helpers::*;
use crate::sso_oidc::sso_org;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_finishes_setup_in_a_real_browser() {
    let chromium = std::env::var("ADMIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: this test needs Debian's chromium (`cargo xtask test` installs it)"
    );
    let app = spawn_app(Backend::Embedded).await;
    let sso = sso_org(&app, json!({})).await;
    let member = app.email("browser.member");
    let (s, _) = app.invite(&sso.org, &sso.session, &[&member], "user").await;
    assert_eq!(s, StatusCode::CREATED);
    let link = app.url(&format!(
        "/accept?token={}",
        app.last_mail_to(&member).await.accept_token()
    ));

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp");
    let shots = tempfile::tempdir().unwrap();
    let args = [
        "--link",
        link.as_str(),
        "--login",
        member.as_str(),
        "--password",
        "a long master password",
    ];
    let out = tokio::task::spawn_blocking({
        let (dir, shots) = (dir.clone(), shots.path().to_owned());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || {
            Command::new(std::env::var("ADMIT_NODE").unwrap_or_else(|_| "node".into()))
                .arg(dir.join("journey.mjs"))
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
        "the browser journey failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let m = app.member(&sso.org, &sso.session, &member).await;
    assert_eq!(m["status"], "accepted");
    // The master password the browser derived (PBKDF2 in WebCrypto) signs in.
    assert!(
        std::fs::read_dir(shots.path()).unwrap().count() >= 3,
        "screenshots of each step"
    );
}
