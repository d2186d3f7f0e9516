//! The store contract on the embedded store, plus what only it promises:
//! data survives a restart, and a sweep deletes what expired.

use admit_store::prelude::*;
use admit_store_embedded::EmbeddedStore;

async fn fresh() -> EmbeddedStore {
    // Each test's database lives in its own directory, kept until the process ends.
    let dir = tempfile::tempdir().unwrap().keep();
    EmbeddedStore::open(&dir.join("admit.redb")).unwrap()
}

admit_store::contract_tests!(fresh);

/// Deleting an account of 40 memberships: one write transaction: a refused run deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_of_many_memberships_is_deleted_in_steps() {
    admit_store::contract::accounts::an_account_of_many_memberships_is_deleted_in_steps(
        std::sync::Arc::new(fresh().await),
        true,
    )
    .await;
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admit.redb");
    let org = {
        let store: std::sync::Arc<dyn Store> =
            std::sync::Arc::new(EmbeddedStore::open(&path).unwrap());
        let (org, _, _) = admit_store::contract::seed_org(&store, Default::default()).await;
        org
    };
    let reopened = EmbeddedStore::open(&path).unwrap();
    assert_eq!(reopened.organization(&org.id).await.unwrap(), Some(org));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finding_due_mail_costs_what_is_due_not_the_table() {
    let store = std::sync::Arc::new(fresh().await);
    let (seeder, meter) = (store.clone(), store.clone());
    admit_store::contract::mail_queue::finding_due_mail_costs_what_is_due_not_the_table(
        store,
        move || meter.items_read(),
        async |org: &admit_domain::Organization, memberships: &[admit_domain::Membership]| {
            for chunk in memberships.chunks(1_000) {
                let org = seeder.organization(&org.id).await.unwrap().unwrap();
                seeder.add_memberships(&org, chunk, &[]).await.unwrap();
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_events_costs_a_page_not_the_history() {
    let store = std::sync::Arc::new(fresh().await);
    let (seeder, meter) = (store.clone(), store.clone());
    admit_store::contract::events::listing_events_costs_a_page_not_the_history(
        store,
        move || meter.items_read(),
        async |events: &[admit_domain::Event]| {
            for chunk in events.chunks(100) {
                seeder.record_events(chunk).await.unwrap();
            }
        },
    )
    .await;
}

/// The embedded store has no TTL: its sweep deletes every expired record
/// (the contract's `sweeping_removes_only_what_expired` holds it to keeping
/// the live ones).
#[tokio::test]
async fn a_sweep_deletes_what_expired() {
    use admit_domain::{Session, UserId};
    let store = fresh().await;
    let t0 = admit_domain::Timestamp::from_unix(1_800_000_000);
    let (s, _) = Session::start(
        UserId::generate(&mut rand::rng()),
        None,
        t0,
        &mut rand::rng(),
    );
    store.put_session(&s, &[]).await.unwrap();
    assert_eq!(store.sweep_expired(t0).await.unwrap().total(), 0);
    assert_eq!(store.session(&s.digest).await.unwrap(), Some(s.clone()));
    let swept = store.sweep_expired(s.expires_at).await.unwrap();
    assert_eq!(swept.sessions, 1);
    assert_eq!(store.session(&s.digest).await.unwrap(), None);
}
