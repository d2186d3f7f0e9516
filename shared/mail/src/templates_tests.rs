use super::*;

const LINK: &str = "https://admit.example/invitations/accept?org=o_1&token=AbC-123_xyz";
const LINK_IN_HTML: &str = "https://admit.example/invitations/accept?org=o_1&amp;token=AbC-123_xyz";

fn to() -> Email {
    Email::parse("member@example.com").unwrap()
}

fn expires() -> Timestamp {
    Timestamp::parse("2026-11-28T14:05:09Z").unwrap()
}

fn render(message: Message<'_>) -> Mail {
    Templates::new().render(&to(), &message)
}

/// A link is a real `<a>` in the HTML and on a line of its own in the text.
fn assert_link(mail: &Mail, label: &str) {
    assert!(
        mail.text.contains(&format!("\n{LINK}\n")),
        "text:\n{}",
        mail.text
    );
    assert!(
        mail.text.contains(&format!("{label}:\n")),
        "text:\n{}",
        mail.text
    );
    let button = format!("<a href=\"{LINK_IN_HTML}\"");
    assert!(mail.html.contains(&button), "html:\n{}", mail.html);
    let anchor = mail.html.split(&button).nth(1).unwrap();
    let anchor_text = anchor
        .split_once('>')
        .unwrap()
        .1
        .split_once("</a>")
        .unwrap()
        .0;
    assert_eq!(anchor_text, label);
    assert!(!mail.html.contains("&#x2f;"), "slashes are left alone");
}

fn assert_well_formed(mail: &Mail) {
    assert_eq!(mail.to, [to()]);
    assert!(!mail.subject.is_empty() && !mail.subject.contains(['\r', '\n']));
    assert!(mail.html.starts_with("<!DOCTYPE html>"));
    assert!(
        mail.html
            .contains(&format!("<title>{}</title>", mail.subject))
    );
    assert!(
        !mail.text.starts_with('\n') && mail.text.ends_with('\n') && !mail.text.ends_with("\n\n")
    );
    assert!(
        !mail.text.contains("\n\n\n") && !mail.text.contains("{{") && !mail.html.contains("{%")
    );
}

#[test]
fn invitation_for_a_new_account() {
    let mail = render(Message::Invitation {
        org_name: "Acme",
        link: LINK,
        expires_at: expires(),
        account_exists: false,
    });
    assert_well_formed(&mail);
    assert_eq!(mail.subject, "Join Acme on Admit");
    assert_link(&mail, "Finish account setup");
    assert!(!mail.text.contains("Accept invitation") && !mail.html.contains("Accept invitation"));
    for body in [&mail.text, &mail.html] {
        assert!(
            body.contains("This invitation expires on 2026-11-28 14:05 UTC."),
            "{body}"
        );
        assert!(body.contains("Acme"));
    }
}

#[test]
fn invitation_for_an_existing_account() {
    let mail = render(Message::Invitation {
        org_name: "Acme",
        link: LINK,
        expires_at: expires(),
        account_exists: true,
    });
    assert_well_formed(&mail);
    assert_link(&mail, "Accept invitation");
    assert!(
        !mail.text.contains("Finish account setup") && !mail.html.contains("Finish account setup")
    );
    assert!(
        mail.text
            .contains("This invitation expires on 2026-11-28 14:05 UTC.")
    );
}

#[test]
fn reminder() {
    let mail = render(Message::Reminder {
        org_name: "Acme",
        link: LINK,
        expires_at: expires(),
        account_exists: false,
    });
    assert_eq!(mail.subject, "Reminder: join Acme on Admit");
    assert_link(&mail, "Finish account setup");
    assert!(mail.text.contains("still waiting"), "{}", mail.text);
    assert_well_formed(&mail);
}

#[test]
fn owner_invitation() {
    let mail = render(Message::OwnerInvitation {
        org_name: "Acme",
        link: LINK,
        expires_at: expires(),
    });
    assert_well_formed(&mail);
    assert_eq!(mail.subject, "You were named owner of Acme on Admit");
    assert_link(&mail, "Finish account setup");
    for body in [&mail.text, &mail.html] {
        assert!(
            body.contains("This invitation expires on 2026-11-28 14:05 UTC."),
            "{body}"
        );
    }
    assert!(mail.text.contains("You were named owner of Acme on Admit."));
    assert!(
        mail.html
            .contains("You were named owner of <strong>Acme</strong> on Admit.")
    );
}

#[test]
fn awaiting_confirmation() {
    let message = Message::AwaitingConfirmation {
        org_name: "Acme",
        member_email: "new.member@example.com",
        link: LINK,
    };
    let mail = render(message);
    assert_well_formed(&mail);
    assert_eq!(
        mail.subject,
        "new.member@example.com awaits confirmation in Acme"
    );
    assert_link(&mail, "Review members");
    assert!(mail.text.contains(
        "new.member@example.com accepted the invitation to Acme and awaits confirmation."
    ));
    assert!(mail.html.contains(
        "<strong>new.member@example.com</strong> accepted the invitation to <strong>Acme</strong> and awaits confirmation."
    ));
    assert!(!mail.text.contains("expires"));
}

#[test]
fn confirmed() {
    let mail = render(Message::Confirmed {
        org_name: "Acme",
        link: LINK,
    });
    assert_well_formed(&mail);
    assert_eq!(mail.subject, "Your access to Acme is ready");
    assert_link(&mail, "Sign in");
    assert!(
        mail.text
            .contains("An administrator of Acme confirmed you; your access is ready.")
    );
    assert!(mail.html.contains(
        "An administrator of <strong>Acme</strong> confirmed you; your access is ready."
    ));
}

#[test]
fn digest_lists_who_waits_and_how_many_more() {
    let at = expires();
    let awaiting = [
        Awaiting {
            email: "a@example.com",
            accepted_at: at,
        },
        Awaiting {
            email: "<b>@example.com",
            accepted_at: at,
        },
    ];
    let mail = Templates::new().render_to_all(
        vec![to(), Email::parse("admin@example.com").unwrap()],
        &Message::Digest {
            org_name: "Acme",
            awaiting: &awaiting,
            more: 3,
            link: LINK,
        },
    );
    assert_eq!(mail.to.len(), 2);
    assert_eq!(mail.subject, "5 members await confirmation in Acme");
    assert_link(&mail, "Review members");
    assert!(
        mail.text
            .contains("- a@example.com (accepted 2026-11-28 14:05 UTC)\n"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("- <b>@example.com"));
    assert!(mail.text.contains("- and 3 more\n"));
    assert!(
        mail.html
            .contains("<li><strong>&lt;b&gt;@example.com</strong>"),
        "{}",
        mail.html
    );
    assert!(mail.html.contains("<li>and 3 more</li>"));

    let one = render(Message::Digest {
        org_name: "Acme",
        awaiting: &awaiting[..1],
        more: 0,
        link: LINK,
    });
    assert_well_formed(&one);
    assert_eq!(one.subject, "1 member awaits confirmation in Acme");
    assert!(
        one.text.contains("This member has accepted"),
        "{}",
        one.text
    );
    assert!(!one.text.contains("- and ") && !one.html.contains("more</li>"));
}

#[test]
fn html_is_escaped_by_the_engine_text_is_not() {
    let org = "<script>alert(1)</script> & Co";
    let member = "o'hara\"@example.com";
    let messages = [
        Message::Invitation {
            org_name: org,
            link: LINK,
            expires_at: expires(),
            account_exists: false,
        },
        Message::OwnerInvitation {
            org_name: org,
            link: LINK,
            expires_at: expires(),
        },
        Message::AwaitingConfirmation {
            org_name: org,
            member_email: member,
            link: LINK,
        },
        Message::Confirmed {
            org_name: org,
            link: LINK,
        },
    ];
    for message in messages {
        let mail = render(message);
        assert!(
            !mail.html.contains("<script>"),
            "{message:?}: {}",
            mail.html
        );
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
            "{message:?}"
        );
        assert!(mail.text.contains(org), "{message:?}: {}", mail.text);
        assert!(mail.subject.contains(org));
        if let Message::AwaitingConfirmation { .. } = message {
            assert!(mail.html.contains("o&#x27;hara&quot;@example.com"));
            assert!(mail.text.contains(member));
        }
    }
}

#[test]
fn a_link_cannot_break_out_of_its_attribute() {
    let link = "https://admit.example/x\" onclick=\"steal()";
    let mail = render(Message::Confirmed {
        org_name: "Acme",
        link,
    });
    assert!(!mail.html.contains("\" onclick"));
    assert!(
        mail.html
            .contains("href=\"https://admit.example/x&quot; onclick=&quot;steal()\"")
    );
}

#[test]
fn line_breaks_in_values_stay_out_of_the_subject() {
    let org = "Acme\r\nBcc: evil@attacker.example";
    let mail = render(Message::Invitation {
        org_name: org,
        link: LINK,
        expires_at: expires(),
        account_exists: true,
    });
    assert_eq!(
        mail.subject,
        "Join Acme Bcc: evil@attacker.example on Admit"
    );
}

#[test]
fn debug_output_hides_links_and_bodies() {
    let message = Message::Invitation {
        org_name: "Acme",
        link: LINK,
        expires_at: expires(),
        account_exists: true,
    };
    assert_eq!(format!("{message:?}"), "Message::invitation");
    let mail = render(message);
    let debug = format!("{mail:?}");
    assert!(
        !debug.contains("AbC-123_xyz") && debug.contains("member@example.com"),
        "{debug}"
    );
}
