//! Validating a User or Group body (POST, PUT) into the representation
//! Admit stores, and reading the user's email address from it.
//!
//! [`validate`] turns what a client sent into what Admit keeps:
//!
//! - **Names** are matched without regard to case (RFC 7643 §2.1) and
//!   written as the schema spells them (`USERNAME` → `userName`), also when
//!   the client prefixes them with the schema URN
//!   (`urn:ietf:params:scim:schemas:core:2.0:User:userName`) or nests them
//!   under it.
//! - **Unknown attributes are dropped**, extension data included (the
//!   enterprise extension Entra ID sends by default, `roles`, `title`,
//!   `phoneNumbers`, Okta's `password` and `locale`, sub-attributes such as
//!   `name.middleName` or `emails[].display`). Identity providers send what
//!   their administrators mapped, and an endpoint that refused anything it
//!   does not keep would fail every provisioning run; RFC 7644 §3.3 lets a
//!   service provider ignore attributes it does not support, and
//!   `/Schemas` tells clients what is kept. A password is never kept.
//! - **Read-only attributes are dropped** (`id`, `meta`, `groups`): RFC 7644
//!   §3.5.1 says values given for them SHALL be ignored. The store adds
//!   `id` and `meta` itself, and computes `groups`.
//! - **Types** are checked: a string must be a JSON string, a complex
//!   attribute an object, a multi-valued attribute an array (400
//!   `invalidValue` otherwise). A boolean may also be the string
//!   `"true"`/`"false"` in any case, which Entra ID sends (its known issue
//!   "active as boolean"); it is stored as a JSON boolean.
//! - **Unassigned values** — `null`, `[]`, an object with nothing kept in
//!   it — are left out (RFC 7643 §2.5), so `"addresses": null` or
//!   `"members": []` simply do not appear.
//! - **Multi-valued attributes**: an element equal to an earlier one (same
//!   `value` and `type`) is dropped; at most one may be `primary` (400
//!   `invalidValue`); each element needs its required sub-attributes
//!   (`emails[].value`, `members[].value`).
//! - **Required attributes** must be present and non-empty: `userName` for
//!   a User, `displayName` for a Group (400 `invalidValue`).
//! - `schemas`, when given, must be an array including the resource's
//!   schema URN; other URNs in it (extensions) are fine. The result's
//!   `schemas` is the core URN alone, since extension data is not kept.
//!
//! With [`Mode::Replace`] (PUT), the stored resource is consulted for
//! immutable attributes: omitted ones keep their stored value, a different
//! value is refused (400 `mutability`). (The User and Group Admit keeps
//! have no immutable attribute at the top level; group members'
//! sub-attributes are immutable, and a PUT replaces members as a set.)
//! Attributes a PUT omits are otherwise cleared (RFC 7644 §3.5.1).

use crate::error::ScimError;
use crate::filter::{get_ci, is_present, str_eq};
use crate::schema::{AttrType, Attribute, Mutability, Schema};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// What a body is validated for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode<'a> {
    /// POST: a new resource.
    Create,
    /// PUT (and the result of a PATCH): replaces the stored resource given
    /// here (as stored, with or without its read-only attributes).
    Replace(&'a Value),
}

/// Validates a User or Group body against `schema` and returns the
/// representation to store: `schemas` plus the writable attributes Admit
/// keeps, canonically named and typed. Read-only attributes are never in
/// it. See the module documentation for every rule.
///
/// Errors: 400 `invalidSyntax` when the body is not an object or names an
/// attribute twice, 400 `invalidValue` for a wrong type, a missing
/// required attribute or two primary values, 400 `mutability` when a PUT
/// changes an immutable attribute.
pub fn validate(schema: &Schema, body: &Value, mode: Mode<'_>) -> Result<Value, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "the {} must be a JSON object",
            schema.name
        )));
    };
    let mut out = Map::new();
    let mut seen = HashSet::new();
    for (key, value) in obj {
        top_level(schema, key, value, &mut out, &mut seen, true)?;
    }
    if let Mode::Replace(stored) = mode
        && let Some(stored) = stored.as_object()
    {
        keep_immutable(schema, stored, &mut out)?;
    }
    for def in schema.all_attributes() {
        if def.required
            && def.mutability != Mutability::ReadOnly
            && !out.get(def.name).is_some_and(is_present)
        {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                def.name
            )));
        }
    }
    out.insert("schemas".into(), Value::Array(vec![schema.id.into()]));
    Ok(Value::Object(out))
}

fn top_level(
    schema: &Schema,
    key: &str,
    value: &Value,
    out: &mut Map<String, Value>,
    seen: &mut HashSet<&'static str>,
    allow_urn_object: bool,
) -> Result<(), ScimError> {
    if key.eq_ignore_ascii_case("schemas") {
        return check_schemas(schema, value);
    }
    if let Some(rest) = strip_prefix_ci(key, schema.id) {
        if rest.is_empty() {
            // The core URN as a key, its attributes inside.
            if !allow_urn_object {
                return Ok(());
            }
            return match value {
                Value::Null => Ok(()),
                Value::Object(inner) => {
                    for (k, v) in inner {
                        top_level(schema, k, v, out, seen, false)?;
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!(
                    "{} must be an object of attributes",
                    schema.id
                ))),
            };
        }
        return match rest.strip_prefix(':') {
            Some(name) => named(schema, name, value, out, seen),
            None => Ok(()),
        };
    }
    if key.contains(':') {
        // An extension schema (or one of its attributes): not kept.
        return Ok(());
    }
    named(schema, key, value, out, seen)
}

fn named(
    schema: &Schema,
    name: &str,
    value: &Value,
    out: &mut Map<String, Value>,
    seen: &mut HashSet<&'static str>,
) -> Result<(), ScimError> {
    let Some(def) = schema.attribute(name) else {
        return Ok(());
    };
    if def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    if !seen.insert(def.name) {
        return Err(ScimError::invalid_syntax(format!(
            "{} is given twice",
            def.name
        )));
    }
    if let Some(v) = attr_value(def, value, def.name)? {
        out.insert(def.name.into(), v);
    }
    Ok(())
}

fn check_schemas(schema: &Schema, value: &Value) -> Result<(), ScimError> {
    let urns = match value {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        _ => {
            return Err(ScimError::invalid_syntax(
                "schemas must be an array of schema URNs",
            ));
        }
    };
    let mut has_core = false;
    for urn in urns {
        let Some(urn) = urn.as_str() else {
            return Err(ScimError::invalid_syntax(
                "schemas must be an array of schema URNs",
            ));
        };
        has_core |= urn.eq_ignore_ascii_case(schema.id);
    }
    if has_core {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "schemas must include {}",
            schema.id
        )))
    }
}

fn keep_immutable(
    schema: &Schema,
    stored: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), ScimError> {
    for def in schema.all_attributes() {
        if def.mutability != Mutability::Immutable || def.multi_valued {
            continue;
        }
        let Some(old) = get_ci(stored, def.name).filter(|v| is_present(v)) else {
            continue;
        };
        match out.get(def.name) {
            None => {
                out.insert(def.name.into(), old.clone());
            }
            Some(new) if !same_value(def, old, new) => {
                return Err(ScimError::mutability(format!(
                    "{} is immutable: it cannot change once set",
                    def.name
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Validates a value of `def`, single or multi-valued as `def` says.
/// `None` for an unassigned value. `at` names the place in error details.
pub(crate) fn attr_value(
    def: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    if !def.multi_valued {
        return element(def, value, at);
    }
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut keys = HashSet::with_capacity(items.len());
            for item in items {
                if let Some(v) = element(def, item, at)?
                    && keys.insert(identity_key(def, &v))
                {
                    out.push(v);
                }
            }
            check_one_primary(def, &out)?;
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        _ => Err(ScimError::invalid_value(format!("{at} must be an array"))),
    }
}

/// One value of `def` (for a multi-valued attribute: one element), with
/// its required sub-attributes checked.
pub(crate) fn element(
    def: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    let v = single_value(def, value, at)?;
    if let Some(Value::Object(obj)) = &v {
        for sub in def.sub_attributes {
            if sub.required
                && sub.mutability != Mutability::ReadOnly
                && !obj.get(sub.name).is_some_and(is_present)
            {
                return Err(ScimError::invalid_value(format!(
                    "each value of {at} needs a {}",
                    sub.name
                )));
            }
        }
    }
    Ok(v)
}

fn single_value(
    def: &'static Attribute,
    value: &Value,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |what: &str| ScimError::invalid_value(format!("{at} must be {what}"));
    match def.kind {
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => {
            match value {
                Value::String(_) => Ok(Some(value.clone())),
                _ => Err(wrong("a string")),
            }
        }
        AttrType::Boolean => match boolean(value) {
            Some(b) => Ok(Some(Value::Bool(b))),
            None => Err(wrong("a boolean (true or false)")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            _ => Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(wrong("a number")),
        },
        AttrType::Complex => match value {
            Value::Object(obj) => complex(def, obj, at),
            _ => Err(wrong("an object")),
        },
    }
}

fn complex(
    def: &'static Attribute,
    obj: &Map<String, Value>,
    at: &str,
) -> Result<Option<Value>, ScimError> {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    for (key, value) in obj {
        let Some(sub) = def.sub_attribute(key) else {
            continue;
        };
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if !seen.insert(sub.name) {
            return Err(ScimError::invalid_syntax(format!(
                "{at}.{} is given twice",
                sub.name
            )));
        }
        if let Some(v) = attr_value(sub, value, &format!("{at}.{}", sub.name))? {
            out.insert(sub.name.into(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// A JSON boolean, or the strings "true"/"false" in any case.
pub(crate) fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub(crate) fn is_primary(value: &Value) -> bool {
    value.get("primary") == Some(&Value::Bool(true))
}

fn check_one_primary(def: &Attribute, values: &[Value]) -> Result<(), ScimError> {
    if def.sub_attribute("primary").is_some() && values.iter().filter(|v| is_primary(v)).count() > 1
    {
        return Err(ScimError::invalid_value(format!(
            "at most one value of {} may be primary",
            def.name
        )));
    }
    Ok(())
}

fn folded(def: Option<&Attribute>, v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if def.is_some_and(|d| d.case_exact) => s.clone(),
        Some(Value::String(s)) => s.to_lowercase(),
        Some(other) => other.to_string(),
    }
}

/// What makes two values of a multi-valued attribute "the same value":
/// for complex values with a `value` sub-attribute, `value` and `type`
/// (under their case rules); otherwise the whole (canonical) value.
pub(crate) fn identity_key(def: &Attribute, v: &Value) -> String {
    if def.is_complex() {
        if let (Some(vdef), Some(obj)) = (def.sub_attribute("value"), v.as_object()) {
            let tdef = def.sub_attribute("type");
            return format!(
                "{}\u{0}{}",
                folded(Some(vdef), obj.get(vdef.name)),
                folded(tdef, tdef.and_then(|t| obj.get(t.name)))
            );
        }
        return v.to_string();
    }
    folded(Some(def), Some(v))
}

/// Equal under the attribute's comparison rules (strings by `caseExact`).
pub(crate) fn same_value(def: &Attribute, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => str_eq(def.case_exact, x, y),
        (Value::Object(x), Value::Object(y)) if def.is_complex() => {
            x.len() == y.len()
                && x.iter().all(|(k, xv)| {
                    y.get(k).is_some_and(|yv| match def.sub_attribute(k) {
                        Some(sub) => same_value(sub, xv, yv),
                        None => xv == yv,
                    })
                })
        }
        _ => a == b,
    }
}

/// The user's email address: the `primary` one among `emails`, else the
/// first of type `work`, else the first; without `emails`, `userName` when
/// it looks like an address (one `@` with text on both sides and a dot in
/// the domain). Admit's own address parser validates the result further.
pub fn primary_email(user: &Value) -> Option<String> {
    let obj = user.as_object()?;
    let emails: Vec<&Map<String, Value>> = match get_ci(obj, "emails") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .filter(|e| {
                get_ci(e, "value")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty())
            })
            .collect(),
        _ => Vec::new(),
    };
    let value_of = |e: &Map<String, Value>| {
        get_ci(e, "value")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string())
    };
    let primary = emails
        .iter()
        .find(|e| get_ci(e, "primary").and_then(boolean) == Some(true));
    let work = || {
        emails.iter().find(|e| {
            get_ci(e, "type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("work"))
        })
    };
    if let Some(e) = primary.or_else(work).or_else(|| emails.first()) {
        return value_of(e);
    }
    let user_name = get_ci(obj, "userName")?.as_str()?.trim();
    looks_like_email(user_name).then(|| user_name.to_string())
}

fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{GROUP, USER};
    use serde_json::json;

    #[test]
    fn identity_of_emails_is_value_and_type() {
        let emails = USER.attribute("emails").unwrap();
        let a = json!({"value": "A@x.com", "type": "Work"});
        let b = json!({"value": "a@X.com", "type": "work", "primary": true});
        let c = json!({"value": "a@x.com", "type": "home"});
        assert_eq!(identity_key(emails, &a), identity_key(emails, &b));
        assert_ne!(identity_key(emails, &a), identity_key(emails, &c));
    }

    #[test]
    fn identity_of_members_is_case_exact() {
        let members = GROUP.attribute("members").unwrap();
        let a = json!({"value": "AbC"});
        let b = json!({"value": "abc"});
        assert_ne!(identity_key(members, &a), identity_key(members, &b));
    }

    #[test]
    fn email_shape() {
        assert!(looks_like_email("a@b.c"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("@b.c"));
        assert!(!looks_like_email("a@"));
        assert!(!looks_like_email("a@b@c.d"));
        assert!(!looks_like_email("a b@c.d"));
        assert!(!looks_like_email("jdoe"));
    }

    #[test]
    fn strip_prefix_ignores_case() {
        assert_eq!(
            strip_prefix_ci("URN:X:userName", "urn:x"),
            Some(":userName")
        );
        assert_eq!(strip_prefix_ci("urn", "urn:x"), None);
    }
}
