//! `loadtest`: a large-event simulator that drives a running Hourmark over HTTP.
//!
//! The one moment the attendance server must not be slow is the start of a big event:
//! thousands of volunteers reach the gate within minutes, each phone scans the rotating
//! code once, and every answer must be durable before it is sent. This tool replays that
//! morning, and the evening's departures, against a real server through its public API
//! only, so what it measures is what a phone would see: the time from sending a scan to
//! holding the answer, how many scans per second are accepted, and what is refused and why.
//!
//! It runs in phases: setup (an administrator, an organisation, and a toggle-mode activity
//! that is already open), registration of the crowd, then scan rounds in which every
//! volunteer scans once — arrivals, then departures, or alternating rounds until
//! `--duration` has elapsed. Meanwhile an organiser's screen fetches the code every
//! `seconds_to_rotation` seconds, exactly as the real screen does, so scans carry codes
//! that age and rotate as they would at the gate.
//!
//! It is bounded by construction: every request has a timeout, the crowd and the rounds
//! are finite, a sustained run stops taking work at its deadline, and it only ever talks to
//! a loopback `--base-url`.

mod api;
mod boards;
mod cpu;
mod phone;
mod readers;
mod rss;
mod sim;
mod sms_sink;
mod stats;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{FixedOffset, SecondsFormat, Utc};
use clap::{ArgGroup, Parser};
use serde::Serialize;
use uuid::Uuid;

use crate::api::{Api, Location};
use crate::cpu::CpuWatch;
use crate::rss::RssSampler;
use crate::sim::{CodeScreen, RunId, ScanPlan, ScreenReport, Stop};
use crate::stats::{Phase, PhaseReport, kb_to_mb};

/// Where the simulated event takes place (Kunming): the activity's centre, and where the
/// phones say they are.
const EVENT_AT: Location = Location { lat: 25.04, lng: 102.71, accuracy_m: 15.0 };

/// Simulate a large event against a running Hourmark server: register a crowd of
/// volunteers, then have them scan the organiser's rotating code on arrival and departure,
/// and report throughput, latency percentiles, refusals and the server's memory.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
#[command(group(ArgGroup::new("auth").required(true).args(["bootstrap_token", "staff_token"])))]
struct Cli {
    /// The server to load. Must be on this machine (loopback or localhost).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    base_url: String,

    /// A one-time bootstrap token: create the administrator first (fresh server only).
    #[arg(long, value_name = "TOKEN")]
    bootstrap_token: Option<String>,

    /// The server's staff origin (`HOURMARK_STAFF_ORIGIN`), which the bootstrapped
    /// administrator's software passkey is bound to. Default: `http://localhost:<port>`.
    #[arg(long, value_name = "URL")]
    staff_origin: Option<String>,

    /// An administrator's bearer token (use this once the bootstrap token has been redeemed).
    #[arg(long, value_name = "TOKEN")]
    staff_token: Option<String>,

    /// Volunteers to register and have scan.
    #[arg(long, default_value_t = 2000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    volunteers: u32,

    /// Phones scanning at the same moment (worker tasks, and the HTTP connection pool size).
    #[arg(long, default_value_t = 500, value_name = "C", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,

    /// 0: one arrival round, then one departure round. More: alternate arrival and
    /// departure rounds over the whole crowd until this many seconds have passed (at most
    /// 6 hours, the length of the simulated activity).
    #[arg(long, default_value_t = 0, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=21_600))]
    duration: u64,

    /// Registrations in flight at once.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    register_concurrency: u32,

    /// The server's process id: sample its VmRSS every 100 ms and report the peak per phase,
    /// and its VmHWM at the end.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,

    /// Also count the CPU time of every process with this command name (repeat for each:
    /// `--cpu hourmark --cpu postgres --cpu redis-server`) and report, per phase, the CPU
    /// each spent per accepted scan and how many cores it kept busy. The load generator's
    /// own CPU is then reported too, as `loadtest`. Reads /proc (Linux).
    #[arg(long = "cpu", value_name = "NAME")]
    cpu: Vec<String>,

    /// Also print the summary as one JSON object (the last line of standard output).
    #[arg(long)]
    json: bool,

    /// Give every scan a location fix near the gate (the default).
    #[arg(long, overrides_with = "no_location")]
    location: bool,

    /// Send scans without a location, as when a volunteer denies the permission.
    #[arg(long, overrides_with = "location")]
    no_location: bool,

    /// Offered load in scans per second (0: as fast as the server answers). With a rate the
    /// run is open-loop: each scan has a scheduled send time, and its latency is counted
    /// from that time, so a server that falls behind is charged for the wait (no
    /// coordinated omission). `--concurrency` still caps the scans in flight.
    #[arg(long, default_value_t = 0, value_name = "SCANS_PER_SEC", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rate: u32,

    /// Staff boards to keep open on the activity during the scans (live events over SSE,
    /// with a snapshot on open and on every resync), to measure what watching costs the
    /// scan path. The report gives how many scans they were pushed and how late.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000))]
    boards: u32,

    /// Reads of the public board (`/publicity`) per second during the scans, open loop, to
    /// measure what a busy public page costs the scan path. The report gives their latency.
    #[arg(long, default_value_t = 0, value_name = "READS_PER_SEC", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    public_reads: u32,

    /// Receive the server's registration codes here (`127.0.0.1:18399`), for a server that
    /// asks every registration for the phone's code, as production does: start it with
    /// `HOURMARK_SMS_PROVIDER=tencent` and `HOURMARK_SMS_TENCENT_ENDPOINT=http://<this>`
    /// (and its SMS limits off). Each registration then takes both steps, the code read
    /// from the SMS its real client sent.
    #[arg(long, value_name = "ADDR")]
    sms_sink: Option<std::net::SocketAddr>,

    /// Give up on a request after this many seconds (counted as a transport error). A
    /// sustained run ends at most this long after --duration.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=120))]
    request_timeout: u64,
}

/// The whole run, for `--json`.
#[derive(Debug, Serialize)]
struct Summary {
    base_url: String,
    run_id: String,
    organisation_id: i64,
    activity_id: i64,
    volunteers_requested: u32,
    volunteers_registered: usize,
    concurrency: u32,
    rate: u32,
    duration_secs: u64,
    location: bool,
    interrupted: bool,
    code_screen: Option<ScreenReport>,
    boards: Option<boards::BoardsReport>,
    public_reads: Option<readers::PublicReadsReport>,
    phases: Vec<PhaseReport>,
    server: Option<ServerMemory>,
}

/// The server's memory, MB.
#[derive(Debug, Serialize)]
struct ServerMemory {
    pid: u32,
    rss_at_start_mb: f64,
    peak_rss_mb: f64,
    vm_hwm_mb: Option<f64>,
    exited_during_run: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let base = api::loopback_base(&cli.base_url)?;
    let concurrency = cli.concurrency as usize;
    let request_timeout = Duration::from_secs(cli.request_timeout);
    let api = Api::new(base.clone(), concurrency.max(cli.register_concurrency as usize), request_timeout)?;
    let run = RunId(Uuid::new_v4());
    let use_location = !cli.no_location;

    let stop = Arc::new(Stop::default());
    tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the requests in flight, then reporting (Ctrl-C again to quit now)");
                stop.interrupt();
            }
            // Listening for Ctrl-C replaced its default action: a second one must still end the run.
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted twice: quitting without a report");
                std::process::exit(130);
            }
        }
    });

    let sampler = cli.pid.map(RssSampler::start).transpose()?;
    let cpu = if cli.cpu.is_empty() { None } else { Some(CpuWatch::new(&cli.cpu)?) };
    let rss_at_start = sampler.as_ref().map(RssSampler::take_peak);

    // Setup: an administrator, an organisation and an activity that is open now.
    let staff: Arc<str> = match (&cli.bootstrap_token, &cli.staff_token) {
        (_, Some(token)) => token.as_str().into(),
        (Some(token), None) => {
            let port = reqwest::Url::parse(&cli.base_url).ok().and_then(|u| u.port_or_known_default()).unwrap_or(80);
            let origin = cli.staff_origin.clone().unwrap_or_else(|| format!("http://localhost:{port}"));
            let staff = api.bootstrap(token, &origin).await?;
            eprintln!(
                "bootstrapped an administrator; for 12 hours you can rerun against this database with \
                 --staff-token {staff}"
            );
            staff.into()
        }
        (None, None) => bail!("pass --bootstrap-token or --staff-token"),
    };
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let organisation_id = api.create_organisation(&staff, &format!("Load Test {stamp} {}", run.short())).await?;
    let shanghai = FixedOffset::east_opt(8 * 3600).context("the +08:00 offset is out of range")?;
    let now = Utc::now().with_timezone(&shanghai);
    let starts_at = (now - chrono::Duration::minutes(10)).to_rfc3339_opts(SecondsFormat::Secs, false);
    let ends_at = (now + chrono::Duration::hours(6)).to_rfc3339_opts(SecondsFormat::Secs, false);
    let activity_id = api
        .create_activity(&staff, organisation_id, &format!("压力测试 {stamp}"), EVENT_AT, &starts_at, &ends_at)
        .await?;
    eprintln!("organisation {organisation_id}, activity {activity_id} (toggle mode, {starts_at} to {ends_at})");

    // Registration.
    eprintln!("registering {} volunteers, {} at a time", cli.volunteers, cli.register_concurrency);
    let before = cpu.as_ref().map(CpuWatch::read);
    let sms = match cli.sms_sink {
        Some(addr) => Some(sms_sink::SmsSink::start(addr).await?),
        None => None,
    };
    let (volunteers, tally, wall) =
        sim::register(&api, run, cli.volunteers as usize, cli.register_concurrency as usize, sms.as_ref(), &stop)
            .await?;
    if let Some(unexpected) = sms.as_ref().map(sms_sink::SmsSink::unexpected).filter(|n| *n > 0) {
        eprintln!("the SMS sink got {unexpected} message(s) no registration waited for");
    }
    let mut registration = Phase::new("registration", None);
    registration.add(tally, wall, 0, sampler.as_ref().map(RssSampler::take_peak));
    if let (Some(cpu), Some(before)) = (&cpu, before) {
        registration.add_cpu(&before.until(&cpu.read()));
    }
    eprintln!("registered {} of {} in {:.1} s", volunteers.len(), cli.volunteers, wall.as_secs_f64());
    let registered = volunteers.len();

    let mut phases = vec![registration];
    let mut screen_report = None;
    let mut boards_report = None;
    let mut reads_report = None;
    if registered == 0 {
        eprintln!("no volunteer could register: skipping the scans");
    } else if !stop.interrupted() {
        let screen = CodeScreen::start(api.clone(), Arc::clone(&staff), activity_id).await?;
        let plan = ScanPlan {
            volunteers: volunteers.into(),
            concurrency,
            location: use_location.then_some(EVENT_AT),
            pacer: (cli.rate > 0).then(|| Arc::new(sim::Pacer::new(cli.rate))),
        };
        let boards = match cli.boards {
            0 => None,
            n => {
                let boards = boards::Boards::open(&base, Arc::clone(&staff), activity_id, n as usize).await?;
                eprintln!("{n} boards watching activity {activity_id}");
                Some(boards)
            }
        };
        let readers = match cli.public_reads {
            0 => None,
            rate => Some(readers::PublicReaders::start(&base, rate)?),
        };
        let scan_phases = scan(&api, &plan, &screen, &stop, cli.duration, sampler.as_ref(), cpu.as_ref()).await?;
        if let Some(readers) = readers {
            reads_report = Some(readers.stop().await);
        }
        screen_report = Some(screen.stop().await);
        if let Some(boards) = boards {
            boards_report = Some(boards.close().await);
        }
        phases.extend(scan_phases);
    }

    let server = match (cli.pid, sampler) {
        (Some(pid), Some(sampler)) => {
            let gone = sampler.process_gone();
            let peak = phases.iter().filter_map(|p| p.peak_rss_kb).max().unwrap_or(0).max(sampler.stop().await);
            let vm_hwm = rss::read_status_kb(pid, "VmHWM").ok();
            Some(ServerMemory {
                pid,
                rss_at_start_mb: kb_to_mb(rss_at_start.unwrap_or(0)),
                peak_rss_mb: kb_to_mb(peak),
                vm_hwm_mb: vm_hwm.map(kb_to_mb),
                // The sampler may not have looked since the process went.
                exited_during_run: gone || vm_hwm.is_none(),
            })
        }
        _ => None,
    };

    let summary = Summary {
        base_url: base,
        run_id: run.short(),
        organisation_id,
        activity_id,
        volunteers_requested: cli.volunteers,
        volunteers_registered: registered,
        concurrency: cli.concurrency,
        rate: cli.rate,
        duration_secs: cli.duration,
        location: use_location,
        interrupted: stop.interrupted(),
        code_screen: screen_report,
        boards: boards_report,
        public_reads: reads_report,
        phases: phases.into_iter().map(Phase::report).collect(),
        server,
    };
    print!("{}", render(&summary));
    if cli.json {
        println!("{}", serde_json::to_string(&summary).context("cannot encode the summary as JSON")?);
    }
    Ok(())
}

/// The scan rounds: arrivals then departures, or alternating rounds until `duration`.
async fn scan(
    api: &Api,
    plan: &ScanPlan,
    screen: &CodeScreen,
    stop: &Arc<Stop>,
    duration: u64,
    sampler: Option<&RssSampler>,
    cpu: Option<&CpuWatch>,
) -> Result<Vec<Phase>> {
    let sustained = duration > 0;
    let started = Instant::now();
    eprintln!(
        "scanning: {} volunteers, {} at a time, {}",
        plan.volunteers.len(),
        plan.concurrency,
        if sustained { format!("alternating rounds for {duration} s") } else { "arrivals then departures".to_owned() }
    );
    if sustained {
        stop.set_deadline(started + Duration::from_secs(duration));
    }
    let mut arrivals = Phase::new("arrivals", Some(api::ScanOutcome::CheckedIn));
    let mut departures = Phase::new("departures", Some(api::ScanOutcome::CheckedOut));
    let mut whole = Phase::new(format!("sustained ({duration} s)"), None);
    if sustained {
        let before = cpu.map(CpuWatch::read);
        let run = sim::scan_continuous(api, plan, &screen.current, stop).await?;
        let peak = sampler.map(RssSampler::take_peak);
        // Arrivals and departures interleave: only the whole run's CPU is meaningful.
        if let (Some(cpu), Some(before)) = (cpu, before) {
            whole.add_cpu(&before.until(&cpu.read()));
        }
        let total = (run.arrivals.requests + run.departures.requests).max(1) as f64;
        // Arrivals and departures interleave here; each phase is charged its share of the time.
        let share = |t: &stats::Tally| run.wall.mul_f64(t.requests as f64 / total);
        let (a_wall, d_wall) = (share(&run.arrivals), share(&run.departures));
        whole.add(run.arrivals.clone(), Duration::ZERO, 0, peak);
        whole.add(run.departures.clone(), Duration::ZERO, run.rounds, None);
        arrivals.add(run.arrivals, a_wall, run.rounds.div_ceil(2), peak);
        departures.add(run.departures, d_wall, run.rounds / 2, peak);
        whole.wall = started.elapsed();
        eprintln!("{:.0} s: {} rounds begun, {} scans", started.elapsed().as_secs_f64(), run.rounds, total as u64);
        return Ok(vec![arrivals, departures, whole]);
    }
    // One arrival round, then one departure round, each over the whole crowd.
    for (expected, phase) in
        [(api::ScanOutcome::CheckedIn, &mut arrivals), (api::ScanOutcome::CheckedOut, &mut departures)]
    {
        if stop.now() {
            break;
        }
        let before = cpu.map(CpuWatch::read);
        let r = sim::scan_round(api, plan, &screen.current, stop).await?;
        let peak = sampler.map(RssSampler::take_peak);
        if let (Some(cpu), Some(before)) = (cpu, before) {
            phase.add_cpu(&before.until(&cpu.read()));
        }
        let label = if expected == api::ScanOutcome::CheckedIn { "arrivals" } else { "departures" };
        let (n, secs, ok) = (r.tally.requests, r.wall.as_secs_f64(), r.tally.accepted);
        let cut = if r.complete { "" } else { " (cut short)" };
        eprintln!("{label}: {n} scans in {secs:.1} s, {ok} accepted{cut}");
        let no_answer = r.tally.requests > 0 && r.tally.latencies_us.is_empty();
        phase.add(r.tally, r.wall, 1, peak);
        if no_answer {
            eprintln!("the server answered none of the round's scans: stopping");
            break;
        }
    }
    Ok(vec![arrivals, departures])
}

/// The human summary: a table with one row per phase, then the details.
fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nHourmark load test: {}, activity {}, {} of {} volunteers registered, concurrency {}, {}, {}, location {}{}",
        s.base_url,
        s.activity_id,
        s.volunteers_registered,
        s.volunteers_requested,
        s.concurrency,
        if s.rate == 0 {
            "closed loop (as fast as answered)".to_owned()
        } else {
            format!("open loop at {} scans/s", s.rate)
        },
        if s.duration_secs == 0 {
            "one arrival and one departure round".to_owned()
        } else {
            format!("{} s sustained", s.duration_secs)
        },
        if s.location { "on" } else { "off" },
        if s.interrupted { " (interrupted)" } else { "" },
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:>6} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "phase",
        "rounds",
        "requests",
        "accepted",
        "accepted/s",
        "answered/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "transport",
        "peak RSS"
    );
    for p in &s.phases {
        let lat =
            |f: fn(&stats::Latency) -> f64| p.latency_ms.as_ref().map_or("-".to_owned(), |l| format!("{:.2}", f(l)));
        let _ = writeln!(
            out,
            "{:<20} {:>6} {:>9} {:>9} {:>10.1} {:>10.1} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
            p.name,
            if p.rounds == 0 { "-".to_owned() } else { p.rounds.to_string() },
            p.requests,
            p.accepted,
            p.accepted_per_sec,
            p.answered_per_sec,
            lat(|l| l.p50),
            lat(|l| l.p95),
            lat(|l| l.p99),
            lat(|l| l.max),
            p.transport_errors,
            p.peak_rss_mb.map_or("-".to_owned(), |mb| format!("{mb:.1} MB")),
        );
    }
    let _ = writeln!(out);
    for p in &s.phases {
        let mut notes = Vec::new();
        if !p.refusals.is_empty() {
            let codes: Vec<String> = p.refusals.iter().map(|(c, n)| format!("{c} {n}")).collect();
            notes.push(format!("refused: {}", codes.join(", ")));
        }
        if !p.transport_error_kinds.is_empty() {
            let kinds: Vec<String> = p.transport_error_kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            notes.push(format!("no answer: {}", kinds.join(", ")));
        }
        if p.unexpected_outcome > 0 {
            notes.push(format!(
                "{} accepted scans went the other way (checked in {}, checked out {})",
                p.unexpected_outcome, p.checked_in, p.checked_out
            ));
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "{}: {}", p.name, notes.join("; "));
        }
    }
    for p in s.phases.iter().filter(|p| !p.cpu.is_empty()) {
        let shares: Vec<String> = p
            .cpu
            .iter()
            .map(|c| match c.us_per_accepted {
                Some(us) => format!("{} {us:.0} µs ({:.2} cores)", c.name, c.cores),
                None => format!("{} {:.1} s ({:.2} cores)", c.name, c.cpu_secs, c.cores),
            })
            .collect();
        let together: f64 = p.cpu.iter().filter_map(|c| c.us_per_accepted).sum();
        let _ = writeln!(
            out,
            "{}: CPU per accepted request: {}{}",
            p.name,
            shares.join(", "),
            if p.accepted > 0 { format!("; together {together:.0} µs") } else { String::new() },
        );
    }
    if s.phases.iter().any(|p| p.refusals.contains_key("repeat_scan")) {
        let _ = writeln!(
            out,
            "hint: repeat_scan means a scan came within the server's repeat guard of the previous one; \
             run the server with HOURMARK_REPEAT_SCAN_GUARD_SECS=0 to measure back-to-back rounds"
        );
    }
    if let Some(c) = &s.code_screen {
        let _ = writeln!(
            out,
            "code screen: {} fetches, {} rotations, {} failed fetches",
            c.fetches, c.rotations, c.failures
        );
    }
    if let Some(b) = &s.boards {
        let _ = writeln!(
            out,
            "boards: {} of {} connected, {} scans pushed ({} per board), {} resyncs, {} snapshots, {} failures{}",
            b.connected,
            b.boards,
            b.scans_pushed,
            b.scans_pushed / (b.connected.max(1) as u64),
            b.resyncs,
            b.snapshots,
            b.failures,
            b.delay_ms.as_ref().map_or(String::new(), |d| format!(
                "; first scan of an event to board p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                d.p50, d.p99, d.max
            )),
        );
    }
    if let Some(r) = &s.public_reads {
        let _ = writeln!(
            out,
            "public board: {} reads sent at {}/s ({} not sent: {} outstanding), {} answered 200 ({} bytes a page), {} failed{}",
            r.requests,
            r.rate,
            r.not_sent,
            readers::IN_FLIGHT,
            r.ok,
            r.page_bytes,
            r.failures,
            r.latency_ms.as_ref().map_or(String::new(), |d| format!(
                "; from scheduled time p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                d.p50, d.p99, d.max
            )),
        );
    }
    if let Some(m) = &s.server {
        let _ = writeln!(
            out,
            "server pid {}: RSS {:.1} MB at start, peak {:.1} MB sampled, VmHWM {}{}",
            m.pid,
            m.rss_at_start_mb,
            m.peak_rss_mb,
            m.vm_hwm_mb.map_or("unavailable".to_owned(), |mb| format!("{mb:.1} MB")),
            if m.exited_during_run { " (the process exited during the run)" } else { "" },
        );
    }
    let _ =
        writeln!(out, "latency: send to last byte of the answer, over every HTTP answer; answered = status below 500");
    out
}
