//! PATCH semantics and every error path, beyond the identity providers'
//! own requests (see entra.rs and okta.rs).

use admit_scim_protocol::{GROUP, ScimError, ScimType, USER, patch};
use serde_json::{Value, json};
use std::time::Instant;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u-1",
        "meta": {"resourceType": "User"},
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.org", "type": "home"}
        ],
        "active": true,
        "groups": [{"value": "g-1", "display": "Analysts"}]
    })
}

fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let mut g = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g-1",
        "displayName": "Analysts",
    });
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn apply(ops_: Value) -> Result<Value, ScimError> {
    patch::apply(&USER, &user(), &ops(ops_))
}

fn ok(ops_: Value) -> Value {
    apply(ops_).unwrap_or_else(|e| panic!("{e}"))
}

fn err(ops_: Value) -> ScimError {
    apply(ops_).expect_err("should fail")
}

#[track_caller]
fn is(e: &ScimError, t: ScimType) {
    assert_eq!((e.status, e.scim_type), (t.status(), Some(t)), "{e}");
}

#[test]
fn result_is_the_writable_representation() {
    let out = ok(json!([{"op": "replace", "path": "displayName", "value": "A. L."}]));
    assert!(out.get("id").is_none());
    assert!(out.get("meta").is_none());
    assert!(out.get("groups").is_none());
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert_eq!(out["displayName"], "A. L.");
}

#[test]
fn structure_is_case_insensitive_and_schemas_optional() {
    for key in ["Operations", "operations", "OPERATIONS"] {
        for op in ["replace", "Replace", "REPLACE"] {
            let req = json!({key: [{"op": op, "path": "displayName", "value": "x"}]});
            let out = patch::apply(&USER, &user(), &req).unwrap();
            assert_eq!(out["displayName"], "x");
        }
    }
    let req = json!({"Operations": [{"OP": "add", "PATH": "DISPLAYNAME", "VALUE": "y"}]});
    assert_eq!(
        patch::apply(&USER, &user(), &req).unwrap()["displayName"],
        "y"
    );
}

#[test]
fn empty_operations_change_nothing() {
    let out = patch::apply(&USER, &user(), &ops(json!([]))).unwrap();
    assert_eq!(out["userName"], "ada@example.com");
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn malformed_requests() {
    let e = patch::apply(&USER, &user(), &json!([1])).unwrap_err();
    is(&e, ScimType::InvalidSyntax);
    let e = patch::apply(&USER, &user(), &json!({"schemas": []})).unwrap_err();
    is(&e, ScimType::InvalidSyntax);
    assert!(e.detail.contains("Operations"));
    let e = patch::apply(&USER, &user(), &json!({"Operations": {"op": "add"}})).unwrap_err();
    is(&e, ScimType::InvalidSyntax);
    is(&err(json!(["add"])), ScimType::InvalidSyntax);
    is(
        &err(json!([{"path": "displayName", "value": "x"}])),
        ScimType::InvalidSyntax,
    );
    is(
        &err(json!([{"op": 3, "path": "displayName", "value": "x"}])),
        ScimType::InvalidSyntax,
    );
    let e = err(json!([{"op": "update", "path": "displayName", "value": "x"}]));
    is(&e, ScimType::InvalidSyntax);
    assert!(
        e.detail.contains("\"update\" is not an operation"),
        "{}",
        e.detail
    );
}

#[test]
fn errors_name_the_operation() {
    let e = err(json!([
        {"op": "replace", "path": "displayName", "value": "fine"},
        {"op": "replace", "path": "active", "value": "perhaps"}
    ]));
    is(&e, ScimType::InvalidValue);
    assert!(e.detail.starts_with("operation 2: "), "{}", e.detail);
}

#[test]
fn path_errors() {
    for bad in [
        "emails[type eq \"work\"",
        "emails[",
        "na me",
        "1x",
        "emails[type eq \"work\"]]",
    ] {
        let e = err(json!([{"op": "replace", "path": bad, "value": "x"}]));
        is(&e, ScimType::InvalidPath);
    }
    is(
        &err(json!([{"op": "replace", "path": 7, "value": "x"}])),
        ScimType::InvalidPath,
    );
    is(
        &err(json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": "x"}])),
        ScimType::InvalidPath,
    );
    is(
        &err(json!([{"op": "replace", "path": "userName.first", "value": "x"}])),
        ScimType::InvalidPath,
    );
    is(
        &err(json!([{"op": "remove", "path": "active[value eq true]"}])),
        ScimType::InvalidPath,
    );
}

#[test]
fn empty_path_is_no_path() {
    let out = ok(json!([{"op": "replace", "path": "", "value": {"displayName": "Z"}}]));
    assert_eq!(out["displayName"], "Z");
    is(
        &err(json!([{"op": "remove", "path": "  "}])),
        ScimType::NoTarget,
    );
}

#[test]
fn missing_or_wrong_values() {
    let e = err(json!([{"op": "add", "path": "displayName"}]));
    is(&e, ScimType::InvalidValue);
    assert!(e.detail.contains("needs a value"));
    is(
        &err(json!([{"op": "replace", "value": "x"}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "add", "value": [{"displayName": "x"}]}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "replace", "path": "displayName", "value": 5}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "replace", "path": "active", "value": "yes"}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "replace", "path": "name", "value": "Ada"}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "add", "path": "emails", "value": ["a@b.c"]}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "add", "path": "emails", "value": [{"type": "work"}]}])),
        ScimType::InvalidValue,
    );
    is(
        &err(json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": "x"}])),
        ScimType::InvalidValue,
    );
    is(
        &err(
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": 5}}]),
        ),
        ScimType::InvalidValue,
    );
}

#[test]
fn read_only_paths_are_refused_but_ignored_in_pathless_values() {
    for path in [
        "id",
        "meta",
        "meta.lastModified",
        "groups",
        "groups[value eq \"g-1\"]",
        "schemas",
        "ID",
    ] {
        for op in ["add", "replace"] {
            let e = err(json!([{"op": op, "path": path, "value": "x"}]));
            is(&e, ScimType::Mutability);
        }
        let e = err(json!([{"op": "remove", "path": path}]));
        is(&e, ScimType::Mutability);
    }
    let out = ok(json!([{"op": "replace", "value": {
        "id": "other", "meta": {"created": "x"}, "groups": [], "schemas": ["x"], "displayName": "D"
    }}]));
    assert_eq!(out["displayName"], "D");
    assert!(out.get("id").is_none());
}

#[test]
fn unknown_attributes_are_ignored() {
    let out = ok(json!([
        {"op": "add", "path": "title", "value": "Countess"},
        {"op": "replace", "path": "name.middleName", "value": "King"},
        {"op": "remove", "path": "phoneNumbers[type eq \"work\"]"},
        {"op": "replace", "path": "emails[type eq \"work\"].display", "value": "x"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m"}},
        {"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"}}},
        {"op": "replace", "value": {"nick name": "x", "x[": "y"}}
    ]));
    let expected =
        admit_scim_protocol::validate(&USER, &user(), admit_scim_protocol::Mode::Create).unwrap();
    assert_eq!(out, expected);
}

#[test]
fn urn_prefixed_paths_and_keys() {
    let out = ok(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "value": "Augusta"},
        {"op": "replace", "value": {"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:displayName": "AAL"}},
        {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"userName": "augusta@example.com", "name.familyName": "King"}}}
    ]));
    assert_eq!(
        out["name"],
        json!({"givenName": "Augusta", "familyName": "King"})
    );
    assert_eq!(out["displayName"], "AAL");
    assert_eq!(out["userName"], "augusta@example.com");
    // The Group URN does not apply to a User.
    let out = ok(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "no"}
    ]));
    assert_eq!(out["displayName"], "Ada Lovelace");
}

#[test]
fn complex_single_valued_attribute() {
    // replace and add merge sub-attributes.
    let out = ok(json!([{"op": "replace", "path": "name", "value": {"givenName": "Augusta"}}]));
    assert_eq!(
        out["name"],
        json!({"givenName": "Augusta", "familyName": "Lovelace"})
    );
    let out = ok(json!([{"op": "add", "value": {"name": {"formatted": "Ada L."}}}]));
    assert_eq!(out["name"]["formatted"], "Ada L.");
    assert_eq!(out["name"]["givenName"], "Ada");
    // A sub-attribute where the attribute is absent creates it.
    let mut bare = user();
    bare.as_object_mut().unwrap().remove("name");
    let req = ops(json!([{"op": "replace", "path": "name.familyName", "value": "King"}]));
    let out = patch::apply(&USER, &bare, &req).unwrap();
    assert_eq!(out["name"], json!({"familyName": "King"}));
    // Removing sub-attributes, then the last one removes the attribute.
    let out = ok(json!([
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "name.familyName"}
    ]));
    assert!(out.get("name").is_none());
    let out = ok(json!([{"op": "remove", "path": "name"}]));
    assert!(out.get("name").is_none());
}

#[test]
fn null_values() {
    let out = ok(json!([{"op": "replace", "path": "displayName", "value": null}]));
    assert!(out.get("displayName").is_none());
    let out =
        ok(json!([{"op": "replace", "value": {"displayName": null, "name.givenName": null}}]));
    assert!(out.get("displayName").is_none());
    assert_eq!(out["name"], json!({"familyName": "Lovelace"}));
    let out = ok(json!([{"op": "add", "path": "displayName", "value": null}]));
    assert_eq!(out["displayName"], "Ada Lovelace");
    let out = ok(json!([{"op": "replace", "path": "emails", "value": null}]));
    assert!(out.get("emails").is_none());
    let out = ok(json!([{"op": "replace", "path": "name", "value": null}]));
    assert!(out.get("name").is_none());
}

#[test]
fn required_attributes_cannot_go() {
    let e = err(json!([{"op": "remove", "path": "userName"}]));
    is(&e, ScimType::InvalidValue);
    assert!(e.detail.contains("userName is required"));
    is(
        &err(json!([{"op": "replace", "path": "userName", "value": ""}])),
        ScimType::InvalidValue,
    );
    let e = patch::apply(
        &GROUP,
        &group(&["a"]),
        &ops(json!([{"op": "remove", "path": "displayName"}])),
    )
    .unwrap_err();
    is(&e, ScimType::InvalidValue);
}

#[test]
fn add_to_multi_valued_appends_and_merges_equal_values() {
    let out = ok(
        json!([{"op": "add", "path": "emails", "value": [{"value": "ada@work.example", "type": "other"}]}]),
    );
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
    assert_eq!(out["emails"][2]["value"], "ada@work.example");
    // Equal (value and type, under case rules): merged, not duplicated.
    let out = ok(
        json!([{"op": "add", "path": "emails", "value": [{"value": "ADA@HOME.ORG", "type": "Home", "primary": true}]}]),
    );
    let emails = out["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1]["primary"], true);
    assert_eq!(emails[0]["primary"], false, "the other primary is cleared");
    // A single object where an array is expected.
    let out = ok(json!([{"op": "add", "path": "emails", "value": {"value": "x@y.z"}}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
    // Path-less add of a multi-valued attribute appends too.
    let out = ok(json!([{"op": "add", "value": {"emails": [{"value": "x@y.z", "type": "work"}]}}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 3);
}

#[test]
fn primary_rules() {
    // Two primaries added at once: refused.
    let e = err(json!([{"op": "add", "path": "emails", "value": [
        {"value": "a@x.y", "primary": true}, {"value": "b@x.y", "primary": "True"}
    ]}]));
    is(&e, ScimType::InvalidValue);
    // Through a filter: the chosen one becomes the only primary.
    let out =
        ok(json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "true"}]));
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][1]["primary"], true);
    // A filter matching two values cannot make both primary.
    let e =
        err(json!([{"op": "replace", "path": "emails[value co \"ada\"].primary", "value": true}]));
    is(&e, ScimType::InvalidValue);
    // Replacing the whole set with two primaries: refused by validation.
    let e = err(json!([{"op": "replace", "path": "emails", "value": [
        {"value": "a@x.y", "primary": true}, {"value": "b@x.y", "primary": true}
    ]}]));
    is(&e, ScimType::InvalidValue);
    // Without a filter, on several values: refused.
    let e = err(json!([{"op": "replace", "path": "emails.primary", "value": true}]));
    is(&e, ScimType::InvalidValue);
}

#[test]
fn replace_multi_valued_without_filter_replaces_all() {
    let out = ok(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "new@x.y", "type": "work"}]}]),
    );
    assert_eq!(out["emails"], json!([{"value": "new@x.y", "type": "work"}]));
    let out = ok(json!([{"op": "replace", "value": {"emails": []}}]));
    assert!(out.get("emails").is_none());
}

#[test]
fn value_filters_on_replace() {
    // Matched elements' sub-attribute.
    let out = ok(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "ada@newhome.org"}]),
    );
    assert_eq!(out["emails"][1]["value"], "ada@newhome.org");
    assert_eq!(out["emails"][0]["value"], "ada@example.com");
    // Matched elements entirely.
    let out = ok(
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@h.h", "type": "home"}}]),
    );
    assert_eq!(out["emails"][1], json!({"value": "h@h.h", "type": "home"}));
    // No match where values exist: noTarget.
    let e = err(
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@o.o"}]),
    );
    is(&e, ScimType::NoTarget);
    assert!(
        e.detail.contains("no value of emails matches"),
        "{}",
        e.detail
    );
    let e = err(
        json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@o.o"}}]),
    );
    is(&e, ScimType::NoTarget);
}

#[test]
fn value_filters_on_add() {
    // A match: its sub-attribute is set.
    let out =
        ok(json!([{"op": "add", "path": "emails[type eq \"home\"].value", "value": "h2@h.h"}]));
    assert_eq!(out["emails"][1], json!({"value": "h2@h.h", "type": "home"}));
    // No match: the value the filter describes is created.
    let out =
        ok(json!([{"op": "add", "path": "emails[type eq \"other\"].value", "value": "o@o.o"}]));
    assert_eq!(out["emails"][2], json!({"value": "o@o.o", "type": "other"}));
    let out = ok(
        json!([{"op": "add", "path": "emails[type eq \"other\" and primary eq true]", "value": {"value": "o@o.o"}}]),
    );
    assert_eq!(
        out["emails"][2],
        json!({"value": "o@o.o", "type": "other", "primary": true})
    );
    assert_eq!(out["emails"][0]["primary"], false);
    // A filter that describes no value: noTarget.
    let e =
        err(json!([{"op": "add", "path": "emails[value co \"nobody\"].type", "value": "work"}]));
    is(&e, ScimType::NoTarget);
    // Adding null through a filter that matches nothing: nothing.
    let out = ok(json!([{"op": "add", "path": "emails[type eq \"other\"].value", "value": null}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn value_filters_on_remove() {
    let out = ok(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    let out = ok(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
    assert!(out["emails"][0].get("primary").is_none());
    let out = ok(json!([{"op": "remove", "path": "emails[type eq \"nothing\"]"}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
    let out = ok(json!([{"op": "remove", "path": "emails[value co \"ada\"]"}]));
    assert!(out.get("emails").is_none());
    let out = ok(json!([{"op": "remove", "path": "emails"}]));
    assert!(out.get("emails").is_none());
    let out = ok(json!([{"op": "remove", "path": "emails.type"}]));
    assert!(
        out["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("type").is_none())
    );
}

#[test]
fn remove_listed_values_by_sub_attributes() {
    let out = ok(json!([{"op": "remove", "path": "emails", "value": [{"type": "home"}]}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    let out = ok(json!([{"op": "remove", "path": "emails", "value": {"value": "ADA@HOME.ORG"}}]));
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    let out = ok(json!([{"op": "remove", "path": "emails", "value": [{"primary": "True"}]}]));
    assert_eq!(out["emails"][0]["value"], "ada@home.org");
    let e = err(json!([{"op": "remove", "path": "emails", "value": ["ada@home.org"]}]));
    is(&e, ScimType::InvalidValue);
    let e = err(json!([{"op": "remove", "path": "emails", "value": [{"$ref": null, "nope": 1}]}]));
    is(&e, ScimType::InvalidValue);
}

#[test]
fn members_are_immutable_in_place() {
    let g = json!({
        "id": "g-1",
        "displayName": "Analysts",
        "members": [{"value": "u1", "display": "Ada"}, {"value": "u2"}]
    });
    let run = |o: Value| patch::apply(&GROUP, &g, &ops(o));
    for bad in [
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "Bea"}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u9"}}]),
        json!([{"op": "add", "path": "members[value eq \"u1\"].display", "value": "Bea"}]),
        json!([{"op": "remove", "path": "members[value eq \"u1\"].display"}]),
        json!([{"op": "remove", "path": "members.value"}]),
    ] {
        let e = run(bad.clone()).expect_err(&bad.to_string());
        is(&e, ScimType::Mutability);
    }
    // `display` is read-only (Admit's): never set through a path, and a
    // client's copy in a value is dropped.
    let e = run(json!([{"op": "add", "path": "members[value eq \"u2\"].display", "value": "Bob"}]))
        .unwrap_err();
    is(&e, ScimType::Mutability);
    // Re-adding a member: nothing changes.
    let out = run(json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "Someone else"}]}])).unwrap();
    assert_eq!(out["members"], json!([{"value": "u1"}, {"value": "u2"}]));
    // Adding and removing members is what members are for.
    let out = run(json!([
        {"op": "add", "path": "members", "value": [{"value": "u3", "type": "User", "$ref": "https://x/scim/v2/Users/u3"}]},
        {"op": "remove", "path": "members[value eq \"u1\"]"}
    ]))
    .unwrap();
    assert_eq!(
        out["members"],
        json!([{"value": "u2"}, {"value": "u3", "type": "User", "$ref": "https://x/scim/v2/Users/u3"}])
    );
}

#[test]
fn member_values_compare_exactly() {
    let g = group(&["AbC"]);
    let out = patch::apply(
        &GROUP,
        &g,
        &ops(json!([{"op": "remove", "path": "members[value eq \"abc\"]"}])),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "AbC"}]));
    let out = patch::apply(
        &GROUP,
        &g,
        &ops(json!([{"op": "add", "path": "members", "value": [{"value": "abc"}]}])),
    )
    .unwrap();
    assert_eq!(out["members"].as_array().unwrap().len(), 2);
}

#[test]
fn stored_names_in_other_cases_are_handled() {
    // A stored resource with odd key case still patches cleanly.
    let stored = json!({"USERNAME": "a@b.c", "Emails": [{"Value": "a@b.c", "TYPE": "work"}]});
    let out = patch::apply(
        &USER,
        &stored,
        &ops(
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "z@b.c"}]),
        ),
    )
    .unwrap();
    assert_eq!(out["userName"], "a@b.c");
    assert_eq!(out["emails"], json!([{"value": "z@b.c", "type": "work"}]));
}

#[test]
fn operations_apply_in_order() {
    let out = ok(json!([
        {"op": "remove", "path": "emails"},
        {"op": "add", "path": "emails", "value": [{"value": "one@x.y"}]},
        {"op": "replace", "path": "emails[value eq \"one@x.y\"].type", "value": "work"},
        {"op": "replace", "path": "displayName", "value": "first"},
        {"op": "replace", "path": "displayName", "value": "second"}
    ]));
    assert_eq!(out["emails"], json!([{"value": "one@x.y", "type": "work"}]));
    assert_eq!(out["displayName"], "second");
}

#[test]
fn large_group_patch_is_fast_enough() {
    let ids: Vec<String> = (0..5000).map(|i| format!("member-{i:05}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let g = group(&refs);
    let mut operations = Vec::new();
    // 1000 removals by filter, as Entra and Okta send them…
    for i in (0..5000).step_by(5) {
        operations
            .push(json!({"op": "remove", "path": format!("members[value eq \"member-{i:05}\"]")}));
    }
    // …500 removals listed in one operation…
    let listed: Vec<Value> = (1..5000)
        .step_by(10)
        .map(|i| json!({"value": format!("member-{i:05}")}))
        .collect();
    operations.push(json!({"op": "Remove", "path": "members", "value": listed}));
    // …and 1000 additions in ten operations, half of them already there.
    for batch in 0..10 {
        let add: Vec<Value> = (0..100)
            .map(|i| json!({"value": format!("member-{:05}", 4500 + batch * 100 + i)}))
            .collect();
        operations.push(json!({"op": "add", "path": "members", "value": add}));
    }
    let start = Instant::now();
    let out = patch::apply(&GROUP, &g, &ops(Value::Array(operations))).unwrap();
    let took = start.elapsed();
    let members = out["members"].as_array().unwrap();
    // 5000 - 1000 - 500 + (500 new beyond 4999) + re-added removed ones in 4500..5000 (100 + 50).
    let expected = 5000 - 1000 - 500 + 500 + 150;
    assert_eq!(members.len(), expected);
    assert!(took.as_secs() < 20, "took {took:?}");
}

#[test]
fn consecutive_removals_keep_their_meaning_around_other_operations() {
    let g = group(&["a", "b", "c", "d"]);
    let out = patch::apply(
        &GROUP,
        &g,
        &ops(json!([
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "Remove", "path": "members[value eq \"b\"]"},
            {"op": "add", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"c\"]"},
            {"op": "remove", "path": "members[value eq \"zzz\"]"},
            {"op": "remove", "path": "members[value eq \"a\"]"}
        ])),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "d"}]));
    // Emails (case-insensitive values) in a run of removals.
    let out = ok(json!([
        {"op": "remove", "path": "emails[value eq \"ADA@EXAMPLE.COM\"]"},
        {"op": "remove", "path": "emails[value eq \"nobody@x.y\"]"}
    ]));
    assert_eq!(
        out["emails"],
        json!([{"value": "ada@home.org", "type": "home"}])
    );
    // Removals from a read-only attribute are still refused.
    let e = err(json!([
        {"op": "remove", "path": "groups[value eq \"g-1\"]"},
        {"op": "remove", "path": "groups[value eq \"g-2\"]"}
    ]));
    is(&e, ScimType::Mutability);
    assert!(e.detail.starts_with("operation 1: "), "{}", e.detail);
}
