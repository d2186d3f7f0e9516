//! Versions of an organization's settings as HTTP entity tags: `GET` sends
//! `ETag: "<version>"`, a `PUT` with `If-Match: "<version>"` applies only to
//! that version (409 `conflict` otherwise).

use crate::ApiError;
use admit_app::Error;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The version an `If-Match` header names: `None` without the header or
/// with `*` (any version). A header that is not one strong entity tag of
/// ours is 400 `invalid_request`.
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        text.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|v| IfMatch(Some(v)))
            .ok_or_else(|| {
                ApiError(Error::InvalidRequest(
                    "If-Match: expected the ETag of a GET, like \"3\", or *".into(),
                ))
            })
    }
}

/// `response` with `ETag: "<version>"`.
pub fn with_etag(version: u64, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    async fn parse(value: Option<&str>) -> Result<Option<u64>, u16> {
        let mut req = Request::builder();
        if let Some(v) = value {
            req = req.header(header::IF_MATCH, v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        IfMatch::from_request_parts(&mut parts, &())
            .await
            .map(|m| m.0)
            .map_err(|e| e.0.status())
    }

    #[tokio::test]
    async fn if_match_names_one_version_or_any() {
        assert_eq!(parse(None).await, Ok(None));
        assert_eq!(parse(Some("*")).await, Ok(None));
        assert_eq!(parse(Some("\"7\"")).await, Ok(Some(7)));
        for bad in ["7", "W/\"7\"", "\"x\"", "\"1\", \"2\""] {
            assert_eq!(parse(Some(bad)).await, Err(400), "{bad}");
        }
    }

    #[test]
    fn etags_are_quoted_versions() {
        let r = with_etag(3, ());
        assert_eq!(r.headers()[header::ETAG], "\"3\"");
    }
}
