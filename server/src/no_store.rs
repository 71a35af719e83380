//! `Cache-Control: no-store` on every API answer that does not choose its own caching.
//!
//! API answers carry bearer tokens (sign-in, registration, passkey ceremonies, token
//! refresh) and personal data (`/mp/v1/me…`, volunteers, exports, review lists). A shared
//! proxy or the browser's disk cache must keep none of them. Rather than trust each
//! handler to remember, the edge (`crate::edge`) sets `no-store` on everything under `/api/` and `/mp/`
//! that has no `Cache-Control` of its own; a handler that may be cached (the public
//! board's `no-cache`) says so itself. The public API (`/api/v1/public/…`) is included:
//! its answers are cheap, and one rule is easier to trust than a list of exceptions.

use axum::http::{HeaderMap, HeaderValue, header};

/// Whether `path` is an API path, whose answers are `no-store` unless they say otherwise.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/mp/")
}

/// Adds `Cache-Control: no-store` to an API answer that set no caching itself (applied by
/// the edge, `crate::edge`, to every answer).
pub(crate) fn apply(api: bool, headers: &mut HeaderMap) {
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
