//! A local Lambda Runtime API (the `2018-06-01` interface a function polls):
//! enough to start a function binary as Lambda would, see when its init
//! ends (its first `GET …/invocation/next`), and invoke it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, oneshot};

type Outcome = Result<Vec<u8>, String>;
type Pending = (String, Vec<u8>, oneshot::Sender<Outcome>);

struct Inner {
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    polled: Notify,
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    inner: Arc<Inner>,
    send: mpsc::Sender<Pending>,
    next_id: u64,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> anyhow::Result<RuntimeApi> {
        let (send, recv) = mpsc::channel(1);
        let inner = Arc::new(Inner {
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
            polled: Notify::new(),
            queue: tokio::sync::Mutex::new(recv),
            waiting: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(RuntimeApi {
            address,
            inner,
            send,
            next_id: 0,
            task,
        })
    }

    /// When the function first asked for an invocation: the end of its init.
    pub async fn first_poll(&self, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.polled.notified();
            if let Some(e) = self.inner.init_error.lock().unwrap().clone() {
                anyhow::bail!("the function's init failed: {e}");
            }
            if let Some(t) = *self.inner.first_poll.lock().unwrap() {
                return Ok(t);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                anyhow::bail!("the function did not poll for an invocation within {timeout:?}");
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Invoke with `event`; the function's response and how long it took
    /// from handing the event over to receiving the response.
    pub async fn invoke(&mut self, event: &[u8]) -> anyhow::Result<(Vec<u8>, Duration)> {
        self.next_id += 1;
        let id = format!("bench-{}", self.next_id);
        let (tx, rx) = oneshot::channel();
        let started = Instant::now();
        self.send
            .send((id, event.to_vec(), tx))
            .await
            .map_err(|_| anyhow::anyhow!("runtime API stopped"))?;
        let outcome = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .map_err(|_| anyhow::anyhow!("no response within 60 s"))?
            .map_err(|_| anyhow::anyhow!("invocation dropped"))?;
        let took = started.elapsed();
        match outcome {
            Ok(body) => Ok((body, took)),
            Err(e) => anyhow::bail!("the function reported an error: {e}"),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(s): State<Arc<Inner>>) -> Response {
    {
        let mut first = s.first_poll.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            s.polled.notify_waiters();
        }
    }
    let Some((id, body, tx)) = s.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    s.waiting.lock().unwrap().insert(id.clone(), tx);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    put("lambda-runtime-aws-request-id", id);
    put(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0".into(),
    );
    put("content-type", "application/json".into());
    (headers, body).into_response()
}

fn finish(s: &Inner, id: &str, outcome: Outcome) -> StatusCode {
    match s.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn response(State(s): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&s, &id, Ok(body.to_vec()))
}

async fn error(State(s): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&s, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

async fn init_error(State(s): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    *s.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    s.polled.notify_waiters();
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API (payload 2.0) event, as `lambda_http` reads it.
pub fn http_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut h = serde_json::Map::new();
    h.insert(
        "host".into(),
        "bench.execute-api.us-east-1.amazonaws.com".into(),
    );
    h.insert("user-agent".into(), "admit-bench".into());
    if body.is_some() {
        h.insert("content-type".into(), "application/json".into());
    }
    for (k, v) in headers {
        h.insert((*k).into(), (*v).into());
    }
    serde_json::to_vec(&serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "admit-bench"
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1795392000000u64
        },
        "body": body,
        "isBase64Encoded": false
    }))
    .unwrap()
}

/// The EventBridge Scheduler event that runs `remind`.
pub fn scheduled_event() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": "0",
        "id": "bench",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-23T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    }))
    .unwrap()
}
