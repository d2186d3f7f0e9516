//! The email a membership owes: recorded in the same write as the change
//! that causes it, claimed by a conditional write before every send, and
//! moved on (to the next reminder, or to nothing) once sent.
//!
//! A claim is a lease: it moves `due_at` to the end of a backoff and counts
//! the attempt. Whoever claims sends; if that send fails, or its sender
//! dies, the email is due again when the lease ends. Two senders that read
//! the same owed email race on the claim, and only one wins.
//!
//! A membership owes one email at a time, in the order of its life:
//! invitation → reminders (while `invited`), the notice to administrators
//! that it awaits confirmation → its place in their daily digest (while
//! `accepted`), the notice that its access is ready (once `confirmed`).
//! The digest itself is the organization's: [`AdminDigest`] makes it go out
//! at most once a day, whichever of its waiting members comes due first.
//!
//! The transitions of [`crate::membership`] say what they owe through
//! `Membership::owe_after`: the whole table is here, with the claims, their
//! backoff and what a send moves on to.

use crate::invitation::InvitationToken;
use crate::membership::Status;
use crate::{Membership, OrgId, Timestamp};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use time::Duration;

/// Which email is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OwedKind {
    /// The invitation itself (first send, after a reinvite, or a retry).
    Invitation,
    /// Reminder number `step` (1-based) of the organization's schedule.
    Reminder { step: u8 },
    /// The notice to the organization's owners and admins that this member
    /// accepted and awaits confirmation.
    AwaitingConfirmation,
    /// This member, still unconfirmed, is due in the administrators' digest.
    Digest,
    /// The notice to the member that an administrator confirmed them.
    Confirmed,
}

impl OwedKind {
    /// An invitation or a reminder: sent to the invitee, with a link.
    pub fn is_invitation(self) -> bool {
        matches!(self, OwedKind::Invitation | OwedKind::Reminder { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwedMail {
    #[serde(flatten)]
    pub kind: OwedKind,
    /// From when it may be sent: its schedule, or the end of a claim's lease.
    pub due_at: Timestamp,
    /// Claims so far (each one a send attempt).
    pub attempts: u32,
}

/// How long a member awaits confirmation before a digest lists them.
pub const DIGEST_AFTER: Duration = Duration::days(1);
/// An organization's administrators get at most one digest per this long.
pub const DIGEST_EVERY: Duration = Duration::days(1);

/// The longest a failed email waits before its next attempt.
pub const MAX_BACKOFF: Duration = Duration::hours(6);

/// How long the attempt numbered `attempt` (1-based) holds its claim, which
/// is also how long a failure of it waits: 5 minutes, doubling, at most 6 hours.
pub fn backoff(attempt: u32) -> Duration {
    let minutes = 5i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(16));
    Duration::minutes(minutes).min(MAX_BACKOFF)
}

impl OwedMail {
    /// The invitation a request records and, in the same write, claims for
    /// its own first attempt (it sends right after the write).
    pub fn invitation_claimed(now: Timestamp) -> OwedMail {
        OwedMail::claimed_by_request(OwedKind::Invitation, now)
    }

    /// An email a request records and claims for its own attempt, made right
    /// after its write; the job retries it if that attempt fails.
    pub fn claimed_by_request(kind: OwedKind, now: Timestamp) -> OwedMail {
        OwedMail {
            kind,
            due_at: now + backoff(1),
            attempts: 1,
        }
    }

    /// A place in the administrators' digest, due from `at`.
    pub fn digest_at(at: Timestamp) -> OwedMail {
        OwedMail {
            kind: OwedKind::Digest,
            due_at: at,
            attempts: 0,
        }
    }

    pub fn is_due(&self, now: Timestamp) -> bool {
        self.due_at <= now
    }

    /// This email claimed for one more attempt, leased until its backoff ends.
    pub fn claimed(&self, now: Timestamp) -> OwedMail {
        let attempts = self.attempts.saturating_add(1);
        OwedMail {
            attempts,
            due_at: now + backoff(attempts),
            ..*self
        }
    }

    /// The email owed after this one was sent: the next reminder of
    /// `reminder_days` (days after `issued_at`) that falls before `expires_at`.
    pub fn next(
        &self,
        reminder_days: &[u32],
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Option<OwedMail> {
        let after_step = match self.kind {
            OwedKind::Invitation => 0,
            OwedKind::Reminder { step } => usize::from(step),
            _ => return None,
        };
        let mut days: Vec<u32> = reminder_days.to_vec();
        days.sort_unstable();
        days.dedup();
        days.iter()
            .enumerate()
            .skip(after_step)
            .map(|(i, d)| (i, issued_at + Duration::days(i64::from(*d))))
            .find(|(_, at)| *at < expires_at)
            .map(|(i, at)| OwedMail {
                kind: OwedKind::Reminder {
                    step: u8::try_from(i + 1).unwrap_or(u8::MAX),
                },
                due_at: at,
                attempts: 0,
            })
    }
}

/// A change of a membership's state that decides the email it owes: each
/// transition of [`crate::membership`] names its own, once the change is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Created `invited`, by an invitation issued `at`.
    Invited { at: Timestamp },
    /// Invited again `at`, with a new token.
    Reinvited { at: Timestamp },
    /// invited → accepted, `at`.
    Accepted { at: Timestamp },
    /// The bootstrap owner accepted, and so was confirmed at once.
    ConfirmedAsBootstrapOwner,
    /// accepted → confirmed, `at`.
    Confirmed { at: Timestamp },
    /// → revoked.
    Revoked,
    /// revoked → the status it had (already restored).
    Restored,
}

impl Membership {
    /// What this membership owes once `change` is made: the email every
    /// transition owes, in one place.
    pub(crate) fn owe_after(&mut self, change: Change) {
        match change {
            // Owed in the write that creates (or reinvites) it; that request
            // sends it. After a reinvite the schedule starts again.
            Change::Invited { at } | Change::Reinvited { at } => {
                self.mail = Some(OwedMail::invitation_claimed(at));
            }
            // The administrators are told, by the accepting request's own attempt.
            Change::Accepted { at } => {
                self.mail = Some(OwedMail::claimed_by_request(
                    OwedKind::AwaitingConfirmation,
                    at,
                ));
            }
            // The bootstrap owner has nobody to tell; a revoked member is owed nothing.
            Change::ConfirmedAsBootstrapOwner | Change::Revoked => self.mail = None,
            // The member is told, by the confirming request's own attempt.
            Change::Confirmed { at } => {
                self.mail = Some(OwedMail::claimed_by_request(OwedKind::Confirmed, at));
            }
            // A member restored to `accepted` awaits confirmation again, so
            // it is owed in the administrators' digest.
            Change::Restored => {
                if let (Status::Accepted, Some(at)) = (self.status, self.accepted_at) {
                    self.mail = Some(OwedMail::digest_at(at + DIGEST_AFTER));
                }
            }
        }
    }

    /// The owed email can no longer be sent: an invitation's membership left
    /// `invited` or expired (nothing goes out after expiry); a notice's
    /// membership left the status it was about.
    pub fn owed_mail_is_moot(&self, now: Timestamp) -> bool {
        match self.mail.map(|m| m.kind) {
            None => true,
            Some(OwedKind::Invitation | OwedKind::Reminder { .. }) => {
                self.status != Status::Invited
                    || self.invitation.as_ref().is_none_or(|i| i.is_expired(now))
            }
            Some(OwedKind::AwaitingConfirmation | OwedKind::Digest) => {
                self.status != Status::Accepted
            }
            Some(OwedKind::Confirmed) => self.status != Status::Confirmed,
        }
    }

    /// Claim the owed email for one more attempt (see [`OwedMail::claimed`]).
    /// An invitation or reminder gets a new link: the token of the first
    /// email keeps working, and so does this one, until the next resend or
    /// reminder replaces it. `None` when nothing (sendable) is owed.
    pub fn claim_mail(&mut self, now: Timestamp, rng: &mut impl CryptoRng) -> Option<ClaimedMail> {
        let mail = self.mail.as_mut()?;
        if !mail.kind.is_invitation() {
            *mail = mail.claimed(now);
            return Some(ClaimedMail::Notice(mail.kind));
        }
        let invitation = self.invitation.as_mut()?;
        *mail = mail.claimed(now);
        let token = InvitationToken::generate(&self.org_id, &self.member_id, rng);
        invitation.resent_digest = Some(token.digest());
        Some(ClaimedMail::Invitation(token))
    }

    /// The owed email went out at `now`; what is owed next:
    /// - after an invitation (marked sent) or a reminder, the next reminder
    ///   of `reminder_days` (days after the invitation was issued) that falls
    ///   before expiry, or nothing;
    /// - after the awaiting-confirmation notice, a place in the digest a
    ///   day after accepting; after a digest, a place in the next one;
    /// - after the confirmation notice, nothing.
    pub fn mail_sent(&mut self, reminder_days: &[u32], now: Timestamp) {
        let Some(mail) = self.mail else {
            return;
        };
        self.mail = match mail.kind {
            OwedKind::Invitation | OwedKind::Reminder { .. } => {
                let Some(invitation) = self.invitation.as_mut() else {
                    self.mail = None;
                    return;
                };
                if mail.kind == OwedKind::Invitation {
                    invitation.mark_sent();
                }
                mail.next(reminder_days, invitation.issued_at, invitation.expires_at)
            }
            OwedKind::AwaitingConfirmation => self
                .accepted_at
                .map(|at| OwedMail::digest_at(at + DIGEST_AFTER)),
            OwedKind::Digest => Some(OwedMail::digest_at(now + DIGEST_EVERY)),
            OwedKind::Confirmed => None,
        };
    }

    /// This member's place in the digest moves to `at` (another sender's
    /// digest covered it, or the next may not go out before then).
    pub fn digest_deferred(&mut self, at: Timestamp) {
        if self.mail.is_some_and(|m| m.kind == OwedKind::Digest) {
            self.mail = Some(OwedMail::digest_at(at));
        }
    }
}

/// What claiming a membership's owed email gives its sender.
#[derive(Debug)]
pub enum ClaimedMail {
    /// An invitation or reminder, and the token of its new link.
    Invitation(InvitationToken),
    /// A notice or a digest place: no link to issue.
    Notice(OwedKind),
}

/// An organization's administrators' digest: when the last one went out,
/// and until when a sender holds the claim on the next. Every write is
/// conditional on `version`, so of two senders only one sends a day's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminDigest {
    pub org_id: OrgId,
    pub last_sent_at: Option<Timestamp>,
    pub claimed_until: Option<Timestamp>,
    /// Moved by every write (0: never written).
    pub version: u64,
}

impl AdminDigest {
    /// The record of an organization that never had a digest.
    pub fn new(org_id: OrgId) -> AdminDigest {
        AdminDigest {
            org_id,
            last_sent_at: None,
            claimed_until: None,
            version: 0,
        }
    }

    /// The earliest a digest may go out, from `now` on: a day after the
    /// last one, and not while another sender holds the claim.
    pub fn next_allowed(&self, now: Timestamp) -> Timestamp {
        let after_last = self.last_sent_at.map(|t| t + DIGEST_EVERY);
        [Some(now), after_last, self.claimed_until]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now)
    }

    /// Claimed for one send until `until` (the end of its sender's lease).
    pub fn claimed(&self, until: Timestamp) -> AdminDigest {
        AdminDigest {
            claimed_until: Some(until),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// A digest went out at `now`.
    pub fn sent(&self, now: Timestamp) -> AdminDigest {
        AdminDigest {
            last_sent_at: Some(now),
            claimed_until: None,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The claim given up: nothing was sent.
    pub fn released(&self) -> AdminDigest {
        AdminDigest {
            claimed_until: None,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use crate::invitation::InvitationError;
    use crate::membership::tests::{T0, invited, user};

    fn t0() -> Timestamp {
        Timestamp::from_unix(T0)
    }

    #[test]
    fn backoff_doubles_from_five_minutes_to_six_hours() {
        let got: Vec<i64> = (1..=8).map(|a| backoff(a).whole_minutes()).collect();
        assert_eq!(got, [5, 10, 20, 40, 80, 160, 320, 360]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_claim_counts_the_attempt_and_leases_until_its_backoff() {
        let first = OwedMail::invitation_claimed(t0());
        assert_eq!((first.attempts, first.due_at), (1, t0() + backoff(1)));
        assert!(!first.is_due(t0()));
        assert!(first.is_due(t0() + backoff(1)));
        let later = t0() + Duration::hours(1);
        let second = first.claimed(later);
        assert_eq!((second.attempts, second.due_at), (2, later + backoff(2)));
        assert_eq!(second.kind, OwedKind::Invitation);
    }

    #[test]
    fn reminders_follow_the_schedule_and_stop_before_expiry() {
        let expires = t0() + Duration::days(5);
        let sent = OwedMail::invitation_claimed(t0());
        let r1 = sent.next(&[4, 2], t0(), expires).unwrap();
        assert_eq!(r1.kind, OwedKind::Reminder { step: 1 });
        assert_eq!((r1.due_at, r1.attempts), (t0() + Duration::days(2), 0));
        let r2 = r1.next(&[2, 4], t0(), expires).unwrap();
        assert_eq!(
            (r2.kind, r2.due_at),
            (OwedKind::Reminder { step: 2 }, t0() + Duration::days(4))
        );
        assert_eq!(r2.next(&[2, 4], t0(), expires), None);
        // A step at or after expiry is never scheduled.
        let short = t0() + Duration::days(4);
        assert_eq!(r1.next(&[2, 4], t0(), short), None);
        assert_eq!(sent.next(&[], t0(), expires), None);
        // Notices are followed by no reminder.
        let notice = OwedMail::claimed_by_request(OwedKind::AwaitingConfirmation, t0());
        assert_eq!(notice.next(&[2, 4], t0(), expires), None);
    }

    #[test]
    fn a_digest_goes_out_at_most_daily_and_not_while_claimed() {
        let org = OrgId::generate(&mut rand::rng());
        let fresh = AdminDigest::new(org);
        assert_eq!(fresh.next_allowed(t0()), t0());
        let claimed = fresh.claimed(t0() + backoff(1));
        assert_eq!(claimed.version, 1);
        assert_eq!(claimed.next_allowed(t0()), t0() + backoff(1));
        // A claim whose lease ended no longer holds anyone back.
        let later = t0() + Duration::hours(1);
        assert_eq!(claimed.next_allowed(later), later);
        let sent = claimed.sent(t0());
        assert_eq!((sent.claimed_until, sent.version), (None, 2));
        assert_eq!(sent.next_allowed(later), t0() + DIGEST_EVERY);
        let released = claimed.released();
        assert_eq!(
            (released.last_sent_at, released.claimed_until),
            (None, None)
        );
        assert_eq!(released.next_allowed(t0()), t0());
    }

    #[test]
    fn owed_mail_follows_the_invitation() {
        let t0 = Timestamp::from_unix(T0);
        let (mut m, first) = invited(Role::User);
        // Owed from the start, claimed by the inviting request's attempt.
        assert_eq!(m.mail, Some(OwedMail::invitation_claimed(t0)));
        // A retry claims it again with a second link; the first still opens.
        let retry_at = t0 + Duration::minutes(6);
        let Some(ClaimedMail::Invitation(second)) = m.claim_mail(retry_at, &mut rand::rng()) else {
            panic!("an invitation claim issues a link")
        };
        assert_eq!(m.mail.unwrap().attempts, 2);
        assert_eq!(m.check_invitation(&first, retry_at), Ok(()));
        assert_eq!(m.check_invitation(&second, retry_at), Ok(()));
        // Sent: marked so, and the first reminder is owed on day 2.
        m.mail_sent(&[2, 4], retry_at);
        let invitation = m.invitation.as_ref().unwrap();
        assert_eq!(
            (invitation.sent_count, invitation.delivery),
            (1, crate::Delivery::Sent)
        );
        let r1 = m.mail.unwrap();
        assert_eq!(
            (r1.kind, r1.due_at),
            (OwedKind::Reminder { step: 1 }, t0 + Duration::days(2))
        );
        // A reminder's link replaces the retry's; the first keeps working.
        let Some(ClaimedMail::Invitation(third)) = m.claim_mail(r1.due_at, &mut rand::rng()) else {
            panic!("a reminder claim issues a link")
        };
        assert_eq!(
            m.check_invitation(&second, r1.due_at),
            Err(InvitationError::Unknown)
        );
        assert_eq!(m.check_invitation(&first, r1.due_at), Ok(()));
        assert_eq!(m.check_invitation(&third, r1.due_at), Ok(()));
        // Moot once expired, or once answered (accepting clears it).
        assert!(!m.owed_mail_is_moot(t0 + Duration::days(4)));
        assert!(m.owed_mail_is_moot(t0 + Duration::days(5)));
        m.accept(user(), t0).unwrap();
        assert_eq!(m.mail.map(|o| o.kind), Some(OwedKind::AwaitingConfirmation));
        // A reinvite owes a fresh invitation; a revoke owes nothing.
        let (mut m, _) = invited(Role::User);
        m.mail_sent(&[2, 4], t0);
        let later = t0 + Duration::days(6);
        m.reinvite(later, Duration::days(5), &mut rand::rng())
            .unwrap();
        assert_eq!(m.mail, Some(OwedMail::invitation_claimed(later)));
        m.revoke().unwrap();
        assert_eq!(m.mail, None);
    }

    #[test]
    fn owed_notices_follow_acceptance_and_confirmation() {
        let t0 = Timestamp::from_unix(T0);
        let (mut m, _) = invited(Role::User);
        m.accept(user(), t0).unwrap();
        // Accepting owes the administrators a notice, claimed by the request.
        assert_eq!(
            m.mail,
            Some(OwedMail::claimed_by_request(
                OwedKind::AwaitingConfirmation,
                t0
            ))
        );
        let retry = t0 + Duration::minutes(5);
        let Some(ClaimedMail::Notice(OwedKind::AwaitingConfirmation)) =
            m.claim_mail(retry, &mut rand::rng())
        else {
            panic!("a notice claim issues no link")
        };
        assert_eq!(m.mail.unwrap().attempts, 2);
        // Sent: the member is owed in the digest a day after accepting.
        m.mail_sent(&[2, 4], retry);
        assert_eq!(m.mail, Some(OwedMail::digest_at(t0 + DIGEST_AFTER)));
        assert!(!m.owed_mail_is_moot(t0 + Duration::days(3)));
        // Another sender's digest covered it: its place moves on.
        m.digest_deferred(t0 + Duration::days(2));
        assert_eq!(m.mail, Some(OwedMail::digest_at(t0 + Duration::days(2))));
        let day2 = t0 + Duration::days(2);
        m.claim_mail(day2, &mut rand::rng()).unwrap();
        m.mail_sent(&[2, 4], day2);
        assert_eq!(m.mail, Some(OwedMail::digest_at(day2 + DIGEST_EVERY)));
        // Confirming owes the member a notice; after it, nothing.
        m.confirm("key".into(), day2).unwrap();
        assert_eq!(
            m.mail,
            Some(OwedMail::claimed_by_request(OwedKind::Confirmed, day2))
        );
        assert!(!m.owed_mail_is_moot(day2));
        m.mail_sent(&[2, 4], day2);
        assert_eq!(m.mail, None);
        // A notice about a status the member left is moot.
        let (mut m, _) = invited(Role::User);
        m.accept(user(), t0).unwrap();
        m.revoke().unwrap();
        assert_eq!(m.mail, None);
        m.restore().unwrap();
        assert_eq!(m.mail, Some(OwedMail::digest_at(t0 + DIGEST_AFTER)));
        let mut confirmed = m.clone();
        confirmed.status = Status::Confirmed;
        assert!(confirmed.owed_mail_is_moot(t0));
        m.digest_deferred(t0);
        assert_eq!(m.mail, Some(OwedMail::digest_at(t0)));
        // The bootstrap owner owes nothing.
        let (mut owner, _) = invited(Role::Owner);
        owner.accept_as_bootstrap_owner(user(), t0).unwrap();
        assert_eq!(owner.mail, None);
    }
}
