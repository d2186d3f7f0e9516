//! The DynamoDB store: every capability trait of `admit-store` on one table
//! (single-table design), with the semantics of the embedded store and the
//! same contract suite. One module per capability, named as its trait
//! (`organizations`, `memberships`, `accounts`,
//! `sessions`, `sign_ins`, `mail_queue`, `domains`, `scim`, `events`, `rate_limits`, `housekeeping`), each
//! building its own items; `ops` holds the request plumbing they share,
//! `keys` the key layout, `items` the encoding, `schema` the table.
//!
//! # Items
//!
//! Every item is its domain value serialized with `serde_dynamo` (`None` is a
//! NULL attribute) plus its key attributes. The table's schema lives in one
//! place, [`schema::TABLE`]: string keys `pk`/`sk`, the sparse indexes `gsi1`
//! (`gsi1pk`/`gsi1sk`: memberships and identity links by user; events by member) and `gsi2`
//! (`gsi2pk`/`gsi2sk`: memberships owing an email, by due time; unverified
//! domains, by when they were added; events by type), projection ALL, TTL on
//! `ttl`, on-demand billing. Each index is overloaded under partition keys
//! that never collide (`USER#…` and `DUE` for memberships, `DOMAINCHECK` for
//! domains, `EVENTS#…` for events).
//!
//! | Item            | `pk`                 | `sk`                  | other key attributes                                              |
//! |-----------------|----------------------|-----------------------|-------------------------------------------------------------------|
//! | organization    | `ORG#{org_id}`       | `ORG`                 | `occupied_seats` is a top-level number (`ADD`ed to); so is `owners_version` (the owners guard) |
//! | SSO id guard    | `SSOID#{identifier}` | `SSOID`               | `org_id`                                                          |
//! | membership      | `ORG#{org_id}`       | `MEMBER#{member_id}`  | with a user: `gsi1pk = USER#{user_id}`, `gsi1sk = MEMBER#{org_id}#{member_id}`; owing an email: `gsi2pk = DUE`, `gsi2sk = {due_at:012}#{org_id}#{member_id}` |
//! | account         | `USER#{user_id}`     | `ACCOUNT`             |                                                                   |
//! | email guard     | `EMAIL#{email}`      | `EMAIL`               | `user_id`                                                         |
//! | session         | `SESSION#{digest}`   | `SESSION`             | `ttl` = expiry in unix seconds (hex digest of the token)          |
//! | pending sign-in | `SIGNIN#{digest}`    | `SIGNIN`              | `ttl` = expiry in unix seconds (hex digest of the `state`)        |
//! | identity link   | `ORG#{org_id}`       | `IDP#{external_id}`   | the raw external id; `gsi1pk = USER#{user_id}`, `gsi1sk = LINK#{org_id}#{external_id}`; outside `MEMBER#`, so never in a listing nor among a user's memberships |
//! | link grant      | `LINKGRANT#{digest}` | `LINKGRANT`           | `ttl` = expiry in unix seconds (hex digest of the link token)     |
//! | admin digest    | `ORG#{org_id}`       | `DIGEST`              | `version` is the condition of every write; outside `MEMBER#`      |
//! | setup grant     | `SETUP#{digest}`     | `SETUP`               | `ttl` = expiry in unix seconds (hex digest of the setup token)    |
//! | consumed assertion | `SAML#{digest}`   | `SAML`                | `ttl` = until when a replay is refused (digest of the IdP and assertion ID) |
//! | org domain      | `ORG#{org_id}`       | `DOMAIN#{domain}`     | a domain the organization added; unverified: `gsi2pk = DOMAINCHECK`, `gsi2sk = {created_at:012}#{org_id}#{domain}` (dropped when verified); outside `MEMBER#`, so never in a listing |
//! | claimed domain  | `DOMAIN#{domain}`    | `DOMAIN`              | the domain's one holder: `org_id`, `verified` (`false` only on items written by operator claims before organizations verified their own domains; such an item holds nothing) |
//! | SCIM user       | `ORG#{org_id}`       | `SCIMUSER#{scim_id}`  | `version` is the condition of every write; `attributes` is JSON text (a DynamoDB map would not give every JSON value back as it was); outside `MEMBER#`, so never in a listing |
//! | SCIM `userName` guard | `ORG#{org_id}` | `SCIMNAME#{user_name_key}` | `scim_id` (the user holding it): an organization's `userName`s are unique, any case; a sort key holds at most 1,024 bytes, so a `user_name_key` past 1,015 bytes of UTF-8 is refused by DynamoDB (`Unavailable`; the embedded store takes it): the SCIM API bounds `userName` |
//! | SCIM group      | `ORG#{org_id}`       | `SCIMGROUP#{scim_id}` | `version` is the condition of every write; its members (id and member id, at most `MAX_GROUP_MEMBERS`) in the item |
//! | rate-limit counter | `RATE#{key}`      | `RATE`                | `attempts` (`ADD`ed to); `ttl` = the end of its window             |
//! | event           | `EVENTS#{org_id}`    | `{at:012}#{event_id}` (its position) | about a member: `gsi1pk = EVENTS#{org_id}#MEMBER#{member_id}`, `gsi1sk` = the position; always: `gsi2pk = EVENTS#{org_id}#TYPE#{type}`, `gsi2sk` = the position; `ttl` = `expires_at` in unix seconds (the retention) |
//!
//! # Access patterns
//!
//! | Operation                          | Key / index                                        | API call                       | Condition / notes |
//! |------------------------------------|----------------------------------------------------|--------------------------------|-------------------|
//! | `create_organization`              | SSO guard + organization + owner membership        | TransactWriteItems (3 Puts)    | each `attribute_not_exists(pk)`; any failure → `Conflict` |
//! | `organization`                     | `ORG#{org}` / `ORG`                                | GetItem (consistent)           | |
//! | `update_organization_settings`     | `ORG#{org}` / `ORG`                                | UpdateItem (with events: TransactWriteItems) | `SET` every attribute but `occupied_seats` and `owners_version`, if `attribute_exists(pk) AND sso_identifier = :ident AND settings_version = :expected` (absent counts as 0) and, when the plan has a capacity, `occupied_seats <= :capacity`; the old item (`ReturnValuesOnConditionCheckFailure`, or read again) tells `NoSeats` (only the seats failed) from `Conflict` |
//! | `organization_by_sso_identifier`   | `SSOID#{id}` / `SSOID`, then the organization      | 2 × GetItem (consistent)       | |
//! | `membership`                       | `ORG#{org}` / `MEMBER#{member}`                    | GetItem (consistent)           | |
//! | `memberships`                      | `ORG#{org}` / `MEMBER#{member}` × n                | BatchGetItem (consistent), chunks of 100 | unprocessed keys asked again with backoff |
//! | `list_memberships`                 | `pk = ORG#{org} AND begins_with(sk, "MEMBER#")`    | Query (consistent, ascending)  | optional filter `status = :status`; cursor = last member id returned, resumed with `ExclusiveStartKey` |
//! | `memberships_of_user`              | index `gsi1`: `gsi1pk = USER#{user} AND begins_with(gsi1sk, "MEMBER#")` | Query (eventually consistent), all pages | the user's links share the partition under `LINK#` |
//! | `add_memberships`                  | organization + each new membership + its events    | TransactWriteItems (1 Update + n Puts + the events' Puts, n ≤ 49, all ≤ 100) | org: `ADD occupied_seats :n` if `attribute_exists(pk)` AND seat plan as read (`seats.limit`, `seats.autoscale_max`) AND, with a capacity, `occupied_seats <= capacity - n`; memberships: `attribute_not_exists(pk)` |
//! | `update_membership`                | `ORG#{org}` / `MEMBER#{member}`                    | PutItem (with events or the owners guard: TransactWriteItems) | `attribute_exists(pk) AND status = :status AND invitation.digest = :digest` (or `attribute_not_exists(invitation.digest)`); with an expected owed email, also `mail.kind`, `mail.due_at` and `mail.attempts` equal (or `attribute_not_exists(mail)`); with `Expected::owners_version`, an Update of the organization: `owners_version = :v` (absent counts as 0), `SET owners_version = :v + 1` |
//! | `update_membership_seat`           | organization + membership                          | TransactWriteItems (1 Update + 1 Put) | the seat counter as in `add_memberships` (restore) or `ADD occupied_seats -1` if `occupied_seats >= 1` (revoke), with the owners guard, when expected, in the same Update (a transaction touches an item once) |
//! | `remove_membership`                | membership [+ organization]                        | TransactWriteItems (Delete [+ Update]) | membership as in `update_membership`; the organization's Update when the membership held a seat (`ADD occupied_seats -1`) or the owners guard is expected (both in one Update) |
//! | `delete_account`                   | per organization: the account's memberships + one Update of the organization + the events about it; then `USER#{user}`/`ACCOUNT`, `EMAIL#{email}`/`EMAIL` and the links (Query of `gsi1`, `LINK#`) + the other events | TransactWriteItems: one when ≤ 100 items; else each organization's part whole, packed into transactions of ≤ 100 (with the links that do not fit the last), then the account's | memberships as in `update_membership` AND `user_id = :user`; the organization `ADD occupied_seats -n` if `occupied_seats >= n`, with the owners guard; account unconditional; email guard and links `attribute_not_exists(pk) OR user_id = :user`; first, `Conflict` when the account holds a membership not given (`gsi1`, then BatchGetItem consistent) |
//! | `accept_membership` with account   | membership + `USER#{user}`/`ACCOUNT` + `EMAIL#{email}`/`EMAIL` | TransactWriteItems (3 Puts) | membership as above; account and email guard `attribute_not_exists(pk)` |
//! | `account`                          | `USER#{user}` / `ACCOUNT`                          | GetItem (consistent)           | |
//! | `due_memberships`                  | index `gsi2`: `gsi2pk = DUE AND gsi2sk < {now + 1:012}` | Query (eventually consistent, ascending, `Limit`) | the sparse index's `DUE` partition holds only memberships owing an email |
//! | `admin_digest`                     | `ORG#{org}` / `DIGEST`                             | GetItem (consistent)           | |
//! | `put_admin_digest`                 | `ORG#{org}` / `DIGEST`                             | PutItem                        | `attribute_not_exists(pk)` for version 0, else `version = :expected` |
//! | `account_by_email`                 | `EMAIL#{email}` / `EMAIL`, then the account        | 2 × GetItem (consistent)       | |
//! | `emails_with_accounts`             | `EMAIL#{email}` / `EMAIL` × n                      | BatchGetItem (consistent), chunks of 100 | only whether the guard exists; unprocessed keys asked again |
//! | `put_pending_sign_in`              | `SIGNIN#{digest}` / `SIGNIN`                       | PutItem                        | unconditional |
//! | `record_assertion`                 | `SAML#{digest}` / `SAML`                           | PutItem                        | `attribute_not_exists(pk) OR ttl <= :now`: a live record refuses the replay; one TTL has not deleted yet is overwritten |
//! | `take_pending_sign_in`             | `SIGNIN#{digest}` / `SIGNIN`                       | DeleteItem (`ReturnValues = ALL_OLD`) | `attribute_exists(pk)`, a failed condition is `None`: of concurrent callers exactly one gets the item; expired ones are returned until TTL deletes them |
//! | `identity_link`                    | `ORG#{org}` / `IDP#{external_id}`                  | GetItem (consistent)           | |
//! | `identity_links_of_user`           | index `gsi1`: `gsi1pk = USER#{user} AND begins_with(gsi1sk, "LINK#")` | Query (eventually consistent), all pages | |
//! | `put_link_grant`                   | `LINKGRANT#{digest}` / `LINKGRANT`                 | PutItem                        | unconditional |
//! | `take_link_grant`                  | `LINKGRANT#{digest}` / `LINKGRANT`                 | DeleteItem (`ReturnValues = ALL_OLD`) | as `take_pending_sign_in`: exactly one taker; expired ones are returned until TTL deletes them |
//! | `apply_sign_in` `Link`             | `USER#{user}`/`ACCOUNT` + link                     | TransactWriteItems (1 ConditionCheck + 1 Put) | account `attribute_exists(pk)`; link `attribute_not_exists(pk)`; any failure → `Conflict` |
//! | `apply_sign_in` `CreateAccountForInvitation` | membership + account + email guard + link | TransactWriteItems (4 Puts) | membership as in `update_membership` AND `(attribute_not_exists(user_id) OR attribute_type(user_id, NULL))`; the others `attribute_not_exists(pk)`; any failure → `Conflict` |
//! | `apply_sign_in` `CreateAccountAndMembership` | organization + membership + account + email guard + link | TransactWriteItems (1 Update + 4 Puts) | organization as in `add_memberships` with n = 1 (`NoSeats` or `Conflict`); the others `attribute_not_exists(pk)` (`Conflict`) |
//! | `put_setup_grant`                  | `SETUP#{digest}` / `SETUP`                         | PutItem (with events: TransactWriteItems) | unconditional |
//! | `setup_grant`                      | `SETUP#{digest}` / `SETUP`                         | GetItem (consistent)           | expired grants are returned until TTL deletes them |
//! | `complete_setup`                   | grant + membership + `USER#{user}`/`ACCOUNT`       | TransactWriteItems (1 Delete + 2 Puts) | grant `attribute_exists(pk)`; membership as in `update_membership`; account `attribute_exists(pk) AND email = :email`; any failure → `Conflict` |
//! | `put_session`                      | `SESSION#{digest}` / `SESSION`                     | PutItem (with events: TransactWriteItems) | unconditional |
//! | `session`                          | `SESSION#{digest}` / `SESSION`                     | GetItem (consistent)           | expired sessions are returned until TTL deletes them |
//! | `delete_session`                   | `SESSION#{digest}` / `SESSION`                     | DeleteItem                     | idempotent |
//! | `add_domain`                       | `ORG#{org}` / `DOMAIN#{domain}`                    | PutItem (with events: TransactWriteItems) | `attribute_not_exists(pk)`: added already → `Conflict` |
//! | `org_domain`                       | `ORG#{org}` / `DOMAIN#{domain}`                    | GetItem (consistent)           | |
//! | `org_domains`                      | `pk = ORG#{org} AND begins_with(sk, "DOMAIN#")`    | Query (consistent), all pages  | |
//! | `verify_domain`                    | org domain + `DOMAIN#{domain}` / `DOMAIN`          | TransactWriteItems (2 Puts + the events' Puts) | org domain put verified (out of `DOMAINCHECK`) if `attribute_exists(pk)`; holder `{org_id, verified: true}` if `attribute_not_exists(pk) OR org_id = :org_id OR verified = :false`; any failure → `Conflict` (of concurrent verifies exactly one wins) |
//! | `record_domain_check`              | `ORG#{org}` / `DOMAIN#{domain}`                    | UpdateItem                     | `SET last_checked_at` if `attribute_exists(pk)` and `verified_at` absent; a failed condition does nothing |
//! | `remove_domain`                    | org domain [+ holder], as read by 2 × GetItem (consistent) | TransactWriteItems (Delete + Delete or ConditionCheck + the events' Puts) | org domain `attribute_exists(pk)` and `verified_at` as read; the holder deleted if `org_id = :org_id` when read as this organization's, else checked `attribute_not_exists(pk) OR org_id <> :org_id`; a failed condition reads again (a few times, then `Conflict`); no item → `Ok(false)` |
//! | `domains_to_recheck`               | index `gsi2`: `gsi2pk = DOMAINCHECK AND gsi2sk >= {since:012}` | Query (eventually consistent, ascending, `Limit`) | the sparse index's `DOMAINCHECK` partition holds only unverified domains |
//! | `claimed_domain`                   | `DOMAIN#{domain}` / `DOMAIN`                       | GetItem (consistent)           | |
//! | `create_scim_user`                 | `ORG#{org}` / `SCIMUSER#{id}` + `ORG#{org}` / `SCIMNAME#{user_name_key}` | TransactWriteItems (2 Puts + the events' Puts) | each `attribute_not_exists(pk)`: the id or the `userName` taken → `Conflict` |
//! | `scim_user`                        | `ORG#{org}` / `SCIMUSER#{id}`                      | GetItem (consistent)           | |
//! | `scim_user_by_name`                | `ORG#{org}` / `SCIMNAME#{user_name_key}`, then the user | 2 × GetItem (consistent)  | |
//! | `scim_users`                       | `pk = ORG#{org} AND begins_with(sk, "SCIMUSER#")`  | Query (consistent), all pages  | by id |
//! | `update_scim_user`                 | the user [+ the old and the new guard]             | PutItem (with events or a rename: TransactWriteItems: Put [+ Delete + Put] + the events' Puts) | user `version = :before`; on a rename the old guard `scim_id = :id`, the new `attribute_not_exists(pk)` (taken → `Conflict`) |
//! | `delete_scim_user`                 | the user + its guard                               | TransactWriteItems (2 Deletes + the events' Puts) | user `version = :version`; guard `attribute_not_exists(pk) OR scim_id = :id` |
//! | `put_scim_group`                   | `ORG#{org}` / `SCIMGROUP#{id}`                     | PutItem (with events: TransactWriteItems) | create `attribute_not_exists(pk)`; replace `version = :expected` |
//! | `scim_group`                       | `ORG#{org}` / `SCIMGROUP#{id}`                     | GetItem (consistent)           | |
//! | `scim_groups`                      | `pk = ORG#{org} AND begins_with(sk, "SCIMGROUP#")` | Query (consistent), all pages  | by id |
//! | `delete_scim_group`                | `ORG#{org}` / `SCIMGROUP#{id}`                     | DeleteItem (with events: TransactWriteItems) | `version = :version` |
//! | `record_events`                    | `EVENTS#{org}` / position, each event              | 1 event: PutItem; more: TransactWriteItems (n Puts, n ≤ 100) | each `attribute_not_exists(pk)`; an event that exists (or twice in the write) → `Conflict` |
//! | `events` (no member, no type)      | `pk = EVENTS#{org}` [AND `sk` in the time range]   | Query (consistent, descending, `Limit` = what is left + 1) | time range: `sk >= {start:012}#` and/or `sk <= {end:012}#~`; cursor = the position of the last event returned, resumed with `ExclusiveStartKey` |
//! | `events` by member [and type]      | index `gsi1`: `gsi1pk = EVENTS#{org}#MEMBER#{member}` [AND `gsi1sk` in the range] | Query (eventually consistent, descending) | a type is a filter `type = :type`, read a page's worth a request until the page is full |
//! | `events` by type                   | index `gsi2`: `gsi2pk = EVENTS#{org}#TYPE#{type}` [AND `gsi2sk` in the range] | Query (eventually consistent, descending) | |
//! | `count_attempt`                    | `RATE#{key}` / `RATE`                              | UpdateItem (`ReturnValues = UPDATED_NEW`) | `ADD attempts :1 SET ttl = :window_end`: atomic, each attempt counted once |
//! | `attempts`                         | `RATE#{key}` / `RATE`                              | GetItem (consistent)           | |
//! | `sweep_expired`                    | none                                               | none                           | TTL on `ttl` deletes expired sessions, pending sign-ins, link grants, setup grants, assertion records, rate-limit counters and events past their retention |
//! | [`create_table`]                   | the table                                          | CreateTable, DescribeTable, DescribeTimeToLive, UpdateTimeToLive | an existing table is fine |
//!
//! Every write that changes state takes the events recording its change and
//! puts them (`attribute_not_exists(pk)`) in the same transaction, after the
//! change's own items (so a cancellation's reasons keep their indexes). A
//! write that is one PutItem, UpdateItem or DeleteItem without events
//! (`update_membership`, `update_organization_settings`, `put_session`,
//! `put_setup_grant`, `add_domain`, `update_scim_user` without a rename,
//! `put_scim_group`, `delete_scim_group`) stays that one call when given
//! none, and becomes one TransactWriteItems of the same item and condition
//! plus the events' Puts when given some. A failed condition writes no event.
//!
//! # Failures
//!
//! A failed condition is [`StoreError::Conflict`](admit_store::StoreError::Conflict), except on the
//! organization's seat counter: there the old item (returned with
//! `ReturnValuesOnConditionCheckFailure = ALL_OLD`, or read again) tells
//! [`StoreError::NoSeats`](admit_store::StoreError::NoSeats) (plan unchanged, seats taken) from `Conflict`
//! (organization gone or plan changed). A transaction cancelled by a
//! concurrent one (`TransactionConflict`) is retried with jittered backoff,
//! then reported as `Conflict`. Anything else from the SDK is
//! [`StoreError::Unavailable`](admit_store::StoreError::Unavailable) with the error's code and message. Taking a
//! pending sign-in that is gone (another caller took it) is `Ok(None)`.
//!
//! Seats move in six writes, each with the seat counter in its transaction:
//! `create_organization` (the owner's seat, counted in the item written),
//! `add_memberships`, `update_membership_seat` (revoke frees one, restore
//! takes one), `remove_membership` (frees the seat of a member holding one),
//! `delete_account` (the seats its memberships held) and the sign-in that
//! creates a membership. The owners guard (`Expected::owners_version`) is an
//! Update of the organization item too: where the seat counter's Update is
//! in the transaction already, the guard's condition and `SET` join it.
//!
//! `delete_account` is atomic only while it fits one transaction (100
//! items). Past that the memberships go first, each organization's part
//! whole, and the account, its email guard and its remaining links last: a
//! run refused part way leaves the account with fewer memberships, and
//! running it again with the memberships read again finishes. The links and
//! the check that no other membership exists read `gsi1`, eventually
//! consistent: a link or membership made a moment before may be missed. A write replacing a membership
//! without moving seats (`update_membership`, `accept_membership`, the
//! invited sign-in, `complete_setup`) is refused with `Conflict`, before
//! anything is sent, when the replacement would occupy a seat exactly when
//! the expected one does not.
//!
//! The indexes are eventually consistent: a membership accepted a moment
//! ago may be missing from `memberships_of_user` for a short while, an
//! event recorded a moment ago from a listing by member or by type, and a
//! domain verified a moment ago may still be among `domains_to_recheck`
//! (`record_domain_check` leaves a verified domain alone).

mod accounts;
mod domains;
mod error;
mod events;
mod housekeeping;
mod items;
mod keys;
mod mail_queue;
mod memberships;
mod ops;
mod organizations;
mod rate_limits;
pub mod schema;
mod scim;
mod sessions;
mod sign_ins;

pub use memberships::MAX_NEW_MEMBERSHIPS_PER_WRITE;
pub use schema::{attribute_definitions, create_table, global_secondary_indexes, key_schema};

use aws_sdk_dynamodb::Client;

/// The store on a DynamoDB table laid out as described in the crate docs.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items DynamoDB read for this store (GetItem, BatchGetItem, Query's `ScannedCount`).
    items_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl DynamoStore {
    /// A store on `table` (see [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            items_read: Default::default(),
        }
    }

    pub(crate) fn count_read(&self, items: usize) {
        self.items_read
            .fetch_add(items as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Items DynamoDB read for this store so far: a cost meter for tests and
    /// benchmarks, not part of the port.
    pub fn items_read(&self) -> u64 {
        self.items_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Open the connection to DynamoDB (TLS handshake, credentials,
    /// endpoint) before the first request needs it: a `GetItem` of a key no
    /// item has, given at most 2 s. Errors are the first real call's to
    /// report, so ignored here.
    pub async fn warm_up(&self) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let started = std::time::Instant::now();
        let get = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S("WARMUP".into()))
            .key(keys::SK, AttributeValue::S("WARMUP".into()))
            .send();
        // Bounded: a slow DynamoDB must not spend Lambda's 10 s init limit.
        let res = tokio::time::timeout(std::time::Duration::from_secs(2), get).await;
        tracing::debug!(
            ok = matches!(res, Ok(Ok(_))),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "DynamoDB connection warmed"
        );
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }
}
