//! Signing in with a master password, signing out, and who am I.

use crate::views::{Login, Me, MyMembership, SessionIssued};
use crate::{App, Error, Principal, Result, passwords};
use admit_domain::{
    Email, Event, LinkGrant, MasterPasswordHash, Membership, Role, Session, Status, UserId,
};

impl App {
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, req: Login) -> Result<SessionIssued> {
        // Malformed input is a 400; a well-formed but wrong one a 401 that
        // says nothing of whether the account exists.
        self.count_request().await?;
        let email = Email::parse(&req.email).map_err(Error::invalid)?;
        let secret =
            MasterPasswordHash::parse(&req.master_password_hash).map_err(Error::invalid)?;
        self.check_password_budget(&email).await?;
        let account = self.store().account_by_email(&email).await?;
        let verifier = account
            .as_ref()
            .and_then(|a| a.master_password.as_ref())
            .map(|m| m.verifier.as_str());
        if !passwords::verify(&secret, verifier).await? {
            self.count_password_failure(&email).await?;
            if let Some(account) = &account {
                self.record_login_failure(account).await;
            }
            return Err(Error::WrongCredentials);
        }
        let account = account.ok_or(Error::WrongCredentials)?;
        self.refuse_if_sso_required(&account.id).await?;
        self.start_session(account.id, None, &[]).await
    }

    /// A confirmed `user` of an organization that requires SSO must sign in
    /// with SSO (owners and admins are exempt). When the account has no
    /// identity linked there yet, the refusal carries a link token: the
    /// right password proved the account, so the account may link the
    /// identity the organization's IdP proves next (no lockout).
    async fn refuse_if_sso_required(&self, user: &UserId) -> Result<()> {
        for m in self.store().memberships_of_user(user).await? {
            if m.status != Status::Confirmed || m.role != Role::User {
                continue;
            }
            let Some(org) = self.store().organization(&m.org_id).await? else {
                continue;
            };
            if !org.policies.require_sso {
                continue;
            }
            let idp = org.sso.as_ref().map(|c| c.idp());
            let linked = self
                .store()
                .identity_links_of_user(user)
                .await?
                .iter()
                .any(|l| l.org_id == org.id && idp.is_some_and(|i| l.external_id.is_at_idp(i)));
            if linked {
                return Err(Error::SsoRequired);
            }
            let (grant, token) =
                LinkGrant::issue(org.id.clone(), user.clone(), self.now(), &mut rand::rng());
            self.store().put_link_grant(&grant).await?;
            return Err(Error::SsoRequiredLink {
                link_token: token.expose(),
            });
        }
        Ok(())
    }

    /// A session for `user`; with `scope` (the membership it signed in
    /// through), it acts only in that organization, and only while that
    /// membership's session generation holds. `events` (the sign-in's) are
    /// written with it.
    pub(crate) async fn start_session(
        &self,
        user: UserId,
        scope: Option<&Membership>,
        events: &[Event],
    ) -> Result<SessionIssued> {
        let org_scope = scope.map(|m| m.org_id.clone());
        let (mut session, token) = Session::start(user, org_scope, self.now(), &mut rand::rng());
        session.generation = scope.and_then(|m| m.sessions);
        session.member_id = scope.map(|m| m.member_id.clone());
        self.store().put_session(&session, events).await?;
        Ok(SessionIssued {
            session_token: token.expose(),
            expires_at: session.expires_at,
            user_id: session.user_id.to_string(),
        })
    }

    pub async fn logout(&self, who: &Principal) -> Result<()> {
        Ok(self.store().delete_session(&who.session).await?)
    }

    pub async fn me(&self, who: &Principal) -> Result<Me> {
        let account = self.account_of(who).await?;
        let mut memberships = Vec::new();
        let in_scope =
            |m: &admit_domain::Membership| who.scope.as_ref().is_none_or(|o| *o == m.org_id);
        for m in self
            .store()
            .memberships_of_user(&account.id)
            .await?
            .into_iter()
            .filter(in_scope)
        {
            let Some(org) = self.store().organization(&m.org_id).await? else {
                continue;
            };
            let scim_groups = self
                .group_names_by_member(&org.id)
                .await?
                .remove(&m.member_id)
                .unwrap_or_default();
            let groups = crate::scim::all_groups(scim_groups, &m.idp_groups);
            let key = m.org_key.filter(|_| m.status == Status::Confirmed);
            memberships.push(MyMembership {
                org_id: org.id.to_string(),
                org_name: org.name,
                member_id: m.member_id.to_string(),
                role: m.role,
                status: m.status,
                key,
                groups,
            });
        }
        memberships.sort_by(|a, b| a.org_name.cmp(&b.org_name));
        Ok(Me {
            user_id: account.id.to_string(),
            email: account.email.to_string(),
            fingerprint: account.keys.as_ref().map(|k| k.fingerprint()),
            keys: account.keys,
            memberships,
        })
    }
}
