//! A scan the server acknowledged is committed: `kill -9` of the real binary in the middle
//! of a burst loses none of the answers it had already sent.
//!
//! This proves "answered only after commit". Surviving a power cut also needs the commit
//! to reach the disk, which is the engines' setting: PostgreSQL's default
//! `synchronous_commit = on`, and SQLite's `synchronous = FULL` that the store sets.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hourmark_tests::{Backend, TEST_QR_KEYS, TestDatabase};
use serde_json::{Value, json};
use uuid::Uuid;

/// The `hourmark` binary built next to this test binary.
pub fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let bin = dir.join("hourmark");
    assert!(bin.exists(), "{} is missing: build the workspace first (the README's test command does)", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct Ack {
    volunteer_id: i64,
    nonce: Uuid,
    body: Vec<u8>,
}

async fn kill_nine_loses_no_acknowledged_scan(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let data_dir = std::env::temp_dir().join(format!("hourmark-kill-{}", Uuid::new_v4().simple()));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let bootstrap = format!("hm_{}", "b".repeat(43));
    let mut command = tokio::process::Command::new(server_binary());
    command
        .env("HOURMARK_LISTEN", format!("127.0.0.1:{port}"))
        .env("HOURMARK_DATABASE_URL", &database.url)
        .env("HOURMARK_QR_KEYS", TEST_QR_KEYS)
        .env("HOURMARK_PII_KEYS", hourmark_tests::TEST_PII_KEYS)
        .env("HOURMARK_PII_LOOKUP_KEY", hourmark_tests::TEST_PII_LOOKUP_KEY)
        .env("HOURMARK_BOOTSTRAP_TOKEN", &bootstrap)
        .env("HOURMARK_STAFF_ORIGIN", hourmark_tests::staff_origin().as_str())
        .env("HOURMARK_DATA_DIR", &data_dir)
        .env("HOURMARK_REPEAT_SCAN_GUARD_SECS", "0")
        .env("HOURMARK_RATE_SCANS_PER_VOLUNTEER_PER_MINUTE", "0")
        .env("HOURMARK_LOG", "warn")
        .env_remove("HOURMARK_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if backend == Backend::Postgres {
        command
            .env("HOURMARK_REDIS_URL", hourmark_tests::redis_url())
            .env("HOURMARK_REDIS_PREFIX", format!("hourmark-test:{}", Uuid::new_v4().simple()));
    }
    let mut child = command.spawn().expect("server starts");
    let client = hourmark_tests::http_client();
    let mut up = false;
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server did not come up");

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
    let admin = post("/api/v1/bootstrap", None, json!({"token": bootstrap, "name": "管理员", "login": "admin"})).await;
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

    let mut volunteers = Vec::new();
    for i in 0..24 {
        let body = hourmark_tests::registration(
            &format!("志愿者{i}"),
            &format!("139{:08}", i),
            &hourmark_tests::next_resident_id(),
        );
        let v = post("/mp/v1/volunteers", None, body).await;
        volunteers
            .push((v["volunteer"]["id"].as_i64().expect("id"), v["access_token"].as_str().expect("t").to_owned()));
    }

    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let mut tasks = Vec::new();
    for (volunteer_id, token) in volunteers {
        let (client, acks, url, base) = (client.clone(), acks.clone(), url.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            // Bounded: at most 200 scans each, and it stops at the first failed request.
            for _ in 0..200 {
                let nonce = Uuid::new_v4();
                let sent = client
                    .post(format!("{base}/mp/v1/scans"))
                    .bearer_auth(&token)
                    .json(&json!({"code": url, "nonce": nonce, "client_time": chrono::Utc::now().to_rfc3339(), "device_id": "d"}))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                let status = response.status().as_u16();
                let Ok(body) = response.bytes().await else { return };
                if status == 200 {
                    acks.lock().expect("lock").push(Ack { volunteer_id, nonce, body: body.to_vec() });
                }
            }
        }));
    }
    // Let a burst be acknowledged, then kill -9 while scans are still in flight.
    for _ in 0..400 {
        if acks.lock().expect("lock").len() >= 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
    for t in tasks {
        let _ = t.await;
    }
    let acks = std::mem::take(&mut *acks.lock().expect("lock"));
    assert!(acks.len() >= 150, "only {} scans were acknowledged before the kill", acks.len());

    let store = hourmark_core::store::connect(&database.url).await.expect("store reopens");
    for ack in &acks {
        let stored = store.find_scan_answer(ack.volunteer_id, ack.nonce).await.expect("read");
        let stored = stored
            .unwrap_or_else(|| panic!("acknowledged scan {} of volunteer {} was lost", ack.nonce, ack.volunteer_id));
        assert_eq!(stored.status, 200);
        assert_eq!(stored.body.as_bytes(), ack.body.as_slice(), "the stored answer is the one sent");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_no_acknowledged_scan_sqlite() {
    kill_nine_loses_no_acknowledged_scan(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_no_acknowledged_scan_postgres() {
    kill_nine_loses_no_acknowledged_scan(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_subcommand_prepares_an_empty_database_and_bad_config_is_named() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let output = tokio::process::Command::new(server_binary())
        .arg("migrate")
        .env("HOURMARK_DATABASE_URL", &database.url)
        .env("HOURMARK_LOG", "warn")
        .output()
        .await
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let store = hourmark_core::store::connect(&database.url).await.expect("opens");
    assert!(!store.administrator_exists().await.expect("the schema is there"));

    let output = tokio::process::Command::new(server_binary())
        .env("HOURMARK_DATABASE_URL", &database.url)
        .env("HOURMARK_CODE_WINDOW_SECS", "1")
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success(), "a 1-second code window must be refused");
    assert!(String::from_utf8_lossy(&output.stderr).contains("HOURMARK_CODE_WINDOW_SECS"));
}
