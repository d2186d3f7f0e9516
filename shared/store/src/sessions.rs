//! Sessions of signed-in accounts, by the digest of their token.

use crate::StoreError;
use admit_domain::{Event, Session, TokenDigest};
use async_trait::async_trait;

#[async_trait]
pub trait Sessions: Send + Sync {
    /// Store a session (with the events of the sign-in that opened it).
    async fn put_session(&self, session: &Session, events: &[Event]) -> Result<(), StoreError>;

    /// The session with this digest, if any (expired ones included until
    /// [`crate::Housekeeping`] or TTL removes them: the caller decides).
    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError>;

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError>;
}
