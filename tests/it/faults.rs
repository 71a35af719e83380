//! Faults under a scan burst, on the real binary: the database restarted, Redis killed,
//! the database slowed down. What must hold through each: no scan the server answered 200
//! is lost or counted twice, a scan it could not record is answered 503 `unavailable`
//! (so the phone retries with the same nonce), every answer comes within a bound, and the
//! server serves again by itself once the fault is gone.
//!
//! The clients retry a scan with its own nonce, as the phone does, until it is answered
//! 200: so every scan a client started ends acknowledged, and the database must then hold
//! exactly the acknowledged scans.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hourmark_tests::{Backend, TestDatabase};
use serde_json::Value;
use uuid::Uuid;

use crate::binary::{
    ScanEvent, ServerProcess, configure_server, free_port, scan_body, scan_event, server_binary, server_command,
};

/// The longest a scan may go unanswered, whatever the fault. With the database away, a scan
/// waits for a free batch slot and then for its own batch, each given up after the store's
/// 5 s wait for a connection; 20 s leaves room for a busy CI machine and is still well
/// short of "the server hangs".
const ANSWER_BOUND: Duration = Duration::from_secs(20);

/// How long a client keeps retrying its last scan after the burst is stopped.
const SETTLE: Duration = Duration::from_secs(30);

/// One answer (or the lack of one) as a client saw it.
#[derive(Debug, Clone)]
struct Answered {
    /// When it arrived, from the start of the burst.
    at: Duration,
    latency: Duration,
    /// The HTTP status; 0 when nothing came within [`ANSWER_BOUND`], 1 for a failed
    /// connection.
    status: u16,
    /// The problem code of a refusal.
    code: String,
}

#[derive(Debug, Clone)]
struct Ack {
    volunteer_id: i64,
    nonce: Uuid,
    body: Vec<u8>,
}

/// Closed-loop clients, one per volunteer, each scanning as fast as answers come.
struct Burst {
    started: Instant,
    answers: Arc<Mutex<Vec<Answered>>>,
    acks: Arc<Mutex<Vec<Ack>>>,
    abandoned: Arc<Mutex<Vec<(i64, Uuid)>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Burst {
    fn start(base: &str, event: &ScanEvent) -> Self {
        let client = hourmark_tests::http_client();
        let started = Instant::now();
        let burst = Self {
            started,
            answers: Arc::default(),
            acks: Arc::default(),
            abandoned: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        let mut tasks = Vec::new();
        for (volunteer_id, token) in event.volunteers.clone() {
            let (client, url, base) = (client.clone(), event.url.clone(), base.to_owned());
            let (answers, acks, abandoned, stop) =
                (burst.answers.clone(), burst.acks.clone(), burst.abandoned.clone(), burst.stop.clone());
            let volunteer_id: i64 = volunteer_id;
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let nonce = Uuid::new_v4();
                    let mut stopped_at: Option<Instant> = None;
                    // The same nonce until it is acknowledged, as the phone retries.
                    loop {
                        let sent = Instant::now();
                        let outcome = tokio::time::timeout(ANSWER_BOUND, async {
                            let response = client
                                .post(format!("{base}/mp/v1/scans"))
                                .bearer_auth(&token)
                                .json(&scan_body(&url, nonce))
                                .send()
                                .await?;
                            let status = response.status().as_u16();
                            let body = response.bytes().await?;
                            Ok::<_, reqwest::Error>((status, body))
                        })
                        .await;
                        let (status, body) = match outcome {
                            Err(_) => (0, Default::default()),
                            Ok(Err(_)) => (1, Default::default()),
                            Ok(Ok(answer)) => answer,
                        };
                        let code = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v["code"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                        answers.lock().expect("lock").push(Answered {
                            at: started.elapsed(),
                            latency: sent.elapsed(),
                            status,
                            code,
                        });
                        if status == 200 {
                            acks.lock().expect("lock").push(Ack { volunteer_id, nonce, body: body.to_vec() });
                            break;
                        }
                        if status >= 400 && status != 503 {
                            // A refusal is final: the phone shows it and does not retry.
                            break;
                        }
                        if stop.load(Ordering::Relaxed)
                            && stopped_at.get_or_insert_with(Instant::now).elapsed() > SETTLE
                        {
                            abandoned.lock().expect("lock").push((volunteer_id, nonce));
                            break;
                        }
                        // A phone backs off a little before retrying.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }));
        }
        Self { tasks, ..burst }
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn acks(&self) -> usize {
        self.acks.lock().expect("lock").len()
    }

    /// Answers arrived at or after `from` (burst time) that satisfy `which`.
    fn count_since(&self, from: Duration, which: impl Fn(&Answered) -> bool) -> usize {
        self.answers.lock().expect("lock").iter().filter(|a| a.at >= from && which(a)).count()
    }

    /// Polls until `enough` holds, or panics with `what` after `within`.
    async fn wait_for(&self, within: Duration, what: &str, enough: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + within;
        while !enough(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}; answers so far: {}", self.summary());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Answers by status and code, each with its count and the time of the last one.
    fn summary(&self) -> String {
        let mut by: std::collections::BTreeMap<(u16, String), (usize, Duration)> = Default::default();
        for a in self.answers.lock().expect("lock").iter() {
            let entry = by.entry((a.status, a.code.clone())).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(a.at);
        }
        format!("{by:?} at {:?}", self.now())
    }

    /// Stops starting new scans and waits until every client's last scan is settled.
    async fn finish(&mut self) -> (Vec<Answered>, Vec<Ack>, Vec<(i64, Uuid)>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            task.await.expect("client task");
        }
        (
            std::mem::take(&mut *self.answers.lock().expect("lock")),
            std::mem::take(&mut *self.acks.lock().expect("lock")),
            std::mem::take(&mut *self.abandoned.lock().expect("lock")),
        )
    }
}

/// Figures for the answers that arrived in `[from, to)`.
#[derive(Debug)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    answers: usize,
}

fn figures(answers: &[Answered], from: Duration, to: Duration) -> Figures {
    let mut latencies: Vec<Duration> =
        answers.iter().filter(|a| a.at >= from && a.at < to && a.status == 200).map(|a| a.latency).collect();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        per_second: latencies.len() as f64 / to.saturating_sub(from).as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        answers: latencies.len(),
    }
}

/// Every acknowledged scan is in the database once, with the answer that was sent; the
/// database holds no accepted scan that was not acknowledged (save those whose client
/// gave up, which may or may not have been committed).
async fn assert_acknowledged_exactly_once(
    database_url: &str,
    event: &ScanEvent,
    acks: &[Ack],
    abandoned: &[(i64, Uuid)],
) {
    let ids: Vec<i64> = event.volunteers.iter().map(|(id, _)| *id).collect();
    let rows: Vec<(i64, Uuid, i16, String)> = if database_url.starts_with("sqlite:") {
        // A database of the test's own: every scan in it is the burst's.
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(database_url).await.expect("database");
        sqlx::query_as("select volunteer_id, client_nonce, answer_status, answer from scan")
            .fetch_all(&mut conn)
            .await
            .expect("scans")
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database_url).await.expect("database");
        sqlx::query_as(
            "select volunteer_id, client_nonce, answer_status, answer from scan where volunteer_id = any($1)",
        )
        .bind(&ids)
        .fetch_all(&mut conn)
        .await
        .expect("scans")
    };
    let mut stored: HashMap<(i64, Uuid), Vec<(i16, String)>> = HashMap::new();
    for (volunteer_id, nonce, status, answer) in rows {
        stored.entry((volunteer_id, nonce)).or_default().push((status, answer));
    }
    let mut acknowledged = std::collections::HashSet::new();
    for ack in acks {
        assert!(acknowledged.insert((ack.volunteer_id, ack.nonce)), "a nonce was acknowledged twice");
        let copies = stored.get(&(ack.volunteer_id, ack.nonce)).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            copies.len(),
            1,
            "acknowledged scan {} of volunteer {} is stored {} times",
            ack.nonce,
            ack.volunteer_id,
            copies.len()
        );
        assert_eq!(copies[0].0, 200);
        assert_eq!(copies[0].1.as_bytes(), ack.body.as_slice(), "the stored answer is the one sent");
    }
    let given_up: std::collections::HashSet<_> = abandoned.iter().copied().collect();
    for (key, copies) in &stored {
        if copies.iter().any(|(status, _)| *status == 200) {
            assert!(
                acknowledged.contains(key) || given_up.contains(key),
                "scan {} of volunteer {} was counted but never acknowledged",
                key.1,
                key.0
            );
        }
    }
}

/// Whether this process runs as root: PostgreSQL refuses to run as root, so its tools are
/// then run as the `postgres` user.
fn running_as_root(probe: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(probe).is_ok_and(|m| m.uid() == 0)
}

/// The folder of PostgreSQL's server programs: `HOURMARK_TEST_PG_BIN`, else the newest
/// Debian cluster version, else whatever `PATH` finds.
fn postgres_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("HOURMARK_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let debian = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|v| v.parse::<u32>().ok()))
        .max();
    newest.map(|v| debian.join(v.to_string()).join("bin")).unwrap_or_default()
}

/// A PostgreSQL cluster of this test's own, so that it can be stopped and started without
/// disturbing the server every other test shares. Trust authentication on 127.0.0.1 and
/// a socket in its own folder; `fsync = off`, since a clean stop flushes everything and
/// the test never cuts power.
struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("hourmark-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        let as_postgres = running_as_root(&dir);
        if as_postgres {
            let chown = std::process::Command::new("chown").arg("postgres").arg(&dir).status().expect("chown");
            assert!(chown.success(), "cannot give the cluster folder to the postgres user");
        }
        let cluster = Self { dir, port: free_port(), as_postgres };
        let data = cluster.dir.join("data");
        cluster
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-A".as_ref(),
                    "trust".as_ref(),
                    "-U".as_ref(),
                    "postgres".as_ref(),
                    "--no-sync".as_ref(),
                ],
            )
            .await;
        cluster.start_again().await;
        cluster
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let program = postgres_bin().join(program);
        let mut command = if self.as_postgres {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            tokio::process::Command::new(program)
        };
        command.stdin(std::process::Stdio::null());
        command
    }

    async fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let output = self.command(program).args(args).output().await.expect("PostgreSQL tools must be installed");
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.display()
        );
        let (data, log) = (self.dir.join("data"), self.dir.join("log"));
        let args: [&std::ffi::OsStr; 9] = [
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
            "-o".as_ref(),
            options.as_ref(),
            "-w".as_ref(),
            "-t".as_ref(),
            "60".as_ref(),
        ];
        let mut all = args.to_vec();
        all.push("start".as_ref());
        self.run("pg_ctl", &all).await;
    }

    /// `pg_ctl stop -m fast`: connections are cut, the cluster shuts down cleanly.
    async fn stop(&self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &["-D".as_ref(), data.as_os_str(), "-m".as_ref(), "fast".as_ref(), "-w".as_ref(), "stop".as_ref()],
        )
        .await;
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let program = postgres_bin().join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            std::process::Command::new(program)
        };
        let _ = command.arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PostgreSQL restarted in the middle of a scan burst: scans during the outage are
/// answered 503 `unavailable` within the bound, the clients' retries with the same nonce
/// succeed once it is back, nothing acknowledged is lost or doubled, and the server
/// serves again without being restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_mid_burst() {
    let postgres = PrivatePostgres::start().await;
    let data_dir = crate::binary::data_dir("faults-pg");
    let port = free_port();
    let mut command = server_command(&postgres.url(), port, &data_dir);
    command
        .env("HOURMARK_REDIS_URL", hourmark_tests::redis_url())
        .env("HOURMARK_REDIS_PREFIX", format!("hourmark-test:{}", Uuid::new_v4().simple()));
    let server = ServerProcess::start(command, port).await;
    let event = scan_event(&server.base, 24).await;

    let mut burst = Burst::start(&server.base, &event);
    burst.wait_for(Duration::from_secs(30), "scans before the outage", |b| b.acks() >= 200).await;

    let down_at = burst.now();
    postgres.stop().await;
    // Down for a few seconds, and at least until the outage has been answered.
    burst
        .wait_for(Duration::from_secs(30), "503 answers during the outage", |b| {
            b.now() >= down_at + Duration::from_secs(3) && b.count_since(down_at, |a| a.status == 503) >= 10
        })
        .await;
    postgres.start_again().await;
    let up_at = burst.now();
    // Served again by itself: fresh scans are acknowledged after the restart.
    burst
        .wait_for(Duration::from_secs(30), "scans after the restart", |b| {
            b.count_since(up_at, |a| a.status == 200) >= 200
        })
        .await;
    let (answers, acks, abandoned) = burst.finish().await;

    let odd: Vec<_> =
        answers.iter().filter(|a| !(a.status == 200 || (a.status == 503 && a.code == "unavailable"))).collect();
    assert!(odd.is_empty(), "answers other than 200 and 503 unavailable: {:?}", &odd[..odd.len().min(5)]);
    assert!(abandoned.is_empty(), "scans never acknowledged after the restart: {}", abandoned.len());
    let slowest = answers.iter().map(|a| a.latency).max().unwrap_or_default();
    let refused = answers.iter().filter(|a| a.status == 503).count();
    let first_after = answers.iter().filter(|a| a.at >= up_at && a.status == 200).map(|a| a.at - up_at).min();
    println!(
        "postgres restart: {} scans acknowledged, {refused} answered 503 during the outage, slowest answer \
         {slowest:?}, first scan acknowledged {first_after:?} after the restart",
        acks.len()
    );
    assert_acknowledged_exactly_once(&postgres.url(), &event, &acks, &abandoned).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A Redis of this test's own, killed and restarted at will (no persistence: a restart
/// comes back empty, as after a crash).
struct PrivateRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let mut redis = Self { port: free_port(), child: None };
        redis.start_again().await;
        redis
    }

    async fn start_again(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not come up");
    }

    /// SIGKILL: Redis gone mid-command, as in a crash.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// Wrong-token bootstrap attempts (counted by the per-address login limit) until one is
/// refused with 429, at most `attempts`; whether one was.
async fn login_limit_refuses(base: &str, attempts: usize) -> bool {
    let client = hourmark_tests::http_client();
    for _ in 0..attempts {
        let answer = client
            .post(format!("{base}/api/v1/bootstrap"))
            .json(&serde_json::json!({"token": format!("hm_{}", "x".repeat(43)), "name": "某人", "login": "intruder"}))
            .send()
            .await
            .expect("answered");
        match answer.status().as_u16() {
            429 => return true,
            401 => {}
            other => panic!("a wrong bootstrap token answered {other}"),
        }
    }
    false
}

/// Redis killed mid-burst and restarted: scanning goes on from the database while it is
/// down (every scan answered 200), nothing acknowledged is lost or doubled, rate limits
/// fail open as `core/src/ratelimit.rs` says, and the figures with Redis down are printed
/// next to those with it up (BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_burst() {
    const LOGINS_PER_MINUTE: usize = 6;
    const PHASE: Duration = Duration::from_secs(4);
    let mut redis = PrivateRedis::start().await;
    let database = TestDatabase::create(Backend::Postgres).await;
    let data_dir = crate::binary::data_dir("faults-redis");
    let port = free_port();
    let mut command = server_command(&database.url, port, &data_dir);
    command
        .env("HOURMARK_REDIS_URL", redis.url())
        .env("HOURMARK_REDIS_PREFIX", "hourmark-test")
        // Counted on every scan, as in production, but never reached.
        .env("HOURMARK_RATE_SCANS_PER_VOLUNTEER_PER_MINUTE", "100000")
        .env("HOURMARK_RATE_LOGINS_PER_MINUTE", LOGINS_PER_MINUTE.to_string());
    let server = ServerProcess::start(command, port).await;
    let event = scan_event(&server.base, 24).await;
    // With Redis up the login limit refuses (within two windows, should a minute turn).
    assert!(login_limit_refuses(&server.base, 2 * LOGINS_PER_MINUTE + 2).await, "the login limit is in force");

    let mut burst = Burst::start(&server.base, &event);
    // Warm-up, then a phase with Redis up.
    burst.wait_for(Duration::from_secs(30), "the burst to start", |b| b.acks() >= 100).await;
    let up_from = burst.now();
    burst.wait_for(PHASE + Duration::from_secs(30), "the phase with Redis up", |b| b.now() >= up_from + PHASE).await;

    redis.kill().await;
    let killed_at = burst.now();
    // The first second after the kill is the transition; the phase after it is measured.
    let down_from = killed_at + Duration::from_secs(1);
    burst
        .wait_for(PHASE + Duration::from_secs(30), "the phase with Redis down", |b| b.now() >= down_from + PHASE)
        .await;
    // Rate limits fail open: far past the limit, no attempt is refused.
    assert!(!login_limit_refuses(&server.base, 3 * LOGINS_PER_MINUTE).await, "with Redis down the limit fails open");
    let down_to = burst.now();

    redis.start_again().await;
    let back_at = burst.now();
    burst
        .wait_for(Duration::from_secs(30), "scans after Redis is back", |b| {
            b.count_since(back_at, |a| a.status == 200) >= 200
        })
        .await;
    let (answers, acks, abandoned) = burst.finish().await;

    let up = figures(&answers, up_from, up_from + PHASE);
    let down = figures(&answers, down_from, down_to);
    println!(
        "redis up:   {:.0} scans/s, p50 {:.1} ms, p99 {:.1} ms ({} scans)",
        up.per_second, up.p50_ms, up.p99_ms, up.answers
    );
    println!(
        "redis down: {:.0} scans/s, p50 {:.1} ms, p99 {:.1} ms ({} scans)",
        down.per_second, down.p50_ms, down.p99_ms, down.answers
    );
    let odd: Vec<_> = answers.iter().filter(|a| a.status != 200).collect();
    assert!(odd.is_empty(), "scans not answered 200 around a Redis outage: {:?}", &odd[..odd.len().min(5)]);
    assert!(down.answers >= 50, "scanning must go on with Redis down: {down:?}");
    assert!(abandoned.is_empty());
    assert_acknowledged_exactly_once(&database.url, &event, &acks, &abandoned).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A slow database, then a stalled one, between the server and PostgreSQL (through a proxy
/// that holds every chunk either way). With 300 ms per chunk (a query costs at least two)
/// scans are still served, only slower; with the database not answering at all they are
/// answered 503 `unavailable` within the bound, not left hanging. Throughout, the server's
/// memory stays bounded (the waiting scans are the clients' in-flight requests, no more),
/// and service returns to full speed when the delay goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_database() {
    const DELAY: Duration = Duration::from_millis(300);
    const SLOW_FOR: Duration = Duration::from_secs(5);
    /// The child's resident memory may not pass this: a few times what it holds at rest
    /// (about 65 MB in a debug build), far below what a queue growing without bound reaches.
    const RSS_BOUND_KB: u64 = 256 * 1024;
    let database = TestDatabase::create(Backend::Postgres).await;
    let mut url = reqwest::Url::parse(&database.url).expect("database URL");
    let upstream = (url.host_str().expect("host").to_owned(), url.port().unwrap_or(5432));
    let proxy = SlowProxy::start(upstream).await;
    url.set_port(Some(proxy.port)).expect("port");
    let data_dir = crate::binary::data_dir("faults-slow");
    let port = free_port();
    // No Redis: the database is the only slow thing.
    let server = ServerProcess::start(server_command(url.as_str(), port, &data_dir), port).await;
    let event = scan_event(&server.base, 48).await;

    let mut burst = Burst::start(&server.base, &event);
    burst.wait_for(Duration::from_secs(30), "scans at full speed", |b| b.acks() >= 200).await;
    let rss_at_rest = rss_of(server.child.id().expect("pid")).expect("the server's memory");
    let rss_peak = Arc::new(AtomicU64::new(rss_at_rest));
    let sampler = tokio::spawn({
        let (pid, peak) = (server.child.id().expect("pid"), rss_peak.clone());
        async move {
            loop {
                if let Some(kb) = rss_of(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    proxy.set_delay(DELAY);
    let slow_from = burst.now();
    burst.wait_for(SLOW_FOR + Duration::from_secs(30), "the slow phase", |b| b.now() >= slow_from + SLOW_FOR).await;
    // Stalled: nothing comes back from the database while this lasts, longer than any
    // scan may wait, so that a scan stuck behind a query in flight is caught.
    proxy.set_delay(Duration::from_secs(3600));
    let stalled_from = burst.now();
    burst
        .wait_for(ANSWER_BOUND + Duration::from_secs(40), "503 answers while the database is stalled", |b| {
            b.now() >= stalled_from + ANSWER_BOUND + Duration::from_secs(2)
                && b.count_since(stalled_from, |a| a.status == 503 && a.code == "unavailable") >= 20
        })
        .await;
    proxy.set_delay(Duration::ZERO);
    let fast_from = burst.now();
    burst
        .wait_for(Duration::from_secs(30), "full speed after the delay goes", |b| {
            b.count_since(fast_from, |a| a.status == 200) >= 200
        })
        .await;
    let (answers, acks, abandoned) = burst.finish().await;
    sampler.abort();
    let rss_peak = rss_peak.load(Ordering::Relaxed);

    let slow = figures(&answers, slow_from, stalled_from);
    let fast = figures(&answers, fast_from, burst.now());
    let refused = answers.iter().filter(|a| a.status == 503).count();
    let slowest = answers.iter().map(|a| a.latency).max().unwrap_or_default();
    println!(
        "slow database: {:.0} scans/s, p50 {:.0} ms, p99 {:.0} ms; stalled: {refused} answered 503; after: {:.0} \
         scans/s; slowest answer {slowest:?}; RSS {rss_at_rest} kB at rest, {rss_peak} kB at peak",
        slow.per_second, slow.p50_ms, slow.p99_ms, fast.per_second
    );
    let odd: Vec<_> =
        answers.iter().filter(|a| !(a.status == 200 || (a.status == 503 && a.code == "unavailable"))).collect();
    assert!(odd.is_empty(), "answers other than 200 and 503 unavailable: {:?}", &odd[..odd.len().min(5)]);
    assert!(slow.answers > 0, "scans are still served, slowly: {slow:?}");
    assert!(rss_peak < RSS_BOUND_KB, "the server grew to {rss_peak} kB");
    assert!(abandoned.is_empty());
    assert_acknowledged_exactly_once(&database.url, &event, &acks, &abandoned).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The resident set size in kB of process `pid`.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A TCP proxy that delays every chunk it forwards, either way, by the current delay.
struct SlowProxy {
    port: u16,
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowProxy {
    async fn start(upstream: (String, u16)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let delay_ms: Arc<AtomicU64> = Arc::default();
        let delay = delay_ms.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect((upstream.0.as_str(), upstream.1)).await else {
                    continue;
                };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::spawn(pump(ri, wo, delay.clone()));
                tokio::spawn(pump(ro, wi, delay.clone()));
            }
        });
        Self { port, delay_ms, task }
    }

    fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Arc<AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        // Held until the delay set *now* has passed since it arrived, so that lowering the
        // delay releases what is held at once.
        let arrived = Instant::now();
        loop {
            let wait = Duration::from_millis(delay.load(Ordering::Relaxed)).saturating_sub(arrived.elapsed());
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Sets the soft file-size limit (`RLIMIT_FSIZE`) of process `pid`, in bytes (`None`: no
/// limit). Past it every write fails as on a full disk: the test's way to fill "the disk"
/// of one process without root or a mount.
async fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let soft = bytes.map_or_else(|| "unlimited".to_owned(), |b| b.to_string());
    let status = tokio::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--fsize={soft}:"))
        .status()
        .await
        .expect("prlimit (util-linux) must be installed");
    assert!(status.success(), "prlimit failed");
}

/// SQLite on a full disk: writes past a file-size limit set on the server mid-burst fail
/// as they would with no space left. Scans are then refused 503 `unavailable` (the phone
/// retries with the same nonce), nothing acknowledged is lost, and once the limit is
/// lifted the server records scans again by itself.
///
/// The server runs with `SIGXFSZ` ignored (an ignored signal stays ignored across
/// `exec`), so a write past the limit fails with `EFBIG` instead of killing the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_disk() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let data_dir = crate::binary::data_dir("faults-full");
    let port = free_port();
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg("trap '' XFSZ; exec \"$0\"").arg(server_binary());
    configure_server(&mut command, &database.url, port, &data_dir);
    let server = ServerProcess::start(command, port).await;
    let pid = server.child.id().expect("pid");
    let event = scan_event(&server.base, 24).await;

    let mut burst = Burst::start(&server.base, &event);
    burst.wait_for(Duration::from_secs(30), "scans before the disk fills", |b| b.acks() >= 200).await;
    // No byte may be written anywhere.
    limit_file_size(pid, Some(0)).await;
    let full_at = burst.now();
    burst
        .wait_for(Duration::from_secs(30), "refusals while the disk is full", |b| {
            b.now() >= full_at + Duration::from_secs(2) && b.count_since(full_at, |a| a.status != 200) >= 20
        })
        .await;
    limit_file_size(pid, None).await;
    let freed_at = burst.now();
    burst
        .wait_for(Duration::from_secs(30), "scans once there is space again", |b| {
            b.count_since(freed_at, |a| a.status == 200) >= 200
        })
        .await;
    let (answers, acks, abandoned) = burst.finish().await;

    let refused = answers.iter().filter(|a| a.status != 200).count();
    println!("sqlite full disk: {} scans acknowledged, {refused} refused while full", acks.len());
    let odd: Vec<_> =
        answers.iter().filter(|a| !(a.status == 200 || (a.status == 503 && a.code == "unavailable"))).collect();
    assert!(odd.is_empty(), "answers other than 200 and 503 unavailable: {:?}", &odd[..odd.len().min(5)]);
    assert!(abandoned.is_empty());
    drop(server);
    assert_acknowledged_exactly_once(&database.url, &event, &acks, &abandoned).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
