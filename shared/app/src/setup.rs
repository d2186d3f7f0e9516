//! The setup step after a just-in-time sign-in, by the organization's
//! decryption option: create a master password, register this device, or
//! nothing beyond the keys (key connector). Completing it accepts the
//! membership, notifies the administrators and signs the member in.

use crate::views::{
    SetupDone, SetupKeyConnector, SetupMasterPassword, SetupTrustedDevice, SetupView,
};
use crate::{App, Error, Result, passwords};
use admit_domain::{
    Account, Actor, Device, EventDetails, EventType, KeyMaterial, MasterPassword,
    MasterPasswordHash, MemberDecryption, Membership, Organization, Secret, SetupGrant, Status,
};
use admit_store::{Expected, StoreError};

impl App {
    /// The unexpired grant of a setup token, and its organization.
    async fn live_grant(&self, token: &str) -> Result<(SetupGrant, Organization)> {
        let digest = Secret::parse(token).ok_or(Error::NotFound)?.digest();
        let grant = self
            .store()
            .setup_grant(&digest)
            .await?
            .ok_or(Error::NotFound)?;
        if !grant.is_live(self.now()) {
            return Err(Error::Expired);
        }
        let org = self
            .store()
            .organization(&grant.org_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((grant, org))
    }

    /// What the setup page shows: whose setup it is and which option applies.
    pub async fn setup_lookup(&self, token: &str) -> Result<SetupView> {
        self.count_request().await?;
        let (grant, org) = self.live_grant(token).await?;
        let account = self
            .store()
            .account(&grant.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(SetupView {
            org_name: org.name,
            email: account.email.to_string(),
            member_decryption: org.member_decryption,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn setup_master_password(&self, req: SetupMasterPassword) -> Result<SetupDone> {
        self.count_request().await?;
        let secret =
            MasterPasswordHash::parse(&req.master_password_hash).map_err(Error::invalid)?;
        let kdf = req.kdf.validate().map_err(Error::invalid)?;
        let keys = req.keys.validate().map_err(Error::invalid)?;
        let (grant, org, membership, mut account) = self
            .open_setup(&req.setup_token, MemberDecryption::MasterPassword)
            .await?;
        account.master_password = Some(MasterPassword {
            verifier: passwords::hash(&secret).await?,
            kdf,
        });
        account.keys = Some(keys);
        self.finish_setup(&grant, &org, membership, account).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn setup_trusted_device(&self, req: SetupTrustedDevice) -> Result<SetupDone> {
        self.count_request().await?;
        let keys = req.keys.validate().map_err(Error::invalid)?;
        let (grant, org, membership, mut account) = self
            .open_setup(&req.setup_token, MemberDecryption::TrustedDevices)
            .await?;
        let device = Device::new(
            &req.device.identifier,
            &req.device.name,
            &req.device.device_type,
            req.remember,
            self.now(),
        )
        .map_err(Error::invalid)?;
        account
            .devices
            .retain(|d| d.identifier != device.identifier);
        account.devices.push(device);
        account.keys = Some(keys);
        self.finish_setup(&grant, &org, membership, account).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn setup_key_connector(&self, req: SetupKeyConnector) -> Result<SetupDone> {
        self.count_request().await?;
        let keys: KeyMaterial = req.keys.validate().map_err(Error::invalid)?;
        let (grant, org, membership, mut account) = self
            .open_setup(&req.setup_token, MemberDecryption::KeyConnector)
            .await?;
        account.keys = Some(keys);
        self.finish_setup(&grant, &org, membership, account).await
    }

    /// The grant, organization, membership and account a setup token opens,
    /// when the organization decrypts with `option`.
    async fn open_setup(
        &self,
        token: &str,
        option: MemberDecryption,
    ) -> Result<(SetupGrant, Organization, Membership, Account)> {
        let (grant, org) = self.live_grant(token).await?;
        if org.member_decryption != option {
            return Err(Error::Conflict(format!(
                "this organization's members set up with {:?}",
                org.member_decryption
            )));
        }
        let membership = self
            .store()
            .membership(&grant.org_id, &grant.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if membership.status != Status::Invited
            || membership.user_id.as_ref() != Some(&grant.user_id)
        {
            return Err(Error::Conflict("this setup step is already done".into()));
        }
        let account = self
            .store()
            .account(&grant.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok((grant, org, membership, account))
    }

    async fn finish_setup(
        &self,
        grant: &SetupGrant,
        org: &Organization,
        membership: Membership,
        account: Account,
    ) -> Result<SetupDone> {
        let mut accepted = membership.clone();
        accepted
            .accept(account.id.clone(), self.now())
            .map_err(|_| Error::Conflict("this setup step is already done".into()))?;
        let event = self.member_event(
            &membership,
            &Actor::user(&account.id, &account.email),
            EventType::MemberAccepted,
            EventDetails {
                via: Some("setup".into()),
                ..Default::default()
            },
        );
        match self
            .store()
            .complete_setup(
                &grant.digest,
                &accepted,
                &Expected::as_read(&membership),
                &account,
                &[event],
            )
            .await
        {
            Err(StoreError::Conflict) => return Err(Error::NotFound),
            other => other?,
        }
        tracing::info!(member_id = %accepted.member_id, "setup complete; accepted");
        self.send_owed(org, accepted.clone(), None).await;
        let session = self.start_session(account.id, Some(&accepted), &[]).await?;
        Ok(SetupDone {
            member_id: accepted.member_id.to_string(),
            status: accepted.status,
            session_token: session.session_token,
        })
    }
}
