//! The rotating code: JSON, SVG and PNG forms, decodable by an ordinary QR decoder, and
//! master-key rotation without breaking codes on screens.

use chrono::Duration;
use hourmark_tests::{Backend, TEST_QR_KEYS, TestApp, on_both_backends};

use crate::event;

on_both_backends! {
    async fn the_code_rotates_and_its_images_decode_to_its_url(app: TestApp) {
        let e = event(&app, "toggle").await;
        let code = app.code(&e.organiser, e.activity_id, 1, "toggle").await;
        let url = code["url"].as_str().expect("url").to_owned();
        let token = code["token"].as_str().expect("token");
        assert_eq!(url, format!("HTTPS://HM.EXAMPLE.CN/S/{token}"));
        assert!(hourmark_core::qr::is_qr_alphanumeric(&url), "fits QR alphanumeric mode: {url}");
        assert_eq!(code["gate_name"], "南门");
        assert_eq!(code["window_start"], "2026-12-05T09:00:00+08:00");
        assert_eq!(code["expires_at"], "2026-12-05T09:00:30+08:00");
        assert_eq!(code["seconds_to_rotation"], 15);
        // Projector screens poll the JSON: no cache may hand them an expired code.
        let json = app.client.get(app.url(&format!("/api/v1/activities/{}/code?gate=1", e.activity_id)))
            .bearer_auth(&e.organiser).send().await.expect("json");
        assert_eq!(json.headers()["cache-control"], "no-store");

        let png = app.client.get(app.url(&format!("/api/v1/activities/{}/code.png?gate=1&scale=6", e.activity_id)))
            .bearer_auth(&e.organiser).send().await.expect("png");
        assert_eq!(png.status().as_u16(), 200);
        assert_eq!(png.headers()["content-type"], "image/png");
        assert_eq!(png.headers()["cache-control"], "no-store");
        let image = image::load_from_memory(&png.bytes().await.expect("bytes")).expect("a PNG").to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, decoded) = grids[0].decode().expect("decodes");
        assert_eq!(decoded, url);
        assert!(meta.version.0 <= 3, "a small code: version {}", meta.version.0);

        let svg = app.client.get(app.url(&format!("/api/v1/activities/{}/code.svg?gate=1", e.activity_id)))
            .bearer_auth(&e.organiser).send().await.expect("svg");
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg.text().await.expect("text").contains("<svg"));

        app.get(&format!("/api/v1/activities/{}/code.png?scale=0", e.activity_id), &e.organiser).await
            .expect_problem(400, "invalid_parameter");

        // A phone camera opening the URL gets the web stand-in page, which posts the scan.
        let path = url.trim_start_matches("HTTPS://HM.EXAMPLE.CN");
        for path in [path.to_owned(), path.replace("/S/", "/s/")] {
            let page = app.client.get(app.url(&path)).send().await.expect("page");
            assert_eq!(page.status().as_u16(), 200, "{path}");
            assert!(page.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
            let html = page.text().await.expect("html");
            assert!(html.contains("<script src=\"/mp/static/scan.js\">"), "the page's script is a served file");
            assert!(!html.contains("src=\"http"), "no outside resources");
        }

        let script = app.client.get(app.url("/mp/static/scan.js")).send().await.expect("script");
        let script = script.text().await.expect("text");
        assert!(script.contains("/mp/v1/scans") && script.contains("nonce"), "the page submits scans with a nonce");

        // A window later the code has changed.
        app.advance(Duration::seconds(15));
        let next = app.code(&e.organiser, e.activity_id, 1, "toggle").await;
        assert_ne!(next["token"], code["token"]);
        assert_eq!(next["window_start"], "2026-12-05T09:00:15+08:00");
    }
}

/// Introducing a new master key: codes already on screens, signed under the old key,
/// keep working until they expire; new codes use the new key; removing the old key ends them.
async fn rotation(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let e = event(&first, "toggle").await;
    let old_code = first.code(&e.organiser, e.activity_id, 0, "toggle").await;
    let database = first.database();
    let prefix = first.config.redis_prefix.trim_start_matches("hourmark-test:").to_owned();
    first.stop().await;

    let two_keys = format!("{TEST_QR_KEYS},2:bmV3LW1hc3Rlci1rZXktdHdvLTMyLWJ5dGVzLWxvbmchISE=");
    let rotated = TestApp::spawn_with(backend, database.clone(), prefix.clone(), |c| {
        c.qr_keys = Some(hourmark_server::config::Secret(two_keys.clone()));
    })
    .await;
    let new_code = rotated.code(&e.organiser, e.activity_id, 0, "toggle").await;
    let new_claims = hourmark_core::qr::KeyRing::parse(&two_keys, None)
        .expect("keys")
        .verify(new_code["token"].as_str().expect("token"))
        .expect("valid");
    assert_eq!(new_claims.key_id, 2, "new codes are signed with the new key");
    rotated.scan(&e.volunteer, old_code["url"].as_str().expect("url")).await.expect_status(200);
    rotated.stop().await;

    let only_new = TestApp::spawn_with(backend, database, prefix, |c| {
        c.qr_keys = Some(hourmark_server::config::Secret("2:bmV3LW1hc3Rlci1rZXktdHdvLTMyLWJ5dGVzLWxvbmchISE=".into()));
    })
    .await;
    only_new.advance(Duration::seconds(61));
    only_new.scan(&e.volunteer, old_code["url"].as_str().expect("url")).await.expect_problem(422, "code_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_codes_on_screens_working_sqlite() {
    rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_codes_on_screens_working_postgres() {
    rotation(Backend::Postgres).await;
}
