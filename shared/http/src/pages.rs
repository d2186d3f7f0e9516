//! HTML pages: the security headers every page gets, and the error page.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// Pages may carry tokens in their URLs: no caching, no referrer, no framing,
/// and scripts only from this origin.
pub async fn page(html: &'static str) -> Response {
    let mut r = Html(html).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

const ERROR_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed — Admit</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .3rem}</style>
</head><body><main>
<h1>You could not be signed in</h1>
<p>{{ message }}.</p>
<p>Error code: <code id="error-code">{{ code }}</code></p>
<p><a href="/sso">Start again</a></p>
</main></body></html>"#;

/// An error page; the message is escaped by the template engine.
pub fn render_error_page(code: &str, message: &str) -> String {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.template_from_str(ERROR_PAGE)
        .and_then(|t| t.render(minijinja::context! { code, message }))
        .unwrap_or_else(|_| format!("error: {code}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_page_escapes_what_it_shows() {
        let html = super::render_error_page(
            "invalid_request",
            "the IdP answered \"<script>alert(1)</script>\"",
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains(r#"<code id="error-code">invalid_request</code>"#));
    }
}
