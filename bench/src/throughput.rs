//! Warm throughput of `admit serve` on the embedded store, against a bare
//! axum server answering the same requests with the same bytes and no work,
//! each loaded by `wrk` from another process on loopback.

use crate::seed::{self, Client, Mailbox};
use anyhow::{Context, bail};
use axum::Router;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Load {
    pub server: String,
    pub request: String,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(addr: SocketAddr, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited ({status}) before listening on {addr}");
        }
        if Instant::now() > deadline {
            bail!("nothing listens on {addr} after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], admit_tests::moto::free_port()))
}

/// One request shape, as `wrk` sends it.
struct Shape {
    name: &'static str,
    method: &'static str,
    path: String,
    bearer: Option<String>,
    body: Option<String>,
}

pub async fn run(admit_bin: &Path, secs: u32, work: &Path) -> anyhow::Result<Vec<Load>> {
    // Admit, seeded: an organization of 101 members, one invitation to look up.
    let addr = free_addr();
    let data = work.join("serve");
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
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", admit_bin.display()))?;
    wait_listening(addr, &mut child)?;
    let admit = Server(child);
    let client = Client::new(&format!("http://{addr}"));
    let org = client.org("bench.test", &Mailbox::Outbox(&outbox)).await?;
    let emails: Vec<String> = (0..100).map(|i| format!("m{i:03}@bench.test")).collect();
    client.invite(&org, &emails).await?;
    let token = seed::accept_token(&Mailbox::Outbox(&outbox), &emails[0]).await?;

    let shapes = [
        Shape {
            name: "invitation lookup",
            method: "POST",
            path: "/invitations/lookup".into(),
            bearer: None,
            body: Some(serde_json::json!({"token": token}).to_string()),
        },
        Shape {
            name: "member listing (first page)",
            method: "GET",
            path: format!("/orgs/{}/members", org.id),
            bearer: Some(org.owner_session.clone()),
            body: None,
        },
    ];

    // The bare server answers each shape with Admit's own response bytes.
    let mut canned = Vec::new();
    for s in &shapes {
        let body = s
            .body
            .as_ref()
            .map(|b| serde_json::from_str(b))
            .transpose()?;
        let (status, v) = client
            .call(s.method, &s.path, s.bearer.as_deref(), body)
            .await?;
        anyhow::ensure!(status == 200, "{} answered {status}: {v}", s.name);
        canned.push(v.to_string());
    }
    let bare_addr = free_addr();
    let mut bare = Command::new(std::env::current_exe()?)
        .arg("bare-axum")
        .args(["--listen", &bare_addr.to_string()])
        .arg("--lookup-body")
        .arg(write(work, "lookup.json", &canned[0])?)
        .arg("--members-body")
        .arg(write(work, "members.json", &canned[1])?)
        .stdout(Stdio::null())
        .spawn()?;
    wait_listening(bare_addr, &mut bare)?;
    let bare = Server(bare);

    let mut out = Vec::new();
    for s in &shapes {
        for (server, at) in [("bare axum", bare_addr), ("admit serve", addr)] {
            let script = write(work, "wrk.lua", &lua(s))?;
            let mut load = wrk(&format!("http://{at}{}", s.path), &script, secs)?;
            load.server = server.into();
            load.request = s.name.into();
            out.push(load);
        }
    }
    drop((admit, bare));
    Ok(out)
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

fn lua(s: &Shape) -> String {
    let quote = |t: &str| format!("[==[{t}]==]");
    let mut out = format!("wrk.method = \"{}\"\n", s.method);
    if let Some(b) = &s.body {
        out += &format!("wrk.body = {}\n", quote(b));
        out += "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
    }
    if let Some(t) = &s.bearer {
        out += &format!(
            "wrk.headers[\"Authorization\"] = {}\n",
            quote(&format!("Bearer {t}"))
        );
    }
    out
}

/// `wrk` with one thread and 8 connections for `secs`: its rate and latency.
fn wrk(url: &str, script: &Path, secs: u32) -> anyhow::Result<Load> {
    let out = Command::new("wrk")
        .args(["-t1", "-c8", &format!("-d{secs}s"), "--latency", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .context("cannot run wrk (cargo xtask bench installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    parse_wrk(&text)
}

pub fn parse_wrk(text: &str) -> anyhow::Result<Load> {
    anyhow::ensure!(
        !text.contains("Non-2xx or 3xx responses") && !text.contains("Socket errors"),
        "some requests failed:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("`{prefix}` in wrk's output:\n{text}"))
    };
    let rate: f64 = field("Requests/sec:")?.parse()?;
    Ok(Load {
        server: String::new(),
        request: String::new(),
        requests_per_sec: rate,
        p50_ms: duration_ms(field("50%")?)?,
        p99_ms: duration_ms(field("99%")?)?,
    })
}

fn duration_ms(s: &str) -> anyhow::Result<f64> {
    let split = s
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("a unit in {s}"))?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        other => bail!("unknown unit {other}"),
    })
}

/// The baseline: the same routes answering canned bytes.
pub async fn bare_axum(listen: SocketAddr, lookup: String, members: String) -> anyhow::Result<()> {
    let json = |body: String| {
        move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }
    };
    let router = Router::new()
        .route("/invitations/lookup", post(json(lookup)))
        .route("/orgs/{org}/members", get(json(members)));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 2s test @ http://127.0.0.1:1/x
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   250.00us  100.00us   2.00ms   90.00%
  Latency Distribution
     50%  215.00us
     75%  300.00us
     90%  400.00us
     99%    1.20ms
  60000 requests in 2.00s, 10.00MB read
Requests/sec:  30000.50
Transfer/sec:      5.00MB
";
        let l = parse_wrk(text).unwrap();
        assert_eq!(
            (l.requests_per_sec, l.p50_ms, l.p99_ms),
            (30000.5, 0.215, 1.2)
        );
        assert!(parse_wrk(&format!("{text}  Non-2xx or 3xx responses: 3\n")).is_err());
        assert!(
            parse_wrk(&format!(
                "{text}  Socket errors: connect 0, read 0, write 0, timeout 2\n"
            ))
            .is_err()
        );
    }
}
