//! Putting an organization into a running Admit through its HTTP API, as
//! an operator and an owner would: what every benchmark starts from.

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const OPERATOR_TOKEN: &str = "operator-token-for-benchmarks";

pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

/// An organization with a confirmed owner signed in.
pub struct Org {
    pub id: String,
    pub owner_session: String,
    pub owner_member_id: String,
}

/// Where the invitation emails can be read back.
pub enum Mailbox<'a> {
    Outbox(&'a Path),
    Moto(&'a admit_tests::moto::Moto),
}

pub fn mp_hash(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(password.as_bytes()))
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.parse()?, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn expect(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        let (s, v) = self.call(method, path, token, Some(body)).await?;
        if s != status {
            bail!("{method} {path}: {s} {v}");
        }
        Ok(v)
    }

    /// A new organization, its owner accepted and signed in.
    pub async fn org(&self, domain: &str, mailbox: &Mailbox<'_>) -> anyhow::Result<Org> {
        let owner = format!("owner@{domain}");
        let created = self
            .expect(
                "POST",
                "/operator/orgs",
                Some(OPERATOR_TOKEN),
                json!({"name": "Bench", "sso_identifier": format!("bench-{}", domain.replace('.', "-")), "owner_email": owner, "seats": {}}),
                201,
            )
            .await?;
        let id = created["org_id"].as_str().context("org_id")?.to_owned();
        let token = accept_token(mailbox, &owner).await?;
        self.expect(
            "POST",
            "/invitations/accept",
            None,
            json!({"token": token, "master_password_hash": mp_hash("owner"),
                   "kdf": {"type": "pbkdf2_sha256", "iterations": 600000}}),
            200,
        )
        .await?;
        let login = self
            .expect(
                "POST",
                "/auth/login",
                None,
                json!({"email": owner, "master_password_hash": mp_hash("owner")}),
                200,
            )
            .await?;
        let owner_session = login["session_token"]
            .as_str()
            .context("session_token")?
            .to_owned();
        let (_, members) = self
            .call(
                "GET",
                &format!("/orgs/{id}/members"),
                Some(&owner_session),
                None,
            )
            .await?;
        let owner_member_id = members["members"][0]["member_id"]
            .as_str()
            .context("the owner's member_id")?
            .to_owned();
        Ok(Org {
            id,
            owner_session,
            owner_member_id,
        })
    }

    /// Invite `emails` (at most 100) into `org`.
    pub async fn invite(&self, org: &Org, emails: &[String]) -> anyhow::Result<()> {
        self.expect(
            "POST",
            &format!("/orgs/{}/invitations", org.id),
            Some(&org.owner_session),
            json!({"emails": emails, "role": "user"}),
            201,
        )
        .await
        .map(drop)
    }
}

/// The token of the latest invitation mailed to `address`.
pub async fn accept_token(mailbox: &Mailbox<'_>, address: &str) -> anyhow::Result<String> {
    let raws: Vec<Vec<u8>> = match mailbox {
        Mailbox::Outbox(dir) => {
            let mut files: Vec<_> = std::fs::read_dir(dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains(address))
                })
                .collect();
            files.sort();
            files.iter().map(std::fs::read).collect::<Result<_, _>>()?
        }
        Mailbox::Moto(moto) => moto
            .sent_emails()
            .await
            .into_iter()
            .filter(|m| m.destinations.iter().any(|d| d == address))
            .map(|m| m.raw.into_bytes())
            .collect(),
    };
    raws.iter()
        .rev()
        .find_map(|raw| {
            let msg = mail_parser::MessageParser::default().parse(raw)?;
            let text = msg.body_text(0)?;
            let start = text.find("/accept?token=")? + "/accept?token=".len();
            text[start..].split_whitespace().next().map(str::to_owned)
        })
        .with_context(|| format!("no invitation mailed to {address}"))
}
