//! A real OpenID Connect provider (the npm package `oidc-provider`, run by
//! `tests/idp/provider.mjs` under Node) and a headless "browser" that signs
//! in through it, for testing a relying party end to end.
//!
//! The provider's accounts: any login name with any password signs in, and
//! the login name is the account (`sub` = [`sub_for`]`(login)`, `email` =
//! the login lower-cased, `email_verified` = true; `+unverified` in the login
//! makes it false and `+noemail` leaves the email claims out; `name` = the
//! part before `@`). Those claims are in the ID token and at UserInfo. A
//! provider from [`OidcProvider::start_omitting_email_verified`] never sends
//! `email_verified`.
//!
//! Groups: [`Browser::sign_in_with_groups`] posts comma-separated names at
//! the login; the provider sends them for that account, until its next
//! login, in a `groups` claim (or the one [`ProviderOptions::groups_claim`]
//! names), in the ID token and at UserInfo whatever the scopes.
//! [`Browser::sign_in`] posts none: the claim is left out. The value
//! `overage` sends Entra ID's overage reference (`_claim_names` naming the
//! claim, `_claim_sources`) instead of the claim.

use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::node::{NodeProvider, idp_dir, node};

/// A client (relying party) registered at the provider: confidential,
/// `client_secret_basic` at the token endpoint, authorization code flow.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl OidcClient {
    /// A client with one redirect URI.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> OidcClient {
        OidcClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
        }
    }
}

/// How the provider behaves beyond its clients.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// Refuse authorization requests without a PKCE `code_challenge`. When
    /// false (oidc-provider's default for confidential clients) PKCE is
    /// optional, but still checked whenever a `code_challenge` was sent.
    pub pkce_required: bool,
    /// The name of the claim carrying the groups posted at login
    /// ([`Browser::sign_in_with_groups`]); `None`: `groups`.
    pub groups_claim: Option<String>,
}

/// The `sub` the provider gives the account signed in as `login`.
pub fn sub_for(login: &str) -> String {
    let digest = Sha256::digest(login.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sub-{}", &hex[..16])
}

/// A running provider on a free loopback port; stopped when dropped (and it
/// exits by itself when the test process does).
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT` (`https://` from [`OidcProvider::start_tls`]),
    /// exactly as in its discovery document and in the `iss` of its tokens.
    pub issuer: String,
    _provider: Running,
}

/// The provider's process.
enum Running {
    Http { _node: NodeProvider },
    Tls { _node: TlsProcess },
}

/// The provider serving https: stopped when dropped.
struct TlsProcess {
    child: Child,
}

impl Drop for TlsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate authority of a test's own and a server certificate it
/// signed for `127.0.0.1` and `localhost` (EC P-256, made with the `openssl`
/// command, valid two days), in a temporary directory removed when dropped.
pub struct TestCa {
    /// The CA's certificate (PEM): what a client must trust.
    pub ca_pem: PathBuf,
    /// The server's certificate and key (PEM).
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    /// Panics, saying why, when `openssl` cannot make them.
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().expect("a temporary directory for the test CA");
        let at = |name: &str| dir.path().join(name);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap_or_else(|e| panic!("cannot run openssl ({e}): it makes the test CA"));
            assert!(
                out.status.success(),
                "openssl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            &[
                &["req", "-x509", "-nodes", "-days", "2"][..],
                &ec,
                &["-subj", "/CN=admit-test-ca"],
                &["-keyout", "ca-key.pem", "-out", "ca.pem"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-nodes"][..],
                &ec,
                &["-subj", "/CN=localhost"],
                &["-keyout", "key.pem", "-out", "server.csr"],
            ]
            .concat(),
        );
        std::fs::write(
            at("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write the certificate's extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ]);
        TestCa {
            ca_pem: at("ca.pem"),
            cert_pem: at("cert.pem"),
            key_pem: at("key.pem"),
            _dir: dir,
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl OidcProvider {
    /// Starts a provider with these clients. Panics, saying why, when it
    /// cannot start: a test that needs it must fail, not skip.
    pub fn start(clients: &[OidcClient]) -> OidcProvider {
        OidcProvider::start_with(clients, ProviderOptions::default())
    }

    pub fn start_with(clients: &[OidcClient], options: ProviderOptions) -> OidcProvider {
        OidcProvider::start_config(provider_config(clients, &options))
    }

    /// A provider that leaves the `email_verified` claim out of every ID
    /// token and UserInfo answer, as some large IdPs do: the emails it
    /// asserts are not vouched for. Otherwise as [`OidcProvider::start`].
    pub fn start_omitting_email_verified(clients: &[OidcClient]) -> OidcProvider {
        let mut config = provider_config(clients, &ProviderOptions::default());
        config["omit_email_verified"] = serde_json::Value::Bool(true);
        OidcProvider::start_config(config)
    }

    fn start_config(config: serde_json::Value) -> OidcProvider {
        let provider = NodeProvider::start(
            "the test OpenID provider",
            "provider.mjs",
            "oidc-provider",
            &["--config", &config.to_string()],
        );
        OidcProvider {
            issuer: provider.issuer.clone(),
            _provider: Running::Http { _node: provider },
        }
    }

    /// A provider serving https on `https://127.0.0.1:PORT` with the
    /// certificate `ca` signed: a client must trust `ca.ca_pem`. Panics,
    /// saying why, when it cannot start.
    pub fn start_tls(clients: &[OidcClient], ca: &TestCa) -> OidcProvider {
        let config = provider_config(clients, &ProviderOptions::default());
        let port = crate::moto::free_port();
        let mut child = Command::new(node())
            .arg(idp_dir().join("provider.mjs"))
            .args(["--port", &port.to_string(), "--config", &config.to_string()])
            .arg("--tls-cert")
            .arg(&ca.cert_pem)
            .arg("--tls-key")
            .arg(&ca.key_pem)
            .current_dir(idp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the https test OpenID provider: {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        // Listening means ready: the provider is set up before it listens.
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the https test OpenID provider exited ({status}) before listening");
            }
            assert!(
                Instant::now() < deadline,
                "the https test OpenID provider did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        OidcProvider {
            issuer: format!("https://127.0.0.1:{port}"),
            _provider: Running::Tls {
                _node: TlsProcess { child },
            },
        }
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// The discovery document.
    pub async fn discovery(&self) -> serde_json::Value {
        reqwest::get(self.discovery_url())
            .await
            .expect("the test OpenID provider answers")
            .error_for_status()
            .expect("the discovery document is served")
            .json()
            .await
            .expect("the discovery document is JSON")
    }
}

/// The provider's `--config`.
fn provider_config(clients: &[OidcClient], options: &ProviderOptions) -> serde_json::Value {
    let mut config = serde_json::json!({
        "clients": clients
            .iter()
            .map(|c| serde_json::json!({
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "redirect_uris": c.redirect_uris,
                "id_token_signed_response_alg": "RS256",
            }))
            .collect::<Vec<_>>(),
        "pkce_required": options.pkce_required,
    });
    if let Some(claim) = &options.groups_claim {
        config["groups_claim"] = claim.as_str().into();
    }
    config
}

/// One HTTP response as the [`Browser`] saw it.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL requested.
    pub url: String,
    pub status: StatusCode,
    /// The `Location` header made absolute, on a redirect.
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// Whether this is a redirect (3xx with a `Location`).
    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.location.is_some()
    }

    /// A query parameter of the redirect's `Location` (e.g. `code`, `state`,
    /// `error` at the relying party's callback).
    pub fn location_param(&self, name: &str) -> Option<String> {
        let location = Url::parse(self.location.as_deref()?).ok()?;
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A headless browser: one cookie jar, redirects followed only by hand.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

/// How many requests [`Browser::sign_in`] makes before giving up.
const MAX_HOPS: usize = 25;

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Browser { client }
    }

    /// A browser that also trusts the CA certificate(s) of the PEM file `ca`
    /// (a provider of [`OidcProvider::start_tls`]).
    pub fn trusting(ca: &Path) -> Browser {
        let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("{}: {e}", ca.display()));
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30));
        for cert in reqwest::Certificate::from_pem_bundle(&pem).expect("PEM certificates") {
            builder = builder.add_root_certificate(cert);
        }
        Browser {
            client: builder.build().expect("an HTTP client"),
        }
    }

    /// The underlying client (same cookie jar, redirects not followed).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET url`, redirects not followed.
    pub async fn get(&self, url: &str) -> Page {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        Page::read(url, response).await
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body,
    /// redirects not followed.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(url)
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        Page::read(url, response).await
    }

    /// Signs in as a person would: `GET start_url` (typically the relying
    /// party's login route, or an authorization URL), then follows redirects
    /// and, on the provider's interaction pages (`/interaction/...`), submits
    /// the login form (as `login`, any password) and the consent form, with
    /// the action and hidden inputs read from the page.
    ///
    /// Stops at the first redirect whose `Location` starts with
    /// `stop_at_prefix` (the relying party's callback), without requesting
    /// it: the returned page's `location` is that URL. Otherwise returns the
    /// first response that is neither a redirect nor an interaction page.
    pub async fn sign_in(&self, start_url: &str, login: &str, stop_at_prefix: &str) -> Page {
        self.sign_in_posting(start_url, login, None, stop_at_prefix)
            .await
    }

    /// [`Browser::sign_in`], with `groups` (comma-separated names, or
    /// `overage`) in the login form: the provider sends them in the
    /// account's `groups` claim from now on (module documentation). Panics
    /// when no login form was submitted (a browser already signed in at the
    /// provider skips it), as the groups would silently not be posted.
    pub async fn sign_in_with_groups(
        &self,
        start_url: &str,
        login: &str,
        groups: &str,
        stop_at_prefix: &str,
    ) -> Page {
        self.sign_in_posting(start_url, login, Some(groups), stop_at_prefix)
            .await
    }

    /// The sign-in, posting `groups` in the login form's `groups` input when
    /// given (else the input's own value, empty: no groups).
    async fn sign_in_posting(
        &self,
        start_url: &str,
        login: &str,
        groups: Option<&str>,
        stop_at_prefix: &str,
    ) -> Page {
        let mut groups_posted = false;
        let posted = |groups_posted: bool, page: Page| {
            assert!(
                groups.is_none() || groups_posted,
                "sign-in as {login} with groups {groups:?} submitted no login form with a \
                 `groups` input (was the browser already signed in at the provider?)"
            );
            page
        };
        let mut trace = Vec::new();
        let mut page = self.get(start_url).await;
        for _ in 0..MAX_HOPS {
            trace.push(format!("{} {}", page.status.as_u16(), page.url));
            if let Some(location) = page.location.clone().filter(|_| page.is_redirect()) {
                if location.starts_with(stop_at_prefix) {
                    return posted(groups_posted, page);
                }
                page = self.get(&location).await;
                continue;
            }
            let Some(form) = interaction_form(&page) else {
                return posted(groups_posted, page);
            };
            let action = resolve(&page.url, &form.action);
            let fields: Vec<(String, String)> = form
                .inputs
                .iter()
                .filter(|i| !i.name.is_empty())
                .map(|i| {
                    let value = match (i.kind.as_str(), i.name.as_str(), groups) {
                        ("password", _, _) => "any password".to_owned(),
                        (_, "login", _) => login.to_owned(),
                        (_, "groups", Some(groups)) => {
                            groups_posted = true;
                            groups.to_owned()
                        }
                        _ => i.value.clone(),
                    };
                    (i.name.clone(), value)
                })
                .collect();
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            page = if form.method == "get" {
                let mut url = Url::parse(&action).expect("form action is a URL");
                url.query_pairs_mut().extend_pairs(&fields);
                self.get(url.as_str()).await
            } else {
                self.post_form(&action, &fields).await
            };
        }
        panic!(
            "sign-in as {login} did not reach {stop_at_prefix} within {MAX_HOPS} requests:\n{}",
            trace.join("\n")
        );
    }
}

impl Page {
    async fn read(url: &str, response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| resolve(url, l));
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the body of {url}: {e}"));
        Page {
            url: url.to_owned(),
            status,
            location,
            body,
        }
    }
}

/// `reference` made absolute against `base`.
fn resolve(base: &str, reference: &str) -> String {
    Url::parse(base)
        .and_then(|b| b.join(reference))
        .map(String::from)
        .unwrap_or_else(|_| reference.to_owned())
}

#[derive(Debug)]
struct Form {
    action: String,
    method: String,
    inputs: Vec<Input>,
}

#[derive(Debug)]
struct Input {
    name: String,
    kind: String,
    value: String,
}

/// The form to submit when `page` is one of the provider's interaction pages
/// (login or consent): the first form there.
fn interaction_form(page: &Page) -> Option<Form> {
    let url = Url::parse(&page.url).ok()?;
    if !page.status.is_success() || !url.path().starts_with("/interaction/") {
        return None;
    }
    forms(&page.body).into_iter().next()
}

/// The forms of an HTML page, parsed just enough: each `<form>`'s action and
/// method, and its `<input>`s' name, type and value.
fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| at + i) {
        let Some(tag_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let end = lower[tag_end..]
            .find("</form")
            .map_or(html.len(), |i| tag_end + i);
        let attrs = attributes(&html[start + "<form".len()..tag_end]);
        let attr = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut inputs = Vec::new();
        let mut i = tag_end;
        while let Some(s) = lower[i..end].find("<input").map(|j| i + j) {
            let Some(e) = lower[s..end].find('>').map(|j| s + j) else {
                break;
            };
            let a = attributes(&html[s + "<input".len()..e]);
            let get = |name: &str| {
                a.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            inputs.push(Input {
                name: get("name"),
                kind: get("type").to_ascii_lowercase(),
                value: get("value"),
            });
            i = e;
        }
        out.push(Form {
            action: attr("action").unwrap_or_default(),
            method: attr("method")
                .unwrap_or_else(|| "get".into())
                .to_ascii_lowercase(),
            inputs,
        });
        at = end;
    }
    out
}

/// The attributes of a tag's inside (`name="v"`, `name='v'`, `name=v`,
/// `name`), names lower-cased, values with entities decoded.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/' || c == '>')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            value = decode_entities(v);
            rest = remaining;
        }
        if !name.is_empty() {
            out.push((name, value));
        } else if name_end == 0 {
            // A stray character: skip it.
            rest = rest.get(1..).unwrap_or("");
        }
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
    }
    out
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms_inputs_and_entities() {
        let html = r#"<html><FORM autocomplete="off" action="/interaction/a&amp;b/login" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type=text name='login' placeholder="x &#62; y">
  <input required type="password" name="password">
</FORM><form action="/other"></form></html>"#;
        let forms = forms(html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].action, "/interaction/a&b/login");
        assert_eq!(forms[0].method, "post");
        let names: Vec<_> = forms[0].inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["prompt", "login", "password"]);
        assert_eq!(forms[0].inputs[0].value, "login");
        assert_eq!(forms[0].inputs[1].kind, "text");
        assert_eq!(forms[0].inputs[2].kind, "password");
        assert_eq!(forms[1].method, "get");
        assert_eq!(decode_entities("a&#x26;b&lt;&unknown;"), "a&b<&unknown;");
    }

    #[test]
    fn sub_is_stable_and_short() {
        assert_eq!(sub_for("alice@example.test"), sub_for("alice@example.test"));
        assert_ne!(sub_for("alice@example.test"), sub_for("bob@example.test"));
        assert_eq!(sub_for("x").len(), "sub-".len() + 16);
    }
}
