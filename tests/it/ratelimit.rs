//! Rate limits: 429 with Retry-After, nothing written, windows reset, shared across
//! instances through Redis.

use std::sync::Arc;

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, TestDatabase, next_resident_id, registration};
use serde_json::json;
use uuid::Uuid;

use crate::event;

async fn limited(backend: Backend, database: Arc<TestDatabase>, prefix: &str) -> TestApp {
    TestApp::spawn_with(backend, database, prefix.to_owned(), |c| {
        c.rate_registrations_per_minute = 3;
        c.rate_scans_per_volunteer_per_minute = 2;
        // Setting up staff takes five (bootstrap, then two passkey enrolments of two calls).
        c.rate_logins_per_minute = 5;
        c.dev_login = true;
    })
    .await
}

async fn limits_answer_429_and_reset(backend: Backend) {
    let database = Arc::new(TestDatabase::create(backend).await);
    let app = limited(backend, database, &Uuid::new_v4().simple().to_string()).await;
    // The clock sits at the start of a minute, so the window is whole.
    let e = event(&app, "toggle").await; // one registration
    app.volunteer("二号", "13500000002").await;
    app.volunteer("三号", "13500000003").await;
    let refused = app.post("/mp/v1/volunteers", None, registration("四号", "13500000004", &next_resident_id())).await;
    refused.expect_problem(429, "rate_limited");
    let retry_after = app
        .client
        .post(app.url("/mp/v1/volunteers"))
        .json(&registration("四号", "13500000004", &next_resident_id()))
        .send()
        .await
        .expect("sent");
    assert_eq!(retry_after.headers()["retry-after"], "60");
    app.advance(Duration::seconds(60));
    // Nothing was written by the refusals: the phone is free.
    app.post("/mp/v1/volunteers", None, registration("四号", "13500000004", &next_resident_id()))
        .await
        .expect_status(201);

    // Scans: per volunteer, not recorded when refused, others unaffected.
    let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let first_nonce = Uuid::new_v4();
    let first = app.scan_with_nonce(&e.volunteer, &url, first_nonce).await;
    first.expect_status(200);
    app.scan(&e.volunteer, &url).await.expect_problem(409, "repeat_scan");
    app.scan(&e.volunteer, &url).await.expect_problem(429, "rate_limited");
    assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
    // Over the limit, a retry of a recorded scan still gets its original answer.
    let retry = app.scan_with_nonce(&e.volunteer, &url, first_nonce).await;
    assert_eq!(retry.raw, first.raw);
    let (other_id, other) = app.volunteer("五号", "13500000005").await;
    app.scan(&other, &url).await.expect_status(200);
    assert_eq!(app.scans_recorded(other_id).await, 1);

    // Logins per client address (a fresh window: the clock moved on above).
    for _ in 0..5 {
        app.post("/mp/v1/login/dev", None, json!({"phone": "13500000005"})).await.expect_status(200);
    }
    app.post("/mp/v1/login/dev", None, json!({"phone": "13500000005"})).await.expect_problem(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_429_and_reset_sqlite() {
    limits_answer_429_and_reset(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_429_and_reset_postgres() {
    limits_answer_429_and_reset(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_share_the_counts() {
    let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let prefix = Uuid::new_v4().simple().to_string();
    let a = limited(Backend::Postgres, database.clone(), &prefix).await;
    let b = limited(Backend::Postgres, database, &prefix).await;
    a.post("/mp/v1/volunteers", None, registration("甲", "13500000011", &next_resident_id())).await.expect_status(201);
    b.post("/mp/v1/volunteers", None, registration("乙", "13500000012", &next_resident_id())).await.expect_status(201);
    a.post("/mp/v1/volunteers", None, registration("丙", "13500000013", &next_resident_id())).await.expect_status(201);
    b.post("/mp/v1/volunteers", None, registration("丁", "13500000014", &next_resident_id()))
        .await
        .expect_problem(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let database = Arc::new(TestDatabase::create(Backend::Sqlite).await);
    let app = TestApp::spawn_with(Backend::Sqlite, database, Uuid::new_v4().simple().to_string(), |c| {
        c.rate_registrations_per_minute = 1;
        c.trust_forwarded_for = true;
    })
    .await;
    let register = |phone: &'static str, forwarded: &'static str| {
        app.client
            .post(app.url("/mp/v1/volunteers"))
            .header("x-forwarded-for", forwarded)
            .json(&registration("甲", phone, &next_resident_id()))
            .send()
    };
    // The proxy appends the real client last; what the client itself claims comes first.
    assert_eq!(register("13500000021", "10.9.9.9, 203.0.113.1").await.expect("sent").status().as_u16(), 201);
    assert_eq!(register("13500000022", "203.0.113.2").await.expect("sent").status().as_u16(), 201);
    assert_eq!(register("13500000023", "10.9.9.9, 203.0.113.1").await.expect("sent").status().as_u16(), 429);
    // A last hop that does not parse is not skipped in favour of what the client wrote.
    assert_eq!(register("13500000024", "203.0.113.9, unknown").await.expect("sent").status().as_u16(), 201);
    assert_eq!(register("13500000025", "203.0.113.8, garbage").await.expect("sent").status().as_u16(), 429);
}

/// A scan is counted with its presence read; one refused before that read (here, a code
/// that is not ours) is counted on its own, so it cannot be used to scan without limit.
async fn scans_refused_before_any_presence_count_too(backend: Backend) {
    let database = Arc::new(TestDatabase::create(backend).await);
    let app = limited(backend, database, &Uuid::new_v4().simple().to_string()).await;
    let e = event(&app, "toggle").await;
    for _ in 0..2 {
        app.scan(&e.volunteer, "https://example.com/不是签到码").await.expect_problem(422, "code_unreadable");
    }
    let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&e.volunteer, &url).await.expect_problem(429, "rate_limited");
    app.scan(&e.volunteer, &url).await.expect_problem(429, "rate_limited");
    assert_eq!(app.scans_recorded(e.volunteer_id).await, 2, "the two refusals, nothing over the limit");
    // The next window starts afresh, on this instance too.
    app.advance(Duration::seconds(60));
    let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&e.volunteer, &url).await.expect_status(200);
    assert_eq!(app.scans_recorded(e.volunteer_id).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_refused_before_any_presence_count_too_sqlite() {
    scans_refused_before_any_presence_count_too(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_refused_before_any_presence_count_too_postgres() {
    scans_refused_before_any_presence_count_too(Backend::Postgres).await;
}

/// Two instances count one volunteer's scans together: the instance that has not refused
/// them yet refuses from the shared count, and a retry there still gets its first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_count_a_volunteers_scans_together() {
    let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
    let prefix = Uuid::new_v4().simple().to_string();
    let a = limited(Backend::Postgres, database.clone(), &prefix).await;
    let b = limited(Backend::Postgres, database, &prefix).await;
    let e = event(&a, "toggle").await;
    let url = a.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    let nonce = Uuid::new_v4();
    let first = a.scan_with_nonce(&e.volunteer, &url, nonce).await;
    first.expect_status(200);
    b.scan(&e.volunteer, &url).await.expect_problem(409, "repeat_scan");
    a.scan(&e.volunteer, &url).await.expect_problem(429, "rate_limited");
    b.scan(&e.volunteer, &url).await.expect_problem(429, "rate_limited");
    assert_eq!(a.scans_recorded(e.volunteer_id).await, 2);
    assert_eq!(b.scan_with_nonce(&e.volunteer, &url, nonce).await.raw, first.raw);
}
