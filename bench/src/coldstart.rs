//! Cold start, first request and peak memory of each function binary, run
//! against the local Runtime API with DynamoDB, SES and Secrets Manager on a
//! moto server that speaks TLS, beside a hello-world `lambda_runtime`
//! binary built the same way.

use crate::runtime_api::{RuntimeApi, http_event, scheduled_event};
use crate::stats::{median, ms};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One binary and the invocation it is measured with.
pub struct Subject {
    pub name: &'static str,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub event: Vec<u8>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Start {
    pub name: String,
    pub warm_at_init: bool,
    pub init_ms: f64,
    pub first_request_ms: f64,
    pub second_request_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Memory {
    pub name: String,
    pub invocations: usize,
    pub peak_rss_kib: u64,
    pub binary_bytes: u64,
}

/// Where a subject's standard error goes (its logs: JSON lines).
fn log_path(subject: &Subject) -> PathBuf {
    std::env::temp_dir().join(format!("admit-bench-{}.log", subject.name))
}

fn spawn(subject: &Subject, api: &RuntimeApi, extra: &[(&str, &str)]) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log_path(subject))?;
    let mut cmd = Command::new(&subject.binary);
    cmd.env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", subject.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", subject.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in &subject.env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn()
        .with_context(|| format!("cannot start {}", subject.binary.display()))
}

struct Running(Child);

/// The end of the subject's init, or why it never came (it exited: its log).
async fn init_done(
    subject: &Subject,
    api: &RuntimeApi,
    child: &mut Running,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(t) = api.first_poll(Duration::from_millis(20)).await {
            return Ok(t);
        }
        if let Some(status) = child.0.try_wait()? {
            let log = std::fs::read_to_string(log_path(subject)).unwrap_or_default();
            anyhow::bail!("{} exited ({status}) during init:\n{log}", subject.name);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} did not finish init in 30 s",
            subject.name
        );
    }
}

/// The subject logged no error (remind's job, for one, answers nothing).
fn no_errors_logged(subject: &Subject) -> anyhow::Result<()> {
    let log = std::fs::read_to_string(log_path(subject)).unwrap_or_default();
    match log.lines().find(|l| l.contains(r#""level":"ERROR""#)) {
        Some(line) => anyhow::bail!("{} logged an error: {line}", subject.name),
        None => Ok(()),
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `runs` cold starts of `subject`: init, then two invocations; medians.
pub async fn starts(subject: &Subject, runs: usize, warm_at_init: bool) -> anyhow::Result<Start> {
    let (mut init, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    let warm = if warm_at_init { "true" } else { "false" };
    for _ in 0..runs {
        let mut api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = Running(spawn(subject, &api, &[("ADMIT_WARM_AT_INIT", warm)])?);
        let polled = init_done(subject, &api, &mut child).await?;
        init.push(polled - started);
        for times in [&mut first, &mut second] {
            let (body, took) = api.invoke(&subject.event).await?;
            check(subject, &body)?;
            times.push(took);
        }
        drop(child);
        no_errors_logged(subject)?;
    }
    Ok(Start {
        name: subject.name.into(),
        warm_at_init,
        init_ms: ms(median(&mut init)),
        first_request_ms: ms(median(&mut first)),
        second_request_ms: ms(median(&mut second)),
    })
}

/// Peak resident memory (VmHWM) after `invocations` invocations.
pub async fn memory(subject: &Subject, invocations: usize) -> anyhow::Result<Memory> {
    let mut api = RuntimeApi::start().await?;
    let mut child = Running(spawn(subject, &api, &[])?);
    init_done(subject, &api, &mut child).await?;
    for _ in 0..invocations {
        let (body, _) = api.invoke(&subject.event).await?;
        check(subject, &body)?;
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.0.id()))?;
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("VmHWM in /proc/<pid>/status")?;
    Ok(Memory {
        name: subject.name.into(),
        invocations,
        peak_rss_kib,
        binary_bytes: std::fs::metadata(&subject.binary)?.len(),
    })
    .and_then(|m| {
        drop(child);
        no_errors_logged(subject).map(|()| m)
    })
}

/// An HTTP function's response must be the status the benchmark expects,
/// or the figures would measure an error path nobody takes.
fn check(subject: &Subject, body: &[u8]) -> anyhow::Result<()> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(status) = v.get("statusCode").and_then(|s| s.as_u64()) else {
        return Ok(()); // hello and remind answer with their own payloads
    };
    let expected = expected_status(subject.name);
    anyhow::ensure!(
        status == expected,
        "{} answered {status}, not {expected}: {}",
        subject.name,
        String::from_utf8_lossy(body)
    );
    Ok(())
}

fn expected_status(name: &str) -> u64 {
    match name {
        // Confirming the owner again: every read, then a refusal.
        "confirm" => 409,
        // A claimed domain whose organization has not turned SSO on: the
        // domain's and the organization's reads, then not found.
        "sso-callback" => 404,
        _ => 200,
    }
}

/// Paths of the binaries `cargo lambda build` left in `lambda_dir`.
pub fn binary(lambda_dir: &Path, bin: &str) -> PathBuf {
    lambda_dir.join(bin).join("bootstrap")
}

/// The invocation each function is measured with: a request that reads
/// DynamoDB, as its real first request would.
pub struct Fixture {
    pub org: String,
    pub session: String,
    pub owner_member_id: String,
    pub invitation: String,
}

pub fn events(f: &Fixture) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let bearer = format!("Bearer {}", f.session);
    vec![
        (
            "invite",
            "admit-invite",
            http_event(
                "GET",
                &format!("/orgs/{}/members", f.org),
                "",
                &[("authorization", &bearer)],
                None,
            ),
        ),
        (
            "accept",
            "admit-accept",
            http_event(
                "POST",
                "/invitations/lookup",
                "",
                &[],
                Some(&serde_json::json!({"token": f.invitation}).to_string()),
            ),
        ),
        (
            "confirm",
            "admit-confirm",
            http_event(
                "POST",
                &format!("/orgs/{}/members/{}/confirm", f.org, f.owner_member_id),
                "",
                &[("authorization", &bearer)],
                Some(r#"{"key":"k"}"#),
            ),
        ),
        (
            "sso-callback",
            "admit-sso-callback",
            http_event(
                "POST",
                "/sso/discover",
                "",
                &[],
                Some(r#"{"email":"someone@lambda.test"}"#),
            ),
        ),
        ("remind", "admit-remind", scheduled_event()),
    ]
}
