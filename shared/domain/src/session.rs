//! Sessions: opaque bearer tokens stored as digests with an expiry.

use crate::{Secret, Timestamp, TokenDigest, UserId};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use time::Duration;

pub const SESSION_LIFETIME: Duration = Duration::hours(12);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub digest: TokenDigest,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// A session from an organization's SSO acts only in that organization:
    /// its IdP vouches for the person there, not in the account's other
    /// organizations. `None` for a master-password sign-in.
    #[serde(default)]
    pub org_scope: Option<crate::OrgId>,
    /// With a scope: the membership's session generation when this began
    /// ([`crate::Membership::admits_session`]).
    #[serde(default)]
    pub generation: Option<u64>,
    /// With a scope: the membership it signed in through, so that checking
    /// the membership still admits it is one read. Sessions from before it
    /// was recorded find the membership through the account's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<crate::MemberId>,
}

impl Session {
    /// A new session for `user` and the only copy of its token.
    pub fn start(
        user: UserId,
        org_scope: Option<crate::OrgId>,
        now: Timestamp,
        rng: &mut impl CryptoRng,
    ) -> (Session, Secret) {
        let secret = Secret::generate(rng);
        let s = Session {
            digest: secret.digest(),
            user_id: user,
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
            org_scope,
            generation: None,
            member_id: None,
        };
        (s, secret)
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire() {
        let now = Timestamp::from_unix(1_800_000_000);
        let (s, token) = Session::start(
            UserId::generate(&mut rand::rng()),
            None,
            now,
            &mut rand::rng(),
        );
        assert!(s.digest.matches(&token.digest()));
        assert!(s.is_live(now + Duration::hours(11)));
        assert!(!s.is_live(now + SESSION_LIFETIME));
    }

    #[test]
    fn sessions_stored_before_the_member_id_still_read() {
        let now = Timestamp::from_unix(1_800_000_000);
        let (s, _) = Session::start(
            UserId::generate(&mut rand::rng()),
            None,
            now,
            &mut rand::rng(),
        );
        let mut stored = serde_json::to_value(&s).unwrap();
        assert!(stored.get("member_id").is_none());
        stored.as_object_mut().unwrap().remove("generation");
        let read: Session = serde_json::from_value(stored).unwrap();
        assert_eq!((read.member_id, read.generation), (None, None));
    }
}
