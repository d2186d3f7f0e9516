//! `cargo xtask bench`: build what the benchmarks measure, the way it
//! ships, and run them (`bench/`, the `admit-bench` binary).
//!
//! Everything is built by one `cargo lambda build --release --x86-64
//! --compiler cargo` (this machine runs x86_64; the ratios compare binaries
//! built alike): the
//! functions, the hello-world baseline, `admit` and the driver. The report is printed as markdown and kept as JSON in
//! `target/bench/results.json`.

use crate::{package, setup};
use std::path::{Path, PathBuf};
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
    bins.extend([package::IMAGE, package::HELLO, "admit", "admit-bench"]);
    package::lambda_build(&tools, package::Build::X86Native, &bins, &lambda_dir)?;
    let built = |bin: &str| lambda_dir.join(bin).join("bootstrap");

    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    let (ca, cert, key) = certificates(&work)?;
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
        // Every client the benchmark starts trusts the bench's CA (and only it).
        .env("SSL_CERT_FILE", &ca);
    if args.quick {
        cmd.arg("--quick");
    }
    setup::run(&mut cmd)
}

/// A CA of the bench's own and moto's certificate for `localhost` signed by
/// it (rustls refuses a self-signed CA certificate as a server's). Made once.
fn certificates(work: &Path) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    let ca = work.join("bench-ca.pem");
    let ca_key = work.join("bench-ca-key.pem");
    let cert = work.join("moto-cert.pem");
    let key = work.join("moto-key.pem");
    if [&ca, &cert, &key].iter().all(|p| p.exists()) {
        return Ok((ca, cert, key));
    }
    let openssl = |args: &[&str]| setup::run(Command::new("openssl").args(args).current_dir(work));
    let path = |p: &Path| p.to_string_lossy().into_owned();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=admit-bench-ca",
        "-keyout",
        &path(&ca_key),
        "-out",
        &path(&ca),
    ])?;
    let csr = work.join("moto.csr");
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &path(&key),
        "-out",
        &path(&csr),
    ])?;
    let ext = work.join("moto-ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path(&csr),
        "-CA",
        &path(&ca),
        "-CAkey",
        &path(&ca_key),
        "-CAcreateserial",
        "-days",
        "3650",
        "-extfile",
        &path(&ext),
        "-out",
        &path(&cert),
    ])?;
    Ok((ca, cert, key))
}
