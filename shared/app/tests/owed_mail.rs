//! The owed-mail job (`remind`, `admit serve`'s timer), run with the clock
//! moved: reminders on the schedule and never after expiry, retries of
//! failed sends after their backoff, the administrators' daily digest.

mod support;

use admit_app::{Confirm, RunSummary};
use admit_domain::{Role, Status};
use support::World;
use time::Duration;

async fn run(w: &World) -> RunSummary {
    w.app.run_owed_mail(None).await.unwrap()
}

#[tokio::test]
async fn reminders_follow_the_schedule_once_each_and_stop_at_expiry() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    let first = w.token_for("ann@example.com");
    let expiry = (w.now() + Duration::days(5)).human();
    assert_eq!(run(&w).await, RunSummary::default(), "nothing due yet");

    // Day 2: the first reminder, with a link of its own; the first link still works.
    w.advance(Duration::days(2));
    assert_eq!(run(&w).await.reminded, 1);
    let mails = w.mails_to("ann@example.com");
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject, "Reminder: join Acme on Admit");
    assert!(mails[1].text.contains(&format!("expires on {expiry} UTC")));
    let reminded = mails[1].accept_token();
    assert_eq!(
        w.app.lookup_invitation(&reminded).await.unwrap().email,
        "ann@example.com"
    );
    assert!(w.app.lookup_invitation(&first).await.is_ok());
    // Never twice for the same step.
    assert_eq!(run(&w).await, RunSummary::default());
    assert_eq!(w.mails_to("ann@example.com").len(), 2);

    // Day 4: the second; day 5: expired, nothing more.
    w.advance(Duration::days(2));
    assert_eq!(run(&w).await.reminded, 1);
    w.advance(Duration::days(1));
    let last = run(&w).await;
    assert_eq!((last.reminded, last.sent), (0, 0));
    w.advance(Duration::days(3));
    run(&w).await;
    assert_eq!(w.mails_to("ann@example.com").len(), 3);
    assert!(
        w.member(&acme, "ann@example.com")
            .await
            .unwrap()
            .invitation_expired
    );
}

#[tokio::test]
async fn answered_or_revoked_invitations_get_no_reminder() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    w.invite(&acme.owner, &acme, &["bob@example.com"], Role::User)
        .await
        .unwrap();
    let bob = w.member(&acme, "bob@example.com").await.unwrap().member_id;
    w.app.revoke(&acme.owner, &acme.id, &bob).await.unwrap();
    w.advance(Duration::days(2));
    let summary = run(&w).await;
    assert_eq!(summary.reminded, 0);
    assert_eq!(w.mails_to("ann@example.com").len(), 1);
    assert_eq!(w.mails_to("bob@example.com").len(), 1);
}

#[tokio::test]
async fn a_failed_invitation_is_retried_after_its_backoff() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.mail_fails(true);
    // The invitation is written even when its email fails.
    let invited = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap();
    assert_eq!(invited.invited.len(), 1);
    assert!(w.mails_to("ann@example.com").is_empty());
    let m = w.member(&acme, "ann@example.com").await.unwrap();
    assert_eq!(m.invitation_sent, Some(false));

    // The request's attempt holds its claim for 5 minutes.
    w.mail_fails(false);
    assert_eq!(run(&w).await.sent, 0);
    w.advance(Duration::minutes(5));
    // Still down at the job's first attempt: retried after a longer backoff.
    w.mail_fails(true);
    assert_eq!(run(&w).await.failed, 1);
    w.mail_fails(false);
    w.advance(Duration::minutes(5));
    assert_eq!(
        run(&w).await.sent,
        0,
        "the second attempt's lease is 10 minutes"
    );
    w.advance(Duration::minutes(5));
    let summary = run(&w).await;
    assert_eq!((summary.sent, summary.retried), (1, 1));

    let mail = w.last_mail_to("ann@example.com");
    assert_eq!(mail.subject, "Join Acme on Admit");
    let view = w.app.lookup_invitation(&mail.accept_token()).await.unwrap();
    assert_eq!(view.email, "ann@example.com");
    assert_eq!(
        w.member(&acme, "ann@example.com")
            .await
            .unwrap()
            .invitation_sent,
        Some(true)
    );
    assert_eq!(run(&w).await, RunSummary::default());
}

#[tokio::test]
async fn a_run_stops_at_its_deadline_and_the_next_one_finishes() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.mail_fails(true);
    w.invite(
        &acme.owner,
        &acme,
        &["ann@example.com", "bob@example.com"],
        Role::User,
    )
    .await
    .unwrap();
    w.mail_fails(false);
    w.advance(Duration::minutes(5));
    // A deadline inside the safety margin: nothing is started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let cut = w.app.run_owed_mail(Some(deadline)).await.unwrap();
    assert!(cut.unfinished);
    assert_eq!(cut.sent, 0);
    let rest = run(&w).await;
    assert!(!rest.unfinished);
    assert_eq!(rest.sent, 2);
    assert_eq!(w.mails_to("ann@example.com").len(), 1);
    assert_eq!(w.mails_to("bob@example.com").len(), 1);
}

#[tokio::test]
async fn a_failed_notice_is_retried_by_the_job() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let member = w
        .accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    w.mail_fails(true);
    w.app
        .confirm(&acme.owner, &acme.id, &member, Confirm { key: "k".into() })
        .await
        .unwrap();
    w.mail_fails(false);
    assert_eq!(
        w.mails_to("ann@example.com").len(),
        1,
        "the invitation only"
    );
    w.advance(Duration::minutes(5));
    assert_eq!(run(&w).await.notified, 1);
    assert_eq!(
        w.last_mail_to("ann@example.com").subject,
        "Your access to Acme is ready"
    );
    assert_eq!(run(&w).await, RunSummary::default());
}

#[tokio::test]
async fn administrators_get_at_most_one_digest_a_day_while_members_wait() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let (_, _admin) = w
        .confirmed_member(&acme, "admin@example.com", Role::Admin, 'A')
        .await;
    let ann = w
        .accepted_member(&acme, "ann@example.com", Role::User, 'N')
        .await;
    w.accepted_member(&acme, "bob@example.com", Role::User, 'B')
        .await;
    let digests = |w: &World| {
        w.mails_to(&acme.owner_email)
            .into_iter()
            .filter(|m| {
                m.subject.contains("confirmation in Acme")
                    && m.subject.starts_with(char::is_numeric)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&w).await.digests, 0, "nobody has waited a day");

    w.advance(Duration::days(1));
    assert_eq!(run(&w).await.digests, 1, "one digest for both members");
    let sent = digests(&w);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "2 members await confirmation in Acme");
    assert!(sent[0].text.contains("ann@example.com"));
    assert!(sent[0].text.contains("bob@example.com"));
    let mut to = sent[0].to.clone();
    to.sort();
    assert_eq!(to, ["admin@example.com", "owner@acme.example.com"]);
    assert_eq!(run(&w).await.digests, 0);
    w.advance(Duration::hours(12));
    assert_eq!(run(&w).await.digests, 0, "not twice a day");

    // A day later, only who still waits.
    w.app
        .confirm(&acme.owner, &acme.id, &ann, Confirm { key: "k".into() })
        .await
        .unwrap();
    w.advance(Duration::hours(12));
    assert_eq!(run(&w).await.digests, 1);
    let sent = digests(&w);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].subject, "1 member awaits confirmation in Acme");
    assert!(!sent[1].text.contains("ann@example.com"));
    assert!(sent[1].text.contains("bob@example.com"));

    // Nobody waits: no more digests.
    let bob = w.member(&acme, "bob@example.com").await.unwrap();
    assert_eq!(bob.status, Status::Accepted);
    w.app
        .confirm(
            &acme.owner,
            &acme.id,
            &bob.member_id,
            Confirm { key: "k".into() },
        )
        .await
        .unwrap();
    w.advance(Duration::days(1));
    run(&w).await;
    assert_eq!(digests(&w).len(), 2);
}
