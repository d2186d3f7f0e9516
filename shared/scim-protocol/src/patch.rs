//! PATCH (RFC 7644 §3.5.2): applying a PatchOp request to a stored
//! resource.
//!
//! [`apply`] works on a copy of the stored resource, applies the
//! operations in order, and validates the result as a PUT would
//! ([`crate::resource::validate`] with [`Mode::Replace`]), so that what it
//! returns is the representation to store (writable attributes only; the
//! store keeps `id` and `meta`). All operations apply, or none: the first
//! failing one fails the request.
//!
//! What is accepted, beyond the letter of RFC 7644, because identity
//! providers send it:
//!
//! - `Operations` and `op` in any case (Entra ID sends `Add`, `Replace`,
//!   `Remove`); `schemas` is not required.
//! - Path-less `add`/`replace` whose value object has dotted keys
//!   (`"name.givenName"`), URN-prefixed keys
//!   (`"urn:ietf:params:scim:schemas:core:2.0:User:userName"`), or the core
//!   URN as a key holding attributes: each key is handled as the `path` of
//!   its own operation.
//! - Booleans as strings (`"False"`), as in validation.
//! - `remove` of a multi-valued attribute with a `value` listing the
//!   values to remove (`{"op":"Remove","path":"members","value":[{"value":
//!   "id"}]}`, Entra ID's form without its SCIM-compliance flag), next to
//!   the RFC form `members[value eq "id"]`. A listed value matches the
//!   elements that have all of its non-null sub-attributes.
//! - A single object where a multi-valued attribute wants an array.
//! - `add` or `replace` through a value filter that matches nothing
//!   (`emails[type eq "work"].value`) on an attribute that has no value at
//!   all creates the value the filter describes (`{"type":"work",
//!   "value":…}`), as RFC 7644 says a `replace` of a missing attribute is
//!   an `add`; an `add` does so even when other values exist. This needs a
//!   filter made of `eq` terms joined by `and`.
//!
//! Choices where the RFC leaves room:
//!
//! - A path (or a key of a path-less value) naming an attribute Admit does
//!   not keep — an extension URN, `title`, `name.middleName` — is ignored,
//!   as validation ignores such attributes.
//! - A path naming a read-only attribute (`id`, `meta`, `groups`,
//!   `schemas`) is refused, 400 `mutability`. The same attributes inside a
//!   path-less value are ignored: Okta's group rename sends the group's
//!   `id` there.
//! - An immutable value (group members' sub-attributes) may be added and
//!   removed with its element, or repeated; changing it in place is 400
//!   `mutability`. Re-adding a member that is already there changes
//!   nothing.
//! - `add` of a value equal to one already there (same `value` and `type`)
//!   merges into it instead of duplicating it.
//! - Setting `primary: true` on a value clears it on the others (RFC 7644
//!   §3.5.2); setting it on two values in one operation is 400
//!   `invalidValue`.
//! - `replace` through a value filter that matches nothing, on an
//!   attribute that has values, is 400 `noTarget` (RFC 7644 §3.5.2.3).
//!   `remove` through one is a no-op: removing a member twice is harmless.
//! - `remove` without a path is 400 `noTarget`; `add`/`replace` without a
//!   `value` is 400 `invalidValue`; `replace` with a `null` value removes
//!   (RFC 7643 §2.5: null is unassigned), `add` with `null` does nothing.
//!
//! Cost: an operation is one pass over the attribute it touches, with a
//! hash index for the values it adds or removes by value; a run of
//! consecutive `remove` operations of the form `members[value eq "id"]`
//! (how Entra ID and Okta remove members) is applied as one pass. A group
//! PATCH of hundreds of member additions and removals is thus linear in
//! the number of members plus values sent, per operation that adds.

use crate::error::ScimError;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter, Scope, get_ci, is_present, str_eq};
use crate::resource::{
    Mode, attr_value, boolean, element, identity_key, is_primary, same_value, validate,
};
use crate::schema::{AttrType, Attribute, Mutability, Schema};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies a PatchOp request (`{"schemas":[…PatchOp],"Operations":[…]}`)
/// to `resource` (as stored) and returns the new representation to store,
/// validated as a PUT body would be. See the module documentation.
///
/// Errors: 400 `invalidSyntax` (not a PatchOp, unknown `op`), 400
/// `invalidPath` (malformed path), 400 `noTarget`, 400 `mutability`, 400
/// `invalidValue` (wrong type, missing value, required attribute removed).
/// The detail names the operation (1-based).
pub fn apply(schema: &Schema, resource: &Value, request: &Value) -> Result<Value, ScimError> {
    let Some(req) = request.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    let Some(ops) = get_ci(req, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body has no Operations",
        ));
    };
    let Some(ops) = ops.as_array() else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    let mut doc = canonical(schema, resource);
    let mut i = 0;
    while i < ops.len() {
        if let Some((def, ids, n)) = removal_run(schema, &ops[i..]) {
            remove_by_value(&mut doc, def, &ids);
            i += n;
            continue;
        }
        apply_one(schema, &mut doc, &ops[i]).map_err(|mut e| {
            e.detail = format!("operation {}: {}", i + 1, e.detail);
            e
        })?;
        i += 1;
    }
    validate(schema, &Value::Object(doc), Mode::Replace(resource))
}

/// `{"op":"remove","path":"members[value eq \"id\"]"}`: the attribute and
/// the value, when an operation is exactly that (any case).
fn removal_by_value(schema: &Schema, op: &Value) -> Option<(&'static Attribute, String)> {
    let op = op.as_object()?;
    if !get_ci(op, "op")?.as_str()?.eq_ignore_ascii_case("remove")
        || get_ci(op, "value").is_some_and(|v| !v.is_null())
    {
        return None;
    }
    let path = AttrPath::parse(get_ci(op, "path")?.as_str()?).ok()?;
    if path.sub.is_some() || !path.in_schema(schema) {
        return None;
    }
    let def = schema.attribute(&path.attr)?;
    let vdef = def.sub_attribute("value")?;
    if !def.multi_valued || def.mutability != Mutability::ReadWrite || vdef.is_complex() {
        return None;
    }
    match path.filter.as_deref()? {
        Filter::Compare(p, CompareOp::Eq, CompValue::String(want))
            if p.urn.is_none()
                && p.filter.is_none()
                && p.sub.is_none()
                && p.attr.eq_ignore_ascii_case("value") =>
        {
            Some((def, fold(vdef, want)))
        }
        _ => None,
    }
}

/// A run of at least two consecutive removals by value from the same
/// attribute (how Entra ID and Okta remove group members): applied in one
/// pass over the values, which they commute with. Returns the attribute,
/// the values (folded) and the number of operations.
fn removal_run(
    schema: &Schema,
    ops: &[Value],
) -> Option<(&'static Attribute, HashSet<String>, usize)> {
    let (def, first) = removal_by_value(schema, ops.first()?)?;
    let mut ids = HashSet::from([first]);
    let mut n = 1;
    while let Some((d, id)) = ops.get(n).and_then(|op| removal_by_value(schema, op)) {
        if d.name != def.name {
            break;
        }
        ids.insert(id);
        n += 1;
    }
    (n >= 2).then_some((def, ids, n))
}

fn remove_by_value(doc: &mut Map<String, Value>, def: &'static Attribute, ids: &HashSet<String>) {
    let vdef = def.sub_attribute("value").expect("a value sub-attribute");
    if let Some(Value::Array(items)) = doc.get_mut(def.name) {
        items.retain(|item| {
            !item
                .get(vdef.name)
                .and_then(Value::as_str)
                .is_some_and(|s| ids.contains(&fold(vdef, s)))
        });
    }
    drop_if_empty(doc, def.name);
}

/// A working copy of the stored resource with Admit's spelling of names.
fn canonical(schema: &Schema, resource: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(obj) = resource.as_object() else {
        return out;
    };
    for (key, value) in obj {
        match schema.attribute(key) {
            Some(def) if def.is_complex() => {
                let fix = |v: &Value| match v {
                    Value::Object(o) => Value::Object(
                        o.iter()
                            .map(|(k, v)| {
                                let name = def.sub_attribute(k).map_or(k.as_str(), |s| s.name);
                                (name.to_string(), v.clone())
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                };
                let value = match value {
                    Value::Array(items) => Value::Array(items.iter().map(fix).collect()),
                    other => fix(other),
                };
                out.insert(def.name.into(), value);
            }
            Some(def) => {
                out.insert(def.name.into(), value.clone());
            }
            None => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

fn apply_one(schema: &Schema, doc: &mut Map<String, Value>, op: &Value) -> Result<(), ScimError> {
    let Some(op) = op.as_object() else {
        return Err(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ));
    };
    let Some(name) = get_ci(op, "op").and_then(Value::as_str) else {
        return Err(ScimError::invalid_syntax("\"op\" is missing"));
    };
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" => Op::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "\"{name}\" is not an operation (add, replace, remove)"
            )));
        }
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(AttrPath::parse(s)?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(op, "value");
    match (kind, path) {
        (Op::Remove, None) => Err(ScimError::no_target("remove needs a path")),
        (Op::Remove, Some(path)) => match target(schema, &path)? {
            Some(t) => remove(doc, &t, value.filter(|v| !v.is_null())),
            None => Ok(()),
        },
        (_, None) => {
            let Some(Value::Object(values)) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{name} without a path needs an object of attributes as its value"
                )));
            };
            pathless(schema, doc, kind, values)
        }
        (_, Some(path)) => {
            let Some(value) = value else {
                return Err(ScimError::invalid_value(format!("{name} needs a value")));
            };
            match target(schema, &path)? {
                Some(t) => set(doc, kind, &t, value, true),
                None => Ok(()),
            }
        }
    }
}

fn pathless(
    schema: &Schema,
    doc: &mut Map<String, Value>,
    kind: Op,
    values: &Map<String, Value>,
) -> Result<(), ScimError> {
    for (key, value) in values {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if key.eq_ignore_ascii_case(schema.id) {
            match value {
                Value::Object(inner) => pathless(schema, doc, kind, inner)?,
                Value::Null => {}
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object of attributes",
                        schema.id
                    )));
                }
            }
            continue;
        }
        // A key that is no path is no attribute Admit keeps.
        let Ok(path) = AttrPath::parse(key) else {
            continue;
        };
        if let Some(t) = target(schema, &path)? {
            set(doc, kind, &t, value, false)?;
        }
    }
    Ok(())
}

/// What a path designates, resolved against the schema.
struct Target<'p> {
    def: &'static Attribute,
    filter: Option<&'p Filter>,
    sub: Option<&'static Attribute>,
    text: String,
}

impl Target<'_> {
    fn read_only(&self) -> bool {
        self.def.mutability == Mutability::ReadOnly
            || self
                .sub
                .is_some_and(|s| s.mutability == Mutability::ReadOnly)
    }
}

fn target<'p>(schema: &Schema, path: &'p AttrPath) -> Result<Option<Target<'p>>, ScimError> {
    if !path.in_schema(schema) {
        return Ok(None);
    }
    if path.attr.eq_ignore_ascii_case("schemas") && path.filter.is_none() && path.sub.is_none() {
        return Err(ScimError::mutability("schemas cannot be changed"));
    }
    let Some(def) = schema.attribute(&path.attr) else {
        return Ok(None);
    };
    if path.filter.is_some() && !(def.is_complex() && def.multi_valued) {
        return Err(ScimError::invalid_path(format!(
            "{} is not a multi-valued complex attribute: it takes no [filter]",
            def.name
        )));
    }
    let sub = match &path.sub {
        None => None,
        Some(s) => {
            if !def.is_complex() {
                return Err(ScimError::invalid_path(format!(
                    "{} has no sub-attributes",
                    def.name
                )));
            }
            match def.sub_attribute(s) {
                Some(sub) => Some(sub),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(Target {
        def,
        filter: path.filter.as_deref(),
        sub,
        text: path.to_string(),
    }))
}

fn read_only_error(t: &Target<'_>) -> ScimError {
    ScimError::mutability(format!("{} is read-only", t.text))
}

fn immutable_error(t: &Target<'_>) -> ScimError {
    ScimError::mutability(format!(
        "{} is immutable: it cannot change once set",
        t.text
    ))
}

/// add / replace with a value.
fn set(
    doc: &mut Map<String, Value>,
    kind: Op,
    t: &Target<'_>,
    value: &Value,
    explicit: bool,
) -> Result<(), ScimError> {
    if t.read_only() {
        return if explicit {
            Err(read_only_error(t))
        } else {
            Ok(())
        };
    }
    let def = t.def;
    if t.filter.is_some() {
        return set_filtered(doc, kind, t, value);
    }
    match (def.multi_valued, t.sub) {
        (true, None) => set_multi(doc, kind, t, value),
        (true, Some(sub)) => set_sub_of_all(doc, kind, t, sub, value),
        (false, Some(sub)) => {
            let new = attr_value(sub, value, &t.text)?;
            let obj = object_entry(doc, def.name);
            let result = set_field(obj, kind, t, sub, new);
            drop_if_empty(doc, def.name);
            result
        }
        (false, None) if def.is_complex() => {
            if value.is_null() {
                if kind == Op::Replace {
                    doc.remove(def.name);
                }
                return Ok(());
            }
            if !value.is_object() {
                return Err(ScimError::invalid_value(format!(
                    "{} must be an object",
                    t.text
                )));
            }
            let Some(Value::Object(new)) = attr_value(def, value, &t.text)? else {
                return Ok(());
            };
            let obj = object_entry(doc, def.name);
            for (k, v) in new {
                let sub = def.sub_attribute(&k).expect("validated sub-attribute");
                set_field(obj, kind, t, sub, Some(v))?;
            }
            drop_if_empty(doc, def.name);
            Ok(())
        }
        (false, None) => {
            let new = attr_value(def, value, &t.text)?;
            set_field(doc, kind, t, def, new)
        }
    }
}

/// Sets (or, for a null replace, removes) one field of an object, honoring
/// immutability.
fn set_field(
    obj: &mut Map<String, Value>,
    kind: Op,
    t: &Target<'_>,
    def: &'static Attribute,
    new: Option<Value>,
) -> Result<(), ScimError> {
    let old = obj.get(def.name).filter(|v| is_present(v));
    let immutable = def.mutability == Mutability::Immutable;
    match new {
        None => {
            if kind == Op::Replace {
                if immutable && old.is_some() {
                    return Err(immutable_error(t));
                }
                obj.remove(def.name);
            }
        }
        Some(new) => {
            if immutable && old.is_some_and(|o| !same_value(def, o, &new)) {
                return Err(immutable_error(t));
            }
            obj.insert(def.name.into(), new);
        }
    }
    Ok(())
}

fn object_entry<'d>(doc: &'d mut Map<String, Value>, name: &str) -> &'d mut Map<String, Value> {
    let slot = doc
        .entry(name.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("an object")
}

fn array_entry<'d>(doc: &'d mut Map<String, Value>, name: &str) -> &'d mut Vec<Value> {
    let slot = doc
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    } else if !slot.is_array() {
        *slot = Value::Array(vec![slot.take()]);
    }
    slot.as_array_mut().expect("an array")
}

fn drop_if_empty(doc: &mut Map<String, Value>, name: &str) {
    let empty = match doc.get(name) {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        doc.remove(name);
    }
}

/// The validated elements of a value for a multi-valued attribute (an
/// array, or a single element).
fn new_elements(t: &Target<'_>, value: &Value) -> Result<Vec<Value>, ScimError> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Null => &[],
        one => std::slice::from_ref(one),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = element(t.def, item, &t.text)? {
            out.push(v);
        }
    }
    Ok(out)
}

fn set_multi(
    doc: &mut Map<String, Value>,
    kind: Op,
    t: &Target<'_>,
    value: &Value,
) -> Result<(), ScimError> {
    let def = t.def;
    let new = new_elements(t, value)?;
    if kind == Op::Replace {
        // The whole set is replaced; duplicates and primaries are settled by
        // the final validation.
        if new.is_empty() {
            doc.remove(def.name);
        } else {
            doc.insert(def.name.into(), Value::Array(new));
        }
        return Ok(());
    }
    let items = array_entry(doc, def.name);
    let mut index: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, v)| (identity_key(def, v), i))
        .collect();
    let mut chosen = Vec::new();
    for v in new {
        let primary = is_primary(&v);
        let at = match index.get(&identity_key(def, &v)) {
            Some(&i) => {
                merge_element(def, &mut items[i], v);
                i
            }
            None => {
                index.insert(identity_key(def, &v), items.len());
                items.push(v);
                items.len() - 1
            }
        };
        if primary {
            chosen.push(at);
        }
    }
    settle_primary(def, items, &chosen)?;
    drop_if_empty(doc, def.name);
    Ok(())
}

/// Adds an element equal to an existing one: its sub-attributes are taken,
/// except immutable ones already set.
fn merge_element(def: &Attribute, existing: &mut Value, new: Value) {
    let (Some(old), Value::Object(new)) = (existing.as_object_mut(), new) else {
        return;
    };
    for (k, v) in new {
        let immutable = def
            .sub_attribute(&k)
            .is_some_and(|s| s.mutability == Mutability::Immutable);
        if immutable && old.get(&k).is_some_and(is_present) {
            continue;
        }
        old.insert(k, v);
    }
}

/// After an operation set `primary` on the values at `chosen`: clears it on
/// the others.
fn settle_primary(def: &Attribute, items: &mut [Value], chosen: &[usize]) -> Result<(), ScimError> {
    if def.sub_attribute("primary").is_none() {
        return Ok(());
    }
    let mut chosen: Vec<usize> = chosen.to_vec();
    chosen.sort_unstable();
    chosen.dedup();
    if chosen.len() > 1 {
        return Err(ScimError::invalid_value(format!(
            "only one value of {} may be primary",
            def.name
        )));
    }
    if let Some(&keep) = chosen.first() {
        for (i, item) in items.iter_mut().enumerate() {
            if i != keep
                && is_primary(item)
                && let Some(obj) = item.as_object_mut()
            {
                obj.insert("primary".into(), Value::Bool(false));
            }
        }
    }
    Ok(())
}

fn sets_primary(sub: &Attribute, value: &Value) -> bool {
    sub.name == "primary" && boolean(value) == Some(true)
}

/// `emails.type` without a filter: every value's sub-attribute (or a new
/// value holding it, when there is none).
fn set_sub_of_all(
    doc: &mut Map<String, Value>,
    kind: Op,
    t: &Target<'_>,
    sub: &'static Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    let def = t.def;
    let new = attr_value(sub, value, &t.text)?;
    let items = array_entry(doc, def.name);
    if items.is_empty() {
        if let Some(new) = new {
            let mut obj = Map::new();
            obj.insert(sub.name.into(), new);
            if let Some(v) = element(def, &Value::Object(obj), &t.text)? {
                items.push(v);
            }
        }
    } else {
        for item in items.iter_mut() {
            if let Some(obj) = item.as_object_mut() {
                set_field(obj, kind, t, sub, new.clone())?;
            }
        }
        if sub.name == "primary" && new.as_ref().is_some_and(is_true) && items.len() > 1 {
            return Err(ScimError::invalid_value(format!(
                "only one value of {} may be primary",
                def.name
            )));
        }
    }
    drop_if_empty(doc, def.name);
    Ok(())
}

fn is_true(v: &Value) -> bool {
    *v == Value::Bool(true)
}

/// A value filter's matches among the elements, by index. The common
/// `value eq "…"` is compared directly, without the general evaluator.
fn matching(def: &'static Attribute, filter: &Filter, items: &[Value]) -> Vec<usize> {
    if let Filter::Compare(p, CompareOp::Eq, CompValue::String(want)) = filter
        && p.urn.is_none()
        && p.filter.is_none()
        && p.sub.is_none()
        && let Some(sub) = def.sub_attribute(&p.attr)
        && !sub.multi_valued
        && !sub.is_complex()
        && sub.kind != AttrType::Boolean
    {
        return items
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                v.get(sub.name)
                    .and_then(Value::as_str)
                    .is_some_and(|s| str_eq(sub.case_exact, s, want))
            })
            .map(|(i, _)| i)
            .collect();
    }
    let scope = Scope::Sub(def.sub_attributes);
    items
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_object().is_some_and(|o| filter.eval(scope, o)))
        .map(|(i, _)| i)
        .collect()
}

fn set_filtered(
    doc: &mut Map<String, Value>,
    kind: Op,
    t: &Target<'_>,
    value: &Value,
) -> Result<(), ScimError> {
    let def = t.def;
    let filter = t.filter.expect("a filter");
    let items = array_entry(doc, def.name);
    let hits = matching(def, filter, items);
    if hits.is_empty() {
        if kind == Op::Replace && !items.is_empty() {
            return Err(ScimError::no_target(format!(
                "no value of {} matches [{filter}]",
                def.name
            )));
        }
        if value.is_null() {
            drop_if_empty(doc, def.name);
            return Ok(());
        }
        // Create the value the filter describes.
        let Some(terms) = filter.eq_terms() else {
            return Err(ScimError::no_target(format!(
                "no value of {} matches [{filter}], and that filter does not describe one to create",
                def.name
            )));
        };
        let mut obj = Map::new();
        for (name, v) in terms {
            if let Some(sub) = def.sub_attribute(name) {
                obj.insert(sub.name.into(), v);
            }
        }
        match t.sub {
            Some(sub) => {
                obj.insert(sub.name.into(), value.clone());
            }
            None => {
                let Value::Object(given) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object",
                        t.text
                    )));
                };
                for (k, v) in given {
                    let name = def.sub_attribute(k).map_or(k.as_str(), |s| s.name);
                    obj.insert(name.into(), v.clone());
                }
            }
        }
        if let Some(v) = element(def, &Value::Object(obj), &t.text)? {
            let primary = is_primary(&v);
            items.push(v);
            let at = items.len() - 1;
            let chosen = if primary { vec![at] } else { Vec::new() };
            settle_primary(def, items, &chosen)?;
        }
        drop_if_empty(doc, def.name);
        return Ok(());
    }
    let mut chosen = Vec::new();
    match t.sub {
        Some(sub) => {
            let new = attr_value(sub, value, &t.text)?;
            let primary = new.as_ref().is_some_and(|v| sets_primary(sub, v));
            for &i in &hits {
                if let Some(obj) = items[i].as_object_mut() {
                    set_field(obj, kind, t, sub, new.clone())?;
                }
                if primary {
                    chosen.push(i);
                }
            }
        }
        None => {
            if !value.is_object() {
                return Err(ScimError::invalid_value(format!(
                    "{} must be an object",
                    t.text
                )));
            }
            let Some(new) = element(def, value, &t.text)? else {
                return Ok(());
            };
            let primary = is_primary(&new);
            for &i in &hits {
                match kind {
                    Op::Replace => {
                        // Replacing an element must not change its
                        // immutable sub-attributes.
                        for sub in def.sub_attributes {
                            if sub.mutability != Mutability::Immutable {
                                continue;
                            }
                            let old = items[i].get(sub.name).filter(|v| is_present(v));
                            let newv = new.get(sub.name);
                            if old.is_some_and(|o| !newv.is_some_and(|n| same_value(sub, o, n))) {
                                return Err(immutable_error(t));
                            }
                        }
                        items[i] = new.clone();
                    }
                    _ => {
                        let Some(obj) = items[i].as_object_mut() else {
                            continue;
                        };
                        for (k, v) in new.as_object().expect("an object") {
                            let sub = def.sub_attribute(k).expect("validated sub-attribute");
                            set_field(obj, kind, t, sub, Some(v.clone()))?;
                        }
                    }
                }
                if primary {
                    chosen.push(i);
                }
            }
        }
    }
    settle_primary(def, items, &chosen)?;
    drop_if_empty(doc, def.name);
    Ok(())
}

fn remove(
    doc: &mut Map<String, Value>,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if t.read_only() {
        return Err(read_only_error(t));
    }
    let def = t.def;
    if let Some(filter) = t.filter {
        let Some(Value::Array(items)) = doc.get_mut(def.name) else {
            return Ok(());
        };
        let hits = matching(def, filter, items);
        match t.sub {
            Some(sub) => {
                for i in hits {
                    if let Some(obj) = items[i].as_object_mut() {
                        set_field(obj, Op::Replace, t, sub, None)?;
                    }
                }
            }
            None => {
                let hits: HashSet<usize> = hits.into_iter().collect();
                let mut i = 0;
                items.retain(|_| {
                    let keep = !hits.contains(&i);
                    i += 1;
                    keep
                });
            }
        }
        drop_if_empty(doc, def.name);
        return Ok(());
    }
    match (def.multi_valued, t.sub) {
        (true, None) => {
            match value {
                Some(listed) => remove_listed(doc, t, listed)?,
                None => {
                    doc.remove(def.name);
                }
            }
            Ok(())
        }
        (true, Some(sub)) => {
            if let Some(Value::Array(items)) = doc.get_mut(def.name) {
                for item in items.iter_mut() {
                    if let Some(obj) = item.as_object_mut() {
                        set_field(obj, Op::Replace, t, sub, None)?;
                    }
                }
            }
            drop_if_empty(doc, def.name);
            Ok(())
        }
        (false, Some(sub)) => {
            if let Some(Value::Object(obj)) = doc.get_mut(def.name) {
                set_field(obj, Op::Replace, t, sub, None)?;
            }
            drop_if_empty(doc, def.name);
            Ok(())
        }
        (false, None) => {
            if def.mutability == Mutability::Immutable && doc.get(def.name).is_some_and(is_present)
            {
                return Err(immutable_error(t));
            }
            doc.remove(def.name);
            Ok(())
        }
    }
}

/// `remove` of a multi-valued attribute with the values to remove listed.
fn remove_listed(
    doc: &mut Map<String, Value>,
    t: &Target<'_>,
    listed: &Value,
) -> Result<(), ScimError> {
    let def = t.def;
    let listed: &[Value] = match listed {
        Value::Array(items) => items,
        one => std::slice::from_ref(one),
    };
    // Each listed value as its known, non-null sub-attributes.
    let mut conditions: Vec<Vec<(&'static Attribute, &Value)>> = Vec::with_capacity(listed.len());
    for item in listed {
        let cond: Vec<(&'static Attribute, &Value)> = match item {
            Value::Object(obj) if def.is_complex() => obj
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| def.sub_attribute(k).map(|s| (s, v)))
                .collect(),
            Value::Null => continue,
            v if !def.is_complex() => vec![(def, v)],
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "the values to remove from {} must be objects",
                    t.text
                )));
            }
        };
        if cond.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "a value to remove from {} names none of its sub-attributes",
                t.text
            )));
        }
        conditions.push(cond);
    }
    let Some(Value::Array(items)) = doc.get_mut(def.name) else {
        return Ok(());
    };
    // The usual shape, [{"value": "id"}, …], goes through a hash set.
    let by_value: Option<HashSet<String>> = conditions
        .iter()
        .map(|c| match c.as_slice() {
            [(sub, Value::String(s))] if sub.name == "value" => Some(fold(sub, s)),
            _ => None,
        })
        .collect();
    match by_value {
        Some(set) => {
            let vdef = def.sub_attribute("value").expect("a value sub-attribute");
            items.retain(|item| {
                !item
                    .get(vdef.name)
                    .and_then(Value::as_str)
                    .is_some_and(|s| set.contains(&fold(vdef, s)))
            });
        }
        None => items.retain(|item| {
            !conditions.iter().any(|cond| {
                cond.iter().all(|(sub, want)| {
                    let have = if def.is_complex() {
                        item.get(sub.name)
                    } else {
                        Some(item)
                    };
                    have.is_some_and(|have| listed_value_matches(sub, have, want))
                })
            })
        }),
    }
    drop_if_empty(doc, def.name);
    Ok(())
}

/// A stored value against one listed for removal: by the attribute's rules,
/// booleans also against their string forms.
fn listed_value_matches(def: &Attribute, have: &Value, want: &Value) -> bool {
    if def.kind == AttrType::Boolean {
        return boolean(have).is_some() && boolean(have) == boolean(want);
    }
    same_value(def, have, want)
}

fn fold(def: &Attribute, s: &str) -> String {
    if def.case_exact {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}
