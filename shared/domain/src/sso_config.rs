//! An organization's SSO configuration.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the organization's IdP is reached.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum SsoConfig {
    Oidc(OidcConfig),
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
        }
    }
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

    #[test]
    fn no_symmetric_or_unsigned_algorithm_exists() {
        for bad in ["\"none\"", "\"HS256\""] {
            assert!(serde_json::from_str::<SigningAlgorithm>(bad).is_err());
        }
    }
}
