//! Single sign-on: the settings and policies, starting and finishing a
//! sign-in through in-process fakes of the IdP ports (the decision table of
//! docs/product.md, row by row), and the setup step after it.

#[macro_use]
mod support;

use admit_app::{
    DeviceInput, Error, PoliciesInput, SetupKeyConnector, SetupMasterPassword, SetupTrustedDevice,
};
use admit_domain::{Kdf, MemberDecryption, Refusal, Role, Status};
use support::{
    FakeOidc, FakeResponse, FakeSaml, ISSUER, Org, PUBLIC_URL, World, identity, keys,
    oidc_settings, password, saml_settings, session_token, setup_token,
};
use time::Duration;

fn master_password_setup(token: &str, pw: char) -> SetupMasterPassword {
    SetupMasterPassword {
        setup_token: token.into(),
        master_password_hash: password(pw),
        kdf: Kdf::DEFAULT,
        keys: keys(),
    }
}

fn policies(require_sso: Option<bool>, jit: Option<bool>) -> PoliciesInput {
    PoliciesInput {
        require_sso,
        jit_without_invitation: jit,
    }
}

async fn sso_org(w: &World, decryption: MemberDecryption) -> Org {
    let org = w.org("Acme", "acme").await;
    w.enable_oidc(&org, decryption).await;
    org
}

// ---- settings and policies ----

#[tokio::test]
async fn oidc_settings_are_stored_and_shown_without_the_secret() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let view = w
        .app
        .configure_sso(&acme.owner, &acme.id, oidc_settings())
        .await
        .unwrap();
    assert!(view.enabled);
    assert_eq!(view.protocol, Some("oidc"));
    assert_eq!(view.issuer.as_deref(), Some(ISSUER));
    assert_eq!(view.client_id.as_deref(), Some("admit"));
    assert!(view.client_secret_set);
    assert_eq!(view.redirect_uri, format!("{PUBLIC_URL}/sso/oidc/callback"));
    assert_eq!(
        view.sp_entity_id,
        format!("{PUBLIC_URL}/sso/saml/metadata/acme")
    );

    // The same client keeps its stored secret when none is sent.
    let mut again = oidc_settings();
    again.client_secret = None;
    again.member_decryption = MemberDecryption::TrustedDevices;
    w.app
        .configure_sso(&acme.owner, &acme.id, again)
        .await
        .unwrap();
    let read = w.app.sso_settings(&acme.owner, &acme.id).await.unwrap();
    assert_eq!(read.member_decryption, MemberDecryption::TrustedDevices);
    assert!(read.client_secret_set);
    let org = w.app.organization(&acme.owner, &acme.id).await.unwrap();
    assert!(org.sso_enabled);
    assert_eq!(org.member_decryption, MemberDecryption::TrustedDevices);

    // Another client must bring its own secret.
    let mut other_client = oidc_settings();
    other_client.client_id = Some("someone-else".into());
    other_client.client_secret = None;
    assert_err!(
        w.app
            .configure_sso(&acme.owner, &acme.id, other_client)
            .await,
        Error::InvalidRequest(_)
    );
}

#[tokio::test]
async fn sso_settings_refuse_bad_input_and_non_administrators() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    let (_, user) = w
        .confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;
    let bad: Vec<admit_app::PutSso> = vec![
        admit_app::PutSso {
            issuer: None,
            ..oidc_settings()
        },
        admit_app::PutSso {
            client_id: None,
            ..oidc_settings()
        },
        admit_app::PutSso {
            issuer: Some("http://idp.example.net".into()),
            ..oidc_settings()
        },
        admit_app::PutSso {
            protocol: "kerberos".into(),
            ..oidc_settings()
        },
        admit_app::PutSso {
            idp_entity_id: Some("https://idp.example.net/saml".into()),
            ..oidc_settings()
        },
        admit_app::PutSso {
            member_decryption: MemberDecryption::KeyConnector,
            ..oidc_settings()
        },
        admit_app::PutSso {
            idp_certificate_pem: None,
            ..saml_settings()
        },
        admit_app::PutSso {
            idp_certificate_pem: Some(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
            ),
            ..saml_settings()
        },
        admit_app::PutSso {
            client_id: Some("admit".into()),
            ..saml_settings()
        },
    ];
    for req in bad {
        assert_err!(
            w.app.configure_sso(&acme.owner, &acme.id, req).await,
            Error::InvalidRequest(_)
        );
    }
    let view = w.app.sso_settings(&acme.owner, &acme.id).await.unwrap();
    assert_eq!(view.protocol, None, "nothing was stored");
    assert!(!view.enabled);

    assert_err!(
        w.app.configure_sso(&user, &acme.id, oidc_settings()).await,
        Error::Forbidden
    );
    assert_err!(w.app.sso_settings(&user, &acme.id).await, Error::Forbidden);
    assert_err!(
        w.app
            .configure_sso(&other.owner, &acme.id, oidc_settings())
            .await,
        Error::NotFound
    );
    assert_err!(
        w.app
            .set_policies(&user, &acme.id, policies(Some(true), None))
            .await,
        Error::Forbidden
    );
}

#[tokio::test]
async fn saml_settings_and_the_sp_metadata() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let mut req = saml_settings();
    req.allow_idp_initiated = Some(true);
    req.member_decryption = MemberDecryption::KeyConnector;
    req.key_connector_url = Some("https://keys.example.net".into());
    let view = w
        .app
        .configure_sso(&acme.owner, &acme.id, req)
        .await
        .unwrap();
    assert_eq!(view.protocol, Some("saml"));
    assert_eq!(
        view.idp_entity_id.as_deref(),
        Some("https://idp.example.net/saml")
    );
    assert_eq!(view.allow_idp_initiated, Some(true));
    assert!(!view.client_secret_set);
    assert_eq!(
        view.key_connector_url.as_deref(),
        Some("https://keys.example.net")
    );
    assert_eq!(view.acs_url, format!("{PUBLIC_URL}/sso/saml/acs"));

    let metadata = w.app.saml_metadata("ACME").await.unwrap();
    assert!(
        metadata.contains(&format!("entityID=\"{PUBLIC_URL}/sso/saml/metadata/acme\"")),
        "{metadata}"
    );
    assert_err!(w.app.saml_metadata("nobody").await, Error::NotFound);
}

#[tokio::test]
async fn policies_change_one_at_a_time() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let p = w
        .app
        .set_policies(&acme.owner, &acme.id, policies(None, Some(false)))
        .await
        .unwrap();
    assert!(!p.jit_without_invitation && !p.require_sso);
    w.app
        .set_policies(&acme.owner, &acme.id, policies(Some(true), None))
        .await
        .unwrap();
    let org = w.app.organization(&acme.owner, &acme.id).await.unwrap();
    assert!(org.policies.require_sso && !org.policies.jit_without_invitation);
}

// ---- starting and finishing a sign-in ----

#[tokio::test]
async fn a_sign_in_starts_only_where_sso_is_enabled() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    assert_err!(w.app.start_sign_in("acme", None).await, Error::NotFound);
    assert_err!(w.app.start_sign_in("nobody", None).await, Error::NotFound);
    assert_err!(w.app.start_sign_in("!", None).await, Error::NotFound);
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let started = w.app.start_sign_in("Acme", None).await.unwrap();
    assert!(
        started
            .redirect
            .starts_with(&format!("{ISSUER}/authorize?")),
        "{}",
        started.redirect
    );
    assert!(!FakeOidc::state_of(&started.redirect).is_empty());
    assert!(!started.browser_secret.is_empty());
    assert_err!(
        w.app.start_sign_in("acme", Some("garbage")).await,
        Error::NotFound
    );
    // An invitation of another organization opens nothing here.
    let other = w.org("Other", "other").await;
    w.invite(&other.owner, &other, &["x@example.com"], Role::User)
        .await
        .unwrap();
    assert_err!(
        w.app
            .start_sign_in("acme", Some(&w.token_for("x@example.com")))
            .await,
        Error::NotFound
    );
}

#[tokio::test]
async fn a_sign_in_state_is_single_use_bound_to_the_browser_and_short_lived() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    let finish = |state: &str, code: &str, browser: &str| {
        let (state, code, browser) = (state.to_owned(), code.to_owned(), browser.to_owned());
        let app = w.app.clone();
        async move {
            app.finish_oidc_sign_in(Some(&state), Some(&code), None, Some(&browser))
                .await
        }
    };
    let who = || identity("sub-1", Some("jit@acme.example.com"), true);

    // Another browser.
    let s = w.app.start_sign_in("acme", None).await.unwrap();
    let code = w.oidc.will_answer(Ok(who()));
    assert_err!(
        finish(&FakeOidc::state_of(&s.redirect), &code, "AAAA").await,
        Error::SignInRejected(_)
    );
    // Used up by that attempt, even from the right browser.
    assert_err!(
        finish(&FakeOidc::state_of(&s.redirect), &code, &s.browser_secret).await,
        Error::SignInRejected(_)
    );
    // Too late (10 minutes).
    let s = w.app.start_sign_in("acme", None).await.unwrap();
    w.advance(Duration::minutes(11));
    let code = w.oidc.will_answer(Ok(who()));
    assert_err!(
        finish(&FakeOidc::state_of(&s.redirect), &code, &s.browser_secret).await,
        Error::SignInRejected(_)
    );
    // The IdP said no, or failed, or its answer did not verify.
    let s = w.app.start_sign_in("acme", None).await.unwrap();
    assert_err!(
        w.app
            .finish_oidc_sign_in(
                Some(&FakeOidc::state_of(&s.redirect)),
                None,
                Some("access_denied"),
                Some(&s.browser_secret)
            )
            .await,
        Error::SignInRejected(_)
    );
    let s = w.app.start_sign_in("acme", None).await.unwrap();
    let code = w
        .oidc
        .will_answer(Err(admit_app::OidcError::Unavailable("down".into())));
    assert_err!(
        finish(&FakeOidc::state_of(&s.redirect), &code, &s.browser_secret).await,
        Error::IdpUnavailable(_)
    );
    let s = w.app.start_sign_in("acme", None).await.unwrap();
    let code = w
        .oidc
        .will_answer(Err(admit_app::OidcError::Rejected("bad signature".into())));
    assert_err!(
        finish(&FakeOidc::state_of(&s.redirect), &code, &s.browser_secret).await,
        Error::SignInRejected(_)
    );
    assert_err!(
        w.app.finish_oidc_sign_in(None, Some("c"), None, None).await,
        Error::SignInRejected(_)
    );
    // None of that wrote a member.
    assert_eq!(w.members(&acme.owner, &acme).await.len(), 1);

    // And the happy path still works.
    setup_token(w.oidc_sign_in(&acme, None, who()).await);
}

#[tokio::test]
async fn row_10_jit_without_invitation_then_master_password_setup() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    let token = setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-jit", Some("Jit@Acme.example.com"), true),
        )
        .await,
    );
    // The account and an invited membership exist, taking a seat.
    let m = w.member(&acme, "jit@acme.example.com").await.unwrap();
    assert_eq!((m.status, m.role), (Status::Invited, Role::User));
    assert_eq!(w.occupied_seats(&acme).await, 2);

    let view = w.app.setup_lookup(&token).await.unwrap();
    assert_eq!(view.org_name, "Acme");
    assert_eq!(view.email, "jit@acme.example.com");
    assert_eq!(view.member_decryption, MemberDecryption::MasterPassword);

    // The wrong option's step is refused.
    assert_err!(
        w.app
            .setup_key_connector(SetupKeyConnector {
                setup_token: token.clone(),
                keys: keys()
            })
            .await,
        Error::Conflict(_)
    );
    let mut weak = master_password_setup(&token, 'J');
    weak.kdf = Kdf::Pbkdf2Sha256 { iterations: 1 };
    assert_err!(
        w.app.setup_master_password(weak).await,
        Error::InvalidRequest(_)
    );

    let done = w
        .app
        .setup_master_password(master_password_setup(&token, 'J'))
        .await
        .unwrap();
    assert_eq!(done.status, Status::Accepted);
    assert_eq!(done.member_id, m.member_id);
    // The session is scoped to the organization and the admins are told.
    let jit = w.app.authenticate(&done.session_token).await.unwrap();
    let me = w.app.me(&jit).await.unwrap();
    assert_eq!(me.memberships[0].status, Status::Accepted);
    assert_eq!(
        w.last_mail_to(&acme.owner_email).subject,
        "jit@acme.example.com awaits confirmation in Acme"
    );
    // The new master password works.
    w.login("jit@acme.example.com", 'J').await;
    // The grant was single use.
    assert_err!(
        w.app
            .setup_master_password(master_password_setup(&token, 'J'))
            .await,
        Error::NotFound | Error::Conflict(_)
    );

    // Row 1: once accepted, the same identity signs in.
    let session = session_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-jit", Some("jit@acme.example.com"), true),
        )
        .await,
    );
    assert_eq!(
        w.app.authenticate(&session).await.unwrap().user_id,
        jit.user_id
    );
}

#[tokio::test]
async fn row_2_an_unfinished_setup_continues_and_grants_expire() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::TrustedDevices).await;
    let who = || identity("sub-2", Some("two@acme.example.com"), true);
    let first = setup_token(w.oidc_sign_in(&acme, None, who()).await);
    w.advance(Duration::minutes(16));
    assert_err!(w.app.setup_lookup(&first).await, Error::Expired);

    let second = setup_token(w.oidc_sign_in(&acme, None, who()).await);
    assert_ne!(first, second);
    assert_eq!(w.members(&acme.owner, &acme).await.len(), 2, "one account");
    let done = w
        .app
        .setup_trusted_device(SetupTrustedDevice {
            setup_token: second,
            remember: true,
            device: DeviceInput {
                identifier: "device-1".into(),
                name: "Laptop".into(),
                device_type: "chrome".into(),
            },
            keys: keys(),
        })
        .await
        .unwrap();
    assert_eq!(done.status, Status::Accepted);
    assert_eq!(
        w.member(&acme, "two@acme.example.com")
            .await
            .unwrap()
            .status,
        Status::Accepted
    );
    assert_err!(w.app.setup_lookup("garbage").await, Error::NotFound);
}

#[tokio::test]
async fn key_connector_setup_needs_only_the_keys() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::KeyConnector).await;
    let token = setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-kc", Some("kc@acme.example.com"), true),
        )
        .await,
    );
    let mut bad = keys();
    bad.user_key.clear();
    assert_err!(
        w.app
            .setup_key_connector(SetupKeyConnector {
                setup_token: token.clone(),
                keys: bad
            })
            .await,
        Error::InvalidRequest(_)
    );
    let done = w
        .app
        .setup_key_connector(SetupKeyConnector {
            setup_token: token,
            keys: keys(),
        })
        .await
        .unwrap();
    assert_eq!(done.status, Status::Accepted);
}

#[tokio::test]
async fn rows_11_12_13_14_refuse_and_write_nothing() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(2), None).await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let sign_in = |sub: &str, email: Option<&str>, verified: bool| {
        w.oidc_sign_in(&acme, None, identity(sub, email, verified))
    };

    // 14: no email; 13: an unverified email.
    assert_err!(
        sign_in("s14", None, true).await,
        Error::Refused(Refusal::EmailMissing)
    );
    assert_err!(
        sign_in("s13", Some("u@acme.example.com"), false).await,
        Error::Refused(Refusal::EmailUnverified)
    );
    // 12: JIT without invitation disallowed.
    w.app
        .set_policies(&acme.owner, &acme.id, policies(None, Some(false)))
        .await
        .unwrap();
    assert_err!(
        sign_in("s12", Some("u@acme.example.com"), true).await,
        Error::Refused(Refusal::InvitationRequired)
    );
    w.app
        .set_policies(&acme.owner, &acme.id, policies(None, Some(true)))
        .await
        .unwrap();
    // 11: the last seat goes to the first; the second finds none.
    setup_token(sign_in("s10", Some("first@acme.example.com"), true).await);
    assert_err!(
        sign_in("s11", Some("second@acme.example.com"), true).await,
        Error::Refused(Refusal::NoSeats)
    );
    let emails: Vec<String> = w
        .members(&acme.owner, &acme)
        .await
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"first@acme.example.com".to_owned()));
    assert_eq!(w.occupied_seats(&acme).await, 2);
}

#[tokio::test]
async fn a_verified_claimed_domain_vouches_for_unverified_emails() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    w.app
        .claim_domain(&acme.id, "acme.example.com", true)
        .await
        .unwrap();
    setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("s", Some("u@acme.example.com"), false),
        )
        .await,
    );
    // Not another domain.
    assert_err!(
        w.oidc_sign_in(
            &acme,
            None,
            identity("t", Some("u@elsewhere.example"), false)
        )
        .await,
        Error::Refused(Refusal::EmailUnverified)
    );
}

#[tokio::test]
async fn row_9_an_invitation_link_vouches_for_its_email_even_without_jit() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    w.app
        .set_policies(&acme.owner, &acme.id, policies(None, Some(false)))
        .await
        .unwrap();
    w.invite(&acme.owner, &acme, &["inv@example.com"], Role::Admin)
        .await
        .unwrap();
    let invitation = w.token_for("inv@example.com");
    // From the link, an unverified email that is the invited one is trusted.
    let token = setup_token(
        w.oidc_sign_in(
            &acme,
            Some(&invitation),
            identity("sub-inv", Some("inv@example.com"), false),
        )
        .await,
    );
    let done = w
        .app
        .setup_master_password(master_password_setup(&token, 'I'))
        .await
        .unwrap();
    let m = w.member(&acme, "inv@example.com").await.unwrap();
    assert_eq!(done.member_id, m.member_id);
    assert_eq!((m.status, m.role), (Status::Accepted, Role::Admin));
    assert_eq!(w.occupied_seats(&acme).await, 2, "the invitation's seat");

    // A link vouches for its own email only.
    w.invite(
        &acme.owner,
        &acme,
        &["inv2@example.com", "inv3@example.com"],
        Role::User,
    )
    .await
    .unwrap();
    assert_err!(
        w.oidc_sign_in(
            &acme,
            Some(&w.token_for("inv2@example.com")),
            identity("sub-x", Some("inv3@example.com"), false),
        )
        .await,
        Error::Refused(Refusal::EmailUnverified)
    );
    // Without the link and JIT off, a stranger needs an invitation (row 12).
    assert_err!(
        w.oidc_sign_in(&acme, None, identity("sub-y", Some("y@example.com"), true))
            .await,
        Error::Refused(Refusal::InvitationRequired)
    );
    // An expired link does not start.
    w.advance(Duration::days(6));
    assert_err!(
        w.app
            .start_sign_in("acme", Some(&w.token_for("inv2@example.com")))
            .await,
        Error::Expired
    );
}

#[tokio::test]
async fn rows_5_to_8_an_existing_account_joins_by_invitation_and_links_once_confirmed() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    let other = w.org("Other", "other").await;
    w.accepted_member(&other, "pat@example.com", Role::User, 'P')
        .await;
    let pat = || identity("sub-pat", Some("pat@example.com"), true);

    // 8: an account, no membership here.
    assert_err!(
        w.oidc_sign_in(&acme, None, pat()).await,
        Error::Refused(Refusal::MembershipRequired)
    );
    // 6: invited, not accepted with the master password yet.
    w.invite(&acme.owner, &acme, &["pat@example.com"], Role::User)
        .await
        .unwrap();
    assert_err!(
        w.oidc_sign_in(&acme, None, pat()).await,
        Error::Refused(Refusal::InviteAcceptanceRequired)
    );
    // 7: accepted, not confirmed.
    let member = w
        .app
        .accept_invitation(support::accept_existing(
            &w.token_for("pat@example.com"),
            'P',
        ))
        .await
        .unwrap()
        .member_id;
    assert_err!(
        w.oidc_sign_in(&acme, None, pat()).await,
        Error::Refused(Refusal::ConfirmationRequired)
    );
    // 5: confirmed and the email trusted: linked and signed in.
    w.app
        .confirm(
            &acme.owner,
            &acme.id,
            &member,
            admit_app::Confirm { key: "k".into() },
        )
        .await
        .unwrap();
    assert_err!(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-pat", Some("pat@example.com"), false)
        )
        .await,
        Error::Refused(Refusal::EmailUnverified)
    );
    let session = session_token(w.oidc_sign_in(&acme, None, pat()).await);
    let signed_in = w.app.authenticate(&session).await.unwrap();
    assert_eq!(
        Some(signed_in.user_id.to_string()),
        w.member(&acme, "pat@example.com").await.unwrap().user_id
    );
    // An SSO session acts in its organization only.
    let me = w.app.me(&signed_in).await.unwrap();
    assert_eq!(me.memberships.len(), 1);
    assert_eq!(me.memberships[0].org_id, acme.id);
    // Linked now: the IdP may change the email it asserts (row 1).
    session_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("sub-pat", Some("renamed@example.com"), false),
        )
        .await,
    );
    // The master password is kept.
    w.login("pat@example.com", 'P').await;
}

#[tokio::test]
async fn rows_3_and_4_a_linked_identity_whose_membership_is_revoked_or_gone() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    let who = || identity("sub-r", Some("r@acme.example.com"), true);
    let token = setup_token(w.oidc_sign_in(&acme, None, who()).await);
    let done = w
        .app
        .setup_master_password(master_password_setup(&token, 'R'))
        .await
        .unwrap();
    w.app
        .revoke(&acme.owner, &acme.id, &done.member_id)
        .await
        .unwrap();
    assert_err!(
        w.oidc_sign_in(&acme, None, who()).await,
        Error::Refused(Refusal::Revoked)
    );
    w.app
        .remove_member(&acme.owner, &acme.id, &done.member_id)
        .await
        .unwrap();
    assert_err!(
        w.oidc_sign_in(&acme, None, who()).await,
        Error::Refused(Refusal::MembershipRequired)
    );
    assert!(w.member(&acme, "r@acme.example.com").await.is_none());
}

#[tokio::test]
async fn links_are_per_issuer() {
    let w = World::new();
    let acme = sso_org(&w, MemberDecryption::MasterPassword).await;
    let token = setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("same-sub", Some("a@acme.example.com"), true),
        )
        .await,
    );
    w.app
        .setup_master_password(master_password_setup(&token, 'A'))
        .await
        .unwrap();
    // Linked: the same subject signs in whatever email it asserts now.
    session_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("same-sub", Some("b@acme.example.com"), false),
        )
        .await,
    );
    // The organization moves to another IdP: its `same-sub` is someone else,
    // so the account is found by email only (accepted, not confirmed: row 7).
    let mut moved = oidc_settings();
    moved.issuer = Some("https://idp2.example.net".into());
    w.app
        .configure_sso(&acme.owner, &acme.id, moved)
        .await
        .unwrap();
    assert_err!(
        w.oidc_sign_in(
            &acme,
            None,
            identity("same-sub", Some("a@acme.example.com"), true)
        )
        .await,
        Error::Refused(Refusal::ConfirmationRequired)
    );
}

// ---- SAML, through the fake SP library ----

async fn saml_org(w: &World, idp_initiated: bool) -> Org {
    let org = w.org("Acme", "acme").await;
    let mut req = saml_settings();
    req.allow_idp_initiated = Some(idp_initiated);
    w.app.configure_sso(&org.owner, &org.id, req).await.unwrap();
    org
}

fn audience() -> String {
    format!("{PUBLIC_URL}/sso/saml/metadata/acme")
}

#[tokio::test]
async fn a_saml_sign_in_answers_its_request_once() {
    let w = World::new();
    let acme = saml_org(&w, false).await;
    let started = w.app.start_sign_in("acme", None).await.unwrap();
    assert!(
        started
            .redirect
            .starts_with("https://idp.example.net/saml/sso?")
    );
    let relay = FakeSaml::relay_state_of(&started.redirect);
    let response = w.saml.prepare(FakeResponse {
        in_response_to: Some(FakeSaml::request_id_of(&started.redirect)),
        audience: audience(),
        assertion_id: "_assertion-1".into(),
        identity: identity("name-id-1", Some("s@acme.example.com"), true),
    });
    let token = setup_token(
        w.app
            .finish_saml_sign_in(Some(&response), Some(&relay), Some(&started.browser_secret))
            .await,
    );
    assert_eq!(
        w.app.setup_lookup(&token).await.unwrap().email,
        "s@acme.example.com"
    );

    // The same assertion again, in a fresh sign-in: a replay.
    let again = w.app.start_sign_in("acme", None).await.unwrap();
    let replay = w.saml.prepare(FakeResponse {
        in_response_to: Some(FakeSaml::request_id_of(&again.redirect)),
        audience: audience(),
        assertion_id: "_assertion-1".into(),
        identity: identity("name-id-1", Some("s@acme.example.com"), true),
    });
    assert_err!(
        w.app
            .finish_saml_sign_in(
                Some(&replay),
                Some(&FakeSaml::relay_state_of(&again.redirect)),
                Some(&again.browser_secret)
            )
            .await,
        Error::SignInRejected(_)
    );

    // A response to another request.
    let third = w.app.start_sign_in("acme", None).await.unwrap();
    let wrong = w.saml.prepare(FakeResponse {
        in_response_to: Some("_someone-elses-request".into()),
        audience: audience(),
        assertion_id: "_assertion-3".into(),
        identity: identity("name-id-3", Some("t@acme.example.com"), true),
    });
    assert_err!(
        w.app
            .finish_saml_sign_in(
                Some(&wrong),
                Some(&FakeSaml::relay_state_of(&third.redirect)),
                Some(&third.browser_secret)
            )
            .await,
        Error::SignInRejected(_)
    );
    assert_err!(
        w.app
            .finish_saml_sign_in(Some("not-a-response"), None, None)
            .await,
        Error::InvalidRequest(_)
    );
    assert_err!(
        w.app.finish_saml_sign_in(None, None, None).await,
        Error::SignInRejected(_)
    );
    assert!(w.member(&acme, "t@acme.example.com").await.is_none());
}

#[tokio::test]
async fn unsolicited_saml_responses_only_where_allowed() {
    let w = World::new();
    let acme = saml_org(&w, false).await;
    let unsolicited = |n: &str| FakeResponse {
        in_response_to: None,
        audience: audience(),
        assertion_id: format!("_unsolicited-{n}"),
        identity: identity(&format!("idp-{n}"), Some("u@acme.example.com"), true),
    };
    let response = w.saml.prepare(unsolicited("1"));
    assert_err!(
        w.app.finish_saml_sign_in(Some(&response), None, None).await,
        Error::SignInRejected(_)
    );
    let mut not_ours = unsolicited("2");
    not_ours.audience = "https://elsewhere.example/sp".into();
    let not_ours = w.saml.prepare(not_ours);
    assert_err!(
        w.app.finish_saml_sign_in(Some(&not_ours), None, None).await,
        Error::SignInRejected(_)
    );
    assert!(w.member(&acme, "u@acme.example.com").await.is_none());

    let mut allow = saml_settings();
    allow.allow_idp_initiated = Some(true);
    w.app
        .configure_sso(&acme.owner, &acme.id, allow)
        .await
        .unwrap();
    let response = w.saml.prepare(unsolicited("3"));
    setup_token(w.app.finish_saml_sign_in(Some(&response), None, None).await);
    assert_eq!(
        w.member(&acme, "u@acme.example.com").await.unwrap().status,
        Status::Invited
    );
}

// ---- groups from the IdP ----

/// The `member.groups_changed` events of `org`, newest first, as (added, removed).
async fn groups_changes(w: &World, org: &Org) -> Vec<(Vec<String>, Vec<String>)> {
    let page = w
        .app
        .list_events(
            &org.owner,
            &org.id,
            admit_app::EventFilter {
                kind: Some("member.groups_changed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    page.events
        .into_iter()
        .map(|e| (e.details.groups_added, e.details.groups_removed))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn groups_from_the_idp_replace_those_it_sent_before() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let mut settings = oidc_settings();
    settings.groups_claim = Some("groups".into());
    w.app
        .configure_sso(&acme.owner, &acme.id, settings)
        .await
        .unwrap();
    let who = |groups: Option<&[&str]>| {
        let mut i = identity("sub-g", Some("g@acme.example.com"), true);
        i.groups = groups.map(strings);
        i
    };
    // Created just in time with its groups, recorded with the creation.
    let token = setup_token(
        w.oidc_sign_in(&acme, None, who(Some(&["eng", "ops"])))
            .await,
    );
    let m = w.member(&acme, "g@acme.example.com").await.unwrap();
    assert_eq!(m.groups, strings(&["eng", "ops"]));
    assert_eq!(m.idp_groups, m.groups);
    w.app
        .setup_master_password(master_password_setup(&token, 'G'))
        .await
        .unwrap();
    assert!(groups_changes(&w, &acme).await.is_empty());

    // The next sign-in's groups replace them: one event says what changed.
    let session = session_token(
        w.oidc_sign_in(&acme, None, who(Some(&["sales", "eng"])))
            .await,
    );
    let m = w.member(&acme, "g@acme.example.com").await.unwrap();
    assert_eq!(m.groups, strings(&["eng", "sales"]));
    assert_eq!(
        groups_changes(&w, &acme).await,
        vec![(strings(&["sales"]), strings(&["ops"]))]
    );
    // The member sees them too.
    let me = w
        .app
        .me(&w.app.authenticate(&session).await.unwrap())
        .await
        .unwrap();
    assert_eq!(me.memberships[0].groups, strings(&["eng", "sales"]));

    // The same groups, or an answer that does not say them, change nothing.
    session_token(
        w.oidc_sign_in(&acme, None, who(Some(&["eng", "sales"])))
            .await,
    );
    session_token(w.oidc_sign_in(&acme, None, who(None)).await);
    assert_eq!(groups_changes(&w, &acme).await.len(), 1);
    assert_eq!(
        w.member(&acme, "g@acme.example.com").await.unwrap().groups,
        strings(&["eng", "sales"])
    );

    // An IdP that says "no groups" takes them all.
    session_token(w.oidc_sign_in(&acme, None, who(Some(&[]))).await);
    let m = w.member(&acme, "g@acme.example.com").await.unwrap();
    assert!(m.groups.is_empty() && m.idp_groups.is_empty());
    assert_eq!(
        groups_changes(&w, &acme).await[0],
        (vec![], strings(&["eng", "sales"]))
    );
}

#[tokio::test]
async fn groups_claim_and_attribute_settings_are_checked_and_shown() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let mut oidc = oidc_settings();
    oidc.groups_claim = Some(" groups ".into());
    let view = w
        .app
        .configure_sso(&acme.owner, &acme.id, oidc)
        .await
        .unwrap();
    assert_eq!(view.groups_claim.as_deref(), Some("groups"));
    assert_eq!(view.groups_attribute, None);

    let mut saml = saml_settings();
    saml.groups_attribute =
        Some("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".into());
    let view = w
        .app
        .configure_sso(&acme.owner, &acme.id, saml)
        .await
        .unwrap();
    assert_eq!(view.groups_claim, None);
    assert_eq!(
        view.groups_attribute.as_deref(),
        Some("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")
    );

    // Each protocol's own setting only; no control characters; not too long.
    let mut wrong = saml_settings();
    wrong.groups_claim = Some("groups".into());
    let mut control = oidc_settings();
    control.groups_claim = Some("gro\u{7}ups".into());
    let mut long = saml_settings();
    long.groups_attribute = Some("g".repeat(257));
    for bad in [wrong, control, long] {
        assert_err!(
            w.app.configure_sso(&acme.owner, &acme.id, bad).await,
            Error::InvalidRequest(_)
        );
    }
    // Nothing of the refused requests was kept.
    let view = w.app.sso_settings(&acme.owner, &acme.id).await.unwrap();
    assert_eq!(view.protocol, Some("saml"));
    assert!(view.groups_attribute.is_some());
}
