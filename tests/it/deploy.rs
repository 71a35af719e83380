//! The deployment guide's nginx configuration (docs/deploy.md, "5. nginx"), run as
//! written in front of two instances on one PostgreSQL and one Redis: Debian's nginx,
//! HTTPS with a throw-away certificate, the guide's upstream, headers and locations. Only
//! addresses and file paths are changed, each replacement checked, so a guide that drifts
//! from what works fails here rather than at an installation.
//!
//! What it shows: plain HTTP is sent to HTTPS; an answer's `X-Request-Id` is nginx's
//! `$request_id`, the one in nginx's access log; `/metrics` is refused outside the
//! allowed network; a live board's events pass through unbuffered (a scan at one instance
//! reaches a board streamed through nginx from either); and with one instance stopped,
//! every request still succeeds at the other.
//!
//! Needs `nginx`, `openssl` and `curl` (scripts/test installs nginx); fails, never skips,
//! without them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hourmark_tests::{Backend, TestApp};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::event;

/// The guide's nginx block, as the reader copies it.
fn guide_nginx_block() -> String {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy.md"))
        .expect("docs/deploy.md");
    let section = &guide[guide.find("## 5. nginx").expect("the guide has its nginx section")..];
    let start = section.find("```nginx\n").expect("an nginx block") + "```nginx\n".len();
    let end = section[start..].find("```").expect("the block ends") + start;
    section[start..end].to_owned()
}

/// `text` with `from` replaced by `to`; `from` must be there.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the guide's nginx block no longer has {from:?}: update this test with it");
    text.replace(from, to)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

fn port_of(app: &TestApp) -> u16 {
    app.base_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the instance's port")
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is installed (scripts/test installs Debian's package)")
}

/// nginx running the guide's block in `dir`, until dropped.
struct Nginx {
    child: std::process::Child,
    dir: PathBuf,
    http: u16,
    https: u16,
}

impl Nginx {
    fn start(upstreams: [u16; 2]) -> Self {
        let dir = std::env::temp_dir().join(format!("hourmark-nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("nginx's folder");
        let path = |name: &str| dir.join(name).display().to_string();
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=hm.example.cn", "-keyout", &path("key.pem"), "-out", &path("cert.pem")])
            .output()
            .expect("openssl runs");
        assert!(made.status.success(), "a certificate: {}", String::from_utf8_lossy(&made.stderr));
        let (http, https) = (free_port(), free_port());
        let mut block = guide_nginx_block();
        for (from, to) in [
            ("server 127.0.0.1:8081 ", format!("server 127.0.0.1:{} ", upstreams[0])),
            ("server 127.0.0.1:8082 ", format!("server 127.0.0.1:{} ", upstreams[1])),
            ("listen 80;", format!("listen 127.0.0.1:{http};")),
            ("listen 443 ssl http2;", format!("listen 127.0.0.1:{https} ssl http2;")),
            ("/etc/nginx/tls/hm.example.cn.fullchain.pem", path("cert.pem")),
            ("/etc/nginx/tls/hm.example.cn.key", path("key.pem")),
            ("/var/log/nginx/hourmark.log", path("access.log")),
        ] {
            block = replaced(&block, from, &to);
        }
        // Run as root (CI), the workers would drop to `nobody` and could not enter the
        // private temporary folder for proxy buffers.
        let root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|t| format!("    {t}_temp_path {};\n", path(t)))
            .collect::<String>();
        let conf = format!(
            "{user}worker_processes 1;\nerror_log {error};\npid {pid};\nevents {{ worker_connections 512; }}\n\
             http {{\n{temp}    access_log off;\n{block}\n}}\n",
            user = if root { "user root;\n" } else { "" },
            error = path("error.log"),
            pid = path("nginx.pid"),
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let nginx = nginx_binary();
        let tested = std::process::Command::new(&nginx)
            .args(["-t", "-p", &path(""), "-c", &path("nginx.conf")])
            .output()
            .expect("nginx -t runs");
        assert!(tested.status.success(), "the guide's configuration: {}", String::from_utf8_lossy(&tested.stderr));
        let child = std::process::Command::new(&nginx)
            .args(["-p", &path(""), "-c", &path("nginx.conf"), "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        Self { child, dir, http, https }
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An answer through nginx, by curl (the tests' HTTP client has no TLS): status and
/// headers (lower-cased names).
struct Through {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Through {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

async fn curl(url: &str) -> Through {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "10", "-o", "/dev/null", "-D", "-", url])
        .output()
        .await
        .expect("curl runs");
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Through { status, headers }
}

/// Until nginx answers (it starts in a few milliseconds).
async fn wait_for(nginx: &Nginx) {
    for _ in 0..100 {
        if curl(&format!("https://127.0.0.1:{}/healthz", nginx.https)).await.status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "nginx never answered; its log: {}",
        std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
    );
}

/// A live board's event stream through nginx, read line by line.
struct Board {
    /// Killed when the board is dropped.
    _curl: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Board {
    fn open(url: &str, bearer: &str) -> Self {
        let mut child = Command::new("curl")
            .args(["-skN", "-H", &format!("Authorization: Bearer {bearer}"), "-H", "Accept: text/event-stream", url])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("curl runs");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self { _curl: child, lines }
    }

    /// Whether `event: <name>` arrives within `within`.
    async fn sees(&mut self, name: &str, within: Duration) -> bool {
        let wanted = format!("event: {name}");
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(line))) if line.trim_end() == wanted => return true,
                Ok(Ok(Some(_))) => {}
                _ => return false,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_nginx_serves_two_instances() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|config| config.trust_forwarded_for = true).await;
    let nginx = Nginx::start([port_of(&a), port_of(&b)]);
    wait_for(&nginx).await;
    let https = |path: &str| format!("https://127.0.0.1:{}{path}", nginx.https);

    // Plain HTTP is sent to HTTPS, path kept.
    let plain = curl(&format!("http://127.0.0.1:{}/healthz", nginx.http)).await;
    assert_eq!(plain.status, 308);
    let location = plain.header("location").expect("a location");
    assert!(location.starts_with("https://") && location.ends_with("/healthz"), "{location}");

    // One request id in both logs: nginx's $request_id is the answer's X-Request-Id.
    let ready = curl(&https("/readyz")).await;
    assert_eq!(ready.status, 200, "both instances are ready behind nginx");
    let id = ready.header("x-request-id").expect("the answer names its request").to_owned();
    assert!(id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()), "nginx's id, not one Hourmark made: {id}");
    assert!(ready.header("strict-transport-security").is_some(), "HSTS from the guide");
    // nginx writes its access log line as the request ends; give it a moment.
    let mut logged = false;
    for _ in 0..50 {
        if nginx.access_log().lines().any(|l| l.contains("/readyz") && l.ends_with(&id)) {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(logged, "nginx logged the same id: {}", nginx.access_log());

    // Metrics only from the allowed network.
    assert_eq!(curl(&https("/metrics")).await.status, 403);

    // A board streamed through nginx sees a scan taken at either instance within 2 s:
    // the events pass unbuffered.
    let e = event(&a, "toggle").await;
    let mut board = Board::open(&https(&format!("/api/v1/activities/{}/events", e.activity_id)), &e.organiser);
    assert!(board.sees("ready", Duration::from_secs(10)).await, "the board's stream opens through nginx");
    for instance in [&a, &b] {
        let url =
            instance.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        instance.scan(&e.volunteer, &url).await.expect_status(200);
        assert!(board.sees("scans", Duration::from_secs(2)).await, "the scan reaches the board through nginx in 2 s");
        a.advance(chrono::Duration::minutes(10));
        b.advance(chrono::Duration::minutes(10));
    }
    drop(board);

    // One instance stopped: every request is answered by the other.
    a.stop().await;
    for _ in 0..20 {
        assert_eq!(curl(&https("/healthz")).await.status, 200, "nginx retries the instance still running");
    }
    drop(nginx);
    b.stop().await;
}
