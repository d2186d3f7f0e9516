//! The security headers, set in one layer on every response of every route
//! (pages, refusal pages, assets and JSON alike), so a new page cannot
//! forget them.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Scripts and styles only from this origin (no inline script or style),
/// no framing, forms and requests to this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Adds to `response`: `Content-Security-Policy` (unless the route set a
/// stricter one of its own), `X-Frame-Options: DENY`, `Referrer-Policy:
/// no-referrer`, `X-Content-Type-Options: nosniff`, and `Cache-Control:
/// no-store` unless the route chose its caching (the static assets, which
/// carry nothing personal). Responses carry tokens, sessions and personal
/// data by default: nothing is cached unless a route says so.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
