//! A counting proxy in front of moto: every AWS call Admit makes crosses it
//! on the wire, so the counts are round trips as AWS would bill and time
//! them (retries included), not calls as the code means them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Round trips per AWS operation, e.g. `dynamodb:PutItem`, `ses:SendEmail`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calls(pub BTreeMap<String, u64>);

impl Calls {
    /// Calls of a service (`dynamodb`, `ses`), all operations together.
    pub fn of(&self, service: &str) -> u64 {
        let prefix = format!("{service}:");
        self.0
            .iter()
            .filter(|(op, _)| op.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// What happened since `earlier` (a snapshot of the same proxy).
    pub fn since(&self, earlier: &Calls) -> Calls {
        Calls(
            self.0
                .iter()
                .map(|(op, n)| (op.clone(), n - earlier.0.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        )
    }

    /// `dynamodb:GetItem×2 dynamodb:PutItem×1`: for messages and tables.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(op, n)| format!("{op}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    actions: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// The proxy: an endpoint to give the SDK instead of moto's.
pub struct CountingProxy {
    pub endpoint: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Start forwarding to `upstream` (e.g. moto's endpoint) on a free port.
    pub async fn start(upstream: &str) -> CountingProxy {
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            calls: Arc::default(),
            actions: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the counting proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("proxy serves");
        });
        CountingProxy {
            endpoint,
            shared,
            task,
        }
    }

    /// Everything counted so far.
    pub fn calls(&self) -> Calls {
        Calls(self.shared.calls.lock().unwrap().clone())
    }

    /// The IAM actions the calls so far needed: an operation's own name,
    /// except a transaction, which IAM authorizes item by item (`PutItem`,
    /// `UpdateItem`, `DeleteItem`, `ConditionCheckItem`).
    pub fn actions(&self) -> Calls {
        Calls(self.shared.actions.lock().unwrap().clone())
    }

    /// SDK configuration like [`crate::moto::Moto::sdk_config`], through the proxy.
    pub fn sdk_config(&self, moto: &crate::moto::Moto) -> aws_config::SdkConfig {
        moto.sdk_config()
            .into_builder()
            .endpoint_url(&self.endpoint)
            .build()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The AWS operation a request calls: JSON protocols name it in
/// `X-Amz-Target`; SES v2 is REST, named by method and path.
pub fn operation(method: &str, path: &str, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else if service.starts_with("secretsmanager") {
            "secretsmanager"
        } else {
            service
        };
        return format!("{service}:{op}");
    }
    match (method, path) {
        ("POST", "/v2/email/outbound-emails") => "ses:SendEmail".into(),
        ("GET", "/v2/email/account") => "ses:GetAccount".into(),
        _ => format!("other:{method} {path}"),
    }
}

/// The IAM actions one call needs (see [`CountingProxy::actions`]).
pub fn iam_actions(op: &str, body: &[u8]) -> Vec<String> {
    if op != "dynamodb:TransactWriteItems" {
        return vec![op.to_owned()];
    }
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let items = request["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<String> = items
        .iter()
        .filter_map(|item| item.as_object()?.keys().next().cloned())
        .map(|kind| match kind.as_str() {
            "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
            other => format!("dynamodb:{other}Item"),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

async fn forward(State(s): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let op = operation(parts.method.as_str(), parts.uri.path(), &parts.headers);
    *s.calls.lock().unwrap().entry(op.clone()).or_default() += 1;
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    {
        let mut actions = s.actions.lock().unwrap();
        for action in iam_actions(&op, &body) {
            *actions.entry(action).or_default() += 1;
        }
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let upstream = s
        .http
        .request(parts.method, format!("{}{path}", s.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out.headers_mut().remove("transfer-encoding");
    out.headers_mut().remove("content-length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_operations_by_target_or_path() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", "DynamoDB_20120810.PutItem".parse().unwrap());
        assert_eq!(operation("POST", "/", &h), "dynamodb:PutItem");
        let none = HeaderMap::new();
        assert_eq!(
            operation("POST", "/v2/email/outbound-emails", &none),
            "ses:SendEmail"
        );
        assert_eq!(operation("GET", "/x", &none), "other:GET /x");
    }

    #[test]
    fn transactions_need_their_items_actions() {
        let body =
            br#"{"TransactItems":[{"Put":{}},{"ConditionCheck":{}},{"Put":{}},{"Update":{}}]}"#;
        assert_eq!(
            iam_actions("dynamodb:TransactWriteItems", body),
            [
                "dynamodb:ConditionCheckItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem"
            ]
        );
        assert_eq!(iam_actions("dynamodb:GetItem", b""), ["dynamodb:GetItem"]);
    }

    #[test]
    fn differences_and_sums() {
        let a = Calls([("dynamodb:GetItem".to_owned(), 2)].into_iter().collect());
        let b = Calls(
            [
                ("dynamodb:GetItem".to_owned(), 5),
                ("dynamodb:PutItem".to_owned(), 1),
                ("ses:SendEmail".to_owned(), 1),
            ]
            .into_iter()
            .collect(),
        );
        let d = b.since(&a);
        assert_eq!(d.of("dynamodb"), 4);
        assert_eq!(
            d.describe(),
            "dynamodb:GetItem×3 dynamodb:PutItem×1 ses:SendEmail×1"
        );
    }
}
