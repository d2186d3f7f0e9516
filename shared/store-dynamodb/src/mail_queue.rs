//! [`MailQueue`]: the sparse due index (`gsi2`: `gsi2pk = DUE`, `gsi2sk` =
//! due time, then the membership's key), which every membership item owing
//! an email is in (see [`crate::memberships`]), and the administrators'
//! digest record (`ORG#…`/`DIGEST`).

use crate::DynamoStore;
use crate::items::{decode, encode};
use crate::keys::{DUE_PK, Item, Key, n, s};
use crate::ops::{Expr, NOT_EXISTS};
use crate::schema::GSI2;
use admit_domain::{AdminDigest, Membership, OrgId, Timestamp};
use admit_store::{MailQueue, StoreError};
use async_trait::async_trait;

fn item(d: &AdminDigest) -> Result<Item, StoreError> {
    encode(d, &Key::admin_digest(&d.org_id))
}

#[async_trait]
impl MailQueue for DynamoStore {
    /// Memberships whose owed email is due at `now`, earliest first: Query
    /// of the sparse due index (`gsi2pk = DUE`, `gsi2sk` = due time, then the key).
    async fn due_memberships(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Membership>, StoreError> {
        // Every sort key of a time up to `now` sorts before "{now + 1}#".
        let until = s(format!("{:012}#", now.unix().max(0) + 1));
        self.query_all(limit, |start, left| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(GSI2.name)
                .key_condition_expression("#pk = :pk AND #sk < :until")
                .expression_attribute_names("#pk", GSI2.key.partition_key)
                .expression_attribute_names("#sk", GSI2.key.sort_key)
                .expression_attribute_values(":pk", s(DUE_PK))
                .expression_attribute_values(":until", until.clone())
                .set_exclusive_start_key(start)
                .limit(i32::try_from(left).unwrap_or(i32::MAX))
        })
        .await
    }

    async fn admin_digest(&self, org: &OrgId) -> Result<Option<AdminDigest>, StoreError> {
        self.get(&Key::admin_digest(org))
            .await?
            .map(decode)
            .transpose()
    }

    /// One conditional PutItem: the record's version must still be
    /// `expected_version` (0: no record).
    async fn put_admin_digest(
        &self,
        digest: &AdminDigest,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let condition = if expected_version == 0 {
            NOT_EXISTS.to_owned()
        } else {
            expr.name("#version", "version");
            expr.value(":version", n(expected_version));
            "#version = :version".to_owned()
        };
        self.put_conditionally(item(digest)?, &condition, &expr)
            .await
    }
}
