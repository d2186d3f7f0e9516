//! A flood of failed sign-ins costs `admit serve` a bounded amount of
//! memory, and an honest sign-in made during the flood still succeeds.
//!
//! Every `POST /auth/login` runs one Argon2id (m = 19 MiB), also for an
//! unknown email (a dummy check, so that an unknown account takes as long as
//! a wrong password). The real binary is started, 200 failed sign-ins are
//! sent at once, half with wrong passwords for a real account and half for
//! unknown emails, so that password hashing is what is measured; the
//! child's resident memory is read from `/proc/<pid>/status`.

mod support;

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Server, hash, owner_token, post, wait_up};

const OPERATOR: &str = "hash-flood-operator";
const OWNER: &str = "owner@flood.test";
const FLOOD: usize = 200;
/// One Argon2id working buffer: m = 19,456 KiB blocks (argon2's default,
/// the `m=19456` of every stored verifier).
const ARGON2_MIB: u64 = 19;
/// The ceiling is the idle process after its first sign-ins (`base`) plus
/// one working buffer per permit plus this margin: everything else a flood
/// may add, 200 open connections with their read and write buffers (tens of
/// KiB each), the blocking threads' touched stacks, the allocator's
/// per-thread arenas. Measured: 11 to 20 MiB of it. The base already holds
/// the buffer its own sign-ins leased, so the ceiling has one to spare.
/// Unbounded, the flood needs `FLOOD × 19 MiB` (measured: 3.8 GiB
/// resident, and it stayed), so the ceiling (about 160 MiB on two cores)
/// separates the two by far either way.
const MARGIN_MIB: u64 = 64;

fn start(dir: &Path, addr: &str) -> Server {
    // The flood comes from one loopback address and half of it guesses
    // the owner's password: the sign-in rate limits (per address, per
    // account) would refuse it before any hashing, and lock the owner
    // out. Raised far out of the way, so that what is measured is the
    // hashing a flood from many addresses against many accounts costs.
    support::start(
        dir,
        addr,
        OPERATOR,
        &[
            ("ADMIT_RATE_LIMIT_ADDRESS", "1000000/1m"),
            ("ADMIT_RATE_LIMIT_ACCOUNT", "1000000/1m"),
            ("RUST_LOG", "error"),
        ],
    )
}

/// A `kB` line of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn login_body(email: &str, password: &str) -> Value {
    json!({"email": email, "master_password_hash": hash(password)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_sign_in_flood_keeps_memory_bounded_and_lets_the_owner_in() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(FLOOD + 1)
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();

    let server = start(dir.path(), &addr);
    let pid = server.0.id();
    wait_up(&http, &base).await;
    let body = json!({"name": "Flood", "sso_identifier": "flood", "owner_email": OWNER});
    let (s, created) = post(&http, format!("{base}/operator/orgs"), Some(OPERATOR), body).await;
    assert_eq!(s, 201, "{created}");
    let token = owner_token(&dir.path().join("outbox"));
    let accept = json!({"token": token, "master_password_hash": hash("right"), "kdf": {"type": "pbkdf2_sha256", "iterations": 600000}});
    let (s, accepted) = post(&http, format!("{base}/invitations/accept"), None, accept).await;
    assert_eq!(s, 200, "{accepted}");
    let url = format!("{base}/auth/login");
    let (s, _) = post(&http, url.clone(), None, login_body(OWNER, "right")).await;
    assert_eq!(s, 200, "the owner signs in before the flood");
    // Both kinds of check (a wrong password, an unknown email) have run
    // once: whatever they keep for later is in the base.
    let (s, _) = post(&http, url.clone(), None, login_body(OWNER, "wrong")).await;
    assert_eq!(s, 401);
    let (s, _) = post(
        &http,
        url.clone(),
        None,
        login_body("ghost@flood.test", "x"),
    )
    .await;
    assert_eq!(s, 401);
    let base_kib = status_kib(pid, "VmRSS");

    // Sample the child's resident memory while the flood runs.
    let peak_sampled = Arc::new(AtomicU64::new(base_kib));
    let flooding = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, flooding) = (peak_sampled.clone(), flooding.clone());
        tokio::spawn(async move {
            while flooding.load(Ordering::Relaxed) {
                peak.fetch_max(status_kib(pid, "VmRSS"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let started = Instant::now();
    let flood: Vec<_> = (0..FLOOD)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            let body = if i % 2 == 0 {
                login_body(OWNER, &format!("wrong-{i}"))
            } else {
                login_body(&format!("ghost-{i}@flood.test"), "whatever")
            };
            tokio::spawn(async move { http.post(url).json(&body).send().await.map(|r| r.status()) })
        })
        .collect();
    // The honest sign-in arrives once the flood is queued ahead of it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let honest_started = Instant::now();
    let (s, login) = post(&http, url.clone(), None, login_body(OWNER, "right")).await;
    let honest = honest_started.elapsed();
    for f in flood {
        let status = f.await.unwrap().expect("a flood request is answered");
        assert_eq!(status, 401, "a failed sign-in");
    }
    let flood_secs = started.elapsed().as_secs_f64();
    flooding.store(false, Ordering::Relaxed);
    sampler.await.unwrap();

    let rss_after = status_kib(pid, "VmRSS");
    let hwm = status_kib(pid, "VmHWM");
    let peak = peak_sampled.load(Ordering::Relaxed).max(rss_after);
    // The child runs as many Argon2 computations at once as it has cores
    // (the same count as here: it inherits this process's CPU affinity and
    // cgroup), each in a buffer it keeps.
    let permits = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let ceiling_kib = base_kib + (permits * ARGON2_MIB + MARGIN_MIB) * 1024;
    let mib = |kib: u64| kib as f64 / 1024.0;
    eprintln!(
        "hash flood: {FLOOD} failed sign-ins in {flood_secs:.1} s, \
         honest sign-in {:.0} ms; VmRSS base {:.1} MiB, sampled peak {:.1} MiB, \
         after {:.1} MiB; VmHWM {:.1} MiB; ceiling {:.1} MiB ({permits} permits)",
        honest.as_secs_f64() * 1000.0,
        mib(base_kib),
        mib(peak),
        mib(rss_after),
        mib(hwm),
        mib(ceiling_kib),
    );

    assert_eq!(s, 200, "the honest sign-in during the flood: {login}");
    assert!(login["session_token"].is_string(), "{login}");
    assert!(
        hwm <= ceiling_kib,
        "peak resident memory {:.1} MiB over the ceiling {:.1} MiB",
        mib(hwm),
        mib(ceiling_kib)
    );
    assert!(
        peak <= ceiling_kib,
        "resident memory {:.1} MiB over the ceiling {:.1} MiB",
        mib(peak),
        mib(ceiling_kib)
    );
}
