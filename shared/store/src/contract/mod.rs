//! The contract every [`Store`] implementation passes, one module of checks
//! per capability. Each implementation's tests invoke
//! [`crate::contract_tests!`] with a constructor of a fresh store, which runs
//! every check listed there; `tests/contract_guard.rs` fails when a check
//! exists that the list (and so a backend) does not run.

pub mod accounts;
pub mod domains;
pub mod events;
pub mod housekeeping;
pub mod mail_queue;
pub mod memberships;
pub mod organizations;
pub mod rate_limits;
pub mod scim;
pub mod sessions;
pub mod sign_ins;

pub(crate) use crate::prelude::*;
pub(crate) use crate::{Expected, SignInWrite, StoreError, Swept};
pub(crate) use admit_domain::{
    Account, AdminDigest, ClaimedMail, Email, InvitationToken, Kdf, MasterPassword, MemberId,
    Membership, OrgId, Organization, OwedKind, Role, SeatPlan, Secret, Session, SsoIdentifier,
    Status, Timestamp, UserId,
};
pub(crate) use std::sync::Arc;
pub(crate) use time::Duration;

pub type DynStore = Arc<dyn Store>;

/// Generates one `#[tokio::test]` per contract check, each on a fresh store
/// made by the async closure `$make` (`async || -> impl Store`). Every
/// check of every capability module is listed here, once.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@each $make;
            organizations::organizations_are_unique_by_sso_identifier,
            organizations::settings_change_without_touching_seats,
            organizations::settings_writes_are_conditional_on_their_version,
            organizations::settings_leave_the_owners_version_alone,
            organizations::a_seat_plan_is_never_written_below_what_is_occupied,
            memberships::invitations_take_seats_atomically,
            memberships::an_existing_membership_is_never_overwritten,
            memberships::updates_are_conditional_on_what_was_read,
            memberships::groups_and_role_are_set_alone_and_guard_other_writes,
            memberships::revoking_frees_a_seat_and_restoring_takes_one,
            memberships::removing_a_member_frees_its_seat,
            memberships::accepting_creates_the_account_in_the_same_write,
            memberships::listing_pages_through_every_membership,
            memberships::memberships_of_a_user,
            memberships::race_twenty_accepts_of_one_invitation,
            memberships::race_thirty_invitations_for_ten_seats,
            memberships::owner_writes_are_guarded_by_the_owners_version,
            memberships::race_owner_writes_from_one_owners_version,
            accounts::emails_with_accounts_are_found_in_batches,
            accounts::deleting_an_account_deletes_what_is_its,
            accounts::deleting_an_account_refuses_what_changed,
            sessions::sessions_round_trip,
            sign_ins::pending_sign_ins_are_used_once,
            sign_ins::assertions_are_consumed_once_until_they_expire,
            sign_ins::identity_links_are_unique,
            sign_ins::sign_in_creates_the_invited_account_atomically,
            sign_ins::sign_in_creates_account_and_membership_taking_a_seat,
            sign_ins::setup_completes_once,
            sign_ins::identity_links_of_a_user,
            sign_ins::link_grants_are_used_once,
            mail_queue::owed_mail_is_found_when_due_and_claimed_once,
            mail_queue::admin_digests_are_claimed_once,
            domains::adding_a_domain_is_per_organization,
            domains::verifying_makes_one_organization_the_holder,
            domains::race_eight_organizations_verify_one_domain,
            domains::race_verifying_and_removing_one_domain,
            domains::domain_checks_are_recorded_on_unverified_domains_only,
            domains::unverified_domains_are_rechecked_oldest_first,
            scim::scim_users_round_trip_per_organization,
            scim::scim_user_names_are_unique_per_organization,
            scim::scim_user_writes_are_conditional_on_the_version_read,
            scim::race_ten_creates_of_one_scim_user_name,
            scim::scim_groups_are_versioned_and_keep_their_members,
            rate_limits::attempts_are_counted_once_each,
            events::events_are_listed_newest_first_a_page_at_a_time,
            events::events_are_filtered_by_time_member_and_type,
            events::recording_events_is_atomic,
            events::organization_writes_record_their_events_when_applied,
            events::membership_writes_record_their_events_when_applied,
            events::sign_in_writes_record_their_events_when_applied,
            housekeeping::sweeping_removes_only_what_expired,
        );
    };
    (@each $make:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = ($make)().await;
                $crate::contract::$module::$name(::std::sync::Arc::new(store)).await;
            }
        )*
    };
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from_unix(1_800_000_000)
}

/// A seat plan of `n` seats, no autoscaling.
pub(crate) fn limit(n: u32) -> SeatPlan {
    SeatPlan {
        limit: Some(n),
        autoscale_max: None,
    }
}

pub(crate) fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub(crate) fn unique_identifier() -> SsoIdentifier {
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
    store.create_organization(&org, &owner, &[]).await.unwrap();
    (org, owner, token)
}

pub(crate) fn invitee(org: &Organization, address: &str) -> (Membership, InvitationToken) {
    Membership::invite(
        &org.id,
        email(address),
        Role::User,
        now(),
        Duration::days(5),
        &mut rand::rng(),
    )
}

pub(crate) fn account(address: &str) -> Account {
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

/// Invite `address` into `org` and accept it as `account` (created in the
/// same write when `create`): the accepted membership, as stored.
pub(crate) async fn accepted_member(
    store: &DynStore,
    org: &Organization,
    address: &str,
    account: &Account,
    create: bool,
) -> Membership {
    let org = org_now(store, org).await;
    let (m, _) = invitee(&org, address);
    store
        .add_memberships(&org, std::slice::from_ref(&m), &[])
        .await
        .unwrap();
    let mut accepted = m.clone();
    accepted.accept(account.id.clone(), now()).unwrap();
    store
        .accept_membership(
            &accepted,
            &Expected::as_read(&m),
            create.then_some(account),
            &[],
        )
        .await
        .unwrap();
    accepted
}

/// Link the identity `external` of `org` to `user`.
pub(crate) async fn linked(
    store: &DynStore,
    org: &Organization,
    external: &str,
    user: &UserId,
) -> admit_domain::IdentityLink {
    let l = link(org, external, user);
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
    l
}

pub(crate) async fn org_now(store: &DynStore, org: &Organization) -> Organization {
    store
        .organization(&org.id)
        .await
        .unwrap()
        .expect("organization exists")
}

pub(crate) fn link(
    org: &Organization,
    external: &str,
    user: &UserId,
) -> admit_domain::IdentityLink {
    admit_domain::IdentityLink {
        org_id: org.id.clone(),
        external_id: admit_domain::ExternalId::parse(external).unwrap(),
        user_id: user.clone(),
        linked_at: now(),
    }
}
