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
    /// Never returned by the API, never logged.
    pub client_secret: String,
    /// Requested scopes; always includes `openid`.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"..")
            .field("scopes", &self.scopes)
            .field("signing_algorithm", &self.signing_algorithm)
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
        let attribute = |what: &'static str, raw: Option<&str>| match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(a) if a.len() <= 256 && !a.chars().any(|c| c.is_control()) => {
                Ok(Some(a.to_owned()))
            }
            Some(_) => Err(ParseError::new(what, "must be at most 256 characters")),
        };
        Ok(SamlConfig {
            idp_entity_id: idp_entity_id.to_owned(),
            idp_sso_url: parse_sso_url(idp_sso_url)?,
            idp_certificate_pem: normalize_certificate_pem(idp_certificate_pem)?,
            email_attribute: attribute("email_attribute", email_attribute)?,
            name_attribute: attribute("name_attribute", name_attribute)?,
            allow_idp_initiated: false,
            allow_sha1: false,
        })
    }

    /// The DER bytes of the certificate.
    pub fn certificate_der(&self) -> Vec<u8> {
        pem_body(&self.idp_certificate_pem).unwrap_or_default()
    }
}

/// An IdP's SSO URL may carry a query (some IdPs route by it), never a fragment.
fn parse_sso_url(raw: &str) -> Result<String, ParseError> {
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

/// An `https` URL, or `http` on the loopback interface (local IdPs, tests).
pub fn parse_endpoint_url(what: &'static str, raw: &str) -> Result<String, ParseError> {
    let url = raw.trim().trim_end_matches('/');
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', ':']).next().unwrap_or_default();
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(ParseError::new(
                what,
                "must be https (http only on the loopback address)",
            ));
        }
        r
    } else {
        return Err(ParseError::new(what, "must be an https URL"));
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || url.len() > 2048
        || url.contains(['?', '#'])
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ParseError::new(
            what,
            "must be a URL with a host and without query or fragment",
        ));
    }
    Ok(url.to_owned())
}

impl OidcConfig {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        scopes: Option<Vec<String>>,
        signing_algorithm: SigningAlgorithm,
    ) -> Result<Self, ParseError> {
        let issuer = parse_endpoint_url("issuer", issuer)?;
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 || client_id.chars().any(char::is_control)
        {
            return Err(ParseError::new("client_id", "must be 1 to 255 characters"));
        }
        if client_secret.is_empty()
            || client_secret.len() > 1024
            || client_secret.chars().any(char::is_control)
        {
            return Err(ParseError::new(
                "client_secret",
                "must be 1 to 1024 characters",
            ));
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
            client_secret: client_secret.to_owned(),
            scopes: all,
            signing_algorithm,
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
}
