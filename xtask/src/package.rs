//! `cargo xtask package`: the deployable artifacts, as `sam build` makes
//! them, with their sizes against the budget.
//!
//! - `invite`, `accept`, `confirm`, `remind`: arm64 zips by `cargo lambda
//!   build --release --arm64 --output-format zip` in `target/lambda/arm64`.
//! - `sso-callback`: a container image (it links libxmlsec1), built by
//!   Docker from `functions/sso-callback/Dockerfile` when a Docker daemon
//!   is there; its binary is always built (x86_64, `target/lambda/x86_64`)
//!   and its size and shared libraries reported.

use crate::setup;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Each zip's budget (issue 6).
const ZIP_BUDGET: u64 = 4 * 1024 * 1024;

pub const ZIPPED: [&str; 5] = [
    "admit-invite",
    "admit-accept",
    "admit-confirm",
    "admit-remind",
    "admit-scim",
];
pub const IMAGE: &str = "admit-sso-callback";
/// The baseline: a hello-world `lambda_runtime` function (`bench/hello`).
pub const HELLO: &str = "admit-bench-hello";

pub fn run() -> anyhow::Result<()> {
    setup::ensure_build_deps()?;
    let tools = setup::ensure_cargo_lambda()?;
    let arm64 = setup::root().join("target/lambda/arm64");
    // The hello-world baseline too, built alike: what any Rust function weighs.
    let mut arm64_bins = ZIPPED.to_vec();
    arm64_bins.push(HELLO);
    lambda_build(&tools, Build::Arm64Zip, &arm64_bins, &arm64)?;
    let x86 = setup::root().join("target/lambda/x86_64");
    lambda_build(&tools, Build::X86Native, &[IMAGE], &x86)?;
    println!(
        "\n{:<22} {:>10} {:>12}  artifact",
        "function", "zip KiB", "binary KiB"
    );
    let mut over = Vec::new();
    for bin in arm64_bins {
        let zip = arm64.join(bin).join("bootstrap.zip");
        let zip_size = size(&zip)?;
        let binary = unzipped_size(&zip)?;
        println!(
            "{bin:<22} {:>10} {:>12}  {}",
            zip_size / 1024,
            binary / 1024,
            relative(&zip)
        );
        if zip_size > ZIP_BUDGET && bin != HELLO {
            over.push(bin);
        }
    }
    let binary = x86.join(IMAGE).join("bootstrap");
    println!(
        "{IMAGE:<22} {:>10} {:>12}  {} (image: see below)",
        "–",
        size(&binary)? / 1024,
        relative(&binary)
    );
    println!("\n{IMAGE} links: {}", shared_libraries(&binary)?.join(", "));
    image()?;
    if !over.is_empty() {
        bail!("over the 4 MiB zip budget: {}", over.join(", "));
    }
    Ok(())
}

/// How an artifact is built.
pub enum Build {
    /// arm64 zips, cross-linked by Zig (what `sam build` does).
    Arm64Zip,
    /// x86_64 binaries for this machine, by plain cargo: what links system
    /// libraries (sso-callback's libxmlsec1, whose headers Zig's sysroot
    /// does not see) and what the benchmarks run.
    X86Native,
}

/// `cargo lambda build --release` of `bins` into `dir`.
pub fn lambda_build(tools: &Path, build: Build, bins: &[&str], dir: &Path) -> anyhow::Result<()> {
    let mut cmd = Command::new(tools.join("cargo-lambda"));
    cmd.args(["lambda", "build", "--release"]);
    match build {
        Build::Arm64Zip => cmd.args(["--arm64", "--output-format", "zip"]),
        Build::X86Native => cmd.args(["--x86-64", "--compiler", "cargo"]),
    };
    cmd.arg("--lambda-dir")
        .arg(dir)
        .env("PATH", setup::path_with(tools));
    for b in bins {
        cmd.args(["--bin", b]);
    }
    setup::run(&mut cmd)
}

fn size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("{} was not built", path.display()))?
        .len())
}

/// The uncompressed size of a zip's entries (its central directory, read by
/// Python's `zipfile`).
fn unzipped_size(zip: &Path) -> anyhow::Result<u64> {
    let out = Command::new(setup::python())
        .args([
            "-c",
            "import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))",
        ])
        .arg(zip)
        .output()
        .context("python reads the zip")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("cannot read {}", zip.display()))
}

fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new("ldd").arg(binary).output().context("ldd")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|l| l.starts_with("lib") && !l.starts_with("libc.") && !l.starts_with("libm."))
        .map(str::to_owned)
        .collect())
}

/// Build the sso-callback image when Docker can; otherwise say so (the
/// image is then built by `sam build` on the deploying machine).
fn image() -> anyhow::Result<()> {
    let docker_up = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !docker_up {
        println!(
            "{IMAGE} image: not built here (no Docker daemon); `sam build` builds it from functions/sso-callback/Dockerfile"
        );
        return Ok(());
    }
    setup::run(Command::new("docker").args([
        "build",
        "-f",
        "functions/sso-callback/Dockerfile",
        "-t",
        "admit-sso-callback:latest",
        ".",
    ]))?;
    let out = Command::new("docker")
        .args([
            "image",
            "inspect",
            "admit-sso-callback:latest",
            "--format",
            "{{.Size}}",
        ])
        .output()?;
    let bytes: u64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    println!("{IMAGE} image: {} MiB", bytes / (1024 * 1024));
    Ok(())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(setup::root())
        .map(PathBuf::from)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
