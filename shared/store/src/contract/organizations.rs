//! Organizations: unique SSO identifiers, settings that leave seats and the
//! owners guard alone and never shrink a plan below what is occupied.

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
        store.create_organization(&twin, &twin_owner, &[]).await,
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
        .add_memberships(&org, &[invitee(&org, "a@acme.test").0], &[])
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
    changed.settings_version = 1;
    store
        .update_organization_settings(&changed, 0, &[])
        .await
        .unwrap();
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
    off.settings_version = 2;
    store
        .update_organization_settings(&off, 1, &[])
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await, off);

    // The SSO identifier cannot change here, and a missing organization is not created.
    let mut renamed = off.clone();
    renamed.sso_identifier = unique_identifier();
    renamed.settings_version = 3;
    assert!(matches!(
        store.update_organization_settings(&renamed, 2, &[]).await,
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
        store.update_organization_settings(&ghost, 0, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.organization(&ghost.id).await.unwrap(), None);
}

/// A settings write is conditional on the version it was computed from: a
/// stale one changes nothing, and of two concurrent edits from the same
/// version exactly one lands.
pub async fn settings_writes_are_conditional_on_their_version(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(org.settings_version, 0);
    let mut first = org.clone();
    first.policies.require_sso = true;
    first.settings_version = 1;
    store
        .update_organization_settings(&first, 0, &[])
        .await
        .unwrap();

    // Computed from version 0 again: stale.
    let mut stale = org.clone();
    stale.policies.jit_without_invitation = true;
    stale.settings_version = 1;
    assert!(matches!(
        store.update_organization_settings(&stale, 0, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(org_now(&store, &org).await, first);

    // Twenty edits from version 1 at once: one lands, whole.
    let writes = (0..20).map(|i| {
        let store = store.clone();
        let mut edit = first.clone();
        edit.name = format!("Acme {i}");
        edit.policies.jit_without_invitation = i % 2 == 0;
        edit.settings_version = 2;
        tokio::spawn(async move {
            store
                .update_organization_settings(&edit, 1, &[])
                .await
                .map(|()| edit)
        })
    });
    let mut landed = Vec::new();
    for w in join_all(writes).await {
        match w {
            Ok(edit) => landed.push(edit),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(landed.len(), 1, "exactly one concurrent edit lands");
    assert_eq!(org_now(&store, &org).await, landed[0]);
}

/// A settings write leaves `owners_version` as stored (only the guarded
/// membership writes move it), whatever the organization it carries says.
pub async fn settings_leave_the_owners_version_alone(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (a, _) = invitee(&org, "a@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&a), &[])
        .await
        .unwrap();
    let read = org_now(&store, &org).await;
    let mut owner = a.clone();
    owner.set_role(Role::Owner).unwrap();
    store
        .update_membership(&owner, &Expected::with_owners(&a, &read), &[])
        .await
        .unwrap();
    // Computed from the read before the guarded write (version 0), and
    // from one claiming another version: neither is written.
    let mut stale = read.clone();
    stale.name = "Renamed".into();
    stale.settings_version = 1;
    store
        .update_organization_settings(&stale, 0, &[])
        .await
        .unwrap();
    let stored = org_now(&store, &org).await;
    assert_eq!(
        (stored.name.as_str(), stored.owners_version),
        ("Renamed", 1)
    );
    let mut claims = stored.clone();
    claims.owners_version = 7;
    claims.settings_version = 2;
    store
        .update_organization_settings(&claims, 1, &[])
        .await
        .unwrap();
    assert_eq!(
        org_now(&store, &org).await,
        Organization {
            owners_version: 1,
            ..claims
        }
    );
    // The guard still holds at the stored version.
    let mut back = owner.clone();
    back.set_role(Role::User).unwrap();
    let now_read = org_now(&store, &org).await;
    store
        .update_membership(&back, &Expected::with_owners(&owner, &now_read), &[])
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await.owners_version, 2);
}

/// A seat plan is never written below what is occupied: `NoSeats`, and
/// nothing of the write (nor its events) is stored. A plan holding exactly
/// what is occupied, an autoscale ceiling above it or no limit is fine; a
/// stale write is a `Conflict` first.
pub async fn a_seat_plan_is_never_written_below_what_is_occupied(store: DynStore) {
    use super::events::{event_at, listed};
    let (org, _, _) = seed_org(&store, limit(5)).await;
    let two: Vec<_> = ["a@acme.test", "b@acme.test"]
        .iter()
        .map(|a| invitee(&org, a).0)
        .collect();
    store.add_memberships(&org, &two, &[]).await.unwrap();
    let read = org_now(&store, &org).await;
    assert_eq!(read.occupied_seats, 3);
    let plan = |seats: SeatPlan, from: &Organization| Organization {
        seats,
        name: format!("Acme {}", from.settings_version + 1),
        settings_version: from.settings_version + 1,
        ..from.clone()
    };
    let changed = |org: &Organization| {
        [event_at(
            &org.id,
            now(),
            admit_domain::EventType::PoliciesChanged,
            None,
        )]
    };

    for too_small in [
        limit(2),
        SeatPlan {
            limit: Some(1),
            autoscale_max: Some(2),
        },
    ] {
        let refused = changed(&read);
        assert!(matches!(
            store
                .update_organization_settings(&plan(too_small, &read), 0, &refused)
                .await,
            Err(StoreError::NoSeats)
        ));
        assert!(!listed(&store, &refused[0]).await);
        assert_eq!(org_now(&store, &org).await, read, "nothing is written");
        // Without events too (one write of another shape on DynamoDB).
        assert!(matches!(
            store
                .update_organization_settings(&plan(too_small, &read), 0, &[])
                .await,
            Err(StoreError::NoSeats)
        ));
        assert_eq!(org_now(&store, &org).await, read);
    }

    let exact = plan(limit(3), &read);
    let done = changed(&read);
    store
        .update_organization_settings(&exact, 0, &done)
        .await
        .unwrap();
    assert!(listed(&store, &done[0]).await);
    assert_eq!(org_now(&store, &org).await, exact);
    let scaling = plan(
        SeatPlan {
            limit: Some(1),
            autoscale_max: Some(3),
        },
        &exact,
    );
    store
        .update_organization_settings(&scaling, 1, &[])
        .await
        .unwrap();
    let unlimited = plan(SeatPlan::default(), &scaling);
    store
        .update_organization_settings(&unlimited, 2, &[])
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await, unlimited);
    // Stale and too small: the stale version is what is refused.
    assert!(matches!(
        store
            .update_organization_settings(&plan(limit(1), &exact), 1, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(org_now(&store, &org).await, unlimited);
}

/// Await every task, in order.
async fn join_all<T>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<Result<T, StoreError>>>,
) -> Vec<Result<T, StoreError>> {
    let handles: Vec<_> = tasks.collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
