//! No-shows recorded (issue 17): until an activity is finalised, who was approved and has
//! not come is worked out from the scans on each request; finalising records the list
//! (approved sign-ups with neither an accepted scan nor an approved late entry), and from
//! then on that recorded list is what the organisation reads, on 报名管理 and on its live
//! board. Never on the public board or the public recruitment page, never in the board's
//! event stream, never for volunteers, officers or other organisations; a cancelled
//! activity has none.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::{Value, json};

use crate::publicity::finalise;
use crate::review::recorder;

/// How long a stream's event may take to arrive.
const WITHIN: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a stream stays quiet before it has said everything.
const QUIET: std::time::Duration = std::time::Duration::from_millis(1500);

fn names(body: &Value) -> Vec<String> {
    let list = body["no_shows"].as_array().expect("list");
    list.iter().map(|s| s["volunteer_name"].as_str().unwrap_or_default().to_owned()).collect()
}

on_both_backends! {
    async fn no_shows_are_recorded_when_the_activity_is_finalised(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let first = recorder(&app, &e.admin, e.organisation_id).await;
        let second = recorder(&app, &e.admin, e.organisation_id).await;
        let published = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/activities/{}/recruitment", e.activity_id),
                Some(&e.organiser),
                Some(json!({
                    "slots": [{"name": "入口引导", "capacity": 5}],
                    "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
                })),
            )
            .await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        // The organisation's live board streams the whole day: its events never carry the
        // no-shows (checked at the end).
        let mut stream = app.events(&format!("/api/v1/activities/{}/events", e.activity_id), &e.organiser).await;
        stream.next_named("ready", WITHIN).await.expect("ready");
        // 张三 comes; 李四 and 王五 do not scan, but 王五's paper sign-in sheet is entered
        // late and approved; 赵六 never comes at all.
        let (li_id, li) = app.volunteer("李四", "13800005678").await;
        let (wang_id, wang) = app.volunteer("王五", "13800005679").await;
        let (zhao_id, zhao) = app.volunteer("赵六", "13800005680").await;
        for token in [&e.volunteer, &li, &wang, &zhao] {
            app.post(&format!("/mp/v1/activities/{}/signups", e.activity_id), Some(token), json!({"slot_id": slot}))
                .await
                .expect_status(201);
        }
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);

        let entries = format!("/api/v1/activities/{}/late-entries", e.activity_id);
        let asked = app
            .post(&entries, Some(&first), json!({
                "volunteer_id": wang_id, "day": "2026-12-05", "minutes": 120,
                "evidence": "纸质签到表第 2 页", "reason": "手机没电无法扫码",
            }))
            .await;
        asked.expect_status(201);
        app.post(&format!("{entries}/{}/decision", asked.body["id"]), Some(&second), json!({"approve": true, "reason": "签到表属实"}))
            .await
            .expect_status(200);

        let path = format!("/api/v1/activities/{}/no-shows", e.activity_id);
        app.advance(Duration::hours(8)); // 20:00: ended, departures closed
        let before = app.get(&path, &e.organiser).await;
        before.expect_status(200);
        assert_eq!(before.body["ended"], true);
        assert!(before.body.get("recorded_at").is_none(), "not recorded before finalisation: {}", before.body);
        assert_eq!(names(&before.body), ["李四", "王五", "赵六"], "worked out from the scans alone");
        let board_path = format!("/api/v1/activities/{}/board", e.activity_id);
        let board = app.get(&board_path, &e.organiser).await;
        board.expect_status(200);
        assert!(board.body.get("no_shows").is_none(), "nothing recorded before finalisation: {}", board.body);

        finalise(&app, &first, e.activity_id).await;
        // The board streaming since morning is told at once, so it refetches its snapshot
        // rather than showing yesterday's list until the next scan.
        let mut heard = Vec::new();
        let told = loop {
            let event = stream.next_within(WITHIN).await.expect("a `finalised` event within 2 s of finalising");
            if event.name == "finalised" {
                break event;
            }
            heard.push(event);
        };
        assert_eq!(told.data["activity_id"], e.activity_id, "{told:?}");
        let after = app.get(&path, &e.organiser).await;
        after.expect_status(200);
        assert_eq!(after.body["recorded_at"], "2026-12-05T20:00:00+08:00", "{}", after.body);
        assert_eq!(names(&after.body), ["李四", "赵六"], "王五's approved late entry counts as come");
        assert_eq!(after.body["cancelled"], false);
        let later = app.get(&path, &first).await; // a recorder of the organisation reads the same list
        assert_eq!(later.body["recorded_at"], "2026-12-05T20:00:00+08:00", "{}", later.body);
        assert_eq!(names(&later.body), ["李四", "赵六"]);
        let stored = app.hourmark.store().recorded_no_shows(e.activity_id).await.expect("read").expect("recorded");
        assert_eq!(stored.1.len(), 2);
        // Recording again (a retried finalisation) keeps the first list.
        assert!(!app.hourmark.store().record_no_shows(e.activity_id, &[], 1, app.clock_now()).await.expect("write"));
        assert_eq!(names(&app.get(&path, &first).await.body), ["李四", "赵六"]);

        // The organisation's live board shows the recorded list (its organisers and
        // recorders alike) as soon as the `finalised` event has reached the board: no
        // waiting for a shared snapshot to age.
        for staff in [&e.organiser, &first] {
            let board = app.get(&board_path, staff).await;
            board.expect_status(200);
            let recorded = &board.body["no_shows"];
            assert_eq!(recorded["recorded_at"], "2026-12-05T20:00:00+08:00", "{}", board.body);
            assert_eq!(recorded["total"], 2);
            let listed: Vec<(&str, &str)> = recorded["volunteers"]
                .as_array()
                .expect("list")
                .iter()
                .map(|v| (v["volunteer_name"].as_str().expect("name"), v["slot_name"].as_str().expect("slot")))
                .collect();
            assert_eq!(listed, [("李四", "入口引导"), ("赵六", "入口引导")]);
        }

        // Only the organisation reads it: not a volunteer, not another organisation's
        // organiser; and the public board does not carry it.
        app.get(&path, &zhao).await.expect_problem(403, "forbidden");
        let elsewhere = app.organisation(&e.admin, "另一个协会").await;
        let stranger = app.organiser(&e.admin, elsewhere).await;
        app.get(&path, &stranger).await.expect_problem(404, "not_found");
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        board.expect_status(200);
        let raw = String::from_utf8_lossy(&board.raw).into_owned();
        assert!(!raw.contains("no_show") && !raw.contains("李*") && !raw.contains("赵*"), "{raw}");
        let page = app.client.get(app.url("/publicity")).send().await.expect("page").text().await.expect("html");
        assert!(!page.contains("李*") && !page.contains("赵*") && !page.contains("未到场"), "{page}");
        app.get(&board_path, &zhao).await.expect_problem(403, "forbidden");
        app.get(&board_path, &stranger).await.expect_problem(404, "not_found");
        // Nor does the public recruitment page, nor what a volunteer reads of recruitment.
        let join = app.client.get(app.url(&format!("/join/{}", e.activity_id))).send().await.expect("page");
        let join = join.text().await.expect("html");
        assert!(!join.contains("李四") && !join.contains("赵六") && !join.contains("未到场"), "{join}");
        let open = app.get(&format!("/mp/v1/activities/{}/recruitment", e.activity_id), &li).await;
        open.expect_status(200);
        let open = String::from_utf8_lossy(&open.raw).into_owned();
        assert!(!open.contains("no_show") && !open.contains("李四") && !open.contains("赵六"), "{open}");
        // A civil-affairs officer of the region reads the totals, counts only.
        let officer = app.staff(&e.admin, json!({"name": "五华民政", "role": "officer", "region_code": "530102"})).await;
        let totals = app.get(&format!("/api/v1/activities/{}/totals", e.activity_id), &officer).await;
        totals.expect_status(200);
        let totals = String::from_utf8_lossy(&totals.raw).into_owned();
        assert!(!totals.contains("no_show") && !totals.contains("李四"), "{totals}");

        // The stream said when to look, for each scan, and nothing else: no event names a
        // no-show, by name or by id.
        heard.push(told);
        while let Some(event) = stream.next_within(QUIET).await {
            heard.push(event);
        }
        assert!(heard.iter().any(|ev| ev.name == "scans"), "the stream was live: {heard:?}");
        for ev in &heard {
            let data = ev.data.to_string();
            assert!(!ev.name.contains("no_show") && !data.contains("no_show"), "{ev:?}");
            assert!(!data.contains("李四") && !data.contains("赵六"), "{ev:?}");
            for id in [li_id, zhao_id] {
                assert_ne!(ev.data["volunteer_id"], id, "{ev:?}");
            }
        }
    }
}

on_both_backends! {
    /// A cancelled activity expected nobody: no one is a no-show, before or after it is
    /// finalised.
    async fn a_cancelled_activity_has_no_no_shows(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let first = recorder(&app, &e.admin, e.organisation_id).await;
        let published = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/activities/{}/recruitment", e.activity_id),
                Some(&e.organiser),
                Some(json!({
                    "slots": [{"name": "入口引导", "capacity": 5}],
                    "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
                })),
            )
            .await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        app.post(&format!("/mp/v1/activities/{}/signups", e.activity_id), Some(&e.volunteer), json!({"slot_id": slot}))
            .await
            .expect_status(201);
        app.post(&format!("/api/v1/activities/{}/cancellation", e.activity_id), Some(&e.organiser), json!({"reason": "暴雨"}))
            .await
            .expect_status(200);
        app.advance(Duration::hours(11));
        let path = format!("/api/v1/activities/{}/no-shows", e.activity_id);
        let before = app.get(&path, &e.organiser).await;
        assert_eq!(before.body["cancelled"], true, "{}", before.body);
        assert_eq!(names(&before.body), Vec::<String>::new());
        finalise(&app, &first, e.activity_id).await;
        let after = app.get(&path, &e.organiser).await;
        assert!(after.body["recorded_at"].is_string(), "{}", after.body);
        assert_eq!(names(&after.body), Vec::<String>::new(), "recorded empty");
    }
}

/// 报名管理 and the live board show the recorded no-shows to the organisation, once the
/// activity is finalised, saying whose list it is (Chromium, tablet). Screenshots in
/// `target/browser-artifacts/no-shows/`.
#[tokio::test]
async fn the_signups_page_shows_the_recorded_no_shows_in_chromium() {
    let app = hourmark_tests::TestApp::spawn_for_browser(hourmark_tests::Backend::Sqlite).await;
    let e = crate::event(&app, "toggle").await;
    let recorder = recorder(&app, &e.admin, e.organisation_id).await;
    let published = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/activities/{}/recruitment", e.activity_id),
            Some(&e.organiser),
            Some(json!({
                "slots": [{"name": "入口引导", "capacity": 5}],
                "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
            })),
        )
        .await;
    published.expect_status(200);
    let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
    let (_, li) = app.volunteer("李四", "13800005678").await;
    for token in [&e.volunteer, &li] {
        app.post(&format!("/mp/v1/activities/{}/signups", e.activity_id), Some(token), json!({"slot_id": slot}))
            .await
            .expect_status(201);
    }
    let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&e.volunteer, &url).await.expect_status(200);
    app.advance(Duration::hours(3));
    let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
    app.scan(&e.volunteer, &url).await.expect_status(200);
    app.advance(Duration::hours(8)); // 20:00
    finalise(&app, &recorder, e.activity_id).await;
    // Signed in after the day, as the organiser would be.
    let (organiser, _, _) = crate::console_officer::browser_session(
        &app,
        &e.admin,
        json!({"name": "李组织", "role": "organiser", "organisation_id": e.organisation_id}),
    )
    .await;
    let run = crate::browser_script::run_browser_script(
        "no_shows.js",
        &json!({
            "base": app.browser_url(), "artifacts": crate::browser_script::artifacts("no-shows"),
            "activity_id": e.activity_id, "organiser_cookie": organiser.split_once('=').expect("pair").1,
        }),
    )
    .await;
    assert_eq!(run["no_shows"], json!(["李四 · 入口引导"]), "{run:#}");
    assert_eq!(run["none_hidden"], true);
    let note = run["note"].as_str().expect("note");
    assert!(note.starts_with("活动定稿时（12月5日 20:00）记录"), "{note}");
    assert!(note.contains("仅本组织可见，不会公示"), "{note}");
    // The live board shows the same recorded list to the organisation.
    assert_eq!(run["board_no_shows"], json!([["李四", "入口引导"]]), "{run:#}");
    assert_eq!(run["board_count"], "1 人", "{run:#}");
    assert_eq!(run["board_missing_count"], "1 人", "the count of who has not come follows the record: {run:#}");
    assert_eq!(run["board_live_missing_hidden"], true, "the list from the scans gives way to the record: {run:#}");
    let note = run["board_note"].as_str().expect("note");
    assert!(note.starts_with("12月5日 20:00 定稿时记录"), "{note}");
    assert!(note.ends_with("仅本组织可见，不会公示。"), "{note}");
}

/// Every entry of a downloaded workbook (an XLSX is a zip of XML), as one text.
fn workbook_text(bytes: &[u8]) -> String {
    let mut workbook = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a zip");
    let mut all = String::new();
    for i in 0..workbook.len() {
        let mut entry = workbook.by_index(i).expect("entry");
        std::io::Read::read_to_string(&mut entry, &mut all).expect("utf-8");
    }
    all
}

on_both_backends! {
    /// No export carries the no-shows: a finalised activity with two recorded, then every
    /// file the activity's record goes out in (the session downloads, the batch to civil
    /// affairs, and the national system's three exchange files), each as CSV and XLSX,
    /// holds the volunteer who came and neither of those who did not.
    async fn no_export_carries_the_no_shows(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let recorder = recorder(&app, &admin, org).await;
        let published = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/activities/{activity}/recruitment"),
                Some(&organiser),
                Some(json!({
                    "slots": [{"name": "入口引导", "capacity": 5}],
                    "signup_deadline": "2026-12-05T16:00:00+08:00", "cancel_cutoff": "2026-12-05T12:00:00+08:00",
                })),
            )
            .await;
        published.expect_status(200);
        let slot = published.body["slots"][0]["id"].as_i64().expect("slot");
        let (_, zhang) = app.volunteer("张三", "13800001234").await;
        let (_, li) = app.volunteer("李四", "13800005678").await;
        let (_, zhao) = app.volunteer("赵六", "13800005680").await;
        let mut numbers = Vec::new();
        for token in [&zhang, &li, &zhao] {
            app.post(&format!("/mp/v1/activities/{activity}/signups"), Some(token), json!({"slot_id": slot}))
                .await
                .expect_status(201);
            numbers.push(app.get("/mp/v1/me", token).await.body["volunteer"]["volunteer_number"].as_str().expect("number").to_owned());
        }
        for _ in 0..2 {
            let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(&zhang, &url).await.expect_status(200);
            app.advance(Duration::hours(3));
        }
        app.advance(Duration::hours(5));
        app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
        let recorded = app.get(&format!("/api/v1/activities/{activity}/no-shows"), &organiser).await;
        assert_eq!(names(&recorded.body), ["李四", "赵六"], "two no-shows recorded: {}", recorded.body);
        app.advance(Duration::days(4) + Duration::hours(4));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1, "张三's day recorded");

        // Staff sessions have idled out over the days: sign in again.
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let wuhua = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let sent = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
        sent.expect_status(201);
        let batch = sent.body["id"].clone();
        app.post(&format!("/api/v1/report-batches/{batch}/confirm"), Some(&wuhua), json!({})).await.expect_status(200);
        let exports = format!("/api/v1/organisations/{org}/exchange-exports");
        let mut exchange = Vec::new();
        for kind in ["service_records", "activities", "volunteers"] {
            let made = app.post(&exports, Some(&organiser), json!({"kind": kind})).await;
            made.expect_status(201);
            exchange.push((kind, made.body["id"].clone()));
        }

        let mut files: Vec<(String, String, &str)> = Vec::new();
        let mut wanted = vec![
            (format!("/api/v1/activities/{activity}/sessions.csv"), &organiser, "张三"),
            (format!("/api/v1/activities/{activity}/sessions.xlsx"), &organiser, "张三"),
            (format!("/api/v1/report-batches/{batch}/export.csv"), &wuhua, "张三"),
            (format!("/api/v1/report-batches/{batch}/export.xlsx"), &wuhua, "张三"),
            ("/api/v1/report-batches/export.xlsx".to_owned(), &wuhua, "张三"),
        ];
        for (kind, id) in &exchange {
            // What each file is sure to hold: the volunteer who came, or the activity.
            let present = if *kind == "activities" { "翠湖公园清洁" } else { "张三" };
            wanted.push((format!("/api/v1/exchange-exports/{id}/export.csv"), &organiser, present));
            wanted.push((format!("/api/v1/exchange-exports/{id}/export.xlsx"), &organiser, present));
        }
        for (path, bearer, present) in wanted {
            let answer = app.call(reqwest::Method::GET, &path, Some(bearer), None).await;
            answer.expect_status(200);
            let text = if path.ends_with(".xlsx") {
                workbook_text(&answer.raw)
            } else {
                String::from_utf8(answer.raw.clone()).expect("utf-8")
            };
            files.push((path, text, present));
        }
        assert_eq!(files.len(), 11);
        for (path, text, present) in &files {
            assert!(text.contains(present), "{path} holds {present}: {text}");
            for absent in ["李四", "赵六", "未到场", "no_show", numbers[1].as_str(), numbers[2].as_str()] {
                assert!(!text.contains(absent), "{path} carries {absent}: {text}");
            }
        }
    }
}
