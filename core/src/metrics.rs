//! What operators can watch: the names and labels of Hourmark's metrics, in one place.
//!
//! Recording goes through the `metrics` facade, which costs an atomic add when a recorder
//! is installed (the server installs a Prometheus one, and serves `GET /metrics`, only when
//! a scraper's token is configured). Without one the facade still builds each metric's key,
//! and a key with labels allocates; so the counters on the scan path check [`recording`]
//! first and cost nothing at all when no one reads them. Labels are closed sets (outcome codes, tiers, job names, route
//! templates), never a volunteer, a token or a free text, so no personal data can reach
//! the metrics and their number stays bounded.

/// Scans written, by outcome (`checked_in`, `checked_out`, or the refusal's error code).
pub const SCANS: &str = "hourmark_scans_total";
/// Scans in one group commit.
pub const SCAN_BATCH_SIZE: &str = "hourmark_scan_batch_size";
/// Scans waiting for the group commit's collector.
pub const SCAN_QUEUE_DEPTH: &str = "hourmark_scan_queue_depth";
/// Cache look-ups by tier (`local`: this process; `shared`: Redis or the in-process
/// cache) and result (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "hourmark_cache_lookups_total";
/// Storage errors by kind (`conflict`, `outage`, `other`).
pub const STORAGE_ERRORS: &str = "hourmark_storage_errors_total";
/// Shared-cache (Redis) errors.
pub const CACHE_ERRORS: &str = "hourmark_cache_errors_total";
/// Periodic job runs by job and result (`ok`, `error`).
pub const JOB_RUNS: &str = "hourmark_job_runs_total";
/// Periodic job durations, seconds, by job.
pub const JOB_SECONDS: &str = "hourmark_job_duration_seconds";
/// Live-board event streams open on this instance.
pub const LIVE_BOARDS: &str = "hourmark_live_board_connections";
/// Live-board snapshots served, by `source`: `computed` from the scans, or `shared` (one
/// computed for another board of the activity on this instance, still the truth).
pub const BOARD_SNAPSHOTS: &str = "hourmark_board_snapshots_total";
/// How long computing a board's snapshot took, seconds (catching up with the store
/// included): what boards cost the machine the scans run on.
pub const BOARD_SNAPSHOT_SECONDS: &str = "hourmark_board_snapshot_duration_seconds";
/// HTTP requests by route template, method and status.
pub const HTTP_REQUESTS: &str = "hourmark_http_requests_total";
/// HTTP request durations, seconds, by route template and method.
pub const HTTP_SECONDS: &str = "hourmark_http_request_duration_seconds";

static RECORDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that a recorder is installed: from now on the scan path's counters record.
pub fn recording_on() {
    RECORDING.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a recorder is installed (see [`recording_on`]).
pub fn recording() -> bool {
    RECORDING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts a cache look-up.
pub fn cache_lookup(tier: &'static str, hit: bool) {
    if !recording() {
        return;
    }
    metrics::counter!(CACHE_LOOKUPS, "tier" => tier, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// Counts a board snapshot served: `computed` (with how long that took) or shared.
pub fn board_snapshot(computed: Option<std::time::Duration>) {
    if !recording() {
        return;
    }
    match computed {
        Some(took) => {
            metrics::counter!(BOARD_SNAPSHOTS, "source" => "computed").increment(1);
            metrics::histogram!(BOARD_SNAPSHOT_SECONDS).record(took.as_secs_f64());
        }
        None => metrics::counter!(BOARD_SNAPSHOTS, "source" => "shared").increment(1),
    }
}

/// Counts a job run and its duration.
pub fn job_run(job: &'static str, seconds: f64, ok: bool) {
    metrics::counter!(JOB_RUNS, "job" => job, "result" => if ok { "ok" } else { "error" }).increment(1);
    metrics::histogram!(JOB_SECONDS, "job" => job).record(seconds);
}
