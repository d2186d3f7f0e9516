//! Request bodies as Okta sends them, taken from Okta's "SCIM 2.0 Protocol
//! Reference" ("Okta and SCIM Version 2.0") and "Build your SCIM API
//! service" (the Runscope spec test's upper-case userName probe).

use admit_scim_protocol::{GROUP, ListQuery, Mode, ScimType, USER, patch, primary_email, validate};
use serde_json::{Value, json};

fn okta_create_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {
            "givenName": "Test",
            "familyName": "User"
        },
        "emails": [{
            "primary": true,
            "value": "test.user@okta.local",
            "type": "work"
        }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

fn stored_user() -> Value {
    let mut v = validate(&USER, &okta_create_body(), Mode::Create).unwrap();
    v["id"] = json!("23a35c27-23d3-4c03-b4c5-6443c09e7173");
    v["meta"] = json!({"resourceType": "User"});
    v
}

#[test]
fn user_probe_query_with_paging() {
    // GET /scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100
    // as the app sees it, decoded.
    let q = ListQuery::parse([
        ("filter", "userName eq \"test.user@okta.local\""),
        ("startIndex", "1"),
        ("count", "100"),
    ])
    .unwrap();
    assert_eq!((q.start_index, q.count), (1, 100));
    let f = q.filter.unwrap();
    assert_eq!(
        f.equality(),
        Some(("userName".into(), "test.user@okta.local".into()))
    );
    assert!(f.matches(&stored_user(), &USER));
}

#[test]
fn user_probe_in_capitals_matches() {
    // Okta's spec test looks the user up with its userName in capitals.
    let q = ListQuery::parse([("filter", "userName eq \"TEST.USER@OKTA.LOCAL\"")]).unwrap();
    assert!(q.filter.unwrap().matches(&stored_user(), &USER));
}

#[test]
fn test_connection_lists_two() {
    let q = ListQuery::parse([("startIndex", "1"), ("count", "2")]).unwrap();
    assert!(q.filter.is_none());
    assert_eq!((q.start_index, q.count), (1, 2));
}

#[test]
fn create_user_drops_password_locale_and_groups() {
    let user = validate(&USER, &okta_create_body(), Mode::Create).unwrap();
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": true
        })
    );
    assert!(!user.to_string().contains("1mz050nq"));
    assert_eq!(
        primary_email(&user).as_deref(),
        Some("test.user@okta.local")
    );
}

#[test]
fn put_full_user_replaces() {
    let stored = stored_user();
    // Okta GETs the user, changes what changed, PUTs the whole object back
    // (with id, meta, groups, and sub-attributes Admit does not keep).
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {
            "givenName": "Another",
            "middleName": "Excited",
            "familyName": "User"
        },
        "emails": [{
            "primary": true,
            "value": "test.user@okta.local",
            "type": "work",
            "display": "test.user@okta.local"
        }],
        "active": true,
        "groups": [],
        "meta": {
            "resourceType": "User"
        }
    });
    let user = validate(&USER, &body, Mode::Replace(&stored)).unwrap();
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "active": true
        })
    );
    // displayName and externalId were not sent: a PUT clears them.
    assert!(user.get("displayName").is_none());
}

#[test]
fn put_deactivates_custom_app_integrations() {
    // Integrations made with the App Integration Wizard deactivate by PUT.
    let stored = stored_user();
    let mut body = stored.clone();
    body["active"] = json!(false);
    let user = validate(&USER, &body, Mode::Replace(&stored)).unwrap();
    assert_eq!(user["active"], false);
}

#[test]
fn deactivate_and_reactivate_by_patch() {
    let user = stored_user();
    let off = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "replace",
            "value": {
                "active": false
            }
        }]
    });
    let out = patch::apply(&USER, &user, &off).unwrap();
    assert_eq!(out["active"], false);
    assert_eq!(out["userName"], "test.user@okta.local");
    assert_eq!(out["name"], user["name"]);
    let on = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": true}}]
    });
    assert_eq!(patch::apply(&USER, &out, &on).unwrap()["active"], true);
}

fn stored_group() -> Value {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Test SCIMv2",
        "members": []
    });
    let mut g = validate(&GROUP, &body, Mode::Create).unwrap();
    g["id"] = json!("abf4dd94-a4c0-4f67-89c9-76b03340cb9b");
    g["meta"] = json!({"resourceType": "Group"});
    g
}

#[test]
fn create_group_with_empty_members() {
    let g = stored_group();
    assert_eq!(g["displayName"], "Test SCIMv2");
    assert!(g.get("members").is_none());
}

#[test]
fn rename_group_with_id_in_the_value() {
    let group = stored_group();
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "replace",
            "value": {
                "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
                "displayName": "Test SCIMv20"
            }
        }]
    });
    let out = patch::apply(&GROUP, &group, &request).unwrap();
    assert_eq!(out["displayName"], "Test SCIMv20");
    assert!(out.get("id").is_none());
}

#[test]
fn membership_remove_and_add_in_one_request() {
    let mut group = stored_group();
    group["members"] = json!([
        {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "old.user@okta.local"},
        {"value": "b1c794f24f4c49f4b5d503a4cb2686ea", "display": "SCIM 2 Group A"}
    ]);
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
              "op": "remove",
              "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"
            },
            {
              "op": "add",
              "path": "members",
              "value": [{
                  "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                  "display": "test.user@okta.local"
            }]
        }]
    });
    let out = patch::apply(&GROUP, &group, &request).unwrap();
    assert_eq!(
        out["members"],
        // `display` is read-only (Admit's): the client's is dropped.
        json!([
            {"value": "b1c794f24f4c49f4b5d503a4cb2686ea"},
            {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173"}
        ])
    );
}

#[test]
fn membership_full_push_replaces_all() {
    let mut group = stored_group();
    group["members"] = json!([{"value": "someone-else"}]);
    let request = json!({
      "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
      ],
      "Operations": [
        {
          "op": "replace",
          "path": "members",
          "value": [
            {
              "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
              "display": "test.user@okta.local"
            },
            {
              "value": "89bb1940-b905-4575-9e7f-6f887cfb368e",
              "display": "test.user@okta.local"
            }
          ]
        }
      ]
    });
    let out = patch::apply(&GROUP, &group, &request).unwrap();
    let ids: Vec<&str> = out["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "23a35c27-23d3-4c03-b4c5-6443c09e7173",
            "89bb1940-b905-4575-9e7f-6f887cfb368e"
        ]
    );
}

#[test]
fn membership_added_in_batches() {
    let mut group = stored_group();
    let batch = |from: usize| {
        let members: Vec<Value> = (from..from + 100)
            .map(|i| json!({"value": format!("user-{i:04}"), "display": format!("user{i}@okta.local")}))
            .collect();
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": members}]
        })
    };
    for from in [0, 100, 200, 150] {
        let mut next = patch::apply(&GROUP, &group, &batch(from)).unwrap();
        next["id"] = group["id"].clone();
        group = next;
    }
    let members = group["members"].as_array().unwrap();
    assert_eq!(
        members.len(),
        300,
        "the overlapping batch adds no duplicates"
    );
    assert_eq!(members[0]["value"], "user-0000");
    assert_eq!(members[299]["value"], "user-0299");
}

#[test]
fn put_group_replaces_members() {
    let mut stored = stored_group();
    stored["members"] = json!([{"value": "a"}, {"value": "b"}]);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
        "displayName": "Test SCIMv2",
        "members": [{"value": "b", "display": "B"}, {"value": "c"}]
    });
    let g = validate(&GROUP, &body, Mode::Replace(&stored)).unwrap();
    assert_eq!(g["members"], json!([{"value": "b"}, {"value": "c"}]));
}

#[test]
fn create_conflict_is_the_stores_409() {
    let e = admit_scim_protocol::ScimError::uniqueness("User already exists in the database.");
    assert_eq!(e.status, 409);
    assert_eq!(
        e.body(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409",
            "scimType": "uniqueness",
            "detail": "User already exists in the database."
        })
    );
    assert_eq!(e.scim_type, Some(ScimType::Uniqueness));
}
