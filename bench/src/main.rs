//! `admit-bench run`: every benchmark of BENCHMARKS.md, each beside its
//! baseline measured in the same run. `cargo xtask bench` builds what it
//! needs and runs it; the report goes to stdout (markdown) and `--out` (JSON).

mod bulk;
mod coldstart;
mod hash_flood;
mod runtime_api;
mod seed;
mod stats;
mod throughput;

use admit::{MailKind, Serve, StoreKind};
use admit_tests::moto::Moto;
use anyhow::Context;
use clap::{Parser, Subcommand};
use coldstart::{Fixture, Subject};
use seed::{Client, Mailbox};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the benchmarks.
    Run(RunArgs),
    /// The throughput baseline: canned answers on Admit's routes.
    BareAxum {
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[arg(long)]
        lookup_body: PathBuf,
        #[arg(long)]
        members_body: PathBuf,
    },
    /// Honest sign-ins during a flood of failed ones, alone (the last
    /// section of `run`, without moto or the Lambda builds).
    HashFlood {
        /// The `admit` binary (release build).
        #[arg(long)]
        admit: PathBuf,
        /// Scratch space.
        #[arg(long)]
        work: PathBuf,
        /// Fewer samples: to check the harness, not to quote.
        #[arg(long)]
        quick: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Where `cargo lambda build` put the functions and the hello-world baseline.
    #[arg(long)]
    lambda_dir: PathBuf,
    /// The `admit` binary (release build).
    #[arg(long)]
    admit: PathBuf,
    /// A PEM certificate and key for moto's HTTPS (the processes trust the
    /// certificate through `SSL_CERT_FILE`).
    #[arg(long)]
    tls_cert: PathBuf,
    #[arg(long)]
    tls_key: PathBuf,
    /// Scratch space.
    #[arg(long)]
    work: PathBuf,
    /// The results as JSON.
    #[arg(long)]
    out: PathBuf,
    /// Fewer repetitions: to check the harness, not to quote.
    #[arg(long)]
    quick: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Run(args) => run(args).await,
        Cmd::BareAxum {
            listen,
            lookup_body,
            members_body,
        } => {
            throughput::bare_axum(
                listen,
                std::fs::read_to_string(lookup_body)?,
                std::fs::read_to_string(members_body)?,
            )
            .await
        }
        Cmd::HashFlood { admit, work, quick } => {
            std::fs::create_dir_all(&work)?;
            let flood = hash_flood::run(&admit, &work, quick).await?;
            println!("{}", hash_flood::markdown(&flood));
            Ok(())
        }
    }
}

struct Sizes {
    starts: usize,
    invocations: usize,
    wrk_secs: u32,
    bulk_requests: usize,
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let sizes = if args.quick {
        Sizes {
            starts: 3,
            invocations: 50,
            wrk_secs: 2,
            bulk_requests: 5,
        }
    } else {
        Sizes {
            starts: 15,
            invocations: 1000,
            wrk_secs: 10,
            // 2,000 emails: at 10,000 moto's server grew past 24 GiB and was
            // killed (BENCHMARKS.md); Admit's calls per request are constant.
            bulk_requests: 20,
        }
    };
    std::fs::create_dir_all(&args.work)?;

    eprintln!("cold starts and memory …");
    let tls_moto = Moto::start_tls(&args.tls_cert, &args.tls_key);
    let (fixture, env) = lambda_fixture(&tls_moto, &args.work).await?;
    let hello = Subject {
        name: "hello-world",
        binary: coldstart::binary(&args.lambda_dir, "admit-bench-hello"),
        env: Vec::new(),
        event: b"{}".to_vec(),
    };
    let mut subjects = vec![];
    for (name, bin, event) in coldstart::events(&fixture) {
        let mut env = env.clone();
        if name == "invite" {
            env.push((
                "ADMIT_OPERATOR_TOKEN_SECRET_ARN".into(),
                fixture_secret(&tls_moto).await?,
            ));
        }
        subjects.push(Subject {
            name,
            binary: coldstart::binary(&args.lambda_dir, bin),
            env,
            event,
        });
    }
    let mut starts = vec![coldstart::starts(&hello, sizes.starts, false).await?];
    let mut memory = vec![coldstart::memory(&hello, sizes.invocations).await?];
    for s in &subjects {
        eprintln!("  {}", s.name);
        starts.push(coldstart::starts(s, sizes.starts, true).await?);
        starts.push(coldstart::starts(s, sizes.starts, false).await?);
        memory.push(coldstart::memory(s, sizes.invocations).await?);
    }
    drop(tls_moto);
    // Each section is printed and kept as soon as it is measured.
    let mut report =
        serde_json::json!({"quick": args.quick, "cold_starts": starts, "memory": memory});
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("{}", starts_markdown(&starts, &memory));

    eprintln!("warm throughput …");
    let loads = throughput::run(&args.admit, sizes.wrk_secs, &args.work).await?;
    report["throughput"] = serde_json::to_value(&loads)?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("{}", throughput_markdown(&loads));

    eprintln!("bulk invitations …");
    let bulk = bulk::run(sizes.bulk_requests, 100).await?;
    report["bulk"] = serde_json::to_value(&bulk)?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("{}", bulk_markdown(&bulk));

    eprintln!("sign-ins under a flood of failed ones …");
    let flood = hash_flood::run(&args.admit, &args.work, args.quick).await?;
    report["hash_flood"] = serde_json::to_value(&flood)?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    println!("{}", hash_flood::markdown(&flood));
    Ok(())
}

/// An organization on a fresh table of the TLS moto, seeded through an
/// in-process Admit; the environment the function binaries get.
async fn lambda_fixture(
    moto: &Moto,
    work: &std::path::Path,
) -> anyhow::Result<(Fixture, Vec<(String, String)>)> {
    let sdk = moto.sdk_config();
    let domain = "lambda.test";
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(domain)
        .send()
        .await
        .context("moto over TLS (is SSL_CERT_FILE the bench certificate?)")?;
    let outbox = work.join("lambda-outbox");
    let _ = std::fs::remove_dir_all(&outbox);
    let opts = Serve {
        listen: "127.0.0.1:0".parse()?,
        public_url: None,
        store: StoreKind::Dynamodb,
        data_dir: work.join("lambda-data"),
        table: Some("admit-lambda".into()),
        create_table: true,
        mail: MailKind::Outbox,
        outbox_dir: outbox.clone(),
        mail_from: format!("admit@{domain}"),
        ses_configuration_set: None,
        operator_token: Some(seed::OPERATOR_TOKEN.into()),
        remind_every: Duration::from_secs(24 * 3600),
        clock_offset: None,
        trusted_proxies: Vec::new(),
        // One client sends the whole load: measure the work, not the 429s.
        rate_limit_address: "100000000/1m".into(),
        rate_limit_account: "10/15m".into(),
        event_retention_days: 365,
        ca_file: None,
        dns_server: None,
    };
    let running = admit::start_with(opts, Arc::new(admit_app::SystemClock), Some(sdk)).await?;
    let client = Client::new(&format!("http://{}", running.addr));
    let mailbox = Mailbox::Outbox(&outbox);
    let org = client.org(domain, &mailbox).await?;
    // A claimed domain, for sso-callback's `/sso/discover`.
    let (status, body) = client
        .call(
            "PUT",
            &format!("/operator/orgs/{}/domains/{domain}", org.id),
            Some(seed::OPERATOR_TOKEN),
            Some(serde_json::json!({"verified": true})),
        )
        .await?;
    anyhow::ensure!(
        (200..300).contains(&status),
        "claiming {domain}: {status} {body}"
    );
    let emails: Vec<String> = (0..20).map(|i| format!("m{i:02}@{domain}")).collect();
    client.invite(&org, &emails).await?;
    let invitation = seed::accept_token(&mailbox, &emails[0]).await?;
    running.server.abort();
    let env = [
        ("ADMIT_TABLE", "admit-lambda".to_owned()),
        ("ADMIT_PUBLIC_URL", "https://admit.example".to_owned()),
        ("ADMIT_MAIL_FROM", format!("admit@{domain}")),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok((
        Fixture {
            org: org.id,
            session: org.owner_session,
            owner_member_id: org.owner_member_id,
            invitation,
        },
        env,
    ))
}

/// The operator token's secret, as the stack keeps it.
async fn fixture_secret(moto: &Moto) -> anyhow::Result<String> {
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    let name = "admit-bench-operator-token";
    if let Ok(found) = sm.describe_secret().secret_id(name).send().await {
        return Ok(found.arn().unwrap_or(name).to_owned());
    }
    let created = sm
        .create_secret()
        .name(name)
        .secret_string(seed::OPERATOR_TOKEN)
        .send()
        .await?;
    Ok(created.arn().unwrap_or(name).to_owned())
}

fn starts_markdown(starts: &[coldstart::Start], memory: &[coldstart::Memory]) -> String {
    let mut out = String::new();
    let hello = &starts[0];
    out += "### Cold start (median)\n\n| binary | warm at init | init ms | × hello | 1st request ms | 2nd request ms | init + 1st ms |\n|---|---|---:|---:|---:|---:|---:|\n";
    for s in starts {
        out += &format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            s.name,
            if s.name == "hello-world" {
                "–"
            } else if s.warm_at_init {
                "yes"
            } else {
                "no"
            },
            s.init_ms,
            s.init_ms / hello.init_ms,
            s.first_request_ms,
            s.second_request_ms,
            s.init_ms + s.first_request_ms,
        );
    }
    let base = &memory[0];
    out += "\n### Peak memory (VmHWM)\n\n| binary | invocations | peak RSS MiB | × hello | binary MiB |\n|---|---:|---:|---:|---:|\n";
    for m in memory {
        out += &format!(
            "| {} | {} | {:.1} | {:.2} | {:.1} |\n",
            m.name,
            m.invocations,
            m.peak_rss_kib as f64 / 1024.0,
            m.peak_rss_kib as f64 / base.peak_rss_kib as f64,
            m.binary_bytes as f64 / 1048576.0,
        );
    }
    out
}

fn throughput_markdown(loads: &[throughput::Load]) -> String {
    let mut out = String::new();
    out += "\n### Warm throughput (wrk, 1 thread, 8 connections)\n\n| request | server | req/s | × bare | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|\n";
    for pair in loads.chunks(2) {
        let bare = &pair[0];
        for l in pair {
            out += &format!(
                "| {} | {} | {:.0} | {:.2} | {:.3} | {:.3} |\n",
                l.request,
                l.server,
                l.requests_per_sec,
                l.requests_per_sec / bare.requests_per_sec,
                l.p50_ms,
                l.p99_ms
            );
        }
    }
    out
}

fn bulk_markdown(bulk: &bulk::Bulk) -> String {
    let mut out = String::new();
    out += &format!(
        "\n### Bulk: {} emails in {} requests (moto)\n\n| | seconds | × floor | calls |\n|---|---:|---:|---|\n| Admit | {:.1} | {:.2} | {} |\n| floor (BatchWriteItem + SendEmail) | {:.1} | 1.00 | {} |\n\nPer request: p50 {:.0} ms, p99 {:.0} ms. DynamoDB calls {}, SES calls {}.\n",
        bulk.emails,
        bulk.requests,
        bulk.admit_secs,
        bulk.admit_secs / bulk.floor_secs,
        bulk.admit_calls,
        bulk.floor_secs,
        bulk.floor_calls,
        bulk.request_p50_ms,
        bulk.request_p99_ms,
        bulk.admit_dynamodb_calls,
        bulk.admit_ses_calls,
    );
    out
}
