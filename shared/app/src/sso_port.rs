//! The port an OpenID Connect adapter implements (`admit-sso-oidc`): build
//! the authorization request, and turn the IdP's answer into verified
//! identity facts. The decision that follows is the domain's.

use admit_domain::{IdpIdentity, OidcConfig};
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
