//! Just-in-time provisioning through an independent SAML IdP (pysaml2 with
//! xmlsec1): the decision table's rows with a signed assertion and with a
//! signed response, and every attack on a service provider the IdP can
//! forge, each refused with nothing written.

use crate::helpers::*;
use crate::on_both_backends;
use crate::sso_oidc::{refused_with, set_master_password, setup_token};
use admit_tests::saml::{IdpAnswer, Page, SamlBrowser, SamlIdp};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    saml_settings_and_sp_metadata,
    saml_rows_with_a_signed_assertion,
    saml_rows_with_a_signed_response,
    saml_attacks_are_refused_and_write_nothing,
    saml_responses_are_single_use,
);

pub(crate) struct SamlOrg {
    pub org: String,
    pub session: String,
    pub ident: String,
}

/// Configure `org` for the IdP (master password decryption, enabled), with
/// `extra` settings merged in; returns the SSO identifier.
async fn use_saml(app: &TestApp, org: &str, session: &str, idp: &SamlIdp, extra: Value) -> String {
    let mut config = json!({"protocol": "saml", "idp_entity_id": idp.entity_id(),
        "idp_sso_url": idp.sso_url(), "idp_certificate_pem": idp.certificate().await,
        "member_decryption": "master_password", "enabled": true});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{org}/sso"),
            Some(session),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["sso_identifier"].as_str().unwrap().to_owned()
}

pub(crate) async fn saml_org(app: &TestApp, idp: &SamlIdp, seats: Value) -> SamlOrg {
    let (org, session) = app.org_with_owner(seats).await;
    let ident = use_saml(app, &org, &session, idp, json!({})).await;
    SamlOrg {
        org,
        session,
        ident,
    }
}

/// The operator claims the test's email domain for `org`, verified: it vouches for SAML emails.
pub(crate) async fn claim_domain(app: &TestApp, org: &str) {
    let (s, body) = app
        .call(
            "PUT",
            &format!("/operator/orgs/{org}/domains/{}", app.domain),
            Some(OPERATOR_TOKEN),
            Some(json!({"verified": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

fn start_url(app: &TestApp, ident: &str, invitation: Option<&str>) -> String {
    // The IdP stamps its response with the real time.
    app.catch_up_clock();
    match invitation {
        Some(t) => app.url(&format!("/sso/start?identifier={ident}&invitation={t}")),
        None => app.url(&format!("/sso/start?identifier={ident}")),
    }
}

pub(crate) async fn sign_in(
    app: &TestApp,
    idp: &SamlIdp,
    ident: &str,
    invitation: Option<&str>,
    fields: &[(&str, &str)],
) -> Page {
    SamlBrowser::new()
        .sign_in(&start_url(app, ident, invitation), idp, fields)
        .await
}

pub(crate) fn signed_in(app: &TestApp, page: &Page) {
    assert_eq!(
        (page.status, page.location.as_deref()),
        (StatusCode::FOUND, Some(app.url("/done").as_str())),
        "{page:?}"
    );
}

async fn saml_settings_and_sp_metadata(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let (org, session) = app.org_with_owner(json!({})).await;
    let put = |config: Value| {
        let (app, org, session) = (&app, &org, &session);
        async move {
            app.call(
                "PUT",
                &format!("/orgs/{org}/sso"),
                Some(session),
                Some(config),
            )
            .await
        }
    };
    let certificate = idp.certificate().await;
    let base = json!({"protocol": "saml", "idp_entity_id": idp.entity_id(), "idp_sso_url": idp.sso_url(),
                      "idp_certificate_pem": certificate, "member_decryption": "master_password", "enabled": true});
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    // Without a certificate nothing could be verified: refused, as is anything that is not one.
    let pem_body: String = certificate
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut truncated = pem_body.clone();
    truncated.truncate(200);
    for (bad, field) in [
        (without("idp_certificate_pem"), "idp_certificate_pem"),
        (
            with("idp_certificate_pem", json!("not a certificate")),
            "idp_certificate_pem",
        ),
        (
            with(
                "idp_certificate_pem",
                json!(format!(
                    "-----BEGIN CERTIFICATE-----\n{truncated}\n-----END CERTIFICATE-----"
                )),
            ),
            "idp_certificate_pem",
        ),
        (without("idp_entity_id"), "idp_entity_id"),
        (
            with("idp_sso_url", json!("ftp://idp.test/sso")),
            "idp_sso_url",
        ),
        (
            with("idp_sso_url", json!("http://idp.example.com/sso")),
            "idp_sso_url",
        ),
        (with("client_secret", json!("s")), "client_secret"),
    ] {
        let (s, body) = put(bad).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{field}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (_, view) = app.get(&format!("/orgs/{org}/sso"), Some(&session)).await;
    assert_eq!(view["protocol"], Value::Null, "nothing was stored: {view}");

    // The bare base64 of a certificate (as metadata carries it) is accepted too.
    let (s, view) = put(with("idp_certificate_pem", json!(pem_body))).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(
        (
            view["protocol"].as_str(),
            view["idp_entity_id"].as_str(),
            view["allow_idp_initiated"].as_bool(),
            view["idp_certificate_pem"].as_str().map(str::trim),
        ),
        (
            Some("saml"),
            Some(idp.entity_id().as_str()),
            Some(false),
            Some(certificate.trim())
        )
    );
    let ident = view["sso_identifier"].as_str().unwrap().to_owned();
    let sp_entity_id = app.url(&format!("/sso/saml/metadata/{ident}"));
    assert_eq!(view["sp_entity_id"], sp_entity_id.as_str());
    assert_eq!(view["acs_url"], app.url("/sso/saml/acs").as_str());

    // Or all three from the IdP's metadata.
    let (s, view) = put(
        json!({"protocol": "saml", "idp_metadata_xml": idp.metadata().await,
                               "member_decryption": "master_password", "enabled": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(
        (view["idp_entity_id"].as_str(), view["idp_sso_url"].as_str()),
        (Some(idp.entity_id().as_str()), Some(idp.sso_url().as_str()))
    );
    let (s, body) = put(json!({"protocol": "saml", "idp_metadata_xml": "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><x>&e;</x>",
                               "member_decryption": "master_password", "enabled": true}))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // The SP metadata: what an IdP administrator imports (the IdP checks it
    // against the SAML metadata schema when the first sign-in arrives).
    let res = app.http.get(&sp_entity_id).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = res.text().await.unwrap();
    assert!(
        xml.contains(&format!(r#"entityID="{sp_entity_id}""#)),
        "{xml}"
    );
    assert!(xml.contains(&app.url("/sso/saml/acs")), "{xml}");
    let (s, _) = app.get("/sso/saml/metadata/no-such-org", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The IdP took it: the round trip reaches the decision (an email no
    // invitation or claimed domain vouches for).
    let page = sign_in(&app, &idp, &ident, None, &[("email", &app.email("first"))]).await;
    refused_with(&page, StatusCode::FORBIDDEN, "email_unverified");
}

async fn saml_rows_with_a_signed_assertion(backend: Backend) {
    rows(backend, "assertion").await
}

async fn saml_rows_with_a_signed_response(backend: Backend) {
    rows(backend, "response").await
}

/// docs/product.md's decision table, row by row, through SAML. SAML has no "email
/// verified" claim: an email is trusted through an invitation or a verified
/// claimed domain.
async fn rows(backend: Backend, sign: &str) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let sso = saml_org(&app, &idp, json!({})).await;
    let as_user = |email: &str| vec![("email", email.to_owned()), ("sign", sign.to_owned())];
    let go = |invitation: Option<String>, f: Vec<(&'static str, String)>| {
        let (app, idp, ident) = (&app, &idp, sso.ident.clone());
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sign_in(app, idp, &ident, invitation.as_deref(), &f).await
        }
    };

    // Row 9: invited, no account; the invitation vouches for the email → account, link, setup.
    let alice = app.email("alice");
    app.invite(&sso.org, &sso.session, &[&alice], "user").await;
    let invitation = app.last_mail_to(&alice).await.accept_token();
    let back = go(Some(invitation), as_user(&alice)).await;
    let token = setup_token(&back);
    // Row 2: linked, setup unfinished → continue the setup step.
    let again = go(None, as_user(&alice)).await;
    let token2 = setup_token(&again);
    assert_ne!(token, token2);
    let (s, done) = set_master_password(&app, &token2, &alice).await;
    assert_eq!(
        (s, done["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{done}"
    );
    // Row 1: linked, accepted → signed in.
    signed_in(&app, &go(None, as_user(&alice)).await);

    // Row 14: no usable email (no email attribute, a persistent NameID).
    let mut no_email = as_user(&app.email("nomail"));
    no_email.extend([
        ("email_attribute", "none".into()),
        ("name_id_format", "persistent".into()),
    ]);
    refused_with(
        &go(None, no_email).await,
        StatusCode::BAD_REQUEST,
        "email_missing",
    );
    // Row 13: not invited, the domain not claimed → the email is not trusted.
    let before = app.snapshot(&sso.org, &sso.session).await;
    refused_with(
        &go(None, as_user(&app.email("bob"))).await,
        StatusCode::FORBIDDEN,
        "email_unverified",
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);

    // Row 10: the verified claimed domain vouches → account, link and membership, setup.
    claim_domain(&app, &sso.org).await;
    let bob = app.email("bob");
    let mut by_attr = as_user(&bob);
    by_attr.push(("email_attribute", "mail".into()));
    let token = setup_token(&go(None, by_attr).await);
    assert_eq!(
        set_master_password(&app, &token, &bob).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.member(&sso.org, &sso.session, &bob).await["status"],
        "accepted"
    );
    // Row 12: JIT without invitation switched off.
    let (s, _) = app
        .call(
            "PUT",
            &format!("/orgs/{}/policies", sso.org),
            Some(&sso.session),
            Some(json!({"jit_without_invitation": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = app.snapshot(&sso.org, &sso.session).await;
    refused_with(
        &go(None, as_user(&app.email("cal"))).await,
        StatusCode::FORBIDDEN,
        "invitation_required",
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);

    // Accounts that existed before: rows 6, 7, 8 and 5.
    let (erin, fay, gus, hal) = (
        app.email("erin"),
        app.email("fay"),
        app.email("gus"),
        app.email("hal"),
    );
    for who in [&erin, &fay, &gus, &hal] {
        app.create_org("Elsewhere", who, json!({})).await;
        assert_eq!(
            app.accept_latest(who, "own pw", true).await.0,
            StatusCode::OK
        );
    }
    app.invite(&sso.org, &sso.session, &[&erin, &fay, &gus], "user")
        .await;
    let erin_invitation = app.last_mail_to(&erin).await.accept_token();
    refused_with(
        &go(Some(erin_invitation), as_user(&erin)).await,
        StatusCode::FORBIDDEN,
        "invite_acceptance_required",
    );
    assert_eq!(
        app.accept_latest(&fay, "own pw", false).await.0,
        StatusCode::OK
    );
    refused_with(
        &go(None, as_user(&fay)).await,
        StatusCode::FORBIDDEN,
        "confirmation_required",
    );
    refused_with(
        &go(None, as_user(&hal)).await,
        StatusCode::FORBIDDEN,
        "membership_required",
    );
    assert_eq!(
        app.accept_latest(&gus, "own pw", false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&sso.org, &sso.session, &gus).await;
    signed_in(&app, &go(None, as_user(&gus)).await);

    // Row 3: linked and revoked.
    let gus_id = app.member_id(&sso.org, &sso.session, &gus).await;
    let (s, _) = app
        .post(
            &format!("/orgs/{}/members/{gus_id}/revoke", sso.org),
            Some(&sso.session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    refused_with(
        &go(None, as_user(&gus)).await,
        StatusCode::FORBIDDEN,
        "revoked",
    );
    // Row 4: linked, the membership removed.
    let bob_id = app.member_id(&sso.org, &sso.session, &bob).await;
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/orgs/{}/members/{bob_id}", sso.org),
            Some(&sso.session),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    refused_with(
        &go(None, as_user(&bob)).await,
        StatusCode::FORBIDDEN,
        "membership_required",
    );

    // Row 11: JIT allowed, but no seat and no autoscale room (another
    // deployment: a domain is claimed by one organization only).
    let other = spawn_app(backend).await;
    let full = saml_org(&other, &idp, json!({"limit": 1})).await;
    claim_domain(&other, &full.org).await;
    let before = other.snapshot(&full.org, &full.session).await;
    let page = sign_in(
        &other,
        &idp,
        &full.ident,
        None,
        &[("email", &other.email("dee")), ("sign", sign)],
    )
    .await;
    refused_with(&page, StatusCode::FORBIDDEN, "no_seats");
    assert_eq!(other.snapshot(&full.org, &full.session).await, before);
}

/// Every forged or tampered response the IdP can make, posted with the
/// RelayState and cookie of a real sign-in: refused, nothing written.
async fn saml_attacks_are_refused_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let sso = saml_org(&app, &idp, json!({})).await;
    claim_domain(&app, &sso.org).await;
    // The victim: a confirmed member with an account; a forged assertion for
    // them would link the attacker's sign-in to their account (row 5).
    let victim = app.email("victim");
    app.create_org("Elsewhere", &victim, json!({})).await;
    assert_eq!(
        app.accept_latest(&victim, "victim pw", true).await.0,
        StatusCode::OK
    );
    app.invite(&sso.org, &sso.session, &[&victim], "user").await;
    assert_eq!(
        app.accept_latest(&victim, "victim pw", false).await.0,
        StatusCode::OK
    );
    app.confirm_member(&sso.org, &sso.session, &victim).await;
    let mallory = app.email("mallory");
    let evil_email = format!("{victim}.evil.test");
    let before = app.snapshot(&sso.org, &sso.session).await;

    // (attack, what the IdP signs, how Admit answers)
    let attacks = [
        ("xsw1", "assertion", StatusCode::BAD_REQUEST),
        ("xsw2", "assertion", StatusCode::BAD_REQUEST),
        ("xsw3", "assertion", StatusCode::BAD_REQUEST),
        ("xsw4", "assertion", StatusCode::BAD_REQUEST),
        ("xsw5", "assertion", StatusCode::BAD_REQUEST),
        ("xsw6", "assertion", StatusCode::BAD_REQUEST),
        ("xsw7", "assertion", StatusCode::BAD_REQUEST),
        ("xsw8", "assertion", StatusCode::BAD_REQUEST),
        ("unsigned", "assertion", StatusCode::BAD_REQUEST),
        ("unsigned", "response", StatusCode::BAD_REQUEST),
        ("attacker_key", "assertion", StatusCode::BAD_REQUEST),
        ("attacker_key", "response", StatusCode::BAD_REQUEST),
        ("rsa_sha1", "assertion", StatusCode::BAD_REQUEST),
        ("rsa_sha1", "response", StatusCode::BAD_REQUEST),
        ("hmac", "assertion", StatusCode::BAD_REQUEST),
        ("hmac", "response", StatusCode::BAD_REQUEST),
        ("wrong_audience", "assertion", StatusCode::BAD_REQUEST),
        ("wrong_recipient", "assertion", StatusCode::BAD_REQUEST),
        ("wrong_destination", "assertion", StatusCode::BAD_REQUEST),
        ("wrong_issuer", "assertion", StatusCode::BAD_REQUEST),
        (
            "unknown_in_response_to",
            "assertion",
            StatusCode::BAD_REQUEST,
        ),
        ("no_in_response_to", "assertion", StatusCode::BAD_REQUEST),
        ("not_yet_valid", "assertion", StatusCode::BAD_REQUEST),
        ("expired", "assertion", StatusCode::BAD_REQUEST),
        ("status_failure", "assertion", StatusCode::BAD_REQUEST),
        ("xxe", "assertion", StatusCode::BAD_REQUEST),
        ("billion_laughs", "assertion", StatusCode::BAD_REQUEST),
        ("oversized", "assertion", StatusCode::PAYLOAD_TOO_LARGE),
        // samael refuses signed content whose comments c14n dropped; were it
        // read, the email would be read whole (victim@….evil.test, a domain
        // nobody claimed), never as the victim's.
        ("comment", "assertion", StatusCode::BAD_REQUEST),
    ];
    for (attack, sign, status) in attacks {
        let browser = SamlBrowser::new();
        let key = browser
            .start(&start_url(&app, &sso.ident, None), &idp)
            .await;
        // The comment attack needs an email that begins with the victim's.
        let email = if attack == "comment" {
            &evil_email
        } else {
            &mallory
        };
        let form = [
            ("email", email.as_str()),
            ("attack", attack),
            ("victim", victim.as_str()),
            ("sign", sign),
        ];
        let answer = browser.answer(&idp, &key, &form).await;
        let page = browser.post(&answer).await;
        assert_eq!(page.status, status, "{attack} (signed {sign}): {page:?}");
        assert!(
            page.location.is_none(),
            "{attack}: no redirect to a session or setup"
        );
        assert_eq!(
            app.snapshot(&sso.org, &sso.session).await,
            before,
            "{attack} wrote nothing"
        );
        // A response that was read used the sign-in up: the genuine answer does not pass later.
        if matches!(attack, "xxe" | "billion_laughs" | "oversized") {
            continue;
        }
        let fair = browser
            .answer(&idp, &key, &[("email", victim.as_str())])
            .await;
        assert_eq!(
            browser.post(&fair).await.status,
            StatusCode::BAD_REQUEST,
            "{attack}"
        );
    }
    // Made here from a genuine answer: a signature asking for an XPath
    // transform (work xmlsec would do before checking anything), and a
    // declared encoding that only one of two XML parsers would obey.
    fn with_xpath_transform(xml: &str) -> String {
        // After the first `<prefix:Transforms>`, whatever the IdP's dsig prefix.
        let at = xml.find(":Transforms>").expect("a Transforms element");
        let open = xml[..at].rfind('<').unwrap();
        let prefix = &xml[open + 1..at];
        let transform = format!(
            r#"<{prefix}:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><{prefix}:XPath>count(//*[count(//*) > 0]) > 0</{prefix}:XPath></{prefix}:Transform>"#
        );
        let end = at + ":Transforms>".len();
        format!("{}{transform}{}", &xml[..end], &xml[end..])
    }
    fn declared_utf7(xml: &str) -> String {
        xml.replacen(r#"encoding="UTF-8""#, r#"encoding="UTF-7""#, 1)
    }
    for (name, mutate) in [
        (
            "xpath transform",
            with_xpath_transform as fn(&str) -> String,
        ),
        ("utf-7", declared_utf7),
    ] {
        let browser = SamlBrowser::new();
        let key = browser
            .start(&start_url(&app, &sso.ident, None), &idp)
            .await;
        let mut answer = browser.answer(&idp, &key, &[("email", &victim)]).await;
        let xml = String::from_utf8(B64.decode(&answer.saml_response).unwrap()).unwrap();
        let mutated = mutate(&xml);
        assert_ne!(mutated, xml, "{name}: the IdP's XML has the expected shape");
        answer.saml_response = B64.encode(mutated);
        let page = browser.post(&answer).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}: {page:?}");
        assert_eq!(
            app.snapshot(&sso.org, &sso.session).await,
            before,
            "{name} wrote nothing"
        );
    }

    // Each comment variant really names the victim's address before its comment.
    let browser = SamlBrowser::new();
    let key = browser
        .start(&start_url(&app, &sso.ident, None), &idp)
        .await;
    let comment = browser
        .answer(
            &idp,
            &key,
            &[
                ("email", evil_email.as_str()),
                ("attack", "comment"),
                ("victim", victim.as_str()),
            ],
        )
        .await;
    assert!(
        comment.xml.contains(&format!("{victim}<!---->.evil.test")),
        "{}",
        comment.xml
    );

    // Positive controls: the same IdP's genuine answer signs the victim in (row 5,
    // the claimed domain vouches), and RSA-SHA1 passes once the organization allows it.
    signed_in(
        &app,
        &sign_in(&app, &idp, &sso.ident, None, &[("email", &victim)]).await,
    );
    use_saml(
        &app,
        &sso.org,
        &sso.session,
        &idp,
        json!({"allow_sha1": true}),
    )
    .await;
    signed_in(
        &app,
        &sign_in(
            &app,
            &idp,
            &sso.ident,
            None,
            &[("email", &victim), ("attack", "rsa_sha1")],
        )
        .await,
    );
    // A body over the cap is refused unread, as JSON for API clients too.
    let res = app
        .http
        .post(app.url("/sso/saml/acs"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("SAMLResponse={}", "A".repeat(300 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
}

/// A response is good once: the sign-in it answers is used up by the first
/// post, a second response to the same request is refused, a response from
/// another browser is refused, and an IdP-initiated one (when allowed) is
/// remembered until it expires.
async fn saml_responses_are_single_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let idp = SamlIdp::start();
    let sso = saml_org(&app, &idp, json!({})).await;
    claim_domain(&app, &sso.org).await;
    let ivy = app.email("ivy");

    // Another browser (without the sign-in cookie) cannot use the response.
    let browser = SamlBrowser::new();
    let key = browser
        .start(&start_url(&app, &sso.ident, None), &idp)
        .await;
    let answer = browser.answer(&idp, &key, &[("email", &ivy)]).await;
    let thief = SamlBrowser::new();
    assert_eq!(thief.post(&answer).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        browser.post(&answer).await.status,
        StatusCode::BAD_REQUEST,
        "and it is used up"
    );

    // Accepted once; the replay, and a second response to the same request, are refused.
    let key = browser
        .start(&start_url(&app, &sso.ident, None), &idp)
        .await;
    let answer = browser.answer(&idp, &key, &[("email", &ivy)]).await;
    let second: IdpAnswer = browser.answer(&idp, &key, &[("email", &ivy)]).await;
    let token = setup_token(&browser.post(&answer).await);
    let before = app.snapshot(&sso.org, &sso.session).await;
    refused_with(
        &browser.post(&answer).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    refused_with(
        &browser.post(&second).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_eq!(app.snapshot(&sso.org, &sso.session).await, before);
    assert_eq!(
        set_master_password(&app, &token, &ivy).await.0,
        StatusCode::OK
    );

    // IdP-initiated: refused while not allowed…
    let sp = app.url(&format!("/sso/saml/metadata/{}", sso.ident));
    app.catch_up_clock();
    let unsolicited = idp.idp_initiated(&sp, &[("email", &ivy)]).await;
    refused_with(
        &SamlBrowser::new().post(&unsolicited).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // …accepted once allowed, and its replay refused by the assertion cache.
    use_saml(
        &app,
        &sso.org,
        &sso.session,
        &idp,
        json!({"allow_idp_initiated": true}),
    )
    .await;
    app.catch_up_clock();
    let unsolicited = idp.idp_initiated(&sp, &[("email", &ivy)]).await;
    signed_in(&app, &SamlBrowser::new().post(&unsolicited).await);
    refused_with(
        &SamlBrowser::new().post(&unsolicited).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // An unsolicited response for another organization's entity id is refused.
    let other = saml_org(&app, &idp, json!({})).await;
    let elsewhere = app.url(&format!("/sso/saml/metadata/{}", other.ident));
    app.catch_up_clock();
    let page = SamlBrowser::new()
        .post(&idp.idp_initiated(&elsewhere, &[("email", &ivy)]).await)
        .await;
    refused_with(&page, StatusCode::BAD_REQUEST, "invalid_request");
}
