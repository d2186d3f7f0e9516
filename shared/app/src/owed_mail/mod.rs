//! Sending the email memberships owe: the first attempt of the request
//! that caused it, and the scheduled job (`remind`, or `admit serve`'s
//! timer) for retries, reminders and the administrators' digest. Every send
//! is claimed by a conditional write first, so an email goes out once per
//! cause however many runs overlap; a notice to several administrators is
//! one message to them all, so it too goes out once or not at all.
//!
//! - [`render`]: what an owed email says and to whom (the templates'
//!   context, from what a run or request has read), and the request's own
//!   attempt at it;
//! - [`pacing`]: sends spaced at the mail service's rate;
//! - [`job`]: one run of the job, claiming, sending and recording every
//!   owed email due, and its [`RunSummary`];
//! - [`digest`]: the administrators' daily digest of members awaiting
//!   confirmation.
//!
//! What each change of a membership owes, and how a claim, its backoff and
//! a send move it on, are the domain's rules (`admit_domain::owed_mail`).

mod digest;
mod job;
mod pacing;
mod render;

pub use job::RunSummary;
pub(crate) use render::Reads;
