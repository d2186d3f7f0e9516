//! [`Accounts`]: the account item (`USER#…`/`ACCOUNT`) and the email guard
//! (`EMAIL#…`/`EMAIL`) that makes emails unique among accounts, and the
//! deletion of an account with its memberships and identity links.

use crate::error::{transact_or_conflict, unavailable};
use crate::events::with_events;
use crate::items::{GUARD_USER_ID, decode, decode_secret, encode, guard_target};
use crate::keys::{Item, Key, PK, s};
use crate::memberships::membership_condition;
use crate::ops::{BATCH_GET_LIMIT, Expr, TRANSACTION_ITEMS, put_new};
use crate::organizations::SeatMove;
use crate::{DynamoStore, error};
use admit_domain::{Account, Email, Event, MemberId, Membership, OrgId, Status, UserId};
use admit_store::{Accounts, Expected, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
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

/// A Delete of the item at `key` on `condition` (none: whatever is there).
fn delete(
    table: &str,
    key: &Key,
    condition: Option<(&str, &Expr)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.item()));
    if let Some((condition, expr)) = condition {
        delete = delete
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values());
    }
    Ok(TransactWriteItem::builder()
        .delete(delete.build().map_err(unavailable)?)
        .build())
}

/// A Delete of an item that is gone or still `user`'s (its `user_id`): a
/// guard or a link another account took meanwhile stays.
fn delete_if_users(table: &str, key: &Key, user: &UserId) -> Result<TransactWriteItem, StoreError> {
    let mut expr = Expr::default();
    expr.name("#user_id", GUARD_USER_ID);
    expr.value(":user", s(user.as_str()));
    delete(
        table,
        key,
        Some(("attribute_not_exists(pk) OR #user_id = :user", &expr)),
    )
}

/// One organization's part of an account's deletion: the Deletes of the
/// account's memberships there (each as expected and still the account's),
/// then one Update of the organization (the seats they held, the owners
/// guard), then the events about the organization.
struct OrgPart {
    org: OrgId,
    deletes: Vec<TransactWriteItem>,
    freed: u32,
    owners: Option<u64>,
}

impl DynamoStore {
    /// The memberships' parts, by organization in the order first given.
    fn org_parts(
        &self,
        account: &Account,
        memberships: &[(Membership, Expected)],
    ) -> Result<Vec<OrgPart>, StoreError> {
        let mut parts: Vec<OrgPart> = Vec::new();
        let mut seen = HashSet::new();
        for (m, expected) in memberships {
            // Another account's membership, or one given twice (a transaction
            // touches an item once): nothing is deleted.
            if m.user_id.as_ref() != Some(&account.id) || !seen.insert((&m.org_id, &m.member_id)) {
                return Err(StoreError::Conflict);
            }
            let mut expr = Expr::default();
            let condition = format!(
                "{} AND #user_id = :user",
                membership_condition(&mut expr, expected)?
            );
            expr.name("#user_id", "user_id");
            expr.value(":user", s(account.id.as_str()));
            let delete = delete(
                &self.table,
                &Key::membership(&m.org_id, &m.member_id),
                Some((&condition, &expr)),
            )?;
            let i = match parts.iter().position(|p| p.org == m.org_id) {
                Some(i) => i,
                None => {
                    parts.push(OrgPart {
                        org: m.org_id.clone(),
                        deletes: Vec::new(),
                        freed: 0,
                        owners: None,
                    });
                    parts.len() - 1
                }
            };
            let part = &mut parts[i];
            part.deletes.push(delete);
            part.freed += u32::from(expected.status != Status::Revoked);
            match (part.owners, expected.owners_version) {
                (Some(a), Some(b)) if a != b => return Err(StoreError::Conflict),
                (None, Some(b)) => part.owners = Some(b),
                _ => {}
            }
        }
        Ok(parts)
    }

    /// `Conflict` when the account holds a membership besides `given`: read
    /// from the user index (eventually consistent), then from the table
    /// (consistent), since the index may still show one deleted a moment ago.
    async fn no_other_memberships(
        &self,
        account: &Account,
        given: &[(Membership, Expected)],
    ) -> Result<(), StoreError> {
        let given: HashSet<(&OrgId, &MemberId)> = given
            .iter()
            .map(|(m, _)| (&m.org_id, &m.member_id))
            .collect();
        let others: Vec<Item> = self
            .user_memberships(&account.id)
            .await?
            .iter()
            .filter(|m| !given.contains(&(&m.org_id, &m.member_id)))
            .map(|m| Key::membership(&m.org_id, &m.member_id).item())
            .collect();
        for chunk in others.chunks(BATCH_GET_LIMIT) {
            for item in self.batch_get(chunk.to_vec()).await? {
                let m: Membership = decode(item)?;
                if m.user_id.as_ref() == Some(&account.id) {
                    return Err(StoreError::Conflict);
                }
            }
        }
        Ok(())
    }
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

    /// One TransactWriteItems when everything fits (100 items); otherwise
    /// the organizations' parts first, whole, packed into transactions of
    /// up to 100 items (with the links that do not fit the last one), then
    /// the account, its email guard, its remaining links and the events
    /// about no organization of a membership, last. See the crate docs.
    async fn delete_account(
        &self,
        account: &Account,
        memberships: &[(Membership, Expected)],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let table = self.table.as_str();
        let parts = self.org_parts(account, memberships)?;
        self.no_other_memberships(account, memberships).await?;
        let links = self.links_of_user(&account.id).await?;

        let mut groups = Vec::new();
        for part in parts {
            let mut writes = part.deletes;
            if part.freed > 0 || part.owners.is_some() {
                let seats = match part.freed {
                    0 => SeatMove::Keep,
                    freed => SeatMove::Free(freed),
                };
                writes.push(self.org_update(&part.org, seats, part.owners)?);
            }
            let about: Vec<Event> = events
                .iter()
                .filter(|e| e.org_id == part.org)
                .cloned()
                .collect();
            groups.push(with_events(table, writes, &about)?);
        }
        let rest: Vec<Event> = events
            .iter()
            .filter(|e| !memberships.iter().any(|(m, _)| m.org_id == e.org_id))
            .cloned()
            .collect();
        // The email guard, while it is the account's: another account may
        // hold the email already (this one deleted before, run again).
        let mut own = vec![delete(table, &Key::account(&account.id), None)?];
        let guard = self.get(&Key::email(&account.email)).await?;
        if guard.is_some_and(|g| {
            guard_target(&g, GUARD_USER_ID).is_ok_and(|u| u == account.id.as_str())
        }) {
            own.push(delete_if_users(
                table,
                &Key::email(&account.email),
                &account.id,
            )?);
        }
        let last = with_events(table, own, &rest)?;
        let mut link_deletes = links
            .iter()
            .map(|l| {
                delete_if_users(
                    table,
                    &Key::identity_link(&l.org_id, &l.external_id),
                    &account.id,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;

        let total = groups.iter().map(Vec::len).sum::<usize>() + link_deletes.len() + last.len();
        if total <= TRANSACTION_ITEMS {
            let mut all = groups.concat();
            all.extend(link_deletes);
            all.extend(last);
            return transact_or_conflict(&self.client, all).await;
        }
        // Too many for one: the links that fit go with the account, the
        // others before it.
        let room = TRANSACTION_ITEMS - last.len();
        let late = link_deletes.split_off(link_deletes.len().saturating_sub(room));
        let mut batch: Vec<TransactWriteItem> = Vec::new();
        let early = link_deletes.into_iter().map(|d| vec![d]);
        for group in groups.into_iter().chain(early) {
            if batch.len() + group.len() > TRANSACTION_ITEMS {
                transact_or_conflict(&self.client, std::mem::take(&mut batch)).await?;
            }
            batch.extend(group);
        }
        if !batch.is_empty() {
            transact_or_conflict(&self.client, batch).await?;
        }
        let mut last = last;
        last.extend(late);
        transact_or_conflict(&self.client, last).await
    }
}
