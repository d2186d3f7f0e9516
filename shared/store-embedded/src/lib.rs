//! The embedded store: one redb file, the default for `admit serve`.
//!
//! redb commits are atomic and durable (copy-on-write B-trees with a
//! checksummed commit slot, fsync on commit), so a `kill -9` mid-write leaves
//! either the old or the new state. Write transactions are serialized, which
//! gives every multi-record change the isolation DynamoDB transactions give.
//! Values are JSON; keys are built so prefix ranges answer the listings.

use admit_domain::{
    Account, AdminDigest, ClaimedDomain, Email, ExternalId, IdentityLink, MemberId, Membership,
    OrgId, Organization, PendingSignIn, Session, SetupGrant, SsoIdentifier, Status, Timestamp,
    TokenDigest, UserId,
};
use admit_store::{Expected, MAX_NEW_MEMBERSHIPS_PER_WRITE, Page, SignInWrite, Store, StoreError};
use async_trait::async_trait;
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type Table = TableDefinition<'static, &'static str, &'static [u8]>;

const ORGS: Table = TableDefinition::new("organizations");
const SSO_IDS: Table = TableDefinition::new("sso_identifiers");
const MEMBERS: Table = TableDefinition::new("memberships"); // "{org}/{member}"
const USER_MEMBERS: Table = TableDefinition::new("user_memberships"); // "{user}/{org}/{member}"
const ACCOUNTS: Table = TableDefinition::new("accounts");
const EMAILS: Table = TableDefinition::new("account_emails"); // email -> user id
const SESSIONS: Table = TableDefinition::new("sessions");
const SIGN_INS: Table = TableDefinition::new("pending_sign_ins");
const LINKS: Table = TableDefinition::new("identity_links"); // "{org}/{external id}"
const SETUP_GRANTS: Table = TableDefinition::new("setup_grants");
const DOMAINS: Table = TableDefinition::new("claimed_domains");
const ASSERTIONS: Table = TableDefinition::new("consumed_assertions"); // digest -> until (unix seconds)
/// The owed-email index: "{due_at unix, 12 digits}/{org}/{member}" of every
/// membership that owes an email, in time order (the sparse index).
const DUE: Table = TableDefinition::new("owed_mail_due");
/// Each organization's administrators' digest record, by organization id.
const DIGESTS: Table = TableDefinition::new("admin_digests");
const ALL_TABLES: [Table; 14] = [
    DIGESTS,
    DUE,
    ASSERTIONS,
    DOMAINS,
    ORGS,
    SSO_IDS,
    MEMBERS,
    USER_MEMBERS,
    ACCOUNTS,
    EMAILS,
    SESSIONS,
    SIGN_INS,
    LINKS,
    SETUP_GRANTS,
];

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    items_read: Arc<AtomicU64>,
}

/// How many items a read returned, for [`Store::items_read`].
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

impl<T> Counted for Page<T> {
    fn count(&self) -> u64 {
        self.items.len() as u64
    }
}

fn due_key(m: &Membership) -> Option<String> {
    m.mail.map(|mail| {
        format!(
            "{:012}/{}/{}",
            mail.due_at.unix().max(0),
            m.org_id,
            m.member_id
        )
    })
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

fn member_key(org: &OrgId, member: &MemberId) -> String {
    format!("{org}/{member}")
}

fn user_member_key(m: &Membership) -> Option<String> {
    m.user_id
        .as_ref()
        .map(|u| format!("{u}/{}/{}", m.org_id, m.member_id))
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

/// Write `m` with its index entries (by user; by owed email's due time).
fn put_membership(tx: &WriteTransaction, m: &Membership) -> Result<(), StoreError> {
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

/// The stored membership, if it is still as `expected`.
fn expect_membership(
    tx: &WriteTransaction,
    m: &Membership,
    expected: &Expected,
) -> Result<Membership, StoreError> {
    let stored: Membership = tx
        .get_json(MEMBERS, &member_key(&m.org_id, &m.member_id))?
        .ok_or(StoreError::Conflict)?;
    if !expected.matches(&stored) || stored.occupies_seat() != m.occupies_seat() {
        return Err(StoreError::Conflict);
    }
    Ok(stored)
}

fn link_key(org: &OrgId, external_id: &ExternalId) -> String {
    format!("{org}/{}", external_id.as_str())
}

fn remove(tx: &WriteTransaction, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let mut t = tx.open_table(table).map_err(unavailable)?;
    let old = t.remove(key).map_err(unavailable)?;
    Ok(old.map(|v| v.value().to_vec()))
}

/// Create `account` and its email guard; `Conflict` if either exists.
fn create_account(tx: &WriteTransaction, a: &Account) -> Result<(), StoreError> {
    if tx.get_str(EMAILS, a.email.as_str())?.is_some()
        || tx.get_str(ACCOUNTS, a.id.as_str())?.is_some()
    {
        return Err(StoreError::Conflict);
    }
    put(tx, EMAILS, a.email.as_str(), a.id.as_str().as_bytes())?;
    put_json(tx, ACCOUNTS, a.id.as_str(), a)
}

fn create_link(tx: &WriteTransaction, link: &IdentityLink) -> Result<(), StoreError> {
    let key = link_key(&link.org_id, &link.external_id);
    if tx.get_str(LINKS, &key)?.is_some() {
        return Err(StoreError::Conflict);
    }
    put_json(tx, LINKS, &key, link)
}

impl EmbeddedStore {
    /// Open (or create) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let db = Database::create(path).map_err(unavailable)?;
        let tx = db.begin_write().map_err(unavailable)?;
        for t in ALL_TABLES {
            tx.open_table(t).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(Self {
            db: Arc::new(db),
            items_read: Arc::default(),
        })
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

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_organization(
        &self,
        org: &Organization,
        owner: &Membership,
    ) -> Result<(), StoreError> {
        let (org, owner) = (org.clone(), owner.clone());
        self.write(move |tx| {
            let ident = org.sso_identifier.as_str();
            if tx.get_str(SSO_IDS, ident)?.is_some() || tx.get_str(ORGS, org.id.as_str())?.is_some()
            {
                return Err(StoreError::Conflict);
            }
            put(tx, SSO_IDS, ident, org.id.as_str().as_bytes())?;
            put_json(tx, ORGS, org.id.as_str(), &org)?;
            put_membership(tx, &owner)
        })
        .await
    }

    async fn organization(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.read(move |tx| tx.get_json(ORGS, id.as_str())).await
    }

    async fn update_organization_settings(&self, org: &Organization) -> Result<(), StoreError> {
        let updated = org.clone();
        self.write(move |tx| {
            let stored: Organization = tx
                .get_json(ORGS, updated.id.as_str())?
                .ok_or(StoreError::Conflict)?;
            if stored.sso_identifier != updated.sso_identifier {
                return Err(StoreError::Conflict);
            }
            let org = Organization {
                occupied_seats: stored.occupied_seats,
                ..updated
            };
            put_json(tx, ORGS, org.id.as_str(), &org)
        })
        .await
    }

    async fn organization_by_sso_identifier(
        &self,
        id: &SsoIdentifier,
    ) -> Result<Option<Organization>, StoreError> {
        let id = id.clone();
        self.read(move |tx| match tx.get_str(SSO_IDS, id.as_str())? {
            Some(org) => tx.get_json(ORGS, &org),
            None => Ok(None),
        })
        .await
    }

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

    async fn add_memberships(
        &self,
        org: &Organization,
        new: &[Membership],
    ) -> Result<(), StoreError> {
        assert!(
            new.len() <= MAX_NEW_MEMBERSHIPS_PER_WRITE,
            "at most {MAX_NEW_MEMBERSHIPS_PER_WRITE} at once"
        );
        let (seen, new) = (org.clone(), new.to_vec());
        self.write(move |tx| {
            let mut org: Organization = tx
                .get_json(ORGS, seen.id.as_str())?
                .ok_or(StoreError::Conflict)?;
            if org.seats != seen.seats {
                return Err(StoreError::Conflict);
            }
            let wanted = u32::try_from(new.len()).expect("bounded above");
            org.seats
                .check(org.occupied_seats, wanted)
                .map_err(|_| StoreError::NoSeats)?;
            for m in &new {
                if m.org_id != org.id
                    || tx
                        .get_str(MEMBERS, &member_key(&m.org_id, &m.member_id))?
                        .is_some()
                {
                    return Err(StoreError::Conflict);
                }
                put_membership(tx, m)?;
            }
            org.occupied_seats += wanted;
            put_json(tx, ORGS, org.id.as_str(), &org)
        })
        .await
    }

    async fn update_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        self.accept_membership(updated, expected, None).await
    }

    async fn update_membership_seat(
        &self,
        org: &Organization,
        updated: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let delta = admit_store::seat_delta(updated, expected).ok_or(StoreError::Conflict)?;
        let (seen, m, expected) = (org.clone(), updated.clone(), expected.clone());
        self.write(move |tx| {
            let mut org: Organization = tx
                .get_json(ORGS, seen.id.as_str())?
                .ok_or(StoreError::Conflict)?;
            let stored: Membership = tx
                .get_json(MEMBERS, &member_key(&m.org_id, &m.member_id))?
                .ok_or(StoreError::Conflict)?;
            if !expected.matches(&stored) || m.org_id != org.id {
                return Err(StoreError::Conflict);
            }
            if delta > 0 {
                if org.seats != seen.seats {
                    return Err(StoreError::Conflict);
                }
                org.seats
                    .check(org.occupied_seats, 1)
                    .map_err(|_| StoreError::NoSeats)?;
                org.occupied_seats += 1;
            } else {
                org.occupied_seats = org.occupied_seats.saturating_sub(1);
            }
            put_membership(tx, &m)?;
            put_json(tx, ORGS, org.id.as_str(), &org)
        })
        .await
    }

    async fn remove_membership(
        &self,
        membership: &Membership,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let (m, expected) = (membership.clone(), expected.clone());
        self.write(move |tx| {
            let stored = expect_membership(tx, &m, &expected)?;
            remove(tx, MEMBERS, &member_key(&m.org_id, &m.member_id))?;
            if let Some(k) = user_member_key(&stored) {
                remove(tx, USER_MEMBERS, &k)?;
            }
            if let Some(k) = due_key(&stored) {
                remove(tx, DUE, &k)?;
            }
            if stored.occupies_seat() {
                let mut org: Organization = tx
                    .get_json(ORGS, m.org_id.as_str())?
                    .ok_or(StoreError::Conflict)?;
                org.occupied_seats = org.occupied_seats.saturating_sub(1);
                put_json(tx, ORGS, org.id.as_str(), &org)?;
            }
            Ok(())
        })
        .await
    }

    async fn accept_membership(
        &self,
        updated: &Membership,
        expected: &Expected,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError> {
        let (m, expected, account) = (updated.clone(), expected.clone(), new_account.cloned());
        self.write(move |tx| {
            let stored = expect_membership(tx, &m, &expected)?;
            if let Some(a) = &account {
                create_account(tx, a)?;
            }
            if let Some(old) =
                user_member_key(&stored).filter(|k| Some(k) != user_member_key(&m).as_ref())
            {
                tx.open_table(USER_MEMBERS)
                    .map_err(unavailable)?
                    .remove(old.as_str())
                    .map_err(unavailable)?;
            }
            put_membership(tx, &m)
        })
        .await
    }

    async fn put_claimed_domain(&self, domain: &ClaimedDomain) -> Result<(), StoreError> {
        let d = domain.clone();
        self.write(move |tx| {
            if let Some(existing) = tx.get_json::<ClaimedDomain>(DOMAINS, &d.domain)?
                && existing.org_id != d.org_id
            {
                return Err(StoreError::Conflict);
            }
            put_json(tx, DOMAINS, &d.domain, &d)
        })
        .await
    }

    async fn claimed_domain(&self, domain: &str) -> Result<Option<ClaimedDomain>, StoreError> {
        let key = domain.to_owned();
        self.read(move |tx| tx.get_json(DOMAINS, &key)).await
    }

    async fn put_pending_sign_in(&self, pending: &PendingSignIn) -> Result<(), StoreError> {
        let p = pending.clone();
        self.write(move |tx| put_json(tx, SIGN_INS, &p.state.to_hex(), &p))
            .await
    }

    async fn take_pending_sign_in(
        &self,
        state: &TokenDigest,
    ) -> Result<Option<PendingSignIn>, StoreError> {
        let key = state.to_hex();
        self.write(move |tx| remove(tx, SIGN_INS, &key)?.map(|v| decode(&v)).transpose())
            .await
    }

    async fn due_memberships(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Membership>, StoreError> {
        // Every key of a time up to `now` sorts before "{now + 1}/".
        let end = format!("{:012}/", now.unix().max(0) + 1);
        self.read(move |tx| {
            let due = tx.open_table(DUE).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in due.range(..end.as_str()).map_err(unavailable)?.take(limit) {
                let (k, _) = entry.map_err(unavailable)?;
                if let Some((_, member)) = k.value().split_once('/') {
                    out.extend(tx.get_json::<Membership>(MEMBERS, member)?);
                }
            }
            Ok(out)
        })
        .await
    }

    fn items_read(&self) -> u64 {
        self.items_read.load(Ordering::Relaxed)
    }

    async fn admin_digest(&self, org: &OrgId) -> Result<Option<AdminDigest>, StoreError> {
        let key = org.to_string();
        self.read(move |tx| tx.get_json(DIGESTS, &key)).await
    }

    async fn put_admin_digest(
        &self,
        digest: &AdminDigest,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let digest = digest.clone();
        self.write(move |tx| {
            let key = digest.org_id.to_string();
            let stored: Option<AdminDigest> = tx.get_json(DIGESTS, &key)?;
            if stored.map_or(0, |d| d.version) != expected_version {
                return Err(StoreError::Conflict);
            }
            put_json(tx, DIGESTS, &key, &digest)
        })
        .await
    }

    async fn record_assertion(
        &self,
        digest: &TokenDigest,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = digest.to_hex();
        self.write(move |tx| {
            let mut table = tx.open_table(ASSERTIONS).map_err(unavailable)?;
            let live = table
                .get(key.as_str())
                .map_err(unavailable)?
                .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
                .is_some_and(|b| now.unix() < i64::from_be_bytes(b));
            if live {
                return Ok(false);
            }
            table
                .insert(key.as_str(), until.unix().to_be_bytes().as_slice())
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn identity_link(
        &self,
        org: &OrgId,
        external_id: &ExternalId,
    ) -> Result<Option<IdentityLink>, StoreError> {
        let key = link_key(org, external_id);
        self.read(move |tx| tx.get_json(LINKS, &key)).await
    }

    async fn apply_sign_in(&self, write: &SignInWrite) -> Result<(), StoreError> {
        let write = write.clone();
        self.write(move |tx| match &write {
            SignInWrite::Link { link, membership } => {
                if tx.get_str(ACCOUNTS, link.user_id.as_str())?.is_none() {
                    return Err(StoreError::Conflict);
                }
                if let Some(m) = membership {
                    expect_membership(tx, m, &Expected::as_read(m))?;
                }
                create_link(tx, link)
            }
            SignInWrite::CreateAccountForInvitation {
                link,
                account,
                membership,
                expected,
            } => {
                let stored = expect_membership(tx, membership, expected)?;
                if stored.user_id.is_some() {
                    return Err(StoreError::Conflict);
                }
                create_account(tx, account)?;
                create_link(tx, link)?;
                put_membership(tx, membership)
            }
            SignInWrite::CreateAccountAndMembership {
                org: seen,
                link,
                account,
                membership,
            } => {
                let mut org: Organization = tx
                    .get_json(ORGS, seen.id.as_str())?
                    .ok_or(StoreError::Conflict)?;
                if org.seats != seen.seats || membership.org_id != org.id {
                    return Err(StoreError::Conflict);
                }
                org.seats
                    .check(org.occupied_seats, 1)
                    .map_err(|_| StoreError::NoSeats)?;
                if tx
                    .get_str(
                        MEMBERS,
                        &member_key(&membership.org_id, &membership.member_id),
                    )?
                    .is_some()
                {
                    return Err(StoreError::Conflict);
                }
                create_account(tx, account)?;
                create_link(tx, link)?;
                put_membership(tx, membership)?;
                org.occupied_seats += 1;
                put_json(tx, ORGS, org.id.as_str(), &org)
            }
        })
        .await
    }

    async fn put_setup_grant(&self, grant: &SetupGrant) -> Result<(), StoreError> {
        let g = grant.clone();
        self.write(move |tx| put_json(tx, SETUP_GRANTS, &g.digest.to_hex(), &g))
            .await
    }

    async fn setup_grant(&self, digest: &TokenDigest) -> Result<Option<SetupGrant>, StoreError> {
        let key = digest.to_hex();
        self.read(move |tx| tx.get_json(SETUP_GRANTS, &key)).await
    }

    async fn complete_setup(
        &self,
        grant: &TokenDigest,
        membership: &Membership,
        expected: &Expected,
        account: &Account,
    ) -> Result<(), StoreError> {
        let (key, m, expected, account) = (
            grant.to_hex(),
            membership.clone(),
            expected.clone(),
            account.clone(),
        );
        self.write(move |tx| {
            remove(tx, SETUP_GRANTS, &key)?.ok_or(StoreError::Conflict)?;
            expect_membership(tx, &m, &expected)?;
            let stored: Account = tx
                .get_json(ACCOUNTS, account.id.as_str())?
                .ok_or(StoreError::Conflict)?;
            if stored.email != account.email {
                return Err(StoreError::Conflict);
            }
            put_json(tx, ACCOUNTS, account.id.as_str(), &account)?;
            put_membership(tx, &m)
        })
        .await
    }

    async fn account(&self, id: &UserId) -> Result<Option<Account>, StoreError> {
        let id = id.clone();
        self.read(move |tx| tx.get_json(ACCOUNTS, id.as_str()))
            .await
    }

    async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let email = email.clone();
        self.read(move |tx| match tx.get_str(EMAILS, email.as_str())? {
            Some(id) => tx.get_json(ACCOUNTS, &id),
            None => Ok(None),
        })
        .await
    }

    async fn emails_with_accounts(
        &self,
        emails: &[Email],
    ) -> Result<std::collections::HashSet<Email>, StoreError> {
        let emails = emails.to_vec();
        let found = self
            .read(move |tx| {
                let mut found = Vec::new();
                for e in emails {
                    if tx.get_str(EMAILS, e.as_str())?.is_some() {
                        found.push(e);
                    }
                }
                Ok(found)
            })
            .await?;
        Ok(found.into_iter().collect())
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let s = session.clone();
        self.write(move |tx| put_json(tx, SESSIONS, &s.digest.to_hex(), &s))
            .await
    }

    async fn session(&self, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        let key = digest.to_hex();
        self.read(move |tx| tx.get_json(SESSIONS, &key)).await
    }

    async fn delete_session(&self, digest: &TokenDigest) -> Result<(), StoreError> {
        let key = digest.to_hex();
        self.write(move |tx| {
            tx.open_table(SESSIONS)
                .map_err(unavailable)?
                .remove(key.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
