//! A member's whole life through the use cases: accepting while signed in,
//! linking an identity instead of being locked out, revocation that ends
//! sessions at once, day-2 administration with the last-owner guard, and
//! deleting an account so its email can be provisioned afresh.

#[macro_use]
mod support;

use admit_app::{
    ChangeRole, Confirm, DeleteAccount, Error, LinkBy, Login, PoliciesInput, PutOrgSettings,
    PutSeats, SignInOutcome,
};
use admit_domain::{MemberDecryption, Role, Status};
use support::{Org, World, identity, password, session_token, setup_token, trusted_device};
use time::Duration;

fn role(role: Role) -> ChangeRole {
    ChangeRole { role }
}

/// An OIDC sign-in at `org` linking the returning identity (`by`).
async fn link_sign_in(
    w: &World,
    org: &Org,
    by: LinkBy<'_>,
    who: admit_domain::IdpIdentity,
) -> admit_app::Result<SignInOutcome> {
    w.oidc_sign_in_with(org, None, Some(by), who).await
}

#[tokio::test]
async fn an_account_without_a_master_password_joins_another_organization_while_signed_in() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.enable_oidc(&acme, MemberDecryption::TrustedDevices).await;
    let token = setup_token(
        w.oidc_sign_in(&acme, None, identity("sub-t", Some("t@example.com"), true))
            .await,
    );
    let done = w
        .app
        .setup_trusted_device(trusted_device(token))
        .await
        .unwrap();
    let t = w.app.authenticate(&done.session_token).await.unwrap();

    let globex = w.org("Globex", "globex").await;
    w.invite(&globex.owner, &globex, &["t@example.com"], Role::User)
        .await
        .unwrap();
    let invitation = w.token_for("t@example.com");
    let with_session = admit_app::Accept {
        token: invitation.clone(),
        master_password_hash: String::new(),
        kdf: None,
        keys: None,
        name: None,
        org_key: None,
    };
    // Neither a password nor a session; another account's session.
    assert_err!(
        w.app.accept_invitation_as(with_session.clone(), None).await,
        Error::InvalidRequest(_)
    );
    assert_err!(
        w.app
            .accept_invitation_as(with_session.clone(), Some(&globex.owner))
            .await,
        Error::Forbidden
    );
    assert_eq!(
        w.member(&globex, "t@example.com").await.unwrap().status,
        Status::Invited
    );
    let accepted = w
        .app
        .accept_invitation_as(with_session, Some(&t))
        .await
        .unwrap();
    assert_eq!(accepted.status, Status::Accepted);
    // A session from Acme's SSO acts in Acme only: it cannot link an
    // identity of Globex's IdP to the account.
    w.enable_oidc(&globex, MemberDecryption::MasterPassword)
        .await;
    assert_err!(
        w.oidc_sign_in_with(
            &globex,
            None,
            Some(LinkBy::Session(&t)),
            identity("sub-other", Some("x@evil.test"), true)
        )
        .await,
        Error::NotFound
    );
}

#[tokio::test]
async fn a_member_locked_out_by_require_sso_links_its_identity_with_the_link_token() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let (_, pat) = w
        .confirmed_member(&acme, "pat@example.com", Role::User, 'P')
        .await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    w.app
        .set_policies(
            &acme.owner,
            &acme.id,
            PoliciesInput {
                require_sso: Some(true),
                jit_without_invitation: None,
            },
        )
        .await
        .unwrap();
    // The IdP does not vouch for the email: the table refuses (row 13)…
    let unverified = || identity("sub-pat", Some("pat@example.com"), false);
    assert_err!(
        w.oidc_sign_in(&acme, None, unverified()).await,
        Error::Refused(admit_domain::Refusal::EmailUnverified)
    );
    // …and the master password is refused too, with a way out.
    let login = || {
        w.app.login(Login {
            email: "pat@example.com".into(),
            master_password_hash: password('P'),
        })
    };
    let link_token = match login().await {
        Err(Error::SsoRequiredLink { link_token }) => link_token,
        other => panic!("sso_required with a link token, not {:?}", other.err()),
    };
    let session =
        session_token(link_sign_in(&w, &acme, LinkBy::Token(&link_token), unverified()).await);
    let signed_in = w.app.authenticate(&session).await.unwrap();
    assert_eq!(signed_in.user_id, pat.user_id);
    // Single use.
    assert_err!(
        link_sign_in(&w, &acme, LinkBy::Token(&link_token), unverified()).await,
        Error::NotFound
    );
    // Linked now: a plain SSO sign-in is row 1, and the login says only sso_required.
    session_token(w.oidc_sign_in(&acme, None, unverified()).await);
    assert_err!(login().await, Error::SsoRequired);
    assert!(w.member(&acme, "pat@example.com").await.is_some());
}

#[tokio::test]
async fn an_identity_never_links_to_an_account_that_did_not_ask() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let (_, victim) = w
        .confirmed_member(&acme, "victim@example.com", Role::User, 'V')
        .await;
    let (_, mallory) = w
        .confirmed_member(&acme, "mallory@example.com", Role::User, 'M')
        .await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    // An IdP asserting the victim's (unverified) email links nothing.
    let forged = || identity("sub-evil", Some("victim@example.com"), false);
    assert!(w.oidc_sign_in(&acme, None, forged()).await.is_err());
    // Mallory links her own identity…
    session_token(link_sign_in(&w, &acme, LinkBy::Session(&mallory), forged()).await);
    // …which then cannot be linked to the victim, even by the victim.
    assert_err!(
        link_sign_in(&w, &acme, LinkBy::Session(&victim), forged()).await,
        Error::Conflict(_)
    );
    let me = w.app.me(&victim).await.unwrap();
    assert_eq!(me.email, "victim@example.com");
    // The victim links its own identity.
    let own = identity("sub-victim", Some("victim@example.com"), false);
    let session = session_token(link_sign_in(&w, &acme, LinkBy::Session(&victim), own).await);
    assert_eq!(
        w.app.authenticate(&session).await.unwrap().user_id,
        victim.user_id
    );
}

#[tokio::test]
async fn revoking_ends_the_members_sso_sessions_at_once() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let (member, pat) = w
        .confirmed_member(&acme, "pat@example.com", Role::Admin, 'P')
        .await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let who = || identity("sub-pat", Some("pat@example.com"), true);
    let sso = session_token(w.oidc_sign_in(&acme, None, who()).await);
    assert!(w.app.authenticate(&sso).await.is_ok());

    w.app.revoke(&acme.owner, &acme.id, &member).await.unwrap();
    assert_err!(w.app.authenticate(&sso).await, Error::Unauthenticated);
    // The unscoped session lives, but not in this organization.
    assert_err!(w.app.organization(&pat, &acme.id).await, Error::NotFound);

    w.advance(Duration::seconds(1));
    w.app.restore(&acme.owner, &acme.id, &member).await.unwrap();
    assert_err!(w.app.authenticate(&sso).await, Error::Unauthenticated);
    let again = session_token(w.oidc_sign_in(&acme, None, who()).await);
    assert!(w.app.authenticate(&again).await.is_ok());

    w.app
        .remove_member(&acme.owner, &acme.id, &member)
        .await
        .unwrap();
    assert_err!(w.app.authenticate(&again).await, Error::Unauthenticated);
}

#[tokio::test]
async fn roles_seats_and_settings_with_the_last_owner_guarded() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(5), None).await;
    let (admin_id, admin) = w
        .confirmed_member(&acme, "adm@example.com", Role::Admin, 'A')
        .await;
    let user_id = w
        .accepted_member(&acme, "u@example.com", Role::User, 'U')
        .await;
    // Admins move users and admins, not owners.
    let view = w
        .app
        .change_role(&admin, &acme.id, &user_id, role(Role::Admin))
        .await
        .unwrap();
    assert_eq!(view.role, Role::Admin);
    assert_err!(
        w.app
            .change_role(&admin, &acme.id, &user_id, role(Role::Owner))
            .await,
        Error::Forbidden
    );
    assert_err!(
        w.app
            .change_role(&admin, &acme.id, &acme.owner_member_id, role(Role::User))
            .await,
        Error::Forbidden
    );
    // The last confirmed owner stays.
    assert_err!(
        w.app
            .change_role(
                &acme.owner,
                &acme.id,
                &acme.owner_member_id,
                role(Role::Admin)
            )
            .await,
        Error::Conflict(_)
    );
    w.app
        .change_role(&acme.owner, &acme.id, &admin_id, role(Role::Owner))
        .await
        .unwrap();
    // Two owners now: each demotes the other at the same moment; one stays.
    let admin_now_owner = w.login("adm@example.com", 'A').await;
    let (a, b) = tokio::join!(
        w.app
            .change_role(&acme.owner, &acme.id, &admin_id, role(Role::Admin)),
        w.app.change_role(
            &admin_now_owner,
            &acme.id,
            &acme.owner_member_id,
            role(Role::Admin)
        ),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one demotion: {a:?} {b:?}");
    let owners = w
        .members(&acme.owner, &acme)
        .await
        .into_iter()
        .filter(|m| m.role == Role::Owner)
        .count();
    assert_eq!(owners, 1);

    // Seats: never below what is occupied (3 of 5).
    let seats = |limit| PutSeats {
        limit,
        autoscale_max: None,
    };
    let owner = if a.is_ok() {
        &acme.owner
    } else {
        &admin_now_owner
    };
    assert_err!(
        w.app.set_seats(owner, &acme.id, seats(Some(2))).await,
        Error::Conflict(_)
    );
    let view = w
        .app
        .set_seats(owner, &acme.id, seats(Some(3)))
        .await
        .unwrap();
    assert_eq!((view.seats.limit, view.seats.occupied), (Some(3), 3));
    assert_err!(
        w.invite(owner, &acme, &["one.more@example.com"], Role::User)
            .await,
        Error::NoSeats
    );
    // Invitation lifetime and reminders.
    let bad = PutOrgSettings {
        invitation_days: Some(3),
        reminder_days: Some(vec![1, 3]),
        admin_group: None,
    };
    assert_err!(
        w.app.set_org_settings(owner, &acme.id, bad).await,
        Error::InvalidRequest(_)
    );
    let view = w
        .app
        .set_org_settings(
            owner,
            &acme.id,
            PutOrgSettings {
                invitation_days: Some(10),
                reminder_days: Some(vec![7, 3, 3]),
                admin_group: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (view.invitation_lifetime_days, view.reminder_days),
        (10, vec![3, 7])
    );
}

#[tokio::test]
async fn a_deleted_account_frees_its_email_for_a_fresh_jit_account() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(3), None).await;
    let (_, pat) = w
        .confirmed_member(&acme, "pat@example.com", Role::User, 'P')
        .await;
    w.enable_oidc(&acme, MemberDecryption::TrustedDevices).await;
    let before = w.occupied_seats(&acme).await;
    assert_err!(
        w.app
            .delete_account(
                &pat,
                DeleteAccount {
                    master_password_hash: Some(password('X')),
                }
            )
            .await,
        Error::WrongCredentials
    );
    assert!(w.member(&acme, "pat@example.com").await.is_some());
    // The last owner cannot leave.
    assert_err!(
        w.app
            .delete_account(
                &acme.owner,
                DeleteAccount {
                    master_password_hash: Some(password('O')),
                }
            )
            .await,
        Error::Conflict(_)
    );
    w.app
        .delete_account(
            &pat,
            DeleteAccount {
                master_password_hash: Some(password('P')),
            },
        )
        .await
        .unwrap();
    assert!(w.member(&acme, "pat@example.com").await.is_none());
    assert_eq!(w.occupied_seats(&acme).await, before - 1);
    assert_err!(w.app.me(&pat).await, Error::Unauthenticated);
    // The seeds' path: the same email comes back through SSO, just in time,
    // with no master password.
    let token = setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-pat", Some("pat@example.com"), true),
        )
        .await,
    );
    let done = w
        .app
        .setup_trusted_device(trusted_device(token))
        .await
        .unwrap();
    let fresh = w.app.authenticate(&done.session_token).await.unwrap();
    assert_ne!(fresh.user_id, pat.user_id);
    w.app
        .confirm(
            &acme.owner,
            &acme.id,
            &done.member_id,
            Confirm { key: "k".into() },
        )
        .await
        .unwrap();
    // Without a master password, only a fresh session deletes it.
    w.advance(Duration::minutes(6));
    assert_err!(
        w.app.delete_account(&fresh, DeleteAccount::default()).await,
        Error::Forbidden
    );
}
