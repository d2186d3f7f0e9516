//! The item lists in the docs stay true: every key prefix and sort key the
//! code builds (`src/keys.rs`) appears in the crate's item table and in
//! ARCHITECTURE.md's, so an item kind added to the code without its row
//! fails here.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The literals of keys.rs that name an item kind: `"XYZ#` partition or
/// sort-key prefixes, and the sort keys `Key::new(…, "XYZ")`.
fn key_literals() -> Vec<String> {
    let keys = read("src/keys.rs");
    let mut out = Vec::new();
    for (i, _) in keys.match_indices('"') {
        let rest = &keys[i + 1..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .collect();
        if word.len() < 2 {
            continue;
        }
        match rest[word.len()..].chars().next() {
            Some('#') => out.push(format!("{word}#")),
            Some('"') if rest[word.len() + 1..].trim_start().starts_with(')') => out.push(word),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    assert!(out.len() >= 20, "read too few key literals: {out:?}");
    out
}

#[test]
fn every_item_kind_is_in_the_item_tables() {
    let crate_doc = read("src/lib.rs");
    let architecture = read("../../ARCHITECTURE.md");
    let items_section = |doc: &str| {
        let start = doc.find("| Item").expect("an item table");
        doc[start..].split("\n\n").next().unwrap().to_owned()
    };
    let (crate_items, arch_items) = (items_section(&crate_doc), items_section(&architecture));
    for literal in key_literals() {
        assert!(
            crate_items.contains(&format!("`{literal}"))
                || crate_items.contains(&format!("{literal}{{")),
            "src/lib.rs's item table does not show `{literal}`"
        );
        assert!(
            arch_items.contains(&format!("`{literal}"))
                || arch_items.contains(&format!("{literal}{{")),
            "ARCHITECTURE.md's DynamoDB item table does not show `{literal}`"
        );
    }
}
