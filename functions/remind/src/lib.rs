//! The `remind` function, woken by EventBridge (and by `admit serve`'s
//! timer): send every owed email that is due — retries of failed
//! invitations and the reminders of the organizations' schedules — before
//! the deadline, leaving the rest for the next run; then sweep what has
//! expired (sessions, sign-in state, rate-limit counters) from a store that
//! has no TTL of its own.
//!
//! A failed run is seen: [`run_once`] says so ([`RunFailed`]), and the
//! Lambda handler then fails the invocation, so Lambda's `Errors` metric
//! (and the template's alarm on it), its retries of the asynchronous
//! invocation and, past them, the dead-letter queue all see it.

use admit_app::{App, RunSummary};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a run of the job failed. Its text names counts and the store's
/// error, never an address or a link (the per-send warnings the run logs
/// name the member ids).
#[derive(Debug)]
pub enum RunFailed {
    /// The store failed: the run stopped there. Nothing is half done (each
    /// send is claimed first), so the next run starts over.
    Stopped(admit_app::Error),
    /// The run went on to its end (or its deadline), but `failed` of its
    /// sends failed ([`RunSummary::failed`]). Those emails stay owed and are
    /// retried after their backoff, so nothing is lost; the run is reported
    /// failed anyway, or a mail outage or a sender SES refuses would show
    /// only in the logs. It is failed only once it has done all it could, so
    /// one bad address never holds back the rest.
    SendsFailed(RunSummary),
}

impl fmt::Display for RunFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunFailed::Stopped(e) => write!(f, "the owed mail job stopped: {e}"),
            RunFailed::SendsFailed(s) => write!(
                f,
                "the owed mail job finished, but {} of its sends failed (still owed, \
                 retried after a backoff); sent: {} invitations, {} reminders, {} notices, \
                 {} digests",
                s.failed, s.sent, s.reminded, s.notified, s.digests
            ),
        }
    }
}

impl std::error::Error for RunFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunFailed::Stopped(e) => Some(e),
            RunFailed::SendsFailed(_) => None,
        }
    }
}

/// One run of the job (which logs one summary line). `Err` when the store
/// failed, ending the run early, or when any of its sends failed (see
/// [`RunFailed`]); what to do about it is the caller's: the Lambda handler
/// fails its invocation, `admit serve`'s timer logs it and runs again at the
/// next tick.
pub async fn run_once(app: &App, deadline: Option<Instant>) -> Result<RunSummary, RunFailed> {
    let summary = app
        .run_owed_mail(deadline)
        .await
        .map_err(RunFailed::Stopped)?;
    app.sweep_expired().await.map_err(RunFailed::Stopped)?;
    if summary.failed > 0 {
        return Err(RunFailed::SendsFailed(summary));
    }
    Ok(summary)
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
/// the invocation's deadline, and fails the invocation when the run failed
/// ([`RunFailed`]: the store failed, or sends failed); Lambda retries it (a
/// run again: harmless, each send is claimed first and a failed one waits
/// out its backoff), then hands it to the dead-letter queue. Any other
/// payload is logged and acknowledged, never failed (a failure would be
/// retried, forever, for the same bad payload).
pub async fn handle(
    app: &App,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<(), lambda_runtime::Error> {
    match serde_json::from_value::<EventBridgeEvent>(event.payload) {
        Ok(e) if e.detail_type == "Scheduled Event" => {
            tracing::info!(source = %e.source, "scheduled event");
            let deadline = deadline_of(event.context.deadline).unwrap_or_else(Instant::now);
            if let Err(failed) = run_once(app, Some(deadline)).await {
                tracing::error!(error = %failed, "scheduled run failed");
                return Err(failed.into());
            }
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
