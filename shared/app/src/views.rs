//! The use cases' inputs and outputs, in the shapes of the HTTP contract
//! (docs/api.md). Inputs arrive as loosely typed JSON and are parsed into domain
//! types inside the use case, so every refusal has one wording. Those that
//! carry a secret (a token, a master-password hash, a client secret)
//! deliberately have no `Debug`, so they cannot be logged.

use admit_domain::{Kdf, KeyMaterial, Membership, Role, Status, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    pub name: String,
    pub sso_identifier: String,
    pub owner_email: String,
    #[serde(default)]
    pub seats: Option<SeatsInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatsInput {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub autoscale_max: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct OrganizationCreated {
    pub org_id: String,
    pub owner_member_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub master_password_hash: String,
}

#[derive(Serialize)]
pub struct SessionIssued {
    pub session_token: String,
    pub expires_at: Timestamp,
    pub user_id: String,
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    /// The account's keys as stored (encrypted by its client, but the public key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyMaterial>,
    /// The public key's fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub memberships: Vec<MyMembership>,
}

#[derive(Debug, Serialize)]
pub struct MyMembership {
    pub org_id: String,
    pub org_name: String,
    pub member_id: String,
    pub role: Role,
    pub status: Status,
    /// Confirmed: the organization key encrypted for this account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The member's groups in the organization, as the member listing has them.
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OrganizationView {
    /// The settings' version, sent as the `ETag` (not in the body).
    #[serde(skip)]
    pub version: u64,
    pub org_id: String,
    pub name: String,
    pub sso_identifier: String,
    pub sso_enabled: bool,
    pub member_decryption: admit_domain::MemberDecryption,
    pub policies: admit_domain::Policies,
    pub seats: SeatsView,
    pub invitation_lifetime_days: u32,
    pub reminder_days: Vec<u32>,
    pub created_at: Timestamp,
    /// When the current SCIM token was issued; `null` while SCIM is off.
    pub scim_token_issued_at: Option<Timestamp>,
    /// The group whose members are admins; `null` when none.
    pub admin_group: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SeatsView {
    pub limit: Option<u32>,
    pub autoscale_max: Option<u32>,
    pub occupied: u32,
    /// The seat count of the subscription now (grows with autoscale).
    pub subscribed: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub emails: Vec<String>,
    pub role: Role,
}

#[derive(Debug, Serialize)]
pub struct InviteResult {
    pub invited: Vec<Invited>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize)]
pub struct Invited {
    pub member_id: String,
    pub email: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Skipped {
    pub email: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    AlreadyMember,
    InvalidEmail,
    Duplicate,
    /// Only when seats ran out between chunks of one request (concurrent invites).
    NoSeats,
}

#[derive(Debug, Serialize)]
pub struct Reinvited {
    pub member_id: String,
    pub invitation_expires_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct MemberPage {
    pub members: Vec<MemberView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub member_id: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub role: Role,
    pub status: Status,
    pub invited_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_expires_at: Option<Timestamp>,
    /// True when the invitation can no longer be accepted (reinvite to renew it).
    pub invitation_expired: bool,
    /// False while the invitation email is still owed (the reminder job retries it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_sent: Option<bool>,
    /// The member's groups, by name, sorted: those of SCIM's groups it is
    /// in, and those its IdP sent at its last sign-in.
    pub groups: Vec<String>,
    /// Of `groups`, those the IdP sent at the member's last sign-in
    /// (extension).
    pub idp_groups: Vec<String>,
}

impl MemberView {
    pub(crate) fn of(m: &Membership, now: Timestamp) -> Self {
        let inv = m.invitation.as_ref();
        MemberView {
            member_id: m.member_id.to_string(),
            email: m.email.to_string(),
            user_id: m.user_id.as_ref().map(ToString::to_string),
            role: m.role,
            status: m.status,
            invited_at: m.invited_at,
            accepted_at: m.accepted_at,
            confirmed_at: m.confirmed_at,
            invitation_expires_at: inv.map(|i| i.expires_at),
            invitation_expired: inv.is_some_and(|i| i.is_expired(now)),
            invitation_sent: inv.map(|i| i.delivery == admit_domain::Delivery::Sent),
            groups: m.idp_groups.clone(),
            idp_groups: m.idp_groups.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The organization key encrypted for the member: opaque, stored as given.
    #[serde(deserialize_with = "key_text")]
    pub key: String,
}

/// An opaque key (`key` of a confirmation): a string of key text
/// ([`admit_domain::account::is_key_text`]), refused as the body is read —
/// 400 `invalid_request` naming the field, before anything is looked up, for
/// the bulk confirmation too. Its length is the use case's to check.
fn key_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key = String::deserialize(d)?;
    // The error names the field already (`key: …`, `keys[2].key: …`).
    admit_domain::account::check_key_text("key", &key)
        .map_err(|e| serde::de::Error::custom(e.why))?;
    Ok(key)
}

/// A member's public key, for the confirming administrator's client.
#[derive(Debug, Serialize)]
pub struct MemberPublicKey {
    pub member_id: String,
    pub user_id: String,
    pub public_key: String,
    pub fingerprint: String,
}

#[derive(Debug, Serialize)]
pub struct Confirmed {
    pub status: Status,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmMany {
    pub keys: Vec<ConfirmOne>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmOne {
    pub member_id: String,
    #[serde(deserialize_with = "key_text")]
    pub key: String,
}

#[derive(Debug, Serialize)]
pub struct ConfirmManyResult {
    pub results: Vec<ConfirmOneResult>,
}

#[derive(Debug, Serialize)]
pub struct ConfirmOneResult {
    pub member_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOnly {
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub org_id: String,
    pub org_name: String,
    pub email: String,
    pub account_exists: bool,
    pub sso: SsoHint,
    pub expires_at: Timestamp,
    pub role: Role,
}

#[derive(Debug, Serialize)]
pub struct SsoHint {
    pub enabled: bool,
    pub sso_identifier: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    pub token: String,
    /// Absent (or empty) when a session of the invited account accepts.
    #[serde(default)]
    pub master_password_hash: String,
    #[serde(default)]
    pub kdf: Option<Kdf>,
    #[serde(default)]
    pub keys: Option<KeyMaterial>,
    #[serde(default)]
    pub name: Option<String>,
    /// The bootstrap owner's only: the organization key, encrypted by the
    /// owner's client with the owner's own public key.
    #[serde(default, deserialize_with = "optional_key_text")]
    pub org_key: Option<String>,
}

fn optional_key_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    key_text(d).map(Some)
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub member_id: String,
    pub status: Status,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSso {
    pub protocol: String,
    pub member_decryption: admit_domain::MemberDecryption,
    pub enabled: bool,
    #[serde(default)]
    pub key_connector_url: Option<String>,
    // OIDC
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub signing_algorithm: Option<admit_domain::SigningAlgorithm>,
    /// The claim carrying the member's groups; unset: groups are not read.
    #[serde(default)]
    pub groups_claim: Option<String>,
    // SAML
    #[serde(default)]
    pub idp_entity_id: Option<String>,
    #[serde(default)]
    pub idp_sso_url: Option<String>,
    #[serde(default)]
    pub idp_certificate_pem: Option<String>,
    #[serde(default)]
    pub email_attribute: Option<String>,
    #[serde(default)]
    pub name_attribute: Option<String>,
    #[serde(default)]
    pub allow_idp_initiated: Option<bool>,
    /// Extension: accept RSA-SHA1 signatures (legacy IdPs).
    #[serde(default)]
    pub allow_sha1: Option<bool>,
    /// The attribute whose values are the member's groups; unset: not read.
    #[serde(default)]
    pub groups_attribute: Option<String>,
    /// Extension: the IdP's metadata XML, read for whichever of entity id,
    /// SSO URL and certificate the request leaves out.
    #[serde(default)]
    pub idp_metadata_xml: Option<String>,
}

impl PutSso {
    /// The names of the SAML fields this request sets.
    pub fn saml_fields(&self) -> Vec<&'static str> {
        [
            ("idp_entity_id", self.idp_entity_id.is_some()),
            ("idp_sso_url", self.idp_sso_url.is_some()),
            ("idp_certificate_pem", self.idp_certificate_pem.is_some()),
            ("email_attribute", self.email_attribute.is_some()),
            ("name_attribute", self.name_attribute.is_some()),
            ("allow_idp_initiated", self.allow_idp_initiated.is_some()),
            ("allow_sha1", self.allow_sha1.is_some()),
            ("groups_attribute", self.groups_attribute.is_some()),
            ("idp_metadata_xml", self.idp_metadata_xml.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// The names of the OIDC fields this request sets.
    pub fn oidc_fields(&self) -> Vec<&'static str> {
        [
            ("issuer", self.issuer.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("scopes", self.scopes.is_some()),
            ("signing_algorithm", self.signing_algorithm.is_some()),
            ("groups_claim", self.groups_claim.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// An organization's SSO settings, without secrets.
#[derive(Debug, Serialize)]
pub struct SsoView {
    /// The settings' version, sent as the `ETag` (not in the body).
    #[serde(skip)]
    pub version: u64,
    pub enabled: bool,
    pub protocol: Option<&'static str>,
    pub sso_identifier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Whether a client secret is stored (it is never returned).
    pub client_secret_set: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<admit_domain::SigningAlgorithm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    pub member_decryption: admit_domain::MemberDecryption,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_connector_url: Option<String>,
    /// The redirect URI to register at an OpenID provider.
    pub redirect_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_sso_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_certificate_pem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_idp_initiated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_sha1: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_attribute: Option<String>,
    /// Admit's SAML entity id for this organization (its SP metadata URL).
    pub sp_entity_id: String,
    /// Admit's SAML assertion consumer service (HTTP-POST).
    pub acs_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesInput {
    #[serde(default)]
    pub require_sso: Option<bool>,
    #[serde(default)]
    pub jit_without_invitation: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupMasterPassword {
    pub setup_token: String,
    pub master_password_hash: String,
    pub kdf: Kdf,
    pub keys: KeyMaterial,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupTrustedDevice {
    pub setup_token: String,
    pub remember: bool,
    pub device: DeviceInput,
    pub keys: KeyMaterial,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub identifier: String,
    pub name: String,
    #[serde(rename = "type")]
    pub device_type: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupKeyConnector {
    pub setup_token: String,
    pub keys: KeyMaterial,
}

#[derive(Serialize)]
pub struct SetupDone {
    pub member_id: String,
    pub status: Status,
    pub session_token: String,
}

#[derive(Debug, Serialize)]
pub struct SetupView {
    pub org_name: String,
    pub email: String,
    pub member_decryption: admit_domain::MemberDecryption,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupTokenOnly {
    pub setup_token: String,
}

#[derive(Debug, Serialize)]
pub struct MemberStatusView {
    pub member_id: String,
    pub status: Status,
}

#[derive(Debug, Serialize)]
pub struct Discovered {
    pub sso_identifier: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimDomain {
    pub verified: bool,
}

/// One page of an organization's audit log (`GET /orgs/{org}/events`).
#[derive(Debug, Serialize)]
pub struct EventPage {
    pub events: Vec<EventView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An event as the API shows it (its retention is not shown).
#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: admit_domain::EventType,
    pub at: Timestamp,
    pub actor: admit_domain::Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub details: admit_domain::EventDetails,
}

impl From<admit_domain::Event> for EventView {
    fn from(e: admit_domain::Event) -> Self {
        EventView {
            id: e.id.to_string(),
            kind: e.kind,
            at: e.at,
            actor: e.actor,
            member_id: e.member_id.map(|m| m.to_string()),
            ip: e.ip.map(|ip| ip.to_string()),
            details: e.details,
        }
    }
}

/// `PATCH /orgs/{org}/members/{member}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

/// `PUT /orgs/{org}/seats`: both fields, `null` for none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSeats {
    #[serde(deserialize_with = "nullable")]
    pub limit: Option<u32>,
    #[serde(deserialize_with = "nullable")]
    pub autoscale_max: Option<u32>,
}

/// A field that must be present, `null` allowed: a seat plan is given
/// whole, so a missing field never unsets a limit by accident.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d)
}

/// `PUT /orgs/{org}/settings`: what is given changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutOrgSettings {
    #[serde(default)]
    pub invitation_days: Option<u32>,
    #[serde(default)]
    pub reminder_days: Option<Vec<u32>>,
    /// Owners only: the group whose members are admins; `null` or `""`
    /// clears it; left out, it stays.
    #[serde(default, deserialize_with = "present")]
    pub admin_group: Option<Option<String>>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `DELETE /me`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    #[serde(default)]
    pub master_password_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDomain {
    pub domain: String,
}

/// A domain an organization added: the record to publish, and where
/// verification stands.
#[derive(Debug, Serialize)]
pub struct DomainView {
    pub domain: String,
    /// The full name of the TXT record to publish.
    pub txt_name: String,
    /// The value that record must hold.
    pub txt_value: String,
    pub verified: bool,
    pub created_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub last_checked_at: Option<Timestamp>,
    /// Until when the scheduled job re-checks it (unverified domains).
    pub recheck_until: Option<Timestamp>,
}

impl DomainView {
    pub fn of(d: &admit_domain::OrgDomain) -> Self {
        DomainView {
            domain: d.domain.to_string(),
            txt_name: d.txt_name(),
            txt_value: d.txt_value.clone(),
            verified: d.is_verified(),
            created_at: d.created_at,
            verified_at: d.verified_at,
            last_checked_at: d.last_checked_at,
            recheck_until: (!d.is_verified()).then(|| d.recheck_until()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DomainList {
    pub domains: Vec<DomainView>,
}
