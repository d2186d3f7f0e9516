//! Administering an organization: its settings, its members, confirming them.

use crate::views::{
    Confirm, ConfirmMany, ConfirmManyResult, ConfirmOneResult, Confirmed, MemberPage,
    MemberPublicKey, MemberStatusView, MemberView, OrganizationView, SeatsView,
};
use crate::{App, Error, Principal, Result};
use admit_domain::{Actor, EventDetails, EventType, Membership, Organization, Status};
use admit_store::Expected;

/// Members per page of the listing.
pub const MEMBERS_PAGE_SIZE: usize = 50;
/// The most members one bulk confirmation takes.
pub const MAX_CONFIRMATIONS_PER_REQUEST: usize = 100;

impl App {
    pub async fn organization(&self, who: &Principal, org: &str) -> Result<OrganizationView> {
        let o = self.administrator(who, org).await?.org;
        Ok(self.organization_view(o))
    }

    pub(crate) fn organization_view(&self, o: Organization) -> OrganizationView {
        OrganizationView {
            version: o.settings_version,
            org_id: o.id.to_string(),
            seats: SeatsView {
                limit: o.seats.limit,
                autoscale_max: o.seats.autoscale_max,
                occupied: o.occupied_seats,
                subscribed: o.seats.subscribed(o.occupied_seats),
            },
            name: o.name,
            sso_identifier: o.sso_identifier.to_string(),
            sso_enabled: o.sso_enabled,
            member_decryption: o.member_decryption,
            policies: o.policies,
            invitation_lifetime_days: o.invitation_lifetime_days,
            reminder_days: o.reminder_days,
            created_at: o.created_at,
            scim_token_issued_at: o.scim_token.as_ref().map(|t| t.issued_at),
            admin_group: o.admin_group,
        }
    }

    pub async fn list_members(
        &self,
        who: &Principal,
        org: &str,
        status: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<MemberPage> {
        let admin = self.administrator(who, org).await?;
        let status = status
            .filter(|s| !s.is_empty())
            .map(|s| {
                Status::parse(s)
                    .ok_or_else(|| Error::InvalidRequest(format!("status: unknown status {s:?}")))
            })
            .transpose()?;
        let page = self
            .store()
            .list_memberships(&admin.org.id, status, cursor, MEMBERS_PAGE_SIZE)
            .await?;
        let now = self.now();
        let mut groups = self.group_names_by_member(&admin.org.id).await?;
        Ok(MemberPage {
            members: page
                .items
                .iter()
                .map(|m| MemberView {
                    groups: crate::scim::all_groups(
                        groups.remove(&m.member_id).unwrap_or_default(),
                        &m.idp_groups,
                    ),
                    ..MemberView::of(m, now)
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn confirm(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
        req: Confirm,
    ) -> Result<Confirmed> {
        let admin = self.administrator(who, org).await?;
        let status = self
            .confirm_one(&admin.org, &admin.actor, member, req.key)
            .await?;
        Ok(Confirmed { status })
    }

    #[tracing::instrument(skip_all, fields(org_id = %org, count = req.keys.len()))]
    pub async fn confirm_many(
        &self,
        who: &Principal,
        org: &str,
        req: ConfirmMany,
    ) -> Result<ConfirmManyResult> {
        let admin = self.administrator(who, org).await?;
        if req.keys.is_empty() || req.keys.len() > MAX_CONFIRMATIONS_PER_REQUEST {
            return Err(Error::InvalidRequest(format!(
                "keys: give 1 to {MAX_CONFIRMATIONS_PER_REQUEST} members"
            )));
        }
        let mut results = Vec::with_capacity(req.keys.len());
        for one in req.keys {
            let outcome = self
                .confirm_one(&admin.org, &admin.actor, &one.member_id, one.key)
                .await;
            results.push(match outcome {
                Ok(status) => ConfirmOneResult {
                    member_id: one.member_id,
                    status: Some(status),
                    error: None,
                },
                Err(e) => ConfirmOneResult {
                    member_id: one.member_id,
                    status: None,
                    error: Some(e.code()),
                },
            });
        }
        Ok(ConfirmManyResult { results })
    }

    /// Revoke a member: its access ends, its invitation stops working, its seat is freed.
    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn revoke(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
    ) -> Result<MemberStatusView> {
        self.move_seat(who, org, member, true).await
    }

    /// Restore a revoked member to the status it had; it takes a seat again.
    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn restore(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
    ) -> Result<MemberStatusView> {
        self.move_seat(who, org, member, false).await
    }

    /// Remove a member from the organization: the membership is deleted (its
    /// seat freed); the account and its SSO link stay.
    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn remove_member(&self, who: &Principal, org: &str, member: &str) -> Result<()> {
        let (org, m, actor) = self.member_to_change(who, org, member).await?;
        self.remove_as(&org, m, &actor).await
    }

    /// Remove `m` from `org` (authorized already), with `actor`'s event.
    pub(crate) async fn remove_as(
        &self,
        org: &Organization,
        m: Membership,
        actor: &Actor,
    ) -> Result<()> {
        let expected = self.guard_owners(org, &m, true).await?;
        let event = self.member_event(&m, actor, EventType::MemberRemoved, Default::default());
        self.store()
            .remove_membership(&m, &expected, &[event])
            .await?;
        tracing::info!("member removed");
        Ok(())
    }

    /// `GET /orgs/{org}/members/{member}/public-key`: what an administrator's
    /// client encrypts the organization key with before confirming, and its
    /// fingerprint to compare with the member's own page. Only for members
    /// with an account (accepted or confirmed; 409 otherwise).
    pub async fn member_public_key(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
    ) -> Result<MemberPublicKey> {
        let admin = self.administrator(who, org).await?;
        let m = self.member_in(&admin.org.id, member).await?;
        let user = match (m.status, &m.user_id) {
            (Status::Accepted | Status::Confirmed, Some(user)) => user,
            _ => {
                return Err(Error::Conflict(format!(
                    "only accepted or confirmed members have a public key here; this one is {}",
                    m.status
                )));
            }
        };
        let keys = self
            .store()
            .account(user)
            .await?
            .and_then(|a| a.keys)
            .ok_or_else(|| Error::Conflict("this member has no keys yet".into()))?;
        Ok(MemberPublicKey {
            member_id: m.member_id.to_string(),
            user_id: user.to_string(),
            fingerprint: keys.fingerprint(),
            public_key: keys.public_key,
        })
    }

    /// The organization and a member `who` may revoke, restore or remove.
    async fn member_to_change(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
    ) -> Result<(Organization, Membership, Actor)> {
        let admin = self.administrator(who, org).await?;
        let m = self.member_in(&admin.org.id, member).await?;
        if m.user_id.as_ref() == Some(&who.user_id) {
            return Err(Error::Conflict(
                "you cannot revoke, restore or remove yourself".into(),
            ));
        }
        if m.role == admit_domain::Role::Owner && admin.role != admit_domain::Role::Owner {
            return Err(Error::Forbidden);
        }
        Ok((admin.org, m, admin.actor))
    }

    async fn move_seat(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
        revoke: bool,
    ) -> Result<MemberStatusView> {
        let (org, m, actor) = self.member_to_change(who, org, member).await?;
        self.move_seat_as(&org, m, &actor, revoke).await
    }

    /// Revoke or restore `m` in `org` (authorized already), with `actor`'s event.
    pub(crate) async fn move_seat_as(
        &self,
        org: &Organization,
        m: Membership,
        actor: &Actor,
        revoke: bool,
    ) -> Result<MemberStatusView> {
        let mut changed = m.clone();
        let moved = if revoke {
            changed.end_sessions(&mut rand::rng());
            changed.revoke()
        } else {
            changed.restore()
        };
        moved.map_err(|e| Error::Conflict(format!("this member is {}: {e}", m.status)))?;
        let kind = if revoke {
            EventType::MemberRevoked
        } else {
            EventType::MemberRestored
        };
        let event = self.member_event(&m, actor, kind, Default::default());
        let expected = if revoke {
            self.guard_owners(org, &m, true).await?
        } else {
            Expected::as_read(&m)
        };
        self.store()
            .update_membership_seat(org, &changed, &expected, &[event])
            .await?;
        tracing::info!(status = %changed.status, "member {}", if revoke { "revoked" } else { "restored" });
        Ok(MemberStatusView {
            member_id: m.member_id.to_string(),
            status: changed.status,
        })
    }

    async fn confirm_one(
        &self,
        org: &Organization,
        actor: &Actor,
        member: &str,
        key: String,
    ) -> Result<Status> {
        admit_domain::account::check_key("key", &key).map_err(Error::invalid)?;
        let m = self.member_in(&org.id, member).await?;
        let mut confirmed = m.clone();
        confirmed.confirm(key, self.now()).map_err(|_| {
            Error::Conflict(format!(
                "only accepted members can be confirmed; this one is {}",
                m.status
            ))
        })?;
        let event = self.member_event(
            &m,
            actor,
            EventType::MemberConfirmed,
            EventDetails {
                key_handed_over: true,
                ..Default::default()
            },
        );
        self.store()
            .update_membership(&confirmed, &Expected::as_read(&m), &[event])
            .await?;
        tracing::info!(member_id = %m.member_id, "member confirmed");
        self.send_owed(org, confirmed.clone(), None).await;
        Ok(confirmed.status)
    }
}
