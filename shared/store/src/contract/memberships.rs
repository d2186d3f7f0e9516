//! Memberships: seats taken and freed atomically, conditional writes, the
//! owners guard, listings, races.

use super::*;
use admit_domain::{EventQuery, EventType};

pub async fn invitations_take_seats_atomically(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(4)).await;
    let a = invitee(&org, "a@acme.test").0;
    let b = invitee(&org, "b@acme.test").0;
    store
        .add_memberships(&org, &[a.clone(), b.clone()], &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 3);

    // Two more do not fit into the one seat left: nothing is written.
    let c = invitee(&org, "c@acme.test").0;
    let d = invitee(&org, "d@acme.test").0;
    assert!(matches!(
        store
            .add_memberships(&org, &[c.clone(), d.clone()], &[])
            .await,
        Err(StoreError::NoSeats)
    ));
    assert_eq!(org_now(&store, &org).await.occupied_seats, 3);
    assert!(
        store
            .memberships(&org.id, &[c.member_id.clone(), d.member_id.clone()])
            .await
            .unwrap()
            .is_empty()
    );

    store
        .add_memberships(&org, std::slice::from_ref(&c), &[])
        .await
        .unwrap();
    let got = store
        .memberships(
            &org.id,
            &[
                a.member_id.clone(),
                c.member_id.clone(),
                d.member_id.clone(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(org_now(&store, &org).await.occupied_seats, 4);

    // Autoscale lets the organization grow to its ceiling.
    let (org, _, _) = seed_org(
        &store,
        SeatPlan {
            limit: Some(1),
            autoscale_max: Some(3),
        },
    )
    .await;
    let many: Vec<_> = (0..2)
        .map(|i| invitee(&org, &format!("m{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &many, &[]).await.unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(
        (org.occupied_seats, org.seats.subscribed(org.occupied_seats)),
        (3, Some(3))
    );
    assert!(matches!(
        store
            .add_memberships(&org, &[invitee(&org, "x@acme.test").0], &[])
            .await,
        Err(StoreError::NoSeats)
    ));

    // The largest batch is one write.
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let largest = store.max_new_memberships_per_write().min(250);
    let batch: Vec<_> = (0..largest)
        .map(|i| invitee(&org, &format!("u{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &batch, &[]).await.unwrap();
    assert_eq!(
        org_now(&store, &org).await.occupied_seats as usize,
        largest + 1
    );
}

pub async fn an_existing_membership_is_never_overwritten(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let a = invitee(&org, "a@acme.test").0;
    store
        .add_memberships(&org, std::slice::from_ref(&a), &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    // A batch holding one existing member is refused whole.
    let (again, _) = invitee(&org, "a@acme.test");
    let b = invitee(&org, "b@acme.test").0;
    assert!(matches!(
        store.add_memberships(&org, &[b.clone(), again], &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(a)
    );
    assert_eq!(store.membership(&org.id, &b.member_id).await.unwrap(), None);
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);
    let (owner_again, _) = Membership::invite(
        &org.id,
        owner.email.clone(),
        Role::User,
        now(),
        Duration::days(5),
        &mut rand::rng(),
    );
    assert!(matches!(
        store.add_memberships(&org, &[owner_again], &[]).await,
        Err(StoreError::Conflict)
    ));
}

pub async fn updates_are_conditional_on_what_was_read(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "a@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let as_read = Expected::as_read(&m);

    // A reinvite replaces the token; a write computed from the old one is refused.
    let mut reinvited = m.clone();
    reinvited
        .reinvite(now(), Duration::days(5), &mut rand::rng())
        .unwrap();
    store
        .update_membership(&reinvited, &as_read, &[])
        .await
        .unwrap();
    let mut stale = m.clone();
    stale.invitation.as_mut().unwrap().mark_sent();
    assert!(matches!(
        store.update_membership(&stale, &as_read, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(reinvited.clone())
    );

    // A status that moved on refuses a write expecting the old one.
    let mut accepted = reinvited.clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .update_membership(&accepted, &Expected::as_read(&reinvited), &[])
        .await
        .unwrap();
    let mut confirmed = accepted.clone();
    confirmed.confirm("key".into(), now()).unwrap();
    assert!(matches!(
        store
            .update_membership(&confirmed, &Expected::as_read(&reinvited), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .update_membership(&confirmed, &Expected::as_read(&accepted), &[])
        .await
        .unwrap();
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(confirmed)
    );

    // A membership that does not exist is not created by an update.
    let (ghost, _) = invitee(&org, "ghost@acme.test");
    assert!(matches!(
        store
            .update_membership(&ghost, &Expected::as_read(&ghost), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &ghost.member_id).await.unwrap(),
        None
    );
}

/// A sign-in sets only what it changes (the IdP's groups, the role the
/// admin group gives): it never undoes another change made meanwhile, and a
/// write computed from the membership before it is refused.
pub async fn groups_and_role_are_set_alone_and_guard_other_writes(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "a@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let changed = super::events::event_at(
        &org.id,
        now(),
        EventType::MemberGroupsChanged,
        Some(&m.member_id),
    );

    // Another write (a reinvite) lands between the read and the groups
    // write: the groups write keeps it, and sets the role it carries.
    let mut reinvited = m.clone();
    reinvited
        .reinvite(now(), Duration::days(5), &mut rand::rng())
        .unwrap();
    store
        .update_membership(&reinvited, &Expected::as_read(&m), &[])
        .await
        .unwrap();
    let mut synced = m.clone();
    synced.idp_groups = groups(&["admins", "eng"]);
    synced.follow_admin_group(true);
    assert!(
        matches!(
            store
                .set_groups_and_role(&m, &synced, std::slice::from_ref(&changed))
                .await,
            Err(StoreError::Conflict)
        ),
        "the invitation changed since `m` was read"
    );
    store
        .set_groups_and_role(&reinvited, &synced, std::slice::from_ref(&changed))
        .await
        .unwrap();
    let stored = store
        .membership(&org.id, &m.member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.invitation, reinvited.invitation,
        "the reinvite stands"
    );
    assert_eq!(stored.idp_groups, groups(&["admins", "eng"]));
    assert_eq!(
        (stored.role, stored.role_source),
        (Role::Admin, admit_domain::RoleSource::Group)
    );
    let logged = store
        .events(&org.id, &EventQuery::default(), None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(logged, vec![changed.clone()], "the event with its write");

    // A write of the membership as read before the groups or the role
    // changed is refused: it would put them back.
    // Each stale copy differs from what is stored in one thing only.
    let differing = |edit: fn(&mut Membership)| {
        let mut m = stored.clone();
        edit(&mut m);
        m
    };
    let only_role = differing(|m| m.role = Role::User);
    let only_groups = differing(|m| m.idp_groups = vec!["admins".into()]);
    let only_source = differing(|m| m.role_source = admit_domain::RoleSource::Hand);
    for stale in [&reinvited, &only_role, &only_groups, &only_source] {
        let mut demoted = stale.clone();
        demoted.set_role(Role::Owner).unwrap();
        assert!(matches!(
            store
                .update_membership(&demoted, &Expected::as_read(stale), &[])
                .await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store
                .remove_membership(stale, &Expected::as_read(stale), &[])
                .await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store.set_groups_and_role(stale, &synced, &[]).await,
            Err(StoreError::Conflict)
        ));
    }
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(stored.clone())
    );

    // Read again, writes go through; no groups and no group role remove both.
    let mut cleared = stored.clone();
    cleared.idp_groups.clear();
    cleared.follow_admin_group(false);
    store
        .set_groups_and_role(&stored, &cleared, &[])
        .await
        .unwrap();
    let now_stored = store
        .membership(&org.id, &m.member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_stored, cleared);
    // Never to or from owner; and a membership that is gone is not created.
    let mut owner = cleared.clone();
    owner.role = Role::Owner;
    assert!(matches!(
        store.set_groups_and_role(&cleared, &owner, &[]).await,
        Err(StoreError::Conflict)
    ));
    let (ghost, _) = invitee(&org, "ghost@acme.test");
    assert!(matches!(
        store.set_groups_and_role(&ghost, &ghost, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &ghost.member_id).await.unwrap(),
        None
    );
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(cleared)
    );
}

pub async fn revoking_frees_a_seat_and_restoring_takes_one(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(2)).await;
    let (m, _) = invitee(&org, "r@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 2);

    let mut revoked = m.clone();
    revoked.revoke().unwrap();
    // A plain update may not move a seat.
    assert!(matches!(
        store
            .update_membership(&revoked, &Expected::as_read(&m), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .update_membership_seat(&org, &revoked, &Expected::as_read(&m), &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 1);
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(revoked.clone())
    );
    // Stale: revoking again from the old state is refused, and the count stays.
    assert!(matches!(
        store
            .update_membership_seat(&org, &revoked, &Expected::as_read(&m), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(org_now(&store, &org).await.occupied_seats, 1);

    // The freed seat is taken by someone else; restoring finds none.
    store
        .add_memberships(&org, &[invitee(&org, "other@acme.test").0], &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    let mut restored = revoked.clone();
    restored.restore().unwrap();
    assert!(matches!(
        store
            .update_membership_seat(&org, &restored, &Expected::as_read(&revoked), &[])
            .await,
        Err(StoreError::NoSeats)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);

    // With room again, restoring takes the seat back.
    let mut roomy = org.clone();
    roomy.seats.limit = Some(3);
    roomy.settings_version = org.settings_version + 1;
    store
        .update_organization_settings(&roomy, org.settings_version, &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    store
        .update_membership_seat(&org, &restored, &Expected::as_read(&revoked), &[])
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await.occupied_seats, 3);
    assert_eq!(
        store
            .membership(&org.id, &m.member_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Invited
    );
    // A change that moves no seat is refused here.
    assert!(matches!(
        store
            .update_membership_seat(&org, &restored, &Expected::as_read(&restored), &[])
            .await,
        Err(StoreError::Conflict)
    ));
}

pub async fn removing_a_member_frees_its_seat(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(3)).await;
    let (a, _) = invitee(&org, "gone@acme.test");
    let (b, _) = invitee(&org, "revoked@acme.test");
    store
        .add_memberships(&org, &[a.clone(), b.clone()], &[])
        .await
        .unwrap();
    let alice = account("gone@acme.test");
    let mut accepted = a.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&a), Some(&alice), &[])
        .await
        .unwrap();
    // Stale expectations remove nothing.
    assert!(matches!(
        store
            .remove_membership(&a, &Expected::as_read(&a), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .remove_membership(&accepted, &Expected::as_read(&accepted), &[])
        .await
        .unwrap();
    assert_eq!(store.membership(&org.id, &a.member_id).await.unwrap(), None);
    assert!(
        store
            .memberships_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.account(&alice.id).await.unwrap(),
        Some(alice),
        "the account stays"
    );
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);
    // A revoked membership held no seat: removing it leaves the count alone.
    let org = org_now(&store, &org).await;
    let mut revoked = b.clone();
    revoked.revoke().unwrap();
    store
        .update_membership_seat(&org, &revoked, &Expected::as_read(&b), &[])
        .await
        .unwrap();
    store
        .remove_membership(&revoked, &Expected::as_read(&revoked), &[])
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await.occupied_seats, 1);
    assert!(matches!(
        store
            .remove_membership(&revoked, &Expected::as_read(&revoked), &[])
            .await,
        Err(StoreError::Conflict)
    ));
}

pub async fn accepting_creates_the_account_in_the_same_write(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (a, _) = invitee(&org, "a@acme.test");
    let (b, _) = invitee(&org, "b@acme.test");
    store
        .add_memberships(&org, &[a.clone(), b.clone()], &[])
        .await
        .unwrap();

    let alice = account("a@acme.test");
    let mut accepted = a.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&a), Some(&alice), &[])
        .await
        .unwrap();
    assert_eq!(store.account(&alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.account_by_email(&alice.email).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(accepted)
    );

    // A second account for the same email is refused, and the membership stays invited.
    let twin = account("a@acme.test");
    let mut b_accepted = b.clone();
    b_accepted.accept(twin.id.clone(), now()).unwrap();
    assert!(matches!(
        store
            .accept_membership(&b_accepted, &Expected::as_read(&b), Some(&twin), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&twin.id).await.unwrap(), None);
    assert_eq!(
        store.membership(&org.id, &b.member_id).await.unwrap(),
        Some(b.clone())
    );

    // A stale membership refuses the account too.
    let bob = account("b@acme.test");
    let mut wrong = b.clone();
    wrong.accept(bob.id.clone(), now()).unwrap();
    let stale = Expected {
        status: Status::Accepted,
        invitation: None,
        mail: None,
        owners_version: None,
        role: Role::User,
        role_source: admit_domain::RoleSource::Invitation,
        idp_groups: Vec::new(),
    };
    assert!(matches!(
        store
            .accept_membership(&wrong, &stale, Some(&bob), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account_by_email(&bob.email).await.unwrap(), None);

    // An existing account accepts without creating one.
    let mut by_alice = b.clone();
    by_alice.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&by_alice, &Expected::as_read(&b), None, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .membership(&org.id, &b.member_id)
            .await
            .unwrap()
            .unwrap()
            .user_id,
        Some(alice.id)
    );
}

pub async fn listing_pages_through_every_membership(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let mut all: Vec<Membership> = (0..7)
        .map(|i| invitee(&org, &format!("p{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &all, &[]).await.unwrap();
    let mut accepted = all[0].clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .update_membership(&accepted, &Expected::as_read(&all[0]), &[])
        .await
        .unwrap();
    all[0] = accepted.clone();
    all.push(owner);
    // Another organization's members never show.
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    store
        .add_memberships(&other, &[invitee(&other, "p0@acme.test").0], &[])
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_memberships(&org.id, None, cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut ids: Vec<_> = seen.iter().map(|m| m.member_id.clone()).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s
    };
    assert_eq!(ids, sorted, "listing is in member-id order");
    ids.dedup();
    assert_eq!(ids.len(), 8);
    let mut expected: Vec<_> = all.iter().map(|m| m.member_id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected);

    let only_accepted = store
        .list_memberships(&org.id, Some(Status::Accepted), None, 50)
        .await
        .unwrap();
    assert_eq!(only_accepted.items, vec![accepted]);
    assert!(only_accepted.next_cursor.is_none());
    assert!(matches!(
        store
            .list_memberships(&org.id, None, Some("not a cursor"), 3)
            .await,
        Err(StoreError::InvalidCursor)
    ));
}

pub async fn memberships_of_a_user(store: DynStore) {
    let alice = account("alice@acme.test");
    let mut orgs = Vec::new();
    for (i, _) in [0, 1].iter().enumerate() {
        let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
        let (m, _) = invitee(&org, "alice@acme.test");
        store
            .add_memberships(&org, std::slice::from_ref(&m), &[])
            .await
            .unwrap();
        let mut accepted = m.clone();
        accepted.accept(alice.id.clone(), now()).unwrap();
        let create = if i == 0 { Some(&alice) } else { None };
        store
            .accept_membership(&accepted, &Expected::as_read(&m), create, &[])
            .await
            .unwrap();
        orgs.push(accepted);
    }
    let mut mine = store.memberships_of_user(&alice.id).await.unwrap();
    mine.sort_by(|a, b| a.org_id.cmp(&b.org_id));
    orgs.sort_by(|a, b| a.org_id.cmp(&b.org_id));
    assert_eq!(mine, orgs);
    assert!(
        store
            .memberships_of_user(&UserId::generate(&mut rand::rng()))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn race_twenty_accepts_of_one_invitation(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "racer@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, m) = (store.clone(), m.clone());
            tokio::spawn(async move {
                let acct = account("racer@acme.test");
                let mut accepted = m.clone();
                accepted.accept(acct.id.clone(), now()).unwrap();
                store
                    .accept_membership(&accepted, &Expected::as_read(&m), Some(&acct), &[])
                    .await
                    .map(|()| acct.id)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => winners.push(id),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one accept wins");
    let stored = store
        .membership(&org.id, &m.member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id.as_ref(), Some(&winners[0]));
    let acct = store.account_by_email(&m.email).await.unwrap().unwrap();
    assert_eq!(acct.id, winners[0]);
}

pub async fn race_thirty_invitations_for_ten_seats(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(11)).await;
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (store, org) = (store.clone(), org.clone());
            tokio::spawn(async move {
                let (m, _) = invitee(&org, &format!("seat{i}@acme.test"));
                // Like the use case: re-read and retry when the write conflicts.
                let mut org = org;
                for _ in 0..50 {
                    match store
                        .add_memberships(&org, std::slice::from_ref(&m), &[])
                        .await
                    {
                        Err(StoreError::Conflict) => {
                            org = store.organization(&org.id).await.unwrap().unwrap()
                        }
                        other => return other,
                    }
                }
                Err(StoreError::Conflict)
            })
        })
        .collect();
    let (mut ok, mut no_seats) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::NoSeats) => no_seats += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, no_seats), (10, 20));
    let org = store.organization(&org.id).await.unwrap().unwrap();
    assert_eq!(org.occupied_seats, 11);
    let listed = store
        .list_memberships(&org.id, Some(Status::Invited), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 11, "the owner and exactly ten invitees");
}

/// Each membership write guarded by the owners version (`Expected::
/// with_owners`) applies only while the organization's `owners_version` is
/// the one read, and moves it by one in the same write; a stale one is a
/// `Conflict` that writes nothing (nor its events). Unguarded writes leave
/// the version alone.
pub async fn owner_writes_are_guarded_by_the_owners_version(store: DynStore) {
    use super::events::{event_at, listed};
    use admit_domain::EventType;
    let (org, _, _) = seed_org(&store, limit(5)).await;
    let (a, _) = invitee(&org, "a@acme.test");
    let (b, _) = invitee(&org, "b@acme.test");
    store
        .add_memberships(&org, &[a.clone(), b.clone()], &[])
        .await
        .unwrap();
    let v0 = org_now(&store, &org).await;
    assert_eq!((v0.owners_version, v0.occupied_seats), (0, 3));
    let ev = |kind, m: &Membership| [event_at(&org.id, now(), kind, Some(&m.member_id))];
    let version = async || org_now(&store, &org).await.owners_version;

    // update_membership: a role change from version 0 lands and moves it.
    let mut promoted = a.clone();
    promoted.set_role(Role::Owner).unwrap();
    let done = ev(EventType::MemberRoleChanged, &a);
    store
        .update_membership(&promoted, &Expected::with_owners(&a, &v0), &done)
        .await
        .unwrap();
    assert!(listed(&store, &done[0]).await);
    assert_eq!(version().await, 1);
    // Another from version 0 is stale.
    let mut b_owner = b.clone();
    b_owner.set_role(Role::Owner).unwrap();
    let refused = ev(EventType::MemberRoleChanged, &b);
    assert!(matches!(
        store
            .update_membership(&b_owner, &Expected::with_owners(&b, &v0), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(!listed(&store, &refused[0]).await);
    assert_eq!(
        store.membership(&org.id, &b.member_id).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(version().await, 1);
    // An unguarded write leaves the version alone.
    let mut reinvited = b.clone();
    reinvited
        .reinvite(now(), Duration::days(5), &mut rand::rng())
        .unwrap();
    store
        .update_membership(&reinvited, &Expected::as_read(&b), &[])
        .await
        .unwrap();
    assert_eq!(version().await, 1);

    // update_membership_seat: a stale revoke writes nothing, seats included.
    let v1 = org_now(&store, &org).await;
    let mut revoked = promoted.clone();
    revoked.revoke().unwrap();
    let refused = ev(EventType::MemberRevoked, &a);
    assert!(matches!(
        store
            .update_membership_seat(
                &v1,
                &revoked,
                &Expected::with_owners(&promoted, &v0),
                &refused
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(!listed(&store, &refused[0]).await);
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(promoted.clone())
    );
    assert_eq!(org_now(&store, &org).await, v1);
    store
        .update_membership_seat(&v1, &revoked, &Expected::with_owners(&promoted, &v1), &[])
        .await
        .unwrap();
    let v2 = org_now(&store, &org).await;
    assert_eq!((v2.owners_version, v2.occupied_seats), (2, 2));
    // A restore: stale, then as read.
    let mut restored = revoked.clone();
    restored.restore().unwrap();
    assert!(matches!(
        store
            .update_membership_seat(&v2, &restored, &Expected::with_owners(&revoked, &v1), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(org_now(&store, &org).await, v2);
    store
        .update_membership_seat(&v2, &restored, &Expected::with_owners(&revoked, &v2), &[])
        .await
        .unwrap();
    let v3 = org_now(&store, &org).await;
    assert_eq!((v3.owners_version, v3.occupied_seats), (3, 3));

    // remove_membership: stale, then as read (its seat freed in the same write).
    let refused = ev(EventType::MemberRemoved, &a);
    assert!(matches!(
        store
            .remove_membership(&restored, &Expected::with_owners(&restored, &v2), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(!listed(&store, &refused[0]).await);
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(restored.clone())
    );
    assert_eq!(org_now(&store, &org).await, v3);
    store
        .remove_membership(&restored, &Expected::with_owners(&restored, &v3), &[])
        .await
        .unwrap();
    let v4 = org_now(&store, &org).await;
    assert_eq!((v4.owners_version, v4.occupied_seats), (4, 2));
    assert_eq!(store.membership(&org.id, &a.member_id).await.unwrap(), None);
    // A revoked member holds no seat: removing it moves the version only.
    let mut b_revoked = reinvited.clone();
    b_revoked.revoke().unwrap();
    store
        .update_membership_seat(&v4, &b_revoked, &Expected::as_read(&reinvited), &[])
        .await
        .unwrap();
    let v4 = org_now(&store, &org).await;
    assert_eq!((v4.owners_version, v4.occupied_seats), (4, 1));
    store
        .remove_membership(&b_revoked, &Expected::with_owners(&b_revoked, &v4), &[])
        .await
        .unwrap();
    let v5 = org_now(&store, &org).await;
    assert_eq!((v5.owners_version, v5.occupied_seats), (5, 1));
}

/// Guarded writes racing from one owners version (role changes, a
/// revoke, a removal, each of another member): exactly one lands, and the
/// seats add up to it.
pub async fn race_owner_writes_from_one_owners_version(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let members: Vec<_> = (0..12)
        .map(|i| invitee(&org, &format!("o{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &members, &[]).await.unwrap();
    let org = org_now(&store, &org).await;
    let tasks: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (store, org, m) = (store.clone(), org.clone(), m.clone());
            tokio::spawn(async move {
                let expected = Expected::with_owners(&m, &org);
                match i % 3 {
                    0 => {
                        let mut owner = m.clone();
                        owner.set_role(Role::Owner).unwrap();
                        store.update_membership(&owner, &expected, &[]).await
                    }
                    1 => {
                        let mut revoked = m.clone();
                        revoked.revoke().unwrap();
                        store
                            .update_membership_seat(&org, &revoked, &expected, &[])
                            .await
                    }
                    _ => store.remove_membership(&m, &expected, &[]).await,
                }
                .map(|()| i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(i) => winners.push(i),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one guarded write lands");
    let after = org_now(&store, &org).await;
    assert_eq!(after.owners_version, 1);
    let freed = u32::from(winners[0] % 3 != 0);
    assert_eq!(after.occupied_seats, 13 - freed);
    let stored = store
        .memberships(
            &org.id,
            &members
                .iter()
                .map(|m| m.member_id.clone())
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let changed = members.iter().filter(|m| !stored.contains(m)).count();
    assert_eq!(changed, 1, "only the winner's membership changed");
}
