//! `cargo xtask test`: the one command that sets up and runs every test.
//! `cargo xtask test --quick`: the inner loop, with no install and no server.

use crate::setup;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Only the tests that need no install and no external server: the
    /// domain's unit tests, the store contract on the embedded store, the
    /// use cases of admit-app (embedded store, outbox, fake IdPs), the mail
    /// templates and outbox, the HTTP adapter's and the reminder handler's
    /// tests, the DNS adapter's unit tests. No fmt, clippy, moto, IdP, browser or template linting.
    #[arg(long)]
    quick: bool,
}

/// What `--quick` runs: each a `cargo test` invocation. Packages whose other
/// test targets start moto or an IdP (admit-mail's SES test, for one) are
/// run with `--lib` only.
const QUICK: &[&[&str]] = &[
    &[
        "test",
        "-p",
        "admit-domain",
        "-p",
        "admit-mail",
        "-p",
        "admit-http",
        "-p",
        "admit-dns",
        "--lib",
    ],
    &[
        "test",
        "-p",
        "admit-store",
        "-p",
        "admit-store-embedded",
        "-p",
        "admit-app",
        "-p",
        "admit-remind",
        "-p",
        "xtask",
        "--tests",
    ],
];

pub fn run(args: TestArgs) -> anyhow::Result<()> {
    if args.quick {
        return run_quick();
    }
    setup::ensure_build_deps()?;
    setup::ensure_moto()?;
    setup::ensure_idp()?;
    setup::ensure_saml_idp()?;
    setup::ensure_scim_tester()?;
    setup::ensure_dns_server()?;
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
    close(cargo_test(&["test", "--workspace"])?)
}

/// The quick inner loop: every invocation of [`QUICK`] runs, even after a
/// failure, and one closing line counts them all.
fn run_quick() -> anyhow::Result<()> {
    let mut total = Tally::default();
    for args in QUICK {
        let t = cargo_test(args)?;
        total.passed += t.passed;
        total.failed += t.failed;
        total.ok &= t.ok;
    }
    close(total)
}

/// Test results added up over `test result:` lines, and whether every
/// cargo invocation succeeded.
struct Tally {
    passed: u64,
    failed: u64,
    ok: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            passed: 0,
            failed: 0,
            ok: true,
        }
    }
}

/// One closing line for the whole run (cargo's own last line is a doc-test
/// summary of a crate without doc tests); a failed build counts as a failure.
fn close(t: Tally) -> anyhow::Result<()> {
    if !t.ok {
        println!("tests: {} passed, {} failed", t.passed, t.failed.max(1));
        bail!("cargo test failed");
    }
    println!("tests: {} passed, {} failed", t.passed, t.failed);
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

/// `cargo <args>` (a `cargo test`), echoed, with the per-binary results added up.
fn cargo_test(args: &[&str]) -> anyhow::Result<Tally> {
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
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
        eprintln!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(Tally {
        passed,
        failed,
        ok: status.success(),
    })
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
