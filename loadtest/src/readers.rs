//! The public board read during the run: `--public-reads R` opens the publicity board
//! (`/publicity`, the page anyone may read, 公示) R times a second while the phones scan,
//! so what a busy public page costs the scan path can be measured (issue 15's mixed load:
//! fifty staff boards and the public board read at 100 requests/s while scans arrive).
//!
//! Reads are open loop like `--rate`: each has a scheduled time, and its latency counts
//! from that time, so a server that falls behind is charged for the wait. At most
//! [`IN_FLIGHT`] reads are outstanding; a read that waits for one of them waits on the
//! clock too.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::Client;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::stats::{Latency, percentile};

/// Reads outstanding at once: a reader's browsers, not an unbounded queue.
pub const IN_FLIGHT: usize = 64;

/// The public board being read.
#[derive(Debug)]
pub struct PublicReaders {
    rate: u32,
    task: JoinHandle<ReadTally>,
    stop: watch::Sender<bool>,
}

/// What the readers were answered, together.
#[derive(Debug, Serialize)]
pub struct PublicReadsReport {
    /// Reads offered per second.
    pub rate: u32,
    pub requests: u64,
    /// Reads whose time came while [`IN_FLIGHT`] were still outstanding, never sent: a
    /// server that falls behind is offered fewer reads, and this says how many.
    pub not_sent: u64,
    /// Answered 200.
    pub ok: u64,
    /// Any other status, or no answer.
    pub failures: u64,
    /// Size of the last page read, bytes.
    pub page_bytes: usize,
    /// From each read's scheduled time to the last byte of its answer, over the 200s.
    pub latency_ms: Option<Latency>,
}

#[derive(Debug, Default)]
struct ReadTally {
    requests: u64,
    not_sent: u64,
    ok: u64,
    failures: u64,
    page_bytes: usize,
    latencies_us: Vec<u32>,
}

/// One read's outcome: its latency, and the page's size if it was answered 200.
type Read = (Duration, Option<usize>);

impl PublicReaders {
    /// Starts reading `{base}/publicity` `rate` times a second.
    pub fn start(base: &str, rate: u32) -> Result<Self> {
        let client = Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .user_agent(concat!("hourmark-loadtest/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the public readers' HTTP client")?;
        let (stop, stopped) = watch::channel(false);
        let url: Arc<str> = format!("{base}/publicity").into();
        let task = tokio::spawn(read(client, url, rate.max(1), stopped));
        Ok(Self { rate, task, stop })
    }

    /// Stops reading, waits for the reads in flight, and says how they went.
    pub async fn stop(self) -> PublicReadsReport {
        self.stop.send_replace(true);
        let tally = self.task.await.unwrap_or_default();
        let mut latencies = tally.latencies_us;
        latencies.sort_unstable();
        let latency_ms = (!latencies.is_empty()).then(|| {
            let ms = |p: f64| f64::from(percentile(&latencies, p)) / 1000.0;
            Latency { samples: latencies.len(), p50: ms(50.0), p95: ms(95.0), p99: ms(99.0), max: ms(100.0) }
        });
        PublicReadsReport {
            rate: self.rate,
            requests: tally.requests,
            not_sent: tally.not_sent,
            ok: tally.ok,
            failures: tally.failures,
            page_bytes: tally.page_bytes,
            latency_ms,
        }
    }
}

/// Sends a read at every slot until told to stop.
async fn read(client: Client, url: Arc<str>, rate: u32, mut stopped: watch::Receiver<bool>) -> ReadTally {
    let interval = Duration::from_secs(1) / rate;
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut reads: JoinSet<Read> = JoinSet::new();
    let mut tally = ReadTally::default();
    for n in 0u32.. {
        let slot = start + interval.saturating_mul(n);
        tokio::select! {
            () = tokio::time::sleep_until(slot) => {}
            _ = stopped.wait_for(|stop| *stop) => break,
        }
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let Ok(permit) = permit else { break };
        let (client, url) = (client.clone(), Arc::clone(&url));
        tally.requests += 1;
        reads.spawn(async move {
            let _permit = permit;
            let answered = match client.get(&*url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.ok().map(|b| b.len()),
                _ => None,
            };
            (slot.elapsed(), answered)
        });
        // Keep the finished ones from piling up over a long run.
        while let Some(done) = reads.try_join_next() {
            count(&mut tally, done);
        }
    }
    let due = start.elapsed().as_nanos() / interval.as_nanos().max(1) + 1;
    tally.not_sent = u64::try_from(due).unwrap_or(u64::MAX).saturating_sub(tally.requests);
    while let Some(done) = reads.join_next().await {
        count(&mut tally, done);
    }
    tally
}

fn count(tally: &mut ReadTally, done: Result<Read, tokio::task::JoinError>) {
    match done {
        Ok((latency, Some(bytes))) => {
            tally.ok += 1;
            tally.page_bytes = bytes;
            tally.latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
        Ok((_, None)) | Err(_) => tally.failures += 1,
    }
}
