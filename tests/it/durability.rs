//! A scan the server acknowledged is committed: `kill -9` of the real binary in the middle
//! of a burst loses none of the answers it had already sent.
//!
//! This proves "answered only after commit". Surviving a power cut also needs the commit
//! to reach the disk, which is the engines' setting: PostgreSQL's default
//! `synchronous_commit = on`, and SQLite's `synchronous = FULL` that the store sets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hourmark_tests::{Backend, TestDatabase};
use uuid::Uuid;

use crate::binary::{ServerProcess, free_port, scan_body, scan_event, server_binary, server_command};

struct Ack {
    volunteer_id: i64,
    nonce: Uuid,
    body: Vec<u8>,
}

async fn kill_nine_loses_no_acknowledged_scan(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let data_dir = crate::binary::data_dir("kill");
    let port = free_port();
    let mut command = server_command(&database.url, port, &data_dir);
    if backend == Backend::Postgres {
        command
            .env("HOURMARK_REDIS_URL", hourmark_tests::redis_url())
            .env("HOURMARK_REDIS_PREFIX", format!("hourmark-test:{}", Uuid::new_v4().simple()));
    }
    let ServerProcess { mut child, base } = ServerProcess::start(command, port).await;
    let client = hourmark_tests::http_client();
    let event = scan_event(&base, 24).await;
    let url = event.url;
    let volunteers = event.volunteers;

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
                    .json(&scan_body(&url, nonce))
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
