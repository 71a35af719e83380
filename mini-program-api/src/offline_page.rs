//! What lets the scan page work with no network: the offline queue's script and the
//! service worker that keeps the page shell (see `scan_sw.js` for what it caches and for
//! WeChat's in-app browsers). The late upload itself is the scan operation's `offline`
//! field (`hourmark_core::attendance::offline`).

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<Hourmark> {
    OpenApiRouter::new().routes(routes!(scan_queue_script)).routes(routes!(scan_service_worker))
}

const SCAN_QUEUE: &str = include_str!("scan_queue.js");
const SCAN_SERVICE_WORKER: &str = include_str!("scan_sw.js");

fn script(text: &'static str, cache: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The scan page's offline queue: scans kept in IndexedDB while there is no network and
/// uploaded once each when it returns.
#[utoipa::path(
    get, path = "/mp/static/scan-queue.js", tag = "scans",
    responses((status = 200, description = "The scan page's offline queue", content_type = "text/javascript", body = String))
)]
pub(crate) async fn scan_queue_script() -> Response {
    script(SCAN_QUEUE, "public, max-age=300")
}

/// The scan page's service worker, for the scopes `/S/` and `/s/` (the page registers it
/// for the path it was opened at; `Service-Worker-Allowed: /` permits both, since it is
/// served from elsewhere). Never cached by HTTP, so a new version reaches phones on their
/// next visit.
#[utoipa::path(
    get, path = "/mp/static/scan-sw.js", tag = "scans",
    responses((status = 200, description = "The scan page's service worker", content_type = "text/javascript", body = String))
)]
pub(crate) async fn scan_service_worker() -> Response {
    let mut response = script(SCAN_SERVICE_WORKER, "no-cache");
    response.headers_mut().insert(HeaderName::from_static("service-worker-allowed"), HeaderValue::from_static("/"));
    response
}
