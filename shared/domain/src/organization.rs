//! Organizations and their settings.

use crate::{OrgId, ParseError, SeatPlan, SsoConfig, SsoIdentifier, Timestamp};
use serde::{Deserialize, Serialize};
use time::Duration;

/// How members of the organization decrypt their vault after SSO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberDecryption {
    #[default]
    MasterPassword,
    TrustedDevices,
    KeyConnector,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    pub require_sso: bool,
    pub jit_without_invitation: bool,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            require_sso: false,
            jit_without_invitation: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub sso_identifier: SsoIdentifier,
    /// Whether members sign in through the organization's IdP.
    pub sso_enabled: bool,
    /// The IdP; SSO needs one to be enabled.
    #[serde(default)]
    pub sso: Option<SsoConfig>,
    pub member_decryption: MemberDecryption,
    /// Where members' keys live with the `key_connector` option.
    #[serde(default)]
    pub key_connector_url: Option<String>,
    pub policies: Policies,
    pub seats: SeatPlan,
    /// Invited + accepted + confirmed memberships; kept by the store in the
    /// same write as the membership change that moves it.
    pub occupied_seats: u32,
    pub invitation_lifetime_days: u32,
    /// Days after sending at which a reminder goes out.
    pub reminder_days: Vec<u32>,
    pub created_at: Timestamp,
    /// Counts the writes of the settings (everything but the seat counter):
    /// each is conditional on the version it was computed from, so two
    /// administrators' concurrent edits cannot lose one (the HTTP `ETag`).
    #[serde(default)]
    pub settings_version: u64,
    /// Counts the writes that may change who the confirmed owners are (a
    /// role change to or from owner, revoking, removing or deleting an
    /// owner): each is conditional on the version its owner count was read
    /// at, so two administrators cannot demote the last two owners at once.
    /// Only those writes move it (`Expected::owners_version`).
    #[serde(default)]
    pub owners_version: u64,
    /// The SCIM bearer token's digest, while SCIM is on (`POST
    /// /orgs/{org}/scim/token`). Written with the settings, under
    /// `settings_version` (as `null` when off, so that the settings write
    /// of a store that sets every field clears it).
    #[serde(default)]
    pub scim_token: Option<crate::ScimToken>,
    /// The group whose members are admins (`PUT /orgs/{org}/settings`,
    /// owners only): a member in it — by SCIM or by its IdP at sign-in — is
    /// made `admin`, and loses the role when it leaves the group, unless an
    /// administrator set the role by hand ([`crate::Membership::follow_admin_group`]).
    /// Never maps to `owner`. Stored as `null` when unset, like `scim_token`.
    #[serde(default)]
    pub admin_group: Option<String>,
}

pub const DEFAULT_INVITATION_LIFETIME_DAYS: u32 = 5;
pub const DEFAULT_REMINDER_DAYS: [u32; 2] = [2, 4];

impl Organization {
    /// A new organization. Its owner's membership is created alongside and
    /// occupies the first seat.
    pub fn new(
        id: OrgId,
        name: &str,
        sso_identifier: SsoIdentifier,
        seats: SeatPlan,
        now: Timestamp,
    ) -> Result<Self, ParseError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new("name", "must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(ParseError::new(
                "name",
                "must not contain control characters",
            ));
        }
        if !seats.is_valid() {
            return Err(ParseError::new(
                "seats",
                "autoscale_max needs a limit and must not be below it",
            ));
        }
        Ok(Self {
            id,
            name: name.to_owned(),
            sso_identifier,
            sso_enabled: false,
            sso: None,
            member_decryption: MemberDecryption::default(),
            key_connector_url: None,
            policies: Policies::default(),
            seats,
            occupied_seats: 0,
            invitation_lifetime_days: DEFAULT_INVITATION_LIFETIME_DAYS,
            reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
            created_at: now,
            settings_version: 0,
            owners_version: 0,
            scim_token: None,
            admin_group: None,
        })
    }

    pub fn invitation_lifetime(&self) -> Duration {
        Duration::days(i64::from(self.invitation_lifetime_days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(name: &str, seats: SeatPlan) -> Result<Organization, ParseError> {
        let id = OrgId::generate(&mut rand::rng());
        Organization::new(
            id,
            name,
            SsoIdentifier::parse("acme").unwrap(),
            seats,
            Timestamp::from_unix(0),
        )
    }

    #[test]
    fn defaults_follow_the_product() {
        let o = org(" Acme ", SeatPlan::default()).unwrap();
        assert_eq!(o.name, "Acme");
        assert!(o.policies.jit_without_invitation && !o.policies.require_sso);
        assert_eq!(o.invitation_lifetime(), Duration::days(5));
        assert_eq!(o.reminder_days, vec![2, 4]);
        assert_eq!(o.member_decryption, MemberDecryption::MasterPassword);
    }

    #[test]
    fn refuses_bad_names_and_seat_plans() {
        assert!(org("", SeatPlan::default()).is_err());
        assert!(org(&"x".repeat(101), SeatPlan::default()).is_err());
        assert!(org("a\u{0}b", SeatPlan::default()).is_err());
        assert!(
            org(
                "Acme",
                SeatPlan {
                    limit: Some(5),
                    autoscale_max: Some(2)
                }
            )
            .is_err()
        );
    }
}
