//! HTML pages and the error page. Their security headers (CSP, framing,
//! referrer, caching) come from the layer every response passes
//! (`headers::security_headers`), so no page can forget them.

use axum::response::{Html, IntoResponse, Response};

/// A static page.
pub async fn page(html: &'static str) -> Response {
    Html(html).into_response()
}

const ERROR_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed — Admit</title>
<link rel="stylesheet" href="/assets/admit.css">
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
