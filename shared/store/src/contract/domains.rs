//! Domains: each organization adds its own, with its own TXT value; one
//! organization at most holds a domain verified; the unverified ones are
//! found for re-checking by when they were added.

use super::*;
use admit_domain::{ClaimedDomain, DomainName, OrgDomain};
use rand::Rng;

/// A domain name no other check (nor another run of this one) uses.
fn unique_domain(label: &str) -> DomainName {
    let id = OrgId::generate(&mut rand::rng());
    DomainName::parse(&format!("{label}-{}.test", &id.as_str()[4..20])).unwrap()
}

fn added(org: &OrgId, domain: &DomainName, at: Timestamp) -> OrgDomain {
    OrgDomain::add(org.clone(), domain.clone(), at, &mut rand::rng())
}

fn holder(org: &OrgId, domain: &DomainName) -> Option<ClaimedDomain> {
    Some(ClaimedDomain {
        domain: domain.as_str().to_owned(),
        org_id: org.clone(),
        verified: true,
    })
}

fn new_org_id() -> OrgId {
    OrgId::generate(&mut rand::rng())
}

/// Two organizations add the same domain, each with its own value; adding
/// it again is `Conflict`; an organization's domains are listed by name,
/// apart from its memberships. Adding holds nothing.
pub async fn adding_a_domain_is_per_organization(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (a, b) = (unique_domain("a"), unique_domain("b"));
    assert_eq!(store.org_domain(&org.id, &a).await.unwrap(), None);
    assert_eq!(store.org_domains(&org.id).await.unwrap(), vec![]);

    let (org_b, org_a) = (added(&org.id, &b, now()), added(&org.id, &a, now()));
    let other_a = added(&other.id, &a, now());
    store.add_domain(&org_b, &[]).await.unwrap();
    store.add_domain(&org_a, &[]).await.unwrap();
    store.add_domain(&other_a, &[]).await.unwrap();
    assert_ne!(org_a.txt_value, other_a.txt_value);

    let again = added(&org.id, &a, now() + Duration::hours(1));
    assert!(matches!(
        store.add_domain(&again, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.org_domain(&org.id, &a).await.unwrap(),
        Some(org_a.clone()),
        "adding again leaves the first value"
    );
    assert_eq!(
        store.org_domain(&other.id, &a).await.unwrap(),
        Some(other_a.clone())
    );
    assert_eq!(
        store.org_domains(&org.id).await.unwrap(),
        vec![org_a, org_b]
    );
    assert_eq!(store.org_domains(&other.id).await.unwrap(), vec![other_a]);
    assert_eq!(store.claimed_domain(a.as_str()).await.unwrap(), None);

    // An organization's domains are no memberships.
    let listed = store
        .list_memberships(&org.id, None, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items, vec![owner]);
}

/// Verifying makes the organization the domain's holder; another's verify is
/// `Conflict` and leaves its domain unverified until the holder removes the
/// domain. Removing deletes the hold only when it is that organization's.
pub async fn verifying_makes_one_organization_the_holder(store: DynStore) {
    let (org, other, third) = (new_org_id(), new_org_id(), new_org_id());
    let d = unique_domain("verify");
    let (mine, theirs) = (added(&org, &d, now()), added(&other, &d, now()));
    store.add_domain(&mine, &[]).await.unwrap();
    store.add_domain(&theirs, &[]).await.unwrap();

    let verified = mine.checked(now() + Duration::hours(1), true);
    store.verify_domain(&verified, &[]).await.unwrap();
    assert_eq!(
        store.claimed_domain(d.as_str()).await.unwrap(),
        holder(&org, &d)
    );
    assert_eq!(
        store.org_domain(&org, &d).await.unwrap(),
        Some(verified.clone())
    );
    // Verifying again (the holder) is fine.
    store.verify_domain(&verified, &[]).await.unwrap();

    let refused = theirs.checked(now() + Duration::hours(2), true);
    assert!(matches!(
        store.verify_domain(&refused, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.org_domain(&other, &d).await.unwrap(),
        Some(theirs.clone()),
        "a refused verify leaves the domain unverified"
    );
    assert_eq!(
        store.claimed_domain(d.as_str()).await.unwrap(),
        holder(&org, &d)
    );

    // A domain never added (or gone) is not verified.
    let never = added(&third, &d, now()).checked(now(), true);
    assert!(matches!(
        store.verify_domain(&never, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.org_domain(&third, &d).await.unwrap(), None);

    // Removing another organization's copy leaves the hold.
    store
        .add_domain(&added(&third, &d, now()), &[])
        .await
        .unwrap();
    assert!(store.remove_domain(&third, &d, &[]).await.unwrap());
    assert_eq!(store.org_domain(&third, &d).await.unwrap(), None);
    assert_eq!(
        store.claimed_domain(d.as_str()).await.unwrap(),
        holder(&org, &d)
    );

    // The holder removing it lets go: then the other organization verifies.
    assert!(store.remove_domain(&org, &d, &[]).await.unwrap());
    assert_eq!(store.org_domain(&org, &d).await.unwrap(), None);
    assert_eq!(store.claimed_domain(d.as_str()).await.unwrap(), None);
    assert!(!store.remove_domain(&org, &d, &[]).await.unwrap());
    store.verify_domain(&refused, &[]).await.unwrap();
    assert_eq!(
        store.claimed_domain(d.as_str()).await.unwrap(),
        holder(&other, &d)
    );
    assert_eq!(store.org_domain(&other, &d).await.unwrap(), Some(refused));
    // A verified domain removed by its holder: the hold goes with it.
    assert!(store.remove_domain(&other, &d, &[]).await.unwrap());
    assert_eq!(store.claimed_domain(d.as_str()).await.unwrap(), None);

    let absent = unique_domain("absent");
    assert!(!store.remove_domain(&org, &absent, &[]).await.unwrap());
}

/// Eight organizations verify one domain at once: exactly one wins and
/// holds it; the others' domains stay unverified.
pub async fn race_eight_organizations_verify_one_domain(store: DynStore) {
    let d = unique_domain("race");
    let mut added_domains = Vec::new();
    for _ in 0..8 {
        let a = added(&new_org_id(), &d, now());
        store.add_domain(&a, &[]).await.unwrap();
        added_domains.push(a);
    }
    let tasks: Vec<_> = added_domains
        .iter()
        .map(|a| {
            let (store, verified) = (store.clone(), a.checked(now(), true));
            tokio::spawn(async move {
                store
                    .verify_domain(&verified, &[])
                    .await
                    .map(|()| verified.org_id)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(org) => winners.push(org),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one verify wins");
    assert_eq!(
        store.claimed_domain(d.as_str()).await.unwrap(),
        holder(&winners[0], &d)
    );
    for a in &added_domains {
        let stored = store.org_domain(&a.org_id, &d).await.unwrap().unwrap();
        assert_eq!(stored.is_verified(), a.org_id == winners[0]);
    }
}

/// A check is recorded on an unverified domain; on a verified one or one
/// never added, recording does nothing.
pub async fn domain_checks_are_recorded_on_unverified_domains_only(store: DynStore) {
    let org = new_org_id();
    let d = unique_domain("check");
    let a = added(&org, &d, now());
    store.add_domain(&a, &[]).await.unwrap();

    let first = now() + Duration::hours(1);
    store.record_domain_check(&org, &d, first).await.unwrap();
    let checked = OrgDomain {
        last_checked_at: Some(first),
        ..a.clone()
    };
    assert_eq!(
        store.org_domain(&org, &d).await.unwrap(),
        Some(checked.clone())
    );
    let second = now() + Duration::hours(2);
    store.record_domain_check(&org, &d, second).await.unwrap();
    assert_eq!(
        store
            .org_domain(&org, &d)
            .await
            .unwrap()
            .unwrap()
            .last_checked_at,
        Some(second)
    );

    let verified = checked.checked(now() + Duration::hours(3), true);
    store.verify_domain(&verified, &[]).await.unwrap();
    store
        .record_domain_check(&org, &d, now() + Duration::hours(4))
        .await
        .unwrap();
    assert_eq!(
        store.org_domain(&org, &d).await.unwrap(),
        Some(verified),
        "a verified domain is left alone"
    );

    let never = unique_domain("never");
    store
        .record_domain_check(&org, &never, now())
        .await
        .unwrap();
    assert_eq!(store.org_domain(&org, &never).await.unwrap(), None);
    assert_eq!(store.org_domains(&org).await.unwrap().len(), 1);
}

/// The domains to re-check are the unverified ones added at or after
/// `since`, every organization's, oldest first, at most `limit`; verifying
/// or removing a domain takes it out.
pub async fn unverified_domains_are_rechecked_oldest_first(store: DynStore) {
    // Times of this run alone (other checks add at `now()`, long before).
    let base = Timestamp::from_unix(2_000_000_000 + rand::rng().random_range(0..1_000_000) * 100);
    let at = |seconds: i64| base + Duration::seconds(seconds);
    let (one, two) = (new_org_id(), new_org_id());
    let before = added(&one, &unique_domain("before"), at(-1));
    let d0 = added(&two, &unique_domain("d0"), at(0));
    let d1 = added(&one, &unique_domain("d1"), at(10));
    let d2 = added(&two, &unique_domain("d2"), at(20));
    let d3 = added(&one, &unique_domain("d3"), at(30));
    let d4 = added(&two, &unique_domain("d4"), at(40));
    for d in [&d3, &before, &d1, &d4, &d0, &d2] {
        store.add_domain(d, &[]).await.unwrap();
    }
    let ours = |found: Vec<OrgDomain>| -> Vec<OrgDomain> {
        found
            .into_iter()
            .filter(|d| d.org_id == one || d.org_id == two)
            .collect()
    };

    let all = store.domains_to_recheck(base, 100).await.unwrap();
    assert_eq!(
        ours(all),
        vec![d0.clone(), d1.clone(), d2.clone(), d3.clone(), d4.clone()]
    );
    assert_eq!(
        store.domains_to_recheck(base, 2).await.unwrap(),
        vec![d0.clone(), d1.clone()],
        "at most `limit`, oldest first"
    );
    assert_eq!(store.domains_to_recheck(base, 0).await.unwrap(), vec![]);
    assert_eq!(
        ours(store.domains_to_recheck(at(15), 100).await.unwrap()),
        vec![d2.clone(), d3.clone(), d4.clone()]
    );

    // A recorded check keeps the domain in (as stored); verifying and
    // removing take it out.
    store
        .record_domain_check(&one, &d1.domain, at(3600))
        .await
        .unwrap();
    let d1 = OrgDomain {
        last_checked_at: Some(at(3600)),
        ..d1
    };
    store
        .verify_domain(&d3.checked(at(3600), true), &[])
        .await
        .unwrap();
    assert!(
        store
            .remove_domain(&d4.org_id, &d4.domain, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        ours(store.domains_to_recheck(base, 100).await.unwrap()),
        vec![d0.clone(), d1, d2]
    );
    assert_eq!(
        ours(store.domains_to_recheck(at(-1), 1).await.unwrap()),
        vec![before]
    );
}

/// An organization verifying and removing one domain at once, twenty
/// times over, the verify a little later each time: the remove lands
/// (read again when the verify got in between its read and its write), and
/// no hold on the domain outlives it.
pub async fn race_verifying_and_removing_one_domain(store: DynStore) {
    let org = new_org_id();
    let d = unique_domain("churn");
    for round in 0..20u64 {
        let a = added(&org, &d, now());
        store.add_domain(&a, &[]).await.unwrap();
        let remove = {
            let (store, org, d) = (store.clone(), org.clone(), d.clone());
            tokio::spawn(async move { store.remove_domain(&org, &d, &[]).await })
        };
        let verify = {
            let (store, verified) = (store.clone(), a.checked(now(), true));
            let delay = std::time::Duration::from_micros(round * 500);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                store.verify_domain(&verified, &[]).await
            })
        };
        match verify.await.unwrap() {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(remove.await.unwrap().unwrap(), "the domain was there");
        assert_eq!(store.org_domain(&org, &d).await.unwrap(), None);
        assert_eq!(
            store.claimed_domain(d.as_str()).await.unwrap(),
            None,
            "round {round}: the hold outlived the domain"
        );
    }
}
