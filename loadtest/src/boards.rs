//! Staff boards open during the run: `--boards N` streams the activity's live events to N
//! simulated organiser screens, as the console's board does, so the cost of the fan-out
//! on the scan path can be measured with boards watching (and without).
//!
//! Each board opens `/api/v1/activities/{id}/events` and behaves as the console's board
//! does: it fetches the snapshot once it is told `ready`, again on every `resync`, and on
//! any other event at most once a second (one fetch at a time). It counts the scans it is
//! told of (a `scans` event stands for several). The delay of a pushed event is measured
//! from the server's time on the *first* scan it stands for (`first_at`, the one that
//! waited longest) to the moment the board has read it: the server and this tool share
//! the machine's clock.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use reqwest::Client;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::stats::{Latency, percentile};

/// The open boards.
#[derive(Debug)]
pub struct Boards {
    tasks: Vec<JoinHandle<BoardTally>>,
    stop: watch::Sender<bool>,
    /// The boards' own runtime (see [`Boards::open`]).
    runtime: tokio::runtime::Runtime,
}

/// What one board saw.
#[derive(Debug, Default)]
struct BoardTally {
    connected: bool,
    scans: u64,
    resyncs: u64,
    snapshots: u64,
    failures: u64,
    delays_us: Vec<u32>,
}

/// What the boards saw, together.
#[derive(Debug, Serialize)]
pub struct BoardsReport {
    pub boards: usize,
    pub connected: usize,
    pub scans_pushed: u64,
    pub resyncs: u64,
    pub snapshots: u64,
    pub failures: u64,
    /// From the server's time on the first scan an event stands for to the board holding it.
    pub delay_ms: Option<Latency>,
}

#[derive(Deserialize)]
struct ScansEvent {
    count: u64,
    first_at: DateTime<Utc>,
}

/// The console's board refetches its snapshot at most this often.
const REFETCH: Duration = Duration::from_secs(1);

impl Boards {
    /// Opens `count` boards on the activity and waits until each has said `ready` (or
    /// failed), so the scans that follow are all watched.
    pub async fn open(base: &str, staff: Arc<str>, activity_id: i64, count: usize) -> Result<Self> {
        // No overall timeout: a stream lasts the whole run.
        let client = Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .user_agent(concat!("hourmark-loadtest/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the boards' HTTP client")?;
        // The boards run on a thread of their own: reading their streams and snapshots
        // on the phones' workers would delay reading the phones' answers, and the delay
        // would be charged to the server's latency.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("boards")
            .enable_all()
            .build()
            .context("cannot start the boards' runtime")?;
        let (stop, stopped) = watch::channel(false);
        let mut ready = Vec::with_capacity(count);
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let (said_ready, is_ready) = tokio::sync::oneshot::channel();
            ready.push(is_ready);
            let board = Board { client: client.clone(), base: base.to_owned(), staff: Arc::clone(&staff), activity_id };
            tasks.push(runtime.spawn(board.run(said_ready, stopped.clone())));
        }
        for is_ready in ready {
            let _ = tokio::time::timeout(Duration::from_secs(10), is_ready).await;
        }
        Ok(Self { tasks, stop, runtime })
    }

    /// Closes the boards and says what they saw.
    pub async fn close(self) -> BoardsReport {
        // Let events of the last scans arrive before hanging up.
        tokio::time::sleep(Duration::from_secs(2)).await;
        self.stop.send_replace(true);
        let mut report = BoardsReport {
            boards: self.tasks.len(),
            connected: 0,
            scans_pushed: 0,
            resyncs: 0,
            snapshots: 0,
            failures: 0,
            delay_ms: None,
        };
        let mut delays = Vec::new();
        for task in self.tasks {
            let Ok(tally) = task.await else { continue };
            report.connected += usize::from(tally.connected);
            report.scans_pushed += tally.scans;
            report.resyncs += tally.resyncs;
            report.snapshots += tally.snapshots;
            report.failures += tally.failures;
            delays.extend(tally.delays_us);
        }
        // Dropped inside the caller's runtime, a runtime must not wait for its threads.
        self.runtime.shutdown_background();
        delays.sort_unstable();
        if !delays.is_empty() {
            let ms = |p: f64| f64::from(percentile(&delays, p)) / 1000.0;
            report.delay_ms =
                Some(Latency { samples: delays.len(), p50: ms(50.0), p95: ms(95.0), p99: ms(99.0), max: ms(100.0) });
        }
        report
    }
}

struct Board {
    client: Client,
    base: String,
    staff: Arc<str>,
    activity_id: i64,
}

impl Board {
    async fn run(self, said_ready: tokio::sync::oneshot::Sender<()>, mut stopped: watch::Receiver<bool>) -> BoardTally {
        let mut tally = BoardTally::default();
        let mut said_ready = Some(said_ready);
        let url = format!("{}/api/v1/activities/{}/events", self.base, self.activity_id);
        let response = match self.client.get(&url).bearer_auth(&*self.staff).send().await {
            Ok(response) if response.status().is_success() => response,
            _ => {
                tally.failures += 1;
                return tally;
            }
        };
        tally.connected = true;
        let mut response = response;
        let mut buffer = String::new();
        // When the snapshot was last fetched, and whether an event since asks for another.
        let mut fetched = tokio::time::Instant::now();
        let mut stale = false;
        loop {
            let refetch_at = fetched + REFETCH;
            let chunk = tokio::select! {
                chunk = response.chunk() => Some(chunk),
                () = tokio::time::sleep_until(refetch_at), if stale => None,
                _ = stopped.wait_for(|stop| *stop) => break,
            };
            let Some(chunk) = chunk else {
                self.snapshot(&mut tally).await;
                (fetched, stale) = (tokio::time::Instant::now(), false);
                continue;
            };
            let Ok(Some(chunk)) = chunk else {
                tally.failures += 1;
                break;
            };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                let (mut name, mut data) = ("message", "");
                for line in message.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = v.trim();
                    }
                }
                match name {
                    "scans" | "flags" => {
                        if let Ok(event) = serde_json::from_str::<ScansEvent>(data) {
                            tally.scans += event.count;
                            let delay = (Utc::now() - event.first_at).num_microseconds().unwrap_or(0);
                            tally.delays_us.push(delay.clamp(0, i64::from(u32::MAX)) as u32);
                        }
                        stale = true;
                    }
                    "ready" | "resync" => {
                        if name == "resync" {
                            tally.resyncs += 1;
                        }
                        self.snapshot(&mut tally).await;
                        (fetched, stale) = (tokio::time::Instant::now(), false);
                        if let Some(said) = said_ready.take() {
                            let _ = said.send(());
                        }
                    }
                    _ => {}
                }
            }
            if stale && fetched.elapsed() >= REFETCH {
                self.snapshot(&mut tally).await;
                (fetched, stale) = (tokio::time::Instant::now(), false);
            }
        }
        tally
    }

    /// Fetches the board's snapshot, as the console does.
    async fn snapshot(&self, tally: &mut BoardTally) {
        let snapshot = format!("{}/api/v1/activities/{}/board", self.base, self.activity_id);
        match self.client.get(snapshot).bearer_auth(&*self.staff).send().await {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                tally.snapshots += 1;
            }
            _ => tally.failures += 1,
        }
    }
}
