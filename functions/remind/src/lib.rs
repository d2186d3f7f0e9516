//! The `remind` function, woken by EventBridge (and by `admit serve`'s
//! timer): send every owed email that is due — retries of failed
//! invitations and the reminders of the organizations' schedules — before
//! the deadline, leaving the rest for the next run.

use admit_app::{App, RunSummary};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One run of the job. A store error ends the run early (the next run
/// starts over: nothing is half done, each send being claimed first).
pub async fn run_once(app: &App, deadline: Option<Instant>) -> RunSummary {
    match app.run_owed_mail(deadline).await {
        Ok(summary) => summary,
        Err(e) => {
            tracing::error!(error = %e, "owed mail run stopped");
            RunSummary::default()
        }
    }
}

/// The instant of a Lambda deadline (milliseconds since the Unix epoch).
fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = u128::from(deadline_ms).checked_sub(now_ms)?;
    Some(Instant::now() + Duration::from_millis(u64::try_from(left).ok()?))
}

/// The Lambda handler. A Scheduled Event runs the job until shortly before
/// the invocation's deadline; any other payload is logged and acknowledged,
/// never failed (a failure would be retried, forever, for the same bad payload).
pub async fn handle(
    app: &App,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<(), lambda_runtime::Error> {
    match serde_json::from_value::<EventBridgeEvent>(event.payload) {
        Ok(e) if e.detail_type == "Scheduled Event" => {
            tracing::info!(source = %e.source, "scheduled event");
            let deadline = deadline_of(event.context.deadline).unwrap_or_else(Instant::now);
            run_once(app, Some(deadline)).await;
        }
        Ok(e) => {
            tracing::warn!(source = %e.source, detail_type = %e.detail_type, "not a scheduled event; acknowledged");
        }
        Err(e) => tracing::warn!(error = %e, "unexpected payload acknowledged"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_in_the_past_or_far_off_are_handled() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(deadline_of(now_ms - 1_000).is_none());
        let d = deadline_of(now_ms + 60_000).unwrap();
        let left = d.duration_since(Instant::now());
        assert!(left > Duration::from_secs(55) && left <= Duration::from_secs(60));
    }
}
