//! Rendered mail as an RFC 5322 message: what both mailers send.

use crate::{Mail, MailError};
use lettre::Address;
use lettre::message::{Mailbox, MultiPart};

/// Parses a sender such as `Admit <admit@example.com>` or `admit@example.com`.
pub fn parse_mailbox(from: &str) -> Result<Mailbox, MailError> {
    from.parse::<Mailbox>()
        .map_err(|e| MailError::Rejected(format!("invalid sender address {from:?}: {e}")))
}

/// The message as sent: `From`, `To`, `Subject`, `Date`, `Message-ID`,
/// `MIME-Version` and a `multipart/alternative` body, `text/plain` then
/// `text/html`, both UTF-8. Header values are encoded by lettre, so no value
/// can start a header of its own.
///
/// Each body part's transfer encoding is the one lettre finds best: `7bit`
/// when the part is ASCII with lines under 76 characters, else
/// `quoted-printable` (or `base64`). The HTML part, and any text part with a
/// long link, is quoted-printable: read links from the decoded parts, not
/// from the raw bytes (`=` is sent as `=3D`, long lines are soft-wrapped).
///
/// Panics only if `mail.to` is empty or holds an address lettre accepts, which
/// `Email`'s validation rules out; use [`try_to_rfc5322`] to get an error.
pub fn to_rfc5322(from: &Mailbox, mail: &Mail) -> Vec<u8> {
    try_to_rfc5322(from, mail).expect("a valid Email is a valid RFC 5322 address")
}

/// [`to_rfc5322`], with an error instead of a panic.
pub fn try_to_rfc5322(from: &Mailbox, mail: &Mail) -> Result<Vec<u8>, MailError> {
    if mail.to.is_empty() {
        return Err(MailError::Rejected("a message without recipients".into()));
    }
    let mut builder = lettre::Message::builder().from(from.clone());
    for to in &mail.to {
        let to: Address = to
            .as_str()
            .parse()
            .map_err(|e| MailError::Rejected(format!("invalid recipient address: {e}")))?;
        builder = builder.to(Mailbox::new(None, to));
    }
    let message = builder
        .subject(mail.subject.as_str())
        .date_now()
        .message_id(Some(message_id(from)))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError::Rejected(format!("cannot build the message: {e}")))?;
    Ok(message.formatted())
}

/// `<random@sender's domain>`: unique, and without the host's name.
fn message_id(from: &Mailbox) -> String {
    format!("<{:032x}@{}>", rand::random::<u128>(), from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::Email;

    use crate::mime;

    fn mail(subject: &str) -> Mail {
        Mail {
            to: vec![Email::parse("Member@Example.com").unwrap()],
            subject: subject.into(),
            text: "Hello\nhttps://admit.example/accept?token=abc_DEF-123&x=1\n".into(),
            html: "<p>Hello <a href=\"https://admit.example/accept?token=abc_DEF-123&amp;x=1\">go</a></p>\n".into(),
        }
    }

    fn from() -> Mailbox {
        parse_mailbox("Admit <admit@mail.example>").unwrap()
    }

    #[test]
    fn has_the_headers_and_both_parts_in_order() {
        let raw = to_rfc5322(&from(), &mail("Join Acme on Admit"));
        let m = mime::parse(&raw);
        assert_eq!(m.header("From").unwrap(), "Admit <admit@mail.example>");
        assert_eq!(m.header("To").unwrap(), "member@example.com");
        assert_eq!(m.header("Subject").unwrap(), "Join Acme on Admit");
        assert_eq!(m.header("MIME-Version").unwrap(), "1.0");
        assert!(m.header("Date").is_some());
        let id = m.header("Message-ID").unwrap();
        assert!(
            id.starts_with('<') && id.ends_with("@mail.example>"),
            "{id}"
        );
        assert!(
            m.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        let [text, html] = &m.parts[..] else {
            panic!("two parts: {:?}", m.parts)
        };
        assert!(text.content_type.starts_with("text/plain") && text.content_type.contains("utf-8"));
        assert!(html.content_type.starts_with("text/html") && html.content_type.contains("utf-8"));
        assert!(
            text.body
                .contains("https://admit.example/accept?token=abc_DEF-123&x=1\r\n")
        );
        assert!(
            html.body
                .contains("href=\"https://admit.example/accept?token=abc_DEF-123&amp;x=1\"")
        );
        // Every line ends in CRLF and stays within RFC 5322's limit.
        let raw = String::from_utf8(raw).unwrap();
        assert!(
            raw.split("\r\n")
                .all(|l| !l.contains('\n') && l.len() <= 998)
        );
    }

    #[test]
    fn message_ids_differ() {
        let a = mime::parse(&to_rfc5322(&from(), &mail("s")));
        let b = mime::parse(&to_rfc5322(&from(), &mail("s")));
        assert_ne!(a.header("Message-ID"), b.header("Message-ID"));
    }

    #[test]
    fn no_header_injection_through_the_subject() {
        let raw = to_rfc5322(
            &from(),
            &mail("Acme\r\nBcc: evil@attacker.example\r\n\r\nowned"),
        );
        let m = mime::parse(&raw);
        assert!(m.header("Bcc").is_none());
        assert!(
            m.headers
                .iter()
                .all(|(name, _)| !name.eq_ignore_ascii_case("bcc"))
        );
        let raw = String::from_utf8(raw).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(!raw.contains("\nowned"));
        // The subject survives, encoded.
        let subject = m.header("Subject").unwrap();
        assert!(subject.contains("=?utf-8?"), "{subject}");
    }

    #[test]
    fn non_ascii_is_encoded_and_decodes_back() {
        let mut mail = mail("Rejoignez Café Ünïcode");
        mail.text = "Café: https://admit.example/accept?token=abc=\n".into();
        let m = mime::parse(&to_rfc5322(&from(), &mail));
        assert!(
            m.header("Subject").unwrap().contains("=?utf-8?"),
            "{:?}",
            m.header("Subject")
        );
        assert_eq!(
            mime::decode_words(m.header("Subject").unwrap()),
            "Rejoignez Café Ünïcode"
        );
        assert_eq!(
            m.parts[0].body,
            "Café: https://admit.example/accept?token=abc=\r\n"
        );
    }

    #[test]
    fn every_valid_email_is_a_valid_recipient() {
        for to in [
            "a!#$%&'*+-/=?^_`{|}~.b@x-y.example",
            "1@2.3",
            "a+b@sub.domain.example",
        ] {
            let mut m = mail("s");
            m.to = vec![Email::parse(to).unwrap()];
            assert!(try_to_rfc5322(&from(), &m).is_ok(), "{to}");
        }
    }

    #[test]
    fn refuses_a_malformed_sender() {
        assert!(matches!(
            parse_mailbox("not an address"),
            Err(MailError::Rejected(_))
        ));
        assert!(parse_mailbox("admit@mail.example").is_ok());
    }
}
