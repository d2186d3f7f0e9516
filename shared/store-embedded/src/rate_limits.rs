//! [`RateLimits`]: attempt counters, one row per key and window.

use crate::{EmbeddedStore, Get, Table, put_json};
use admit_domain::Timestamp;
use admit_store::{RateLimits, StoreError};
use async_trait::async_trait;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Counter key → [`Counter`].
pub(crate) const RATE_LIMITS: Table = TableDefinition::new("rate_limits");

#[derive(Serialize, Deserialize)]
pub(crate) struct Counter {
    pub attempts: u32,
    /// The end of the counter's window; swept after it.
    pub expires_at: Timestamp,
}

#[async_trait]
impl RateLimits for EmbeddedStore {
    async fn count_attempt(&self, key: &str, expires_at: Timestamp) -> Result<u32, StoreError> {
        let key = key.to_owned();
        self.write(move |tx| {
            let stored: Option<Counter> = tx.get_json(RATE_LIMITS, &key)?;
            let attempts = stored.map_or(0, |c| c.attempts).saturating_add(1);
            put_json(
                tx,
                RATE_LIMITS,
                &key,
                &Counter {
                    attempts,
                    expires_at,
                },
            )?;
            Ok(attempts)
        })
        .await
    }

    async fn attempts(&self, key: &str) -> Result<u32, StoreError> {
        let key = key.to_owned();
        let counter: Option<Counter> = self.read(move |tx| tx.get_json(RATE_LIMITS, &key)).await?;
        Ok(counter.map_or(0, |c| c.attempts))
    }
}
