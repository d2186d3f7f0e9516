//! Admit's use cases: load the facts, ask the domain, apply the result
//! atomically through the store, then send what mail is owed.
//!
//! Adapters (the HTTP functions, the scheduled job, `admit serve`) hold an
//! [`App`] and call its methods; they never touch the store or mailer directly.

mod access;
mod admin_group;
mod administration;
mod clock;
mod dns_port;
mod domains;
mod error;
mod events;
mod housekeeping;
mod idp_metadata;
mod invitations;
mod members;
mod operator;
mod owed_mail;
mod passwords;
mod rate_limits;
mod scim;
mod secrets_port;
mod sessions;
mod setup;
mod sso_flow;
mod sso_port;
mod sso_settings;
pub mod views;

pub use access::Principal;
pub use admit_store::Swept;
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use dns_port::{DnsError, TxtLookup};
pub use domains::DomainChecks;
pub use error::Error;
pub use events::{EVENTS_PAGE_SIZE, EventFilter};
pub use idp_metadata::IdpMetadata;
pub use owed_mail::RunSummary;
pub use rate_limits::RateLimitConfig;
pub use scim::{ScimActivity, ScimCaller, ScimFailure, ScimResult, ScimStatus, ScimTokenIssued};
pub use secrets_port::{
    DataKey, LocalKey, SecretBox, SecretError, context as secret_context, seal_with,
};
pub use sso_flow::{LinkBy, SignInOutcome, SignInStarted};
pub use sso_port::{
    AuthorizationRequest, Oidc, OidcError, Saml, SamlError, SamlRequest, ServiceProvider,
    UnverifiedResponse, VerifiedAssertion,
};
pub use views::*;

use admit_domain::TokenDigest;
use admit_mail::{Mailer, Templates};
use admit_store::Store;
use std::sync::Arc;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Settings every use case may read.
#[derive(Clone)]
pub struct Config {
    /// Where members reach Admit, without a trailing slash (`https://admit.example.com`).
    pub public_url: String,
    /// Digest of the operator token; `None` turns the operator API off.
    pub operator_token: Option<TokenDigest>,
    /// The budgets of the sign-in and token endpoints.
    pub rate_limits: RateLimitConfig,
    /// How many days events are kept (`admit_domain::event::DEFAULT_RETENTION_DAYS`).
    pub event_retention_days: u32,
}

impl Config {
    pub fn new(public_url: &str, operator_token: Option<&str>) -> Self {
        Config {
            public_url: public_url.trim_end_matches('/').to_owned(),
            operator_token: operator_token
                .filter(|t| !t.is_empty())
                .map(operator::digest_of),
            rate_limits: RateLimitConfig::default(),
            event_retention_days: admit_domain::event::DEFAULT_RETENTION_DAYS,
        }
    }

    /// Admit serves on the loopback interface over plain http (development, tests).
    pub fn is_local(&self) -> bool {
        ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                self.public_url
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            })
    }

    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}

/// The use cases, with the ports they work through. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
    /// The address of the client this request came from, when known
    /// ([`App::for_client`]): what rate limits count against.
    client: Option<std::net::IpAddr>,
}

struct Inner {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    templates: Templates,
    clock: Arc<dyn Clock>,
    config: Config,
    oidc: Option<Arc<dyn Oidc>>,
    saml: Option<Arc<dyn Saml>>,
    secrets: Option<Arc<dyn SecretBox>>,
    dns: Option<Arc<dyn TxtLookup>>,
}

/// The secret box of an `App` nobody gave one ([`App::with_secret_box`]).
/// Release builds have none: sealing fails, so no secret is ever stored in
/// clear or under a key that dies with the process. Debug builds (tests)
/// have a key of this process's own, so the many tests that build an `App`
/// need not each make one.
fn default_secret_box() -> Option<Arc<dyn SecretBox>> {
    static PROCESS_KEY: std::sync::OnceLock<Arc<LocalKey>> = std::sync::OnceLock::new();
    if cfg!(debug_assertions) {
        let key = PROCESS_KEY.get_or_init(|| Arc::new(LocalKey::generate()));
        Some(key.clone() as Arc<dyn SecretBox>)
    } else {
        None
    }
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Self {
        App {
            inner: Arc::new(Inner {
                store,
                mailer,
                templates: Templates::new(),
                clock,
                config,
                oidc: None,
                saml: None,
                secrets: default_secret_box(),
                dns: None,
            }),
            client: None,
        }
    }

    /// Give the use cases an OpenID Connect client (only functions that run
    /// SSO sign-ins need one). Call before the `App` is cloned.
    pub fn with_oidc(mut self, oidc: Arc<dyn Oidc>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_oidc is called before the App is shared")
            .oidc = Some(oidc);
        self
    }

    /// Give the use cases a SAML service provider (only functions that run
    /// SSO sign-ins or configure SSO need one). Call before the `App` is cloned.
    pub fn with_saml(mut self, saml: Arc<dyn Saml>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_saml is called before the App is shared")
            .saml = Some(saml);
        self
    }

    /// Give the use cases the master key that seals the secrets they store
    /// (both composition roots do: AWS KMS on Lambda, the key file under
    /// `admit serve`). Call before the `App` is cloned.
    pub fn with_secret_box(mut self, secrets: Arc<dyn SecretBox>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_secret_box is called before the App is shared")
            .secrets = Some(secrets);
        self
    }

    /// Give the use cases a DNS resolver (functions that verify domains, and
    /// the scheduled job). Call before the `App` is cloned.
    pub fn with_dns(mut self, dns: Arc<dyn TxtLookup>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_dns is called before the App is shared")
            .dns = Some(dns);
        self
    }

    pub(crate) fn secrets(&self) -> Result<&dyn SecretBox> {
        self.inner
            .secrets
            .as_deref()
            .ok_or_else(|| Error::Internal("no secret box configured (ADMIT_KMS_KEY_ID)".into()))
    }

    pub(crate) fn saml(&self) -> Result<Arc<dyn Saml>> {
        self.inner
            .saml
            .clone()
            .ok_or_else(|| Error::Internal("no SAML service provider configured".into()))
    }

    pub(crate) fn oidc(&self) -> Result<&dyn Oidc> {
        self.inner
            .oidc
            .as_deref()
            .ok_or_else(|| Error::Internal("no OpenID Connect client configured".into()))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) fn now(&self) -> admit_domain::Timestamp {
        self.inner.clock.now()
    }
}
