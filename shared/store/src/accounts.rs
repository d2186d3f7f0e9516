//! Accounts, unique by email.

use crate::Expected;
use crate::StoreError;
use admit_domain::{Account, Email, Event, Membership, UserId};
use async_trait::async_trait;
use std::collections::HashSet;

/// Accounts by id and by email. Accounts are created in the writes that
/// need them ([`crate::Memberships::accept_membership`],
/// [`crate::SignIns::apply_sign_in`]) and changed by
/// [`crate::SignIns::complete_setup`], each guarding the email's uniqueness.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn account(&self, id: &UserId) -> Result<Option<Account>, StoreError>;

    async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, StoreError>;

    /// Those of `emails` that an account has, each once: what many
    /// invitations' wording needs ("sign in with your account"), in one read
    /// of at most 100 emails per round trip instead of one read each.
    async fn emails_with_accounts(&self, emails: &[Email]) -> Result<HashSet<Email>, StoreError>;

    /// Delete `account`: each of its `memberships` (still as expected,
    /// seats freed, owners guarded as [`Expected::owners_version`] says), its
    /// identity links (all of them, found by the account), its email's
    /// uniqueness record and the account itself, with `events`. Embedded:
    /// one atomic write. DynamoDB: one transaction when everything fits
    /// (100 items); otherwise the memberships go first, in transactions of
    /// their own (each membership with its seat counter, guard and event),
    /// and the account, its links and its email last, so a run that stops
    /// part way leaves the account in place with fewer memberships, and
    /// running it again (with the memberships read again) finishes it.
    /// `Conflict` when something changed since it was read.
    async fn delete_account(
        &self,
        account: &Account,
        memberships: &[(Membership, Expected)],
        events: &[Event],
    ) -> Result<(), StoreError>;
}
