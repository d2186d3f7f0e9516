//! Administering single sign-on: the IdP configuration and the policies.

use crate::views::{PoliciesInput, PutSso, SsoView};
use crate::{App, Error, Principal, Result};
use admit_domain::sso_config::parse_endpoint_url;
use admit_domain::{MemberDecryption, OidcConfig, Policies, SsoConfig};

impl App {
    pub async fn sso_settings(&self, who: &Principal, org: &str) -> Result<SsoView> {
        let org = self.administrator(who, org).await?.org;
        Ok(self.sso_view(&org))
    }

    fn sso_view(&self, org: &admit_domain::Organization) -> SsoView {
        let oidc = org.sso.as_ref().map(|SsoConfig::Oidc(c)| c);
        SsoView {
            enabled: org.sso_enabled,
            protocol: oidc.map(|_| "oidc"),
            sso_identifier: org.sso_identifier.to_string(),
            issuer: oidc.map(|c| c.issuer.clone()),
            client_id: oidc.map(|c| c.client_id.clone()),
            client_secret_set: oidc.is_some(),
            scopes: oidc.map(|c| c.scopes.clone()),
            signing_algorithm: oidc.map(|c| c.signing_algorithm),
            member_decryption: org.member_decryption,
            key_connector_url: org.key_connector_url.clone(),
            redirect_uri: self.config().link("/sso/oidc/callback"),
        }
    }

    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn configure_sso(&self, who: &Principal, org: &str, req: PutSso) -> Result<SsoView> {
        let mut org = self.administrator(who, org).await?.org;
        // A plain-http (loopback) IdP is for local development: only when Admit itself runs there.
        if req
            .issuer
            .as_deref()
            .is_some_and(|i| i.trim().starts_with("http://"))
            && !self.config().is_local()
        {
            return Err(Error::InvalidRequest(
                "issuer: must be https (http only when Admit itself runs on loopback)".into(),
            ));
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
            "saml" => {
                return Err(Error::InvalidRequest(
                    "protocol: SAML is not available in this version yet".into(),
                ));
            }
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
