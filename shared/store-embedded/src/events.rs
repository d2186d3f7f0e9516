//! [`Events`]: the audit log, each organization's events by time, with the
//! indexes by member, by type and by expiry. Every write method of the other
//! modules calls [`put_events`] inside its own write transaction, so an
//! event is committed exactly when the change it records is.
//!
//! Every key ends with the event's position (`EventPosition::encode`, unix
//! seconds then the event id), so string order is time order and a listing
//! is one range read backwards, bounded by the query's times and the cursor.

use crate::{Counted, EmbeddedStore, Get, Table, decode, put, put_json, unavailable};
use admit_domain::{Event, EventPosition, EventQuery, EventType, MemberId, OrgId, Timestamp};
use admit_store::{Events, Page, StoreError};
use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

/// `{org}/{position}` → event.
pub(crate) const EVENTS: Table = TableDefinition::new("events");
/// `{org}/{member}/{position}` → empty: the events concerning a member.
pub(crate) const EVENTS_BY_MEMBER: Table = TableDefinition::new("events_by_member");
/// `{org}/{type}/{position}` → empty: the events of a type.
pub(crate) const EVENTS_BY_TYPE: Table = TableDefinition::new("events_by_type");
/// `{expires_at unix, 12 digits}/{org}/{position}` → empty: the events in the
/// order they expire, for the sweep.
pub(crate) const EVENTS_BY_EXPIRY: Table = TableDefinition::new("events_by_expiry");

fn event_key(org: &OrgId, position: &str) -> String {
    format!("{org}/{position}")
}

fn member_prefix(org: &OrgId, member: &MemberId) -> String {
    format!("{org}/{member}/")
}

fn type_prefix(org: &OrgId, kind: EventType) -> String {
    format!("{org}/{kind}/")
}

fn expiry_key(expires_at: Timestamp, org: &OrgId, position: &str) -> String {
    format!("{:012}/{org}/{position}", expires_at.unix().max(0))
}

/// The keys of `event`: its own, then its index entries.
struct Keys {
    event: String,
    member: Option<String>,
    kind: String,
    expiry: String,
}

impl Keys {
    fn of(event: &Event) -> Self {
        let position = event.position().encode();
        let org = &event.org_id;
        Keys {
            event: event_key(org, &position),
            member: event
                .member_id
                .as_ref()
                .map(|m| format!("{}{position}", member_prefix(org, m))),
            kind: format!("{}{position}", type_prefix(org, event.kind)),
            expiry: expiry_key(event.expires_at, org, &position),
        }
    }
}

/// Write `events` with their index entries in the caller's transaction;
/// `Conflict` when one of them exists already (the caller's transaction is
/// then rolled back, its change with it).
pub(crate) fn put_events(tx: &WriteTransaction, events: &[Event]) -> Result<(), StoreError> {
    for event in events {
        let keys = Keys::of(event);
        if tx.get_str(EVENTS, &keys.event)?.is_some() {
            return Err(StoreError::Conflict);
        }
        put_json(tx, EVENTS, &keys.event, event)?;
        if let Some(k) = &keys.member {
            put(tx, EVENTS_BY_MEMBER, k, b"")?;
        }
        put(tx, EVENTS_BY_TYPE, &keys.kind, b"")?;
        put(tx, EVENTS_BY_EXPIRY, &keys.expiry, b"")?;
    }
    Ok(())
}

/// Delete the events that expired at `now` (`expires_at <= now`) with their
/// index entries, reading only the expiry index up to `now`. Returns how
/// many were deleted and how many entries were read. An event that does not
/// decode is kept (never delete what cannot be read).
pub(crate) fn sweep_events(
    tx: &WriteTransaction,
    now: Timestamp,
) -> Result<(u64, u64), StoreError> {
    // Every key of a time up to `now` sorts before "{now + 1}/".
    let end = format!("{:012}/", now.unix().max(0) + 1);
    let expired: Vec<String> = {
        let t = tx.open_table(EVENTS_BY_EXPIRY).map_err(unavailable)?;
        let mut keys = Vec::new();
        for entry in t.range(..end.as_str()).map_err(unavailable)? {
            let (k, _) = entry.map_err(unavailable)?;
            keys.push(k.value().to_owned());
        }
        keys
    };
    let mut read = expired.len() as u64;
    let mut deleted = 0;
    let mut events = tx.open_table(EVENTS).map_err(unavailable)?;
    let mut by_member = tx.open_table(EVENTS_BY_MEMBER).map_err(unavailable)?;
    let mut by_type = tx.open_table(EVENTS_BY_TYPE).map_err(unavailable)?;
    let mut by_expiry = tx.open_table(EVENTS_BY_EXPIRY).map_err(unavailable)?;
    for expiry in &expired {
        let Some((_, event_key)) = expiry.split_once('/') else {
            continue;
        };
        let event = match events.get(event_key).map_err(unavailable)? {
            Some(v) => {
                read += 1;
                match decode::<Event>(v.value()) {
                    Ok(e) => Some(e),
                    Err(_) => continue,
                }
            }
            None => None,
        };
        if let Some(event) = event {
            let keys = Keys::of(&event);
            events.remove(keys.event.as_str()).map_err(unavailable)?;
            if let Some(k) = &keys.member {
                by_member.remove(k.as_str()).map_err(unavailable)?;
            }
            by_type.remove(keys.kind.as_str()).map_err(unavailable)?;
            if keys.expiry != *expiry {
                by_expiry
                    .remove(keys.expiry.as_str())
                    .map_err(unavailable)?;
            }
            deleted += 1;
        }
        // The entry goes either way: its event is deleted, or was not there.
        by_expiry.remove(expiry.as_str()).map_err(unavailable)?;
    }
    Ok((deleted, read))
}

/// A read's result and how many entries it read (index entries and events).
struct Metered<T> {
    value: T,
    read: u64,
}

impl<T> Counted for Metered<T> {
    fn count(&self) -> u64 {
        self.read
    }
}

/// One page of `org`'s events matching `query`, newest first, before
/// `cursor` (exclusive).
fn page(
    tx: &ReadTransaction,
    org: &OrgId,
    query: &EventQuery,
    cursor: Option<&EventPosition>,
    limit: usize,
) -> Result<Metered<Page<Event>>, StoreError> {
    // The table read and the prefix of its keys before the position: the
    // events themselves, or the index that holds only what matches.
    let (table, prefix, indexed) = match (&query.member, query.kind) {
        (Some(m), _) => (EVENTS_BY_MEMBER, member_prefix(org, m), true),
        (None, Some(k)) => (EVENTS_BY_TYPE, type_prefix(org, k), true),
        (None, None) => (EVENTS, format!("{org}/"), false),
    };
    let lower = match query.start {
        Some(s) => format!("{prefix}{}", EventPosition::floor(s)),
        None => prefix.clone(),
    };
    let mut upper = match query.end {
        Some(e) => format!("{prefix}{}", EventPosition::ceiling(e)),
        // '0' sorts right after the prefix's final '/'.
        None => format!("{}0", &prefix[..prefix.len() - 1]),
    };
    if let Some(c) = cursor {
        upper = upper.min(format!("{prefix}{}", c.encode()));
    }
    let mut out = Metered {
        value: Page {
            items: Vec::new(),
            next_cursor: None,
        },
        read: 0,
    };
    if lower >= upper {
        return Ok(out);
    }
    // An entry in range matches the query, unless it filters on both a
    // member and a type: the member index is read, the type checked.
    let every_entry_matches = !(query.member.is_some() && query.kind.is_some());
    let t = tx.open_table(table).map_err(unavailable)?;
    let events = tx.open_table(EVENTS).map_err(unavailable)?;
    for entry in t
        .range(lower.as_str()..upper.as_str())
        .map_err(unavailable)?
        .rev()
    {
        let (k, v) = entry.map_err(unavailable)?;
        out.read += 1;
        let full = out.value.items.len() == limit;
        if full && every_entry_matches {
            // One more after a full page: there is a next page.
            out.value.next_cursor = out.value.items.last().map(|e| e.position().encode());
            return Ok(out);
        }
        let event: Event = if indexed {
            let position = &k.value()[prefix.len()..];
            let Some(v) = events
                .get(event_key(org, position).as_str())
                .map_err(unavailable)?
            else {
                continue;
            };
            out.read += 1;
            decode(v.value())?
        } else {
            decode(v.value())?
        };
        if !query.matches(&event) {
            continue;
        }
        if full {
            out.value.next_cursor = out.value.items.last().map(|e| e.position().encode());
            return Ok(out);
        }
        out.value.items.push(event);
    }
    Ok(out)
}

#[async_trait]
impl Events for EmbeddedStore {
    async fn record_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |tx| put_events(tx, &events)).await
    }

    async fn events(
        &self,
        org: &OrgId,
        query: &EventQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, StoreError> {
        let cursor = cursor
            .map(|c| EventPosition::parse(c).map_err(|_| StoreError::InvalidCursor))
            .transpose()?;
        let (org, query) = (org.clone(), query.clone());
        let limit = limit.clamp(1, admit_store::MAX_PAGE_SIZE);
        let page = self
            .read(move |tx| page(tx, &org, &query, cursor.as_ref(), limit))
            .await?;
        Ok(page.value)
    }
}

#[cfg(test)]
mod tests {
    //! What only the embedded store can show: its index entries go with the
    //! event, and a listing or a sweep reads what it returns or deletes.

    use super::*;
    use admit_domain::{Actor, Email, EventId};
    use admit_store::Housekeeping;
    use redb::ReadableTableMetadata;

    fn store() -> EmbeddedStore {
        let dir = tempfile::tempdir().unwrap().keep();
        EmbeddedStore::open(&dir.join("admit.redb")).unwrap()
    }

    fn event(org: &OrgId, at: i64, member: Option<&MemberId>, kind: EventType) -> Event {
        let micros = u64::try_from(at).unwrap() * 1_000_000;
        Event {
            id: EventId::generate(micros, &mut rand::rng()),
            org_id: org.clone(),
            kind,
            at: Timestamp::from_unix(at),
            actor: Actor::System,
            member_id: member.cloned(),
            ip: None,
            details: Default::default(),
            expires_at: Timestamp::from_unix(at + 100),
        }
    }

    fn entries(store: &EmbeddedStore, table: Table) -> usize {
        let tx = store.db.begin_read().unwrap();
        tx.open_table(table).unwrap().len().unwrap() as usize
    }

    async fn all(
        store: &EmbeddedStore,
        org: &OrgId,
        query: &EventQuery,
        limit: usize,
    ) -> Vec<Event> {
        let (mut out, mut cursor) = (Vec::new(), None);
        loop {
            let page = store
                .events(org, query, cursor.as_deref(), limit)
                .await
                .unwrap();
            assert!(page.items.len() <= limit.max(1));
            if page.next_cursor.is_some() {
                assert_eq!(
                    page.items.len(),
                    limit.max(1),
                    "only the last page is short"
                );
            }
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
    }

    #[tokio::test]
    async fn listings_page_newest_first_through_each_index() {
        let store = store();
        let mut rng = rand::rng();
        let (org, other) = (OrgId::generate(&mut rng), OrgId::generate(&mut rng));
        let a = MemberId::of(&org, &Email::parse("a@x.test").unwrap());
        let b = MemberId::of(&org, &Email::parse("b@x.test").unwrap());
        let kinds = [EventType::MemberInvited, EventType::MemberRevoked];
        let mut events = Vec::new();
        for i in 0..40 {
            // Several events a second, so positions tie on time.
            let member = [Some(&a), Some(&b), None][i % 3];
            events.push(event(&org, 1_000 + (i / 3) as i64, member, kinds[i % 2]));
        }
        store.record_events(&events).await.unwrap();
        store
            .record_events(&[event(&other, 1_005, Some(&a), kinds[0])])
            .await
            .unwrap();
        let mut newest_first = events.clone();
        newest_first.sort_by_key(|e| std::cmp::Reverse(e.position()));

        let queries = [
            EventQuery::default(),
            EventQuery {
                member: Some(a.clone()),
                ..Default::default()
            },
            EventQuery {
                kind: Some(kinds[1]),
                ..Default::default()
            },
            EventQuery {
                member: Some(b.clone()),
                kind: Some(kinds[0]),
                ..Default::default()
            },
            EventQuery {
                start: Some(Timestamp::from_unix(1_003)),
                end: Some(Timestamp::from_unix(1_007)),
                ..Default::default()
            },
            EventQuery {
                start: Some(Timestamp::from_unix(1_002)),
                end: Some(Timestamp::from_unix(1_010)),
                member: Some(a.clone()),
                kind: Some(kinds[1]),
            },
        ];
        for query in &queries {
            let expected: Vec<Event> = newest_first
                .iter()
                .filter(|e| query.matches(e))
                .cloned()
                .collect();
            assert!(!expected.is_empty(), "{query:?}");
            for limit in [0, 1, 3, 7, 100, 1_000] {
                assert_eq!(
                    all(&store, &org, query, limit).await,
                    expected,
                    "{query:?} {limit}"
                );
            }
        }
        assert!(matches!(
            store
                .events(&org, &EventQuery::default(), Some("nope"), 10)
                .await,
            Err(StoreError::InvalidCursor)
        ));
        // The same event twice is refused, and nothing of the write is kept.
        let fresh = event(&org, 2_000, None, kinds[0]);
        assert!(matches!(
            store
                .record_events(&[fresh.clone(), events[0].clone()])
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(entries(&store, EVENTS), 41);
    }

    #[tokio::test]
    async fn a_page_reads_on_the_order_of_the_page() {
        let store = store();
        let org = OrgId::generate(&mut rand::rng());
        let member = MemberId::of(&org, &Email::parse("a@x.test").unwrap());
        let events: Vec<Event> = (0..2_000)
            .map(|i| event(&org, 1_000 + i, Some(&member), EventType::MemberInvited))
            .collect();
        store.record_events(&events).await.unwrap();
        let queries = [
            EventQuery {
                start: Some(Timestamp::from_unix(1_100)),
                end: Some(Timestamp::from_unix(1_900)),
                ..Default::default()
            },
            EventQuery {
                member: Some(member.clone()),
                ..Default::default()
            },
            EventQuery {
                kind: Some(EventType::MemberInvited),
                ..Default::default()
            },
        ];
        for query in &queries {
            let before = store.items_read();
            let page = store.events(&org, query, None, 10).await.unwrap();
            assert_eq!(page.items.len(), 10);
            assert!(store.items_read() - before <= 2 * 11, "{query:?}");
        }
    }

    #[tokio::test]
    async fn a_sweep_deletes_expired_events_with_their_index_entries_reading_only_those() {
        let store = store();
        let org = OrgId::generate(&mut rand::rng());
        let member = MemberId::of(&org, &Email::parse("a@x.test").unwrap());
        let events: Vec<Event> = (0..1_000)
            .map(|i| event(&org, 1_000 + i, Some(&member), EventType::MemberInvited))
            .collect();
        store.record_events(&events).await.unwrap();
        // Expiring at 1_100 + i: those of i <= 9 expired at 1_109.
        let before = store.items_read();
        let swept = store
            .sweep_expired(Timestamp::from_unix(1_109))
            .await
            .unwrap();
        assert_eq!(swept.events, 10);
        assert!(store.items_read() - before <= 20);
        for table in [EVENTS, EVENTS_BY_MEMBER, EVENTS_BY_TYPE, EVENTS_BY_EXPIRY] {
            assert_eq!(entries(&store, table), 990);
        }
        let left = all(&store, &org, &EventQuery::default(), 100).await;
        assert_eq!(left.len(), 990);
        assert!(left.iter().all(|e| e.expires_at.unix() > 1_109));
    }
}
