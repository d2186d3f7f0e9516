//! Instants in UTC, serialized as RFC 3339.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// An instant in UTC, with whole-second precision (what we store and show).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Self {
        Self(OffsetDateTime::from_unix_timestamp(seconds).expect("unix time in range"))
    }
    pub fn from_datetime(t: OffsetDateTime) -> Self {
        Self::from_unix(t.unix_timestamp())
    }
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }
    pub fn rfc3339(self) -> String {
        self.0.format(&Rfc3339).expect("UTC timestamps format")
    }
    /// `2026-11-28 14:05` — how emails show a date next to the word "UTC".
    pub fn human(self) -> String {
        let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        self.0.format(&f).expect("UTC timestamps format")
    }
    /// An RFC 3339 time in the years 1900 to 9000: far enough from the
    /// representable ends that adding or subtracting days never overflows.
    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| crate::ParseError::new("timestamp", "not RFC 3339"))?;
        t.checked_to_offset(UtcOffset::UTC)
            .filter(|t| (1900..=9000).contains(&t.year()))
            .map(Self::from_datetime)
            .ok_or_else(|| crate::ParseError::new("timestamp", "out of range"))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0 + d)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0 - d)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.rfc3339()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = crate::ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339_in_utc() {
        let t = Timestamp::from_unix(1_795_000_000);
        assert_eq!(Timestamp::parse(&t.rfc3339()).unwrap(), t);
        assert!(t.rfc3339().ends_with('Z'));
        let shifted = Timestamp::parse("2026-11-23T10:00:00+02:00").unwrap();
        assert_eq!(shifted.rfc3339(), "2026-11-23T08:00:00Z");
        assert_eq!(shifted.human(), "2026-11-23 08:00");
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn extreme_times_are_refused_not_panicked_on() {
        for far in [
            "9999-12-31T23:00:00-23:59",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+23:59",
            "1899-12-31T23:59:59Z",
        ] {
            assert!(Timestamp::parse(far).is_err(), "{far}");
        }
        let late = Timestamp::parse("9000-12-31T23:59:59Z").unwrap();
        let _ = late + Duration::days(366) - Duration::days(800_000);
    }
}
