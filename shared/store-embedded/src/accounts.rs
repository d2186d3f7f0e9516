//! [`Accounts`]: accounts by id and the email guard making emails unique.

use crate::{EmbeddedStore, Get, Table, put, put_json};
use admit_domain::{Account, Email, UserId};
use admit_store::{Accounts, StoreError};
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
}
