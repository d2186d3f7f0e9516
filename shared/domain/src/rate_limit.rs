//! Rate limits: a budget of attempts per subject (a client address, an
//! account's email) in fixed windows of time. Pure: the counters live in
//! the store, which counts each attempt once across every instance.

use crate::{Email, Timestamp, TokenDigest};
use std::net::IpAddr;
use std::str::FromStr;

/// At most `attempts` in each window of `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub attempts: u32,
    pub window_seconds: u32,
}

/// Who an attempt is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A client address: an IPv6 address counts as its /64 (one host
    /// usually holds a whole /64), an IPv4-mapped one as its IPv4 address.
    Address(IpAddr),
    /// An account's (or would-be account's) email, kept as a digest only.
    Email(&'a Email),
}

/// The counter of one subject in the window around `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// `{scope}#{subject}#{window seconds}#{window index}`.
    pub key: String,
    /// The end of the window: then the counter is forgotten.
    pub expires_at: Timestamp,
}

impl Budget {
    /// The counter `subject`'s attempts at `now` go to, for `scope` (what is
    /// limited, e.g. `sign-in`).
    pub fn counter(&self, scope: &str, subject: Subject<'_>, now: Timestamp) -> Counter {
        let window = i64::from(self.window_seconds.max(1));
        let index = now.unix().div_euclid(window);
        let subject = match subject {
            Subject::Address(ip) => format!("addr#{}", network_of(ip)),
            Subject::Email(e) => format!(
                "email#{}",
                TokenDigest::of_bytes(e.as_str().as_bytes()).to_hex()
            ),
        };
        Counter {
            key: format!("{scope}#{subject}#{window}#{index}"),
            expires_at: Timestamp::from_unix((index + 1) * window),
        }
    }

    /// Past the budget with `attempts` counted in the window?
    pub fn exceeded_by(&self, attempts: u32) -> bool {
        attempts > self.attempts
    }
}

impl Counter {
    /// Whole seconds until the window ends (at least 1): the `Retry-After`.
    pub fn retry_after(&self, now: Timestamp) -> u64 {
        u64::try_from(self.expires_at.unix() - now.unix())
            .unwrap_or(0)
            .max(1)
    }
}

/// `30/1m`, `10/15m`, `100/1h`: attempts per window.
impl FromStr for Budget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (attempts, window) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected attempts/window, like 10/15m"))?;
        let attempts: u32 = attempts
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the attempts must be a whole number"))?;
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(window.len());
        let (n, unit) = window.split_at(split);
        let n: u32 = if n.is_empty() {
            1
        } else {
            n.parse()
                .map_err(|_| format!("{s:?}: the window must be like 30s, 15m or 1h"))?
        };
        let seconds = match unit {
            "s" => Some(n),
            "m" => n.checked_mul(60),
            "h" => n.checked_mul(3600),
            _ => None,
        }
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{s:?}: the window must be like 30s, 15m or 1h"))?;
        if attempts == 0 {
            return Err(format!("{s:?}: allow at least one attempt"));
        }
        Ok(Budget {
            attempts,
            window_seconds: seconds,
        })
    }
}

/// The address as counted: IPv4 as is (also when IPv4-mapped), IPv6 as its /64.
fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_800_000_000;

    #[test]
    fn budgets_parse_and_refuse_nonsense() {
        assert_eq!(
            "10/15m".parse(),
            Ok(Budget {
                attempts: 10,
                window_seconds: 900
            })
        );
        assert_eq!("120/1m".parse::<Budget>().unwrap().window_seconds, 60);
        assert_eq!("5/30s".parse::<Budget>().unwrap().window_seconds, 30);
        for bad in ["10", "0/1m", "x/1m", "10/0m", "10/1d", "10/m5"] {
            assert!(bad.parse::<Budget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn one_counter_per_subject_and_window() {
        let b: Budget = "3/1m".parse().unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let now = Timestamp::from_unix(T);
        let c = b.counter("sign-in", Subject::Address(ip), now);
        // T is a whole minute: T + 59 is still in its window.
        assert_eq!(
            c,
            b.counter(
                "sign-in",
                Subject::Address(ip),
                Timestamp::from_unix(T + 59)
            )
        );
        let next = b.counter(
            "sign-in",
            Subject::Address(ip),
            Timestamp::from_unix(c.expires_at.unix()),
        );
        assert_ne!(next.key, c.key, "a new window starts a new count");
        assert!(c.retry_after(now) >= 1 && c.retry_after(now) <= 60);
        assert!(!b.exceeded_by(3) && b.exceeded_by(4));

        // One IPv6 /64 is one subject; an IPv4-mapped address is its IPv4 one.
        let a = b.counter(
            "s",
            Subject::Address("2001:db8:1:2::1".parse().unwrap()),
            now,
        );
        let z = b.counter(
            "s",
            Subject::Address("2001:db8:1:2:ffff::9".parse().unwrap()),
            now,
        );
        assert_eq!(a.key, z.key);
        let mapped = b.counter(
            "s",
            Subject::Address("::ffff:192.0.2.7".parse().unwrap()),
            now,
        );
        assert_eq!(mapped.key, b.counter("s", Subject::Address(ip), now).key);

        // Emails are kept as digests, never in clear.
        let email = Email::parse("alice@acme.test").unwrap();
        let e = b.counter("s", Subject::Email(&email), now);
        assert!(!e.key.contains("alice"));
    }
}
