//! Claimed domains: one organization per domain.

use crate::StoreError;
use admit_domain::{ClaimedDomain, Event};
use async_trait::async_trait;

#[async_trait]
pub trait Domains: Send + Sync {
    /// Claim `domain` for its organization (or change whether it is
    /// verified). `Conflict` when another organization claims it.
    async fn put_claimed_domain(
        &self,
        domain: &ClaimedDomain,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// The claim on a (lower-case) domain, if any.
    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError>;
}
