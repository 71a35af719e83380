//! Review end to end: rules raise flags as scans arrive and over the whole activity; a
//! recorder (or, for the longest days, a civil-affairs officer) resolves each once.

use chrono::Duration;
use hourmark_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event;

/// A recorder of `organisation_id` with a valid certificate.
pub async fn recorder(app: &TestApp, admin: &str, organisation_id: i64) -> String {
    app.staff(admin, json!({
        "name": "王记录", "role": "recorder", "organisation_id": organisation_id,
        "qualification": {"certificate_number": "YN-2025-0001", "issued_on": "2025-12-01", "review_due_on": "2027-12-01"}
    }))
    .await
}

/// Accepts every flag on the activity's first review page as `recorder`, so it can be
/// finalised.
pub async fn accept_every_flag(app: &TestApp, recorder: &str, activity_id: i64) {
    let path = format!("/api/v1/activities/{activity_id}");
    let review = app.get(&format!("{path}/review"), recorder).await;
    review.expect_status(200);
    for day in review.body["days"].as_array().expect("days") {
        for flag in day["flags"].as_array().expect("flags") {
            app.post(
                &format!("{path}/flags/{}/resolution", flag["id"]),
                Some(recorder),
                json!({"decision": "accept", "reason": "核实"}),
            )
            .await
            .expect_status(200);
        }
    }
}

/// Scans `code` from `location` (`None`: no location).
async fn scan_from(app: &TestApp, volunteer: &str, code: &str, location: Option<Value>) -> hourmark_tests::Answer {
    let mut body = json!({
        "code": code, "nonce": Uuid::new_v4(), "client_time": app.clock_now().to_rfc3339(), "device_id": "test-phone-1",
    });
    if let Some(location) = location {
        body["location"] = location;
    }
    app.post("/mp/v1/scans", Some(volunteer), body).await
}

async fn code_url(app: &TestApp, staff: &str, activity_id: i64) -> String {
    app.code(staff, activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned()
}

fn rules(review: &Value) -> Vec<String> {
    let mut rules: Vec<String> = review["days"]
        .as_array()
        .expect("days")
        .iter()
        .flat_map(|d| {
            d["flags"].as_array().expect("flags").iter().map(|f| f["rule"].as_str().expect("rule").to_owned())
        })
        .collect();
    rules.sort();
    rules
}

on_both_backends! {
    async fn a_recorder_resolves_each_flag_once_within_the_cap(app: TestApp) {
        let e = event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        // About 1.1 km north of the venue: outside its 300 m.
        let far = json!({"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0});
        scan_from(&app, &e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await, Some(far)).await
            .expect_status(200);
        // Raised as the scan arrived, before anyone looks.
        let raised = app.hourmark.store().flags(e.activity_id).await.expect("flags");
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].rule.as_str(), "outside_geofence");

        app.advance(Duration::hours(4));
        app.scan(&e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await).await.expect_status(200);

        let review = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &recorder).await;
        review.expect_status(200);
        assert_eq!(rules(&review.body), vec!["outside_geofence"]);
        assert_eq!(review.body["open_flags"], 1);
        let day = &review.body["days"][0];
        assert_eq!(day["scan_minutes"], 240);
        assert_eq!(day["scheduled_minutes"], 540);
        assert_eq!(day["scans"].as_array().map(Vec::len), Some(2), "the evidence: the day's scans");
        let flag = &day["flags"][0];
        assert_eq!(flag["severity"], "medium");
        assert!(flag["explanation"].as_str().is_some_and(|x| x.contains("超出 300 米")), "{flag}");
        assert!(flag["evidence"]["distance_m"].as_f64().is_some_and(|d| d > 1000.0));
        let resolve = format!("/api/v1/activities/{}/flags/{}/resolution", e.activity_id, flag["id"]);

        // Only a qualified recorder of the organisation decides; bad decisions change nothing.
        app.post(&resolve, Some(&e.organiser), json!({"decision": "accept", "reason": "核实"})).await
            .expect_problem(403, "forbidden");
        app.post(&resolve, Some(&recorder), json!({"decision": "adjust", "minutes": 541, "reason": "按计划"})).await
            .expect_problem(422, "minutes_over_cap");
        app.post(&resolve, Some(&recorder), json!({"decision": "adjust", "reason": "按计划"})).await
            .expect_problem(422, "invalid_body");
        app.post(&resolve, Some(&recorder), json!({"decision": "accept", "minutes": 10, "reason": "核实"})).await
            .expect_problem(422, "invalid_body");
        app.post(&resolve, Some(&recorder), json!({"decision": "accept", "reason": ""})).await
            .expect_problem(422, "invalid_body");

        let adjusted =
            app.post(&resolve, Some(&recorder), json!({"decision": "adjust", "minutes": 180, "reason": "在停车场引导，已核实"})).await;
        adjusted.expect_status(200);
        assert_eq!(adjusted.body["status"], "adjusted");
        assert_eq!(adjusted.body["adjusted_minutes"], 180);
        app.post(&resolve, Some(&recorder), json!({"decision": "reject", "reason": "再看"})).await
            .expect_problem(409, "flag_resolved");

        // Audited with who, when and why; looking again raises nothing new.
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        let entry = audit.iter().find(|a| a.action == "flag_adjusted").expect("audited");
        assert_eq!(entry.detail["reason"], "在停车场引导，已核实");
        let again = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &recorder).await;
        assert_eq!(rules(&again.body), vec!["outside_geofence"]);
        assert_eq!(again.body["open_flags"], 0);

        // Another organisation's staff do not see it; leaders do not review.
        let other_org = app.organisation(&e.admin, "别的组织").await;
        let other = crate::review::recorder(&app, &e.admin, other_org).await;
        app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &other).await.expect_problem(404, "not_found");
        app.post(&resolve, Some(&other), json!({"decision": "accept", "reason": "x"})).await
            .expect_problem(404, "not_found");
    }
}

on_both_backends! {
    async fn an_activity_can_require_a_location(app: TestApp) {
        let e = event(&app, "toggle").await;
        let settings = format!("/api/v1/activities/{}/review/settings", e.activity_id);
        app.call(reqwest::Method::PUT, &settings, Some(&e.organiser),
            Some(json!({"params": {"require_location": true, "late_upload_secs": 5}}))).await
            .expect_problem(422, "invalid_body");
        let set = app.call(reqwest::Method::PUT, &settings, Some(&e.organiser),
            Some(json!({"params": {"require_location": true}, "left_open_policy": "credit_nothing"}))).await;
        set.expect_status(200);
        assert_eq!(set.body["params"]["min_session_minutes"], 10, "omitted parameters keep their defaults");
        scan_from(&app, &e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await, None).await.expect_status(200);
        let raised = app.hourmark.store().flags(e.activity_id).await.expect("flags");
        assert_eq!(raised.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), vec!["location_missing"]);
    }
}

on_both_backends! {
    async fn days_over_twelve_hours_are_for_civil_affairs(app: TestApp) {
        let (admin, mut admin_key) = app.administrator_with_passkey().await;
        let org = app.organisation(&admin, "翠湖志愿者协会").await;
        let organiser = app.organiser(&admin, org).await;
        let long = app
            .activity(&organiser, org, json!({
                "name": "马拉松保障", "starts_at": "2026-12-05T09:00:00+08:00", "ends_at": "2026-12-05T23:30:00+08:00"
            }))
            .await["id"]
            .as_i64()
            .expect("id");
        let (_, volunteer) = app.volunteer("张三", "13800001234").await;
        app.scan(&volunteer, &code_url(&app, &organiser, long).await).await.expect_status(200);
        // Staff tokens last 12 hours: the administrator signs in again in the evening.
        app.advance(Duration::minutes(12 * 60 + 1));
        let admin = app.sign_in("admin", &mut admin_key).await.expect("passkey").body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let organiser = app.organiser(&admin, org).await;
        app.scan(&volunteer, &code_url(&app, &organiser, long).await).await.expect_status(200);
        let recorder = recorder(&app, &admin, org).await;
        let wuhua = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        let panlong = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530103"})).await;

        let review = app.get(&format!("/api/v1/activities/{long}/review"), &wuhua).await;
        review.expect_status(200);
        assert_eq!(rules(&review.body), vec!["daily_over_officer_limit"]);
        let flag = &review.body["days"][0]["flags"][0];
        assert_eq!(flag["reviewer"], "civil_affairs");
        assert_eq!(flag["severity"], "high");
        assert_eq!(flag["evidence"]["minutes"], 721);
        let resolve = format!("/api/v1/activities/{long}/flags/{}/resolution", flag["id"]);
        app.post(&resolve, Some(&recorder), json!({"decision": "accept", "reason": "核实"})).await
            .expect_problem(403, "forbidden");
        app.post(&resolve, Some(&panlong), json!({"decision": "accept", "reason": "核实"})).await
            .expect_problem(404, "not_found");
        let accepted = app.post(&resolve, Some(&wuhua), json!({"decision": "accept", "reason": "赛事保障，已核实"})).await;
        accepted.expect_status(200);
        assert_eq!(accepted.body["status"], "accepted");

        // Nor may a recorder set more than 12 hours by hand: a late entry of 13 hours is
        // civil affairs' to decide, 12 hours is the recorder's.
        let (other_id, _) = app.volunteer("李四", "13800005678").await;
        let entry = |minutes: u32| json!({
            "volunteer_id": other_id, "day": "2026-12-05", "minutes": minutes,
            "evidence": "签到表", "reason": "手机没电"
        });
        let entries = format!("/api/v1/activities/{long}/late-entries");
        app.post(&entries, Some(&recorder), entry(780)).await.expect_problem(403, "forbidden");
        app.post(&entries, Some(&recorder), entry(720)).await.expect_status(201);
    }
}

on_both_backends! {
    async fn sessions_left_open_are_closed_once_flagged_and_the_volunteer_told(app: TestApp) {
        let e = event(&app, "toggle").await;
        let strict = app
            .activity(&e.organiser, e.organisation_id, json!({"name": "不计时活动"}))
            .await["id"]
            .as_i64()
            .expect("id");
        app.call(reqwest::Method::PUT, &format!("/api/v1/activities/{strict}/review/settings"), Some(&e.organiser),
            Some(json!({"left_open_policy": "credit_nothing"}))).await.expect_status(200);
        let (_, other) = app.volunteer("李四", "13800005678").await;
        app.scan(&e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await).await.expect_status(200);
        app.scan(&other, &code_url(&app, &e.organiser, strict).await).await.expect_status(200);

        // 17:00 end, departures until 19:00: nothing is closed before then.
        app.advance(Duration::hours(9) + Duration::minutes(59));
        assert_eq!(app.hourmark.close_left_open_sessions().await.expect("job"), 0);
        app.advance(Duration::minutes(2));
        assert_eq!(app.hourmark.close_left_open_sessions().await.expect("job"), 2);
        assert_eq!(app.hourmark.close_left_open_sessions().await.expect("job"), 0, "each activity once");
        // The policy that decided the closing can no longer change.
        app.call(reqwest::Method::PUT, &format!("/api/v1/activities/{strict}/review/settings"), Some(&e.organiser),
            Some(json!({"left_open_policy": "credit_to_end"}))).await.expect_problem(409, "activity_ended");

        // Credited up to the scheduled end (08:00 check-in opened; scanned in at 09:00).
        let sessions = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(sessions[0]["minutes_credited"], 480);
        let strict_sessions = app.sessions(&e.organiser, strict).await;
        assert_eq!(strict_sessions[0]["minutes_credited"], 0, "credit nothing");
        for activity in [e.activity_id, strict] {
            let flags = app.hourmark.store().flags(activity).await.expect("flags");
            assert!(flags.iter().any(|f| f.rule.as_str() == "left_open"), "{flags:?}");
        }
        let told = app.get("/mp/v1/me/notifications", &e.volunteer).await;
        told.expect_status(200);
        assert_eq!(told.body.as_array().map(Vec::len), Some(1));
        assert!(told.body[0]["body"].as_str().is_some_and(|b| b.contains("系统已按活动结束时间为您签退")));
        let told = app.get("/mp/v1/me/notifications", &other).await;
        assert!(told.body[0]["body"].as_str().is_some_and(|b| b.contains("暂不计时长")));
        // A scan after the close is no longer taken, and the closing wrote one check-out.
        assert_eq!(app.scans_recorded(e.volunteer_id).await, 2);
    }
}

on_both_backends! {
    async fn finalising_waits_for_every_decision_and_fixes_the_minutes(app: TestApp) {
        let e = event(&app, "toggle").await;
        let first = recorder(&app, &e.admin, e.organisation_id).await;
        let second = recorder(&app, &e.admin, e.organisation_id).await;
        let lapsed = app.staff(&e.admin, json!({
            "name": "过期", "role": "recorder", "organisation_id": e.organisation_id,
            "qualification": {"certificate_number": "YN-2024-0009", "issued_on": "2024-12-01", "review_due_on": "2025-12-01"}
        })).await;
        let (other_id, _) = app.volunteer("李四", "13800005678").await;
        let far = json!({"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0});
        scan_from(&app, &e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await, Some(far)).await
            .expect_status(200);
        app.advance(Duration::hours(4));
        app.scan(&e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await).await.expect_status(200);

        // 补录 for someone who could not scan: capped, not for a day with scans, and approved
        // by another recorder.
        let entries = format!("/api/v1/activities/{}/late-entries", e.activity_id);
        let entry = |volunteer: i64, minutes: u32| json!({
            "volunteer_id": volunteer, "day": "2026-12-05", "minutes": minutes,
            "evidence": "纸质签到表第 3 页", "reason": "手机没电无法扫码"
        });
        app.post(&entries, Some(&first), entry(other_id, 541)).await.expect_problem(422, "minutes_over_cap");
        app.post(&entries, Some(&first), entry(e.volunteer_id, 60)).await.expect_problem(422, "invalid_body");
        app.post(&entries, Some(&e.organiser), entry(other_id, 120)).await.expect_problem(403, "forbidden");
        // By the number on the volunteer's card; an unknown number, or both, are refused.
        let by_number = |number: &str| json!({
            "volunteer_number": number, "day": "2026-12-05", "minutes": 120,
            "evidence": "纸质签到表第 3 页", "reason": "手机没电无法扫码"
        });
        app.post(&entries, Some(&first), by_number("999999999999")).await.expect_problem(422, "invalid_body");
        let mut both = entry(other_id, 120);
        both["volunteer_number"] = json!("999999999999");
        app.post(&entries, Some(&first), both).await.expect_problem(422, "invalid_body");
        app.post(&entries, Some(&first), json!({"day": "2026-12-05", "minutes": 120, "evidence": "表", "reason": "无"}))
            .await.expect_problem(422, "invalid_body");
        assert_eq!(app.get(&entries, &first).await.body, json!([]), "nothing stored");
        let other_number = app.hourmark.store().get_volunteer(other_id).await.expect("read").expect("stored").volunteer_number;
        let asked = app.post(&entries, Some(&first), by_number(&other_number)).await;
        asked.expect_status(201);
        let decide = format!("{entries}/{}/decision", asked.body["id"]);
        app.post(&decide, Some(&first), json!({"approve": true, "reason": "核实"})).await
            .expect_problem(403, "same_recorder");

        let finalise = format!("/api/v1/activities/{}/finalise", e.activity_id);
        app.post(&finalise, Some(&first), json!({})).await.expect_problem(409, "activity_in_progress");
        app.advance(Duration::hours(6) + Duration::minutes(1)); // 19:01: departures closed
        app.post(&finalise, Some(&first), json!({})).await.expect_problem(409, "flags_open");
        app.post(&finalise, Some(&lapsed), json!({})).await.expect_problem(403, "forbidden");
        app.post(&finalise, Some(&e.organiser), json!({})).await.expect_problem(403, "forbidden");
        assert!(!app.hourmark.store().is_finalised(e.activity_id).await.expect("read"));

        app.post(&decide, Some(&second), json!({"approve": true, "reason": "签到表属实"})).await.expect_status(200);
        app.post(&decide, Some(&second), json!({"approve": false, "reason": "再看"})).await
            .expect_problem(409, "late_entry_decided");
        let review = app.get(&format!("/api/v1/activities/{}/review", e.activity_id), &first).await;
        let flag = review.body["days"][0]["flags"][0].clone();
        assert_eq!(flag["rule"], "outside_geofence");
        app.post(&format!("/api/v1/activities/{}/flags/{}/resolution", e.activity_id, flag["id"]), Some(&first),
            json!({"decision": "adjust", "minutes": 200, "reason": "迟到 40 分钟，按实际"})).await.expect_status(200);

        let done = app.post(&finalise, Some(&first), json!({})).await;
        done.expect_status(201);
        let sessions = done.body["sessions"].as_array().expect("sessions");
        assert_eq!(sessions.len(), 2, "{sessions:?}");
        let of = |id: i64| sessions.iter().find(|s| s["volunteer_id"] == id).expect("session").clone();
        assert_eq!(of(e.volunteer_id)["scan_minutes"], 240, "the scans' minutes are kept apart");
        assert_eq!(of(e.volunteer_id)["final_minutes"], 200);
        assert_eq!(of(e.volunteer_id)["source"], "adjusted");
        assert_eq!(of(other_id)["final_minutes"], 120);
        assert_eq!(of(other_id)["source"], "late_entry");

        // Finalised: nothing changes but through a recorded correction.
        app.post(&finalise, Some(&second), json!({})).await.expect_problem(409, "activity_finalised");
        app.post(&entries, Some(&first), entry(other_id, 30)).await.expect_problem(409, "activity_finalised");
        let corrections = format!("/api/v1/activities/{}/session-corrections", e.activity_id);
        let correction = |minutes: u32| json!({
            "volunteer_id": e.volunteer_id, "day": "2026-12-05", "minutes": minutes, "reason": "复核后更正"
        });
        app.post(&corrections, Some(&first), correction(541)).await.expect_problem(422, "minutes_over_cap");
        app.post(&corrections, Some(&e.organiser), correction(210)).await.expect_problem(403, "forbidden");
        app.post(&corrections, Some(&first), json!({
            "volunteer_id": other_id, "day": "2026-12-06", "minutes": 0, "reason": "x"
        })).await.expect_problem(404, "not_found");
        // One recorder proposes, another approves: only then does the session change.
        let proposed = app.post(&corrections, Some(&second), correction(210)).await;
        proposed.expect_status(201);
        assert_eq!((proposed.body["status"].as_str(), proposed.body["from_minutes"].as_i64()), (Some("proposed"), Some(200)));
        let decide = format!("{corrections}/{}/decision", proposed.body["id"]);
        app.post(&decide, Some(&second), json!({"approve": true, "reason": "核实"})).await
            .expect_problem(403, "same_recorder");
        let approved = app.post(&decide, Some(&first), json!({"approve": true, "reason": "核实无误"})).await;
        approved.expect_status(200);
        assert_eq!(approved.body["status"], "approved");
        let shown = app.get(&format!("/api/v1/activities/{}/finalisation", e.activity_id), &first).await;
        let shown = shown.body["sessions"].as_array().expect("sessions").clone();
        assert!(shown.iter().any(|s| s["volunteer_id"] == e.volunteer_id && s["final_minutes"] == 210
            && s["source"] == "corrected"), "{shown:?}");
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        for action in ["late_entry_approved", "flag_adjusted", "activity_finalised"] {
            assert!(audit.iter().any(|a| a.action == action), "{action} is audited");
        }
        let audit = app.hourmark.store().audit_events("volunteer", e.volunteer_id).await.expect("audit");
        for action in ["session_correction_proposed", "session_corrected"] {
            assert!(audit.iter().any(|a| a.action == action), "{action} is audited under the volunteer");
        }
    }
}

on_both_backends! {
    async fn the_review_comes_in_pages_that_add_up_to_the_whole(app: TestApp) {
        let e = event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let far = json!({"lat": 25.057, "lng": 102.704, "accuracy_m": 10.0});
        // Five volunteers, each scanning in from outside the venue: a flagged day each.
        let mut volunteers = vec![(e.volunteer_id, e.volunteer.clone())];
        for (i, name) in ["李四", "王五", "赵六", "钱七"].into_iter().enumerate() {
            volunteers.push(app.volunteer(name, &format!("1380000{:04}", 5000 + i)).await);
        }
        let code = code_url(&app, &e.organiser, e.activity_id).await;
        for (_, token) in &volunteers {
            scan_from(&app, token, &code, Some(far.clone())).await.expect_status(200);
        }
        // One of them also leaves, so a day carries two scans and earns minutes.
        app.advance(Duration::hours(2));
        app.scan(&volunteers[2].1, &code_url(&app, &e.organiser, e.activity_id).await).await.expect_status(200);

        let review = |query: &str| {
            let url = format!("/api/v1/activities/{}/review{query}", e.activity_id);
            let recorder = recorder.clone();
            let app = &app;
            async move { app.get(&url, &recorder).await }
        };
        let whole = review("").await;
        whole.expect_status(200);
        assert_eq!(whole.body["days"].as_array().map(Vec::len), Some(5));
        assert_eq!(whole.body["days_total"], 5);
        assert!(whole.body.get("next").is_none(), "one page holds them all: {}", whole.body);

        // Two at a time: three pages, in volunteer order, every day once, with the same
        // counts on each page, each day with its own volunteer's scans only.
        let mut seen = Vec::new();
        let mut query = "?limit=2".to_owned();
        loop {
            let page = review(&query).await;
            page.expect_status(200);
            assert_eq!(page.body["open_flags"], whole.body["open_flags"]);
            assert_eq!(page.body["days_total"], 5);
            let days = page.body["days"].as_array().expect("days");
            assert!(!days.is_empty() && days.len() <= 2, "{}", page.body);
            for day in days {
                let volunteer = day["volunteer_id"].as_i64().expect("volunteer");
                assert_eq!(day["flags"][0]["volunteer_id"], volunteer);
                let scans = day["scans"].as_array().expect("scans");
                let expected = if volunteer == volunteers[2].0 { 2 } else { 1 };
                assert_eq!(scans.len(), expected, "{day}");
                if volunteer == volunteers[2].0 {
                    assert_eq!(day["scan_minutes"], 120);
                }
                seen.push(volunteer);
            }
            match page.body["next"].as_str() {
                Some(next) => query = format!("?limit=2&after={next}"),
                None => break,
            }
        }
        let mut all: Vec<i64> = volunteers.iter().map(|(id, _)| *id).collect();
        all.sort_unstable();
        assert_eq!(seen, all, "pages in volunteer order, each day once");
        assert_eq!(
            whole.body["days"].as_array().expect("days").iter().map(|d| d["volunteer_id"].as_i64()).collect::<Vec<_>>(),
            all.iter().map(|v| Some(*v)).collect::<Vec<_>>()
        );

        // A page after the last day is empty and says so; bad paging is refused.
        let last = format!("?after={}:2026-12-05", all[4]);
        let empty = review(&last).await;
        empty.expect_status(200);
        assert_eq!(empty.body["days"], json!([]));
        assert!(empty.body.get("next").is_none());
        for bad in ["?limit=0", "?limit=501", "?limit=ten", "?after=7", "?after=7:2026-13-01", "?after=x:2026-12-05"] {
            review(bad).await.expect_problem(400, "invalid_parameter");
        }
    }
}

/// The review of an activity of 20,000 volunteers, each of whom scanned ten times (one
/// seeded arrival and departure, then eight more a minute apart on a phone shared by a
/// hundred: short sessions and shared devices flagged on every one, as in the load test's
/// activity), timed request by request: the first page
/// (which runs every rule and raises 20,000 flags), the same page again, a page deep
/// inside, and the recorder's count of open flags. Run with
/// `cargo nextest run -p hourmark-tests --run-ignored only -E 'test(/review_of_20000/)' --no-capture`.
async fn measure_review_of_20000(backend: hourmark_tests::Backend) {
    use hourmark_core::attendance::Direction;
    use hourmark_core::seed::{SeedPlan, seeded_scan};
    const VOLUNTEERS: usize = 20_000;
    let app = TestApp::spawn(backend).await;
    let e = event(&app, "toggle").await;
    let plan = SeedPlan {
        volunteers: VOLUNTEERS,
        scans: 2 * VOLUNTEERS,
        per_activity: VOLUNTEERS,
        publish: false,
        register: false,
    };
    let seeded = app.hourmark.seed_benchmark(plan, &|_| {}).await.expect("seeded");
    let activity = seeded.last_activity_id;
    let recorder_there = recorder(&app, &e.admin, seeded.organisation_id).await;
    let sessions = app.hourmark.store().accepted_scans(activity, None).await.expect("scans");
    let mut extra = Vec::new();
    for (n, s) in sessions.iter().filter(|s| s.direction == Direction::Out).enumerate() {
        for k in 0..8u32 {
            let at = s.at + Duration::minutes(1 + i64::from(k));
            let direction = if k % 2 == 0 { Direction::In } else { Direction::Out };
            // Nonces past the seed's own (two per volunteer).
            let mut scan =
                seeded_scan(activity, s.volunteer_id, 10 * VOLUNTEERS + 8 * n + k as usize, at, direction, 3 + k);
            // A phone at each gate scanning for a hundred volunteers who have none.
            scan.device_id = Some(format!("gate-phone-{}", n / 100));
            extra.push(scan);
        }
    }
    for batch in extra.chunks(5_000) {
        app.hourmark.store().insert_scans(batch).await.expect("written");
    }
    let url = format!("/api/v1/activities/{activity}/review?limit=100");
    let timed = |url: String| {
        let (app, token) = (&app, recorder_there.clone());
        async move {
            let started = std::time::Instant::now();
            let answer = app.get(&url, &token).await;
            answer.expect_status(200);
            (answer, started.elapsed().as_secs_f64() * 1000.0)
        }
    };
    let (first, first_ms) = timed(url.clone()).await;
    let (again, again_ms) = timed(url.clone()).await;
    assert_eq!(first.body["days_total"], again.body["days_total"]);
    let total = first.body["days_total"].as_u64().expect("total");
    assert!(total >= VOLUNTEERS as u64, "every volunteer flagged: {total}");
    let middle = format!("{url}&after={}", first.body["next"].as_str().expect("next"));
    let (deeper, deeper_ms) = timed(middle).await;
    assert_eq!(deeper.body["days"].as_array().map(Vec::len), Some(100));
    let started = std::time::Instant::now();
    let me = app.get("/api/v1/me", &recorder_there).await.body["staff"]["id"].as_i64().expect("id");
    let principal = hourmark_core::identity::Principal::Staff {
        id: me,
        role: hourmark_core::identity::StaffRole::Recorder,
        organisation_id: Some(seeded.organisation_id),
    };
    let open = app.hourmark.open_flag_count(&principal, activity).await.expect("count");
    let count_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "review of {VOLUNTEERS} volunteers, {} scans, {backend:?}: {total} flagged days, {open} open flags; \
         first page {first_ms:.0} ms ({} bytes), again {again_ms:.0} ms, second page {deeper_ms:.0} ms, \
         open-flag count {count_ms:.0} ms",
        2 * VOLUNTEERS + extra.len(),
        first.body.to_string().len(),
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 200,000 scans take a while"]
async fn review_of_20000_postgres() {
    measure_review_of_20000(hourmark_tests::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 200,000 scans take a while"]
async fn review_of_20000_sqlite() {
    measure_review_of_20000(hourmark_tests::Backend::Sqlite).await;
}

on_both_backends! {
    async fn a_review_reruns_the_rules_when_a_scan_arrives_or_its_pass_is_old(app: TestApp) {
        let e = event(&app, "toggle").await;
        let recorder = recorder(&app, &e.admin, e.organisation_id).await;
        let (_, other) = app.volunteer("李四", "13800005678").await;
        let review_url = format!("/api/v1/activities/{}/review", e.activity_id);
        // Both scan on one phone ("test-phone-1"): a rule over the whole activity (a shared
        // device), which no single scan raises as it arrives.
        scan_from(&app, &e.volunteer, &code_url(&app, &e.organiser, e.activity_id).await, None).await
            .expect_status(200);
        let first = app.get(&review_url, &recorder).await;
        first.expect_status(200);
        assert_eq!(rules(&first.body), Vec::<String>::new());
        let ran = first.body["rules_run_at"].as_str().expect("when the rules ran").to_owned();

        // Nothing arrived: the pass stands, and the answer says when it ran.
        app.advance(Duration::seconds(5));
        let again = app.get(&review_url, &recorder).await;
        assert_eq!(again.body["rules_run_at"], ran.as_str());

        // A scan arrives: the next review runs the rules again and finds the shared phone.
        scan_from(&app, &other, &code_url(&app, &e.organiser, e.activity_id).await, None).await.expect_status(200);
        let after_scan = app.get(&review_url, &recorder).await;
        assert_ne!(after_scan.body["rules_run_at"], ran.as_str());
        assert_eq!(rules(&after_scan.body), vec!["shared_device", "shared_device"], "{}", after_scan.body);
        let ran = after_scan.body["rules_run_at"].as_str().expect("ran").to_owned();

        // Thirty seconds on, with no scan, the pass is run again all the same.
        app.advance(Duration::seconds(29));
        assert_eq!(app.get(&review_url, &recorder).await.body["rules_run_at"], ran.as_str());
        app.advance(Duration::seconds(1));
        assert_ne!(app.get(&review_url, &recorder).await.body["rules_run_at"], ran.as_str());
    }
}
