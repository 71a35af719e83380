//! What every request passes on its way in and every answer on its way out, in one
//! service around the router: the request id and its span, the body limit, the panic
//! guard, `no-store` on API answers and the security headers.
//!
//! Why not `Router::layer` with `middleware::from_fn`, as it once was: axum applies such a
//! layer to every route separately and boxes each one, so every request cloned a boxed
//! service per layer (each clone cloning the boxed layers inside it) and boxed a future
//! per layer, and each `from_fn` boxed its `Next` and its own future as well. With five
//! layers that was about fifty allocations a request, a quarter of a scan's
//! (BENCHMARKS.md, "Where a scan's instructions go"). Here the whole stack is plain
//! structs around a router that clones as one `Arc`, and a request costs one boxed future.
//! The only per-route part left is [`logging::RecordRouteLayer`], which names the route
//! template in the span (only the router knows which route matched).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use futures_util::FutureExt;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::{console, logging, no_store};

/// The router with the edge around it: what `serve` answers with.
pub fn around<S>(router: S, max_body_bytes: usize) -> Edge<impl EdgeInner>
where
    S: EdgeInner,
{
    Edge { inner: DefaultBodyLimit::max(max_body_bytes).layer(router) }
}

/// What the edge can wrap: a service answering every request (the router).
pub trait EdgeInner:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<S> EdgeInner for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
}

impl<S: EdgeInner> Service<Request> for Edge<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = logging::take_request_id(&mut request);
        let api = no_store::is_api(request.uri().path());
        let span = logging::request_span(&id, request.method());
        let started = Instant::now();
        // A panic while routing, or in a handler's first poll, answers 500 like one later.
        let answer = span.in_scope(|| std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))));
        Box::pin(async move {
            let answered = match answer {
                Ok(future) => AssertUnwindSafe(future).catch_unwind().instrument(span.clone()).await,
                Err(panic) => Err(panic),
            };
            let mut response = match answered {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => hourmark_http::problem::problem_response(&hourmark_core::error::Problem::new(
                    hourmark_core::ErrorCode::Internal,
                    "服务器内部错误",
                )),
            };
            span.in_scope(|| {
                tracing::debug!(
                    status = response.status().as_u16(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "request finished"
                );
            });
            let headers = response.headers_mut();
            no_store::apply(api, headers);
            console::add_security_headers(headers);
            headers.insert(logging::REQUEST_ID_HEADER, id);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn answer(app: Router, path: &str) -> Response {
        let request = axum::http::Request::get(path).body(Body::empty()).expect("request");
        let Ok(response) = around(app.layer(logging::RecordRouteLayer), 1024).oneshot(request).await;
        response
    }

    /// A handler that panics, whether in its first poll or after waiting, is answered
    /// with the `internal` problem, its request id and the API's headers; the server goes on.
    #[tokio::test]
    async fn a_panicking_handler_gets_a_problem_with_the_request_id() {
        async fn at_once() -> &'static str {
            panic!("at once")
        }
        async fn later() -> &'static str {
            tokio::task::yield_now().await;
            panic!("later")
        }
        let app = Router::new().route("/api/v1/at-once", get(at_once)).route("/api/v1/later", get(later));
        for path in ["/api/v1/at-once", "/api/v1/later"] {
            let response = answer(app.clone(), path).await;
            assert_eq!(response.status(), 500, "{path}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
            assert_eq!(response.headers()[logging::REQUEST_ID_HEADER].len(), 32);
            let body = axum::body::to_bytes(response.into_body(), 4096).await.expect("body");
            let problem: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(problem["code"], "internal");
        }
    }

    /// An answer that chose its own caching keeps it; a page gets the page's headers.
    #[tokio::test]
    async fn answers_get_their_headers_once() {
        async fn cached() -> impl axum::response::IntoResponse {
            ([("cache-control", "no-cache")], "{}")
        }
        async fn page() -> axum::response::Html<&'static str> {
            axum::response::Html("<p>页</p>")
        }
        let app = Router::new().route("/api/v1/cached", get(cached)).route("/page", get(page));
        let cached = answer(app.clone(), "/api/v1/cached").await;
        assert_eq!(cached.headers()["cache-control"], "no-cache");
        assert!(!cached.headers().contains_key("content-security-policy"));
        let page = answer(app, "/page").await;
        assert!(!page.headers().contains_key("cache-control"), "only API answers are no-store");
        assert!(page.headers()["content-security-policy"].to_str().expect("ascii").contains("frame-ancestors 'none'"));
        assert_eq!(page.headers().get_all("x-content-type-options").iter().count(), 1);
    }
}
