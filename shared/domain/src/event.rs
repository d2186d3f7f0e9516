//! The audit log's events: who changed what in an organization, to whom,
//! when and from where. An event is written in the same atomic write as the
//! change it records (the store's write methods take the events with the
//! change), so the record never misses a change.
//!
//! What an event may say is typed ([`EventDetails`]): codes, roles, setting
//! names, a domain, an email. There is no field a secret, token, key or
//! password hash could go into.

use crate::{Email, MemberId, OrgId, ParseError, Role, Timestamp, UserId};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// How long events are kept unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// What happened. The names are the contract's (`member.invited`…).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "&'static str", try_from = "String")]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            /// Every type, in the contract's order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            pub fn parse(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($name => Ok(EventType::$variant),)*
                    _ => Err(ParseError::new("type", "unknown event type")),
                }
            }
        }
    };
}

event_types! {
    OrgCreated => "org.created",
    MemberInvited => "member.invited",
    MemberReinvited => "member.reinvited",
    MemberReminded => "member.reminded",
    MemberAccepted => "member.accepted",
    MemberConfirmed => "member.confirmed",
    MemberRevoked => "member.revoked",
    MemberRestored => "member.restored",
    MemberRemoved => "member.removed",
    MemberRoleChanged => "member.role_changed",
    MemberGroupsChanged => "member.groups_changed",
    SsoSignedIn => "sso.signed_in",
    SsoLinked => "sso.linked",
    SsoJitCreated => "sso.jit_created",
    SsoRefused => "sso.refused",
    AuthLoginFailed => "auth.login_failed",
    SsoSettingsChanged => "sso.settings_changed",
    PoliciesChanged => "policies.changed",
    SeatsChanged => "org.seats_changed",
    OrgSettingsChanged => "org.settings_changed",
    DomainAdded => "domain.added",
    DomainVerified => "domain.verified",
    DomainRemoved => "domain.removed",
    ScimTokenIssued => "scim.token_issued",
    ScimTokenDeleted => "scim.token_deleted",
    ScimUserCreated => "scim.user_created",
    ScimUserUpdated => "scim.user_updated",
    ScimUserDeleted => "scim.user_deleted",
    ScimGroupCreated => "scim.group_created",
    ScimGroupUpdated => "scim.group_updated",
    ScimGroupDeleted => "scim.group_deleted",
}

impl From<EventType> for &'static str {
    fn from(t: EventType) -> &'static str {
        t.as_str()
    }
}

impl TryFrom<String> for EventType {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        EventType::parse(&s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person: an administrator, or the member themself. A sign-in that
    /// was refused before any account was known has only the asserted email.
    User {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<Email>,
    },
    /// The holder of the operator token.
    Operator,
    /// The organization's identity provider, through SCIM.
    Scim,
    /// Admit itself: the scheduled job.
    System,
}

impl Actor {
    pub fn user(user_id: &UserId, email: &Email) -> Self {
        Actor::User {
            user_id: Some(user_id.clone()),
            email: Some(email.clone()),
        }
    }
}

/// What an event says beyond its type: a closed set of fields, none of
/// which can hold a secret. Serialized as an object without its empty fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    /// The email of the member concerned (or of the refused sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// The member's role (when invited) or the new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The role before a role change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_role: Option<Role>,
    /// A refusal's code (`sso.refused`), the contract's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The names of the settings a change touched (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The SSO protocol of a sign-in (`oidc`, `saml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A claimed domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// How a member came to accept or be created: `invitation`, `sso`,
    /// `sso_identifier`, `domain`, `setup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// A SCIM group's display name (`scim.group_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The IdP groups a sign-in added to the member (`member.groups_changed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups_added: Vec<String>,
    /// The IdP groups a sign-in took from the member (`member.groups_changed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups_removed: Vec<String>,
    /// A key was handed over (confirmation); never the key itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_handed_over: bool,
}

/// An event's id: unique, and ordered by when it was made within a second
/// (14 hex digits of microseconds since the epoch, 10 random ones).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct EventId(String);

impl EventId {
    /// A new id; `micros` is the wall clock's microseconds since the epoch
    /// (only an ordering hint: the event's `at` is what it is filed under).
    pub fn generate(micros: u64, rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 5];
        rng.fill_bytes(&mut bytes);
        let random = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        EventId(format!(
            "evt_{:014x}{:010x}",
            micros & 0x00ff_ffff_ffff_ffff,
            random
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let rest = raw
            .strip_prefix("evt_")
            .ok_or(ParseError::new("event_id", "unknown id"))?;
        if rest.len() == 24 && rest.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(EventId(raw.to_owned()))
        } else {
            Err(ParseError::new("event_id", "unknown id"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.0
    }
}

impl TryFrom<String> for EventId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        EventId::parse(&s)
    }
}

/// One entry of an organization's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub org_id: OrgId,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub at: Timestamp,
    pub actor: Actor,
    /// The member the event concerns, if any.
    #[serde(default)]
    pub member_id: Option<MemberId>,
    /// The client address the request came from, when known.
    #[serde(default)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub details: EventDetails,
    /// When the event is deleted (the organization's retention).
    pub expires_at: Timestamp,
}

impl Event {
    /// The position of the event in its organization's log: its time, then
    /// its id. Listings run newest first by this key, and cursors are one.
    pub fn position(&self) -> EventPosition {
        EventPosition {
            at: self.at,
            id: self.id.clone(),
        }
    }
}

/// Where an event sits in its organization's log (and a listing cursor):
/// `{unix seconds, 12 digits}#{event id}`, so the string order is the time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPosition {
    pub at: Timestamp,
    pub id: EventId,
}

impl EventPosition {
    pub fn encode(&self) -> String {
        format!("{:012}#{}", self.at.unix().max(0), self.id)
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("cursor", "not a cursor this service handed out");
        let (at, id) = raw.split_once('#').ok_or_else(bad)?;
        if at.len() != 12 || !at.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let at: i64 = at.parse().map_err(|_| bad())?;
        let id = EventId::parse(id).map_err(|_| bad())?;
        // Years 1970 to 9000, as `Timestamp::parse` allows.
        if at > 221_845_392_000 {
            return Err(bad());
        }
        Ok(EventPosition {
            at: Timestamp::from_unix(at),
            id,
        })
    }

    /// The sort key of the start of second `at` (before every event in it).
    pub fn floor(at: Timestamp) -> String {
        format!("{:012}#", at.unix().max(0))
    }

    /// The sort key of the end of second `at` (after every event in it).
    pub fn ceiling(at: Timestamp) -> String {
        format!("{:012}#~", at.unix().max(0))
    }
}

/// Which events a listing returns: all of an organization's, or those in a
/// time range (inclusive, whole seconds), of one member, of one type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub member: Option<MemberId>,
    pub kind: Option<EventType>,
}

impl EventQuery {
    /// Does `event` belong in this listing (its organization aside)?
    pub fn matches(&self, event: &Event) -> bool {
        self.start.is_none_or(|s| event.at >= s)
            && self.end.is_none_or(|e| event.at <= e)
            && self
                .member
                .as_ref()
                .is_none_or(|m| event.member_id.as_ref() == Some(m))
            && self.kind.is_none_or(|k| event.kind == k)
    }
}

/// Builds the events of one change: the organization, the time, who and from
/// where are the same for each.
#[derive(Debug, Clone)]
pub struct EventSource {
    pub org_id: OrgId,
    pub at: Timestamp,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    pub expires_at: Timestamp,
}

impl EventSource {
    pub fn event(
        &self,
        kind: EventType,
        member_id: Option<&MemberId>,
        details: EventDetails,
        micros: u64,
        rng: &mut impl CryptoRng,
    ) -> Event {
        Event {
            id: EventId::generate(micros, rng),
            org_id: self.org_id.clone(),
            kind,
            at: self.at,
            actor: self.actor.clone(),
            member_id: member_id.cloned(),
            ip: self.ip,
            details,
            expires_at: self.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_by_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Ok(*t));
            assert_eq!(serde_json::to_string(t).unwrap(), format!("\"{t}\""));
        }
        assert!(EventType::parse("member.exploded").is_err());
    }

    #[test]
    fn ids_are_ordered_by_their_clock_and_parse() {
        let mut rng = rand::rng();
        let a = EventId::generate(1_700_000_000_000_000, &mut rng);
        let b = EventId::generate(1_700_000_000_000_001, &mut rng);
        assert!(a < b);
        assert_eq!(EventId::parse(a.as_str()), Ok(a.clone()));
        assert!(EventId::parse("evt_xyz").is_err());
        assert!(EventId::parse(&a.as_str().to_uppercase()).is_err());
    }

    #[test]
    fn positions_sort_by_time_then_id_and_parse_back() {
        let mut rng = rand::rng();
        let early = EventPosition {
            at: Timestamp::from_unix(1_800_000_000),
            id: EventId::generate(9, &mut rng),
        };
        let late = EventPosition {
            at: Timestamp::from_unix(1_800_000_001),
            id: EventId::generate(1, &mut rng),
        };
        assert!(early.encode() < late.encode());
        assert!(EventPosition::floor(late.at) < late.encode());
        assert!(late.encode() < EventPosition::ceiling(late.at));
        assert_eq!(EventPosition::parse(&late.encode()), Ok(late));
        for bad in ["", "x#y", "1800000000#evt_", "18000000000#evt_00", "a#b#c"] {
            assert!(EventPosition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn details_serialize_as_an_object_without_empty_fields() {
        assert_eq!(
            serde_json::to_value(EventDetails::default()).unwrap(),
            serde_json::json!({})
        );
        let d = EventDetails {
            code: Some("no_seats".into()),
            changed: vec!["require_sso".into()],
            ..EventDetails::default()
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"code": "no_seats", "changed": ["require_sso"]})
        );
    }

    #[test]
    fn actors_serialize_with_their_kind() {
        assert_eq!(
            serde_json::to_value(Actor::System).unwrap(),
            serde_json::json!({"kind": "system"})
        );
        let user = UserId::parse("usr_0123456789abcdef0123456789abcdef").unwrap();
        let email = Email::parse("a@b.test").unwrap();
        assert_eq!(
            serde_json::to_value(Actor::user(&user, &email)).unwrap(),
            serde_json::json!({"kind": "user", "user_id": user.as_str(), "email": "a@b.test"})
        );
    }
}
