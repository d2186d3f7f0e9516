//! `HickoryTxt` against a real DNS server (dnsmasq, `admit_tests::dns`).

use admit_app::{DnsError, TxtLookup};
use admit_dns::HickoryTxt;
use admit_tests::dns::{DnsServer, Zone};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(2);

fn resolver(server: SocketAddr) -> HickoryTxt {
    HickoryTxt::new(Some(server), TIMEOUT).expect("a resolver")
}

#[tokio::test]
async fn finds_the_record_among_several_at_the_name() {
    let dns = DnsServer::start(&[
        ("_admit-challenge.example.test", "v=spf1 -all"),
        ("_admit-challenge.example.test", "admit-verification=k3y"),
        (
            "_admit-challenge.example.test",
            "google-site-verification=x",
        ),
        ("_admit-challenge.other.test", "admit-verification=not-this"),
    ]);
    let mut records = resolver(dns.addr())
        .txt("_admit-challenge.example.test")
        .await
        .unwrap_or_else(|e| panic!("{e}; dnsmasq:\n{}", dns.stderr()));
    records.sort();
    assert_eq!(
        records,
        [
            "admit-verification=k3y",
            "google-site-verification=x",
            "v=spf1 -all"
        ]
    );
}

#[tokio::test]
async fn joins_the_character_strings_of_a_long_record() {
    let long = format!("admit-verification={}", "a1b2".repeat(100)); // 419 bytes
    // dnsmasq splits a string over 255 bytes, and commas separate strings.
    let dns = DnsServer::start(&[
        ("_admit-challenge.long.test", &long),
        ("_admit-challenge.long.test", "v=spf1 ,include:x.test ,-all"),
    ]);
    let mut records = resolver(dns.addr())
        .txt("_admit-challenge.long.test")
        .await
        .unwrap_or_else(|e| panic!("{e}; dnsmasq:\n{}", dns.stderr()));
    records.sort();
    assert_eq!(records, [long, "v=spf1 include:x.test -all".to_string()]);
}

#[tokio::test]
async fn follows_a_cname_chain() {
    let dns = DnsServer::start_with(
        &[("verify.provider.test", "admit-verification=via-cname")],
        &[
            ("_admit-challenge.example.test", "hop.example.test"),
            ("hop.example.test", "verify.provider.test"),
        ],
    );
    let records = resolver(dns.addr())
        .txt("_admit-challenge.example.test")
        .await
        .unwrap_or_else(|e| panic!("{e}; dnsmasq:\n{}", dns.stderr()));
    assert_eq!(records, ["admit-verification=via-cname"]);
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_not_found() {
    let dns = DnsServer::start(&[("_admit-challenge.example.test", "admit-verification=k")]);
    let lookup = resolver(dns.addr());
    let got = lookup.txt("_admit-challenge.elsewhere.test").await;
    assert!(matches!(got, Err(DnsError::NotFound)), "{got:?}");
    let got = lookup.txt("_admit-challenge.example.test.").await;
    assert!(got.is_ok(), "a trailing dot is accepted: {got:?}");
    let got = lookup.txt("not a dns name..").await;
    assert!(matches!(got, Err(DnsError::NotFound)), "{got:?}");
}

#[tokio::test]
async fn a_name_without_txt_records_is_not_found() {
    let dns = DnsServer::start_zone(
        Zone::new()
            .with_a("_admit-challenge.a-only.test", Ipv4Addr::new(192, 0, 2, 1))
            .with_cname("_admit-challenge.dangling.test", "nowhere.test")
            .with_a("host.test", Ipv4Addr::new(192, 0, 2, 2))
            .with_cname("_admit-challenge.to-host.test", "host.test"),
    );
    let lookup = resolver(dns.addr());
    for name in [
        "_admit-challenge.a-only.test",
        "_admit-challenge.dangling.test",
        "_admit-challenge.to-host.test",
    ] {
        let got = lookup.txt(name).await;
        assert!(
            matches!(got, Err(DnsError::NotFound)),
            "{name}: {got:?}; dnsmasq:\n{}",
            dns.stderr()
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeout() {
    // Bound but never read: UDP queries go unanswered, TCP connections are
    // accepted by the kernel and never answered.
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = udp.local_addr().unwrap();
    let _tcp = TcpListener::bind(addr).ok();
    let timeout = Duration::from_millis(800);
    let lookup = HickoryTxt::new(Some(addr), timeout).unwrap();
    let started = Instant::now();
    let got = lookup.txt("_admit-challenge.example.test").await;
    let elapsed = started.elapsed();
    assert!(matches!(got, Err(DnsError::Unavailable(_))), "{got:?}");
    assert!(
        elapsed < timeout + Duration::from_millis(500),
        "took {elapsed:?} with a timeout of {timeout:?}"
    );
    drop(udp);
}

#[tokio::test]
async fn a_server_that_refuses_is_unavailable() {
    // Nothing listens there: UDP gets "port unreachable", TCP "refused".
    let port = {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        udp.local_addr().unwrap().port()
    };
    let lookup = resolver(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let started = Instant::now();
    let got = lookup.txt("_admit-challenge.example.test").await;
    assert!(matches!(got, Err(DnsError::Unavailable(_))), "{got:?}");
    assert!(started.elapsed() < TIMEOUT + Duration::from_millis(500));
}

#[tokio::test]
async fn changed_records_are_seen_on_the_next_lookup() {
    let name = "_admit-challenge.example.test";
    // dnsmasq gives its records a TTL of an hour: a cache would keep them.
    let mut dns = DnsServer::start(&[("other.example.test", "x")]);
    let lookup = resolver(dns.addr());

    let got = lookup.txt(name).await;
    assert!(matches!(got, Err(DnsError::NotFound)), "{got:?}");

    dns.set_records(&[(name, "admit-verification=first")]);
    assert_eq!(
        lookup.txt(name).await.unwrap(),
        ["admit-verification=first"]
    );

    dns.set_records(&[(name, "admit-verification=second")]);
    assert_eq!(
        lookup.txt(name).await.unwrap(),
        ["admit-verification=second"]
    );

    dns.set_records(&[]);
    let got = lookup.txt(name).await;
    assert!(matches!(got, Err(DnsError::NotFound)), "{got:?}");
}

#[tokio::test]
async fn the_system_resolver_can_be_built() {
    // Only building: what the system's name servers answer is not the test's.
    let lookup = HickoryTxt::new(None, TIMEOUT);
    if std::path::Path::new("/etc/resolv.conf").exists() {
        assert!(lookup.is_ok(), "{:?}", lookup.err());
    }
}
