//! The table's shape, in one place: [`TABLE`] is the only description of the
//! keys, the index and the TTL attribute. [`create_table`] and the SDK values
//! ([`key_schema`], [`attribute_definitions`], [`global_secondary_indexes`])
//! are derived from it, and the infrastructure template is checked against it.

use crate::error::{sdk_unavailable, unavailable};
use admit_store::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use std::time::{Duration, Instant};

/// A primary key or an index key: two string attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDescription {
    /// HASH key attribute (type S).
    pub partition_key: &'static str,
    /// RANGE key attribute (type S).
    pub sort_key: &'static str,
}

/// A global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDescription {
    pub name: &'static str,
    pub key: KeyDescription,
    /// DynamoDB's projection type name (`ALL`, `KEYS_ONLY`, `INCLUDE`).
    pub projection: &'static str,
}

/// The whole table as this store needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDescription {
    pub key: KeyDescription,
    pub global_secondary_indexes: &'static [IndexDescription],
    /// DynamoDB's billing mode name.
    pub billing_mode: &'static str,
    /// The attribute holding an item's expiry (unix seconds), for DynamoDB TTL.
    pub ttl_attribute: &'static str,
}

/// The single source of truth for the table's schema.
pub const TABLE: TableDescription = TableDescription {
    key: KeyDescription {
        partition_key: "pk",
        sort_key: "sk",
    },
    global_secondary_indexes: &[
        IndexDescription {
            name: "gsi1",
            key: KeyDescription {
                partition_key: "gsi1pk",
                sort_key: "gsi1sk",
            },
            projection: "ALL",
        },
        IndexDescription {
            name: "gsi2",
            key: KeyDescription {
                partition_key: "gsi2pk",
                sort_key: "gsi2sk",
            },
            projection: "ALL",
        },
    ],
    billing_mode: "PAY_PER_REQUEST",
    ttl_attribute: "ttl",
};

/// The index of memberships by user (sparse: only memberships with a user),
/// overloaded with events by member (`EVENTS#{org}#MEMBER#{member}`).
pub(crate) const GSI1: IndexDescription = TABLE.global_secondary_indexes[0];
/// The index of owed emails by due time (sparse: only memberships owing one,
/// under `DUE`), overloaded with events by type (`EVENTS#{org}#TYPE#{type}`)
/// and unverified domains by when they were added (`DOMAINCHECK`).
pub(crate) const GSI2: IndexDescription = TABLE.global_secondary_indexes[1];

fn key_elements(key: KeyDescription) -> Vec<KeySchemaElement> {
    [
        (key.partition_key, KeyType::Hash),
        (key.sort_key, KeyType::Range),
    ]
    .into_iter()
    .map(|(name, kind)| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("static key schema is complete")
    })
    .collect()
}

/// The table's primary key schema.
pub fn key_schema() -> Vec<KeySchemaElement> {
    key_elements(TABLE.key)
}

/// Every key attribute of the table and its indexes (all strings).
pub fn attribute_definitions() -> Vec<AttributeDefinition> {
    let mut names = vec![TABLE.key.partition_key, TABLE.key.sort_key];
    for index in TABLE.global_secondary_indexes {
        names.extend([index.key.partition_key, index.key.sort_key]);
    }
    names
        .into_iter()
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("static attribute definition is complete")
        })
        .collect()
}

/// The table's global secondary indexes.
pub fn global_secondary_indexes() -> Vec<GlobalSecondaryIndex> {
    TABLE
        .global_secondary_indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_elements(index.key)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()
                .expect("static index is complete")
        })
        .collect()
}

const WAIT_LIMIT: Duration = Duration::from_secs(300);

/// Create `table` if it does not exist (an existing one is fine), wait until
/// it and its indexes are `ACTIVE`, and enable TTL on [`TableDescription::ttl_attribute`].
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .set_key_schema(Some(key_schema()))
        .set_attribute_definitions(Some(attribute_definitions()))
        .set_global_secondary_indexes(Some(global_secondary_indexes()))
        .billing_mode(BillingMode::from(TABLE.billing_mode))
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "created DynamoDB table"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            tracing::debug!(table, "DynamoDB table exists");
        }
        Err(e) => return Err(sdk_unavailable(e)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut pause = Duration::from_millis(100);
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(sdk_unavailable)?;
        let description = out.table();
        let table_active = description.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = description
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
        if table_active && indexes_active {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(unavailable(format!(
                "table {table} not ACTIVE after {WAIT_LIMIT:?}"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

async fn ttl_enabled(client: &Client, table: &str) -> Result<bool, StoreError> {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(sdk_unavailable)?;
    let Some(d) = out.time_to_live_description() else {
        return Ok(false);
    };
    let on = matches!(
        d.time_to_live_status(),
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    );
    match d.attribute_name() {
        Some(name) if on && name != TABLE.ttl_attribute => Err(unavailable(format!(
            "table {table} has TTL on {name}, not {}",
            TABLE.ttl_attribute
        ))),
        _ => Ok(on),
    }
}

async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    if ttl_enabled(client, table).await? {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TABLE.ttl_attribute)
        .build()
        .map_err(unavailable)?;
    match client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Another process enabled it in the meantime: DynamoDB refuses to enable it twice.
        Err(e) if ttl_enabled(client, table).await? => {
            tracing::debug!(table, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "TTL already enabled");
            Ok(())
        }
        Err(e) => Err(sdk_unavailable(e)),
    }
}
