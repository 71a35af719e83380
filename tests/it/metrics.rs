//! `/metrics`: Prometheus text for the operator's scraper only, counting what happened
//! with closed label sets and nothing personal.

use std::sync::Arc;

use hourmark_tests::{Backend, TestApp, TestDatabase};
use uuid::Uuid;

use crate::event;

const TOKEN: &str = "metrics-scraper-token-for-tests";

async fn scrape(app: &TestApp, bearer: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

/// The value of the first sample line that starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_scans_requests_and_boards_for_the_scraper_only() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let database = Arc::new(TestDatabase::create(backend).await);
        let app = TestApp::spawn_with(backend, database, Uuid::new_v4().simple().to_string(), |c| {
            c.metrics_token = Some(hourmark_server::config::Secret(TOKEN.into()));
        })
        .await;
        let e = event(&app, "toggle").await;
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.scan(&e.volunteer, &url).await.expect_problem(409, "repeat_scan");
        let board = app.open_stream(&format!("/api/v1/activities/{}/events", e.activity_id), Some(&e.organiser)).await;
        // The board's snapshot: computed once, then shared while nothing has happened since.
        for _ in 0..2 {
            let response = app
                .client
                .get(app.url(&format!("/api/v1/activities/{}/board", e.activity_id)))
                .bearer_auth(&e.organiser)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 200);
        }

        // Nobody else: no token, a wrong one, a volunteer's or a staff member's token.
        for bearer in [None, Some("wrong"), Some(e.volunteer.as_str()), Some(e.organiser.as_str())] {
            let (status, body) = scrape(&app, bearer).await;
            assert_eq!(status, 401, "{bearer:?}");
            assert!(body.contains("unauthenticated"), "{body}");
        }
        let (status, text) = scrape(&app, Some(TOKEN)).await;
        assert_eq!(status, 200);
        assert!(sample(&text, r#"hourmark_scans_total{outcome="checked_in"}"#).is_some_and(|v| v >= 1.0), "{text}");
        assert!(sample(&text, r#"hourmark_scans_total{outcome="repeat_scan"}"#).is_some_and(|v| v >= 1.0), "{text}");
        assert!(sample(&text, "hourmark_live_board_connections").is_some_and(|v| v >= 1.0), "{text}");
        assert!(
            text.contains(r#"hourmark_http_requests_total{route="/mp/v1/scans",method="POST",status="200"}"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"hourmark_http_request_duration_seconds_bucket{route="/mp/v1/scans",method="POST",le="0.005"}"#
            ),
            "{text}"
        );
        assert!(text.contains("hourmark_scan_batch_size_bucket"), "{text}");
        assert!(
            sample(&text, r#"hourmark_board_snapshots_total{source="computed"}"#).is_some_and(|v| v >= 1.0),
            "{text}"
        );
        assert!(
            sample(&text, r#"hourmark_board_snapshots_total{source="shared"}"#).is_some_and(|v| v >= 1.0),
            "{text}"
        );
        assert!(sample(&text, "hourmark_board_snapshot_duration_seconds_count").is_some_and(|v| v >= 1.0), "{text}");
        assert!(text.contains(r#"hourmark_cache_lookups_total{tier="local""#), "{text}");
        // Route templates only: no token, code or id from a concrete path.
        assert!(!text.contains(TOKEN) && !text.contains(&e.volunteer) && !text.contains(&url), "nothing personal");
        assert!(!text.contains(&format!("/api/v1/activities/{}/", e.activity_id)), "templates, not paths");
        drop(board);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_token_there_is_no_metrics_endpoint() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 404);
    assert!(body.contains("not_found"), "{body}");
}
