//! SCIM: users round-trip (their JSON attributes exactly), are found by id
//! and by `userName` (any case), one per `userName` in an organization;
//! every write is conditional on the version it was computed from and
//! records its events exactly when it applies; groups keep every member.
//! Nothing of one organization is seen from another, nor by the other
//! listings of the organization.

use super::events::{event_at, listed};
use super::*;
use admit_domain::scim::{MAX_GROUP_MEMBERS, user_name_key};
use admit_domain::{Event, EventType, GroupMember, ScimGroup, ScimId, ScimUser};

/// Attributes exercising what JSON holds: nested objects and arrays,
/// booleans, empty strings and arrays, null, unicode, an empty key, integers
/// and floats (`1.0` among them, which a number type of the backend could
/// turn into `1`). Built through the value's own conversions, so that this
/// crate need not name `serde_json`: `V` is `ScimUser::attributes`' type.
fn attributes<V>(user_name: &str, given: &str) -> V
where
    V: From<String>
        + From<&'static str>
        + From<bool>
        + From<()>
        + From<i64>
        + From<f64>
        + From<Vec<V>>
        + FromIterator<(&'static str, V)>,
{
    let object = |pairs: Vec<(&'static str, V)>| pairs.into_iter().collect::<V>();
    object(vec![
        (
            "schemas",
            V::from(vec![V::from("urn:ietf:params:scim:schemas:core:2.0:User")]),
        ),
        ("userName", V::from(user_name.to_owned())),
        (
            "name",
            object(vec![
                ("givenName", V::from(given.to_owned())),
                ("familyName", V::from("Ørsted-Łukasz 山田 😀")),
                ("middleName", V::from("")),
                ("honorificPrefix", V::from(())),
            ]),
        ),
        ("displayName", V::from("")),
        ("active", V::from(true)),
        (
            "emails",
            V::from(vec![
                object(vec![
                    ("value", V::from(format!("{given}@acme.test"))),
                    ("primary", V::from(true)),
                    ("type", V::from("work")),
                ]),
                object(vec![("value", V::from("")), ("primary", V::from(false))]),
            ]),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            object(vec![
                ("employeeNumber", V::from(-7_i64)),
                ("costCenter", V::from(1.0_f64)),
                ("ratio", V::from(0.25_f64)),
                (
                    "manager",
                    object(vec![("value", V::from("")), ("", V::from(vec![]))]),
                ),
                (
                    "tags",
                    V::from(vec![V::from(false), V::from(()), object(vec![])]),
                ),
            ]),
        ),
    ])
}

/// A new user of `org` (version 1) and the id of its membership.
fn user(org: &OrgId, user_name: &str) -> ScimUser {
    let given = user_name
        .split('@')
        .next()
        .unwrap_or(user_name)
        .to_lowercase();
    let id = ScimId::generate(&mut rand::rng());
    ScimUser {
        org_id: org.clone(),
        member_id: MemberId::of(org, &email(&format!("u-{id}@acme.test"))),
        id,
        user_name: user_name.to_owned(),
        attributes: attributes(user_name, &given),
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

/// `u` renamed to `user_name` (attributes to match), one version on.
fn renamed(u: &ScimUser, user_name: &str) -> ScimUser {
    u.updated(
        user_name.to_owned(),
        attributes(user_name, "renamed"),
        now() + Duration::minutes(1),
    )
}

/// A new group of `org` (version 1) of `members`.
fn group(org: &OrgId, name: &str, members: Vec<GroupMember>) -> ScimGroup {
    ScimGroup {
        org_id: org.clone(),
        id: ScimId::generate(&mut rand::rng()),
        display_name: name.to_owned(),
        external_id: Some(format!("ext-{name}")),
        members,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

/// `g` with `members`, one version on.
fn regrouped(g: &ScimGroup, members: Vec<GroupMember>) -> ScimGroup {
    ScimGroup {
        members,
        updated_at: now() + Duration::minutes(1),
        version: g.version + 1,
        ..g.clone()
    }
}

fn scim_event(org: &OrgId, kind: EventType) -> Vec<Event> {
    vec![event_at(org, now(), kind, None)]
}

async fn assert_events(store: &DynStore, events: &[Event], want: bool, what: &str) {
    for e in events {
        assert_eq!(
            listed(store, e).await,
            want,
            "{what}: its event {}",
            if want { "is listed" } else { "is not written" }
        );
    }
}

fn by_id<T>(mut items: Vec<T>, id: impl Fn(&T) -> ScimId) -> Vec<T> {
    items.sort_by_key(id);
    items
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(r, Err(StoreError::Conflict)),
        "{what}: Conflict, not {r:?}"
    );
}

/// Users read back exactly as written (attributes included), by id and by
/// `userName` key, whatever the case it was given in; listed by id; an
/// organization sees none of another's, which may use the same `userName`;
/// no other listing of the organization shows them.
pub async fn scim_users_round_trip_per_organization(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(store.scim_users(&org.id).await.unwrap(), vec![]);

    let users: Vec<ScimUser> = ["Ann@Acme.test", "bob", "Ça-Ünïcode@acme.test", "dee"]
        .into_iter()
        .map(|name| user(&org.id, name))
        .collect();
    for u in &users {
        store.create_scim_user(u, &[]).await.unwrap();
    }
    let theirs = user(&other.id, "ann@acme.test");
    store.create_scim_user(&theirs, &[]).await.unwrap();

    for u in &users {
        assert_eq!(
            store.scim_user(&org.id, &u.id).await.unwrap().as_ref(),
            Some(u),
            "{} reads back as written",
            u.user_name
        );
        for asked in [u.user_name.clone(), u.user_name.to_uppercase()] {
            assert_eq!(
                store
                    .scim_user_by_name(&org.id, &user_name_key(&asked))
                    .await
                    .unwrap()
                    .as_ref(),
                Some(u),
                "found by the key of {asked}"
            );
        }
    }
    assert_eq!(
        store.scim_users(&org.id).await.unwrap(),
        by_id(users.clone(), |u| u.id.clone())
    );
    assert_eq!(
        store.scim_users(&other.id).await.unwrap(),
        vec![theirs.clone()]
    );
    assert_eq!(
        store
            .scim_user_by_name(&other.id, &user_name_key("ANN@acme.test"))
            .await
            .unwrap(),
        Some(theirs.clone())
    );
    assert_eq!(store.scim_user(&org.id, &theirs.id).await.unwrap(), None);
    assert_eq!(
        store.scim_user(&other.id, &users[0].id).await.unwrap(),
        None
    );
    assert_eq!(
        store.scim_user_by_name(&other.id, "bob").await.unwrap(),
        None
    );
    assert_eq!(
        store.scim_user_by_name(&org.id, "nobody").await.unwrap(),
        None
    );
    // Not a group, not a membership, not a domain.
    assert_eq!(store.scim_groups(&org.id).await.unwrap(), vec![]);
    let listed = store
        .list_memberships(&org.id, None, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items, vec![owner]);
    assert_eq!(store.org_domains(&org.id).await.unwrap(), vec![]);
}

/// One user per `userName` key in an organization: a second create (other
/// case, or the same id) is `Conflict` and writes nothing; a rename to a
/// taken key is `Conflict` and changes nothing; a rename moves the guard
/// (the old name is free again); deleting frees the name.
pub async fn scim_user_names_are_unique_per_organization(store: DynStore) {
    let org = OrgId::generate(&mut rand::rng());
    let ann = user(&org, "ann@acme.test");
    let bob = user(&org, "bob@acme.test");
    store.create_scim_user(&ann, &[]).await.unwrap();
    store.create_scim_user(&bob, &[]).await.unwrap();

    let twin = user(&org, " ANN@Acme.Test");
    conflict(
        store.create_scim_user(&twin, &[]).await,
        "create of a taken userName",
    );
    assert_eq!(store.scim_user(&org, &twin.id).await.unwrap(), None);
    let same_id = ScimUser {
        id: ann.id.clone(),
        ..user(&org, "carol@acme.test")
    };
    conflict(
        store.create_scim_user(&same_id, &[]).await,
        "create of a taken id",
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "carol@acme.test")
            .await
            .unwrap(),
        None,
        "a refused create takes no userName"
    );
    assert_eq!(
        store.scim_user(&org, &ann.id).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "ann@acme.test")
            .await
            .unwrap(),
        Some(ann.clone())
    );
    assert_eq!(store.scim_users(&org).await.unwrap().len(), 2);

    // Renaming to a taken key: nothing changes.
    conflict(
        store
            .update_scim_user(&bob, &renamed(&bob, "Ann@ACME.test"), &[])
            .await,
        "rename to a taken userName",
    );
    assert_eq!(
        store.scim_user(&org, &bob.id).await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "bob@acme.test")
            .await
            .unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "ann@acme.test")
            .await
            .unwrap(),
        Some(ann.clone())
    );

    // Renaming moves the guard.
    let robert = renamed(&bob, "Robert@acme.test");
    store.update_scim_user(&bob, &robert, &[]).await.unwrap();
    assert_eq!(
        store.scim_user(&org, &bob.id).await.unwrap(),
        Some(robert.clone())
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "robert@acme.test")
            .await
            .unwrap(),
        Some(robert.clone())
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "bob@acme.test")
            .await
            .unwrap(),
        None
    );
    // Only the case changes: the same key, the guard stays.
    let cased = renamed(&robert, "ROBERT@acme.test");
    store.update_scim_user(&robert, &cased, &[]).await.unwrap();
    assert_eq!(
        store
            .scim_user_by_name(&org, "robert@acme.test")
            .await
            .unwrap(),
        Some(cased.clone())
    );
    // The old name is free again.
    let new_bob = user(&org, "Bob@acme.test");
    store.create_scim_user(&new_bob, &[]).await.unwrap();
    assert_eq!(
        store
            .scim_user_by_name(&org, "bob@acme.test")
            .await
            .unwrap(),
        Some(new_bob.clone())
    );

    // Deleting frees the name.
    store.delete_scim_user(&ann, &[]).await.unwrap();
    assert_eq!(store.scim_user(&org, &ann.id).await.unwrap(), None);
    assert_eq!(
        store
            .scim_user_by_name(&org, "ann@acme.test")
            .await
            .unwrap(),
        None
    );
    let new_ann = user(&org, "ANN@acme.test");
    store.create_scim_user(&new_ann, &[]).await.unwrap();
    assert_eq!(
        store.scim_users(&org).await.unwrap(),
        by_id(vec![cased, new_bob, new_ann], |u| u.id.clone())
    );
}

/// Updates and deletes are conditional on the version read: a stale one is
/// `Conflict` and changes nothing (a stale rename moves no guard); every
/// user write records its events exactly when it applies.
pub async fn scim_user_writes_are_conditional_on_the_version_read(store: DynStore) {
    use EventType::*;
    let org = OrgId::generate(&mut rand::rng());
    let u = user(&org, "ann@acme.test");
    let done = scim_event(&org, ScimUserCreated);
    store.create_scim_user(&u, &done).await.unwrap();
    assert_events(&store, &done, true, "create_scim_user").await;
    let refused = scim_event(&org, ScimUserCreated);
    conflict(
        store
            .create_scim_user(&user(&org, "Ann@acme.test"), &refused)
            .await,
        "create of a taken userName",
    );
    assert_events(&store, &refused, false, "create_scim_user (taken)").await;

    let v2 = renamed(&u, "ann@acme.test");
    let done = scim_event(&org, ScimUserUpdated);
    store.update_scim_user(&u, &v2, &done).await.unwrap();
    assert_events(&store, &done, true, "update_scim_user").await;
    assert_eq!(
        store.scim_user(&org, &u.id).await.unwrap(),
        Some(v2.clone())
    );

    // From the stale version 1: neither an update nor a rename applies.
    for (stale, what) in [
        (renamed(&u, "ann@acme.test"), "stale update"),
        (renamed(&u, "anne@acme.test"), "stale rename"),
    ] {
        let refused = scim_event(&org, ScimUserUpdated);
        conflict(store.update_scim_user(&u, &stale, &refused).await, what);
        assert_events(&store, &refused, false, what).await;
        assert_eq!(
            store.scim_user(&org, &u.id).await.unwrap(),
            Some(v2.clone()),
            "{what} changes nothing"
        );
    }
    assert_eq!(
        store
            .scim_user_by_name(&org, "anne@acme.test")
            .await
            .unwrap(),
        None,
        "a stale rename takes no userName"
    );
    assert_eq!(
        store
            .scim_user_by_name(&org, "ann@acme.test")
            .await
            .unwrap(),
        Some(v2.clone())
    );

    // A rename from the version read applies, with its event.
    let v3 = renamed(&v2, "anne@acme.test");
    let done = scim_event(&org, ScimUserUpdated);
    store.update_scim_user(&v2, &v3, &done).await.unwrap();
    assert_events(&store, &done, true, "update_scim_user (rename)").await;

    let refused = scim_event(&org, ScimUserDeleted);
    conflict(store.delete_scim_user(&v2, &refused).await, "stale delete");
    assert_events(&store, &refused, false, "delete_scim_user (stale)").await;
    assert_eq!(
        store.scim_user(&org, &u.id).await.unwrap(),
        Some(v3.clone())
    );

    let done = scim_event(&org, ScimUserDeleted);
    store.delete_scim_user(&v3, &done).await.unwrap();
    assert_events(&store, &done, true, "delete_scim_user").await;
    assert_eq!(store.scim_user(&org, &u.id).await.unwrap(), None);
    assert_eq!(
        store
            .scim_user_by_name(&org, "anne@acme.test")
            .await
            .unwrap(),
        None
    );

    // Gone: deleting or updating it again is `Conflict`, and writes nothing.
    let refused = scim_event(&org, ScimUserDeleted);
    conflict(
        store.delete_scim_user(&v3, &refused).await,
        "delete of a deleted user",
    );
    assert_events(&store, &refused, false, "delete_scim_user (gone)").await;
    let refused = scim_event(&org, ScimUserUpdated);
    conflict(
        store
            .update_scim_user(&v3, &renamed(&v3, "anne@acme.test"), &refused)
            .await,
        "update of a deleted user",
    );
    conflict(
        store
            .update_scim_user(&v3, &renamed(&v3, "zed@acme.test"), &refused)
            .await,
        "rename of a deleted user",
    );
    assert_events(&store, &refused, false, "update_scim_user (gone)").await;
    assert_eq!(store.scim_user(&org, &u.id).await.unwrap(), None);
    assert_eq!(
        store
            .scim_user_by_name(&org, "zed@acme.test")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.scim_users(&org).await.unwrap(), vec![]);
}

/// Ten creates of one `userName` (in as many cases) at once: exactly one
/// is written; then five updates from one version at once: exactly one.
pub async fn race_ten_creates_of_one_scim_user_name(store: DynStore) {
    let org = OrgId::generate(&mut rand::rng());
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let name = if i % 2 == 0 {
                "race@acme.test".to_owned()
            } else {
                format!("RACE@Acme.test{}", " ".repeat(i))
            };
            let (store, u) = (store.clone(), user(&org, &name));
            tokio::spawn(async move { store.create_scim_user(&u, &[]).await.map(|()| u) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(u) => winners.push(u),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let winner = winners.remove(0);
    assert_eq!(store.scim_users(&org).await.unwrap(), vec![winner.clone()]);
    assert_eq!(
        store
            .scim_user_by_name(&org, "race@acme.test")
            .await
            .unwrap(),
        Some(winner.clone())
    );

    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let store = store.clone();
            let (before, after) = (winner.clone(), renamed(&winner, &format!("racer{i}")));
            tokio::spawn(async move {
                store
                    .update_scim_user(&before, &after, &[])
                    .await
                    .map(|()| after)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(u) => winners.push(u),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update wins");
    let updated = winners.remove(0);
    assert_eq!(
        store.scim_user(&org, &winner.id).await.unwrap(),
        Some(updated.clone())
    );
    for i in 0..5 {
        let key = format!("racer{i}");
        let found = store.scim_user_by_name(&org, &key).await.unwrap();
        assert_eq!(
            found.is_some(),
            updated.user_name == key,
            "only the winner's userName is taken"
        );
    }
    assert_eq!(
        store
            .scim_user_by_name(&org, "race@acme.test")
            .await
            .unwrap(),
        None
    );
}

/// Groups: created once, replaced from the version read (a stale one is
/// `Conflict`), `MAX_GROUP_MEMBERS` members round-trip, deleted from the
/// version read; listed by id, per organization, apart from the users; each
/// write records its events exactly when it applies.
pub async fn scim_groups_are_versioned_and_keep_their_members(store: DynStore) {
    use EventType::*;
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let other = OrgId::generate(&mut rand::rng());
    let ann = user(&org.id, "ann@acme.test");
    store.create_scim_user(&ann, &[]).await.unwrap();
    let member = |u: &ScimUser| GroupMember {
        id: u.id.clone(),
        member_id: u.member_id.clone(),
    };

    let g = group(&org.id, "Engineering", vec![member(&ann)]);
    assert_eq!(store.scim_group(&org.id, &g.id).await.unwrap(), None);
    let done = scim_event(&org.id, ScimGroupCreated);
    store.put_scim_group(&g, None, &done).await.unwrap();
    assert_events(&store, &done, true, "put_scim_group (create)").await;
    assert_eq!(
        store.scim_group(&org.id, &g.id).await.unwrap(),
        Some(g.clone())
    );

    let again = ScimGroup {
        display_name: "Again".into(),
        ..g.clone()
    };
    let refused = scim_event(&org.id, ScimGroupCreated);
    conflict(
        store.put_scim_group(&again, None, &refused).await,
        "create of an existing group",
    );
    assert_events(&store, &refused, false, "put_scim_group (exists)").await;
    assert_eq!(
        store.scim_group(&org.id, &g.id).await.unwrap(),
        Some(g.clone())
    );

    // Replaced from version 1; again from 1 is stale.
    let v2 = regrouped(&g, vec![]);
    let done = scim_event(&org.id, ScimGroupUpdated);
    store.put_scim_group(&v2, Some(1), &done).await.unwrap();
    assert_events(&store, &done, true, "put_scim_group (replace)").await;
    let stale = ScimGroup {
        display_name: "Stale".into(),
        ..v2.clone()
    };
    let refused = scim_event(&org.id, ScimGroupUpdated);
    conflict(
        store.put_scim_group(&stale, Some(1), &refused).await,
        "stale replace",
    );
    assert_events(&store, &refused, false, "put_scim_group (stale)").await;
    assert_eq!(
        store.scim_group(&org.id, &g.id).await.unwrap(),
        Some(v2.clone())
    );
    let never = group(&org.id, "Never", vec![]);
    conflict(
        store
            .put_scim_group(&regrouped(&never, vec![]), Some(1), &[])
            .await,
        "replace of a group never created",
    );
    assert_eq!(store.scim_group(&org.id, &never.id).await.unwrap(), None);

    // The most members a group keeps round-trip.
    let members: Vec<GroupMember> = (0..MAX_GROUP_MEMBERS)
        .map(|i| GroupMember {
            id: ScimId::generate(&mut rand::rng()),
            member_id: MemberId::of(&org.id, &email(&format!("member{i}@acme.test"))),
        })
        .collect();
    let full = regrouped(&v2, members);
    store.put_scim_group(&full, Some(2), &[]).await.unwrap();
    let read = store.scim_group(&org.id, &g.id).await.unwrap().unwrap();
    assert_eq!(read.members.len(), MAX_GROUP_MEMBERS);
    assert_eq!(read, full, "every member reads back, in order");

    // Listed by id, per organization, apart from the users.
    let mut others = vec![
        group(&org.id, "Sales", vec![member(&ann)]),
        ScimGroup {
            external_id: None,
            ..group(&org.id, "", vec![])
        },
    ];
    for o in &others {
        store.put_scim_group(o, None, &[]).await.unwrap();
    }
    let theirs = group(&other, "Engineering", vec![]);
    store.put_scim_group(&theirs, None, &[]).await.unwrap();
    others.push(full.clone());
    assert_eq!(
        store.scim_groups(&org.id).await.unwrap(),
        by_id(others.clone(), |g| g.id.clone())
    );
    assert_eq!(
        store.scim_groups(&other).await.unwrap(),
        vec![theirs.clone()]
    );
    assert_eq!(store.scim_group(&org.id, &theirs.id).await.unwrap(), None);
    assert_eq!(store.scim_group(&other, &g.id).await.unwrap(), None);
    assert_eq!(store.scim_users(&org.id).await.unwrap(), vec![ann]);
    let listed = store
        .list_memberships(&org.id, None, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items, vec![owner]);

    // Deleted from the version read only.
    let refused = scim_event(&org.id, ScimGroupDeleted);
    conflict(store.delete_scim_group(&v2, &refused).await, "stale delete");
    assert_events(&store, &refused, false, "delete_scim_group (stale)").await;
    assert_eq!(
        store.scim_group(&org.id, &g.id).await.unwrap(),
        Some(full.clone())
    );
    let done = scim_event(&org.id, ScimGroupDeleted);
    store.delete_scim_group(&full, &done).await.unwrap();
    assert_events(&store, &done, true, "delete_scim_group").await;
    assert_eq!(store.scim_group(&org.id, &g.id).await.unwrap(), None);
    conflict(
        store.delete_scim_group(&full, &[]).await,
        "delete of a deleted group",
    );
    others.pop();
    assert_eq!(
        store.scim_groups(&org.id).await.unwrap(),
        by_id(others, |g| g.id.clone())
    );
    assert_eq!(store.scim_groups(&other).await.unwrap(), vec![theirs]);
}
