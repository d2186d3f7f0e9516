//! Owed email: found when due, claimed once; the digest record; the cost of finding what is due.

use super::*;

pub async fn owed_mail_is_found_when_due_and_claimed_once(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "owed@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let lease_end = m.mail.unwrap().due_at;
    async fn due_in(store: &DynStore, member: &MemberId, at: Timestamp) -> Vec<Membership> {
        let found = store.due_memberships(at, 100).await.unwrap();
        found
            .into_iter()
            .filter(|d| d.member_id == *member)
            .collect()
    }
    let due = |at| due_in(&store, &m.member_id, at);
    // The inviting request holds the first attempt: due only when its lease ends.
    assert!(due(now()).await.is_empty());
    assert_eq!(due(lease_end).await, vec![m.clone()]);

    // Of ten concurrent claims of the same owed email, one wins.
    let later = lease_end + Duration::minutes(1);
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let (store, m) = (store.clone(), m.clone());
            tokio::spawn(async move {
                let mut claimed = m.clone();
                let claim = claimed.claim_mail(later, &mut rand::rng());
                assert!(matches!(claim, Some(ClaimedMail::Invitation(_))));
                store
                    .update_membership(&claimed, &Expected::with_mail(&m), &[])
                    .await
                    .map(|()| claimed)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for c in claims {
        match c.await.unwrap() {
            Ok(claimed) => winners.push(claimed),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    let claimed = winners.pop().unwrap();
    assert!(due(later).await.is_empty(), "claimed: leased");

    // Sent: the first reminder is owed next, due two days after the invitation.
    let mut sent = claimed.clone();
    sent.mail_sent(&org.reminder_days, later);
    store
        .update_membership(&sent, &Expected::with_mail(&claimed), &[])
        .await
        .unwrap();
    let reminder = sent.mail.unwrap();
    assert_eq!(reminder.due_at, now() + Duration::days(2));
    assert_eq!(due(reminder.due_at).await, vec![sent.clone()]);
    // Recording the same send again finds the email moved on.
    assert!(matches!(
        store
            .update_membership(&sent, &Expected::with_mail(&claimed), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Accepted: the reminder is replaced by the notice to administrators.
    let mut accepted = sent.clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .accept_membership(
            &accepted,
            &Expected::as_read(&sent),
            Some(&account("owed@acme.test")),
            &[],
        )
        .await
        .unwrap();
    let found = due(now() + Duration::days(30)).await;
    assert_eq!(found, vec![accepted.clone()]);
    assert_eq!(
        found[0].mail.map(|o| o.kind),
        Some(OwedKind::AwaitingConfirmation)
    );
    // Removed: nothing is owed any more, and nothing is found.
    store
        .remove_membership(&accepted, &Expected::with_mail(&accepted), &[])
        .await
        .unwrap();
    assert!(due(now() + Duration::days(30)).await.is_empty());
}

pub async fn admin_digests_are_claimed_once(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(store.admin_digest(&org.id).await.unwrap(), None);
    let fresh = AdminDigest::new(org.id.clone());
    // Of ten concurrent first claims, one wins.
    let until = now() + Duration::minutes(5);
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let (store, claimed) = (store.clone(), fresh.claimed(until));
            tokio::spawn(async move { store.put_admin_digest(&claimed, 0).await })
        })
        .collect();
    let mut wins = 0;
    for c in claims {
        match c.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1, "exactly one first claim wins");
    let claimed = store.admin_digest(&org.id).await.unwrap().unwrap();
    assert_eq!(claimed, fresh.claimed(until));
    // A writer that read the record before the claim is refused.
    assert!(matches!(
        store.put_admin_digest(&fresh.claimed(until), 0).await,
        Err(StoreError::Conflict)
    ));
    // The claimant records the send; a second record of it is refused.
    let sent = claimed.sent(now());
    store
        .put_admin_digest(&sent, claimed.version)
        .await
        .unwrap();
    assert!(matches!(
        store.put_admin_digest(&sent, claimed.version).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.admin_digest(&org.id).await.unwrap(), Some(sent));
    // Another organization's record is its own.
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(store.admin_digest(&other.id).await.unwrap(), None);
    // The record is never a membership.
    let listed = store
        .list_memberships(&org.id, None, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "only the owner: {listed:?}");
}

/// With 10,000 invitations of which 10 owe an email now, finding them reads
/// about 10 items. Not in [`crate::contract_tests!`]: each store calls it
/// with its own meter of items read (`items_read`, a test instrument rather
/// than part of the port) and its own way of writing the 10,000 (`seed`
/// writes memberships of `org`; the store's conditional writes are what the
/// other checks are for). `tests/contract_guard.rs` holds both backends to
/// calling it.
pub async fn finding_due_mail_costs_what_is_due_not_the_table(
    store: DynStore,
    items_read: impl Fn() -> u64,
    seed: impl AsyncFn(&Organization, &[Membership]),
) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let mut rng = rand::rng();
    let invite = |i: usize, at: Timestamp, rng: &mut rand::rngs::ThreadRng| {
        Membership::invite(
            &org.id,
            email(&format!("m{i}@acme.test")),
            Role::User,
            at,
            Duration::days(5),
            rng,
        )
        .0
    };
    let all: Vec<Membership> = (0..10_000).map(|i| invite(i, now(), &mut rng)).collect();
    seed(&org, &all).await;
    // Ten invited an hour earlier: their first attempt's lease has run out.
    let earlier = now() - Duration::hours(1);
    let due_now: Vec<Membership> = (10_000..10_010)
        .map(|i| invite(i, earlier, &mut rng))
        .collect();
    seed(&org, &due_now).await;

    let before = items_read();
    let found = store
        .due_memberships(now() + Duration::minutes(1), 100)
        .await
        .unwrap();
    let read = items_read() - before;
    let mut ids: Vec<_> = found.iter().map(|m| m.member_id.clone()).collect();
    ids.sort();
    let mut want: Vec<_> = due_now.iter().map(|m| m.member_id.clone()).collect();
    want.sort();
    assert_eq!(ids, want, "exactly the ten due");
    assert!(read <= 20, "read {read} items to find 10 of 10,010");
}
