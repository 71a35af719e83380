//! Two server instances on one PostgreSQL and one Redis behave as one.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp};

use crate::event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_presence_and_idempotency() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let prefix = a.config.redis_prefix.trim_start_matches("hourmark-test:").to_owned();
    let b = TestApp::spawn_with(Backend::Postgres, a.database(), prefix, |_| {}).await;
    let e = event(&a, "toggle").await;

    // Arrive through instance A, leave through instance B: B knows the volunteer is inside.
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    a.scan(&e.volunteer, &url).await.expect_status(200);
    a.advance(Duration::minutes(30));
    b.advance(Duration::minutes(30));
    let url = b.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let out = b.scan(&e.volunteer, &url).await;
    out.expect_status(200);
    assert_eq!(out.body["outcome"], "checked_out");
    assert_eq!(out.body["minutes_credited"], 30);

    // A retry that lands on the other instance gets the original answer, counted once.
    let nonce = uuid::Uuid::new_v4();
    a.advance(Duration::minutes(5));
    b.advance(Duration::minutes(5));
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let first = a.scan_with_nonce(&e.volunteer, &url, nonce).await;
    first.expect_status(200);
    let retry = b.scan_with_nonce(&e.volunteer, &url, nonce).await;
    assert_eq!(retry.raw, first.raw);
    assert_eq!(a.scans_recorded(e.volunteer_id).await, 3);

    // Racing the same nonce on both instances at once still records one scan: here the
    // instances' locks do not help, the store's unique (volunteer, nonce) does.
    for _ in 0..5 {
        a.advance(Duration::minutes(5));
        b.advance(Duration::minutes(5));
        let before = a.scans_recorded(e.volunteer_id).await;
        let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let nonce = uuid::Uuid::new_v4();
        let (ra, rb) =
            tokio::join!(a.scan_with_nonce(&e.volunteer, &url, nonce), b.scan_with_nonce(&e.volunteer, &url, nonce));
        ra.expect_status(200);
        assert_eq!(ra.raw, rb.raw, "both instances answer identically");
        assert_eq!(a.scans_recorded(e.volunteer_id).await, before + 1);
    }
}
