//! Key values of every item kind (see the crate docs for the layout).

use crate::schema::{GSI1, GSI2, TABLE};
use admit_domain::{
    DomainName, Email, EventType, ExternalId, MemberId, OrgId, ScimId, SsoIdentifier, TokenDigest,
    UserId,
};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = TABLE.key.partition_key;
pub(crate) const SK: &str = TABLE.key.sort_key;
pub(crate) const GSI1PK: &str = GSI1.key.partition_key;
pub(crate) const GSI1SK: &str = GSI1.key.sort_key;
pub(crate) const GSI2PK: &str = GSI2.key.partition_key;
pub(crate) const GSI2SK: &str = GSI2.key.sort_key;
pub(crate) const TTL: &str = TABLE.ttl_attribute;
/// The one partition of the due index (`gsi2pk`).
pub(crate) const DUE_PK: &str = "DUE";
/// The one partition of the index of unverified domains (`gsi2pk`), what
/// the scheduled job re-checks.
pub(crate) const DOMAIN_CHECK_PK: &str = "DOMAINCHECK";

/// Sort-key prefix of membership items (in their organization's partition).
pub(crate) const MEMBER_PREFIX: &str = "MEMBER#";
/// Sort-key prefix of identity links (in their organization's partition).
pub(crate) const IDP_PREFIX: &str = "IDP#";
/// Sort-key prefix of the domains an organization added (in its partition,
/// outside `MEMBER#`, so never in a membership listing).
pub(crate) const ORG_DOMAIN_PREFIX: &str = "DOMAIN#";
/// Sort-key prefix of SCIM users (in their organization's partition,
/// outside `MEMBER#`, so never in a membership listing).
pub(crate) const SCIM_USER_PREFIX: &str = "SCIMUSER#";
/// Sort-key prefix of the `userName` guards of SCIM users (in their
/// organization's partition; apart from `SCIMUSER#`, so never in a listing).
pub(crate) const SCIM_NAME_PREFIX: &str = "SCIMNAME#";
/// Sort-key prefix of SCIM groups (in their organization's partition).
pub(crate) const SCIM_GROUP_PREFIX: &str = "SCIMGROUP#";
/// `gsi1sk` prefix of identity links in the index by user (beside the
/// memberships' `MEMBER#`).
pub(crate) const LINK_PREFIX: &str = "LINK#";

/// A primary key: partition and sort key values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: &str) -> Self {
        Key {
            pk,
            sk: sk.to_owned(),
        }
    }

    pub fn organization(org: &OrgId) -> Self {
        Key::new(org_pk(org), "ORG")
    }

    pub fn sso_identifier(id: &SsoIdentifier) -> Self {
        Key::new(format!("SSOID#{id}"), "SSOID")
    }

    /// The administrators' digest record, in its organization's partition
    /// (outside `MEMBER#`, so never in a listing).
    pub fn admin_digest(org: &OrgId) -> Self {
        Key::new(org_pk(org), "DIGEST")
    }

    pub fn membership(org: &OrgId, member: &MemberId) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{MEMBER_PREFIX}{member}"),
        }
    }

    pub fn account(user: &UserId) -> Self {
        Key::new(user_pk(user), "ACCOUNT")
    }

    pub fn email(email: &Email) -> Self {
        Key::new(format!("EMAIL#{email}"), "EMAIL")
    }

    pub fn session(digest: &TokenDigest) -> Self {
        Key::new(format!("SESSION#{}", digest.to_hex()), "SESSION")
    }

    /// A pending sign-in, by the digest of its `state`.
    pub fn pending_sign_in(state: &TokenDigest) -> Self {
        Key::new(format!("SIGNIN#{}", state.to_hex()), "SIGNIN")
    }

    /// A consumed SAML assertion, by the digest of its IdP and ID.
    pub fn consumed_assertion(digest: &TokenDigest) -> Self {
        Key::new(format!("SAML#{}", digest.to_hex()), "SAML")
    }

    /// An identity link, in its organization's partition: the sort key's
    /// prefix keeps it out of the membership listing (`MEMBER#`).
    pub fn identity_link(org: &OrgId, external_id: &ExternalId) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{IDP_PREFIX}{}", external_id.as_str()),
        }
    }

    /// A domain an organization added, in its organization's partition.
    pub fn org_domain(org: &OrgId, domain: &DomainName) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{ORG_DOMAIN_PREFIX}{domain}"),
        }
    }

    /// A SCIM user, in its organization's partition.
    pub fn scim_user(org: &OrgId, id: &ScimId) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{SCIM_USER_PREFIX}{id}"),
        }
    }

    /// The guard of a SCIM `userName` (its `user_name_key`), in its
    /// organization's partition. A sort key holds at most 1,024 bytes: a
    /// `user_name_key` past 1,015 bytes of UTF-8 is refused by DynamoDB
    /// (`Unavailable`); the SCIM API bounds `userName`, nothing here does.
    pub fn scim_user_name(org: &OrgId, user_name_key: &str) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{SCIM_NAME_PREFIX}{user_name_key}"),
        }
    }

    /// A SCIM group, in its organization's partition.
    pub fn scim_group(org: &OrgId, id: &ScimId) -> Self {
        Key {
            pk: org_pk(org),
            sk: format!("{SCIM_GROUP_PREFIX}{id}"),
        }
    }

    /// The holder of a domain (lower-case).
    pub fn claimed_domain(domain: &str) -> Self {
        Key::new(format!("DOMAIN#{domain}"), "DOMAIN")
    }

    /// A rate-limit counter (the key names the subject and the window).
    pub fn rate_limit(key: &str) -> Self {
        Key::new(format!("RATE#{key}"), "RATE")
    }

    /// A link grant, by the digest of its link token.
    pub fn link_grant(digest: &TokenDigest) -> Self {
        Key::new(format!("LINKGRANT#{}", digest.to_hex()), "LINKGRANT")
    }

    pub fn setup_grant(digest: &TokenDigest) -> Self {
        Key::new(format!("SETUP#{}", digest.to_hex()), "SETUP")
    }

    /// An event, in its organization's events partition, at its position
    /// (`EventPosition::encode`: `{at:012}#{event id}`, so the sort key
    /// order is the time order).
    pub fn event(org: &OrgId, position: &str) -> Self {
        Key::new(events_pk(org), position)
    }

    /// As the attributes of a GetItem / DeleteItem / ExclusiveStartKey.
    pub fn item(&self) -> Item {
        HashMap::from([(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(&self.sk))])
    }
}

pub(crate) fn org_pk(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// `gsi2sk` of a membership owing an email: its due time (12 digits of unix
/// seconds, so the order is the time order), then its key.
pub(crate) fn due_sk(due_at: admit_domain::Timestamp, org: &OrgId, member: &MemberId) -> String {
    format!("{:012}#{org}#{member}", due_at.unix().max(0))
}

/// `gsi2sk` of an unverified domain: when it was added (12 digits of unix
/// seconds, so the order is the time order), then its key.
pub(crate) fn domain_check_sk(
    created_at: admit_domain::Timestamp,
    org: &OrgId,
    domain: &DomainName,
) -> String {
    format!("{:012}#{org}#{domain}", created_at.unix().max(0))
}

/// `gsi1pk` of a user's memberships.
pub(crate) fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

/// `gsi1sk` of a membership held by a user.
pub(crate) fn user_membership_sk(org: &OrgId, member: &MemberId) -> String {
    format!("{MEMBER_PREFIX}{org}#{member}")
}

/// `gsi1sk` of an identity link in the index by user.
pub(crate) fn user_link_sk(org: &OrgId, external_id: &ExternalId) -> String {
    format!("{LINK_PREFIX}{org}#{}", external_id.as_str())
}

/// The partition of an organization's events (apart from its own
/// partition, so a membership listing never reads them).
pub(crate) fn events_pk(org: &OrgId) -> String {
    format!("EVENTS#{org}")
}

/// `gsi1pk` of the events about one member (`gsi1sk`: the event's position).
pub(crate) fn member_events_pk(org: &OrgId, member: &MemberId) -> String {
    format!("{}#MEMBER#{member}", events_pk(org))
}

/// `gsi2pk` of the events of one type (`gsi2sk`: the event's position).
pub(crate) fn type_events_pk(org: &OrgId, kind: EventType) -> String {
    format!("{}#TYPE#{kind}", events_pk(org))
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
