//! [`MailQueue`]: the sparse, time-ordered index of memberships owing an
//! email (kept by every membership write, see `memberships::put_membership`)
//! and the administrators' digest records.

use crate::memberships::MEMBERS;
use crate::{EmbeddedStore, Get, Table, put_json, unavailable};
use admit_domain::{AdminDigest, Membership, OrgId, Timestamp};
use admit_store::{MailQueue, StoreError};
use async_trait::async_trait;
use redb::TableDefinition;

/// `{due_at unix, 12 digits}/{org}/{member}` → empty, for every membership
/// that owes an email, in time order (the sparse index).
pub(crate) const DUE: Table = TableDefinition::new("owed_mail_due");
/// Organization id → its administrators' digest record.
pub(crate) const DIGESTS: Table = TableDefinition::new("admin_digests");

/// The due-index key of `m`, while it owes an email.
pub(crate) fn due_key(m: &Membership) -> Option<String> {
    m.mail.map(|mail| {
        format!(
            "{:012}/{}/{}",
            mail.due_at.unix().max(0),
            m.org_id,
            m.member_id
        )
    })
}

#[async_trait]
impl MailQueue for EmbeddedStore {
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
}
