//! Sweeping expired records removes exactly those, never a live one.

use super::events::{event_at, listed};
use super::*;
use admit_domain::{EventType, LinkGrant, PendingSignIn, SetupGrant, TokenDigest};

/// Of each kind (link grants too) one record that expired and one that lives at `later` (an
/// event past its retention, one within it); a
/// sweep at `later` leaves every live one readable and reports exactly the
/// expired ones it removed: all of them (the embedded store) or none (DynamoDB,
/// whose TTL removes them; they stay readable, and reads treat them as
/// expired). What it reports gone is gone.
pub async fn sweeping_removes_only_what_expired(store: DynStore) {
    let mut rng = rand::rng();
    let later = now() + Duration::days(1);
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let user = UserId::generate(&mut rng);

    let (old_session, _) = Session::start(user.clone(), None, now(), &mut rng);
    let (new_session, _) = Session::start(user.clone(), None, later, &mut rng);
    let old_sign_in = PendingSignIn::start(
        org.id.clone(),
        None,
        "n".into(),
        "v".into(),
        now(),
        &mut rng,
    )
    .pending;
    let new_sign_in = PendingSignIn::start(
        org.id.clone(),
        None,
        "n".into(),
        "v".into(),
        later,
        &mut rng,
    )
    .pending;
    let (old_grant, _) = SetupGrant::issue(
        org.id.clone(),
        owner.member_id.clone(),
        user.clone(),
        now(),
        &mut rng,
    );
    let (new_grant, _) = SetupGrant::issue(
        org.id.clone(),
        owner.member_id.clone(),
        user.clone(),
        later,
        &mut rng,
    );
    let (old_link, _) = LinkGrant::issue(org.id.clone(), user.clone(), now(), &mut rng);
    let (new_link, _) = LinkGrant::issue(org.id.clone(), user.clone(), later, &mut rng);
    for g in [&old_link, &new_link] {
        store.put_link_grant(g).await.unwrap();
    }
    let old_assertion = TokenDigest::of_bytes(b"expired assertion");
    let new_assertion = TokenDigest::of_bytes(b"live assertion");
    for s in [&old_session, &new_session] {
        store.put_session(s, &[]).await.unwrap();
    }
    for p in [&old_sign_in, &new_sign_in] {
        store.put_pending_sign_in(p).await.unwrap();
    }
    for g in [&old_grant, &new_grant] {
        store.put_setup_grant(g, &[]).await.unwrap();
    }
    let old_until = now() + Duration::hours(1);
    let new_until = later + Duration::hours(1);
    assert!(
        store
            .record_assertion(&old_assertion, old_until, now())
            .await
            .unwrap()
    );
    assert!(
        store
            .record_assertion(&new_assertion, new_until, later)
            .await
            .unwrap()
    );

    store
        .count_attempt("sweep-old", now() + Duration::minutes(1))
        .await
        .unwrap();
    store
        .count_attempt("sweep-new", later + Duration::minutes(1))
        .await
        .unwrap();

    // An event past its retention at `later`, and one kept beyond it.
    let mut old_event = event_at(&org.id, now(), EventType::SsoRefused, None);
    old_event.expires_at = later - Duration::minutes(1);
    let mut new_event = event_at(&org.id, now(), EventType::SsoRefused, None);
    new_event.expires_at = later + Duration::days(1);
    store
        .record_events(&[old_event.clone(), new_event.clone()])
        .await
        .unwrap();

    let swept = store.sweep_expired(later).await.unwrap();
    let all = Swept {
        sessions: 1,
        pending_sign_ins: 1,
        setup_grants: 1,
        assertions: 1,
        rate_limit_counters: 1,
        events: 1,
        link_grants: 1,
    };
    assert!(
        swept == all || swept == Swept::default(),
        "a sweep removes every expired record or leaves them to TTL: {swept:?}"
    );

    // The live ones stay.
    assert_eq!(
        store.session(&new_session.digest).await.unwrap(),
        Some(new_session)
    );
    assert_eq!(
        store.setup_grant(&new_grant.digest).await.unwrap(),
        Some(new_grant)
    );
    assert_eq!(
        store
            .take_pending_sign_in(&new_sign_in.state)
            .await
            .unwrap(),
        Some(new_sign_in)
    );
    assert_eq!(
        store.take_link_grant(&new_link.digest).await.unwrap(),
        Some(new_link)
    );
    assert!(
        !store
            .record_assertion(&new_assertion, new_until, later)
            .await
            .unwrap(),
        "a live assertion record survives the sweep"
    );

    assert_eq!(store.attempts("sweep-new").await.unwrap(), 1);
    assert!(
        listed(&store, &new_event).await,
        "a live event survives the sweep"
    );

    // The expired ones are gone exactly when the sweep says so.
    let gone = swept == all;
    assert_eq!(store.attempts("sweep-old").await.unwrap() == 0, gone);
    assert_eq!(!listed(&store, &old_event).await, gone);
    assert_eq!(
        store.session(&old_session.digest).await.unwrap().is_none(),
        gone
    );
    assert_eq!(
        store
            .setup_grant(&old_grant.digest)
            .await
            .unwrap()
            .is_none(),
        gone
    );
    assert_eq!(
        store
            .take_pending_sign_in(&old_sign_in.state)
            .await
            .unwrap()
            .is_none(),
        gone
    );
    assert_eq!(
        store
            .take_link_grant(&old_link.digest)
            .await
            .unwrap()
            .is_none(),
        gone
    );
    // Asked at a time its record would still refuse: absent only if swept.
    assert_eq!(
        store
            .record_assertion(&old_assertion, old_until, now())
            .await
            .unwrap(),
        gone
    );
}
