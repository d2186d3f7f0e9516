//! [`SignIns`]: pending sign-ins (`SIGNIN#…`), consumed SAML assertions
//! (`SAML#…`), identity links (`IDP#…` in the organization's partition,
//! indexed by account in `gsi1` under `USER#…` with `LINK#…` sort keys),
//! link grants (`LINKGRANT#…`), setup grants (`SETUP#…`), the sign-in
//! decision's transactions and the setup step's.

use crate::DynamoStore;
use crate::accounts::{self, create_account};
use crate::error::{sdk_unavailable, transact, transact_or_conflict, unavailable};
use crate::events::with_events;
use crate::items::{decode, decode_secret, encode};
use crate::keys::{GSI1PK, GSI1SK, Item, Key, LINK_PREFIX, TTL, n, s, user_link_sk, user_pk};
use crate::memberships::{self, keeps_seat, membership_condition, no_user_condition};
use crate::ops::{EXISTS, Expr, NOT_EXISTS, check_exists, delete_existing, put, put_new};
use crate::schema::GSI1;
use admit_domain::{
    Account, Event, ExternalId, IdentityLink, LinkGrant, Membership, OrgId, PendingSignIn,
    SetupGrant, Timestamp, TokenDigest, UserId,
};
use admit_store::{Expected, SignInWrite, SignIns, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, ReturnValue, TransactWriteItem};

/// A pending sign-in, which DynamoDB deletes some time after it expires.
pub(crate) fn pending_sign_in(p: &PendingSignIn) -> Result<Item, StoreError> {
    let mut item = encode(p, &Key::pending_sign_in(&p.state))?;
    item.insert(TTL.into(), n(p.expires_at.unix()));
    Ok(item)
}

/// An identity link, indexed by its account (`gsi1`: `USER#…`, `LINK#…`).
pub(crate) fn identity_link(link: &IdentityLink) -> Result<Item, StoreError> {
    let mut item = encode(link, &Key::identity_link(&link.org_id, &link.external_id))?;
    item.insert(GSI1PK.into(), s(user_pk(&link.user_id)));
    item.insert(
        GSI1SK.into(),
        s(user_link_sk(&link.org_id, &link.external_id)),
    );
    Ok(item)
}

/// A link grant, which DynamoDB deletes some time after it expires.
pub(crate) fn link_grant(g: &LinkGrant) -> Result<Item, StoreError> {
    let mut item = encode(g, &Key::link_grant(&g.digest))?;
    item.insert(TTL.into(), n(g.expires_at.unix()));
    Ok(item)
}

/// A setup grant, which DynamoDB deletes some time after it expires.
pub(crate) fn setup_grant(g: &SetupGrant) -> Result<Item, StoreError> {
    let mut item = encode(g, &Key::setup_grant(&g.digest))?;
    item.insert(TTL.into(), n(g.expires_at.unix()));
    Ok(item)
}

/// A new identity link: the identity must not be linked yet.
fn put_new_link(table: &str, link: &IdentityLink) -> Result<TransactWriteItem, StoreError> {
    put_new(table, identity_link(link)?)
}

impl DynamoStore {
    /// Delete the item at `key` and return it, if it is there: of
    /// concurrent callers only one deletes it, the others' condition fails
    /// (`None`).
    async fn take_item(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .condition_expression(EXISTS)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match deleted {
            Ok(out) => Ok(out.attributes.filter(|old| !old.is_empty())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_unavailable(e)),
        }
    }

    /// Every identity link of `user`: Query of `gsi1` (eventually
    /// consistent), `USER#{user}` and the `LINK#` sort keys.
    pub(crate) async fn links_of_user(
        &self,
        user: &UserId,
    ) -> Result<Vec<IdentityLink>, StoreError> {
        self.query_prefix(Some(&GSI1), user_pk(user), LINK_PREFIX)
            .await
    }
}

#[async_trait]
impl SignIns for DynamoStore {
    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        self.put_item(pending_sign_in(pending)?).await
    }

    /// One conditional DeleteItem returning the old item: of concurrent
    /// callers only one deletes it, the others' condition fails (`None`).
    async fn take_pending_sign_in(
        &self,
        state: &TokenDigest,
    ) -> Result<Option<PendingSignIn>, StoreError> {
        self.take_item(&Key::pending_sign_in(state))
            .await?
            .map(decode_secret)
            .transpose()
    }

    /// One conditional PutItem: refused while a record of the same assertion
    /// lives (its `ttl` is after `now`); DynamoDB deletes it after `until`.
    async fn record_assertion(
        &self,
        digest: &TokenDigest,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut item = Key::consumed_assertion(digest).item();
        item.insert(TTL.into(), n(until.unix()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("{NOT_EXISTS} OR #ttl <= :now"))
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", n(now.unix()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_unavailable(e)),
        }
    }

    async fn identity_link(
        &self,
        org: &OrgId,
        external_id: &ExternalId,
    ) -> Result<Option<IdentityLink>, StoreError> {
        self.get(&Key::identity_link(org, external_id))
            .await?
            .map(decode)
            .transpose()
    }

    /// The sign-in's items in one transaction, its events' puts last.
    async fn apply_sign_in(&self, write: &SignInWrite, events: &[Event]) -> Result<(), StoreError> {
        let table = self.table.as_str();
        match write {
            SignInWrite::Link { link, membership } => {
                let mut writes = vec![
                    check_exists(table, &Key::account(&link.user_id))?,
                    put_new_link(table, link)?,
                ];
                if let Some(m) = membership {
                    let mut expr = Expr::default();
                    let condition = membership_condition(&mut expr, &Expected::as_read(m))?;
                    let check = ConditionCheck::builder()
                        .table_name(table)
                        .set_key(Some(Key::membership(&m.org_id, &m.member_id).item()))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(unavailable)?;
                    writes.push(TransactWriteItem::builder().condition_check(check).build());
                }
                let writes = with_events(table, writes, events)?;
                transact_or_conflict(&self.client, writes).await
            }
            SignInWrite::CreateAccountForInvitation {
                link,
                account,
                membership,
                expected,
            } => {
                keeps_seat(membership, expected)?;
                let mut expr = Expr::default();
                let condition = format!(
                    "{} AND {}",
                    membership_condition(&mut expr, expected)?,
                    no_user_condition(&mut expr)
                );
                let mut writes = vec![put(
                    table,
                    memberships::item(membership)?,
                    &condition,
                    &expr,
                )?];
                writes.extend(create_account(table, account)?);
                writes.push(put_new_link(table, link)?);
                writes.extend(self.owners_guarded(&membership.org_id, expected)?);
                let writes = with_events(table, writes, events)?;
                transact_or_conflict(&self.client, writes).await
            }
            SignInWrite::CreateAccountAndMembership {
                org,
                link,
                account,
                membership,
            } => {
                if membership.org_id != org.id {
                    return Err(StoreError::Conflict);
                }
                let mut writes = vec![
                    self.take_seats(org, 1, None)?,
                    put_new(table, memberships::item(membership)?)?,
                ];
                writes.extend(create_account(table, account)?);
                writes.push(put_new_link(table, link)?);
                let writes = with_events(table, writes, events)?;
                match transact(&self.client, writes).await {
                    Ok(()) => Ok(()),
                    Err(Err(e)) => Err(e),
                    // The membership, the account, its email, the link or an event exists.
                    Err(Ok(cancelled)) if !cancelled.condition_failed(0) => {
                        Err(StoreError::Conflict)
                    }
                    Err(Ok(cancelled)) => Err(self.seats_refused(org, 1, None, &cancelled).await),
                }
            }
        }
    }

    async fn identity_links_of_user(&self, user: &UserId) -> Result<Vec<IdentityLink>, StoreError> {
        self.links_of_user(user).await
    }

    /// One unconditional PutItem.
    async fn put_link_grant(&self, grant: &LinkGrant) -> Result<(), StoreError> {
        self.put_item(link_grant(grant)?).await
    }

    /// One conditional DeleteItem returning the old item, as
    /// `take_pending_sign_in`: expired ones are returned until TTL deletes them.
    async fn take_link_grant(&self, digest: &TokenDigest) -> Result<Option<LinkGrant>, StoreError> {
        self.take_item(&Key::link_grant(digest))
            .await?
            .map(decode_secret)
            .transpose()
    }

    /// One PutItem; with events, one TransactWriteItems of it and their puts.
    async fn put_setup_grant(
        &self,
        grant: &SetupGrant,
        events: &[Event],
    ) -> Result<(), StoreError> {
        self.put_with_events(setup_grant(grant)?, None, events)
            .await
    }

    async fn setup_grant(&self, digest: &TokenDigest) -> Result<Option<SetupGrant>, StoreError> {
        self.get(&Key::setup_grant(digest))
            .await?
            .map(decode_secret)
            .transpose()
    }

    /// Consume the grant, replace the membership (still as `expected`) and
    /// the account (existing, with the same email), in one transaction.
    async fn complete_setup(
        &self,
        grant: &TokenDigest,
        membership: &Membership,
        expected: &Expected,
        account: &Account,
        events: &[Event],
    ) -> Result<(), StoreError> {
        keeps_seat(membership, expected)?;
        let table = self.table.as_str();
        let mut member_expr = Expr::default();
        let member_condition = membership_condition(&mut member_expr, expected)?;
        let mut account_expr = Expr::default();
        account_expr.name("#email", "email");
        account_expr.value(
            ":email",
            serde_dynamo::to_attribute_value(&account.email).map_err(unavailable)?,
        );
        let mut writes = vec![
            delete_existing(table, &Key::setup_grant(grant))?,
            put(
                table,
                memberships::item(membership)?,
                &member_condition,
                &member_expr,
            )?,
            put(
                table,
                accounts::item(account)?,
                "attribute_exists(pk) AND #email = :email",
                &account_expr,
            )?,
        ];
        writes.extend(self.owners_guarded(&membership.org_id, expected)?);
        let writes = with_events(table, writes, events)?;
        transact_or_conflict(&self.client, writes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{PK, SK, s};
    use admit_domain::{Email, UserId};

    #[test]
    fn sign_in_records_round_trip_without_their_key_attributes() {
        let mut rng = rand::rng();
        let now = Timestamp::from_unix(1_800_000_000);
        let org = OrgId::generate(&mut rng);
        let link = IdentityLink {
            org_id: org.clone(),
            external_id: admit_domain::ExternalId::parse("sub|1 é").unwrap(),
            user_id: UserId::generate(&mut rng),
            linked_at: now,
        };
        let item = identity_link(&link).unwrap();
        assert_eq!(item[PK], s(format!("ORG#{org}")));
        assert_eq!(item[SK], s("IDP#sub|1 é"));
        assert!(!item.contains_key(TTL));
        assert_eq!(decode::<IdentityLink>(item).unwrap(), link);

        let started =
            PendingSignIn::start(org.clone(), None, "n".into(), "v".into(), now, &mut rng);
        let item = pending_sign_in(&started.pending).unwrap();
        assert_eq!(item[TTL], n(started.pending.expires_at.unix()));
        assert_eq!(
            decode_secret::<PendingSignIn>(item).unwrap(),
            started.pending
        );

        let member = admit_domain::MemberId::of(&org, &Email::parse("a@b.test").unwrap());
        let (grant, _) = SetupGrant::issue(org, member, UserId::generate(&mut rng), now, &mut rng);
        let item = setup_grant(&grant).unwrap();
        assert_eq!(item[SK], s("SETUP"));
        assert_eq!(item[TTL], n(grant.expires_at.unix()));
        assert_eq!(decode_secret::<SetupGrant>(item).unwrap(), grant);
    }
}
