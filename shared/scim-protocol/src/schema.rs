//! What Admit keeps of a SCIM User and Group, as attribute definitions
//! (RFC 7643 §2.2, §7), and the discovery documents built from them:
//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7643 §5–7,
//! RFC 7644 §4).
//!
//! The definitions drive everything else in the crate: which keys of a body
//! are kept ([`crate::resource::validate`]), how a value is typed and
//! compared ([`crate::filter`]), what a PATCH may change
//! ([`crate::patch`]) and what a response shows ([`crate::list::project`]).
//!
//! Attribute names are matched without regard to case (RFC 7643 §2.1); the
//! spelling given here is the one Admit writes back.

use crate::urn;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean (Admit also reads the strings "true"/"false" in any
    /// case, which Entra ID sends).
    Boolean,
    /// A JSON number with or without a fraction.
    Decimal,
    /// A JSON number without a fraction.
    Integer,
    /// An RFC 3339 timestamp in a JSON string.
    DateTime,
    /// Base64 in a JSON string.
    Binary,
    /// A URI in a JSON string.
    Reference,
    /// A JSON object of sub-attributes.
    Complex,
}

impl AttrType {
    /// The keyword used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Whether and when a client may write an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by Admit only; values a client sends are ignored (or refused when
    /// a PATCH names the attribute).
    ReadOnly,
    /// Freely written.
    ReadWrite,
    /// Written once: a later request may repeat the value, not change it.
    Immutable,
    /// Written, never returned.
    WriteOnly,
}

impl Mutability {
    /// The keyword used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never.
    Never,
    /// Unless excluded, or another set of attributes is asked for.
    Default,
    /// Only when asked for by `attributes`.
    Request,
}

impl Returned {
    /// The keyword used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How unique a value must be (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// Not at all.
    None,
    /// Within this service provider (for Admit: within one organization's
    /// SCIM tenant). The store enforces it and answers 409 `uniqueness`.
    Server,
    /// Everywhere.
    Global,
}

impl Uniqueness {
    /// The keyword used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §2.2 characteristics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// The name as Admit spells it.
    pub name: &'static str,
    /// The data type.
    pub kind: AttrType,
    /// Whether the value is a JSON array of values.
    pub multi_valued: bool,
    /// Whether a resource must have it (checked on create and replace).
    pub required: bool,
    /// Who may write it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// How unique its value must be.
    pub uniqueness: Uniqueness,
    /// Whether string comparisons respect case (filters, PATCH filters,
    /// duplicate detection).
    pub case_exact: bool,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [Attribute],
    /// Suggested values (not enforced: RFC 7643 lets clients send others).
    pub canonical_values: &'static [&'static str],
    /// For references: the resource types referred to.
    pub reference_types: &'static [&'static str],
    /// A description for `/Schemas`.
    pub description: &'static str,
}

impl Attribute {
    const fn new(name: &'static str, kind: AttrType, description: &'static str) -> Self {
        Attribute {
            name,
            kind,
            multi_valued: false,
            required: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            case_exact: false,
            sub_attributes: &[],
            canonical_values: &[],
            reference_types: &[],
            description,
        }
    }

    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    const fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }

    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    const fn subs(mut self, subs: &'static [Attribute]) -> Self {
        self.sub_attributes = subs;
        self
    }

    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    const fn refs(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }

    /// The sub-attribute of this name, compared without regard to case.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether this is a complex attribute.
    pub fn is_complex(&self) -> bool {
        self.kind == AttrType::Complex
    }

    /// The definition as `/Schemas` shows it (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.into());
        m.insert("type".into(), self.kind.as_str().into());
        m.insert("multiValued".into(), self.multi_valued.into());
        m.insert("description".into(), self.description.into());
        m.insert("required".into(), self.required.into());
        if !self.is_complex() {
            m.insert("caseExact".into(), self.case_exact.into());
        }
        m.insert("mutability".into(), self.mutability.as_str().into());
        m.insert("returned".into(), self.returned.as_str().into());
        m.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if self.kind == AttrType::Reference {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.is_complex() {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Attribute::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }
}

use AttrType::{Boolean, Complex, DateTime, Reference, String as Str};
use Mutability::{Immutable, ReadOnly};

/// The attributes every resource has (RFC 7643 §3.1): `id`, `externalId`,
/// `meta`. They are not listed in `/Schemas` (RFC 7643 §3.1 keeps them out
/// of schema definitions) but are looked up like the others.
pub static COMMON_ATTRIBUTES: &[Attribute] = &[
    Attribute::new(
        "id",
        Str,
        "Admit's identifier of the resource; unique and stable.",
    )
    .mutability(ReadOnly)
    .returned(Returned::Always)
    .unique()
    .case_exact(),
    Attribute::new(
        "externalId",
        Str,
        "The identifier the client (the identity provider) gives the resource.",
    )
    .case_exact(),
    Attribute::new("meta", Complex, "Resource metadata kept by Admit.")
        .mutability(ReadOnly)
        .subs(&[
            Attribute::new("resourceType", Str, "User or Group.")
                .mutability(ReadOnly)
                .case_exact(),
            Attribute::new("created", DateTime, "When Admit created the resource.")
                .mutability(ReadOnly),
            Attribute::new(
                "lastModified",
                DateTime,
                "When Admit last changed the resource.",
            )
            .mutability(ReadOnly),
            Attribute::new("location", Reference, "The URI of the resource.")
                .mutability(ReadOnly)
                .case_exact()
                .refs(&["uri"]),
            Attribute::new("version", Str, "The resource's version (entity tag).")
                .mutability(ReadOnly)
                .case_exact(),
        ]),
];

static USER_ATTRIBUTES: &[Attribute] = &[
    Attribute::new(
        "userName",
        Str,
        "The user's unique sign-in name; Admit matches it case-insensitively.",
    )
    .required()
    .unique(),
    Attribute::new("name", Complex, "The user's name.").subs(&[
        Attribute::new("formatted", Str, "The full name, formatted for display."),
        Attribute::new("familyName", Str, "The family (last) name."),
        Attribute::new("givenName", Str, "The given (first) name."),
    ]),
    Attribute::new("displayName", Str, "The name to show for the user."),
    Attribute::new("emails", Complex, "The user's email addresses.")
        .multi()
        .subs(&[
            Attribute::new("value", Str, "The email address.").required(),
            Attribute::new("type", Str, "The kind of address: work, home or other.")
                .canonical(&["work", "home", "other"]),
            Attribute::new(
                "primary",
                Boolean,
                "Whether this is the user's main address; at most one is.",
            ),
        ]),
    Attribute::new(
        "active",
        Boolean,
        "Whether the user may use Admit; false deactivates.",
    ),
    Attribute::new(
        "groups",
        Complex,
        "The groups the user is a member of, as Admit knows them.",
    )
    .multi()
    .mutability(ReadOnly)
    .subs(&[
        Attribute::new("value", Str, "The group's id.")
            .mutability(ReadOnly)
            .case_exact(),
        Attribute::new("$ref", Reference, "The URI of the group.")
            .mutability(ReadOnly)
            .case_exact()
            .refs(&["Group"]),
        Attribute::new("display", Str, "The group's display name.").mutability(ReadOnly),
    ]),
];

static GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute::new("displayName", Str, "The group's name.").required(),
    Attribute::new(
        "members",
        Complex,
        "The group's members; added and removed, never edited in place.",
    )
    .multi()
    .subs(&[
        Attribute::new("value", Str, "The member's id.")
            .required()
            .mutability(Immutable)
            .case_exact(),
        Attribute::new("$ref", Reference, "The URI of the member.")
            .mutability(Immutable)
            .case_exact()
            .refs(&["User", "Group"]),
        Attribute::new(
            "display",
            Str,
            "Not kept: read-only, never returned (members are ids).",
        )
        .mutability(ReadOnly),
        Attribute::new("type", Str, "The kind of member: User or Group.")
            .mutability(Immutable)
            .canonical(&["User", "Group"]),
    ]),
];

/// A resource schema: its URN, its resource type and its own attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The schema URN, the `id` in `/Schemas`.
    pub id: &'static str,
    /// The schema's name (`User`, `Group`), also its resource type's id.
    pub name: &'static str,
    /// A description.
    pub description: &'static str,
    /// The resource type's endpoint, relative to the base URL.
    pub endpoint: &'static str,
    /// The schema's own attributes (the common ones are in
    /// [`COMMON_ATTRIBUTES`]).
    pub attributes: &'static [Attribute],
}

/// The core User schema as Admit keeps it: `userName`, `name`,
/// `displayName`, `emails`, `active`, `groups` (read-only).
pub static USER: Schema = Schema {
    id: urn::USER,
    name: "User",
    description: "User Account",
    endpoint: "/Users",
    attributes: USER_ATTRIBUTES,
};

/// The core Group schema as Admit keeps it: `displayName`, `members`.
pub static GROUP: Schema = Schema {
    id: urn::GROUP,
    name: "Group",
    description: "Group",
    endpoint: "/Groups",
    attributes: GROUP_ATTRIBUTES,
};

/// The schemas Admit serves, in `/Schemas` order.
pub static ALL: [&Schema; 2] = [&USER, &GROUP];

impl Schema {
    /// The attribute of this name (own or common), without regard to case.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .chain(COMMON_ATTRIBUTES.iter())
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Every attribute: common ones first, then the schema's own.
    pub fn all_attributes(&self) -> impl Iterator<Item = &'static Attribute> + 'static {
        COMMON_ATTRIBUTES.iter().chain(self.attributes.iter())
    }

    /// The schema with this URN, without regard to case.
    pub fn by_id(id: &str) -> Option<&'static Schema> {
        ALL.iter().copied().find(|s| s.id.eq_ignore_ascii_case(id))
    }

    /// The schema of this resource type (`User`, `Group`), without regard to
    /// case.
    pub fn by_resource_type(name: &str) -> Option<&'static Schema> {
        ALL.iter()
            .copied()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The schema as `/Schemas/{id}` shows it (RFC 7643 §7).
    pub fn to_json(&self, base_url: &str) -> Value {
        let base = trim_base(base_url);
        let attributes: Vec<Value> = self.attributes.iter().map(Attribute::to_json).collect();
        json!({
            "schemas": [urn::SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attributes,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base}/Schemas/{}", self.id),
            },
        })
    }

    /// The resource type as `/ResourceTypes/{name}` shows it (RFC 7643 §6).
    pub fn resource_type_json(&self, base_url: &str) -> Value {
        let base = trim_base(base_url);
        json!({
            "schemas": [urn::RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.id,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/ResourceTypes/{}", self.name),
            },
        })
    }
}

fn trim_base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The largest page Admit serves: `count` above it is clamped, and the
/// `filter.maxResults` of [`service_provider_config`].
pub const MAX_RESULTS: usize = 100;

/// `/ServiceProviderConfig` (RFC 7643 §5) for the SCIM base URL
/// (`https://…/scim/v2`, with or without a trailing slash).
///
/// Supported: PATCH, filters (up to [`MAX_RESULTS`] results a page), one
/// authentication scheme (an OAuth bearer token, RFC 6750). Not supported:
/// bulk, password changes, sorting, entity tags.
pub fn service_provider_config(base_url: &str) -> Value {
    let base = trim_base(base_url);
    json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token issued by Admit for this SCIM connection, in the Authorization header.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// `/ResourceTypes`: a ListResponse of User and Group (RFC 7644 §4).
pub fn resource_types(base_url: &str) -> Value {
    let items: Vec<Value> = ALL.iter().map(|s| s.resource_type_json(base_url)).collect();
    crate::list::list_response(items.len(), 1, items)
}

/// `/ResourceTypes/{id}`, `id` being `User` or `Group` (any case); `None`
/// for anything else (answer 404).
pub fn resource_type(base_url: &str, id: &str) -> Option<Value> {
    Schema::by_resource_type(id).map(|s| s.resource_type_json(base_url))
}

/// `/Schemas`: a ListResponse of the User and Group schemas.
pub fn schemas(base_url: &str) -> Value {
    let items: Vec<Value> = ALL.iter().map(|s| s.to_json(base_url)).collect();
    crate::list::list_response(items.len(), 1, items)
}

/// `/Schemas/{id}`, `id` being the User or Group URN (any case); `None` for
/// anything else, the enterprise extension included (answer 404).
pub fn schema(base_url: &str, id: &str) -> Option<Value> {
    Schema::by_id(id).map(|s| s.to_json(base_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_include_common_attributes() {
        assert_eq!(USER.attribute("USERNAME").unwrap().name, "userName");
        assert_eq!(USER.attribute("externalid").unwrap().name, "externalId");
        assert_eq!(GROUP.attribute("Meta").unwrap().name, "meta");
        assert!(USER.attribute("members").is_none());
        assert!(GROUP.attribute("userName").is_none());
        let emails = USER.attribute("emails").unwrap();
        assert_eq!(emails.sub_attribute("PRIMARY").unwrap().name, "primary");
        assert_eq!(
            GROUP
                .attribute("members")
                .unwrap()
                .sub_attribute("$REF")
                .unwrap()
                .name,
            "$ref"
        );
    }

    #[test]
    fn schema_and_type_lookups() {
        assert_eq!(Schema::by_id(&urn::USER.to_uppercase()), Some(&USER));
        assert_eq!(Schema::by_resource_type("group"), Some(&GROUP));
        assert!(Schema::by_id(urn::ENTERPRISE_USER).is_none());
        assert!(resource_type("https://x/scim/v2", "Device").is_none());
    }

    #[test]
    fn characteristics_asked_for() {
        let user_name = USER.attribute("userName").unwrap();
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        assert_eq!(USER.attribute("id").unwrap().mutability, ReadOnly);
        assert_eq!(USER.attribute("id").unwrap().returned, Returned::Always);
        let external = USER.attribute("externalId").unwrap();
        assert!(external.case_exact);
        assert_eq!(external.mutability, Mutability::ReadWrite);
        assert_eq!(USER.attribute("groups").unwrap().mutability, ReadOnly);
        assert_eq!(USER.attribute("active").unwrap().kind, Boolean);
        assert!(GROUP.attribute("displayName").unwrap().required);
        let members = GROUP.attribute("members").unwrap();
        assert!(members.multi_valued);
        assert_eq!(
            members.sub_attribute("value").unwrap().mutability,
            Immutable
        );
        assert_eq!(
            members.sub_attribute("type").unwrap().canonical_values,
            &["User", "Group"]
        );
        assert_eq!(
            USER.attribute("emails")
                .unwrap()
                .sub_attribute("type")
                .unwrap()
                .canonical_values,
            &["work", "home", "other"]
        );
    }
}
