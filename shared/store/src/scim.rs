//! SCIM: the users and groups an organization's IdP provisions. A SCIM
//! user points at the membership it provisions (whose own writes are the
//! memberships'); these are its attributes, its `userName` guard, and the
//! groups.

use crate::StoreError;
use admit_domain::{Event, OrgId, ScimGroup, ScimId, ScimUser};
use async_trait::async_trait;

#[async_trait]
pub trait Scim: Send + Sync {
    /// Create a SCIM user (`version` 1) and its `userName` guard
    /// (`user_name_key`, per organization), atomically. `Conflict` when the
    /// organization has a user of that `userName` (any case) or that id.
    async fn create_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError>;

    async fn scim_user(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimUser>, StoreError>;

    /// The user of `userName` (give [`admit_domain::scim::user_name_key`]).
    async fn scim_user_by_name(
        &self,
        org: &OrgId,
        user_name_key: &str,
    ) -> Result<Option<ScimUser>, StoreError>;

    /// Every SCIM user of the organization, by id.
    async fn scim_users(&self, org: &OrgId) -> Result<Vec<ScimUser>, StoreError>;

    /// Replace `before` (as read) by `after` (`version` one more),
    /// conditional on `before.version`; when the `userName` key changed, the
    /// guard moves in the same write (`Conflict` when the new one is taken).
    async fn update_scim_user(
        &self,
        before: &ScimUser,
        after: &ScimUser,
        events: &[Event],
    ) -> Result<(), StoreError>;

    /// Delete a user (as read: conditional on its version) and its guard.
    async fn delete_scim_user(&self, user: &ScimUser, events: &[Event]) -> Result<(), StoreError>;

    /// Create a group (`expected_version` `None`: it must not exist) or
    /// replace it (`Some(v)`: conditional on the version read; `group`
    /// carries `v + 1`). `Conflict` otherwise.
    async fn put_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: Option<u64>,
        events: &[Event],
    ) -> Result<(), StoreError>;

    async fn scim_group(&self, org: &OrgId, id: &ScimId) -> Result<Option<ScimGroup>, StoreError>;

    /// Every group of the organization, by id.
    async fn scim_groups(&self, org: &OrgId) -> Result<Vec<ScimGroup>, StoreError>;

    /// Delete a group (as read: conditional on its version).
    async fn delete_scim_group(
        &self,
        group: &ScimGroup,
        events: &[Event],
    ) -> Result<(), StoreError>;
}
