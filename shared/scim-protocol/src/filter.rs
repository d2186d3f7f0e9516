//! SCIM filters (RFC 7644 §3.4.2.2) and attribute paths (RFC 7644 §3.10,
//! the PATCH `path` of §3.5.2): a small hand-written parser, the syntax
//! tree, and evaluation against a resource.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / "not" "(" FILTER ")" / "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"      ; valFilter: no nested valuePath
//! attrExp   = attrPath "pr" / attrPath compareOp compValue
//! compareOp = eq / ne / co / sw / ew / gt / lt / ge / le
//! compValue = false / null / true / number / string   ; JSON literals
//! attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
//! ```
//!
//! Precedence is `not` > `and` > `or`; parentheses group. Operators,
//! keywords (`and`, `or`, `not`, `true`, `false`, `null`) and attribute
//! names are case-insensitive. Strings are JSON strings (double quotes,
//! JSON escapes).
//!
//! One extension over the RFC grammar, because Microsoft Entra ID uses it
//! to match users (its tutorial's "/Users" requirements): a sub-attribute
//! after a value path, as in a PATCH path:
//! `emails[type eq "work"].value eq "user@contoso.com"` matches when one
//! work email has that value.
//!
//! Evaluation ([`Filter::matches`]) follows RFC 7644: a multi-valued
//! attribute matches when any of its values does; a complex multi-valued
//! attribute named without a sub-attribute (`emails co "@x.com"`) is
//! compared through its `value` sub-attribute; strings compare without
//! regard to case unless the attribute is `caseExact`. Choices where the
//! RFC is silent:
//!
//! - `ne` is the negation of `eq` (so a user without a `displayName`
//!   matches `displayName ne "x"`); `eq null` means "not present" and
//!   `ne null` "present".
//! - An attribute Admit does not keep (an extension attribute, `title`,
//!   …) has no value: comparisons on it match nothing. [`Filter::check`]
//!   reports filters that can never make sense for a schema.
//! - `dateTime` values compare as strings, which orders RFC 3339 UTC
//!   timestamps of the same form correctly.

use crate::error::{ScimError, ScimType};
use crate::schema::{AttrType, Attribute, GROUP, Schema, USER};
use serde_json::{Map, Number, Value};
use std::fmt;

/// How deeply parentheses, `not` and value paths may nest: a bound that
/// keeps a hostile filter from exhausting the stack.
const MAX_DEPTH: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains (strings).
    Co,
    /// Starts with (strings).
    Sw,
    /// Ends with (strings).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        };
        Some(op)
    }

    /// The operator's keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }

    fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A comparison value: a JSON literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(Number),
    /// A JSON string (unescaped).
    String(String),
}

impl CompValue {
    /// As a JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            CompValue::Null => Value::Null,
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::String(s) => Value::String(s.clone()),
        }
    }
}

/// An attribute path: `[urn:]attr[.sub]`, or a value path
/// `[urn:]attr[filter][.sub]` (the latter in PATCH paths, and in filters as
/// Entra uses them).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN prefix, as written (without the final `:`).
    pub urn: Option<String>,
    /// The attribute name, as written.
    pub attr: String,
    /// The value filter in brackets, evaluated against each value of `attr`
    /// with sub-attribute names.
    pub filter: Option<Box<Filter>>,
    /// The sub-attribute name, as written.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses a PATCH `path` (RFC 7644 §3.5.2: `attrPath` or
    /// `valuePath [subAttr]`). Errors are 400 `invalidPath`.
    pub fn parse(path: &str) -> Result<AttrPath, ScimError> {
        let mut p = Parser::new(path, ScimType::InvalidPath)?;
        if p.toks.is_empty() {
            return Err(p.error_at(0, "the path is empty"));
        }
        let path = p.parse_path(false)?;
        p.expect_end()?;
        Ok(path)
    }

    /// Whether the URN prefix, if any, is this schema's (any case).
    pub fn in_schema(&self, schema: &Schema) -> bool {
        self.urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(schema.id))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attrPath op value`.
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]` alone: some value of `attr` matches the filter.
    ValuePath(AttrPath),
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// Not.
    Not(Box<Filter>),
}

impl std::str::FromStr for Filter {
    type Err = ScimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl Filter {
    /// Parses a filter. Errors are 400 `invalidFilter` whose detail says
    /// what was wrong and where.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        let mut p = Parser::new(text, ScimType::InvalidFilter)?;
        if p.toks.is_empty() {
            return Err(p.error_at(0, "the filter is empty"));
        }
        let f = p.parse_or(false)?;
        p.expect_end()?;
        Ok(f)
    }

    /// Whether the resource (a JSON object) matches, attributes being typed
    /// and compared as `schema` defines them.
    pub fn matches(&self, resource: &Value, schema: &Schema) -> bool {
        match resource.as_object() {
            Some(obj) => self.eval(Scope::Top(schema), obj),
            None => false,
        }
    }

    /// The filter as `(attribute path, value)` when it is a single
    /// `attr eq "string"` (with an optional sub-attribute, and with the URN
    /// prefix of the core User or Group schema allowed): what a store can
    /// answer from an index, for the probes identity providers send
    /// (`userName eq …`, `externalId eq …`, `displayName eq …`).
    ///
    /// The path is spelled as Admit spells the attribute (`userName`,
    /// `name.givenName`) when it is one Admit keeps, as written otherwise;
    /// the URN prefix is dropped. The value is as written: compare it
    /// without regard to case where the attribute is not `caseExact`
    /// (`userName`, `displayName`), exactly where it is (`externalId`,
    /// `id`).
    pub fn equality(&self) -> Option<(String, String)> {
        let Filter::Compare(path, CompareOp::Eq, CompValue::String(value)) = self else {
            return None;
        };
        if path.filter.is_some() {
            return None;
        }
        let core = path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(USER.id) || u.eq_ignore_ascii_case(GROUP.id));
        if !core {
            return None;
        }
        let def = USER
            .attribute(&path.attr)
            .or_else(|| GROUP.attribute(&path.attr));
        let attr = def.map_or(path.attr.as_str(), |d| d.name);
        let text = match &path.sub {
            Some(sub) => {
                let sub = def
                    .and_then(|d| d.sub_attribute(sub))
                    .map_or(sub.as_str(), |s| s.name);
                format!("{attr}.{sub}")
            }
            None => attr.to_string(),
        };
        Some((text, value.clone()))
    }

    /// Reports (400 `invalidFilter`) what can never make sense against
    /// `schema`: a value filter or sub-attribute on a simple attribute, an
    /// ordering or substring operator on a boolean or complex attribute.
    /// Attributes the schema does not have are accepted (they match
    /// nothing).
    pub fn check(&self, schema: &Schema) -> Result<(), ScimError> {
        self.check_in(Scope::Top(schema))
    }

    fn check_in(&self, scope: Scope<'_>) -> Result<(), ScimError> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                a.check_in(scope)?;
                b.check_in(scope)
            }
            Filter::Not(a) => a.check_in(scope),
            Filter::Present(path) | Filter::ValuePath(path) => check_path(scope, path).map(|_| ()),
            Filter::Compare(path, op, _) => {
                let Some(def) = check_path(scope, path)? else {
                    return Ok(());
                };
                let def = if def.is_complex() {
                    match def.sub_attribute("value") {
                        Some(v) => v,
                        None => {
                            return Err(ScimError::invalid_filter(format!(
                                "\"{path}\" is complex: compare one of its sub-attributes"
                            )));
                        }
                    }
                } else {
                    def
                };
                if def.kind == AttrType::Boolean && (op.is_ordering() || op.is_substring()) {
                    return Err(ScimError::invalid_filter(format!(
                        "\"{}\" does not apply to the boolean attribute \"{path}\"",
                        op.as_str()
                    )));
                }
                Ok(())
            }
        }
    }

    pub(crate) fn eval(&self, scope: Scope<'_>, obj: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.eval(scope, obj) && b.eval(scope, obj),
            Filter::Or(a, b) => a.eval(scope, obj) || b.eval(scope, obj),
            Filter::Not(a) => !a.eval(scope, obj),
            Filter::Present(path) => {
                let (values, _) = resolve(scope, obj, path);
                values.into_iter().any(is_present)
            }
            Filter::ValuePath(path) => !resolve(scope, obj, path).0.is_empty(),
            Filter::Compare(path, op, value) => {
                let (values, def) = resolve(scope, obj, path);
                let (values, def) = through_value(values, def);
                let any_eq = || values.iter().any(|v| compare(def, v, CompareOp::Eq, value));
                match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => !values.into_iter().any(is_present),
                    (CompareOp::Ne, CompValue::Null) => values.into_iter().any(is_present),
                    (CompareOp::Eq, _) => any_eq(),
                    (CompareOp::Ne, _) => !any_eq(),
                    _ => values.iter().any(|v| compare(def, v, *op, value)),
                }
            }
        }
    }

    /// For `a eq "x" and b eq true …` on plain names: the `(name, value)`
    /// pairs, so that a PATCH `add` whose value filter matches nothing can
    /// create the value it describes (`emails[type eq "work"].value`).
    pub(crate) fn eq_terms(&self) -> Option<Vec<(&str, Value)>> {
        match self {
            Filter::Compare(path, CompareOp::Eq, value)
                if path.urn.is_none()
                    && path.filter.is_none()
                    && path.sub.is_none()
                    && *value != CompValue::Null =>
            {
                Some(vec![(path.attr.as_str(), value.to_json())])
            }
            Filter::And(a, b) => {
                let mut terms = a.eq_terms()?;
                terms.extend(b.eq_terms()?);
                Some(terms)
            }
            _ => None,
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 0,
            Filter::And(..) => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for Filter {
    /// The filter in RFC syntax, with the parentheses precedence needs:
    /// parsing the text gives back an equal filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let child = |f: &mut fmt::Formatter<'_>, c: &Filter, min: u8| {
            if c.precedence() < min {
                write!(f, "({c})")
            } else {
                write!(f, "{c}")
            }
        };
        match self {
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => {
                write!(f, "{p} {} {}", op.as_str(), v.to_json())
            }
            Filter::ValuePath(p) => write!(f, "{p}"),
            Filter::And(a, b) => {
                child(f, a, 1)?;
                f.write_str(" and ")?;
                child(f, b, 2)
            }
            Filter::Or(a, b) => {
                child(f, a, 0)?;
                f.write_str(" or ")?;
                child(f, b, 1)
            }
            Filter::Not(a) => write!(f, "not ({a})"),
        }
    }
}

/// Where names are looked up: a resource's schema, or the sub-attributes of
/// a complex attribute (inside a value filter).
#[derive(Clone, Copy)]
pub(crate) enum Scope<'s> {
    Top(&'s Schema),
    Sub(&'static [Attribute]),
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<&'static Attribute> {
        match self {
            Scope::Top(schema) => schema.attribute(name),
            Scope::Sub(subs) => subs.iter().find(|a| a.name.eq_ignore_ascii_case(name)),
        }
    }

    fn urn_ok(&self, urn: Option<&str>) -> bool {
        match (self, urn) {
            (_, None) => true,
            (Scope::Top(schema), Some(u)) => u.eq_ignore_ascii_case(schema.id),
            (Scope::Sub(_), Some(_)) => false,
        }
    }
}

/// A key of a JSON object, matched exactly first, then without regard to
/// case.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The values a path designates in `obj`, and the definition they have.
fn resolve<'v>(
    scope: Scope<'_>,
    obj: &'v Map<String, Value>,
    path: &AttrPath,
) -> (Vec<&'v Value>, Option<&'static Attribute>) {
    if !scope.urn_ok(path.urn.as_deref()) {
        return (Vec::new(), None);
    }
    let Some(def) = scope.lookup(&path.attr) else {
        return (Vec::new(), None);
    };
    let mut values: Vec<&Value> = match get_ci(obj, def.name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(v) => vec![v],
    };
    if let Some(filter) = &path.filter {
        let inner = Scope::Sub(def.sub_attributes);
        values.retain(|v| v.as_object().is_some_and(|o| filter.eval(inner, o)));
    }
    match &path.sub {
        None => (values, Some(def)),
        Some(sub) => {
            let Some(sub_def) = def.sub_attribute(sub) else {
                return (Vec::new(), None);
            };
            let subs = values
                .into_iter()
                .filter_map(|v| v.as_object().and_then(|o| get_ci(o, sub_def.name)))
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    Value::Null => Vec::new(),
                    v => vec![v],
                })
                .collect();
            (subs, Some(sub_def))
        }
    }
}

/// A complex attribute compared without a sub-attribute is compared
/// through its `value` sub-attribute (`emails eq "a@b.c"`).
fn through_value<'v>(
    values: Vec<&'v Value>,
    def: Option<&'static Attribute>,
) -> (Vec<&'v Value>, Option<&'static Attribute>) {
    match def {
        Some(d) if d.is_complex() => match d.sub_attribute("value") {
            Some(vdef) => (
                values
                    .into_iter()
                    .filter_map(|v| v.as_object().and_then(|o| get_ci(o, vdef.name)))
                    .collect(),
                Some(vdef),
            ),
            None => (Vec::new(), None),
        },
        _ => (values, def),
    }
}

fn check_path(scope: Scope<'_>, path: &AttrPath) -> Result<Option<&'static Attribute>, ScimError> {
    if !scope.urn_ok(path.urn.as_deref()) {
        return Ok(None);
    }
    let Some(def) = scope.lookup(&path.attr) else {
        return Ok(None);
    };
    if let Some(filter) = &path.filter {
        if !def.is_complex() {
            return Err(ScimError::invalid_filter(format!(
                "\"{}\" is not complex: it takes no [filter]",
                def.name
            )));
        }
        filter.check_in(Scope::Sub(def.sub_attributes))?;
    }
    match &path.sub {
        None => Ok(Some(def)),
        Some(sub) => {
            if !def.is_complex() {
                return Err(ScimError::invalid_filter(format!(
                    "\"{}\" is not complex: it has no sub-attribute \"{sub}\"",
                    def.name
                )));
            }
            Ok(def.sub_attribute(sub))
        }
    }
}

pub(crate) fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// Strings equal under the attribute's case rule.
pub(crate) fn str_eq(case_exact: bool, a: &str, b: &str) -> bool {
    if case_exact {
        a == b
    } else if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn boolean_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn compare(def: Option<&Attribute>, value: &Value, op: CompareOp, with: &CompValue) -> bool {
    let case_exact = def.is_some_and(|d| d.case_exact);
    if def.is_some_and(|d| d.kind == AttrType::Boolean) {
        return match (boolean_of(value), boolean_of(&with.to_json())) {
            (Some(a), Some(b)) => op == CompareOp::Eq && a == b,
            _ => false,
        };
    }
    match (value, with) {
        (Value::String(a), CompValue::String(b)) => {
            if op == CompareOp::Eq {
                return str_eq(case_exact, a, b);
            }
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                CompareOp::Eq | CompareOp::Ne => a == b,
            }
        }
        (Value::Number(a), CompValue::Number(b)) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq | CompareOp::Ne => a == b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => false,
            }
        }
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Tokens and parser.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    kind: ScimType,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBracket => "\"[\"".into(),
        Tok::RBracket => "\"]\"".into(),
        Tok::Str(s) => format!("the string {}", Value::String(s.clone())),
        Tok::Word(w) => format!("\"{w}\""),
    }
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, kind: ScimType) -> Result<Self, ScimError> {
        let mut p = Parser {
            text,
            toks: Vec::new(),
            pos: 0,
            depth: 0,
            kind,
        };
        p.tokenize()?;
        Ok(p)
    }

    fn what(&self) -> &'static str {
        if self.kind == ScimType::InvalidPath {
            "path"
        } else {
            "filter"
        }
    }

    fn error_at(&self, at: usize, msg: impl fmt::Display) -> ScimError {
        let at = self.text[..at.min(self.text.len())].chars().count() + 1;
        ScimError::of(
            self.kind,
            format!("invalid {} at character {at}: {msg}", self.what()),
        )
    }

    fn tokenize(&mut self) -> Result<(), ScimError> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let single = match c {
                b'(' => Some(Tok::LParen),
                b')' => Some(Tok::RParen),
                b'[' => Some(Tok::LBracket),
                b']' => Some(Tok::RBracket),
                _ => None,
            };
            if let Some(tok) = single {
                self.toks.push(Token { tok, at: i });
                i += 1;
            } else if c.is_ascii_whitespace() {
                i += 1;
            } else if c == b'"' {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(self.error_at(start, "the string is not closed")),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                let raw = &text[start..=i];
                let s: String = serde_json::from_str(raw)
                    .map_err(|_| self.error_at(start, "the string is not a valid JSON string"))?;
                self.toks.push(Token {
                    tok: Tok::Str(s),
                    at: start,
                });
                i += 1;
            } else {
                let start = i;
                while i < bytes.len()
                    && !bytes[i].is_ascii_whitespace()
                    && !matches!(bytes[i], b'(' | b')' | b'[' | b']' | b'"')
                {
                    i += 1;
                }
                self.toks.push(Token {
                    tok: Tok::Word(text[start..i].to_string()),
                    at: start,
                });
            }
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn end_at(&self) -> usize {
        self.text.len()
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t.tok == want => Ok(()),
            Some(t) => {
                Err(self.error_at(t.at, format!("expected {what}, found {}", describe(&t.tok))))
            }
            None => Err(self.error_at(self.end_at(), format!("expected {what} at the end"))),
        }
    }

    fn expect_end(&mut self) -> Result<(), ScimError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.error_at(t.at, format!("unexpected {}", describe(&t.tok)))),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(at, format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn parse_or(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_and(in_value)?;
        while self.peek_keyword("or") {
            self.next();
            let right = self.parse_and(in_value)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_unary(in_value)?;
        while self.peek_keyword("and") {
            self.next();
            let right = self.parse_unary(in_value)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.error_at(self.end_at(), "expected an expression at the end"));
        };
        match &t.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.next();
                self.enter(t.at)?;
                self.expect(Tok::LParen, "\"(\" after \"not\"")?;
                let inner = self.parse_or(in_value)?;
                self.expect(Tok::RParen, "\")\"")?;
                self.depth -= 1;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                Err(self.error_at(t.at, format!("expected an attribute name, found \"{w}\"")))
            }
            Tok::LParen => {
                self.next();
                self.enter(t.at)?;
                let inner = self.parse_or(in_value)?;
                self.expect(Tok::RParen, "\")\"")?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => self.parse_attr_exp(in_value),
        }
    }

    /// `attrPath` with an optional `[filter]` and `.sub` after it.
    fn parse_path(&mut self, in_value: bool) -> Result<AttrPath, ScimError> {
        let t = match self.next() {
            Some(t) => t,
            None => {
                return Err(self.error_at(self.end_at(), "expected an attribute name at the end"));
            }
        };
        let Tok::Word(word) = &t.tok else {
            return Err(self.error_at(
                t.at,
                format!("expected an attribute name, found {}", describe(&t.tok)),
            ));
        };
        let (urn, attr, sub) = self.split_name(word, t.at)?;
        let mut path = AttrPath {
            urn,
            attr,
            filter: None,
            sub,
        };
        if let Some(Token {
            tok: Tok::LBracket,
            at,
        }) = self.peek().cloned()
        {
            if in_value {
                return Err(self.error_at(at, "a value filter cannot contain another \"[\""));
            }
            if path.sub.is_some() {
                return Err(
                    self.error_at(at, "\"[\" must follow the attribute, not its sub-attribute")
                );
            }
            self.next();
            self.enter(at)?;
            let inner = self.parse_or(true)?;
            self.expect(Tok::RBracket, "\"]\"")?;
            self.depth -= 1;
            path.filter = Some(Box::new(inner));
            if let Some(Token {
                tok: Tok::Word(w),
                at,
            }) = self.peek().cloned()
                && let Some(rest) = w.strip_prefix('.')
            {
                if !valid_name(rest) {
                    return Err(self.error_at(at, format!("invalid sub-attribute name \"{rest}\"")));
                }
                self.next();
                path.sub = Some(rest.to_string());
            }
        }
        Ok(path)
    }

    fn split_name(
        &self,
        word: &str,
        at: usize,
    ) -> Result<(Option<String>, String, Option<String>), ScimError> {
        let (urn, rest) = match word.rfind(':') {
            Some(i) => (Some(&word[..i]), &word[i + 1..]),
            None => (None, word),
        };
        if urn.is_some_and(str::is_empty) {
            return Err(self.error_at(at, format!("invalid attribute name \"{word}\"")));
        }
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
            return Err(self.error_at(at, format!("invalid attribute name \"{word}\"")));
        }
        Ok((
            urn.map(str::to_string),
            attr.to_string(),
            sub.map(str::to_string),
        ))
    }

    fn parse_attr_exp(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let path = self.parse_path(in_value)?;
        if path.filter.is_some() && path.sub.is_none() {
            return Ok(Filter::ValuePath(path));
        }
        let t = match self.next() {
            Some(t) => t,
            None => {
                return Err(self.error_at(
                    self.end_at(),
                    format!("expected an operator after \"{path}\" at the end"),
                ));
            }
        };
        let Tok::Word(word) = &t.tok else {
            return Err(self.error_at(
                t.at,
                format!(
                    "expected an operator after \"{path}\", found {}",
                    describe(&t.tok)
                ),
            ));
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(word) else {
            return Err(self.error_at(
                t.at,
                format!("\"{word}\" is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"),
            ));
        };
        let value = self.parse_value(op)?;
        Ok(Filter::Compare(path, op, value))
    }

    fn parse_value(&mut self, op: CompareOp) -> Result<CompValue, ScimError> {
        let t = match self.next() {
            Some(t) => t,
            None => {
                return Err(self.error_at(
                    self.end_at(),
                    format!("expected a value after \"{}\" at the end", op.as_str()),
                ));
            }
        };
        let value = match &t.tok {
            Tok::Str(s) => CompValue::String(s.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(w) if looks_numeric(w) => match serde_json::from_str::<Number>(w) {
                Ok(n) => CompValue::Number(n),
                Err(_) => {
                    return Err(self.error_at(t.at, format!("\"{w}\" is not a valid number")));
                }
            },
            other => {
                return Err(self.error_at(
                    t.at,
                    format!(
                        "expected a value after \"{}\" (a \"quoted string\", a number, true, false or null), found {}",
                        op.as_str(),
                        describe(other)
                    ),
                ));
            }
        };
        let fits = match &value {
            CompValue::String(_) => true,
            CompValue::Number(_) => !op.is_substring(),
            CompValue::Bool(_) | CompValue::Null => !op.is_substring() && !op.is_ordering(),
        };
        if !fits {
            return Err(self.error_at(
                t.at,
                format!(
                    "\"{}\" cannot compare with {}",
                    op.as_str(),
                    value.to_json()
                ),
            ));
        }
        Ok(value)
    }
}

fn looks_numeric(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_digit() || c == '-')
}

/// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`, and `$ref`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn path(attr: &str) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.into(),
            filter: None,
            sub: None,
        }
    }

    #[test]
    fn simple_comparison() {
        assert_eq!(
            p(r#"userName eq "a@b.c""#),
            Filter::Compare(
                path("userName"),
                CompareOp::Eq,
                CompValue::String("a@b.c".into())
            )
        );
    }

    #[test]
    fn precedence_not_and_or() {
        let f = p(r#"a eq 1 or b eq 2 and not (c pr)"#);
        let Filter::Or(left, right) = f else { panic!() };
        assert!(matches!(*left, Filter::Compare(..)));
        let Filter::And(_, r) = *right else { panic!() };
        assert!(matches!(*r, Filter::Not(_)));
    }

    #[test]
    fn and_is_left_associative() {
        let f = p("a pr and b pr and c pr");
        let Filter::And(left, _) = f else { panic!() };
        assert!(matches!(*left, Filter::And(..)));
    }

    #[test]
    fn tokens_of_a_value_path_with_sub() {
        let f = p(r#"emails[type eq "work"].value eq "x@y.z""#);
        let Filter::Compare(path, CompareOp::Eq, _) = f else {
            panic!()
        };
        assert_eq!(path.attr, "emails");
        assert_eq!(path.sub.as_deref(), Some("value"));
        assert!(path.filter.is_some());
    }

    #[test]
    fn string_escapes() {
        let f = p(r#"displayName eq "a \"quoted\" \u00e9 ] ) name""#);
        let Filter::Compare(_, _, CompValue::String(s)) = f else {
            panic!()
        };
        assert_eq!(s, "a \"quoted\" é ] ) name");
    }

    #[test]
    fn error_positions_count_characters() {
        let e = Filter::parse("é eq").unwrap_err();
        assert!(e.detail.contains("character 1"), "{}", e.detail);
        let e = Filter::parse(r#"userName xx "a""#).unwrap_err();
        assert!(e.detail.contains("character 10"), "{}", e.detail);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(200), ")".repeat(200));
        let e = Filter::parse(&deep).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("nested"));
        let ok = format!("{}a pr{}", "(".repeat(10), ")".repeat(10));
        assert!(Filter::parse(&ok).is_ok());
    }

    #[test]
    fn path_parse_errors_are_invalid_path() {
        for bad in [
            "",
            "  ",
            "members[",
            "members[value eq \"x\"",
            "emails[type eq \"work\"]x",
            "1abc",
            "a b",
        ] {
            let e = AttrPath::parse(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}: {e}");
        }
    }

    #[test]
    fn eq_terms_of_conjunctions() {
        let f = p(r#"type eq "work" and primary eq true"#);
        assert_eq!(
            f.eq_terms().unwrap(),
            vec![
                ("type", Value::from("work")),
                ("primary", Value::from(true))
            ]
        );
        assert!(
            p(r#"type eq "work" or primary eq true"#)
                .eq_terms()
                .is_none()
        );
        assert!(p(r#"type co "w""#).eq_terms().is_none());
    }

    #[test]
    fn str_eq_folds_unicode() {
        assert!(str_eq(false, "ÉLODIE", "élodie"));
        assert!(!str_eq(true, "ÉLODIE", "élodie"));
        assert!(str_eq(false, "A@B.C", "a@b.c"));
    }
}
