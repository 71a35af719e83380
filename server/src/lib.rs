//! The Hourmark server: configuration, the staff API, the API description, and the
//! launch sequence. `main` is thin; tests build the same app with [`build`], bind port 0
//! and call [`serve`] with their own shutdown signal.

pub mod api;
pub mod board_stream;
pub mod certificate_pdf;
pub mod certificates;
pub mod config;
pub mod console;
pub mod data_inventory;
pub mod docs;
pub mod edge;
pub mod exchange;
mod key_files;
pub mod logging;
pub mod metrics;
pub mod no_store;
pub mod passkeys;
pub mod publicity;
pub mod record;
mod recruitment_page;
pub mod reporting;
pub mod review;
pub mod signups;
pub mod stars;
pub mod time_bank;

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hourmark_core::{Clock, Hourmark};
use hourmark_http::problem;
use hourmark_mini_program_api::MAX_BODY_BYTES;
use tokio::net::TcpListener;

pub use config::Config;

/// Opens the store (migrating it), the cache and the key ring, and builds the context.
pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Hourmark> {
    let store = hourmark_core::store::connect(&config.database_url)
        .await
        .with_context(|| "cannot open the database named by HOURMARK_DATABASE_URL")?;
    store.migrate().await.context("database migration failed")?;
    let cache = hourmark_core::cache::connect(config.redis_url.as_deref(), &config.redis_prefix)
        .await
        .context("cannot connect to the Redis named by HOURMARK_REDIS_URL")?;
    let live = hourmark_core::live::connect(config.redis_url.as_deref(), &config.redis_prefix)
        .await
        .context("cannot subscribe to live events on the Redis named by HOURMARK_REDIS_URL")?;
    if config.is_postgres() && config.redis_url.is_none() {
        tracing::warn!(
            "PostgreSQL without Redis: fine for one instance, but several instances would not see \
             each other's scans in their caches; set HOURMARK_REDIS_URL when running more than one"
        );
    }
    if config.dev_login {
        tracing::warn!("the development login is ON: anyone who knows a volunteer's phone number can sign in as them");
    }
    let keys = config.key_ring()?;
    let vault = config.pii_vault()?;
    let mut settings = config.settings();
    settings.wechat = config.wechat_client()?;
    settings.wechat_oa = config.wechat_oa_settings()?;
    settings.passkeys = config.passkey_settings()?;
    settings.sms = config.sms_settings()?;
    if settings.sms.sender.is_some() && config.sms_provider.as_deref().unwrap_or("dev") == "dev" {
        tracing::warn!("SMS sign-in codes are written to the log, not sent (HOURMARK_SMS_PROVIDER=dev)");
    }
    settings.certificates = config.certificate_settings()?;
    Ok(Hourmark::new(store, cache, keys, vault, clock, settings, live))
}

/// The whole HTTP app: staff API, mini-program API, API description and docs page,
/// behind the edge (request ids, body limit, panic guard, caching and security headers;
/// see [`edge`]).
pub fn app(hourmark: Hourmark) -> edge::Edge<impl edge::EdgeInner> {
    edge::around(router(hourmark), MAX_BODY_BYTES)
}

/// The routes, each naming itself in the request's span; [`app`] puts the edge around them.
pub fn router(hourmark: Hourmark) -> Router {
    let (api, openapi) = docs::api_router().split_for_parts();
    let openapi = docs::complete_error_responses(openapi);
    let documented = Arc::new(docs::DocumentedAnswers::new(&openapi));
    let check_docs = hourmark.settings().check_error_docs;
    let mut api = api.merge(docs::docs_router(&openapi));
    if check_docs {
        api = api.layer(axum::middleware::from_fn_with_state(documented, docs::check_documented_answers));
    }
    let mut app = api
        .route("/metrics", axum::routing::get(metrics::render))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed);
    // Metrics are recorded only when a scraper may read them: the recorder costs the scan
    // path measurably at 8 000 scans/s (BENCHMARKS.md), and without one every metric is a
    // no-op.
    if hourmark.settings().metrics_token.is_some() {
        app = app.layer(axum::middleware::from_fn(metrics::time_requests));
    }
    app.layer(logging::RecordRouteLayer).with_state(hourmark)
}

/// How long [`serve`] lets in-flight requests finish after shutdown begins (the default
/// of `HOURMARK_SHUTDOWN_GRACE_SECS`).
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves until `shutdown` completes, then finishes in-flight requests for up to
/// [`DEFAULT_SHUTDOWN_GRACE`].
pub async fn serve(
    hourmark: Hourmark,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_within(hourmark, listener, shutdown, DEFAULT_SHUTDOWN_GRACE).await
}

/// Serves until `shutdown` completes; then stops accepting connections, ends the live
/// boards' streams, and lets in-flight requests finish for up to `grace`: a scan waiting
/// for its group commit is committed and answered, so the phone does not retry a scan
/// that was recorded. Returns when they have all finished, or when `grace` runs out
/// (logged, with what was still running cut off; a scan cut off before its commit was not
/// recorded and its phone retries it with the same nonce).
pub async fn serve_within(
    hourmark: Hourmark,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> anyhow::Result<()> {
    // The peer address feeds the per-client rate limits.
    let live = hourmark.clone();
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(
        app(hourmark),
    );
    let (begun, shutdown_begun) = tokio::sync::oneshot::channel::<()>();
    // Boards' event streams never end on their own: close them when shutdown begins, or
    // the graceful shutdown would wait for every open board.
    let shutdown = async move {
        shutdown.await;
        live.end_live_streams();
        let _ = begun.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown).into_future();
    let out_of_time = async move {
        match shutdown_begun.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => served.context("server failed"),
        () = out_of_time => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running when the shutdown grace ran out: exiting without them");
            Ok(())
        }
    }
}

/// The periodic jobs, every `interval` until the process ends: closing sessions left open
/// after their activity, moving ended publicity periods into the register, reminding
/// approved volunteers of their activity, erasing expired credentials, and sending the
/// WeChat messages that notifications queued. Safe on
/// every instance at once (each job is idempotent).
pub async fn run_jobs(hourmark: Hourmark, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut delivering: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tick.tick().await;
        let started = std::time::Instant::now();
        let closed = hourmark.close_left_open_sessions().await;
        hourmark_core::metrics::job_run("close_left_open", started.elapsed().as_secs_f64(), closed.is_ok());
        match closed {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "closed left-open sessions"),
            Err(e) => tracing::warn!(error = %e, "closing left-open sessions failed; will retry"),
        }
        let started = std::time::Instant::now();
        let recorded = hourmark.advance_publicity().await;
        hourmark_core::metrics::job_run("advance_publicity", started.elapsed().as_secs_f64(), recorded.is_ok());
        match recorded {
            Ok(0) => {}
            Ok(recorded) => tracing::info!(recorded, "publicity periods ended: entries recorded in the register"),
            Err(e) => tracing::warn!(error = %e, "moving publicity into the register failed; will retry"),
        }
        let started = std::time::Instant::now();
        let reminded = hourmark.send_signup_reminders().await;
        hourmark_core::metrics::job_run("signup_reminders", started.elapsed().as_secs_f64(), reminded.is_ok());
        match reminded {
            Ok(0) => {}
            Ok(reminded) => tracing::info!(reminded, "sign-up reminders queued"),
            Err(e) => tracing::warn!(error = %e, "sending sign-up reminders failed; will retry"),
        }
        let started = std::time::Instant::now();
        let erased = hourmark.erase_outlived_data().await;
        hourmark_core::metrics::job_run("retention", started.elapsed().as_secs_f64(), erased.is_ok());
        match erased {
            Ok(erased) if erased.total() == 0 => {}
            Ok(erased) => tracing::info!(
                sms_codes = erased.sms_codes,
                access_tokens = erased.access_tokens,
                staff_invites = erased.staff_invites,
                "erased expired credentials"
            ),
            Err(e) => tracing::warn!(error = %e, "erasing expired credentials failed; will retry"),
        }
        // WeChat is slow when it is slow: its messages go in their own task, so an outage
        // there never holds up closing sessions or recording publicity.
        if delivering.as_ref().is_none_or(tokio::task::JoinHandle::is_finished) {
            let hourmark = hourmark.clone();
            delivering = Some(tokio::spawn(async move {
                let started = std::time::Instant::now();
                let sent = hourmark.deliver_wechat_notices().await;
                hourmark_core::metrics::job_run("wechat_delivery", started.elapsed().as_secs_f64(), sent.is_ok());
                match sent {
                    Ok(0) => {}
                    Ok(sent) => tracing::info!(sent, "WeChat subscription messages sent"),
                    Err(e) => tracing::warn!(error = %e, "sending WeChat subscription messages failed; will retry"),
                }
            }));
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
