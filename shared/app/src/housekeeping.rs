//! Removing expired records: part of every run of the scheduled job.

use crate::{App, Result};
use admit_store::Swept;

impl App {
    /// Delete the sessions, pending sign-ins, setup grants,
    /// consumed-assertion records, rate-limit counters and events (past
    /// their retention) that have expired by now. The embedded
    /// store deletes them here; DynamoDB's TTL does it on its own, so there
    /// this costs nothing. The scheduled job calls it on every run.
    pub async fn sweep_expired(&self) -> Result<Swept> {
        Ok(self.store().sweep_expired(self.now()).await?)
    }
}
