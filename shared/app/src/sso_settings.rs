//! Administering single sign-on: the IdP configuration and the policies.

use crate::views::{PoliciesInput, PutSso, SsoView};
use crate::{App, Error, Principal, Result};
use admit_domain::sso_config::parse_endpoint_url;
use admit_domain::{MemberDecryption, OidcConfig, Policies, SamlConfig, SsoConfig};

impl App {
    pub async fn sso_settings(&self, who: &Principal, org: &str) -> Result<SsoView> {
        let org = self.administrator(who, org).await?.org;
        Ok(self.sso_view(&org))
    }

    fn sso_view(&self, org: &admit_domain::Organization) -> SsoView {
        let oidc = match &org.sso {
            Some(SsoConfig::Oidc(c)) => Some(c),
            _ => None,
        };
        let saml = match &org.sso {
            Some(SsoConfig::Saml(c)) => Some(c),
            _ => None,
        };
        let sp = self.service_provider(org);
        SsoView {
            enabled: org.sso_enabled,
            protocol: org.sso.as_ref().map(|c| match c {
                SsoConfig::Oidc(_) => "oidc",
                SsoConfig::Saml(_) => "saml",
            }),
            sso_identifier: org.sso_identifier.to_string(),
            issuer: oidc.map(|c| c.issuer.clone()),
            client_id: oidc.map(|c| c.client_id.clone()),
            client_secret_set: oidc.is_some(),
            scopes: oidc.map(|c| c.scopes.clone()),
            signing_algorithm: oidc.map(|c| c.signing_algorithm),
            member_decryption: org.member_decryption,
            key_connector_url: org.key_connector_url.clone(),
            redirect_uri: self.config().link("/sso/oidc/callback"),
            idp_entity_id: saml.map(|c| c.idp_entity_id.clone()),
            idp_sso_url: saml.map(|c| c.idp_sso_url.clone()),
            idp_certificate_pem: saml.map(|c| c.idp_certificate_pem.clone()),
            email_attribute: saml.and_then(|c| c.email_attribute.clone()),
            name_attribute: saml.and_then(|c| c.name_attribute.clone()),
            allow_idp_initiated: saml.map(|c| c.allow_idp_initiated),
            allow_sha1: saml.map(|c| c.allow_sha1),
            sp_entity_id: sp.entity_id,
            acs_url: sp.acs_url,
        }
    }

    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn configure_sso(&self, who: &Principal, org: &str, req: PutSso) -> Result<SsoView> {
        let mut org = self.administrator(who, org).await?.org;
        // A plain-http (loopback) IdP is for local development: only when Admit itself runs there.
        for (field, url) in [("issuer", &req.issuer), ("idp_sso_url", &req.idp_sso_url)] {
            if url
                .as_deref()
                .is_some_and(|i| i.trim().starts_with("http://"))
                && !self.config().is_local()
            {
                return Err(Error::InvalidRequest(format!(
                    "{field}: must be https (http only when Admit itself runs on loopback)"
                )));
            }
        }
        let other_protocols_fields = match req.protocol.as_str() {
            "oidc" => req.saml_fields(),
            "saml" => req.oidc_fields(),
            _ => Vec::new(),
        };
        if let Some(field) = other_protocols_fields.first() {
            return Err(Error::InvalidRequest(format!(
                "{field}: not a setting of protocol {:?}",
                req.protocol
            )));
        }
        let config = match req.protocol.as_str() {
            "oidc" => {
                let issuer = req
                    .issuer
                    .as_deref()
                    .ok_or_else(|| Error::InvalidRequest("issuer: required".into()))?;
                let client_id = req
                    .client_id
                    .as_deref()
                    .ok_or_else(|| Error::InvalidRequest("client_id: required".into()))?;
                // Without a new secret, the stored one is kept for the same client of the same issuer.
                let kept = match &org.sso {
                    Some(SsoConfig::Oidc(old))
                        if old.client_id == client_id.trim()
                            && parse_endpoint_url("issuer", issuer)
                                .is_ok_and(|i| i == old.issuer) =>
                    {
                        Some(old.client_secret.clone())
                    }
                    _ => None,
                };
                let secret = req
                    .client_secret
                    .or(kept)
                    .ok_or_else(|| Error::InvalidRequest("client_secret: required".into()))?;
                let alg = req.signing_algorithm.unwrap_or_default();
                SsoConfig::Oidc(
                    OidcConfig::new(issuer, client_id, &secret, req.scopes, alg)
                        .map_err(Error::invalid)?,
                )
            }
            "saml" => SsoConfig::Saml(self.saml_config(&req)?),
            other => {
                return Err(Error::InvalidRequest(format!(
                    "protocol: {other:?} is not one of \"oidc\", \"saml\""
                )));
            }
        };
        org.key_connector_url = match (req.member_decryption, req.key_connector_url.as_deref()) {
            (MemberDecryption::KeyConnector, Some(url)) => {
                Some(parse_endpoint_url("key_connector_url", url).map_err(Error::invalid)?)
            }
            (MemberDecryption::KeyConnector, None) => {
                return Err(Error::InvalidRequest(
                    "key_connector_url: required with key_connector".into(),
                ));
            }
            (_, _) => None,
        };
        org.sso = Some(config);
        org.sso_enabled = req.enabled;
        org.member_decryption = req.member_decryption;
        self.store().update_organization_settings(&org).await?;
        tracing::info!(enabled = org.sso_enabled, "sso configured");
        Ok(self.sso_view(&org))
    }

    /// A SAML configuration from the request, completed from the IdP's
    /// metadata when that is given; the certificate must be usable.
    fn saml_config(&self, req: &PutSso) -> Result<SamlConfig> {
        let imported = match req.idp_metadata_xml.as_deref() {
            Some(xml) => Some(
                crate::idp_metadata::import(xml)
                    .map_err(|e| Error::InvalidRequest(format!("idp_metadata_xml: {e}")))?,
            ),
            None => None,
        };
        let pick = |field: &'static str, given: &Option<String>, read: Option<&String>| {
            given
                .as_ref()
                .or(read)
                .cloned()
                .ok_or_else(|| Error::InvalidRequest(format!("{field}: required")))
        };
        let entity_id = pick(
            "idp_entity_id",
            &req.idp_entity_id,
            imported.as_ref().map(|m| &m.entity_id),
        )?;
        let sso_url = pick(
            "idp_sso_url",
            &req.idp_sso_url,
            imported.as_ref().map(|m| &m.sso_url),
        )?;
        if sso_url.trim().starts_with("http://") && !self.config().is_local() {
            return Err(Error::InvalidRequest(
                "idp_sso_url: must be https (http only when Admit itself runs on loopback)".into(),
            ));
        }
        // Without a certificate nothing could be verified: it is required.
        let certificate = pick(
            "idp_certificate_pem",
            &req.idp_certificate_pem,
            imported.as_ref().map(|m| &m.certificate_pem),
        )?;
        let mut config = SamlConfig::new(
            &entity_id,
            &sso_url,
            &certificate,
            req.email_attribute.as_deref(),
            req.name_attribute.as_deref(),
        )
        .map_err(Error::invalid)?;
        crate::idp_metadata::check_certificate(&config)
            .map_err(|e| Error::InvalidRequest(format!("idp_certificate_pem: {e}")))?;
        config.allow_idp_initiated = req.allow_idp_initiated.unwrap_or(false);
        config.allow_sha1 = req.allow_sha1.unwrap_or(false);
        Ok(config)
    }

    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn set_policies(
        &self,
        who: &Principal,
        org: &str,
        req: PoliciesInput,
    ) -> Result<Policies> {
        let mut org = self.administrator(who, org).await?.org;
        if let Some(v) = req.require_sso {
            org.policies.require_sso = v;
        }
        if let Some(v) = req.jit_without_invitation {
            org.policies.jit_without_invitation = v;
        }
        self.store().update_organization_settings(&org).await?;
        Ok(org.policies)
    }
}
