//! Admit's rules: the things of the product, their valid values and every state
//! transition. Pure: no IO, no async, no AWS types. Randomness comes in as a
//! `CryptoRng` and time as a `Timestamp`, so every rule is testable.

pub mod account;
pub mod domain_name;
pub mod email;
pub mod event;
pub mod ids;
pub mod invitation;
pub mod membership;
pub mod organization;
pub mod owed_mail;
pub mod rate_limit;
pub mod scim;
pub mod seats;
pub mod secret;
pub mod session;
pub mod sign_in;
pub mod sso;
pub mod sso_config;
pub mod sso_identifier;
pub mod time;

pub use account::{Account, Device, Kdf, KeyMaterial, MasterPassword, MasterPasswordHash};
pub use domain_name::{DomainName, OrgDomain};
pub use email::Email;
pub use event::{
    Actor, Event, EventDetails, EventId, EventPosition, EventQuery, EventSource, EventType,
};
pub use ids::{MemberId, OrgId, UserId};
pub use invitation::{Delivery, Invitation, InvitationError, InvitationToken, IssuedInvitation};
pub use membership::{Action, ClaimedMail, Membership, Role, RoleSource, Status, TransitionError};
pub use organization::{MemberDecryption, Organization, Policies};
pub use owed_mail::{AdminDigest, OwedKind, OwedMail};
pub use scim::{GroupMember, ScimGroup, ScimId, ScimToken, ScimUser};
pub use seats::{NoSeats, SeatPlan};
pub use secret::{Secret, TokenDigest};
pub use session::Session;
pub use sign_in::{
    ClaimedDomain, IdentityLink, LinkGrant, PendingSignIn, SetupGrant, StartedSignIn,
};
pub use sso::{
    AccountInOrg, ExternalId, IdpIdentity, MAX_IDP_GROUPS, Refusal, SignInFacts, SsoDecision,
    decide, idp_groups,
};
pub use sso_config::{OidcConfig, SamlConfig, SigningAlgorithm, SsoConfig};
pub use sso_identifier::SsoIdentifier;
pub use time::Timestamp;

/// A value that failed to parse into one of the domain's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct ParseError {
    pub what: &'static str,
    pub why: &'static str,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, why: &'static str) -> Self {
        Self { what, why }
    }
}
