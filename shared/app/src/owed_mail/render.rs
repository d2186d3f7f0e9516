//! Rendering: what an owed email says and to whom. The templates' context
//! (the organization, the link, whether the invitee has an account, the
//! administrators to tell) comes from what the run or request has read once
//! ([`Reads`]). The request that wrote an email as owed makes the first
//! attempt at it here; the job makes the rest.

use crate::App;
use admit_domain::{
    AdminDigest, Email, InvitationToken, Membership, OrgId, Organization, OwedKind, Role, Status,
};
use admit_mail::{Mail, Message};
use admit_store::Expected;
use std::collections::HashMap;

/// Recipients of one message at most (SES's limit): a notice goes to the
/// first this many owners and admins, owners first.
pub const MAX_RECIPIENTS: usize = 50;

/// What a run (or a request) has read once and reuses.
#[derive(Default)]
pub(crate) struct Reads {
    pub(super) orgs: HashMap<OrgId, Option<Organization>>,
    admins: HashMap<OrgId, Vec<Email>>,
    pub(super) digests: HashMap<OrgId, AdminDigest>,
    /// Whether an account has the email (an invitation's wording).
    pub(super) accounts: HashMap<Email, bool>,
}

impl Reads {
    /// Reads that already know whether `email` has an account.
    pub(crate) fn knowing_account(email: Email, exists: bool) -> Reads {
        let mut r = Reads::default();
        r.accounts.insert(email, exists);
        r
    }
}

/// A rendered owed email, or why there is none.
pub(super) enum Outgoing {
    Mail(Mail),
    /// Nobody to send it to (an organization without a confirmed owner or
    /// admin): recorded as done.
    Nobody,
    /// It cannot be built now (a read failed, no link to send): left owed.
    NotNow,
}

impl App {
    /// The request's own attempt at the email it just wrote as owed (and
    /// claimed for this attempt, in that write): an invitation with `token`'s
    /// link, or a notice. A failure is left to the job, which retries once
    /// the claim's lease ends.
    pub(crate) async fn send_owed(
        &self,
        org: &Organization,
        m: Membership,
        token: Option<&InvitationToken>,
    ) {
        self.send_owed_with(org, m, token, &mut Reads::default())
            .await
    }

    /// [`App::send_owed`] with what the request has already read.
    pub(crate) async fn send_owed_with(
        &self,
        org: &Organization,
        m: Membership,
        token: Option<&InvitationToken>,
        reads: &mut Reads,
    ) {
        let mail = match self.owed_message(org, &m, token, reads).await {
            Outgoing::Mail(mail) => Some(mail),
            Outgoing::Nobody => None,
            Outgoing::NotNow => return,
        };
        if let Some(mail) = mail
            && let Err(e) = self.inner.mailer.send(&mail).await
        {
            tracing::warn!(member_id = %m.member_id, kind = ?m.mail.map(|o| o.kind), error = %e, "email failed; owed to the reminder job");
            return;
        }
        let mut sent = m.clone();
        sent.mail_sent(&org.reminder_days, self.now());
        // A conflict means the membership moved on (accepted, reinvited): nothing to record.
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::with_mail(&m), &[])
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "email sent; its delivery not recorded");
        }
    }

    /// The email `m` owes, rendered: an invitation or reminder with
    /// `token`'s link, or a notice. Not the digest (see `deliver_digest`).
    pub(super) async fn owed_message(
        &self,
        org: &Organization,
        m: &Membership,
        token: Option<&InvitationToken>,
        reads: &mut Reads,
    ) -> Outgoing {
        let Some(kind) = m.mail.map(|o| o.kind) else {
            return Outgoing::NotNow;
        };
        match kind {
            OwedKind::Invitation | OwedKind::Reminder { .. } => {
                match (token, m.invitation.as_ref()) {
                    (Some(token), Some(_)) => self.invitation_mail(org, m, token, reads).await,
                    _ => Outgoing::NotNow,
                }
            }
            OwedKind::AwaitingConfirmation => {
                let admins = match self.administrators_of(org, reads).await {
                    Ok(a) if a.is_empty() => return Outgoing::Nobody,
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(org_id = %org.id, error = %e, "could not list administrators; notice left owed");
                        return Outgoing::NotNow;
                    }
                };
                let link = self.config().link(&format!("/app?org={}", org.id));
                Outgoing::Mail(self.inner.templates.render_to_all(
                    admins,
                    &Message::AwaitingConfirmation {
                        org_name: &org.name,
                        member_email: m.email.as_str(),
                        link: &link,
                    },
                ))
            }
            OwedKind::Confirmed => {
                let link = self.config().link("/app");
                Outgoing::Mail(self.inner.templates.render(
                    &m.email,
                    &Message::Confirmed {
                        org_name: &org.name,
                        link: &link,
                    },
                ))
            }
            OwedKind::Digest => Outgoing::NotNow,
        }
    }

    /// The invitation or reminder `m` owes, with `token`'s link.
    async fn invitation_mail(
        &self,
        org: &Organization,
        m: &Membership,
        token: &InvitationToken,
        reads: &mut Reads,
    ) -> Outgoing {
        let Some(invitation) = m.invitation.as_ref() else {
            return Outgoing::NotNow;
        };
        let link = self
            .config()
            .link(&format!("/accept?token={}", token.expose()));
        let reminder = matches!(m.mail.map(|o| o.kind), Some(OwedKind::Reminder { .. }));
        let account_exists = if m.role == Role::Owner {
            false
        } else if let Some(known) = reads.accounts.get(&m.email) {
            *known
        } else {
            // The single read (GetItem), not the batched one: this is also
            // the fallback when a batched read failed.
            match self.store().account_by_email(&m.email).await {
                Ok(found) => {
                    let exists = found.is_some();
                    reads.accounts.insert(m.email.clone(), exists);
                    exists
                }
                Err(e) => {
                    tracing::warn!(member_id = %m.member_id, error = %e, "invitation email left owed");
                    return Outgoing::NotNow;
                }
            }
        };
        let message = match (reminder, m.role) {
            (true, _) => Message::Reminder {
                org_name: &org.name,
                link: &link,
                expires_at: invitation.expires_at,
                account_exists,
            },
            (false, Role::Owner) => Message::OwnerInvitation {
                org_name: &org.name,
                link: &link,
                expires_at: invitation.expires_at,
            },
            (false, _) => Message::Invitation {
                org_name: &org.name,
                link: &link,
                expires_at: invitation.expires_at,
                account_exists,
            },
        };
        Outgoing::Mail(self.inner.templates.render(&m.email, &message))
    }

    /// The addresses of `org`'s confirmed owners and admins, owners first,
    /// at most [`MAX_RECIPIENTS`].
    pub(super) async fn administrators_of(
        &self,
        org: &Organization,
        reads: &mut Reads,
    ) -> crate::Result<Vec<Email>> {
        if let Some(admins) = reads.admins.get(&org.id) {
            return Ok(admins.clone());
        }
        let mut admins: Vec<Membership> = self
            .members_with_status(&org.id, Status::Confirmed)
            .await?
            .into_iter()
            .filter(|m| m.role.administers())
            .collect();
        admins.sort_by_key(|m| m.role != Role::Owner);
        if admins.len() > MAX_RECIPIENTS {
            tracing::warn!(org_id = %org.id, administrators = admins.len(), "notices go to the first {MAX_RECIPIENTS} administrators, owners first");
        }
        let emails: Vec<Email> = admins
            .into_iter()
            .take(MAX_RECIPIENTS)
            .map(|m| m.email)
            .collect();
        reads.admins.insert(org.id.clone(), emails.clone());
        Ok(emails)
    }

    /// Every membership of `org` with `status`, all pages.
    pub(super) async fn members_with_status(
        &self,
        org: &OrgId,
        status: Status,
    ) -> crate::Result<Vec<Membership>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store()
                .list_memberships(
                    org,
                    Some(status),
                    cursor.as_deref(),
                    admit_store::MAX_PAGE_SIZE,
                )
                .await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}
