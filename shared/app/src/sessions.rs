//! Signing in with a master password, signing out, and who am I.

use crate::views::{Login, Me, MyMembership, SessionIssued};
use crate::{App, Error, Principal, Result, passwords};
use admit_domain::{Email, Event, MasterPasswordHash, OrgId, Role, Session, Status, UserId};

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
    /// with SSO (owners and admins are exempt).
    async fn refuse_if_sso_required(&self, user: &UserId) -> Result<()> {
        for m in self.store().memberships_of_user(user).await? {
            if m.status != Status::Confirmed || m.role != Role::User {
                continue;
            }
            let org = self.store().organization(&m.org_id).await?;
            if org.is_some_and(|o| o.policies.require_sso) {
                return Err(Error::SsoRequired);
            }
        }
        Ok(())
    }

    /// A session for `user`; with `org_scope`, it acts only in that
    /// organization. `events` (the sign-in's) are written with it.
    pub(crate) async fn start_session(
        &self,
        user: UserId,
        org_scope: Option<OrgId>,
        events: &[Event],
    ) -> Result<SessionIssued> {
        let (session, token) = Session::start(user, org_scope, self.now(), &mut rand::rng());
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
            let key = m.org_key.filter(|_| m.status == Status::Confirmed);
            memberships.push(MyMembership {
                org_id: org.id.to_string(),
                org_name: org.name,
                member_id: m.member_id.to_string(),
                role: m.role,
                status: m.status,
                key,
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
