//! Mapping SDK errors to [`StoreError`], and the transaction retry loop.

use admit_store::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// A failure of the backend (or of this adapter) that no caller can fix.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An SDK failure, with its whole chain (service error code and message).
pub(crate) fn sdk_unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    let text = DisplayErrorContext(&e).to_string();
    tracing::warn!(error = %text, "DynamoDB request failed");
    StoreError::Unavailable(text)
}

/// How many times a write cancelled by a concurrent transaction is sent.
pub(crate) const TRANSACTION_ATTEMPTS: u32 = 6;

/// Sleep before retry number `attempt` (0-based): "full jitter" exponential backoff.
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 25u64 << attempt.min(6);
    let jitter =
        RandomState::new().hash_one((attempt, std::time::SystemTime::now())) % (cap_ms + 1);
    tokio::time::sleep(Duration::from_millis(jitter)).await;
}

/// Why DynamoDB cancelled a transaction, one code per requested item.
#[derive(Debug)]
pub(crate) struct Cancelled {
    pub reasons: Vec<CancellationReason>,
}

impl Cancelled {
    /// The reason code of the item at `index` (`None` when it had no error).
    pub fn code(&self, index: usize) -> Option<&str> {
        self.reasons
            .get(index)
            .and_then(|r| r.code())
            .filter(|c| *c != "None")
    }

    /// Did any of the item at `index`'s conditions fail?
    pub fn condition_failed(&self, index: usize) -> bool {
        self.code(index) == Some("ConditionalCheckFailed")
    }

    /// Did any condition fail?
    pub fn any_condition_failed(&self) -> bool {
        (0..self.reasons.len()).any(|i| self.condition_failed(i))
    }

    fn codes(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Codes for which the same transaction may succeed when sent again.
fn transient(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
    )
}

/// Send one transaction. Cancellation by a condition comes back as
/// `Err(Ok(Cancelled))` for the caller to interpret; cancellation by a
/// concurrent transaction (or throttling) is retried with jittered backoff and
/// becomes [`StoreError::Conflict`] when it persists. Other failures are
/// `Err(Err(Unavailable))`.
pub(crate) async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<(), Result<Cancelled, StoreError>> {
    for attempt in 0..TRANSACTION_ATTEMPTS {
        let sent = client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let e = match sent {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let cancelled = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => Cancelled {
                reasons: c.cancellation_reasons().to_vec(),
            },
            _ => return Err(Err(sdk_unavailable(e))),
        };
        if cancelled.any_condition_failed() {
            return Err(Ok(cancelled));
        }
        let all_transient = !cancelled.reasons.is_empty()
            && (0..cancelled.reasons.len()).all(|i| cancelled.code(i).is_none_or(transient));
        if !all_transient {
            return Err(Err(unavailable(format!(
                "transaction cancelled: [{}]",
                cancelled.codes()
            ))));
        }
        tracing::debug!(attempt, reasons = %cancelled.codes(), "transaction cancelled by a concurrent write; retrying");
        backoff(attempt).await;
    }
    tracing::info!("transaction kept conflicting with concurrent writes");
    Err(Err(StoreError::Conflict))
}

/// [`transact`] where any failed condition means the state moved on.
pub(crate) async fn transact_or_conflict(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<(), StoreError> {
    match transact(client, items).await {
        Ok(()) => Ok(()),
        Err(Ok(_cancelled)) => Err(StoreError::Conflict),
        Err(Err(e)) => Err(e),
    }
}
