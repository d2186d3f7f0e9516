//! The Lambda handler end to end on the embedded store and the outbox: a
//! Scheduled Event sends what is due before its deadline; anything else is
//! acknowledged without a run; each run logs one summary line. A failed run
//! fails the invocation: its store unreachable (DynamoDB on a closed
//! loopback port), or its sends failing (an outbox that cannot be written).

use admit_app::{App, Clock, Config, ManualClock};
use admit_domain::{Membership, Role, Timestamp};
use admit_mail::OutboxMailer;
use admit_remind::RunFailed;
use admit_store::Store;
use admit_store_dynamodb::DynamoStore;
use admit_store_embedded::EmbeddedStore;
use lambda_runtime::{Context, LambdaEvent};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use time::Duration;

struct World {
    app: App,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
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
    store.add_memberships(&org, &[m], &[]).await.unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = Arc::new(OutboxMailer::new(&outbox, "admit@acme.test").unwrap());
    let clock = Arc::new(ManualClock::new(now));
    let app = App::new(
        store.clone(),
        mailer,
        clock.clone(),
        Config::new("http://127.0.0.1:8080", None),
    );
    World {
        app,
        store,
        clock,
        outbox,
        _dir: dir,
    }
}

/// A DynamoDB store nobody answers: its endpoint is a loopback port bound,
/// read and released, so connecting is refused at once.
fn unreachable_dynamodb() -> Arc<dyn Store> {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "admit-remind-tests",
        ))
        // The SDK's retries would only make the test wait for the same refusal.
        .retry_config(RetryConfig::disabled())
        .build();
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        "admit",
    ))
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

#[tokio::test]
async fn a_run_whose_store_fails_fails_the_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Arc::new(OutboxMailer::new(dir.path().join("outbox"), "admit@acme.test").unwrap());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Timestamp::from_datetime(
        time::OffsetDateTime::now_utc(),
    )));
    let app = App::new(
        unreachable_dynamodb(),
        mailer,
        clock,
        Config::new("http://127.0.0.1:8080", None),
    );
    let err = admit_remind::handle(&app, event(scheduled(), 60_000))
        .await
        .expect_err("a run whose store fails is a failed invocation");
    assert!(
        matches!(err.downcast_ref::<RunFailed>(), Some(RunFailed::Stopped(_))),
        "{err}"
    );
    assert!(err.to_string().contains("stopped"), "{err}");
    // `admit serve`'s timer gets the same answer.
    assert!(matches!(
        admit_remind::run_once(&app, None).await,
        Err(RunFailed::Stopped(_))
    ));
    // Anything but a Scheduled Event is still acknowledged: no run, no store.
    admit_remind::handle(&app, event(serde_json::json!({"hello": "world"}), 60_000))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_run_whose_sends_fail_fails_the_invocation() {
    let w = world().await;
    // The outbox cannot be written: a file stands where its directory was.
    std::fs::remove_dir_all(&w.outbox).unwrap();
    std::fs::write(&w.outbox, b"not a directory").unwrap();
    let err = admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .expect_err("a run whose sends failed is a failed invocation");
    let Some(RunFailed::SendsFailed(summary)) = err.downcast_ref::<RunFailed>() else {
        panic!("the sends failed, not the run: {err}");
    };
    assert_eq!((summary.failed, summary.sent), (1, 0));
    // The error names counts, never an address.
    let text = err.to_string();
    assert!(text.contains("1 of its sends failed"), "{text}");
    assert!(!text.contains("@acme.test"), "{text}");
    // The outbox back: the failed email waits out its backoff, then goes out.
    std::fs::remove_file(&w.outbox).unwrap();
    std::fs::create_dir(&w.outbox).unwrap();
    admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 0);
    w.clock.advance(admit_domain::owed_mail::backoff(2));
    admit_remind::handle(&w.app, event(scheduled(), 60_000))
        .await
        .unwrap();
    assert_eq!(sent(&w), 1);
    // Anything but a Scheduled Event is still acknowledged.
    admit_remind::handle(&w.app, event(serde_json::json!({"hello": "world"}), 60_000))
        .await
        .unwrap();
}

/// The job's run also sweeps what expired: on the embedded store (no TTL),
/// a session is gone once the clock has passed its end and a run went by.
#[tokio::test]
async fn a_run_sweeps_what_expired() {
    let w = world().await;
    let (session, _) = admit_domain::Session::start(
        admit_domain::UserId::generate(&mut rand::rng()),
        None,
        w.clock.now(),
        &mut rand::rng(),
    );
    w.store.put_session(&session, &[]).await.unwrap();
    admit_remind::run_once(&w.app, None).await.unwrap();
    assert!(
        w.store.session(&session.digest).await.unwrap().is_some(),
        "a live session stays"
    );
    w.clock
        .advance(admit_domain::session::SESSION_LIFETIME + Duration::minutes(1));
    let _ = admit_remind::run_once(&w.app, None).await;
    assert_eq!(w.store.session(&session.digest).await.unwrap(), None);
}
