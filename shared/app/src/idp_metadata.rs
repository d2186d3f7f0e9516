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
