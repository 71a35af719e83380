//! The real `hourmark` binary as a child process, and the scanning event the kill and
//! fault tests drive through it. Shared so that every test that kills, starves or cuts
//! off the server starts it, and sets up its event, the same way.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use hourmark_tests::TEST_QR_KEYS;
use serde_json::{Value, json};
use uuid::Uuid;

/// The `hourmark` binary built next to this test binary.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let bin = dir.join("hourmark");
    assert!(bin.exists(), "{} is missing: build the workspace first (the README's test command does)", bin.display());
    bin
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The bootstrap token every binary under test is started with.
pub fn bootstrap_token() -> String {
    format!("hm_{}", "b".repeat(43))
}

/// A command for the server on `database_url`, listening on `port`, with the test keys,
/// no Redis (add it with `HOURMARK_REDIS_URL`), no repeat-scan guard (a burst toggles
/// in and out), no scan rate limit (override either with `.env`), and codes that stay
/// valid for minutes (a burst outlives the 15 s default, and its clients scan one code).
pub fn server_command(database_url: &str, port: u16, data_dir: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(server_binary());
    configure_server(&mut command, database_url, port, data_dir);
    command
}

/// Gives `command` (which runs the server, possibly through a wrapper) the environment
/// [`server_command`] describes.
pub fn configure_server(
    command: &mut tokio::process::Command,
    database_url: &str,
    port: u16,
    data_dir: &std::path::Path,
) {
    command
        .env("HOURMARK_LISTEN", format!("127.0.0.1:{port}"))
        .env("HOURMARK_DATABASE_URL", database_url)
        .env("HOURMARK_QR_KEYS", TEST_QR_KEYS)
        .env("HOURMARK_PII_KEYS", hourmark_tests::TEST_PII_KEYS)
        .env("HOURMARK_PII_LOOKUP_KEY", hourmark_tests::TEST_PII_LOOKUP_KEY)
        .env("HOURMARK_BOOTSTRAP_TOKEN", bootstrap_token())
        .env("HOURMARK_STAFF_ORIGIN", hourmark_tests::staff_origin().as_str())
        .env("HOURMARK_DATA_DIR", data_dir)
        .env("HOURMARK_REPEAT_SCAN_GUARD_SECS", "0")
        .env("HOURMARK_CODE_WINDOW_SECS", "300")
        .env("HOURMARK_RATE_SCANS_PER_VOLUNTEER_PER_MINUTE", "0")
        .env("HOURMARK_LOG", "warn")
        .env_remove("HOURMARK_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
}

/// A fresh data folder for one server (its generated files), under the system's temp dir.
pub fn data_dir(purpose: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hourmark-{purpose}-{}", Uuid::new_v4().simple()))
}

/// A running server process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// The child.
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl ServerProcess {
    /// Spawns `command` (from [`server_command`] on `port`) and waits until it answers
    /// `/healthz`.
    pub async fn start(mut command: tokio::process::Command, port: u16) -> Self {
        let child = command.spawn().expect("server starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = hourmark_tests::http_client();
        for _ in 0..600 {
            if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Self { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }
}

/// An activity under way with its code and its registered volunteers.
#[derive(Debug, Clone)]
pub struct ScanEvent {
    /// The code's URL, as a phone scans it.
    pub url: String,
    /// (volunteer id, bearer token) of each volunteer.
    pub volunteers: Vec<(i64, String)>,
    /// The administrator's bearer token.
    pub admin: String,
    /// The activity's id.
    pub activity_id: i64,
}

/// Sets up, through the API of the server at `base` (started with [`bootstrap_token`]),
/// the administrator, an organisation, an activity under way now and `volunteers`
/// registered volunteers.
pub async fn scan_event(base: &str, volunteers: usize) -> ScanEvent {
    let client = hourmark_tests::http_client();
    let post = |path: &str, bearer: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        async move {
            let r = request.send().await.expect("sent");
            assert!(r.status().is_success(), "setup call failed: {}", r.status());
            r.json::<Value>().await.expect("json")
        }
    };
    let admin =
        post("/api/v1/bootstrap", None, json!({"token": bootstrap_token(), "name": "管理员", "login": "admin"})).await;
    let start = post("/api/v1/invites/passkey/start", None, json!({"invite": admin["invite"]["token"]})).await;
    let credential = hourmark_tests::register(&mut hourmark_tests::authenticator(), &start);
    let admin = post(
        "/api/v1/invites/passkey/finish",
        None,
        json!({"ceremony_id": start["ceremony_id"], "credential": credential}),
    )
    .await;
    let admin = admin["access_token"].as_str().expect("token").to_owned();
    let org = post("/api/v1/organisations", Some(&admin), json!({"name": "压力测试", "region_code": "530102"})).await;
    let now = chrono::Utc::now();
    let activity = post(
        "/api/v1/activities",
        Some(&admin),
        json!({
            "organisation_id": org["id"], "name": "大型活动", "category": "large_event", "recipients": "市民",
            "content": "引导", "address": "昆明", "location": {"lat": 25.0, "lng": 102.7}, "radius_m": 1000,
            "starts_at": (now - chrono::Duration::minutes(10)).to_rfc3339(),
            "ends_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
        }),
    )
    .await;
    let activity_id = activity["id"].as_i64().expect("id");
    let code = client
        .get(format!("{base}/api/v1/activities/{activity_id}/code"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("code")
        .json::<Value>()
        .await
        .expect("json");
    let url = code["url"].as_str().expect("url").to_owned();

    let mut registered = Vec::new();
    for i in 0..volunteers {
        let body = hourmark_tests::registration(
            &format!("志愿者{i}"),
            &format!("139{:08}", i),
            &hourmark_tests::next_resident_id(),
        );
        let v = post("/mp/v1/volunteers", None, body).await;
        registered
            .push((v["volunteer"]["id"].as_i64().expect("id"), v["access_token"].as_str().expect("t").to_owned()));
    }
    ScanEvent { url, volunteers: registered, admin, activity_id }
}

/// The body of a scan of `url` with `nonce`, as the phone sends it (and resends it,
/// unchanged but for the time, when it retries).
pub fn scan_body(url: &str, nonce: Uuid) -> Value {
    json!({"code": url, "nonce": nonce, "client_time": chrono::Utc::now().to_rfc3339(), "device_id": "d"})
}
