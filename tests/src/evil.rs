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
use std::time::Duration;

use crate::node::NodeProvider;

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
    provider: NodeProvider,
}

impl EvilProvider {
    /// Starts the provider for the client `client_id` (authenticating with
    /// `client_secret` over HTTP Basic), scenario `ok`. Panics, saying why,
    /// when it cannot start: a test that needs it must fail, not skip.
    pub fn start(client_id: &str, client_secret: &str) -> EvilProvider {
        let provider = NodeProvider::start(
            "the hostile OpenID provider",
            "evil.mjs",
            "jose",
            &["--client-id", client_id, "--client-secret", client_secret],
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        EvilProvider {
            issuer: provider.issuer.clone(),
            http,
            provider,
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
        self.provider.stderr()
    }
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
