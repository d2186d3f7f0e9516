//! What the use-case tests share: an [`App`] on the embedded store in a
//! temporary directory, the outbox mailer (its `.eml` files read back), a
//! [`ManualClock`], and in-process fakes of the `Oidc` and `Saml` ports.
//! Nothing here reaches the network.

#![allow(dead_code)] // each test binary uses its own part of this module

use admit_app::{
    Accept, App, AuthorizationRequest, Clock, Config, CreateOrganization, Invite, InviteResult,
    Login, ManualClock, MemberView, Oidc, OidcError, Principal, Saml, SamlError, SamlRequest,
    SeatsInput, ServiceProvider, SignInOutcome, UnverifiedResponse, VerifiedAssertion,
};
use admit_domain::{
    Email, ExternalId, IdpIdentity, Kdf, KeyMaterial, OidcConfig, Role, SamlConfig, Timestamp,
};
use admit_mail::{Mail, MailError, Mailer, OutboxMailer};
use admit_store_embedded::EmbeddedStore;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const PUBLIC_URL: &str = "https://admit.example.com";
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";
pub const ISSUER: &str = "https://idp.example.net";
/// A self-signed RSA-2048 certificate made for these tests (`openssl req -x509`).
pub const IDP_CERTIFICATE: &str = include_str!("idp-certificate.pem");

/// `Err(pattern)` or a panic saying what came instead.
#[macro_export]
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            Err(other) => panic!("expected {}, got {other:?}", stringify!($pattern)),
            Ok(_) => panic!("expected {}, got Ok", stringify!($pattern)),
        }
    };
}

/// A well-formed `master_password_hash` (base64 of 32 bytes), one per letter.
pub fn password(letter: char) -> String {
    assert!(letter.is_ascii_uppercase());
    // 42 symbols and a zero symbol: 32 bytes with no stray trailing bits.
    format!("{}A=", letter.to_string().repeat(42))
}

/// An RSA-2048 public key (DER SubjectPublicKeyInfo, base64): the server
/// checks that `keys.public_key` is one.
pub const PUBLIC_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4zOLLFtpfJPbFxqzFcdHWkUErptATSoU0ovqEXaU6KtKT0vgVez5XgkKf8UiiB1ewZpy3IrYZcC2SqL1iA5VmLp3lphyxPo8Yc09Ay7w+B1OmoNc33YEWWYT02xrr3HAlhQ6Ytlahj9/RO90bTHqjeG+HxKtgggHLL9mT29mNhX8DauRRBu5hvjyphP+1wpznwMQRBDvKxD4kQnQ3VraxsDzsHLVG4x0iALnYF6ODS2OWTl3KoE10PW2gmoNA87gMFL4YvlzhISaJWdsKh660wzpXnHuXAyc+m5FQtjeWWcOVJlepwzi8hcC54qc1/RIuLUOeuaRb54o+hrqgSduBwIDAQAB";

pub fn keys() -> KeyMaterial {
    KeyMaterial {
        user_key: "2.user-key|encrypted".into(),
        public_key: PUBLIC_KEY.into(),
        encrypted_private_key: "2.private-key|encrypted".into(),
    }
}

/// An acceptance that registers a new account.
pub fn accept_new(token: &str, pw: char) -> Accept {
    Accept {
        token: token.to_owned(),
        master_password_hash: password(pw),
        kdf: Some(Kdf::DEFAULT),
        keys: Some(keys()),
        name: Some("New Member".into()),
        org_key: None,
    }
}

/// An acceptance by an account that exists (its master password only).
pub fn accept_existing(token: &str, pw: char) -> Accept {
    Accept {
        token: token.to_owned(),
        master_password_hash: password(pw),
        kdf: None,
        keys: None,
        name: None,
        org_key: None,
    }
}

pub fn identity(sub: &str, email: Option<&str>, verified: bool) -> IdpIdentity {
    IdpIdentity {
        external_id: ExternalId::parse(sub).unwrap(),
        email: email.map(|e| Email::parse(e).unwrap()),
        email_verified: verified,
        name: Some(format!("Person {sub}")),
        groups: None,
    }
}

/// One message in the outbox, decoded.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
}

impl SentMail {
    /// The token of the `/accept?token=` link in the text part.
    pub fn accept_token(&self) -> String {
        let marker = format!("{PUBLIC_URL}/accept?token=");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no invitation link in {:?}", self.text))
            + marker.len();
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

/// The outbox mailer, which can be told to fail (a mail service outage).
pub struct SwitchableMailer {
    outbox: OutboxMailer,
    failing: AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for SwitchableMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(MailError::Transient(
                "the test's mail service is down".into(),
            ));
        }
        self.outbox.send(mail).await
    }
}

/// An organization created through the operator API, with its owner
/// signed in by master password.
#[derive(Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub sso_identifier: String,
    pub owner: Principal,
    pub owner_email: String,
    pub owner_member_id: String,
}

pub struct World {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub oidc: Arc<FakeOidc>,
    pub saml: Arc<FakeSaml>,
    mailer: Arc<SwitchableMailer>,
    outbox: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where every test's clock starts.
pub fn start() -> Timestamp {
    Timestamp::parse("2031-03-03T09:00:00Z").unwrap()
}

impl World {
    pub fn new() -> World {
        Self::with_operator(Some(OPERATOR_TOKEN))
    }

    pub fn with_operator(operator_token: Option<&str>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let store = EmbeddedStore::open(&dir.path().join("admit.redb")).unwrap();
        let mailer = Arc::new(SwitchableMailer {
            outbox: OutboxMailer::new(&outbox, "Admit <admit@admit.example.com>").unwrap(),
            failing: AtomicBool::new(false),
        });
        let clock = Arc::new(ManualClock::new(start()));
        let oidc = Arc::new(FakeOidc::default());
        let saml = Arc::new(FakeSaml::default());
        let app = App::new(
            Arc::new(store),
            mailer.clone(),
            clock.clone(),
            Config::new(PUBLIC_URL, operator_token),
        )
        .with_oidc(oidc.clone())
        .with_saml(saml.clone());
        World {
            app,
            clock,
            oidc,
            saml,
            mailer,
            outbox,
            _dir: dir,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    pub fn mail_fails(&self, failing: bool) {
        self.mailer.failing.store(failing, Ordering::SeqCst);
    }

    /// Every message in the outbox, oldest first.
    pub fn mails(&self) -> Vec<SentMail> {
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&self.outbox) {
            Ok(dir) => dir
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let raw = std::fs::read(p).unwrap();
                let msg = mail_parser::MessageParser::default()
                    .parse(&raw)
                    .expect("an RFC 5322 message");
                let to = msg
                    .to()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.address().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                SentMail {
                    to,
                    subject: msg.subject().unwrap_or_default().to_owned(),
                    text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The messages to `email`, oldest first.
    pub fn mails_to(&self, email: &str) -> Vec<SentMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == email))
            .collect()
    }

    /// The newest message to `email`.
    pub fn last_mail_to(&self, email: &str) -> SentMail {
        self.mails_to(email)
            .pop()
            .unwrap_or_else(|| panic!("no mail to {email}"))
    }

    /// The token of the newest invitation link mailed to `email`.
    pub fn token_for(&self, email: &str) -> String {
        self.last_mail_to(email).accept_token()
    }

    pub async fn login(&self, email: &str, pw: char) -> Principal {
        let issued = self
            .app
            .login(Login {
                email: email.to_owned(),
                master_password_hash: password(pw),
            })
            .await
            .unwrap_or_else(|e| panic!("{email} signs in: {e:?}"));
        self.app.authenticate(&issued.session_token).await.unwrap()
    }

    /// Create an organization (unlimited seats) whose owner accepts and signs
    /// in with master password `O`.
    pub async fn org(&self, name: &str, ident: &str) -> Org {
        self.org_with_seats(name, ident, None, None).await
    }

    pub async fn org_with_seats(
        &self,
        name: &str,
        ident: &str,
        limit: Option<u32>,
        autoscale_max: Option<u32>,
    ) -> Org {
        let owner_email = format!("owner@{ident}.example.com");
        let created = self
            .app
            .create_organization(CreateOrganization {
                name: name.to_owned(),
                sso_identifier: ident.to_owned(),
                owner_email: owner_email.clone(),
                seats: Some(SeatsInput {
                    limit,
                    autoscale_max,
                }),
            })
            .await
            .unwrap();
        let token = self.token_for(&owner_email);
        self.app
            .accept_invitation(accept_new(&token, 'O'))
            .await
            .unwrap();
        let owner = self.login(&owner_email, 'O').await;
        Org {
            id: created.org_id,
            name: name.to_owned(),
            sso_identifier: ident.to_owned(),
            owner,
            owner_email,
            owner_member_id: created.owner_member_id,
        }
    }

    pub async fn invite(
        &self,
        who: &Principal,
        org: &Org,
        emails: &[&str],
        role: Role,
    ) -> admit_app::Result<InviteResult> {
        self.app
            .invite(
                who,
                &org.id,
                Invite {
                    emails: emails.iter().map(|e| (*e).to_owned()).collect(),
                    role,
                },
            )
            .await
    }

    /// `email` invited by the owner, then accepted with a new account
    /// (master password `pw`): status `accepted`. Returns its member id.
    pub async fn accepted_member(&self, org: &Org, email: &str, role: Role, pw: char) -> String {
        let invited = self.invite(&org.owner, org, &[email], role).await.unwrap();
        let token = self.token_for(email);
        let accepted = self
            .app
            .accept_invitation(accept_new(&token, pw))
            .await
            .unwrap();
        assert_eq!(accepted.member_id, invited.invited[0].member_id);
        accepted.member_id
    }

    /// As [`World::accepted_member`], then confirmed by the owner and signed in.
    pub async fn confirmed_member(
        &self,
        org: &Org,
        email: &str,
        role: Role,
        pw: char,
    ) -> (String, Principal) {
        let member = self.accepted_member(org, email, role, pw).await;
        self.app
            .confirm(
                &org.owner,
                &org.id,
                &member,
                admit_app::Confirm {
                    key: "org-key-for-member".into(),
                },
            )
            .await
            .unwrap();
        (member, self.login(email, pw).await)
    }

    /// Every member of `org`, all pages, as `who` sees them.
    pub async fn members(&self, who: &Principal, org: &Org) -> Vec<MemberView> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .app
                .list_members(who, &org.id, None, cursor.as_deref())
                .await
                .unwrap();
            out.extend(page.members);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
    }

    /// The member with `email`, as the owner sees it.
    pub async fn member(&self, org: &Org, email: &str) -> Option<MemberView> {
        self.members(&org.owner, org)
            .await
            .into_iter()
            .find(|m| m.email == email)
    }

    pub async fn occupied_seats(&self, org: &Org) -> u32 {
        self.app
            .organization(&org.owner, &org.id)
            .await
            .unwrap()
            .seats
            .occupied
    }

    /// Configure `org`'s SSO as OpenID Connect at [`ISSUER`], enabled.
    pub async fn enable_oidc(&self, org: &Org, decryption: admit_domain::MemberDecryption) {
        let mut req = oidc_settings();
        req.member_decryption = decryption;
        if decryption == admit_domain::MemberDecryption::KeyConnector {
            req.key_connector_url = Some("https://keys.example.net".into());
        }
        self.app
            .configure_sso(&org.owner, &org.id, req)
            .await
            .unwrap();
    }

    /// A whole OIDC sign-in at `org` (optionally from an invitation link)
    /// in which the fake IdP vouches for `who`.
    pub async fn oidc_sign_in(
        &self,
        org: &Org,
        invitation: Option<&str>,
        who: IdpIdentity,
    ) -> admit_app::Result<SignInOutcome> {
        self.oidc_sign_in_with(org, invitation, None, who).await
    }

    /// [`World::oidc_sign_in`], linking the returning identity as `link` says.
    pub async fn oidc_sign_in_with(
        &self,
        org: &Org,
        invitation: Option<&str>,
        link: Option<admit_app::LinkBy<'_>>,
        who: IdpIdentity,
    ) -> admit_app::Result<SignInOutcome> {
        let started = self
            .app
            .start_sign_in_with(&org.sso_identifier, invitation, link)
            .await?;
        let state = FakeOidc::state_of(&started.redirect);
        let code = self.oidc.will_answer(Ok(who));
        self.app
            .finish_oidc_sign_in(
                Some(&state),
                Some(&code),
                None,
                Some(&started.browser_secret),
            )
            .await
    }
}

/// The OIDC settings of an organization at [`ISSUER`], enabled.
pub fn oidc_settings() -> admit_app::PutSso {
    admit_app::PutSso {
        protocol: "oidc".into(),
        member_decryption: admit_domain::MemberDecryption::MasterPassword,
        enabled: true,
        key_connector_url: None,
        issuer: Some(ISSUER.into()),
        client_id: Some("admit".into()),
        client_secret: Some("client-secret".into()),
        scopes: None,
        signing_algorithm: None,
        idp_entity_id: None,
        idp_sso_url: None,
        idp_certificate_pem: None,
        email_attribute: None,
        name_attribute: None,
        allow_idp_initiated: None,
        allow_sha1: None,
        groups_attribute: None,
        groups_claim: None,
        idp_metadata_xml: None,
    }
}

/// The SAML settings of an organization, enabled.
pub fn saml_settings() -> admit_app::PutSso {
    admit_app::PutSso {
        protocol: "saml".into(),
        issuer: None,
        client_id: None,
        client_secret: None,
        idp_entity_id: Some("https://idp.example.net/saml".into()),
        idp_sso_url: Some("https://idp.example.net/saml/sso".into()),
        idp_certificate_pem: Some(IDP_CERTIFICATE.into()),
        ..oidc_settings()
    }
}

/// What the fake IdP answers to one authorization code.
type OidcAnswer = Result<IdpIdentity, OidcError>;

/// An OpenID provider in the process: the authorization request is a URL
/// carrying `state`; the answer to a code is whatever the test queued.
/// `identify` insists on the nonce and PKCE verifier it issued.
#[derive(Default)]
pub struct FakeOidc {
    counter: AtomicU64,
    /// nonce → PKCE verifier, as issued.
    issued: Mutex<HashMap<String, String>>,
    answers: Mutex<HashMap<String, OidcAnswer>>,
}

impl FakeOidc {
    /// The `state` in an authorization URL the fake built.
    pub fn state_of(url: &str) -> String {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("state="))
            .unwrap_or_else(|| panic!("no state in {url}"))
            .to_owned()
    }

    /// Queue the answer to a new code, and return the code.
    pub fn will_answer(&self, answer: OidcAnswer) -> String {
        let code = format!("code-{}", self.counter.fetch_add(1, Ordering::SeqCst));
        self.answers.lock().unwrap().insert(code.clone(), answer);
        code
    }
}

#[async_trait::async_trait]
impl Oidc for FakeOidc {
    async fn authorization_request(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        state: &str,
    ) -> Result<AuthorizationRequest, OidcError> {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let (nonce, pkce_verifier) = (format!("nonce-{n}"), format!("pkce-{n}"));
        self.issued
            .lock()
            .unwrap()
            .insert(nonce.clone(), pkce_verifier.clone());
        Ok(AuthorizationRequest {
            url: format!(
                "{}/authorize?client_id={}&redirect_uri={redirect_uri}&state={state}&nonce={nonce}",
                config.issuer, config.client_id
            ),
            nonce,
            pkce_verifier,
        })
    }

    async fn identify(
        &self,
        _config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<IdpIdentity, OidcError> {
        assert_eq!(redirect_uri, format!("{PUBLIC_URL}/sso/oidc/callback"));
        if self.issued.lock().unwrap().get(nonce).map(String::as_str) != Some(pkce_verifier) {
            return Err(OidcError::Rejected(
                "nonce or PKCE verifier not issued".into(),
            ));
        }
        self.answers
            .lock()
            .unwrap()
            .remove(code)
            .unwrap_or_else(|| Err(OidcError::Rejected("unknown code".into())))
    }
}

/// A SAML response the test prepared, handed to the app as its handle.
#[derive(Clone)]
pub struct FakeResponse {
    pub in_response_to: Option<String>,
    pub audience: String,
    pub assertion_id: String,
    pub identity: IdpIdentity,
}

/// A SAML IdP and SP library in the process: AuthnRequests are URLs with
/// their ID; a "SAMLResponse" is the handle of a response the test prepared;
/// verification checks it answers the request the app names.
#[derive(Default)]
pub struct FakeSaml {
    counter: AtomicU64,
    responses: Mutex<HashMap<String, FakeResponse>>,
}

impl FakeSaml {
    /// The request ID in an AuthnRequest URL the fake built.
    pub fn request_id_of(url: &str) -> String {
        Self::param(url, "SAMLRequest")
    }

    pub fn relay_state_of(url: &str) -> String {
        Self::param(url, "RelayState")
    }

    fn param(url: &str, name: &str) -> String {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {url}"))
            .to_owned()
    }

    /// Prepare a response; the returned handle is the "SAMLResponse".
    pub fn prepare(&self, response: FakeResponse) -> String {
        let handle = format!("response-{}", self.counter.fetch_add(1, Ordering::SeqCst));
        self.responses
            .lock()
            .unwrap()
            .insert(handle.clone(), response);
        handle
    }
}

impl Saml for FakeSaml {
    fn metadata(&self, sp: &ServiceProvider, _now: Timestamp) -> Result<String, SamlError> {
        Ok(format!(
            "<EntityDescriptor entityID=\"{}\"><AssertionConsumerService Location=\"{}\"/></EntityDescriptor>",
            sp.entity_id, sp.acs_url
        ))
    }

    fn authn_request(
        &self,
        config: &SamlConfig,
        _sp: &ServiceProvider,
        relay_state: &str,
        _now: Timestamp,
    ) -> Result<SamlRequest, SamlError> {
        let request_id = format!("_request{}", self.counter.fetch_add(1, Ordering::SeqCst));
        Ok(SamlRequest {
            url: format!(
                "{}?SAMLRequest={request_id}&RelayState={relay_state}",
                config.idp_sso_url
            ),
            request_id,
        })
    }

    fn read_response(&self, saml_response: &str) -> Result<UnverifiedResponse, SamlError> {
        let r = self
            .responses
            .lock()
            .unwrap()
            .get(saml_response)
            .cloned()
            .ok_or_else(|| SamlError::Malformed("not a response the test prepared".into()))?;
        Ok(UnverifiedResponse {
            xml: saml_response.to_owned(),
            in_response_to: r.in_response_to,
            audiences: vec![r.audience],
        })
    }

    fn verify(
        &self,
        _config: &SamlConfig,
        sp: &ServiceProvider,
        response: &UnverifiedResponse,
        request_id: Option<&str>,
        now: Timestamp,
    ) -> Result<VerifiedAssertion, SamlError> {
        let r = self
            .responses
            .lock()
            .unwrap()
            .get(&response.xml)
            .cloned()
            .ok_or_else(|| SamlError::Rejected("unknown response".into()))?;
        if r.in_response_to.as_deref() != request_id {
            return Err(SamlError::Rejected("InResponseTo does not match".into()));
        }
        if r.audience != sp.entity_id {
            return Err(SamlError::Rejected("wrong audience".into()));
        }
        Ok(VerifiedAssertion {
            identity: r.identity,
            assertion_id: r.assertion_id,
            valid_until: now + time::Duration::minutes(5),
        })
    }
}

/// The setup token of a sign-in that leads to the setup step.
#[allow(dead_code)]
pub fn setup_token(outcome: admit_app::Result<SignInOutcome>) -> String {
    match outcome {
        Ok(SignInOutcome::Setup { setup_token }) => setup_token,
        Ok(SignInOutcome::SignedIn(_)) => panic!("expected the setup step, got signed in"),
        Err(e) => panic!("expected the setup step, got {e:?}"),
    }
}

/// The session token of a sign-in that signs in.
#[allow(dead_code)]
pub fn session_token(outcome: admit_app::Result<SignInOutcome>) -> String {
    match outcome {
        Ok(SignInOutcome::SignedIn(s)) => s.session_token,
        Ok(SignInOutcome::Setup { .. }) => panic!("expected signed in, got the setup step"),
        Err(e) => panic!("expected signed in, got {e:?}"),
    }
}

/// The trusted-device setup step of `setup_token`, remembering the device.
#[allow(dead_code)]
pub fn trusted_device(setup_token: String) -> admit_app::SetupTrustedDevice {
    admit_app::SetupTrustedDevice {
        setup_token,
        remember: true,
        device: admit_app::DeviceInput {
            identifier: "device-1".into(),
            name: "Laptop".into(),
            device_type: "chrome".into(),
        },
        keys: keys(),
    }
}
