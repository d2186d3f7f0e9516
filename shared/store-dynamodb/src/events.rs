//! [`Events`]: the audit log. An event is an item in its organization's
//! events partition (`EVENTS#{org}`), sorted by its position
//! (`{at:012}#{event id}`, see [`EventPosition`]). The two indexes are
//! overloaded, each under partition keys no other item uses: an event about
//! a member is in `gsi1` under `EVENTS#{org}#MEMBER#{member}`, every event is
//! in `gsi2` under `EVENTS#{org}#TYPE#{type}`, both sorted by the position
//! too. So a listing reads only what it returns (one type among a member's
//! events aside: that one is filtered). `ttl` is the event's `expires_at`:
//! DynamoDB deletes events past their retention.
//!
//! The writes of the other modules append the puts of their events
//! ([`with_events`], [`DynamoStore::put_with_events`]) to the transaction of
//! their change, last, so the indexes their cancellation reasons are read
//! at stay as they were.

use crate::DynamoStore;
use crate::error::{sdk_unavailable, transact_or_conflict, unavailable};
use crate::items::{decode, encode};
use crate::keys::{
    GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, PK, SK, TTL, events_pk, member_events_pk, n, s,
    type_events_pk,
};
use crate::ops::{Expr, NOT_EXISTS, TRANSACTION_ITEMS, put, put_any, put_new};
use crate::schema::{GSI1, GSI2, IndexDescription};
use admit_domain::{Event, EventPosition, EventQuery, EventType, OrgId};
use admit_store::{Events, MAX_PAGE_SIZE, Page, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::HashSet;

/// An event, with its index keys and its expiry.
pub(crate) fn item(e: &Event) -> Result<Item, StoreError> {
    let position = e.position().encode();
    let mut item = encode(e, &Key::event(&e.org_id, &position))?;
    if let Some(member) = &e.member_id {
        item.insert(GSI1PK.into(), s(member_events_pk(&e.org_id, member)));
        item.insert(GSI1SK.into(), s(&position));
    }
    item.insert(GSI2PK.into(), s(type_events_pk(&e.org_id, e.kind)));
    item.insert(GSI2SK.into(), s(position));
    item.insert(TTL.into(), n(e.expires_at.unix()));
    Ok(item)
}

/// The puts of `events`, each new. Two events at one key are a conflict
/// with themselves (a transaction may not touch an item twice).
fn put_events(table: &str, events: &[Event]) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut keys = HashSet::new();
    events
        .iter()
        .map(|e| {
            if !keys.insert((&e.org_id, e.position())) {
                return Err(StoreError::Conflict);
            }
            put_new(table, item(e)?)
        })
        .collect()
}

/// `writes`, then the puts of `events`: one transaction. The events come
/// last, so a cancellation's reasons for the change's own items are at the
/// indexes they had without events.
pub(crate) fn with_events(
    table: &str,
    mut writes: Vec<TransactWriteItem>,
    events: &[Event],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    writes.extend(put_events(table, events)?);
    if writes.len() > TRANSACTION_ITEMS {
        return Err(unavailable(format!(
            "a transaction holds at most {TRANSACTION_ITEMS} items, not {}",
            writes.len()
        )));
    }
    Ok(writes)
}

impl DynamoStore {
    /// Put `item` (on `condition`, if any) with `events`: without events
    /// one PutItem, as before there were events; with them one
    /// TransactWriteItems of the Put and the events' puts. Any failed
    /// condition is `Conflict`, and then nothing is written.
    pub(crate) async fn put_with_events(
        &self,
        item: Item,
        condition: Option<(&str, &Expr)>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return match condition {
                None => self.put_item(item).await,
                Some((condition, expr)) => self.put_conditionally(item, condition, expr).await,
            };
        }
        let put = match condition {
            None => put_any(&self.table, item)?,
            Some((condition, expr)) => put(&self.table, item, condition, expr)?,
        };
        let writes = with_events(&self.table, vec![put], events)?;
        transact_or_conflict(&self.client, writes).await
    }

    /// Write events with BatchWriteItem: no condition, not atomic. For
    /// seeding tests and benchmarks only, never a request path.
    #[doc(hidden)]
    pub async fn seed_events_unconditionally(&self, events: &[Event]) -> Result<(), StoreError> {
        self.batch_put(events.iter().map(item).collect::<Result<_, _>>()?)
            .await
    }

    /// One page of `org`'s events matching `query`, newest first; see
    /// [`Listing`] for which keys are read.
    async fn events_page(
        &self,
        org: &OrgId,
        query: &EventQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, StoreError> {
        let after = cursor
            .map(|c| EventPosition::parse(c).map_err(|_| StoreError::InvalidCursor))
            .transpose()?;
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let listing = Listing::new(org, query);
        let nothing = || {
            Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            })
        };
        if let (Some(lower), Some(upper)) = (&listing.lower, &listing.upper)
            && lower > upper
        {
            // DynamoDB refuses a BETWEEN whose bounds are reversed.
            return nothing();
        }
        // DynamoDB refuses a start key outside the key condition's range:
        // one past the upper bound starts from the top anyway, and one below
        // the lower bound has nothing after it.
        let mut start = match after.map(|p| p.encode()) {
            Some(at) if listing.lower.as_ref().is_some_and(|l| at < *l) => return nothing(),
            Some(at) if listing.upper.as_ref().is_some_and(|u| at > *u) => None,
            Some(at) => Some(listing.start_key(&at)),
            None => None,
        };
        let mut items: Vec<Event> = Vec::new();
        loop {
            // One more than needed tells whether anything follows the page.
            let wanted = limit - items.len() + 1;
            // With a filter, `Limit` counts items read before filtering: read a
            // full page's worth at a time rather than a few items per request.
            let evaluate = if listing.kind.is_some() {
                wanted.max(MAX_PAGE_SIZE)
            } else {
                wanted
            };
            let out = listing
                .query(self)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(evaluate).expect("bounded by MAX_PAGE_SIZE"))
                .send()
                .await
                .map_err(sdk_unavailable)?;
            self.count_read(usize::try_from(out.scanned_count).unwrap_or_default());
            for item in out.items.unwrap_or_default() {
                let e: Event = decode(item)?;
                if items.len() == limit {
                    // A further event exists: the page ends at the last one kept.
                    let next_cursor = items.last().map(|e| e.position().encode());
                    return Ok(Page { items, next_cursor });
                }
                items.push(e);
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
}

/// Where a listing reads: no member and no type, the organization's events
/// partition (consistent); a member, `gsi1` (and a type, a filter on it);
/// a type only, `gsi2`. The time range is a condition on the sort key
/// (the position): `>= floor(start)`, `<= ceiling(end)`.
struct Listing<'a> {
    org: &'a OrgId,
    /// The index read, or the table.
    index: Option<IndexDescription>,
    partition: String,
    /// A type filtered on (not in the key).
    kind: Option<EventType>,
    lower: Option<String>,
    upper: Option<String>,
}

impl<'a> Listing<'a> {
    fn new(org: &'a OrgId, query: &EventQuery) -> Self {
        let (index, partition, kind) = match (&query.member, query.kind) {
            (None, None) => (None, events_pk(org), None),
            (Some(member), kind) => (Some(GSI1), member_events_pk(org, member), kind),
            (None, Some(kind)) => (Some(GSI2), type_events_pk(org, kind), None),
        };
        Listing {
            org,
            index,
            partition,
            kind,
            lower: query.start.map(EventPosition::floor),
            upper: query.end.map(EventPosition::ceiling),
        }
    }

    /// The key attributes read: the index's, or the table's.
    fn key_names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(index) => (index.key.partition_key, index.key.sort_key),
            None => (PK, SK),
        }
    }

    /// The key of the event at `position` as an `ExclusiveStartKey`: the
    /// table's key, and on an index the index's key too.
    fn start_key(&self, position: &str) -> Item {
        let mut key = Key::event(self.org, position).item();
        if self.index.is_some() {
            let (pk, sk) = self.key_names();
            key.insert(pk.into(), s(&self.partition));
            key.insert(sk.into(), s(position));
        }
        key
    }

    /// The Query, newest first, without its start and limit.
    fn query(
        &self,
        store: &DynamoStore,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk, sk) = self.key_names();
        let range = match (&self.lower, &self.upper) {
            (None, None) => "",
            (Some(_), None) => " AND #sk >= :lower",
            (None, Some(_)) => " AND #sk <= :upper",
            (Some(_), Some(_)) => " AND #sk BETWEEN :lower AND :upper",
        };
        let mut query = store
            .client
            .query()
            .table_name(&store.table)
            .scan_index_forward(false)
            .key_condition_expression(format!("#pk = :pk{range}"))
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":pk", s(&self.partition));
        query = match self.index {
            Some(index) => query.index_name(index.name),
            // Global indexes are eventually consistent; the table need not be.
            None => query.consistent_read(true),
        };
        if !range.is_empty() {
            query = query.expression_attribute_names("#sk", sk);
        }
        if let Some(lower) = &self.lower {
            query = query.expression_attribute_values(":lower", s(lower));
        }
        if let Some(upper) = &self.upper {
            query = query.expression_attribute_values(":upper", s(upper));
        }
        if let Some(kind) = self.kind {
            query = query
                .filter_expression("#type = :type")
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":type", s(kind.as_str()));
        }
        query
    }
}

#[async_trait]
impl Events for DynamoStore {
    /// One event: a conditional PutItem; more: one TransactWriteItems.
    async fn record_events(&self, events: &[Event]) -> Result<(), StoreError> {
        assert!(
            events.len() <= TRANSACTION_ITEMS,
            "at most {TRANSACTION_ITEMS} events at once"
        );
        match events {
            [] => Ok(()),
            [event] => {
                self.put_conditionally(item(event)?, NOT_EXISTS, &Expr::default())
                    .await
            }
            _ => {
                let writes = with_events(&self.table, Vec::new(), events)?;
                transact_or_conflict(&self.client, writes).await
            }
        }
    }

    async fn events(
        &self,
        org: &OrgId,
        query: &EventQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, StoreError> {
        self.events_page(org, query, cursor, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::{Actor, Email, EventDetails, EventId, MemberId, Role, Timestamp, UserId};

    fn event(member: Option<MemberId>) -> Event {
        let mut rng = rand::rng();
        let org = OrgId::generate(&mut rng);
        let email = Email::parse("a@b.test").unwrap();
        Event {
            id: EventId::generate(1_800_000_000_000_000, &mut rng),
            org_id: org,
            kind: EventType::MemberRoleChanged,
            at: Timestamp::from_unix(1_800_000_000),
            actor: Actor::user(&UserId::generate(&mut rng), &email),
            member_id: member,
            ip: Some("192.0.2.7".parse().unwrap()),
            details: EventDetails {
                email: Some(email),
                role: Some(Role::Admin),
                old_role: Some(Role::User),
                changed: vec!["role".into()],
                ..EventDetails::default()
            },
            expires_at: Timestamp::from_unix(1_831_536_000),
        }
    }

    #[test]
    fn events_round_trip_under_their_organization_and_position() {
        let e = event(None);
        let item = item(&e).unwrap();
        let position = e.position().encode();
        assert_eq!(item[PK], s(format!("EVENTS#{}", e.org_id)));
        assert_eq!(item[SK], s(&position));
        assert!(!item.contains_key(GSI1PK) && !item.contains_key(GSI1SK));
        assert_eq!(
            item[GSI2PK],
            s(format!("EVENTS#{}#TYPE#member.role_changed", e.org_id))
        );
        assert_eq!(item[GSI2SK], s(&position));
        assert_eq!(item[TTL], n(1_831_536_000));
        assert_eq!(decode::<Event>(item).unwrap(), e);
    }

    #[test]
    fn events_about_a_member_are_in_the_member_index() {
        let org = OrgId::generate(&mut rand::rng());
        let member = MemberId::of(&org, &Email::parse("m@b.test").unwrap());
        let mut e = event(Some(member.clone()));
        e.org_id = org.clone();
        e.ip = None;
        let item = item(&e).unwrap();
        assert_eq!(item[GSI1PK], s(format!("EVENTS#{org}#MEMBER#{member}")));
        assert_eq!(item[GSI1SK], s(e.position().encode()));
        assert_eq!(decode::<Event>(item).unwrap(), e);
    }

    #[test]
    fn an_event_twice_in_one_write_is_a_conflict() {
        let e = event(None);
        assert!(matches!(
            with_events("t", Vec::new(), &[e.clone(), e]),
            Err(StoreError::Conflict)
        ));
    }

    #[test]
    fn a_start_key_on_an_index_names_the_index_and_table_keys() {
        let org = OrgId::generate(&mut rand::rng());
        let member = MemberId::of(&org, &Email::parse("m@b.test").unwrap());
        let query = EventQuery {
            member: Some(member.clone()),
            ..EventQuery::default()
        };
        let key = Listing::new(&org, &query).start_key("001800000000#evt_x");
        assert_eq!(key.len(), 4);
        assert_eq!(key[PK], s(format!("EVENTS#{org}")));
        assert_eq!(key[GSI1SK], s("001800000000#evt_x"));
        let key = Listing::new(&org, &EventQuery::default()).start_key("p");
        assert_eq!(key.len(), 2);
    }
}
