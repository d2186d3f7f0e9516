//! Listing and searching (RFC 7644 §3.4.2): query parameters, the
//! ListResponse, and attribute projection (`attributes`,
//! `excludedAttributes`, RFC 7644 §3.4.2.5).

use crate::error::ScimError;
use crate::filter::Filter;
use crate::resource::strip_prefix_ci;
use crate::schema::{Attribute, MAX_RESULTS, Returned, Schema};
use crate::urn;
use serde_json::{Map, Value, json};

/// The query of a `GET /Users` or `GET /Groups` (and the projection of a
/// single `GET`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// The parsed `filter`, if one was given (an empty one counts as none).
    /// Call [`Filter::check`] with the endpoint's schema to refuse filters
    /// that cannot make sense for it (`active co "x"`).
    pub filter: Option<Filter>,
    /// 1-based index of the first result; values below 1 are read as 1.
    pub start_index: usize,
    /// How many results at most: 100 by default, larger values clamped to
    /// [`MAX_RESULTS`], negative ones read as 0. With 0, answer only
    /// `totalResults`.
    pub count: usize,
    /// `attributes`: the attribute paths to return (besides those always
    /// returned), as given.
    pub attributes: Vec<String>,
    /// `excludedAttributes`: the attribute paths not to return, as given.
    pub excluded_attributes: Vec<String>,
}

impl ListQuery {
    /// Reads the decoded query pairs. Parameter names are matched without
    /// regard to case; unknown ones (`sortBy`, `sortOrder`: sorting is not
    /// supported) are ignored; a repeated one takes its last value.
    ///
    /// Errors: 400 `invalidFilter` for a bad filter, 400 `invalidValue`
    /// for a `startIndex` or `count` that is not an integer.
    pub fn parse<I, K, V>(pairs: I) -> Result<ListQuery, ScimError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut q = ListQuery {
            filter: None,
            start_index: 1,
            count: MAX_RESULTS,
            attributes: Vec::new(),
            excluded_attributes: Vec::new(),
        };
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key.to_ascii_lowercase().as_str() {
                "filter" => {
                    q.filter = if value.trim().is_empty() {
                        None
                    } else {
                        Some(Filter::parse(value)?)
                    };
                }
                "startindex" => {
                    let n = integer("startIndex", value)?;
                    q.start_index = usize::try_from(n.max(1)).unwrap_or(usize::MAX);
                }
                "count" => {
                    let n = integer("count", value)?;
                    q.count = usize::try_from(n.clamp(0, MAX_RESULTS as i64)).unwrap_or(0);
                }
                "attributes" => q.attributes = names(value),
                "excludedattributes" => q.excluded_attributes = names(value),
                _ => {}
            }
        }
        Ok(q)
    }

    /// The 0-based offset of the first result (`startIndex - 1`).
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }

    /// The page of an in-memory, consistently ordered result set.
    pub fn page<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = self.offset().min(all.len());
        let end = start.saturating_add(self.count).min(all.len());
        &all[start..end]
    }

    /// [`project`] with this query's `attributes` and `excludedAttributes`.
    pub fn project(&self, resource: &Value, schema: &Schema) -> Value {
        project(
            resource,
            &self.attributes,
            &self.excluded_attributes,
            schema,
        )
    }
}

fn integer(name: &str, value: &str) -> Result<i64, ScimError> {
    let v = value.trim();
    match v.parse::<i64>() {
        Ok(n) => Ok(n),
        // Digits beyond i64: as large (or as small) as can be.
        Err(_) if is_digits(v.strip_prefix('-').unwrap_or(v)) => Ok(if v.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        }),
        Err(_) => Err(ScimError::invalid_value(format!(
            "{name} must be an integer, not \"{value}\""
        ))),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn names(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A ListResponse (RFC 7644 §3.4.2): `totalResults` is the number of
/// matches in all, `startIndex` the 1-based index of the first one given,
/// `itemsPerPage` how many are given.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index.max(1),
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// What a projection asks of one attribute.
#[derive(Default)]
struct Asked {
    whole: bool,
    subs: Vec<&'static str>,
}

fn asked(schema: &Schema, paths: &[String]) -> Vec<(&'static Attribute, Asked)> {
    let mut out: Vec<(&'static Attribute, Asked)> = Vec::new();
    for path in paths {
        let path = match strip_prefix_ci(path, schema.id) {
            Some(rest) => match rest.strip_prefix(':') {
                Some(rest) => rest,
                None => continue,
            },
            None if path.contains(':') => continue,
            None => path.as_str(),
        };
        let (name, sub) = match path.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (path, None),
        };
        let Some(def) = schema.attribute(name) else {
            continue;
        };
        let i = match out.iter().position(|(d, _)| d.name == def.name) {
            Some(i) => i,
            None => {
                out.push((def, Asked::default()));
                out.len() - 1
            }
        };
        match sub {
            None => out[i].1.whole = true,
            Some(s) => {
                if let Some(sdef) = def.sub_attribute(s) {
                    out[i].1.subs.push(sdef.name);
                }
            }
        }
    }
    out
}

/// The resource as a response shows it (RFC 7644 §3.4.2.5, §3.9):
///
/// - with `attributes`, only those (a sub-attribute path such as
///   `name.givenName` keeps that part of the attribute), plus the ones
///   returned always;
/// - without, every attribute except those returned only on request;
/// - less the `excludedAttributes` (whole attributes or sub-attributes),
///   except those returned always;
/// - `id` and `schemas` always; attributes returned `never` never.
///
/// Paths may carry the schema URN prefix and are matched without regard to
/// case; unknown ones are ignored. Keys of `resource` the schema does not
/// define are left out.
pub fn project(
    resource: &Value,
    attributes: &[String],
    excluded: &[String],
    schema: &Schema,
) -> Value {
    let Some(obj) = resource.as_object() else {
        return resource.clone();
    };
    let wanted = asked(schema, attributes);
    let unwanted = asked(schema, excluded);
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".into(), value.clone());
            continue;
        }
        let Some(def) = schema.attribute(key) else {
            continue;
        };
        let value = match def.returned {
            Returned::Never => continue,
            Returned::Always => Some(without_never(def, value)),
            Returned::Default | Returned::Request => {
                let asked_for = wanted.iter().find(|(d, _)| d.name == def.name);
                let shown = match asked_for {
                    Some((_, a)) if a.whole => Some(without_never(def, value)),
                    Some((_, a)) => Some(only_subs(def, value, &a.subs)),
                    None if attributes.is_empty() && def.returned == Returned::Default => {
                        Some(without_never(def, value))
                    }
                    None => None,
                };
                match (shown, unwanted.iter().find(|(d, _)| d.name == def.name)) {
                    (Some(_), Some((_, u))) if u.whole => None,
                    (Some(v), Some((_, u))) => Some(without_subs(def, &v, &u.subs)),
                    (shown, _) => shown,
                }
            }
        };
        if let Some(v) = value.filter(|v| !is_empty(v)) {
            out.insert(def.name.into(), v);
        }
    }
    Value::Object(out)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Applies `keep` to the value, or to each element of a multi-valued one.
fn each(value: &Value, keep: impl Fn(&str) -> bool) -> Value {
    let one = |v: &Value| match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(one).filter(|v| !is_empty(v)).collect())
        }
        other => one(other),
    }
}

fn sub_returned(def: &Attribute, key: &str) -> Option<Returned> {
    def.sub_attribute(key).map(|s| s.returned)
}

fn without_never(def: &Attribute, value: &Value) -> Value {
    if !def.is_complex() {
        return value.clone();
    }
    each(value, |k| sub_returned(def, k) != Some(Returned::Never))
}

fn only_subs(def: &Attribute, value: &Value, subs: &[&str]) -> Value {
    each(value, |k| match def.sub_attribute(k) {
        Some(s) => {
            s.returned == Returned::Always
                || (s.returned != Returned::Never && subs.contains(&s.name))
        }
        None => false,
    })
}

fn without_subs(def: &Attribute, value: &Value, subs: &[&str]) -> Value {
    each(value, |k| match def.sub_attribute(k) {
        Some(s) => s.returned == Returned::Always || !subs.contains(&s.name),
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_slices_within_bounds() {
        let all: Vec<u32> = (1..=10).collect();
        let q = |start: usize, count: usize| ListQuery {
            start_index: start,
            count,
            ..ListQuery::default()
        };
        assert_eq!(q(1, 3).page(&all), &[1, 2, 3]);
        assert_eq!(q(9, 5).page(&all), &[9, 10]);
        assert!(q(11, 5).page(&all).is_empty());
        assert!(q(3, 0).page(&all).is_empty());
        assert_eq!(q(usize::MAX, usize::MAX).page(&all), &[] as &[u32]);
    }

    #[test]
    fn huge_integers_saturate() {
        assert_eq!(
            integer("count", "99999999999999999999999").unwrap(),
            i64::MAX
        );
        assert_eq!(
            integer("count", "-99999999999999999999999").unwrap(),
            i64::MIN
        );
        assert!(integer("count", "1e3").is_err());
        assert!(integer("count", "").is_err());
        assert!(integer("count", "-").is_err());
    }
}
