//! A hostile OpenID provider (`tests/idp/evil.mjs`, plain Node `http` and
//! `jose`) that can be told how to misbehave, for testing that a relying
//! party refuses what it must: a wrong issuer or audience, a forged or
//! unsigned ID token, missing claims, an expired token, a wrong nonce, a
//! UserInfo subject that is not the ID token's; and that it follows a key
//! rotation.
//!
//! No login page: its `/authorize` sends the browser straight back to the
//! redirect URI with a code, so [`crate::oidc::Browser::sign_in`] reaches the
//! relying party's callback in two hops. What the next ID tokens look like
//! is set with [`EvilProvider::scenario`].

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::moto::free_port;

/// Every scenario but `ok` and `rotate`: the relying party must refuse each.
pub const HOSTILE_SCENARIOS: &[&str] = &[
    "wrong_iss",
    "aud_missing",
    "aud_other",
    "bad_signature",
    "alg_none",
    "hs256_client_secret",
    "missing_sub",
    "missing_iat",
    "expired",
    "nonce_missing",
    "nonce_other",
    "userinfo_sub_other",
    "token_redirect",
];

/// The `sub` [`EvilProvider::scenario`] gives the person with this email.
pub fn sub_for(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("evil-{hex}")
}

/// A running hostile provider on a free loopback port, with one client;
/// stopped when dropped (and it exits by itself when the test process does).
pub struct EvilProvider {
    /// `http://127.0.0.1:PORT`, exactly as in its discovery document.
    pub issuer: String,
    http: reqwest::Client,
    child: Child,
    stderr_file: tempfile::NamedTempFile,
}

fn node() -> String {
    std::env::var("ADMIT_NODE").unwrap_or_else(|_| "node".into())
}

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp")
}

impl EvilProvider {
    /// Starts the provider for the client `client_id` (authenticating with
    /// `client_secret` over HTTP Basic), scenario `ok`. Panics, saying why,
    /// when it cannot start: a test that needs it must fail, not skip.
    pub fn start(client_id: &str, client_secret: &str) -> EvilProvider {
        let dir = idp_dir();
        let script = dir.join("evil.mjs");
        match Command::new(node()).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`{} --version` failed ({}): Node.js 20 or later is needed for the hostile OpenID provider",
                node(),
                out.status
            ),
            Err(e) => panic!(
                "cannot run `{}` ({e}): Node.js 20 or later is needed for the hostile OpenID provider \
                 (set ADMIT_NODE to its path if it is not on PATH)",
                node()
            ),
        }
        assert!(
            dir.join("node_modules/jose/package.json").is_file(),
            "the npm package `jose` (installed with oidc-provider) is missing from {}: \
             run `cargo xtask test`, which installs the test provider's packages",
            dir.join("node_modules").display()
        );

        let stderr = tempfile::NamedTempFile::new().expect("a temporary file for node's stderr");
        let port = free_port();
        let mut child = Command::new(node())
            .arg(&script)
            .args(["--port", &port.to_string()])
            .args(["--client-id", client_id])
            .args(["--client-secret", client_secret])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                stderr.reopen().expect("reopen node's stderr file"),
            ))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the hostile OpenID provider ({} {}): {e}",
                    node(),
                    script.display()
                )
            });
        let issuer = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if discovery_answers(port) {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
                panic!(
                    "the hostile OpenID provider exited ({status}) before answering; its stderr:\n{}\n\
                     (is `jose` installed? `cargo xtask test` installs it)",
                    err.trim_end()
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
                panic!(
                    "the hostile OpenID provider did not answer at {issuer}/.well-known/openid-configuration \
                     within 60 s; its stderr:\n{}",
                    err.trim_end()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        EvilProvider {
            issuer,
            http,
            child,
            stderr_file: stderr,
        }
    }

    /// How the ID tokens (and UserInfo) of the next sign-ins are built: the
    /// scenario `name` (`ok`, `rotate` or one of [`HOSTILE_SCENARIOS`]), for
    /// the person `email` whose `sub` is [`sub_for`]`(email)`.
    pub async fn scenario(&self, name: &str, email: &str) {
        let body = serde_json::json!({"name": name, "email": email, "sub": sub_for(email)});
        let response = self
            .http
            .post(format!("{}/scenario", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {}/scenario: {e}", self.issuer));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "the hostile provider refused scenario {name:?} ({status}): {text}"
        );
    }

    /// What the provider served so far, in order: `discovery`, `jwks`,
    /// `authorize`, `token:<scenario>` for each ID token issued,
    /// `token-error:<error>`, `token-redirect` (the 307 of scenario
    /// `token_redirect`), `token-elsewhere` (its target), `userinfo`,
    /// `userinfo-error`.
    pub async fn events(&self) -> Vec<String> {
        self.http
            .get(format!("{}/events", self.issuer))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {}/events: {e}", self.issuer))
            .json()
            .await
            .expect("the hostile provider's events are a JSON list of strings")
    }

    /// What the provider wrote on stderr so far (real errors only).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_file.path()).unwrap_or_default()
    }
}

impl Drop for EvilProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /.well-known/openid-configuration` answers 200 (plain
/// blocking HTTP/1.0, so it works in and out of an async runtime).
fn discovery_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_is_stable_and_per_email() {
        assert_eq!(sub_for("a@x.test"), sub_for("a@x.test"));
        assert_ne!(sub_for("a@x.test"), sub_for("b@x.test"));
        assert_eq!(sub_for("a@x.test").len(), "evil-".len() + 16);
    }
}
