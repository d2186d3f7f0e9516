//! DNS TXT lookups for domain verification: the [`admit_app::TxtLookup`] port
//! over [hickory-resolver](https://docs.rs/hickory-resolver) (0.26).
//!
//! An organization proves it controls a domain by publishing
//! `admit-verification=<random>` at `_admit-challenge.<domain>`; Admit reads
//! the TXT records there through [`HickoryTxt`]. The choices:
//!
//! - **Which server.** With a configured server (`--dns-server HOST:PORT`),
//!   that server only, over UDP and TCP (TCP when an answer is truncated),
//!   and nothing read from the system: no `resolv.conf`, no hosts file.
//!   Without one, the system's resolver configuration (`/etc/resolv.conf`:
//!   its name servers; its search list never applies, since names are looked
//!   up fully qualified).
//! - **No cache.** Verification must see a record published a minute ago, and
//!   a failed check must not be remembered: the resolver keeps no responses
//!   (cache size 0, and every TTL clamped to 0 besides). A verification is a
//!   rare, user-triggered lookup, so the cost is nil.
//! - **Time-limited.** `timeout` bounds a whole lookup: each request may take
//!   half of it and is tried at most twice (one retry), and the lookup is
//!   also cut off by [`tokio::time::timeout`] at `timeout`, whatever the
//!   resolver does (several system name servers, CNAME chains).
//! - **CNAMEs** are followed as the resolver does (up to its depth limit); the
//!   TXT records of the chain's end are returned, the CNAME records dropped.
//! - **Errors.** A name that does not exist (NXDOMAIN) or has no TXT record
//!   (NODATA, including a CNAME to nowhere) is [`DnsError::NotFound`]; so is
//!   a name that cannot be a DNS name at all (no record can be there).
//!   Anything else (timeout, refused or failed server, I/O) is
//!   [`DnsError::Unavailable`], so that a caller can tell "not published" from
//!   "could not ask".
//! - **Character-strings** of one record are joined without separator
//!   (RFC 7208 §3.3), bytes read as UTF-8 with replacement characters where
//!   they are not.
//!
//! The resolver spawns its connection tasks on the Tokio runtime of the
//! lookup that needs them: use a [`HickoryTxt`] within one runtime.

use admit_app::{DnsError, TxtLookup};
use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as ProtoDnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::{Resolver, TokioResolver};
use std::net::SocketAddr;
use std::time::Duration;

/// The budget of one lookup that Admit's entry points give [`HickoryTxt::new`]:
/// two tries of 2.5 s each. A verification is a person waiting on a page; a
/// DNS server slower than this is as good as unavailable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// TXT lookups through hickory-resolver; see the crate's documentation.
#[derive(Clone)]
pub struct HickoryTxt {
    resolver: TokioResolver,
    timeout: Duration,
}

impl std::fmt::Debug for HickoryTxt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryTxt")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HickoryTxt {
    /// A resolver asking `server` (UDP and TCP, nothing else), or the
    /// system's name servers when `None`; each lookup takes at most `timeout`.
    ///
    /// Fails, saying why, when the system configuration cannot be read or
    /// `timeout` is zero.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Self, String> {
        if timeout.is_zero() {
            return Err("the DNS timeout must be more than zero".into());
        }
        let mut builder = match server {
            Some(addr) => {
                let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                    .into_iter()
                    .map(|mut c| {
                        c.port = addr.port();
                        c
                    })
                    .collect();
                let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
                    addr.ip(),
                    true,
                    connections,
                )]);
                // Default options, not the system's: nothing is read from it.
                Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
        };
        let options = builder.options_mut();
        // Two tries of half the budget each fit within it.
        options.timeout = timeout / 2;
        options.attempts = 1;
        options.cache_size = 0;
        options.positive_max_ttl = Some(Duration::ZERO);
        options.negative_max_ttl = Some(Duration::ZERO);
        options.use_hosts_file = ResolveHosts::Never;
        let resolver = builder
            .build()
            .map_err(|e| format!("cannot build the DNS resolver: {e}"))?;
        Ok(HickoryTxt { resolver, timeout })
    }

    /// The budget of one lookup.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[async_trait]
impl TxtLookup for HickoryTxt {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        // Fully qualified (trailing dot): no search list, one query.
        let name = name.trim_end_matches('.');
        let fqdn = (!name.is_empty())
            .then(|| Name::from_ascii(format!("{name}.")).ok())
            .flatten();
        let Some(fqdn) = fqdn else {
            tracing::debug!(name, "not a DNS name: no TXT record can be there");
            return Err(DnsError::NotFound);
        };
        let lookup = match tokio::time::timeout(self.timeout, self.resolver.txt_lookup(fqdn)).await
        {
            Ok(Ok(lookup)) => lookup,
            Ok(Err(e)) => return Err(map_error(e)),
            Err(_) => {
                return Err(DnsError::Unavailable(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                )));
            }
        };
        let records: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(join(&txt.txt_data)),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Err(DnsError::NotFound);
        }
        Ok(records)
    }
}

/// One record's character-strings as one string.
fn join(strings: &[Box<[u8]>]) -> String {
    let bytes: Vec<u8> = strings.iter().flat_map(|s| s.iter().copied()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn map_error(e: NetError) -> DnsError {
    match &e {
        // NXDOMAIN, or NODATA: the name exists without a TXT record.
        NetError::Dns(ProtoDnsError::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NXDomain | ResponseCode::NoError,
            ..
        })) => DnsError::NotFound,
        _ => DnsError::Unavailable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_strings_are_joined_without_separator() {
        let parts: Vec<Box<[u8]>> = vec![
            b"admit-verification="[..].into(),
            b"abc"[..].into(),
            b""[..].into(),
        ];
        assert_eq!(join(&parts), "admit-verification=abc");
        assert_eq!(join(&[]), "");
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        let err = HickoryTxt::new(Some(([127, 0, 0, 1], 53).into()), Duration::ZERO).unwrap_err();
        assert!(err.contains("timeout"), "{err}");
    }

    #[test]
    fn errors_map_to_the_port() {
        let query = hickory_resolver::proto::op::Query::query(
            Name::from_ascii("x.test.").unwrap(),
            hickory_resolver::proto::rr::RecordType::TXT,
        );
        let no_records = |code| {
            NetError::from(ProtoDnsError::NoRecordsFound(NoRecords::new(
                query.clone(),
                code,
            )))
        };
        assert!(matches!(
            map_error(no_records(ResponseCode::NXDomain)),
            DnsError::NotFound
        ));
        assert!(matches!(
            map_error(no_records(ResponseCode::NoError)),
            DnsError::NotFound
        ));
        assert!(matches!(
            map_error(no_records(ResponseCode::ServFail)),
            DnsError::Unavailable(_)
        ));
        assert!(matches!(
            map_error(NetError::from(ProtoDnsError::ResponseCode(
                ResponseCode::Refused
            ))),
            DnsError::Unavailable(_)
        ));
        assert!(matches!(
            map_error(NetError::Timeout),
            DnsError::Unavailable(_)
        ));
    }
}
