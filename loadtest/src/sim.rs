//! The simulated crowd: registering volunteers, the organiser's screen, and the scans.
//!
//! A fixed pool of worker tasks stands for the phones in use at one moment (`--concurrency`).
//! Each worker takes the next volunteer from a shared atomic counter, sends one request,
//! records it, and takes the next: a closed loop, so the offered load adapts to the server
//! instead of piling up unbounded queues in the simulator. Nothing here waits on a lock in
//! the hot path; each worker has its own [`Tally`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::StatusCode;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::api::{Api, Location, Reply, ScanOutcome};
use crate::phone::Phone;
use crate::sms_sink::SmsSink;
use crate::stats::Tally;

/// How many different phone numbers a volunteer tries before giving up on `phone_taken`.
const PHONE_ATTEMPTS: u32 = 8;

/// When workers stop taking new work: at a deadline, or when the user presses Ctrl-C.
#[derive(Debug, Default)]
pub struct Stop {
    deadline: OnceLock<Instant>,
    interrupted: AtomicBool,
}

impl Stop {
    /// From now on, stop taking work at `at` (the first deadline set wins).
    pub fn set_deadline(&self, at: Instant) {
        let _ = self.deadline.set(at);
    }

    /// Asks every worker to finish its current request and stop.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Relaxed);
    }

    /// Whether Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Whether workers should stop taking new work.
    pub fn now(&self) -> bool {
        self.interrupted() || self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }
}

/// A registered volunteer, as their phone remembers them.
#[derive(Debug)]
pub struct Volunteer {
    /// Their bearer token for `/mp/v1/scans`.
    pub token: String,
    /// Their phone's device id.
    pub device_id: String,
}

/// Run-specific material for unique names, phone numbers and device ids.
#[derive(Debug, Clone, Copy)]
pub struct RunId(pub Uuid);

impl RunId {
    /// Eight hex digits naming the run in names and device ids.
    pub fn short(self) -> String {
        self.0.simple().to_string()[..8].to_owned()
    }

    /// Volunteer `index`'s first-choice phone: `1`, a second digit 3–9 and three digits
    /// drawn once per run, then the index in six digits. Reruns against the same database
    /// pick another prefix (7,000 of them), so they rarely collide; when they do,
    /// [`random_phone`] takes over.
    pub fn phone(self, index: usize) -> String {
        let b = self.0.as_bytes();
        let second = 3 + b[0] % 7;
        let prefix = u16::from_be_bytes([b[1], b[2]]) % 1000;
        format!("1{second}{prefix:03}{:06}", index % 1_000_000)
    }
}

/// A random mainland mobile number (used after a `phone_taken`).
fn random_phone() -> String {
    let b = Uuid::new_v4();
    let b = b.as_bytes();
    let second = 3 + b[0] % 7;
    let rest = u64::from_be_bytes([b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]]) % 1_000_000_000;
    format!("1{second}{rest:09}")
}

/// Registers volunteers `0..count`, `concurrency` at a time. Volunteers whose registration
/// fails are left out (and counted in the tally); the others come back in no particular order.
pub async fn register(
    api: &Api,
    run: RunId,
    count: usize,
    concurrency: usize,
    sms: Option<&SmsSink>,
    stop: &Arc<Stop>,
) -> Result<(Vec<Volunteer>, Tally, Duration)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(count) {
        let (api, next, stop, sms) = (api.clone(), Arc::clone(&next), Arc::clone(stop), sms.cloned());
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut volunteers = Vec::new();
            while !stop.now() {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let device_id = format!("loadtest-{}-{index}", run.short());
                let name = format!("志愿者{index}");
                let mut phone = run.phone(index);
                for _ in 0..PHONE_ATTEMPTS {
                    match api.register_volunteer(&name, &phone, &device_id, sms.as_ref()).await {
                        Ok(timed) => {
                            tally.record(&timed.reply, StatusCode::CREATED, timed.latency);
                            match timed.reply {
                                Reply::Ok(token) => {
                                    volunteers.push(Volunteer { token, device_id });
                                    break;
                                }
                                Reply::Problem { code, .. } if code == "phone_taken" || code == "id_number_taken" => {
                                    phone = random_phone();
                                }
                                _ => break,
                            }
                        }
                        Err(e) => {
                            tally.record_transport_error(e);
                            break;
                        }
                    }
                }
            }
            (volunteers, tally)
        });
    }
    let mut volunteers = Vec::with_capacity(count);
    let mut tally = Tally::default();
    while let Some(joined) = workers.join_next().await {
        let (v, t) = joined.context("a registration worker panicked")?;
        volunteers.extend(v);
        tally.merge(t);
    }
    Ok((volunteers, tally, started.elapsed()))
}

/// The organiser's screen: fetches the code, publishes its URL, sleeps
/// `seconds_to_rotation`, and fetches again.
#[derive(Debug)]
pub struct CodeScreen {
    /// The URL phones scan now.
    pub current: watch::Receiver<Arc<str>>,
    fetches: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    rotations: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

/// What the screen did while it ran.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ScreenReport {
    /// Code fetches that succeeded (the first included).
    pub fetches: u64,
    /// Fetches that failed (retried after a second).
    pub failures: u64,
    /// Times the URL changed.
    pub rotations: u64,
}

impl CodeScreen {
    /// Fetches the first code (failing if it cannot) and starts refreshing it.
    pub async fn start(api: Api, staff: Arc<str>, activity_id: i64) -> Result<Self> {
        let first = api.current_code(&staff, activity_id).await?;
        let (publish, current) = watch::channel::<Arc<str>>(first.url.into());
        let fetches = Arc::new(AtomicU64::new(1));
        let failures = Arc::new(AtomicU64::new(0));
        let rotations = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (fetches, failures, rotations) = (Arc::clone(&fetches), Arc::clone(&failures), Arc::clone(&rotations));
            let mut wait = rotation_wait(first.seconds_to_rotation);
            async move {
                loop {
                    tokio::time::sleep(wait).await;
                    match api.current_code(&staff, activity_id).await {
                        Ok(code) => {
                            fetches.fetch_add(1, Ordering::Relaxed);
                            wait = rotation_wait(code.seconds_to_rotation);
                            publish.send_if_modified(|url| {
                                let changed = **url != *code.url;
                                if changed {
                                    rotations.fetch_add(1, Ordering::Relaxed);
                                    *url = code.url.into();
                                }
                                changed
                            });
                        }
                        Err(_) => {
                            // Like a screen on a flaky network: keep showing the old code
                            // (it stays valid for one more window) and try again soon.
                            failures.fetch_add(1, Ordering::Relaxed);
                            wait = Duration::from_secs(1);
                        }
                    }
                }
            }
        });
        Ok(Self { current, fetches, failures, rotations, task })
    }

    /// Stops refreshing and says what the screen did.
    pub async fn stop(self) -> ScreenReport {
        // The task holds nothing that needs finishing: stop it even mid-fetch.
        self.task.abort();
        let _ = self.task.await;
        ScreenReport {
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            rotations: self.rotations.load(Ordering::Relaxed),
        }
    }
}

/// The server rounds its countdown up to whole seconds and never says 0; cap it so a
/// surprising answer cannot put the screen to sleep for the whole run.
fn rotation_wait(seconds_to_rotation: u32) -> Duration {
    Duration::from_secs(u64::from(seconds_to_rotation.clamp(1, 300)))
}

/// How one round of scans went.
#[derive(Debug)]
pub struct Round {
    /// What was recorded.
    pub tally: Tally,
    /// From the first request to the last answer.
    pub wall: Duration,
    /// Whether every volunteer scanned (false when the deadline or Ctrl-C cut it short).
    pub complete: bool,
}

/// Settings shared by every round.
#[derive(Debug, Clone)]
pub struct ScanPlan {
    /// The registered crowd.
    pub volunteers: Arc<[Volunteer]>,
    /// Phones scanning at once.
    pub concurrency: usize,
    /// The event's position, when scans carry a location.
    pub location: Option<Location>,
    /// Paces scans to a fixed rate (open loop); `None` sends as fast as answers come.
    pub pacer: Option<Arc<Pacer>>,
}

/// Hands out evenly spaced send times for a target rate, across all workers and rounds.
#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    interval: Duration,
    next: std::sync::atomic::AtomicU64,
}

impl Pacer {
    /// A pacer for `rate` scans per second, starting now.
    pub fn new(rate: u32) -> Self {
        Self {
            start: Instant::now(),
            interval: Duration::from_secs(1) / rate.max(1),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The next scan's scheduled send time.
    fn next_slot(&self) -> Instant {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.start + self.interval.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// Every volunteer scans the current code once, `plan.concurrency` at a time.
pub async fn scan_round(
    api: &Api,
    plan: &ScanPlan,
    code: &watch::Receiver<Arc<str>>,
    stop: &Arc<Stop>,
) -> Result<Round> {
    let count = plan.volunteers.len();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..plan.concurrency.min(count) {
        let (api, plan, code, next, stop) =
            (api.clone(), plan.clone(), code.clone(), Arc::clone(&next), Arc::clone(stop));
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut phone = Phone::of(&api);
            while !stop.now() {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(volunteer) = plan.volunteers.get(index) else { break };
                scan_once(&mut phone, &plan, &code, volunteer, index, &mut tally).await;
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(joined) = workers.join_next().await {
        tally.merge(joined.context("a scanning worker panicked")?);
    }
    let complete = tally.requests == count as u64;
    Ok(Round { tally, wall: started.elapsed(), complete })
}

/// What a continuous run recorded, split by the direction each scan was meant to go.
#[derive(Debug)]
pub struct Continuous {
    /// Scans of arrival rounds (even rounds).
    pub arrivals: Tally,
    /// Scans of departure rounds (odd rounds).
    pub departures: Tally,
    /// Full passes over the crowd begun.
    pub rounds: u32,
    /// From the first request to the last answer.
    pub wall: Duration,
}

/// Scans until `stop` with one pool of workers and no pause between rounds: scan `i` is
/// volunteer `i % n` in round `i / n`. A sustained run needs this: if workers waited for
/// each round's slowest scan before starting the next, every round boundary would idle
/// the pool and then release a burst, which measures the simulator, not the server.
pub async fn scan_continuous(
    api: &Api,
    plan: &ScanPlan,
    code: &watch::Receiver<Arc<str>>,
    stop: &Arc<Stop>,
) -> Result<Continuous> {
    let count = plan.volunteers.len().max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..plan.concurrency.min(count) {
        let (api, plan, code, next, stop) =
            (api.clone(), plan.clone(), code.clone(), Arc::clone(&next), Arc::clone(stop));
        workers.spawn(async move {
            let (mut arrivals, mut departures) = (Tally::default(), Tally::default());
            let mut phone = Phone::of(&api);
            while !stop.now() {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (round, index) = (i / count, i % count);
                let Some(volunteer) = plan.volunteers.get(index) else { break };
                let arrival = expected(u32::try_from(round).unwrap_or(u32::MAX)) == ScanOutcome::CheckedIn;
                let tally = if arrival { &mut arrivals } else { &mut departures };
                scan_once(&mut phone, &plan, &code, volunteer, index, tally).await;
            }
            (arrivals, departures)
        });
    }
    let (mut arrivals, mut departures) = (Tally::default(), Tally::default());
    while let Some(joined) = workers.join_next().await {
        let (a, d) = joined.context("a scanning worker panicked")?;
        arrivals.merge(a);
        departures.merge(d);
    }
    let total = next
        .load(Ordering::Relaxed)
        .min(usize::try_from(arrivals.requests + departures.requests).unwrap_or(usize::MAX));
    let rounds = u32::try_from(total.div_ceil(count)).unwrap_or(u32::MAX);
    Ok(Continuous { arrivals, departures, rounds, wall: started.elapsed() })
}

/// One phone's scan: waits for its slot when paced (open loop, lateness charged to the
/// latency), sends the current code, and records the answer.
async fn scan_once(
    phone: &mut Phone,
    plan: &ScanPlan,
    code: &watch::Receiver<Arc<str>>,
    volunteer: &Volunteer,
    index: usize,
    tally: &mut Tally,
) {
    let lag = match &plan.pacer {
        Some(pacer) => {
            let slot = pacer.next_slot();
            tokio::time::sleep_until(slot.into()).await;
            Instant::now().saturating_duration_since(slot)
        }
        None => Duration::ZERO,
    };
    let url = Arc::clone(&code.borrow());
    let location = plan.location.map(|l| jitter(l, index));
    match phone.scan(&volunteer.token, &url, &volunteer.device_id, location).await {
        Ok(timed) => {
            tally.record(&timed.reply, StatusCode::OK, timed.latency + lag);
            if let Reply::Ok(receipt) = &timed.reply {
                tally.record_outcome(receipt.outcome);
            }
        }
        Err(e) => tally.record_transport_error(e),
    }
}

/// Spreads the crowd over about 100 m around the gate, with the accuracy a phone reports
/// outdoors, so the geofence check sees varied but plausible fixes.
fn jitter(at: Location, index: usize) -> Location {
    let step = 0.000_01; // about 1.1 m of latitude
    let (dy, dx) = ((index % 97) as f64 - 48.0, (index / 97 % 89) as f64 - 44.0);
    Location { lat: at.lat + dy * step, lng: at.lng + dx * step, accuracy_m: 15.0 }
}

/// The outcome a round's accepted scans should have.
pub fn expected(round: u32) -> ScanOutcome {
    if round.is_multiple_of(2) { ScanOutcome::CheckedIn } else { ScanOutcome::CheckedOut }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_mainland_mobile(p: &str) -> bool {
        p.len() == 11
            && p.starts_with('1')
            && (b'3'..=b'9').contains(&p.as_bytes()[1])
            && p.bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn phones_are_valid_and_distinct_within_a_run() {
        let run = RunId(Uuid::new_v4());
        let phones: std::collections::HashSet<String> = (0..5000).map(|i| run.phone(i)).collect();
        assert_eq!(phones.len(), 5000);
        assert!(phones.iter().all(|p| is_mainland_mobile(p)));
        for _ in 0..1000 {
            assert!(is_mainland_mobile(&random_phone()));
        }
    }

    #[test]
    fn jitter_stays_near_the_gate() {
        let gate = Location { lat: 25.04, lng: 102.71, accuracy_m: 15.0 };
        for i in 0..20_000 {
            let l = jitter(gate, i);
            assert!((l.lat - gate.lat).abs() < 0.001 && (l.lng - gate.lng).abs() < 0.001);
        }
    }

    #[test]
    fn rounds_alternate_starting_with_arrival() {
        assert_eq!(expected(0), ScanOutcome::CheckedIn);
        assert_eq!(expected(1), ScanOutcome::CheckedOut);
        assert_eq!(expected(2), ScanOutcome::CheckedIn);
    }
}
