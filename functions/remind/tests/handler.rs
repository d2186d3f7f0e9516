//! The Lambda handler end to end on the embedded store and the outbox: a
//! Scheduled Event sends what is due before its deadline; anything else is
//! acknowledged without a run; each run logs one summary line.

use admit_app::{App, Clock, Config, ManualClock};
use admit_domain::{Membership, Role, Timestamp};
use admit_mail::OutboxMailer;
use admit_store::Store;
use admit_store_embedded::EmbeddedStore;
use lambda_runtime::{Context, LambdaEvent};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use time::Duration;

struct World {
    app: App,
    outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// An organization whose owner's invitation email is due (its first attempt's
/// lease ran out an hour ago).
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir.path().join("db")).unwrap());
    let now = Timestamp::from_datetime(time::OffsetDateTime::now_utc());
    let (org, _, _) = admit_store::contract::seed_org(&store, Default::default()).await;
    let (m, _) = Membership::invite(
        &org.id,
        admit_domain::Email::parse("due@acme.test").unwrap(),
        Role::User,
        now - Duration::hours(2),
        Duration::days(5),
        &mut rand::rng(),
    );
    store.add_memberships(&org, &[m]).await.unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = Arc::new(OutboxMailer::new(&outbox, "admit@acme.test").unwrap());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let app = App::new(
        store,
        mailer,
        clock,
        Config::new("http://127.0.0.1:8080", None),
    );
    World {
        app,
        outbox,
        _dir: dir,
    }
}

fn sent(w: &World) -> usize {
    std::fs::read_dir(&w.outbox).map_or(0, |d| d.count())
}

fn event(payload: serde_json::Value, deadline_in_ms: i64) -> LambdaEvent<serde_json::Value> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut context = Context::default();
    context.deadline = u64::try_from(now_ms + deadline_in_ms).unwrap();
    LambdaEvent::new(payload, context)
}

fn scheduled() -> serde_json::Value {
    serde_json::json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-23T10:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/admit-remind"], "detail": {}
    })
}

#[tokio::test]
async fn a_scheduled_event_sends_what_is_due() {
    let w = world().await;
    admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 1);
    // Delivered twice (EventBridge is at least once): nothing more.
    admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 1);
}

#[tokio::test]
async fn other_payloads_are_acknowledged_without_a_run() {
    let w = world().await;
    for payload in [
        serde_json::json!({"hello": "world"}),
        serde_json::json!("not even an object"),
        serde_json::json!({"version": "0", "id": "x", "detail-type": "Something Else", "source": "aws.s3",
                           "account": "1", "time": "2026-11-23T10:00:00Z", "region": "eu-west-1",
                           "resources": [], "detail": {}}),
    ] {
        admit_remind::handle(&w.app, event(payload, 60_000))
            .await
            .unwrap();
    }
    assert_eq!(sent(&w), 0);
}

#[tokio::test]
async fn a_run_stops_before_the_deadline() {
    let w = world().await;
    // Less time left than the margin: nothing is started, the next run sends it.
    admit_remind::handle(&w.app, event(scheduled(), 1_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 0);
    admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 1);
}

/// A `Write` that keeps what the test's subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_run_logs_one_summary_line() {
    let w = world().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // This (current-thread) test's runs log here; other tests are unaffected.
    let _guard = tracing::subscriber::set_default(subscriber);
    for _ in 0..2 {
        admit_remind::handle(&w.app, event(scheduled(), 60_000))
            .await
            .unwrap();
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let runs: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("owed mail run"))
        .collect();
    assert_eq!(runs.len(), 2, "one line per run:\n{logs}");
    for field in ["reminded=0", "failed=0", "expired=0"] {
        assert!(runs.iter().all(|l| l.contains(field)), "{field}:\n{logs}");
    }
    // The seeded invitation's first attempt (the request's) never went out:
    // the first run retries it, the second finds nothing due.
    assert!(runs[0].contains("sent=1 retried=1"), "{}", runs[0]);
    assert!(runs[1].contains("sent=0 retried=0"), "{}", runs[1]);
}
