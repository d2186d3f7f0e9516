//! Inviting (bulk, seats, reinvite) and the member's side of an invitation:
//! looking it up and accepting it with a new or an existing account.

#[macro_use]
mod support;

use admit_app::{Error, SkipReason, Skipped};
use admit_domain::{Kdf, MemberDecryption, Role, Status};
use support::{World, accept_existing, accept_new};
use time::Duration;

#[tokio::test]
async fn a_bulk_invitation_invites_the_new_and_skips_the_rest() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    // kim has an account (from another organization); ann and bob do not.
    w.accepted_member(&other, "kim@example.com", Role::User, 'K')
        .await;
    w.accepted_member(&acme, "old@example.com", Role::User, 'D')
        .await;

    let result = w
        .invite(
            &acme.owner,
            &acme,
            &[
                "ann@example.com",
                "Bob@Example.com",
                "kim@example.com",
                "not an email",
                "ANN@example.com",
                "old@example.com",
            ],
            Role::User,
        )
        .await
        .unwrap();
    let invited: Vec<&str> = result.invited.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(
        invited,
        ["ann@example.com", "bob@example.com", "kim@example.com"]
    );
    assert_eq!(
        result.skipped,
        [
            Skipped {
                email: "not an email".into(),
                reason: SkipReason::InvalidEmail
            },
            Skipped {
                email: "ann@example.com".into(),
                reason: SkipReason::Duplicate
            },
            Skipped {
                email: "old@example.com".into(),
                reason: SkipReason::AlreadyMember
            },
        ]
    );

    // Each invitee gets one email worded for whether an account exists.
    let expiry = (w.now() + Duration::days(5)).human();
    for (email, action) in [
        ("ann@example.com", "Finish account setup"),
        ("bob@example.com", "Finish account setup"),
        ("kim@example.com", "Accept invitation"),
    ] {
        let mails = w.mails_to(email);
        let mail = mails.last().unwrap();
        assert_eq!(mail.subject, "Join Acme on Admit");
        assert!(mail.text.contains(&format!("{action}:")), "{}", mail.text);
        assert!(mail.text.contains(&format!("expires on {expiry} UTC")));
        let view = w.app.lookup_invitation(&mail.accept_token()).await.unwrap();
        assert_eq!(view.email, email);
        assert_eq!(view.account_exists, action == "Accept invitation");
    }
    assert_eq!(w.mails_to("kim@example.com").len(), 2, "Other's and Acme's");

    // The listing shows them invited, their invitation sent.
    for email in invited {
        let m = w.member(&acme, email).await.unwrap();
        assert_eq!((m.status, m.role), (Status::Invited, Role::User));
        assert_eq!(m.invitation_sent, Some(true));
        assert_eq!(m.invitation_expires_at, Some(w.now() + Duration::days(5)));
        assert!(m.user_id.is_none() && !m.invitation_expired);
    }
    assert_eq!(w.occupied_seats(&acme).await, 5);
}

#[tokio::test]
async fn inviting_is_for_the_organizations_administrators() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    let (_, user) = w
        .confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;
    let (_, admin) = w
        .confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    w.accepted_member(&acme, "pending@example.com", Role::Admin, 'P')
        .await;
    let pending_admin = w.login("pending@example.com", 'P').await;
    let sent = w.mails().len();

    assert_err!(
        w.invite(&user, &acme, &["x@example.com"], Role::User).await,
        Error::Forbidden
    );
    // An admin not yet confirmed administers nothing.
    assert_err!(
        w.invite(&pending_admin, &acme, &["x@example.com"], Role::User)
            .await,
        Error::Forbidden
    );
    // An owner of another organization learns nothing of this one.
    assert_err!(
        w.invite(&other.owner, &acme, &["x@example.com"], Role::User)
            .await,
        Error::NotFound
    );
    assert_err!(
        w.app
            .invite(
                &acme.owner,
                "no-such-org",
                admit_app::Invite {
                    emails: vec!["x@example.com".into()],
                    role: Role::User
                }
            )
            .await,
        Error::NotFound
    );
    assert_err!(
        w.invite(&admin, &acme, &[], Role::User).await,
        Error::InvalidRequest(_)
    );
    let many: Vec<String> = (0..101).map(|i| format!("p{i}@example.com")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_err!(
        w.invite(&admin, &acme, &many, Role::User).await,
        Error::InvalidRequest(_)
    );
    assert_err!(
        w.invite(&admin, &acme, &["x@example.com"], Role::Owner)
            .await,
        Error::InvalidRequest(_)
    );
    assert_eq!(w.mails().len(), sent, "refusals send nothing");
    assert!(w.member(&acme, "x@example.com").await.is_none());

    // A confirmed admin invites.
    let ok = w
        .invite(&admin, &acme, &["x@example.com"], Role::Admin)
        .await
        .unwrap();
    assert_eq!(ok.invited.len(), 1);
    assert_eq!(
        w.member(&acme, "x@example.com").await.unwrap().role,
        Role::Admin
    );
}

#[tokio::test]
async fn seats_are_all_or_nothing_and_autoscale_grows_to_its_ceiling() {
    let w = World::new();
    // Three seats, the owner's included.
    let acme = w.org_with_seats("Acme", "acme", Some(3), None).await;
    assert_err!(
        w.invite(
            &acme.owner,
            &acme,
            &["a@example.com", "b@example.com", "c@example.com"],
            Role::User
        )
        .await,
        Error::NoSeats
    );
    assert_eq!(
        w.members(&acme.owner, &acme).await.len(),
        1,
        "nothing written"
    );
    assert_eq!(w.mails().len(), 1, "only the owner's invitation");
    w.invite(
        &acme.owner,
        &acme,
        &["a@example.com", "b@example.com"],
        Role::User,
    )
    .await
    .unwrap();
    assert_eq!(w.occupied_seats(&acme).await, 3);
    assert_err!(
        w.invite(&acme.owner, &acme, &["c@example.com"], Role::User)
            .await,
        Error::NoSeats
    );
    // Skipped emails need no seat.
    let again = w
        .invite(&acme.owner, &acme, &["a@example.com"], Role::User)
        .await
        .unwrap();
    assert!(again.invited.is_empty());
    assert_eq!(again.skipped[0].reason, SkipReason::AlreadyMember);

    // A revoked member frees its seat.
    let a = w.member(&acme, "a@example.com").await.unwrap();
    w.app
        .revoke(&acme.owner, &acme.id, &a.member_id)
        .await
        .unwrap();
    w.invite(&acme.owner, &acme, &["c@example.com"], Role::User)
        .await
        .unwrap();

    // Autoscale: limit 2, growing to 4.
    let zeta = w.org_with_seats("Zeta", "zeta", Some(2), Some(4)).await;
    w.invite(
        &zeta.owner,
        &zeta,
        &["a@example.com", "b@example.com", "c@example.com"],
        Role::User,
    )
    .await
    .unwrap();
    let view = w.app.organization(&zeta.owner, &zeta.id).await.unwrap();
    assert_eq!(view.seats.occupied, 4);
    assert_eq!(view.seats.subscribed, Some(4));
    assert_err!(
        w.invite(&zeta.owner, &zeta, &["d@example.com"], Role::User)
            .await,
        Error::NoSeats
    );
}

#[tokio::test]
async fn a_reinvitation_replaces_the_token_and_renews_the_expiry() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let invited = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    let member = &invited.invited[0].member_id;
    let first = w.token_for("ann@example.com");
    w.advance(Duration::days(3));

    let renewed = w.app.reinvite(&acme.owner, &acme.id, member).await.unwrap();
    assert_eq!(&renewed.member_id, member);
    assert_eq!(renewed.invitation_expires_at, w.now() + Duration::days(5));
    let mails = w.mails_to("ann@example.com");
    assert_eq!(mails.len(), 2);
    let second = mails[1].accept_token();
    assert_ne!(first, second);
    assert_err!(w.app.lookup_invitation(&first).await, Error::NotFound);
    // The renewed invitation outlives the first one's expiry.
    w.advance(Duration::days(3));
    let view = w.app.lookup_invitation(&second).await.unwrap();
    assert_eq!(view.expires_at, renewed.invitation_expires_at);

    // Only invited members can be reinvited.
    w.app
        .accept_invitation(accept_new(&second, 'A'))
        .await
        .unwrap();
    assert_err!(
        w.app.reinvite(&acme.owner, &acme.id, member).await,
        Error::Conflict(_)
    );
    assert_err!(
        w.app
            .reinvite(&acme.owner, &acme.id, "no-such-member")
            .await,
        Error::NotFound
    );
    let (_, user) = w
        .confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;
    assert_err!(
        w.app.reinvite(&user, &acme.id, member).await,
        Error::Forbidden
    );
}

#[tokio::test]
async fn an_invitation_link_expires_with_its_invitation() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.invite(&acme.owner, &acme, &["ann@example.com"], Role::Admin)
        .await
        .unwrap();
    let token = w.token_for("ann@example.com");
    let view = w.app.lookup_invitation(&token).await.unwrap();
    assert_eq!(view.org_id, acme.id);
    assert_eq!(view.org_name, "Acme");
    assert_eq!(view.role, Role::Admin);
    assert!(!view.sso.enabled);
    assert_eq!(view.expires_at, w.now() + Duration::days(5));

    w.advance(Duration::days(5));
    assert_err!(w.app.lookup_invitation(&token).await, Error::Expired);
    assert_err!(
        w.app.accept_invitation(accept_new(&token, 'A')).await,
        Error::Expired
    );
    let m = w.member(&acme, "ann@example.com").await.unwrap();
    assert!(m.invitation_expired);
    assert_eq!(m.status, Status::Invited);

    assert_err!(w.app.lookup_invitation("garbage").await, Error::NotFound);
    // A well-formed token of another membership opens nothing.
    let mangled = format!("{}x", &token[..token.len() - 1]);
    assert_err!(w.app.lookup_invitation(&mangled).await, Error::NotFound);
}

#[tokio::test]
async fn a_new_account_accepts_once_and_the_administrators_are_told() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let (_, _admin) = w
        .confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    let invited = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    let token = w.token_for("ann@example.com");
    let before = w.mails().len();

    let accepted = w
        .app
        .accept_invitation(accept_new(&token, 'N'))
        .await
        .unwrap();
    assert_eq!(accepted.member_id, invited.invited[0].member_id);
    assert_eq!(accepted.status, Status::Accepted);

    // One notice to the owner and the admin together.
    let mails = w.mails();
    assert_eq!(mails.len(), before + 1);
    let notice = mails.last().unwrap();
    assert_eq!(
        notice.subject,
        "ann@example.com awaits confirmation in Acme"
    );
    let mut to = notice.to.clone();
    to.sort();
    assert_eq!(to, ["admin@example.com", "owner@acme.example.com"]);

    // The account exists with that password; the membership is accepted.
    let ann = w.login("ann@example.com", 'N').await;
    let me = w.app.me(&ann).await.unwrap();
    assert_eq!(me.memberships[0].status, Status::Accepted);
    let m = w.member(&acme, "ann@example.com").await.unwrap();
    assert_eq!(m.user_id, Some(ann.user_id.to_string()));
    assert_eq!(m.accepted_at, Some(w.now()));

    // Single use.
    assert_err!(
        w.app.accept_invitation(accept_new(&token, 'N')).await,
        Error::NotFound
    );
    assert_err!(w.app.lookup_invitation(&token).await, Error::NotFound);
}

#[tokio::test]
async fn registering_on_acceptance_refuses_incomplete_or_invalid_input() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    let token = w.token_for("ann@example.com");
    let mut no_kdf = accept_new(&token, 'N');
    no_kdf.kdf = None;
    let mut weak_kdf = accept_new(&token, 'N');
    weak_kdf.kdf = Some(Kdf::Pbkdf2Sha256 { iterations: 1000 });
    let mut bad_hash = accept_new(&token, 'N');
    bad_hash.master_password_hash = "not base64!".into();
    let mut long_name = accept_new(&token, 'N');
    long_name.name = Some("n".repeat(101));
    let mut empty_key = accept_new(&token, 'N');
    empty_key.keys.as_mut().unwrap().public_key.clear();
    for bad in [no_kdf, weak_kdf, bad_hash, long_name, empty_key] {
        assert_err!(w.app.accept_invitation(bad).await, Error::InvalidRequest(_));
    }
    // Nothing was written: the invitation still opens, no account exists.
    assert!(
        !w.app
            .lookup_invitation(&token)
            .await
            .unwrap()
            .account_exists
    );
    assert_eq!(
        w.member(&acme, "ann@example.com").await.unwrap().status,
        Status::Invited
    );
}

#[tokio::test]
async fn without_an_account_an_sso_organization_sends_the_invitee_to_sso() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    w.invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    let token = w.token_for("ann@example.com");
    let view = w.app.lookup_invitation(&token).await.unwrap();
    assert!(view.sso.enabled && !view.account_exists);
    assert_eq!(view.sso.sso_identifier, "acme");
    assert_err!(
        w.app.accept_invitation(accept_new(&token, 'N')).await,
        Error::Conflict(_)
    );
    assert_eq!(
        w.member(&acme, "ann@example.com").await.unwrap().status,
        Status::Invited
    );
}

#[tokio::test]
async fn an_existing_account_accepts_with_its_master_password() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    w.accepted_member(&other, "kim@example.com", Role::User, 'K')
        .await;
    let kim = w.login("kim@example.com", 'K').await;
    // Even in an organization with SSO: the account proves itself.
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    w.invite(&acme.owner, &acme, &["kim@example.com"], Role::User)
        .await
        .unwrap();
    let token = w.token_for("kim@example.com");
    assert!(
        w.app
            .lookup_invitation(&token)
            .await
            .unwrap()
            .account_exists
    );

    assert_err!(
        w.app.accept_invitation(accept_existing(&token, 'X')).await,
        Error::WrongCredentials
    );
    assert_eq!(
        w.member(&acme, "kim@example.com").await.unwrap().status,
        Status::Invited,
        "a wrong password changes nothing"
    );

    // A new-account body does not replace the existing password.
    let accepted = w
        .app
        .accept_invitation(accept_new(&token, 'K'))
        .await
        .unwrap();
    assert_eq!(accepted.status, Status::Accepted);
    let m = w.member(&acme, "kim@example.com").await.unwrap();
    assert_eq!(m.user_id, Some(kim.user_id.to_string()));
    let me = w
        .app
        .me(&w.login("kim@example.com", 'K').await)
        .await
        .unwrap();
    assert_eq!(me.user_id, kim.user_id.to_string());
    assert_eq!(me.memberships.len(), 2);
}
