//! [`Domains`]: the claimed-domain item (`DOMAIN#…`/`DOMAIN`), held by one
//! organization.

use crate::DynamoStore;
use crate::error::unavailable;
use crate::items::decode;
use crate::keys::{Item, Key, s};
use crate::ops::Expr;
use admit_domain::{ClaimedDomain, Event};
use admit_store::{Domains, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Domains for DynamoStore {
    /// Claim a domain: a Put that succeeds when nobody or the same
    /// organization holds it (with events, in one transaction with their puts).
    async fn put_claimed_domain(
        &self,
        d: &ClaimedDomain,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let item: Item = {
            let mut item: Item = serde_dynamo::to_item(d).map_err(unavailable)?;
            item.extend(Key::claimed_domain(&d.domain).item());
            item
        };
        let mut expr = Expr::default();
        expr.name("#org_id", "org_id");
        expr.value(":org_id", s(d.org_id.as_str()));
        let condition = "attribute_not_exists(pk) OR #org_id = :org_id";
        self.put_with_events(item, Some((condition, &expr)), events)
            .await
    }

    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError> {
        self.get(&Key::claimed_domain(domain))
            .await?
            .map(decode)
            .transpose()
    }
}
