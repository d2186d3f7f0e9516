//! Domains: each organization's added domains ([`OrgDomain`]), and the one
//! holder of each verified domain ([`ClaimedDomain`], what routes
//! `/sso/discover` and vouches for emails).

use crate::StoreError;
use admit_domain::{ClaimedDomain, DomainName, Event, OrgDomain, OrgId, Timestamp};
use async_trait::async_trait;

#[async_trait]
pub trait Domains: Send + Sync {
    /// Add a domain to its organization, unverified. `Conflict` when this
    /// organization has already added it (other organizations may add the
    /// same domain, each with its own TXT value).
    async fn add_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError>;

    /// One organization's added domain.
    async fn org_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError>;

    /// Every domain an organization added, by name.
    async fn org_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError>;

    /// Mark an added domain verified (`domain.verified_at` set) and make its
    /// organization the domain's holder, atomically. `Conflict` when another
    /// organization holds the domain verified, or when the added domain is
    /// gone. A holder item with `verified: false` (written by operator claims
    /// before organizations verified their own domains) holds nothing.
    async fn verify_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError>;

    /// Record that the scheduled job looked an unverified domain's record up
    /// (`last_checked_at`). Does nothing when the domain is gone or verified.
    async fn record_domain_check(
        &self,
        org: &OrgId,
        domain: &DomainName,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Delete an added domain, and its organization's hold on it if it holds
    /// it, atomically. `Ok(false)` when there was no such domain.
    async fn remove_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
        events: &[Event],
    ) -> Result<bool, StoreError>;

    /// Unverified domains added at or after `since` (every organization's),
    /// oldest first, at most `limit`: what the scheduled job re-checks. Reads
    /// only those, never the whole history of added domains.
    async fn domains_to_recheck(
        &self,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<OrgDomain>, StoreError>;

    /// The holder of a (normalized) domain, if any.
    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError>;
}
