//! Only `sso-callback` (and `admit serve`) may link libxml2/libxmlsec1: every
//! other Lambda function stays a plain zip (ARCHITECTURE.md, "Packaging").
//! Asked of cargo itself (normal and build dependencies, as they ship).

use std::process::Command;

/// The names of the crates `package` is built with.
fn shipped_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
        ])
        .args(["--package", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_sso_callback_links_the_xml_security_libraries() {
    let native = ["samael", "libxml", "admit-sso-saml"];
    for function in [
        "admit-invite",
        "admit-accept",
        "admit-confirm",
        "admit-remind",
        "admit-scim",
    ] {
        let deps = shipped_dependencies(function);
        assert!(deps.len() > 10, "{function}: {deps:?}");
        for n in native {
            assert!(
                !deps.iter().any(|d| d == n),
                "{function} must not depend on {n}"
            );
        }
    }
    let callback = shipped_dependencies("admit-sso-callback");
    assert!(callback.iter().any(|d| d == "samael"), "{callback:?}");
}
