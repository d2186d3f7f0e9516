//! [`Memberships`]: membership items in their organization's partition
//! (`MEMBER#`), indexed by user (`gsi1`) and, while they owe an email, by due
//! time (`gsi2`, read by [`crate::mail_queue`]); the writes that move seats
//! put the organization's seat counter in the same transaction.

use crate::DynamoStore;
use crate::accounts::create_account;
use crate::error::{sdk_unavailable, transact, transact_or_conflict, unavailable};
use crate::events::with_events;
use crate::items::{decode, encode};
use crate::keys::{
    DUE_PK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, MEMBER_PREFIX, PK, SK, due_sk, n, org_pk, s,
    user_membership_sk, user_pk,
};
use crate::ops::{BATCH_GET_LIMIT, Expr, TRANSACTION_ITEMS, put, put_new};
use crate::schema::GSI1;
use admit_domain::{Account, Event, MemberId, Membership, OrgId, Organization, Status, UserId};
use admit_store::{Expected, MAX_PAGE_SIZE, Memberships, Page, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::collections::{HashMap, HashSet};

/// A DynamoDB transaction holds at most 100 items: the new memberships,
/// their events (one each) and the organization's seat counter.
pub const MAX_NEW_MEMBERSHIPS_PER_WRITE: usize = 49;

/// A membership; indexed by user (`gsi1`) only while it has one, and by
/// due time (`gsi2`) only while it owes an email.
pub(crate) fn item(m: &Membership) -> Result<Item, StoreError> {
    let mut item = encode(m, &Key::membership(&m.org_id, &m.member_id))?;
    if let Some(mail) = &m.mail {
        item.insert(GSI2PK.into(), s(DUE_PK));
        item.insert(
            GSI2SK.into(),
            s(due_sk(mail.due_at, &m.org_id, &m.member_id)),
        );
    }
    if let Some(user) = &m.user_id {
        item.insert(GSI1PK.into(), s(user_pk(user)));
        item.insert(
            GSI1SK.into(),
            s(user_membership_sk(&m.org_id, &m.member_id)),
        );
    }
    Ok(item)
}

/// The condition that a stored membership is still as `expected`.
pub(crate) fn membership_condition(
    expr: &mut Expr,
    expected: &Expected,
) -> Result<String, StoreError> {
    expr.name("#status", "status");
    expr.value(
        ":status",
        serde_dynamo::to_attribute_value(expected.status).map_err(unavailable)?,
    );
    expr.name("#invitation", "invitation");
    expr.name("#digest", "digest");
    let invitation = match &expected.invitation {
        Some(digest) => {
            expr.value(
                ":digest",
                serde_dynamo::to_attribute_value(digest).map_err(unavailable)?,
            );
            "#invitation.#digest = :digest"
        }
        // No invitation is stored as `invitation: NULL`, where the path does not resolve.
        None => "attribute_not_exists(#invitation.#digest)",
    };
    let mail = match &expected.mail {
        None => String::new(),
        Some(None) => {
            expr.name("#mail", "mail");
            " AND attribute_not_exists(#mail)".into()
        }
        Some(Some(owed)) => {
            expr.name("#mail", "mail");
            expr.name("#kind", "kind");
            expr.name("#due_at", "due_at");
            expr.name("#attempts", "attempts");
            let kind = serde_dynamo::to_item::<_, Item>(owed)
                .map_err(unavailable)?
                .remove("kind")
                .ok_or_else(|| unavailable("an owed email without its kind"))?;
            expr.value(":mail_kind", kind);
            expr.value(
                ":mail_due",
                serde_dynamo::to_attribute_value(owed.due_at).map_err(unavailable)?,
            );
            expr.value(":mail_attempts", n(owed.attempts));
            " AND #mail.#kind = :mail_kind AND #mail.#due_at = :mail_due AND #mail.#attempts = :mail_attempts".into()
        }
    };
    expr.name("#role", "role");
    expr.value(
        ":role",
        serde_dynamo::to_attribute_value(expected.role).map_err(unavailable)?,
    );
    expr.name("#role_source", "role_source");
    // The default source is not stored (`skip_serializing_if`).
    let source = if expected.role_source.is_invitation() {
        "attribute_not_exists(#role_source)"
    } else {
        expr.value(
            ":role_source",
            serde_dynamo::to_attribute_value(expected.role_source).map_err(unavailable)?,
        );
        "#role_source = :role_source"
    };
    expr.name("#idp_groups", "idp_groups");
    // An empty list is not stored (`skip_serializing_if`).
    let groups = if expected.idp_groups.is_empty() {
        "attribute_not_exists(#idp_groups)"
    } else {
        expr.value(
            ":idp_groups",
            serde_dynamo::to_attribute_value(&expected.idp_groups).map_err(unavailable)?,
        );
        "#idp_groups = :idp_groups"
    };
    Ok(format!(
        "attribute_exists(pk) AND #status = :status AND #role = :role AND {source} AND {invitation}{mail} AND {groups}"
    ))
}

/// Seats are not moved by replacing a membership: the replacement must
/// occupy one exactly when the stored one (as `expected`) does.
pub(crate) fn keeps_seat(updated: &Membership, expected: &Expected) -> Result<(), StoreError> {
    if updated.occupies_seat() == (expected.status != Status::Revoked) {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// The condition that a stored membership has no user yet (`None` is NULL).
pub(crate) fn no_user_condition(expr: &mut Expr) -> String {
    expr.name("#user_id", "user_id");
    expr.value(":null_type", s("NULL"));
    "(attribute_not_exists(#user_id) OR attribute_type(#user_id, :null_type))".into()
}

impl DynamoStore {
    /// The memberships among `members` that exist, in the order asked
    /// (a repeated id repeats its membership, as the embedded store does).
    async fn batch_memberships(
        &self,
        org: &OrgId,
        members: &[MemberId],
    ) -> Result<Vec<Membership>, StoreError> {
        let mut unique: Vec<&MemberId> = members.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found: HashMap<MemberId, Membership> = HashMap::new();
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let keys = chunk
                .iter()
                .map(|m| Key::membership(org, m).item())
                .collect();
            for item in self.batch_get(keys).await? {
                let m: Membership = decode(item)?;
                found.insert(m.member_id.clone(), m);
            }
        }
        Ok(members
            .iter()
            .filter_map(|id| found.get(id).cloned())
            .collect())
    }

    /// One page of an organization's memberships in member-id order. The
    /// cursor is the member id of the last membership returned; listing
    /// resumes strictly after it.
    async fn list_page(
        &self,
        org: &OrgId,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Membership>, StoreError> {
        let after = cursor
            .map(|c| MemberId::parse(c).map_err(|_| StoreError::InvalidCursor))
            .transpose()?;
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let mut start = after.map(|m| Key::membership(org, &m).item());
        let mut items: Vec<Membership> = Vec::new();
        loop {
            // One more than needed tells whether anything follows the page.
            let wanted = limit - items.len() + 1;
            // With a filter, `Limit` counts items read before filtering: read a
            // full page's worth at a time rather than a few items per request.
            let evaluate = if status.is_some() {
                wanted.max(MAX_PAGE_SIZE)
            } else {
                wanted
            };
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(true)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(org_pk(org)))
                .expression_attribute_values(":prefix", s(MEMBER_PREFIX))
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(evaluate).expect("bounded by MAX_PAGE_SIZE"));
            if let Some(status) = status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let out = query.send().await.map_err(sdk_unavailable)?;
            self.count_read(usize::try_from(out.scanned_count).unwrap_or_default());
            for item in out.items.unwrap_or_default() {
                let m: Membership = decode(item)?;
                if items.len() == limit {
                    // A further membership exists: the page ends at the last one kept.
                    let next_cursor = items.last().map(|m| m.member_id.to_string());
                    return Ok(Page { items, next_cursor });
                }
                items.push(m);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    });
                }
            }
        }
    }

    /// Every membership held by `user`, through the sparse user index (its
    /// `MEMBER#` sort keys only).
    pub(crate) async fn user_memberships(
        &self,
        user: &UserId,
    ) -> Result<Vec<Membership>, StoreError> {
        // The user's identity links share the partition (`LINK#`).
        self.query_prefix(Some(&GSI1), user_pk(user), MEMBER_PREFIX)
            .await
    }

    /// The owners guard of a write that moves no seat, when `expected`
    /// carries one: one Update of the organization for its transaction.
    pub(crate) fn owners_guarded(
        &self,
        org: &OrgId,
        expected: &Expected,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        expected
            .owners_version
            .map(|v| self.guard_owners(org, v))
            .transpose()
    }

    /// Write memberships with BatchWriteItem: no condition, no seat counted.
    /// For seeding tests and benchmarks only, never a request path.
    #[doc(hidden)]
    pub async fn put_memberships_unconditionally(
        &self,
        memberships: &[Membership],
    ) -> Result<(), StoreError> {
        self.batch_put(memberships.iter().map(item).collect::<Result<_, _>>()?)
            .await
    }
}

#[async_trait]
impl Memberships for DynamoStore {
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

    fn max_new_memberships_per_write(&self) -> usize {
        MAX_NEW_MEMBERSHIPS_PER_WRITE
    }

    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
        events: &[Event],
    ) -> Result<(), StoreError> {
        assert!(
            new.len() <= MAX_NEW_MEMBERSHIPS_PER_WRITE,
            "at most {MAX_NEW_MEMBERSHIPS_PER_WRITE} at once"
        );
        assert!(
            new.len() + events.len() < TRANSACTION_ITEMS,
            "the memberships, their events and the seat counter fit one transaction"
        );
        let mut ids = HashSet::new();
        // One transaction may not touch an item twice: a repeated member is a conflict with itself.
        if new
            .iter()
            .any(|m| m.org_id != org.id || !ids.insert(&m.member_id))
        {
            return Err(StoreError::Conflict);
        }
        let wanted = u32::try_from(new.len()).expect("bounded above");
        let mut writes = vec![self.take_seats(org, wanted, None)?];
        for m in new {
            writes.push(put_new(&self.table, item(m)?)?);
        }
        let writes = with_events(&self.table, writes, events)?;
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(Err(e)) => Err(e),
            // Only a membership's or an event's condition failed: it exists.
            Err(Ok(cancelled)) if !cancelled.condition_failed(0) => Err(StoreError::Conflict),
            Err(Ok(cancelled)) => Err(self.seats_refused(org, wanted, None, &cancelled).await),
        }
    }

    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        self.accept_membership(updated, expected, None, events)
            .await
    }

    /// Revoke or restore: the membership Put (as `expected`) and the seat
    /// counter moved by one, in one transaction.
    async fn update_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let delta = admit_store::seat_delta(updated, expected).ok_or(StoreError::Conflict)?;
        if updated.org_id != org.id {
            return Err(StoreError::Conflict);
        }
        let owners = expected.owners_version;
        let seat = if delta > 0 {
            self.take_seats(org, 1, owners)?
        } else {
            self.free_seats(&org.id, 1, owners)?
        };
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let writes = with_events(
            &self.table,
            vec![seat, put(&self.table, item(updated)?, &condition, &expr)?],
            events,
        )?;
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(Err(e)) => Err(e),
            Err(Ok(cancelled)) if delta > 0 && cancelled.condition_failed(0) => {
                Err(self.seats_refused(org, 1, owners, &cancelled).await)
            }
            Err(Ok(_)) => Err(StoreError::Conflict),
        }
    }

    /// Delete a membership as `expected`, with its seat given back when it
    /// held one and the owners guard moved when expected, in one Update of
    /// the organization.
    async fn remove_membership(
        &self,
        membership: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(
                Key::membership(&membership.org_id, &membership.member_id).item(),
            ))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(unavailable)?;
        let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
        let org = &membership.org_id;
        let owners = expected.owners_version;
        if expected.status != Status::Revoked {
            writes.push(self.free_seats(org, 1, owners)?);
        } else if let Some(v) = owners {
            writes.push(self.guard_owners(org, v)?);
        }
        let writes = with_events(&self.table, writes, events)?;
        transact_or_conflict(&self.client, writes).await
    }

    /// One UpdateItem of `idp_groups` (REMOVE when empty), `role` and
    /// `role_source` (REMOVE when the default, as the item omits it),
    /// conditioned on the membership as read, in one transaction with the events.
    async fn set_groups_and_role(
        &self,
        read: &Membership,
        updated: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if admit_store::moves_owner(read, updated) {
            return Err(StoreError::Conflict);
        }
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, &Expected::as_read(read))?;
        expr.value(
            ":new_role",
            serde_dynamo::to_attribute_value(updated.role).map_err(unavailable)?,
        );
        let mut sets = vec!["#role = :new_role"];
        let mut removes = Vec::new();
        if updated.idp_groups.is_empty() {
            removes.push("#idp_groups");
        } else {
            expr.value(
                ":new_idp_groups",
                serde_dynamo::to_attribute_value(&updated.idp_groups).map_err(unavailable)?,
            );
            sets.push("#idp_groups = :new_idp_groups");
        }
        if updated.role_source.is_invitation() {
            removes.push("#role_source");
        } else {
            expr.value(
                ":new_role_source",
                serde_dynamo::to_attribute_value(updated.role_source).map_err(unavailable)?,
            );
            sets.push("#role_source = :new_role_source");
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::membership(&read.org_id, &read.member_id).item()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(unavailable)?;
        let writes = with_events(
            &self.table,
            vec![TransactWriteItem::builder().update(update).build()],
            events,
        )?;
        transact_or_conflict(&self.client, writes).await
    }

    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        keeps_seat(updated, expected)?;
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let item = item(updated)?;
        if new_account.is_none() && expected.owners_version.is_none() {
            return self
                .put_with_events(item, Some((&condition, &expr)), events)
                .await;
        }
        let mut writes = vec![put(&self.table, item, &condition, &expr)?];
        if let Some(account) = new_account {
            writes.extend(create_account(&self.table, account)?);
        }
        writes.extend(self.owners_guarded(&updated.org_id, expected)?);
        let writes = with_events(&self.table, writes, events)?;
        transact_or_conflict(&self.client, writes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::{Email, Role, Timestamp};
    use aws_sdk_dynamodb::types::AttributeValue;

    fn invited() -> Membership {
        let org = OrgId::generate(&mut rand::rng());
        let email = Email::parse("a@b.test").unwrap();
        let now = Timestamp::from_unix(1_800_000_000);
        Membership::invite(
            &org,
            email,
            Role::User,
            now,
            time::Duration::days(5),
            &mut rand::rng(),
        )
        .0
    }

    #[test]
    fn memberships_round_trip_and_index_only_with_a_user() {
        let mut m = invited();
        let item = super::item(&m).unwrap();
        assert!(!item.contains_key(GSI1PK) && !item.contains_key(GSI1SK));
        assert_eq!(item[PK], s(format!("ORG#{}", m.org_id)));
        assert_eq!(item[SK], s(format!("MEMBER#{}", m.member_id)));
        assert_eq!(decode::<Membership>(item).unwrap(), m);

        let user = UserId::generate(&mut rand::rng());
        m.accept(user.clone(), Timestamp::from_unix(1_800_000_100))
            .unwrap();
        let item = super::item(&m).unwrap();
        assert_eq!(item[GSI1PK], s(format!("USER#{user}")));
        assert_eq!(
            item[GSI1SK],
            s(format!("MEMBER#{}#{}", m.org_id, m.member_id))
        );
        // `None` is stored as NULL: conditions on absent values must allow for it.
        assert_eq!(item["invitation"], AttributeValue::Null(true));
        assert_eq!(decode::<Membership>(item).unwrap(), m);
    }
}
