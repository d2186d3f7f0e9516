//! [`Sessions`]: the session item (`SESSION#…`), which DynamoDB deletes
//! some time after it expires (TTL).

use crate::DynamoStore;
use crate::error::sdk_unavailable;
use crate::items::{decode_secret, encode};
use crate::keys::{Item, Key, TTL, n};
use admit_domain::{Event, Session, TokenDigest};
use admit_store::{Sessions, StoreError};
use async_trait::async_trait;

/// A session, which DynamoDB deletes some time after it expires.
pub(crate) fn item(session: &Session) -> Result<Item, StoreError> {
    let mut item = encode(session, &Key::session(&session.digest))?;
    item.insert(TTL.into(), n(session.expires_at.unix()));
    Ok(item)
}

#[async_trait]
impl Sessions for DynamoStore {
    /// One PutItem; with events, one TransactWriteItems of it and their puts.
    async fn put_session(&self, session: &Session, events: &[Event]) -> Result<(), StoreError> {
        self.put_with_events(item(session)?, None, events).await
    }

    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        self.get(&Key::session(digest))
            .await?
            .map(decode_secret)
            .transpose()
    }

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::session(digest).item()))
            .send()
            .await
            .map_err(sdk_unavailable)?;
        Ok(())
    }
}
