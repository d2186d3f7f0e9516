//! OpenID Connect for Admit, with the `openidconnect` crate: discovery
//! (cached for a bounded time), the authorization code flow with PKCE S256,
//! `state` and nonce, ID token verification pinned to the organization's
//! algorithm, and UserInfo for the same subject. The HTTP client follows no
//! redirects. An ID token signed with a key id the cached key set does not
//! know makes the key set be fetched again, once (key rotation).
//!
//! Nothing it connects to may be inside ([`outbound`]): each request's URL,
//! each endpoint discovery names and each address a host name resolves to is
//! checked before connecting; a refusal fails the sign-in as a rejected IdP
//! response. It trusts the platform's roots plus [`ClientOptions::ca_file`].

pub mod outbound;

pub use admit_domain::sso_config::Reach;
pub use outbound::{ClientError, ClientOptions, Refusal};

use admit_app::{AuthorizationRequest, Oidc, OidcError};
use admit_domain::{Email, ExternalId, IdpIdentity, OidcConfig, SigningAlgorithm};
use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, SubjectIdentifier, TokenResponse,
};
use outbound::{Guarded, chain, check_endpoints, refusal};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long discovered provider metadata (and its keys) is reused.
pub const METADATA_LIFETIME: Duration = Duration::from_secs(600);

pub struct OpenIdConnect {
    http: Guarded,
    cache: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

fn unavailable(e: impl std::fmt::Display) -> OidcError {
    OidcError::Unavailable(e.to_string())
}

fn rejected(e: impl std::fmt::Display) -> OidcError {
    OidcError::Rejected(e.to_string())
}

/// A failed request: rejected when the outbound rules refused it (the IdP
/// named a place inside), unavailable otherwise.
fn request_failed(what: &str, e: &(dyn std::error::Error + 'static)) -> OidcError {
    match refusal(e) {
        Some(r) => rejected(format!("{what}: refused before connecting: {r}")),
        None => unavailable(format!("{what}: {}", chain(e))),
    }
}

fn algorithm(a: SigningAlgorithm) -> CoreJwsSigningAlgorithm {
    use CoreJwsSigningAlgorithm as C;
    match a {
        SigningAlgorithm::RS256 => C::RsaSsaPkcs1V15Sha256,
        SigningAlgorithm::RS384 => C::RsaSsaPkcs1V15Sha384,
        SigningAlgorithm::RS512 => C::RsaSsaPkcs1V15Sha512,
        SigningAlgorithm::PS256 => C::RsaSsaPssSha256,
        SigningAlgorithm::PS384 => C::RsaSsaPssSha384,
        SigningAlgorithm::PS512 => C::RsaSsaPssSha512,
    }
}

impl OpenIdConnect {
    /// A client for public IdPs, trusting the platform's roots
    /// ([`ClientOptions::default`]).
    pub fn new() -> Result<Self, ClientError> {
        Self::with_options(&ClientOptions::default())
    }

    /// A client reaching what `options.reach` allows, trusting the
    /// platform's roots plus `options.ca_file`.
    pub fn with_options(options: &ClientOptions) -> Result<Self, ClientError> {
        Self::with_resolver(options, Arc::new(outbound::SystemResolver))
    }

    fn with_resolver(
        options: &ClientOptions,
        resolver: Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            http: Guarded {
                inner: outbound::http_client(options, resolver)?,
                reach: options.reach,
            },
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The issuer's metadata and keys: cached, or discovered when `fresh`.
    async fn metadata(&self, issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !fresh {
            let cache = self.cache.lock().expect("cache lock");
            if let Some((at, m)) = cache
                .get(issuer)
                .filter(|(at, _)| at.elapsed() < METADATA_LIFETIME)
            {
                tracing::debug!(age = ?at.elapsed(), "provider metadata from cache");
                return Ok(m.clone());
            }
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(rejected)?;
        let m = CoreProviderMetadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| request_failed("discovery", &e))?;
        // Before the document is used or cached: none of its endpoints may be inside.
        check_endpoints(&m, self.http.reach).map_err(rejected)?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(issuer.to_owned(), (Instant::now(), m.clone()));
        Ok(m)
    }

    async fn client(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        fresh: bool,
    ) -> Result<ClientWithMetadata, OidcError> {
        let metadata = self.metadata(&config.issuer, fresh).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            // In clear only for a token request (`identify`); the
            // authorization request sends none.
            config
                .client_secret
                .clear()
                .map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(rejected)?);
        Ok(ClientWithMetadata(client))
    }
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct ClientWithMetadata(Client);

#[async_trait]
impl Oidc for OpenIdConnect {
    async fn authorization_request(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        state: &str,
    ) -> Result<AuthorizationRequest, OidcError> {
        let ClientWithMetadata(client) = self.client(config, redirect_uri, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, nonce) = request.url();
        Ok(AuthorizationRequest {
            url: url.to_string(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn identify(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<IdpIdentity, OidcError> {
        if config.client_secret.clear().is_none() {
            return Err(unavailable(
                "the client secret was not opened for the token request",
            ));
        }
        let ClientWithMetadata(client) = self.client(config, redirect_uri, false).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(unavailable)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| rejected(format!("token request: {}", chain(&e))))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| rejected("no id_token in the token response"))?;
        let nonce = Nonce::new(nonce.to_owned());
        let alg = algorithm(config.signing_algorithm);
        let verify = |client: &Client| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(vec![alg.clone()]);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let (client, claims) = match verify(&client) {
            Ok(claims) => (client, claims),
            // A key id we don't know: the IdP may have rotated its keys. Fetch them again, once.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                tracing::info!(issuer = %config.issuer, "unknown signing key; fetching the key set again");
                let ClientWithMetadata(fresh) = self.client(config, redirect_uri, true).await?;
                let claims = verify(&fresh).map_err(|e| rejected(format!("id token: {e}")))?;
                (fresh, claims)
            }
            Err(e) => return Err(rejected(format!("id token: {e}"))),
        };
        let subject: SubjectIdentifier = claims.subject().clone();
        let external_id = ExternalId::parse(subject.as_str()).map_err(rejected)?;
        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified();

        if client.user_info_url().is_some() {
            let access: AccessToken = token.access_token().clone();
            let info: openidconnect::core::CoreUserInfoClaims = client
                .user_info(access, Some(subject.clone()))
                .map_err(unavailable)?
                .request_async(&self.http)
                .await
                .map_err(|e| rejected(format!("userinfo: {}", chain(&e))))?;
            if email.is_none() {
                email = info.email().map(|e| e.as_str().to_owned());
                email_verified = info.email_verified();
            } else if email_verified.is_none()
                && info.email().map(|e| e.as_str()) == email.as_deref()
            {
                email_verified = info.email_verified();
            }
        }
        Ok(IdpIdentity {
            external_id,
            email: email.and_then(|e| Email::parse(&e).ok()),
            email_verified: email_verified == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        })
    }
}
