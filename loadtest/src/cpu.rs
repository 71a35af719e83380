//! CPU time per process, read from `/proc`, to say where the microseconds of a scan go.
//!
//! On one machine the server, PostgreSQL, Redis and the load generator share the same
//! cores, so the figure that says how far a deployment can go is the CPU each of them
//! spends per accepted scan, not the scans per second alone: two cores top out at
//! 2 000 000 µs/s divided by the sum. `--cpu NAME` sums `utime + stime` of every process
//! whose command name (`/proc/PID/stat`'s second field, at most 15 bytes) is `NAME`
//! (PostgreSQL's backends and helpers are all `postgres`), read before and after each
//! phase; the load generator itself is always included, as `loadtest`. Processes that
//! start or end during a phase are counted for the part of their life that the readings
//! see: a backend that exits mid-phase takes its ticks with it, so connection pools that
//! stay open (as Hourmark's do) are what makes the split exact.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

/// Clock ticks per second of `/proc/PID/stat`'s times (`sysconf(_SC_CLK_TCK)`), which is
/// 100 on every Linux architecture Hourmark runs on.
const USER_HZ: f64 = 100.0;

/// The processes to watch: command names, plus this process as `loadtest`.
#[derive(Debug, Clone)]
pub struct CpuWatch {
    names: Vec<String>,
}

/// CPU ticks per watched name at one moment.
#[derive(Debug, Clone)]
pub struct CpuReading {
    at: Instant,
    ticks: BTreeMap<String, u64>,
}

/// CPU ticks spent per watched name between two readings, and the wall time between them.
#[derive(Debug, Clone, Default)]
pub struct CpuUsed {
    pub wall: Duration,
    pub ticks: BTreeMap<String, u64>,
}

/// One process name's share of a phase.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessCpu {
    pub name: String,
    /// CPU seconds spent (user + system).
    pub cpu_secs: f64,
    /// Microseconds of CPU per accepted scan (absent when nothing was accepted).
    pub us_per_accepted: Option<f64>,
    /// Cores kept busy on average over the phase's wall time.
    pub cores: f64,
}

impl CpuWatch {
    /// Watches `names` (and always this process); fails at once when `/proc` cannot be read.
    pub fn new(names: &[String]) -> Result<Self> {
        std::fs::read_to_string("/proc/self/stat").context("--cpu reads /proc, which this system does not have")?;
        Ok(Self { names: names.to_vec() })
    }

    /// Reads every watched name's ticks now.
    pub fn read(&self) -> CpuReading {
        let mut ticks: BTreeMap<String, u64> = self.names.iter().map(|n| (n.clone(), 0)).collect();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let file = entry.file_name();
                let Some(pid) = file.to_str().filter(|s| s.bytes().all(|b| b.is_ascii_digit())) else {
                    continue;
                };
                // A process may end between listing and reading: it is simply not counted.
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    continue;
                };
                if let Some((name, used)) = parse_stat(&stat)
                    && let Some(total) = ticks.get_mut(name)
                {
                    *total += used;
                }
            }
        }
        let own = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s).map(|(_, t)| t));
        ticks.insert("loadtest".to_owned(), own.unwrap_or(0));
        CpuReading { at: Instant::now(), ticks }
    }
}

impl CpuReading {
    /// What was spent from this reading until `later`.
    pub fn until(&self, later: &CpuReading) -> CpuUsed {
        let ticks = later
            .ticks
            .iter()
            .map(|(name, after)| (name.clone(), after.saturating_sub(self.ticks.get(name).copied().unwrap_or(0))))
            .collect();
        CpuUsed { wall: later.at.saturating_duration_since(self.at), ticks }
    }
}

impl CpuUsed {
    /// Adds another stretch (another round of the same phase).
    pub fn add(&mut self, other: &CpuUsed) {
        self.wall += other.wall;
        for (name, ticks) in &other.ticks {
            *self.ticks.entry(name.clone()).or_default() += ticks;
        }
    }

    /// Each name's share, per accepted scan; `loadtest` last, as the one that is not the
    /// system under test.
    pub fn per_accepted(&self, accepted: u64) -> Vec<ProcessCpu> {
        let wall = self.wall.as_secs_f64();
        let mut shares: Vec<ProcessCpu> = self
            .ticks
            .iter()
            .map(|(name, &ticks)| {
                let cpu_secs = ticks as f64 / USER_HZ;
                ProcessCpu {
                    name: name.clone(),
                    cpu_secs,
                    us_per_accepted: (accepted > 0).then(|| cpu_secs * 1e6 / accepted as f64),
                    cores: if wall > 0.0 { cpu_secs / wall } else { 0.0 },
                }
            })
            .collect();
        shares.sort_by_key(|p| p.name == "loadtest");
        shares
    }
}

/// The command name and `utime + stime` of one `/proc/PID/stat` line. The name is in
/// parentheses and may itself hold spaces and parentheses, so the fields are counted from
/// the last `)`.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    // After ") ": state is field 3; utime and stime are fields 14 and 15.
    let mut fields = stat.get(close + 2..)?.split_ascii_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_name_and_cpu_ticks() {
        let line = "4242 (postgres) S 1 4242 4242 0 -1 4194560 1000 0 0 0 731 269 0 0 20 0 1 0 100 0 0";
        assert_eq!(parse_stat(line), Some(("postgres", 1000)));
        // A name with a space and a parenthesis is taken whole.
        let odd = "7 (a b) c) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 100 0 0";
        assert_eq!(parse_stat(odd), Some(("a b) c", 11)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_always_watched_and_its_work_is_seen() {
        let watch = CpuWatch::new(&["no-such-process-name".to_owned()]).expect("proc");
        let before = watch.read();
        let started = Instant::now();
        let mut x = 0u64;
        let used = loop {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            let used = before.until(&watch.read());
            if used.ticks["loadtest"] > 0 {
                break used;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "10 s of busy work and no tick counted");
        };
        assert_eq!(used.ticks.get("no-such-process-name"), Some(&0));
        assert!(used.wall > Duration::ZERO);
    }

    #[test]
    fn shares_are_per_accepted_scan_and_per_core() {
        let used = CpuUsed {
            wall: Duration::from_secs(2),
            ticks: [("hourmark".to_owned(), 150), ("loadtest".to_owned(), 50), ("postgres".to_owned(), 100)].into(),
        };
        let shares = used.per_accepted(10_000);
        let names: Vec<&str> = shares.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["hourmark", "postgres", "loadtest"]);
        assert_eq!(shares[0].us_per_accepted, Some(150.0));
        assert!((shares[0].cores - 0.75).abs() < 1e-9);
        assert_eq!(used.per_accepted(0)[0].us_per_accepted, None);
    }
}
