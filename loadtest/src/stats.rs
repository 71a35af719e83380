//! Counting what happened, and turning the counts into a report.
//!
//! Each worker keeps its own [`Tally`] and the tallies are merged when a round ends, so the
//! hot path never shares a lock or a cache line with another worker. Latencies are kept as
//! individual samples (microseconds, four bytes each) rather than in a histogram, so the
//! percentiles in the report are exact order statistics, not bucket estimates.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;

use crate::api::{Reply, ScanOutcome, TransportError};
use crate::cpu::{CpuUsed, ProcessCpu};

/// The counts and latency samples of one worker, one round, or one phase.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests sent, whether or not they were answered.
    pub requests: u64,
    /// Answers with the success status (200 for scans, 201 for registrations).
    pub accepted: u64,
    /// Answers that are a decision of the server: every status below 500. A 5xx (such as
    /// 503 `unavailable`, "not recorded") and a transport error are not.
    pub answered: u64,
    /// Accepted scans that checked the volunteer in.
    pub checked_in: u64,
    /// Accepted scans that checked the volunteer out.
    pub checked_out: u64,
    /// Answers other than success, by problem `code` (or `http_<status>` without one).
    pub refusals: BTreeMap<String, u64>,
    /// Requests that got no answer, by kind.
    pub transport_errors: BTreeMap<&'static str, u64>,
    /// One latency per HTTP answer, microseconds, whatever the status. Transport errors
    /// have no latency: a timeout would only measure `--request-timeout`.
    pub latencies_us: Vec<u32>,
}

impl Tally {
    /// Records an answer.
    pub fn record<T>(&mut self, reply: &Reply<T>, ok: StatusCode, latency: Duration) {
        self.requests += 1;
        self.latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        if reply.status(ok).as_u16() < 500 {
            self.answered += 1;
        }
        match reply {
            Reply::Ok(_) => self.accepted += 1,
            Reply::Problem { code, .. } => self.refused(code),
            Reply::Unexpected { status } => self.refused(&format!("http_{}", status.as_u16())),
        }
    }

    /// Records which way an accepted scan went.
    pub fn record_outcome(&mut self, outcome: ScanOutcome) {
        match outcome {
            ScanOutcome::CheckedIn => self.checked_in += 1,
            ScanOutcome::CheckedOut => self.checked_out += 1,
        }
    }

    fn refused(&mut self, code: &str) {
        // Refusal codes are a handful of distinct strings: look up before allocating.
        if let Some(n) = self.refusals.get_mut(code) {
            *n += 1;
        } else {
            self.refusals.insert(code.to_owned(), 1);
        }
    }

    /// Records a request that got no answer.
    pub fn record_transport_error(&mut self, error: TransportError) {
        self.requests += 1;
        *self.transport_errors.entry(error.name()).or_default() += 1;
    }

    /// Requests that got no answer at all.
    pub fn transport_error_count(&self) -> u64 {
        self.transport_errors.values().sum()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, mut other: Tally) {
        self.requests += other.requests;
        self.accepted += other.accepted;
        self.answered += other.answered;
        self.checked_in += other.checked_in;
        self.checked_out += other.checked_out;
        for (code, n) in other.refusals {
            *self.refusals.entry(code).or_default() += n;
        }
        for (kind, n) in other.transport_errors {
            *self.transport_errors.entry(kind).or_default() += n;
        }
        self.latencies_us.append(&mut other.latencies_us);
    }
}

/// A phase's tally with the wall time it took and what the server's memory did meanwhile.
#[derive(Debug)]
pub struct Phase {
    /// Name shown in the report.
    pub name: String,
    /// Everything that was recorded.
    pub tally: Tally,
    /// Wall time the phase's requests took (summed over its rounds).
    pub wall: Duration,
    /// Rounds run (scan phases).
    pub rounds: u32,
    /// The outcome every accepted scan of the phase should have had, if that is known.
    pub expected: Option<ScanOutcome>,
    /// Highest VmRSS seen while the phase ran, KiB.
    pub peak_rss_kb: Option<u64>,
    /// CPU spent per watched process while the phase ran (`--cpu`).
    pub cpu: Option<CpuUsed>,
}

impl Phase {
    /// An empty phase.
    pub fn new(name: impl Into<String>, expected: Option<ScanOutcome>) -> Self {
        Self {
            name: name.into(),
            tally: Tally::default(),
            wall: Duration::ZERO,
            rounds: 0,
            expected,
            peak_rss_kb: None,
            cpu: None,
        }
    }

    /// Adds CPU spent while the phase ran.
    pub fn add_cpu(&mut self, used: &CpuUsed) {
        self.cpu.get_or_insert_with(CpuUsed::default).add(used);
    }

    /// Adds a round (or another phase's totals) into this phase.
    pub fn add(&mut self, tally: Tally, wall: Duration, rounds: u32, peak_rss_kb: Option<u64>) {
        self.tally.merge(tally);
        self.wall += wall;
        self.rounds += rounds;
        self.peak_rss_kb = self.peak_rss_kb.max(peak_rss_kb);
    }

    /// Sorts the samples and computes the reported figures.
    pub fn report(mut self) -> PhaseReport {
        self.tally.latencies_us.sort_unstable();
        let samples = &self.tally.latencies_us;
        let secs = self.wall.as_secs_f64();
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let unexpected_outcome = match self.expected {
            Some(ScanOutcome::CheckedIn) => self.tally.checked_out,
            Some(ScanOutcome::CheckedOut) => self.tally.checked_in,
            None => 0,
        };
        PhaseReport {
            transport_errors: self.tally.transport_error_count(),
            latency_ms: (!samples.is_empty()).then(|| Latency {
                samples: samples.len(),
                p50: ms(percentile(samples, 50.0)),
                p95: ms(percentile(samples, 95.0)),
                p99: ms(percentile(samples, 99.0)),
                max: ms(samples.last().copied().unwrap_or(0)),
            }),
            name: self.name,
            rounds: self.rounds,
            wall_secs: secs,
            requests: self.tally.requests,
            accepted: self.tally.accepted,
            accepted_per_sec: rate(self.tally.accepted),
            answered: self.tally.answered,
            answered_per_sec: rate(self.tally.answered),
            checked_in: self.tally.checked_in,
            checked_out: self.tally.checked_out,
            unexpected_outcome,
            refusals: self.tally.refusals,
            transport_error_kinds: self.tally.transport_errors,
            peak_rss_mb: self.peak_rss_kb.map(kb_to_mb),
            cpu: self.cpu.map(|c| c.per_accepted(self.tally.accepted)).unwrap_or_default(),
        }
    }
}

/// Nearest-rank percentile of sorted samples: the smallest sample with at least `p`% of
/// the samples at or below it.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

/// KiB (as /proc reports) to MB (10^6 bytes).
pub fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1_000_000.0
}

/// Latency figures, milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// How many answers the figures are computed from.
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One row of the report.
#[derive(Debug, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub rounds: u32,
    pub wall_secs: f64,
    pub requests: u64,
    pub accepted: u64,
    pub accepted_per_sec: f64,
    pub answered: u64,
    pub answered_per_sec: f64,
    /// Absent when nothing was answered.
    pub latency_ms: Option<Latency>,
    pub checked_in: u64,
    pub checked_out: u64,
    /// Accepted scans that went the other way than the round intended.
    pub unexpected_outcome: u64,
    pub refusals: BTreeMap<String, u64>,
    pub transport_errors: u64,
    pub transport_error_kinds: BTreeMap<&'static str, u64>,
    pub peak_rss_mb: Option<f64>,
    /// CPU per watched process (`--cpu`); empty when not asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpu: Vec<ProcessCpu>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), 50);
        assert_eq!(percentile(&samples, 95.0), 95);
        assert_eq!(percentile(&samples, 99.0), 99);
        assert_eq!(percentile(&samples, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn tallies_merge_and_classify() {
        let mut a = Tally::default();
        a.record(&Reply::Ok(()), StatusCode::OK, Duration::from_millis(2));
        a.record::<()>(
            &Reply::Problem { status: StatusCode::CONFLICT, code: "repeat_scan".into(), detail: String::new() },
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let mut b = Tally::default();
        b.record::<()>(
            &Reply::Problem {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "unavailable".into(),
                detail: String::new(),
            },
            StatusCode::OK,
            Duration::from_millis(1),
        );
        b.record::<()>(&Reply::Unexpected { status: StatusCode::BAD_GATEWAY }, StatusCode::OK, Duration::ZERO);
        b.record_transport_error(TransportError::Timeout);
        a.merge(b);
        assert_eq!((a.requests, a.accepted, a.answered), (5, 1, 2));
        assert_eq!(a.refusals.get("repeat_scan"), Some(&1));
        assert_eq!(a.refusals.get("unavailable"), Some(&1));
        assert_eq!(a.refusals.get("http_502"), Some(&1));
        assert_eq!(a.transport_error_count(), 1);
        assert_eq!(a.latencies_us.len(), 4);
    }
}
