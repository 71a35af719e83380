//! `GET /metrics`: Prometheus text, for the operator's scraper only.
//!
//! The endpoint answers only with the bearer token configured in
//! `HOURMARK_METRICS_TOKEN` (compared as SHA-256 digests); without one configured it does
//! not exist (404), so a default installation exposes nothing. It is kept out of the API
//! description: it is for the operator's scraper, not for API clients.
//!
//! One Prometheus recorder is installed per process, and only when the token is configured
//! (a recorder costs the scan path measurably at 8 000 scans/s; without one every metric
//! is a no-op); every request's route template (never its concrete path, which could carry
//! a token), method, status and duration are then recorded by [`time_requests`].

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hourmark_core::Hourmark;
use hourmark_core::error::{CoreError, ErrorCode};
use hourmark_http::ApiError;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, seconds: a scan answers in milliseconds, a slow export in seconds.
const SECONDS_BUCKETS: [f64; 14] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
/// Group-commit sizes.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's recorder, installed on first use (a second server in the same process,
/// as in the tests, shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(hourmark_core::metrics::SCAN_BATCH_SIZE.into()), &BATCH_BUCKETS)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness): then ours stays empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what it records");
        }
        hourmark_core::metrics::recording_on();
        handle
    })
}

/// Renders the metrics for a scraper holding the configured token.
pub(crate) async fn render(State(hourmark): State<Hourmark>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(expected) = hourmark.settings().metrics_token.as_ref().map(|t| t.expose_secret().to_owned()) else {
        return Err(CoreError::code(ErrorCode::NotFound).into());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests: equal-length, and what a timing difference could tell is about
    // a hash, not the token.
    let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
    if digest(presented).as_ref() != digest(&expected).as_ref() {
        return Err(CoreError::refused(ErrorCode::Unauthenticated, "需要监控令牌（HOURMARK_METRICS_TOKEN）").into());
    }
    let mut response = handle().render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}

/// Records each request's route template, method, status and duration.
pub(crate) async fn time_requests(request: Request, next: Next) -> Response {
    handle();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    metrics::counter!(hourmark_core::metrics::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(hourmark_core::metrics::HTTP_SECONDS, "route" => route, "method" => method).record(seconds);
    response
}
