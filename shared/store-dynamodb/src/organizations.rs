//! [`Organizations`]: the organization item, the SSO identifier guard, and
//! the seat counter (`occupied_seats`, `ADD`ed to) that the seat-moving
//! writes of other modules put in their transactions.

use crate::error::{Cancelled, sdk_unavailable, transact_or_conflict, unavailable};
use crate::events::with_events;
use crate::items::{GUARD_ORG_ID, decode, encode, guard_target};
use crate::keys::{Item, Key, n, s};
use crate::memberships;
use crate::ops::{Expr, put_new};
use crate::{DynamoStore, error};
use admit_domain::{Event, Membership, OrgId, Organization, SeatPlan, SsoIdentifier};
use admit_store::{Organizations, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

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

impl DynamoStore {
    /// The organization's seat counter taking `wanted` seats, conditional on
    /// the seat plan as read in `org` and on the capacity; `NoSeats` at once
    /// when `wanted` cannot fit even an empty organization.
    pub(crate) fn take_seats(
        &self,
        org: &Organization,
        wanted: u32,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        let mut condition = format!(
            "attribute_exists(pk) AND {}",
            seat_plan_condition(&mut expr, &org.seats)
        );
        if let Some(max) = org.seats.max_occupied_before(wanted) {
            if max < 0 {
                return Err(StoreError::NoSeats);
            }
            expr.value(":max", n(max));
            condition.push_str(" AND #occupied <= :max");
        }
        expr.name("#occupied", "occupied_seats");
        expr.value(":wanted", n(wanted));
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::organization(&org.id).item()))
            .update_expression("ADD #occupied :wanted")
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Why the condition of [`Self::take_seats`] (item 0 of `cancelled`)
    /// failed: `NoSeats` when the plan is as read and the seats are taken,
    /// `Conflict` when the organization is gone or its plan changed.
    pub(crate) async fn seats_refused(
        &self,
        org: &Organization,
        wanted: u32,
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
                    && stored.seats.check(stored.occupied_seats, wanted).is_err() =>
            {
                StoreError::NoSeats
            }
            Ok(_) => StoreError::Conflict,
            Err(e) => e,
        }
    }

    /// The organization's seat counter giving one seat back.
    pub(crate) fn free_seat(&self, org: &OrgId) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        expr.name("#occupied", "occupied_seats");
        expr.value(":one", n(1));
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::organization(org).item()))
            .update_expression("ADD #occupied :minus_one")
            .condition_expression("attribute_exists(pk) AND #occupied >= :one")
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values({
                let mut v = expr.values().unwrap_or_default();
                v.insert(":minus_one".into(), n(-1));
                Some(v)
            })
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
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

    /// One UpdateItem setting every settings attribute; `occupied_seats` and
    /// the keys are left as stored. With events, one TransactWriteItems of
    /// that Update and the events' puts.
    async fn update_organization_settings(
        &self,
        org: &Organization,
        expected_version: u64,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut item = organization_item(org)?;
        for kept in [crate::keys::PK, crate::keys::SK, "occupied_seats"] {
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
        let key = Key::organization(&org.id).item();
        let update = format!("SET {}", sets.join(", "));
        let condition = format!("attribute_exists(pk) AND #ident = :ident AND {version}");
        if !events.is_empty() {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key))
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
            return transact_or_conflict(&self.client, writes).await;
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
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(sdk_unavailable(e)),
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
