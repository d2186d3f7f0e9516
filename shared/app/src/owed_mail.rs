//! Sending the email memberships owe: the first attempt of the request
//! that caused it, and the scheduled job (`remind`, or `admit serve`'s
//! timer) for retries, reminders and the administrators' digest. Every send
//! is claimed by a conditional write first, so an email goes out once per
//! cause however many runs overlap; a notice to several administrators is
//! one message to them all, so it too goes out once or not at all.

use crate::{App, Result};
use admit_domain::{
    AdminDigest, ClaimedMail, Email, InvitationToken, Membership, OrgId, Organization, OwedKind,
    Role, Status,
};
use admit_mail::{Awaiting, Mail, Message};
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
/// Recipients of one message at most (SES's limit): a notice goes to the
/// first this many owners and admins, owners first.
pub const MAX_RECIPIENTS: usize = 50;
/// Members a digest names; the rest are counted ("and N more").
const DIGEST_LISTS: usize = 100;

/// What one run of the job did (logged as one line per run).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Invitations sent (retries of a failed first send included).
    pub sent: usize,
    /// Of those, invitations whose earlier attempt had failed.
    pub retried: usize,
    /// Reminders sent.
    pub reminded: usize,
    /// Notices sent: to administrators that a member awaits confirmation,
    /// to members that they are confirmed.
    pub notified: usize,
    /// Administrators' digests sent.
    pub digests: usize,
    /// Members' places moved to the next digest (one went out less than a
    /// day ago, or another run is sending it).
    pub deferred: usize,
    /// Sends that failed: still owed, retried after a backoff.
    pub failed: usize,
    /// Owed emails dropped because the invitation expired or was answered,
    /// or the member left the status a notice was about.
    pub expired: usize,
    /// Due emails another run claimed first.
    pub claimed_elsewhere: usize,
    /// The run stopped at its deadline with work left.
    pub unfinished: bool,
}

/// What a run (or a request) has read once and reuses.
#[derive(Default)]
pub(crate) struct Reads {
    orgs: HashMap<OrgId, Option<Organization>>,
    admins: HashMap<OrgId, Vec<Email>>,
    digests: HashMap<OrgId, AdminDigest>,
    /// Whether an account has the email (an invitation's wording).
    accounts: HashMap<Email, bool>,
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
enum Outgoing {
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
            .update_membership(&sent, &Expected::with_mail(&m))
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "email sent; its delivery not recorded");
        }
    }

    /// The email `m` owes, rendered: an invitation or reminder with
    /// `token`'s link, or a notice. Not the digest (see `deliver_digest`).
    async fn owed_message(
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
    async fn administrators_of(
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
    async fn members_with_status(
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

    /// One run of the job: every owed email due now is claimed, sent and
    /// moved on — at most until `deadline` (less a margin), leaving the rest
    /// for the next run. Logs one line with what it did.
    pub async fn run_owed_mail(&self, deadline: Option<Instant>) -> Result<RunSummary> {
        let mut summary = RunSummary::default();
        let mut reads = Reads::default();
        let mut pacer = Pacer::new(self.inner.mailer.max_send_rate().await);
        for _ in 0..MAX_BATCHES {
            let now = self.now();
            let due = self.store().due_memberships(now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            self.learn_accounts(&due, &mut reads).await;
            let mut progressed = false;
            for m in due {
                // The next send slot, if it comes before the deadline.
                let slot = pacer.next_slot();
                if deadline.is_some_and(|d| slot.into_std() + DEADLINE_MARGIN >= d) {
                    summary.unfinished = true;
                    break;
                }
                tokio::time::sleep_until(slot).await;
                if self.deliver(m, &mut reads, &mut summary).await? {
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
            notified = summary.notified,
            digests = summary.digests,
            deferred = summary.deferred,
            failed = summary.failed,
            expired = summary.expired,
            claimed_elsewhere = summary.claimed_elsewhere,
            unfinished = summary.unfinished,
            "owed mail run"
        );
        Ok(summary)
    }

    /// Whether the invitees among `due` have accounts, in one batched read
    /// rather than one read per invitation. A failure is left to the
    /// per-invitation read, which leaves an email owed if it fails too.
    async fn learn_accounts(&self, due: &[Membership], reads: &mut Reads) {
        let unknown: Vec<Email> = due
            .iter()
            .filter(|m| {
                m.role != Role::Owner
                    && m.mail.is_some_and(|o| o.kind.is_invitation())
                    && !reads.accounts.contains_key(&m.email)
            })
            .map(|m| m.email.clone())
            .collect();
        if unknown.is_empty() {
            return;
        }
        match self.store().emails_with_accounts(&unknown).await {
            Ok(found) => reads
                .accounts
                .extend(unknown.into_iter().map(|e| (e.clone(), found.contains(&e)))),
            Err(e) => tracing::warn!(error = %e, "could not read which invitees have accounts"),
        }
    }

    /// Deliver one due membership's owed email. `Ok(false)` when nothing
    /// changed (its index entry was stale, or another run claimed it).
    async fn deliver(
        &self,
        m: Membership,
        reads: &mut Reads,
        summary: &mut RunSummary,
    ) -> Result<bool> {
        let now = self.now();
        let Some(owed) = m.mail.filter(|o| o.is_due(now)) else {
            return Ok(false);
        };
        if !reads.orgs.contains_key(&m.org_id) {
            let org = self.store().organization(&m.org_id).await?;
            reads.orgs.insert(m.org_id.clone(), org);
        }
        let Some(org) = reads.orgs.get(&m.org_id).cloned().flatten() else {
            return Ok(false);
        };
        if m.owed_mail_is_moot(now) {
            let mut dropped = m.clone();
            dropped.mail = None;
            return match self.record(&dropped, &m).await? {
                true => {
                    summary.expired += 1;
                    Ok(true)
                }
                false => Ok(false),
            };
        }
        if owed.kind == OwedKind::Digest {
            return self.deliver_digest(&org, m, reads, summary).await;
        }
        // The claim: one conditional write, which only one run can make.
        let mut claimed = m.clone();
        let token = match claimed.claim_mail(now, &mut rand::rng()) {
            Some(ClaimedMail::Invitation(token)) => Some(token),
            Some(ClaimedMail::Notice(_)) => None,
            None => return Ok(false),
        };
        if !self.record(&claimed, &m).await? {
            summary.claimed_elsewhere += 1;
            return Ok(false);
        }
        match self
            .owed_message(&org, &claimed, token.as_ref(), reads)
            .await
        {
            Outgoing::Mail(mail) => {
                if let Err(e) = self.inner.mailer.send(&mail).await {
                    tracing::warn!(member_id = %m.member_id, kind = ?owed.kind, attempts = claimed.mail.map(|o| o.attempts), error = %e, "owed email failed; retried after a backoff");
                    summary.failed += 1;
                    return Ok(true);
                }
                match (owed.kind, owed.attempts) {
                    (OwedKind::Reminder { .. }, _) => summary.reminded += 1,
                    (OwedKind::Invitation, 0) => summary.sent += 1,
                    (OwedKind::Invitation, _) => {
                        summary.sent += 1;
                        summary.retried += 1;
                    }
                    _ => summary.notified += 1,
                }
            }
            Outgoing::Nobody => {
                tracing::warn!(org_id = %org.id, kind = ?owed.kind, "no confirmed owner or admin to notify");
                summary.expired += 1;
            }
            Outgoing::NotNow => {
                summary.failed += 1;
                return Ok(true);
            }
        }
        let mut sent = claimed.clone();
        sent.mail_sent(&org.reminder_days, now);
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::with_mail(&claimed))
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "owed email sent; its delivery not recorded");
        }
        Ok(true)
    }

    /// Replace `was` by `m` if its owed email is still as read. `false`:
    /// another run (or a request) changed it first.
    async fn record(&self, m: &Membership, was: &Membership) -> Result<bool> {
        match self
            .store()
            .update_membership(m, &Expected::with_mail(was))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// `m` is due in its organization's digest. Unless one went out less
    /// than a day ago (or another run is sending it), claim `m`'s place,
    /// then the organization's digest record, and send one message to the
    /// administrators naming every member who has awaited confirmation for
    /// more than a day. The members it covered come due again a day later.
    async fn deliver_digest(
        &self,
        org: &Organization,
        m: Membership,
        reads: &mut Reads,
        summary: &mut RunSummary,
    ) -> Result<bool> {
        let now = self.now();
        let digest = match reads.digests.get(&org.id) {
            Some(d) => d.clone(),
            None => self
                .store()
                .admin_digest(&org.id)
                .await?
                .unwrap_or_else(|| AdminDigest::new(org.id.clone())),
        };
        reads.digests.insert(org.id.clone(), digest.clone());
        let allowed = digest.next_allowed(now);
        if allowed > now {
            let mut moved = m.clone();
            moved.digest_deferred(allowed);
            let recorded = self.record(&moved, &m).await?;
            summary.deferred += usize::from(recorded);
            return Ok(recorded);
        }
        let mut claimed = m.clone();
        if claimed.claim_mail(now, &mut rand::rng()).is_none() || !self.record(&claimed, &m).await?
        {
            summary.claimed_elsewhere += 1;
            return Ok(false);
        }
        let lease_end = claimed.mail.map_or(now, |o| o.due_at);
        let held = digest.claimed(lease_end);
        match self.write_digest(&held, digest.version, reads).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                // Another run holds it (or just sent it): this place is retried after its lease.
                summary.claimed_elsewhere += 1;
                return Ok(true);
            }
            Err(e) => return Err(e.into()),
        }
        let mut awaiting: Vec<Membership> = self
            .members_with_status(&org.id, Status::Accepted)
            .await?
            .into_iter()
            .filter(|a| {
                a.accepted_at
                    .is_some_and(|at| at + admit_domain::owed_mail::DIGEST_AFTER <= now)
            })
            .collect();
        awaiting.sort_by_key(|a| a.accepted_at);
        let admins = self.administrators_of(org, reads).await?;
        if awaiting.is_empty() || admins.is_empty() {
            // Nobody waits (confirmed meanwhile) or nobody to tell: nothing goes out.
            // Best effort: the claim's lease ends on its own.
            if let Err(e) = self
                .write_digest(&held.released(), held.version, reads)
                .await
            {
                tracing::info!(org_id = %org.id, error = %e, "digest claim not released; its lease ends on its own");
            }
            let mut done = claimed.clone();
            if awaiting.is_empty() {
                done.mail = None;
            } else {
                tracing::warn!(org_id = %org.id, "no confirmed owner or admin to send the digest to");
                done.digest_deferred(now + admit_domain::owed_mail::DIGEST_EVERY);
            }
            self.record(&done, &claimed).await?;
            summary.expired += 1;
            return Ok(true);
        }
        let listed: Vec<Awaiting<'_>> = awaiting
            .iter()
            .take(DIGEST_LISTS)
            .map(|a| Awaiting {
                email: a.email.as_str(),
                accepted_at: a.accepted_at.unwrap_or(now),
            })
            .collect();
        let link = self.config().link(&format!("/app?org={}", org.id));
        let mail = self.inner.templates.render_to_all(
            admins,
            &Message::Digest {
                org_name: &org.name,
                awaiting: &listed,
                more: awaiting.len() - listed.len(),
                link: &link,
            },
        );
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::warn!(org_id = %org.id, error = %e, "digest failed; retried after a backoff");
            summary.failed += 1;
            return Ok(true);
        }
        summary.digests += 1;
        if let Err(e) = self
            .write_digest(&held.sent(now), held.version, reads)
            .await
        {
            tracing::warn!(org_id = %org.id, error = %e, "digest sent; its record not written");
        }
        let mut next = claimed.clone();
        next.mail_sent(&org.reminder_days, now);
        if let Err(e) = self.record(&next, &claimed).await {
            tracing::info!(member_id = %m.member_id, error = %e, "digest sent; the member's place not moved");
        }
        Ok(true)
    }

    /// Write the organization's digest record (see
    /// [`admit_store::Store::put_admin_digest`]), keeping the run's copy in
    /// step: the record written, or none (read again) when the write failed.
    async fn write_digest(
        &self,
        digest: &AdminDigest,
        expected_version: u64,
        reads: &mut Reads,
    ) -> std::result::Result<(), StoreError> {
        let written = self
            .store()
            .put_admin_digest(digest, expected_version)
            .await;
        match &written {
            Ok(()) => reads.digests.insert(digest.org_id.clone(), digest.clone()),
            Err(_) => reads.digests.remove(&digest.org_id),
        };
        written
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
