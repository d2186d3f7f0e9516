//! The records of an SSO sign-in: the pending sign-in between `/sso/start`
//! and the IdP's answer, the link of an IdP identity to an account, and the
//! grant that lets a just-provisioned member finish the setup step.

use crate::{ExternalId, MemberId, OrgId, Secret, Timestamp, TokenDigest, UserId};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Duration;

/// How long a sign-in may take at the IdP.
pub const SIGN_IN_LIFETIME: Duration = Duration::minutes(10);
/// How long a setup token is valid.
pub const SETUP_LIFETIME: Duration = Duration::minutes(15);

/// A sign-in waiting for the IdP's answer. Found by the digest of the
/// `state` (OIDC) or RelayState (SAML) it was sent with, bound to the browser
/// that started it, used once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: TokenDigest,
    /// Digest of the secret in the browser's sign-in cookie.
    pub browser: TokenDigest,
    pub org_id: OrgId,
    /// The invited membership, when the sign-in began from an invitation link.
    pub invitation: Option<MemberId>,
    /// Protocol data: the OIDC nonce and PKCE verifier, or the SAML request id.
    pub nonce: String,
    pub pkce_verifier: String,
    pub expires_at: Timestamp,
    /// The account the returning identity is to be linked to, when the
    /// sign-in began from a link token or a session asking to link.
    #[serde(default)]
    pub link_user: Option<UserId>,
}

/// A new pending sign-in with the secrets to hand out: the `state` for the
/// IdP round trip and the browser cookie.
pub struct StartedSignIn {
    pub pending: PendingSignIn,
    pub state: Secret,
    pub browser: Secret,
}

impl PendingSignIn {
    /// A new sign-in; the protocol fills `nonce` and `pkce_verifier` in.
    pub fn start(
        org_id: OrgId,
        invitation: Option<MemberId>,
        nonce: String,
        pkce_verifier: String,
        now: Timestamp,
        rng: &mut impl CryptoRng,
    ) -> StartedSignIn {
        let (state, browser) = (Secret::generate(rng), Secret::generate(rng));
        let pending = PendingSignIn {
            state: state.digest(),
            browser: browser.digest(),
            org_id,
            invitation,
            nonce,
            pkce_verifier,
            expires_at: now + SIGN_IN_LIFETIME,
            link_user: None,
        };
        StartedSignIn {
            pending,
            state,
            browser,
        }
    }

    /// Is this the browser that started the sign-in, in time?
    pub fn admits(&self, browser: Option<&Secret>, now: Timestamp) -> bool {
        let same_browser = browser.is_some_and(|b| self.browser.matches(&b.digest()));
        same_browser && now < self.expires_at
    }
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("org_id", &self.org_id)
            .field("invitation", &self.invitation)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An IdP identity `(organization, external id)` linked to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub org_id: OrgId,
    pub external_id: ExternalId,
    pub user_id: UserId,
    pub linked_at: Timestamp,
}

/// How long a link token lives: enough to go to the IdP and back.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);

/// Lets the holder of its token start one SSO sign-in whose returning
/// identity is linked to `user_id` (handed out by a master-password
/// sign-in that the organization's `require_sso` refused). Single use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkGrant {
    pub digest: TokenDigest,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub expires_at: Timestamp,
}

impl LinkGrant {
    pub fn issue(
        org_id: OrgId,
        user_id: UserId,
        now: Timestamp,
        rng: &mut impl CryptoRng,
    ) -> (LinkGrant, Secret) {
        let secret = Secret::generate(rng);
        let grant = LinkGrant {
            digest: secret.digest(),
            org_id,
            user_id,
            expires_at: now + LINK_LIFETIME,
        };
        (grant, secret)
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// Lets the holder of its token finish the setup step of one membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupGrant {
    pub digest: TokenDigest,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub user_id: UserId,
    pub expires_at: Timestamp,
}

impl SetupGrant {
    pub fn issue(
        org_id: OrgId,
        member_id: MemberId,
        user_id: UserId,
        now: Timestamp,
        rng: &mut impl CryptoRng,
    ) -> (SetupGrant, Secret) {
        let secret = Secret::generate(rng);
        let grant = SetupGrant {
            digest: secret.digest(),
            org_id,
            member_id,
            user_id,
            expires_at: now + SETUP_LIFETIME,
        };
        (grant, secret)
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_admits_only_its_browser_in_time() {
        let mut rng = rand::rng();
        let now = Timestamp::from_unix(1_800_000_000);
        let s = PendingSignIn::start(
            OrgId::generate(&mut rng),
            None,
            "n".into(),
            "v".into(),
            now,
            &mut rng,
        );
        assert!(s.pending.state.matches(&s.state.digest()));
        assert!(s.pending.admits(Some(&s.browser), now));
        assert!(!s.pending.admits(Some(&s.browser), now + SIGN_IN_LIFETIME));
        assert!(!s.pending.admits(Some(&Secret::generate(&mut rng)), now));
        assert!(!s.pending.admits(None, now));
        assert!(!format!("{:?}", s.pending).contains("\"v\""));
    }

    #[test]
    fn setup_grants_expire() {
        let mut rng = rand::rng();
        let now = Timestamp::from_unix(1_800_000_000);
        let org = OrgId::generate(&mut rng);
        let member = MemberId::of(&org, &crate::Email::parse("a@b.test").unwrap());
        let (g, token) = SetupGrant::issue(org, member, UserId::generate(&mut rng), now, &mut rng);
        assert!(g.digest.matches(&token.digest()));
        assert!(g.is_live(now + Duration::minutes(14)));
        assert!(!g.is_live(now + SETUP_LIFETIME));
    }
}

/// A domain an organization claims: verified ones route `/sso/discover` to
/// the organization, and vouch for the emails of its IdP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedDomain {
    /// Lower-case, as in [`crate::Email::domain`].
    pub domain: String,
    pub org_id: OrgId,
    pub verified: bool,
}

impl ClaimedDomain {
    /// `raw` must be a domain an email address can have.
    pub fn new(raw: &str, org_id: OrgId, verified: bool) -> Result<Self, crate::ParseError> {
        let email = crate::Email::parse(&format!("x@{}", raw.trim()))
            .map_err(|_| crate::ParseError::new("domain", "not a valid domain"))?;
        Ok(ClaimedDomain {
            domain: email.domain().to_owned(),
            org_id,
            verified,
        })
    }
}
