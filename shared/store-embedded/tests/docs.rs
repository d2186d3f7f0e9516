//! The table lists in the docs stay true: every redb table the store opens
//! is named in the crate's docs and in ARCHITECTURE.md, and the docs name no
//! table the store does not have.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_table_is_documented_and_every_documented_table_exists() {
    let tables = admit_store_embedded::table_names();
    let architecture = read("../../ARCHITECTURE.md");
    let section = {
        let start = architecture
            .find("### Embedded (redb)")
            .expect("ARCHITECTURE.md has an Embedded (redb) section");
        let rest = &architecture[start + 3..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
    };
    let crate_doc = read("src/lib.rs");
    for t in &tables {
        assert!(
            section.contains(&format!("`{t}`")),
            "ARCHITECTURE.md's Embedded (redb) section does not name the table `{t}`"
        );
        assert!(
            crate_doc.contains(&format!("`{t}`")),
            "src/lib.rs does not name the table `{t}`"
        );
    }
    // The section's table list names only real tables: the backticked
    // snake_case words of its "Tables:" paragraph.
    let list = section
        .split("Tables:")
        .nth(1)
        .expect("a Tables: paragraph")
        .split("\n\n")
        .next()
        .unwrap();
    for word in list.split('`').skip(1).step_by(2) {
        if word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            assert!(
                tables.contains(&word),
                "ARCHITECTURE.md names a table `{word}` the store does not have"
            );
        }
    }
}
