//! The store contract on moto's DynamoDB, each test on a fresh table made by
//! [`create_table`], plus what only this store promises.

use admit_store::prelude::*;
use admit_store_dynamodb::{DynamoStore, create_table, schema::TABLE};
use admit_tests::moto::Moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use rand::Rng;

fn client() -> Client {
    Client::new(&Moto::shared().sdk_config())
}

fn table_name() -> String {
    format!("admit-test-{:016x}", rand::rng().random::<u64>())
}

async fn fresh() -> DynamoStore {
    let client = client();
    let table = table_name();
    create_table(&client, &table).await.expect("table created");
    DynamoStore::new(client, table)
}

admit_store::contract_tests!(fresh);

/// Deleting an account of 40 memberships: more than one transaction holds: the memberships go first, in steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_of_many_memberships_is_deleted_in_steps() {
    admit_store::contract::accounts::an_account_of_many_memberships_is_deleted_in_steps(
        std::sync::Arc::new(fresh().await),
        false,
    )
    .await;
}

#[tokio::test]
async fn creating_the_table_twice_is_fine() {
    let client = client();
    let table = table_name();
    create_table(&client, &table).await.unwrap();
    create_table(&client, &table).await.unwrap();

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (TABLE.key.partition_key, KeyType::Hash),
            (TABLE.key.sort_key, KeyType::Range)
        ]
    );
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(
        gsi.index_name(),
        Some(TABLE.global_secondary_indexes[0].name)
    );
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(TABLE.ttl_attribute));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn sessions_carry_their_expiry_for_ttl() {
    let client = client();
    let store = fresh().await;
    let now = admit_domain::Timestamp::from_unix(1_800_000_000);
    let (s, _) = admit_domain::Session::start(
        admit_domain::UserId::generate(&mut rand::rng()),
        None,
        now,
        &mut rand::rng(),
    );
    store.put_session(&s, &[]).await.unwrap();
    let item = client
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SESSION#{}", s.digest.to_hex())),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("SESSION".into()),
        )
        .send()
        .await
        .unwrap();
    let ttl = item.item().unwrap()[TABLE.ttl_attribute]
        .as_n()
        .unwrap()
        .clone();
    assert_eq!(ttl, s.expires_at.unix().to_string());
}

/// Seeded with BatchWriteItem: moto copies the whole table for every
/// transaction, which makes 10,000 transactional inserts take many minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finding_due_mail_costs_what_is_due_not_the_table() {
    let store = std::sync::Arc::new(fresh().await);
    let (seeder, meter) = (store.clone(), store.clone());
    admit_store::contract::mail_queue::finding_due_mail_costs_what_is_due_not_the_table(
        store,
        move || meter.items_read(),
        async |_: &admit_domain::Organization, memberships: &[admit_domain::Membership]| {
            seeder
                .put_memberships_unconditionally(memberships)
                .await
                .unwrap();
        },
    )
    .await;
}

/// Seeded with BatchWriteItem, as the owed mail is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_events_costs_a_page_not_the_history() {
    let store = std::sync::Arc::new(fresh().await);
    let (seeder, meter) = (store.clone(), store.clone());
    admit_store::contract::events::listing_events_costs_a_page_not_the_history(
        store,
        move || meter.items_read(),
        async |events: &[admit_domain::Event]| {
            seeder.seed_events_unconditionally(events).await.unwrap();
        },
    )
    .await;
}
