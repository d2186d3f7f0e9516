//! Domains an organization verifies itself: the name's rules, and the DNS
//! TXT record that proves control of it.
//!
//! An owner or admin adds a domain and is given a record to publish:
//! `_admit-challenge.<domain>` holding `admit-verification=<random>`, a value
//! of that organization and domain alone. Verifying looks the record up; one
//! domain is verified by at most one organization (the store's
//! [`crate::ClaimedDomain`] item is the one holder). The scheduled job
//! re-checks an unverified domain about hourly for [`RECHECK_WINDOW`] after
//! it was added, then stops. A verified domain stays verified when its record
//! later disappears: the record proves control once, as Bitwarden's claimed
//! domains do; deleting the domain is how an organization lets go of it.

use crate::{OrgId, ParseError, Timestamp};
use base64::Engine;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Duration;

/// How long after a domain was added the scheduled job keeps re-checking it.
pub const RECHECK_WINDOW: Duration = Duration::hours(72);
/// How often the scheduled job re-checks an unverified domain (it runs every
/// 15 minutes by default, so checks land 60 to 75 minutes apart).
pub const RECHECK_EVERY: Duration = Duration::hours(1);
/// The label under the domain where the TXT record goes.
pub const TXT_LABEL: &str = "_admit-challenge";
/// What the TXT value starts with (so it reads as Admit's among others).
pub const TXT_PREFIX: &str = "admit-verification=";

/// A domain name an organization may claim: lower-case ASCII (an IDN in its
/// punycode form), no trailing dot, at most 253 characters, letters, digits
/// and hyphens in labels of 1 to 63, at least two labels, not an IP address
/// and not itself a public suffix (`com`, `co.uk`, `github.io`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let err = |why| ParseError::new("domain", why);
        let trimmed = raw.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() || trimmed.len() > 1_000 {
            return Err(err("must be a domain name such as example.com"));
        }
        if trimmed.parse::<std::net::IpAddr>().is_ok()
            || trimmed.starts_with('[')
            || trimmed
                .split('.')
                .all(|l| l.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(err("must be a domain name, not an IP address"));
        }
        // UTS 46 mapping: case folding and IDN → punycode.
        let ascii =
            idna::domain_to_ascii_strict(trimmed).map_err(|_| err("is not a valid domain name"))?;
        if ascii.len() > 253 {
            return Err(err("must be at most 253 characters"));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(err("must have at least two labels, such as example.com"));
        }
        if !labels.iter().all(|l| crate::email::is_dns_label(l)) {
            return Err(err("is not a valid domain name"));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(err("must be a domain name, not an IP address"));
        }
        // A public suffix has no registrable domain of its own.
        if psl::domain(ascii.as_bytes()).is_none() {
            return Err(err("is a public suffix, which no organization can claim"));
        }
        Ok(DomainName(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full name of the TXT record that proves this domain.
    pub fn txt_name(&self) -> String {
        format!("{TXT_LABEL}.{}", self.0)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        DomainName::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}

/// A domain one organization added, with the TXT value it must publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDomain {
    pub org_id: OrgId,
    pub domain: DomainName,
    /// `admit-verification=` and 32 random bytes (base64url): this
    /// organization's value for this domain, never another's.
    pub txt_value: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<Timestamp>,
}

impl OrgDomain {
    /// A domain added now, unverified, with a fresh TXT value.
    pub fn add(
        org_id: OrgId,
        domain: DomainName,
        now: Timestamp,
        rng: &mut impl CryptoRng,
    ) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        OrgDomain {
            org_id,
            domain,
            txt_value: format!(
                "{TXT_PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
            ),
            created_at: now,
            verified_at: None,
            last_checked_at: None,
        }
    }

    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    pub fn txt_name(&self) -> String {
        self.domain.txt_name()
    }

    /// Whether the TXT strings found at [`Self::txt_name`] hold this
    /// domain's value (among any others published there). The value is
    /// public, so no constant-time comparison is needed.
    pub fn is_proven_by(&self, txt: &[String]) -> bool {
        txt.iter().any(|t| t.trim() == self.txt_value)
    }

    /// The end of the scheduled job's re-checks.
    pub fn recheck_until(&self) -> Timestamp {
        self.created_at + RECHECK_WINDOW
    }

    /// Whether the scheduled job should look the record up now: unverified,
    /// within [`RECHECK_WINDOW`] of being added, and not checked in the last
    /// [`RECHECK_EVERY`].
    pub fn is_due_for_check(&self, now: Timestamp) -> bool {
        !self.is_verified()
            && now < self.recheck_until()
            && self
                .last_checked_at
                .is_none_or(|t| now >= t + RECHECK_EVERY)
    }

    /// Checked at `now`: the record was found (verified) or not.
    pub fn checked(&self, now: Timestamp, found: bool) -> Self {
        OrgDomain {
            last_checked_at: Some(now),
            verified_at: if found {
                self.verified_at.or(Some(now))
            } else {
                self.verified_at
            },
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        DomainName::parse(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
            .0
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(ok("Example.COM"), "example.com");
        assert_eq!(ok("  example.com. "), "example.com");
        assert_eq!(ok("eu.acme.co.uk"), "eu.acme.co.uk");
        assert_eq!(ok("acme.test"), "acme.test");
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
        assert_eq!(ok("MÜNCHEN.DE"), "xn--mnchen-3ya.de");
        assert_eq!(ok("xn--mnchen-3ya.de"), "xn--mnchen-3ya.de");
    }

    #[test]
    fn bad_names_are_refused() {
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        for raw in [
            "",
            ".",
            "com",
            "co.uk",
            "github.io",
            "localhost",
            "1.2.3.4",
            "[::1]",
            "::1",
            "a..b",
            ".example.com",
            "-a.example.com",
            "a-.example.com",
            "exa mple.com",
            "exa_mple.com",
            "example.com/path",
            "user@example.com",
            "example.123",
            &long,
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(DomainName::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn values_are_fresh_and_checks_are_hourly_for_72_hours() {
        let mut rng = rand::rng();
        let now = Timestamp::from_unix(1_800_000_000);
        let org = OrgId::generate(&mut rng);
        let d = DomainName::parse("acme.test").unwrap();
        let a = OrgDomain::add(org.clone(), d.clone(), now, &mut rng);
        let b = OrgDomain::add(org, d, now, &mut rng);
        assert_ne!(a.txt_value, b.txt_value);
        assert!(a.txt_value.starts_with(TXT_PREFIX));
        assert_eq!(a.txt_name(), "_admit-challenge.acme.test");
        assert!(a.is_proven_by(&["other".into(), a.txt_value.clone()]));
        assert!(!a.is_proven_by(std::slice::from_ref(&b.txt_value)));

        assert!(a.is_due_for_check(now));
        let checked = a.checked(now, false);
        assert!(!checked.is_verified());
        assert!(!checked.is_due_for_check(now + Duration::minutes(59)));
        assert!(checked.is_due_for_check(now + Duration::minutes(60)));
        let late = checked.checked(now + Duration::hours(71), false);
        assert!(!late.is_due_for_check(now + Duration::hours(72)));
        let verified = checked.checked(now + Duration::hours(2), true);
        assert_eq!(verified.verified_at, Some(now + Duration::hours(2)));
        assert!(!verified.is_due_for_check(now + Duration::hours(4)));
        // Verified stays verified, at its first time.
        assert_eq!(
            verified
                .checked(now + Duration::hours(5), false)
                .verified_at,
            verified.verified_at
        );
    }
}
