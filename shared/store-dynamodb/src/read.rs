//! Reads: strongly consistent GetItem / BatchGetItem / Query on the table,
//! and the (eventually consistent) user index. Never a Scan.

use crate::DynamoStore;
use crate::error::{backoff, sdk_unavailable, unavailable};
use crate::items::decode;
use crate::keys::{DUE_PK, Item, Key, MEMBER_PREFIX, PK, SK, org_pk, s, user_pk};
use crate::schema::{GSI1, GSI2};
use admit_domain::{Email, MemberId, Membership, OrgId, Status, Timestamp, UserId};
use admit_store::{MAX_PAGE_SIZE, Page, StoreError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::{HashMap, HashSet};

/// BatchGetItem takes at most this many keys.
const BATCH_GET_LIMIT: usize = 100;
/// How many times unprocessed keys of a batch are asked for again.
const BATCH_GET_ATTEMPTS: u32 = 8;

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

    /// The memberships among `members` that exist, in the order asked
    /// (a repeated id repeats its membership, as the embedded store does).
    pub(crate) async fn batch_memberships(
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

    /// The email guards (`EMAIL#…`) among `emails` that exist: whose
    /// emails an account has. BatchGetItem, 100 keys a round trip.
    pub(crate) async fn batch_emails_with_accounts(
        &self,
        emails: &[Email],
    ) -> Result<HashSet<Email>, StoreError> {
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

    /// BatchGetItem of at most [`BATCH_GET_LIMIT`] keys, asking again for the
    /// keys DynamoDB left unprocessed.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
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

    /// One page of an organization's memberships in member-id order. The
    /// cursor is the member id of the last membership returned; listing
    /// resumes strictly after it.
    pub(crate) async fn list_page(
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

    /// Memberships whose owed email is due at `now`, earliest first: Query
    /// of the sparse due index (`gsi2pk = DUE`, `gsi2sk` = due time, then the key).
    pub(crate) async fn due_page(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Membership>, StoreError> {
        // Every sort key of a time up to `now` sorts before "{now + 1}#".
        let until = s(format!("{:012}#", now.unix().max(0) + 1));
        self.query_memberships(limit, |start, left| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(GSI2.name)
                .key_condition_expression("#pk = :pk AND #sk < :until")
                .expression_attribute_names("#pk", GSI2.key.partition_key)
                .expression_attribute_names("#sk", GSI2.key.sort_key)
                .expression_attribute_values(":pk", s(DUE_PK))
                .expression_attribute_values(":until", until.clone())
                .set_exclusive_start_key(start)
                .limit(i32::try_from(left).unwrap_or(i32::MAX))
        })
        .await
    }

    /// Every membership held by `user`, through the sparse user index.
    pub(crate) async fn user_memberships(
        &self,
        user: &UserId,
    ) -> Result<Vec<Membership>, StoreError> {
        self.query_memberships(usize::MAX, |start, _| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(GSI1.name)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI1.key.partition_key)
                .expression_attribute_values(":pk", s(user_pk(user)))
                .set_exclusive_start_key(start)
        })
        .await
    }

    /// The memberships a query returns, page after page, until `limit` or
    /// its last page. `query(start, left)` is the query from `start` (the
    /// last page's end) for at most `left` more.
    async fn query_memberships(
        &self,
        limit: usize,
        query: impl Fn(Option<Item>, usize) -> QueryFluentBuilder,
    ) -> Result<Vec<Membership>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let page = query(start.take(), limit - out.len())
                .send()
                .await
                .map_err(sdk_unavailable)?;
            self.count_read(usize::try_from(page.scanned_count).unwrap_or_default());
            for item in page.items.unwrap_or_default() {
                out.push(decode::<Membership>(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }
}
