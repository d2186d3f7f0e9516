//! [`Memberships`]: memberships by organization and member, the user index,
//! and the writes that move seats with them.

use crate::accounts::create_account;
use crate::events::put_events;
use crate::mail_queue::{DUE, due_key};
use crate::organizations::{free_seat, guard_owners, take_seats};
use crate::{EmbeddedStore, Get, Table, decode, put, put_json, remove, unavailable};
use admit_domain::{Account, Event, MemberId, Membership, OrgId, Organization, Status, UserId};
use admit_store::{Expected, Memberships, Page, StoreError};
use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

/// `{org}/{member}` → membership.
pub(crate) const MEMBERS: Table = TableDefinition::new("memberships");
/// `{user}/{org}/{member}` → empty: the memberships of an account.
pub(crate) const USER_MEMBERS: Table = TableDefinition::new("user_memberships");

pub(crate) fn member_key(org: &OrgId, member: &MemberId) -> String {
    format!("{org}/{member}")
}

fn user_member_key(m: &Membership) -> Option<String> {
    m.user_id
        .as_ref()
        .map(|u| format!("{u}/{}/{}", m.org_id, m.member_id))
}

/// Write `m` with its index entries (by user; by owed email's due time).
pub(crate) fn put_membership(tx: &WriteTransaction, m: &Membership) -> Result<(), StoreError> {
    let key = member_key(&m.org_id, &m.member_id);
    let old: Option<Membership> = tx.get_json(MEMBERS, &key)?;
    if let Some(k) = old.as_ref().and_then(due_key) {
        remove(tx, DUE, &k)?;
    }
    put_json(tx, MEMBERS, &key, m)?;
    if let Some(k) = user_member_key(m) {
        put(tx, USER_MEMBERS, &k, b"")?;
    }
    if let Some(k) = due_key(m) {
        put(tx, DUE, &k, b"")?;
    }
    Ok(())
}

/// The stored membership, if it is still as `expected` (the owners guard
/// aside).
pub(crate) fn stored_as_expected(
    tx: &WriteTransaction,
    m: &Membership,
    expected: &Expected,
) -> Result<Membership, StoreError> {
    let stored: Membership = tx
        .get_json(MEMBERS, &member_key(&m.org_id, &m.member_id))?
        .ok_or(StoreError::Conflict)?;
    if !expected.matches(&stored) {
        return Err(StoreError::Conflict);
    }
    Ok(stored)
}

/// The stored membership, if it is still as `expected` (and `m` occupies a
/// seat exactly when it does), with the organization's owners guard checked
/// and moved when `expected` carries one.
pub(crate) fn expect_membership(
    tx: &WriteTransaction,
    m: &Membership,
    expected: &Expected,
) -> Result<Membership, StoreError> {
    let stored = stored_as_expected(tx, m, expected)?;
    if stored.occupies_seat() != m.occupies_seat() {
        return Err(StoreError::Conflict);
    }
    guard_owners(tx, &m.org_id, expected.owners_version)?;
    Ok(stored)
}

/// Delete the stored membership `stored` and its index entries (its seat is
/// the caller's).
pub(crate) fn delete_membership(
    tx: &WriteTransaction,
    stored: &Membership,
) -> Result<(), StoreError> {
    remove(tx, MEMBERS, &member_key(&stored.org_id, &stored.member_id))?;
    if let Some(k) = user_member_key(stored) {
        remove(tx, USER_MEMBERS, &k)?;
    }
    if let Some(k) = due_key(stored) {
        remove(tx, DUE, &k)?;
    }
    Ok(())
}

/// Does `user` hold any membership (per the user index)?
pub(crate) fn user_has_memberships(
    tx: &WriteTransaction,
    user: &UserId,
) -> Result<bool, StoreError> {
    let (start, end) = (format!("{user}/"), format!("{user}0"));
    let t = tx.open_table(USER_MEMBERS).map_err(unavailable)?;
    let mut range = t.range(start.as_str()..end.as_str()).map_err(unavailable)?;
    Ok(range.next().transpose().map_err(unavailable)?.is_some())
}

/// Is there a membership at this key?
pub(crate) fn membership_exists(tx: &WriteTransaction, m: &Membership) -> Result<bool, StoreError> {
    Ok(tx
        .get_str(MEMBERS, &member_key(&m.org_id, &m.member_id))?
        .is_some())
}

#[async_trait]
impl Memberships for EmbeddedStore {
    async fn membership(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Option<Membership>, StoreError> {
        let key = member_key(org, member);
        self.read(move |tx| tx.get_json(MEMBERS, &key)).await
    }

    async fn memberships(
        &self,
        org: &OrgId,
        members: &[MemberId],
    ) -> Result<Vec<Membership>, StoreError> {
        let keys: Vec<String> = members.iter().map(|m| member_key(org, m)).collect();
        self.read(move |tx| {
            let mut out = Vec::new();
            for k in keys {
                out.extend(tx.get_json::<Membership>(MEMBERS, &k)?);
            }
            Ok(out)
        })
        .await
    }

    async fn list_memberships(
        &self,
        org: &OrgId,
        status: Option<Status>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Membership>, StoreError> {
        let after = cursor
            .map(|c| MemberId::parse(c).map_err(|_| StoreError::InvalidCursor))
            .transpose()?;
        let org = org.clone();
        let limit = limit.clamp(1, admit_store::MAX_PAGE_SIZE);
        self.read(move |tx| {
            let t = tx.open_table(MEMBERS).map_err(unavailable)?;
            let start = match &after {
                // '/' sorts before every id character, '0' right after '/'.
                Some(m) => format!("{org}/{m}0"),
                None => format!("{org}/"),
            };
            let end = format!("{org}0");
            let mut items = Vec::new();
            let mut last_seen: Option<MemberId> = None;
            for entry in t.range(start.as_str()..end.as_str()).map_err(unavailable)? {
                let (_, v) = entry.map_err(unavailable)?;
                let m: Membership = decode(v.value())?;
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next_cursor: last_seen.map(String::from),
                    });
                }
                last_seen = Some(m.member_id.clone());
                if status.is_none_or(|s| s == m.status) {
                    items.push(m);
                }
            }
            Ok(Page {
                items,
                next_cursor: None,
            })
        })
        .await
    }

    async fn memberships_of_user(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        let prefix = format!("{user}/");
        let end = format!("{user}0");
        self.read(move |tx| {
            let t = tx.open_table(USER_MEMBERS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in t
                .range(prefix.as_str()..end.as_str())
                .map_err(unavailable)?
            {
                let (k, _) = entry.map_err(unavailable)?;
                let rest = &k.value()[prefix.len()..];
                if let Some((org, member)) = rest.split_once('/') {
                    out.extend(tx.get_json::<Membership>(MEMBERS, &format!("{org}/{member}"))?);
                }
            }
            Ok(out)
        })
        .await
    }

    /// One redb write transaction takes any number.
    fn max_new_memberships_per_write(&self) -> usize {
        usize::MAX
    }

    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (seen, new, events) = (org.clone(), new.to_vec(), events.to_vec());
        self.write(move |tx| {
            let wanted = u32::try_from(new.len()).map_err(|_| StoreError::NoSeats)?;
            take_seats(tx, &seen, wanted)?;
            for m in &new {
                if m.org_id != seen.id || membership_exists(tx, m)? {
                    return Err(StoreError::Conflict);
                }
                put_membership(tx, m)?;
            }
            put_events(tx, &events)
        })
        .await
    }

    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        self.accept_membership(updated, expected, None, events)
            .await
    }

    async fn update_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let delta = admit_store::seat_delta(updated, expected).ok_or(StoreError::Conflict)?;
        let (seen, m, expected, events) = (
            org.clone(),
            updated.clone(),
            expected.clone(),
            events.to_vec(),
        );
        self.write(move |tx| {
            stored_as_expected(tx, &m, &expected)?;
            if m.org_id != seen.id {
                return Err(StoreError::Conflict);
            }
            guard_owners(tx, &seen.id, expected.owners_version)?;
            if delta > 0 {
                take_seats(tx, &seen, 1)?;
            } else {
                free_seat(tx, &seen.id)?;
            }
            put_membership(tx, &m)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn remove_membership(
        &self,
        membership: &Membership,
        expected: &Expected,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (m, expected, events) = (membership.clone(), expected.clone(), events.to_vec());
        self.write(move |tx| {
            let stored = expect_membership(tx, &m, &expected)?;
            delete_membership(tx, &stored)?;
            if stored.occupies_seat() {
                free_seat(tx, &m.org_id)?;
            }
            put_events(tx, &events)
        })
        .await
    }

    async fn set_groups_and_role(
        &self,
        read: &Membership,
        updated: &Membership,
        events: &[Event],
    ) -> Result<(), StoreError> {
        if admit_store::moves_owner(read, updated) {
            return Err(StoreError::Conflict);
        }
        let (read, updated, events) = (read.clone(), updated.clone(), events.to_vec());
        self.write(move |tx| {
            let mut stored = stored_as_expected(tx, &read, &Expected::as_read(&read))?;
            stored.idp_groups = updated.idp_groups;
            stored.role = updated.role;
            stored.role_source = updated.role_source;
            put_membership(tx, &stored)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (m, expected, account, events) = (
            updated.clone(),
            expected.clone(),
            new_account.cloned(),
            events.to_vec(),
        );
        self.write(move |tx| {
            let stored = expect_membership(tx, &m, &expected)?;
            if let Some(a) = &account {
                create_account(tx, a)?;
            }
            if let Some(old) =
                user_member_key(&stored).filter(|k| Some(k) != user_member_key(&m).as_ref())
            {
                remove(tx, USER_MEMBERS, &old)?;
            }
            put_membership(tx, &m)?;
            put_events(tx, &events)
        })
        .await
    }
}
