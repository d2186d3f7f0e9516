//! `/Groups`: the organization's groups and their members (SCIM users).

use super::{ATTEMPTS, ScimCaller, ScimResult, checked_name, meta};
use crate::App;
use admit_domain::scim::MAX_GROUP_MEMBERS;
use admit_domain::{Actor, EventDetails, EventType, GroupMember, ScimGroup, ScimId, ScimUser};
use admit_scim_protocol::{ListQuery, Mode, ScimError, list_response, patch, schema, validate};
use admit_store::StoreError;
use serde_json::{Value, json};
use std::collections::HashMap;

impl App {
    /// The resource of `g` as served. Members carry no `display`: it is
    /// read-only and Admit keeps none (a client's is dropped), so a client
    /// reads back the members it wrote.
    fn group_resource(&self, g: &ScimGroup) -> Value {
        let base = self.scim_base_url(&g.org_id);
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|x| json!({"value": x.id.as_str(), "$ref": format!("{base}/Users/{}", x.id), "type": "User"}))
            .collect();
        let mut r = json!({
            "schemas": [schema::GROUP.id],
            "id": g.id.as_str(),
            "displayName": g.display_name,
            "members": members,
            "meta": meta("Group", g.created_at, g.updated_at, format!("{base}/Groups/{}", g.id), g.version),
        });
        if let Some(x) = &g.external_id {
            r["externalId"] = json!(x);
        }
        r
    }

    async fn users_by_id(&self, c: &ScimCaller) -> ScimResult<HashMap<ScimId, ScimUser>> {
        Ok(self
            .store()
            .scim_users(&c.org.id)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect())
    }

    async fn scim_group_of(&self, c: &ScimCaller, id: &str) -> ScimResult<ScimGroup> {
        let id = ScimId::parse(id).ok_or_else(|| ScimError::not_found("no such group"))?;
        self.store()
            .scim_group(&c.org.id, &id)
            .await?
            .ok_or_else(|| ScimError::not_found("no such group").into())
    }

    /// `displayName`, `externalId` and `members` of validated attributes,
    /// each member a user of this organization.
    fn group_fields(
        attributes: &Value,
        users: &HashMap<ScimId, ScimUser>,
    ) -> ScimResult<(String, Option<String>, Vec<GroupMember>)> {
        let name = checked_name("displayName", attributes["displayName"].as_str())?;
        let external = attributes["externalId"].as_str().map(str::to_owned);
        let mut members: Vec<GroupMember> = Vec::new();
        for v in attributes["members"].as_array().into_iter().flatten() {
            let raw = v["value"].as_str().unwrap_or_default();
            let u = ScimId::parse(raw)
                .and_then(|id| users.get(&id))
                .ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "member {raw:?} is no user of this organization"
                    ))
                })?;
            if !members.iter().any(|m| m.id == u.id) {
                members.push(GroupMember {
                    id: u.id.clone(),
                    member_id: u.member_id.clone(),
                });
            }
        }
        if members.len() > MAX_GROUP_MEMBERS {
            return Err(ScimError::invalid_value(format!(
                "a group holds at most {MAX_GROUP_MEMBERS} members"
            ))
            .into());
        }
        Ok((name, external, members))
    }

    fn group_event(&self, g: &ScimGroup, kind: EventType) -> admit_domain::Event {
        self.event(
            &g.org_id,
            &Actor::Scim,
            kind,
            None,
            EventDetails {
                group: Some(g.display_name.clone()),
                ..Default::default()
            },
        )
    }

    /// `GET /Groups/{id}`.
    pub async fn scim_get_group(
        &self,
        c: &ScimCaller,
        id: &str,
        q: &ListQuery,
    ) -> ScimResult<Value> {
        let g = self.scim_group_of(c, id).await?;
        Ok(q.project(&self.group_resource(&g), &schema::GROUP))
    }

    /// `GET /Groups`, filtered over the organization's groups.
    pub async fn scim_list_groups(&self, c: &ScimCaller, q: &ListQuery) -> ScimResult<Value> {
        if let Some(f) = &q.filter {
            f.check(&schema::GROUP)?;
        }
        let groups = self.store().scim_groups(&c.org.id).await?;
        let matching: Vec<Value> = groups
            .iter()
            .map(|g| self.group_resource(g))
            .filter(|r| {
                q.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(r, &schema::GROUP))
            })
            .collect();
        let page = q
            .page(&matching)
            .iter()
            .map(|r| q.project(r, &schema::GROUP))
            .collect();
        Ok(list_response(matching.len(), q.start_index, page))
    }

    /// `POST /Groups`.
    #[tracing::instrument(skip_all, fields(org_id = %c.org.id))]
    pub async fn scim_create_group(&self, c: &ScimCaller, body: &Value) -> ScimResult<Value> {
        let attributes = validate(&schema::GROUP, body, Mode::Create)?;
        let users = self.users_by_id(c).await?;
        let (display_name, external_id, members) = Self::group_fields(&attributes, &users)?;
        let now = self.now();
        let g = ScimGroup {
            org_id: c.org.id.clone(),
            id: ScimId::generate(&mut rand::rng()),
            display_name,
            external_id,
            members,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = self.group_event(&g, EventType::ScimGroupCreated);
        self.store().put_scim_group(&g, None, &[event]).await?;
        tracing::info!(scim_id = %g.id, members = g.members.len(), "scim group created");
        self.after_group_write(c, None, Some(&g)).await;
        Ok(self.group_resource(&g))
    }

    /// `PUT /Groups/{id}`.
    pub async fn scim_replace_group(
        &self,
        c: &ScimCaller,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        self.change_group(c, id, |current| {
            validate(&schema::GROUP, body, Mode::Replace(current))
        })
        .await
    }

    /// `PATCH /Groups/{id}` (members added and removed in any batch size).
    pub async fn scim_patch_group(
        &self,
        c: &ScimCaller,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        self.change_group(c, id, |current| patch::apply(&schema::GROUP, current, body))
            .await
    }

    async fn change_group(
        &self,
        c: &ScimCaller,
        id: &str,
        edit: impl Fn(&Value) -> Result<Value, ScimError>,
    ) -> ScimResult<Value> {
        for _ in 0..ATTEMPTS {
            let g = self.scim_group_of(c, id).await?;
            let users = self.users_by_id(c).await?;
            let attributes = edit(&self.group_resource(&g))?;
            let (display_name, external_id, members) = Self::group_fields(&attributes, &users)?;
            let after = ScimGroup {
                display_name,
                external_id,
                members,
                updated_at: self.now(),
                version: g.version + 1,
                ..g.clone()
            };
            if (&after.display_name, &after.external_id, &after.members)
                == (&g.display_name, &g.external_id, &g.members)
            {
                return Ok(self.group_resource(&g));
            }
            let event = self.group_event(&after, EventType::ScimGroupUpdated);
            match self
                .store()
                .put_scim_group(&after, Some(g.version), &[event])
                .await
            {
                Ok(()) => {
                    self.after_group_write(c, Some(&g), Some(&after)).await;
                    return Ok(self.group_resource(&after));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::new(
            409,
            None,
            "the group kept changing while this request ran; try again",
        )
        .into())
    }

    /// `DELETE /Groups/{id}`.
    pub async fn scim_delete_group(&self, c: &ScimCaller, id: &str) -> ScimResult<()> {
        let g = self.scim_group_of(c, id).await?;
        let event = self.group_event(&g, EventType::ScimGroupDeleted);
        match self.store().delete_scim_group(&g, &[event]).await {
            Ok(()) => {
                self.after_group_write(c, Some(&g), None).await;
                Ok(())
            }
            Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// After a group's write: the members it moved into or out of the
    /// organization's admin group follow it ([`crate::admin_group`]). The
    /// group's change stands whatever happens here: a role that could not
    /// follow now follows at the member's next sign-in or group change.
    async fn after_group_write(
        &self,
        c: &ScimCaller,
        before: Option<&ScimGroup>,
        after: Option<&ScimGroup>,
    ) {
        let Some(admin) = c.org.admin_group.as_deref() else {
            return;
        };
        let moved = crate::admin_group::moved_by(admin, before, after);
        if let Err(e) = self.follow_admin_group(&c.org, &moved, &Actor::Scim).await {
            tracing::warn!(error = %e, "roles not moved by the admin group now; they follow at the members' next sign-in");
        }
    }

    /// Rewrite every group holding `u` with its membership now.
    pub(super) async fn repoint_groups(&self, c: &ScimCaller, u: &ScimUser) -> ScimResult<()> {
        self.edit_groups_of(c, &u.id, |members| {
            for m in members.iter_mut().filter(|m| m.id == u.id) {
                m.member_id = u.member_id.clone();
            }
        })
        .await
    }

    /// Take `user` out of every group.
    pub(super) async fn remove_from_groups(&self, c: &ScimCaller, user: &ScimId) -> ScimResult<()> {
        self.edit_groups_of(c, user, |members| members.retain(|m| &m.id != user))
            .await
    }

    async fn edit_groups_of(
        &self,
        c: &ScimCaller,
        user: &ScimId,
        edit: impl Fn(&mut Vec<GroupMember>),
    ) -> ScimResult<()> {
        for _ in 0..ATTEMPTS {
            let mut conflicted = false;
            for g in self.store().scim_groups(&c.org.id).await? {
                if !g.members.iter().any(|m| &m.id == user) {
                    continue;
                }
                let mut after = ScimGroup {
                    updated_at: self.now(),
                    version: g.version + 1,
                    ..g.clone()
                };
                edit(&mut after.members);
                let event = self.group_event(&after, EventType::ScimGroupUpdated);
                match self
                    .store()
                    .put_scim_group(&after, Some(g.version), &[event])
                    .await
                {
                    Ok(()) => self.after_group_write(c, Some(&g), Some(&after)).await,
                    Err(StoreError::Conflict) => conflicted = true,
                    Err(e) => return Err(e.into()),
                }
            }
            if !conflicted {
                return Ok(());
            }
        }
        Err(ScimError::new(
            409,
            None,
            "the groups kept changing while this request ran; try again",
        )
        .into())
    }

    /// The names of the SCIM groups each membership of `org` is in (for
    /// the member listing and `/me`).
    pub(crate) async fn group_names_by_member(
        &self,
        org: &admit_domain::OrgId,
    ) -> crate::Result<HashMap<admit_domain::MemberId, Vec<String>>> {
        let mut out: HashMap<admit_domain::MemberId, Vec<String>> = HashMap::new();
        for g in self.store().scim_groups(org).await? {
            for m in &g.members {
                out.entry(m.member_id.clone())
                    .or_default()
                    .push(g.display_name.clone());
            }
        }
        for names in out.values_mut() {
            names.sort();
            names.dedup();
        }
        Ok(out)
    }
}
