//! `spawn_app`: Admit served in-process on a free port, on one of its two
//! backends, and a client that talks to it only over HTTP.

use admit::{MailKind, Serve, StoreKind};
use admit_app::{Clock, ManualClock};
use admit_domain::Timestamp;
use admit_tests::moto::Moto;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The default: redb file + `.eml` outbox.
    Embedded,
    /// DynamoDB and SES v2, both served by moto.
    Aws,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    /// A domain no other test uses, so mail and accounts never collide.
    pub domain: String,
    pub outbox: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn unique() -> String {
    let n: u64 = rand::random();
    format!("{n:016x}")
}

/// What a test sends as `master_password_hash`: any 32 bytes derived from a
/// password (the browser uses PBKDF2; the server only sees bytes).
pub fn mp_hash(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(password.as_bytes()))
}

pub fn kdf() -> Value {
    json!({"type": "pbkdf2_sha256", "iterations": 600000})
}

/// The production budget of sign-in requests per client address: every
/// scenario runs under it (each scenario has its own store, so its own
/// counters); the rate-limit scenarios lower it.
pub const RATE_LIMIT_ADDRESS: &str = "120/1m";

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Spawn with a chance to adjust the options (e.g. a sender SES refuses).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Serve)) -> TestApp {
    spawn_app_on(backend, None, adjust).await
}

/// On DynamoDB and SES (moto), every call crossing `proxy`, which counts them.
pub async fn spawn_app_counted(
    proxy: &admit_tests::wire::CountingProxy,
    adjust: impl FnOnce(&mut Serve),
) -> TestApp {
    let sdk = proxy.sdk_config(Moto::shared());
    spawn_app_on(Backend::Aws, Some(sdk), adjust).await
}

async fn spawn_app_on(
    backend: Backend,
    sdk: Option<aws_config::SdkConfig>,
    adjust: impl FnOnce(&mut Serve),
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        tracing_subscriber_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let id = unique();
    let domain = format!("t{id}.test");
    let mut opts = Serve {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        store: StoreKind::Embedded,
        data_dir: dir.path().join("data"),
        table: None,
        create_table: false,
        mail: MailKind::Outbox,
        outbox_dir: dir.path().join("outbox"),
        mail_from: format!("admit@{domain}"),
        ses_configuration_set: None,
        operator_token: Some(OPERATOR_TOKEN.into()),
        remind_every: std::time::Duration::from_secs(3600),
        clock_offset: None,
        trusted_proxies: Vec::new(),
        rate_limit_address: RATE_LIMIT_ADDRESS.into(),
        rate_limit_account: "10/15m".into(),
        event_retention_days: 365,
        ca_file: None,
        dns_server: None,
    };
    let mut aws = None;
    if backend == Backend::Aws {
        let moto = Moto::shared();
        let ses = aws_sdk_sesv2::Client::new(&moto.sdk_config());
        ses.create_email_identity()
            .email_identity(&domain)
            .send()
            .await
            .expect("moto verifies the sender domain");
        opts.store = StoreKind::Dynamodb;
        opts.table = Some(format!("admit-{id}"));
        opts.create_table = true;
        opts.mail = MailKind::Ses;
        aws = Some(sdk.unwrap_or_else(|| moto.sdk_config()));
    }
    adjust(&mut opts);
    let clock = Arc::new(ManualClock::new(Timestamp::from_datetime(
        time::OffsetDateTime::now_utc(),
    )));
    let running = admit::start_with(opts.clone(), clock.clone() as Arc<dyn Clock>, aws)
        .await
        .expect("admit starts");
    TestApp {
        base: format!("http://{}", running.addr),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        backend,
        clock,
        domain,
        outbox: opts.outbox_dir,
        _dir: dir,
    }
}

fn tracing_subscriber_init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// One message Admit sent, decoded.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentMail {
    fn parse(raw: &[u8], to: Vec<String>) -> SentMail {
        let msg = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("an RFC 5322 message");
        SentMail {
            to,
            subject: msg.subject().unwrap_or_default().to_owned(),
            text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        }
    }

    /// The `/accept?token=` link in the text part.
    pub fn accept_token(&self) -> String {
        let start = self
            .text
            .find("/accept?token=")
            .expect("an invitation link")
            + "/accept?token=".len();
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

impl TestApp {
    pub fn email(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Bring the app's clock up to the real time (never back). A test
    /// whose IdP stamps its messages with the real time calls it before a
    /// sign-in: a long test on a busy machine would otherwise leave the
    /// frozen clock minutes behind the IdP's, past the allowed skew.
    pub fn catch_up_clock(&self) {
        self.clock
            .catch_up(Timestamp::from_datetime(time::OffsetDateTime::now_utc()));
    }

    /// Every message sent so far to addresses of this test, oldest first.
    pub async fn mails(&self) -> Vec<SentMail> {
        match self.backend {
            Backend::Embedded => {
                let mut names: Vec<_> = match std::fs::read_dir(&self.outbox) {
                    Ok(d) => d
                        .map(|e| e.unwrap().path())
                        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                names.sort();
                names
                    .iter()
                    .map(|p| {
                        let raw = std::fs::read(p).unwrap();
                        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
                        let to = msg
                            .to()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|x| x.address().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default();
                        SentMail::parse(&raw, to)
                    })
                    .collect()
            }
            Backend::Aws => Moto::shared()
                .sent_emails()
                .await
                .into_iter()
                .filter(|m| m.destinations.iter().any(|d| d.ends_with(&self.domain)))
                .map(|m| SentMail::parse(m.raw.as_bytes(), m.destinations))
                .collect(),
        }
    }

    pub async fn mails_to(&self, address: &str) -> Vec<SentMail> {
        self.mails()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    pub async fn last_mail_to(&self, address: &str) -> SentMail {
        self.mails_to(address)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no mail to {address}"))
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("admit answers");
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", path, token, None).await
    }

    /// Create an organization through the operator API; returns its id.
    pub async fn create_org(&self, name: &str, owner: &str, seats: Value) -> String {
        let ident = format!("o-{}", unique());
        let (s, body) = self
            .post("/operator/orgs", Some(OPERATOR_TOKEN), json!({"name": name, "sso_identifier": ident, "owner_email": owner, "seats": seats}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["org_id"].as_str().unwrap().to_owned()
    }

    /// Accept the latest invitation mailed to `address` with `password`.
    pub async fn accept_latest(
        &self,
        address: &str,
        password: &str,
        new_account: bool,
    ) -> (StatusCode, Value) {
        let token = self.last_mail_to(address).await.accept_token();
        let mut body = json!({"token": token, "master_password_hash": mp_hash(password)});
        if new_account {
            body["kdf"] = kdf();
        }
        self.post("/invitations/accept", None, body).await
    }

    pub async fn login(&self, address: &str, password: &str) -> String {
        let (s, body) = self
            .post(
                "/auth/login",
                None,
                json!({"email": address, "master_password_hash": mp_hash(password)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["session_token"].as_str().unwrap().to_owned()
    }

    /// A new organization whose owner has accepted; returns (org id, owner session).
    pub async fn org_with_owner(&self, seats: Value) -> (String, String) {
        let owner = self.email(&format!("owner-{}", unique()));
        let org = self.create_org("Acme", &owner, seats).await;
        let (s, body) = self.accept_latest(&owner, "owner password", true).await;
        assert_eq!(
            (s, body["status"].as_str()),
            (StatusCode::OK, Some("confirmed")),
            "{body}"
        );
        (org, self.login(&owner, "owner password").await)
    }

    pub async fn invite(
        &self,
        org: &str,
        session: &str,
        emails: &[&str],
        role: &str,
    ) -> (StatusCode, Value) {
        self.post(
            &format!("/orgs/{org}/invitations"),
            Some(session),
            json!({"emails": emails, "role": role}),
        )
        .await
    }

    /// Every member of `org`, through the paginated listing.
    pub async fn members(&self, org: &str, session: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/orgs/{org}/members?cursor={c}"),
                None => format!("/orgs/{org}/members"),
            };
            let (s, body) = self.get(&path, Some(session)).await;
            assert_eq!(s, StatusCode::OK, "{body}");
            all.extend(body["members"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return all,
            }
        }
    }

    pub async fn member(&self, org: &str, session: &str, email: &str) -> Value {
        self.members(org, session)
            .await
            .into_iter()
            .find(|m| m["email"] == email)
            .unwrap_or_else(|| panic!("{email} is a member"))
    }

    /// Make every further send fail: the outbox directory becomes a file;
    /// SES forgets the sender identity.
    pub async fn break_mail_delivery(&self) {
        match self.backend {
            Backend::Embedded => {
                std::fs::remove_dir_all(&self.outbox).unwrap();
                std::fs::write(&self.outbox, b"not a directory").unwrap();
            }
            Backend::Aws => {
                let ses = aws_sdk_sesv2::Client::new(&Moto::shared().sdk_config());
                ses.delete_email_identity()
                    .email_identity(&self.domain)
                    .send()
                    .await
                    .expect("moto deletes the identity");
            }
        }
    }

    /// Undo [`TestApp::break_mail_delivery`].
    pub async fn repair_mail_delivery(&self) {
        match self.backend {
            Backend::Embedded => {
                std::fs::remove_file(&self.outbox).unwrap();
                std::fs::create_dir_all(&self.outbox).unwrap();
            }
            Backend::Aws => {
                let ses = aws_sdk_sesv2::Client::new(&Moto::shared().sdk_config());
                ses.create_email_identity()
                    .email_identity(&self.domain)
                    .send()
                    .await
                    .expect("moto verifies the sender domain");
            }
        }
    }

    /// A field (`email`, `member_id`, …) of `org`'s owner in the member listing.
    pub async fn owner_field(&self, org: &str, session: &str, field: &str) -> String {
        let members = self.members(org, session).await;
        let owner = members
            .iter()
            .find(|m| m["role"] == "owner")
            .expect("an owner");
        owner[field].as_str().unwrap().to_owned()
    }

    /// Configure `org` to sign in with the OIDC provider at `issuer` (master
    /// password decryption, enabled); returns the organization's SSO identifier.
    pub async fn use_oidc(
        &self,
        org: &str,
        session: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
    ) -> String {
        let config = json!({"protocol": "oidc", "issuer": issuer, "client_id": client_id, "client_secret": secret,
                            "member_decryption": "master_password", "enabled": true});
        let (s, body) = self
            .call(
                "PUT",
                &format!("/orgs/{org}/sso"),
                Some(session),
                Some(config),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["sso_identifier"].as_str().unwrap().to_owned()
    }

    /// The member id of `email` in `org`.
    pub async fn member_id(&self, org: &str, session: &str, email: &str) -> String {
        self.member(org, session, email).await["member_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Confirm the accepted member `email` of `org`.
    pub async fn confirm_member(&self, org: &str, session: &str, email: &str) {
        let id = self.member_id(org, session, email).await;
        self.confirm_member_id(org, session, &id).await;
    }

    /// Confirm the accepted member `id` of `org`.
    pub async fn confirm_member_id(&self, org: &str, session: &str, id: &str) {
        let (s, body) = self
            .post(
                &format!("/orgs/{org}/members/{id}/confirm"),
                Some(session),
                json!({"key": "k"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    /// Everything observable about an organization: settings (seats), members, mail sent.
    pub async fn snapshot(&self, org: &str, session: &str) -> (Value, Vec<Value>, usize) {
        let (s, settings) = self.get(&format!("/orgs/{org}"), Some(session)).await;
        assert_eq!(s, StatusCode::OK);
        (
            settings,
            self.members(org, session).await,
            self.mails().await.len(),
        )
    }
}
