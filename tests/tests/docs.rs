//! The documents are held to the code: ARCHITECTURE.md's code map names every
//! workspace member (and nothing that is gone), the SSO decision table of
//! docs/product.md has every row the code cites, and the links between the
//! documents lead somewhere. Files only: nothing here builds or starts
//! anything.

use admit_tests::workspace_members;
use std::collections::BTreeSet;

fn read(relative: &str) -> String {
    let path = format!("{}/../{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn exists(relative: &str) -> bool {
    std::path::Path::new(&format!("{}/../{relative}", env!("CARGO_MANIFEST_DIR"))).exists()
}

/// The lines of a markdown section: from its heading to the next heading of
/// the same or a higher level.
fn section<'a>(doc: &'a str, heading: &str) -> Vec<&'a str> {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut lines = doc.lines().skip_while(|l| l.trim_end() != heading);
    assert!(lines.next().is_some(), "no `{heading}` section");
    lines
        .take_while(|l| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
        })
        .collect()
}

/// The first cell of each row of the code map: the path, in backticks.
fn code_map_paths(architecture: &str) -> BTreeSet<&str> {
    section(architecture, "## Code map")
        .into_iter()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect()
}

#[test]
fn the_code_map_names_every_workspace_member() {
    let manifest = read("Cargo.toml");
    let architecture = read("ARCHITECTURE.md");
    let members = workspace_members(&manifest);
    assert!(members.len() > 10, "{members:?}");
    let mapped = code_map_paths(&architecture);
    let missing: Vec<&str> = members
        .iter()
        .copied()
        .filter(|m| !mapped.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map has no row for the workspace member(s) {missing:?}: \
         add a row whose first cell is the member's path in backticks, e.g. | `{}` | …",
        missing[0]
    );
}

#[test]
fn the_code_map_names_nothing_that_is_gone() {
    let architecture = read("ARCHITECTURE.md");
    let gone: Vec<&str> = code_map_paths(&architecture)
        .into_iter()
        .filter(|p| !exists(p))
        .collect();
    assert!(
        gone.is_empty(),
        "ARCHITECTURE.md's code map names paths that do not exist: {gone:?}"
    );
}

/// The row numbers of docs/product.md's decision table, in order.
fn decision_rows(product: &str) -> Vec<u32> {
    section(product, "### The decision table")
        .into_iter()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Every row number cited as "Row 9" or "Rows 3, 4, 6" in `text`.
fn cited_rows(text: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("Row").chain(text.match_indices("row")) {
        let after = &text[i + 3..];
        let Some(list) = after.strip_prefix("s ").or_else(|| after.strip_prefix(' ')) else {
            continue;
        };
        let mut rest = list;
        loop {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let Ok(n) = digits.parse() else { break };
            out.insert(n);
            rest = &rest[digits.len()..];
            match rest
                .strip_prefix(", ")
                .or_else(|| rest.strip_prefix(" and "))
            {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    out
}

#[test]
fn the_decision_table_has_every_row_the_code_cites() {
    let rows = decision_rows(&read("docs/product.md"));
    let expected: Vec<u32> = (1..=14).collect();
    assert_eq!(
        rows, expected,
        "docs/product.md's decision table must keep rows 1 to 14 in order (code cites them by number)"
    );
    let mut files = vec!["ARCHITECTURE.md".to_owned()];
    for dir in ["shared", "functions", "infra", "tests/tests"] {
        rust_files(dir, &mut files);
    }
    assert!(
        files.iter().any(|f| f == "shared/domain/src/sso.rs"),
        "{files:?}"
    );
    for file in &files {
        let text = read(file);
        let cited = cited_rows(&text);
        let unknown: Vec<&u32> = cited.iter().filter(|n| !rows.contains(n)).collect();
        assert!(
            unknown.is_empty(),
            "{file} cites decision table row(s) {unknown:?}, which docs/product.md does not have"
        );
    }
}

/// The `.rs` files under `dir` (relative to the workspace root), build
/// output left out.
fn rust_files(dir: &str, out: &mut Vec<String>) {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let entries =
        std::fs::read_dir(format!("{root}/{dir}")).unwrap_or_else(|e| panic!("{dir}: {e}"));
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{dir}/{name}");
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() && !matches!(name.as_str(), "target" | "node_modules") {
            rust_files(&path, out);
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// A heading's anchor, as GitHub renders it.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(doc: &str) -> BTreeSet<String> {
    let mut fenced = false;
    doc.lines()
        .filter(|l| {
            if l.starts_with("```") {
                fenced = !fenced;
            }
            !fenced && l.starts_with('#')
        })
        .map(anchor)
        .collect()
}

/// Every `](target)` of a markdown text.
fn links(doc: &str) -> Vec<&str> {
    doc.match_indices("](")
        .filter_map(|(i, _)| doc[i + 2..].split(')').next())
        .collect()
}

#[test]
fn the_links_between_the_documents_lead_somewhere() {
    let mut broken = Vec::new();
    for doc in ["docs/README.md", "docs/product.md", "docs/api.md"] {
        let text = read(doc);
        for link in links(&text) {
            if link.contains("://") {
                continue;
            }
            let (file, fragment) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() {
                doc.to_owned()
            } else {
                let mut parts: Vec<&str> = doc.split('/').collect();
                parts.pop();
                for part in file.split('/') {
                    match part {
                        ".." => {
                            parts.pop();
                        }
                        "." => {}
                        p => parts.push(p),
                    }
                }
                parts.join("/")
            };
            if !exists(&target) {
                broken.push(format!("{doc}: {link} (no {target})"));
            } else if !fragment.is_empty() && !anchors(&read(&target)).contains(fragment) {
                broken.push(format!(
                    "{doc}: {link} (no heading #{fragment} in {target})"
                ));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

#[test]
fn the_helpers_read_what_they_should() {
    assert_eq!(
        workspace_members("members = [\n    \"a/b\", # the b\n    \"c\",\n]\n"),
        ["a/b", "c"]
    );
    assert_eq!(
        cited_rows("Row 9: x. Rows 3, 4, 6 and 11: y. rows 6, 7, 8 and 5. a row is"),
        BTreeSet::from([3, 4, 5, 6, 7, 8, 9, 11])
    );
    assert_eq!(
        anchor("# Second release: the organization's whole member lifecycle"),
        "second-release-the-organizations-whole-member-lifecycle"
    );
    assert_eq!(
        anchor("## SCIM 2.0 (RFC 7643/7644)"),
        "scim-20-rfc-76437644"
    );
}
