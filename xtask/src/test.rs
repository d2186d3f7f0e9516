//! `cargo xtask test`: the one command that sets up and runs every test.

use crate::setup;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub fn run() -> anyhow::Result<()> {
    setup::ensure_build_deps()?;
    setup::ensure_moto()?;
    setup::ensure_idp()?;
    setup::ensure_saml_idp()?;
    setup::ensure_chromium()?;
    lint_template()?;
    let cargo = |args: &[&str]| setup::run(Command::new("cargo").args(args));
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ])?;
    let (passed, failed) = cargo_test()?;
    // One closing line for the whole run (cargo's own last line is a doc-test
    // summary of a crate without doc tests).
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// The SAM template passes cfn-lint (no errors; warnings fail too) and
/// checkov (no failed check; each skip is justified in the template).
fn lint_template() -> anyhow::Result<()> {
    let bin = setup::ensure_infra_linters()?;
    let template = setup::root().join("infra/template.yaml");
    setup::run(Command::new(bin.join("cfn-lint")).arg(&template))
        .context("cfn-lint found problems in infra/template.yaml")?;
    setup::run(
        Command::new(bin.join("checkov"))
            .args([
                "--framework",
                "cloudformation",
                "--compact",
                "--quiet",
                "--skip-download",
                "-f",
            ])
            .arg(&template),
    )
    .context("checkov found failed checks in infra/template.yaml")
}

/// `cargo test --workspace`, echoed, with the per-binary results added up.
fn cargo_test() -> anyhow::Result<(u64, u64)> {
    eprintln!("$ cargo test --workspace");
    let mut child = Command::new("cargo")
        .args(["test", "--workspace"])
        .current_dir(setup::root())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo test")?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, "passed");
            failed += count(rest, "failed");
        }
    }
    let status = child.wait()?;
    if !status.success() {
        println!("tests: {passed} passed, {} failed", failed.max(1));
        bail!("cargo test failed ({status})");
    }
    Ok((passed, failed))
}

/// `N` in "... N <word>; ..." of a `test result:` line.
fn count(summary: &str, word: &str) -> u64 {
    summary
        .split(';')
        .filter_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(word)
        })
        .find_map(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn reads_cargo_summaries() {
        let ok =
            "ok. 32 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 37.47s";
        assert_eq!((count(ok, "passed"), count(ok, "failed")), (32, 0));
        let bad = "FAILED. 15 passed; 1 failed; 0 ignored; 0 measured; 16 filtered out; finished in 7.99s";
        assert_eq!((count(bad, "passed"), count(bad, "failed")), (15, 1));
    }
}
