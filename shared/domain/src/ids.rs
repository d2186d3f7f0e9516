//! Opaque identifiers.
//!
//! `OrgId` and `UserId` are random. A `MemberId` is derived from the
//! organization and the invited email, so that "one membership per email per
//! organization" is a property of the key itself: both stores enforce it by
//! refusing to create an item whose key exists, with no extra guard record.

use crate::{Email, ParseError};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_id(raw: &str, prefix: &str, what: &'static str) -> Result<String, ParseError> {
    let rest = raw
        .strip_prefix(prefix)
        .ok_or(ParseError::new(what, "unknown id"))?;
    if rest.len() == 32
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(raw.to_owned())
    } else {
        Err(ParseError::new(what, "unknown id"))
    }
}

macro_rules! id_type {
    ($name:ident, $prefix:literal, $what:literal) => {
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                parse_id(raw, $prefix, $what).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
    };
}

id_type!(OrgId, "org_", "org_id");
id_type!(UserId, "usr_", "user_id");
id_type!(MemberId, "mem_", "member_id");

impl OrgId {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Self(format!("org_{}", hex(&b)))
    }
}

impl UserId {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Self(format!("usr_{}", hex(&b)))
    }
}

impl MemberId {
    /// The id of `email`'s membership in `org`: 128 bits of SHA-256 over both.
    pub fn of(org: &OrgId, email: &Email) -> Self {
        let mut h = Sha256::new();
        h.update(b"admit/member/v1\0");
        h.update(org.as_str().as_bytes());
        h.update([0]);
        h.update(email.as_str().as_bytes());
        Self(format!("mem_{}", hex(&h.finalize()[..16])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_is_stable_and_distinct() {
        let mut rng = rand::rng();
        let (o1, o2) = (OrgId::generate(&mut rng), OrgId::generate(&mut rng));
        let a = Email::parse("a@x.test").unwrap();
        let b = Email::parse("b@x.test").unwrap();
        assert_eq!(
            MemberId::of(&o1, &a),
            MemberId::of(&o1, &Email::parse("A@X.test").unwrap())
        );
        assert_ne!(MemberId::of(&o1, &a), MemberId::of(&o1, &b));
        assert_ne!(MemberId::of(&o1, &a), MemberId::of(&o2, &a));
        assert!(MemberId::parse(MemberId::of(&o1, &a).as_str()).is_ok());
    }

    #[test]
    fn ids_parse_only_their_own_shape() {
        let mut rng = rand::rng();
        let org = OrgId::generate(&mut rng);
        assert_eq!(OrgId::parse(org.as_str()).unwrap(), org);
        assert!(UserId::parse(org.as_str()).is_err());
        assert!(OrgId::parse("org_xyz").is_err());
        assert!(OrgId::parse("org_../../etc/passwd0000000000000").is_err());
    }
}
