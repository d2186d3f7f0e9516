//! An independent SAML identity provider (pysaml2 + xmlsec1, run by
//! `tests/idp/saml_idp.py` under Python) and a client that signs in through
//! it, for testing Admit as a SAML service provider end to end. The IdP's
//! docstring lists its options and its hostile variants (`attack`).

use reqwest::StatusCode;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::moto::free_port;
pub use crate::oidc::Page;

fn python() -> String {
    std::env::var("ADMIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp/saml_idp.py")
}

/// A running IdP on a free loopback port; stopped when dropped (it also exits
/// by itself when the test process does).
pub struct SamlIdp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    stderr: tempfile::NamedTempFile,
    /// Its keys: removed when dropped (the process is killed, so it cannot).
    _keys: tempfile::TempDir,
}

impl SamlIdp {
    /// Starts the IdP and waits until its metadata answers. Panics, saying
    /// why, when it cannot start: a test that needs it must fail, not skip.
    pub fn start() -> SamlIdp {
        let check = Command::new(python())
            .args(["-c", "import saml2, lxml"])
            .output();
        match check {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "the test SAML IdP needs the Python packages pysaml2 and lxml \
                 (`cargo xtask test` installs them): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("cannot run `{}` for the test SAML IdP: {e}", python()),
        }
        // The free port may be taken between choosing and binding it (other
        // servers start in parallel): then it starts again on another one.
        const ATTEMPTS: u32 = 3;
        let mut attempt = 0;
        let (base, child, stderr, keys) = loop {
            attempt += 1;
            match Self::spawn() {
                Ok(started) => break started,
                Err(why) if attempt < ATTEMPTS => eprintln!("{why}; starting it again"),
                Err(why) => panic!("{why} (attempt {attempt} of {ATTEMPTS})"),
            }
        };
        SamlIdp {
            base,
            child,
            stderr,
            _keys: keys,
        }
    }

    /// One start on a free port: `Err` when the port was taken meanwhile;
    /// panics for any other failure.
    fn spawn() -> Result<(String, Child, tempfile::NamedTempFile, tempfile::TempDir), String> {
        let stderr = tempfile::NamedTempFile::new().expect("a temporary file for the IdP's stderr");
        let port = free_port();
        let keys = tempfile::tempdir().expect("a temporary directory for the IdP's keys");
        let mut child = Command::new(python())
            .arg(script())
            .args(["--port", &port.to_string()])
            .arg("--work-dir")
            .arg(keys.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                stderr.reopen().expect("reopen the IdP's stderr file"),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the test SAML IdP: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let stderr_text = || std::fs::read_to_string(stderr.path()).unwrap_or_default();
        while !metadata_answers(port) {
            if let Ok(Some(status)) = child.try_wait() {
                let text = stderr_text();
                if text.contains("Address already in use") {
                    return Err(format!("the test SAML IdP found port {port} taken"));
                }
                panic!(
                    "the test SAML IdP exited ({status}) before answering; its stderr:\n{}",
                    text.trim_end()
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the test SAML IdP did not answer at {base}/metadata within 60 s; its stderr:\n{}",
                    stderr_text().trim_end()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((base, child, stderr, keys))
    }

    pub fn entity_id(&self) -> String {
        format!("{}/metadata", self.base)
    }

    pub fn sso_url(&self) -> String {
        format!("{}/sso/redirect", self.base)
    }

    /// What the IdP wrote to stderr so far (one line per request).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Its signing certificate, PEM.
    pub async fn certificate(&self) -> String {
        self.fetch("/certificate").await
    }

    /// Its metadata XML.
    pub async fn metadata(&self) -> String {
        self.fetch("/metadata").await
    }

    async fn fetch(&self, path: &str) -> String {
        let res = reqwest::get(format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("GET {path} at the SAML IdP: {e}"));
        assert_eq!(res.status(), StatusCode::OK, "GET {path} at the SAML IdP");
        res.text().await.unwrap()
    }

    /// An unsolicited response for the SP `sp_entity_id`, with these form fields.
    pub async fn idp_initiated(&self, sp_entity_id: &str, fields: &[(&str, &str)]) -> IdpAnswer {
        let mut form = vec![("sp", sp_entity_id)];
        form.extend_from_slice(fields);
        let res = reqwest::Client::new()
            .post(format!("{}/idp-initiated", self.base))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .unwrap();
        IdpAnswer::from_json(res, &self.stderr()).await
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn metadata_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /metadata HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

/// The IdP's answer: the response to post to the ACS.
#[derive(Debug, Clone)]
pub struct IdpAnswer {
    pub acs: String,
    pub saml_response: String,
    pub relay_state: Option<String>,
    /// The response XML as the IdP sent it.
    pub xml: String,
}

impl IdpAnswer {
    async fn from_json(res: reqwest::Response, idp_log: &str) -> IdpAnswer {
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "the SAML IdP answered {text}\n{idp_log}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        IdpAnswer {
            acs: v["acs"].as_str().unwrap().to_owned(),
            saml_response: v["SAMLResponse"].as_str().unwrap().to_owned(),
            relay_state: v["RelayState"].as_str().map(str::to_owned),
            xml: v["xml"].as_str().unwrap_or_default().to_owned(),
        }
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct SamlBrowser {
    client: reqwest::Client,
}

impl Default for SamlBrowser {
    fn default() -> Self {
        SamlBrowser::new()
    }
}

impl SamlBrowser {
    pub fn new() -> SamlBrowser {
        SamlBrowser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Follow `start` (Admit's `/sso/start…`) to the IdP's login page, and
    /// return the key of the request the IdP holds.
    pub async fn start(&self, start: &str, idp: &SamlIdp) -> String {
        let res = self.client.get(start).send().await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location.filter(|_| status == StatusCode::FOUND) else {
            panic!(
                "/sso/start redirects to the IdP, got {status}: {}",
                res.text().await.unwrap_or_default()
            )
        };
        assert!(
            location.starts_with(&idp.sso_url()),
            "the AuthnRequest goes to the IdP's SSO URL: {location}"
        );
        let page = self.client.get(&location).send().await.unwrap();
        let status = page.status();
        let html = page.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "the IdP's login page: {html}\n{}",
            idp.stderr()
        );
        let marker = r#"name="key" value=""#;
        let at = html.find(marker).expect("the login form's key") + marker.len();
        html[at..].split('"').next().unwrap().to_owned()
    }

    /// Sign in at the IdP for the request `key`, with these form fields
    /// (`email`, `sign`, `attack`…): the IdP's answer, not yet posted.
    pub async fn answer(&self, idp: &SamlIdp, key: &str, fields: &[(&str, &str)]) -> IdpAnswer {
        let mut form = vec![("key", key)];
        form.extend_from_slice(fields);
        let res = self
            .client
            .post(format!("{}/login", idp.base))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .unwrap();
        IdpAnswer::from_json(res, &idp.stderr()).await
    }

    /// Post an answer to Admit's ACS, as the IdP's auto-submitting form does.
    pub async fn post(&self, answer: &IdpAnswer) -> Page {
        let mut form = vec![("SAMLResponse", answer.saml_response.as_str())];
        if let Some(r) = &answer.relay_state {
            form.push(("RelayState", r));
        }
        let res = self
            .client
            .post(&answer.acs)
            .form(&form)
            .send()
            .await
            .unwrap();
        Page {
            url: answer.acs.clone(),
            status: res.status(),
            location: res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: res.text().await.unwrap(),
        }
    }

    /// The whole round trip: start, sign in at the IdP with `fields`, post back.
    pub async fn sign_in(&self, start: &str, idp: &SamlIdp, fields: &[(&str, &str)]) -> Page {
        let key = self.start(start, idp).await;
        let answer = self.answer(idp, &key, fields).await;
        self.post(&answer).await
    }
}
