//! The operator's API: creating organizations, claiming domains; and the
//! discovery of an organization by a claimed domain.

use crate::views::{CreateOrganization, OrganizationCreated};
use crate::{App, Error, Result};
use admit_domain::{
    Actor, Email, EventDetails, EventType, Membership, OrgId, Organization, Role, SeatPlan,
    SsoIdentifier, TokenDigest,
};

/// The operator token is kept only as a digest and compared in constant time.
pub(crate) fn digest_of(token: &str) -> TokenDigest {
    TokenDigest::of_bytes(token.as_bytes())
}

impl App {
    /// Is `token` the operator token? Constant-time; `NotFound` when the
    /// operator API is off, so its existence is not advertised.
    pub fn authorize_operator(&self, token: Option<&str>) -> Result<()> {
        let expected = self
            .config()
            .operator_token
            .as_ref()
            .ok_or(Error::NotFound)?;
        let presented = token.ok_or(Error::Unauthenticated)?;
        if digest_of(presented).matches(expected) {
            Ok(())
        } else {
            Err(Error::Unauthenticated)
        }
    }

    #[tracing::instrument(skip_all, fields(sso_identifier = %req.sso_identifier))]
    pub async fn create_organization(
        &self,
        req: CreateOrganization,
    ) -> Result<OrganizationCreated> {
        let ident = SsoIdentifier::parse(&req.sso_identifier).map_err(Error::invalid)?;
        let owner_email = Email::parse(&req.owner_email).map_err(Error::invalid)?;
        let seats = req.seats.unwrap_or_default();
        let plan = SeatPlan {
            limit: seats.limit,
            autoscale_max: seats.autoscale_max,
        };
        if plan.capacity() == Some(0) {
            return Err(Error::InvalidRequest(
                "seats: the owner needs a seat; limit must be at least 1".into(),
            ));
        }
        let now = self.now();
        let (mut org, owner, token) = {
            let mut rng = rand::rng();
            let org = Organization::new(OrgId::generate(&mut rng), &req.name, ident, plan, now)
                .map_err(Error::invalid)?;
            let (owner, token) = Membership::invite(
                &org.id,
                owner_email,
                Role::Owner,
                now,
                org.invitation_lifetime(),
                &mut rng,
            );
            (org, owner, token)
        };
        org.occupied_seats = 1;
        let event = self.member_event(
            &owner,
            &Actor::Operator,
            EventType::OrgCreated,
            EventDetails {
                role: Some(Role::Owner),
                ..Default::default()
            },
        );
        self.store()
            .create_organization(&org, &owner, &[event])
            .await
            .map_err(|e| match e {
                admit_store::StoreError::Conflict => {
                    Error::Conflict("this sso_identifier is taken".into())
                }
                e => e.into(),
            })?;
        tracing::info!(org_id = %org.id, "organization created");
        self.send_owed(&org, owner.clone(), Some(&token)).await;
        Ok(OrganizationCreated {
            org_id: org.id.to_string(),
            owner_member_id: owner.member_id.to_string(),
        })
    }
}

impl App {
    /// `POST /sso/discover`: the SSO identifier of the organization whose
    /// verified claimed domain the email is in, when it uses SSO.
    pub async fn discover(&self, email: &str) -> Result<crate::views::Discovered> {
        self.count_request().await?;
        let email = Email::parse(email).map_err(Error::invalid)?;
        let org = self
            .organization_claiming(&email)
            .await?
            .ok_or(Error::NotFound)?;
        if !org.sso_enabled {
            return Err(Error::NotFound);
        }
        Ok(crate::views::Discovered {
            sso_identifier: org.sso_identifier.to_string(),
        })
    }

    /// The organization that claims `email`'s domain and has verified it.
    pub(crate) async fn organization_claiming(
        &self,
        email: &Email,
    ) -> Result<Option<Organization>> {
        match self.store().claimed_domain(email.domain()).await? {
            Some(c) if c.verified => Ok(self.store().organization(&c.org_id).await?),
            _ => Ok(None),
        }
    }
}
