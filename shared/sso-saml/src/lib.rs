//! Admit as a SAML 2.0 service provider, on `samael` (libxml2 + xmlsec1).
//!
//! What a response must pass, in order (ARCHITECTURE.md lists who checks what):
//! 1. [`read`]: size cap, base64, UTF-8, no DTD at all (no XXE, no entity
//!    expansion), well-formed, a `samlp:Response` root.
//! 2. [`shape`]: one Response, one Assertion (its child), no encrypted or
//!    nested copies, every `ds:Signature` enveloped in the element its single
//!    Reference names, IDs unique: every XML signature wrapping layout fails here.
//! 3. Response fields, read from the response as received (refusals only):
//!    status Success, `Destination` = our ACS when present, `Issuer` = the
//!    IdP when present, `InResponseTo` = the request's ID (or absent when unsolicited).
//! 4. samael: every signature verifies with the configured certificate (a key
//!    in `KeyInfo` is never used), with allowed algorithms only; its own issuer,
//!    audience, recipient, `InResponseTo` and time checks.
//! 5. [`assertion`]: from the signed content only, with Admit's clock:
//!    issuer, audience, bearer confirmation (recipient, `InResponseTo`,
//!    `NotOnOrAfter`), conditions' window, issue instant, authn statement; then
//!    the NameID and attributes, each read as the whole text of its element.

mod assertion;
mod metadata;
mod read;
mod shape;

use admit_app::{
    Saml, SamlError, SamlRequest, ServiceProvider, UnverifiedResponse, VerifiedAssertion,
};
use admit_domain::{SamlConfig, Timestamp};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider};
use time::Duration;

/// The largest `SAMLResponse` form value read (base64); larger is refused unread.
pub const MAX_SAML_RESPONSE_BASE64: usize = 256 * 1024;
/// How far the IdP's clock may be from ours.
pub const CLOCK_SKEW: Duration = Duration::minutes(2);
/// How old (by `IssueInstant`) a response may be when it arrives.
pub const MAX_RESPONSE_AGE: Duration = Duration::minutes(5);

pub(crate) const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub(crate) const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub(crate) const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub(crate) const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// The SAML service provider the `sso-callback` function and `admit serve` use.
#[derive(Debug, Default, Clone, Copy)]
pub struct SamaelProvider;

impl SamaelProvider {
    pub fn new() -> Self {
        SamaelProvider
    }
}

fn rejected(why: impl Into<String>) -> SamlError {
    SamlError::Rejected(why.into())
}

fn internal(why: impl std::fmt::Display) -> SamlError {
    SamlError::Internal(why.to_string())
}

/// What samael may accept: RSA or ECDSA with SHA-256 or stronger. samael
/// knows no SHA-1 entry, so an organization that allows SHA-1 gets `None`
/// here, and [`shape`]'s own list (which always applies) is the limit.
fn samael_algorithms(config: &SamlConfig) -> Option<Vec<AllowedSignatureAlgorithm>> {
    use AllowedSignatureAlgorithm::*;
    (!config.allow_sha1).then(|| {
        vec![
            RsaSha256,
            RsaSha384,
            RsaSha512,
            EcdsaSha256,
            EcdsaSha384,
            EcdsaSha512,
        ]
    })
}

impl Saml for SamaelProvider {
    fn metadata(&self, sp: &ServiceProvider, now: Timestamp) -> Result<String, SamlError> {
        metadata::sp_metadata(sp, now)
    }

    fn authn_request(
        &self,
        config: &SamlConfig,
        sp: &ServiceProvider,
        relay_state: &str,
        now: Timestamp,
    ) -> Result<SamlRequest, SamlError> {
        metadata::authn_request(config, sp, relay_state, now)
    }

    fn read_response(&self, saml_response: &str) -> Result<UnverifiedResponse, SamlError> {
        read::read_response(saml_response)
    }

    fn verify(
        &self,
        config: &SamlConfig,
        sp: &ServiceProvider,
        response: &UnverifiedResponse,
        request_id: Option<&str>,
        now: Timestamp,
    ) -> Result<VerifiedAssertion, SamlError> {
        let xml = response.xml.as_str();
        shape::check(xml, config, sp, request_id)?;
        let algorithms = samael_algorithms(config);
        // samael: signatures (configured certificate only), then its own field checks.
        let provider = metadata::samael_sp(config, sp, request_id.is_none(), algorithms.clone())?;
        let ids: Vec<&str> = request_id.into_iter().collect();
        provider
            .parse_xml_response(xml, request_id.map(|_| ids.as_slice()))
            .map_err(|e| rejected(format!("samael: {e}")))?;
        // The signed content only, as xmlsec verified it, is what Admit reads.
        let signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            &[CertificateDer::from(config.certificate_der())],
            samael::crypto::ReduceMode::ValidateAndMarkNoAncestors,
            algorithms.as_deref(),
        )
        .map_err(|e| rejected(format!("signature: {e}")))?;
        assertion::read_verified(&signed, config, sp, request_id, now)
    }
}
