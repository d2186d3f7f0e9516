//! Nothing in the contract suite can silently go unrun: every check in a
//! capability module is listed in `contract_tests!`, which both backends
//! invoke, and the checks that take more than a store (not in the list) are
//! called by both backends' contract tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `pub async fn` of the capability modules, as `module::name`, and
/// whether it takes only the store.
fn checks() -> Vec<(String, bool)> {
    let dir = root().join("src/contract");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if module == "mod" {
            continue;
        }
        let text = read(&path);
        for (i, _) in text.match_indices("\npub async fn ") {
            let rest = &text[i + "\npub async fn ".len()..];
            let name = rest.split('(').next().unwrap().trim().to_owned();
            let params = rest.split(')').next().unwrap();
            let store_only =
                params.trim_start_matches(&format!("{name}(")).trim() == "store: DynStore";
            out.push((format!("{module}::{name}"), store_only));
        }
    }
    assert!(
        out.len() > 20,
        "found only {} checks in {}",
        out.len(),
        dir.display()
    );
    out
}

/// The `module::name` entries of `contract_tests!`'s list.
fn listed() -> BTreeSet<String> {
    let text = read(&root().join("src/contract/mod.rs"));
    let start = text.find("@each $make;").expect("the contract_tests! list");
    let end = start + text[start..].find(");").expect("the end of the list");
    text[start + "@each $make;".len()..end]
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn every_check_is_in_the_list_and_every_entry_is_a_check() {
    let checks = checks();
    let listed = listed();
    let listable: BTreeSet<String> = checks
        .iter()
        .filter(|(_, store_only)| *store_only)
        .map(|(n, _)| n.clone())
        .collect();
    let unlisted: Vec<_> = listable.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "contract checks no backend runs (add them to contract_tests! in src/contract/mod.rs): {unlisted:?}"
    );
    let unknown: Vec<_> = listed.difference(&listable).collect();
    assert!(unknown.is_empty(), "listed but not a check: {unknown:?}");
}

#[test]
fn both_backends_run_the_list_and_every_other_check() {
    let others: Vec<String> = checks()
        .into_iter()
        .filter(|(_, store_only)| !store_only)
        .map(|(n, _)| n)
        .collect();
    for backend in ["store-embedded", "store-dynamodb"] {
        let path = root().join(format!("../{backend}/tests/contract.rs"));
        let text = read(&path);
        assert!(
            text.contains("admit_store::contract_tests!("),
            "{} does not invoke contract_tests!",
            path.display()
        );
        for check in &others {
            assert!(
                text.contains(&format!("admit_store::contract::{check}(")),
                "{} does not run the contract check {check}",
                path.display()
            );
        }
    }
}
