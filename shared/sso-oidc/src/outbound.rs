//! Where the IdP client may connect, and whom it trusts.
//!
//! Three layers, each refusing before any connection is made:
//!
//! - every request the OIDC library makes ([`Guarded`]) has its URL checked
//!   by [`check_idp_url`]: https (http only to loopback under
//!   [`Reach::Local`]), no user name, no fragment, and no host that is an
//!   inside address literal (IP-literal hosts never reach a resolver);
//! - the endpoints a discovery document names are checked by the same rules
//!   before the document is used or cached ([`check_endpoints`]);
//! - host names are resolved by [`FilteringResolver`], which drops every
//!   address [`reachable`] refuses and fails when none is left, so a name
//!   that resolves (or re-resolves: DNS rebinding) inside is never connected
//!   to.
//!
//! The client follows no redirect and uses no proxy (a proxy would resolve
//! the names itself, around the filter). It trusts the platform's roots
//! (Mozilla's, built in, and the system store, or the `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` bundle when set, as OpenSSL reads them) plus the PEM
//! bundle of [`ClientOptions::ca_file`].

use admit_domain::sso_config::{Reach, check_idp_url, reachable};
use openidconnect::core::CoreProviderMetadata;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How the IdP client is built.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// [`Reach::Local`] only while Admit itself runs on loopback.
    pub reach: Reach,
    /// A PEM bundle trusted in addition to the platform's roots
    /// (`admit serve --ca-file`, `ADMIT_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

impl Default for ClientOptions {
    /// Public addresses only; the platform's roots only.
    fn default() -> Self {
        ClientOptions {
            reach: Reach::Public,
            ca_file: None,
        }
    }
}

/// Why the IdP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read the CA file {}: {source}", path.display())]
    ReadCaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA file {} holds no PEM certificate", .0.display())]
    NoCertificate(PathBuf),
    #[error("the CA file {}: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// A request or connection the outbound rules refused, before connecting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub(crate) String);

/// The certificates of the PEM bundle at `path`: at least one.
pub fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let pem = std::fs::read(path).map_err(|source| ClientError::ReadCaFile {
        path: path.to_owned(),
        source,
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
        ClientError::BadCertificate {
            path: path.to_owned(),
            source,
        }
    })?;
    if certs.is_empty() {
        return Err(ClientError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

/// The HTTP client for IdPs, resolving names through `resolver` filtered
/// by `options.reach`.
pub(crate) fn http_client(
    options: &ClientOptions,
    resolver: Arc<dyn Resolve>,
) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .dns_resolver(Arc::new(FilteringResolver {
            reach: options.reach,
            inner: resolver,
        }));
    if let Some(path) = &options.ca_file {
        for cert in read_ca_file(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(ClientError::Build)
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool).
pub(crate) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves through `inner`, keeps only the addresses `reach` allows, and
/// fails with a [`Refusal`] when none is left.
pub(crate) struct FilteringResolver {
    pub reach: Reach,
    pub inner: Arc<dyn Resolve>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        let host = name.as_str().to_owned();
        let lookup = self.inner.resolve(name);
        Box::pin(async move {
            let all: Vec<SocketAddr> = lookup.await?.collect();
            let (kept, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                all.into_iter().partition(|a| reachable(a.ip(), reach));
            if kept.is_empty() {
                let refused: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(Refusal(format!(
                    "{host} resolves to no address Admit may connect to for an IdP (only to [{}])",
                    refused.join(", ")
                ))) as _);
            }
            if !refused.is_empty() {
                tracing::warn!(%host, ?refused, "IdP host name resolves inside too: those addresses are skipped");
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client the OIDC library is given: each request's URL passes
/// [`check_request`] before `inner` sees it.
pub(crate) struct Guarded {
    pub inner: reqwest::Client,
    pub reach: Reach,
}

/// A request [`Guarded`] refused, or the one it made failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused before connecting")]
    Refused(#[source] Refusal),
    #[error("the request failed")]
    Http(#[source] openidconnect::HttpClientError<reqwest::Error>),
}

/// Whether `request` may be sent under `reach`: its URL by [`check_idp_url`].
pub(crate) fn check_request(request: &HttpRequest, reach: Reach) -> Result<(), Refusal> {
    check_idp_url("url", &request.uri().to_string(), reach)
        .map(drop)
        .map_err(|e| Refusal(format!("{} {}: {}", request.method(), request.uri(), e.why)))
}

impl<'c> AsyncHttpClient<'c> for Guarded {
    type Error = OutboundError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        if let Err(refusal) = check_request(&request, self.reach) {
            return Box::pin(std::future::ready(Err(OutboundError::Refused(refusal))));
        }
        let call = self.inner.call(request);
        Box::pin(async move { call.await.map_err(OutboundError::Http) })
    }
}

/// The endpoints a discovery document names (authorization, token, JWKS,
/// UserInfo), each by the rules of [`check_idp_url`].
pub(crate) fn check_endpoints(m: &CoreProviderMetadata, reach: Reach) -> Result<(), Refusal> {
    let mut endpoints: Vec<(&'static str, &str)> = vec![
        (
            "authorization_endpoint",
            m.authorization_endpoint().as_str(),
        ),
        ("jwks_uri", m.jwks_uri().as_str()),
    ];
    if let Some(token) = m.token_endpoint() {
        endpoints.push(("token_endpoint", token.as_str()));
    }
    if let Some(userinfo) = m.userinfo_endpoint() {
        endpoints.push(("userinfo_endpoint", userinfo.as_str()));
    }
    for (field, url) in endpoints {
        check_idp_url(field, url, reach)
            .map_err(|e| Refusal(format!("the discovery document's {field} {url}: {}", e.why)))?;
    }
    Ok(())
}

/// The first [`Refusal`] in `e`'s chain of sources.
pub(crate) fn refusal<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a Refusal> {
    let mut at = Some(e);
    while let Some(err) = at {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r);
        }
        at = err.source();
    }
    None
}

/// `e` and its sources, `: `-separated.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut at = e.source();
    while let Some(err) = at {
        out.push_str(": ");
        out.push_str(&err.to_string());
        at = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::str::FromStr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A resolver answering from a table: no lookup ever leaves the process.
    struct Table(HashMap<&'static str, Vec<&'static str>>);

    impl Resolve for Table {
        fn resolve(&self, name: Name) -> Resolving {
            let addrs: Vec<SocketAddr> = self
                .0
                .get(name.as_str())
                .into_iter()
                .flatten()
                .map(|ip| SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 0))
                .collect();
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        }
    }

    fn table() -> Arc<dyn Resolve> {
        Arc::new(Table(HashMap::from([
            (
                "rebind.test",
                vec!["10.0.0.1", "169.254.169.254", "fd00::1"],
            ),
            (
                "mapped.test",
                vec!["::ffff:10.0.0.1", "::ffff:169.254.169.254"],
            ),
            ("mixed.test", vec!["10.0.0.1", "127.0.0.1", "8.8.8.8"]),
            ("loop.test", vec!["127.0.0.1"]),
        ])))
    }

    async fn resolve(reach: Reach, name: &str) -> Result<Vec<IpAddr>, String> {
        let r = FilteringResolver {
            reach,
            inner: table(),
        };
        match r.resolve(Name::from_str(name).unwrap()).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => {
                assert!(e.downcast_ref::<Refusal>().is_some(), "{e}");
                Err(e.to_string())
            }
        }
    }

    #[tokio::test]
    async fn names_resolving_inside_are_filtered_and_all_inside_is_refused() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for reach in [Reach::Public, Reach::Local] {
            let e = resolve(reach, "rebind.test").await.unwrap_err();
            assert!(e.contains("rebind.test") && e.contains("10.0.0.1"), "{e}");
            assert!(resolve(reach, "mapped.test").await.is_err());
        }
        assert_eq!(
            resolve(Reach::Public, "mixed.test").await.unwrap(),
            [ip("8.8.8.8")]
        );
        assert_eq!(
            resolve(Reach::Local, "mixed.test").await.unwrap(),
            [ip("127.0.0.1"), ip("8.8.8.8")]
        );
        assert!(resolve(Reach::Public, "loop.test").await.is_err());
        assert_eq!(
            resolve(Reach::Local, "loop.test").await.unwrap(),
            [ip("127.0.0.1")]
        );
    }

    fn get(url: &str) -> HttpRequest {
        let mut request = HttpRequest::new(Vec::new());
        *request.uri_mut() = url.parse().unwrap();
        request
    }

    #[test]
    fn every_request_url_is_checked() {
        for reach in [Reach::Public, Reach::Local] {
            for bad in [
                "http://10.0.0.1/token",
                "https://169.254.169.254/latest/meta-data/",
                "https://[::ffff:10.0.0.1]/jwks",
                "http://localhost:80@169.254.169.254/",
                "https://[fe80::1]/userinfo",
                "https://100.64.0.1/token",
            ] {
                let e = check_request(&get(bad), reach).unwrap_err();
                assert!(e.0.contains("must not"), "{bad}: {e}");
            }
            assert!(check_request(&get("https://idp.example.com/token"), reach).is_ok());
        }
        assert!(check_request(&get("http://127.0.0.1:9000/token"), Reach::Public).is_err());
        assert!(check_request(&get("http://127.0.0.1:9000/token"), Reach::Local).is_ok());
    }

    fn metadata(token: &str, jwks: &str, userinfo: &str, auth: &str) -> CoreProviderMetadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "https://idp.example.com",
            "authorization_endpoint": auth,
            "token_endpoint": token,
            "userinfo_endpoint": userinfo,
            "jwks_uri": jwks,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .unwrap()
    }

    #[test]
    fn every_discovered_endpoint_is_checked() {
        let good = "https://idp.example.com/x";
        for reach in [Reach::Public, Reach::Local] {
            assert!(check_endpoints(&metadata(good, good, good, good), reach).is_ok());
            for (m, field) in [
                (
                    metadata("http://10.0.0.1/token", good, good, good),
                    "token_endpoint",
                ),
                (
                    metadata(good, "https://169.254.169.254/jwks", good, good),
                    "jwks_uri",
                ),
                (
                    metadata(good, good, "https://[fd00::1]/userinfo", good),
                    "userinfo_endpoint",
                ),
                (
                    metadata(good, good, good, "http://localhost:80@169.254.169.254/"),
                    "authorization_endpoint",
                ),
            ] {
                let e = check_endpoints(&m, reach).unwrap_err();
                assert!(e.0.contains(field), "{e}");
            }
        }
        let local = "http://127.0.0.1:9000/x";
        let m = metadata(local, local, local, local);
        assert!(check_endpoints(&m, Reach::Local).is_ok());
        assert!(check_endpoints(&m, Reach::Public).is_err());
    }

    /// A loopback listener answering `200 ok` to each connection; counts them.
    async fn listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        (port, seen)
    }

    /// DNS rebinding to loopback while Admit is deployed: the resolver's
    /// refusal fails the request, before any connection, and is found in the
    /// error's chain. (Loopback, so that even a broken filter would reach
    /// nothing but this test's listener.)
    #[tokio::test]
    async fn the_client_connects_only_to_what_the_resolver_kept() {
        let (port, seen) = listener().await;
        let url = format!("http://loop.test:{port}/");

        let public = http_client(&ClientOptions::default(), table()).unwrap();
        let err = public.get(&url).send().await.unwrap_err();
        let found = refusal(&err).map(|r| r.0.clone());
        assert!(
            found.as_deref().is_some_and(|r| r.contains("loop.test")),
            "{}",
            chain(&err)
        );
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);

        let local = ClientOptions {
            reach: Reach::Local,
            ca_file: None,
        };
        let local = http_client(&local, table()).unwrap();
        let body = local.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "ok");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// An IP-literal URL skips the resolver: the request guard refuses it.
    #[tokio::test]
    async fn the_request_guard_refuses_before_the_client_sees_the_request() {
        let (port, seen) = listener().await;
        let guarded = Guarded {
            inner: http_client(&ClientOptions::default(), table()).unwrap(),
            reach: Reach::Public,
        };
        let err = guarded
            .call(get(&format!("http://127.0.0.1:{port}/token")))
            .await
            .unwrap_err();
        assert!(matches!(err, OutboundError::Refused(_)), "{err:?}");
        assert!(refusal(&err).is_some());
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("admit-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        assert!(matches!(
            read_ca_file(&missing),
            Err(ClientError::ReadCaFile { .. })
        ));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(matches!(
            read_ca_file(&empty),
            Err(ClientError::NoCertificate(_))
        ));
        let options = ClientOptions {
            reach: Reach::Public,
            ca_file: Some(empty),
        };
        let e = http_client(&options, table()).unwrap_err().to_string();
        assert!(e.contains("empty.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
