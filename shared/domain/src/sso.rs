//! The SSO sign-in decision: one table for both protocols (docs/product.md).
//!
//! A protocol adapter (OIDC, SAML) verifies what the IdP sent and reduces it
//! to an [`IdpIdentity`]; the use case loads the [`SignInFacts`] from the
//! store; [`decide`] says what happens. Nothing here knows a protocol.

use crate::{Account, Email, MemberId, Membership, Organization, ParseError, Status, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The IdP's stable id for a person (OIDC `sub`, SAML NameID or attribute).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > 300 {
            return Err(ParseError::new("external_id", "must be 1 to 300 bytes"));
        }
        if raw.chars().any(char::is_control) {
            return Err(ParseError::new(
                "external_id",
                "must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id qualified by the IdP that issued it (`<16 hex of SHA-256(idp)>|<id>`):
    /// ids are unique only within their issuer, so an organization that
    /// changes its IdP never signs anyone in through a link made by the old one.
    pub fn at_idp(&self, idp: &str) -> ExternalId {
        use sha2::{Digest, Sha256};
        let h: String = Sha256::digest(idp.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        ExternalId(format!("{h}|{}", self.0))
    }

    /// Was this (qualified) id issued by `idp`?
    pub fn is_at_idp(&self, idp: &str) -> bool {
        ExternalId(String::new())
            .at_idp(idp)
            .0
            .strip_suffix('|')
            .is_some_and(|prefix| self.0.starts_with(&format!("{prefix}|")))
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalId({})", self.0)
    }
}

impl From<ExternalId> for String {
    fn from(e: ExternalId) -> String {
        e.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// What a verified assertion says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpIdentity {
    pub external_id: ExternalId,
    /// `None` when the assertion carries no usable email.
    pub email: Option<Email>,
    /// The IdP says the email is verified (OIDC `email_verified: true`).
    pub email_verified: bool,
    /// The display name, for an account created just in time.
    pub name: Option<String>,
    /// The member's groups at the IdP ([`idp_groups`]), when the
    /// organization names a groups claim or attribute and the IdP's answer
    /// says them; `None` leaves the groups the IdP set before as they are.
    pub groups: Option<Vec<String>>,
}

/// At most this many groups are kept from one sign-in (Entra ID puts at
/// most 200 in a token before it sends an overage reference instead).
pub const MAX_IDP_GROUPS: usize = 200;

/// At most this many bytes of a group's name are kept; longer names are dropped.
pub const MAX_IDP_GROUP_NAME: usize = 256;

/// The groups an IdP sent, as they are kept on the membership: trimmed,
/// without empty names, names over [`MAX_IDP_GROUP_NAME`] bytes or with a
/// control character, without repeats, sorted (so that an unchanged set
/// compares equal and writes nothing), and at most [`MAX_IDP_GROUPS`] of
/// them. Also returns how many values were dropped, for the log.
pub fn idp_groups<'a>(values: impl IntoIterator<Item = &'a str>) -> (Vec<String>, usize) {
    let mut kept = std::collections::BTreeSet::new();
    let mut dropped = 0;
    for raw in values {
        let name = raw.trim();
        if name.is_empty() || name.len() > MAX_IDP_GROUP_NAME || name.chars().any(char::is_control)
        {
            dropped += 1;
        } else if !kept.contains(name) {
            if kept.len() == MAX_IDP_GROUPS {
                dropped += 1;
            } else {
                kept.insert(name.to_owned());
            }
        }
    }
    (kept.into_iter().collect(), dropped)
}

/// An account and its membership (if any) in the signing-in organization.
#[derive(Debug, Clone, Copy)]
pub struct AccountInOrg<'a> {
    pub account: &'a Account,
    pub membership: Option<&'a Membership>,
}

/// Everything the decision needs. The organization comes from the stored
/// sign-in state, never from the IdP's response.
#[derive(Debug, Clone, Copy)]
pub struct SignInFacts<'a> {
    pub org: &'a Organization,
    pub identity: &'a IdpIdentity,
    /// The account linked to `(org, external id)`.
    pub linked: Option<AccountInOrg<'a>>,
    /// The account whose email is the asserted one.
    pub by_email: Option<AccountInOrg<'a>>,
    /// The membership of the asserted email in `org` (when no account has that email).
    pub email_membership: Option<&'a Membership>,
    /// The email the invitation this sign-in started from was issued to.
    pub invitation_email: Option<&'a Email>,
    /// The asserted email's domain is a verified claimed domain of `org`.
    pub claimed_domain: bool,
}

/// Why a sign-in is refused; each is an error code of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Revoked,
    MembershipRequired,
    InviteAcceptanceRequired,
    ConfirmationRequired,
    NoSeats,
    InvitationRequired,
    EmailUnverified,
    EmailMissing,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Revoked => "revoked",
            Refusal::MembershipRequired => "membership_required",
            Refusal::InviteAcceptanceRequired => "invite_acceptance_required",
            Refusal::ConfirmationRequired => "confirmation_required",
            Refusal::NoSeats => "no_seats",
            Refusal::InvitationRequired => "invitation_required",
            Refusal::EmailUnverified => "email_unverified",
            Refusal::EmailMissing => "email_missing",
        }
    }
}

/// What a sign-in leads to. Every variant but `Refuse` is applied by the use
/// case in one atomic write (or none, for `SignIn` and `ContinueSetup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoDecision {
    /// Row 1: the linked account's membership is accepted or confirmed.
    SignIn { user: UserId },
    /// Row 2: the linked account's membership still waits for its setup step.
    ContinueSetup { user: UserId, member: MemberId },
    /// Row 5: link the identity to the existing, confirmed account; signed in.
    LinkAndSignIn { user: UserId },
    /// Row 9: create the account for the invited email, linked; then setup.
    CreateAccountForInvitation { member: MemberId, email: Email },
    /// Row 10: create the account, the link and an invited `user` membership
    /// (taking a seat); then setup.
    CreateAccountAndMembership { email: Email },
    /// Rows 3, 4, 6, 7, 8, 11, 12, 13, 14: nothing is written.
    Refuse(Refusal),
}

impl SignInFacts<'_> {
    fn email_trusted(&self, email: &Email) -> bool {
        self.identity.email_verified || self.claimed_domain || self.invitation_email == Some(email)
    }
}

/// The SSO sign-in decision table.
pub fn decide(f: &SignInFacts<'_>) -> SsoDecision {
    use Refusal::*;
    use SsoDecision::*;

    if let Some(linked) = f.linked {
        let user = linked.account.id.clone();
        return match linked.membership.map(|m| (m.status, m)) {
            Some((Status::Accepted | Status::Confirmed, _)) => SignIn { user },
            // Setup unfinished: a membership created for this account by SSO.
            Some((Status::Invited, m)) if m.user_id.as_ref() == Some(&user) => ContinueSetup {
                user,
                member: m.member_id.clone(),
            },
            // Invited by email again (after a removal): accepted with a master password.
            Some((Status::Invited, _)) => Refuse(InviteAcceptanceRequired),
            Some((Status::Revoked, _)) => Refuse(Revoked),
            None => Refuse(MembershipRequired),
        };
    }
    let Some(email) = f.identity.email.as_ref() else {
        return Refuse(EmailMissing);
    };
    let trusted = f.email_trusted(email);

    if let Some(existing) = f.by_email {
        return match existing.membership.map(|m| m.status) {
            Some(Status::Confirmed) if trusted => LinkAndSignIn {
                user: existing.account.id.clone(),
            },
            Some(Status::Confirmed) => Refuse(EmailUnverified),
            Some(Status::Invited) => Refuse(InviteAcceptanceRequired),
            Some(Status::Accepted) => Refuse(ConfirmationRequired),
            Some(Status::Revoked) => Refuse(Revoked),
            None => Refuse(MembershipRequired),
        };
    }

    match f.email_membership {
        Some(m) if m.status == Status::Invited => {
            if trusted {
                CreateAccountForInvitation {
                    member: m.member_id.clone(),
                    email: email.clone(),
                }
            } else {
                Refuse(EmailUnverified)
            }
        }
        Some(m) if m.status == Status::Revoked => Refuse(Revoked),
        // Accepted or confirmed without an account cannot happen; refuse safely.
        Some(_) => Refuse(MembershipRequired),
        None if !f.org.policies.jit_without_invitation => Refuse(InvitationRequired),
        None if !trusted => Refuse(EmailUnverified),
        None if f.org.seats.check(f.org.occupied_seats, 1).is_err() => Refuse(NoSeats),
        None => CreateAccountAndMembership {
            email: email.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kdf, MasterPassword, OrgId, Role, SeatPlan, SsoIdentifier, Timestamp};
    use time::Duration;

    fn now() -> Timestamp {
        Timestamp::from_unix(1_800_000_000)
    }

    struct World {
        org: Organization,
        identity: IdpIdentity,
        account: Account,
    }

    fn world() -> World {
        let mut rng = rand::rng();
        let mut org = Organization::new(
            OrgId::generate(&mut rng),
            "Acme",
            SsoIdentifier::parse("acme").unwrap(),
            SeatPlan {
                limit: Some(10),
                autoscale_max: None,
            },
            now(),
        )
        .unwrap();
        org.occupied_seats = 5;
        let email = Email::parse("ada@acme.test").unwrap();
        let account = Account {
            id: UserId::generate(&mut rng),
            email: email.clone(),
            name: None,
            master_password: Some(MasterPassword {
                verifier: "v".into(),
                kdf: Kdf::DEFAULT,
            }),
            keys: None,
            devices: Vec::new(),
            created_at: now(),
        };
        let identity = IdpIdentity {
            external_id: ExternalId::parse("sub-1").unwrap(),
            email: Some(email),
            email_verified: true,
            name: None,
            groups: None,
        };
        World {
            org,
            identity,
            account,
        }
    }

    fn membership(w: &World, status: Status) -> Membership {
        let (mut m, _) = Membership::invite(
            &w.org.id,
            w.account.email.clone(),
            Role::User,
            now(),
            Duration::days(5),
            &mut rand::rng(),
        );
        match status {
            Status::Invited => {}
            Status::Accepted => m.accept(w.account.id.clone(), now()).unwrap(),
            Status::Confirmed => {
                m.accept(w.account.id.clone(), now()).unwrap();
                m.confirm("k".into(), now()).unwrap();
            }
            Status::Revoked => m.revoke().unwrap(),
        }
        m
    }

    fn facts(w: &World) -> SignInFacts<'_> {
        SignInFacts {
            org: &w.org,
            identity: &w.identity,
            linked: None,
            by_email: None,
            email_membership: None,
            invitation_email: None,
            claimed_domain: false,
        }
    }

    fn linked<'a>(w: &'a World, m: Option<&'a Membership>) -> Option<AccountInOrg<'a>> {
        Some(AccountInOrg {
            account: &w.account,
            membership: m,
        })
    }

    #[test]
    fn a_qualified_id_knows_its_idp() {
        let id = ExternalId::parse("sub-1")
            .unwrap()
            .at_idp("https://idp.example");
        assert!(id.is_at_idp("https://idp.example"));
        assert!(!id.is_at_idp("https://other.example"));
        assert!(
            !ExternalId::parse("sub-1")
                .unwrap()
                .is_at_idp("https://idp.example")
        );
    }

    #[test]
    fn row_01_linked_and_accepted_or_confirmed_signs_in() {
        let w = world();
        for s in [Status::Accepted, Status::Confirmed] {
            let m = membership(&w, s);
            let d = decide(&SignInFacts {
                linked: linked(&w, Some(&m)),
                ..facts(&w)
            });
            assert_eq!(
                d,
                SsoDecision::SignIn {
                    user: w.account.id.clone()
                }
            );
        }
    }

    #[test]
    fn row_02_linked_with_setup_unfinished_continues_setup() {
        let w = world();
        let mut m = membership(&w, Status::Invited);
        m.user_id = Some(w.account.id.clone());
        let d = decide(&SignInFacts {
            linked: linked(&w, Some(&m)),
            ..facts(&w)
        });
        assert_eq!(
            d,
            SsoDecision::ContinueSetup {
                user: w.account.id.clone(),
                member: m.member_id.clone()
            }
        );
    }

    #[test]
    fn row_02_only_for_the_membership_sso_created() {
        // Removed, then invited again by email: not the setup step of a JIT account.
        let w = world();
        let m = membership(&w, Status::Invited);
        let d = decide(&SignInFacts {
            linked: linked(&w, Some(&m)),
            ..facts(&w)
        });
        assert_eq!(d, SsoDecision::Refuse(Refusal::InviteAcceptanceRequired));
    }

    #[test]
    fn row_03_linked_and_revoked_is_refused() {
        let w = world();
        let m = membership(&w, Status::Revoked);
        assert_eq!(
            decide(&SignInFacts {
                linked: linked(&w, Some(&m)),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::Revoked)
        );
    }

    #[test]
    fn row_04_linked_without_membership_is_refused() {
        let w = world();
        assert_eq!(
            decide(&SignInFacts {
                linked: linked(&w, None),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::MembershipRequired)
        );
    }

    #[test]
    fn row_05_existing_confirmed_account_with_trusted_email_is_linked() {
        let w = world();
        let m = membership(&w, Status::Confirmed);
        let d = decide(&SignInFacts {
            by_email: linked(&w, Some(&m)),
            ..facts(&w)
        });
        assert_eq!(
            d,
            SsoDecision::LinkAndSignIn {
                user: w.account.id.clone()
            }
        );
    }

    #[test]
    fn row_06_existing_account_with_invitation_must_accept_first() {
        let w = world();
        let m = membership(&w, Status::Invited);
        let d = decide(&SignInFacts {
            by_email: linked(&w, Some(&m)),
            invitation_email: Some(&w.account.email),
            ..facts(&w)
        });
        assert_eq!(d, SsoDecision::Refuse(Refusal::InviteAcceptanceRequired));
    }

    #[test]
    fn row_07_existing_account_accepted_waits_for_confirmation() {
        let w = world();
        let m = membership(&w, Status::Accepted);
        assert_eq!(
            decide(&SignInFacts {
                by_email: linked(&w, Some(&m)),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::ConfirmationRequired)
        );
    }

    #[test]
    fn row_08_existing_account_without_membership_needs_an_invitation() {
        let w = world();
        assert_eq!(
            decide(&SignInFacts {
                by_email: linked(&w, None),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::MembershipRequired)
        );
    }

    #[test]
    fn row_09_invited_email_without_account_creates_it() {
        let w = world();
        let m = membership(&w, Status::Invited);
        let d = decide(&SignInFacts {
            email_membership: Some(&m),
            ..facts(&w)
        });
        assert_eq!(
            d,
            SsoDecision::CreateAccountForInvitation {
                member: m.member_id.clone(),
                email: w.account.email.clone()
            }
        );
    }

    #[test]
    fn row_10_no_invitation_creates_account_and_membership() {
        let w = world();
        assert_eq!(
            decide(&facts(&w)),
            SsoDecision::CreateAccountAndMembership {
                email: w.account.email.clone()
            }
        );
    }

    #[test]
    fn row_11_no_seat_and_no_autoscale_room_is_refused() {
        let mut w = world();
        w.org.occupied_seats = 10;
        assert_eq!(decide(&facts(&w)), SsoDecision::Refuse(Refusal::NoSeats));
        // Autoscale room lets the same sign-in through.
        w.org.seats.autoscale_max = Some(11);
        assert_eq!(
            decide(&facts(&w)),
            SsoDecision::CreateAccountAndMembership {
                email: w.account.email.clone()
            }
        );
    }

    #[test]
    fn row_12_jit_without_invitation_disallowed() {
        let mut w = world();
        w.org.policies.jit_without_invitation = false;
        assert_eq!(
            decide(&facts(&w)),
            SsoDecision::Refuse(Refusal::InvitationRequired)
        );
        // An invitation still works.
        let m = membership(&w, Status::Invited);
        assert!(matches!(
            decide(&SignInFacts {
                email_membership: Some(&m),
                ..facts(&w)
            }),
            SsoDecision::CreateAccountForInvitation { .. }
        ));
    }

    #[test]
    fn row_13_untrusted_email_never_links_or_creates() {
        let mut w = world();
        w.identity.email_verified = false;
        let confirmed = membership(&w, Status::Confirmed);
        let invited = membership(&w, Status::Invited);
        assert_eq!(
            decide(&SignInFacts {
                by_email: linked(&w, Some(&confirmed)),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::EmailUnverified)
        );
        assert_eq!(
            decide(&SignInFacts {
                email_membership: Some(&invited),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::EmailUnverified)
        );
        assert_eq!(
            decide(&facts(&w)),
            SsoDecision::Refuse(Refusal::EmailUnverified)
        );
        // An invitation to another email does not vouch for this one.
        let other = Email::parse("someone.else@acme.test").unwrap();
        assert_eq!(
            decide(&SignInFacts {
                invitation_email: Some(&other),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::EmailUnverified)
        );
    }

    #[test]
    fn row_13_trust_comes_from_verification_claimed_domain_or_invitation() {
        let mut w = world();
        w.identity.email_verified = false;
        let invited = membership(&w, Status::Invited);
        let by_invitation = SignInFacts {
            email_membership: Some(&invited),
            invitation_email: Some(&w.account.email),
            ..facts(&w)
        };
        assert!(matches!(
            decide(&by_invitation),
            SsoDecision::CreateAccountForInvitation { .. }
        ));
        let by_domain = SignInFacts {
            claimed_domain: true,
            ..facts(&w)
        };
        assert!(matches!(
            decide(&by_domain),
            SsoDecision::CreateAccountAndMembership { .. }
        ));
    }

    #[test]
    fn row_14_no_usable_email_is_refused() {
        let mut w = world();
        w.identity.email = None;
        assert_eq!(
            decide(&facts(&w)),
            SsoDecision::Refuse(Refusal::EmailMissing)
        );
        // A linked identity does not need an email.
        let m = membership(&w, Status::Confirmed);
        assert!(matches!(
            decide(&SignInFacts {
                linked: linked(&w, Some(&m)),
                ..facts(&w)
            }),
            SsoDecision::SignIn { .. }
        ));
    }

    #[test]
    fn revoked_memberships_never_get_in() {
        let w = world();
        let m = membership(&w, Status::Revoked);
        assert_eq!(
            decide(&SignInFacts {
                by_email: linked(&w, Some(&m)),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::Revoked)
        );
        assert_eq!(
            decide(&SignInFacts {
                email_membership: Some(&m),
                ..facts(&w)
            }),
            SsoDecision::Refuse(Refusal::Revoked)
        );
    }

    #[test]
    fn refusal_codes_are_the_contracts() {
        let all = [
            Refusal::Revoked,
            Refusal::MembershipRequired,
            Refusal::InviteAcceptanceRequired,
            Refusal::ConfirmationRequired,
            Refusal::NoSeats,
            Refusal::InvitationRequired,
            Refusal::EmailUnverified,
            Refusal::EmailMissing,
        ];
        let codes: Vec<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "revoked",
                "membership_required",
                "invite_acceptance_required",
                "confirmation_required",
                "no_seats",
                "invitation_required",
                "email_unverified",
                "email_missing"
            ]
        );
    }

    #[test]
    fn external_ids_are_bounded() {
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse(&"x".repeat(301)).is_err());
        let sub = ExternalId::parse(&"s".repeat(255)).unwrap();
        let (a, b) = (sub.at_idp("https://a.test"), sub.at_idp("https://b.test"));
        assert_ne!(a, b, "the same id at two IdPs is two identities");
        assert_eq!(a, sub.at_idp("https://a.test"));
        assert!(ExternalId::parse(a.as_str()).is_ok());
        assert!(ExternalId::parse("a\nb").is_err());
        assert_eq!(
            ExternalId::parse("248289761001").unwrap().as_str(),
            "248289761001"
        );
    }

    #[test]
    fn idp_groups_are_trimmed_unique_sorted_and_bounded() {
        let (kept, dropped) = idp_groups([" eng ", "ops", "eng", "", "bad\u{0}name", "/a/b"]);
        assert_eq!(kept, ["/a/b", "eng", "ops"]);
        assert_eq!(dropped, 2, "the empty name and the control character");
        let long = "x".repeat(MAX_IDP_GROUP_NAME + 1);
        assert_eq!(idp_groups([long.as_str()]), (vec![], 1));
        let many: Vec<String> = (0..MAX_IDP_GROUPS + 5)
            .map(|i| format!("g{i:03}"))
            .collect();
        let (kept, dropped) = idp_groups(many.iter().map(String::as_str));
        assert_eq!((kept.len(), dropped), (MAX_IDP_GROUPS, 5));
        // Repeats do not count against the bound.
        let (kept, dropped) = idp_groups(std::iter::repeat_n("same", MAX_IDP_GROUPS + 5));
        assert_eq!((kept, dropped), (vec!["same".to_owned()], 0));
    }
}
