//! Publicity (公示) and the register: finalised days are published for three working days
//! by the region's calendar, shown on a public board with masked names, then recorded in a
//! hash-chained register whose tampering is detected.

use chrono::Duration;
use hourmark_tests::{Backend, TestApp, next_resident_id, on_both_backends, registration};
use serde_json::json;

use crate::review::recorder;

/// Resolves every open flag of an activity (accept) and finalises it.
pub(crate) async fn finalise(app: &TestApp, recorder: &str, activity_id: i64) -> serde_json::Value {
    let review = app.get(&format!("/api/v1/activities/{activity_id}/review"), recorder).await;
    for day in review.body["days"].as_array().expect("days") {
        for flag in day["flags"].as_array().expect("flags") {
            if flag["status"] == "open" {
                app.post(
                    &format!("/api/v1/activities/{activity_id}/flags/{}/resolution", flag["id"]),
                    Some(recorder),
                    json!({"decision": "accept", "reason": "核实"}),
                )
                .await
                .expect_status(200);
            }
        }
    }
    let done = app.post(&format!("/api/v1/activities/{activity_id}/finalise"), Some(recorder), json!({})).await;
    done.expect_status(201);
    done.body
}

/// Edits the first register entry and removes the last, behind the application's back.
/// The append-only triggers refuse the edit and a delete; someone with the rights to drop
/// them gets through.
async fn tamper(app: &TestApp) {
    let sql =
        "update register_entry set content = replace(content, '\"minutes\":180', '\"minutes\":600') where seq = 1";
    match app.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
            let refused = sqlx::query(sql).execute(&pool).await.expect_err("append-only");
            assert!(refused.to_string().contains("append-only"), "{refused}");
            sqlx::query("delete from register_entry").execute(&pool).await.expect_err("append-only");
            sqlx::query("drop trigger register_entry_no_update on register_entry").execute(&pool).await.expect("drop");
            sqlx::query(sql).execute(&pool).await.expect("tamper");
            sqlx::query("delete from register_entry where seq = 2").execute(&pool).await.expect("remove the last");
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
            let refused = sqlx::query(sql).execute(&pool).await.expect_err("append-only");
            assert!(refused.to_string().contains("append-only"), "{refused}");
            sqlx::query("delete from register_entry").execute(&pool).await.expect_err("append-only");
            sqlx::query("drop trigger register_entry_no_update").execute(&pool).await.expect("drop");
            sqlx::query("drop trigger register_entry_no_delete").execute(&pool).await.expect("drop");
            sqlx::query(sql).execute(&pool).await.expect("tamper");
            sqlx::query("delete from register_entry where seq = 2").execute(&pool).await.expect("remove the last");
        }
    }
}

on_both_backends! {
    async fn finalised_days_are_published_then_recorded_in_a_chained_register(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let mut private = registration("李四", "13800005678", &next_resident_id());
        private["consent"]["publicity"] = json!(false);
        let other = app.post("/mp/v1/volunteers", None, private).await;
        other.expect_status(201);
        let other = other.body["access_token"].as_str().expect("token").to_owned();
        for (volunteer, _) in [(&e.volunteer, 0), (&other, 1)] {
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(volunteer, &url).await.expect_status(200);
        }
        app.advance(Duration::hours(3));
        for volunteer in [&e.volunteer, &other] {
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(volunteer, &url).await.expect_status(200);
        }
        app.advance(Duration::hours(8)); // 20:00, Saturday 5 December 2026
        finalise(&app, &recorder, e.activity_id).await;

        // Published on Saturday: Monday to Wednesday are the three working days.
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        board.expect_status(200);
        let lines = board.body.as_array().expect("lines");
        assert_eq!(lines.len(), 2);
        let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().expect("name")).collect();
        assert!(names.contains(&"张*"), "a consenting volunteer's masked name: {names:?}");
        assert!(names.contains(&"未公开姓名"), "an anonymous line otherwise: {names:?}");
        assert!(lines.iter().all(|l| l["ends_on"] == "2026-12-09" && l["hours"] == 3.0 && l["status"] == "in_publicity"));
        assert!(!String::from_utf8_lossy(&board.raw).contains("1380000"), "never a phone number");
        assert!(!String::from_utf8_lossy(&board.raw).contains("张三"), "never a full name");
        // A page at a time.
        let first = app.call(reqwest::Method::GET, "/api/v1/public/publicity?limit=1", None, None).await;
        assert_eq!(first.body.as_array().map(Vec::len), Some(1));
        let after = first.body[0]["entry_id"].as_i64().expect("id");
        let next = app.call(reqwest::Method::GET, &format!("/api/v1/public/publicity?after={after}&limit=1"), None, None).await;
        assert_eq!(next.body.as_array().map(Vec::len), Some(1));
        assert_ne!(next.body[0]["entry_id"], first.body[0]["entry_id"]);
        app.call(reqwest::Method::GET, "/api/v1/public/publicity?limit=many", None, None).await
            .expect_problem(400, "invalid_parameter");
        let paged = app.client.get(app.url("/publicity?limit=1")).send().await.expect("page").text().await.expect("html");
        assert!(paged.contains("下一页"), "{paged}");
        let page = app.client.get(app.url("/publicity")).send().await.expect("page").text().await.expect("html");
        assert!(page.contains("张*") && page.contains("12月9日"), "{page}");

        // Not before the period's last working day has ended.
        app.advance(Duration::days(4)); // Wednesday 9 December, 20:00
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0);
        app.advance(Duration::hours(4)); // Thursday 10 December, 00:00
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 2);
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0, "each entry once");
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(0));

        // The register: what, who, where, minutes, leader and recorder; a chain that holds.
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        assert_eq!(entries.len(), 2);
        let first: serde_json::Value = serde_json::from_str(&entries[0].content).expect("json");
        assert_eq!(first["minutes"], 180);
        assert_eq!(first["activity_name"], "翠湖公园清洁");
        assert_eq!(first["recorder"], "王记录");
        assert_eq!(first["organisation_name"], "翠湖志愿者协会");
        assert_eq!(entries[1].previous_hash, entries[0].hash, "each entry carries the hash of the one before");
        let check = app.hourmark.verify_register().await.expect("verify");
        assert_eq!((check.entries, check.first_broken), (2, None));

        // Changing a row in the database breaks the chain at that row, and the command says so.
        tamper(&app).await;
        let check = app.hourmark.verify_register().await.expect("verify");
        assert_eq!(check.first_broken, Some(1));
        assert_eq!(check.recorded_without_entry, 1, "the removed last entry is missed too");
        let mut command = std::process::Command::new(crate::binary::server_binary());
        command
            .arg("verify-register")
            .env("HOURMARK_DATABASE_URL", &app.config.database_url)
            .env("HOURMARK_QR_KEYS", hourmark_tests::TEST_QR_KEYS)
            .env("HOURMARK_PII_KEYS", hourmark_tests::TEST_PII_KEYS)
            .env("HOURMARK_PII_LOOKUP_KEY", hourmark_tests::TEST_PII_LOOKUP_KEY)
            .env("HOURMARK_LOG", "warn")
            .env_remove("HOURMARK_REDIS_URL");
        let out = command.output().expect("runs");
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("BROKEN at entry 1") && said.contains("INCOMPLETE: 1"), "{said}");
    }
}

on_both_backends! {
    async fn a_period_in_a_year_without_data_is_held_until_the_year_is_added(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app
            .activity(&organiser, org, json!({
                "name": "岁末慰问", "starts_at": "2026-12-28T08:00:00+08:00", "ends_at": "2026-12-28T17:00:00+08:00"
            }))
            .await["id"]
            .as_i64()
            .expect("id");
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        app.advance(Duration::days(23)); // Monday 28 December 2026, 09:00
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let recorder = recorder(&app, &admin, org).await;
        for _ in 0..2 {
            let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(&volunteer, &url).await.expect_status(200);
            app.advance(Duration::hours(2));
        }
        app.advance(Duration::hours(6));
        finalise(&app, &recorder, activity).await;

        // Published Monday 28 December: the 29th needs the 2027 notice: held, and the board says so.
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body[0]["status"], "held");
        assert!(board.body[0].get("ends_on").is_none_or(serde_json::Value::is_null));
        app.advance(Duration::days(10));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0, "never assumed plain weekdays");

        // An officer adds the newly published year; the period then runs from the day of
        // publication. (A sketch of 2027: New Year's Day off.)
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let organiser = app.organiser(&admin, org).await;
        let year = json!({
            "year": 2027,
            "source": {"title": "国务院办公厅关于2027年部分节假日安排的通知", "document": null, "published": null, "url": null},
            "holidays": [{"name": "元旦", "days": ["2027-01-01"]}],
            "workdays": []
        });
        // A national year changes every period in the country: administrators only.
        app.post("/api/v1/calendar/years", Some(&organiser), year.clone()).await.expect_problem(403, "forbidden");
        app.post("/api/v1/calendar/years", Some(&officer), year.clone()).await.expect_problem(403, "forbidden");
        let mut unsound = year.clone();
        unsound["workdays"] = json!([{"name": "x", "days": ["2027-01-06"]}]);
        app.post("/api/v1/calendar/years", Some(&admin), unsound).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/calendar/years", Some(&admin), year.clone()).await.expect_status(200);
        app.post("/api/v1/calendar/years", Some(&admin), year).await.expect_problem(422, "invalid_body");
        // Published Monday 28 December: 29, 30, 31 December are the three working days.
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let years = app.get("/api/v1/calendar/years", &officer).await;
        assert!(years.body.as_array().expect("years").iter().any(|y| y["year"] == 2027));
    }
}

on_both_backends! {
    async fn an_objection_holds_the_entry_until_a_recorder_decides(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
        let recorder = recorder(&app, &admin, org).await;
        let (_, zhang_token) = app.volunteer("张三", "13800001234").await;
        let (li_id, li_token) = app.volunteer("李四", "13800005678").await;
        for _ in 0..2 {
            for volunteer in [&zhang_token, &li_token] {
                let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
                app.scan(volunteer, &url).await.expect_status(200);
            }
            app.advance(Duration::hours(3));
        }
        app.advance(Duration::hours(5)); // 20:00
        finalise(&app, &recorder, activity).await;
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        let entry = |name: &str| {
            board.body.as_array().expect("lines").iter().find(|l| l["name"] == name).expect("line")["entry_id"].clone()
        };
        let (zhang, li) = (entry("张*"), entry("李*"));
        let object = |entry: &serde_json::Value| format!("/api/v1/public/publicity/{entry}/objections");
        let body = json!({"contact": "王先生 13912345678", "reason": "张三当天下午才到"});

        // The recorder who finalised may not object to their own decision; bad input changes nothing.
        app.post(&object(&zhang), Some(&recorder), body.clone()).await.expect_problem(403, "own_decision");
        app.post(&object(&zhang), None, json!({"contact": "x", "reason": ""})).await.expect_problem(422, "invalid_body");
        app.post("/api/v1/public/publicity/999999/objections", None, body.clone()).await.expect_problem(404, "not_found");
        let raised = app.post(&object(&zhang), None, body.clone()).await;
        raised.expect_status(201);
        assert!(!String::from_utf8_lossy(&raised.raw).contains("13912345678"), "the objector's contact stays private");
        app.post(&object(&zhang), None, json!({"contact": "匿名", "reason": "我觉得时长太长"})).await.expect_status(201);

        // The period ends on Wednesday; the objected entry waits, the other is recorded.
        app.advance(Duration::days(4) + Duration::hours(4)); // Thursday 10 December, 00:00
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        app.post(&object(&li), None, body.clone()).await.expect_problem(409, "not_in_publicity");
        app.post(&object(&zhang), None, body.clone()).await.expect_problem(409, "not_in_publicity");

        // Days later the staff sign in again; a recorder upholds it: the session is corrected
        // and its publicity starts again.
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        let deciding = crate::review::recorder(&app, &admin, org).await;
        let listed = app.get(&format!("/api/v1/activities/{activity}/objections"), &deciding).await;
        assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
        assert!(!String::from_utf8_lossy(&listed.raw).contains("13912345678"));
        let decide = format!("/api/v1/objections/{}/decision", listed.body[0]["id"]);
        // The second is dismissed with a reason; the first still holds the entry.
        let dismiss = format!("/api/v1/objections/{}/decision", listed.body[1]["id"]);
        let dismissed = app.post(&dismiss, Some(&deciding), json!({"uphold": false, "reason": "签到记录与现场照片一致"})).await;
        dismissed.expect_status(200);
        assert_eq!(dismissed.body["status"], "dismissed");
        app.post(&dismiss, Some(&deciding), json!({"uphold": false, "reason": "x"})).await
            .expect_problem(409, "objection_decided");
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0, "still held by the open objection");
        app.post(&decide, Some(&organiser), json!({"uphold": true, "minutes": 150, "reason": "核实"})).await
            .expect_problem(403, "forbidden");
        app.post(&decide, Some(&deciding), json!({"uphold": true, "minutes": 541, "reason": "核实"})).await
            .expect_problem(422, "minutes_over_cap");
        app.post(&decide, Some(&deciding), json!({"uphold": true, "reason": "核实"})).await
            .expect_problem(422, "invalid_body");
        let upheld = app.post(&decide, Some(&deciding), json!({"uphold": true, "minutes": 150, "reason": "下午一点才到"})).await;
        upheld.expect_status(200);
        assert_eq!(upheld.body["status"], "upheld");
        app.post(&decide, Some(&deciding), json!({"uphold": false, "reason": "再议"})).await
            .expect_problem(409, "objection_decided");
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        let line = &board.body[0];
        assert_eq!((line["name"].as_str(), line["hours"].as_f64()), (Some("张*"), Some(2.5)));
        assert_eq!(line["ends_on"], "2026-12-15", "published again Thursday: Friday, Monday, Tuesday");
        let finalised = app.get(&format!("/api/v1/activities/{activity}/finalisation"), &deciding).await;
        assert!(finalised.body["sessions"].as_array().expect("sessions").iter().any(|s| s["final_minutes"] == 150));

        // After the new period it is recorded with the corrected minutes.
        app.advance(Duration::days(6));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        let minutes: Vec<i64> = entries
            .iter()
            .map(|e| serde_json::from_str::<serde_json::Value>(&e.content).expect("json")["minutes"].as_i64().expect("m"))
            .collect();
        assert_eq!(minutes, vec![180, 150]);
        assert_eq!(app.hourmark.verify_register().await.expect("verify").first_broken, None);

        // A recorded entry is corrected by reversal and replacement, never by editing; the
        // correction needs a second recorder and is published again before the register
        // takes it.
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let recorder = crate::review::recorder(&app, &admin, org).await;
        let deciding = crate::review::recorder(&app, &admin, org).await;
        let corrections = format!("/api/v1/activities/{activity}/session-corrections");
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": li_id, "day": "2026-12-05", "minutes": 170, "reason": "复核签到表后更正"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&deciding),
            json!({"approve": true, "reason": "签到表核实"})).await.expect_status(200);
        assert_eq!(app.hourmark.register_entries(0, 10).await.expect("register").len(), 2, "not before publicity");
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(1), "published again: {}", board.body);
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        let kinds: Vec<(&str, i64)> = entries.iter().map(|e| (e.kind.as_str(), e.minutes)).collect();
        assert_eq!(kinds, vec![("original", 180), ("original", 150), ("reversal", -180), ("replacement", 170)]);
        let reversal: serde_json::Value = serde_json::from_str(&entries[2].content).expect("json");
        assert_eq!((reversal["reverses"].as_i64(), reversal["reason"].as_str()), (Some(1), Some("复核签到表后更正")));
        let replacement: serde_json::Value = serde_json::from_str(&entries[3].content).expect("json");
        assert_eq!((replacement["replaces"].as_i64(), replacement["minutes"].as_i64()), (Some(1), Some(170)));
        assert_eq!(app.hourmark.verify_register().await.expect("verify"), hourmark_core::publicity::RegisterCheck {
            entries: 4,
            first_broken: None,
            recorded_without_entry: 0,
        });

        // A correction that committed but crashed before reaching publicity (simulated by
        // changing the finalised session alone) is carried by the next run of the job:
        // published again, then recorded once.
        let sql = "update finalised_session set final_minutes = 160 where final_minutes = 170";
        match app.backend {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query(sql).execute(&pool).await.expect("half a correction");
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.config.database_url).await.expect("connect");
                sqlx::query(sql).execute(&pool).await.expect("half a correction");
            }
        }
        app.hourmark.advance_publicity().await.expect("job");
        app.hourmark.advance_publicity().await.expect("job again");
        assert_eq!(app.hourmark.register_entries(0, 10).await.expect("register").len(), 4, "not before publicity");
        app.advance(Duration::days(7));
        app.hourmark.advance_publicity().await.expect("job");
        app.hourmark.advance_publicity().await.expect("job again");
        let entries = app.hourmark.register_entries(0, 10).await.expect("register");
        let kinds: Vec<(&str, i64)> = entries.iter().map(|e| (e.kind.as_str(), e.minutes)).collect();
        assert_eq!(kinds[4..], [("reversal", -170), ("replacement", 160)], "carried once: {kinds:?}");
        assert!(app.hourmark.verify_register().await.expect("verify").holds());
    }
}

/// 张三 and 李四 each serve two three-hour stints of a toggling activity, which a
/// recorder finalises on Saturday 5 December 2026 at 20:00: both days are in publicity.
/// Answers the event and that recorder.
async fn two_published(app: &TestApp) -> (crate::Event, String) {
    let e = crate::event(app, "toggle").await;
    let recorder = recorder(app, &e.admin, e.organisation_id).await;
    let (_, li) = app.volunteer("李四", "13800005678").await;
    for _ in 0..2 {
        for volunteer in [&e.volunteer, &li] {
            let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
            app.scan(volunteer, &url).await.expect_status(200);
        }
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5));
    finalise(app, &recorder, e.activity_id).await;
    (e, recorder)
}

on_both_backends! {
    async fn an_open_objection_shows_on_the_board_until_it_is_decided(app: TestApp) {
        let (e, recorder) = two_published(&app).await;
        let board = || async { app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await };
        let line = |board: &hourmark_tests::Answer, name: &str| {
            let lines = board.body.as_array().expect("lines");
            lines.iter().find(|l| l["name"] == name).map(|l| (l["status"].clone(), l["ends_on"].clone()))
        };
        let page = || async { app.client.get(app.url("/publicity")).send().await.expect("page").text().await.expect("html") };
        let in_publicity = Some((json!("in_publicity"), json!("2026-12-09")));
        let pending = Some((json!("objection_pending"), json!("2026-12-09")));
        let now = board().await;
        assert_eq!((line(&now, "张*"), line(&now, "李*")), (in_publicity.clone(), in_publicity.clone()));
        let zhang = now.body.as_array().expect("lines").iter().find(|l| l["name"] == "张*").expect("line")["entry_id"].clone();
        let object = format!("/api/v1/public/publicity/{zhang}/objections");

        // A refused objection changes nothing on the board.
        let body = json!({"contact": "王先生 13912345678", "reason": "张三当天下午才到"});
        app.post(&object, Some(&recorder), body.clone()).await.expect_problem(403, "own_decision");
        app.post(&object, None, json!({"contact": "x", "reason": ""})).await.expect_problem(422, "invalid_body");
        assert_eq!(line(&board().await, "张*"), in_publicity);

        // An open objection shows, with the period's end; the other entry is untouched.
        app.post(&object, None, body.clone()).await.expect_status(201);
        let now = board().await;
        assert_eq!((line(&now, "张*"), line(&now, "李*")), (pending.clone(), in_publicity.clone()));
        let html = page().await;
        assert_eq!((html.matches("异议处理中").count(), html.matches("公示中").count()), (1, 1), "{html}");

        // Dismissed, it is in publicity again; another objection holds it once more.
        // (Decided by a recorder other than the one who finalised.)
        let judge = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
        let listed = app.get(&format!("/api/v1/activities/{}/objections", e.activity_id), &judge).await;
        let dismiss = format!("/api/v1/objections/{}/decision", listed.body[0]["id"]);
        app.post(&dismiss, Some(&judge), json!({"uphold": true, "reason": "x"})).await.expect_problem(422, "invalid_body");
        assert_eq!(line(&board().await, "张*"), pending, "a refused decision leaves it pending");
        app.post(&dismiss, Some(&judge), json!({"uphold": false, "reason": "签到记录与现场照片一致"})).await
            .expect_status(200);
        assert_eq!(line(&board().await, "张*"), in_publicity);
        app.post(&object, None, json!({"contact": "匿名", "reason": "时长不对"})).await.expect_status(201);

        // After the period's end the objected entry still waits, and still says why.
        app.advance(Duration::days(4) + Duration::hours(4)); // Thursday 10 December, 00:00
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 0);
        let now = board().await;
        assert_eq!(now.body.as_array().map(Vec::len), Some(1));
        assert_eq!(line(&now, "张*"), pending, "held by the objection past its end");
        let html = page().await;
        assert!(html.contains("异议处理中") && html.contains("12月9日") && !html.contains("公示中"), "{html}");
    }
}

on_both_backends! {
    async fn a_province_or_an_organisation_may_lengthen_publicity(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let wuhua = app.staff(&e.admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let panlong = app.staff(&e.admin, json!({"name": "民政", "role": "officer", "region_code": "530103"})).await;
        let set = |token: &str, body: serde_json::Value| {
            let (app, token) = (&app, token.to_owned());
            async move { app.call(reqwest::Method::PUT, "/api/v1/publicity/working-days", Some(&token), Some(body)).await }
        };
        set(&e.admin, json!({"province_code": "530000", "working_days": 2})).await.expect_problem(422, "invalid_body");
        set(&e.admin, json!({"working_days": 4})).await.expect_problem(422, "invalid_body");
        set(&wuhua, json!({"province_code": "530000", "working_days": 4})).await.expect_problem(403, "forbidden");
        set(&panlong, json!({"organisation_id": e.organisation_id, "working_days": 5})).await
            .expect_problem(403, "forbidden");
        set(&e.organiser, json!({"organisation_id": e.organisation_id, "working_days": 5})).await
            .expect_problem(403, "forbidden");
        set(&e.admin, json!({"province_code": "530000", "working_days": 4})).await.expect_status(200);
        let org = app.hourmark.store().get_organisation(e.organisation_id).await.expect("read").expect("org");
        assert_eq!(app.hourmark.publicity_days(&org).await.expect("days"), 4, "the province's setting");
        set(&wuhua, json!({"organisation_id": e.organisation_id, "working_days": 3})).await.expect_status(200);
        assert_eq!(app.hourmark.publicity_days(&org).await.expect("days"), 4, "an organisation cannot shorten it");
        set(&wuhua, json!({"organisation_id": e.organisation_id, "working_days": 5})).await.expect_status(200);
        assert_eq!(app.hourmark.publicity_days(&org).await.expect("days"), 5, "but may lengthen it");

        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(8));
        // The district declares Monday 7 December a local holiday; the next district does not
        // get to, and another district's holiday does not count here.
        let overlay = |region: &str| json!({"region_code": region, "day": "2026-12-07", "kind": "off", "name": "民族节日"});
        let put = |token: &str, body: serde_json::Value| {
            let (app, token) = (&app, token.to_owned());
            async move { app.call(reqwest::Method::PUT, "/api/v1/calendar/overlays", Some(&token), Some(body)).await }
        };
        put(&wuhua, overlay("530103")).await.expect_problem(403, "forbidden");
        put(&wuhua, json!({"region_code": "530102", "day": "2026-12-07", "kind": "sometimes", "name": "x"})).await
            .expect_problem(422, "invalid_body");
        put(&wuhua, json!({"region_code": "530102", "day": "2026-12-07", "kind": "off", "name": ""})).await
            .expect_problem(422, "invalid_body");
        put(&panlong, overlay("530103")).await.expect_status(200);
        put(&wuhua, overlay("530102")).await.expect_status(200);
        // One set by mistake is removed; removing it twice is not found.
        put(&wuhua, json!({"region_code": "530102", "day": "2026-12-08", "kind": "off", "name": "误设"})).await
            .expect_status(200);
        let remove = "/api/v1/calendar/overlays/530102/2026-12-08";
        app.call(reqwest::Method::DELETE, remove, Some(&panlong), None).await.expect_problem(403, "forbidden");
        app.call(reqwest::Method::DELETE, remove, Some(&wuhua), None).await.expect_status(204);
        app.call(reqwest::Method::DELETE, remove, Some(&wuhua), None).await.expect_problem(404, "not_found");
        app.call(reqwest::Method::DELETE, "/api/v1/calendar/overlays/530102/not-a-day", Some(&wuhua), None).await
            .expect_problem(400, "invalid_parameter");
        finalise(&app, &recorder, e.activity_id).await;
        // Published Saturday 5 December: Tuesday 8 to Monday 14 are the five working days
        // (Monday 7 is the district's holiday).
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body[0]["ends_on"], "2026-12-14");
    }
}

on_both_backends! {
    async fn a_day_corrected_up_from_nothing_is_published(app: TestApp) {
        let e = crate::event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let second = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
        let far = json!({"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0});
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        let scan = json!({"code": url, "nonce": uuid::Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(),
            "device_id": "test-phone-1", "location": far});
        app.post("/mp/v1/scans", Some(&e.volunteer), scan).await.expect_status(200);
        app.advance(Duration::hours(3));
        let url = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(8));
        // The recorder rejects the day (outside the geofence): it earns nothing, so nothing is published.
        let review = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &recorder).await;
        let flag = review.body["days"][0]["flags"][0]["id"].clone();
        app.post(&format!("/api/v1/activities/{}/flags/{flag}/resolution", e.activity_id), Some(&recorder),
            json!({"decision": "reject", "reason": "不在现场"})).await.expect_status(200);
        app.post(&format!("/api/v1/activities/{}/finalise", e.activity_id), Some(&recorder), json!({})).await
            .expect_status(201);
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(0));
        // Evidence turns up: the correction publishes the day.
        let corrections = format!("/api/v1/activities/{}/session-corrections", e.activity_id);
        let proposed = app.post(&corrections, Some(&second),
            json!({"volunteer_id": e.volunteer_id, "day": "2026-12-05", "minutes": 120, "reason": "照片证明在场"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&recorder),
            json!({"approve": true, "reason": "照片核实"})).await.expect_status(200);
        let board = app.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
        assert_eq!(board.body.as_array().map(Vec::len), Some(1));
        assert_eq!(board.body[0]["hours"], 2.0);
    }
}

/// The board is kept for a moment per instance (`HOURMARK_PUBLIC_BOARD_CACHE_MS`): a change
/// made through another instance shows once that moment has passed, a change made through
/// the same instance at once, and an instance that keeps nothing always reads the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_is_kept_for_a_moment_and_a_change_here_shows_at_once() {
    let keeping = TestApp::spawn_adjusted(Backend::Postgres, |config| config.public_board_cache_ms = 60_000).await;
    let other = keeping.another_instance(|_| {}).await;
    let fresh = keeping.another_instance(|c| c.public_board_cache_ms = 0).await;
    let app = &keeping;
    two_published(app).await;
    let (zhang, before) = board_status(app, "张*").await;
    assert_eq!(before, "in_publicity");
    assert_eq!(board_status(app, "李*").await.1, "in_publicity");

    // Objected to through another instance: this one still shows what it kept …
    let object = |id: i64| format!("/api/v1/public/publicity/{id}/objections");
    let body = json!({"contact": "王先生 13912345678", "reason": "张三当天下午才到"});
    other.post(&object(zhang), None, body.clone()).await.expect_status(201);
    assert_eq!(board_status(app, "张*").await.1, "in_publicity", "kept for the moment the setting allows");
    // … an instance that keeps nothing shows the objection at once …
    assert_eq!(board_status(&fresh, "张*").await.1, "objection_pending");
    // … and a change made here empties what this instance kept: both objections show.
    let (li_entry, _) = board_status(app, "李*").await;
    app.post(&object(li_entry), None, body).await.expect_status(201);
    assert_eq!(board_status(app, "张*").await.1, "objection_pending");
    assert_eq!(board_status(app, "李*").await.1, "objection_pending");
}

/// The status of `name`'s line on `instance`'s board, with its entry id.
async fn board_status(instance: &TestApp, name: &str) -> (i64, String) {
    let board = instance.call(reqwest::Method::GET, "/api/v1/public/publicity", None, None).await;
    board.expect_status(200);
    let lines = board.body.as_array().expect("lines");
    let line = lines.iter().find(|l| l["name"] == name).expect("the line");
    (line["entry_id"].as_i64().expect("entry id"), line["status"].as_str().expect("status").to_owned())
}
