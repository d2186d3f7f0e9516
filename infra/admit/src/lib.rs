//! `admit`: the self-hosted process. `admit serve` mounts every function's
//! routes on one listener exactly as API Gateway routes them, on the embedded
//! store and the mail outbox by default (or DynamoDB and SES), and runs the
//! reminder job on a timer.
//!
//! This is the self-hosted world's composition root (the Lambda functions'
//! is `admit-lambda`). Its arguments take their environment variable names
//! and defaults from `admit-settings`, the same ones the functions read, and
//! become one [`Settings`] ([`Serve::settings`]) that the DynamoDB store, the
//! SES mailer and the use cases' configuration are built from.

use admit_app::{App, Clock, Config, OffsetClock, RateLimitConfig, SystemClock};
use admit_mail::{Mailer, OutboxMailer, SesMailer};
use admit_settings::{OperatorToken, Settings, default, var};
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

pub mod key_file;

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

// `admit serve`'s arguments (a plain comment: a doc comment would become its
// help text). Every environment variable name and default is
// `admit-settings`'s (`var`, `default`).
#[derive(Args, Debug, Clone)]
pub struct Serve {
    #[arg(long, env = var::LISTEN, default_value = default::LISTEN)]
    pub listen: SocketAddr,
    /// Where members reach this process; default `http://<listen>`.
    #[arg(long, env = var::PUBLIC_URL)]
    pub public_url: Option<String>,
    #[arg(long, env = var::STORE, value_enum, default_value = default::STORE)]
    pub store: StoreKind,
    #[arg(long, env = var::DATA_DIR, default_value = default::DATA_DIR)]
    pub data_dir: PathBuf,
    /// DynamoDB table (with `--store dynamodb`).
    #[arg(long, env = var::TABLE)]
    pub table: Option<String>,
    /// Create the DynamoDB table when it does not exist (for local emulators).
    #[arg(long, env = var::CREATE_TABLE, default_value_t = false)]
    pub create_table: bool,
    #[arg(long, env = var::MAIL, value_enum, default_value = default::MAIL)]
    pub mail: MailKind,
    #[arg(long, env = var::OUTBOX_DIR, default_value = default::OUTBOX_DIR)]
    pub outbox_dir: PathBuf,
    #[arg(long, env = var::MAIL_FROM, default_value = default::MAIL_FROM)]
    pub mail_from: String,
    /// SES configuration set (with `--mail ses`).
    #[arg(long, env = var::SES_CONFIGURATION_SET)]
    pub ses_configuration_set: Option<String>,
    /// Bearer token of the operator API; without it the operator API is off.
    #[arg(long, env = var::OPERATOR_TOKEN, hide_env_values = true)]
    pub operator_token: Option<String>,
    /// How often the reminder job runs: `30s`, `15m`, `1h`.
    #[arg(long, env = var::REMIND_EVERY, default_value = default::REMIND_EVERY, value_parser = parse_interval)]
    pub remind_every: Duration,
    /// Development only: run with the clock this far ahead (`2d`, `5h`), to
    /// see reminders go out and invitations expire.
    #[arg(long, env = var::CLOCK_OFFSET, value_parser = parse_interval)]
    pub clock_offset: Option<Duration>,
    /// A proxy in front of Admit (an IP address; repeat, or comma-separate):
    /// requests from it are counted against the client its
    /// `X-Forwarded-For` names. Without one, the client is the socket's peer.
    #[arg(long = "trusted-proxy", env = var::TRUSTED_PROXY, value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Sign-in and token requests per client address: `attempts/window`.
    #[arg(long, env = var::RATE_LIMIT_ADDRESS, default_value = default::RATE_LIMIT_ADDRESS)]
    pub rate_limit_address: String,
    /// Failed passwords per account email: `attempts/window`.
    #[arg(long, env = var::RATE_LIMIT_ACCOUNT, default_value = default::RATE_LIMIT_ACCOUNT)]
    pub rate_limit_account: String,
    /// CA certificates (a PEM bundle) trusted for calls to IdPs, besides the
    /// platform's roots and `SSL_CERT_FILE`: an on-premises IdP's private CA.
    #[arg(long, env = var::CA_FILE)]
    pub ca_file: Option<PathBuf>,
    /// Days the audit log keeps an event (1 to 36500); the sweep removes older ones.
    #[arg(long, env = var::EVENT_RETENTION_DAYS, default_value = default::EVENT_RETENTION_DAYS, value_parser = admit_settings::parse_retention_days)]
    pub event_retention_days: u32,
    /// The DNS server (`IP:PORT`) asked for the TXT records that verify
    /// domains; default: the system's resolver.
    #[arg(long, env = var::DNS_SERVER, value_parser = admit_settings::parse_dns_server)]
    pub dns_server: Option<SocketAddr>,
}

impl Serve {
    /// The settings the ports are built from, once the listener is bound at
    /// `addr` (the public URL's default). `admit serve` neither reads the
    /// operator token from a secret nor warms DynamoDB up at start: those
    /// are the Lambda functions' own.
    pub fn settings(&self, addr: SocketAddr) -> Settings {
        Settings {
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            table: self.table.clone(),
            mail_from: self.mail_from.clone(),
            ses_configuration_set: self.ses_configuration_set.clone(),
            operator_token: self.operator_token.clone().map(OperatorToken::Inline),
            warm_at_init: false,
            // Secrets are sealed with the key file in the data directory.
            kms_key_id: None,
            rate_limit_address: self.rate_limit_address.clone(),
            rate_limit_account: self.rate_limit_account.clone(),
            ca_file: self.ca_file.clone(),
            event_retention_days: self.event_retention_days,
            dns_server: self.dns_server,
        }
    }
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
        .merge(admit_scim::routes())
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
    let settings = opts.settings(addr);
    // Stored secrets are sealed with `<data-dir>/secret.key` (either store).
    let secrets = key_file::load_or_create(&opts.data_dir).with_context(|| {
        format!(
            "the key file that seals stored secrets ({})",
            opts.data_dir.join(key_file::KEY_FILE).display()
        )
    })?;
    let needs_aws = opts.store == StoreKind::Dynamodb || opts.mail == MailKind::Ses;
    let aws = match aws {
        Some(c) => Some(c),
        None if needs_aws => {
            Some(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
        }
        None => None,
    };
    let store = build_store(&opts, &settings, aws.as_ref()).await?;
    let mailer = build_mailer(&opts, &settings, aws.as_ref())?;
    let operator_token = match &settings.operator_token {
        Some(OperatorToken::Inline(token)) => Some(token.as_str()),
        Some(OperatorToken::Secret(_)) => {
            bail!("admit serve takes the operator token itself, not a secret's ARN")
        }
        None => None,
    };
    let mut config = Config::new(&settings.public_url, operator_token);
    config.rate_limits =
        RateLimitConfig::parse(&settings.rate_limit_address, &settings.rate_limit_account)
            .map_err(|e| anyhow::anyhow!("rate limits: {e}"))?;
    config.event_retention_days = settings.event_retention_days;
    // IdPs on loopback only while Admit itself runs there; `--ca-file` trusted.
    let oidc = admit_sso_oidc::OpenIdConnect::with_options(&admit_sso_oidc::ClientOptions {
        reach: admit_sso_oidc::Reach::when_local(config.is_local()),
        ca_file: settings.ca_file.clone(),
    })
    .context("cannot build the OpenID Connect client")?;
    let dns = admit_dns::HickoryTxt::new(settings.dns_server, admit_dns::DEFAULT_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("cannot build the DNS resolver: {e}"))?;
    let app = App::new(store, mailer, clock, config)
        .with_dns(Arc::new(dns))
        .with_oidc(Arc::new(oidc))
        .with_saml(Arc::new(admit_sso_saml::SamaelProvider::new()))
        .with_secret_box(Arc::new(secrets));
    let trusted = Arc::new(opts.trusted_proxies.clone());
    let router = admit_http::finish(routes(), app.clone()).layer(axum::middleware::map_request(
        move |req: axum::extract::Request| client_ip(trusted.clone(), req),
    ));
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    tokio::spawn(remind_timer(app.clone(), opts.remind_every));
    tracing::info!(public_url = %settings.public_url, store = ?opts.store, mail = ?opts.mail, "configured");
    Ok(Running { addr, app, server })
}

/// The client's address for the rate limits: the socket's peer or, when the
/// peer is a trusted proxy, the last address of `X-Forwarded-For` that is not
/// one (each proxy appends the address it saw; only the trusted ones' word
/// counts, so a client cannot choose its own address).
async fn client_ip(
    trusted: Arc<Vec<std::net::IpAddr>>,
    mut req: axum::extract::Request,
) -> axum::extract::Request {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else { return req };
    let client = if trusted.contains(&peer) {
        forwarded_client(req.headers(), &trusted).unwrap_or(peer)
    } else {
        peer
    };
    req.extensions_mut().insert(admit_http::ClientIp(client));
    req
}

/// The rightmost `X-Forwarded-For` address not among `trusted`.
fn forwarded_client(
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> Option<std::net::IpAddr> {
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for hop in value.to_str().ok()?.split(',') {
            hops.push(hop.trim().parse().ok()?);
        }
    }
    hops.into_iter().rev().find(|ip| !trusted.contains(ip))
}

async fn remind_timer(app: App, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A run is bounded (by its interval, at least a minute); the next
        // tick waits for it, so runs of one process never overlap.
        let budget = every.max(Duration::from_secs(60));
        // A failed run (the store failed, or sends did) is logged; the timer
        // keeps going, and the next tick runs the job again.
        if let Err(failed) =
            admit_remind::run_once(&app, Some(std::time::Instant::now() + budget)).await
        {
            tracing::error!(error = %failed, "scheduled run failed");
        }
    }
}

async fn build_store(
    opts: &Serve,
    settings: &Settings,
    aws: Option<&SdkConfig>,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match opts.store {
        StoreKind::Embedded => {
            let path = opts.data_dir.join("admit.redb");
            Arc::new(
                EmbeddedStore::open(&path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            )
        }
        StoreKind::Dynamodb => {
            let Ok(table) = settings.table() else {
                bail!("--store dynamodb needs --table ({})", var::TABLE)
            };
            let client = aws_sdk_dynamodb::Client::new(aws.context("AWS configuration")?);
            if opts.create_table {
                admit_store_dynamodb::create_table(&client, table)
                    .await
                    .context("cannot create the table")?;
            }
            Arc::new(DynamoStore::new(client, table))
        }
    })
}

fn build_mailer(
    opts: &Serve,
    settings: &Settings,
    aws: Option<&SdkConfig>,
) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match opts.mail {
        MailKind::Outbox => Arc::new(OutboxMailer::new(&opts.outbox_dir, &settings.mail_from)?),
        MailKind::Ses => {
            let client = aws_sdk_sesv2::Client::new(aws.context("AWS configuration")?);
            Arc::new(SesMailer::new(
                client,
                &settings.mail_from,
                settings.ses_configuration_set.clone(),
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
    fn serve_settings() {
        let serve = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["admit", "serve"], args].concat()).unwrap();
            let Command::Serve(serve) = cli.command;
            serve
        };
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let defaults = serve(&[]).settings(addr);
        assert_eq!(defaults.public_url, "http://127.0.0.1:4000");
        assert_eq!(defaults.mail_from, default::MAIL_FROM);
        assert_eq!(defaults.table, None);
        assert_eq!(defaults.operator_token, None);
        assert!(!defaults.warm_at_init);
        assert_eq!(defaults.ca_file, None);

        let given = serve(&[
            "--public-url",
            "https://admit.example",
            "--table",
            "admit",
            "--mail-from",
            "noreply@admit.example",
            "--ses-configuration-set",
            "admit-events",
            "--operator-token",
            "op",
            "--ca-file",
            "certs/idp-ca.pem",
            "--dns-server",
            "127.0.0.1:5353",
        ])
        .settings(addr);
        assert_eq!(
            given,
            Settings {
                public_url: "https://admit.example".into(),
                table: Some("admit".into()),
                mail_from: "noreply@admit.example".into(),
                ses_configuration_set: Some("admit-events".into()),
                operator_token: Some(OperatorToken::Inline("op".into())),
                warm_at_init: false,
                kms_key_id: None,
                rate_limit_address: "120/1m".into(),
                rate_limit_account: "10/15m".into(),
                event_retention_days: 365,
                ca_file: Some("certs/idp-ca.pem".into()),
                dns_server: Some("127.0.0.1:5353".parse().unwrap()),
            }
        );
    }

    #[test]
    fn routes_do_not_collide() {
        // Merging panics on a duplicate route: building it is the test.
        let _ = routes();
    }
}
