//! [`Scim`]: the users and groups an organization's IdP provisions, in the
//! organization's partition: users `ORG#…`/`SCIMUSER#{id}`, the guard of
//! each `userName` `ORG#…`/`SCIMNAME#{user_name_key}` (attribute `scim_id`:
//! the user holding it), groups `ORG#…`/`SCIMGROUP#{id}`. None of these
//! prefixes is `MEMBER#`, `DOMAIN#` or `IDP#`, so no other listing of the
//! partition reads them.
//!
//! A user's `attributes` (a JSON value) are stored as JSON text, not as a
//! DynamoDB map: a map does not give every JSON value back as it was (a
//! number is stored as its digits, so `1.0` comes back as the integer `1`,
//! and DynamoDB refuses numbers beyond 38 digits or 10^125), while the text
//! round-trips exactly as the embedded store's JSON does.
//!
//! Every write is conditional on the version it was computed from (or on
//! the item not existing) and writes its events in the same transaction; a
//! rename moves the guard in that transaction too.

use crate::DynamoStore;
use crate::error::{
    TRANSACTION_ATTEMPTS, backoff, sdk_unavailable, transact_or_conflict, unavailable,
};
use crate::events::with_events;
use crate::items::{decode, encode, guard_target};
use crate::keys::{Item, Key, SCIM_GROUP_PREFIX, SCIM_USER_PREFIX, n, org_pk, s};
use crate::ops::{Expr, NOT_EXISTS, put};
use admit_domain::{Event, MemberId, OrgId, ScimGroup, ScimId, ScimUser, Timestamp};
use admit_store::{Scim, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};

/// Attribute of a `userName` guard naming the user holding it.
const SCIM_ID: &str = "scim_id";

/// A user as stored: its attributes as JSON text (see the module docs).
#[derive(Serialize, Deserialize)]
struct UserItem {
    org_id: OrgId,
    id: ScimId,
    member_id: MemberId,
    user_name: String,
    attributes: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    version: u64,
}

impl UserItem {
    fn of(u: &ScimUser) -> Result<Self, StoreError> {
        Ok(UserItem {
            org_id: u.org_id.clone(),
            id: u.id.clone(),
            member_id: u.member_id.clone(),
            user_name: u.user_name.clone(),
            attributes: serde_json::to_string(&u.attributes).map_err(unavailable)?,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        })
    }

    fn user(self) -> Result<ScimUser, StoreError> {
        Ok(ScimUser {
            attributes: serde_json::from_str(&self.attributes).map_err(|e| {
                unavailable(format!("stored SCIM user attributes do not decode: {e}"))
            })?,
            org_id: self.org_id,
            id: self.id,
            member_id: self.member_id,
            user_name: self.user_name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

fn user_item(u: &ScimUser) -> Result<Item, StoreError> {
    encode(&UserItem::of(u)?, &Key::scim_user(&u.org_id, &u.id))
}

fn decode_user(item: Item) -> Result<ScimUser, StoreError> {
    decode::<UserItem>(item)?.user()
}

/// The guard of `u`'s `userName`: `scim_id` = its id.
fn guard_item(u: &ScimUser) -> Item {
    let mut item = Key::scim_user_name(&u.org_id, &u.user_name_key()).item();
    item.insert(SCIM_ID.to_owned(), s(u.id.as_str()));
    item
}

fn group_item(g: &ScimGroup) -> Result<Item, StoreError> {
    encode(g, &Key::scim_group(&g.org_id, &g.id))
}

/// `version = :version`: the item is as read (a missing item fails).
fn version_is(version: u64) -> (&'static str, Expr) {
    let mut expr = Expr::default();
    expr.name("#version", "version");
    expr.value(":version", n(version));
    ("#version = :version", expr)
}

/// `scim_id = :scim_id`: the guard is `id`'s.
fn guard_is(id: &ScimId) -> Expr {
    let mut expr = Expr::default();
    expr.name("#scim_id", SCIM_ID);
    expr.value(":scim_id", s(id.as_str()));
    expr
}

fn delete(
    table: &str,
    key: &Key,
    condition: &str,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(condition)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl DynamoStore {
    /// Delete the item at `key` on `condition`: one DeleteItem without
    /// events (a failed condition is `Conflict`, a concurrent transaction
    /// waited out a few times), else one TransactWriteItems with the
    /// events' Puts.
    async fn delete_with_events(
        &self,
        key: &Key,
        condition: &str,
        expr: &Expr,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if !events.is_empty() {
            let writes = with_events(
                &self.table,
                vec![delete(&self.table, key, condition, expr)?],
                events,
            )?;
            return transact_or_conflict(&self.client, writes).await;
        }
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.item()))
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .send()
                .await;
            let e = match deleted {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match e.as_service_error() {
                Some(s) if s.is_conditional_check_failed_exception() => {
                    return Err(StoreError::Conflict);
                }
                Some(s) if s.is_transaction_conflict_exception() => {
                    tracing::debug!(attempt, "delete met a concurrent transaction; retrying");
                    backoff(attempt).await;
                }
                _ => return Err(sdk_unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
    }
}

#[async_trait]
impl Scim for DynamoStore {
    /// One transaction: the user and its guard, each on
    /// `attribute_not_exists(pk)`, and the events.
    async fn create_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError> {
        let table = self.table.as_str();
        let writes = vec![
            put(table, user_item(user)?, NOT_EXISTS, &Expr::default())?,
            put(table, guard_item(user), NOT_EXISTS, &Expr::default())?,
        ];
        transact_or_conflict(&self.client, with_events(table, writes, events)?).await
    }

    async fn scim_user(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimUser>, StoreError> {
        self.get(&Key::scim_user(org, id))
            .await?
            .map(decode_user)
            .transpose()
    }

    /// GetItem of the guard, then of the user (both consistent).
    async fn scim_user_by_name(
        &self,
        org: &OrgId,
        user_name_key: &str,
    ) -> Result<Option<ScimUser>, StoreError> {
        let Some(guard) = self.get(&Key::scim_user_name(org, user_name_key)).await? else {
            return Ok(None);
        };
        let raw = guard_target(&guard, SCIM_ID)?;
        let id =
            ScimId::parse(&raw).ok_or_else(|| unavailable("a userName guard holds no SCIM id"))?;
        self.scim_user(org, &id).await
    }

    /// Query of the organization's partition, `SCIMUSER#` sort keys
    /// (consistent): by id.
    async fn scim_users(&self, org: &OrgId) -> Result<Vec<ScimUser>, StoreError> {
        self.query_prefix::<UserItem>(None, org_pk(org), SCIM_USER_PREFIX)
            .await?
            .into_iter()
            .map(UserItem::user)
            .collect()
    }

    /// The user put on `version = :before`; when the `userName` key
    /// changed, in the same transaction the old guard deleted on
    /// `scim_id = :id` and the new one put on `attribute_not_exists(pk)`.
    /// Without a rename and without events, one PutItem.
    async fn update_scim_user(
        &self,
        before: &ScimUser,
        after: &ScimUser,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if after.org_id != before.org_id
            || after.id != before.id
            || after.version != before.version + 1
        {
            return Err(unavailable(
                "update_scim_user: after is not before's user one version on",
            ));
        }
        let (condition, expr) = version_is(before.version);
        let (old, new) = (before.user_name_key(), after.user_name_key());
        if old == new {
            return self
                .put_with_events(user_item(after)?, Some((condition, &expr)), events)
                .await;
        }
        let table = self.table.as_str();
        let writes = vec![
            put(table, user_item(after)?, condition, &expr)?,
            delete(
                table,
                &Key::scim_user_name(&before.org_id, &old),
                "#scim_id = :scim_id",
                &guard_is(&before.id),
            )?,
            put(table, guard_item(after), NOT_EXISTS, &Expr::default())?,
        ];
        transact_or_conflict(&self.client, with_events(table, writes, events)?).await
    }

    /// One transaction: the user deleted on `version = :version`, its guard
    /// on `attribute_not_exists(pk) OR scim_id = :id` (never another
    /// user's), the events.
    async fn delete_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError> {
        let table = self.table.as_str();
        let (condition, expr) = version_is(user.version);
        let writes = vec![
            delete(
                table,
                &Key::scim_user(&user.org_id, &user.id),
                condition,
                &expr,
            )?,
            delete(
                table,
                &Key::scim_user_name(&user.org_id, &user.user_name_key()),
                &format!("{NOT_EXISTS} OR #scim_id = :scim_id"),
                &guard_is(&user.id),
            )?,
        ];
        transact_or_conflict(&self.client, with_events(table, writes, events)?).await
    }

    /// PutItem (with events: TransactWriteItems) on
    /// `attribute_not_exists(pk)` to create, `version = :expected` to
    /// replace.
    async fn put_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: Option<u64>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let item = group_item(group)?;
        match expected_version {
            None => {
                self.put_with_events(item, Some((NOT_EXISTS, &Expr::default())), events)
                    .await
            }
            Some(v) if group.version != v + 1 => Err(unavailable(
                "put_scim_group: the group is not one version on the expected one",
            )),
            Some(v) => {
                let (condition, expr) = version_is(v);
                self.put_with_events(item, Some((condition, &expr)), events)
                    .await
            }
        }
    }

    async fn scim_group(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimGroup>, StoreError> {
        self.get(&Key::scim_group(org, id))
            .await?
            .map(decode)
            .transpose()
    }

    /// Query of the organization's partition, `SCIMGROUP#` sort keys
    /// (consistent): by id.
    async fn scim_groups(&self, org: &OrgId) -> Result<Vec<ScimGroup>, StoreError> {
        self.query_prefix(None, org_pk(org), SCIM_GROUP_PREFIX)
            .await
    }

    /// DeleteItem (with events: TransactWriteItems) on `version = :version`.
    async fn delete_scim_group(
        &self,
        group: &ScimGroup,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (condition, expr) = version_is(group.version);
        self.delete_with_events(
            &Key::scim_group(&group.org_id, &group.id),
            condition,
            &expr,
            events,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why the attributes are JSON text: as a DynamoDB map (`serde_dynamo`)
    /// a float that is a whole number comes back an integer, a different
    /// JSON value; as text it comes back as it was.
    #[test]
    fn attributes_round_trip_as_text_not_as_a_map() {
        let attributes = serde_json::json!({
            "n": 1.0, "x": 0.5, "neg": -7, "empty": "", "none": null,
            "list": [true, false, {"": "é😀"}], "nested": {"a": {"b": []}}
        });
        let map: aws_sdk_dynamodb::types::AttributeValue =
            serde_dynamo::to_attribute_value(&attributes).unwrap();
        assert!(map.is_m());
        let as_map: serde_json::Value = serde_dynamo::from_attribute_value(map).unwrap();
        assert_ne!(as_map, attributes, "a map would not round-trip");

        let mut rng = rand::rng();
        let org = OrgId::generate(&mut rng);
        let user = ScimUser {
            member_id: MemberId::of(&org, &admit_domain::Email::parse("a@b.test").unwrap()),
            org_id: org,
            id: ScimId::generate(&mut rng),
            user_name: "Ann".into(),
            attributes,
            created_at: Timestamp::from_unix(1_800_000_000),
            updated_at: Timestamp::from_unix(1_800_000_001),
            version: 3,
        };
        let item = user_item(&user).unwrap();
        assert!(item["attributes"].as_s().is_ok());
        assert_eq!(decode_user(item).unwrap(), user);
    }
}
