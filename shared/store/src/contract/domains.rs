//! Claimed domains: one organization per domain.

use super::*;

pub async fn domains_are_claimed_by_one_organization(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let domain = format!("{}.test", &org.id.as_str()[4..16]);
    assert_eq!(store.claimed_domain(&domain).await.unwrap(), None);
    let claim =
        admit_domain::ClaimedDomain::new(&domain.to_uppercase(), org.id.clone(), false).unwrap();
    assert_eq!(claim.domain, domain);
    store.put_claimed_domain(&claim, &[]).await.unwrap();
    let verified = admit_domain::ClaimedDomain {
        verified: true,
        ..claim.clone()
    };
    store.put_claimed_domain(&verified, &[]).await.unwrap();
    assert_eq!(
        store.claimed_domain(&domain).await.unwrap(),
        Some(verified.clone())
    );
    // Another organization cannot take it.
    let stolen = admit_domain::ClaimedDomain {
        org_id: other.id.clone(),
        ..verified.clone()
    };
    assert!(matches!(
        store.put_claimed_domain(&stolen, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.claimed_domain(&domain).await.unwrap(), Some(verified));
}
