//! Running the real `admit` binary for the process-level tests: start it on
//! a loopback address with its data in a directory of the test's, wait for
//! it, and speak to it as a client does.

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `admit serve` child; killed and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `admit serve` on `addr`, its data and outbox under `dir`, with the
/// operator token `operator` and `env` besides.
pub fn start(dir: &Path, addr: &str, operator: &str, env: &[(&str, &str)]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("serve")
        .env("ADMIT_LISTEN", addr)
        .env("ADMIT_DATA_DIR", dir.join("data"))
        .env("ADMIT_OUTBOX_DIR", dir.join("outbox"))
        .env("ADMIT_OPERATOR_TOKEN", operator)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("the admit binary starts");
    Server(child)
}

/// Until `base` answers (30 s at most).
pub async fn wait_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/me")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "admit serve did not come up at {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a client sends as `master_password_hash`: its KDF's output.
pub fn hash(pw: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(pw.as_bytes()))
}

/// The invitation token of the first email in `outbox` (the owner's).
pub fn owner_token(outbox: &Path) -> String {
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

/// POST `body` as JSON: the status and the JSON answer (`null` if none).
pub async fn post(
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
