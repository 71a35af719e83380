//! The retention job erases expired SMS codes, tokens and staff invites a day after they
//! expired, audits each pass that erased something, and leaves every record alone.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp};
use serde_json::json;

/// `retention_erased` audit events so far.
async fn retention_audits(app: &TestApp) -> i64 {
    let sql = "select count(*) from audit_event where action = 'retention_erased'";
    let url = app.database().url.clone();
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect("count")
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.expect("connect");
            sqlx::query_scalar(sql).fetch_one(&pool).await.expect("count")
        }
    }
}

async fn erases_expired_credentials_and_never_records(backend: Backend) {
    let (app, sms) = crate::sms_login::app_with_sms(backend, |_| {}).await;
    let e = crate::event(&app, "toggle").await;
    let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&e.volunteer, &code).await.expect_status(200);
    app.post("/mp/v1/login/sms/code", None, json!({"phone": "13800001234"})).await.expect_status(200);
    sms.wait_delivered(1).await;
    assert!(sms.last_code("13800001234").is_some());

    // Nothing has been expired for a day yet.
    let erased = app.hourmark.erase_outlived_data().await.expect("erase");
    assert_eq!(erased.total(), 0, "{erased:?}");
    assert_eq!(retention_audits(&app).await, 0, "a pass that erased nothing is not audited");

    // The SMS code (5 minutes) expired more than a day ago.
    app.advance(Duration::days(2));
    let first = app.hourmark.erase_outlived_data().await.expect("erase");
    assert_eq!(first.sms_codes, 1, "{first:?}");
    assert_eq!(first.staff_invites, 0, "invites live 72 hours: {first:?}");

    // Invites (72 hours) and the volunteer's token (30 days here) too, after long enough.
    app.advance(Duration::days(40));
    let second = app.hourmark.erase_outlived_data().await.expect("erase");
    assert_eq!(second.sms_codes, 0);
    assert_eq!(second.staff_invites, 2, "the administrator's and the organiser's: {second:?}");
    assert!(first.access_tokens + second.access_tokens >= 3, "{first:?} {second:?}");
    assert_eq!(retention_audits(&app).await, 2);
    app.get("/mp/v1/me", &e.volunteer).await.expect_problem(401, "unauthenticated");

    // Again: nothing left, nothing audited; the scan is still recorded.
    assert_eq!(app.hourmark.erase_outlived_data().await.expect("erase").total(), 0);
    assert_eq!(retention_audits(&app).await, 2);
    assert_eq!(app.scans_recorded(e.volunteer_id).await, 1, "records are never erased");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_expired_credentials_sqlite() {
    erases_expired_credentials_and_never_records(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_expired_credentials_postgres() {
    erases_expired_credentials_and_never_records(Backend::Postgres).await;
}
