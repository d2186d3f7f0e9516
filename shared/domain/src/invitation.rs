//! Invitations: the single-use token a membership carries while `invited`.
//!
//! The token a member receives is `<org_id>.<member_id>.<secret>`: the ids
//! locate the membership with one strongly consistent read, and the secret is
//! checked against the stored digest in constant time.

use crate::{MemberId, OrgId, Secret, Timestamp, TokenDigest};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Duration;

/// Whether the email that carries an invitation is still owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Recorded with the invitation; not yet handed to the mail service.
    Pending,
    /// Accepted by the mail service.
    Sent,
}

/// What a membership stores of its invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub digest: TokenDigest,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// How many invitation emails were handed to the mail service (initial + reinvites).
    pub sent_count: u32,
    pub delivery: Delivery,
    /// The digest of the link in the latest resend or reminder, which opens
    /// the invitation too (the first link keeps working).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_digest: Option<TokenDigest>,
}

/// Why a presented invitation token does not open its membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// Malformed, tampered, unknown, consumed or replaced by a reinvite.
    #[error("invitation not found")]
    Unknown,
    #[error("invitation expired")]
    Expired,
}

impl Invitation {
    /// Issue a fresh invitation valid for `lifetime` from `now`.
    pub fn issue(
        org: &OrgId,
        member: &MemberId,
        now: Timestamp,
        lifetime: Duration,
        rng: &mut impl CryptoRng,
    ) -> IssuedInvitation {
        let secret = Secret::generate(rng);
        let invitation = Invitation {
            digest: secret.digest(),
            issued_at: now,
            expires_at: now + lifetime,
            sent_count: 0,
            delivery: Delivery::Pending,
            resent_digest: None,
        };
        let token = InvitationToken {
            org_id: org.clone(),
            member_id: member.clone(),
            secret,
        };
        IssuedInvitation { invitation, token }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Does `token` open this invitation at `now`?
    pub fn check(&self, token: &InvitationToken, now: Timestamp) -> Result<(), InvitationError> {
        let presented = token.secret.digest();
        let resent = self.resent_digest.is_some_and(|d| d.matches(&presented));
        // Both compared, always: constant time whichever matches.
        if !(self.digest.matches(&presented) | resent) {
            return Err(InvitationError::Unknown);
        }
        if self.is_expired(now) {
            return Err(InvitationError::Expired);
        }
        Ok(())
    }

    /// The email went out.
    pub fn mark_sent(&mut self) {
        self.sent_count += 1;
        self.delivery = Delivery::Sent;
    }
}

/// A freshly issued invitation and the only copy of its token.
#[derive(Debug)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub token: InvitationToken,
}

/// The token in an invitation link.
#[derive(Clone)]
pub struct InvitationToken {
    pub org_id: OrgId,
    pub member_id: MemberId,
    secret: Secret,
}

impl InvitationToken {
    /// A new token for the membership `member` of `org`.
    pub(crate) fn generate(org: &OrgId, member: &MemberId, rng: &mut impl CryptoRng) -> Self {
        Self {
            org_id: org.clone(),
            member_id: member.clone(),
            secret: Secret::generate(rng),
        }
    }

    /// Parse a token from a link. `None` for anything malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split('.');
        let (org, member, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            org_id: OrgId::parse(org).ok()?,
            member_id: MemberId::parse(member).ok()?,
            secret: Secret::parse(secret)?,
        })
    }

    pub fn digest(&self) -> TokenDigest {
        self.secret.digest()
    }

    /// The token as it goes into a link. Never log it.
    pub fn expose(&self) -> String {
        format!(
            "{}.{}.{}",
            self.org_id,
            self.member_id,
            self.secret.expose()
        )
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InvitationToken({}, {}, ..)",
            self.org_id, self.member_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;

    fn issued(now: Timestamp) -> IssuedInvitation {
        let mut rng = rand::rng();
        let org = OrgId::generate(&mut rng);
        let member = MemberId::of(&org, &Email::parse("a@x.test").unwrap());
        Invitation::issue(&org, &member, now, Duration::days(5), &mut rng)
    }

    #[test]
    fn token_opens_its_invitation_until_expiry() {
        let t0 = Timestamp::from_unix(1_800_000_000);
        let i = issued(t0);
        let token = InvitationToken::parse(&i.token.expose()).unwrap();
        assert_eq!(i.invitation.check(&token, t0), Ok(()));
        assert_eq!(
            i.invitation
                .check(&token, t0 + Duration::days(5) - Duration::seconds(1)),
            Ok(())
        );
        assert_eq!(
            i.invitation.check(&token, t0 + Duration::days(5)),
            Err(InvitationError::Expired)
        );
        assert_eq!(i.invitation.delivery, Delivery::Pending);
    }

    #[test]
    fn another_or_tampered_token_is_unknown() {
        let t0 = Timestamp::from_unix(1_800_000_000);
        let (a, b) = (issued(t0), issued(t0));
        assert_eq!(
            a.invitation.check(&b.token, t0),
            Err(InvitationError::Unknown)
        );
        let shown = a.token.expose();
        let mut tampered = shown.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = InvitationToken::parse(std::str::from_utf8(&tampered).unwrap()).unwrap();
        assert_eq!(
            a.invitation.check(&tampered, t0),
            Err(InvitationError::Unknown)
        );
        for bad in [
            "",
            "x.y.z",
            &format!("{shown}.extra"),
            &shown[..shown.len() - 1],
        ] {
            assert!(InvitationToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let i = issued(Timestamp::from_unix(0));
        let shown = i.token.expose();
        let secret = shown.rsplit('.').next().unwrap();
        assert!(!format!("{:?}", i.token).contains(secret));
    }
}
