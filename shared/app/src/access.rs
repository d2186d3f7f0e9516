//! Who is calling, and what they may do.

use crate::{App, Error, Result};
use admit_domain::{
    Account, Actor, MemberId, Membership, OrgId, Organization, Secret, Status, TokenDigest, UserId,
};

/// A caller with a live session.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub(crate) session: TokenDigest,
    /// When the session began (deleting an account without a master
    /// password asks for a fresh one).
    pub(crate) started: admit_domain::Timestamp,
    /// The only organization a session from SSO may act in.
    pub(crate) scope: Option<OrgId>,
}

/// An owner or admin acting in one of its organizations.
pub(crate) struct Administrator {
    pub org: Organization,
    pub role: admit_domain::Role,
    /// Who the events of this administrator's changes name.
    pub actor: Actor,
}

impl App {
    /// The principal behind a session token; `Unauthenticated` for anything else.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let secret = Secret::parse(token).ok_or(Error::Unauthenticated)?;
        let session = self
            .store()
            .session(&secret.digest())
            .await?
            .ok_or(Error::Unauthenticated)?;
        if !session.is_live(self.now()) {
            return Err(Error::Unauthenticated);
        }
        // A session from an organization's SSO lives only while its member
        // does: revoking or removing the member ends it at once.
        if let Some(org) = &session.org_scope {
            let member_id = match &session.member_id {
                Some(id) => Some(id.clone()),
                // A session from before the member id was recorded.
                None => self
                    .store()
                    .account(&session.user_id)
                    .await?
                    .map(|account| MemberId::of(org, &account.email)),
            };
            let member = match member_id {
                Some(id) => self.store().membership(org, &id).await?,
                None => None,
            };
            if !member.is_some_and(|m| {
                m.user_id.as_ref() == Some(&session.user_id) && m.admits_session(session.generation)
            }) {
                self.store().delete_session(&session.digest).await?;
                return Err(Error::Unauthenticated);
            }
        }
        Ok(Principal {
            user_id: session.user_id,
            session: session.digest,
            started: session.created_at,
            scope: session.org_scope,
        })
    }

    pub(crate) async fn account_of(&self, who: &Principal) -> Result<Account> {
        self.store()
            .account(&who.user_id)
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// The membership `member` (a raw id from a path) of `org`; 404 for an
    /// id that does not parse or a membership that does not exist.
    pub(crate) async fn member_in(&self, org: &OrgId, member: &str) -> Result<Membership> {
        let member_id = MemberId::parse(member).map_err(|_| Error::NotFound)?;
        self.store()
            .membership(org, &member_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// `who` as a confirmed owner or admin of `org`. Someone with no
    /// membership there gets `NotFound`, so organizations don't leak;
    /// a member who is not an administrator gets `Forbidden`.
    pub(crate) async fn administrator(&self, who: &Principal, org: &str) -> Result<Administrator> {
        let org_id = OrgId::parse(org).map_err(|_| Error::NotFound)?;
        // A session from an organization's SSO acts in that organization only.
        if who.scope.as_ref().is_some_and(|scope| *scope != org_id) {
            return Err(Error::NotFound);
        }
        let account = self.account_of(who).await?;
        let membership: Membership = self
            .store()
            .membership(&org_id, &MemberId::of(&org_id, &account.email))
            .await?
            .filter(|m| m.user_id.as_ref() == Some(&account.id) && m.status != Status::Revoked)
            .ok_or(Error::NotFound)?;
        if membership.status != Status::Confirmed || !membership.role.administers() {
            return Err(Error::Forbidden);
        }
        let org = self
            .store()
            .organization(&org_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Administrator {
            org,
            role: membership.role,
            actor: Actor::user(&account.id, &account.email),
        })
    }
}
