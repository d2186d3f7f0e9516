//! The operator API (creating organizations, claiming domains) and sessions:
//! master-password login, logout, `me`, the `require_sso` policy.

#[macro_use]
mod support;

use admit_app::{CreateOrganization, Error, Login, PoliciesInput, SeatsInput};
use admit_domain::{Role, Status};
use support::{OPERATOR_TOKEN, World, password};
use time::Duration;

fn create(name: &str, ident: &str, owner: &str) -> CreateOrganization {
    CreateOrganization {
        name: name.into(),
        sso_identifier: ident.into(),
        owner_email: owner.into(),
        seats: None,
    }
}

fn login(email: &str, pw: &str) -> Login {
    Login {
        email: email.into(),
        master_password_hash: pw.into(),
    }
}

#[test]
fn only_the_operator_token_opens_the_operator_api() {
    let w = World::new();
    assert!(w.app.authorize_operator(Some(OPERATOR_TOKEN)).is_ok());
    assert_err!(
        w.app.authorize_operator(Some("operator-token-for-test")),
        Error::Unauthenticated
    );
    assert_err!(w.app.authorize_operator(None), Error::Unauthenticated);
    // Without a configured token the API does not exist.
    let off = World::with_operator(None);
    assert_err!(
        off.app.authorize_operator(Some(OPERATOR_TOKEN)),
        Error::NotFound
    );
}

#[tokio::test]
async fn a_new_organizations_owner_is_invited_and_confirmed_on_accepting() {
    let w = World::new();
    let created = w
        .app
        .create_organization(create("Acme Corp", "Acme", "Boss@Acme.example.com"))
        .await
        .unwrap();
    // The owner is emailed an owner invitation, expiring after the default 5 days.
    let mails = w.mails_to("boss@acme.example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].subject,
        "You were named owner of Acme Corp on Admit"
    );
    let expiry = (w.now() + Duration::days(5)).human();
    assert!(
        mails[0]
            .text
            .contains(&format!("This invitation expires on {expiry} UTC.")),
        "{}",
        mails[0].text
    );
    let view = w
        .app
        .lookup_invitation(&mails[0].accept_token())
        .await
        .unwrap();
    assert_eq!(
        (view.org_id.as_str(), view.org_name.as_str(), view.role),
        (created.org_id.as_str(), "Acme Corp", Role::Owner)
    );
    assert!(!view.account_exists);
    assert_eq!(view.sso.sso_identifier, "acme");

    let accepted = w
        .app
        .accept_invitation(support::accept_new(&mails[0].accept_token(), 'O'))
        .await
        .unwrap();
    assert_eq!(accepted.member_id, created.owner_member_id);
    assert_eq!(accepted.status, Status::Confirmed);
    // The bootstrap owner owes nobody a notice.
    assert_eq!(w.mails().len(), 1);

    let owner = w.login("boss@acme.example.com", 'O').await;
    let org = w.app.organization(&owner, &created.org_id).await.unwrap();
    assert_eq!(org.name, "Acme Corp");
    assert_eq!(org.sso_identifier, "acme");
    assert!(!org.sso_enabled);
    assert_eq!(org.seats.occupied, 1);
    assert_eq!(org.seats.limit, None);
    assert_eq!(org.invitation_lifetime_days, 5);
    assert_eq!(org.reminder_days, vec![2, 4]);
    assert!(org.policies.jit_without_invitation && !org.policies.require_sso);
}

#[tokio::test]
async fn creating_an_organization_refuses_bad_input_and_taken_identifiers() {
    let w = World::new();
    for bad in [
        create("Acme", "a", "boss@acme.example.com"),
        create("Acme", "acme corp", "boss@acme.example.com"),
        create("Acme", "acme", "not-an-email"),
        create("", "acme", "boss@acme.example.com"),
        CreateOrganization {
            seats: Some(SeatsInput {
                limit: Some(0),
                autoscale_max: None,
            }),
            ..create("Acme", "acme", "boss@acme.example.com")
        },
    ] {
        assert_err!(
            w.app.create_organization(bad).await,
            Error::InvalidRequest(_)
        );
    }
    assert!(w.mails().is_empty(), "a refusal sends nothing");

    w.app
        .create_organization(create("Acme", "acme", "boss@acme.example.com"))
        .await
        .unwrap();
    // Identifiers are case-insensitive.
    assert_err!(
        w.app
            .create_organization(create("Other", "ACME", "other@other.example.com"))
            .await,
        Error::Conflict(_)
    );
    assert!(w.mails_to("other@other.example.com").is_empty());
}

#[tokio::test]
async fn claimed_domains_route_discovery_once_verified_and_sso_is_on() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let other = w.org("Other", "other").await;
    assert_err!(
        w.app.discover("jane@acme.example.com").await,
        Error::NotFound
    );

    // An unverified claim routes nothing.
    w.app
        .claim_domain(&acme.id, "acme.example.com", false)
        .await
        .unwrap();
    w.enable_oidc(&acme, Default::default()).await;
    assert_err!(
        w.app.discover("jane@acme.example.com").await,
        Error::NotFound
    );

    let claim = w
        .app
        .claim_domain(&acme.id, "ACME.example.com", true)
        .await
        .unwrap();
    assert!(claim.verified);
    assert_eq!(
        w.app
            .discover("Jane@acme.example.com")
            .await
            .unwrap()
            .sso_identifier,
        "acme"
    );
    // One domain, one organization.
    assert_err!(
        w.app
            .claim_domain(&other.id, "acme.example.com", true)
            .await,
        Error::Conflict(_)
    );
    assert_err!(
        w.app
            .claim_domain("no-such-org", "x.example.com", true)
            .await,
        Error::NotFound
    );
    assert_err!(
        w.app.claim_domain(&other.id, "not a domain", true).await,
        Error::InvalidRequest(_)
    );
    assert_err!(w.app.discover("no email").await, Error::InvalidRequest(_));

    // SSO turned off: discovery stops.
    let mut off = support::oidc_settings();
    off.enabled = false;
    w.app
        .configure_sso(&acme.owner, &acme.id, off)
        .await
        .unwrap();
    assert_err!(
        w.app.discover("jane@acme.example.com").await,
        Error::NotFound
    );
}

#[tokio::test]
async fn a_session_authenticates_until_logout_or_expiry() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let issued = w
        .app
        .login(login(&acme.owner_email, &password('O')))
        .await
        .unwrap();
    assert_eq!(issued.expires_at, w.now() + Duration::hours(12));
    let who = w.app.authenticate(&issued.session_token).await.unwrap();
    assert_eq!(who.user_id.to_string(), issued.user_id);

    let me = w.app.me(&who).await.unwrap();
    assert_eq!(me.email, acme.owner_email);
    assert_eq!(me.memberships.len(), 1);
    assert_eq!(me.memberships[0].org_id, acme.id);
    assert_eq!(me.memberships[0].member_id, acme.owner_member_id);
    assert_eq!(
        (me.memberships[0].role, me.memberships[0].status),
        (Role::Owner, Status::Confirmed)
    );

    w.app.logout(&who).await.unwrap();
    assert_err!(
        w.app.authenticate(&issued.session_token).await,
        Error::Unauthenticated
    );

    // Another session lives 12 hours.
    let again = w
        .app
        .login(login(&acme.owner_email, &password('O')))
        .await
        .unwrap();
    w.advance(Duration::hours(12) - Duration::seconds(1));
    assert!(w.app.authenticate(&again.session_token).await.is_ok());
    w.advance(Duration::seconds(1));
    assert_err!(
        w.app.authenticate(&again.session_token).await,
        Error::Unauthenticated
    );
    assert_err!(w.app.authenticate("garbage").await, Error::Unauthenticated);
}

#[tokio::test]
async fn login_refuses_wrong_credentials_alike_and_malformed_input_as_such() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    assert_err!(
        w.app.login(login(&acme.owner_email, &password('X'))).await,
        Error::WrongCredentials
    );
    assert_err!(
        w.app
            .login(login("nobody@acme.example.com", &password('O')))
            .await,
        Error::WrongCredentials
    );
    assert_err!(
        w.app.login(login("not-an-email", &password('O'))).await,
        Error::InvalidRequest(_)
    );
    assert_err!(
        w.app.login(login(&acme.owner_email, "c2hvcnQ=")).await,
        Error::InvalidRequest(_)
    );
}

#[tokio::test]
async fn me_lists_memberships_by_organization_name() {
    let w = World::new();
    let zeta = w.org("Zeta", "zeta").await;
    let alpha = w.org("Alpha", "alpha").await;
    w.accepted_member(&zeta, "sam@example.com", Role::User, 'S')
        .await;
    // The same account accepts an invitation to Alpha with its password.
    w.invite(&alpha.owner, &alpha, &["sam@example.com"], Role::Admin)
        .await
        .unwrap();
    w.app
        .accept_invitation(support::accept_existing(
            &w.token_for("sam@example.com"),
            'S',
        ))
        .await
        .unwrap();
    let sam = w.login("sam@example.com", 'S').await;
    let me = w.app.me(&sam).await.unwrap();
    let seen: Vec<_> = me
        .memberships
        .iter()
        .map(|m| (m.org_name.as_str(), m.role, m.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("Alpha", Role::Admin, Status::Accepted),
            ("Zeta", Role::User, Status::Accepted)
        ]
    );
}

#[tokio::test]
async fn require_sso_refuses_password_login_of_confirmed_users_only() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.confirmed_member(&acme, "user@example.com", Role::User, 'U')
        .await;
    w.confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    w.accepted_member(&acme, "new@example.com", Role::User, 'N')
        .await;
    let policies = w
        .app
        .set_policies(
            &acme.owner,
            &acme.id,
            PoliciesInput {
                require_sso: Some(true),
                jit_without_invitation: None,
            },
        )
        .await
        .unwrap();
    assert!(policies.require_sso && policies.jit_without_invitation);

    // No identity linked yet at the IdP: the refusal carries a link token.
    assert_err!(
        w.app.login(login("user@example.com", &password('U'))).await,
        Error::SsoRequiredLink { .. }
    );
    // A wrong password is still just wrong.
    assert_err!(
        w.app.login(login("user@example.com", &password('X'))).await,
        Error::WrongCredentials
    );
    // Owners and admins are exempt; a member not yet confirmed is not refused.
    w.login(&acme.owner_email, 'O').await;
    w.login("admin@example.com", 'A').await;
    w.login("new@example.com", 'N').await;
}
