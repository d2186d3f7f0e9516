use admit_domain::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where use cases get the time from, so tests can move it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(time::OffsetDateTime::now_utc())
    }
}

/// The system clock moved ahead by a fixed offset: a development aid
/// (`admit serve --clock-offset 3d`) to see reminders and expiry happen.
pub struct OffsetClock(pub time::Duration);

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(time::OffsetDateTime::now_utc() + self.0)
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(AtomicI64::new(start.unix()))
    }
    pub fn advance(&self, by: time::Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
    /// Move forward to `t` if it is later (never back): a test whose
    /// messages carry the real time (a SAML IdP's) keeps up with it.
    pub fn catch_up(&self, t: Timestamp) {
        self.0.fetch_max(t.unix(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix(self.0.load(Ordering::SeqCst))
    }
}
