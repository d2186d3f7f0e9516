//! Domains an organization verifies itself: add one, publish the TXT record
//! it names, verify (now, or the scheduled job about hourly for 72 hours),
//! delete. A verified domain routes sign-in by email (`/sso/discover`) and
//! vouches for its emails at SSO sign-in; one organization holds it.

use crate::views::{AddDomain, DomainList, DomainView};
use crate::{App, Error, Principal, Result};
use admit_domain::{
    Actor, DomainName, EventDetails, EventType, OrgDomain, OrgId, domain_name::RECHECK_WINDOW,
};
use admit_store::StoreError;

/// How many unverified domains one run of the scheduled job reads.
const RECHECK_BATCH: usize = 200;
/// A re-check is not started this close to the run's deadline (a lookup
/// takes at most the resolver's timeout, a few seconds).
const RECHECK_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// What one run of the re-checks did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DomainChecks {
    /// TXT lookups made.
    pub checked: usize,
    /// Of those, domains found and verified.
    pub verified: usize,
}

fn domain_event(d: &DomainName) -> EventDetails {
    EventDetails {
        domain: Some(d.to_string()),
        ..Default::default()
    }
}

/// A domain named in a path: one that cannot be a claimable name is simply
/// not found.
fn named(raw: &str) -> Result<DomainName> {
    DomainName::parse(raw).map_err(|_| Error::NotFound)
}

impl App {
    /// `POST /orgs/{org}/domains`: the domain added (`true`), or the one this
    /// organization had already added (`false`, nothing written).
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn add_domain(
        &self,
        who: &Principal,
        org: &str,
        req: AddDomain,
    ) -> Result<(DomainView, bool)> {
        let admin = self.administrator(who, org).await?;
        let name = DomainName::parse(&req.domain).map_err(Error::invalid)?;
        let (d, created) = self.added(&admin.org.id, name, &admin.actor).await?;
        Ok((DomainView::of(&d), created))
    }

    /// The domain `org` added, as stored: the one it had already (`false`,
    /// nothing written), or added now with `actor`'s event (`true`). Added at
    /// the same moment by another request: that one stands.
    async fn added(
        &self,
        org: &OrgId,
        name: DomainName,
        actor: &Actor,
    ) -> Result<(OrgDomain, bool)> {
        if let Some(existing) = self.store().org_domain(org, &name).await? {
            return Ok((existing, false));
        }
        let d = OrgDomain::add(org.clone(), name, self.now(), &mut rand::rng());
        let event = self.event(
            org,
            actor,
            EventType::DomainAdded,
            None,
            domain_event(&d.domain),
        );
        match self.store().add_domain(&d, &[event]).await {
            Ok(()) => {
                tracing::info!(domain = %d.domain, "domain added");
                Ok((d, true))
            }
            Err(StoreError::Conflict) => match self.store().org_domain(org, &d.domain).await? {
                Some(existing) => Ok((existing, false)),
                None => Err(StoreError::Conflict.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /orgs/{org}/domains`.
    pub async fn domains(&self, who: &Principal, org: &str) -> Result<DomainList> {
        let admin = self.administrator(who, org).await?;
        let domains = self.store().org_domains(&admin.org.id).await?;
        Ok(DomainList {
            domains: domains.iter().map(DomainView::of).collect(),
        })
    }

    /// `POST /orgs/{org}/domains/{domain}/verify`: look the record up now.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn verify_domain(
        &self,
        who: &Principal,
        org: &str,
        domain: &str,
    ) -> Result<DomainView> {
        let admin = self.administrator(who, org).await?;
        let name = named(domain)?;
        let d = self
            .store()
            .org_domain(&admin.org.id, &name)
            .await?
            .ok_or(Error::NotFound)?;
        if d.is_verified() {
            return Ok(DomainView::of(&d));
        }
        // Another organization's hold is known without asking DNS.
        if let Some(holder) = self.store().claimed_domain(name.as_str()).await?
            && holder.verified
            && holder.org_id != d.org_id
        {
            return Err(held_elsewhere());
        }
        let found = self.proven(&d).await;
        let checked = d.checked(self.now(), found);
        if !found {
            self.store()
                .record_domain_check(&d.org_id, &d.domain, self.now())
                .await?;
            return Err(Error::NotVerified);
        }
        self.mark_verified(&checked, &admin.actor).await?;
        Ok(DomainView::of(&checked))
    }

    /// `DELETE /orgs/{org}/domains/{domain}`: the domain and, when this
    /// organization verified it, its hold on it (another may verify it then).
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn remove_domain(&self, who: &Principal, org: &str, domain: &str) -> Result<()> {
        let admin = self.administrator(who, org).await?;
        let name = named(domain)?;
        let event = self.event(
            &admin.org.id,
            &admin.actor,
            EventType::DomainRemoved,
            None,
            domain_event(&name),
        );
        if !self
            .store()
            .remove_domain(&admin.org.id, &name, &[event])
            .await?
        {
            return Err(Error::NotFound);
        }
        tracing::info!(domain = %name, "domain removed");
        Ok(())
    }

    /// The operator's claim (`PUT /operator/orgs/{org}/domains/{domain}`):
    /// the domain added to the organization and, with `verified`, verified
    /// on the operator's word, without DNS.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn claim_domain(
        &self,
        org: &str,
        domain: &str,
        verified: bool,
    ) -> Result<DomainView> {
        let org_id = OrgId::parse(org).map_err(|_| Error::NotFound)?;
        self.store()
            .organization(&org_id)
            .await?
            .ok_or(Error::NotFound)?;
        let name = DomainName::parse(domain).map_err(Error::invalid)?;
        let (d, _) = self.added(&org_id, name, &Actor::Operator).await?;
        if !verified || d.is_verified() {
            return Ok(DomainView::of(&d));
        }
        let checked = d.checked(self.now(), true);
        self.mark_verified(&checked, &Actor::Operator).await?;
        Ok(DomainView::of(&checked))
    }

    /// Write `d` (verified) and its organization's hold, with its event.
    async fn mark_verified(&self, d: &OrgDomain, actor: &Actor) -> Result<()> {
        let event = self.event(
            &d.org_id,
            actor,
            EventType::DomainVerified,
            None,
            domain_event(&d.domain),
        );
        match self.store().verify_domain(d, &[event]).await {
            Ok(()) => {
                tracing::info!(domain = %d.domain, "domain verified");
                Ok(())
            }
            Err(StoreError::Conflict) => Err(held_elsewhere()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `d`'s TXT record holds its value. A lookup that fails
    /// (NXDOMAIN, no record, a timeout, an unreachable server) is "not yet".
    async fn proven(&self, d: &OrgDomain) -> bool {
        let Some(dns) = self.inner.dns.as_deref() else {
            tracing::error!("no DNS resolver configured: domains cannot be verified");
            return false;
        };
        match dns.txt(&d.txt_name()).await {
            Ok(records) => d.is_proven_by(&records),
            Err(e) => {
                tracing::info!(domain = %d.domain, error = %e, "domain record not found");
                false
            }
        }
    }

    /// The scheduled job's part: every unverified domain added in the last
    /// 72 hours and not checked in the last hour is looked up; those found
    /// are verified (actor `system`). A failure is logged and left for the
    /// next run, as are the domains left when `deadline` nears.
    pub async fn recheck_domains(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> Result<DomainChecks> {
        let mut done = DomainChecks::default();
        let now = self.now();
        let candidates = self
            .store()
            .domains_to_recheck(now - RECHECK_WINDOW, RECHECK_BATCH)
            .await?;
        for d in candidates.into_iter().filter(|d| d.is_due_for_check(now)) {
            if deadline.is_some_and(|d| std::time::Instant::now() + RECHECK_MARGIN >= d) {
                break;
            }
            done.checked += 1;
            let found = self.proven(&d).await;
            let result = if found {
                self.mark_verified(&d.checked(self.now(), true), &Actor::System)
                    .await
                    .map(|()| done.verified += 1)
            } else {
                Err(Error::NotVerified)
            };
            if let Err(e) = result {
                if !matches!(e, Error::NotVerified) {
                    tracing::warn!(domain = %d.domain, error = %e, "domain re-check not recorded as verified");
                }
                self.store()
                    .record_domain_check(&d.org_id, &d.domain, self.now())
                    .await?;
            }
        }
        if done.checked > 0 {
            tracing::info!(
                checked = done.checked,
                verified = done.verified,
                "domain re-checks"
            );
        }
        Ok(done)
    }
}

fn held_elsewhere() -> Error {
    Error::Conflict("another organization has verified this domain".into())
}
