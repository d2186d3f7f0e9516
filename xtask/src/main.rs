//! `cargo xtask <task>`: everything that is not `cargo build`.
//!
//! - `test`: install what the tests need, then run every check and test.
//! - `demo`: start `admit serve` with demo organizations a newcomer can click through.

mod demo;
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
    Test,
    /// Build and start `admit serve` with a demo organization; print what to do next.
    Demo(demo::DemoArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Test => test::run(),
        Task::Demo(args) => demo::run(args),
    }
}
