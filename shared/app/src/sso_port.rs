//! The ports the SSO protocol adapters implement (`admit-sso-oidc`,
//! `admit-sso-saml`): build the request to the IdP, and turn the IdP's answer
//! into verified identity facts. The decision that follows is the domain's.

use admit_domain::{IdpIdentity, OidcConfig, SamlConfig, Timestamp};
use async_trait::async_trait;

/// Where to send the browser, and the secrets to keep for the callback.
pub struct AuthorizationRequest {
    pub url: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The IdP could not be reached or answered with an error.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// What the IdP sent failed verification.
    #[error("identity provider response rejected: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Oidc: Send + Sync + 'static {
    /// The authorization request (code flow, PKCE S256, `state`, a fresh nonce).
    async fn authorization_request(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        state: &str,
    ) -> Result<AuthorizationRequest, OidcError>;

    /// Exchange `code` (with the PKCE verifier), verify the ID token (issuer,
    /// audience, signature with the configured algorithm, expiry, `iat`,
    /// nonce), read UserInfo for the same subject, and return the identity.
    async fn identify(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<IdpIdentity, OidcError>;
}

/// Admit as a SAML service provider for one organization: the entity id is
/// `{PUBLIC_URL}/sso/saml/metadata/{sso_identifier}`, the ACS is
/// `{PUBLIC_URL}/sso/saml/acs`.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    pub entity_id: String,
    pub acs_url: String,
}

/// An AuthnRequest by HTTP-Redirect: where to send the browser, and the
/// request's ID, which the response's `InResponseTo` must carry.
pub struct SamlRequest {
    pub url: String,
    pub request_id: String,
}

/// What can be read of a response before it is verified, to find out which
/// organization's configuration verifies it. Nothing here is trusted.
#[derive(Debug, Clone)]
pub struct UnverifiedResponse {
    /// The decoded XML, checked for size and for any DTD.
    pub xml: String,
    /// `InResponseTo` of the response; `None` for an unsolicited one.
    pub in_response_to: Option<String>,
    /// The audiences of its assertion.
    pub audiences: Vec<String>,
}

/// A response that verified: signature, issuer, audience, recipient,
/// destination, `InResponseTo`, times, status.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    pub identity: IdpIdentity,
    /// The assertion's `ID`, for the replay cache.
    pub assertion_id: String,
    /// Until when the assertion could be presented: remember its ID that long.
    pub valid_until: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The input is not something Admit reads at all (too large, a DTD, not XML).
    #[error("not an acceptable SAML message: {0}")]
    Malformed(String),
    /// What the IdP sent failed verification.
    #[error("SAML response rejected: {0}")]
    Rejected(String),
    /// Admit's side failed (a library error building a message).
    #[error("SAML service provider error: {0}")]
    Internal(String),
}

/// The port a SAML adapter implements (`admit-sso-saml`). Pure computation:
/// no call leaves the process.
pub trait Saml: Send + Sync + 'static {
    /// The SP metadata XML an IdP administrator imports.
    fn metadata(&self, sp: &ServiceProvider, now: Timestamp) -> Result<String, SamlError>;

    /// An AuthnRequest with a fresh, unguessable ID, sent by HTTP-Redirect.
    fn authn_request(
        &self,
        config: &SamlConfig,
        sp: &ServiceProvider,
        relay_state: &str,
        now: Timestamp,
    ) -> Result<SamlRequest, SamlError>;

    /// Decode a `SAMLResponse` form value (base64) and read what routing needs.
    fn read_response(&self, saml_response: &str) -> Result<UnverifiedResponse, SamlError>;

    /// Verify a response against the configured certificate only, for a
    /// request with ID `request_id` (`None`: unsolicited, which the caller
    /// has allowed), and read the identity from the signed part.
    fn verify(
        &self,
        config: &SamlConfig,
        sp: &ServiceProvider,
        response: &UnverifiedResponse,
        request_id: Option<&str>,
        now: Timestamp,
    ) -> Result<VerifiedAssertion, SamlError>;
}
