//! [`Organizations`]: the organization item, the SSO identifier guard, and
//! the seat counter (`occupied_seats`, `ADD`ed to) and owners guard
//! (`owners_version`) that the membership writes of other modules put in
//! their transactions, in one Update of the organization item.

use crate::error::{Cancelled, sdk_unavailable, transact, transact_or_conflict, unavailable};
use crate::events::with_events;
use crate::items::{GUARD_ORG_ID, decode, encode, guard_target};
use crate::keys::{Item, Key, n, s};
use crate::memberships;
use crate::ops::{Expr, put_new};
use crate::{DynamoStore, error};
use admit_domain::{Event, Membership, OrgId, Organization, SeatPlan, SsoIdentifier};
use admit_store::{Organizations, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

/// The seat counter: a top-level number, `ADD`ed to.
const OCCUPIED_SEATS: &str = "occupied_seats";
/// The owners guard: a top-level number, moved by guarded membership writes.
const OWNERS_VERSION: &str = "owners_version";

pub(crate) fn organization_item(org: &Organization) -> Result<Item, StoreError> {
    encode(org, &Key::organization(&org.id))
}

/// The guard making SSO identifiers unique, pointing at its organization.
pub(crate) fn sso_guard(org: &Organization) -> Item {
    let mut item = Key::sso_identifier(&org.sso_identifier).item();
    item.insert(GUARD_ORG_ID.into(), s(org.id.as_str()));
    item
}

/// `seats.<field>` is still `value`; `None` is stored as NULL (or absent).
fn seat_field_condition(expr: &mut Expr, field: &str, value: Option<u32>) -> String {
    let (path, placeholder) = (format!("#seats.#{field}"), format!(":{field}"));
    expr.name(&format!("#{field}"), field);
    match value {
        Some(v) => {
            expr.value(&placeholder, n(v));
            format!("{path} = {placeholder}")
        }
        None => {
            expr.value(":null_type", s("NULL"));
            format!("(attribute_not_exists({path}) OR attribute_type({path}, :null_type))")
        }
    }
}

/// The condition that the stored seat plan is `plan`, field by field.
fn seat_plan_condition(expr: &mut Expr, plan: &SeatPlan) -> String {
    expr.name("#seats", "seats");
    let limit = seat_field_condition(expr, "limit", plan.limit);
    let autoscale = seat_field_condition(expr, "autoscale_max", plan.autoscale_max);
    format!("attribute_exists(#seats) AND {limit} AND {autoscale}")
}

/// How a write moves the organization's seat counter.
pub(crate) enum SeatMove<'a> {
    /// Leave it.
    Keep,
    /// Take this many seats of the organization as read: its seat plan must
    /// be unchanged and the seats must fit.
    Take(&'a Organization, u32),
    /// Give this many back.
    Free(u32),
}

/// The condition that the stored `owners_version` is `expected` (absent
/// counts as 0) and the update moving it to the next: the owners guard.
fn owners_guard(expr: &mut Expr, expected: u64) -> (String, String) {
    expr.name("#owners", OWNERS_VERSION);
    expr.value(":owners", n(expected));
    expr.value(":owners_next", n(expected + 1));
    let condition = if expected == 0 {
        "(attribute_not_exists(#owners) OR #owners = :owners)"
    } else {
        "#owners = :owners"
    };
    (condition.to_owned(), "#owners = :owners_next".to_owned())
}

impl DynamoStore {
    /// One Update of the organization item (which must exist) that moves
    /// its seat counter as `seats` says and, with `owners`, checks and moves
    /// the owners guard: a transaction touches the item once, so both go in
    /// the same Update. `NoSeats` at once when the seats taken cannot fit
    /// even an empty organization.
    pub(crate) fn org_update(
        &self,
        org: &OrgId,
        seats: SeatMove<'_>,
        owners: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        let mut conditions = vec!["attribute_exists(pk)".to_owned()];
        let mut sets = Vec::new();
        let mut adds = Vec::new();
        match seats {
            SeatMove::Keep => {}
            SeatMove::Take(seen, wanted) => {
                conditions.push(seat_plan_condition(&mut expr, &seen.seats));
                if let Some(max) = seen.seats.max_occupied_before(wanted) {
                    if max < 0 {
                        return Err(StoreError::NoSeats);
                    }
                    expr.value(":max", n(max));
                    conditions.push("#occupied <= :max".into());
                }
                expr.name("#occupied", OCCUPIED_SEATS);
                expr.value(":seats", n(wanted));
                adds.push("#occupied :seats");
            }
            SeatMove::Free(freed) => {
                expr.name("#occupied", OCCUPIED_SEATS);
                expr.value(":freed", n(freed));
                expr.value(":seats", n(-i64::from(freed)));
                conditions.push("#occupied >= :freed".into());
                adds.push("#occupied :seats");
            }
        }
        if let Some(expected) = owners {
            let (condition, set) = owners_guard(&mut expr, expected);
            conditions.push(condition);
            sets.push(set);
        }
        let mut update = Vec::new();
        if !sets.is_empty() {
            update.push(format!("SET {}", sets.join(", ")));
        }
        if !adds.is_empty() {
            update.push(format!("ADD {}", adds.join(", ")));
        }
        if update.is_empty() {
            return Err(unavailable("an organization update that changes nothing"));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::organization(org).item()))
            .update_expression(update.join(" "))
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The organization's seat counter taking `wanted` seats, conditional on
    /// the seat plan as read in `org` and on the capacity (and, with
    /// `owners`, the owners guard); `NoSeats` at once when `wanted` cannot
    /// fit even an empty organization.
    pub(crate) fn take_seats(
        &self,
        org: &Organization,
        wanted: u32,
        owners: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.org_update(&org.id, SeatMove::Take(org, wanted), owners)
    }

    /// Why the condition of [`Self::take_seats`] (item 0 of `cancelled`)
    /// failed: `NoSeats` when the plan (and the owners guard) is as read and
    /// the seats are taken, `Conflict` when the organization is gone, its
    /// plan changed or its owners moved on.
    pub(crate) async fn seats_refused(
        &self,
        org: &Organization,
        wanted: u32,
        owners: Option<u64>,
        cancelled: &Cancelled,
    ) -> StoreError {
        let stored = match cancelled.reasons[0].item() {
            Some(old) => decode::<Organization>(old.clone()).map(Some),
            None => self
                .get(&Key::organization(&org.id))
                .await
                .and_then(|item| item.map(decode::<Organization>).transpose()),
        };
        match stored {
            Ok(Some(stored))
                if stored.seats == org.seats
                    && owners.is_none_or(|v| v == stored.owners_version)
                    && stored.seats.check(stored.occupied_seats, wanted).is_err() =>
            {
                StoreError::NoSeats
            }
            Ok(_) => StoreError::Conflict,
            Err(e) => e,
        }
    }

    /// The organization's seat counter giving `freed` seats back (and, with
    /// `owners`, the owners guard).
    pub(crate) fn free_seats(
        &self,
        org: &OrgId,
        freed: u32,
        owners: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.org_update(org, SeatMove::Free(freed), owners)
    }

    /// Why a settings write's condition failed: `NoSeats` when only the
    /// occupied seats stood in the way (the organization as expected, more
    /// seats occupied than `org`'s plan holds), `Conflict` otherwise. `old`
    /// is the item as the failed write found it, if DynamoDB returned it.
    async fn settings_refused(
        &self,
        org: &Organization,
        expected_version: u64,
        old: Option<Item>,
    ) -> StoreError {
        let stored = match old {
            Some(old) => decode::<Organization>(old).map(Some),
            None => self
                .get(&Key::organization(&org.id))
                .await
                .and_then(|item| item.map(decode::<Organization>).transpose()),
        };
        match stored {
            Ok(Some(stored))
                if stored.sso_identifier == org.sso_identifier
                    && stored.settings_version == expected_version
                    && org
                        .seats
                        .capacity()
                        .is_some_and(|capacity| stored.occupied_seats > capacity) =>
            {
                StoreError::NoSeats
            }
            Ok(_) => StoreError::Conflict,
            Err(e) => e,
        }
    }

    /// The owners guard alone, for a write that moves no seat.
    pub(crate) fn guard_owners(
        &self,
        org: &OrgId,
        owners: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.org_update(org, SeatMove::Keep, Some(owners))
    }
}

#[async_trait]
impl Organizations for DynamoStore {
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if owner.org_id != org.id {
            return Err(StoreError::Conflict);
        }
        let table = self.table.as_str();
        let writes = vec![
            put_new(table, sso_guard(org))?,
            put_new(table, organization_item(org)?)?,
            put_new(table, memberships::item(owner)?)?,
        ];
        let writes = with_events(table, writes, events)?;
        transact_or_conflict(&self.client, writes).await
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.get(&Key::organization(id))
            .await?
            .map(decode)
            .transpose()
    }

    /// One UpdateItem setting every settings attribute; `occupied_seats`,
    /// `owners_version` and the keys are left as stored, and a seat plan with
    /// a capacity is conditional on `occupied_seats <= capacity`. With
    /// events, one TransactWriteItems of that Update and the events' puts.
    async fn update_organization_settings(
        &self,
        org: &Organization,
        expected_version: u64,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut item = organization_item(org)?;
        for kept in [
            crate::keys::PK,
            crate::keys::SK,
            OCCUPIED_SEATS,
            OWNERS_VERSION,
        ] {
            item.remove(kept);
        }
        let mut expr = Expr::default();
        let mut sets = Vec::new();
        for (i, (attribute, value)) in item.into_iter().enumerate() {
            expr.name(&format!("#a{i}"), &attribute);
            expr.value(&format!(":v{i}"), value);
            sets.push(format!("#a{i} = :v{i}"));
        }
        expr.name("#ident", "sso_identifier");
        expr.value(":ident", s(org.sso_identifier.as_str()));
        expr.name("#version", "settings_version");
        expr.value(":version", n(expected_version));
        // Items written before versions existed have none: version 0.
        let version = if expected_version == 0 {
            "(attribute_not_exists(#version) OR #version = :version)"
        } else {
            "#version = :version"
        };
        let mut condition = format!("attribute_exists(pk) AND #ident = :ident AND {version}");
        if let Some(capacity) = org.seats.capacity() {
            expr.name("#occupied", OCCUPIED_SEATS);
            expr.value(":capacity", n(capacity));
            condition.push_str(" AND #occupied <= :capacity");
        }
        let key = Key::organization(&org.id).item();
        let update = format!("SET {}", sets.join(", "));
        if !events.is_empty() {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(unavailable)?;
            let writes = with_events(
                &self.table,
                vec![TransactWriteItem::builder().update(update).build()],
                events,
            )?;
            return match transact(&self.client, writes).await {
                Ok(()) => Ok(()),
                Err(Err(e)) => Err(e),
                Err(Ok(cancelled)) if cancelled.condition_failed(0) => {
                    let old = cancelled.reasons[0].item().cloned();
                    Err(self.settings_refused(org, expected_version, old).await)
                }
                // An event exists.
                Err(Ok(_)) => Err(StoreError::Conflict),
            };
        }
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let old = failed.item().cloned();
                    Err(self.settings_refused(org, expected_version, old).await)
                }
                _ => Err(sdk_unavailable(e)),
            },
        }
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
}
