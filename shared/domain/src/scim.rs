//! SCIM 2.0 provisioning (RFC 7643/7644): the company's IdP pushes users and
//! groups. A SCIM user provisions one membership (its email's): creating it
//! invites exactly as an administrator would, `active: false` revokes,
//! `active: true` restores, deleting removes. What Admit keeps of the user
//! beyond the membership (`userName`, `name`, `displayName`, `emails`,
//! `externalId`) is its [`ScimUser`]; groups are [`ScimGroup`]s. The
//! protocol itself (schemas, filters, PATCH) is `admit-scim-protocol`'s.

use crate::{MemberId, OrgId, Secret, Timestamp, TokenDigest};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most members one group keeps (a DynamoDB item holds them all; at
/// about 100 bytes each this stays well under its 400 KB).
pub const MAX_GROUP_MEMBERS: usize = 2_000;

/// An organization's SCIM bearer token, kept as its digest: 256 random
/// bits, shown once; a new one replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimToken {
    pub digest: TokenDigest,
    pub issued_at: Timestamp,
}

impl ScimToken {
    /// A new token issued now, and the only copy of its secret.
    pub fn issue(now: Timestamp, rng: &mut impl CryptoRng) -> (ScimToken, Secret) {
        let secret = Secret::generate(rng);
        (
            ScimToken {
                digest: secret.digest(),
                issued_at: now,
            },
            secret,
        )
    }
}

/// A SCIM resource id: a random UUID (version 4 form), fixed for the
/// resource's life (an IdP keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScimId(String);

impl ScimId {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h =
            |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
        ScimId(format!(
            "{}-{}-{}-{}-{}",
            h(0..4),
            h(4..6),
            h(6..8),
            h(8..10),
            h(10..16)
        ))
    }

    /// An id from a path: the form [`ScimId::generate`] makes (lower-case
    /// hex and hyphens, 36 characters), else `None` (so, not found).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 36
            && raw.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit() || ('a'..='f').contains(&c)
                }
            });
        ok.then(|| ScimId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `userName` as compared: unique per organization, case-insensitively
/// (RFC 7643 §4.1.1: `caseExact` false).
pub fn user_name_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

/// A user the IdP provisioned into one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimUser {
    pub org_id: OrgId,
    pub id: ScimId,
    /// The membership it provisions: its email's.
    pub member_id: MemberId,
    /// `userName` as sent (compared by [`user_name_key`]).
    pub user_name: String,
    /// The attributes Admit keeps, as `admit_scim_protocol::validate` returned them
    /// (`schemas`, `userName`, `name`, `displayName`, `emails`,
    /// `externalId`, and `active` when the client assigned it — served with
    /// the membership's value); `groups` come from the groups, `id` and
    /// `meta` from this record.
    pub attributes: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Moves by one with every write; each write is conditional on it.
    pub version: u64,
}

impl ScimUser {
    pub fn user_name_key(&self) -> String {
        user_name_key(&self.user_name)
    }

    /// `self` with new attributes (and what they imply), one version on.
    pub fn updated(
        &self,
        user_name: String,
        attributes: serde_json::Value,
        now: Timestamp,
    ) -> Self {
        ScimUser {
            user_name,
            attributes,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// One member of a group: the SCIM user, and the membership it provisions
/// (so that listing members with their groups reads the groups only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub id: ScimId,
    pub member_id: MemberId,
}

/// A group the IdP pushed into one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimGroup {
    pub org_id: OrgId,
    pub id: ScimId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub members: Vec<GroupMember>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Moves by one with every write; each write is conditional on it.
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_and_parse_back() {
        let mut rng = rand::rng();
        let a = ScimId::generate(&mut rng);
        let b = ScimId::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36);
        assert_eq!(&a.as_str()[14..15], "4");
        assert_eq!(ScimId::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "x",
            &a.as_str().to_uppercase(),
            &format!("{a}0"),
            "../etc/passwd",
        ] {
            assert_eq!(ScimId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_kept_as_digests() {
        let now = Timestamp::from_unix(1_800_000_000);
        let (t, secret) = ScimToken::issue(now, &mut rand::rng());
        assert!(t.digest.matches(&secret.digest()));
        assert_eq!(user_name_key(" Ann@Example.COM "), "ann@example.com");
    }
}
