//! `cargo xtask <task>`: everything that is not `cargo build`.
//!
//! - `test`: install what the tests need, then run every check and test;
//!   `test --quick`: only the tests that need no install and no server.
//! - `demo`: start `admit serve` with demo organizations a newcomer can click through.
//! - `package`: the deployable artifacts (zips, the sso-callback image) and their sizes.
//! - `bench`: the benchmarks of BENCHMARKS.md.

mod bench;
mod demo;
mod package;
mod setup;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the test dependencies (idempotent) and run every check and test.
    Test(test::TestArgs),
    /// Build and start `admit serve` with a demo organization; print what to do next.
    Demo(demo::DemoArgs),
    /// Build every function as it deploys (cargo lambda) and print the sizes.
    Package,
    /// Run the benchmarks (cold start, memory, throughput, bulk); print the report.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Test(args) => test::run(args),
        Task::Demo(args) => demo::run(args),
        Task::Package => package::run(),
        Task::Bench(args) => bench::run(args),
    }
}
