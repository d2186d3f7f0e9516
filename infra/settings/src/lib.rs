//! The process's settings, read once: the one place that names each
//! `ADMIT_*` environment variable and gives its default, for both worlds —
//! the Lambda functions (`admit-lambda`, through [`Settings::from_env`]) and
//! `admit serve` (whose clap arguments take their `env` names and defaults
//! from [`var`] and [`default`], then become a [`Settings`]).
//!
//! No dependency on AWS or on any adapter: what a setting configures is
//! built by each world's composition root.

use std::fmt;
use std::path::PathBuf;

/// The environment variables, by name.
pub mod var {
    /// Where members reach the service (links in emails, redirects).
    /// Required on Lambda; `admit serve` defaults it to `http://<listen>`.
    pub const PUBLIC_URL: &str = "ADMIT_PUBLIC_URL";
    /// The DynamoDB table. Required on Lambda; `admit serve` needs it with
    /// `--store dynamodb`.
    pub const TABLE: &str = "ADMIT_TABLE";
    /// The sender of every email ([`super::default::MAIL_FROM`]).
    pub const MAIL_FROM: &str = "ADMIT_MAIL_FROM";
    /// The SES configuration set emails are sent with (optional).
    pub const SES_CONFIGURATION_SET: &str = "ADMIT_SES_CONFIGURATION_SET";
    /// The operator API's bearer token itself (local runs, `admit serve`).
    pub const OPERATOR_TOKEN: &str = "ADMIT_OPERATOR_TOKEN";
    /// The Secrets Manager secret holding the operator token (deployed
    /// functions); wins over [`OPERATOR_TOKEN`]. Lambda only.
    pub const OPERATOR_TOKEN_SECRET_ARN: &str = "ADMIT_OPERATOR_TOKEN_SECRET_ARN";
    /// `true`: open the DynamoDB connection at init. Lambda only.
    pub const WARM_AT_INIT: &str = "ADMIT_WARM_AT_INIT";
    /// The AWS KMS key (id, ARN or alias) that seals the secrets Admit
    /// stores and reads back (OIDC client secrets). Lambda only: `admit
    /// serve` seals with a key file in its data directory. Unset, a
    /// function can neither seal nor open one.
    pub const KMS_KEY_ID: &str = "ADMIT_KMS_KEY_ID";
    /// Requests to the sign-in and token endpoints per client address:
    /// `attempts/window` (`120/1m`).
    pub const RATE_LIMIT_ADDRESS: &str = "ADMIT_RATE_LIMIT_ADDRESS";
    /// Failed passwords per account email: `attempts/window` (`10/15m`).
    pub const RATE_LIMIT_ACCOUNT: &str = "ADMIT_RATE_LIMIT_ACCOUNT";
    /// A PEM bundle of CA certificates the IdP client trusts in addition to
    /// the platform's roots (and `SSL_CERT_FILE`): an on-premises IdP with
    /// a private CA. `admit serve --ca-file`.
    pub const CA_FILE: &str = "ADMIT_CA_FILE";
    /// Days an audit-log event is kept (`365`); DynamoDB's TTL or the
    /// embedded store's sweep removes it after.
    pub const EVENT_RETENTION_DAYS: &str = "ADMIT_EVENT_RETENTION_DAYS";
    /// The DNS server (`HOST:PORT`, an IP address and port) asked for the
    /// TXT records that verify domains; unset: the system's resolver.
    /// `admit serve --dns-server`.
    pub const DNS_SERVER: &str = "ADMIT_DNS_SERVER";

    // `admit serve` only.
    /// The address `admit serve` listens on.
    pub const LISTEN: &str = "ADMIT_LISTEN";
    /// `embedded` or `dynamodb`.
    pub const STORE: &str = "ADMIT_STORE";
    /// The embedded store's directory.
    pub const DATA_DIR: &str = "ADMIT_DATA_DIR";
    /// Create the DynamoDB table when it does not exist (local emulators).
    pub const CREATE_TABLE: &str = "ADMIT_CREATE_TABLE";
    /// `outbox` or `ses`.
    pub const MAIL: &str = "ADMIT_MAIL";
    /// Where the outbox mailer writes its messages.
    pub const OUTBOX_DIR: &str = "ADMIT_OUTBOX_DIR";
    /// How often the reminder job runs.
    pub const REMIND_EVERY: &str = "ADMIT_REMIND_EVERY";
    /// Development only: how far ahead the clock runs.
    pub const CLOCK_OFFSET: &str = "ADMIT_CLOCK_OFFSET";
    /// Proxies (IP addresses, comma-separated) whose `X-Forwarded-For`
    /// names the client; without one, the client is the socket's peer.
    pub const TRUSTED_PROXY: &str = "ADMIT_TRUSTED_PROXY";
}

/// The defaults of the variables that have one.
pub mod default {
    /// [`super::var::MAIL_FROM`].
    pub const MAIL_FROM: &str = "admit@localhost";
    /// [`super::var::LISTEN`].
    pub const LISTEN: &str = "127.0.0.1:8080";
    /// [`super::var::STORE`].
    pub const STORE: &str = "embedded";
    /// [`super::var::DATA_DIR`].
    pub const DATA_DIR: &str = "./.admit/data";
    /// [`super::var::MAIL`].
    pub const MAIL: &str = "outbox";
    /// [`super::var::OUTBOX_DIR`].
    pub const OUTBOX_DIR: &str = "./.admit/outbox";
    /// [`super::var::REMIND_EVERY`].
    pub const REMIND_EVERY: &str = "15m";
    /// [`super::var::RATE_LIMIT_ADDRESS`]: far above what a person or a
    /// shared office sends, far below a scan.
    pub const RATE_LIMIT_ADDRESS: &str = "120/1m";
    /// [`super::var::RATE_LIMIT_ACCOUNT`]: a person who mistypes never meets
    /// it; a guesser gets under a thousand tries a day.
    pub const RATE_LIMIT_ACCOUNT: &str = "10/15m";
    /// [`super::var::EVENT_RETENTION_DAYS`]: a year of the audit log.
    pub const EVENT_RETENTION_DAYS: &str = "365";
}

/// Where the operator API's token comes from. Neither: the operator API is off.
#[derive(Clone, PartialEq, Eq)]
pub enum OperatorToken {
    /// The token itself ([`var::OPERATOR_TOKEN`]).
    Inline(String),
    /// The ARN (or name) of the Secrets Manager secret holding it
    /// ([`var::OPERATOR_TOKEN_SECRET_ARN`]), read at init.
    Secret(String),
}

/// The token never reaches a log, not even through `{:?}`.
impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperatorToken::Inline(_) => f.write_str("Inline(<redacted>)"),
            OperatorToken::Secret(arn) => f.debug_tuple("Secret").field(arn).finish(),
        }
    }
}

/// What both worlds configure their ports with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// [`var::PUBLIC_URL`].
    pub public_url: String,
    /// [`var::TABLE`]; `None` where no DynamoDB store is used (`admit serve`
    /// on the embedded store). [`Settings::from_env`] requires it.
    pub table: Option<String>,
    /// [`var::MAIL_FROM`], default [`default::MAIL_FROM`].
    pub mail_from: String,
    /// [`var::SES_CONFIGURATION_SET`].
    pub ses_configuration_set: Option<String>,
    /// [`var::OPERATOR_TOKEN_SECRET_ARN`], else [`var::OPERATOR_TOKEN`].
    pub operator_token: Option<OperatorToken>,
    /// [`var::WARM_AT_INIT`] is `true`. Off by default: on an on-demand cold
    /// start the request waits for init anyway, and BENCHMARKS.md measured
    /// init plus first request longer with it than without. It pays where
    /// init runs ahead of requests (provisioned concurrency).
    pub warm_at_init: bool,
    /// [`var::KMS_KEY_ID`]; `None` under `admit serve` (its key file).
    pub kms_key_id: Option<String>,
    /// [`var::RATE_LIMIT_ADDRESS`], default [`default::RATE_LIMIT_ADDRESS`]
    /// (parsed by the use cases' config, which knows budgets).
    pub rate_limit_address: String,
    /// [`var::RATE_LIMIT_ACCOUNT`], default [`default::RATE_LIMIT_ACCOUNT`].
    pub rate_limit_account: String,
    /// [`var::CA_FILE`]: trusted by the IdP client, besides the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// [`var::EVENT_RETENTION_DAYS`], default [`default::EVENT_RETENTION_DAYS`].
    pub event_retention_days: u32,
    /// [`var::DNS_SERVER`]; `None`: the system's resolver.
    pub dns_server: Option<std::net::SocketAddr>,
}

/// A setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is not set (or is not Unicode).
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable's value is not one it can take.
    #[error("{0}: {1}")]
    Invalid(&'static str, &'static str),
}

/// A DNS server: an IP address and a port (`127.0.0.1:5353`, `[::1]:53`).
pub fn parse_dns_server(raw: &str) -> Result<std::net::SocketAddr, &'static str> {
    raw.trim()
        .parse()
        .map_err(|_| "an IP address and port, such as 10.0.0.2:53")
}

/// Event retention in days: 1 to 36,500 (a hundred years).
pub fn parse_retention_days(raw: &str) -> Result<u32, &'static str> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or("a number of days from 1 to 36500")
}

impl Settings {
    /// The settings of a deployed function, from the process environment:
    /// [`var::TABLE`] and [`var::PUBLIC_URL`] required, the rest optional.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Settings::from_env`] with `get` in place of the environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let required = |name: &'static str| get(name).ok_or(SettingsError::Missing(name));
        let table = required(var::TABLE)?;
        let public_url = required(var::PUBLIC_URL)?;
        let operator_token = match get(var::OPERATOR_TOKEN_SECRET_ARN) {
            Some(arn) => Some(OperatorToken::Secret(arn)),
            None => get(var::OPERATOR_TOKEN).map(OperatorToken::Inline),
        };
        Ok(Settings {
            public_url,
            table: Some(table),
            mail_from: get(var::MAIL_FROM).unwrap_or_else(|| default::MAIL_FROM.to_owned()),
            ses_configuration_set: get(var::SES_CONFIGURATION_SET),
            operator_token,
            warm_at_init: get(var::WARM_AT_INIT).is_some_and(|v| v == "true"),
            kms_key_id: get(var::KMS_KEY_ID).filter(|k| !k.is_empty()),
            rate_limit_address: get(var::RATE_LIMIT_ADDRESS)
                .unwrap_or_else(|| default::RATE_LIMIT_ADDRESS.to_owned()),
            rate_limit_account: get(var::RATE_LIMIT_ACCOUNT)
                .unwrap_or_else(|| default::RATE_LIMIT_ACCOUNT.to_owned()),
            ca_file: get(var::CA_FILE)
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            event_retention_days: parse_retention_days(
                &get(var::EVENT_RETENTION_DAYS)
                    .unwrap_or_else(|| default::EVENT_RETENTION_DAYS.to_owned()),
            )
            .map_err(|why| SettingsError::Invalid(var::EVENT_RETENTION_DAYS, why))?,
            dns_server: get(var::DNS_SERVER)
                .filter(|v| !v.trim().is_empty())
                .map(|v| parse_dns_server(&v))
                .transpose()
                .map_err(|why| SettingsError::Invalid(var::DNS_SERVER, why))?,
        })
    }

    /// The DynamoDB table, or which variable is missing.
    pub fn table(&self) -> Result<&str, SettingsError> {
        self.table
            .as_deref()
            .ok_or(SettingsError::Missing(var::TABLE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const REQUIRED: [(&str, &str); 2] = [
        ("ADMIT_TABLE", "admit"),
        ("ADMIT_PUBLIC_URL", "https://admit.example"),
    ];

    #[test]
    fn defaults() {
        let s = parse(&REQUIRED).unwrap();
        assert_eq!(
            s,
            Settings {
                public_url: "https://admit.example".into(),
                table: Some("admit".into()),
                mail_from: "admit@localhost".into(),
                ses_configuration_set: None,
                operator_token: None,
                warm_at_init: false,
                kms_key_id: None,
                rate_limit_address: "120/1m".into(),
                rate_limit_account: "10/15m".into(),
                ca_file: None,
                event_retention_days: 365,
                dns_server: None,
            }
        );
        assert_eq!(s.table(), Ok("admit"));
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        let err = parse(&[("ADMIT_PUBLIC_URL", "https://admit.example")]).unwrap_err();
        assert_eq!(err, SettingsError::Missing("ADMIT_TABLE"));
        assert_eq!(err.to_string(), "ADMIT_TABLE is not set");
        let err = parse(&[("ADMIT_TABLE", "admit")]).unwrap_err();
        assert_eq!(err.to_string(), "ADMIT_PUBLIC_URL is not set");
        assert_eq!(
            parse(&[]).unwrap_err().to_string(),
            "ADMIT_TABLE is not set"
        );
    }

    #[test]
    fn every_variable_is_read() {
        let mut vars = REQUIRED.to_vec();
        vars.extend([
            ("ADMIT_MAIL_FROM", "noreply@admit.example"),
            ("ADMIT_SES_CONFIGURATION_SET", "admit-events"),
            ("ADMIT_OPERATOR_TOKEN", "op-token"),
            ("ADMIT_WARM_AT_INIT", "true"),
            ("ADMIT_KMS_KEY_ID", "alias/admit-secrets"),
            ("ADMIT_CA_FILE", "certs/idp-ca.pem"),
            ("ADMIT_EVENT_RETENTION_DAYS", "30"),
            ("ADMIT_DNS_SERVER", "10.0.0.2:53"),
        ]);
        let s = parse(&vars).unwrap();
        assert_eq!(s.mail_from, "noreply@admit.example");
        assert_eq!(s.ses_configuration_set.as_deref(), Some("admit-events"));
        assert_eq!(
            s.operator_token,
            Some(OperatorToken::Inline("op-token".into()))
        );
        assert!(s.warm_at_init);
        assert_eq!(s.kms_key_id.as_deref(), Some("alias/admit-secrets"));
        assert_eq!(
            s.ca_file.as_deref(),
            Some(std::path::Path::new("certs/idp-ca.pem"))
        );
        assert_eq!(s.event_retention_days, 30);
        assert_eq!(s.dns_server, Some("10.0.0.2:53".parse().unwrap()));
    }

    #[test]
    fn bad_values_are_named() {
        for (var, value) in [
            ("ADMIT_EVENT_RETENTION_DAYS", "0"),
            ("ADMIT_EVENT_RETENTION_DAYS", "36501"),
            ("ADMIT_EVENT_RETENTION_DAYS", "a year"),
            ("ADMIT_DNS_SERVER", "10.0.0.2"),
            ("ADMIT_DNS_SERVER", "dns.example:53"),
        ] {
            let mut vars = REQUIRED.to_vec();
            vars.push((var, value));
            match parse(&vars) {
                Err(SettingsError::Invalid(named, _)) => assert_eq!(named, var, "{value}"),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_secret_wins_over_the_inline_token() {
        let mut vars = REQUIRED.to_vec();
        vars.extend([
            ("ADMIT_OPERATOR_TOKEN", "op-token"),
            (
                "ADMIT_OPERATOR_TOKEN_SECRET_ARN",
                "arn:aws:secretsmanager:op",
            ),
        ]);
        assert_eq!(
            parse(&vars).unwrap().operator_token,
            Some(OperatorToken::Secret("arn:aws:secretsmanager:op".into()))
        );
    }

    #[test]
    fn only_true_warms() {
        for (value, warm) in [("true", true), ("1", false), ("TRUE", false), ("", false)] {
            let mut vars = REQUIRED.to_vec();
            vars.push(("ADMIT_WARM_AT_INIT", value));
            assert_eq!(parse(&vars).unwrap().warm_at_init, warm, "{value:?}");
        }
    }

    #[test]
    fn the_inline_token_is_not_in_debug_output() {
        let mut vars = REQUIRED.to_vec();
        vars.push(("ADMIT_OPERATOR_TOKEN", "op-token-secret-value"));
        let debug = format!("{:?}", parse(&vars).unwrap());
        assert!(!debug.contains("op-token-secret-value"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn a_missing_table_is_named_where_it_is_needed() {
        let s = Settings {
            table: None,
            ..parse(&REQUIRED).unwrap()
        };
        assert_eq!(s.table().unwrap_err().to_string(), "ADMIT_TABLE is not set");
    }
}
