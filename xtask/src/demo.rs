//! `cargo xtask demo`: `admit serve` on the embedded store and the outbox,
//! with a demo organization, a pre-existing account to invite, and every new
//! email's link printed as it lands in the outbox.

use crate::setup;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const ORG: (&str, &str) = ("Acme Demo", "acme-demo");
const OWNER: &str = "owner@acme.test";
const OTHER_ORG: (&str, &str) = ("Globex Demo", "globex-demo");
/// An account that exists before Acme invites it.
const PAT: (&str, &str) = ("pat@globex.test", "pat-demo-password");
/// The domain Acme verifies, through the demo's own DNS server.
const DOMAIN: &str = "acme.test";
/// The demo's local OpenID provider (the one the tests use) and Admit's client there.
const IDP_CLIENT: (&str, &str) = ("admit-demo", "demo-client-secret");

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long, env = "ADMIT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the demo keeps its data and outbox.
    #[arg(long, default_value = ".admit")]
    dir: PathBuf,
    /// Port of the local OpenID provider.
    #[arg(long, default_value_t = 8081)]
    idp_port: u16,
    /// Port of the local SAML identity provider.
    #[arg(long, default_value_t = 8082)]
    saml_idp_port: u16,
    /// Port of the local DNS server (dnsmasq, on 127.0.0.1) that publishes
    /// Acme's domain verification record.
    #[arg(long, default_value_t = 8053)]
    dns_port: u16,
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    setup::ensure_build_deps()?;
    setup::ensure_idp()?;
    setup::ensure_saml_idp()?;
    setup::ensure_dns_server()?;
    setup::run(Command::new("cargo").args(["build", "--quiet", "-p", "admit"]))?;
    let dir = setup::root().join(&args.dir);
    let shown = args.dir.display();
    let outbox = dir.join("outbox");
    let base = format!("http://{}", args.listen);
    let operator_token = format!("demo-{:032x}", rand::random::<u128>());
    let bin = setup::root().join("target/debug/admit");
    let child = Command::new(&bin)
        .arg("serve")
        .env("ADMIT_LISTEN", &args.listen)
        .env("ADMIT_DATA_DIR", dir.join("data"))
        .env("ADMIT_OUTBOX_DIR", &outbox)
        .env("ADMIT_OPERATOR_TOKEN", &operator_token)
        .env("ADMIT_DNS_SERVER", format!("127.0.0.1:{}", args.dns_port))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut server = KillOnDrop(child);
    wait_until_up(&base, &mut server.0)?;
    let issuer = format!("http://127.0.0.1:{}", args.idp_port);
    let _idp = KillOnDrop(start_idp(
        args.idp_port,
        &format!("{base}/sso/oidc/callback"),
    )?);
    wait_until_up(&issuer, &mut server.0)?;
    // The SAML IdP on the same host as Admit: its form POST to the ACS is
    // then same-site, and the sign-in cookie (SameSite=Lax on http) comes along.
    let host = args.listen.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
    let saml_idp = format!("http://{host}:{}", args.saml_idp_port);
    let _saml = KillOnDrop(start_saml_idp(args.saml_idp_port, &saml_idp)?);
    wait_until_up(&saml_idp, &mut server.0)?;

    let seen: HashSet<PathBuf> = mail_files(&outbox).into_iter().collect();
    let acme = create_org(&base, &operator_token, ORG, OWNER, &dir)?;
    // Pat owns Globex: an account that exists before Acme invites it. Pat
    // creates it on the accept page, where the browser makes Pat's keys
    // (Admit never sees them in clear, so the demo cannot make them for Pat).
    create_org(&base, &operator_token, OTHER_ORG, PAT.0, &dir)?;
    // Acme's domain, added (not verified) by the operator so that the demo
    // knows its TXT record, which the demo's DNS server then publishes; the
    // owner verifies it in the console.
    let (status, claim) = put(
        &base,
        &format!("/operator/orgs/{acme}/domains/{DOMAIN}"),
        &operator_token,
        &json!({"verified": false}),
    )?;
    if status != 200 {
        bail!("adding {DOMAIN} to {}: {status} {claim}", ORG.0);
    }
    let record = (
        claim["txt_name"].as_str().unwrap_or_default().to_owned(),
        claim["txt_value"].as_str().unwrap_or_default().to_owned(),
    );
    let _dns = KillOnDrop(start_dns(args.dns_port, &record)?);

    println!("\nAdmit is running at {base} (embedded store in {shown}/data; Ctrl-C stops it).\n");
    match latest_token_to(&outbox, OWNER) {
        Some(token)
            if post(&base, "/invitations/lookup", None, &json!({"token": token}))?.0 == 200 =>
        {
            println!(
                "1. Open the owner's invitation to \"{}\":\n   {base}/accept?token={token}",
                ORG.0
            );
            println!("   and create a master password for {OWNER}.");
        }
        _ => println!("1. {OWNER} is already set up (from an earlier run)."),
    }
    match latest_token_to(&outbox, PAT.0) {
        Some(token)
            if post(&base, "/invitations/lookup", None, &json!({"token": token}))?.0 == 200 =>
        {
            println!(
                "   Pat owns \"{}\": open {base}/accept?token={token}\n   and create Pat's master password \"{}\" (Pat's account then exists).",
                OTHER_ORG.0, PAT.1
            );
        }
        _ => println!(
            "   Pat ({}) is already set up (from an earlier run).",
            PAT.0
        ),
    }
    println!("2. Sign in at {base}/app as {OWNER}.");
    println!(
        "3. Turn on single sign-on with the local identity provider: under \"Single sign-on\""
    );
    println!(
        "   enter issuer {issuer}, client ID {}, secret {},",
        IDP_CLIENT.0, IDP_CLIENT.1
    );
    println!(
        "   members decrypt with \"Master password\", tick Enabled, Save. (With \"groups\" as"
    );
    println!(
        "   Groups claim, the identity provider's sign-in page also takes the member's groups.)"
    );
    println!(
        "4. Invite new.member@acme.test and {} (an account that already exists;",
        PAT.0
    );
    println!("   its master password is \"{}\").", PAT.1);
    println!("5. Every email lands in {shown}/outbox as an .eml file; new ones are listed below");
    println!("   with their links. Open new.member's link: Finish account setup takes you to the");
    println!("   identity provider (sign in as new.member@acme.test, any password), then you");
    println!("   create a master password and the member is \"accepted\".");
    println!("6. Open Pat's link and accept with Pat's master password (an existing account joins");
    println!("   by its invitation, not by SSO).");
    println!("7. Back in {base}/app, confirm both: the member list shows \"confirmed\".");
    println!(
        "8. To use SAML instead: under \"Single sign-on\" choose Protocol \"SAML 2.0\", paste the"
    );
    println!(
        "   XML of {saml_idp}/metadata into \"IdP metadata XML\", Save, and invite someone new."
    );
    println!("   The local SAML IdP (pysaml2) asks only for an email.");
    println!(
        "9. Members can type their email instead of \"{}\" once Acme verifies {DOMAIN}:",
        ORG.1
    );
    println!(
        "   in {base}/app under \"Domains\", {DOMAIN} shows the TXT record to publish; the demo's"
    );
    println!(
        "   DNS server (dnsmasq on 127.0.0.1:{}) publishes it: choose \"Verify now\". Then open",
        args.dns_port
    );
    println!(
        "   {base}/sso and type new.member@acme.test: the page goes straight to the identity provider.\n"
    );

    let mut seen = seen;
    loop {
        for path in mail_files(&outbox) {
            if seen.insert(path.clone())
                && let Some(line) = describe_mail(&path)
            {
                println!("{line}");
            }
        }
        if let Some(status) = server.0.try_wait()? {
            bail!("admit serve exited ({status})");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The local OpenID provider of the tests (`tests/idp/provider.mjs`), with a client for this Admit.
fn start_idp(port: u16, redirect_uri: &str) -> anyhow::Result<Child> {
    let config = json!({"clients": [{"client_id": IDP_CLIENT.0, "client_secret": IDP_CLIENT.1,
        "redirect_uris": [redirect_uri], "id_token_signed_response_alg": "RS256"}]});
    let dir = setup::root().join("tests/idp");
    Command::new("node")
        .arg(dir.join("provider.mjs"))
        .args(["--port", &port.to_string(), "--config", &config.to_string()])
        .current_dir(&dir)
        .spawn()
        .context("cannot start the local OpenID provider (node)")
}

/// The local SAML IdP of the tests (`tests/idp/saml_idp.py`, pysaml2).
fn start_saml_idp(port: u16, base_url: &str) -> anyhow::Result<Child> {
    Command::new(setup::python())
        .arg(setup::root().join("tests/idp/saml_idp.py"))
        .args(["--port", &port.to_string(), "--base-url", base_url])
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start the local SAML identity provider (python3)")
}

fn wait_until_up(base: &str, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ureq::get(&format!("{base}/me")).call() {
            Ok(_) | Err(ureq::Error::Status(_, _)) => return Ok(()),
            Err(_) if Instant::now() < deadline => {
                if let Some(status) = child.try_wait()? {
                    bail!("admit serve exited ({status}); is the port in use?");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => bail!("admit serve did not answer at {base}: {e}"),
        }
    }
}

fn post(
    base: &str,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let mut req = ureq::post(&format!("{base}{path}"));
    if let Some(t) = bearer {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match req.send_json(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.into()),
    };
    let status = res.status();
    Ok((status, res.into_json().unwrap_or(Value::Null)))
}

fn put(base: &str, path: &str, bearer: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let req = ureq::put(&format!("{base}{path}")).set("Authorization", &format!("Bearer {bearer}"));
    let res = match req.send_json(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.into()),
    };
    let status = res.status();
    Ok((status, res.into_json().unwrap_or(Value::Null)))
}

/// Create an organization, or find the one an earlier run created (its id
/// is kept in the demo's directory); returns its id.
fn create_org(
    base: &str,
    token: &str,
    (name, ident): (&str, &str),
    owner: &str,
    dir: &Path,
) -> anyhow::Result<String> {
    let kept = dir.join(format!("{ident}.org-id"));
    let body = json!({"name": name, "sso_identifier": ident, "owner_email": owner, "seats": {"limit": 25}});
    match post(base, "/operator/orgs", Some(token), &body)? {
        (201, created) => {
            let id = created["org_id"].as_str().unwrap_or_default().to_owned();
            std::fs::write(&kept, &id)
                .with_context(|| format!("cannot write {}", kept.display()))?;
            Ok(id)
        }
        (409, _) => std::fs::read_to_string(&kept)
            .map(|id| id.trim().to_owned())
            .with_context(|| {
                format!(
                    "{name} exists from an earlier run but {} is missing: delete {} to start over",
                    kept.display(),
                    dir.display()
                )
            }),
        (status, body) => bail!("creating {name}: {status} {body}"),
    }
}

/// Debian's dnsmasq on `127.0.0.1:port`, answering for itself alone, with
/// one TXT record (`name`, `value`).
fn start_dns(port: u16, (name, value): &(String, String)) -> anyhow::Result<Child> {
    let bin = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("dnsmasq");
    // As root, dnsmasq would switch to a `dnsmasq` user the binary-only
    // package does not create: stay root (it binds a loopback port only).
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut command = Command::new(bin);
    if is_root {
        command.args(["--user=root", "--group=root"]);
    }
    let mut child = command
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--pid-file=",
            "--local=/#/",
            "--log-facility=-",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--txt-record={name},{value}"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {bin} (Debian's dnsmasq-base)"))?;
    std::thread::sleep(Duration::from_millis(300));
    if let Some(status) = child.try_wait()? {
        bail!("dnsmasq exited ({status}); is port {port} in use? (--dns-port)");
    }
    Ok(child)
}

fn mail_files(outbox: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

struct Parsed {
    to: String,
    subject: String,
    text: String,
}

fn parse(path: &Path) -> Option<Parsed> {
    let raw = std::fs::read(path).ok()?;
    let msg = mail_parser::MessageParser::default().parse(&raw)?;
    let to = msg.to()?.first()?.address()?.to_owned();
    Some(Parsed {
        to,
        subject: msg.subject()?.to_owned(),
        text: msg.body_text(0)?.into_owned(),
    })
}

fn first_link(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
}

fn latest_token_to(outbox: &Path, to: &str) -> Option<String> {
    mail_files(outbox)
        .iter()
        .rev()
        .filter_map(|p| parse(p))
        .find(|m| m.to == to)
        .and_then(|m| {
            let link = first_link(&m.text)?;
            link.split_once("/accept?token=").map(|(_, t)| t.to_owned())
        })
}

fn describe_mail(path: &Path) -> Option<String> {
    let m = parse(path)?;
    let link = first_link(&m.text)
        .map(|l| format!("\n    {l}"))
        .unwrap_or_default();
    Some(format!("  mail to {}: \"{}\"{link}", m.to, m.subject))
}
