//! Watching the server's memory through `/proc/PID/status`.
//!
//! Memory is the figure that decides how many events one small instance can carry, and
//! the peak under a burst of scans is what matters, not the resting size. The kernel's
//! own high-water mark (`VmHWM`) covers the whole life of the process, setup included, so
//! the sampler also polls `VmRSS` every 100 ms and keeps a peak per phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often VmRSS is read.
const INTERVAL: Duration = Duration::from_millis(100);

/// Reads one `kB` field (`VmRSS`, `VmHWM`, ...) of `/proc/PID/status`.
pub fn read_status_kb(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_status_kb(&status, field).with_context(|| format!("{path} has no {field} line"))
}

fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// A background task polling VmRSS and keeping the highest value since the last
/// [`RssSampler::take_peak`].
#[derive(Debug)]
pub struct RssSampler {
    pid: u32,
    peak_kb: Arc<AtomicU64>,
    gone: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling; fails at once if the process cannot be read.
    pub fn start(pid: u32) -> Result<Self> {
        let first = read_status_kb(pid, "VmRSS").context("--pid must name a running process this user can inspect")?;
        let peak_kb = Arc::new(AtomicU64::new(first));
        let gone = Arc::new(AtomicBool::new(false));
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn({
            let (peak_kb, gone) = (Arc::clone(&peak_kb), Arc::clone(&gone));
            async move {
                let mut tick = tokio::time::interval(INTERVAL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stopped.changed() => return,
                    }
                    match read_status_kb(pid, "VmRSS") {
                        Ok(kb) => {
                            peak_kb.fetch_max(kb, Ordering::Relaxed);
                        }
                        Err(_) => {
                            // The server exited (or was replaced): nothing more to watch.
                            gone.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            }
        });
        Ok(Self { pid, peak_kb, gone, stop, task })
    }

    /// The peak since the previous call, restarting the count from the current size.
    pub fn take_peak(&self) -> u64 {
        let now = read_status_kb(self.pid, "VmRSS").unwrap_or(0);
        self.peak_kb.swap(now, Ordering::Relaxed).max(now)
    }

    /// Whether the process disappeared while being watched.
    pub fn process_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// Stops the task and returns the last peak.
    pub async fn stop(self) -> u64 {
        let peak = self.take_peak();
        // An error only means the task has already ended.
        let _ = self.stop.send(true);
        let _ = self.task.await;
        peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let status = "Name:\thourmark\nVmHWM:\t   52340 kB\nVmRSS:\t   41000 kB\nThreads:\t3\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(41000));
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(52340));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
        assert_eq!(parse_status_kb(status, "Threads"), None);
    }

    #[test]
    fn reads_our_own_process() {
        assert!(read_status_kb(std::process::id(), "VmRSS").expect("own status") > 0);
    }
}
