//! The organization's SSO identifier, typed by members who were not invited.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `[a-z0-9-]{2,50}`, case-insensitive (stored lower-case).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct SsoIdentifier(String);

impl SsoIdentifier {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_ascii_lowercase();
        if !(2..=50).contains(&s.len()) {
            return Err(ParseError::new(
                "sso_identifier",
                "must be 2 to 50 characters",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ParseError::new(
                "sso_identifier",
                "may contain only a-z, 0-9 and -",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SsoIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SsoIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SsoIdentifier({})", self.0)
    }
}

impl From<SsoIdentifier> for String {
    fn from(s: SsoIdentifier) -> String {
        s.0
    }
}

impl TryFrom<String> for SsoIdentifier {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases() {
        assert_eq!(
            SsoIdentifier::parse("Acme-Corp").unwrap().as_str(),
            "acme-corp"
        );
        assert_eq!(SsoIdentifier::parse("a1").unwrap().as_str(), "a1");
        assert!(SsoIdentifier::parse(&"a".repeat(50)).is_ok());
    }

    #[test]
    fn refuses_bad_identifiers() {
        for bad in ["a", "", "acme corp", "acme_corp", "acmé", "acme.corp"] {
            assert!(SsoIdentifier::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SsoIdentifier::parse(&"a".repeat(51)).is_err());
    }
}
