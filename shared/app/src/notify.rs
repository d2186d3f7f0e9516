//! Notices sent right after the write that causes them (a failed one is
//! logged, not retried: see ARCHITECTURE.md). Invitations are owed mail
//! (`owed_mail`).

use crate::App;
use admit_domain::{Membership, Organization, Status};
use admit_mail::Message;

impl App {
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
