//! The store port: what the use cases read and write, cut into capability
//! traits — [`Organizations`] (and their seats), [`Memberships`],
//! [`Accounts`], [`Sessions`], [`SignIns`] (SSO sign-in state), [`MailQueue`]
//! (owed email and the administrators' digest), [`Domains`] (claimed
//! domains), [`Scim`] (the users and groups an IdP provisions), [`Events`] (the audit log), [`RateLimits`] (attempt counters) and [`Housekeeping`]
//! (expired records) — with [`Store`] as their
//! union for whoever needs them all.
//!
//! Two backends implement every trait, laid out the same way (one module per
//! capability, named as the trait, with the trait's own verbs):
//! `admit-store-embedded` (redb) and `admit-store-dynamodb`. Both pass the
//! same contract suite (`contract`, behind the `contract` feature), one
//! module of checks per capability, so they cannot drift.
//!
//! Every method that changes state is atomic: it applies entirely or not at
//! all, and refuses with [`StoreError::Conflict`] when the state it was
//! computed from has changed since it was read (optimistic concurrency).
//! Each takes the `events` that record its change and writes them in the
//! same atomic write: no change without its event, no event without its
//! change.
//!
//! A new capability is a new module here (its trait, added to [`Store`]),
//! the module of the same name in each backend, and a module of checks in
//! `contract` listed in `contract_tests!`.

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

#[cfg(feature = "contract")]
pub mod contract;

pub use accounts::Accounts;
pub use domains::Domains;
pub use events::Events;
pub use housekeeping::{Housekeeping, Swept};
pub use mail_queue::MailQueue;
pub use memberships::{Expected, Memberships, moves_owner, seat_delta};
pub use organizations::Organizations;
pub use rate_limits::RateLimits;
pub use scim::Scim;
pub use sessions::Sessions;
pub use sign_ins::{SignInWrite, SignIns};

/// The capability traits, for `use admit_store::prelude::*` where a caller
/// holds a [`Store`] and calls its methods.
pub mod prelude {
    pub use crate::{
        Accounts, Domains, Events, Housekeeping, MailQueue, Memberships, Organizations, RateLimits,
        Scim, Sessions, SignIns, Store,
    };
}

/// The most items one page of [`Memberships::list_memberships`] or
/// [`Events::events`] returns (the API's page size).
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's precondition no longer holds (the item exists, or changed).
    #[error("conflicting write")]
    Conflict,
    /// Taking the seats would go over the organization's seat capacity.
    #[error("no seats")]
    NoSeats,
    /// A cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend failed; the cause is for logs, not for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// One page of a listing and the cursor to the next.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Every capability: what a composition root hands the use cases.
pub trait Store:
    Organizations
    + Memberships
    + Accounts
    + Sessions
    + SignIns
    + MailQueue
    + Domains
    + Scim
    + Events
    + RateLimits
    + Housekeeping
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: Organizations
        + Memberships
        + Accounts
        + Sessions
        + SignIns
        + MailQueue
        + Domains
        + Scim
        + Events
        + RateLimits
        + Housekeeping
        + Send
        + Sync
        + 'static
{
}
