//! What the edge (`hourmark_server::edge`: the request id and its span, the body limit,
//! the panic guard and the answer's headers) costs per request, in isolation: the same
//! trivial JSON route driven in-process, bare, behind the edge, and behind the layering
//! the edge replaced (five `from_fn` layers, doing nothing, with the panic guard and the
//! body limit, each applied per route by `Router::layer`), under the subscriber production
//! installs (JSON lines at `info`, written to nowhere; `text` for the text format).
//!
//! Run it in release (figures in BENCHMARKS.md, "What the request id costs"):
//!
//! ```text
//! cargo run --release -p hourmark-server --example request_span_cost [text]
//! ```

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use hourmark_server::config::LogFormat;
use hourmark_server::{edge, logging};
use tower::ServiceExt;

/// Requests per measured round, and rounds per variant (the median is reported).
const REQUESTS: u32 = 200_000;
const ROUNDS: usize = 7;

/// A scan receipt's size and shape, so the router's and the body's work is realistic.
async fn receipt() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "scan_id": 1_234_567, "direction": "check_in", "status": "accepted",
        "server_time": "2026-12-03T15:00:00.000+08:00", "activity": {"id": 42, "name": "翠湖公园环保行动"},
    }))
}

/// A middleware that does nothing: what any `from_fn` layer costs by itself.
async fn pass(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    next.run(request).await
}

fn bare() -> Router {
    Router::new().route("/mp/v1/scans", post(receipt))
}

/// The shape the edge replaced, without its work: five per-route `from_fn` layers, the
/// panic guard and the body limit.
fn layered() -> Router {
    let mut app = bare();
    for _ in 0..5 {
        app = app.layer(axum::middleware::from_fn(pass));
    }
    app.layer(tower_http::catch_panic::CatchPanicLayer::new()).layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
}

/// Nanoseconds per request over one round of `REQUESTS`.
async fn round<S>(app: &S, incoming_id: bool) -> f64
where
    S: tower::Service<Request<Body>, Response = axum::response::Response, Error = std::convert::Infallible> + Clone,
{
    let started = Instant::now();
    for _ in 0..REQUESTS {
        let mut request = Request::post("/mp/v1/scans").header("content-type", "application/json");
        if incoming_id {
            request = request.header(logging::REQUEST_ID_HEADER, "0192f1c3-7a3b-7c1e-9f00-1234567890ab");
        }
        let response = app.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("answer");
        assert!(response.status().is_success());
        let body = axum::body::to_bytes(response.into_body(), 4096).await.expect("body");
        std::hint::black_box(body);
    }
    started.elapsed().as_nanos() as f64 / f64::from(REQUESTS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    // `text` measures under the text format instead (the default outside production).
    let format = if std::env::args().any(|a| a == "text") { LogFormat::Text } else { LogFormat::Json };
    logging::init("info", format, std::io::sink)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (plain, old, edged) = (bare(), layered(), edge::around(bare().layer(logging::RecordRouteLayer), 16 * 1024));
        // Warm each (allocator, route table) before measuring.
        round(&plain, false).await;
        round(&old, false).await;
        round(&edged, false).await;
        let (mut without, mut before, mut minted, mut kept) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Interleaved, so drift in the machine's speed falls on every variant alike.
        for _ in 0..ROUNDS {
            without.push(round(&plain, false).await);
            before.push(round(&old, false).await);
            minted.push(round(&edged, false).await);
            kept.push(round(&edged, true).await);
        }
        let (without, before, minted, kept) = (median(without), median(before), median(minted), median(kept));
        println!("{REQUESTS} requests × {ROUNDS} rounds, median ns per request (one core):");
        println!("  the bare router                      {without:>8.0} ns");
        println!("  per-route layers, doing nothing      {before:>8.0} ns  (+{:.0} ns)", before - without);
        println!("  the edge, id minted                  {minted:>8.0} ns  (+{:.0} ns)", minted - without);
        println!("  the edge, caller's id kept           {kept:>8.0} ns  (+{:.0} ns)", kept - without);
    });
    Ok(())
}
