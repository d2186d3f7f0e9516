//! What the contract does not pin down but this adapter must get right:
//! the seat-plan condition, batch edges, the transaction's 100 items,
//! listings matching the embedded store page for page, event cursors
//! against DynamoDB's start-key rule, and error mapping.

use admit_domain::{
    Account, Email, ExternalId, IdentityLink, MemberId, Membership, OrgId, Organization,
    PendingSignIn, Role, SeatPlan, SetupGrant, SsoIdentifier, Status, Timestamp, TokenDigest,
    UserId,
};
use admit_store::prelude::*;
use admit_store::{Expected, SignInWrite, StoreError};
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
    store.create_organization(&org, &owner, &[]).await.unwrap();
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
        store
            .add_memberships(&org, std::slice::from_ref(&m), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Read again, the plan holds and the seats are what is missing.
    let org = store.organization(&org.id).await.unwrap().unwrap();
    assert_eq!(org.seats.limit, Some(1));
    assert!(matches!(
        store
            .add_memberships(&org, std::slice::from_ref(&m), &[])
            .await,
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
            .add_memberships(&limited, std::slice::from_ref(&m), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .add_memberships(&unlimited, std::slice::from_ref(&m), &[])
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
        store
            .add_memberships(&org, &[a.clone(), a.clone()], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // A member of another organization.
    let (other, _) = new_org(SeatPlan::default());
    let stranger = invitee(&other, "s@acme.test", Role::User);
    assert!(matches!(
        store
            .add_memberships(&org, &[a.clone(), stranger], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // An organization that does not exist.
    assert!(matches!(
        store.add_memberships(&other, &[], &[]).await,
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
        .add_memberships(&org, std::slice::from_ref(&m), &[])
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
        mail: None,
        owners_version: None,
        role: Role::User,
        role_source: admit_domain::RoleSource::Invitation,
        idp_groups: Vec::new(),
    };
    assert!(matches!(
        store
            .update_membership(&accepted, &no_invitation, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Revoking through an update would free a seat without counting it.
    let mut revoked = m.clone();
    revoked.revoke().unwrap();
    assert!(matches!(
        store
            .update_membership(&revoked, &Expected::as_read(&m), &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(m.clone())
    );
    // Accepting indexes the membership by user; the user index drops it when the user goes.
    store
        .update_membership(&accepted, &Expected::as_read(&m), &[])
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
        .update_membership(&detached, &Expected::as_read(&accepted), &[])
        .await
        .unwrap();
    assert!(store.memberships_of_user(&user).await.unwrap().is_empty());
}

#[tokio::test]
async fn batch_reads_chunk_and_keep_the_order_asked() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let mut all = Vec::new();
    // More than one BatchGetItem's 100 keys.
    for batch in 0..3 {
        let new: Vec<_> = (0..admit_store_dynamodb::MAX_NEW_MEMBERSHIPS_PER_WRITE)
            .map(|i| invitee(&org, &format!("b{batch}-{i}@acme.test"), Role::User))
            .collect();
        let org = store.organization(&org.id).await.unwrap().unwrap();
        store.add_memberships(&org, &new, &[]).await.unwrap();
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
        store.create_organization(&org, &owner, &[]).await.unwrap();
        store.add_memberships(&org, &members, &[]).await.unwrap();
        for m in members.iter().step_by(3) {
            let mut accepted = m.clone();
            accepted
                .accept(UserId::generate(&mut rand::rng()), now())
                .unwrap();
            accepted.user_id = None; // the same value in both stores
            store
                .update_membership(&accepted, &Expected::as_read(m), &[])
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

fn account(address: &str) -> Account {
    Account {
        id: UserId::generate(&mut rand::rng()),
        email: Email::parse(address).unwrap(),
        name: None,
        master_password: None,
        keys: None,
        devices: Vec::new(),
        created_at: now(),
    }
}

fn link(org: &Organization, external: &str, user: &UserId) -> IdentityLink {
    IdentityLink {
        org_id: org.id.clone(),
        external_id: ExternalId::parse(external).unwrap(),
        user_id: user.clone(),
        linked_at: now(),
    }
}

/// The raw item at `pk`/`sk`, if any.
async fn raw_item(
    store: &DynamoStore,
    pk: String,
    sk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .filter(|i| !i.is_empty())
}

/// An account with an accepted membership in `org`, as `accept_membership` leaves them.
async fn member_with_account(store: &DynamoStore, org: &Organization, address: &str) -> Account {
    let m = invitee(org, address, Role::User);
    let org = store.organization(&org.id).await.unwrap().unwrap();
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let a = account(address);
    let mut accepted = m.clone();
    accepted.accept(a.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&m), Some(&a), &[])
        .await
        .unwrap();
    a
}

#[tokio::test]
async fn linked_identities_stay_out_of_listings() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let alice = member_with_account(&store, &org, "alice@acme.test").await;
    let bob = member_with_account(&store, &org, "bob@acme.test").await;
    // External ids sorting before, between and after the memberships, one
    // even spelled like a membership's sort key.
    for (external, user) in [
        ("0-first", &alice),
        ("MEMBER#zzz", &alice),
        ("n-middle", &bob),
        ("zzz-last", &bob),
    ] {
        store
            .apply_sign_in(
                &SignInWrite::Link {
                    link: link(&org, external, &user.id),
                    membership: None,
                },
                &[],
            )
            .await
            .unwrap();
    }
    let item = raw_item(&store, format!("ORG#{}", org.id), "IDP#MEMBER#zzz")
        .await
        .expect("the link is in its organization's partition");
    assert_eq!(item["user_id"], AttributeValue::S(alice.id.to_string()));
    // Indexed by account beside the memberships, under `LINK#`.
    assert_eq!(
        item["gsi1pk"],
        AttributeValue::S(format!("USER#{}", alice.id))
    );
    assert_eq!(
        item["gsi1sk"],
        AttributeValue::S(format!("LINK#{}#MEMBER#zzz", org.id))
    );
    assert_eq!(store.memberships_of_user(&alice.id).await.unwrap().len(), 1);
    assert_eq!(
        store.identity_links_of_user(&alice.id).await.unwrap().len(),
        2
    );

    let expected_ids: Vec<MemberId> = {
        let mut all = store
            .list_memberships(&org.id, None, None, 100)
            .await
            .unwrap()
            .items;
        all.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        all.into_iter().map(|m| m.member_id).collect()
    };
    assert_eq!(expected_ids.len(), 3, "the owner, alice and bob only");
    for status in [None, Some(Status::Accepted), Some(Status::Invited)] {
        for limit in [1, 2, 3, 100] {
            let mut listed = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = store
                    .list_memberships(&org.id, status, cursor.as_deref(), limit)
                    .await
                    .unwrap();
                listed.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let want = match status {
                None => 3,
                Some(Status::Accepted) => 2,
                _ => 1,
            };
            assert_eq!(listed.len(), want, "{status:?} in pages of {limit}");
            assert!(
                listed.iter().all(|m| expected_ids.contains(&m.member_id)),
                "{status:?} in pages of {limit}"
            );
        }
    }
}

#[tokio::test]
async fn sign_in_records_are_keyed_by_digest_and_carry_their_expiry() {
    let store = fresh().await;
    let mut rng = rand::rng();
    let org = OrgId::generate(&mut rng);
    let started = PendingSignIn::start(org.clone(), None, "n".into(), "v".into(), now(), &mut rng);
    store.put_pending_sign_in(&started.pending).await.unwrap();
    let item = raw_item(
        &store,
        format!("SIGNIN#{}", started.pending.state.to_hex()),
        "SIGNIN",
    )
    .await
    .unwrap();
    assert_eq!(
        item["ttl"],
        AttributeValue::N(started.pending.expires_at.unix().to_string())
    );

    let member = MemberId::of(&org, &Email::parse("a@acme.test").unwrap());
    let (grant, token) = SetupGrant::issue(
        org.clone(),
        member,
        UserId::generate(&mut rng),
        now(),
        &mut rng,
    );
    store.put_setup_grant(&grant, &[]).await.unwrap();
    let item = raw_item(
        &store,
        format!("SETUP#{}", token.digest().to_hex()),
        "SETUP",
    )
    .await
    .unwrap();
    assert_eq!(
        item["ttl"],
        AttributeValue::N(grant.expires_at.unix().to_string())
    );
    assert_eq!(store.setup_grant(&grant.digest).await.unwrap(), Some(grant));

    let (link, link_token) =
        admit_domain::LinkGrant::issue(org.clone(), UserId::generate(&mut rng), now(), &mut rng);
    store.put_link_grant(&link).await.unwrap();
    let item = raw_item(
        &store,
        format!("LINKGRANT#{}", link_token.digest().to_hex()),
        "LINKGRANT",
    )
    .await
    .unwrap();
    assert_eq!(
        item["ttl"],
        AttributeValue::N(link.expires_at.unix().to_string())
    );

    // Taking one never put, or taken already, is `None`.
    let unknown = TokenDigest::of_bytes(b"never put");
    assert_eq!(store.take_pending_sign_in(&unknown).await.unwrap(), None);
    let digest = started.state.digest();
    assert_eq!(
        store.take_pending_sign_in(&digest).await.unwrap(),
        Some(started.pending)
    );
    assert_eq!(store.take_pending_sign_in(&digest).await.unwrap(), None);
    assert!(
        raw_item(&store, format!("SIGNIN#{}", digest.to_hex()), "SIGNIN")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn an_invitation_that_has_a_user_refuses_a_sign_in_whole() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let m = invitee(&org, "jit@acme.test", Role::User);
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    // Still invited with the same invitation, but already recording a user.
    let mut recorded = m.clone();
    recorded.user_id = Some(UserId::generate(&mut rand::rng()));
    store
        .update_membership(&recorded, &Expected::as_read(&m), &[])
        .await
        .unwrap();
    assert_eq!(Expected::as_read(&recorded), Expected::as_read(&m));

    let a = account("jit@acme.test");
    let mut linked = m.clone();
    linked.user_id = Some(a.id.clone());
    let write = SignInWrite::CreateAccountForInvitation {
        link: link(&org, "sub-jit", &a.id),
        account: a.clone(),
        membership: linked.clone(),
        expected: Expected::as_read(&m),
    };
    assert!(matches!(
        store.apply_sign_in(&write, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(recorded)
    );
    assert_eq!(store.account(&a.id).await.unwrap(), None);
    assert_eq!(store.account_by_email(&a.email).await.unwrap(), None);
    assert_eq!(
        store
            .identity_link(&org.id, &ExternalId::parse("sub-jit").unwrap())
            .await
            .unwrap(),
        None
    );

    // Revoking through a sign-in would free a seat without counting it.
    let mut revoked = linked;
    revoked.revoke().unwrap();
    let write = SignInWrite::CreateAccountForInvitation {
        link: link(&org, "sub-jit", &a.id),
        account: a.clone(),
        membership: revoked,
        expected: Expected::as_read(&m),
    };
    assert!(matches!(
        store.apply_sign_in(&write, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&a.id).await.unwrap(), None);
}

fn new_member_write(org: &Organization, address: &str, external: &str) -> SignInWrite {
    let a = account(address);
    let m = Membership::just_in_time(&org.id, a.email.clone(), a.id.clone(), now());
    SignInWrite::CreateAccountAndMembership {
        org: org.clone(),
        link: link(org, external, &a.id),
        account: a,
        membership: m,
    }
}

async fn wrote_nothing(store: &DynamoStore, write: &SignInWrite) {
    let SignInWrite::CreateAccountAndMembership {
        org,
        link,
        account,
        membership,
    } = write
    else {
        unreachable!()
    };
    assert_eq!(store.account(&account.id).await.unwrap(), None);
    assert_eq!(store.account_by_email(&account.email).await.unwrap(), None);
    assert_eq!(
        store
            .identity_link(&org.id, &link.external_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .membership(&membership.org_id, &membership.member_id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_sign_in_taking_a_seat_tells_no_seats_from_a_conflict() {
    let store = fresh().await;
    let org = seeded(
        &store,
        SeatPlan {
            limit: Some(5),
            autoscale_max: None,
        },
    )
    .await;
    // Another writer lowers the limit to what is occupied: the plan read is stale.
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
    let stale = new_member_write(&org, "a@acme.test", "sub-a");
    assert!(matches!(
        store.apply_sign_in(&stale, &[]).await,
        Err(StoreError::Conflict)
    ));
    wrote_nothing(&store, &stale).await;
    // Read again, the plan holds and the seat is what is missing.
    let org = store.organization(&org.id).await.unwrap().unwrap();
    let full = new_member_write(&org, "a@acme.test", "sub-a");
    assert!(matches!(
        store.apply_sign_in(&full, &[]).await,
        Err(StoreError::NoSeats)
    ));
    wrote_nothing(&store, &full).await;
    // No room even in an empty organization: refused before writing.
    let mut none_at_all = org.clone();
    none_at_all.seats.limit = Some(0);
    let write = new_member_write(&none_at_all, "b@acme.test", "sub-b");
    assert!(matches!(
        store.apply_sign_in(&write, &[]).await,
        Err(StoreError::NoSeats)
    ));
    wrote_nothing(&store, &write).await;
    // An organization that does not exist.
    let (ghost, _) = new_org(SeatPlan::default());
    let write = new_member_write(&ghost, "c@acme.test", "sub-c");
    assert!(matches!(
        store.apply_sign_in(&write, &[]).await,
        Err(StoreError::Conflict)
    ));
    wrote_nothing(&store, &write).await;
    assert_eq!(
        store
            .organization(&org.id)
            .await
            .unwrap()
            .unwrap()
            .occupied_seats,
        1
    );

    // With room, an identity linked already is a conflict and takes no seat.
    let open = seeded(&store, SeatPlan::default()).await;
    let taken = member_with_account(&store, &open, "taken@acme.test").await;
    store
        .apply_sign_in(
            &SignInWrite::Link {
                link: link(&open, "sub-taken", &taken.id),
                membership: None,
            },
            &[],
        )
        .await
        .unwrap();
    let open = store.organization(&open.id).await.unwrap().unwrap();
    let write = new_member_write(&open, "d@acme.test", "sub-taken");
    assert!(matches!(
        store.apply_sign_in(&write, &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .organization(&open.id)
            .await
            .unwrap()
            .unwrap()
            .occupied_seats,
        open.occupied_seats
    );
    let SignInWrite::CreateAccountAndMembership { account, .. } = &write else {
        unreachable!()
    };
    assert_eq!(store.account(&account.id).await.unwrap(), None);
}

#[tokio::test]
async fn setup_refuses_another_email_and_keeps_the_grant() {
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let write = new_member_write(&org, "setup@acme.test", "sub-setup");
    store.apply_sign_in(&write, &[]).await.unwrap();
    let SignInWrite::CreateAccountAndMembership {
        account: a,
        membership: m,
        ..
    } = write
    else {
        unreachable!()
    };
    let (grant, _) = SetupGrant::issue(
        org.id.clone(),
        m.member_id.clone(),
        a.id.clone(),
        now(),
        &mut rand::rng(),
    );
    store.put_setup_grant(&grant, &[]).await.unwrap();
    let mut accepted = m.clone();
    accepted.accept(a.id.clone(), now()).unwrap();
    let expected = Expected::as_read(&m);

    // The account's email may not change here.
    let mut renamed = a.clone();
    renamed.email = Email::parse("other@acme.test").unwrap();
    assert!(matches!(
        store
            .complete_setup(&grant.digest, &accepted, &expected, &renamed, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Nor may the account be created by it.
    let stranger = account("setup@acme.test");
    assert!(matches!(
        store
            .complete_setup(&grant.digest, &accepted, &expected, &stranger, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Nor a seat be freed.
    let mut revoked = m.clone();
    revoked.revoke().unwrap();
    assert!(matches!(
        store
            .complete_setup(&grant.digest, &revoked, &expected, &a, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // A membership that changed since it was read.
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
            .complete_setup(&grant.digest, &accepted, &stale, &a, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Nothing moved, and the grant is still there to be used.
    assert_eq!(
        store.setup_grant(&grant.digest).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(m.clone())
    );
    assert_eq!(store.account(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.account(&stranger.id).await.unwrap(), None);

    store
        .complete_setup(&grant.digest, &accepted, &expected, &a, &[])
        .await
        .unwrap();
    assert_eq!(store.setup_grant(&grant.digest).await.unwrap(), None);
    // Another grant cannot replay it: the membership moved on.
    let (again, _) = SetupGrant::issue(
        org.id.clone(),
        m.member_id.clone(),
        a.id.clone(),
        now(),
        &mut rand::rng(),
    );
    store.put_setup_grant(&again, &[]).await.unwrap();
    assert!(matches!(
        store
            .complete_setup(&again.digest, &accepted, &expected, &a, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.setup_grant(&again.digest).await.unwrap(), Some(again));
}

/// An event of `org` at `at` (seconds after `now()`), about `member`.
fn event_at(
    org: &OrgId,
    at: i64,
    kind: admit_domain::EventType,
    member: Option<&MemberId>,
) -> admit_domain::Event {
    let at = now() + Duration::seconds(at);
    let source = admit_domain::EventSource {
        org_id: org.clone(),
        at,
        actor: admit_domain::Actor::Operator,
        ip: None,
        expires_at: at + Duration::days(365),
    };
    let micros = u64::try_from(at.unix()).unwrap() * 1_000_000;
    source.event(
        kind,
        member,
        admit_domain::EventDetails::default(),
        micros,
        &mut rand::rng(),
    )
}

/// A transaction holds 100 items: the most memberships one write takes,
/// an event each and the seat counter fit in one.
#[tokio::test]
async fn the_most_memberships_at_once_fit_one_transaction_with_their_events() {
    use admit_store_dynamodb::MAX_NEW_MEMBERSHIPS_PER_WRITE as MOST;
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let new: Vec<_> = (0..MOST)
        .map(|i| invitee(&org, &format!("e{i}@acme.test"), Role::User))
        .collect();
    let events: Vec<_> = new
        .iter()
        .map(|m| {
            event_at(
                &org.id,
                0,
                admit_domain::EventType::MemberInvited,
                Some(&m.member_id),
            )
        })
        .collect();
    store.add_memberships(&org, &new, &events).await.unwrap();
    let listed = store
        .events(&org.id, &Default::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), MOST);
    assert!(listed.next_cursor.is_none());
    let stored = store.organization(&org.id).await.unwrap().unwrap();
    assert_eq!(stored.occupied_seats as usize, 1 + MOST);
}

/// DynamoDB refuses a start key outside the key condition's range, so a
/// cursor is not sent as one there: a cursor newer than a time range lists
/// the range from its newest event, one older than it lists nothing. On
/// the table and on both indexes.
#[tokio::test]
async fn a_cursor_outside_the_time_range_lists_what_is_older_than_it() {
    use admit_domain::{EventQuery, EventType};
    let store = fresh().await;
    let org = seeded(&store, SeatPlan::default()).await;
    let member = MemberId::of(&org.id, &Email::parse("m@acme.test").unwrap());
    let events: Vec<_> = (0..10)
        .map(|s| event_at(&org.id, s, EventType::MemberRevoked, Some(&member)))
        .collect();
    store.record_events(&events).await.unwrap();
    let second = |s| Some(now() + Duration::seconds(s));
    for (member, kind) in [
        (None, None),
        (Some(member.clone()), None),
        (None, Some(EventType::MemberRevoked)),
    ] {
        let every = EventQuery {
            member: member.clone(),
            kind,
            ..EventQuery::default()
        };
        let first = store.events(&org.id, &every, None, 3).await.unwrap();
        let cursor = first.next_cursor.expect("seven more");
        assert_eq!(
            first.items,
            [&events[9], &events[8], &events[7]].map(Clone::clone)
        );

        let older = EventQuery {
            start: second(0),
            end: second(4),
            ..every.clone()
        };
        let page = store
            .events(&org.id, &older, Some(&cursor), 10)
            .await
            .unwrap();
        let want: Vec<_> = events[..5].iter().rev().cloned().collect();
        assert_eq!(page.items, want, "{every:?}");

        let newer = EventQuery {
            start: second(8),
            end: None,
            ..every
        };
        let page = store
            .events(&org.id, &newer, Some(&cursor), 10)
            .await
            .unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
    }
}
