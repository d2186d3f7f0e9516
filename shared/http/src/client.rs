//! The client's address, for rate limits and the audit log. Each world's
//! composition root knows where it comes from and puts it in the request's
//! extensions as [`ClientIp`]: `admit serve` from the socket (or, from a
//! `--trusted-proxy`, its `X-Forwarded-For`), Lambda from API Gateway's
//! request context.
//! Every handler takes [`ClientApp`]: rate limits count against the
//! address, and the events a request writes record it.

use admit_app::App;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::IpAddr;

/// The address the request came from, as the composition root determined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The `App` acting for this request's client ([`App::for_client`]).
pub struct ClientApp(pub App);

impl FromRequestParts<App> for ClientApp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Infallible> {
        let ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
        Ok(ClientApp(app.for_client(ip)))
    }
}
