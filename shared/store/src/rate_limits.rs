//! Rate-limit counters: attempts per key and time window, shared by every
//! instance of every function (the state is in the store, not in memory).

use crate::StoreError;
use admit_domain::Timestamp;
use async_trait::async_trait;

/// Fixed-window counters. A key names one subject (a client address, an
/// account's email) in one window; it lives until `expires_at`, the end of
/// its window, after which TTL (DynamoDB) or [`crate::Housekeeping`]
/// (embedded) removes it.
#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Count one attempt against `key` and return the attempts counted in
    /// it so far, this one included: one atomic increment, so concurrent
    /// attempts are each counted once.
    async fn count_attempt(&self, key: &str, expires_at: Timestamp) -> Result<u32, StoreError>;

    /// The attempts counted against `key` so far (0 when none), without
    /// counting one.
    async fn attempts(&self, key: &str) -> Result<u32, StoreError>;
}
