//! Domain values as items: the value's own attributes (serde_dynamo) plus
//! the key attributes of its kind, and back. Each capability module builds
//! its own items with [`encode`].

use crate::error::unavailable;
use crate::keys::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, PK, SK, TTL};
use admit_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Attributes this adapter adds to an item; never part of a domain value.
const KEY_ATTRIBUTES: [&str; 7] = [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, TTL];

/// Attribute of a guard item naming the item it guards.
pub(crate) const GUARD_ORG_ID: &str = "org_id";
pub(crate) const GUARD_USER_ID: &str = "user_id";

pub(crate) fn encode<T: Serialize>(value: &T, key: &Key) -> Result<Item, StoreError> {
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

/// The string attribute `name` of a guard item.
pub(crate) fn guard_target(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| unavailable(format!("guard item without its {name} attribute")))
}
