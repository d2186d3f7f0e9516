//! `SesMailer` against SES v2 as moto serves it: the raw message SES receives
//! is exactly what we built, and SES's refusals map to `MailError`.

#[path = "support/mime.rs"]
mod mime;

use admit_domain::{Email, Timestamp};
use admit_mail::{Mail, MailError, Mailer, Message, SesMailer, Templates};
use admit_tests::moto::Moto;
use aws_sdk_sesv2::Client;

const LINK: &str = "https://admit.example/invitations/accept?org=o_ses&token=Zq8-x_Y3kP0aBcDeFgHiJkLmNoPqRsTuVwXyZ012345";

fn client() -> Client {
    Client::new(&Moto::shared().sdk_config())
}

async fn verify(client: &Client, identity: &str) {
    client
        .create_email_identity()
        .email_identity(identity)
        .send()
        .await
        .expect("moto creates the identity");
}

fn invitation(to: &Email, org_name: &str) -> Mail {
    let message = Message::Invitation {
        org_name,
        link: LINK,
        expires_at: Timestamp::parse("2026-12-01T09:30:00Z").unwrap(),
        account_exists: false,
    };
    Templates::new().render(to, &message)
}

#[tokio::test]
async fn an_invitation_reaches_ses_intact() {
    let client = client();
    verify(&client, "verified-sender.example").await;
    let mailer = SesMailer::new(client, "Admit <admit@verified-sender.example>", None).unwrap();
    let to = Email::parse("invitee.one@members.example").unwrap();
    mailer.send(&invitation(&to, "Acme")).await.unwrap();

    let sent = Moto::shared().sent_emails().await;
    let sent: Vec<_> = sent
        .iter()
        .filter(|m| m.destinations.iter().any(|d| d.contains(to.as_str())))
        .collect();
    let [email] = &sent[..] else {
        panic!("one message to {to}: {sent:?}")
    };
    assert_eq!(email.source, "Admit <admit@verified-sender.example>");
    let m = mime::parse(email.raw.as_bytes());
    assert_eq!(m.header("To"), Some(to.as_str()));
    assert_eq!(
        m.header("From"),
        Some("Admit <admit@verified-sender.example>")
    );
    assert_eq!(m.header("Subject"), Some("Join Acme on Admit"));
    let text = &m.part("text/plain").body;
    assert!(text.contains(&format!("\r\n{LINK}\r\n")), "{text}");
    assert!(text.contains("This invitation expires on 2026-12-01 09:30 UTC."));
    let html = &m.part("text/html").body;
    assert!(
        html.contains(&format!("href=\"{}\"", LINK.replace('&', "&amp;"))),
        "{html}"
    );
    // Lines over 76 characters (the link, the styled HTML) make lettre pick
    // quoted-printable: the link is only whole once decoded, as done above.
    assert_eq!(m.part("text/html").encoding, "quoted-printable");
}

#[tokio::test]
async fn a_notice_to_several_administrators_is_one_message() {
    let client = client();
    verify(&client, "verified-sender.example").await;
    let mailer = SesMailer::new(client, "Admit <admit@verified-sender.example>", None).unwrap();
    let to: Vec<Email> = ["owner@admins-one.example", "admin@admins-one.example"]
        .iter()
        .map(|a| Email::parse(a).unwrap())
        .collect();
    let link = "https://admit.example/app";
    let mail = Templates::new().render_to_all(
        to.clone(),
        &Message::AwaitingConfirmation {
            org_name: "Acme",
            member_email: "new@members.example",
            link,
        },
    );
    mailer.send(&mail).await.unwrap();

    let sent = Moto::shared().sent_emails().await;
    let sent: Vec<_> = sent
        .iter()
        .filter(|m| {
            m.destinations
                .iter()
                .any(|d| d.ends_with("@admins-one.example"))
        })
        .collect();
    let [email] = &sent[..] else {
        panic!("one message to both: {sent:?}")
    };
    // moto adds the message's own To addresses to the destinations SES was given.
    let destinations: std::collections::BTreeSet<&str> =
        email.destinations.iter().map(String::as_str).collect();
    assert_eq!(
        destinations,
        ["admin@admins-one.example", "owner@admins-one.example"].into()
    );
    let m = mime::parse(email.raw.as_bytes());
    assert_eq!(
        m.header("To"),
        Some("owner@admins-one.example, admin@admins-one.example")
    );
}

#[tokio::test]
async fn non_ascii_content_survives_the_trip() {
    let client = client();
    verify(&client, "verified-sender.example").await;
    let mailer = SesMailer::new(
        client,
        "admit@verified-sender.example",
        Some("admit-mail".into()),
    )
    .unwrap();
    let to = Email::parse("invitee.two@members.example").unwrap();
    mailer.send(&invitation(&to, "Café Ünïcode")).await.unwrap();

    let sent = Moto::shared().sent_emails().await;
    let email = sent
        .iter()
        .find(|m| m.destinations.iter().any(|d| d.contains(to.as_str())))
        .expect("sent");
    let m = mime::parse(email.raw.as_bytes());
    assert_eq!(
        mime::decode_words(m.header("Subject").unwrap()),
        "Join Café Ünïcode on Admit"
    );
    let text = &m.part("text/plain").body;
    assert!(
        text.contains("You have been invited to join Café Ünïcode."),
        "{text}"
    );
    assert!(text.contains(&format!("\r\n{LINK}\r\n")), "{text}");
}

#[tokio::test]
async fn an_unverified_sender_is_rejected() {
    let mailer = SesMailer::new(client(), "admit@never-verified.example", None).unwrap();
    let to = Email::parse("invitee.three@members.example").unwrap();
    let err = mailer.send(&invitation(&to, "Acme")).await.unwrap_err();
    assert!(
        matches!(&err, MailError::Rejected(m) if m.contains("MessageRejected")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    let port = admit_tests::moto::free_port();
    let config = Moto::shared()
        .sdk_config()
        .into_builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let config = aws_sdk_sesv2::config::Builder::from(&config)
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
        .build();
    let mailer = SesMailer::new(
        Client::from_conf(config),
        "admit@verified-sender.example",
        None,
    )
    .unwrap();
    let to = Email::parse("invitee.four@members.example").unwrap();
    let err = mailer.send(&invitation(&to, "Acme")).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}
