//! Writes: each state change is one conditional PutItem or one
//! TransactWriteItems, so it applies entirely or not at all.

use crate::DynamoStore;
use crate::error::{
    Cancelled, TRANSACTION_ATTEMPTS, backoff, sdk_unavailable, transact, transact_or_conflict,
    unavailable,
};
use crate::items;
use crate::keys::{Item, Key, TTL, n, s};
use admit_domain::{
    Account, AdminDigest, IdentityLink, Membership, OrgId, Organization, PendingSignIn, SeatPlan,
    SetupGrant, Status, Timestamp, TokenDigest,
};
use admit_store::{Expected, MAX_NEW_MEMBERSHIPS_PER_WRITE, SignInWrite, StoreError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use std::collections::{HashMap, HashSet};

const NOT_EXISTS: &str = "attribute_not_exists(pk)";
const EXISTS: &str = "attribute_exists(pk)";

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

/// A new identity link: the identity must not be linked yet.
fn put_new_link(table: &str, link: &IdentityLink) -> Result<TransactWriteItem, StoreError> {
    put_new(table, items::identity_link(link)?)
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
    Ok(format!(
        "attribute_exists(pk) AND #status = :status AND {invitation}{mail}"
    ))
}

/// Seats are not moved by replacing a membership: the replacement must
/// occupy one exactly when the stored one (as `expected`) does.
fn keeps_seat(updated: &Membership, expected: &Expected) -> Result<(), StoreError> {
    if updated.occupies_seat() == (expected.status != Status::Revoked) {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// The condition that a stored membership has no user yet (`None` is NULL).
fn no_user_condition(expr: &mut Expr) -> String {
    expr.name("#user_id", "user_id");
    expr.value(":null_type", s("NULL"));
    "(attribute_not_exists(#user_id) OR attribute_type(#user_id, :null_type))".into()
}

/// The item at `key` must exist; nothing is written to it.
fn check_exists(table: &str, key: &Key) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(EXISTS)
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Delete the item at `key`, which must exist.
fn delete_existing(table: &str, key: &Key) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(EXISTS)
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A new account: the account item and its email guard, neither existing.
fn create_account(table: &str, account: &Account) -> Result<[TransactWriteItem; 2], StoreError> {
    Ok([
        put_new(table, items::account(account)?)?,
        put_new(table, items::email_guard(account))?,
    ])
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
        let mut writes = vec![self.take_seats(org, wanted)?];
        for m in new {
            writes.push(put_new(&self.table, items::membership(m)?)?);
        }
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(Err(e)) => Err(e),
            // Only a membership's condition failed: it exists.
            Err(Ok(cancelled)) if !cancelled.condition_failed(0) => Err(StoreError::Conflict),
            Err(Ok(cancelled)) => Err(self.seats_refused(org, wanted, &cancelled).await),
        }
    }

    /// The organization's seat counter taking `wanted` seats, conditional on
    /// the seat plan as read in `org` and on the capacity; `NoSeats` at once
    /// when `wanted` cannot fit even an empty organization.
    fn take_seats(&self, org: &Organization, wanted: u32) -> Result<TransactWriteItem, StoreError> {
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
    async fn seats_refused(
        &self,
        org: &Organization,
        wanted: u32,
        cancelled: &Cancelled,
    ) -> StoreError {
        let stored = match cancelled.reasons[0].item() {
            Some(old) => items::decode::<Organization>(old.clone()).map(Some),
            None => self
                .get(&Key::organization(&org.id))
                .await
                .and_then(|item| item.map(items::decode::<Organization>).transpose()),
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

    /// Revoke or restore: the membership Put (as `expected`) and the seat
    /// counter moved by one, in one transaction.
    pub(crate) async fn move_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let delta = admit_store::seat_delta(updated, expected).ok_or(StoreError::Conflict)?;
        if updated.org_id != org.id {
            return Err(StoreError::Conflict);
        }
        let seat = if delta > 0 {
            self.take_seats(org, 1)?
        } else {
            self.free_seat(&org.id)?
        };
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let writes = vec![
            seat,
            put(&self.table, items::membership(updated)?, &condition, &expr)?,
        ];
        match transact(&self.client, writes).await {
            Ok(()) => Ok(()),
            Err(Err(e)) => Err(e),
            Err(Ok(cancelled)) if delta > 0 && cancelled.condition_failed(0) => {
                Err(self.seats_refused(org, 1, &cancelled).await)
            }
            Err(Ok(_)) => Err(StoreError::Conflict),
        }
    }

    /// Delete a membership as `expected`, with its seat given back when it held one.
    pub(crate) async fn delete_membership(
        &self,
        m: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Key::membership(&m.org_id, &m.member_id).item()))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(unavailable)?;
        let mut writes = vec![TransactWriteItem::builder().delete(delete).build()];
        if expected.status != Status::Revoked {
            writes.push(self.free_seat(&m.org_id)?);
        }
        transact_or_conflict(&self.client, writes).await
    }

    /// Claim a domain: a Put that succeeds when nobody or the same organization holds it.
    pub(crate) async fn write_claimed_domain(
        &self,
        d: &admit_domain::ClaimedDomain,
    ) -> Result<(), StoreError> {
        let item: Item = {
            let mut item: Item = serde_dynamo::to_item(d).map_err(unavailable)?;
            item.extend(Key::claimed_domain(&d.domain).item());
            item
        };
        let mut expr = Expr::default();
        expr.name("#org_id", "org_id");
        expr.value(":org_id", s(d.org_id.as_str()));
        self.put_conditionally(item, "attribute_not_exists(pk) OR #org_id = :org_id", &expr)
            .await
    }

    /// The organization's seat counter giving one seat back.
    fn free_seat(&self, org: &OrgId) -> Result<TransactWriteItem, StoreError> {
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

    pub(crate) async fn replace_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError> {
        keeps_seat(updated, expected)?;
        let mut expr = Expr::default();
        let condition = membership_condition(&mut expr, expected)?;
        let item = items::membership(updated)?;
        let Some(account) = new_account else {
            return self.put_conditionally(item, &condition, &expr).await;
        };
        let mut writes = vec![put(&self.table, item, &condition, &expr)?];
        writes.extend(create_account(&self.table, account)?);
        transact_or_conflict(&self.client, writes).await
    }

    /// Write memberships with BatchWriteItem: no condition, no seat counted.
    /// For seeding tests and benchmarks only, never a request path.
    #[doc(hidden)]
    pub async fn put_memberships_unconditionally(
        &self,
        memberships: &[Membership],
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in memberships.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|m| {
                    let put = PutRequest::builder()
                        .set_item(Some(items::membership(m)?))
                        .build()
                        .map_err(unavailable)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for attempt in 0..TRANSACTION_ATTEMPTS {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    backoff(attempt - 1).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut requests))
                    .send()
                    .await
                    .map_err(sdk_unavailable)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(unavailable("BatchWriteItem kept leaving items unprocessed"));
            }
        }
        Ok(())
    }

    // --- single sign-on ---------------------------------------------------

    /// One unconditional PutItem.
    async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }

    pub(crate) async fn write_pending_sign_in(
        &self,
        pending: &PendingSignIn,
    ) -> Result<(), StoreError> {
        self.put_item(items::pending_sign_in(pending)?).await
    }

    /// One conditional PutItem: refused while a record of the same assertion
    /// lives (its `ttl` is after `now`); DynamoDB deletes it after `until`.
    pub(crate) async fn write_consumed_assertion(
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

    /// One conditional DeleteItem returning the old item: of concurrent
    /// callers only one deletes it, the others' condition fails (`None`).
    pub(crate) async fn delete_pending_sign_in(
        &self,
        state: &TokenDigest,
    ) -> Result<Option<PendingSignIn>, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::pending_sign_in(state).item()))
            .condition_expression(EXISTS)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match deleted {
            Ok(out) => out
                .attributes
                .filter(|old| !old.is_empty())
                .map(items::decode_secret)
                .transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_unavailable(e)),
        }
    }

    pub(crate) async fn write_setup_grant(&self, grant: &SetupGrant) -> Result<(), StoreError> {
        self.put_item(items::setup_grant(grant)?).await
    }

    pub(crate) async fn write_sign_in(&self, write: &SignInWrite) -> Result<(), StoreError> {
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
                    items::membership(membership)?,
                    &condition,
                    &expr,
                )?];
                writes.extend(create_account(table, account)?);
                writes.push(put_new_link(table, link)?);
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
                    self.take_seats(org, 1)?,
                    put_new(table, items::membership(membership)?)?,
                ];
                writes.extend(create_account(table, account)?);
                writes.push(put_new_link(table, link)?);
                match transact(&self.client, writes).await {
                    Ok(()) => Ok(()),
                    Err(Err(e)) => Err(e),
                    // The membership, the account, its email or the link exists.
                    Err(Ok(cancelled)) if !cancelled.condition_failed(0) => {
                        Err(StoreError::Conflict)
                    }
                    Err(Ok(cancelled)) => Err(self.seats_refused(org, 1, &cancelled).await),
                }
            }
        }
    }

    /// Consume the grant, replace the membership (still as `expected`) and
    /// the account (existing, with the same email), in one transaction.
    pub(crate) async fn write_setup(
        &self,
        grant: &TokenDigest,
        membership: &Membership,
        expected: &Expected,
        account: &Account,
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
        let writes = vec![
            delete_existing(table, &Key::setup_grant(grant))?,
            put(
                table,
                items::membership(membership)?,
                &member_condition,
                &member_expr,
            )?,
            put(
                table,
                items::account(account)?,
                "attribute_exists(pk) AND #email = :email",
                &account_expr,
            )?,
        ];
        transact_or_conflict(&self.client, writes).await
    }

    /// One conditional PutItem: the record's version must still be
    /// `expected_version` (0: no record).
    pub(crate) async fn write_admin_digest(
        &self,
        digest: &AdminDigest,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let condition = if expected_version == 0 {
            NOT_EXISTS.to_owned()
        } else {
            expr.name("#version", "version");
            expr.value(":version", n(expected_version));
            "#version = :version".to_owned()
        };
        self.put_conditionally(items::admin_digest(digest)?, &condition, &expr)
            .await
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
