//! `/Users`: SCIM users and the memberships they provision.

use super::{ATTEMPTS, ScimCaller, ScimFailure, ScimResult, checked_name, meta};
use crate::App;
use crate::views::Invite;
use admit_domain::scim::user_name_key;
use admit_domain::{
    Email, EventDetails, EventType, MemberId, Membership, Role, ScimGroup, ScimId, ScimUser, Status,
};
use admit_scim_protocol::{ListQuery, Mode, ScimError, list_response, patch, schema, validate};
use admit_store::StoreError;
use serde_json::{Value, json};

/// Whether a membership counts as SCIM's `active`: it exists and is not revoked.
fn is_active(m: Option<&Membership>) -> bool {
    m.is_some_and(|m| m.status != Status::Revoked)
}

/// `active` as the body says (validation made it a boolean), else `default`.
fn wanted_active(attributes: &Value, default: bool) -> bool {
    attributes
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// The email a user's attributes give (contract: primary, else first work,
/// else first, else an email-shaped `userName`).
fn email_of(attributes: &Value) -> ScimResult<Email> {
    let raw = admit_scim_protocol::primary_email(attributes).ok_or_else(|| {
        ScimError::invalid_value("a user needs an email: in emails, or as its userName")
    })?;
    Email::parse(&raw)
        .map_err(|e| ScimError::invalid_value(format!("{raw:?} is not a usable email: {e}")).into())
}

impl App {
    /// The resource of `u` as served. The stored `active` only marks that
    /// the client assigned it: its value is always the membership's, and a
    /// client that removed it (`remove` of `active`) left it unassigned
    /// without changing the membership (RFC 7644 §3.5.2.2).
    fn user_resource(&self, u: &ScimUser, m: Option<&Membership>, groups: &[ScimGroup]) -> Value {
        let mut r = u.attributes.clone();
        let base = self.scim_base_url(&u.org_id);
        let of_user: Vec<Value> = groups
            .iter()
            .filter(|g| g.members.iter().any(|x| x.id == u.id))
            .map(|g| {
                json!({"value": g.id.as_str(), "display": g.display_name,
                       "$ref": format!("{base}/Groups/{}", g.id), "type": "direct"})
            })
            .collect();
        if let Some(o) = r.as_object_mut() {
            o.insert(
                "schemas".into(),
                json!([admit_scim_protocol::schema::USER.id]),
            );
            o.insert("id".into(), json!(u.id.as_str()));
            o.insert("userName".into(), json!(u.user_name));
            if o.contains_key("active") {
                o.insert("active".into(), json!(is_active(m)));
            }
            if !of_user.is_empty() {
                o.insert("groups".into(), Value::Array(of_user));
            }
            o.insert(
                "meta".into(),
                meta(
                    "User",
                    u.created_at,
                    u.updated_at,
                    format!("{base}/Users/{}", u.id),
                    u.version,
                ),
            );
        }
        r
    }

    async fn scim_user_of(&self, c: &ScimCaller, id: &str) -> ScimResult<ScimUser> {
        let id = ScimId::parse(id).ok_or_else(|| ScimError::not_found("no such user"))?;
        self.store()
            .scim_user(&c.org.id, &id)
            .await?
            .ok_or_else(|| ScimError::not_found("no such user").into())
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(
        &self,
        c: &ScimCaller,
        id: &str,
        q: &ListQuery,
    ) -> ScimResult<Value> {
        let u = self.scim_user_of(c, id).await?;
        let m = self.store().membership(&c.org.id, &u.member_id).await?;
        let groups = self.store().scim_groups(&c.org.id).await?;
        Ok(q.project(&self.user_resource(&u, m.as_ref(), &groups), &schema::USER))
    }

    /// `GET /Users`: `userName eq` through its guard; any other filter over
    /// the organization's users.
    pub async fn scim_list_users(&self, c: &ScimCaller, q: &ListQuery) -> ScimResult<Value> {
        if let Some(f) = &q.filter {
            f.check(&schema::USER)?;
        }
        let users = match q.filter.as_ref().and_then(|f| f.equality()) {
            Some((attr, value)) if attr == "userName" => self
                .store()
                .scim_user_by_name(&c.org.id, &user_name_key(&value))
                .await?
                .into_iter()
                .collect(),
            _ => self.store().scim_users(&c.org.id).await?,
        };
        let ids: Vec<MemberId> = users.iter().map(|u| u.member_id.clone()).collect();
        let members = if ids.is_empty() {
            Vec::new()
        } else {
            self.store().memberships(&c.org.id, &ids).await?
        };
        let groups = self.store().scim_groups(&c.org.id).await?;
        let matching: Vec<Value> = users
            .iter()
            .map(|u| {
                let m = members.iter().find(|m| m.member_id == u.member_id);
                self.user_resource(u, m, &groups)
            })
            .filter(|r| {
                q.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(r, &schema::USER))
            })
            .collect();
        let page = q
            .page(&matching)
            .iter()
            .map(|r| q.project(r, &schema::USER))
            .collect();
        Ok(list_response(matching.len(), q.start_index, page))
    }

    /// `POST /Users`: invites the user's email exactly as an administrator's
    /// invitation does (or links the membership that email already has),
    /// then records the user. An existing `userName` is 409 `uniqueness`.
    #[tracing::instrument(skip_all, fields(org_id = %c.org.id))]
    pub async fn scim_create_user(&self, c: &ScimCaller, body: &Value) -> ScimResult<Value> {
        let attributes = validate(&schema::USER, body, Mode::Create)?;
        let user_name = checked_name("userName", attributes["userName"].as_str())?;
        let email = email_of(&attributes)?;
        let active = wanted_active(&attributes, true);
        let key = user_name_key(&user_name);
        if self
            .store()
            .scim_user_by_name(&c.org.id, &key)
            .await?
            .is_some()
        {
            return Err(ScimError::uniqueness(format!("userName {user_name:?} exists")).into());
        }
        let member_id = MemberId::of(&c.org.id, &email);
        let m = self.store().membership(&c.org.id, &member_id).await?;
        let m = self.provision(c, &email, m, active).await?;
        let now = self.now();
        let user = ScimUser {
            org_id: c.org.id.clone(),
            id: ScimId::generate(&mut rand::rng()),
            member_id,
            user_name,
            attributes,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = self.scim_user_event(&user, &email, EventType::ScimUserCreated);
        match self.store().create_scim_user(&user, &[event]).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(ScimError::uniqueness("a user of this userName or id exists").into());
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(scim_id = %user.id, "scim user created");
        Ok(self.user_resource(&user, m.as_ref(), &[]))
    }

    /// `PUT /Users/{id}`.
    pub async fn scim_replace_user(
        &self,
        c: &ScimCaller,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        self.change_user(c, id, |current| {
            validate(&schema::USER, body, Mode::Replace(current))
        })
        .await
    }

    /// `PATCH /Users/{id}`.
    pub async fn scim_patch_user(
        &self,
        c: &ScimCaller,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        self.change_user(c, id, |current| patch::apply(&schema::USER, current, body))
            .await
    }

    /// Apply `edit` to the user as served, and what it implies: `active`
    /// revokes or restores, a new email re-invites (while invited only),
    /// and the record is rewritten conditional on the version read.
    async fn change_user(
        &self,
        c: &ScimCaller,
        id: &str,
        edit: impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> ScimResult<Value> {
        for _ in 0..ATTEMPTS {
            let u = self.scim_user_of(c, id).await?;
            let m = self.store().membership(&c.org.id, &u.member_id).await?;
            let groups = self.store().scim_groups(&c.org.id).await?;
            let current = self.user_resource(&u, m.as_ref(), &groups);
            let attributes = edit(&current)?;
            let user_name = checked_name("userName", attributes["userName"].as_str())?;
            let email = email_of(&attributes)?;
            let active = wanted_active(&attributes, is_active(m.as_ref()));
            if user_name_key(&user_name) != u.user_name_key()
                && self
                    .store()
                    .scim_user_by_name(&c.org.id, &user_name_key(&user_name))
                    .await?
                    .is_some()
            {
                return Err(ScimError::uniqueness(format!("userName {user_name:?} exists")).into());
            }
            let new_member = MemberId::of(&c.org.id, &email);
            let (member_id, m) = if new_member != u.member_id {
                self.move_email(c, m, &email, active).await?
            } else {
                (
                    u.member_id.clone(),
                    self.provision(c, &email, m, active).await?,
                )
            };
            let after = ScimUser {
                member_id,
                ..u.updated(user_name, attributes, self.now())
            };
            if after.user_name == u.user_name
                && after.attributes == u.attributes
                && after.member_id == u.member_id
            {
                return Ok(self.user_resource(&u, m.as_ref(), &groups));
            }
            let event = self.scim_user_event(&after, &email, EventType::ScimUserUpdated);
            match self.store().update_scim_user(&u, &after, &[event]).await {
                Ok(()) => {
                    if after.member_id != u.member_id {
                        self.repoint_groups(c, &after).await?;
                    }
                    return Ok(self.user_resource(&after, m.as_ref(), &groups));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::new(
            409,
            None,
            "the user kept changing while this request ran; try again",
        )
        .into())
    }

    /// `DELETE /Users/{id}`: the membership removed (an owner's stays), the
    /// user out of its groups, the record deleted.
    #[tracing::instrument(skip_all, fields(org_id = %c.org.id))]
    pub async fn scim_delete_user(&self, c: &ScimCaller, id: &str) -> ScimResult<()> {
        let u = self.scim_user_of(c, id).await?;
        if let Some(m) = self.store().membership(&c.org.id, &u.member_id).await? {
            self.refuse_owner(&m)?;
            self.remove_as(&c.org, m, &admit_domain::Actor::Scim)
                .await?;
        }
        self.remove_from_groups(c, &u.id).await?;
        let email = email_of(&u.attributes).ok();
        let event = self.event(
            &c.org.id,
            &admit_domain::Actor::Scim,
            EventType::ScimUserDeleted,
            Some(&u.member_id),
            EventDetails {
                email,
                ..Default::default()
            },
        );
        match self.store().delete_scim_user(&u, &[event]).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(scim_id = %u.id, "scim user deleted");
        Ok(())
    }

    /// SCIM acts as an administrator: an owner's membership is the owners'.
    fn refuse_owner(&self, m: &Membership) -> ScimResult<()> {
        if m.role == Role::Owner {
            return Err(ScimError::new(
                409,
                None,
                "this member is an owner of the organization: owners are managed in Admit, not by SCIM",
            )
            .into());
        }
        Ok(())
    }

    /// Make the membership of `email` what `active` says: invited when there
    /// is none (exactly as an administrator's invitation), revoked or
    /// restored when it exists. Returns the membership as it is now.
    async fn provision(
        &self,
        c: &ScimCaller,
        email: &Email,
        m: Option<Membership>,
        active: bool,
    ) -> ScimResult<Option<Membership>> {
        match m {
            None if active => {
                let result = self
                    .invite_as(
                        self.scim_admin(c),
                        Invite {
                            emails: vec![email.to_string()],
                            role: Role::User,
                        },
                    )
                    .await
                    .map_err(|e| match e {
                        crate::Error::NoSeats => ScimFailure::Scim(ScimError::new(
                            409,
                            None,
                            "the organization has no free seat",
                        )),
                        e => e.into(),
                    })?;
                if result.invited.is_empty()
                    && result
                        .skipped
                        .iter()
                        .any(|s| s.reason == crate::views::SkipReason::NoSeats)
                {
                    return Err(
                        ScimError::new(409, None, "the organization has no free seat").into(),
                    );
                }
                Ok(self
                    .store()
                    .membership(&c.org.id, &MemberId::of(&c.org.id, email))
                    .await?)
            }
            None => Ok(None),
            Some(m) if is_active(Some(&m)) != active => {
                self.refuse_owner(&m)?;
                self.move_seat_as(&c.org, m.clone(), &admit_domain::Actor::Scim, !active)
                    .await?;
                Ok(self.store().membership(&c.org.id, &m.member_id).await?)
            }
            Some(m) => Ok(Some(m)),
        }
    }

    /// A new email for a user whose membership is `m`: while invited (or
    /// never provisioned), the new address is invited and the old
    /// invitation removed; once accepted, 400 `mutability`.
    async fn move_email(
        &self,
        c: &ScimCaller,
        m: Option<Membership>,
        email: &Email,
        active: bool,
    ) -> ScimResult<(MemberId, Option<Membership>)> {
        if let Some(old) = &m
            && (old.user_id.is_some() || !matches!(old.status, Status::Invited | Status::Revoked))
        {
            return Err(ScimError::mutability(
                "the email of a member who has accepted cannot change; remove the user and create it again",
            )
            .into());
        }
        let member_id = MemberId::of(&c.org.id, email);
        let existing = self.store().membership(&c.org.id, &member_id).await?;
        let now = self.provision(c, email, existing, active).await?;
        if let Some(old) = m {
            self.remove_as(&c.org, old, &admit_domain::Actor::Scim)
                .await?;
        }
        Ok((member_id, now))
    }

    fn scim_user_event(&self, u: &ScimUser, email: &Email, kind: EventType) -> admit_domain::Event {
        self.event(
            &u.org_id,
            &admit_domain::Actor::Scim,
            kind,
            Some(&u.member_id),
            EventDetails {
                email: Some(email.clone()),
                ..Default::default()
            },
        )
    }
}
