//! The discovery documents: /ServiceProviderConfig, /ResourceTypes,
//! /Schemas.

use admit_scim_protocol::schema::{self, ALL};
use admit_scim_protocol::{MEDIA_TYPE, urn};
use serde_json::{Value, json};

const BASE: &str = "https://admit.example/scim/v2";

fn no_nulls(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => a.iter().all(no_nulls),
        Value::Object(o) => o.values().all(no_nulls),
        _ => true,
    }
}

#[test]
fn service_provider_config() {
    let spc = schema::service_provider_config(BASE);
    assert_eq!(spc, schema::service_provider_config(&format!("{BASE}/")));
    assert_eq!(spc["schemas"], json!([urn::SERVICE_PROVIDER_CONFIG]));
    assert_eq!(spc["patch"], json!({"supported": true}));
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["bulk"]["maxOperations"], 0);
    assert_eq!(spc["bulk"]["maxPayloadSize"], 0);
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 100}));
    assert_eq!(spc["changePassword"], json!({"supported": false}));
    assert_eq!(spc["sort"], json!({"supported": false}));
    assert_eq!(spc["etag"], json!({"supported": false}));
    let schemes = spc["authenticationSchemes"].as_array().unwrap();
    assert_eq!(schemes.len(), 1);
    assert_eq!(schemes[0]["type"], "oauthbearertoken");
    assert!(schemes[0]["name"].is_string() && schemes[0]["description"].is_string());
    assert_eq!(
        spc["meta"],
        json!({"resourceType": "ServiceProviderConfig", "location": format!("{BASE}/ServiceProviderConfig")})
    );
    assert!(no_nulls(&spc));
}

#[test]
fn resource_types() {
    let list = schema::resource_types(BASE);
    assert_eq!(list["schemas"], json!([urn::LIST_RESPONSE]));
    assert_eq!(
        (
            list["totalResults"].clone(),
            list["itemsPerPage"].clone(),
            list["startIndex"].clone()
        ),
        (json!(2), json!(2), json!(1))
    );
    let items = list["Resources"].as_array().unwrap();
    assert_eq!(
        items[0],
        json!({
            "schemas": [urn::RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": urn::USER,
            "meta": {"resourceType": "ResourceType", "location": format!("{BASE}/ResourceTypes/User")}
        })
    );
    assert_eq!(items[1]["id"], "Group");
    assert_eq!(items[1]["endpoint"], "/Groups");
    assert_eq!(items[1]["schema"], urn::GROUP);
    assert_eq!(schema::resource_type(BASE, "user").unwrap(), items[0]);
    assert_eq!(
        schema::resource_type(&format!("{BASE}/"), "GROUP").unwrap(),
        items[1]
    );
    assert!(schema::resource_type(BASE, "Device").is_none());
    assert!(no_nulls(&list));
}

fn names(schema_doc: &Value) -> Vec<&str> {
    schema_doc["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect()
}

#[test]
fn schemas_advertise_only_what_is_kept() {
    let list = schema::schemas(BASE);
    assert_eq!(list["totalResults"], 2);
    let items = list["Resources"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let user = &items[0];
    assert_eq!(user["id"], urn::USER);
    assert_eq!(user["schemas"], json!([urn::SCHEMA]));
    assert_eq!(user["name"], "User");
    assert_eq!(
        names(user),
        [
            "userName",
            "name",
            "displayName",
            "emails",
            "active",
            "groups"
        ]
    );
    assert_eq!(
        user["meta"],
        json!({"resourceType": "Schema", "location": format!("{BASE}/Schemas/{}", urn::USER)})
    );
    let group = &items[1];
    assert_eq!(group["id"], urn::GROUP);
    assert_eq!(names(group), ["displayName", "members"]);
    assert!(no_nulls(&list));
    assert!(!list.to_string().contains("enterprise"));
    assert!(!list.to_string().contains("phoneNumbers"));
}

#[test]
fn attribute_characteristics_as_rfc_7643_section_7() {
    let user = schema::schema(BASE, urn::USER).unwrap();
    let attrs = user["attributes"].as_array().unwrap();
    assert_eq!(
        attrs[0],
        json!({
            "name": "userName",
            "type": "string",
            "multiValued": false,
            "description": attrs[0]["description"],
            "required": true,
            "caseExact": false,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "server"
        })
    );
    let emails = &attrs[3];
    assert_eq!(emails["type"], "complex");
    assert_eq!(emails["multiValued"], true);
    assert!(
        emails.get("caseExact").is_none(),
        "complex attributes have no caseExact"
    );
    let subs = emails["subAttributes"].as_array().unwrap();
    let sub_names: Vec<&str> = subs.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(sub_names, ["value", "type", "primary"]);
    assert_eq!(subs[1]["canonicalValues"], json!(["work", "home", "other"]));
    assert_eq!(subs[2]["type"], "boolean");
    let groups = &attrs[5];
    assert_eq!(groups["mutability"], "readOnly");
    assert_eq!(groups["subAttributes"][1]["name"], "$ref");
    assert_eq!(
        groups["subAttributes"][1]["referenceTypes"],
        json!(["Group"])
    );
    assert_eq!(attrs[4]["type"], "boolean");

    let group = schema::schema(BASE, &urn::GROUP.to_lowercase()).unwrap();
    let members = &group["attributes"][1];
    let subs = members["subAttributes"].as_array().unwrap();
    let sub_names: Vec<&str> = subs.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(sub_names, ["value", "$ref", "display", "type"]);
    let mutability: Vec<&str> = subs
        .iter()
        .map(|s| s["mutability"].as_str().unwrap())
        .collect();
    // `display` is Admit's (the member's userName), never the client's.
    assert_eq!(
        mutability,
        ["immutable", "immutable", "readOnly", "immutable"]
    );
    assert_eq!(subs[1]["referenceTypes"], json!(["User", "Group"]));
    assert_eq!(subs[3]["canonicalValues"], json!(["User", "Group"]));
    assert_eq!(group["attributes"][0]["required"], true);
}

#[test]
fn single_schema_lookups() {
    assert!(schema::schema(BASE, urn::ENTERPRISE_USER).is_none());
    assert!(schema::schema(BASE, "User").is_none());
    assert_eq!(schema::schema(BASE, urn::USER), Some(ALL[0].to_json(BASE)));
}

#[test]
fn media_type() {
    assert_eq!(MEDIA_TYPE, "application/scim+json");
}
