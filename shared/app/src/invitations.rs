//! Inviting members, and the member's side of an invitation: look it up, accept it.

use crate::owed_mail::Reads;
use crate::views::{
    Accept, Accepted, InvitationView, Invite, InviteResult, Invited, Reinvited, SkipReason,
    Skipped, SsoHint,
};
use crate::{App, Error, Principal, Result, passwords};
use admit_domain::{
    Account, Actor, Email, Event, EventDetails, EventType, InvitationError, InvitationToken,
    MasterPassword, MasterPasswordHash, MemberId, Membership, Organization, Role, UserId,
};
use admit_store::{Expected, StoreError};
use futures::StreamExt;
use std::collections::HashSet;

/// The most emails one invitation request takes.
pub const MAX_EMAILS_PER_REQUEST: usize = 100;
/// How many emails are handed to the mailer at once.
const SEND_CONCURRENCY: usize = 8;
/// Attempts at a chunk whose write conflicted with a concurrent invitation.
const CONFLICT_ATTEMPTS: usize = 5;

impl App {
    #[tracing::instrument(skip_all, fields(org_id = %org, count = req.emails.len()))]
    pub async fn invite(&self, who: &Principal, org: &str, req: Invite) -> Result<InviteResult> {
        let admin = self.administrator(who, org).await?;
        self.invite_as(admin, req).await
    }

    /// [`App::invite`] by an administrator already known (a person, or
    /// SCIM acting for the organization's IdP).
    pub(crate) async fn invite_as(
        &self,
        admin: crate::access::Administrator,
        req: Invite,
    ) -> Result<InviteResult> {
        if req.emails.is_empty() || req.emails.len() > MAX_EMAILS_PER_REQUEST {
            return Err(Error::InvalidRequest(format!(
                "emails: give 1 to {MAX_EMAILS_PER_REQUEST} addresses"
            )));
        }
        if req.role == Role::Owner {
            return Err(Error::InvalidRequest(
                "role: invite as \"user\" or \"admin\"".into(),
            ));
        }
        let mut skipped = Vec::new();
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        for raw in &req.emails {
            match Email::parse(raw) {
                Err(_) => skipped.push(Skipped {
                    email: raw.clone(),
                    reason: SkipReason::InvalidEmail,
                }),
                Ok(e) if !seen.insert(e.clone()) => skipped.push(Skipped {
                    email: e.to_string(),
                    reason: SkipReason::Duplicate,
                }),
                Ok(e) => wanted.push(e),
            }
        }

        let mut org = admin.org;
        let mut invited = Vec::new();
        let mut remaining = self.without_members(&org, wanted, &mut skipped).await?;
        // All-or-nothing on seats for what is left when the request starts.
        if !remaining.is_empty() {
            org.seats
                .check(org.occupied_seats, remaining.len() as u32)
                .map_err(|_| Error::NoSeats)?;
        }
        let mut first_chunk = true;
        while !remaining.is_empty() {
            let per_write = self.store().max_new_memberships_per_write();
            let rest = remaining.split_off(remaining.len().min(per_write));
            let chunk = std::mem::replace(&mut remaining, rest);
            match self
                .add_chunk(&mut org, &admin.actor, chunk, req.role, &mut skipped)
                .await
            {
                Ok(written) => invited.extend(written),
                Err(ChunkError::NoSeats(lost)) if !first_chunk => {
                    skipped.extend(lost.into_iter().map(|e| Skipped {
                        email: e.to_string(),
                        reason: SkipReason::NoSeats,
                    }))
                }
                Err(ChunkError::NoSeats(_)) => return Err(Error::NoSeats),
                Err(ChunkError::Other(e)) => return Err(e),
            }
            first_chunk = false;
        }

        let result = InviteResult {
            invited: invited
                .iter()
                .map(|(m, _)| Invited {
                    member_id: m.member_id.to_string(),
                    email: m.email.to_string(),
                })
                .collect(),
            skipped,
        };
        tracing::info!(
            invited = result.invited.len(),
            skipped = result.skipped.len(),
            "invitations written"
        );
        // Which invitees have accounts decides each email's wording: one
        // batched read for all of them (on failure, each send reads its own).
        let emails: Vec<Email> = invited.iter().map(|(m, _)| m.email.clone()).collect();
        let with_accounts = match self.store().emails_with_accounts(&emails).await {
            Ok(found) => Some(found),
            Err(e) => {
                tracing::warn!(error = %e, "could not read which invitees have accounts; reading each");
                None
            }
        };
        let org = &org;
        let with_accounts = &with_accounts;
        futures::stream::iter(invited)
            .for_each_concurrent(SEND_CONCURRENCY, |(m, token)| async move {
                let mut reads = match with_accounts {
                    Some(found) => {
                        let exists = found.contains(&m.email);
                        Reads::knowing_account(m.email.clone(), exists)
                    }
                    None => Reads::default(),
                };
                self.send_owed_with(org, m, Some(&token), &mut reads).await
            })
            .await;
        Ok(result)
    }

    /// `emails` less those that already have a membership (recorded as skipped).
    async fn without_members(
        &self,
        org: &Organization,
        emails: Vec<Email>,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Vec<Email>> {
        // One batched read (the store splits it into round trips of its own size).
        let ids: Vec<MemberId> = emails.iter().map(|e| MemberId::of(&org.id, e)).collect();
        let existing: HashSet<Email> = self
            .store()
            .memberships(&org.id, &ids)
            .await?
            .into_iter()
            .map(|m| m.email)
            .collect();
        let (members, rest): (Vec<_>, Vec<_>) =
            emails.into_iter().partition(|e| existing.contains(e));
        skipped.extend(members.into_iter().map(|e| Skipped {
            email: e.to_string(),
            reason: SkipReason::AlreadyMember,
        }));
        Ok(rest)
    }

    /// Write one chunk of invitations; on a conflict with a concurrent request,
    /// re-read and retry without the emails that became members meanwhile.
    async fn add_chunk(
        &self,
        org: &mut Organization,
        actor: &Actor,
        mut emails: Vec<Email>,
        role: Role,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Vec<(Membership, InvitationToken)>, ChunkError> {
        for _ in 0..CONFLICT_ATTEMPTS {
            if emails.is_empty() {
                return Ok(Vec::new());
            }
            let now = self.now();
            let issued: Vec<(Membership, InvitationToken)> = {
                let mut rng = rand::rng();
                emails
                    .iter()
                    .map(|e| {
                        Membership::invite(
                            &org.id,
                            e.clone(),
                            role,
                            now,
                            org.invitation_lifetime(),
                            &mut rng,
                        )
                    })
                    .collect()
            };
            let memberships: Vec<Membership> = issued.iter().map(|(m, _)| m.clone()).collect();
            let events: Vec<Event> = memberships
                .iter()
                .map(|m| {
                    let details = EventDetails {
                        role: Some(m.role),
                        ..Default::default()
                    };
                    self.member_event(m, actor, EventType::MemberInvited, details)
                })
                .collect();
            match self
                .store()
                .add_memberships(org, &memberships, &events)
                .await
            {
                Ok(()) => {
                    org.occupied_seats += memberships.len() as u32;
                    return Ok(issued);
                }
                Err(StoreError::NoSeats) => return Err(ChunkError::NoSeats(emails)),
                Err(StoreError::Conflict) => {
                    *org = self
                        .store()
                        .organization(&org.id)
                        .await
                        .map_err(Error::from)?
                        .ok_or(Error::NotFound)?;
                    emails = self.without_members(org, emails, skipped).await?;
                }
                Err(e) => return Err(ChunkError::Other(e.into())),
            }
        }
        Err(ChunkError::Other(Error::Conflict(
            "too many concurrent changes; try again".into(),
        )))
    }

    #[tracing::instrument(skip_all, fields(org_id = %org, member_id = %member))]
    pub async fn reinvite(&self, who: &Principal, org: &str, member: &str) -> Result<Reinvited> {
        let admin = self.administrator(who, org).await?;
        let m = self.member_in(&admin.org.id, member).await?;
        let mut renewed = m.clone();
        let token = renewed
            .reinvite(
                self.now(),
                admin.org.invitation_lifetime(),
                &mut rand::rng(),
            )
            .map_err(|_| {
                Error::Conflict(format!(
                    "only invited members can be reinvited; this one is {}",
                    m.status
                ))
            })?;
        let event = self.member_event(
            &m,
            &admin.actor,
            EventType::MemberReinvited,
            Default::default(),
        );
        self.store()
            .update_membership(&renewed, &Expected::as_read(&m), &[event])
            .await?;
        let expires = renewed
            .invitation
            .as_ref()
            .map(|i| i.expires_at)
            .expect("reinvite issues an invitation");
        self.send_owed(&admin.org, renewed, Some(&token)).await;
        Ok(Reinvited {
            member_id: m.member_id.to_string(),
            invitation_expires_at: expires,
        })
    }

    /// The membership and organization a token opens, or why it doesn't.
    async fn open_invitation(
        &self,
        raw: &str,
    ) -> Result<(InvitationToken, Membership, Organization)> {
        let token = InvitationToken::parse(raw).ok_or(Error::NotFound)?;
        let m = self
            .store()
            .membership(&token.org_id, &token.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        m.check_invitation(&token, self.now())
            .map_err(|e| match e {
                InvitationError::Unknown => Error::NotFound,
                InvitationError::Expired => Error::Expired,
            })?;
        let org = self
            .store()
            .organization(&token.org_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((token, m, org))
    }

    pub async fn lookup_invitation(&self, token: &str) -> Result<InvitationView> {
        self.count_request().await?;
        let (_, m, org) = self.open_invitation(token).await?;
        let account_exists = self.store().account_by_email(&m.email).await?.is_some();
        Ok(InvitationView {
            org_id: org.id.to_string(),
            org_name: org.name,
            email: m.email.to_string(),
            account_exists,
            sso: SsoHint {
                enabled: org.sso_enabled,
                sso_identifier: org.sso_identifier.to_string(),
            },
            expires_at: m
                .invitation
                .as_ref()
                .map(|i| i.expires_at)
                .expect("an open invitation"),
            role: m.role,
        })
    }

    /// Accept with a master password: an existing account proves it; without
    /// an account, an organization without SSO registers one with it.
    pub async fn accept_invitation(&self, req: Accept) -> Result<Accepted> {
        self.accept_invitation_as(req, None).await
    }

    /// Accept with a master password, or, without one, with a session of
    /// the account the invitation's email has (from any sign-in, SSO
    /// included): how an account without a master password (trusted
    /// devices, key connector) joins another organization. A session of
    /// another account is 403; neither a password nor a session, 400.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation_as(
        &self,
        req: Accept,
        who: Option<&Principal>,
    ) -> Result<Accepted> {
        self.count_request().await?;
        let (_, m, org) = self.open_invitation(&req.token).await?;
        let with_password = !req.master_password_hash.is_empty();
        let signed_in = match (with_password, who) {
            (false, None) => {
                return Err(Error::InvalidRequest(
                    "master_password_hash: required without a session of the invited account"
                        .into(),
                ));
            }
            (false, Some(who)) => {
                let account = self.account_of(who).await?;
                if account.email != m.email {
                    return Err(Error::Forbidden);
                }
                Some(account)
            }
            (true, _) => None,
        };
        if let Some(key) = &req.org_key {
            admit_domain::account::check_key("org_key", key).map_err(Error::invalid)?;
            if m.role != Role::Owner || m.status != admit_domain::Status::Invited {
                return Err(Error::InvalidRequest(
                    "org_key: only the organization's first owner brings the organization key"
                        .into(),
                ));
            }
        }
        let now = self.now();
        let existing = match signed_in {
            Some(account) => Err(account),
            None => Ok(self.store().account_by_email(&m.email).await?),
        };
        let secret =
            || MasterPasswordHash::parse(&req.master_password_hash).map_err(Error::invalid);
        let (user, new_account) = match existing {
            // The session proved the account.
            Err(account) => (account.id, None),
            Ok(Some(account)) => {
                let secret = secret()?;
                self.check_password_budget(&m.email).await?;
                let verifier = account
                    .master_password
                    .as_ref()
                    .map(|p| p.verifier.as_str());
                if !passwords::verify(&secret, verifier).await? {
                    self.count_password_failure(&m.email).await?;
                    self.record_login_failure(&account).await;
                    return Err(Error::WrongCredentials);
                }
                (account.id, None)
            }
            Ok(None) if org.sso_enabled => {
                return Err(Error::Conflict(
                    "this organization uses single sign-on: continue with SSO".into(),
                ));
            }
            Ok(None) => {
                let secret = secret()?;
                let kdf = req.kdf.ok_or_else(|| {
                    Error::InvalidRequest("kdf: required to create an account".into())
                })?;
                let kdf = kdf.validate().map_err(Error::invalid)?;
                let keys = req
                    .keys
                    .map(|k| k.validate())
                    .transpose()
                    .map_err(Error::invalid)?;
                let name = req
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty());
                if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
                    return Err(Error::InvalidRequest("name: at most 100 characters".into()));
                }
                let verifier = passwords::hash(&secret).await?;
                let account = Account {
                    id: UserId::generate(&mut rand::rng()),
                    email: m.email.clone(),
                    name,
                    master_password: Some(MasterPassword { verifier, kdf }),
                    keys,
                    devices: Vec::new(),
                    created_at: now,
                };
                (account.id.clone(), Some(account))
            }
        };
        let mut updated = m.clone();
        let transition = if m.role == Role::Owner {
            updated
                .accept_as_bootstrap_owner(user, now)
                .map(|()| updated.org_key = req.org_key.clone())
        } else {
            updated.accept(user, now)
        };
        transition.map_err(|_| Error::NotFound)?;
        let actor = Actor::user(updated.user_id.as_ref().expect("accepted"), &m.email);
        let event = self.member_event(
            &m,
            &actor,
            EventType::MemberAccepted,
            EventDetails {
                via: Some(
                    if with_password {
                        "invitation"
                    } else {
                        "session"
                    }
                    .into(),
                ),
                ..Default::default()
            },
        );
        match self
            .store()
            .accept_membership(
                &updated,
                &Expected::as_read(&m),
                new_account.as_ref(),
                &[event],
            )
            .await
        {
            Ok(()) => {}
            // The invitation was used (or replaced) meanwhile, or the account appeared.
            Err(StoreError::Conflict) => return Err(self.why_accept_conflicted(&m).await),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(member_id = %updated.member_id, status = %updated.status, "invitation accepted");
        // The administrators' notice (the bootstrap owner owes none).
        if updated.mail.is_some() {
            self.send_owed(&org, updated.clone(), None).await;
        }
        Ok(Accepted {
            member_id: updated.member_id.to_string(),
            status: updated.status,
        })
    }

    async fn why_accept_conflicted(&self, m: &Membership) -> Error {
        match self.store().membership(&m.org_id, &m.member_id).await {
            Ok(Some(now)) if Expected::as_read(&now) == Expected::as_read(m) => Error::Conflict(
                "an account with this email was created meanwhile; accept again".into(),
            ),
            Ok(_) => Error::NotFound,
            Err(e) => e.into(),
        }
    }
}

enum ChunkError {
    NoSeats(Vec<Email>),
    Other(Error),
}

impl From<Error> for ChunkError {
    fn from(e: Error) -> Self {
        ChunkError::Other(e)
    }
}
