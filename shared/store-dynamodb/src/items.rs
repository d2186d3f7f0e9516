//! Domain values as items: the value's own attributes (serde_dynamo) plus
//! the key attributes of its kind, and back.

use crate::error::unavailable;
use crate::keys::{
    DUE_PK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, PK, SK, TTL, due_sk, n, s,
    user_membership_sk, user_pk,
};
use admit_domain::{
    Account, AdminDigest, IdentityLink, Membership, Organization, PendingSignIn, Session,
    SetupGrant,
};
use admit_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Attributes this adapter adds to an item; never part of a domain value.
const KEY_ATTRIBUTES: [&str; 7] = [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, TTL];

/// Attribute of a guard item naming the item it guards.
pub(crate) const GUARD_ORG_ID: &str = "org_id";
pub(crate) const GUARD_USER_ID: &str = "user_id";

fn encode<T: Serialize>(value: &T, key: &Key) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(unavailable)?;
    debug_assert!(
        KEY_ATTRIBUTES.iter().all(|a| !item.contains_key(*a)),
        "a domain field shadows a key attribute"
    );
    item.extend(key.item());
    Ok(item)
}

fn strip(mut item: Item) -> Item {
    for a in KEY_ATTRIBUTES {
        item.remove(a);
    }
    item
}

/// Decode a stored value; the error names what failed and why.
pub(crate) fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(strip(item)).map_err(|e| {
        unavailable(format!(
            "stored {} does not decode: {e}",
            std::any::type_name::<T>()
        ))
    })
}

/// Decode a value holding secrets: the error leaves the (possibly quoted) value out.
pub(crate) fn decode_secret<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(strip(item)).map_err(|_| {
        unavailable(format!(
            "stored {} does not decode",
            std::any::type_name::<T>()
        ))
    })
}

pub(crate) fn organization(org: &Organization) -> Result<Item, StoreError> {
    encode(org, &Key::organization(&org.id))
}

/// The guard making SSO identifiers unique, pointing at its organization.
pub(crate) fn sso_guard(org: &Organization) -> Item {
    let mut item = Key::sso_identifier(&org.sso_identifier).item();
    item.insert(GUARD_ORG_ID.into(), s(org.id.as_str()));
    item
}

/// A membership; indexed by user (`gsi1`) only while it has one, and by
/// due time (`gsi2`) only while it owes an email.
pub(crate) fn membership(m: &Membership) -> Result<Item, StoreError> {
    let mut item = encode(m, &Key::membership(&m.org_id, &m.member_id))?;
    if let Some(mail) = &m.mail {
        item.insert(GSI2PK.into(), s(DUE_PK));
        item.insert(
            GSI2SK.into(),
            s(due_sk(mail.due_at, &m.org_id, &m.member_id)),
        );
    }
    if let Some(user) = &m.user_id {
        item.insert(GSI1PK.into(), s(user_pk(user)));
        item.insert(
            GSI1SK.into(),
            s(user_membership_sk(&m.org_id, &m.member_id)),
        );
    }
    Ok(item)
}

pub(crate) fn admin_digest(d: &AdminDigest) -> Result<Item, StoreError> {
    encode(d, &Key::admin_digest(&d.org_id))
}

pub(crate) fn account(a: &Account) -> Result<Item, StoreError> {
    encode(a, &Key::account(&a.id))
}

/// The guard making emails unique among accounts, pointing at its account.
pub(crate) fn email_guard(a: &Account) -> Item {
    let mut item = Key::email(&a.email).item();
    item.insert(GUARD_USER_ID.into(), s(a.id.as_str()));
    item
}

/// A session, which DynamoDB deletes some time after it expires.
pub(crate) fn session(session: &Session) -> Result<Item, StoreError> {
    let mut item = encode(session, &Key::session(&session.digest))?;
    item.insert(TTL.into(), n(session.expires_at.unix()));
    Ok(item)
}

/// A pending sign-in, which DynamoDB deletes some time after it expires.
pub(crate) fn pending_sign_in(p: &PendingSignIn) -> Result<Item, StoreError> {
    let mut item = encode(p, &Key::pending_sign_in(&p.state))?;
    item.insert(TTL.into(), n(p.expires_at.unix()));
    Ok(item)
}

pub(crate) fn identity_link(link: &IdentityLink) -> Result<Item, StoreError> {
    encode(link, &Key::identity_link(&link.org_id, &link.external_id))
}

/// A setup grant, which DynamoDB deletes some time after it expires.
pub(crate) fn setup_grant(g: &SetupGrant) -> Result<Item, StoreError> {
    let mut item = encode(g, &Key::setup_grant(&g.digest))?;
    item.insert(TTL.into(), n(g.expires_at.unix()));
    Ok(item)
}

/// The string attribute `name` of a guard item.
pub(crate) fn guard_target(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| unavailable(format!("guard item without its {name} attribute")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::{Email, OrgId, Role, Timestamp, UserId};
    use aws_sdk_dynamodb::types::AttributeValue;

    fn invited() -> Membership {
        let org = OrgId::generate(&mut rand::rng());
        let email = Email::parse("a@b.test").unwrap();
        let now = Timestamp::from_unix(1_800_000_000);
        Membership::invite(
            &org,
            email,
            Role::User,
            now,
            time::Duration::days(5),
            &mut rand::rng(),
        )
        .0
    }

    #[test]
    fn sign_in_records_round_trip_without_their_key_attributes() {
        let mut rng = rand::rng();
        let now = Timestamp::from_unix(1_800_000_000);
        let org = OrgId::generate(&mut rng);
        let link = IdentityLink {
            org_id: org.clone(),
            external_id: admit_domain::ExternalId::parse("sub|1 é").unwrap(),
            user_id: UserId::generate(&mut rng),
            linked_at: now,
        };
        let item = identity_link(&link).unwrap();
        assert_eq!(item[PK], s(format!("ORG#{org}")));
        assert_eq!(item[SK], s("IDP#sub|1 é"));
        assert!(!item.contains_key(TTL));
        assert_eq!(decode::<IdentityLink>(item).unwrap(), link);

        let started =
            PendingSignIn::start(org.clone(), None, "n".into(), "v".into(), now, &mut rng);
        let item = pending_sign_in(&started.pending).unwrap();
        assert_eq!(item[TTL], n(started.pending.expires_at.unix()));
        assert_eq!(
            decode_secret::<PendingSignIn>(item).unwrap(),
            started.pending
        );

        let member = admit_domain::MemberId::of(&org, &Email::parse("a@b.test").unwrap());
        let (grant, _) = SetupGrant::issue(org, member, UserId::generate(&mut rng), now, &mut rng);
        let item = setup_grant(&grant).unwrap();
        assert_eq!(item[SK], s("SETUP"));
        assert_eq!(item[TTL], n(grant.expires_at.unix()));
        assert_eq!(decode_secret::<SetupGrant>(item).unwrap(), grant);
    }

    #[test]
    fn memberships_round_trip_and_index_only_with_a_user() {
        let mut m = invited();
        let item = membership(&m).unwrap();
        assert!(!item.contains_key(GSI1PK) && !item.contains_key(GSI1SK));
        assert_eq!(item[PK], s(format!("ORG#{}", m.org_id)));
        assert_eq!(item[SK], s(format!("MEMBER#{}", m.member_id)));
        assert_eq!(decode::<Membership>(item).unwrap(), m);

        let user = UserId::generate(&mut rand::rng());
        m.accept(user.clone(), Timestamp::from_unix(1_800_000_100))
            .unwrap();
        let item = membership(&m).unwrap();
        assert_eq!(item[GSI1PK], s(format!("USER#{user}")));
        assert_eq!(
            item[GSI1SK],
            s(format!("MEMBER#{}#{}", m.org_id, m.member_id))
        );
        // `None` is stored as NULL: conditions on absent values must allow for it.
        assert_eq!(item["invitation"], AttributeValue::Null(true));
        assert_eq!(decode::<Membership>(item).unwrap(), m);
    }
}
