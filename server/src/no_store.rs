//! `Cache-Control: no-store` on every API answer that does not choose its own caching.
//!
//! API answers carry bearer tokens (sign-in, registration, passkey ceremonies, token
//! refresh) and personal data (`/mp/v1/me…`, volunteers, exports, review lists). A shared
//! proxy or the browser's disk cache must keep none of them. Rather than trust each
//! handler to remember, one layer sets `no-store` on everything under `/api/` and `/mp/`
//! that has no `Cache-Control` of its own; a handler that may be cached (the public
//! board's `no-cache`) says so itself. The public API (`/api/v1/public/…`) is included:
//! its answers are cheap, and one rule is easier to trust than a list of exceptions.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Adds `Cache-Control: no-store` to API answers that set no caching themselves.
pub async fn no_store_by_default(request: Request, next: Next) -> Response {
    let api = {
        let path = request.uri().path();
        path.starts_with("/api/") || path.starts_with("/mp/")
    };
    let mut response = next.run(request).await;
    if api && !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
