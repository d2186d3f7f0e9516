//! SSO sign-in: start at the organization's IdP, come back, decide (the
//! domain's table), apply the decision atomically, and sign in or hand over
//! to the setup step.

use crate::{App, Error, Principal, Result, SessionIssued};
use admit_domain::{
    Account, AccountInOrg, Actor, Email, Event, EventDetails, EventType, IdentityLink, IdpIdentity,
    InvitationError, InvitationToken, MemberId, Membership, Organization, PendingSignIn, Refusal,
    Secret, SetupGrant, SignInFacts, SsoConfig, SsoDecision, SsoIdentifier, TokenDigest, UserId,
    decide,
};
use admit_store::{Expected, SignInWrite, StoreError};

use crate::ServiceProvider;

/// What proves the account a sign-in is to link its identity to.
pub enum LinkBy<'a> {
    /// The `link_token` of a sign-in refused with `sso_required`.
    Token(&'a str),
    /// A session of the account (`link=1`).
    Session(&'a Principal),
}

/// Where `/sso/start` sends the browser, and the secret of its sign-in cookie.
pub struct SignInStarted {
    pub redirect: String,
    pub browser_secret: String,
}

/// How a sign-in ends when it is not refused.
pub enum SignInOutcome {
    /// A session for a member who is in.
    SignedIn(SessionIssued),
    /// The setup step is next, authorized by this single-use token.
    Setup { setup_token: String },
}

/// How often a sign-in whose write met a concurrent one is decided again.
const DECISION_ATTEMPTS: usize = 3;

impl App {
    fn redirect_uri(&self) -> String {
        self.config().link("/sso/oidc/callback")
    }

    /// `GET /sso/start?identifier=…[&invitation=…]`.
    #[tracing::instrument(skip_all, fields(identifier = %identifier))]
    pub async fn start_sign_in(
        &self,
        identifier: &str,
        invitation: Option<&str>,
    ) -> Result<SignInStarted> {
        self.start_sign_in_with(identifier, invitation, None).await
    }

    /// [`App::start_sign_in`]; with `link`, the identity that comes back is
    /// linked to that account (docs/product.md, "Linking an IdP identity to
    /// a signed-in account"), which must be an accepted or confirmed member
    /// of the organization (403 otherwise; an unknown, used or expired link
    /// token is 404).
    pub async fn start_sign_in_with(
        &self,
        identifier: &str,
        invitation: Option<&str>,
        link: Option<LinkBy<'_>>,
    ) -> Result<SignInStarted> {
        self.count_request().await?;
        let ident = SsoIdentifier::parse(identifier).map_err(|_| Error::NotFound)?;
        let org = self
            .store()
            .organization_by_sso_identifier(&ident)
            .await?
            .ok_or(Error::NotFound)?;
        let Some(sso) = org.sso.as_ref().filter(|_| org.sso_enabled) else {
            return Err(Error::NotFound);
        };
        let invited = match invitation.filter(|t| !t.is_empty()) {
            Some(raw) => Some(self.invitation_for(&org, raw).await?),
            None => None,
        };
        let link_user = match link {
            Some(by) => Some(self.account_to_link(&org, by).await?),
            None => None,
        };
        let now = self.now();
        let mut started = PendingSignIn::start(
            org.id.clone(),
            invited,
            String::new(),
            String::new(),
            now,
            &mut rand::rng(),
        );
        let state = started.state.expose();
        let redirect = match sso {
            SsoConfig::Oidc(config) => {
                let request = self
                    .oidc()?
                    .authorization_request(config, &self.redirect_uri(), &state)
                    .await
                    .map_err(oidc_error)?;
                started.pending.nonce = request.nonce;
                started.pending.pkce_verifier = request.pkce_verifier;
                request.url
            }
            SsoConfig::Saml(config) => {
                // The state travels as the RelayState; the request ID is kept here.
                let request = self
                    .saml()?
                    .authn_request(config, &self.service_provider(&org), &state, now)
                    .map_err(saml_error)?;
                started.pending.nonce = request.request_id;
                request.url
            }
        };
        started.pending.link_user = link_user;
        self.store().put_pending_sign_in(&started.pending).await?;
        Ok(SignInStarted {
            redirect,
            browser_secret: started.browser.expose(),
        })
    }

    /// The account a linking sign-in is for: a link token's (used up here),
    /// or a session's; it must be an accepted or confirmed member of `org`.
    async fn account_to_link(&self, org: &Organization, by: LinkBy<'_>) -> Result<UserId> {
        let user = match by {
            LinkBy::Token(raw) => {
                let token = Secret::parse(raw).ok_or(Error::NotFound)?;
                let grant = self
                    .store()
                    .take_link_grant(&token.digest())
                    .await?
                    .filter(|g| g.is_live(self.now()) && g.org_id == org.id)
                    .ok_or(Error::NotFound)?;
                grant.user_id
            }
            // A session from another organization's SSO acts there only.
            LinkBy::Session(who) if who.scope.as_ref().is_some_and(|s| *s != org.id) => {
                return Err(Error::NotFound);
            }
            LinkBy::Session(who) => who.user_id.clone(),
        };
        self.member_to_link(org, &user).await?;
        Ok(user)
    }

    /// `user`'s membership in `org`, which must be accepted or confirmed.
    async fn member_to_link(&self, org: &Organization, user: &UserId) -> Result<Membership> {
        let account = self.store().account(user).await?.ok_or(Error::NotFound)?;
        self.store()
            .membership(&org.id, &MemberId::of(&org.id, &account.email))
            .await?
            .filter(|m| {
                m.user_id.as_ref() == Some(user)
                    && matches!(
                        m.status,
                        admit_domain::Status::Accepted | admit_domain::Status::Confirmed
                    )
            })
            .ok_or(Error::Forbidden)
    }

    /// The invited membership an invitation link opens in `org`.
    async fn invitation_for(&self, org: &Organization, raw: &str) -> Result<MemberId> {
        let token = InvitationToken::parse(raw).ok_or(Error::NotFound)?;
        if token.org_id != org.id {
            return Err(Error::NotFound);
        }
        let m = self
            .store()
            .membership(&org.id, &token.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        m.check_invitation(&token, self.now())
            .map_err(|e| match e {
                InvitationError::Unknown => Error::NotFound,
                InvitationError::Expired => Error::Expired,
            })?;
        Ok(m.member_id)
    }

    /// `/sso/oidc/callback`: the IdP's answer.
    #[tracing::instrument(skip_all)]
    pub async fn finish_oidc_sign_in(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        idp_error: Option<&str>,
        browser_secret: Option<&str>,
    ) -> Result<SignInOutcome> {
        let rejected = |why: &str| Error::SignInRejected(why.to_owned());
        let pending = self.take_pending(state, browser_secret).await?;
        if let Some(e) = idp_error {
            return Err(Error::SignInRejected(format!(
                "the identity provider answered {e:?}"
            )));
        }
        let code = code.ok_or_else(|| rejected("no authorization code"))?;
        // The organization comes from the stored state, never from the IdP's response.
        let org = self
            .store()
            .organization(&pending.org_id)
            .await?
            .ok_or(Error::NotFound)?;
        let Some(SsoConfig::Oidc(config)) = org.sso.as_ref().filter(|_| org.sso_enabled) else {
            return Err(rejected(
                "single sign-on is not enabled for this organization",
            ));
        };
        // Opened here, for the token request only: never before the pending
        // sign-in checked out, so a stranger's request costs no key-service call.
        let with_secret = self.open_client_secret(&org, config).await?;
        let identity = self
            .oidc()?
            .identify(
                &with_secret,
                &self.redirect_uri(),
                code,
                &pending.pkce_verifier,
                &pending.nonce,
            )
            .await
            .map_err(oidc_error)?;
        // Links are per IdP: the same `sub` from another issuer is another person.
        let identity = IdpIdentity {
            external_id: identity.external_id.at_idp(&config.issuer),
            ..identity
        };
        self.sign_in(org, &pending, &identity).await
    }

    /// The pending sign-in of `state` (OIDC `state`, SAML RelayState): taken,
    /// and so used up, before anything else is checked; then it must belong
    /// to this browser and be in time.
    async fn take_pending(
        &self,
        state: Option<&str>,
        browser_secret: Option<&str>,
    ) -> Result<PendingSignIn> {
        let rejected = |why: &str| Error::SignInRejected(why.to_owned());
        let state = state
            .and_then(Secret::parse)
            .ok_or_else(|| rejected("unknown sign-in; start again"))?;
        let pending = self
            .store()
            .take_pending_sign_in(&state.digest())
            .await?
            .ok_or_else(|| rejected("this sign-in expired or was used already; start again"))?;
        if !pending.admits(browser_secret.and_then(Secret::parse).as_ref(), self.now()) {
            return Err(rejected(
                "this sign-in expired or was started in another browser; start again",
            ));
        }
        Ok(pending)
    }

    /// Admit as the SAML service provider of `org`.
    pub(crate) fn service_provider(&self, org: &Organization) -> ServiceProvider {
        ServiceProvider {
            entity_id: self
                .config()
                .link(&format!("/sso/saml/metadata/{}", org.sso_identifier)),
            acs_url: self.config().link("/sso/saml/acs"),
        }
    }

    /// `GET /sso/saml/metadata/{sso_identifier}`: the SP metadata of an
    /// organization, for its IdP administrator to import.
    pub async fn saml_metadata(&self, identifier: &str) -> Result<String> {
        let ident = SsoIdentifier::parse(identifier).map_err(|_| Error::NotFound)?;
        let org = self
            .store()
            .organization_by_sso_identifier(&ident)
            .await?
            .ok_or(Error::NotFound)?;
        self.saml()?
            .metadata(&self.service_provider(&org), self.now())
            .map_err(saml_error)
    }

    /// `POST /sso/saml/acs`: the IdP's response, by HTTP-POST.
    #[tracing::instrument(skip_all)]
    pub async fn finish_saml_sign_in(
        &self,
        saml_response: Option<&str>,
        relay_state: Option<&str>,
        browser_secret: Option<&str>,
    ) -> Result<SignInOutcome> {
        let rejected = |why: &str| Error::SignInRejected(why.to_owned());
        let saml = self.saml()?;
        let response = saml
            .read_response(saml_response.ok_or_else(|| rejected("no SAMLResponse"))?)
            .map_err(saml_error)?;
        let (org, pending, request_id) = match &response.in_response_to {
            Some(in_response_to) => {
                let pending = self.take_pending(relay_state, browser_secret).await?;
                if pending.nonce.is_empty() || pending.nonce != *in_response_to {
                    return Err(rejected("the response does not answer this sign-in"));
                }
                // The organization comes from the stored sign-in, never from the response.
                let org = self
                    .store()
                    .organization(&pending.org_id)
                    .await?
                    .ok_or(Error::NotFound)?;
                let request_id = Some(pending.nonce.clone());
                (org, Some(pending), request_id)
            }
            None => {
                let org = self.unsolicited_audience(&response.audiences).await?;
                let allowed = matches!(
                    org.sso.as_ref().filter(|_| org.sso_enabled),
                    Some(SsoConfig::Saml(c)) if c.allow_idp_initiated
                );
                if !allowed {
                    return Err(rejected(
                        "the response answers no sign-in (no InResponseTo), and this organization \
                         does not accept IdP-initiated sign-ins",
                    ));
                }
                (org, None, None)
            }
        };
        let Some(SsoConfig::Saml(config)) = org.sso.as_ref().filter(|_| org.sso_enabled) else {
            return Err(rejected(
                "single sign-on is not enabled for this organization",
            ));
        };
        let now = self.now();
        // XML signature checking is CPU work in C libraries: off the async workers.
        let verified = {
            let (config, sp) = (config.clone(), self.service_provider(&org));
            let request_id = request_id.clone();
            tokio::task::spawn_blocking(move || {
                saml.verify(&config, &sp, &response, request_id.as_deref(), now)
            })
            .await
            .map_err(|e| Error::Internal(format!("SAML verification task: {e}")))?
            .map_err(saml_error)?
        };
        // Each assertion is good once, until it expires (IdP-initiated ones included).
        let replay_key = TokenDigest::of_bytes(
            format!("{}\n{}", config.idp_entity_id, verified.assertion_id).as_bytes(),
        );
        if !self
            .store()
            .record_assertion(&replay_key, verified.valid_until, now)
            .await?
        {
            tracing::warn!(org_id = %org.id, "replayed SAML assertion refused");
            return Err(rejected("this response was used already; start again"));
        }
        // Links are per IdP: the same NameID from another IdP is another person.
        let identity = IdpIdentity {
            external_id: verified.identity.external_id.at_idp(&config.idp_entity_id),
            ..verified.identity
        };
        match pending {
            Some(pending) => self.sign_in(org, &pending, &identity).await,
            None => self.sign_in_unsolicited(org, &identity).await,
        }
    }

    /// The organization an unsolicited response is addressed to: its
    /// audience is that organization's SP entity id.
    async fn unsolicited_audience(&self, audiences: &[String]) -> Result<Organization> {
        let prefix = self.config().link("/sso/saml/metadata/");
        let not_ours = || {
            Error::SignInRejected("the response is not addressed to this service provider".into())
        };
        let mut ours = audiences.iter().filter_map(|a| a.strip_prefix(&prefix));
        let (Some(identifier), None) = (ours.next(), ours.next()) else {
            return Err(not_ours());
        };
        let ident = SsoIdentifier::parse(identifier).map_err(|_| not_ours())?;
        self.store()
            .organization_by_sso_identifier(&ident)
            .await?
            .ok_or_else(not_ours)
    }

    /// An IdP-initiated sign-in: no invitation, nothing to link.
    async fn sign_in_unsolicited(
        &self,
        org: Organization,
        identity: &IdpIdentity,
    ) -> Result<SignInOutcome> {
        self.decide_and_apply(org, None, identity).await
    }

    /// A sign-in this browser started: linking when it asked to, else the
    /// decision table.
    async fn sign_in(
        &self,
        org: Organization,
        pending: &PendingSignIn,
        identity: &IdpIdentity,
    ) -> Result<SignInOutcome> {
        match &pending.link_user {
            Some(user) => self.link_and_sign_in(&org, user, identity).await,
            None => {
                self.decide_and_apply(org, pending.invitation.as_ref(), identity)
                    .await
            }
        }
    }

    /// Link the returning identity to `user` — whatever email the IdP
    /// asserts: the account proved itself (its password, or a session),
    /// the IdP proved the identity — and sign in. An identity linked to
    /// another account already → 409, nothing written.
    async fn link_and_sign_in(
        &self,
        org: &Organization,
        user: &UserId,
        identity: &IdpIdentity,
    ) -> Result<SignInOutcome> {
        let m = self.member_to_link(org, user).await?;
        let scope = m.clone();
        match self
            .store()
            .identity_link(&org.id, &identity.external_id)
            .await?
        {
            Some(link) if link.user_id == *user => {}
            Some(_) => {
                return Err(Error::Conflict(
                    "this identity is linked to another account".into(),
                ));
            }
            None => {
                let account = self.store().account(user).await?.ok_or(Error::NotFound)?;
                let protocol = match &org.sso {
                    Some(SsoConfig::Saml(_)) => "saml",
                    _ => "oidc",
                };
                let event = self.member_event(
                    &m,
                    &Actor::user(&account.id, &account.email),
                    EventType::SsoLinked,
                    EventDetails {
                        protocol: Some(protocol.into()),
                        via: Some("link".into()),
                        ..Default::default()
                    },
                );
                let write = SignInWrite::Link {
                    link: IdentityLink {
                        org_id: org.id.clone(),
                        external_id: identity.external_id.clone(),
                        user_id: user.clone(),
                        linked_at: self.now(),
                    },
                    membership: Some(m),
                };
                match self.store().apply_sign_in(&write, &[event]).await {
                    Err(StoreError::Conflict) => {
                        return Err(Error::Conflict(
                            "this identity was linked meanwhile, or the membership changed".into(),
                        ));
                    }
                    other => other?,
                }
                tracing::info!(user_id = %user, "identity linked at the account's request");
            }
        }
        // The membership's email is its account's.
        self.sync_groups_and_role(
            org,
            Some(&scope),
            identity,
            &Actor::user(user, &scope.email),
        )
        .await;
        Ok(SignInOutcome::SignedIn(
            self.start_session(user.clone(), Some(&scope), &[]).await?,
        ))
    }

    /// Decide and apply, whatever the protocol.
    async fn decide_and_apply(
        &self,
        mut org: Organization,
        invitation: Option<&MemberId>,
        identity: &IdpIdentity,
    ) -> Result<SignInOutcome> {
        let invitation_email = match invitation {
            Some(id) => self.store().membership(&org.id, id).await?.map(|m| m.email),
            None => None,
        };
        for _ in 0..DECISION_ATTEMPTS {
            let facts = Facts::load(self, &org, identity).await?;
            let decision = decide(&facts.view(&org, identity, invitation_email.as_ref()));
            tracing::info!(org_id = %org.id, decision = ?decision_name(&decision), "sso decision");
            match self.apply(&org, identity, &facts, decision).await {
                Err(Error::Conflict(_)) => {
                    // A concurrent sign-in of the same person (or an admin) changed the facts.
                    org = self
                        .store()
                        .organization(&org.id)
                        .await?
                        .ok_or(Error::NotFound)?;
                }
                other => return other,
            }
        }
        Err(Error::Conflict(
            "too many concurrent changes; sign in again".into(),
        ))
    }

    async fn apply(
        &self,
        org: &Organization,
        identity: &IdpIdentity,
        facts: &Facts,
        decision: SsoDecision,
    ) -> Result<SignInOutcome> {
        let now = self.now();
        let link = |user: &UserId| IdentityLink {
            org_id: org.id.clone(),
            external_id: identity.external_id.clone(),
            user_id: user.clone(),
            linked_at: now,
        };
        let new_account = |email: &Email| Account {
            id: UserId::generate(&mut rand::rng()),
            email: email.clone(),
            name: identity.name.clone(),
            master_password: None,
            keys: None,
            devices: Vec::new(),
            created_at: now,
        };
        let protocol = match &org.sso {
            Some(SsoConfig::Oidc(_)) => "oidc",
            Some(SsoConfig::Saml(_)) => "saml",
            None => "none",
        };
        // Each outcome writes one event, with the write that makes it.
        let event = |kind: EventType,
                     member: Option<&MemberId>,
                     email: Option<&Email>,
                     via: Option<&str>| {
            let details = EventDetails {
                email: email.cloned(),
                protocol: Some(protocol.to_owned()),
                via: via.map(str::to_owned),
                ..Default::default()
            };
            self.event(&org.id, &facts.actor(identity), kind, member, details)
        };
        let subject = facts.membership().map(|m| (&m.member_id, &m.email));
        let (member_id, member_email) = (subject.map(|s| s.0), subject.map(|s| s.1));
        match decision {
            SsoDecision::Refuse(r) => Err(self.record_refusal(event, facts, identity, r).await),
            SsoDecision::SignIn { user } => {
                self.sync_groups_and_role(
                    org,
                    facts.membership(),
                    identity,
                    &facts.actor(identity),
                )
                .await;
                let e = event(EventType::SsoSignedIn, member_id, member_email, None);
                Ok(SignInOutcome::SignedIn(
                    self.start_session(user, facts.membership(), &[e]).await?,
                ))
            }
            SsoDecision::ContinueSetup { user, member } => {
                self.sync_groups_and_role(
                    org,
                    facts.membership(),
                    identity,
                    &facts.actor(identity),
                )
                .await;
                let e = event(
                    EventType::SsoSignedIn,
                    Some(&member),
                    member_email,
                    Some("setup"),
                );
                self.grant_setup(org, member, user, &[e]).await
            }
            SsoDecision::LinkAndSignIn { user } => {
                // The confirmed membership the decision saw must still be so (a revoke wins the race).
                let membership = facts.by_email.as_ref().and_then(|(_, m)| m.clone());
                let e = event(EventType::SsoLinked, member_id, member_email, None);
                self.store()
                    .apply_sign_in(
                        &SignInWrite::Link {
                            link: link(&user),
                            membership: membership.clone(),
                        },
                        &[e],
                    )
                    .await?;
                tracing::info!(user_id = %user, "identity linked");
                self.sync_groups_and_role(
                    org,
                    membership.as_ref(),
                    identity,
                    &facts.actor(identity),
                )
                .await;
                Ok(SignInOutcome::SignedIn(
                    self.start_session(user, membership.as_ref(), &[]).await?,
                ))
            }
            SsoDecision::CreateAccountForInvitation { member, email } => {
                let invited = facts
                    .email_membership
                    .clone()
                    .filter(|m| m.member_id == member)
                    .ok_or(Error::NotFound)?;
                let account = new_account(&email);
                let mut membership = invited.clone();
                membership.user_id = Some(account.id.clone());
                let groups = idp_groups_of(identity).unwrap_or_default();
                membership.idp_groups.clone_from(&groups);
                let user = account.id.clone();
                let written = membership.clone();
                let write = SignInWrite::CreateAccountForInvitation {
                    link: link(&user),
                    account,
                    membership,
                    expected: Expected::as_read(&invited),
                };
                // The event names the account it creates.
                let mut e = event(
                    EventType::SsoJitCreated,
                    Some(&member),
                    Some(&email),
                    Some("invitation"),
                );
                e.actor = Actor::user(&user, &email);
                e.details.groups_added = groups;
                self.store().apply_sign_in(&write, &[e]).await?;
                tracing::info!(user_id = %user, "account created just in time for an invitation");
                // Its groups are written; the admin group may move its role.
                self.sync_groups_and_role(
                    org,
                    Some(&written),
                    identity,
                    &Actor::user(&user, &email),
                )
                .await;
                self.grant_setup(org, member, user, &[]).await
            }
            SsoDecision::CreateAccountAndMembership { email } => {
                let account = new_account(&email);
                let user = account.id.clone();
                let via = if facts.claimed_domain {
                    "domain"
                } else {
                    "sso_identifier"
                };
                let mut membership = Membership::just_in_time(&org.id, email, user.clone(), now);
                membership.end_sessions(&mut rand::rng());
                membership.idp_groups = idp_groups_of(identity).unwrap_or_default();
                let member = membership.member_id.clone();
                let mut e = event(
                    EventType::SsoJitCreated,
                    Some(&member),
                    Some(&membership.email),
                    Some(via),
                );
                e.actor = Actor::user(&user, &membership.email);
                e.details.groups_added.clone_from(&membership.idp_groups);
                let written = membership.clone();
                let write = SignInWrite::CreateAccountAndMembership {
                    org: org.clone(),
                    link: link(&user),
                    account,
                    membership,
                };
                match self.store().apply_sign_in(&write, &[e]).await {
                    Err(StoreError::NoSeats) => {
                        return Err(self
                            .record_refusal(event, facts, identity, Refusal::NoSeats)
                            .await);
                    }
                    other => other?,
                }
                tracing::info!(user_id = %user, "account and membership created just in time");
                let actor = Actor::user(&user, &written.email);
                self.sync_groups_and_role(org, Some(&written), identity, &actor)
                    .await;
                self.grant_setup(org, member, user, &[]).await
            }
        }
    }

    /// Replace the groups the IdP set on the membership `read` with those
    /// this sign-in's identity says (when it says them), recording
    /// `member.groups_changed`, and let the role follow the organization's
    /// admin group ([`crate::admin_group`]), recording `member.role_changed`.
    /// Only those attributes are written, on the membership still as read:
    /// a concurrent change makes it read the membership again and retry. An
    /// unchanged membership writes nothing.
    ///
    /// The groups SCIM manages are its own records and stay as they are: a
    /// sign-in only says what the IdP's token says at that moment, while
    /// SCIM pushes every change as it happens (also to members who do not
    /// sign in), so neither source may undo the other's groups.
    async fn sync_groups_and_role(
        &self,
        org: &Organization,
        read: Option<&Membership>,
        identity: &IdpIdentity,
        actor: &Actor,
    ) {
        // Optional to the sign-in: it goes on, and the next one tries again.
        if let Err(e) = self
            .try_sync_groups_and_role(org, read, identity, actor)
            .await
        {
            tracing::warn!(error = %e, "groups and role not updated at this sign-in");
        }
    }

    async fn try_sync_groups_and_role(
        &self,
        org: &Organization,
        read: Option<&Membership>,
        identity: &IdpIdentity,
        actor: &Actor,
    ) -> Result<()> {
        // An organization that reads no groups keeps none from before.
        let groups = if crate::admin_group::reads_idp_groups(org) {
            idp_groups_of(identity)
        } else {
            Some(Vec::new())
        };
        let Some(mut m) = read.cloned() else {
            return Ok(());
        };
        for _ in 0..DECISION_ATTEMPTS {
            let mut updated = m.clone();
            if let Some(g) = &groups {
                updated.idp_groups.clone_from(g);
            }
            let role = match org.admin_group.as_deref() {
                Some(admin) if updated.role_follows_group() => {
                    let in_group = self.in_admin_group(org, admin, &updated, None).await?;
                    updated
                        .follow_admin_group(in_group)
                        .map(|(old, _)| (old, Some(admin)))
                }
                Some(_) => None,
                // No group (cleared while this sign-in ran): what it gave goes back.
                None => updated
                    .follow_admin_group(false)
                    .map(|(old, _)| (old, None)),
            };
            let mut events = Vec::new();
            if updated.idp_groups != m.idp_groups {
                let not_in = |a: &[String], b: &[String]| -> Vec<String> {
                    a.iter().filter(|g| !b.contains(g)).cloned().collect()
                };
                let details = EventDetails {
                    groups_added: not_in(&updated.idp_groups, &m.idp_groups),
                    groups_removed: not_in(&m.idp_groups, &updated.idp_groups),
                    ..Default::default()
                };
                events.push(self.member_event(&m, actor, EventType::MemberGroupsChanged, details));
            }
            if let Some((old, admin)) = role {
                events.push(self.group_role_event(&updated, old, admin, actor));
            }
            if events.is_empty() {
                return Ok(());
            }
            match self
                .store()
                .set_groups_and_role(&m, &updated, &events)
                .await
            {
                Ok(()) => {
                    tracing::info!(member_id = %m.member_id, role = ?updated.role, "groups from the IdP updated");
                    return Ok(());
                }
                Err(StoreError::Conflict) => {
                    match self.store().membership(&m.org_id, &m.member_id).await? {
                        // Still this sign-in's account's, and not revoked meanwhile.
                        Some(now)
                            if now.user_id == m.user_id
                                && now.status != admit_domain::Status::Revoked =>
                        {
                            m = now;
                        }
                        _ => return Ok(()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(member_id = %m.member_id, "groups from the IdP not updated: the membership kept changing");
        Ok(())
    }

    /// Write `sso.refused` (the refusal changes nothing else) and return
    /// the refusal. The refusal stands even if its event cannot be written.
    async fn record_refusal(
        &self,
        event: impl Fn(EventType, Option<&MemberId>, Option<&Email>, Option<&str>) -> Event,
        facts: &Facts,
        identity: &IdpIdentity,
        refusal: Refusal,
    ) -> Error {
        let member = facts.membership();
        let mut e = event(
            EventType::SsoRefused,
            member.map(|m| &m.member_id),
            member.map(|m| &m.email).or(identity.email.as_ref()),
            None,
        );
        e.details.code = Some(refusal.code().to_owned());
        if let Err(err) = self.store().record_events(&[e]).await {
            tracing::warn!(error = %err, "could not record a refused sign-in");
        }
        Error::Refused(refusal)
    }

    async fn grant_setup(
        &self,
        org: &Organization,
        member: MemberId,
        user: UserId,
        events: &[Event],
    ) -> Result<SignInOutcome> {
        let (grant, token) =
            SetupGrant::issue(org.id.clone(), member, user, self.now(), &mut rand::rng());
        self.store().put_setup_grant(&grant, events).await?;
        Ok(SignInOutcome::Setup {
            setup_token: token.expose(),
        })
    }
}

/// The groups the identity says, as a membership keeps them (sorted, each
/// once, within the limits of [`admit_domain::idp_groups`]) whatever the
/// adapter did.
fn idp_groups_of(identity: &IdpIdentity) -> Option<Vec<String>> {
    identity
        .groups
        .as_ref()
        .map(|g| admit_domain::idp_groups(g.iter().map(String::as_str)).0)
}

fn oidc_error(e: crate::OidcError) -> Error {
    match e {
        crate::OidcError::Unavailable(cause) => {
            tracing::warn!(%cause, "identity provider unavailable");
            Error::IdpUnavailable(cause)
        }
        crate::OidcError::Rejected(why) => {
            tracing::warn!(%why, "sign-in response rejected");
            Error::SignInRejected("the identity provider's response did not verify".into())
        }
    }
}

fn saml_error(e: crate::SamlError) -> Error {
    match e {
        crate::SamlError::Malformed(why) => {
            tracing::warn!(%why, "SAML message refused before parsing");
            Error::InvalidRequest(format!("SAMLResponse: {why}"))
        }
        crate::SamlError::Rejected(why) => {
            tracing::warn!(%why, "SAML response rejected");
            Error::SignInRejected("the identity provider's response did not verify".into())
        }
        crate::SamlError::Internal(why) => Error::Internal(why),
    }
}

fn decision_name(d: &SsoDecision) -> &'static str {
    match d {
        SsoDecision::SignIn { .. } => "sign_in",
        SsoDecision::ContinueSetup { .. } => "continue_setup",
        SsoDecision::LinkAndSignIn { .. } => "link_and_sign_in",
        SsoDecision::CreateAccountForInvitation { .. } => "create_account_for_invitation",
        SsoDecision::CreateAccountAndMembership { .. } => "create_account_and_membership",
        SsoDecision::Refuse(r) => r.code(),
    }
}

/// The facts of the decision, as loaded from the store.
struct Facts {
    linked: Option<(Account, Option<Membership>)>,
    by_email: Option<(Account, Option<Membership>)>,
    email_membership: Option<Membership>,
    /// The email's domain is a verified claimed domain of the organization.
    claimed_domain: bool,
}

impl Facts {
    /// Who signs in, as the events name them: the account the identity
    /// resolves to, else the asserted email.
    fn actor(&self, identity: &IdpIdentity) -> Actor {
        let account = self
            .linked
            .as_ref()
            .or(self.by_email.as_ref())
            .map(|(a, _)| a);
        Actor::User {
            user_id: account.map(|a| a.id.clone()),
            email: account
                .map(|a| a.email.clone())
                .or_else(|| identity.email.clone()),
        }
    }

    /// The membership in this organization the sign-in concerns, if any.
    fn membership(&self) -> Option<&Membership> {
        self.linked
            .as_ref()
            .or(self.by_email.as_ref())
            .and_then(|(_, m)| m.as_ref())
            .or(self.email_membership.as_ref())
    }

    async fn load(app: &App, org: &Organization, identity: &IdpIdentity) -> Result<Facts> {
        let membership_of = |a: &Account| MemberId::of(&org.id, &a.email);
        let linked = match app
            .store()
            .identity_link(&org.id, &identity.external_id)
            .await?
        {
            Some(link) => match app.store().account(&link.user_id).await? {
                Some(a) => {
                    let m = app.store().membership(&org.id, &membership_of(&a)).await?;
                    Some((a, m))
                }
                None => None,
            },
            None => None,
        };
        let (mut by_email, mut email_membership) = (None, None);
        if linked.is_none()
            && let Some(email) = &identity.email
        {
            let m = app
                .store()
                .membership(&org.id, &MemberId::of(&org.id, email))
                .await?;
            match app.store().account_by_email(email).await? {
                Some(a) => by_email = Some((a, m)),
                None => email_membership = m,
            }
        }
        let claimed_domain = match &identity.email {
            Some(email) => app
                .organization_claiming(email)
                .await?
                .is_some_and(|o| o.id == org.id),
            None => false,
        };
        Ok(Facts {
            linked,
            by_email,
            email_membership,
            claimed_domain,
        })
    }

    fn view<'a>(
        &'a self,
        org: &'a Organization,
        identity: &'a IdpIdentity,
        invitation_email: Option<&'a Email>,
    ) -> SignInFacts<'a> {
        let pair = |p: &'a (Account, Option<Membership>)| AccountInOrg {
            account: &p.0,
            membership: p.1.as_ref(),
        };
        SignInFacts {
            org,
            identity,
            linked: self.linked.as_ref().map(pair),
            by_email: self.by_email.as_ref().map(pair),
            email_membership: self.email_membership.as_ref(),
            invitation_email,
            claimed_domain: self.claimed_domain,
        }
    }
}
