//! Graceful shutdown of the real binary: on SIGTERM, scans in flight are committed and
//! answered, open board streams end, and the process exits within
//! `HOURMARK_SHUTDOWN_GRACE_SECS` even when a request would never finish.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hourmark_tests::{Backend, TestDatabase};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::binary::{ServerProcess, free_port, scan_body, scan_event, server_command};

/// An acknowledged scan, and when it was sent and answered.
struct Ack {
    volunteer_id: i64,
    nonce: Uuid,
    sent: Instant,
    answered: Instant,
}

/// Sends SIGTERM to the child, as systemd and container runtimes stop a service.
fn terminate(child: &tokio::process::Child) -> Instant {
    let pid = child.id().expect("still running");
    let status = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("kill runs");
    assert!(status.success());
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_burst_answers_and_stores_the_scans_in_flight_and_ends_board_streams() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let data_dir = crate::binary::data_dir("shutdown");
    let port = free_port();
    let mut command = server_command(&database.url, port, &data_dir);
    command.env("HOURMARK_SHUTDOWN_GRACE_SECS", "5");
    let ServerProcess { mut child, base } = ServerProcess::start(command, port).await;
    let client = hourmark_tests::http_client();
    let event = scan_event(&base, 32).await;

    // A live board, open when the signal comes.
    let mut board = client
        .get(format!("{base}/api/v1/activities/{}/events", event.activity_id))
        .bearer_auth(&event.admin)
        .send()
        .await
        .expect("board stream");
    assert_eq!(board.status(), 200);
    let first = board.chunk().await.expect("read").expect("ready");
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));

    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let mut tasks = Vec::new();
    for (volunteer_id, token) in event.volunteers.clone() {
        let (client, acks, url, base) = (client.clone(), acks.clone(), event.url.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            // Each volunteer scans again and again until the server stops answering.
            for _ in 0..500 {
                let nonce = Uuid::new_v4();
                let sent = Instant::now();
                let answer = client
                    .post(format!("{base}/mp/v1/scans"))
                    .bearer_auth(&token)
                    .json(&scan_body(&url, nonce))
                    .send()
                    .await;
                let Ok(response) = answer else { return };
                let status = response.status().as_u16();
                if response.bytes().await.is_err() {
                    return;
                }
                if status == 200 {
                    acks.lock().expect("lock").push(Ack { volunteer_id, nonce, sent, answered: Instant::now() });
                }
            }
        }));
    }
    for _ in 0..500 {
        if acks.lock().expect("lock").len() >= 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled = terminate(&child);

    // The board's stream ends (rather than holding the shutdown up).
    let board_ended =
        tokio::time::timeout(Duration::from_secs(5), async { while let Ok(Some(_)) = board.chunk().await {} }).await;
    assert!(board_ended.is_ok(), "the board stream was still open 5 s after SIGTERM");

    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exited").expect("status");
    let took = signalled.elapsed();
    assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    assert!(took < Duration::from_secs(5), "the drain took {took:?}, more than the 5 s grace");
    for t in tasks {
        let _ = t.await;
    }

    let acks = std::mem::take(&mut *acks.lock().expect("lock"));
    let in_flight = acks.iter().filter(|a| a.sent < signalled && a.answered > signalled).count();
    println!("SIGTERM → exit {took:?}; {} scans acknowledged, {in_flight} of them in flight at the signal", acks.len());
    assert!(in_flight > 0, "no scan was in flight when the signal came: the test proves nothing");
    let store = hourmark_core::store::connect(&database.url).await.expect("store reopens");
    for ack in &acks {
        let stored = store.find_scan_answer(ack.volunteer_id, ack.nonce).await.expect("read");
        assert!(stored.is_some_and(|s| s.status == 200), "acknowledged scan {} was not stored", ack.nonce);
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_holds_the_shutdown_no_longer_than_the_grace() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let data_dir = crate::binary::data_dir("shutdown-bound");
    let port = free_port();
    let mut command = server_command(&database.url, port, &data_dir);
    command.env("HOURMARK_SHUTDOWN_GRACE_SECS", "2");
    let ServerProcess { mut child, .. } = ServerProcess::start(command, port).await;

    // A registration whose body never arrives: its handler waits for it for ever.
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stalled
        .write_all(
            b"POST /mp/v1/volunteers HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
              content-length: 1000\r\n\r\n{\"name\":",
        )
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = terminate(&child);
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exited").expect("status");
    let took = signalled.elapsed();
    println!("SIGTERM → exit {took:?} with a stalled request and a 2 s grace");
    assert!(exit.success(), "{exit:?}");
    assert!(took >= Duration::from_millis(1900), "it waited for the request first: {took:?}");
    assert!(took < Duration::from_secs(4), "it gave up at the grace: {took:?}");
    drop(stalled);
    let _ = std::fs::remove_dir_all(&data_dir);
}
