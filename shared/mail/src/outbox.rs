//! The self-hosted mailer: each message becomes an `.eml` file in a directory.

use crate::rfc5322::{parse_mailbox, try_to_rfc5322};
use crate::{Mail, MailError, Mailer};
use lettre::message::Mailbox;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes each message to `dir` as `{unix_micros:020}-{counter:06}-{recipient}.eml`
/// (`{first recipient}+{n}` when it has more): one file per message, however
/// many recipients it has, so a notice to every administrator appears once;
/// sorting the names sorts the messages by send time. A file appears whole or
/// not at all (written to a hidden temporary file, then renamed).
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    /// Creates `dir` (and its parents) if needed.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let dir = dir.into();
        let from = parse_mailbox(from)?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            MailError::Rejected(format!("cannot create the outbox {}: {e}", dir.display()))
        })?;
        Ok(Self { dir, from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = try_to_rfc5322(&self.from, mail)?;
        let name = file_name(mail);
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
            .await
            .map_err(|e| MailError::Transient(format!("outbox writer failed: {e}")))?
            .map_err(|e| MailError::Transient(format!("cannot write to the outbox: {e}")))?;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(())
    }
}

/// Strictly increasing within the process, so names sort in send order even
/// when two messages share a microsecond or the clock steps back.
fn next_stamp() -> (u64, u64) {
    static LAST_MICROS: AtomicU64 = AtomicU64::new(0);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let prev = LAST_MICROS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .expect("the closure always returns Some");
    (
        now.max(prev + 1),
        COUNTER.fetch_add(1, Ordering::SeqCst) % 1_000_000,
    )
}

fn file_name(mail: &Mail) -> String {
    let (micros, counter) = next_stamp();
    let first = mail.to.first().map_or("", |e| e.as_str());
    let mut recipient: String = first
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.+-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if mail.to.len() > 1 {
        recipient.push_str(&format!("+{}", mail.to.len() - 1));
    }
    format!("{micros:020}-{counter:06}-{recipient}.eml")
}

fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use admit_domain::Email;

    use crate::mime;

    fn mail(to: &str, n: usize) -> Mail {
        Mail {
            to: vec![Email::parse(to).unwrap()],
            subject: format!("Message {n}"),
            text: format!("Number {n}: https://admit.example/accept?token=t{n}\n"),
            html: format!("<p>Number {n}</p>\n"),
        }
    }

    fn eml_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_message_to_several_recipients_is_one_file() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(tmp.path(), "admit@mail.example").unwrap();
        let mut m = mail("owner@example.com", 1);
        m.to.push(Email::parse("admin@example.com").unwrap());
        m.to.push(Email::parse("other@example.com").unwrap());
        outbox.send(&m).await.unwrap();
        let names = eml_files(tmp.path());
        let [name] = &names[..] else {
            panic!("one file: {names:?}")
        };
        assert!(name.ends_with("-owner@example.com+2.eml"), "{name}");
        let parsed = mime::parse(&std::fs::read(tmp.path().join(name)).unwrap());
        assert_eq!(
            parsed.header("To"),
            Some("owner@example.com, admin@example.com, other@example.com")
        );
        m.to.clear();
        assert!(matches!(outbox.send(&m).await, Err(MailError::Rejected(_))));
    }

    #[tokio::test]
    async fn writes_one_complete_eml_per_message_in_send_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/outbox");
        let outbox = OutboxMailer::new(&dir, "Admit <admit@mail.example>").unwrap();
        assert_eq!(outbox.dir(), dir);
        let recipients = ["zed@example.com", "amy+tag@example.com", "m'o@example.com"];
        for n in 0..30 {
            outbox.send(&mail(recipients[n % 3], n)).await.unwrap();
        }
        let names = eml_files(&dir);
        assert_eq!(names.len(), 30, "{names:?}");
        for (n, name) in names.iter().enumerate() {
            assert!(name.ends_with(".eml") && name.is_ascii(), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@.+-_".contains(c)),
                "{name}"
            );
            let raw = std::fs::read(dir.join(name)).unwrap();
            let m = mime::parse(&raw);
            assert_eq!(
                m.header("Subject"),
                Some(format!("Message {n}").as_str()),
                "{name}"
            );
            assert_eq!(m.header("To"), Some(recipients[n % 3]));
            assert_eq!(m.header("From"), Some("Admit <admit@mail.example>"));
            assert!(
                m.part("text/plain")
                    .body
                    .contains(&format!("token=t{n}\r\n"))
            );
            assert!(m.part("text/html").body.contains(&format!("Number {n}")));
        }
        assert!(names[2].ends_with("-m_o@example.com.eml"), "{}", names[2]);
    }

    #[tokio::test]
    async fn concurrent_sends_each_get_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox =
            std::sync::Arc::new(OutboxMailer::new(tmp.path(), "admit@mail.example").unwrap());
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let outbox = outbox.clone();
                tokio::spawn(async move { outbox.send(&mail("same@example.com", n)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let names = eml_files(tmp.path());
        assert_eq!(names.len(), 20);
        assert!(
            names.iter().all(|n| !n.starts_with('.')),
            "no temporary file is left"
        );
    }

    #[tokio::test]
    async fn a_rendered_invitation_reads_back_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(tmp.path(), "Admit <admit@mail.example>").unwrap();
        let link = format!(
            "https://admit.example/invitations/accept?org=o_1&token={}",
            "Ab-_9".repeat(12)
        );
        let message = crate::Message::Invitation {
            org_name: "Café & Co",
            link: &link,
            expires_at: admit_domain::Timestamp::parse("2026-11-28T14:05:00Z").unwrap(),
            account_exists: true,
        };
        let mail =
            crate::Templates::new().render(&Email::parse("a@example.com").unwrap(), &message);
        outbox.send(&mail).await.unwrap();
        let [name] = &eml_files(tmp.path())[..] else {
            panic!("one file")
        };
        let m = mime::parse(&std::fs::read(tmp.path().join(name)).unwrap());
        assert_eq!(
            mime::decode_words(m.header("Subject").unwrap()),
            "Join Café & Co on Admit"
        );
        assert_eq!(m.part("text/plain").body, mail.text.replace('\n', "\r\n"));
        assert_eq!(m.part("text/html").body, mail.html.replace('\n', "\r\n"));
        assert!(
            m.part("text/plain")
                .body
                .contains(&format!("\r\n{link}\r\n"))
        );
    }

    #[test]
    fn stamps_strictly_increase() {
        let stamps: Vec<_> = (0..1000).map(|_| next_stamp().0).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn refuses_a_malformed_sender() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            OutboxMailer::new(tmp.path(), "nope"),
            Err(MailError::Rejected(_))
        ));
    }
}
