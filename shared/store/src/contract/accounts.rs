//! Accounts: emails found in batches; deleting an account with everything
//! that is its.

use super::events::{event_at, listed};
use super::*;

pub async fn emails_with_accounts_are_found_in_batches(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    // `h0` sorts before every `n…` email and `z9` after them all, so however
    // a store orders and splits the 150, they are in different round trips.
    let holders = ["h0@acme.test", "z9@acme.test", "h2@acme.test"];
    for h in holders {
        let (m, _) = invitee(&org, h);
        store
            .add_memberships(&org, std::slice::from_ref(&m), &[])
            .await
            .unwrap();
        let acct = account(h);
        let mut accepted = m.clone();
        accepted.accept(acct.id.clone(), now()).unwrap();
        store
            .accept_membership(&accepted, &Expected::as_read(&m), Some(&acct), &[])
            .await
            .unwrap();
    }
    // 150 asked (past one round trip's 100), a holder on each side of the
    // boundary and one asked twice; an invitee without an account is not one.
    let mut asked: Vec<Email> = (0..147)
        .map(|i| email(&format!("n{i:03}@acme.test")))
        .collect();
    asked.insert(3, email(holders[0]));
    asked.insert(120, email(holders[1]));
    asked.push(email(holders[1]));
    let (pending, _) = invitee(&org, "pending@acme.test");
    store.add_memberships(&org, &[pending], &[]).await.unwrap();
    asked.push(email("pending@acme.test"));
    let found = store.emails_with_accounts(&asked).await.unwrap();
    let expected: std::collections::HashSet<Email> =
        [email(holders[0]), email(holders[1])].into_iter().collect();
    assert_eq!(found, expected);
    assert!(store.emails_with_accounts(&[]).await.unwrap().is_empty());
}

/// A `member.removed` event of `m`'s organization about `m`.
fn removed(m: &Membership) -> admit_domain::Event {
    event_at(
        &m.org_id,
        now(),
        admit_domain::EventType::MemberRemoved,
        Some(&m.member_id),
    )
}

/// The account's memberships as read now, each expected as read.
async fn as_read(store: &DynStore, user: &UserId) -> Vec<(Membership, Expected)> {
    store
        .memberships_of_user(user)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            let e = Expected::as_read(&m);
            (m, e)
        })
        .collect()
}

/// Deleting an account deletes its memberships (seats freed, the owners
/// guard moved where given), its identity links, its email's uniqueness
/// and itself, with its events, and nothing of anyone else's; the email can
/// then have a new account, which deleting the old one again leaves alone.
pub async fn deleting_an_account_deletes_what_is_its(store: DynStore) {
    let (one, _, _) = seed_org(&store, limit(5)).await;
    let (two, _, _) = seed_org(&store, limit(5)).await;
    let alice = account("alice@acme.test");
    // Two memberships in one organization (one by an invitation of another
    // email), one revoked membership in another.
    let a1 = accepted_member(&store, &one, "alice@acme.test", &alice, true).await;
    let alias = accepted_member(&store, &one, "alias@acme.test", &alice, false).await;
    let a2 = accepted_member(&store, &two, "alice@acme.test", &alice, false).await;
    let mut revoked = a2.clone();
    revoked.revoke().unwrap();
    store
        .update_membership_seat(
            &org_now(&store, &two).await,
            &revoked,
            &Expected::as_read(&a2),
            &[],
        )
        .await
        .unwrap();
    let bob = account("bob@acme.test");
    let b1 = accepted_member(&store, &one, "bob@acme.test", &bob, true).await;
    let links = [
        linked(&store, &one, "sub-alice", &alice.id).await,
        linked(&store, &two, "sub-alice-2", &alice.id).await,
    ];
    let bobs = linked(&store, &one, "sub-bob", &bob.id).await;
    let (one, two) = (org_now(&store, &one).await, org_now(&store, &two).await);
    assert_eq!((one.occupied_seats, two.occupied_seats), (4, 1));

    // Organization one's owners guarded (both memberships, one version),
    // two's not.
    let memberships = vec![
        (a1.clone(), Expected::with_owners(&a1, &one)),
        (alias.clone(), Expected::with_owners(&alias, &one)),
        (revoked.clone(), Expected::as_read(&revoked)),
    ];
    let events = [removed(&a1), removed(&alias), removed(&revoked)];
    store
        .delete_account(&alice, &memberships, &events)
        .await
        .unwrap();

    for m in [&a1, &alias, &revoked] {
        assert_eq!(
            store.membership(&m.org_id, &m.member_id).await.unwrap(),
            None
        );
    }
    assert!(
        store
            .memberships_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    let (one_after, two_after) = (org_now(&store, &one).await, org_now(&store, &two).await);
    assert_eq!(
        (one_after.occupied_seats, one_after.owners_version),
        (2, 1),
        "two seats freed, the owners guard moved once"
    );
    assert_eq!((two_after.occupied_seats, two_after.owners_version), (1, 0));
    for l in &links {
        assert_eq!(
            store
                .identity_link(&l.org_id, &l.external_id)
                .await
                .unwrap(),
            None
        );
    }
    assert!(
        store
            .identity_links_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.account(&alice.id).await.unwrap(), None);
    assert_eq!(store.account_by_email(&alice.email).await.unwrap(), None);
    assert!(
        store
            .emails_with_accounts(std::slice::from_ref(&alice.email))
            .await
            .unwrap()
            .is_empty()
    );
    for e in &events {
        assert!(listed(&store, e).await, "the deletion's events are written");
    }
    // Bob's things stay.
    assert_eq!(store.account(&bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(
        store.membership(&one.id, &b1.member_id).await.unwrap(),
        Some(b1)
    );
    assert_eq!(
        store
            .identity_link(&one.id, &bobs.external_id)
            .await
            .unwrap(),
        Some(bobs.clone())
    );

    // The email is free: a new account takes it.
    let again = account("alice@acme.test");
    accepted_member(&store, &two, "alice@acme.test", &again, true).await;
    assert_eq!(
        store.account_by_email(&alice.email).await.unwrap(),
        Some(again.clone())
    );
    // Deleting the old account again changes nothing, the new one included.
    store.delete_account(&alice, &[], &[]).await.unwrap();
    assert_eq!(
        store.account_by_email(&alice.email).await.unwrap(),
        Some(again.clone())
    );
    assert_eq!(store.memberships_of_user(&again.id).await.unwrap().len(), 1);
}

/// A deletion computed from what changed since is refused whole: a
/// membership that changed, a stale owners guard, a membership of the
/// account left out, another account's membership. Then, read again, it
/// goes through.
pub async fn deleting_an_account_refuses_what_changed(store: DynStore) {
    let (one, _, _) = seed_org(&store, limit(5)).await;
    let (two, _, _) = seed_org(&store, limit(5)).await;
    let alice = account("alice@acme.test");
    let a1 = accepted_member(&store, &one, "alice@acme.test", &alice, true).await;
    let a2 = accepted_member(&store, &two, "alice@acme.test", &alice, false).await;
    let l = linked(&store, &one, "sub-alice", &alice.id).await;
    let bob = account("bob@acme.test");
    let b2 = accepted_member(&store, &two, "bob@acme.test", &bob, true).await;
    let one = org_now(&store, &one).await;
    let two = org_now(&store, &two).await;

    let nothing_deleted = async |what: &str, refused: &[admit_domain::Event]| {
        assert_eq!(
            store.account(&alice.id).await.unwrap(),
            Some(alice.clone()),
            "{what}"
        );
        assert_eq!(
            store.account_by_email(&alice.email).await.unwrap(),
            Some(alice.clone()),
            "{what}"
        );
        assert_eq!(
            store.identity_link(&one.id, &l.external_id).await.unwrap(),
            Some(l.clone()),
            "{what}"
        );
        assert_eq!(
            store.memberships_of_user(&alice.id).await.unwrap().len(),
            2,
            "{what}"
        );
        assert_eq!(org_now(&store, &one).await.occupied_seats, 2, "{what}");
        assert_eq!(org_now(&store, &two).await.occupied_seats, 3, "{what}");
        for e in refused {
            assert!(!listed(&store, e).await, "{what}: no event");
        }
    };

    // a2 is confirmed after it was read.
    let mut confirmed = a2.clone();
    confirmed.confirm("key".into(), now()).unwrap();
    store
        .update_membership(&confirmed, &Expected::as_read(&a2), &[])
        .await
        .unwrap();
    let events = [removed(&a1), removed(&a2)];
    let stale = vec![
        (a1.clone(), Expected::as_read(&a1)),
        (a2.clone(), Expected::as_read(&a2)),
    ];
    assert!(matches!(
        store.delete_account(&alice, &stale, &events).await,
        Err(StoreError::Conflict)
    ));
    nothing_deleted("a membership changed", &events).await;

    // The owners of organization two moved on since it was read.
    let mut promoted = b2.clone();
    promoted.set_role(Role::Admin).unwrap();
    store
        .update_membership(&promoted, &Expected::with_owners(&b2, &two), &[])
        .await
        .unwrap();
    let events = [removed(&a1), removed(&confirmed)];
    let stale_owners = vec![
        (a1.clone(), Expected::as_read(&a1)),
        (confirmed.clone(), Expected::with_owners(&confirmed, &two)),
    ];
    assert!(matches!(
        store.delete_account(&alice, &stale_owners, &events).await,
        Err(StoreError::Conflict)
    ));
    nothing_deleted("a stale owners guard", &events).await;
    assert_eq!(org_now(&store, &two).await.owners_version, 1);

    // One of the account's memberships left out.
    let events = [removed(&a1)];
    assert!(matches!(
        store
            .delete_account(&alice, &[(a1.clone(), Expected::as_read(&a1))], &events)
            .await,
        Err(StoreError::Conflict)
    ));
    nothing_deleted("a membership left out", &events).await;

    // Another account's membership among them.
    let events = [removed(&a1), removed(&confirmed), removed(&promoted)];
    let with_bobs = vec![
        (a1.clone(), Expected::as_read(&a1)),
        (confirmed.clone(), Expected::as_read(&confirmed)),
        (promoted.clone(), Expected::as_read(&promoted)),
    ];
    assert!(matches!(
        store.delete_account(&alice, &with_bobs, &events).await,
        Err(StoreError::Conflict)
    ));
    nothing_deleted("another account's membership", &events).await;
    assert!(
        store
            .membership(&two.id, &promoted.member_id)
            .await
            .unwrap()
            .is_some()
    );

    // Read again, it goes through.
    let fresh = as_read(&store, &alice.id).await;
    let events: Vec<_> = fresh.iter().map(|(m, _)| removed(m)).collect();
    store.delete_account(&alice, &fresh, &events).await.unwrap();
    assert_eq!(store.account(&alice.id).await.unwrap(), None);
    assert_eq!(org_now(&store, &one).await.occupied_seats, 1);
    assert_eq!(org_now(&store, &two).await.occupied_seats, 2);
    assert_eq!(
        store.identity_link(&one.id, &l.external_id).await.unwrap(),
        None
    );
}

/// An account with more memberships than one DynamoDB transaction holds
/// (40 organizations, each membership with its seat and event, and links):
/// a run refused by a membership that changed leaves the account in place
/// and each membership either deleted (its seat freed, its event written)
/// or as it was — none deleted when the backend deletes in `one_write`,
/// some when it goes in steps — and running it again, with the memberships
/// read again, finishes; a further run changes nothing.
pub async fn an_account_of_many_memberships_is_deleted_in_steps(store: DynStore, one_write: bool) {
    const ORGS: usize = 40;
    let alice = account("alice@acme.test");
    let mut orgs = Vec::new();
    let mut memberships = Vec::new();
    for i in 0..ORGS {
        let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
        memberships.push(accepted_member(&store, &org, "alice@acme.test", &alice, i == 0).await);
        orgs.push(org);
    }
    for org in &orgs[..3] {
        linked(&store, org, "sub-alice", &alice.id).await;
    }
    let first: Vec<_> = memberships
        .iter()
        .map(|m| (m.clone(), Expected::as_read(m)))
        .collect();
    let first_events: Vec<_> = memberships.iter().map(removed).collect();
    // The last one changes after it was read.
    let last = memberships.last().unwrap();
    let mut confirmed = last.clone();
    confirmed.confirm("key".into(), now()).unwrap();
    store
        .update_membership(&confirmed, &Expected::as_read(last), &[])
        .await
        .unwrap();

    assert!(matches!(
        store.delete_account(&alice, &first, &first_events).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.account_by_email(&alice.email).await.unwrap(),
        Some(alice.clone())
    );
    let mut deleted = 0;
    for ((m, e), org) in memberships.iter().zip(&first_events).zip(&orgs) {
        let stored = store.membership(&org.id, &m.member_id).await.unwrap();
        let seats = org_now(&store, org).await.occupied_seats;
        if stored.is_none() {
            deleted += 1;
            assert_eq!(seats, 1, "a deleted membership's seat is freed");
            assert!(
                listed(&store, e).await,
                "a deleted membership's event is written"
            );
        } else {
            assert_eq!(seats, 2, "a membership kept keeps its seat");
            assert!(!listed(&store, e).await, "a membership kept has no event");
        }
    }
    assert!(
        store
            .membership(&confirmed.org_id, &confirmed.member_id)
            .await
            .unwrap()
            .is_some()
    );
    if one_write {
        assert_eq!(deleted, 0, "one write: nothing is deleted");
    } else {
        assert!(
            (1..ORGS).contains(&deleted),
            "in steps: the memberships before the changed one are deleted ({deleted})"
        );
    }

    // Read again, it finishes.
    let again = as_read(&store, &alice.id).await;
    assert_eq!(again.len(), ORGS - deleted);
    let again_events: Vec<_> = again.iter().map(|(m, _)| removed(m)).collect();
    store
        .delete_account(&alice, &again, &again_events)
        .await
        .unwrap();
    for org in &orgs {
        assert_eq!(org_now(&store, org).await.occupied_seats, 1);
    }
    for e in &again_events {
        assert!(listed(&store, e).await);
    }
    assert!(
        store
            .memberships_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .identity_links_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    for org in &orgs[..3] {
        assert_eq!(
            store
                .identity_link(
                    &org.id,
                    &admit_domain::ExternalId::parse("sub-alice").unwrap()
                )
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(store.account(&alice.id).await.unwrap(), None);
    assert_eq!(store.account_by_email(&alice.email).await.unwrap(), None);
    // Once more: nothing left to do.
    store.delete_account(&alice, &[], &[]).await.unwrap();
}
