//! Installing what a task needs, by package name, only when it is missing.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Run a command in the workspace root, echoing it; fail when it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn python() -> String {
    std::env::var("ADMIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// moto's server (DynamoDB and SES v2 emulator) for the tests.
pub fn ensure_moto() -> anyhow::Result<()> {
    ensure_pip(
        "moto, moto.server, werkzeug, flask",
        &["moto[server]>=5.1,<6"],
    )
}

/// `pip install` `packages` unless Python can already import `modules`.
fn ensure_pip(modules: &str, packages: &[&str]) -> anyhow::Result<()> {
    if succeeds(Command::new(python()).args(["-c", &format!("import {modules}")])) {
        return Ok(());
    }
    pip_install(python(), packages)
}

/// `{python} -m pip install` of `packages`, quietly.
fn pip_install(python: impl AsRef<std::ffi::OsStr>, packages: &[&str]) -> anyhow::Result<()> {
    run(Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages))
}

/// The npm packages of the test OpenID provider (`tests/idp`, run by Node).
pub fn ensure_idp() -> anyhow::Result<()> {
    let dir = root().join("tests/idp");
    let installed = ["oidc-provider", "playwright-core"].iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    });
    if installed {
        return Ok(());
    }
    for tool in ["node", "npm"] {
        if !succeeds(Command::new(tool).arg("--version")) {
            bail!(
                "`{tool}` is needed for the test OpenID provider (Node.js 20 or later with npm); \
                 install it, e.g. `apt-get install nodejs npm`"
            );
        }
    }
    // `run` works in the workspace root: `--prefix` installs into tests/idp
    // (and no package-lock.json is written, as tests/idp/.npmrc says too).
    run(Command::new("npm").args([
        "install",
        "--prefix",
        "tests/idp",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--silent",
    ]))
}

/// Debian packages, installed (after one `apt-get update`) when any is missing.
fn ensure_apt(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// What building samael (libxml2 and libxmlsec1 bindings, made by bindgen) needs.
pub fn ensure_build_deps() -> anyhow::Result<()> {
    ensure_apt(&[
        "pkg-config",
        "libclang-dev",
        "libxml2-dev",
        "libxmlsec1-dev",
        "libssl-dev",
    ])
}

/// Debian's dnsmasq, the DNS server the domain-verification tests query
/// (`tests/src/dns.rs`). `dnsmasq-base` is the binary alone: the package
/// `dnsmasq` would also install and start a system service.
pub fn ensure_dns_server() -> anyhow::Result<()> {
    ensure_apt(&["dnsmasq-base"])
}

/// The test SAML IdP (`tests/idp/saml_idp.py`): pysaml2 and lxml from PyPI,
/// and the `xmlsec1` binary pysaml2 signs with.
pub fn ensure_saml_idp() -> anyhow::Result<()> {
    ensure_apt(&["xmlsec1"])?;
    ensure_pip("saml2, lxml", &["pysaml2>=7.5,<8", "lxml>=5"])
}

/// The version of scim2-tester (PyPI) that `tests/support/scim_compliance.py`
/// was written against: the independent SCIM compliance suite the API tests
/// run. Pinned, since each release adds or changes checks.
const SCIM_TESTER_VERSION: &str = "0.5.2";

/// scim2-tester at [`SCIM_TESTER_VERSION`], with scim2-client's httpx2
/// engine it talks HTTP with.
pub fn ensure_scim_tester() -> anyhow::Result<()> {
    let check = format!(
        "import scim2_client.engines.httpx2, importlib.metadata as m; \
         assert m.version('scim2-tester') == '{SCIM_TESTER_VERSION}'"
    );
    if succeeds(Command::new(python()).args(["-c", &check])) {
        return Ok(());
    }
    pip_install(
        python(),
        &[&format!("scim2-tester[httpx2]=={SCIM_TESTER_VERSION}")],
    )
}

/// cfn-lint and checkov (PyPI), for the SAM template's checks: in their own
/// virtual environment under `target/`, since checkov pins many packages
/// moto and pysaml2 also use. Returns the environment's `bin` directory.
pub fn ensure_infra_linters() -> anyhow::Result<PathBuf> {
    ensure_venv(
        "infra-lint",
        &["cfn-lint", "checkov"],
        &["cfn-lint>=1.20,<2", "checkov>=3.2,<4"],
    )
}

/// A virtual environment `target/{name}` with `packages` installed, unless
/// its `bin` already has every one of `tools`. Returns that `bin`.
fn ensure_venv(name: &str, tools: &[&str], packages: &[&str]) -> anyhow::Result<PathBuf> {
    let venv = root().join("target").join(name);
    let bin = venv.join("bin");
    if tools.iter().all(|t| bin.join(t).exists()) {
        return Ok(bin);
    }
    ensure_apt(&["python3-venv"])?;
    run(Command::new(python()).args(["-m", "venv"]).arg(&venv))?;
    pip_install(bin.join("python"), packages)?;
    Ok(bin)
}

/// Debian's chromium, for the browser test (`tests/idp/journey.mjs`).
pub fn ensure_chromium() -> anyhow::Result<()> {
    let chromium = std::env::var("ADMIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if std::path::Path::new(&chromium).exists() {
        return Ok(());
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// cargo-lambda (PyPI, with the Zig toolchain it cross-links with) in its
/// own virtual environment under `target/`, and the Rust targets it builds
/// for. Returns the environment's `bin` directory, to put first on `PATH`.
pub fn ensure_cargo_lambda() -> anyhow::Result<PathBuf> {
    let bin = ensure_venv("cargo-lambda", &["cargo-lambda"], &["cargo-lambda>=1.9,<2"])?;
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the arm64 target")?;
    if !String::from_utf8_lossy(&installed.stdout).contains("aarch64-unknown-linux-gnu") {
        run(Command::new("rustup").args(["target", "add", "aarch64-unknown-linux-gnu"]))?;
    }
    Ok(bin)
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &std::path::Path) -> std::ffi::OsString {
    let mut parts = vec![dir.to_path_buf()];
    parts.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(parts).expect("PATH entries without separators")
}

/// What `cargo xtask bench` drives load with and makes certificates with.
pub fn ensure_bench_tools() -> anyhow::Result<()> {
    ensure_apt(&["wrk", "openssl"])
}
