//! The messages Admit sends and their templates (`templates/`, compiled in).

use crate::Mail;
use admit_domain::{Email, Timestamp};
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior, Value, context};
use std::fmt;

const FINISH_ACCOUNT_SETUP: &str = "Finish account setup";
const ACCEPT_INVITATION: &str = "Accept invitation";
const REVIEW_MEMBERS: &str = "Review members";
const SIGN_IN: &str = "Sign in";

/// What Admit sends. Rendered by [`Templates::render`].
#[derive(Clone, Copy)]
pub enum Message<'a> {
    /// To an invited member. `account_exists` picks the button:
    /// false → "Finish account setup", true → "Accept invitation".
    Invitation {
        org_name: &'a str,
        link: &'a str,
        expires_at: Timestamp,
        account_exists: bool,
    },
    /// To an invited member who has not acted yet, before the invitation expires.
    Reminder {
        org_name: &'a str,
        link: &'a str,
        expires_at: Timestamp,
        account_exists: bool,
    },
    /// To the owner named when the organization was created.
    OwnerInvitation {
        org_name: &'a str,
        link: &'a str,
        expires_at: Timestamp,
    },
    /// To owners/admins: a member accepted and awaits confirmation.
    AwaitingConfirmation {
        org_name: &'a str,
        member_email: &'a str,
        link: &'a str,
    },
    /// To the member: an admin confirmed them, access is ready.
    Confirmed { org_name: &'a str, link: &'a str },
    /// To owners/admins, at most daily: members accepted more than a day ago
    /// and not yet confirmed (the longest-waiting first), and how many more
    /// there are beyond the list.
    Digest {
        org_name: &'a str,
        awaiting: &'a [Awaiting<'a>],
        more: usize,
        link: &'a str,
    },
}

/// One member awaiting confirmation, as listed in [`Message::Digest`].
#[derive(Debug, Clone, Copy)]
pub struct Awaiting<'a> {
    pub email: &'a str,
    pub accepted_at: Timestamp,
}

impl Message<'_> {
    /// The templates' base name: `{name}.subject.txt`, `{name}.txt`, `{name}.html`.
    fn name(&self) -> &'static str {
        match self {
            Message::Invitation { .. } => "invitation",
            Message::OwnerInvitation { .. } => "owner_invitation",
            Message::Reminder { .. } => "reminder",
            Message::AwaitingConfirmation { .. } => "awaiting_confirmation",
            Message::Confirmed { .. } => "confirmed",
            Message::Digest { .. } => "digest",
        }
    }

    fn context(&self) -> Value {
        match *self {
            Message::Invitation {
                org_name,
                link,
                expires_at,
                account_exists,
            }
            | Message::Reminder {
                org_name,
                link,
                expires_at,
                account_exists,
            } => context! {
                org_name, link, account_exists,
                expires_at => expires_at.human(),
                action => if account_exists { ACCEPT_INVITATION } else { FINISH_ACCOUNT_SETUP },
            },
            Message::OwnerInvitation {
                org_name,
                link,
                expires_at,
            } => context! {
                org_name, link,
                expires_at => expires_at.human(),
                action => FINISH_ACCOUNT_SETUP,
            },
            Message::AwaitingConfirmation {
                org_name,
                member_email,
                link,
            } => context! {
                org_name, member_email, link,
                action => REVIEW_MEMBERS,
            },
            Message::Confirmed { org_name, link } => context! { org_name, link, action => SIGN_IN },
            Message::Digest {
                org_name,
                awaiting,
                more,
                link,
            } => context! {
                org_name, link, more,
                count => awaiting.len() + more,
                awaiting => awaiting
                    .iter()
                    .map(|a| context! { email => a.email, accepted_at => a.accepted_at.human() })
                    .collect::<Vec<_>>(),
                action => REVIEW_MEMBERS,
            },
        }
    }
}

impl fmt::Debug for Message<'_> {
    /// Links hold tokens: only the kind of message is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message::{}", self.name())
    }
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "layout.txt",
    "invitation.subject.txt",
    "invitation.txt",
    "invitation.html",
    "reminder.subject.txt",
    "reminder.txt",
    "reminder.html",
    "owner_invitation.subject.txt",
    "owner_invitation.txt",
    "owner_invitation.html",
    "awaiting_confirmation.subject.txt",
    "awaiting_confirmation.txt",
    "awaiting_confirmation.html",
    "confirmed.subject.txt",
    "confirmed.txt",
    "confirmed.html",
    "digest.subject.txt",
    "digest.txt",
    "digest.html",
];

/// The compiled templates; build once and share.
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(html_formatter);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} compiles: {e:#}"));
        }
        Self { env }
    }

    /// `message` to one recipient.
    pub fn render(&self, to: &Email, message: &Message<'_>) -> Mail {
        self.render_to_all(vec![to.clone()], message)
    }

    /// `message` as one message to every address of `to` (at least one).
    pub fn render_to_all(&self, to: Vec<Email>, message: &Message<'_>) -> Mail {
        let name = message.name();
        let ctx = message.context();
        // A subject is one line whatever the values hold.
        let subject = one_line(&self.render_one(&format!("{name}.subject.txt"), &ctx));
        let ctx = context! { subject => &subject, ..ctx };
        let text = tidy_text(&self.render_one(&format!("{name}.txt"), &ctx));
        let html = self.render_one(&format!("{name}.html"), &ctx);
        Mail {
            to,
            subject,
            text,
            html,
        }
    }

    /// The templates are compiled in and the contexts built above: a failure
    /// here is a bug, caught by this crate's tests.
    fn render_one(&self, name: &str, ctx: &Value) -> String {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .unwrap_or_else(|e| panic!("template {name} renders: {e:#}"))
    }
}

/// minijinja's formatter, except that HTML escaping leaves `/` alone, so
/// links stay readable (`https://…` rather than `https:&#x2f;&#x2f;…`).
/// `&`, `<`, `>`, `"` and `'` are still escaped, which is what HTML needs in
/// text and in quoted attribute values.
fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if state.auto_escape() != AutoEscape::Html
        || value.is_safe()
        || value.kind() != ValueKind::String
    {
        return minijinja::escape_formatter(out, state, value);
    }
    let s = value.as_str().unwrap_or_default();
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let entity = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#x27;",
            _ => continue,
        };
        out.write_str(&s[last..i])?;
        out.write_str(entity)?;
        last = i + 1;
    }
    out.write_str(&s[last..])?;
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trailing spaces removed, at most one blank line in a row, one final newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true; // drops leading blank lines
    for line in s.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
#[path = "templates_tests.rs"]
mod tests;
