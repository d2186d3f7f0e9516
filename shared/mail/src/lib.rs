//! Admit's mail: the messages it sends, rendered from templates, and the two
//! ways they leave: Amazon SES v2 (on AWS) or a local outbox directory of
//! `.eml` files (self-hosted `admit serve`).
//!
//! Rendered messages carry invitation tokens in their links: nothing here logs
//! a message's subject or body, and `Mail`'s `Debug` leaves them out.

mod outbox;
mod rfc5322;
mod ses;
mod templates;

/// The tests' MIME reader, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/support/mime.rs"]
mod mime;

pub use lettre::message::Mailbox;
pub use outbox::OutboxMailer;
pub use rfc5322::{parse_mailbox, to_rfc5322, try_to_rfc5322};
pub use ses::SesMailer;
pub use templates::{Awaiting, Message, Templates};

use admit_domain::Email;
use std::fmt;

/// A rendered message.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// One or more recipients of the one message (a notice to an
    /// organization's administrators goes to them all at once, so it is sent
    /// once or not at all).
    pub to: Vec<Email>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies hold links with tokens: never in logs.
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("html", &format_args!("<{} bytes>", self.html.len()))
            .finish_non_exhaustive()
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Retry later: throttled, network trouble, a server-side failure.
    #[error("mail not sent, retry later: {0}")]
    Transient(String),
    /// Will not succeed as is: rejected address, unverified sender, bad configuration.
    #[error("mail rejected: {0}")]
    Rejected(String),
}

impl MailError {
    /// Whether sending again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailError::Transient(_))
    }
}

/// Sends rendered messages.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;

    /// How many messages a second the mail service accepts, when it says
    /// (SES: `GetAccount` → `SendQuota.MaxSendRate`); `None`: no limit known.
    async fn max_send_rate(&self) -> Option<f64> {
        None
    }
}
