//! The job: one run sends every owed email that is due — retries of failed
//! first attempts, reminders, notices, digests — each claimed first by a
//! conditional write, paced at the mail service's rate, until a deadline.
//! What it did is one [`RunSummary`], logged as one line per run.

use super::pacing::Pacer;
use super::render::{Outgoing, Reads};
use crate::{App, Result};
use admit_domain::{Actor, ClaimedMail, Email, Event, EventType, Membership, OwedKind, Role};
use admit_store::{Expected, StoreError};
use serde::Serialize;
use std::time::{Duration, Instant};

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
    /// The domains re-checked in DNS (after the mail).
    pub domains: crate::DomainChecks,
}

impl App {
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
        if !summary.unfinished {
            match self.recheck_domains(deadline).await {
                Ok(checks) => summary.domains = checks,
                Err(e) => tracing::warn!(error = %e, "domain re-checks failed; next run"),
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
        // A reminder is on the record, written with its delivery's.
        let events: Vec<Event> = match owed.kind {
            OwedKind::Reminder { .. } => vec![self.member_event(
                &claimed,
                &Actor::System,
                EventType::MemberReminded,
                Default::default(),
            )],
            _ => Vec::new(),
        };
        if let Err(e) = self
            .store()
            .update_membership(&sent, &Expected::with_mail(&claimed), &events)
            .await
        {
            tracing::info!(member_id = %m.member_id, error = %e, "owed email sent; its delivery not recorded");
        }
        Ok(true)
    }

    /// Replace `was` by `m` if its owed email is still as read. `false`:
    /// another run (or a request) changed it first.
    pub(super) async fn record(&self, m: &Membership, was: &Membership) -> Result<bool> {
        match self
            .store()
            .update_membership(m, &Expected::with_mail(was), &[])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
