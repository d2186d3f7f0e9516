//! An organization's SSO configuration.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the organization's IdP is reached.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum SsoConfig {
    Oidc(OidcConfig),
    Saml(SamlConfig),
}

impl SsoConfig {
    /// The IdP's own name, which qualifies the identities it issues
    /// ([`crate::ExternalId::at_idp`]): the OIDC issuer, the SAML entity id.
    pub fn idp(&self) -> &str {
        match self {
            SsoConfig::Oidc(c) => &c.issuer,
            SsoConfig::Saml(c) => &c.idp_entity_id,
        }
    }
}

/// The JWS algorithms an ID token may be signed with: asymmetric only, so
/// neither `none` nor an HMAC keyed with the client secret can pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    #[default]
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConfig {
    /// The issuer identifier; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Never returned by the API, never logged; stored sealed ([`ClientSecret`]).
    pub client_secret: ClientSecret,
    /// Requested scopes; always includes `openid`.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
    /// The claim carrying the member's groups (`groups` at Okta, Entra ID
    /// and Keycloak), read from the ID token, else from UserInfo; `None`:
    /// groups are not read at sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
}

/// A secret Admit must read back (an OIDC client secret; later a SAML SP
/// private key), sealed by envelope encryption: a fresh data key encrypted
/// it with associated data naming where it belongs (organization and field),
/// and the master key `key_id` names wrapped that data key. Which cipher and
/// which master key are the sealing adapter's (`admit_app::SecretBox`); here
/// it is opaque bytes, stored as base64 strings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// The master key that wrapped the data key (a KMS key ARN, or `local:`
    /// and the fingerprint of a key file).
    pub key_id: String,
    /// The data key, encrypted under the master key.
    #[serde(with = "base64_bytes")]
    pub wrapped_data_key: Vec<u8>,
    #[serde(with = "base64_bytes")]
    pub nonce: Vec<u8>,
    /// The secret, encrypted and authenticated under the data key.
    #[serde(with = "base64_bytes")]
    pub ciphertext: Vec<u8>,
}

/// Terse: which key, and how long; never the bytes.
impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedSecret({}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// The OIDC client secret of an [`OidcConfig`].
///
/// Stored, it is [`ClientSecret::Sealed`]. [`ClientSecret::Clear`] is the
/// secret in clear: as the administrator sent it, until the settings write
/// seals it; as an organization stored before secrets were sealed reads
/// (a bare string: `untagged`), until its next settings write seals it; and
/// as opened for the one token request that needs it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClientSecret {
    Sealed(SealedSecret),
    Clear(String),
}

impl ClientSecret {
    /// The name of the field, in the context a sealed client secret is bound to.
    pub const FIELD: &str = "oidc.client_secret";

    /// 1 to 1024 characters, none a control character.
    pub fn check(raw: &str) -> Result<(), ParseError> {
        if raw.is_empty() || raw.len() > 1024 || raw.chars().any(char::is_control) {
            return Err(ParseError::new(
                "client_secret",
                "must be 1 to 1024 characters",
            ));
        }
        Ok(())
    }

    /// The secret in clear, where it is.
    pub fn clear(&self) -> Option<&str> {
        match self {
            ClientSecret::Clear(s) => Some(s),
            ClientSecret::Sealed(_) => None,
        }
    }
}

impl From<&str> for ClientSecret {
    fn from(s: &str) -> Self {
        ClientSecret::Clear(s.to_owned())
    }
}

impl From<SealedSecret> for ClientSecret {
    fn from(s: SealedSecret) -> Self {
        ClientSecret::Sealed(s)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientSecret::Sealed(s) => s.fmt(f),
            ClientSecret::Clear(_) => f.write_str("Clear(..)"),
        }
    }
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"..")
            .field("scopes", &self.scopes)
            .field("signing_algorithm", &self.signing_algorithm)
            .field("groups_claim", &self.groups_claim)
            .finish()
    }
}

impl fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsoConfig::Oidc(c) => c.fmt(f),
            SsoConfig::Saml(c) => c.fmt(f),
        }
    }
}

/// A SAML 2.0 identity provider. Responses verify against
/// `idp_certificate_pem` only: a certificate a response carries is never trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlConfig {
    /// The IdP's entity id: the `Issuer` of its responses and assertions.
    pub idp_entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// The IdP's signing certificate, PEM, normalized to one certificate.
    pub idp_certificate_pem: String,
    /// The attribute carrying the email; `None` tries [`SamlConfig::DEFAULT_EMAIL_ATTRIBUTES`],
    /// then an email-format NameID.
    pub email_attribute: Option<String>,
    /// The attribute carrying the display name; `None` tries [`SamlConfig::DEFAULT_NAME_ATTRIBUTES`].
    pub name_attribute: Option<String>,
    /// Accept unsolicited (IdP-initiated) responses.
    #[serde(default)]
    pub allow_idp_initiated: bool,
    /// Accept RSA-SHA1 signatures and SHA-1 digests (legacy IdPs only).
    #[serde(default)]
    pub allow_sha1: bool,
    /// The attribute whose values are the member's groups (Entra ID:
    /// `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`;
    /// Okta and Google: the name given in their group attribute statement);
    /// `None`: groups are not read at sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_attribute: Option<String>,
}

impl SamlConfig {
    /// What the common IdPs call the email (Entra ID, ADFS, Okta, Google, Shibboleth).
    pub const DEFAULT_EMAIL_ATTRIBUTES: &[&str] = &[
        "email",
        "mail",
        "emailaddress",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
    ];
    pub const DEFAULT_NAME_ATTRIBUTES: &[&str] = &[
        "name",
        "displayName",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "cn",
    ];

    pub fn new(
        idp_entity_id: &str,
        idp_sso_url: &str,
        idp_certificate_pem: &str,
        email_attribute: Option<&str>,
        name_attribute: Option<&str>,
    ) -> Result<Self, ParseError> {
        let idp_entity_id = idp_entity_id.trim();
        if idp_entity_id.is_empty()
            || idp_entity_id.len() > 1024
            || idp_entity_id
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(ParseError::new(
                "idp_entity_id",
                "must be 1 to 1024 characters without spaces",
            ));
        }
        let attribute = attribute_name;
        Ok(SamlConfig {
            idp_entity_id: idp_entity_id.to_owned(),
            idp_sso_url: parse_sso_url(idp_sso_url)?,
            idp_certificate_pem: normalize_certificate_pem(idp_certificate_pem)?,
            email_attribute: attribute("email_attribute", email_attribute)?,
            name_attribute: attribute("name_attribute", name_attribute)?,
            allow_idp_initiated: false,
            allow_sha1: false,
            groups_attribute: None,
        })
    }

    /// The DER bytes of the certificate.
    pub fn certificate_der(&self) -> Vec<u8> {
        pem_body(&self.idp_certificate_pem).unwrap_or_default()
    }
}

/// The name of a SAML attribute or an OIDC claim an administrator names:
/// trimmed, at most 256 bytes, no control character; empty is `None`.
pub fn attribute_name(what: &'static str, raw: Option<&str>) -> Result<Option<String>, ParseError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(a) if a.len() <= 256 && !a.chars().any(char::is_control) => Ok(Some(a.to_owned())),
        Some(_) => Err(ParseError::new(
            what,
            "must be at most 256 characters, none a control character",
        )),
    }
}

/// The claims OpenID Connect defines (ID token and standard claims): none
/// of them can carry groups, and the OIDC adapter reads them as what they are.
pub const STANDARD_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// An OIDC groups claim ([`OidcConfig::groups_claim`]): an
/// [`attribute_name`] that is none of the [`STANDARD_CLAIMS`].
pub fn groups_claim(raw: Option<&str>) -> Result<Option<String>, ParseError> {
    let name = attribute_name("groups_claim", raw)?;
    if name
        .as_deref()
        .is_some_and(|n| STANDARD_CLAIMS.contains(&n))
    {
        return Err(ParseError::new(
            "groups_claim",
            "is a standard OpenID Connect claim, which carries no groups",
        ));
    }
    Ok(name)
}

/// An IdP's SSO URL may carry a query (some IdPs route by it), never a fragment.
fn parse_sso_url(raw: &str) -> Result<String, ParseError> {
    check_idp_url("idp_sso_url", raw, Reach::Local)?;
    let (base, query) = match raw.trim().split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (raw.trim(), None),
    };
    let base = parse_endpoint_url("idp_sso_url", base)?;
    match query {
        Some(q) if q.contains('#') || q.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(ParseError::new("idp_sso_url", "must not have a fragment"))
        }
        Some(q) if !q.is_empty() => Ok(format!("{base}?{q}")),
        _ => Ok(base),
    }
}

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

fn pem_body(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let inner = pem.trim().strip_prefix(PEM_BEGIN)?.strip_suffix(PEM_END)?;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// One PEM certificate (or its bare base64, as metadata carries it), as
/// canonical PEM. Whether it is a usable X.509 certificate is the SAML
/// adapter's to check; here it must at least be one DER SEQUENCE.
pub fn normalize_certificate_pem(raw: &str) -> Result<String, ParseError> {
    use base64::Engine as _;
    let raw = raw.trim();
    let bad = || ParseError::new("idp_certificate_pem", "must be one PEM X.509 certificate");
    if raw.len() > 16 * 1024 || raw.matches(PEM_BEGIN).count() > 1 {
        return Err(bad());
    }
    let der = if raw.starts_with(PEM_BEGIN) {
        pem_body(raw).ok_or_else(bad)?
    } else {
        let b64: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| bad())?
    };
    // A DER certificate is a SEQUENCE with a long-form length.
    if der.len() < 64 || der[0] != 0x30 {
        return Err(bad());
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    Ok(format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n")))
}

/// An IdP endpoint without query or fragment, as [`check_idp_url`] allows it
/// with [`Reach::Local`] (whether Admit runs on loopback is the caller's to
/// check); a trailing `/` is dropped.
pub fn parse_endpoint_url(what: &'static str, raw: &str) -> Result<String, ParseError> {
    let url = raw.trim().trim_end_matches('/');
    check_idp_url(what, url, Reach::Local)?;
    if url.contains(['?', '#']) {
        return Err(ParseError::new(
            what,
            "must be a URL with a host and without query or fragment",
        ));
    }
    Ok(url.to_owned())
}

/// Which addresses Admit may send requests to for an organization's IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Public addresses only, over https: a deployed Admit.
    Public,
    /// Loopback too, and plain `http` there: Admit itself runs on loopback
    /// (local development, tests).
    Local,
}

impl Reach {
    /// [`Reach::Local`] when Admit itself runs on loopback.
    pub fn when_local(is_local: bool) -> Reach {
        if is_local {
            Reach::Local
        } else {
            Reach::Public
        }
    }
}

/// An IdP URL (OIDC issuer and the endpoints its discovery names, SAML SSO
/// URL, key connector) that cannot reach inside: parsed as a browser and
/// the HTTP client parse it (the `url` crate, WHATWG rules), it must be
/// `https` (`http` only to loopback with [`Reach::Local`]), carry no user
/// name, password or fragment, and its host must not be an address of
/// [`refused_address`] nor a name of loopback (`localhost`, `*.localhost`),
/// except loopback with [`Reach::Local`]. A query is the caller's to allow.
///
/// Names are not resolved here: the HTTP client's resolver refuses the same
/// addresses when it connects.
pub fn check_idp_url(what: &'static str, raw: &str, reach: Reach) -> Result<url::Url, ParseError> {
    let raw = raw.trim();
    // The parser drops tabs and newlines silently: refuse them before.
    if raw.is_empty()
        || raw.len() > 2048
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ParseError::new(
            what,
            "must be a URL (at most 2048 characters, no spaces)",
        ));
    }
    let url = url::Url::parse(raw).map_err(|_| ParseError::new(what, "must be a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(ParseError::new(what, "must be an https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ParseError::new(
            what,
            "must not carry a user name or password",
        ));
    }
    if url.fragment().is_some() {
        return Err(ParseError::new(what, "must not have a fragment"));
    }
    let loopback = match url.host() {
        None => return Err(ParseError::new(what, "must be a URL with a host")),
        Some(url::Host::Domain(name)) => is_loopback_name(name),
        Some(url::Host::Ipv4(ip)) => is_refused(what, ip.into(), reach)?,
        Some(url::Host::Ipv6(ip)) => is_refused(what, ip.into(), reach)?,
    };
    if loopback && reach == Reach::Public {
        return Err(ParseError::new(what, "must not be a loopback address"));
    }
    if url.scheme() == "http" && !(loopback && reach == Reach::Local) {
        return Err(ParseError::new(
            what,
            "must be https (http only on loopback, while Admit itself runs there)",
        ));
    }
    Ok(url)
}

/// Whether `ip` is loopback; an error when it is another refused address.
fn is_refused(what: &'static str, ip: IpAddr, reach: Reach) -> Result<bool, ParseError> {
    match refused_address(ip) {
        None => Ok(false),
        Some(Refused::Loopback) if reach == Reach::Local => Ok(true),
        Some(class) => Err(ParseError::new(what, class.why())),
    }
}

/// `localhost` and the names under it (RFC 6761), which resolve to loopback.
fn is_loopback_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Why an address is not one Admit connects to for an IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Loopback,
    /// RFC 1918, and IPv6 unique local (fc00::/7) and site-local (fec0::/10).
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT (100.64/10).
    Shared,
    Multicast,
    Unspecified,
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// Every other special-purpose block: "this network" (0/8), IETF
    /// protocol assignments (192.0.0/24), benchmarking, 240/4, the
    /// deprecated IPv4-compatible IPv6 block, discard-only (100::/64),
    /// Teredo, local-use NAT64.
    Reserved,
}

impl Refused {
    pub fn why(self) -> &'static str {
        match self {
            Refused::Loopback => "must not be a loopback address",
            Refused::Private => "must not be a private address",
            Refused::LinkLocal => "must not be a link-local address",
            Refused::Shared => "must not be a shared (carrier-grade NAT) address",
            Refused::Multicast => "must not be a multicast address",
            Refused::Unspecified => "must not be the unspecified address",
            Refused::Broadcast => "must not be the broadcast address",
            Refused::Documentation => "must not be a documentation address",
            Refused::Reserved => "must not be a reserved address",
        }
    }
}

use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(a: u16, b: u16, c: u16, d: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0), len)
}

/// IPv4 blocks, most specific first (255.255.255.255 is also in 240/4).
const REFUSED_V4: &[(Ipv4Net, Refused)] = &[
    (v4(0, 0, 0, 0, 32), Refused::Unspecified),
    (v4(255, 255, 255, 255, 32), Refused::Broadcast),
    (v4(0, 0, 0, 0, 8), Refused::Reserved),
    (v4(10, 0, 0, 0, 8), Refused::Private),
    (v4(100, 64, 0, 0, 10), Refused::Shared),
    (v4(127, 0, 0, 0, 8), Refused::Loopback),
    (v4(169, 254, 0, 0, 16), Refused::LinkLocal),
    (v4(172, 16, 0, 0, 12), Refused::Private),
    (v4(192, 0, 0, 0, 24), Refused::Reserved),
    (v4(192, 0, 2, 0, 24), Refused::Documentation),
    (v4(192, 168, 0, 0, 16), Refused::Private),
    (v4(198, 18, 0, 0, 15), Refused::Reserved),
    (v4(198, 51, 100, 0, 24), Refused::Documentation),
    (v4(203, 0, 113, 0, 24), Refused::Documentation),
    (v4(224, 0, 0, 0, 4), Refused::Multicast),
    (v4(240, 0, 0, 0, 4), Refused::Reserved),
];

/// IPv6 blocks, most specific first. The blocks that embed an IPv4 address
/// (mapped, NAT64, 6to4) are judged by that address instead.
const REFUSED_V6: &[(Ipv6Net, Refused)] = &[
    (v6(0, 0, 0, 0, 128), Refused::Unspecified),
    (
        Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1), 128),
        Refused::Loopback,
    ),
    (v6(0, 0, 0, 0, 96), Refused::Reserved),
    (v6(0x64, 0xff9b, 1, 0, 48), Refused::Reserved),
    (v6(0x100, 0, 0, 0, 64), Refused::Reserved),
    (v6(0x2001, 0, 0, 0, 32), Refused::Reserved),
    (v6(0x2001, 2, 0, 0, 48), Refused::Reserved),
    (v6(0x2001, 0xdb8, 0, 0, 32), Refused::Documentation),
    (v6(0x3fff, 0, 0, 0, 20), Refused::Documentation),
    (v6(0xfc00, 0, 0, 0, 7), Refused::Private),
    (v6(0xfe80, 0, 0, 0, 10), Refused::LinkLocal),
    (v6(0xfec0, 0, 0, 0, 10), Refused::Private),
    (v6(0xff00, 0, 0, 0, 8), Refused::Multicast),
];

/// Why Admit does not connect to `ip` for an IdP, or `None` for a public
/// (globally routable unicast) address. Loopback is refused here too: that
/// [`Reach::Local`] allows it is the caller's to apply.
pub fn refused_address(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => REFUSED_V4
            .iter()
            .find(|(net, _)| net.contains(&v4))
            .map(|(_, why)| *why),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return refused_address(IpAddr::V4(v4));
            }
            REFUSED_V6
                .iter()
                .find(|(net, _)| net.contains(&v6))
                .map(|(_, why)| *why)
        }
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped
/// (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`), 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Whether Admit may connect to `ip` for an IdP under `reach`: the filter
/// of the IdP client's resolver.
pub fn reachable(ip: IpAddr, reach: Reach) -> bool {
    match refused_address(ip) {
        None => true,
        Some(Refused::Loopback) => reach == Reach::Local,
        Some(_) => false,
    }
}

impl OidcConfig {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: impl Into<ClientSecret>,
        scopes: Option<Vec<String>>,
        signing_algorithm: SigningAlgorithm,
    ) -> Result<Self, ParseError> {
        let issuer = parse_endpoint_url("issuer", issuer)?;
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 || client_id.chars().any(char::is_control)
        {
            return Err(ParseError::new("client_id", "must be 1 to 255 characters"));
        }
        let client_secret = client_secret.into();
        if let Some(clear) = client_secret.clear() {
            ClientSecret::check(clear)?;
        }
        let mut all = vec!["openid".to_owned()];
        for s in scopes.unwrap_or_else(|| vec!["email".into(), "profile".into()]) {
            if s.is_empty()
                || s.len() > 100
                || !s
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
            {
                return Err(ParseError::new(
                    "scopes",
                    "each scope must be 1 to 100 printable characters",
                ));
            }
            if !all.contains(&s) {
                all.push(s);
            }
        }
        if all.len() > 20 {
            return Err(ParseError::new("scopes", "at most 20 scopes"));
        }
        Ok(Self {
            issuer,
            client_id: client_id.to_owned(),
            client_secret,
            scopes: all,
            signing_algorithm,
            groups_claim: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(issuer: &str) -> Result<OidcConfig, ParseError> {
        OidcConfig::new(issuer, "admit", "s3cret", None, SigningAlgorithm::default())
    }

    #[test]
    fn issuers_must_be_https_or_loopback() {
        assert_eq!(
            cfg("https://idp.example.com/").unwrap().issuer,
            "https://idp.example.com"
        );
        assert!(cfg("http://127.0.0.1:9000").is_ok());
        assert!(cfg("http://localhost/realms/acme").is_ok());
        for bad in [
            "http://idp.example.com",
            "ftp://x",
            "idp.example.com",
            "https://",
            "https://idp.example.com/?a=b",
            "https://idp.example.com/#x",
            "https://a b",
        ] {
            assert!(cfg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_always_include_openid() {
        let c = OidcConfig::new(
            "https://idp.test",
            "c",
            "s",
            Some(vec!["email".into(), "openid".into()]),
            SigningAlgorithm::RS256,
        )
        .unwrap();
        assert_eq!(c.scopes, vec!["openid", "email"]);
        assert_eq!(
            cfg("https://idp.test").unwrap().scopes,
            vec!["openid", "email", "profile"]
        );
        assert!(
            OidcConfig::new(
                "https://idp.test",
                "c",
                "s",
                Some(vec!["a b".into()]),
                SigningAlgorithm::RS256
            )
            .is_err()
        );
        assert!(
            OidcConfig::new("https://idp.test", "", "s", None, SigningAlgorithm::RS256).is_err()
        );
        assert!(
            OidcConfig::new("https://idp.test", "c", "", None, SigningAlgorithm::RS256).is_err()
        );
    }

    #[test]
    fn debug_hides_the_client_secret() {
        let c = SsoConfig::Oidc(cfg("https://idp.test").unwrap());
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn client_secrets_read_sealed_and_as_stored_before_sealing() {
        let sealed = SealedSecret {
            key_id: "local:0123".into(),
            wrapped_data_key: vec![1, 2, 3],
            nonce: vec![4; 12],
            ciphertext: b"not-the-secret".to_vec(),
        };
        let mut c = cfg("https://idp.test").unwrap();
        c.client_secret = sealed.clone().into();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["client_secret"]["key_id"], "local:0123");
        assert_eq!(json["client_secret"]["wrapped_data_key"], "AQID");
        assert_eq!(serde_json::from_value::<OidcConfig>(json).unwrap(), c);
        let debug = format!("{c:?} {sealed:?}");
        assert!(!debug.contains("not-the-secret") && debug.contains("local:0123"));

        // An organization stored before secrets were sealed: a bare string.
        let legacy = r#"{"issuer":"https://idp.test","client_id":"admit","client_secret":"s3cret","scopes":["openid"]}"#;
        let old: OidcConfig = serde_json::from_str(legacy).unwrap();
        assert_eq!(old.client_secret.clear(), Some("s3cret"));
        assert!(!format!("{:?}", old.client_secret).contains("s3cret"));
        assert!(ClientSecret::check(&"x".repeat(1025)).is_err());
        assert!(ClientSecret::check("tab\t").is_err());
    }

    const CERT_B64: &str = "MIIBszCCAVmgAwIBAgIUYWRtaXQtdGVzdC1jZXJ0aWZpY2F0ZTAKBggqhkjOPQQDAjAVMRMwEQYDVQQDDAphZG1pdC10ZXN0MB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowFTETMBEGA1UEAwwKYWRtaXQtdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA==";

    fn saml(entity: &str, sso: &str, cert: &str) -> Result<SamlConfig, ParseError> {
        SamlConfig::new(entity, sso, cert, None, Some(" displayName "))
    }

    #[test]
    fn saml_certificates_are_normalized_to_one_pem() {
        let pem = format!("-----BEGIN CERTIFICATE-----\n{CERT_B64}\n-----END CERTIFICATE-----");
        let from_pem = saml("https://idp.test", "https://idp.test/sso", &pem).unwrap();
        let from_bare = saml("https://idp.test", "https://idp.test/sso", CERT_B64).unwrap();
        assert_eq!(from_pem.idp_certificate_pem, from_bare.idp_certificate_pem);
        assert!(
            from_pem
                .idp_certificate_pem
                .starts_with("-----BEGIN CERTIFICATE-----\n")
        );
        assert!(from_pem.idp_certificate_pem.lines().all(|l| l.len() <= 64));
        assert_eq!(from_pem.certificate_der()[0], 0x30);
        assert_eq!(from_pem.name_attribute.as_deref(), Some("displayName"));
        assert_eq!(from_pem.email_attribute, None);
        assert!(!from_pem.allow_idp_initiated && !from_pem.allow_sha1);
        for bad in ["", "not base64 at all!", "QUJD", &format!("{pem}\n{pem}")] {
            let e = saml("https://idp.test", "https://idp.test/sso", bad).unwrap_err();
            assert_eq!(e.what, "idp_certificate_pem", "{bad:.20}");
        }
    }

    #[test]
    fn saml_entity_ids_and_sso_urls_are_checked() {
        let ok = |e: &str, u: &str| saml(e, u, CERT_B64);
        assert_eq!(
            ok("urn:idp", "https://idp.test/sso?tenant=a")
                .unwrap()
                .idp_sso_url,
            "https://idp.test/sso?tenant=a"
        );
        assert!(ok("http://127.0.0.1:9/metadata", "http://127.0.0.1:9/sso").is_ok());
        for (e, u, field) in [
            ("", "https://idp.test/sso", "idp_entity_id"),
            ("has space", "https://idp.test/sso", "idp_entity_id"),
            ("urn:idp", "http://idp.test/sso", "idp_sso_url"),
            ("urn:idp", "https://idp.test/sso#x", "idp_sso_url"),
            ("urn:idp", "https://idp.test/sso?a=b#x", "idp_sso_url"),
        ] {
            assert_eq!(ok(e, u).unwrap_err().what, field, "{e} {u}");
        }
    }

    #[test]
    fn no_symmetric_or_unsigned_algorithm_exists() {
        for bad in ["\"none\"", "\"HS256\""] {
            assert!(serde_json::from_str::<SigningAlgorithm>(bad).is_err());
        }
    }

    fn why(raw: &str, reach: Reach) -> &'static str {
        match check_idp_url("issuer", raw, reach) {
            Ok(url) => panic!("SECURITY: {raw} accepted ({url}) with {reach:?}"),
            Err(e) => {
                assert_eq!(e.what, "issuer", "{raw}");
                e.why
            }
        }
    }

    #[test]
    fn userinfo_cannot_smuggle_a_host_past_the_check() {
        // The text before the first `:` or `/` is not the host: the URL parser decides.
        for (raw, reason) in [
            ("http://localhost:80@169.254.169.254", "user name"),
            ("http://127.0.0.1:1@10.0.0.1", "user name"),
            ("https://idp.example.com@10.0.0.1/", "user name"),
            ("https://user:pw@idp.example.com/", "user name"),
            ("https://:pw@idp.example.com/", "user name"),
        ] {
            for reach in [Reach::Public, Reach::Local] {
                assert!(why(raw, reach).contains(reason), "{raw} {reach:?}");
            }
        }
        assert!(cfg("http://localhost:80@169.254.169.254").is_err());
        assert!(cfg("http://127.0.0.1:1@10.0.0.1").is_err());
    }

    #[test]
    fn every_inside_address_is_refused_as_a_literal() {
        for (raw, class) in [
            ("https://169.254.169.254", Refused::LinkLocal),
            (
                "https://169.254.169.254/latest/meta-data",
                Refused::LinkLocal,
            ),
            ("https://10.0.0.1", Refused::Private),
            ("https://10.255.255.255", Refused::Private),
            ("https://172.16.0.1", Refused::Private),
            ("https://172.31.255.254", Refused::Private),
            ("https://192.168.1.1:8443", Refused::Private),
            ("https://100.64.0.1", Refused::Shared),
            ("https://100.127.255.254", Refused::Shared),
            ("https://224.0.0.1", Refused::Multicast),
            ("https://239.255.255.250", Refused::Multicast),
            ("https://0.0.0.0", Refused::Unspecified),
            ("https://0.1.2.3", Refused::Reserved),
            ("https://255.255.255.255", Refused::Broadcast),
            ("https://240.0.0.1", Refused::Reserved),
            ("https://192.0.0.8", Refused::Reserved),
            ("https://198.18.0.1", Refused::Reserved),
            ("https://192.0.2.1", Refused::Documentation),
            ("https://198.51.100.7", Refused::Documentation),
            ("https://203.0.113.9", Refused::Documentation),
            ("https://[fd00::1]", Refused::Private),
            ("https://[fc00::1]", Refused::Private),
            ("https://[fec0::1]", Refused::Private),
            ("https://[fe80::1]", Refused::LinkLocal),
            ("https://[ff02::1]", Refused::Multicast),
            ("https://[::]", Refused::Unspecified),
            ("https://[2001:db8::1]", Refused::Documentation),
            ("https://[3fff::1]", Refused::Documentation),
            ("https://[100::1]", Refused::Reserved),
            ("https://[2001::1]", Refused::Reserved),
            ("https://[::a00:1]", Refused::Reserved),
            // IPv4-mapped, NAT64 and 6to4 forms of inside addresses.
            ("https://[::ffff:169.254.169.254]", Refused::LinkLocal),
            ("https://[::ffff:10.0.0.1]", Refused::Private),
            ("https://[::ffff:a9fe:a9fe]", Refused::LinkLocal),
            ("https://[::ffff:100.64.0.1]", Refused::Shared),
            ("https://[::ffff:0.0.0.0]", Refused::Unspecified),
            ("https://[64:ff9b::10.0.0.1]", Refused::Private),
            ("https://[64:ff9b:1::1]", Refused::Reserved),
            ("https://[2002:a9fe:a9fe::1]", Refused::LinkLocal),
            // Other spellings of an IPv4 address that the parser (and a
            // browser, and the HTTP client) read as one.
            ("https://0xa9.0xfe.0xa9.0xfe", Refused::LinkLocal),
            ("https://2852039166", Refused::LinkLocal),
            ("https://10.1", Refused::Private),
            ("https://012.0.0.1", Refused::Private),
            ("https://169.254.169.%32%35%34", Refused::LinkLocal),
        ] {
            for reach in [Reach::Public, Reach::Local] {
                assert_eq!(why(raw, reach), class.why(), "{raw} {reach:?}");
            }
        }
    }

    #[test]
    fn loopback_only_while_admit_itself_runs_there() {
        for raw in [
            "http://127.0.0.1:9000",
            "http://127.1.2.3",
            "http://localhost/realms/acme",
            "http://LOCALHOST.",
            "http://idp.localhost:8080",
            "http://[::1]:9000",
            "http://[::ffff:127.0.0.1]",
            "http://2130706433",
            "https://127.0.0.1:8443",
            "https://localhost",
        ] {
            assert!(check_idp_url("issuer", raw, Reach::Local).is_ok(), "{raw}");
            assert_eq!(why(raw, Reach::Public), Refused::Loopback.why(), "{raw}");
        }
        // The domain's own constructors cannot know: they take loopback,
        // and `admit-app` refuses it unless Admit runs on loopback.
        assert!(cfg("http://127.0.0.1:9000").is_ok());
        assert!(cfg("https://localhost").is_ok());
        // A full-width or circled spelling is mapped to `localhost` (IDNA).
        assert!(why("https://ｌｏｃａｌｈｏｓｔ", Reach::Public).contains("loopback"));
    }

    #[test]
    fn https_only_without_fragment_and_with_a_host() {
        for reach in [Reach::Public, Reach::Local] {
            for (raw, reason) in [
                ("http://idp.example.com", "must be https"),
                ("http://8.8.8.8", "must be https"),
                ("ftp://idp.example.com", "must be an https URL"),
                ("file:///etc/passwd", "must be an https URL"),
                ("javascript:alert(1)", "must be an https URL"),
                ("idp.example.com", "must be a URL"),
                ("https://", "must be a URL"),
                ("https://idp.example.com/#x", "fragment"),
                ("https://idp.example.com/#", "fragment"),
                ("https://idp.exa\tmple.com", "at most 2048"),
                ("https://idp.exa\nmple.com/", "at most 2048"),
            ] {
                let got = check_idp_url("issuer", raw, reach);
                assert!(
                    got.as_ref().is_err_and(|e| e.why.contains(reason)),
                    "{raw:?} {reach:?}: {got:?}"
                );
            }
            assert!(
                check_idp_url(
                    "issuer",
                    &format!("https://a.test/{}", "x".repeat(2048)),
                    reach
                )
                .is_err()
            );
            for ok in [
                "https://idp.example.com",
                "https://idp.example.com:8443/realms/acme",
                "https://login.example.com/tenant/v2.0?p=policy",
                "https://8.8.8.8",
                "https://[2606:4700::1111]",
            ] {
                assert!(check_idp_url("issuer", ok, reach).is_ok(), "{ok} {reach:?}");
            }
        }
    }

    #[test]
    fn the_resolver_filter_agrees_with_the_url_check() {
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(reachable(ip(public), Reach::Public), "{public}");
            assert_eq!(refused_address(ip(public)), None, "{public}");
        }
        for inside in [
            "10.0.0.1",
            "169.254.169.254",
            "fd00::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::",
        ] {
            assert!(!reachable(ip(inside), Reach::Public), "{inside}");
            assert!(!reachable(ip(inside), Reach::Local), "{inside}");
        }
        for lo in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(!reachable(ip(lo), Reach::Public), "{lo}");
            assert!(reachable(ip(lo), Reach::Local), "{lo}");
        }
    }

    #[test]
    fn saml_sso_urls_and_endpoints_go_through_the_same_check() {
        for bad in [
            "https://169.254.169.254/sso",
            "https://10.0.0.1/sso?tenant=a",
            "http://localhost:80@169.254.169.254/sso",
        ] {
            let e = saml("urn:idp", bad, CERT_B64).unwrap_err();
            assert_eq!(e.what, "idp_sso_url", "{bad}");
        }
        let e = parse_endpoint_url("key_connector_url", "https://[fd00::1]/kc").unwrap_err();
        assert_eq!(
            (e.what, e.why),
            ("key_connector_url", Refused::Private.why())
        );
    }
}
