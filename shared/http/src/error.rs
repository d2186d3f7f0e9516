use admit_app::Error;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A use-case error on its way out: `{"error": code, "message": text}` with
/// the contract's status. Internal causes are logged here and never returned.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self.0 {
            tracing::error!(%cause, "internal error");
        }
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body =
            serde_json::json!({"error": self.0.code(), "message": self.0.public_message()});
        if let Error::SsoRequiredLink { link_token } = &self.0 {
            body["link_token"] = serde_json::Value::String(link_token.clone());
        }
        with_retry_after(&self.0, (status, axum::Json(body)).into_response())
    }
}

/// `response` with `Retry-After` when `error` is a rate limit.
pub fn with_retry_after(error: &Error, mut response: Response) -> Response {
    if let Error::RateLimited { retry_after } = error {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(*retry_after),
        );
    }
    response
}

/// An error with a code the use cases don't produce (413 and friends).
pub(crate) fn plain(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}
