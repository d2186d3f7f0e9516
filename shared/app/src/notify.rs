//! The mail each use case owes, sent right after the write that causes it.
//!
//! A send never fails the request: an invitation whose email did not go out
//! stays `delivery: pending`, which the reminder job retries.

use crate::App;
use admit_domain::{InvitationToken, Membership, Organization, Role, Status};
use admit_mail::Message;
use admit_store::Expected;

impl App {
    /// Email `m` its invitation and record that it went out.
    pub(crate) async fn send_invitation(
        &self,
        org: &Organization,
        m: Membership,
        token: &InvitationToken,
    ) {
        let Some(invitation) = m.invitation.as_ref() else {
            return;
        };
        let link = self
            .config()
            .link(&format!("/accept?token={}", token.expose()));
        let message = if m.role == Role::Owner {
            Message::OwnerInvitation {
                org_name: &org.name,
                link: &link,
                expires_at: invitation.expires_at,
            }
        } else {
            let account_exists = match self.store().account_by_email(&m.email).await {
                Ok(a) => a.is_some(),
                Err(e) => {
                    tracing::warn!(member_id = %m.member_id, error = %e, "invitation left pending");
                    return;
                }
            };
            Message::Invitation {
                org_name: &org.name,
                link: &link,
                expires_at: invitation.expires_at,
                account_exists,
            }
        };
        let mail = self.inner.templates.render(&m.email, &message);
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::warn!(member_id = %m.member_id, error = %e, "invitation email failed; left pending for the reminder job");
            return;
        }
        let mut sent = m.clone();
        if let Some(i) = sent.invitation.as_mut() {
            i.mark_sent();
        }
        // A conflict means the membership moved on (accepted, reinvited): nothing to record.
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::as_read(&m))
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "invitation sent; delivery not recorded");
        }
    }

    /// Tell the organization's confirmed owners and admins that `member` awaits confirmation.
    pub(crate) async fn notify_awaiting_confirmation(
        &self,
        org: &Organization,
        member: &Membership,
    ) {
        let admins = match self.administrators_of(org).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(org_id = %org.id, error = %e, "could not list administrators to notify");
                return;
            }
        };
        let link = self.config().link(&format!("/app?org={}", org.id));
        for admin in admins {
            let message = Message::AwaitingConfirmation {
                org_name: &org.name,
                member_email: member.email.as_str(),
                link: &link,
            };
            let mail = self.inner.templates.render(&admin.email, &message);
            if let Err(e) = self.inner.mailer.send(&mail).await {
                tracing::warn!(org_id = %org.id, error = %e, "awaiting-confirmation email failed");
            }
        }
    }

    /// Tell `member` that its access is ready.
    pub(crate) async fn notify_confirmed(&self, org: &Organization, member: &Membership) {
        let link = self.config().link("/app");
        let mail = self.inner.templates.render(
            &member.email,
            &Message::Confirmed {
                org_name: &org.name,
                link: &link,
            },
        );
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::warn!(member_id = %member.member_id, error = %e, "confirmation email failed");
        }
    }

    /// Confirmed owners and admins of `org`.
    async fn administrators_of(&self, org: &Organization) -> crate::Result<Vec<Membership>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store()
                .list_memberships(
                    &org.id,
                    Some(Status::Confirmed),
                    cursor.as_deref(),
                    admit_store::MAX_PAGE_SIZE,
                )
                .await?;
            out.extend(page.items.into_iter().filter(|m| m.role.administers()));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }
}
