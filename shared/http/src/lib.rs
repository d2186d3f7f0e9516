//! HTTP plumbing shared by every function and by `admit serve`: the one
//! place errors become responses, JSON and auth extractors, the layers every
//! router gets, and the Lambda bootstrap.

mod error;
mod extract;
pub mod lambda;
mod pages;

pub use error::ApiError;
pub use extract::{Json, Operator, Session, clear_session_cookie, cookie, session_cookie};
pub use pages::{page, render_error_page};

use admit_app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::trace::TraceLayer;

/// Request bodies over this are refused with 413 (API.md).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every function's routes get, on Lambda and in `admit serve` alike:
/// the body limit, request tracing, a JSON 404 for unknown paths, the state.
pub fn finish(routes: Router<App>, app: App) -> Router {
    routes
        .fallback(|| async { ApiError(admit_app::Error::NotFound) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(app)
}

/// The span of a request: method and path only. Query strings carry
/// invitation tokens and authorization codes, which must never reach a log.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}
