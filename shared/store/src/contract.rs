//! The contract every [`Store`] implementation passes. Each implementation's
//! tests invoke [`crate::contract_tests!`] with a constructor of a fresh store.

use crate::{Expected, MAX_NEW_MEMBERSHIPS_PER_WRITE, SignInWrite, Store, StoreError};
use admit_domain::{
    Account, AdminDigest, ClaimedMail, Email, InvitationToken, Kdf, MasterPassword, MemberId,
    Membership, OrgId, Organization, OwedKind, Role, SeatPlan, Secret, Session, SsoIdentifier,
    Status, Timestamp, UserId,
};
use std::sync::Arc;
use time::Duration;

pub type DynStore = Arc<dyn Store>;

/// Generates one `#[tokio::test]` per contract check, each on a fresh store
/// made by the async closure `$make` (`async || -> impl Store`).
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@each $make;
            organizations_are_unique_by_sso_identifier,
            settings_change_without_touching_seats,
            invitations_take_seats_atomically,
            an_existing_membership_is_never_overwritten,
            updates_are_conditional_on_what_was_read,
            revoking_frees_a_seat_and_restoring_takes_one,
            removing_a_member_frees_its_seat,
            accepting_creates_the_account_in_the_same_write,
            emails_with_accounts_are_found_in_batches,
            listing_pages_through_every_membership,
            memberships_of_a_user,
            sessions_round_trip,
            pending_sign_ins_are_used_once,
            assertions_are_consumed_once_until_they_expire,
            owed_mail_is_found_when_due_and_claimed_once,
            admin_digests_are_claimed_once,
            domains_are_claimed_by_one_organization,
            identity_links_are_unique,
            sign_in_creates_the_invited_account_atomically,
            sign_in_creates_account_and_membership_taking_a_seat,
            setup_completes_once,
            race_twenty_accepts_of_one_invitation,
            race_thirty_invitations_for_ten_seats,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = ($make)().await;
                $crate::contract::$name(::std::sync::Arc::new(store)).await;
            }
        )*
    };
}

fn now() -> Timestamp {
    Timestamp::from_unix(1_800_000_000)
}

/// A seat plan of `n` seats, no autoscaling.
fn limit(n: u32) -> SeatPlan {
    SeatPlan {
        limit: Some(n),
        autoscale_max: None,
    }
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn unique_identifier() -> SsoIdentifier {
    let id = OrgId::generate(&mut rand::rng());
    SsoIdentifier::parse(&format!("t-{}", &id.as_str()[4..20])).unwrap()
}

/// A new organization (owner included) stored in `store`.
pub async fn seed_org(
    store: &DynStore,
    seats: SeatPlan,
) -> (Organization, Membership, InvitationToken) {
    let mut rng = rand::rng();
    let mut org = Organization::new(
        OrgId::generate(&mut rng),
        "Acme",
        unique_identifier(),
        seats,
        now(),
    )
    .unwrap();
    let (owner, token) = Membership::invite(
        &org.id,
        email("owner@acme.test"),
        Role::Owner,
        now(),
        Duration::days(5),
        &mut rng,
    );
    org.occupied_seats = 1;
    store.create_organization(&org, &owner).await.unwrap();
    (org, owner, token)
}

fn invitee(org: &Organization, address: &str) -> (Membership, InvitationToken) {
    Membership::invite(
        &org.id,
        email(address),
        Role::User,
        now(),
        Duration::days(5),
        &mut rand::rng(),
    )
}

fn account(address: &str) -> Account {
    Account {
        id: UserId::generate(&mut rand::rng()),
        email: email(address),
        name: None,
        master_password: Some(MasterPassword {
            verifier: "$argon2id$test".into(),
            kdf: Kdf::DEFAULT,
        }),
        keys: None,
        devices: Vec::new(),
        created_at: now(),
    }
}

async fn org_now(store: &DynStore, org: &Organization) -> Organization {
    store
        .organization(&org.id)
        .await
        .unwrap()
        .expect("organization exists")
}

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

pub async fn invitations_take_seats_atomically(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(4)).await;
    let a = invitee(&org, "a@acme.test").0;
    let b = invitee(&org, "b@acme.test").0;
    store
        .add_memberships(&org, &[a.clone(), b.clone()])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 3);

    // Two more do not fit into the one seat left: nothing is written.
    let c = invitee(&org, "c@acme.test").0;
    let d = invitee(&org, "d@acme.test").0;
    assert!(matches!(
        store.add_memberships(&org, &[c.clone(), d.clone()]).await,
        Err(StoreError::NoSeats)
    ));
    assert_eq!(org_now(&store, &org).await.occupied_seats, 3);
    assert!(
        store
            .memberships(&org.id, &[c.member_id.clone(), d.member_id.clone()])
            .await
            .unwrap()
            .is_empty()
    );

    store
        .add_memberships(&org, std::slice::from_ref(&c))
        .await
        .unwrap();
    let got = store
        .memberships(
            &org.id,
            &[
                a.member_id.clone(),
                c.member_id.clone(),
                d.member_id.clone(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(org_now(&store, &org).await.occupied_seats, 4);

    // Autoscale lets the organization grow to its ceiling.
    let (org, _, _) = seed_org(
        &store,
        SeatPlan {
            limit: Some(1),
            autoscale_max: Some(3),
        },
    )
    .await;
    let many: Vec<_> = (0..2)
        .map(|i| invitee(&org, &format!("m{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &many).await.unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(
        (org.occupied_seats, org.seats.subscribed(org.occupied_seats)),
        (3, Some(3))
    );
    assert!(matches!(
        store
            .add_memberships(&org, &[invitee(&org, "x@acme.test").0])
            .await,
        Err(StoreError::NoSeats)
    ));

    // The largest batch is one write.
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let batch: Vec<_> = (0..MAX_NEW_MEMBERSHIPS_PER_WRITE)
        .map(|i| invitee(&org, &format!("u{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &batch).await.unwrap();
    assert_eq!(
        org_now(&store, &org).await.occupied_seats as usize,
        MAX_NEW_MEMBERSHIPS_PER_WRITE + 1
    );
}

pub async fn an_existing_membership_is_never_overwritten(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let a = invitee(&org, "a@acme.test").0;
    store
        .add_memberships(&org, std::slice::from_ref(&a))
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    // A batch holding one existing member is refused whole.
    let (again, _) = invitee(&org, "a@acme.test");
    let b = invitee(&org, "b@acme.test").0;
    assert!(matches!(
        store.add_memberships(&org, &[b.clone(), again]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(a)
    );
    assert_eq!(store.membership(&org.id, &b.member_id).await.unwrap(), None);
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);
    let (owner_again, _) = Membership::invite(
        &org.id,
        owner.email.clone(),
        Role::User,
        now(),
        Duration::days(5),
        &mut rand::rng(),
    );
    assert!(matches!(
        store.add_memberships(&org, &[owner_again]).await,
        Err(StoreError::Conflict)
    ));
}

pub async fn updates_are_conditional_on_what_was_read(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "a@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let as_read = Expected::as_read(&m);

    // A reinvite replaces the token; a write computed from the old one is refused.
    let mut reinvited = m.clone();
    reinvited
        .reinvite(now(), Duration::days(5), &mut rand::rng())
        .unwrap();
    store.update_membership(&reinvited, &as_read).await.unwrap();
    let mut stale = m.clone();
    stale.invitation.as_mut().unwrap().mark_sent();
    assert!(matches!(
        store.update_membership(&stale, &as_read).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(reinvited.clone())
    );

    // A status that moved on refuses a write expecting the old one.
    let mut accepted = reinvited.clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .update_membership(&accepted, &Expected::as_read(&reinvited))
        .await
        .unwrap();
    let mut confirmed = accepted.clone();
    confirmed.confirm("key".into(), now()).unwrap();
    assert!(matches!(
        store
            .update_membership(&confirmed, &Expected::as_read(&reinvited))
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .update_membership(&confirmed, &Expected::as_read(&accepted))
        .await
        .unwrap();
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(confirmed)
    );

    // A membership that does not exist is not created by an update.
    let (ghost, _) = invitee(&org, "ghost@acme.test");
    assert!(matches!(
        store
            .update_membership(&ghost, &Expected::as_read(&ghost))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.membership(&org.id, &ghost.member_id).await.unwrap(),
        None
    );
}

pub async fn emails_with_accounts_are_found_in_batches(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    // `h0` sorts before every `n…` email and `z9` after them all, so however
    // a store orders and splits the 150, they are in different round trips.
    let holders = ["h0@acme.test", "z9@acme.test", "h2@acme.test"];
    for h in holders {
        let (m, _) = invitee(&org, h);
        store
            .add_memberships(&org, std::slice::from_ref(&m))
            .await
            .unwrap();
        let acct = account(h);
        let mut accepted = m.clone();
        accepted.accept(acct.id.clone(), now()).unwrap();
        store
            .accept_membership(&accepted, &Expected::as_read(&m), Some(&acct))
            .await
            .unwrap();
    }
    // 150 asked (past one round trip's 100), a holder on each side of the
    // boundary and one asked twice; an invitee without an account is not one.
    let mut asked: Vec<Email> = (0..147)
        .map(|i| email(&format!("n{i:03}@acme.test")))
        .collect();
    asked.insert(3, email(holders[0]));
    asked.insert(120, email(holders[1]));
    asked.push(email(holders[1]));
    let (pending, _) = invitee(&org, "pending@acme.test");
    store.add_memberships(&org, &[pending]).await.unwrap();
    asked.push(email("pending@acme.test"));
    let found = store.emails_with_accounts(&asked).await.unwrap();
    let expected: std::collections::HashSet<Email> =
        [email(holders[0]), email(holders[1])].into_iter().collect();
    assert_eq!(found, expected);
    assert!(store.emails_with_accounts(&[]).await.unwrap().is_empty());
}

pub async fn accepting_creates_the_account_in_the_same_write(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (a, _) = invitee(&org, "a@acme.test");
    let (b, _) = invitee(&org, "b@acme.test");
    store
        .add_memberships(&org, &[a.clone(), b.clone()])
        .await
        .unwrap();

    let alice = account("a@acme.test");
    let mut accepted = a.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&a), Some(&alice))
        .await
        .unwrap();
    assert_eq!(store.account(&alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(
        store.account_by_email(&alice.email).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.membership(&org.id, &a.member_id).await.unwrap(),
        Some(accepted)
    );

    // A second account for the same email is refused, and the membership stays invited.
    let twin = account("a@acme.test");
    let mut b_accepted = b.clone();
    b_accepted.accept(twin.id.clone(), now()).unwrap();
    assert!(matches!(
        store
            .accept_membership(&b_accepted, &Expected::as_read(&b), Some(&twin))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&twin.id).await.unwrap(), None);
    assert_eq!(
        store.membership(&org.id, &b.member_id).await.unwrap(),
        Some(b.clone())
    );

    // A stale membership refuses the account too.
    let bob = account("b@acme.test");
    let mut wrong = b.clone();
    wrong.accept(bob.id.clone(), now()).unwrap();
    let stale = Expected {
        status: Status::Accepted,
        invitation: None,
        mail: None,
    };
    assert!(matches!(
        store.accept_membership(&wrong, &stale, Some(&bob)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account_by_email(&bob.email).await.unwrap(), None);

    // An existing account accepts without creating one.
    let mut by_alice = b.clone();
    by_alice.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&by_alice, &Expected::as_read(&b), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .membership(&org.id, &b.member_id)
            .await
            .unwrap()
            .unwrap()
            .user_id,
        Some(alice.id)
    );
}

pub async fn listing_pages_through_every_membership(store: DynStore) {
    let (org, owner, _) = seed_org(&store, SeatPlan::default()).await;
    let mut all: Vec<Membership> = (0..7)
        .map(|i| invitee(&org, &format!("p{i}@acme.test")).0)
        .collect();
    store.add_memberships(&org, &all).await.unwrap();
    let mut accepted = all[0].clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .update_membership(&accepted, &Expected::as_read(&all[0]))
        .await
        .unwrap();
    all[0] = accepted.clone();
    all.push(owner);
    // Another organization's members never show.
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    store
        .add_memberships(&other, &[invitee(&other, "p0@acme.test").0])
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_memberships(&org.id, None, cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut ids: Vec<_> = seen.iter().map(|m| m.member_id.clone()).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s
    };
    assert_eq!(ids, sorted, "listing is in member-id order");
    ids.dedup();
    assert_eq!(ids.len(), 8);
    let mut expected: Vec<_> = all.iter().map(|m| m.member_id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected);

    let only_accepted = store
        .list_memberships(&org.id, Some(Status::Accepted), None, 50)
        .await
        .unwrap();
    assert_eq!(only_accepted.items, vec![accepted]);
    assert!(only_accepted.next_cursor.is_none());
    assert!(matches!(
        store
            .list_memberships(&org.id, None, Some("not a cursor"), 3)
            .await,
        Err(StoreError::InvalidCursor)
    ));
}

pub async fn memberships_of_a_user(store: DynStore) {
    let alice = account("alice@acme.test");
    let mut orgs = Vec::new();
    for (i, _) in [0, 1].iter().enumerate() {
        let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
        let (m, _) = invitee(&org, "alice@acme.test");
        store
            .add_memberships(&org, std::slice::from_ref(&m))
            .await
            .unwrap();
        let mut accepted = m.clone();
        accepted.accept(alice.id.clone(), now()).unwrap();
        let create = if i == 0 { Some(&alice) } else { None };
        store
            .accept_membership(&accepted, &Expected::as_read(&m), create)
            .await
            .unwrap();
        orgs.push(accepted);
    }
    let mut mine = store.memberships_of_user(&alice.id).await.unwrap();
    mine.sort_by(|a, b| a.org_id.cmp(&b.org_id));
    orgs.sort_by(|a, b| a.org_id.cmp(&b.org_id));
    assert_eq!(mine, orgs);
    assert!(
        store
            .memberships_of_user(&UserId::generate(&mut rand::rng()))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn sessions_round_trip(store: DynStore) {
    let (s, token) = Session::start(
        UserId::generate(&mut rand::rng()),
        None,
        now(),
        &mut rand::rng(),
    );
    store.put_session(&s).await.unwrap();
    assert_eq!(
        store.session(&token.digest()).await.unwrap(),
        Some(s.clone())
    );
    store.delete_session(&s.digest).await.unwrap();
    assert_eq!(store.session(&token.digest()).await.unwrap(), None);
    store.delete_session(&s.digest).await.unwrap();
}

pub async fn race_twenty_accepts_of_one_invitation(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "racer@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, m) = (store.clone(), m.clone());
            tokio::spawn(async move {
                let acct = account("racer@acme.test");
                let mut accepted = m.clone();
                accepted.accept(acct.id.clone(), now()).unwrap();
                store
                    .accept_membership(&accepted, &Expected::as_read(&m), Some(&acct))
                    .await
                    .map(|()| acct.id)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => winners.push(id),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one accept wins");
    let stored = store
        .membership(&org.id, &m.member_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.user_id.as_ref(), Some(&winners[0]));
    let acct = store.account_by_email(&m.email).await.unwrap().unwrap();
    assert_eq!(acct.id, winners[0]);
}

pub async fn race_thirty_invitations_for_ten_seats(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(11)).await;
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (store, org) = (store.clone(), org.clone());
            tokio::spawn(async move {
                let (m, _) = invitee(&org, &format!("seat{i}@acme.test"));
                // Like the use case: re-read and retry when the write conflicts.
                let mut org = org;
                for _ in 0..50 {
                    match store.add_memberships(&org, std::slice::from_ref(&m)).await {
                        Err(StoreError::Conflict) => {
                            org = store.organization(&org.id).await.unwrap().unwrap()
                        }
                        other => return other,
                    }
                }
                Err(StoreError::Conflict)
            })
        })
        .collect();
    let (mut ok, mut no_seats) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::NoSeats) => no_seats += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, no_seats), (10, 20));
    let org = store.organization(&org.id).await.unwrap().unwrap();
    assert_eq!(org.occupied_seats, 11);
    let listed = store
        .list_memberships(&org.id, Some(Status::Invited), None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 11, "the owner and exactly ten invitees");
}

fn link(org: &Organization, external: &str, user: &UserId) -> admit_domain::IdentityLink {
    admit_domain::IdentityLink {
        org_id: org.id.clone(),
        external_id: admit_domain::ExternalId::parse(external).unwrap(),
        user_id: user.clone(),
        linked_at: now(),
    }
}

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

pub async fn owed_mail_is_found_when_due_and_claimed_once(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "owed@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let lease_end = m.mail.unwrap().due_at;
    async fn due_in(store: &DynStore, member: &MemberId, at: Timestamp) -> Vec<Membership> {
        let found = store.due_memberships(at, 100).await.unwrap();
        found
            .into_iter()
            .filter(|d| d.member_id == *member)
            .collect()
    }
    let due = |at| due_in(&store, &m.member_id, at);
    // The inviting request holds the first attempt: due only when its lease ends.
    assert!(due(now()).await.is_empty());
    assert_eq!(due(lease_end).await, vec![m.clone()]);

    // Of ten concurrent claims of the same owed email, one wins.
    let later = lease_end + Duration::minutes(1);
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let (store, m) = (store.clone(), m.clone());
            tokio::spawn(async move {
                let mut claimed = m.clone();
                let claim = claimed.claim_mail(later, &mut rand::rng());
                assert!(matches!(claim, Some(ClaimedMail::Invitation(_))));
                store
                    .update_membership(&claimed, &Expected::with_mail(&m))
                    .await
                    .map(|()| claimed)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for c in claims {
        match c.await.unwrap() {
            Ok(claimed) => winners.push(claimed),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    let claimed = winners.pop().unwrap();
    assert!(due(later).await.is_empty(), "claimed: leased");

    // Sent: the first reminder is owed next, due two days after the invitation.
    let mut sent = claimed.clone();
    sent.mail_sent(&org.reminder_days, later);
    store
        .update_membership(&sent, &Expected::with_mail(&claimed))
        .await
        .unwrap();
    let reminder = sent.mail.unwrap();
    assert_eq!(reminder.due_at, now() + Duration::days(2));
    assert_eq!(due(reminder.due_at).await, vec![sent.clone()]);
    // Recording the same send again finds the email moved on.
    assert!(matches!(
        store
            .update_membership(&sent, &Expected::with_mail(&claimed))
            .await,
        Err(StoreError::Conflict)
    ));
    // Accepted: the reminder is replaced by the notice to administrators.
    let mut accepted = sent.clone();
    accepted
        .accept(UserId::generate(&mut rand::rng()), now())
        .unwrap();
    store
        .accept_membership(
            &accepted,
            &Expected::as_read(&sent),
            Some(&account("owed@acme.test")),
        )
        .await
        .unwrap();
    let found = due(now() + Duration::days(30)).await;
    assert_eq!(found, vec![accepted.clone()]);
    assert_eq!(
        found[0].mail.map(|o| o.kind),
        Some(OwedKind::AwaitingConfirmation)
    );
    // Removed: nothing is owed any more, and nothing is found.
    store
        .remove_membership(&accepted, &Expected::with_mail(&accepted))
        .await
        .unwrap();
    assert!(due(now() + Duration::days(30)).await.is_empty());
}

pub async fn admin_digests_are_claimed_once(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(store.admin_digest(&org.id).await.unwrap(), None);
    let fresh = AdminDigest::new(org.id.clone());
    // Of ten concurrent first claims, one wins.
    let until = now() + Duration::minutes(5);
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let (store, claimed) = (store.clone(), fresh.claimed(until));
            tokio::spawn(async move { store.put_admin_digest(&claimed, 0).await })
        })
        .collect();
    let mut wins = 0;
    for c in claims {
        match c.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(wins, 1, "exactly one first claim wins");
    let claimed = store.admin_digest(&org.id).await.unwrap().unwrap();
    assert_eq!(claimed, fresh.claimed(until));
    // A writer that read the record before the claim is refused.
    assert!(matches!(
        store.put_admin_digest(&fresh.claimed(until), 0).await,
        Err(StoreError::Conflict)
    ));
    // The claimant records the send; a second record of it is refused.
    let sent = claimed.sent(now());
    store
        .put_admin_digest(&sent, claimed.version)
        .await
        .unwrap();
    assert!(matches!(
        store.put_admin_digest(&sent, claimed.version).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.admin_digest(&org.id).await.unwrap(), Some(sent));
    // Another organization's record is its own.
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    assert_eq!(store.admin_digest(&other.id).await.unwrap(), None);
    // The record is never a membership.
    let listed = store
        .list_memberships(&org.id, None, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "only the owner: {listed:?}");
}

/// With 10,000 invitations of which 10 owe an email now, finding them reads
/// about 10 items. Not in [`contract_tests!`]: each store calls it with its
/// own way of writing the 10,000 (`seed` writes memberships of `org`; the
/// store's conditional writes are what the other checks are for).
pub async fn finding_due_mail_costs_what_is_due_not_the_table(
    store: DynStore,
    seed: impl AsyncFn(&Organization, &[Membership]),
) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let mut rng = rand::rng();
    let invite = |i: usize, at: Timestamp, rng: &mut rand::rngs::ThreadRng| {
        Membership::invite(
            &org.id,
            email(&format!("m{i}@acme.test")),
            Role::User,
            at,
            Duration::days(5),
            rng,
        )
        .0
    };
    let all: Vec<Membership> = (0..10_000).map(|i| invite(i, now(), &mut rng)).collect();
    seed(&org, &all).await;
    // Ten invited an hour earlier: their first attempt's lease has run out.
    let earlier = now() - Duration::hours(1);
    let due_now: Vec<Membership> = (10_000..10_010)
        .map(|i| invite(i, earlier, &mut rng))
        .collect();
    seed(&org, &due_now).await;

    let before = store.items_read();
    let found = store
        .due_memberships(now() + Duration::minutes(1), 100)
        .await
        .unwrap();
    let read = store.items_read() - before;
    let mut ids: Vec<_> = found.iter().map(|m| m.member_id.clone()).collect();
    ids.sort();
    let mut want: Vec<_> = due_now.iter().map(|m| m.member_id.clone()).collect();
    want.sort();
    assert_eq!(ids, want, "exactly the ten due");
    assert!(read <= 20, "read {read} items to find 10 of 10,010");
}

pub async fn identity_links_are_unique(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (m, _) = invitee(&org, "linked@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let alice = account("linked@acme.test");
    let mut accepted = m.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&m), Some(&alice))
        .await
        .unwrap();

    let l = link(&org, "sub-alice", &alice.id);
    assert_eq!(
        store.identity_link(&org.id, &l.external_id).await.unwrap(),
        None
    );
    store
        .apply_sign_in(&SignInWrite::Link {
            link: l.clone(),
            membership: None,
        })
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
        store.apply_sign_in(&again).await,
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
        store.apply_sign_in(&ghost).await,
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
        .add_memberships(&org, std::slice::from_ref(&m2))
        .await
        .unwrap();
    let bob = account("second@acme.test");
    let mut bob_in = m2.clone();
    bob_in.accept(bob.id.clone(), now()).unwrap();
    store
        .accept_membership(&bob_in, &Expected::as_read(&m2), Some(&bob))
        .await
        .unwrap();
    let mut confirmed = bob_in.clone();
    confirmed.confirm("k".into(), now()).unwrap();
    let stale = SignInWrite::Link {
        link: link(&org, "sub-bob", &bob.id),
        membership: Some(confirmed.clone()),
    };
    assert!(
        matches!(store.apply_sign_in(&stale).await, Err(StoreError::Conflict)),
        "bob was never confirmed"
    );
    store
        .update_membership(&confirmed, &Expected::as_read(&bob_in))
        .await
        .unwrap();
    let fresh = SignInWrite::Link {
        link: link(&org, "sub-bob", &bob.id),
        membership: Some(confirmed),
    };
    store.apply_sign_in(&fresh).await.unwrap();
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
        .add_memberships(&org, std::slice::from_ref(&m))
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
    let (r1, r2) = tokio::join!(async move { s1.apply_sign_in(&w1).await }, async move {
        s2.apply_sign_in(&w2).await
    });
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
        store.apply_sign_in(&write("sub-other")).await,
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
    let (r1, r2) = tokio::join!(async move { s1.apply_sign_in(&w1).await }, async move {
        s2.apply_sign_in(&w2).await
    });
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
        store.apply_sign_in(&full).await,
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
    store.apply_sign_in(&w).await.unwrap();
    let (grant, token) = admit_domain::SetupGrant::issue(
        org.id.clone(),
        m.member_id.clone(),
        a.id.clone(),
        now(),
        &mut rand::rng(),
    );
    store.put_setup_grant(&grant).await.unwrap();
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
            .complete_setup(&grant.digest, &accepted, &Expected::as_read(&m), &replay)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&a.id).await.unwrap(), Some(with_password));
}

pub async fn revoking_frees_a_seat_and_restoring_takes_one(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(2)).await;
    let (m, _) = invitee(&org, "r@acme.test");
    store
        .add_memberships(&org, std::slice::from_ref(&m))
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 2);

    let mut revoked = m.clone();
    revoked.revoke().unwrap();
    // A plain update may not move a seat.
    assert!(matches!(
        store
            .update_membership(&revoked, &Expected::as_read(&m))
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .update_membership_seat(&org, &revoked, &Expected::as_read(&m))
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    assert_eq!(org.occupied_seats, 1);
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(revoked.clone())
    );
    // Stale: revoking again from the old state is refused, and the count stays.
    assert!(matches!(
        store
            .update_membership_seat(&org, &revoked, &Expected::as_read(&m))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(org_now(&store, &org).await.occupied_seats, 1);

    // The freed seat is taken by someone else; restoring finds none.
    store
        .add_memberships(&org, &[invitee(&org, "other@acme.test").0])
        .await
        .unwrap();
    let org = org_now(&store, &org).await;
    let mut restored = revoked.clone();
    restored.restore().unwrap();
    assert!(matches!(
        store
            .update_membership_seat(&org, &restored, &Expected::as_read(&revoked))
            .await,
        Err(StoreError::NoSeats)
    ));
    assert_eq!(
        store.membership(&org.id, &m.member_id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);

    // With room again, restoring takes the seat back.
    let mut roomy = org.clone();
    roomy.seats.limit = Some(3);
    store.update_organization_settings(&roomy).await.unwrap();
    let org = org_now(&store, &org).await;
    store
        .update_membership_seat(&org, &restored, &Expected::as_read(&revoked))
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await.occupied_seats, 3);
    assert_eq!(
        store
            .membership(&org.id, &m.member_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Invited
    );
    // A change that moves no seat is refused here.
    assert!(matches!(
        store
            .update_membership_seat(&org, &restored, &Expected::as_read(&restored))
            .await,
        Err(StoreError::Conflict)
    ));
}

pub async fn removing_a_member_frees_its_seat(store: DynStore) {
    let (org, _, _) = seed_org(&store, limit(3)).await;
    let (a, _) = invitee(&org, "gone@acme.test");
    let (b, _) = invitee(&org, "revoked@acme.test");
    store
        .add_memberships(&org, &[a.clone(), b.clone()])
        .await
        .unwrap();
    let alice = account("gone@acme.test");
    let mut accepted = a.clone();
    accepted.accept(alice.id.clone(), now()).unwrap();
    store
        .accept_membership(&accepted, &Expected::as_read(&a), Some(&alice))
        .await
        .unwrap();
    // Stale expectations remove nothing.
    assert!(matches!(
        store.remove_membership(&a, &Expected::as_read(&a)).await,
        Err(StoreError::Conflict)
    ));
    store
        .remove_membership(&accepted, &Expected::as_read(&accepted))
        .await
        .unwrap();
    assert_eq!(store.membership(&org.id, &a.member_id).await.unwrap(), None);
    assert!(
        store
            .memberships_of_user(&alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.account(&alice.id).await.unwrap(),
        Some(alice),
        "the account stays"
    );
    assert_eq!(org_now(&store, &org).await.occupied_seats, 2);
    // A revoked membership held no seat: removing it leaves the count alone.
    let org = org_now(&store, &org).await;
    let mut revoked = b.clone();
    revoked.revoke().unwrap();
    store
        .update_membership_seat(&org, &revoked, &Expected::as_read(&b))
        .await
        .unwrap();
    store
        .remove_membership(&revoked, &Expected::as_read(&revoked))
        .await
        .unwrap();
    assert_eq!(org_now(&store, &org).await.occupied_seats, 1);
    assert!(matches!(
        store
            .remove_membership(&revoked, &Expected::as_read(&revoked))
            .await,
        Err(StoreError::Conflict)
    ));
}

pub async fn domains_are_claimed_by_one_organization(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    let (other, _, _) = seed_org(&store, SeatPlan::default()).await;
    let domain = format!("{}.test", &org.id.as_str()[4..16]);
    assert_eq!(store.claimed_domain(&domain).await.unwrap(), None);
    let claim =
        admit_domain::ClaimedDomain::new(&domain.to_uppercase(), org.id.clone(), false).unwrap();
    assert_eq!(claim.domain, domain);
    store.put_claimed_domain(&claim).await.unwrap();
    let verified = admit_domain::ClaimedDomain {
        verified: true,
        ..claim.clone()
    };
    store.put_claimed_domain(&verified).await.unwrap();
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
        store.put_claimed_domain(&stolen).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.claimed_domain(&domain).await.unwrap(), Some(verified));
}
