//! Administering single sign-on: the IdP configuration and the policies.

use crate::views::{PoliciesInput, PutSso, SsoView};
use crate::{App, Error, Principal, Result};
use admit_domain::sso_config::{
    ClientSecret, Reach, SealedSecret, attribute_name, check_idp_url, groups_claim,
    parse_endpoint_url,
};
use admit_domain::{
    EventDetails, EventType, MemberDecryption, OidcConfig, Organization, Policies, SamlConfig,
    SsoConfig,
};
use admit_store::StoreError;
use zeroize::Zeroizing;

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
            version: org.settings_version,
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
            groups_claim: oidc.and_then(|c| c.groups_claim.clone()),
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
            groups_attribute: saml.and_then(|c| c.groups_attribute.clone()),
            sp_entity_id: sp.entity_id,
            acs_url: sp.acs_url,
        }
    }

    /// Configure the organization's IdP (see [`App::configure_sso_if_match`]).
    pub async fn configure_sso(&self, who: &Principal, org: &str, req: PutSso) -> Result<SsoView> {
        self.configure_sso_if_match(who, org, req, None).await
    }

    /// Configure the organization's IdP. With `if_match` (the HTTP
    /// `If-Match`), only if the settings are still at that version.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn configure_sso_if_match(
        &self,
        who: &Principal,
        org: &str,
        req: PutSso,
        if_match: Option<u64>,
    ) -> Result<SsoView> {
        let org = self
            .edit_settings(who, org, if_match, EventType::SsoSettingsChanged, |org| {
                self.apply_sso(org, &req)
            })
            .await?;
        tracing::info!(enabled = org.sso_enabled, "sso configured");
        Ok(self.sso_view(&org))
    }

    /// Read the organization as an administrator, change its settings with
    /// `edit`, and write them conditional on the version read. With
    /// `if_match`, a different version read or a concurrent write is 409
    /// `conflict`; without it, a concurrent write makes the edit start over
    /// from what that write left (a few times), so no edit is ever lost or
    /// torn.
    pub(crate) async fn edit_settings(
        &self,
        who: &Principal,
        org: &str,
        if_match: Option<u64>,
        kind: EventType,
        edit: impl Fn(&mut Organization) -> Result<()>,
    ) -> Result<Organization> {
        const ATTEMPTS: usize = 5;
        // What was sealed for an earlier attempt: sealed once, whatever the retries.
        let mut sealed = None;
        for _ in 0..ATTEMPTS {
            let admin = self.administrator(who, org).await?;
            let mut o = admin.org.clone();
            let read = o.settings_version;
            if if_match.is_some_and(|v| v != read) {
                return Err(Error::Conflict(
                    "the settings changed since they were read (If-Match)".into(),
                ));
            }
            edit(&mut o)?;
            self.seal_client_secret(&mut o, &mut sealed).await?;
            // Every write moves the version (its ETag), even one that changes
            // nothing; its event then names no setting.
            let changed = crate::events::changed_settings(&admin.org, &o);
            o.settings_version = read + 1;
            let event = self.event(
                &o.id,
                &admin.actor,
                kind,
                None,
                EventDetails {
                    changed,
                    ..Default::default()
                },
            );
            match self
                .store()
                .update_organization_settings(&o, read, &[event])
                .await
            {
                Ok(()) => return Ok(o),
                Err(StoreError::Conflict) if if_match.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the settings kept changing while this request ran; try again".into(),
        ))
    }

    fn apply_sso(&self, org: &mut Organization, req: &PutSso) -> Result<()> {
        // An IdP URL must not reach inside; loopback (and plain http there) is
        // for local development: only when Admit itself runs there.
        let reach = Reach::when_local(self.config().is_local());
        for (field, url) in [("issuer", &req.issuer), ("idp_sso_url", &req.idp_sso_url)] {
            if let Some(url) = url.as_deref() {
                check_idp_url(field, url, reach).map_err(Error::invalid)?;
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
                // A new secret is in clear until the settings write seals it.
                let secret = req
                    .client_secret
                    .as_deref()
                    .map(ClientSecret::from)
                    .or(kept)
                    .ok_or_else(|| Error::InvalidRequest("client_secret: required".into()))?;
                let alg = req.signing_algorithm.unwrap_or_default();
                let mut config =
                    OidcConfig::new(issuer, client_id, secret, req.scopes.clone(), alg)
                        .map_err(Error::invalid)?;
                config.groups_claim =
                    groups_claim(req.groups_claim.as_deref()).map_err(Error::invalid)?;
                SsoConfig::Oidc(config)
            }
            "saml" => SsoConfig::Saml(self.saml_config(req)?),
            other => {
                return Err(Error::InvalidRequest(format!(
                    "protocol: {other:?} is not one of \"oidc\", \"saml\""
                )));
            }
        };
        org.key_connector_url = match (req.member_decryption, req.key_connector_url.as_deref()) {
            (MemberDecryption::KeyConnector, Some(url)) => {
                check_idp_url("key_connector_url", url, reach).map_err(Error::invalid)?;
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
        Ok(())
    }

    /// Seal the organization's OIDC client secret when it is in clear: just
    /// set, or read from an organization stored before secrets were sealed
    /// (migrated on its next settings write). `sealed` keeps what was sealed
    /// across the attempts of one edit, so a retry costs no key-service call.
    async fn seal_client_secret(
        &self,
        org: &mut Organization,
        sealed: &mut Option<(Zeroizing<String>, SealedSecret)>,
    ) -> Result<()> {
        let Some(SsoConfig::Oidc(config)) = org.sso.as_mut() else {
            return Ok(());
        };
        let Some(clear) = config.client_secret.clear() else {
            return Ok(());
        };
        let done = match sealed.take() {
            Some((plain, s)) if plain.as_str() == clear => (plain, s),
            _ => {
                let context = crate::secrets_port::context(&org.id, ClientSecret::FIELD);
                let s = self
                    .secrets()?
                    .seal(clear.as_bytes(), &context)
                    .await
                    .map_err(|e| Error::Internal(format!("cannot seal the client secret: {e}")))?;
                (Zeroizing::new(clear.to_owned()), s)
            }
        };
        config.client_secret = ClientSecret::Sealed(done.1.clone());
        *sealed = Some(done);
        Ok(())
    }

    /// `config` with its client secret opened, for the one token request
    /// that sends it. A secret still in clear (stored before secrets were
    /// sealed) is used as it is.
    pub(crate) async fn open_client_secret(
        &self,
        org: &Organization,
        config: &OidcConfig,
    ) -> Result<OidcConfig> {
        let ClientSecret::Sealed(sealed) = &config.client_secret else {
            return Ok(config.clone());
        };
        let context = crate::secrets_port::context(&org.id, ClientSecret::FIELD);
        let opened = self
            .secrets()?
            .open(sealed, &context)
            .await
            .map_err(|e| Error::Internal(format!("cannot open the client secret: {e}")))?;
        let clear = std::str::from_utf8(&opened)
            .map_err(|_| Error::Internal("the client secret is not UTF-8".into()))?;
        Ok(OidcConfig {
            client_secret: ClientSecret::Clear(clear.to_owned()),
            ..config.clone()
        })
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
        // Given or imported from the metadata, the same check as in `apply_sso`.
        check_idp_url(
            "idp_sso_url",
            &sso_url,
            Reach::when_local(self.config().is_local()),
        )
        .map_err(Error::invalid)?;
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
        config.groups_attribute =
            attribute_name("groups_attribute", req.groups_attribute.as_deref())
                .map_err(Error::invalid)?;
        // The email's and the name's attributes carry no groups (and a
        // member may often edit them at the IdP).
        if let Some(groups) = &config.groups_attribute {
            let identity_attributes = SamlConfig::DEFAULT_EMAIL_ATTRIBUTES
                .iter()
                .chain(SamlConfig::DEFAULT_NAME_ATTRIBUTES)
                .copied()
                .chain(config.email_attribute.as_deref())
                .chain(config.name_attribute.as_deref());
            if identity_attributes
                .into_iter()
                .any(|a| a.eq_ignore_ascii_case(groups))
            {
                return Err(Error::InvalidRequest(
                    "groups_attribute: is the attribute of the email or the name, which carries no groups"
                        .into(),
                ));
            }
        }
        Ok(config)
    }

    /// Set the organization's policies (see [`App::set_policies_if_match`]).
    pub async fn set_policies(
        &self,
        who: &Principal,
        org: &str,
        req: PoliciesInput,
    ) -> Result<Policies> {
        Ok(self.set_policies_if_match(who, org, req, None).await?.0)
    }

    /// Set the policies given; with `if_match`, only if the settings are
    /// still at that version. Returns the policies and the new version.
    #[tracing::instrument(skip_all, fields(org_id = %org))]
    pub async fn set_policies_if_match(
        &self,
        who: &Principal,
        org: &str,
        req: PoliciesInput,
        if_match: Option<u64>,
    ) -> Result<(Policies, u64)> {
        let org = self
            .edit_settings(who, org, if_match, EventType::PoliciesChanged, |org| {
                if let Some(v) = req.require_sso {
                    org.policies.require_sso = v;
                }
                if let Some(v) = req.jit_without_invitation {
                    org.policies.jit_without_invitation = v;
                }
                Ok(())
            })
            .await?;
        Ok((org.policies, org.settings_version))
    }
}
