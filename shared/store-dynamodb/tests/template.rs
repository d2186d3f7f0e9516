//! The deployed table is the table the code uses: `infra/template.yaml`'s
//! `Table` resource has exactly the keys, indexes, billing mode and TTL
//! attribute of `schema::TABLE` — the definition `create_table` sends, which
//! every moto test creates its table from.

use admit_store_dynamodb::schema::{
    TABLE, attribute_definitions, global_secondary_indexes, key_schema,
};
use aws_sdk_dynamodb::types::KeySchemaElement;
use serde_json::{Value, json};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // CloudFormation's short-form tags (`!Ref`, `!Sub`) parse as tagged values;
    // the table's key schema holds none (the template says so).
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is YAML: {e}"));
    serde_json::to_value(yaml).expect("the template converts to JSON")
}

fn keys(elements: &[KeySchemaElement]) -> Value {
    elements
        .iter()
        .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
        .collect()
}

/// The code's table, in the template's terms.
fn code_table() -> Value {
    json!({
        "BillingMode": TABLE.billing_mode,
        "TimeToLiveSpecification": {"AttributeName": TABLE.ttl_attribute, "Enabled": true},
        "AttributeDefinitions": attribute_definitions()
            .iter()
            .map(|a| json!({"AttributeName": a.attribute_name(), "AttributeType": a.attribute_type().as_str()}))
            .collect::<Value>(),
        "KeySchema": keys(&key_schema()),
        "GlobalSecondaryIndexes": global_secondary_indexes()
            .iter()
            .map(|g| json!({
                "IndexName": g.index_name(),
                "KeySchema": keys(g.key_schema()),
                "Projection": {"ProjectionType": g.projection().and_then(|p| p.projection_type()).map(|t| t.as_str())},
            }))
            .collect::<Value>(),
    })
}

/// How the template's `Table` differs from the code's table (empty: not at all).
fn differences(template: &Value) -> Vec<String> {
    let table = &template["Resources"]["Table"];
    let props = &table["Properties"];
    let mut out = Vec::new();
    if table["Type"] != "AWS::DynamoDB::Table" {
        out.push(format!("Table.Type is {}", table["Type"]));
    }
    for (field, want) in code_table().as_object().unwrap() {
        if &props[field] != want {
            out.push(format!(
                "Table.Properties.{field}: template {} / code {want}",
                props[field]
            ));
        }
    }
    out
}

#[test]
fn the_templates_table_is_the_codes_table() {
    let template = template();
    assert_eq!(differences(&template), Vec::<String>::new());
    // What the issue asks of the deployed table beyond its keys.
    let table = &template["Resources"]["Table"];
    let props = &table["Properties"];
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(props["DeletionProtectionEnabled"], true);
    assert_eq!(table["DeletionPolicy"], "Retain");
}

#[test]
fn a_changed_key_or_index_is_a_difference() {
    let changed = |edit: fn(&mut Value)| {
        let mut t = template();
        edit(&mut t["Resources"]["Table"]["Properties"]);
        differences(&t)
    };
    let renamed = changed(|p| {
        p["GlobalSecondaryIndexes"][1]["KeySchema"][1]["AttributeName"] = json!("due");
    });
    assert_eq!(renamed.len(), 1, "{renamed:?}");
    assert!(renamed[0].contains("GlobalSecondaryIndexes"));
    let swapped = changed(|p| p["KeySchema"].as_array_mut().unwrap().reverse());
    assert_eq!(swapped.len(), 1, "{swapped:?}");
    let no_ttl = changed(|p| p["TimeToLiveSpecification"]["AttributeName"] = json!("expires"));
    assert_eq!(no_ttl.len(), 1, "{no_ttl:?}");
    let extra_index = changed(|p| {
        let first = p["GlobalSecondaryIndexes"][0].clone();
        p["GlobalSecondaryIndexes"]
            .as_array_mut()
            .unwrap()
            .push(first);
    });
    assert_eq!(extra_index.len(), 1, "{extra_index:?}");
}
