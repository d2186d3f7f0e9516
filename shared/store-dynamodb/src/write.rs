//! Writes: each state change is one conditional PutItem or one
//! TransactWriteItems, so it applies entirely or not at all.

use crate::DynamoStore;
use crate::error::{
    TRANSACTION_ATTEMPTS, backoff, sdk_unavailable, transact, transact_or_conflict, unavailable,
};
use crate::items;
use crate::keys::{Item, Key, n, s};
use admit_domain::{Account, Membership, Organization, SeatPlan, Status};
use admit_store::{Expected, MAX_NEW_MEMBERSHIPS_PER_WRITE, StoreError};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::collections::{HashMap, HashSet};

const NOT_EXISTS: &str = "attribute_not_exists(pk)";

/// Expression attribute names and values of one condition.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, placeholder: &str, attribute: &str) {
        self.names.insert(placeholder.into(), attribute.into());
    }
    fn value(&mut self, placeholder: &str, v: AttributeValue) {
        self.values.insert(placeholder.into(), v);
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        Some(self.names.clone()).filter(|m| !m.is_empty())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        Some(self.values.clone()).filter(|m| !m.is_empty())
    }
}

fn put(
    table: &str,
    item: Item,
    condition: &str,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    put(table, item, NOT_EXISTS, &Expr::default())
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

/// The condition that a stored membership is still as `expected`.
fn membership_condition(expr: &mut Expr, expected: &Expected) -> Result<String, StoreError> {
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
    Ok(format!(
        "attribute_exists(pk) AND #status = :status AND {invitation}"
    ))
}

impl DynamoStore {
    pub(crate) async fn write_organization(
        &self,
        org: &Organization,
        owner: &Membership,
    ) -> Result<(), StoreError> {
        if owner.org_id != org.id {
            return Err(StoreError::Conflict);
        }
        let table = self.table.as_str();
        let writes = vec![
            put_new(table, items::sso_guard(org))?,
            put_new(table, items::organization(org)?)?,
            put_new(table, items::membership(owner)?)?,
        ];
        transact_or_conflict(&self.client, writes).await
    }

    pub(crate) async fn write_new_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
    ) -> Result<(), StoreError> {
        assert!(
            new.len() <= MAX_NEW_MEMBERSHIPS_PER_WRITE,
            "at most {MAX_NEW_MEMBERSHIPS_PER_WRITE} at once"
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
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        for m in new {
            writes.push(put_new(&self.table, items::membership(m)?)?);
        }
        let cancelled = match transact(&self.client, writes).await {
            Ok(()) => return Ok(()),
            Err(Err(e)) => return Err(e),
            Err(Ok(cancelled)) => cancelled,
        };
        if !cancelled.condition_failed(0) {
            // Only a membership's condition failed: it exists.
            return Err(StoreError::Conflict);
        }
        // The organization's condition failed: it is gone, its plan changed, or the seats are taken.
        let stored = match cancelled.reasons[0].item() {
            Some(old) => Some(items::decode::<Organization>(old.clone())?),
            None => self
                .get(&Key::organization(&org.id))
                .await?
                .map(items::decode::<Organization>)
                .transpose()?,
        };
        match stored {
            Some(stored)
                if stored.seats == org.seats
                    && stored.seats.check(stored.occupied_seats, wanted).is_err() =>
            {
                Err(StoreError::NoSeats)
            }
            _ => Err(StoreError::Conflict),
        }
    }

    /// One UpdateItem setting every settings attribute; `occupied_seats` and
    /// the keys are left as stored.
    pub(crate) async fn write_organization_settings(
        &self,
        org: &Organization,
    ) -> Result<(), StoreError> {
        let mut item = items::organization(org)?;
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
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(crate::keys::Key::organization(&org.id).item()))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk) AND #ident = :ident")
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

    pub(crate) async fn replace_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError> {
        // Seats are not moved here: the replacement must occupy one exactly when the stored one does.
        if updated.occupies_seat() != (expected.status != Status::Revoked) {
            return Err(StoreError::Conflict);
        }
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let item = items::membership(updated)?;
        let Some(account) = new_account else {
            return self.put_conditionally(item, &condition, &expr).await;
        };
        let writes = vec![
            put(&self.table, item, &condition, &expr)?,
            put_new(&self.table, items::account(account)?)?,
            put_new(&self.table, items::email_guard(account))?,
        ];
        transact_or_conflict(&self.client, writes).await
    }

    /// One conditional PutItem: a failed condition is `Conflict`; a
    /// concurrent transaction on the item is waited out a few times.
    async fn put_conditionally(
        &self,
        item: Item,
        condition: &str,
        expr: &Expr,
    ) -> Result<(), StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            let written = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .send()
                .await;
            let e = match written {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match e.as_service_error() {
                Some(s) if s.is_conditional_check_failed_exception() => {
                    return Err(StoreError::Conflict);
                }
                Some(s) if s.is_transaction_conflict_exception() => {
                    tracing::debug!(attempt, "write met a concurrent transaction; retrying");
                    backoff(attempt).await;
                }
                _ => return Err(sdk_unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
    }
}
