//! [`Domains`]: each organization's added domains, the time-ordered index of
//! the unverified ones (what the scheduled job re-checks), and the one holder
//! of each verified domain.

use crate::events::put_events;
use crate::{EmbeddedStore, Get, Table, decode, put, put_json, remove, unavailable};
use admit_domain::{ClaimedDomain, DomainName, Event, OrgDomain, OrgId, Timestamp};
use admit_store::{Domains, StoreError};
use async_trait::async_trait;
use redb::{TableDefinition, WriteTransaction};

/// Domain (lower case) → its holder.
pub(crate) const DOMAINS: Table = TableDefinition::new("claimed_domains");
/// `{org}/{domain}` → the domain that organization added.
pub(crate) const ORG_DOMAINS: Table = TableDefinition::new("org_domains");
/// `{created_at unix, 12 digits}/{org}/{domain}` → empty, for every
/// unverified added domain, in time order (the sparse re-check index).
pub(crate) const RECHECKS: Table = TableDefinition::new("domain_rechecks");

fn org_domain_key(org: &OrgId, domain: &DomainName) -> String {
    format!("{org}/{domain}")
}

/// The re-check index key of `d`, while it is unverified.
fn recheck_key(d: &OrgDomain) -> Option<String> {
    (!d.is_verified()).then(|| {
        format!(
            "{:012}/{}",
            d.created_at.unix().max(0),
            org_domain_key(&d.org_id, &d.domain)
        )
    })
}

/// Write `d` over `old` (if any), keeping the re-check index in step.
fn put_org_domain(
    tx: &WriteTransaction,
    old: Option<&OrgDomain>,
    d: &OrgDomain,
) -> Result<(), StoreError> {
    if let Some(k) = old.and_then(recheck_key) {
        remove(tx, RECHECKS, &k)?;
    }
    put_json(tx, ORG_DOMAINS, &org_domain_key(&d.org_id, &d.domain), d)?;
    if let Some(k) = recheck_key(d) {
        put(tx, RECHECKS, &k, b"")?;
    }
    Ok(())
}

#[async_trait]
impl Domains for EmbeddedStore {
    async fn add_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError> {
        let (d, events) = (domain.clone(), events.to_vec());
        self.write(move |tx| {
            let key = org_domain_key(&d.org_id, &d.domain);
            if tx.get_str(ORG_DOMAINS, &key)?.is_some() {
                return Err(StoreError::Conflict);
            }
            put_org_domain(tx, None, &d)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn org_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError> {
        let key = org_domain_key(org, domain);
        self.read(move |tx| tx.get_json(ORG_DOMAINS, &key)).await
    }

    async fn org_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        // '/' sorts before every domain character, '0' right after '/'.
        let (start, end) = (format!("{org}/"), format!("{org}0"));
        self.read(move |tx| {
            let t = tx.open_table(ORG_DOMAINS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in t.range(start.as_str()..end.as_str()).map_err(unavailable)? {
                let (_, v) = entry.map_err(unavailable)?;
                out.push(decode::<OrgDomain>(v.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn verify_domain(&self, domain: &OrgDomain, events: &[Event]) -> Result<(), StoreError> {
        if !domain.is_verified() {
            return Err(unavailable("verify_domain of a domain without verified_at"));
        }
        let (d, events) = (domain.clone(), events.to_vec());
        self.write(move |tx| {
            let key = org_domain_key(&d.org_id, &d.domain);
            let stored: OrgDomain = tx
                .get_json(ORG_DOMAINS, &key)?
                .ok_or(StoreError::Conflict)?;
            if let Some(holder) = tx.get_json::<ClaimedDomain>(DOMAINS, d.domain.as_str())?
                && holder.org_id != d.org_id
                && holder.verified
            {
                return Err(StoreError::Conflict);
            }
            put_org_domain(tx, Some(&stored), &d)?;
            let holder = ClaimedDomain {
                domain: d.domain.as_str().to_owned(),
                org_id: d.org_id.clone(),
                verified: true,
            };
            put_json(tx, DOMAINS, &holder.domain, &holder)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn record_domain_check(
        &self,
        org: &OrgId,
        domain: &DomainName,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let key = org_domain_key(org, domain);
        self.write(move |tx| {
            match tx.get_json::<OrgDomain>(ORG_DOMAINS, &key)? {
                Some(stored) if !stored.is_verified() => {
                    let checked = OrgDomain {
                        last_checked_at: Some(at),
                        ..stored.clone()
                    };
                    put_org_domain(tx, Some(&stored), &checked)
                }
                // Gone or verified: nothing to record.
                _ => Ok(()),
            }
        })
        .await
    }

    async fn remove_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        let (org, domain, events) = (org.clone(), domain.clone(), events.to_vec());
        self.write(move |tx| {
            let Some(old) = remove(tx, ORG_DOMAINS, &org_domain_key(&org, &domain))? else {
                return Ok(false);
            };
            let stored: OrgDomain = decode(&old)?;
            if let Some(k) = recheck_key(&stored) {
                remove(tx, RECHECKS, &k)?;
            }
            if let Some(holder) = tx.get_json::<ClaimedDomain>(DOMAINS, domain.as_str())?
                && holder.org_id == org
            {
                remove(tx, DOMAINS, domain.as_str())?;
            }
            put_events(tx, &events)?;
            Ok(true)
        })
        .await
    }

    async fn domains_to_recheck(
        &self,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<OrgDomain>, StoreError> {
        let start = format!("{:012}/", since.unix().max(0));
        self.read(move |tx| {
            let index = tx.open_table(RECHECKS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in index
                .range(start.as_str()..)
                .map_err(unavailable)?
                .take(limit)
            {
                let (k, _) = entry.map_err(unavailable)?;
                if let Some((_, key)) = k.value().split_once('/') {
                    out.extend(tx.get_json::<OrgDomain>(ORG_DOMAINS, key)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError> {
        let key = domain.to_owned();
        self.read(move |tx| tx.get_json(DOMAINS, &key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A holder item with `verified: false` (an operator claim written before
    /// organizations verified their own domains) holds nothing: another
    /// organization's verify takes it over. The contract cannot seed one
    /// (the port no longer writes such items), so it is checked here.
    #[tokio::test]
    async fn a_legacy_unverified_holder_does_not_block_a_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("admit.redb")).unwrap();
        let mut rng = rand::rng();
        let (legacy, org) = (OrgId::generate(&mut rng), OrgId::generate(&mut rng));
        let name = DomainName::parse("legacy.test").unwrap();
        let claim = ClaimedDomain {
            domain: name.as_str().to_owned(),
            org_id: legacy,
            verified: false,
        };
        let seeded = claim.clone();
        store
            .write(move |tx| put_json(tx, DOMAINS, &seeded.domain, &seeded))
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
    }
}
