//! Owed email: the memberships that owe one, by due time, and each
//! organization's administrators' digest record.

use crate::StoreError;
use admit_domain::{AdminDigest, Membership, OrgId, Timestamp};
use async_trait::async_trait;

/// The queue of owed email. What a membership owes is part of the
/// membership (written by [`crate::Memberships`]' writes, claimed with
/// [`crate::Memberships::update_membership`] and an expected owed email);
/// this capability finds what is due and keeps the digest record.
#[async_trait]
pub trait MailQueue: Send + Sync {
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
}
