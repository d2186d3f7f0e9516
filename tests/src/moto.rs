//! moto's server (PyPI `moto[server]`): DynamoDB and SES v2 over their wire
//! protocols. One server per test process, started on first use.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    _child: Mutex<Child>,
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python() -> String {
    std::env::var("ADMIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

impl Moto {
    /// The process-wide server; started on first call. Panics, saying why,
    /// when it cannot start: a test that needs it must fail, not skip.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    fn start() -> Moto {
        Moto::start_with(None)
    }

    /// A server of its own speaking HTTPS with `cert`/`key` (PEM files) at
    /// `https://localhost:port`; clients must trust `cert` (`SSL_CERT_FILE`).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Moto {
        Moto::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&std::path::Path, &std::path::Path)>) -> Moto {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/moto_serial.py");
        let port = free_port();
        let mut cmd = Command::new(python());
        cmd.arg(&script).args(["--port", &port.to_string()]);
        if let Some((cert, key)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto's server ({} {}): {e}",
                    python(),
                    script.display()
                )
            });
        let endpoint = match tls {
            Some(_) => format!("https://localhost:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut child = child;
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto's server exited ({status}) before listening; is `moto[server]` installed for {}? \
                     (`cargo xtask test` installs it)",
                    python()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto's server did not listen on {endpoint} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint,
            _child: Mutex::new(child),
        }
    }

    /// SDK configuration pointing every client at this server.
    pub fn sdk_config(&self) -> SdkConfig {
        let creds = aws_sdk_dynamodb::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "admit-tests",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                creds,
            ))
            .build()
    }

    /// moto's view of every model it holds (`/moto-api/data.json`).
    pub async fn data(&self) -> serde_json::Value {
        reqwest::get(format!("{}/moto-api/data.json", self.endpoint))
            .await
            .expect("moto answers")
            .json()
            .await
            .expect("moto's data is JSON")
    }

    /// Raw messages sent through SES, as moto recorded them.
    pub async fn sent_emails(&self) -> Vec<SentEmail> {
        let data = self.data().await;
        let list = data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.into_iter()
            .map(|m| SentEmail {
                source: m["source"].as_str().unwrap_or_default().to_owned(),
                destinations: m["destinations"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                raw: m["raw_data"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

/// A server of its own (`start_tls`) stops with its handle; the shared one
/// lives as long as the test process.
impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(child) = self._child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One message as SES (moto) received it.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub source: String,
    pub destinations: Vec<String>,
    pub raw: String,
}
