//! [`Accounts`]: the account item (`USER#…`/`ACCOUNT`) and the email guard
//! (`EMAIL#…`/`EMAIL`) that makes emails unique among accounts.

use crate::items::{GUARD_USER_ID, decode_secret, encode, guard_target};
use crate::keys::{Item, Key, PK, s};
use crate::ops::{BATCH_GET_LIMIT, put_new};
use crate::{DynamoStore, error};
use admit_domain::{Account, Email, UserId};
use admit_store::{Accounts, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::{HashMap, HashSet};

pub(crate) fn item(a: &Account) -> Result<Item, StoreError> {
    encode(a, &Key::account(&a.id))
}

/// The guard making emails unique among accounts, pointing at its account.
pub(crate) fn email_guard(a: &Account) -> Item {
    let mut item = Key::email(&a.email).item();
    item.insert(GUARD_USER_ID.into(), s(a.id.as_str()));
    item
}

/// A new account: the account item and its email guard, neither existing.
pub(crate) fn create_account(
    table: &str,
    account: &Account,
) -> Result<[TransactWriteItem; 2], StoreError> {
    Ok([
        put_new(table, item(account)?)?,
        put_new(table, email_guard(account))?,
    ])
}

#[async_trait]
impl Accounts for DynamoStore {
    async fn account(&self, id: &UserId) -> Result<Option<Account>, StoreError> {
        self.get(&Key::account(id))
            .await?
            .map(decode_secret)
            .transpose()
    }

    async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let Some(guard) = self.get(&Key::email(email)).await? else {
            return Ok(None);
        };
        let user =
            UserId::parse(&guard_target(&guard, GUARD_USER_ID)?).map_err(error::unavailable)?;
        self.account(&user).await
    }

    /// The email guards (`EMAIL#…`) among `emails` that exist: whose
    /// emails an account has. BatchGetItem, 100 keys a round trip.
    async fn emails_with_accounts(&self, emails: &[Email]) -> Result<HashSet<Email>, StoreError> {
        let mut unique: Vec<&Email> = emails.iter().collect();
        unique.sort();
        unique.dedup();
        let mut by_pk: HashMap<String, Email> = HashMap::new();
        let mut found = HashSet::new();
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let keys = chunk
                .iter()
                .map(|e| {
                    let item = Key::email(e).item();
                    if let Some(pk) = item.get(PK).and_then(|v| v.as_s().ok()) {
                        by_pk.insert(pk.clone(), (*e).clone());
                    }
                    item
                })
                .collect();
            for item in self.batch_get(keys).await? {
                if let Some(e) = item
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| by_pk.get(pk))
                {
                    found.insert(e.clone());
                }
            }
        }
        Ok(found)
    }
}
