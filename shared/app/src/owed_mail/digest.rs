//! The administrators' digest: once a day at most, one message to an
//! organization's owners and admins naming every member who has awaited
//! confirmation for more than a day. Each waiting member holds a place in
//! it (an owed email of kind `Digest`); whichever place comes due first
//! sends the organization's digest, claimed through its [`AdminDigest`]
//! record so that of several runs only one sends it.

use super::job::RunSummary;
use super::render::Reads;
use crate::{App, Result};
use admit_domain::{AdminDigest, Membership, Organization, Status};
use admit_mail::{Awaiting, Message};
use admit_store::StoreError;

/// Members a digest names; the rest are counted ("and N more").
const DIGEST_LISTS: usize = 100;

impl App {
    /// `m` is due in its organization's digest. Unless one went out less
    /// than a day ago (or another run is sending it), claim `m`'s place,
    /// then the organization's digest record, and send one message to the
    /// administrators naming every member who has awaited confirmation for
    /// more than a day. The members it covered come due again a day later.
    pub(super) async fn deliver_digest(
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
