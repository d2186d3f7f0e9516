//! The state of SSO sign-ins: pending sign-ins, consumed SAML assertions,
//! identity links, the sign-in decision's writes and the setup step.

use crate::StoreError;
use crate::memberships::Expected;
use admit_domain::{
    Account, Event, ExternalId, IdentityLink, LinkGrant, Membership, OrgId, Organization,
    PendingSignIn, SetupGrant, Timestamp, TokenDigest,
};
use async_trait::async_trait;

/// The writes an SSO sign-in decision makes, each applied as one atomic write.
// Built once per sign-in and passed by reference: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SignInWrite {
    /// Link the identity to an existing account (`Conflict` if the identity
    /// is linked already). With `membership`, that membership (the account's
    /// in the organization) must still be as read, so a revoke racing the
    /// sign-in wins.
    Link {
        link: IdentityLink,
        membership: Option<Membership>,
    },
    /// Create the account of an invited email, linked, and record it on the
    /// membership (still `invited`, as `expected`).
    CreateAccountForInvitation {
        link: IdentityLink,
        account: Account,
        membership: Membership,
        expected: Expected,
    },
    /// Create the account, its link and a new membership taking one seat;
    /// `org` as read, like [`crate::Memberships::add_memberships`]
    /// (`NoSeats` when full).
    CreateAccountAndMembership {
        org: Organization,
        link: IdentityLink,
        account: Account,
        membership: Membership,
    },
}

#[async_trait]
pub trait SignIns: Send + Sync {
    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError>;

    /// Remove and return the pending sign-in with this state digest. Of
    /// concurrent callers, exactly one gets it; after that, `None`.
    async fn take_pending_sign_in(
        &self,
        state: &TokenDigest,
    ) -> Result<Option<PendingSignIn>, StoreError>;

    /// Remember that the SAML assertion with this digest was consumed, until
    /// `until`. `Ok(false)` when it is remembered already and `now` is before
    /// its `until`: a replay. Of concurrent callers exactly one gets `true`.
    async fn record_assertion(
        &self,
        digest: &TokenDigest,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The account an IdP identity is linked to.
    async fn identity_link(
        &self,
        org: &OrgId,
        external_id: &ExternalId,
    ) -> Result<Option<IdentityLink>, StoreError>;

    /// Apply a sign-in's writes atomically: all or nothing. `Conflict` when
    /// the link, the account or its email, or the membership exists already
    /// (or changed since it was read).
    async fn apply_sign_in(&self, write: &SignInWrite, events: &[Event]) -> Result<(), StoreError>;

    /// The identity links of an account (all organizations), from an index
    /// by account.
    async fn identity_links_of_user(
        &self,
        user: &admit_domain::UserId,
    ) -> Result<Vec<IdentityLink>, StoreError>;

    /// Store a link grant (the `link_token` of a refused `sso_required`
    /// sign-in).
    async fn put_link_grant(&self, grant: &LinkGrant) -> Result<(), StoreError>;

    /// Remove and return the link grant with this digest: of concurrent
    /// callers exactly one gets it; after that, `None`.
    async fn take_link_grant(&self, digest: &TokenDigest) -> Result<Option<LinkGrant>, StoreError>;

    /// Store a setup grant (with the events of the sign-in that issued it).
    async fn put_setup_grant(&self, grant: &SetupGrant, events: &[Event])
    -> Result<(), StoreError>;

    async fn setup_grant(&self, digest: &TokenDigest) -> Result<Option<SetupGrant>, StoreError>;

    /// Finish a setup step in one write: consume the grant, replace the
    /// membership (still as `expected`) and the account (which must exist,
    /// with the same email). `Conflict` when the grant is gone or anything changed.
    async fn complete_setup(
        &self,
        grant: &TokenDigest,
        membership: &Membership,
        expected: &Expected,
        account: &Account,
        events: &[Event],
    ) -> Result<(), StoreError>;
}
