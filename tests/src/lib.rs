//! Test harness shared by the black-box tests and the adapters' tests:
//! real servers started on free loopback ports and stopped afterwards.

pub mod dns;
pub mod evil;
pub mod keys;
pub mod moto;
mod node;
pub mod oidc;
pub mod saml;
pub mod wire;

/// The `members` of the root manifest's `[workspace]`, as written.
pub fn workspace_members(manifest: &str) -> Vec<&str> {
    let start = manifest
        .find("members = [")
        .expect("Cargo.toml has `members = [`");
    let list = &manifest[start + "members = [".len()..];
    let list = &list[..list.find(']').expect("`members` is closed")];
    list.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .flat_map(|l| l.split(','))
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .collect()
}
