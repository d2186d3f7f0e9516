//! The admin group: an owner names one group (`PUT /orgs/{org}/settings`
//! `admin_group`), and its members are admins. A member's groups are SCIM's
//! groups it is in and the groups its IdP sent at its last sign-in; the
//! role follows them wherever they change — at a sign-in, at a SCIM change
//! of a group, and when an owner names or changes the group — and only
//! between `user` and `admin` ([`Membership::follow_admin_group`]): never
//! to or from `owner`, never taking back an admin role set by hand.
//!
//! Each change is one write of the role alone
//! ([`admit_store::Memberships::set_groups_and_role`]) with its
//! `member.role_changed` event (`via: group`, `group`: the group's name).

use crate::{App, Result};
use admit_domain::{
    Actor, Event, EventDetails, EventType, MemberId, Membership, Organization, Role, RoleSource,
    ScimGroup, SsoConfig,
};
use admit_store::StoreError;
use std::collections::{HashMap, HashSet};

/// How many times a member's role change that met a concurrent change is tried again.
const ATTEMPTS: usize = 3;

/// The members a group write may move: those that entered or left the
/// admin group `admin` through it (or all of both sides when the write
/// renames the group to or from that name, creates or deletes it).
pub(crate) fn moved_by(
    admin: &str,
    before: Option<&ScimGroup>,
    after: Option<&ScimGroup>,
) -> Vec<MemberId> {
    let members = |g: Option<&ScimGroup>| -> HashSet<MemberId> {
        g.filter(|g| g.display_name == admin)
            .map(|g| g.members.iter().map(|m| m.member_id.clone()).collect())
            .unwrap_or_default()
    };
    let (was, is) = (members(before), members(after));
    let mut moved: Vec<MemberId> = was.symmetric_difference(&is).cloned().collect();
    moved.sort();
    moved
}

/// Whether `org` reads groups at sign-in (names a groups claim or
/// attribute): the IdP groups a membership kept from before count only then.
pub(crate) fn reads_idp_groups(org: &Organization) -> bool {
    match &org.sso {
        Some(SsoConfig::Oidc(c)) => c.groups_claim.is_some(),
        Some(SsoConfig::Saml(c)) => c.groups_attribute.is_some(),
        None => false,
    }
}

impl App {
    /// The `member.role_changed` event of the admin group `admin` (`None`:
    /// the group just cleared) moving `m` from `old` to its role now.
    pub(crate) fn group_role_event(
        &self,
        m: &Membership,
        old: Role,
        admin: Option<&str>,
        actor: &Actor,
    ) -> Event {
        self.member_event(
            m,
            actor,
            EventType::MemberRoleChanged,
            EventDetails {
                old_role: Some(old),
                role: Some(m.role),
                group: admin.map(str::to_owned),
                via: Some("group".into()),
                ..Default::default()
            },
        )
    }

    /// Whether member `m` of `org` is in `admin`: by its IdP groups (while
    /// the organization reads them), else by SCIM's (`scim`, read once by
    /// the caller, or here when `None`).
    pub(crate) async fn in_admin_group(
        &self,
        org: &Organization,
        admin: &str,
        m: &Membership,
        scim: Option<&HashMap<MemberId, Vec<String>>>,
    ) -> Result<bool> {
        if reads_idp_groups(org) && m.idp_groups.iter().any(|g| g == admin) {
            return Ok(true);
        }
        let in_scim = |names: &HashMap<MemberId, Vec<String>>| {
            names
                .get(&m.member_id)
                .is_some_and(|n| n.iter().any(|g| g == admin))
        };
        Ok(match scim {
            Some(names) => in_scim(names),
            None => in_scim(&self.group_names_by_member(&m.org_id).await?),
        })
    }

    /// Make the role of each of `members` follow `org`'s admin group, each
    /// on the membership as it is now (read again after a concurrent
    /// change). A member gone, or whose role the group does not move, is
    /// left alone. Returns how many roles changed.
    pub(crate) async fn follow_admin_group(
        &self,
        org: &Organization,
        members: &[MemberId],
        actor: &Actor,
    ) -> Result<usize> {
        let Some(admin) = org.admin_group.as_deref() else {
            return Ok(0);
        };
        if members.is_empty() {
            return Ok(0);
        }
        let scim = self.group_names_by_member(&org.id).await?;
        let mut changed = 0;
        for member in members {
            changed += usize::from(
                self.follow_one(org, member, Some(admin), &scim, actor)
                    .await?,
            );
        }
        Ok(changed)
    }

    /// Make `member`'s role follow `admin` (`None`: the group was cleared,
    /// and a role it gave goes back to `user`).
    async fn follow_one(
        &self,
        org: &Organization,
        member: &MemberId,
        admin: Option<&str>,
        scim: &HashMap<MemberId, Vec<String>>,
        actor: &Actor,
    ) -> Result<bool> {
        for _ in 0..ATTEMPTS {
            let Some(m) = self.store().membership(&org.id, member).await? else {
                return Ok(false);
            };
            let mut updated = m.clone();
            let in_group = match admin {
                Some(a) => self.in_admin_group(org, a, &m, Some(scim)).await?,
                None => false,
            };
            let Some((old, _)) = updated.follow_admin_group(in_group) else {
                return Ok(false);
            };
            let event = self.group_role_event(&updated, old, admin, actor);
            match self
                .store()
                .set_groups_and_role(&m, &updated, &[event])
                .await
            {
                Ok(()) => {
                    tracing::info!(member_id = %member, role = ?updated.role, "role follows the admin group");
                    return Ok(true);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(member_id = %member, "role not moved by the admin group: the membership kept changing");
        Ok(false)
    }

    /// After an owner named, changed or cleared the admin group: every
    /// member the group (old or new) may move — those it made admins, and
    /// those in the new group by either source — follows it now.
    pub(crate) async fn follow_admin_group_everywhere(
        &self,
        org: &Organization,
        actor: &Actor,
    ) -> Result<usize> {
        let scim = self.group_names_by_member(&org.id).await?;
        let admin = org.admin_group.as_deref();
        let idp = reads_idp_groups(org);
        let in_new = |m: &Membership| {
            admin.is_some_and(|a| {
                (idp && m.idp_groups.iter().any(|g| g == a))
                    || scim
                        .get(&m.member_id)
                        .is_some_and(|n| n.iter().any(|g| g == a))
            })
        };
        let mut candidates = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store()
                .list_memberships(&org.id, None, cursor.as_deref(), admit_store::MAX_PAGE_SIZE)
                .await?;
            candidates.extend(
                page.items
                    .iter()
                    .filter(|m| {
                        m.role_source == RoleSource::Group || (m.role_follows_group() && in_new(m))
                    })
                    .map(|m| m.member_id.clone()),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut changed = 0;
        for member in &candidates {
            // No group any more (`None`): the roles it gave go back.
            changed += usize::from(self.follow_one(org, member, admin, &scim, actor).await?);
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::{GroupMember, OrgId, ScimId, Timestamp};

    fn group(name: &str, members: &[&MemberId]) -> ScimGroup {
        ScimGroup {
            org_id: OrgId::generate(&mut rand::rng()),
            id: ScimId::generate(&mut rand::rng()),
            display_name: name.into(),
            external_id: None,
            members: members
                .iter()
                .map(|m| GroupMember {
                    id: ScimId::generate(&mut rand::rng()),
                    member_id: (*m).clone(),
                })
                .collect(),
            created_at: Timestamp::from_unix(0),
            updated_at: Timestamp::from_unix(0),
            version: 1,
        }
    }

    #[test]
    fn a_group_write_moves_who_entered_or_left_the_admin_group() {
        let org = OrgId::generate(&mut rand::rng());
        let [a, b, c] = ["a@x.test", "b@x.test", "c@x.test"]
            .map(|e| MemberId::of(&org, &admit_domain::Email::parse(e).unwrap()));
        let before = group("Admins", &[&a, &b]);
        let after = group("Admins", &[&b, &c]);
        let mut both = vec![a.clone(), c.clone()];
        both.sort();
        assert_eq!(moved_by("Admins", Some(&before), Some(&after)), both);
        // Created or deleted: all its members.
        let mut ab = vec![a.clone(), b.clone()];
        ab.sort();
        assert_eq!(moved_by("Admins", None, Some(&before)), ab);
        assert_eq!(moved_by("Admins", Some(&before), None), ab);
        // Renamed away from the admin group: all its members leave it.
        let renamed = group("Former admins", &[&a, &b]);
        assert_eq!(moved_by("Admins", Some(&before), Some(&renamed)), ab);
        // Another group moves no one.
        assert!(moved_by("Admins", Some(&renamed), Some(&group("Design", &[&c]))).is_empty());
    }
}
