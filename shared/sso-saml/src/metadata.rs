//! Admit's side of the metadata exchange and the AuthnRequest, and the
//! samael service provider a verification runs with.

use crate::{
    CLOCK_SKEW, DSIG_NS, HTTP_POST, HTTP_REDIRECT, MAX_RESPONSE_AGE, METADATA_NS, internal,
};
use admit_app::{SamlError, SamlRequest, ServiceProvider};
use admit_domain::{SamlConfig, Timestamp};
use chrono::{DateTime, Utc};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::{EntityDescriptor, IndexedEndpoint, SpSsoDescriptor};
use samael::service_provider::ServiceProviderBuilder;
use samael::traits::ToXml;
use std::str::FromStr;

/// How long an IdP may cache the SP metadata.
const METADATA_VALIDITY: time::Duration = time::Duration::days(7);

fn chrono_of(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix(), 0).unwrap_or_default()
}

/// The SP metadata: entity id, the HTTP-POST ACS, unsigned requests, signed
/// assertions wanted. No SingleLogoutService: Admit has none.
pub(crate) fn sp_metadata(sp: &ServiceProvider, now: Timestamp) -> Result<String, SamlError> {
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".into()),
        authn_requests_signed: Some(false),
        want_assertions_signed: Some(true),
        name_id_formats: Some(vec![
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
        ]),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: HTTP_POST.into(),
            location: sp.acs_url.clone(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        valid_until: Some(chrono_of(now + METADATA_VALIDITY)),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    entity.to_string().map_err(internal)
}

/// A samael service provider that trusts exactly the configured certificate.
pub(crate) fn samael_sp(
    config: &SamlConfig,
    sp: &ServiceProvider,
    unsolicited: bool,
    algorithms: Option<Vec<AllowedSignatureAlgorithm>>,
) -> Result<samael::service_provider::ServiceProvider, SamlError> {
    ServiceProviderBuilder::default()
        .entity_id(sp.entity_id.clone())
        .metadata_url(sp.entity_id.clone())
        .acs_url(sp.acs_url.clone())
        .idp_metadata(idp_entity(config)?)
        .allow_idp_initiated(unsolicited)
        .max_clock_skew(chrono::Duration::seconds(CLOCK_SKEW.whole_seconds()))
        .max_issue_delay(chrono::Duration::seconds(
            (MAX_RESPONSE_AGE + CLOCK_SKEW).whole_seconds(),
        ))
        .allowed_signature_algorithms(algorithms)
        .build()
        .map_err(internal)
}

/// The configured IdP as samael's metadata: its entity id and one signing
/// certificate. (samael verifies nothing when metadata has no certificate,
/// which is why a configuration without one is refused.)
fn idp_entity(config: &SamlConfig) -> Result<EntityDescriptor, SamlError> {
    use base64::Engine as _;
    let cert = base64::engine::general_purpose::STANDARD.encode(config.certificate_der());
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="{METADATA_NS}" xmlns:ds="{DSIG_NS}" entityID="{id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="{HTTP_REDIRECT}" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        id = escape(&config.idp_entity_id),
        sso = escape(&config.idp_sso_url),
    );
    let entity = EntityDescriptor::from_str(&xml).map_err(internal)?;
    if entity.entity_id.as_deref() != Some(config.idp_entity_id.as_str()) {
        return Err(internal(
            "the IdP's entity id did not survive samael's metadata",
        ));
    }
    Ok(entity)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// An AuthnRequest by HTTP-Redirect, with an unguessable ID (samael's own
/// is 32 random bits; this one is 128).
pub(crate) fn authn_request(
    config: &SamlConfig,
    sp: &ServiceProvider,
    relay_state: &str,
    now: Timestamp,
) -> Result<SamlRequest, SamlError> {
    let provider = samael_sp(config, sp, false, None)?;
    let mut request = provider
        .make_authentication_request(&config.idp_sso_url)
        .map_err(internal)?;
    let id_bytes: [u8; 16] = rand::random();
    request.id = format!(
        "_{}",
        id_bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    request.issue_instant = chrono_of(now);
    request.force_authn = None;
    let url = request
        .redirect(relay_state)
        .map_err(internal)?
        .ok_or_else(|| internal("the AuthnRequest has no destination"))?;
    Ok(SamlRequest {
        url: url.to_string(),
        request_id: request.id,
    })
}
