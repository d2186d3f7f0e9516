//! [`Housekeeping`]: deleting expired sessions, pending sign-ins, link
//! grants, setup grants, consumed-assertion records and rate-limit counters, and events past
//! their retention (what DynamoDB's TTL does on AWS), so a long-running
//! `admit serve` does not grow without bound. The job's timer sweeps on
//! every run.

use crate::events::sweep_events;
use crate::rate_limits::{Counter, RATE_LIMITS};
use crate::sessions::SESSIONS;
use crate::sign_ins::{ASSERTIONS, LINK_GRANTS, SETUP_GRANTS, SIGN_INS, assertion_until};
use crate::{EmbeddedStore, Table, decode, unavailable};
use admit_domain::{LinkGrant, PendingSignIn, Session, SetupGrant, Timestamp};
use admit_store::{Housekeeping, StoreError, Swept};
use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};

/// Delete the entries of `table` whose value `expires` says expired at `now`
/// (a value that does not decode is kept: never delete what cannot be read).
fn sweep_table(
    tx: &WriteTransaction,
    table: Table,
    now: Timestamp,
    expires: impl Fn(&[u8]) -> Option<i64>,
) -> Result<u64, StoreError> {
    let mut t = tx.open_table(table).map_err(unavailable)?;
    let mut expired = Vec::new();
    for entry in t.iter().map_err(unavailable)? {
        let (k, v) = entry.map_err(unavailable)?;
        if expires(v.value()).is_some_and(|at| at <= now.unix()) {
            expired.push(k.value().to_owned());
        }
    }
    for k in &expired {
        t.remove(k.as_str()).map_err(unavailable)?;
    }
    Ok(expired.len() as u64)
}

#[async_trait]
impl Housekeeping for EmbeddedStore {
    async fn sweep_expired(&self, now: Timestamp) -> Result<Swept, StoreError> {
        let (swept, events_read) = self
            .write(move |tx| {
                let (events, events_read) = sweep_events(tx, now)?;
                let swept = Swept {
                    sessions: sweep_table(tx, SESSIONS, now, |v| {
                        decode::<Session>(v).ok().map(|s| s.expires_at.unix())
                    })?,
                    pending_sign_ins: sweep_table(tx, SIGN_INS, now, |v| {
                        decode::<PendingSignIn>(v).ok().map(|p| p.expires_at.unix())
                    })?,
                    setup_grants: sweep_table(tx, SETUP_GRANTS, now, |v| {
                        decode::<SetupGrant>(v).ok().map(|g| g.expires_at.unix())
                    })?,
                    assertions: sweep_table(tx, ASSERTIONS, now, assertion_until)?,
                    rate_limit_counters: sweep_table(tx, RATE_LIMITS, now, |v| {
                        decode::<Counter>(v).ok().map(|c| c.expires_at.unix())
                    })?,
                    events,
                    link_grants: sweep_table(tx, LINK_GRANTS, now, |v| {
                        decode::<LinkGrant>(v).ok().map(|g| g.expires_at.unix())
                    })?,
                };
                Ok((swept, events_read))
            })
            .await?;
        // Only the events' part is metered: it reads an index, so its cost
        // is what expired (the other kinds are scanned whole).
        self.items_read
            .fetch_add(events_read, std::sync::atomic::Ordering::Relaxed);
        if swept.total() > 0 {
            tracing::info!(
                sessions = swept.sessions,
                pending_sign_ins = swept.pending_sign_ins,
                setup_grants = swept.setup_grants,
                assertions = swept.assertions,
                rate_limit_counters = swept.rate_limit_counters,
                events = swept.events,
                link_grants = swept.link_grants,
                "expired records swept"
            );
        }
        Ok(swept)
    }
}
