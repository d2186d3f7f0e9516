//! Pacing: the job's sends are spaced at the mail service's send rate (SES
//! says how many messages a second it accepts), so a large run is not
//! throttled.

use std::time::Duration;

/// Spaces sends at the mail service's rate: one slot per `1 / rate` seconds.
pub(super) struct Pacer {
    every: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pacer {
    pub(super) fn new(rate_per_second: Option<f64>) -> Pacer {
        Pacer {
            every: rate_per_second
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next: tokio::time::Instant::now(),
        }
    }

    /// When the next send may start (now, or later when the last used the slot).
    pub(super) fn next_slot(&self) -> tokio::time::Instant {
        self.next.max(tokio::time::Instant::now())
    }

    /// A send took the slot: the next one is a period later.
    pub(super) fn used(&mut self) {
        if let Some(every) = self.every {
            self.next = self.next_slot() + every;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_at_the_mail_services_rate() {
        let start = tokio::time::Instant::now();
        let mut pacer = Pacer::new(Some(4.0));
        for _ in 0..9 {
            tokio::time::sleep_until(pacer.next_slot()).await;
            pacer.used();
        }
        // Nine sends at four a second: the ninth starts two seconds in (virtual time).
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_known_rate_nothing_waits() {
        let start = tokio::time::Instant::now();
        for rate in [None, Some(0.0), Some(f64::NAN)] {
            let mut pacer = Pacer::new(rate);
            for _ in 0..5 {
                tokio::time::sleep_until(pacer.next_slot()).await;
                pacer.used();
            }
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
