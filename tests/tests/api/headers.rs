//! Every HTML page, refusal page and asset — found by walking `openapi.yaml`,
//! so a new one cannot be left out — carries the security headers, and
//! every response says `nosniff`.

use crate::helpers::*;
use crate::on_both_backends;
use serde_norway::Value as Yaml;

on_both_backends!(every_page_and_refusal_carries_the_security_headers);

/// A response object, following a `$ref` into `components/responses`.
fn resolve<'a>(spec: &'a Yaml, response: &'a Yaml) -> &'a Yaml {
    match response.get("$ref").and_then(Yaml::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &spec["components"]["responses"][name]
        }
        None => response,
    }
}

/// `(method, path)` of every operation that can answer HTML (a page or a
/// refusal page) or serves an asset.
fn html_operations(spec: &Yaml) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for (method, op) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if !["get", "post"].contains(&method) {
                continue;
            }
            let html = op["responses"].as_mapping().is_some_and(|responses| {
                responses.values().any(|r| {
                    resolve(spec, r)
                        .get("content")
                        .and_then(Yaml::as_mapping)
                        .is_some_and(|c| c.keys().any(|k| k.as_str() == Some("text/html")))
                })
            });
            if html || path.starts_with("/assets/") {
                out.push((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    out
}

/// The path with each `{param}` filled: an asset's name with a real asset,
/// anything else with a value that exists nowhere.
fn filled(path: &str) -> String {
    let mut out = String::new();
    for segment in path.split('/').skip(1) {
        out.push('/');
        match segment {
            "{name}" if path.starts_with("/assets/") => out.push_str("admit.css"),
            s if s.starts_with('{') => out.push_str("nothing-here"),
            s => out.push_str(s),
        }
    }
    out
}

async fn every_page_and_refusal_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let spec: Yaml = serde_norway::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    let operations = html_operations(&spec);
    assert!(
        operations.len() >= 8,
        "found only {operations:?} in openapi.yaml"
    );
    let mut checked = Vec::new();
    for (method, path) in &operations {
        let url = app.url(&filled(path));
        let req = app
            .http
            .request(method.parse().unwrap(), &url)
            .header("Accept", "text/html");
        let req = if method == "POST" {
            req.header("Content-Type", "application/x-www-form-urlencoded")
                .body("SAMLResponse=x")
        } else {
            req
        };
        let res = req.send().await.expect("admit answers");
        let status = res.status();
        let h = res.headers();
        let get = |name: &str| {
            h.get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let what = format!("{method} {path} ({status})");
        let csp = get("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{what}: CSP {csp:?}"
        );
        assert!(csp.contains("script-src 'self'"), "{what}: CSP {csp:?}");
        assert!(!csp.contains("unsafe-inline"), "{what}: CSP {csp:?}");
        assert_eq!(get("x-frame-options"), "DENY", "{what}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
        let cache = get("cache-control");
        if path.starts_with("/assets/") {
            assert!(!cache.is_empty(), "{what}: an asset says how to cache it");
        } else {
            assert_eq!(cache, "no-store", "{what}");
        }
        checked.push(what);
    }
    // A refusal the walk must have met: an unknown SSO identifier.
    assert!(
        checked.iter().any(|c| c.starts_with("GET /sso/start")),
        "{checked:?}"
    );

    // JSON answers too, a session's above all.
    let res = app
        .http
        .post(app.url("/auth/login"))
        .json(
            &serde_json::json!({"email": "nobody@acme.test", "master_password_hash": mp_hash("x")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["cache-control"], "no-store");
}
