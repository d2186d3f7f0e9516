use admit::Cli;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    admit::run(Cli::parse()).await
}
