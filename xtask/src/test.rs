//! `cargo xtask test`: the one command that sets up and runs every test.

use crate::setup;
use std::process::Command;

pub fn run() -> anyhow::Result<()> {
    setup::ensure_moto()?;
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
    cargo(&["test", "--workspace"])?;
    eprintln!("all checks and tests passed");
    Ok(())
}
