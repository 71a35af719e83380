//! The live board: a snapshot through the API, and server-sent events that say when it
//! changed, on every instance, for the people who may see the totals.

use std::time::Duration as Wait;

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, on_both_backends};
use serde_json::json;
use uuid::Uuid;

use crate::event;

/// What the brief promises a board: the scan shows within two seconds.
const WITHIN: Wait = Wait::from_secs(2);

async fn code_url(app: &TestApp, staff: &str, activity_id: i64, gate: u8) -> String {
    app.code(staff, activity_id, gate, "toggle").await["url"].as_str().expect("url").to_owned()
}

/// Two instances on one PostgreSQL and one Redis: a scan taken by A is pushed to a board
/// watching B, and B's snapshot already counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_at_one_instance_reaches_a_board_on_the_other() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.another_instance(|_| {}).await;
    let e = event(&a, "toggle").await;
    let path = format!("/api/v1/activities/{}/events", e.activity_id);
    let mut board = b.events(&path, &e.organiser).await;
    board.next_named("ready", WITHIN).await.expect("the stream says it is subscribed");

    let url = code_url(&a, &e.organiser, e.activity_id, 1).await;
    let receipt = a.scan(&e.volunteer, &url).await;
    receipt.expect_status(200);
    let pushed = board.next_named("scans", WITHIN).await.expect("the scan at A reaches B's board within 2 s");
    assert_eq!(pushed.id, receipt.body["scan_id"].as_str().expect("scan id"), "the event carries the scan's id");
    assert_eq!(pushed.data["activity_id"], e.activity_id);
    assert_eq!((pushed.data["count"].as_u64(), pushed.data["arrivals"].as_u64()), (Some(1), Some(1)));
    assert_eq!(pushed.data["volunteer_id"], e.volunteer_id);
    assert_eq!(pushed.data["direction"], "in");
    assert_eq!(pushed.data["gate"], 1);

    let snapshot = b.get(&format!("/api/v1/activities/{}/board", e.activity_id), &e.organiser).await;
    snapshot.expect_status(200);
    assert_eq!(snapshot.body["totals"]["inside_now"], 1);
    assert_eq!(snapshot.body["gates"][1]["name"], "南门");
    assert_eq!(snapshot.body["gates"][1]["inside"], 1);
    assert_eq!(snapshot.body["still_inside"][0]["volunteer_name"], "张三");
    assert_eq!(snapshot.body["last_scan_id"], receipt.body["scan_id"]);

    // And the other way round, on a second board at A: B's scan reaches it.
    let mut board_a = a.events(&path, &e.organiser).await;
    board_a.next_named("ready", WITHIN).await.expect("ready");
    a.advance(Duration::minutes(20));
    b.advance(Duration::minutes(20));
    let url = code_url(&b, &e.organiser, e.activity_id, 0).await;
    let out = b.scan(&e.volunteer, &url).await;
    out.expect_status(200);
    let pushed = board_a.next_named("scans", WITHIN).await.expect("B's scan reaches A's board");
    assert_eq!(pushed.data["direction"], "out");
    assert_eq!(pushed.id, out.body["scan_id"].as_str().expect("scan id"));
}

/// Boards of one activity on one instance share one snapshot: computed once after an
/// event, handed to every board that asks until the next event reaches them, and never
/// older than a second. Shown with a scan the boards cannot hear of (taken by an instance
/// on another Redis prefix): the shared snapshot leaves it out until the second is up,
/// while a scan they do hear of is in the very next snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_on_one_instance_share_a_snapshot_until_an_event_or_a_second_passes() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let deaf = TestApp::spawn_with(Backend::Postgres, a.database(), Uuid::new_v4().simple().to_string(), |_| {}).await;
    let e = event(&a, "toggle").await;
    let board_path = format!("/api/v1/activities/{}/board", e.activity_id);
    let arrived = |snapshot: &serde_json::Value| snapshot["totals"]["arrived"].as_u64().expect("arrived");
    let mut board = a.events(&format!("/api/v1/activities/{}/events", e.activity_id), &e.organiser).await;
    board.next_named("ready", WITHIN).await.expect("ready");
    assert_eq!(arrived(&a.get(&board_path, &e.organiser).await.body), 0);

    // Unheard here: the snapshot the boards share stays as it was, for every board asking.
    let url = code_url(&deaf, &e.organiser, e.activity_id, 0).await;
    deaf.scan(&e.volunteer, &url).await.expect_status(200);
    for _ in 0..3 {
        assert_eq!(arrived(&a.get(&board_path, &e.organiser).await.body), 0, "shared, not recomputed");
    }
    // A second later it is computed again, and counts the scan.
    a.advance(Duration::seconds(1));
    assert_eq!(arrived(&a.get(&board_path, &e.organiser).await.body), 1, "a shared snapshot lives a second at most");

    // A scan the boards hear of makes the shared snapshot stale at once: no waiting.
    let (_, second) = a.volunteer("李四", "13800005678").await;
    let url = code_url(&a, &e.organiser, e.activity_id, 0).await;
    a.scan(&second, &url).await.expect_status(200);
    board.next_named("scans", WITHIN).await.expect("the scan is pushed");
    assert_eq!(arrived(&a.get(&board_path, &e.organiser).await.body), 2, "recomputed after the event");
}

on_both_backends! {
    /// While a board streams, each snapshot reads only the scans recorded since the last
    /// one: round after round of arrivals and departures, it says exactly what the totals
    /// say, and counts each scan once. (That both agree with a read of every scan afresh is
    /// `unwatched_totals_sessions_and_board_keep_up_with_the_store`.)
    async fn a_streaming_boards_snapshots_agree_with_a_full_read_round_after_round(app: TestApp) {
        let e = event(&app, "toggle").await;
        let mut volunteers = vec![e.volunteer.clone()];
        for (name, phone) in [("李四", "13800005678"), ("王五", "13800005679"), ("赵六", "13800005680")] {
            volunteers.push(app.volunteer(name, phone).await.1);
        }
        let mut board = app.events(&format!("/api/v1/activities/{}/events", e.activity_id), &e.organiser).await;
        board.next_named("ready", WITHIN).await.expect("ready");
        let board_path = format!("/api/v1/activities/{}/board", e.activity_id);
        let totals_path = format!("/api/v1/activities/{}/totals", e.activity_id);
        let mut scans = 0;
        for round in 0..5_usize {
            // Everyone scans in the first rounds; later only some, so sessions diverge.
            let url = code_url(&app, &e.organiser, e.activity_id, 0).await;
            for (_, volunteer) in volunteers.iter().enumerate().filter(|(i, _)| round < 2 || i % 2 == round % 2) {
                app.scan(volunteer, &url).await.expect_status(200);
                scans += 1;
            }
            let snapshot = app.get(&board_path, &e.organiser).await;
            snapshot.expect_status(200);
            let mut from_board = snapshot.body["totals"].clone();
            let mut from_store = app.get(&totals_path, &e.organiser).await.body;
            for totals in [&mut from_board, &mut from_store] {
                totals.as_object_mut().expect("totals").remove("as_of");
            }
            assert_eq!(from_board, from_store, "round {round}");
            assert_eq!(from_board["accepted_scans"], scans, "round {round}: each scan once");
            let listed = snapshot.body["still_inside"].as_array().expect("list").len();
            assert_eq!(json!(listed), from_board["inside_now"], "round {round}");
            app.advance(Duration::minutes(25));
        }
    }
}

on_both_backends! {
    /// With no board streaming, the totals, the sessions and the board come from a book of
    /// the activity's scans that this instance keeps between requests, adding only the
    /// scans recorded since. Round after round they count a scan at once, even one taken by
    /// an instance this one never hears from, and say exactly what a newly started instance
    /// says from a read of every scan.
    async fn unwatched_totals_sessions_and_board_keep_up_with_the_store(app: TestApp) {
        let e = event(&app, "toggle").await;
        let unheard = Uuid::new_v4().simple().to_string();
        let deaf = TestApp::spawn_with(app.backend, app.database(), unheard, |_| {}).await;
        let mut volunteers = vec![e.volunteer.clone()];
        for (name, phone) in [("李四", "13800005678"), ("王五", "13800005679"), ("赵六", "13800005680")] {
            volunteers.push(app.volunteer(name, phone).await.1);
        }
        let totals_path = format!("/api/v1/activities/{}/totals", e.activity_id);
        let paths =
            [totals_path.clone(), format!("/api/v1/activities/{}/sessions", e.activity_id), format!(
                "/api/v1/activities/{}/board",
                e.activity_id
            )];
        let without_as_of = |mut body: serde_json::Value| {
            if let Some(totals) = body.get_mut("totals").and_then(serde_json::Value::as_object_mut) {
                totals.remove("as_of");
            }
            if let Some(fields) = body.as_object_mut() {
                fields.remove("as_of");
            }
            body
        };
        // The book starts empty, before any scan.
        assert_eq!(app.get(&totals_path, &e.organiser).await.body["accepted_scans"], 0);

        let (mut scans, mut advanced) = (0, Duration::zero());
        for round in 0..4_u8 {
            // Even rounds scan here, odd ones at the instance whose events never arrive here.
            let at = if round % 2 == 0 { &app } else { &deaf };
            let url = code_url(at, &e.organiser, e.activity_id, round % 2).await;
            for (i, volunteer) in volunteers.iter().enumerate() {
                if round < 2 || i % 2 == usize::from(round % 2) {
                    at.scan(volunteer, &url).await.expect_status(200);
                    scans += 1;
                }
            }
            let totals = app.get(&totals_path, &e.organiser).await;
            totals.expect_status(200);
            assert_eq!(totals.body["accepted_scans"], scans, "round {round}: each scan counted at once, once");

            let fresh = TestApp::spawn_with(app.backend, app.database(), Uuid::new_v4().simple().to_string(), |_| {})
                .await;
            fresh.advance(advanced);
            for path in &paths {
                let kept = app.get(path, &e.organiser).await;
                kept.expect_status(200);
                let afresh = fresh.get(path, &e.organiser).await;
                afresh.expect_status(200);
                assert_eq!(without_as_of(kept.body), without_as_of(afresh.body), "round {round}: {path}");
            }
            for instance in [&app, &deaf] {
                instance.advance(Duration::minutes(25));
            }
            advanced += Duration::minutes(25);
        }
    }
}

on_both_backends! {
    /// One instance (in-process events on SQLite, Redis on PostgreSQL): the board follows
    /// arrivals, departures and flags, and sees nothing of other activities.
    async fn the_board_follows_scans_and_flags_live(app: TestApp) {
        let e = event(&app, "toggle").await;
        let other = app.activity(&e.organiser, e.organisation_id, json!({"name": "翠湖巡河"})).await["id"]
            .as_i64()
            .expect("id");
        let mut board = app.events(&format!("/api/v1/activities/{}/events", e.activity_id), &e.organiser).await;
        board.next_named("ready", WITHIN).await.expect("ready");

        // A scan at another activity is not this board's business.
        let (_, someone) = app.volunteer("李四", "13800005678").await;
        app.scan(&someone, &code_url(&app, &e.organiser, other, 0).await).await.expect_status(200);
        // Far from the venue: a scan, then an anomaly flag, both pushed.
        let far = json!({"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0});
        let code = code_url(&app, &e.organiser, e.activity_id, 0).await;
        let body = json!({
            "code": code, "nonce": Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(),
            "device_id": "test-phone-1", "location": far,
        });
        let arrival = app.post("/mp/v1/scans", Some(&e.volunteer), body).await;
        arrival.expect_status(200);
        let pushed = board.next_within(WITHIN).await.expect("an event within 2 s");
        assert_eq!(pushed.name, "scans", "the other activity's scan was not sent here: {pushed:?}");
        assert_eq!(pushed.data["activity_id"], e.activity_id);
        assert_eq!(pushed.id, arrival.body["scan_id"].as_str().expect("id"));
        let flagged = board.next_named("flags", WITHIN).await.expect("the flag is pushed as it is raised");
        assert_eq!(flagged.data["raised"], 1);

        app.advance(Duration::minutes(135));
        let departure = app.scan(&e.volunteer, &code_url(&app, &e.organiser, e.activity_id, 0).await).await;
        departure.expect_status(200);
        let pushed = board.next_named("scans", WITHIN).await.expect("the departure is pushed");
        assert_eq!(pushed.data["direction"], "out");

        let snapshot = app.get(&format!("/api/v1/activities/{}/board", e.activity_id), &e.organiser).await;
        snapshot.expect_status(200);
        let s = &snapshot.body;
        assert_eq!(s["totals"]["arrived"], 1);
        assert_eq!(s["totals"]["inside_now"], 0);
        assert_eq!(s["totals"]["minutes_credited"], 135);
        assert_eq!(s["still_inside"].as_array().map(Vec::len), Some(0));
        assert_eq!(s["gates"][0]["inside"], 0);
        assert_eq!(s["flags"][0]["rule"], "outside_geofence");
        assert_eq!(s["flags"][0]["volunteer_name"], "张三");
        assert_eq!(s["flags_total"], 1);
        // The last 30 minutes: the departure in the newest minute, the arrival long before.
        let minutes = s["minutes"].as_array().expect("minutes");
        assert_eq!(minutes.len(), 30);
        assert_eq!(minutes[29]["departures"], 1);
        assert_eq!(minutes.iter().map(|m| m["arrivals"].as_u64().unwrap_or(9)).sum::<u64>(), 0);
        assert_eq!(s["last_scan_id"], departure.body["scan_id"]);
    }
}

on_both_backends! {
    /// Watching is for the people who may see the totals: a leader of another activity is
    /// refused exactly as the totals refuse them (404: it does not exist for them).
    async fn only_those_who_see_the_totals_may_watch(app: TestApp) {
        let e = event(&app, "toggle").await;
        let led = app.activity(&e.organiser, e.organisation_id, json!({"name": "翠湖巡河"})).await["id"]
            .as_i64()
            .expect("id");
        let leader = app
            .staff(&e.admin, json!({"name": "赵领队", "role": "leader", "organisation_id": e.organisation_id}))
            .await;
        let leader_id = app.get("/api/v1/me", &leader).await.body["staff"]["id"].as_i64().expect("id");
        app.call(reqwest::Method::PUT, &format!("/api/v1/activities/{led}/leaders/{leader_id}"), Some(&e.organiser), None)
            .await
            .expect_status(204);

        let watch = |id: i64| format!("/api/v1/activities/{id}/events");
        // Their own activity: yes.
        let mut own = app.events(&watch(led), &leader).await;
        own.next_named("ready", WITHIN).await.expect("ready");
        app.get(&format!("/api/v1/activities/{led}/board"), &leader).await.expect_status(200);
        // Another activity of the same organisation: as the totals answer.
        let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &leader).await;
        totals.expect_problem(404, "not_found");
        let refused = app.open_stream(&watch(e.activity_id), Some(&leader)).await;
        assert_eq!(refused.status().as_u16(), 404);
        let body: serde_json::Value = refused.json().await.expect("problem");
        assert_eq!(body["code"], "not_found");
        app.get(&format!("/api/v1/activities/{}/board", e.activity_id), &leader).await.expect_problem(404, "not_found");
        // Nobody, and a volunteer.
        assert_eq!(app.open_stream(&watch(e.activity_id), None).await.status().as_u16(), 401);
        assert_eq!(app.open_stream(&watch(e.activity_id), Some(&e.volunteer)).await.status().as_u16(), 403);
        // No such activity.
        assert_eq!(app.open_stream(&watch(999_999), Some(&e.organiser)).await.status().as_u16(), 404);

        // And the refused leader's own stream hears nothing of the other activity.
        app.scan(&e.volunteer, &code_url(&app, &e.organiser, e.activity_id, 0).await).await.expect_status(200);
        let heard = own.next_within(Wait::from_millis(700)).await;
        assert!(heard.is_none(), "a scan elsewhere reached the leader's board: {heard:?}");
    }
}

/// The board in real Chromium on a tablet (1280×800), as the organiser: opened from the
/// activity list, it shows a volunteer's scan made through the API within 2 s, and the
/// anomaly flag the scan raised. Screenshots under `target/browser-artifacts/board/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_in_chromium() {
    let app = TestApp::spawn_for_browser(Backend::Sqlite).await;
    let admin = app.administrator().await;
    let organisation_id = app.organisation(&admin, "翠湖志愿者协会").await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"name": "李组织", "login": hourmark_tests::next_login(), "role": "organiser", "organisation_id": organisation_id}),
        )
        .await;
    created.expect_status(201);
    let invite = created.body["invite"]["token"].as_str().expect("invite").to_owned();
    let activity_id =
        app.activity(&admin, organisation_id, json!({"name": "翠湖公园清洁"})).await["id"].as_i64().expect("id");

    // It recruits: three for the north gate, two for first aid, no approval needed.
    let recruitment = json!({
        "slots": [{"name": "北门引导", "capacity": 3}, {"name": "医疗点", "capacity": 2}],
        "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T16:00:00+08:00",
    });
    let published = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/activities/{activity_id}/recruitment"),
            Some(&admin),
            Some(recruitment),
        )
        .await;
    published.expect_status(200);
    let slots: Vec<i64> =
        published.body["slots"].as_array().expect("slots").iter().filter_map(|s| s["id"].as_i64()).collect();

    // A morning so far: five volunteers arrive over a few minutes at both gates, two leave.
    // Four signed up; 赵磊 walks in; 孙丽 signed up for first aid and has not come.
    let names = ["王芳", "刘洋", "陈静", "杨帆", "赵磊"];
    let mut tokens = Vec::new();
    for (i, name) in names.iter().enumerate() {
        tokens.push(app.volunteer(name, &format!("1390000{:04}", 100 + i)).await.1);
    }
    let (_, absent) = app.volunteer("孙丽", "13900000200").await;
    for (token, slot) in tokens.iter().take(4).chain([&absent]).zip([slots[0], slots[0], slots[0], slots[1], slots[1]])
    {
        let signed_up =
            app.post(&format!("/mp/v1/activities/{activity_id}/signups"), Some(token), json!({"slot_id": slot})).await;
        signed_up.expect_status(201);
    }
    for (i, token) in tokens.iter().enumerate() {
        let gate = u8::try_from(i % 2).expect("gate");
        app.scan(token, &code_url(&app, &admin, activity_id, gate).await).await.expect_status(200);
        app.advance(Duration::minutes(3));
    }
    for token in &tokens[..2] {
        app.advance(Duration::minutes(2));
        app.scan(token, &code_url(&app, &admin, activity_id, 0).await).await.expect_status(200);
    }
    app.advance(Duration::minutes(1));

    // The live scan: 张三, from about 1.1 km away (so it raises a flag too).
    let (_, volunteer) = app.volunteer("张三", "13800001234").await;
    let scan = json!({
        "code": code_url(&app, &admin, activity_id, 1).await, "nonce": Uuid::new_v4(),
        "client_time": app.clock_now().to_rfc3339(), "device_id": "test-phone-1",
        "location": {"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0},
    });

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let input = json!({
        "base": app.browser_url(), "invite": invite, "activity_id": activity_id,
        "volunteer": volunteer, "volunteer_name": "张三", "scan": scan,
        "artifacts": root.join("../target/browser-artifacts/board"),
    });
    let output = tokio::process::Command::new("node")
        .arg(root.join("browser/board.js"))
        .arg(input.to_string())
        .output()
        .await
        .expect("node runs (scripts/test installs it, and Chromium, and tests/browser's packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
            panic!("the script prints JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr))
        });
    assert!(result.get("error").is_none(), "the browser run stopped: {result:#}");
    assert!(output.status.success(), "{result:#}");

    assert_eq!(result["board_url"], format!("{}/console/activities/{activity_id}/board", app.browser_url()));
    assert_eq!(result["before"]["inside_now"], "3 人");
    assert_eq!(result["before"]["still_inside"], json!(["陈静（北门）", "杨帆（南门）", "赵磊（北门）"]));
    assert_eq!(result["before"]["flags"], "0");
    assert_eq!(result["before"]["expected"], json!(["北门引导到 3 / 应到 3 人", "医疗点到 1 / 应到 2 人"]));
    assert_eq!(result["before"]["missing"], json!(["孙丽医疗点"]));
    assert_eq!(result["before"]["missing_count"], "1 人");
    assert_eq!(result["before"]["walk_ins"], "未报名到场 1 人");
    assert_eq!(result["after"]["walk_ins"], "未报名到场 2 人", "张三 came without signing up");
    assert_eq!(result["scan_status"], 200);
    let shown = result["shown_after_ms"].as_u64().expect("timed");
    assert!(shown < 2000, "the scan took {shown} ms to reach the board");
    assert!(result["flag_after_ms"].as_u64().expect("timed") < 2000, "{result:#}");
    assert_eq!(result["after"]["inside_now"], "4 人");
    assert_eq!(result["after"]["last_scan_event_id"], result["scan_id"], "the event named the scan");
    assert_eq!(result["after"]["gates"], json!(["北门2 人", "南门2 人"]));
    let last = result["after"]["still_inside"].as_array().and_then(|a| a.last()).expect("someone inside");
    assert_eq!(last, &json!("张三（南门）12月5日 09:20 起，已 0分"));
    assert_eq!(result["after"]["flags"].as_array().map(Vec::len), Some(1));
    assert!(result["after"]["flags"][0].as_str().is_some_and(|f| f.starts_with("张三：")), "{result:#}");
    assert_eq!(result["after"]["bars"], 30);
    assert_eq!(result["after"]["status"], "实时更新中");
    assert_eq!(result["failed_loads"], json!([]), "every page asset loads");
    assert_eq!(result["console_errors"], json!([]), "no script errors, no CSP violations");
}

on_both_backends! {
    /// A board reconnecting after an event it saw is told at once to resync from the store;
    /// a fresh one is not. And a server shutting down ends open streams instead of waiting
    /// for boards that never hang up.
    async fn reconnecting_boards_resync_and_shutdown_ends_streams(app: TestApp) {
        let e = event(&app, "toggle").await;
        let path = format!("/api/v1/activities/{}/events", e.activity_id);
        let seen = Uuid::now_v7().to_string();
        let mut again = app.events_after(&path, &e.organiser, Some(&seen)).await;
        assert_eq!(again.next_within(WITHIN).await.expect("ready").name, "ready");
        let resync = again.next_within(WITHIN).await.expect("a resync");
        assert_eq!(resync.name, "resync");
        assert_eq!(resync.data["activity_id"], e.activity_id);
        let mut fresh = app.events(&path, &e.organiser).await;
        assert_eq!(fresh.next_within(WITHIN).await.expect("ready").name, "ready");
        assert!(fresh.next_within(Wait::from_millis(500)).await.is_none(), "nothing to catch up on");

        tokio::time::timeout(Wait::from_secs(5), app.stop()).await.expect("shutdown does not wait for open boards");
        assert!(fresh.next_within(WITHIN).await.is_none(), "the stream ended");
    }
}

/// The fan-out costs nothing for activities nobody watches: their scans are not published
/// at all. A board opening on one instance makes the other publish that activity (and only
/// that one) on its own channel, in time for the next scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_watched_activities_are_published_each_on_its_own_channel() {
    use futures_util::StreamExt;
    use hourmark_core::attendance::Direction;
    use hourmark_core::live::{LiveChange, LiveEvents, ScanSeen};

    let prefix = format!("hourmark-test:{}", Uuid::new_v4().simple());
    let url = hourmark_tests::redis_url();
    let a = LiveEvents::redis(&url, &prefix).await.expect("instance A connects");
    let b = LiveEvents::redis(&url, &prefix).await.expect("instance B connects");
    // What reaches Redis at all, on any of the fan-out's event channels.
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut wire = client.get_async_pubsub().await.expect("a raw subscriber");
    wire.psubscribe(format!("{prefix}:live:[0-9]*")).await.expect("pattern subscription");
    let mut wire = wire.into_on_message();
    let scan = || ScanSeen {
        id: Uuid::now_v7(),
        volunteer_id: 1,
        gate: None,
        direction: Direction::In,
        at: chrono::Utc::now(),
    };

    a.publish_scan(5, scan());
    assert!(!a.publishes(5));
    assert!(
        tokio::time::timeout(Wait::from_millis(300) + hourmark_core::live::GATHER, wire.next()).await.is_err(),
        "nobody watches activity 5: nothing is sent"
    );

    let mut board = b.watch(5).await.expect("B's board subscribes");
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !a.publishes(5) {
        assert!(tokio::time::Instant::now() < deadline, "A hears of B's board within 2 s");
        tokio::time::sleep(Wait::from_millis(5)).await;
    }
    assert!(!a.publishes(6), "only the watched activity");
    a.publish_scan(6, scan());
    // A burst at A: B's board hears of it as one event, sent once through Redis.
    let burst: Vec<ScanSeen> = (0..100).map(|_| scan()).collect();
    for seen in &burst {
        a.publish_scan(5, *seen);
    }
    let received = tokio::time::timeout(WITHIN, board.recv()).await.expect("within 2 s").expect("an event");
    assert_eq!(received.event.activity_id, 5);
    assert_eq!(received.event.id, burst[99].id, "named by the newest scan");
    let LiveChange::Scans { count, arrivals, first_at, .. } = received.event.change else {
        panic!("a scans event: {:?}", received.event)
    };
    assert_eq!((count, arrivals, first_at), (100, 100, burst[0].at), "A's burst reaches B's board");
    assert_eq!(&*received.json, serde_json::to_string(&received.event).expect("json"), "serialised once, as sent");
    let on_wire = tokio::time::timeout(WITHIN, wire.next()).await.expect("within 2 s").expect("a message");
    assert_eq!(on_wire.get_channel_name(), format!("{prefix}:live:5"), "activity 6's scan was never sent");
    assert!(tokio::time::timeout(Wait::from_millis(300), wire.next()).await.is_err(), "one message in all");
}

/// A board reads its activity's new scans once a second. On PostgreSQL that read must go
/// by the index of when scans were recorded even when the statistics predate the activity
/// (a new event in a database analysed before it): PostgreSQL then expects one row of the
/// activity, and with the read written as one statement for every case it took another
/// index on `activity_id` and filtered every scan of the event on each read (113 ms a read
/// at 150 000 scans, BENCHMARKS.md "Mixed load").
#[tokio::test]
async fn a_boards_read_of_new_scans_goes_by_when_they_were_recorded_whatever_the_statistics() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let e = event(&app, "toggle").await;
    let code = code_url(&app, &e.organiser, e.activity_id, 0).await;
    assert_eq!(app.scan(&e.volunteer, &code).await.status, 200);
    let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
    // An earlier event's worth of scans (the volunteer's arrivals, numbered on), then the
    // statistics, as a database analysed before the new event.
    sqlx::query(
        "insert into scan (id, volunteer_id, client_nonce, activity_id, gate, direction, outcome, server_time,
                           answer_status, answer, seq)
         select gen_random_uuid(), $1, gen_random_uuid(), $2, 0, 'in', 'checked_in', now(), 200, '{}', n
         from generate_series(2, 5001) as n",
    )
    .bind(e.volunteer_id)
    .bind(e.activity_id)
    .execute(&pool)
    .await
    .expect("earlier scans");
    sqlx::query("analyze scan").execute(&pool).await.expect("analyze");
    // An activity the statistics have never seen, as a new event's is.
    let later = app.activity(&e.organiser, e.organisation_id, json!({"code_mode": "toggle"})).await;
    let (_, after_cursor) = hourmark_core::store::POSTGRES_NUMBERED_SCANS_AFTER;
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("explain {after_cursor}")))
        .bind(later["id"].as_i64().expect("id"))
        .bind(1_i64)
        .fetch_all(&pool)
        .await
        .expect("explain");
    let plan = plan.join("\n");
    assert!(plan.contains("scan_activity_recorded_ix"), "the read of new scans went another way:\n{plan}");
    assert!(!plan.contains("Sort"), "the index gives the cursor's order:\n{plan}");
}
