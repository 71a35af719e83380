//! Editing an activity through `PUT /api/v1/activities/{id}`: every field, GCJ-02 input
//! stored as WGS-84, gates renamed and added but never removed, the scan path seeing the
//! change at once, and each refusal changing nothing.

use chrono::Duration;
use hourmark_core::geo::{LatLng, wgs84_to_gcj02};
use hourmark_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

use crate::event;

async fn put(app: &TestApp, path: &str, bearer: Option<&str>, body: Value) -> hourmark_tests::Answer {
    app.call(reqwest::Method::PUT, path, bearer, Some(body)).await
}

fn full_body(organisation_id: i64) -> Value {
    json!({
        "organisation_id": organisation_id, "name": "翠湖公园清洁（改）", "category": "community_service",
        "recipients": "游客", "content": "捡拾垃圾、文明劝导", "address": "昆明市五华区翠湖公园北门",
        "location": {"lat": 25.05, "lng": 102.71}, "radius_m": 200,
        "starts_at": "2026-12-05T08:30", "ends_at": "2026-12-05T18:00",
        "gates": ["北门（主）", "南门", "西门"], "code_mode": "separate",
    })
}

on_both_backends! {
    async fn an_activity_is_edited_field_by_field(app: TestApp) {
        let e = event(&app, "toggle").await;
        let path = format!("/api/v1/activities/{}", e.activity_id);
        let before = app.get(&path, &e.organiser).await.body;

        // Refusals first: each changes nothing.
        let other_org = app.organisation(&e.admin, "滇池志愿者协会").await;
        let outsider = app.organiser(&e.admin, other_org).await;
        let leader_login = hourmark_tests::next_login();
        let leader = app
            .staff(&e.admin, json!({"name": "赵领队", "login": leader_login, "role": "leader", "organisation_id": e.organisation_id}))
            .await;
        let leader_id = app.get("/api/v1/me", &leader).await.body["staff"]["id"].as_i64().expect("id");
        app.call(reqwest::Method::PUT, &format!("{path}/leaders/{leader_id}"), Some(&e.organiser), None)
            .await
            .expect_status(204);
        put(&app, &path, Some(&outsider), full_body(e.organisation_id)).await.expect_problem(404, "not_found");
        put(&app, &path, Some(&leader), full_body(e.organisation_id)).await.expect_problem(403, "forbidden");
        put(&app, &path, Some(&e.volunteer), full_body(e.organisation_id)).await.expect_problem(403, "forbidden");
        put(&app, &path, None, full_body(e.organisation_id)).await.expect_problem(401, "unauthenticated");
        let mut moved = full_body(other_org);
        moved["name"] = json!("搬走");
        put(&app, &path, Some(&e.organiser), moved).await.expect_problem(422, "invalid_body");
        let mut fewer = full_body(e.organisation_id);
        fewer["gates"] = json!(["北门"]);
        let refused = put(&app, &path, Some(&e.organiser), fewer).await;
        refused.expect_problem(422, "invalid_body");
        assert!(refused.body["detail"].as_str().expect("detail").contains("不能删除"));
        for (field, value) in [
            ("radius_m", json!(5)),
            ("location", json!({"lat": 95.0, "lng": 102.7})),
            ("location_datum", json!("bd09")),
            ("ends_at", json!("2026-12-05T07:00")),
            ("gates", json!(["北门", "北门", "西门"])),
            ("name", json!("")),
        ] {
            let mut bad = full_body(e.organisation_id);
            bad[field] = value;
            put(&app, &path, Some(&e.organiser), bad).await.expect_problem(422, "invalid_body");
        }
        app.call(reqwest::Method::PUT, "/api/v1/activities/999999", Some(&e.organiser), Some(full_body(e.organisation_id)))
            .await
            .expect_problem(404, "not_found");
        assert_eq!(app.get(&path, &e.organiser).await.body, before, "the refusals changed nothing");
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        assert!(audit.iter().all(|a| a.action != "activity_updated"));

        // A volunteer scans in at gate 0 before the edit (the activity is now cached).
        let code = app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&e.volunteer, &code).await.expect_status(200);

        // Every field at once, the location given as 高德 shows it (GCJ-02).
        let wgs = LatLng { lat: 25.05, lng: 102.71 };
        let gcj = wgs84_to_gcj02(wgs);
        let mut body = full_body(e.organisation_id);
        body["location"] = json!({"lat": gcj.lat, "lng": gcj.lng});
        body["location_datum"] = json!("gcj02");
        let updated = put(&app, &path, Some(&e.organiser), body).await;
        updated.expect_status(200);
        let after = &updated.body;
        for field in ["name", "category", "recipients", "content", "address", "radius_m", "gates", "code_mode"] {
            assert_eq!(after[field], full_body(e.organisation_id)[field], "{field}");
        }
        assert_eq!(after["starts_at"], "2026-12-05T08:30:00+08:00");
        assert_eq!(after["ends_at"], "2026-12-05T18:00:00+08:00");
        assert_eq!(after["id"], e.activity_id);
        assert_eq!(after["organisation_id"], e.organisation_id);
        let stored = LatLng {
            lat: after["location"]["lat"].as_f64().expect("lat"),
            lng: after["location"]["lng"].as_f64().expect("lng"),
        };
        assert!(stored.distance_m(&wgs) < 0.5, "stored WGS-84 {stored:?}, want {wgs:?}");
        assert!(stored.distance_m(&gcj) > 300.0, "the GCJ-02 point was converted, not stored");
        assert_eq!(&app.get(&path, &e.organiser).await.body, after);
        let audit = app.hourmark.store().audit_events("activity", e.activity_id).await.expect("audit");
        let edits: Vec<_> = audit.iter().filter(|a| a.action == "activity_updated").collect();
        assert_eq!(edits.len(), 1);
        assert_eq!(
            edits[0].detail["changed"],
            json!(["name", "category", "recipients", "content", "address", "location", "radius_m", "starts_at", "ends_at", "gates", "code_mode"])
        );

        // The scan path sees the edit at once: separate codes now, gate 0 renamed.
        app.advance(Duration::minutes(30));
        let code = app.code(&e.organiser, e.activity_id, 0, "departure").await["url"].as_str().expect("url").to_owned();
        let out = app.scan(&e.volunteer, &code).await;
        out.expect_status(200);
        assert_eq!(out.body["gate"], "北门（主）");
        assert_eq!(out.body["activity_name"], "翠湖公园清洁（改）");

        // Out of China a GCJ-02 point is the WGS-84 point.
        let mut abroad = full_body(e.organisation_id);
        abroad["location"] = json!({"lat": 48.8566, "lng": 2.3522});
        abroad["location_datum"] = json!("gcj02");
        let answer = put(&app, &path, Some(&e.organiser), abroad).await;
        answer.expect_status(200);
        assert_eq!(answer.body["location"], json!({"lat": 48.8566, "lng": 2.3522}));

        // A finalised activity does not change.
        let recorder = crate::review::recorder(&app, &e.admin, e.organisation_id).await;
        // Past the end of departures (18:00 plus the grace), still within the staff tokens' life.
        app.advance(Duration::hours(10) + Duration::minutes(35));
        crate::review::accept_every_flag(&app, &recorder, e.activity_id).await;
        app.post(&format!("{path}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
        let frozen = app.get(&path, &e.organiser).await.body;
        put(&app, &path, Some(&e.organiser), full_body(e.organisation_id)).await.expect_problem(409, "activity_finalised");
        assert_eq!(app.get(&path, &e.organiser).await.body, frozen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edit_page_is_only_for_those_who_may_edit() {
    let app = TestApp::spawn(hourmark_tests::Backend::Sqlite).await;
    let e = event(&app, "separate").await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let path = format!("/console/activities/{}/edit", e.activity_id);
    let page = |cookie: Option<String>| {
        let mut request = client.get(app.url(&path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("hourmark_staff={cookie}"));
        }
        request.send()
    };
    assert_eq!(page(None).await.expect("page").status().as_u16(), 303, "no session: to sign-in");

    // The organisation's organiser: the form, filled in with what is stored.
    let organiser = crate::screen_keys::cookie_for_role(&app, &e.admin, e.organisation_id, "organiser").await;
    let shown = page(Some(organiser)).await.expect("page");
    assert_eq!(shown.status().as_u16(), 200);
    let html = shown.text().await.expect("html");
    for text in [
        "修改活动：翠湖公园清洁",
        "value=\"北门\"",
        "value=\"南门\"",
        "value=\"25.047000\"",
        "value=\"300\"",
        "value=\"2026-12-05T08:00\"",
        "value=\"separate\" checked",
        "GCJ-02",
        "当前保存的坐标（WGS-84）",
    ] {
        assert!(html.contains(text), "{text} missing from the form");
    }
    assert!(!html.contains("class=\"remove-gate\""), "stored gates cannot be removed");

    // A leader, even of the organisation, and another organisation's organiser: no form.
    let leader = crate::screen_keys::cookie_for_role(&app, &e.admin, e.organisation_id, "leader").await;
    assert_eq!(page(Some(leader)).await.expect("page").status().as_u16(), 404);
    let other_org = app.organisation(&e.admin, "滇池志愿者协会").await;
    let outsider = crate::screen_keys::cookie_for_role(&app, &e.admin, other_org, "organiser").await;
    assert_eq!(page(Some(outsider)).await.expect("page").status().as_u16(), 404);
}

on_both_backends! {
    /// What a volunteer has earned is kept as a running tally for their receipts; a new
    /// schedule credits their earlier pairs again in the next receipt, as the record does.
    async fn a_new_schedule_credits_earlier_pairs_again_in_the_next_receipt(app: TestApp) {
        let e = event(&app, "toggle").await;
        let path = format!("/api/v1/activities/{}", e.activity_id);
        // 09:00 to 10:00 under 08:00-17:00: an hour.
        app.scan(&e.volunteer, &toggle_code(&app, &e).await).await.expect_status(200);
        app.advance(Duration::minutes(60));
        let first = app.scan(&e.volunteer, &toggle_code(&app, &e).await).await;
        assert_eq!(first.body["minutes_credited"], 60);

        // From 09:30 the first pair is worth half an hour.
        let mut later = full_body(e.organisation_id);
        later["code_mode"] = json!("toggle");
        later["starts_at"] = json!("2026-12-05T09:30");
        later["ends_at"] = json!("2026-12-05T17:00");
        put(&app, &path, Some(&e.organiser), later).await.expect_status(200);

        app.advance(Duration::minutes(30));
        let back = app.scan(&e.volunteer, &toggle_code(&app, &e).await).await;
        back.expect_status(200);
        assert_eq!(back.body["minutes_credited"], 30, "the first pair under the new schedule");
        assert_eq!(back.body["session"]["pairs"], 2);
        app.advance(Duration::minutes(30));
        let out = app.scan(&e.volunteer, &toggle_code(&app, &e).await).await;
        out.expect_status(200);
        assert_eq!(out.body["minutes_credited"], 60);
        let sessions = app.sessions(&e.organiser, e.activity_id).await;
        assert_eq!(sessions[0]["minutes_credited"], 60, "the receipt agrees with the record");
    }
}

async fn toggle_code(app: &TestApp, e: &crate::Event) -> String {
    app.code(&e.organiser, e.activity_id, 0, "toggle").await["url"].as_str().expect("url").to_owned()
}
