//! The DynamoDB store: [`admit_store::Store`] on one table (single-table
//! design), with the semantics of the embedded store and the same contract
//! suite.
//!
//! # Items
//!
//! Every item is its domain value serialized with `serde_dynamo` (`None` is a
//! NULL attribute) plus its key attributes. The table's schema lives in one
//! place, [`schema::TABLE`]: string keys `pk`/`sk`, the sparse index `gsi1`
//! (`gsi1pk`/`gsi1sk`, projection ALL), TTL on `ttl`, on-demand billing.
//!
//! | Item            | `pk`                 | `sk`                  | other key attributes                                              |
//! |-----------------|----------------------|-----------------------|-------------------------------------------------------------------|
//! | organization    | `ORG#{org_id}`       | `ORG`                 | `occupied_seats` is a top-level number (`ADD`ed to)                |
//! | SSO id guard    | `SSOID#{identifier}` | `SSOID`               | `org_id`                                                          |
//! | membership      | `ORG#{org_id}`       | `MEMBER#{member_id}`  | with a user: `gsi1pk = USER#{user_id}`, `gsi1sk = MEMBER#{org_id}#{member_id}` |
//! | account         | `USER#{user_id}`     | `ACCOUNT`             |                                                                   |
//! | email guard     | `EMAIL#{email}`      | `EMAIL`               | `user_id`                                                         |
//! | session         | `SESSION#{digest}`   | `SESSION`             | `ttl` = expiry in unix seconds (hex digest of the token)          |
//!
//! # Access patterns
//!
//! | Operation                          | Key / index                                        | API call                       | Condition / notes |
//! |------------------------------------|----------------------------------------------------|--------------------------------|-------------------|
//! | `create_organization`              | SSO guard + organization + owner membership        | TransactWriteItems (3 Puts)    | each `attribute_not_exists(pk)`; any failure → `Conflict` |
//! | `organization`                     | `ORG#{org}` / `ORG`                                | GetItem (consistent)           | |
//! | `organization_by_sso_identifier`   | `SSOID#{id}` / `SSOID`, then the organization      | 2 × GetItem (consistent)       | |
//! | `membership`                       | `ORG#{org}` / `MEMBER#{member}`                    | GetItem (consistent)           | |
//! | `memberships`                      | `ORG#{org}` / `MEMBER#{member}` × n                | BatchGetItem (consistent), chunks of 100 | unprocessed keys asked again with backoff |
//! | `list_memberships`                 | `pk = ORG#{org} AND begins_with(sk, "MEMBER#")`    | Query (consistent, ascending)  | optional filter `status = :status`; cursor = last member id returned, resumed with `ExclusiveStartKey` |
//! | `memberships_of_user`              | index `gsi1`: `gsi1pk = USER#{user}`               | Query (eventually consistent), all pages | |
//! | `add_memberships`                  | organization + each new membership                 | TransactWriteItems (1 Update + n Puts, n ≤ 99) | org: `ADD occupied_seats :n` if `attribute_exists(pk)` AND seat plan as read (`seats.limit`, `seats.autoscale_max`) AND, with a capacity, `occupied_seats <= capacity - n`; memberships: `attribute_not_exists(pk)` |
//! | `update_membership`                | `ORG#{org}` / `MEMBER#{member}`                    | PutItem                        | `attribute_exists(pk) AND status = :status AND invitation.digest = :digest` (or `attribute_not_exists(invitation.digest)`) |
//! | `accept_membership` with account   | membership + `USER#{user}`/`ACCOUNT` + `EMAIL#{email}`/`EMAIL` | TransactWriteItems (3 Puts) | membership as above; account and email guard `attribute_not_exists(pk)` |
//! | `account`                          | `USER#{user}` / `ACCOUNT`                          | GetItem (consistent)           | |
//! | `account_by_email`                 | `EMAIL#{email}` / `EMAIL`, then the account        | 2 × GetItem (consistent)       | |
//! | `put_session`                      | `SESSION#{digest}` / `SESSION`                     | PutItem                        | unconditional |
//! | `session`                          | `SESSION#{digest}` / `SESSION`                     | GetItem (consistent)           | expired sessions are returned until TTL deletes them |
//! | `delete_session`                   | `SESSION#{digest}` / `SESSION`                     | DeleteItem                     | idempotent |
//! | [`create_table`]                   | the table                                          | CreateTable, DescribeTable, DescribeTimeToLive, UpdateTimeToLive | an existing table is fine |
//!
//! # Failures
//!
//! A failed condition is [`StoreError::Conflict`], except on the
//! organization's seat counter: there the old item (returned with
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD`, or read again) tells
//! [`StoreError::NoSeats`] (plan unchanged, seats taken) from `Conflict`
//! (organization gone or plan changed). A transaction cancelled by a
//! concurrent one (`TransactionConflict`) is retried with jittered backoff,
//! then reported as `Conflict`. Anything else from the SDK is
//! [`StoreError::Unavailable`] with the error's code and message.
//!
//! The user index is eventually consistent: a membership accepted a moment
//! ago may be missing from [`Store::memberships_of_user`] for a short while.

mod error;
mod items;
mod keys;
mod read;
pub mod schema;
mod write;

pub use schema::{attribute_definitions, create_table, global_secondary_indexes, key_schema};

use admit_domain::{
    Account, Email, MemberId, Membership, OrgId, Organization, Session, SsoIdentifier, Status,
    TokenDigest, UserId,
};
use admit_store::{Expected, Page, Store, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use error::sdk_unavailable;
use items::{GUARD_ORG_ID, GUARD_USER_ID, decode, decode_secret, guard_target};
use keys::Key;

/// [`Store`] on a DynamoDB table laid out as described in the crate docs.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` (see [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
    ) -> Result<(), StoreError> {
        self.write_organization(org, owner).await
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.get(&Key::organization(id))
            .await?
            .map(decode)
            .transpose()
    }

    async fn update_organization_settings(&self, org: &Organization) -> Result<(), StoreError> {
        self.write_organization_settings(org).await
    }

    async fn organization_by_sso_identifier(
        &self,
        id: &SsoIdentifier,
    ) -> Result<Option<Organization>, StoreError> {
        let Some(guard) = self.get(&Key::sso_identifier(id)).await? else {
            return Ok(None);
        };
        let org = OrgId::parse(&guard_target(&guard, GUARD_ORG_ID)?).map_err(error::unavailable)?;
        self.organization(&org).await
    }

    async fn membership(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Membership>, StoreError> {
        self.get(&Key::membership(org, member))
            .await?
            .map(decode)
            .transpose()
    }

    async fn memberships(
        &self,
        org: &OrgId,
        members: &[MemberId],
    ) -> Result<Vec<Membership>, StoreError> {
        self.batch_memberships(org, members).await
    }

    async fn list_memberships(
        &self,
        org: &OrgId,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Membership>, StoreError> {
        self.list_page(org, status, cursor, limit).await
    }

    async fn memberships_of_user(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        self.user_memberships(user).await
    }

    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
    ) -> Result<(), StoreError> {
        self.write_new_memberships(org, new).await
    }

    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        self.replace_membership(updated, expected, None).await
    }

    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError> {
        self.replace_membership(updated, expected, new_account)
            .await
    }

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

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let item = items::session(session)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }

    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        self.get(&Key::session(digest))
            .await?
            .map(decode_secret)
            .transpose()
    }

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::session(digest).item()))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }
}
