//! What an administrator gives Admit about a SAML IdP: its metadata, read
//! for the entity id, SSO URL and certificate, and a check that the
//! certificate can verify signatures. Pure Rust, so the admin function needs
//! no XML-security library (only `sso-callback` links libxmlsec1).

use admit_domain::SamlConfig;
use der::{Decode, Reader, SliceReader, asn1::UintRef};
use x509_cert::Certificate;

const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// An IdP's settings read from its metadata XML.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    pub certificate_pem: String,
}

/// The configured certificate is an X.509 certificate with an RSA key of
/// 2048 bits or more, or an EC key. Its dates are not checked: IdPs commonly
/// sign with long-lived self-signed certificates, and the trust here comes
/// from the administrator's configuration, not from a chain.
pub(crate) fn check_certificate(config: &SamlConfig) -> Result<(), String> {
    let cert = Certificate::from_der(&config.certificate_der())
        .map_err(|_| "not an X.509 certificate".to_owned())?;
    let spki = &cert.tbs_certificate().subject_public_key_info();
    match spki.algorithm.oid.to_string().as_str() {
        RSA_ENCRYPTION => {
            let key = spki
                .subject_public_key
                .as_bytes()
                .ok_or("the RSA key cannot be read")?;
            let bits = rsa_modulus_bits(key).ok_or("the RSA key cannot be read")?;
            if bits < 2048 {
                return Err(format!(
                    "an RSA key of {bits} bits is too weak (2048 or more)"
                ));
            }
            Ok(())
        }
        EC_PUBLIC_KEY => Ok(()),
        other => Err(format!("the certificate's key ({other}) must be RSA or EC")),
    }
}

/// The bit length of the modulus of a PKCS#1 `RSAPublicKey`.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let mut reader = SliceReader::new(der).ok()?;
    let modulus = reader
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            let _e = UintRef::decode(r)?;
            Ok::<_, der::Error>(n.as_bytes().to_vec())
        })
        .ok()?;
    let first = *modulus.first()?;
    Some(modulus.len() * 8 - first.leading_zeros() as usize)
}

/// The entity id, the HTTP-Redirect SSO URL and the signing certificate of
/// the one IdP an IdP metadata document describes.
pub(crate) fn import(xml: &str) -> Result<IdpMetadata, String> {
    if xml.len() > 256 * 1024 {
        return Err("larger than 256 KiB".into());
    }
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err("a document type declaration (DTD) is not accepted".into());
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 10_000,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options)
        .map_err(|e| format!("not well-formed XML: {e}"))?;
    let entities: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((METADATA_NS, "EntityDescriptor")))
        .filter(|n| {
            n.children()
                .any(|c| c.has_tag_name((METADATA_NS, "IDPSSODescriptor")))
        })
        .collect();
    let [entity] = entities.as_slice() else {
        return Err("must describe exactly one identity provider".into());
    };
    let entity_id = entity
        .attribute("entityID")
        .ok_or("the EntityDescriptor has no entityID")?
        .to_owned();
    let idp = entity
        .children()
        .find(|c| c.has_tag_name((METADATA_NS, "IDPSSODescriptor")))
        .ok_or("no IDPSSODescriptor")?;
    let sso_url = idp
        .children()
        .filter(|c| c.has_tag_name((METADATA_NS, "SingleSignOnService")))
        .find(|c| c.attribute("Binding") == Some(HTTP_REDIRECT))
        .and_then(|c| c.attribute("Location"))
        .ok_or("no SingleSignOnService with the HTTP-Redirect binding")?
        .to_owned();
    let signing_keys: Vec<_> = idp
        .children()
        .filter(|c| c.has_tag_name((METADATA_NS, "KeyDescriptor")))
        .filter(|c| matches!(c.attribute("use"), None | Some("signing")))
        .collect();
    let certificate = signing_keys
        .iter()
        .flat_map(|k| k.descendants())
        .find(|n| n.has_tag_name((DSIG_NS, "X509Certificate")))
        .map(|n| {
            n.descendants()
                .filter(roxmltree::Node::is_text)
                .filter_map(|t| t.text())
                .collect::<String>()
        })
        .ok_or("no signing certificate")?;
    let certificate_pem = admit_domain::sso_config::normalize_certificate_pem(&certificate)
        .map_err(|e| e.to_string())?;
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificate_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Self-signed test certificates (made with `openssl req -x509 -newkey …`).
    const RSA_2048: &str = "-----BEGIN CERTIFICATE-----
MIIDCzCCAfOgAwIBAgIUH1W+eteg0mqC9iiA8W7jKBX1gWAwDQYJKoZIhvcNAQEL
BQAwFTETMBEGA1UEAwwKYWRtaXQtdGVzdDAeFw0yNjExMjMwNzA0NThaFw0zNjEx
MjAwNzA0NThaMBUxEzARBgNVBAMMCmFkbWl0LXRlc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQD5sMRa47KmWjFQWnt6z+Cikisun7DmLf8IcC5r2PT9
AP3K146392UKtt4o9MWZiwwUiQq76OVU3DdUBVmVbtxijavpXyQ7P7jDKU2qdDcs
JiH6tNYDO5i5gdkWJOQP2FV1qWk6gkiRdDJdmROoVD6Ei44gtL8dyJymyd6TsN0g
2EEWbXsGDezCO8604UjXbA4BWMCamvSagr5Ai8Tm56CKNq31yY3GypgToSg2hlDM
tanr+fh4vPzqhiUMDRnBMMK0DD+6HEKHtETUSPwnKIblyFmeO57Qp6RjBKrNrXQu
3/iLVHBHGBiQqSal4oDwdqi+KHAxMM8Y+uvyaSOYwo2VAgMBAAGjUzBRMB0GA1Ud
DgQWBBQcHMCM9ARLd/ZqwoLLhqTHfT4ZxDAfBgNVHSMEGDAWgBQcHMCM9ARLd/Zq
woLLhqTHfT4ZxDAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQDh
0hqtR6JOX+UH7GKqWmBZO1cN9R2FzFBR937W8yOHwUYx78jY9t5OJ7EFLI11Vnyb
IDzyqAwHMZpBaJ9hjSm1fPGK0tOM3JY8tMQfO+r0ukLCfBRWXZPKLIXE3p1Cbk/A
NRUt0AP4OzUDEoBfuS7hB8T7WJhvG8QPRKj0ZUOcMmn9pVLDc+Mbc7LOwnjHIT7W
V69Cr4DY0zyMJMA/chsqZz0DLzjBjhrWFEgJDZMEBxZtwVLcauUep9MlxrnqGu4a
FSbuxeR6ggbiJBlf8gbA7m9+EhhMrTHeP4+x5KtBAhYrD7jq3VWaZc4v4zp6Rfcj
n0w7mgrGfNBJtDSIHJQI
-----END CERTIFICATE-----";
    const RSA_1024: &str = "-----BEGIN CERTIFICATE-----
MIICBjCCAW+gAwIBAgIUAvmpgqG+ycKyz25tk2EHM5nqncMwDQYJKoZIhvcNAQEL
BQAwFTETMBEGA1UEAwwKYWRtaXQtdGVzdDAeFw0yNjExMjMwNzA0NThaFw0zNjEx
MjAwNzA0NThaMBUxEzARBgNVBAMMCmFkbWl0LXRlc3QwgZ8wDQYJKoZIhvcNAQEB
BQADgY0AMIGJAoGBANvVoq8OBPzOlpwJaunXTDwWoIdwhBQfYQqkO1hBSgRcl7U6
oHLURfkqLaYX/oOysa+rTNDqzbGsLMUiO1NLJxnCUsOv7V5hY+rrPBySVLCB6PdS
90FUEcrMd+p9YDBbI+lcKa3kZZuzEbp8sLR9/lx4rmgI4Z0bwJKYU66nVlAXAgMB
AAGjUzBRMB0GA1UdDgQWBBQOp2NLjh4kfO2/07f6DxkSY3ro8jAfBgNVHSMEGDAW
gBQOp2NLjh4kfO2/07f6DxkSY3ro8jAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3
DQEBCwUAA4GBAJx9hkbb1CH++2UhKOW4ezEt/DEoxUWovh9OGwaqQumqyPDZoyjg
r76oT9olUcyVI3RW2H+bn/OIcNRnXd2NLfAzAY3kA1h4LcgoPz5fHmRYotEv04MI
bEkZtdPKZbjscaYrxamWlAXio4rMTi8hvoxV0HFupLEyG7vDU20c0TIa
-----END CERTIFICATE-----";
    const EC_P256: &str = "-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUDew0U9NbKn+3MJM1x66QDXCg6xowCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKYWRtaXQtdGVzdDAeFw0yNjExMjMwNzA0NThaFw0zNjExMjAw
NzA0NThaMBUxEzARBgNVBAMMCmFkbWl0LXRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAShcsYsIKeLkjjApEj01nj7OFF015qqb7tODKFH5g1HTErh/6//UXd/
mIdPx/QnhIaL65KZq/k83opqOQ35XoWto1MwUTAdBgNVHQ4EFgQUz9X4cb9PwKah
pRjALrVnAtrcocgwHwYDVR0jBBgwFoAUz9X4cb9PwKahpRjALrVnAtrcocgwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA9knO8/FOqNDomgWlLbpBv
MBC63BiKoRMZvFxBJl6aCwIhANSSOjiAMFfkm3DE23l9itoLzy6PJ6hFgrw6fosP
1gcj
-----END CERTIFICATE-----";

    fn config(pem: &str) -> SamlConfig {
        SamlConfig::new("https://idp.test", "https://idp.test/sso", pem, None, None).unwrap()
    }

    #[test]
    fn certificates_must_be_strong_enough_to_trust() {
        assert_eq!(check_certificate(&config(RSA_2048)), Ok(()));
        assert_eq!(check_certificate(&config(EC_P256)), Ok(()));
        let weak = check_certificate(&config(RSA_1024)).unwrap_err();
        assert!(weak.contains("1024 bits"), "{weak}");
        // A DER SEQUENCE that is not a certificate.
        let mut junk = config(RSA_2048);
        junk.idp_certificate_pem = admit_domain::sso_config::normalize_certificate_pem(&format!(
            "MIIA{}",
            "A".repeat(120)
        ))
        .unwrap();
        assert!(check_certificate(&junk).is_err());
    }

    fn metadata(keys: &str, sso: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="{METADATA_NS}" xmlns:ds="{DSIG_NS}" entityID="https://idp.test/meta"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}{sso}</md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    }

    fn key(usage: &str, pem: &str) -> String {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        format!(
            r#"<md:KeyDescriptor {usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{b64}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
        )
    }

    const REDIRECT: &str = r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/post"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/redirect"/>"#;

    #[test]
    fn metadata_gives_entity_id_redirect_url_and_signing_certificate() {
        let xml = metadata(
            &format!(
                "{}{}",
                key(r#"use="encryption""#, EC_P256),
                key(r#"use="signing""#, RSA_2048)
            ),
            REDIRECT,
        );
        let m = import(&xml).unwrap();
        assert_eq!(m.entity_id, "https://idp.test/meta");
        assert_eq!(m.sso_url, "https://idp.test/redirect");
        assert_eq!(m.certificate_pem.trim(), RSA_2048.trim());
        // A key without `use` is for signing too.
        let m = import(&metadata(&key("", EC_P256), REDIRECT)).unwrap();
        assert_eq!(m.certificate_pem.trim(), EC_P256.trim());
    }

    #[test]
    fn metadata_without_what_is_needed_is_refused() {
        let post_only = r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/post"/>"#;
        for (xml, why) in [
            (
                metadata(&key(r#"use="signing""#, RSA_2048), post_only),
                "HTTP-Redirect",
            ),
            (
                metadata(&key(r#"use="encryption""#, RSA_2048), REDIRECT),
                "signing certificate",
            ),
            ("<x/>".to_owned(), "exactly one identity provider"),
            (
                format!("<!DOCTYPE x>{}", metadata(&key("", RSA_2048), REDIRECT)),
                "DTD",
            ),
            ("<unclosed".to_owned(), "well-formed"),
        ] {
            let err = import(&xml).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
