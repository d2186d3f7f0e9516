//! Honest sign-ins during a flood of failed ones. `admit serve` (release,
//! embedded store) checks every master password with Argon2id, at most one
//! computation per core at a time, first come first served; a flood of
//! failed sign-ins queues ahead of an honest one. The baseline is the same
//! honest sign-in on the same server with no flood, measured in the same
//! run. The server's resident memory is read from `/proc/<pid>/status`.

use crate::seed::{self, Client, Mailbox};
use crate::stats::{ms, percentile};
use anyhow::{Context, bail};
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct HashFlood {
    /// Failed sign-ins kept in flight at once during the flood.
    pub flood_concurrency: usize,
    /// The machine's cores as this process sees them: the server's budget
    /// of concurrent Argon2 computations.
    pub cores: usize,
    pub quiet_samples: usize,
    pub quiet_p50_ms: f64,
    pub quiet_p99_ms: f64,
    pub flood_samples: usize,
    pub flood_p50_ms: f64,
    pub flood_p99_ms: f64,
    /// Failed sign-ins answered per second during the flood.
    pub flood_failed_per_sec: f64,
    /// Every flood answer was a 401.
    pub flood_all_401: bool,
    /// The server's peak resident memory (VmHWM) before and after the flood,
    /// and its resident memory once the flood is over.
    pub hwm_before_mib: f64,
    pub hwm_after_mib: f64,
    pub rss_idle_after_mib: f64,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(kib as f64 / 1024.0)
}

/// One honest sign-in, timed; it must succeed.
async fn honest(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let res = http.post(url).json(body).send().await?;
    let status = res.status().as_u16();
    let _ = res.bytes().await?;
    let took = started.elapsed();
    if status != 200 {
        bail!("an honest sign-in answered {status}");
    }
    Ok(took)
}

pub async fn run(admit_bin: &Path, work: &Path, quick: bool) -> anyhow::Result<HashFlood> {
    let (quiet_samples, flood_samples, flood_concurrency) =
        if quick { (10, 3, 200) } else { (100, 20, 200) };
    let addr = SocketAddr::from(([127, 0, 0, 1], admit_tests::moto::free_port()));
    let data = work.join("hash-flood");
    let _ = std::fs::remove_dir_all(&data);
    let outbox = data.join("outbox");
    let mut child = Command::new(admit_bin)
        .arg("serve")
        .args(["--listen", &addr.to_string()])
        .arg("--data-dir")
        .arg(data.join("data"))
        .arg("--outbox-dir")
        .arg(&outbox)
        .args(["--operator-token", seed::OPERATOR_TOKEN])
        // One loopback address floods, half of it at the owner's password:
        // the sign-in rate limits would refuse it before any hashing and
        // lock the owner out. Raised out of the way, to measure the hashing
        // a flood from many addresses against many accounts costs.
        .env("ADMIT_RATE_LIMIT_ADDRESS", "1000000/1m")
        .env("ADMIT_RATE_LIMIT_ACCOUNT", "1000000/1m")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", admit_bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait()? {
            bail!("admit serve exited ({status}) before listening on {addr}");
        }
        if Instant::now() > deadline {
            bail!("nothing listens on {addr} after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let server = Server(child);
    let pid = server.0.id();
    let domain = "flood.test";
    let client = Client::new(&format!("http://{addr}"));
    client.org(domain, &Mailbox::Outbox(&outbox)).await?;
    let url = format!("http://{addr}/auth/login");
    let owner = format!("owner@{domain}");
    let right = json!({"email": owner, "master_password_hash": seed::mp_hash("owner")});

    // No flood: one warm-up, then back to back.
    let http = reqwest::Client::new();
    honest(&http, &url, &right).await?;
    let mut quiet = Vec::with_capacity(quiet_samples);
    for _ in 0..quiet_samples {
        quiet.push(honest(&http, &url, &right).await?);
    }
    let hwm_before_mib = status_mib(pid, "VmHWM")?;

    // The flood: `flood_concurrency` loops of failed sign-ins, half wrong
    // passwords for the owner, half unknown emails.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let not_401 = Arc::new(AtomicUsize::new(0));
    let flood_http = reqwest::Client::builder()
        .pool_max_idle_per_host(flood_concurrency)
        .build()?;
    let loops: Vec<_> = (0..flood_concurrency)
        .map(|i| {
            let (http, url, stop, answered, not_401) = (
                flood_http.clone(),
                url.clone(),
                stop.clone(),
                answered.clone(),
                not_401.clone(),
            );
            let body = if i % 2 == 0 {
                json!({"email": owner, "master_password_hash": seed::mp_hash(&format!("wrong-{i}"))})
            } else {
                json!({"email": format!("ghost-{i}@{domain}"), "master_password_hash": seed::mp_hash("x")})
            };
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match http.post(&url).json(&body).send().await {
                        Ok(res) => {
                            if res.status() != 401 {
                                not_401.fetch_add(1, Ordering::Relaxed);
                            }
                            let _ = res.bytes().await;
                        }
                        Err(_) => {
                            not_401.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Let the queue fill before sampling.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let answered_at_start = answered.load(Ordering::Relaxed);
    let mut flood = Vec::with_capacity(flood_samples);
    for _ in 0..flood_samples {
        flood.push(honest(&http, &url, &right).await?);
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let flood_failed_per_sec =
        (answered.load(Ordering::Relaxed) - answered_at_start) as f64 / flood_secs;
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.await?;
    }
    let hwm_after_mib = status_mib(pid, "VmHWM")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle_after_mib = status_mib(pid, "VmRSS")?;
    drop(server);

    Ok(HashFlood {
        flood_concurrency,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        quiet_samples,
        quiet_p50_ms: ms(percentile(&mut quiet, 50.0)),
        quiet_p99_ms: ms(percentile(&mut quiet, 99.0)),
        flood_samples,
        flood_p50_ms: ms(percentile(&mut flood, 50.0)),
        flood_p99_ms: ms(percentile(&mut flood, 99.0)),
        flood_failed_per_sec,
        flood_all_401: not_401.load(Ordering::Relaxed) == 0,
        hwm_before_mib,
        hwm_after_mib,
        rss_idle_after_mib,
    })
}

pub fn markdown(f: &HashFlood) -> String {
    format!(
        "\n### Honest sign-in during a flood of {} concurrent failed sign-ins ({} cores)\n\n\
         | | samples | p50 ms | p99 ms | × no flood (p50) | × no flood (p99) |\n\
         |---|---:|---:|---:|---:|---:|\n\
         | no flood | {} | {:.1} | {:.1} | 1.00 | 1.00 |\n\
         | flood | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n\n\
         Failed sign-ins answered during the flood: {:.1}/s ({}). \
         Server VmHWM before the flood {:.1} MiB, after {:.1} MiB; VmRSS idle after {:.1} MiB.\n",
        f.flood_concurrency,
        f.cores,
        f.quiet_samples,
        f.quiet_p50_ms,
        f.quiet_p99_ms,
        f.flood_samples,
        f.flood_p50_ms,
        f.flood_p99_ms,
        f.flood_p50_ms / f.quiet_p50_ms,
        f.flood_p99_ms / f.quiet_p99_ms,
        f.flood_failed_per_sec,
        if f.flood_all_401 {
            "all 401"
        } else {
            "some not 401"
        },
        f.hwm_before_mib,
        f.hwm_after_mib,
        f.rss_idle_after_mib,
    )
}
