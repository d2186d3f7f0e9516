//! [`Domains`]: claimed domains, one organization each.

use crate::events::put_events;
use crate::{EmbeddedStore, Get, Table, put_json};
use admit_domain::{ClaimedDomain, Event};
use admit_store::{Domains, StoreError};
use async_trait::async_trait;
use redb::TableDefinition;

/// Domain (lower case) → claim.
pub(crate) const DOMAINS: Table = TableDefinition::new("claimed_domains");

#[async_trait]
impl Domains for EmbeddedStore {
    async fn put_claimed_domain(
        &self,
        domain: &ClaimedDomain,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (d, events) = (domain.clone(), events.to_vec());
        self.write(move |tx| {
            if let Some(existing) = tx.get_json::<ClaimedDomain>(DOMAINS, &d.domain)?
                && existing.org_id != d.org_id
            {
                return Err(StoreError::Conflict);
            }
            put_json(tx, DOMAINS, &d.domain, &d)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError> {
        let key = domain.to_owned();
        self.read(move |tx| tx.get_json(DOMAINS, &key)).await
    }
}
