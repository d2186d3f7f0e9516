//! Memberships and every transition of the product's state diagram:
//!
//! ```text
//!  invited ──accept──▶ accepted ──confirm──▶ confirmed
//!     └──────── revoke ────┴───── revoke ───────┘──▶ revoked ──restore──▶ previous status
//! ```
//!
//! What email each transition owes, and how an owed email is claimed, sent
//! and moved on, are [`crate::owed_mail`]'s.

use crate::invitation::{InvitationError, InvitationToken, IssuedInvitation};
use crate::owed_mail::{Change, OwedMail};
use crate::{Email, Invitation, MemberId, OrgId, Timestamp, UserId};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Duration;

pub use crate::owed_mail::ClaimedMail;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    User,
}

impl Role {
    /// Owners and admins administer the organization.
    pub fn administers(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Invited,
    Accepted,
    Confirmed,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Invited => "invited",
            Status::Accepted => "accepted",
            Status::Confirmed => "confirmed",
            Status::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Invited,
            Status::Accepted,
            Status::Confirmed,
            Status::Revoked,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The actions of the state diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Confirm,
    Revoke,
    Restore,
    Reinvite,
    ChangeRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action:?} a membership that is {from}")]
pub struct TransitionError {
    pub from: Status,
    pub action: Action,
}

/// An email's (later an account's) membership in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub email: Email,
    pub user_id: Option<UserId>,
    pub role: Role,
    pub status: Status,
    /// Set while `revoked`: the status `restore` returns to.
    pub revoked_from: Option<Status>,
    /// Present while `invited` by email; `None` once accepted, and for
    /// memberships created by SSO without an invitation.
    pub invitation: Option<Invitation>,
    pub invited_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub confirmed_at: Option<Timestamp>,
    /// The organization key encrypted for this member by a confirming admin; opaque.
    pub org_key: Option<String>,
    /// The email this membership owes (see [`crate::owed_mail`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<OwedMail>,
    /// The generation of this membership's sessions: a session scoped to
    /// the organization records it when it starts and lives only while it is
    /// unchanged. Revoking draws a new one, so a restore does not bring the
    /// old sessions back; a membership removed and made again has another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    /// The groups the organization's IdP sent at the member's last SSO
    /// sign-in ([`crate::idp_groups`]), replaced at each sign-in that says
    /// them. SCIM's groups are kept apart (its own group records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idp_groups: Vec<String>,
    /// Who set the role last, which decides whether the organization's
    /// admin group may move it ([`Membership::follow_admin_group`]).
    #[serde(default, skip_serializing_if = "RoleSource::is_invitation")]
    pub role_source: RoleSource,
}

/// Who set a member's role last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// The invitation (or the sign-in that created the membership): the
    /// admin group may move it.
    #[default]
    Invitation,
    /// The admin group gave it, and takes it back when the member leaves.
    Group,
    /// An administrator set it: the admin group never moves it.
    Hand,
}

impl RoleSource {
    pub fn is_invitation(&self) -> bool {
        *self == RoleSource::Invitation
    }
}

impl Membership {
    /// A new `invited` membership of `email`, and the token for its email.
    pub fn invite(
        org: &OrgId,
        email: Email,
        role: Role,
        now: Timestamp,
        lifetime: Duration,
        rng: &mut impl CryptoRng,
    ) -> (Membership, InvitationToken) {
        let member_id = MemberId::of(org, &email);
        let IssuedInvitation { invitation, token } =
            Invitation::issue(org, &member_id, now, lifetime, rng);
        let mut m = Membership {
            org_id: org.clone(),
            member_id,
            email,
            user_id: None,
            role,
            status: Status::Invited,
            revoked_from: None,
            invitation: Some(invitation),
            invited_at: now,
            accepted_at: None,
            confirmed_at: None,
            org_key: None,
            mail: None,
            sessions: Some(rng.next_u64()),
            idp_groups: Vec::new(),
            role_source: RoleSource::Invitation,
        };
        m.owe_after(Change::Invited { at: now });
        (m, token)
    }

    /// A membership created just in time by SSO for a person who was not
    /// invited: `invited` (its setup step is unfinished), already linked to
    /// its new account, without an invitation token.
    pub fn just_in_time(org: &OrgId, email: Email, user: UserId, now: Timestamp) -> Membership {
        Membership {
            org_id: org.clone(),
            member_id: MemberId::of(org, &email),
            email,
            user_id: Some(user),
            role: Role::User,
            status: Status::Invited,
            revoked_from: None,
            invitation: None,
            invited_at: now,
            accepted_at: None,
            confirmed_at: None,
            org_key: None,
            mail: None,
            sessions: None,
            idp_groups: Vec::new(),
            role_source: RoleSource::Invitation,
        }
    }

    /// Memberships that count against the organization's seats.
    pub fn occupies_seat(&self) -> bool {
        self.status != Status::Revoked
    }

    fn refuse<T>(&self, action: Action) -> Result<T, TransitionError> {
        Err(TransitionError {
            from: self.status,
            action,
        })
    }

    /// Does `token` open this membership's invitation at `now`?
    pub fn check_invitation(
        &self,
        token: &InvitationToken,
        now: Timestamp,
    ) -> Result<(), InvitationError> {
        if token.org_id != self.org_id
            || token.member_id != self.member_id
            || self.status != Status::Invited
        {
            return Err(InvitationError::Unknown);
        }
        self.invitation
            .as_ref()
            .ok_or(InvitationError::Unknown)?
            .check(token, now)
    }

    /// invited → accepted, by `user`. Consumes the invitation.
    pub fn accept(&mut self, user: UserId, now: Timestamp) -> Result<(), TransitionError> {
        if self.status != Status::Invited {
            return self.refuse(Action::Accept);
        }
        self.status = Status::Accepted;
        self.user_id = Some(user);
        self.invitation = None;
        self.owe_after(Change::Accepted { at: now });
        self.accepted_at = Some(now);
        Ok(())
    }

    /// The owner named when the organization was created has nobody to confirm
    /// them: accepting confirms at once. Only for `owner` memberships.
    pub fn accept_as_bootstrap_owner(
        &mut self,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        if self.role != Role::Owner {
            return self.refuse(Action::Confirm);
        }
        self.accept(user, now)?;
        self.status = Status::Confirmed;
        self.confirmed_at = Some(now);
        self.owe_after(Change::ConfirmedAsBootstrapOwner);
        Ok(())
    }

    /// accepted → confirmed, storing the organization key encrypted for the member.
    pub fn confirm(&mut self, org_key: String, now: Timestamp) -> Result<(), TransitionError> {
        if self.status != Status::Accepted {
            return self.refuse(Action::Confirm);
        }
        self.status = Status::Confirmed;
        self.org_key = Some(org_key);
        self.confirmed_at = Some(now);
        self.owe_after(Change::Confirmed { at: now });
        Ok(())
    }

    /// invited | accepted | confirmed → revoked. An invitation stops working.
    pub fn revoke(&mut self) -> Result<(), TransitionError> {
        if self.status == Status::Revoked {
            return self.refuse(Action::Revoke);
        }
        self.revoked_from = Some(self.status);
        self.status = Status::Revoked;
        self.invitation = None;
        self.owe_after(Change::Revoked);
        Ok(())
    }

    /// End the member's sessions scoped to this organization (revoking
    /// does; removing does by deleting the membership): a new generation.
    pub fn end_sessions(&mut self, rng: &mut impl CryptoRng) {
        self.sessions = Some(rng.next_u64());
    }

    /// Does a session scoped to this organization, started when the
    /// membership's session generation was `generation`, still act here?
    /// Not once the member is revoked, nor after a revocation or removal.
    pub fn admits_session(&self, generation: Option<u64>) -> bool {
        self.status != Status::Revoked && self.sessions == generation
    }

    /// Change the member's role. Whether the caller may is the use case's
    /// to decide (owners rule owners; the last owner stays).
    /// The role is then the administrator's ([`RoleSource::Hand`]): the
    /// admin group no longer moves it. Setting the role the admin group
    /// gave keeps it and makes it the administrator's.
    pub fn set_role(&mut self, role: Role) -> Result<(), TransitionError> {
        if role == self.role && self.role_source != RoleSource::Group {
            return self.refuse(Action::ChangeRole);
        }
        self.role = role;
        self.role_source = RoleSource::Hand;
        Ok(())
    }

    /// Follow the organization's admin group: a `user` in it becomes
    /// `admin` ([`RoleSource::Group`]); an admin the group made, no longer
    /// in it, becomes `user` again. An owner, and a role an administrator
    /// set by hand ([`RoleSource::Hand`]), stay as they are: the group never
    /// grants `owner` nor undoes an administrator's choice. Returns the role
    /// before and after when it changed.
    pub fn follow_admin_group(&mut self, in_group: bool) -> Option<(Role, Role)> {
        let old = self.role;
        match (in_group, self.role, self.role_source) {
            (_, _, RoleSource::Hand) => return None,
            (true, Role::User, _) => {
                self.role = Role::Admin;
                self.role_source = RoleSource::Group;
            }
            (false, Role::Admin, RoleSource::Group) => {
                self.role = Role::User;
                self.role_source = RoleSource::Invitation;
            }
            _ => return None,
        }
        Some((old, self.role))
    }

    /// Whether the admin group could move this role at all.
    pub fn role_follows_group(&self) -> bool {
        self.role_source != RoleSource::Hand
            && (self.role == Role::User
                || (self.role == Role::Admin && self.role_source == RoleSource::Group))
    }

    /// revoked → the status it had. A restored invitation needs a reinvite
    /// to get a token; a member restored to `accepted` awaits confirmation
    /// again, so it is owed in the administrators' digest.
    pub fn restore(&mut self) -> Result<(), TransitionError> {
        match (self.status, self.revoked_from) {
            (Status::Revoked, Some(previous)) => {
                self.status = previous;
                self.revoked_from = None;
                self.owe_after(Change::Restored);
                Ok(())
            }
            _ => self.refuse(Action::Restore),
        }
    }

    /// invited → invited with a new token; the old one stops working.
    pub fn reinvite(
        &mut self,
        now: Timestamp,
        lifetime: Duration,
        rng: &mut impl CryptoRng,
    ) -> Result<InvitationToken, TransitionError> {
        if self.status != Status::Invited {
            return self.refuse(Action::Reinvite);
        }
        let sent_count = self.invitation.as_ref().map_or(0, |i| i.sent_count);
        let IssuedInvitation {
            mut invitation,
            token,
        } = Invitation::issue(&self.org_id, &self.member_id, now, lifetime, rng);
        invitation.sent_count = sent_count;
        self.invitation = Some(invitation);
        self.invited_at = now;
        self.owe_after(Change::Reinvited { at: now });
        Ok(token)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const T0: i64 = 1_800_000_000;

    /// An invitation of `role` at `T0` to a new organization (also the
    /// owed-mail tests' starting point).
    pub(crate) fn invited(role: Role) -> (Membership, InvitationToken) {
        let mut rng = rand::rng();
        let org = OrgId::generate(&mut rng);
        let email = Email::parse("m@x.test").unwrap();
        Membership::invite(
            &org,
            email,
            role,
            Timestamp::from_unix(T0),
            Duration::days(5),
            &mut rng,
        )
    }

    pub(crate) fn user() -> UserId {
        UserId::generate(&mut rand::rng())
    }

    fn in_status(status: Status) -> Membership {
        let (mut m, _) = invited(Role::User);
        let now = Timestamp::from_unix(T0);
        match status {
            Status::Invited => {}
            Status::Accepted => m.accept(user(), now).unwrap(),
            Status::Confirmed => {
                m.accept(user(), now).unwrap();
                m.confirm("k".into(), now).unwrap()
            }
            Status::Revoked => m.revoke().unwrap(),
        }
        m
    }

    const ALL: [Status; 4] = [
        Status::Invited,
        Status::Accepted,
        Status::Confirmed,
        Status::Revoked,
    ];

    /// Applies `action` to a membership in `from`; `Ok(new status)` or the refusal.
    fn apply(from: Status, action: Action) -> Result<Status, TransitionError> {
        let mut m = in_status(from);
        let now = Timestamp::from_unix(T0 + 60);
        match action {
            Action::Accept => m.accept(user(), now),
            Action::Confirm => m.confirm("key".into(), now),
            Action::Revoke => m.revoke(),
            Action::Restore => m.restore(),
            Action::Reinvite => m
                .reinvite(now, Duration::days(5), &mut rand::rng())
                .map(|_| ()),
            Action::ChangeRole => m.set_role(Role::Admin),
        }
        .map(|()| m.status)
    }

    #[test]
    fn every_allowed_and_refused_transition() {
        use Action::*;
        use Status::*;
        let allowed = |from: Status, action: Action| -> Option<Status> {
            match (from, action) {
                (Invited, Accept) => Some(Accepted),
                (Accepted, Confirm) => Some(Confirmed),
                (Invited | Accepted | Confirmed, Revoke) => Some(Revoked),
                (Invited, Reinvite) => Some(Invited),
                // Restore is tested below: it depends on the status before revocation.
                _ => None,
            }
        };
        for from in ALL {
            for action in [Accept, Confirm, Revoke, Reinvite] {
                match allowed(from, action) {
                    Some(to) => assert_eq!(apply(from, action), Ok(to), "{from} --{action:?}"),
                    None => assert_eq!(
                        apply(from, action),
                        Err(TransitionError { from, action }),
                        "{from} --{action:?}"
                    ),
                }
            }
        }
        for from in [Invited, Accepted, Confirmed] {
            assert_eq!(
                apply(from, Restore),
                Err(TransitionError {
                    from,
                    action: Restore
                })
            );
        }
    }

    #[test]
    fn restore_returns_to_the_status_before_revocation() {
        for previous in [Status::Invited, Status::Accepted, Status::Confirmed] {
            let mut m = in_status(previous);
            m.revoke().unwrap();
            assert!(!m.occupies_seat());
            m.restore().unwrap();
            assert_eq!(m.status, previous);
            assert!(m.occupies_seat());
            assert_eq!(m.revoked_from, None);
        }
    }

    #[test]
    fn accept_consumes_the_invitation() {
        let (mut m, token) = invited(Role::User);
        let now = Timestamp::from_unix(T0 + 1);
        assert_eq!(m.check_invitation(&token, now), Ok(()));
        m.accept(user(), now).unwrap();
        assert!(m.invitation.is_none());
        assert_eq!(
            m.check_invitation(&token, now),
            Err(InvitationError::Unknown)
        );
    }

    #[test]
    fn reinvite_kills_the_old_token_and_restarts_expiry() {
        let (mut m, old) = invited(Role::User);
        let later = Timestamp::from_unix(T0) + Duration::days(6);
        assert_eq!(
            m.check_invitation(&old, later),
            Err(InvitationError::Expired)
        );
        let new = m
            .reinvite(later, Duration::days(5), &mut rand::rng())
            .unwrap();
        assert_eq!(
            m.check_invitation(&old, later),
            Err(InvitationError::Unknown)
        );
        assert_eq!(m.check_invitation(&new, later), Ok(()));
        assert_eq!(m.invited_at, later);
    }

    #[test]
    fn revoked_invitation_no_longer_opens() {
        let (mut m, token) = invited(Role::User);
        m.revoke().unwrap();
        assert_eq!(
            m.check_invitation(&token, Timestamp::from_unix(T0)),
            Err(InvitationError::Unknown)
        );
    }

    #[test]
    fn a_token_for_another_membership_is_unknown() {
        let (m, _) = invited(Role::User);
        let (_, other) = invited(Role::User);
        assert_eq!(
            m.check_invitation(&other, Timestamp::from_unix(T0)),
            Err(InvitationError::Unknown)
        );
    }

    #[test]
    fn only_the_bootstrap_owner_is_confirmed_on_accept() {
        let now = Timestamp::from_unix(T0);
        let (mut owner, _) = invited(Role::Owner);
        owner.accept_as_bootstrap_owner(user(), now).unwrap();
        assert_eq!(owner.status, Status::Confirmed);
        let (mut member, _) = invited(Role::Admin);
        assert!(member.accept_as_bootstrap_owner(user(), now).is_err());
        assert_eq!(member.status, Status::Invited);
    }

    #[test]
    fn roles_that_administer() {
        assert!(
            Role::Owner.administers() && Role::Admin.administers() && !Role::User.administers()
        );
        for s in ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn the_admin_group_gives_and_takes_back_only_its_own_admin_role() {
        // A user in the group becomes admin; out of it, user again.
        let (mut m, _) = invited(Role::User);
        assert!(m.role_follows_group());
        assert_eq!(m.follow_admin_group(true), Some((Role::User, Role::Admin)));
        assert_eq!(m.role_source, RoleSource::Group);
        assert_eq!(m.follow_admin_group(true), None, "already");
        assert_eq!(m.follow_admin_group(false), Some((Role::Admin, Role::User)));
        assert_eq!(m.role_source, RoleSource::Invitation);
        assert_eq!(m.follow_admin_group(false), None);

        // An admin invited as one stays one out of the group.
        let (mut invited_admin, _) = invited(Role::Admin);
        assert!(!invited_admin.role_follows_group());
        assert_eq!(invited_admin.follow_admin_group(false), None);
        assert_eq!(invited_admin.follow_admin_group(true), None);
        assert_eq!(invited_admin.role, Role::Admin);

        // A role set by hand is the administrator's: the group leaves it,
        // a demotion as much as a promotion.
        let (mut demoted, _) = invited(Role::User);
        demoted.follow_admin_group(true);
        demoted.set_role(Role::User).unwrap();
        assert_eq!(demoted.role_source, RoleSource::Hand);
        assert!(!demoted.role_follows_group());
        assert_eq!(demoted.follow_admin_group(true), None);
        assert_eq!(demoted.role, Role::User);
        // Setting the role the group gave pins it; setting it again is nothing.
        let (mut pinned, _) = invited(Role::User);
        pinned.follow_admin_group(true);
        pinned.set_role(Role::Admin).unwrap();
        assert_eq!(
            (pinned.role, pinned.role_source),
            (Role::Admin, RoleSource::Hand)
        );
        assert!(pinned.set_role(Role::Admin).is_err());
        assert_eq!(pinned.follow_admin_group(false), None);
        assert_eq!(pinned.role, Role::Admin);

        // Owners are never the group's, either way.
        let (mut owner, _) = invited(Role::Owner);
        assert!(!owner.role_follows_group());
        assert_eq!(owner.follow_admin_group(true), None);
        assert_eq!(owner.follow_admin_group(false), None);
        assert_eq!(owner.role, Role::Owner);
    }
}
