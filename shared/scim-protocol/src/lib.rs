//! SCIM 2.0 (RFC 7643 schema, RFC 7644 protocol) for Admit's provisioning
//! endpoint: the part of it that is pure data work. Identity providers —
//! Microsoft Entra ID, Okta, JumpCloud, Google — push users and groups to
//! Admit over SCIM; this crate turns their requests into the JSON Admit
//! stores and answers with, and says what is wrong with them in SCIM's
//! error format. It does no IO, knows no HTTP types and keeps no state: the
//! app's handlers and store do that around it.
//!
//! # What Admit keeps, and why
//!
//! Admit provisions *members*: who may sign in, under which address, and
//! whether they are still allowed to. So the schemas ([`schema`]) keep:
//!
//! - **User** (`urn:ietf:params:scim:schemas:core:2.0:User`): `userName`
//!   (required, unique, matched case-insensitively), `name` (`formatted`,
//!   `familyName`, `givenName`), `displayName`, `emails` (`value`, `type`,
//!   `primary`; [`primary_email`] picks the address), `active` (false
//!   deactivates), and `groups` (read-only, computed by Admit).
//! - **Group** (`urn:ietf:params:scim:schemas:core:2.0:Group`):
//!   `displayName` (required), `members` (`value`, `$ref`, `display`,
//!   `type`; added and removed, never edited in place).
//! - On both: `id` and `meta` (read-only, Admit's), `externalId` (the
//!   identity provider's identifier, compared case-exactly).
//!
//! Nothing else is advertised or kept: no enterprise extension, no phone
//! numbers, addresses, titles, roles, entitlements, photos, passwords. The
//! identity providers send some of these by default (Entra ID the
//! enterprise extension, Okta a password and locale); they are dropped
//! without error, which RFC 7644 §3.3 allows and which keeps provisioning
//! runs from failing over data Admit has no use for. `/Schemas` tells
//! clients exactly what is kept.
//!
//! # Declared unsupported
//!
//! [`schema::service_provider_config`] says so to clients: bulk
//! operations, password changes, sorting (`sortBy`/`sortOrder` are
//! ignored), entity tags (no `ETag`, no `If-Match`). Also not served:
//! `/Me`, `POST /.search`, schema extensions. Filters and PATCH are
//! supported; a page holds at most [`schema::MAX_RESULTS`] resources.
//!
//! # The pieces
//!
//! - [`error`]: [`ScimError`] and its body.
//! - [`schema`]: attribute definitions for User and Group, and the
//!   discovery documents (`/ServiceProviderConfig`, `/ResourceTypes`,
//!   `/Schemas`).
//! - [`resource`]: [`validate`] a POST or PUT body; [`primary_email`].
//! - [`filter`]: parse and evaluate filters; [`Filter::equality`] for the
//!   indexed probes (`userName eq …`, `externalId eq …`,
//!   `displayName eq …`).
//! - [`patch`]: [`patch::apply`] a PatchOp request.
//! - [`list`]: [`ListQuery`] from query parameters, [`list_response`],
//!   [`project`] for `attributes`/`excludedAttributes`.
//!
//! # How a handler uses it
//!
//! ```
//! use admit_scim_protocol::{ListQuery, Mode, ScimError, list_response, patch, schema, validate};
//! use serde_json::json;
//!
//! // POST /Users
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "ada@example.com",
//!     "active": "True",
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"},
//! });
//! let stored = validate(&schema::USER, &body, Mode::Create)?;
//! assert_eq!(stored["active"], json!(true));
//! assert!(stored.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_none());
//!
//! // GET /Users?filter=userName eq "ADA@example.com"
//! let q = ListQuery::parse([("filter", r#"userName eq "ADA@example.com""#)])?;
//! let filter = q.filter.as_ref().unwrap();
//! assert_eq!(filter.equality(), Some(("userName".into(), "ADA@example.com".into())));
//! assert!(filter.matches(&stored, &schema::USER));
//! let page = list_response(1, q.start_index, vec![q.project(&stored, &schema::USER)]);
//! assert_eq!(page["totalResults"], json!(1));
//!
//! // PATCH /Users/{id}
//! let request = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! });
//! let updated = patch::apply(&schema::USER, &stored, &request)?;
//! assert_eq!(updated["active"], json!(false));
//!
//! // Errors carry their status and body.
//! let err = ListQuery::parse([("filter", "userName eq")]).unwrap_err();
//! assert_eq!((err.status, err.body()["scimType"].clone()), (400, json!("invalidFilter")));
//! # Ok::<(), ScimError>(())
//! ```
//!
//! The store keeps the validated JSON and adds `id` and `meta` (`created`,
//! `lastModified`, `resourceType`, `location`) when it serves a resource,
//! and a User's `groups`; it enforces `userName` uniqueness (answering
//! [`ScimError::uniqueness`], 409). A response carries the media type
//! [`MEDIA_TYPE`].

pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use filter::{AttrPath, CompValue, CompareOp, Filter};
pub use list::{ListQuery, list_response, project};
pub use resource::{Mode, primary_email, validate};
pub use schema::{GROUP, Schema, USER};

/// The SCIM media type, for `Content-Type` of every response (RFC 7644
/// §3.1). Requests may come as `application/json` too.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// The URNs of SCIM schemas and messages.
pub mod urn {
    /// The core User schema.
    pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// The core Group schema.
    pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// The enterprise User extension: not kept by Admit, named here so that
    /// code and tests can refer to it.
    pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// The ServiceProviderConfig resource.
    pub const SERVICE_PROVIDER_CONFIG: &str =
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
    /// The ResourceType resource.
    pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    /// The Schema resource.
    pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
    /// A list (and search) response.
    pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    /// A PATCH request.
    pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    /// An error response.
    pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
}
