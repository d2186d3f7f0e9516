//! The store contract on the embedded store, plus what only it promises:
//! data survives a restart.

use admit_store::Store;
use admit_store_embedded::EmbeddedStore;

async fn fresh() -> EmbeddedStore {
    // Each test's database lives in its own directory, kept until the process ends.
    let dir = tempfile::tempdir().unwrap().keep();
    EmbeddedStore::open(&dir.join("admit.redb")).unwrap()
}

admit_store::contract_tests!(fresh);

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
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(fresh().await);
    let seeder = store.clone();
    admit_store::contract::finding_due_mail_costs_what_is_due_not_the_table(
        store,
        async |org: &admit_domain::Organization, memberships: &[admit_domain::Membership]| {
            for chunk in memberships.chunks(admit_store::MAX_NEW_MEMBERSHIPS_PER_WRITE) {
                let org = seeder.organization(&org.id).await.unwrap().unwrap();
                seeder.add_memberships(&org, chunk).await.unwrap();
            }
        },
    )
    .await;
}
