//! The email a membership owes: recorded in the same write as the change
//! that causes it, claimed by a conditional write before every send, and
//! moved on (to the next reminder, or to nothing) once sent.
//!
//! A claim is a lease: it moves `due_at` to the end of a backoff and counts
//! the attempt. Whoever claims sends; if that send fails, or its sender
//! dies, the email is due again when the lease ends. Two senders that read
//! the same owed email race on the claim, and only one wins.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use time::Duration;

/// Which email is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OwedKind {
    /// The invitation itself (first send, after a reinvite, or a retry).
    Invitation,
    /// Reminder number `step` (1-based) of the organization's schedule.
    Reminder { step: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedMail {
    #[serde(flatten)]
    pub kind: OwedKind,
    /// From when it may be sent: its schedule, or the end of a claim's lease.
    pub due_at: Timestamp,
    /// Claims so far (each one a send attempt).
    pub attempts: u32,
}

/// The longest a failed email waits before its next attempt.
pub const MAX_BACKOFF: Duration = Duration::hours(6);

/// How long the attempt numbered `attempt` (1-based) holds its claim, which
/// is also how long a failure of it waits: 5 minutes, doubling, at most 6 hours.
pub fn backoff(attempt: u32) -> Duration {
    let minutes = 5i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(16));
    Duration::minutes(minutes).min(MAX_BACKOFF)
}

impl OwedMail {
    /// The invitation a request records and, in the same write, claims for
    /// its own first attempt (it sends right after the write).
    pub fn invitation_claimed(now: Timestamp) -> OwedMail {
        OwedMail {
            kind: OwedKind::Invitation,
            due_at: now + backoff(1),
            attempts: 1,
        }
    }

    pub fn is_due(&self, now: Timestamp) -> bool {
        self.due_at <= now
    }

    /// This email claimed for one more attempt, leased until its backoff ends.
    pub fn claimed(&self, now: Timestamp) -> OwedMail {
        let attempts = self.attempts.saturating_add(1);
        OwedMail {
            attempts,
            due_at: now + backoff(attempts),
            ..*self
        }
    }

    /// The email owed after this one was sent: the next reminder of
    /// `reminder_days` (days after `issued_at`) that falls before `expires_at`.
    pub fn next(
        &self,
        reminder_days: &[u32],
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Option<OwedMail> {
        let after_step = match self.kind {
            OwedKind::Invitation => 0,
            OwedKind::Reminder { step } => usize::from(step),
        };
        let mut days: Vec<u32> = reminder_days.to_vec();
        days.sort_unstable();
        days.dedup();
        days.iter()
            .enumerate()
            .skip(after_step)
            .map(|(i, d)| (i, issued_at + Duration::days(i64::from(*d))))
            .find(|(_, at)| *at < expires_at)
            .map(|(i, at)| OwedMail {
                kind: OwedKind::Reminder {
                    step: u8::try_from(i + 1).unwrap_or(u8::MAX),
                },
                due_at: at,
                attempts: 0,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        Timestamp::from_unix(1_800_000_000)
    }

    #[test]
    fn backoff_doubles_from_five_minutes_to_six_hours() {
        let got: Vec<i64> = (1..=8).map(|a| backoff(a).whole_minutes()).collect();
        assert_eq!(got, [5, 10, 20, 40, 80, 160, 320, 360]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_claim_counts_the_attempt_and_leases_until_its_backoff() {
        let first = OwedMail::invitation_claimed(t0());
        assert_eq!((first.attempts, first.due_at), (1, t0() + backoff(1)));
        assert!(!first.is_due(t0()));
        assert!(first.is_due(t0() + backoff(1)));
        let later = t0() + Duration::hours(1);
        let second = first.claimed(later);
        assert_eq!((second.attempts, second.due_at), (2, later + backoff(2)));
        assert_eq!(second.kind, OwedKind::Invitation);
    }

    #[test]
    fn reminders_follow_the_schedule_and_stop_before_expiry() {
        let expires = t0() + Duration::days(5);
        let sent = OwedMail::invitation_claimed(t0());
        let r1 = sent.next(&[4, 2], t0(), expires).unwrap();
        assert_eq!(r1.kind, OwedKind::Reminder { step: 1 });
        assert_eq!((r1.due_at, r1.attempts), (t0() + Duration::days(2), 0));
        let r2 = r1.next(&[2, 4], t0(), expires).unwrap();
        assert_eq!(
            (r2.kind, r2.due_at),
            (OwedKind::Reminder { step: 2 }, t0() + Duration::days(4))
        );
        assert_eq!(r2.next(&[2, 4], t0(), expires), None);
        // A step at or after expiry is never scheduled.
        let short = t0() + Duration::days(4);
        assert_eq!(r1.next(&[2, 4], t0(), short), None);
        assert_eq!(sent.next(&[], t0(), expires), None);
    }
}
