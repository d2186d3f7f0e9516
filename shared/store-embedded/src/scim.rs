//! [`Scim`]: the users and groups an organization's IdP provisions, and the
//! guard that keeps each organization's `userName`s unique (by
//! `user_name_key`, so case-insensitively).
//!
//! Every write checks the version it was computed from inside its write
//! transaction and writes its events there; the guard moves with a rename in
//! the same transaction.

use crate::events::put_events;
use crate::{EmbeddedStore, Get, Table, decode, put, put_json, remove, unavailable};
use admit_domain::{Event, OrgId, ScimGroup, ScimId, ScimUser};
use admit_store::{Scim, StoreError};
use async_trait::async_trait;
use redb::{ReadTransaction, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;

/// `{org}/{id}` → SCIM user.
pub(crate) const SCIM_USERS: Table = TableDefinition::new("scim_users");
/// `{org}/{user_name_key}` → the id of the user of that `userName`.
pub(crate) const SCIM_USER_NAMES: Table = TableDefinition::new("scim_user_names");
/// `{org}/{id}` → SCIM group.
pub(crate) const SCIM_GROUPS: Table = TableDefinition::new("scim_groups");

fn id_key(org: &OrgId, id: &ScimId) -> String {
    format!("{org}/{id}")
}

fn name_key(org: &OrgId, user_name_key: &str) -> String {
    format!("{org}/{user_name_key}")
}

/// Every value of `table` under `{org}/`, in key order (so by id).
fn list<T: DeserializeOwned>(
    tx: &ReadTransaction,
    table: Table,
    org: &OrgId,
) -> Result<Vec<T>, StoreError> {
    // '/' sorts right before '0': every `{org}/…` key and nothing else.
    let (start, end) = (format!("{org}/"), format!("{org}0"));
    let t = tx.open_table(table).map_err(unavailable)?;
    let mut out = Vec::new();
    for entry in t.range(start.as_str()..end.as_str()).map_err(unavailable)? {
        let (_, v) = entry.map_err(unavailable)?;
        out.push(decode(v.value())?);
    }
    Ok(out)
}

/// The stored version of the value at `key` is `version`, else `Conflict`
/// (a value that is gone counts as changed).
fn expect_version<T: DeserializeOwned>(
    tx: &WriteTransaction,
    table: Table,
    key: &str,
    version: u64,
    version_of: impl Fn(&T) -> u64,
) -> Result<(), StoreError> {
    match tx.get_json::<T>(table, key)? {
        Some(stored) if version_of(&stored) == version => Ok(()),
        _ => Err(StoreError::Conflict),
    }
}

/// The guard `{org}/{user_name_key}` holds `id`.
fn guard_holds(
    tx: &WriteTransaction,
    org: &OrgId,
    user_name_key: &str,
    id: &ScimId,
) -> Result<bool, StoreError> {
    Ok(tx.get_str(SCIM_USER_NAMES, &name_key(org, user_name_key))? == Some(id.as_str().to_owned()))
}

#[async_trait]
impl Scim for EmbeddedStore {
    async fn create_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError> {
        let (u, events) = (user.clone(), events.to_vec());
        self.write(move |tx| {
            let (key, guard) = (
                id_key(&u.org_id, &u.id),
                name_key(&u.org_id, &u.user_name_key()),
            );
            if tx.get_str(SCIM_USERS, &key)?.is_some()
                || tx.get_str(SCIM_USER_NAMES, &guard)?.is_some()
            {
                return Err(StoreError::Conflict);
            }
            put_json(tx, SCIM_USERS, &key, &u)?;
            put(tx, SCIM_USER_NAMES, &guard, u.id.as_str().as_bytes())?;
            put_events(tx, &events)
        })
        .await
    }

    async fn scim_user(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimUser>, StoreError> {
        let key = id_key(org, id);
        self.read(move |tx| tx.get_json(SCIM_USERS, &key)).await
    }

    async fn scim_user_by_name(
        &self,
        org: &OrgId,
        user_name_key: &str,
    ) -> Result<Option<ScimUser>, StoreError> {
        let (org, guard) = (org.clone(), name_key(org, user_name_key));
        self.read(move |tx| match tx.get_str(SCIM_USER_NAMES, &guard)? {
            Some(id) => tx.get_json(SCIM_USERS, &format!("{org}/{id}")),
            None => Ok(None),
        })
        .await
    }

    async fn scim_users(&self, org: &OrgId) -> Result<Vec<ScimUser>, StoreError> {
        let org = org.clone();
        self.read(move |tx| list(tx, SCIM_USERS, &org)).await
    }

    async fn update_scim_user(
        &self,
        before: &ScimUser,
        after: &ScimUser,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if after.org_id != before.org_id
            || after.id != before.id
            || after.version != before.version + 1
        {
            return Err(unavailable(
                "update_scim_user: after is not before's user one version on",
            ));
        }
        let (before, after, events) = (before.clone(), after.clone(), events.to_vec());
        self.write(move |tx| {
            let key = id_key(&after.org_id, &after.id);
            expect_version(tx, SCIM_USERS, &key, before.version, |u: &ScimUser| {
                u.version
            })?;
            let (old, new) = (before.user_name_key(), after.user_name_key());
            if old != new {
                let org = &after.org_id;
                if !guard_holds(tx, org, &old, &after.id)? {
                    return Err(StoreError::Conflict);
                }
                let new_guard = name_key(org, &new);
                if tx.get_str(SCIM_USER_NAMES, &new_guard)?.is_some() {
                    return Err(StoreError::Conflict);
                }
                remove(tx, SCIM_USER_NAMES, &name_key(org, &old))?;
                put(
                    tx,
                    SCIM_USER_NAMES,
                    &new_guard,
                    after.id.as_str().as_bytes(),
                )?;
            }
            put_json(tx, SCIM_USERS, &key, &after)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn delete_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError> {
        let (u, events) = (user.clone(), events.to_vec());
        self.write(move |tx| {
            let key = id_key(&u.org_id, &u.id);
            expect_version(tx, SCIM_USERS, &key, u.version, |s: &ScimUser| s.version)?;
            remove(tx, SCIM_USERS, &key)?;
            // The guard goes when it is this user's (it always is); never
            // another's.
            let guard = name_key(&u.org_id, &u.user_name_key());
            match tx.get_str(SCIM_USER_NAMES, &guard)? {
                Some(id) if id == u.id.as_str() => {
                    remove(tx, SCIM_USER_NAMES, &guard)?;
                }
                Some(_) => return Err(StoreError::Conflict),
                None => {}
            }
            put_events(tx, &events)
        })
        .await
    }

    async fn put_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: Option<u64>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if let Some(v) = expected_version
            && group.version != v + 1
        {
            return Err(unavailable(
                "put_scim_group: the group is not one version on the expected one",
            ));
        }
        let (g, events) = (group.clone(), events.to_vec());
        self.write(move |tx| {
            let key = id_key(&g.org_id, &g.id);
            match expected_version {
                None if tx.get_str(SCIM_GROUPS, &key)?.is_some() => {
                    return Err(StoreError::Conflict);
                }
                None => {}
                Some(v) => expect_version(tx, SCIM_GROUPS, &key, v, |s: &ScimGroup| s.version)?,
            }
            put_json(tx, SCIM_GROUPS, &key, &g)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn scim_group(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimGroup>, StoreError> {
        let key = id_key(org, id);
        self.read(move |tx| tx.get_json(SCIM_GROUPS, &key)).await
    }

    async fn scim_groups(&self, org: &OrgId) -> Result<Vec<ScimGroup>, StoreError> {
        let org = org.clone();
        self.read(move |tx| list(tx, SCIM_GROUPS, &org)).await
    }

    async fn delete_scim_group(
        &self,
        group: &ScimGroup,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (g, events) = (group.clone(), events.to_vec());
        self.write(move |tx| {
            let key = id_key(&g.org_id, &g.id);
            expect_version(tx, SCIM_GROUPS, &key, g.version, |s: &ScimGroup| s.version)?;
            remove(tx, SCIM_GROUPS, &key)?;
            put_events(tx, &events)
        })
        .await
    }
}
