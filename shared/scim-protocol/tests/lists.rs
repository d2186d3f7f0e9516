//! List queries, ListResponse and projection.

use admit_scim_protocol::{GROUP, ListQuery, ScimType, USER, list_response, project};
use serde_json::{Value, json};

fn q(pairs: &[(&str, &str)]) -> ListQuery {
    ListQuery::parse(pairs.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn defaults() {
    let d = q(&[]);
    assert_eq!((d.start_index, d.count), (1, 100));
    assert!(d.filter.is_none() && d.attributes.is_empty() && d.excluded_attributes.is_empty());
    assert_eq!(d.offset(), 0);
}

#[test]
fn start_index_and_count_rules() {
    assert_eq!(q(&[("startIndex", "0")]).start_index, 1);
    assert_eq!(q(&[("startIndex", "-5")]).start_index, 1);
    assert_eq!(q(&[("startIndex", "101")]).offset(), 100);
    assert_eq!(q(&[("count", "1000")]).count, 100);
    assert_eq!(q(&[("count", "99999999999999999999")]).count, 100);
    assert_eq!(q(&[("count", "-1")]).count, 0);
    assert_eq!(q(&[("count", "0")]).count, 0);
    assert_eq!(q(&[("count", " 7 ")]).count, 7);
    assert_eq!(q(&[("COUNT", "5"), ("StartIndex", "3")]).count, 5);
    assert_eq!(
        q(&[("count", "5"), ("count", "6")]).count,
        6,
        "last one wins"
    );
    for (k, v) in [
        ("startIndex", "one"),
        ("count", "1.5"),
        ("count", ""),
        ("startIndex", "1e2"),
    ] {
        let e = ListQuery::parse([(k, v)]).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(ScimType::InvalidValue)),
            "{k}={v}"
        );
        assert!(e.detail.contains(k), "{}", e.detail);
    }
}

#[test]
fn filter_and_attribute_lists() {
    let query = q(&[
        ("filter", r#"displayName eq "Eng""#),
        ("attributes", "userName, name.givenName,,emails "),
        ("excludedAttributes", "members"),
        ("sortBy", "userName"),
        ("sortOrder", "descending"),
        ("unknown", "x"),
    ]);
    assert!(query.filter.is_some());
    assert_eq!(query.attributes, ["userName", "name.givenName", "emails"]);
    assert_eq!(query.excluded_attributes, ["members"]);
    assert!(q(&[("filter", "  ")]).filter.is_none());
    let e = ListQuery::parse([("filter", "userName eq")]).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
}

#[test]
fn response_shape() {
    let r = list_response(250, 101, vec![json!({"id": "1"}), json!({"id": "2"})]);
    assert_eq!(
        r,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 250,
            "startIndex": 101,
            "itemsPerPage": 2,
            "Resources": [{"id": "1"}, {"id": "2"}]
        })
    );
    let counted = list_response(7, 1, Vec::new());
    assert_eq!(counted["totalResults"], 7);
    assert_eq!(counted["itemsPerPage"], 0);
    assert_eq!(counted["Resources"], json!([]));
    assert_eq!(list_response(0, 0, Vec::new())["startIndex"], 1);
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "externalId": "e1",
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada",
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "active": true,
        "groups": [{"value": "g1", "display": "Eng"}],
        "stray": "not in the schema"
    })
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn projection_without_lists_shows_defaults() {
    let shown = project(&user(), &[], &[], &USER);
    assert_eq!(
        keys(&shown),
        s(&[
            "active",
            "displayName",
            "emails",
            "externalId",
            "groups",
            "id",
            "meta",
            "name",
            "schemas",
            "userName"
        ])
    );
}

#[test]
fn projection_with_attributes() {
    let shown = project(&user(), &s(&["USERNAME"]), &[], &USER);
    assert_eq!(
        shown,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "ada@example.com"})
    );
    let shown = project(
        &user(),
        &s(&[
            "name.givenName",
            "emails.value",
            "urn:ietf:params:scim:schemas:core:2.0:User:active",
        ]),
        &[],
        &USER,
    );
    assert_eq!(shown["name"], json!({"givenName": "Ada"}));
    assert_eq!(shown["emails"], json!([{"value": "ada@example.com"}]));
    assert_eq!(shown["active"], true);
    assert_eq!(
        keys(&shown),
        s(&["active", "emails", "id", "name", "schemas"])
    );
    let shown = project(&user(), &s(&["nickName", "urn:other:thing"]), &[], &USER);
    assert_eq!(keys(&shown), s(&["id", "schemas"]));
    let shown = project(&user(), &s(&["name", "name.givenName"]), &[], &USER);
    assert_eq!(
        shown["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
}

#[test]
fn projection_with_excluded_attributes() {
    let shown = project(
        &user(),
        &[],
        &s(&["groups", "name.familyName", "id", "schemas", "meta"]),
        &USER,
    );
    assert!(shown.get("groups").is_none());
    assert!(shown.get("meta").is_none());
    assert_eq!(shown["name"], json!({"givenName": "Ada"}));
    assert_eq!(shown["id"], "u1", "id is returned always");
    assert!(shown.get("schemas").is_some());
    let shown = project(
        &user(),
        &[],
        &s(&["name.givenName", "name.familyName"]),
        &USER,
    );
    assert!(shown.get("name").is_none(), "nothing left of name");
    let shown = project(&user(), &s(&["emails"]), &s(&["emails.primary"]), &USER);
    assert_eq!(
        shown["emails"],
        json!([{"value": "ada@example.com", "type": "work"}])
    );
}

#[test]
fn group_without_members() {
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Eng",
        "members": [{"value": "u1"}]
    });
    let query = q(&[("excludedAttributes", "members")]);
    let shown = query.project(&group, &GROUP);
    assert_eq!(
        shown,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Eng"})
    );
}

#[test]
fn paging_in_memory() {
    let all: Vec<u32> = (1..=250).collect();
    let page = q(&[("startIndex", "101"), ("count", "100")])
        .page(&all)
        .to_vec();
    assert_eq!(page.first(), Some(&101));
    assert_eq!(page.len(), 100);
    let last = q(&[("startIndex", "201")]).page(&all).to_vec();
    assert_eq!(last.len(), 50);
    assert!(q(&[("count", "0")]).page(&all).is_empty());
}
