//! [`RateLimits`]: one counter item per key and window (`RATE#{key}`/`RATE`),
//! incremented by `ADD`, deleted by TTL at the window's end.

use crate::DynamoStore;
use crate::error::{sdk_unavailable, unavailable};
use crate::keys::{Key, TTL, n};
use admit_domain::Timestamp;
use admit_store::{RateLimits, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

const ATTEMPTS: &str = "attempts";

#[async_trait]
impl RateLimits for DynamoStore {
    /// One UpdateItem: `ADD attempts 1`, returning the new count.
    async fn count_attempt(&self, key: &str, expires_at: Timestamp) -> Result<u32, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::rate_limit(key).item()))
            .update_expression("ADD #attempts :one SET #ttl = :ttl")
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(expires_at.unix()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        out.attributes
            .as_ref()
            .and_then(|a| a.get(ATTEMPTS))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| unavailable("UpdateItem returned no attempt count"))
    }

    async fn attempts(&self, key: &str) -> Result<u32, StoreError> {
        Ok(self
            .get(&Key::rate_limit(key))
            .await?
            .as_ref()
            .and_then(|item| item.get(ATTEMPTS))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}
