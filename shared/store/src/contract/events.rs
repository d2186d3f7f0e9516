//! The audit log: listed newest first, a page at a time, filtered; written
//! atomically, and by every write exactly when its change is; the cost of a
//! page.

use super::*;
use crate::{MAX_PAGE_SIZE, Page};
use admit_domain::{
    Actor, DomainName, Event, EventDetails, EventQuery, EventSource, EventType, OrgDomain,
    SetupGrant,
};
use rand::Rng;
use rand::seq::SliceRandom;
use std::net::IpAddr;

/// An event of `org` at `at`, about `member`, by the operator, kept a year.
/// Its id is filed at a random microsecond of `at`'s second, so ids and
/// the order events are made in disagree.
pub(crate) fn event_at(
    org: &OrgId,
    at: Timestamp,
    kind: EventType,
    member: Option<&MemberId>,
) -> Event {
    let mut rng = rand::rng();
    let source = EventSource {
        org_id: org.clone(),
        at,
        actor: Actor::Operator,
        ip: None,
        expires_at: at + Duration::days(365),
    };
    let micros = at.unix() as u64 * 1_000_000 + rng.random_range(0..1_000_000);
    source.event(kind, member, EventDetails::default(), micros, &mut rng)
}

/// An event of `org` now.
fn event(org: &OrgId, kind: EventType, member: Option<&MemberId>) -> Event {
    event_at(org, now(), kind, member)
}

/// Every event of `org` matching `query`, following the cursors `limit` at a
/// time; each page holds at most the clamped `limit`, and is full unless it
/// is the last.
async fn list_all(store: &DynStore, org: &OrgId, query: &EventQuery, limit: usize) -> Vec<Event> {
    let size = limit.clamp(1, MAX_PAGE_SIZE);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let Page { items, next_cursor } = store
            .events(org, query, cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(
            items.len() <= size,
            "{} events on a page of {size}",
            items.len()
        );
        let full = items.len() == size;
        out.extend(items);
        match next_cursor {
            Some(next) => {
                assert!(
                    full,
                    "a page before the last is full ({query:?}, limit {limit})"
                );
                assert!(out.len() <= 100_000, "endless paging");
                cursor = Some(next);
            }
            None => return out,
        }
    }
}

/// What a listing of `org` by `query` holds: those of `seeded`, newest first.
fn expected(seeded: &[Event], org: &OrgId, query: &EventQuery) -> Vec<Event> {
    let mut want: Vec<Event> = seeded
        .iter()
        .filter(|e| e.org_id == *org && query.matches(e))
        .cloned()
        .collect();
    want.sort_by_key(|e| std::cmp::Reverse(e.position()));
    want
}

/// Is `event` in its organization's log? When it is, it is exactly as written.
pub(crate) async fn listed(store: &DynStore, event: &Event) -> bool {
    let query = EventQuery {
        start: Some(event.at),
        end: Some(event.at),
        member: None,
        kind: Some(event.kind),
    };
    let found = list_all(store, &event.org_id, &query, MAX_PAGE_SIZE).await;
    match found.iter().find(|e| e.id == event.id) {
        Some(e) => {
            assert_eq!(e, event, "an event reads back as written");
            true
        }
        None => false,
    }
}

/// Each of `events` is listed (`true`) or none is (`false`).
async fn assert_listed(store: &DynStore, events: &[Event], want: bool, what: &str) {
    assert!(!events.is_empty());
    for e in events {
        assert_eq!(
            listed(store, e).await,
            want,
            "{what}: its {} event {}",
            e.kind,
            if want { "is listed" } else { "is not written" }
        );
    }
}

/// Write `events` in shuffled batches of at most 25.
async fn record_shuffled(store: &DynStore, events: &[Event]) {
    let mut shuffled = events.to_vec();
    shuffled.shuffle(&mut rand::rng());
    for batch in shuffled.chunks(25) {
        store.record_events(batch).await.unwrap();
    }
}

/// 130 events in 13 seconds, ten a second, of every kind of actor and
/// detail: listed newest first (time, then id), each exactly once and as
/// written, whatever the page size; only cursors handed out are taken.
pub async fn events_are_listed_newest_first_a_page_at_a_time(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let user = UserId::generate(&mut rand::rng());
    let actors = [
        Actor::user(&user, &owner.email),
        Actor::User {
            user_id: None,
            email: Some(email("refused@acme.test")),
        },
        Actor::Operator,
        Actor::Scim,
        Actor::System,
    ];
    let ips: [Option<IpAddr>; 3] = [
        None,
        Some("203.0.113.7".parse().unwrap()),
        Some("2001:db8::1".parse().unwrap()),
    ];
    let seeded: Vec<Event> = (0..130usize)
        .map(|i| {
            let at = now() + Duration::seconds((i % 13) as i64);
            let kind = EventType::ALL[i % EventType::ALL.len()];
            let member = (i % 2 == 0).then_some(&owner.member_id);
            let mut e = event_at(&org.id, at, kind, member);
            e.actor = actors[i % actors.len()].clone();
            e.ip = ips[i % ips.len()];
            if i % 4 == 0 {
                e.details = EventDetails {
                    email: Some(owner.email.clone()),
                    role: Some(Role::Admin),
                    old_role: Some(Role::User),
                    code: Some("no_seats".into()),
                    changed: vec!["require_sso".into(), "sso".into()],
                    protocol: Some("saml".into()),
                    domain: Some("acme.test".into()),
                    via: Some("invitation".into()),
                    group: Some("Engineering".into()),
                    groups_added: vec!["eng".into(), "/ops/oncall".into()],
                    groups_removed: vec!["sales".into()],
                    key_handed_over: true,
                };
            }
            e
        })
        .collect();
    record_shuffled(&store, &seeded).await;
    let all = EventQuery::default();
    let want = expected(&seeded, &org.id, &all);
    assert_eq!(want.len(), 130);

    for limit in [MAX_PAGE_SIZE, 7, 1] {
        assert_eq!(
            list_all(&store, &org.id, &all, limit).await,
            want,
            "every event once, newest first, a page of {limit} at a time"
        );
    }
    // The limit is clamped to 1..=MAX_PAGE_SIZE.
    let one = store.events(&org.id, &all, None, 0).await.unwrap();
    assert_eq!(one.items, want[..1]);
    assert!(one.next_cursor.is_some());
    let most = store.events(&org.id, &all, None, 1_000).await.unwrap();
    assert_eq!(most.items, want[..MAX_PAGE_SIZE]);
    // A cursor continues right after its page, as often as it is used.
    let cursor = most.next_cursor.expect("30 more");
    for _ in 0..2 {
        let rest = store
            .events(&org.id, &all, Some(&cursor), MAX_PAGE_SIZE)
            .await
            .unwrap();
        assert_eq!(rest.items, want[MAX_PAGE_SIZE..]);
        assert!(rest.next_cursor.is_none());
    }
    for bad in ["not a cursor", "", "%%%", "000000000001#evt_zz"] {
        assert!(
            matches!(
                store.events(&org.id, &all, Some(bad), 10).await,
                Err(StoreError::InvalidCursor)
            ),
            "cursor {bad:?}"
        );
    }
    // An organization without events has an empty log.
    let (quiet, _, _) = seed_org(&store, SeatPlan::default()).await;
    let empty = store.events(&quiet.id, &all, None, 10).await.unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

/// Listings by time range (whole seconds, both ends included), member, type
/// and their combinations hold exactly the matching events of the
/// organization, never another's — even one about the same member id, of
/// the same type, at the same time.
pub async fn events_are_filtered_by_time_member_and_type(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let members: Vec<MemberId> = ["a", "b", "c"]
        .iter()
        .map(|n| MemberId::of(&org.id, &email(&format!("{n}@acme.test"))))
        .collect();
    let kinds = [
        EventType::MemberInvited,
        EventType::MemberRevoked,
        EventType::SsoSignedIn,
    ];
    let at = |i: usize| now() + Duration::seconds((i / 3) as i64);
    let member = |i: usize| members.get(i % 4);
    let mut seeded: Vec<Event> = (0..60)
        .map(|i| event_at(&org.id, at(i), kinds[i % 3], member(i)))
        .collect();
    seeded.extend(
        (0..60)
            .step_by(2)
            .map(|i| event_at(&other.id, at(i), kinds[i % 3], member(i))),
    );
    record_shuffled(&store, &seeded).await;

    let second = |s: i64| now() + Duration::seconds(s);
    let q = |start: Option<i64>, end: Option<i64>, m: Option<usize>, kind: Option<EventType>| {
        EventQuery {
            start: start.map(second),
            end: end.map(second),
            member: m.map(|m| members[m].clone()),
            kind,
        }
    };
    let (invited, revoked) = (Some(kinds[0]), Some(kinds[1]));
    let non_empty = [
        q(None, None, None, None),
        q(Some(5), Some(9), None, None),
        q(Some(7), Some(7), None, None),
        q(Some(15), None, None, None),
        q(None, Some(2), None, None),
        q(None, None, Some(0), None),
        q(None, None, None, invited),
        q(None, None, Some(1), revoked),
        q(Some(4), Some(15), Some(2), None),
        q(Some(4), Some(15), None, revoked),
        q(Some(2), Some(17), Some(0), invited),
    ];
    for query in &non_empty {
        let want = expected(&seeded, &org.id, query);
        assert!(!want.is_empty(), "{query:?} matches some");
        for limit in [MAX_PAGE_SIZE, 2] {
            assert_eq!(
                list_all(&store, &org.id, query, limit).await,
                want,
                "{query:?}, {limit} a page"
            );
        }
    }
    // The time range is whole seconds, both ends included.
    let seven = list_all(&store, &org.id, &q(Some(7), Some(7), None, None), 10).await;
    assert_eq!(seven.len(), 3);
    assert!(seven.iter().all(|e| e.at == second(7)));

    let stranger = MemberId::of(&org.id, &email("nobody@acme.test"));
    let empty = [
        q(Some(9), Some(5), None, None),
        q(Some(30), None, None, None),
        q(None, Some(-1), None, None),
        EventQuery {
            member: Some(stranger),
            ..EventQuery::default()
        },
        q(None, None, None, Some(EventType::DomainRemoved)),
        q(Some(1), Some(1), Some(2), None),
    ];
    for query in &empty {
        assert_eq!(expected(&seeded, &org.id, query), Vec::<Event>::new());
        let page = store.events(&org.id, query, None, 10).await.unwrap();
        assert!(
            page.items.is_empty() && page.next_cursor.is_none(),
            "{query:?}: {page:?}"
        );
    }
    // The other organization's log holds its own only.
    let all = EventQuery::default();
    assert_eq!(
        list_all(&store, &other.id, &all, 7).await,
        expected(&seeded, &other.id, &all)
    );
}

/// `record_events` writes all its events or none: a batch holding one that
/// exists is refused whole, whichever organizations it spans.
pub async fn recording_events_is_atomic(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    store.record_events(&[]).await.unwrap();
    let first = vec![
        event(&org.id, EventType::SsoRefused, None),
        event(&other.id, EventType::AuthLoginFailed, None),
    ];
    store.record_events(&first).await.unwrap();
    assert_listed(&store, &first, true, "a batch of two organizations").await;

    let fresh = vec![
        event(&org.id, EventType::SsoRefused, None),
        event(&other.id, EventType::SsoRefused, None),
    ];
    for existing in &first {
        let mut batch = fresh.clone();
        batch.insert(1, existing.clone());
        assert!(matches!(
            store.record_events(&batch).await,
            Err(StoreError::Conflict)
        ));
        assert_listed(&store, &fresh, false, "a batch holding an existing event").await;
    }
    assert!(matches!(
        store.record_events(&first[..1]).await,
        Err(StoreError::Conflict)
    ));
    let all = EventQuery::default();
    assert_eq!(list_all(&store, &org.id, &all, 10).await, first[..1]);
    store.record_events(&fresh).await.unwrap();
    assert_listed(&store, &fresh, true, "the same batch without it").await;
}

/// An organization and its owner, not stored.
fn new_org(identifier: SsoIdentifier, seats: SeatPlan) -> (Organization, Membership) {
    let mut rng = rand::rng();
    let mut org =
        Organization::new(OrgId::generate(&mut rng), "Acme", identifier, seats, now()).unwrap();
    org.occupied_seats = 1;
    let (owner, _) = Membership::invite(
        &org.id,
        email("owner@acme.test"),
        Role::Owner,
        now(),
        Duration::days(5),
        &mut rng,
    );
    (org, owner)
}

/// Creating an organization, changing its settings and adding, verifying
/// and removing a domain write their events exactly when they succeed.
pub async fn organization_writes_record_their_events_when_applied(store: DynStore) {
    let (org, owner) = new_org(unique_identifier(), SeatPlan::default());
    let created = vec![
        event(&org.id, EventType::OrgCreated, None),
        event(&org.id, EventType::MemberInvited, Some(&owner.member_id)),
    ];
    store
        .create_organization(&org, &owner, &created)
        .await
        .unwrap();
    assert_listed(&store, &created, true, "create_organization").await;
    let (twin, twin_owner) = new_org(org.sso_identifier.clone(), SeatPlan::default());
    let refused = [event(&twin.id, EventType::OrgCreated, None)];
    assert!(matches!(
        store
            .create_organization(&twin, &twin_owner, &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(
        &store,
        &refused,
        false,
        "create_organization (taken identifier)",
    )
    .await;

    let mut changed = org.clone();
    changed.policies.require_sso = true;
    changed.settings_version = 1;
    let done = [event(&org.id, EventType::PoliciesChanged, None)];
    store
        .update_organization_settings(&changed, 0, &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "update_organization_settings").await;
    let stale = [event(&org.id, EventType::PoliciesChanged, None)];
    assert!(matches!(
        store
            .update_organization_settings(&changed, 0, &stale)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(
        &store,
        &stale,
        false,
        "update_organization_settings (stale)",
    )
    .await;

    // Domains: added, verified, removed; refused or changing nothing, no event.
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let domain = DomainName::parse(&format!("{}.test", &org.id.as_str()[4..16])).unwrap();
    let mine = OrgDomain::add(org.id.clone(), domain.clone(), now(), &mut rand::rng());
    let done = [event(&org.id, EventType::DomainAdded, None)];
    store.add_domain(&mine, &done).await.unwrap();
    assert_listed(&store, &done, true, "add_domain").await;
    let refused = [event(&org.id, EventType::DomainAdded, None)];
    assert!(matches!(
        store.add_domain(&mine, &refused).await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "add_domain (added already)").await;

    let theirs = OrgDomain::add(other.id.clone(), domain.clone(), now(), &mut rand::rng());
    let done = [event(&other.id, EventType::DomainAdded, None)];
    store.add_domain(&theirs, &done).await.unwrap();
    assert_listed(&store, &done, true, "add_domain (another organization)").await;
    let done = [event(&org.id, EventType::DomainVerified, None)];
    store
        .verify_domain(&mine.checked(now(), true), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "verify_domain").await;
    let refused = [event(&other.id, EventType::DomainVerified, None)];
    assert!(matches!(
        store
            .verify_domain(&theirs.checked(now(), true), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "verify_domain (another's)").await;

    let done = [event(&org.id, EventType::DomainRemoved, None)];
    assert!(store.remove_domain(&org.id, &domain, &done).await.unwrap());
    assert_listed(&store, &done, true, "remove_domain").await;
    let refused = [event(&org.id, EventType::DomainRemoved, None)];
    assert!(
        !store
            .remove_domain(&org.id, &domain, &refused)
            .await
            .unwrap()
    );
    assert_listed(&store, &refused, false, "remove_domain (gone)").await;
}

/// Every membership write records its events exactly when it succeeds:
/// nothing of a `Conflict` or `NoSeats`.
pub async fn membership_writes_record_their_events_when_applied(store: DynStore) {
    use EventType::*;
    let (org, _, _) = seed_org(&store, limit(3)).await;
    let ev = |kind, m: &Membership| vec![event(&org.id, kind, Some(&m.member_id))];

    // add_memberships: applied, an existing member (Conflict), too many (NoSeats).
    let (a, _) = invitee(&org, "a@acme.test");
    let done = ev(MemberInvited, &a);
    store
        .add_memberships(&org, std::slice::from_ref(&a), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "add_memberships").await;
    let org = org_now(&store, &org).await;
    let (again, _) = invitee(&org, "a@acme.test");
    let refused = ev(MemberInvited, &again);
    assert!(matches!(
        store.add_memberships(&org, &[again], &refused).await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "add_memberships (exists)").await;
    let (c, _) = invitee(&org, "c@acme.test");
    let (d, _) = invitee(&org, "d@acme.test");
    let refused = [ev(MemberInvited, &c), ev(MemberInvited, &d)].concat();
    assert!(matches!(
        store
            .add_memberships(&org, &[c.clone(), d.clone()], &refused)
            .await,
        Err(StoreError::NoSeats)
    ));
    assert_listed(&store, &refused, false, "add_memberships (no seats)").await;

    // update_membership: applied, then stale.
    let mut reinvited = a.clone();
    reinvited
        .reinvite(now(), Duration::days(5), &mut rand::rng())
        .unwrap();
    let done = ev(MemberReinvited, &a);
    store
        .update_membership(&reinvited, &Expected::as_read(&a), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "update_membership").await;
    let refused = ev(MemberReinvited, &a);
    assert!(matches!(
        store
            .update_membership(&reinvited, &Expected::as_read(&a), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "update_membership (stale)").await;

    // update_membership_seat: revoke, a stale revoke, a restore without a seat.
    let mut revoked = reinvited.clone();
    revoked.revoke().unwrap();
    let done = ev(MemberRevoked, &a);
    store
        .update_membership_seat(&org, &revoked, &Expected::as_read(&reinvited), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "update_membership_seat").await;
    let org = org_now(&store, &org).await;
    let refused = ev(MemberRevoked, &a);
    assert!(matches!(
        store
            .update_membership_seat(&org, &revoked, &Expected::as_read(&reinvited), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "update_membership_seat (stale)").await;
    store
        .add_memberships(&org, &[c.clone(), d.clone()], &[])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    let mut restored = revoked.clone();
    restored.restore().unwrap();
    let refused = ev(MemberRestored, &a);
    assert!(matches!(
        store
            .update_membership_seat(&org, &restored, &Expected::as_read(&revoked), &refused)
            .await,
        Err(StoreError::NoSeats)
    ));
    assert_listed(&store, &refused, false, "update_membership_seat (no seats)").await;

    // remove_membership: applied, then again.
    let done = ev(MemberRemoved, &a);
    store
        .remove_membership(&revoked, &Expected::as_read(&revoked), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "remove_membership").await;
    let refused = ev(MemberRemoved, &a);
    assert!(matches!(
        store
            .remove_membership(&revoked, &Expected::as_read(&revoked), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "remove_membership (gone)").await;

    // accept_membership: applied with a new account; another account of the
    // same email (Conflict); a stale membership (Conflict).
    let carol = account("c@acme.test");
    let mut accepted = c.clone();
    accepted.accept(carol.id.clone(), now()).unwrap();
    let done = ev(MemberAccepted, &c);
    store
        .accept_membership(&accepted, &Expected::as_read(&c), Some(&carol), &done)
        .await
        .unwrap();
    assert_listed(&store, &done, true, "accept_membership").await;
    let twin = account("c@acme.test");
    let mut d_accepted = d.clone();
    d_accepted.accept(twin.id.clone(), now()).unwrap();
    let refused = ev(MemberAccepted, &d);
    assert!(matches!(
        store
            .accept_membership(&d_accepted, &Expected::as_read(&d), Some(&twin), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(
        &store,
        &refused,
        false,
        "accept_membership (email has an account)",
    )
    .await;
    let refused = ev(MemberAccepted, &c);
    assert!(matches!(
        store
            .accept_membership(&accepted, &Expected::as_read(&c), None, &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "accept_membership (stale)").await;
}

/// Each sign-in write (every [`SignInWrite`]), sessions, setup grants and
/// the setup step record their events exactly when they succeed.
pub async fn sign_in_writes_record_their_events_when_applied(store: DynStore) {
    use EventType::*;
    let (org, _, _) = seed_org(&store, limit(4)).await;
    let ev = |kind, m: &MemberId| vec![event(&org.id, kind, Some(m))];

    // Link: an account exists (alice accepted her invitation).
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
    let linking = SignInWrite::Link {
        link: link(&org, "sub-alice", &alice.id),
        membership: Some(accepted.clone()),
    };
    let done = ev(SsoLinked, &m.member_id);
    store.apply_sign_in(&linking, &done).await.unwrap();
    assert_listed(&store, &done, true, "apply_sign_in (Link)").await;
    let refused = ev(SsoLinked, &m.member_id);
    assert!(matches!(
        store.apply_sign_in(&linking, &refused).await,
        Err(StoreError::Conflict)
    ));
    assert_listed(
        &store,
        &refused,
        false,
        "apply_sign_in (Link, linked already)",
    )
    .await;

    // CreateAccountForInvitation, then a second identity for it.
    let (j, _) = invitee(&org, "jit@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&j), &[])
        .await
        .unwrap();
    let for_invitation = |external: &str| {
        let mut a = account("jit@acme.test");
        a.master_password = None;
        let mut linked = j.clone();
        linked.user_id = Some(a.id.clone());
        SignInWrite::CreateAccountForInvitation {
            link: link(&org, external, &a.id),
            account: a,
            membership: linked,
            expected: Expected::as_read(&j),
        }
    };
    let done = ev(SsoLinked, &j.member_id);
    store
        .apply_sign_in(&for_invitation("sub-jit"), &done)
        .await
        .unwrap();
    assert_listed(
        &store,
        &done,
        true,
        "apply_sign_in (CreateAccountForInvitation)",
    )
    .await;
    let refused = ev(SsoLinked, &j.member_id);
    assert!(matches!(
        store
            .apply_sign_in(&for_invitation("sub-jit-2"), &refused)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_listed(
        &store,
        &refused,
        false,
        "apply_sign_in (CreateAccountForInvitation, taken)",
    )
    .await;

    // CreateAccountAndMembership takes the last seat; the next finds none.
    let org = org_now(&store, &org).await;
    let just_in_time = |org: &Organization, address: &str, external: &str| {
        let mut a = account(address);
        a.master_password = None;
        let m = Membership::just_in_time(&org.id, a.email.clone(), a.id.clone(), now());
        let w = SignInWrite::CreateAccountAndMembership {
            org: org.clone(),
            link: link(org, external, &a.id),
            account: a.clone(),
            membership: m.clone(),
        };
        (w, a, m)
    };
    let (w, newcomer, jm) = just_in_time(&org, "new@acme.test", "sub-new");
    let done = ev(SsoJitCreated, &jm.member_id);
    store.apply_sign_in(&w, &done).await.unwrap();
    assert_listed(
        &store,
        &done,
        true,
        "apply_sign_in (CreateAccountAndMembership)",
    )
    .await;
    let org = org_now(&store, &org).await;
    let (full, _, late) = just_in_time(&org, "late@acme.test", "sub-late");
    let refused = ev(SsoJitCreated, &late.member_id);
    assert!(matches!(
        store.apply_sign_in(&full, &refused).await,
        Err(StoreError::NoSeats)
    ));
    assert_listed(
        &store,
        &refused,
        false,
        "apply_sign_in (CreateAccountAndMembership, no seats)",
    )
    .await;

    // A session, a setup grant, the setup step once.
    let (session, _) = Session::start(newcomer.id.clone(), None, now(), &mut rand::rng());
    let done = ev(SsoSignedIn, &jm.member_id);
    store.put_session(&session, &done).await.unwrap();
    assert_listed(&store, &done, true, "put_session").await;
    let (grant, _) = SetupGrant::issue(
        org.id.clone(),
        jm.member_id.clone(),
        newcomer.id.clone(),
        now(),
        &mut rand::rng(),
    );
    let done = ev(SsoSignedIn, &jm.member_id);
    store.put_setup_grant(&grant, &done).await.unwrap();
    assert_listed(&store, &done, true, "put_setup_grant").await;
    let mut set_up = jm.clone();
    set_up.accept(newcomer.id.clone(), now()).unwrap();
    let mut with_password = newcomer.clone();
    with_password.master_password = Some(MasterPassword {
        verifier: "$argon2id$set".into(),
        kdf: Kdf::DEFAULT,
    });
    let setup = |events: Vec<Event>| {
        let (store, grant, set_up, jm, with_password) = (
            store.clone(),
            grant.digest,
            set_up.clone(),
            jm.clone(),
            with_password.clone(),
        );
        async move {
            store
                .complete_setup(
                    &grant,
                    &set_up,
                    &Expected::as_read(&jm),
                    &with_password,
                    &events,
                )
                .await
        }
    };
    let done = ev(MemberAccepted, &jm.member_id);
    setup(done.clone()).await.unwrap();
    assert_listed(&store, &done, true, "complete_setup").await;
    let refused = ev(MemberAccepted, &jm.member_id);
    assert!(matches!(
        setup(refused.clone()).await,
        Err(StoreError::Conflict)
    ));
    assert_listed(&store, &refused, false, "complete_setup (used)").await;
}

/// With 10,000 events of one organization over 2,500 seconds (and 1,000 of
/// another at the same times, about the same member ids), a page of 100 —
/// the newest, in a time range, of one member, of one type, and the page
/// after each — reads at most about twice the page, and holds exactly the
/// right events. Not in [`crate::contract_tests!`]: each store calls it with
/// its own meter of items read (`items_read`) and its own way of writing
/// the events (`seed`); `tests/contract_guard.rs` holds both backends to
/// calling it.
pub async fn listing_events_costs_a_page_not_the_history(
    store: DynStore,
    items_read: impl Fn() -> u64,
    seed: impl AsyncFn(&[Event]),
) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let members: Vec<MemberId> = (0..20)
        .map(|k| MemberId::of(&org.id, &email(&format!("m{k}@acme.test"))))
        .collect();
    let make = |owner: &Organization, i: usize| {
        let at = now() + Duration::seconds((i / 4) as i64);
        let kind = EventType::ALL[i % EventType::ALL.len()];
        event_at(&owner.id, at, kind, members.get(i % 25))
    };
    let mut seeded: Vec<Event> = (0..10_000).map(|i| make(&org, i)).collect();
    seeded.extend((0..10_000).step_by(10).map(|i| make(&other, i)));
    seeded.shuffle(&mut rand::rng());
    seed(&seeded).await;

    let page = MAX_PAGE_SIZE as u64;
    let queries = [
        ("every event", EventQuery::default()),
        (
            "a time range",
            EventQuery {
                start: Some(now() + Duration::seconds(1_000)),
                end: Some(now() + Duration::seconds(1_199)),
                ..EventQuery::default()
            },
        ),
        (
            "one member",
            EventQuery {
                member: Some(members[3].clone()),
                ..EventQuery::default()
            },
        ),
        (
            "one type",
            EventQuery {
                kind: Some(EventType::MemberRevoked),
                ..EventQuery::default()
            },
        ),
    ];
    for (what, query) in &queries {
        let want = expected(&seeded, &org.id, query);
        assert!(
            want.len() > 2 * MAX_PAGE_SIZE,
            "{what}: {} events",
            want.len()
        );
        let mut cursor: Option<String> = None;
        for n in 0..2 {
            let before = items_read();
            let got = store
                .events(&org.id, query, cursor.as_deref(), MAX_PAGE_SIZE)
                .await
                .unwrap();
            let read = items_read() - before;
            assert_eq!(
                got.items,
                want[n * MAX_PAGE_SIZE..(n + 1) * MAX_PAGE_SIZE],
                "{what}: page {n}"
            );
            assert!(
                read <= 2 * page + 10,
                "{what}: page {n} of {page} read {read} items of 11,000"
            );
            cursor = Some(got.next_cursor.expect("more pages"));
        }
    }
}
