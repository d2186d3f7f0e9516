//! Accounts, unique by email.

use crate::StoreError;
use admit_domain::{Account, Email, UserId};
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
}
