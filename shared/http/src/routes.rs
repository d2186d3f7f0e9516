//! A function's routes, built and listed by the same calls. axum cannot list
//! what a `Router` serves, so each function declares its routes through
//! [`Routes`], which mounts each handler on the axum router and records its
//! `(method, path)`: the table `tests/tests/routes.rs` holds to `openapi.yaml`
//! and `infra/template.yaml` is the router itself, not a copy of it.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use std::fmt;

/// One route a function serves: a method and an axum path template
/// (`/orgs/{org}`), written as `openapi.yaml` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// An axum router under construction, with the list of what it serves.
///
/// Each method mounts one handler for one method on one path; two handlers on
/// the same path are merged into one method router, as consecutive
/// `Router::route` calls do. A handler that needs a layer of its own takes it
/// through `axum::handler::Handler::layer`, so it stays one handler for one
/// method and the table stays exact.
pub struct Routes<S> {
    router: Router<S>,
    table: Vec<Route>,
}

impl<S> Default for Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// `GET path` (axum answers `HEAD` with it too; the table lists `GET`).
    pub fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.mount(Method::GET, path, routing::get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.mount(Method::POST, path, routing::post(handler))
    }

    pub fn put<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.mount(Method::PUT, path, routing::put(handler))
    }

    pub fn patch<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.mount(Method::PATCH, path, routing::patch(handler))
    }

    pub fn delete<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.mount(Method::DELETE, path, routing::delete(handler))
    }

    fn mount(mut self, method: Method, path: &'static str, route: MethodRouter<S>) -> Self {
        // axum panics on the same method twice on one path; so does this,
        // before axum would, naming the route.
        let route_entry = Route { method, path };
        assert!(
            !self.table.contains(&route_entry),
            "{route_entry} is mounted twice"
        );
        self.router = self.router.route(path, route);
        self.table.push(route_entry);
        self
    }

    /// The axum router, for `admit_http::finish`.
    pub fn into_router(self) -> Router<S> {
        self.router
    }

    /// What the router serves, in the order it was mounted.
    pub fn into_table(self) -> Vec<Route> {
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn sample() -> Routes<()> {
        Routes::new()
            .get("/a", || async { "get a" })
            .put("/a", || async { "put a" })
            .post("/b/{id}", || async { "post b" })
            .delete("/b/{id}", || async { "delete b" })
            .patch("/c", || async { "patch c" })
    }

    #[test]
    fn the_table_lists_each_mounted_route_once() {
        let table: Vec<String> = sample()
            .into_table()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            table,
            [
                "GET /a",
                "PUT /a",
                "POST /b/{id}",
                "DELETE /b/{id}",
                "PATCH /c"
            ]
        );
    }

    #[tokio::test]
    async fn the_router_serves_what_the_table_lists() {
        let router = sample().into_router();
        for (method, uri, want) in [
            ("GET", "/a", StatusCode::OK),
            ("PUT", "/a", StatusCode::OK),
            ("POST", "/a", StatusCode::METHOD_NOT_ALLOWED),
            ("POST", "/b/7", StatusCode::OK),
            ("DELETE", "/b/7", StatusCode::OK),
            ("PATCH", "/c", StatusCode::OK),
            ("GET", "/d", StatusCode::NOT_FOUND),
        ] {
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), want, "{method} {uri}");
        }
    }

    /// The way `sso-callback` lets its ACS read more than `finish` allows:
    /// a handler's own `DefaultBodyLimit` outranks the router-wide one.
    #[tokio::test]
    async fn a_handler_layer_outranks_the_router_body_limit() {
        use axum::body::Bytes;
        use axum::extract::DefaultBodyLimit;
        use axum::handler::Handler;

        let read = |b: Bytes| async move { b.len().to_string() };
        let router = Routes::<()>::new()
            .post("/small", read)
            .post("/large", read.layer(DefaultBodyLimit::max(8)))
            .into_router()
            .layer(DefaultBodyLimit::max(4));
        for (uri, len, want) in [
            ("/small", 4, StatusCode::OK),
            ("/small", 5, StatusCode::PAYLOAD_TOO_LARGE),
            ("/large", 8, StatusCode::OK),
            ("/large", 9, StatusCode::PAYLOAD_TOO_LARGE),
        ] {
            let req = Request::builder()
                .method("POST")
                .uri(uri)
                .body(Body::from(vec![b'a'; len]))
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), want, "{uri} with {len} bytes");
        }
    }

    #[test]
    #[should_panic(expected = "GET /a is mounted twice")]
    fn a_route_mounted_twice_is_refused() {
        let _ = Routes::<()>::new()
            .get("/a", || async { "one" })
            .get("/a", || async { "two" });
    }
}
