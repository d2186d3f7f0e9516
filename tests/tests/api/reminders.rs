//! The owed-mail job (`remind`; `POST /operator/owed-mail/run` runs it now)
//! with the clock moved: reminders on the organization's schedule, nothing
//! after expiry, a reinvite restarting the schedule; failed sends retried
//! until delivered, each email once, even with two runs at once; notices
//! to administrators and members owed the same way; the administrators'
//! digest at most once a day.

use crate::helpers::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

on_both_backends!(
    reminders_follow_the_schedule_and_stop_at_expiry,
    failed_invitations_are_delivered_once_when_mail_works_again,
    notices_and_the_daily_digest_reach_administrators_once,
);

async fn run_job(app: &TestApp) -> Value {
    let (s, summary) = app
        .post("/operator/owed-mail/run", Some(OPERATOR_TOKEN), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    summary
}

async fn lookup(app: &TestApp, token: &str) -> StatusCode {
    app.post("/invitations/lookup", None, json!({"token": token}))
        .await
        .0
}

async fn reminders_follow_the_schedule_and_stop_at_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let owner = app.owner_field(&org, &session, "email").await;
    let ann = app.email("ann");
    assert_eq!(
        app.invite(&org, &session, &[&ann], "user").await.0,
        StatusCode::CREATED
    );
    // The inviting request sent it; nothing else is due.
    assert_eq!(app.mails_to(&ann).await.len(), 1);
    let first_link = app.last_mail_to(&ann).await.accept_token();
    assert_eq!(run_job(&app).await["sent"], 0);

    // Day 1: nothing. Day 2: the first reminder, once, however often the job runs.
    app.clock.advance(Duration::days(1));
    assert_eq!(run_job(&app).await["reminded"], 0);
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(run_job(&app).await["reminded"], 1);
    assert_eq!(run_job(&app).await["reminded"], 0);
    let mails = app.mails_to(&ann).await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].subject.starts_with("Reminder:"),
        "{}",
        mails[1].subject
    );
    // Both links open the invitation.
    let reminder_link = mails[1].accept_token();
    assert_ne!(reminder_link, first_link);
    assert_eq!(lookup(&app, &first_link).await, StatusCode::OK);
    assert_eq!(lookup(&app, &reminder_link).await, StatusCode::OK);

    // Day 4: the second.
    app.clock.advance(Duration::days(2));
    assert_eq!(run_job(&app).await["reminded"], 1);
    assert_eq!(app.mails_to(&ann).await.len(), 3);

    // Day 5: expired. Nothing goes out; the link says so; the listing shows it.
    app.clock.advance(Duration::days(1));
    let summary = run_job(&app).await;
    assert_eq!(
        (summary["sent"].as_u64(), summary["reminded"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(app.mails_to(&ann).await.len(), 3);
    assert_eq!(lookup(&app, &first_link).await, StatusCode::GONE);
    // Days have passed: the owner signs in again.
    let session = app.login(&owner, "owner password").await;
    let listed = app.member(&org, &session, &ann).await;
    assert_eq!(
        (
            listed["status"].as_str(),
            listed["invitation_expired"].as_bool()
        ),
        (Some("invited"), Some(true))
    );

    // A reinvite: a new link at once, and the schedule starts again.
    let id = app.member_id(&org, &session, &ann).await;
    let (s, _) = app
        .post(
            &format!("/orgs/{org}/members/{id}/reinvite"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.mails_to(&ann).await.len(), 4);
    assert_eq!(
        lookup(&app, &reminder_link).await,
        StatusCode::NOT_FOUND,
        "old links die"
    );
    app.clock.advance(Duration::days(2) + Duration::minutes(1));
    assert_eq!(run_job(&app).await["reminded"], 1);
    assert_eq!(app.mails_to(&ann).await.len(), 5);

    // Accepted: no more reminders.
    let token = app.last_mail_to(&ann).await.accept_token();
    let accept = json!({"token": token, "master_password_hash": mp_hash("ann pw"), "kdf": kdf()});
    assert_eq!(
        app.post("/invitations/accept", None, accept).await.0,
        StatusCode::OK
    );
    app.clock.advance(Duration::days(2));
    let summary = run_job(&app).await;
    assert_eq!(summary["reminded"], 0, "{summary}");
    assert_eq!(app.mails_to(&ann).await.len(), 5);
}

async fn failed_invitations_are_delivered_once_when_mail_works_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    app.break_mail_delivery().await;
    let people: Vec<String> = (0..6).map(|i| app.email(&format!("p{i}"))).collect();
    let emails: Vec<&str> = people.iter().map(String::as_str).collect();
    let (s, body) = app.invite(&org, &session, &emails, "user").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    // The request's own attempt failed; the job retries after its lease, and fails too.
    assert_eq!(
        run_job(&app).await["failed"],
        0,
        "still leased to the request"
    );
    app.clock.advance(Duration::minutes(6));
    assert_eq!(run_job(&app).await["failed"], 6);
    assert_eq!(
        run_job(&app).await["failed"],
        0,
        "each waits out its backoff"
    );

    // Mail works again: after the backoff, two runs at once deliver each email once.
    app.repair_mail_delivery().await;
    app.clock.advance(Duration::minutes(11));
    let (a, b) = tokio::join!(run_job(&app), run_job(&app));
    let sent = a["sent"].as_u64().unwrap() + b["sent"].as_u64().unwrap();
    assert_eq!(sent, 6, "{a} {b}");
    let retried = a["retried"].as_u64().unwrap() + b["retried"].as_u64().unwrap();
    assert_eq!(retried, 6);
    for p in &people {
        assert_eq!(app.mails_to(p).await.len(), 1, "{p} got exactly one");
        let token = app.last_mail_to(p).await.accept_token();
        assert_eq!(lookup(&app, &token).await, StatusCode::OK);
    }
    assert_eq!(run_job(&app).await["sent"], 0);
    let listed = app.member(&org, &session, &people[0]).await;
    assert_eq!(listed["invitation_sent"], true, "{listed}");
}

/// The mails to `address` whose subject contains `part`.
async fn mails_about(app: &TestApp, address: &str, part: &str) -> Vec<SentMail> {
    app.mails_to(address)
        .await
        .into_iter()
        .filter(|m| m.subject.contains(part))
        .collect()
}

fn sum(a: &Value, b: &Value, field: &str) -> u64 {
    a[field].as_u64().unwrap() + b[field].as_u64().unwrap()
}

async fn notices_and_the_daily_digest_reach_administrators_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, session) = app.org_with_owner(json!({})).await;
    let owner = app.owner_field(&org, &session, "email").await;
    // A second administrator: invited, accepted and confirmed.
    let admin = app.email("admin");
    app.invite(&org, &session, &[&admin], "admin").await;
    assert_eq!(
        app.accept_latest(&admin, "admin pw", true).await.0,
        StatusCode::OK
    );
    app.confirm_member(&org, &session, &admin).await;
    assert_eq!(mails_about(&app, &admin, "access").await.len(), 1);

    // Ann and Bob accept while mail is down: the notices stay owed.
    let (ann, bob) = (app.email("ann"), app.email("bob"));
    app.invite(&org, &session, &[&ann, &bob], "user").await;
    let mut tokens = Vec::new();
    for who in [&ann, &bob] {
        tokens.push(app.last_mail_to(who).await.accept_token());
    }
    // (Breaking the embedded outbox deletes what it holds.)
    app.break_mail_delivery().await;
    for token in tokens {
        let accept = json!({"token": token, "master_password_hash": mp_hash("pw"), "kdf": kdf()});
        let (s, body) = app.post("/invitations/accept", None, accept).await;
        assert_eq!(
            (s, body["status"].as_str()),
            (StatusCode::OK, Some("accepted"))
        );
    }
    app.clock.advance(Duration::minutes(6));
    assert_eq!(run_job(&app).await["failed"], 2);

    // Mail works again: two runs at once send each notice once, as one
    // message to both administrators.
    app.repair_mail_delivery().await;
    app.clock.advance(Duration::minutes(11));
    let (a, b) = tokio::join!(run_job(&app), run_job(&app));
    assert_eq!(sum(&a, &b, "notified"), 2, "{a} {b}");
    for who in [&ann, &bob] {
        let notices: Vec<SentMail> = mails_about(&app, &owner, "awaits confirmation")
            .await
            .into_iter()
            .filter(|m| m.subject.starts_with(who.as_str()))
            .collect();
        assert_eq!(notices.len(), 1, "one notice about {who}");
        assert!(notices[0].to.contains(&admin), "{:?}", notices[0].to);
    }
    assert_eq!(run_job(&app).await["notified"], 0);

    // A day later: one digest (two runs at once), to both, naming both.
    app.clock.advance(Duration::days(1));
    let (a, b) = tokio::join!(run_job(&app), run_job(&app));
    assert_eq!(sum(&a, &b, "digests"), 1, "{a} {b}");
    let digests = mails_about(&app, &owner, "members await confirmation").await;
    let [digest] = &digests[..] else {
        panic!("one digest: {digests:?}")
    };
    assert!(digest.to.contains(&admin), "{:?}", digest.to);
    assert!(
        digest.subject.starts_with("2 members"),
        "{}",
        digest.subject
    );
    assert!(
        digest.text.contains(&ann) && digest.text.contains(&bob),
        "{}",
        digest.text
    );
    // Not again the same day, however often the job runs.
    app.clock.advance(Duration::minutes(10));
    for _ in 0..2 {
        assert_eq!(run_job(&app).await["digests"], 0);
    }
    app.clock.advance(Duration::hours(12));
    assert_eq!(run_job(&app).await["digests"], 0);

    // The next day, again, while they wait; Ann is confirmed meanwhile.
    let session = app.login(&owner, "owner password").await;
    app.confirm_member(&org, &session, &ann).await;
    assert_eq!(mails_about(&app, &ann, "access").await.len(), 1);
    app.clock.advance(Duration::hours(12));
    let summary = run_job(&app).await;
    assert_eq!(summary["digests"], 1, "{summary}");
    let digests = mails_about(&app, &owner, "awaits confirmation").await;
    let latest = digests.last().unwrap();
    assert!(
        latest.subject.starts_with("1 member awaits"),
        "{}",
        latest.subject
    );
    assert!(
        latest.text.contains(&bob) && !latest.text.contains(&ann),
        "{}",
        latest.text
    );

    // Bob confirmed: the digests stop.
    let session = app.login(&owner, "owner password").await;
    app.confirm_member(&org, &session, &bob).await;
    app.clock.advance(Duration::days(2));
    let summary = run_job(&app).await;
    assert_eq!(summary["digests"], 0, "{summary}");
    assert_eq!(run_job(&app).await["digests"], 0);
    assert_eq!(mails_about(&app, &owner, "members await").await.len(), 1);
    assert_eq!(mails_about(&app, &bob, "access").await.len(), 1);
}
