//! [`Housekeeping`]: nothing to do. Sessions, pending sign-ins, link grants,
//! setup grants, consumed-assertion records, rate-limit counters and events carry `ttl`,
//! and DynamoDB deletes them itself some time after they expire (reads treat
//! them as expired until then; events past their retention may still be
//! listed until TTL deletes them).

use crate::DynamoStore;
use admit_domain::Timestamp;
use admit_store::{Housekeeping, StoreError, Swept};
use async_trait::async_trait;

#[async_trait]
impl Housekeeping for DynamoStore {
    async fn sweep_expired(&self, _now: Timestamp) -> Result<Swept, StoreError> {
        Ok(Swept::default())
    }
}
