//! The store port: what the use cases need to read and write, as one trait
//! with an embedded implementation (`admit-store-embedded`) and a DynamoDB one
//! (`admit-store-dynamodb`). Both pass the same contract suite
//! ([`contract`], behind the `contract` feature), so they cannot drift.
//!
//! Every method that changes state is atomic: it applies entirely or not at
//! all, and refuses with [`StoreError::Conflict`] when the state it was
//! computed from has changed since it was read (optimistic concurrency).

use admit_domain::{
    Account, AdminDigest, ClaimedDomain, Email, ExternalId, IdentityLink, MemberId, Membership,
    OrgId, Organization, OwedMail, PendingSignIn, Session, SetupGrant, SsoIdentifier, Status,
    Timestamp, TokenDigest, UserId,
};
use async_trait::async_trait;

#[cfg(feature = "contract")]
pub mod contract;

/// The most memberships [`Store::add_memberships`] takes at once (DynamoDB
/// transactions hold 100 items: these plus the organization's seat counter).
pub const MAX_NEW_MEMBERSHIPS_PER_WRITE: usize = 99;

/// The most items one page of [`Store::list_memberships`] returns.
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's precondition no longer holds (the item exists, or changed).
    #[error("conflicting write")]
    Conflict,
    /// Taking the seats would go over the organization's seat capacity.
    #[error("no seats")]
    NoSeats,
    /// A cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend failed; the cause is for logs, not for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// What a conditional membership write expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub status: Status,
    /// The digest of the invitation the caller saw, if any.
    pub invitation: Option<TokenDigest>,
    /// When set, the owed email must be exactly this one (or none): the
    /// condition of a claim, and of recording a send.
    pub mail: Option<Option<OwedMail>>,
}

impl Expected {
    /// Expect the membership as `m` was read: its status and invitation.
    pub fn as_read(m: &Membership) -> Self {
        Expected {
            status: m.status,
            invitation: m.invitation.as_ref().map(|i| i.digest),
            mail: None,
        }
    }

    /// [`Expected::as_read`], and its owed email unchanged too.
    pub fn with_mail(m: &Membership) -> Self {
        Expected {
            mail: Some(m.mail),
            ..Expected::as_read(m)
        }
    }

    /// Is the stored `m` as expected?
    pub fn matches(&self, m: &Membership) -> bool {
        m.status == self.status
            && m.invitation.as_ref().map(|i| i.digest) == self.invitation
            && self.mail.is_none_or(|mail| mail == m.mail)
    }
}

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
    /// `org` as read, like [`Store::add_memberships`] (`NoSeats` when full).
    CreateAccountAndMembership {
        org: Organization,
        link: IdentityLink,
        account: Account,
        membership: Membership,
    },
}

/// How a membership change moves the organization's occupied seats: +1, -1,
/// or `None` when it moves none.
pub fn seat_delta(updated: &Membership, expected: &Expected) -> Option<i8> {
    match (expected.status != Status::Revoked, updated.occupies_seat()) {
        (false, true) => Some(1),
        (true, false) => Some(-1),
        _ => None,
    }
}

/// One page of a listing and the cursor to the next.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- organizations -----------------------------------------------------

    /// Create `org` and its first (owner) membership, which occupies a seat.
    /// `Conflict` when the SSO identifier is taken.
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
    ) -> Result<(), StoreError>;

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError>;

    /// Replace the organization's settings: every field but `occupied_seats`
    /// (which only seat-taking writes move). `Conflict` when the organization
    /// does not exist or `org.sso_identifier` is not the stored one.
    async fn update_organization_settings(&self, org: &Organization) -> Result<(), StoreError>;

    async fn organization_by_sso_identifier(
        &self,
        id: &SsoIdentifier,
    ) -> Result<Option<Organization>, StoreError>;

    // --- memberships -------------------------------------------------------

    async fn membership(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Membership>, StoreError>;

    /// The memberships among `members` that exist (any order).
    async fn memberships(
        &self,
        org: &OrgId,
        members: &[MemberId],
    ) -> Result<Vec<Membership>, StoreError>;

    /// Memberships of `org` in member-id order, optionally of one status.
    async fn list_memberships(
        &self,
        org: &OrgId,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Membership>, StoreError>;

    /// Every membership held by an account.
    async fn memberships_of_user(&self, user: &UserId) -> Result<Vec<Membership>, StoreError>;

    /// Create `new` (invited, at most [`MAX_NEW_MEMBERSHIPS_PER_WRITE`]) and
    /// take one seat each, in one atomic write. `org` is the organization as
    /// read: its seat plan must still hold. `NoSeats` when they do not fit,
    /// `Conflict` when one of them exists or the seat plan changed.
    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
    ) -> Result<(), StoreError>;

    /// Replace a membership that is still as `expected`. Seats are unchanged,
    /// so `updated` must occupy a seat exactly when the stored one does.
    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError>;

    /// Revoke or restore: replace a membership that is still as `expected`
    /// and, in the same write, free its seat (revoke) or take one again
    /// (restore; `NoSeats` when full). `org` is the organization as read, as
    /// for [`Store::add_memberships`]. `Conflict` when the change moves no seat.
    async fn update_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError>;

    /// Delete a membership that is still as `expected`, freeing its seat if it
    /// occupies one, in one write. The account and its identity links stay.
    async fn remove_membership(
        &self,
        membership: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError>;

    /// [`Store::update_membership`] and, in the same write, create
    /// `new_account` (`Conflict` when its email already has an account).
    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError>;

    // --- accounts ----------------------------------------------------------

    async fn account(&self, id: &UserId) -> Result<Option<Account>, StoreError>;

    async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError>;

    /// Those of `emails` that an account has, each once: what many
    /// invitations' wording needs ("sign in with your account"), in one read
    /// of at most 100 emails per round trip instead of one read each.
    async fn emails_with_accounts(
        &self,
        emails: &[Email],
    ) -> Result<std::collections::HashSet<Email>, StoreError>;

    // --- owed email ------------------------------------------------------

    /// Memberships whose owed email is due at `now`, earliest first, at most
    /// `limit`: read from a sparse, time-ordered index, so the cost grows
    /// with what is due, not with the table. The index may lag a write by a
    /// moment; claims are conditional writes, so a stale entry only loses its claim.
    async fn due_memberships(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Membership>, StoreError>;

    /// The organization's administrators' digest record, if ever written.
    async fn admin_digest(&self, org: &OrgId) -> Result<Option<AdminDigest>, StoreError>;

    /// Write `digest` if the stored record's version is still
    /// `expected_version` (0: there is none). `Conflict` otherwise: of
    /// concurrent writers with the same expectation, exactly one succeeds.
    async fn put_admin_digest(
        &self,
        digest: &AdminDigest,
        expected_version: u64,
    ) -> Result<(), StoreError>;

    /// Items read by this store so far (a cost meter for tests and benchmarks).
    fn items_read(&self) -> u64;

    // --- single sign-on ---------------------------------------------------

    /// Claim `domain` for its organization (or change whether it is
    /// verified). `Conflict` when another organization claims it.
    async fn put_claimed_domain(&self, domain: &ClaimedDomain) -> Result<(), StoreError>;

    /// The claim on a (lower-case) domain, if any.
    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError>;

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
    async fn apply_sign_in(&self, write: &SignInWrite) -> Result<(), StoreError>;

    async fn put_setup_grant(&self, grant: &SetupGrant) -> Result<(), StoreError>;

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
    ) -> Result<(), StoreError>;

    // --- sessions ----------------------------------------------------------

    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this digest, if any (expired ones included: the caller decides).
    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError>;

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError>;
}
