//! [`Organizations`]: organizations by id, the SSO identifier guard, and the
//! seat counter and owners guard (`owners_version`) the membership writes of
//! other modules take, free and move.

use crate::events::put_events;
use crate::memberships::put_membership;
use crate::{EmbeddedStore, Get, Table, put, put_json};
use admit_domain::{Event, Membership, OrgId, Organization, SsoIdentifier};
use admit_store::{Organizations, StoreError};
use async_trait::async_trait;
use redb::{TableDefinition, WriteTransaction};

pub(crate) const ORGS: Table = TableDefinition::new("organizations");
/// SSO identifier → org id: the guard making identifiers unique.
pub(crate) const SSO_IDS: Table = TableDefinition::new("sso_identifiers");

/// Take `wanted` seats of the organization `seen` as read: `Conflict` when it
/// is gone or its seat plan changed, `NoSeats` when they do not fit.
pub(crate) fn take_seats(
    tx: &WriteTransaction,
    seen: &Organization,
    wanted: u32,
) -> Result<(), StoreError> {
    let mut org: Organization = tx
        .get_json(ORGS, seen.id.as_str())?
        .ok_or(StoreError::Conflict)?;
    if org.seats != seen.seats {
        return Err(StoreError::Conflict);
    }
    org.seats
        .check(org.occupied_seats, wanted)
        .map_err(|_| StoreError::NoSeats)?;
    org.occupied_seats += wanted;
    put_json(tx, ORGS, org.id.as_str(), &org)
}

/// Give one seat back to the organization.
pub(crate) fn free_seat(tx: &WriteTransaction, org: &OrgId) -> Result<(), StoreError> {
    free_seats(tx, org, 1)
}

/// Give `n` seats back to the organization.
pub(crate) fn free_seats(tx: &WriteTransaction, org: &OrgId, n: u32) -> Result<(), StoreError> {
    let mut org: Organization = tx
        .get_json(ORGS, org.as_str())?
        .ok_or(StoreError::Conflict)?;
    org.occupied_seats = org.occupied_seats.saturating_sub(n);
    put_json(tx, ORGS, org.id.as_str(), &org)
}

/// The owners guard ([`admit_store::Expected::owners_version`]): with
/// `Some(v)`, the organization's `owners_version` must be `v`, and becomes
/// `v + 1` in this write; `Conflict` otherwise. `None` checks nothing.
pub(crate) fn guard_owners(
    tx: &WriteTransaction,
    org: &OrgId,
    owners_version: Option<u64>,
) -> Result<(), StoreError> {
    let Some(expected) = owners_version else {
        return Ok(());
    };
    let mut org: Organization = tx
        .get_json(ORGS, org.as_str())?
        .ok_or(StoreError::Conflict)?;
    if org.owners_version != expected {
        return Err(StoreError::Conflict);
    }
    org.owners_version = expected + 1;
    put_json(tx, ORGS, org.id.as_str(), &org)
}

#[async_trait]
impl Organizations for EmbeddedStore {
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (org, owner, events) = (org.clone(), owner.clone(), events.to_vec());
        self.write(move |tx| {
            let ident = org.sso_identifier.as_str();
            if tx.get_str(SSO_IDS, ident)?.is_some() || tx.get_str(ORGS, org.id.as_str())?.is_some()
            {
                return Err(StoreError::Conflict);
            }
            put(tx, SSO_IDS, ident, org.id.as_str().as_bytes())?;
            put_json(tx, ORGS, org.id.as_str(), &org)?;
            put_membership(tx, &owner)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.read(move |tx| tx.get_json(ORGS, id.as_str())).await
    }

    async fn update_organization_settings(
        &self,
        org: &Organization,
        expected_version: u64,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (updated, events) = (org.clone(), events.to_vec());
        self.write(move |tx| {
            let stored: Organization = tx
                .get_json(ORGS, updated.id.as_str())?
                .ok_or(StoreError::Conflict)?;
            if stored.sso_identifier != updated.sso_identifier
                || stored.settings_version != expected_version
            {
                return Err(StoreError::Conflict);
            }
            // A seat plan is never written below what is occupied.
            if updated
                .seats
                .capacity()
                .is_some_and(|capacity| stored.occupied_seats > capacity)
            {
                return Err(StoreError::NoSeats);
            }
            // Only the membership writes move these.
            let org = Organization {
                occupied_seats: stored.occupied_seats,
                owners_version: stored.owners_version,
                ..updated
            };
            put_json(tx, ORGS, org.id.as_str(), &org)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn organization_by_sso_identifier(
        &self,
        id: &SsoIdentifier,
    ) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.read(move |tx| match tx.get_str(SSO_IDS, id.as_str())? {
            Some(org) => tx.get_json(ORGS, &org),
            None => Ok(None),
        })
        .await
    }
}
