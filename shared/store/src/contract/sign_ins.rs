//! SSO sign-in state: pending sign-ins, assertions and link grants used
//! once, unique links found by account too, the decision's writes, the
//! setup step.

use super::*;

pub async fn pending_sign_ins_are_used_once(store: DynStore) {
    let mut rng = rand::rng();
    let started = admit_domain::PendingSignIn::start(
        OrgId::generate(&mut rng),
        None,
        "nonce".into(),
        "verifier".into(),
        now(),
        &mut rng,
    );
    store.put_pending_sign_in(&started.pending).await.unwrap();
    let digest = started.state.digest();
    let takers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_pending_sign_in(&digest).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for t in takers {
        got.extend(t.await.unwrap());
    }
    assert_eq!(
        got,
        vec![started.pending.clone()],
        "exactly one taker gets it"
    );
    assert_eq!(store.take_pending_sign_in(&digest).await.unwrap(), None);
}

pub async fn assertions_are_consumed_once_until_they_expire(store: DynStore) {
    let digest = Secret::generate(&mut rand::rng()).digest();
    let until = now() + Duration::minutes(5);
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(
                async move { store.record_assertion(&digest, until, now()).await.unwrap() },
            )
        })
        .collect();
    let mut firsts = 0;
    for r in racers {
        firsts += usize::from(r.await.unwrap());
    }
    assert_eq!(firsts, 1, "exactly one of ten concurrent consumers wins");
    let later = until - Duration::seconds(1);
    assert!(!store.record_assertion(&digest, until, later).await.unwrap());
    // Once it has expired (even if not yet deleted), the record may be written again.
    assert!(
        store
            .record_assertion(&digest, until + Duration::minutes(5), until)
            .await
            .unwrap()
    );
    let other = Secret::generate(&mut rand::rng()).digest();
    assert!(store.record_assertion(&other, until, now()).await.unwrap());
}

pub async fn identity_links_are_unique(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "linked@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let alice = account("linked@acme.test");
    let mut accepted = m.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&m), Some(&alice), &[])
        .await
        .unwrap();

    let l = link(&org, "sub-alice", &alice.id);
    assert_eq!(
        store.identity_link(&org.id, &l.external_id).await.unwrap(),
        None
    );
    store
        .apply_sign_in(
            &SignInWrite::Link {
                link: l.clone(),
                membership: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.identity_link(&org.id, &l.external_id).await.unwrap(),
        Some(l.clone())
    );
    // The same identity cannot be linked again, to anyone.
    let other = account("other@acme.test");
    let again = SignInWrite::Link {
        link: link(&org, "sub-alice", &other.id),
        membership: None,
    };
    assert!(matches!(
        store.apply_sign_in(&again, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.identity_link(&org.id, &l.external_id).await.unwrap(),
        Some(l.clone())
    );
    // A link to an account that does not exist is refused.
    let ghost = SignInWrite::Link {
        link: link(&org, "sub-ghost", &other.id),
        membership: None,
    };
    assert!(matches!(
        store.apply_sign_in(&ghost, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .identity_link(
                &org.id,
                &admit_domain::ExternalId::parse("sub-ghost").unwrap()
            )
            .await
            .unwrap(),
        None
    );
    // A link made on the strength of a membership refuses when it changed meanwhile.
    let (m2, _) = invitee(&org, "second@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m2), &[])
        .await
        .unwrap();
    let bob = account("second@acme.test");
    let mut bob_in = m2.clone();
    bob_in.accept(bob.id.clone(), now()).unwrap();
    store
        .accept_membership(&bob_in, &Expected::as_read(&m2), Some(&bob), &[])
        .await
        .unwrap();
    let mut confirmed = bob_in.clone();
    confirmed.confirm("k".into(), now()).unwrap();
    let stale = SignInWrite::Link {
        link: link(&org, "sub-bob", &bob.id),
        membership: Some(confirmed.clone()),
    };
    assert!(
        matches!(
            store.apply_sign_in(&stale, &[]).await,
            Err(StoreError::Conflict)
        ),
        "bob was never confirmed"
    );
    store
        .update_membership(&confirmed, &Expected::as_read(&bob_in), &[])
        .await
        .unwrap();
    let fresh = SignInWrite::Link {
        link: link(&org, "sub-bob", &bob.id),
        membership: Some(confirmed),
    };
    store.apply_sign_in(&fresh, &[]).await.unwrap();
    // Identities are per organization.
    let (org2, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(
        store.identity_link(&org2.id, &l.external_id).await.unwrap(),
        None
    );
}

pub async fn sign_in_creates_the_invited_account_atomically(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "jit@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let write = |external: &str| {
        let mut a = account("jit@acme.test");
        a.master_password = None;
        let mut linked = m.clone();
        linked.user_id = Some(a.id.clone());
        SignInWrite::CreateAccountForInvitation {
            link: link(&org, external, &a.id),
            account: a,
            membership: linked,
            expected: Expected::as_read(&m),
        }
    };
    // Two sign-ins of the same new person at once: one account.
    let (w1, w2) = (write("sub-jit"), write("sub-jit"));
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        async move { s1.apply_sign_in(&w1, &[]).await },
        async move { s2.apply_sign_in(&w2, &[]).await }
    );
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "exactly one wins"
    );
    assert!(matches!(r1.err().or(r2.err()), Some(StoreError::Conflict)));
    let stored = store
        .membership(&org.id, &m.member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Invited);
    let acct = store.account_by_email(&m.email).await.unwrap().unwrap();
    assert_eq!(stored.user_id.as_ref(), Some(&acct.id));
    let l = store
        .identity_link(
            &org.id,
            &admit_domain::ExternalId::parse("sub-jit").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.user_id, acct.id);
    // A later attempt with another identity writes nothing (membership taken, email taken).
    assert!(matches!(
        store.apply_sign_in(&write("sub-other"), &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .identity_link(
                &org.id,
                &admit_domain::ExternalId::parse("sub-other").unwrap()
            )
            .await
            .unwrap(),
        None
    );
}

pub async fn sign_in_creates_account_and_membership_taking_a_seat(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(2)).await;
    let write = |org: &Organization, email: &str, external: &str| {
        let mut a = account(email);
        a.master_password = None;
        let m = Membership::just_in_time(&org.id, a.email.clone(), a.id.clone(), now());
        SignInWrite::CreateAccountAndMembership {
            org: org.clone(),
            link: link(org, external, &a.id),
            account: a,
            membership: m,
        }
    };
    let (w1, w2) = (
        write(&org, "new@acme.test", "sub-new"),
        write(&org, "new@acme.test", "sub-new"),
    );
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        async move { s1.apply_sign_in(&w1, &[]).await },
        async move { s2.apply_sign_in(&w2, &[]).await }
    );
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "one account, one membership"
    );
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 2);
    let m = store
        .membership(&org.id, &MemberId::of(&org.id, &email("new@acme.test")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.status, m.role, m.invitation.is_none()),
        (Status::Invited, Role::User, true)
    );
    // The organization is full: nothing is written.
    let full = write(&org, "late@acme.test", "sub-late");
    assert!(matches!(
        store.apply_sign_in(&full, &[]).await,
        Err(StoreError::NoSeats)
    ));
    assert_eq!(
        store
            .account_by_email(&email("late@acme.test"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .identity_link(
                &org.id,
                &admit_domain::ExternalId::parse("sub-late").unwrap()
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);
}

pub async fn setup_completes_once(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let mut a = account("setup@acme.test");
    a.master_password = None;
    let m = Membership::just_in_time(&org.id, a.email.clone(), a.id.clone(), now());
    let w = SignInWrite::CreateAccountAndMembership {
        org: org.clone(),
        link: link(&org, "sub-setup", &a.id),
        account: a.clone(),
        membership: m.clone(),
    };
    store.apply_sign_in(&w, &[]).await.unwrap();
    let (grant, token) = admit_domain::SetupGrant::issue(
        org.id.clone(),
        m.member_id.clone(),
        a.id.clone(),
        now(),
        &mut rand::rng(),
    );
    store.put_setup_grant(&grant, &[]).await.unwrap();
    assert_eq!(
        store.setup_grant(&token.digest()).await.unwrap(),
        Some(grant.clone())
    );

    let mut accepted = m.clone();
    accepted.accept(a.id.clone(), now()).unwrap();
    let mut with_password = a.clone();
    with_password.master_password = Some(MasterPassword {
        verifier: "$argon2id$set".into(),
        kdf: Kdf::DEFAULT,
    });
    store
        .complete_setup(
            &grant.digest,
            &accepted,
            &Expected::as_read(&m),
            &with_password,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(accepted.clone())
    );
    assert_eq!(
        store.account(&a.id).await.unwrap(),
        Some(with_password.clone())
    );
    assert_eq!(store.setup_grant(&grant.digest).await.unwrap(), None);
    // Used once: a replay changes nothing.
    let mut replay = a.clone();
    replay.master_password = Some(MasterPassword {
        verifier: "$argon2id$replayed".into(),
        kdf: Kdf::DEFAULT,
    });
    assert!(matches!(
        store
            .complete_setup(
                &grant.digest,
                &accepted,
                &Expected::as_read(&m),
                &replay,
                &[]
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&a.id).await.unwrap(), Some(with_password));
}

/// An account's identity links are found by the account, in every
/// organization, and never as memberships (nor a membership as a link),
/// whatever the external id looks like.
pub async fn identity_links_of_a_user(store: DynStore) {
    let (one, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (two, _, _) = seed_org(&store, SeatPlan::default()).await;
    let alice = account("alice@acme.test");
    let membership = accepted_member(&store, &one, "alice@acme.test", &alice, true).await;
    let bob = account("bob@acme.test");
    accepted_member(&store, &one, "bob@acme.test", &bob, true).await;
    assert!(
        store
            .identity_links_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    let mut mine = vec![
        linked(&store, &one, "sub-alice", &alice.id).await,
        // Spelled like the key of a membership.
        linked(&store, &one, &format!("MEMBER#{}", one.id), &alice.id).await,
        // Another organization, where alice holds no membership.
        linked(&store, &two, "sub-alice", &alice.id).await,
    ];
    linked(&store, &one, "sub-bob", &bob.id).await;

    let mut found = store.identity_links_of_user(&alice.id).await.unwrap();
    let order =
        |l: &admit_domain::IdentityLink| (l.org_id.clone(), l.external_id.as_str().to_owned());
    found.sort_by_key(order);
    mine.sort_by_key(order);
    assert_eq!(found, mine);
    assert_eq!(
        store.identity_links_of_user(&bob.id).await.unwrap().len(),
        1
    );
    assert!(
        store
            .identity_links_of_user(&UserId::generate(&mut rand::rng()))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.memberships_of_user(&alice.id).await.unwrap(),
        vec![membership],
        "links are never memberships"
    );
}

/// A link grant is taken once: of concurrent takers exactly one gets it,
/// then nobody; an expired one is returned for its taker to refuse
/// (`is_live`), like a pending sign-in.
pub async fn link_grants_are_used_once(store: DynStore) {
    let mut rng = rand::rng();
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let user = UserId::generate(&mut rng);
    let (grant, token) =
        admit_domain::LinkGrant::issue(org.id.clone(), user.clone(), now(), &mut rng);
    let (other, _) = admit_domain::LinkGrant::issue(org.id.clone(), user, now(), &mut rng);
    store.put_link_grant(&grant).await.unwrap();
    store.put_link_grant(&other).await.unwrap();
    let digest = token.digest();
    assert_eq!(digest, grant.digest);
    let takers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_link_grant(&digest).await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for t in takers {
        got.extend(t.await.unwrap());
    }
    assert_eq!(got, vec![grant.clone()], "exactly one taker gets it");
    assert_eq!(store.take_link_grant(&digest).await.unwrap(), None);
    assert_eq!(
        store
            .take_link_grant(&admit_domain::TokenDigest::of_bytes(b"never issued"))
            .await
            .unwrap(),
        None
    );
    // The other grant is its own.
    let taken = store.take_link_grant(&other.digest).await.unwrap().unwrap();
    assert_eq!(taken, other);
    assert!(taken.is_live(now()));
    assert!(!taken.is_live(taken.expires_at));
}
