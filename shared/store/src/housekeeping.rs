//! Removing what has expired, so nothing grows without bound.

use crate::StoreError;
use admit_domain::Timestamp;
use async_trait::async_trait;

/// How many expired records one sweep removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub pending_sign_ins: u64,
    pub setup_grants: u64,
    pub assertions: u64,
    pub rate_limit_counters: u64,
    pub events: u64,
    pub link_grants: u64,
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.sessions
            + self.pending_sign_ins
            + self.setup_grants
            + self.assertions
            + self.rate_limit_counters
            + self.events
            + self.link_grants
    }
}

/// Expired sessions, pending sign-ins, link grants, setup grants, consumed-assertion
/// records and rate-limit counters are never read as live (each read checks its expiry), but they
/// take space until removed; events past their retention (`expires_at`) are
/// removed the same way. DynamoDB removes them itself (TTL on `ttl`),
/// so its sweep does nothing; the embedded store deletes them when swept.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Delete every record of those kinds that expired before `now`.
    async fn sweep_expired(&self, now: Timestamp) -> Result<Swept, StoreError>;
}
