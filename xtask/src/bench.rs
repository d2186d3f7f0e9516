//! `cargo xtask bench`: build what the benchmarks measure, the way it
//! ships, and run them (`bench/`, the `admit-bench` binary).
//!
//! Everything is built by one `cargo lambda build --release --x86-64
//! --compiler cargo` (this machine runs x86_64; the ratios compare binaries
//! built alike): the
//! functions, the hello-world baseline, `admit` and the driver. The report is printed as markdown and kept as JSON in
//! `target/bench/results.json`.

use crate::{package, setup};
use std::process::Command;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Fewer repetitions: checks the harness; not for quoting.
    #[arg(long)]
    quick: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    setup::ensure_build_deps()?;
    setup::ensure_moto()?;
    setup::ensure_bench_tools()?;
    let tools = setup::ensure_cargo_lambda()?;
    let root = setup::root();
    let lambda_dir = root.join("target/lambda/x86_64");
    let mut bins: Vec<&str> = package::ZIPPED.to_vec();
    bins.extend([package::IMAGE, "admit-bench-hello", "admit", "admit-bench"]);
    package::lambda_build(&tools, package::Build::X86Native, &bins, &lambda_dir)?;
    let built = |bin: &str| lambda_dir.join(bin).join("bootstrap");

    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    let (cert, key) = (work.join("moto-cert.pem"), work.join("moto-key.pem"));
    if !cert.exists() || !key.exists() {
        setup::run(
            Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                ])
                .args(["-subj", "/CN=localhost"])
                .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        )?;
    }
    let mut cmd = Command::new(built("admit-bench"));
    cmd.arg("run")
        .arg("--lambda-dir")
        .arg(&lambda_dir)
        .arg("--admit")
        .arg(built("admit"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--work")
        .arg(&work)
        .arg("--out")
        .arg(work.join("results.json"))
        // Every client the benchmark starts trusts moto's certificate (and only it).
        .env("SSL_CERT_FILE", &cert);
    if args.quick {
        cmd.arg("--quick");
    }
    setup::run(&mut cmd)
}
