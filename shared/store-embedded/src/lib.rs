//! The embedded store: one redb file, the default for `admit serve`.
//!
//! redb commits are atomic and durable (copy-on-write B-trees with a
//! checksummed commit slot, fsync on commit), so a `kill -9` mid-write leaves
//! either the old or the new state. Write transactions are serialized, which
//! gives every multi-record change the isolation DynamoDB transactions give.
//! Values are JSON; keys are built so prefix ranges answer the listings.
//!
//! One module per capability of the port, named as its trait, each owning
//! its tables:
//!
//! | module | trait | tables (key → value) |
//! |---|---|---|
//! | `organizations` | `Organizations` | `organizations` (org id → organization), `sso_identifiers` (identifier → org id) |
//! | `memberships` | `Memberships` | `memberships` (`{org}/{member}` → membership), `user_memberships` (`{user}/{org}/{member}` → empty) |
//! | `accounts` | `Accounts` | `accounts` (user id → account), `account_emails` (email → user id); deleting an account deletes from the tables of `memberships`, `organizations` (seats, owners guard) and `sign_ins` (links) in its one write |
//! | `sessions` | `Sessions` | `sessions` (token digest → session) |
//! | `sign_ins` | `SignIns` | `pending_sign_ins` (state digest → pending sign-in), `identity_links` (`{org}/{external id}` → link), `user_links` (`{user}/{org}/{external id}` → empty: the links of an account), `link_grants` (digest → link grant), `setup_grants` (digest → grant), `consumed_assertions` (digest → until, big-endian unix seconds) |
//! | `mail_queue` | `MailQueue` | `owed_mail_due` (`{due_at:012}/{org}/{member}` → empty: the sparse due index), `admin_digests` (org id → digest record) |
//! | `domains` | `Domains` | `org_domains` (`{org}/{domain}` → the domain that organization added), `domain_rechecks` (`{created_at:012}/{org}/{domain}` → empty: the sparse index of unverified domains, in time order), `claimed_domains` (domain → its one holder) |
//! | `scim` | `Scim` | `scim_users` (`{org}/{id}` → SCIM user), `scim_user_names` (`{org}/{user_name_key}` → the id of that `userName`'s user: the guard keeping them unique per organization, any case), `scim_groups` (`{org}/{id}` → SCIM group) |
//! | `events` | `Events` | `events` (`{org}/{position}` → event), `events_by_member` (`{org}/{member}/{position}` → empty), `events_by_type` (`{org}/{type}/{position}` → empty), `events_by_expiry` (`{expires_at:012}/{org}/{position}` → empty); a position is `{at:012}#{event id}`, so key order is time order |
//! | `rate_limits` | `RateLimits` | `rate_limits` (counter key → attempts and window end) |
//! | `housekeeping` | `Housekeeping` | none of its own: it deletes the expired records of `sessions`, `pending_sign_ins`, `link_grants`, `setup_grants`, `consumed_assertions` and `rate_limits`, and the events past their `expires_at` (read through `events_by_expiry`) |
//!
//! A write that spans capabilities (a membership and its seat counter, an
//! account created with a membership) calls the owning modules' helpers
//! inside one write transaction. Every write that changes state also writes
//! the events recording it there (`events::put_events`): both are committed,
//! or neither.

mod accounts;
mod domains;
mod events;
mod housekeeping;
mod mail_queue;
mod memberships;
mod organizations;
mod rate_limits;
mod scim;
mod sessions;
mod sign_ins;

use admit_store::StoreError;
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type Table = TableDefinition<'static, &'static str, &'static [u8]>;

/// Every table of the store, opened (created) when the file is opened.
pub const TABLES: [Table; 26] = [
    organizations::ORGS,
    organizations::SSO_IDS,
    memberships::MEMBERS,
    memberships::USER_MEMBERS,
    accounts::ACCOUNTS,
    accounts::EMAILS,
    sessions::SESSIONS,
    sign_ins::SIGN_INS,
    sign_ins::LINKS,
    sign_ins::USER_LINKS,
    sign_ins::LINK_GRANTS,
    sign_ins::SETUP_GRANTS,
    sign_ins::ASSERTIONS,
    mail_queue::DUE,
    mail_queue::DIGESTS,
    domains::DOMAINS,
    domains::ORG_DOMAINS,
    domains::RECHECKS,
    scim::SCIM_USERS,
    scim::SCIM_USER_NAMES,
    scim::SCIM_GROUPS,
    events::EVENTS,
    events::EVENTS_BY_MEMBER,
    events::EVENTS_BY_TYPE,
    events::EVENTS_BY_EXPIRY,
    rate_limits::RATE_LIMITS,
];

/// The names of [`TABLES`], for documentation checks.
pub fn table_names() -> Vec<&'static str> {
    use redb::TableHandle;
    TABLES.iter().map(|t| t.name()).collect()
}

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    items_read: Arc<AtomicU64>,
}

/// How many items a read returned, for [`EmbeddedStore::items_read`].
trait Counted {
    fn count(&self) -> u64;
}

impl<T> Counted for Option<T> {
    fn count(&self) -> u64 {
        u64::from(self.is_some())
    }
}

impl<T> Counted for Vec<T> {
    fn count(&self) -> u64 {
        self.len() as u64
    }
}

impl<T> Counted for admit_store::Page<T> {
    fn count(&self) -> u64 {
        self.items.len() as u64
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(unavailable)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(unavailable)
}

trait Get {
    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError>;
    fn get_str(&self, table: Table, key: &str) -> Result<Option<String>, StoreError>;
}

macro_rules! impl_get {
    ($tx:ty) => {
        impl Get for $tx {
            fn get_json<T: DeserializeOwned>(
                &self,
                table: Table,
                key: &str,
            ) -> Result<Option<T>, StoreError> {
                let t = self.open_table(table).map_err(unavailable)?;
                let v = t.get(key).map_err(unavailable)?;
                v.map(|v| decode(v.value())).transpose()
            }
            fn get_str(&self, table: Table, key: &str) -> Result<Option<String>, StoreError> {
                let t = self.open_table(table).map_err(unavailable)?;
                let v = t.get(key).map_err(unavailable)?;
                Ok(v.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
            }
        }
    };
}
impl_get!(ReadTransaction);
impl_get!(WriteTransaction);

fn put(tx: &WriteTransaction, table: Table, key: &str, value: &[u8]) -> Result<(), StoreError> {
    tx.open_table(table)
        .map_err(unavailable)?
        .insert(key, value)
        .map_err(unavailable)?;
    Ok(())
}

fn put_json<T: Serialize>(
    tx: &WriteTransaction,
    table: Table,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    put(tx, table, key, &encode(value)?)
}

fn remove(tx: &WriteTransaction, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let mut t = tx.open_table(table).map_err(unavailable)?;
    let old = t.remove(key).map_err(unavailable)?;
    Ok(old.map(|v| v.value().to_vec()))
}

impl EmbeddedStore {
    /// Open (or create) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let db = Database::create(path).map_err(unavailable)?;
        let tx = db.begin_write().map_err(unavailable)?;
        for t in TABLES {
            tx.open_table(t).map_err(unavailable)?;
        }
        sign_ins::index_links_by_user(&tx)?;
        tx.commit().map_err(unavailable)?;
        Ok(Self {
            db: Arc::new(db),
            items_read: Arc::default(),
        })
    }

    /// Items read by this store so far: a cost meter for tests and
    /// benchmarks, not part of the port.
    pub fn items_read(&self) -> u64 {
        self.items_read.load(Ordering::Relaxed)
    }

    /// Run `f` in a read transaction; what it returns counts as items read.
    async fn read<T: Counted + Send + 'static>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        let out = tokio::task::spawn_blocking(move || f(&db.begin_read().map_err(unavailable)?))
            .await
            .map_err(unavailable)??;
        self.items_read.fetch_add(out.count(), Ordering::Relaxed);
        Ok(out)
    }

    /// Run `f` in one serialized write transaction: committed when it returns
    /// `Ok`, rolled back otherwise.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_write().map_err(unavailable)?;
            match f(&tx) {
                Ok(v) => {
                    tx.commit().map_err(unavailable)?;
                    Ok(v)
                }
                Err(e) => {
                    tx.abort().map_err(unavailable)?;
                    Err(e)
                }
            }
        })
        .await
        .map_err(unavailable)?
    }
}
