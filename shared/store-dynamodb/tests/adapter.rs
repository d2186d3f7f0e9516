//! What the contract does not pin down but this adapter must get right:
//! the seat-plan condition, batch edges, listings matching the embedded
//! store page for page, and error mapping.

use admit_domain::{
    Email, MemberId, Membership, OrgId, Organization, Role, SeatPlan, SsoIdentifier, Status,
    Timestamp, UserId,
};
use admit_store::{Expected, Store, StoreError};
use admit_store_dynamodb::{DynamoStore, create_table};
use admit_store_embedded::EmbeddedStore;
use admit_tests::moto::Moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use time::Duration;

fn now() -> Timestamp {
    Timestamp::from_unix(1_800_000_000)
}

fn client() -> Client {
    Client::new(&Moto::shared().sdk_config())
}

async fn fresh() -> DynamoStore {
    let client = client();
    let table = format!("admit-adapter-{:016x}", rand::rng().random::<u64>());
    create_table(&client, &table).await.expect("table created");
    DynamoStore::new(client, table)
}

fn new_org(seats: SeatPlan) -> (Organization, Membership) {
    let mut rng = rand::rng();
    let id = OrgId::generate(&mut rng);
    let ident = SsoIdentifier::parse(&format!("a-{}", &id.as_str()[4..20])).unwrap();
    let mut org = Organization::new(id, "Acme", ident, seats, now()).unwrap();
    org.occupied_seats = 1;
    let owner = invitee(&org, "owner@acme.test", Role::Owner);
    (org, owner)
}

fn invitee(org: &Organization, address: &str, role: Role) -> Membership {
    let email = Email::parse(address).unwrap();
    Membership::invite(
        &org.id,
        email,
        role,
        now(),
        Duration::days(5),
        &mut rand::rng(),
    )
    .0
}

async fn seeded(store: &impl Store, seats: SeatPlan) -> Organization {
    let (org, owner) = new_org(seats);
    store.create_organization(&org, &owner).await.unwrap();
    org
}

#[tokio::test]
async fn a_changed_seat_plan_is_a_conflict_not_no_seats() {
    let store = fresh().await;
    let org = seeded(
        &store,
        SeatPlan {
            limit: Some(5),
            autoscale_max: None,
        },
    )
    .await;
    // Another writer lowers the limit to what is occupied.
    client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("ORG#{}", org.id)))
        .key("sk", AttributeValue::S("ORG".into()))
        .update_expression("SET seats.#limit = :one")
        .expression_attribute_names("#limit", "limit")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let m = invitee(&org, "a@acme.test", Role::User);
    assert!(matches!(
        store.add_memberships(&org, std::slice::from_ref(&m)).await,
        Err(StoreError::Conflict)
    ));
    // Read again, the plan holds and the seats are what is missing.
    let org = store.organization(&org.id).await.unwrap().unwrap();
    assert_eq!(org.seats.limit, Some(1));
    assert!(matches!(
        store.add_memberships(&org, std::slice::from_ref(&m)).await,
        Err(StoreError::NoSeats)
    ));
    // From unlimited (NULL limit) to a limit is a change too.
    let unlimited = seeded(&store, SeatPlan::default()).await;
    let mut limited = unlimited.clone();
    limited.seats = SeatPlan {
        limit: Some(100),
        autoscale_max: None,
    };
    let m = invitee(&unlimited, "b@acme.test", Role::User);
    assert!(matches!(
        store
            .add_memberships(&limited, std::slice::from_ref(&m))
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .add_memberships(&unlimited, std::slice::from_ref(&m))
        .await
        .unwrap();
}

#[tokio::test]
async fn odd_batches_are_refused_whole() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let a = invitee(&org, "a@acme.test", Role::User);
    // The same member twice in one batch.
    assert!(matches!(
        store.add_memberships(&org, &[a.clone(), a.clone()]).await,
        Err(StoreError::Conflict)
    ));
    // A member of another organization.
    let (other, _) = new_org(SeatPlan::default());
    let stranger = invitee(&other, "s@acme.test", Role::User);
    assert!(matches!(
        store.add_memberships(&org, &[a.clone(), stranger]).await,
        Err(StoreError::Conflict)
    ));
    // An organization that does not exist.
    assert!(matches!(
        store.add_memberships(&other, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .organization(&org.id)
            .await
            .unwrap()
            .unwrap()
            .occupied_seats,
        1
    );
    assert_eq!(store.membership(&org.id, &a.member_id).await.unwrap(), None);
}

#[tokio::test]
async fn update_conditions_cover_a_missing_invitation_and_seats() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let m = invitee(&org, "a@acme.test", Role::User);
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let mut accepted = m.clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    // Expecting no invitation where one is stored.
    let no_invitation = Expected {
        status: Status::Invited,
        invitation: None,
    };
    assert!(matches!(
        store.update_membership(&accepted, &no_invitation).await,
        Err(StoreError::Conflict)
    ));
    // Revoking through an update would free a seat without counting it.
    let mut revoked = m.clone();
    revoked.revoke().unwrap();
    assert!(matches!(
        store
            .update_membership(&revoked, &Expected::as_read(&m))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(m.clone())
    );
    // Accepting indexes the membership by user; the user index drops it when the user goes.
    store
        .update_membership(&accepted, &Expected::as_read(&m))
        .await
        .unwrap();
    let user = accepted.user_id.clone().unwrap();
    assert_eq!(
        store.memberships_of_user(&user).await.unwrap(),
        vec![accepted.clone()]
    );
    let mut detached = accepted.clone();
    detached.user_id = None;
    store
        .update_membership(&detached, &Expected::as_read(&accepted))
        .await
        .unwrap();
    assert!(store.memberships_of_user(&user).await.unwrap().is_empty());
}

#[tokio::test]
async fn batch_reads_chunk_and_keep_the_order_asked() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let mut all = Vec::new();
    for batch in 0..2 {
        let new: Vec<_> = (0..99)
            .map(|i| invitee(&org, &format!("b{batch}-{i}@acme.test"), Role::User))
            .collect();
        let org = store.organization(&org.id).await.unwrap().unwrap();
        store.add_memberships(&org, &new).await.unwrap();
        all.extend(new);
    }
    let mut ids: Vec<MemberId> = all.iter().rev().map(|m| m.member_id.clone()).collect();
    ids.push(all[0].member_id.clone());
    ids.push(MemberId::of(
        &org.id,
        &Email::parse("ghost@acme.test").unwrap(),
    ));
    let got = store.memberships(&org.id, &ids).await.unwrap();
    let mut expected: Vec<_> = all.iter().rev().cloned().collect();
    expected.push(all[0].clone());
    assert_eq!(got, expected);
}

#[tokio::test]
async fn listings_match_the_embedded_store_page_for_page() {
    let dynamo = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(&dir.path().join("admit.redb")).unwrap();
    let (org, owner) = new_org(SeatPlan::default());
    let members: Vec<_> = (0..11)
        .map(|i| invitee(&org, &format!("l{i}@acme.test"), Role::User))
        .collect();
    let mut ids: Vec<String> = members
        .iter()
        .chain([&owner])
        .map(|m| m.member_id.to_string())
        .collect();
    ids.sort();
    for store in [&dynamo as &dyn Store, &embedded] {
        store.create_organization(&org, &owner).await.unwrap();
        store.add_memberships(&org, &members).await.unwrap();
        for m in members.iter().step_by(3) {
            let mut accepted = m.clone();
            accepted
                .accept(UserId::generate(&mut rand::rng()), now())
                .unwrap();
            accepted.user_id = None; // the same value in both stores
            store
                .update_membership(&accepted, &Expected::as_read(m))
                .await
                .unwrap();
        }
    }
    for status in [
        None,
        Some(Status::Invited),
        Some(Status::Accepted),
        Some(Status::Confirmed),
    ] {
        for limit in [0, 1, 2, 3, 4, 6, 12, 13, 500] {
            let (mut from_dynamo, mut from_embedded) = (Vec::new(), Vec::new());
            for (store, out) in [
                (&dynamo as &dyn Store, &mut from_dynamo),
                (&embedded, &mut from_embedded),
            ] {
                let mut cursor: Option<String> = None;
                loop {
                    let page = store
                        .list_memberships(&org.id, status, cursor.as_deref(), limit)
                        .await
                        .unwrap();
                    assert!(page.items.len() <= limit.max(1));
                    out.push((page.items.clone(), page.next_cursor.clone()));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
            }
            if status.is_none() {
                assert_eq!(from_dynamo, from_embedded, "unfiltered pages of {limit}");
            } else {
                // With a filter the embedded store may end a page with a cursor
                // when only non-matching members follow; the items are the same.
                let flat = |pages: Vec<(Vec<Membership>, Option<String>)>| -> Vec<Membership> {
                    pages.into_iter().flat_map(|(items, _)| items).collect()
                };
                assert_eq!(
                    flat(from_dynamo),
                    flat(from_embedded),
                    "{status:?} pages of {limit}"
                );
            }
        }
    }
    // A cursor from one store resumes the other at the same place.
    for cursor in &ids {
        let a = dynamo
            .list_memberships(&org.id, None, Some(cursor), 4)
            .await
            .unwrap();
        let b = embedded
            .list_memberships(&org.id, None, Some(cursor), 4)
            .await
            .unwrap();
        assert_eq!(
            (a.items, a.next_cursor),
            (b.items, b.next_cursor),
            "after {cursor}"
        );
    }
}

#[tokio::test]
async fn backend_failures_are_unavailable_with_the_service_code() {
    let store = DynamoStore::new(client(), "admit-no-such-table");
    match store.organization(&OrgId::generate(&mut rand::rng())).await {
        Err(StoreError::Unavailable(why)) => {
            assert!(why.contains("ResourceNotFoundException"), "{why}")
        }
        other => panic!("unexpected {other:?}"),
    }
}
