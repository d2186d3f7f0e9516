//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType`
//! and a human-readable detail, rendered as the SCIM error message body.

use crate::urn;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

/// The `scimType` of an error response (RFC 7644 §3.12, table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScimType {
    /// The filter syntax was invalid, or an attribute and operator do not fit.
    #[serde(rename = "invalidFilter")]
    InvalidFilter,
    /// The query would return more results than the server will.
    #[serde(rename = "tooMany")]
    TooMany,
    /// A unique attribute's value is already taken (409).
    #[serde(rename = "uniqueness")]
    Uniqueness,
    /// The change is not allowed by the attribute's mutability (readOnly,
    /// immutable).
    #[serde(rename = "mutability")]
    Mutability,
    /// The request body is not a well-formed SCIM message.
    #[serde(rename = "invalidSyntax")]
    InvalidSyntax,
    /// A PATCH `path` is malformed.
    #[serde(rename = "invalidPath")]
    InvalidPath,
    /// A PATCH operation has no target (no `path` on remove, or a value
    /// filter that matches nothing on replace).
    #[serde(rename = "noTarget")]
    NoTarget,
    /// A value is missing or of the wrong type for its attribute.
    #[serde(rename = "invalidValue")]
    InvalidValue,
    /// The protocol version is not supported.
    #[serde(rename = "invalidVers")]
    InvalidVers,
    /// The request carries information (in the URL) that it must not (403).
    #[serde(rename = "sensitive")]
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The HTTP status RFC 7644 table 9 pairs with this type: 409 for
    /// `uniqueness`, 403 for `sensitive`, 400 for the rest.
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error: what a handler answers with [`ScimError::status`] and
/// [`ScimError::body`] (media type [`crate::MEDIA_TYPE`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScimError {
    /// The HTTP status code.
    pub status: u16,
    /// The `scimType`, where one applies (400, 409 and 403 errors).
    pub scim_type: Option<ScimType>,
    /// A message for the client's administrator: says what was wrong and
    /// where, never echoes secrets.
    pub detail: String,
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl ScimError {
    /// An error of any status.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// An error of this type, with the status [`ScimType::status`] gives.
    pub fn of(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(scim_type.status(), Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::NoTarget, detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::Mutability, detail)
    }

    /// 409 `uniqueness`: for the store, when `userName` (or a group's
    /// `displayName`) is taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::Uniqueness, detail)
    }

    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        ScimError::of(ScimType::TooMany, detail)
    }

    /// 404 without a `scimType`: no resource at that id (or endpoint).
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    /// The error message body (RFC 7644 §3.12): `schemas`, `status` as a
    /// string, `scimType` when there is one, and `detail`.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [urn::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::from(t.as_str());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_status_as_string_and_type() {
        let e = ScimError::invalid_filter("bad");
        assert_eq!(
            e.body(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "bad",
            })
        );
    }

    #[test]
    fn body_without_type_has_no_scim_type_key() {
        let body = ScimError::not_found("User 7 not found").body();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn statuses_follow_rfc_table() {
        assert_eq!(ScimError::uniqueness("x").status, 409);
        assert_eq!(ScimError::of(ScimType::Sensitive, "x").status, 403);
        for t in [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
        ] {
            assert_eq!(t.status(), 400, "{t}");
        }
    }

    #[test]
    fn scim_type_serializes_as_keyword() {
        for t in [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Uniqueness,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
            ScimType::Sensitive,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), Value::from(t.as_str()));
            let back: ScimType = serde_json::from_value(Value::from(t.as_str())).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn display_mentions_status_type_and_detail() {
        assert_eq!(
            ScimError::no_target("nothing").to_string(),
            "400 noTarget: nothing"
        );
        assert_eq!(ScimError::not_found("gone").to_string(), "404: gone");
    }
}
