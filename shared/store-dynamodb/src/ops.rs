//! The plumbing every capability module writes and reads with: condition
//! expressions, transaction items, single-item reads and writes, batched
//! reads and writes, and paged queries. No capability lives here.

use crate::DynamoStore;
use crate::error::{TRANSACTION_ATTEMPTS, backoff, sdk_unavailable, unavailable};
use crate::keys::{Item, Key};
use crate::schema::{IndexDescription, TABLE};
use admit_store::StoreError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem,
};
use std::collections::HashMap;

pub(crate) const NOT_EXISTS: &str = "attribute_not_exists(pk)";
pub(crate) const EXISTS: &str = "attribute_exists(pk)";

/// A transaction (TransactWriteItems) holds at most this many items.
pub(crate) const TRANSACTION_ITEMS: usize = 100;
/// BatchWriteItem takes at most this many puts.
const BATCH_WRITE_LIMIT: usize = 25;

/// BatchGetItem takes at most this many keys.
pub(crate) const BATCH_GET_LIMIT: usize = 100;
/// How many times unprocessed keys of a batch are asked for again.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// Expression attribute names and values of one condition.
#[derive(Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub(crate) fn name(&mut self, placeholder: &str, attribute: &str) {
        self.names.insert(placeholder.into(), attribute.into());
    }
    pub(crate) fn value(&mut self, placeholder: &str, v: AttributeValue) {
        self.values.insert(placeholder.into(), v);
    }
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        Some(self.names.clone()).filter(|m| !m.is_empty())
    }
    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        Some(self.values.clone()).filter(|m| !m.is_empty())
    }
}

pub(crate) fn put(
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

/// Put `item` whatever is stored at its key.
pub(crate) fn put_any(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    put(table, item, NOT_EXISTS, &Expr::default())
}

/// The item at `key` must exist; nothing is written to it.
pub(crate) fn check_exists(table: &str, key: &Key) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(EXISTS)
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Delete the item at `key`, which must exist.
pub(crate) fn delete_existing(table: &str, key: &Key) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.item()))
        .condition_expression(EXISTS)
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl DynamoStore {
    /// One item, strongly consistent.
    pub(crate) async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        let item = out.item.filter(|i| !i.is_empty());
        self.count_read(usize::from(item.is_some()));
        Ok(item)
    }

    /// BatchGetItem of at most [`BATCH_GET_LIMIT`] keys, asking again for the
    /// keys DynamoDB left unprocessed.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?,
        );
        let mut out = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            let Some(request) = pending.take().filter(|r| !r.keys().is_empty()) else {
                return Ok(out);
            };
            if attempt > 0 {
                backoff(attempt - 1).await;
            }
            let mut response = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(sdk_unavailable)?;
            if let Some(items) = response
                .responses
                .as_mut()
                .and_then(|r| r.remove(&self.table))
            {
                self.count_read(items.len());
                out.extend(items);
            }
            pending = response
                .unprocessed_keys
                .as_mut()
                .and_then(|u| u.remove(&self.table));
        }
        match pending.filter(|r| !r.keys().is_empty()) {
            None => Ok(out),
            Some(_) => Err(unavailable("BatchGetItem kept leaving keys unprocessed")),
        }
    }

    /// One unconditional PutItem.
    pub(crate) async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }

    /// Put `items` with BatchWriteItem, 25 a call, asking again for the
    /// items DynamoDB left unprocessed: no condition, not atomic. For
    /// seeding tests and benchmarks only, never a request path.
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let mut requests = items
                .by_ref()
                .take(BATCH_WRITE_LIMIT)
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item))
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

    /// One conditional PutItem: a failed condition is `Conflict`; a
    /// concurrent transaction on the item is waited out a few times.
    pub(crate) async fn put_conditionally(
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

    /// Every item of one partition whose sort key starts with `prefix`, all
    /// pages: of the table (read consistently) when `index` is `None`, else
    /// of that index (eventually consistent, as every GSI read).
    pub(crate) async fn query_prefix<T: serde::de::DeserializeOwned>(
        &self,
        index: Option<&IndexDescription>,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let (pk_name, sk_name) = match index {
            Some(i) => (i.key.partition_key, i.key.sort_key),
            None => (TABLE.key.partition_key, TABLE.key.sort_key),
        };
        self.query_all(usize::MAX, |start, _| {
            self.client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(|i| i.name.to_owned()))
                .set_consistent_read(index.is_none().then_some(true))
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
                .set_exclusive_start_key(start)
        })
        .await
    }

    /// The values a query returns, page after page, until `limit` or
    /// its last page. `query(start, left)` is the query from `start` (the
    /// last page's end) for at most `left` more.
    pub(crate) async fn query_all<T: serde::de::DeserializeOwned>(
        &self,
        limit: usize,
        query: impl Fn(Option<Item>, usize) -> QueryFluentBuilder,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let page = query(start.take(), limit - out.len())
                .send()
                .await
                .map_err(sdk_unavailable)?;
            self.count_read(usize::try_from(page.scanned_count).unwrap_or_default());
            for item in page.items.unwrap_or_default() {
                out.push(crate::items::decode::<T>(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }
}
