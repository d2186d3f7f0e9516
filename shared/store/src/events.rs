//! The audit log: each organization's events, newest first.

use crate::{Page, StoreError};
use admit_domain::{Event, EventQuery, OrgId};
use async_trait::async_trait;

/// Events are written by the writes whose changes they record: every
/// state-changing method of the other capabilities takes `events` and
/// writes them in the same atomic write as its change, or neither. This
/// capability writes the events that record no other change (a refused
/// sign-in, a failed login) and reads the log.
#[async_trait]
pub trait Events: Send + Sync {
    /// Write `events` (all of one organization or not) in one atomic write.
    /// `Conflict` when one of them exists already.
    async fn record_events(&self, events: &[Event]) -> Result<(), StoreError>;

    /// One page of `org`'s events matching `query`, newest first (by time,
    /// then id), at most `limit` (clamped to 1..=[`crate::MAX_PAGE_SIZE`]).
    /// The page is full unless it is the last. Read from keys ordered by
    /// time, per organization, per member and per type, so the cost grows
    /// with the page, not with the organization's history. `cursor` is the
    /// `next_cursor` of the page before (`InvalidCursor` otherwise).
    async fn events(
        &self,
        org: &OrgId,
        query: &EventQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, StoreError>;
}
