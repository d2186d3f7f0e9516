//! Memberships: an organization's members, their status and their seats.

use crate::{Page, StoreError};
use admit_domain::{
    Account, Event, MemberId, Membership, OrgId, Organization, OwedMail, Role, RoleSource, Status,
    UserId,
};
use async_trait::async_trait;

/// What a conditional membership write expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub status: Status,
    /// The digest of the invitation the caller saw, if any.
    pub invitation: Option<admit_domain::TokenDigest>,
    /// When set, the owed email must be exactly this one (or none): the
    /// condition of a claim, and of recording a send.
    pub mail: Option<Option<OwedMail>>,
    /// When set, the organization's `owners_version` must still be this,
    /// and the write moves it to the next (in the same atomic write): the
    /// guard of every write that may change who the confirmed owners are.
    pub owners_version: Option<u64>,
    /// The role as read: a role changed meanwhile (by hand, or by the
    /// admin group) makes the write conflict instead of putting it back.
    pub role: Role,
    /// Who set the role, as read (an administrator's pin changes only this).
    pub role_source: RoleSource,
    /// The groups its IdP set, as read: a sign-in that changed them
    /// meanwhile ([`Memberships::set_groups_and_role`]) makes the write
    /// conflict instead of putting the old ones back.
    pub idp_groups: Vec<String>,
}

impl Expected {
    /// Expect the membership as `m` was read: its status and invitation.
    pub fn as_read(m: &Membership) -> Self {
        Expected {
            status: m.status,
            invitation: m.invitation.as_ref().map(|i| i.digest),
            mail: None,
            owners_version: None,
            role: m.role,
            role_source: m.role_source,
            idp_groups: m.idp_groups.clone(),
        }
    }

    /// [`Expected::as_read`], and its owed email unchanged too.
    pub fn with_mail(m: &Membership) -> Self {
        Expected {
            mail: Some(m.mail),
            ..Expected::as_read(m)
        }
    }

    /// [`Expected::as_read`], and the organization's owners still as `org`
    /// was read (its `owners_version`).
    pub fn with_owners(m: &Membership, org: &Organization) -> Self {
        Expected {
            owners_version: Some(org.owners_version),
            ..Expected::as_read(m)
        }
    }

    /// Is the stored `m` as expected? (The owners guard is the
    /// organization's, checked by the store.)
    pub fn matches(&self, m: &Membership) -> bool {
        m.status == self.status
            && m.invitation.as_ref().map(|i| i.digest) == self.invitation
            && self.mail.is_none_or(|mail| mail == m.mail)
            && m.role == self.role
            && m.role_source == self.role_source
            && m.idp_groups == self.idp_groups
    }
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

/// Whether writing `updated` over `read` moves the role to or from `owner`,
/// which [`Memberships::set_groups_and_role`] refuses: who the owners are
/// changes only under the owners guard.
pub fn moves_owner(read: &Membership, updated: &Membership) -> bool {
    updated.role != read.role && (updated.role == Role::Owner || read.role == Role::Owner)
}

/// Memberships by organization and member, by user, and the writes that
/// create, change and delete them — the seat-moving ones together with the
/// organization's seat counter, each with the `events` that record it.
#[async_trait]
pub trait Memberships: Send + Sync {
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

    /// The most memberships [`Memberships::add_memberships`] takes in one
    /// atomic write, each with one event: the backend's own bound (a
    /// DynamoDB transaction holds 100 items: the new memberships, their
    /// events and the seat counter).
    fn max_new_memberships_per_write(&self) -> usize;

    /// Create `new` (invited, at most
    /// [`Memberships::max_new_memberships_per_write`]) and take one seat
    /// each, in one atomic write. `org` is the organization as read: its seat
    /// plan must still hold. `NoSeats` when they do not fit, `Conflict` when
    /// one of them exists or the seat plan changed.
    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// Replace a membership that is still as `expected`. Seats are unchanged,
    /// so `updated` must occupy a seat exactly when the stored one does.
    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// Revoke or restore: replace a membership that is still as `expected`
    /// and, in the same write, free its seat (revoke) or take one again
    /// (restore; `NoSeats` when full). `org` is the organization as read, as
    /// for [`Memberships::add_memberships`]. `Conflict` when the change moves no seat.
    async fn update_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// Delete a membership that is still as `expected`, freeing its seat if it
    /// occupies one, in one write. The account and its identity links stay.
    async fn remove_membership(
        &self,
        membership: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// Set only what a sign-in changes — the groups its IdP sent
    /// (`idp_groups`), and the role the admin group gives or takes back
    /// (`role`, `role_source`) — to `updated`'s, on a membership still
    /// as `read` ([`Expected::as_read`]), with `events`, in one atomic
    /// write; every other field stays as stored. `Conflict` when it changed
    /// or is gone. The role moves between `user` and `admin` only.
    async fn set_groups_and_role(
        &self,
        read: &Membership,
        updated: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// [`Memberships::update_membership`] and, in the same write, create
    /// `new_account` (`Conflict` when its email already has an account).
    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
        events: &[Event],
    ) -> Result<(), StoreError>;
}
