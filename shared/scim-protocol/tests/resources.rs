//! Validation of POST and PUT bodies, and the primary email.

use admit_scim_protocol::schema::{AttrType, Attribute, Mutability, Returned, Schema, Uniqueness};
use admit_scim_protocol::{GROUP, Mode, ScimError, ScimType, USER, primary_email, validate};
use serde_json::{Value, json};

fn user(extra: Value) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn create(body: Value) -> Result<Value, ScimError> {
    validate(&USER, &body, Mode::Create)
}

#[track_caller]
fn fails(body: Value, t: ScimType, mention: &str) {
    let e = create(body).expect_err("should fail");
    assert_eq!((e.status, e.scim_type), (400, Some(t)), "{e}");
    assert!(
        e.detail.contains(mention),
        "{:?} should mention {mention:?}",
        e.detail
    );
}

#[test]
fn minimal_user() {
    assert_eq!(
        create(user(json!({}))).unwrap(),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"})
    );
}

#[test]
fn schemas_may_be_omitted_and_extra_urns_are_fine() {
    let out = create(json!({"userName": "a"})).unwrap();
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    let out = create(json!({"userName": "a", "schemas": [
        "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER", "urn:example:custom"
    ]}))
    .unwrap();
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn names_are_canonicalized() {
    let out = create(json!({
        "USERNAME": "a@b.c",
        "Name": {"GIVENNAME": "Ada", "familyname": "Lovelace"},
        "EMAILS": [{"VALUE": "a@b.c", "Type": "work", "PRIMARY": true}],
        "ExternalID": "x-1",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Ada",
        "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER": {"active": "false"}
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "a@b.c",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@b.c", "type": "work", "primary": true}],
            "externalId": "x-1",
            "displayName": "Ada",
            "active": false
        })
    );
}

#[test]
fn read_only_and_unknown_attributes_are_dropped() {
    let out = create(user(json!({
        "id": "client-chosen",
        "meta": {"created": "2020-01-01T00:00:00Z"},
        "groups": [{"value": "g1"}],
        "title": "Countess",
        "phoneNumbers": [{"value": "555"}],
        "password": "hunter2",
        "name": {"givenName": "Ada", "middleName": "Augusta", "honorificPrefix": "Lady"},
        "emails": [{"value": "a@b.c", "display": "a@b.c"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName": "ignored: not an attribute name"
    })))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "a@b.c"}]
        })
    );
}

#[test]
fn unassigned_values_are_left_out() {
    let out = create(user(json!({
        "displayName": null,
        "emails": [],
        "name": {"givenName": null, "middleName": "x"},
        "active": null
    })))
    .unwrap();
    assert_eq!(out.as_object().unwrap().len(), 2, "{out}");
    let out = create(user(json!({"emails": [null, {"value": "a@b.c"}]}))).unwrap();
    assert_eq!(out["emails"], json!([{"value": "a@b.c"}]));
}

#[test]
fn string_booleans_in_any_case() {
    for (given, want) in [
        ("True", true),
        ("FALSE", false),
        ("true", true),
        ("false", false),
    ] {
        let out = create(user(
            json!({"active": given, "emails": [{"value": "a@b.c", "primary": given}]}),
        ))
        .unwrap();
        assert_eq!(out["active"], want);
        assert_eq!(out["emails"][0]["primary"], want);
    }
}

#[test]
fn duplicate_values_are_dropped() {
    let out = create(user(json!({"emails": [
        {"value": "a@b.c", "type": "work"},
        {"value": "A@B.C", "type": "WORK"},
        {"value": "a@b.c", "type": "home"}
    ]})))
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "a@b.c", "type": "work"}, {"value": "a@b.c", "type": "home"}])
    );
}

#[test]
fn non_canonical_type_values_are_kept() {
    let out = create(user(
        json!({"emails": [{"value": "a@b.c", "type": "Corporate"}]}),
    ))
    .unwrap();
    assert_eq!(out["emails"][0]["type"], "Corporate");
}

#[test]
fn every_error_path() {
    let e = validate(&USER, &json!("ada"), Mode::Create).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    fails(
        json!({"displayName": "x"}),
        ScimType::InvalidValue,
        "userName is required",
    );
    fails(
        json!({"userName": ""}),
        ScimType::InvalidValue,
        "userName is required",
    );
    fails(
        json!({"userName": null}),
        ScimType::InvalidValue,
        "userName is required",
    );
    fails(
        json!({"userName": 42}),
        ScimType::InvalidValue,
        "userName must be a string",
    );
    fails(
        user(json!({"displayName": ["x"]})),
        ScimType::InvalidValue,
        "displayName must be a string",
    );
    fails(
        user(json!({"active": "yes"})),
        ScimType::InvalidValue,
        "active must be a boolean",
    );
    fails(
        user(json!({"active": 1})),
        ScimType::InvalidValue,
        "active must be a boolean",
    );
    fails(
        user(json!({"name": "Ada"})),
        ScimType::InvalidValue,
        "name must be an object",
    );
    fails(
        user(json!({"name": {"givenName": 1}})),
        ScimType::InvalidValue,
        "name.givenName must be a string",
    );
    fails(
        user(json!({"emails": {"value": "a@b.c"}})),
        ScimType::InvalidValue,
        "emails must be an array",
    );
    fails(
        user(json!({"emails": ["a@b.c"]})),
        ScimType::InvalidValue,
        "emails must be an object",
    );
    fails(
        user(json!({"emails": [{"type": "work"}]})),
        ScimType::InvalidValue,
        "needs a value",
    );
    fails(
        user(json!({"emails": [{"value": ""}]})),
        ScimType::InvalidValue,
        "needs a value",
    );
    fails(
        user(json!({"emails": [{"value": "a@b.c", "primary": "maybe"}]})),
        ScimType::InvalidValue,
        "emails.primary must be a boolean",
    );
    fails(
        user(
            json!({"emails": [{"value": "a@b.c", "primary": true}, {"value": "d@e.f", "primary": "True"}]}),
        ),
        ScimType::InvalidValue,
        "at most one value of emails may be primary",
    );
    fails(
        user(json!({"schemas": "urn:ietf:params:scim:schemas:core:2.0:User"})),
        ScimType::InvalidSyntax,
        "schemas",
    );
    fails(
        user(json!({"schemas": [1]})),
        ScimType::InvalidSyntax,
        "schemas",
    );
    fails(
        user(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})),
        ScimType::InvalidValue,
        "schemas must include urn:ietf:params:scim:schemas:core:2.0:User",
    );
    fails(
        user(json!({"USERNAME": "b@b.c"})),
        ScimType::InvalidSyntax,
        "userName is given twice",
    );
    fails(
        user(json!({"urn:ietf:params:scim:schemas:core:2.0:User:userName": "b@b.c"})),
        ScimType::InvalidSyntax,
        "given twice",
    );
    fails(
        user(json!({"name": {"givenName": "a", "GivenName": "b"}})),
        ScimType::InvalidSyntax,
        "name.givenName is given twice",
    );
    fails(
        user(json!({"urn:ietf:params:scim:schemas:core:2.0:User": "x"})),
        ScimType::InvalidValue,
        "must be an object",
    );
}

#[test]
fn groups() {
    let out = validate(
        &GROUP,
        &json!({"displayName": "Eng", "members": [
            {"value": "u1", "display": "Ada", "$ref": "https://x/Users/u1", "type": "User"},
            {"value": "u1"},
            {"value": "g2", "type": "Group"}
        ]}),
        Mode::Create,
    )
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Eng",
            // `display` is read-only (Admit's): dropped.
            "members": [
                {"value": "u1", "$ref": "https://x/Users/u1", "type": "User"},
                {"value": "u1"},
                {"value": "g2", "type": "Group"}
            ]
        })
    );
    let e = validate(&GROUP, &json!({"members": []}), Mode::Create).unwrap_err();
    assert!(e.detail.contains("displayName is required"));
    let e = validate(
        &GROUP,
        &json!({"displayName": "x", "members": [{"type": "User"}]}),
        Mode::Create,
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = validate(
        &GROUP,
        &json!({"displayName": "x", "members": [{"value": 7}]}),
        Mode::Create,
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    // A user's attributes mean nothing on a group.
    let out = validate(
        &GROUP,
        &json!({"displayName": "x", "userName": "y"}),
        Mode::Create,
    )
    .unwrap();
    assert!(out.get("userName").is_none());
}

static CODE_ATTRS: &[Attribute] = &[
    Attribute {
        name: "code",
        kind: AttrType::String,
        multi_valued: false,
        required: false,
        mutability: Mutability::Immutable,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        case_exact: true,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
        description: "An immutable code.",
    },
    Attribute {
        name: "count",
        kind: AttrType::Integer,
        multi_valued: false,
        required: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        case_exact: false,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
        description: "A number.",
    },
    Attribute {
        name: "ratio",
        kind: AttrType::Decimal,
        multi_valued: false,
        required: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        case_exact: false,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
        description: "A decimal.",
    },
];

static CODED: Schema = Schema {
    id: "urn:example:Coded",
    name: "Coded",
    description: "For tests",
    endpoint: "/Coded",
    attributes: CODE_ATTRS,
};

#[test]
fn replace_keeps_and_guards_immutable_attributes() {
    let stored = json!({"id": "1", "code": "A-1", "count": 3});
    // Omitted: kept.
    let out = validate(&CODED, &json!({"count": 4}), Mode::Replace(&stored)).unwrap();
    assert_eq!(out["code"], "A-1");
    assert_eq!(out["count"], 4);
    assert!(out.get("id").is_none());
    // Repeated: fine.
    assert!(validate(&CODED, &json!({"code": "A-1"}), Mode::Replace(&stored)).is_ok());
    // Changed: refused.
    let e = validate(&CODED, &json!({"code": "a-1"}), Mode::Replace(&stored)).unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::Mutability)));
    // Not set before: the new value is taken.
    let out = validate(&CODED, &json!({"code": "B"}), Mode::Replace(&json!({}))).unwrap();
    assert_eq!(out["code"], "B");
    // And a PATCH cannot change it either.
    let req = json!({"Operations": [{"op": "replace", "path": "code", "value": "Z"}]});
    let e = admit_scim_protocol::patch::apply(&CODED, &stored, &req).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    let req = json!({"Operations": [{"op": "remove", "path": "code"}]});
    let e = admit_scim_protocol::patch::apply(&CODED, &stored, &req).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
}

#[test]
fn numbers() {
    let out = validate(&CODED, &json!({"count": 3, "ratio": 0.5}), Mode::Create).unwrap();
    assert_eq!(out["count"], 3);
    assert_eq!(out["ratio"], 0.5);
    let e = validate(&CODED, &json!({"count": 3.5}), Mode::Create).unwrap_err();
    assert!(e.detail.contains("count must be an integer"));
    let e = validate(&CODED, &json!({"ratio": "0.5"}), Mode::Create).unwrap_err();
    assert!(e.detail.contains("ratio must be a number"));
}

#[test]
fn primary_email_choices() {
    let pick = |v: Value| primary_email(&v);
    assert_eq!(
        pick(json!({"userName": "u@x.y", "emails": [
            {"value": "home@x.y", "type": "home"},
            {"value": "work@x.y", "type": "work"},
            {"value": "main@x.y", "primary": true}
        ]})),
        Some("main@x.y".into())
    );
    assert_eq!(
        pick(
            json!({"emails": [{"value": "home@x.y", "type": "home"}, {"value": "work@x.y", "type": "Work"}]})
        ),
        Some("work@x.y".into())
    );
    assert_eq!(
        pick(json!({"emails": [{"value": "first@x.y", "type": "home"}, {"value": "second@x.y"}]})),
        Some("first@x.y".into())
    );
    assert_eq!(
        pick(json!({"emails": [{"value": " padded@x.y ", "primary": "True"}]})),
        Some("padded@x.y".into())
    );
    assert_eq!(
        pick(json!({"userName": "fallback@x.y", "emails": [{"value": ""}, {"type": "work"}]})),
        Some("fallback@x.y".into())
    );
    assert_eq!(
        pick(json!({"userName": "ada@example.com"})),
        Some("ada@example.com".into())
    );
    assert_eq!(pick(json!({"userName": "ada"})), None);
    assert_eq!(pick(json!({"userName": "ada@localhost"})), None);
    assert_eq!(pick(json!({"userName": "a@b@c.d"})), None);
    assert_eq!(pick(json!({"userName": "@example.com"})), None);
    assert_eq!(pick(json!({})), None);
    assert_eq!(pick(json!("a@b.c")), None);
}
