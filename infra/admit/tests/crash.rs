//! The embedded store survives `kill -9` in the middle of writes: after a
//! restart every acknowledged write is there, and seats still add up.

mod support;

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Server, hash, owner_token, post, wait_up};

const OPERATOR: &str = "crash-test-operator";

fn start(dir: &Path, addr: &str) -> Server {
    support::start(dir, addr, OPERATOR, &[("RUST_LOG", "warn")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    let mut server = start(dir.path(), &addr);
    wait_up(&http, &base).await;
    let body =
        json!({"name": "Crash", "sso_identifier": "crash", "owner_email": "owner@crash.test"});
    let (s, created) = post(&http, format!("{base}/operator/orgs"), Some(OPERATOR), body).await;
    assert_eq!(s, 201, "{created}");
    let org = created["org_id"].as_str().unwrap().to_owned();
    let token = owner_token(&dir.path().join("outbox"));
    let accept = json!({"token": token, "master_password_hash": hash("pw"), "kdf": {"type": "pbkdf2_sha256", "iterations": 600000}});
    assert_eq!(
        post(&http, format!("{base}/invitations/accept"), None, accept)
            .await
            .0,
        200
    );
    let (_, login) = post(
        &http,
        format!("{base}/auth/login"),
        None,
        json!({"email": "owner@crash.test", "master_password_hash": hash("pw")}),
    )
    .await;
    let session = login["session_token"].as_str().unwrap().to_owned();

    // Four writers invite batches until the process dies under them.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, base, org, session, acknowledged) = (
                http.clone(),
                base.clone(),
                org.clone(),
                session.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                for batch in 0.. {
                    let emails: Vec<String> = (0..10)
                        .map(|i| format!("w{w}-b{batch}-{i}@crash.test"))
                        .collect();
                    let res = http
                        .post(format!("{base}/orgs/{org}/invitations"))
                        .bearer_auth(&session)
                        .json(&json!({"emails": emails, "role": "user"}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == 201 => acknowledged.lock().unwrap().extend(emails),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "some writes were acknowledged before the kill"
    );

    let _server = start(dir.path(), &addr);
    wait_up(&http, &base).await;
    // The session survived too.
    let mut members = Vec::new();
    let mut cursor = String::new();
    loop {
        let res = http
            .get(format!("{base}/orgs/{org}/members{cursor}"))
            .bearer_auth(&session)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        members.extend(
            page["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["email"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("?cursor={c}"),
            None => break,
        }
    }
    for email in &acknowledged {
        assert!(
            members.contains(email),
            "{email} was acknowledged but is gone"
        );
    }
    // Whole batches or nothing: a batch is one transaction.
    assert_eq!((members.len() - 1) % 10, 0, "a batch was half-written");
    let settings: Value = http
        .get(format!("{base}/orgs/{org}"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["seats"]["occupied"].as_u64().unwrap() as usize,
        members.len(),
        "seats add up"
    );
}
