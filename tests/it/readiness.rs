//! `GET /readyz`: ready when the database answers with every migration applied and the
//! cache answers; otherwise 503 `unavailable` naming what is not ready, while `/healthz`
//! keeps answering (the process is alive).

use std::time::Duration;

use hourmark_tests::{Answer, Backend, TestApp, on_both_backends};
use reqwest::Method;
use tokio::sync::watch;
use uuid::Uuid;

/// A TCP relay to Redis that the test can cut: the server's cache then loses its
/// connection and cannot open another (the port is closed), as when Redis goes away.
pub async fn relay_to_redis() -> (String, watch::Sender<bool>) {
    let target = hourmark_tests::redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("redis://{}", listener.local_addr().expect("address"));
    let (cut, mut cut_rx) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = cut_rx.changed() => return, // drops the listener: new connections are refused
                accepted = listener.accept() => {
                    let Ok((mut inbound, _)) = accepted else { return };
                    let target = target.clone();
                    let mut cut_rx = cut_rx.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_rx.changed() => {}
                        }
                    });
                }
            }
        }
    });
    (url, cut)
}

async fn readyz(app: &TestApp) -> Answer {
    app.call(Method::GET, "/readyz", None, None).await
}

async fn a_lost_cache_makes_the_instance_not_ready(backend: Backend) {
    let (redis, cut) = relay_to_redis().await;
    let database = std::sync::Arc::new(hourmark_tests::TestDatabase::create(backend).await);
    let app = TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |config| {
        config.redis_url = Some(redis);
    })
    .await;
    let ready = readyz(&app).await;
    ready.expect_status(200);
    assert_eq!(ready.body["status"], "ready");

    cut.send(true).expect("relay running");
    // The cache notices a lost connection on its next command; wait (real time, not
    // business time) for the probe to see it, a few seconds at most.
    let mut answer = readyz(&app).await;
    for _ in 0..40 {
        if answer.status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = readyz(&app).await;
    }
    answer.expect_problem(503, "unavailable");
    let detail = answer.body["detail"].as_str().expect("detail");
    assert!(detail.contains("cache"), "{detail}");
    assert!(!detail.contains("database") && !detail.contains("migrations"), "only the cache is down: {detail}");
    app.call(Method::GET, "/healthz", None, None).await.expect_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_cache_makes_the_instance_not_ready_sqlite() {
    a_lost_cache_makes_the_instance_not_ready(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_cache_makes_the_instance_not_ready_postgres() {
    a_lost_cache_makes_the_instance_not_ready(Backend::Postgres).await;
}

/// Forgets the newest applied migration behind the server's back, as a database restored
/// from before an upgrade would look.
async fn forget_last_migration(app: &TestApp) -> i64 {
    let url = &app.config.database_url;
    let last = "select max(version) from _sqlx_migrations";
    let forget = "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)";
    match app.backend {
        Backend::Sqlite => {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await.expect("open");
            let version: i64 = sqlx::query_scalar(last).fetch_one(&mut conn).await.expect("read");
            sqlx::query(forget).execute(&mut conn).await.expect("delete");
            version
        }
        Backend::Postgres => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.expect("open");
            let version: i64 = sqlx::query_scalar(last).fetch_one(&mut conn).await.expect("read");
            sqlx::query(forget).execute(&mut conn).await.expect("delete");
            version
        }
    }
}

on_both_backends! {
    async fn a_database_behind_the_builds_migrations_is_not_ready(app: TestApp) {
        readyz(&app).await.expect_status(200);
        let version = forget_last_migration(&app).await;
        let answer = readyz(&app).await;
        answer.expect_problem(503, "unavailable");
        let detail = answer.body["detail"].as_str().expect("detail");
        assert!(detail.contains("migrations") && detail.contains(&version.to_string()), "{detail}");
        assert!(!detail.contains("cache"), "{detail}");
        app.call(Method::GET, "/healthz", None, None).await.expect_status(200);
    }
}
