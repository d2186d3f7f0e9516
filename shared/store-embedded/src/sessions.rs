//! [`Sessions`]: sessions by the digest of their token.

use crate::events::put_events;
use crate::{EmbeddedStore, Get, Table, put_json, remove};
use admit_domain::{Event, Session, TokenDigest};
use admit_store::{Sessions, StoreError};
use async_trait::async_trait;
use redb::TableDefinition;

/// Token digest (hex) → session.
pub(crate) const SESSIONS: Table = TableDefinition::new("sessions");

#[async_trait]
impl Sessions for EmbeddedStore {
    async fn put_session(&self, session: &Session, events: &[Event]) -> Result<(), StoreError> {
        let (s, events) = (session.clone(), events.to_vec());
        self.write(move |tx| {
            put_json(tx, SESSIONS, &s.digest.to_hex(), &s)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        let key = digest.to_hex();
        self.read(move |tx| tx.get_json(SESSIONS, &key)).await
    }

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError> {
        let key = digest.to_hex();
        self.write(move |tx| remove(tx, SESSIONS, &key).map(drop))
            .await
    }
}
