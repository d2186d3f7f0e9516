//! Request bodies as Microsoft Entra ID sends them, taken from Microsoft
//! Learn: "Tutorial: Develop and plan provisioning for a SCIM endpoint in
//! Microsoft Entra ID" (its request/response examples) and "Known issues
//! and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
//! user provisioning service" (the requests with and without the
//! `aadOptscim062020` flag).

use admit_scim_protocol::{GROUP, ListQuery, Mode, ScimType, USER, patch, validate};
use serde_json::{Value, json};

fn created_user() -> Value {
    // "Create User" request of the tutorial.
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    });
    validate(&USER, &body, Mode::Create).unwrap()
}

/// What the store would hand back: the validated body plus `id` and `meta`.
fn stored(mut v: Value, id: &str) -> Value {
    v["id"] = json!(id);
    v["meta"] = json!({"resourceType": "User", "created": "2018-03-27T19:59:26.000Z"});
    v
}

#[test]
fn create_user_keeps_core_and_drops_meta_roles_and_extension_urn() {
    let user = created_user();
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": true,
            "emails": [{
                "primary": true,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
            }],
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName"
            }
        })
    );
    assert_eq!(
        admit_scim_protocol::primary_email(&user).as_deref(),
        Some("Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com")
    );
}

#[test]
fn create_user_with_enterprise_extension_data_ignores_it() {
    // The tutorial's schema example: enterprise and custom extension data,
    // read-only `id` and `meta`.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"],
        "userName": "bjensen@testuser.com",
        "id": "48af03ac28ad4fb88478",
        "externalId": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": "123456",
            "employeeNumber": "701984",
            "department": "Tour Operations"
        },
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": "701984"},
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
        }
    });
    let user = validate(&USER, &body, Mode::Create).unwrap();
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen@testuser.com",
            "externalId": "bjensen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"}
        })
    );
    assert_eq!(
        admit_scim_protocol::primary_email(&user).as_deref(),
        Some("bjensen@testuser.com")
    );
}

#[test]
fn create_user_with_nulls_and_unkept_attributes() {
    // "Example 2. Provision a user" of the tutorial (its extension URN in
    // `schemas` misses a colon; nulls for attributes without a value).
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": true,
        "addresses": null,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": null,
        "preferredLanguage": null,
        "title": null,
        "department": null,
        "manager": null
    });
    let user = validate(&USER, &body, Mode::Create).unwrap();
    let keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "active",
            "displayName",
            "emails",
            "externalId",
            "name",
            "schemas",
            "userName"
        ]
    );
    assert_eq!(user["emails"][0]["value"], "jyoung@Contoso.com");
}

#[test]
fn get_user_by_query_and_zero_results() {
    let user = stored(created_user(), "2441309d85324e7793ae");
    let q = ListQuery::parse([(
        "filter",
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee""#,
    )])
    .unwrap();
    let f = q.filter.unwrap();
    assert_eq!(
        f.equality(),
        Some((
            "userName".into(),
            "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee".into()
        ))
    );
    assert!(f.matches(&user, &USER));
    let none = ListQuery::parse([("filter", r#"userName eq "non-existent user""#)]).unwrap();
    assert!(!none.filter.unwrap().matches(&user, &USER));
    // "Test Connection" asks for a random GUID in the matching attribute.
    let probe = ListQuery::parse([(
        "filter",
        r#"externalId eq "8e2f0c7a-5d1b-4b7e-9a53-1f2e3d4c5b6a""#,
    )])
    .unwrap();
    assert!(!probe.filter.unwrap().matches(&user, &USER));
}

#[test]
fn query_by_work_email_as_entra_matches_users() {
    // "Any attributes that are considered for user uniqueness must be usable
    // as part of a filtered query", e.g. emails[type eq "work"].value.
    let user = stored(created_user(), "1");
    let f = admit_scim_protocol::Filter::parse(
        r#"emails[type eq "work"].value eq "test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@TESTUSER.com""#,
    )
    .unwrap();
    assert!(f.matches(&user, &USER));
    assert_eq!(f.equality(), None);
    let home = admit_scim_protocol::Filter::parse(
        r#"emails[type eq "home"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com""#,
    )
    .unwrap();
    assert!(!home.matches(&user, &USER));
    // Entra only uses eq and and.
    let both = admit_scim_protocol::Filter::parse(
        r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
    )
    .unwrap();
    assert!(both.matches(&user, &USER));
}

#[test]
fn update_user_multi_valued_properties() {
    let user = stored(created_user(), "6764549bef60420686bc");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "emails[type eq \"work\"].value",
                "value": "updatedEmail@microsoft.com"
            },
            {
                "op": "Replace",
                "path": "name.familyName",
                "value": "updatedFamilyName"
            }
        ]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}])
    );
    assert_eq!(out["name"]["familyName"], "updatedFamilyName");
    assert_eq!(out["name"]["givenName"], "givenName");
    assert!(out.get("id").is_none() && out.get("meta").is_none());
}

#[test]
fn update_user_single_valued_property() {
    let user = stored(created_user(), "5171a35d82074e068ce2");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "path": "userName",
            "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        }]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(
        out["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
}

#[test]
fn disable_user_with_boolean_and_with_string_false() {
    let user = stored(created_user(), "5171a35d82074e068ce2");
    // The tutorial's "Disable User".
    let request = json!({
        "Operations": [{"op": "Replace", "path": "active", "value": false}],
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    });
    assert_eq!(
        patch::apply(&USER, &user, &request).unwrap()["active"],
        false
    );
    // The known issue, without the compliance flag: "False" as a string.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    });
    assert_eq!(
        patch::apply(&USER, &user, &request).unwrap()["active"],
        false
    );
    // Re-enabling, in any case.
    let off = patch::apply(&USER, &user, &request).unwrap();
    let on = json!({"Operations": [{"op": "Replace", "path": "active", "value": "TRUE"}]});
    assert_eq!(patch::apply(&USER, &off, &on).unwrap()["active"], true);
}

#[test]
fn pathless_replace_with_capital_op_and_string_boolean() {
    let user = stored(created_user(), "1");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"active": "False"}}]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(out["active"], json!(false));
    assert_eq!(out["userName"], user["userName"]);
}

#[test]
fn replace_multiple_attributes_without_the_flag() {
    let user = stored(created_user(), "1");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Eqpj"}
        ]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(out["displayName"], "Pvlo");
    assert_eq!(out["emails"][0]["value"], "TestBcwqnm@test.microsoft.com");
    assert_eq!(out["name"]["givenName"], "Gtfd");
    assert_eq!(out["name"]["familyName"], "Pkqf");
    assert_eq!(out["externalId"], "Eqpj");
    assert!(!out.to_string().contains("employeeNumber"));
}

#[test]
fn replace_multiple_attributes_with_the_flag_dotted_and_urn_keys() {
    let user = stored(created_user(), "1");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}
        ]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(out["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
    assert_eq!(out["displayName"], "Bjfe");
    assert_eq!(
        out["name"],
        json!({"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"})
    );
    assert!(!out.to_string().contains("Aklq"));
}

#[test]
fn add_single_value_string_attribute_not_kept_is_ignored() {
    // The known issue's "add a single-value string attribute": nickName is
    // not kept by Admit.
    let user = stored(created_user(), "1");
    for op in ["Add", "add"] {
        let request = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": "nickName", "value": "Babs"}]
        });
        let out = patch::apply(&USER, &user, &request).unwrap();
        assert!(out.get("nickName").is_none());
        assert_eq!(out["userName"], user["userName"]);
    }
}

#[test]
fn add_manager_reference_is_ignored() {
    // "Example 5" of the tutorial: the manager reference.
    let user = stored(created_user(), "1");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "manager",
            "value": [{
                "$ref": "http://example.com/scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
            }]
        }]
    });
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(out, created_user());
}

#[test]
fn add_work_email_through_value_filter() {
    // From a Microsoft Q&A thread: Entra sends Add (not Replace) for a
    // changed work email.
    let user = stored(created_user(), "1");
    let request = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"tester"},
        {"op":"Add","path":"emails[type eq \"work\"].value","value":"new@joe.com"}]});
    let out = patch::apply(&USER, &user, &request).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "new@joe.com", "type": "work", "primary": true}])
    );
    // A user without emails gets one.
    let mut bare = user.clone();
    bare.as_object_mut().unwrap().remove("emails");
    let out = patch::apply(&USER, &bare, &request).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"type": "work", "value": "new@joe.com"}])
    );
    // And Replace creates it too when the user has no email at all.
    let replace = json!({"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y.com"}]});
    let out = patch::apply(&USER, &bare, &replace).unwrap();
    assert_eq!(out["emails"], json!([{"type": "work", "value": "x@y.com"}]));
}

fn created_group() -> Value {
    // "Create Group" of the tutorial.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {
            "resourceType": "Group"
        }
    });
    validate(&GROUP, &body, Mode::Create).unwrap()
}

#[test]
fn create_group() {
    assert_eq!(
        created_group(),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName"
        })
    );
}

#[test]
fn get_group_excluding_members_and_by_display_name() {
    let mut group = created_group();
    group["id"] = json!("40734ae655284ad3abcc");
    group["members"] = json!([{"value": "f648f8d5ea4e4cd38e9c"}]);
    group["meta"] = json!({"resourceType": "Group"});
    let q = ListQuery::parse([
        ("excludedAttributes", "members"),
        ("filter", r#"displayName eq "displayName""#),
    ])
    .unwrap();
    let f = q.filter.as_ref().unwrap();
    assert_eq!(
        f.equality(),
        Some(("displayName".into(), "displayName".into()))
    );
    assert!(f.matches(&group, &GROUP));
    let shown = q.project(&group, &GROUP);
    assert!(shown.get("members").is_none());
    assert_eq!(shown["id"], "40734ae655284ad3abcc");
    assert_eq!(shown["displayName"], "displayName");
    assert_eq!(shown["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(shown["meta"], json!({"resourceType": "Group"}));
}

#[test]
fn update_group_display_name() {
    let group = created_group();
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Replace",
            "path": "displayName",
            "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
        }]
    });
    let out = patch::apply(&GROUP, &group, &request).unwrap();
    assert_eq!(
        out["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
}

#[test]
fn add_and_remove_members_in_both_remove_forms() {
    let group = created_group();
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Add",
            "path": "members",
            "value": [{
                "$ref": null,
                "value": "f648f8d5ea4e4cd38e9c"
            }]
        }]
    });
    let with = patch::apply(&GROUP, &group, &add).unwrap();
    assert_eq!(with["members"], json!([{"value": "f648f8d5ea4e4cd38e9c"}]));
    // Adding again does not duplicate.
    assert_eq!(patch::apply(&GROUP, &with, &add).unwrap(), with);

    // The tutorial's (and the known issue's pre-flag) removal.
    let remove_listed = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "Remove",
            "path": "members",
            "value": [{
                "$ref": null,
                "value": "f648f8d5ea4e4cd38e9c"
            }]
        }]
    });
    let without = patch::apply(&GROUP, &with, &remove_listed).unwrap();
    assert!(without.get("members").is_none());
    assert_eq!(without["displayName"], "displayName");

    // The compliant removal, with the flag.
    let remove_filtered = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "remove",
            "path": "members[value eq \"f648f8d5ea4e4cd38e9c\"]"
        }]
    });
    let without = patch::apply(&GROUP, &with, &remove_filtered).unwrap();
    assert!(without.get("members").is_none());
    // Removing a member that is not there is harmless.
    assert_eq!(
        patch::apply(&GROUP, &without, &remove_filtered).unwrap(),
        without
    );
    assert_eq!(
        patch::apply(&GROUP, &without, &remove_listed).unwrap(),
        without
    );
}

#[test]
fn remove_listed_members_leaves_the_others() {
    let mut group = created_group();
    group["members"] = json!([{"value": "u1091"}, {"value": "u1092"}, {"value": "u1093"}]);
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1091"}, {"value": "u1093"}]}]
    });
    let out = patch::apply(&GROUP, &group, &request).unwrap();
    assert_eq!(out["members"], json!([{"value": "u1092"}]));
}

#[test]
fn remove_without_path_is_no_target() {
    let group = created_group();
    let request = json!({"Operations": [{"op": "Remove", "value": [{"value": "u1"}]}]});
    let e = patch::apply(&GROUP, &group, &request).unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::NoTarget)));
}
