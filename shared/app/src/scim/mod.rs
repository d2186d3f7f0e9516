//! SCIM 2.0 (RFC 7643/7644): the organization's IdP provisions members.
//!
//! A SCIM **user** provisions one membership, its email's
//! ([`admit_scim_protocol::primary_email`]): creating it invites exactly as an
//! administrator's invitation does (a seat, the invitation email, the same
//! skip and seat rules), `active: false` revokes (the seat freed, sessions
//! ended), `active: true` restores, deleting removes. SCIM acts as an
//! administrator of the organization (actor `scim`): it never changes an
//! owner's membership. The [`ScimUser`] record keeps what SCIM says beyond
//! the membership; `active` is read from the membership itself.
//!
//! Each change is two atomic writes in a fixed order — the membership's
//! (through the same use cases as the console's), then the SCIM record's —
//! and each is safe to repeat: a create that stops between them leaves an
//! invited member, and the IdP's retry links the new record to it.
//!
//! **Groups** are kept per organization with their members (SCIM user ids
//! and the memberships they provision); a member's groups show in the
//! member listing.
//!
//! The protocol's pure parts (schemas, validation, filters, PATCH, lists)
//! are `admit-scim-protocol`'s; errors leave as SCIM error bodies ([`ScimFailure`]).

mod groups;
mod users;

use crate::access::Administrator;
use crate::{App, Error, Principal, Result};
use admit_domain::{Actor, EventType, OrgId, Organization, ScimToken, Secret, Timestamp};
use admit_scim_protocol::ScimError;
use serde::Serialize;

/// The most characters of a `userName` or a group's `displayName`.
const MAX_NAME_LEN: usize = 256;
/// The most bytes of one: a `userName` is part of a store key (DynamoDB
/// sort keys hold 1,024 bytes at most).
const MAX_NAME_BYTES: usize = 512;
/// How many times a write that met a concurrent change is tried again.
const ATTEMPTS: usize = 3;

/// An authenticated SCIM caller: the organization whose token it showed.
pub struct ScimCaller {
    org: Organization,
}

impl ScimCaller {
    pub fn org_id(&self) -> &OrgId {
        &self.org.id
    }
}

/// `POST /orgs/{org}/scim/token`: shown once.
#[derive(Debug, Serialize)]
pub struct ScimTokenIssued {
    pub token: String,
    pub base_url: String,
}

/// `GET /orgs/{org}/scim`: whether SCIM is on, and what it did last.
#[derive(Debug, Serialize)]
pub struct ScimStatus {
    pub enabled: bool,
    pub base_url: String,
    /// When the current token was issued; `null` while SCIM is off.
    pub token_issued_at: Option<Timestamp>,
    /// The newest change SCIM made (a user or group created, updated or
    /// deleted); `null` when it made none the audit log still keeps.
    pub last_activity: Option<ScimActivity>,
}

#[derive(Debug, Serialize)]
pub struct ScimActivity {
    pub at: Timestamp,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The member concerned, for a user's change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<admit_domain::Email>,
    /// The group's name, for a group's change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The events of the changes SCIM makes (not of its token, which an
/// administrator issues).
const SCIM_CHANGES: [EventType; 6] = [
    EventType::ScimUserCreated,
    EventType::ScimUserUpdated,
    EventType::ScimUserDeleted,
    EventType::ScimGroupCreated,
    EventType::ScimGroupUpdated,
    EventType::ScimGroupDeleted,
];

/// A member's groups as shown: the names of the SCIM groups it is in and
/// the groups its IdP sent at its last sign-in, sorted, each once.
pub(crate) fn all_groups(mut scim: Vec<String>, idp: &[String]) -> Vec<String> {
    scim.extend_from_slice(idp);
    scim.sort();
    scim.dedup();
    scim
}

/// Why a SCIM request failed: a SCIM error (its status and body), or the
/// caller's address past its budget (429 with `Retry-After`).
#[derive(Debug)]
pub enum ScimFailure {
    Scim(ScimError),
    RateLimited { retry_after: u64 },
}

pub type ScimResult<T> = std::result::Result<T, ScimFailure>;

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        ScimFailure::Scim(e)
    }
}

impl From<Error> for ScimFailure {
    fn from(e: Error) -> Self {
        let detail = e.public_message();
        ScimFailure::Scim(match e {
            Error::RateLimited { retry_after } => {
                return ScimFailure::RateLimited { retry_after };
            }
            Error::InvalidRequest(_) => ScimError::invalid_value(detail),
            Error::NotFound => ScimError::not_found("no such resource"),
            Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ScimError::new(500, None, detail)
            }
            other => ScimError::new(other.status(), None, detail),
        })
    }
}

impl From<admit_store::StoreError> for ScimFailure {
    fn from(e: admit_store::StoreError) -> Self {
        Error::from(e).into()
    }
}

fn unauthorized() -> ScimFailure {
    ScimFailure::Scim(ScimError::new(
        401,
        None,
        "a valid SCIM bearer token of this organization is required",
    ))
}

impl App {
    /// `POST /orgs/{org}/scim/token` (owner or admin): a new token, which
    /// replaces the old one at once; only its digest is kept.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn issue_scim_token(&self, who: &Principal, org: &str) -> Result<ScimTokenIssued> {
        let (token, secret) = ScimToken::issue(self.now(), &mut rand::rng());
        let o = self
            .edit_settings(who, org, None, EventType::ScimTokenIssued, |o| {
                o.scim_token = Some(token.clone());
                Ok(())
            })
            .await?;
        tracing::info!("scim token issued");
        Ok(ScimTokenIssued {
            token: secret.expose(),
            base_url: self.scim_base_url(&o.id),
        })
    }

    /// `DELETE /orgs/{org}/scim/token`: SCIM off.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn delete_scim_token(&self, who: &Principal, org: &str) -> Result<()> {
        self.edit_settings(who, org, None, EventType::ScimTokenDeleted, |o| {
            o.scim_token = None;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `GET /orgs/{org}/scim` (owner or admin): the token's issue time and
    /// SCIM's newest change, read from the audit log (the newest event of
    /// each of its change types: one page of one event each).
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn scim_status(&self, who: &Principal, org: &str) -> Result<ScimStatus> {
        let org = self.administrator(who, org).await?.org;
        let mut newest: Option<admit_domain::Event> = None;
        for kind in SCIM_CHANGES {
            let query = admit_domain::EventQuery {
                kind: Some(kind),
                ..Default::default()
            };
            let page = self.store().events(&org.id, &query, None, 1).await?;
            if let Some(e) = page.items.into_iter().next()
                && newest.as_ref().is_none_or(|n| e.position() > n.position())
            {
                newest = Some(e);
            }
        }
        Ok(ScimStatus {
            enabled: org.scim_token.is_some(),
            base_url: self.scim_base_url(&org.id),
            token_issued_at: org.scim_token.as_ref().map(|t| t.issued_at),
            last_activity: newest.map(|e| ScimActivity {
                at: e.at,
                kind: e.kind,
                email: e.details.email,
                group: e.details.group,
            }),
        })
    }

    /// `{PUBLIC_URL}/scim/v2/{org}`.
    pub fn scim_base_url(&self, org: &OrgId) -> String {
        self.config().link(&format!("/scim/v2/{org}"))
    }

    /// The caller of a request under `/scim/v2/{org}`: the bearer token must
    /// be that organization's. A wrong, missing or other organization's
    /// token is 401 and counts against the client's address; once its
    /// budget is spent, even the right token is refused (429) until the
    /// window ends. An unknown organization looks like a wrong token.
    pub async fn authorize_scim(&self, org: &str, bearer: Option<&str>) -> ScimResult<ScimCaller> {
        self.refuse_spent_address("failed SCIM tokens from one address")
            .await?;
        let found = match OrgId::parse(org) {
            Ok(id) => self.store().organization(&id).await?,
            Err(_) => None,
        };
        let presented = bearer.and_then(Secret::parse).map(|s| s.digest());
        match found {
            Some(o)
                if o.scim_token
                    .as_ref()
                    .zip(presented.as_ref())
                    .is_some_and(|(t, p)| t.digest.matches(p)) =>
            {
                Ok(ScimCaller { org: o })
            }
            _ => {
                self.count_request().await?;
                Err(unauthorized())
            }
        }
    }

    /// SCIM as an administrator of the caller's organization (never an
    /// owner's powers), for the membership use cases.
    fn scim_admin(&self, c: &ScimCaller) -> Administrator {
        Administrator {
            org: c.org.clone(),
            role: admit_domain::Role::Admin,
            actor: Actor::Scim,
        }
    }
}

/// `meta` of a resource served at `location`.
fn meta(
    kind: &str,
    created: Timestamp,
    modified: Timestamp,
    location: String,
    version: u64,
) -> serde_json::Value {
    serde_json::json!({
        "resourceType": kind,
        "created": created.rfc3339(),
        "lastModified": modified.rfc3339(),
        "location": location,
        "version": format!("W/\"{version}\""),
    })
}

/// A name (`userName`, `displayName`) of at most [`MAX_NAME_LEN`] characters.
fn checked_name(what: &str, raw: Option<&str>) -> ScimResult<String> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.len() > MAX_NAME_BYTES {
        return Err(ScimError::invalid_value(format!(
            "{what} must be 1 to {MAX_NAME_LEN} characters ({MAX_NAME_BYTES} bytes)"
        ))
        .into());
    }
    Ok(name.to_owned())
}
