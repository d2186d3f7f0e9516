//! [`Domains`]: the domains each organization added (`ORG#…`/`DOMAIN#…`, in
//! its partition), the sparse index of the unverified ones (`gsi2`:
//! `gsi2pk = DOMAINCHECK`, `gsi2sk` = when added, then the key), and the one
//! holder of each verified domain (`DOMAIN#…`/`DOMAIN`).
//!
//! Verifying writes the organization's item and the holder in one
//! transaction, the holder on the condition that nobody else holds the
//! domain verified; removing deletes the organization's item, and the holder
//! when it is that organization's, in one transaction conditional on both as
//! read (read again and retried when a verify got in between).

use crate::DynamoStore;
use crate::error::{
    TRANSACTION_ATTEMPTS, backoff, sdk_unavailable, transact, transact_or_conflict, unavailable,
};
use crate::events::with_events;
use crate::items::{decode, encode};
use crate::keys::{
    DOMAIN_CHECK_PK, GSI2PK, GSI2SK, Item, Key, ORG_DOMAIN_PREFIX, domain_check_sk, org_pk, s,
};
use crate::ops::{EXISTS, Expr, NOT_EXISTS, put};
use crate::schema::GSI2;
use admit_domain::{ClaimedDomain, DomainName, Event, OrgDomain, OrgId, Timestamp};
use admit_store::{Domains, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem};

/// An added domain; while unverified, in the re-check index.
fn item(d: &OrgDomain) -> Result<Item, StoreError> {
    let mut item = encode(d, &Key::org_domain(&d.org_id, &d.domain))?;
    if !d.is_verified() {
        item.insert(GSI2PK.into(), s(DOMAIN_CHECK_PK));
        item.insert(
            GSI2SK.into(),
            s(domain_check_sk(d.created_at, &d.org_id, &d.domain)),
        );
    }
    Ok(item)
}

/// The holder item of `domain`: `org`, verified.
fn holder_item(org: &OrgId, domain: &DomainName) -> Result<Item, StoreError> {
    let holder = ClaimedDomain {
        domain: domain.as_str().to_owned(),
        org_id: org.clone(),
        verified: true,
    };
    encode(&holder, &Key::claimed_domain(&holder.domain))
}

/// `verified_at` of the stored item is `at` (absent or NULL for `None`).
fn verified_at_condition(expr: &mut Expr, at: Option<Timestamp>) -> String {
    expr.name("#verified_at", "verified_at");
    match at {
        Some(at) => {
            expr.value(":verified_at", s(at.rfc3339()));
            "#verified_at = :verified_at".to_owned()
        }
        None => {
            expr.value(":null_type", s("NULL"));
            "(attribute_not_exists(#verified_at) OR attribute_type(#verified_at, :null_type))"
                .to_owned()
        }
    }
}

impl DynamoStore {
    /// The writes removing `stored` (as read) and, when `holder` (as read)
    /// is its organization's, the holder; else a check that the holder is
    /// still not that organization's.
    fn removal(
        &self,
        stored: &OrgDomain,
        holder: Option<&ClaimedDomain>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut expr = Expr::default();
        let condition = format!(
            "{EXISTS} AND {}",
            verified_at_condition(&mut expr, stored.verified_at)
        );
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Key::org_domain(&stored.org_id, &stored.domain).item()))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(unavailable)?;
        let mut expr = Expr::default();
        expr.name("#org_id", "org_id");
        expr.value(":org_id", s(stored.org_id.as_str()));
        let holder_key = Key::claimed_domain(stored.domain.as_str()).item();
        let on_holder = if holder.is_some_and(|h| h.org_id == stored.org_id) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(holder_key))
                .condition_expression("#org_id = :org_id")
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(unavailable)?;
            TransactWriteItem::builder().delete(delete).build()
        } else {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(holder_key))
                .condition_expression(format!("{NOT_EXISTS} OR #org_id <> :org_id"))
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(unavailable)?;
            TransactWriteItem::builder().condition_check(check).build()
        };
        Ok(vec![
            TransactWriteItem::builder().delete(delete).build(),
            on_holder,
        ])
    }
}

#[async_trait]
impl Domains for DynamoStore {
    /// A Put on `attribute_not_exists(pk)` (with events, one transaction).
    async fn add_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError> {
        self.put_with_events(item(domain)?, Some((NOT_EXISTS, &Expr::default())), events)
            .await
    }

    async fn org_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError> {
        self.get(&Key::org_domain(org, domain))
            .await?
            .map(decode)
            .transpose()
    }

    /// Query of the organization's partition, `DOMAIN#` sort keys (consistent).
    async fn org_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        self.query_prefix(None, org_pk(org), ORG_DOMAIN_PREFIX)
            .await
    }

    /// One transaction: the organization's item (which must exist) put
    /// verified, out of the re-check index; the holder put on
    /// `attribute_not_exists(pk) OR org_id = :org_id OR verified = :false`;
    /// the events.
    async fn verify_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError> {
        if !domain.is_verified() {
            return Err(unavailable("verify_domain of a domain without verified_at"));
        }
        let table = self.table.as_str();
        let mut expr = Expr::default();
        expr.name("#org_id", "org_id");
        expr.name("#verified", "verified");
        expr.value(":org_id", s(domain.org_id.as_str()));
        expr.value(
            ":false",
            aws_sdk_dynamodb::types::AttributeValue::Bool(false),
        );
        let holder_condition = format!("{NOT_EXISTS} OR #org_id = :org_id OR #verified = :false");
        let writes = vec![
            put(table, item(domain)?, EXISTS, &Expr::default())?,
            put(
                table,
                holder_item(&domain.org_id, &domain.domain)?,
                &holder_condition,
                &expr,
            )?,
        ];
        transact_or_conflict(&self.client, with_events(table, writes, events)?).await
    }

    /// One UpdateItem `SET last_checked_at` on `attribute_exists(pk)` and
    /// `verified_at` absent; a failed condition is fine.
    async fn record_domain_check(
        &self,
        org: &OrgId,
        domain: &DomainName,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let condition = format!("{EXISTS} AND {}", verified_at_condition(&mut expr, None));
        expr.name("#checked", "last_checked_at");
        expr.value(":checked", s(at.rfc3339()));
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let written = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Key::org_domain(org, domain).item()))
                .update_expression("SET #checked = :checked")
                .condition_expression(&condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .send()
                .await;
            let e = match written {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match e.as_service_error() {
                // Gone or verified: nothing to record.
                Some(s) if s.is_conditional_check_failed_exception() => return Ok(()),
                Some(s) if s.is_transaction_conflict_exception() => {
                    tracing::debug!(attempt, "write met a concurrent transaction; retrying");
                    backoff(attempt).await;
                }
                _ => return Err(sdk_unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Read the item and the holder, then one transaction: Delete of the
    /// item (`verified_at` as read), Delete of the holder on
    /// `org_id = :org_id` when it is this organization's (else a
    /// ConditionCheck that it is not), the events. A failed condition
    /// (a verify got in between) reads again, a few times.
    async fn remove_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt - 1).await;
            }
            let Some(stored) = self.org_domain(org, domain).await? else {
                return Ok(false);
            };
            let holder = self.claimed_domain(domain.as_str()).await?;
            let writes = with_events(&self.table, self.removal(&stored, holder.as_ref())?, events)?;
            match transact(&self.client, writes).await {
                Ok(()) => return Ok(true),
                Err(Err(e)) => return Err(e),
                // An event exists: no read again changes that.
                Err(Ok(c)) if !c.condition_failed(0) && !c.condition_failed(1) => {
                    return Err(StoreError::Conflict);
                }
                Err(Ok(_)) => {
                    tracing::debug!(attempt, "domain changed while removing it; reading again");
                }
            }
        }
        Err(StoreError::Conflict)
    }

    /// Query of the sparse index: `gsi2pk = DOMAINCHECK AND gsi2sk >=
    /// {since:012}`, ascending, `Limit`.
    async fn domains_to_recheck(
        &self,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<OrgDomain>, StoreError> {
        let from = s(format!("{:012}", since.unix().max(0)));
        self.query_all(limit, |start, left| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(GSI2.name)
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .expression_attribute_names("#pk", GSI2.key.partition_key)
                .expression_attribute_names("#sk", GSI2.key.sort_key)
                .expression_attribute_values(":pk", s(DOMAIN_CHECK_PK))
                .expression_attribute_values(":from", from.clone())
                .set_exclusive_start_key(start)
                .limit(i32::try_from(left).unwrap_or(i32::MAX))
        })
        .await
    }

    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError> {
        self.get(&Key::claimed_domain(domain))
            .await?
            .map(decode)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_tests::moto::Moto;
    use rand::Rng;

    /// A holder item with `verified: false` (an operator claim written before
    /// organizations verified their own domains) holds nothing: another
    /// organization's verify takes it over. The contract cannot seed one
    /// (the port no longer writes such items), so it is checked here.
    #[tokio::test]
    async fn a_legacy_unverified_holder_does_not_block_a_verify() {
        let client = aws_sdk_dynamodb::Client::new(&Moto::shared().sdk_config());
        let table = format!("admit-test-{:016x}", rand::rng().random::<u64>());
        crate::create_table(&client, &table).await.unwrap();
        let store = DynamoStore::new(client, table);
        let mut rng = rand::rng();
        let (legacy, org) = (OrgId::generate(&mut rng), OrgId::generate(&mut rng));
        let name = DomainName::parse("legacy.test").unwrap();
        let claim = ClaimedDomain {
            domain: name.as_str().to_owned(),
            org_id: legacy,
            verified: false,
        };
        store
            .put_item(encode(&claim, &Key::claimed_domain(&claim.domain)).unwrap())
            .await
            .unwrap();
        let now = Timestamp::from_unix(1_800_000_000);
        let added = OrgDomain::add(org.clone(), name.clone(), now, &mut rng);
        store.add_domain(&added, &[]).await.unwrap();
        let verified = added.checked(now, true);
        store.verify_domain(&verified, &[]).await.unwrap();
        assert_eq!(
            store.claimed_domain(name.as_str()).await.unwrap(),
            Some(ClaimedDomain {
                org_id: org.clone(),
                verified: true,
                ..claim
            })
        );
        assert_eq!(store.org_domain(&org, &name).await.unwrap(), Some(verified));
        assert!(
            store
                .domains_to_recheck(Timestamp::from_unix(0), 100)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
