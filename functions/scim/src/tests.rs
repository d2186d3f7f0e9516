//! The HTTP side of SCIM on the embedded store: authentication, the
//! content types, query decoding, and SCIM's answers for what is not
//! served. The use cases themselves are the app's tests and the API tests'.

use super::*;
use admit_app::{Clock, Config, CreateOrganization, SystemClock};
use admit_domain::{OrgId, ScimToken};
use admit_mail::OutboxMailer;
use admit_store::Organizations as _;
use admit_store_embedded::EmbeddedStore;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

struct World {
    router: axum::Router,
    org: String,
    token: String,
    _dir: tempfile::TempDir,
}

/// An organization with a SCIM token, behind the function's router as
/// Lambda and `admit serve` build it.
async fn world() -> World {
    world_with(Config::new("http://localhost:8080", None)).await
}

async fn world_with(config: Config) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("admit.redb")).unwrap());
    let mailer = Arc::new(
        OutboxMailer::new(dir.path().join("outbox"), "Admit <admit@example.com>").unwrap(),
    );
    let app = App::new(store.clone(), mailer, Arc::new(SystemClock), config);
    let created = app
        .create_organization(CreateOrganization {
            name: "Acme".into(),
            sso_identifier: "acme".into(),
            owner_email: "owner@acme.example".into(),
            seats: None,
        })
        .await
        .unwrap();
    let id = OrgId::parse(&created.org_id).unwrap();
    let mut org = store.organization(&id).await.unwrap().unwrap();
    let (token, secret) = ScimToken::issue(SystemClock.now(), &mut rand::rng());
    let read = org.settings_version;
    org.scim_token = Some(token);
    org.settings_version = read + 1;
    store
        .update_organization_settings(&org, read, &[])
        .await
        .unwrap();
    World {
        router: admit_http::finish(routes(), app),
        org: created.org_id,
        token: secret.expose(),
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl World {
    async fn call(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        self.call_from(None, method, path, authorization, content_type, body)
            .await
    }

    async fn call_from(
        &self,
        client: Option<admit_http::ClientIp>,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        let uri = if path.starts_with("/scim/") {
            path.to_owned()
        } else {
            format!("/scim/v2/{}{path}", self.org)
        };
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        if let Some(c) = content_type {
            req = req.header(header::CONTENT_TYPE, c);
        }
        if let Some(ip) = client {
            req = req.extension(ip);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{status}: {e}: {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn scim(&self, method: &str, path: &str, body: &str) -> Answer {
        let auth = format!("Bearer {}", self.token);
        self.call(method, path, Some(&auth), Some(MEDIA_TYPE), body)
            .await
    }
}

impl Answer {
    /// A SCIM error of `status`, in SCIM's body and media type.
    fn scim_error(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.headers[header::CONTENT_TYPE], MEDIA_TYPE);
        assert_eq!(
            self.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(self.body["status"], json!(status.to_string()));
        self
    }

    fn ok(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        if status != 204 {
            assert_eq!(self.headers[header::CONTENT_TYPE], MEDIA_TYPE);
        }
        self
    }
}

#[test]
fn the_table_lists_every_route_under_the_scim_base() {
    let table = route_table();
    assert_eq!(table.len(), 17);
    assert!(table.iter().all(|r| r.path.starts_with("/scim/v2/{org}/")));
    assert_eq!(
        CATCH_ALL.replace("{*rest}", "{proxy+}"),
        GATEWAY_CATCH_ALL.trim_start_matches("ANY ")
    );
}

#[tokio::test]
async fn every_route_wants_the_organizations_token() {
    let w = world().await;
    for (method, path) in [
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/Users"),
        ("POST", "/Users"),
        ("DELETE", "/Groups/x"),
        ("POST", "/Bulk"),
        ("DELETE", "/Users"),
    ] {
        let a = w.call(method, path, None, None, "").await;
        a.scim_error(401);
        assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
        w.call(method, path, Some("Bearer wrong"), None, "")
            .await
            .scim_error(401);
    }
    // Another (or no) organization with a right token.
    let auth = format!("Bearer {}", w.token);
    w.call("GET", "/scim/v2/nope/Users", Some(&auth), None, "")
        .await
        .scim_error(401);
    // The scheme in any case.
    let auth = format!("bEARER {}", w.token);
    w.call("GET", "/ServiceProviderConfig", Some(&auth), None, "")
        .await
        .ok(200);
}

#[tokio::test]
async fn discovery_documents() {
    let w = world().await;
    let a = w.scim("GET", "/ServiceProviderConfig", "").await;
    a.ok(200);
    assert_eq!(a.body["bulk"]["supported"], json!(false));
    let base = format!("http://localhost:8080/scim/v2/{}", w.org);
    assert_eq!(
        a.body["meta"]["location"],
        json!(format!("{base}/ServiceProviderConfig"))
    );
    let a = w.scim("GET", "/ResourceTypes", "").await;
    assert_eq!(a.ok(200).body["totalResults"], json!(2));
    let a = w.scim("GET", "/ResourceTypes/User", "").await;
    assert_eq!(a.ok(200).body["endpoint"], json!("/Users"));
    w.scim("GET", "/ResourceTypes/Device", "")
        .await
        .scim_error(404);
    let a = w.scim("GET", "/Schemas", "").await;
    assert_eq!(a.ok(200).body["totalResults"], json!(2));
    let a = w
        .scim(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            "",
        )
        .await;
    assert_eq!(a.ok(200).body["name"], json!("Group"));
    w.scim("GET", "/Schemas/urn:nope", "").await.scim_error(404);
}

#[tokio::test]
async fn what_is_not_served_answers_in_scims_format() {
    let w = world().await;
    for (method, path, status) in [
        ("POST", "/Bulk", 501),
        ("GET", "/Me", 501),
        ("POST", "/.search", 501),
        ("POST", "/Users/.search", 501),
        ("GET", "/Devices", 404),
        ("GET", "/Users/a/b", 404),
        ("DELETE", "/Users", 405),
        ("POST", "/ServiceProviderConfig", 405),
        ("PATCH", "/Groups", 405),
        ("POST", "/Users/someone", 405),
    ] {
        w.scim(method, path, "{}").await.scim_error(status);
    }
    let a = w.scim("DELETE", "/Users", "").await;
    assert_eq!(a.headers[header::ALLOW], "GET,HEAD,POST");
}

#[tokio::test]
async fn bodies_are_json_of_scims_media_types() {
    let w = world().await;
    let auth = format!("Bearer {}", w.token);
    let a = w.scim("POST", "/Users", "{not json").await;
    assert_eq!(a.scim_error(400).body["scimType"], json!("invalidSyntax"));
    let a = w.scim("POST", "/Groups", "").await;
    assert_eq!(a.scim_error(400).body["scimType"], json!("invalidSyntax"));
    w.call("POST", "/Users", Some(&auth), Some("text/plain"), "{}")
        .await
        .scim_error(415);
    let big = format!("\"{}\"", "a".repeat(MAX_BODY_BYTES));
    w.scim("POST", "/Users", &big).await.scim_error(413);
    // Over the rest of the API's limit is fine here (a large group).
    let large = format!("\"{}\"", "a".repeat(admit_http::MAX_BODY_BYTES));
    let a = w.scim("POST", "/Groups", &large).await;
    let detail = a.scim_error(400).body["detail"].as_str().unwrap();
    assert!(
        detail.contains("object"),
        "read, and refused as no object: {detail}"
    );
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
    })
    .to_string();
    for (i, content_type) in [
        None,
        Some("application/json"),
        Some("application/scim+json; charset=utf-8"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = group.replace("Engineering", &format!("Team {i}"));
        w.call("POST", "/Groups", Some(&auth), content_type, &body)
            .await
            .ok(201);
    }
}

#[tokio::test]
async fn users_are_created_found_by_filter_and_deleted() {
    let w = world().await;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@acme.example",
        "emails": [{"value": "ada@acme.example", "primary": true}],
    });
    let a = w.scim("POST", "/Users", &user.to_string()).await;
    a.ok(201);
    let location = a.body["meta"]["location"].as_str().unwrap();
    assert_eq!(a.headers[header::LOCATION], location);
    let id = a.body["id"].as_str().unwrap().to_owned();

    // The filter percent-encoded, and with `+` for its spaces.
    for query in [
        "filter=userName%20eq%20%22ADA%40acme.example%22",
        "filter=userName+eq+%22ada@acme.example%22&count=5",
    ] {
        let a = w.scim("GET", &format!("/Users?{query}"), "").await;
        assert_eq!(a.ok(200).body["totalResults"], json!(1), "{query}");
        assert_eq!(a.body["Resources"][0]["id"], json!(id));
    }
    let a = w.scim("GET", "/Users?filter=userName+eq", "").await;
    assert_eq!(a.scim_error(400).body["scimType"], json!("invalidFilter"));
    let a = w
        .scim("GET", &format!("/Users/{id}?attributes=userName"), "")
        .await;
    assert_eq!(a.ok(200).body["userName"], json!("ada@acme.example"));

    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    });
    let a = w
        .scim("PATCH", &format!("/Users/{id}"), &patch.to_string())
        .await;
    assert_eq!(a.ok(200).body["active"], json!(false));

    w.scim("DELETE", &format!("/Users/{id}"), "").await.ok(204);
    w.scim("GET", &format!("/Users/{id}"), "")
        .await
        .scim_error(404);
    w.scim("DELETE", &format!("/Users/{id}"), "")
        .await
        .scim_error(404);
}

#[tokio::test]
async fn wrong_tokens_spend_the_addresss_budget() {
    let mut config = Config::new("http://localhost:8080", None);
    config.rate_limits.per_address = admit_domain::rate_limit::Budget {
        attempts: 2,
        window_seconds: 60,
    };
    let w = world_with(config).await;
    let ip = Some(admit_http::ClientIp("192.0.2.7".parse().unwrap()));
    let right = format!("Bearer {}", w.token);
    for _ in 0..2 {
        w.call_from(ip, "GET", "/Users", Some("Bearer wrong"), None, "")
            .await
            .scim_error(401);
    }
    // Spent: even the right token waits, in SCIM's body.
    let a = w
        .call_from(ip, "GET", "/Users", Some(&right), None, "")
        .await;
    a.scim_error(429);
    let retry: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another address is not held back.
    let other = Some(admit_http::ClientIp("192.0.2.8".parse().unwrap()));
    w.call_from(other, "GET", "/Users", Some(&right), None, "")
        .await
        .ok(200);
}

/// The base URL itself names no resource: like any path outside the SCIM
/// endpoints it is `finish`'s 404 (API Gateway has no route for it either).
#[tokio::test]
async fn the_base_itself_is_not_a_scim_endpoint() {
    let w = world().await;
    for path in ["/scim/v2/x", "/scim/v2/x/"] {
        let a = w.call("GET", path, None, None, "").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {:?}", a.body);
        assert_eq!(a.body["error"], json!("not_found"), "{path}");
    }
}
