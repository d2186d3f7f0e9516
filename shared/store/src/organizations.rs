//! Organizations and their seat counters.

use crate::StoreError;
use admit_domain::{Event, Membership, OrgId, Organization, SsoIdentifier};
use async_trait::async_trait;

/// Organizations, found by id or by SSO identifier. Their seat counter
/// (`occupied_seats`) moves only in the writes that take or free seats
/// ([`crate::Memberships::add_memberships`], `update_membership_seat`,
/// `remove_membership`, [`crate::Accounts::delete_account`], and the sign-in
/// that creates a membership); their `owners_version` only in the membership
/// writes guarded by it ([`crate::Expected::owners_version`]).
#[async_trait]
pub trait Organizations: Send + Sync {
    /// Create `org` and its first (owner) membership, which occupies a seat.
    /// `Conflict` when the SSO identifier is taken.
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError>;

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError>;

    /// Replace the organization's settings: every field but `occupied_seats`
    /// and `owners_version` (which only membership writes move), if the
    /// stored `settings_version` is still `expected_version` (`org` carries
    /// the next one). `Conflict` when it is not, when the organization does
    /// not exist or when `org.sso_identifier` is not the stored one: of
    /// concurrent writers with the same expectation, exactly one succeeds.
    /// `NoSeats` when the stored occupied seats do not fit `org.seats` (a
    /// seat plan is never written below what is occupied).
    async fn update_organization_settings(
        &self,
        org: &Organization,
        expected_version: u64,
        events: &[Event],
    ) -> Result<(), StoreError>;

    async fn organization_by_sso_identifier(
        &self,
        id: &SsoIdentifier,
    ) -> Result<Option<Organization>, StoreError>;
}
