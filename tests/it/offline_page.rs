//! The scan page with no network, in real Chromium at 390×844: the page opens from the
//! service worker's copy, keeps the scan on the phone, uploads it once when the network
//! returns, and shows a refusal in Chinese for one kept past the bound. Screenshots in
//! `target/browser-artifacts/offline/`.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, next_resident_id, registration};
use serde_json::{Value, json};

use crate::event;

#[tokio::test]
async fn a_scan_kept_offline_in_chromium_is_uploaded_once_and_one_kept_too_long_is_refused() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let device = "web-offline-phone";
    let mut body = registration("李四", "13900007777", &next_resident_id());
    body["device_id"] = json!(device);
    let registered = app.post("/mp/v1/volunteers", None, body).await;
    registered.expect_status(201);
    let volunteer_id = registered.body["volunteer"]["id"].as_i64().expect("id");
    let token = registered.body["access_token"].as_str().expect("token");

    let result =
        drive(&app, &e, json!({"base": app.browser_url(), "token": token, "device": device, "now": app.clock_now()}))
            .await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");

    assert_eq!(result["online"]["title"], "签到成功", "{result:#}");
    assert_eq!(result["kept_page"], true, "the service worker kept the page and its scripts");
    // No network: the page opened from the kept copy and kept the scan.
    assert_eq!(result["queued"]["controlled"], true, "{result:#}");
    assert_eq!(result["queued"]["waiting"], 1);
    assert_eq!(result["queued"]["class"], "card note");
    assert!(result["queued"]["state"].as_str().expect("state").contains("共有 1 次扫码待上传"), "{result:#}");
    // Back online: uploaded, answered, and gone from the phone.
    assert_eq!(result["uploaded"]["class"], "card ok");
    assert!(result["uploaded"]["next"].as_str().expect("next").starts_with("离线扫码已上传，只计一次。"));
    assert_eq!(result["uploaded"]["waiting"], 0);
    assert_eq!(result["uploaded"]["state"], "已签退，本活动累计 2分钟 · 北门");
    assert_eq!(result["uploaded"]["queue_shown"], false, "said once, in the outcome");
    // Past the bound: refused in Chinese and removed from the queue.
    assert_eq!(result["too_late"]["class"], "card err");
    assert!(result["too_late"]["state"].as_str().expect("state").contains("已超过补传期限"), "{result:#}");
    assert!(result["too_late"]["next"].as_str().expect("next").starts_with("这次扫码（手机时间 09:04）"), "{result:#}");
    assert_eq!(result["too_late"]["waiting"], 0);
    // The lower-case path has its own registration, and a page opened there offline works.
    assert!(result["lower_scope"].as_str().is_some_and(|s| s.ends_with("/s/")), "{result:#}");
    assert_eq!(result["lower_queued"]["controlled"], true, "{result:#}");
    assert_eq!(result["lower_queued"]["class"], "card note", "{result:#}");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    // Behind the page: the check-in, the uploaded check-out (once), the refusal kept, and
    // the lower-case page's online scan (after the activity, refused); its offline one
    // waits on the phone.
    assert_eq!(app.scans_recorded(volunteer_id).await, 4);
    let sessions = app.sessions(&e.organiser, e.activity_id).await;
    let mine: Vec<&Value> = sessions.iter().filter(|s| s["volunteer_id"] == volunteer_id).collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    let pairs = mine[0]["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0]["checked_in_at"], "2026-12-05T09:00:00+08:00");
    let out = pairs[0]["checked_out_at"].as_str().expect("checked out");
    assert!(out.starts_with("2026-12-05T09:02:"), "placed when it was scanned, not when it arrived: {out}");
    // The kept check-out carried where the phone was when it was made (1.1 km away): the
    // geofence flags it on upload. The check-in, at the venue, raised none.
    let board = app.get(&format!("/api/v1/activities/{}/board", e.activity_id), &e.organiser).await;
    let flags: Vec<&str> = board.body["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f["volunteer_id"] == volunteer_id)
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(flags.contains(&"outside_geofence"), "{flags:?}");
}

/// A first-time volunteer takes five minutes over the form and the scan after registering
/// is lost on the way: the page keeps it as made when it read the code (as the reading's
/// ticket says online), so the upload is placed then and the code was valid then. Kept as
/// made at the upload's time instead, it would be refused: that code had long rotated.
#[tokio::test]
async fn a_newcomers_scan_lost_after_a_slow_registration_is_kept_as_made_at_the_reading() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let e = event(&app, "toggle").await;
    let read_at = app.clock_now();
    let newcomer = json!({"name": "王五", "id_number": next_resident_id(), "phone": "13900006666"});
    let result = drive(&app, &e, json!({"base": app.browser_url(), "now": read_at, "newcomer": newcomer})).await;
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    let read =
        read_at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset")).format("%H:%M").to_string();
    assert_eq!(result["newcomer_queued"]["time"], read, "kept as made at the reading: {result:#}");
    assert_eq!(result["newcomer_queued"]["class"], "card note");
    assert_eq!(result["newcomer_uploaded"]["title"], "签到成功", "{result:#}");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");

    let sessions = app.sessions(&e.organiser, e.activity_id).await;
    let mine = sessions.iter().find(|s| s["volunteer_name"] == "王五").cloned();
    let checked_in = mine.as_ref().and_then(|s| s["checked_in_at"].as_str()).unwrap_or_default().to_owned();
    let placed = chrono::DateTime::parse_from_rfc3339(&checked_in).expect("checked in").to_utc();
    assert!(
        placed >= read_at && placed - read_at < Duration::seconds(45),
        "placed at the reading ({read_at}), not at the upload five minutes later: {mine:?}"
    );
}

/// Runs tests/browser/offline.js with `input` (plus where its screenshots go).
async fn drive(app: &TestApp, e: &crate::Event, mut input: Value) -> Value {
    input["artifacts"] = json!(crate::browser_script::artifacts("offline"));
    crate::browser_script::run_clocked_browser_script(app, e, "offline.js", &input).await
}
