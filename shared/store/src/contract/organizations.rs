//! Organizations: unique SSO identifiers, settings that leave seats alone.

use super::*;

pub async fn organizations_are_unique_by_sso_identifier(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(org_now(&store, &org).await, org);
    assert_eq!(
        store
            .organization_by_sso_identifier(&org.sso_identifier)
            .await
            .unwrap(),
        Some(org.clone())
    );
    let upper = SsoIdentifier::parse(&org.sso_identifier.as_str().to_uppercase()).unwrap();
    assert_eq!(
        store
            .organization_by_sso_identifier(&upper)
            .await
            .unwrap()
            .map(|o| o.id),
        Some(org.id.clone())
    );
    assert_eq!(
        store.membership(&org.id, &owner.member_id).await.unwrap(),
        Some(owner)
    );

    // Same identifier, another organization: refused, and nothing of it is stored.
    let mut rng = rand::rng();
    let mut twin = Organization::new(
        OrgId::generate(&mut rng),
        "Twin",
        org.sso_identifier.clone(),
        SeatPlan::default(),
        now(),
    )
    .unwrap();
    twin.occupied_seats = 1;
    let (twin_owner, _) = Membership::invite(
        &twin.id,
        email("o@twin.test"),
        Role::Owner,
        now(),
        Duration::days(5),
        &mut rng,
    );
    assert!(matches!(
        store.create_organization(&twin, &twin_owner).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.organization(&twin.id).await.unwrap(), None);
    assert_eq!(
        store
            .membership(&twin.id, &twin_owner.member_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .organization_by_sso_identifier(&org.sso_identifier)
            .await
            .unwrap()
            .map(|o| o.id),
        Some(org.id)
    );
    assert_eq!(
        store
            .organization(&OrgId::generate(&mut rng))
            .await
            .unwrap(),
        None
    );
}

pub async fn settings_change_without_touching_seats(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(5)).await;
    store
        .add_memberships(&org, &[invitee(&org, "a@acme.test").0])
        .await
        .unwrap();
    // Settings computed from a stale read (occupied 1) must not reset the counter (2).
    let mut changed = org.clone();
    changed.policies.require_sso = true;
    changed.policies.jit_without_invitation = false;
    changed.sso_enabled = true;
    changed.sso = Some(admit_domain::SsoConfig::Oidc(
        admit_domain::OidcConfig::new(
            "https://idp.test",
            "client",
            "secret",
            None,
            Default::default(),
        )
        .unwrap(),
    ));
    changed.key_connector_url = Some("https://kc.acme.test".into());
    store.update_organization_settings(&changed).await.unwrap();
    let stored = org_now(&store, &org).await;
    assert_eq!(
        stored,
        Organization {
            occupied_seats: 2,
            ..changed.clone()
        }
    );
    // Turning options back off is stored too (None replaces Some).
    let mut off = stored.clone();
    off.sso = None;
    off.key_connector_url = None;
    store.update_organization_settings(&off).await.unwrap();
    assert_eq!(org_now(&store, &org).await, off);

    // The SSO identifier cannot change here, and a missing organization is not created.
    let mut renamed = off.clone();
    renamed.sso_identifier = unique_identifier();
    assert!(matches!(
        store.update_organization_settings(&renamed).await,
        Err(StoreError::Conflict)
    ));
    let ghost = Organization::new(
        OrgId::generate(&mut rand::rng()),
        "Ghost",
        unique_identifier(),
        SeatPlan::default(),
        now(),
    )
    .unwrap();
    assert!(matches!(
        store.update_organization_settings(&ghost).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.organization(&ghost.id).await.unwrap(), None);
}
