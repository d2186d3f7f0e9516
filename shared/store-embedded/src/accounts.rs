//! [`Accounts`]: accounts by id and the email guard making emails unique,
//! and deleting an account with everything that is its.

use crate::events::put_events;
use crate::memberships::{delete_membership, stored_as_expected, user_has_memberships};
use crate::organizations::{free_seats, guard_owners};
use crate::sign_ins::delete_links_of;
use crate::{EmbeddedStore, Get, Table, put, put_json, remove};
use admit_domain::{Account, Email, Event, Membership, OrgId, UserId};
use admit_store::{Accounts, Expected, StoreError};
use async_trait::async_trait;
use redb::{TableDefinition, WriteTransaction};
use std::collections::HashSet;

/// User id → account.
pub(crate) const ACCOUNTS: Table = TableDefinition::new("accounts");
/// Email → user id: the guard making emails unique among accounts.
pub(crate) const EMAILS: Table = TableDefinition::new("account_emails");

/// Create `account` and its email guard; `Conflict` if either exists.
pub(crate) fn create_account(tx: &WriteTransaction, a: &Account) -> Result<(), StoreError> {
    if tx.get_str(EMAILS, a.email.as_str())?.is_some()
        || tx.get_str(ACCOUNTS, a.id.as_str())?.is_some()
    {
        return Err(StoreError::Conflict);
    }
    put(tx, EMAILS, a.email.as_str(), a.id.as_str().as_bytes())?;
    put_json(tx, ACCOUNTS, a.id.as_str(), a)
}

/// Is there an account with this id?
pub(crate) fn account_exists(tx: &WriteTransaction, user: &UserId) -> Result<bool, StoreError> {
    Ok(tx.get_str(ACCOUNTS, user.as_str())?.is_some())
}

/// Replace an existing account that keeps its email; `Conflict` otherwise.
pub(crate) fn replace_account(tx: &WriteTransaction, account: &Account) -> Result<(), StoreError> {
    let stored: Account = tx
        .get_json(ACCOUNTS, account.id.as_str())?
        .ok_or(StoreError::Conflict)?;
    if stored.email != account.email {
        return Err(StoreError::Conflict);
    }
    put_json(tx, ACCOUNTS, account.id.as_str(), account)
}

/// Delete `account`'s `memberships` (each still as expected and the
/// account's; seats freed and each organization's owners guard moved once),
/// then its links, its email guard (while it is the account's) and the
/// account, in the caller's transaction. `Conflict` when a membership
/// changed, or when the account holds one more than those given.
fn delete_account(
    tx: &WriteTransaction,
    account: &Account,
    memberships: &[(Membership, Expected)],
) -> Result<(), StoreError> {
    // Per organization, in the order given: the seats freed and the owners guard.
    let mut orgs: Vec<(OrgId, u32, Option<u64>)> = Vec::new();
    for (m, expected) in memberships {
        let stored = stored_as_expected(tx, m, expected)?;
        if stored.user_id.as_ref() != Some(&account.id) {
            return Err(StoreError::Conflict);
        }
        let i = match orgs.iter().position(|(org, _, _)| *org == stored.org_id) {
            Some(i) => i,
            None => {
                orgs.push((stored.org_id.clone(), 0, None));
                orgs.len() - 1
            }
        };
        let (_, freed, owners) = &mut orgs[i];
        match (*owners, expected.owners_version) {
            (Some(a), Some(b)) if a != b => return Err(StoreError::Conflict),
            (None, Some(b)) => *owners = Some(b),
            _ => {}
        }
        *freed += u32::from(stored.occupies_seat());
        delete_membership(tx, &stored)?;
    }
    for (org, freed, owners) in &orgs {
        guard_owners(tx, org, *owners)?;
        if *freed > 0 {
            free_seats(tx, org, *freed)?;
        }
    }
    if user_has_memberships(tx, &account.id)? {
        return Err(StoreError::Conflict);
    }
    delete_links_of(tx, &account.id)?;
    if tx.get_str(EMAILS, account.email.as_str())?.as_deref() == Some(account.id.as_str()) {
        remove(tx, EMAILS, account.email.as_str())?;
    }
    remove(tx, ACCOUNTS, account.id.as_str())?;
    Ok(())
}

#[async_trait]
impl Accounts for EmbeddedStore {
    async fn account(&self, id: &UserId) -> Result<Option<Account>, StoreError> {
        let id = id.clone();
        self.read(move |tx| tx.get_json(ACCOUNTS, id.as_str()))
            .await
    }

    async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let email = email.clone();
        self.read(move |tx| match tx.get_str(EMAILS, email.as_str())? {
            Some(id) => tx.get_json(ACCOUNTS, &id),
            None => Ok(None),
        })
        .await
    }

    async fn emails_with_accounts(&self, emails: &[Email]) -> Result<HashSet<Email>, StoreError> {
        let emails = emails.to_vec();
        let found = self
            .read(move |tx| {
                let mut found = Vec::new();
                for e in emails {
                    if tx.get_str(EMAILS, e.as_str())?.is_some() {
                        found.push(e);
                    }
                }
                Ok(found)
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    /// One write transaction: all of it or nothing.
    async fn delete_account(
        &self,
        account: &Account,
        memberships: &[(Membership, Expected)],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (account, memberships, events) =
            (account.clone(), memberships.to_vec(), events.to_vec());
        self.write(move |tx| {
            delete_account(tx, &account, &memberships)?;
            put_events(tx, &events)
        })
        .await
    }
}
