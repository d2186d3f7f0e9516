//! The `remind` function, woken by EventBridge: resend owed emails, remind
//! invitees, send the admins' digest.
//!
//! Not built yet (issue 5): a run is acknowledged and logged, and does nothing.

use admit_app::App;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub sent: usize,
}

/// One run of the job (the Lambda handler and `admit serve`'s timer call this).
pub async fn run_once(_app: &App) -> RunSummary {
    tracing::info!("reminder job: not implemented yet, nothing done");
    RunSummary::default()
}

/// The Lambda handler: any payload is acknowledged (never retried forever).
pub async fn handle(
    app: &App,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<(), lambda_runtime::Error> {
    match serde_json::from_value::<EventBridgeEvent>(event.payload) {
        Ok(e) => tracing::info!(source = %e.source, "scheduled event"),
        Err(e) => tracing::warn!(error = %e, "unexpected payload acknowledged"),
    }
    let summary = run_once(app).await;
    tracing::info!(sent = summary.sent, "reminder run done");
    Ok(())
}
