//! [`SignIns`]: pending sign-ins, consumed SAML assertions, identity links
//! (and their index by account), link grants, the sign-in decision's writes
//! and the setup step.

use crate::accounts::{account_exists, create_account, replace_account};
use crate::events::put_events;
use crate::memberships::{expect_membership, membership_exists, put_membership};
use crate::organizations::take_seats;
use crate::{EmbeddedStore, Get, Table, decode, put, put_json, remove, unavailable};
use admit_domain::{
    Account, Event, ExternalId, IdentityLink, LinkGrant, Membership, OrgId, PendingSignIn,
    SetupGrant, Timestamp, TokenDigest, UserId,
};
use admit_store::{Expected, SignInWrite, SignIns, StoreError};
use async_trait::async_trait;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

/// State digest (hex) → pending sign-in.
pub(crate) const SIGN_INS: Table = TableDefinition::new("pending_sign_ins");
/// `{org}/{external id}` → identity link.
pub(crate) const LINKS: Table = TableDefinition::new("identity_links");
/// `{user}/{org}/{external id}` → empty: the identity links of an account.
pub(crate) const USER_LINKS: Table = TableDefinition::new("user_links");
/// Link token digest (hex) → link grant.
pub(crate) const LINK_GRANTS: Table = TableDefinition::new("link_grants");
/// Setup token digest (hex) → setup grant.
pub(crate) const SETUP_GRANTS: Table = TableDefinition::new("setup_grants");
/// Assertion digest (hex) → until (unix seconds, big-endian).
pub(crate) const ASSERTIONS: Table = TableDefinition::new("consumed_assertions");

fn link_key(org: &OrgId, external_id: &ExternalId) -> String {
    format!("{org}/{}", external_id.as_str())
}

/// The entry of `link` in the index by account: `{user}/` and its own key.
fn user_link_key(link: &IdentityLink) -> String {
    format!(
        "{}/{}",
        link.user_id,
        link_key(&link.org_id, &link.external_id)
    )
}

fn create_link(tx: &WriteTransaction, link: &IdentityLink) -> Result<(), StoreError> {
    let key = link_key(&link.org_id, &link.external_id);
    if tx.get_str(LINKS, &key)?.is_some() {
        return Err(StoreError::Conflict);
    }
    put_json(tx, LINKS, &key, link)?;
    put(tx, USER_LINKS, &user_link_key(link), b"")
}

/// The keys (`{org}/{external id}`) of `user`'s links, from the index.
fn link_keys_of<T: ReadableTable<&'static str, &'static [u8]>>(
    index: &T,
    user: &UserId,
) -> Result<Vec<String>, StoreError> {
    let (prefix, end) = (format!("{user}/"), format!("{user}0"));
    let mut out = Vec::new();
    for entry in index
        .range(prefix.as_str()..end.as_str())
        .map_err(unavailable)?
    {
        let (k, _) = entry.map_err(unavailable)?;
        out.push(k.value()[prefix.len()..].to_owned());
    }
    Ok(out)
}

/// Delete every identity link of `user` (and its index entries), in the
/// caller's transaction.
pub(crate) fn delete_links_of(tx: &WriteTransaction, user: &UserId) -> Result<(), StoreError> {
    let keys = link_keys_of(&tx.open_table(USER_LINKS).map_err(unavailable)?, user)?;
    for key in keys {
        let link: Option<IdentityLink> = tx.get_json(LINKS, &key)?;
        if link.is_some_and(|l| l.user_id == *user) {
            remove(tx, LINKS, &key)?;
        }
        remove(tx, USER_LINKS, &format!("{user}/{key}"))?;
    }
    Ok(())
}

/// Index every identity link by its account, when a file written before
/// the index existed has links and no index entries.
pub(crate) fn index_links_by_user(tx: &WriteTransaction) -> Result<(), StoreError> {
    if !tx
        .open_table(USER_LINKS)
        .map_err(unavailable)?
        .is_empty()
        .map_err(unavailable)?
    {
        return Ok(());
    }
    let mut keys = Vec::new();
    for entry in tx
        .open_table(LINKS)
        .map_err(unavailable)?
        .iter()
        .map_err(unavailable)?
    {
        let (_, v) = entry.map_err(unavailable)?;
        keys.push(user_link_key(&decode::<IdentityLink>(v.value())?));
    }
    for k in keys {
        put(tx, USER_LINKS, &k, b"")?;
    }
    Ok(())
}

/// The unix seconds until which a consumed-assertion record refuses replays.
pub(crate) fn assertion_until(value: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(value).ok().map(i64::from_be_bytes)
}

/// The writes of one sign-in decision, in the caller's transaction.
fn apply(tx: &WriteTransaction, write: &SignInWrite) -> Result<(), StoreError> {
    match write {
        SignInWrite::Link { link, membership } => {
            if !account_exists(tx, &link.user_id)? {
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
            if membership.org_id != seen.id {
                return Err(StoreError::Conflict);
            }
            take_seats(tx, seen, 1)?;
            if membership_exists(tx, membership)? {
                return Err(StoreError::Conflict);
            }
            create_account(tx, account)?;
            create_link(tx, link)?;
            put_membership(tx, membership)
        }
    }
}

#[async_trait]
impl SignIns for EmbeddedStore {
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
                .and_then(|v| assertion_until(v.value()))
                .is_some_and(|until| now.unix() < until);
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

    async fn apply_sign_in(&self, write: &SignInWrite, events: &[Event]) -> Result<(), StoreError> {
        let (write, events) = (write.clone(), events.to_vec());
        self.write(move |tx| {
            apply(tx, &write)?;
            put_events(tx, &events)
        })
        .await
    }

    async fn identity_links_of_user(&self, user: &UserId) -> Result<Vec<IdentityLink>, StoreError> {
        let user = user.clone();
        self.read(move |tx| {
            let keys = link_keys_of(&tx.open_table(USER_LINKS).map_err(unavailable)?, &user)?;
            let mut out = Vec::new();
            for key in keys {
                out.extend(tx.get_json::<IdentityLink>(LINKS, &key)?);
            }
            Ok(out)
        })
        .await
    }

    async fn put_link_grant(&self, grant: &LinkGrant) -> Result<(), StoreError> {
        let g = grant.clone();
        self.write(move |tx| put_json(tx, LINK_GRANTS, &g.digest.to_hex(), &g))
            .await
    }

    async fn take_link_grant(&self, digest: &TokenDigest) -> Result<Option<LinkGrant>, StoreError> {
        let key = digest.to_hex();
        self.write(move |tx| {
            remove(tx, LINK_GRANTS, &key)?
                .map(|v| decode(&v))
                .transpose()
        })
        .await
    }

    async fn put_setup_grant(
        &self,
        grant: &SetupGrant,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (g, events) = (grant.clone(), events.to_vec());
        self.write(move |tx| {
            put_json(tx, SETUP_GRANTS, &g.digest.to_hex(), &g)?;
            put_events(tx, &events)
        })
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
        events: &[Event],
    ) -> Result<(), StoreError> {
        let (key, m, expected, account, events) = (
            grant.to_hex(),
            membership.clone(),
            expected.clone(),
            account.clone(),
            events.to_vec(),
        );
        self.write(move |tx| {
            remove(tx, SETUP_GRANTS, &key)?.ok_or(StoreError::Conflict)?;
            expect_membership(tx, &m, &expected)?;
            replace_account(tx, &account)?;
            put_membership(tx, &m)?;
            put_events(tx, &events)
        })
        .await
    }
}
