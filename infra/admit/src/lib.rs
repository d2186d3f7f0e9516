//! `admit`: the self-hosted process. `admit serve` mounts every function's
//! routes on one listener exactly as API Gateway routes them, on the embedded
//! store and the mail outbox by default (or DynamoDB and SES), and runs the
//! reminder job on a timer.

use admit_app::{App, Clock, Config, OffsetClock, SystemClock};
use admit_mail::{Mailer, OutboxMailer, SesMailer};
use admit_store::Store;
use admit_store_dynamodb::DynamoStore;
use admit_store_embedded::EmbeddedStore;
use anyhow::{Context, bail};
use aws_config::SdkConfig;
use axum::Router;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "admit",
    version,
    about = "Just-in-time SSO member provisioning"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the whole API, the pages and the reminder job in one process.
    Serve(Serve),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MailKind {
    Outbox,
    Ses,
}

#[derive(Args, Debug, Clone)]
pub struct Serve {
    #[arg(long, env = "ADMIT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where members reach this process; default `http://<listen>`.
    #[arg(long, env = "ADMIT_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[arg(long, env = "ADMIT_STORE", value_enum, default_value = "embedded")]
    pub store: StoreKind,
    #[arg(long, env = "ADMIT_DATA_DIR", default_value = "./.admit/data")]
    pub data_dir: PathBuf,
    /// DynamoDB table (with `--store dynamodb`).
    #[arg(long, env = "ADMIT_TABLE")]
    pub table: Option<String>,
    /// Create the DynamoDB table when it does not exist (for local emulators).
    #[arg(long, env = "ADMIT_CREATE_TABLE", default_value_t = false)]
    pub create_table: bool,
    #[arg(long, env = "ADMIT_MAIL", value_enum, default_value = "outbox")]
    pub mail: MailKind,
    #[arg(long, env = "ADMIT_OUTBOX_DIR", default_value = "./.admit/outbox")]
    pub outbox_dir: PathBuf,
    #[arg(long, env = "ADMIT_MAIL_FROM", default_value = "admit@localhost")]
    pub mail_from: String,
    /// SES configuration set (with `--mail ses`).
    #[arg(long, env = "ADMIT_SES_CONFIGURATION_SET")]
    pub ses_configuration_set: Option<String>,
    /// Bearer token of the operator API; without it the operator API is off.
    #[arg(long, env = "ADMIT_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// How often the reminder job runs: `30s`, `15m`, `1h`.
    #[arg(long, env = "ADMIT_REMIND_EVERY", default_value = "15m", value_parser = parse_interval)]
    pub remind_every: Duration,
    /// Development only: run with the clock this far ahead (`2d`, `5h`), to
    /// see reminders go out and invitations expire.
    #[arg(long, env = "ADMIT_CLOCK_OFFSET", value_parser = parse_interval)]
    pub clock_offset: Option<Duration>,
}

/// `90s`, `15m`, `2h` → a duration.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit (s, m, h)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("the interval must be positive".into());
    }
    Ok(Duration::from_secs(secs))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    match cli.command {
        Command::Serve(opts) => {
            let running = start(opts).await?;
            tracing::info!(addr = %running.addr, "admit is serving");
            tokio::select! {
                r = running.server => r.context("server task")??,
                _ = shutdown_signal() => tracing::info!("shutting down"),
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

/// Every function's routes, merged as API Gateway routes them.
pub fn routes() -> Router<App> {
    Router::new()
        .merge(admit_invite::routes())
        .merge(admit_accept::routes())
        .merge(admit_confirm::routes())
        .merge(admit_sso_callback::routes())
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: App,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Build the ports, bind the listener, and serve in the background.
pub async fn start(opts: Serve) -> anyhow::Result<Running> {
    let clock: Arc<dyn Clock> = match opts.clock_offset {
        Some(offset) => {
            tracing::warn!(
                ?offset,
                "the clock runs ahead (--clock-offset): for development only"
            );
            Arc::new(OffsetClock(
                time::Duration::try_from(offset).unwrap_or(time::Duration::ZERO),
            ))
        }
        None => Arc::new(SystemClock),
    };
    start_with(opts, clock, None).await
}

/// [`start`] with a given clock and AWS configuration (default: the SDK's
/// own, from the environment) — how the tests point it at an emulator.
pub async fn start_with(
    opts: Serve,
    clock: Arc<dyn Clock>,
    aws: Option<SdkConfig>,
) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let needs_aws = opts.store == StoreKind::Dynamodb || opts.mail == MailKind::Ses;
    let aws = match aws {
        Some(c) => Some(c),
        None if needs_aws => {
            Some(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
        }
        None => None,
    };
    let store = build_store(&opts, aws.as_ref()).await?;
    let mailer = build_mailer(&opts, aws.as_ref())?;
    let oidc =
        admit_sso_oidc::OpenIdConnect::new().context("cannot build the OpenID Connect client")?;
    let config = Config::new(&public_url, opts.operator_token.as_deref());
    let app = App::new(store, mailer, clock, config)
        .with_oidc(Arc::new(oidc))
        .with_saml(Arc::new(admit_sso_saml::SamaelProvider::new()));
    let router = admit_http::finish(routes(), app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    tokio::spawn(remind_timer(app.clone(), opts.remind_every));
    tracing::info!(%public_url, store = ?opts.store, mail = ?opts.mail, "configured");
    Ok(Running { addr, app, server })
}

async fn remind_timer(app: App, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A run is bounded (by its interval, at least a minute); the next
        // tick waits for it, so runs of one process never overlap.
        let budget = every.max(Duration::from_secs(60));
        admit_remind::run_once(&app, Some(std::time::Instant::now() + budget)).await;
    }
}

async fn build_store(opts: &Serve, aws: Option<&SdkConfig>) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match opts.store {
        StoreKind::Embedded => {
            let path = opts.data_dir.join("admit.redb");
            Arc::new(
                EmbeddedStore::open(&path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            )
        }
        StoreKind::Dynamodb => {
            let Some(table) = opts.table.clone() else {
                bail!("--store dynamodb needs --table (ADMIT_TABLE)")
            };
            let client = aws_sdk_dynamodb::Client::new(aws.context("AWS configuration")?);
            if opts.create_table {
                admit_store_dynamodb::create_table(&client, &table)
                    .await
                    .context("cannot create the table")?;
            }
            Arc::new(DynamoStore::new(client, table))
        }
    })
}

fn build_mailer(opts: &Serve, aws: Option<&SdkConfig>) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match opts.mail {
        MailKind::Outbox => Arc::new(OutboxMailer::new(&opts.outbox_dir, &opts.mail_from)?),
        MailKind::Ses => {
            let client = aws_sdk_sesv2::Client::new(aws.context("AWS configuration")?);
            Arc::new(SesMailer::new(
                client,
                &opts.mail_from,
                opts.ses_configuration_set.clone(),
            )?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("15").is_err());
        assert!(parse_interval("m").is_err());
    }

    #[test]
    fn routes_do_not_collide() {
        // Merging panics on a duplicate route: building it is the test.
        let _ = routes();
    }
}
