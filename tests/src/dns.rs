//! A DNS server serving records the test chooses: Debian's `dnsmasq`
//! (package `dnsmasq-base`, which `cargo xtask test` installs) on a free
//! loopback port, over UDP and TCP, answering from its command line only.
//!
//! It is authoritative for every name (`--local=/#/`): a name it holds no
//! record for is NXDOMAIN, a name with records of other types only is NODATA,
//! nothing is forwarded anywhere. Records have a TTL of one hour
//! (`--local-ttl`), so a resolver that caches would see stale records after
//! [`DnsServer::set_records`]. Names are best kept under `.test` (RFC 6761).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `dnsmasq` to run: `ADMIT_DNSMASQ`, else Debian's (in `/usr/sbin`,
/// which a non-root `PATH` may lack), else `dnsmasq` on `PATH`.
fn dnsmasq() -> String {
    if let Ok(path) = std::env::var("ADMIT_DNSMASQ") {
        return path;
    }
    let debian = "/usr/sbin/dnsmasq";
    if std::path::Path::new(debian).exists() {
        return debian.into();
    }
    "dnsmasq".into()
}

/// What the server holds.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// `(name, value)`: one TXT record each, several at one name allowed.
    /// The value goes to dnsmasq as written: commas separate the record's
    /// character-strings, and a string over 255 bytes is split by dnsmasq.
    pub txt: Vec<(String, String)>,
    /// `(alias, target)`: a CNAME record at `alias` (the target may hold
    /// nothing at all).
    pub cname: Vec<(String, String)>,
    /// `(name, address)`: an A record.
    pub a: Vec<(String, Ipv4Addr)>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    /// TXT records from `(name, value)` pairs.
    pub fn from_txt(records: &[(&str, &str)]) -> Zone {
        Zone::new().with_txt(records)
    }

    pub fn with_txt(mut self, records: &[(&str, &str)]) -> Zone {
        self.txt
            .extend(records.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self
    }

    pub fn with_cname(mut self, alias: &str, target: &str) -> Zone {
        self.cname.push((alias.into(), target.into()));
        self
    }

    pub fn with_a(mut self, name: &str, address: Ipv4Addr) -> Zone {
        self.a.push((name.into(), address));
        self
    }

    fn args(&self) -> Vec<String> {
        let txt = self
            .txt
            .iter()
            .map(|(n, v)| format!("--txt-record={n},{v}"));
        let cname = self.cname.iter().map(|(a, t)| format!("--cname={a},{t}"));
        let a = self
            .a
            .iter()
            .map(|(n, ip)| format!("--host-record={n},{ip}"));
        txt.chain(cname).chain(a).collect()
    }
}

/// A running dnsmasq; stopped (killed and reaped) when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    zone: Zone,
    child: Child,
    stderr: tempfile::NamedTempFile,
}

impl DnsServer {
    /// A server holding these TXT records (`(name, value)`), and nothing else.
    /// Panics, saying why, when dnsmasq cannot start: a test that needs it
    /// must fail, not skip.
    pub fn start(records: &[(&str, &str)]) -> DnsServer {
        DnsServer::start_zone(Zone::from_txt(records))
    }

    /// TXT records and CNAME records (`(alias, target)`).
    pub fn start_with(records: &[(&str, &str)], cnames: &[(&str, &str)]) -> DnsServer {
        let zone = cnames
            .iter()
            .fold(Zone::from_txt(records), |z, (a, t)| z.with_cname(a, t));
        DnsServer::start_zone(zone)
    }

    /// A server holding `zone`.
    pub fn start_zone(zone: Zone) -> DnsServer {
        // Another process may take the port between choosing and binding it:
        // a few ports are tried before giving up.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_udp_tcp_port();
            match spawn(port, &zone) {
                Ok((child, stderr)) => {
                    return DnsServer {
                        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                        zone,
                        child,
                        stderr,
                    };
                }
                Err(Failed::PortTaken(text)) => last = text,
                Err(Failed::Other(message)) => panic!("{message}"),
            }
        }
        panic!("dnsmasq could not bind a free loopback port in 5 tries; its stderr:\n{last}");
    }

    /// Where it listens (UDP and TCP): `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it holds now.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Replaces the TXT records (CNAME and A records stay), restarting the
    /// server on the same port; returns once it answers.
    pub fn set_records(&mut self, records: &[(&str, &str)]) {
        let zone = Zone {
            txt: Zone::from_txt(records).txt,
            ..self.zone.clone()
        };
        self.set_zone(zone);
    }

    /// Replaces everything it holds, restarting the server on the same port;
    /// returns once it answers.
    pub fn set_zone(&mut self, zone: Zone) {
        self.stop();
        let port = self.addr.port();
        match spawn(port, &zone) {
            Ok((child, stderr)) => {
                self.child = child;
                self.stderr = stderr;
                self.zone = zone;
            }
            Err(Failed::PortTaken(text)) => {
                panic!(
                    "dnsmasq could not bind its port {port} again on restart; its stderr:\n{text}"
                )
            }
            Err(Failed::Other(message)) => panic!("{message}"),
        }
    }

    /// What dnsmasq wrote to stderr so far (one line per query).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Failed {
    /// It exited saying its address was in use: try another port.
    PortTaken(String),
    Other(String),
}

/// Starts dnsmasq on `port` and waits until it answers over UDP and TCP.
fn spawn(port: u16, zone: &Zone) -> Result<(Child, tempfile::NamedTempFile), Failed> {
    let stderr = tempfile::NamedTempFile::new().expect("a temporary file for dnsmasq's stderr");
    let mut child = Command::new(dnsmasq())
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            // As whoever runs the tests: root keeps root (no switch to a
            // `dnsmasq` or `nobody` user), anyone else is left as is.
            "--user=root",
            "--group=root",
            "--pid-file=",
            "--local=/#/",
            "--local-ttl=3600",
            "--log-facility=-",
            "--log-queries",
        ])
        .arg(format!("--port={port}"))
        .args(zone.args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            stderr.reopen().expect("reopen dnsmasq's stderr file"),
        ))
        .spawn()
        .map_err(|e| {
            Failed::Other(format!(
                "cannot start dnsmasq ({}): {e}; it is Debian's package dnsmasq-base \
                 (`cargo xtask test` installs it)",
                dnsmasq()
            ))
        })?;
    let stderr_text = || std::fs::read_to_string(stderr.path()).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 0u16;
    loop {
        id = id.wrapping_add(1);
        if answers_udp(port, id) && TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((child, stderr));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let text = stderr_text();
            if text.contains("Address already in use") || text.contains("Address in use") {
                return Err(Failed::PortTaken(text));
            }
            return Err(Failed::Other(format!(
                "dnsmasq exited ({status}) before answering on 127.0.0.1:{port}; its stderr:\n{}",
                text.trim_end()
            )));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failed::Other(format!(
                "dnsmasq did not answer on 127.0.0.1:{port} within 10 s; its stderr:\n{}",
                stderr_text().trim_end()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port free for both UDP and TCP (bound, read, released).
fn free_udp_tcp_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback UDP socket");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both UDP and TCP in 100 tries");
}

/// Whether a DNS server on `port` answers a query (any response code).
fn answers_udp(port: u16, id: u16) -> bool {
    let Ok(socket) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(200)));
    if socket
        .send_to(
            &query(id, "admit-harness-ready.test", 16),
            ("127.0.0.1", port),
        )
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 512];
    match socket.recv(&mut buf) {
        // Same id, and the QR bit: a response.
        Ok(n) => n >= 12 && buf[..2] == id.to_be_bytes() && buf[2] & 0x80 != 0,
        Err(_) => false,
    }
}

/// A DNS query message (RFC 1035 §4.1) for `name`, type `qtype`, class IN.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00]); // recursion desired
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}
