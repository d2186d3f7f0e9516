//! Administering members: the organization view, listing, confirming (one
//! and bulk), revoking, restoring and removing.

#[macro_use]
mod support;

use admit_app::{Confirm, ConfirmMany, ConfirmOne, Error};
use admit_domain::{Role, Status};
use support::World;

fn key(k: &str) -> Confirm {
    Confirm { key: k.into() }
}

#[tokio::test]
async fn the_organization_is_shown_to_its_administrators_only() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    let (_, user) = w
        .confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;
    let (_, admin) = w
        .confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    assert_eq!(
        w.app.organization(&admin, &acme.id).await.unwrap().org_id,
        acme.id
    );
    assert_err!(w.app.organization(&user, &acme.id).await, Error::Forbidden);
    assert_err!(
        w.app.organization(&other.owner, &acme.id).await,
        Error::NotFound
    );
    assert_err!(
        w.app.organization(&acme.owner, "garbage").await,
        Error::NotFound
    );
    assert_err!(
        w.app.list_members(&user, &acme.id, None, None).await,
        Error::Forbidden
    );
    assert_err!(
        w.app.list_members(&other.owner, &acme.id, None, None).await,
        Error::NotFound
    );
}

#[tokio::test]
async fn the_listing_pages_and_filters_by_status() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let emails: Vec<String> = (0..60).map(|i| format!("m{i:02}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    w.invite(&acme.owner, &acme, &refs, Role::User)
        .await
        .unwrap();
    w.accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;

    let first = w
        .app
        .list_members(&acme.owner, &acme.id, None, None)
        .await
        .unwrap();
    assert_eq!(first.members.len(), 50);
    let cursor = first.next_cursor.expect("a second page");
    let second = w
        .app
        .list_members(&acme.owner, &acme.id, None, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(second.members.len(), 12);
    assert!(second.next_cursor.is_none());
    let mut all: Vec<String> = first
        .members
        .iter()
        .chain(&second.members)
        .map(|m| m.email.clone())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 62, "every member once");

    let invited = w
        .app
        .list_members(&acme.owner, &acme.id, Some("invited"), None)
        .await
        .unwrap();
    assert_eq!(invited.members.len(), 50);
    assert!(invited.members.iter().all(|m| m.status == Status::Invited));
    let accepted = w
        .app
        .list_members(&acme.owner, &acme.id, Some("accepted"), None)
        .await
        .unwrap();
    let accepted: Vec<_> = accepted.members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(accepted, ["ann@example.com"]);
    let confirmed = w
        .app
        .list_members(&acme.owner, &acme.id, Some("confirmed"), None)
        .await
        .unwrap();
    assert_eq!(confirmed.members.len(), 1);
    assert_eq!(confirmed.members[0].role, Role::Owner);

    assert_err!(
        w.app
            .list_members(&acme.owner, &acme.id, Some("sleeping"), None)
            .await,
        Error::InvalidRequest(_)
    );
    assert_err!(
        w.app
            .list_members(&acme.owner, &acme.id, None, Some("not-a-cursor"))
            .await,
        Error::InvalidRequest(_)
    );
}

#[tokio::test]
async fn confirming_an_accepted_member_tells_the_member() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let member = w
        .accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    let confirmed = w
        .app
        .confirm(&acme.owner, &acme.id, &member, key("org-key-for-ann"))
        .await
        .unwrap();
    assert_eq!(confirmed.status, Status::Confirmed);
    let mail = w.last_mail_to("ann@example.com");
    assert_eq!(mail.subject, "Your access to Acme is ready");
    let m = w.member(&acme, "ann@example.com").await.unwrap();
    assert_eq!(m.status, Status::Confirmed);
    assert_eq!(m.confirmed_at, Some(w.now()));
    let ann = w.login("ann@example.com", 'N').await;
    assert_eq!(
        w.app.me(&ann).await.unwrap().memberships[0].status,
        Status::Confirmed
    );

    // Confirming again, or anyone not accepted, is a conflict.
    assert_err!(
        w.app
            .confirm(&acme.owner, &acme.id, &member, key("k"))
            .await,
        Error::Conflict(_)
    );
    let invited = w
        .invite(&acme.owner, &acme, &["bob@example.com"], Role::User)
        .await
        .unwrap();
    assert_err!(
        w.app
            .confirm(
                &acme.owner,
                &acme.id,
                &invited.invited[0].member_id,
                key("k")
            )
            .await,
        Error::Conflict(_)
    );
    assert_err!(
        w.app
            .confirm(&acme.owner, &acme.id, "no-such-member", key("k"))
            .await,
        Error::NotFound
    );
    assert_err!(
        w.app
            .confirm(&acme.owner, &acme.id, &member, key("  "))
            .await,
        Error::InvalidRequest(_)
    );
    // A confirmed user administers nothing.
    assert_err!(
        w.app.confirm(&ann, &acme.id, &member, key("k")).await,
        Error::Forbidden
    );
}

#[tokio::test]
async fn bulk_confirmation_reports_each_member() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let ann = w
        .accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    let bob = w
        .accepted_member(&acme, "bob@example.com", Role::User, 'B')
        .await;
    let cid = w
        .accepted_member(&acme, "cid@example.com", Role::User, 'C')
        .await;
    let invited = w
        .invite(&acme.owner, &acme, &["dan@example.com"], Role::User)
        .await
        .unwrap();
    let dan = invited.invited[0].member_id.clone();
    let one = |m: &str, k: &str| ConfirmOne {
        member_id: m.into(),
        key: k.into(),
    };
    let result = w
        .app
        .confirm_many(
            &acme.owner,
            &acme.id,
            ConfirmMany {
                keys: vec![
                    one(&ann, "k-ann"),
                    one(&bob, "k-bob"),
                    one(&dan, "k-dan"),
                    one("no-such-member", "k"),
                    one(&cid, ""),
                ],
            },
        )
        .await
        .unwrap();
    let seen: Vec<_> = result
        .results
        .iter()
        .map(|r| (r.member_id.as_str(), r.status, r.error))
        .collect();
    assert_eq!(
        seen,
        [
            (ann.as_str(), Some(Status::Confirmed), None),
            (bob.as_str(), Some(Status::Confirmed), None),
            (dan.as_str(), None, Some("conflict")),
            ("no-such-member", None, Some("not_found")),
            (cid.as_str(), None, Some("invalid_request")),
        ]
    );
    for (email, status) in [
        ("ann@example.com", Status::Confirmed),
        ("bob@example.com", Status::Confirmed),
        ("cid@example.com", Status::Accepted),
        ("dan@example.com", Status::Invited),
    ] {
        assert_eq!(w.member(&acme, email).await.unwrap().status, status);
    }
    assert_eq!(
        w.last_mail_to("bob@example.com").subject,
        "Your access to Acme is ready"
    );

    assert_err!(
        w.app
            .confirm_many(&acme.owner, &acme.id, ConfirmMany { keys: vec![] })
            .await,
        Error::InvalidRequest(_)
    );
    let too_many = (0..101).map(|_| one(&cid, "k")).collect();
    assert_err!(
        w.app
            .confirm_many(&acme.owner, &acme.id, ConfirmMany { keys: too_many })
            .await,
        Error::InvalidRequest(_)
    );
    assert_eq!(
        w.member(&acme, "cid@example.com").await.unwrap().status,
        Status::Accepted
    );
}

#[tokio::test]
async fn revoking_frees_the_seat_and_restoring_takes_it_back() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(3), None).await;
    let (ann, ann_session) = w
        .confirmed_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    w.invite(&acme.owner, &acme, &["bob@example.com"], Role::User)
        .await
        .unwrap();
    let bob_token = w.token_for("bob@example.com");
    let bob = w.member(&acme, "bob@example.com").await.unwrap().member_id;
    assert_eq!(w.occupied_seats(&acme).await, 3);

    let revoked = w.app.revoke(&acme.owner, &acme.id, &bob).await.unwrap();
    assert_eq!(revoked.status, Status::Revoked);
    assert_eq!(w.occupied_seats(&acme).await, 2);
    // A revoked invitation stops working.
    assert_err!(w.app.lookup_invitation(&bob_token).await, Error::NotFound);
    assert_err!(
        w.app.revoke(&acme.owner, &acme.id, &bob).await,
        Error::Conflict(_)
    );

    w.app.revoke(&acme.owner, &acme.id, &ann).await.unwrap();
    // The member sees the revocation.
    let me = w.app.me(&ann_session).await.unwrap();
    assert_eq!(me.memberships[0].status, Status::Revoked);
    assert_eq!(w.occupied_seats(&acme).await, 1);

    // Fill the freed seats; restoring then finds none.
    w.invite(
        &acme.owner,
        &acme,
        &["cid@example.com", "dan@example.com"],
        Role::User,
    )
    .await
    .unwrap();
    assert_err!(
        w.app.restore(&acme.owner, &acme.id, &ann).await,
        Error::NoSeats
    );
    let cid = w.member(&acme, "cid@example.com").await.unwrap().member_id;
    w.app
        .remove_member(&acme.owner, &acme.id, &cid)
        .await
        .unwrap();
    assert!(w.member(&acme, "cid@example.com").await.is_none());
    assert_eq!(w.occupied_seats(&acme).await, 2);

    let restored = w.app.restore(&acme.owner, &acme.id, &ann).await.unwrap();
    assert_eq!(restored.status, Status::Confirmed, "the status it had");
    assert_eq!(w.occupied_seats(&acme).await, 3);
    assert_err!(
        w.app.restore(&acme.owner, &acme.id, &ann).await,
        Error::Conflict(_)
    );
}

#[tokio::test]
async fn who_may_revoke_restore_or_remove_whom() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    let (admin_member, admin) = w
        .confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    let (user_member, user) = w
        .confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;

    // Nobody changes themselves.
    assert_err!(
        w.app
            .revoke(&acme.owner, &acme.id, &acme.owner_member_id)
            .await,
        Error::Conflict(_)
    );
    assert_err!(
        w.app.remove_member(&admin, &acme.id, &admin_member).await,
        Error::Conflict(_)
    );
    // Admins do not touch owners.
    assert_err!(
        w.app.revoke(&admin, &acme.id, &acme.owner_member_id).await,
        Error::Forbidden
    );
    assert_err!(
        w.app
            .remove_member(&admin, &acme.id, &acme.owner_member_id)
            .await,
        Error::Forbidden
    );
    // Users administer nothing; other organizations see nothing.
    assert_err!(
        w.app.revoke(&user, &acme.id, &admin_member).await,
        Error::Forbidden
    );
    assert_err!(
        w.app.revoke(&other.owner, &acme.id, &user_member).await,
        Error::NotFound
    );
    assert_err!(
        w.app
            .remove_member(&acme.owner, &acme.id, "no-such-member")
            .await,
        Error::NotFound
    );
    for m in [&acme.owner_member_id, &admin_member, &user_member] {
        assert_ne!(
            w.members(&acme.owner, &acme)
                .await
                .iter()
                .find(|v| &v.member_id == m)
                .unwrap()
                .status,
            Status::Revoked
        );
    }

    // An admin revokes and removes a user; a removed member may be invited again.
    w.app.revoke(&admin, &acme.id, &user_member).await.unwrap();
    w.app
        .remove_member(&admin, &acme.id, &user_member)
        .await
        .unwrap();
    assert!(w.member(&acme, "user@example.com").await.is_none());
    let again = w
        .invite(&admin, &acme, &["user@example.com"], Role::User)
        .await
        .unwrap();
    assert_eq!(again.invited.len(), 1);
    // The account stays: it accepts with its password.
    w.app
        .accept_invitation(support::accept_existing(
            &w.token_for("user@example.com"),
            'U',
        ))
        .await
        .unwrap();
    assert_eq!(
        w.member(&acme, "user@example.com").await.unwrap().user_id,
        Some(user.user_id.to_string())
    );
}
