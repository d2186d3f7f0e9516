//! HTTP plumbing shared by every function and by `admit serve`: the one
//! place errors become responses, JSON and auth extractors, and the layers
//! every router gets. No store, mailer or AWS client is built here: that is
//! each world's composition root (`admit-lambda` on Lambda, `admit serve`).

mod client;
mod error;
mod etag;
mod extract;
mod headers;
mod pages;
pub mod routes;

pub use client::{ClientApp, ClientIp};
pub use error::{ApiError, with_retry_after};
pub use etag::{IfMatch, with_etag};
pub use extract::{Json, Operator, Session, clear_session_cookie, cookie, session_cookie};
pub use headers::CONTENT_SECURITY_POLICY;
pub use pages::{page, render_error_page};

use admit_app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::trace::TraceLayer;

/// Request bodies over this are refused with 413 (docs/api.md).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every function's routes get, on Lambda and in `admit serve` alike:
/// the body limit, request tracing, a JSON 404 for unknown paths, the
/// security headers on every response, the state.
pub fn finish(routes: Router<App>, app: App) -> Router {
    routes
        .fallback(|| async { ApiError(admit_app::Error::NotFound) })
        .layer(axum::middleware::map_response(headers::security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(app)
}

/// The span of a request: method and path only. Query strings carry
/// invitation tokens and authorization codes, which must never reach a log.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}
