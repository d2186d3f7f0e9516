//! The embedded store survives `kill -9` in the middle of writes: after a
//! restart every acknowledged write is there, and seats still add up.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPERATOR: &str = "crash-test-operator";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path, addr: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("serve")
        .env("ADMIT_LISTEN", addr)
        .env("ADMIT_DATA_DIR", dir.join("data"))
        .env("ADMIT_OUTBOX_DIR", dir.join("outbox"))
        .env("ADMIT_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("the admit binary starts");
    Server(child)
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/me")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "admit serve did not come up at {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hash(pw: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(pw.as_bytes()))
}

fn owner_token(outbox: &Path) -> String {
    let file = std::fs::read_dir(outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let raw = std::fs::read(file).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let text = msg.body_text(0).unwrap().into_owned();
    let start = text.find("/accept?token=").unwrap() + "/accept?token=".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn post(
    http: &reqwest::Client,
    url: String,
    bearer: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
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
