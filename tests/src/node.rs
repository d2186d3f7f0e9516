//! An OpenID provider script of `tests/idp` run under Node on a free loopback
//! port: started, waited for, and stopped when dropped (the scripts also exit
//! by themselves when the test process does).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::moto::free_port;

pub(crate) fn node() -> String {
    std::env::var("ADMIT_NODE").unwrap_or_else(|_| "node".into())
}

pub(crate) fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp")
}

pub(crate) struct NodeProvider {
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
    child: Child,
    stderr: tempfile::NamedTempFile,
}

impl NodeProvider {
    /// Run `tests/idp/<script> --port N <args>` and wait until its discovery
    /// document answers. `what` names it in failures; `package` is the npm
    /// package it needs. Panics, saying why, when it cannot start: a test that
    /// needs it must fail, not skip.
    pub fn start(what: &str, script: &str, package: &str, args: &[&str]) -> NodeProvider {
        let dir = idp_dir();
        match Command::new(node()).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`{} --version` failed ({}): Node.js 20 or later is needed for {what}",
                node(),
                out.status
            ),
            Err(e) => panic!(
                "cannot run `{}` ({e}): Node.js 20 or later is needed for {what} \
                 (set ADMIT_NODE to its path if it is not on PATH)",
                node()
            ),
        }
        assert!(
            dir.join("node_modules")
                .join(package)
                .join("package.json")
                .is_file(),
            "the npm package `{package}` for {what} is missing from {}: run `cargo xtask test`, which installs it",
            dir.join("node_modules").display()
        );
        // A provider that is alive but never answers has been seen, rarely,
        // under load (an empty stderr, no exit), and so has a port taken
        // between choosing and binding it: it is started again on another
        // port before the test fails.
        const ATTEMPTS: u32 = 3;
        let mut attempt = 0;
        let (issuer, child, stderr) = loop {
            attempt += 1;
            match Self::spawn(what, script, &dir, args) {
                Ok(started) => break started,
                Err(why) if attempt < ATTEMPTS => {
                    eprintln!("{why}; starting it again on another port");
                }
                Err(why) => panic!("{why} (attempt {attempt} of {ATTEMPTS})"),
            }
        };
        NodeProvider {
            issuer,
            child,
            stderr,
        }
    }

    /// One start of the provider on a free port: its issuer, process and
    /// stderr once its discovery document answers. Panics when it exits
    /// first (but for a port taken meanwhile: `Err`); `Err` (it was killed)
    /// when it does not answer within 60 s.
    fn spawn(
        what: &str,
        script: &str,
        dir: &std::path::Path,
        args: &[&str],
    ) -> Result<(String, Child, tempfile::NamedTempFile), String> {
        let stderr = tempfile::NamedTempFile::new().expect("a temporary file for node's stderr");
        let port = free_port();
        let mut child = Command::new(node())
            .arg(dir.join(script))
            .args(["--port", &port.to_string()])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                stderr.reopen().expect("reopen node's stderr file"),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({} {script}): {e}", node()));
        let issuer = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let stderr_text = || std::fs::read_to_string(stderr.path()).unwrap_or_default();
        while !discovery_answers(port) {
            if let Ok(Some(status)) = child.try_wait() {
                let text = stderr_text();
                // The free port was taken between choosing it and binding it
                // (other servers start in parallel): another port.
                if text.contains("EADDRINUSE") {
                    return Err(format!("{what} found port {port} taken"));
                }
                panic!(
                    "{what} exited ({status}) before answering; its stderr:\n{}",
                    text.trim_end()
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} did not answer at {issuer}/.well-known/openid-configuration within 60 s; its stderr:\n{}",
                    stderr_text().trim_end()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((issuer, child, stderr))
    }

    /// What the script wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /.well-known/openid-configuration` answers 200 (plain
/// blocking HTTP/1.0, so it works in and out of an async runtime).
fn discovery_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}
