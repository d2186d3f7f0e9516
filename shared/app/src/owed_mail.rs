//! Sending the email memberships owe: the inviting request's first attempt,
//! and the scheduled job (`remind`, or `admit serve`'s timer) for retries
//! and reminders. Every send is claimed by a conditional write first, so an
//! email goes out once per cause however many runs overlap.

use crate::{App, Result};
use admit_domain::{InvitationToken, Membership, OrgId, Organization, OwedKind, Role};
use admit_mail::Message;
use admit_store::{Expected, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Spaces sends at the mail service's rate: one slot per `1 / rate` seconds.
struct Pacer {
    every: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pacer {
    fn new(rate_per_second: Option<f64>) -> Pacer {
        Pacer {
            every: rate_per_second
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next: tokio::time::Instant::now(),
        }
    }

    /// When the next send may start (now, or later when the last used the slot).
    fn next_slot(&self) -> tokio::time::Instant {
        self.next.max(tokio::time::Instant::now())
    }

    /// A send took the slot: the next one is a period later.
    fn used(&mut self) {
        if let Some(every) = self.every {
            self.next = self.next_slot() + every;
        }
    }
}

/// Due memberships read per query.
const BATCH: usize = 100;
/// Queries per run at most (a bound, whatever the index returns).
const MAX_BATCHES: usize = 50;
/// Stop this long before the deadline, leaving the rest for the next run.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// What one run of the job did (logged as one line per run).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Invitations sent (retries of a failed first send included).
    pub sent: usize,
    /// Of those, invitations whose earlier attempt had failed.
    pub retried: usize,
    /// Reminders sent.
    pub reminded: usize,
    /// Sends that failed: still owed, retried after a backoff.
    pub failed: usize,
    /// Owed emails dropped because the invitation expired or was answered.
    pub expired: usize,
    /// Due emails another run claimed first.
    pub claimed_elsewhere: usize,
    /// The run stopped at its deadline with work left.
    pub unfinished: bool,
}

impl App {
    /// The inviting request's own attempt at the invitation it just wrote
    /// (owed, and claimed for this attempt, in that write). A failure is
    /// left to the job, which retries once the claim's lease ends.
    pub(crate) async fn send_invitation(
        &self,
        org: &Organization,
        m: Membership,
        token: &InvitationToken,
    ) {
        let Some(message_link) = self.invitation_mail(org, &m, token).await else {
            return;
        };
        let (mail, _) = message_link;
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::warn!(member_id = %m.member_id, error = %e, "invitation email failed; owed to the reminder job");
            return;
        }
        let mut sent = m.clone();
        sent.mail_sent(&org.reminder_days);
        // A conflict means the membership moved on (accepted, reinvited): nothing to record.
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::with_mail(&m))
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "invitation sent; its delivery not recorded");
        }
    }

    /// The email of `m`'s invitation or reminder with `token`'s link, and
    /// whether it is a reminder. `None` when it cannot be built now.
    async fn invitation_mail(
        &self,
        org: &Organization,
        m: &Membership,
        token: &InvitationToken,
    ) -> Option<(admit_mail::Mail, bool)> {
        let invitation = m.invitation.as_ref()?;
        let link = self
            .config()
            .link(&format!("/accept?token={}", token.expose()));
        let reminder = matches!(m.mail.map(|o| o.kind), Some(OwedKind::Reminder { .. }));
        let account_exists = if m.role == Role::Owner {
            false
        } else {
            match self.store().account_by_email(&m.email).await {
                Ok(a) => a.is_some(),
                Err(e) => {
                    tracing::warn!(member_id = %m.member_id, error = %e, "invitation email left owed");
                    return None;
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
        Some((self.inner.templates.render(&m.email, &message), reminder))
    }

    /// One run of the job: every owed email due now is claimed, sent and
    /// moved on — at most until `deadline` (less a margin), leaving the rest
    /// for the next run. Logs one line with what it did.
    pub async fn run_owed_mail(&self, deadline: Option<Instant>) -> Result<RunSummary> {
        let mut summary = RunSummary::default();
        let mut orgs: HashMap<OrgId, Option<Organization>> = HashMap::new();
        let mut pacer = Pacer::new(self.inner.mailer.max_send_rate().await);
        for _ in 0..MAX_BATCHES {
            let now = self.now();
            let due = self.store().due_memberships(now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut progressed = false;
            for m in due {
                // The next send slot, if it comes before the deadline.
                let slot = pacer.next_slot();
                if deadline.is_some_and(|d| slot.into_std() + DEADLINE_MARGIN >= d) {
                    summary.unfinished = true;
                    break;
                }
                tokio::time::sleep_until(slot).await;
                if self.deliver(m, &mut orgs, &mut summary).await? {
                    progressed = true;
                    pacer.used();
                }
            }
            if summary.unfinished || !progressed {
                break;
            }
        }
        tracing::info!(
            sent = summary.sent,
            retried = summary.retried,
            reminded = summary.reminded,
            failed = summary.failed,
            expired = summary.expired,
            claimed_elsewhere = summary.claimed_elsewhere,
            unfinished = summary.unfinished,
            "owed mail run"
        );
        Ok(summary)
    }

    /// Deliver one due membership's owed email. `Ok(false)` when nothing
    /// changed (its index entry was stale, or another run claimed it).
    async fn deliver(
        &self,
        m: Membership,
        orgs: &mut HashMap<OrgId, Option<Organization>>,
        summary: &mut RunSummary,
    ) -> Result<bool> {
        let now = self.now();
        let Some(owed) = m.mail.filter(|o| o.is_due(now)) else {
            return Ok(false);
        };
        if !orgs.contains_key(&m.org_id) {
            let org = self.store().organization(&m.org_id).await?;
            orgs.insert(m.org_id.clone(), org);
        }
        let Some(org) = orgs.get(&m.org_id).cloned().flatten() else {
            return Ok(false);
        };
        if m.owed_mail_is_moot(now) {
            let mut dropped = m.clone();
            dropped.mail = None;
            return match self
                .store()
                .update_membership(&dropped, &Expected::with_mail(&m))
                .await
            {
                Ok(()) => {
                    summary.expired += 1;
                    Ok(true)
                }
                Err(StoreError::Conflict) => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        // The claim: one conditional write, which only one run can make.
        let mut claimed = m.clone();
        let Some(token) = claimed.claim_mail(now, &mut rand::rng()) else {
            return Ok(false);
        };
        match self
            .store()
            .update_membership(&claimed, &Expected::with_mail(&m))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                summary.claimed_elsewhere += 1;
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
        let Some((mail, reminder)) = self.invitation_mail(&org, &claimed, &token).await else {
            summary.failed += 1;
            return Ok(true);
        };
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::warn!(member_id = %m.member_id, attempts = claimed.mail.map(|o| o.attempts), error = %e, "owed email failed; retried after a backoff");
            summary.failed += 1;
            return Ok(true);
        }
        match (reminder, owed.attempts) {
            (true, _) => summary.reminded += 1,
            (false, 0) => summary.sent += 1,
            (false, _) => {
                summary.sent += 1;
                summary.retried += 1;
            }
        }
        let mut sent = claimed.clone();
        sent.mail_sent(&org.reminder_days);
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::with_mail(&claimed))
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "owed email sent; its delivery not recorded");
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_at_the_mail_services_rate() {
        let start = tokio::time::Instant::now();
        let mut pacer = Pacer::new(Some(4.0));
        for _ in 0..9 {
            tokio::time::sleep_until(pacer.next_slot()).await;
            pacer.used();
        }
        // Nine sends at four a second: the ninth starts two seconds in (virtual time).
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_known_rate_nothing_waits() {
        let start = tokio::time::Instant::now();
        for rate in [None, Some(0.0), Some(f64::NAN)] {
            let mut pacer = Pacer::new(rate);
            for _ in 0..5 {
                tokio::time::sleep_until(pacer.next_slot()).await;
                pacer.used();
            }
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
