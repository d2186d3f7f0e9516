//! Day-2 administration: roles (owners rule owners; the last confirmed
//! owner stays), the seat plan, the invitation lifetime and reminder days,
//! and deleting one's own account.

use crate::views::{
    ChangeRole, DeleteAccount, MemberView, OrganizationView, PutOrgSettings, PutSeats,
};
use crate::{App, Error, Principal, Result, passwords};
use admit_domain::{
    Actor, EventDetails, EventType, MasterPasswordHash, Membership, OrgId, Organization, Role,
    SeatPlan, Status,
};
use admit_store::{Expected, StoreError};

/// How many times a write that met a concurrent change is tried again.
const ATTEMPTS: usize = 3;
/// How recent a session must be to delete an account without a master password.
const FRESH_SESSION: time::Duration = time::Duration::minutes(5);
/// The longest invitation lifetime, in days.
const MAX_INVITATION_DAYS: u32 = 30;

impl App {
    /// The confirmed owners of `org`, counted over every membership (only
    /// writes that may change who the owners are pay for it).
    async fn confirmed_owners(&self, org: &OrgId) -> Result<usize> {
        let mut owners = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store()
                .list_memberships(
                    org,
                    Some(Status::Confirmed),
                    cursor.as_deref(),
                    admit_store::MAX_PAGE_SIZE,
                )
                .await?;
            owners += page.items.iter().filter(|m| m.role == Role::Owner).count();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(owners),
            }
        }
    }

    /// What a write that changes `m` (losing its owner role or its access,
    /// when `m` is a confirmed owner) expects: the membership as read and,
    /// for an owner, the owners as counted — refusing to leave none.
    pub(crate) async fn guard_owners(
        &self,
        org: &Organization,
        m: &Membership,
        losing_owner: bool,
    ) -> Result<Expected> {
        let owner_involved = m.role == Role::Owner;
        if !owner_involved {
            return Ok(Expected::as_read(m));
        }
        if losing_owner
            && m.status == Status::Confirmed
            && self.confirmed_owners(&org.id).await? < 2
        {
            return Err(Error::Conflict(
                "this is the organization's last confirmed owner; make another member owner first"
                    .into(),
            ));
        }
        Ok(Expected::with_owners(m, org))
    }

    /// `PATCH /orgs/{org}/members/{member}` `{role}`.
    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn change_role(
        &self,
        who: &Principal,
        org: &str,
        member: &str,
        req: ChangeRole,
    ) -> Result<MemberView> {
        for _ in 0..ATTEMPTS {
            let admin = self.administrator(who, org).await?;
            let m = self.member_in(&admin.org.id, member).await?;
            if (m.role == Role::Owner || req.role == Role::Owner) && admin.role != Role::Owner {
                return Err(Error::Forbidden);
            }
            let mut changed = m.clone();
            if changed.set_role(req.role).is_err() {
                // Already so: nothing to change, nothing to record.
                return Ok(MemberView::of(&m, self.now()));
            }
            let losing_owner = m.role == Role::Owner;
            let mut expected = self.guard_owners(&admin.org, &m, losing_owner).await?;
            if req.role == Role::Owner {
                // A promotion changes who the owners are too: serialize it.
                expected.owners_version = Some(admin.org.owners_version);
            }
            let event = self.member_event(
                &m,
                &admin.actor,
                EventType::MemberRoleChanged,
                EventDetails {
                    old_role: Some(m.role),
                    role: Some(req.role),
                    ..Default::default()
                },
            );
            match self
                .store()
                .update_membership(&changed, &expected, &[event])
                .await
            {
                Ok(()) => {
                    tracing::info!(role = ?req.role, "role changed");
                    return Ok(MemberView::of(&changed, self.now()));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the members changed while this request ran; try again".into(),
        ))
    }

    /// `PUT /orgs/{org}/seats` (owners): the seat limit and autoscaling,
    /// never below the seats occupied.
    pub async fn set_seats(
        &self,
        who: &Principal,
        org: &str,
        req: PutSeats,
    ) -> Result<OrganizationView> {
        let admin = self.administrator(who, org).await?;
        if admin.role != Role::Owner {
            return Err(Error::Forbidden);
        }
        let plan = SeatPlan {
            limit: req.limit,
            autoscale_max: req.autoscale_max,
        };
        if !plan.is_valid() {
            return Err(Error::InvalidRequest(
                "autoscale_max: needs a limit and must not be below it".into(),
            ));
        }
        let below = || Error::Conflict("the seat limit cannot go below the seats occupied".into());
        let edited = self
            .edit_settings(
                who,
                org,
                None,
                EventType::SeatsChanged,
                |o: &mut Organization| {
                    if plan.capacity().is_some_and(|c| c < o.occupied_seats) {
                        return Err(below());
                    }
                    o.seats = plan;
                    Ok(())
                },
            )
            .await;
        match edited {
            Err(Error::NoSeats) => Err(below()),
            other => Ok(self.organization_view(other?)),
        }
    }

    /// `PUT /orgs/{org}/settings`: the invitation lifetime and the days
    /// after sending at which reminders go, which fall before expiry; and
    /// (owners only) the admin group, which the members' roles then follow
    /// at once ([`crate::admin_group`]).
    pub async fn set_org_settings(
        &self,
        who: &Principal,
        org: &str,
        req: PutOrgSettings,
    ) -> Result<OrganizationView> {
        let admin_group = match &req.admin_group {
            Some(raw) => {
                if self.administrator(who, org).await?.role != Role::Owner {
                    return Err(Error::Forbidden);
                }
                Some(
                    admit_domain::sso_config::attribute_name("admin_group", raw.as_deref())
                        .map_err(Error::invalid)?,
                )
            }
            None => None,
        };
        if req
            .invitation_days
            .is_some_and(|d| !(1..=MAX_INVITATION_DAYS).contains(&d))
        {
            return Err(Error::InvalidRequest(format!(
                "invitation_days: 1 to {MAX_INVITATION_DAYS}"
            )));
        }
        let edited = self
            .edit_settings(
                who,
                org,
                None,
                EventType::OrgSettingsChanged,
                |o: &mut Organization| {
                    let days = req.invitation_days.unwrap_or(o.invitation_lifetime_days);
                    let mut reminders = req
                        .reminder_days
                        .clone()
                        .unwrap_or_else(|| o.reminder_days.clone());
                    reminders.sort_unstable();
                    reminders.dedup();
                    if reminders.len() > 10 || reminders.iter().any(|d| *d == 0 || *d >= days) {
                        return Err(Error::InvalidRequest(format!(
                            "reminder_days: at most 10 days, each from 1 to {} (before the invitation expires)",
                            days.saturating_sub(1)
                        )));
                    }
                    o.invitation_lifetime_days = days;
                    o.reminder_days = reminders;
                    if let Some(group) = &admin_group {
                        o.admin_group.clone_from(group);
                    }
                    Ok(())
                },
            )
            .await?;
        if admin_group.is_some() {
            // Also when unchanged: a retried request finishes what a failed one began.
            let actor = self.administrator(who, org).await?.actor;
            let moved = self.follow_admin_group_everywhere(&edited, &actor).await?;
            tracing::info!(moved, "roles follow the admin group");
        }
        Ok(self.organization_view(edited))
    }

    /// `DELETE /me`: the account, its identity links and its memberships
    /// (seats freed) go; the email may then be provisioned afresh. Proved
    /// by the master password, or, for an account without one, by a
    /// session begun in the last five minutes. The last confirmed owner of
    /// an organization cannot leave it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(&self, who: &Principal, req: DeleteAccount) -> Result<()> {
        let account = self.account_of(who).await?;
        match (
            &account.master_password,
            req.master_password_hash.as_deref(),
        ) {
            (Some(stored), Some(raw)) => {
                self.count_request().await?;
                let secret = MasterPasswordHash::parse(raw).map_err(Error::invalid)?;
                self.check_password_budget(&account.email).await?;
                if !passwords::verify(&secret, Some(&stored.verifier)).await? {
                    self.count_password_failure(&account.email).await?;
                    self.record_login_failure(&account).await;
                    return Err(Error::WrongCredentials);
                }
            }
            (Some(_), None) => {
                return Err(Error::InvalidRequest(
                    "master_password_hash: required to delete an account that has one".into(),
                ));
            }
            (None, _) if who.started + FRESH_SESSION < self.now() => {
                return Err(Error::Forbidden);
            }
            (None, _) => {}
        }
        let actor = Actor::user(&account.id, &account.email);
        for _ in 0..ATTEMPTS {
            let memberships = self.store().memberships_of_user(&account.id).await?;
            let mut writes = Vec::with_capacity(memberships.len());
            let mut events = Vec::with_capacity(memberships.len());
            for m in memberships {
                let Some(org) = self.store().organization(&m.org_id).await? else {
                    continue;
                };
                let expected = self.guard_owners(&org, &m, true).await.map_err(|_| {
                    Error::Conflict(format!(
                        "you are the last confirmed owner of {}; make another member owner first",
                        org.name
                    ))
                })?;
                events.push(self.member_event(
                    &m,
                    &actor,
                    EventType::MemberRemoved,
                    EventDetails {
                        via: Some("account_deleted".into()),
                        ..Default::default()
                    },
                ));
                writes.push((m, expected));
            }
            match self
                .store()
                .delete_account(&account, &writes, &events)
                .await
            {
                Ok(()) => {
                    tracing::info!(memberships = writes.len(), "account deleted");
                    // Its sessions no longer find their account; this one goes now.
                    self.store().delete_session(&who.session).await?;
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the account's memberships changed while it was deleted; try again".into(),
        ))
    }
}
